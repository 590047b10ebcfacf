//! A small, fast, seedable random number generator and weighted choice, so that synthetic data
//! is the same for the same seed on every machine and every version of the dependencies.

/// SplitMix64 (Steele, Lea and Flood, 2014): one 64-bit state, good statistical quality for
/// generating test data, and cheap to seed per person so any person can be regenerated alone.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 output function: a bijective mix of 64 bits.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The generator for item `index` of the data set made from `seed`: independent streams
    /// without generating the items before it.
    pub fn for_item(seed: u64, index: u64) -> Self {
        SplitMix64::new(mix64(seed ^ GOLDEN) ^ mix64(index.wrapping_add(GOLDEN)))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix64(self.state)
    }

    /// A number in `0..n` (0 when `n` is 0), without modulo bias worth speaking of.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A number in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    /// A float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One element of a non-empty slice, uniformly; `None` for an empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }
}

/// A fixed list with a weight per item, sampled by binary search over cumulative weights.
#[derive(Debug, Clone)]
pub struct Weighted<T> {
    items: Vec<T>,
    cumulative: Vec<f64>,
}

impl<T> Weighted<T> {
    /// Weights from `(item, weight)` pairs; non-positive weights are never drawn.
    pub fn new(pairs: impl IntoIterator<Item = (T, f64)>) -> Self {
        let mut items = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0.0;
        for (item, w) in pairs {
            if w > 0.0 {
                total += w;
                items.push(item);
                cumulative.push(total);
            }
        }
        Weighted { items, cumulative }
    }

    /// Zipf–Mandelbrot weights by rank, `1 / (rank + q)^s`: the first item is the most common
    /// and the tail stays rare but present.
    pub fn zipf(items: impl IntoIterator<Item = T>, q: f64, s: f64) -> Self {
        Weighted::new(
            items
                .into_iter()
                .enumerate()
                .map(|(rank, item)| (item, 1.0 / (rank as f64 + 1.0 + q).powf(s))),
        )
    }

    /// How many items can be drawn.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing can be drawn.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The share of draws that give item `i`.
    pub fn share(&self, i: usize) -> f64 {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let below = if i == 0 { 0.0 } else { self.cumulative[i - 1] };
        match self.cumulative.get(i) {
            Some(c) if total > 0.0 => (c - below) / total,
            _ => 0.0,
        }
    }

    /// Draw one item; `None` only when the list is empty.
    pub fn draw(&self, rng: &mut SplitMix64) -> Option<&T> {
        let total = *self.cumulative.last()?;
        let x = rng.unit() * total;
        let i = self.cumulative.partition_point(|c| *c <= x);
        self.items.get(i.min(self.items.len() - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| SplitMix64::for_item(7, 3).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(
            SplitMix64::for_item(7, 3).next_u64(),
            SplitMix64::for_item(7, 4).next_u64()
        );
        assert_ne!(
            SplitMix64::for_item(7, 3).next_u64(),
            SplitMix64::for_item(8, 3).next_u64()
        );
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = SplitMix64::new(1);
        for n in [1u64, 2, 3, 10, 1000] {
            for _ in 0..1000 {
                assert!(r.below(n) < n);
            }
        }
        assert_eq!(r.below(0), 0);
        for _ in 0..1000 {
            let v = r.between(18, 95);
            assert!((18..=95).contains(&v));
        }
    }

    #[test]
    fn zipf_favours_the_head_and_keeps_the_tail() {
        let w = Weighted::zipf(0..300, 10.0, 1.0);
        let mut r = SplitMix64::new(42);
        let mut counts = vec![0u32; 300];
        for _ in 0..200_000 {
            if let Some(i) = w.draw(&mut r) {
                counts[*i] += 1;
            }
        }
        assert!(counts[0] > counts[10] && counts[10] > counts[299]);
        assert!(counts[299] > 0, "the rarest item is still drawn");
        assert!((w.share(0) - f64::from(counts[0]) / 200_000.0).abs() < 0.005);
    }
}
