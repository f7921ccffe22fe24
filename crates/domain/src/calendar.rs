//! The working-day calendar (standards.md §4): which Beijing days are working days, and the
//! deadline "within N working days" of a receipt.
//!
//! Holidays and make-up working days (调休) are fixed each year by a State Council notice;
//! they are data ([`YearSchedule`]), never derived. A year without a schedule is computed
//! Monday–Friday and everything that depends on it is marked provisional.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

/// Beijing time (Asia/Shanghai has kept UTC+8 without daylight saving since 1991).
pub fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// The Beijing date of an instant.
pub fn beijing_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&beijing()).date_naive()
}

/// Midnight Beijing time of the day `at` falls in, as an instant.
pub fn beijing_day_start(at: DateTime<Utc>) -> DateTime<Utc> {
    beijing_date(at)
        .and_time(NaiveTime::MIN)
        .and_local_timezone(beijing())
        .single()
        .expect("Beijing time has no gaps")
        .with_timezone(&Utc)
}

/// A receipt given as an RFC 3339 time, or as a date (taken as 09:00 Beijing time, inside
/// the working day and before any cut-off).
pub fn parse_receipt(text: &str) -> Option<DateTime<Utc>> {
    let at = match DateTime::parse_from_rfc3339(text.trim()) {
        Ok(at) => at.with_timezone(&Utc),
        Err(_) => NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .ok()?
            .and_hms_opt(9, 0, 0)?
            .and_local_timezone(beijing())
            .single()?
            .with_timezone(&Utc),
    };
    // Deadlines are counted in days from here: a receipt far from any calendar year
    // (`+262142-12-31`) would overflow the date arithmetic.
    (RECEIPT_YEARS).contains(&at.year()).then_some(at)
}

/// The years a receipt may fall in.
pub const RECEIPT_YEARS: std::ops::RangeInclusive<i32> = 1990..=2199;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("无法识别的日期“{0}”，应为 YYYY-MM-DD 或 YYYY-MM-DD..YYYY-MM-DD")]
    BadDate(String),
    #[error("日期 {date} 不在 {year} 年内")]
    OutsideYear { year: i32, date: NaiveDate },
    #[error("{0} 既是放假日又是调休上班日")]
    BothHolidayAndMakeUp(NaiveDate),
    #[error("调休上班日 {0} 不是周末")]
    MakeUpOnWeekday(NaiveDate),
    #[error("年份 {0} 超出范围（2000–2100）")]
    BadYear(i32),
    #[error("缺少通知文号")]
    MissingNotice,
}

/// One year's State Council holiday schedule, as an administrator imports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleInput {
    pub year: i32,
    /// The notice's number, e.g. 国办发明电〔2024〕12号.
    pub notice: String,
    /// The notice's date.
    pub notice_date: NaiveDate,
    /// Days off: single dates or ranges `YYYY-MM-DD..YYYY-MM-DD`.
    pub holidays: Vec<String>,
    /// Weekend days that are working days (调休上班).
    pub make_up_days: Vec<String>,
}

/// A validated year schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct YearSchedule {
    pub year: i32,
    pub notice: String,
    pub notice_date: NaiveDate,
    pub holidays: BTreeSet<NaiveDate>,
    pub make_up_days: BTreeSet<NaiveDate>,
}

fn parse_days(year: i32, specs: &[String]) -> Result<BTreeSet<NaiveDate>, CalendarError> {
    let date = |text: &str| {
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .map_err(|_| CalendarError::BadDate(text.trim().to_string()))
    };
    let mut days = BTreeSet::new();
    for spec in specs {
        let (first, last) = match spec.split_once("..") {
            Some((a, b)) => (date(a)?, date(b)?),
            None => (date(spec)?, date(spec)?),
        };
        if last < first || (last - first).num_days() > 40 {
            return Err(CalendarError::BadDate(spec.clone()));
        }
        for day in first.iter_days().take_while(|d| *d <= last) {
            if day.year() != year {
                return Err(CalendarError::OutsideYear { year, date: day });
            }
            days.insert(day);
        }
    }
    Ok(days)
}

impl YearSchedule {
    pub fn parse(input: &ScheduleInput) -> Result<Self, CalendarError> {
        if !(2000..=2100).contains(&input.year) {
            return Err(CalendarError::BadYear(input.year));
        }
        if input.notice.trim().is_empty() {
            return Err(CalendarError::MissingNotice);
        }
        let holidays = parse_days(input.year, &input.holidays)?;
        let make_up_days = parse_days(input.year, &input.make_up_days)?;
        if let Some(both) = holidays.intersection(&make_up_days).next() {
            return Err(CalendarError::BothHolidayAndMakeUp(*both));
        }
        if let Some(weekday) = make_up_days.iter().find(|d| !is_weekend(**d)) {
            return Err(CalendarError::MakeUpOnWeekday(*weekday));
        }
        Ok(Self {
            year: input.year,
            notice: input.notice.trim().to_string(),
            notice_date: input.notice_date,
            holidays,
            make_up_days,
        })
    }

    fn is_working(&self, date: NaiveDate) -> bool {
        if self.holidays.contains(&date) {
            false
        } else {
            self.make_up_days.contains(&date) || !is_weekend(date)
        }
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Whether a day is worked, and whether that is known or assumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Day {
    pub date: NaiveDate,
    pub working: bool,
    /// No schedule for the year: Monday–Friday assumed.
    pub provisional: bool,
}

/// A due date "within N working days".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Deadline {
    /// The day the receipt counts from (the next working day when it came on a day off or
    /// after the cut-off).
    pub counted_from: NaiveDate,
    pub due: NaiveDate,
    /// Some day in between lies in a year without a schedule.
    pub provisional: bool,
    /// The years whose schedules are missing, for the bureau's task.
    pub missing_years: Vec<i32>,
}

/// Holiday schedules by year.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    years: BTreeMap<i32, YearSchedule>,
}

impl Calendar {
    pub fn new(schedules: impl IntoIterator<Item = YearSchedule>) -> Self {
        Self {
            years: schedules.into_iter().map(|s| (s.year, s)).collect(),
        }
    }

    /// The schedules shipped with datahall (2020–2026).
    pub fn builtin() -> Self {
        Self::new(builtin_schedules())
    }

    pub fn schedules(&self) -> impl Iterator<Item = &YearSchedule> {
        self.years.values()
    }

    pub fn has_year(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    pub fn insert(&mut self, schedule: YearSchedule) {
        self.years.insert(schedule.year, schedule);
    }

    pub fn day(&self, date: NaiveDate) -> Day {
        match self.years.get(&date.year()) {
            Some(schedule) => Day {
                date,
                working: schedule.is_working(date),
                provisional: false,
            },
            None => Day {
                date,
                working: !is_weekend(date),
                provisional: true,
            },
        }
    }

    /// The first working day strictly after `date`.
    fn next_working_day(&self, date: NaiveDate, missing: &mut BTreeSet<i32>) -> NaiveDate {
        let mut day = date;
        loop {
            day += Duration::days(1);
            let d = self.day(day);
            if d.provisional {
                missing.insert(day.year());
            }
            if d.working {
                return day;
            }
        }
    }

    /// The due date of a duty received at `received` and owed "within `n` working days"
    /// (standards.md §4): the day of receipt does not count; a receipt on a day off, or
    /// after `cutoff` (Beijing time), counts from the next working day.
    pub fn working_days_after(
        &self,
        received: DateTime<Utc>,
        n: u32,
        cutoff: Option<NaiveTime>,
    ) -> Deadline {
        let local = received.with_timezone(&beijing());
        let mut missing = BTreeSet::new();
        let date = local.date_naive();
        let receipt_day = self.day(date);
        if receipt_day.provisional {
            missing.insert(date.year());
        }
        let after_cutoff = cutoff.is_some_and(|c| local.time() >= c);
        let counted_from = if receipt_day.working && !after_cutoff {
            date
        } else {
            self.next_working_day(date, &mut missing)
        };
        let mut due = counted_from;
        for _ in 0..n {
            due = self.next_working_day(due, &mut missing);
        }
        Deadline {
            counted_from,
            due,
            provisional: !missing.is_empty(),
            missing_years: missing.into_iter().collect(),
        }
    }

    /// The last day by which at most `n` working days remain from `today`: a deadline up
    /// to then counts as due soon when `n` is the due-soon threshold.
    pub fn last_day_within(&self, today: NaiveDate, n: i64) -> NaiveDate {
        let mut working = 0;
        let mut day = today;
        // A year of days off at most: the schedule cannot hold more.
        for _ in 0..400 {
            let next = day.succ_opt().unwrap_or(NaiveDate::MAX);
            if self.day(next).working {
                working += 1;
                if working > n {
                    return day;
                }
            }
            day = next;
        }
        day
    }

    /// Working days in `(from, to]`: how many remain from `from` until `to`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        from.iter_days()
            .skip(1)
            .take_while(|d| *d <= to)
            .filter(|d| self.day(*d).working)
            .count() as i64
    }
}

/// The State Council notices 2020–2026 (2024–2026 as standards.md §4 gives them).
fn builtin_schedules() -> Vec<YearSchedule> {
    let year = |year: i32, notice: &str, date: &str, holidays: &[&str], make_up: &[&str]| {
        let prefixed = |days: &[&str]| -> Vec<String> {
            days.iter()
                .map(|d| {
                    d.split("..")
                        .map(|part| format!("{year}-{part}"))
                        .collect::<Vec<_>>()
                        .join("..")
                })
                .collect()
        };
        YearSchedule::parse(&ScheduleInput {
            year,
            notice: notice.to_string(),
            notice_date: NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("built-in date"),
            holidays: prefixed(holidays),
            make_up_days: prefixed(make_up),
        })
        .expect("built-in schedules are valid")
    };
    vec![
        // Spring Festival extended to 02-02 by 国办发明电〔2020〕1号.
        year(
            2020,
            "国办发明电〔2019〕16号；国办发明电〔2020〕1号",
            "2019-11-21",
            &[
                "01-01",
                "01-24..02-02",
                "04-04..04-06",
                "05-01..05-05",
                "06-25..06-27",
                "10-01..10-08",
            ],
            &["01-19", "04-26", "05-09", "06-28", "09-27", "10-10"],
        ),
        year(
            2021,
            "国办发明电〔2020〕27号",
            "2020-11-25",
            &[
                "01-01..01-03",
                "02-11..02-17",
                "04-03..04-05",
                "05-01..05-05",
                "06-12..06-14",
                "09-19..09-21",
                "10-01..10-07",
            ],
            &[
                "02-07", "02-20", "04-25", "05-08", "09-18", "09-26", "10-09",
            ],
        ),
        // 12-31 opens the 2023 New Year holiday.
        year(
            2022,
            "国办发明电〔2021〕11号",
            "2021-10-25",
            &[
                "01-01..01-03",
                "01-31..02-06",
                "04-03..04-05",
                "04-30..05-04",
                "06-03..06-05",
                "09-10..09-12",
                "10-01..10-07",
                "12-31",
            ],
            &[
                "01-29", "01-30", "04-02", "04-24", "05-07", "10-08", "10-09",
            ],
        ),
        // 12-30..12-31 open the 2024 New Year holiday.
        year(
            2023,
            "国办发明电〔2022〕16号",
            "2022-12-08",
            &[
                "01-01..01-02",
                "01-21..01-27",
                "04-05",
                "04-29..05-03",
                "06-22..06-24",
                "09-29..10-06",
                "12-30..12-31",
            ],
            &[
                "01-28", "01-29", "04-23", "05-06", "06-25", "10-07", "10-08",
            ],
        ),
        year(
            2024,
            "国办发明电〔2023〕7号",
            "2023-10-25",
            &[
                "01-01",
                "02-10..02-17",
                "04-04..04-06",
                "05-01..05-05",
                "06-10",
                "09-15..09-17",
                "10-01..10-07",
            ],
            &[
                "02-04", "02-18", "04-07", "04-28", "05-11", "09-14", "09-29", "10-12",
            ],
        ),
        year(
            2025,
            "国办发明电〔2024〕12号",
            "2024-11-12",
            &[
                "01-01",
                "01-28..02-04",
                "04-04..04-06",
                "05-01..05-05",
                "05-31..06-02",
                "10-01..10-08",
            ],
            &["01-26", "02-08", "04-27", "09-28", "10-11"],
        ),
        year(
            2026,
            "国办发明电〔2025〕7号",
            "2025-11-04",
            &[
                "01-01..01-03",
                "02-15..02-23",
                "04-04..04-06",
                "05-01..05-05",
                "06-19..06-21",
                "09-25..09-27",
                "10-01..10-07",
            ],
            &["01-04", "02-14", "02-28", "05-09", "09-20", "10-10"],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    /// Noon, Beijing time, on `text`.
    fn beijing_noon(text: &str) -> DateTime<Utc> {
        date(text)
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_local_timezone(beijing())
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_worked_examples_of_the_standard() {
        let calendar = Calendar::builtin();
        let due = |received: &str, n| calendar.working_days_after(beijing_noon(received), n, None);
        assert_eq!(due("2026-02-13", 3).due, date("2026-02-25"));
        assert_eq!(due("2026-02-13", 10).due, date("2026-03-05"));
        // A make-up Saturday is a working day: the receipt counts from it.
        let saturday = due("2026-02-14", 3);
        assert_eq!(
            (saturday.counted_from, saturday.due),
            (date("2026-02-14"), date("2026-02-26"))
        );
        assert!(!saturday.provisional);
    }

    #[test]
    fn a_receipt_on_a_day_off_or_after_the_cutoff_counts_from_the_next_working_day() {
        let calendar = Calendar::builtin();
        let sunday = calendar.working_days_after(beijing_noon("2026-02-15"), 3, None);
        assert_eq!(sunday.counted_from, date("2026-02-24"));
        assert_eq!(sunday.due, date("2026-02-27"));
        let cutoff = NaiveTime::from_hms_opt(17, 30, 0);
        let evening = date("2026-03-02")
            .and_hms_opt(17, 45, 0)
            .unwrap()
            .and_local_timezone(beijing())
            .unwrap()
            .with_timezone(&Utc);
        let late = calendar.working_days_after(evening, 1, cutoff);
        assert_eq!(
            (late.counted_from, late.due),
            (date("2026-03-03"), date("2026-03-04"))
        );
        // 17:45 Beijing is 09:45 UTC: the Beijing date decides, not the UTC one.
        let early = calendar.working_days_after(evening, 1, None);
        assert_eq!(early.due, date("2026-03-03"));
    }

    #[test]
    fn the_beijing_date_decides_near_midnight() {
        // 2026-02-13 16:30 UTC is Saturday 00:30 in Beijing (a make-up working day).
        let received = "2026-02-13T16:30:00Z".parse::<DateTime<Utc>>().unwrap();
        let deadline = Calendar::builtin().working_days_after(received, 3, None);
        assert_eq!(deadline.counted_from, date("2026-02-14"));
    }

    #[test]
    fn a_deadline_into_an_unscheduled_year_is_provisional_and_names_the_year() {
        let calendar = Calendar::builtin();
        let deadline = calendar.working_days_after(beijing_noon("2026-12-28"), 10, None);
        assert!(deadline.provisional);
        assert_eq!(deadline.missing_years, [2027]);
        // Monday–Friday assumed: 29, 30, 31 Dec, then 1, 4–8, 11 Jan 2027.
        assert_eq!(deadline.due, date("2027-01-11"));
        let inside = calendar.working_days_after(beijing_noon("2026-12-01"), 3, None);
        assert!(!inside.provisional && inside.missing_years.is_empty());
    }

    #[test]
    fn schedules_are_validated() {
        let input = |holidays: &[&str], make_up: &[&str]| ScheduleInput {
            year: 2027,
            notice: "国办发明电〔2026〕1号".into(),
            notice_date: date("2026-11-01"),
            holidays: holidays.iter().map(|s| s.to_string()).collect(),
            make_up_days: make_up.iter().map(|s| s.to_string()).collect(),
        };
        let ok = YearSchedule::parse(&input(
            &["2027-01-01", "2027-02-06..2027-02-13"],
            &["2027-02-14"],
        ))
        .unwrap();
        assert_eq!(ok.holidays.len(), 9);
        assert_eq!(
            YearSchedule::parse(&input(&["2027-13-01"], &[])),
            Err(CalendarError::BadDate("2027-13-01".into()))
        );
        assert!(matches!(
            YearSchedule::parse(&input(&["2026-12-31..2027-01-01"], &[])),
            Err(CalendarError::OutsideYear { .. })
        ));
        assert_eq!(
            YearSchedule::parse(&input(&[], &["2027-02-15"])),
            Err(CalendarError::MakeUpOnWeekday(date("2027-02-15")))
        );
        assert_eq!(
            YearSchedule::parse(&input(&["2027-02-14"], &["2027-02-14"])),
            Err(CalendarError::BothHolidayAndMakeUp(date("2027-02-14")))
        );
        let mut calendar = Calendar::builtin();
        calendar.insert(ok);
        assert!(!calendar.day(date("2027-02-08")).working);
        assert!(calendar.day(date("2027-02-14")).working);
        assert!(!calendar.day(date("2027-02-14")).provisional);
    }

    #[test]
    fn receipts_parse_as_dates_or_times() {
        assert_eq!(
            parse_receipt("2026-02-13"),
            Some("2026-02-13T01:00:00Z".parse().unwrap())
        );
        assert_eq!(
            parse_receipt("2026-02-13T18:00:00+08:00"),
            Some("2026-02-13T10:00:00Z".parse().unwrap())
        );
        assert_eq!(parse_receipt("13/02/2026"), None);
        // Far from any calendar: refused, not overflowed (it used to panic).
        assert_eq!(parse_receipt("+262142-12-31"), None);
        assert_eq!(parse_receipt("+262142-12-31T00:00:00Z"), None);
    }

    #[test]
    fn remaining_working_days_skip_days_off() {
        let calendar = Calendar::builtin();
        assert_eq!(
            calendar.working_days_between(date("2026-02-13"), date("2026-02-25")),
            3
        );
        assert_eq!(
            calendar.working_days_between(date("2026-02-25"), date("2026-02-25")),
            0
        );
        assert_eq!(
            calendar.working_days_between(date("2026-02-26"), date("2026-02-25")),
            0
        );
    }

    #[test]
    fn due_soon_ends_before_the_next_working_day_past_the_threshold() {
        let calendar = Calendar::builtin();
        let date = |t: &str| NaiveDate::parse_from_str(t, "%Y-%m-%d").unwrap();
        // Thursday 2026-02-12: Friday the 13th is one working day, then the Spring
        // Festival (and Monday the 16th off) until the make-up and working days after it.
        let until = calendar.last_day_within(date("2026-02-12"), 2);
        assert_eq!(calendar.working_days_between(date("2026-02-12"), until), 2);
        let after = until.succ_opt().unwrap();
        assert_eq!(calendar.working_days_between(date("2026-02-12"), after), 3);
        // No working days allowed: only the days off before the next working day.
        assert_eq!(
            calendar.last_day_within(date("2026-03-06"), 0),
            date("2026-03-08")
        );
    }
}
