//! Cookie sessions over HTTP (SPEC §14 "Session mode"): `?mode=session` cookies, CSRF on unsafe methods,
//! `Authorization` over cookies, logout, idle and absolute expiry, and use recorded at most once a minute.

use serde_json::json;

use crate::helpers::{Backend, Reply, TestApp};
use crate::on_backends;

on_backends!(
    a_session_sets_cookies_and_unsafe_requests_need_the_csrf_token,
    authorization_wins_over_cookies_and_logout_clears_them,
    sessions_end_when_idle_or_too_old_and_record_use_once_a_minute,
);

/// The two cookies of a session sign-in, and the raw `Set-Cookie` lines.
pub struct Session {
    pub session: String,
    pub csrf: String,
    pub set_cookie: Vec<String>,
}

impl Session {
    pub fn cookie_header(&self) -> String {
        format!("strata_session={}; strata_csrf={}", self.session, self.csrf)
    }
}

pub fn set_cookies(reply: &Reply) -> Vec<String> {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

pub fn cookie_value(lines: &[String], name: &str) -> String {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie in {lines:?}"))
        .to_owned()
}

pub async fn session_login(app: &TestApp, email: &str, password: &str) -> Session {
    let reply = app
        .post(
            "/api/v1/auth/login?mode=session",
            &json!({"email": email, "password": password}),
        )
        .await;
    assert_eq!(reply.status, 200, "session login: {}", reply.body);
    let lines = set_cookies(&reply);
    Session {
        session: cookie_value(&lines, "strata_session"),
        csrf: cookie_value(&lines, "strata_csrf"),
        set_cookie: lines,
    }
}

async fn with_cookies(app: &TestApp, cookies: &str, request: reqwest::RequestBuilder) -> Reply {
    app.send(request.header("cookie", cookies)).await
}

async fn a_session_sets_cookies_and_unsafe_requests_need_the_csrf_token(app: TestApp) {
    let ada = app.register("ada@example.com").await;
    let reply = app
        .post(
            "/api/v1/auth/login?mode=session",
            &json!({"email": "ada@example.com", "password": "correct horse"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["user"]["id"], ada["user"]["id"]);
    assert!(reply.body["data"].get("access_token").is_none());
    assert!(reply.body["data"].get("refresh_token").is_none());
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let s = session_login(&app, "ada@example.com", "correct horse").await;
    let session_line = s
        .set_cookie
        .iter()
        .find(|l| l.starts_with("strata_session="))
        .unwrap();
    let csrf_line = s
        .set_cookie
        .iter()
        .find(|l| l.starts_with("strata_csrf="))
        .unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Secure"] {
        assert!(
            session_line.contains(attribute),
            "{attribute} in {session_line}"
        );
    }
    assert!(
        !csrf_line.contains("HttpOnly"),
        "the CSRF cookie is readable: {csrf_line}"
    );
    assert!(csrf_line.contains("Secure") && csrf_line.contains("SameSite=Lax"));

    let cookies = s.cookie_header();
    let me = with_cookies(&app, &cookies, app.client.get(app.url("/api/v1/auth/me"))).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["data"]["kind"], "user");
    assert_eq!(me.body["data"]["id"], ada["user"]["id"]);

    let create = |csrf: Option<&str>, cookies: &str| {
        let mut request = app
            .client
            .post(app.url("/api/v1/posts"))
            .json(&json!({"title": "by cookie"}))
            .header("cookie", cookies);
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        app.send(request)
    };
    let only_session = format!("strata_session={}", s.session);
    let forged_pair = format!("strata_session={}; strata_csrf=forged", s.session);
    for (name, csrf, cookies) in [
        ("no header", None, cookies.as_str()),
        ("a wrong header", Some("nope"), cookies.as_str()),
        (
            "no CSRF cookie",
            Some(s.csrf.as_str()),
            only_session.as_str(),
        ),
        ("a made-up pair", Some("forged"), forged_pair.as_str()),
    ] {
        let reply = create(csrf, cookies).await;
        assert_eq!(reply.status, 403, "{name}: {}", reply.body);
        assert_eq!(reply.code(), "csrf_failed", "{name}");
    }
    let created = create(Some(&s.csrf), &cookies).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let listed = with_cookies(&app, &cookies, app.client.get(app.url("/api/v1/posts"))).await;
    assert_eq!(listed.status, 200, "safe methods need no CSRF token");

    // Cookie sessions may manage API keys (with the CSRF token).
    let key = app
        .send(
            app.client
                .post(app.url("/api/v1/auth/api-keys"))
                .json(&json!({"name": "from the browser"}))
                .header("cookie", &cookies)
                .header("x-csrf-token", &s.csrf),
        )
        .await;
    assert_eq!(key.status, 201, "{}", key.body);
}

async fn authorization_wins_over_cookies_and_logout_clears_them(app: TestApp) {
    app.register("ada@example.com").await;
    let bob = app.register("bob@example.com").await;
    let bob_token = bob["access_token"].as_str().unwrap();
    let s = session_login(&app, "ada@example.com", "correct horse").await;
    let cookies = s.cookie_header();
    let me = app
        .send_as(
            bob_token,
            app.client
                .get(app.url("/api/v1/auth/me"))
                .header("cookie", &cookies),
        )
        .await;
    assert_eq!(
        me.body["data"]["email"], "bob@example.com",
        "Authorization wins"
    );
    let created = app
        .send_as(
            bob_token,
            app.client
                .post(app.url("/api/v1/posts"))
                .json(&json!({"title": "bearer"}))
                .header("cookie", &cookies),
        )
        .await;
    assert_eq!(
        created.status, 201,
        "no CSRF token with Authorization: {}",
        created.body
    );
    let stale = "strata_session=0190aaaa.bbbb; strata_csrf=x";
    let ignored = app
        .send_as(
            bob_token,
            app.client
                .get(app.url("/api/v1/auth/me"))
                .header("cookie", stale),
        )
        .await;
    assert_eq!(
        ignored.status, 200,
        "a bad cookie is ignored under Authorization"
    );
    let bad = with_cookies(&app, stale, app.client.get(app.url("/api/v1/auth/me"))).await;
    assert_eq!(bad.status, 401);
    assert_eq!(bad.code(), "invalid_token");

    let no_csrf = with_cookies(
        &app,
        &cookies,
        app.client.post(app.url("/api/v1/auth/logout")),
    )
    .await;
    assert_eq!(
        no_csrf.status, 403,
        "logout by cookie needs the CSRF token too"
    );
    let out = with_cookies(
        &app,
        &cookies,
        app.client
            .post(app.url("/api/v1/auth/logout"))
            .header("x-csrf-token", &s.csrf),
    )
    .await;
    assert_eq!(out.status, 204, "{}", out.body);
    let cleared = set_cookies(&out);
    for name in ["strata_session=", "strata_csrf="] {
        assert!(
            cleared
                .iter()
                .any(|l| l.starts_with(name) && l.contains("Max-Age=0")),
            "{name} cleared in {cleared:?}"
        );
    }
    let after = with_cookies(&app, &cookies, app.client.get(app.url("/api/v1/auth/me"))).await;
    assert_eq!(after.status, 401, "the session ended at once");
    assert_eq!(after.code(), "invalid_token");
    assert!(set_cookies(&after).iter().any(|l| l.contains("Max-Age=0")));
    let again = app
        .send(
            app.client
                .post(app.url("/api/v1/auth/login?mode=session"))
                .json(&json!({"email": "ada@example.com", "password": "correct horse"}))
                .header("cookie", &cookies),
        )
        .await;
    assert_eq!(
        again.status, 200,
        "a stale cookie does not stop a new sign-in"
    );
    let unknown_mode = app
        .post(
            "/api/v1/auth/login?mode=magic",
            &json!({"email": "ada@example.com", "password": "correct horse"}),
        )
        .await;
    assert_eq!(unknown_mode.status, 400);
    assert_eq!(unknown_mode.code(), "invalid_query");
}

/// How many sessions were used (recorded) since `seconds` ago, read behind the server's back.
async fn sessions_used_within(app: &TestApp, seconds: i64) -> String {
    let since = app.sql_datetime(chrono::Utc::now() - chrono::Duration::seconds(seconds));
    let cast = if app.backend == Backend::Mysql {
        "CHAR"
    } else {
        "TEXT"
    };
    app.query_texts(&format!(
        "SELECT CAST(COUNT(*) AS {cast}) FROM _sessions WHERE last_used_at > {since}"
    ))
    .await
    .remove(0)
}

async fn sessions_end_when_idle_or_too_old_and_record_use_once_a_minute(app: TestApp) {
    app.register("ada@example.com").await;
    let me = |s: &Session| {
        let cookies = s.cookie_header();
        app.send(
            app.client
                .get(app.url("/api/v1/auth/me"))
                .header("cookie", cookies),
        )
    };
    let ago = |d: chrono::Duration| app.sql_datetime(chrono::Utc::now() - d);

    let idle = session_login(&app, "ada@example.com", "correct horse").await;
    app.execute_sql(&format!(
        "UPDATE _sessions SET last_used_at = {}",
        ago(chrono::Duration::days(8))
    ))
    .await;
    let reply = me(&idle).await;
    assert_eq!(
        reply.status, 401,
        "idle past auth.session_idle_ttl: {}",
        reply.body
    );

    let old = session_login(&app, "ada@example.com", "correct horse").await;
    app.execute_sql(&format!(
        "UPDATE _sessions SET expires_at = {}",
        ago(chrono::Duration::seconds(1))
    ))
    .await;
    assert_eq!(me(&old).await.status, 401, "past auth.session_ttl");

    let used = session_login(&app, "ada@example.com", "correct horse").await;
    app.execute_sql(&format!(
        "UPDATE _sessions SET last_used_at = {}",
        ago(chrono::Duration::minutes(2))
    ))
    .await;
    assert_eq!(me(&used).await.status, 200);
    assert_eq!(
        sessions_used_within(&app, 60).await,
        "1",
        "a use after a minute is recorded"
    );
    app.execute_sql(&format!(
        "UPDATE _sessions SET last_used_at = {}",
        ago(chrono::Duration::seconds(30))
    ))
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(me(&used).await.status, 200);
    assert_eq!(
        sessions_used_within(&app, 20).await,
        "0",
        "at most once a minute"
    );
}
