//! `SelectorMap`: every registration of a selector, indexed by fd.

use std::fmt;
use std::iter::FusedIterator;
use std::ops::Index;

use crate::backend::Slot;
use crate::{raw, Error, Event, Events, FileObject, RawFd, Result, SelectorKey};

/// The registrations of one selector: Python's `get_map()` mapping, from fd to
/// [`SelectorKey`].
///
/// Lookup, insertion and removal are O(1) for the fds a process normally
/// has: keys live densely in a vector (so iteration touches only live
/// registrations) and a second vector maps each fd number to its key's
/// position. That index only covers numbers up to a bound proportional to
/// the number of registrations (at least 1024, at most 8 per key), so
/// memory stays proportional to the registrations whatever the numbers:
/// a fd above the bound (say `i32::MAX`) goes to a small sorted overflow
/// index instead (O(log n) lookup), and moves into the dense one once it
/// has grown past it. Removal moves the last key into the
/// hole (`swap_remove`), which backends that keep a kernel array parallel to
/// the keys (poll's `pollfd`s) mirror with one `swap_remove` of their own.
///
/// Users only ever see `&SelectorMap` (from
/// [`Selector::get_map`](crate::Selector::get_map)), a read-only view, as
/// Python's `get_map()` is a read-only `Mapping`: `len`, `in`, `[]`, `get`,
/// iteration, `keys` and `values`. Only the selector changes it, after the
/// kernel accepted the change, so a refused call leaves no trace.
///
/// ```
/// use selectors_core::{Events, Selector, SelectorMap};
///
/// fn describe(map: &SelectorMap<&str>) -> Vec<String> {
///     map.iter().map(|key| format!("{}: {:?} {}", key.fd, key.events, key.data)).collect()
/// }
///
/// # mod doc {
/// #     use selectors_core::backend::{Adapter, Collect, Engine, Refused, Sink, Slot, Waited};
/// #     use selectors_core::{Events, RawFd, SelectorMap, Waker};
/// #     use std::{io, time::Duration};
/// #     /// An adapter that accepts every change and never sees an event.
/// #     #[derive(Debug)] pub struct Null;
/// #     impl Adapter for Null {
/// #         const NAME: &'static str = "Null";
/// #         fn open() -> io::Result<Self> { Ok(Null) }
/// #         fn add(&mut self, _: Slot, _: Events) -> Result<(), Refused> { Ok(()) }
/// #         fn modify(&mut self, _: Slot, _: Events, _: Events) -> Result<(), Refused> { Ok(()) }
/// #         fn delete(&mut self, _: Slot, _: Events) -> Result<(), Refused> { Ok(()) }
/// #         fn wait<T, C: Collect<T>>(&mut self, _: Option<Duration>, _: &mut Sink<'_, T, C>) -> Result<Waited, Refused> { Ok(Waited::Nothing) }
/// #         fn install_waker<T>(&mut self, _: &SelectorMap<T>) -> io::Result<(Waker, Option<RawFd>)> { Err(io::ErrorKind::Unsupported.into()) }
/// #     }
/// #     pub fn selector() -> Engine<Null, &'static str> { Engine::new().unwrap() }
/// # }
/// # let mut sel = doc::selector();
/// // `sel` is any selector; fd 5 stands for an open socket.
/// sel.register(5, Events::READ, "five")?;
/// let map = sel.get_map();
/// assert_eq!(map.len(), 1);
/// assert_eq!(map[5].data, "five");
/// assert!(map.contains(5) && map.get(6).is_none());
/// assert_eq!(map.keys().collect::<Vec<_>>(), [5]);
/// assert_eq!(describe(map), ["5: READ five"]);
/// # Ok::<(), selectors_core::Error>(())
/// ```
#[derive(Clone)]
pub struct SelectorMap<T> {
    /// Live registrations, densely packed.
    keys: Vec<SelectorKey<T>>,
    /// The tag of each key, at the same position (kept apart from the keys so
    /// that it costs 4 bytes, not 4 plus padding).
    tags: Vec<u32>,
    /// fd -> position in `keys` plus one; 0 means vacant. Never shrinks, so
    /// churn on a high fd costs no re-zeroing. At most [`dense_limit`] long.
    slots: Vec<u32>,
    /// The fds at or above `slots.len()`, sorted, with their position plus
    /// one: the overflow of the dense index.
    sparse: Vec<(RawFd, u32)>,
    /// One past the highest registered fd.
    bound: usize,
    /// The tag the next registration gets.
    next_tag: u32,
}

/// Shows the map as Python would: fd -> key.
impl<T: fmt::Debug> fmt::Debug for SelectorMap<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.keys.iter().map(|key| (key.fd, key)))
            .finish()
    }
}

impl<T> SelectorMap<T> {
    /// An empty map.
    pub(crate) const fn new() -> Self {
        SelectorMap {
            keys: Vec::new(),
            tags: Vec::new(),
            slots: Vec::new(),
            sparse: Vec::new(),
            bound: 0,
            next_tag: 1,
        }
    }

    /// How many fds are registered.
    #[inline]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no fd is registered.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key of `fileobj`, if it is registered.
    #[inline]
    pub fn get<F: FileObject>(&self, fileobj: F) -> Option<&SelectorKey<T>> {
        self.position(fileobj.fileno()).map(|pos| &self.keys[pos])
    }

    /// Whether `fileobj` is registered.
    #[inline]
    pub fn contains<F: FileObject>(&self, fileobj: F) -> bool {
        self.position(fileobj.fileno()).is_some()
    }

    /// Every key, in an unspecified order.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter {
            inner: self.keys.iter(),
        }
    }

    /// Every registered fd, in the order of [`iter`](Self::iter).
    pub fn keys(&self) -> impl ExactSizeIterator<Item = RawFd> + '_ {
        self.iter().map(|key| key.fd)
    }

    /// Every key, in the order of [`iter`](Self::iter): Python's `values()`.
    pub fn values(&self) -> Iter<'_, T> {
        self.iter()
    }

    /// One past the highest registered fd (0 when empty): the `nfds` of
    /// `select(2)`.
    #[inline]
    pub(crate) fn fd_bound(&self) -> usize {
        self.bound
    }

    /// The key of `fd`, or the error Python raises for it: `InvalidFd` if
    /// negative (on Windows: `INVALID_SOCKET` or beyond any handle),
    /// `NotRegistered` if absent.
    #[inline]
    pub fn key(&self, fd: RawFd) -> Result<&SelectorKey<T>> {
        if raw::index(fd).is_none() {
            return Err(Error::InvalidFd { fd });
        }
        self.get(fd).ok_or(Error::NotRegistered { fd })
    }

    /// Checks that `fd` may be registered for `events`: the mask is not
    /// empty, the fd is valid (see [`key`](Self::key)), and it is not
    /// registered yet.
    #[inline]
    pub(crate) fn check_vacant(&self, fd: RawFd, events: Events) -> Result<()> {
        if events.is_empty() {
            Err(Error::InvalidEvents { fd })
        } else if raw::index(fd).is_none() {
            Err(Error::InvalidFd { fd })
        } else if self.position(fd).is_some() {
            Err(Error::AlreadyRegistered { fd })
        } else {
            Ok(())
        }
    }

    /// Records a new registration, after [`check_vacant`](Self::check_vacant)
    /// passed and the kernel accepted it. It goes at position
    /// [`len`](Self::len) (before the call) and gets a fresh
    /// [`tag`](Self::tag).
    ///
    /// # Panics
    ///
    /// If `fd` is invalid or already registered.
    #[cfg(test)]
    pub(crate) fn insert(&mut self, fd: RawFd, events: Events, data: T) -> &SelectorKey<T> {
        let vacant = raw::index(fd).is_some() && self.position(fd).is_none();
        assert!(vacant, "fd {fd} is not vacant");
        self.push(fd, events, data)
    }

    /// [`insert`](Self::insert) without its check: `fd` is valid and not
    /// registered (a [`Vacant`] entry's).
    #[inline]
    fn push(&mut self, fd: RawFd, events: Events, data: T) -> &SelectorKey<T> {
        let idx = fd as usize;
        let pos = self.keys.len();
        if idx >= self.slots.len() && idx < dense_limit(pos + 1) {
            self.grow_dense(idx + 1);
        }
        crate::growth::reserve_lean(&mut self.keys, pos + 1);
        crate::growth::reserve_lean(&mut self.tags, pos + 1);
        self.set_slot(fd, pos as u32 + 1);
        self.bound = self.bound.max(idx + 1);
        self.tags.push(self.next_tag);
        self.next_tag = self.next_tag.wrapping_add(1).max(1);
        self.keys.push(SelectorKey { fd, events, data });
        &self.keys[pos]
    }

    /// Removes the registration of `fd` and returns its key and the position
    /// it had. The last key moves into that position (`swap_remove`).
    #[cfg(test)]
    pub(crate) fn remove(&mut self, fd: RawFd) -> Option<(SelectorKey<T>, usize)> {
        let pos = self.position(fd)?;
        Some((self.remove_at(pos), pos))
    }

    /// Removes the registration at `pos` (an [`Occupied`] entry's).
    #[inline]
    fn remove_at(&mut self, pos: usize) -> SelectorKey<T> {
        let key = self.keys.swap_remove(pos);
        self.tags.swap_remove(pos);
        self.set_slot(key.fd, 0);
        if let Some(moved) = self.keys.get(pos) {
            let moved = moved.fd;
            self.set_slot(moved, pos as u32 + 1);
        }
        if key.fd as usize + 1 == self.bound {
            self.bound = self.next_bound(key.fd as usize);
        }
        key
    }

    /// The fd bound once `idx`, the highest registered fd, has left.
    #[cold]
    fn next_bound(&self, idx: usize) -> usize {
        // Fds are usually dense, so the next occupied slot is close;
        // overflow fds are all above the dense ones.
        match self.sparse.last() {
            Some(&(fd, _)) => fd as usize + 1,
            None if self.keys.is_empty() => 0,
            None => {
                let below = idx.min(self.slots.len());
                self.slots[..below]
                    .iter()
                    .rposition(|&s| s != 0)
                    .map_or(0, |i| i + 1)
            }
        }
    }

    /// Records `slot` (position plus one, or 0 for vacant) for `fd`, in the
    /// dense index or the overflow.
    #[inline]
    fn set_slot(&mut self, fd: RawFd, slot: u32) {
        match self.slots.get_mut(fd as usize) {
            Some(s) => *s = slot,
            None => self.set_sparse_slot(fd, slot),
        }
    }

    /// [`set_slot`](Self::set_slot) for a fd above the dense index.
    #[cold]
    fn set_sparse_slot(&mut self, fd: RawFd, slot: u32) {
        match (self.sparse.binary_search_by_key(&fd, |&(f, _)| f), slot) {
            (Ok(i), 0) => {
                self.sparse.remove(i);
            }
            (Ok(i), _) => self.sparse[i].1 = slot,
            (Err(_), 0) => {}
            (Err(i), _) => self.sparse.insert(i, (fd, slot)),
        }
    }

    /// Grows the dense index to `len` numbers, moving the overflow fds it
    /// now covers into it.
    #[cold]
    fn grow_dense(&mut self, len: usize) {
        crate::growth::reserve_lean(&mut self.slots, len);
        self.slots.resize(len, 0);
        let covered = self.sparse.partition_point(|&(fd, _)| (fd as usize) < len);
        for (fd, slot) in self.sparse.drain(..covered) {
            self.slots[fd as usize] = slot;
        }
    }

    /// The position of `fd`'s key, if registered: an index into
    /// [`at`](Self::at) and into any array a backend keeps parallel to it.
    #[inline]
    pub(crate) fn position(&self, fd: RawFd) -> Option<usize> {
        let slot = match self.slots.get(raw::index(fd)?) {
            Some(&slot) => slot,
            None if self.sparse.is_empty() => return None,
            None => self.overflow_slot(fd),
        };
        (slot != 0).then(|| slot as usize - 1)
    }

    /// The slot of a fd above the dense index, out of line.
    #[cold]
    fn overflow_slot(&self, fd: RawFd) -> u32 {
        self.sparse
            .binary_search_by_key(&fd, |&(f, _)| f)
            .map_or(0, |i| self.sparse[i].1)
    }

    /// The key at `position`.
    ///
    /// # Panics
    ///
    /// If `position >= len()`.
    #[inline]
    pub(crate) fn at(&self, position: usize) -> &SelectorKey<T> {
        &self.keys[position]
    }

    /// The registration tag of `fd`: a number that differs between two
    /// successive registrations of the same fd (libev's generation counter).
    /// Backends store it beside the fd in the kernel's user data, so that
    /// events about an earlier registration can be recognised and dropped.
    #[cfg(test)]
    pub(crate) fn tag(&self, fd: RawFd) -> Option<u32> {
        self.position(fd).map(|pos| self.tags[pos])
    }

    /// The tag the next [`insert`](Self::insert) will give, so a backend can
    /// hand it to the kernel before it records the registration. Tags are
    /// never 0: a backend may use 0 for user data of its own.
    #[cfg(test)]
    pub(crate) fn next_tag(&self) -> u32 {
        self.next_tag
    }

    /// The position of `fd`'s key if it is still the registration tagged
    /// `tag`.
    #[inline]
    pub(crate) fn position_tagged(&self, fd: RawFd, tag: u32) -> Option<usize> {
        let pos = self.position(fd)?;
        (self.tags[pos] == tag).then_some(pos)
    }

    /// The key an [`Event`] is about, if that registration is still live
    /// (same fd, same tag): a stale event finds nothing, even where the
    /// fd's number names a newer registration.
    #[inline]
    pub fn key_of(&self, event: &Event) -> Option<&SelectorKey<T>> {
        let pos = self.position_of(event)?;
        Some(&self.keys[pos])
    }

    /// The data of the registration an [`Event`] is about, as
    /// [`key_of`](Self::key_of) finds it: what a backend's
    /// [`Selector::data_mut`](crate::Selector::data_mut) returns.
    #[inline]
    pub(crate) fn data_mut_of(&mut self, event: &Event) -> Option<&mut T> {
        let pos = self.position_of(event)?;
        Some(&mut self.keys[pos].data)
    }

    /// The position of the registration an [`Event`] is about: where it
    /// was at the select, unless an unregister has moved it since. Tags come
    /// from one counter per map, so the tag at that position names the
    /// registration without looking the fd up.
    #[inline]
    fn position_of(&self, event: &Event) -> Option<usize> {
        let pos = event.position as usize;
        if self.tags.get(pos) == Some(&event.tag) {
            Some(pos)
        } else {
            self.position_moved(event)
        }
    }

    /// The slow half of [`position_of`](Self::position_of): the key moved
    /// (a `swap_remove` filled an unregistered key's place) or is gone.
    #[cold]
    fn position_moved(&self, event: &Event) -> Option<usize> {
        self.position_tagged(event.fd, event.tag)
    }

    /// The tag of the key at `position`.
    #[inline]
    pub(crate) fn tag_at(&self, position: usize) -> u32 {
        self.tags[position]
    }

    /// The key of `fd` if it is still the registration tagged `tag`.
    #[cfg(test)]
    pub(crate) fn get_tagged(&self, fd: RawFd, tag: u32) -> Option<&SelectorKey<T>> {
        let pos = self.position(fd)?;
        (self.tags[pos] == tag).then_some(&self.keys[pos])
    }

    /// A [`Debug`](fmt::Debug) view of the map as fd -> events, whatever
    /// `T` is: what a selector's `Debug` shows.
    pub(crate) fn debug_events(&self) -> impl fmt::Debug + '_ {
        struct Fds<'a, T>(&'a SelectorMap<T>);
        impl<T> fmt::Debug for Fds<'_, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(self.0.iter().map(|key| (key.fd, key.events)))
                    .finish()
            }
        }
        Fds(self)
    }

    /// Heap bytes this map holds, for memory accounting.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.keys.capacity() * std::mem::size_of::<SelectorKey<T>>()
            + (self.tags.capacity() + self.slots.capacity()) * std::mem::size_of::<u32>()
            + self.sparse.capacity() * std::mem::size_of::<(RawFd, u32)>()
    }
}

/// How many fd numbers the dense index may cover while holding `len` keys:
/// the memory of the index stays within 32 bytes per key (beyond a 4 KiB
/// floor), whatever the fd numbers.
#[inline]
fn dense_limit(len: usize) -> usize {
    len.saturating_mul(8).max(1024)
}

impl<T> SelectorMap<T> {
    /// The entry of an fd that may be registered for `events`, or the error
    /// Python raises, in its order: `InvalidEvents`, `InvalidFd`,
    /// `AlreadyRegistered`.
    #[inline]
    pub(crate) fn vacant(&mut self, fd: RawFd, events: Events) -> Result<Vacant<'_, T>> {
        self.check_vacant(fd, events)?;
        Ok(Vacant { map: self, fd })
    }

    /// The entry of a registered fd, or `InvalidFd` / `NotRegistered`.
    #[inline]
    pub(crate) fn occupied(&mut self, fd: RawFd) -> Result<Occupied<'_, T>> {
        if raw::index(fd).is_none() {
            return Err(Error::InvalidFd { fd });
        }
        match self.position(fd) {
            Some(pos) => Ok(Occupied { map: self, pos }),
            None => Err(Error::NotRegistered { fd }),
        }
    }
}

/// An fd that is not registered, checked: the engine's `register` makes the
/// system call, then [`insert`](Self::insert)s.
pub(crate) struct Vacant<'a, T> {
    map: &'a mut SelectorMap<T>,
    fd: RawFd,
}

impl<'a, T> Vacant<'a, T> {
    /// Where the registration will be: its fd, the tag and position it
    /// will get.
    #[inline]
    pub(crate) fn slot(&self) -> Slot {
        Slot {
            fd: self.fd,
            tag: self.map.next_tag,
            position: self.map.keys.len(),
        }
    }

    /// Records the registration at [`slot`](Self::slot).
    #[inline]
    pub(crate) fn insert(self, events: Events, data: T) -> &'a SelectorKey<T> {
        self.map.push(self.fd, events, data)
    }
}

/// A registered fd: the engine's `modify` and `unregister` make the system
/// call, then update or remove it.
pub(crate) struct Occupied<'a, T> {
    map: &'a mut SelectorMap<T>,
    pos: usize,
}

impl<'a, T> Occupied<'a, T> {
    /// The registration's fd, tag and position.
    #[inline]
    pub(crate) fn slot(&self) -> Slot {
        Slot {
            fd: self.map.keys[self.pos].fd,
            tag: self.map.tags[self.pos],
            position: self.pos,
        }
    }

    /// The events it is registered for.
    #[inline]
    pub(crate) fn events(&self) -> Events {
        self.map.keys[self.pos].events
    }

    /// Replaces its events and data, keeping its position and tag.
    #[inline]
    pub(crate) fn update(self, events: Events, data: T) -> &'a SelectorKey<T> {
        let key = &mut self.map.keys[self.pos];
        key.events = events;
        key.data = data;
        key
    }

    /// Replaces its events, keeping its data, position and tag.
    #[inline]
    pub(crate) fn set_events(self, events: Events) -> &'a SelectorKey<T> {
        let key = &mut self.map.keys[self.pos];
        key.events = events;
        key
    }

    /// Removes it (the last key moves into its position) and hands its key
    /// back.
    #[inline]
    pub(crate) fn remove(self) -> SelectorKey<T> {
        self.map.remove_at(self.pos)
    }
}

/// Looks a key up the way Python's `map[fileobj]` does.
///
/// # Panics
///
/// If `fileobj` is not registered (Python raises `KeyError`).
impl<T, F: FileObject> Index<F> for SelectorMap<T> {
    type Output = SelectorKey<T>;

    fn index(&self, fileobj: F) -> &SelectorKey<T> {
        let fd = fileobj.fileno();
        self.get(fd)
            .unwrap_or_else(|| panic!("fd {fd} is not registered"))
    }
}

impl<'a, T> IntoIterator for &'a SelectorMap<T> {
    type Item = &'a SelectorKey<T>;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

/// An iterator over the keys of a [`SelectorMap`].
#[derive(Clone, Debug)]
pub struct Iter<'a, T> {
    inner: std::slice::Iter<'a, SelectorKey<T>>,
}

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = &'a SelectorKey<T>;

    #[inline]
    fn next(&mut self) -> Option<&'a SelectorKey<T>> {
        self.inner.next()
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<T> ExactSizeIterator for Iter<'_, T> {}
impl<T> FusedIterator for Iter<'_, T> {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn errors_follow_python_order() {
        let mut map = SelectorMap::new();
        assert!(matches!(
            map.check_vacant(3, Events::EMPTY),
            Err(Error::InvalidEvents { fd: 3 })
        ));
        assert!(matches!(
            map.check_vacant(raw::INVALID, Events::READ),
            Err(Error::InvalidFd { fd: raw::INVALID })
        ));
        map.insert(3, Events::READ, ());
        assert!(matches!(
            map.check_vacant(3, Events::WRITE),
            Err(Error::AlreadyRegistered { fd: 3 })
        ));
        assert!(matches!(map.key(4), Err(Error::NotRegistered { fd: 4 })));
        assert!(matches!(
            map.key(raw::INVALID),
            Err(Error::InvalidFd { fd: raw::INVALID })
        ));
        assert!(matches!(
            map.occupied(4).map(|_| ()),
            Err(Error::NotRegistered { fd: 4 })
        ));
        assert_eq!(map.occupied(3).unwrap().events(), Events::READ);
    }

    #[test]
    fn swap_remove_keeps_index_consistent() {
        let mut map = SelectorMap::new();
        for fd in [10, 3, 7, 0] {
            map.insert(fd, Events::READ, fd * 2);
        }
        assert_eq!(map.fd_bound(), 11);
        let (key, pos) = map.remove(3).unwrap();
        assert_eq!((key.fd, key.data, pos), (3, 6, 1));
        // The last key (fd 0) moved into position 1.
        assert_eq!(map.position(0), Some(1));
        assert_eq!(map.at(1).fd, 0);
        assert!(map.remove(3).is_none());
        map.remove(10).unwrap();
        assert_eq!(map.fd_bound(), 8);
        map.remove(7).unwrap();
        map.remove(0).unwrap();
        assert_eq!(map.fd_bound(), 0);
        assert!(map.is_empty());
    }

    /// Issue 12, defect 1: the index was sized by the fd number, so
    /// `insert(i32::MAX)` asked for 8 GiB and aborted the process.
    #[test]
    fn memory_follows_registrations_not_fd_numbers() {
        // The highest possible number, and one far above the dense index.
        const HIGHEST: RawFd = raw::HIGHEST;
        const MID: RawFd = raw::HIGHEST / 2;
        let mut map = SelectorMap::new();
        for fd in [HIGHEST, 3, MID, HIGHEST - 1, 100_000, 5] {
            map.insert(fd, Events::READ, fd);
        }
        assert!(map.heap_bytes() < 8192, "{} bytes", map.heap_bytes());
        assert_eq!(map.fd_bound(), HIGHEST as usize + 1);
        for fd in [HIGHEST, 3, MID, HIGHEST - 1, 100_000, 5] {
            assert_eq!(map[fd].data, fd);
        }
        assert!(!map.contains(HIGHEST - 2) && !map.contains(4));
        map.remove(HIGHEST).unwrap();
        assert_eq!(map.fd_bound(), HIGHEST as usize);
        map.remove(HIGHEST - 1).unwrap();
        assert_eq!(map.fd_bound(), MID as usize + 1);
        map.remove(MID).unwrap();
        map.remove(100_000).unwrap();
        assert_eq!(map.fd_bound(), 6);
        // Enough registrations move an overflow fd into the dense index.
        map.insert(5000, Events::READ, 5000);
        for fd in 6..700 {
            map.insert(fd, Events::WRITE, fd);
        }
        assert_eq!(map[5000].data, 5000);
        assert_eq!(map.fd_bound(), 5001);
        assert_eq!(map.remove(5000).unwrap().0.data, 5000);
        assert_eq!(map.fd_bound(), 700);
        assert_eq!(map.len(), 696);
    }

    #[test]
    fn tags_differ_between_registrations() {
        let mut map = SelectorMap::new();
        map.insert(4, Events::READ, ());
        let first = map.tag(4).unwrap();
        assert!(map.get_tagged(4, first).is_some());
        map.occupied(4).unwrap().update(Events::ALL, ());
        assert_eq!(map.tag(4), Some(first));
        map.remove(4);
        let predicted = map.next_tag();
        map.insert(4, Events::READ, ());
        let second = map.tag(4).unwrap();
        assert_eq!(second, predicted);
        assert_ne!(first, second);
        assert!(map.get_tagged(4, first).is_none());
        assert!(map.get_tagged(5, second).is_none());
    }

    #[test]
    fn matches_a_hashmap_under_random_operations() {
        // A tiny xorshift keeps the test deterministic without dependencies.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut rand = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let mut map = SelectorMap::new();
        let mut model: HashMap<RawFd, (Events, u64)> = HashMap::new();
        // Miri interprets every step: a shorter walk keeps it to seconds.
        let steps = if cfg!(miri) { 500 } else { 20_000u64 };
        for step in 0..steps {
            // Mostly small numbers, some far above the dense index.
            let fd = match rand(8) {
                0 => raw::HIGHEST - rand(64) as RawFd,
                1 => 2000 + rand(64) as RawFd,
                _ => rand(64) as RawFd,
            };
            let events = Events::from_bits(1 + rand(3) as u32).unwrap();
            match rand(3) {
                0 => {
                    let ok = map.check_vacant(fd, events).is_ok();
                    assert_eq!(ok, !model.contains_key(&fd));
                    if ok {
                        map.insert(fd, events, step);
                        model.insert(fd, (events, step));
                    }
                }
                1 => {
                    if let Ok(entry) = map.occupied(fd) {
                        // Even steps replace the data, odd ones keep it.
                        let (data, kept) = if step % 2 == 0 {
                            (entry.update(events, step).data, step)
                        } else {
                            (entry.set_events(events).data, model[&fd].1)
                        };
                        assert_eq!(data, kept);
                        model.insert(fd, (events, data));
                    } else {
                        assert!(!model.contains_key(&fd));
                    }
                }
                _ => {
                    let removed = map.remove(fd).map(|(k, _)| (k.events, k.data));
                    assert_eq!(removed, model.remove(&fd));
                }
            }
            assert_eq!(map.len(), model.len());
            let bound = model.keys().max().map_or(0, |&fd| fd as usize + 1);
            assert_eq!(map.fd_bound(), bound);
        }
        for key in &map {
            assert_eq!(model[&key.fd], (key.events, key.data));
            assert_eq!(map.at(map.position(key.fd).unwrap()).fd, key.fd);
        }
        assert_eq!(map.keys().len(), model.len());
    }

    #[test]
    fn index_and_collect() {
        use crate::backend::Collect;
        let mut map = SelectorMap::new();
        map.insert(1, Events::READ, 'a');
        assert_eq!(map[1].data, 'a');
        let mut out: Vec<crate::Ready<char>> = Vec::new();
        Collect::push(&mut out, &map, 1, 0, Events::READ);
        assert_eq!(out, [(map[1], Events::READ)]);
        // Into `select_events`' output: the fd, its tag, no data.
        let mut events: Vec<crate::Event> = Vec::new();
        Collect::push(&mut events, &map, 1, 0, Events::READ);
        assert_eq!(map.key_of(&events[0]).map(|key| key.data), Some('a'));
        assert_eq!(map.data_mut_of(&events[0]), Some(&mut 'a'));
        map.remove(1);
        map.insert(1, Events::READ, 'b');
        assert!(
            map.key_of(&events[0]).is_none(),
            "a new registration of fd 1"
        );
        map.occupied(1).unwrap().set_events(Events::ALL);
        assert_eq!((map[1].events, map[1].data), (Events::ALL, 'b'));
        assert!(map.heap_bytes() > 0);
    }

    /// An event finds its registration after an unregister moved its key
    /// (the position it carries is only a hint), and never another one.
    #[test]
    fn events_follow_keys_that_moved() {
        let mut map = SelectorMap::new();
        for (fd, data) in [(3, 'a'), (4, 'b'), (5, 'c')] {
            map.insert(fd, Events::READ, data);
        }
        let mut events: Vec<crate::Event> = Vec::new();
        for position in 0..3 {
            let fd = map.at(position).fd;
            crate::backend::Collect::push(&mut events, &map, fd, position, Events::READ);
        }
        map.remove(3); // fd 5's key moves into position 0
        assert!(map.key_of(&events[0]).is_none());
        assert_eq!(map.data_mut_of(&events[1]), Some(&mut 'b'));
        assert_eq!(map.key_of(&events[2]).map(|key| key.data), Some('c'));
        map.remove(5);
        map.insert(5, Events::READ, 'd'); // the same number, at position 1
        assert!(map.key_of(&events[2]).is_none());
        assert!(map.data_mut_of(&events[2]).is_none());
    }

    #[test]
    #[should_panic(expected = "fd 9 is not registered")]
    fn index_of_absent_fd_panics_like_key_error() {
        let map: SelectorMap<()> = SelectorMap::new();
        let _ = &map[9];
    }
}
