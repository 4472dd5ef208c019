//! High-level I/O multiplexing: Python's [`selectors`] module, done the Rust
//! way, over `select(2)`, `poll(2)`, `epoll(7)` and `kqueue(2)`.
//!
//! Register file descriptors with a selector, each for [`EVENT_READ`] and/or
//! [`EVENT_WRITE`] and with a piece of data of yours (a session, a handler);
//! then [`select`](Selector::select) waits until some of them are ready and
//! returns one `(key, events)` pair per ready fd. [`DefaultSelector`] is the
//! most efficient backend of the platform; [`SelectSelector`],
//! [`PollSelector`], `EpollSelector` (Linux, Android) and `KqueueSelector`
//! (Apple, BSDs) pick one. Every backend implements the same [`Selector`] trait with the same semantics
//! (one conformance suite checks them all), so code written against the
//! trait runs on any of them.
//!
//! [`selectors`]: https://docs.python.org/3/library/selectors.html
//!
//! # Which crate to depend on
//!
//! Depend on `selectors` (this crate). It re-exports everything of
//! `selectors-core` and one backend per cargo feature: `select`, `poll`,
//! `epoll`, `kqueue`, all on by default; a feature whose primitive the
//! platform lacks (epoll on macOS, kqueue on Linux) adds nothing. To trim
//! the build, turn the defaults off and keep what you use:
//! `selectors = { version = "0.1", default-features = false, features = ["epoll"] }`.
//! With every backend feature off (or none available on the target) the
//! crate still builds, with the shared types only and no `DefaultSelector`.
//! A program that only ever wants one backend may instead depend on that
//! backend's crate alone (`selectors-epoll`, `selectors-poll`,
//! `selectors-select`, `selectors-kqueue`) plus `selectors-core`.
//!
//! # Example
//!
//! The specification's echo server, in one thread with its own client:
//! handlers are data, `accept` registers the connection, EOF unregisters it.
//!
//! ```
//! use selectors::{DefaultSelector, Events, Selector, EVENT_READ};
//! use std::io::{self, Read, Write};
//! use std::net::{TcpListener, TcpStream};
//! use std::os::unix::io::{AsRawFd, RawFd};
//! use std::collections::HashMap;
//! use std::time::Duration;
//!
//! #[derive(Clone, Copy)]
//! enum Handler { Accept, Read }
//!
//! fn main() -> io::Result<()> {
//!     let mut sel = DefaultSelector::<Handler>::new()?;
//!     let sock = TcpListener::bind("127.0.0.1:0")?;
//!     sock.set_nonblocking(true)?;
//!     sel.register(&sock, EVENT_READ, Handler::Accept)?;
//!     let mut conns: HashMap<RawFd, TcpStream> = HashMap::new();
//!
//!     // A client, to have something to echo.
//!     let mut client = TcpStream::connect(sock.local_addr()?)?;
//!     client.write_all(b"hello, selectors")?;
//!
//!     let mut echoed = 0;
//!     while echoed < 16 {
//!         for (key, _mask) in sel.select(Some(Duration::from_secs(5)))? {
//!             match key.data {
//!                 Handler::Accept => {
//!                     let (conn, addr) = sock.accept()?; // should be ready
//!                     println!("accepted {} from {addr}", conn.as_raw_fd());
//!                     conn.set_nonblocking(true)?;
//!                     sel.register(&conn, EVENT_READ, Handler::Read)?;
//!                     conns.insert(conn.as_raw_fd(), conn);
//!                 }
//!                 Handler::Read => {
//!                     let conn = conns.get_mut(&key.fd).unwrap();
//!                     let mut data = [0; 1000];
//!                     let n = conn.read(&mut data)?; // should be ready
//!                     if n > 0 {
//!                         println!("echoing {:?} to {}", &data[..n], key.fd);
//!                         conn.write_all(&data[..n])?;
//!                         echoed += n;
//!                     } else {
//!                         println!("closing {}", key.fd);
//!                         sel.unregister(key.fd)?;
//!                         conns.remove(&key.fd);
//!                     }
//!                 }
//!             }
//!         }
//!     }
//!     let mut reply = [0; 16];
//!     client.read_exact(&mut reply)?;
//!     assert_eq!(&reply, b"hello, selectors");
//!     sel.close()
//! }
//! ```
//!
//! `selectors/examples/echo_server.rs` is the full server (many clients,
//! writes that never block).
//!
//! # Python → Rust
//!
//! | Python | Rust | example |
//! |---|---|---|
//! | `EVENT_READ`, `EVENT_WRITE` | [`Events::READ`], [`Events::WRITE`] (and [`EVENT_READ`], [`EVENT_WRITE`]): a bit set with `\|`, `&`, [`contains`](Events::contains), [`is_empty`](Events::is_empty), [`from_bits`](Events::from_bits) that rejects unknown bits | [events](#events) |
//! | "file object" (int fd or object with `fileno()`) | [`FileObject`], implemented for [`RawFd`](std::os::unix::io::RawFd), [`BorrowedFd`](std::os::unix::io::BorrowedFd) and every `&T: AsRawFd` (`&TcpStream`, `&File`, `&OwnedFd`, pipes...) | [file objects](#file-objects) |
//! | `SelectorKey(fileobj, fd, events, data)` | [`SelectorKey<T>`] `{ fd, events, data }`: your object goes in `data` | [keys](#keys) |
//! | `BaseSelector` | the [`Selector<T>`] trait, generic over the data `T` | [the trait](#the-selector-trait) |
//! | `register(fileobj, events, data=None)` | [`register(fileobj, events, data)`](Selector::register) `-> Result<&SelectorKey<T>>` | [register](#register-unregister-modify) |
//! | `unregister(fileobj)` | [`unregister(fileobj)`](Selector::unregister) `-> Result<SelectorKey<T>>`, handing `data` back | [unregister](#register-unregister-modify) |
//! | `modify(fileobj, events, data=None)` | [`modify(fileobj, events, data)`](Selector::modify) `-> Result<&SelectorKey<T>>`; same events: no system call | [modify](#register-unregister-modify) |
//! | `select(timeout=None)` | [`select(Option<Duration>)`](Selector::select) `-> Result<Vec<(SelectorKey<T>, Events)>>`, and the allocation-free [`select_into`](Selector::select_into) | [select](#select-and-select_into) |
//! | `close()` / context manager | [`close(self)`](Selector::close) `-> io::Result<()>` and `Drop`: use after close does not compile | [close](#close-and-drop) |
//! | `get_key(fileobj)` | [`get_key(fileobj)`](Selector::get_key) `-> Result<&SelectorKey<T>>` | [get_key, get_map](#get_key-and-get_map) |
//! | `get_map()` | [`get_map()`](Selector::get_map) `-> &`[`SelectorMap<T>`]: read-only, `len`, `get`, `contains`, `iter`, `keys`, `values`, `map[fileobj]` | [get_key, get_map](#get_key-and-get_map) |
//! | `ValueError` / `KeyError` / `OSError` | [`Error`]`::{InvalidEvents, InvalidFd, AlreadyRegistered, NotRegistered, Os}`, `From<Error> for io::Error` with matching [`ErrorKind`](std::io::ErrorKind)s; messages name the fd | [errors](#errors) |
//! | `EpollSelector.fileno()`, `KqueueSelector.fileno()` | [`AsFd`](std::os::unix::io::AsFd) / [`AsRawFd`](std::os::unix::io::AsRawFd) on `EpollSelector` and `KqueueSelector` | [fileno](#fileno) |
//! | `DefaultSelector` | [`DefaultSelector<T>`]: kqueue on Apple/BSD, epoll on Linux/Android, else poll, else select | [`DefaultSelector`] |
//!
//! ## Events
//!
//! ```
//! use selectors::{Events, EVENT_READ, EVENT_WRITE};
//!
//! let both = EVENT_READ | EVENT_WRITE;
//! assert_eq!(both, Events::READ | Events::WRITE);
//! assert!(both.contains(Events::READ) && both.contains(Events::WRITE));
//! assert_eq!(both & Events::WRITE, EVENT_WRITE);
//! assert!((Events::READ & Events::WRITE).is_empty());
//! assert_eq!(Events::from_bits(1), Some(EVENT_READ)); // Python's integers
//! assert_eq!(Events::from_bits(4), None); // unknown bits are rejected
//! assert_eq!(both.bits(), 3);
//! ```
//!
//! ## File objects
//!
//! Anything that names an fd: a raw fd, a [`BorrowedFd`](std::os::unix::io::BorrowedFd),
//! or a reference to any [`AsRawFd`](std::os::unix::io::AsRawFd) type. All
//! forms name the same registration.
//!
//! ```
//! use selectors::{DefaultSelector, FileObject, Selector, EVENT_READ};
//! use std::os::unix::io::{AsFd, AsRawFd, OwnedFd};
//! use std::os::unix::net::UnixStream;
//!
//! let mut sel = DefaultSelector::<&str>::new()?;
//! let (a, b) = UnixStream::pair()?;
//! sel.register(&a, EVENT_READ, "a")?; // &UnixStream
//! let fd = a.as_raw_fd();
//! assert_eq!(fd.fileno(), fd);
//! assert_eq!(sel.get_key(fd)?.data, "a"); // RawFd
//! assert_eq!(sel.get_key(a.as_fd())?.data, "a"); // BorrowedFd
//! let b = OwnedFd::from(b);
//! sel.register(&b, EVENT_READ, "b")?; // &OwnedFd
//! assert_eq!(sel.get_map().len(), 2);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## Keys
//!
//! A [`SelectorKey`] holds the fd, the events waited for and your data;
//! there is no `fileobj`: the object stays yours, and goes in `data` if the
//! handler needs it.
//!
//! ```
//! use selectors::{DefaultSelector, Selector, SelectorKey, EVENT_READ, EVENT_WRITE};
//! use std::os::unix::io::AsRawFd;
//! use std::os::unix::net::UnixStream;
//!
//! let mut sel = DefaultSelector::<String>::new()?;
//! let (a, _b) = UnixStream::pair()?;
//! let key = sel.register(&a, EVENT_READ | EVENT_WRITE, "client 1".to_string())?;
//! assert_eq!(key.fd, a.as_raw_fd());
//! assert_eq!(key.events, EVENT_READ | EVENT_WRITE);
//! assert_eq!(key.data, "client 1");
//! let copy: SelectorKey<String> = key.clone();
//! assert_eq!(&copy, sel.get_key(&a)?);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## The Selector trait
//!
//! Python's `BaseSelector`: code generic over [`Selector<T>`] runs on every
//! backend.
//!
//! ```
//! use selectors::{Selector, SelectSelector, PollSelector, DefaultSelector, EVENT_READ};
//! use std::io::Write;
//! use std::os::unix::net::UnixStream;
//! use std::time::Duration;
//!
//! fn readable_now<S: Selector<u32>>(mut sel: S) -> std::io::Result<Vec<u32>> {
//!     let (a, mut b) = UnixStream::pair()?;
//!     sel.register(&a, EVENT_READ, 42)?;
//!     b.write_all(b"x")?;
//!     let ready = sel.select(Some(Duration::from_secs(5)))?;
//!     Ok(ready.into_iter().map(|(key, _)| key.data).collect())
//! }
//! assert_eq!(readable_now(SelectSelector::new()?)?, [42]);
//! assert_eq!(readable_now(PollSelector::new()?)?, [42]);
//! assert_eq!(readable_now(DefaultSelector::new()?)?, [42]);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## register, unregister, modify
//!
//! `register` returns the new key; `unregister` hands the key, and so your
//! data, back; `modify` changes events and data in one step, and makes no
//! system call when only the data changes.
//!
//! ```
//! use selectors::{DefaultSelector, Selector, EVENT_READ, EVENT_WRITE};
//! use std::os::unix::net::UnixStream;
//!
//! let mut sel = DefaultSelector::<Vec<u8>>::new()?;
//! let (a, _b) = UnixStream::pair()?;
//! let key = sel.register(&a, EVENT_READ, b"session".to_vec())?;
//! assert_eq!(key.events, EVENT_READ);
//! let key = sel.modify(&a, EVENT_WRITE, b"pending reply".to_vec())?;
//! assert_eq!((key.events, &key.data[..]), (EVENT_WRITE, &b"pending reply"[..]));
//! let key = sel.modify(&a, EVENT_WRITE, b"data only".to_vec())?; // no syscall
//! assert_eq!(key.data, b"data only");
//! let key = sel.unregister(&a)?;
//! assert_eq!(key.data, b"data only"); // the data comes back
//! assert!(sel.get_map().is_empty());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## select and select_into
//!
//! One `(key, events)` per ready fd, READ and WRITE merged, masked by what
//! the fd was registered for. `None` blocks, `Some(Duration::ZERO)` polls; a
//! signal makes it return an empty result early. Results are owned, so
//! handlers may register, modify and unregister while walking them.
//! [`select_into`](Selector::select_into) fills (after clearing) a vector
//! you keep, so a steady-state loop allocates nothing.
//!
//! ```
//! use selectors::{DefaultSelector, Ready, Selector, EVENT_READ, EVENT_WRITE};
//! use std::io::Write;
//! use std::os::unix::net::UnixStream;
//! use std::time::Duration;
//!
//! let mut sel = DefaultSelector::<char>::new()?;
//! let (a, mut a_peer) = UnixStream::pair()?;
//! let (b, _b_peer) = UnixStream::pair()?;
//! sel.register(&a, EVENT_READ | EVENT_WRITE, 'a')?;
//! sel.register(&b, EVENT_READ, 'b')?;
//! assert!(sel.select(Some(Duration::ZERO))?.iter().all(|(key, _)| key.data == 'a'));
//!
//! a_peer.write_all(b"x")?;
//! let ready = sel.select(Some(Duration::from_secs(5)))?;
//! assert_eq!(ready.len(), 1); // one entry for `a`, with both events
//! assert_eq!(ready[0].1, EVENT_READ | EVENT_WRITE);
//! for (key, _events) in &ready {
//!     sel.unregister(key.fd)?; // fine: `ready` is ours
//! }
//!
//! let mut buf: Vec<Ready<char>> = Vec::with_capacity(64);
//! sel.register(&a, EVENT_READ, 'a')?;
//! let n = sel.select_into(Some(Duration::from_secs(5)), &mut buf)?;
//! assert_eq!((n, buf[0].0.data, buf[0].1), (1, 'a', EVENT_READ));
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## close and Drop
//!
//! [`close`](Selector::close) takes the selector by value and reports the
//! kernel's error, if any; dropping it closes it too.
//!
//! ```
//! use selectors::{DefaultSelector, Selector, EVENT_READ};
//! use std::os::unix::net::UnixStream;
//!
//! let mut sel = DefaultSelector::<()>::new()?;
//! let (a, _b) = UnixStream::pair()?;
//! sel.register(&a, EVENT_READ, ())?;
//! sel.close()?;
//! drop(DefaultSelector::<()>::new()?); // Drop closes too
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! A closed selector cannot be used: it no longer exists.
//!
//! ```compile_fail,E0382
//! use selectors::{DefaultSelector, Selector};
//! use std::time::Duration;
//!
//! let mut sel = DefaultSelector::<()>::new()?;
//! sel.close()?;
//! sel.select(Some(Duration::ZERO))?; // error[E0382]: use of moved value
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## get_key and get_map
//!
//! ```
//! use selectors::{DefaultSelector, Selector, EVENT_READ, EVENT_WRITE};
//! use std::os::unix::io::AsRawFd;
//! use std::os::unix::net::UnixStream;
//!
//! let mut sel = DefaultSelector::<u8>::new()?;
//! let (a, b) = UnixStream::pair()?;
//! sel.register(&a, EVENT_READ, 1)?;
//! sel.register(&b, EVENT_WRITE, 2)?;
//! assert_eq!(sel.get_key(&a)?.data, 1);
//!
//! let map = sel.get_map();
//! assert_eq!(map.len(), 2);
//! assert!(map.contains(&b));
//! assert_eq!(map.get(&b).map(|key| key.events), Some(EVENT_WRITE));
//! assert_eq!(map[&a].data, 1); // panics if absent, like Python's KeyError
//! let mut fds: Vec<_> = map.keys().collect();
//! fds.sort();
//! let mut expected = vec![a.as_raw_fd(), b.as_raw_fd()];
//! expected.sort();
//! assert_eq!(fds, expected);
//! assert_eq!(map.values().map(|key| key.data as u32).sum::<u32>(), 3);
//! assert_eq!(map.iter().count(), 2);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## Errors
//!
//! Python's `ValueError`, `KeyError` and `OSError` are [`Error`]'s variants;
//! each names the fd, and converts into an [`io::Error`](std::io::Error) of
//! the matching kind, so `?` works in functions returning `io::Result`.
//!
//! ```
//! use selectors::{DefaultSelector, Error, Events, Selector, EVENT_READ};
//! use std::io::{self, ErrorKind};
//! use std::os::unix::io::AsRawFd;
//! use std::os::unix::net::UnixStream;
//!
//! let mut sel = DefaultSelector::<()>::new()?;
//! let (a, _b) = UnixStream::pair()?;
//! let fd = a.as_raw_fd();
//!
//! // ValueError
//! assert!(matches!(sel.register(&a, Events::EMPTY, ()), Err(Error::InvalidEvents { .. })));
//! assert!(matches!(sel.register(-1, EVENT_READ, ()), Err(Error::InvalidFd { fd: -1 })));
//! // KeyError
//! assert!(matches!(sel.unregister(&a), Err(Error::NotRegistered { .. })));
//! sel.register(&a, EVENT_READ, ())?;
//! let err = sel.register(fd, EVENT_READ, ()).unwrap_err();
//! assert_eq!(err.to_string(), format!("fd {fd} is already registered"));
//! // As io::Error
//! let io_err: io::Error = err.into();
//! assert_eq!(io_err.kind(), ErrorKind::AlreadyExists);
//! let io_err: io::Error = sel.get_key(-5).unwrap_err().into();
//! assert_eq!(io_err.kind(), ErrorKind::InvalidInput);
//! // OSError: what the kernel refused, and on which fd (a made-up one here).
//! let os = Error::os("epoll_ctl(EPOLL_CTL_ADD)", 9, io::Error::from_raw_os_error(1));
//! assert_eq!(os.fd(), Some(9));
//! assert_eq!(io::Error::from(os).kind(), ErrorKind::PermissionDenied);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## fileno
//!
//! The selectors built on a kernel object expose it as
//! [`AsFd`](std::os::unix::io::AsFd)/[`AsRawFd`](std::os::unix::io::AsRawFd),
//! Python's `fileno()`; a selector of selectors is possible, since the
//! epoll fd is itself readable when one of its fds is ready.
//!
//! ```
//! # #[cfg(any(target_os = "linux", target_os = "android"))]
//! # {
//! use selectors::{EpollSelector, PollSelector, Selector, EVENT_READ};
//! use std::io::Write;
//! use std::os::unix::io::AsRawFd;
//! use std::os::unix::net::UnixStream;
//! use std::time::Duration;
//!
//! let mut inner = EpollSelector::<()>::new()?;
//! assert!(inner.as_raw_fd() >= 0);
//! let (a, mut b) = UnixStream::pair()?;
//! inner.register(&a, EVENT_READ, ())?;
//! let mut outer = PollSelector::<&str>::new()?;
//! outer.register(&inner, EVENT_READ, "inner")?;
//! b.write_all(b"x")?;
//! let ready = outer.select(Some(Duration::from_secs(5)))?;
//! assert_eq!(ready[0].0.data, "inner");
//! # }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Beyond Python
//!
//! - [`AnySelector`] picks the backend at run time (from configuration, or
//!   the best one that works, as [`Backend`] lists them).
//! - [`Selector::waker`] hands out a [`Waker`] that makes a blocked
//!   `select` return from another thread.
//!
//! # Semantics every backend shares
//!
//! - `register` rejects empty events and negative fds; a second
//!   registration of the same fd is `AlreadyRegistered`, whatever object
//!   names it. A refused registration leaves nothing behind; a refused
//!   `modify` unregisters the fd, as in Python.
//! - Unregistering an fd that was closed (even if its number was reused
//!   since) succeeds.
//! - Each ready fd is reported once per `select`, READ and WRITE merged,
//!   masked by the registration; error and hang-up count as both.
//! - A positive timeout waits at least that long (rounded up, never down
//!   to a busy poll); huge timeouts do not overflow; a signal returns an
//!   empty result.
//! - Fds above 1024 work on every backend, `select(2)` included.
//! - Selectors are `Send` when `T` is.
//!
//! # Differences from CPython
//!
//! - `modify` with empty events is refused with `InvalidEvents` and changes
//!   nothing (CPython's poll and epoll selectors accept it; its
//!   `SelectSelector` unregisters the fd, then raises).
//! - Keys have no `fileobj`; `get_map()` is keyed by fd.
//! - A signal makes `select` return an empty result, as the specification
//!   says; CPython 3.11 instead retries the wait (PEP 475).
//! - After an fd is closed and its number reused (`dup2`), CPython's
//!   `EpollSelector` may report the old file's readiness under the new
//!   registration; `EpollSelector` here tags each registration and drops
//!   such events.
//! - Regular files: poll and select report them always ready; epoll refuses
//!   them with `EPERM` ([`Error::Os`]), exactly like CPython.

pub use selectors_core::*;

// `selectors_<backend>`: the backend's feature is on and its crate exports
// a selector for this target (see build.rs).

#[cfg(selectors_select)]
pub use selectors_select::SelectSelector;

#[cfg(selectors_poll)]
pub use selectors_poll::PollSelector;

#[cfg(selectors_epoll)]
pub use selectors_epoll::EpollSelector;

#[cfg(selectors_kqueue)]
pub use selectors_kqueue::KqueueSelector;

#[cfg(selectors_any_backend)]
mod default;
#[cfg(selectors_any_backend)]
pub use default::DefaultSelector;

#[cfg(unix)]
mod any;
#[cfg(unix)]
pub use any::{AnySelector, Backend, ParseBackendError};
