//! API keys over HTTP (SPEC §6, §14): `POST /auth/api-keys` → 201 with the key (shown once), `GET` lists the
//! caller's keys without secrets, `DELETE /auth/api-keys/{id}` → 204 revokes.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use strata_service::Envelope;
use strata_service::auth::AuthService;

use crate::error::ApiError;
use crate::extract::{Ctx, JsonBody};

/// `POST /auth/api-keys` → 201 with the key.
pub async fn create_api_key(
    State(auth): State<AuthService>,
    Ctx(ctx): Ctx,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let key = auth.create_api_key(&ctx, &body.object).await?;
    Ok((StatusCode::CREATED, Json(Envelope { data: key })).into_response())
}

/// `GET /auth/api-keys` → the caller's live keys.
pub async fn list_api_keys(
    State(auth): State<AuthService>,
    Ctx(ctx): Ctx,
) -> Result<Response, ApiError> {
    let keys = auth.list_api_keys(&ctx).await?;
    Ok(Json(Envelope { data: keys }).into_response())
}

/// `DELETE /auth/api-keys/{id}` → 204.
pub async fn delete_api_key(
    State(auth): State<AuthService>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    auth.revoke_api_key(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
