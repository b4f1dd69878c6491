//! Errors as RFC 9457 problem+json (SPEC §5). Handlers return [`ApiError`]; its response carries the error in
//! an extension, and the [`problem_layer`](crate::middleware) middleware writes the body with the request id and
//! logs 5xx with their cause. Anything else that fails without a problem body (a framework rejection, a layer)
//! gets one there too, so every error on every route has the same shape.

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use strata_core::{Error, ErrorCode};

/// A catalogued error on its way to becoming a problem response.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

/// The error a response stands for, read by the problem middleware.
#[derive(Clone)]
pub struct Problem(pub Arc<Error>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = status.into_response();
        response.extensions_mut().insert(Problem(Arc::new(self.0)));
        response
    }
}

/// The catalogue code for a bare status a layer or the framework produced.
pub fn code_for_status(status: StatusCode) -> ErrorCode {
    match status.as_u16() {
        400 => ErrorCode::InvalidQuery,
        401 => ErrorCode::Unauthenticated,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        408 | 504 => ErrorCode::Timeout,
        409 => ErrorCode::Conflict,
        412 => ErrorCode::PreconditionFailed,
        413 => ErrorCode::PayloadTooLarge,
        414 => ErrorCode::UriTooLong,
        415 => ErrorCode::UnsupportedMediaType,
        422 => ErrorCode::IdempotencyKeyReused,
        429 => ErrorCode::RateLimited,
        503 => ErrorCode::Unavailable,
        _ => ErrorCode::Internal,
    }
}

/// Write `error` as a problem response for request `request_id`.
pub fn problem_response(error: &Error, request_id: &str, mut response: Response) -> Response {
    let body = serde_json::to_vec(&error.problem(request_id)).unwrap_or_default();
    let headers = response.headers_mut();
    for (name, value) in &error.headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(*name, value);
        }
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    headers.remove(header::CONTENT_LENGTH);
    *response.body_mut() = axum::body::Body::from(body);
    response
}
