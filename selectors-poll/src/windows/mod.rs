//! `PollSelector` on Windows: the engine on `WSAPoll`. The adapter keeps
//! the `WSAPOLLFD` array between calls, parallel to the registrations, as
//! on Unix (ARCHITECTURE.md).

use std::io;
use std::sync::Arc;

use selectors_core::backend::{
    self, Adapter, Collect, Engine, PollArray, Refused, Sink, Slot, Timeout, Wait, Waited, WakePipe,
};
use selectors_core::{Events, RawFd, SelectorMap, Waker};
use windows_sys::Win32::Networking::WinSock::{
    WSAPoll, POLLERR, POLLHUP, POLLNVAL, POLLRDBAND, POLLRDNORM, POLLWRNORM, SOCKET, SOCKET_ERROR,
    WSAENOTSOCK, WSAPOLLFD,
};

/// A selector on `WSAPoll`, Windows' `poll`: the `PollSelector` CPython
/// lacks on Windows.
///
/// Only sockets can be registered, as the spec says: a pipe, a file or any
/// other handle is refused at [`register`](selectors_core::Selector::register) with
/// [`Error::Os`](selectors_core::Error::Os) naming it (`WSAENOTSOCK`), and leaves no trace.
///
/// As on Unix, it keeps the `WSAPOLLFD` array parallel to the
/// registrations: `register` pushes, `unregister` swap-removes,
/// `modify` rewrites in place, none of them a system call; `select` makes
/// one `WSAPoll` call over the array.
///
/// READ asks for `POLLRDNORM` and WRITE for `POLLWRNORM`: Windows' `POLLIN`
/// is `POLLRDNORM | POLLRDBAND`, and `WSAPoll` rejects `POLLPRI` and
/// `POLLRDBAND` in `events` with `WSAEINVAL` on some versions. Any of
/// `POLLRDNORM` or `POLLRDBAND` reported is READ, `POLLWRNORM` is WRITE,
/// and `POLLERR`, `POLLHUP` or `POLLNVAL` (a socket closed behind the
/// selector's back) counts as both, masked by the registration, as on Unix
/// (see the adapter's `wait` for what Wine does instead).
///
/// Windows before 10 version 2004 did not report a failed non-blocking
/// `connect` through `WSAPoll` at all (the wait timed out); later versions
/// and Wine report `POLLHUP | POLLERR`, hence WRITE. Where that matters on
/// old Windows, use `SelectSelector`, which is why it, not this, is
/// Windows' `DefaultSelector`.
///
/// Its [`waker`](selectors_core::Selector::waker) is a `WakePipe` (a loopback TCP pair)
/// whose read end takes the first entry once created.
pub type PollSelector<T = ()> = Engine<WsaPoll, T>;

/// The kernel adapter of [`PollSelector`] on Windows: the `WSAPOLLFD`
/// array.
#[derive(Debug, Default)]
pub struct WsaPoll {
    fds: PollArray<WSAPOLLFD>,
}

/// Whether `socket` names an open socket: `WSAPoll` on it alone, without
/// waiting, reports `POLLNVAL` for a pipe, a file, any other handle, or a
/// socket closed since (Wine fails the call with `WSAENOTSOCK` instead).
fn check_socket(socket: RawFd) -> io::Result<()> {
    let mut entry = pollfd(socket, Events::READ);
    // SAFETY: `entry` is one live, initialised entry, which WSAPoll reads
    // and whose `revents` it writes. Any handle value is acceptable: one
    // that is not a socket only makes the entry or the call fail.
    match unsafe { WSAPoll(&mut entry, 1, 0) } {
        // WSAGetLastError is the thread's last error (Wine's returns
        // GetLastError()), so std's reading of it serves.
        SOCKET_ERROR => Err(io::Error::last_os_error()),
        _ if entry.revents & POLLNVAL != 0 => Err(io::Error::from_raw_os_error(WSAENOTSOCK)),
        _ => Ok(()),
    }
}

/// `register` checks that the handle is a socket; `modify` and
/// `unregister` only change the array. `select` is one `WSAPoll`.
impl Adapter for WsaPoll {
    const NAME: &'static str = "PollSelector";
    const REFUSES_EMPTY_WAIT: bool = true;

    /// Nothing to create: never fails.
    fn open() -> io::Result<Self> {
        Ok(WsaPoll::default())
    }

    #[inline]
    fn add(&mut self, slot: Slot, events: Events) -> Result<(), Refused> {
        check_socket(slot.fd)
            .map_err(|e| Refused::new("register (Windows polls sockets only)", e))?;
        self.fds.push(slot, pollfd(slot.fd, events));
        Ok(())
    }

    #[inline]
    fn modify(&mut self, slot: Slot, _: Events, new: Events) -> Result<(), Refused> {
        self.fds.set(slot, pollfd(slot.fd, new));
        Ok(())
    }

    #[inline]
    fn delete(&mut self, slot: Slot, _: Events) -> Result<(), Refused> {
        self.fds.remove(slot);
        Ok(())
    }

    /// Whole milliseconds, rounded up; at most `i32::MAX` ms, about 24.8
    /// days, after which it returns empty like a spurious wakeup.
    ///
    /// With no socket registered and no waker, `WSAPoll` would fail with
    /// `WSAEINVAL`; the selector sleeps for the timeout instead, as
    /// `poll(2)` does on Unix.
    ///
    /// A socket closed without being unregistered is, by Windows'
    /// documentation, reported with `POLLNVAL` (ready, as on Unix); Wine 8
    /// skips it instead, and fails the call with `WSAENOTSOCK` when no
    /// open socket is left: the error then names the first registered
    /// socket found closed.
    #[inline]
    fn wait<T, C: Collect<T>>(&mut self, timeout: Timeout, sink: &mut Sink<'_, T, C>) -> Wait {
        let millis = backend::millis_round_up(timeout);
        let fds = self.fds.as_mut_slice();
        // SAFETY: `fds` is a live array of `len` initialised entries, which
        // WSAPoll reads and whose `revents` it writes; `len` fits a `u32`
        // (the map's positions are `u32`s).
        let n = unsafe { WSAPoll(fds.as_mut_ptr(), fds.len() as u32, millis) };
        match n {
            0 => Ok(Waited::Nothing),
            SOCKET_ERROR => Err(Refused::new("WSAPoll", io::Error::last_os_error())
                .blaming(sink.registrations(), |fd| check_socket(fd).is_err())),
            n => {
                self.fds.collect(n as usize, sink, ready);
                Ok(Waited::Something)
            }
        }
    }

    fn install_waker<T>(&mut self, map: &SelectorMap<T>) -> io::Result<(Waker, Option<RawFd>)> {
        // Never on the number of a registered socket closed behind our back.
        let pipe = Arc::new(WakePipe::avoiding(|fd| map.contains(fd))?);
        let fd = pipe.fd();
        self.fds.set_waker(pollfd(fd, Events::READ));
        Ok((backend::waker(pipe), Some(fd)))
    }

    fn heap_bytes(&self) -> usize {
        self.fds.heap_bytes()
    }
}

/// What a `WSAPOLLFD` reports (see [`PollSelector`]).
#[inline]
fn ready(entry: &WSAPOLLFD) -> Option<Events> {
    let revents = entry.revents;
    (revents != 0).then(|| {
        backend::readiness(
            revents & (POLLRDNORM | POLLRDBAND) != 0,
            revents & POLLWRNORM != 0,
            revents & (POLLERR | POLLHUP | POLLNVAL) != 0,
        )
    })
}

/// The `WSAPOLLFD` for a registration.
#[inline]
fn pollfd(fd: RawFd, events: Events) -> WSAPOLLFD {
    let mut flags = 0;
    if events.is_readable() {
        flags |= POLLRDNORM;
    }
    if events.is_writable() {
        flags |= POLLWRNORM;
    }
    WSAPOLLFD {
        fd: fd as SOCKET,
        events: flags,
        revents: 0,
    }
}
