//! TOTP multi-factor sign-in over HTTP (SPEC §6, §14 "MFA"; RFC 6238): enrolment, confirmation with recovery
//! codes, the `mfa_required` sign-in step, replays within a code's window, wrong codes, spent and expired
//! `mfa_token`s, single-use recovery codes, and disabling.

use serde_json::{Value, json};
use strata_auth::{secret, totp};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, Reply, TestApp};
use crate::on_backends;

on_backends!(
    enrolment_turns_mfa_on_and_sign_in_asks_for_a_code,
    a_code_is_not_accepted_twice_within_its_window,
    wrong_codes_and_spent_or_expired_mfa_tokens_are_refused,
    wrong_codes_count_toward_sign_in_throttling,
    recovery_codes_are_single_use_and_disable_turns_mfa_off,
);

pub const EMAIL: &str = "ada@example.com";
pub const PASSWORD: &str = "correct horse";

/// A user with MFA on: their access token, the decoded secret and the recovery codes.
pub struct Enrolled {
    pub token: String,
    pub secret: Vec<u8>,
    pub recovery_codes: Vec<String>,
}

fn now_step() -> i64 {
    totp::step_at(chrono::Utc::now().timestamp())
}

/// The code an authenticator app shows `ahead` steps from now.
pub fn code(secret: &[u8], ahead: i64) -> String {
    totp::format_code(totp::code_at(secret, now_step() + ahead))
}

/// A six-digit code that matches no step the server accepts now.
fn wrong_code(secret: &[u8]) -> String {
    let taken: Vec<String> = (-2..=2).map(|d| code(secret, d)).collect();
    (0..1_000_000)
        .map(totp::format_code)
        .find(|c| !taken.contains(c))
        .unwrap()
}

async fn post_as(app: &TestApp, token: &str, path: &str, body: Value) -> Reply {
    app.send_as(token, app.client.post(app.url(path)).json(&body))
        .await
}

async fn login(app: &TestApp) -> Reply {
    app.post(
        "/api/v1/auth/login",
        &json!({"email": EMAIL, "password": PASSWORD}),
    )
    .await
}

/// Sign in as far as the second step: the `mfa_token`.
async fn mfa_token(app: &TestApp) -> String {
    let reply = login(app).await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert_eq!(reply.code(), "mfa_required");
    reply.body["mfa_token"].as_str().unwrap().to_owned()
}

pub async fn verify(app: &TestApp, mfa_token: &str, code: &str) -> Reply {
    app.post(
        "/api/v1/auth/mfa/totp/verify",
        &json!({"mfa_token": mfa_token, "code": code}),
    )
    .await
}

pub async fn enroll_and_confirm(app: &TestApp) -> Enrolled {
    let signed = app.register(EMAIL).await;
    let token = signed["access_token"].as_str().unwrap().to_owned();
    enroll_with(app, token).await
}

/// Enrol and confirm TOTP for the user whose access token is `token`.
pub async fn enroll_with(app: &TestApp, token: String) -> Enrolled {
    let enrolled = post_as(app, &token, "/api/v1/auth/mfa/totp/enroll", json!({})).await;
    assert_eq!(enrolled.status, 200, "{}", enrolled.body);
    let secret = totp::decode_secret(enrolled.body["data"]["secret"].as_str().unwrap()).unwrap();
    let confirmed = post_as(
        app,
        &token,
        "/api/v1/auth/mfa/totp/confirm",
        json!({"code": code(&secret, 0)}),
    )
    .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    let recovery_codes = confirmed.body["data"]["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    Enrolled {
        token,
        secret,
        recovery_codes,
    }
}

async fn enrolment_turns_mfa_on_and_sign_in_asks_for_a_code(app: TestApp) {
    let signed = app.register(EMAIL).await;
    let token = signed["access_token"].as_str().unwrap();
    let anonymous = app.post("/api/v1/auth/mfa/totp/enroll", &json!({})).await;
    assert_eq!(anonymous.status, 401);
    let admin = app
        .post(
            "/api/v1/admin/auth/login",
            &json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
        )
        .await;
    let admin_token = admin.body["data"]["access_token"].as_str().unwrap();
    let by_admin = post_as(&app, admin_token, "/api/v1/auth/mfa/totp/enroll", json!({})).await;
    assert_eq!(by_admin.status, 403, "admins are not users");

    let enrolled = post_as(&app, token, "/api/v1/auth/mfa/totp/enroll", json!({})).await;
    assert_eq!(enrolled.status, 200, "{}", enrolled.body);
    assert_eq!(enrolled.header("cache-control"), Some("no-store"));
    let text = enrolled.body["data"]["secret"].as_str().unwrap();
    let secret = totp::decode_secret(text).expect("base32");
    assert_eq!(secret.len(), 20);
    assert_eq!(
        enrolled.body["data"]["otpauth_uri"],
        format!(
            "otpauth://totp/Strata:ada@example.com?secret={text}&issuer=Strata&algorithm=SHA1&digits=6&period=30"
        )
    );
    let stored = app.query_texts("SELECT secret FROM _totp").await;
    assert!(
        stored.len() == 1 && !stored[0].contains(text) && stored[0].starts_with("v1."),
        "the secret is stored sealed: {stored:?}"
    );
    assert_eq!(login(&app).await.status, 200, "not on until confirmed");

    let wrong = post_as(
        &app,
        token,
        "/api/v1/auth/mfa/totp/confirm",
        json!({"code": wrong_code(&secret)}),
    )
    .await;
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    assert_eq!(wrong.body["errors"][0]["path"], "/code");
    let confirmed = post_as(
        &app,
        token,
        "/api/v1/auth/mfa/totp/confirm",
        json!({"code": code(&secret, 0)}),
    )
    .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    let codes = confirmed.body["data"]["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    let mut expected: Vec<String> = codes
        .iter()
        .map(|c| secret::hash(&c.as_str().unwrap().replace('-', "")))
        .collect();
    expected.sort();
    expected.dedup();
    assert_eq!(expected.len(), 10, "distinct codes");
    let mut hashes = app.query_texts("SELECT hash FROM _recovery_codes").await;
    hashes.sort();
    assert_eq!(hashes, expected, "stored as SHA-256 only");
    let again = post_as(&app, token, "/api/v1/auth/mfa/totp/enroll", json!({})).await;
    assert_eq!(again.status, 409, "the secret is never shown again");

    let challenged = login(&app).await;
    assert_eq!(challenged.status, 401, "{}", challenged.body);
    assert_eq!(challenged.code(), "mfa_required");
    assert!(challenged.body["access_token"].is_null() && challenged.body["data"].is_null());
    let mfa_token = challenged.body["mfa_token"].as_str().unwrap();
    assert!(mfa_token.len() >= 43);
    assert_eq!(
        app.query_texts("SELECT hash FROM _mfa_challenges").await,
        [secret::hash(mfa_token)],
        "stored hashed"
    );
    let passed = verify(&app, mfa_token, &code(&secret, 1)).await;
    assert_eq!(passed.status, 200, "{}", passed.body);
    assert_eq!(passed.header("cache-control"), Some("no-store"));
    assert_eq!(passed.body["data"]["user"]["email"], EMAIL);
    let access = passed.body["data"]["access_token"].as_str().unwrap();
    let me = app
        .send_as(access, app.client.get(app.url("/api/v1/auth/me")))
        .await;
    assert_eq!(me.status, 200);
    let reused = verify(&app, mfa_token, &code(&secret, 1)).await;
    assert_eq!(reused.status, 401, "an mfa_token is single use");
    assert_eq!(reused.code(), "invalid_token");
    // SPEC §14: the password grant has no second step, so it refuses users with MFA on.
    let grant = app
        .send(
            app.client
                .post(app.url("/api/v1/auth/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=password&username=ada%40example.com&password=correct+horse"),
        )
        .await;
    assert_eq!(grant.status, 400, "{}", grant.body);
    assert_eq!(grant.body["error"], "invalid_grant");
}

async fn a_code_is_not_accepted_twice_within_its_window(app: TestApp) {
    let user = enroll_and_confirm(&app).await;
    // Confirming spent the current code: it signs nobody in, though it is still within its window.
    let replayed = verify(&app, &mfa_token(&app).await, &code(&user.secret, 0)).await;
    assert_eq!(replayed.status, 401, "{}", replayed.body);
    assert_eq!(replayed.code(), "invalid_credentials");
    let next = code(&user.secret, 1);
    assert_eq!(
        verify(&app, &mfa_token(&app).await, &next).await.status,
        200
    );
    let again = verify(&app, &mfa_token(&app).await, &next).await;
    assert_eq!(again.status, 401, "the next code, replayed");
    assert_eq!(again.code(), "invalid_credentials");
}

async fn wrong_codes_and_spent_or_expired_mfa_tokens_are_refused(app: TestApp) {
    let user = enroll_and_confirm(&app).await;
    let token = mfa_token(&app).await;
    let wrong = verify(&app, &token, &wrong_code(&user.secret)).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.code(), "invalid_credentials");
    let garbage = verify(&app, &token, "not a code").await;
    assert_eq!(garbage.status, 401);
    let missing = app
        .post("/api/v1/auth/mfa/totp/verify", &json!({"mfa_token": token}))
        .await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.body["errors"][0]["path"], "/code");
    assert_eq!(
        verify(&app, &token, &code(&user.secret, 1)).await.status,
        200,
        "a wrong code does not spend the mfa_token"
    );
    let unknown = verify(&app, "no-such-token", &code(&user.secret, 1)).await;
    assert_eq!(unknown.status, 401);
    assert_eq!(unknown.code(), "invalid_token");

    let expiring = mfa_token(&app).await;
    let past = app.sql_datetime(chrono::Utc::now() - chrono::Duration::minutes(1));
    app.execute_sql(&format!("UPDATE _mfa_challenges SET expires_at = {past}"))
        .await;
    let expired = verify(&app, &expiring, &user.recovery_codes[0]).await;
    assert_eq!(expired.status, 401, "{}", expired.body);
    assert_eq!(expired.code(), "token_expired");
}

async fn wrong_codes_count_toward_sign_in_throttling(app: TestApp) {
    let user = enroll_and_confirm(&app).await;
    let token = mfa_token(&app).await;
    for _ in 0..10 {
        assert_eq!(
            verify(&app, &token, &wrong_code(&user.secret)).await.status,
            401
        );
    }
    let throttled = verify(&app, &token, &code(&user.secret, 1)).await;
    assert_eq!(throttled.status, 429, "{}", throttled.body);
    assert_eq!(throttled.code(), "rate_limited");
    assert!(throttled.header("retry-after").is_some());
    assert_eq!(login(&app).await.status, 429, "passwords share the budget");
}

async fn recovery_codes_are_single_use_and_disable_turns_mfa_off(app: TestApp) {
    let user = enroll_and_confirm(&app).await;
    let first = &user.recovery_codes[0];
    assert!(
        first.len() == 19 && first.matches('-').count() == 3,
        "{first}"
    );
    let typed = first.to_uppercase().replace('-', " ");
    let signed = verify(&app, &mfa_token(&app).await, &typed).await;
    assert_eq!(signed.status, 200, "{}", signed.body);
    let twice = verify(&app, &mfa_token(&app).await, first).await;
    assert_eq!(twice.status, 401, "a recovery code works once");
    assert_eq!(twice.code(), "invalid_credentials");

    let disable = |code: String| {
        let app = &app;
        let token = user.token.clone();
        async move {
            post_as(
                app,
                &token,
                "/api/v1/auth/mfa/totp/disable",
                json!({"code": code}),
            )
            .await
        }
    };
    assert_eq!(disable(first.clone()).await.status, 401, "spent");
    assert_eq!(disable(wrong_code(&user.secret)).await.status, 401);
    let off = disable(user.recovery_codes[1].clone()).await;
    assert_eq!(off.status, 204, "{}", off.body);
    assert!(
        app.query_texts("SELECT hash FROM _recovery_codes")
            .await
            .is_empty()
    );
    assert_eq!(login(&app).await.status, 200, "MFA is off");
    let again = disable(code(&user.secret, 1)).await;
    assert_eq!(again.status, 409, "nothing to disable");
}
