//! `KqueueSelector`: the selector logic, over any [`Kevent`].

use std::fmt;
use std::io;
use std::os::unix::io::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use rustix::io::Errno;
use selectors_core::timeout::clamp;
use selectors_core::{
    Error, Events, FileObject, Ready, ReadyMerger, Result, Selector, SelectorKey, SelectorMap,
};

use crate::kevent::{Filter, Flags, Kev, Kevent};

/// What `K` is when left out: the real kqueue where there is one, the test
/// model elsewhere (which only exists with the `test-model` feature).
#[cfg(any(
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]
type DefaultKevent = crate::kqueue::Kqueue;
#[cfg(not(any(
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
)))]
type DefaultKevent = crate::model::ModelKqueue;

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
/// The kqueue fd ([`AsRawFd`], Python's `fileno()`) is close-on-exec. Note
/// that kqueues are not inherited across `fork(2)` on macOS and the BSDs: a
/// child process must create its own selector.
///
/// `K` is the kqueue implementation and is for the crate's own tests; leave
/// it at its default.
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
pub struct KqueueSelector<T = (), K = DefaultKevent> {
    kq: K,
    map: SelectorMap<T>,
    /// Registered filters: the size of the event list `select` asks for.
    filters: usize,
    merger: ReadyMerger,
}

impl<T> KqueueSelector<T> {
    /// Creates a selector with a new kqueue (close-on-exec).
    ///
    /// # Errors
    ///
    /// If `kqueue(2)` fails (e.g. too many open files).
    pub fn new() -> io::Result<Self> {
        Self::open()
    }
}

#[cfg(all(
    any(test, feature = "test-model"),
    any(
        target_vendor = "apple",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    )
))]
impl<T> KqueueSelector<T, crate::model::ModelKqueue> {
    /// Creates a selector on the test model (not for users).
    ///
    /// # Errors
    ///
    /// If the model cannot open its stand-in fd.
    pub fn new() -> io::Result<Self> {
        Self::open()
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

const FILTERS: [(Events, Filter); 2] = [(Events::READ, Filter::Read), (Events::WRITE, Filter::Write)];

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

/// The name of a failed change, for [`Error::Os`].
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

impl<T, K: Kevent> KqueueSelector<T, K> {
    fn open() -> io::Result<Self> {
        Ok(KqueueSelector {
            kq: K::open()?,
            map: SelectorMap::new(),
            filters: 0,
            merger: ReadyMerger::new(),
        })
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

impl<T, K: Kevent> Selector<T> for KqueueSelector<T, K> {
    fn register<F: FileObject>(
        &mut self,
        fileobj: F,
        events: Events,
        data: T,
    ) -> Result<&SelectorKey<T>> {
        let fd = fileobj.fileno();
        self.map.check_vacant(fd, events)?;
        // The knotes carry the tag the map will give this registration.
        let tag = self.map.next_tag();
        let changes = Changes::each(fd, events, Flags::ADD | Flags::RECEIPT, tag);
        let failed = match self.apply(&changes) {
            Ok(receipts) => receipts.first_error(&changes, &[]),
            Err(err) => Some((changes.list[0], err)),
        };
        if let Some((change, err)) = failed {
            // One filter may have been added before the other was refused
            // (or the call failed as a whole): leave nothing behind.
            self.purge(fd);
            return Err(Error::os(op(&change), fd, err));
        }
        self.filters += changes.len;
        Ok(self.map.insert(fd, events, data))
    }

    fn unregister<F: FileObject>(&mut self, fileobj: F) -> Result<SelectorKey<T>> {
        let fd = fileobj.fileno();
        let events = self.map.key(fd)?.events;
        let changes = Changes::each(fd, events, Flags::DELETE | Flags::RECEIPT, 0);
        let result = self.apply(&changes);
        let (key, _) = self.map.remove(fd).expect("registered");
        self.filters -= changes.len;
        // ENOENT: the fd was closed since (the kernel dropped its knotes)
        // and its number reused; EBADF: it was closed and not reused.
        let failed = match result {
            Ok(receipts) => receipts.first_error(&changes, &[Errno::NOENT, Errno::BADF]),
            Err(err) => Some((changes.list[0], err)),
        };
        match failed {
            None => Ok(key),
            Some((change, err)) => Err(Error::os(op(&change), fd, err)),
        }
    }

    fn modify<F: FileObject>(
        &mut self,
        fileobj: F,
        events: Events,
        data: T,
    ) -> Result<&SelectorKey<T>> {
        let fd = fileobj.fileno();
        let old = self.map.check_modify(fd, events)?;
        if old != events {
            // Only the filters that differ, in one call.
            let tag = self.map.tag(fd).expect("registered");
            let mut changes = Changes::new();
            for (event, filter) in FILTERS {
                let flags = match (old.contains(event), events.contains(event)) {
                    (false, true) => Flags::ADD,
                    (true, false) => Flags::DELETE,
                    _ => continue,
                };
                changes.push(Kev::change(fd, filter, flags | Flags::RECEIPT, tag as usize));
            }
            let failed = match self.apply(&changes) {
                Ok(receipts) => receipts.first_error(&changes, &[]),
                Err(err) => Some((changes.list[0], err)),
            };
            if let Some((change, err)) = failed {
                // As Python: a failed modify leaves the fd unregistered,
                // in the kernel as in the map.
                self.purge(fd);
                self.map.remove(fd);
                self.filters -= filter_count(old);
                return Err(Error::os(op(&change), fd, err));
            }
            self.filters = self.filters - filter_count(old) + filter_count(events);
        }
        Ok(self.map.update(fd, events, data))
    }

    fn select_into(
        &mut self,
        timeout: Option<Duration>,
        ready: &mut Vec<Ready<T>>,
    ) -> Result<usize>
    where
        T: Clone,
    {
        let KqueueSelector {
            kq,
            map,
            filters,
            merger,
        } = self;
        merger.start(map, ready);
        // With an empty event list kevent returns at once, whatever the
        // timeout: ask for at least one so an empty selector still waits
        // (CPython bpo-29255).
        let max = (*filters).max(1);
        let result = kq.kevent(&[], max, clamp(timeout), |ev| {
            // The tag in udata drops events of an earlier registration.
            let Ok(tag) = u32::try_from(ev.udata) else {
                return;
            };
            let Some(key) = map.get_tagged(ev.ident, tag) else {
                return;
            };
            let event = match ev.filter {
                Filter::Read => Events::READ,
                Filter::Write => Events::WRITE,
            };
            let position = map.position(ev.ident).expect("tagged key exists");
            merger.add(map, ready, position, event & key.events);
        });
        match result {
            Ok(_) => Ok(ready.len()),
            // A signal: return empty, as the spec says.
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {
                ready.clear();
                Ok(0)
            }
            Err(err) => Err(Error::os_general("kevent", err)),
        }
    }

    fn get_map(&self) -> &SelectorMap<T> {
        &self.map
    }

    fn close(self) -> io::Result<()> {
        // Dropping the kqueue's OwnedFd closes it.
        Ok(())
    }
}

impl<T, K: Kevent> AsFd for KqueueSelector<T, K> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.kq.as_fd()
    }
}

impl<T, K: Kevent> AsRawFd for KqueueSelector<T, K> {
    fn as_raw_fd(&self) -> RawFd {
        self.kq.as_fd().as_raw_fd()
    }
}

impl<T: fmt::Debug, K: Kevent> fmt::Debug for KqueueSelector<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KqueueSelector")
            .field("fd", &self.as_raw_fd())
            .field("map", &self.map)
            .finish()
    }
}

#[cfg(test)]
impl<T, K: Kevent> KqueueSelector<T, K> {
    /// The kevent implementation, for tests that look behind the selector.
    pub(crate) fn kq(&mut self) -> &mut K {
        &mut self.kq
    }

    /// How many filters the selector thinks are registered.
    pub(crate) fn filters(&self) -> usize {
        self.filters
    }
}
