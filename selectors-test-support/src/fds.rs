//! The open-files limit, and fd numbers far from other tests'.

#[cfg(unix)]
use std::os::unix::io::{AsFd, OwnedFd, RawFd};

/// Raises the soft open-files limit (`RLIMIT_NOFILE`) to at least `want`,
/// capped at the hard limit (`u64::MAX`: the hard limit), for tests that
/// hold many fds (child processes inherit it); returns the soft limit now.
#[cfg(unix)]
pub fn raise_nofile(want: u64) -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let soft = limit.current.unwrap_or(u64::MAX);
    let hard = limit.maximum.unwrap_or(u64::MAX);
    if soft >= want.min(hard) {
        return soft;
    }
    let current = if want >= hard {
        limit.maximum
    } else {
        Some(want)
    };
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current,
            maximum: limit.maximum,
        },
    )
    .expect("setrlimit(RLIMIT_NOFILE)");
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// Windows has no limit on open sockets to raise.
#[cfg(windows)]
pub fn raise_nofile(_want: u64) -> u64 {
    u64::MAX
}

/// A duplicate of `fd` numbered at least `min` (close-on-exec), far above
/// what other tests running in parallel allocate (the kernel hands out the
/// lowest free number), so that a number a test closes is not reused by
/// another test meanwhile. Raises the open-files limit to make room.
#[cfg(unix)]
pub fn dup_at_least(fd: &impl AsFd, min: RawFd) -> OwnedFd {
    assert!(raise_nofile(min as u64 + 100) > min as u64 + 10);
    rustix::io::fcntl_dupfd_cloexec(fd, min).expect("fcntl(F_DUPFD_CLOEXEC)")
}
