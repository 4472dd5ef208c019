//! The waker's fd: an eventfd, or a socket pair where eventfd is refused.

use std::fmt;
use std::io;
use std::os::unix::io::{AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;

use rustix::event::{eventfd, EventfdFlags};
use rustix::io::Errno;
use selectors_core::{Wake, WakePipe, Waker};

/// What the epoll instance watches for wakes (with event data 0, which no
/// registration has: their tags are never 0).
pub(crate) enum WakeSource {
    /// One fd, a counter: a wake adds 1, a drain reads and zeroes it.
    EventFd(Arc<EventFd>),
    /// Where `eventfd(2)` is refused: some seccomp sandboxes (`EPERM`,
    /// `ENOSYS`), kernels built without it (`ENOSYS`), or `EINVAL` for flags
    /// older kernels lack.
    Pipe(Arc<WakePipe>),
}

impl WakeSource {
    /// An eventfd, or else a socket pair.
    pub(crate) fn new() -> io::Result<(WakeSource, Waker)> {
        match EventFd::new() {
            Ok(efd) => {
                let efd = Arc::new(efd);
                Ok((WakeSource::EventFd(efd.clone()), Waker::new(efd)))
            }
            Err(Errno::NOSYS | Errno::PERM | Errno::INVAL) => Self::pipe(),
            Err(e) => Err(e.into()),
        }
    }

    /// The fallback, also for tests.
    pub(crate) fn pipe() -> io::Result<(WakeSource, Waker)> {
        let pipe = Arc::new(WakePipe::new()?);
        Ok((WakeSource::Pipe(pipe.clone()), Waker::new(pipe)))
    }

    /// The fd to watch for readability.
    pub(crate) fn fd(&self) -> RawFd {
        match self {
            WakeSource::EventFd(efd) => efd.0.as_raw_fd(),
            WakeSource::Pipe(pipe) => pipe.fd(),
        }
    }

    /// Consumes every pending wake, so the fd is no longer readable.
    pub(crate) fn drain(&self) -> io::Result<()> {
        match self {
            WakeSource::EventFd(efd) => efd.drain().map_err(io::Error::from),
            WakeSource::Pipe(pipe) => pipe.drain().map(drop),
        }
    }
}

impl fmt::Debug for WakeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WakeSource::EventFd(efd) => efd.fmt(f),
            WakeSource::Pipe(pipe) => pipe.fmt(f),
        }
    }
}

/// An `eventfd(2)` counter, non-blocking and close-on-exec.
pub(crate) struct EventFd(OwnedFd);

impl EventFd {
    fn new() -> rustix::io::Result<EventFd> {
        eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK).map(EventFd)
    }

    /// Reads the counter, which zeroes it; `EAGAIN` means it was zero.
    fn drain(&self) -> rustix::io::Result<()> {
        let mut buf = [0u8; 8];
        loop {
            return match rustix::io::read(&self.0, &mut buf) {
                Ok(_) | Err(Errno::AGAIN) => Ok(()),
                Err(Errno::INTR) => continue,
                Err(e) => Err(e),
            };
        }
    }
}

impl Wake for EventFd {
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
