//! API key scopes and creation input (SPEC §7, §14): scopes narrow the owner's rights and never widen them, keys
//! never bypass rules, `@auth.kind` is `api_key`, and every bad creation body is refused with its problems.

use serde_json::{Value, json};

use crate::api_keys::{create_key, list_keys, post, user_token};
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, spawn_app_with};
use crate::on_backends;

on_backends!(
    scopes_narrow_the_owner_s_rights_and_never_widen_them,
    bad_key_requests_are_refused_with_every_problem,
);

const NOTES: &str = r#"
[collections.notes]
fields.owner = { type = "relation", collection = "users", required = true }
fields.text  = { type = "text" }
rules.list   = "owner = @auth.id"
rules.view   = "owner = @auth.id"
rules.create = "@data.owner = @auth.id && @auth.kind = 'api_key'"

[collections.vault]
fields.note = { type = "text" }

[collections.posts]
fields.title = { type = "text" }
rules.list   = "true"
rules.view   = "true"
rules.create = "true"
"#;

async fn scopes_narrow_the_owner_s_rights_and_never_widen_them(app: TestApp) {
    let Some(app) = spawn_app_with(app.backend, NOTES).await else {
        return;
    };
    let ada = app.register("ada@example.com").await;
    let ada_id = ada["user"]["id"].clone();
    let token = ada["access_token"].as_str().unwrap();
    let all = create_key(&app, token, json!({"name": "all"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let note = json!({"owner": ada_id, "text": "hi"});
    assert_eq!(
        post(&app, token, "/api/v1/notes", &note).await.status,
        403,
        "the rule wants @auth.kind = 'api_key'"
    );
    let created = post(&app, &all, "/api/v1/notes", &note).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let listed = app
        .send_as(&all, app.client.get(app.url("/api/v1/notes")))
        .await;
    assert_eq!(listed.body["data"].as_array().map(Vec::len), Some(1));
    let vault = app
        .send_as(&all, app.client.get(app.url("/api/v1/vault")))
        .await;
    assert_eq!(vault.status, 403, "a key never bypasses rules");

    let scoped = create_key(
        &app,
        token,
        json!({"name": "read posts", "scopes": {"posts": ["list", "view"], "vault": ["list"]}}),
    )
    .await;
    assert_eq!(
        scoped["scopes"],
        json!({"posts": ["list", "view"], "vault": ["list"]})
    );
    let scoped = scoped["key"].as_str().unwrap();
    let get = |path: &str| app.send_as(scoped, app.client.get(app.url(path)));
    assert_eq!(get("/api/v1/posts").await.status, 200);
    let outside = post(&app, scoped, "/api/v1/posts", &json!({"title": "x"})).await;
    assert_eq!(outside.status, 403, "create is outside its scopes");
    assert_eq!(outside.code(), "forbidden");
    assert_eq!(
        post(&app, scoped, "/api/v1/notes", &note).await.status,
        403,
        "notes are outside its scopes"
    );
    assert_eq!(get("/api/v1/notes").await.status, 403);
    assert_eq!(
        get("/api/v1/vault").await.status,
        403,
        "scopes never widen the owner's rights"
    );
}

async fn bad_key_requests_are_refused_with_every_problem(app: TestApp) {
    let token = user_token(&app, "ada@example.com").await;
    let create = |body: Value| {
        app.send_as(
            &token,
            app.client
                .post(app.url("/api/v1/auth/api-keys"))
                .json(&body),
        )
    };
    let past = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    for (body, path, code) in [
        (json!({}), "/name", "required"),
        (json!({"name": 7}), "/name", "wrong_type"),
        (json!({"name": "x".repeat(101)}), "/name", "too_long"),
        (
            json!({"name": "k", "scopes": {"nope": ["list"]}}),
            "/scopes/nope",
            "invalid_option",
        ),
        (
            json!({"name": "k", "scopes": {"posts": ["drop"]}}),
            "/scopes/posts/0",
            "invalid_option",
        ),
        (
            json!({"name": "k", "scopes": {"posts": "list"}}),
            "/scopes/posts",
            "wrong_type",
        ),
        (
            json!({"name": "k", "scopes": ["posts"]}),
            "/scopes",
            "wrong_type",
        ),
        (
            json!({"name": "k", "expires_at": past}),
            "/expires_at",
            "out_of_range",
        ),
        (
            json!({"name": "k", "expires_at": "soon"}),
            "/expires_at",
            "invalid_format",
        ),
        (
            json!({"name": "k", "owner": "someone"}),
            "/owner",
            "unknown_field",
        ),
    ] {
        let reply = create(body.clone()).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        assert_eq!(reply.code(), "validation_failed");
        assert_eq!(reply.body["errors"][0]["path"], path, "{body}");
        assert_eq!(reply.body["errors"][0]["code"], code, "{body}");
    }
    assert_eq!(list_keys(&app, &token).await.body["data"], json!([]));
    let anonymous = app
        .post("/api/v1/auth/api-keys", &json!({"name": "k"}))
        .await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(app.get("/api/v1/auth/api-keys").await.status, 401);
    let admin = app
        .post(
            "/api/v1/admin/auth/login",
            &json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
        )
        .await;
    let admin = admin.body["data"]["access_token"].as_str().unwrap();
    let by_admin = app
        .send_as(
            admin,
            app.client
                .post(app.url("/api/v1/auth/api-keys"))
                .json(&json!({"name": "k"})),
        )
        .await;
    assert_eq!(
        by_admin.status, 403,
        "keys belong to users: {}",
        by_admin.body
    );
}
