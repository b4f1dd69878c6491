//! Filters a client gets wrong or turns hostile (SPEC §7, §14): 400 `invalid_filter` with the position of the
//! fault, and neither injection nor depth nor size reaches the database.

use serde_json::json;

use crate::errors::count_posts;
use crate::helpers::TestApp;
use crate::on_backends;

on_backends!(
    invalid_filters_are_400_with_a_position,
    hostile_filters_are_refused_or_harmless
);

async fn invalid_filters_are_400_with_a_position(app: TestApp) {
    for (filter, position) in [
        ("title = ", 8),
        ("(title = 'a'", 0),
        ("title === 'a'", 6),
        ("nosuch = 1", 0),
    ] {
        let reply = app
            .send(
                app.client
                    .get(app.url("/api/v1/posts"))
                    .query(&[("filter", filter)]),
            )
            .await;
        assert_eq!(reply.status, 400, "{filter}");
        assert_eq!(reply.code(), "invalid_filter", "{filter}");
        let error = &reply.body["errors"][0];
        assert_eq!(error["path"], "/filter");
        assert_eq!(error["code"], "syntax");
        assert_eq!(error["position"], position, "{filter}: {error}");
    }
    let mismatched = app
        .send(
            app.client
                .get(app.url("/api/v1/posts"))
                .query(&[("filter", "views = 'many'")]),
        )
        .await;
    assert_eq!(mismatched.code(), "invalid_filter");
}

async fn hostile_filters_are_refused_or_harmless(app: TestApp) {
    app.create("posts", json!({"title": "safe"})).await;
    let injections = [
        "title = 'x' || 1=1 --",
        "title = ''; DROP TABLE posts; --'",
        "title = 'a' OR '1'='1'",
        "title = '\\' OR 1=1 --'",
    ];
    for filter in injections {
        let reply = app
            .send(
                app.client
                    .get(app.url("/api/v1/posts"))
                    .query(&[("filter", filter)]),
            )
            .await;
        assert!(
            reply.status == 400 || reply.body["data"].as_array().is_some_and(Vec::is_empty),
            "{filter}: {}",
            reply.body
        );
    }
    let quoted = app
        .send(
            app.client
                .get(app.url("/api/v1/posts"))
                .query(&[("filter", "title = 'x'' OR ''1''=''1'")]),
        )
        .await;
    assert!(quoted.status == 400 || quoted.body["data"].as_array().is_some_and(Vec::is_empty));
    let deep = format!("{}title = 'a'{}", "(".repeat(40), ")".repeat(40));
    let reply = app
        .send(
            app.client
                .get(app.url("/api/v1/posts"))
                .query(&[("filter", deep.as_str())]),
        )
        .await;
    assert_eq!(reply.code(), "invalid_filter");
    let huge = format!("title = '{}'", "x".repeat(5000));
    let reply = app
        .send(
            app.client
                .get(app.url("/api/v1/posts"))
                .query(&[("filter", huge.as_str())]),
        )
        .await;
    assert_eq!(reply.code(), "invalid_filter");
    let list = (0..101)
        .map(|i| format!("'{i}'"))
        .collect::<Vec<_>>()
        .join(",");
    let many = format!("title in ({list})");
    let reply = app
        .send(
            app.client
                .get(app.url("/api/v1/posts"))
                .query(&[("filter", many.as_str())]),
        )
        .await;
    assert_eq!(reply.code(), "invalid_filter");
    assert_eq!(count_posts(&app).await, 1, "the table is still there");
}
