//! The read and write fd sets `select(2)` takes, kept between calls.

use std::os::unix::io::RawFd;

use rustix::event::{fd_set_insert, fd_set_num_elements, fd_set_remove, FdSetElement, FdSetIter};
use selectors_core::Events;

/// The registered interest as two bit sets (the masters, changed only by
/// register, modify and unregister) plus the two sets the kernel overwrites
/// (refilled from the masters before each call). The write set is handed to
/// the kernel only while some fd is registered for writing, which spares it
/// copying and scanning an empty set on every call of a read-only loop.
///
/// Every set holds exactly enough elements for `nfds` = one past the highest
/// registered fd, so `select(2)` never reads past them and fds above
/// `FD_SETSIZE` work. Once the working sets have grown to the masters'
/// size, refilling them allocates nothing.
#[derive(Clone, Default)]
pub(crate) struct FdSets {
    read: Vec<FdSetElement>,
    write: Vec<FdSetElement>,
    ready_read: Vec<FdSetElement>,
    ready_write: Vec<FdSetElement>,
    /// How many fds have their bit in `write`.
    writers: usize,
}

impl FdSets {
    /// Changes `fd`'s bits from `old` (empty for a new fd) to `events`,
    /// growing the masters to hold `nfds`.
    #[inline]
    pub(crate) fn set(&mut self, fd: RawFd, old: Events, events: Events, nfds: usize) {
        self.resize(nfds);
        self.writers =
            self.writers + usize::from(events.is_writable()) - usize::from(old.is_writable());
        for (set, wanted) in [
            (&mut self.read, events.is_readable()),
            (&mut self.write, events.is_writable()),
        ] {
            if wanted {
                fd_set_insert(set, fd);
            } else {
                fd_set_remove(set, fd);
            }
        }
    }

    /// Clears `fd`'s bits, which were `old`, and shrinks the masters to
    /// `nfds` (the bound once `fd` is gone).
    #[inline]
    pub(crate) fn clear(&mut self, fd: RawFd, old: Events, nfds: usize) {
        self.writers -= usize::from(old.is_writable());
        fd_set_remove(&mut self.read, fd);
        fd_set_remove(&mut self.write, fd);
        self.resize(nfds);
    }

    /// Makes the masters exactly as long as `nfds` needs. Bits beyond a
    /// shrunken bound are already clear, so truncating loses nothing.
    #[inline]
    pub(crate) fn resize(&mut self, nfds: usize) {
        let len = fd_set_num_elements(0, nfds_c(nfds));
        self.read.resize(len, FdSetElement::default());
        self.write.resize(len, FdSetElement::default());
    }

    /// Copies the masters into the working sets and lends those out for the
    /// kernel to overwrite: the write set only if some fd is in it.
    #[inline]
    pub(crate) fn prepare(&mut self) -> (&mut [FdSetElement], Option<&mut [FdSetElement]>) {
        self.ready_read.clear();
        self.ready_read.extend_from_slice(&self.read);
        self.ready_write.clear();
        if self.writers == 0 {
            return (&mut self.ready_read, None);
        }
        self.ready_write.extend_from_slice(&self.write);
        (&mut self.ready_read, Some(&mut self.ready_write))
    }

    /// The fds the last `select` marked, in ascending order, each once with
    /// whether it was readable and whether it was writable.
    #[inline]
    pub(crate) fn ready(&self) -> Ready<'_> {
        Ready {
            read: FdSetIter::new(&self.ready_read).peekable(),
            write: FdSetIter::new(&self.ready_write).peekable(),
        }
    }

    /// Heap bytes held, for memory accounting.
    pub(crate) fn heap_bytes(&self) -> usize {
        (self.read.capacity()
            + self.write.capacity()
            + self.ready_read.capacity()
            + self.ready_write.capacity())
            * std::mem::size_of::<FdSetElement>()
    }
}

/// `nfds` as the `int` the system call takes. Fds are `int`s, so one past
/// the highest fits unless that fd is `INT_MAX`, which no kernel hands out.
#[inline]
pub(crate) fn nfds_c(nfds: usize) -> RawFd {
    RawFd::try_from(nfds).unwrap_or(RawFd::MAX)
}

/// The union of the two result sets, merged by fd: `(fd, readable, writable)`.
pub(crate) struct Ready<'a> {
    read: std::iter::Peekable<FdSetIter<'a>>,
    write: std::iter::Peekable<FdSetIter<'a>>,
}

impl Iterator for Ready<'_> {
    type Item = (RawFd, bool, bool);

    #[inline]
    fn next(&mut self) -> Option<(RawFd, bool, bool)> {
        // A read-only loop lends no write set: no merge per fd then.
        let Some(&write) = self.write.peek() else {
            return self.read.next().map(|fd| (fd, true, false));
        };
        let read = self.read.peek().copied();
        let fd = read.map_or(write, |read| read.min(write));
        let (readable, writable) = (read == Some(fd), write == fd);
        if readable {
            self.read.next();
        }
        if writable {
            self.write.next();
        }
        Some((fd, readable, writable))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready_after_copy(sets: &mut FdSets) -> Vec<(RawFd, bool, bool)> {
        sets.prepare();
        sets.ready().collect()
    }

    #[test]
    fn merges_read_and_write_by_fd() {
        let mut sets = FdSets::default();
        let none = Events::EMPTY;
        sets.set(3, none, Events::READ, 4);
        sets.set(5, none, Events::ALL, 6);
        sets.set(64, none, Events::WRITE, 65);
        sets.set(2000, none, Events::READ, 2001);
        assert_eq!(
            ready_after_copy(&mut sets),
            [
                (3, true, false),
                (5, true, true),
                (64, false, true),
                (2000, true, false)
            ]
        );
        sets.set(5, Events::ALL, Events::WRITE, 2001);
        sets.clear(2000, Events::READ, 65);
        assert_eq!(
            ready_after_copy(&mut sets),
            [(3, true, false), (5, false, true), (64, false, true)]
        );
        assert_eq!(sets.read.len(), fd_set_num_elements(0, 65));
        sets.clear(64, Events::WRITE, 6);
        sets.clear(5, Events::WRITE, 4);
        sets.clear(3, Events::READ, 0);
        assert!(sets.read.is_empty() && sets.write.is_empty());
        assert_eq!(ready_after_copy(&mut sets), []);
    }

    #[test]
    fn write_set_is_lent_only_while_some_fd_is_in_it() {
        let mut sets = FdSets::default();
        sets.set(3, Events::EMPTY, Events::READ, 4);
        assert!(sets.prepare().1.is_none());
        sets.set(3, Events::READ, Events::ALL, 4);
        sets.set(7, Events::EMPTY, Events::WRITE, 8);
        assert!(sets.prepare().1.is_some());
        sets.clear(7, Events::WRITE, 4);
        assert!(sets.prepare().1.is_some());
        assert_eq!(ready_after_copy(&mut sets), [(3, true, true)]);
        sets.set(3, Events::ALL, Events::READ, 4);
        assert!(sets.prepare().1.is_none());
        assert_eq!(ready_after_copy(&mut sets), [(3, true, false)]);
    }

    #[test]
    fn refilling_keeps_capacity() {
        let mut sets = FdSets::default();
        sets.set(4000, Events::EMPTY, Events::READ, 4001);
        sets.prepare();
        let before = sets.heap_bytes();
        for _ in 0..10 {
            let (r, _) = sets.prepare();
            r.iter_mut().for_each(|e| *e = FdSetElement::default());
        }
        assert_eq!(sets.heap_bytes(), before);
        assert_eq!(ready_after_copy(&mut sets), [(4000, true, false)]);
    }
}
