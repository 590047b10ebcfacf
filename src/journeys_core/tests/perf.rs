//! Timing: 10,000,000 synthetic events (1,000,000 people × 10) through every analytic.
//! Ignored by default; run `cargo test --release -- --ignored --nocapture timing`.

use std::time::Instant;

use super::super::stream::{run_ids, PersonSink};
use super::super::{
    cohorts_ids, funnel_ids, paths_ids, reach_ids, transitions, transitions_ids, Dictionary, EventIds, EventRow,
    FunnelScope, Options,
};
use super::{at, day};

const PEOPLE: i64 = 1_000_000;
const PER_PERSON: i64 = 10;

/// A deterministic pseudo-random stream, sorted by person then time.
fn synthetic(dict: &mut Dictionary) -> impl Iterator<Item = EventIds> + Clone {
    let kinds: Vec<u16> = [
        "banquet",
        "volunteering",
        "consultation",
        "event",
        "newsletter",
        "workshop",
        "tour",
        "fair",
    ]
    .iter()
    .map(|k| dict.kind_id(k))
    .collect();
    let actions: Vec<u16> = [
        "invited",
        "registered",
        "attended",
        "volunteered",
        "responded",
        "opened",
    ]
    .iter()
    .map(|a| dict.action_id(a))
    .collect();
    let depts: Vec<u16> = (0..12).map(|d| dict.department_id(&format!("D{d:02}"))).collect();
    let start = day(2022, 1, 1).and_utc().timestamp();
    (0..PEOPLE * PER_PERSON).map(move |i| {
        let person = i / PER_PERSON;
        let h = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 20;
        let step = i % PER_PERSON;
        EventIds {
            person,
            at_secs: start + (person % 400) * 86_400 + step * 9 * 86_400 + (h % 80_000) as i64,
            kind: kinds[(h % 8) as usize],
            action: actions[((h >> 3) % 6) as usize],
            department: depts[((h >> 6) % 12) as usize],
            activity: ((h >> 10) % 500) as i64,
        }
    })
}

/// This thread's CPU time in seconds (Linux schedstat; 0 elsewhere).
fn cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse::<f64>().ok()))
        .map_or(0.0, |ns| ns / 1e9)
}

#[test]
#[ignore]
fn timing() {
    let mut dict = Dictionary::new();
    let events = synthetic(&mut dict);
    let o = Options::new(at("2024-06-01 00:00"));
    let n = (PEOPLE * PER_PERSON) as f64;
    // Best of three, wall clock and this thread's CPU time (the machine may be shared).
    let time = |name: &str, f: &dyn Fn() -> usize| {
        let (mut wall, mut cpu, mut size) = (f64::MAX, f64::MAX, 0);
        for _ in 0..3 {
            let (t, c) = (Instant::now(), cpu_secs());
            size = f();
            wall = wall.min(t.elapsed().as_secs_f64());
            cpu = cpu.min(cpu_secs() - c);
        }
        println!(
            "{name:12} wall {wall:6.3} s  cpu {cpu:6.3} s  {:>6.1} M events/s (cpu)  output {size} bytes",
            n / cpu / 1e6
        );
    };
    time("generate", &|| events.clone().count());
    time("group only", &|| {
        struct Null(usize);
        impl PersonSink for Null {
            fn person(&mut self, events: &[EventIds], _: &Dictionary) {
                self.0 += events.len();
            }
        }
        let mut null = Null(0);
        run_ids(events.clone(), &dict, &mut null);
        null.0
    });
    time("transitions", &|| {
        transitions_ids(events.clone(), &dict, &o).to_csv().len()
    });
    time("funnel", &|| {
        funnel_ids(events.clone(), &dict, &o, FunnelScope::Kind("banquet".into()))
            .to_csv()
            .len()
    });
    time("cohorts", &|| cohorts_ids(events.clone(), &dict, &o).to_csv().len());
    time("paths", &|| paths_ids(events.clone(), &dict, &o).to_csv().len());
    time("reach", &|| reach_ids(events.clone(), &dict, &o).to_csv().len());
    // The row form: names as owned Strings, interned on the fly (building rows is timed apart).
    let to_row = |e: EventIds| EventRow {
        person: e.person,
        at: chrono::DateTime::from_timestamp(e.at_secs, 0)
            .unwrap_or_default()
            .naive_utc(),
        kind: dict.kind_name(e.kind).to_string(),
        action: dict.action_name(e.action).to_string(),
        department: dict.department_name(e.department).to_string(),
        activity: e.activity,
    };
    time("make rows", &|| events.clone().map(to_row).map(|r| r.kind.len()).sum());
    let fresh = std::cell::RefCell::new(Dictionary::new());
    time("rows+intern", &|| {
        let mut d = fresh.borrow_mut();
        events.clone().map(to_row).map(|r| usize::from(d.encode(&r).kind)).sum()
    });
    time("rows+trans.", &|| {
        transitions(events.clone().map(to_row), &o).to_csv().len()
    });
}

#[test]
#[ignore]
fn timing_intern() {
    let names: Vec<String> = (0..32).map(|i| format!("name-{i}-{}", "x".repeat(i % 9))).collect();
    let mut dict = Dictionary::new();
    let t = cpu_secs();
    let mut sum = 0usize;
    for i in 0..30_000_000u64 {
        let h = (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as usize & 31;
        sum += usize::from(dict.kind_id(&names[h]));
    }
    println!("intern 30M random: cpu {:.3} s ({sum})", cpu_secs() - t);
    let t = cpu_secs();
    for i in 0..30_000_000u64 {
        sum += usize::from(dict.kind_id(&names[(i / 4) as usize & 31]));
    }
    println!("intern 30M runs of 4: cpu {:.3} s ({sum})", cpu_secs() - t);
}
