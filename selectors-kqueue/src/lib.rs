//! `KqueueSelector`: Python's `selectors.KqueueSelector`, on
//! [`kqueue(2)`], for macOS, iOS and the BSDs.
//!
//! On targets without kqueue (Linux, Android, ...) this crate is empty.
//!
//! Users normally depend on the `selectors` umbrella crate, whose
//! `DefaultSelector` is this selector on Apple and the BSDs.
//!
//! The selector's logic talks to the kernel through a small internal seam,
//! so the workspace's tests also run it on Linux against an in-process model
//! of FreeBSD's kqueue. That model (`model`, `ModelKqueueSelector`) is
//! compiled only with the `test-model` feature, which is not for users.
//!
//! [`kqueue(2)`]: https://man.freebsd.org/cgi/man.cgi?query=kqueue&sektion=2

/// Items that exist where kqueue does, or where the model stands in for it.
macro_rules! with_kqueue {
    ($($item:item)*) => {$(
        #[cfg(any(
            target_vendor = "apple",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "dragonfly",
            test,
            feature = "test-model",
        ))]
        $item
    )*};
}

with_kqueue! {
    mod kevent;
    mod selector;
    pub use selector::KqueueSelector;
}

#[cfg(any(
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]
mod kqueue;

#[cfg(any(test, feature = "test-model"))]
#[doc(hidden)]
pub mod model;

/// Not for users: [`KqueueSelector`] on the in-process kqueue model, for the
/// workspace's tests on Linux.
#[cfg(any(test, feature = "test-model"))]
#[doc(hidden)]
pub type ModelKqueueSelector<T = ()> = KqueueSelector<T, model::ModelKqueue>;

#[cfg(test)]
mod tests;
