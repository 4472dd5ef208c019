//! The `Selector` trait: Python's `BaseSelector`.

use std::io;
use std::time::Duration;

use crate::{Events, FileObject, Result, SelectorKey, SelectorMap, Waker};

/// What one `select` returns: a key and the events ready on its fd.
pub type Ready<T> = (SelectorKey<T>, Events);

/// A readiness selector: Python's `BaseSelector`, generic over the data `T`
/// attached to each registration.
///
/// Every backend (`SelectSelector`, `PollSelector`, `EpollSelector`,
/// `KqueueSelector`) implements it with the same semantics; one conformance
/// suite checks them all. Results of [`select`](Self::select) are owned
/// copies of the keys, so a handler may register, modify and unregister while
/// it walks them, as in Python.
///
/// A generic function runs on any backend:
///
/// ```
/// use selectors_core::{Events, Selector};
/// use std::os::unix::net::UnixStream;
/// use std::io::Write;
/// use std::time::Duration;
///
/// fn first_readable<S: Selector<&'static str>>(sel: &mut S) -> Option<&'static str> {
///     let ready = sel.select(Some(Duration::from_secs(5))).ok()?;
///     ready.into_iter().find(|(_, ev)| ev.is_readable()).map(|(key, _)| key.data)
/// }
/// # let _ = first_readable::<NeverSelector>;
/// # struct NeverSelector(selectors_core::SelectorMap<&'static str>);
/// # impl Selector<&'static str> for NeverSelector {
/// #     fn register<F: selectors_core::FileObject>(&mut self, f: F, e: Events, d: &'static str) -> selectors_core::Result<&selectors_core::SelectorKey<&'static str>> { let fd = f.fileno(); self.0.check_vacant(fd, e)?; Ok(self.0.insert(fd, e, d)) }
/// #     fn unregister<F: selectors_core::FileObject>(&mut self, f: F) -> selectors_core::Result<selectors_core::SelectorKey<&'static str>> { let fd = f.fileno(); self.0.key(fd)?; Ok(self.0.remove(fd).unwrap().0) }
/// #     fn modify<F: selectors_core::FileObject>(&mut self, f: F, e: Events, d: &'static str) -> selectors_core::Result<&selectors_core::SelectorKey<&'static str>> { let fd = f.fileno(); self.0.check_modify(fd, e)?; Ok(self.0.update(fd, e, d)) }
/// #     fn select_into(&mut self, _: Option<Duration>, out: &mut Vec<selectors_core::Ready<&'static str>>) -> selectors_core::Result<usize> { out.clear(); Ok(0) }
/// #     fn get_map(&self) -> &selectors_core::SelectorMap<&'static str> { &self.0 }
/// #     fn close(self) -> std::io::Result<()> { Ok(()) }
/// # }
/// ```
pub trait Selector<T> {
    /// Registers `fileobj` for `events`, attaching `data`, and returns the new
    /// key.
    ///
    /// # Errors
    ///
    /// [`InvalidEvents`](crate::Error::InvalidEvents) if `events` is empty,
    /// [`InvalidFd`](crate::Error::InvalidFd) if the fd is negative,
    /// [`AlreadyRegistered`](crate::Error::AlreadyRegistered) if the fd is
    /// registered (through whatever object), [`Os`](crate::Error::Os) if the
    /// kernel refuses it. On error nothing is registered.
    fn register<F: FileObject>(
        &mut self,
        fileobj: F,
        events: Events,
        data: T,
    ) -> Result<&SelectorKey<T>>;

    /// Unregisters `fileobj` and hands its key (and so its data) back.
    ///
    /// Unregister before closing the fd; if it was closed anyway (even if its
    /// number has been reused since), this still succeeds.
    ///
    /// # Errors
    ///
    /// [`NotRegistered`](crate::Error::NotRegistered) or
    /// [`InvalidFd`](crate::Error::InvalidFd).
    fn unregister<F: FileObject>(&mut self, fileobj: F) -> Result<SelectorKey<T>>;

    /// Changes the events and data of a registered `fileobj`: `unregister`
    /// then `register`, done in one step. If `events` is unchanged, no system
    /// call is made.
    ///
    /// # Errors
    ///
    /// [`NotRegistered`](crate::Error::NotRegistered),
    /// [`InvalidFd`](crate::Error::InvalidFd),
    /// [`InvalidEvents`](crate::Error::InvalidEvents) (nothing changes), or
    /// [`Os`](crate::Error::Os), after which, as in Python, the fd is no
    /// longer registered.
    fn modify<F: FileObject>(
        &mut self,
        fileobj: F,
        events: Events,
        data: T,
    ) -> Result<&SelectorKey<T>>;

    /// Waits until a registered fd is ready or `timeout` expires, and fills
    /// `ready` (cleared first) with one `(key, events)` per ready fd; returns
    /// how many.
    ///
    /// `None` blocks; `Some(Duration::ZERO)` only polls; a positive timeout
    /// waits at least that long. A signal makes it return early with nothing
    /// (`Ok(0)`), never an error. Reusing `ready` between calls makes a
    /// steady-state select allocation-free.
    ///
    /// # Errors
    ///
    /// [`Os`](crate::Error::Os) if the wait itself fails.
    fn select_into(
        &mut self,
        timeout: Option<Duration>,
        ready: &mut Vec<Ready<T>>,
    ) -> Result<usize>
    where
        T: Clone;

    /// Like [`select_into`](Self::select_into), into a new vector: Python's
    /// `select(timeout)`.
    ///
    /// # Errors
    ///
    /// As [`select_into`](Self::select_into).
    fn select(&mut self, timeout: Option<Duration>) -> Result<Vec<Ready<T>>>
    where
        T: Clone,
    {
        let mut ready = Vec::new();
        self.select_into(timeout, &mut ready)?;
        Ok(ready)
    }

    /// The key of a registered `fileobj`.
    ///
    /// # Errors
    ///
    /// [`NotRegistered`](crate::Error::NotRegistered) or
    /// [`InvalidFd`](crate::Error::InvalidFd).
    fn get_key<F: FileObject>(&self, fileobj: F) -> Result<&SelectorKey<T>> {
        self.get_map().key(fileobj.fileno())
    }

    /// A [`Waker`] that makes this selector's blocked `select` return
    /// promptly, from any thread. Every call returns a clone of the same
    /// waker; the first creates it (an eventfd on Linux's epoll, `EVFILT_USER`
    /// on kqueue, a socket pair for poll and select), whose fd the selector
    /// watches from then on without ever reporting it.
    ///
    /// Get the waker before the selecting thread starts: this takes
    /// `&mut self`, the waker itself is `Send + Sync + Clone`.
    ///
    /// # Errors
    ///
    /// If the kernel cannot create the waker's fd (`EMFILE`, ...), or
    /// [`Unsupported`](io::ErrorKind::Unsupported) from a selector that
    /// cannot be woken (the default, for implementations outside this
    /// workspace that do not override it).
    fn waker(&mut self) -> io::Result<Waker> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this selector cannot be woken from another thread",
        ))
    }

    /// Every registration, read-only: Python's `get_map()`.
    fn get_map(&self) -> &SelectorMap<T>;

    /// Closes the selector and frees its kernel resources. Dropping does the
    /// same; the selector cannot be used afterwards, by construction.
    ///
    /// # Errors
    ///
    /// If closing the kernel object fails.
    fn close(self) -> io::Result<()>
    where
        Self: Sized;
}
