//! Turning a score into a decision.
//!
//! Policy: [`decide`] compares the match probability with two thresholds and
//! then applies the false-merge guards carried in the [`Score`] (see
//! [`super::guards`]): the decision is the *lower* of the two. Defaults:
//! link at probability ≥ 0.999 (match weight ≥ about +10 bits), review at
//! ≥ 0.80 (≥ +2 bits). With the shipped model, exact name + date of birth +
//! one exact contact point (email, phone or postcode) clears the link bar
//! even for the commonest names; name + date of birth alone links only for
//! rare names and goes to review for "John Smith"; the example pair
//! (nickname, same phone and postcode, no date of birth) scores about +25
//! bits. 0.999 rather than Splink's usual 0.95–0.99 because a false merge is
//! worse than a missed one and Fellegi–Sunter probabilities are
//! over-confident when fields are correlated; 0.80 keeps the review queue to
//! pairs that are more likely than not the same person by a clear margin.

use super::model::Score;
use serde::{Deserialize, Serialize};

/// What to do with a candidate pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Same person: link automatically.
    Link,
    /// Possibly the same person: ask a person.
    Review,
    /// Treat as different people.
    NewPerson,
}

impl Decision {
    /// Strength of the decision: NewPerson 0, Review 1, Link 2.
    pub fn rank(self) -> u8 {
        match self {
            Decision::NewPerson => 0,
            Decision::Review => 1,
            Decision::Link => 2,
        }
    }

    /// The weaker of `self` and `ceiling`.
    pub fn at_most(self, ceiling: Decision) -> Decision {
        if self.rank() <= ceiling.rank() {
            self
        } else {
            ceiling
        }
    }

    /// Stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            Decision::Link => "link",
            Decision::Review => "review",
            Decision::NewPerson => "new_person",
        }
    }
}

/// Probability thresholds for [`decide`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Link when the match probability is at least this.
    pub link: f64,
    /// Review when the match probability is at least this (and below `link`).
    pub review: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            link: 0.999,
            review: 0.80,
        }
    }
}

/// Decide a pair from its score: thresholds first, then the guards' ceiling.
/// A NaN probability or threshold never links.
pub fn decide(score: &Score, t: &Thresholds) -> Decision {
    let p = score.probability;
    let by_score = if p >= t.link && p >= t.review {
        Decision::Link
    } else if p >= t.review {
        Decision::Review
    } else {
        Decision::NewPerson
    };
    by_score.at_most(score.guards.ceiling())
}

#[cfg(test)]
mod tests {
    use super::super::guards::{Guard, Guards};
    use super::*;

    fn score(p: f64, guards: &[Guard]) -> Score {
        let mut g = Guards::none();
        for x in guards {
            g.insert(*x);
        }
        Score {
            probability: p,
            guards: g,
            ..Score::default()
        }
    }

    #[test]
    fn thresholds_and_guards() {
        let t = Thresholds::default();
        assert_eq!(decide(&score(0.9995, &[]), &t), Decision::Link);
        assert_eq!(decide(&score(0.99, &[]), &t), Decision::Review);
        assert_eq!(decide(&score(0.5, &[]), &t), Decision::NewPerson);
        assert_eq!(decide(&score(f64::NAN, &[]), &t), Decision::NewPerson);
        assert_eq!(decide(&score(1.0, &[Guard::DobConflict]), &t), Decision::Review);
        assert_eq!(decide(&score(0.1, &[Guard::DobConflict]), &t), Decision::NewPerson);
        assert_eq!(decide(&score(1.0, &[Guard::SuffixConflict]), &t), Decision::NewPerson);
        assert_eq!(Decision::Link.at_most(Decision::Review), Decision::Review);
        assert_eq!(Decision::NewPerson.at_most(Decision::Link), Decision::NewPerson);
        let odd = Thresholds { link: 0.5, review: 0.9 };
        assert_eq!(decide(&score(0.6, &[]), &odd), Decision::NewPerson);
    }
}
