//! The Fellegi–Sunter model: m and u probabilities per field level, the
//! prior, and scoring with term-frequency adjustments.
//!
//! Policy: for each field level, `m` = P(level | same person) and `u` =
//! P(level | different people); a pair's match weight is
//! `log2(prior odds) + Σ log2(m/u)` over the fields that are not missing, and
//! its probability is `2^w / (1 + 2^w)`. Levels flagged `tf` get Splink's
//! term-frequency adjustment `log2(u_exact / f)` where `f` is the value's
//! frequency (for emails and phones only ever downwards, see
//! [`super::tf`]). A model is stored as JSON ([`ModelSpec`]); loading checks
//! that every field and level is present in the order the comparator uses
//! and that probabilities are valid, so a stored model can never index out of
//! range. Scoring does not allocate: contributions are a fixed array.

use super::compare::{compare, Comparison};
use super::defaults;
use super::field::{Field, FIELD_COUNT, MAX_LEVELS, MISSING};
use super::guards::{self, Guards};
use super::record::Prepared;
use super::tf::TermFrequencies;
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// m and u of one level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelParams {
    /// Level name, as in [`Field::level_names`].
    pub name: String,
    /// P(level | same person).
    pub m: f64,
    /// P(level | different people).
    pub u: f64,
    /// Apply the term-frequency adjustment at this level.
    #[serde(default)]
    pub tf: bool,
}

/// The levels of one field, strongest agreement first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldParams {
    /// The field.
    pub field: Field,
    /// Its levels, in [`Field::level_names`] order.
    pub levels: Vec<LevelParams>,
}

/// The stored form of a [`Model`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// λ: probability that two records drawn at random are the same person.
    pub prior: f64,
    /// One entry per field (any order in JSON; kept in [`Field::ALL`] order).
    pub fields: Vec<FieldParams>,
}

/// Why a model specification was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelError(pub String);

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid match model: {}", self.0)
    }
}

impl std::error::Error for ModelError {}

/// Fields whose exact level can use term frequencies.
fn tf_capable(field: Field) -> bool {
    matches!(
        field,
        Field::Given | Field::Family | Field::Postcode | Field::Email | Field::Phone
    )
}

fn check_probability(what: &str, p: f64) -> Result<(), ModelError> {
    if p.is_finite() && p > 0.0 && p <= 1.0 {
        Ok(())
    } else {
        Err(ModelError(format!("{what} must be in (0, 1], got {p}")))
    }
}

/// Check a specification and put its fields in [`Field::ALL`] order.
fn validate(mut spec: ModelSpec) -> Result<ModelSpec, ModelError> {
    check_probability("prior", spec.prior)?;
    if spec.prior >= 1.0 {
        return Err(ModelError("prior must be below 1".into()));
    }
    spec.fields.sort_by_key(|f| f.field);
    let listed: Vec<Field> = spec.fields.iter().map(|f| f.field).collect();
    if listed != Field::ALL {
        return Err(ModelError(format!(
            "fields must be each of {:?} once, got {listed:?}",
            Field::ALL
        )));
    }
    for fp in &spec.fields {
        let want = fp.field.level_names();
        let got: Vec<&str> = fp.levels.iter().map(|l| l.name.as_str()).collect();
        if got != want {
            return Err(ModelError(format!(
                "{} levels must be {want:?}, got {got:?}",
                fp.field.name()
            )));
        }
        for l in &fp.levels {
            let what = format!("{}.{}", fp.field.name(), l.name);
            check_probability(&format!("{what}.m"), l.m)?;
            check_probability(&format!("{what}.u"), l.u)?;
            if l.tf && !tf_capable(fp.field) {
                return Err(ModelError(format!("{what}: no term frequencies for this field")));
            }
        }
        for (kind, sum) in [
            ("m", fp.levels.iter().map(|l| l.m).sum::<f64>()),
            ("u", fp.levels.iter().map(|l| l.u).sum::<f64>()),
        ] {
            if (sum - 1.0).abs() > 0.01 {
                return Err(ModelError(format!(
                    "{} {kind} values sum to {sum}, not 1",
                    fp.field.name()
                )));
            }
        }
    }
    Ok(spec)
}

/// A Fellegi–Sunter model ready for scoring (weights cached).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ModelSpec", into = "ModelSpec")]
pub struct Model {
    spec: ModelSpec,
    weights: [[f64; MAX_LEVELS]; FIELD_COUNT],
    log2_prior_odds: f64,
}

impl TryFrom<ModelSpec> for Model {
    type Error = ModelError;
    fn try_from(spec: ModelSpec) -> Result<Model, ModelError> {
        Model::from_spec(spec)
    }
}

impl From<Model> for ModelSpec {
    fn from(m: Model) -> ModelSpec {
        m.spec
    }
}

/// What one field added to a pair's match weight.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Contribution {
    /// The field.
    pub field: Field,
    /// The level name (`"exact"`, `"nickname"`, `"missing"`…).
    pub level: &'static str,
    /// log2 Bayes factor of the level (0 when missing).
    pub weight: f64,
    /// True when a term-frequency adjustment changed the weight.
    pub tf_adjusted: bool,
}

/// The score of a pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// log2 posterior odds: prior plus every contribution.
    pub match_weight: f64,
    /// Posterior probability that the records are the same person.
    pub probability: f64,
    /// The prior's share of `match_weight` (log2 prior odds).
    pub prior_weight: f64,
    /// One contribution per field, in [`Field::ALL`] order.
    pub contributions: [Contribution; FIELD_COUNT],
    /// False-merge guards that hold for the pair (they cap the decision).
    pub guards: Guards,
}

impl Default for Score {
    fn default() -> Self {
        Score {
            match_weight: 0.0,
            probability: 0.5,
            prior_weight: 0.0,
            contributions: Field::ALL.map(|field| Contribution {
                field,
                level: "missing",
                weight: 0.0,
                tf_adjusted: false,
            }),
            guards: Guards::none(),
        }
    }
}

impl Serialize for Guards {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// Probability from log2 odds, without overflow.
pub fn probability_of(weight: f64) -> f64 {
    if weight >= 0.0 {
        1.0 / (1.0 + (-weight).exp2())
    } else {
        let o = weight.exp2();
        o / (1.0 + o)
    }
}

/// The larger of two optional frequencies.
fn max_freq(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

impl Model {
    /// The shipped defaults for UK council data (see `defaults.rs` for the
    /// reasoning behind every number); usable on an empty database.
    pub fn default_uk() -> Model {
        Model::build(defaults::spec())
    }

    /// Check a specification and build a model from it.
    pub fn from_spec(spec: ModelSpec) -> Result<Model, ModelError> {
        validate(spec).map(Model::build)
    }

    /// Build without validation (the caller guarantees a valid spec).
    pub(crate) fn build(spec: ModelSpec) -> Model {
        let mut weights = [[0.0; MAX_LEVELS]; FIELD_COUNT];
        for (row, fp) in weights.iter_mut().zip(&spec.fields) {
            for (w, l) in row.iter_mut().zip(&fp.levels) {
                *w = (l.m / l.u).log2();
            }
        }
        let log2_prior_odds = (spec.prior / (1.0 - spec.prior)).log2();
        Model {
            spec,
            weights,
            log2_prior_odds,
        }
    }

    /// The stored form.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// λ, the prior match probability of a random pair.
    pub fn prior(&self) -> f64 {
        self.spec.prior
    }

    /// The same model with another prior.
    pub fn with_prior(&self, prior: f64) -> Result<Model, ModelError> {
        let mut spec = self.spec.clone();
        spec.prior = prior;
        Model::from_spec(spec)
    }

    /// log2 of the prior odds.
    pub fn log2_prior_odds(&self) -> f64 {
        self.log2_prior_odds
    }

    /// The parameters of a field.
    pub fn params(&self, field: Field) -> Option<&FieldParams> {
        self.spec.fields.get(field.index())
    }

    /// log2(m/u) of a level without term frequencies (0 for [`MISSING`]).
    pub fn level_weight(&self, field: Field, level: u8) -> f64 {
        if level == MISSING {
            return 0.0;
        }
        let row = self.weights.get(field.index());
        row.and_then(|r| r.get(usize::from(level))).copied().unwrap_or(0.0)
    }

    /// Match weight of a comparison without term frequencies (prior included).
    pub fn comparison_weight(&self, c: &Comparison) -> f64 {
        Field::ALL
            .iter()
            .fold(self.log2_prior_odds, |w, f| w + self.level_weight(*f, c.raw(*f)))
    }

    /// Score a pair: compare, weigh with term frequencies, evaluate guards.
    pub fn score(&self, a: &Prepared, b: &Prepared, tf: &dyn TermFrequencies) -> Score {
        let c = compare(a, b);
        self.score_comparison(&c, a, b, tf)
    }

    /// Score an already computed comparison of `a` and `b`.
    pub fn score_comparison(&self, c: &Comparison, a: &Prepared, b: &Prepared, tf: &dyn TermFrequencies) -> Score {
        let mut total = self.log2_prior_odds;
        let mut contributions = Score::default().contributions;
        for (slot, field) in contributions.iter_mut().zip(Field::ALL) {
            let level = c.raw(field);
            let base = self.level_weight(field, level);
            let adjusted = self.tf_weight(field, level, base, a, b, tf);
            let weight = adjusted.unwrap_or(base);
            total += weight;
            *slot = Contribution {
                field,
                level: field.level_name(level),
                weight,
                tf_adjusted: adjusted.is_some(),
            };
        }
        Score {
            match_weight: total,
            probability: probability_of(total),
            prior_weight: self.log2_prior_odds,
            contributions,
            guards: guards::evaluate(a, b, c),
        }
    }

    /// The term-frequency-adjusted weight of a level, when it applies.
    fn tf_weight(
        &self,
        field: Field,
        level: u8,
        base: f64,
        a: &Prepared,
        b: &Prepared,
        tf: &dyn TermFrequencies,
    ) -> Option<f64> {
        let levels = &self.params(field)?.levels;
        if !levels.get(usize::from(level))?.tf {
            return None;
        }
        let u_exact = levels.first()?.u;
        let freq = match field {
            Field::Given => max_freq(
                a.given_canonical().and_then(|k| tf.given(k)),
                b.given_canonical().and_then(|k| tf.given(k)),
            ),
            Field::Family => max_freq(
                a.family_key().and_then(|k| tf.family(k)),
                b.family_key().and_then(|k| tf.family(k)),
            ),
            Field::Postcode => max_freq(
                a.postcode().and_then(|k| tf.postcode(k)),
                b.postcode().and_then(|k| tf.postcode(k)),
            ),
            Field::Email => a
                .email_keys()
                .filter(|x| b.email_keys().any(|y| y == *x))
                .filter_map(|k| tf.email(k))
                .reduce(f64::min)
                .map(|f| f.max(u_exact)),
            Field::Phone => a
                .phones()
                .iter()
                .filter(|x| b.phones().contains(x))
                .filter_map(|k| tf.phone(k))
                .reduce(f64::min)
                .map(|f| f.max(u_exact)),
            _ => None,
        }?;
        if !freq.is_finite() {
            return None;
        }
        Some(base + (u_exact / freq.clamp(1e-9, 1.0)).log2())
    }
}
