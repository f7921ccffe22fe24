//! `/api/v1/needs`: the 需求清单. A consumer posts a need, the bureau assigns a provider,
//! the provider answers within its deadline.

use crate::json::Path;
use axum::extract::State;
use axum::http::StatusCode;
use domain::deadline::Countdown;
use serde::{Deserialize, Serialize};
use store::needs::{DataNeed, NeedAnswer};

use crate::auth::{audit_context, Auth, Meta};
use crate::error::ApiResult;
use crate::json::{Json, List};
use crate::AppState;
use domain::access::{check, Act};

#[derive(Serialize, utoipa::ToSchema)]
pub struct NeedView {
    #[serde(flatten)]
    pub need: DataNeed,
    pub countdown: Option<Countdown>,
}

async fn view(state: &AppState, need: DataNeed) -> ApiResult<NeedView> {
    let calendar = state.store.calendar().await?;
    let countdown = need
        .duty
        .as_ref()
        .map(|d| crate::hall::tasks::countdown(state, &calendar, d));
    Ok(NeedView { need, countdown })
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNeed {
    pub title: String,
    /// The data wanted, its use and legal basis.
    pub description: String,
}

#[utoipa::path(post, path = "/api/v1/needs", tag = "sharing", security(("bearer" = [])), request_body = NewNeed,
    responses((status = 201, body = NeedView), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn post(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Json(new): Json<NewNeed>,
) -> ApiResult<(StatusCode, axum::Json<NeedView>)> {
    let ctx = audit_context(Some(&principal), &meta);
    let need = state
        .store
        .post_need(&new.title, &new.description, &ctx)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(view(&state, need).await?)))
}

#[utoipa::path(get, path = "/api/v1/needs", tag = "sharing", security(("bearer" = [])),
    responses((status = 200, body = List<NeedView>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<axum::Json<List<NeedView>>> {
    check(&principal.caller(), Act::ViewNeeds)?;
    let mut items = Vec::new();
    for need in state.store.needs().await? {
        items.push(view(&state, need).await?);
    }
    Ok(axum::Json(List::all(items)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    pub department_id: i64,
}

#[utoipa::path(post, path = "/api/v1/needs/{id}/assign", tag = "sharing", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = Assignment,
    responses((status = 200, body = NeedView), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn assign(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Path(id): Path<i64>,
    Json(assignment): Json<Assignment>,
) -> ApiResult<axum::Json<NeedView>> {
    let ctx = audit_context(Some(&principal), &meta);
    let need = state
        .store
        .assign_need(id, assignment.department_id, &ctx)
        .await?;
    Ok(axum::Json(view(&state, need).await?))
}

#[utoipa::path(post, path = "/api/v1/needs/{id}/answer", tag = "sharing", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = NeedAnswer,
    responses((status = 200, body = NeedView), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
               (status = 409, body = crate::error::ErrorBody)))]
pub async fn answer(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Path(id): Path<i64>,
    Json(answer): Json<NeedAnswer>,
) -> ApiResult<axum::Json<NeedView>> {
    let ctx = audit_context(Some(&principal), &meta);
    let need = state.store.answer_need(id, &answer, &ctx).await?;
    Ok(axum::Json(view(&state, need).await?))
}
