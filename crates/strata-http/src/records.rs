//! REST handlers for records (SPEC §4): thin, each parses its request and calls the record service.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use strata_core::{Error, ErrorCode};
use strata_service::{BatchRequest, Doc, Envelope, Mode, RecordService, StoredResponse, Written};

use crate::error::ApiError;
use crate::extract::{Ctx, JsonBody, ReadQuery, idempotency};

/// An answer of JSON text written by the record writer. Its header map is sized once for every header a
/// record answer gets on its way out (ETag, Location, request id, security headers, CORS), so none reallocates it.
fn json_response(status: StatusCode, json: String) -> Response {
    let mut response = Response::new(Body::from(json));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.reserve(crate::middleware::RESPONSE_HEADERS);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn if_match(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::IF_MATCH)
        .map(|v| v.to_str().unwrap_or("\u{0}"))
}

/// `200 {"data": record}` with its `ETag`.
fn with_etag(status: StatusCode, doc: Doc, location: bool) -> Response {
    let etag = HeaderValue::from_str(&doc.etag()).ok();
    let loc = location
        .then(|| HeaderValue::from_str(&doc.location()).ok())
        .flatten();
    let mut response = json_response(status, doc.to_envelope_json());
    let headers = response.headers_mut();
    if let Some(etag) = etag {
        headers.insert(header::ETAG, etag);
    }
    if let Some(loc) = loc {
        headers.insert(header::LOCATION, loc);
    }
    response
}

/// An answer replayed from an idempotency key: its status, headers and body as first sent.
fn replay(stored: StoredResponse) -> Response {
    let mut response = Response::new(axum::body::Body::from(stored.body));
    *response.status_mut() = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    for (name, value) in stored.headers {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::try_from(name),
            HeaderValue::from_str(&value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

pub async fn list_records(
    State(records): State<RecordService>,
    Ctx(ctx): Ctx,
    Path(collection): Path<String>,
    ReadQuery(q): ReadQuery,
) -> Result<Response, ApiError> {
    let page = records.list(&ctx, &collection, &q).await?;
    Ok(json_response(StatusCode::OK, page.to_json()))
}

pub async fn get_record(
    State(records): State<RecordService>,
    Ctx(ctx): Ctx,
    Path((collection, id)): Path<(String, String)>,
    ReadQuery(q): ReadQuery,
) -> Result<Response, ApiError> {
    let doc = records.get(&ctx, &collection, &id, &q).await?;
    Ok(with_etag(StatusCode::OK, doc, false))
}

pub async fn create_record(
    State(records): State<RecordService>,
    Ctx(ctx): Ctx,
    Path(collection): Path<String>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let key = idempotency(
        &headers,
        "POST",
        &format!("/api/v1/{collection}"),
        &body.raw,
    )?;
    Ok(
        match records.create(&ctx, &collection, body.object, key).await? {
            Written::Fresh(doc) => with_etag(StatusCode::CREATED, doc, true),
            Written::Replayed(stored) => replay(stored),
        },
    )
}

pub async fn patch_record(
    State(records): State<RecordService>,
    Ctx(ctx): Ctx,
    Path((collection, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let doc = records
        .update(
            &ctx,
            &collection,
            &id,
            body.object,
            Mode::Patch,
            if_match(&headers),
        )
        .await?;
    Ok(with_etag(StatusCode::OK, doc, false))
}

pub async fn put_record(
    State(records): State<RecordService>,
    Ctx(ctx): Ctx,
    Path((collection, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let doc = records
        .update(
            &ctx,
            &collection,
            &id,
            body.object,
            Mode::Replace,
            if_match(&headers),
        )
        .await?;
    Ok(with_etag(StatusCode::OK, doc, false))
}

pub async fn delete_record(
    State(records): State<RecordService>,
    Ctx(ctx): Ctx,
    Path((collection, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    records
        .delete(&ctx, &collection, &id, if_match(&headers))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn batch(
    State(records): State<RecordService>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let key = idempotency(&headers, "POST", "/api/v1/batch", &body.raw)?;
    let request: BatchRequest = serde_json::from_value(serde_json::Value::Object(body.object))
        .map_err(|e| {
            Error::new(
                ErrorCode::ValidationFailed,
                format!("the batch body is malformed: {e}"),
            )
        })?;
    Ok(match records.batch(&ctx, request, key).await? {
        Written::Fresh(results) => Json(Envelope { data: results }).into_response(),
        Written::Replayed(stored) => replay(stored),
    })
}
