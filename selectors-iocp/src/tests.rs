//! What only the IOCP/AFD selector promises: cancelled polls consumed, never
//! reported; closed sockets dropped; no completion reaching a later
//! registration; 10,000 sockets. The conformance suite (io-selectors/tests)
//! runs the shared rules on it under Wine.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::windows::io::AsRawSocket;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use selectors_core::{backend, Events, Selector};

use super::IocpSelector;

const R: Events = Events::READ;
const W: Events = Events::WRITE;
const BOUND: Duration = Duration::from_secs(5);

/// Held by every test that makes sockets: a test that closes a registered
/// socket expects its handle value to stay unused until its `select`.
fn serial() -> MutexGuard<'static, ()> {
    static SOCKETS: Mutex<()> = Mutex::new(());
    SOCKETS.lock().unwrap_or_else(|e| e.into_inner())
}

/// A connected TCP pair on 127.0.0.1, non-blocking, from `listener`.
fn pair_on(listener: &TcpListener) -> (TcpStream, TcpStream) {
    let a = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (b, _) = listener.accept().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

fn pair() -> (TcpStream, TcpStream) {
    pair_on(&TcpListener::bind("127.0.0.1:0").unwrap())
}

/// `(data, events)` of one select, sorted.
fn select<T: Clone + Ord>(sel: &mut IocpSelector<T>, timeout: Duration) -> Vec<(T, Events)> {
    let mut ready: Vec<_> = sel
        .select(Some(timeout))
        .unwrap()
        .into_iter()
        .map(|(key, events)| (key.data, events))
        .collect();
    ready.sort();
    ready
}

/// Selects until something is reported (or `BOUND` passed).
fn ready_soon<T: Clone + Ord>(sel: &mut IocpSelector<T>) -> Vec<(T, Events)> {
    let deadline = Instant::now() + BOUND;
    loop {
        let ready = select(sel, Duration::from_millis(50));
        if !ready.is_empty() || Instant::now() > deadline {
            return ready;
        }
    }
}

/// Selects until the orphans' completions are all consumed; checks that
/// nothing is reported meanwhile.
fn consume_orphans(sel: &mut IocpSelector<u32>) {
    let deadline = Instant::now() + BOUND;
    while sel.adapter().orphans() > 0 {
        assert_eq!(select(sel, Duration::from_millis(10)), []);
        assert!(
            Instant::now() < deadline,
            "a cancelled poll never completed"
        );
    }
}

#[test]
fn unregister_cancels_and_the_cancelled_completion_is_never_reported() {
    let _serial = serial();
    let (a, mut b) = pair();
    let (c, mut d) = pair();
    let mut sel = IocpSelector::new().unwrap();
    sel.register(&a, R, 1).unwrap();
    sel.register(&c, R, 2).unwrap();
    assert_eq!(select(&mut sel, Duration::ZERO), []);
    sel.unregister(&a).unwrap();
    assert_eq!(sel.adapter().orphans(), 1);
    // Ready after the unregister: the cancelled poll must not report it.
    b.write_all(b"x").unwrap();
    consume_orphans(&mut sel);
    d.write_all(b"y").unwrap();
    assert_eq!(ready_soon(&mut sel), [(2, R)]);
}

#[test]
fn a_poll_completed_but_not_dequeued_never_reaches_the_next_registration() {
    let _serial = serial();
    let (a, mut b) = pair();
    let mut sel = IocpSelector::new().unwrap();
    sel.register(&a, R, 1).unwrap();
    b.write_all(b"x").unwrap();
    // Let the poll complete into the port, undequeued.
    std::thread::sleep(Duration::from_millis(100));
    sel.unregister(&a).unwrap();
    // The same socket value, registered again: only the new registration's
    // readiness (and data) is reported, once.
    sel.register(&a, W, 2).unwrap();
    assert_eq!(ready_soon(&mut sel), [(2, W)]);
    consume_orphans(&mut sel);
    sel.modify(&a, R, 3).unwrap();
    assert_eq!(ready_soon(&mut sel), [(3, R)]);
}

#[test]
fn modify_replaces_the_outstanding_poll() {
    let _serial = serial();
    let (a, _b) = pair();
    let mut sel = IocpSelector::new().unwrap();
    // Writable, but asked for READ only: nothing.
    sel.register(&a, R, 1).unwrap();
    assert_eq!(select(&mut sel, Duration::from_millis(50)), []);
    sel.modify(&a, W, 2).unwrap();
    assert_eq!(sel.adapter().orphans(), 1);
    assert_eq!(select(&mut sel, Duration::ZERO), [(2, W)]);
    // Level-triggered after a modify too.
    assert_eq!(select(&mut sel, Duration::ZERO), [(2, W)]);
    consume_orphans(&mut sel);
    sel.modify(&a, R, 3).unwrap();
    assert_eq!(select(&mut sel, Duration::from_millis(50)), []);
    consume_orphans(&mut sel);
}

#[test]
fn a_socket_closed_behind_the_selectors_back_is_dropped_silently() {
    let _serial = serial();
    let (a, _b) = pair();
    let (c, mut d) = pair();
    let n = a.as_raw_socket();
    let mut sel = IocpSelector::new().unwrap();
    sel.register(&a, R, 1).unwrap();
    sel.register(&c, R, 2).unwrap();
    assert_eq!(select(&mut sel, Duration::ZERO), []);
    drop(a);
    // The poll completes with "local close": not reported, not sent again.
    let deadline = Instant::now() + BOUND;
    let position = backend::slots(sel.get_map())
        .find(|(slot, _)| slot.fd == n)
        .unwrap()
        .0
        .position;
    while !sel.adapter().is_closed(position) {
        assert_eq!(select(&mut sel, Duration::from_millis(10)), []);
        assert!(Instant::now() < deadline, "no local-close completion");
    }
    assert_eq!(select(&mut sel, Duration::from_millis(20)), []);
    assert_eq!(sel.unregister(n).unwrap().data, 1);
    d.write_all(b"x").unwrap();
    assert_eq!(ready_soon(&mut sel), [(2, R)]);
}

/// The peer's close: a reset where it had data unread (Windows), an EOF
/// under Wine 8 (which shuts the connection down instead). Either is READ
/// and WRITE, masked by the registration.
#[test]
fn peer_close_is_read_and_write_then_masked() {
    let _serial = serial();
    let (a, b) = pair();
    let mut sel = IocpSelector::new().unwrap();
    sel.register(&a, R, 1).unwrap();
    (&a).write_all(b"unread").unwrap();
    std::thread::sleep(Duration::from_millis(50));
    drop(b);
    assert_eq!(ready_soon(&mut sel), [(1, R)]);
    assert_eq!(select(&mut sel, Duration::ZERO), [(1, R)]);
    let mut byte = [0];
    match (&a).read(&mut byte) {
        Ok(0) => {}
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        Ok(n) => panic!("read {n} bytes from a closed peer"),
    }
    sel.modify(&a, Events::ALL, 2).unwrap();
    assert_eq!(ready_soon(&mut sel), [(2, Events::ALL)]);
}

#[test]
fn wakes_coalesce_and_are_never_reported() {
    let _serial = serial();
    let (a, _b) = pair();
    let mut sel = IocpSelector::new().unwrap();
    sel.register(&a, R, 1).unwrap();
    let waker = sel.waker().unwrap();
    for _ in 0..100 {
        waker.wake().unwrap();
    }
    let start = Instant::now();
    assert_eq!(select(&mut sel, BOUND), []);
    assert!(start.elapsed() < BOUND, "the wake did not end the select");
    // One completion for the hundred wakes: the next select waits.
    let start = Instant::now();
    assert_eq!(select(&mut sel, Duration::from_millis(100)), []);
    assert!(start.elapsed() >= Duration::from_millis(100));
}

#[test]
fn devices_are_shared_by_32_sockets() {
    let _serial = serial();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let pairs: Vec<_> = (0..40).map(|_| pair_on(&listener)).collect();
    let mut sel = IocpSelector::new().unwrap();
    assert_eq!(sel.adapter().devices(), 1);
    for (i, (a, b)) in pairs.iter().enumerate() {
        sel.register(a, R, 2 * i as u32).unwrap();
        sel.register(b, R, 2 * i as u32 + 1).unwrap();
    }
    assert_eq!(sel.adapter().devices(), 3);
    for (a, b) in &pairs {
        sel.unregister(a).unwrap();
        sel.unregister(b).unwrap();
    }
    // Room again: no new device for the next 80.
    for (i, (a, b)) in pairs.iter().enumerate() {
        sel.register(a, W, 2 * i as u32).unwrap();
        sel.register(b, W, 2 * i as u32 + 1).unwrap();
    }
    assert_eq!(sel.adapter().devices(), 3);
    let all = ready_soon(&mut sel);
    assert_eq!(all.len(), 80);
    assert!(all.iter().all(|&(_, events)| events == W));
}

/// 10,000 registered sockets, 100 of them ready: exactly those are
/// reported, by every select until drained, and then nothing.
#[test]
fn ten_thousand_sockets_of_which_a_hundred_are_ready() {
    let _serial = serial();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let pairs: Vec<_> = (0..5_000).map(|_| pair_on(&listener)).collect();
    let mut sel = IocpSelector::new().unwrap();
    let mut index = 0u32;
    for (a, b) in &pairs {
        sel.register(a, R, index).unwrap();
        sel.register(b, R, index + 1).unwrap();
        index += 2;
    }
    assert_eq!(sel.get_map().len(), 10_000);
    assert_eq!(select(&mut sel, Duration::ZERO), []);
    // Every 50th pair's `a` end: 100 sockets.
    let chosen: Vec<usize> = (0..5_000).step_by(50).collect();
    for &i in &chosen {
        (&pairs[i].1).write_all(b"x").unwrap();
    }
    let expected: Vec<(u32, Events)> = chosen.iter().map(|&i| (2 * i as u32, R)).collect();
    let deadline = Instant::now() + BOUND * 4;
    let mut ready = Vec::new();
    while ready.len() < expected.len() && Instant::now() < deadline {
        ready = select(&mut sel, Duration::from_millis(100));
    }
    assert_eq!(ready, expected);
    // Level-triggered: the same hundred again.
    assert_eq!(select(&mut sel, Duration::ZERO), expected);
    for &i in &chosen {
        let mut byte = [0];
        assert_eq!((&pairs[i].0).read(&mut byte).unwrap(), 1);
    }
    assert_eq!(select(&mut sel, Duration::from_millis(20)), []);
    for (a, b) in &pairs {
        sel.unregister(a).unwrap();
        sel.unregister(b).unwrap();
    }
    consume_orphans(&mut sel);
}
