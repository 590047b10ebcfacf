//! Input types: events as the caller streams them, their interned form, the dictionary of names
//! and the options shared by every analytic.
//!
//! Policy: kinds, actions and department codes are interned into `u16` ids on first sight so the
//! hot loop compares integers, never strings. Kind and department names are kept exactly as given
//! (they are shown as labels). Actions are classified once, when first seen, after trimming and
//! ASCII-lowercasing: `invited`, `registered`, and the three *participation* actions `attended`,
//! `volunteered`, `responded`. Every other action (`sent`, `opened`, `clicked`, `cancelled`, …)
//! is not engagement and only ever ignored.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::intern::Interner;

/// One engagement event as the caller reads it from SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// Person id. Used only to group events; never appears in any output.
    pub person: i64,
    /// When it happened (naive; the caller's convention, normally UTC).
    pub at: NaiveDateTime,
    /// Activity kind, e.g. `banquet`, `volunteering`, `consultation`.
    pub kind: String,
    /// What the person did, e.g. `invited`, `registered`, `attended`.
    pub action: String,
    /// Department code, e.g. `BARB`.
    pub department: String,
    /// Activity id (one banquet, one consultation, …).
    pub activity: i64,
}

/// One engagement event with its names replaced by [`Dictionary`] ids: the fast input form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventIds {
    /// Person id. Used only to group events; never appears in any output.
    pub person: i64,
    /// Seconds since 1970-01-01T00:00:00 (of the caller's naive clock).
    pub at_secs: i64,
    /// Kind id from [`Dictionary::kind_id`].
    pub kind: u16,
    /// Action id from [`Dictionary::action_id`].
    pub action: u16,
    /// Department id from [`Dictionary::department_id`].
    pub department: u16,
    /// Activity id.
    pub activity: i64,
}

/// How an action counts. Decided once per distinct action name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionClass {
    /// `invited`: the first funnel step; not participation.
    Invited,
    /// `registered`: the second funnel step; not participation.
    Registered,
    /// `attended`, `volunteered` or `responded`: the person took part.
    Participation,
    /// Anything else (sends, opens, clicks, cancellations…): ignored by every analytic.
    Other,
}

impl ActionClass {
    /// Classify an action name (trimmed, ASCII case-insensitive).
    pub fn of(name: &str) -> ActionClass {
        let name = name.trim();
        let is = |word: &str| name.eq_ignore_ascii_case(word);
        if is("invited") {
            ActionClass::Invited
        } else if is("registered") {
            ActionClass::Registered
        } else if is("attended") || is("volunteered") || is("responded") {
            ActionClass::Participation
        } else {
            ActionClass::Other
        }
    }
}

/// Interned names of kinds, actions and departments, and the class of each action.
///
/// Ids are dense and given in order of first sight; outputs never depend on that order (they
/// sort by name). Unknown ids render as [`OVERFLOW_NAME`](super::OVERFLOW_NAME) and unknown action ids count as
/// [`ActionClass::Other`].
#[derive(Debug, Clone, Default)]
pub struct Dictionary {
    kinds: Interner,
    actions: Interner,
    departments: Interner,
    classes: Vec<ActionClass>,
}

impl Dictionary {
    /// An empty dictionary.
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of a kind, interning it if new.
    pub fn kind_id(&mut self, name: &str) -> u16 {
        self.kinds.intern(name)
    }

    /// The id of an action, interning (and classifying) it if new.
    pub fn action_id(&mut self, name: &str) -> u16 {
        let id = self.actions.intern(name);
        if usize::from(id) == self.classes.len() {
            self.classes.push(ActionClass::of(name));
        }
        id
    }

    /// The id of a department code, interning it if new.
    pub fn department_id(&mut self, name: &str) -> u16 {
        self.departments.intern(name)
    }

    /// The id of a kind already interned.
    pub fn find_kind(&self, name: &str) -> Option<u16> {
        self.kinds.get(name)
    }

    /// The name of a kind id.
    pub fn kind_name(&self, id: u16) -> &str {
        self.kinds.name(id)
    }

    /// The name of an action id.
    pub fn action_name(&self, id: u16) -> &str {
        self.actions.name(id)
    }

    /// The code of a department id.
    pub fn department_name(&self, id: u16) -> &str {
        self.departments.name(id)
    }

    /// The class of an action id.
    pub fn action_class(&self, id: u16) -> ActionClass {
        self.classes.get(usize::from(id)).copied().unwrap_or(ActionClass::Other)
    }

    /// Number of kinds interned.
    pub fn kind_count(&self) -> usize {
        self.kinds.len()
    }

    /// Number of departments interned.
    pub fn department_count(&self) -> usize {
        self.departments.len()
    }

    /// Intern a row's names and return its id form.
    pub fn encode(&mut self, row: &EventRow) -> EventIds {
        EventIds {
            person: row.person,
            at_secs: row.at.and_utc().timestamp(),
            kind: self.kind_id(&row.kind),
            action: self.action_id(&row.action),
            department: self.department_id(&row.department),
            activity: row.activity,
        }
    }
}

/// Settings shared by the analytics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Options {
    /// Small-count threshold *k*: counts below it are shown as `"<k"` (default 5). 0 disables
    /// suppression; 1 hides only zeros.
    pub min_count: u64,
    /// How many paths to list at most (default 10).
    pub top_paths: usize,
    /// Longest path, in kinds (default 5; clamped to 1..=8).
    pub max_path_len: usize,
    /// "Today": cohort months after it are not observed, and scores count back from it.
    pub now: NaiveDateTime,
    /// Cohort months after the first (default 12; clamped to at most 120).
    pub cohort_months: usize,
}

impl Options {
    /// The defaults (k = 5, top 10 paths of up to 5 kinds, 12 cohort months) at `now`.
    pub fn new(now: NaiveDateTime) -> Self {
        Options {
            min_count: 5,
            top_paths: 10,
            max_path_len: 5,
            now,
            cohort_months: 12,
        }
    }

    /// `max_path_len` clamped to 1..=8 (a path key packs 8 kind ids).
    pub fn path_len(&self) -> usize {
        self.max_path_len.clamp(1, 8)
    }

    /// `cohort_months` clamped to at most 120.
    pub fn months(&self) -> usize {
        self.cohort_months.min(120)
    }

    /// `now` in seconds since 1970.
    pub fn now_secs(&self) -> i64 {
        self.now.and_utc().timestamp()
    }
}

/// Which activities a funnel follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FunnelScope {
    /// One activity, by id.
    Activity(i64),
    /// Every activity of one kind, by name (exact match).
    Kind(String),
}
