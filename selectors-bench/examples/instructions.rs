//! User-space instructions per `select` of k ready fds among N (and per
//! register/unregister and modify pair), counted by valgrind rather than
//! timed, so that a loaded machine does not blur the comparison: the raw
//! `epoll_wait` loop, `select_into` with `T = usize`, and `select_events`
//! with a 64-byte non-`Clone` `T` reaching each event's data; the raw
//! `epoll_ctl` pairs and ours. The kernel's work is the same for both sides
//! and is not counted.
//!
//! ```text
//! cargo build --release --manifest-path selectors-bench/Cargo.toml --example instructions
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     selectors-bench/target/release/examples/instructions PEER N K ITERS
//! ```
//!
//! PEER is `floor`, `select_into` or `select_events` (one select and its
//! walk of the results), `churn_floor` or `churn` (a register and an
//! unregister of one more fd), or `modify_floor` or `modify` (READ to
//! READ|WRITE and back); K is unused by the last four. The difference of
//! the totals at two ITERS, divided by the difference of ITERS, is the cost
//! of one iteration (the set-up cancels out).

use std::hint::black_box;
use std::os::unix::io::AsRawFd;
use std::time::Duration;

use rustix::event::epoll;
use selectors_bench::{raise_nofile, Pool, XorShift};
use selectors_core::{Events, Selector};
use selectors_epoll::EpollSelector;

/// 64 bytes of per-fd state that is neither `Clone` nor `Copy`.
#[repr(align(64))]
struct Blob {
    idx: usize,
    _rest: [u8; 56],
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [peer, n, k, iters] = &args[..] else {
        eprintln!(
            "usage: instructions floor|select_into|select_events|churn_floor|churn|modify_floor|modify N K ITERS"
        );
        std::process::exit(2);
    };
    let (n, k, iters): (usize, usize, usize) = (
        n.parse().unwrap(),
        k.parse().unwrap(),
        iters.parse().unwrap(),
    );
    raise_nofile().unwrap();
    let pool = Pool::new((n + 1).div_ceil(2)).unwrap();
    for i in XorShift::new().sample(n, k) {
        pool.fill(i);
    }
    let mut sum = 0;
    match peer.as_str() {
        "floor" => {
            let ep = epoll::create(epoll::CreateFlags::CLOEXEC).unwrap();
            for i in 0..n {
                let data = epoll::EventData::new_u64(i as u64);
                epoll::add(&ep, pool.fd(i), data, epoll::EventFlags::IN).unwrap();
            }
            let mut events = Vec::with_capacity(n);
            for _ in 0..iters {
                events.clear();
                let zero = rustix::event::Timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                epoll::wait(
                    &ep,
                    rustix::buffer::spare_capacity(&mut events),
                    Some(&zero),
                )
                .unwrap();
                for ev in &events {
                    sum += ev.data.u64() as usize;
                }
            }
        }
        "select_into" => {
            let mut sel = EpollSelector::<usize>::new().unwrap();
            for i in 0..n {
                sel.register(pool.fd(i), Events::READ, i).unwrap();
            }
            let mut ready = Vec::new();
            for _ in 0..iters {
                sel.select_into(Some(Duration::ZERO), &mut ready).unwrap();
                for (key, _) in &ready {
                    sum += key.data;
                }
            }
        }
        "select_events" => {
            let mut sel = EpollSelector::<Blob>::new().unwrap();
            for i in 0..n {
                let blob = Blob {
                    idx: i,
                    _rest: [0; 56],
                };
                sel.register(pool.fd(i), Events::READ, blob).unwrap();
            }
            let mut events = Vec::new();
            for _ in 0..iters {
                sel.select_events(Some(Duration::ZERO), &mut events)
                    .unwrap();
                for ev in &events {
                    if let Some(blob) = sel.data(ev) {
                        sum += blob.idx;
                    }
                }
            }
        }
        "churn_floor" => {
            let ep = epoll::create(epoll::CreateFlags::CLOEXEC).unwrap();
            for i in 0..n {
                let data = epoll::EventData::new_u64(i as u64);
                epoll::add(&ep, pool.fd(i), data, epoll::EventFlags::IN).unwrap();
            }
            let extra = pool.fd(n);
            for _ in 0..iters {
                let data = epoll::EventData::new_u64(n as u64);
                epoll::add(&ep, extra, data, epoll::EventFlags::IN).unwrap();
                epoll::delete(&ep, extra).unwrap();
            }
        }
        "churn" => {
            let mut sel = EpollSelector::<usize>::new().unwrap();
            for i in 0..n {
                sel.register(pool.fd(i), Events::READ, i).unwrap();
            }
            let extra = pool.fd(n);
            for _ in 0..iters {
                sel.register(extra, Events::READ, n).unwrap();
                sum += sel.unregister(extra).unwrap().data;
            }
        }
        "modify" => {
            let mut sel = EpollSelector::<usize>::new().unwrap();
            for i in 0..n {
                sel.register(pool.fd(i), Events::READ, i).unwrap();
            }
            let extra = pool.fd(n);
            sel.register(extra, Events::READ, n).unwrap();
            for _ in 0..iters {
                sel.modify(extra, Events::READ | Events::WRITE, n).unwrap();
                sum += sel.modify(extra, Events::READ, n).unwrap().data;
            }
        }
        "modify_floor" => {
            let ep = epoll::create(epoll::CreateFlags::CLOEXEC).unwrap();
            for i in 0..=n {
                let data = epoll::EventData::new_u64(i as u64);
                epoll::add(&ep, pool.fd(i), data, epoll::EventFlags::IN).unwrap();
            }
            let extra = pool.fd(n);
            let data = epoll::EventData::new_u64(n as u64);
            for _ in 0..iters {
                epoll::modify(
                    &ep,
                    extra,
                    data,
                    epoll::EventFlags::IN | epoll::EventFlags::OUT,
                )
                .unwrap();
                epoll::modify(&ep, extra, data, epoll::EventFlags::IN).unwrap();
            }
        }
        other => panic!("unknown peer {other}"),
    }
    black_box(sum);
    black_box(pool.fd(0).as_raw_fd());
}
