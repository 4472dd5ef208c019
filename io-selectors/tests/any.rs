//! `AnySelector` and `Backend`: run-time choice, parsing, dispatch.
#![cfg(unix)]

use std::io::{self, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use io_selectors::{AnySelector, Backend, Events, Selector};

mod support;

#[test]
fn names_round_trip_case_insensitively() {
    for backend in [
        Backend::Select,
        Backend::Poll,
        Backend::Epoll,
        Backend::Kqueue,
        Backend::Iocp,
    ] {
        let name = backend.to_string();
        assert_eq!(name, backend.name());
        assert_eq!(name.parse::<Backend>(), Ok(backend));
        assert_eq!(name.to_uppercase().parse::<Backend>(), Ok(backend));
        assert_eq!(format!(" {name}\n").parse::<Backend>(), Ok(backend));
    }
    assert_eq!("ePoLl".parse::<Backend>(), Ok(Backend::Epoll));
}

#[test]
fn unknown_names_list_the_valid_and_the_available_ones() {
    let err = "devpoll".parse::<Backend>().unwrap_err();
    let available: Vec<_> = Backend::available().iter().map(|b| b.name()).collect();
    // A build without backends says so.
    let available = match available.join(", ") {
        none if none.is_empty() => "none".to_owned(),
        names => names,
    };
    assert_eq!(
        err.to_string(),
        format!(
            "unknown selector backend \"devpoll\": expected select, poll, epoll, kqueue or iocp \
             (available here: {available})"
        )
    );
    assert!("".parse::<Backend>().is_err());
    assert!("poll2".parse::<Backend>().is_err());
}

#[cfg(all(
    target_os = "linux",
    feature = "epoll",
    feature = "poll",
    feature = "select"
))]
#[test]
fn linux_has_epoll_poll_select_in_cpython_order() {
    assert_eq!(
        Backend::available(),
        [Backend::Epoll, Backend::Poll, Backend::Select]
    );
    assert!(!Backend::Kqueue.is_available());
}

/// Apple and the BSDs: kqueue first, as CPython's `DefaultSelector`
/// (type-checked by the cross-target clippy; run only on those systems).
#[cfg(any(
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]
#[test]
fn kqueue_targets_have_kqueue_first() {
    assert_eq!(Backend::available()[0], Backend::Kqueue);
    assert!(!Backend::Epoll.is_available());
    let sel = AnySelector::<()>::new().unwrap();
    assert_eq!(sel.backend(), Backend::Kqueue);
    assert!(format!("{sel:?}").contains("KqueueSelector"), "{sel:?}");
}

#[test]
fn new_picks_the_first_available_backend() {
    // No sandbox refuses anything here, so the probe keeps the best one.
    match Backend::available().first() {
        Some(&best) => assert_eq!(AnySelector::<()>::new().unwrap().backend(), best),
        None => {
            let err = AnySelector::<()>::new().unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::Unsupported);
            assert!(err.to_string().contains("available: none"), "{err}");
        }
    }
}

#[test]
fn with_backend_builds_each_available_backend() {
    for &backend in Backend::available() {
        let mut sel = AnySelector::with_backend(backend).unwrap();
        assert_eq!(sel.backend(), backend);
        let (a, mut b) = UnixStream::pair().unwrap();
        sel.register(&a, Events::READ, backend).unwrap();
        b.write_all(b"x").unwrap();
        let ready = sel.select(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(ready.len(), 1, "{backend}");
        assert_eq!((ready[0].0.data, ready[0].1), (backend, Events::READ));
        assert_eq!(sel.get_key(&a).unwrap().data, backend);
        sel.modify(&a, Events::WRITE, backend).unwrap();
        assert_eq!(sel.unregister(&a).unwrap().events, Events::WRITE);
        assert!(format!("{sel:?}").starts_with("AnySelector("), "{sel:?}");
        sel.close().unwrap();
    }
}

#[test]
fn with_backend_refuses_a_backend_missing_here() {
    let missing = [
        Backend::Select,
        Backend::Poll,
        Backend::Epoll,
        Backend::Kqueue,
        Backend::Iocp,
    ]
    .into_iter()
    .find(|b| !b.is_available());
    let Some(missing) = missing else { return };
    let err = AnySelector::<()>::with_backend(missing).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Unsupported);
    let msg = err.to_string();
    assert!(msg.contains(&format!(
        "the {missing} selector backend is not available here"
    )));
    for available in Backend::available() {
        assert!(msg.contains(available.name()), "{msg}");
    }
}

#[test]
fn is_send_and_sync_when_data_is() {
    fn check<S: Send + Sync>() {}
    check::<AnySelector<String>>();
}

/// Installs a seccomp filter on this process that makes the system calls
/// `nrs` fail with `errno` (and allows every other one). Irreversible: only
/// in a child process.
#[cfg(target_os = "linux")]
fn refuse_syscalls(nrs: &[libc::c_long], errno: i32) {
    let insn = |code: u32, jt: u8, jf: u8, k: u32| libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    };
    let n = nrs.len() as u8;
    // Load the syscall number (offset 0 of `struct seccomp_data`), jump to
    // the last instruction on a match, else fall through to ALLOW.
    let mut prog = vec![insn(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0, 0, 0)];
    for (i, &nr) in nrs.iter().enumerate() {
        let jt = n - i as u8;
        prog.push(insn(
            libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
            jt,
            0,
            nr as u32,
        ));
    }
    prog.push(insn(
        libc::BPF_RET | libc::BPF_K,
        0,
        0,
        libc::SECCOMP_RET_ALLOW,
    ));
    prog.push(insn(
        libc::BPF_RET | libc::BPF_K,
        0,
        0,
        libc::SECCOMP_RET_ERRNO | errno as u32,
    ));
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_mut_ptr(),
    };
    // SAFETY: `fprog` points at `prog`, a valid BPF program that lives
    // across the calls; the kernel copies it. NO_NEW_PRIVS lets an
    // unprivileged process install a filter.
    unsafe {
        assert_eq!(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
        assert_eq!(
            libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER as libc::c_ulong,
                &fprog as *const libc::sock_fprog
            ),
            0,
            "seccomp: {}",
            io::Error::last_os_error()
        );
    }
}

/// Every system call epoll waits with.
#[cfg(target_os = "linux")]
fn epoll_waits() -> Vec<libc::c_long> {
    // Pushed to on x86_64 only.
    #[allow(unused_mut)]
    let mut nrs = vec![libc::SYS_epoll_pwait, libc::SYS_epoll_pwait2];
    #[cfg(target_arch = "x86_64")]
    nrs.push(libc::SYS_epoll_wait);
    nrs
}

/// Issue 12, defect 8: with epoll's waits refused by a sandbox, `new` must
/// move on to poll (the probe's `EPERM` was lost in the conversion to
/// `io::Error`, so `new` failed with "epoll_wait failed: Operation not
/// permitted"); with poll's refused too (`ENOSYS`), to select. A real
/// seccomp filter, in a child process of its own each.
#[cfg(all(
    target_os = "linux",
    feature = "epoll",
    feature = "poll",
    feature = "select"
))]
#[test]
fn new_skips_backends_a_sandbox_refuses_at_their_first_wait() {
    for (name, refused_poll) in [("epoll_refused", false), ("epoll_and_poll_refused", true)] {
        let test = "new_skips_backends_a_sandbox_refuses_at_their_first_wait";
        if support::is_child(&format!("{test}:{name}")) {
            refuse_syscalls(&epoll_waits(), libc::EPERM);
            let mut expected = Backend::Poll;
            if refused_poll {
                // Pushed to on x86_64 only.
                #[allow(unused_mut)]
                let mut nrs = vec![libc::SYS_ppoll];
                #[cfg(target_arch = "x86_64")]
                nrs.push(libc::SYS_poll);
                refuse_syscalls(&nrs, libc::ENOSYS);
                expected = Backend::Select;
            }
            // The filter works: a direct epoll wait is refused.
            let mut epoll = AnySelector::<()>::with_backend(Backend::Epoll).unwrap();
            let err = epoll.select(Some(Duration::ZERO)).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");

            let mut sel = AnySelector::new().expect("a backend the sandbox allows");
            assert_eq!(sel.backend(), expected);
            let (a, mut b) = UnixStream::pair().unwrap();
            sel.register(&a, Events::READ, 1).unwrap();
            b.write_all(b"x").unwrap();
            let ready = sel.select(Some(Duration::from_secs(5))).unwrap();
            assert_eq!((ready[0].0.data, ready[0].1), (1, Events::READ));
            return;
        }
    }
    for name in ["epoll_refused", "epoll_and_poll_refused"] {
        support::in_child_as(
            "new_skips_backends_a_sandbox_refuses_at_their_first_wait",
            &format!("new_skips_backends_a_sandbox_refuses_at_their_first_wait:{name}"),
        );
    }
}
