//! Authorization over HTTP (SPEC §7, §14): rules in every query, 404 for what the caller may not view, 403 for
//! what it may view but not change, role grants, field read rules and relation visibility.

use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp};

pub const AUTHZ: &str = r#"
[roles.editor]
posts = { list = "true", view = "true", update = "status = 'draft'" }

[roles.moderator]
comments = { delete = "true" }

[collections.users]
fields.name = { type = "text", max_length = 50 }

[collections.posts]
fields.title  = { type = "text", required = true, max_length = 100 }
fields.status = { type = "select", options = ["draft", "published"], default = "draft" }
fields.author = { type = "relation", collection = "users", required = true }
fields.notes  = { type = "text", read = "author = @auth.id" }
rules.list   = "status = 'published' || author = @auth.id"
rules.view   = "status = 'published' || author = @auth.id"
rules.create = "@auth.id != null && @data.author = @auth.id"
rules.update = "author = @auth.id && @data.author = @auth.id"
rules.delete = "author = @auth.id"

[collections.comments]
fields.post = { type = "relation", collection = "posts", required = true, on_delete = "cascade" }
fields.body = { type = "text", required = true }
rules.list   = "true"
rules.view   = "true"
rules.create = "@auth.id != null"
rules.delete = "false"
"#;

/// A signed-in user: id and token.
pub struct User {
    pub id: String,
    pub token: String,
}

pub async fn user(app: &TestApp, email: &str) -> User {
    let signed = app.register(email).await;
    User {
        id: signed["user"]["id"].as_str().unwrap().to_owned(),
        token: signed["access_token"].as_str().unwrap().to_owned(),
    }
}

pub async fn admin_token(app: &TestApp) -> String {
    let reply = app
        .post(
            "/api/v1/admin/auth/login",
            &json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
        )
        .await;
    reply.body["data"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub async fn post_as(app: &TestApp, who: &User, body: Value) -> Value {
    let reply = app
        .send_as(
            &who.token,
            app.client.post(app.url("/api/v1/posts")).json(&body),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["data"].clone()
}

fn ids(body: &Value) -> Vec<&str> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect()
}

#[macro_export]
macro_rules! authz_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use $crate::helpers::{Backend, spawn_app_with};

                async fn run(backend: Backend) {
                    if let Some(app) = spawn_app_with(backend, $crate::authz::AUTHZ).await {
                        super::$name(app).await;
                    }
                }

                #[tokio::test]
                async fn sqlite() { run(Backend::Sqlite).await }

                #[tokio::test]
                async fn postgres() { run(Backend::Postgres).await }

                #[tokio::test]
                async fn mysql() { run(Backend::Mysql).await }
            }
        )*
    };
}

authz_tests!(
    rules_hold_on_every_endpoint,
    role_grants_widen_what_a_user_may_do,
);

async fn rules_hold_on_every_endpoint(app: TestApp) {
    let alice = user(&app, "alice@example.com").await;
    let bob = user(&app, "bob@example.com").await;
    let draft = post_as(&app, &alice, json!({"title": "draft", "author": alice.id})).await;
    let published = post_as(
        &app,
        &alice,
        json!({"title": "pub", "status": "published", "author": alice.id}),
    )
    .await;
    let (draft_path, published_path) = (
        format!("/api/v1/posts/{}", draft["id"].as_str().unwrap()),
        format!("/api/v1/posts/{}", published["id"].as_str().unwrap()),
    );

    let listed = app
        .send_as(
            &bob.token,
            app.client.get(app.url("/api/v1/posts?count=true")),
        )
        .await;
    assert_eq!(
        ids(&listed.body),
        vec![published["id"].as_str().unwrap()],
        "bob lists the published post only"
    );
    assert_eq!(listed.body["total"], 1, "count counts only visible rows");
    let anonymous = app.get("/api/v1/posts?count=true").await;
    assert_eq!(anonymous.body["total"], 1);
    assert_eq!(
        app.send_as(
            &alice.token,
            app.client.get(app.url("/api/v1/posts?count=true"))
        )
        .await
        .body["total"],
        2
    );

    assert_eq!(
        app.send_as(&bob.token, app.client.get(app.url(&draft_path)))
            .await
            .status,
        404
    );
    assert_eq!(
        app.send_as(&bob.token, app.client.get(app.url(&published_path)))
            .await
            .status,
        200
    );
    let patch_hidden = app
        .send_as(
            &bob.token,
            app.client
                .patch(app.url(&draft_path))
                .json(&json!({"title": "x"})),
        )
        .await;
    assert_eq!(
        patch_hidden.status, 404,
        "a record bob may not view is 404 on every endpoint"
    );
    let patch_visible = app
        .send_as(
            &bob.token,
            app.client
                .patch(app.url(&published_path))
                .json(&json!({"title": "x"})),
        )
        .await;
    assert_eq!(patch_visible.status, 403, "visible but not his: 403");
    assert_eq!(patch_visible.code(), "forbidden");
    assert_eq!(
        app.send_as(&bob.token, app.client.delete(app.url(&draft_path)))
            .await
            .status,
        404
    );
    assert_eq!(
        app.send_as(&bob.token, app.client.delete(app.url(&published_path)))
            .await
            .status,
        403
    );
    let anonymous_patch = app.patch(&published_path, &json!({"title": "x"})).await;
    assert_eq!(
        anonymous_patch.status, 401,
        "a rule failing for an anonymous caller is 401"
    );

    // Create rules see the data with defaults applied.
    let forged = app
        .send_as(
            &bob.token,
            app.client
                .post(app.url("/api/v1/posts"))
                .json(&json!({"title": "t", "author": alice.id})),
        )
        .await;
    assert_eq!(forged.status, 403, "bob may not create posts as alice");
    let anon = app
        .post("/api/v1/posts", &json!({"title": "t", "author": alice.id}))
        .await;
    assert_eq!(anon.status, 401);
    // Update rules see the stored row and the result: alice may not give her post away.
    let give = app
        .send_as(
            &alice.token,
            app.client
                .patch(app.url(&draft_path))
                .json(&json!({"author": bob.id})),
        )
        .await;
    assert_eq!(give.status, 403, "{}", give.body);

    // Batches and expansions obey the same rules.
    let batch = app
        .send_as(&bob.token, app.client.post(app.url("/api/v1/batch")).json(&json!({"requests": [
            {"method": "PATCH", "path": format!("/posts/{}", published["id"].as_str().unwrap()), "body": {"title": "x"}}
        ]})))
        .await;
    assert_eq!(batch.status, 403);
    assert_eq!(batch.body["failed_index"], 0);
    let comment = app
        .send_as(
            &alice.token,
            app.client
                .post(app.url("/api/v1/comments"))
                .json(&json!({"post": draft["id"], "body": "mine"})),
        )
        .await;
    assert_eq!(comment.status, 201, "{}", comment.body);
    let expanded = app
        .send_as(
            &bob.token,
            app.client.get(app.url(&format!(
                "/api/v1/comments/{}?expand=post",
                comment.body["data"]["id"].as_str().unwrap()
            ))),
        )
        .await;
    assert_eq!(expanded.status, 200);
    assert!(
        expanded.body["data"].get("expand").is_none(),
        "bob may not view the draft, so it is not expanded"
    );
    assert!(
        !expanded.body.to_string().contains("draft\""),
        "{}",
        expanded.body
    );
    let as_alice = app
        .send_as(
            &alice.token,
            app.client.get(app.url(&format!(
                "/api/v1/comments/{}?expand=post",
                comment.body["data"]["id"].as_str().unwrap()
            ))),
        )
        .await;
    assert_eq!(as_alice.body["data"]["expand"]["post"]["title"], "draft");
    // `delete = "false"` locks deletes even for the author of the comment.
    let delete_comment = app
        .send_as(
            &alice.token,
            app.client.delete(app.url(&format!(
                "/api/v1/comments/{}",
                comment.body["data"]["id"].as_str().unwrap()
            ))),
        )
        .await;
    assert_eq!(delete_comment.status, 403);
}

async fn role_grants_widen_what_a_user_may_do(app: TestApp) {
    let alice = user(&app, "alice@example.com").await;
    let carol = user(&app, "carol@example.com").await;
    let draft = post_as(&app, &alice, json!({"title": "draft", "author": alice.id})).await;
    let published = post_as(
        &app,
        &alice,
        json!({"title": "pub", "status": "published", "author": alice.id}),
    )
    .await;
    let admin = admin_token(&app).await;
    let carol_path = format!("/api/v1/users/{}", carol.id);

    let undeclared = app
        .send_as(
            &admin,
            app.client
                .patch(app.url(&carol_path))
                .json(&json!({"roles": ["overlord"]})),
        )
        .await;
    assert_eq!(undeclared.status, 400, "{}", undeclared.body);
    assert_eq!(undeclared.body["errors"][0]["code"], "json_schema");
    let before = app
        .send_as(
            &carol.token,
            app.client.get(app.url("/api/v1/posts?count=true")),
        )
        .await;
    assert_eq!(before.body["total"], 1);

    let promoted = app
        .send_as(
            &admin,
            app.client
                .patch(app.url(&carol_path))
                .json(&json!({"roles": ["editor"]})),
        )
        .await;
    assert_eq!(promoted.status, 200, "{}", promoted.body);
    // At once on this instance: her cached principal is refreshed.
    let me = app
        .send_as(&carol.token, app.client.get(app.url("/api/v1/auth/me")))
        .await;
    assert_eq!(me.body["data"]["roles"], json!(["editor"]));
    let after = app
        .send_as(
            &carol.token,
            app.client.get(app.url("/api/v1/posts?count=true")),
        )
        .await;
    assert_eq!(after.body["total"], 2, "the editor grant lists drafts too");
    let edit_draft = app
        .send_as(
            &carol.token,
            app.client
                .patch(app.url(&format!("/api/v1/posts/{}", draft["id"].as_str().unwrap())))
                .json(&json!({"title": "edited"})),
        )
        .await;
    assert_eq!(edit_draft.status, 200, "{}", edit_draft.body);
    let edit_published = app
        .send_as(
            &carol.token,
            app.client
                .patch(app.url(&format!(
                    "/api/v1/posts/{}",
                    published["id"].as_str().unwrap()
                )))
                .json(&json!({"title": "edited"})),
        )
        .await;
    assert_eq!(edit_published.status, 403, "the grant covers drafts only");

    let demoted = app
        .send_as(
            &admin,
            app.client
                .patch(app.url(&carol_path))
                .json(&json!({"roles": []})),
        )
        .await;
    assert_eq!(demoted.status, 200);
    assert_eq!(
        app.send_as(
            &carol.token,
            app.client.get(app.url("/api/v1/posts?count=true"))
        )
        .await
        .body["total"],
        1
    );
}
