//! REST handlers of OAuth2/OIDC sign-in (SPEC §6): `authorize` and `callback` answer 302 redirects (the browser
//! travels between Strata, the provider and the application); `exchange` trades the single-use code for a
//! token pair. In session mode the callback sets the session cookies on its redirect.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use strata_core::Error;
use strata_service::Envelope;
use strata_service::auth::{AuthService, CSRF_COOKIE, CallbackParams, SESSION_COOKIE};

use crate::error::ApiError;
use crate::extract::{Ctx, JsonBody};

#[derive(Deserialize)]
pub(crate) struct AuthorizeQuery {
    redirect_to: Option<String>,
    mode: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// 302 to `location`; the page it names must not leak the URL (and its code) in `Referer`.
fn found(location: &str) -> Result<Response, Error> {
    let location = HeaderValue::from_str(location)
        .map_err(|e| Error::internal(anyhow::anyhow!("a redirect URL is not a header: {e}")))?;
    let mut response = StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, location);
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

/// `GET /auth/oauth2/{provider}/authorize?redirect_to=URL[&mode=session]` → 302 to the provider.
pub async fn authorize(
    State(auth): State<AuthService>,
    Path(provider): Path<String>,
    Query(query): Query<AuthorizeQuery>,
) -> Result<Response, ApiError> {
    let location = auth
        .oauth_authorize(
            &provider,
            query.redirect_to.as_deref(),
            query.mode.as_deref(),
        )
        .await?;
    Ok(found(&location)?)
}

/// `GET /auth/oauth2/{provider}/callback?code&state` → 302 to `redirect_to` with a `code` (or the cookies).
pub async fn callback(
    State(auth): State<AuthService>,
    Path(provider): Path<String>,
    Ctx(ctx): Ctx,
    Query(query): Query<CallbackQuery>,
) -> Result<Response, ApiError> {
    let params = CallbackParams {
        code: query.code,
        state: query.state,
        error: query.error,
    };
    let landing = auth.oauth_callback(&ctx, &provider, params).await?;
    let mut response = found(&landing.location)?;
    if let Some(started) = landing.session {
        let (max_age, secure) = (started.max_age.as_secs(), auth.cookie_secure());
        let headers = response.headers_mut();
        crate::auth_session::set_cookie(
            headers,
            SESSION_COOKIE,
            &started.session,
            max_age,
            true,
            secure,
        );
        crate::auth_session::set_cookie(
            headers,
            CSRF_COOKIE,
            &started.csrf,
            max_age,
            false,
            secure,
        );
    }
    Ok(response)
}

/// `POST /auth/oauth2/exchange {code}` → 200 the token pair.
pub async fn exchange(
    State(auth): State<AuthService>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let code = crate::auth_email::text_field(&body, "code")?;
    let signed = auth.oauth_exchange(&code).await?;
    Ok(Json(Envelope { data: signed }).into_response())
}
