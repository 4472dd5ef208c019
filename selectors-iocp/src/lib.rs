//! [`IocpSelector`]: Python's selectors on Windows at scale, on an I/O
//! completion port and the AFD driver's poll requests.
//!
//! `select` and `WSAPoll` (selectors-select, selectors-poll) look at every
//! registered socket on every call. Windows' scalable readiness mechanism
//! is the one inside them: the Ancillary Function Driver's poll request
//! (`IOCTL_AFD_POLL`), which, sent on a handle associated with an I/O
//! completion port, completes through the port when the socket is ready.
//! wepoll, mio and polling build on it, edge-triggered or one-shot and
//! identifying sockets by a token; this crate keeps Python's model:
//! level-triggered readiness, READ and WRITE merged per socket, data
//! attached to each registration. `select` costs O(ready sockets).
//!
//! The undocumented parts (the device path, the request's layout, the
//! event bits) are named once, in `afd.rs`, with the public sources that
//! document them.
//!
//! # Example
//!
//! ```
//! # #[cfg(windows)]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use selectors_core::{Events, Selector};
//! use selectors_iocp::IocpSelector;
//! use std::io::Write;
//! use std::net::{TcpListener, TcpStream};
//! use std::time::Duration;
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let mut a = TcpStream::connect(listener.local_addr()?)?;
//! let (b, _) = listener.accept()?;
//! let mut sel = IocpSelector::new()?;
//! sel.register(&b, Events::READ, "b")?;
//!
//! a.write_all(b"ping")?;
//! // Level-triggered: reported until read.
//! for _ in 0..2 {
//!     let ready = sel.select(Some(Duration::from_secs(5)))?;
//!     assert_eq!(ready.len(), 1);
//!     let (key, events) = &ready[0];
//!     assert_eq!((key.data, *events), ("b", Events::READ));
//! }
//! # Ok(())
//! # }
//! # #[cfg(not(windows))]
//! # fn main() {}
//! ```
//!
//! # References
//!  - [wepoll], the technique in C
//!  - [I/O completion ports]
//!  - [Python `selectors`]
//!
//! [wepoll]: https://github.com/piscisaureus/wepoll
//! [I/O completion ports]: https://learn.microsoft.com/en-us/windows/win32/fileio/i-o-completion-ports
//! [Python `selectors`]: https://docs.python.org/3/library/selectors.html
#![cfg_attr(
    not(windows),
    doc = "",
    doc = "**On this platform the crate is empty**: I/O completion ports \
           and the AFD driver are Windows'."
)]
// Where the crate is empty, the links above have nothing to point to.
#![cfg_attr(not(windows), allow(rustdoc::broken_intra_doc_links))]

#[cfg(windows)]
mod afd;
#[cfg(windows)]
mod events;
#[cfg(windows)]
mod group;
#[cfg(windows)]
mod port;
#[cfg(windows)]
mod request;
#[cfg(windows)]
mod selector;
#[cfg(windows)]
mod socket;
#[cfg(all(windows, test))]
mod tests;

#[cfg(windows)]
pub use selector::{Iocp, IocpSelector};
