//! Bad input of every kind gets its documented 4xx from the catalogue, and the data is unchanged (SPEC §5, §14).

use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::on_backends;

on_backends!(
    malformed_and_hostile_json_is_400_malformed_json,
    another_content_type_is_415,
    a_body_over_the_limit_is_413,
    unknown_routes_are_404_and_wrong_methods_405_with_allow,
    unknown_fields_are_refused_not_dropped,
    wrong_types_for_every_field_type_are_refused_and_nothing_is_stored,
    out_of_range_values_are_refused,
    a_unique_violation_is_409_naming_the_field,
    a_url_over_8_kib_is_414,
    a_collection_without_rules_is_locked,
    a_server_fault_is_500_without_internals,
);

async fn post_raw(app: &TestApp, body: impl Into<reqwest::Body>) -> crate::helpers::Reply {
    app.send(
        app.client
            .post(app.url("/api/v1/posts"))
            .header("content-type", "application/json")
            .body(body),
    )
    .await
}

pub async fn count_posts(app: &TestApp) -> u64 {
    app.get("/api/v1/posts?count=true&limit=1").await.body["total"]
        .as_u64()
        .expect("a total")
}

async fn malformed_and_hostile_json_is_400_malformed_json(app: TestApp) {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    for body in [
        "{\"title\": ".to_owned(),
        "not json".to_owned(),
        "[1, 2]".to_owned(),
        "\"just a string\"".to_owned(),
        "{\"title\": \"a\"} trailing".to_owned(),
        deep,
        String::new(),
    ] {
        let reply = post_raw(&app, body.clone()).await;
        assert_eq!(reply.status, 400, "{body:.40}");
        assert_eq!(reply.code(), "malformed_json", "{body:.40}");
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json")
        );
        assert!(
            reply.body["request_id"]
                .as_str()
                .is_some_and(|r| !r.is_empty())
        );
        assert_eq!(reply.body["type"], "/docs/errors#malformed_json");
        assert_eq!(reply.body["status"], 400);
    }
    let invalid_utf8 = post_raw(&app, vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}']).await;
    assert_eq!(invalid_utf8.code(), "malformed_json");
    assert_eq!(count_posts(&app).await, 0);
}

async fn another_content_type_is_415(app: TestApp) {
    let reply = app
        .send(
            app.client
                .post(app.url("/api/v1/posts"))
                .header("content-type", "text/plain")
                .body("{\"title\":\"a\"}"),
        )
        .await;
    assert_eq!(reply.status, 415);
    assert_eq!(reply.code(), "unsupported_media_type");
    let none = app
        .send(
            app.client
                .post(app.url("/api/v1/posts"))
                .body("{\"title\":\"a\"}"),
        )
        .await;
    assert_eq!(none.status, 415);
    assert_eq!(count_posts(&app).await, 0);
}

async fn a_body_over_the_limit_is_413(app: TestApp) {
    // The test server accepts 64 KiB.
    let body = json!({"title": "big", "body": "x".repeat(70 * 1024)}).to_string();
    let reply = post_raw(&app, body).await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.code(), "payload_too_large");
    assert_eq!(count_posts(&app).await, 0);
}

async fn unknown_routes_are_404_and_wrong_methods_405_with_allow(app: TestApp) {
    for path in ["/nope", "/api/v2/posts", "/api/v1/posts/a/b/c"] {
        let reply = app.get(path).await;
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.code(), "not_found");
    }
    let reply = app.send(app.client.delete(app.url("/api/v1/posts"))).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.code(), "method_not_allowed");
    let allow = reply.header("allow").expect("an Allow header");
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    let batch = app.get("/api/v1/batch").await;
    assert_eq!(batch.status, 405);
    assert_eq!(batch.header("allow"), Some("POST"));
}

async fn unknown_fields_are_refused_not_dropped(app: TestApp) {
    let reply = app
        .post(
            "/api/v1/posts",
            &json!({"title": "a", "colour": "red", "expand": {}}),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.code(), "validation_failed");
    let errors = reply.body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors.iter().all(|e| e["code"] == "unknown_field"));
    assert!(errors.iter().any(|e| e["path"] == "/colour"));
    assert_eq!(count_posts(&app).await, 0);
}

async fn wrong_types_for_every_field_type_are_refused_and_nothing_is_stored(app: TestApp) {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("title", json!(5), "wrong_type"),
        ("title", json!(["a"]), "wrong_type"),
        ("views", json!("7"), "wrong_type"),
        ("views", json!(1.5), "not_integer"),
        ("views", json!(true), "wrong_type"),
        ("score", json!("1.0"), "wrong_type"),
        ("featured", json!("true"), "wrong_type"),
        ("featured", json!(1), "wrong_type"),
        ("published", json!("yesterday"), "invalid_format"),
        ("published", json!(1700000000), "wrong_type"),
        ("day", json!("2024-13-01"), "invalid_format"),
        ("day", json!("2024-01-01T00:00:00Z"), "invalid_format"),
        ("contact", json!("not an email"), "invalid_format"),
        ("link", json!("ftp://x"), "invalid_format"),
        ("link", json!("javascript:alert(1)"), "invalid_format"),
        ("ref", json!("1234"), "invalid_format"),
        ("status", json!("archived"), "invalid_option"),
        ("tags", json!([1, 2]), "json_schema"),
        ("tags", json!("a"), "json_schema"),
        ("author", json!("not-a-uuid"), "invalid_relation"),
        ("slug", json!("Has Spaces"), "pattern"),
    ];
    for (field, value, code) in cases {
        let mut body = json!({"title": "ok"});
        body[field] = value.clone();
        let reply = app.post("/api/v1/posts", &body).await;
        assert_eq!(reply.status, 400, "{field} = {value}: {}", reply.body);
        assert_eq!(
            reply.body["errors"][0]["path"],
            format!("/{field}"),
            "{field} = {value}"
        );
        assert_eq!(
            reply.body["errors"][0]["code"], code,
            "{field} = {value}: {}",
            reply.body
        );
    }
    let several = app
        .post(
            "/api/v1/posts",
            &json!({"title": 1, "views": "x", "status": "nope"}),
        )
        .await;
    assert_eq!(
        several.body["errors"].as_array().map(Vec::len),
        Some(3),
        "every problem at once"
    );
    assert_eq!(several.body["detail"], "3 fields are invalid");
    assert_eq!(count_posts(&app).await, 0);
}

async fn out_of_range_values_are_refused(app: TestApp) {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("views", json!(-1), "out_of_range"),
        ("views", json!(1e300), "out_of_range"),
        ("views", json!(18446744073709551615u64), "out_of_range"),
        ("score", json!(10.51), "out_of_range"),
        ("score", json!(-11), "out_of_range"),
        ("title", json!("x".repeat(201)), "too_long"),
        ("title", json!(""), "ok"),
        ("published", json!("0999-12-31T23:59:59Z"), "out_of_range"),
        ("day", json!("0500-01-01"), "out_of_range"),
    ];
    for (field, value, code) in cases {
        let mut body = json!({"title": "ok"});
        body[field] = value.clone();
        let reply = app.post("/api/v1/posts", &body).await;
        if code == "ok" {
            assert_eq!(reply.status, 201, "{field} = {value}: {}", reply.body);
            continue;
        }
        assert_eq!(reply.status, 400, "{field} = {value}: {}", reply.body);
        assert_eq!(
            reply.body["errors"][0]["code"], code,
            "{field} = {value}: {}",
            reply.body
        );
    }
    let emoji = app
        .post("/api/v1/posts", &json!({"title": "🎉".repeat(200)}))
        .await;
    assert_eq!(emoji.status, 201, "lengths count characters, not bytes");
    assert_eq!(count_posts(&app).await, 2);
}

async fn a_unique_violation_is_409_naming_the_field(app: TestApp) {
    app.create("posts", json!({"title": "a", "slug": "same"}))
        .await;
    let reply = app
        .post("/api/v1/posts", &json!({"title": "b", "slug": "same"}))
        .await;
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert_eq!(reply.code(), "conflict");
    assert_eq!(reply.body["errors"][0]["path"], "/slug");
    assert_eq!(reply.body["errors"][0]["code"], "unique");
    assert_eq!(
        app.post("/api/v1/posts", &json!({"title": "c", "slug": "Same"}))
            .await
            .status,
        400,
        "pattern first"
    );
    assert_eq!(
        app.post("/api/v1/posts", &json!({"title": "c", "slug": "same-2"}))
            .await
            .status,
        201
    );
    let other = app.create("posts", json!({"title": "d"})).await;
    let patch = app
        .patch(
            &format!("/api/v1/posts/{}", other["id"].as_str().unwrap()),
            &json!({"slug": "same"}),
        )
        .await;
    assert_eq!(patch.status, 409);
    assert_eq!(count_posts(&app).await, 3);
}

async fn a_url_over_8_kib_is_414(app: TestApp) {
    let reply = app
        .get(&format!("/api/v1/posts?filter={}", "a".repeat(9000)))
        .await;
    assert_eq!(reply.status, 414);
    assert_eq!(reply.code(), "uri_too_long");
}

async fn a_collection_without_rules_is_locked(app: TestApp) {
    let id = uuid::Uuid::now_v7();
    for reply in [
        app.get("/api/v1/vault").await,
        app.get(&format!("/api/v1/vault/{id}")).await,
        app.post("/api/v1/vault", &json!({"note": "x"})).await,
        app.patch(&format!("/api/v1/vault/{id}"), &json!({"note": "x"}))
            .await,
        app.delete(&format!("/api/v1/vault/{id}")).await,
        app.get("/api/v1/users").await,
    ] {
        assert_eq!(reply.status, 401, "{}", reply.body);
        assert_eq!(reply.code(), "unauthenticated");
    }
    // A public collection without a rule for one action locks that action only.
    let post = app.create("posts", json!({"title": "a"})).await;
    let comment = app
        .create("comments", json!({"post": post["id"], "text": "t"}))
        .await;
    let update = app
        .patch(
            &format!("/api/v1/comments/{}", comment["id"].as_str().unwrap()),
            &json!({"text": "u"}),
        )
        .await;
    assert_eq!(update.status, 401);
}

/// A query past `database.statement_timeout` is interrupted and answered 503 `timeout`.
#[tokio::test]
async fn a_query_past_the_statement_timeout_is_503_timeout_on_sqlite() {
    use crate::helpers::{BLOG, Backend, spawn_app_configured};
    let Some(app) = spawn_app_configured(Backend::Sqlite, BLOG, |s| {
        s.database.statement_timeout = std::time::Duration::from_millis(20);
    })
    .await
    else {
        return;
    };
    app.create("posts", json!({"title": "seed"})).await;
    // Many rows, written straight to the file so that seeding does not run into the timeout itself.
    let path = app.database_url.trim_start_matches("sqlite://").to_owned();
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy timeout");
    conn.execute_batch(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000)
         INSERT INTO posts (id, created_at, updated_at, version, title, status, views, featured, rank)
         SELECT printf('00000000-0000-7000-8000-%012d', i), '2024-01-01T00:00:00.000000Z',
                '2024-01-01T00:00:00.000000Z', 1, 'row ' || i, 'draft', 0, 0, 1 FROM n",
    )
    .expect("seed");
    let reply = app
        .send(
            app.client
                .get(app.url("/api/v1/posts"))
                .query(&[("filter", "title ~ 'zzz'"), ("count", "true")]),
        )
        .await;
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(reply.code(), "timeout");
    assert_eq!(
        app.get("/api/v1/posts?limit=1").await.status,
        200,
        "the next query runs normally"
    );
}

/// A failure of the server's own (here: its table vanished behind its back) is 500 `internal` with a generic
/// detail: no SQL, no table name, no stack.
async fn a_server_fault_is_500_without_internals(app: TestApp) {
    app.execute_sql("DROP TABLE comments").await;
    let reply = app.get("/api/v1/comments").await;
    assert_eq!(reply.status, 500, "{}", reply.body);
    assert_eq!(reply.code(), "internal");
    assert_eq!(
        reply.body["detail"],
        "the server failed to handle the request"
    );
    let text = reply.body.to_string().to_lowercase();
    for internal in ["comments", "table", "select", "sql", "panicked", ".rs"] {
        assert!(!text.contains(internal), "`{internal}` leaks in {text}");
    }
    assert!(
        reply.body["request_id"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "the id to find it in the logs"
    );
    assert_eq!(
        app.get("/api/v1/posts").await.status,
        200,
        "the rest of the server still answers"
    );
}
