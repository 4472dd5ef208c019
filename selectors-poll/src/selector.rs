//! `PollSelector`: the engine on `poll(2)`. The adapter keeps the `pollfd`
//! array between calls, parallel to the registrations (ARCHITECTURE.md).

use std::io;
use std::os::unix::io::{BorrowedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use selectors_core::backend::{
    self, Adapter, Collect, Engine, PollArray, Refused, Sink, Slot, Timeout, Wait, Waited, WakePipe,
};
use selectors_core::{Events, SelectorMap, Waker};

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
/// Its [`waker`](selectors_core::Selector::waker) is a socket pair, whose
/// read end takes the first `pollfd` once created. After `fork(2)` the
/// child may use the selector as it is, but its waker's socket pair is
/// shared with the parent's:
/// [`after_fork_in_child`](selectors_core::Selector::after_fork_in_child)
/// gives it one of its own.
pub type PollSelector<T = ()> = Engine<Poll, T>;

/// The kernel adapter of [`PollSelector`]: the `pollfd` array.
#[derive(Debug, Default)]
pub struct Poll {
    fds: PollArray<PollFd<'static>>,
}

impl Poll {
    /// Asserts that the `pollfd` array is parallel to `map`'s keys.
    #[cfg(test)]
    pub(crate) fn assert_parallel<T>(&self, map: &SelectorMap<T>) {
        use std::os::unix::io::{AsFd, AsRawFd};
        assert_eq!(self.fds.registered().len(), map.len());
        for (entry, (slot, events)) in self.fds.registered().iter().zip(backend::slots(map)) {
            let pos = slot.position;
            assert_eq!(entry.as_fd().as_raw_fd(), slot.fd, "position {pos}");
            // PollFd shows its `events` only through Debug.
            let mut entry = entry.clone();
            entry.clear_revents();
            let expected = pollfd(slot.fd, events);
            assert_eq!(
                format!("{entry:?}"),
                format!("{expected:?}"),
                "fd {}",
                slot.fd
            );
        }
    }
}

/// `register`, `modify` and `unregister` only change the array: no system
/// call, nothing the kernel could refuse. `select` is one `poll` (`ppoll`
/// where rustix has it, so Linux and the FreeBSDs honour nanoseconds;
/// whole milliseconds rounded up elsewhere).
impl Adapter for Poll {
    const NAME: &'static str = "PollSelector";

    /// Nothing to create: never fails.
    fn open() -> io::Result<Self> {
        Ok(Poll::default())
    }

    #[inline]
    fn add(&mut self, slot: Slot, events: Events) -> Result<(), Refused> {
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

    #[inline]
    fn wait<T, C: Collect<T>>(&mut self, timeout: Timeout, sink: &mut Sink<'_, T, C>) -> Wait {
        let timeout = timeout.map(timespec);
        match poll(self.fds.as_mut_slice(), timeout.as_ref()) {
            // Nothing ready (the idle poll): no array to walk.
            Ok(0) => Ok(Waited::Nothing),
            Ok(n) => {
                self.fds.collect(n, sink, ready);
                Ok(Waited::Something)
            }
            // `ENOMEM`, or `EINVAL` with more entries than `RLIMIT_NOFILE`.
            Err(e) => Err(Refused::new("poll", e)),
        }
    }

    fn install_waker<T>(&mut self, map: &SelectorMap<T>) -> io::Result<(Waker, Option<RawFd>)> {
        // Never on the number of a registered fd closed behind our back.
        let pipe = Arc::new(WakePipe::avoiding(|fd| map.contains(fd))?);
        let fd = pipe.fd();
        self.fds.set_waker(pollfd(fd, Events::READ));
        Ok((backend::waker(pipe), Some(fd)))
    }

    /// Only the waker's socket pair is shared with the parent: drop its
    /// entry (the engine installs a new one); the array stays as it is.
    fn after_fork<T>(&mut self, _: &SelectorMap<T>, _: Option<RawFd>) -> io::Result<()> {
        self.fds.remove_waker();
        Ok(())
    }

    fn heap_bytes(&self) -> usize {
        self.fds.heap_bytes()
    }
}

/// What a `pollfd` reports: POLLERR, POLLHUP and POLLNVAL (a fd closed
/// behind our back) count as READ and WRITE, as in CPython.
#[inline]
fn ready(entry: &PollFd<'_>) -> Option<Events> {
    let revents = entry.revents();
    if revents.is_empty() {
        return None;
    }
    let other = !(revents - (PollFlags::IN | PollFlags::OUT)).is_empty();
    Some(backend::readiness(
        revents.contains(PollFlags::IN),
        revents.contains(PollFlags::OUT),
        other,
    ))
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
    // SAFETY: `fd` is a registered one (the engine checked it is not
    // negative, so not the -1 niche `BorrowedFd` forbids) or the waker's,
    // open as long as the selector. The 'static borrow outlives the
    // caller's fd by design (Python's selectors hold bare numbers too), but
    // nothing ever does I/O through it: the selector only hands the number
    // to `poll(2)`, where a fd closed since shows up as `POLLNVAL` and a
    // reused number merely has its readiness queried.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    PollFd::from_borrowed_fd(fd, flags)
}
/// The longest timeout `poll` can take here. Rustix calls `ppoll` (a
/// `timespec`) where build.rs sets `ppoll`; elsewhere plain `poll` takes an `int` of
/// milliseconds and rustix rejects more with `EINVAL`, so clamp to that
/// (about 24.8 days: a longer wait returns empty, like a spurious wakeup).
#[cfg(ppoll)]
const MAX_POLL_TIMEOUT: Duration = backend::MAX_TIMEOUT;
#[cfg(not(ppoll))]
const MAX_POLL_TIMEOUT: Duration = Duration::from_millis(i32::MAX as u64);

/// A timeout as the `timespec` rustix takes, clamped to what `poll` can
/// wait.
#[inline]
fn timespec(timeout: Duration) -> Timespec {
    // At most 10^8 s (the engine clamps), so it fits every `time_t`.
    Timespec::try_from(timeout.min(MAX_POLL_TIMEOUT)).unwrap_or(Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    })
}
