//! `DefaultSelector`: the best backend the target and the enabled features
//! offer, chosen at compile time.
//!
//! build.rs picks it in ARCHITECTURE.md's order (kqueue on Apple and the BSDs,
//! epoll on Linux and Android, IOCP on Windows, else poll, else select) and names it with one
//! `selectors_default_<backend>` cfg; with no backend feature enabled there
//! is none (`lib.rs` does not compile this module). The assertions below
//! check the choice against the target itself, not against build.rs's cfgs,
//! so a wrong choice on any target family fails `cargo xtask cross`.

#[cfg(selectors_default_kqueue)]
use crate::KqueueSelector as Chosen;

#[cfg(selectors_default_epoll)]
use crate::EpollSelector as Chosen;

#[cfg(selectors_default_iocp)]
use crate::IocpSelector as Chosen;

#[cfg(selectors_default_poll)]
use crate::PollSelector as Chosen;

#[cfg(selectors_default_select)]
use crate::SelectSelector as Chosen;

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
static_assertions::assert_type_eq_all!(DefaultSelector<u8>, crate::KqueueSelector<u8>);

#[cfg(all(feature = "epoll", any(target_os = "linux", target_os = "android")))]
static_assertions::assert_type_eq_all!(DefaultSelector<u8>, crate::EpollSelector<u8>);

#[cfg(all(
    feature = "poll",
    not(feature = "epoll"),
    any(target_os = "linux", target_os = "android")
))]
static_assertions::assert_type_eq_all!(DefaultSelector<u8>, crate::PollSelector<u8>);

#[cfg(all(feature = "iocp", windows))]
static_assertions::assert_type_eq_all!(DefaultSelector<u8>, crate::IocpSelector<u8>);

#[cfg(all(feature = "select", not(feature = "iocp"), windows))]
static_assertions::assert_type_eq_all!(DefaultSelector<u8>, crate::SelectSelector<u8>);

/// The most efficient selector of this platform, among the enabled backend
/// features: Python's `selectors.DefaultSelector`.
///
/// | target | `DefaultSelector` is |
/// |---|---|
/// | macOS, iOS, FreeBSD, NetBSD, OpenBSD, DragonFly | `KqueueSelector` (feature `kqueue`) |
/// | Linux, Android | `EpollSelector` (feature `epoll`) |
/// | Windows (sockets only) | `IocpSelector` (feature `iocp`), else `SelectSelector` (feature `select`, CPython's choice), else `PollSelector` (feature `poll`) |
/// | any other Unix, or those without their feature | [`PollSelector`](crate::PollSelector) (feature `poll`), else [`SelectSelector`](crate::SelectSelector) (feature `select`) |
///
/// It is a type alias, so it has exactly the API of the backend it names,
/// `AsRawFd` included where that backend has it. With every backend feature
/// disabled there is no `DefaultSelector`.
///
/// ```
/// use io_selectors::{DefaultSelector, Selector, EVENT_READ};
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
/// let _: io_selectors::EpollSelector = sel; // on Linux, it is epoll
/// # Ok::<(), std::io::Error>(())
/// ```
pub type DefaultSelector<T = ()> = Chosen<T>;
