//! The conformance suite (tests/support/conformance.rs), run on every
//! selector type this target has: each check is its own test, named
//! `<selector>::<rule>`. Each instantiation is gated like the re-export it
//! uses, so `--no-default-features --features X` builds too.

#[macro_use]
mod support;

#[cfg(all(
    feature = "select",
    any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "tvos",
        target_os = "watchos",
        target_os = "visionos",
        target_os = "freebsd",
        target_os = "dragonfly",
        target_os = "netbsd",
        target_os = "openbsd",
    )
))]
conformance_suite!(select, selectors::SelectSelector);

#[cfg(all(unix, feature = "poll"))]
conformance_suite!(poll, selectors::PollSelector);

#[cfg(all(feature = "epoll", any(target_os = "linux", target_os = "android")))]
conformance_suite!(epoll, selectors::EpollSelector);

#[cfg(any(
    all(unix, feature = "poll"),
    all(
        feature = "select",
        any(
            target_os = "linux",
            target_os = "android",
            target_os = "macos",
            target_os = "ios",
            target_os = "tvos",
            target_os = "watchos",
            target_os = "visionos",
            target_os = "freebsd",
            target_os = "dragonfly",
            target_os = "netbsd",
            target_os = "openbsd",
        )
    ),
    all(feature = "epoll", any(target_os = "linux", target_os = "android")),
    all(
        feature = "kqueue",
        any(
            target_vendor = "apple",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "dragonfly"
        )
    )
))]
conformance_suite!(default, selectors::DefaultSelector);

/// What only the selectors built on a kernel object promise: `fileno()` is
/// that object, and it is close-on-exec.
#[cfg(all(feature = "epoll", any(target_os = "linux", target_os = "android")))]
mod epoll_fileno {
    use selectors::{EpollSelector, Selector};
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
        let sel: EpollSelector<u8> = selectors::DefaultSelector::<u8>::new().unwrap();
        assert!(sel.as_raw_fd() >= 0);
    }
}
