//! `DefaultSelector`: the best backend the target and the enabled features
//! offer, chosen at compile time.
//!
//! The order is DESIGN.md's: kqueue on Apple and the BSDs, epoll on Linux and
//! Android, else poll, else select. Each `cfg` below spells out "this backend
//! exists and no better one does", so exactly one alias is compiled; with no
//! backend feature enabled there is none (`lib.rs` does not compile this
//! module).

#[cfg(all(
    feature = "kqueue",
    any(
        target_vendor = "apple",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    )
))]
mod chosen {
    pub(crate) use crate::KqueueSelector as Backend;

    // `DefaultSelector` must be kqueue here.
    const _: fn() = || {
        let _: fn() -> std::io::Result<crate::KqueueSelector<()>> =
            crate::DefaultSelector::<()>::new;
    };
}

#[cfg(all(
    feature = "epoll",
    any(target_os = "linux", target_os = "android"),
    // kqueue does not exist on Linux and Android; no need to exclude it.
))]
mod chosen {
    pub(crate) use crate::EpollSelector as Backend;

    // `DefaultSelector` must be epoll here.
    const _: fn() = || {
        let _: fn() -> std::io::Result<crate::EpollSelector<()>> =
            crate::DefaultSelector::<()>::new;
    };
}

#[cfg(all(
    feature = "poll",
    unix,
    not(all(
        feature = "kqueue",
        any(
            target_vendor = "apple",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "dragonfly"
        )
    )),
    not(all(feature = "epoll", any(target_os = "linux", target_os = "android"))),
))]
mod chosen {
    pub(crate) use crate::PollSelector as Backend;

    // `DefaultSelector` must be poll here.
    const _: fn() = || {
        let _: fn() -> std::io::Result<crate::PollSelector<()>> =
            crate::DefaultSelector::<()>::new;
    };
}

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
    ),
    not(all(feature = "poll", unix)),
    not(all(
        feature = "kqueue",
        any(
            target_vendor = "apple",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "dragonfly"
        )
    )),
    not(all(feature = "epoll", any(target_os = "linux", target_os = "android"))),
))]
mod chosen {
    pub(crate) use crate::SelectSelector as Backend;

    // `DefaultSelector` must be select here.
    const _: fn() = || {
        let _: fn() -> std::io::Result<crate::SelectSelector<()>> =
            crate::DefaultSelector::<()>::new;
    };
}

/// The most efficient selector of this platform, among the enabled backend
/// features: Python's `selectors.DefaultSelector`.
///
/// | target | `DefaultSelector` is |
/// |---|---|
/// | macOS, iOS, FreeBSD, NetBSD, OpenBSD, DragonFly | `KqueueSelector` (feature `kqueue`) |
/// | Linux, Android | `EpollSelector` (feature `epoll`) |
/// | any other Unix, or those without their feature | [`PollSelector`](crate::PollSelector) (feature `poll`), else [`SelectSelector`](crate::SelectSelector) (feature `select`) |
///
/// It is a type alias, so it has exactly the API of the backend it names,
/// `AsRawFd` included where that backend has it. With every backend feature
/// disabled there is no `DefaultSelector`.
///
/// ```
/// use selectors::{DefaultSelector, Selector, EVENT_READ};
/// use std::io::Write;
/// use std::os::unix::net::UnixStream;
/// use std::time::Duration;
///
/// let mut sel = DefaultSelector::new()?; // DefaultSelector<()>
/// let (a, mut b) = UnixStream::pair()?;
/// sel.register(&a, EVENT_READ, ())?;
/// b.write_all(b"ping")?;
/// let ready = sel.select(Some(Duration::from_secs(5)))?;
/// assert_eq!(ready.len(), 1);
/// assert_eq!(ready[0].1, EVENT_READ);
///
/// # #[cfg(any(target_os = "linux", target_os = "android"))]
/// let _: selectors::EpollSelector = sel; // on Linux, it is epoll
/// # Ok::<(), std::io::Error>(())
/// ```
pub type DefaultSelector<T = ()> = chosen::Backend<T>;
