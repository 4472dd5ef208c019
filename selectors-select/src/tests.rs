//! What is particular to `select(2)`: EBADF culprits, fds above
//! `FD_SETSIZE`, merged result sets, timeouts. The rules every backend
//! shares are checked by the conformance suite in `selectors/tests`.

use std::io::Write;
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

use rustix::process::{getrlimit, Resource};
use selectors_core::backend;
use selectors_core::{Error, Events, Selector};
use selectors_test_support::fds::{dup_at_least, raise_nofile};

use crate::SelectSelector;

static_assertions::assert_impl_all!(SelectSelector<()>: Send, Sync, std::fmt::Debug);
static_assertions::assert_impl_all!(SelectSelector<std::cell::Cell<u8>>: Send);
static_assertions::assert_not_impl_any!(SelectSelector<Rc<()>>: Send, Sync);

#[test]
fn read_and_write_merged_in_one_entry() {
    let (a, mut b) = UnixStream::pair().unwrap();
    let mut sel = SelectSelector::new().unwrap();
    sel.register(&a, Events::ALL, 'a').unwrap();
    b.write_all(b"x").unwrap();
    let ready = sel.select(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(ready.len(), 1, "{ready:?}");
    assert_eq!((ready[0].0.fd, ready[0].1), (a.as_raw_fd(), Events::ALL));

    // Masked by the registration: a writable fd registered for READ alone
    // and not readable is not reported.
    sel.modify(&a, Events::READ, 'a').unwrap();
    let mut buf = [0u8; 1];
    std::io::Read::read_exact(&mut &a, &mut buf).unwrap();
    assert!(sel.select(Some(Duration::ZERO)).unwrap().is_empty());
}

#[test]
fn ebadf_names_the_culprit_and_unregister_recovers() {
    let (a, mut b) = UnixStream::pair().unwrap();
    let doomed = dup_at_least(&a, 15_000);
    let doomed_fd = doomed.as_raw_fd();
    let mut sel = SelectSelector::new().unwrap();
    sel.register(&a, Events::READ, "a").unwrap();
    sel.register(&doomed, Events::WRITE, "doomed").unwrap();
    drop(doomed); // closed behind the selector's back
    b.write_all(b"x").unwrap();

    for _ in 0..2 {
        let err = sel.select(Some(Duration::from_secs(5))).unwrap_err();
        assert!(matches!(err, Error::Os { fd: Some(fd), op: "select", .. } if fd == doomed_fd));
        assert_eq!(err.raw_os_error(), Some(libc_ebadf()));
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("select on fd {doomed_fd} failed")),
            "{msg}"
        );
        // The culprit stays registered until the caller says otherwise.
        assert!(sel.get_map().contains(doomed_fd));
    }

    assert_eq!(sel.unregister(doomed_fd).unwrap().data, "doomed");
    let ready = sel.select(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(ready.len(), 1);
    assert_eq!(
        (ready[0].0.data, ready[0].1),
        ("a", Events::READ),
        "{ready:?}"
    );
}

/// EBADF's number, through rustix so the test needs no libc.
fn libc_ebadf() -> i32 {
    rustix::io::Errno::BADF.raw_os_error()
}

#[test]
fn fds_above_fd_setsize_work() {
    let (a, mut b) = UnixStream::pair().unwrap();
    let (c, mut d) = UnixStream::pair().unwrap();
    let high_a = dup_at_least(&a, 4_000);
    let higher_c = dup_at_least(&c, 9_000);
    let mut sel = SelectSelector::new().unwrap();
    sel.register(&high_a, Events::READ, 1).unwrap();
    sel.register(&higher_c, Events::READ, 2).unwrap();
    sel.register(&b, Events::WRITE, 3).unwrap();
    assert_eq!(
        backend::fd_bound(sel.get_map()),
        higher_c.as_raw_fd() as usize + 1
    );

    b.write_all(b"x").unwrap();
    let mut ready = sel.select(Some(Duration::from_secs(5))).unwrap();
    ready.sort_by_key(|(key, _)| key.data);
    assert_eq!(
        ready.iter().map(|(k, e)| (k.data, *e)).collect::<Vec<_>>(),
        [(1, Events::READ), (3, Events::WRITE)]
    );

    d.write_all(b"y").unwrap();
    sel.unregister(&high_a).unwrap();
    sel.unregister(&b).unwrap();
    let ready = sel.select(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(ready.len(), 1);
    assert_eq!(
        (ready[0].0.fd, ready[0].1),
        (higher_c.as_raw_fd(), Events::READ)
    );

    // The sets shrink back with the highest fd.
    sel.unregister(&higher_c).unwrap();
    assert_eq!(backend::fd_bound(sel.get_map()), 0);
    assert!(sel.select(Some(Duration::ZERO)).unwrap().is_empty());
}

#[test]
fn more_than_fd_setsize_registered() {
    const PAIRS: usize = 600; // 1200 fds, past FD_SETSIZE
    raise_nofile(4 * PAIRS as u64 + 200);
    let pairs: Vec<_> = (0..PAIRS).map(|_| UnixStream::pair().unwrap()).collect();
    let mut sel = SelectSelector::new().unwrap();
    for (i, (a, b)) in pairs.iter().enumerate() {
        sel.register(a, Events::READ, i).unwrap();
        sel.register(b, Events::READ, PAIRS + i).unwrap();
    }
    assert!(backend::fd_bound(sel.get_map()) > 1024);
    let mut expected = Vec::new();
    for (i, (a, _)) in pairs.iter().enumerate().filter(|(i, _)| i % 7 == 3) {
        (&*a).write_all(b"x").unwrap();
        expected.push(PAIRS + i); // the peer end becomes readable
    }
    let mut got: Vec<_> = sel
        .select(Some(Duration::from_secs(5)))
        .unwrap()
        .into_iter()
        .map(|(key, events)| {
            assert_eq!(events, Events::READ);
            key.data
        })
        .collect();
    got.sort_unstable();
    assert_eq!(got, expected);
}

#[test]
fn steady_state_select_grows_nothing() {
    let (a, mut b) = UnixStream::pair().unwrap();
    let high = dup_at_least(&a, 3_000);
    let mut sel = SelectSelector::new().unwrap();
    sel.register(&high, Events::ALL, ()).unwrap();
    b.write_all(b"x").unwrap();
    let mut ready = Vec::new();
    sel.select_into(Some(Duration::ZERO), &mut ready).unwrap();
    let (heap, cap) = (sel.heap_bytes(), ready.capacity());
    for _ in 0..100 {
        assert_eq!(
            sel.select_into(Some(Duration::ZERO), &mut ready).unwrap(),
            1
        );
        assert_eq!(ready[0].1, Events::ALL);
    }
    assert_eq!((sel.heap_bytes(), ready.capacity()), (heap, cap));
}

#[test]
fn debug_lists_fds_without_needing_debug_data() {
    struct Opaque;
    let (a, _b) = UnixStream::pair().unwrap();
    let mut sel = SelectSelector::new().unwrap();
    sel.register(&a, Events::WRITE, Opaque).unwrap();
    let fd = a.as_raw_fd();
    assert_eq!(
        format!("{sel:?}"),
        format!(
            "SelectSelector {{ fds: {{{fd}: WRITE}}, nfds: {} }}",
            fd + 1
        )
    );
}

/// Issue 12, defect 1: the fd sets are sized by the highest fd, so
/// `register(i32::MAX)` grew them to 4 x 256 MiB. A fd at or above the hard
/// `RLIMIT_NOFILE` cannot be open: it is refused, and costs nothing.
#[test]
fn a_fd_no_process_can_have_is_refused_without_growing_the_sets() {
    let mut sel = SelectSelector::new().unwrap();
    let (a, _b) = UnixStream::pair().unwrap();
    sel.register(&a, Events::WRITE, 1).unwrap();
    let before = sel.heap_bytes();
    let hard = getrlimit(Resource::Nofile).maximum.unwrap();
    for fd in [RawFd::MAX, hard as RawFd] {
        let err = sel.register(fd, Events::READ, 2).unwrap_err();
        assert!(
            matches!(err, Error::InvalidFd { fd: f } if f == fd),
            "{err:?}"
        );
        assert_eq!(err.to_string(), format!("invalid file descriptor: {fd}"));
    }
    assert_eq!(sel.heap_bytes(), before);
    assert_eq!(sel.get_map().len(), 1);
    assert_eq!(sel.select(Some(Duration::ZERO)).unwrap().len(), 1);
}

/// The size of this process's fd table (`FDSize` in `/proc/self/status`).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn fd_table_size() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("FDSize:")).unwrap();
    line["FDSize:".len()..].trim().parse().unwrap()
}

/// Issue 12, defect 2: an unopened fd above the fd table registered fine,
/// and whenever another fd was ready it was reported READ: Linux cuts
/// `nfds` to the table and writes back only that many bits, and the master
/// bits above were walked as ready. It is never reported now (within the
/// table, the kernel says EBADF, naming it).
#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
fn a_fd_above_the_fd_table_is_never_reported_ready() {
    let hard = getrlimit(Resource::Nofile).maximum.unwrap();
    let ghost = hard as RawFd - 1;
    let (a, mut b) = UnixStream::pair().unwrap();
    let mut sel = SelectSelector::new().unwrap();
    sel.register(&a, Events::READ, "a").unwrap();
    sel.register(ghost, Events::READ, "ghost").unwrap();
    b.write_all(b"x").unwrap();
    let above_table = ghost as usize >= fd_table_size();
    for _ in 0..3 {
        match sel.select(Some(Duration::from_secs(5))) {
            Ok(ready) => {
                let data: Vec<_> = ready.iter().map(|(k, _)| k.data).collect();
                assert_eq!(data, ["a"], "fd {ghost} above the table reported");
            }
            Err(err) => {
                assert!(!above_table, "{err}");
                assert_eq!(err.fd(), Some(ghost), "{err}");
            }
        }
    }
    println!(
        "fd {ghost}, table {}, above: {above_table}",
        fd_table_size()
    );
    assert_eq!(sel.unregister(ghost).unwrap().data, "ghost");
}
