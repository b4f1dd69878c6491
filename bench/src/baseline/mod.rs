//! The baseline (SPEC §13: "every operation ≥ 1.2× a hand-written axum+sqlx server doing the same queries"): a
//! lean, hand-written axum + sqlx server for PostgreSQL and MySQL/MariaDB that serves exactly the benchmark's
//! three operations on the `posts` collection Strata created and seeded, with none of Strata's crates:
//!
//! - `GET /api/v1/posts/{id}`: 200 `{"data": post}` with its `ETag`, 404 when the view rule hides it;
//! - `GET /api/v1/posts?filter=status='published'&sort=-created_at&limit=N`: 200 `{"data": […], "next_cursor"}`
//!   (a keyset cursor of Strata's shape);
//! - `POST /api/v1/posts`: the body validated against the schema and the create rule, the post and its
//!   CloudEvent inserted in one transaction, 201 `{"data": post}` with `Location` and `ETag` once committed.
//!
//! Every request carries Strata's bearer token, verified with a cache of verified tokens ([`token`]); the rules
//! are the schema's, written by hand into the statements ([`db`]). What it leaves out, Strata's per-request
//! extras: request ids and security headers on every answer, request logs, revocation checks, idempotency keys.

pub mod db;
pub mod post;
pub mod problem;
pub mod token;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use db::Db;
use post::{Created, Post, format_micros};
use problem::Problem;
use token::{Caller, Verifier};

/// The one list the baseline serves: the benchmark's.
const LIST_FILTER: &str = "status='published'";
const LIST_SORT: &str = "-created_at";
/// Strata's page sizes (SPEC §4).
const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 500;

/// What the handlers share.
#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub verifier: Arc<Verifier>,
    /// The fingerprint Strata puts in the list's cursors (`crates/strata-service/src/cursor.rs`): the first 8
    /// bytes of SHA-256 over the sort keys (`-created_at,-id,`), a NUL and the filter, in hex.
    cursor_fingerprint: Arc<str>,
}

impl App {
    pub fn new(db: Db, verifier: Verifier) -> App {
        let mut hash = Sha256::new();
        hash.update(b"-created_at,-id,\0");
        hash.update(LIST_FILTER.as_bytes());
        let fingerprint: String = hash.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        App {
            db,
            verifier: Arc::new(verifier),
            cursor_fingerprint: fingerprint.into(),
        }
    }
}

pub fn router(app: App) -> Router {
    Router::new()
        .route("/readyz", get(ready))
        .route("/api/v1/posts", get(list_posts).post(create_post))
        .route("/api/v1/posts/{id}", get(get_post))
        .with_state(app)
}

impl FromRequestParts<App> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Caller, Problem> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(Problem::unauthenticated)?;
        app.verifier
            .verify(token, token::now())
            .ok_or_else(Problem::unauthenticated)
    }
}

async fn ready() -> &'static str {
    "{\"status\":\"ready\"}"
}

async fn get_post(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = Uuid::try_parse(&id).map_err(|_| Problem::not_found())?;
    let post = app
        .db
        .get(id, caller.user_id)
        .await?
        .ok_or_else(Problem::not_found)?;
    Ok(one(StatusCode::OK, &post))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    filter: Option<String>,
    sort: Option<String>,
    limit: Option<String>,
}

async fn list_posts(
    State(app): State<App>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> Result<Response, Problem> {
    let limit = page_size(&params)?;
    let mut posts = app.db.list_published(caller.user_id, limit).await?;
    let has_more = posts.len() > limit as usize;
    posts.truncate(limit as usize);
    let next_cursor = match posts.last() {
        Some(last) if has_more => Some(cursor(&app.cursor_fingerprint, last)),
        _ => None,
    };
    Ok(json(
        StatusCode::OK,
        &Page {
            data: &posts,
            next_cursor,
        },
    ))
}

async fn create_post(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    if !is_json(&headers) {
        return Err(Problem::unsupported_media_type());
    }
    let post = Post::create(&body, caller)?;
    let event = Created::of(&post, caller, Uuid::now_v7());
    let payload = serde_json::to_string(&event).map_err(|e| Problem::internal(&e))?;
    if !app.db.create(&post, event.id, event.time, &payload).await? {
        return Err(Problem::invalid_relation("/author"));
    }
    let mut response = one(StatusCode::CREATED, &post);
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/posts/{}", post.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// The page size of the benchmark's list; any other list is refused.
fn page_size(params: &ListParams) -> Result<u32, Problem> {
    if params.filter.as_deref() != Some(LIST_FILTER) || params.sort.as_deref() != Some(LIST_SORT) {
        return Err(Problem::invalid_query(format!(
            "the baseline serves only filter={LIST_FILTER}&sort={LIST_SORT}"
        )));
    }
    match params.limit.as_deref() {
        None => Ok(DEFAULT_LIMIT),
        Some(s) => s
            .parse()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                Problem::invalid_query(format!("limit must be between 1 and {MAX_LIMIT}"))
            }),
    }
}

/// Strata's keyset cursor after `last`: base64url of `{"f": fingerprint, "v": [created_at, id]}`.
fn cursor(fingerprint: &str, last: &Post) -> String {
    let created_at = format_micros(&last.created_at);
    let doc = serde_json::json!({
        "f": fingerprint,
        "v": [String::from_utf8_lossy(&created_at), last.id.to_string()],
    });
    URL_SAFE_NO_PAD.encode(doc.to_string())
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        })
}

#[derive(Serialize)]
struct One<'a> {
    data: &'a Post,
}

#[derive(Serialize)]
struct Page<'a> {
    data: &'a [Post],
    next_cursor: Option<String>,
}

/// `{"data": post}` with the post's `ETag` (its version).
fn one(status: StatusCode, post: &Post) -> Response {
    let mut response = json(status, &One { data: post });
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", post.version)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// `value` as an `application/json` answer, serialized straight from the rows (no intermediate JSON tree).
fn json(status: StatusCode, value: &impl Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        Err(e) => Problem::internal(&e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(filter: Option<&str>, sort: Option<&str>, limit: Option<&str>) -> ListParams {
        ListParams {
            filter: filter.map(str::to_owned),
            sort: sort.map(str::to_owned),
            limit: limit.map(str::to_owned),
        }
    }

    #[test]
    fn only_the_benchmark_s_list_is_served_with_strata_s_page_sizes() {
        let list = |limit| page_size(&params(Some(LIST_FILTER), Some(LIST_SORT), limit));
        assert_eq!(list(None).unwrap(), 20);
        assert_eq!(list(Some("500")).unwrap(), 500);
        assert!(list(Some("0")).is_err() && list(Some("501")).is_err() && list(Some("x")).is_err());
        assert!(page_size(&params(None, Some(LIST_SORT), None)).is_err());
        assert!(page_size(&params(Some(LIST_FILTER), Some("created_at"), None)).is_err());
    }

    #[test]
    fn the_cursor_carries_the_last_sort_values_and_the_fingerprint() {
        let post = Post {
            id: Uuid::parse_str("01a21302-d321-7065-a4e2-f065ca5db574").unwrap(),
            title: None,
            body: None,
            status: None,
            views: None,
            author: None,
            created_at: chrono::DateTime::parse_from_rfc3339("2026-11-25T14:01:21.953041Z")
                .unwrap()
                .to_utc(),
            updated_at: chrono::Utc::now(),
            version: 1,
        };
        let doc: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(cursor("0123456789abcdef", &post))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            doc,
            serde_json::json!({"f": "0123456789abcdef", "v": ["2026-11-25T14:01:21.953041Z", post.id.to_string()]})
        );
    }

    #[test]
    fn json_bodies_are_recognised_with_or_without_parameters() {
        let mut headers = HeaderMap::new();
        assert!(!is_json(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        assert!(is_json(&headers));
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert!(!is_json(&headers));
    }
}
