//! Fixtures shared by the `select` benchmark and the allocation test: a pool
//! of socketpairs, the open-file limit, and a fixed-seed random generator.
//!
//! The benchmark itself is `benches/select.rs`; `src/bin/report.rs` runs it
//! with `cpython_bench.py` and prints the markdown table of BENCHMARKS.md.

use std::io;
use std::os::unix::io::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use rustix::net::{socketpair, AddressFamily, SocketFlags, SocketType};
use rustix::process::{getrlimit, setrlimit, Resource};

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns it.
///
/// # Errors
///
/// If `setrlimit` refuses.
pub fn raise_nofile() -> io::Result<u64> {
    let mut limit = getrlimit(Resource::Nofile);
    limit.current = limit.maximum;
    setrlimit(Resource::Nofile, limit)?;
    Ok(limit.current.unwrap_or(u64::MAX))
}

/// Non-blocking, close-on-exec `AF_UNIX` stream socketpairs.
///
/// Registered fd `i` of a pool is one end of pair `i / 2` (both ends are
/// registered, so N = 10000 needs 5000 pairs); writing a byte to its
/// [`peer`](Self::peer) makes it readable, and the byte stays there (level
/// readiness) until [`drain`](Self::drain) reads it.
#[derive(Debug)]
pub struct Pool {
    pairs: Vec<(OwnedFd, OwnedFd)>,
}

impl Pool {
    /// `pairs` new socketpairs.
    ///
    /// # Errors
    ///
    /// If `socketpair` fails (usually `EMFILE`: call [`raise_nofile`]).
    pub fn new(pairs: usize) -> io::Result<Self> {
        let pairs = (0..pairs)
            .map(|_| {
                socketpair(
                    AddressFamily::UNIX,
                    SocketType::STREAM,
                    SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
                    None,
                )
            })
            .collect::<Result<_, _>>()?;
        Ok(Pool { pairs })
    }

    /// How many fds [`fd`](Self::fd) can hand out.
    pub fn len(&self) -> usize {
        self.pairs.len() * 2
    }

    /// Whether the pool has no pair.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Registered fd number `i`.
    pub fn fd(&self, i: usize) -> BorrowedFd<'_> {
        let (a, b) = &self.pairs[i / 2];
        if i & 1 == 0 {
            a.as_fd()
        } else {
            b.as_fd()
        }
    }

    /// The other end of fd `i`'s pair.
    pub fn peer(&self, i: usize) -> BorrowedFd<'_> {
        self.fd(i ^ 1)
    }

    /// Both ends of pair `p`: the chain benchmark reads `.0` and writes `.1`.
    pub fn pair(&self, p: usize) -> (BorrowedFd<'_>, BorrowedFd<'_>) {
        let (a, b) = &self.pairs[p];
        (a.as_fd(), b.as_fd())
    }

    /// Makes fd `i` readable: one byte written to its peer.
    pub fn fill(&self, i: usize) {
        let n = rustix::io::write(self.peer(i), b"e").expect("write to socketpair");
        assert_eq!(n, 1);
    }

    /// Reads fd `i` until it would block; returns how many bytes it held.
    pub fn drain(&self, i: usize) -> usize {
        let mut buf = [0u8; 256];
        let mut total = 0;
        loop {
            match rustix::io::read(self.fd(i), &mut buf) {
                Ok(0) | Err(rustix::io::Errno::AGAIN) => return total,
                Ok(n) => total += n,
                Err(e) => panic!("read fd {}: {e}", self.fd(i).as_raw_fd()),
            }
        }
    }

    /// The highest fd number in the pool plus one.
    pub fn fd_bound(&self) -> RawFd {
        (0..self.len())
            .map(|i| self.fd(i).as_raw_fd())
            .max()
            .map_or(0, |fd| fd + 1)
    }
}

/// Marsaglia's xorshift64 with a fixed seed: the same "random" fds on every
/// run and for every peer.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    /// The generator every benchmark uses.
    pub fn new() -> Self {
        XorShift(0x9E37_79B9_7F4A_7C15)
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// `k` distinct indices below `n`, in draw order.
    pub fn sample(&mut self, n: usize, k: usize) -> Vec<usize> {
        assert!(k <= n, "cannot draw {k} distinct of {n}");
        let mut taken = vec![false; n];
        let mut out = Vec::with_capacity(k);
        while out.len() < k {
            let i = (self.next_u64() % n as u64) as usize;
            if !std::mem::replace(&mut taken[i], true) {
                out.push(i);
            }
        }
        out
    }
}

impl Default for XorShift {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_fill_and_drain() {
        let pool = Pool::new(2).unwrap();
        assert_eq!(pool.len(), 4);
        pool.fill(3);
        pool.fill(3);
        assert_eq!(pool.drain(2), 0);
        assert_eq!(pool.drain(3), 2);
        assert_eq!(pool.drain(3), 0);
    }

    #[test]
    fn sample_is_distinct_and_fixed() {
        let a = XorShift::new().sample(100, 100);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_eq!(
            XorShift::new().sample(1000, 5),
            XorShift::new().sample(1000, 5)
        );
    }
}
