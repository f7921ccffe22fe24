//! `/api/v1/objections`: a consuming department flags a wrong record; the provider accepts
//! (the record shows 异议中 to every consumer) or rejects it, then corrects or confirms it.

use crate::json::Path;
use axum::extract::State;
use axum::http::StatusCode;
use domain::deadline::Countdown;
use domain::sharing::ObjectionStep;
use serde::{Deserialize, Serialize};
use store::objections::{NewObjection, Objection};

use crate::auth::{audit_context, Auth, Meta};
use crate::error::ApiResult;
use crate::json::{Json, List};
use crate::AppState;
use domain::access::matter_scope;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ObjectionView {
    #[serde(flatten)]
    pub objection: Objection,
    pub countdown: Option<Countdown>,
}

async fn view(state: &AppState, objection: Objection) -> ApiResult<ObjectionView> {
    let calendar = state.store.calendar().await?;
    let countdown = objection
        .duty
        .as_ref()
        .map(|d| crate::hall::tasks::countdown(state, &calendar, d));
    Ok(ObjectionView {
        objection,
        countdown,
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewObjectionBody {
    /// The entry's resource code.
    pub resource: String,
    /// The record's key values, in key-item order.
    pub key: Vec<String>,
    /// The items said to be wrong.
    pub items: Vec<String>,
    pub description: String,
}

#[utoipa::path(post, path = "/api/v1/objections", tag = "sharing", security(("bearer" = [])), request_body = NewObjectionBody,
    responses((status = 201, body = ObjectionView), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
               (status = 404, body = crate::error::ErrorBody)))]
pub async fn raise(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Json(body): Json<NewObjectionBody>,
) -> ApiResult<(StatusCode, axum::Json<ObjectionView>)> {
    let objection = raise_objection(&state, &principal, &meta, body).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(view(&state, objection).await?),
    ))
}

/// Records an objection: for the API and the 数据异议 page alike. The store checks the
/// grant before it looks at the record, and looks the record up under that grant.
pub async fn raise_objection(
    state: &AppState,
    principal: &crate::auth::Principal,
    meta: &crate::auth::RequestMeta,
    body: NewObjectionBody,
) -> ApiResult<Objection> {
    let ctx = audit_context(Some(principal), meta);
    Ok(state
        .store
        .raise_objection(
            &NewObjection {
                code: &body.resource,
                record_key: body.key,
                items: body.items,
                description: &body.description,
            },
            &ctx,
        )
        .await?)
}

#[utoipa::path(get, path = "/api/v1/objections", tag = "sharing", security(("bearer" = [])),
    responses((status = 200, body = List<ObjectionView>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<axum::Json<List<ObjectionView>>> {
    let scope = matter_scope(&principal.caller())?;
    let mut items = Vec::new();
    for objection in state.store.objections(scope).await? {
        items.push(view(&state, objection).await?);
    }
    Ok(axum::Json(List::all(items)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    pub step: ObjectionStep,
    #[serde(default)]
    pub answer: String,
}

#[utoipa::path(post, path = "/api/v1/objections/{id}/answer", tag = "sharing", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = Answer,
    responses((status = 200, body = ObjectionView), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn answer(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Path(id): Path<i64>,
    Json(answer): Json<Answer>,
) -> ApiResult<axum::Json<ObjectionView>> {
    let ctx = audit_context(Some(&principal), &meta);
    let answered = state
        .store
        .answer_objection(id, answer.step, &answer.answer, &ctx)
        .await?;
    Ok(axum::Json(view(&state, answered).await?))
}
