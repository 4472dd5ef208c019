//! The `Selector` trait: Python's `BaseSelector`.

use std::io;
use std::time::Duration;

use crate::{Event, Events, FileObject, Result, SelectorKey, SelectorMap, Waker};

/// What one `select` returns: a key and the events ready on its fd.
pub type Ready<T> = (SelectorKey<T>, Events);

/// A readiness selector: Python's `BaseSelector`, generic over the data `T`
/// attached to each registration.
///
/// Every backend (`SelectSelector`, `PollSelector`, `EpollSelector`,
/// `KqueueSelector`) implements it with the same semantics; one conformance
/// suite checks them all. Results of [`select`](Self::select) are owned
/// copies of the keys, so a handler may register, modify and unregister while
/// it walks them, as in Python; that needs `T: Clone`, and clones each ready
/// key's data. For any `T`, and without cloning,
/// [`select_events`](Self::select_events) reports small `Copy` [`Event`]s
/// that reach the data through the selector ([`data`](Self::data),
/// [`data_mut`](Self::data_mut), [`key`](Self::key)) while their
/// registration lasts.
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
/// # type NeverSelector = selectors_core::backend::Engine<Null, &'static str>;
/// # use selectors_core::backend::{Adapter, Collect, Refused, Sink, Slot, Waited};
/// # #[derive(Debug)] struct Null;
/// # impl Adapter for Null {
/// #     const NAME: &'static str = "Null";
/// #     fn open() -> std::io::Result<Self> { Ok(Null) }
/// #     fn add(&mut self, _: Slot, _: Events) -> Result<(), Refused> { Ok(()) }
/// #     fn modify(&mut self, _: Slot, _: Events, _: Events) -> Result<(), Refused> { Ok(()) }
/// #     fn delete(&mut self, _: Slot, _: Events) -> Result<(), Refused> { Ok(()) }
/// #     fn wait<T, C: Collect<T>>(&mut self, _: Option<Duration>, _: &mut Sink<'_, T, C>) -> Result<Waited, Refused> { Ok(Waited::Nothing) }
/// #     fn install_waker<T>(&mut self, _: &selectors_core::SelectorMap<T>) -> std::io::Result<(selectors_core::Waker, Option<selectors_core::RawFd>)> { Err(std::io::ErrorKind::Unsupported.into()) }
/// # }
/// ```
pub trait Selector<T> {
    /// Registers `fileobj` for `events`, attaching `data`, and returns the new
    /// key.
    ///
    /// # Errors
    ///
    /// [`InvalidEvents`](crate::Error::InvalidEvents) if `events` is empty,
    /// [`InvalidFd`](crate::Error::InvalidFd) if the fd is negative (on
    /// Windows, not a possible socket),
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

    /// Changes only the events of a registered `fileobj`, keeping its data:
    /// Python's `modify(fileobj, events, key.data)`, without rebuilding or
    /// cloning the data. The registration stays the same one, so the
    /// [`Event`]s of the last [`select_events`](Self::select_events) still
    /// find it. If `events` is unchanged, no system call is made.
    ///
    /// # Errors
    ///
    /// As [`modify`](Self::modify); after an [`Os`](crate::Error::Os)
    /// error the fd is no longer registered and its data is dropped.
    fn modify_events<F: FileObject>(
        &mut self,
        fileobj: F,
        events: Events,
    ) -> Result<&SelectorKey<T>>;

    /// Waits until a registered fd is ready or `timeout` expires, and fills
    /// `ready` (cleared first) with one `(key, events)` per ready fd; returns
    /// how many. Each key is cloned, data included, hence `T: Clone`; see
    /// [`select_events`](Self::select_events) for data that is not `Clone`.
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

    /// Waits as [`select_into`](Self::select_into) does, and fills `events`
    /// (cleared first) with one small `Copy` [`Event`] per ready fd: the fd,
    /// what is ready, and which registration it is about; returns how many.
    /// It works for every `T` (nothing is cloned) and, reusing `events`,
    /// allocates nothing in steady state.
    ///
    /// `events` does not borrow the selector: while walking it, get each
    /// event's data with [`data`](Self::data) / [`data_mut`](Self::data_mut)
    /// (or its key with [`key`](Self::key)) and register, modify and
    /// unregister freely. An event whose registration was unregistered
    /// since the select gets `None`, even if its fd's number was reused by
    /// a new registration meanwhile: a stale event never reaches the wrong
    /// connection.
    ///
    /// ```
    /// use selectors_core::{Event, Selector};
    /// use std::io::{self, Read};
    /// use std::os::unix::net::UnixStream;
    ///
    /// // The data need not be Clone: here it is the socket itself.
    /// fn serve<S: Selector<UnixStream>>(sel: &mut S, events: &mut Vec<Event>) -> io::Result<()> {
    ///     sel.select_events(None, events)?;
    ///     for ev in events.iter() {
    ///         let Some(sock) = sel.data_mut(ev) else { continue }; // gone: skip
    ///         let mut buf = [0; 512];
    ///         if sock.read(&mut buf)? == 0 {
    ///             sel.unregister(ev.fd())?; // fine while walking
    ///         }
    ///     }
    ///     Ok(())
    /// }
    /// # let _ = serve::<selectors_core::backend::Engine<Null, UnixStream>>;
    /// # use selectors_core::backend::{Adapter, Collect, Refused, Sink, Slot, Waited};
    /// # use selectors_core::Events;
    /// # use std::time::Duration;
    /// # #[derive(Debug)] struct Null;
    /// # impl Adapter for Null {
    /// #     const NAME: &'static str = "Null";
    /// #     fn open() -> std::io::Result<Self> { Ok(Null) }
    /// #     fn add(&mut self, _: Slot, _: Events) -> Result<(), Refused> { Ok(()) }
    /// #     fn modify(&mut self, _: Slot, _: Events, _: Events) -> Result<(), Refused> { Ok(()) }
    /// #     fn delete(&mut self, _: Slot, _: Events) -> Result<(), Refused> { Ok(()) }
    /// #     fn is_gone(_: &std::io::Error) -> bool { false }
    /// #     fn wait<T, C: Collect<T>>(&mut self, _: Option<Duration>, _: &mut Sink<'_, T, C>) -> Result<Waited, Refused> { Ok(Waited::Nothing) }
    /// #     fn install_waker<T>(&mut self, _: &selectors_core::SelectorMap<T>) -> std::io::Result<(selectors_core::Waker, Option<std::os::unix::io::RawFd>)> { Err(std::io::ErrorKind::Unsupported.into()) }
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`select_into`](Self::select_into).
    fn select_events(
        &mut self,
        timeout: Option<Duration>,
        events: &mut Vec<Event>,
    ) -> Result<usize>;

    /// The key of the registration `event` is about, or `None` if it was
    /// unregistered since that `select_events` (even if the fd's number is
    /// registered again).
    fn key(&self, event: &Event) -> Option<&SelectorKey<T>> {
        self.get_map().key_of(event)
    }

    /// The data of the registration `event` is about, or `None` as for
    /// [`key`](Self::key).
    fn data(&self, event: &Event) -> Option<&T> {
        self.key(event).map(|key| &key.data)
    }

    /// The data of the registration `event` is about, mutably, or `None`
    /// as for [`key`](Self::key).
    fn data_mut(&mut self, event: &Event) -> Option<&mut T>;

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

    /// Gives the selector a clean start in a child process after `fork(2)`
    /// (libev's `ev_loop_fork`): the kernel objects it shares with the
    /// parent since the fork are replaced by new ones, built from the map,
    /// so that what the child does no longer reaches the parent's selector
    /// and the other way round. The map (registrations and data) is kept.
    /// Call it in the child, before using the selector there; in any other
    /// process it only costs the rebuild.
    ///
    /// What a child may do with an inherited selector without it:
    ///
    /// - `SelectSelector`, `PollSelector`: everything; they hold no kernel
    ///   object, only their waker's socket pair is shared, so a wake in
    ///   either process may end (and be drained by) a `select` in the other.
    /// - `EpollSelector`: the epoll instances are the parent's. A `select`
    ///   in the child sees the same events, and `register`, `modify` and
    ///   `unregister` in the child change the *parent's* interest list (an
    ///   `unregister` in the child removes the parent's registration, as in
    ///   CPython); closing fds in the child changes nothing there.
    /// - `KqueueSelector`: kqueues are not inherited (macOS, the BSDs):
    ///   every call that reaches the kernel fails (`EBADF`) until this one.
    ///
    /// After it, a waker obtained before the fork no longer wakes this
    /// selector (it wakes the parent's, if any): get a new one with
    /// [`waker`](Self::waker). The fd of an epoll or kqueue selector
    /// (`AsRawFd`) changes. A registration whose fd the child has closed
    /// stays in the map, and its `unregister` succeeds.
    ///
    /// ```
    /// use selectors_core::Selector;
    ///
    /// /// What a forked worker does first with the selector it inherited.
    /// fn in_forked_child<S: Selector<u32>>(sel: &mut S) -> std::io::Result<()> {
    ///     sel.after_fork_in_child()?;
    ///     let _waker = sel.waker()?; // the old one wakes the parent
    ///     Ok(())
    /// }
    /// ```
    ///
    /// # Errors
    ///
    /// If a new kernel object cannot be created (`EMFILE`, ...); the
    /// selector is then as before. [`Unsupported`](io::ErrorKind::Unsupported)
    /// from a selector that does not override it (the default, for
    /// implementations outside this workspace).
    fn after_fork_in_child(&mut self) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this selector cannot be rebuilt after fork",
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
