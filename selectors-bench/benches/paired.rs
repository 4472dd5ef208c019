//! Paired timing (issues 13 and 15): the floor, `select_into`
//! with `T = usize` and `select_events` with a 64-byte non-`Clone` `T`,
//! timed in turn within each round, on the same fds, round after round:
//! waits (`idle`, `ready`, `chain`) and changes (`churn-register`,
//! `churn-modify`, `modify-select`, as in `select.rs`).
//! Each round gives one ratio per pair of peers; the table shows their
//! median and quartiles. A slow stretch of a shared machine then falls on
//! the three peers of a round alike, where criterion's one-after-the-other
//! runs (`select.rs`) let it fall on one peer only.
//!
//! usage: `cargo bench --manifest-path selectors-bench/Cargo.toml --bench
//! paired [-- ROUNDS] [waits|changes|idle]` (default 41 rounds, every row;
//! prints a markdown table).

use std::hint::black_box;
use std::os::unix::io::BorrowedFd;
use std::time::{Duration, Instant};

use selectors_bench::{raise_nofile, Pool, XorShift};

// Shared with `select.rs`, which uses all of it; this bench, part.
#[allow(dead_code)]
mod peers;

use peers::*;

/// How long one peer's batch of waits in a `ready` round lasts, about.
const BATCH: Duration = Duration::from_millis(3);

/// The three contenders of one backend, registered on the same fds.
struct Trio<F, I, E> {
    floor: F,
    into: I,
    events: E,
}

/// Times `run` (`ops` operations) for each of the three peers per round,
/// in an order that rotates from round to round, and prints the table row.
fn report(
    ops: u32,
    scenario: &str,
    param: &str,
    backend: &str,
    rounds: usize,
    mut run: impl FnMut(usize) -> Duration,
) {
    let mut times = vec![[Duration::ZERO; 3]; rounds];
    for (round, time) in times.iter_mut().enumerate() {
        for i in 0..3 {
            let peer = (round + i) % 3;
            time[peer] = run(peer);
        }
    }
    let ratio = |a: usize, b: usize| {
        let mut r: Vec<f64> = times
            .iter()
            .map(|t| t[a].as_secs_f64() / t[b].as_secs_f64())
            .collect();
        r.sort_by(f64::total_cmp);
        let q = |p: f64| r[((r.len() - 1) as f64 * p).round() as usize];
        format!("{:.3} ({:.3}-{:.3})", q(0.5), q(0.25), q(0.75))
    };
    let mut floor: Vec<Duration> = times.iter().map(|t| t[0] / ops).collect();
    floor.sort_unstable();
    println!(
        "| {scenario} | {param} | {backend} | {:.2?} | {} | {} | {} |",
        floor[floor.len() / 2],
        ratio(2, 0),
        ratio(1, 0),
        ratio(2, 1)
    );
}

/// `iters` waits of one peer, timed. Out of line, so that each peer's loop
/// is compiled on its own, as criterion's per-benchmark closures are.
#[inline(never)]
fn waits<'a, P: Peer<'a>>(peer: &mut P, iters: usize) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        black_box(peer.wait());
    }
    start.elapsed()
}

/// The operations of the `changes` rows.
#[derive(Clone, Copy)]
enum Change {
    /// [`churn_register`]
    Register,
    /// [`churn_modify`]
    Modify,
    /// [`modify_select`]
    ModifySelect,
}

/// `iters` runs of `change` on `fd` of one peer, timed; out of line like
/// [`waits`], each loop on its own.
#[inline(never)]
fn ops<'a, P: Peer<'a>>(
    peer: &mut P,
    iters: usize,
    fd: BorrowedFd<'a>,
    change: Change,
) -> Duration {
    let start = Instant::now();
    match change {
        Change::Register => (0..iters).for_each(|_| churn_register(peer, fd)),
        Change::Modify => (0..iters).for_each(|_| churn_modify(peer, fd)),
        Change::ModifySelect => (0..iters).for_each(|_| modify_select(peer, fd)),
    }
    start.elapsed()
}

/// Register and unregister `fd` (not otherwise registered).
fn churn_register<'a, P: Peer<'a>>(peer: &mut P, fd: BorrowedFd<'a>) {
    peer.add(fd, MAX_FD);
    peer.del(fd, MAX_FD);
}

/// Modify `fd` to READ|WRITE and back.
fn churn_modify<'a, P: Peer<'a>>(peer: &mut P, fd: BorrowedFd<'a>) {
    peer.set_write(fd, MAX_FD, true);
    peer.set_write(fd, MAX_FD, false);
}

/// `fd` (index 0 of the pool) to READ|WRITE (it is writable), select,
/// back to READ, select: what a naive poll or select backend pays for.
fn modify_select<'a, P: Peer<'a>>(peer: &mut P, fd: BorrowedFd<'a>) {
    black_box(on_off(peer, fd));
}

/// Times `change` for the three peers of `trio`, and prints the row.
fn paired<'a, F: Peer<'a>, I: Peer<'a>, E: Peer<'a>>(
    trio: &mut Trio<F, I, E>,
    fd: BorrowedFd<'a>,
    (scenario, param, backend, rounds): (&str, &str, &str, usize),
    change: Change,
) {
    let one = ops(&mut trio.floor, 100, fd, change) / 100;
    let iters = (BATCH.as_nanos() / one.as_nanos().max(1)).max(1) as usize;
    report(
        iters as u32,
        scenario,
        param,
        backend,
        rounds,
        |peer| match peer {
            0 => ops(&mut trio.floor, iters, fd, change),
            1 => ops(&mut trio.into, iters, fd, change),
            _ => ops(&mut trio.events, iters, fd, change),
        },
    );
}

/// The `churn-register`, `churn-modify` and `modify-select` rows of one
/// backend: the same operations as `select.rs`, paired.
fn changes<'a, F: Peer<'a>, I: Peer<'a>, E: Peer<'a>>(
    pool: &'a Pool,
    extra: BorrowedFd<'a>,
    name: &str,
    rounds: usize,
) {
    let trio = |n| Trio::<F, I, E> {
        floor: registered(pool, n),
        into: registered(pool, n),
        events: registered(pool, n),
    };
    for others in [0, 10_000] {
        let mut trio = trio(others);
        let param = others.to_string();
        let row = |scenario| (scenario, param.as_str(), name, rounds);
        paired(&mut trio, extra, row("churn-register"), Change::Register);
        trio.floor.add(extra, MAX_FD);
        trio.into.add(extra, MAX_FD);
        trio.events.add(extra, MAX_FD);
        paired(&mut trio, extra, row("churn-modify"), Change::Modify);
    }
    for n in [100, 10_000] {
        let mut trio = trio(n);
        let fd = pool.fd(0);
        let check = |(on, off)| assert_eq!((on, off), (1, 0), "{name}: modify-select");
        check(on_off(&mut trio.floor, fd));
        check(on_off(&mut trio.into, fd));
        check(on_off(&mut trio.events, fd));
        let row = ("modify-select", &*n.to_string(), name, rounds);
        paired(&mut trio, fd, row, Change::ModifySelect);
    }
}

/// One modify-select cycle: what each select reported.
#[inline(always)]
fn on_off<'a, P: Peer<'a>>(peer: &mut P, fd: BorrowedFd<'a>) -> (usize, usize) {
    peer.set_write(fd, 0, true);
    let on = peer.wait();
    peer.set_write(fd, 0, false);
    (on, peer.wait())
}

/// Runs the `idle`, `ready` and `chain` rows of one backend.
/// With `idle_only`, only the `idle` rows.
fn backend<'a, F: Peer<'a>, I: Peer<'a>, E: Peer<'a>>(
    pool: &'a Pool,
    name: &str,
    rounds: usize,
    idle_only: bool,
) {
    let ks: &[usize] = if idle_only { &[0] } else { &[0, 1, 100] };
    for n in [100, 1_000, 10_000] {
        for &k in ks {
            let hot = XorShift::new().sample(n, k);
            for &i in &hot {
                pool.fill(i);
            }
            let mut trio = Trio::<F, I, E> {
                floor: registered(pool, n),
                into: registered(pool, n),
                events: registered(pool, n),
            };
            assert_eq!(trio.floor.wait(), k);
            assert_eq!(trio.into.wait(), k);
            assert_eq!(trio.events.wait(), k);
            let start = Instant::now();
            for _ in 0..10 {
                black_box(trio.floor.wait());
            }
            let one = start.elapsed() / 10;
            let iters = (BATCH.as_nanos() / one.as_nanos().max(1)).max(1) as usize;
            let (scenario, param) = match k {
                0 => ("idle", n.to_string()),
                k => ("ready", format!("{n}-k{k}")),
            };
            report(
                iters as u32,
                scenario,
                &param,
                name,
                rounds,
                |peer| match peer {
                    0 => waits(&mut trio.floor, iters),
                    1 => waits(&mut trio.into, iters),
                    _ => waits(&mut trio.events, iters),
                },
            );
            for &i in &hot {
                assert_eq!(pool.drain(i), 1);
            }
        }
    }
    if idle_only {
        return;
    }
    for (n, active) in [(1_000, 1), (1_000, 100), (5_000, 1), (5_000, 100)] {
        // bench.c at N = 5,000 with one chain costs poll and select a
        // second a run (O(N) per wait, N waits): not in a paired table.
        if n == 5_000 && active == 1 && name != "epoll" {
            continue;
        }
        let mut trio = Trio::<F, I, E> {
            floor: F::new(),
            into: I::new(),
            events: E::new(),
        };
        for p in 0..n {
            trio.floor.add(pool.pair(p).0, p);
            trio.into.add(pool.pair(p).0, p);
            trio.events.add(pool.pair(p).0, p);
        }
        report(
            1,
            "chain",
            &format!("{n}-a{active}"),
            name,
            rounds,
            |peer| match peer {
                0 => chain_run(pool, &mut trio.floor, n, active, n),
                1 => chain_run(pool, &mut trio.into, n, active, n),
                _ => chain_run(pool, &mut trio.events, n, active, n),
            },
        );
    }
}

fn main() {
    raise_nofile().expect("raise RLIMIT_NOFILE");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds = args.iter().find_map(|a| a.parse().ok()).unwrap_or(41);
    // `waits` or `changes` runs only those rows, `idle` only the idle
    // waits; none of them, every row.
    let picked = |rows: &str| args.iter().any(|a| a == rows);
    let all = !(picked("waits") || picked("changes") || picked("idle"));
    let idle_only = picked("idle") && !picked("waits");
    let only = |rows: &str| all || picked(rows) || (rows == "waits" && idle_only);
    // 5000 pairs: N = 10000 registers both ends of each.
    let pool = Pool::new(5000).expect("socketpairs");
    let spare = Pool::new(1).expect("socketpair");
    let extra = spare.fd(0);
    println!("Paired rounds: {rounds}; each cell is the median ratio of the rounds (quartiles in brackets).");
    println!();
    println!("| scenario | param | backend | floor | select_events / floor | select_into / floor | select_events / select_into |");
    println!("|---|---|---|---:|---:|---:|---:|");
    type Epoll = selectors_epoll::EpollSelector<usize>;
    type EpollBlob = selectors_epoll::EpollSelector<Blob>;
    if only("waits") {
        backend::<FloorEpoll, Ours<Epoll>, OursEvents<EpollBlob>>(
            &pool, "epoll", rounds, idle_only,
        );
    }
    if only("changes") {
        changes::<FloorEpoll, Ours<Epoll>, OursEvents<EpollBlob>>(&pool, extra, "epoll", rounds);
    }
    type Poll = selectors_poll::PollSelector<usize>;
    type PollBlob = selectors_poll::PollSelector<Blob>;
    if only("waits") {
        backend::<FloorPoll<'_>, Ours<Poll>, OursEvents<PollBlob>>(
            &pool, "poll", rounds, idle_only,
        );
    }
    if only("changes") {
        changes::<FloorPoll<'_>, Ours<Poll>, OursEvents<PollBlob>>(&pool, extra, "poll", rounds);
    }
    type Select = selectors_select::SelectSelector<usize>;
    type SelectBlob = selectors_select::SelectSelector<Blob>;
    if only("waits") {
        backend::<FloorSelect, Ours<Select>, OursEvents<SelectBlob>>(
            &pool, "select", rounds, idle_only,
        );
    }
    if only("changes") {
        changes::<FloorSelect, Ours<Select>, OursEvents<SelectBlob>>(
            &pool, extra, "select", rounds,
        );
    }
}
