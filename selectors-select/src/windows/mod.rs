//! `SelectSelector` on Windows: the engine on Winsock `select`. The
//! adapter keeps a read list and a write list between calls
//! (ARCHITECTURE.md).

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use selectors_core::backend::{
    self, Adapter, Collect, Engine, Refused, Sink, Slot, Timeout, Wait, Waited, WakePipe,
};
use selectors_core::{Events, RawFd, SelectorMap, Waker};
use windows_sys::Win32::Networking::WinSock::{
    getsockopt, select, SOCKET, SOCKET_ERROR, SOL_SOCKET, SO_TYPE, TIMEVAL, WSAEINTR,
};

mod sets;

use sets::{List, SocketSet};

/// What each of [`Select`]'s two lists is for, by index.
const LISTS: [Events; 2] = [Events::READ, Events::WRITE];

/// Marks "not in this list" in [`Select::at`].
const ABSENT: u32 = u32::MAX;

/// A selector on Winsock `select`: Python's `selectors.SelectSelector` (and
/// its `DefaultSelector`) on Windows.
///
/// Only sockets can be registered, as the spec says: a pipe, a file or
/// any other handle is refused at
/// [`register`](selectors_core::Selector::register) with
/// [`Error::Os`](selectors_core::Error::Os) naming it (`WSAENOTSOCK`), and
/// leaves no trace.
///
/// Winsock's sets are lists, not bitmaps, and this selector keeps a read
/// list and a write list that grow without limit (C's `FD_SETSIZE` is 64;
/// CPython builds with 512). `register`, `modify` and `unregister` push or
/// swap-remove one entry per list (O(1), no system call but `register`'s
/// check that the handle is a socket); each `select` copies the lists into
/// reusable buffers, makes one call and walks the ready sockets, READ and
/// WRITE merged into one entry.
///
/// A non-blocking `connect` that fails is reported by Windows in the
/// *except* set, not the write set: the write list is passed as the except
/// list too (as CPython does), and such a socket is reported as WRITE, so
/// the caller sees the failure on its next write or `SO_ERROR`. Out-of-band
/// data on a socket registered for WRITE is reported the same way.
///
/// With no socket registered and no waker, Winsock would fail with
/// `WSAEINVAL`; the selector sleeps for the timeout instead, as
/// `select(2)` does on Unix.
///
/// If a registered socket was closed without being unregistered, Winsock
/// fails the whole call with `WSAENOTSOCK`; the selector finds the culprit
/// and returns [`Error::Os`](selectors_core::Error::Os) naming it, leaving
/// it registered: unregister it (that succeeds) and select again.
///
/// Its [`waker`](selectors_core::Selector::waker) is a `WakePipe` (a
/// loopback TCP pair) whose read end is added to each `select`'s read list.
pub type SelectSelector<T = ()> = Engine<Select, T>;

/// The kernel adapter of [`SelectSelector`] on Windows: the socket lists.
#[derive(Default)]
pub struct Select {
    /// The read list and the write list ([`LISTS`]).
    lists: [List; 2],
    /// Per map position: the registration's index in each list, or
    /// [`ABSENT`]. A list's entries name their owner back (`List`), so
    /// that a `swap_remove` of a list or of the map can fix the other's
    /// indices.
    at: Vec<[u32; 2]>,
    /// The lists handed to `select` (read, write, except), which it
    /// overwrites with the ready sockets.
    scratch: [SocketSet; 3],
    /// The waker's socket, once there is one.
    wake: Option<RawFd>,
}

impl fmt::Debug for Select {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("read", &self.lists[0].len())
            .field("write", &self.lists[1].len())
            .finish()
    }
}

impl Select {
    /// Lists the registration at `pos` (socket `fd`) in list `which`.
    fn list(&mut self, pos: usize, fd: RawFd, which: usize) {
        self.at[pos][which] = self.lists[which].push(fd as SOCKET, pos);
    }

    /// Unlists the registration at `pos` from list `which`, telling the
    /// registration whose socket the list moves into the hole.
    fn unlist(&mut self, pos: usize, which: usize) {
        let index = std::mem::replace(&mut self.at[pos][which], ABSENT);
        if let Some(moved) = self.lists[which].swap_remove(index) {
            self.at[moved][which] = index;
        }
    }

    /// Reports the sockets the last `select` left in the scratch lists.
    #[inline(never)]
    fn collect<T, C: Collect<T>>(&self, sink: &mut Sink<'_, T, C>) {
        let [read, write, except] = &self.scratch;
        for &socket in read.ready() {
            if Some(socket as RawFd) == self.wake {
                sink.woken();
            } else {
                sink.fd(socket as RawFd, Events::READ);
            }
        }
        // A failed connect lands in the except list: WRITE, as CPython.
        for &socket in write.ready().iter().chain(except.ready()) {
            sink.fd(socket as RawFd, Events::WRITE);
        }
    }
}

/// Whether `socket` names an open socket: `getsockopt(SO_TYPE)` fails with
/// `WSAENOTSOCK` for a pipe, a file, any other handle, or a socket closed
/// since. (A `select` on the handle alone would not do: Wine fails it with
/// `WSAEOPNOTSUPP` for a pipe.)
fn check_socket(socket: RawFd) -> io::Result<()> {
    let mut kind: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as i32;
    // SAFETY: the option is an `int`: getsockopt writes at most `len` bytes
    // into `kind`, a live local, and updates `len`. Any handle value is
    // acceptable: one that is not a socket only makes the call fail.
    let result = unsafe {
        getsockopt(
            socket as SOCKET,
            SOL_SOCKET,
            SO_TYPE,
            (&mut kind as *mut i32).cast(),
            &mut len,
        )
    };
    if result == SOCKET_ERROR {
        // WSAGetLastError is the thread's last error (Wine's returns
        // GetLastError()), so std's reading of it serves.
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `register` checks that the handle is a socket; `modify` and
/// `unregister` only edit the lists. `select` is one Winsock `select`
/// (microsecond timeouts, rounded up).
impl Adapter for Select {
    const NAME: &'static str = "SelectSelector";
    // READ and WRITE of one socket come from two lists.
    const SPLITS_EVENTS: bool = true;
    const REFUSES_EMPTY_WAIT: bool = true;

    /// Nothing to create: never fails.
    fn open() -> io::Result<Self> {
        Ok(Select::default())
    }

    fn add(&mut self, slot: Slot, events: Events) -> Result<(), Refused> {
        check_socket(slot.fd)
            .map_err(|e| Refused::new("register (Windows selects sockets only)", e))?;
        // The new registration goes at position `len`, as its entry here.
        backend::reserve_lean(&mut self.at, slot.position + 1);
        self.at.push([ABSENT; 2]);
        for (which, &event) in LISTS.iter().enumerate() {
            if events.contains(event) {
                self.list(slot.position, slot.fd, which);
            }
        }
        Ok(())
    }

    #[inline]
    fn modify(&mut self, slot: Slot, old: Events, new: Events) -> Result<(), Refused> {
        for (which, &event) in LISTS.iter().enumerate() {
            match (old.contains(event), new.contains(event)) {
                (true, false) => self.unlist(slot.position, which),
                (false, true) => self.list(slot.position, slot.fd, which),
                _ => {}
            }
        }
        Ok(())
    }

    fn delete(&mut self, slot: Slot, events: Events) -> Result<(), Refused> {
        for (which, &event) in LISTS.iter().enumerate() {
            if events.contains(event) {
                self.unlist(slot.position, which);
            }
        }
        // The map moves its last registration into `position`: `at` does
        // the same, and the lists learn the moved one's new position.
        self.at.swap_remove(slot.position);
        if let Some(moved) = self.at.get(slot.position) {
            for (list, &index) in self.lists.iter_mut().zip(moved) {
                if index != ABSENT {
                    list.set_owner(index, slot.position);
                }
            }
        }
        Ok(())
    }

    #[inline]
    fn wait<T, C: Collect<T>>(&mut self, timeout: Timeout, sink: &mut Sink<'_, T, C>) -> Wait {
        let [read, write, except] = &mut self.scratch;
        read.copy_from(&self.lists[0].set);
        if let Some(socket) = self.wake {
            read.push(socket as SOCKET);
        }
        write.copy_from(&self.lists[1].set);
        except.copy_from(&self.lists[1].set);
        let timeval = timeout.map(timeval);
        let timeval = timeval
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const TIMEVAL);
        // SAFETY: each set pointer is null or points at a live buffer laid
        // out as an `FD_SET` whose count matches its entries (see
        // `SocketSet`); Winsock rewrites at most that many entries and the
        // count. `timeval` is null or points at a local. The first argument
        // is ignored by Winsock.
        let result = unsafe {
            select(
                0,
                read.as_mut_ptr(),
                write.as_mut_ptr(),
                except.as_mut_ptr(),
                timeval,
            )
        };
        match result {
            // Nothing ready (the idle poll): no list to walk.
            0 => Ok(Waited::Nothing),
            SOCKET_ERROR => {
                let error = io::Error::last_os_error();
                if error.raw_os_error() == Some(WSAEINTR) {
                    // A blocking call cancelled: empty, like EINTR (std
                    // does not call WSAEINTR `Interrupted`).
                    return Ok(Waited::Nothing);
                }
                // A socket closed behind our back fails the whole call.
                Err(Refused::new("select", error)
                    .blaming(sink.registrations(), |fd| check_socket(fd).is_err()))
            }
            _ => {
                self.collect(sink);
                Ok(Waited::Something)
            }
        }
    }

    fn install_waker<T>(&mut self, map: &SelectorMap<T>) -> io::Result<(Waker, Option<RawFd>)> {
        // Never on the number of a registered socket closed behind our back.
        let pipe = Arc::new(WakePipe::avoiding(|fd| map.contains(fd))?);
        let fd = pipe.fd();
        self.wake = Some(fd);
        Ok((backend::waker(pipe), Some(fd)))
    }

    fn heap_bytes(&self) -> usize {
        let lists: usize = self.lists.iter().map(List::heap_bytes).sum();
        let scratch: usize = self.scratch.iter().map(SocketSet::heap_bytes).sum();
        lists + scratch + self.at.capacity() * std::mem::size_of::<[u32; 2]>()
    }
}

/// A clamped timeout as the `timeval` Winsock takes, rounded up to whole
/// microseconds so that a positive timeout never becomes a busy poll.
#[inline]
fn timeval(timeout: Duration) -> TIMEVAL {
    let micros = (timeout.subsec_nanos() + 999) / 1_000;
    TIMEVAL {
        // Clamped to 10^8 s, so it fits a `long`; 10^6 µs carries.
        tv_sec: (timeout.as_secs() + u64::from(micros / 1_000_000)) as i32,
        tv_usec: (micros % 1_000_000) as i32,
    }
}

#[cfg(test)]
mod tests;
