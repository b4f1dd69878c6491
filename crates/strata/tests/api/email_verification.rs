//! Verifying an address and changing it over HTTP (SPEC §6, §14 "Email flows"), with the real messages a local
//! SMTP sink receives: the verification link and its outbox event, an email change that waits for the new
//! address, and `auth.require_verified_email` (registration answered alike, sign-in held until verification).

use std::time::Duration;

use serde_json::{Value, json};

use crate::email_flows::{ADA, PASSWORD, assert_bad_token, login, me};
use crate::helpers::Backend;
use crate::mail_sink::mail_app;
use crate::on_each_backend;

on_each_backend!(
    verifying_an_address_updates_the_record_with_its_event,
    an_email_change_waits_for_the_new_address,
    required_verification_answers_registration_alike_and_holds_sign_in,
);

async fn verifying_an_address_updates_the_record_with_its_event(backend: Backend) {
    let Some((app, mail)) = mail_app(backend, false).await else {
        return;
    };
    let signed = app.register(ADA).await;
    let access = signed["access_token"].as_str().unwrap();
    assert_eq!(
        me(&app, access).await.body["data"]["user"]["verified"],
        false
    );
    app.post("/api/v1/auth/verify-email/request", &json!({"email": ADA}))
        .await;
    let letter = mail.next_for(ADA).await;
    assert_eq!(letter.subject(), "Verify your email address");
    assert!(
        letter
            .link()
            .unwrap()
            .starts_with("https://app.example/verify-email?token=")
    );
    let confirm = |token: String| {
        let app = &app;
        async move {
            app.post(
                "/api/v1/auth/verify-email/confirm",
                &json!({"token": token}),
            )
            .await
        }
    };
    let confirmed = confirm(letter.token()).await;
    assert_eq!(confirmed.status, 204, "{}", confirmed.body);
    assert_eq!(
        me(&app, access).await.body["data"]["user"]["verified"],
        true
    );
    let event = app.outbox().await.pop().unwrap();
    assert_eq!(event["type"], "strata.record.updated");
    assert_eq!(event["source"], "/api/v1/users");
    assert_eq!(event["data"]["record"]["verified"], true);
    assert_eq!(event["data"]["previous"]["verified"], false);
    assert_bad_token(&confirm(letter.token()).await, "used");
    assert_bad_token(&confirm("made-up".into()).await, "not valid");
    let reset_link = app
        .post("/api/v1/auth/password/forgot", &json!({"email": ADA}))
        .await;
    assert_eq!(reset_link.status, 202);
    let reset_token = mail.next_for(ADA).await.token();
    assert_bad_token(&confirm(reset_token).await, "not valid");
}

async fn an_email_change_waits_for_the_new_address(backend: Backend) {
    let Some((app, mail)) = mail_app(backend, false).await else {
        return;
    };
    let signed = app.register(ADA).await;
    app.register("taken@example.com").await;
    let access = signed["access_token"].as_str().unwrap();
    let change = |new_email: &str, password: &str| {
        let body = json!({"new_email": new_email, "password": password});
        let app = &app;
        async move {
            app.send_as(
                access,
                app.client
                    .post(app.url("/api/v1/auth/email/change"))
                    .json(&body),
            )
            .await
        }
    };
    let anonymous = app
        .post(
            "/api/v1/auth/email/change",
            &json!({"new_email": "x@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(anonymous.status, 401);
    let wrong = change("new@example.com", "wrong horse").await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.code(), "invalid_credentials");
    let invalid = change("not an address", PASSWORD).await;
    assert_eq!(invalid.status, 400);
    assert_eq!(invalid.body["errors"][0]["path"], "/new_email");
    assert_eq!(change("taken@example.com", PASSWORD).await.status, 202);
    assert!(
        mail.nothing_for("taken@example.com", Duration::from_millis(500))
            .await
    );

    let asked = change(" New@Example.com ", PASSWORD).await;
    assert_eq!(asked.status, 202, "{}", asked.body);
    let letter = mail.next_for("new@example.com").await;
    assert_eq!(letter.subject(), "Confirm your new email address");
    assert_eq!(
        me(&app, access).await.body["data"]["email"],
        ADA,
        "nothing changes before the link is used"
    );
    let confirmed = app
        .post(
            "/api/v1/auth/verify-email/confirm",
            &json!({"token": letter.token()}),
        )
        .await;
    assert_eq!(confirmed.status, 204, "{}", confirmed.body);
    let user = me(&app, access).await.body["data"]["user"].clone();
    assert_eq!(user["email"], "new@example.com");
    assert_eq!(user["verified"], true);
    assert_eq!(login(&app, "new@example.com", PASSWORD).await.status, 200);
    assert_eq!(login(&app, ADA, PASSWORD).await.status, 401);
}

async fn required_verification_answers_registration_alike_and_holds_sign_in(backend: Backend) {
    let Some((app, mail)) = mail_app(backend, true).await else {
        return;
    };
    let register = |password: &str| {
        let body = json!({"email": ADA, "password": password});
        let app = &app;
        async move { app.post("/api/v1/auth/register", &body).await }
    };
    let new = register(PASSWORD).await;
    let taken = register("another horse").await;
    for reply in [&new, &taken] {
        assert_eq!(reply.status, 202, "{}", reply.body);
        assert_eq!(reply.body, Value::Null);
    }
    let bad = register("short").await;
    assert_eq!(bad.status, 400, "bad input is still refused");
    let first = mail.next_for(ADA).await;
    let second = mail.next_for(ADA).await;
    let (verify, notice) = if first.subject() == "Verify your email address" {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(verify.subject(), "Verify your email address");
    assert_eq!(
        notice.subject(),
        "Someone tried to sign up with your address"
    );
    assert!(notice.link().is_none());

    let held = login(&app, ADA, PASSWORD).await;
    let wrong = login(&app, ADA, "wrong horse").await;
    assert_eq!(held.status, 401);
    assert_eq!(held.code(), "invalid_credentials");
    assert_eq!(
        held.body["detail"], wrong.body["detail"],
        "an unverified account answers like a wrong password"
    );
    assert_eq!(
        login(&app, ADA, "another horse").await.status,
        401,
        "the second registration changed nothing"
    );
    let confirmed = app
        .post(
            "/api/v1/auth/verify-email/confirm",
            &json!({"token": verify.token()}),
        )
        .await;
    assert_eq!(confirmed.status, 204);
    let signed = login(&app, ADA, PASSWORD).await;
    assert_eq!(signed.status, 200, "{}", signed.body);
    assert_eq!(signed.body["data"]["user"]["verified"], true);
}
