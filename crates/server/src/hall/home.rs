//! 我的待办: each person's queue, every duty of every capability in one list by deadline;
//! the bureau filters it by department, kind and state to supervise the hall.

use axum::extract::State;
use domain::access::{duty_scope, Act, DutyScope, QueueAsked};
use domain::deadline::DutyKind;
use domain::freshness::Freshness;
use domain::workflow::Status;
use maud::html;
use serde::Deserialize;
use store::duties::DutyFilter;
use store::resources::ResourceQuery;

use super::tasks::{queue_page, QueueParam, TaskParams, TaskView};
use crate::catalogue::api::visibility;
use crate::error::ApiError;
use crate::json::Query;
use crate::page::{
    code_path, form_value, layout, query_string, redirect_to, status_tag, thousands, Notice,
    PageResult, WebUser,
};
use crate::AppState;

/// The hall's filters as a form sends them: empty fields mean "all".
#[derive(Deserialize, Default)]
pub struct HallQuery {
    scope: Option<String>,
    department: Option<String>,
    kind: Option<String>,
    state: Option<String>,
    cursor: Option<String>,
}

impl HallQuery {
    fn params(&self) -> Result<TaskParams, ApiError> {
        let chosen = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let scope = match chosen(&self.scope).as_deref() {
            None | Some("own") => None,
            Some("bureau") => Some(QueueParam::Bureau),
            Some("all") => Some(QueueParam::All),
            Some(_) => return Err(ApiError::field("scope", "无法识别的待办范围")),
        };
        let department = chosen(&self.department)
            .map(|d| {
                d.parse()
                    .map_err(|_| ApiError::field("department", "请选择部门"))
            })
            .transpose()?;
        let kind = chosen(&self.kind)
            .map(|k| {
                DutyKind::parse(&k).ok_or_else(|| ApiError::field("kind", "无法识别的事项类型"))
            })
            .transpose()?;
        let state = match chosen(&self.state).as_deref() {
            None | Some("open") => None,
            Some("overdue") => Some(DutyFilter::Overdue),
            Some("due_soon") => Some(DutyFilter::DueSoon),
            Some("done") => Some(DutyFilter::Done),
            Some(_) => return Err(ApiError::field("state", "无法识别的办理状态")),
        };
        Ok(TaskParams {
            scope,
            department,
            kind,
            state,
            cursor: chosen(&self.cursor),
            limit: Some(50),
        })
    }

    /// The filters again, for the next page's link.
    fn pairs(&self) -> Vec<(&'static str, String)> {
        [
            ("scope", &self.scope),
            ("department", &self.department),
            ("kind", &self.kind),
            ("state", &self.state),
        ]
        .into_iter()
        .map(|(name, value)| (name, value.clone().unwrap_or_default()))
        .collect()
    }
}

const STATES: [(&str, &str); 4] = [
    ("open", "未办结"),
    ("overdue", "已逾期"),
    ("due_soon", "即将到期"),
    ("done", "已办结"),
];

pub async fn page(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<HallQuery>,
    axum::extract::Query(notice): axum::extract::Query<Notice>,
) -> PageResult {
    let caller = user.caller();
    let visible = visibility(&user.0);
    let scope = duty_scope(&caller, QueueAsked::Own).map_err(ApiError::from)?;
    let own_department = match scope {
        DutyScope::Department(d) => Some(d),
        DutyScope::Bureau | DutyScope::All => None,
    };
    let params = query.params()?;
    let queue = queue_page(&state, &caller, &params).await?;
    let tasks: &[TaskView] = &queue.items;
    let supervises = duty_scope(&caller, QueueAsked::All).is_ok();
    let urges = user.may(Act::UrgeDuty);
    let link = |cursor: Option<String>| {
        let mut pairs = query.pairs();
        pairs.extend(cursor.map(|c| ("cursor", c)));
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        format!("/?{}", query_string(&pairs))
    };
    let first_page = params.cursor.is_some().then(|| link(None));
    // The urge form comes back to this view, filters and page included.
    let here = link(params.cursor.clone());
    let next_page = queue.next.clone().map(|cursor| link(Some(cursor)));
    let departments = if supervises {
        state.store.departments().await?
    } else {
        Vec::new()
    };
    let drafts = if user.may(Act::AuthorEntry {
        provider: own_department.unwrap_or(-1),
    }) {
        let query = ResourceQuery {
            status: Some(Status::Draft),
            provider_id: own_department,
            limit: 10,
            ..Default::default()
        };
        Some(state.store.search_resources(&query, visible).await?)
    } else {
        None
    };
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
    let content = html! {
        @if let Some(text) = notice.text() { div.notice.ok role="status" { (text) } }
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
        h2 { "待办事项 " span.muted { "（共 " (thousands(queue.total)) " 项，按办理时限排列）" } }
        form.filters method="get" action="/" id="task-filters" {
            @if supervises {
                label { "范围"
                    select name="scope" {
                        option value="own" selected[query.scope.as_deref().is_none_or(|s| s == "own" || s.is_empty())] { "本人待办" }
                        option value="bureau" selected[query.scope.as_deref() == Some("bureau")] { "管理方" }
                        option value="all" selected[query.scope.as_deref() == Some("all")] { "全部部门" }
                    }
                }
                label { "部门"
                    select name="department" {
                        option value="" { "全部" }
                        @for d in &departments { option value=(d.id) selected[params.department == Some(d.id)] { (d.name) } }
                    }
                }
            }
            (crate::catalogue::pages::select("kind", "事项类型", DutyKind::ALL, DutyKind::code, DutyKind::label, query.kind.as_deref()))
            label { "办理状态"
                select name="state" {
                    @for (code, label) in STATES { option value=(code) selected[query.state.as_deref() == Some(code)] { (label) } }
                }
            }
            button type="submit" { "筛选" }
            a href="/" { "重置" }
        }
        @if tasks.is_empty() {
            p.muted id="no-tasks" { "暂无待办事项" }
        } @else {
            table id="tasks" {
                tr { th { "事项" } th { "对象" } @if supervises { th { "承办部门" } } th { "收到时间" } th { "时限" } th { "督办" } }
                @for t in tasks {
                    tr id={"task-" (t.duty.id)} {
                        td { (t.title) }
                        td { a href=(t.href) { (t.subject_label) } @if let Some(name) = &t.duty.matter_name { " " span.muted { (name) } } }
                        @if supervises { td { (t.duty.department_name.as_deref().unwrap_or("市数据资源管理局")) } }
                        td { (crate::page::beijing(&t.duty.received_at)) }
                        td { (crate::page::countdown_tag(&t.countdown)) }
                        td {
                            @if t.duty.urgings > 0 {
                                div.urged { "已督办 " (t.duty.urgings) " 次" @if let Some(note) = &t.duty.last_urging { "：" (note) } }
                            }
                            @if urges && t.duty.done_at.is_none() {
                                form.inline method="post" action={"/tasks/" (t.duty.id) "/urge"} {
                                    input type="hidden" name="_csrf" value=(user.csrf());
                                    input type="hidden" name="back" value=(here);
                                    input type="text" name="note" required minlength="4" maxlength="500" placeholder="督办意见" aria-label="督办意见";
                                    button type="submit" { "督办" }
                                }
                            }
                        }
                    }
                }
            }
        }
        div.pager {
            @if let Some(href) = &first_page { a href=(href) { "第一页" } }
            @if let Some(href) = &next_page { a href=(href) { "下一页" } }
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
        @if let Some(drafts) = &drafts {
            @if drafts.total > 0 {
                h2 { "草稿待提交 " span.muted { "（" (thousands(drafts.total)) " 项）" } }
                table id="drafts" {
                    tr { th { "信息资源代码" } th { "名称" } th { "提供方" } th { "状态" } th { "更新时间" } }
                    @for r in &drafts.items {
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

/// 督办 from the supervision view: the note goes to the duty's owner.
pub async fn urge(
    State(state): State<AppState>,
    user: WebUser,
    crate::auth::Meta(meta): crate::auth::Meta,
    crate::json::Path(id): crate::json::Path<i64>,
    axum_extra::extract::Form(form): axum_extra::extract::Form<
        std::collections::HashMap<String, Vec<String>>,
    >,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let ctx = crate::auth::audit_context(Some(&user.0), &meta);
    let duty = state
        .store
        .urge_duty(id, form_value(&form, "note"), &ctx)
        .await
        .map_err(ApiError::from)?;
    // Back to the hall view the form was on: only ever a path of this page.
    let back = form_value(&form, "back");
    let back = if back.starts_with("/?") && back.bytes().all(|b| b.is_ascii_graphic()) {
        back
    } else {
        "/"
    };
    redirect_to(
        back,
        &format!("已督办：{}（{}）", duty.kind.label(), duty.subject.label()),
    )
}
