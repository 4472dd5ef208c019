//! `Sink`: where an adapter's wait hands the kernel's events.

use crate::merge::ReadyMerger;
use crate::{Event, Events, RawFd, Ready, SelectorMap};

/// Receives the events of one [`Adapter::wait`](super::Adapter::wait) and
/// turns them into `select` results: it finds the registration an event is
/// about, masks the readiness by the registration's events, drops empty
/// results, and, for adapters that [split events](super::Adapter::SPLITS_EVENTS),
/// merges one fd's events into one entry.
///
/// An adapter names the registration the way its kernel hands it back: by
/// position ([`at`](Self::at), poll), by fd ([`fd`](Self::fd), select), or
/// by fd and tag ([`tagged`](Self::tagged), epoll, kqueue, or
/// [`tagged_masked`](Self::tagged_masked) where the kernel masked the
/// readiness already).
///
/// `C` is what the `select` fills ([`Collect`]): keys with cloned data for
/// `select_into`, or data-free [`Event`]s for `select_events`. An adapter
/// is generic over it and never needs `T: Clone`.
pub struct Sink<'a, T, C: Collect<T> = Vec<Ready<T>>> {
    map: &'a SelectorMap<T>,
    out: &'a mut C,
    merger: Option<&'a mut ReadyMerger>,
    woken: bool,
    stale: bool,
}

impl<'a, T, C: Collect<T>> Sink<'a, T, C> {
    /// A sink that appends to `out` (cleared by the caller), merging with
    /// `merger` if given.
    #[inline]
    pub(crate) fn new(
        map: &'a SelectorMap<T>,
        out: &'a mut C,
        merger: Option<&'a mut ReadyMerger>,
    ) -> Self {
        Sink {
            map,
            out,
            merger,
            woken: false,
            stale: false,
        }
    }

    /// Reports `readiness` (see [`readiness`](super::readiness)) of the
    /// registration at `position`.
    ///
    /// # Panics
    ///
    /// If `position` is not that of a registration.
    #[inline]
    pub fn at(&mut self, position: usize, readiness: Events) {
        let key = self.map.at(position);
        let (fd, events) = (key.fd, readiness & key.events);
        self.push(fd, position, events);
    }

    /// Reports `readiness` of the registration of `fd`; an fd not
    /// registered is ignored.
    #[inline]
    pub fn fd(&mut self, fd: RawFd, readiness: Events) {
        if let Some(position) = self.map.position(fd) {
            self.at(position, readiness);
        }
    }

    /// Reports `readiness` of the registration of `fd` if it is the one
    /// tagged `tag`, and says whether it was. An event of an earlier
    /// registration (the fd was closed, its number reused) is dropped.
    #[inline]
    pub fn tagged(&mut self, fd: RawFd, tag: u32, readiness: Events) -> bool {
        let Some(position) = self.map.position_tagged(fd, tag) else {
            return false;
        };
        self.at(position, readiness);
        true
    }

    /// [`tagged`](Self::tagged) for a kernel that has masked `readiness`
    /// by the registration's events itself (epoll reports `EPOLLIN` and
    /// `EPOLLOUT` only to a registration that asked for them): the
    /// registration's key is not read, only its fd index and tag.
    #[inline]
    pub fn tagged_masked(&mut self, fd: RawFd, tag: u32, readiness: Events) -> bool {
        let Some(position) = self.map.position_tagged(fd, tag) else {
            return false;
        };
        debug_assert!(
            self.map.at(position).events.contains(readiness),
            "fd {fd}: {readiness:?} not masked",
        );
        self.push(fd, position, readiness);
        true
    }

    /// The waker's source was ready: the engine drains it, and the `select`
    /// returns even with nothing else ready.
    #[inline]
    pub fn woken(&mut self) {
        self.woken = true;
    }

    /// An event about nothing the selector registers: the engine calls
    /// [`tidy`](super::Adapter::tidy) after the wait, and, if nothing else
    /// was found, looks once more without waiting (or blocks again, for a
    /// blocking `select`), rather than return empty-handed.
    #[cold]
    pub fn stale(&mut self) {
        self.stale = true;
    }

    /// Whether the wait has something to return or act on.
    #[inline]
    pub fn found(&self) -> bool {
        self.out.count() != 0 || self.woken || self.stale
    }

    /// The live registrations.
    #[inline]
    pub fn registrations(&self) -> &'a SelectorMap<T> {
        self.map
    }

    /// What the wait saw besides results: (woken, stale).
    #[inline]
    pub(crate) fn flags(&self) -> (bool, bool) {
        (self.woken, self.stale)
    }

    #[inline]
    fn push(&mut self, fd: RawFd, position: usize, events: Events) {
        match &mut self.merger {
            Some(merger) => merger.add(self.map, self.out, position, events),
            None if events.is_empty() => {}
            None => self.out.push(self.map, fd, position, events),
        }
    }
}

/// What an [`Adapter::wait`](super::Adapter::wait) did with its [`Sink`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waited {
    /// It handed the sink nothing (the kernel reported nothing): the
    /// `select` returns empty, with no look at the sink.
    Nothing,
    /// It may have handed the sink results, a wake or stale events.
    Something,
}

/// What a `select` fills, for a [`Sink`]: `Vec<Ready<T>>` (the keys, data
/// cloned: `select_into`) or `Vec<Event>` (no data: `select_events`).
/// Sealed; the engine picks it, adapters only pass it through.
pub trait Collect<T>: sealed::Sealed {
    /// How many entries it holds.
    #[doc(hidden)]
    fn count(&self) -> usize;

    /// Empties it, keeping its capacity.
    #[doc(hidden)]
    fn clear(&mut self);

    /// Appends the entry of the key at `position` of `map`, the key of
    /// `fd`, ready for `events` (not empty).
    #[doc(hidden)]
    fn push(&mut self, map: &SelectorMap<T>, fd: RawFd, position: usize, events: Events);

    /// Adds `events` to the entry at `index`.
    #[doc(hidden)]
    fn merge(&mut self, index: usize, events: Events);
}

mod sealed {
    /// Keeps [`Collect`](super::Collect) to the two outputs of this crate.
    pub trait Sealed {}
    impl<T: Clone> Sealed for Vec<crate::Ready<T>> {}
    impl Sealed for Vec<crate::Event> {}
}

impl<T: Clone> Collect<T> for Vec<Ready<T>> {
    #[inline]
    fn count(&self) -> usize {
        Vec::len(self)
    }

    #[inline]
    fn clear(&mut self) {
        Vec::clear(self);
    }

    #[inline]
    fn push(&mut self, map: &SelectorMap<T>, _: RawFd, position: usize, events: Events) {
        Vec::push(self, (map.at(position).clone(), events));
    }

    #[inline]
    fn merge(&mut self, index: usize, events: Events) {
        self[index].1 |= events;
    }
}

impl<T> Collect<T> for Vec<Event> {
    #[inline]
    fn count(&self) -> usize {
        Vec::len(self)
    }

    #[inline]
    fn clear(&mut self) {
        Vec::clear(self);
    }

    #[inline]
    fn push(&mut self, map: &SelectorMap<T>, fd: RawFd, position: usize, events: Events) {
        Vec::push(
            self,
            Event {
                fd,
                tag: map.tag_at(position),
                // Positions fit: the map's keys are counted in `u32` tags
                // and fd slots, far below 2³² registrations.
                position: position as u32,
                events,
            },
        );
    }

    #[inline]
    fn merge(&mut self, index: usize, events: Events) {
        self[index].events |= events;
    }
}
