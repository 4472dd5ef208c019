//! Turning a `select` timeout into what each system call takes
//! (re-exported by `backend`).

use std::time::Duration;

/// The longest wait the engine asks an adapter for: 10⁸ seconds (about
/// three years). Longer timeouts are clamped to it, because `select(2)` and
/// `kevent(2)` on Apple and the BSDs reject anything above with `EINVAL`.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(100_000_000);

/// A timeout in whole milliseconds, rounded up, for `poll(2)` and
/// `epoll_wait(2)`: `None` is -1 (block), zero stays 0, and any positive
/// duration is at least 1, so 0.3 ms never becomes a busy poll. Values beyond
/// `i32::MAX` milliseconds (about 24.8 days) are clamped to it.
///
/// ```
/// use selectors_core::backend::millis_round_up;
/// use std::time::Duration;
///
/// assert_eq!(millis_round_up(None), -1);
/// assert_eq!(millis_round_up(Some(Duration::ZERO)), 0);
/// assert_eq!(millis_round_up(Some(Duration::from_micros(300))), 1);
/// assert_eq!(millis_round_up(Some(Duration::from_micros(1_001))), 2);
/// assert_eq!(millis_round_up(Some(Duration::MAX)), i32::MAX);
/// ```
#[inline]
pub fn millis_round_up(timeout: Option<Duration>) -> i32 {
    match timeout {
        None => -1,
        Some(t) => {
            let ms = t.as_millis() + u128::from(t.subsec_nanos() % 1_000_000 != 0);
            i32::try_from(ms).unwrap_or(i32::MAX)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_never_shortens() {
        for micros in [1u64, 999, 1_000, 1_001, 300_000, 2_500_000] {
            let t = Duration::from_micros(micros);
            let ms = millis_round_up(Some(t));
            assert!(
                Duration::from_millis(ms as u64) >= t,
                "{micros} us -> {ms} ms"
            );
            assert!(Duration::from_millis(ms as u64) < t + Duration::from_millis(1));
        }
        assert_eq!(millis_round_up(Some(Duration::from_nanos(1))), 1);
        assert_eq!(
            millis_round_up(Some(Duration::from_secs(3_000_000))),
            i32::MAX
        );
    }
}
