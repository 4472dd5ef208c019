//! The waker's fd: an eventfd, or a socket pair where eventfd is refused.

use std::fmt;
use std::io;
use std::os::unix::io::{AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;

use rustix::event::{eventfd, EventfdFlags};
use rustix::io::Errno;
use selectors_core::backend::{self, renumber_avoiding, Wake, WakePipe};
use selectors_core::Waker;

/// The waker: an `eventfd(2)` counter (a wake adds 1, a drain reads and
/// zeroes it), or a socket pair where eventfd is refused: some seccomp
/// sandboxes (`EPERM`, `ENOSYS`), kernels built without it (`ENOSYS`), or
/// `EINVAL` for flags older kernels lack. Returns it and the fd to watch,
/// on no number `taken` claims (see [`renumber_avoiding`]).
pub(crate) fn new(taken: impl Fn(RawFd) -> bool) -> io::Result<(Waker, RawFd)> {
    match EventFd::new() {
        Ok(efd) => {
            let efd = EventFd(renumber_avoiding(efd.0, taken)?);
            let fd = efd.0.as_raw_fd();
            Ok((backend::waker(Arc::new(efd)), fd))
        }
        Err(Errno::NOSYS | Errno::PERM | Errno::INVAL) => pipe(taken),
        Err(e) => Err(e.into()),
    }
}

/// The fallback, also for tests.
pub(crate) fn pipe(taken: impl Fn(RawFd) -> bool) -> io::Result<(Waker, RawFd)> {
    let pipe = Arc::new(WakePipe::avoiding(taken)?);
    let fd = pipe.fd();
    Ok((backend::waker(pipe), fd))
}

/// An `eventfd(2)` counter, non-blocking and close-on-exec.
pub(crate) struct EventFd(OwnedFd);

impl EventFd {
    fn new() -> rustix::io::Result<EventFd> {
        eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK).map(EventFd)
    }
}

impl Wake for EventFd {
    /// Reads the counter, which zeroes it; `EAGAIN` means it was zero.
    fn drain(&self) -> io::Result<()> {
        let mut buf = [0u8; 8];
        loop {
            return match rustix::io::read(&self.0, &mut buf) {
                Ok(_) | Err(Errno::AGAIN) => Ok(()),
                Err(Errno::INTR) => continue,
                Err(e) => Err(e.into()),
            };
        }
    }

    fn wake(&self) -> io::Result<()> {
        loop {
            return match rustix::io::write(&self.0, &1u64.to_ne_bytes()) {
                // EAGAIN: the counter is about to overflow, so very much
                // pending.
                Ok(_) | Err(Errno::AGAIN) => Ok(()),
                Err(Errno::INTR) => continue,
                Err(e) => Err(e.into()),
            };
        }
    }
}

impl fmt::Debug for EventFd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EventFd").field(&self.0.as_raw_fd()).finish()
    }
}
