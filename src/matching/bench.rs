//! Micro-benchmark (ignored by default) and the no-allocation check.
//!
//! Policy: the benchmark runs on demand with
//! `cargo test --release --lib bench -- --ignored --nocapture` and prints
//! preparation time per record and comparison/scoring throughput. The
//! allocation check always runs: test builds of this crate use a counting
//! wrapper around the system allocator (per thread, so parallel tests do not
//! disturb each other), and [`compare`] and [`Model::score`] must not
//! allocate at all.

use super::record::{MatchRecord, Prepared};
use super::*;
use chrono::NaiveDate;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::time::Instant;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// The system allocator, counting allocations made by the current thread.
struct Counting;

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter is a const-initialised thread-local `Cell` without a destructor.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.try_with(Cell::get).unwrap_or(0)
}

fn synthetic(i: usize) -> MatchRecord {
    const GIVEN: [&str; 8] = [
        "Jon", "Jonathan", "Bill", "William", "Margaret", "Peggy", "Zoë", "Anita",
    ];
    const FAMILY: [&str; 6] = ["Smith", "SMITH", "O'Brien", "Patel", "Smith-Jones", "Featherstonehaugh"];
    MatchRecord {
        given: Some(GIVEN[i % GIVEN.len()].to_string()),
        family: Some(FAMILY[(i / 3) % FAMILY.len()].to_string()),
        dob: NaiveDate::from_ymd_opt(1950 + (i % 50) as i32, 1 + (i % 12) as u32, 1 + (i % 28) as u32),
        emails: vec![format!("person{}@gmail.com", i % 97)],
        phones: vec![format!("07700 9{:05}", i % 1000)],
        postcode: Some(["EC2V 7HH", "ec2v7hj", "M1 1AE"][i % 3].to_string()),
        address_line: Some(format!("Flat {}, {} High St", i % 4, i % 30)),
        organisation: None,
    }
}

#[test]
fn compare_and_score_do_not_allocate() {
    let prepared: Vec<Prepared> = (0..60).map(|i| Prepared::from_record(&synthetic(i))).collect();
    let model = Model::default_uk();
    let table = FrequencyTable::from_records(&prepared).with_min_records(1);
    let before = allocations();
    let mut acc = 0.0;
    for a in &prepared {
        for b in &prepared {
            acc += model.score(a, b, &table).match_weight;
            acc += model.score(a, b, &NoFrequencies).probability;
            acc += f64::from(compare(a, b).raw(Field::Email));
            acc += f64::from(decide(&model.score(a, b, &table), &Thresholds::default()).rank());
        }
    }
    assert_eq!(allocations() - before, 0, "{acc}");
}

#[test]
#[ignore = "benchmark: run with --release -- --ignored --nocapture"]
fn bench_pairs_per_second() {
    let records: Vec<MatchRecord> = (0..1000).map(synthetic).collect();
    let _warm: Vec<Prepared> = records.iter().map(Prepared::from_record).collect();
    let t = Instant::now();
    let prepared: Vec<Prepared> = records.iter().map(Prepared::from_record).collect();
    let prep = t.elapsed();
    let model = Model::default_uk();
    let (mut pairs, mut acc) = (0u64, 0.0);
    let t = Instant::now();
    for a in &prepared {
        for b in &prepared {
            acc += model.score(black_box(a), black_box(b), &NoFrequencies).match_weight;
            pairs += 1;
        }
    }
    let score = t.elapsed();
    let t = Instant::now();
    let mut levels = 0u64;
    for a in &prepared {
        for b in &prepared {
            levels += u64::from(compare(black_box(a), black_box(b)).raw(Field::Given));
        }
    }
    let cmp = t.elapsed();
    let t = Instant::now();
    let keys: usize = prepared.iter().map(|p| blocking_keys(p).len()).sum();
    let block = t.elapsed();
    println!(
        "prepare: {:.2} µs/record; blocking keys: {:.2} µs/record ({:.1} keys/record)",
        prep.as_secs_f64() * 1e6 / 1000.0,
        block.as_secs_f64() * 1e6 / 1000.0,
        keys as f64 / 1000.0
    );
    println!(
        "compare: {:.0} pairs/s ({:.3} µs/pair); score: {:.0} pairs/s ({:.3} µs/pair) [{acc:.0} {levels}]",
        pairs as f64 / cmp.as_secs_f64(),
        cmp.as_secs_f64() * 1e6 / pairs as f64,
        pairs as f64 / score.as_secs_f64(),
        score.as_secs_f64() * 1e6 / pairs as f64,
    );
}
