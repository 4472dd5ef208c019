//! Our selectors beside the raw syscall loops (the floor), mio and polling:
//! all peers in one binary, run one after the other for each parameter, on
//! the same fds (one [`Pool`] of socketpairs).
//!
//! Groups (the report in `src/bin/report.rs` reads them back by name):
//! - `idle/N`: N fds registered for READ, none ready, timeout zero.
//! - `ready/N-k`: k fixed-seed random fds of N hold one unread byte (level
//!   readiness); only the select is timed.
//! - `chain/N-aA`: libevent's `test/bench.c` (Provos; Lehmann's libev
//!   benchmark): N socketpairs, A active chains, W = N chained writes; the
//!   loop time of one run.
//! - `churn-register/M`, `churn-modify/M`: register+unregister, and modify
//!   READ -> READ|WRITE -> READ, of one more fd with M others registered.
//! - `modify-select/N`: modify one of N fds to READ|WRITE, select (it is
//!   writable), modify back, select: what a naive poll/select backend pays
//!   with a rebuild per call.
//!
//! `SELECTORS_BENCH_QUICK=1` shortens warm-up and measurement.

use std::hint::black_box;
use std::os::unix::io::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode};
use rustix::event::{epoll, poll, FdSetElement, FdSetIter, PollFd, PollFlags, Timespec};
use selectors_bench::{raise_nofile, Pool, XorShift};
use selectors_core::{Events, Ready, Selector};

const ZERO: Timespec = Timespec {
    tv_sec: 0,
    tv_nsec: 0,
};
/// Highest fd number any peer's tables cover (the hard limit here).
const MAX_FD: usize = 20_000;

/// One contender: the operations every scenario needs, on fds of a pool that
/// outlives it.
trait Peer<'a> {
    const NAME: &'static str;
    /// Edge-triggered: readiness is reported once unless re-armed.
    const EDGE: bool = false;
    fn new() -> Self;
    fn add(&mut self, fd: BorrowedFd<'a>, idx: usize);
    fn del(&mut self, fd: BorrowedFd<'a>, idx: usize);
    /// READ|WRITE if `write`, else READ.
    fn set_write(&mut self, fd: BorrowedFd<'a>, idx: usize, write: bool);
    /// Waits with a zero timeout and hands each ready fd's index to `f`;
    /// returns how many were reported.
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
struct FloorEpoll {
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
    fn add(&mut self, fd: BorrowedFd<'a>, idx: usize) {
        let data = epoll::EventData::new_u64(idx as u64);
        epoll::add(&self.ep, fd, data, epoll::EventFlags::IN).unwrap();
    }
    fn del(&mut self, fd: BorrowedFd<'a>, _idx: usize) {
        epoll::delete(&self.ep, fd).unwrap();
    }
    fn set_write(&mut self, fd: BorrowedFd<'a>, idx: usize, write: bool) {
        let mut flags = epoll::EventFlags::IN;
        if write {
            flags |= epoll::EventFlags::OUT;
        }
        let data = epoll::EventData::new_u64(idx as u64);
        epoll::modify(&self.ep, fd, data, flags).unwrap();
    }
    #[inline]
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
struct FloorPoll<'a> {
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
    fn add(&mut self, fd: BorrowedFd<'a>, idx: usize) {
        self.pos[fd.as_raw_fd() as usize] = self.fds.len() as u32;
        self.fds.push(PollFd::from_borrowed_fd(fd, PollFlags::IN));
        self.idx.push(idx);
    }
    fn del(&mut self, fd: BorrowedFd<'a>, _idx: usize) {
        let at = self.pos[fd.as_raw_fd() as usize] as usize;
        self.fds.swap_remove(at);
        self.idx.swap_remove(at);
        if let Some(moved) = self.fds.get(at) {
            self.pos[moved.as_fd_raw()] = at as u32;
        }
    }
    fn set_write(&mut self, fd: BorrowedFd<'a>, _idx: usize, write: bool) {
        let at = self.pos[fd.as_raw_fd() as usize] as usize;
        let mut flags = PollFlags::IN;
        if write {
            flags |= PollFlags::OUT;
        }
        self.fds[at] = PollFd::from_borrowed_fd(fd, flags);
    }
    #[inline]
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
trait PollFdRaw {
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
struct FloorSelect {
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
    fn add(&mut self, fd: BorrowedFd<'a>, idx: usize) {
        let fd = fd.as_raw_fd();
        rustix::event::fd_set_insert(&mut self.read, fd);
        self.idx[fd as usize] = idx;
        self.nfds = self.nfds.max(fd + 1);
    }
    fn del(&mut self, fd: BorrowedFd<'a>, _idx: usize) {
        rustix::event::fd_set_remove(&mut self.read, fd.as_raw_fd());
    }
    fn set_write(&mut self, fd: BorrowedFd<'a>, _idx: usize, write: bool) {
        if write {
            rustix::event::fd_set_insert(&mut self.write, fd.as_raw_fd());
            self.writers += 1;
        } else {
            rustix::event::fd_set_remove(&mut self.write, fd.as_raw_fd());
            self.writers -= 1;
        }
    }
    #[inline]
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
struct Ours<S> {
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
            fn add(&mut self, fd: BorrowedFd<'a>, idx: usize) {
                self.sel.register(fd, Events::READ, idx).unwrap();
            }
            fn del(&mut self, fd: BorrowedFd<'a>, _idx: usize) {
                self.sel.unregister(fd).unwrap();
            }
            fn set_write(&mut self, fd: BorrowedFd<'a>, idx: usize, write: bool) {
                let events = if write {
                    Events::READ | Events::WRITE
                } else {
                    Events::READ
                };
                self.sel.modify(fd, events, idx).unwrap();
            }
            #[inline]
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

/// mio 1.x: edge-triggered epoll, as it is designed.
struct Mio {
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
    fn add(&mut self, fd: BorrowedFd<'a>, idx: usize) {
        let mut source = mio::unix::SourceFd(&fd.as_raw_fd());
        let registry = self.poll.registry();
        let interest = mio::Interest::READABLE;
        registry
            .register(&mut source, mio::Token(idx), interest)
            .unwrap();
    }
    fn del(&mut self, fd: BorrowedFd<'a>, _idx: usize) {
        let mut source = mio::unix::SourceFd(&fd.as_raw_fd());
        self.poll.registry().deregister(&mut source).unwrap();
    }
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
    #[inline]
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
struct Polling {
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
    fn del(&mut self, fd: BorrowedFd<'a>, _idx: usize) {
        self.poller.delete(fd).unwrap();
    }
    fn set_write(&mut self, fd: BorrowedFd<'a>, idx: usize, write: bool) {
        let event = if write {
            polling::Event::all(idx)
        } else {
            polling::Event::readable(idx)
        };
        let mode = polling::PollMode::Level;
        self.poller.modify_with_mode(fd, event, mode).unwrap();
    }
    #[inline]
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

/// A scenario, run once per peer for one parameter.
trait Scenario<'a> {
    fn run<P: Peer<'a>>(&mut self, group: &mut BenchmarkGroup<'_, WallTime>);
}

/// Runs `s` for every peer in turn: floors next to our backend on the same
/// primitive, then the libraries.
fn each_peer<'a, S: Scenario<'a>>(group: &mut BenchmarkGroup<'_, WallTime>, s: &mut S) {
    s.run::<FloorEpoll>(group);
    s.run::<Ours<selectors_epoll::EpollSelector<usize>>>(group);
    s.run::<FloorPoll<'a>>(group);
    s.run::<Ours<selectors_poll::PollSelector<usize>>>(group);
    s.run::<FloorSelect>(group);
    s.run::<Ours<selectors_select::SelectSelector<usize>>>(group);
    s.run::<Mio>(group);
    s.run::<Polling>(group);
}

/// A peer with fds `0..n` of the pool registered for READ.
fn registered<'a, P: Peer<'a>>(pool: &'a Pool, n: usize) -> P {
    let mut peer = P::new();
    for i in 0..n {
        peer.add(pool.fd(i), i);
    }
    peer
}

struct Idle<'a> {
    pool: &'a Pool,
    n: usize,
}

impl<'a> Scenario<'a> for Idle<'a> {
    fn run<P: Peer<'a>>(&mut self, group: &mut BenchmarkGroup<'_, WallTime>) {
        let mut peer: P = registered(self.pool, self.n);
        assert_eq!(peer.wait(), 0, "{}: idle fds reported ready", P::NAME);
        group.bench_function(BenchmarkId::new(P::NAME, self.n), |b| {
            b.iter(|| peer.wait())
        });
    }
}

struct ReadyK<'a> {
    pool: &'a Pool,
    n: usize,
    hot: Vec<usize>,
    /// Cost of the `Instant` pair around one timed call (edge peers only).
    clock: Duration,
}

impl<'a> Scenario<'a> for ReadyK<'a> {
    fn run<P: Peer<'a>>(&mut self, group: &mut BenchmarkGroup<'_, WallTime>) {
        let (pool, hot, k, clock) = (self.pool, &self.hot, self.hot.len(), self.clock);
        let mut peer: P = registered(pool, self.n);
        assert_eq!(peer.wait(), k, "{}: wrong ready count", P::NAME);
        let id = BenchmarkId::new(P::NAME, format!("{}-k{}", self.n, k));
        group.bench_function(id, |b| {
            b.iter_custom(|iters| {
                if !P::EDGE {
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(peer.wait());
                    }
                    return start.elapsed();
                }
                // Edge-triggered: re-arm the k fds (untimed) so that each wait
                // reports them again, and time the waits one by one.
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    for &i in hot {
                        peer.rearm(pool.fd(i), i);
                    }
                    let start = Instant::now();
                    black_box(peer.wait());
                    total += start.elapsed().saturating_sub(clock);
                }
                total
            })
        });
    }
}

struct Chain<'a> {
    pool: &'a Pool,
    n: usize,
    active: usize,
}

impl<'a> Scenario<'a> for Chain<'a> {
    fn run<P: Peer<'a>>(&mut self, group: &mut BenchmarkGroup<'_, WallTime>) {
        let (pool, n, active) = (self.pool, self.n, self.active);
        // bench.c registers the read end of each pair, EV_READ|EV_PERSIST,
        // with the pair's number as the callback argument.
        let mut peer = P::new();
        for p in 0..n {
            peer.add(pool.pair(p).0, p);
        }
        let id = BenchmarkId::new(P::NAME, format!("{n}-a{active}"));
        group.bench_function(id, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += chain_run(pool, &mut peer, n, active, n);
                }
                total
            })
        });
    }
}

/// One run of bench.c's `run_once`: flush, start `active` chains spaced
/// evenly, then loop non-blocking until every byte written has been read;
/// each read callback passes the token on to the next pair while `writes`
/// remain. Returns the loop time.
fn chain_run<'a, P: Peer<'a>>(
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

struct ChurnRegister<'a> {
    pool: &'a Pool,
    extra: BorrowedFd<'a>,
    others: usize,
}

impl<'a> Scenario<'a> for ChurnRegister<'a> {
    fn run<P: Peer<'a>>(&mut self, group: &mut BenchmarkGroup<'_, WallTime>) {
        let (extra, idx) = (self.extra, MAX_FD);
        let mut peer: P = registered(self.pool, self.others);
        group.bench_function(BenchmarkId::new(P::NAME, self.others), |b| {
            b.iter(|| {
                peer.add(extra, idx);
                peer.del(extra, idx);
            })
        });
    }
}

struct ChurnModify<'a> {
    pool: &'a Pool,
    extra: BorrowedFd<'a>,
    others: usize,
}

impl<'a> Scenario<'a> for ChurnModify<'a> {
    fn run<P: Peer<'a>>(&mut self, group: &mut BenchmarkGroup<'_, WallTime>) {
        let (extra, idx) = (self.extra, MAX_FD);
        let mut peer: P = registered(self.pool, self.others);
        peer.add(extra, idx);
        group.bench_function(BenchmarkId::new(P::NAME, self.others), |b| {
            b.iter(|| {
                peer.set_write(extra, idx, true);
                peer.set_write(extra, idx, false);
            })
        });
    }
}

struct ModifySelect<'a> {
    pool: &'a Pool,
    n: usize,
}

impl<'a> Scenario<'a> for ModifySelect<'a> {
    fn run<P: Peer<'a>>(&mut self, group: &mut BenchmarkGroup<'_, WallTime>) {
        let fd = self.pool.fd(0);
        let mut peer: P = registered(self.pool, self.n);
        let cycle = |peer: &mut P| {
            peer.set_write(fd, 0, true);
            let on = peer.wait();
            peer.set_write(fd, 0, false);
            let off = peer.wait();
            (on, off)
        };
        assert_eq!(cycle(&mut peer), (1, 0), "{}: modify-select", P::NAME);
        group.bench_function(BenchmarkId::new(P::NAME, self.n), |b| {
            b.iter(|| cycle(&mut peer))
        });
    }
}

/// What one `Instant::now()` + `elapsed()` pair costs, for the peers timed
/// call by call.
fn clock_overhead() -> Duration {
    let mut samples: Vec<Duration> = (0..10_001)
        .map(|_| {
            let start = Instant::now();
            start.elapsed()
        })
        .collect();
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn main() {
    let limit = raise_nofile().expect("raise RLIMIT_NOFILE");
    assert!(
        limit >= 10_100,
        "RLIMIT_NOFILE hard limit {limit} is below 10100"
    );
    let quick = std::env::var_os("SELECTORS_BENCH_QUICK").is_some_and(|v| v != "0");
    let (warm, measure) = if quick {
        (Duration::from_millis(200), Duration::from_millis(600))
    } else {
        (Duration::from_millis(800), Duration::from_secs(2))
    };
    let mut c = Criterion::default()
        .warm_up_time(warm)
        .measurement_time(measure)
        .sample_size(if quick { 10 } else { 30 })
        .without_plots()
        .configure_from_args();

    // 5000 pairs: N = 10000 registers both ends of each.
    let pool = Pool::new(5000).expect("socketpairs");
    let spare = Pool::new(1).expect("socketpair");
    let extra = spare.fd(0);

    let mut group = c.benchmark_group("idle");
    for n in [1, 100, 1000, 10_000] {
        each_peer(&mut group, &mut Idle { pool: &pool, n });
    }
    group.finish();

    let clock = clock_overhead();
    let mut group = c.benchmark_group("ready");
    for n in [100, 1000, 10_000] {
        for k in [1, 100] {
            let hot = XorShift::new().sample(n, k);
            for &i in &hot {
                pool.fill(i);
            }
            each_peer(
                &mut group,
                &mut ReadyK {
                    pool: &pool,
                    n,
                    hot: hot.clone(),
                    clock,
                },
            );
            for &i in &hot {
                assert_eq!(pool.drain(i), 1);
            }
        }
    }
    group.finish();

    let mut group = c.benchmark_group("chain");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    for n in [100, 1000, 5000] {
        for active in [1, 100] {
            each_peer(
                &mut group,
                &mut Chain {
                    pool: &pool,
                    n,
                    active,
                },
            );
        }
    }
    group.finish();

    let mut group = c.benchmark_group("churn-register");
    for others in [0, 10_000] {
        each_peer(
            &mut group,
            &mut ChurnRegister {
                pool: &pool,
                extra,
                others,
            },
        );
    }
    group.finish();

    let mut group = c.benchmark_group("churn-modify");
    for others in [0, 10_000] {
        each_peer(
            &mut group,
            &mut ChurnModify {
                pool: &pool,
                extra,
                others,
            },
        );
    }
    group.finish();

    let mut group = c.benchmark_group("modify-select");
    for n in [100, 10_000] {
        each_peer(&mut group, &mut ModifySelect { pool: &pool, n });
    }
    group.finish();

    c.final_summary();
}
