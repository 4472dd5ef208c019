//! `SelectSelector`: the engine on `select(2)`. The adapter keeps the fd
//! sets between calls (ARCHITECTURE.md).

use std::io;
use std::os::unix::io::{BorrowedFd, RawFd};
use std::sync::Arc;

use rustix::event::{select, Timespec};
use rustix::io::{fcntl_getfd, Errno};
use rustix::process::{getrlimit, Resource};
use selectors_core::backend::{
    self, Adapter, Collect, Engine, Refused, Sink, Slot, Timeout, Wait, Waited, WakePipe,
};
use selectors_core::{Events, SelectorMap, Waker};

use crate::fd_sets::{nfds_c, FdSets};

/// A selector on `select(2)`: Python's `selectors.SelectSelector`.
///
/// It keeps a read set and a write set as bit vectors sized by the highest
/// registered fd, so fds above `FD_SETSIZE` (1024) work. `register`,
/// `modify` and `unregister` only flip bits (O(1), no system call, nothing
/// the kernel could refuse); each `select` copies the two sets into
/// reusable buffers, makes one `select` call with `nfds` one past the
/// highest registered fd, and walks the result, which costs
/// O(highest fd), not O(registered fds). Prefer `EpollSelector`,
/// `KqueueSelector` or [`PollSelector`] when fds are many or sparse.
///
/// A fd closed without being unregistered makes the kernel fail the whole
/// call with `EBADF`: the selector then finds the culprit and returns
/// [`Error::Os`](selectors_core::Error::Os) naming it
/// (`"select on fd 7 failed: Bad file descriptor"`), leaving it registered,
/// as libev does: unregister it (that succeeds) and select again. A
/// registered fd that is not open and lies above the process's fd table
/// (which the kernel does not look at) is never reported.
///
/// A fd no process can have here (at or above the hard `RLIMIT_NOFILE`, say
/// `i32::MAX`) is refused by `register` with
/// [`Error::InvalidFd`](selectors_core::Error::InvalidFd), as CPython raises
/// `ValueError` for it (which it does from `FD_SETSIZE` up); checking reads
/// the limit once, then again only for a fd above it.
///
/// Its [`waker`](selectors_core::Selector::waker) is a socket pair, whose
/// read end sits in the read set once created. After `fork(2)` the child
/// may use the selector as it is, but its waker's socket pair is shared
/// with the parent's:
/// [`after_fork_in_child`](selectors_core::Selector::after_fork_in_child)
/// gives it one of its own.
///
/// [`PollSelector`]: https://docs.rs/selectors-poll
pub type SelectSelector<T = ()> = Engine<Select, T>;

/// The kernel adapter of [`SelectSelector`]: the fd sets.
#[derive(Default)]
pub struct Select {
    sets: FdSets,
    /// One past the highest fd the sets hold now.
    nfds: usize,
    /// The waker's fd, once there is one.
    wake: Option<RawFd>,
    /// Fds below this may be open (the hard `RLIMIT_NOFILE` when last
    /// read); 0 until the first registration reads it.
    ceiling: usize,
}

impl std::fmt::Debug for Select {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Select").field("nfds", &self.nfds).finish()
    }
}

impl Select {
    /// Makes the sets exactly as long as `nfds` needs (so shrinks them
    /// after unregisters lowered the highest fd).
    #[inline]
    fn fit(&mut self, nfds: usize) {
        if nfds != self.nfds {
            self.sets.resize(nfds);
            self.nfds = nfds;
        }
    }

    /// Reports the fds the last `select` marked (`bits` marks, as it
    /// returned), in ascending order.
    #[inline(never)]
    fn collect<T, C: Collect<T>>(&self, mut bits: usize, sink: &mut Sink<'_, T, C>) {
        // Only the `bits` lowest marks are the kernel's: Linux cuts `nfds`
        // down to the process's fd table and writes back only that many
        // bits, so marks above it are our own copy of the masters (a fd
        // registered above the table, which cannot be open, is never
        // reported rather than reported as ready).
        for (fd, readable, writable) in self.sets.ready() {
            if bits == 0 {
                break;
            }
            bits = bits.saturating_sub(usize::from(readable) + usize::from(writable));
            if Some(fd) == self.wake {
                sink.woken();
            } else {
                sink.fd(fd, backend::readiness(readable, writable, false));
            }
        }
    }
}

/// Whether `fd` is closed: `select(2)` fails with `EBADF` for the whole
/// set without saying which fd.
fn closed(fd: RawFd) -> bool {
    // SAFETY: registered fds are never negative (so never the -1 niche),
    // and `fcntl(F_GETFD)` only looks the number up in the fd table: a
    // closed one yields EBADF, which is what we look for, and no I/O is
    // done on whatever it might name now.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    fcntl_getfd(borrowed) == Err(Errno::BADF)
}

/// `register`, `modify` and `unregister` only flip bits: no system call,
/// nothing the kernel could refuse. `select` is one `select(2)`
/// (`pselect6` on Linux, nanosecond timeouts; microseconds elsewhere,
/// rounded up).
impl Adapter for Select {
    const NAME: &'static str = "SelectSelector";

    /// Nothing to create: never fails.
    fn open() -> io::Result<Self> {
        Ok(Select::default())
    }

    /// Refuses a fd the process cannot have: at or above the hard
    /// `RLIMIT_NOFILE`, which bounds every fd table. The sets are sized by
    /// the highest fd, so `i32::MAX` would cost a gigabyte. Reads the limit
    /// only when `fd` is above the last one read (it rarely changes).
    #[inline]
    fn can_watch(&mut self, fd: RawFd) -> bool {
        let idx = fd as usize;
        if idx >= self.ceiling {
            let hard = getrlimit(Resource::Nofile).maximum;
            self.ceiling = hard.map_or(RawFd::MAX as usize, |h| {
                usize::try_from(h).unwrap_or(usize::MAX)
            });
        }
        idx < self.ceiling
    }

    #[inline]
    fn add(&mut self, slot: Slot, events: Events) -> Result<(), Refused> {
        self.nfds = self.nfds.max(slot.fd as usize + 1);
        self.sets.set(slot.fd, Events::EMPTY, events, self.nfds);
        Ok(())
    }

    #[inline]
    fn modify(&mut self, slot: Slot, old: Events, new: Events) -> Result<(), Refused> {
        self.sets.set(slot.fd, old, new, self.nfds);
        Ok(())
    }

    #[inline]
    fn delete(&mut self, slot: Slot, events: Events) -> Result<(), Refused> {
        // The sets shrink at the next wait, which knows the new bound.
        self.sets.clear(slot.fd, events, self.nfds);
        Ok(())
    }

    #[inline]
    fn wait<T, C: Collect<T>>(&mut self, timeout: Timeout, sink: &mut Sink<'_, T, C>) -> Wait {
        let wake = self.wake.map_or(0, |fd| fd as usize + 1);
        self.fit(backend::fd_bound(sink.registrations()).max(wake));
        let nfds = nfds_c(self.nfds);
        // The engine clamps to 10^8 s, which fits every `time_t`.
        let timeout = timeout.and_then(|t| Timespec::try_from(t).ok());
        let (read, write) = self.sets.prepare();
        // SAFETY: both sets hold `fd_set_num_elements(nfds)` elements, and the
        // kernel only reads the fd numbers in them. Rustix asks that they be
        // open; one closed behind our back (the caller's bug, which Python
        // tolerates) makes the kernel fail with EBADF, handled below, and a
        // reused number only has its readiness queried: no I/O happens on it.
        match unsafe { select(nfds, Some(read), write, None, timeout.as_ref()) } {
            // Nothing ready (the idle poll): no set to walk.
            Ok(0) => Ok(Waited::Nothing),
            Ok(n) => {
                self.collect(n as usize, sink);
                Ok(Waited::Something)
            }
            Err(Errno::BADF) => {
                Err(Refused::new("select", Errno::BADF).blaming(sink.registrations(), closed))
            }
            Err(e) => Err(Refused::new("select", e)),
        }
    }

    fn install_waker<T>(&mut self, map: &SelectorMap<T>) -> io::Result<(Waker, Option<RawFd>)> {
        // Never on the number of a registered fd closed behind our back.
        let pipe = Arc::new(WakePipe::avoiding(|fd| map.contains(fd))?);
        let fd = pipe.fd();
        self.nfds = self.nfds.max(fd as usize + 1);
        self.sets.set(fd, Events::EMPTY, Events::READ, self.nfds);
        self.wake = Some(fd);
        Ok((backend::waker(pipe), Some(fd)))
    }

    /// Only the waker's socket pair is shared with the parent: clear its
    /// bit (the engine installs a new one); the sets stay as they are.
    fn after_fork<T>(&mut self, _: &SelectorMap<T>, waker: Option<RawFd>) -> io::Result<()> {
        if let Some(fd) = waker {
            self.sets.clear(fd, Events::READ, self.nfds);
            self.wake = None;
        }
        Ok(())
    }

    fn heap_bytes(&self) -> usize {
        self.sets.heap_bytes()
    }

    fn fmt_fields<T>(&self, map: &SelectorMap<T>, d: &mut std::fmt::DebugStruct<'_, '_>) {
        d.field("nfds", &backend::fd_bound(map));
    }
}
