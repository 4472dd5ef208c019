//! `ReadyMerger`: one `select` entry per fd when the kernel reports several.

use crate::backend::Collect;
use crate::{Events, SelectorMap};

/// Merges the separate kernel events a backend receives about one fd into a
/// single `(key, events)` entry, as every `select` must report (CPython
/// gh-110038).
///
/// kqueue reports the read and the write filter of one fd as two events, in
/// no particular order. The merger remembers, per key position in the
/// [`SelectorMap`], where that key's entry went in the output during the
/// current round, so merging costs O(1) per kernel event, needs no clearing
/// between rounds and allocates only when the map grew. The engine uses it
/// for adapters that [split events](crate::backend::Adapter::SPLITS_EVENTS).
#[derive(Clone, Debug, Default)]
pub(crate) struct ReadyMerger {
    /// Per key position: (round, index in the output) of its entry.
    marks: Vec<(u32, u32)>,
    /// The current round; marks of other rounds are stale. Never 0, so a
    /// fresh mark never matches.
    round: u32,
}

impl ReadyMerger {
    /// A merger with no memory yet.
    pub(crate) const fn new() -> Self {
        ReadyMerger {
            marks: Vec::new(),
            round: 0,
        }
    }

    /// Starts merging one `select`'s events: clears `out` and forgets the
    /// previous round.
    pub(crate) fn start<T, C: Collect<T>>(&mut self, map: &SelectorMap<T>, out: &mut C) {
        out.clear();
        self.round = self.round.wrapping_add(1);
        if self.round == 0 {
            // Wrapped: old marks could match again, so wipe them once.
            self.marks.iter_mut().for_each(|mark| *mark = (0, 0));
            self.round = 1;
        }
        if self.marks.len() < map.len() {
            self.marks.resize(map.len(), (0, 0));
        }
    }

    /// Reports `events` for the key at `position` of `map`: appends a new
    /// entry to `out`, or ORs them into the entry this key already has in
    /// this round. Empty `events` are ignored.
    ///
    /// # Panics
    ///
    /// If `position` is not a position of `map`, or `map` grew since
    /// [`start`](Self::start).
    pub(crate) fn add<T, C: Collect<T>>(
        &mut self,
        map: &SelectorMap<T>,
        out: &mut C,
        position: usize,
        events: Events,
    ) {
        if events.is_empty() {
            return;
        }
        let mark = &mut self.marks[position];
        if mark.0 == self.round {
            out.merge(mark.1 as usize, events);
        } else {
            *mark = (self.round, out.count() as u32);
            out.push(map, map.at(position).fd, position, events);
        }
    }

    /// Heap bytes this merger holds, for memory accounting.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.marks.capacity() * std::mem::size_of::<(u32, u32)>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Ready;

    #[test]
    fn one_entry_per_fd_whatever_the_order() {
        let mut map = SelectorMap::new();
        for fd in [3, 9, 4] {
            map.insert(fd, Events::ALL, fd);
        }
        let pos = |fd| map.position(fd).unwrap();
        let mut merger = ReadyMerger::new();
        let mut out = vec![(map[3], Events::READ)]; // left over: cleared
        merger.start(&map, &mut out);
        merger.add(&map, &mut out, pos(9), Events::WRITE);
        merger.add(&map, &mut out, pos(4), Events::READ);
        merger.add(&map, &mut out, pos(3), Events::EMPTY);
        merger.add(&map, &mut out, pos(9), Events::READ);
        assert_eq!(out, [(map[9], Events::ALL), (map[4], Events::READ)]);

        // A new round starts afresh.
        merger.start(&map, &mut out);
        assert!(out.is_empty());
        merger.add(&map, &mut out, pos(9), Events::READ);
        assert_eq!(out, [(map[9], Events::READ)]);
    }

    #[test]
    fn survives_round_wraparound_and_growth() {
        let mut map = SelectorMap::new();
        map.insert(1, Events::ALL, ());
        let mut merger = ReadyMerger::new();
        let mut out: Vec<Ready<()>> = Vec::new();
        merger.start(&map, &mut out);
        merger.add(&map, &mut out, 0, Events::READ);
        merger.round = u32::MAX;
        merger.start(&map, &mut out);
        assert_eq!(merger.round, 1);
        merger.add(&map, &mut out, 0, Events::WRITE);
        assert_eq!(out, [(map[1], Events::WRITE)]);

        map.insert(2, Events::READ, ());
        merger.start(&map, &mut out);
        merger.add(&map, &mut out, 1, Events::READ);
        merger.add(&map, &mut out, 0, Events::READ);
        assert_eq!(out.len(), 2);
        assert!(merger.heap_bytes() >= 16);
    }
}
