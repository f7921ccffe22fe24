//! A duty (待办事项): something a department or the bureau owes, about one matter, by a
//! working-day deadline. Every capability opens its duties through [`NewDuty::open`], so
//! every queue item has the same shape and every deadline comes from the same rules.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::calendar::Calendar;
use crate::deadline::{DeadlineRules, DutyKind};
use crate::labelled::labelled_enum;

labelled_enum! {
    /// What kind of matter a duty is about.
    SubjectKind {
        ShareRequest => "share_request", "共享申请";
        Objection => "objection", "数据异议";
        Need => "need", "数据需求";
        BasisReview => "basis_review", "不予共享复核";
        Entry => "entry", "目录";
        Source => "source", "数据源";
        CalendarYear => "calendar_year", "节假日安排";
    }
}

/// The matter a duty is about: a share request, an objection, a catalogue entry, … by id
/// (a calendar year by its number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
pub struct DutySubject {
    #[serde(rename = "type")]
    pub kind: SubjectKind,
    pub id: i64,
}

impl DutySubject {
    pub fn new(kind: SubjectKind, id: i64) -> Self {
        Self { kind, id }
    }

    /// The matter in Chinese: "共享申请 12", "2027 年节假日安排".
    pub fn label(self) -> String {
        match self.kind {
            SubjectKind::CalendarYear => format!("{} 年节假日安排", self.id),
            kind => format!("{} {}", kind.label(), self.id),
        }
    }

    /// The audit log's target for the matter (`share_request:12`).
    pub fn target(self) -> String {
        format!("{}:{}", self.kind.code(), self.id)
    }
}

/// Who owes a duty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DutyOwner {
    /// The data-resources bureau (管理方).
    Bureau,
    /// A department (its chief representative and staff).
    Department(i64),
}

impl DutyOwner {
    /// The department column: none for the bureau.
    pub fn department_id(self) -> Option<i64> {
        match self {
            DutyOwner::Bureau => None,
            DutyOwner::Department(id) => Some(id),
        }
    }
}

/// Why a duty cannot be opened as asked: a bug in the capability that asks, not bad input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DutyError {
    #[error("duty kind {kind:?} is not about a {subject:?}")]
    WrongSubject {
        kind: DutyKind,
        subject: SubjectKind,
    },
    #[error("duty kind {kind:?} is owed by {expected}, not {owner:?}")]
    WrongOwner {
        kind: DutyKind,
        expected: &'static str,
        owner: DutyOwner,
    },
}

/// A duty about to be opened, its deadline worked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDuty {
    pub kind: DutyKind,
    pub subject: DutySubject,
    pub owner: DutyOwner,
    pub received_at: DateTime<Utc>,
    pub due: NaiveDate,
    /// The deadline runs through a year whose holiday schedule is not loaded yet.
    pub provisional: bool,
    /// Those years: the bureau owes a duty to load each.
    pub missing_years: Vec<i32>,
}

impl NewDuty {
    /// The duty of `kind` about `subject`, owed by `owner`, received at `received_at`: due
    /// after the working days the rules give its kind (a calendar year when it begins).
    pub fn open(
        kind: DutyKind,
        subject: DutySubject,
        owner: DutyOwner,
        received_at: DateTime<Utc>,
        calendar: &Calendar,
        rules: &DeadlineRules,
    ) -> Result<Self, DutyError> {
        if !kind.subjects().contains(&subject.kind) {
            return Err(DutyError::WrongSubject {
                kind,
                subject: subject.kind,
            });
        }
        let bureau = kind.owed_by_bureau();
        if bureau != (owner == DutyOwner::Bureau) {
            return Err(DutyError::WrongOwner {
                kind,
                expected: if bureau { "the bureau" } else { "a department" },
                owner,
            });
        }
        if kind == DutyKind::CalendarYear {
            return Ok(Self::calendar_year(subject.id, received_at));
        }
        let deadline = rules.deadline(calendar, kind, received_at);
        Ok(Self {
            kind,
            subject,
            owner,
            received_at,
            due: deadline.due,
            provisional: deadline.provisional,
            missing_years: deadline.missing_years,
        })
    }

    /// The bureau's duty to load `year`'s holiday schedule, due when the year begins.
    pub fn calendar_year(year: i64, received_at: DateTime<Utc>) -> Self {
        let due = i32::try_from(year)
            .ok()
            .and_then(|y| NaiveDate::from_ymd_opt(y, 1, 1))
            .unwrap_or(NaiveDate::MAX);
        Self {
            kind: DutyKind::CalendarYear,
            subject: DutySubject::new(SubjectKind::CalendarYear, year),
            owner: DutyOwner::Bureau,
            received_at,
            due,
            provisional: false,
            missing_years: Vec::new(),
        }
    }

    /// The hall's notice of the duty to its owner.
    pub fn notice(&self) -> String {
        format!(
            "新的待办：{}（{}），请于 {} 前办理",
            self.kind.label(),
            self.subject.label(),
            self.due
        )
    }

    /// The duties to load the years this one's deadline ran into.
    pub fn calendar_duties(&self) -> impl Iterator<Item = NewDuty> + '_ {
        self.missing_years
            .iter()
            .map(|year| NewDuty::calendar_year(i64::from(*year), self.received_at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        format!("{text}T02:00:00Z").parse().unwrap()
    }

    fn open(kind: DutyKind, subject: SubjectKind, owner: DutyOwner) -> Result<NewDuty, DutyError> {
        NewDuty::open(
            kind,
            DutySubject::new(subject, 7),
            owner,
            at("2026-02-13"),
            &Calendar::builtin(),
            &DeadlineRules::default(),
        )
    }

    #[test]
    fn a_duty_is_due_by_its_kinds_rule() {
        let duty = open(
            DutyKind::DepartmentDecision,
            SubjectKind::ShareRequest,
            DutyOwner::Department(3),
        )
        .unwrap();
        // Ten working days from a Friday before the Spring Festival (2026 schedule).
        assert_eq!(duty.due, NaiveDate::from_ymd_opt(2026, 3, 5).unwrap());
        assert!(!duty.provisional);
        let sign = open(
            DutyKind::SignEntry,
            SubjectKind::Entry,
            DutyOwner::Department(3),
        )
        .unwrap();
        assert!(sign.due < duty.due, "signing is due sooner than a decision");
    }

    #[test]
    fn kinds_refuse_subjects_and_owners_they_do_not_fit() {
        assert_eq!(
            open(
                DutyKind::SignEntry,
                SubjectKind::ShareRequest,
                DutyOwner::Department(3)
            ),
            Err(DutyError::WrongSubject {
                kind: DutyKind::SignEntry,
                subject: SubjectKind::ShareRequest
            })
        );
        assert!(matches!(
            open(
                DutyKind::ReviewEntry,
                SubjectKind::Entry,
                DutyOwner::Department(3)
            ),
            Err(DutyError::WrongOwner { .. })
        ));
        assert!(matches!(
            open(DutyKind::NeedResponse, SubjectKind::Need, DutyOwner::Bureau),
            Err(DutyError::WrongOwner { .. })
        ));
        assert!(open(
            DutyKind::Coordination,
            SubjectKind::BasisReview,
            DutyOwner::Bureau
        )
        .is_ok());
    }

    #[test]
    fn every_kind_fits_at_least_one_subject() {
        for kind in DutyKind::ALL {
            assert!(!kind.subjects().is_empty(), "{kind:?}");
        }
    }

    #[test]
    fn a_deadline_into_an_unknown_year_opens_the_bureaus_calendar_duty() {
        let duty = NewDuty::open(
            DutyKind::DepartmentDecision,
            DutySubject::new(SubjectKind::ShareRequest, 1),
            DutyOwner::Department(3),
            at("2099-12-28"),
            &Calendar::builtin(),
            &DeadlineRules::default(),
        )
        .unwrap();
        assert!(duty.provisional);
        let years: Vec<NewDuty> = duty.calendar_duties().collect();
        assert!(!years.is_empty());
        for year in &years {
            assert_eq!(year.kind, DutyKind::CalendarYear);
            assert_eq!(year.owner, DutyOwner::Bureau);
            assert_eq!(
                year.due,
                NaiveDate::from_ymd_opt(year.subject.id as i32, 1, 1).unwrap()
            );
        }
    }

    #[test]
    fn a_subject_names_its_matter_for_the_audit_log() {
        assert_eq!(
            DutySubject::new(SubjectKind::ShareRequest, 12).target(),
            "share_request:12"
        );
        assert_eq!(
            serde_json::to_value(DutySubject::new(SubjectKind::Need, 4)).unwrap(),
            serde_json::json!({"type": "need", "id": 4})
        );
    }
}
