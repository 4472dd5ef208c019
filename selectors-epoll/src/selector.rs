//! `EpollSelector`: the `Selector` trait on one epoll instance.

use std::fmt;
use std::io;
use std::os::unix::io::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use rustix::event::epoll::{self, CreateFlags, EventData, EventFlags};
use rustix::event::Timespec;
use rustix::io::{DupFlags, Errno};
use selectors_core::timeout;
use selectors_core::{
    push_ready, Error, Events, FileObject, Ready, Result, Selector, SelectorKey, SelectorMap,
};

use crate::buffer::WaitBuffer;

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
        })
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
        rustix::io::dup3(&fresh, &mut self.epoll, DupFlags::CLOEXEC)
            .map_err(|e| Error::os_general("dup3", e))
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
        self.buffer.reserve_for(self.map.len() + 1);
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
        ready.clear();
        let mut timeout = timeout::clamp(timeout);
        loop {
            let wait = timeout.map(|t| timespec(t.min(MAX_WAIT)));
            // rustix rounds a timeout up to whole milliseconds for
            // `epoll_pwait`, so a positive timeout never becomes a busy poll.
            let events = match self.buffer.wait(&self.epoll, wait.as_ref()) {
                Ok(events) => events,
                Err(Errno::INTR) => return Ok(0),
                Err(e) => return Err(Error::os_general("epoll_wait", e)),
            };
            let orphans = collect(&self.map, events, ready);
            if orphans {
                self.rebuild()?;
            }
            if !ready.is_empty() {
                return Ok(ready.len());
            }
            timeout = match timeout {
                // Blocking: the orphans woke us for nothing; wait again.
                None if orphans => None,
                // A long timeout ran its first MAX_WAIT: wait for the rest.
                Some(t) if !orphans && t > MAX_WAIT => Some(t - MAX_WAIT),
                _ => return Ok(0),
            };
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
            .finish()
    }
}

/// Copies the live events of one wait into `ready`; returns whether any
/// event belonged to no live registration (an orphan: see
/// [`EpollSelector`]).
fn collect<T: Clone>(
    map: &SelectorMap<T>,
    events: &[epoll::Event],
    ready: &mut Vec<Ready<T>>,
) -> bool {
    let mut orphans = false;
    for &event in events {
        let (fd, tag) = decode(event.data);
        match map.get_tagged(fd, tag) {
            Some(key) => push_ready(ready, key, readiness(key.events, event.flags)),
            None => orphans = true,
        }
    }
    orphans
}

/// The event data of a registration: its tag in the high half, its fd in the
/// low half (libev's layout).
fn encode(fd: RawFd, tag: u32) -> EventData {
    EventData::new_u64((u64::from(tag) << 32) | u64::from(fd as u32))
}

/// The fd and tag of an event, as [`encode`] stored them.
fn decode(data: EventData) -> (RawFd, u32) {
    let data = data.u64();
    (data as u32 as RawFd, (data >> 32) as u32)
}

/// What to ask epoll for. Level-triggered: no `EPOLLET`. `EPOLLERR` and
/// `EPOLLHUP` are always reported.
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
pub(crate) fn readiness(registered: Events, flags: EventFlags) -> Events {
    let plain = EventFlags::IN | EventFlags::OUT;
    Events::ready(
        registered,
        flags.contains(EventFlags::IN),
        flags.contains(EventFlags::OUT),
        flags.bits() & !plain.bits() != 0,
    )
}

fn timespec(t: Duration) -> Timespec {
    Timespec {
        // At most `MAX_WAIT`: it fits.
        tv_sec: t.as_secs() as _,
        tv_nsec: t.subsec_nanos() as _,
    }
}

/// `epoll_ctl(EPOLL_CTL_ADD)` on a registered fd number.
fn add(epoll: BorrowedFd<'_>, fd: RawFd, events: Events, tag: u32) -> rustix::io::Result<()> {
    // SAFETY: `fd` is not negative (the map checked it). The borrow lasts for
    // this one `epoll_ctl`, which reports a closed fd as `EBADF` rather than
    // touching it; the number is the caller's own, as in Python's API.
    let source = unsafe { BorrowedFd::borrow_raw(fd) };
    epoll::add(epoll, source, encode(fd, tag), interest(events))
}

/// `epoll_ctl(EPOLL_CTL_MOD)` on a registered fd number.
fn modify(epoll: BorrowedFd<'_>, fd: RawFd, events: Events, tag: u32) -> rustix::io::Result<()> {
    // SAFETY: as in `add`.
    let source = unsafe { BorrowedFd::borrow_raw(fd) };
    epoll::modify(epoll, source, encode(fd, tag), interest(events))
}

/// `epoll_ctl(EPOLL_CTL_DEL)` on a registered fd number.
fn delete(epoll: BorrowedFd<'_>, fd: RawFd) -> rustix::io::Result<()> {
    // SAFETY: as in `add`.
    let source = unsafe { BorrowedFd::borrow_raw(fd) };
    epoll::delete(epoll, source)
}
