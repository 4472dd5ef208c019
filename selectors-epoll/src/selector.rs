//! `EpollSelector`: the engine on epoll. The adapter names each
//! registration by fd and tag in the event data, and moves the interest
//! list to a fresh epoll instance when a closed-but-duplicated fd leaves an
//! orphan in it (ARCHITECTURE.md; libev's `ev_epoll.c` explains the traps).

use std::io;
use std::os::unix::io::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rustix::event::epoll::{self, CreateFlags, EventData, EventFlags};
use rustix::io::Errno;
use selectors_core::backend::{
    self, Adapter, Collect, Engine, Refused, Sink, Slot, Timeout, Wait, Waited,
};
use selectors_core::{Events, SelectorMap, Waker};

use crate::buffer::{is_whole_millis, WaitBuffer};

/// The event data of the waker's fd. Registrations never have it: their tag
/// (the high half) is never 0.
const WAKE_DATA: u64 = 0;

/// The longest single wait: `epoll_pwait(2)` takes an `int` of milliseconds
/// (about 24.8 days). Longer timeouts are waited for in several steps rather
/// than handed to rustix, which would fail with `EINVAL` (libc backend) or
/// try `epoll_pwait2(2)`: `ENOSYS` before Linux 5.11, and fatal under some
/// seccomp filters.
const MAX_WAIT: Duration = Duration::from_millis(i32::MAX as u64);

const ADD: &str = "epoll_ctl(EPOLL_CTL_ADD)";

/// Python's `selectors.EpollSelector`: a [`Selector`](selectors_core::Selector) on Linux's
/// [`epoll(7)`], generic over the data `T` attached to each registration.
///
/// `select` costs one [`epoll_wait(2)`] whatever the number of registered
/// fds; register, unregister and modify cost one [`epoll_ctl(2)`] each, and a
/// modify that keeps the events costs none. Registrations are
/// level-triggered.
///
/// Timeouts with a fraction of a millisecond are waited for in nanoseconds
/// with `epoll_pwait2(2)` where the kernel has it (Linux 5.11 and later,
/// probed on first use), so `select(Some(300 µs))` returns after about
/// 300 µs rather than 1 ms; older kernels round up to whole milliseconds.
///
/// Its [`waker`](selectors_core::Selector::waker) is an `eventfd(2)` in the interest list
/// (a socket pair where the kernel refuses eventfd).
///
/// The selector is [`AsFd`] and [`AsRawFd`] (Python's `fileno()`): its epoll
/// fd can itself be registered in another selector, to nest event loops. The
/// fd is close-on-exec.
///
/// # Closed and reused fds
///
/// epoll watches a *file description*, not an fd number: closing an fd whose
/// description lives on in a `dup` (or in a child after `fork`) leaves the
/// description in the interest list, and it keeps reporting events under the
/// old number, which a later registration may have reused. Each
/// registration therefore carries a generation tag beside its fd (libev's
/// trick), and events whose tag is not that of the live registration are
/// dropped, never reported. Such an orphan cannot be removed with
/// `epoll_ctl` (the number now names another file), so the selector then
/// moves its registrations to a fresh epoll instance and closes the old
/// one; the `select` that found it may return early with nothing, as on a
/// signal.
///
/// That is why a selector holds two epoll instances: its fd (the one
/// [`AsFd`] gives, which never changes) watches only the instance that
/// holds the registrations, which is the one replaced. A selector nested
/// in another (its fd registered there) keeps being watched across the
/// clean-up, and stays readable exactly while it has events. The fd starts
/// watching once it is first handed out ([`AsFd`], [`AsRawFd`]): an epoll
/// instance that another one watches makes each `EPOLL_CTL_ADD` to it take
/// the kernel's nested-epoll path (a global lock and a check of the paths
/// between instances), which costs a selector nobody nests about a tenth
/// of each `register`. The fresh
/// instance is reserved when an orphan may have been born (an `unregister`
/// or failed `modify` of a closed fd), so the clean-up itself needs no new
/// fd: it works when the process has none left (`EMFILE`). If none could
/// be reserved nor created, the clean-up waits for a later `select`; a
/// `select` whose wait succeeded always returns what it found.
///
/// # Fork
///
/// A child process shares the parent's epoll instances: its `register`,
/// `modify` and `unregister` change the parent's interest list (an
/// `unregister` in the child removes the parent's registration, as in
/// CPython). [`after_fork_in_child`](selectors_core::Selector::after_fork_in_child) gives the
/// child instances of its own, built from the map.
///
/// # Example
///
/// ```
/// use selectors_core::{Events, Selector};
/// use selectors_epoll::EpollSelector;
/// use std::os::unix::net::UnixStream;
/// use std::time::Duration;
///
/// let mut sel = EpollSelector::new()?;
/// let (a, _b) = UnixStream::pair()?;
/// sel.register(&a, Events::READ | Events::WRITE, 1u32)?;
///
/// // Nothing to read yet, but the socket has room to write.
/// let ready = sel.select(Some(Duration::ZERO))?;
/// assert_eq!(ready.len(), 1);
/// assert_eq!(ready[0].1, Events::WRITE);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # References
///  - [`epoll(7)`]
///  - [`epoll_ctl(2)`]
///  - [`epoll_wait(2)`]
///
/// [`epoll(7)`]: https://man7.org/linux/man-pages/man7/epoll.7.html
/// [`epoll_ctl(2)`]: https://man7.org/linux/man-pages/man2/epoll_ctl.2.html
/// [`epoll_wait(2)`]: https://man7.org/linux/man-pages/man2/epoll_wait.2.html
pub type EpollSelector<T = ()> = Engine<Epoll, T>;

/// The kernel adapter of [`EpollSelector`]: two epoll instances, a spare
/// one, and the buffer one wait fills.
pub struct Epoll {
    /// The selector's fd: an epoll instance that watches only `epoll`, once
    /// `shown`.
    front: OwnedFd,
    /// Whether the selector's fd has been handed out, and so `front`
    /// watches `epoll`. Set by `as_fd`, which only has `&self`.
    shown: AtomicBool,
    /// The interest list: registrations and the waker.
    epoll: OwnedFd,
    /// An empty epoll instance for the next clean-up, once one may be due.
    spare: Option<OwnedFd>,
    buffer: WaitBuffer,
    /// Whether the last wait filled the buffer.
    filled: bool,
    /// The waker's fd, once there is one (watched with [`WAKE_DATA`]).
    wake: Option<RawFd>,
    /// Tests: make the waker a socket pair, as where eventfd is refused.
    #[cfg(test)]
    pub(crate) force_pipe: bool,
}

impl Epoll {
    /// Waits that need more than one plain `epoll_pwait`: fractions of a
    /// millisecond (`epoll_pwait2`), and timeouts longer than one call,
    /// waited out in steps while nothing is found.
    #[inline(never)]
    fn wait_careful<T, C: Collect<T>>(
        &mut self,
        mut timeout: Option<Duration>,
        sink: &mut Sink<'_, T, C>,
    ) -> Result<Waited, Refused> {
        loop {
            let (wait, rest) = match timeout {
                Some(t) if t > MAX_WAIT => (Some(MAX_WAIT), Some(t - MAX_WAIT)),
                t => (t, None),
            };
            let n = self.buffer.wait(&self.epoll, wait).map_err(wait_failed)?;
            self.collect(n, sink);
            if sink.found() || rest.is_none() {
                return Ok(Waited::Something);
            }
            timeout = rest;
        }
    }

    /// Hands the `n` events of the last wait to `sink`.
    #[inline(never)]
    fn collect<T, C: Collect<T>>(&mut self, n: usize, sink: &mut Sink<'_, T, C>) {
        for &event in self.buffer.events(n) {
            if event.data.u64() == WAKE_DATA {
                sink.woken();
                continue;
            }
            let (fd, tag) = decode(event.data);
            let ready = readiness(Events::ALL, event.flags);
            // epoll reports `EPOLLIN` and `EPOLLOUT` only when asked for:
            // they need no mask; `ERR` and `HUP` do.
            let plain = (EventFlags::IN | EventFlags::OUT).contains(event.flags);
            let live = if plain {
                sink.tagged_masked(fd, tag, ready)
            } else {
                sink.tagged(fd, tag, ready)
            };
            if !live {
                // An orphan: see "Closed and reused fds" above.
                sink.stale();
            }
        }
        self.filled = n == self.buffer.capacity();
    }

    /// Reserves an empty epoll instance for a clean-up that may become due
    /// (an orphan may have been born), while the process may still have a
    /// fd for it; without one, the clean-up tries to create it.
    #[cold]
    fn reserve_spare(&mut self) {
        if self.spare.is_none() {
            self.spare = epoll::create(CreateFlags::CLOEXEC).ok();
        }
    }

    /// Moves the registrations of `map` (and the waker) to a fresh epoll
    /// instance, which the front then watches instead of the old one: that
    /// drops any orphaned file description, and keeps the selector's own
    /// fd, so an outer selector watching it notices nothing. Returns
    /// whether it could be done now; if not, everything is as before.
    #[cold]
    fn rebuild<T>(&mut self, map: &SelectorMap<T>) -> bool {
        let fresh = match self.spare.take() {
            Some(spare) => spare,
            None => match epoll::create(CreateFlags::CLOEXEC) {
                Ok(fresh) => fresh,
                Err(_) => return false,
            },
        };
        for (slot, events) in backend::slots(map) {
            // Any error but exhaustion (EBADF, or EPERM for a number reused
            // by a regular file) means the fd was closed behind our back:
            // there is nothing left to watch, and `unregister` will still
            // succeed. Out of memory or of `max_user_watches`: keep the old
            // list for now.
            if let Err(Errno::NOMEM | Errno::NOSPC) = add(fresh.as_fd(), slot.fd, events, slot.tag)
            {
                return false;
            }
        }
        if let Some(fd) = self.wake {
            if add_wake(fresh.as_fd(), fd).is_err() {
                return false;
            }
        }
        if *self.shown.get_mut() && watch(&self.front, &fresh).is_err() {
            return false;
        }
        // Closing the old instance takes it out of `front`, if there.
        drop(std::mem::replace(&mut self.epoll, fresh));
        // Closing the old instance freed a number: take it for the next
        // clean-up.
        self.reserve_spare();
        true
    }
}

/// Two epoll instances: one that will only watch the other (the front,
/// `AsFd`) lets the interest list be replaced under a fixed fd.
fn open_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let front = epoll::create(CreateFlags::CLOEXEC)?;
    let inner = epoll::create(CreateFlags::CLOEXEC)?;
    Ok((front, inner))
}

/// Makes `front` watch the interest list `inner`.
fn watch(front: &OwnedFd, inner: &OwnedFd) -> rustix::io::Result<()> {
    match epoll::add(front, inner, EventData::new_u64(0), EventFlags::IN) {
        Ok(()) | Err(Errno::EXIST) => Ok(()),
        Err(e) => Err(e),
    }
}

impl Adapter for Epoll {
    const NAME: &'static str = "EpollSelector";

    /// `epoll_create1(EPOLL_CLOEXEC)`, twice.
    fn open() -> io::Result<Self> {
        let (front, epoll) = open_pair()?;
        Ok(Epoll {
            front,
            shown: AtomicBool::new(false),
            epoll,
            spare: None,
            buffer: WaitBuffer::new(),
            filled: false,
            wake: None,
            #[cfg(test)]
            force_pipe: false,
        })
    }

    #[inline]
    fn add(&mut self, slot: Slot, events: Events) -> Result<(), Refused> {
        add(self.epoll.as_fd(), slot.fd, events, slot.tag).map_err(|e| Refused::new(ADD, e))?;
        // Room for every registration and the waker in one wait.
        let room = slot.position + 1 + usize::from(self.wake.is_some());
        self.buffer.reserve_for(room);
        Ok(())
    }

    #[inline]
    fn modify(&mut self, slot: Slot, _: Events, new: Events) -> Result<(), Refused> {
        modify(self.epoll.as_fd(), slot.fd, new, slot.tag).map_err(|e| {
            // The engine unregisters; an orphan may be born.
            self.reserve_spare();
            Refused::new("epoll_ctl(EPOLL_CTL_MOD)", e)
        })
    }

    #[inline]
    fn delete(&mut self, slot: Slot, _: Events) -> Result<(), Refused> {
        delete(self.epoll.as_fd(), slot.fd).map_err(|e| {
            if fd_is_gone(e) {
                // If a dup keeps the description alive, its item is an
                // orphan now: get ready to clean it up.
                self.reserve_spare();
            }
            Refused::new("epoll_ctl(EPOLL_CTL_DEL)", e)
        })
    }

    /// `EBADF`, `ENOENT` or `EPERM`: the fd was closed behind our back
    /// (the number perhaps reused).
    fn is_gone(error: &io::Error) -> bool {
        matches!(Errno::from_io_error(error), Some(e) if fd_is_gone(e))
    }

    /// The hot path, kept small: one wait in whole milliseconds that finds
    /// nothing (an idle poll) touches no memory after the system call.
    /// Events, fractions of a millisecond and waits longer than one call go
    /// out of line. Always inlined, as the engine's `select_with`.
    #[inline(always)]
    fn wait<T, C: Collect<T>>(&mut self, timeout: Timeout, sink: &mut Sink<'_, T, C>) -> Wait {
        if !is_one_plain_wait(timeout) {
            return self.wait_careful(timeout, sink);
        }
        match self.buffer.wait_millis(&self.epoll, timeout) {
            Ok(0) => Ok(Waited::Nothing),
            Ok(n) => {
                self.collect(n, sink);
                Ok(Waited::Something)
            }
            Err(e) => Err(wait_failed(e)),
        }
    }

    /// An eventfd (a socket pair where the kernel refuses eventfd), watched
    /// with event data 0.
    fn install_waker<T>(&mut self, map: &SelectorMap<T>) -> io::Result<(Waker, Option<RawFd>)> {
        // Never on the number of a registered fd closed behind our back:
        // its unregister would delete the waker.
        let taken = |fd| map.contains(fd);
        #[cfg(test)]
        let (waker, fd) = if self.force_pipe {
            crate::wake::pipe(taken)?
        } else {
            crate::wake::new(taken)?
        };
        #[cfg(not(test))]
        let (waker, fd) = crate::wake::new(taken)?;
        add_wake(self.epoll.as_fd(), fd)?;
        self.buffer.reserve_for(map.len() + 1);
        self.wake = Some(fd);
        Ok((waker, Some(fd)))
    }

    /// New epoll instances built from the map (the child's copies of the
    /// parent's are closed); the engine adds a new waker.
    fn after_fork<T>(&mut self, map: &SelectorMap<T>, _: Option<RawFd>) -> io::Result<()> {
        let (front, inner) = open_pair()?;
        for (slot, events) in backend::slots(map) {
            match add(inner.as_fd(), slot.fd, events, slot.tag) {
                // Closed in the child: nothing to watch; unregister works.
                Err(e) if !fd_is_gone(e) => {
                    let refused = Refused::new(ADD, e).about(slot.fd);
                    return Err(selectors_core::Error::from(refused).into());
                }
                _ => {}
            }
        }
        self.front = front;
        *self.shown.get_mut() = false;
        self.epoll = inner;
        self.spare = None;
        self.wake = None;
        Ok(())
    }

    /// Moves the interest list to a fresh epoll instance, dropping the
    /// orphans. If that cannot be done now (no fd or memory left), the
    /// orphans stay, and waiting again would only see them again: unless
    /// they filled the buffer, and may hide live events; then make room and
    /// look again.
    fn tidy<T>(&mut self, map: &SelectorMap<T>) -> bool {
        if self.rebuild(map) {
            return true;
        }
        if !self.filled {
            return false;
        }
        self.buffer.reserve_for(self.buffer.capacity() * 2);
        true
    }

    fn heap_bytes(&self) -> usize {
        self.buffer.heap_bytes()
    }

    fn fmt_fields<T>(&self, _: &SelectorMap<T>, d: &mut std::fmt::DebugStruct<'_, '_>) {
        d.field("epoll", &self.front.as_raw_fd())
            .field("interest", &self.epoll.as_raw_fd())
            .field("wait_capacity", &self.buffer.capacity());
    }
}

impl std::fmt::Debug for Epoll {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Epoll")
            .field("epoll", &self.front.as_raw_fd())
            .field("interest", &self.epoll.as_raw_fd())
            .finish()
    }
}

/// The epoll fd: Python's `EpollSelector.fileno()`. It never changes, and
/// is readable exactly while a `select` would find something.
///
/// The first call makes it watch the interest list (see "Closed and reused
/// fds" on [`EpollSelector`]). Should the kernel refuse that (out of memory,
/// or of `max_user_watches`), the next call tries again.
impl AsFd for Epoll {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // `&self` only, so no `rebuild` (which needs `&mut`) runs meanwhile;
        // two threads racing here both add, and `watch` takes `EEXIST`.
        if !self.shown.load(Ordering::Acquire) && watch(&self.front, &self.epoll).is_ok() {
            self.shown.store(true, Ordering::Release);
        }
        self.front.as_fd()
    }
}

/// Whether an `epoll_ctl` error on a registered number means the file that
/// was registered is no longer there: the registration is over (the kernel
/// dropped it, unless a dup keeps the description alive: then its events
/// are orphans, filtered by tag), and `unregister` succeeds, as Python's.
///
/// - `EBADF`: the fd was closed behind our back.
/// - `ENOENT`: closed, and the number reused by a file we never added.
/// - `EPERM`: closed, and the number reused by a file epoll cannot watch
///   (a regular file, `/dev/null`, a directory), which so cannot be ours.
#[inline]
fn fd_is_gone(e: Errno) -> bool {
    matches!(e, Errno::BADF | Errno::NOENT | Errno::PERM)
}

/// Whether one `epoll_pwait` waits exactly `timeout`: forever, or whole
/// milliseconds well within its `int` (longer ones take the careful path).
#[inline]
pub(crate) fn is_one_plain_wait(timeout: Option<Duration>) -> bool {
    timeout.map_or(true, |t| {
        t.as_secs() < MAX_WAIT.as_secs() && is_whole_millis(t)
    })
}

/// A failed `epoll_wait`, out of line: it never happens on a valid epoll fd.
#[cold]
fn wait_failed(e: Errno) -> Refused {
    Refused::new("epoll_wait", e)
}

/// The event data of a registration: its tag in the high half, its fd in the
/// low half (libev's layout).
#[inline]
fn encode(fd: RawFd, tag: u32) -> EventData {
    EventData::new_u64((u64::from(tag) << 32) | u64::from(fd as u32))
}

/// The fd and tag of an event, as [`encode`] stored them.
#[inline]
fn decode(data: EventData) -> (RawFd, u32) {
    let data = data.u64();
    (data as u32 as RawFd, (data >> 32) as u32)
}

/// What to ask epoll for. Level-triggered: no `EPOLLET`. `EPOLLERR` and
/// `EPOLLHUP` are always reported.
#[inline]
fn interest(events: Events) -> EventFlags {
    let mut flags = EventFlags::empty();
    if events.is_readable() {
        flags |= EventFlags::IN;
    }
    if events.is_writable() {
        flags |= EventFlags::OUT;
    }
    flags
}

/// What to report, as CPython: `EPOLLIN` is readable, `EPOLLOUT` writable,
/// and any other flag (`ERR`, `HUP`, `RDHUP`, `PRI`) both, then masked by the
/// registration.
#[inline]
pub(crate) fn readiness(registered: Events, flags: EventFlags) -> Events {
    let plain = EventFlags::IN | EventFlags::OUT;
    backend::readiness(
        flags.contains(EventFlags::IN),
        flags.contains(EventFlags::OUT),
        flags.bits() & !plain.bits() != 0,
    ) & registered
}

/// `epoll_ctl(EPOLL_CTL_ADD)` on a registered fd number.
#[inline]
fn add(epoll: BorrowedFd<'_>, fd: RawFd, events: Events, tag: u32) -> rustix::io::Result<()> {
    // SAFETY: `fd` is not negative (the engine checked it). The borrow lasts for
    // this one `epoll_ctl`, which reports a closed fd as `EBADF` rather than
    // touching it; the number is the caller's own, as in Python's API.
    let source = unsafe { BorrowedFd::borrow_raw(fd) };
    epoll::add(epoll, source, encode(fd, tag), interest(events))
}

/// `epoll_ctl(EPOLL_CTL_ADD)` of the waker's fd, for reading, with
/// [`WAKE_DATA`].
fn add_wake(epoll: BorrowedFd<'_>, fd: RawFd) -> rustix::io::Result<()> {
    // SAFETY: `fd` is the waker's, which the selector keeps open as long as
    // the epoll instance.
    let source = unsafe { BorrowedFd::borrow_raw(fd) };
    epoll::add(epoll, source, EventData::new_u64(WAKE_DATA), EventFlags::IN)
}

/// `epoll_ctl(EPOLL_CTL_MOD)` on a registered fd number.
#[inline]
fn modify(epoll: BorrowedFd<'_>, fd: RawFd, events: Events, tag: u32) -> rustix::io::Result<()> {
    // SAFETY: as in `add`.
    let source = unsafe { BorrowedFd::borrow_raw(fd) };
    epoll::modify(epoll, source, encode(fd, tag), interest(events))
}

/// `epoll_ctl(EPOLL_CTL_DEL)` on a registered fd number.
#[inline]
fn delete(epoll: BorrowedFd<'_>, fd: RawFd) -> rustix::io::Result<()> {
    // SAFETY: as in `add`.
    let source = unsafe { BorrowedFd::borrow_raw(fd) };
    epoll::delete(epoll, source)
}
