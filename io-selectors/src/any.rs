//! `AnySelector`: a backend chosen at run time, from the ones compiled in.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::str::FromStr;
use std::time::Duration;

use selectors_core::{
    Event, Events, FileObject, Ready, Result, Selector, SelectorKey, SelectorMap, Waker,
};

/// A readiness backend: the system call a selector is built on.
///
/// Parse one from configuration with [`FromStr`] (case-insensitive), show
/// one with [`Display`](fmt::Display) (the same lower-case name):
///
/// ```
/// use io_selectors::Backend;
///
/// let backend: Backend = "Poll".parse()?;
/// assert_eq!(backend, Backend::Poll);
/// assert_eq!(backend.to_string(), "poll");
///
/// let err = "devpoll".parse::<Backend>().unwrap_err();
/// assert!(err.to_string().starts_with(
///     "unknown selector backend \"devpoll\": expected select, poll, epoll, kqueue or iocp"
/// ));
/// # Ok::<(), io_selectors::ParseBackendError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// `select(2)`: `SelectSelector`.
    Select,
    /// `poll(2)`: `PollSelector`.
    Poll,
    /// `epoll(7)`, Linux and Android: `EpollSelector`.
    Epoll,
    /// `kqueue(2)`, Apple and the BSDs: `KqueueSelector`.
    Kqueue,
    /// An I/O completion port with AFD polls, Windows: `IocpSelector`.
    Iocp,
}

/// Every backend, in the order [`AnySelector::new`] tries them (CPython's).
#[cfg(not(windows))]
const PREFERENCE: [Backend; 5] = [
    Backend::Kqueue,
    Backend::Epoll,
    Backend::Iocp,
    Backend::Poll,
    Backend::Select,
];

/// On Windows IOCP first, as `DefaultSelector`, then select before poll
/// (CPython's choice; `WSAPoll` missed failed connects before Windows 10
/// 2004).
#[cfg(windows)]
const PREFERENCE: [Backend; 5] = [
    Backend::Kqueue,
    Backend::Epoll,
    Backend::Iocp,
    Backend::Select,
    Backend::Poll,
];

impl Backend {
    /// The backends compiled into this build (per target and cargo
    /// features), in the order [`AnySelector::new`] tries them: kqueue,
    /// epoll, poll, select (on Windows IOCP, select, then poll).
    ///
    /// ```
    /// use io_selectors::Backend;
    ///
    /// # #[cfg(target_os = "linux")]
    /// assert_eq!(
    ///     Backend::available(),
    ///     [Backend::Epoll, Backend::Poll, Backend::Select]
    /// );
    /// # #[cfg(windows)]
    /// assert_eq!(
    ///     Backend::available(),
    ///     [Backend::Iocp, Backend::Select, Backend::Poll]
    /// );
    /// # #[cfg(target_os = "macos")]
    /// assert_eq!(
    ///     Backend::available(),
    ///     [Backend::Kqueue, Backend::Poll, Backend::Select]
    /// );
    /// ```
    pub fn available() -> &'static [Backend] {
        const fn compiled(backend: Backend) -> bool {
            match backend {
                Backend::Select => cfg!(selectors_select),
                Backend::Poll => cfg!(selectors_poll),
                Backend::Epoll => cfg!(selectors_epoll),
                Backend::Kqueue => cfg!(selectors_kqueue),
                Backend::Iocp => cfg!(selectors_iocp),
            }
        }
        const fn count() -> usize {
            let mut n = 0;
            let mut i = 0;
            while i < PREFERENCE.len() {
                n += compiled(PREFERENCE[i]) as usize;
                i += 1;
            }
            n
        }
        const fn list() -> [Backend; count()] {
            let mut out = [Backend::Select; count()];
            let (mut i, mut n) = (0, 0);
            while i < PREFERENCE.len() {
                if compiled(PREFERENCE[i]) {
                    out[n] = PREFERENCE[i];
                    n += 1;
                }
                i += 1;
            }
            out
        }
        const AVAILABLE: [Backend; count()] = list();
        &AVAILABLE
    }

    /// Whether this build has the backend: [`available`](Self::available)
    /// contains it.
    pub fn is_available(self) -> bool {
        Backend::available().contains(&self)
    }

    /// The lower-case name: `"select"`, `"poll"`, `"epoll"`, `"kqueue"` or
    /// `"iocp"`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Select => "select",
            Backend::Poll => "poll",
            Backend::Epoll => "epoll",
            Backend::Kqueue => "kqueue",
            Backend::Iocp => "iocp",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = ParseBackendError;

    /// Parses a backend name, ignoring case and surrounding whitespace.
    fn from_str(s: &str) -> std::result::Result<Backend, ParseBackendError> {
        let name = s.trim();
        PREFERENCE
            .iter()
            .rev()
            .copied()
            .find(|backend| backend.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| ParseBackendError {
                input: s.to_owned(),
            })
    }
}

/// A name that is not a [`Backend`]. Its message lists the valid names and
/// those this build has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseBackendError {
    input: String,
}

impl fmt::Display for ParseBackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown selector backend {:?}: expected select, poll, epoll, kqueue or iocp \
             (available here: {})",
            self.input,
            Names(Backend::available())
        )
    }
}

impl StdError for ParseBackendError {}

/// An [`InvalidInput`](io::ErrorKind::InvalidInput) error with the same
/// message, so that `?` takes a parse error in a function returning
/// [`io::Result`]:
///
/// ```
/// use io_selectors::{AnySelector, Backend};
/// use std::io;
///
/// fn from_config(name: &str) -> io::Result<AnySelector<u32>> {
///     AnySelector::with_backend(name.parse()?)
/// }
///
/// assert_eq!(from_config("poll")?.backend(), Backend::Poll);
/// let err = from_config("devpoll").unwrap_err();
/// assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
/// assert!(err.to_string().starts_with("unknown selector backend \"devpoll\""));
/// # Ok::<(), io::Error>(())
/// ```
impl From<ParseBackendError> for io::Error {
    fn from(e: ParseBackendError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, e)
    }
}

/// Shows backends as `"epoll, poll, select"` (`"none"` if empty).
struct Names(&'static [Backend]);

impl fmt::Display for Names {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        for (i, backend) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(backend.name())?;
        }
        Ok(())
    }
}

/// A selector whose backend is chosen at run time, from those compiled in:
/// by probing, as CPython's `DefaultSelector` does
/// ([`new`](Self::new)), or by name, from configuration
/// ([`with_backend`](Self::with_backend)).
///
/// It is an enum over the backend selectors, so every call is one `match`
/// away from the backend's own code: no boxing, no dynamic dispatch. It
/// implements [`Selector`] (wakers included), like each of them.
///
/// ```
/// use io_selectors::{AnySelector, Backend, Events, Selector};
/// use std::os::unix::net::UnixStream;
/// use std::time::Duration;
///
/// // E.g. from SELECTORS_BACKEND=poll; otherwise the best one that works.
/// let mut sel: AnySelector<&str> = match std::env::var("SELECTORS_BACKEND") {
///     Ok(name) => AnySelector::with_backend(name.parse()?)?,
///     Err(_) => AnySelector::new()?,
/// };
/// assert!(Backend::available().contains(&sel.backend()));
///
/// let (a, _b) = UnixStream::pair()?;
/// sel.register(&a, Events::WRITE, "a")?;
/// let ready = sel.select(Some(Duration::from_secs(5)))?;
/// assert_eq!(ready[0].0.data, "a");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Which variants exist depends on the target and the cargo features, so
/// the enum is `#[non_exhaustive]`: match the ones you need, or use
/// [`backend`](Self::backend).
#[non_exhaustive]
pub enum AnySelector<T = ()> {
    /// On `kqueue(2)`, Apple and the BSDs.
    #[cfg(selectors_kqueue)]
    Kqueue(selectors_kqueue::KqueueSelector<T>),
    /// On `select(2)`.
    #[cfg(selectors_select)]
    Select(selectors_select::SelectSelector<T>),
    /// On `poll(2)`.
    #[cfg(selectors_poll)]
    Poll(selectors_poll::PollSelector<T>),
    /// On `epoll(7)`.
    #[cfg(selectors_epoll)]
    Epoll(selectors_epoll::EpollSelector<T>),
    /// On an I/O completion port with AFD polls, Windows.
    #[cfg(selectors_iocp)]
    Iocp(selectors_iocp::IocpSelector<T>),
    /// Where no backend is compiled in, so that `T` is used; never built.
    #[cfg(not(selectors_any_backend))]
    #[doc(hidden)]
    None(std::convert::Infallible, std::marker::PhantomData<T>),
}

/// `match`es an `AnySelector` place, binding the backend selector with the
/// given binding mode in every arm.
macro_rules! dispatch {
    ($on:expr, ($($bind:tt)+) => $body:expr) => {
        match $on {
            #[cfg(selectors_kqueue)]
            AnySelector::Kqueue($($bind)+) => $body,
            #[cfg(selectors_select)]
            AnySelector::Select($($bind)+) => $body,
            #[cfg(selectors_poll)]
            AnySelector::Poll($($bind)+) => $body,
            #[cfg(selectors_epoll)]
            AnySelector::Epoll($($bind)+) => $body,
            #[cfg(selectors_iocp)]
            AnySelector::Iocp($($bind)+) => $body,
            #[cfg(not(selectors_any_backend))]
            AnySelector::None(ref never, _) => match *never {},
        }
    };
}

impl<T> AnySelector<T> {
    /// The first backend of [`Backend::available`] (kqueue, epoll, poll,
    /// select; on Windows IOCP, select, poll) that works here, as CPython's
    /// `DefaultSelector` probes: a backend whose creation, or whose first
    /// zero-timeout `select`, fails with `ENOSYS` or `EPERM` (a seccomp
    /// sandbox, an emulator) is skipped. IOCP is probed on a UDP socket of
    /// its own, and skipped where the AFD device or its poll request is
    /// refused (not found, access denied, not supported), for
    /// `SelectSelector`.
    ///
    /// # Errors
    ///
    /// Any other error of a creation or probe (`EMFILE`, ...), which is not
    /// a reason to settle for a worse backend; or, if every backend was
    /// skipped (or none is compiled in), an
    /// [`Unsupported`](io::ErrorKind::Unsupported) error naming each
    /// backend's failure.
    pub fn new() -> io::Result<Self> {
        let mut refused = String::new();
        for &backend in Backend::available() {
            match probe(backend).and_then(|()| Self::with_backend(backend)) {
                Ok(sel) => return Ok(sel),
                Err(e) if is_refusal(&e) => {
                    if !refused.is_empty() {
                        refused.push_str(", ");
                    }
                    refused.push_str(&format!("{backend}: {e}"));
                }
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "no selector backend works here (available: {}; refused: {})",
                Names(Backend::available()),
                if refused.is_empty() { "none" } else { &refused }
            ),
        ))
    }

    /// A selector on `backend`, if this build has it.
    ///
    /// ```
    /// use io_selectors::{AnySelector, Backend};
    ///
    /// let sel = AnySelector::<u32>::with_backend(Backend::Poll)?;
    /// assert_eq!(sel.backend(), Backend::Poll);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Unsupported`](io::ErrorKind::Unsupported) if the backend is not
    /// compiled in here (the message lists those that are), or the
    /// backend's own creation error.
    pub fn with_backend(backend: Backend) -> io::Result<Self> {
        match backend {
            #[cfg(selectors_kqueue)]
            Backend::Kqueue => selectors_kqueue::KqueueSelector::new().map(AnySelector::Kqueue),
            #[cfg(selectors_select)]
            Backend::Select => selectors_select::SelectSelector::new().map(AnySelector::Select),
            #[cfg(selectors_poll)]
            Backend::Poll => selectors_poll::PollSelector::new().map(AnySelector::Poll),
            #[cfg(selectors_epoll)]
            Backend::Epoll => selectors_epoll::EpollSelector::new().map(AnySelector::Epoll),
            #[cfg(selectors_iocp)]
            Backend::Iocp => selectors_iocp::IocpSelector::new().map(AnySelector::Iocp),
            #[allow(unreachable_patterns)]
            _ => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "the {backend} selector backend is not available here (available: {})",
                    Names(Backend::available())
                ),
            )),
        }
    }

    /// The backend this selector runs on.
    pub fn backend(&self) -> Backend {
        match *self {
            #[cfg(selectors_kqueue)]
            AnySelector::Kqueue(_) => Backend::Kqueue,
            #[cfg(selectors_select)]
            AnySelector::Select(_) => Backend::Select,
            #[cfg(selectors_poll)]
            AnySelector::Poll(_) => Backend::Poll,
            #[cfg(selectors_epoll)]
            AnySelector::Epoll(_) => Backend::Epoll,
            #[cfg(selectors_iocp)]
            AnySelector::Iocp(_) => Backend::Iocp,
            #[cfg(not(selectors_any_backend))]
            AnySelector::None(ref never, _) => match *never {},
        }
    }
}

/// CPython's probe: a fresh selector on `backend` that can wait (with a
/// zero timeout). A unit-data twin does it, so `new` needs no `T: Clone`.
fn probe(backend: Backend) -> io::Result<()> {
    let mut sel = AnySelector::<()>::with_backend(backend)?;
    // Without a socket, IOCP sends no poll request: send one.
    #[cfg(selectors_iocp)]
    let _udp = match backend {
        Backend::Iocp => {
            let udp = std::net::UdpSocket::bind("127.0.0.1:0")?;
            sel.register(&udp, Events::WRITE, ())?;
            Some(udp)
        }
        _ => None,
    };
    sel.select_into(Some(Duration::ZERO), &mut Vec::new())?;
    sel.close()
}

/// Whether a creation or probe error means "refused here: try the next
/// backend". CPython skips on any `OSError`; we only on these, so that
/// running out of fds is reported rather than papered over with a worse
/// backend.
#[cfg(unix)]
fn is_refusal(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM))
}

/// On Windows, select and poll hold no kernel object, and an empty one
/// makes no call: nothing to refuse. IOCP opens the AFD device, which a
/// sandbox or an emulator may lack or forbid: not found, access denied, not
/// implemented or not supported (the Windows errors `NtCreateFile`'s status
/// becomes), and then select takes over.
#[cfg(windows)]
fn is_refusal(e: &io::Error) -> bool {
    // ERROR_INVALID_FUNCTION, ERROR_FILE_NOT_FOUND, ERROR_PATH_NOT_FOUND,
    // ERROR_ACCESS_DENIED, ERROR_NOT_SUPPORTED, ERROR_CALL_NOT_IMPLEMENTED.
    matches!(e.raw_os_error(), Some(1 | 2 | 3 | 5 | 50 | 120))
}

// Where no backend is compiled in, every arm is gone and the arguments are
// unused; they are used everywhere else.
#[allow(unused_variables)]
impl<T> Selector<T> for AnySelector<T> {
    #[inline]
    fn register<F: FileObject>(
        &mut self,
        fileobj: F,
        events: Events,
        data: T,
    ) -> Result<&SelectorKey<T>> {
        dispatch!(*self, (ref mut s) => s.register(fileobj, events, data))
    }

    #[inline]
    fn unregister<F: FileObject>(&mut self, fileobj: F) -> Result<SelectorKey<T>> {
        dispatch!(*self, (ref mut s) => s.unregister(fileobj))
    }

    #[inline]
    fn modify<F: FileObject>(
        &mut self,
        fileobj: F,
        events: Events,
        data: T,
    ) -> Result<&SelectorKey<T>> {
        dispatch!(*self, (ref mut s) => s.modify(fileobj, events, data))
    }

    #[inline]
    fn select_into(&mut self, timeout: Option<Duration>, ready: &mut Vec<Ready<T>>) -> Result<usize>
    where
        T: Clone,
    {
        dispatch!(*self, (ref mut s) => s.select_into(timeout, ready))
    }

    #[inline]
    fn modify_events<F: FileObject>(
        &mut self,
        fileobj: F,
        events: Events,
    ) -> Result<&SelectorKey<T>> {
        dispatch!(*self, (ref mut s) => s.modify_events(fileobj, events))
    }

    #[inline]
    fn select_events(
        &mut self,
        timeout: Option<Duration>,
        events: &mut Vec<Event>,
    ) -> Result<usize> {
        dispatch!(*self, (ref mut s) => s.select_events(timeout, events))
    }

    #[inline]
    fn key(&self, event: &Event) -> Option<&SelectorKey<T>> {
        dispatch!(*self, (ref s) => s.key(event))
    }

    #[inline]
    fn data_mut(&mut self, event: &Event) -> Option<&mut T> {
        dispatch!(*self, (ref mut s) => s.data_mut(event))
    }

    #[inline]
    fn get_key<F: FileObject>(&self, fileobj: F) -> Result<&SelectorKey<T>> {
        dispatch!(*self, (ref s) => s.get_key(fileobj))
    }

    #[inline]
    fn get_map(&self) -> &SelectorMap<T> {
        dispatch!(*self, (ref s) => s.get_map())
    }

    fn waker(&mut self) -> io::Result<Waker> {
        dispatch!(*self, (ref mut s) => s.waker())
    }

    fn after_fork_in_child(&mut self) -> io::Result<()> {
        dispatch!(*self, (ref mut s) => s.after_fork_in_child())
    }

    fn close(self) -> io::Result<()> {
        dispatch!(self, (s) => s.close())
    }
}

#[allow(unused_variables)] // as for `Selector`
impl<T: fmt::Debug> fmt::Debug for AnySelector<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        dispatch!(*self, (ref s) => f.debug_tuple("AnySelector").field(s).finish())
    }
}
