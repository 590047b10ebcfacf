//! Identity resolution: deciding whether two departmental records describe
//! the same person.
//!
//! Policy: a Fellegi–Sunter record-linkage engine in the style of Splink,
//! pure and database-free, tuned so that a false merge is rarer than a
//! missed one.
//!
//! 1. [`record::Prepared::from_record`] normalises a [`record::MatchRecord`]
//!    once (names folded, nickname groups, phonetic codes, email keys, E.164
//!    phones, postcode parts, address numbers and street words).
//! 2. [`blocking::blocking_keys`] gives the keys under which to look for
//!    candidates; only records sharing a key are compared.
//! 3. [`compare::compare`] turns a pair into one discrete level per field.
//! 4. [`model::Model::score`] adds the levels' log2 Bayes factors (with
//!    term-frequency adjustments from a [`tf::TermFrequencies`] source) to
//!    the prior and evaluates the [`guards`] against false merges.
//! 5. [`decide::decide`] applies thresholds and the guards' ceiling.
//! 6. [`em`] re-estimates the model from the data (u from random pairs, m by
//!    EM on candidate pairs); [`model::Model::default_uk`] works before that.
//!
//! Comparison and scoring do not allocate; nothing here panics on any input.

mod address;
pub mod blocking;
pub mod compare;
mod constraints;
mod contact;
pub mod decide;
mod defaults;
pub mod em;
pub mod field;
pub mod guards;
pub mod model;
mod names;
mod nickname_table;
mod nicknames;
mod ocr;
pub mod record;
mod strsim;
pub mod tf;

#[cfg(test)]
mod bench;
#[cfg(test)]
mod eval;
#[cfg(test)]
mod noisy_pairs;
#[cfg(test)]
mod props;
#[cfg(test)]
mod scenarios;

pub use blocking::blocking_keys;
pub use compare::{compare, Comparison};
pub use decide::{decide, Decision, Thresholds};
pub use em::{estimate, estimate_sessions, TrainingSession};
pub use field::Field;
pub use guards::{Guard, Guards};
pub use model::{Contribution, Model, ModelError, ModelSpec, Score};
pub use names::Suffix;
pub use record::{MatchRecord, Prepared};
pub use tf::{FrequencyTable, NoFrequencies, TermFrequencies};
