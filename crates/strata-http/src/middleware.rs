//! The one middleware every request passes (SPEC §10, §11): request id in and out, a log line per request with
//! the W3C trace id, the URL length limit, the request timeout, authentication, problem bodies for every error,
//! and the security headers.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use strata_core::{Error, ErrorCode};
use strata_service::auth::AuthService;

use crate::error::{Problem, code_for_status, problem_response};

/// The request id of this request: the client's when well-formed, else a fresh UUIDv7 (SPEC §14).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Marks an error response whose body is deliberately not problem+json (the OAuth2 token endpoint's RFC 6749
/// errors), so [`observe`] leaves it as it is.
#[derive(Debug, Clone, Copy)]
pub struct OwnErrorBody;

/// The principal's id for the request log, set by whoever authenticates the request.
#[derive(Debug, Clone)]
pub struct LoggedPrincipal(pub String);

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Longest URL accepted (SPEC §14).
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// What the middleware needs: its limits, and the auth service it authenticates each request with.
#[derive(Clone)]
pub struct Edge {
    pub request_timeout: Duration,
    pub auth: AuthService,
}

fn well_formed(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

/// The trace id of a W3C `traceparent` header (`00-<trace id>-<span id>-<flags>`), when valid.
fn trace_id(req: &Request) -> Option<String> {
    let value = req.headers().get("traceparent")?.to_str().ok()?;
    let mut parts = value.split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let valid = parts.next().is_none()
        && version.len() == 2
        && trace.len() == 32
        && span.len() == 16
        && flags.len() == 2
        && trace.bytes().all(|b| b.is_ascii_hexdigit())
        && trace != "00000000000000000000000000000000";
    valid.then(|| trace.to_ascii_lowercase())
}

/// The ids of the request being served, which every log line written while serving it carries (as the members
/// of its `"span"`, named `request`). They live in a task-local, not a tracing span: a span is registered,
/// formatted, entered and left on every poll, and cost a tenth of a GET's instructions (callgrind).
#[derive(Debug)]
pub struct RequestIds {
    pub request_id: String,
    /// The W3C trace id, when the client sent a valid `traceparent`.
    pub trace_id: Option<String>,
}

tokio::task_local! {
    static CURRENT_REQUEST: RequestIds;
}

/// Call `f` with the ids of the request this task is serving, if it is serving one.
pub fn with_current_request<R>(f: impl FnOnce(&RequestIds) -> R) -> Option<R> {
    CURRENT_REQUEST.try_with(f).ok()
}

/// Observe the request, then authenticate it ([`crate::auth::authenticate`]) and route it. One layer, not two:
/// each layer of a router is a boxed service cloned for every request.
pub async fn observe(State(edge): State<Edge>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| well_formed(id))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let ids = RequestIds {
        request_id: request_id.clone(),
        trace_id: trace_id(&req),
    };
    CURRENT_REQUEST
        .scope(ids, serve(edge, req, next, request_id, started))
        .await
}

/// The request inside its scope: limits, authentication and the route, then the finished response and its line.
async fn serve(
    edge: Edge,
    req: Request,
    next: Next,
    request_id: String,
    started: Instant,
) -> Response {
    let method = req.method().clone();
    // The route template, else (no route matched) the path itself; a `MatchedPath` clone is an `Arc`'s.
    let route = match req.extensions().get::<MatchedPath>() {
        Some(matched) => Route::Matched(matched.clone()),
        None => Route::Unmatched(req.uri().path().to_owned()),
    };
    let uri_len = req.uri().path().len() + req.uri().query().map_or(0, |q| q.len() + 1);
    let response = if uri_len > MAX_URI_BYTES {
        ApiErrorResponse(Error::new(
            ErrorCode::UriTooLong,
            "the URL is longer than 8 KiB",
        ))
        .into_response()
    } else {
        let fut = crate::auth::authenticate(&edge.auth, req, next);
        match tokio::time::timeout(edge.request_timeout, fut).await {
            Ok(response) => response,
            Err(_) => ApiErrorResponse(Error::new(ErrorCode::Timeout, "the request took too long"))
                .into_response(),
        }
    };
    let mut response = finish(response, &request_id);
    secure(response.headers_mut());

    let status = response.status();
    let principal = response
        .extensions()
        .get::<LoggedPrincipal>()
        .map(|p| p.0.as_str());
    // Whole microseconds: a short number in the line, and more precision than a log needs.
    let latency_ms = started.elapsed().as_micros() as f64 / 1000.0;
    let route = match &route {
        Route::Matched(matched) => matched.as_str(),
        Route::Unmatched(path) => path,
    };
    // Fields given as `&str` are written as they are; `%` would go through `Display` and a formatter.
    if status.is_server_error() {
        let cause = response
            .extensions()
            .get::<Problem>()
            .map(|p| format!("{:#}", p.0))
            .unwrap_or_default();
        tracing::error!(method = method.as_str(), route, status = status.as_u16(), latency_ms, principal, error = %cause, "request failed");
    } else {
        tracing::info!(
            method = method.as_str(),
            route,
            status = status.as_u16(),
            latency_ms,
            principal,
            "request"
        );
    }
    response
}

enum Route {
    Matched(MatchedPath),
    Unmatched(String),
}

struct ApiErrorResponse(Error);

impl IntoResponse for ApiErrorResponse {
    fn into_response(self) -> Response {
        crate::error::ApiError(self.0).into_response()
    }
}

/// Give every error response its problem body, and every response its request id.
fn finish(response: Response, request_id: &str) -> Response {
    let status = response.status();
    let mut response = if let Some(Problem(error)) = response.extensions().get::<Problem>().cloned()
    {
        problem_response(&error, request_id, response)
    } else if (status.is_client_error() || status.is_server_error())
        && !is_problem(&response)
        && response.extensions().get::<OwnErrorBody>().is_none()
    {
        // A rejection or layer answered without a body of ours: name it from the catalogue.
        let code = code_for_status(status);
        let detail = match status {
            StatusCode::NOT_FOUND => "the requested resource does not exist",
            StatusCode::METHOD_NOT_ALLOWED => "this method is not allowed here",
            _ => code.title(),
        };
        let error = Error::new(code, detail);
        let mut response = problem_response(&error, request_id, response);
        *response.status_mut() = StatusCode::from_u16(code.status()).unwrap_or(status);
        response
    } else {
        response
    };
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

fn is_problem(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"))
}

/// SPEC §11's headers, built once: names and values checked at compile time.
const SECURITY_HEADERS: [(HeaderName, HeaderValue); 5] = [
    (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ),
    (
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    ),
    (
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    ),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    (
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    ),
];

/// Room for the headers a typical answer ends with: its own few, the request id and the security headers.
pub const RESPONSE_HEADERS: usize = 16;

/// SPEC §11's headers on every response (a handler's own value of one of them stands).
fn secure(headers: &mut axum::http::HeaderMap) {
    headers.reserve(SECURITY_HEADERS.len() + 1);
    for (name, value) in SECURITY_HEADERS {
        headers.entry(name).or_insert(value);
    }
}

#[cfg(test)]
mod tests {
    use super::well_formed;

    #[test]
    fn request_ids_are_taken_only_when_well_formed() {
        assert!(well_formed("abc-123_x.y:z"));
        assert!(!well_formed(""));
        assert!(!well_formed("has space"));
        assert!(!well_formed(&"a".repeat(129)));
        assert!(!well_formed("line\nbreak"));
    }
}
