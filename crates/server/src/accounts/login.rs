//! Login and logout. The login form has no session yet, so it is protected against
//! cross-site submission by a double-submit cookie.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::{CookieJar, Form};
use maud::html;
use serde::Deserialize;

use crate::auth::{random_token, token_hash, Meta, SESSION_COOKIE};
use crate::error::ApiError;
use crate::page::{bare_page, PageError, WebUser};
use crate::AppState;

const LOGIN_CSRF_COOKIE: &str = "dh_login_csrf";

fn cookie(
    state: &AppState,
    name: &'static str,
    value: String,
    max_age_secs: i64,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.secure_cookies)
        .path("/")
        .max_age(time_duration(max_age_secs))
        .build()
}

fn time_duration(secs: i64) -> time::Duration {
    time::Duration::seconds(secs)
}

async fn render(
    state: &AppState,
    jar: CookieJar,
    error: Option<String>,
    username: &str,
    status: StatusCode,
) -> Response {
    let csrf = random_token();
    let demo_accounts = if state.config.demo_mode {
        state.store.departments().await.unwrap_or_default()
    } else {
        vec![]
    };
    let body = html! {
        div.login {
            div.card {
                h1 { (state.config.platform_name) }
                @if let Some(error) = &error { div.notice.error role="alert" { (error) } }
                form method="post" action="/login" {
                    input type="hidden" name="_csrf" value=(csrf);
                    p { label for="username" { "用户名" } input id="username" type="text" name="username" autocomplete="username" required autofocus[username.is_empty()] value=(username); }
                    p { label for="password" { "密码" } input id="password" type="password" name="password" autocomplete="current-password" required autofocus[!username.is_empty()]; }
                    p { button type="submit" { "登录" } }
                }
            }
            @if state.config.demo_mode {
                div.card {
                    h2 { "演示账号（密码均为 demo-password）" }
                    p { code { "admin" } "（数据资源管理局） · " code { "auditor" } "（安全审计员）" }
                    table {
                        tr { th { "部门" } th { "首席代表" } th { "工作人员" } }
                        @for d in &demo_accounts {
                            tr { td { (d.name) } td.mono { (d.code) "-chief" } td.mono { (d.code) "-staff" } }
                        }
                    }
                }
            }
        }
    };
    let jar = jar.add(cookie(state, LOGIN_CSRF_COOKIE, csrf, 3600));
    (status, jar, bare_page("登录", body)).into_response()
}

pub async fn page(State(state): State<AppState>, jar: CookieJar) -> Response {
    render(&state, jar, None, "", StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

pub async fn submit(
    State(state): State<AppState>,
    Meta(meta): Meta,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    let expected = jar
        .get(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    if expected.is_empty() || expected != form.csrf {
        return render(
            &state,
            jar,
            Some("登录页面已过期，请重新输入".into()),
            &form.username,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    match super::session::sign_in(&state, &meta, &form.username, &form.password, "web").await {
        Ok(signed_in) => {
            let max_age = state.config.session_hours * 3600;
            let jar = jar
                .remove(Cookie::build(LOGIN_CSRF_COOKIE).path("/").build())
                .add(cookie(&state, SESSION_COOKIE, signed_in.token, max_age));
            (jar, Redirect::to("/")).into_response()
        }
        Err(error) => {
            let status = error.status();
            let mut response =
                render(&state, jar, Some(error.message()), &form.username, status).await;
            if let ApiError::Unauthorized(reason) = error {
                response
                    .extensions_mut()
                    .insert(crate::error::DeniedReason(reason));
            }
            response
        }
    }
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    jar: CookieJar,
    Form(form): Form<LogoutForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&form.csrf)?;
    if let Some(session) = jar.get(SESSION_COOKIE) {
        state
            .store
            .delete_session(&token_hash(session.value()))
            .await?;
    }
    let event = crate::auth::audit_context(Some(&user.0), &meta)
        .event("auth.logout", format!("user:{}", user.0.name()));
    state.store.audit(event).await?;
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/").build());
    Ok((jar, Redirect::to("/login")).into_response())
}
