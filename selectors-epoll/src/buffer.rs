//! The buffer `epoll_wait` fills, kept between calls, and the wait itself.

use rustix::event::epoll::{self, Event};
use rustix::event::Timespec;
use std::os::unix::io::AsFd;
use std::time::Duration;

/// Room for the events of one `epoll_wait`, reused by every `select`.
///
/// The events are kept initialized (zeroed when the buffer grows), so the
/// kernel writes into a plain slice and a wait stores nothing in the buffer
/// itself: an idle poll touches no memory of ours after the system call.
/// Its length only grows, and is kept at least the number of registered fds,
/// so one call can report every fd and a steady-state `select` never
/// allocates.
pub(crate) struct WaitBuffer(Vec<Event>);

// SAFETY: `Event` is `!Send + !Sync` only because its data union may hold a
// pointer. This buffer holds only zeroed events and events the kernel copied
// out of the selector's interest list, whose data are plain `u64`s
// (`new_u64`), never a pointer; there is nothing thread-bound in it.
unsafe impl Send for WaitBuffer {}
// SAFETY: as above; shared references only read the length.
unsafe impl Sync for WaitBuffer {}

/// What the buffer holds where the kernel has written nothing yet.
const EMPTY: Event = Event {
    flags: epoll::EventFlags::empty(),
    data: epoll::EventData::new_u64(0),
};

impl WaitBuffer {
    /// A buffer with room for one event (`epoll_wait` refuses zero).
    pub(crate) fn new() -> Self {
        WaitBuffer(vec![EMPTY])
    }

    /// Heap bytes held, for memory accounting.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.0.capacity() * std::mem::size_of::<Event>()
    }

    /// How many events one wait can return.
    pub(crate) fn capacity(&self) -> usize {
        self.0.len()
    }

    /// Grows the buffer, if needed, so one wait can return `registered`
    /// events, growing by an eighth (see `selectors_core::reserve_lean`).
    #[inline]
    pub(crate) fn reserve_for(&mut self, registered: usize) {
        if registered > self.0.len() {
            self.grow(registered);
        }
    }

    /// The growth itself, out of line: `register` rarely needs it.
    #[cold]
    fn grow(&mut self, registered: usize) {
        selectors_core::backend::reserve_lean(&mut self.0, registered);
        self.0.resize(self.0.capacity(), EMPTY);
    }

    /// The first `n` events, as the last wait returned them.
    pub(crate) fn events(&self, n: usize) -> &[Event] {
        &self.0[..n]
    }

    /// Waits on `epoll` for at most `timeout` (which must fit an `int` of
    /// milliseconds) and returns how many events the kernel wrote.
    ///
    /// A timeout with a fraction of a millisecond goes to `epoll_pwait2(2)`
    /// (nanoseconds) where the kernel has it; anything else, and every wait
    /// on kernels before 5.11, goes to [`wait_millis`](Self::wait_millis).
    pub(crate) fn wait(
        &mut self,
        epoll: impl AsFd,
        timeout: Option<Duration>,
    ) -> rustix::io::Result<usize> {
        #[cfg(epoll_pwait2)]
        if let Some(t) = timeout {
            if !is_whole_millis(t) {
                if let Some(result) = pwait2::wait(epoll.as_fd(), &mut self.0, t) {
                    return result;
                }
            }
        }
        self.wait_millis(epoll, timeout)
    }

    /// Waits with rustix's `epoll_pwait`, in whole milliseconds (rounded up,
    /// so a positive timeout never becomes a busy poll), and returns how
    /// many events the kernel wrote. Whole milliseconds lose nothing there:
    /// the kernel arms the same timer either way.
    #[inline]
    pub(crate) fn wait_millis(
        &mut self,
        epoll: impl AsFd,
        timeout: Option<Duration>,
    ) -> rustix::io::Result<usize> {
        let timeout = timeout.map(timespec);
        epoll::wait(epoll, &mut self.0[..], timeout.as_ref())
    }
}

/// Whether `t` is a whole number of milliseconds, which `epoll_pwait` takes
/// as it is.
#[inline]
pub(crate) fn is_whole_millis(t: Duration) -> bool {
    t.subsec_nanos() % 1_000_000 == 0
}

/// A timeout as rustix takes it; rustix rounds it up to whole milliseconds
/// for `epoll_pwait`, so a positive timeout never becomes a busy poll. The
/// caller keeps it within an `int` of milliseconds: it fits.
#[inline]
fn timespec(t: Duration) -> Timespec {
    Timespec::try_from(t).unwrap_or(Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    })
}

/// `epoll_pwait2(2)`, called directly: rustix only calls it when built for
/// Linux 5.11 and later (its `linux_5_11` feature), which would make every
/// wait fail on older kernels. Here a run-time probe decides: the first
/// call that needs it tries it, and `ENOSYS` (before 5.11) or `EPERM` (a
/// seccomp filter that denies it, as Docker's once did) turns it off for
/// the life of the process.
///
/// Only waits with a fraction of a millisecond make this call, so a program
/// that never asks for one never issues it (a seccomp filter that *kills*
/// on unknown system calls is then no concern for it).
#[cfg(epoll_pwait2)]
mod pwait2 {
    use std::os::unix::io::{AsRawFd, BorrowedFd};
    use std::ptr;
    use std::sync::atomic::{AtomicU8, Ordering};
    use std::time::Duration;

    use rustix::event::epoll::Event;
    use rustix::io::Errno;

    // The kernel writes `struct epoll_event`s into rustix's `Event`s.
    static_assertions::assert_eq_size!(Event, libc::epoll_event);
    static_assertions::assert_eq_align!(Event, libc::epoll_event);

    pub(crate) const UNKNOWN: u8 = 0;
    pub(crate) const YES: u8 = 1;
    pub(crate) const NO: u8 = 2;

    /// Whether the kernel has `epoll_pwait2`: [`UNKNOWN`] until the first
    /// call, then [`YES`] or [`NO`].
    pub(crate) static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);

    /// The kernel's `struct __kernel_timespec`: 64-bit fields on every
    /// architecture, 32-bit ones included (unlike `libc::timespec`).
    #[repr(C)]
    struct KernelTimespec {
        tv_sec: i64,
        tv_nsec: i64,
    }

    /// Waits with `epoll_pwait2` into `buf` and returns how many events the
    /// kernel wrote, or `None` if this kernel lacks it (then the caller
    /// waits another way).
    pub(super) fn wait(
        epoll: BorrowedFd<'_>,
        buf: &mut [Event],
        timeout: Duration,
    ) -> Option<rustix::io::Result<usize>> {
        if STATE.load(Ordering::Relaxed) == NO {
            return None;
        }
        let ts = KernelTimespec {
            // The caller bounds timeouts to an `int` of milliseconds.
            tv_sec: timeout.as_secs() as i64,
            tv_nsec: i64::from(timeout.subsec_nanos()),
        };
        let max_events = libc::c_int::try_from(buf.len()).unwrap_or(libc::c_int::MAX);
        // SAFETY: `epoll` is an open epoll fd (borrowed for the call). The
        // kernel writes at most `max_events` `struct epoll_event`s, each the
        // size and alignment of an `Event` (asserted above), into `buf`,
        // which holds at least that many; any bit pattern is a valid `Event`
        // (flags and a `u64`). `ts` lives across the call and has the layout
        // the kernel reads. A null signal mask makes the size argument
        // unused.
        let n = unsafe {
            libc::syscall(
                libc::SYS_epoll_pwait2,
                epoll.as_raw_fd(),
                buf.as_mut_ptr().cast::<libc::epoll_event>(),
                max_events,
                &ts as *const KernelTimespec,
                ptr::null::<libc::sigset_t>(),
                0usize,
            )
        };
        if n < 0 {
            let errno =
                Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::INVAL);
            if matches!(errno, Errno::NOSYS | Errno::PERM) {
                STATE.store(NO, Ordering::Relaxed);
                return None;
            }
            return Some(Err(errno));
        }
        if STATE.load(Ordering::Relaxed) == UNKNOWN {
            STATE.store(YES, Ordering::Relaxed);
        }
        Some(Ok(n as usize))
    }
}

#[cfg(all(test, epoll_pwait2))]
pub(crate) use pwait2::{NO as PWAIT2_NO, STATE as PWAIT2_STATE, UNKNOWN as PWAIT2_UNKNOWN};
