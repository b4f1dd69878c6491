//! REST handlers of authentication (SPEC §6) and the middleware that turns a request's credential into its
//! [`Principal`]. Every answer under `/api/v1/auth/` and `/api/v1/admin/auth/` is `Cache-Control: no-store`.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use strata_core::{Error, ErrorCode, Principal, PrincipalKind};
use strata_service::Envelope;
use strata_service::auth::{AuthService, CSRF_COOKIE, Credentials, CsrfProof, SESSION_COOKIE};

use crate::error::ApiError;
use crate::extract::{Ctx, JsonBody};
use crate::middleware::LoggedPrincipal;

/// Turn the request's credential into its principal (SPEC §6, §14). `Authorization: Bearer` (an access token or
/// an `sk_…` key) wins over `X-API-Key`, which wins over the session cookie; an unsafe request authenticated by
/// the cookie must echo `strata_csrf` in `X-CSRF-Token` (else 403 `csrf_failed`). No credential is anonymous; a
/// malformed or bad one is 401, even on public routes. The token endpoint authenticates its clients itself
/// (RFC 6749 §2.3), and sign-in routes ignore cookies, so a stale session cannot stop a browser signing in again;
/// elsewhere a session that has ended is 401 and its cookies are cleared.
pub async fn authenticate(auth: &AuthService, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let token_endpoint = path == "/api/v1/auth/token";
    let headers = req.headers();
    let session = crate::auth_session::reads_cookies(path)
        .then(|| crate::auth_session::cookie(headers, SESSION_COOKIE))
        .flatten();
    let mut by_cookie = false;
    let principal = if token_endpoint {
        Ok(Principal::anonymous())
    } else if let Some(value) = headers.get(header::AUTHORIZATION) {
        match value
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
        }
    } else if let Some(value) = headers.get("x-api-key") {
        match value.to_str().ok().map(str::trim) {
            Some(key) if !key.is_empty() => auth.authenticate_api_key(key).await,
            _ => Err(Error::new(
                ErrorCode::InvalidToken,
                "X-API-Key must hold an `sk_…` key",
            )),
        }
    } else if let Some(session) = session {
        by_cookie = true;
        let csrf = (!req.method().is_safe()).then(|| CsrfProof {
            header: headers.get("x-csrf-token").and_then(|v| v.to_str().ok()),
            cookie: crate::auth_session::cookie(headers, CSRF_COOKIE),
        });
        auth.authenticate_session(session, csrf).await
    } else {
        Ok(Principal::anonymous())
    };
    let principal = match principal {
        Ok(p) => p,
        Err(e) => {
            // A session that has ended: drop its cookies so the browser stops sending them.
            let clear = by_cookie && e.code != ErrorCode::CsrfFailed;
            let mut response = ApiError(e).into_response();
            if clear {
                crate::auth_session::clear_cookies(response.headers_mut(), auth.cookie_secure());
            }
            return response;
        }
    };
    // SPEC §14: an API key may read who it is, and nothing else under /auth.
    if principal.kind == PrincipalKind::ApiKey
        && path.starts_with("/api/v1/auth/")
        && path != "/api/v1/auth/me"
    {
        return ApiError(Error::new(
            ErrorCode::Forbidden,
            "an API key may not manage credentials",
        ))
        .into_response();
    }
    let logged = principal.id.map(|id| LoggedPrincipal(id.to_string()));
    req.extensions_mut().insert(std::sync::Arc::new(principal));
    if by_cookie {
        req.extensions_mut()
            .insert(crate::auth_session::CookieSession);
    }
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
    // Under `auth.require_verified_email` a mail went out instead: 202, alike for new and taken addresses.
    match auth.register(&ctx, body.object).await? {
        Some(signed) => Ok((StatusCode::CREATED, Json(Envelope { data: signed })).into_response()),
        None => Ok(StatusCode::ACCEPTED.into_response()),
    }
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
