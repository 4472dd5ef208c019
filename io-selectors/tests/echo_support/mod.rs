//! Runs the `echo_server` example and drives it with many TCP clients.
//!
//! Shared by the integration tests that need a live server: start it with
//! [`EchoServer::start`], load it with [`drive`], stop it with
//! [`EchoServer::stop`] (which fails the test if the server died).
#![allow(dead_code)] // each test file uses a different part

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use selectors_test_support::child::Lines;
use selectors_test_support::rng::XorShift;

/// How long a client waits on a socket before it reports the server stuck.
pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `echo_server` example, killed when dropped.
pub(crate) struct EchoServer {
    child: Child,
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    /// The backend it runs on, from its `backend: <name>` line.
    pub(crate) backend: String,
    /// Its stdout; in a mutex so that a sampling thread may share the
    /// server.
    lines: Mutex<Lines>,
}

impl EchoServer {
    /// Starts the example on a free port with extra `args` (e.g.
    /// `["--quiet"]`) and `envs` (e.g. `SELECTORS_BACKEND`), and waits for
    /// its `listening on` and `backend` lines.
    pub(crate) fn start(args: &[&str], envs: &[(&str, &str)]) -> EchoServer {
        let bin = crate::example_support::example_binary("echo_server");
        let mut child = Command::new(&bin)
            .args(["--port", "0", "--max-seconds", "300"]) // never outlive a stuck test for long
            .args(args)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
        let lines = Lines::read(child.stdout.take().expect("piped stdout"));
        let mut server = EchoServer {
            child,
            addr: "127.0.0.1:0".parse().unwrap(),
            backend: String::new(),
            lines: Mutex::new(lines),
        };
        let first = server
            .next_line(Duration::from_secs(10))
            .unwrap_or_else(|| panic!("echo_server printed no `listening on` line"));
        let addr = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line is not `listening on ...`: {first:?}"));
        server.addr = addr
            .parse()
            .unwrap_or_else(|e| panic!("bad address in {first:?}: {e}"));
        assert!(server.addr.ip().is_loopback(), "{first:?}");
        assert_ne!(server.addr.port(), 0, "{first:?}");
        let second = server
            .next_line(Duration::from_secs(10))
            .unwrap_or_else(|| panic!("echo_server printed no `backend` line"));
        server.backend = second
            .strip_prefix("backend: ")
            .unwrap_or_else(|| panic!("second line is not `backend: ...`: {second:?}"))
            .to_owned();
        server
    }

    /// The next line the server prints, or `None` after `timeout` or at its
    /// exit.
    pub(crate) fn next_line(&self, timeout: Duration) -> Option<String> {
        let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines.line(timeout)
    }

    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How many fds the server has open (from `/proc/<pid>/fd`).
    #[cfg(unix)]
    pub(crate) fn open_fds(&self) -> usize {
        let dir = format!("/proc/{}/fd", self.pid());
        std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("read {dir}: {e}"))
            .count()
    }

    /// How many handles the server has open (`GetProcessHandleCount`):
    /// its sockets and whatever else, which a closed connection gives back.
    #[cfg(windows)]
    pub(crate) fn open_fds(&self) -> usize {
        use std::os::windows::io::AsRawHandle;
        use windows_sys::Win32::System::Threading::GetProcessHandleCount;
        let mut count = 0u32;
        // SAFETY: the handle is the live child's, which `self` owns; the
        // call only writes the count into a local.
        let ok = unsafe { GetProcessHandleCount(self.child.as_raw_handle(), &mut count) };
        assert_ne!(
            ok,
            0,
            "GetProcessHandleCount: {}",
            io::Error::last_os_error()
        );
        count as usize
    }

    /// Fails the test if the server has exited (crashed); otherwise kills
    /// it. Returns once every fd of ours that the server used (its stdout
    /// pipe) is closed.
    pub(crate) fn stop(mut self) {
        if let Some(status) = self.child.try_wait().expect("try_wait") {
            panic!("echo_server died during the test: {status}");
        }
        self.child.kill().expect("kill echo_server");
        self.child.wait().expect("wait echo_server");
        // The server is gone, so its stdout is at end of file.
        self.lines
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .finish();
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        // After a failed test: do not leave the server behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How to load the server.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Load {
    /// Concurrent TCP connections, one thread pair each.
    pub(crate) clients: usize,
    /// Payloads each client sends (and reads back).
    pub(crate) payloads: usize,
    /// Largest payload, in bytes (each is 1..=this long).
    pub(crate) max_payload: usize,
    /// Seed of every client's PRNG (client `i` uses `seed + i`).
    pub(crate) seed: u64,
}

/// What [`drive`] did.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Report {
    /// Connections that echoed everything.
    pub(crate) clients: usize,
    /// Bytes sent (and received back) over all of them.
    pub(crate) bytes: u64,
    /// Wall time of the whole run.
    pub(crate) elapsed: Duration,
}

/// Opens `load.clients` connections to `addr` at once (no client sends
/// before all are connected); each writes its payloads while it reads them
/// back, checks every byte, half-closes and expects the server to close in
/// turn. Panics naming every failed client.
pub(crate) fn drive(addr: SocketAddr, load: Load) -> Report {
    let start = Instant::now();
    let connected = Arc::new(Barrier::new(load.clients));
    let handles: Vec<_> = (0..load.clients)
        .map(|i| {
            let connected = Arc::clone(&connected);
            thread::Builder::new()
                .name(format!("client {i}"))
                .stack_size(256 * 1024)
                .spawn(move || client(addr, load, load.seed.wrapping_add(i as u64), &connected))
                .expect("spawn client thread")
        })
        .collect();
    let mut bytes = 0;
    let mut failures = Vec::new();
    for (i, handle) in handles.into_iter().enumerate() {
        match handle.join() {
            Ok(Ok(n)) => bytes += n,
            Ok(Err(e)) => failures.push(format!("client {i}: {e}")),
            Err(_) => failures.push(format!("client {i}: panicked")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} clients failed:\n{}",
        failures.len(),
        load.clients,
        failures.join("\n")
    );
    Report {
        clients: load.clients,
        bytes,
        elapsed: start.elapsed(),
    }
}

/// One client: returns the bytes echoed, or what went wrong.
/// Connects, waits at `connected` for every other client (also when its own
/// connect failed, so that nobody waits forever), then runs.
fn client(addr: SocketAddr, load: Load, seed: u64, connected: &Barrier) -> Result<u64, String> {
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT);
    connected.wait();
    let stream = stream.map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(IO_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let stream = &stream;
    thread::scope(|s| {
        // Write everything while the main thread reads: payloads larger than
        // the socket buffers cannot deadlock.
        let writer = s.spawn(move || -> Result<(), String> {
            let mut rng = XorShift::new(seed);
            let mut buf = vec![0; load.max_payload];
            for p in 0..load.payloads {
                let len = rng.len(load.max_payload);
                rng.fill(&mut buf[..len]);
                (&*stream)
                    .write_all(&buf[..len])
                    .map_err(|e| format!("write payload {p} ({len} bytes): {e}"))?;
            }
            stream
                .shutdown(Shutdown::Write)
                .map_err(|e| format!("shutdown(Write): {e}"))
        });
        let read = read_back(stream, load, seed);
        let written = writer.join().map_err(|_| "writer panicked".to_string())?;
        // A read error is usually the consequence of a write error: report
        // the write error first.
        written.and(read)
    })
}

/// Reads back what the writer with the same `seed` sent, then end of file.
fn read_back(stream: &TcpStream, load: Load, seed: u64) -> Result<u64, String> {
    let mut rng = XorShift::new(seed);
    let mut expected = vec![0; load.max_payload];
    let mut got = vec![0; load.max_payload];
    let mut total = 0u64;
    for p in 0..load.payloads {
        let len = rng.len(load.max_payload);
        rng.fill(&mut expected[..len]);
        (&*stream)
            .read_exact(&mut got[..len])
            .map_err(|e| format!("read payload {p} ({len} bytes, {total} read before): {e}"))?;
        if let Some(at) = (0..len).find(|&j| got[j] != expected[j]) {
            return Err(format!(
                "payload {p} differs at byte {at} of {len} (offset {} in the stream)",
                total + at as u64
            ));
        }
        total += len as u64;
    }
    let mut extra = [0; 1];
    match (&*stream).read(&mut extra) {
        Ok(0) => Ok(total),
        Ok(_) => Err(format!("more bytes than the {total} sent")),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut => {
            Err(format!("server did not close after echoing {total} bytes"))
        }
        Err(e) => Err(format!("read after {total} bytes: {e}")),
    }
}
