//! `KqueueSelector`: Python's `selectors.KqueueSelector`, on
//! [`kqueue(2)`], for macOS, iOS and the BSDs.
//!
//! On targets without kqueue (Linux, Android, ...) there is no
//! `KqueueSelector`; on Windows this crate is empty.
//!
//! Users normally depend on the `io-selectors` umbrella crate, whose
//! `DefaultSelector` is this selector on Apple and the BSDs.
//!
//! For implementers: the selector is the engine on the [`Kqueue`] adapter,
//! which talks to the kernel through the [`kevent::Kevent`] trait. Both are
//! built on every Unix, so that the workspace's tests run the adapter on
//! Linux against an in-process model of FreeBSD's kqueue (in the
//! unpublished `selectors-test-support` crate); the umbrella does not
//! re-export them.
//!
//! [`kqueue(2)`]: https://man.freebsd.org/cgi/man.cgi?query=kqueue&sektion=2

// `kqueue` comes from build.rs (Apple and the BSDs).
#[cfg(unix)]
pub mod kevent;
#[cfg(unix)]
mod selector;
#[cfg(unix)]
pub use selector::Kqueue;
#[cfg(kqueue)]
pub use selector::KqueueSelector;

#[cfg(kqueue)]
mod kqueue;
