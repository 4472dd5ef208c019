//! Sub-millisecond timeouts on every backend: `select(Some(300 µs))` on an
//! idle selector waits at least 300 µs, never returns at once, and
//! overshoots by little (see `examples/timeout_overshoot.rs` for figures).

// Needs at least one backend.
#![cfg(all(unix, any(feature = "select", feature = "poll", feature = "epoll")))]

use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use selectors_core::{Events, Selector};

const TIMEOUT: Duration = Duration::from_micros(300);
const RUNS: usize = 21;
/// A generous bound on the median overshoot, for a loaded machine; the
/// kernels' timers do far better (about 0.1 ms with nanosecond timeouts).
const MEDIAN_BOUND: Duration = Duration::from_millis(50);

/// Times `RUNS` idle selects of `TIMEOUT`, each of which must wait it out.
fn check<S: Selector<u32>>(mut sel: S) {
    // Something registered but idle, and a waker: the realistic case.
    let (a, _b) = UnixStream::pair().unwrap();
    sel.register(&a, Events::READ, 0).unwrap();
    let _waker = sel.waker().unwrap();
    let mut took: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let ready = sel.select(Some(TIMEOUT)).unwrap();
            let took = start.elapsed();
            assert!(ready.is_empty(), "{ready:?}");
            assert!(
                took >= TIMEOUT,
                "returned after {took:?}, before {TIMEOUT:?}"
            );
            took
        })
        .collect();
    took.sort();
    let median = took[RUNS / 2];
    assert!(median < MEDIAN_BOUND, "median {median:?}: {took:?}");
}

#[cfg(selectors_select)]
#[test]
fn select() {
    check(selectors_select::SelectSelector::new().unwrap());
}

#[cfg(selectors_poll)]
#[test]
fn poll() {
    check(selectors_poll::PollSelector::new().unwrap());
}

#[cfg(selectors_epoll)]
#[test]
fn epoll() {
    check(selectors_epoll::EpollSelector::new().unwrap());
}

/// KqueueSelector's logic on the model, which waits with `ppoll`: the
/// selector must hand the timeout over unrounded.
#[test]
fn kqueue_model() {
    check(selectors_test_support::ModelKqueueSelector::new().unwrap());
}

#[cfg(unix)]
#[test]
fn any_on_every_available_backend() {
    for &backend in io_selectors::Backend::available() {
        check(io_selectors::AnySelector::with_backend(backend).unwrap());
    }
}
