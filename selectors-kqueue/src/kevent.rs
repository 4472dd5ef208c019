//! For implementers: the seam between the [`Kqueue`](crate::Kqueue) adapter
//! and the `kevent(2)` system call.
//!
//! The adapter speaks [`Kev`], a portable copy of the few `struct kevent`
//! fields it uses, through the [`Kevent`] trait. On Apple and the BSDs the
//! trait is implemented by the real kqueue (what `KqueueSelector` runs on),
//! which converts to rustix's `Event` and back; in the workspace's tests on
//! Linux it is implemented by an in-process model of FreeBSD's kqueue (the
//! unpublished `selectors-test-support` crate). `rustix::event::kqueue::Event`
//! only exists on kqueue targets, hence the portable type.
//!
//! A [`Remote`] submits changes to a queue from other threads: the waker's
//! `NOTE_TRIGGER` of the selector's `EVFILT_USER` knote.

use std::fmt;
use std::io;
use std::ops::BitOr;
use std::os::unix::io::{AsFd, RawFd};
use std::time::Duration;

/// The kqueue filter a change or event is about: the only three a selector
/// uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Filter {
    /// `EVFILT_READ`.
    Read,
    /// `EVFILT_WRITE`.
    Write,
    /// `EVFILT_USER`: a knote that only `NOTE_TRIGGER` makes ready; its
    /// `ident` is a number of our choosing, not an fd. Apple, FreeBSD and
    /// DragonFly have it (NetBSD only since 10, OpenBSD not at all).
    User,
}

/// `NOTE_TRIGGER` in `fflags`: makes an `EVFILT_USER` knote ready (the
/// value of Apple and FreeBSD).
pub const NOTE_TRIGGER: u32 = 0x0100_0000;

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
    /// `EV_CLEAR`: delivering the event resets the knote's state (for
    /// `EVFILT_USER`: un-triggers it); in a change to an existing user
    /// knote, resets it at once.
    pub const CLEAR: Flags = Flags(32);

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
    /// `ident`: the fd, or the number of a user knote.
    pub ident: RawFd,
    /// `filter`.
    pub filter: Filter,
    /// `flags`.
    pub flags: Flags,
    /// `fflags`: filter-specific; only [`NOTE_TRIGGER`] is used.
    pub fflags: u32,
    /// `data`: errno in a receipt; bytes available in a read event.
    pub data: i64,
    /// `udata`: the registration tag, handed back untouched.
    pub udata: usize,
}

impl Kev {
    /// A change to submit: `fflags` and `data` are zero.
    #[inline]
    pub const fn change(ident: RawFd, filter: Filter, flags: Flags, udata: usize) -> Kev {
        Kev {
            ident,
            filter,
            flags,
            fflags: 0,
            data: 0,
            udata,
        }
    }

    /// The change that triggers the user knote `ident` (which must exist):
    /// no flag, `fflags` = [`NOTE_TRIGGER`], as the Go runtime does.
    #[inline]
    pub const fn trigger(ident: RawFd, udata: usize) -> Kev {
        Kev {
            fflags: NOTE_TRIGGER,
            ..Kev::change(ident, Filter::User, Flags::NONE, udata)
        }
    }
}

/// Something that does what `kevent(2)` does. `AsFd` gives the kqueue's fd
/// (`fileno()`).
pub trait Kevent: AsFd + Sized {
    /// A handle on the same queue for other threads.
    type Remote: Remote;

    /// A handle that submits changes to this queue from any thread. It keeps
    /// the queue alive: changes it submits after the queue's owner is gone
    /// land in a queue nobody waits on, harmlessly.
    fn remote(&self) -> Self::Remote;

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

/// Submits changes to a queue from any thread, without waiting and without
/// receipts: `kevent(kq, changes, NULL, 0, ...)`.
pub trait Remote: Send + Sync + fmt::Debug + 'static {
    /// Applies `changes` in order; a change the kernel refuses is the
    /// call's error (with an empty event list there is nowhere else to
    /// report it).
    fn submit(&self, changes: &[Kev]) -> io::Result<()>;
}
