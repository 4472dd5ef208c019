//! How long past its timeout an idle `select` returns, per backend: the
//! median and 99th percentile overshoot of `select(Some(300 µs))` (and of
//! 1 ms and 2.5 ms) over many runs.
//!
//! ```text
//! cargo run --release -p selectors --example timeout_overshoot [runs]
//! ```

use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use selectors_core::{Events, Selector};

fn measure<S: Selector<()>>(name: &str, mut sel: S, runs: usize) {
    let (a, _b) = UnixStream::pair().unwrap();
    sel.register(&a, Events::READ, ()).unwrap();
    for timeout in [300, 1_000, 2_500].map(Duration::from_micros) {
        let mut over: Vec<Duration> = (0..runs)
            .map(|_| {
                let start = Instant::now();
                let ready = sel.select(Some(timeout)).unwrap();
                let took = start.elapsed();
                assert!(ready.is_empty() && took >= timeout, "{took:?}");
                took - timeout
            })
            .collect();
        over.sort();
        let pct = |p: usize| over[(runs - 1) * p / 100];
        println!(
            "{name:<8} {:>7?}  overshoot: min {:>9?}  median {:>9?}  p99 {:>9?}  max {:>9?}",
            timeout,
            over[0],
            pct(50),
            pct(99),
            over[runs - 1]
        );
    }
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .map_or(1000, |n| n.parse().expect("runs: a number"));
    for &backend in selectors::Backend::available() {
        let sel = selectors::AnySelector::with_backend(backend).unwrap();
        measure(backend.name(), sel, runs);
    }
}
