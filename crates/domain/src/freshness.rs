//! When an entry's data is due, and when a failed pull is retried (issue: collection §4).

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::catalogue::UpdateCycle;

impl UpdateCycle {
    /// How long data may go without a successful update before the entry is overdue.
    /// 实时 allows an hour of silence; 不定期 is never overdue.
    pub fn period(self) -> Option<Duration> {
        Some(match self {
            UpdateCycle::RealTime => Duration::hours(1),
            UpdateCycle::Daily => Duration::days(1),
            UpdateCycle::Weekly => Duration::days(7),
            UpdateCycle::Monthly => Duration::days(31),
            UpdateCycle::Quarterly => Duration::days(92),
            UpdateCycle::HalfYearly => Duration::days(183),
            UpdateCycle::Yearly => Duration::days(366),
            UpdateCycle::Irregular => return None,
        })
    }

    /// How often a saved source is pulled: 实时 polls every `realtime_poll`; 不定期 daily.
    pub fn pull_interval(self, realtime_poll: Duration) -> Duration {
        match self {
            UpdateCycle::RealTime => realtime_poll,
            UpdateCycle::Irregular => Duration::days(1),
            other => other.period().unwrap_or(Duration::days(1)),
        }
    }
}

/// Whether an entry's data is up to date with its update cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Freshness {
    /// No batch ever succeeded.
    NoData,
    /// The last successful update is within the cycle.
    Fresh,
    /// No successful update within the cycle.
    Overdue,
    /// 不定期: has data, no due date.
    Unscheduled,
}

impl Freshness {
    pub fn of(cycle: UpdateCycle, last_success: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Self {
        match (last_success, cycle.period()) {
            (None, _) => Freshness::NoData,
            (Some(_), None) => Freshness::Unscheduled,
            (Some(at), Some(period)) if now - at > period => Freshness::Overdue,
            (Some(_), Some(_)) => Freshness::Fresh,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Freshness::NoData => "无数据",
            Freshness::Fresh => "按时更新",
            Freshness::Overdue => "逾期未更新",
            Freshness::Unscheduled => "不定期",
        }
    }
}

/// The wait before retrying a pull after `failures` consecutive failures: one minute,
/// doubling, capped at an hour and at the source's own interval.
pub fn retry_delay(failures: u32, interval: Duration) -> Duration {
    let doubling = Duration::minutes(1 << failures.saturating_sub(1).min(6));
    doubling
        .min(Duration::hours(1))
        .min(interval.max(Duration::minutes(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_overdue_once_its_cycle_passes_without_an_update() {
        let now = Utc::now();
        let daily = UpdateCycle::Daily;
        assert_eq!(Freshness::of(daily, None, now), Freshness::NoData);
        assert_eq!(
            Freshness::of(daily, Some(now - Duration::hours(23)), now),
            Freshness::Fresh
        );
        assert_eq!(
            Freshness::of(daily, Some(now - Duration::hours(25)), now),
            Freshness::Overdue
        );
        assert_eq!(
            Freshness::of(UpdateCycle::Irregular, Some(now - Duration::days(900)), now),
            Freshness::Unscheduled
        );
        assert_eq!(
            Freshness::of(UpdateCycle::Yearly, Some(now - Duration::days(300)), now),
            Freshness::Fresh
        );
    }

    #[test]
    fn retries_back_off_and_never_wait_past_the_interval() {
        let day = Duration::days(1);
        let delays: Vec<i64> = (1..=8).map(|f| retry_delay(f, day).num_minutes()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(retry_delay(5, Duration::minutes(5)), Duration::minutes(5));
        assert_eq!(
            UpdateCycle::RealTime.pull_interval(Duration::seconds(30)),
            Duration::seconds(30)
        );
        assert_eq!(
            UpdateCycle::Weekly.pull_interval(Duration::seconds(30)),
            Duration::days(7)
        );
    }
}
