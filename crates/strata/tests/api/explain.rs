//! `POST /api/v1/admin/authz/explain` (SPEC §7, §14): which grant or rule allowed or denied an action, and the
//! SQL it compiled to.

use serde_json::{Value, json};

use crate::authz::{admin_token, post_as, user};
use crate::authz_tests;
use crate::helpers::TestApp;

authz_tests!(explain_names_the_rule_that_decided);

async fn explain_names_the_rule_that_decided(app: TestApp) {
    let alice = user(&app, "alice@example.com").await;
    let bob = user(&app, "bob@example.com").await;
    let carol = user(&app, "carol@example.com").await;
    let admin = admin_token(&app).await;
    app.send_as(
        &admin,
        app.client
            .patch(app.url(&format!("/api/v1/users/{}", carol.id)))
            .json(&json!({"roles": ["editor"]})),
    )
    .await;
    let draft = post_as(&app, &alice, json!({"title": "draft", "author": alice.id})).await;
    let explain = |principal: Value, action: &str, extra: Value| {
        let mut body = json!({"principal": principal, "collection": "posts", "action": action});
        if let Value::Object(extra) = extra {
            body.as_object_mut().unwrap().extend(extra);
        }
        let request = app
            .client
            .post(app.url("/api/v1/admin/authz/explain"))
            .json(&body);
        app.send_as(&admin, request)
    };
    let record = json!({"record_id": draft["id"]});

    let as_bob = explain(json!({"id": bob.id}), "view", record.clone()).await;
    assert_eq!(as_bob.status, 200, "{}", as_bob.body);
    assert_eq!(as_bob.body["data"]["allowed"], false);
    assert!(
        as_bob.body["data"]["by"]
            .as_str()
            .unwrap()
            .contains("collections.posts.rules.view")
    );
    let sql = as_bob.body["data"]["sql"].as_str().unwrap();
    assert!(sql.contains("status") && sql.contains("author"), "{sql}");

    let as_alice = explain(json!({"id": alice.id}), "view", record.clone()).await;
    assert_eq!(as_alice.body["data"]["allowed"], true);
    let as_carol = explain(json!({"id": carol.id}), "update", record.clone()).await;
    assert_eq!(as_carol.body["data"]["allowed"], true);
    assert!(
        as_carol.body["data"]["by"]
            .as_str()
            .unwrap()
            .starts_with("roles.editor.posts.update"),
        "{}",
        as_carol.body
    );
    let anonymous = explain(
        json!({"anonymous": true}),
        "create",
        json!({"data": {"title": "t", "author": alice.id}}),
    )
    .await;
    assert_eq!(
        anonymous.body["data"]["allowed"], false,
        "{}",
        anonymous.body
    );
    let own = explain(
        json!({"id": alice.id}),
        "create",
        json!({"data": {"title": "t", "author": alice.id}}),
    )
    .await;
    assert_eq!(own.body["data"]["allowed"], true, "{}", own.body);
    let locked = app
        .send_as(&admin, app.client.post(app.url("/api/v1/admin/authz/explain")).json(&json!({"principal": {"id": bob.id}, "collection": "comments", "action": "update"})))
        .await;
    assert_eq!(locked.body["data"]["allowed"], false);
    assert!(
        locked.body["data"]["by"]
            .as_str()
            .unwrap()
            .contains("admins only")
    );

    // An API key: its owner's rights, narrowed by its scopes.
    let key = app
        .send_as(
            &bob.token,
            app.client
                .post(app.url("/api/v1/auth/api-keys"))
                .json(&json!({"name": "k", "scopes": {"posts": ["view"]}})),
        )
        .await;
    assert_eq!(key.status, 201, "{}", key.body);
    let key_id = key.body["data"]["id"].clone();
    let by_key = explain(json!({"api_key_id": key_id}), "view", record.clone()).await;
    assert_eq!(by_key.status, 200, "{}", by_key.body);
    assert_eq!(
        by_key.body["data"]["allowed"], false,
        "bob may not view alice's draft, nor may his key"
    );
    let out_of_scope = explain(json!({"api_key_id": key_id}), "update", record.clone()).await;
    assert_eq!(out_of_scope.body["data"]["allowed"], false);
    assert!(
        out_of_scope.body["data"]["by"]
            .as_str()
            .unwrap()
            .contains("scopes"),
        "{}",
        out_of_scope.body
    );
    let unknown = explain(
        json!({"api_key_id": uuid::Uuid::now_v7()}),
        "view",
        record.clone(),
    )
    .await;
    assert_eq!(unknown.status, 404);

    let not_admin = app
        .send_as(
            &bob.token,
            app.client
                .post(app.url("/api/v1/admin/authz/explain"))
                .json(
                    &json!({"principal": {"id": bob.id}, "collection": "posts", "action": "view"}),
                ),
        )
        .await;
    assert_eq!(not_admin.status, 403);
    let bad = app
        .send_as(
            &admin,
            app.client
                .post(app.url("/api/v1/admin/authz/explain"))
                .json(&json!({"principal": {}, "collection": "posts"})),
        )
        .await;
    assert_eq!(bad.status, 400);
}
