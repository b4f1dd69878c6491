//! REST handlers of TOTP multi-factor sign-in (SPEC §6, §14 "MFA"): enrol, confirm, disable, and the second step
//! of a sign-in that answered 401 `mfa_required`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use strata_service::Envelope;
use strata_service::auth::{AuthService, MfaSignedIn, RecoveryCodes, TotpEnrolled};

use crate::auth_email::text_field;
use crate::error::ApiError;
use crate::extract::{Ctx, JsonBody};

/// `POST /auth/mfa/totp/enroll` → 200 `{data: {secret, otpauth_uri}}`
pub async fn enroll_totp(
    State(auth): State<AuthService>,
    Ctx(ctx): Ctx,
) -> Result<Json<Envelope<TotpEnrolled>>, ApiError> {
    let data = auth.enroll_totp(&ctx).await?;
    Ok(Json(Envelope { data }))
}

/// `POST /auth/mfa/totp/confirm {code}` → 200 `{data: {recovery_codes}}`
pub async fn confirm_totp(
    State(auth): State<AuthService>,
    Ctx(ctx): Ctx,
    body: JsonBody,
) -> Result<Json<Envelope<RecoveryCodes>>, ApiError> {
    let data = auth.confirm_totp(&ctx, &text_field(&body, "code")?).await?;
    Ok(Json(Envelope { data }))
}

/// `POST /auth/mfa/totp/disable {code}` → 204
pub async fn disable_totp(
    State(auth): State<AuthService>,
    Ctx(ctx): Ctx,
    body: JsonBody,
) -> Result<StatusCode, ApiError> {
    auth.disable_totp(&ctx, &text_field(&body, "code")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /auth/mfa/totp/verify {mfa_token, code}` → 200 the token pair, or after `/auth/login?mode=session` the
/// session cookies, as the first step asked.
pub async fn verify_totp(
    State(auth): State<AuthService>,
    Ctx(ctx): Ctx,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let mfa_token = text_field(&body, "mfa_token")?;
    let code = text_field(&body, "code")?;
    Ok(match auth.verify_mfa(&ctx, &mfa_token, &code).await? {
        MfaSignedIn::Tokens(data) => Json(Envelope { data }).into_response(),
        MfaSignedIn::Session(started) => {
            crate::auth_session::session_response(started, auth.cookie_secure())
        }
    })
}
