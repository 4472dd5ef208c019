//! `SocketSet`: a Winsock `fd_set` of any size; `List`: one with the
//! owner of each entry.

use windows_sys::Win32::Networking::WinSock::{FD_SET, SOCKET};

/// A Winsock `fd_set` that grows: `fd_count` and then `fd_array`, laid out
/// in one vector of `SOCKET`s whose first word plays `fd_count` (a `u_int`,
/// plus the padding before `fd_array` on 64-bit targets; Windows is
/// little-endian, so the count is the word's low half).
///
/// C's `FD_SET` has a fixed `FD_SETSIZE` (64, 512 in CPython's build), but
/// Winsock only reads `fd_count` entries, so this one holds any number.
/// Unlike Unix `fd_set`s it is a list, not a bitmap: O(1) `push` and
/// `swap_remove`, and `select` rewrites it with the ready sockets.
#[derive(Clone, Debug)]
pub(crate) struct SocketSet {
    words: Vec<SOCKET>,
}

impl Default for SocketSet {
    fn default() -> Self {
        SocketSet { words: vec![0] }
    }
}

impl SocketSet {
    /// How many sockets the set holds.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.words.len() - 1
    }

    /// The sockets, in set order.
    #[cfg(test)]
    pub(crate) fn sockets(&self) -> &[SOCKET] {
        &self.words[1..]
    }

    /// Appends `socket` and returns its index.
    pub(crate) fn push(&mut self, socket: SOCKET) -> usize {
        let needed = self.words.len() + 1;
        selectors_core::backend::reserve_lean(&mut self.words, needed);
        self.words.push(socket);
        self.words[0] = self.len();
        self.len() - 1
    }

    /// Removes the socket at `index`, moving the last one into its place;
    /// returns the socket that moved, if any.
    pub(crate) fn swap_remove(&mut self, index: usize) -> Option<SOCKET> {
        self.words.swap_remove(index + 1);
        self.words[0] = self.len();
        self.words.get(index + 1).copied()
    }

    /// Makes `self` a copy of `other` (no allocation once grown).
    pub(crate) fn copy_from(&mut self, other: &SocketSet) {
        self.words.clear();
        self.words.extend_from_slice(&other.words);
    }

    /// The set as `select` takes it, or null when empty: Winsock requires
    /// every set it is given to hold a socket.
    pub(crate) fn as_mut_ptr(&mut self) -> *mut FD_SET {
        if self.len() == 0 {
            std::ptr::null_mut()
        } else {
            self.words.as_mut_ptr().cast()
        }
    }

    /// The sockets `select` left in the set (the ready ones), after a call
    /// that was given [`as_mut_ptr`](Self::as_mut_ptr).
    pub(crate) fn ready(&self) -> &[SOCKET] {
        // `select` wrote a `u_int` into the low half of the first word.
        let count = (self.words[0] as u64 & u64::from(u32::MAX)) as usize;
        &self.words[1..1 + count.min(self.len())]
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.words.capacity() * std::mem::size_of::<SOCKET>()
    }
}

/// One of the selector's persistent lists: the sockets as `select` takes
/// them, and, parallel to them, the map position of each one's
/// registration, so that a `swap_remove`, which moves the last socket,
/// can say whose index changed.
#[derive(Clone, Debug, Default)]
pub(crate) struct List {
    pub(crate) set: SocketSet,
    owners: Vec<u32>,
}

impl List {
    /// How many sockets the list holds.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.owners.len()
    }

    /// Appends `socket`, owned by the registration at `owner`, and returns
    /// its index.
    pub(crate) fn push(&mut self, socket: SOCKET, owner: usize) -> u32 {
        let needed = self.owners.len() + 1;
        selectors_core::backend::reserve_lean(&mut self.owners, needed);
        // Map positions are `u32`s.
        self.owners.push(owner as u32);
        self.set.push(socket) as u32
    }

    /// Removes the socket at `index`, moving the last one into its place;
    /// returns the owner of the socket that moved, if any.
    pub(crate) fn swap_remove(&mut self, index: u32) -> Option<usize> {
        self.owners.swap_remove(index as usize);
        self.set.swap_remove(index as usize)?;
        Some(self.owners[index as usize] as usize)
    }

    /// Records that the socket at `index` is owned by the registration at
    /// `owner` now (the map moved it there).
    pub(crate) fn set_owner(&mut self, index: u32, owner: usize) {
        self.owners[index as usize] = owner as u32;
    }

    /// The socket at `index` and its owner.
    #[cfg(test)]
    pub(crate) fn entry(&self, index: u32) -> (SOCKET, usize) {
        let i = index as usize;
        (self.set.sockets()[i], self.owners[i] as usize)
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.set.heap_bytes() + self.owners.capacity() * std::mem::size_of::<u32>()
    }
}

// The layout this type mimics: a `u_int` count padded to one `SOCKET`,
// then the array, aligned like a `SOCKET`.
static_assertions::const_assert_eq!(
    std::mem::size_of::<FD_SET>(),
    65 * std::mem::size_of::<SOCKET>()
);
static_assertions::const_assert_eq!(
    std::mem::align_of::<FD_SET>(),
    std::mem::align_of::<SOCKET>()
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_and_swap_remove_keep_the_count_word() {
        let mut set = SocketSet::default();
        assert!(set.as_mut_ptr().is_null());
        for s in [40, 44, 48, 52] {
            set.push(s);
        }
        assert_eq!(set.sockets(), [40, 44, 48, 52]);
        assert_eq!(set.ready(), [40, 44, 48, 52]);
        assert_eq!(set.swap_remove(1), Some(52));
        assert_eq!(set.sockets(), [40, 52, 48]);
        assert_eq!(set.swap_remove(2), None);
        assert_eq!(set.sockets(), [40, 52]);
        let mut copy = SocketSet::default();
        copy.copy_from(&set);
        assert_eq!(copy.sockets(), [40, 52]);
        // SAFETY: the pointer is to `copy`'s live words, laid out as FD_SET.
        let count = unsafe { (*copy.as_mut_ptr()).fd_count };
        assert_eq!(count, 2);
    }

    #[test]
    fn a_list_names_the_owner_of_the_socket_it_moves() {
        let mut list = List::default();
        for (i, s) in [40, 44, 48].into_iter().enumerate() {
            assert_eq!(list.push(s, 10 + i), i as u32);
        }
        assert_eq!(list.swap_remove(0), Some(12));
        assert_eq!((list.entry(0), list.entry(1)), ((48, 12), (44, 11)));
        list.set_owner(0, 7);
        assert_eq!(list.entry(0), (48, 7));
        assert_eq!(list.swap_remove(1), None);
        assert_eq!(list.len(), 1);
        assert_eq!(list.set.sockets(), [48]);
    }
}
