//! The `event_loop` example: timers fire in order and on time while the same
//! loop echoes several clients byte-exact.

// Unix only, as the other example tests but the echo server's (under Wine
// only that one runs: `cargo xtask wine`).
#![cfg(unix)]

mod example_support;

use std::thread;
use std::time::{Duration, Instant};

use example_support::{echo_roundtrip, Server};
use selectors_test_support::rng::pattern;

const TICK_MS: u64 = 50;

/// Parses `tick <n> at <ms> ms`.
fn parse_tick(line: &str) -> Option<(u64, u64)> {
    let mut words = line.split(' ');
    match (
        words.next(),
        words.next(),
        words.next(),
        words.next(),
        words.next(),
    ) {
        (Some("tick"), Some(n), Some("at"), Some(ms), Some("ms")) => {
            Some((n.parse().ok()?, ms.parse().ok()?))
        }
        _ => None,
    }
}

/// Runs the loop on `selector` and checks its ticks while it echoes.
fn ticks_while_serving(selector: &str) {
    let mut server = Server::spawn(
        "event_loop",
        &[
            "--port",
            "0",
            "--tick-ms",
            "50",
            "--max-seconds",
            "120",
            "--backend",
            selector,
        ],
    );
    let addr = server.listening_addr();
    server.backend(selector);

    // Eight clients, each trickling 256 KiB in 32 pauses of 10 ms, so they
    // are being served for a good number of ticks.
    let clients_started = Instant::now();
    let clients: Vec<_> = (0..8u64)
        .map(|i| {
            thread::spawn(move || {
                let data = pattern(i + 1, 256 * 1024);
                let back = echo_roundtrip(
                    addr,
                    data.clone(),
                    8 * 1024,
                    Duration::from_millis(10),
                    Duration::ZERO,
                );
                assert_eq!(back.len(), data.len(), "client {i}: length");
                assert!(back == data, "client {i}: echo differs");
                Instant::now()
            })
        })
        .collect();

    // And one slow reader of 16 MiB: more than the socket buffers hold, so
    // the loop must keep a backlog and swap its reader for a writer.
    let slow = thread::spawn(move || {
        let data = pattern(99, 16 << 20);
        let back = echo_roundtrip(
            addr,
            data.clone(),
            256 * 1024,
            Duration::ZERO,
            Duration::from_millis(300),
        );
        assert!(
            back == data,
            "slow reader: echo differs ({} of {} bytes)",
            back.len(),
            data.len()
        );
    });

    // Meanwhile, 20 ticks.
    let mut ticks = Vec::new();
    while ticks.len() < 20 {
        let (seen, line) = server
            .line(Duration::from_secs(10))
            .expect("event_loop exited");
        let (n, ms) = parse_tick(&line).unwrap_or_else(|| panic!("unexpected line {line:?}"));
        ticks.push((n, ms, seen));
    }
    let clients_done = clients
        .into_iter()
        .map(|c| c.join().expect("client failed"))
        .max()
        .unwrap();
    slow.join().expect("slow reader failed");
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "event_loop died while serving"
    );

    for (i, &(n, ms, seen)) in ticks.iter().enumerate() {
        let due = n * TICK_MS;
        // In order, none skipped, none early (the loop's own clock)...
        assert_eq!(n, i as u64 + 1, "ticks out of order: {ticks:?}");
        assert!(ms >= due, "tick {n} fired early, at {ms} ms: {ticks:?}");
        // ...and not badly late, by its clock or ours (generous bounds).
        assert!(ms < due + 2_000, "tick {n} late, at {ms} ms: {ticks:?}");
        let since_spawn = seen.duration_since(server.spawned);
        assert!(
            since_spawn >= Duration::from_millis(due),
            "tick {n} before it was due"
        );
        assert!(since_spawn < Duration::from_millis(due) + Duration::from_secs(5));
    }
    // The timers really ran while clients were being served.
    let during = ticks
        .iter()
        .filter(|&&(_, _, seen)| seen > clients_started && seen < clients_done)
        .count();
    assert!(
        during >= 2,
        "only {during} ticks while clients were served: {ticks:?}"
    );
}

#[test]
fn ticks_fire_in_order_and_on_time_while_clients_are_echoed() {
    ticks_while_serving("default");
}

#[test]
fn same_on_poll_selector() {
    ticks_while_serving("poll");
}

#[test]
fn same_on_select_selector() {
    ticks_while_serving("select");
}

#[test]
#[cfg(selectors_epoll)]
fn same_on_epoll_selector() {
    ticks_while_serving("epoll");
}

/// `--max-seconds` stops the loop (a timer calling `stop`), and it exits
/// cleanly.
#[test]
fn stops_on_its_own() {
    let mut server = Server::spawn(
        "event_loop",
        &["--port", "0", "--tick-ms", "100", "--max-seconds", "0.5"],
    );
    server.listening_addr();
    server.backend("default");
    let started = Instant::now();
    let spawned = server.spawned;
    let (status, lines) = server.wait(Duration::from_secs(20));
    assert!(status.success(), "{status}");
    assert!(spawned.elapsed() >= Duration::from_millis(500));
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(
        lines.last().map(String::as_str),
        Some("stopping"),
        "{lines:?}"
    );
    let ticks: Vec<_> = lines.iter().filter_map(|l| parse_tick(l)).collect();
    assert!(!ticks.is_empty() && ticks.len() <= 5, "{lines:?}");
}
