//! REST handlers of authentication (SPEC §6) and the middleware that turns a request's credential into its
//! [`Principal`]. Every answer under `/api/v1/auth/` and `/api/v1/admin/auth/` is `Cache-Control: no-store`.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use strata_core::{Error, ErrorCode, Principal};
use strata_service::Envelope;
use strata_service::auth::{AuthService, Credentials};

use crate::error::ApiError;
use crate::extract::{Ctx, JsonBody};
use crate::middleware::LoggedPrincipal;

/// Read the `Authorization` header: no credential is anonymous; a malformed or bad one is 401, even on public
/// routes (SPEC §14).
pub async fn authenticate(
    State(auth): State<AuthService>,
    mut req: Request,
    next: Next,
) -> Response {
    let principal = match req.headers().get(header::AUTHORIZATION) {
        None => Ok(Principal::anonymous()),
        Some(value) => match value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
        {
            Some(token) if !token.is_empty() => auth.authenticate(token).await,
            _ => Err(Error::new(
                ErrorCode::InvalidToken,
                "the Authorization header must be `Bearer <token>`",
            )
            .with_header("www-authenticate", "Bearer error=\"invalid_request\"")),
        },
    };
    let principal = match principal {
        Ok(p) => p,
        Err(e) => return ApiError(e).into_response(),
    };
    let logged = principal.id.map(|id| LoggedPrincipal(id.to_string()));
    req.extensions_mut().insert(principal);
    let mut response = next.run(req).await;
    if let Some(logged) = logged {
        response.extensions_mut().insert(logged);
    }
    response
}

/// `Cache-Control: no-store` on every answer of the auth routes.
pub async fn no_store(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: String,
}

fn credentials(body: JsonBody) -> Result<Credentials, Error> {
    let login: LoginBody =
        serde_json::from_value(serde_json::Value::Object(body.object)).map_err(|e| {
            Error::new(
                ErrorCode::ValidationFailed,
                format!("the body must hold email and password: {e}"),
            )
        })?;
    Ok(Credentials {
        email: login.email,
        password: login.password,
    })
}

pub async fn register(
    State(auth): State<AuthService>,
    Ctx(ctx): Ctx,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let signed = auth.register(&ctx, body.object).await?;
    Ok((StatusCode::CREATED, Json(Envelope { data: signed })).into_response())
}

pub async fn login(
    State(auth): State<AuthService>,
    Ctx(ctx): Ctx,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let signed = auth.login(&ctx, credentials(body)?).await?;
    Ok(Json(Envelope { data: signed }).into_response())
}

pub async fn admin_login(
    State(auth): State<AuthService>,
    Ctx(ctx): Ctx,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let signed = auth.admin_login(&ctx, credentials(body)?).await?;
    Ok(Json(Envelope { data: signed }).into_response())
}

pub async fn refresh(
    State(auth): State<AuthService>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let token = body
        .object
        .get("refresh_token")
        .and_then(|t| t.as_str())
        .ok_or_else(|| {
            Error::new(
                ErrorCode::ValidationFailed,
                "the body must hold a refresh_token",
            )
        })?;
    let signed = auth.refresh(token).await?;
    Ok(Json(Envelope { data: signed }).into_response())
}

pub async fn logout(
    State(auth): State<AuthService>,
    Ctx(ctx): Ctx,
) -> Result<StatusCode, ApiError> {
    auth.logout(&ctx.principal).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn me(State(auth): State<AuthService>, Ctx(ctx): Ctx) -> Result<Response, ApiError> {
    Ok(Json(Envelope {
        data: auth.me(&ctx.principal)?,
    })
    .into_response())
}

pub async fn jwks(State(auth): State<AuthService>) -> Response {
    let mut response = Json(auth.jwks()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
