//! The OAuth2 token endpoint over HTTP (RFC 6749 §4.3, §4.4, §5, §6; SPEC §6, §14): form bodies in, RFC 6749
//! JSON out (never problem+json), refresh rotation with reuse detection, and `client_credentials` tokens that
//! die with their API key.

use base64::Engine;
use serde_json::{Value, json};

use crate::api_keys::{create_key, second_instance, user_token};
use crate::helpers::{BLOG, Reply, TestApp, spawn_app_configured};
use crate::on_backends;

on_backends!(
    the_password_grant_answers_rfc_6749_json,
    bad_token_requests_get_rfc_6749_errors,
    the_refresh_token_grant_rotates_and_a_replay_revokes_the_family,
    client_credentials_trade_an_api_key_for_a_token_that_dies_with_it,
);

/// `application/x-www-form-urlencoded`, percent-encoding all but unreserved characters.
fn form(pairs: &[(&str, &str)]) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

async fn token(app: &TestApp, pairs: &[(&str, &str)]) -> Reply {
    app.send(
        app.client
            .post(app.url("/api/v1/auth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(pairs)),
    )
    .await
}

fn assert_oauth_error(reply: &Reply, status: u16, error: &str) {
    assert_eq!(reply.status, status, "{error}: {}", reply.body);
    assert_eq!(reply.body["error"], error, "{}", reply.body);
    assert!(reply.body["error_description"].is_string());
    assert!(reply.body.get("code").is_none(), "not problem+json");
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

fn claims(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn me(app: &TestApp, token: &str) -> Reply {
    app.send_as(token, app.client.get(app.url("/api/v1/auth/me")))
        .await
}

async fn the_password_grant_answers_rfc_6749_json(app: TestApp) {
    let ada = app.register("ada@example.com").await;
    let reply = token(
        &app,
        &[
            ("grant_type", "password"),
            ("username", "ada@example.com"),
            ("password", "correct horse"),
            ("client_id", "anything"),
        ],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.header("pragma"), Some("no-cache"));
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["expires_in"], 900);
    assert!(
        reply.body.get("data").is_none(),
        "RFC 6749 §5.1, not enveloped"
    );
    assert!(
        reply.body["refresh_token"]
            .as_str()
            .is_some_and(|t| t.len() >= 43)
    );
    let access = reply.body["access_token"].as_str().unwrap();
    let who = me(&app, access).await;
    assert_eq!(who.body["data"]["id"], ada["user"]["id"]);
    assert_eq!(who.body["data"]["kind"], "user");

    for (name, pairs) in [
        (
            "wrong password",
            vec![
                ("grant_type", "password"),
                ("username", "ada@example.com"),
                ("password", "wrong horse"),
            ],
        ),
        (
            "unknown user",
            vec![
                ("grant_type", "password"),
                ("username", "bob@example.com"),
                ("password", "correct horse"),
            ],
        ),
    ] {
        let reply = token(&app, &pairs).await;
        assert_oauth_error(&reply, 400, "invalid_grant");
        assert!(reply.body["error_description"].is_string(), "{name}");
    }
}

async fn bad_token_requests_get_rfc_6749_errors(app: TestApp) {
    app.register("ada@example.com").await;
    for (name, pairs, error) in [
        (
            "no grant type",
            vec![("username", "ada@example.com")],
            "invalid_request",
        ),
        (
            "no password",
            vec![("grant_type", "password"), ("username", "ada@example.com")],
            "invalid_request",
        ),
        (
            "no username",
            vec![("grant_type", "password"), ("password", "correct horse")],
            "invalid_request",
        ),
        (
            "no refresh token",
            vec![("grant_type", "refresh_token")],
            "invalid_request",
        ),
        (
            "a repeated parameter",
            vec![
                ("grant_type", "password"),
                ("grant_type", "password"),
                ("username", "a"),
                ("password", "b"),
            ],
            "invalid_request",
        ),
        (
            "an unknown grant",
            vec![("grant_type", "authorization_code"), ("code", "x")],
            "unsupported_grant_type",
        ),
        (
            "implicit",
            vec![("grant_type", "implicit")],
            "unsupported_grant_type",
        ),
    ] {
        let reply = token(&app, &pairs).await;
        assert_oauth_error(&reply, 400, error);
        assert!(!reply.body.to_string().is_empty(), "{name}");
    }
    let json_body = app
        .post(
            "/api/v1/auth/token",
            &json!({"grant_type": "password", "username": "ada@example.com", "password": "correct horse"}),
        )
        .await;
    assert_oauth_error(&json_body, 400, "invalid_request");
    let no_client = token(&app, &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(&no_client, 401, "invalid_client");
    let bearer = app
        .send(
            app.client
                .post(app.url("/api/v1/auth/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("authorization", "Bearer nonsense")
                .body(form(&[("grant_type", "client_credentials")])),
        )
        .await;
    assert_oauth_error(&bearer, 401, "invalid_client");
}

async fn the_refresh_token_grant_rotates_and_a_replay_revokes_the_family(app: TestApp) {
    let Some(app) = spawn_app_configured(app.backend, BLOG, |s| {
        s.auth.refresh_reuse_interval = std::time::Duration::ZERO
    })
    .await
    else {
        return;
    };
    let signed = app.register("ada@example.com").await;
    let first = signed["refresh_token"].as_str().unwrap();
    let rotated = token(
        &app,
        &[("grant_type", "refresh_token"), ("refresh_token", first)],
    )
    .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let second = rotated.body["refresh_token"].as_str().unwrap().to_owned();
    let access = rotated.body["access_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert_eq!(
        claims(&access)["sid"],
        claims(signed["access_token"].as_str().unwrap())["sid"],
        "the same family"
    );
    assert_eq!(me(&app, &access).await.status, 200);

    let replay = token(
        &app,
        &[("grant_type", "refresh_token"), ("refresh_token", first)],
    )
    .await;
    assert_oauth_error(&replay, 400, "invalid_grant");
    let after = token(
        &app,
        &[("grant_type", "refresh_token"), ("refresh_token", &second)],
    )
    .await;
    assert_oauth_error(&after, 400, "invalid_grant");
    assert_eq!(me(&app, &access).await.status, 401, "the family is revoked");
    let nonsense = token(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "nonsense"),
        ],
    )
    .await;
    assert_oauth_error(&nonsense, 400, "invalid_grant");
}

async fn client_credentials_trade_an_api_key_for_a_token_that_dies_with_it(app: TestApp) {
    let user = user_token(&app, "ada@example.com").await;
    let created = create_key(
        &app,
        &user,
        json!({"name": "service", "scopes": {"posts": ["list", "view"]}}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let key = created["key"].as_str().unwrap();
    let reply = token(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", key),
        ],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.get("refresh_token").is_none(), "RFC 6749 §4.4.3");
    assert_eq!(reply.header("pragma"), Some("no-cache"));
    let access = reply.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims(&access)["kind"], "api_key");
    assert_eq!(claims(&access)["sid"], id);
    let who = me(&app, &access).await;
    assert_eq!(who.body["data"]["kind"], "api_key", "{}", who.body);
    let list = app
        .send_as(&access, app.client.get(app.url("/api/v1/posts")))
        .await;
    assert_eq!(list.status, 200);
    let write = app
        .send_as(
            &access,
            app.client
                .post(app.url("/api/v1/posts"))
                .json(&json!({"title": "x"})),
        )
        .await;
    assert_eq!(write.status, 403, "the key's scopes hold for its tokens");
    let keys = app
        .send_as(&access, app.client.get(app.url("/api/v1/auth/api-keys")))
        .await;
    assert_eq!(keys.status, 403);

    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{key}"));
    let with_basic = |extra: &[(&str, &str)]| {
        let mut pairs = vec![("grant_type", "client_credentials")];
        pairs.extend_from_slice(extra);
        app.send(
            app.client
                .post(app.url("/api/v1/auth/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("authorization", format!("Basic {basic}"))
                .body(form(&pairs)),
        )
    };
    assert_eq!(
        with_basic(&[]).await.status,
        200,
        "HTTP Basic (RFC 6749 §2.3.1)"
    );
    assert_oauth_error(
        &with_basic(&[("client_secret", key)]).await,
        400,
        "invalid_request",
    );

    let other = create_key(&app, &user, json!({"name": "other"})).await;
    let mut wrong_secret = key.to_owned();
    let last = wrong_secret.pop().unwrap();
    wrong_secret.push(if last == 'A' { 'B' } else { 'A' });
    for (name, client_id, secret) in [
        ("wrong secret", id, wrong_secret.as_str()),
        ("another key's id", other["id"].as_str().unwrap(), key),
        ("not a key", id, "hunter2"),
        ("not an id", "nope", key),
        ("no secret", id, ""),
    ] {
        let reply = token(
            &app,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret),
            ],
        )
        .await;
        assert_oauth_error(&reply, 401, "invalid_client");
        assert!(
            reply
                .header("www-authenticate")
                .is_some_and(|h| h.starts_with("Basic")),
            "{name}"
        );
    }

    // Revoking the key ends its tokens at once here and within auth.revocation_poll on another instance.
    let (elsewhere, _data) = second_instance(&app).await;
    let on_other = || {
        app.send(
            app.client
                .get(format!("{elsewhere}/api/v1/auth/me"))
                .bearer_auth(&access),
        )
    };
    assert_eq!(on_other().await.status, 200);
    let revoked = app
        .send_as(
            &user,
            app.client
                .delete(app.url(&format!("/api/v1/auth/api-keys/{id}"))),
        )
        .await;
    assert_eq!(revoked.status, 204);
    let dead = me(&app, &access).await;
    assert_eq!(dead.status, 401, "{}", dead.body);
    assert_eq!(dead.code(), "invalid_token");
    let again = token(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", key),
        ],
    )
    .await;
    assert_oauth_error(&again, 401, "invalid_client");
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(
        on_other().await.status,
        401,
        "revoked on the other instance too"
    );
}
