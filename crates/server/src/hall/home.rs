//! 我的待办: each person's queue: the steps and duties that wait on them.

use axum::extract::State;
use domain::access::{duty_scope, Act, DutyScope};
use domain::freshness::Freshness;
use domain::workflow::Status;
use maud::{html, Markup};
use store::resources::{ResourceQuery, ResourceSummary};

use crate::catalogue::api::visibility;
use crate::error::ApiError;
use crate::page::{code_path, layout, status_tag, thousands, PageResult, WebUser};
use crate::AppState;

/// The catalogue steps that wait on a person: each with the act that takes it.
fn waiting_on(own: i64) -> [(Status, &'static str, Act); 4] {
    [
        (
            Status::Submitted,
            "待签发",
            Act::SignEntry { provider: own },
        ),
        (Status::Signed, "待审核发布", Act::PublishEntry),
        (
            Status::Returned,
            "被退回待修改",
            Act::AuthorEntry { provider: own },
        ),
        (
            Status::Draft,
            "草稿待提交",
            Act::AuthorEntry { provider: own },
        ),
    ]
}

pub async fn page(State(state): State<AppState>, user: WebUser) -> PageResult {
    let caller = user.caller();
    let visible = visibility(&user.0);
    let scope = duty_scope(&caller).map_err(ApiError::from)?;
    let own_department = match scope {
        DutyScope::Department(d) => Some(d),
        DutyScope::Bureau | DutyScope::All => None,
    };
    let mut queues: Vec<(&str, i64, Vec<ResourceSummary>)> = Vec::new();
    for (status, label, act) in waiting_on(own_department.unwrap_or(-1)) {
        if !user.may(act) {
            continue;
        }
        let query = ResourceQuery {
            status: Some(status),
            provider_id: own_department,
            limit: 10,
            ..Default::default()
        };
        let page = state.store.search_resources(&query, visible).await?;
        queues.push((label, page.total, page.items));
    }
    let counts = state.store.resource_status_counts(visible).await?;
    let count = |s: Status| {
        counts
            .iter()
            .find(|(status, _)| *status == s)
            .map_or(0, |(_, n)| *n)
    };
    let sees_conflicts = user.may(Act::ViewConflicts);
    let conflicts = if sees_conflicts {
        state.store.source_conflicts().await?.len()
    } else {
        0
    };
    // Collection duties: failing pulls and entries whose data is late or missing, for the
    // department that collects and the bureau that oversees collection.
    let collects = matches!(scope, DutyScope::Department(_) | DutyScope::Bureau);
    let failing: Vec<store::sources::Source> = if collects {
        state
            .store
            .sources(None, own_department)
            .await?
            .into_iter()
            .filter(|s| s.failures > 0)
            .collect()
    } else {
        Vec::new()
    };
    let now = chrono::Utc::now();
    let late: Vec<(store::stats::EntryFreshness, Freshness)> = if collects {
        state
            .store
            .published_freshness()
            .await?
            .into_iter()
            .filter(|e| own_department.is_none_or(|d| d == e.department_id))
            .map(|e| {
                let freshness = Freshness::of(e.update_cycle, e.last_success, now);
                (e, freshness)
            })
            .filter(|(_, f)| matches!(f, Freshness::Overdue | Freshness::NoData))
            .collect()
    } else {
        Vec::new()
    };
    // Duties with deadlines: the department's, the bureau's, or (read-only) all of them.
    let calendar = state.store.calendar().await?;
    let duties: Vec<crate::sharing::api::DutyView> = state
        .store
        .open_duties(scope)
        .await?
        .into_iter()
        .map(|duty| crate::sharing::api::DutyView {
            countdown: crate::sharing::api::countdown(&state, &calendar, &duty),
            duty,
        })
        .collect();
    let content = html! {
        div.cards {
            @for status in [Status::Published, Status::Submitted, Status::Signed, Status::Returned, Status::Draft] {
                div.card { div.muted { (status.label()) } div.big.num { (thousands(count(status))) } }
            }
            @if sees_conflicts {
                div.card { div.muted { "一数一源提示" } div.big.num { a href="/admin/conflicts" { (conflicts) } } }
            }
        }
        @if user.may(Act::ReadAudit) {
            div.card { p { "安全审计员可查阅审计日志并校验哈希链，不能修改任何数据。" } a.button href="/audit" { "查看审计日志" } }
        }
        @if !duties.is_empty() {
            h2 { "限时办理事项 " span.muted { "（" (duties.len()) " 项）" } }
            table id="duties" {
                tr { th { "事项" } th { "对象" } th { "收到时间" } th { "时限" } }
                @for d in &duties {
                    tr {
                        td { (duty_label(&d.duty.kind)) }
                        td { (duty_subject(&d.duty.subject)) }
                        td { (crate::page::beijing(&d.duty.received_at)) }
                        td { (crate::page::countdown_tag(&d.countdown)) }
                    }
                }
            }
        }
        @if !failing.is_empty() {
            h2 { "归集失败的数据源 " span.muted { "（" (failing.len()) " 个，按退避自动重试）" } }
            table id="failing-sources" {
                tr { th { "目录" } th { "数据源" } th { "状态" } th.num { "连续失败" } th { "原因" } th { "下次重试" } }
                @for s in &failing {
                    tr {
                        td.mono { a href={(code_path(&s.code)) "/upload"} { (s.code) } }
                        td { (s.name) }
                        td { span.tag { (if s.last_error.as_deref().is_some_and(|e| e.starts_with("采集超时")) { "采集超时" } else { "采集失败" }) } }
                        td.num { (s.failures) }
                        td { (s.last_error.as_deref().unwrap_or("")) }
                        td { (crate::page::beijing(&s.next_run_at)) }
                    }
                }
            }
        }
        @if !late.is_empty() {
            h2 { "逾期或无数据的目录 " span.muted { "（" (late.len()) " 项）" } }
            table id="late-entries" {
                tr { th { "信息资源代码" } th { "名称" } th { "更新周期" } th { "状态" } th { "最近归集" } }
                @for (e, freshness) in late.iter().take(20) {
                    tr {
                        td.mono { a href={(code_path(&e.code)) "/upload"} { (e.code) } }
                        td { (e.name) }
                        td { (e.update_cycle.label()) }
                        td { span.tag.overdue { (freshness.label()) } }
                        td { @if let Some(at) = &e.last_success { (crate::page::beijing(at)) } }
                    }
                }
            }
        }
        @for (label, total, items) in &queues {
            h2 { (label) " " span.muted { "（" (thousands(*total)) " 项）" } }
            @if items.is_empty() {
                p.muted { "暂无" }
            } @else {
                table {
                    tr { th { "信息资源代码" } th { "名称" } th { "提供方" } th { "状态" } th { "更新时间" } }
                    @for r in items {
                        tr {
                            td.mono { a href=(code_path(&r.code)) { (r.code) } }
                            td { (r.name) }
                            td { (r.provider_name) }
                            td { (status_tag(&r.status)) }
                            td { (crate::page::beijing(&r.updated_at)) }
                        }
                    }
                }
            }
        }
    };
    Ok(layout(
        &state,
        &user,
        "/",
        &[("", "我的待办")],
        "我的待办",
        content,
    ))
}

fn duty_label(kind: &str) -> &'static str {
    match kind {
        "calendar_year" => "导入下一年度节假日安排",
        other => domain::deadline::DutyKind::ALL
            .iter()
            .find(|k| k.code() == other)
            .map_or("待办事项", |k| k.label()),
    }
}

/// A duty's subject (`share_request:12`, …) as a link to the page where it is handled.
fn duty_subject(subject: &str) -> Markup {
    const PAGES: [(&str, &str, &str); 4] = [
        ("share_request:", "/sharing", "共享申请"),
        ("objection:", "/objections", "数据异议"),
        ("need:", "/needs", "数据需求"),
        ("basis_review:", "/sharing#basis-reviews", "不予共享复核"),
    ];
    match PAGES
        .iter()
        .find_map(|(prefix, page, label)| subject.strip_prefix(prefix).map(|id| (page, label, id)))
    {
        Some((page, label, id)) => html! { a href=(page) { (label) " " (id) } },
        None => html! { (subject) },
    }
}
