//! KqueueSelector's own rules, checked on the kqueue adapter over the model
//! (`selectors-test-support`) with real fds. (The shared conformance suite
//! in `io-selectors/tests` checks the rest.)
#![cfg(unix)]

use std::io::Write;
use std::os::unix::io::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use rustix::io::Errno;
use selectors_core::{Error, Events, Selector};

use selectors_kqueue::kevent::{Filter, Flags, Kev, Kevent};
use selectors_test_support::fds::dup_at_least;
use selectors_test_support::ModelKqueueSelector;

static_assertions::assert_impl_all!(ModelKqueueSelector<()>: Send, Sync, std::fmt::Debug);
static_assertions::assert_not_impl_any!(ModelKqueueSelector<std::rc::Rc<()>>: Send);
// The real one, where it exists (checked by the cross-target clippy).
#[cfg(kqueue)]
mod real {
    use selectors_kqueue::KqueueSelector;
    static_assertions::assert_impl_all!(KqueueSelector<()>: Send, Sync, std::fmt::Debug);
    static_assertions::assert_not_impl_any!(KqueueSelector<std::rc::Rc<()>>: Send, Sync);
}

fn selector<T>() -> ModelKqueueSelector<T> {
    ModelKqueueSelector::new().unwrap()
}

/// Moves `file` to the lowest free fd number from `min` up: tests use
/// distinct high ranges so that a number they close is not reused by a
/// test running in parallel.
fn at(file: impl Into<OwnedFd>, min: RawFd) -> OwnedFd {
    dup_at_least(&file.into(), min)
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
    let stats = sel.adapter_mut().kevent_mut().stats();
    assert_eq!((stats.calls, stats.changes), (1, 2));
    assert!(sel.adapter_mut().kevent_mut().has_knote(fd, Filter::Read));
    assert!(sel.adapter_mut().kevent_mut().has_knote(fd, Filter::Write));
    assert_eq!(sel.adapter().filters(), 2);
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
    assert_eq!(sel.adapter_mut().kevent_mut().knotes(), 0);
    assert_eq!(sel.adapter().filters(), 0);
}

#[test]
fn a_half_refused_registration_deletes_the_filter_that_was_added() {
    let (a, _b) = UnixStream::pair().unwrap();
    let mut sel = selector();
    sel.adapter_mut()
        .kevent_mut()
        .refuse(Some((Filter::Write, Errno::INVAL)));
    let err = sel.register(&a, Events::ALL, ()).unwrap_err();
    assert_eq!(errno(&err), Some(Errno::INVAL));
    assert!(sel.get_map().is_empty());
    assert_eq!(
        sel.adapter_mut().kevent_mut().knotes(),
        0,
        "the read filter was deleted again"
    );

    // The refusal was about WRITE only: READ alone registers.
    sel.register(&a, Events::READ, ()).unwrap();
    assert_eq!(sel.adapter_mut().kevent_mut().knotes(), 1);
}

#[test]
fn modify_changes_only_the_filters_that_differ() {
    let (a, _b) = UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    let mut sel = selector();
    sel.register(&a, Events::READ, 1).unwrap();
    let changes = |sel: &mut ModelKqueueSelector<i32>| {
        let stats = sel.adapter_mut().kevent_mut().stats();
        (stats.calls, stats.changes)
    };
    assert_eq!(changes(&mut sel), (1, 1));

    sel.modify(&a, Events::ALL, 2).unwrap(); // + write
    assert_eq!(changes(&mut sel), (2, 2));
    sel.modify(&a, Events::WRITE, 3).unwrap(); // - read
    assert_eq!(changes(&mut sel), (3, 3));
    assert!(!sel.adapter_mut().kevent_mut().has_knote(fd, Filter::Read));
    assert!(sel.adapter_mut().kevent_mut().has_knote(fd, Filter::Write));
    sel.modify(&a, Events::READ, 4).unwrap(); // + read, - write
    assert_eq!(changes(&mut sel), (4, 5));
    sel.modify(&a, Events::READ, 5).unwrap(); // data only: no call
    assert_eq!(changes(&mut sel), (4, 5));
    assert_eq!(sel.get_key(&a).unwrap().data, 5);
    assert_eq!(sel.adapter().filters(), 1);
}

#[test]
fn a_failed_modify_unregisters_like_python() {
    let (a, _b) = UnixStream::pair().unwrap();
    let mut sel = selector();
    sel.register(&a, Events::READ, ()).unwrap();
    sel.adapter_mut()
        .kevent_mut()
        .refuse(Some((Filter::Write, Errno::NOMEM)));
    let err = sel.modify(&a, Events::ALL, ()).unwrap_err();
    assert_eq!(errno(&err), Some(Errno::NOMEM));
    assert!(sel.get_map().is_empty());
    assert_eq!(
        sel.adapter_mut().kevent_mut().knotes(),
        0,
        "map and kernel agree"
    );
    assert_eq!(sel.adapter().filters(), 0);
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
    assert_eq!(sel.adapter().filters(), 0);
}

#[test]
fn the_event_list_is_sized_to_the_registered_filters() {
    let pairs: Vec<_> = (0..3).map(|_| UnixStream::pair().unwrap()).collect();
    let mut sel = selector();
    sel.select(Some(Duration::ZERO)).unwrap();
    assert_eq!(
        sel.adapter_mut().kevent_mut().stats().last_max,
        1,
        "never 0 (bpo-29255)"
    );
    sel.register(&pairs[0].0, Events::ALL, ()).unwrap();
    sel.register(&pairs[1].0, Events::READ, ()).unwrap();
    sel.register(&pairs[2].0, Events::WRITE, ()).unwrap();
    sel.select(Some(Duration::ZERO)).unwrap();
    assert_eq!(sel.adapter_mut().kevent_mut().stats().last_max, 4);
    sel.unregister(&pairs[0].0).unwrap();
    sel.select(Some(Duration::ZERO)).unwrap();
    assert_eq!(sel.adapter_mut().kevent_mut().stats().last_max, 2);
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
    sel.adapter_mut()
        .kevent_mut()
        .kevent(&[stale], 0, None, |_| ())
        .unwrap();
    assert!(sel.select(Some(Duration::ZERO)).unwrap().is_empty());
}

#[test]
fn fileno_is_the_queue_fd() {
    let sel = selector::<()>();
    assert!(sel.as_raw_fd() >= 0);
    assert!(format!("{sel:?}").contains("KqueueSelector"));
    sel.close().unwrap();
}

/// Asserts that a select returns within 5 s with nothing, then that the
/// next one waits out 100 ms: the wake was consumed, once.
fn assert_woken_once(sel: &mut ModelKqueueSelector<u32>) {
    let start = Instant::now();
    let ready = sel.select(Some(Duration::from_secs(30))).unwrap();
    assert!(ready.is_empty(), "{ready:?}");
    assert!(start.elapsed() < Duration::from_secs(5), "not woken");
    let idle = Duration::from_millis(100);
    let start = Instant::now();
    assert!(sel.select(Some(idle)).unwrap().is_empty());
    assert!(start.elapsed() >= idle, "the wake was not consumed");
}

#[test]
fn the_waker_is_a_user_knote_with_its_own_event_slot() {
    let (a, _b) = UnixStream::pair().unwrap();
    let mut sel = selector::<u32>();
    sel.register(&a, Events::READ, 1).unwrap();
    let waker = sel.waker().unwrap();
    assert!(sel.adapter_mut().kevent_mut().has_knote(0, Filter::User));
    assert_eq!(sel.adapter_mut().kevent_mut().knotes(), 2);
    assert_eq!(sel.adapter().wake_pipe_fd(), None);
    assert!(sel.get_map().len() == 1 && sel.adapter().filters() == 1);
    waker.wake().unwrap();
    waker.wake().unwrap();
    sel.select(Some(Duration::ZERO)).unwrap();
    assert_eq!(
        sel.adapter_mut().kevent_mut().stats().last_max,
        2,
        "one slot for the waker"
    );
    waker.wake().unwrap();
    assert_woken_once(&mut sel);
    assert!(format!("{sel:?}").contains("User"));
}

#[test]
fn without_evfilt_user_the_waker_is_a_socket_pair() {
    let (a, mut b) = UnixStream::pair().unwrap();
    let mut sel = selector::<u32>();
    // What a kernel (or rustix) without EVFILT_USER answers.
    sel.adapter_mut()
        .kevent_mut()
        .refuse(Some((Filter::User, Errno::INVAL)));
    let waker = sel.waker().unwrap();
    let pipe = sel.adapter().wake_pipe_fd().expect("the fallback");
    assert!(sel.adapter_mut().kevent_mut().has_knote(pipe, Filter::Read));
    assert!(!sel.adapter_mut().kevent_mut().has_knote(0, Filter::User));
    assert!(sel.get_map().is_empty());

    for _ in 0..1000 {
        waker.wake().unwrap();
    }
    assert_woken_once(&mut sel);

    // The pipe is never reported, also beside a ready registration.
    sel.register(&a, Events::READ, 7).unwrap();
    b.write_all(b"x").unwrap();
    waker.wake().unwrap();
    let ready = sel.select(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(ready.len(), 1, "{ready:?}");
    assert_eq!(ready[0].0.data, 7);
    sel.unregister(&a).unwrap();
    waker.wake().unwrap();
    assert_woken_once(&mut sel);
}

#[test]
fn other_refusals_of_the_user_knote_are_errors() {
    let mut sel = selector::<u32>();
    sel.adapter_mut()
        .kevent_mut()
        .refuse(Some((Filter::User, Errno::NOMEM)));
    let err = sel.waker().unwrap_err();
    assert_eq!(err.raw_os_error(), Some(Errno::NOMEM.raw_os_error()));
    assert_eq!(sel.adapter().wake_pipe_fd(), None);
    assert_eq!(sel.adapter_mut().kevent_mut().knotes(), 0);
    // Nothing was kept: a later call tries again.
    sel.adapter_mut().kevent_mut().refuse(None);
    let waker = sel.waker().unwrap();
    waker.wake().unwrap();
    assert_woken_once(&mut sel);
}
