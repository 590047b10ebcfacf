//! `lighthouse synth-copies`: departmental lists of the same people with known truth, to
//! measure how well imports and `lighthouse dedupe` resolve identities (see
//! [`score`](super::score)).
//!
//! Policy:
//! - N entities ([`entity`]): real people, a share of them look-alikes of the one before (twins,
//!   parent and child of the same name, households, namesakes). Each appears in one or more
//!   departments, now and then twice in one; every copy has its own external id, unique in its
//!   department and unrelated to the entity or to other departments (no shared identifier).
//! - Each department writes its list its own way (headers, case, date, phone and postcode
//!   forms) and each copy carries its own noise ([`noise`]): nicknames, initials, one-edit
//!   typos, OCR misreadings, swapped names, blank fields, day/month swaps, moves and new
//!   contacts. `--hard` raises every rate.
//! - `truth.csv` (`department,external_id,entity`) says which rows are the same person.
//! - Deterministic: entity `i` and its copies depend only on the seed and `i`. Rows are written
//!   as they are made, so memory does not grow with N.

mod entity;
mod list;
mod noise;
mod style;

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::NaiveDate;

pub use self::list::{write_list, ListSpec};

use self::entity::{Entities, Entity, Relation};
use self::style::{external_id, Style, STYLES};
use crate::synth::rng::SplitMix64;

/// Mixed into the seed for the copies' random streams (the entities have their own).
const COPY_SALT: u64 = 0xC091_E5C0_91E5_0000;

/// Arguments of `lighthouse synth-copies`.
#[derive(Debug, Clone, clap::Args)]
pub struct CopiesArgs {
    /// How many real people (entities).
    #[arg(long, default_value_t = 1000)]
    pub people: u64,
    /// How many departmental lists (DEPT1, DEPT2, …).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=26))]
    pub departments: u8,
    /// Seed: the same seed gives the same files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Directory to write `<DEPT>.csv` and `truth.csv` to (created when missing).
    #[arg(long)]
    pub out: PathBuf,
    /// More noise and more look-alikes.
    #[arg(long)]
    pub hard: bool,
}

/// How often each look-alike and each kind of noise occurs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// Share of entities that are a twin of the one before.
    pub twin: f64,
    /// … the parent or child of the same name.
    pub parent_child: f64,
    /// … another member of the household.
    pub household: f64,
    /// … an unrelated namesake.
    pub namesake: f64,
    /// Share of unrelated entities given one of the ten commonest family names.
    pub common_surname: f64,
    /// Share of household members giving the family's shared email.
    pub shared_email: f64,
    /// Share of namesakes born in the same year.
    pub namesake_same_year: f64,
    /// Chance of each further department (after the first) holding the entity.
    pub another_department: f64,
    /// Chance of a second copy in one of those departments.
    pub twice_in_department: f64,
    /// Per copy: the preferred name or a nickname instead of the given name.
    pub nickname: f64,
    /// Per copy: only the initial of the given name.
    pub initial: f64,
    /// Per copy: one typing error in a name.
    pub typo: f64,
    /// Per copy: an OCR misreading in a name, the first address line or the postcode.
    pub ocr: f64,
    /// Per copy: given and family name exchanged.
    pub swapped_names: f64,
    /// Per copy of a parent or child: the "Jr"/"Sr" written.
    pub suffix_written: f64,
    /// Per copy: no email, no phone, no date of birth, no address.
    pub missing: [f64; 4],
    /// Per copy: day and month of birth exchanged.
    pub day_month_swap: f64,
    /// Per copy: the date of birth mistyped by a day or a year.
    pub date_typo: f64,
    /// Per copy: the address the entity moved to, a new landline, a new email.
    pub changed: [f64; 3],
}

impl Rates {
    /// The default setting.
    pub const NORMAL: Rates = Rates {
        twin: 0.01,
        parent_child: 0.03,
        household: 0.06,
        namesake: 0.02,
        common_surname: 0.0,
        shared_email: 0.0,
        namesake_same_year: 0.2,
        another_department: 0.45,
        twice_in_department: 0.02,
        nickname: 0.08,
        initial: 0.03,
        typo: 0.06,
        ocr: 0.02,
        swapped_names: 0.01,
        suffix_written: 0.5,
        missing: [0.15, 0.2, 0.1, 0.05],
        day_month_swap: 0.02,
        date_typo: 0.01,
        changed: [0.05, 0.05, 0.03],
    };

    /// `--hard`.
    pub const HARD: Rates = Rates {
        twin: 0.03,
        parent_child: 0.06,
        household: 0.12,
        namesake: 0.06,
        common_surname: 0.15,
        shared_email: 0.25,
        namesake_same_year: 0.5,
        another_department: 0.55,
        twice_in_department: 0.05,
        nickname: 0.15,
        initial: 0.08,
        typo: 0.15,
        ocr: 0.06,
        swapped_names: 0.03,
        suffix_written: 0.3,
        missing: [0.3, 0.35, 0.25, 0.1],
        day_month_swap: 0.05,
        date_typo: 0.03,
        changed: [0.12, 0.1, 0.08],
    };
}

/// One departmental copy of an entity, before it is written in the department's way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Record {
    title: Option<String>,
    given: String,
    family: String,
    dob: Option<NaiveDate>,
    email: Option<String>,
    phone: Option<String>,
    line1: Option<String>,
    line2: Option<String>,
    town: Option<String>,
    postcode: Option<String>,
    organisation: Option<String>,
}

/// The copy of `e` one department holds, with its noise.
fn noisy_copy(e: &Entity, seed: u64, rates: &Rates, rng: &mut SplitMix64) -> Record {
    let moved = rng.chance(rates.changed[0]);
    let address = if moved {
        entity::new_address(seed, e.id)
    } else {
        e.address.clone()
    };
    let phone = if rng.chance(rates.changed[1]) {
        entity::new_landline(seed, e.id)
    } else {
        e.phone.clone()
    };
    let email = if rng.chance(rates.changed[2]) {
        new_email(e)
    } else {
        e.email.clone()
    };
    let [no_email, no_phone, no_dob, no_address] = rates.missing.map(|p| rng.chance(p));
    let mut r = Record {
        title: e.title.clone().filter(|_| rng.chance(0.8)),
        given: e.given.clone(),
        family: e.family.clone(),
        dob: (!no_dob).then(|| noisy_date(e.dob, rates, rng)),
        email: (!no_email).then_some(email),
        phone: (!no_phone).then_some(phone),
        line1: Some(address.line1),
        line2: address.line2,
        town: Some(address.town),
        postcode: Some(address.postcode),
        organisation: e.organisation.clone().filter(|_| rng.chance(0.7)),
    };
    if no_address {
        (r.line1, r.line2, r.town, r.postcode) = (None, None, None, None);
    }
    noisy_names(&mut r, e, rates, rng);
    if rng.chance(rates.ocr) {
        misread(&mut r, rng);
    }
    r
}

/// A new email address of the entity: its own (it holds the id and ends in a letter, which no
/// generated address does), the same in every copy that has it.
fn new_email(e: &Entity) -> String {
    let fold = |s: &str| -> String {
        crate::normalize::text::fold(s)
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect()
    };
    format!("{}{}.{}x@example.net", fold(&e.given), fold(&e.family), e.id)
}

fn noisy_date(dob: NaiveDate, rates: &Rates, rng: &mut SplitMix64) -> NaiveDate {
    if rng.chance(rates.day_month_swap) {
        if let Some(swapped) = noise::swap_day_month(dob) {
            return swapped;
        }
    }
    if rng.chance(rates.date_typo) {
        return noise::date_typo(dob, crate::synth::as_of(), rng);
    }
    dob
}

fn noisy_names(r: &mut Record, e: &Entity, rates: &Rates, rng: &mut SplitMix64) {
    if rng.chance(rates.nickname) {
        let short = match &e.preferred {
            Some(p) if rng.chance(0.5) => Some(p.as_str()),
            _ => noise::nickname(&e.given, rng),
        };
        if let Some(s) = short {
            r.given = s.to_string();
        }
    } else if rng.chance(rates.initial) {
        r.given = noise::initial(&e.given, rng.chance(0.5));
    }
    if let Some(suffix) = e.suffix.filter(|_| rng.chance(rates.suffix_written)) {
        r.family = format!("{} {suffix}", r.family);
    }
    if rng.chance(rates.typo) {
        if rng.chance(0.5) {
            r.given = noise::typo(&r.given, rng);
        } else {
            r.family = noise::typo(&r.family, rng);
        }
    }
    if rng.chance(rates.swapped_names) {
        std::mem::swap(&mut r.given, &mut r.family);
    }
}

/// One OCR misreading in a name, the first address line or the postcode.
fn misread(r: &mut Record, rng: &mut SplitMix64) {
    match rng.below(4) {
        0 => r.given = noise::ocr(&r.given, rng),
        1 => r.family = noise::ocr(&r.family, rng),
        2 => r.line1 = r.line1.as_deref().map(|l| noise::ocr(l, rng)),
        _ => r.postcode = r.postcode.as_deref().map(|p| noise::ocr(p, rng)),
    }
}

/// The departments (indices below `k`) holding copies of one entity, a department repeated
/// when it holds two.
fn departments_of(k: usize, rates: &Rates, rng: &mut SplitMix64) -> Vec<usize> {
    let mut all: Vec<usize> = (0..k).collect();
    let mut n = 1;
    while n < k && rng.chance(rates.another_department) {
        n += 1;
    }
    // A partial Fisher–Yates shuffle: the first `n` are a uniform choice.
    for i in 0..n {
        let j = i + rng.below((k - i) as u64) as usize;
        all.swap(i, j);
    }
    all.truncate(n);
    if rng.chance(rates.twice_in_department) {
        if let Some(d) = rng.pick(&all).copied() {
            all.push(d);
        }
    }
    all
}

/// What a run wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopiesReport {
    /// Department codes, in order.
    pub departments: Vec<String>,
    /// Rows written per department, in the same order.
    pub rows: Vec<u64>,
    /// Entities by relation to the one before.
    pub relations: Vec<(&'static str, u64)>,
}

type CsvOut = csv::Writer<BufWriter<File>>;

fn create(path: &Path) -> Result<CsvOut, String> {
    let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(csv::Writer::from_writer(BufWriter::with_capacity(1 << 16, file)))
}

/// Write the lists and the truth for `args` into `args.out`.
pub fn write_copies(args: &CopiesArgs, mut progress: impl FnMut(u64)) -> Result<CopiesReport, String> {
    let dir = &args.out;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let rates = if args.hard { Rates::HARD } else { Rates::NORMAL };
    let k = usize::from(args.departments.max(1));
    let codes: Vec<String> = (1..=k).map(|i| format!("DEPT{i}")).collect();
    let styles: Vec<&Style> = (0..k).map(|i| &STYLES[i % STYLES.len()]).collect();
    let fail = |e: csv::Error| format!("cannot write the lists: {e}");
    let mut lists = Vec::with_capacity(k);
    for (code, style) in codes.iter().zip(&styles) {
        let mut w = create(&dir.join(format!("{code}.csv")))?;
        w.write_record(style.columns.iter().map(|c| c.0)).map_err(fail)?;
        lists.push(w);
    }
    let mut truth = create(&dir.join("truth.csv"))?;
    truth
        .write_record(["department", "external_id", "entity"])
        .map_err(fail)?;
    let mut rows = vec![0u64; k];
    let mut relations = std::collections::BTreeMap::<Relation, u64>::new();
    for e in Entities::new(args.seed, args.people, rates) {
        *relations.entry(e.relation).or_default() += 1;
        let mut rng = SplitMix64::for_item(args.seed ^ COPY_SALT, e.id);
        for d in departments_of(k, &rates, &mut rng) {
            let record = noisy_copy(&e, args.seed, &rates, &mut rng);
            let id = external_id(args.seed, d, rows[d], styles[d]);
            rows[d] += 1;
            lists[d]
                .write_record(style::cells(&record, styles[d], &id))
                .map_err(fail)?;
            truth
                .write_record([codes[d].as_str(), &id, &e.id.to_string()])
                .map_err(fail)?;
        }
        if (e.id + 1) % 10_000 == 0 {
            progress(e.id + 1);
        }
    }
    for mut w in lists.into_iter().chain([truth]) {
        w.flush().map_err(|e| format!("cannot write the lists: {e}"))?;
    }
    Ok(CopiesReport {
        departments: codes,
        rows,
        relations: relations.into_iter().map(|(r, n)| (r.label(), n)).collect(),
    })
}

/// Run `lighthouse synth-copies`: write the files, with progress on standard error.
pub fn run(args: &CopiesArgs) -> Result<(), String> {
    let started = Instant::now();
    let mut last = Instant::now();
    let mut shown = false;
    let report = write_copies(args, |done| {
        if last.elapsed().as_secs() >= 1 {
            last = Instant::now();
            shown = true;
            eprint!("\rsynth-copies: {done} / {} people", args.people);
        }
    })?;
    if shown {
        eprintln!();
    }
    let lists: Vec<String> = report
        .departments
        .iter()
        .zip(&report.rows)
        .map(|(d, n)| format!("{d} {n}"))
        .collect();
    let kinds: Vec<String> = report.relations.iter().map(|(r, n)| format!("{r} {n}")).collect();
    println!(
        "synth-copies: {} people ({}) in {:.1} s; rows: {} (total {}); truth: {}",
        args.people,
        kinds.join(", "),
        started.elapsed().as_secs_f64(),
        lists.join(", "),
        report.rows.iter().sum::<u64>(),
        args.out.join("truth.csv").display()
    );
    Ok(())
}

#[cfg(test)]
mod tests;
