//! `/api/v1/basis-reviews`: a consumer asks the bureau to review the legal basis an entry
//! (or some of its items) is listed 不予共享 under; the bureau upholds it or finds the data
//! should be shared, within the coordination deadline.

use crate::json::Path;
use axum::extract::State;
use axum::http::StatusCode;
use domain::deadline::Countdown;
use serde::{Deserialize, Serialize};
use store::basis_reviews::BasisReview;

use crate::auth::{audit_context, Auth, Meta};
use crate::error::{ApiError, ApiResult};
use crate::json::{Json, List};
use crate::AppState;
use domain::access::matter_scope;

#[derive(Serialize, utoipa::ToSchema)]
pub struct BasisReviewView {
    #[serde(flatten)]
    pub review: BasisReview,
    pub countdown: Option<Countdown>,
}

pub(crate) async fn view(state: &AppState, review: BasisReview) -> ApiResult<BasisReviewView> {
    let calendar = state.store.calendar().await?;
    let countdown = review
        .duty
        .as_ref()
        .map(|d| crate::hall::tasks::countdown(state, &calendar, d));
    Ok(BasisReviewView { review, countdown })
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBasisReview {
    /// The entry's resource code.
    pub resource: String,
    /// The not-shared items in question; empty or absent: the whole (not-shared) entry.
    #[serde(default)]
    pub items: Vec<String>,
    /// Why the consumer needs the data, and under what basis.
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/basis-reviews", tag = "sharing", security(("bearer" = [])), request_body = NewBasisReview,
    responses((status = 201, body = BasisReviewView), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
               (status = 404, body = crate::error::ErrorBody)))]
pub async fn request(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Json(new): Json<NewBasisReview>,
) -> ApiResult<(StatusCode, axum::Json<BasisReviewView>)> {
    let ctx = audit_context(Some(&principal), &meta);
    let review = state
        .store
        .request_basis_review(
            &store::basis_reviews::ReviewRequest {
                code: &new.resource,
                items: &new.items,
                reason: &new.reason,
            },
            &ctx,
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(view(&state, review).await?)))
}

#[utoipa::path(get, path = "/api/v1/basis-reviews", tag = "sharing", security(("bearer" = [])),
    responses((status = 200, body = List<BasisReviewView>), (status = 403, body = crate::error::ErrorBody)))]
/// Reviews a department asked for or whose entries they concern; all, for the bureau and
/// the auditor.
pub async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<axum::Json<List<BasisReviewView>>> {
    let scope = matter_scope(&principal.caller())?;
    let mut items = Vec::new();
    for review in state.store.basis_reviews(scope).await? {
        items.push(view(&state, review).await?);
    }
    Ok(axum::Json(List::all(items)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewDecision {
    /// `uphold` (the basis holds) or `overturn` (the data should be shared).
    pub decision: String,
    /// The bureau's reasoning.
    pub answer: String,
}

#[utoipa::path(post, path = "/api/v1/basis-reviews/{id}/decision", tag = "sharing", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = ReviewDecision,
    responses((status = 200, body = BasisReviewView), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
               (status = 409, body = crate::error::ErrorBody)))]
pub async fn decide(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Path(id): Path<i64>,
    Json(decision): Json<ReviewDecision>,
) -> ApiResult<axum::Json<BasisReviewView>> {
    let upheld = match decision.decision.as_str() {
        "uphold" => true,
        "overturn" => false,
        _ => return Err(ApiError::field("decision", "应为 uphold 或 overturn")),
    };
    let ctx = audit_context(Some(&principal), &meta);
    let review = state
        .store
        .decide_basis_review(
            id,
            &store::basis_reviews::ReviewDecision {
                upheld,
                answer: &decision.answer,
            },
            &ctx,
        )
        .await?;
    Ok(axum::Json(view(&state, review).await?))
}
