//! Funnel: invited → registered → attended → came back, for one activity or one kind.
//!
//! Policy ("how far did each person get", counted in people):
//! - In scope: events of the activity (or of any activity of the kind).
//! - Each person reaches the **furthest** step they have evidence for, and counts at that step
//!   and every earlier one (steps are cumulative). So a walk-in who attended without a recorded
//!   invitation or registration counts as invited and registered: the funnel measures progress,
//!   not record-keeping. Counts are therefore non-increasing along the steps.
//! - invited = an in-scope `invited`; registered = an in-scope `registered`; attended = an
//!   in-scope participation (`attended`, `volunteered` or `responded`); came back = after their
//!   first in-scope participation, a participation **strictly later** in a **different activity**
//!   (any kind, any department, as far as the caller's filters let events through).
//! - The order of invited / registered / attended in time is not checked (records are often
//!   loaded late). Other actions (sends, opens, cancellations…) are ignored.
//! - `dropped` at a step = people at the previous step minus people at this step. The identities
//!   `previous = this + dropped` are audited, so a small drop-off cannot be worked out from two
//!   shown step counts: one of them is hidden too.

use serde::Serialize;

use super::audit::Table;
use super::count::{percent, Count};
use super::input::{ActionClass, Dictionary, EventIds, FunnelScope};
use super::stream::PersonSink;

/// A funnel step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FunnelStep {
    /// Invited (or further).
    Invited,
    /// Registered (or further).
    Registered,
    /// Took part: attended, volunteered or responded.
    Attended,
    /// Took part in another activity later.
    CameBack,
}

impl FunnelStep {
    /// All steps in order.
    pub const ALL: [FunnelStep; 4] = [
        FunnelStep::Invited,
        FunnelStep::Registered,
        FunnelStep::Attended,
        FunnelStep::CameBack,
    ];

    /// The step's code, as serialised.
    pub fn code(self) -> &'static str {
        match self {
            FunnelStep::Invited => "invited",
            FunnelStep::Registered => "registered",
            FunnelStep::Attended => "attended",
            FunnelStep::CameBack => "came_back",
        }
    }
}

/// The funnel.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Funnel {
    /// The small-count threshold applied.
    pub min_count: u64,
    /// What the funnel follows.
    pub scope: FunnelScope,
    /// The four steps, in order.
    pub steps: Vec<FunnelStepCount>,
    /// Times the input was found not sorted by person (0 when the caller's SQL is right).
    #[serde(skip)]
    pub order_breaks: u64,
}

/// People at one step.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FunnelStepCount {
    /// The step.
    pub step: FunnelStep,
    /// People who reached this step (or a later one).
    pub people: Count,
    /// People at the previous step who did not reach this one; null for the first step.
    pub dropped: Option<Count>,
    /// `people` as a percentage of the previous step's, one decimal; null for the first step or
    /// when either count is not published.
    pub conversion_pct: Option<f64>,
}

/// Accumulates the funnel person by person.
#[derive(Debug)]
pub(crate) struct FunnelAcc {
    activity: Option<i64>,
    kind: Option<u16>,
    reached: [u64; 4],
}

impl FunnelAcc {
    /// A funnel over `scope`; `kind` is the scope kind's id when the scope is a kind (None when
    /// the kind is unknown: nothing matches).
    pub(crate) fn new(scope: &FunnelScope, kind: Option<u16>) -> Self {
        FunnelAcc {
            activity: match scope {
                FunnelScope::Activity(a) => Some(*a),
                FunnelScope::Kind(_) => None,
            },
            kind,
            reached: [0; 4],
        }
    }

    fn in_scope(&self, ev: &EventIds) -> bool {
        match (self.activity, self.kind) {
            (Some(a), _) => ev.activity == a,
            (None, Some(k)) => ev.kind == k,
            (None, None) => false,
        }
    }
}

impl PersonSink for FunnelAcc {
    fn person(&mut self, events: &[EventIds], dict: &Dictionary) {
        let mut level = 0usize;
        let mut first: Option<(i64, i64)> = None;
        for ev in events {
            let class = dict.action_class(ev.action);
            if let Some((at, activity)) = first {
                if class == ActionClass::Participation && ev.at_secs > at && ev.activity != activity {
                    level = 4;
                    break;
                }
            }
            if !self.in_scope(ev) {
                continue;
            }
            match class {
                ActionClass::Invited => level = level.max(1),
                ActionClass::Registered => level = level.max(2),
                ActionClass::Participation => {
                    level = level.max(3);
                    first.get_or_insert((ev.at_secs, ev.activity));
                }
                ActionClass::Other => {}
            }
        }
        for r in self.reached.iter_mut().take(level) {
            *r += 1;
        }
    }
}

impl FunnelAcc {
    /// Suppress and label.
    pub(crate) fn finish(self, scope: FunnelScope, k: u64, order_breaks: u64) -> Funnel {
        let mut table = Table::new();
        let people: Vec<_> = self.reached.iter().map(|n| table.cell(*n)).collect();
        let mut dropped = Vec::with_capacity(3);
        for w in people.windows(2) {
            if let [before, after] = w {
                let before_n = self.reached.get(dropped.len()).copied().unwrap_or(0);
                let after_n = self.reached.get(dropped.len() + 1).copied().unwrap_or(0);
                let d = table.cell(before_n.saturating_sub(after_n));
                table.sum(&[*after, d], *before);
                dropped.push(d);
            }
        }
        let published = table.resolve(k);
        let counts: Vec<Count> = people.iter().map(|c| published.count(*c)).collect();
        let steps = FunnelStep::ALL
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let here = counts.get(i).copied().unwrap_or(Count::Below(k));
                let before = i.checked_sub(1).and_then(|j| counts.get(j).copied());
                FunnelStepCount {
                    step: *step,
                    people: here,
                    dropped: i
                        .checked_sub(1)
                        .and_then(|j| dropped.get(j))
                        .map(|c| published.count(*c)),
                    conversion_pct: before.and_then(|b| percent(here, b)),
                }
            })
            .collect();
        Funnel {
            min_count: k,
            scope,
            steps,
            order_breaks,
        }
    }
}
