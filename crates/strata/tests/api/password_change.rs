//! `POST /auth/password/change` over HTTP (SPEC §6, §14): the current session or refresh family lives on, every
//! other one ends at once (bearer and cookie alike), API keys are not sessions, and bad bodies are refused.

use serde_json::{Value, json};

use crate::api_keys::create_key;
use crate::helpers::{Reply, TestApp};
use crate::on_backends;
use crate::sessions::session_login;

on_backends!(a_password_change_keeps_the_current_session_and_ends_the_others);

async fn change_password(app: &TestApp, token: &str, body: Value) -> Reply {
    app.send_as(
        token,
        app.client
            .post(app.url("/api/v1/auth/password/change"))
            .json(&body),
    )
    .await
}

async fn me(app: &TestApp, token: &str) -> u16 {
    app.send_as(token, app.client.get(app.url("/api/v1/auth/me")))
        .await
        .status
}

async fn a_password_change_keeps_the_current_session_and_ends_the_others(app: TestApp) {
    let first = app.register("ada@example.com").await;
    let current = first["access_token"].as_str().unwrap();
    let login = app
        .post(
            "/api/v1/auth/login",
            &json!({"email": "ada@example.com", "password": "correct horse"}),
        )
        .await;
    let other = login.body["data"].clone();
    let browser = session_login(&app, "ada@example.com", "correct horse").await;
    let key = create_key(&app, current, json!({"name": "ci"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();

    for (body, status, code) in [
        (
            json!({"current_password": "wrong horse", "new_password": "new battery"}),
            401,
            "invalid_credentials",
        ),
        (
            json!({"current_password": "correct horse", "new_password": "short"}),
            400,
            "validation_failed",
        ),
        (
            json!({"new_password": "new battery"}),
            400,
            "validation_failed",
        ),
    ] {
        let reply = change_password(&app, current, body.clone()).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
        assert_eq!(reply.code(), code, "{body}");
    }
    let anonymous = app
        .post(
            "/api/v1/auth/password/change",
            &json!({"current_password": "a", "new_password": "b"}),
        )
        .await;
    assert_eq!(anonymous.status, 401);

    let changed = change_password(
        &app,
        current,
        json!({"current_password": "correct horse", "new_password": "new battery"}),
    )
    .await;
    assert_eq!(changed.status, 204, "{}", changed.body);
    assert_eq!(me(&app, current).await, 200, "the current session lives on");
    assert_eq!(me(&app, other["access_token"].as_str().unwrap()).await, 401);
    let cookie_me = app
        .send(
            app.client
                .get(app.url("/api/v1/auth/me"))
                .header("cookie", browser.cookie_header()),
        )
        .await;
    assert_eq!(cookie_me.status, 401, "the cookie session ended");
    let refresh = |token: &Value| json!({"refresh_token": token});
    let spent = app
        .post("/api/v1/auth/refresh", &refresh(&other["refresh_token"]))
        .await;
    assert_eq!(spent.status, 401);
    let kept = app
        .post("/api/v1/auth/refresh", &refresh(&first["refresh_token"]))
        .await;
    assert_eq!(kept.status, 200, "the current family lives on");
    assert_eq!(me(&app, &key).await, 200, "API keys are not sessions");
    let sign_in = |password: &str| json!({"email": "ada@example.com", "password": password});
    let old = app
        .post("/api/v1/auth/login", &sign_in("correct horse"))
        .await;
    assert_eq!(old.status, 401);
    let new = app
        .post("/api/v1/auth/login", &sign_in("new battery"))
        .await;
    assert_eq!(new.status, 200);

    // From a cookie session: that session is the one kept.
    let browser = session_login(&app, "ada@example.com", "new battery").await;
    let reply = app
        .send(
            app.client
                .post(app.url("/api/v1/auth/password/change"))
                .json(&json!({"current_password": "new battery", "new_password": "newer battery"}))
                .header("cookie", browser.cookie_header())
                .header("x-csrf-token", &browser.csrf),
        )
        .await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    let kept = app
        .send(
            app.client
                .get(app.url("/api/v1/auth/me"))
                .header("cookie", browser.cookie_header()),
        )
        .await;
    assert_eq!(kept.status, 200);
    assert_eq!(
        me(&app, current).await,
        401,
        "the bearer session ended this time"
    );
}
