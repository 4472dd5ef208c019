//! `Engine`: `Selector<T>` written once, over any kernel adapter.

use std::fmt;
use std::io;
#[cfg(unix)]
use std::os::unix::io::{AsFd, AsRawFd, BorrowedFd};
use std::time::Duration;

use super::{Adapter, Collect, Sink, Waited};
use crate::map::Occupied;
use crate::merge::ReadyMerger;
use crate::{
    Error, Event, Events, FileObject, RawFd, Ready, Result, Selector, SelectorKey, SelectorMap,
    Waker,
};

/// A selector: the semantics every backend shares, over the kernel adapter
/// `A`. The backend crates name it (`EpollSelector<T>` is
/// `Engine<Epoll, T>`), and users know it by those names; the methods are
/// those of [`Selector`].
///
/// Each rule every backend shares lives here once: see ARCHITECTURE.md,
/// "Where each rule lives".
pub struct Engine<A, T = ()> {
    adapter: A,
    map: SelectorMap<T>,
    /// Used only by adapters that split one fd's readiness into events.
    merger: ReadyMerger,
    /// The waker, once made, and the fd the adapter watches for it.
    wake: Option<(Waker, Option<RawFd>)>,
}

impl<A: Adapter, T> Engine<A, T> {
    /// Creates an empty selector.
    ///
    /// # Errors
    ///
    /// If the kernel cannot create the backend's object (`EMFILE`,
    /// `ENFILE`, `ENOMEM`; `ENOSYS` or `EPERM` in some sandboxes). Backends
    /// without one (poll, select) never fail.
    pub fn new() -> io::Result<Self> {
        Ok(Engine {
            adapter: A::open()?,
            map: SelectorMap::new(),
            merger: ReadyMerger::new(),
            wake: None,
        })
    }

    /// The kernel adapter, for its crate's tests.
    #[doc(hidden)]
    pub fn adapter(&self) -> &A {
        &self.adapter
    }

    /// The kernel adapter, for its crate's tests.
    #[doc(hidden)]
    pub fn adapter_mut(&mut self) -> &mut A {
        &mut self.adapter
    }

    /// Heap bytes this selector holds (registrations and kernel arrays),
    /// for memory accounting.
    pub fn heap_bytes(&self) -> usize {
        self.map.heap_bytes() + self.merger.heap_bytes() + self.adapter.heap_bytes()
    }

    /// After a wait that saw the waker or a stale event: drains the one,
    /// tidies after the other, and waits again if that is all it saw.
    #[cold]
    #[inline(never)]
    fn after_wait<C: Collect<T>>(
        &mut self,
        (woken, stale): (bool, bool),
        timeout: Option<Duration>,
        ready: &mut C,
    ) -> Result<usize> {
        if woken {
            if let Some((waker, fd)) = &self.wake {
                waker.drain().map_err(|source| Error::Os {
                    fd: *fd,
                    op: "read",
                    source,
                })?;
            }
        }
        // A clean-up never fails a wait that succeeded.
        let again = stale && self.adapter.tidy(&self.map);
        if woken || !again || ready.count() != 0 {
            return Ok(ready.count());
        }
        // Only stale events woke us. Blocking: wait again. Otherwise they
        // may have taken every slot of the wait and hidden live events:
        // look once more without waiting rather than report nothing.
        self.select_with(timeout.map(|_| Duration::ZERO), ready)
    }

    /// One `select`, into either output: `select_into`'s keys or
    /// `select_events`' events. The adapter's wait is the same for both.
    /// Always inlined, so that the adapter's system call lands in the
    /// caller's loop: a return right after a system call costs more than
    /// the rest of an idle `select` (BENCHMARKS.md).
    #[inline(always)]
    fn select_with<C: Collect<T>>(
        &mut self,
        timeout: Option<Duration>,
        ready: &mut C,
    ) -> Result<usize> {
        // Huge timeouts never overflow a kernel's time type.
        let timeout = timeout.map(|t| t.min(super::MAX_TIMEOUT));
        let merger = if A::SPLITS_EVENTS {
            self.merger.start(&self.map, ready);
            Some(&mut self.merger)
        } else {
            ready.clear();
            None
        };
        if A::REFUSES_EMPTY_WAIT && self.map.is_empty() && self.wake.is_none() {
            sleep(timeout);
            return Ok(0);
        }
        let mut sink = Sink::new(&self.map, ready, merger);
        match self.adapter.wait(timeout, &mut sink) {
            // The idle `select`: returns straight after the system call.
            Ok(Waited::Nothing) => {
                debug_assert!(
                    !sink.found(),
                    "{}: Nothing, but the sink holds some",
                    A::NAME
                );
                Ok(0)
            }
            Ok(Waited::Something) => match sink.flags() {
                (false, false) => Ok(ready.count()),
                flags => self.after_wait(flags, timeout, ready),
            },
            Err(e) => interrupted(e, ready),
        }
    }

    /// What `modify` and `modify_events` share: checks, and asks the kernel
    /// to watch `fd` for `events` instead (no call if unchanged). On
    /// refusal the fd is unregistered, as CPython does.
    #[inline]
    fn rearm(&mut self, fd: RawFd, events: Events) -> Result<Occupied<'_, T>> {
        let entry = self.map.occupied(fd)?;
        if events.is_empty() {
            return Err(Error::InvalidEvents { fd });
        }
        let old = entry.events();
        if old != events {
            let slot = entry.slot();
            if let Err(e) = self.adapter.modify(slot, old, events) {
                // As CPython: a failed modify unregisters, so that map and
                // kernel agree. The delete fails too if the fd is gone; fine.
                let _ = self.adapter.delete(slot, old);
                entry.remove();
                return Err(e.about(fd).into());
            }
        }
        Ok(entry)
    }
}

impl<A: Adapter, T> Selector<T> for Engine<A, T> {
    #[inline]
    fn register<F: FileObject>(
        &mut self,
        fileobj: F,
        events: Events,
        data: T,
    ) -> Result<&SelectorKey<T>> {
        let fd = fileobj.fileno();
        let entry = self.map.vacant(fd, events)?;
        if matches!(self.wake, Some((_, Some(wake_fd))) if wake_fd == fd) {
            // Only a raw number can name the waker's fd; taking it would
            // stop the waker on unregister.
            return Err(Error::AlreadyRegistered { fd });
        }
        if !self.adapter.can_watch(fd) {
            return Err(Error::InvalidFd { fd });
        }
        let slot = entry.slot();
        self.adapter.add(slot, events).map_err(|e| e.about(fd))?;
        Ok(entry.insert(events, data))
    }

    #[inline]
    fn unregister<F: FileObject>(&mut self, fileobj: F) -> Result<SelectorKey<T>> {
        let fd = fileobj.fileno();
        let entry = self.map.occupied(fd)?;
        match self.adapter.delete(entry.slot(), entry.events()) {
            Ok(()) => {}
            // Closed behind our back (its number perhaps reused): the kernel
            // forgot it already, and Python's unregister succeeds.
            Err(e) if A::is_gone(&e.error) => {}
            Err(e) => return Err(e.about(fd).into()),
        }
        Ok(entry.remove())
    }

    #[inline]
    fn modify<F: FileObject>(
        &mut self,
        fileobj: F,
        events: Events,
        data: T,
    ) -> Result<&SelectorKey<T>> {
        Ok(self.rearm(fileobj.fileno(), events)?.update(events, data))
    }

    #[inline]
    fn modify_events<F: FileObject>(
        &mut self,
        fileobj: F,
        events: Events,
    ) -> Result<&SelectorKey<T>> {
        Ok(self.rearm(fileobj.fileno(), events)?.set_events(events))
    }

    #[inline]
    fn select_into(&mut self, timeout: Option<Duration>, ready: &mut Vec<Ready<T>>) -> Result<usize>
    where
        T: Clone,
    {
        self.select_with(timeout, ready)
    }

    #[inline]
    fn select_events(
        &mut self,
        timeout: Option<Duration>,
        events: &mut Vec<Event>,
    ) -> Result<usize> {
        self.select_with(timeout, events)
    }

    #[inline]
    fn data_mut(&mut self, event: &Event) -> Option<&mut T> {
        self.map.data_mut_of(event)
    }

    fn waker(&mut self) -> io::Result<Waker> {
        if let Some((waker, _)) = &self.wake {
            return Ok(waker.clone());
        }
        let (waker, fd) = self.adapter.install_waker(&self.map)?;
        self.wake = Some((waker.clone(), fd));
        Ok(waker)
    }

    /// The adapter rebuilds its kernel object from the map and forgets the
    /// old waker; a new waker (one not shared with the parent) replaces it.
    fn after_fork_in_child(&mut self) -> io::Result<()> {
        let old = self.wake.as_ref().and_then(|(_, fd)| *fd);
        self.adapter.after_fork(&self.map, old)?;
        if self.wake.take().is_some() {
            self.waker()?;
        }
        Ok(())
    }

    #[inline]
    fn get_map(&self) -> &SelectorMap<T> {
        &self.map
    }

    /// Closes the selector's kernel object, if it has one. Closing an epoll
    /// or kqueue fd cannot fail usefully (the kernel just drops it), so this
    /// always returns `Ok`.
    fn close(self) -> io::Result<()> {
        drop(self);
        Ok(())
    }
}

/// A failed wait: `EINTR` is an empty result, as the spec says (CPython
/// would retry); anything else is the error.
#[cold]
fn interrupted<T, C: Collect<T>>(e: super::Refused, ready: &mut C) -> Result<usize> {
    if e.error.kind() == io::ErrorKind::Interrupted {
        ready.clear();
        return Ok(0);
    }
    Err(e.into())
}

/// What an empty selector does when its primitive refuses to wait on
/// nothing: sleep for the timeout (`None`: forever; without a waker nothing
/// could end it anyway).
#[cold]
fn sleep(timeout: Option<Duration>) {
    match timeout {
        Some(timeout) => std::thread::sleep(timeout),
        None => loop {
            std::thread::sleep(super::MAX_TIMEOUT);
        },
    }
}

/// The kernel object's fd, for the selectors that have one (epoll,
/// kqueue): Python's `fileno()`.
#[cfg(unix)]
impl<A: Adapter + AsFd, T> AsFd for Engine<A, T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.adapter.as_fd()
    }
}

/// The kernel object's fd: Python's `fileno()`.
#[cfg(unix)]
impl<A: Adapter + AsFd, T> AsRawFd for Engine<A, T> {
    fn as_raw_fd(&self) -> RawFd {
        self.adapter.as_fd().as_raw_fd()
    }
}

/// The backend's name, the registered fds and their events (whatever `T`
/// is), what the adapter shows of itself, and the waker.
impl<A: Adapter, T> fmt::Debug for Engine<A, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct(A::NAME);
        d.field("fds", &self.map.debug_events());
        self.adapter.fmt_fields(&self.map, &mut d);
        if let Some((waker, _)) = &self.wake {
            d.field("waker", &Some(waker));
        }
        d.finish()
    }
}
