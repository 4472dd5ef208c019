//! Stress: 1,000 concurrent loopback TCP connections with random payloads
//! through the `echo_server` example, once per backend
//! (`SELECTORS_BACKEND=select`, `poll`, `epoll`; on Windows `iocp`,
//! `select`, `poll`), byte-exact, bounded in time, and no fd leaked: the
//! server's fds (`/proc/<pid>/fd`; on Windows its handle count) are counted
//! before and after the load, this process's before the server starts and
//! after it stops.
//!
//! `STRESS_CONNECTIONS` changes the number of connections.

// Needs /proc (or Windows' handle counts), and a backend the server can be
// told to use.
#![cfg(all(
    any(target_os = "linux", target_os = "android", windows),
    any(selectors_select, selectors_poll, selectors_epoll, selectors_iocp)
))]

mod echo_support;
mod example_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use echo_support::{drive, EchoServer, Load, Report};
use io_selectors::Backend;
use selectors_test_support::fds::raise_nofile;

/// One backend's run must finish within this (generous) bound.
const BOUND: Duration = Duration::from_secs(120);

fn connections() -> usize {
    std::env::var("STRESS_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
}

/// How many fds this process has open.
#[cfg(unix)]
fn own_fds() -> usize {
    let dir = "/proc/self/fd";
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {dir}: {e}"))
        .count()
}

/// How many handles this process has open (`GetProcessHandleCount`).
#[cfg(windows)]
fn own_fds() -> usize {
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, GetProcessHandleCount};
    let mut count = 0u32;
    // SAFETY: the pseudo-handle of this process needs no closing; the call
    // only writes the count into a local.
    let ok = unsafe { GetProcessHandleCount(GetCurrentProcess(), &mut count) };
    assert_ne!(ok, 0, "{}", std::io::Error::last_os_error());
    count as usize
}

/// Sets its flag when dropped.
struct Done<'a>(&'a AtomicBool);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Runs the load (payloads from `seed`) through a server on `backend`.
fn stress(backend: Backend, clients: usize, seed: u64) -> Report {
    let own_before = own_fds();
    let server = EchoServer::start(&["--quiet"], &[("SELECTORS_BACKEND", backend.name())]);
    assert_eq!(server.backend, backend.name(), "the server's backend");
    let server_before = server.open_fds();
    let load = Load {
        clients,
        payloads: 4,
        max_payload: 16 * 1024,
        seed,
    };
    // The most connections the server held at once, sampled during the load.
    let loaded = AtomicBool::new(false);
    let (report, peak) = thread::scope(|s| {
        let sampler = s.spawn(|| {
            let mut peak = 0;
            while !loaded.load(Ordering::Relaxed) {
                peak = peak.max(server.open_fds());
                thread::sleep(Duration::from_millis(2));
            }
            peak
        });
        // Stops the sampler even if the load panics, so the scope ends.
        let report = {
            let _done = Done(&loaded);
            drive(server.addr, load)
        };
        (report, sampler.join().unwrap())
    });
    assert_eq!(report.clients, clients);
    assert!(
        report.elapsed < BOUND,
        "{backend}: {clients} connections took {:.1?}",
        report.elapsed
    );
    // Every client saw the server close its connection: the server's fd
    // table is back where it started.
    let server_after = server.open_fds();
    assert_eq!(server_before, server_after, "{backend}: server leaked fds");
    server.stop();
    let own_after = own_fds();
    assert_eq!(own_before, own_after, "{backend}: this process leaked fds");
    println!(
        "{backend}: {} connections, {} bytes echoed byte-exact in {:.2?} \
         (server fds {server_before} -> peak {peak} -> {server_after}, \
         own fds {own_before} -> {own_after})",
        report.clients, report.bytes, report.elapsed
    );
    report
}

/// The backends one after the other, in one test, so that this process's
/// fd count is this test's alone.
#[test]
fn thousand_connections_through_the_echo_server_on_each_backend() {
    // A client thread pair per connection here; a socket per connection and
    // the listener in the server, which inherits the limit.
    raise_nofile(4096);
    let clients = connections();
    let mut ran = Vec::new();
    for (i, &backend) in Backend::available().iter().enumerate() {
        if backend != Backend::Kqueue {
            let report = stress(backend, clients, 0x57e5_5000 + i as u64 * clients as u64);
            assert!(report.bytes >= clients as u64, "{backend}: {report:?}");
            ran.push(backend);
        }
    }
    assert!(!ran.is_empty(), "no backend to stress");
    println!("stressed {ran:?}");
}
