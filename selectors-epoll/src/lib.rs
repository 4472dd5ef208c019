#![cfg_attr(
    epoll,
    doc = "[`EpollSelector`]: Python's `selectors.EpollSelector`, on Linux's [`epoll(7)`]."
)]
#![cfg_attr(
    not(epoll),
    doc = "**Empty on this platform, which has no epoll** (Linux and Android only): \
           use `io_selectors::DefaultSelector`, `selectors-kqueue` or `selectors-poll`.",
    doc = "",
    doc = "What follows describes the crate on Linux.",
    allow(rustdoc::broken_intra_doc_links)
)]
//!
//! One epoll instance holds the kernel's interest list, so a `select` costs
//! one [`epoll_wait(2)`] whatever the number of registered fds, and each
//! register, modify and unregister is one [`epoll_ctl(2)`] (a modify that
//! keeps the events makes none). Registrations are level-triggered, as in
//! Python: an fd stays ready until it is read or written.
//!
//! Where epoll differs from `poll`, the selector hides it:
//!
//! - an fd closed, duplicated and reused behind the selector's back never
//!   reports its old file's events to the new registration (see
//!   [`EpollSelector`]);
//! - a registration the kernel refuses (a regular file is `EPERM`) leaves
//!   nothing behind and names the fd in its error;
//! - the epoll fd is close-on-exec.
//!
//! This crate is only compiled on Linux and Android; elsewhere it is empty.
//!
//! # Example
//!
//! ```
//! # #[cfg(any(target_os = "linux", target_os = "android"))]
//! # fn main() -> std::io::Result<()> {
//! use selectors_core::{Events, Selector};
//! use selectors_epoll::EpollSelector;
//! use std::io::Write;
//! use std::os::unix::net::UnixStream;
//! use std::time::Duration;
//!
//! let mut sel = EpollSelector::new()?;
//! let (a, mut b) = UnixStream::pair()?;
//! sel.register(&a, Events::READ, "a")?;
//!
//! b.write_all(b"ping")?;
//! let ready = sel.select(Some(Duration::from_secs(5)))?;
//! assert_eq!(ready.len(), 1);
//! let (key, events) = ready[0];
//! assert_eq!((key.data, events), ("a", Events::READ));
//!
//! sel.unregister(&a)?;
//! sel.close()
//! # }
//! # #[cfg(not(any(target_os = "linux", target_os = "android")))]
//! # fn main() {}
//! ```
//!
//! # References
//!  - [`epoll(7)`]
//!  - [`epoll_create1(2)`]
//!  - [`epoll_ctl(2)`]
//!  - [`epoll_wait(2)`]
//!
//! [`epoll(7)`]: https://man7.org/linux/man-pages/man7/epoll.7.html
//! [`epoll_create1(2)`]: https://man7.org/linux/man-pages/man2/epoll_create1.2.html
//! [`epoll_ctl(2)`]: https://man7.org/linux/man-pages/man2/epoll_ctl.2.html
//! [`epoll_wait(2)`]: https://man7.org/linux/man-pages/man2/epoll_wait.2.html

#[cfg(epoll)]
mod buffer;
#[cfg(epoll)]
mod selector;
#[cfg(all(test, epoll))]
mod tests;
#[cfg(epoll)]
mod wake;

#[cfg(epoll)]
pub use selector::{Epoll, EpollSelector};

#[cfg(epoll)]
static_assertions::assert_impl_all!(EpollSelector<()>: Send, Sync);
#[cfg(epoll)]
static_assertions::assert_not_impl_any!(EpollSelector<std::rc::Rc<()>>: Send, Sync);
