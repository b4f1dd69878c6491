//! `/healthz` (the process answers) and `/readyz` (its database answers too), SPEC §2; and the fallback 404.

use axum::Json;
use axum::extract::State;
use strata_core::Error;
use strata_service::RecordService;

use crate::error::ApiError;

pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

pub async fn readyz(
    State(records): State<RecordService>,
) -> Result<Json<serde_json::Value>, ApiError> {
    records.ready().await?;
    Ok(Json(serde_json::json!({"status": "ready"})))
}

pub async fn not_found() -> ApiError {
    ApiError(Error::not_found())
}
