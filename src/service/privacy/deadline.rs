//! The statutory clock of a data-protection request (UK GDPR Art. 12(3), as the ICO reads it):
//!
//! - the time limit runs from the day the request is received, working day or not, to the
//!   corresponding calendar date in the next month; when that month has no such date (received
//!   31 January), to its last day;
//! - an extension (complex or numerous requests) adds up to two further months, counted the same
//!   way from the day of receipt, and must be made before the first month runs out;
//! - "stopping the clock" (awaiting proof of identity or clarification; Data (Use and Access) Act
//!   2025) adds exactly the days it was stopped;
//! - a limit that falls on a weekend or a bank holiday in England and Wales moves to the next
//!   working day.
//!
//! Pure date arithmetic, no database: the service keeps the inputs and computes the dates.

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};

/// The most a response may be extended by, in months.
pub const MAX_EXTENSION_MONTHS: u32 = 2;

/// The corresponding calendar date `months` later, or the last day of that month when it has no
/// such day (chrono clamps to the month's end). `None` past chrono's range.
pub fn add_months(d: NaiveDate, months: u32) -> Option<NaiveDate> {
    d.checked_add_months(Months::new(months))
}

/// Easter Sunday of a Gregorian year (the anonymous Gregorian computus).
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

/// The first `weekday` of a month on or after `from_day`.
fn first_on_or_after(year: i32, month: u32, from_day: u32, weekday: Weekday) -> Option<NaiveDate> {
    let start = NaiveDate::from_ymd_opt(year, month, from_day)?;
    let ahead = (7 + weekday.num_days_from_monday() - start.weekday().num_days_from_monday()) % 7;
    start.checked_add_days(Days::new(u64::from(ahead)))
}

/// The last Monday of a month.
fn last_monday(year: i32, month: u32) -> Option<NaiveDate> {
    let last = add_months(NaiveDate::from_ymd_opt(year, month, 1)?, 1)?.pred_opt()?;
    let back = last.weekday().num_days_from_monday();
    last.checked_sub_days(Days::new(u64::from(back)))
}

/// Bank holidays declared once, by proclamation, beside the regular ones (England and Wales).
const ONE_OFF: [(i32, u32, u32); 7] = [
    (1999, 12, 31), // the millennium
    (2002, 6, 3),   // the Golden Jubilee
    (2011, 4, 29),  // a royal wedding
    (2012, 6, 5),   // the Diamond Jubilee
    (2022, 6, 3),   // the Platinum Jubilee
    (2022, 9, 19),  // the State Funeral of Queen Elizabeth II
    (2023, 5, 8),   // the Coronation of King Charles III
];

/// A day of a year: (month, day).
type MonthDay = (u32, u32);

/// Years whose May bank holidays were moved: (year, early May, spring).
const MOVED_MAY: [(i32, Option<MonthDay>, Option<MonthDay>); 5] = [
    (1995, Some((5, 8)), None),
    (2002, None, Some((6, 4))),
    (2012, None, Some((6, 4))),
    (2020, Some((5, 8)), None),
    (2022, None, Some((6, 2))),
];

/// Every bank holiday of a year in England and Wales: New Year's Day, Good Friday, Easter Monday,
/// the early May, spring and summer bank holidays, Christmas Day and Boxing Day (with the
/// substitute days when those fall at a weekend), and the one-off days proclaimed since 1995.
/// Sorted.
pub fn bank_holidays(year: i32) -> Vec<NaiveDate> {
    let mut days = Vec::with_capacity(10);
    let date = |m: u32, d: u32| NaiveDate::from_ymd_opt(year, m, d);
    // New Year's Day, or the Monday after.
    if let Some(ny) = date(1, 1) {
        days.extend(match ny.weekday() {
            Weekday::Sat => ny.checked_add_days(Days::new(2)),
            Weekday::Sun => ny.checked_add_days(Days::new(1)),
            _ => Some(ny),
        });
    }
    if let Some(easter) = easter_sunday(year) {
        days.extend(easter.checked_sub_days(Days::new(2)));
        days.extend(easter.checked_add_days(Days::new(1)));
    }
    let moved = MOVED_MAY.iter().find(|m| m.0 == year);
    days.extend(match moved.and_then(|m| m.1) {
        Some((m, d)) => date(m, d),
        None => first_on_or_after(year, 5, 1, Weekday::Mon),
    });
    days.extend(match moved.and_then(|m| m.2) {
        Some((m, d)) => date(m, d),
        None => last_monday(year, 5),
    });
    days.extend(last_monday(year, 8));
    // Christmas and Boxing Day: a day that falls at a weekend moves to the next weekday that is
    // not already a holiday.
    if let (Some(christmas), Some(boxing)) = (date(12, 25), date(12, 26)) {
        let (c, b) = match christmas.weekday() {
            Weekday::Fri => (christmas, date(12, 28)),
            Weekday::Sat => (date(12, 27).unwrap_or(christmas), date(12, 28)),
            Weekday::Sun => (date(12, 27).unwrap_or(christmas), Some(boxing)),
            _ => (christmas, Some(boxing)),
        };
        days.push(c);
        days.extend(b);
    }
    days.extend(ONE_OFF.iter().filter(|o| o.0 == year).filter_map(|o| date(o.1, o.2)));
    days.sort_unstable();
    days.dedup();
    days
}

/// Neither a Saturday, a Sunday nor a bank holiday in England and Wales.
pub fn is_working_day(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && bank_holidays(d.year()).binary_search(&d).is_err()
}

/// The day itself when it is a working day, else the next one.
pub fn next_working_day(d: NaiveDate) -> Option<NaiveDate> {
    let mut day = d;
    // At most a weekend plus the Christmas and New Year holidays lie between working days.
    for _ in 0..14 {
        if is_working_day(day) {
            return Some(day);
        }
        day = day.succ_opt()?;
    }
    None
}

/// The date by which a request received on `received` must be answered, given the months it
/// was extended by (0–2) and the days its clock was stopped. `None` past chrono's range.
pub fn due_date(received: NaiveDate, extended_months: u32, stopped_days: u64) -> Option<NaiveDate> {
    let limit = add_months(received, 1 + extended_months.min(MAX_EXTENSION_MONTHS))?;
    next_working_day(limit.checked_add_days(Days::new(stopped_days))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn easter_falls_where_the_almanac_says() {
        for (y, m, day) in [
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2038, 4, 25),
            (2000, 4, 23),
        ] {
            assert_eq!(easter_sunday(y), Some(d(y, m, day)), "{y}");
        }
    }

    #[test]
    fn the_bank_holidays_of_recent_years_match_the_published_lists() {
        let list = |y| bank_holidays(y);
        assert_eq!(
            list(2022),
            vec![
                d(2022, 1, 3),
                d(2022, 4, 15),
                d(2022, 4, 18),
                d(2022, 5, 2),
                d(2022, 6, 2),
                d(2022, 6, 3),
                d(2022, 8, 29),
                d(2022, 9, 19),
                d(2022, 12, 26),
                d(2022, 12, 27),
            ]
        );
        assert_eq!(
            list(2026),
            vec![
                d(2026, 1, 1),
                d(2026, 4, 3),
                d(2026, 4, 6),
                d(2026, 5, 4),
                d(2026, 5, 25),
                d(2026, 8, 31),
                d(2026, 12, 25),
                d(2026, 12, 28),
            ]
        );
        assert_eq!(list(2020)[3], d(2020, 5, 8), "VE Day moved the early May holiday");
        assert_eq!(list(2021)[6..], [d(2021, 12, 27), d(2021, 12, 28)]);
        assert_eq!(list(2027)[6..], [d(2027, 12, 27), d(2027, 12, 28)]);
        assert_eq!(list(2023).len(), 9, "the Coronation");
    }

    #[test]
    fn the_examples_of_the_guidance() {
        // Received 3 September: due 3 October.
        assert_eq!(due_date(d(2025, 9, 3), 0, 0), Some(d(2025, 10, 3)));
        // Received 31 January: due the last day of February (28th, or 29th in a leap year)…
        assert_eq!(due_date(d(2024, 1, 31), 0, 0), Some(d(2024, 2, 29)));
        // …moved on when that is a weekend (28 February 2026 is a Saturday).
        assert_eq!(due_date(d(2026, 1, 31), 0, 0), Some(d(2026, 3, 2)));
        // A limit on Christmas Day 2026 (a Friday) moves past Boxing Day's substitute Monday.
        assert_eq!(due_date(d(2026, 11, 25), 0, 0), Some(d(2026, 12, 29)));
        // Extended by two months: three months from receipt.
        assert_eq!(due_date(d(2025, 9, 3), 2, 0), Some(d(2025, 12, 3)));
        // Ten days stopped: ten days later.
        assert_eq!(due_date(d(2025, 9, 3), 0, 10), Some(d(2025, 10, 13)));
    }

    /// Any day from 1990 to 2099, month ends (29th–31st) as likely as the rest.
    fn any_date() -> impl Strategy<Value = NaiveDate> {
        (1990i32..2100, 1u32..=12, 1u32..=31).prop_map(|(y, m, day)| {
            NaiveDate::from_ymd_opt(y, m, day).unwrap_or_else(|| add_months(d(y, m, 1), 1).unwrap().pred_opt().unwrap())
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        #[test]
        fn a_due_date_is_the_first_working_day_on_or_after_the_corresponding_date(
            received in any_date(),
            months in 0u32..=2,
            stopped in 0u64..120,
        ) {
            let due = due_date(received, months, stopped).unwrap();
            let limit = add_months(received, 1 + months).unwrap() + Days::new(stopped);
            prop_assert!(due >= limit);
            prop_assert!(is_working_day(due));
            let mut day = limit;
            while day < due {
                prop_assert!(!is_working_day(day), "{day} is a working day before {due}");
                day = day.succ_opt().unwrap();
            }
            // Never more than a long Christmas break beyond the limit.
            prop_assert!((due - limit).num_days() <= 5);
        }

        #[test]
        fn the_corresponding_date_is_the_same_day_or_the_months_last(received in any_date(), months in 1u32..=3) {
            let limit = add_months(received, months).unwrap();
            let target_month0 = (received.month0() + months) % 12;
            prop_assert_eq!(limit.month0(), target_month0);
            if limit.day() != received.day() {
                prop_assert!(limit.day() < received.day());
                prop_assert_eq!(limit.succ_opt().unwrap().day(), 1, "clamped to the month's end");
            }
            // One month is never shorter than 28 days nor longer than 31.
            let one = add_months(received, 1).unwrap();
            prop_assert!((28..=31).contains(&(one - received).num_days()));
        }

        #[test]
        fn stopping_the_clock_adds_exactly_its_days(received in any_date(), months in 0u32..=2, stopped in 0u64..200) {
            let limit = add_months(received, 1 + months).unwrap();
            prop_assert_eq!(
                due_date(received, months, stopped),
                next_working_day(limit + Days::new(stopped))
            );
        }

        #[test]
        fn a_later_request_is_never_due_earlier(received in any_date(), later in 0u64..60, months in 0u32..=2) {
            let a = due_date(received, months, 0).unwrap();
            let b = due_date(received + Days::new(later), months, 0).unwrap();
            prop_assert!(b >= a);
            // And an extension only ever moves the date later.
            prop_assert!(due_date(received, months + 1, 0).unwrap() >= a);
        }
    }
}
