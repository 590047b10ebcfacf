//! Constraints that keep estimated probabilities usable.
//!
//! Policy: estimates never reach 0 or 1 (every probability is clamped to
//! [`CLAMP`], so a single level can contribute at most about ±20 bits), each
//! field's m and u each sum to 1, and the Bayes factor m/u never increases
//! along a field's level order (a "typo" level can never outweigh "exact").
//! Used by [`super::em`] after every estimation step.

/// Smallest and largest probability an estimate may take.
pub const CLAMP: (f64, f64) = (1e-6, 1.0 - 1e-6);

/// Clamp, renormalise to sum 1, clamp again (the sum may then be off by at
/// most a few multiples of the lower clamp).
pub(crate) fn clamp_normalise(p: &mut [f64]) {
    let clamp = |x: f64| {
        if x.is_finite() {
            x.clamp(CLAMP.0, CLAMP.1)
        } else {
            CLAMP.0
        }
    };
    for x in p.iter_mut() {
        *x = clamp(*x);
    }
    let sum: f64 = p.iter().sum();
    for x in p.iter_mut() {
        *x = clamp(*x / sum);
    }
}

/// Make m/u non-increasing along the levels (pool adjacent violators;
/// pooled blocks share the ratio Σm/Σu, so Σm is preserved).
pub(crate) fn monotone(m: &mut [f64], u: &[f64]) {
    // Blocks as (first level, sum m, sum u).
    let mut blocks: Vec<(usize, f64, f64)> = Vec::with_capacity(m.len());
    for (i, (mi, ui)) in m.iter().zip(u).enumerate() {
        blocks.push((i, *mi, *ui));
        while blocks.len() >= 2 {
            let n = blocks.len();
            let (_, m1, u1) = blocks[n - 1];
            let (_, m0, u0) = blocks[n - 2];
            if m1 / u1 > m0 / u0 {
                blocks.pop();
                if let Some(last) = blocks.last_mut() {
                    last.1 += m1;
                    last.2 += u1;
                }
            } else {
                break;
            }
        }
    }
    for (k, &(start, sm, su)) in blocks.iter().enumerate() {
        let end = blocks.get(k + 1).map_or(m.len(), |b| b.0);
        for i in start..end {
            if let (Some(mi), Some(ui)) = (m.get_mut(i), u.get(i)) {
                *mi = sm / su * ui;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotone_pools_violators() {
        let u = [0.1, 0.2, 0.3, 0.4];
        let mut m = [0.1, 0.5, 0.2, 0.2];
        monotone(&mut m, &u);
        let ratios: Vec<f64> = m.iter().zip(&u).map(|(a, b)| a / b).collect();
        assert!(ratios.windows(2).all(|w| w[0] >= w[1] - 1e-12), "{ratios:?}");
        assert!((m.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let mut p = [0.0, f64::NAN, 2.0];
        clamp_normalise(&mut p);
        assert!(p.iter().all(|x| *x > 0.0) && (p.iter().sum::<f64>() - 1.0).abs() < 1e-5);
    }
}
