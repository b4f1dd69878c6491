//! API keys over HTTP (SPEC §6, §14): shown once, accepted as `Authorization: Bearer sk_…` and `X-API-Key`,
//! acting for their owner, never on `/auth/*` but `me`; revoked, expired, forged and malformed keys are 401,
//! and a revocation reaches another instance within `auth.revocation_poll`. Scopes: `api_key_scopes.rs`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp};
use crate::on_backends;

on_backends!(
    an_api_key_is_shown_once_and_acts_for_its_owner,
    revoked_expired_and_forged_keys_are_401,
    a_revoked_key_stops_working_on_every_instance,
);

/// Create a key as the holder of `token`; the answer's `data`.
pub async fn create_key(app: &TestApp, token: &str, body: Value) -> Value {
    let reply = app
        .send_as(
            token,
            app.client
                .post(app.url("/api/v1/auth/api-keys"))
                .json(&body),
        )
        .await;
    assert_eq!(reply.status, 201, "create key: {}", reply.body);
    reply.body["data"].clone()
}

/// A registered user's access token.
pub async fn user_token(app: &TestApp, email: &str) -> String {
    app.register(email).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn with_key_header(app: &TestApp, key: &str, path: &str) -> Reply {
    app.send(app.client.get(app.url(path)).header("x-api-key", key))
        .await
}

pub async fn post(app: &TestApp, token: &str, path: &str, body: &Value) -> Reply {
    app.send_as(token, app.client.post(app.url(path)).json(body))
        .await
}

pub async fn list_keys(app: &TestApp, token: &str) -> Reply {
    app.send_as(token, app.client.get(app.url("/api/v1/auth/api-keys")))
        .await
}

async fn an_api_key_is_shown_once_and_acts_for_its_owner(app: TestApp) {
    let ada = app.register("ada@example.com").await;
    let token = ada["access_token"].as_str().unwrap();
    let created = app
        .send_as(
            token,
            app.client
                .post(app.url("/api/v1/auth/api-keys"))
                .json(&json!({"name": "ci"})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    let data = &created.body["data"];
    let id = data["id"].as_str().unwrap();
    let key = data["key"].as_str().unwrap().to_owned();
    let simple = uuid::Uuid::parse_str(id).unwrap().simple().to_string();
    assert!(key.starts_with(&format!("sk_{simple}_")), "{key}");
    assert_eq!(data["name"], "ci");
    assert_eq!(data["scopes"], Value::Null);
    assert_eq!(data["expires_at"], Value::Null);
    assert_eq!(data["last_used_at"], Value::Null);
    assert!(
        data["created_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );

    for reply in [
        app.send_as(&key, app.client.get(app.url("/api/v1/auth/me")))
            .await,
        with_key_header(&app, &key, "/api/v1/auth/me").await,
    ] {
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["data"]["kind"], "api_key");
        assert_eq!(reply.body["data"]["id"], ada["user"]["id"]);
        assert_eq!(reply.body["data"]["email"], "ada@example.com");
    }

    let listed = list_keys(&app, token).await;
    assert_eq!(listed.status, 200);
    let keys = listed.body["data"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["id"], id);
    assert!(keys[0].get("key").is_none(), "the key is shown once");
    let secret = key.rsplit('_').next().unwrap();
    assert!(!listed.body.to_string().contains(secret));
    let first_use = keys[0]["last_used_at"].clone();
    assert!(first_use.is_string(), "use is recorded: {}", listed.body);
    with_key_header(&app, &key, "/api/v1/posts").await;
    assert_eq!(
        list_keys(&app, token).await.body["data"][0]["last_used_at"],
        first_use,
        "at most once a minute"
    );

    // A key may say who it is, and nothing else under /auth.
    let own = format!("/api/v1/auth/api-keys/{id}");
    for (method, path) in [
        ("GET", "/api/v1/auth/api-keys"),
        ("POST", "/api/v1/auth/api-keys"),
        ("POST", "/api/v1/auth/logout"),
        ("POST", "/api/v1/auth/password/change"),
        ("DELETE", own.as_str()),
    ] {
        let request = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .json(&json!({}));
        let reply = app.send_as(&key, request).await;
        assert_eq!(reply.status, 403, "{method} {path}: {}", reply.body);
        assert_eq!(reply.code(), "forbidden");
    }
    assert_eq!(list_keys(&app, token).await.body["data"][0]["id"], id);
}

async fn revoked_expired_and_forged_keys_are_401(app: TestApp) {
    let ada = user_token(&app, "ada@example.com").await;
    let bob = user_token(&app, "bob@example.com").await;
    let first = create_key(&app, &ada, json!({"name": "first"})).await;
    let key = first["key"].as_str().unwrap();
    let path = format!("/api/v1/auth/api-keys/{}", first["id"].as_str().unwrap());
    assert_eq!(
        with_key_header(&app, key, "/api/v1/posts").await.status,
        200
    );
    let by_bob = app.send_as(&bob, app.client.delete(app.url(&path))).await;
    assert_eq!(by_bob.status, 404, "another user's key is not found");
    let revoked = app.send_as(&ada, app.client.delete(app.url(&path))).await;
    assert_eq!(revoked.status, 204);
    for reply in [
        with_key_header(&app, key, "/api/v1/posts").await,
        app.send_as(key, app.client.get(app.url("/api/v1/posts")))
            .await,
    ] {
        assert_eq!(reply.status, 401, "revoked at once: {}", reply.body);
        assert_eq!(reply.code(), "invalid_token");
    }
    let again = app.send_as(&ada, app.client.delete(app.url(&path))).await;
    assert_eq!(again.status, 404);
    assert_eq!(list_keys(&app, &ada).await.body["data"], json!([]));
    let nonsense = app
        .send_as(
            &ada,
            app.client.delete(app.url("/api/v1/auth/api-keys/nonsense")),
        )
        .await;
    assert_eq!(nonsense.status, 404);

    let second = create_key(&app, &ada, json!({"name": "second"})).await;
    let key = second["key"].as_str().unwrap();
    let mut forged = key.to_owned();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let other_id = format!("sk_{}_{}", uuid::Uuid::now_v7().simple(), &key[36..]);
    for bad in [forged.as_str(), other_id.as_str(), "sk_nope", "sk_"] {
        for reply in [
            with_key_header(&app, bad, "/api/v1/posts").await,
            app.send_as(bad, app.client.get(app.url("/api/v1/posts")))
                .await,
        ] {
            assert_eq!(reply.status, 401, "{bad}: {}", reply.body);
            assert_eq!(reply.code(), "invalid_token", "{bad}");
        }
    }
    let empty = with_key_header(&app, " ", "/api/v1/posts").await;
    assert_eq!(empty.status, 401);
    assert_eq!(
        with_key_header(&app, key, "/api/v1/posts").await.status,
        200
    );

    // An expiry that passes: the key is refused (checked before any cache could keep it).
    let soon = chrono::Utc::now() + chrono::Duration::hours(1);
    let expiring = create_key(
        &app,
        &ada,
        json!({"name": "expiring", "expires_at": soon.to_rfc3339()}),
    )
    .await;
    assert!(expiring["expires_at"].as_str().is_some());
    let past = app.sql_datetime(chrono::Utc::now() - chrono::Duration::seconds(1));
    app.execute_sql(&format!(
        "UPDATE _api_keys SET expires_at = {past} WHERE expires_at IS NOT NULL"
    ))
    .await;
    let expired = with_key_header(&app, expiring["key"].as_str().unwrap(), "/api/v1/posts").await;
    assert_eq!(expired.status, 401, "{}", expired.body);
    assert_eq!(expired.code(), "invalid_token");
}

/// Another server on the same database, as a second instance behind a load balancer.
pub async fn second_instance(app: &TestApp) -> (String, tempfile::TempDir) {
    use strata::settings::{Secret, Settings};
    let data = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings {
        data_dir: data.path().to_owned(),
        ..Settings::default()
    };
    settings.server.addr = "127.0.0.1:0".into();
    settings.database.url = Some(Secret::new(app.database_url.clone()));
    settings.auth.argon2_memory_kib = 256;
    settings.auth.argon2_iterations = 1;
    let schema = strata_core::schema::Schema::from_toml(&app.schema).expect("schema");
    let built = strata::startup::Application::build(settings, schema)
        .await
        .expect("the second instance builds");
    let address = format!("http://127.0.0.1:{}", built.port());
    tokio::spawn(built.run_until(std::future::pending()));
    (address, data)
}

async fn a_revoked_key_stops_working_on_every_instance(app: TestApp) {
    let (other, _data) = second_instance(&app).await;
    let token = user_token(&app, "ada@example.com").await;
    let created = create_key(&app, &token, json!({"name": "shared"})).await;
    let key = created["key"].as_str().unwrap();
    let on_other = || {
        app.send(
            app.client
                .get(format!("{other}/api/v1/auth/me"))
                .header("x-api-key", key),
        )
    };
    assert_eq!(
        on_other().await.status,
        200,
        "the other instance knows the key"
    );
    let path = format!("/api/v1/auth/api-keys/{}", created["id"].as_str().unwrap());
    assert_eq!(
        app.send_as(&token, app.client.delete(app.url(&path)))
            .await
            .status,
        204
    );
    assert_eq!(
        with_key_header(&app, key, "/api/v1/auth/me").await.status,
        401
    );
    // `auth.revocation_poll` is 1 s: the other instance must refuse the key well within 3.
    let started = std::time::Instant::now();
    loop {
        let status = on_other().await.status;
        if status == 401 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "the other instance still accepts a revoked key"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
