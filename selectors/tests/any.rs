//! `AnySelector` and `Backend`: run-time choice, parsing, dispatch.
#![cfg(unix)]

use std::io::{self, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use selectors::{AnySelector, Backend, Events, Selector};

#[test]
fn names_round_trip_case_insensitively() {
    for backend in [
        Backend::Select,
        Backend::Poll,
        Backend::Epoll,
        Backend::Kqueue,
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
            "unknown selector backend \"devpoll\": expected select, poll, epoll or kqueue \
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
