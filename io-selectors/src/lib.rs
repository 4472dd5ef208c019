//! High-level I/O multiplexing: Python's [`selectors`] module, done the Rust
//! way, over `select(2)`, `poll(2)`, `epoll(7)`, `kqueue(2)` and, on
//! Windows, an I/O completion port with AFD polls.
//!
//! Register file descriptors with a selector, each for [`EVENT_READ`] and/or
//! [`EVENT_WRITE`] and with a piece of data of yours (a session, a handler);
//! then [`select`](Selector::select) waits until some of them are ready and
//! returns one `(key, events)` pair per ready fd. [`DefaultSelector`] is the
//! most efficient backend of the platform; [`SelectSelector`],
//! [`PollSelector`], `EpollSelector` (Linux, Android), `KqueueSelector`
//! (Apple, BSDs) and `IocpSelector` (Windows) pick one. Every backend implements the same [`Selector`] trait with the same semantics
//! (one conformance suite checks them all), so code written against the
//! trait runs on any of them.
//!
//! [`selectors`]: https://docs.python.org/3/library/selectors.html
//!
//! # Which crate to depend on
//!
//! Depend on `io-selectors` (this crate). It re-exports the user types of
//! `selectors-core` and one backend per cargo feature: `select`, `poll`,
//! `epoll`, `kqueue`, `iocp`, all on by default; a feature whose primitive the
//! platform lacks (epoll on macOS, kqueue on Linux) adds nothing. To trim
//! the build, turn the defaults off and keep what you use:
//! `io-selectors = { version = "0.1", default-features = false, features = ["epoll"] }`.
//! With every backend feature off (or none available on the target) the
//! crate still builds, with the shared types only and no `DefaultSelector`.
//! A program that only ever wants one backend may instead depend on that
//! backend's crate alone (`selectors-epoll`, `selectors-poll`,
//! `selectors-select`, `selectors-kqueue`, `selectors-iocp`) plus
//! `selectors-core`.
//!
//! # Example
//!
//! The specification's echo server, in one thread with its own client.
//! Each registration's data is what Python keeps in `key.fileobj` and
//! `key.data`: the socket and its callback. `accept` registers the
//! connection, EOF unregisters it, and nothing keeps a side map (see
//! [Porting a Python loop](#porting-a-python-loop)).
//!
//! ```
//! use io_selectors::{DefaultSelector, Event, Selector, EVENT_READ};
//! use std::io::{self, Read, Write};
//! use std::net::{TcpListener, TcpStream};
//! use std::os::unix::io::AsRawFd;
//! use std::time::Duration;
//!
//! enum Sock { Listener(TcpListener), Conn(TcpStream) }
//! /// Python's `key.fileobj` and `key.data`.
//! struct Key { sock: Sock, callback: fn(&mut Sel, &Event) -> io::Result<usize> }
//! type Sel = DefaultSelector<Key>;
//!
//! fn accept(sel: &mut Sel, ev: &Event) -> io::Result<usize> {
//!     let Some(Key { sock: Sock::Listener(sock), .. }) = sel.data(ev) else { return Ok(0) };
//!     let (conn, addr) = sock.accept()?; // should be ready
//!     println!("accepted {} from {addr}", conn.as_raw_fd());
//!     conn.set_nonblocking(true)?;
//!     let fd = conn.as_raw_fd();
//!     sel.register(fd, EVENT_READ, Key { sock: Sock::Conn(conn), callback: read })?;
//!     Ok(0)
//! }
//!
//! fn read(sel: &mut Sel, ev: &Event) -> io::Result<usize> {
//!     let Some(Key { sock: Sock::Conn(conn), .. }) = sel.data_mut(ev) else { return Ok(0) };
//!     let mut data = [0; 1000];
//!     let n = conn.read(&mut data)?; // should be ready
//!     if n > 0 {
//!         println!("echoing {:?} to {}", &data[..n], ev.fd());
//!         conn.write_all(&data[..n])?;
//!     } else {
//!         println!("closing {}", ev.fd());
//!         drop(sel.unregister(ev.fd())?); // dropping the socket closes it
//!     }
//!     Ok(n)
//! }
//!
//! fn main() -> io::Result<()> {
//!     let mut sel = Sel::new()?;
//!     let sock = TcpListener::bind("127.0.0.1:0")?;
//!     sock.set_nonblocking(true)?;
//!     let addr = sock.local_addr()?;
//!     let fd = sock.as_raw_fd();
//!     sel.register(fd, EVENT_READ, Key { sock: Sock::Listener(sock), callback: accept })?;
//!
//!     // A client, to have something to echo.
//!     let mut client = TcpStream::connect(addr)?;
//!     client.write_all(b"hello, selectors")?;
//!
//!     let mut events = Vec::new();
//!     let mut echoed = 0;
//!     while echoed < 16 {
//!         sel.select_events(Some(Duration::from_secs(5)), &mut events)?;
//!         for ev in &events {
//!             // `fn` pointers are Copy: take the callback, then hand it
//!             // the selector. A stale event (unregistered meanwhile) is
//!             // skipped.
//!             let Some(callback) = sel.data(ev).map(|key| key.callback) else { continue };
//!             echoed += callback(&mut sel, ev)?;
//!         }
//!     }
//!     let mut reply = [0; 16];
//!     client.read_exact(&mut reply)?;
//!     assert_eq!(&reply, b"hello, selectors");
//!     sel.close()
//! }
//! ```
//!
//! `io-selectors/examples/echo_server.rs` is the full server (many clients,
//! writes that never block).
//!
//! # Python → Rust
//!
//! | Python | Rust | example |
//! |---|---|---|
//! | `EVENT_READ`, `EVENT_WRITE` | [`Events::READ`], [`Events::WRITE`] (and [`EVENT_READ`], [`EVENT_WRITE`]): a bit set with `\|`, `&`, [`contains`](Events::contains), [`is_empty`](Events::is_empty), [`from_bits`](Events::from_bits) that rejects unknown bits | [events](#events) |
//! | "file object" (int fd or object with `fileno()`) | [`FileObject`], implemented for [`RawFd`](https://doc.rust-lang.org/std/os/unix/io/type.RawFd.html), [`BorrowedFd`](https://doc.rust-lang.org/std/os/unix/io/struct.BorrowedFd.html) and every `&T: AsRawFd` (`&TcpStream`, `&File`, `&OwnedFd`, pipes...) | [file objects](#file-objects) |
//! | `SelectorKey(fileobj, fd, events, data)` | [`SelectorKey<T>`] `{ fd, events, data }`: your object goes in `data`, any `T` | [keys](#keys) |
//! | `BaseSelector` | the [`Selector<T>`] trait, generic over the data `T` | [the trait](#the-selector-trait) |
//! | `register(fileobj, events, data=None)` | [`register(fileobj, events, data)`](Selector::register) `-> Result<&SelectorKey<T>>` | [register](#register-unregister-modify) |
//! | `unregister(fileobj)` | [`unregister(fileobj)`](Selector::unregister) `-> Result<SelectorKey<T>>`, handing `data` back | [unregister](#register-unregister-modify) |
//! | `modify(fileobj, events, data=None)` | [`modify(fileobj, events, data)`](Selector::modify) `-> Result<&SelectorKey<T>>`; same events: no system call | [modify](#register-unregister-modify) |
//! | `modify(fileobj, events, key.data)` | [`modify_events(fileobj, events)`](Selector::modify_events): keeps the data | [modify](#register-unregister-modify) |
//! | `select(timeout=None)` | [`select(Option<Duration>)`](Selector::select) `-> Result<Vec<(SelectorKey<T>, Events)>>`, and the allocation-free [`select_into`](Selector::select_into); both for `T: Clone` (the data is cloned into each result) | [select](#select-and-select_into) |
//! | `for key, mask in sel.select(): key.data` | for any `T`: [`select_events`](Selector::select_events) into a reusable `Vec<`[`Event`]`>`, then [`data`](Selector::data), [`data_mut`](Selector::data_mut), [`key`](Selector::key) per event, `None` once unregistered | [select_events](#select_events-any-data-no-stale-entries) |
//! | `close()` / context manager | [`close(self)`](Selector::close) `-> io::Result<()>` and `Drop`: use after close does not compile | [close](#close-and-drop) |
//! | `get_key(fileobj)` | [`get_key(fileobj)`](Selector::get_key) `-> Result<&SelectorKey<T>>` | [get_key, get_map](#get_key-and-get_map) |
//! | `get_map()` | [`get_map()`](Selector::get_map) `-> &`[`SelectorMap<T>`]: read-only, `len`, `get`, `contains`, `iter`, `keys`, `values`, `map[fileobj]` | [get_key, get_map](#get_key-and-get_map) |
//! | `ValueError` / `KeyError` / `OSError` | [`Error`]`::{InvalidEvents, InvalidFd, AlreadyRegistered, NotRegistered, Os}`, `From<Error> for io::Error` with matching [`ErrorKind`](std::io::ErrorKind)s; messages name the fd | [errors](#errors) |
//! | `EpollSelector.fileno()`, `KqueueSelector.fileno()` | [`AsFd`](https://doc.rust-lang.org/std/os/unix/io/trait.AsFd.html) / [`AsRawFd`](https://doc.rust-lang.org/std/os/unix/io/trait.AsRawFd.html) on `EpollSelector` and `KqueueSelector` | [fileno](#fileno) |
//! | `DefaultSelector` | [`DefaultSelector<T>`]: kqueue on Apple/BSD, epoll on Linux/Android, select on Windows, else poll, else select | [`DefaultSelector`] |
//!
//! ## Events
//!
//! ```
//! use io_selectors::{Events, EVENT_READ, EVENT_WRITE};
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
//! On Windows, as the spec says, only sockets: there [`RawFd`] is a
//! `RawSocket`, and the file objects are raw sockets, `BorrowedSocket`s and
//! references to `AsRawSocket` types (`&TcpStream`, `&UdpSocket`...); any
//! other handle is refused at `register` with an error naming it.
//!
//! Anything that names an fd: a raw fd, a [`BorrowedFd`](https://doc.rust-lang.org/std/os/unix/io/struct.BorrowedFd.html),
//! or a reference to any [`AsRawFd`](https://doc.rust-lang.org/std/os/unix/io/trait.AsRawFd.html) type. All
//! forms name the same registration.
//!
//! ```
//! use io_selectors::{DefaultSelector, FileObject, Selector, EVENT_READ};
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
//! use io_selectors::{DefaultSelector, Selector, SelectorKey, EVENT_READ, EVENT_WRITE};
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
//! use io_selectors::{Selector, SelectSelector, PollSelector, DefaultSelector, EVENT_READ};
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
//! system call when only the data changes; `modify_events` changes only the
//! events and keeps the data, whatever it is (no clone, no rebuild).
//!
//! ```
//! use io_selectors::{DefaultSelector, Selector, EVENT_READ, EVENT_WRITE};
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
//! let key = sel.modify_events(&a, EVENT_READ | EVENT_WRITE)?; // keeps the data
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
//! Both need `T: Clone`: each result owns a clone of the key, data included
//! (cheap for a `u32`, an `Rc`, a `fn`; an allocation for a `String`). For
//! data that is not `Clone` (a socket, a `Box<dyn FnMut>`, a connection's
//! state), or to never clone, use
//! [`select_events`](#select_events-any-data-no-stale-entries).
//!
//! ```
//! use io_selectors::{DefaultSelector, Ready, Selector, EVENT_READ, EVENT_WRITE};
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
//! ## select_events: any data, no stale entries
//!
//! [`select_events`](Selector::select_events) waits as `select_into` does
//! and fills a vector you keep with small `Copy` [`Event`]s: the fd, what
//! is ready, and which registration it is about. Nothing is cloned, so it
//! works for every `T` and allocates nothing in steady state. The vector
//! does not borrow the selector: for each event, reach the data with
//! [`data`](Selector::data) / [`data_mut`](Selector::data_mut) (or the key
//! with [`key`](Selector::key)), and register, modify and unregister as you
//! go. They return `None` for an event whose registration was unregistered
//! since the select, even when the fd's number already names a new
//! connection: a stale event never reaches the wrong one.
//!
//! ```
//! use io_selectors::{DefaultSelector, Events, Selector};
//! use std::io::{Read, Write};
//! use std::os::unix::io::AsRawFd;
//! use std::os::unix::net::UnixStream;
//! use std::time::Duration;
//!
//! struct Client { sock: UnixStream, got: Vec<u8> } // not Clone
//!
//! let mut sel = DefaultSelector::<Client>::new()?;
//! let (a, mut a_peer) = UnixStream::pair()?;
//! let (b, mut b_peer) = UnixStream::pair()?;
//! let (a_fd, b_fd) = (a.as_raw_fd(), b.as_raw_fd());
//! sel.register(a_fd, Events::READ, Client { sock: a, got: Vec::new() })?;
//! sel.register(b_fd, Events::READ, Client { sock: b, got: Vec::new() })?;
//! a_peer.write_all(b"a")?;
//! b_peer.write_all(b"b")?;
//!
//! let mut events = Vec::with_capacity(64);
//! sel.select_events(Some(Duration::from_secs(5)), &mut events)?;
//! assert_eq!(events.len(), 2);
//! for ev in &events {
//!     // The first handler closes the other client: its event is stale.
//!     let Some(client) = sel.data_mut(ev) else { continue };
//!     let mut buf = [0; 16];
//!     let n = client.sock.read(&mut buf)?;
//!     client.got.extend_from_slice(&buf[..n]);
//!     let other = if ev.fd() == a_fd { b_fd } else { a_fd };
//!     if sel.get_map().contains(other) {
//!         drop(sel.unregister(other)?); // closes it
//!     }
//! }
//! assert_eq!(sel.get_map().len(), 1);
//! assert_eq!(events.iter().filter(|ev| sel.data(ev).is_some()).count(), 1);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## close and Drop
//!
//! [`close`](Selector::close) takes the selector by value and reports the
//! kernel's error, if any; dropping it closes it too.
//!
//! ```
//! use io_selectors::{DefaultSelector, Selector, EVENT_READ};
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
//! use io_selectors::{DefaultSelector, Selector};
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
//! use io_selectors::{DefaultSelector, Selector, EVENT_READ, EVENT_WRITE};
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
//! use io_selectors::{DefaultSelector, Error, Events, Selector, EVENT_READ};
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
//! assert!(err.to_string().starts_with(&format!("fd {fd} is already registered")));
//! // As io::Error
//! let io_err: io::Error = err.into();
//! assert_eq!(io_err.kind(), ErrorKind::AlreadyExists);
//! let io_err: io::Error = sel.get_key(-5).unwrap_err().into();
//! assert_eq!(io_err.kind(), ErrorKind::InvalidInput);
//! // OSError: what the kernel refused, and on which fd (a made-up one here).
//! let source = io::Error::from_raw_os_error(1);
//! let os = Error::Os { fd: Some(9), op: "epoll_ctl(EPOLL_CTL_ADD)", source };
//! assert_eq!(os.fd(), Some(9));
//! assert_eq!(io::Error::from(os).kind(), ErrorKind::PermissionDenied);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## fileno
//!
//! The selectors built on a kernel object expose it as
//! [`AsFd`](https://doc.rust-lang.org/std/os/unix/io/trait.AsFd.html)/[`AsRawFd`](https://doc.rust-lang.org/std/os/unix/io/trait.AsRawFd.html),
//! Python's `fileno()`; a selector of selectors is possible, since the
//! epoll fd is itself readable when one of its fds is ready.
//!
//! ```
//! # #[cfg(any(target_os = "linux", target_os = "android"))]
//! # {
//! use io_selectors::{EpollSelector, PollSelector, Selector, EVENT_READ};
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
//! # Porting a Python loop
//!
//! The loop of the Python documentation:
//!
//! ```python
//! def read(conn, mask):
//!     data = conn.recv(1000)
//!     if data:
//!         conn.send(data)
//!     else:
//!         sel.unregister(conn)
//!         conn.close()
//!
//! sel.register(conn, selectors.EVENT_READ, read)
//! while True:
//!     for key, mask in sel.select():
//!         callback = key.data
//!         callback(key.fileobj, mask)
//! ```
//!
//! | Python | Rust |
//! |---|---|
//! | `key.fileobj` | the selector keeps no object, only the fd: put the socket itself in the data; the registration then owns it, `unregister` hands it back and dropping it closes it |
//! | `key.data`, a callback | a `fn(&mut Sel, &Event)` in the data (it is `Copy`: take it out, then call it with the selector, which it may change), or a closure or trait object (`Box<dyn FnMut(..)>`, `Box<dyn Handler>`) that works on the connection it is stored with |
//! | `for key, mask in sel.select()` | `sel.select_events(timeout, &mut events)?; for ev in &events { .. }`, with `ev.events()` for `mask` and `ev.fd()` for `key.fd` |
//! | `key` inside the loop | `sel.key(ev)`, `sel.data(ev)`, `sel.data_mut(ev)`: `None` when an earlier handler unregistered it, so `let Some(..) = .. else { continue }` |
//! | `sel.unregister(conn); conn.close()` | `drop(sel.unregister(ev.fd())?)` |
//! | `sel.modify(conn, EVENT_READ \| EVENT_WRITE, key.data)` | `sel.modify_events(ev.fd(), EVENT_READ \| EVENT_WRITE)?` |
//!
//! With data that is `Clone` (`fn` handlers, small enums, `Rc`s) the
//! Python-shaped `select` works as well; the [example](#example) above is
//! the `fn` form. Here the handler is a closure stored with its socket, as
//! a trait object, and the loop is Python's line for line:
//!
//! ```
//! use io_selectors::{DefaultSelector, Events, Selector, EVENT_READ};
//! use std::io::{self, Read, Write};
//! use std::os::unix::io::AsRawFd;
//! use std::os::unix::net::UnixStream;
//! use std::time::Duration;
//!
//! /// `key.fileobj` and `key.data`: the socket and what to do when it is
//! /// ready; the callback says whether to keep the connection.
//! struct Key {
//!     fileobj: UnixStream,
//!     callback: Box<dyn FnMut(&mut UnixStream, Events) -> io::Result<bool>>,
//! }
//!
//! let mut sel = DefaultSelector::<Key>::new()?;
//! let (conn, mut peer) = UnixStream::pair()?;
//! let mut echoed = 0; // state of the callback's own
//! let read = move |conn: &mut UnixStream, _mask: Events| -> io::Result<bool> {
//!     let mut data = [0; 1000];
//!     let n = conn.read(&mut data)?;
//!     echoed += n;
//!     conn.write_all(&data[..n])?;
//!     Ok(n > 0)
//! };
//! let fd = conn.as_raw_fd();
//! sel.register(fd, EVENT_READ, Key { fileobj: conn, callback: Box::new(read) })?;
//! peer.write_all(b"ping")?;
//!
//! let mut events = Vec::new();
//! let mut reply = [0; 4];
//! for round in 0..2 {
//!     if round == 1 {
//!         peer.shutdown(std::net::Shutdown::Write)?; // EOF: unregister
//!     }
//!     sel.select_events(Some(Duration::from_secs(5)), &mut events)?;
//!     for ev in &events {
//!         let Some(key) = sel.data_mut(ev) else { continue };
//!         if !(key.callback)(&mut key.fileobj, ev.events())? {
//!             drop(sel.unregister(ev.fd())?); // closes the socket
//!         }
//!     }
//!     if round == 0 {
//!         peer.read_exact(&mut reply)?;
//!     }
//! }
//! assert_eq!(&reply, b"ping");
//! assert!(sel.get_map().is_empty());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! A closure that must register or unregister other fds can return what
//! to do (as this one returns whether to keep its connection), or take
//! `&mut Sel` as the `fn` handlers of the [example](#example) do.
//!
//! # Beyond Python
//!
//! - [`AnySelector`] picks the backend at run time (from configuration, or
//!   the best one that works, as [`Backend`] lists them).
//! - [`Selector::waker`] hands out a [`Waker`] that makes a blocked
//!   `select` return from another thread.
//!
//! # Blocking or non-blocking fds
//!
//! A selector never changes an fd's mode, and it accepts blocking fds. What
//! it promises is level-triggered readiness: when `select` reports an fd
//! READ, one `read` (or `accept`, `recv`) on it does not block, because
//! data, a connection, end of file or an error is waiting. The second one
//! may block; go back to `select` instead, which reports the fd again if
//! more is left. So a blocking fd is safe for reading as long as the loop
//! makes one call per readiness; with a non-blocking fd
//! ([`set_nonblocking`](std::net::TcpStream::set_nonblocking), `O_NONBLOCK`)
//! a spurious or stolen wake-up (another thread or process reading the
//! same file) costs a [`WouldBlock`](std::io::ErrorKind::WouldBlock)
//! instead of a hang.
//!
//! Writes are where blocking fds hurt: WRITE readiness means there is *some*
//! room in the kernel's buffer, not room for everything you have, and a
//! blocking `write_all` of more than fits blocks the whole loop. Make
//! fds you write to non-blocking, write what the kernel takes, keep the
//! rest, and wait for WRITE again (the echo server example does this); or,
//! with a blocking fd, write at most what is known to fit. Python's
//! documentation of `selectors` leaves this unsaid; its echo server uses
//! non-blocking sockets and "hopes" `send` won't block.
//!
//! # Closing a registered fd
//!
//! Unregister an fd *before* closing it. The selector knows fds by number,
//! and the OS gives a closed number to the next file it opens: a file
//! closed while still registered leaves its key behind, and registering
//! the new file that got the number is refused with
//! [`Error::AlreadyRegistered`], whose message names this likely cause.
//! `unregister` after the close still works (it removes the stale key and
//! ignores the kernel's `EBADF`/`ENOENT`), which is how to recover.
//!
//! ```
//! use io_selectors::{DefaultSelector, Error, Selector, EVENT_READ};
//! use std::os::unix::io::AsRawFd;
//! use std::os::unix::net::UnixStream;
//!
//! let mut sel = DefaultSelector::<&str>::new()?;
//! let (old, _peer) = UnixStream::pair()?;
//! let fd = old.as_raw_fd();
//! sel.register(&old, EVENT_READ, "old")?;
//! drop(old); // closed, but still registered
//!
//! // The OS hands out the lowest free number: `fd` again.
//! let (new, _peer2) = UnixStream::pair()?;
//! assert_eq!(new.as_raw_fd(), fd);
//! let err = sel.register(&new, EVENT_READ, "new").unwrap_err();
//! assert!(matches!(err, Error::AlreadyRegistered { .. }));
//! assert!(err.to_string().contains("closed without `unregister`"), "{err}");
//!
//! // Recover: drop the stale key, then register the new file.
//! assert_eq!(sel.unregister(fd)?.data, "old");
//! sel.register(&new, EVENT_READ, "new")?;
//! # Ok::<(), std::io::Error>(())
//! ```
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

// The user API of selectors-core, item by item: what only backend
// implementers need stays in `selectors_core::backend`, outside this crate.
pub use selectors_core::{
    Error, Event, Events, FileObject, Iter, RawFd, Ready, Result, Selector, SelectorKey,
    SelectorMap, Waker, EVENT_READ, EVENT_WRITE,
};

/// The README's Rust snippets, compiled (and run, unless marked `no_run`)
/// as doctests of this crate, so the README cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

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

#[cfg(selectors_iocp)]
pub use selectors_iocp::IocpSelector;

#[cfg(selectors_any_backend)]
mod default;
#[cfg(selectors_any_backend)]
pub use default::DefaultSelector;

#[cfg(any(unix, windows))]
mod any;
#[cfg(any(unix, windows))]
pub use any::{AnySelector, Backend, ParseBackendError};
