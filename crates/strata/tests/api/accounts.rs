//! Admins and users as callers (SPEC §6, §14): admins bypass rules and write what users may not; users see
//! only their own `users` record and may not change their roles.

use serde_json::json;

use crate::auth::decode_part;
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp};
use crate::on_backends;

on_backends!(
    admins_bypass_rules_and_users_meet_them,
    users_see_only_their_own_record
);

async fn admins_bypass_rules_and_users_meet_them(app: TestApp) {
    let admin = app
        .post(
            "/api/v1/admin/auth/login",
            &json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(admin.status, 200, "{}", admin.body);
    assert_eq!(admin.body["data"]["admin"]["email"], ADMIN_EMAIL);
    assert!(admin.body["data"].get("user").is_none());
    let admin_token = admin.body["data"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(decode_part(&admin_token, 1)["kind"], "admin");
    let wrong = app
        .post(
            "/api/v1/admin/auth/login",
            &json!({"email": ADMIN_EMAIL, "password": "nope nope"}),
        )
        .await;
    assert_eq!(wrong.code(), "invalid_credentials");

    // `vault` has no rules: admins only.
    let created = app
        .send_as(
            &admin_token,
            app.client
                .post(app.url("/api/v1/vault"))
                .json(&json!({"note": "secret"})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.send_as(
            &admin_token,
            app.client.get(app.url(&format!("/api/v1/vault/{id}")))
        )
        .await
        .status,
        200
    );
    let user_token = app.register("ada@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let denied = app
        .send_as(&user_token, app.client.get(app.url("/api/v1/vault")))
        .await;
    assert_eq!(
        denied.status, 403,
        "a signed-in user meets a locked action with 403"
    );
    assert_eq!(denied.code(), "forbidden");
    assert_eq!(app.get("/api/v1/vault").await.status, 401);
    let me = app
        .send_as(&admin_token, app.client.get(app.url("/api/v1/auth/me")))
        .await;
    assert_eq!(me.body["data"]["kind"], "admin");
    // Admins see hidden fields in filters but never in bodies.
    let post = app.create("posts", json!({"title": "a"})).await;
    let patched = app
        .send_as(
            &admin_token,
            app.client
                .patch(app.url(&format!("/api/v1/posts/{}", post["id"].as_str().unwrap())))
                .json(&json!({"secret": "s", "rank": 3})),
        )
        .await;
    assert_eq!(
        patched.status, 200,
        "admins may write hidden and read-only fields: {}",
        patched.body
    );
    assert_eq!(patched.body["data"]["rank"], 3);
    assert!(patched.body["data"].get("secret").is_none());
}

async fn users_see_only_their_own_record(app: TestApp) {
    let ada = app.register("ada@example.com").await;
    let bob = app.register("bob@example.com").await;
    let ada_token = ada["access_token"].as_str().unwrap();
    let own = app
        .send_as(
            ada_token,
            app.client.get(app.url(&format!(
                "/api/v1/users/{}",
                ada["user"]["id"].as_str().unwrap()
            ))),
        )
        .await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(own.body["data"]["email"], "ada@example.com");
    let other = app
        .send_as(
            ada_token,
            app.client.get(app.url(&format!(
                "/api/v1/users/{}",
                bob["user"]["id"].as_str().unwrap()
            ))),
        )
        .await;
    assert_eq!(other.status, 404, "another user's record is invisible");
    let list = app
        .send_as(ada_token, app.client.get(app.url("/api/v1/users")))
        .await;
    assert_eq!(list.status, 403, "listing users is for admins");
    let create = app
        .send_as(
            ada_token,
            app.client
                .post(app.url("/api/v1/users"))
                .json(&json!({"email": "c@example.com"})),
        )
        .await;
    assert_eq!(create.status, 403);
    let promote = app
        .send_as(
            ada_token,
            app.client
                .patch(app.url(&format!(
                    "/api/v1/users/{}",
                    ada["user"]["id"].as_str().unwrap()
                )))
                .json(&json!({"roles": ["moderator"]})),
        )
        .await;
    assert_eq!(promote.status, 400, "roles are read-only to users");
    assert_eq!(promote.body["errors"][0]["code"], "read_only");
}
