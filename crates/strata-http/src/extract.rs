//! Extractors: the request's [`Context`] and JSON bodies, with every rejection in the catalogue's terms.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use strata_core::{Error, ErrorCode, Principal};
use strata_service::{Context, Idempotency, ReadParams};

use crate::error::ApiError;
use crate::middleware::RequestId;

/// The parameters of a record read (`filter`, `sort`, `limit`, …) from the query string; of a name given twice,
/// the last counts, and names that are not read parameters are ignored.
pub struct ReadQuery(pub ReadParams);

impl<S: Send + Sync> FromRequestParts<S> for ReadQuery {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let mut p = ReadParams::default();
        let query = parts.uri.query().unwrap_or_default();
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match &*name {
                "filter" => &mut p.filter,
                "sort" => &mut p.sort,
                "limit" => &mut p.limit,
                "cursor" => &mut p.cursor,
                "offset" => &mut p.offset,
                "fields" => &mut p.fields,
                "expand" => &mut p.expand,
                "count" => &mut p.count,
                _ => continue,
            };
            *slot = Some(value.into_owned());
        }
        Ok(ReadQuery(p))
    }
}

/// The service context of a request: principal, request id, client address, start time.
pub struct Ctx(pub Context);

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let request_id = parts
            .extensions
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        let principal = parts
            .extensions
            .get::<Arc<Principal>>()
            .cloned()
            .unwrap_or_else(|| Arc::new(Principal::anonymous()));
        let mut ctx = Context::with_principal(principal, request_id);
        ctx.client_addr = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(Ctx(ctx))
    }
}

/// A JSON object body: 415 for another content type, 413 past the body limit, 400 `malformed_json` when it does
/// not parse or is not an object. Keeps the raw bytes for idempotency fingerprints.
pub struct JsonBody {
    pub object: Map<String, Value>,
    pub raw: Bytes,
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(Error::new(
                ErrorCode::UnsupportedMediaType,
                "send the body as application/json",
            )
            .into());
        }
        let raw = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::new(
                    ErrorCode::PayloadTooLarge,
                    "the body is larger than the server accepts",
                )
            } else {
                Error::new(ErrorCode::MalformedJson, "the body could not be read")
            }
        })?;
        let value: Value = serde_json::from_slice(&raw).map_err(|e| {
            Error::new(
                ErrorCode::MalformedJson,
                format!("the body is not valid JSON: {e}"),
            )
        })?;
        match value {
            Value::Object(object) => Ok(JsonBody { object, raw }),
            _ => Err(Error::new(ErrorCode::MalformedJson, "the body must be a JSON object").into()),
        }
    }
}

/// The `Idempotency-Key` of a request with the fingerprint of its method, path and body (SPEC §14).
pub fn idempotency(
    headers: &HeaderMap,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<Option<Idempotency>, Error> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| (1..=255).contains(&k.len()))
        .ok_or_else(|| {
            Error::invalid_query("Idempotency-Key must be 1 to 255 visible ASCII characters")
        })?;
    let mut hash = Sha256::new();
    hash.update(method.as_bytes());
    hash.update(b" ");
    hash.update(path.as_bytes());
    hash.update(b"\n");
    hash.update(body);
    let fingerprint = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(Some(Idempotency {
        key: key.to_owned(),
        fingerprint,
    }))
}
