//! What is particular to `poll(2)`: the persistent `pollfd` array, revents
//! mapping, `POLLNVAL`, fds above `FD_SETSIZE`, timeouts. The rules every
//! backend shares are checked by the conformance suite in `selectors/tests`.

use std::io::Write;
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

use selectors_core::{Events, Selector};
use selectors_test_support::fds::dup_at_least;
use selectors_test_support::rng::XorShift;

use crate::PollSelector;

static_assertions::assert_impl_all!(PollSelector<()>: Send, Sync, std::fmt::Debug);
static_assertions::assert_impl_all!(PollSelector<std::cell::Cell<u8>>: Send);
static_assertions::assert_not_impl_any!(PollSelector<Rc<()>>: Send, Sync);

#[test]
fn pollfds_stay_parallel_after_many_swap_removes() {
    const PAIRS: usize = 40;
    let pairs: Vec<_> = (0..PAIRS).map(|_| UnixStream::pair().unwrap()).collect();
    let fds: Vec<&UnixStream> = pairs.iter().flat_map(|(a, b)| [a, b]).collect();
    let mut sel = PollSelector::new().unwrap();

    // Deterministic: the same sequence on every run.
    let mut rng = XorShift::new(0x9e37_79b9_7f4a_7c15);
    let mut rand = move |n: usize| rng.below(n as u64) as usize;
    let (mut removed, mut modified) = (0, 0);
    for step in 0..4_000 {
        let (i, stream) = {
            let i = rand(fds.len());
            (i, fds[i])
        };
        let events = Events::from_bits(1 + rand(3) as u32).unwrap();
        if sel.get_map().contains(stream) {
            if rand(2) == 0 {
                assert_eq!(sel.unregister(stream).unwrap().data, i);
                removed += 1;
            } else {
                sel.modify(stream, events, i).unwrap();
                modified += 1;
            }
        } else {
            sel.register(stream, events, i).unwrap();
        }
        sel.adapter().assert_parallel(sel.get_map());

        if step % 500 == 499 {
            // Make every fd readable and writable: each registered one must
            // then come back exactly once, with its own key and events.
            for mut stream in fds.iter().copied() {
                stream.write_all(b"x").unwrap();
            }
            let ready = sel.select(Some(Duration::from_secs(5))).unwrap();
            let mut got: Vec<_> = ready
                .iter()
                .map(|(key, ev)| (key.fd, key.data, *ev))
                .collect();
            let mut want: Vec<_> = sel
                .get_map()
                .iter()
                .map(|key| (key.fd, key.data, key.events))
                .collect();
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "step {step}");
            for (key, _) in &ready {
                assert_eq!(fds[key.data].as_raw_fd(), key.fd);
            }
            sel.adapter().assert_parallel(sel.get_map());
        }
    }
    assert!(removed > 500 && modified > 500, "{removed} {modified}");
}

#[test]
fn closed_fd_reports_nval_masked_and_unregisters() {
    let (a, _b) = UnixStream::pair().unwrap();
    let doomed = dup_at_least(&a, 15_500);
    let doomed_fd = doomed.as_raw_fd();
    let mut sel = PollSelector::new().unwrap();
    sel.register(&doomed, Events::READ, "doomed").unwrap();
    drop(doomed); // closed behind the selector's back

    let ready = sel.select(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(ready.len(), 1);
    assert_eq!((ready[0].0.fd, ready[0].1), (doomed_fd, Events::READ));

    // modify never reaches the kernel, so it succeeds on the closed fd too,
    // and the new mask applies to POLLNVAL at once.
    sel.modify(doomed_fd, Events::ALL, "doomed").unwrap();
    let ready = sel.select(Some(Duration::from_secs(5))).unwrap();
    assert_eq!((ready[0].0.fd, ready[0].1), (doomed_fd, Events::ALL));

    assert_eq!(sel.unregister(doomed_fd).unwrap().data, "doomed");
    assert!(sel.select(Some(Duration::ZERO)).unwrap().is_empty());
}

#[test]
fn hangup_counts_as_both_then_masked() {
    let (reader, writer) = rustix::pipe::pipe().unwrap();
    let mut sel = PollSelector::new().unwrap();
    // The read end of a pipe is never writable: only POLLHUP can set WRITE.
    sel.register(&reader, Events::ALL, ()).unwrap();
    assert!(sel.select(Some(Duration::ZERO)).unwrap().is_empty());
    drop(writer);
    let ready = sel.select(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(ready.len(), 1);
    assert_eq!(ready[0].1, Events::ALL);
    sel.modify(&reader, Events::WRITE, ()).unwrap();
    assert_eq!(
        sel.select(Some(Duration::ZERO)).unwrap()[0].1,
        Events::WRITE
    );
}

#[test]
fn fds_above_fd_setsize_work() {
    let (a, mut b) = UnixStream::pair().unwrap();
    let high = dup_at_least(&a, 5_000);
    let mut sel = PollSelector::new().unwrap();
    sel.register(&high, Events::READ, "high").unwrap();
    sel.register(&b, Events::WRITE, "low").unwrap();
    b.write_all(b"x").unwrap();
    let mut ready = sel.select(Some(Duration::from_secs(5))).unwrap();
    ready.sort_by_key(|(key, _)| key.fd);
    assert_eq!(
        ready.iter().map(|(k, e)| (k.data, *e)).collect::<Vec<_>>(),
        [("low", Events::WRITE), ("high", Events::READ)]
    );
}

#[test]
fn read_and_write_merged_in_one_entry() {
    let (a, mut b) = UnixStream::pair().unwrap();
    let mut sel = PollSelector::new().unwrap();
    sel.register(&a, Events::ALL, ()).unwrap();
    b.write_all(b"x").unwrap();
    let ready = sel.select(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(ready.len(), 1, "{ready:?}");
    assert_eq!((ready[0].0.fd, ready[0].1), (a.as_raw_fd(), Events::ALL));
}

#[test]
fn steady_state_select_grows_nothing() {
    let pairs: Vec<_> = (0..8).map(|_| UnixStream::pair().unwrap()).collect();
    let mut sel = PollSelector::new().unwrap();
    for (a, b) in &pairs {
        sel.register(a, Events::ALL, ()).unwrap();
        (&*b).write_all(b"x").unwrap();
    }
    let mut ready = Vec::new();
    sel.select_into(Some(Duration::ZERO), &mut ready).unwrap();
    let (heap, cap) = (sel.heap_bytes(), ready.capacity());
    for _ in 0..100 {
        assert_eq!(
            sel.select_into(Some(Duration::ZERO), &mut ready).unwrap(),
            8
        );
    }
    assert_eq!((sel.heap_bytes(), ready.capacity()), (heap, cap));
}

#[test]
fn debug_lists_fds_without_needing_debug_data() {
    struct Opaque;
    let (a, _b) = UnixStream::pair().unwrap();
    let mut sel = PollSelector::new().unwrap();
    sel.register(&a, Events::READ, Opaque).unwrap();
    assert_eq!(
        format!("{sel:?}"),
        format!("PollSelector {{ fds: {{{}: READ}} }}", a.as_raw_fd())
    );
}

/// Issue 12, defect 1: the fd index was sized by the fd number, so
/// registering `i32::MAX` asked for 8 GiB. Memory now follows the
/// registrations, and poll reports such a fd as `POLLNVAL`, as CPython.
#[test]
fn a_huge_fd_costs_no_more_than_a_small_one() {
    let mut sel = PollSelector::new().unwrap();
    let (a, _b) = UnixStream::pair().unwrap();
    sel.register(&a, Events::WRITE, 1).unwrap();
    let small = sel.heap_bytes();
    sel.register(RawFd::MAX, Events::READ, 2).unwrap();
    assert!(
        sel.heap_bytes() < small + 4096,
        "{} bytes",
        sel.heap_bytes()
    );
    let mut ready = sel.select(Some(Duration::ZERO)).unwrap();
    ready.sort_by_key(|(key, _)| key.data);
    let got: Vec<_> = ready.iter().map(|(k, e)| (k.data, *e)).collect();
    assert_eq!(got, [(1, Events::WRITE), (2, Events::READ)]);
    assert_eq!(sel.unregister(RawFd::MAX).unwrap().data, 2);
    sel.adapter().assert_parallel(sel.get_map());
}
