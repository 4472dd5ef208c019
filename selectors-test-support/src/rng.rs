//! A small deterministic PRNG, so every run makes the same "random" choices
//! and bytes, and the byte patterns made of it.

/// xorshift64*, seeded through a splitmix64 step.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator for `seed` (any value; nearby seeds give unrelated
    /// streams).
    pub fn new(seed: u64) -> XorShift {
        // splitmix64 step, so that nearby seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        XorShift((z ^ (z >> 31)) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A number in `1..=max`.
    pub fn len(&mut self, max: usize) -> usize {
        1 + self.below(max as u64) as usize
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// `len` bytes that differ from one `seed` to the next and along the way, so
/// a lost, repeated or misrouted chunk cannot go unnoticed.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut data = vec![0; len];
    XorShift::new(seed).fill(&mut data);
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_repeat_per_seed_and_differ_between_seeds() {
        assert_eq!(pattern(3, 100), pattern(3, 100));
        assert_ne!(pattern(3, 100), pattern(4, 100));
        assert_eq!(pattern(3, 100)[..10], pattern(3, 10)[..]);
        let mut rng = XorShift::new(0);
        assert!((0..1000).all(|_| (1..=7).contains(&rng.len(7))));
        assert!((0..1000).all(|_| rng.below(3) < 3));
    }
}
