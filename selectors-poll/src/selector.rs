//! `PollSelector`: the `Selector` trait on `poll(2)`.

use std::fmt;
use std::io;
use std::os::unix::io::{BorrowedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use rustix::event::{poll, Nsecs, PollFd, PollFlags, Secs, Timespec};
use rustix::io::Errno;
use selectors_core::{
    push_ready, Error, Events, FileObject, Ready, Result, Selector, SelectorKey, SelectorMap,
    WakePipe, Waker,
};

/// A selector on `poll(2)`: Python's `selectors.PollSelector`.
///
/// It keeps the `pollfd` array the kernel reads between calls, parallel to
/// the [`SelectorMap`]'s dense keys: `register` pushes one entry,
/// `unregister` swap-removes it (mirroring the map), `modify` rewrites its
/// `events` field in place. None of them makes a system call, and `select`
/// never rebuilds the array: it makes one `poll` call and walks the
/// entries, O(registered fds).
///
/// A fd closed without being unregistered shows up as `POLLNVAL`, which is
/// reported as ready (READ and WRITE, masked by the registration), as
/// CPython does; unregister it.
///
/// Its [`waker`](Selector::waker) is a [`WakePipe`], whose read end takes
/// the first `pollfd` once created.
pub struct PollSelector<T = ()> {
    map: SelectorMap<T>,
    /// `fds[i + base]` is the entry of `map.at(i)`; `fds[0]` is the waker's
    /// when there is one (`base` is 1).
    fds: Vec<PollFd<'static>>,
    wake: Option<(Arc<WakePipe>, Waker)>,
}

impl<T> PollSelector<T> {
    /// Creates an empty selector. It holds no kernel object, so this cannot
    /// fail; the `Result` matches the other backends.
    ///
    /// # Errors
    ///
    /// Never.
    pub fn new() -> io::Result<Self> {
        Ok(PollSelector {
            map: SelectorMap::new(),
            fds: Vec::new(),
            wake: None,
        })
    }

    /// Where the registrations' entries start in `fds`: after the waker's.
    #[inline]
    fn base(&self) -> usize {
        usize::from(self.wake.is_some())
    }

    /// Reports the `n` entries the last `poll` marked, draining the waker
    /// if it is one of them. Out of line, so the idle poll stays small.
    #[inline(never)]
    fn collect(&self, n: usize, ready: &mut Vec<Ready<T>>) -> Result<usize>
    where
        T: Clone,
    {
        let mut left = n;
        let base = self.base();
        if let Some((pipe, _)) = &self.wake {
            if !self.fds[0].revents().is_empty() {
                left -= 1;
                pipe.drain().map_err(|e| Error::os("read", pipe.fd(), e))?;
            }
        }
        // `poll` counts the entries with a nonzero `revents`; stop after the
        // last one instead of walking the whole array.
        for (pos, entry) in self.fds[base..].iter().enumerate() {
            if left == 0 {
                break;
            }
            let revents = entry.revents();
            if revents.is_empty() {
                continue;
            }
            left -= 1;
            let key = self.map.at(pos);
            let readable = revents.contains(PollFlags::IN);
            let writable = revents.contains(PollFlags::OUT);
            let other = !(revents - (PollFlags::IN | PollFlags::OUT)).is_empty();
            push_ready(
                ready,
                key,
                Events::ready(key.events, readable, writable, other),
            );
        }
        Ok(ready.len())
    }

    /// Heap bytes this selector holds (map and `pollfd` array), for memory
    /// accounting.
    pub fn heap_bytes(&self) -> usize {
        self.map.heap_bytes() + self.fds.capacity() * std::mem::size_of::<PollFd<'static>>()
    }

    /// Asserts that the `pollfd` array is parallel to the map's keys.
    #[cfg(test)]
    pub(crate) fn assert_parallel(&self) {
        use std::os::unix::io::{AsFd, AsRawFd};
        assert_eq!(self.fds.len(), self.map.len() + self.base());
        if let Some((pipe, _)) = &self.wake {
            assert_eq!(self.fds[0].as_fd().as_raw_fd(), pipe.fd());
        }
        for (pos, entry) in self.fds[self.base()..].iter().enumerate() {
            let key = self.map.at(pos);
            assert_eq!(entry.as_fd().as_raw_fd(), key.fd, "position {pos}");
            // PollFd shows its `events` only through Debug.
            let mut entry = entry.clone();
            entry.clear_revents();
            let expected = pollfd(key.fd, key.events);
            assert_eq!(
                format!("{entry:?}"),
                format!("{expected:?}"),
                "fd {}",
                key.fd
            );
        }
    }
}

impl<T> Selector<T> for PollSelector<T> {
    fn register<F: FileObject>(
        &mut self,
        fileobj: F,
        events: Events,
        data: T,
    ) -> Result<&SelectorKey<T>> {
        let fd = fileobj.fileno();
        self.map.check_vacant(fd, events)?;
        // The map puts the new key at position `len`, where this lands.
        let needed = self.fds.len() + 1;
        selectors_core::reserve_lean(&mut self.fds, needed);
        self.fds.push(pollfd(fd, events));
        Ok(self.map.insert(fd, events, data))
    }

    fn unregister<F: FileObject>(&mut self, fileobj: F) -> Result<SelectorKey<T>> {
        let fd = fileobj.fileno();
        self.map.key(fd)?;
        let (key, pos) = self
            .map
            .remove(fd)
            .expect("fd is registered: checked above");
        // The map moved its last key into `pos`; move its entry likewise.
        let base = self.base();
        self.fds.swap_remove(pos + base);
        Ok(key)
    }

    /// Changes the events and data of a registered fd by rewriting its
    /// `pollfd` in place: no system call, ever, so it cannot fail with
    /// [`Error::Os`].
    fn modify<F: FileObject>(
        &mut self,
        fileobj: F,
        events: Events,
        data: T,
    ) -> Result<&SelectorKey<T>> {
        let fd = fileobj.fileno();
        if self.map.check_modify(fd, events)? != events {
            let pos = self.map.position(fd).expect("fd is registered");
            let base = self.base();
            self.fds[pos + base] = pollfd(fd, events);
        }
        Ok(self.map.update(fd, events, data))
    }

    /// Waits with `poll(2)` (`ppoll` where rustix has it, so Linux and the
    /// FreeBSDs honour nanoseconds; whole milliseconds rounded up elsewhere)
    /// and reports each ready fd once, READ and WRITE merged.
    ///
    /// `POLLIN` is READ and `POLLOUT` is WRITE; any other condition
    /// (`POLLERR`, `POLLHUP`, `POLLNVAL` for a fd closed behind the
    /// selector's back) counts as both, masked by the registration, as in
    /// CPython.
    ///
    /// # Errors
    ///
    /// [`Error::Os`] if `poll` itself fails (`ENOMEM`, or `EINVAL` with more
    /// entries than `RLIMIT_NOFILE`).
    fn select_into(&mut self, timeout: Option<Duration>, ready: &mut Vec<Ready<T>>) -> Result<usize>
    where
        T: Clone,
    {
        let timeout = timeout.map(timespec);
        let result = poll(&mut self.fds, timeout.as_ref());
        ready.clear();
        match result {
            // Nothing ready (the idle poll): no array to walk.
            Ok(0) => Ok(0),
            Ok(n) => self.collect(n, ready),
            // A signal: return empty, as the spec says (CPython would retry).
            Err(Errno::INTR) => Ok(0),
            Err(err) => Err(Error::os_general("poll", err)),
        }
    }

    fn waker(&mut self) -> io::Result<Waker> {
        if let Some((_, waker)) = &self.wake {
            return Ok(waker.clone());
        }
        let pipe = Arc::new(WakePipe::new()?);
        let waker = Waker::new(pipe.clone());
        self.fds.insert(0, pollfd(pipe.fd(), Events::READ));
        self.wake = Some((pipe, waker.clone()));
        Ok(waker)
    }

    fn get_map(&self) -> &SelectorMap<T> {
        &self.map
    }

    /// Drops the selector: it owns no kernel object, so this cannot fail.
    fn close(self) -> io::Result<()> {
        Ok(())
    }
}

/// Shows the registered fds and their events, whatever `T` is.
impl<T> fmt::Debug for PollSelector<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollSelector")
            .field("fds", &self.map.debug_events())
            .finish()
    }
}

/// The `pollfd` for a registration.
#[inline]
fn pollfd(fd: RawFd, events: Events) -> PollFd<'static> {
    let mut flags = PollFlags::empty();
    if events.is_readable() {
        flags |= PollFlags::IN;
    }
    if events.is_writable() {
        flags |= PollFlags::OUT;
    }
    // SAFETY: `fd` passed `check_vacant` (or is the waker's, open as long as
    // the selector), so it is not negative and not the -1 niche `BorrowedFd`
    // forbids. The 'static borrow outlives the caller's
    // fd by design (Python's selectors hold bare numbers too), but nothing
    // ever does I/O through it: the selector only hands the number to
    // `poll(2)`, where a fd closed since shows up as `POLLNVAL` and a reused
    // number merely has its readiness queried.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    PollFd::from_borrowed_fd(fd, flags)
}

/// The longest timeout `poll` can take here. Rustix calls `ppoll` (a
/// `timespec`) on these platforms; elsewhere plain `poll` takes an `int` of
/// milliseconds and rustix rejects more with `EINVAL`, so clamp to that
/// (about 24.8 days: a longer wait returns empty, like a spurious wakeup).
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "fuchsia",
    target_os = "haiku",
    target_os = "hurd",
))]
const MAX_POLL_TIMEOUT: Duration = selectors_core::timeout::MAX_TIMEOUT;
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "fuchsia",
    target_os = "haiku",
    target_os = "hurd",
)))]
const MAX_POLL_TIMEOUT: Duration = Duration::from_millis(i32::MAX as u64);

/// A clamped timeout as the `timespec` rustix takes.
#[inline]
fn timespec(timeout: Duration) -> Timespec {
    let timeout = timeout.min(MAX_POLL_TIMEOUT);
    Timespec {
        // At most 10^8 s, so it fits every `time_t`.
        tv_sec: timeout.as_secs() as Secs,
        tv_nsec: Nsecs::from(timeout.subsec_nanos() as i32),
    }
}
