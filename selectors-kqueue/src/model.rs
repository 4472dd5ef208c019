//! Not for users: an in-process model of FreeBSD's kqueue, so that
//! [`KqueueSelector`](crate::KqueueSelector) runs, and is tested, on Linux.
//!
//! Compiled only for this crate's tests and with the `test-model` feature,
//! which only the workspace's dev-dependencies enable.
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
//!
//! # Limits
//!
//! - Closed fds are noticed when a change names them or before each wait
//!   (`fstat` fails with `EBADF`), not at `close(2)` itself; until then
//!   [`knotes`](ModelKqueue::knotes) still counts them. A number reused by another file is
//!   noticed too, by a changed (device, inode) identity; a number reused by
//!   the *same* file (a `dup` of it) is not, where FreeBSD would have
//!   dropped the knotes.
//! - Only `EVFILT_READ` and `EVFILT_WRITE` exist, and no `EV_CLEAR`,
//!   `EV_ONESHOT`, `EV_ENABLE`/`EV_DISABLE`, `fflags`; the `data` of a write
//!   event is 0 instead of the free buffer space.
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
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use selectors_core::timeout::MAX_TIMEOUT;

use crate::kevent::{Filter, Flags, Kev, Kevent};

/// A kqueue modelled in process (not for users; see the [module docs](self)).
pub struct ModelKqueue {
    /// Stands in for the kqueue's own fd (it is `/dev/null`, close-on-exec),
    /// so `AsFd` and `fileno()` work.
    fd: OwnedFd,
    knotes: BTreeMap<(RawFd, Filter), Knote>,
    stats: Stats,
    refuse: Option<(Filter, Errno)>,
}

#[derive(Clone, Copy, Debug)]
struct Knote {
    udata: usize,
    /// The file the fd named when the knote was added.
    file: FileId,
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
            .field("knotes", &self.knotes.len())
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

impl ModelKqueue {
    /// How many knotes the queue holds (those of closed fds until the next
    /// wait or change notices them).
    pub fn knotes(&self) -> usize {
        self.knotes.len()
    }

    /// Whether a knote for (`fd`, `filter`) exists.
    pub fn has_knote(&self, fd: RawFd, filter: Filter) -> bool {
        self.knotes.contains_key(&(fd, filter))
    }

    /// What the queue was asked so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Makes every later `EV_ADD` of `filter` fail with `errno`, the way a
    /// kernel refuses a filter an fd does not support; `None` undoes it.
    pub fn refuse(&mut self, refuse: Option<(Filter, Errno)>) {
        self.refuse = refuse;
    }

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

    /// Waits for readiness and lists up to `max` ready knotes.
    fn scan(&self, max: usize, timeout: Option<Duration>) -> io::Result<Vec<Kev>> {
        // One pollfd per fd; its knotes are adjacent in the map.
        let mut wanted: Vec<(RawFd, PollFlags)> = Vec::new();
        for &(fd, filter) in self.knotes.keys() {
            let flags = match filter {
                Filter::Read => PollFlags::IN | rdhup(),
                Filter::Write => PollFlags::OUT,
            };
            match wanted.last_mut() {
                Some((last, both)) if *last == fd => *both |= flags,
                _ => wanted.push((fd, flags)),
            }
        }
        let mut fds: Vec<PollFd<'_>> = wanted
            .iter()
            .map(|&(fd, flags)| PollFd::from_borrowed_fd(borrow(fd), flags))
            .collect();
        let timeout = timeout.map(|t| Timespec {
            tv_sec: t.as_secs() as _,
            tv_nsec: t.subsec_nanos() as _,
        });
        poll(&mut fds, timeout.as_ref())?;

        let mut events = Vec::new();
        for (pollfd, &(fd, _)) in fds.iter().zip(&wanted) {
            let got = pollfd.revents();
            if got.contains(PollFlags::NVAL) {
                continue; // closed during the wait
            }
            let hup = got.contains(PollFlags::HUP);
            for filter in [Filter::Read, Filter::Write] {
                let Some(knote) = self.knotes.get(&(fd, filter)) else {
                    continue;
                };
                let (ready, eof, data) = match filter {
                    Filter::Read => (
                        got.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR | rdhup()),
                        hup || got.intersects(rdhup()),
                        rustix::io::ioctl_fionread(borrow(fd)).unwrap_or(0) as i64,
                    ),
                    Filter::Write => (
                        got.intersects(PollFlags::OUT | PollFlags::HUP | PollFlags::ERR),
                        hup || got.contains(PollFlags::ERR),
                        0,
                    ),
                };
                if ready && events.len() < max {
                    events.push(Kev {
                        ident: fd,
                        filter,
                        flags: if eof { Flags::EOF } else { Flags::NONE },
                        data,
                        udata: knote.udata,
                    });
                }
            }
        }
        Ok(events)
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
    fn open() -> io::Result<Self> {
        // std opens with O_CLOEXEC.
        let fd = File::open("/dev/null")?.into();
        Ok(ModelKqueue {
            fd,
            knotes: BTreeMap::new(),
            stats: Stats::default(),
            refuse: None,
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
        for kev in changes {
            let result = self.change(kev);
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
        if !receipts.is_empty() {
            let n = receipts.len();
            receipts.into_iter().for_each(&mut each);
            return Ok(n);
        }
        if max == 0 {
            return Ok(0);
        }
        self.forget_closed();
        let events = self.scan(max, timeout)?;
        let n = events.len();
        events.into_iter().for_each(&mut each);
        Ok(n)
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
    pub(crate) fn at(file: impl Into<OwnedFd>, min: RawFd) -> OwnedFd {
        rustix::io::fcntl_dupfd_cloexec(file.into(), min).unwrap()
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

    #[test]
    fn stand_in_fd_is_cloexec() {
        let kq = kq();
        let flags = rustix::io::fcntl_getfd(&kq).unwrap();
        assert!(flags.contains(rustix::io::FdFlags::CLOEXEC));
    }
}
