//! Aggregation statistics (归集统计): how much of what departments catalogued actually has
//! data on the platform, fresh and of good quality. "应汇尽汇": government data is expected
//! at 100%, social and economic data at 60% (targets configurable).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::account::DepartmentKind;
use crate::catalogue::UpdateCycle;
use crate::freshness::Freshness;

/// One published entry's data state.
#[derive(Debug, Clone)]
pub struct EntryData {
    pub department_id: i64,
    pub update_cycle: UpdateCycle,
    pub rows: i64,
    pub last_success: Option<DateTime<Utc>>,
}

/// One department as the statistics see it.
#[derive(Debug, Clone)]
pub struct DepartmentInput {
    pub id: i64,
    pub name: String,
    pub kind: DepartmentKind,
    /// Rows received and accepted over its successful batches.
    pub received: i64,
    pub accepted: i64,
}

/// Counts for a department or a group of them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Tally {
    pub entries_published: i64,
    pub entries_with_data: i64,
    pub entries_overdue: i64,
    pub entries_empty: i64,
    pub rows: i64,
    pub rows_received: i64,
    pub rows_accepted: i64,
    /// Entries with data ÷ entries published (1 when nothing is published).
    pub aggregation_rate: f64,
    /// Rows accepted ÷ rows received (1 when nothing was received).
    pub quality_rate: f64,
    /// Entries with data that are up to date ÷ entries with data.
    pub freshness_rate: f64,
    pub last_update: Option<DateTime<Utc>>,
}

impl Tally {
    fn add_entry(&mut self, entry: &EntryData, now: DateTime<Utc>) {
        self.entries_published += 1;
        self.rows += entry.rows;
        match Freshness::of(entry.update_cycle, entry.last_success, now) {
            Freshness::NoData => self.entries_empty += 1,
            Freshness::Overdue => {
                self.entries_with_data += 1;
                self.entries_overdue += 1;
            }
            Freshness::Fresh | Freshness::Unscheduled => self.entries_with_data += 1,
        }
        if entry.last_success > self.last_update {
            self.last_update = entry.last_success;
        }
    }

    fn add(&mut self, other: &Tally) {
        self.entries_published += other.entries_published;
        self.entries_with_data += other.entries_with_data;
        self.entries_overdue += other.entries_overdue;
        self.entries_empty += other.entries_empty;
        self.rows += other.rows;
        self.rows_received += other.rows_received;
        self.rows_accepted += other.rows_accepted;
        self.last_update = self.last_update.max(other.last_update);
    }

    fn finish(&mut self) {
        let ratio = |part: i64, whole: i64| {
            if whole == 0 {
                1.0
            } else {
                part as f64 / whole as f64
            }
        };
        self.aggregation_rate = ratio(self.entries_with_data, self.entries_published);
        self.quality_rate = ratio(self.rows_accepted, self.rows_received);
        self.freshness_rate = ratio(
            self.entries_with_data - self.entries_overdue,
            self.entries_with_data,
        );
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DepartmentStats {
    pub department_id: i64,
    pub name: String,
    /// `government` or `social`.
    pub kind: String,
    pub target: f64,
    pub meets_target: bool,
    #[serde(flatten)]
    pub tally: Tally,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GroupStats {
    pub target: f64,
    pub meets_target: bool,
    #[serde(flatten)]
    pub tally: Tally,
}

/// The city's aggregation statistics.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AggregationStats {
    pub computed_at: DateTime<Utc>,
    pub city: Tally,
    pub government: GroupStats,
    pub social: GroupStats,
    pub departments: Vec<DepartmentStats>,
}

/// Targets as fractions: government data, social/economic data.
#[derive(Debug, Clone, Copy)]
pub struct Targets {
    pub government: f64,
    pub social: f64,
}

pub fn aggregate(
    departments: &[DepartmentInput],
    entries: &[EntryData],
    targets: Targets,
    now: DateTime<Utc>,
) -> AggregationStats {
    let mut per_department: Vec<DepartmentStats> = departments
        .iter()
        .map(|d| {
            let mut tally = Tally {
                rows_received: d.received,
                rows_accepted: d.accepted,
                ..Tally::default()
            };
            for entry in entries.iter().filter(|e| e.department_id == d.id) {
                tally.add_entry(entry, now);
            }
            tally.finish();
            let target = match d.kind {
                DepartmentKind::Government => targets.government,
                DepartmentKind::Social => targets.social,
            };
            DepartmentStats {
                department_id: d.id,
                name: d.name.clone(),
                kind: d.kind.code().to_string(),
                target,
                meets_target: tally.aggregation_rate + 1e-9 >= target,
                tally,
            }
        })
        .collect();
    per_department.sort_by(|a, b| {
        a.kind
            .cmp(&b.kind)
            .then(a.department_id.cmp(&b.department_id))
    });
    let group = |kind: &str, target: f64| {
        let mut tally = Tally::default();
        for d in per_department.iter().filter(|d| d.kind == kind) {
            tally.add(&d.tally);
        }
        tally.finish();
        GroupStats {
            target,
            meets_target: tally.aggregation_rate + 1e-9 >= target,
            tally,
        }
    };
    let government = group("government", targets.government);
    let social = group("social", targets.social);
    let mut city = Tally::default();
    city.add(&government.tally);
    city.add(&social.tally);
    city.finish();
    AggregationStats {
        computed_at: now,
        city,
        government,
        social,
        departments: per_department,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn rates_split_government_and_social_against_their_targets() {
        let now = Utc::now();
        let department = |id, kind, received, accepted| DepartmentInput {
            id,
            name: format!("部门{id}"),
            kind,
            received,
            accepted,
        };
        let departments = [
            department(1, DepartmentKind::Government, 1000, 990),
            department(2, DepartmentKind::Social, 0, 0),
        ];
        let entry = |department_id, rows, age_days: Option<i64>| EntryData {
            department_id,
            update_cycle: UpdateCycle::Daily,
            rows,
            last_success: age_days.map(|d| now - Duration::days(d)),
        };
        let entries = [
            entry(1, 600, Some(0)),
            entry(1, 390, Some(3)),
            entry(1, 0, None),
            entry(2, 10, Some(0)),
            entry(2, 0, None),
        ];
        let stats = aggregate(
            &departments,
            &entries,
            Targets {
                government: 1.0,
                social: 0.5,
            },
            now,
        );
        let government = &stats.government;
        assert_eq!(
            (
                government.tally.entries_published,
                government.tally.entries_with_data
            ),
            (3, 2)
        );
        assert_eq!(government.tally.entries_overdue, 1);
        assert!((government.tally.aggregation_rate - 2.0 / 3.0).abs() < 1e-9);
        assert!(
            !government.meets_target,
            "100% is required of government data"
        );
        assert!(stats.social.meets_target, "half of social data meets 50%");
        assert!((government.tally.quality_rate - 0.99).abs() < 1e-9);
        assert_eq!(stats.city.rows, 1000);
        assert_eq!(stats.city.entries_published, 5);
        assert_eq!(stats.departments[0].kind, "government");
    }
}
