//! `POST /auth/token`, the OAuth2 token endpoint (RFC 6749): a form body, clients authenticated in the form or
//! with HTTP Basic (§2.3.1), and answers in RFC 6749 §5.1/§5.2 JSON with `Cache-Control: no-store` and
//! `Pragma: no-cache`, the one endpoint that does not answer problem+json (SPEC §5).

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use strata_service::auth::{AuthService, OAuthError, TokenRequest};

use crate::extract::Ctx;
use crate::middleware::OwnErrorBody;

/// One component of Basic credentials, form-urlencoded as RFC 6749 §2.3.1 asks.
fn form_decode(part: &str) -> String {
    url::form_urlencoded::parse(format!("v={part}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The client's HTTP Basic credentials, if the request has an `Authorization` header.
fn basic(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let refused = || OAuthError::invalid_client("the Authorization header must be HTTP Basic");
    let encoded = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Basic "))
        .ok_or_else(refused)?;
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(refused)?;
    let (id, secret) = decoded.split_once(':').ok_or_else(refused)?;
    Ok(Some((form_decode(id), form_decode(secret))))
}

/// The form parameters: the body must be `application/x-www-form-urlencoded` and name each parameter once
/// (RFC 6749 §3.2).
fn form(headers: &HeaderMap, body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if mime.as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request(
            "send the body as application/x-www-form-urlencoded",
        ));
    }
    let mut params = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        if params
            .insert(name.to_string(), value.into_owned())
            .is_some()
        {
            return Err(OAuthError::invalid_request(format!(
                "the {name} parameter is repeated"
            )));
        }
    }
    Ok(params)
}

fn no_cache(response: &mut Response) {
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

fn error_response(e: OAuthError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (status, Json(e.body())).into_response();
    for (name, value) in &e.headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
    no_cache(&mut response);
    response.extensions_mut().insert(OwnErrorBody);
    response
}

/// `POST /auth/token`
pub async fn token(
    State(auth): State<AuthService>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = match (form(&headers, &body), basic(&headers)) {
        (Ok(params), Ok(basic)) => TokenRequest { params, basic },
        (Err(e), _) | (_, Err(e)) => return error_response(e),
    };
    match auth.token(&ctx, request).await {
        Ok(answer) => {
            let mut response = Json(answer).into_response();
            no_cache(&mut response);
            response
        }
        Err(e) => error_response(e),
    }
}
