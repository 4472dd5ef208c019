//! The `echo_server` example, run as a process and driven over 127.0.0.1.

// Needs a backend that these tests drive.
#![cfg(any(selectors_select, selectors_poll, selectors_epoll))]

mod echo_support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use echo_support::{drive, raise_fd_limit, EchoServer, Load, XorShift, IO_TIMEOUT};

/// 200 clients at once, each echoing several random payloads of up to
/// 64 KiB, byte-exact; the server survives and closes every connection.
#[test]
fn echoes_200_concurrent_clients_byte_exact() {
    raise_fd_limit(4096);
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
        selectors::Backend::available()[0].name(),
        "default backend"
    );
    server.stop();

    let out = std::process::Command::new(echo_support::example_binary("echo_server"))
        .args(["--port", "0", "--max-seconds", "10"])
        .env("SELECTORS_BACKEND", "iocp")
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
        err.contains("SELECTORS_BACKEND: unknown selector backend \"iocp\": expected select, poll, epoll or kqueue"),
        "{err}"
    );
}
