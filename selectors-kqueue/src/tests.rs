//! KqueueSelector's own rules, checked on the model with real fds. (The
//! shared conformance suite in `selectors/tests` checks the rest.)

use std::io::Write;
use std::os::unix::io::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use rustix::io::Errno;
use selectors_core::{Error, Events, Selector};

use crate::kevent::{Filter, Flags, Kev, Kevent};
use crate::ModelKqueueSelector;

static_assertions::assert_impl_all!(ModelKqueueSelector<()>: Send, Sync, std::fmt::Debug);
static_assertions::assert_not_impl_any!(ModelKqueueSelector<std::rc::Rc<()>>: Send);
// The real one, where it exists (checked by the cross-target clippy).
#[cfg(any(
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]
mod real {
    use crate::KqueueSelector;
    static_assertions::assert_impl_all!(KqueueSelector<()>: Send, Sync, std::fmt::Debug);
    static_assertions::assert_not_impl_any!(KqueueSelector<std::rc::Rc<()>>: Send, Sync);
}

fn selector<T>() -> ModelKqueueSelector<T> {
    ModelKqueueSelector::new().unwrap()
}

/// See `model::tests::at`.
fn at(file: impl Into<OwnedFd>, min: RawFd) -> OwnedFd {
    rustix::io::fcntl_dupfd_cloexec(file.into(), min).unwrap()
}

fn errno(err: &Error) -> Option<Errno> {
    err.raw_os_error().map(Errno::from_raw_os_error)
}

#[test]
fn register_adds_both_filters_in_one_call_with_the_tag() {
    let (a, _b) = UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    let mut sel = selector();
    sel.register(&a, Events::ALL, ()).unwrap();
    let stats = sel.kq().stats();
    assert_eq!((stats.calls, stats.changes), (1, 2));
    assert!(sel.kq().has_knote(fd, Filter::Read));
    assert!(sel.kq().has_knote(fd, Filter::Write));
    assert_eq!(sel.filters(), 2);
}

#[test]
fn a_refused_fd_leaves_no_key_and_no_knote() {
    let closed = at(UnixStream::pair().unwrap().0, 700).as_raw_fd();
    let mut sel = selector();
    let err = sel.register(closed, Events::ALL, ()).unwrap_err();
    assert_eq!(errno(&err), Some(Errno::BADF));
    assert_eq!(err.fd(), Some(closed));
    assert!(err.to_string().contains("kevent(EV_ADD)"), "{err}");
    assert!(sel.get_map().is_empty());
    assert_eq!(sel.kq().knotes(), 0);
    assert_eq!(sel.filters(), 0);
}

#[test]
fn a_half_refused_registration_deletes_the_filter_that_was_added() {
    let (a, _b) = UnixStream::pair().unwrap();
    let mut sel = selector();
    sel.kq().refuse(Some((Filter::Write, Errno::INVAL)));
    let err = sel.register(&a, Events::ALL, ()).unwrap_err();
    assert_eq!(errno(&err), Some(Errno::INVAL));
    assert!(sel.get_map().is_empty());
    assert_eq!(sel.kq().knotes(), 0, "the read filter was deleted again");

    // The refusal was about WRITE only: READ alone registers.
    sel.register(&a, Events::READ, ()).unwrap();
    assert_eq!(sel.kq().knotes(), 1);
}

#[test]
fn modify_changes_only_the_filters_that_differ() {
    let (a, _b) = UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    let mut sel = selector();
    sel.register(&a, Events::READ, 1).unwrap();
    let changes = |sel: &mut ModelKqueueSelector<i32>| {
        let stats = sel.kq().stats();
        (stats.calls, stats.changes)
    };
    assert_eq!(changes(&mut sel), (1, 1));

    sel.modify(&a, Events::ALL, 2).unwrap(); // + write
    assert_eq!(changes(&mut sel), (2, 2));
    sel.modify(&a, Events::WRITE, 3).unwrap(); // - read
    assert_eq!(changes(&mut sel), (3, 3));
    assert!(!sel.kq().has_knote(fd, Filter::Read));
    assert!(sel.kq().has_knote(fd, Filter::Write));
    sel.modify(&a, Events::READ, 4).unwrap(); // + read, - write
    assert_eq!(changes(&mut sel), (4, 5));
    sel.modify(&a, Events::READ, 5).unwrap(); // data only: no call
    assert_eq!(changes(&mut sel), (4, 5));
    assert_eq!(sel.get_key(&a).unwrap().data, 5);
    assert_eq!(sel.filters(), 1);
}

#[test]
fn a_failed_modify_unregisters_like_python() {
    let (a, _b) = UnixStream::pair().unwrap();
    let mut sel = selector();
    sel.register(&a, Events::READ, ()).unwrap();
    sel.kq().refuse(Some((Filter::Write, Errno::NOMEM)));
    let err = sel.modify(&a, Events::ALL, ()).unwrap_err();
    assert_eq!(errno(&err), Some(Errno::NOMEM));
    assert!(sel.get_map().is_empty());
    assert_eq!(sel.kq().knotes(), 0, "map and kernel agree");
    assert_eq!(sel.filters(), 0);
}

#[test]
fn modify_of_a_closed_fd_fails_and_unregisters() {
    let (a, _b) = UnixStream::pair().unwrap();
    let a = at(a, 720);
    let fd = a.as_raw_fd();
    let mut sel = selector();
    sel.register(fd, Events::ALL, ()).unwrap();
    drop(a);
    let err = sel.modify(fd, Events::READ, ()).unwrap_err();
    assert_eq!(errno(&err), Some(Errno::BADF));
    assert!(err.to_string().contains("kevent(EV_DELETE)"), "{err}");
    assert!(sel.get_map().is_empty());
}

#[test]
fn unregister_swallows_enoent_and_ebadf() {
    let (a, _b) = UnixStream::pair().unwrap();
    let (c, _d) = UnixStream::pair().unwrap();
    let mut a = at(a, 740);
    let fd = a.as_raw_fd();
    let mut sel = selector();
    sel.register(fd, Events::ALL, "a").unwrap();
    // Reused number: the kernel dropped the knotes, EV_DELETE says ENOENT.
    rustix::io::dup2(&c, &mut a).unwrap();
    assert_eq!(sel.unregister(fd).unwrap().data, "a");
    // Closed number: EBADF.
    sel.register(fd, Events::READ, "c").unwrap();
    drop(a);
    assert_eq!(sel.unregister(fd).unwrap().data, "c");
    assert!(sel.get_map().is_empty());
    assert_eq!(sel.filters(), 0);
}

#[test]
fn the_event_list_is_sized_to_the_registered_filters() {
    let pairs: Vec<_> = (0..3).map(|_| UnixStream::pair().unwrap()).collect();
    let mut sel = selector();
    sel.select(Some(Duration::ZERO)).unwrap();
    assert_eq!(sel.kq().stats().last_max, 1, "never 0 (bpo-29255)");
    sel.register(&pairs[0].0, Events::ALL, ()).unwrap();
    sel.register(&pairs[1].0, Events::READ, ()).unwrap();
    sel.register(&pairs[2].0, Events::WRITE, ()).unwrap();
    sel.select(Some(Duration::ZERO)).unwrap();
    assert_eq!(sel.kq().stats().last_max, 4);
    sel.unregister(&pairs[0].0).unwrap();
    sel.select(Some(Duration::ZERO)).unwrap();
    assert_eq!(sel.kq().stats().last_max, 2);
}

#[test]
fn an_empty_selector_honours_its_timeout() {
    let mut sel = selector::<()>();
    let start = Instant::now();
    assert!(sel
        .select(Some(Duration::from_millis(30)))
        .unwrap()
        .is_empty());
    assert!(start.elapsed() >= Duration::from_millis(30));
}

#[test]
fn huge_timeouts_are_clamped_below_the_kernel_limit() {
    // The model refuses more than 10^8 s with EINVAL, as macOS does.
    let (a, _b) = UnixStream::pair().unwrap();
    let mut sel = selector();
    sel.register(&a, Events::WRITE, ()).unwrap();
    let ready = sel.select(Some(Duration::MAX)).unwrap();
    assert_eq!(ready.len(), 1);
}

#[test]
fn read_and_write_filters_merge_into_one_entry() {
    let (a, mut b) = UnixStream::pair().unwrap();
    let (c, _d) = UnixStream::pair().unwrap();
    let mut sel = selector();
    sel.register(&a, Events::ALL, 'a').unwrap();
    sel.register(&c, Events::READ, 'c').unwrap();
    b.write_all(b"x").unwrap();
    let mut ready = Vec::new();
    for _ in 0..2 {
        assert_eq!(sel.select_into(None, &mut ready).unwrap(), 1);
        assert_eq!(ready[0].0.data, 'a');
        assert_eq!(ready[0].1, Events::ALL);
    }
}

#[test]
fn eof_counts_as_the_filters_own_event() {
    let (a, b) = UnixStream::pair().unwrap();
    let (c, d) = UnixStream::pair().unwrap();
    let mut sel = selector();
    sel.register(&a, Events::ALL, 'a').unwrap();
    sel.register(&c, Events::READ, 'c').unwrap();
    drop((b, d));
    let mut ready = sel.select(Some(Duration::from_secs(5))).unwrap();
    ready.sort_by_key(|(key, _)| key.data);
    let got: Vec<_> = ready.iter().map(|(key, ev)| (key.data, *ev)).collect();
    assert_eq!(got, [('a', Events::ALL), ('c', Events::READ)]);
}

#[test]
fn events_with_a_stale_tag_are_dropped() {
    let (a, _b) = UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    let mut sel = selector();
    sel.register(&a, Events::WRITE, ()).unwrap();
    assert_eq!(sel.select(Some(Duration::ZERO)).unwrap().len(), 1);
    // Overwrite the knote's udata with another registration's tag.
    let stale = Kev::change(fd, Filter::Write, Flags::ADD, 9_999);
    sel.kq().kevent(&[stale], 0, None, |_| ()).unwrap();
    assert!(sel.select(Some(Duration::ZERO)).unwrap().is_empty());
}

#[test]
fn fileno_is_the_queue_fd() {
    let sel = selector::<()>();
    assert!(sel.as_raw_fd() >= 0);
    assert!(format!("{sel:?}").contains("KqueueSelector"));
    sel.close().unwrap();
}
