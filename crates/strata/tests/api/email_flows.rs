//! The email flows over HTTP (SPEC §6, §14 "Email flows"), reading the real messages the server sends to a local
//! SMTP sink: password reset, single-use and expiring tokens, answers that never tell whether an address has an
//! account, and the file mailer. Verification and email change are in `email_verification.rs`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{BLOG, Backend, Reply, TestApp, spawn_app_configured};
use crate::mail_sink::mail_app;
use crate::on_each_backend;

on_each_backend!(
    a_forgotten_password_is_reset_once_by_the_mailed_link,
    answers_never_tell_whether_an_address_has_an_account,
    expired_links_are_refused,
);

pub const ADA: &str = "ada@example.com";
pub const PASSWORD: &str = "correct horse";

pub async fn login(app: &TestApp, email: &str, password: &str) -> Reply {
    app.post(
        "/api/v1/auth/login",
        &json!({"email": email, "password": password}),
    )
    .await
}

pub async fn me(app: &TestApp, token: &str) -> Reply {
    app.send_as(token, app.client.get(app.url("/api/v1/auth/me")))
        .await
}

pub fn assert_bad_token(reply: &Reply, message: &str) {
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.code(), "validation_failed");
    assert_eq!(reply.body["errors"][0]["path"], "/token");
    assert_eq!(reply.body["errors"][0]["code"], "invalid_format");
    assert!(
        reply.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains(message),
        "{}",
        reply.body
    );
}

async fn a_forgotten_password_is_reset_once_by_the_mailed_link(backend: Backend) {
    let Some((app, mail)) = mail_app(backend, false).await else {
        return;
    };
    let signed = app.register(ADA).await;
    let asked = app
        .post(
            "/api/v1/auth/password/forgot",
            &json!({"email": " ADA@example.com"}),
        )
        .await;
    assert_eq!(asked.status, 202);
    assert_eq!(asked.body, Value::Null);
    assert_eq!(asked.header("cache-control"), Some("no-store"));
    let letter = mail.next_for(ADA).await;
    assert_eq!(letter.subject(), "Reset your password");
    assert!(letter.header("From").unwrap().contains("noreply@localhost"));
    assert!(
        letter
            .link()
            .unwrap()
            .starts_with("https://app.example/reset-password?token="),
        "{}",
        letter.data
    );
    let token = letter.token();
    let reset = |token: String, password: &str| {
        let body = json!({"token": token, "new_password": password});
        let app = &app;
        async move { app.post("/api/v1/auth/password/reset", &body).await }
    };
    let short = reset(token.clone(), "short").await;
    assert_eq!(short.status, 400);
    assert_eq!(short.body["errors"][0]["path"], "/new_password");
    assert_eq!(reset(token.clone(), "new horse battery").await.status, 204);

    let access = signed["access_token"].as_str().unwrap();
    assert_eq!(me(&app, access).await.status, 401, "every session ended");
    let refresh = app
        .post(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": signed["refresh_token"]}),
        )
        .await;
    assert_eq!(refresh.status, 401, "every refresh family revoked");
    assert_eq!(login(&app, ADA, PASSWORD).await.status, 401);
    let fresh = login(&app, ADA, "new horse battery").await;
    assert_eq!(fresh.status, 200);
    assert_eq!(
        fresh.body["data"]["user"]["verified"], true,
        "the link reached the address"
    );
    let twice = reset(token, "third horse battery").await;
    assert_bad_token(&twice, "used");
    assert_eq!(login(&app, ADA, "new horse battery").await.status, 200);
}

async fn answers_never_tell_whether_an_address_has_an_account(backend: Backend) {
    let Some((app, mail)) = mail_app(backend, false).await else {
        return;
    };
    app.register(ADA).await;
    for path in [
        "/api/v1/auth/password/forgot",
        "/api/v1/auth/verify-email/request",
    ] {
        let known = app.post(path, &json!({"email": ADA})).await;
        let unknown = app
            .post(path, &json!({"email": "nobody@example.com"}))
            .await;
        for reply in [&known, &unknown] {
            assert_eq!(reply.status, 202, "{path}");
            assert_eq!(reply.body, Value::Null);
            assert_eq!(reply.header("content-length"), Some("0"));
        }
        let missing = app.post(path, &json!({})).await;
        assert_eq!(missing.status, 400, "{path}");
        assert_eq!(missing.body["errors"][0]["path"], "/email");
    }
    let subjects = [
        mail.next_for(ADA).await.subject().to_owned(),
        mail.next_for(ADA).await.subject().to_owned(),
    ];
    assert!(subjects.contains(&"Reset your password".to_owned()));
    assert!(subjects.contains(&"Verify your email address".to_owned()));
    assert!(
        mail.nothing_for("nobody@example.com", Duration::from_millis(500))
            .await
    );
    let again = app
        .post("/api/v1/auth/password/forgot", &json!({"email": ADA}))
        .await;
    assert_eq!(again.status, 202);
    assert!(
        mail.nothing_for(ADA, Duration::from_millis(500)).await,
        "at most one reset mail a minute to an address"
    );
}

async fn expired_links_are_refused(backend: Backend) {
    let Some((app, mail)) = mail_app(backend, false).await else {
        return;
    };
    app.register(ADA).await;
    app.post("/api/v1/auth/password/forgot", &json!({"email": ADA}))
        .await;
    app.post("/api/v1/auth/verify-email/request", &json!({"email": ADA}))
        .await;
    let (mut reset, mut verify) = (None, None);
    for _ in 0..2 {
        let letter = mail.next_for(ADA).await;
        match letter.subject() {
            "Reset your password" => reset = Some(letter.token()),
            _ => verify = Some(letter.token()),
        }
    }
    let past = app.sql_datetime(chrono::Utc::now() - chrono::Duration::seconds(1));
    app.execute_sql(&format!("UPDATE _email_tokens SET expires_at = {past}"))
        .await;
    let reset = app
        .post(
            "/api/v1/auth/password/reset",
            &json!({"token": reset.unwrap(), "new_password": "new horse battery"}),
        )
        .await;
    assert_bad_token(&reset, "expired");
    let verify = app
        .post(
            "/api/v1/auth/verify-email/confirm",
            &json!({"token": verify.unwrap()}),
        )
        .await;
    assert_bad_token(&verify, "expired");
    assert_eq!(login(&app, ADA, PASSWORD).await.status, 200, "unchanged");
}

/// Without `[mail] smtp_url`, each message is an `.eml` file under `{data_dir}/mail/`.
#[tokio::test]
async fn without_smtp_mail_is_written_to_the_data_directory() {
    let mut dir = None;
    let Some(app) = spawn_app_configured(Backend::Sqlite, BLOG, |s| {
        dir = Some(s.data_dir.join("mail"));
    })
    .await
    else {
        return;
    };
    let dir = dir.unwrap();
    app.register(ADA).await;
    let asked = app
        .post("/api/v1/auth/password/forgot", &json!({"email": ADA}))
        .await;
    assert_eq!(asked.status, 202);
    let mut files = Vec::new();
    for _ in 0..100 {
        files = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().path())
                    .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        if !files.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(files.len(), 1, "one message in {}", dir.display());
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(text.contains("To: ada@example.com"), "{text}");
    assert!(text.contains("Subject: Reset your password"), "{text}");
    let token = text
        .split_once("/reset-password?token=")
        .map(|(_, rest)| rest.split_whitespace().next().unwrap().to_owned())
        .expect("a reset link");
    let reset = app
        .post(
            "/api/v1/auth/password/reset",
            &json!({"token": token, "new_password": "new horse battery"}),
        )
        .await;
    assert_eq!(reset.status, 204, "{}", reset.body);
}
