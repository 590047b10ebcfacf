//! One department's list of chosen generated people, for measuring imports into a database that
//! `lighthouse generate` filled (`benches/imports.rs`).
//!
//! Unlike [`write_copies`](super::write_copies), which makes entities of its own (look-alikes
//! included) and spreads them over several departments, this writes exactly one noisy copy of
//! each person named by index: person `i` of the data set `lighthouse generate --seed S` makes,
//! never a look-alike, so an index below the number generated is someone the database holds and
//! an index at or above it is a new person.

use std::path::Path;

use super::entity::Entity;
use super::style::{cells, external_id, STYLES};
use super::{create, noisy_copy, Rates, COPY_SALT};
use crate::synth::rng::SplitMix64;

/// How [`write_list`] writes its list.
#[derive(Debug, Clone)]
pub struct ListSpec {
    /// The seed of the people (as given to `lighthouse generate`) and of the noise.
    pub seed: u64,
    /// Whose way of writing, 0-based: 0 writes like DEPT1 (a box-office system), 1 like DEPT2
    /// (a mainframe export), 2 like DEPT3 (a web form), 3 like DEPT1 again, and so on. It also
    /// picks the space the external ids are drawn from.
    pub department: usize,
    /// The department's number of the first row: external ids are those of rows `first_row`,
    /// `first_row + 1`, …, so lists written with ranges that do not overlap share no id.
    pub first_row: u64,
    /// The noise of each copy (the look-alike and department rates are not used).
    pub rates: Rates,
}

/// Write one copy of each person at `indices`, in that order, to a CSV file at `path` (header
/// first). Returns the number of rows written. The copy of person `i` depends only on the seed,
/// the rates and `i`; addresses on the placeholder domains the matching ignores are moved to a
/// provider's domain, as in every synth-copies list.
pub fn write_list(path: &Path, spec: &ListSpec, indices: impl IntoIterator<Item = u64>) -> Result<u64, String> {
    let style = &STYLES[spec.department % STYLES.len()];
    let fail = |e: csv::Error| format!("cannot write {}: {e}", path.display());
    let mut w = create(path)?;
    w.write_record(style.columns.iter().map(|c| c.0)).map_err(fail)?;
    let mut n = 0u64;
    for index in indices {
        let e = Entity::from_sample(spec.seed, index);
        let mut rng = SplitMix64::for_item(spec.seed ^ COPY_SALT, index);
        let record = noisy_copy(&e, spec.seed, &spec.rates, &mut rng);
        let id = external_id(spec.seed, spec.department, spec.first_row + n, style);
        w.write_record(cells(&record, style, &id)).map_err(fail)?;
        n += 1;
    }
    w.flush().map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(n)
}
