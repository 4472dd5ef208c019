//! The `echo_server` example, run as a process and driven over 127.0.0.1.

// Needs a backend that these tests drive.
#![cfg(any(selectors_select, selectors_poll, selectors_epoll))]

mod echo_support;
mod example_support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use echo_support::{drive, EchoServer, Load, IO_TIMEOUT};
#[cfg(unix)]
use selectors_test_support::child::Lines;
use selectors_test_support::fds::raise_nofile;
use selectors_test_support::rng::XorShift;

/// 200 clients at once, each echoing several random payloads of up to
/// 64 KiB, byte-exact; the server survives and closes every connection.
#[test]
fn echoes_200_concurrent_clients_byte_exact() {
    raise_nofile(4096);
    let server = EchoServer::start(&["--quiet"], &[]);
    let fds_before = server.open_fds();
    let load = Load {
        clients: 200,
        payloads: 4,
        max_payload: 64 * 1024,
        seed: 0x5e1e_c7025,
    };
    let report = drive(server.addr, load);
    eprintln!(
        "{} clients echoed {} bytes in {:.2?}",
        report.clients, report.bytes, report.elapsed
    );
    assert_eq!(report.clients, 200);
    assert!(
        report.elapsed < Duration::from_secs(60),
        "took {:.2?}",
        report.elapsed
    );
    // Every client saw the server close its connection, after which the
    // server's fd table is back where it started.
    assert_eq!(server.open_fds(), fds_before, "server leaked fds");
    server.stop();
}

/// One client, without `--quiet`: the server says what it does, like the
/// Python original.
#[test]
fn prints_accept_echo_and_close() {
    let server = EchoServer::start(&[], &[]);
    let mut conn = TcpStream::connect(server.addr).unwrap();
    conn.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let me = conn.local_addr().unwrap();
    conn.write_all(b"hello").unwrap();
    let mut back = [0; 5];
    conn.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"hello");
    conn.shutdown(Shutdown::Write).unwrap();
    assert_eq!(conn.read(&mut [0; 1]).unwrap(), 0, "server did not close");

    let line = |what: &str| {
        server
            .next_line(Duration::from_secs(10))
            .unwrap_or_else(|| panic!("no {what} line"))
    };
    let accepted = line("accepted");
    let (fd, from) = accepted
        .strip_prefix("accepted fd ")
        .and_then(|rest| rest.split_once(" from "))
        .unwrap_or_else(|| panic!("expected `accepted fd N from ADDR`, got {accepted:?}"));
    assert_eq!(from, me.to_string(), "{accepted:?}");
    let conn_name = format!("fd {fd} ({me})");
    // "hello" may arrive in more than one read: one line per read.
    let mut echoed = 0;
    let closing = loop {
        let l = line("echoing or closing");
        match l.strip_prefix("echoing ") {
            Some(rest) => {
                let n = rest
                    .strip_suffix(&format!(" bytes to {conn_name}"))
                    .unwrap_or_else(|| panic!("unexpected {l:?}"));
                echoed += n.parse::<usize>().unwrap();
            }
            None => break l,
        }
    };
    assert_eq!(echoed, 5);
    assert_eq!(closing, format!("closing {conn_name}"));
    server.stop();
}

/// A client that stops reading makes the server keep its unsent bytes and
/// wait for EVENT_WRITE (where the Python original "hopes it won't block"):
/// meanwhile other clients are served, and the stalled one gets every byte
/// once it reads again.
#[test]
fn slow_reader_loses_nothing_and_blocks_nobody() {
    let server = EchoServer::start(&["--quiet"], &[]);
    let slow = TcpStream::connect(server.addr).unwrap();
    slow.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    slow.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    // A small receive buffer (no autotuning) and far more data than the
    // socket buffers on both sides hold: the server's sends must block.
    rustix::net::sockopt::set_socket_recv_buffer_size(&slow, 64 * 1024).unwrap();
    let mut data = vec![0; 16 << 20];
    XorShift::new(7).fill(&mut data);

    thread::scope(|s| {
        let writer = s.spawn(|| {
            (&slow).write_all(&data).unwrap();
            slow.shutdown(Shutdown::Write).unwrap();
        });
        // While `slow` is stalled, another client is echoed at once.
        thread::sleep(Duration::from_millis(300));
        let report = drive(
            server.addr,
            Load {
                clients: 4,
                payloads: 2,
                max_payload: 64 * 1024,
                seed: 11,
            },
        );
        assert_eq!(report.clients, 4);
        assert!(!writer.is_finished(), "16 MiB fitted in the socket buffers");

        let mut back = Vec::with_capacity(data.len());
        (&slow).read_to_end(&mut back).unwrap();
        writer.join().unwrap();
        assert_eq!(back.len(), data.len());
        assert!(back == data, "echoed bytes differ");
    });
    server.stop();
}

/// A client that resets its connection (SO_LINGER 0) with echoed bytes still
/// unread ends that connection only: the server closes it and keeps serving.
#[test]
fn reset_closes_only_that_connection() {
    let server = EchoServer::start(&["--quiet"], &[]);
    let fds_before = server.open_fds();
    let mut data = vec![0; 1 << 20];
    XorShift::new(3).fill(&mut data);
    for _ in 0..5 {
        let conn = TcpStream::connect(server.addr).unwrap();
        conn.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        // Send without reading, so the server has echoes pending or in
        // flight, then reset.
        let _ = (&conn).write_all(&data);
        rustix::net::sockopt::set_socket_linger(&conn, Some(Duration::ZERO)).unwrap();
        drop(conn);
    }
    let report = drive(
        server.addr,
        Load {
            clients: 8,
            payloads: 3,
            max_payload: 64 * 1024,
            seed: 5,
        },
    );
    assert_eq!(report.clients, 8);
    // The reset connections are closed too (give the server a moment).
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.open_fds() != fds_before && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.open_fds(), fds_before, "reset connections left open");
    server.stop();
}

/// Without `SELECTORS_BACKEND` the server runs on the `DefaultSelector`'s
/// backend (the first available); a name that is no backend is refused
/// with a message that lists the valid ones. (`stress.rs` runs the server
/// on each backend by name.)
#[test]
fn selectors_backend_picks_the_backend() {
    let server = EchoServer::start(&["--quiet"], &[]);
    assert_eq!(
        server.backend,
        io_selectors::Backend::available()[0].name(),
        "default backend"
    );
    server.stop();

    let out = std::process::Command::new(example_support::example_binary("echo_server"))
        .args(["--port", "0", "--max-seconds", "10"])
        .env("SELECTORS_BACKEND", "devpoll")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        out.stdout.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        err.contains("SELECTORS_BACKEND: unknown selector backend \"devpoll\": expected select, poll, epoll, kqueue or iocp"),
        "{err}"
    );
}

// Unix: a shell, signals.
#[cfg(unix)]
/// The echo server as a child with both output streams piped, line by line.
struct Piped {
    child: std::process::Child,
    out: Lines,
    err: Lines,
    addr: std::net::SocketAddr,
}

#[cfg(unix)]
impl Piped {
    /// Runs `sh -c "<shell_prefix> exec echo_server --port 0 ..."`, so that
    /// `ulimit` can lower a limit of the server alone; waits for its
    /// `listening on` and `backend` lines.
    fn start(shell_prefix: &str) -> Piped {
        use std::process::{Command, Stdio};
        let bin = example_support::example_binary("echo_server");
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("{shell_prefix} exec \"$0\" \"$@\""))
            .arg(&bin)
            .args(["--port", "0", "--quiet", "--max-seconds", "120"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sh");
        let out = Lines::read(child.stdout.take().unwrap());
        let err = Lines::read(child.stderr.take().unwrap());
        let first = out.line(IO_TIMEOUT).expect("no `listening on` line");
        let addr = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("{first:?}"))
            .parse()
            .unwrap();
        let second = out.line(IO_TIMEOUT).expect("no `backend` line");
        assert!(second.starts_with("backend: "), "{second:?}");
        Piped {
            child,
            out,
            err,
            addr,
        }
    }

    /// Sends `signal`, waits for the exit, and returns the exit status and
    /// the stdout and stderr lines not read yet.
    fn signal_and_wait(
        mut self,
        signal: rustix::process::Signal,
    ) -> (std::process::ExitStatus, Vec<String>, Vec<String>) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, signal).expect("kill");
        let deadline = Instant::now() + IO_TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "no exit after {signal:?}");
            thread::sleep(Duration::from_millis(10));
        };
        (status, self.out.rest(), self.err.rest())
    }

    /// CPU time (user + system) the server has used so far, from
    /// `/proc/<pid>/stat`, in clock ticks.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        // After the `(comm)` field: state is field 3, utime 14, stime 15.
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }
}

#[cfg(unix)]
/// A client of `server` that has sent `line` (and reads with a timeout).
fn greet(server: &Piped, line: &str) -> TcpStream {
    let mut c = TcpStream::connect(server.addr).expect("connect");
    c.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    c.write_all(line.as_bytes()).unwrap();
    c
}

#[cfg(unix)]
impl Drop for Piped {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Under a real `ulimit -n 40`, 100 clients at once: `accept` fails with
/// EMFILE, which the server says once, then it stops watching the listener
/// for a moment instead of spinning on it (its CPU time stays low while
/// the clients wait), and resumes: as the first clients finish, the
/// waiting ones are accepted, and all 100 are echoed.
#[test]
#[cfg(any(target_os = "linux", target_os = "android"))] // reads /proc
fn out_of_fds_pauses_accepting_says_so_once_and_resumes() {
    raise_nofile(1024);
    let server = Piped::start("ulimit -n 40 &&");
    let clients: Vec<TcpStream> = (0..100)
        .map(|i| greet(&server, &format!("client {i}\n")))
        .collect();
    let said = server.err.line(IO_TIMEOUT).expect("no EMFILE line");
    assert!(
        said.contains("Too many open files") && said.contains("not accepting"),
        "{said:?}"
    );

    // Paused, not spinning: a busy loop would use the whole 2 s of a core
    // (or its share of a loaded machine, well above 20%).
    let ticks_per_second = rustix::param::clock_ticks_per_second();
    let before = server.cpu_ticks();
    thread::sleep(Duration::from_secs(2));
    let used = server.cpu_ticks() - before;
    assert!(
        used * 5 < 2 * ticks_per_second,
        "{used} clock ticks of CPU in 2 s while out of fds: spinning"
    );

    for (i, mut c) in clients.into_iter().enumerate() {
        let want = format!("client {i}\n");
        let mut back = vec![0; want.len()];
        c.read_exact(&mut back)
            .unwrap_or_else(|e| panic!("client {i}: {e}"));
        assert_eq!(back, want.as_bytes(), "client {i}");
    }
    let more = server.err.pending();
    assert!(more.is_empty(), "said more than once: {more:?}");

    let (status, out, _) = server.signal_and_wait(rustix::process::Signal::TERM);
    assert!(status.success(), "{status}");
    let summary = out.last().expect("no summary line");
    assert!(
        summary.starts_with("shutdown (SIGTERM): closed ")
            && summary.contains("accepted 100, echoed ")
            && !summary.ends_with("out of fds 0 times"),
        "{summary:?}"
    );
}

#[cfg(unix)]
/// SIGINT (Ctrl-C) with connections open: each client sees the server
/// close its connection, and the server exits with 0 after the summary.
#[test]
fn sigint_closes_every_connection_and_prints_a_summary() {
    let server = Piped::start("");
    let clients: Vec<TcpStream> = (0..3)
        .map(|i| {
            let mut c = greet(&server, &format!("hello {i}\n"));
            let mut back = [0; 8];
            c.read_exact(&mut back).unwrap(); // accepted and echoed
            assert_eq!(&back, format!("hello {i}\n").as_bytes());
            c
        })
        .collect();

    let (status, out, err) = server.signal_and_wait(rustix::process::Signal::INT);
    assert!(status.success(), "{status}");
    assert!(
        err.is_empty(),
        "a clean shutdown says nothing on stderr: {err:?}"
    );
    assert_eq!(
        out.last().map(String::as_str),
        Some("shutdown (SIGINT): closed 3 connections; accepted 3, echoed 24 bytes, out of fds 0 times"),
        "{out:?}"
    );
    for (i, mut c) in clients.into_iter().enumerate() {
        let mut rest = Vec::new();
        assert_eq!(
            c.read_to_end(&mut rest).unwrap(),
            0,
            "client {i}: not closed"
        );
    }
}
