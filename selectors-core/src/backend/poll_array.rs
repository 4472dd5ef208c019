//! `PollArray`: the entry array of a poll-like primitive (`poll(2)`,
//! `WSAPoll`), kept parallel to the registrations between calls.

use std::fmt;

use super::{Collect, Sink, Slot};
use crate::Events;

/// The array a poll-like system call reads: the waker's entry first once
/// there is one, then one entry per registration at its position among the
/// map's dense keys. `register` pushes, `modify` rewrites in place and
/// `unregister` swap-removes, as the map does, so `select` never rebuilds
/// it. `E` is the platform's entry (`pollfd`, `WSAPOLLFD`).
#[derive(Clone)]
pub struct PollArray<E> {
    /// `entries[position + base]` is the entry of the registration at
    /// `position`; `entries[0]` is the waker's when there is one (`base` 1).
    entries: Vec<E>,
    base: usize,
}

impl<E> Default for PollArray<E> {
    fn default() -> Self {
        PollArray {
            entries: Vec::new(),
            base: 0,
        }
    }
}

impl<E> fmt::Debug for PollArray<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollArray")
            .field("len", &self.entries.len())
            .field("waker", &(self.base == 1))
            .finish()
    }
}

impl<E> PollArray<E> {
    /// Appends the entry of the registration `slot` (the map puts a new key
    /// last, so its position is the current length).
    #[inline]
    pub fn push(&mut self, slot: Slot, entry: E) {
        debug_assert_eq!(slot.position, self.registered().len());
        super::reserve_lean(&mut self.entries, slot.position + self.base + 1);
        self.entries.push(entry);
    }

    /// Replaces the entry of the registration `slot`.
    #[inline]
    pub fn set(&mut self, slot: Slot, entry: E) {
        self.entries[slot.position + self.base] = entry;
    }

    /// Removes the entry of the registration `slot`: the last one moves into
    /// its place, as the map's last key does.
    #[inline]
    pub fn remove(&mut self, slot: Slot) {
        self.entries.swap_remove(slot.position + self.base);
    }

    /// Puts the waker's entry first.
    pub fn set_waker(&mut self, entry: E) {
        if self.base == 1 {
            self.entries[0] = entry;
        } else {
            self.entries.insert(0, entry);
            self.base = 1;
        }
    }

    /// Drops the waker's entry, if there is one (after `fork`, the engine
    /// installs a new waker).
    pub fn remove_waker(&mut self) {
        if self.base == 1 {
            self.entries.remove(0);
            self.base = 0;
        }
    }

    /// The waker's entry, once there is one.
    #[inline]
    pub fn waker(&self) -> Option<&E> {
        self.entries[..self.base].first()
    }

    /// The registrations' entries, in the map's order.
    #[inline]
    pub fn registered(&self) -> &[E] {
        &self.entries[self.base..]
    }

    /// Every entry, the waker's first: what the system call takes.
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [E] {
        &mut self.entries
    }

    /// Whether there is no entry at all (no registration and no waker).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Hands the `n` entries the last call marked to `sink`, `ready` telling
    /// what an entry reports (`None`: nothing). The call counts the marked
    /// entries, so the walk stops after the last one. Out of line, so the
    /// idle poll stays small.
    #[inline(never)]
    pub fn collect<T, C: Collect<T>>(
        &self,
        n: usize,
        sink: &mut Sink<'_, T, C>,
        ready: impl Fn(&E) -> Option<Events>,
    ) {
        let mut left = n;
        if self.waker().and_then(&ready).is_some() {
            left -= 1;
            sink.woken();
        }
        for (position, entry) in self.registered().iter().enumerate() {
            if left == 0 {
                break;
            }
            if let Some(events) = ready(entry) {
                left -= 1;
                sink.at(position, events);
            }
        }
    }

    /// The bytes of heap it holds.
    pub fn heap_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<E>()
    }
}
