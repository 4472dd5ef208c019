//! The contenders of the benchmarks (`select.rs`, `paired.rs`): the raw
//! syscall loops (the floor), our backends through `select_into` and
//! `select_events`, mio and polling, behind one [`Peer`] trait, and the
//! bench.c run any of them can drive.

use std::hint::black_box;
use std::os::unix::io::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use rustix::event::{epoll, poll, FdSetElement, FdSetIter, PollFd, PollFlags, Timespec};
use selectors_bench::Pool;
use selectors_core::{Event, Events, Ready, Selector};

const ZERO: Timespec = Timespec {
    tv_sec: 0,
    tv_nsec: 0,
};
/// Highest fd number any peer's tables cover (the hard limit here).
pub(crate) const MAX_FD: usize = 20_000;

/// One contender: the operations every scenario needs, on fds of a pool that
/// outlives it.
pub(crate) trait Peer<'a> {
    const NAME: &'static str;
    /// Edge-triggered: readiness is reported once unless re-armed.
    const EDGE: bool = false;
    fn new() -> Self;
    /// Registers `fd` for READ. Like every change below, each impl is
    /// `#[inline(always)]`, for the reason `wait_each` gives.
    fn add(&mut self, fd: BorrowedFd<'a>, idx: usize);
    fn del(&mut self, fd: BorrowedFd<'a>, idx: usize);
    /// READ|WRITE if `write`, else READ.
    fn set_write(&mut self, fd: BorrowedFd<'a>, idx: usize, write: bool);
    /// Waits with a zero timeout and hands each ready fd's index to `f`;
    /// returns how many were reported. Every impl is `#[inline(always)]`,
    /// as `wait` is: on this kernel the first `ret` after a system call
    /// costs 40-150 ns (its return-stack entry is gone), so a peer whose
    /// `wait_each` the compiler left out of line paid one such return per
    /// wait that an inlined floor did not.
    fn wait_each(&mut self, f: impl FnMut(usize)) -> usize;
    /// Waits with a zero timeout, touching each ready index; returns how many.
    /// Always inlined, so that no peer pays a call the others are spared.
    #[inline(always)]
    fn wait(&mut self) -> usize {
        let mut sum = 0;
        let n = self.wait_each(|idx| sum += idx);
        black_box(sum);
        n
    }
    /// Makes an edge-triggered peer report a still-ready fd again.
    fn rearm(&mut self, _fd: BorrowedFd<'a>, _idx: usize) {}
}

/// The floor: `epoll_wait` on a level-triggered epoll, no bookkeeping.
pub(crate) struct FloorEpoll {
    ep: OwnedFd,
    events: Vec<epoll::Event>,
}

impl<'a> Peer<'a> for FloorEpoll {
    const NAME: &'static str = "floor-epoll";
    fn new() -> Self {
        FloorEpoll {
            ep: epoll::create(epoll::CreateFlags::CLOEXEC).unwrap(),
            events: Vec::with_capacity(1024),
        }
    }
    #[inline(always)]
    fn add(&mut self, fd: BorrowedFd<'a>, idx: usize) {
        let data = epoll::EventData::new_u64(idx as u64);
        epoll::add(&self.ep, fd, data, epoll::EventFlags::IN).unwrap();
    }
    #[inline(always)]
    fn del(&mut self, fd: BorrowedFd<'a>, _idx: usize) {
        epoll::delete(&self.ep, fd).unwrap();
    }
    #[inline(always)]
    fn set_write(&mut self, fd: BorrowedFd<'a>, idx: usize, write: bool) {
        let mut flags = epoll::EventFlags::IN;
        if write {
            flags |= epoll::EventFlags::OUT;
        }
        let data = epoll::EventData::new_u64(idx as u64);
        epoll::modify(&self.ep, fd, data, flags).unwrap();
    }
    #[inline(always)]
    fn wait_each(&mut self, mut f: impl FnMut(usize)) -> usize {
        self.events.clear();
        let spare = rustix::buffer::spare_capacity(&mut self.events);
        epoll::wait(&self.ep, spare, Some(&ZERO)).unwrap();
        for event in &self.events {
            f(event.data.u64() as usize);
        }
        self.events.len()
    }
}

/// The floor: `poll` on an array kept between calls, then a scan for the
/// `revents` it set.
pub(crate) struct FloorPoll<'a> {
    fds: Vec<PollFd<'a>>,
    idx: Vec<usize>,
    /// fd number -> position in `fds`.
    pos: Vec<u32>,
}

impl<'a> Peer<'a> for FloorPoll<'a> {
    const NAME: &'static str = "floor-poll";
    fn new() -> Self {
        FloorPoll {
            fds: Vec::new(),
            idx: Vec::new(),
            pos: vec![0; MAX_FD],
        }
    }
    #[inline(always)]
    fn add(&mut self, fd: BorrowedFd<'a>, idx: usize) {
        self.pos[fd.as_raw_fd() as usize] = self.fds.len() as u32;
        self.fds.push(PollFd::from_borrowed_fd(fd, PollFlags::IN));
        self.idx.push(idx);
    }
    #[inline(always)]
    fn del(&mut self, fd: BorrowedFd<'a>, _idx: usize) {
        let at = self.pos[fd.as_raw_fd() as usize] as usize;
        self.fds.swap_remove(at);
        self.idx.swap_remove(at);
        if let Some(moved) = self.fds.get(at) {
            self.pos[moved.as_fd_raw()] = at as u32;
        }
    }
    #[inline(always)]
    fn set_write(&mut self, fd: BorrowedFd<'a>, _idx: usize, write: bool) {
        let at = self.pos[fd.as_raw_fd() as usize] as usize;
        let mut flags = PollFlags::IN;
        if write {
            flags |= PollFlags::OUT;
        }
        self.fds[at] = PollFd::from_borrowed_fd(fd, flags);
    }
    #[inline(always)]
    fn wait_each(&mut self, mut f: impl FnMut(usize)) -> usize {
        let n = poll(&mut self.fds, Some(&ZERO)).unwrap();
        let mut left = n;
        for (at, pfd) in self.fds.iter().enumerate() {
            if left == 0 {
                break;
            }
            if !pfd.revents().is_empty() {
                f(self.idx[at]);
                left -= 1;
            }
        }
        n
    }
}

/// `PollFd` keeps its fd private; the raw number is all `del` needs.
pub(crate) trait PollFdRaw {
    fn as_fd_raw(&self) -> usize;
}

impl PollFdRaw for PollFd<'_> {
    fn as_fd_raw(&self) -> usize {
        use std::os::unix::io::AsFd;
        self.as_fd().as_raw_fd() as usize
    }
}

/// The floor: `select` on master sets kept between calls, copied into the
/// working sets the kernel overwrites, then a walk of the set bits.
pub(crate) struct FloorSelect {
    read: Vec<FdSetElement>,
    write: Vec<FdSetElement>,
    read_work: Vec<FdSetElement>,
    write_work: Vec<FdSetElement>,
    writers: usize,
    nfds: RawFd,
    idx: Vec<usize>,
}

impl<'a> Peer<'a> for FloorSelect {
    const NAME: &'static str = "floor-select";
    fn new() -> Self {
        let len = rustix::event::fd_set_num_elements(MAX_FD, MAX_FD as RawFd);
        FloorSelect {
            read: vec![FdSetElement::default(); len],
            write: vec![FdSetElement::default(); len],
            read_work: vec![FdSetElement::default(); len],
            write_work: vec![FdSetElement::default(); len],
            writers: 0,
            nfds: 0,
            idx: vec![0; MAX_FD],
        }
    }
    #[inline(always)]
    fn add(&mut self, fd: BorrowedFd<'a>, idx: usize) {
        let fd = fd.as_raw_fd();
        rustix::event::fd_set_insert(&mut self.read, fd);
        self.idx[fd as usize] = idx;
        self.nfds = self.nfds.max(fd + 1);
    }
    #[inline(always)]
    fn del(&mut self, fd: BorrowedFd<'a>, _idx: usize) {
        rustix::event::fd_set_remove(&mut self.read, fd.as_raw_fd());
    }
    #[inline(always)]
    fn set_write(&mut self, fd: BorrowedFd<'a>, _idx: usize, write: bool) {
        if write {
            rustix::event::fd_set_insert(&mut self.write, fd.as_raw_fd());
            self.writers += 1;
        } else {
            rustix::event::fd_set_remove(&mut self.write, fd.as_raw_fd());
            self.writers -= 1;
        }
    }
    #[inline(always)]
    fn wait_each(&mut self, mut f: impl FnMut(usize)) -> usize {
        let len = rustix::event::fd_set_num_elements(self.nfds as usize, self.nfds);
        self.read_work[..len].copy_from_slice(&self.read[..len]);
        let write = if self.writers > 0 {
            self.write_work[..len].copy_from_slice(&self.write[..len]);
            Some(&mut self.write_work[..len])
        } else {
            None
        };
        // SAFETY: every fd in the sets belongs to the pool, which outlives us.
        let n = unsafe {
            rustix::event::select(
                self.nfds,
                Some(&mut self.read_work[..len]),
                write,
                None,
                Some(&ZERO),
            )
        }
        .unwrap();
        if n > 0 {
            for fd in FdSetIter::new(&self.read_work[..len]) {
                f(self.idx[fd as usize]);
            }
            if self.writers > 0 {
                for fd in FdSetIter::new(&self.write_work[..len]) {
                    f(self.idx[fd as usize]);
                }
            }
        }
        n as usize
    }
}

/// One of our backends, through the `Selector` trait.
pub(crate) struct Ours<S> {
    sel: S,
    ready: Vec<Ready<usize>>,
}

macro_rules! ours {
    ($name:literal, $ty:ty) => {
        impl<'a> Peer<'a> for Ours<$ty> {
            const NAME: &'static str = $name;
            fn new() -> Self {
                Ours {
                    sel: <$ty>::new().unwrap(),
                    ready: Vec::new(),
                }
            }
            #[inline(always)]
            fn add(&mut self, fd: BorrowedFd<'a>, idx: usize) {
                self.sel.register(fd, Events::READ, idx).unwrap();
            }
            #[inline(always)]
            fn del(&mut self, fd: BorrowedFd<'a>, _idx: usize) {
                self.sel.unregister(fd).unwrap();
            }
            #[inline(always)]
            fn set_write(&mut self, fd: BorrowedFd<'a>, idx: usize, write: bool) {
                let events = if write {
                    Events::READ | Events::WRITE
                } else {
                    Events::READ
                };
                self.sel.modify(fd, events, idx).unwrap();
            }
            #[inline(always)]
            fn wait_each(&mut self, mut f: impl FnMut(usize)) -> usize {
                let n = self
                    .sel
                    .select_into(Some(Duration::ZERO), &mut self.ready)
                    .unwrap();
                for (key, _) in &self.ready {
                    f(key.data);
                }
                n
            }
        }
    };
}

ours!("epoll", selectors_epoll::EpollSelector<usize>);
ours!("poll", selectors_poll::PollSelector<usize>);
ours!("select", selectors_select::SelectSelector<usize>);

/// 64 bytes of per-fd state that is neither `Clone` nor `Copy`: what
/// `select_events` is for.
#[repr(align(64))]
pub(crate) struct Blob {
    idx: usize,
    _rest: [u8; 56],
}

const _: () = assert!(std::mem::size_of::<Blob>() == 64);

/// One of our backends through `select_events`, with `T = Blob`: the
/// events buffer is reused, and each event's data is reached through the
/// selector (`data`, which checks that the registration is still live).
pub(crate) struct OursEvents<S> {
    sel: S,
    events: Vec<Event>,
}

macro_rules! ours_events {
    ($name:literal, $ty:ty) => {
        impl<'a> Peer<'a> for OursEvents<$ty> {
            const NAME: &'static str = $name;
            fn new() -> Self {
                OursEvents {
                    sel: <$ty>::new().unwrap(),
                    events: Vec::new(),
                }
            }
            #[inline(always)]
            fn add(&mut self, fd: BorrowedFd<'a>, idx: usize) {
                let blob = Blob {
                    idx,
                    _rest: [0; 56],
                };
                self.sel.register(fd, Events::READ, blob).unwrap();
            }
            #[inline(always)]
            fn del(&mut self, fd: BorrowedFd<'a>, _idx: usize) {
                self.sel.unregister(fd).unwrap();
            }
            #[inline(always)]
            fn set_write(&mut self, fd: BorrowedFd<'a>, _idx: usize, write: bool) {
                let events = if write {
                    Events::READ | Events::WRITE
                } else {
                    Events::READ
                };
                self.sel.modify_events(fd, events).unwrap();
            }
            #[inline(always)]
            fn wait_each(&mut self, mut f: impl FnMut(usize)) -> usize {
                let n = self
                    .sel
                    .select_events(Some(Duration::ZERO), &mut self.events)
                    .unwrap();
                for ev in &self.events {
                    if let Some(blob) = self.sel.data(ev) {
                        f(blob.idx);
                    }
                }
                n
            }
        }
    };
}

ours_events!("epoll-events", selectors_epoll::EpollSelector<Blob>);
ours_events!("poll-events", selectors_poll::PollSelector<Blob>);
ours_events!("select-events", selectors_select::SelectSelector<Blob>);

/// mio 1.x: edge-triggered epoll, as it is designed.
pub(crate) struct Mio {
    poll: mio::Poll,
    events: mio::Events,
}

impl<'a> Peer<'a> for Mio {
    const NAME: &'static str = "mio";
    const EDGE: bool = true;
    fn new() -> Self {
        Mio {
            poll: mio::Poll::new().unwrap(),
            events: mio::Events::with_capacity(1024),
        }
    }
    #[inline(always)]
    fn add(&mut self, fd: BorrowedFd<'a>, idx: usize) {
        let mut source = mio::unix::SourceFd(&fd.as_raw_fd());
        let registry = self.poll.registry();
        let interest = mio::Interest::READABLE;
        registry
            .register(&mut source, mio::Token(idx), interest)
            .unwrap();
    }
    #[inline(always)]
    fn del(&mut self, fd: BorrowedFd<'a>, _idx: usize) {
        let mut source = mio::unix::SourceFd(&fd.as_raw_fd());
        self.poll.registry().deregister(&mut source).unwrap();
    }
    #[inline(always)]
    fn set_write(&mut self, fd: BorrowedFd<'a>, idx: usize, write: bool) {
        let mut source = mio::unix::SourceFd(&fd.as_raw_fd());
        let mut interest = mio::Interest::READABLE;
        if write {
            interest = interest.add(mio::Interest::WRITABLE);
        }
        let registry = self.poll.registry();
        registry
            .reregister(&mut source, mio::Token(idx), interest)
            .unwrap();
    }
    #[inline(always)]
    fn wait_each(&mut self, mut f: impl FnMut(usize)) -> usize {
        self.poll
            .poll(&mut self.events, Some(Duration::ZERO))
            .unwrap();
        let mut n = 0;
        for event in self.events.iter() {
            f(event.token().0);
            n += 1;
        }
        n
    }
    fn rearm(&mut self, fd: BorrowedFd<'a>, idx: usize) {
        self.set_write(fd, idx, false);
    }
}

/// polling 3.x in `PollMode::Level`.
pub(crate) struct Polling {
    poller: polling::Poller,
    events: polling::Events,
}

impl<'a> Peer<'a> for Polling {
    const NAME: &'static str = "polling";
    fn new() -> Self {
        Polling {
            poller: polling::Poller::new().unwrap(),
            events: polling::Events::with_capacity(1024.try_into().unwrap()),
        }
    }
    #[inline(always)]
    fn add(&mut self, fd: BorrowedFd<'a>, idx: usize) {
        let event = polling::Event::readable(idx);
        // SAFETY: every fd is deleted (or the poller dropped) before the
        // pool that owns it closes it.
        unsafe {
            self.poller
                .add_with_mode(fd.as_raw_fd(), event, polling::PollMode::Level)
        }
        .unwrap();
    }
    #[inline(always)]
    fn del(&mut self, fd: BorrowedFd<'a>, _idx: usize) {
        self.poller.delete(fd).unwrap();
    }
    #[inline(always)]
    fn set_write(&mut self, fd: BorrowedFd<'a>, idx: usize, write: bool) {
        let event = if write {
            polling::Event::all(idx)
        } else {
            polling::Event::readable(idx)
        };
        let mode = polling::PollMode::Level;
        self.poller.modify_with_mode(fd, event, mode).unwrap();
    }
    #[inline(always)]
    fn wait_each(&mut self, mut f: impl FnMut(usize)) -> usize {
        self.events.clear();
        let n = self
            .poller
            .wait(&mut self.events, Some(Duration::ZERO))
            .unwrap();
        for event in self.events.iter() {
            f(event.key);
        }
        n
    }
}

/// A peer with fds `0..n` of the pool registered for READ.
pub(crate) fn registered<'a, P: Peer<'a>>(pool: &'a Pool, n: usize) -> P {
    let mut peer = P::new();
    for i in 0..n {
        peer.add(pool.fd(i), i);
    }
    peer
}

/// One run of bench.c's `run_once`: flush, start `active` chains spaced
/// evenly, then loop non-blocking until every byte written has been read;
/// each read callback passes the token on to the next pair while `writes`
/// remain. Returns the loop time.
pub(crate) fn chain_run<'a, P: Peer<'a>>(
    pool: &'a Pool,
    peer: &mut P,
    n: usize,
    active: usize,
    writes: usize,
) -> Duration {
    peer.wait_each(|p| panic!("pair {p} ready before the run"));
    let space = n / active;
    let mut fired = 0;
    for i in 0..active {
        rustix::io::write(pool.pair(i * space).1, b"e").unwrap();
        fired += 1;
    }
    let (mut count, mut writes) = (0, writes);
    let mut xcount = 0;
    let start = Instant::now();
    while count != fired {
        peer.wait_each(|idx| {
            let mut ch = [0u8; 1];
            count += rustix::io::read(pool.pair(idx).0, &mut ch).unwrap();
            if writes > 0 {
                let widx = if idx + 1 >= n { idx + 1 - n } else { idx + 1 };
                rustix::io::write(pool.pair(widx).1, b"e").unwrap();
                writes -= 1;
                fired += 1;
            }
        });
        xcount += 1;
        assert!(xcount <= 4 * (fired + 10), "{}: chain stalled", P::NAME);
    }
    start.elapsed()
}
