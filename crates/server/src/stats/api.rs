//! `GET /api/v1/stats/aggregation`: per department and city-wide, entries published and
//! with data, rows, freshness, quality, and the aggregation rates against their targets.

use axum::extract::State;
use domain::aggregation::{aggregate, AggregationStats, Targets};

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::AppState;

pub async fn aggregation_stats(state: &AppState) -> ApiResult<AggregationStats> {
    let (departments, entries) = state.store.aggregation_inputs().await?;
    let targets = Targets {
        government: state.config.target_government,
        social: state.config.target_social,
    };
    Ok(aggregate(
        &departments,
        &entries,
        targets,
        chrono::Utc::now(),
    ))
}

#[utoipa::path(get, path = "/api/v1/stats/aggregation", tag = "collection", security(("bearer" = [])),
    responses((status = 200, body = AggregationStats), (status = 401, body = crate::error::ErrorBody)))]
pub async fn aggregation(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<axum::Json<AggregationStats>> {
    domain::access::check(&principal.caller(), domain::access::Act::ViewStats)?;
    Ok(axum::Json(aggregation_stats(&state).await?))
}
