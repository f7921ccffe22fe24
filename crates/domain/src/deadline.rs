//! Duties with deadlines (standards.md §2): what each kind of duty owes, in working days,
//! and where it stands against its due date.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::{beijing_date, Calendar, Deadline};
use crate::duty::SubjectKind;
use crate::labelled::labelled_enum;

labelled_enum! {
    /// The kinds of duty the platform times.
    DutyKind {
        /// Data the platform provides directly (无条件共享).
        PlatformProvision => "platform_provision", "平台直接提供";
        /// A provider department's decision on a conditional request.
        DepartmentDecision => "department_decision", "部门受理审批";
        /// The bureau's coordination of a refused or overdue request, or of a review of a
        /// not-shared basis.
        Coordination => "coordination", "管理方协调";
        /// The provider's verification of an objection.
        ObjectionVerification => "objection_verification", "异议核实";
        /// The provider's answer to a data need assigned to it.
        NeedResponse => "need_response", "需求响应";
        /// The provider's revision of an entry whose not-shared basis the bureau overturned.
        BasisRevision => "basis_revision", "调整共享属性";
        /// The chief representative's signature on a submitted catalogue entry.
        SignEntry => "sign_entry", "签发目录";
        /// The bureau's review and publication of a signed entry.
        ReviewEntry => "review_entry", "审核发布目录";
        /// The department's revision of an entry sent back to it.
        ReviseEntry => "revise_entry", "修改退回的目录";
        /// The department's repair of a source whose pulls fail.
        CollectionFailure => "collection_failure", "处理归集失败";
        /// The bureau's import of a year's holiday schedule, due when the year begins.
        CalendarYear => "calendar_year", "导入节假日安排";
    }
}

impl DutyKind {
    /// The matters a duty of this kind can be about.
    pub fn subjects(self) -> &'static [SubjectKind] {
        match self {
            DutyKind::PlatformProvision | DutyKind::DepartmentDecision => {
                &[SubjectKind::ShareRequest]
            }
            DutyKind::Coordination => &[SubjectKind::ShareRequest, SubjectKind::BasisReview],
            DutyKind::ObjectionVerification => &[SubjectKind::Objection],
            DutyKind::NeedResponse => &[SubjectKind::Need],
            DutyKind::BasisRevision => &[SubjectKind::BasisReview],
            DutyKind::SignEntry | DutyKind::ReviewEntry | DutyKind::ReviseEntry => {
                &[SubjectKind::Entry]
            }
            DutyKind::CollectionFailure => &[SubjectKind::Source],
            DutyKind::CalendarYear => &[SubjectKind::CalendarYear],
        }
    }

    /// Owed by the bureau (or the platform itself), not by a department.
    pub fn owed_by_bureau(self) -> bool {
        matches!(
            self,
            DutyKind::PlatformProvision
                | DutyKind::Coordination
                | DutyKind::ReviewEntry
                | DutyKind::CalendarYear
        )
    }
}

/// One deadline rule: working days allowed and where the number comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeadlineRule {
    pub kind: DutyKind,
    pub working_days: u32,
    pub source: String,
}

/// The deadline rules in force; configuration, with the defaults below.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeadlineRules {
    pub rules: Vec<DeadlineRule>,
    /// A duty counts as due soon when this many working days or fewer remain.
    pub due_soon_days: i64,
    /// Receipts after this Beijing time count from the next working day.
    #[schema(value_type = Option<String>)]
    pub cutoff: Option<NaiveTime>,
}

impl Default for DeadlineRules {
    fn default() -> Self {
        let rule = |kind, working_days, source: &str| DeadlineRule {
            kind,
            working_days,
            source: source.to_string(),
        };
        const PROVINCE: &str = "皖政办〔2018〕31号；黄山市政务数据资源管理办法政策解读";
        const DEFAULT: &str = "datahall 默认值（可配置）";
        Self {
            rules: vec![
                rule(DutyKind::PlatformProvision, 3, PROVINCE),
                rule(DutyKind::DepartmentDecision, 10, PROVINCE),
                rule(DutyKind::Coordination, 10, DEFAULT),
                rule(DutyKind::ObjectionVerification, 5, DEFAULT),
                rule(DutyKind::NeedResponse, 10, DEFAULT),
                rule(DutyKind::BasisRevision, 10, DEFAULT),
                rule(DutyKind::SignEntry, 5, DEFAULT),
                rule(DutyKind::ReviewEntry, 5, DEFAULT),
                rule(DutyKind::ReviseEntry, 10, DEFAULT),
                rule(DutyKind::CollectionFailure, 3, DEFAULT),
            ],
            due_soon_days: 2,
            cutoff: None,
        }
    }
}

impl DeadlineRules {
    pub fn working_days(&self, kind: DutyKind) -> u32 {
        self.rules
            .iter()
            .find(|r| r.kind == kind)
            .map_or(10, |r| r.working_days)
    }

    pub fn deadline(
        &self,
        calendar: &Calendar,
        kind: DutyKind,
        received: DateTime<Utc>,
    ) -> Deadline {
        calendar.working_days_after(received, self.working_days(kind), self.cutoff)
    }
}

/// Where a duty stands (the state tags of SPEC §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DutyState {
    OnTime,
    DueSoon,
    Overdue,
    /// Done on or before the due date.
    Done,
    DoneLate,
}

impl DutyState {
    pub fn label(self) -> &'static str {
        match self {
            DutyState::OnTime => "进行中",
            DutyState::DueSoon => "即将到期",
            DutyState::Overdue => "已逾期",
            DutyState::Done => "已办结",
            DutyState::DoneLate => "逾期办结",
        }
    }

    /// Missed: an accountability record is owed.
    pub fn missed(self) -> bool {
        matches!(self, DutyState::Overdue | DutyState::DoneLate)
    }
}

/// A duty's standing at a moment: its state and the countdown shown next to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Countdown {
    pub state: DutyState,
    pub due: NaiveDate,
    pub provisional: bool,
    /// Working days left (positive) or overdue (negative); none once done.
    pub working_days_left: Option<i64>,
    /// The (Beijing) day it was done, once done.
    pub done_on: Option<NaiveDate>,
    /// "剩余 N 个工作日", "已逾期 N 个工作日", "2026-03-05 办结".
    pub text: String,
}

impl Countdown {
    pub fn of(
        calendar: &Calendar,
        rules: &DeadlineRules,
        due: NaiveDate,
        provisional: bool,
        done_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Self {
        let mark = if provisional { "（暂定）" } else { "" };
        if let Some(done) = done_at {
            // Shown with the day it was done, not only its deadline (which may still lie
            // ahead and read as if the matter were open).
            let done_on = beijing_date(done);
            let state = if done_on <= due {
                DutyState::Done
            } else {
                DutyState::DoneLate
            };
            return Self {
                state,
                due,
                provisional,
                working_days_left: None,
                done_on: Some(done_on),
                text: format!("{done_on} 办结"),
            };
        }
        let today = beijing_date(now);
        let (state, left, text) = if today > due {
            let late = calendar.working_days_between(due, today).max(1);
            (
                DutyState::Overdue,
                -late,
                format!("已逾期 {late} 个工作日{mark}"),
            )
        } else {
            let left = calendar.working_days_between(today, due);
            let state = if left <= rules.due_soon_days {
                DutyState::DueSoon
            } else {
                DutyState::OnTime
            };
            let text = if left == 0 {
                format!("今日到期{mark}")
            } else {
                format!("剩余 {left} 个工作日{mark}")
            };
            (state, left, text)
        };
        Self {
            state,
            due,
            provisional,
            working_days_left: Some(left),
            done_on: None,
            text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        format!("{text}T04:00:00Z").parse().unwrap()
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn defaults_follow_the_provincial_rule() {
        let rules = DeadlineRules::default();
        assert_eq!(rules.working_days(DutyKind::PlatformProvision), 3);
        assert_eq!(rules.working_days(DutyKind::DepartmentDecision), 10);
        let deadline = rules.deadline(
            &Calendar::builtin(),
            DutyKind::DepartmentDecision,
            at("2026-02-13"),
        );
        assert_eq!(deadline.due, date("2026-03-05"));
    }

    #[test]
    fn countdown_states() {
        let (calendar, rules) = (Calendar::builtin(), DeadlineRules::default());
        let due = date("2026-03-05");
        let state = |now: &str, done: Option<&str>| {
            Countdown::of(&calendar, &rules, due, false, done.map(at), at(now))
        };
        let early = state("2026-02-24", None);
        assert_eq!(
            (early.state, early.working_days_left),
            (DutyState::OnTime, Some(8))
        );
        assert_eq!(early.text, "剩余 8 个工作日");
        assert_eq!(state("2026-03-03", None).state, DutyState::DueSoon);
        assert_eq!(state("2026-03-05", None).text, "今日到期");
        let late = state("2026-03-09", None);
        assert_eq!(
            (late.state, late.working_days_left),
            (DutyState::Overdue, Some(-2))
        );
        assert_eq!(late.text, "已逾期 2 个工作日");
        // Overdue on a Saturday after a Friday due date: one day, not zero.
        assert_eq!(
            Countdown::of(
                &calendar,
                &rules,
                date("2026-03-06"),
                false,
                None,
                at("2026-03-07")
            )
            .working_days_left,
            Some(-1)
        );
        assert_eq!(
            state("2026-03-09", Some("2026-03-05")).state,
            DutyState::Done
        );
        assert_eq!(
            state("2026-03-09", Some("2026-03-06")).state,
            DutyState::DoneLate
        );
        assert!(DutyState::DoneLate.missed() && !DutyState::Done.missed());
        let provisional = Countdown::of(&calendar, &rules, due, true, None, at("2026-02-24"));
        assert_eq!(provisional.text, "剩余 8 个工作日（暂定）");
        // Done early: the day it was done, not the deadline still ahead.
        let early_done = state("2026-03-09", Some("2026-02-25"));
        assert_eq!(
            (
                early_done.state,
                early_done.done_on,
                early_done.text.as_str()
            ),
            (DutyState::Done, Some(date("2026-02-25")), "2026-02-25 办结")
        );
    }
}
