//! 工作日历 page: the years held, their notices, and a deadline calculator. JSON twin:
//! `/api/v1/calendar/…`.

use axum::extract::{Query, State};
use domain::access::Act;
use maud::html;

use crate::page::{layout, PageResult, WebUser};
use crate::AppState;

#[derive(serde::Deserialize)]
pub struct DeadlineForm {
    #[serde(default)]
    received: Option<String>,
    #[serde(default)]
    n: Option<u32>,
}

/// 工作日历: the years held, their notices, and a deadline calculator.
pub async fn calendar(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<DeadlineForm>,
) -> PageResult {
    let calendar = state.store.calendar().await?;
    let answer = match (&query.received, query.n) {
        (Some(received), Some(n)) => Some(
            domain::calendar::parse_receipt(received)
                .map(|at| {
                    calendar.working_days_after(at, n.min(366), state.store.deadline_rules().cutoff)
                })
                .ok_or("收到时间应为 YYYY-MM-DD"),
        ),
        _ => None,
    };
    let rules = &state.store.deadline_rules();
    let content = html! {
        h2 { "办理时限" }
        table {
            tr { th { "事项" } th.num { "工作日" } th { "依据" } }
            @for rule in &rules.rules { tr { td { (rule.kind.label()) } td.num { (rule.working_days) } td { (rule.source) } } }
        }
        h2 { "时限计算" }
        form.inline method="get" action="/calendar" {
            label { "收到日期 " input type="date" name="received" value=(query.received.clone().unwrap_or_default()) required; }
            label { " 工作日数 " input type="number" name="n" min="0" max="366" value=(query.n.unwrap_or(10)); }
            button type="submit" { "计算" }
        }
        @match &answer {
            Some(Ok(deadline)) => div.notice.ok id="deadline" {
                "自 " (deadline.counted_from) " 起算，到期日 " strong { (deadline.due) }
                @if deadline.provisional { " " span.tag.due-soon { "暂定" } " " (deadline.missing_years.iter().map(|y| y.to_string()).collect::<Vec<_>>().join("、")) " 年节假日安排尚未导入，按周一至周五计算" }
            },
            Some(Err(message)) => div.notice.error { (message) },
            None => {},
        }
        h2 { "已载入的节假日安排" }
        table id="calendar-years" {
            tr { th { "年份" } th { "通知" } th { "发布日期" } th.num { "放假天数" } th.num { "调休上班天数" } }
            @for s in calendar.schedules() {
                tr { td { (s.year) } td { (s.notice) } td { (s.notice_date) } td.num { (s.holidays.len()) } td.num { (s.make_up_days.len()) } }
            }
        }
        @if user.may(Act::ImportCalendar) {
            p.muted { "导入新年度安排：通过接口 POST /api/v1/calendar/years 或命令 datahall calendar import FILE。" }
        }
    };
    Ok(layout(
        &state,
        &user,
        "/calendar",
        &[("", "工作日历")],
        "工作日历",
        content,
    ))
}
