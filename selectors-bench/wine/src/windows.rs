//! The peers and scenarios (see the crate documentation).

use std::hint::black_box;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::windows::io::AsRawSocket;
use std::time::{Duration, Instant};

use selectors_core::{Events, Ready, Selector};
use windows_sys::Win32::Networking::WinSock::{
    select, WSAPoll, POLLRDNORM, SOCKET, SOCKET_ERROR, TIMEVAL, WSAPOLLFD,
};

/// Rounds per figure (the median is taken): fewer at 10,000 connections,
/// where registering them all for each round takes most of the time.
fn rounds(n: usize) -> usize {
    if n > 1_000 {
        11
    } else {
        21
    }
}

/// Calls per timed batch: fewer where one call of the O(N) peers takes
/// milliseconds.
fn calls(n: usize) -> usize {
    (20_000 / n.max(1)).clamp(5, 200)
}

/// N registered sockets: both ends of N/2 TCP connections on 127.0.0.1
/// (`ends[i]` and `ends[i ^ 1]` are connected), so that 10,000 of them fit
/// the 20,000 fds this machine allows a process. They are mio's type so
/// that mio can register them; every other peer uses their raw sockets.
struct Pool {
    ends: Vec<mio::net::TcpStream>,
}

impl Pool {
    fn new(n: usize) -> Pool {
        assert!(n.is_multiple_of(2), "N must be even");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut ends = Vec::new();
        for _ in 0..n / 2 {
            let a = TcpStream::connect(addr).unwrap();
            let (b, _) = listener.accept().unwrap();
            for end in [a, b] {
                end.set_nonblocking(true).unwrap();
                ends.push(mio::net::TcpStream::from_std(end));
            }
        }
        Pool { ends }
    }

    fn socket(&self, i: usize) -> SOCKET {
        self.ends[i].as_raw_socket() as SOCKET
    }

    /// Makes end `i` readable, for good (nobody reads it): its partner
    /// writes a byte.
    fn fill(&self, i: usize) {
        (&self.ends[i ^ 1]).write_all(b"x").unwrap();
    }
}

/// One contender.
trait Peer: Sized {
    const NAME: &'static str;
    /// Edge-triggered: [`rearm`](Peer::rearm) after each wait, untimed.
    const EDGE: bool = false;
    /// Registers every end of `pool` for READ.
    fn new(pool: &mut Pool) -> Self;
    /// One zero-timeout wait; touches each ready index, returns how many.
    fn wait(&mut self) -> usize;
    /// Makes an edge-triggered peer report the ready ends again.
    fn rearm(&mut self, _pool: &mut Pool, _ready: usize) {}
    /// Unregisters everything.
    fn done(self, _pool: &mut Pool) {}
}

/// The floor of `SelectSelector`: a persistent read list copied into the
/// buffer `select` overwrites, as the selector does, and a walk of what it
/// left, with no bookkeeping.
struct RawSelect {
    list: Vec<SOCKET>,
    scratch: Vec<SOCKET>,
}

impl Peer for RawSelect {
    const NAME: &'static str = "raw select";
    fn new(pool: &mut Pool) -> Self {
        let mut list = vec![pool.ends.len()];
        list.extend((0..pool.ends.len()).map(|i| pool.socket(i)));
        let scratch = list.clone();
        RawSelect { list, scratch }
    }
    #[inline]
    fn wait(&mut self) -> usize {
        self.scratch.clear();
        self.scratch.extend_from_slice(&self.list);
        let zero = TIMEVAL {
            tv_sec: 0,
            tv_usec: 0,
        };
        // SAFETY: `scratch` is laid out as an FD_SET (the count word, then
        // that many sockets, all open for the pool's lifetime); `zero` is a
        // live local.
        let n = unsafe {
            select(
                0,
                self.scratch.as_mut_ptr().cast(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &zero,
            )
        };
        assert_ne!(n, SOCKET_ERROR);
        let count = (self.scratch[0] as u64 & u64::from(u32::MAX)) as usize;
        black_box(self.scratch[1..1 + count].iter().sum::<usize>());
        count
    }
}

/// The floor of `PollSelector`: one persistent `WSAPOLLFD` array.
struct RawPoll {
    fds: Vec<WSAPOLLFD>,
}

impl Peer for RawPoll {
    const NAME: &'static str = "raw WSAPoll";
    fn new(pool: &mut Pool) -> Self {
        let fds = (0..pool.ends.len())
            .map(|i| WSAPOLLFD {
                fd: pool.socket(i),
                events: POLLRDNORM,
                revents: 0,
            })
            .collect();
        RawPoll { fds }
    }
    #[inline]
    fn wait(&mut self) -> usize {
        // SAFETY: `fds` is a live array of that many initialised entries.
        let n = unsafe { WSAPoll(self.fds.as_mut_ptr(), self.fds.len() as u32, 0) };
        assert_ne!(n, SOCKET_ERROR);
        let (mut left, mut sum) = (n as usize, 0);
        for (i, entry) in self.fds.iter().enumerate() {
            if left == 0 {
                break;
            }
            if entry.revents != 0 {
                left -= 1;
                sum += i;
            }
        }
        black_box(sum);
        n as usize
    }
}

/// One of our selectors, with a reused result buffer.
struct Ours<S> {
    sel: S,
    ready: Vec<Ready<usize>>,
}

macro_rules! ours {
    ($name:literal, $sel:ty) => {
        impl Peer for Ours<$sel> {
            const NAME: &'static str = $name;
            fn new(pool: &mut Pool) -> Self {
                let mut sel = <$sel>::new().unwrap();
                for i in 0..pool.ends.len() {
                    sel.register(pool.socket(i) as u64, Events::READ, i)
                        .unwrap();
                }
                Ours {
                    sel,
                    ready: Vec::with_capacity(pool.ends.len()),
                }
            }
            #[inline]
            fn wait(&mut self) -> usize {
                let n = self
                    .sel
                    .select_into(Some(Duration::ZERO), &mut self.ready)
                    .unwrap();
                black_box(self.ready.iter().map(|(key, _)| key.data).sum::<usize>());
                n
            }
        }
    };
}

ours!("SelectSelector", selectors_select::SelectSelector<usize>);
ours!("PollSelector", selectors_poll::PollSelector<usize>);
ours!("IocpSelector", selectors_iocp::IocpSelector<usize>);

/// mio 1.x: edge-triggered, on IOCP and AFD polls.
struct Mio {
    poll: mio::Poll,
    events: mio::Events,
}

impl Peer for Mio {
    const NAME: &'static str = "mio";
    const EDGE: bool = true;
    fn new(pool: &mut Pool) -> Self {
        let poll = mio::Poll::new().unwrap();
        for (i, end) in pool.ends.iter_mut().enumerate() {
            poll.registry()
                .register(end, mio::Token(i), mio::Interest::READABLE)
                .unwrap();
        }
        Mio {
            poll,
            events: mio::Events::with_capacity(pool.ends.len().max(1)),
        }
    }
    #[inline]
    fn wait(&mut self) -> usize {
        self.poll
            .poll(&mut self.events, Some(Duration::ZERO))
            .unwrap();
        let mut n = 0;
        let mut sum = 0;
        for event in self.events.iter() {
            sum += event.token().0;
            n += 1;
        }
        black_box(sum);
        n
    }
    fn rearm(&mut self, pool: &mut Pool, _ready: usize) {
        let tokens: Vec<usize> = self.events.iter().map(|e| e.token().0).collect();
        for i in tokens {
            self.poll
                .registry()
                .reregister(&mut pool.ends[i], mio::Token(i), mio::Interest::READABLE)
                .unwrap();
        }
    }
    fn done(self, pool: &mut Pool) {
        for end in &mut pool.ends {
            self.poll.registry().deregister(end).unwrap();
        }
    }
}

/// polling 3.x in `PollMode::Level`, on IOCP and AFD polls.
struct Polling {
    poller: polling::Poller,
    events: polling::Events,
}

impl Peer for Polling {
    const NAME: &'static str = "polling";
    fn new(pool: &mut Pool) -> Self {
        let poller = polling::Poller::new().unwrap();
        for (i, end) in pool.ends.iter().enumerate() {
            // SAFETY: every socket is deleted (in `done`) before the pool
            // closes it.
            unsafe {
                poller.add_with_mode(
                    end.as_raw_socket(),
                    polling::Event::readable(i),
                    polling::PollMode::Level,
                )
            }
            .unwrap();
        }
        Polling {
            poller,
            events: polling::Events::new(),
        }
    }
    #[inline]
    fn wait(&mut self) -> usize {
        self.events.clear();
        let n = self
            .poller
            .wait(&mut self.events, Some(Duration::ZERO))
            .unwrap();
        black_box(self.events.iter().map(|e| e.key).sum::<usize>());
        n
    }
    fn done(self, pool: &mut Pool) {
        for end in &pool.ends {
            self.poller.delete(end).unwrap();
        }
    }
}

/// The median over rounds of ns per call, per peer, in `PEERS` order.
type Figures = Vec<f64>;

/// Times every peer on `pool`, where `expect` ends are ready.
fn measure(pool: &mut Pool, expect: usize) -> Figures {
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); PEERS.len()];
    for _ in 0..rounds(pool.ends.len()) {
        for (p, run) in PEERS.iter().enumerate() {
            samples[p].push(run(pool, expect));
        }
    }
    samples.iter_mut().map(|s| quartiles(s).1).collect()
}

/// The lower quartile, the median and the upper quartile of `samples`.
fn quartiles(samples: &mut [f64]) -> (f64, f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |q: usize| samples[(samples.len() - 1) * q / 4];
    (at(1), at(2), at(3))
}

/// Rounds of the side-by-side table.
const SIDE_BY_SIDE_ROUNDS: usize = 61;

/// The AFD peers side by side: `IocpSelector`, mio and polling registered
/// on `pool` at once, for the whole run, then timed a batch each per round
/// in a rotating order. Registering once takes the noise of 10,000
/// registrations out of every round, and every peer's waits see the same
/// wineserver (the same polls pending, 3N of them). Returns the per-round
/// ratios (ours / mio, ours / polling) and the median ns per call of each.
fn side_by_side(pool: &mut Pool, expect: usize) -> ([Vec<f64>; 2], [f64; 3]) {
    let mut ours = Ours::<selectors_iocp::IocpSelector<usize>>::new(pool);
    let mut mio = Mio::new(pool);
    let mut polling = Polling::new(pool);
    warm_up(&mut ours, pool, expect);
    warm_up(&mut mio, pool, expect);
    warm_up(&mut polling, pool, expect);
    let mut times: [Vec<f64>; 3] = Default::default();
    let mut ratios: [Vec<f64>; 2] = Default::default();
    for round in 0..SIDE_BY_SIDE_ROUNDS {
        let mut t = [0.0; 3];
        for turn in 0..3 {
            let peer = (round + turn) % 3;
            t[peer] = match peer {
                0 => timed(&mut ours, pool, expect),
                1 => timed(&mut mio, pool, expect),
                _ => timed(&mut polling, pool, expect),
            };
        }
        ratios[0].push(t[0] / t[1]);
        ratios[1].push(t[0] / t[2]);
        for (all, one) in times.iter_mut().zip(t) {
            all.push(one);
        }
    }
    polling.done(pool);
    mio.done(pool);
    drop(ours);
    (ratios, times.map(|mut t| quartiles(&mut t).1))
}

/// One batch of one peer: ns per call. Level peers are timed as a batch;
/// an edge-triggered one (mio) call by call, its re-arming untimed.
fn timed<P: Peer>(peer: &mut P, pool: &mut Pool, expect: usize) -> f64 {
    let calls = calls(pool.ends.len());
    let elapsed = if P::EDGE && expect > 0 {
        let mut total = Duration::ZERO;
        for _ in 0..calls {
            let start = Instant::now();
            let n = peer.wait();
            total += start.elapsed();
            peer.rearm(pool, n);
        }
        total
    } else {
        let start = Instant::now();
        for _ in 0..calls {
            black_box(peer.wait());
        }
        start.elapsed()
    };
    elapsed.as_nanos() as f64 / calls as f64
}

/// Warms `peer` up, and checks that it sees what is ready.
fn warm_up<P: Peer>(peer: &mut P, pool: &mut Pool, expect: usize) {
    for _ in 0..calls(pool.ends.len()).min(10) {
        let n = peer.wait();
        assert_eq!(n, expect, "{}", P::NAME);
        peer.rearm(pool, n);
    }
}

/// One peer registered, warmed up, timed for one batch and unregistered.
fn batch<P: Peer>(pool: &mut Pool, expect: usize) -> f64 {
    let mut peer = P::new(pool);
    warm_up(&mut peer, pool, expect);
    let ns = timed(&mut peer, pool, expect);
    peer.done(pool);
    ns
}

/// Every peer, in column order.
const PEERS: [fn(&mut Pool, usize) -> f64; 7] = [
    batch::<RawSelect>,
    batch::<Ours<selectors_select::SelectSelector<usize>>>,
    batch::<RawPoll>,
    batch::<Ours<selectors_poll::PollSelector<usize>>>,
    batch::<Mio>,
    batch::<Polling>,
    batch::<Ours<selectors_iocp::IocpSelector<usize>>>,
];

/// The first table's scenarios, then the second's: `(N, k)`.
const SMALL: [(usize, usize); 4] = [(10, 0), (100, 0), (100, 1), (100, 10)];
const SCALE: [(usize, usize); 6] = [
    (100, 0),
    (100, 10),
    (1_000, 0),
    (1_000, 10),
    (10_000, 0),
    (10_000, 10),
];

/// Every peer's figures on N connections of which k are ready.
fn scenario(n: usize, k: usize) -> (String, Figures) {
    let mut pool = Pool::new(n);
    fill(&pool, k);
    let f = measure(&mut pool, k);
    let name = name(n, k);
    eprintln!("{name}: ns per call {f:.0?}");
    (name, f)
}

/// With no argument, both tables of every peer and the side-by-side
/// table; with `afd`, only the side-by-side table.
pub(crate) fn main() {
    let only_afd = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("afd") => true,
        Some(other) => {
            eprintln!("selectors-wine-bench: unknown argument {other:?} (expected none or `afd`)");
            std::process::exit(2);
        }
    };
    if !only_afd {
        every_peer();
        println!();
    }
    println!("| scenario | IocpSelector / mio | IocpSelector / polling | IocpSelector, mio, polling (µs per call) |");
    println!("|---|---|---|---|");
    for (n, k) in SCALE {
        let mut pool = Pool::new(n);
        fill(&pool, k);
        let ([mut mio, mut polling], t) = side_by_side(&mut pool, k);
        let range = |r: &mut Vec<f64>| {
            let (low, mid, high) = quartiles(r);
            format!("{mid:.3} ({low:.3}-{high:.3})")
        };
        println!(
            "| {} | {} | {} | {:.1}, {:.1}, {:.1} |",
            name(n, k),
            range(&mut mio),
            range(&mut polling),
            t[0] / 1e3,
            t[1] / 1e3,
            t[2] / 1e3,
        );
    }
}

/// Makes k ends of `pool` ready, spread over it, so that no backend gets
/// them all first.
fn fill(pool: &Pool, k: usize) {
    let n = pool.ends.len();
    for i in 0..k {
        pool.fill(i * n / k.max(1));
    }
}

/// A scenario's row name.
fn name(n: usize, k: usize) -> String {
    if k == 0 {
        format!("idle/{n}")
    } else {
        format!("ready/{n}-{k}")
    }
}

/// The first two tables: every peer, each registered for its own batch.
fn every_peer() {
    let mut figures: Vec<(usize, usize, String, Figures)> = Vec::new();
    for (n, k) in SMALL.into_iter().chain(SCALE) {
        if !figures.iter().any(|&(m, j, ..)| (m, j) == (n, k)) {
            let (name, f) = scenario(n, k);
            figures.push((n, k, name, f));
        }
    }
    let find = |n: usize, k: usize| {
        let (_, _, name, f) = figures
            .iter()
            .find(|&&(m, j, ..)| (m, j) == (n, k))
            .unwrap();
        (name, f)
    };
    println!("| scenario | SelectSelector / raw select | PollSelector / raw WSAPoll | mio / SelectSelector | polling / SelectSelector | mio / PollSelector | polling / PollSelector | raw select, WSAPoll, mio, polling (µs per call) |");
    println!("|---|---|---|---|---|---|---|---|");
    for (n, k) in SMALL {
        let (name, f) = find(n, k);
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1}, {:.1}, {:.1}, {:.1} |",
            f[1] / f[0],
            f[3] / f[2],
            f[4] / f[1],
            f[5] / f[1],
            f[4] / f[3],
            f[5] / f[3],
            f[0] / 1e3,
            f[2] / 1e3,
            f[4] / 1e3,
            f[5] / 1e3,
        );
    }
    println!();
    println!("| scenario | SelectSelector / IocpSelector | PollSelector / IocpSelector | IocpSelector / mio | IocpSelector / polling | IocpSelector, SelectSelector, PollSelector, mio, polling (µs per call) |");
    println!("|---|---|---|---|---|---|");
    for (n, k) in SCALE {
        let (name, f) = find(n, k);
        println!(
            "| {name} | {:.1} | {:.1} | {:.2} | {:.2} | {:.1}, {:.1}, {:.1}, {:.1}, {:.1} |",
            f[1] / f[6],
            f[3] / f[6],
            f[6] / f[4],
            f[6] / f[5],
            f[6] / 1e3,
            f[1] / 1e3,
            f[3] / 1e3,
            f[4] / 1e3,
            f[5] / 1e3,
        );
    }
}
