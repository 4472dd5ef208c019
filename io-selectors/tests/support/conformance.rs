//! The conformance suite: every rule every backend shares (ARCHITECTURE.md,
//! "Where each rule lives"), written once as generic checks and instantiated per selector
//! type by [`conformance_suite!`], one `#[test]` per check so that a failure
//! names the rule.
//!
//! ```ignore
//! #[macro_use]
//! mod support;
//! conformance_suite!(poll, io_selectors::PollSelector);
//! ```
//!
//! The type given must have `new() -> io::Result<Self>` for every data type
//! `T` and implement `Selector<T>`. Every check works on real fds
//! (socketpairs, pipes, TCP on 127.0.0.1, a regular file) and real signals.
//! On Windows, sockets only: the pairs are TCP on 127.0.0.1, and the checks
//! of pipes, `dup2` and signals are Unix-only (`#[cfg(unix)]` in the list
//! below).
//!
//! Where we differ from CPython 3.11 on purpose, the check says so.

use std::io::{self, Write};
use std::net::{TcpListener, TcpStream};
#[cfg(unix)]
use std::sync::atomic::{AtomicBool, Ordering};
#[cfg(unix)]
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use io_selectors::{Error, Event, Events, RawFd, Ready, Selector, SelectorKey};
use selectors_test_support::rng::XorShift;

use super::{
    checked, connecting, drain, fd, file_fd, pair, raise_nofile, ready_now, ready_soon,
    ready_within, regular_file, send, AsFd, AsRawFd, OwnedFd, Stream, BOUND, INVALID_FD,
    OTHER_INVALID_FD,
};
#[cfg(unix)]
use super::{dup2_onto, install_sigalrm_handler, is_open, open_fds, pipe};

const R: Events = Events::READ;
const W: Events = Events::WRITE;
const RW: Events = Events::ALL;

/// Instantiates the conformance suite for one selector type:
/// `conformance_suite!(module_name, path::to::Selector);`.
///
/// `path::to::Selector::<T>::new()` must return `io::Result<_>` and the type
/// must implement `Selector<T>` for the data types the checks use (`u32`,
/// `String`).
macro_rules! conformance_suite {
    ($name:ident, $($sel:tt)+) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            type Sel<T> = $($sel)+<T>;

            fn new<T>() -> Sel<T> {
                Sel::<T>::new().expect("creating the selector")
            }

            #[test]
            fn is_send_when_data_is_send() {
                fn assert_send<S: Send>() {}
                assert_send::<Sel<String>>();
                assert_send::<Sel<u32>>();
            }

            conformance_suite!(@checks
                register_returns_the_key: u32,
                register_rejects_empty_events: u32,
                register_rejects_negative_fd: u32,
                register_of_an_impossible_fd_is_refused_or_truthful: u32,
                register_twice_is_already_registered_whatever_names_the_fd: u32,
                unregistered_fd_is_not_registered: u32,
                dup_is_a_distinct_registration: u32,
                every_file_object_form_names_the_same_registration: u32,
                unregister_returns_the_data: String,
                unregister_after_close_succeeds: u32,
                #[cfg(unix)]
                unregister_after_close_and_dup2_reuse_succeeds: u32,
                #[cfg(unix)]
                unregister_succeeds_when_the_number_names_an_unpollable_file: u32,
                reregister_reports_only_the_new_registration: u32,
                modify_changes_events_and_data: u32,
                modify_same_events_makes_no_syscall: u32,
                modify_rejects_empty_events_and_changes_nothing: u32,
                modify_failure_leaves_map_and_kernel_consistent: u32,
                get_key_and_get_map_track_registrations: u32,
                read_and_write_merge_into_one_entry: u32,
                events_are_masked_by_registration: u32,
                hang_up_counts_as_readable: u32,
                readiness_is_level_triggered: u32,
                select_into_clears_and_reuses_the_buffer: u32,
                results_are_owned_so_handlers_can_mutate: u32,
                select_events_hands_out_data_that_is_not_clone: $crate::support::conformance::Conn,
                select_events_clears_and_reuses_the_buffer: $crate::support::conformance::Conn,
                #[cfg(unix)]
                stale_event_finds_nothing_after_fd_reuse: $crate::support::conformance::Conn,
                #[cfg(unix)]
                stale_entry_of_select_into_reaches_the_new_registration: u32,
                handlers_change_registrations_while_walking_events: $crate::support::conformance::Conn,
                modify_events_keeps_the_data: $crate::support::conformance::Conn,
                zero_timeout_returns_at_once: u32,
                positive_timeout_waits_at_least_that_long: u32,
                sub_millisecond_timeout_is_not_rounded_to_zero: u32,
                empty_selector_honours_its_timeout: u32,
                none_blocks_until_ready: u32,
                huge_timeout_does_not_overflow: u32,
                #[cfg(unix)]
                signal_returns_empty_result_early: u32,
                more_than_1024_fds_select_included: u32,
                twelve_socketpair_exchange: u32,
                churn_keeps_results_exact: u32,
                kernel_refusal_leaves_no_trace: u32,
                #[cfg(unix)]
                pipes_work: u32,
                tcp_accept_readiness: u32,
                connect_completion_is_writable_and_failure_too: u32,
                #[cfg(windows)]
                non_socket_handles_are_refused_and_leave_no_trace: u32,
                close_succeeds: u32,
                drop_leaves_registered_fds_open: u32,
            );

            // Each alone in a child process: they need to know which fd
            // numbers the selector's own fds take.
            conformance_suite!(@child_checks
                #[cfg(unix)]
                waker_fd_cannot_be_registered: u32,
                #[cfg(unix)]
                waker_never_takes_a_registered_number: u32,
                #[cfg(unix)]
                fork_child_gets_a_clean_start: u32,
                #[cfg(windows)]
                closed_socket_is_reported_or_named: u32,
            );
        }
    };
    (@child_checks $($(#[$attr:meta])* $check:ident: $data:ty),* $(,)?) => {
        $(
            $(#[$attr])*
            #[test]
            fn $check() {
                // This test's path, without the test binary's name.
                let path = concat!(module_path!(), "::", stringify!($check));
                let name = path.split_once("::").map_or(path, |(_, rest)| rest);
                if $crate::support::is_child(name) {
                    $crate::support::conformance::$check(new::<$data>);
                } else {
                    $crate::support::in_child(name);
                }
            }
        )*
    };
    (@checks $($(#[$attr:meta])* $check:ident: $data:ty),* $(,)?) => {
        $(
            $(#[$attr])*
            #[test]
            fn $check() {
                $crate::support::conformance::$check(new::<$data>);
            }
        )*
    };
}

// ---------------------------------------------------------------- register

/// register returns the key (fd, events, data) and get_key finds it.
pub fn register_returns_the_key<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (a, _b) = pair();
    let key = *sel.register(&a, RW, 7).unwrap();
    assert_eq!(
        key,
        SelectorKey {
            fd: fd(&a),
            events: RW,
            data: 7
        }
    );
    assert_eq!(*sel.get_key(&a).unwrap(), key);
    assert_eq!(sel.get_map().len(), 1);
}

/// Empty events: InvalidEvents (Python: ValueError), nothing registered.
pub fn register_rejects_empty_events<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (a, _b) = pair();
    let err = sel.register(&a, Events::EMPTY, 1).unwrap_err();
    assert!(
        matches!(err, Error::InvalidEvents { fd: f } if f == fd(&a)),
        "{err:?}"
    );
    assert!(err.to_string().contains(&fd(&a).to_string()), "{err}");
    assert_eq!(io::Error::from(err).kind(), io::ErrorKind::InvalidInput);
    assert!(sel.get_map().is_empty());
    // The fd can still be registered properly afterwards.
    sel.register(&a, R, 1).unwrap();
}

/// Negative fds (on Windows `INVALID_SOCKET`, or beyond any handle value):
/// InvalidFd (Python: ValueError) from every method.
pub fn register_rejects_negative_fd<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let bad: RawFd = INVALID_FD;
    let err = sel.register(bad, R, 1).unwrap_err();
    assert!(
        matches!(err, Error::InvalidFd { fd } if fd == bad),
        "{err:?}"
    );
    assert_eq!(io::Error::from(err).kind(), io::ErrorKind::InvalidInput);
    assert!(matches!(
        sel.unregister(OTHER_INVALID_FD),
        Err(Error::InvalidFd { fd }) if fd == OTHER_INVALID_FD
    ));
    assert!(matches!(
        sel.modify(bad, R, 2),
        Err(Error::InvalidFd { fd }) if fd == bad
    ));
    assert!(matches!(sel.get_key(bad), Err(Error::InvalidFd { fd }) if fd == bad));
    assert!(sel.get_map().is_empty());
}

/// A fd no process can have (`i32::MAX`, far above `RLIMIT_NOFILE`) costs
/// no memory: it is refused with an error naming it (select: InvalidFd, as
/// CPython's ValueError; epoll and kqueue: the kernel's EBADF), leaving
/// nothing behind, or registered and reported as what it is (poll:
/// `POLLNVAL`, ready for what it was registered for, as CPython's).
///
/// Issue 12, defect 1: the map and select's fd sets were sized by the fd
/// number, and the process aborted allocating 8 GiB.
pub fn register_of_an_impossible_fd_is_refused_or_truthful<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (a, b) = pair();
    sel.register(&a, R, 1).unwrap();
    for huge in [RawFd::MAX, RawFd::MAX - 1, 1 << 30] {
        match sel.register(huge, R, 2).copied() {
            Ok(key) => {
                assert_eq!(key.fd, huge);
                assert_eq!(ready_now(&mut sel), [(2, R)]);
                assert_eq!(sel.unregister(huge).unwrap().data, 2);
            }
            Err(err) => {
                assert_eq!(err.fd(), Some(huge), "{err:?}");
                assert!(err.to_string().contains(&huge.to_string()), "{err}");
                assert!(
                    matches!(err, Error::InvalidFd { .. })
                        || err.raw_os_error() == Some(libc::EBADF),
                    "{err:?}"
                );
                assert!(!sel.get_map().contains(huge));
            }
        }
    }
    assert_eq!(sel.get_map().len(), 1);
    send(&b, b"x");
    assert_eq!(ready_soon(&mut sel), [(1, R)]);
}

/// A second registration of the same fd is AlreadyRegistered (Python:
/// KeyError), through whatever object names it, and changes nothing.
pub fn register_twice_is_already_registered_whatever_names_the_fd<S: Selector<u32>>(
    new: fn() -> S,
) {
    let mut sel = new();
    let (mut a, b) = pair();
    let n = fd(&a);
    sel.register(&a, R, 1).unwrap();
    let attempts = [
        sel.register(n, W, 2).copied(),
        sel.register(a.as_fd(), RW, 3).copied(),
        sel.register(&mut a, R, 4).copied(),
        sel.register(&a, R, 5).copied(),
    ];
    for attempt in attempts {
        let err = attempt.unwrap_err();
        assert!(
            matches!(err, Error::AlreadyRegistered { fd: f } if f == n),
            "{err:?}"
        );
        assert_eq!(io::Error::from(err).kind(), io::ErrorKind::AlreadyExists);
    }
    assert_eq!(
        *sel.get_key(n).unwrap(),
        SelectorKey {
            fd: n,
            events: R,
            data: 1
        }
    );
    assert_eq!(sel.get_map().len(), 1);
    // The original registration still works, with its own events.
    send(&b, b"x");
    assert_eq!(ready_soon(&mut sel), [(1, R)]);
}

/// unregister/modify/get_key of an fd that is not registered: NotRegistered
/// (Python: KeyError); also after an unregister.
pub fn unregistered_fd_is_not_registered<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (a, _b) = pair();
    let n = fd(&a);
    let not_registered = |r: Result<(), Error>| {
        let err = r.unwrap_err();
        assert!(
            matches!(err, Error::NotRegistered { fd: f } if f == n),
            "{err:?}"
        );
        assert!(err.to_string().contains(&n.to_string()), "{err}");
        assert_eq!(io::Error::from(err).kind(), io::ErrorKind::NotFound);
    };
    not_registered(sel.unregister(&a).map(drop));
    not_registered(sel.modify(&a, R, 1).map(drop));
    not_registered(sel.get_key(&a).map(drop));
    sel.register(&a, R, 1).unwrap();
    sel.unregister(&a).unwrap();
    not_registered(sel.unregister(&a).map(drop));
    not_registered(sel.modify(n, W, 1).map(drop));
    not_registered(sel.get_key(n).map(drop));
    assert!(sel.get_map().is_empty());
}

/// A dup of a registered fd is another fd: it registers separately, and both
/// are reported (as in CPython, on every backend).
pub fn dup_is_a_distinct_registration<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (a, b) = pair();
    let dup = a.try_clone().unwrap();
    sel.register(&a, R, 1).unwrap();
    sel.register(&dup, R, 2).unwrap();
    assert_eq!(ready_now(&mut sel), []);
    send(&b, b"x");
    assert_eq!(ready_soon(&mut sel), [(1, R), (2, R)]);
    sel.unregister(&dup).unwrap();
    drop(dup);
    assert_eq!(ready_soon(&mut sel), [(1, R)]);
}

/// Every FileObject form (RawFd, BorrowedFd, &T: AsRawFd, &mut T, &OwnedFd)
/// names the same registration.
pub fn every_file_object_form_names_the_same_registration<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (mut a, _b) = pair();
    let n = fd(&a);
    sel.register(a.as_fd(), R, 1).unwrap();
    assert_eq!(sel.get_key(n).unwrap().data, 1);
    assert_eq!(sel.get_key(&a).unwrap().data, 1);
    assert_eq!(sel.get_key(&mut a).unwrap().data, 1);
    assert_eq!(sel.modify(n, W, 2).unwrap().data, 2);
    assert_eq!(sel.get_key(a.as_fd()).unwrap().events, W);
    sel.unregister(&mut a).unwrap();
    let owned = OwnedFd::from(a);
    sel.register(&owned, R, 3).unwrap();
    assert_eq!(sel.get_key(n).unwrap().data, 3);
    assert_eq!(sel.unregister(owned.as_raw_fd()).unwrap().data, 3);
}

// -------------------------------------------------------------- unregister

/// unregister hands the key, and so the data, back; the fd is then never
/// reported again, even when ready.
pub fn unregister_returns_the_data<S: Selector<String>>(new: fn() -> S) {
    let mut sel = new();
    let (a, b) = pair();
    let (c, d) = pair();
    sel.register(&a, RW, "session a".to_string()).unwrap();
    sel.register(&c, R, "session c".to_string()).unwrap();
    let key = sel.unregister(&a).unwrap();
    assert_eq!(
        key,
        SelectorKey {
            fd: fd(&a),
            events: RW,
            data: "session a".to_string()
        }
    );
    send(&b, b"x");
    send(&d, b"y");
    let ready = sel.select(Some(BOUND)).unwrap();
    assert_eq!(
        checked(&sel, &ready),
        [("session c".to_string(), R)],
        "an unregistered fd was reported"
    );
}

/// unregister of an fd closed since it was registered succeeds (the kernel's
/// EBADF/ENOENT is swallowed) and returns the data; the selector goes on.
pub fn unregister_after_close_succeeds<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (a, _b) = pair();
    let (c, d) = pair();
    let n = fd(&a);
    sel.register(&a, R, 1).unwrap();
    sel.register(&c, R, 2).unwrap();
    drop(a);
    let key = sel.unregister(n).unwrap();
    assert_eq!((key.fd, key.data), (n, 1));
    assert!(!sel.get_map().contains(n));
    send(&d, b"x");
    assert_eq!(ready_soon(&mut sel), [(2, R)]);
}

/// unregister after the fd was closed and its number reused by another file
/// (dup2) succeeds; the new file can then be registered under that number
/// and only its own readiness is reported: never the old file's (on epoll,
/// the old file's registration survives in the kernel if the file is still
/// open elsewhere: this is why registrations carry a generation tag).
///
/// Intentional difference: CPython 3.11's EpollSelector fails this check;
/// it reports the closed file's readiness under the new key.
#[cfg(unix)]
pub fn unregister_after_close_and_dup2_reuse_succeeds<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (a, b) = pair();
    let n = fd(&a);
    sel.register(&a, R, 1).unwrap();
    send(&b, b"old"); // the old file is readable, and stays so
    let keep_old_file_open = a.try_clone().unwrap();
    let (c, d) = pair();
    // Close `n` and make it name `c`'s file, in one atomic step.
    let reused = dup2_onto(&c, a);
    assert_eq!(fd(&reused), n);
    let key = sel.unregister(n).unwrap();
    assert_eq!(key.data, 1);
    sel.register(&reused, R, 2).unwrap();
    assert_eq!(
        ready_now(&mut sel),
        [],
        "readiness of the closed file leaked into the new registration"
    );
    send(&d, b"new");
    assert_eq!(ready_soon(&mut sel), [(2, R)]);
    assert_eq!(drain(&reused).unwrap(), b"new");
    assert_eq!(drain(&keep_old_file_open).unwrap(), b"old");
    assert_eq!(ready_now(&mut sel), []);
}

/// unregister after the fd was closed and its number reused by a file that
/// epoll cannot watch (a regular file, `/dev/null`, a directory: `EPERM`)
/// succeeds and hands the data back, as Python's does (it swallows the
/// error); the selector goes on, and the number can be used again.
///
/// Issue 12, defect 4: epoll returned `EPERM` and kept the registration for
/// good.
#[cfg(unix)]
pub fn unregister_succeeds_when_the_number_names_an_unpollable_file<S: Selector<u32>>(
    new: fn() -> S,
) {
    let mut sel = new();
    let (c, d) = pair();
    sel.register(&c, R, 100).unwrap();
    let files = [
        regular_file(),
        std::fs::File::open("/dev/null").unwrap(),
        std::fs::File::open(std::env::temp_dir()).unwrap(),
    ];
    for (i, file) in files.iter().enumerate() {
        let (a, _b) = pair();
        let n = fd(&a);
        sel.register(&a, RW, i as u32).unwrap();
        // Close `n` and make it name `file`, atomically.
        let mut owned = OwnedFd::from(a);
        rustix::io::dup2(file, &mut owned).expect("dup2");
        let key = sel.unregister(n).expect("unregister of a reused number");
        assert_eq!((key.fd, key.events, key.data), (n, RW, i as u32));
        assert!(!sel.get_map().contains(n));
        assert!(matches!(
            sel.unregister(n),
            Err(Error::NotRegistered { .. })
        ));
        // Map and kernel agree: the number is free to register again (as
        // the file it names now, if the backend takes such files).
        let (e, _f) = pair();
        let mut owned_again = owned;
        rustix::io::dup2(&e, &mut owned_again).expect("dup2");
        sel.register(&owned_again, W, 50 + i as u32).unwrap();
        assert_eq!(ready_soon(&mut sel), [(50 + i as u32, W)]);
        sel.unregister(&owned_again).unwrap();
    }
    send(&d, b"x");
    assert_eq!(ready_soon(&mut sel), [(100, R)]);
}

/// Unregister then register again: the new events and data are reported,
/// nothing of the old registration.
pub fn reregister_reports_only_the_new_registration<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (a, b) = pair();
    sel.register(&a, R, 1).unwrap();
    sel.unregister(&a).unwrap();
    sel.register(&a, W, 2).unwrap();
    send(&b, b"x");
    assert_eq!(ready_soon(&mut sel), [(2, W)]);
    sel.unregister(&a).unwrap();
    sel.register(&a, R, 3).unwrap();
    assert_eq!(ready_soon(&mut sel), [(3, R)]);
}

// ------------------------------------------------------------------ modify

/// modify changes events and data, and select follows.
pub fn modify_changes_events_and_data<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (a, b) = pair();
    sel.register(&a, R, 1).unwrap();
    assert_eq!(ready_now(&mut sel), []);
    let key = *sel.modify(&a, W, 2).unwrap();
    assert_eq!((key.fd, key.events, key.data), (fd(&a), W, 2));
    assert_eq!(ready_soon(&mut sel), [(2, W)]);
    send(&b, b"x");
    sel.modify(&a, R, 3).unwrap();
    assert_eq!(ready_soon(&mut sel), [(3, R)]);
    sel.modify(&a, RW, 4).unwrap();
    assert_eq!(ready_soon(&mut sel), [(4, RW)]);
    assert_eq!(sel.get_map().len(), 1);
}

/// modify with unchanged events makes no system call. Proof: the fd is
/// closed behind the selector's back first; a syscall would fail (EBADF or
/// ENOENT on epoll/kqueue), yet the data-only modify succeeds and the map
/// has the new data. (poll and select never make one on modify.)
pub fn modify_same_events_makes_no_syscall<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (a, _b) = pair();
    let n = fd(&a);
    sel.register(&a, RW, 1).unwrap();
    drop(a);
    let key = *sel
        .modify(n, RW, 2)
        .expect("data-only modify made a syscall");
    assert_eq!((key.fd, key.events, key.data), (n, RW, 2));
    assert_eq!(sel.get_key(n).unwrap().data, 2);
    assert_eq!(sel.unregister(n).unwrap().data, 2);
}

/// modify with empty events is InvalidEvents and changes nothing: the key
/// keeps its events and data, and the kernel keeps reporting it.
///
/// Intentional difference: CPython's poll/epoll selectors accept events=0
/// (the key then never fires), and its SelectSelector unregisters the fd
/// before raising ValueError. We reject it and leave the registration as is.
pub fn modify_rejects_empty_events_and_changes_nothing<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (a, b) = pair();
    sel.register(&a, R, 1).unwrap();
    let err = sel.modify(&a, Events::EMPTY, 2).unwrap_err();
    assert!(
        matches!(err, Error::InvalidEvents { fd: f } if f == fd(&a)),
        "{err:?}"
    );
    assert_eq!(
        *sel.get_key(&a).unwrap(),
        SelectorKey {
            fd: fd(&a),
            events: R,
            data: 1
        }
    );
    send(&b, b"x");
    assert_eq!(ready_soon(&mut sel), [(1, R)]);
}

/// A modify the kernel refuses leaves map and kernel agreeing: either it
/// succeeded, or it failed with `Error::Os` naming the fd and (as in Python)
/// the fd is no longer registered anywhere. Provoked by closing the fd
/// behind the selector's back, then changing its events: epoll/kqueue fail
/// (EBADF/ENOENT); poll/select make no call and succeed.
pub fn modify_failure_leaves_map_and_kernel_consistent<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (a, _b) = pair();
    let (c, d) = pair();
    let n = fd(&a);
    sel.register(&a, R, 1).unwrap();
    sel.register(&c, R, 2).unwrap();
    drop(a);
    match sel.modify(n, W, 3).copied() {
        Ok(key) => {
            assert_eq!((key.events, key.data), (W, 3));
            assert_eq!(*sel.get_key(n).unwrap(), key);
            assert_eq!(sel.unregister(n).unwrap().data, 3);
        }
        Err(err) => {
            assert!(
                matches!(err, Error::Os { fd: Some(f), .. } if f == n),
                "{err:?}"
            );
            assert!(err.to_string().contains(&n.to_string()), "{err}");
            assert!(!sel.get_map().contains(n), "the map kept a refused modify");
            assert!(matches!(
                sel.unregister(n),
                Err(Error::NotRegistered { .. })
            ));
        }
    }
    assert_eq!(sel.get_map().len(), 1);
    assert_eq!(ready_now(&mut sel), []);
    send(&d, b"x");
    assert_eq!(ready_soon(&mut sel), [(2, R)]);
}

// ------------------------------------------------------- get_key / get_map

/// get_key and the read-only get_map (len, is_empty, get, contains, iter,
/// keys, values, Index, IntoIterator) follow every change.
pub fn get_key_and_get_map_track_registrations<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let pairs: Vec<_> = (0..3).map(|_| pair()).collect();
    assert!(sel.get_map().is_empty());
    for (i, (a, _)) in pairs.iter().enumerate() {
        sel.register(a, if i == 1 { W } else { R }, i as u32)
            .unwrap();
    }
    let (stranger, _s) = pair();
    let map = sel.get_map();
    assert_eq!(map.len(), 3);
    assert!(!map.is_empty());
    for (i, (a, _)) in pairs.iter().enumerate() {
        assert!(map.contains(a));
        assert_eq!(map.get(a).unwrap().data, i as u32);
        assert_eq!(map[a].fd, fd(a));
        assert_eq!(map[fd(a)].data, i as u32);
    }
    assert_eq!(map[&pairs[1].0].events, W);
    assert!(!map.contains(&stranger));
    assert!(map.get(&stranger).is_none());
    assert!(map.get(INVALID_FD).is_none());
    let mut keys: Vec<RawFd> = map.keys().collect();
    keys.sort_unstable();
    let mut expected: Vec<RawFd> = pairs.iter().map(|(a, _)| fd(a)).collect();
    expected.sort_unstable();
    assert_eq!(keys, expected);
    let mut data: Vec<u32> = map.values().map(|k| k.data).collect();
    data.sort_unstable();
    assert_eq!(data, [0, 1, 2]);
    assert_eq!(map.iter().len(), 3);
    assert!(map.iter().all(|k| map[k.fd] == *k));
    let mut walked = 0;
    for key in map {
        assert_eq!(sel.get_key(key.fd).unwrap(), key);
        walked += 1;
    }
    assert_eq!(walked, 3);

    sel.unregister(&pairs[0].0).unwrap();
    sel.modify(&pairs[2].0, RW, 20).unwrap();
    let map = sel.get_map();
    assert_eq!(map.len(), 2);
    assert!(!map.contains(&pairs[0].0));
    assert_eq!(map[&pairs[2].0].data, 20);
    assert_eq!(map[&pairs[2].0].events, RW);
    assert_eq!(sel.get_key(&pairs[1].0).unwrap().data, 1);
    assert_eq!(*sel.get_key(&pairs[2].0).unwrap(), map[&pairs[2].0]);
}

// ------------------------------------------------------------------ select

/// An fd ready for both READ and WRITE is one entry with both (CPython
/// gh-110038), not two.
pub fn read_and_write_merge_into_one_entry<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (a, b) = pair();
    sel.register(&a, RW, 1).unwrap();
    assert_eq!(ready_soon(&mut sel), [(1, W)]);
    send(&b, b"x");
    let ready = sel.select(Some(BOUND)).unwrap();
    assert_eq!(
        ready.len(),
        1,
        "READ and WRITE came as separate entries: {ready:?}"
    );
    assert_eq!(checked(&sel, &ready), [(1, RW)]);
}

/// Reported events are masked by the registration: a READ registration
/// never reports WRITE (a socket is nearly always writable), a WRITE one
/// never reports READ.
pub fn events_are_masked_by_registration<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (a, b) = pair();
    let (c, d) = pair();
    sel.register(&a, R, 1).unwrap();
    sel.register(&c, W, 2).unwrap();
    send(&d, b"input for c");
    assert_eq!(ready_soon(&mut sel), [(2, W)]);
    send(&b, b"input for a");
    assert_eq!(ready_soon(&mut sel), [(1, R), (2, W)]);
}

/// Hang-up counts as readable for a READ registration: the peer closing
/// wakes the reader, whose read then sees EOF. (Error and hang-up count as
/// both READ and WRITE, then masked, as in CPython.)
pub fn hang_up_counts_as_readable<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (a, b) = pair();
    let (c, d) = pair();
    sel.register(&a, R, 1).unwrap();
    sel.register(&c, R, 2).unwrap();
    assert_eq!(ready_now(&mut sel), []);
    drop(b);
    assert_eq!(ready_soon(&mut sel), [(1, R)]);
    assert_eq!(drain(&a), None, "expected EOF");
    // Data then hang-up: still one READ entry.
    send(&d, b"last words");
    drop(d);
    assert_eq!(ready_soon(&mut sel), [(1, R), (2, R)]);
    assert_eq!(drain(&c).unwrap(), b"last words");
}

/// Level-triggered, as Python's selectors: unread data is reported again by
/// the next select, and no longer once read.
pub fn readiness_is_level_triggered<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (a, b) = pair();
    sel.register(&a, R, 1).unwrap();
    send(&b, b"x");
    assert_eq!(ready_soon(&mut sel), [(1, R)]);
    assert_eq!(ready_soon(&mut sel), [(1, R)]);
    assert_eq!(drain(&a).unwrap(), b"x");
    assert_eq!(ready_now(&mut sel), []);
}

/// select_into clears the caller's buffer first, keeps its allocation, and
/// returns how many entries it wrote.
pub fn select_into_clears_and_reuses_the_buffer<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (a, b) = pair();
    sel.register(&a, R, 1).unwrap();
    let junk = SelectorKey {
        fd: 12345,
        events: RW,
        data: 99,
    };
    let mut buf: Vec<Ready<u32>> = Vec::with_capacity(16);
    buf.push((junk, RW));
    let ptr = buf.as_ptr();
    assert_eq!(sel.select_into(Some(Duration::ZERO), &mut buf).unwrap(), 0);
    assert!(buf.is_empty(), "stale entries left in the buffer: {buf:?}");
    send(&b, b"x");
    buf.push((junk, RW));
    assert_eq!(sel.select_into(Some(BOUND), &mut buf).unwrap(), 1);
    assert_eq!(checked(&sel, &buf), [(1, R)]);
    assert_eq!(buf.as_ptr(), ptr, "the buffer was reallocated");
    assert!(buf.capacity() >= 16);
}

/// Results are owned copies: a handler may register, modify and unregister
/// (itself and others) while walking them, as the spec's echo server does.
pub fn results_are_owned_so_handlers_can_mutate<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let streams: Vec<_> = (0..4).map(|_| pair()).collect();
    for (i, (a, b)) in streams.iter().enumerate() {
        sel.register(a, R, i as u32).unwrap();
        send(b, b"x");
    }
    let (late, late_peer) = pair();
    let ready = sel.select(Some(BOUND)).unwrap();
    assert_eq!(ready.len(), 4);
    for (key, events) in &ready {
        assert_eq!(*events, R);
        match key.data {
            0 => {
                sel.unregister(key.fd).unwrap();
            }
            1 => {
                sel.modify(key.fd, W, 10).unwrap();
            }
            2 => {
                // Unregister a fd that may come later in this same walk.
                sel.unregister(&streams[3].0).unwrap();
                sel.register(&late, R, 30).unwrap();
            }
            3 => {
                // Already unregistered by handler 2 (or not yet: order is
                // unspecified); either way the owned key is still readable.
                assert_eq!(key.fd, fd(&streams[3].0));
            }
            other => panic!("unexpected data {other}"),
        }
    }
    // Left: `streams[1].0` (now W), `streams[2].0` (R, unread) and `late`.
    send(&late_peer, b"y");
    assert!(!sel.get_map().contains(&streams[0].0));
    assert!(!sel.get_map().contains(&streams[3].0));
    assert_eq!(ready_soon(&mut sel), [(2, R), (10, W), (30, R)]);
}

// ------------------------------------------------- select_events: any data

/// Data that is neither `Clone` nor `Copy`: a connection's own socket and
/// an id, as a server would keep in the key's data.
#[derive(Debug)]
pub struct Conn {
    /// Which connection, for the assertions.
    pub id: u32,
    /// Its socket.
    pub sock: Stream,
}

impl Conn {
    fn new(id: u32, sock: &Stream) -> Conn {
        Conn {
            id,
            sock: sock.try_clone().unwrap(),
        }
    }
}

/// The `(id, events)` of every event whose registration is live, sorted,
/// after the checks every `select_events` result must pass: one event per
/// fd, events within the registration's, never empty.
fn live_events<S: Selector<Conn>>(sel: &S, events: &[Event]) -> Vec<(u32, Events)> {
    let mut fds: Vec<RawFd> = events.iter().map(Event::fd).collect();
    fds.sort_unstable();
    fds.dedup();
    assert_eq!(
        fds.len(),
        events.len(),
        "an fd was reported twice: {events:?}"
    );
    let mut out: Vec<(u32, Events)> = events
        .iter()
        .map(|ev| {
            let key = sel.key(ev).expect("a live registration");
            assert_eq!(key.fd, ev.fd());
            assert!(!ev.events().is_empty() && key.events.contains(ev.events()));
            assert_eq!(ev.is_readable(), ev.events().contains(R));
            assert_eq!(ev.is_writable(), ev.events().contains(W));
            (key.data.id, ev.events())
        })
        .collect();
    out.sort();
    out
}

/// `select_events` works for data that is not `Clone`: the data (here the
/// socket) is reached through the event, mutably, read from in place, and
/// READ and WRITE of one fd are one event masked by the registration.
pub fn select_events_hands_out_data_that_is_not_clone<S: Selector<Conn>>(new: fn() -> S) {
    let mut sel = new();
    let (a, a_peer) = pair();
    let (b, _b_peer) = pair();
    let (c, _c_peer) = pair();
    sel.register(&a, RW, Conn::new(1, &a)).unwrap();
    sel.register(&b, R, Conn::new(2, &b)).unwrap();
    sel.register(&c, W, Conn::new(3, &c)).unwrap();
    send(&a_peer, b"ping");
    let mut events = Vec::new();
    assert_eq!(sel.select_events(Some(BOUND), &mut events).unwrap(), 2);
    assert_eq!(live_events(&sel, &events), [(1, RW), (3, W)]);
    for ev in &events {
        let conn = sel.data_mut(ev).unwrap();
        if conn.id == 1 {
            assert_eq!(drain(&conn.sock).unwrap(), b"ping");
            conn.id = 10;
        }
    }
    assert_eq!(sel.get_map()[&a].data.id, 10);
    sel.select_events(Some(Duration::ZERO), &mut events)
        .unwrap();
    assert_eq!(live_events(&sel, &events), [(3, W), (10, W)]);
}

/// `select_events` clears the buffer and reuses its memory.
pub fn select_events_clears_and_reuses_the_buffer<S: Selector<Conn>>(new: fn() -> S) {
    let mut sel = new();
    let (a, _a_peer) = pair();
    sel.register(&a, W, Conn::new(1, &a)).unwrap();
    let mut events = Vec::with_capacity(16);
    sel.select_events(Some(BOUND), &mut events).unwrap();
    let stale = events[0];
    events.push(stale); // left over: cleared by the next select
    let before = events.as_ptr();
    assert_eq!(sel.select_events(Some(BOUND), &mut events).unwrap(), 1);
    assert_eq!(events, [stale]);
    assert_eq!(events.as_ptr(), before, "the buffer was reallocated");
    sel.modify_events(&a, R).unwrap();
    assert_eq!(
        sel.select_events(Some(Duration::ZERO), &mut events)
            .unwrap(),
        0
    );
    assert!(events.is_empty());
    assert!(events.capacity() >= 16);
}

/// The stale-entry rule (issue 15): a handler unregisters a connection
/// whose event comes later in the same walk, and the fd's number is at once
/// reused by a new connection, registered with new data. The later event
/// must reach neither: `data`, `data_mut` and `key` say `None`, although
/// `get_map()` has that fd number (the guard users wrote before is fooled,
/// see the next check). Unix only: it reuses the number with `dup2`.
#[cfg(unix)]
pub fn stale_event_finds_nothing_after_fd_reuse<S: Selector<Conn>>(new: fn() -> S) {
    let mut sel = new();
    let (a, a_peer) = pair();
    let (b, b_peer) = pair();
    let (c, c_peer) = pair();
    sel.register(&a, R, Conn::new(1, &a)).unwrap();
    sel.register(&b, R, Conn::new(2, &b)).unwrap();
    send(&a_peer, b"a");
    send(&b_peer, b"b");
    let mut events = Vec::new();
    assert_eq!(sel.select_events(Some(BOUND), &mut events).unwrap(), 2);
    let (first, later) = (events[0], events[1]);
    // The first handler closes the other connection; its number is reused
    // at once by a new one (dup2: atomically, so no other test's thread can
    // take it in between), which the handler registers.
    let victim = if sel.data(&first).unwrap().id == 1 {
        b
    } else {
        a
    };
    assert_eq!(fd(&victim), later.fd());
    sel.unregister(later.fd()).unwrap();
    let reused = dup2_onto(&c, victim);
    assert_eq!(fd(&reused), later.fd(), "the number was reused");
    sel.register(&reused, R, Conn::new(3, &reused)).unwrap();
    send(&c_peer, b"c");

    assert!(sel.get_map().contains(later.fd()));
    assert!(
        sel.data(&later).is_none(),
        "a stale event reached connection 3"
    );
    assert!(sel.data_mut(&later).is_none());
    assert!(sel.key(&later).is_none());
    // The first event is still live, and the new connection gets events of
    // its own.
    assert!(sel.data(&first).is_some());
    sel.select_events(Some(BOUND), &mut events).unwrap();
    let mut ids = live_events(&sel, &events);
    ids.retain(|&(id, _)| id == 3);
    assert_eq!(ids, [(3, R)]);
}

/// The same scenario through today's `select_into`: the owned entry of the
/// unregistered connection still carries its old data, and the only guard
/// that API allows, looking its fd up in `get_map()`, hands over the new
/// connection. This is what `select_events` fixes: with this API, the
/// previous check's `data(&later).is_none()` has no equivalent that passes.
#[cfg(unix)]
pub fn stale_entry_of_select_into_reaches_the_new_registration<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (a, a_peer) = pair();
    let (b, b_peer) = pair();
    let (c, _c_peer) = pair();
    sel.register(&a, R, 1).unwrap();
    sel.register(&b, R, 2).unwrap();
    send(&a_peer, b"a");
    send(&b_peer, b"b");
    let ready = sel.select(Some(BOUND)).unwrap();
    assert_eq!(ready.len(), 2);
    let (first, later) = (&ready[0].0, &ready[1].0);
    let victim = if first.data == 1 { b } else { a };
    assert_eq!(fd(&victim), later.fd);
    sel.unregister(later.fd).unwrap();
    let reused = dup2_onto(&c, victim);
    assert_eq!(fd(&reused), later.fd);
    sel.register(&reused, R, 3).unwrap();
    // The guard: "is this fd still registered? then use its key".
    let guarded = sel.get_map().get(later.fd).map(|key| key.data);
    assert_eq!(
        guarded,
        Some(3),
        "the stale entry reaches the new connection"
    );
}

/// Handlers register, modify and unregister while walking the events (the
/// buffer does not borrow the selector); events of registrations changed by
/// `modify` stay live, those of unregistered ones do not.
pub fn handlers_change_registrations_while_walking_events<S: Selector<Conn>>(new: fn() -> S) {
    let mut sel = new();
    let streams: Vec<_> = (0..4).map(|_| pair()).collect();
    for (i, (a, b)) in streams.iter().enumerate() {
        sel.register(a, R, Conn::new(i as u32, a)).unwrap();
        send(b, b"x");
    }
    let (late, late_peer) = pair();
    let mut events = Vec::new();
    assert_eq!(sel.select_events(Some(BOUND), &mut events).unwrap(), 4);
    for ev in &events {
        let Some(conn) = sel.data_mut(ev) else {
            // Only 3 can be gone: 2 unregisters it.
            assert_eq!(ev.fd(), fd(&streams[3].0));
            continue;
        };
        assert_eq!(drain(&conn.sock).unwrap(), b"x");
        match conn.id {
            0 => {
                sel.unregister(ev.fd()).unwrap();
            }
            1 => {
                sel.modify(ev.fd(), W, Conn::new(10, &streams[1].0))
                    .unwrap();
                assert_eq!(
                    sel.data(ev).unwrap().id,
                    10,
                    "modify keeps the registration"
                );
            }
            2 => {
                sel.unregister(&streams[3].0).unwrap();
                sel.register(&late, R, Conn::new(30, &late)).unwrap();
            }
            3 => {}
            other => panic!("unexpected data {other}"),
        }
    }
    assert!(events
        .iter()
        .all(|ev| sel.data(ev).map_or(true, |c| c.id != 0)));
    send(&late_peer, b"y");
    sel.select_events(Some(BOUND), &mut events).unwrap();
    assert_eq!(live_events(&sel, &events), [(10, W), (30, R)]);
}

/// `modify_events` changes only the events: the data stays (no clone, no
/// rebuild), so do the registration and its pending events; an empty mask
/// or an unregistered fd is refused as by `modify`.
pub fn modify_events_keeps_the_data<S: Selector<Conn>>(new: fn() -> S) {
    let mut sel = new();
    let (a, a_peer) = pair();
    sel.register(&a, R, Conn::new(1, &a)).unwrap();
    send(&a_peer, b"x");
    let mut events = Vec::new();
    sel.select_events(Some(BOUND), &mut events).unwrap();
    let key = sel.modify_events(&a, RW).unwrap();
    assert_eq!((key.fd, key.events, key.data.id), (fd(&a), RW, 1));
    assert_eq!(
        sel.data(&events[0]).unwrap().id,
        1,
        "the event is still live"
    );
    sel.select_events(Some(BOUND), &mut events).unwrap();
    assert_eq!(live_events(&sel, &events), [(1, RW)]);
    // Unchanged events: fine, nothing changes.
    assert_eq!(sel.modify_events(&a, RW).unwrap().data.id, 1);
    assert!(matches!(
        sel.modify_events(&a, Events::EMPTY),
        Err(Error::InvalidEvents { .. })
    ));
    assert_eq!(sel.get_map()[&a].events, RW);
    let (b, _b_peer) = pair();
    assert!(matches!(
        sel.modify_events(&b, R),
        Err(Error::NotRegistered { .. })
    ));
    assert!(matches!(
        sel.modify_events(INVALID_FD, R),
        Err(Error::InvalidFd { fd }) if fd == INVALID_FD
    ));
    assert_eq!(drain(&sel.unregister(&a).unwrap().data.sock).unwrap(), b"x");
}

// ---------------------------------------------------------------- timeouts

/// `Some(ZERO)` polls: it returns at once when nothing is ready.
pub fn zero_timeout_returns_at_once<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (a, _b) = pair();
    sel.register(&a, R, 1).unwrap();
    let start = Instant::now();
    for _ in 0..10 {
        assert_eq!(ready_now(&mut sel), []);
    }
    assert!(start.elapsed() < BOUND, "zero timeouts blocked");
}

/// A positive timeout waits at least that long when nothing gets ready
/// (and returns within a generous bound).
pub fn positive_timeout_waits_at_least_that_long<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (a, _b) = pair();
    sel.register(&a, R, 1).unwrap();
    let timeout = Duration::from_millis(120);
    let start = Instant::now();
    let ready = sel.select(Some(timeout)).unwrap();
    let elapsed = start.elapsed();
    assert!(ready.is_empty(), "{ready:?}");
    assert!(
        elapsed >= timeout,
        "returned after {elapsed:?} < {timeout:?}"
    );
    assert!(elapsed < BOUND, "returned after {elapsed:?}");
}

/// A sub-millisecond timeout is rounded up, never down to a busy poll.
pub fn sub_millisecond_timeout_is_not_rounded_to_zero<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (a, _b) = pair();
    sel.register(&a, R, 1).unwrap();
    let timeout = Duration::from_micros(300);
    for _ in 0..3 {
        let start = Instant::now();
        assert!(sel.select(Some(timeout)).unwrap().is_empty());
        let elapsed = start.elapsed();
        assert!(elapsed >= timeout, "300 us became {elapsed:?}");
        assert!(elapsed < BOUND);
    }
}

/// An empty selector honours its timeout: it neither returns at once nor
/// blocks forever (CPython's SelectSelector special-cases this on Windows).
pub fn empty_selector_honours_its_timeout<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    assert!(sel.select(Some(Duration::ZERO)).unwrap().is_empty());
    // Less than a millisecond, too: never rounded down to a busy poll.
    let short = Duration::from_micros(300);
    let start = Instant::now();
    assert!(sel.select(Some(short)).unwrap().is_empty());
    let elapsed = start.elapsed();
    assert!((short..BOUND).contains(&elapsed), "300 us: {elapsed:?}");
    let timeout = Duration::from_millis(100);
    let start = Instant::now();
    assert!(sel.select(Some(timeout)).unwrap().is_empty());
    let elapsed = start.elapsed();
    assert!(
        elapsed >= timeout,
        "empty selector returned after {elapsed:?}"
    );
    assert!(elapsed < BOUND, "empty selector returned after {elapsed:?}");
    // Same once everything registered has been unregistered again.
    let (a, _b) = pair();
    sel.register(&a, R, 1).unwrap();
    sel.unregister(&a).unwrap();
    let start = Instant::now();
    assert!(sel.select(Some(timeout)).unwrap().is_empty());
    assert!((timeout..BOUND).contains(&start.elapsed()));
}

/// `None` blocks until an fd gets ready (here, written by another thread).
pub fn none_blocks_until_ready<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (a, b) = pair();
    sel.register(&a, R, 1).unwrap();
    let delay = Duration::from_millis(100);
    let start = Instant::now();
    let writer = thread::spawn(move || {
        thread::sleep(delay);
        send(&b, b"wake up");
        b
    });
    let ready = sel.select(None).unwrap();
    let elapsed = start.elapsed();
    assert_eq!(checked(&sel, &ready), [(1, R)]);
    assert!(elapsed >= delay, "select(None) returned after {elapsed:?}");
    let _b = writer.join().unwrap();
}

/// A huge timeout (`Duration::MAX`) neither overflows nor is refused: with
/// a ready fd it returns it, and otherwise it blocks until one gets ready.
pub fn huge_timeout_does_not_overflow<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (a, b) = pair();
    sel.register(&a, W, 1).unwrap();
    assert_eq!(ready_within(&mut sel, Some(Duration::MAX)), [(1, W)]);
    sel.modify(&a, R, 2).unwrap();
    let start = Instant::now();
    let writer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        send(&b, b"x");
        b
    });
    let huge = [
        Duration::MAX,
        Duration::from_secs(u64::MAX / 1000),
        Duration::from_secs(1 << 33),
    ];
    let ready = sel.select(Some(huge[0])).unwrap();
    assert_eq!(checked(&sel, &ready), [(2, R)]);
    assert!(start.elapsed() < BOUND);
    let _b = writer.join().unwrap();
    for t in huge {
        assert_eq!(ready_within(&mut sel, Some(t)), [(2, R)]);
    }
}

/// A real SIGALRM during a `select(Some(30 s))` makes it return early with
/// an empty result, not an error, and not restart with the stale timeout.
///
/// The handler is installed without SA_RESTART; a helper thread sends
/// SIGALRM to the selecting thread every 50 ms until select has returned,
/// so the signal cannot be lost to the race before the thread blocks.
///
/// Intentional difference: CPython 3.11 follows PEP 475 and retries the
/// wait (its `select(1.0)` interrupted at 0.1 s returns after 1.0 s); we do
/// what the spec's note says and return the empty result at once.
#[cfg(unix)]
pub fn signal_returns_empty_result_early<S: Selector<u32>>(new: fn() -> S) {
    install_sigalrm_handler();
    let mut sel = new();
    let (a, _b) = pair();
    sel.register(&a, R, 1).unwrap();
    // SAFETY: pthread_self has no preconditions.
    // Carried as an integer: `pthread_t` is a pointer (not Send) on musl.
    let target = unsafe { libc::pthread_self() } as usize;
    let done = Arc::new(AtomicBool::new(false));
    let killer = {
        let done = Arc::clone(&done);
        thread::spawn(move || {
            let mut sent = 0u32;
            // Give up after 2 s, so a backend that restarts the wait fails
            // the test after 30 s instead of hanging it.
            let give_up = Instant::now() + Duration::from_secs(2);
            while !done.load(Ordering::SeqCst) && Instant::now() < give_up {
                thread::sleep(Duration::from_millis(50));
                if done.load(Ordering::SeqCst) {
                    break;
                }
                // SAFETY: `target` is the selecting thread, which stays
                // alive until it has joined this one.
                let rc = unsafe { libc::pthread_kill(target as libc::pthread_t, libc::SIGALRM) };
                assert_eq!(rc, 0, "pthread_kill");
                sent += 1;
            }
            sent
        })
    };
    let start = Instant::now();
    let result = sel.select(Some(Duration::from_secs(30)));
    let elapsed = start.elapsed();
    done.store(true, Ordering::SeqCst);
    let sent = killer.join().unwrap();
    let ready = result.expect("a signal surfaced as an error");
    assert!(ready.is_empty(), "{ready:?}");
    assert!(sent >= 1, "no signal was sent");
    assert!(
        elapsed < BOUND,
        "select restarted after the signal: {elapsed:?}"
    );
    // The selector still works afterwards.
    sel.modify(&a, W, 2).unwrap();
    assert_eq!(ready_soon(&mut sel), [(2, W)]);
}

// ------------------------------------------------------------------- scale

/// More than 1024 fds registered (on every backend, select(2) included):
/// readiness of fds above FD_SETSIZE is reported, exactly.
pub fn more_than_1024_fds_select_included<S: Selector<u32>>(new: fn() -> S) {
    assert!(raise_nofile(u64::MAX) >= 4096, "RLIMIT_NOFILE too low");
    let mut sel = new();
    let pairs: Vec<_> = (0..700).map(|_| pair()).collect();
    let mut ends: Vec<(&Stream, &Stream)> = Vec::new();
    for (a, b) in &pairs {
        ends.push((a, b));
        ends.push((b, a));
    }
    for (i, (end, _)) in ends.iter().enumerate() {
        sel.register(*end, R, i as u32).unwrap();
    }
    assert_eq!(sel.get_map().len(), 1400);
    // On Windows, where FD_SETSIZE counts entries (64), not the highest
    // number, 1,400 sockets are far beyond it too.
    assert!(
        ends.iter().any(|(end, _)| fd(*end) > 1024),
        "no fd above 1024 was opened"
    );
    assert_eq!(ready_now(&mut sel), []);
    // Make the highest-numbered fds ready, plus a few low ones.
    let mut order: Vec<usize> = (0..ends.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(fd(ends[i].0)));
    let mut chosen: Vec<usize> = order[..20].to_vec();
    chosen.extend(order[order.len() - 3..].iter().copied());
    assert!(chosen.iter().any(|&i| fd(ends[i].0) > 1024));
    for &i in &chosen {
        send(ends[i].1, b"x");
    }
    let mut expected: Vec<(u32, Events)> = chosen.iter().map(|&i| (i as u32, R)).collect();
    expected.sort();
    assert_eq!(ready_soon(&mut sel), expected);
    for &i in &chosen {
        assert_eq!(drain(ends[i].0).unwrap(), b"x");
    }
    assert_eq!(ready_now(&mut sel), []);
    // And WRITE on the highest fd of all.
    sel.modify(ends[order[0]].0, W, 9999).unwrap();
    assert_eq!(ready_soon(&mut sel), [(9999, W)]);
    for (end, _) in &ends {
        sel.unregister(*end).unwrap();
    }
    assert!(sel.get_map().is_empty());
}

/// Registrations churned at random (register, modify, unregister, in any
/// order) never confuse the selector: after every step, `select` reports
/// exactly the registered ends ready for what they are registered for.
/// Arrays kept parallel to the map (poll's, Windows select's lists) mirror
/// its `swap_remove`s: a slip there loses or misplaces a registration.
pub fn churn_keeps_results_exact<S: Selector<u32>>(new: fn() -> S) {
    let pairs: Vec<_> = (0..12).map(|_| pair()).collect();
    // Every end is writable; the even ones are readable too, once the byte
    // each is sent has arrived.
    let mut probe = new();
    for (i, (a, b)) in pairs.iter().enumerate().step_by(2) {
        send(b, b"x");
        probe.register(a, R, i as u32).unwrap();
    }
    let deadline = Instant::now() + BOUND;
    while ready_within(&mut probe, Some(BOUND)).len() < 6 {
        assert!(Instant::now() < deadline, "the bytes did not arrive");
    }
    let ready_for = |i: usize| if i % 2 == 0 { RW } else { W };

    let mut sel = new();
    let choices = [R, W, RW];
    let mut rng = XorShift::new(0x2545_f491);
    for _ in 0..1_000 {
        let i = rng.below(pairs.len() as u64) as usize;
        let (a, _) = &pairs[i];
        let events = choices[rng.below(3) as usize];
        if !sel.get_map().contains(a) {
            sel.register(a, events, i as u32).unwrap();
        } else if rng.below(2) == 0 {
            sel.unregister(a).unwrap();
        } else {
            sel.modify(a, events, i as u32).unwrap();
        }
        let mut expected: Vec<(u32, Events)> = sel
            .get_map()
            .iter()
            .map(|key| (key.data, key.events & ready_for(key.data as usize)))
            .filter(|(_, events)| !events.is_empty())
            .collect();
        expected.sort();
        assert_eq!(ready_now(&mut sel), expected);
    }
}

/// The spec's echo pattern on 12 socketpairs: clients write on some,
/// select reports exactly those, handlers read and switch to WRITE to
/// reply, clients read the replies; a closing client reads as EOF and its
/// handler unregisters it. Every ready set is checked exactly.
pub fn twelve_socketpair_exchange<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let mut servers = Vec::new();
    let mut clients = Vec::new();
    for i in 0..12u32 {
        let (server, client) = pair();
        sel.register(&server, R, i).unwrap();
        servers.push(Some(server));
        clients.push(Some(client));
    }
    let hung_up_fd = fd(servers[4].as_ref().unwrap());
    assert_eq!(ready_now(&mut sel), []);
    let rounds: [&[u32]; 3] = [&[0, 3, 5, 11], &[1, 2, 3, 7, 8, 9, 10], &[0, 6]];
    for (round, writers) in rounds.iter().enumerate() {
        for &i in *writers {
            let msg = format!("ping {i} {round}");
            send(clients[i as usize].as_ref().unwrap(), msg.as_bytes());
        }
        // In round 1, client 4 hangs up: its server reads EOF.
        let mut expected: Vec<(u32, Events)> = writers.iter().map(|&i| (i, R)).collect();
        if round == 1 {
            clients[4] = None;
            expected.push((4, R));
            expected.sort();
        }
        let ready = sel.select(Some(BOUND)).unwrap();
        assert_eq!(checked(&sel, &ready), expected, "round {round}");
        for (key, events) in ready {
            assert_eq!(events, R);
            let i = key.data as usize;
            match drain(servers[i].as_ref().unwrap()) {
                Some(msg) => {
                    assert_eq!(msg, format!("ping {i} {round}").into_bytes());
                    sel.modify(key.fd, W, key.data).unwrap();
                }
                None => {
                    sel.unregister(key.fd).unwrap();
                    servers[i] = None;
                }
            }
        }
        let expected: Vec<(u32, Events)> = writers.iter().map(|&i| (i, W)).collect();
        let ready = sel.select(Some(BOUND)).unwrap();
        assert_eq!(checked(&sel, &ready), expected, "round {round} replies");
        for (key, _) in ready {
            let i = key.data as usize;
            send(
                servers[i].as_ref().unwrap(),
                format!("pong {i} {round}").as_bytes(),
            );
            sel.modify(key.fd, R, key.data).unwrap();
        }
        for &i in *writers {
            let reply = drain(clients[i as usize].as_ref().unwrap()).unwrap();
            assert_eq!(reply, format!("pong {i} {round}").into_bytes());
        }
        assert_eq!(ready_now(&mut sel), [], "round {round} leftovers");
    }
    assert_eq!(sel.get_map().len(), 11);
    assert!(!sel.get_map().contains(hung_up_fd));
    assert!(sel.get_map().values().all(|key| key.data != 4));
}

// ---------------------------------------------------- kernel, fd kinds, life

/// A registration the kernel may refuse (a regular file: EPERM on epoll;
/// poll and select accept it and report it always ready, as CPython's do;
/// on Windows, where only sockets are taken, every backend refuses it)
/// either succeeds and reports ready, or fails with `Error::Os` naming the
/// fd and leaves nothing in the map.
pub fn kernel_refusal_leaves_no_trace<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let file = regular_file();
    let n = file_fd(&file);
    let (a, b) = pair();
    sel.register(&a, R, 2).unwrap();
    match sel.register(n, R, 1).copied() {
        Ok(key) if cfg!(windows) => panic!("Windows took a file: {key:?}"),
        Ok(key) => {
            assert_eq!(key.fd, n);
            assert_eq!(ready_soon(&mut sel), [(1, R)]);
            sel.unregister(n).unwrap();
        }
        Err(err) => {
            assert!(
                matches!(err, Error::Os { fd: Some(f), .. } if f == n),
                "{err:?}"
            );
            assert_eq!(err.fd(), Some(n));
            assert!(err.to_string().contains(&format!("fd {n}")), "{err}");
            assert!(!sel.get_map().contains(n));
            assert!(matches!(sel.get_key(n), Err(Error::NotRegistered { .. })));
            // Nothing half-registered: registering it again fails the same
            // way, not with AlreadyRegistered.
            let again = sel.register(n, R, 1).unwrap_err();
            assert!(matches!(again, Error::Os { .. }), "{again:?}");
        }
    }
    assert_eq!(sel.get_map().len(), 1);
    send(&b, b"x");
    assert_eq!(ready_soon(&mut sel), [(2, R)]);
}

/// Pipes: the read end registers for READ, the write end for WRITE; closing
/// the write end reads as EOF.
#[cfg(unix)]
pub fn pipes_work<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (r, w) = pipe();
    sel.register(&r, R, 1).unwrap();
    sel.register(&w, W, 2).unwrap();
    assert_eq!(ready_soon(&mut sel), [(2, W)]);
    send(&w, b"through the pipe");
    assert_eq!(ready_soon(&mut sel), [(1, R), (2, W)]);
    assert_eq!(drain(&r).unwrap(), b"through the pipe");
    assert_eq!(ready_soon(&mut sel), [(2, W)]);
    sel.unregister(&w).unwrap();
    drop(w);
    assert_eq!(ready_soon(&mut sel), [(1, R)]);
    assert_eq!(drain(&r), None, "expected EOF");
}

/// TCP on 127.0.0.1: a listener is readable when a connection waits to be
/// accepted; the accepted stream is writable, then readable.
pub fn tcp_accept_readiness<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    sel.register(&listener, R, 0).unwrap();
    assert_eq!(ready_now(&mut sel), []);
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    assert_eq!(ready_soon(&mut sel), [(0, R)]);
    let (conn, _) = listener.accept().unwrap();
    conn.set_nonblocking(true).unwrap();
    assert_eq!(ready_now(&mut sel), []);
    sel.register(&conn, W, 1).unwrap();
    assert_eq!(ready_soon(&mut sel), [(1, W)]);
    client.write_all(b"hello").unwrap();
    sel.modify(&conn, R, 2).unwrap();
    assert_eq!(ready_soon(&mut sel), [(2, R)]);
    assert_eq!(drain(&conn).unwrap(), b"hello");
    drop(client);
    assert_eq!(ready_soon(&mut sel), [(2, R)]);
    assert_eq!(drain(&conn), None);
}

/// A non-blocking `connect` is WRITE once it completes, and also when it
/// fails, with the error in `SO_ERROR`: on Windows a failed connect is only
/// in `select`'s except set (which is why CPython passes the write list as
/// the except list too); on Unix it is POLLOUT with POLLERR.
pub fn connect_completion_is_writable_and_failure_too<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let ok = connecting(listener.local_addr().unwrap());
    // A port nobody listens on: bind one, then free it.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let refused = connecting(closed);
    sel.register(&ok, W, 1).unwrap();
    sel.register(&refused, W, 2).unwrap();
    // Windows retries a refused SYN for about a second before it gives up.
    let deadline = Instant::now() + BOUND * 2;
    let mut ready = Vec::new();
    while ready.len() < 2 && Instant::now() < deadline {
        ready = ready_within(&mut sel, Some(BOUND * 2));
    }
    assert_eq!(ready, [(1, W), (2, W)]);
    assert!(ok.take_error().unwrap().is_none());
    let err = refused.take_error().unwrap().expect("SO_ERROR is set");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
}

/// Windows selectors take sockets only (the spec: "on Windows, sockets are
/// supported, but not pipes"): a pipe is refused with `Error::Os` naming its
/// handle (WSAENOTSOCK), and leaves nothing in the map; the selector goes on.
#[cfg(windows)]
// Tests are not held to the MSRV (`cargo xtask msrv` checks the libraries).
#[allow(clippy::incompatible_msrv)]
pub fn non_socket_handles_are_refused_and_leave_no_trace<S: Selector<u32>>(new: fn() -> S) {
    use std::os::windows::io::AsRawHandle;
    let mut sel = new();
    let (reader, writer) = io::pipe().unwrap();
    let (a, b) = pair();
    sel.register(&a, R, 1).unwrap();
    for handle in [reader.as_raw_handle(), writer.as_raw_handle()] {
        let n = handle as RawFd;
        let err = sel.register(n, RW, 2).unwrap_err();
        assert!(
            matches!(err, Error::Os { fd: Some(f), .. } if f == n),
            "{err:?}"
        );
        assert!(
            err.to_string().contains(&format!("on fd {n} failed")),
            "{err}"
        );
        assert_eq!(err.raw_os_error(), Some(10038), "WSAENOTSOCK: {err}");
        assert!(!sel.get_map().contains(n));
        assert!(matches!(sel.get_key(n), Err(Error::NotRegistered { .. })));
    }
    assert_eq!(sel.get_map().len(), 1);
    send(&b, b"x");
    assert_eq!(ready_soon(&mut sel), [(1, R)]);
}

/// A registered socket closed behind the selector's back: the next
/// `select` reports it (`WSAPoll`'s documented `POLLNVAL`), skips it
/// (`WSAPoll` under Wine, while another socket is open), or fails with an
/// error naming it (Winsock `select` fails the whole call with
/// WSAENOTSOCK); unregistering it succeeds and the selector goes on. Alone
/// in a child process: another thread's socket would take the closed
/// handle's value.
#[cfg(windows)]
pub fn closed_socket_is_reported_or_named<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (a, _b) = pair();
    let (c, d) = pair();
    sel.register(&c, R, 1).unwrap();
    let n = fd(&a);
    sel.register(&a, R, 2).unwrap();
    drop(a);
    match sel.select(Some(Duration::ZERO)) {
        Ok(ready) => {
            let ready = checked(&sel, &ready);
            assert!(ready.is_empty() || ready == [(2, R)], "{ready:?}");
        }
        Err(err) => {
            assert_eq!(err.fd(), Some(n), "{err}");
            assert_eq!(err.raw_os_error(), Some(10038), "WSAENOTSOCK: {err}");
        }
    }
    sel.unregister(n).unwrap();
    assert_eq!(ready_now(&mut sel), []);
    send(&d, b"x");
    assert_eq!(ready_soon(&mut sel), [(1, R)]);
}

/// close() consumes the selector and succeeds.
pub fn close_succeeds<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (a, b) = pair();
    sel.register(&a, RW, 1).unwrap();
    sel.close().unwrap();
    new().close().unwrap();
    // The registered fds are the caller's: still open and working.
    send(&b, b"x");
    assert_eq!(drain(&a).unwrap(), b"x");
}

/// Dropping a selector with registrations releases it and leaves the
/// registered fds open; a new selector can register them again.
pub fn drop_leaves_registered_fds_open<S: Selector<u32>>(new: fn() -> S) {
    let (a, b) = pair();
    for round in 0..50 {
        let mut sel = new();
        sel.register(&a, R, round).unwrap();
        sel.register(&b, W, round).unwrap();
        drop(sel);
    }
    let mut sel = new();
    sel.register(&a, R, 1).unwrap();
    send(&b, b"x");
    assert_eq!(ready_soon(&mut sel), [(1, R)]);
    assert_eq!(drain(&a).unwrap(), b"x");
}

// ------------------------------------------------------------------ waker
// These run in a child process of their own (see `@child_checks`), where
// no other thread opens fds, so the numbers the selector takes are known.

/// Checks that `waker` ends a long `select` at once with nothing reported,
/// and that the `select` after it waits out its timeout (the wake was
/// drained).
fn assert_wakes_once<S: Selector<u32>>(sel: &mut S, waker: &io_selectors::Waker) {
    waker.wake().unwrap();
    let start = Instant::now();
    let ready = sel.select(Some(BOUND * 2)).unwrap();
    assert_eq!(checked(sel, &ready), [], "a wake was reported as an fd");
    assert!(start.elapsed() < BOUND, "the wake did not end the select");
    let timeout = Duration::from_millis(100);
    let start = Instant::now();
    assert_eq!(ready_within(sel, Some(timeout)), []);
    assert!(start.elapsed() >= timeout, "a drained waker still woke");
}

/// The waker's own fd cannot be registered (only a raw number can name
/// it): AlreadyRegistered, as if it were, and wakes are never reported as
/// some registration's readiness.
///
/// Issue 12, defect 3: poll accepted it and reported it READ on every wake
/// (epoll refused it with EEXIST).
#[cfg(unix)]
pub fn waker_fd_cannot_be_registered<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let before = open_fds();
    let waker = sel.waker().unwrap();
    let created: Vec<RawFd> = open_fds()
        .into_iter()
        .filter(|n| !before.contains(n))
        .collect();
    let mut refused = 0;
    for &n in &created {
        match sel.register(n, R, 7) {
            Err(Error::AlreadyRegistered { fd }) => {
                assert_eq!(fd, n);
                refused += 1;
            }
            // The other end of a socket-pair waker: never readable.
            Ok(_) => {}
            Err(err) => panic!("register of the waker's fd {n}: {err:?}"),
        }
    }
    // A waker with an fd of its own has that fd refused (kqueue's user
    // knote has none).
    assert!(
        created.is_empty() || refused >= 1,
        "{created:?} all accepted"
    );
    assert_wakes_once(&mut sel, &waker);
    assert_wakes_once(&mut sel, &waker);
}

/// A waker created after a registered fd was closed behind the selector's
/// back never takes that number (the kernel hands out the lowest free
/// one), so the dead registration's unregister cannot touch the waker.
///
/// Issue 12, defect 6: the waker took the number; `unregister` then deleted
/// the eventfd from epoll's interest list, cleared the waker's bit in
/// select's read set (wakes no longer ended a select), and poll reported
/// the wakes as READ of the dead registration.
#[cfg(unix)]
pub fn waker_never_takes_a_registered_number<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (c, d) = pair();
    sel.register(&c, R, 100).unwrap();
    let (a, b) = pair();
    let (n, peer) = (fd(&a), fd(&b));
    sel.register(&a, R, 1).unwrap();
    // Free both numbers of the pair: a socket-pair waker takes two.
    drop((a, b));
    assert!(!is_open(n) && !is_open(peer));
    let waker = sel.waker().unwrap();
    assert!(!is_open(n), "the waker took the registered number {n}");
    assert_eq!(sel.unregister(n).unwrap().data, 1);
    assert_wakes_once(&mut sel, &waker);
    send(&d, b"x");
    assert_eq!(ready_soon(&mut sel), [(100, R)]);
    drain(&c);
    assert_wakes_once(&mut sel, &waker);
}

// ------------------------------------------------------------------- fork

/// Runs `child` in a `fork(2)`ed process and returns whether it passed
/// (returned without panicking). Only in a child process of the test
/// binary (see `@child_checks`), where no other thread of ours runs.
#[cfg(unix)]
fn forked(child: impl FnOnce()) -> bool {
    // SAFETY: this process runs only the test's thread (libtest's main
    // thread waits for it, holding no lock), so the forked child inherits
    // no lock held by another thread; it leaves with `_exit`, running no
    // destructor or atexit handler of the parent's.
    unsafe {
        match libc::fork() {
            -1 => panic!("fork: {}", io::Error::last_os_error()),
            0 => {
                let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).is_ok();
                libc::_exit(if ok { 0 } else { 1 });
            }
            pid => {
                let mut status = 0;
                assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
                libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
            }
        }
    }
}

/// After a real `fork`, `after_fork_in_child` gives the child a selector of
/// its own: its `unregister` leaves the parent's registration alone, its new
/// waker wakes it, and a waker from before the fork no longer does (it
/// wakes the parent's). Without it, on epoll, the child's unregister would
/// remove the parent's registration (as in CPython).
#[cfg(unix)]
pub fn fork_child_gets_a_clean_start<S: Selector<u32>>(new: fn() -> S) {
    let mut sel = new();
    let (a, b) = pair();
    let (c, d) = pair();
    sel.register(&a, R, 1).unwrap();
    sel.register(&c, R, 2).unwrap();
    let waker = sel.waker().unwrap();
    let passed = forked(|| {
        sel.after_fork_in_child().unwrap();
        assert_eq!(sel.get_map().len(), 2);
        // The old waker is the parent's now.
        waker.wake().unwrap();
        let timeout = Duration::from_millis(100);
        let start = Instant::now();
        assert_eq!(ready_within(&mut sel, Some(timeout)), []);
        assert!(
            start.elapsed() >= timeout,
            "the parent's waker woke the child"
        );
        let own = sel.waker().unwrap();
        assert!(!own.will_wake(&waker));
        assert_wakes_once(&mut sel, &own);
        // The registrations work, and are the child's own.
        send(&b, b"x");
        assert_eq!(ready_soon(&mut sel), [(1, R)]);
        assert_eq!(sel.unregister(&c).unwrap().data, 2);
        assert_eq!(sel.unregister(&a).unwrap().data, 1);
    });
    assert!(
        passed,
        "the forked child failed (its panic is printed above)"
    );
    // The parent's selector is untouched: both registrations, and the wake
    // the child sent with the old waker, which ends this select early.
    assert_eq!(sel.get_map().len(), 2);
    send(&d, b"y");
    assert_eq!(ready_soon(&mut sel), [(1, R), (2, R)]);
    assert_eq!(drain(&a).unwrap(), b"x");
    assert_eq!(drain(&c).unwrap(), b"y");
    assert_eq!(ready_now(&mut sel), []);
}
