//! REST handlers of the email flows (SPEC §6, §14 "Email flows"). Requests naming an address answer 202 with no
//! body whether or not it has an account; confirmations answer 204.

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::Value;
use strata_core::{Error, FieldError, FieldErrorCode};
use strata_service::auth::AuthService;

use crate::error::ApiError;
use crate::extract::{Ctx, JsonBody};

/// A required string member of a JSON body: 400 `validation_failed` at `/NAME` when absent or not a string.
pub(crate) fn text_field(body: &JsonBody, name: &str) -> Result<String, Error> {
    match body.object.get(name) {
        Some(Value::String(text)) => Ok(text.clone()),
        None | Some(Value::Null) => Err(Error::validation(vec![FieldError::new(
            format!("/{name}"),
            FieldErrorCode::Required,
            "is required",
        )])),
        Some(_) => Err(Error::validation(vec![FieldError::new(
            format!("/{name}"),
            FieldErrorCode::WrongType,
            "must be a string",
        )])),
    }
}

/// `POST /auth/verify-email/request {email}` → 202
pub async fn request_verification(
    State(auth): State<AuthService>,
    body: JsonBody,
) -> Result<StatusCode, ApiError> {
    auth.request_verification(&text_field(&body, "email")?);
    Ok(StatusCode::ACCEPTED)
}

/// `POST /auth/verify-email/confirm {token}` → 204
pub async fn confirm_email(
    State(auth): State<AuthService>,
    Ctx(ctx): Ctx,
    body: JsonBody,
) -> Result<StatusCode, ApiError> {
    auth.confirm_email(&ctx, &text_field(&body, "token")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /auth/password/forgot {email}` → 202
pub async fn forgot_password(
    State(auth): State<AuthService>,
    body: JsonBody,
) -> Result<StatusCode, ApiError> {
    auth.forgot_password(&text_field(&body, "email")?);
    Ok(StatusCode::ACCEPTED)
}

/// `POST /auth/password/reset {token, new_password}` → 204
pub async fn reset_password(
    State(auth): State<AuthService>,
    Ctx(ctx): Ctx,
    body: JsonBody,
) -> Result<StatusCode, ApiError> {
    let token = text_field(&body, "token")?;
    let new_password = text_field(&body, "new_password")?;
    auth.reset_password(&ctx, &token, &new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /auth/email/change {new_email, password}` → 202 (signed-in users)
pub async fn change_email(
    State(auth): State<AuthService>,
    Ctx(ctx): Ctx,
    body: JsonBody,
) -> Result<StatusCode, ApiError> {
    let new_email = text_field(&body, "new_email")?;
    let password = text_field(&body, "password")?;
    auth.change_email(&ctx, &new_email, &password).await?;
    Ok(StatusCode::ACCEPTED)
}
