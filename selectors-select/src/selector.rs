//! `SelectSelector`: the `Selector` trait on `select(2)`.

use std::fmt;
use std::io;
use std::os::unix::io::{BorrowedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use rustix::event::{select, Nsecs, Secs, Timespec};
use rustix::io::{fcntl_getfd, Errno};
use selectors_core::{
    push_ready, timeout, Error, Events, FileObject, Ready, Result, Selector, SelectorKey,
    SelectorMap, WakePipe, Waker,
};

use crate::fd_sets::{nfds_c, FdSets};

/// A selector on `select(2)`: Python's `selectors.SelectSelector`.
///
/// It keeps a read set and a write set as bit vectors sized by the highest
/// registered fd, so fds above `FD_SETSIZE` (1024) work. `register`,
/// `modify` and `unregister` only flip bits (O(1), no system call, nothing
/// the kernel could refuse); each `select` copies the two sets into
/// reusable buffers, makes one `select` call with `nfds` one past the
/// highest registered fd, and walks the result, which costs
/// O(highest fd), not O(registered fds). Prefer `EpollSelector`,
/// `KqueueSelector` or [`PollSelector`] when fds are many or sparse.
///
/// A fd closed without being unregistered makes the kernel fail the whole
/// call with `EBADF`; see [`select_into`](Self::select_into).
///
/// Its [`waker`](Selector::waker) is a [`WakePipe`], whose read end sits in
/// the read set once created.
///
/// [`PollSelector`]: https://docs.rs/selectors-poll
pub struct SelectSelector<T = ()> {
    map: SelectorMap<T>,
    sets: FdSets,
    wake: Option<(Arc<WakePipe>, Waker)>,
}

impl<T> SelectSelector<T> {
    /// Creates an empty selector. It holds no kernel object, so this cannot
    /// fail; the `Result` matches the other backends.
    ///
    /// # Errors
    ///
    /// Never.
    pub fn new() -> io::Result<Self> {
        Ok(SelectSelector {
            map: SelectorMap::new(),
            sets: FdSets::default(),
            wake: None,
        })
    }

    /// The waker's fd, once there is one.
    #[inline]
    fn wake_fd(&self) -> Option<RawFd> {
        self.wake.as_ref().map(|(pipe, _)| pipe.fd())
    }

    /// One past the highest fd in the sets, the waker's included.
    #[inline]
    fn nfds(&self) -> usize {
        let wake = self.wake_fd().map_or(0, |fd| fd as usize + 1);
        self.map.fd_bound().max(wake)
    }

    /// Heap bytes this selector holds (map and fd sets), for memory
    /// accounting.
    pub fn heap_bytes(&self) -> usize {
        self.map.heap_bytes() + self.sets.heap_bytes()
    }

    /// Finds a registered fd that is no longer open: `select(2)` fails with
    /// `EBADF` for the whole set without saying which (libev's `fd_ebadf`).
    fn ebadf_culprit(&self) -> Option<RawFd> {
        self.map.keys().find(|&fd| {
            // SAFETY: registered fds are never negative (so never the -1
            // niche), and `fcntl(F_GETFD)` only looks the number up in the
            // fd table: a closed one yields EBADF, which is what we look for,
            // and no I/O is done on whatever it might name now.
            let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
            fcntl_getfd(borrowed) == Err(Errno::BADF)
        })
    }
}

impl<T> Selector<T> for SelectSelector<T> {
    fn register<F: FileObject>(
        &mut self,
        fileobj: F,
        events: Events,
        data: T,
    ) -> Result<&SelectorKey<T>> {
        let fd = fileobj.fileno();
        self.map.check_vacant(fd, events)?;
        if Some(fd) == self.wake_fd() {
            // Only a raw number can name it; taking it would clear the
            // waker's bit on unregister.
            return Err(Error::AlreadyRegistered { fd });
        }
        let nfds = self.nfds().max(fd as usize + 1);
        self.sets.set(fd, Events::EMPTY, events, nfds);
        Ok(self.map.insert(fd, events, data))
    }

    fn unregister<F: FileObject>(&mut self, fileobj: F) -> Result<SelectorKey<T>> {
        let fd = fileobj.fileno();
        self.map.key(fd)?;
        let (key, _) = self.map.remove(fd).expect("fd is registered: checked above");
        self.sets.clear(fd, key.events, self.nfds());
        Ok(key)
    }

    /// Changes the events and data of a registered fd; this only flips bits
    /// in the sets, so it never makes a system call and cannot fail with
    /// [`Error::Os`].
    fn modify<F: FileObject>(
        &mut self,
        fileobj: F,
        events: Events,
        data: T,
    ) -> Result<&SelectorKey<T>> {
        let fd = fileobj.fileno();
        let old = self.map.check_modify(fd, events)?;
        if old != events {
            self.sets.set(fd, old, events, self.nfds());
        }
        Ok(self.map.update(fd, events, data))
    }

    /// Waits with `select(2)` (`pselect6` on Linux, nanosecond timeouts;
    /// microseconds elsewhere, rounded up) and reports each ready fd once,
    /// READ and WRITE merged, in ascending fd order.
    ///
    /// # Errors
    ///
    /// If a registered fd was closed without being unregistered, the kernel
    /// fails the whole call with `EBADF`. Like libev, the selector then looks
    /// for the culprit and returns [`Error::Os`] naming it
    /// (`"select on fd 7 failed: Bad file descriptor"`), leaving it
    /// registered: unregister it (that succeeds) and select again. Other
    /// failures are [`Error::Os`] about the selector as a whole.
    fn select_into(
        &mut self,
        timeout: Option<Duration>,
        ready: &mut Vec<Ready<T>>,
    ) -> Result<usize>
    where
        T: Clone,
    {
        let nfds = nfds_c(self.nfds());
        let timeout = timeout::clamp(timeout).map(timespec);
        let (read, write) = self.sets.prepare();
        // SAFETY: both sets hold `fd_set_num_elements(nfds)` elements, and the
        // kernel only reads the fd numbers in them. Rustix asks that they be
        // open; one closed behind our back (the caller's bug, which Python
        // tolerates) makes the kernel fail with EBADF, handled below, and a
        // reused number only has its readiness queried: no I/O happens on it.
        let result = unsafe { select(nfds, Some(read), write, None, timeout.as_ref()) };
        ready.clear();
        match result {
            // Nothing ready (the idle poll): no set to walk.
            Ok(0) => return Ok(0),
            Ok(_) => {}
            // A signal: return empty, as the spec says (CPython would retry).
            Err(Errno::INTR) => return Ok(0),
            Err(Errno::BADF) => {
                return Err(match self.ebadf_culprit() {
                    Some(fd) => Error::os("select", fd, Errno::BADF),
                    None => Error::os_general("select", Errno::BADF),
                })
            }
            Err(err) => return Err(Error::os_general("select", err)),
        }
        let wake_fd = self.wake_fd();
        for (fd, readable, writable) in self.sets.ready() {
            if Some(fd) == wake_fd {
                if let Some((pipe, _)) = &self.wake {
                    pipe.drain().map_err(|e| Error::os("read", fd, e))?;
                }
            } else if let Some(key) = self.map.get(fd) {
                push_ready(
                    ready,
                    key,
                    Events::ready(key.events, readable, writable, false),
                );
            }
        }
        Ok(ready.len())
    }

    fn waker(&mut self) -> io::Result<Waker> {
        if let Some((_, waker)) = &self.wake {
            return Ok(waker.clone());
        }
        let pipe = Arc::new(WakePipe::new()?);
        let waker = Waker::new(pipe.clone());
        let fd = pipe.fd();
        let nfds = self.map.fd_bound().max(fd as usize + 1);
        self.sets.set(fd, Events::EMPTY, Events::READ, nfds);
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
impl<T> fmt::Debug for SelectSelector<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectSelector")
            .field("fds", &self.map.debug_events())
            .field("nfds", &self.map.fd_bound())
            .finish()
    }
}

/// A clamped timeout as the `timespec` rustix takes.
#[inline]
fn timespec(timeout: Duration) -> Timespec {
    Timespec {
        // Clamped to 10^8 s, so it fits every `time_t`.
        tv_sec: timeout.as_secs() as Secs,
        tv_nsec: Nsecs::from(timeout.subsec_nanos() as i32),
    }
}
