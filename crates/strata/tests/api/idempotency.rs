//! `Idempotency-Key` on creates and batches (SPEC §4, §14).

use serde_json::json;

use crate::helpers::TestApp;
use crate::on_backends;

on_backends!(
    a_repeated_key_replays_the_first_answer,
    a_key_reused_with_another_body_is_422,
    a_refused_request_is_replayed_too,
    a_key_held_by_a_request_in_flight_is_409_until_it_lapses,
);

async fn post_with_key(
    app: &TestApp,
    key: &str,
    body: &serde_json::Value,
) -> crate::helpers::Reply {
    app.send(
        app.client
            .post(app.url("/api/v1/posts"))
            .header("idempotency-key", key)
            .json(body),
    )
    .await
}

async fn a_repeated_key_replays_the_first_answer(app: TestApp) {
    let body = json!({"title": "once"});
    let first = post_with_key(&app, "k-1", &body).await;
    assert_eq!(first.status, 201);
    let second = post_with_key(&app, "k-1", &body).await;
    assert_eq!(second.status, 201);
    assert_eq!(second.body, first.body, "the same record, not a second one");
    assert_eq!(second.header("location"), first.header("location"));
    assert_eq!(second.header("etag"), first.header("etag"));
    let list = app.get("/api/v1/posts?count=true").await;
    assert_eq!(list.body["total"], 1);
}

async fn a_key_reused_with_another_body_is_422(app: TestApp) {
    assert_eq!(
        post_with_key(&app, "k-2", &json!({"title": "a"}))
            .await
            .status,
        201
    );
    let other = post_with_key(&app, "k-2", &json!({"title": "b"})).await;
    assert_eq!(other.status, 422);
    assert_eq!(other.code(), "idempotency_key_reused");
    assert_eq!(app.get("/api/v1/posts?count=true").await.body["total"], 1);
}

async fn a_refused_request_is_replayed_too(app: TestApp) {
    let body = json!({"title": 5});
    let first = post_with_key(&app, "k-3", &body).await;
    assert_eq!(first.status, 400);
    let again = post_with_key(&app, "k-3", &body).await;
    assert_eq!(again.status, 400);
    assert_eq!(again.body, first.body);
}

async fn a_key_held_by_a_request_in_flight_is_409_until_it_lapses(app: TestApp) {
    let claim = |key: &str, at: chrono::DateTime<chrono::Utc>| {
        format!(
            "INSERT INTO _idempotency (scope, idem_key, fingerprint, created_at) VALUES ('ip:127.0.0.1', '{key}', 'x', {})",
            app.sql_datetime(at)
        )
    };
    // Another request claimed the key a moment ago and has not finished.
    app.execute_sql(&claim("busy", chrono::Utc::now())).await;
    let reply = post_with_key(&app, "busy", &json!({"title": "a"})).await;
    assert_eq!(reply.status, 409);
    assert_eq!(reply.code(), "idempotency_key_in_progress");
    // A claim older than the request timeout has lapsed: the key is taken over.
    app.execute_sql(&claim(
        "stale",
        chrono::Utc::now() - chrono::Duration::hours(1),
    ))
    .await;
    assert_eq!(
        post_with_key(&app, "stale", &json!({"title": "a"}))
            .await
            .status,
        201
    );
    assert_eq!(app.get("/api/v1/posts?count=true").await.body["total"], 1);
}
