//! How the selectors' per-fd vectors grow.

/// Makes room in `vec` for at least `needed` elements, growing by an eighth
/// rather than doubling.
///
/// Every per-fd array of a selector (keys, tags, the fd index, poll's
/// `pollfd`s, epoll's wait buffer) grows this way, so that at any N the
/// slack stays under 12.5% and the heap per registered fd stays within the
/// performance contract (32 bytes plus `size_of::<T>()`). Growth is still
/// geometric, so `register` stays amortised O(1); the extra copying is a few
/// bytes per fd, far below the cost of the system call beside it.
///
/// ```
/// let mut v: Vec<u32> = Vec::new();
/// for i in 0..10_000 {
///     selectors_core::backend::reserve_lean(&mut v, i + 1);
///     v.push(i as u32);
/// }
/// assert!(v.capacity() <= 10_000 + 10_000 / 8);
/// ```
#[inline]
pub fn reserve_lean<T>(vec: &mut Vec<T>, needed: usize) {
    if needed > vec.capacity() {
        grow(vec, needed);
    }
}

#[cold]
fn grow<T>(vec: &mut Vec<T>, needed: usize) {
    let target = needed.max(vec.capacity() + vec.capacity() / 8).max(4);
    vec.reserve_exact(target - vec.len());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_stays_under_an_eighth_and_growth_is_geometric() {
        let mut v: Vec<u8> = Vec::new();
        let mut reallocations = 0;
        for n in 1..=100_000usize {
            let before = v.capacity();
            reserve_lean(&mut v, n);
            v.push(0);
            if v.capacity() != before {
                reallocations += 1;
            }
            assert!(
                v.capacity() <= (n + n / 8).max(4),
                "n={n} cap={}",
                v.capacity()
            );
        }
        // Geometric: about log_{9/8}(100000) = 98 reallocations, not 100000.
        assert!(reallocations < 120, "{reallocations}");
    }
}
