//! How long past its timeout an idle `select` returns, per backend: the
//! median and 99th percentile overshoot of `select(Some(300 µs))` (and of
//! 1 ms and 2.5 ms) over many runs.
//!
//! ```text
//! cargo run --release -p io-selectors --example timeout_overshoot -- [--runs N] [--backend NAME]
//! ```
//!
//! Every available backend, or only the one `--backend NAME` (or
//! `SELECTORS_BACKEND`) names. `--help` and the exit codes (0, 1 on an
//! error, 2 for bad arguments) are those of every example (`cli/mod.rs`).

mod cli;

use std::io;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use selectors_core::{Events, Selector};

fn measure<S: Selector<()>>(name: &str, mut sel: S, runs: usize) -> io::Result<()> {
    // A TCP connection on 127.0.0.1, which every platform can select on.
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let a = TcpStream::connect(listener.local_addr()?)?;
    let _b = listener.accept()?;
    sel.register(&a, Events::READ, ())?;
    for timeout in [300, 1_000, 2_500].map(Duration::from_micros) {
        let mut over = Vec::with_capacity(runs);
        for _ in 0..runs {
            let start = Instant::now();
            let ready = sel.select(Some(timeout))?;
            let took = start.elapsed();
            assert!(ready.is_empty() && took >= timeout, "{took:?}");
            over.push(took - timeout);
        }
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
    Ok(())
}

const USAGE: &str = "\
usage: timeout_overshoot [--runs N] [--backend NAME]
  --runs N   selects per timeout and backend (default 1000)
  (without --backend or SELECTORS_BACKEND: every available backend)";

fn main() {
    let mut cli = cli::Cli::new("timeout_overshoot", USAGE);
    let mut runs: usize = 1000;
    while let Some(flag) = cli.next_flag() {
        match flag.as_str() {
            "--runs" => match cli.parse(&flag) {
                0 => cli.usage_error("--runs 0: must be at least 1"),
                n => runs = n,
            },
            other => cli.unknown(other),
        }
    }
    let result = if cli.backend_asked() {
        cli.selector()
            .and_then(|sel| measure(sel.backend().name(), sel, runs))
    } else {
        io_selectors::Backend::available()
            .iter()
            .try_for_each(|&backend| {
                let sel = io_selectors::AnySelector::with_backend(backend)?;
                measure(backend.name(), sel, runs)
            })
    };
    cli.finish(result);
}
