//! CSV and SVG rendering: formula neutralisation, escaping, well-formedness, accessibility,
//! contrast and determinism.

use super::super::svg::{contrast, shade, text_on, BAR, INK, MUTED, PALETTE, SUPPRESSED_FILL};
use super::super::{
    cohorts, csv_cell, funnel, paths, person_scores, reach, transitions, xml_escape, FunnelScope, Options,
};
use super::{ev, opts, xml_problem};
use crate::journeys_core::EventRow;

const NASTY: &str = "<script>alert('x')</script> & \"q\"";
const FORMULA: &str = "=HYPERLINK(\"http://x\")";

/// Kinds and departments with hostile names, enough people to show most counts.
fn hostile() -> Vec<EventRow> {
    let mut v = Vec::new();
    for p in 0..12 {
        v.push(ev(p, "2024-01-01 10:00", NASTY, "invited", "@DEPT", 1));
        v.push(ev(p, "2024-01-02 10:00", NASTY, "attended", "@DEPT", 1));
        v.push(ev(p, "2024-02-03 10:00", FORMULA, "volunteered", "-D\u{1}", 2));
        if p % 2 == 0 {
            v.push(ev(p, "2024-03-04 10:00", "+plus,comma\nline", "responded", "PLAN", 3));
        }
    }
    v
}

/// Every rendering of every output for `rows`: (name, csv, svg).
pub(super) fn renderings(rows: &[EventRow], o: &Options) -> Vec<(&'static str, String, String)> {
    let t = transitions(rows, o);
    let f = funnel(rows, o, FunnelScope::Kind(NASTY.into()));
    let c = cohorts(rows, o);
    let p = paths(rows, o);
    let r = reach(rows, o);
    let s = person_scores(rows, o.now);
    vec![
        ("transitions", t.to_csv(), t.to_svg()),
        ("funnel", f.to_csv(), f.to_svg()),
        ("cohorts", c.to_csv(), c.to_svg()),
        ("paths", p.to_csv(), p.to_svg()),
        ("reach", r.to_csv(), r.to_svg()),
        ("scores", s.to_csv(), s.to_svg()),
    ]
}

#[test]
fn csv_cells_neutralise_formulas_and_quote() {
    assert_eq!(csv_cell("banquet"), "banquet");
    assert_eq!(csv_cell("=SUM(A1)"), "'=SUM(A1)");
    assert_eq!(csv_cell("+44"), "'+44");
    assert_eq!(csv_cell("-1"), "'-1");
    assert_eq!(csv_cell("@cmd"), "'@cmd");
    assert_eq!(csv_cell("\tx"), "'\tx");
    assert_eq!(csv_cell("\rx"), "\"'\rx\"");
    assert_eq!(csv_cell("a,b"), "\"a,b\"");
    assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(csv_cell("=a,\"b\""), "\"'=a,\"\"b\"\"\"");
    assert_eq!(csv_cell("<5"), "<5");
}

#[test]
fn csv_outputs_have_headers_and_no_live_formulas() {
    for (name, csv, _) in renderings(&hostile(), &opts("2024-06-01 00:00", 5)) {
        let header = csv.lines().next().unwrap_or_default();
        let plain = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == ',';
        assert!(header.chars().all(plain), "{name}: {header}");
        for cell in csv.split([',', '\n']) {
            let cell = cell.trim_start_matches('"');
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t']),
                "{name}: live cell {cell:?}"
            );
        }
    }
    let t = transitions(hostile(), &opts("2024-06-01 00:00", 5)).to_csv();
    assert!(t.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{t}");
    assert!(t.contains("\"'+plus,comma\nline\""));
}

#[test]
fn every_svg_is_well_formed_accessible_and_escaped() {
    for (name, _, svg) in renderings(&hostile(), &opts("2024-06-01 00:00", 5)) {
        assert_eq!(xml_problem(&svg), None, "{name}: {svg}");
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "),
            "{name}"
        );
        assert!(svg.contains("role=\"img\""), "{name}");
        let id = svg
            .split("aria-labelledby=\"")
            .nth(1)
            .and_then(|s| s.split('-').next())
            .unwrap_or_default();
        assert!(id.starts_with("jc"), "{name}: no aria-labelledby");
        assert!(svg.contains(&format!("<title id=\"{id}-t\">")), "{name}");
        assert!(svg.contains(&format!("<desc id=\"{id}-d\">")), "{name}");
        for banned in [
            "<script",
            "href",
            "url(",
            "@import",
            "<image",
            "<style",
            "<foreignObject",
            "\u{1}",
        ] {
            assert!(!svg.contains(banned), "{name} contains {banned}");
        }
    }
    let t = transitions(hostile(), &opts("2024-06-01 00:00", 5)).to_svg();
    assert!(t.contains("&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt; &amp; &quot;q&quot;"));
    assert_eq!(xml_escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
    assert_eq!(xml_escape("x\u{0}\u{1f}y"), "x\u{fffd}\u{fffd}y");
}

#[test]
fn svg_labels_carry_counts() {
    let mut v = Vec::new();
    for p in 0..6 {
        v.push(ev(p, "2024-01-01 10:00", "banquet", "attended", "BARB", 1));
        v.push(ev(p, "2024-01-11 10:00", "volunteering", "volunteered", "PARK", 2));
    }
    let o = opts("2024-06-01 00:00", 5);
    let svg = transitions(&v, &o).to_svg();
    assert!(svg.contains(">6 · 10d<"), "{svg}");
    assert!(svg.contains(">&lt;5<"));
    // Paths: five more people with a single event; top 1 pools them in `other` (5, shown).
    let mut u = v.clone();
    for p in 6..11 {
        u.push(ev(p, "2024-01-01 10:00", "event", "attended", "CULT", 3));
    }
    let p = paths(
        &u,
        &Options {
            top_paths: 1,
            ..o.clone()
        },
    )
    .to_svg();
    assert!(
        p.contains(">banquet → volunteering<") && p.contains(">6<") && p.contains(">5<"),
        "{p}"
    );
    // With everyone on one listed journey, `other` is 0 (small) and 6 − 6 would reveal it, so
    // the journey's count is hidden.
    assert!(paths(&v, &o).to_svg().contains(">hidden<"));
    // Funnel: 20 invited, 14 registered, 8 attended, nobody back.
    let mut w = Vec::new();
    for p in 0..20 {
        w.push(ev(p, "2024-01-01 10:00", "banquet", "invited", "BARB", 7));
        if p < 14 {
            w.push(ev(p, "2024-01-02 10:00", "banquet", "registered", "BARB", 7));
        }
        if p < 8 {
            w.push(ev(p, "2024-01-03 10:00", "banquet", "attended", "BARB", 7));
        }
    }
    let f = funnel(&w, &o, FunnelScope::Activity(7)).to_svg();
    assert!(
        f.contains(">Attended<") && f.contains(">8 (57.1% of previous), dropped 6<"),
        "{f}"
    );
    assert!(f.contains(">&lt;5, dropped hidden<"), "{f}");
}

#[test]
fn colours_meet_wcag_aa() {
    for fill in PALETTE.iter().chain([&SUPPRESSED_FILL, &"#ffffff"]) {
        assert!(contrast(text_on(fill), fill) >= 4.5, "text on {fill}");
    }
    for share in [0.0, 0.1, 0.33, 0.5, 0.77, 1.0] {
        assert!(contrast(text_on(shade(share)), shade(share)) >= 4.5);
    }
    assert!(contrast(BAR, "#ffffff") >= 3.0);
    assert!(contrast(INK, "#ffffff") >= 4.5);
    assert!(contrast(MUTED, "#ffffff") >= 4.5);
    assert!(contrast("#767676", "#ffffff") >= 4.5);
}

#[test]
fn renderings_are_deterministic() {
    let o = opts("2024-06-01 00:00", 5);
    let a = renderings(&hostile(), &o);
    let mut shuffled = hostile();
    shuffled.reverse();
    shuffled.sort_by_key(|r| r.person);
    let b = renderings(&shuffled, &o);
    assert_eq!(a, b);
}
