//! `Waker`: makes a blocked `select` return, from any thread.

use std::fmt;
use std::io::{self, Read, Write};
#[cfg(windows)]
use std::net::{Ipv4Addr, TcpListener, TcpStream};
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use crate::raw::{raw_of, Owned};
use crate::RawFd;

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
    /// A waker that calls `inner.wake()` (implementers:
    /// [`backend::waker`](crate::backend::waker)).
    pub(crate) fn new<W: Wake + 'static>(inner: Arc<W>) -> Waker {
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

    /// Consumes every pending wake: see [`Wake::drain`].
    pub(crate) fn drain(&self) -> io::Result<()> {
        self.inner.drain()
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

    /// Consumes every pending wake, so the watched fd is no longer readable;
    /// the engine calls it after a `select` saw the fd ready. Nothing by
    /// default (a kernel object that resets itself on delivery).
    ///
    /// # Errors
    ///
    /// Any read error but "would block" (the end).
    fn drain(&self) -> io::Result<()> {
        Ok(())
    }
}

/// A self-wake channel on a Unix socket pair (on Windows, which has no
/// `socketpair`, a connected loopback TCP pair, as asyncio's self-pipe):
/// the [`Wake`] of the poll and select backends, and of any backend whose
/// own mechanism the kernel refuses.
///
/// [`wake`](Wake::wake) writes one byte to one end; the backend watches the
/// other, [`fd`](Self::fd), for readability and [`drain`](Self::drain)s it.
/// Both ends are non-blocking and close-on-exec, and both live as long as
/// the last `Arc` (selector or waker), so a wake after the selector is gone
/// never meets a closed peer (`EPIPE`, `SIGPIPE`): it fills the buffer, then
/// finds it full, which is success.
#[derive(Debug)]
pub struct WakePipe {
    read: End,
    write: End,
}

#[cfg(unix)]
type End = UnixStream;
#[cfg(windows)]
type End = TcpStream;

impl WakePipe {
    /// Creates the socket pair (`socketpair(2)`, close-on-exec by std; on
    /// Windows a TCP connection on 127.0.0.1, not inheritable, without
    /// Nagle's delay).
    ///
    /// # Errors
    ///
    /// If the kernel refuses the socket pair (`EMFILE`, `ENFILE`; on
    /// Windows any error of bind, connect or accept) or the switch to
    /// non-blocking mode.
    pub fn new() -> io::Result<WakePipe> {
        Self::avoiding(|_| false)
    }

    /// [`new`](Self::new), with neither end on a number `taken` claims: see
    /// [`renumber_avoiding`].
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new), or if a `dup` needed to move an end fails.
    pub fn avoiding(taken: impl Fn(RawFd) -> bool) -> io::Result<WakePipe> {
        let (read, write) = pair()?;
        let read = End::from(renumber_avoiding(read.into(), &taken)?);
        let write = End::from(renumber_avoiding(write.into(), &taken)?);
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        Ok(WakePipe { read, write })
    }

    /// The fd (on Windows, the socket) to watch for readability.
    pub fn fd(&self) -> RawFd {
        raw_of(&self.read)
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

/// Moves `fd` to a number `taken` does not claim, by duplicating it
/// (close-on-exec; on Windows a socket, `WSADuplicateSocket`, not
/// inheritable) until the copy's number is free of claims, then closing
/// the other copies.
///
/// A selector's own fds (its waker's) must not take the number of a
/// registered fd that was closed behind its back: the kernel hands out the
/// lowest free number (Windows reuses handle values too), so a waker
/// created after such a close would get it,
/// and the dead registration's `unregister` (or its stale kernel entry)
/// would then hit the waker. Pass the selector's map: `|fd|
/// map.contains(fd)`.
///
/// # Errors
///
/// If a `dup` fails (`EMFILE`).
pub fn renumber_avoiding(fd: Owned, taken: impl Fn(RawFd) -> bool) -> io::Result<Owned> {
    let mut fd = fd;
    // Holding each claimed copy open keeps the next dup off its number.
    let mut claimed = Vec::new();
    while taken(raw_of(&fd)) {
        let next = fd.try_clone()?;
        claimed.push(std::mem::replace(&mut fd, next));
    }
    Ok(fd)
}

#[cfg(unix)]
fn pair() -> io::Result<(End, End)> {
    UnixStream::pair()
}

/// A connected pair on the loopback interface. Another local process could
/// connect to the listener first: only the connection whose peer is our own
/// connecting socket is taken (asyncio's `socketpair` checks the same).
#[cfg(windows)]
fn pair() -> io::Result<(End, End)> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let write = TcpStream::connect(listener.local_addr()?)?;
    let ours = write.local_addr()?;
    let read = loop {
        let (read, peer) = listener.accept()?;
        if peer == ours {
            break read;
        }
    };
    // A wake is one byte: Nagle's algorithm must not hold it back.
    write.set_nodelay(true)?;
    Ok((read, write))
}

impl Wake for WakePipe {
    fn drain(&self) -> io::Result<()> {
        WakePipe::drain(self).map(drop)
    }

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
        // Fill the buffer (a socket pair on Unix holds a few hundred 1-byte
        // writes, a loopback TCP connection megabytes).
        let mut filled = 0;
        loop {
            match (&pipe.write).write(&[0; 4096]) {
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        for _ in 0..100 {
            waker.wake().unwrap();
        }
        // TCP may have moved some bytes on since, making room for a few.
        let n = pipe.drain().unwrap();
        assert!(n >= filled && n <= filled + 100, "{n} {filled}");
        assert_eq!(pipe.drain().unwrap(), 0);
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "Miri cannot make a socket non-blocking (ioctl FIONBIO)"
    )]
    fn avoiding_keeps_both_ends_off_claimed_numbers() {
        let probe = WakePipe::new().unwrap();
        let claimed = [probe.fd(), raw_of(&probe.write)];
        drop(probe);
        // The two numbers just freed are the lowest free ones (unless
        // another thread took one): a new pair would land on them.
        let pipe = WakePipe::avoiding(|fd| claimed.contains(&fd)).unwrap();
        assert!(!claimed.contains(&pipe.fd()));
        assert!(!claimed.contains(&raw_of(&pipe.write)));
        Waker::new(Arc::new(pipe)).wake().unwrap();
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
