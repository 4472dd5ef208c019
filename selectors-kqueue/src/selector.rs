//! `KqueueSelector`: the engine on kqueue, over any [`Kevent`] (the real
//! kqueue, or the model the workspace's tests run it on). The adapter turns
//! each registration into one knote per filter, checked by `EV_RECEIPT`
//! (ARCHITECTURE.md).

use std::fmt;
use std::io;
use std::os::unix::io::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use rustix::io::Errno;
use selectors_core::backend::{
    self, Adapter, Collect, Refused, Sink, Slot, Timeout, Wait, Waited, Wake, WakePipe,
};
use selectors_core::{Events, SelectorMap, Waker};

use crate::kevent::{Filter, Flags, Kev, Kevent, Remote};

/// A selector on [`kqueue(2)`]: Python's `selectors.KqueueSelector`.
///
/// Each registration is one knote per event (`EVFILT_READ`, `EVFILT_WRITE`),
/// added, changed and deleted in a single `kevent` call with `EV_RECEIPT`,
/// so the kernel's verdict on each filter is checked and a refusal leaves
/// nothing behind, neither in the map nor in the kernel. `select` reports
/// the read and write filters of one fd as one entry; a filter flagged
/// `EV_EOF` or `EV_ERROR` counts as the filter's own event (the next read or
/// write meets the condition), as in CPython.
///
/// Its [`waker`](selectors_core::Selector::waker) is an `EVFILT_USER` knote added with
/// `EV_CLEAR`, so that delivering the wake consumes it and wakes coalesce;
/// `wake` triggers it (`NOTE_TRIGGER`) from any thread. Where rustix has no
/// `EVFILT_USER` (NetBSD, OpenBSD) it is a socket pair watched with
/// `EVFILT_READ`. Either way its events carry `udata` 0, which no
/// registration's tag is, and are never reported.
///
/// The kqueue fd ([`AsRawFd`], Python's `fileno()`) is close-on-exec. Note
/// that kqueues are not inherited across `fork(2)` on macOS and the BSDs: a
/// child process calls
/// [`after_fork_in_child`](selectors_core::Selector::after_fork_in_child),
/// which opens a new kqueue with the same registrations, or creates its own
/// selector.
///
/// ```
/// # #[cfg(any(target_vendor = "apple", target_os = "freebsd", target_os = "netbsd",
/// #           target_os = "openbsd", target_os = "dragonfly"))] {
/// use selectors_kqueue::KqueueSelector;
/// use selectors_core::{Events, Selector};
/// use std::io::Write;
/// use std::os::unix::net::UnixStream;
/// use std::time::Duration;
///
/// let (a, mut b) = UnixStream::pair()?;
/// let mut sel = KqueueSelector::new()?;
/// sel.register(&a, Events::READ | Events::WRITE, "a")?;
/// b.write_all(b"x")?;
/// let ready = sel.select(Some(Duration::from_secs(5)))?;
/// assert_eq!(ready.len(), 1); // one entry, both filters merged
/// assert_eq!(ready[0].1, Events::READ | Events::WRITE);
/// # }
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// [`kqueue(2)`]: https://man.freebsd.org/cgi/man.cgi?query=kqueue&sektion=2
#[cfg(kqueue)]
pub type KqueueSelector<T = ()> = backend::Engine<Kqueue<crate::kqueue::Kernel>, T>;

/// For implementers: the kernel adapter of `KqueueSelector`, a kqueue
/// reached through `K` (the real kernel in `KqueueSelector`; the
/// workspace's tests run `Engine<Kqueue<K>, T>` on Linux with a model of
/// FreeBSD's kqueue as `K`).
pub struct Kqueue<K> {
    kq: K,
    /// Registered filters: the size of the event list a wait asks for.
    filters: usize,
    wake: Option<WakeSource>,
}

/// The `ident` of the waker's `EVFILT_USER` knote. User knotes are a
/// namespace of their own (knotes are keyed by ident *and* filter), so 0
/// collides with no fd registration.
const WAKE_IDENT: RawFd = 0;

/// The `udata` of the waker's knote: registration tags are never 0.
const WAKE_UDATA: usize = 0;

/// What the kqueue watches for wakes.
#[derive(Clone, Copy, Debug)]
enum WakeSource {
    /// The `EVFILT_USER` knote [`WAKE_IDENT`]: nothing to drain.
    User,
    /// Where `EVFILT_USER` is missing: the read end of a socket pair, as an
    /// `EVFILT_READ` knote.
    Pipe(RawFd),
}

/// The [`Wake`] of a user knote: `NOTE_TRIGGER`, from any thread, through
/// a handle that keeps the kqueue open (a wake after the selector is gone
/// triggers a knote nobody waits on).
#[derive(Debug)]
struct UserTrigger<R>(R);

impl<R: Remote> Wake for UserTrigger<R> {
    fn wake(&self) -> io::Result<()> {
        // Triggering a triggered knote changes nothing: wakes coalesce.
        self.0.submit(&[Kev::trigger(WAKE_IDENT, WAKE_UDATA)])
    }
}

/// Up to two changes about one fd: a stack-allocated change list.
struct Changes {
    list: [Kev; 2],
    len: usize,
}

impl Changes {
    fn new() -> Changes {
        Changes {
            list: [Kev::change(0, Filter::Read, Flags::NONE, 0); 2],
            len: 0,
        }
    }

    /// One change per filter in `events`.
    fn each(fd: RawFd, events: Events, flags: Flags, tag: u32) -> Changes {
        let mut changes = Changes::new();
        for (event, filter) in FILTERS {
            if events.contains(event) {
                changes.push(Kev::change(fd, filter, flags, tag as usize));
            }
        }
        changes
    }

    fn push(&mut self, kev: Kev) {
        self.list[self.len] = kev;
        self.len += 1;
    }

    fn as_slice(&self) -> &[Kev] {
        &self.list[..self.len]
    }
}

const FILTERS: [(Events, Filter); 2] =
    [(Events::READ, Filter::Read), (Events::WRITE, Filter::Write)];

/// The outcome of each change of one `kevent` call, in order.
struct Receipts {
    /// errno per change (0: done); `None`: the kernel sent no receipt.
    errnos: [Option<i32>; 2],
    len: usize,
}

impl Receipts {
    /// The first failed change and its error, ignoring the errnos `ignore`.
    fn first_error(&self, changes: &Changes, ignore: &[Errno]) -> Option<(Kev, io::Error)> {
        self.errnos[..self.len]
            .iter()
            .zip(changes.as_slice())
            .find_map(|(errno, change)| match *errno {
                Some(0) => None,
                Some(e) if ignore.iter().any(|i| i.raw_os_error() == e) => None,
                Some(e) => Some((*change, io::Error::from_raw_os_error(e))),
                None => Some((
                    *change,
                    io::Error::new(io::ErrorKind::Other, "kevent returned no receipt"),
                )),
            })
    }
}

/// The name of a failed change, for the error.
fn op(change: &Kev) -> &'static str {
    if change.flags.contains(Flags::DELETE) {
        "kevent(EV_DELETE)"
    } else {
        "kevent(EV_ADD)"
    }
}

fn filter_count(events: Events) -> usize {
    usize::from(events.is_readable()) + usize::from(events.is_writable())
}

impl<K: Kevent> Kqueue<K> {
    /// The kevent implementation this adapter talks to.
    pub fn kevent(&self) -> &K {
        &self.kq
    }

    /// The kevent implementation, mutably (a model's settings). Changes
    /// submitted through it bypass the adapter's bookkeeping, as a raw
    /// `kevent(2)` on the kqueue's fd would.
    pub fn kevent_mut(&mut self) -> &mut K {
        &mut self.kq
    }

    /// How many filters are registered: the size of the event list a wait
    /// asks for, besides the waker's slot.
    pub fn filters(&self) -> usize {
        self.filters
    }

    /// The waker's fd, if it is a socket pair (where there is no
    /// `EVFILT_USER`); `None` for a user knote or before any `waker()`.
    pub fn wake_pipe_fd(&self) -> Option<RawFd> {
        match self.wake {
            Some(WakeSource::Pipe(fd)) => Some(fd),
            _ => None,
        }
    }

    /// Adds one knote with `EV_RECEIPT`: its error, if any.
    fn add_one(&mut self, change: Kev) -> io::Result<()> {
        let mut changes = Changes::new();
        changes.push(change);
        match self.apply(&changes)?.first_error(&changes, &[]) {
            None => Ok(()),
            Some((_, err)) => Err(err),
        }
    }

    /// The socket-pair waker: its read end as an `EVFILT_READ` knote.
    fn install_pipe_waker<T>(
        &mut self,
        map: &SelectorMap<T>,
    ) -> io::Result<(Waker, Option<RawFd>)> {
        // Never on the number of a registered fd closed behind our back.
        let pipe = Arc::new(WakePipe::avoiding(|fd| map.contains(fd))?);
        let read = Kev::change(
            pipe.fd(),
            Filter::Read,
            Flags::ADD | Flags::RECEIPT,
            WAKE_UDATA,
        );
        self.add_one(read)?;
        self.wake = Some(WakeSource::Pipe(pipe.fd()));
        Ok((backend::waker(pipe.clone()), Some(pipe.fd())))
    }

    /// Submits `changes` (all with `EV_RECEIPT`) and collects each receipt.
    /// The event list has exactly one slot per change, so no pending event
    /// is consumed and the call never waits.
    fn apply(&mut self, changes: &Changes) -> io::Result<Receipts> {
        let list = changes.as_slice();
        let mut receipts = Receipts {
            errnos: [None; 2],
            len: list.len(),
        };
        self.kq
            .kevent(list, list.len(), Some(Duration::ZERO), |ev| {
                let Some(i) = list.iter().position(|c| c.filter == ev.filter) else {
                    return;
                };
                // A receipt has EV_ERROR set and the errno in `data`.
                let errno = if ev.flags.contains(Flags::ERROR) {
                    ev.data as i32
                } else {
                    0
                };
                receipts.errnos[i] = Some(errno);
            })?;
        Ok(receipts)
    }

    /// Applies `changes` and returns the first one refused, ignoring the
    /// errnos `ignore`.
    fn submit(&mut self, changes: &Changes, ignore: &[Errno]) -> Result<(), Refused> {
        let failed = match self.apply(changes) {
            Ok(receipts) => receipts.first_error(changes, ignore),
            Err(err) => Some((changes.list[0], err)),
        };
        match failed {
            None => Ok(()),
            Some((change, err)) => Err(Refused::new(op(&change), err)),
        }
    }

    /// Deletes every filter of `fd` from the kernel, ignoring the outcome:
    /// the clean-up after a refused change.
    fn purge(&mut self, fd: RawFd) {
        let _ = self.apply(&Changes::each(
            fd,
            Events::ALL,
            Flags::DELETE | Flags::RECEIPT,
            0,
        ));
    }
}

impl<K: Kevent> Adapter for Kqueue<K> {
    const NAME: &'static str = "KqueueSelector";
    /// The read and the write filter of one fd are two events.
    const SPLITS_EVENTS: bool = true;

    /// `kqueue(2)`, close-on-exec.
    fn open() -> io::Result<Self> {
        Ok(Kqueue {
            kq: K::open()?,
            filters: 0,
            wake: None,
        })
    }

    fn add(&mut self, slot: Slot, events: Events) -> Result<(), Refused> {
        // The knotes carry the tag the engine will give this registration.
        let changes = Changes::each(slot.fd, events, Flags::ADD | Flags::RECEIPT, slot.tag);
        if let Err(e) = self.submit(&changes, &[]) {
            // One filter may have been added before the other was refused
            // (or the call failed as a whole): leave nothing behind.
            self.purge(slot.fd);
            return Err(e);
        }
        self.filters += changes.len;
        Ok(())
    }

    fn modify(&mut self, slot: Slot, old: Events, new: Events) -> Result<(), Refused> {
        // Only the filters that differ, in one call.
        let mut changes = Changes::new();
        for (event, filter) in FILTERS {
            let flags = match (old.contains(event), new.contains(event)) {
                (false, true) => Flags::ADD,
                (true, false) => Flags::DELETE,
                _ => continue,
            };
            changes.push(Kev::change(
                slot.fd,
                filter,
                flags | Flags::RECEIPT,
                slot.tag as usize,
            ));
        }
        if let Err(e) = self.submit(&changes, &[]) {
            // Leave nothing behind: the engine then deletes `old` (those
            // receipts say ENOENT, which is fine) and forgets the fd.
            self.purge(slot.fd);
            return Err(e);
        }
        self.filters = self.filters - filter_count(old) + filter_count(new);
        Ok(())
    }

    fn delete(&mut self, slot: Slot, events: Events) -> Result<(), Refused> {
        let changes = Changes::each(slot.fd, events, Flags::DELETE | Flags::RECEIPT, 0);
        // ENOENT: the fd was closed since (the kernel dropped its knotes)
        // and its number reused; EBADF: it was closed and not reused.
        self.submit(&changes, &[Errno::NOENT, Errno::BADF])?;
        self.filters -= changes.len;
        Ok(())
    }

    fn is_gone(error: &io::Error) -> bool {
        let gone = [Errno::NOENT, Errno::BADF];
        gone.iter()
            .any(|e| error.raw_os_error() == Some(e.raw_os_error()))
    }

    fn wait<T, C: Collect<T>>(&mut self, timeout: Timeout, sink: &mut Sink<'_, T, C>) -> Wait {
        // With an empty event list kevent returns at once, whatever the
        // timeout: ask for at least one so an empty selector still waits
        // (CPython bpo-29255). The waker's knote needs a slot of its own.
        let max = (self.filters + usize::from(self.wake.is_some())).max(1);
        let result = self.kq.kevent(&[], max, timeout, |ev| {
            if ev.udata == WAKE_UDATA {
                sink.woken();
                return;
            }
            let event = match ev.filter {
                Filter::Read => Events::READ,
                Filter::Write => Events::WRITE,
                Filter::User => return,
            };
            // The tag in udata drops events of an earlier registration (the
            // kernel drops a closed fd's knotes, so there is nothing to tidy).
            if let Ok(tag) = u32::try_from(ev.udata) {
                sink.tagged(ev.ident, tag, event);
            }
        });
        match result {
            Ok(0) => Ok(Waited::Nothing),
            Ok(_) => Ok(Waited::Something),
            Err(e) => Err(Refused::new("kevent", e)),
        }
    }

    /// An `EVFILT_USER` knote, or else (`EINVAL`: no such filter here, as on
    /// NetBSD and OpenBSD) a socket pair.
    fn install_waker<T>(&mut self, map: &SelectorMap<T>) -> io::Result<(Waker, Option<RawFd>)> {
        let user = Kev::change(
            WAKE_IDENT,
            Filter::User,
            Flags::ADD | Flags::CLEAR | Flags::RECEIPT,
            WAKE_UDATA,
        );
        match self.add_one(user) {
            Ok(()) => {
                self.wake = Some(WakeSource::User);
                let trigger = Arc::new(UserTrigger(self.kq.remote()));
                Ok((backend::waker(trigger), None))
            }
            Err(e) if e.raw_os_error() == Some(Errno::INVAL.raw_os_error()) => {
                self.install_pipe_waker(map)
            }
            Err(e) => Err(e),
        }
    }

    /// Opens a new kqueue (a child does not inherit the parent's) and adds
    /// every registration's filters; the engine adds a new waker.
    fn after_fork<T>(&mut self, map: &SelectorMap<T>, _: Option<RawFd>) -> io::Result<()> {
        self.kq = K::open()?;
        self.wake = None;
        for (slot, events) in backend::slots(map) {
            // A fd the child closed is refused (EBADF): nothing to watch,
            // and unregister still works.
            let changes = Changes::each(slot.fd, events, Flags::ADD | Flags::RECEIPT, slot.tag);
            let _ = self.apply(&changes);
        }
        Ok(())
    }

    fn fmt_fields<T>(&self, _: &SelectorMap<T>, d: &mut fmt::DebugStruct<'_, '_>) {
        d.field("fd", &self.kq.as_fd().as_raw_fd());
    }
}

impl<K: Kevent> fmt::Debug for Kqueue<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kqueue")
            .field("fd", &self.kq.as_fd().as_raw_fd())
            .field("filters", &self.filters)
            .field("wake_pipe", &self.wake_pipe_fd())
            .finish()
    }
}

/// The kqueue fd: Python's `KqueueSelector.fileno()`. Close-on-exec.
impl<K: Kevent> AsFd for Kqueue<K> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.kq.as_fd()
    }
}
