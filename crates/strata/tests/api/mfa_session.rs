//! MFA in session mode (SPEC §6, §14 "Session mode", "MFA"): a `?mode=session` sign-in that stops at
//! `mfa_required` is finished by `/auth/mfa/totp/verify` the way a session sign-in without MFA is: the user in the
//! body, the HttpOnly session cookie and the CSRF cookie, no token pair. A token-mode sign-in still gets tokens.

use serde_json::json;

use crate::helpers::{Reply, TestApp};
use crate::mfa::{EMAIL, PASSWORD, code, enroll_and_confirm, verify};
use crate::on_backends;
use crate::sessions::{cookie_value, set_cookies};

on_backends!(
    a_session_sign_in_with_mfa_ends_with_session_cookies,
    a_token_sign_in_with_mfa_still_ends_with_tokens,
);

async fn session_login(app: &TestApp) -> Reply {
    app.post(
        "/api/v1/auth/login?mode=session",
        &json!({"email": EMAIL, "password": PASSWORD}),
    )
    .await
}

async fn a_session_sign_in_with_mfa_ends_with_session_cookies(app: TestApp) {
    let user = enroll_and_confirm(&app).await;
    let challenged = session_login(&app).await;
    assert_eq!(challenged.status, 401, "{}", challenged.body);
    assert_eq!(challenged.code(), "mfa_required");
    assert!(
        set_cookies(&challenged).is_empty(),
        "no session before the code"
    );
    let mfa_token = challenged.body["mfa_token"].as_str().unwrap();

    let passed = verify(&app, mfa_token, &code(&user.secret, 1)).await;
    assert_eq!(passed.status, 200, "{}", passed.body);
    assert_eq!(passed.header("cache-control"), Some("no-store"));
    assert_eq!(passed.body["data"]["user"]["email"], EMAIL);
    for member in ["access_token", "refresh_token", "token_type", "expires_in"] {
        assert!(
            passed.body["data"].get(member).is_none(),
            "no {member} in session mode: {}",
            passed.body
        );
    }
    let lines = set_cookies(&passed);
    let session_line = lines
        .iter()
        .find(|l| l.starts_with("strata_session="))
        .unwrap_or_else(|| panic!("a session cookie in {lines:?}"));
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Secure"] {
        assert!(
            session_line.contains(attribute),
            "{attribute} in {session_line}"
        );
    }
    let (session, csrf) = (
        cookie_value(&lines, "strata_session"),
        cookie_value(&lines, "strata_csrf"),
    );
    let cookies = format!("strata_session={session}; strata_csrf={csrf}");

    let me = app
        .send(
            app.client
                .get(app.url("/api/v1/auth/me"))
                .header("cookie", &cookies),
        )
        .await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["data"]["email"], EMAIL);
    let post = |csrf: Option<&str>| {
        let mut request = app
            .client
            .post(app.url("/api/v1/posts"))
            .json(&json!({"title": "after a second factor"}))
            .header("cookie", &cookies);
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        app.send(request)
    };
    let forged = post(None).await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert_eq!(forged.code(), "csrf_failed");
    assert_eq!(post(Some(&csrf)).await.status, 201);

    let logout = app
        .send(
            app.client
                .post(app.url("/api/v1/auth/logout"))
                .header("cookie", &cookies)
                .header("x-csrf-token", &csrf),
        )
        .await;
    assert_eq!(logout.status, 204, "{}", logout.body);
    let after = app
        .send(
            app.client
                .get(app.url("/api/v1/auth/me"))
                .header("cookie", &cookies),
        )
        .await;
    assert_eq!(after.status, 401, "the session ended: {}", after.body);
}

async fn a_token_sign_in_with_mfa_still_ends_with_tokens(app: TestApp) {
    let user = enroll_and_confirm(&app).await;
    let challenged = app
        .post(
            "/api/v1/auth/login",
            &json!({"email": EMAIL, "password": PASSWORD}),
        )
        .await;
    assert_eq!(challenged.code(), "mfa_required");
    // A session sign-in started meanwhile does not change what this one answers.
    assert_eq!(session_login(&app).await.code(), "mfa_required");
    let passed = verify(
        &app,
        challenged.body["mfa_token"].as_str().unwrap(),
        &user.recovery_codes[0],
    )
    .await;
    assert_eq!(passed.status, 200, "{}", passed.body);
    assert!(set_cookies(&passed).is_empty(), "no cookies in token mode");
    let access = passed.body["data"]["access_token"].as_str().unwrap();
    let me = app
        .send_as(access, app.client.get(app.url("/api/v1/auth/me")))
        .await;
    assert_eq!(me.status, 200, "{}", me.body);
}
