//! The seam between the selector's logic and the `kevent(2)` system call.
//!
//! The selector speaks [`Kev`], a portable copy of the few `struct kevent`
//! fields it uses, through the [`Kevent`] trait. On Apple and the BSDs the
//! trait is implemented by the real kqueue (`crate::kqueue::Kqueue`), which
//! converts to rustix's `Event` and back; in tests on Linux it is implemented
//! by `crate::model::ModelKqueue`. `rustix::event::kqueue::Event` only exists
//! on kqueue targets, hence the portable type.

use std::io;
use std::ops::BitOr;
use std::os::unix::io::{AsFd, RawFd};
use std::time::Duration;

/// The kqueue filter a change or event is about: the only two a selector
/// uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Filter {
    /// `EVFILT_READ`.
    Read,
    /// `EVFILT_WRITE`.
    Write,
}

/// The `kevent` flags the selector uses. The bit values are ours; the real
/// kqueue translates them one by one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Flags(u8);

impl Flags {
    /// No flag.
    pub const NONE: Flags = Flags(0);
    /// `EV_ADD`: add the knote, or update it if it exists.
    pub const ADD: Flags = Flags(1);
    /// `EV_DELETE`: remove the knote.
    pub const DELETE: Flags = Flags(2);
    /// `EV_RECEIPT`: report the outcome of this change at once, as an event
    /// with `EV_ERROR` set and `data` = errno (0 on success).
    pub const RECEIPT: Flags = Flags(4);
    /// `EV_EOF`: the filter hit end-of-file (peer closed, pipe widowed).
    pub const EOF: Flags = Flags(8);
    /// `EV_ERROR`: this event is a receipt or the error of a change.
    pub const ERROR: Flags = Flags(16);

    /// Both sets of flags (`|` in const contexts).
    #[inline]
    pub const fn union(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    /// Whether every flag of `other` is set.
    #[inline]
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for Flags {
    type Output = Flags;
    #[inline]
    fn bitor(self, rhs: Flags) -> Flags {
        self.union(rhs)
    }
}

/// One `struct kevent`, reduced to what a selector uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kev {
    /// `ident`: the fd.
    pub ident: RawFd,
    /// `filter`.
    pub filter: Filter,
    /// `flags`.
    pub flags: Flags,
    /// `data`: errno in a receipt; bytes available in a read event.
    pub data: i64,
    /// `udata`: the registration tag, handed back untouched.
    pub udata: usize,
}

impl Kev {
    /// A change to submit: `data` is zero.
    #[inline]
    pub const fn change(ident: RawFd, filter: Filter, flags: Flags, udata: usize) -> Kev {
        Kev {
            ident,
            filter,
            flags,
            data: 0,
            udata,
        }
    }
}

/// Something that does what `kevent(2)` does. `AsFd` gives the kqueue's fd
/// (`fileno()`).
pub trait Kevent: AsFd + Sized {
    /// Creates a new queue (`kqueue(2)`), close-on-exec.
    fn open() -> io::Result<Self>;

    /// `kevent(kq, changes, eventlist[..max], timeout)`: applies `changes` in
    /// order, then, unless a change produced a receipt or an error, waits up
    /// to `timeout` (`None`: forever) for at most `max` events. Each event
    /// (receipts included) is passed to `each`; returns how many there were.
    ///
    /// As in the kernel, `max == 0` returns at once whatever the timeout.
    fn kevent<F: FnMut(Kev)>(
        &mut self,
        changes: &[Kev],
        max: usize,
        timeout: Option<Duration>,
        each: F,
    ) -> io::Result<usize>;
}
