//! Runs example binaries from integration tests, always under a time bound,
//! and talks the echo protocol to them.
#![allow(dead_code)] // each test file uses a different part

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::RecvTimeoutError;
use std::thread;
use std::time::{Duration, Instant};

use selectors_test_support::child::{self, Lines};

/// The example binary `name`, brought up to date with the backend features
/// this test was built with
/// ([`example_binary`](selectors_test_support::child::example_binary)).
pub(crate) fn example_binary(name: &str) -> PathBuf {
    let features = [
        ("select", cfg!(feature = "select")),
        ("poll", cfg!(feature = "poll")),
        ("epoll", cfg!(feature = "epoll")),
        ("kqueue", cfg!(feature = "kqueue")),
    ];
    let on: Vec<&str> = features
        .iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| *name)
        .collect();
    child::example_binary(env!("CARGO_PKG_NAME"), &on, name)
}

/// Runs `cmd` to completion, collecting its output; kills it and fails the
/// test if it takes longer than `limit`. Returns the output and how long it
/// took.
pub(crate) fn run_bounded(mut cmd: Command, limit: Duration) -> (Output, Duration) {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn example");
    let stdout = reader(child.stdout.take().expect("stdout"));
    let stderr = reader(child.stderr.take().expect("stderr"));
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} still running after {limit:?}: killed");
        }
        thread::sleep(Duration::from_millis(5));
    };
    let took = start.elapsed();
    let output = Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    };
    (output, took)
}

fn reader<R: Read + Send + 'static>(mut r: R) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        r.read_to_end(&mut buf).expect("read child output");
        buf
    })
}

/// A long-running example, killed when dropped, whose stdout lines arrive
/// (with the instant each was read) through [`Server::line`].
pub(crate) struct Server {
    pub(crate) child: Child,
    lines: Lines,
    pub(crate) spawned: Instant,
}

impl Server {
    /// Spawns example `name` with `args` (stderr goes to the test's).
    pub(crate) fn spawn(name: &str, args: &[&str]) -> Server {
        let spawned = Instant::now();
        let mut child = Command::new(example_binary(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn example");
        let lines = Lines::read(child.stdout.take().expect("stdout"));
        Server {
            child,
            lines,
            spawned,
        }
    }

    /// The next stdout line, or `None` at EOF; fails the test after `limit`.
    pub(crate) fn line(&mut self, limit: Duration) -> Option<(Instant, String)> {
        match self.lines.next_timed(limit) {
            Ok(line) => Some(line),
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => panic!("no output line within {limit:?}"),
        }
    }

    /// Reads the `listening on 127.0.0.1:<port>...` line and returns the
    /// address in it.
    pub(crate) fn listening_addr(&mut self) -> SocketAddr {
        self.listening().0
    }

    /// Reads the `listening on 127.0.0.1:<port>...` line and returns the
    /// address in it, and the whole line.
    pub(crate) fn listening(&mut self) -> (SocketAddr, String) {
        let (_, line) = self
            .line(Duration::from_secs(30))
            .expect("example exited before listening");
        let rest = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        let addr = rest.split_whitespace().next().expect("address");
        let addr = addr
            .parse()
            .unwrap_or_else(|e| panic!("bad address {addr:?}: {e}"));
        (addr, line)
    }

    /// Reads the `backend: <name>` line and returns the name; for `asked`
    /// = `default`, checks it is the first available backend, else `asked`.
    pub(crate) fn backend(&mut self, asked: &str) -> String {
        let (_, line) = self
            .line(Duration::from_secs(30))
            .expect("example exited before naming its backend");
        let name = line
            .strip_prefix("backend: ")
            .unwrap_or_else(|| panic!("expected `backend: <name>`, got {line:?}"))
            .to_owned();
        let want = match asked {
            "default" => io_selectors::Backend::available()[0].name(),
            named => named,
        };
        assert_eq!(name, want, "--backend {asked}");
        name
    }

    /// Waits for the example to exit on its own within `limit` (else kills
    /// it and fails), returning its exit status and remaining stdout lines.
    pub(crate) fn wait(mut self, limit: Duration) -> (std::process::ExitStatus, Vec<String>) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "example still running after {limit:?}"
            );
            thread::sleep(Duration::from_millis(5));
        };
        let mut rest = Vec::new();
        while let Some((_, line)) = self.line(Duration::from_secs(10)) {
            rest.push(line);
        }
        (status, rest)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `data` to the echo server at `addr` in `chunk`-sized writes, with
/// `pause` between them, from a second thread while this one reads the echo
/// (so neither side can deadlock on full buffers), starting to read only
/// after `read_delay` (a slow reader: the server must hold the excess); then
/// half-closes and reads to EOF. Returns what came back.
pub(crate) fn echo_roundtrip(
    addr: SocketAddr,
    data: Vec<u8>,
    chunk: usize,
    pause: Duration,
    read_delay: Duration,
) -> Vec<u8> {
    let stream = TcpStream::connect(addr).expect("connect");
    let limit = Some(Duration::from_secs(30));
    stream.set_read_timeout(limit).expect("read timeout");
    stream.set_write_timeout(limit).expect("write timeout");
    let mut tx = stream.try_clone().expect("clone");
    let writer = thread::spawn(move || {
        for part in data.chunks(chunk) {
            tx.write_all(part).expect("send to echo server");
            if !pause.is_zero() {
                thread::sleep(pause);
            }
        }
        tx.shutdown(Shutdown::Write).expect("shutdown");
    });
    thread::sleep(read_delay);
    let mut back = Vec::new();
    (&stream)
        .read_to_end(&mut back)
        .expect("read echo (timed out or reset)");
    writer.join().expect("writer");
    back
}
