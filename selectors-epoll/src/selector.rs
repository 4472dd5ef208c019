//! `EpollSelector`: the `Selector` trait on one epoll instance.

use std::fmt;
use std::io;
use std::os::unix::io::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use rustix::event::epoll::{self, CreateFlags, EventData, EventFlags};
use rustix::io::Errno;
use selectors_core::{
    push_ready, Error, Events, FileObject, Ready, Result, Selector, SelectorKey, SelectorMap, Waker,
};

use crate::buffer::{is_whole_millis, WaitBuffer};
use crate::wake::WakeSource;

/// The event data of the waker's fd. Registrations never have it: their tag
/// (the high half) is never 0.
const WAKE_DATA: u64 = 0;

/// The longest single wait: `epoll_pwait(2)` takes an `int` of milliseconds
/// (about 24.8 days). Longer timeouts are waited for in several steps rather
/// than handed to rustix, which would fail with `EINVAL` (libc backend) or
/// try `epoll_pwait2(2)`: `ENOSYS` before Linux 5.11, and fatal under some
/// seccomp filters.
const MAX_WAIT: Duration = Duration::from_millis(i32::MAX as u64);

/// Python's `selectors.EpollSelector`: a [`Selector`] on Linux's
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
/// Its [`waker`](Selector::waker) is an `eventfd(2)` in the interest list
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
/// rebuilds its interest list in a fresh epoll instance under the same fd
/// number; the `select` that found it may return early with nothing, as on a
/// signal.
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
pub struct EpollSelector<T = ()> {
    epoll: OwnedFd,
    map: SelectorMap<T>,
    buffer: WaitBuffer,
    wake: Option<(WakeSource, Waker)>,
}

impl<T> EpollSelector<T> {
    /// `epoll_create1(EPOLL_CLOEXEC)`—Creates an empty selector.
    ///
    /// # Errors
    ///
    /// If the kernel cannot create an epoll instance (`EMFILE`, `ENFILE`,
    /// `ENOMEM`; `ENOSYS` or `EPERM` in some sandboxes).
    ///
    /// # References
    ///  - [Linux]
    ///
    /// [Linux]: https://man7.org/linux/man-pages/man2/epoll_create1.2.html
    pub fn new() -> io::Result<Self> {
        Ok(EpollSelector {
            epoll: epoll::create(CreateFlags::CLOEXEC)?,
            map: SelectorMap::new(),
            buffer: WaitBuffer::new(),
            wake: None,
        })
    }

    /// [`Selector::waker`] on the self-pipe, as where eventfd is refused.
    #[cfg(test)]
    pub(crate) fn pipe_waker(&mut self) -> io::Result<Waker> {
        assert!(self.wake.is_none());
        self.install_waker(WakeSource::pipe()?)
    }

    /// Adds the waker's fd to the interest list and keeps it.
    fn install_waker(&mut self, (source, waker): (WakeSource, Waker)) -> io::Result<Waker> {
        add_wake(self.epoll.as_fd(), source.fd())?;
        self.buffer.reserve_for(self.map.len() + 1);
        self.wake = Some((source, waker.clone()));
        Ok(waker)
    }

    /// How many events one wait may return: one per registration, plus the
    /// waker's.
    fn wait_room(&self) -> usize {
        self.map.len() + usize::from(self.wake.is_some())
    }

    /// Replaces the epoll instance with a fresh one holding exactly the
    /// registrations of the map, under the same fd number, which drops any
    /// orphaned file description from the interest list.
    fn rebuild(&mut self) -> Result<()> {
        let fresh = epoll::create(CreateFlags::CLOEXEC)
            .map_err(|e| Error::os_general("epoll_create1", e))?;
        for key in &self.map {
            let tag = self.map.tag(key.fd).unwrap_or(0);
            // Any error but exhaustion (EBADF, or EPERM for a number reused
            // by a regular file) means the fd was closed behind our back:
            // there is nothing left to watch, and `unregister` will still
            // succeed. Out of memory or of `max_user_watches`: keep the old
            // set and report it.
            if let Err(e @ (Errno::NOMEM | Errno::NOSPC)) =
                add(fresh.as_fd(), key.fd, key.events, tag)
            {
                return Err(Error::os("epoll_ctl(EPOLL_CTL_ADD)", key.fd, e));
            }
        }
        if let Some((source, _)) = &self.wake {
            add_wake(fresh.as_fd(), source.fd())
                .map_err(|e| Error::os("epoll_ctl(EPOLL_CTL_ADD)", source.fd(), e))?;
        }
        replace_fd(&fresh, &mut self.epoll)
    }
}

impl<T> EpollSelector<T> {
    /// Everything of `select_into` but the idle poll: reports the `waited`
    /// events the hot path's wait got, if any, then waits on as needed.
    #[inline(never)]
    fn select_slow(
        &mut self,
        mut timeout: Option<Duration>,
        ready: &mut Vec<Ready<T>>,
        mut waited: Option<usize>,
    ) -> Result<usize>
    where
        T: Clone,
    {
        loop {
            // One wait is at most MAX_WAIT (an `int` of milliseconds); the
            // loop waits out the rest.
            let (wait, rest) = match timeout {
                Some(t) if t > MAX_WAIT => (Some(MAX_WAIT), Some(t - MAX_WAIT)),
                t => (t, None),
            };
            let n = match waited.take() {
                Some(n) => n,
                None => match self.buffer.wait(&self.epoll, wait) {
                    Ok(n) => n,
                    Err(Errno::INTR) => return Ok(0),
                    Err(e) => return Err(wait_failed(e)),
                },
            };
            let Collected { orphans, woken } = collect(&self.map, self.buffer.events(n), ready);
            if woken || orphans {
                match self.recover(woken, orphans, !ready.is_empty(), timeout)? {
                    Some(next) => timeout = next,
                    None => return Ok(ready.len()),
                }
            } else if !ready.is_empty() || rest.is_none() {
                return Ok(ready.len());
            } else {
                timeout = rest;
            }
        }
    }

    /// After a wait that saw the waker or an orphan: drains the one,
    /// rebuilds without the other, and says what `select_into` does next:
    /// return (`None`) or wait again for the given timeout.
    #[cold]
    fn recover(
        &mut self,
        woken: bool,
        orphans: bool,
        found: bool,
        timeout: Option<Duration>,
    ) -> Result<Option<Option<Duration>>> {
        if woken {
            if let Some((source, _)) = &self.wake {
                source
                    .drain()
                    .map_err(|e| Error::os("read", source.fd(), e))?;
            }
        }
        if orphans {
            self.rebuild()?;
        }
        if woken || found {
            return Ok(None);
        }
        // Only orphans woke us. Blocking: wait again. Otherwise they may have
        // filled the buffer and hidden live events; the rebuilt list has no
        // orphan, so look once more without waiting rather than report
        // nothing.
        Ok(Some(timeout.map(|_| Duration::ZERO)))
    }
}

impl<T> Selector<T> for EpollSelector<T> {
    fn register<F: FileObject>(
        &mut self,
        fileobj: F,
        events: Events,
        data: T,
    ) -> Result<&SelectorKey<T>> {
        let fd = fileobj.fileno();
        self.map.check_vacant(fd, events)?;
        // A new registration of this fd, so a new tag: see `get_tagged`.
        let tag = self.map.next_tag();
        add(self.epoll.as_fd(), fd, events, tag)
            .map_err(|e| Error::os("epoll_ctl(EPOLL_CTL_ADD)", fd, e))?;
        self.buffer.reserve_for(self.wait_room() + 1);
        Ok(self.map.insert(fd, events, data))
    }

    fn unregister<F: FileObject>(&mut self, fileobj: F) -> Result<SelectorKey<T>> {
        let fd = fileobj.fileno();
        self.map.key(fd)?;
        match delete(self.epoll.as_fd(), fd) {
            // EBADF: the fd was closed behind our back (the kernel dropped
            // it, unless a dup keeps the description alive: then its events
            // are orphans, filtered by tag). ENOENT: closed, and the number
            // reused by a file we never added.
            Ok(()) | Err(Errno::BADF) | Err(Errno::NOENT) => {}
            Err(e) => return Err(Error::os("epoll_ctl(EPOLL_CTL_DEL)", fd, e)),
        }
        self.map
            .remove(fd)
            .map(|(key, _)| key)
            .ok_or(Error::NotRegistered { fd })
    }

    fn modify<F: FileObject>(
        &mut self,
        fileobj: F,
        events: Events,
        data: T,
    ) -> Result<&SelectorKey<T>> {
        let fd = fileobj.fileno();
        let current = self.map.check_modify(fd, events)?;
        if current != events {
            let tag = self.map.tag(fd).unwrap_or(0);
            if let Err(e) = modify(self.epoll.as_fd(), fd, events, tag) {
                // As CPython: a failed modify unregisters, so that map and
                // kernel agree. The DEL fails too if the fd is gone; fine.
                let _ = delete(self.epoll.as_fd(), fd);
                self.map.remove(fd);
                return Err(Error::os("epoll_ctl(EPOLL_CTL_MOD)", fd, e));
            }
        }
        Ok(self.map.update(fd, events, data))
    }

    fn select_into(&mut self, timeout: Option<Duration>, ready: &mut Vec<Ready<T>>) -> Result<usize>
    where
        T: Clone,
    {
        // The hot path, kept small: one wait in whole milliseconds that
        // finds nothing (an idle poll), then no memory touched but `ready`'s
        // length. Events, wakes, orphans, fractions of a millisecond and
        // waits longer than one call go out of line.
        if is_one_plain_wait(timeout) {
            let waited = self.buffer.wait_millis(&self.epoll, timeout);
            ready.clear();
            return match waited {
                Ok(0) | Err(Errno::INTR) => Ok(0),
                Ok(n) => self.select_slow(timeout, ready, Some(n)),
                Err(e) => Err(wait_failed(e)),
            };
        }
        ready.clear();
        self.select_slow(timeout, ready, None)
    }

    /// An eventfd (a socket pair where the kernel refuses eventfd), watched
    /// with event data 0.
    fn waker(&mut self) -> io::Result<Waker> {
        match &self.wake {
            Some((_, waker)) => Ok(waker.clone()),
            None => self.install_waker(WakeSource::new()?),
        }
    }

    fn get_map(&self) -> &SelectorMap<T> {
        &self.map
    }

    /// Closes the epoll fd. Closing an epoll instance cannot fail usefully
    /// (the kernel just drops it), so this always returns `Ok`.
    fn close(self) -> io::Result<()> {
        drop(self);
        Ok(())
    }
}

impl<T> AsFd for EpollSelector<T> {
    /// The epoll fd: Python's `EpollSelector.fileno()`.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.epoll.as_fd()
    }
}

impl<T> AsRawFd for EpollSelector<T> {
    /// The epoll fd: Python's `EpollSelector.fileno()`.
    fn as_raw_fd(&self) -> RawFd {
        self.epoll.as_raw_fd()
    }
}

impl<T: fmt::Debug> fmt::Debug for EpollSelector<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EpollSelector")
            .field("epoll", &self.epoll.as_raw_fd())
            .field("map", &self.map)
            .field("wait_capacity", &self.buffer.capacity())
            .field("waker", &self.wake.as_ref().map(|(source, _)| source))
            .finish()
    }
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
fn wait_failed(e: Errno) -> Error {
    Error::os_general("epoll_wait", e)
}

/// What one wait found besides ready registrations.
struct Collected {
    /// An event belonged to no live registration (see [`EpollSelector`]).
    orphans: bool,
    /// The waker's fd is readable.
    woken: bool,
}

/// Copies the live events of one wait into `ready`.
fn collect<T: Clone>(
    map: &SelectorMap<T>,
    events: &[epoll::Event],
    ready: &mut Vec<Ready<T>>,
) -> Collected {
    let mut found = Collected {
        orphans: false,
        woken: false,
    };
    for &event in events {
        if event.data.u64() == WAKE_DATA {
            found.woken = true;
            continue;
        }
        let (fd, tag) = decode(event.data);
        match map.get_tagged(fd, tag) {
            Some(key) => push_ready(ready, key, readiness(key.events, event.flags)),
            None => found.orphans = true,
        }
    }
    found
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
    Events::ready(
        registered,
        flags.contains(EventFlags::IN),
        flags.contains(EventFlags::OUT),
        flags.bits() & !plain.bits() != 0,
    )
}

/// Makes `target` name the same epoll instance as `fresh`, close-on-exec.
#[cfg(target_os = "linux")]
fn replace_fd(fresh: &OwnedFd, target: &mut OwnedFd) -> Result<()> {
    rustix::io::dup3(fresh, target, rustix::io::DupFlags::CLOEXEC)
        .map_err(|e| Error::os_general("dup3", e))
}

/// Makes `target` name the same epoll instance as `fresh`, close-on-exec.
/// rustix has no `dup3` flags on Android, so this takes two calls.
#[cfg(target_os = "android")]
fn replace_fd(fresh: &OwnedFd, target: &mut OwnedFd) -> Result<()> {
    rustix::io::dup2(fresh, target).map_err(|e| Error::os_general("dup2", e))?;
    rustix::io::fcntl_setfd(&*target, rustix::io::FdFlags::CLOEXEC)
        .map_err(|e| Error::os_general("fcntl(F_SETFD)", e))
}

/// `epoll_ctl(EPOLL_CTL_ADD)` on a registered fd number.
#[inline]
fn add(epoll: BorrowedFd<'_>, fd: RawFd, events: Events, tag: u32) -> rustix::io::Result<()> {
    // SAFETY: `fd` is not negative (the map checked it). The borrow lasts for
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
