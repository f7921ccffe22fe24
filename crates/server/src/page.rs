//! What every page of the online government data hall shares: the layout (top bar,
//! navigation by capability, breadcrumbs), the signed-in person, CSRF, error pages.
//! Pages live beside their JSON twins in each capability's module and call the same
//! store methods and access rules.

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, FixedOffset, Utc};
use domain::access::{self, Act, Caller};
use domain::deadline::{Countdown, DutyState};
use maud::{html, Markup, DOCTYPE};

use crate::auth::Principal;
use crate::error::{ApiError, DeniedReason};
use crate::AppState;

/// The stylesheet, served by the binary itself (government networks have no internet).
pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../static/app.css"),
    )
}

/// A page error: rendered as HTML with the same status an API call would get.
pub struct PageError(pub ApiError);

impl<E: Into<ApiError>> From<E> for PageError {
    fn from(error: E) -> Self {
        PageError(error.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let ApiError::Unauthorized(_) = self.0 {
            return Redirect::to("/login").into_response();
        }
        if let ApiError::Internal(detail) = &self.0 {
            tracing::error!(%detail, "internal error");
        }
        let status = self.0.status();
        let message = self.0.message();
        let body = bare_page(
            "出错了",
            html! {
                div.login.card {
                    h1 { "无法完成操作" }
                    div.notice.error { (message) }
                    p { a href="/" { "返回首页" } }
                }
            },
        );
        let mut response = (status, body).into_response();
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            response.extensions_mut().insert(DeniedReason(message));
        }
        response
    }
}

pub type PageResult = Result<Response, PageError>;

/// Extractor: the signed-in person; anyone else is sent to the login page.
pub struct WebUser(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for WebUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        match parts.extensions.get::<Principal>() {
            Some(principal @ Principal::User { .. }) => Ok(WebUser(principal.clone())),
            _ => Err(Redirect::to("/login").into_response()),
        }
    }
}

impl WebUser {
    pub fn csrf(&self) -> &str {
        match &self.0 {
            Principal::User { csrf_token, .. } => csrf_token,
            Principal::Application(_) => "",
        }
    }

    /// Every state-changing form carries the session's CSRF token.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), PageError> {
        use sha2::Digest;
        // Compare digests so that the comparison time does not leak the token.
        let same = sha2::Sha256::digest(submitted.as_bytes())
            == sha2::Sha256::digest(self.csrf().as_bytes());
        if same && !submitted.is_empty() {
            Ok(())
        } else {
            Err(PageError(ApiError::Forbidden(
                "表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试".into(),
            )))
        }
    }

    /// The caller every access rule is checked against.
    pub fn caller(&self) -> Caller {
        self.0.caller()
    }

    /// Refuses the page unless the person may perform `act`.
    pub fn require(&self, act: Act) -> Result<(), PageError> {
        access::check(&self.caller(), act).map_err(|denied| PageError(denied.into()))
    }

    /// Whether the person may perform `act`: what decides if a button is shown.
    pub fn may(&self, act: Act) -> bool {
        access::allows(&self.caller(), act)
    }
}

/// A submitted upload form: its text fields and its one file (lower-cased name, spooled
/// to disk as it arrives).
pub struct UploadForm {
    pub fields: std::collections::HashMap<String, String>,
    pub file: Option<(String, crate::spool::Spooled)>,
}

impl UploadForm {
    /// Reads every part; the part named `file` is the upload, at most `limit` bytes.
    pub async fn read(
        mut multipart: axum::extract::Multipart,
        state: &AppState,
        limit: u64,
    ) -> Result<Self, PageError> {
        let bad = |e: axum::extract::multipart::MultipartError| {
            ApiError::bad_request("bad_upload", e.body_text())
        };
        let mut form = UploadForm {
            fields: Default::default(),
            file: None,
        };
        while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
            let name = field.name().unwrap_or_default().to_string();
            if name == "file" {
                let file_name = field.file_name().unwrap_or_default().to_lowercase();
                let mut spooler = crate::spool::Spooler::new(&state.config.spool_dir, limit)?;
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    spooler.push(&chunk).await?;
                }
                form.file = Some((file_name, spooler.finish().await?));
            } else {
                form.fields
                    .insert(name, field.text().await.unwrap_or_default());
            }
        }
        Ok(form)
    }

    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or("")
    }

    /// Checks the form's CSRF token and returns the file, or a message naming the field.
    pub fn checked_file(
        self,
        user: &WebUser,
        missing: &str,
    ) -> Result<(String, crate::spool::Spooled), PageError> {
        user.check_csrf(self.field("_csrf"))?;
        self.file
            .filter(|(_, file)| file.size > 0)
            .ok_or_else(|| PageError(ApiError::field("file", missing)))
    }
}

pub fn csrf_field(user: &WebUser) -> Markup {
    html! { input type="hidden" name="_csrf" value=(user.csrf()); }
}

pub(crate) fn bare_page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href="/static/app.css";
            }
            body { (body) }
        }
    }
}

/// The navigation: each link with the act it leads to, shown to whoever may perform it.
fn navigation(caller: &Caller) -> Vec<(&'static str, &'static str)> {
    let department = caller.department_id().unwrap_or(-1);
    let links: [(&str, &str, Act); 16] = [
        ("/", "我的待办", Act::ViewMatters),
        ("/catalogue", "数据资源目录", Act::ViewCatalogue),
        ("/stats", "归集统计", Act::ViewStats),
        ("/sharing", "共享申请", Act::ViewMatters),
        ("/needs", "需求清单", Act::ViewNeeds),
        ("/objections", "数据异议", Act::ViewMatters),
        ("/calendar", "工作日历", Act::ViewCalendar),
        (
            "/review",
            "待签发",
            Act::SignEntry {
                provider: department,
            },
        ),
        ("/review", "待审核", Act::PublishEntry),
        (
            "/catalogue/new",
            "编制目录",
            Act::AuthorEntry {
                provider: department,
            },
        ),
        (
            "/catalogue/import",
            "导入目录模板",
            Act::AuthorEntry {
                provider: department,
            },
        ),
        ("/admin/conflicts", "一数一源提示", Act::ViewConflicts),
        ("/admin/departments", "部门管理", Act::CreateDepartment),
        (
            "/admin/users",
            "人员管理",
            Act::ViewPeople { department: None },
        ),
        ("/audit", "审计日志", Act::ReadAudit),
        (
            "/audit/personal",
            "个人信息查询记录",
            Act::ReadPersonalAccess,
        ),
    ];
    links
        .into_iter()
        .filter(|(_, _, act)| access::allows(caller, *act))
        .map(|(href, label, _)| (href, label))
        .collect()
}

/// The layout every signed-in page shares: top bar, left navigation, breadcrumbs.
pub fn layout(
    state: &AppState,
    user: &WebUser,
    active: &str,
    crumbs: &[(&str, &str)],
    title: &str,
    content: Markup,
) -> Response {
    let Principal::User { user: person, .. } = &user.0 else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let body = html! {
        header.top {
            div.brand { (state.config.platform_name) }
            div.who {
                span { (person.display_name) " · " (person.department_name.as_deref().unwrap_or("市数据资源管理局")) " · " (person.role.label()) }
                form method="post" action="/logout" { (csrf_field(user)) button type="submit" { "退出" } }
            }
        }
        div.shell {
            nav.side {
                @for (href, label) in navigation(&user.caller()) {
                    a href=(href) class=[(href == active).then_some("active")] { (label) }
                }
            }
            main {
                div.crumbs {
                    a href="/" { "首页" }
                    @for (href, label) in crumbs { " / " @if href.is_empty() { (label) } @else { a href=(href) { (label) } } }
                }
                h1 { (title) }
                (content)
            }
        }
    };
    bare_page(&format!("{title} - {}", state.config.platform_name), body).into_response()
}

/// Beijing time, 24-hour (SPEC §6).
pub fn beijing(at: &DateTime<Utc>) -> String {
    at.with_timezone(&FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

pub fn beijing_date(at: &DateTime<Utc>) -> String {
    at.with_timezone(&FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
        .format("%Y-%m-%d")
        .to_string()
}

/// 1234567 → 1,234,567.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// A state tag with the shared colours.
pub fn status_tag(code: &str) -> Markup {
    let label = domain::workflow::Status::parse(code)
        .map(|s| s.label())
        .unwrap_or(code);
    html! { span class={"tag " (code)} { (label) } }
}

/// Query-string encoding for links.
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .copied()
        .collect();
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

pub fn code_path(code: &str) -> String {
    format!("/catalogue/{code}")
}

/// What answers a path that no route serves: the API's error shape under `/api/`, a page
/// of the platform (with its navigation for a signed-in person) everywhere else.
pub async fn not_found(
    axum::extract::State(state): axum::extract::State<AppState>,
    uri: axum::http::Uri,
    principal: Option<axum::Extension<Principal>>,
) -> Response {
    if uri.path().starts_with("/api/") {
        return ApiError::NotFound("接口不存在，请查阅 /api/openapi.json".into()).into_response();
    }
    let content = html! {
        div.notice.error { "您访问的页面不存在或已被移除。" }
        p { a href="/" { "返回首页" } }
    };
    let mut response = match principal {
        Some(axum::Extension(principal @ Principal::User { .. })) => {
            layout(&state, &WebUser(principal), "", &[("", "页面不存在")], "页面不存在", content)
        }
        _ => bare_page(
            "页面不存在",
            html! { div.login.card { h1 { "页面不存在" } (content) p { a href="/login" { "登录" } } } },
        )
        .into_response(),
    };
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

/// A deadline's state tag and countdown ("剩余 N 个工作日").
pub fn countdown_tag(countdown: &Countdown) -> Markup {
    let class = match countdown.state {
        DutyState::OnTime => "in-progress",
        DutyState::DueSoon => "due-soon",
        DutyState::Overdue | DutyState::DoneLate => "overdue",
        DutyState::Done => "done",
    };
    html! {
        span class={"tag " (class)} { (countdown.state.label()) }
        " " span.muted { (countdown.text) "（" (countdown.due) "）" }
    }
}

/// The first value of a form field (forms read as name → values).
pub fn form_value<'a>(form: &'a HashMap<String, Vec<String>>, name: &str) -> &'a str {
    form.get(name)
        .and_then(|v| v.first())
        .map(String::as_str)
        .unwrap_or("")
}

/// The notice a page shows after a redirect (`?notice=`).
#[derive(serde::Deserialize)]
pub struct Notice {
    #[serde(default)]
    pub notice: Option<String>,
}

/// Redirects to `page`, with a notice to show there.
pub fn redirect_to(page: &str, notice: &str) -> PageResult {
    let query = query_string(&[("notice", notice)]);
    Ok(Redirect::to(&format!("{page}{query}")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_counts_and_beijing_time() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(-1000), "-1,000");
        let at = DateTime::parse_from_rfc3339("2026-11-26T17:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(beijing(&at), "2026-11-27 01:30");
    }
}
