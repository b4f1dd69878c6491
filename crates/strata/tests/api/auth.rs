//! Authentication over HTTP (SPEC §6, §14): registration, sign-in, token pairs, refresh rotation, logout, the
//! current principal, admins, and every forged or malformed credential.

use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, BLOG, TestApp, spawn_app_configured};
use crate::on_backends;

on_backends!(
    register_answers_the_user_and_a_token_pair,
    register_refuses_bad_input_and_taken_emails,
    login_fails_alike_for_unknown_emails_and_wrong_passwords,
    repeated_failures_are_throttled_per_account_and_address,
    the_access_token_identifies_the_caller,
    refresh_rotates_and_a_replayed_token_revokes_the_family,
    logout_ends_the_session_at_once,
);

pub async fn login(app: &TestApp, email: &str, password: &str) -> crate::helpers::Reply {
    app.post(
        "/api/v1/auth/login",
        &json!({"email": email, "password": password}),
    )
    .await
}

async fn register_answers_the_user_and_a_token_pair(app: TestApp) {
    let reply = app
        .post(
            "/api/v1/auth/register",
            &json!({"email": " Ada@Example.com ", "password": "correct horse"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let data = &reply.body["data"];
    assert_eq!(data["token_type"], "Bearer");
    assert_eq!(data["expires_in"], 900);
    assert_eq!(data["user"]["email"], "ada@example.com");
    assert_eq!(data["user"]["verified"], false);
    assert_eq!(data["user"]["roles"], json!([]));
    assert!(data["user"].get("password").is_none() && !reply.body.to_string().contains("argon2"));
    assert!(
        data["refresh_token"]
            .as_str()
            .is_some_and(|t| t.len() >= 43)
    );
    let token = data["access_token"].as_str().unwrap();
    let header: Value = decode_part(token, 0);
    assert_eq!(header["alg"], "EdDSA");
    assert!(header["kid"].is_string());
    let claims: Value = decode_part(token, 1);
    assert_eq!(claims["aud"], "strata");
    assert_eq!(claims["sub"], data["user"]["id"]);
    assert_eq!(claims["kind"], "user");
    for claim in ["iss", "exp", "iat", "jti", "sid"] {
        assert!(!claims[claim].is_null(), "{claim} in {claims}");
    }
    let jwks = app.get("/.well-known/jwks.json").await;
    let keys = jwks.body["keys"].as_array().expect("keys");
    assert!(
        keys.iter()
            .any(|k| k["kid"] == header["kid"] && k["kty"] == "OKP" && k["crv"] == "Ed25519")
    );
    assert!(
        !jwks.body.to_string().contains("\"d\""),
        "no private part in the JWKS"
    );
    let events = app.outbox().await;
    assert_eq!(
        events.last().unwrap()["source"],
        "/api/v1/users",
        "a registration is a users record with its event"
    );
    assert!(!events.last().unwrap().to_string().contains("argon2"));
}

pub fn decode_part(token: &str, index: usize) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(index).expect("a JWT part");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .expect("base64url"),
    )
    .expect("json")
}

async fn register_refuses_bad_input_and_taken_emails(app: TestApp) {
    app.register("taken@example.com").await;
    let taken = app
        .post(
            "/api/v1/auth/register",
            &json!({"email": "TAKEN@example.com", "password": "another one"}),
        )
        .await;
    assert_eq!(taken.status, 409);
    assert_eq!(taken.code(), "account_exists");
    for (body, path, code) in [
        (
            json!({"email": "a@example.com", "password": "short"}),
            "/password",
            "too_short",
        ),
        (
            json!({"email": "a@example.com", "password": "x".repeat(257)}),
            "/password",
            "too_long",
        ),
        (json!({"email": "a@example.com"}), "/password", "required"),
        (
            json!({"email": "a@example.com", "password": 12345678}),
            "/password",
            "wrong_type",
        ),
        (
            json!({"email": "not-an-email", "password": "long enough"}),
            "/email",
            "invalid_format",
        ),
        (json!({"password": "long enough"}), "/email", "required"),
        (
            json!({"email": "a@example.com", "password": "long enough", "roles": ["admin"]}),
            "/roles",
            "read_only",
        ),
        (
            json!({"email": "a@example.com", "password": "long enough", "verified": true}),
            "/verified",
            "read_only",
        ),
        (
            json!({"email": "a@example.com", "password": "long enough", "nick": "x"}),
            "/nick",
            "unknown_field",
        ),
    ] {
        let reply = app.post("/api/v1/auth/register", &body).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        assert_eq!(reply.body["errors"][0]["path"], path, "{body}");
        assert_eq!(
            reply.body["errors"][0]["code"], code,
            "{body}: {}",
            reply.body
        );
    }
    assert_eq!(
        login(&app, "a@example.com", "long enough").await.status,
        401,
        "nothing was created"
    );
}

async fn login_fails_alike_for_unknown_emails_and_wrong_passwords(app: TestApp) {
    let registered = app.register("ada@example.com").await;
    let ok = login(&app, "ADA@example.com", "correct horse").await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["data"]["user"]["id"], registered["user"]["id"]);
    assert_eq!(ok.header("cache-control"), Some("no-store"));
    let wrong = login(&app, "ada@example.com", "wrong horse").await;
    let unknown = login(&app, "nobody@example.com", "correct horse").await;
    for reply in [&wrong, &unknown] {
        assert_eq!(reply.status, 401);
        assert_eq!(reply.code(), "invalid_credentials");
    }
    assert_eq!(
        wrong.body["detail"], unknown.body["detail"],
        "no user enumeration"
    );
    let admin_as_user = login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(admin_as_user.status, 401, "admins are not users");
}

async fn repeated_failures_are_throttled_per_account_and_address(app: TestApp) {
    app.register("ada@example.com").await;
    for _ in 0..10 {
        assert_eq!(
            login(&app, "ada@example.com", "wrong horse").await.status,
            401
        );
    }
    let throttled = login(&app, "ada@example.com", "correct horse").await;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.code(), "rate_limited");
    assert!(
        throttled
            .header("retry-after")
            .and_then(|s| s.parse::<u64>().ok())
            .is_some_and(|s| s > 0)
    );
    // Another account from the same address is not affected, nor admin sign-in.
    app.register("bob@example.com").await;
    assert_eq!(
        login(&app, "bob@example.com", "correct horse").await.status,
        200
    );
    let admin = app
        .post(
            "/api/v1/admin/auth/login",
            &json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(admin.status, 200);
}

async fn the_access_token_identifies_the_caller(app: TestApp) {
    let signed = app.register("ada@example.com").await;
    let token = signed["access_token"].as_str().unwrap();
    let me = app
        .send_as(token, app.client.get(app.url("/api/v1/auth/me")))
        .await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["data"]["kind"], "user");
    assert_eq!(me.body["data"]["id"], signed["user"]["id"]);
    assert_eq!(me.body["data"]["email"], "ada@example.com");
    assert_eq!(me.body["data"]["roles"], json!([]));
    assert_eq!(me.body["data"]["user"]["email"], "ada@example.com");
    let anonymous = app.get("/api/v1/auth/me").await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.code(), "unauthenticated");
}

async fn refresh_rotates_and_a_replayed_token_revokes_the_family(app: TestApp) {
    // This server forgives no replay: the reuse interval is zero.
    let Some(app) = spawn_app_configured(app.backend, BLOG, |s| {
        s.auth.refresh_reuse_interval = std::time::Duration::ZERO
    })
    .await
    else {
        return;
    };
    let signed = app.register("ada@example.com").await;
    let first = signed["refresh_token"].as_str().unwrap().to_owned();
    let rotated = app
        .post("/api/v1/auth/refresh", &json!({"refresh_token": first}))
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let second = rotated.body["data"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let access = rotated.body["data"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(second, first);
    assert_eq!(
        decode_part(&access, 1)["sid"],
        decode_part(signed["access_token"].as_str().unwrap(), 1)["sid"]
    );
    assert_eq!(
        app.send_as(&access, app.client.get(app.url("/api/v1/auth/me")))
            .await
            .status,
        200
    );

    // The first token again: someone holds a copy. The whole family ends.
    let replay = app
        .post("/api/v1/auth/refresh", &json!({"refresh_token": first}))
        .await;
    assert_eq!(replay.status, 401);
    assert_eq!(replay.code(), "invalid_token");
    assert_eq!(
        app.post("/api/v1/auth/refresh", &json!({"refresh_token": second}))
            .await
            .status,
        401
    );
    assert_eq!(
        app.send_as(&access, app.client.get(app.url("/api/v1/auth/me")))
            .await
            .status,
        401
    );
    assert_eq!(
        app.post(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": "nonsense"})
        )
        .await
        .status,
        401
    );
    assert_eq!(
        app.post("/api/v1/auth/refresh", &json!({})).await.status,
        400
    );
}

async fn logout_ends_the_session_at_once(app: TestApp) {
    let signed = app.register("ada@example.com").await;
    let token = signed["access_token"].as_str().unwrap();
    let other = login(&app, "ada@example.com", "correct horse").await.body["data"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = app
        .send_as(token, app.client.post(app.url("/api/v1/auth/logout")))
        .await;
    assert_eq!(out.status, 204);
    let after = app
        .send_as(token, app.client.get(app.url("/api/v1/auth/me")))
        .await;
    assert_eq!(after.status, 401);
    assert_eq!(after.code(), "invalid_token");
    let refresh = app
        .post(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": signed["refresh_token"]}),
        )
        .await;
    assert_eq!(refresh.status, 401, "the refresh family is revoked");
    assert_eq!(
        app.send_as(&other, app.client.get(app.url("/api/v1/auth/me")))
            .await
            .status,
        200,
        "other sessions live on"
    );
    assert_eq!(
        app.post("/api/v1/auth/logout", &json!({})).await.status,
        401
    );
}
