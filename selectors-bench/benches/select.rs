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
//! Peers: `floor-*` (the raw loops), `epoll` / `poll` / `select` (ours,
//! `select_into` with `T = usize`), `*-events` (ours, `select_events` with
//! a 64-byte non-`Clone` `T`), `mio`, `polling`.
//!
//! `SELECTORS_BENCH_QUICK=1` shortens warm-up and measurement.

use std::hint::black_box;
use std::os::unix::io::BorrowedFd;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode};
use selectors_bench::{raise_nofile, Pool, XorShift};

mod peers;

use peers::*;

/// A scenario, run once per peer for one parameter.
trait Scenario<'a> {
    fn run<P: Peer<'a>>(&mut self, group: &mut BenchmarkGroup<'_, WallTime>);
}

/// Runs `s` for every peer in turn: floors next to our backend on the same
/// primitive, then the libraries.
fn each_peer<'a, S: Scenario<'a>>(group: &mut BenchmarkGroup<'_, WallTime>, s: &mut S) {
    s.run::<FloorEpoll>(group);
    s.run::<Ours<selectors_epoll::EpollSelector<usize>>>(group);
    s.run::<OursEvents<selectors_epoll::EpollSelector<Blob>>>(group);
    s.run::<FloorPoll<'a>>(group);
    s.run::<Ours<selectors_poll::PollSelector<usize>>>(group);
    s.run::<OursEvents<selectors_poll::PollSelector<Blob>>>(group);
    s.run::<FloorSelect>(group);
    s.run::<Ours<selectors_select::SelectSelector<usize>>>(group);
    s.run::<OursEvents<selectors_select::SelectSelector<Blob>>>(group);
    s.run::<Mio>(group);
    s.run::<Polling>(group);
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
