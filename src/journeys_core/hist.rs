//! Bounded histograms of delays in whole days, for exact medians in bounded memory.
//!
//! Policy: a delay is floored to whole days; delays of [`DELAY_CAP_DAYS`] days or more share the
//! last bucket, so a median that lands there reads as the cap. The median of an even number of
//! delays is the mean of the two middle ones (so it may end in .5).

/// Delays at or beyond this many days (about ten years) share one bucket.
pub const DELAY_CAP_DAYS: usize = 3_650;

/// Counts of delays by whole day; grows only up to the largest delay seen (at most the cap).
#[derive(Debug, Clone, Default)]
pub(crate) struct DelayHistogram {
    buckets: Vec<u32>,
    total: u64,
}

impl DelayHistogram {
    /// Record one delay.
    pub(crate) fn add(&mut self, days: i64) {
        let day = usize::try_from(days.max(0))
            .unwrap_or(DELAY_CAP_DAYS)
            .min(DELAY_CAP_DAYS);
        if day >= self.buckets.len() {
            self.buckets.resize(day + 1, 0);
        }
        if let Some(b) = self.buckets.get_mut(day) {
            *b = b.saturating_add(1);
        }
        self.total += 1;
    }

    /// How many delays were recorded.
    #[cfg(test)]
    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// The exact median in days, if any delay was recorded.
    pub(crate) fn median(&self) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let lower = self.nth((self.total - 1) / 2)?;
        let upper = self.nth(self.total / 2)?;
        Some((lower + upper) as f64 / 2.0)
    }

    /// The `n`-th smallest delay (0-based).
    fn nth(&self, n: u64) -> Option<usize> {
        let mut seen = 0u64;
        for (day, count) in self.buckets.iter().enumerate() {
            seen += u64::from(*count);
            if seen > n {
                return Some(day);
            }
        }
        None
    }
}
