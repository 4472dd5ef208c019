//! For backend implementers: the selector engine, the contract a kernel
//! adapter implements, and the helpers adapters share. Users never need
//! this module: everything they use is at the crate's root.
//!
//! [`Engine<A, T>`](Engine) implements [`Selector<T>`](crate::Selector)
//! once, over any [`Adapter`] `A`: it validates in Python's order, tags
//! registrations, changes the map only after the kernel accepted a change,
//! unregisters after a failed modify, tolerates fds that are gone on
//! unregister, turns `EINTR` into an empty result, merges READ and WRITE
//! into one entry per fd, masks readiness by the registration, sleeps out
//! the timeout of an empty selector whose primitive refuses to wait on
//! nothing (Winsock), and sets up and drains the waker. An adapter only translates between this contract
//! and one OS primitive (ARCHITECTURE.md, "The adapter contract"):
//!
//! | the engine calls | the adapter |
//! |---|---|
//! | [`open`](Adapter::open) | creates its kernel object |
//! | [`add`](Adapter::add), [`modify`](Adapter::modify), [`delete`](Adapter::delete) | changes the kernel's interest in one [`Slot`] |
//! | [`wait`](Adapter::wait) | waits once and hands each kernel event to the [`Sink`] |
//! | [`install_waker`](Adapter::install_waker) | watches a [`Wake`] source for readability |
//! | [`is_gone`](Adapter::is_gone) | says which errno means "the fd was closed" |
//! | [`after_fork`](Adapter::after_fork) | in a forked child: a kernel object of its own |
//! | [`tidy`](Adapter::tidy) | after stale events: drops what the kernel still watches for nothing |
//!
//! The backend crate then names the selector:
//! `pub type PollSelector<T = ()> = Engine<Poll, T>;`.
//!
//! The helpers adapters share: [`readiness`] (a kernel's flags as
//! [`Events`]), [`reserve_lean`] (per-fd arrays grow by an eighth),
//! [`MAX_TIMEOUT`] and [`millis_round_up`], the waker's pieces ([`Wake`],
//! [`WakePipe`], [`renumber_avoiding`], [`waker`]), [`slots`] and
//! [`fd_bound`] (what the map holds, as an adapter names it), and
//! [`PollArray`] (the entry array of `poll(2)` and `WSAPoll`). Only the
//! engine changes the map, so a refused call leaves no trace.

use std::fmt;
use std::io;
use std::time::Duration;

use crate::{Events, RawFd, SelectorMap, Waker};

mod engine;
mod poll_array;
mod sink;
#[cfg(test)]
mod tests;

pub use crate::growth::reserve_lean;
pub use crate::timeout::{millis_round_up, MAX_TIMEOUT};
pub use crate::waker::{renumber_avoiding, Wake, WakePipe};
pub use engine::Engine;
pub use poll_array::PollArray;
pub use sink::{Collect, Sink, Waited};

/// The timeout [`Adapter::wait`] gets: `None` waits forever, and the engine
/// has capped it at [`MAX_TIMEOUT`].
pub type Timeout = Option<Duration>;

/// What [`Adapter::wait`] returns: whether it found anything, or the call
/// the kernel refused.
pub type Wait = Result<Waited, Refused>;

/// One registration, as an adapter names it to the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// The registered fd (never negative).
    pub fd: RawFd,
    /// The registration's tag: it differs between two successive
    /// registrations of one fd and is never 0 (libev's generation counter).
    /// Kernels that hand user data back (epoll, kqueue) carry it, so that
    /// events about an earlier registration are recognised
    /// ([`Sink::tagged`]).
    pub tag: u32,
    /// The registration's position among the map's dense keys: `len()` for
    /// a new one. A removal moves the last key into the hole
    /// (`swap_remove`); an array kept parallel to the keys (poll's
    /// `pollfd`s) does the same.
    pub position: usize,
}

/// A system call the kernel refused: its name and the error, and the fd it
/// was about when the adapter knows better than the engine (select's
/// `EBADF` culprit).
#[derive(Debug)]
pub struct Refused {
    /// The system call, e.g. `"epoll_ctl(EPOLL_CTL_ADD)"`.
    pub op: &'static str,
    /// The fd it was about, if not the one the engine asked about.
    pub fd: Option<RawFd>,
    /// What the kernel said.
    pub error: io::Error,
}

impl Refused {
    /// `op` failed with `error`.
    #[inline]
    pub fn new(op: &'static str, error: impl Into<io::Error>) -> Refused {
        Refused {
            op,
            fd: None,
            error: error.into(),
        }
    }

    /// The same refusal, about `fd`.
    #[inline]
    pub fn about(self, fd: RawFd) -> Refused {
        Refused {
            fd: Some(fd),
            ..self
        }
    }

    /// The same refusal, about the first registration of `map` that `gone`
    /// says is no longer open, if any: for a wait the kernel failed because
    /// of one closed fd without saying which (select's `EBADF`, Winsock's
    /// `WSAENOTSOCK`; libev's `fd_ebadf`).
    #[cold]
    pub fn blaming<T>(self, map: &SelectorMap<T>, mut gone: impl FnMut(RawFd) -> bool) -> Refused {
        match map.keys().find(|&fd| gone(fd)) {
            Some(fd) => self.about(fd),
            None => self,
        }
    }
}

impl From<Refused> for crate::Error {
    fn from(r: Refused) -> crate::Error {
        crate::Error::Os {
            fd: r.fd,
            op: r.op,
            source: r.error,
        }
    }
}

/// The readiness of one fd from what the kernel said: `other` is any
/// condition besides readable and writable (error, hang-up, invalid fd,
/// urgent data), which counts as both, as in CPython, so whoever waits on
/// the fd wakes up and meets the condition in its next read or write. The
/// engine then masks it by the registration.
///
/// ```
/// use selectors_core::backend::readiness;
/// use selectors_core::Events;
///
/// // A hang-up wakes a reader and a writer...
/// assert_eq!(readiness(false, false, true), Events::ALL);
/// // ...and a write-only registration never hears of readability.
/// assert_eq!(readiness(true, false, false) & Events::WRITE, Events::EMPTY);
/// ```
#[inline]
pub const fn readiness(readable: bool, writable: bool, other: bool) -> Events {
    Events::ready(Events::ALL, readable, writable, other)
}

/// What a kernel adapter implements: the translation between the engine
/// and one OS primitive. See the [module docs](self) and ARCHITECTURE.md.
///
/// The engine calls `add`, `modify` and `delete` only with valid arguments
/// (a non-negative fd, non-empty events; `add` for an fd not registered,
/// `modify` and `delete` for one that is) and changes its map only after
/// the call succeeded.
pub trait Adapter: Sized + fmt::Debug {
    /// The selector's name, for its `Debug`: `"EpollSelector"`, ...
    const NAME: &'static str;

    /// Whether the kernel reports the readiness of one fd as several events
    /// (kqueue's read and write filters): the engine then merges them into
    /// one entry per fd.
    const SPLITS_EVENTS: bool = false;

    /// Whether the primitive fails a wait on nothing (Winsock's `select`
    /// and `WSAPoll` do, with `WSAEINVAL`): with no registration and no
    /// waker, the engine then sleeps for the timeout instead of calling
    /// [`wait`](Self::wait), as `select(2)` and `poll(2)` do on Unix.
    const REFUSES_EMPTY_WAIT: bool = false;

    /// Creates the kernel object, if the primitive has one.
    ///
    /// # Errors
    ///
    /// If the kernel refuses it (`EMFILE`, ...).
    fn open() -> io::Result<Self>;

    /// Whether the primitive can watch `fd` at all; the engine's `register`
    /// refuses one it cannot with `InvalidFd` (CPython's `ValueError`), after
    /// the other checks. Every fd by default.
    fn can_watch(&mut self, fd: RawFd) -> bool {
        let _ = fd;
        true
    }

    /// Starts watching `slot.fd` for `events`.
    ///
    /// # Errors
    ///
    /// The refused call; the adapter leaves nothing behind in the kernel.
    fn add(&mut self, slot: Slot, events: Events) -> Result<(), Refused>;

    /// Changes what `slot.fd` is watched for, from `old` to `new` (they
    /// differ).
    ///
    /// # Errors
    ///
    /// The refused call. The adapter leaves the kernel as it was or with
    /// less (never watching more than `old`); the engine then calls
    /// [`delete`](Self::delete) with `old` and forgets the registration, as
    /// Python does.
    fn modify(&mut self, slot: Slot, old: Events, new: Events) -> Result<(), Refused>;

    /// Stops watching `slot.fd`, registered for `events`. The engine removes
    /// the registration after this call unless it fails with an error
    /// other than [`is_gone`](Self::is_gone).
    ///
    /// # Errors
    ///
    /// The refused call.
    fn delete(&mut self, slot: Slot, events: Events) -> Result<(), Refused>;

    /// Whether `error`, from [`delete`](Self::delete), means that the fd
    /// was closed since it was registered (and perhaps its number reused),
    /// so that there is nothing left to delete. None by default, for
    /// adapters whose `delete` never fails (poll, select).
    fn is_gone(error: &io::Error) -> bool {
        let _ = error;
        false
    }

    /// Waits once, for at most `timeout` (`None`: forever; at most
    /// [`MAX_TIMEOUT`]), and hands every kernel event to `sink`; says
    /// whether it handed any ([`Waited::Nothing`] lets the engine return at
    /// once: the idle `select`).
    ///
    /// # Errors
    ///
    /// The refused wait; `EINTR` is fine (the engine returns nothing).
    fn wait<T, C: Collect<T>>(&mut self, timeout: Timeout, sink: &mut Sink<'_, T, C>) -> Wait;

    /// Creates the selector's waker and starts watching it; events about it
    /// go to [`Sink::woken`]. Called at most once. Returns the waker and the
    /// fd the adapter watches, if any (the engine refuses to register that
    /// fd, and drains the waker through [`Wake::drain`] after a wake).
    ///
    /// The waker's fds must not take the number of a registered fd (one
    /// closed behind the selector's back frees its number, which the kernel
    /// hands out next): create them with [`WakePipe::avoiding`] or
    /// [`renumber_avoiding`], passing `|fd| map.contains(fd)`.
    ///
    /// # Errors
    ///
    /// If the waker's fd cannot be created or watched.
    fn install_waker<T>(&mut self, map: &SelectorMap<T>) -> io::Result<(Waker, Option<RawFd>)>;

    /// In the child after `fork(2)`: replaces whatever kernel object the
    /// child shares with the parent (epoll) or did not inherit (kqueue),
    /// watching every registration of `map` again (one whose fd the child
    /// closed is skipped), and stops watching `waker`, the fd watched for
    /// the old waker if any: the engine then installs a new one.
    ///
    /// # Errors
    ///
    /// If a new kernel object cannot be created; the adapter is then as
    /// before. [`Unsupported`](io::ErrorKind::Unsupported) by default,
    /// as [`Selector::after_fork_in_child`](crate::Selector::after_fork_in_child).
    fn after_fork<T>(&mut self, map: &SelectorMap<T>, waker: Option<RawFd>) -> io::Result<()> {
        let _ = (map, waker);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this selector cannot be rebuilt after fork",
        ))
    }

    /// Called after a wait that saw an event [`Sink::stale`] reported: drop
    /// whatever the kernel keeps watching for no registration. `map` holds
    /// the live registrations. Never an error: the wait succeeded, and the
    /// `select` returns what it found; a clean-up that cannot be done now
    /// (no fd or memory left) leaves the kernel's set as it was, for the
    /// next wait that sees a stale event.
    ///
    /// Returns whether looking again could find live events the stale ones
    /// hid (the set was tidied, or the adapter made room for more events):
    /// the engine then does so if the wait found nothing else, and
    /// otherwise returns empty, as on a signal. Nothing to tidy by default.
    fn tidy<T>(&mut self, map: &SelectorMap<T>) -> bool {
        let _ = map;
        true
    }

    /// Heap bytes the adapter holds, for memory accounting.
    fn heap_bytes(&self) -> usize {
        0
    }

    /// Adds what the adapter shows of itself to the selector's `Debug`.
    /// Nothing by default.
    fn fmt_fields<T>(&self, map: &SelectorMap<T>, d: &mut fmt::DebugStruct<'_, '_>) {
        let _ = (map, d);
    }
}

/// Every registration of `map` as the [`Slot`] an adapter names it by, with
/// its events: what [`Adapter::tidy`] rebuilds from.
pub fn slots<T>(map: &SelectorMap<T>) -> impl Iterator<Item = (Slot, crate::Events)> + '_ {
    map.iter().enumerate().map(move |(position, key)| {
        let slot = Slot {
            fd: key.fd,
            tag: map.tag_at(position),
            position,
        };
        (slot, key.events)
    })
}

/// A [`Waker`] that calls `inner.wake()`: what
/// [`Adapter::install_waker`] returns. The adapter keeps its own `Arc` to
/// the same object if it needs one; the engine drains the waker through
/// [`Wake::drain`].
pub fn waker<W: Wake + 'static>(inner: std::sync::Arc<W>) -> Waker {
    Waker::new(inner)
}

/// The [`Slot`] of `fd`'s registration if it is still the one tagged
/// `tag`: how an adapter that keeps its own per-registration state (a
/// request the kernel completes later) finds that state's registration,
/// and knows a completion of an earlier registration of the same number.
#[inline]
pub fn slot_tagged<T>(map: &SelectorMap<T>, fd: RawFd, tag: u32) -> Option<Slot> {
    map.position_tagged(fd, tag)
        .map(|position| Slot { fd, tag, position })
}

/// One past the highest fd registered in `map` (0 when empty): the `nfds`
/// of `select(2)`.
#[inline]
pub fn fd_bound<T>(map: &SelectorMap<T>) -> usize {
    map.fd_bound()
}
