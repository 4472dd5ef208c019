//! [`PollSelector`]: Python's `selectors.PollSelector`, on `poll(2)`.
//!
//! `poll` takes an array of `(fd, events)` entries and fills in the events
//! that are ready. The selector keeps that array between calls, parallel to
//! its registrations, so registering is one push, unregistering one
//! swap-remove, and `select` is one `poll` call on the array as it stands.
//! It has no `FD_SETSIZE` limit and no kernel object to create or close.
//!
//! On Windows the crate wraps `WSAPoll` the same way, on sockets only (the
//! spec: "on Windows, sockets are supported, but not pipes"): see
//! `PollSelector`'s own documentation there.
//!
//! # Complexity
//!
//! `register`, `modify` and `unregister` are O(1) and make no system call.
//! `select` is O(registered fds) in the kernel and in the scan of the
//! results, with no allocation once the caller's buffer has grown. For
//! thousands of mostly idle fds, epoll or kqueue scale better.
//!
//! # Example
//!
//! ```
//! use selectors_core::{Events, Selector};
//! use selectors_poll::PollSelector;
//! use std::io::Write;
//! use std::os::unix::net::UnixStream;
//! use std::time::Duration;
//!
//! let (a, mut b) = UnixStream::pair()?;
//! let mut sel = PollSelector::new()?;
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
//!  - [illumos]
//!  - [Python `selectors`]
//!
//! [POSIX]: https://pubs.opengroup.org/onlinepubs/9799919799/functions/poll.html
//! [Linux]: https://man7.org/linux/man-pages/man2/poll.2.html
//! [Apple]: https://developer.apple.com/library/archive/documentation/System/Conceptual/ManPages_iPhoneOS/man2/poll.2.html
//! [FreeBSD]: https://man.freebsd.org/cgi/man.cgi?query=poll&sektion=2
//! [NetBSD]: https://man.netbsd.org/poll.2
//! [OpenBSD]: https://man.openbsd.org/poll.2
//! [illumos]: https://illumos.org/man/2/poll
//! [Python `selectors`]: https://docs.python.org/3/library/selectors.html#selectors.PollSelector
#![cfg_attr(
    not(any(unix, windows)),
    doc = "",
    doc = "**On this platform the crate is empty**: it needs `poll(2)` \
           or Windows' `WSAPoll`."
)]
// Where the crate is empty, the links above have nothing to point to.
#![cfg_attr(not(any(unix, windows)), allow(rustdoc::broken_intra_doc_links))]

#[cfg(unix)]
mod selector;
#[cfg(all(unix, test))]
mod tests;

#[cfg(unix)]
pub use selector::{Poll, PollSelector};

// WSAPoll, on sockets only (see the module).
#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::{PollSelector, WsaPoll};
