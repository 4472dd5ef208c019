//! [`SelectSelector`]: Python's `selectors.SelectSelector`, on `select(2)`.
//!
//! The oldest readiness primitive, available wherever this crate builds:
//! the selector keeps a read set and a write set of fds, and each
//! [`select`](selectors_core::Selector::select) hands both to the kernel,
//! which overwrites them with the fds that are ready.
//!
//! Unlike C's `fd_set`, the sets here are sized by the highest registered
//! fd, so fds at or above `FD_SETSIZE` (1024) work (rustix's
//! [`select`](https://docs.rs/rustix/1/rustix/event/fn.select.html) lifts the limit on Linux, Apple and the
//! BSDs).
//!
//! On Windows the crate wraps Winsock `select`, on sockets only (the spec:
//! "on Windows, sockets are supported, but not pipes"), with no fixed
//! socket limit: see `SelectSelector`'s own documentation there.
//!
//! # Complexity
//!
//! `register`, `modify` and `unregister` are O(1) and make no system call.
//! `select` copies and scans the sets: O(highest registered fd / 64) words
//! plus O(ready fds), with no allocation once the buffers have grown. Many
//! or sparse fds are better served by epoll, kqueue or poll.
//!
//! # Example
//!
//! ```
//! use selectors_core::{Events, Selector};
//! use selectors_select::SelectSelector;
//! use std::io::Write;
//! use std::os::unix::net::UnixStream;
//! use std::time::Duration;
//!
//! let (a, mut b) = UnixStream::pair()?;
//! let mut sel = SelectSelector::new()?;
//! sel.register(&a, Events::READ, "a")?;
//!
//! b.write_all(b"ping")?;
//! let ready = sel.select(Some(Duration::from_secs(5)))?;
//! assert_eq!(ready.len(), 1);
//! let (key, events) = &ready[0];
//! assert_eq!((key.data, *events), ("a", Events::READ));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # References
//!  - [POSIX]
//!  - [Linux]
//!  - [Apple]
//!  - [FreeBSD]
//!  - [NetBSD]
//!  - [OpenBSD]
//!  - [Python `selectors`]
//!
//! [POSIX]: https://pubs.opengroup.org/onlinepubs/9799919799/functions/select.html
//! [Linux]: https://man7.org/linux/man-pages/man2/select.2.html
//! [Apple]: https://developer.apple.com/library/archive/documentation/System/Conceptual/ManPages_iPhoneOS/man2/select.2.html
//! [FreeBSD]: https://man.freebsd.org/cgi/man.cgi?query=select&sektion=2
//! [NetBSD]: https://man.netbsd.org/select.2
//! [OpenBSD]: https://man.openbsd.org/select.2
//! [Python `selectors`]: https://docs.python.org/3/library/selectors.html#selectors.SelectSelector
// Where the crate is empty, say why; the links above then have nothing to
// point to. `unlimited_select` comes from build.rs.
#![cfg_attr(
    not(any(unlimited_select, windows)),
    doc = "",
    doc = "**On this platform the crate is empty**: it needs a `select(2)` \
           without the `FD_SETSIZE` limit, which rustix provides only on \
           Linux, Android, Apple systems and the BSDs (illumos' own manual \
           recommends `poll` instead).",
    allow(rustdoc::broken_intra_doc_links)
)]

#[cfg(unlimited_select)]
mod fd_sets;
#[cfg(unlimited_select)]
mod selector;
#[cfg(all(unlimited_select, test))]
mod tests;

#[cfg(unlimited_select)]
pub use selector::{Select, SelectSelector};

// Winsock `select`, on sockets only (see the module).
#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::{Select, SelectSelector};
