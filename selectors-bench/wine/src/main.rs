//! The Windows backends beside a raw Winsock `select` loop, a raw `WSAPoll`
//! loop, mio and polling, all in one binary on the same sockets, for Wine:
//! `cargo xtask wine-bench` builds it for `x86_64-pc-windows-gnu` and runs
//! it under `wine64`, which prints the markdown table of BENCHMARKS.md's
//! Windows section. Wine's own costs (Winsock on Linux sockets, wineserver
//! round trips) are in every figure, so only the ratios mean anything.
//!
//! Three tables: our select and poll selectors against their raw loops, mio
//! and polling; then `IocpSelector` (IOCP and AFD polls, O(ready)) against
//! the O(N) selectors, mio and polling, at N = 100, 1,000 and 10,000; then
//! the three AFD peers side by side (`IocpSelector`, mio, polling), all
//! registered at once for the whole run and timed in turns, with the
//! median and quartiles of the per-round ratios. `cargo xtask wine-bench
//! afd` runs only the third.
//!
//! Scenarios, on N sockets registered for READ, both ends of N/2 TCP
//! connections over 127.0.0.1:
//! - `idle/N`: nothing ready, timeout zero.
//! - `ready/N-k`: k ends hold one unread byte (level readiness), timeout
//!   zero; every peer must report exactly k. mio is edge-triggered, so it
//!   re-registers each reported socket after each call, untimed.
//!
//! Each figure is the median over rounds of the mean time per call of a
//! batch; the peers take turns within each round, so a slow stretch of the
//! machine hits all of them alike. In the first two tables each peer
//! registers the pool for its batch and unregisters it after; in the third
//! they stay registered, and the order of the turns rotates.

#[cfg(windows)]
mod windows;

#[cfg(windows)]
fn main() {
    windows::main();
}

#[cfg(not(windows))]
fn main() {
    eprintln!(
        "selectors-wine-bench: build it for Windows; `cargo xtask wine-bench` runs it under Wine"
    );
    std::process::exit(2);
}
