//! Field read rules and relation visibility (SPEC §7, §14): a field its read rule hides is absent and cannot be
//! probed by filter or sort, and a relation may point only at a record its writer may view.

use serde_json::json;

use crate::authz::{admin_token, post_as, user};
use crate::authz_tests;
use crate::helpers::TestApp;

authz_tests!(
    read_rules_hide_fields_and_cannot_be_probed,
    relations_may_point_only_at_visible_records
);

async fn read_rules_hide_fields_and_cannot_be_probed(app: TestApp) {
    let alice = user(&app, "alice@example.com").await;
    let bob = user(&app, "bob@example.com").await;
    let post = post_as(
        &app,
        &alice,
        json!({"title": "pub", "status": "published", "author": alice.id, "notes": "secret"}),
    )
    .await;
    let path = format!("/api/v1/posts/{}", post["id"].as_str().unwrap());
    assert_eq!(
        app.send_as(&alice.token, app.client.get(app.url(&path)))
            .await
            .body["data"]["notes"],
        "secret"
    );
    let as_bob = app
        .send_as(&bob.token, app.client.get(app.url(&path)))
        .await;
    assert!(
        as_bob.body["data"].get("notes").is_none(),
        "{}",
        as_bob.body
    );
    let listed = app
        .send_as(
            &bob.token,
            app.client.get(app.url("/api/v1/posts?fields=id,notes")),
        )
        .await;
    assert_eq!(listed.body["data"][0], json!({"id": post["id"]}));
    assert!(!listed.body.to_string().contains("secret"));
    for query in [
        vec![("filter", "notes = 'secret'")],
        vec![("filter", "notes ~ 's'")],
        vec![("sort", "notes")],
    ] {
        let reply = app
            .send_as(
                &bob.token,
                app.client.get(app.url("/api/v1/posts")).query(&query),
            )
            .await;
        assert_eq!(
            reply.status, 400,
            "{query:?}: a read rule cannot be probed: {}",
            reply.body
        );
    }
    // Through a relation into users, whom bob may not all view.
    let through = app
        .send_as(
            &bob.token,
            app.client
                .get(app.url("/api/v1/posts"))
                .query(&[("filter", "author.name = 'x'")]),
        )
        .await;
    assert_eq!(through.code(), "invalid_filter");
    // Other users' emails stay private.
    let admin = admin_token(&app).await;
    let users = app
        .send_as(&admin, app.client.get(app.url("/api/v1/users")))
        .await;
    assert_eq!(users.status, 200);
    assert_eq!(
        users.body["data"].as_array().map(Vec::len),
        Some(2),
        "admins list users"
    );
    assert!(
        users.body.to_string().contains("alice@example.com"),
        "admins read every field"
    );
}

async fn relations_may_point_only_at_visible_records(app: TestApp) {
    let alice = user(&app, "alice@example.com").await;
    let bob = user(&app, "bob@example.com").await;
    let draft = post_as(&app, &alice, json!({"title": "draft", "author": alice.id})).await;
    let published = post_as(
        &app,
        &alice,
        json!({"title": "pub", "status": "published", "author": alice.id}),
    )
    .await;
    let hidden = app
        .send_as(
            &bob.token,
            app.client
                .post(app.url("/api/v1/comments"))
                .json(&json!({"post": draft["id"], "body": "hi"})),
        )
        .await;
    assert_eq!(hidden.status, 400, "{}", hidden.body);
    assert_eq!(hidden.body["errors"][0]["code"], "invalid_relation");
    let missing = app
        .send_as(
            &bob.token,
            app.client
                .post(app.url("/api/v1/comments"))
                .json(&json!({"post": uuid::Uuid::now_v7(), "body": "hi"})),
        )
        .await;
    assert_eq!(missing.status, 400);
    assert_eq!(
        missing.body["errors"][0]["code"], "invalid_relation",
        "the same answer as for a missing record"
    );
    assert_eq!(missing.body["detail"], hidden.body["detail"]);
    let visible = app
        .send_as(
            &bob.token,
            app.client
                .post(app.url("/api/v1/comments"))
                .json(&json!({"post": published["id"], "body": "hi"})),
        )
        .await;
    assert_eq!(visible.status, 201);
}
