//! `ENOSPC` from epoll: `fs.epoll.max_user_watches` lowered for the moment
//! of one `register`, then restored.
//!
//! The limit is per user and machine-wide, so this test lives alone in its
//! binary (cargo runs test binaries one after the other, so no other test of
//! this workspace registers meanwhile) and restores the limit even if it
//! fails. Without root (the knob is not writable) it says it is skipped.
#![cfg(all(selectors_epoll, target_os = "linux"))]

use std::io::Write;
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use io_selectors::{EpollSelector, Events, Selector};

const KNOB: &str = "/proc/sys/fs/epoll/max_user_watches";

/// Puts the old limit back when dropped, panic or not.
struct Restore(String);

impl Drop for Restore {
    fn drop(&mut self) {
        std::fs::write(KNOB, &self.0).expect("restore fs.epoll.max_user_watches");
    }
}

#[test]
fn enospc_names_the_fd_and_leaves_map_and_kernel_consistent() {
    let old = match std::fs::read_to_string(KNOB) {
        Ok(old) => old,
        Err(e) => return println!("SKIPPED: cannot read {KNOB}: {e}"),
    };
    let mut sel = EpollSelector::<u32>::new().unwrap();
    let (a, mut peer_a) = UnixStream::pair().unwrap();
    let (c, mut peer_c) = UnixStream::pair().unwrap();
    sel.register(&a, Events::READ, 1).unwrap();

    // Every watch this user already has counts, so a limit of 1 is full.
    if let Err(e) = std::fs::write(KNOB, "1") {
        return println!("SKIPPED: cannot lower {KNOB} (needs root): {e}");
    }
    let restore = Restore(old);
    let refused = sel.register(&c, Events::READ, 2);
    drop(restore);

    let err = refused.expect_err("register must fail while the limit is full");
    assert_eq!(err.raw_os_error(), Some(libc::ENOSPC), "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&format!("on fd {}", c.as_raw_fd())), "{msg}");
    assert!(msg.contains("EPOLL_CTL_ADD"), "{msg}");
    assert!(!sel.get_map().contains(&c));
    assert_eq!(sel.get_map().len(), 1);

    // With the limit back, the same fd registers: the kernel never kept it.
    sel.register(&c, Events::READ, 2).unwrap();
    peer_a.write_all(b"a").unwrap();
    peer_c.write_all(b"c").unwrap();
    let mut ready: Vec<u32> = sel
        .select(Some(Duration::from_secs(5)))
        .unwrap()
        .into_iter()
        .map(|(key, events)| {
            assert_eq!(events, Events::READ);
            key.data
        })
        .collect();
    ready.sort_unstable();
    assert_eq!(ready, [1, 2]);
}
