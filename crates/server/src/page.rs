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
#[derive(Debug)]
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
        // A bare card for now; `dress_failures` puts it in the layout when a person is
        // signed in (the error itself knows neither the state nor the person).
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
        response
            .extensions_mut()
            .insert(PageFailure(message.clone()));
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            response.extensions_mut().insert(DeniedReason(message));
        }
        response
    }
}

/// Marks an answer as a failed page, with its message.
#[derive(Clone)]
struct PageFailure(String);

/// Middleware: a failed page is shown inside the platform's layout (navigation, who is
/// signed in) when a person is signed in, with the failure's status kept.
pub async fn dress_failures(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let principal = request.extensions().get::<Principal>().cloned();
    let response = next.run(request).await;
    let (Some(PageFailure(message)), Some(principal @ Principal::User { .. })) = (
        response.extensions().get::<PageFailure>().cloned(),
        principal,
    ) else {
        return response;
    };
    let (mut parts, _) = response.into_parts();
    let title = match parts.status {
        StatusCode::FORBIDDEN => "无权操作",
        StatusCode::NOT_FOUND => "未找到",
        _ => "无法完成操作",
    };
    let content = html! {
        div.notice.error role="alert" { (message) }
        p { a href="/" { "返回我的待办" } }
    };
    let dressed = layout(
        &state,
        &WebUser(principal, Bell::default()),
        "",
        &[("", title)],
        title,
        content,
    );
    let (dressed_parts, body) = dressed.into_parts();
    parts.headers = dressed_parts.headers;
    Response::from_parts(parts, body)
}

pub type PageResult = Result<Response, PageError>;

/// Extractor: the signed-in person, with their unread notifications for the bell in the
/// top bar; anyone else is sent to the login page.
pub struct WebUser(pub Principal, pub Bell);

/// The top bar's bell: how many notifications the person has not read.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bell {
    pub unread: i64,
}

impl FromRequestParts<AppState> for WebUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match parts.extensions.get::<Principal>() {
            Some(principal @ Principal::User { .. }) => {
                // A bell that cannot be read is shown empty rather than failing the page.
                let unread = match state.store.unread_notifications(&principal.caller()).await {
                    Ok(unread) => unread,
                    Err(error) => {
                        tracing::warn!(%error, "unread notifications not counted");
                        0
                    }
                };
                Ok(WebUser(principal.clone(), Bell { unread }))
            }
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
/// to disk as it arrives), or why the file was not taken (too large).
pub struct UploadForm {
    pub fields: HashMap<String, String>,
    pub file: Option<(String, crate::spool::Spooled)>,
    file_error: Option<ApiError>,
}

impl UploadForm {
    /// Reads every part; the part named `file` is the upload, at most `limit` bytes. The
    /// form's CSRF token comes first (the page puts it first), so a forged upload is
    /// refused before a byte of its file is written to disk. Pages put the file last, so
    /// that a file too large still leaves every other field to show again.
    pub async fn read(
        mut multipart: axum::extract::Multipart,
        state: &AppState,
        user: &WebUser,
        limit: u64,
    ) -> Result<Self, PageError> {
        let bad = |e: axum::extract::multipart::MultipartError| {
            ApiError::bad_request("bad_upload", e.body_text())
        };
        let mut form = UploadForm {
            fields: Default::default(),
            file: None,
            file_error: None,
        };
        let mut first = true;
        while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
            let name = field.name().unwrap_or_default().to_string();
            // The page sends the token first: anything else first is no form of ours,
            // refused before a byte more is read.
            if std::mem::take(&mut first) && name != "_csrf" {
                user.check_csrf("")?;
            }
            if name == "file" {
                user.check_csrf(form.field("_csrf"))?;
                let file_name = field.file_name().unwrap_or_default().to_lowercase();
                let mut spooler = crate::spool::Spooler::new(&state.config.spool_dir, limit)?;
                let mut spooled = Ok(());
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    spooled = spooler.push(&chunk).await;
                    if spooled.is_err() {
                        break;
                    }
                }
                match spooled {
                    Ok(()) => form.file = Some((file_name, spooler.finish().await?)),
                    Err(too_large) => {
                        form.file_error = Some(too_large);
                        break;
                    }
                }
            } else {
                let text = bounded_text(&mut field).await?;
                if name == "_csrf" {
                    user.check_csrf(&text)?;
                }
                form.fields.insert(name, text);
            }
        }
        user.check_csrf(form.field("_csrf"))?;
        Ok(form)
    }

    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or("")
    }

    /// The text fields as a form's values, to show them again.
    pub fn values(&self) -> HashMap<String, Vec<String>> {
        self.fields
            .iter()
            .map(|(name, value)| (name.clone(), vec![value.clone()]))
            .collect()
    }

    /// The file, or a message naming the field.
    pub fn file(&mut self, missing: &str) -> Result<(String, crate::spool::Spooled), ApiError> {
        if let Some(error) = self.file_error.take() {
            return Err(error);
        }
        self.file
            .take()
            .filter(|(_, file)| file.size > 0)
            .ok_or_else(|| ApiError::field("file", missing))
    }
}

/// The most a text field of an upload form may hold (a column mapping of a wide sheet is
/// a few kilobytes): text is held in memory, unlike the file.
const UPLOAD_TEXT_LIMIT: usize = 64 * 1024;

/// A text part of a multipart form, read piece by piece up to [`UPLOAD_TEXT_LIMIT`].
async fn bounded_text(
    field: &mut axum::extract::multipart::Field<'_>,
) -> Result<String, PageError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| ApiError::bad_request("bad_upload", e.body_text()))?
    {
        if bytes.len() + chunk.len() > UPLOAD_TEXT_LIMIT {
            let name = field.name().unwrap_or_default().to_string();
            return Err(PageError(ApiError::field(
                &name,
                format!("内容超过 {} KiB", UPLOAD_TEXT_LIMIT / 1024),
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| {
        PageError(ApiError::bad_request(
            "bad_upload",
            "表单内容不是 UTF-8 文本",
        ))
    })
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
    let links: [(&str, &str, Act); 18] = [
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
        (
            "/admin/users",
            "本部门人员",
            Act::ViewPeople {
                department: Some(department),
            },
        ),
        (
            "/tokens",
            "应用令牌",
            Act::ViewTokens {
                department: Some(department),
            },
        ),
        ("/audit", "审计日志", Act::ReadAudit),
        (
            "/audit/personal",
            "个人信息查询记录",
            Act::ReadPersonalAccess,
        ),
    ];
    let mut shown: Vec<(&str, &str)> = Vec::new();
    for (href, label, act) in links {
        // One link per page: the first label whose act is allowed (人员管理 for the bureau,
        // 本部门人员 for a chief).
        if access::allows(caller, act) && !shown.iter().any(|(h, _)| *h == href) {
            shown.push((href, label));
        }
    }
    shown
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
                a.bell href="/notifications" id="bell" aria-label={"通知，未读 " (user.1.unread) " 条"} {
                    "通知" @if user.1.unread > 0 { " " span.count { (thousands(user.1.unread)) } }
                }
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

/// An entry's state tag, from its state's code.
pub fn status_tag(code: &str) -> Markup {
    match domain::workflow::Status::parse(code) {
        Some(status) => tag(status.label(), tones::entry(status)),
        None => tag(code, Tone::Draft),
    }
}

/// The colour of a state tag, one vocabulary on every page (SPEC §6): a matter waiting for
/// someone's decision or answer is amber wherever it is shown (every "待…"), one being worked
/// on blue, a finished one green, a refused or returned one red, one no longer in force grey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Draft,
    Waiting,
    Working,
    Done,
    Refused,
    Retired,
}

impl Tone {
    fn class(self) -> &'static str {
        match self {
            Tone::Draft => "draft",
            Tone::Waiting => "waiting",
            Tone::Working => "in-progress",
            Tone::Done => "done",
            Tone::Refused => "refused",
            Tone::Retired => "retired",
        }
    }
}

/// A state tag: the state's label in the tone of its kind. Every page's state tags are
/// made here (a tidy test keeps them here).
pub fn tag(label: &str, tone: Tone) -> Markup {
    html! { span class={"tag " (tone.class())} { (label) } }
}

/// The tone of each kind of state, in one place.
pub mod tones {
    use domain::audit::Outcome;
    use domain::sharing::{NeedStatus, ObjectionStatus, RequestStatus, ReviewStatus};
    use domain::workflow::Status;

    use super::Tone;

    pub fn entry(status: Status) -> Tone {
        match status {
            Status::Draft => Tone::Draft,
            Status::Submitted | Status::Signed => Tone::Waiting,
            Status::Published => Tone::Done,
            Status::Returned => Tone::Refused,
            Status::Retired => Tone::Retired,
        }
    }

    pub fn request(status: RequestStatus) -> Tone {
        match status {
            RequestStatus::Pending | RequestStatus::Coordinating => Tone::Waiting,
            RequestStatus::Approved => Tone::Done,
            RequestStatus::Refused => Tone::Refused,
            RequestStatus::Revoked => Tone::Retired,
        }
    }

    pub fn objection(status: ObjectionStatus) -> Tone {
        match status {
            ObjectionStatus::Submitted => Tone::Waiting,
            ObjectionStatus::Accepted => Tone::Working,
            ObjectionStatus::Rejected => Tone::Refused,
            ObjectionStatus::Corrected | ObjectionStatus::Confirmed => Tone::Done,
        }
    }

    pub fn need(status: NeedStatus) -> Tone {
        match status {
            NeedStatus::Submitted | NeedStatus::Assigned => Tone::Waiting,
            NeedStatus::Catalogued => Tone::Done,
            NeedStatus::Declined => Tone::Refused,
        }
    }

    pub fn review(status: ReviewStatus) -> Tone {
        match status {
            ReviewStatus::Submitted => Tone::Waiting,
            ReviewStatus::Upheld => Tone::Refused,
            ReviewStatus::Overturned => Tone::Done,
        }
    }

    pub fn outcome(outcome: Outcome) -> Tone {
        match outcome {
            Outcome::Success => Tone::Done,
            Outcome::Failure | Outcome::Denied => Tone::Refused,
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// 待审核 was amber for an entry and blue for a share request: the same words
        /// now always have the same colour, and every "待…" is a matter waiting.
        #[test]
        fn the_same_state_name_has_the_same_tone_everywhere() {
            let mut named: Vec<(&str, Tone)> = Vec::new();
            named.extend(Status::ALL.iter().map(|s| (s.label(), entry(*s))));
            named.extend(RequestStatus::ALL.iter().map(|s| (s.label(), request(*s))));
            named.extend(
                ObjectionStatus::ALL
                    .iter()
                    .map(|s| (s.label(), objection(*s))),
            );
            named.extend(NeedStatus::ALL.iter().map(|s| (s.label(), need(*s))));
            named.extend(ReviewStatus::ALL.iter().map(|s| (s.label(), review(*s))));
            for (label, tone) in &named {
                for (other, other_tone) in &named {
                    assert!(
                        label != other || tone == other_tone,
                        "{label}: {tone:?} and {other_tone:?}"
                    );
                }
                if label.starts_with('待') {
                    assert_eq!(*tone, Tone::Waiting, "{label}");
                }
            }
            assert_eq!(entry(Status::Signed), request(RequestStatus::Pending));
        }
    }
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

/// The Chinese name of a form field, for messages that are no single field's.
pub fn field_label(field: &str) -> &str {
    let base = field.split(['[', '.']).next().unwrap_or(field);
    match base {
        "purpose" => "用途",
        "legal_basis" => "依据",
        "application" => "应用系统",
        "valid_until" => "有效期",
        "items" | "review_items" => "信息项",
        "clear_items" => "明文提供的信息项",
        "reason" => "理由",
        "description" => "说明",
        "key" => "记录主键",
        "resource" => "目录",
        "title" => "需要的数据",
        "answer" => "处理说明",
        "department_id" => "部门",
        "credit_code" => "统一社会信用代码",
        "region_code" => "行政区划代码",
        "kind" => "类型",
        "name" => "名称",
        "code" => "简码",
        "username" => "用户名",
        "display_name" => "姓名",
        "password" => "密码",
        "role" => "角色",
        "url" => "连接地址",
        "query" => "表名或查询",
        "mapping" => "列映射",
        "encoding" => "编码",
        "sheet" => "工作表",
        "file" => "文件",
        "mode" => "归集方式",
        "change_column" => "变化列",
        "decision" => "结论",
        "step" => "处理方式",
        "outcome" => "结果",
        "action" => "操作",
        "application_name" => "应用系统名称",
        _ => "填写内容",
    }
}

/// Fields never sent back to the browser: the CSRF token is the page's own, passwords and
/// source URLs (which carry credentials) are typed again.
const SECRET_FIELDS: [&str; 3] = ["_csrf", "password", "url"];

/// A form that was refused: what was typed, and why, to show the same page again with
/// the values kept and each message next to its field. `form` names the form on the page
/// (`apply`, `decide-12`) so that a page of many forms shows it on the right one.
#[derive(Debug, Default, Clone)]
pub struct FormState {
    pub form: String,
    pub values: HashMap<String, Vec<String>>,
    pub errors: Vec<domain::FieldError>,
    /// A refusal or failure that is no single field's (already in Chinese).
    pub message: Option<String>,
    pub status: Option<StatusCode>,
}

impl FormState {
    /// The state of `form` after `error`, with the values the person sent.
    pub fn failed(form: &str, values: HashMap<String, Vec<String>>, error: ApiError) -> Self {
        let status = Some(error.status());
        if let ApiError::Internal(detail) = &error {
            tracing::error!(%detail, "internal error behind a form");
        }
        let (errors, message) = match error {
            ApiError::BadRequest { details, .. } | ApiError::Unprocessable { details, .. }
                if !details.is_empty() =>
            {
                (details, None)
            }
            // The one thing of a form that can be too large is its file.
            ApiError::PayloadTooLarge(message) => (
                vec![domain::FieldError {
                    field: "file".into(),
                    message,
                }],
                None,
            ),
            other => (Vec::new(), Some(other.message())),
        };
        FormState {
            form: form.to_string(),
            values: values
                .into_iter()
                .filter(|(name, _)| !SECRET_FIELDS.contains(&name.as_str()))
                .collect(),
            errors,
            message,
            status,
        }
    }

    /// A form's values as the typed ones when this form failed, else nothing.
    pub fn of<'a>(&'a self, form: &str) -> Option<&'a FormState> {
        (self.form == form).then_some(self)
    }

    /// The value typed into `name` (or `default` when the form did not fail).
    pub fn value<'a>(&'a self, form: &str, name: &str, default: &'a str) -> &'a str {
        match self.of(form) {
            Some(state) => state
                .values
                .get(name)
                .and_then(|v| v.first())
                .map_or("", String::as_str),
            None => default,
        }
    }

    /// Whether a checkbox was ticked (or `default` when the form did not fail).
    pub fn checked(&self, form: &str, name: &str, value: &str, default: bool) -> bool {
        match self.of(form) {
            Some(state) => state
                .values
                .get(name)
                .is_some_and(|v| v.iter().any(|v| v == value)),
            None => default,
        }
    }

    /// The messages of the field `name` (and its parts: `items[2]`, `key.id_number`).
    pub fn errors(&self, form: &str, name: &str) -> Markup {
        let Some(state) = self.of(form) else {
            return html! {};
        };
        html! {
            @for e in state.errors.iter().filter(|e| {
                e.field == name || e.field.starts_with(&format!("{name}[")) || e.field.starts_with(&format!("{name}."))
            }) {
                div.field-error { (e.message) }
            }
        }
    }

    /// The form's banner: the refusal, or how many fields need a change.
    pub fn banner(&self, form: &str) -> Markup {
        let Some(state) = self.of(form) else {
            return html! {};
        };
        html! {
            @if let Some(message) = &state.message {
                div.notice.error role="alert" { (message) }
            } @else if !state.errors.is_empty() {
                div.notice.error role="alert" {
                    "有 " (state.errors.len()) " 处需要修改："
                    @for (n, e) in state.errors.iter().enumerate() {
                        @if n > 0 { "；" }
                        (field_label(&e.field)) "——" (e.message)
                    }
                }
            }
        }
    }

    /// The page's answer status: the refusal's.
    pub fn status(&self) -> StatusCode {
        self.status.unwrap_or(StatusCode::OK)
    }
}

/// A page shown again after its form failed, with the failure's status.
pub fn with_status(mut response: Response, state: &FormState) -> Response {
    *response.status_mut() = state.status();
    if matches!(
        state.status(),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
    ) {
        let reason = state.message.clone().unwrap_or_default();
        response.extensions_mut().insert(DeniedReason(reason));
    }
    response
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
            layout(&state, &WebUser(principal, Bell::default()), "", &[("", "页面不存在")], "页面不存在", content)
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
        " " span.muted {
            @if countdown.done_on.is_some() {
                (countdown.text) "，时限 " (countdown.due)
            } @else {
                (countdown.text) "（" (countdown.due) "）"
            }
        }
    }
}

/// The first value of a form field (forms read as name → values).
pub fn form_value<'a>(form: &'a HashMap<String, Vec<String>>, name: &str) -> &'a str {
    form.get(name)
        .and_then(|v| v.first())
        .map(String::as_str)
        .unwrap_or("")
}

/// The notice a page shows after a redirect (`?notice=…&sig=…`). Only notices this
/// process wrote are shown: a link with a notice of someone else's making (a phishing
/// "令牌已过期，请发送至…") shows nothing.
#[derive(serde::Deserialize)]
pub struct Notice {
    #[serde(default)]
    notice: Option<String>,
    #[serde(default)]
    sig: Option<String>,
}

impl Notice {
    /// The notice, if this process signed it.
    pub fn text(&self) -> Option<&str> {
        let notice = self.notice.as_deref()?;
        let expected = notice_signature(notice);
        use sha2::Digest;
        // Compare digests so that the comparison time does not leak the signature.
        let same = sha2::Sha256::digest(expected.as_bytes())
            == sha2::Sha256::digest(self.sig.as_deref().unwrap_or("").as_bytes());
        same.then_some(notice)
    }
}

/// A keyed digest of a notice under a key of this process (notices live for one redirect).
fn notice_signature(notice: &str) -> String {
    use sha2::Digest;
    static KEY: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
    let key = KEY.get_or_init(rand::random);
    // HMAC-SHA-256 by its definition (RFC 2104), for a 32-byte key.
    let pad = |byte: u8| -> Vec<u8> {
        let mut block = vec![byte; 64];
        for (b, k) in block.iter_mut().zip(key) {
            *b ^= k;
        }
        block
    };
    let inner = sha2::Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(notice.as_bytes())
        .finalize();
    let outer = sha2::Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    hex::encode(&outer[..16])
}

/// Redirects to `page`, with a notice to show there.
pub fn redirect_to(page: &str, notice: &str) -> PageResult {
    let signature = if notice.is_empty() {
        String::new()
    } else {
        notice_signature(notice)
    };
    let query = query_string(&[("notice", notice), ("sig", &signature)]);
    let target = if query.is_empty() {
        page.to_string()
    } else if page.contains('?') {
        format!("{page}&{query}")
    } else {
        format!("{page}?{query}")
    };
    Ok(Redirect::to(&target).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_notices_this_process_signed_are_shown() {
        let response = redirect_to("/tokens", "令牌 3 已吊销").unwrap();
        let location = response.headers()[header::LOCATION].to_str().unwrap();
        let query = location.split_once('?').unwrap().1;
        let signed: Notice = serde_urlencoded::from_str(query).unwrap();
        assert_eq!(signed.text(), Some("令牌 3 已吊销"));
        let forged: Notice = serde_urlencoded::from_str(
            "notice=%E4%BB%A4%E7%89%8C%E5%B7%B2%E8%BF%87%E6%9C%9F&sig=00",
        )
        .unwrap();
        assert_eq!(forged.text(), None);
        let unsigned: Notice = serde_urlencoded::from_str("notice=x").unwrap();
        assert_eq!(unsigned.text(), None);
    }

    #[test]
    fn a_redirect_with_a_notice_keeps_its_query_mark() {
        let response = redirect_to("/sharing", "申请 3 已提交").unwrap();
        let location = response.headers()[header::LOCATION].to_str().unwrap();
        assert!(location.starts_with("/sharing?notice="), "{location}");
        let bare = redirect_to("/needs", "").unwrap();
        assert_eq!(bare.headers()[header::LOCATION], "/needs");
        // A page that already has a query (the hall's filters) keeps it.
        let filtered = redirect_to("/?scope=all&kind=sign_entry", "已督办").unwrap();
        let location = filtered.headers()[header::LOCATION].to_str().unwrap();
        assert!(
            location.starts_with("/?scope=all&kind=sign_entry&notice="),
            "{location}"
        );
        assert_eq!(location.matches('?').count(), 1, "{location}");
    }

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
