//! `Waker`: makes a blocked `select` return, from any thread.

use std::fmt;
use std::io::{self, Read, Write};
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;

/// Wakes one selector's blocked [`select`](crate::Selector::select) from any
/// thread: get one with [`Selector::waker`](crate::Selector::waker).
///
/// A wake makes the `select` in progress, or else the next one, return
/// promptly, with whatever is ready (possibly nothing). Wakes coalesce: many
/// [`wake`](Self::wake) calls before one `select` make that one return early,
/// and the `select` after it blocks as usual. The fd behind the waker is the
/// selector's own: it never shows up in `get_map` or in results.
///
/// A `Waker` is a cheap handle (one [`Arc`]): clone it into every thread that
/// needs it. It stays usable after its selector is gone; waking then does
/// nothing useful, but is no error.
///
/// ```
/// use selectors_core::Selector;
/// use std::thread;
/// use std::time::Duration;
///
/// /// Works with every backend.
/// fn wake_from_another_thread<S: Selector<()>>(sel: &mut S) -> std::io::Result<()> {
///     let waker = sel.waker()?;
///     let thread = thread::spawn(move || waker.wake());
///     // Returns once the other thread has called `wake`, not after an hour.
///     let ready = sel.select(Some(Duration::from_secs(3600)))?;
///     assert!(ready.is_empty());
///     thread.join().unwrap()
/// }
/// ```
#[derive(Clone)]
pub struct Waker {
    inner: Arc<dyn Wake>,
}

impl Waker {
    /// A waker that calls `inner.wake()`. For backend implementations: the
    /// backend keeps its own `Arc` to the same object to drain it.
    pub fn new<W: Wake + 'static>(inner: Arc<W>) -> Waker {
        Waker { inner }
    }

    /// Makes the selector's `select` in progress, or else its next one,
    /// return promptly. Never blocks; a wake already pending absorbs this
    /// one.
    ///
    /// # Errors
    ///
    /// Only if the kernel refuses the write for a reason other than a full
    /// buffer (which means a wake is pending: success).
    #[inline]
    pub fn wake(&self) -> io::Result<()> {
        self.inner.wake()
    }

    /// Whether `self` and `other` wake the same selector: true for clones,
    /// and for two calls of `waker()` on one selector.
    pub fn will_wake(&self, other: &Waker) -> bool {
        // Compare the data pointers only: vtable pointers of one type may
        // differ between codegen units.
        Arc::as_ptr(&self.inner) as *const u8 == Arc::as_ptr(&other.inner) as *const u8
    }
}

impl fmt::Debug for Waker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Waker").field(&self.inner).finish()
    }
}

/// What a [`Waker`] calls: for backend implementations.
///
/// The backend watches some fd for readability (an eventfd, the read end of
/// a [`WakePipe`], ...), and `wake` makes it readable. When a `select` sees
/// it readable, the backend drains it fully before returning, so that wakes
/// coalesce and the next `select` blocks.
pub trait Wake: Send + Sync + fmt::Debug {
    /// Makes the watched fd readable, without blocking. Already readable
    /// (a full buffer, a saturated counter) is success.
    ///
    /// # Errors
    ///
    /// Any other error of the write.
    fn wake(&self) -> io::Result<()>;
}

/// A self-wake channel on a Unix socket pair: the [`Wake`] of the poll and
/// select backends, and of any backend whose own mechanism the kernel
/// refuses.
///
/// [`wake`](Wake::wake) writes one byte to one end; the backend watches the
/// other, [`fd`](Self::fd), for readability and [`drain`](Self::drain)s it.
/// Both ends are non-blocking and close-on-exec, and both live as long as
/// the last `Arc` (selector or waker), so a wake after the selector is gone
/// never meets a closed peer (`EPIPE`, `SIGPIPE`): it fills the buffer, then
/// finds it full, which is success.
#[derive(Debug)]
pub struct WakePipe {
    read: UnixStream,
    write: UnixStream,
}

impl WakePipe {
    /// Creates the socket pair (`socketpair(2)`, close-on-exec by std).
    ///
    /// # Errors
    ///
    /// If the kernel refuses the socket pair (`EMFILE`, `ENFILE`) or the
    /// switch to non-blocking mode.
    pub fn new() -> io::Result<WakePipe> {
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        Ok(WakePipe { read, write })
    }

    /// The fd to watch for readability.
    pub fn fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    /// Reads every pending byte, so the fd is no longer readable; returns
    /// how many there were (how many wakes, at most, since the last drain).
    ///
    /// # Errors
    ///
    /// Any read error but "would block" (the end) and `EINTR` (retried).
    pub fn drain(&self) -> io::Result<usize> {
        let mut buf = [0u8; 256];
        let mut total = 0;
        loop {
            match (&self.read).read(&mut buf) {
                // EOF cannot happen while we hold the write end; stop anyway.
                Ok(0) => return Ok(total),
                Ok(n) => total += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(total),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl Wake for WakePipe {
    fn wake(&self) -> io::Result<()> {
        loop {
            return match (&self.write).write(&[1]) {
                Ok(_) => Ok(()),
                // The buffer is full of unread wakes: this one coalesces.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(
        miri,
        ignore = "Miri cannot make a socket non-blocking (ioctl FIONBIO)"
    )]
    fn pipe_wakes_coalesce_and_drain_fully() {
        let pipe = Arc::new(WakePipe::new().unwrap());
        let waker = Waker::new(pipe.clone());
        assert_eq!(pipe.drain().unwrap(), 0);
        for _ in 0..100 {
            waker.wake().unwrap();
        }
        assert_eq!(pipe.drain().unwrap(), 100);
        assert_eq!(pipe.drain().unwrap(), 0);
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "Miri cannot make a socket non-blocking (ioctl FIONBIO)"
    )]
    fn full_buffer_is_a_pending_wake() {
        let pipe = Arc::new(WakePipe::new().unwrap());
        let waker = Waker::new(pipe.clone());
        // Far more than a socket buffer holds (a few hundred 1-byte writes).
        for _ in 0..100_000 {
            waker.wake().unwrap();
        }
        let n = pipe.drain().unwrap();
        assert!(n > 0 && n < 100_000, "{n}");
        assert_eq!(pipe.drain().unwrap(), 0);
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "Miri cannot make a socket non-blocking (ioctl FIONBIO)"
    )]
    fn clones_wake_the_same_selector() {
        let a = Waker::new(Arc::new(WakePipe::new().unwrap()));
        let b = Waker::new(Arc::new(WakePipe::new().unwrap()));
        assert!(a.will_wake(&a.clone()));
        assert!(!a.will_wake(&b));
        assert!(format!("{a:?}").starts_with("Waker(WakePipe"));
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "Miri cannot make a socket non-blocking (ioctl FIONBIO)"
    )]
    fn waking_after_the_reader_is_gone_is_no_error() {
        let pipe = Arc::new(WakePipe::new().unwrap());
        let waker = Waker::new(pipe.clone());
        drop(pipe);
        for _ in 0..100_000 {
            waker.wake().unwrap();
        }
    }
}
