//! Estimating the model from data: u from random pairs, m by EM.
//!
//! Policy (Splink's approach):
//! - **u** is estimated by counting levels among *random* pairs (almost all
//!   of which are different people), with one pseudo-pair spread by the
//!   starting u so an unseen level keeps a small non-zero value.
//! - **m** is estimated by expectation–maximisation on *blocked* candidate
//!   pairs with u held fixed. A blocking rule biases the m of the fields it
//!   uses (pairs were selected for agreeing on them), so [`estimate_sessions`]
//!   takes several training sessions, each with the fields its rule blocked
//!   on; those fields are left out of that session's E-step and M-step, and a
//!   field's final m is the average over the sessions where it was free,
//!   weighted by each session's expected number of matches. A field never
//!   free keeps its starting m. [`estimate`] is the single-session form (no
//!   field excluded), suitable when pairs were blocked on keys that mix
//!   fields, e.g. the union of all [`blocking_keys`](super::blocking::blocking_keys).
//! - **Guards** against degenerate estimates: every probability is clamped to
//!   [1e-6, 1 − 1e-6] and renormalised; the Bayes factor m/u is kept
//!   non-increasing along each field's level order (pool-adjacent-violators
//!   on m with u fixed); a field with no observed (non-missing) level keeps
//!   its starting values.
//! - The **prior** λ is the global probability over *all* pairs and cannot
//!   be learnt from candidate pairs alone; it is kept from the start model
//!   (set it with [`Model::with_prior`], e.g. from expected duplicates / total pairs).

use super::compare::Comparison;
use super::field::{Field, FIELD_COUNT, MISSING};
use super::model::{Model, ModelSpec};

pub use super::constraints::CLAMP;
use super::constraints::{clamp_normalise, monotone};

/// Pairs from one blocking rule and the fields that rule blocked on.
#[derive(Debug, Clone, Copy)]
pub struct TrainingSession<'a> {
    /// Comparison vectors of the candidate pairs.
    pub pairs: &'a [Comparison],
    /// Fields the blocking rule required to agree (excluded from this session).
    pub blocked_on: &'a [Field],
}

/// Estimate u from random pairs only (m and the prior kept).
pub fn estimate_u(random_pairs: &[Comparison], start: &Model) -> Model {
    let mut spec = start.spec().clone();
    for (fi, fp) in spec.fields.iter_mut().enumerate() {
        let field = Field::ALL.get(fi).copied().unwrap_or(Field::Given);
        let mut counts = vec![0.0; fp.levels.len()];
        for c in random_pairs {
            if let Some(slot) = c.level(field).and_then(|l| counts.get_mut(usize::from(l))) {
                *slot += 1.0;
            }
        }
        let n: f64 = counts.iter().sum();
        if n == 0.0 {
            continue;
        }
        let mut u: Vec<f64> = fp
            .levels
            .iter()
            .zip(&counts)
            .map(|(l, c)| (c + l.u) / (n + 1.0))
            .collect();
        clamp_normalise(&mut u);
        for (l, v) in fp.levels.iter_mut().zip(u) {
            l.u = v;
        }
    }
    finish(spec, start)
}

/// Rebuild a model from an estimated spec, keeping monotone order; falls
/// back to the start model if the result were somehow invalid.
fn finish(mut spec: ModelSpec, start: &Model) -> Model {
    for fp in &mut spec.fields {
        let u: Vec<f64> = fp.levels.iter().map(|l| l.u).collect();
        let mut m: Vec<f64> = fp.levels.iter().map(|l| l.m).collect();
        clamp_normalise(&mut m);
        monotone(&mut m, &u);
        for (l, v) in fp.levels.iter_mut().zip(m) {
            l.m = v.clamp(CLAMP.0, CLAMP.1);
        }
    }
    Model::from_spec(spec).unwrap_or_else(|_| start.clone())
}

/// Per-field m estimates of one session: (m per level, weight) or None if the field was not free.
type SessionEstimate = [Option<(Vec<f64>, f64)>; FIELD_COUNT];

/// EM on one session; `model` supplies u (fixed) and the starting m.
fn run_session(s: &TrainingSession<'_>, model: &Model, iterations: usize) -> SessionEstimate {
    let free: Vec<Field> = Field::ALL.into_iter().filter(|f| !s.blocked_on.contains(f)).collect();
    let mut m: Vec<Vec<f64>> = Field::ALL
        .iter()
        .map(|f| {
            model
                .params(*f)
                .map_or_else(Vec::new, |p| p.levels.iter().map(|l| l.m).collect())
        })
        .collect();
    let u: Vec<Vec<f64>> = Field::ALL
        .iter()
        .map(|f| {
            model
                .params(*f)
                .map_or_else(Vec::new, |p| p.levels.iter().map(|l| l.u).collect())
        })
        .collect();
    let mut lambda = 0.5_f64;
    let mut expected = 0.0;
    let mut observed = [false; FIELD_COUNT];
    for _ in 0..iterations {
        let mut num: Vec<Vec<f64>> = m.iter().map(|r| vec![0.0; r.len()]).collect();
        let mut den = [0.0_f64; FIELD_COUNT];
        let mut total = 0.0;
        let log_prior = (lambda / (1.0 - lambda)).ln();
        for c in s.pairs {
            let mut lo = log_prior;
            for f in &free {
                let l = usize::from(c.raw(*f));
                if let (Some(mf), Some(uf)) = (m[f.index()].get(l), u[f.index()].get(l)) {
                    lo += (mf / uf).ln();
                }
            }
            let p = 1.0 / (1.0 + (-lo).exp());
            total += p;
            for f in &free {
                let l = c.raw(*f);
                if l == MISSING {
                    continue;
                }
                if let Some(slot) = num[f.index()].get_mut(usize::from(l)) {
                    *slot += p;
                    den[f.index()] += p;
                    observed[f.index()] = true;
                }
            }
        }
        let n = s.pairs.len().max(1) as f64;
        lambda = (total / n).clamp(CLAMP.0, CLAMP.1);
        expected = total;
        let mut change = 0.0_f64;
        for f in &free {
            let i = f.index();
            if den[i] <= 0.0 {
                continue;
            }
            let mut new: Vec<f64> = num[i].iter().map(|x| x / den[i]).collect();
            clamp_normalise(&mut new);
            monotone(&mut new, &u[i]);
            for (old, v) in m[i].iter_mut().zip(new) {
                change = change.max((*old - v).abs());
                *old = v;
            }
        }
        if change < 1e-7 {
            break;
        }
    }
    let mut out: SessionEstimate = Default::default();
    for f in free {
        if observed[f.index()] {
            out[f.index()] = Some((m[f.index()].clone(), expected));
        }
    }
    out
}

/// Estimate u from `random_pairs`, then m by EM on `pairs` (one session, no
/// field excluded), for at most `iterations` EM rounds.
pub fn estimate(pairs: &[Comparison], random_pairs: &[Comparison], start: &Model, iterations: usize) -> Model {
    estimate_sessions(
        &[TrainingSession { pairs, blocked_on: &[] }],
        random_pairs,
        start,
        iterations,
    )
}

/// Estimate u from `random_pairs`, then m by EM per session, combining each
/// field's m over the sessions where it was free.
pub fn estimate_sessions(
    sessions: &[TrainingSession<'_>],
    random_pairs: &[Comparison],
    start: &Model,
    iterations: usize,
) -> Model {
    let with_u = estimate_u(random_pairs, start);
    let estimates: Vec<SessionEstimate> = sessions.iter().map(|s| run_session(s, &with_u, iterations)).collect();
    let mut spec = with_u.spec().clone();
    for (fi, fp) in spec.fields.iter_mut().enumerate() {
        let mut acc = vec![0.0; fp.levels.len()];
        let mut weight = 0.0;
        for (m, w) in estimates.iter().filter_map(|e| e.get(fi).and_then(Option::as_ref)) {
            for (a, v) in acc.iter_mut().zip(m) {
                *a += v * w;
            }
            weight += w;
        }
        if weight > 0.0 {
            for (l, a) in fp.levels.iter_mut().zip(acc) {
                l.m = a / weight;
            }
        }
    }
    finish(spec, start)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64: a tiny deterministic generator for synthetic data.
    struct Rng(u64);

    impl Rng {
        fn unit(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        }

        fn draw(&mut self, probs: &[f64]) -> u8 {
            let x = self.unit();
            let mut edge = 0.0;
            for (i, p) in probs.iter().enumerate() {
                edge += p;
                if x < edge {
                    return i as u8;
                }
            }
            (probs.len() - 1) as u8
        }
    }

    /// Known (m, u) rows by number of levels; Bayes factors decrease.
    fn truth(levels: usize) -> (Vec<f64>, Vec<f64>) {
        match levels {
            3 => (vec![0.75, 0.15, 0.10], vec![0.01, 0.09, 0.90]),
            4 => (vec![0.70, 0.15, 0.10, 0.05], vec![0.005, 0.02, 0.10, 0.875]),
            6 => (
                vec![0.60, 0.10, 0.10, 0.08, 0.07, 0.05],
                vec![0.004, 0.006, 0.01, 0.03, 0.10, 0.85],
            ),
            _ => (
                vec![0.50, 0.10, 0.10, 0.08, 0.07, 0.06, 0.05, 0.04],
                vec![0.002, 0.004, 0.006, 0.01, 0.02, 0.05, 0.10, 0.808],
            ),
        }
    }

    fn sample(rng: &mut Rng, is_match: bool, fixed: &[(Field, u8)]) -> Comparison {
        let mut c = Comparison::all_missing();
        for f in Field::ALL {
            let (m, u) = truth(f.level_names().len());
            let level = if let Some((_, l)) = fixed.iter().find(|(g, _)| *g == f) {
                Some(*l)
            } else if rng.unit() < 0.1 {
                None
            } else {
                Some(rng.draw(if is_match { &m } else { &u }))
            };
            c = c.with(f, level);
        }
        c
    }

    fn data(seed: u64, n: usize, lambda: f64, fixed: &[(Field, u8)]) -> Vec<Comparison> {
        let mut rng = Rng(seed);
        (0..n)
            .map(|_| {
                let is_match = rng.unit() < lambda;
                sample(&mut rng, is_match, fixed)
            })
            .collect()
    }

    #[test]
    fn recovers_known_parameters() {
        let pairs = data(1, 40_000, 0.25, &[]);
        let random = data(2, 200_000, 0.0, &[]);
        let got = estimate(&pairs, &random, &Model::default_uk(), 200);
        for f in Field::ALL {
            let (m, u) = truth(f.level_names().len());
            let levels = got.params(f).map(|p| p.levels.clone()).unwrap_or_default();
            assert_eq!(levels.len(), m.len());
            for (i, l) in levels.iter().enumerate() {
                assert!((l.m - m[i]).abs() < 0.02, "{f:?} level {i}: m {} vs {}", l.m, m[i]);
                let tol = (0.25 * u[i]).max(0.005);
                assert!((l.u - u[i]).abs() < tol, "{f:?} level {i}: u {} vs {}", l.u, u[i]);
            }
        }
        assert_eq!(got.prior(), Model::default_uk().prior());
    }

    #[test]
    fn blocked_fields_keep_their_start_m() {
        // Pairs blocked on an exact date of birth: dob agrees for everyone.
        let blocked = data(3, 20_000, 0.3, &[(Field::Dob, 0)]);
        let free = data(4, 20_000, 0.3, &[]);
        let random = data(5, 100_000, 0.0, &[]);
        let start = Model::default_uk();
        let only_blocked = [TrainingSession {
            pairs: &blocked,
            blocked_on: &[Field::Dob],
        }];
        let got = estimate_sessions(&only_blocked, &random, &start, 100);
        let m_of = |m: &Model, f: Field| m.params(f).map(|p| p.levels.iter().map(|l| l.m).collect::<Vec<_>>());
        let start_dob = m_of(&start, Field::Dob).unwrap_or_default();
        let got_dob = m_of(&got, Field::Dob).unwrap_or_default();
        for (a, b) in start_dob.iter().zip(&got_dob) {
            assert!((a - b).abs() < 0.02, "dob m moved: {start_dob:?} → {got_dob:?}");
        }
        let family = m_of(&got, Field::Family).unwrap_or_default();
        assert!((family[0] - 0.60).abs() < 0.03, "{family:?}");
        // With a second session free on dob, dob m is learnt from it.
        let both = [
            only_blocked[0],
            TrainingSession {
                pairs: &free,
                blocked_on: &[],
            },
        ];
        let got = estimate_sessions(&both, &random, &start, 100);
        let dob = m_of(&got, Field::Dob).unwrap_or_default();
        assert!((dob[0] - 0.70).abs() < 0.03, "{dob:?}");
    }

    #[test]
    fn degenerate_inputs_are_guarded() {
        let start = Model::default_uk();
        let close = |a: &Model, b: &Model| {
            let flat = |m: &Model| -> Vec<f64> {
                m.spec()
                    .fields
                    .iter()
                    .flat_map(|f| f.levels.iter().flat_map(|l| [l.m, l.u]))
                    .collect()
            };
            flat(a).iter().zip(flat(b)).all(|(x, y)| (x - y).abs() < 1e-9)
        };
        assert!(close(&estimate(&[], &[], &start, 10), &start));
        let all_missing = vec![Comparison::all_missing(); 100];
        assert!(close(&estimate(&all_missing, &all_missing, &start, 10), &start));
        // Every pair agrees everywhere: estimates stay clamped and valid.
        let exact = vec![Comparison::from_levels([0; FIELD_COUNT]); 1000];
        let got = estimate(&exact, &exact, &start, 50);
        for fp in &got.spec().fields {
            for l in &fp.levels {
                assert!(
                    l.m >= CLAMP.0 && l.m <= CLAMP.1 && l.u >= CLAMP.0 && l.u <= CLAMP.1,
                    "{fp:?}"
                );
            }
        }
    }
}
