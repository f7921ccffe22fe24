//! `/api/v1/objections`: a consuming department flags a wrong record; the provider accepts
//! (the record shows 异议中 to every consumer) or rejects it, then corrects or confirms it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use domain::deadline::Countdown;
use domain::sharing::ObjectionStep;
use serde::{Deserialize, Serialize};
use store::objections::{NewObjection, Objection};

use super::{Json, List};
use crate::auth::{audit_context, Auth, Meta};
use crate::error::{ApiError, ApiResult};
use crate::AppState;

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
        .map(|d| super::sharing::countdown(state, &calendar, d));
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

/// Checks an objection (the key names a record, the items are the entry's) and records it:
/// for the API and the 数据异议 page alike.
pub async fn raise_objection(
    state: &AppState,
    principal: &crate::auth::Principal,
    meta: &crate::auth::RequestMeta,
    body: NewObjectionBody,
) -> ApiResult<Objection> {
    principal.require_person()?;
    let resource = state.store.resource(&body.resource).await?;
    let entry = state.store.published_body(&resource).await?;
    let keys: Vec<&domain::catalogue::Item> = entry.items.iter().filter(|i| i.key).collect();
    if keys.is_empty() || keys.len() != body.key.len() {
        return Err(ApiError::field(
            "key",
            format!("应给出 {} 个主键值", keys.len()),
        ));
    }
    for (n, item) in body.items.iter().enumerate() {
        if !entry.items.iter().any(|i| &i.identifier == item) {
            return Err(ApiError::field(
                &format!("items[{n}]"),
                "目录中没有该信息项",
            ));
        }
    }
    // The key must name a record: checked, typed and looked up like a data API key.
    let mut conditions = Vec::new();
    for (item, text) in keys.iter().zip(&body.key) {
        let value = super::data::typed(item, text, "key")?;
        conditions.push((store::data_access::Column::of(item), vec![value]));
    }
    let table = store::data_tables::table_name(
        &domain::code::ResourceCode::parse(&resource.code)
            .map_err(|e| ApiError::NotFound(e.to_string()))?,
    );
    if state
        .store
        .verify_record(&table, &conditions, &[])
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound("没有该主键的记录".into()));
    }
    let calendar = state.store.calendar().await?;
    let ctx = audit_context(Some(principal), meta);
    Ok(state
        .store
        .raise_objection(
            &NewObjection {
                code: &resource.code,
                record_key: body.key,
                items: body.items,
                description: &body.description,
            },
            &principal.actor(),
            &state.config.deadline_rules,
            &calendar,
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
    principal.require_person()?;
    let scope = super::sharing::oversight_scope(&principal, "无权查看数据异议")?;
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
    principal.require_person()?;
    let objection = state.store.objection(id).await?;
    if !super::sharing::involved(&principal, objection.provider_id, objection.consumer_id) {
        return Err(ApiError::Forbidden("只有异议双方和管理方可以查看".into()));
    }
    let ctx = audit_context(Some(&principal), &meta);
    let answered = state
        .store
        .answer_objection(id, answer.step, &answer.answer, &principal.actor(), &ctx)
        .await?;
    Ok(axum::Json(view(&state, answered).await?))
}
