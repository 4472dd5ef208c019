//! The invariants of a `select` result.

use selectors_core::{Events, RawFd, Ready, Selector};

/// Checks what every `select` result must satisfy whatever the backend: one
/// entry per fd, non-empty events within the key's events, and a key equal
/// to the one in the map. Returns `(data, events)` sorted by data.
pub fn checked<S, T>(sel: &S, ready: &[Ready<T>]) -> Vec<(T, Events)>
where
    S: Selector<T>,
    T: Clone + Ord + std::fmt::Debug,
{
    let mut fds: Vec<RawFd> = ready.iter().map(|(key, _)| key.fd).collect();
    fds.sort_unstable();
    let n = fds.len();
    fds.dedup();
    assert_eq!(
        fds.len(),
        n,
        "an fd was reported twice in one select: {ready:?}"
    );
    for (key, events) in ready {
        assert!(
            !events.is_empty(),
            "empty events reported for fd {}",
            key.fd
        );
        assert!(
            key.events.contains(*events),
            "fd {} reported {events:?} but registered for {:?}",
            key.fd,
            key.events
        );
        let current = sel
            .get_map()
            .get(key.fd)
            .expect("a reported fd is registered");
        assert_eq!(current.events, key.events, "stale key for fd {}", key.fd);
        assert_eq!(current.data, key.data, "stale data for fd {}", key.fd);
    }
    let mut out: Vec<(T, Events)> = ready.iter().map(|(k, e)| (k.data.clone(), *e)).collect();
    out.sort();
    out
}
