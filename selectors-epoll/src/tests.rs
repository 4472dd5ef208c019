//! epoll-specific behaviour, on real fds. The shared semantics are checked by
//! the workspace's conformance suite.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::io::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::{Duration, Instant};

use rustix::event::epoll::{self, EventFlags};
use rustix::io::{Errno, FdFlags};
use selectors_core::{Error, Events, Selector};

use crate::selector::{is_one_plain_wait, readiness};
use crate::EpollSelector;

/// A socket moved to a number at or above `min`, far above what other tests
/// running in parallel get, so closing it cannot race with a reuse of its
/// number.
fn high_socket(min: RawFd) -> (OwnedFd, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    let high = rustix::io::fcntl_dupfd_cloexec(&a, min).unwrap();
    (high, b)
}

#[test]
fn regular_file_is_refused_and_leaves_nothing() {
    let mut sel = EpollSelector::new().unwrap();
    let file = File::open(std::env::current_exe().unwrap()).unwrap();
    let fd = file.as_raw_fd();

    let err = sel.register(&file, Events::READ, ()).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(Errno::PERM.raw_os_error()));
    assert_eq!(
        err.to_string(),
        format!(
            "epoll_ctl(EPOLL_CTL_ADD) on fd {fd} failed: {}",
            io::Error::from(Errno::PERM)
        )
    );
    assert!(sel.get_map().is_empty());
    assert!(matches!(
        sel.get_key(&file),
        Err(Error::NotRegistered { fd: f }) if f == fd
    ));
    // The fd can still be registered elsewhere, and the selector still works.
    let (a, _b) = UnixStream::pair().unwrap();
    sel.register(&a, Events::WRITE, ()).unwrap();
    assert_eq!(sel.select(Some(Duration::ZERO)).unwrap().len(), 1);
}

#[test]
fn closed_fd_is_refused_and_leaves_nothing() {
    let mut sel = EpollSelector::new().unwrap();
    let (high, _peer) = high_socket(7000);
    let fd = high.as_raw_fd();
    drop(high);
    let err = sel.register(fd, Events::READ, ()).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(Errno::BADF.raw_os_error()));
    assert_eq!(err.fd(), Some(fd));
    assert!(!sel.get_map().contains(fd));
}

#[test]
fn events_of_a_closed_duplicated_fd_never_reach_a_new_registration() {
    let mut sel = EpollSelector::new().unwrap();
    let epfd = sel.as_raw_fd();
    let (mut a, mut old_peer) = high_socket(7100);
    let fd = a.as_raw_fd();
    sel.register(fd, Events::READ, "old").unwrap();

    // A dup keeps the old description, and so its epoll item, alive; dup2
    // then closes `fd` and reopens it on a new socket.
    let _dup = rustix::io::dup(&a).unwrap();
    let (new, mut new_peer) = UnixStream::pair().unwrap();
    rustix::io::dup2(&new, &mut a).unwrap();
    assert_eq!(a.as_raw_fd(), fd);

    // The kernel answers ENOENT: `fd` now names a file it never saw.
    assert_eq!(sel.unregister(fd).unwrap().data, "old");
    sel.register(fd, Events::READ, "new").unwrap();

    // The old description becomes readable: the kernel reports it under
    // `fd`, with the old tag; the selector must not pass it on.
    old_peer.write_all(b"stale").unwrap();
    assert_eq!(sel.select(Some(Duration::ZERO)).unwrap(), []);

    // And the orphan is gone from the kernel, so selects do not spin on it;
    // the epoll fd kept its number.
    assert_eq!(sel.as_raw_fd(), epfd);
    let mut raw = Vec::with_capacity(4);
    epoll::wait(
        sel.as_fd(),
        rustix::buffer::spare_capacity(&mut raw),
        Some(&Default::default()),
    )
    .unwrap();
    assert_eq!(raw.len(), 0);

    // The new registration works.
    new_peer.write_all(b"fresh").unwrap();
    let ready = sel.select(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(ready.len(), 1);
    assert_eq!(
        (ready[0].0.fd, ready[0].0.data, ready[0].1),
        (fd, "new", Events::READ)
    );
}

/// Found by the property test (`selectors/tests/properties.rs`): with a
/// one-event buffer, the orphan took the only slot of the wait, and a
/// zero-timeout select returned nothing although a live fd was ready.
#[test]
fn orphans_filling_the_buffer_do_not_hide_live_fds() {
    let mut sel = EpollSelector::new().unwrap();
    let (a, mut old_peer) = high_socket(7300);
    let fd = a.as_raw_fd();
    sel.register(fd, Events::READ, "old").unwrap();
    // A dup keeps the description (and its epoll item) alive after `fd` is
    // closed; the failed modify then drops `fd` from the map, leaving an
    // orphan item in the kernel.
    let _dup = rustix::io::dup(&a).unwrap();
    drop(a);
    let err = sel.modify(fd, Events::WRITE, "old").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(Errno::BADF.raw_os_error()));
    old_peer.write_all(b"stale").unwrap();

    let (live, _live_peer) = UnixStream::pair().unwrap();
    sel.register(&live, Events::WRITE, "live").unwrap();
    for _ in 0..2 {
        let ready = sel.select(Some(Duration::ZERO)).unwrap();
        assert_eq!(ready.len(), 1, "{ready:?}");
        assert_eq!((ready[0].0.data, ready[0].1), ("live", Events::WRITE));
    }
}

/// An orphan in `sel`'s interest list, readable: a socket at or above `min`
/// registered as "old", its description kept alive by a dup while the number
/// is reopened on a new socket, unregistered and registered again as "new".
/// Holds every fd involved open; `new_peer` writes to the new registration.
struct Orphan {
    _fd: OwnedFd,
    _dup: OwnedFd,
    _old_peer: UnixStream,
    _new: UnixStream,
    new_peer: UnixStream,
}

fn orphan_under_new_registration(sel: &mut EpollSelector<&'static str>, min: RawFd) -> Orphan {
    let (mut a, mut old_peer) = high_socket(min);
    let fd = a.as_raw_fd();
    sel.register(fd, Events::READ, "old").unwrap();
    let dup = rustix::io::dup(&a).unwrap();
    let (new, new_peer) = UnixStream::pair().unwrap();
    rustix::io::dup2(&new, &mut a).unwrap();
    sel.unregister(fd).unwrap();
    sel.register(fd, Events::READ, "new").unwrap();
    old_peer.write_all(b"stale").unwrap();
    Orphan {
        _fd: a,
        _dup: dup,
        _old_peer: old_peer,
        _new: new,
        new_peer,
    }
}

#[test]
fn blocking_select_waits_on_after_dropping_an_orphan() {
    let mut sel = EpollSelector::new().unwrap();
    let orphan = orphan_under_new_registration(&mut sel, 7200);
    // A partial move: the rest of `orphan` stays open until the end.
    let mut new_peer = orphan.new_peer;

    let writer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        new_peer.write_all(b"fresh").unwrap();
        new_peer
    });
    // Woken by the orphan, the selector must not return empty-handed.
    let ready = sel.select(None).unwrap();
    assert_eq!(ready.len(), 1);
    assert_eq!(ready[0].0.data, "new");
    drop(writer.join().unwrap());
}

#[test]
fn epoll_fd_is_cloexec_and_an_epoll_instance() {
    let sel = EpollSelector::<()>::new().unwrap();
    let fd = sel.as_raw_fd();
    assert_eq!(sel.as_fd().as_raw_fd(), fd);
    assert!(rustix::io::fcntl_getfd(sel.as_fd())
        .unwrap()
        .contains(FdFlags::CLOEXEC));
    let target = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
    assert_eq!(target.to_str(), Some("anon_inode:[eventpoll]"));
    assert!(format!("{sel:?}").contains(&format!("epoll: {fd}")));
}

#[test]
fn modify_of_data_alone_makes_no_syscall() {
    let mut sel = EpollSelector::new().unwrap();
    let (high, _peer) = high_socket(7300);
    let fd = high.as_raw_fd();
    sel.register(fd, Events::READ, 1).unwrap();
    // Closed behind the selector's back: any epoll_ctl on it now fails.
    drop(high);

    let key = sel.modify(fd, Events::READ, 2).unwrap();
    assert_eq!((key.events, key.data), (Events::READ, 2));

    let err = sel.modify(fd, Events::WRITE, 3).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(Errno::BADF.raw_os_error()));
    assert!(err
        .to_string()
        .starts_with(&format!("epoll_ctl(EPOLL_CTL_MOD) on fd {fd} failed: ")));
    // As CPython: a failed modify unregisters.
    assert!(!sel.get_map().contains(fd));
    assert!(matches!(
        sel.unregister(fd),
        Err(Error::NotRegistered { .. })
    ));
}

#[test]
fn unregister_after_close_still_returns_the_key() {
    let mut sel = EpollSelector::new().unwrap();
    let (high, _peer) = high_socket(7400);
    let fd = high.as_raw_fd();
    sel.register(fd, Events::READ, "data").unwrap();
    drop(high);
    let key = sel.unregister(fd).unwrap();
    assert_eq!((key.fd, key.data), (fd, "data"));
    assert!(sel.get_map().is_empty());
}

#[test]
fn one_select_reports_every_registered_fd() {
    let mut sel = EpollSelector::new().unwrap();
    let pairs: Vec<_> = (0..300).map(|_| UnixStream::pair().unwrap()).collect();
    for (i, (a, _)) in pairs.iter().enumerate() {
        sel.register(a, Events::WRITE, i).unwrap();
    }
    let ready = sel.select(Some(Duration::ZERO)).unwrap();
    assert_eq!(ready.len(), pairs.len());
    let mut seen: Vec<usize> = ready.iter().map(|(key, _)| key.data).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..pairs.len()).collect::<Vec<_>>());
}

#[test]
fn hang_up_counts_as_both_then_masked() {
    let mut sel = EpollSelector::new().unwrap();
    let (a, b) = UnixStream::pair().unwrap();
    let (c, mut d) = UnixStream::pair().unwrap();
    sel.register(&a, Events::ALL, 'a').unwrap();
    sel.register(&c, Events::READ, 'c').unwrap();
    drop(b);
    let mut ready = sel.select(Some(Duration::from_secs(5))).unwrap();
    ready.sort_by_key(|(key, _)| key.data);
    assert_eq!(ready.len(), 1);
    assert_eq!((ready[0].0.data, ready[0].1), ('a', Events::ALL));

    d.write_all(b"x").unwrap();
    let ready = sel.select(Some(Duration::from_secs(5))).unwrap();
    let c_ready: Vec<_> = ready.iter().filter(|(k, _)| k.data == 'c').collect();
    assert_eq!(c_ready.len(), 1);
    assert_eq!(c_ready[0].1, Events::READ);
    let mut buf = [0; 1];
    (&c).read_exact(&mut buf).unwrap();
}

#[test]
fn flags_map_as_in_cpython() {
    let all = Events::ALL;
    assert_eq!(readiness(all, EventFlags::IN), Events::READ);
    assert_eq!(readiness(all, EventFlags::OUT), Events::WRITE);
    assert_eq!(readiness(all, EventFlags::IN | EventFlags::OUT), all);
    for other in [
        EventFlags::ERR,
        EventFlags::HUP,
        EventFlags::RDHUP,
        EventFlags::PRI,
    ] {
        assert_eq!(readiness(all, other), all, "{other:?}");
        assert_eq!(readiness(Events::READ, other), Events::READ, "{other:?}");
        assert_eq!(readiness(Events::WRITE, other), Events::WRITE, "{other:?}");
    }
    assert_eq!(readiness(Events::WRITE, EventFlags::IN), Events::EMPTY);
    assert_eq!(readiness(Events::READ, EventFlags::OUT), Events::EMPTY);
}

#[test]
fn sub_millisecond_timeout_is_rounded_up_not_down() {
    let mut sel = EpollSelector::<()>::new().unwrap();
    for _ in 0..5 {
        let start = Instant::now();
        assert_eq!(sel.select(Some(Duration::from_micros(300))).unwrap(), []);
        assert!(start.elapsed() >= Duration::from_micros(300));
    }
}

/// The fd behind the waker, read from the selector's `Debug`.
fn waker_fd<T: std::fmt::Debug>(sel: &EpollSelector<T>) -> RawFd {
    let debug = format!("{sel:?}");
    let start = debug.find("waker: Some(").expect("a waker") + "waker: Some(".len();
    let inner = &debug[start..];
    let digits: String = inner
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

#[test]
fn waker_is_a_cloexec_eventfd() {
    let mut sel = EpollSelector::<()>::new().unwrap();
    sel.waker().unwrap();
    let fd = waker_fd(&sel);
    let target = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
    assert_eq!(target.to_str(), Some("anon_inode:[eventfd]"));
    // SAFETY: the selector keeps the fd open for this whole test.
    let borrowed = unsafe { std::os::unix::io::BorrowedFd::borrow_raw(fd) };
    assert!(rustix::io::fcntl_getfd(borrowed)
        .unwrap()
        .contains(FdFlags::CLOEXEC));
}

/// [`Selector::waker`] on the self-pipe, as where eventfd is refused.
fn pipe_waker<T>(sel: &mut EpollSelector<T>) -> std::io::Result<selectors_core::Waker> {
    sel.adapter_mut().force_pipe = true;
    sel.waker()
}

/// Wakes `sel` and checks that one select returns early and the next one
/// waits its timeout out.
fn assert_wakes_once(sel: &mut EpollSelector<&'static str>, waker: &selectors_core::Waker) {
    for _ in 0..1000 {
        waker.wake().unwrap();
    }
    let start = Instant::now();
    assert_eq!(sel.select(Some(Duration::from_secs(10))).unwrap(), []);
    assert!(start.elapsed() < Duration::from_secs(5));
    let start = Instant::now();
    assert_eq!(sel.select(Some(Duration::from_millis(100))).unwrap(), []);
    assert!(start.elapsed() >= Duration::from_millis(100));
}

#[test]
fn pipe_fallback_wakes_and_coalesces() {
    let mut sel = EpollSelector::new().unwrap();
    let waker = pipe_waker(&mut sel).unwrap();
    let fd = waker_fd(&sel);
    let target = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
    assert!(
        target.to_str().unwrap().starts_with("socket:"),
        "{target:?}"
    );
    assert!(sel.waker().unwrap().will_wake(&waker));
    assert_wakes_once(&mut sel, &waker);
}

#[test]
fn waker_survives_an_orphan_rebuild() {
    for pipe in [false, true] {
        let mut sel = EpollSelector::new().unwrap();
        let waker = if pipe {
            pipe_waker(&mut sel).unwrap()
        } else {
            sel.waker().unwrap()
        };
        // Make an orphan (as in the test above), so the next select rebuilds
        // the interest list in a fresh epoll instance.
        let _orphan = orphan_under_new_registration(&mut sel, 7300 + 100 * RawFd::from(pipe));
        assert_eq!(sel.select(Some(Duration::ZERO)).unwrap(), []);

        // The fresh instance watches the waker too.
        assert_wakes_once(&mut sel, &waker);
    }
}

#[test]
fn woken_blocking_select_returns_even_with_orphans() {
    let mut sel = EpollSelector::new().unwrap();
    let waker = sel.waker().unwrap();
    let _orphan = orphan_under_new_registration(&mut sel, 7500);
    // Orphan and wake in one wait: the wake ends the blocking select.
    waker.wake().unwrap();
    assert_eq!(sel.select(None).unwrap(), []);
}

/// The kernel release as (major, minor), from `/proc`.
#[cfg(epoll_pwait2)]
fn kernel_version() -> (u32, u32) {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut parts = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap(), parts.next().unwrap())
}

/// Sub-millisecond timeouts go to `epoll_pwait2` on Linux 5.11 and later
/// (the probe settles on first use), and are rounded up to whole
/// milliseconds where it is missing. One test, because it flips the
/// process-wide probe state.
#[cfg(epoll_pwait2)]
#[test]
fn sub_millisecond_timeouts_use_epoll_pwait2_or_round_up() {
    use crate::buffer::{PWAIT2_NO, PWAIT2_STATE, PWAIT2_UNKNOWN};
    use std::sync::atomic::Ordering;

    let mut sel = EpollSelector::<()>::new().unwrap();
    let timeout = Duration::from_micros(300);
    let start = Instant::now();
    assert_eq!(sel.select(Some(timeout)).unwrap(), []);
    assert!(start.elapsed() >= timeout);
    let state = PWAIT2_STATE.load(Ordering::Relaxed);
    assert_ne!(state, PWAIT2_UNKNOWN);
    if kernel_version() >= (5, 11) {
        assert_ne!(
            state,
            PWAIT2_NO,
            "epoll_pwait2 refused on {:?}",
            kernel_version()
        );
    }

    // As on a kernel without it: whole milliseconds, rounded up.
    PWAIT2_STATE.store(PWAIT2_NO, Ordering::Relaxed);
    for _ in 0..3 {
        let start = Instant::now();
        assert_eq!(sel.select(Some(timeout)).unwrap(), []);
        assert!(start.elapsed() >= Duration::from_millis(1));
    }
    PWAIT2_STATE.store(state, Ordering::Relaxed);
}

#[test]
fn only_whole_milliseconds_within_one_wait_take_the_hot_path() {
    let ms = Duration::from_millis;
    for plain in [
        None,
        Some(Duration::ZERO),
        Some(ms(5)),
        Some(ms(2_147_482_999)),
    ] {
        assert!(is_one_plain_wait(plain), "{plain:?}");
    }
    // A fraction of a millisecond needs epoll_pwait2; more than an `int` of
    // milliseconds (or just below it: the check is by whole seconds) needs
    // several waits.
    for careful in [
        Some(Duration::from_micros(300)),
        Some(ms(5) + Duration::from_nanos(1)),
        Some(ms(i32::MAX as u64)),
        Some(ms(i32::MAX as u64 + 1)),
        Some(Duration::MAX),
    ] {
        assert!(!is_one_plain_wait(careful), "{careful:?}");
    }
}

/// Issue 12, defect 5: the clean-up of an orphan swapped a fresh epoll
/// instance in under the same number with `dup3`, and every outer selector
/// watching the inner one lost it (the kernel drops the watch of the closed
/// file): the outer selector never reported the inner one again.
#[test]
fn a_nested_selector_stays_watched_across_an_orphan_clean_up() {
    let mut inner = EpollSelector::new().unwrap();
    let inner_fd = inner.as_raw_fd();
    let orphan = orphan_under_new_registration(&mut inner, 7600);
    let mut new_peer = orphan.new_peer;
    let mut outer = EpollSelector::new().unwrap();
    outer.register(&inner, Events::READ, "inner").unwrap();
    // The orphan is ready: the inner selector has something to look at...
    assert_eq!(outer.select(Some(Duration::ZERO)).unwrap().len(), 1);
    // ...which its select drops, cleaning its interest list up.
    assert_eq!(inner.select(Some(Duration::ZERO)).unwrap(), []);
    assert_eq!(inner.as_raw_fd(), inner_fd);
    assert_eq!(outer.select(Some(Duration::ZERO)).unwrap(), []);

    new_peer.write_all(b"fresh").unwrap();
    let ready = outer.select(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(ready.len(), 1, "the outer selector lost the inner one");
    assert_eq!((ready[0].0.data, ready[0].1), ("inner", Events::READ));
    let ready = inner.select(Some(Duration::ZERO)).unwrap();
    assert_eq!(ready.len(), 1);
    assert_eq!(ready[0].0.data, "new");
}

/// The selector's fd watches the interest list only from the first time it
/// is handed out: an outer selector given it then sees what was ready
/// before, also after a clean-up swapped the interest list while nobody
/// held the fd.
#[test]
fn a_selector_nested_late_sees_what_was_ready_before() {
    let mut inner = EpollSelector::new().unwrap();
    let orphan = orphan_under_new_registration(&mut inner, 7700);
    let mut new_peer = orphan.new_peer;
    // The clean-up, before anyone asked for the fd.
    assert_eq!(inner.select(Some(Duration::ZERO)).unwrap(), []);
    new_peer.write_all(b"fresh").unwrap();

    let mut outer = EpollSelector::new().unwrap();
    outer.register(&inner, Events::READ, "inner").unwrap();
    let ready = outer.select(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(
        ready.len(),
        1,
        "the outer selector does not see the inner one"
    );
    assert_eq!((ready[0].0.data, ready[0].1), ("inner", Events::READ));
    let ready = inner.select(Some(Duration::ZERO)).unwrap();
    assert_eq!(ready.len(), 1);
    assert_eq!(ready[0].0.data, "new");
    // Asking again changes nothing.
    let fd = inner.as_raw_fd();
    assert_eq!(inner.as_fd().as_raw_fd(), fd);
    assert_eq!(outer.select(Some(Duration::ZERO)).unwrap().len(), 1);
}
