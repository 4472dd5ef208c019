//! The `echo_server_mt` example: 4 threads behind one SO_REUSEPORT port
//! echo 100 concurrent clients byte-exact, and more than one thread serves.

// Unix only: SO_REUSEPORT.
#![cfg(unix)]

mod example_support;

use std::thread;
use std::time::Duration;

use example_support::{echo_roundtrip, Server};
use selectors_test_support::fds::raise_nofile;
use selectors_test_support::rng::pattern;

#[test]
fn four_threads_echo_a_hundred_clients() {
    raise_nofile(1024);
    let mut server = Server::spawn(
        "echo_server_mt",
        &[
            "--threads",
            "4",
            "--port",
            "0",
            "--max-connections",
            "100",
            "--max-seconds",
            "120",
        ],
    );
    let (addr, line) = server.listening();
    assert!(line.ends_with(" with 4 threads"), "{line:?}");
    server.backend("default");
    let clients: Vec<_> = (0..100u64)
        .map(|i| {
            thread::spawn(move || {
                // Sizes vary so some clients overflow the socket buffers and
                // exercise the backlog, others are a single segment.
                let len = 1 + (i as usize * 7919) % (256 * 1024);
                let data = pattern(i, len);
                let back = echo_roundtrip(
                    addr,
                    data.clone(),
                    32 * 1024,
                    Duration::ZERO,
                    Duration::ZERO,
                );
                assert_eq!(back.len(), data.len(), "client {i}: length");
                assert!(back == data, "client {i}: echo differs");
                len as u64
            })
        })
        .collect();
    let sent: u64 = clients
        .into_iter()
        .map(|c| c.join().expect("client failed"))
        .sum();

    // 100 connections closed: the server stops and reports.
    let (status, lines) = server.wait(Duration::from_secs(30));
    assert!(status.success(), "{status}: {lines:?}");
    let stats = lines
        .iter()
        .find_map(|l| l.strip_prefix("stats: "))
        .unwrap_or_else(|| panic!("no stats line: {lines:?}"));
    let (total, per_thread) = stats.split_once(" connections, per thread: ").expect(stats);
    assert_eq!(total, "100", "{stats}");
    let counts: Vec<usize> = per_thread.split(' ').map(|c| c.parse().unwrap()).collect();
    assert_eq!(counts.len(), 4, "{stats}");
    assert_eq!(counts.iter().sum::<usize>(), 100, "{stats}");
    let busy = counts.iter().filter(|&&c| c > 0).count();
    assert!(busy >= 2, "SO_REUSEPORT spread nothing: {stats}");
    // And the bytes each thread echoed add up to what the clients sent.
    let echoed: u64 = lines
        .iter()
        .filter(|l| l.starts_with("thread "))
        .map(|l| l.rsplit(' ').nth(1).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(echoed, sent, "{lines:?}");
}

/// A client that sends 16 MiB before it reads a byte: more than the socket
/// buffers hold, so the server keeps a backlog and flushes it on writable,
/// losing nothing.
#[test]
fn slow_reader_loses_no_byte() {
    let mut server = Server::spawn(
        "echo_server_mt",
        &[
            "--threads",
            "2",
            "--port",
            "0",
            "--max-connections",
            "1",
            "--max-seconds",
            "120",
        ],
    );
    let addr = server.listening_addr();
    let data = pattern(7, 16 << 20);
    let back = echo_roundtrip(
        addr,
        data.clone(),
        256 * 1024,
        Duration::ZERO,
        Duration::from_millis(300),
    );
    assert_eq!(back.len(), data.len());
    assert!(back == data, "echo differs");
    let (status, lines) = server.wait(Duration::from_secs(30));
    assert!(status.success(), "{status}: {lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l == "stats: 1 connections, per thread: 1 0"
                || l == "stats: 1 connections, per thread: 0 1"),
        "{lines:?}"
    );
}
