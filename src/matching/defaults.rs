//! The shipped default model for UK council data.
//!
//! Policy: defaults must work on a nearly empty database (before there is
//! anything to estimate from) and err towards *not* merging. `m` values are
//! what a person's two records from different departments look like;
//! `u` values are what two different residents of one UK city look like.
//! Each `m` and `u` row sums to 1, and along each field the Bayes factor
//! `m/u` never increases (estimation keeps that order too).
//!
//! - **Prior** λ = 1e-6 (−19.9 bits): a city database of ~500k records in
//!   which a quarter of people appear twice has ~1.2e5 matching pairs among
//!   1.25e11. Estimation replaces it when there is data.
//! - **Given** exact u 0.012 ≈ Σf² of UK first names (John, David, Sarah…
//!   1–3 % each); nickname u 0.002; `different` m 0.02 (name really changed
//!   or misrecorded). Exact ≈ +6.1 bits, nickname +4.9, different −5.6.
//! - **Family** exact u 0.002 ≈ Σf² of UK surnames (Smith 1.3 %); m of
//!   `different` 0.055 covers marriage. Exact ≈ +8.8, different −4.2.
//! - **Dob** exact u 5e-5 ≈ 1/(365 × 55 effective years); typo u 0.0015
//!   (≈30 one-slip neighbours of a date in the last year digit, month and
//!   day); exact +14.2, swap +9.0, typo +4.3, different −5.1.
//! - **Email** exact u 1e-6 (shared family mailboxes exist; the clamp floor
//!   of estimation too), m 0.70 (people hold several addresses): +19.4.
//! - **Phone** exact u 5e-6 (household landlines), m 0.65: +17.0.
//! - **Postcode** exact u 5e-5 (≈25 residents per postcode in a 500k
//!   city), m 0.80 (moves): +14.0; sector and outward are weak because a
//!   city database is dominated by a few districts (outward is even
//!   slightly negative).
//! - **Address** u values are set as if *given the postcode agrees* (which
//!   of ~15–40 delivery points), so that postcode and address together do
//!   not double-count one household: exact +9.5, number and street +7.3.
//! - **Organisation** is weak (the corporation itself employs many
//!   residents): exact +5.6.
//!
//! Term frequencies apply to given exact and nickname, family exact,
//! postcode exact, email exact and phone exact.

use super::field::Field;
use super::model::{FieldParams, LevelParams, ModelSpec};

/// λ of the default model.
pub const DEFAULT_PRIOR: f64 = 1e-6;

/// `(m, u, tf)` per level, in level order, per field in [`Field::ALL`] order.
const TABLE: [&[(f64, f64, bool)]; 8] = [
    // Given: exact, nickname, swapped, middle_name, jw 0.92, initial, jw 0.80, different.
    &[
        (0.82, 0.012, true),
        (0.06, 0.002, true),
        (0.01, 0.0005, false),
        (0.02, 0.001, false),
        (0.03, 0.002, false),
        (0.03, 0.004, false),
        (0.01, 0.03, false),
        (0.02, 0.9485, false),
    ],
    // Family: exact, swapped, partial, jw 0.92, phonetic, different.
    &[
        (0.88, 0.002, true),
        (0.005, 0.00005, false),
        (0.02, 0.0005, false),
        (0.03, 0.003, false),
        (0.01, 0.003, false),
        (0.055, 0.99145, false),
    ],
    // Dob: exact, day/month swap, typo, different.
    &[
        (0.93, 0.00005, false),
        (0.01, 0.00002, false),
        (0.03, 0.0015, false),
        (0.03, 0.99843, false),
    ],
    // Email: exact, same local part, one edit, different.
    &[
        (0.70, 0.000001, true),
        (0.05, 0.0001, false),
        (0.05, 0.001, false),
        (0.20, 0.998899, false),
    ],
    // Phone: exact, one-digit slip, different.
    &[(0.65, 0.000005, true), (0.02, 0.0001, false), (0.33, 0.999895, false)],
    // Postcode: exact, sector, outward, different.
    &[
        (0.80, 0.00005, true),
        (0.04, 0.005, false),
        (0.03, 0.05, false),
        (0.13, 0.94495, false),
    ],
    // Address: exact, number and street, street only, different.
    &[
        (0.70, 0.001, false),
        (0.08, 0.0005, false),
        (0.05, 0.01, false),
        (0.17, 0.9885, false),
    ],
    // Organisation: exact, similar, different.
    &[(0.50, 0.01, false), (0.10, 0.005, false), (0.40, 0.985, false)],
];

/// The default specification.
pub(crate) fn spec() -> ModelSpec {
    let fields = Field::ALL
        .into_iter()
        .zip(TABLE)
        .map(|(field, rows)| FieldParams {
            field,
            levels: field
                .level_names()
                .iter()
                .zip(rows)
                .map(|(name, &(m, u, tf))| LevelParams {
                    name: (*name).to_string(),
                    m,
                    u,
                    tf,
                })
                .collect(),
        })
        .collect();
    ModelSpec {
        prior: DEFAULT_PRIOR,
        fields,
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::Model;
    use super::*;

    #[test]
    fn defaults_are_valid_and_monotone() {
        let spec = spec();
        let model = Model::from_spec(spec.clone());
        assert!(model.is_ok(), "{model:?}");
        for (fp, rows) in spec.fields.iter().zip(TABLE) {
            assert_eq!(fp.levels.len(), rows.len(), "{:?}", fp.field);
            let ratios: Vec<f64> = fp.levels.iter().map(|l| l.m / l.u).collect();
            assert!(ratios.windows(2).all(|w| w[0] >= w[1]), "{:?} {ratios:?}", fp.field);
        }
    }
}
