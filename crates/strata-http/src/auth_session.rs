//! Cookie sessions over HTTP (SPEC §14 "Session mode"): `POST /auth/login?mode=session` sets `strata_session`
//! (HttpOnly, SameSite=Lax, Path=/, Secure unless `auth.cookie_secure = false`) and a readable `strata_csrf`;
//! logout clears them. Also `POST /auth/password/change`.

use axum::Json;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use strata_core::{Error, ErrorCode};
use strata_service::Envelope;
use strata_service::auth::{AuthService, CSRF_COOKIE, Credentials, SESSION_COOKIE, SessionStarted};

use crate::error::ApiError;
use crate::extract::{Ctx, JsonBody};

/// Set on a request the session cookie authenticated.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CookieSession;

/// Whether the session cookie counts on `path`. Sign-in routes, where callers prove who they are by what they
/// send (a password, a refresh token, a code or a mailed token), ignore it: a stale session must not stop a
/// browser signing in again.
pub(crate) fn reads_cookies(path: &str) -> bool {
    let sign_in = path.starts_with("/api/v1/auth/oauth2/")
        || path.starts_with("/api/v1/auth/verify-email/")
        || matches!(
            path,
            "/api/v1/auth/login"
                | "/api/v1/auth/register"
                | "/api/v1/auth/refresh"
                | "/api/v1/auth/token"
                | "/api/v1/auth/mfa/totp/verify"
                | "/api/v1/auth/password/forgot"
                | "/api/v1/auth/password/reset"
                | "/api/v1/admin/auth/login"
        );
    !sign_in
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim_matches('"'))
}

pub(crate) fn set_cookie(
    headers: &mut HeaderMap,
    name: &str,
    value: &str,
    max_age: u64,
    http_only: bool,
    secure: bool,
) {
    let mut cookie = format!("{name}={value}; Path=/; Max-Age={max_age}; SameSite=Lax");
    if http_only {
        cookie.push_str("; HttpOnly");
    }
    if secure {
        cookie.push_str("; Secure");
    }
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        headers.append(header::SET_COOKIE, value);
    }
}

/// Expire both session cookies in the browser.
pub(crate) fn clear_cookies(headers: &mut HeaderMap, secure: bool) {
    set_cookie(headers, SESSION_COOKIE, "", 0, true, secure);
    set_cookie(headers, CSRF_COOKIE, "", 0, false, secure);
}

/// `{data: {user}}` with the session cookies.
pub(crate) fn session_response(started: SessionStarted, secure: bool) -> Response {
    let mut response = Json(Envelope {
        data: serde_json::json!({ "user": started.user }),
    })
    .into_response();
    let max_age = started.max_age.as_secs();
    let headers = response.headers_mut();
    set_cookie(
        headers,
        SESSION_COOKIE,
        &started.session,
        max_age,
        true,
        secure,
    );
    set_cookie(headers, CSRF_COOKIE, &started.csrf, max_age, false, secure);
    response
}

#[derive(Deserialize)]
pub(crate) struct LoginQuery {
    mode: Option<String>,
}

#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: String,
}

/// `POST /auth/login`: a token pair, or with `?mode=session` the session cookies.
pub async fn login(
    State(auth): State<AuthService>,
    Query(query): Query<LoginQuery>,
    Ctx(ctx): Ctx,
    body: JsonBody,
) -> Result<Response, ApiError> {
    match query.mode.as_deref() {
        None | Some("token") => crate::auth::login(State(auth), Ctx(ctx), body).await,
        Some("session") => {
            let login: LoginBody = serde_json::from_value(serde_json::Value::Object(body.object))
                .map_err(|e| {
                Error::new(
                    ErrorCode::ValidationFailed,
                    format!("the body must hold email and password: {e}"),
                )
            })?;
            let credentials = Credentials {
                email: login.email,
                password: login.password,
            };
            let started = auth.login_session(&ctx, credentials).await?;
            Ok(session_response(started, auth.cookie_secure()))
        }
        Some(_) => Err(Error::invalid_query("mode must be `session` or `token`").into()),
    }
}

/// `POST /auth/logout`: revoke the refresh family or session; a session's cookies are cleared too.
pub async fn logout(
    State(auth): State<AuthService>,
    Ctx(ctx): Ctx,
    req: Request,
) -> Result<Response, ApiError> {
    let by_cookie = req.extensions().get::<CookieSession>().is_some();
    let status = crate::auth::logout(State(auth.clone()), Ctx(ctx)).await?;
    let mut response = status.into_response();
    if by_cookie {
        clear_cookies(response.headers_mut(), auth.cookie_secure());
    }
    Ok(response)
}

/// `POST /auth/password/change` → 204.
pub async fn change_password(
    State(auth): State<AuthService>,
    Ctx(ctx): Ctx,
    body: JsonBody,
) -> Result<StatusCode, ApiError> {
    auth.change_password(&ctx, &body.object).await?;
    Ok(StatusCode::NO_CONTENT)
}
