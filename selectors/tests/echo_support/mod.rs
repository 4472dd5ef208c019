//! Runs the `echo_server` example and drives it with many TCP clients.
//!
//! Shared by the integration tests that need a live server: start it with
//! [`EchoServer::start`], load it with [`drive`], stop it with
//! [`EchoServer::stop`] (which fails the test if the server died).
#![allow(dead_code)] // each test file uses a different part

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Barrier};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long a client waits on a socket before it reports the server stuck.
pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// The example binary `name`, which cargo builds before integration tests:
/// `target/<profile>/examples/<name>`, next to this test's `deps` directory.
pub(crate) fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binary lives in target/<profile>/deps");
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "example binary {} is missing: build it with `cargo build --example {name}` \
         (cargo test builds it unless examples are disabled)",
        path.display()
    );
    // `cargo test --test <name>` does not rebuild examples: refuse to test
    // an old build of an edited example.
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(format!("{name}.rs"));
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if let (Some(src), Some(bin)) = (modified(&source), modified(&path)) {
        assert!(
            src <= bin,
            "{} is older than {}: run `cargo build --example {name}` or a plain `cargo test`",
            path.display(),
            source.display()
        );
    }
    path
}

/// Raises the soft limit on open files to at least `wanted` (up to the hard
/// limit), so that many clients (and the server, which inherits it) fit.
pub(crate) fn raise_fd_limit(wanted: u64) {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let hard = limit.maximum.unwrap_or(u64::MAX);
    if limit.current.map_or(false, |soft| soft >= wanted) {
        return;
    }
    let soft = wanted.min(hard);
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(soft),
            maximum: limit.maximum,
        },
    )
    .expect("setrlimit(RLIMIT_NOFILE)");
}

/// A running `echo_server` example, killed when dropped.
pub(crate) struct EchoServer {
    child: Child,
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    /// The backend it runs on, from its `backend: <name>` line.
    pub(crate) backend: String,
    lines: Receiver<String>,
    /// The thread that reads the server's stdout into `lines`.
    reader: Option<JoinHandle<()>>,
}

impl EchoServer {
    /// Starts the example on a free port with extra `args` (e.g.
    /// `["--quiet"]`) and `envs` (e.g. `SELECTORS_BACKEND`), and waits for
    /// its `listening on` and `backend` lines.
    pub(crate) fn start(args: &[&str], envs: &[(&str, &str)]) -> EchoServer {
        let bin = example_binary("echo_server");
        let mut child = Command::new(&bin)
            .args(["--port", "0", "--max-seconds", "300"]) // never outlive a stuck test for long
            .args(args)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        let reader = thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = EchoServer {
            child,
            addr: "127.0.0.1:0".parse().unwrap(),
            backend: String::new(),
            lines,
            reader: Some(reader),
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
        self.lines.recv_timeout(timeout).ok()
    }

    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How many fds the server has open (from `/proc/<pid>/fd`).
    pub(crate) fn open_fds(&self) -> usize {
        let dir = format!("/proc/{}/fd", self.pid());
        std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("read {dir}: {e}"))
            .count()
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
        if let Some(reader) = self.reader.take() {
            reader.join().expect("stdout reader panicked");
        }
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        // After a failed test: do not leave the server behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// xorshift64*: a tiny PRNG so every run sends the same "random" bytes.
#[derive(Clone, Debug)]
pub(crate) struct XorShift(u64);

impl XorShift {
    /// A generator for `seed` (any value; 0 is remapped).
    pub(crate) fn new(seed: u64) -> XorShift {
        // splitmix64 step, so that nearby seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        XorShift((z ^ (z >> 31)) | 1)
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `1..=max`.
    pub(crate) fn len(&mut self, max: usize) -> usize {
        1 + (self.next_u64() % max as u64) as usize
    }

    /// Fills `buf` with random bytes.
    pub(crate) fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
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
