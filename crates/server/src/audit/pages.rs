//! The audit viewer: read-only, for the auditor and the bureau.

use axum::extract::{Query, State};
use domain::access::Act;
use domain::account::Role;
use domain::audit::{action_label, Outcome, ACTIONS};
use maud::html;

use super::api::{page as audit_page, AuditParams};
use crate::page::{beijing, layout, query_string, thousands, PageResult, WebUser};
use crate::AppState;

pub async fn page(
    State(state): State<AppState>,
    user: WebUser,
    Query(params): Query<AuditParams>,
) -> PageResult {
    user.require(Act::ReadAudit)?;
    let records = audit_page(&state, &params).await?;
    let last = state
        .verification
        .last
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let content = html! {
        div.actions {
            @match &last {
                Some((at, chain)) if chain.intact => div.notice.ok {
                    (beijing(at)) " 校验通过：审计日志 " (thousands(chain.checked)) " 条（已加封 " (thousands(chain.sealed)) " 条），数据访问日志 "
                    (thousands(chain.access_checked)) " 条，未发现篡改。"
                },
                Some((at, chain)) => div.notice.error {
                    (beijing(at)) " 校验失败：第 " (chain.first_broken_seq.unwrap_or_default()) " 条记录 — " (chain.reason.clone().unwrap_or_default())
                },
                None => p.muted { "本次启动以来尚未校验。校验会读取全部审计记录和数据访问记录。" },
            }
            form method="post" action="/audit/verify" {
                (crate::page::csrf_field(&user))
                button type="submit" { "立即校验" }
            }
        }
        form.filters method="get" action="/audit" {
            label { "操作人" input type="text" name="actor" value=(value(&params.actor)); }
            label { "操作" select name="action" {
                option value="" { "全部" }
                @for (code, label) in filterable_actions() {
                    option value=(code) selected[params.action.as_deref() == Some(code.as_str())] { (label) }
                }
            } }
            label { "对象前缀" input type="text" name="target" value=(value(&params.target)) placeholder="resource:"; }
            label { "结果" select name="outcome" {
                option value="" { "全部" }
                @for o in Outcome::ALL { option value=(o.code()) selected[params.outcome.as_deref() == Some(o.code())] { (o.label()) } }
            } }
            button type="submit" { "查询" }
        }
        p.muted { "共 " (thousands(records.total)) " 条，按时间倒序。" }
        table.audit {
            tr { th { "序号" } th { "时间" } th { "操作人" } th { "角色" } th { "操作" } th { "对象" } th { "结果" } th { "来源" } th { "说明" } }
            @for r in &records.items {
                tr {
                    td.num { (r.seq) }
                    td.nowrap { (beijing(&r.at)) }
                    td.nowrap { (value(&r.actor)) }
                    td.nowrap { (r.role.as_deref().and_then(Role::parse).map_or_else(|| value(&r.role), |role| role.label().to_string())) }
                    td.nowrap title=(r.action) { (action_label(&r.action).unwrap_or_else(|| r.action.clone())) }
                    td.mono { (r.target) }
                    td { @if let Some(o) = r.outcome.as_deref() { @match Outcome::parse(o) {
                        Some(outcome) => (crate::page::tag(outcome.label(), crate::page::tones::outcome(outcome))),
                        None => (o),
                    } } }
                    td.mono.nowrap { (value(&r.source_ip)) }
                    td.detail { (value(&r.detail)) }
                }
            }
        }
        @if let Some(next) = &records.next {
            div.pager {
                a href={"/audit?" (query_string(&[
                    ("actor", &value(&params.actor)), ("action", &value(&params.action)),
                    ("target", &value(&params.target)), ("outcome", &value(&params.outcome)), ("cursor", next),
                ]))} { "下一页" }
            }
        }
    };
    Ok(layout(
        &state,
        &user,
        "/audit",
        &[("", "审计日志")],
        "审计日志",
        content,
    ))
}

/// Runs a verification of both logs, then shows the page with its result.
pub async fn verify(
    State(state): State<AppState>,
    user: WebUser,
    crate::auth::Meta(meta): crate::auth::Meta,
    axum_extra::extract::Form(form): axum_extra::extract::Form<
        std::collections::HashMap<String, Vec<String>>,
    >,
) -> PageResult {
    user.check_csrf(crate::page::form_value(&form, "_csrf"))?;
    user.require(Act::VerifyAudit)?;
    super::api::verify_now(&state, &crate::auth::audit_context(Some(&user.0), &meta)).await?;
    Ok(axum::response::IntoResponse::into_response(
        axum::response::Redirect::to("/audit"),
    ))
}

/// 个人信息查询记录: the form. The number is posted, never put in the page's URL.
pub async fn personal(State(state): State<AppState>, user: WebUser) -> PageResult {
    user.require(Act::ReadPersonalAccess)?;
    Ok(personal_page(
        &state,
        &user,
        None,
        &crate::page::FormState::default(),
    ))
}

pub async fn personal_report(
    State(state): State<AppState>,
    user: WebUser,
    crate::auth::Meta(meta): crate::auth::Meta,
    axum_extra::extract::Form(form): axum_extra::extract::Form<
        std::collections::HashMap<String, Vec<String>>,
    >,
) -> PageResult {
    user.check_csrf(crate::page::form_value(&form, "_csrf"))?;
    user.require(Act::ReadPersonalAccess)?;
    let ctx = crate::auth::audit_context(Some(&user.0), &meta);
    let outcome = async {
        let id_number = super::api::parse_id_number(crate::page::form_value(&form, "id_number"))?;
        let reason = crate::page::form_value(&form, "reason");
        state.access_log.settled().await?;
        Ok::<_, crate::error::ApiError>(
            state
                .store
                .personal_access(&id_number, reason, &ctx)
                .await?,
        )
    }
    .await;
    match outcome {
        Ok(report) => Ok(personal_page(
            &state,
            &user,
            Some(&report),
            &crate::page::FormState::default(),
        )),
        Err(error) => {
            let failed = crate::page::FormState::failed("personal", form, error);
            Ok(personal_page(&state, &user, None, &failed))
        }
    }
}

fn personal_page(
    state: &AppState,
    user: &WebUser,
    report: Option<&store::personal_access::PersonalAccessReport>,
    form: &crate::page::FormState,
) -> axum::response::Response {
    let content = html! {
        p.muted { "依据《个人信息保护法》第四十四、四十五条，个人有权知悉其个人信息被哪些部门查询。按身份证号码查询：哪个部门、哪个应用系统、在何时通过哪个目录读取了其哪些信息项，以及所依据授权的用途。每次查询须写明事由，连同查询对象的密钥散列记入审计日志（不记录号码），每人每日至多 100 次。" }
        (form.banner("personal"))
        form.inline method="post" action="/audit/personal" id="personal" {
            (crate::page::csrf_field(user))
            label { "身份证号码 " input type="text" name="id_number" required maxlength="18" autocomplete="off" value=(form.value("personal", "id_number", "")); }
            (form.errors("personal", "id_number"))
            label { "查询事由 " input type="text" name="reason" required maxlength="200" placeholder="如：市民本人依申请查询，工单号…" value=(form.value("personal", "reason", "")); }
            (form.errors("personal", "reason"))
            button type="submit" { "查询" }
        }
        @if let Some(report) = report {
            @if report.calls.is_empty() {
                p id="personal-none" { "未发现读取该人员记录的数据调用。" }
            } @else {
                p { "共 " (report.calls.len()) " 次数据调用返回了该人员的记录" @if report.truncated { "（只列出最近的 " (store::personal_access::REPORT_LIMIT) " 次）" } "。" }
                table id="personal-access" {
                    tr { th { "时间" } th { "部门" } th { "应用系统" } th { "目录" } th { "信息项" } th.num { "记录数" } th { "授权用途" } th { "接口" } }
                    @for call in &report.calls {
                        tr {
                            td { (beijing(&call.at)) }
                            td { (call.department_name.as_deref().unwrap_or("—")) }
                            td { (call.application.as_deref().unwrap_or("—")) }
                            td { (call.resource_name.as_deref().unwrap_or("—")) br; span.mono.muted { (call.resource_code.as_deref().unwrap_or("")) } }
                            td.mono { (call.items) }
                            td.num { (thousands(call.records)) }
                            td { (call.purpose.as_deref().unwrap_or("—")) }
                            td.mono { (call.endpoint) }
                        }
                    }
                }
            }
        }
    };
    crate::page::with_status(
        layout(
            state,
            user,
            "/audit/personal",
            &[("", "个人信息查询记录")],
            "个人信息查询记录",
            content,
        ),
        form,
    )
}

/// The actions the viewer filters by, with their names: every listed action, an entry's
/// workflow steps, and the refused requests of the two methods people use.
fn filterable_actions() -> Vec<(String, String)> {
    let steps = domain::workflow::Action::ALL
        .iter()
        .map(|step| format!("resource.{}", step.code()));
    let listed = ACTIONS.iter().map(|(code, _)| code.to_string());
    listed
        .chain(steps)
        .chain(["http.get".to_string(), "http.post".to_string()])
        .filter_map(|code| action_label(&code).map(|label| (code, label)))
        .collect()
}
