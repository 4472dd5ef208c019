//! What only Winsock `select` needs checked; the conformance suite
//! (io-selectors/tests) runs the shared rules on it under Wine, including
//! 1,400 sockets, random churn of the lists, refused pipes, failed connects
//! and closed sockets.

use std::net::{TcpListener, TcpStream};
use std::os::windows::io::AsRawSocket;
use std::time::Duration;

use selectors_core::{Events, Selector};

use super::SelectSelector;

#[test]
fn timeval_rounds_up_to_microseconds() {
    let tv = super::timeval(Duration::from_nanos(1));
    assert_eq!((tv.tv_sec, tv.tv_usec), (0, 1));
    let tv = super::timeval(Duration::new(2, 999_999_001));
    assert_eq!((tv.tv_sec, tv.tv_usec), (3, 0));
    let tv = super::timeval(selectors_core::backend::MAX_TIMEOUT);
    assert_eq!((tv.tv_sec, tv.tv_usec), (100_000_000, 0));
}

/// Winsock fails the whole `select` for one closed socket without saying
/// which: the error names it. (The only test here that makes sockets, so
/// no other thread takes the closed handle's value before the `select`.)
#[test]
fn a_closed_registered_socket_is_named_by_the_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let pair = || {
        let a = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        (a, listener.accept().unwrap().0)
    };
    let (a, _b) = pair();
    let (c, _d) = pair();
    let mut sel = SelectSelector::new().unwrap();
    sel.register(&c, Events::READ, ()).unwrap();
    let fd = a.as_raw_socket();
    sel.register(fd, Events::READ, ()).unwrap();
    drop(a);
    let err = sel.select(Some(Duration::ZERO)).unwrap_err();
    assert_eq!(err.fd(), Some(fd), "{err}");
    assert_eq!(err.raw_os_error(), Some(10038), "WSAENOTSOCK: {err}");
    sel.unregister(fd).unwrap();
    assert!(sel.select(Some(Duration::ZERO)).unwrap().is_empty());
}
