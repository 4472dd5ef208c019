//! An in-process model of FreeBSD's kqueue, so that the kqueue adapter
//! ([`selectors_kqueue::Kqueue`], `KqueueSelector` on Apple and the BSDs)
//! runs, and is tested, on Linux: [`ModelKqueueSelector`](crate::ModelKqueueSelector).
//!
//! # What it follows ([FreeBSD kevent(2)])
//!
//! - Changes are applied in order. With `EV_RECEIPT`, or on error, each
//!   change comes back at once as an event with `flags == EV_ERROR` and
//!   `data` = errno (0 on success), its `ident`, `filter` and `udata` kept;
//!   if any did, the call returns them without waiting for readiness. If
//!   there is no room left for one, the call stops there and fails with
//!   that change's errno (or returns 0 if it succeeded).
//! - `EV_ADD` of a bad fd is `EBADF`; `EV_ADD` on an existing knote updates
//!   its `udata`. `EV_DELETE` of a bad fd is `EBADF`, of an unknown knote
//!   `ENOENT`; a change with neither flag on an unknown knote is `ENOENT`.
//! - Closing an fd removes its knotes.
//! - Readiness is level-triggered and comes from the real fds through
//!   `poll(2)`: `EVFILT_READ` on `POLLIN`, `POLLHUP`, `POLLERR` (and Linux's
//!   `POLLRDHUP`), with `EV_EOF` on hang-up and `data` = bytes readable
//!   (`FIONREAD`, else 0); `EVFILT_WRITE` on `POLLOUT`, `POLLHUP`,
//!   `POLLERR`, with `EV_EOF` on hang-up or error (a widowed pipe).
//! - An event list of 0 slots returns at once whatever the timeout (the
//!   cause of CPython bpo-29255); otherwise the timeout is honoured to the
//!   nanosecond (`ppoll`). Timeouts above 10⁸ s are `EINVAL`, as on macOS.
//!   A signal makes the wait fail with `EINTR`.
//! - `EVFILT_USER` knotes (their `ident` a number, no fd): `EV_ADD` creates
//!   one, triggered if `fflags` has `NOTE_TRIGGER`, clearing on delivery if
//!   `flags` has `EV_CLEAR`; a later change with `NOTE_TRIGGER` triggers
//!   it, one with `EV_CLEAR` resets it (after any trigger in the same
//!   change); a change without `EV_ADD` to a missing one is `ENOENT`. A
//!   triggered knote is ready (`fflags` and `data` 0) until delivered with
//!   `EV_CLEAR` or reset: so triggers coalesce. A trigger from another
//!   thread ([`Kevent::remote`]) wakes a wait in progress: the model polls
//!   a self-pipe of its own beside the fds, poked after each remote
//!   change.
//!
//! # Limits
//!
//! - Closed fds are noticed when a change names them or before each wait
//!   (`fstat` fails with `EBADF`), not at `close(2)` itself; until then
//!   [`knotes`](ModelKqueue::knotes) still counts them. A number reused by another file is
//!   noticed too, by a changed (device, inode) identity; a number reused by
//!   the *same* file (a `dup` of it) is not, where FreeBSD would have
//!   dropped the knotes.
//! - Only `EVFILT_READ`, `EVFILT_WRITE` and `EVFILT_USER` exist; no
//!   `EV_ONESHOT`, `EV_ENABLE`/`EV_DISABLE`, and `EV_CLEAR` only on user
//!   knotes; of `fflags` only `NOTE_TRIGGER` (no `NOTE_FFAND`, ...); the
//!   `data` of a write event is 0 instead of the free buffer space.
//! - Only changes submitted through a [`ModelRemote`] wake a wait in
//!   progress; the queue's owner cannot change it while it waits anyway
//!   (`kevent` takes `&mut self`).
//! - Events beyond the list's size are dropped for that call (the kernel
//!   keeps them queued for the next), and knotes are reported in fd order.
//! - Linux's `poll(2)` decides readiness: e.g. a regular file is always
//!   ready, which matches FreeBSD's vnode filters, but other corner cases
//!   (socket errors, half-closed TCP) follow Linux, not FreeBSD.
//!
//! [FreeBSD kevent(2)]: https://man.freebsd.org/cgi/man.cgi?query=kevent&sektion=2

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io;
use std::os::unix::io::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use selectors_core::backend::{Wake, WakePipe, MAX_TIMEOUT};

use selectors_kqueue::kevent::{Filter, Flags, Kev, Kevent, Remote, NOTE_TRIGGER};

/// A kqueue modelled in process (see the [module docs](self)).
pub struct ModelKqueue {
    /// Stands in for the kqueue's own fd (it is `/dev/null`, close-on-exec),
    /// so `AsFd` and `fileno()` work.
    fd: OwnedFd,
    /// The knotes, shared with the [`ModelRemote`]s.
    shared: Arc<Shared>,
    stats: Stats,
}

/// What other threads may change: the kernel's side of the queue.
struct Shared {
    state: Mutex<State>,
    /// Poked after a [`ModelRemote`] change, so that a wait in progress
    /// looks at the knotes again: its read end is in every wait's poll set.
    poke: WakePipe,
}

#[derive(Default)]
struct State {
    /// `EVFILT_READ` and `EVFILT_WRITE` knotes, by (fd, filter).
    knotes: BTreeMap<(RawFd, Filter), Knote>,
    /// `EVFILT_USER` knotes, by ident.
    users: BTreeMap<RawFd, UserKnote>,
    refuse: Option<(Filter, Errno)>,
}

#[derive(Clone, Copy, Debug)]
struct Knote {
    udata: usize,
    /// The file the fd named when the knote was added.
    file: FileId,
}

/// An `EVFILT_USER` knote.
#[derive(Clone, Copy, Debug)]
struct UserKnote {
    udata: usize,
    /// Added with `EV_CLEAR`: delivery un-triggers it.
    clear: bool,
    /// `NOTE_TRIGGER` was applied, and not consumed yet.
    triggered: bool,
}

/// (device, inode): tells a reused fd number from the file it named before.
type FileId = (u64, u64);

/// What a [`ModelKqueue`] was asked, for tests that count system calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// `kevent` calls.
    pub calls: usize,
    /// Changes submitted, over all calls.
    pub changes: usize,
    /// The event list size of the last call.
    pub last_max: usize,
}

impl fmt::Debug for ModelKqueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelKqueue")
            .field("fd", &self.fd)
            .field("knotes", &self.knotes())
            .finish()
    }
}

impl AsFd for ModelKqueue {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Borrows an fd the caller named, for one system call.
fn borrow(fd: RawFd) -> BorrowedFd<'static> {
    // SAFETY: the borrow lives for one fstat/poll/ioctl call on a
    // non-negative number. If the caller closed the fd meanwhile, the call
    // fails with EBADF or reports POLLNVAL: the kernel checks it, nothing
    // is dereferenced on our side.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// The file `fd` names now, or `EBADF`.
#[allow(clippy::unnecessary_cast)] // the field types differ between targets
fn file_id(fd: RawFd) -> Result<FileId, Errno> {
    if fd < 0 {
        return Err(Errno::BADF);
    }
    let st = rustix::fs::fstat(borrow(fd))?;
    Ok((st.st_dev as u64, st.st_ino as u64))
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock left consistent maps.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ModelKqueue {
    /// How many knotes the queue holds, user knotes included (and those of
    /// closed fds until the next wait or change notices them).
    pub fn knotes(&self) -> usize {
        let state = self.shared.state();
        state.knotes.len() + state.users.len()
    }

    /// Whether a knote for (`fd`, `filter`) exists (for [`Filter::User`],
    /// `fd` is the ident).
    pub fn has_knote(&self, fd: RawFd, filter: Filter) -> bool {
        let state = self.shared.state();
        match filter {
            Filter::User => state.users.contains_key(&fd),
            _ => state.knotes.contains_key(&(fd, filter)),
        }
    }

    /// What the queue was asked so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Makes every later `EV_ADD` of `filter` fail with `errno`, the way a
    /// kernel refuses a filter an fd does not support (or, for
    /// [`Filter::User`] and `EINVAL`, a kernel without `EVFILT_USER`);
    /// `None` undoes it.
    pub fn refuse(&mut self, refuse: Option<(Filter, Errno)>) {
        self.shared.state().refuse = refuse;
    }

    /// Waits until a knote is ready or `timeout` passes, and lists up to
    /// `max` ready knotes. A poke that finds nothing ready (a remote change
    /// that readied nothing, or one whose knote an earlier scan already
    /// reported) waits again for the rest of the timeout: `kevent` never
    /// returns empty before its timeout.
    fn wait(&self, max: usize, timeout: Option<Duration>) -> io::Result<Vec<Kev>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let (events, poked) = self.scan(max, left)?;
            if !events.is_empty() || !poked || left == Some(Duration::ZERO) {
                return Ok(events);
            }
        }
    }

    /// One `poll(2)` of the knotes' fds and the poke pipe; returns the ready
    /// knotes and whether the pipe was poked.
    fn scan(&self, max: usize, timeout: Option<Duration>) -> io::Result<(Vec<Kev>, bool)> {
        // One pollfd per fd; its knotes are adjacent in the map.
        let mut wanted: Vec<(RawFd, PollFlags)> = Vec::new();
        let mut timeout = timeout;
        {
            let state = self.shared.state();
            for &(fd, filter) in state.knotes.keys() {
                let flags = match filter {
                    Filter::Read => PollFlags::IN | rdhup(),
                    _ => PollFlags::OUT,
                };
                match wanted.last_mut() {
                    Some((last, both)) if *last == fd => *both |= flags,
                    _ => wanted.push((fd, flags)),
                }
            }
            if state.users.values().any(|user| user.triggered) {
                timeout = Some(Duration::ZERO);
            }
        }
        let mut fds: Vec<PollFd<'_>> = wanted
            .iter()
            .map(|&(fd, flags)| PollFd::from_borrowed_fd(borrow(fd), flags))
            .collect();
        fds.push(PollFd::from_borrowed_fd(
            borrow(self.shared.poke.fd()),
            PollFlags::IN,
        ));
        let timeout = timeout.map(|t| Timespec {
            tv_sec: t.as_secs() as _,
            tv_nsec: t.subsec_nanos() as _,
        });
        poll(&mut fds, timeout.as_ref())?;
        let poked = !fds.pop().expect("the poke pipe").revents().is_empty();
        if poked {
            self.shared.poke.drain()?;
        }

        let mut state = self.shared.state();
        let mut events = Vec::new();
        for (pollfd, &(fd, _)) in fds.iter().zip(&wanted) {
            let got = pollfd.revents();
            if got.contains(PollFlags::NVAL) {
                continue; // closed during the wait
            }
            let hup = got.contains(PollFlags::HUP);
            for filter in [Filter::Read, Filter::Write] {
                let Some(knote) = state.knotes.get(&(fd, filter)) else {
                    continue;
                };
                let (ready, eof, data) = match filter {
                    Filter::Read => (
                        got.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR | rdhup()),
                        hup || got.intersects(rdhup()),
                        rustix::io::ioctl_fionread(borrow(fd)).unwrap_or(0) as i64,
                    ),
                    _ => (
                        got.intersects(PollFlags::OUT | PollFlags::HUP | PollFlags::ERR),
                        hup || got.contains(PollFlags::ERR),
                        0,
                    ),
                };
                if ready && events.len() < max {
                    events.push(Kev {
                        flags: if eof { Flags::EOF } else { Flags::NONE },
                        data,
                        ..Kev::change(fd, filter, Flags::NONE, knote.udata)
                    });
                }
            }
        }
        // Triggered user knotes, read under the same lock that delivers
        // (and, with EV_CLEAR, un-triggers) them.
        for (&ident, user) in state.users.iter_mut() {
            if user.triggered && events.len() < max {
                events.push(Kev::change(ident, Filter::User, Flags::NONE, user.udata));
                if user.clear {
                    user.triggered = false;
                }
            }
        }
        Ok((events, poked))
    }
}

impl State {
    /// Drops the knotes of fds that were closed (or whose number now names
    /// another file) since the last call: what FreeBSD does at `close(2)`.
    fn forget_closed(&mut self) {
        let mut last: Option<(RawFd, bool)> = None;
        self.knotes.retain(|&(fd, _), knote| {
            // Knotes of one fd are adjacent: check each fd once.
            match last {
                Some((seen, open)) if seen == fd => open,
                _ => {
                    let open = file_id(fd) == Ok(knote.file);
                    last = Some((fd, open));
                    open
                }
            }
        });
    }

    /// Applies one change; the errno it fails with.
    fn change(&mut self, kev: &Kev) -> Result<(), Errno> {
        if kev.filter == Filter::User {
            return self.change_user(kev);
        }
        let key = (kev.ident, kev.filter);
        // Every change to an fd filter looks the fd up first (fget).
        let file = file_id(kev.ident);
        // Knotes of a closed or reused number are gone (checked here for
        // this fd only, so a change costs O(log n), not a scan of them all).
        for filter in [Filter::Read, Filter::Write] {
            if let Some(knote) = self.knotes.get(&(kev.ident, filter)) {
                if file != Ok(knote.file) {
                    self.knotes.remove(&(kev.ident, filter));
                }
            }
        }
        let file = file?;
        if kev.flags.contains(Flags::ADD) {
            if let Some((filter, errno)) = self.refuse {
                if filter == kev.filter {
                    return Err(errno);
                }
            }
            let knote = self.knotes.entry(key).or_insert(Knote {
                udata: kev.udata,
                file,
            });
            knote.udata = kev.udata;
            Ok(())
        } else if kev.flags.contains(Flags::DELETE) {
            self.knotes.remove(&key).map(drop).ok_or(Errno::NOENT)
        } else if self.knotes.contains_key(&key) {
            Ok(())
        } else {
            Err(Errno::NOENT)
        }
    }

    /// A change to an `EVFILT_USER` knote (FreeBSD's `filt_usertouch`).
    fn change_user(&mut self, kev: &Kev) -> Result<(), Errno> {
        let trigger = kev.fflags & NOTE_TRIGGER != 0;
        if kev.flags.contains(Flags::DELETE) {
            return self.users.remove(&kev.ident).map(drop).ok_or(Errno::NOENT);
        }
        if let Some(user) = self.users.get_mut(&kev.ident) {
            user.udata = kev.udata;
            user.triggered |= trigger;
            // EV_CLEAR in a change resets the knote, after any trigger.
            if kev.flags.contains(Flags::CLEAR) {
                user.triggered = false;
            }
            return Ok(());
        }
        if !kev.flags.contains(Flags::ADD) {
            return Err(Errno::NOENT);
        }
        if let Some((Filter::User, errno)) = self.refuse {
            return Err(errno);
        }
        self.users.insert(
            kev.ident,
            UserKnote {
                udata: kev.udata,
                clear: kev.flags.contains(Flags::CLEAR),
                triggered: trigger,
            },
        );
        Ok(())
    }
}

/// Linux's `POLLRDHUP` (peer shut its writing side), where there is one.
fn rdhup() -> PollFlags {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    return PollFlags::RDHUP;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    return PollFlags::empty();
}

impl Kevent for ModelKqueue {
    type Remote = ModelRemote;

    fn remote(&self) -> ModelRemote {
        ModelRemote(self.shared.clone())
    }

    fn open() -> io::Result<Self> {
        // std opens with O_CLOEXEC.
        let fd = File::open("/dev/null")?.into();
        Ok(ModelKqueue {
            fd,
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                poke: WakePipe::new()?,
            }),
            stats: Stats::default(),
        })
    }

    fn kevent<F: FnMut(Kev)>(
        &mut self,
        changes: &[Kev],
        max: usize,
        timeout: Option<Duration>,
        mut each: F,
    ) -> io::Result<usize> {
        self.stats.calls += 1;
        self.stats.changes += changes.len();
        self.stats.last_max = max;
        if timeout.map_or(false, |t| t > MAX_TIMEOUT) {
            return Err(Errno::INVAL.into());
        }
        let mut receipts = Vec::new();
        {
            let mut state = self.shared.state();
            for kev in changes {
                let result = state.change(kev);
                if result.is_err() || kev.flags.contains(Flags::RECEIPT) {
                    if receipts.len() == max {
                        // No room: FreeBSD stops and returns this change's
                        // error (0 if none), reporting nothing.
                        return result.map(|()| 0).map_err(Into::into);
                    }
                    receipts.push(Kev {
                        flags: Flags::ERROR,
                        data: result.err().map_or(0, |e| i64::from(e.raw_os_error())),
                        ..*kev
                    });
                }
            }
            if receipts.is_empty() && max > 0 {
                state.forget_closed();
            }
        }
        if !receipts.is_empty() {
            let n = receipts.len();
            receipts.into_iter().for_each(&mut each);
            return Ok(n);
        }
        if max == 0 {
            return Ok(0);
        }
        let events = self.wait(max, timeout)?;
        let n = events.len();
        events.into_iter().for_each(&mut each);
        Ok(n)
    }
}

/// [`Remote`] on the model: changes from other threads, applied under the
/// queue's lock, then a poke so a wait in progress sees them.
pub struct ModelRemote(Arc<Shared>);

impl fmt::Debug for ModelRemote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ModelRemote").finish()
    }
}

impl Remote for ModelRemote {
    fn submit(&self, changes: &[Kev]) -> io::Result<()> {
        let result = {
            let mut state = self.0.state();
            // Without an event list, the first refused change is the error
            // of the call and ends it.
            changes.iter().try_for_each(|kev| state.change(kev))
        };
        self.0.poke.wake()?;
        result.map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::io::AsRawFd;
    use std::os::unix::net::UnixStream;
    use std::time::Instant;

    const ADD: Flags = Flags::ADD.union(Flags::RECEIPT);
    const DELETE: Flags = Flags::DELETE.union(Flags::RECEIPT);

    /// Moves `file` to the lowest free fd number from `min` up: tests use
    /// distinct high ranges so that a number they close is not reused by a
    /// test running in parallel.
    fn at(file: impl Into<OwnedFd>, min: RawFd) -> OwnedFd {
        crate::fds::dup_at_least(&file.into(), min)
    }

    fn kq() -> ModelKqueue {
        ModelKqueue::open().unwrap()
    }

    fn call(kq: &mut ModelKqueue, changes: &[Kev], max: usize, t: Option<Duration>) -> Vec<Kev> {
        let mut out = Vec::new();
        let n = kq.kevent(changes, max, t, |ev| out.push(ev)).unwrap();
        assert_eq!(n, out.len());
        out
    }

    fn poll_now(kq: &mut ModelKqueue) -> Vec<Kev> {
        call(kq, &[], 16, Some(Duration::ZERO))
    }

    /// A receipt: errno `None` is success (data 0).
    fn receipt(fd: RawFd, filter: Filter, errno: impl Into<Option<Errno>>, udata: usize) -> Kev {
        Kev {
            ident: fd,
            filter,
            flags: Flags::ERROR,
            fflags: 0,
            data: errno.into().map_or(0, |e| i64::from(e.raw_os_error())),
            udata,
        }
    }

    #[test]
    fn receipts_come_back_at_once_in_order() {
        let (a, _b) = UnixStream::pair().unwrap();
        let fd = a.as_raw_fd();
        let mut kq = kq();
        let changes = [
            Kev::change(fd, Filter::Read, ADD, 7),
            Kev::change(fd, Filter::Write, ADD, 8),
        ];
        // No timeout: with receipts to report, the call must not wait.
        let got = call(&mut kq, &changes, 2, None);
        assert_eq!(
            got,
            [
                receipt(fd, Filter::Read, None, 7),
                receipt(fd, Filter::Write, None, 8)
            ]
        );
        assert_eq!(kq.knotes(), 2);
        // The write filter is ready now, the read one not.
        let got = poll_now(&mut kq);
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].filter, got[0].udata), (Filter::Write, 8));
    }

    #[test]
    fn bad_fd_is_ebadf_and_the_rest_still_applies() {
        let (a, _b) = UnixStream::pair().unwrap();
        let closed = at(UnixStream::pair().unwrap().0, 640).as_raw_fd();
        let mut kq = kq();
        let changes = [
            Kev::change(closed, Filter::Read, ADD, 1),
            Kev::change(a.as_raw_fd(), Filter::Read, ADD, 2),
            Kev::change(closed, Filter::Read, DELETE, 3),
            Kev::change(-1, Filter::Write, ADD, 4),
        ];
        let got = call(&mut kq, &changes, 4, Some(Duration::ZERO));
        assert_eq!(
            got,
            [
                receipt(closed, Filter::Read, Errno::BADF, 1),
                receipt(a.as_raw_fd(), Filter::Read, None, 2),
                receipt(closed, Filter::Read, Errno::BADF, 3),
                receipt(-1, Filter::Write, Errno::BADF, 4),
            ]
        );
        assert_eq!(kq.knotes(), 1);
    }

    #[test]
    fn errors_without_receipt_flag_are_reported_too() {
        let (a, _b) = UnixStream::pair().unwrap();
        let fd = a.as_raw_fd();
        let mut kq = kq();
        let changes = [
            Kev::change(fd, Filter::Read, Flags::ADD, 1),
            Kev::change(fd, Filter::Write, Flags::DELETE, 2),
        ];
        let got = call(&mut kq, &changes, 4, Some(Duration::ZERO));
        assert_eq!(got, [receipt(fd, Filter::Write, Errno::NOENT, 2)]);
        assert!(kq.has_knote(fd, Filter::Read));
        // With no room for the error, the call itself fails with it.
        let err = kq.kevent(&changes[1..], 0, None, |_| ()).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(Errno::NOENT.raw_os_error()));
    }

    #[test]
    fn delete_of_unknown_knote_is_enoent() {
        let (a, _b) = UnixStream::pair().unwrap();
        let fd = a.as_raw_fd();
        let mut kq = kq();
        let add = Kev::change(fd, Filter::Read, ADD, 1);
        let delete = Kev::change(fd, Filter::Read, DELETE, 1);
        let got = call(&mut kq, &[delete, add, delete, delete], 4, None);
        let errnos: Vec<i64> = got.iter().map(|ev| ev.data).collect();
        let enoent = i64::from(Errno::NOENT.raw_os_error());
        assert_eq!(errnos, [enoent, 0, 0, enoent]);
        assert_eq!(kq.knotes(), 0);
    }

    #[test]
    fn add_on_existing_knote_updates_it() {
        let (a, mut b) = UnixStream::pair().unwrap();
        let fd = a.as_raw_fd();
        let mut kq = kq();
        call(&mut kq, &[Kev::change(fd, Filter::Read, ADD, 1)], 1, None);
        call(&mut kq, &[Kev::change(fd, Filter::Read, ADD, 2)], 1, None);
        assert_eq!(kq.knotes(), 1);
        b.write_all(b"abc").unwrap();
        let got = poll_now(&mut kq);
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].udata, got[0].data), (2, 3));
    }

    #[test]
    fn readiness_is_level_triggered_from_a_real_pipe() {
        let (r, w) = rustix::pipe::pipe().unwrap();
        let (r, mut w) = (File::from(r), File::from(w));
        let mut kq = kq();
        let changes = [Kev::change(r.as_raw_fd(), Filter::Read, ADD, 5)];
        call(&mut kq, &changes, 1, None);
        assert!(poll_now(&mut kq).is_empty());
        w.write_all(b"hello").unwrap();
        for _ in 0..2 {
            let got = poll_now(&mut kq);
            assert_eq!(got.len(), 1, "{got:?}");
            assert_eq!(
                (got[0].filter, got[0].flags, got[0].data),
                (Filter::Read, Flags::NONE, 5)
            );
        }
        let mut buf = [0; 5];
        (&r).read_exact(&mut buf).unwrap();
        assert!(poll_now(&mut kq).is_empty());
    }

    #[test]
    fn widowed_pipe_ends_report_eof() {
        let (r, w) = rustix::pipe::pipe().unwrap();
        let mut kq = kq();
        let changes = [
            Kev::change(r.as_raw_fd(), Filter::Read, ADD, 1),
            Kev::change(w.as_raw_fd(), Filter::Write, ADD, 2),
        ];
        call(&mut kq, &changes, 2, None);
        let got = poll_now(&mut kq);
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].udata, got[0].flags), (2, Flags::NONE));

        // Close the write end: the read end hits EOF. Then the write filter
        // is gone with its fd.
        drop(w);
        let got = poll_now(&mut kq);
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].udata, got[0].flags), (1, Flags::EOF));
        assert_eq!(kq.knotes(), 1);

        // A fresh pipe whose reader is closed: its write end is EOF.
        let (r2, w2) = rustix::pipe::pipe().unwrap();
        drop(r2);
        call(
            &mut kq,
            &[Kev::change(w2.as_raw_fd(), Filter::Write, ADD, 3)],
            1,
            None,
        );
        let got = poll_now(&mut kq);
        let w2_event = got
            .iter()
            .find(|ev| ev.udata == 3)
            .expect("write end ready");
        assert_eq!(w2_event.flags, Flags::EOF);
    }

    #[test]
    fn socket_peer_close_is_eof_on_both_filters() {
        let (a, b) = UnixStream::pair().unwrap();
        let fd = a.as_raw_fd();
        let mut kq = kq();
        let changes = [
            Kev::change(fd, Filter::Read, ADD, 1),
            Kev::change(fd, Filter::Write, ADD, 2),
        ];
        call(&mut kq, &changes, 2, None);
        drop(b);
        let got = poll_now(&mut kq);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got.iter().all(|ev| ev.flags == Flags::EOF));
    }

    #[test]
    fn closing_an_fd_removes_its_knotes_even_if_the_number_is_reused() {
        let (a, _b) = UnixStream::pair().unwrap();
        let mut a = at(a, 620);
        let fd = a.as_raw_fd();
        let mut kq = kq();
        call(&mut kq, &[Kev::change(fd, Filter::Write, ADD, 1)], 1, None);
        assert_eq!(poll_now(&mut kq).len(), 1);

        // dup2: the number now names another, writable, socket.
        let (c, _d) = UnixStream::pair().unwrap();
        rustix::io::dup2(&c, &mut a).unwrap();
        assert!(poll_now(&mut kq).is_empty(), "the old knote must be gone");
        assert_eq!(kq.knotes(), 0);
        let delete = [Kev::change(fd, Filter::Write, DELETE, 1)];
        let got = call(&mut kq, &delete, 1, None);
        assert_eq!(got, [receipt(fd, Filter::Write, Errno::NOENT, 1)]);

        // Closed and not reused: EBADF.
        drop(a);
        let got = call(&mut kq, &delete, 1, None);
        assert_eq!(got, [receipt(fd, Filter::Write, Errno::BADF, 1)]);
    }

    #[test]
    fn an_empty_event_list_ignores_the_timeout_else_it_is_honoured() {
        let mut kq = kq();
        let start = Instant::now();
        assert!(call(&mut kq, &[], 0, Some(Duration::from_secs(30))).is_empty());
        assert!(start.elapsed() < Duration::from_secs(5));

        let start = Instant::now();
        assert!(call(&mut kq, &[], 1, Some(Duration::from_millis(50))).is_empty());
        assert!(start.elapsed() >= Duration::from_millis(50));
    }

    #[test]
    fn timeouts_above_apples_limit_are_einval() {
        let mut kq = kq();
        let err = kq
            .kevent(&[], 1, Some(MAX_TIMEOUT + Duration::from_nanos(1)), |_| ())
            .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(Errno::INVAL.raw_os_error()));
    }

    #[test]
    fn the_event_list_size_caps_what_is_returned() {
        let pairs: Vec<_> = (0..3).map(|_| UnixStream::pair().unwrap()).collect();
        let mut kq = kq();
        let changes: Vec<Kev> = pairs
            .iter()
            .map(|(a, _)| Kev::change(a.as_raw_fd(), Filter::Write, ADD, 0))
            .collect();
        call(&mut kq, &changes, 3, None);
        assert_eq!(call(&mut kq, &[], 2, None).len(), 2);
        assert_eq!(call(&mut kq, &[], 3, None).len(), 3);
    }

    /// Adds user knote `ident` with `flags` (besides `EV_ADD|EV_RECEIPT`).
    fn add_user(kq: &mut ModelKqueue, ident: RawFd, flags: Flags, udata: usize) {
        let add = Kev::change(ident, Filter::User, ADD | flags, udata);
        assert_eq!(
            call(kq, &[add], 1, None),
            [receipt(ident, Filter::User, None, udata)]
        );
    }

    /// The event of a triggered user knote.
    fn user_event(ident: RawFd, udata: usize) -> Kev {
        Kev::change(ident, Filter::User, Flags::NONE, udata)
    }

    #[test]
    fn a_trigger_before_the_wait_makes_it_return_at_once() {
        let mut kq = kq();
        add_user(&mut kq, 0, Flags::CLEAR, 0);
        assert!(poll_now(&mut kq).is_empty(), "not triggered yet");
        kq.remote().submit(&[Kev::trigger(0, 0)]).unwrap();
        let start = Instant::now();
        let got = call(&mut kq, &[], 4, Some(Duration::from_secs(30)));
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(got, [user_event(0, 0)]);
    }

    #[test]
    fn triggers_coalesce_and_ev_clear_consumes_them_on_delivery() {
        let mut kq = kq();
        add_user(&mut kq, 3, Flags::CLEAR, 30);
        let remote = kq.remote();
        remote.submit(&[Kev::trigger(3, 30)]).unwrap();
        remote.submit(&[Kev::trigger(3, 30)]).unwrap();
        assert_eq!(poll_now(&mut kq), [user_event(3, 30)]);
        // Delivered once: the next wait times out.
        let start = Instant::now();
        assert!(call(&mut kq, &[], 4, Some(Duration::from_millis(50))).is_empty());
        assert!(start.elapsed() >= Duration::from_millis(50));
        // And it triggers again.
        remote.submit(&[Kev::trigger(3, 30)]).unwrap();
        assert_eq!(poll_now(&mut kq), [user_event(3, 30)]);
    }

    #[test]
    fn without_ev_clear_a_trigger_stays_until_a_clearing_change() {
        let mut kq = kq();
        add_user(&mut kq, 1, Flags::NONE, 10);
        // Triggered in the owner's own change list, too.
        call(&mut kq, &[Kev::trigger(1, 10)], 0, None);
        for _ in 0..2 {
            assert_eq!(poll_now(&mut kq), [user_event(1, 10)]);
        }
        let reset = Kev::change(1, Filter::User, Flags::CLEAR, 10);
        call(&mut kq, &[reset], 0, None);
        assert!(poll_now(&mut kq).is_empty());
        assert!(kq.has_knote(1, Filter::User));
        // User idents do not meet fd knotes of the same number.
        assert!(!kq.has_knote(1, Filter::Read));
    }

    #[test]
    fn a_trigger_from_another_thread_wakes_a_blocked_wait() {
        let mut kq = kq();
        add_user(&mut kq, 0, Flags::CLEAR, 0);
        let remote = kq.remote();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            remote.submit(&[Kev::trigger(0, 0)]).unwrap();
        });
        let start = Instant::now();
        let got = call(&mut kq, &[], 4, Some(Duration::from_secs(30)));
        assert!(start.elapsed() < Duration::from_secs(5), "not woken");
        assert_eq!(got, [user_event(0, 0)]);
        thread.join().unwrap();
    }

    #[test]
    fn a_remote_change_that_readies_nothing_does_not_end_the_wait() {
        let mut kq = kq();
        add_user(&mut kq, 0, Flags::CLEAR, 0);
        let remote = kq.remote();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            // Trigger and reset in one change: nothing is ready.
            let noop = Kev {
                fflags: NOTE_TRIGGER,
                ..Kev::change(0, Filter::User, Flags::CLEAR, 0)
            };
            remote.submit(&[noop]).unwrap();
        });
        let start = Instant::now();
        assert!(call(&mut kq, &[], 4, Some(Duration::from_millis(150))).is_empty());
        assert!(start.elapsed() >= Duration::from_millis(150));
        thread.join().unwrap();
    }

    #[test]
    fn user_knote_errors() {
        let mut kq = kq();
        let remote = kq.remote();
        // Triggering a knote that does not exist.
        let err = remote.submit(&[Kev::trigger(5, 0)]).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(Errno::NOENT.raw_os_error()));
        let delete = Kev::change(5, Filter::User, DELETE, 0);
        assert_eq!(
            call(&mut kq, &[delete], 1, None),
            [receipt(5, Filter::User, Errno::NOENT, 0)]
        );
        // A kernel without EVFILT_USER.
        kq.refuse(Some((Filter::User, Errno::INVAL)));
        let add = Kev::change(5, Filter::User, ADD, 0);
        assert_eq!(
            call(&mut kq, &[add], 1, None),
            [receipt(5, Filter::User, Errno::INVAL, 0)]
        );
        assert_eq!(kq.knotes(), 0);
        // The remote outlives the queue's owner harmlessly.
        kq.refuse(None);
        add_user(&mut kq, 5, Flags::CLEAR, 0);
        assert_eq!(kq.knotes(), 1);
        drop(kq);
        remote.submit(&[Kev::trigger(5, 0)]).unwrap();
    }

    #[test]
    fn stand_in_fd_is_cloexec() {
        let kq = kq();
        let flags = rustix::io::fcntl_getfd(&kq).unwrap();
        assert!(flags.contains(rustix::io::FdFlags::CLOEXEC));
    }
}
