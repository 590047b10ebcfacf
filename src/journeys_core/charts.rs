//! SVG charts of every output: transition heat-map, funnel bars, cohort grid, path bars, reach
//! bars with the overlap heat-map, and a person's score bars.
//!
//! Policy: charts show exactly what the JSON shows — suppressed counts appear as `<k` or
//! `hidden` in a dashed grey cell or without a bar, never as a shade or a length. Shades in
//! heat-maps are row shares (transitions, overlap) or cohort shares, and are always repeated as
//! text. See `svg.rs` for the accessibility rules.

use super::cohorts::CohortTable;
use super::count::Count;
use super::funnel::{Funnel, FunnelStep};
use super::input::FunnelScope;
use super::paths::PathList;
use super::reach::Reach;
use super::scores::PersonScores;
use super::svg::{bars, heatmap, Bar, HeatCell, Svg, INK};
use super::transitions::TransitionMatrix;

fn suppression_note(k: u64) -> String {
    format!(
        "Counts below {k} are shown as <{k}; 'hidden' marks counts of at least {k} withheld so that \
         a small count cannot be worked out from the totals."
    )
}

fn share(part: Count, whole: Count) -> Option<f64> {
    match (part.exact(), whole.exact()) {
        (Some(p), Some(w)) if w > 0 => Some(p as f64 / w as f64),
        _ => None,
    }
}

impl TransitionMatrix {
    /// Heat-map: rows are the kind first taken part in, columns the kind taken part in next.
    pub fn to_svg(&self) -> String {
        let mut svg = Svg::new(
            "What people took part in next",
            &format!(
                "Heat-map of {} kinds of engagement. Each row is the people who took part in a kind; \
                 each column the kind of their next participation, strictly later, after their first \
                 one of the row's kind; the last column is those with nothing later. Cells give \
                 people and the median delay in days; shading is the share of the row. {}",
                self.kinds.len(),
                suppression_note(self.min_count)
            ),
        );
        let mut cols = self.kinds.clone();
        cols.push("(nothing later)".to_string());
        let rows: Vec<String> = self
            .rows
            .iter()
            .map(|r| format!("{} ({})", r.from, r.people.label()))
            .collect();
        let cells: Vec<Vec<HeatCell>> = self
            .rows
            .iter()
            .map(|r| {
                let mut line: Vec<HeatCell> = r
                    .next
                    .iter()
                    .map(|c| {
                        let median = c.median_days.map(|m| format!(" · {m}d")).unwrap_or_default();
                        HeatCell {
                            share: share(c.people, r.people),
                            text: format!("{}{median}", c.people.label()),
                            tip: format!("{} then {}: {} people{median}", r.from, c.to, c.people.label()),
                        }
                    })
                    .collect();
                line.push(HeatCell {
                    share: share(r.no_later, r.people),
                    text: r.no_later.label(),
                    tip: format!("{} then nothing later: {} people", r.from, r.no_later.label()),
                });
                line
            })
            .collect();
        let bottom = heatmap(&mut svg, 36, &rows, &cols, &cells);
        svg.finish(bottom + 8)
    }
}

impl Funnel {
    /// Bars for the four steps, each with its count and conversion from the previous step.
    pub fn to_svg(&self) -> String {
        let scope = match &self.scope {
            FunnelScope::Activity(a) => format!("activity {a}"),
            FunnelScope::Kind(k) => format!("kind {k}"),
        };
        let mut svg = Svg::new(
            &format!("Funnel for {scope}"),
            &format!(
                "Bars show people who reached each step: invited, registered, attended (attended, \
                 volunteered or responded) and came back (took part in another activity later). \
                 A person counts at every step up to the furthest one reached. {}",
                suppression_note(self.min_count)
            ),
        );
        let items: Vec<Bar> = self
            .steps
            .iter()
            .map(|s| {
                let label = match s.step {
                    FunnelStep::Invited => "Invited",
                    FunnelStep::Registered => "Registered",
                    FunnelStep::Attended => "Attended",
                    FunnelStep::CameBack => "Came back",
                };
                let mut text = s.people.label();
                if let Some(p) = s.conversion_pct {
                    text.push_str(&format!(" ({p}% of previous)"));
                }
                if let Some(d) = s.dropped {
                    text.push_str(&format!(", dropped {}", d.label()));
                }
                Bar {
                    label: label.to_string(),
                    value: s.people.exact(),
                    text,
                }
            })
            .collect();
        let bottom = bars(&mut svg, 44, 130, &items, None);
        svg.finish(bottom + 8)
    }
}

impl CohortTable {
    /// Grid: one row per cohort month, one column per month offset, cells the share taking part.
    pub fn to_svg(&self) -> String {
        let mut svg = Svg::new(
            "Cohorts by month of first participation",
            &format!(
                "Grid of {} cohorts. Each row is the people whose first participation fell in that month; \
                 column +m is the share who took part again m months later (+0 is the cohort itself). \
                 Months after {} are not observed yet and left blank. {}",
                self.cohorts.len(),
                self.observed_to,
                suppression_note(self.min_count)
            ),
        );
        let cols: Vec<String> = (0..=self.max_offset).map(|m| format!("+{m}")).collect();
        let rows: Vec<String> = self
            .cohorts
            .iter()
            .map(|c| format!("{} ({})", c.month, c.people.label()))
            .collect();
        let cells: Vec<Vec<HeatCell>> = self
            .cohorts
            .iter()
            .map(|c| {
                c.cells
                    .iter()
                    .map(|cell| HeatCell {
                        share: cell.share_pct.map(|p| p / 100.0),
                        text: cell
                            .share_pct
                            .map_or_else(|| cell.people.label(), |p| format!("{p:.0}%")),
                        tip: format!(
                            "{} +{}: {} people{}",
                            c.month,
                            cell.offset,
                            cell.people.label(),
                            cell.share_pct.map(|p| format!(", {p}%")).unwrap_or_default()
                        ),
                    })
                    .collect()
            })
            .collect();
        let bottom = heatmap(&mut svg, 36, &rows, &cols, &cells);
        svg.finish(bottom + 8)
    }
}

impl PathList {
    /// Horizontal bars, one per listed journey, most people first.
    pub fn to_svg(&self) -> String {
        let mut svg = Svg::new(
            "Most frequent journeys",
            &format!(
                "Bars show the {} most frequent sequences of kinds of engagement (consecutive repeats \
                 merged, up to {} kinds), each with its number of people, out of {} people; {} people \
                 followed other journeys. Journeys of fewer than {} people are never listed. {}",
                self.paths.len(),
                self.max_len,
                self.people.label(),
                self.other.label(),
                self.min_count,
                suppression_note(self.min_count)
            ),
        );
        let mut items: Vec<Bar> = self
            .paths
            .iter()
            .map(|p| Bar {
                label: p.label.clone(),
                value: p.people.exact(),
                text: p.people.label(),
            })
            .collect();
        items.push(Bar {
            label: "(other journeys)".to_string(),
            value: self.other.exact(),
            text: self.other.label(),
        });
        let bottom = bars(&mut svg, 44, 340, &items, None);
        svg.finish(bottom + 8)
    }
}

impl Reach {
    /// Bars of people per department and per number of departments, then the overlap heat-map.
    pub fn to_svg(&self) -> String {
        let mut svg = Svg::new(
            "Reach across departments",
            &format!(
                "{} people engaged; {} with more than one department. Bars show people per \
                 department and by number of departments; the heat-map shows people engaged with \
                 both departments, shaded by share of the row's department. {}",
                self.people.label(),
                self.more_than_one.label(),
                suppression_note(self.min_count)
            ),
        );
        let dept_bars: Vec<Bar> = self
            .departments
            .iter()
            .map(|d| Bar {
                label: d.department.clone(),
                value: d.people.exact(),
                text: d.people.label(),
            })
            .collect();
        svg.text(16, 52, "start", INK, true, "People per department");
        let mut y = bars(&mut svg, 60, 170, &dept_bars, None);
        let count_bars: Vec<Bar> = self
            .by_department_count
            .iter()
            .map(|b| Bar {
                label: format!(
                    "{} department{}",
                    b.departments,
                    if b.departments == 1 { "" } else { "s" }
                ),
                value: b.people.exact(),
                text: b.people.label(),
            })
            .collect();
        svg.text(16, y + 16, "start", INK, true, "People by number of departments");
        y = bars(&mut svg, y + 24, 170, &count_bars, None);
        svg.text(16, y + 16, "start", INK, true, "People engaged with both departments");
        let cells: Vec<Vec<HeatCell>> = self
            .overlap
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let own = row.get(i).copied().unwrap_or(Count::Hidden);
                row.iter()
                    .zip(&self.department_codes)
                    .map(|(c, other)| HeatCell {
                        share: share(*c, own),
                        text: c.label(),
                        tip: format!(
                            "{} and {}: {} people",
                            self.department_codes.get(i).map_or("", String::as_str),
                            other,
                            c.label()
                        ),
                    })
                    .collect()
            })
            .collect();
        let rows = self.department_codes.clone();
        let bottom = heatmap(&mut svg, y + 16, &rows, &self.department_codes, &cells);
        svg.finish(bottom + 8)
    }
}

impl PersonScores {
    /// Three bars: recency, frequency and breadth scores out of 5.
    pub fn to_svg(&self) -> String {
        let mut svg = Svg::new(
            "Engagement scores",
            &format!(
                "Scores from 1 to 5. Recency {} (days since last participation: {}); frequency {} \
                 ({} participations in the last 12 months); breadth {} ({} kinds, {} departments).",
                self.r_score,
                self.recency_days.map_or_else(|| "none".to_string(), |d| d.to_string()),
                self.f_score,
                self.frequency_12m,
                self.b_score,
                self.breadth_kinds,
                self.breadth_departments
            ),
        );
        let items: Vec<Bar> = [
            ("Recency", self.r_score),
            ("Frequency", self.f_score),
            ("Breadth", self.b_score),
        ]
        .iter()
        .map(|(label, s)| Bar {
            label: label.to_string(),
            value: Some(u64::from(*s)),
            text: format!("{s} / 5"),
        })
        .collect();
        let bottom = bars(&mut svg, 44, 130, &items, Some(5));
        svg.finish(bottom + 8)
    }
}
