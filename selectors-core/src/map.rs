//! `SelectorMap`: every registration of a selector, indexed by fd.

use std::fmt;
use std::iter::FusedIterator;
use std::ops::Index;
use std::os::unix::io::RawFd;

use crate::{Error, Events, FileObject, Result, SelectorKey};

/// The registrations of one selector: Python's `get_map()` mapping, from fd to
/// [`SelectorKey`].
///
/// Lookup, insertion and removal are O(1): keys live densely in a vector
/// (so iteration touches only live registrations) and a second vector maps
/// each fd number to its key's position. Removal moves the last key into the
/// hole (`swap_remove`), which backends that keep a kernel array parallel to
/// the keys (poll's `pollfd`s) mirror with one `swap_remove` of their own.
///
/// Users only ever see `&SelectorMap` (from
/// [`Selector::get_map`](crate::Selector::get_map)), a read-only view; the
/// `&mut self` methods are for backend implementations, which validate with
/// [`check_vacant`](Self::check_vacant) / [`key`](Self::key), make their
/// system call, and only then change the map, so a refused call leaves no
/// trace.
///
/// ```
/// use selectors_core::{Events, SelectorMap};
///
/// let mut map = SelectorMap::new();
/// map.check_vacant(5, Events::READ).unwrap();
/// map.insert(5, Events::READ, "five");
/// assert_eq!(map.len(), 1);
/// assert_eq!(map[5].data, "five");
/// assert!(map.contains(5));
/// assert_eq!(map.keys().collect::<Vec<_>>(), [5]);
/// ```
#[derive(Clone)]
pub struct SelectorMap<T> {
    /// Live registrations, densely packed.
    keys: Vec<SelectorKey<T>>,
    /// The tag of each key, at the same position (kept apart from the keys so
    /// that it costs 4 bytes, not 4 plus padding).
    tags: Vec<u32>,
    /// fd -> position in `keys` plus one; 0 means vacant. Never shrinks, so
    /// churn on a high fd costs no re-zeroing.
    slots: Vec<u32>,
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

impl<T> Default for SelectorMap<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> SelectorMap<T> {
    /// An empty map.
    pub const fn new() -> Self {
        SelectorMap {
            keys: Vec::new(),
            tags: Vec::new(),
            slots: Vec::new(),
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
    pub fn fd_bound(&self) -> usize {
        self.bound
    }

    /// The key of `fd`, or the error Python raises for it: `InvalidFd` if
    /// negative, `NotRegistered` if absent.
    #[inline]
    pub fn key(&self, fd: RawFd) -> Result<&SelectorKey<T>> {
        if fd < 0 {
            return Err(Error::InvalidFd { fd });
        }
        self.get(fd).ok_or(Error::NotRegistered { fd })
    }

    /// Checks that `fd` may be registered for `events`: the mask is not
    /// empty, the fd is not negative, and it is not registered yet.
    #[inline]
    pub fn check_vacant(&self, fd: RawFd, events: Events) -> Result<()> {
        if events.is_empty() {
            Err(Error::InvalidEvents { fd })
        } else if fd < 0 {
            Err(Error::InvalidFd { fd })
        } else if self.position(fd).is_some() {
            Err(Error::AlreadyRegistered { fd })
        } else {
            Ok(())
        }
    }

    /// Checks that the registered `fd` may be modified to `events`, and
    /// returns the events it has now.
    #[inline]
    pub fn check_modify(&self, fd: RawFd, events: Events) -> Result<Events> {
        let current = self.key(fd)?.events;
        if events.is_empty() {
            return Err(Error::InvalidEvents { fd });
        }
        Ok(current)
    }

    /// Records a new registration, after [`check_vacant`](Self::check_vacant)
    /// passed and the kernel accepted it. It goes at position
    /// [`len`](Self::len) (before the call) and gets a fresh
    /// [`tag`](Self::tag).
    ///
    /// # Panics
    ///
    /// If `fd` is negative or already registered.
    pub fn insert(&mut self, fd: RawFd, events: Events, data: T) -> &SelectorKey<T> {
        assert!(
            fd >= 0 && self.position(fd).is_none(),
            "fd {fd} is not vacant"
        );
        let idx = fd as usize;
        if idx >= self.slots.len() {
            crate::reserve_lean(&mut self.slots, idx + 1);
            self.slots.resize(idx + 1, 0);
        }
        let pos = self.keys.len();
        crate::reserve_lean(&mut self.keys, pos + 1);
        crate::reserve_lean(&mut self.tags, pos + 1);
        self.slots[idx] = pos as u32 + 1;
        self.bound = self.bound.max(idx + 1);
        self.tags.push(self.next_tag);
        self.next_tag = self.next_tag.wrapping_add(1).max(1);
        self.keys.push(SelectorKey { fd, events, data });
        &self.keys[pos]
    }

    /// Replaces the events and data of the registered `fd`, keeping its
    /// position and tag.
    ///
    /// # Panics
    ///
    /// If `fd` is not registered.
    pub fn update(&mut self, fd: RawFd, events: Events, data: T) -> &SelectorKey<T> {
        let pos = self
            .position(fd)
            .unwrap_or_else(|| panic!("fd {fd} is not registered"));
        let key = &mut self.keys[pos];
        key.events = events;
        key.data = data;
        key
    }

    /// Removes the registration of `fd` and returns its key and the position
    /// it had. The last key moves into that position (`swap_remove`).
    pub fn remove(&mut self, fd: RawFd) -> Option<(SelectorKey<T>, usize)> {
        let pos = self.position(fd)?;
        let idx = fd as usize;
        self.slots[idx] = 0;
        let key = self.keys.swap_remove(pos);
        self.tags.swap_remove(pos);
        if let Some(moved) = self.keys.get(pos) {
            self.slots[moved.fd as usize] = pos as u32 + 1;
        }
        if idx + 1 == self.bound {
            // Fds are usually dense, so the next occupied slot is close.
            self.bound = if self.keys.is_empty() {
                0
            } else {
                self.slots[..idx]
                    .iter()
                    .rposition(|&s| s != 0)
                    .map_or(0, |i| i + 1)
            };
        }
        Some((key, pos))
    }

    /// The position of `fd`'s key, if registered: an index into
    /// [`at`](Self::at) and into any array a backend keeps parallel to it.
    #[inline]
    pub fn position(&self, fd: RawFd) -> Option<usize> {
        if fd < 0 {
            return None;
        }
        match self.slots.get(fd as usize) {
            Some(&slot) if slot != 0 => Some(slot as usize - 1),
            _ => None,
        }
    }

    /// The key at `position`.
    ///
    /// # Panics
    ///
    /// If `position >= len()`.
    #[inline]
    pub fn at(&self, position: usize) -> &SelectorKey<T> {
        &self.keys[position]
    }

    /// The registration tag of `fd`: a number that differs between two
    /// successive registrations of the same fd (libev's generation counter).
    /// Backends store it beside the fd in the kernel's user data, so that
    /// events about an earlier registration can be recognised and dropped.
    #[inline]
    pub fn tag(&self, fd: RawFd) -> Option<u32> {
        self.position(fd).map(|pos| self.tags[pos])
    }

    /// The tag the next [`insert`](Self::insert) will give, so a backend can
    /// hand it to the kernel before it records the registration. Tags are
    /// never 0: a backend may use 0 for user data of its own.
    #[inline]
    pub fn next_tag(&self) -> u32 {
        self.next_tag
    }

    /// The key of `fd` if it is still the registration tagged `tag`.
    #[inline]
    pub fn get_tagged(&self, fd: RawFd, tag: u32) -> Option<&SelectorKey<T>> {
        let pos = self.position(fd)?;
        (self.tags[pos] == tag).then_some(&self.keys[pos])
    }

    /// A [`Debug`](fmt::Debug) view of the map as fd -> events, whatever
    /// `T` is: what a backend's `Debug` shows.
    ///
    /// ```
    /// use selectors_core::{Events, SelectorMap};
    ///
    /// let mut map = SelectorMap::new();
    /// map.insert(3, Events::READ, vec![1, 2, 3]);
    /// assert_eq!(format!("{:?}", map.debug_events()), "{3: READ}");
    /// ```
    pub fn debug_events(&self) -> impl fmt::Debug + '_ {
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
    pub fn heap_bytes(&self) -> usize {
        self.keys.capacity() * std::mem::size_of::<SelectorKey<T>>()
            + (self.tags.capacity() + self.slots.capacity()) * std::mem::size_of::<u32>()
    }
}

/// Appends `(key, ready)` to `out` unless `ready` is empty: the one way every
/// backend reports an fd from `select`.
#[inline]
pub fn push_ready<T: Clone>(
    out: &mut Vec<(SelectorKey<T>, Events)>,
    key: &SelectorKey<T>,
    ready: Events,
) {
    if !ready.is_empty() {
        out.push((key.clone(), ready));
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
            map.check_vacant(-1, Events::READ),
            Err(Error::InvalidFd { fd: -1 })
        ));
        map.insert(3, Events::READ, ());
        assert!(matches!(
            map.check_vacant(3, Events::WRITE),
            Err(Error::AlreadyRegistered { fd: 3 })
        ));
        assert!(matches!(map.key(4), Err(Error::NotRegistered { fd: 4 })));
        assert!(matches!(map.key(-2), Err(Error::InvalidFd { fd: -2 })));
        assert!(matches!(
            map.check_modify(4, Events::READ),
            Err(Error::NotRegistered { fd: 4 })
        ));
        assert!(matches!(
            map.check_modify(3, Events::EMPTY),
            Err(Error::InvalidEvents { fd: 3 })
        ));
        assert_eq!(map.check_modify(3, Events::WRITE).unwrap(), Events::READ);
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

    #[test]
    fn tags_differ_between_registrations() {
        let mut map = SelectorMap::new();
        map.insert(4, Events::READ, ());
        let first = map.tag(4).unwrap();
        assert!(map.get_tagged(4, first).is_some());
        map.update(4, Events::ALL, ());
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
            let fd = rand(64) as RawFd;
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
                    if map.check_modify(fd, events).is_ok() {
                        map.update(fd, events, step);
                        model.insert(fd, (events, step)).unwrap();
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
    fn index_and_push_ready() {
        let mut map = SelectorMap::new();
        map.insert(1, Events::READ, 'a');
        assert_eq!(map[1].data, 'a');
        let mut out = Vec::new();
        push_ready(
            &mut out,
            &map[1],
            Events::ready(Events::READ, false, true, false),
        );
        assert!(out.is_empty());
        push_ready(
            &mut out,
            &map[1],
            Events::ready(Events::READ, true, false, false),
        );
        assert_eq!(out, [(map[1], Events::READ)]);
        assert!(map.heap_bytes() > 0);
    }

    #[test]
    #[should_panic(expected = "fd 9 is not registered")]
    fn index_of_absent_fd_panics_like_key_error() {
        let map: SelectorMap<()> = SelectorMap::new();
        let _ = &map[9];
    }
}
