//! The conformance suite (tests/support/conformance.rs), run on every
//! selector type this target has: each check is its own test, named
//! `<selector>::<rule>`. Each instantiation is gated like the re-export it
//! uses, so `--no-default-features --features X` builds too.

#[macro_use]
mod support;

#[cfg(selectors_select)]
conformance_suite!(select, io_selectors::SelectSelector);

#[cfg(selectors_poll)]
conformance_suite!(poll, io_selectors::PollSelector);

#[cfg(selectors_epoll)]
conformance_suite!(epoll, io_selectors::EpollSelector);

#[cfg(selectors_iocp)]
conformance_suite!(iocp, io_selectors::IocpSelector);

// KqueueSelector's logic on the in-process model of FreeBSD's kqueue (a
// dev-dependency feature), on every Unix target.
#[cfg(unix)]
conformance_suite!(kqueue_model, selectors_test_support::ModelKqueueSelector);

#[cfg(selectors_any_backend)]
conformance_suite!(default, io_selectors::DefaultSelector);

// Whatever backend `AnySelector::new` picks here (it needs one, as
// `DefaultSelector` does).
#[cfg(selectors_any_backend)]
conformance_suite!(any, io_selectors::AnySelector);

/// What only the selectors built on a kernel object promise: `fileno()` is
/// that object, and it is close-on-exec.
#[cfg(selectors_epoll)]
mod epoll_fileno {
    use io_selectors::{EpollSelector, Selector};
    use std::os::unix::io::{AsFd, AsRawFd};

    #[test]
    fn fileno_is_a_cloexec_epoll_fd() {
        let sel = EpollSelector::<()>::new().unwrap();
        let fd = sel.as_raw_fd();
        assert!(fd >= 0);
        assert_eq!(sel.as_fd().as_raw_fd(), fd);
        let flags = rustix::io::fcntl_getfd(sel.as_fd()).unwrap();
        assert!(flags.contains(rustix::io::FdFlags::CLOEXEC));
        // It is an epoll fd: /proc names it so.
        let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
        assert_eq!(link.to_string_lossy(), "anon_inode:[eventpoll]");
        sel.close().unwrap();
    }

    #[test]
    fn default_selector_is_epoll() {
        let sel: EpollSelector<u8> = io_selectors::DefaultSelector::<u8>::new().unwrap();
        assert!(sel.as_raw_fd() >= 0);
    }
}
