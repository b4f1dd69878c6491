//! The `github` preset end to end against a fake GitHub that serves GitHub's real endpoint shapes: the
//! authorize page, `POST /login/oauth/access_token` (JSON only when asked for, errors as 200 with `error`),
//! `GET /user` (no public email, a User-Agent required) and `GET /user/emails` with `primary` and `verified`
//! flags. An account links only by an address GitHub says is verified (SPEC §14).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use strata_service::auth::OAuthProviderSettings;

use crate::helpers::{Backend, TestApp};
use crate::oauth_presets::{
    CLIENT_ID, CLIENT_SECRET, Grants, callback_uri, form, sign_in, signed_in, strata_with,
    verified_local_user,
};

#[derive(Default)]
struct GitHub {
    /// Strata's callback, as registered for the OAuth app.
    redirect_uri: Mutex<String>,
    grants: Grants,
    tokens: Mutex<Vec<String>>,
    /// What `GET /user/emails` lists.
    emails: Mutex<Value>,
}

type Shared = Arc<GitHub>;

async fn authorize(
    State(hub): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let registered = hub.redirect_uri.lock().unwrap().clone();
    match hub
        .grants
        .approve(&query, &registered, &["read:user", "user:email"], false)
    {
        Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
        Err(why) => (StatusCode::BAD_REQUEST, why).into_response(),
    }
}

/// GitHub answers in form encoding unless JSON is asked for, and errors with 200 and an `error` member.
async fn access_token(State(hub): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let form = form(&body);
    let get = |name: &str| form.get(name).cloned().unwrap_or_default();
    let json_wanted = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let answer = if get("client_id") != CLIENT_ID || get("client_secret") != CLIENT_SECRET {
        json!({"error": "incorrect_client_credentials",
               "error_description": "The client_id and/or client_secret passed are incorrect."})
    } else if hub.grants.redeem(&form).is_none() {
        json!({"error": "bad_verification_code",
               "error_description": "The code passed is incorrect or expired."})
    } else {
        let token = format!("gho_{}", uuid::Uuid::now_v7().simple());
        hub.tokens.lock().unwrap().push(token.clone());
        json!({"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"})
    };
    if json_wanted {
        Json(answer).into_response()
    } else {
        let pairs: Vec<String> = answer
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect();
        pairs.join("&").into_response()
    }
}

/// The REST API's checks: a User-Agent (else 403) and a token it issued (`Bearer` or `token`, else 401); the
/// refusal, if any.
fn refusal(hub: &GitHub, headers: &HeaderMap) -> Option<Response> {
    if !headers.contains_key(header::USER_AGENT) {
        let body = json!({"message": "Request forbidden by administrative rules. Please make sure your request has a User-Agent header."});
        return Some((StatusCode::FORBIDDEN, Json(body)).into_response());
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or(v.strip_prefix("token ")))
        .unwrap_or_default();
    if !hub.tokens.lock().unwrap().iter().any(|t| t == token) {
        let body = json!({"message": "Bad credentials", "status": "401"});
        return Some((StatusCode::UNAUTHORIZED, Json(body)).into_response());
    }
    None
}

async fn user(State(hub): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(refused) = refusal(&hub, &headers) {
        return refused;
    }
    Json(json!({
        "login": "octocat", "id": 583231, "node_id": "MDQ6VXNlcjU4MzIzMQ==",
        "avatar_url": "https://avatars.githubusercontent.com/u/583231?v=4", "type": "User",
        "name": "The Octocat", "company": "@github", "email": null,
    }))
    .into_response()
}

async fn user_emails(State(hub): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(refused) = refusal(&hub, &headers) {
        return refused;
    }
    Json(hub.emails.lock().unwrap().clone()).into_response()
}

fn email(address: &str, primary: bool, verified: bool) -> Value {
    json!({"email": address, "primary": primary, "verified": verified, "visibility": null})
}

/// The fake GitHub and a Strata whose `github` preset points at it.
async fn setup(backend: Backend) -> Option<(TestApp, Shared)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hub = Shared::default();
    let app = axum::Router::new()
        .route("/login/oauth/authorize", get(authorize))
        .route("/login/oauth/access_token", post(access_token))
        .route("/user", get(user))
        .route("/user/emails", get(user_emails))
        .with_state(hub.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    // The preset's endpoints, moved to the fake; the emails API is found next to the user API, as on GitHub.
    let settings = OAuthProviderSettings {
        preset: Some("github".into()),
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        authorization_endpoint: Some(format!("{url}/login/oauth/authorize")),
        token_endpoint: Some(format!("{url}/login/oauth/access_token")),
        userinfo_endpoint: Some(format!("{url}/user")),
        ..Default::default()
    };
    let strata = strata_with(backend, "github", settings).await?;
    *hub.redirect_uri.lock().unwrap() = callback_uri(&strata, "github");
    Some((strata, hub))
}

async fn github_signs_in_with_the_primary_verified_address(backend: Backend) {
    let Some((app, hub)) = setup(backend).await else {
        return;
    };
    *hub.emails.lock().unwrap() = json!([
        email("octo@users.noreply.github.com", false, true),
        email("octocat@example.com", true, true),
        email("old@example.com", false, false),
    ]);
    let first = signed_in(&app, "github").await;
    assert_eq!(first["user"]["email"], "octocat@example.com");
    assert_eq!(first["user"]["verified"], true);
    assert!(first["access_token"].is_string());
    // GitHub's user id is the identity: a later sign-in is the same user, even with another primary address.
    *hub.emails.lock().unwrap() = json!([email("renamed@example.com", true, true)]);
    let again = signed_in(&app, "github").await;
    assert_eq!(again["user"]["id"], first["user"]["id"]);
}

async fn github_links_an_account_only_by_a_verified_address(backend: Backend) {
    let Some((app, hub)) = setup(backend).await else {
        return;
    };
    let local = verified_local_user(&app, "ada@example.com").await;
    // Anyone can add an address to a GitHub account; until GitHub has verified it, it proves nothing.
    *hub.emails.lock().unwrap() = json!([email("ada@example.com", true, false)]);
    let (status, _, body) = sign_in(&app, "github").await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("account_exists"), "{body}");
    // With another address verified, that one is the identity: a new user, not Ada's account.
    *hub.emails.lock().unwrap() = json!([
        email("ada@example.com", true, false),
        email("someone@example.com", false, true),
    ]);
    let other = signed_in(&app, "github").await;
    assert_eq!(other["user"]["email"], "someone@example.com");
    assert_ne!(other["user"]["id"], local["id"]);

    let (app, hub) = setup(backend).await.unwrap();
    let local = verified_local_user(&app, "ada@example.com").await;
    *hub.emails.lock().unwrap() = json!([email("ada@example.com", true, true)]);
    let linked = signed_in(&app, "github").await;
    assert_eq!(
        linked["user"]["id"], local["id"],
        "linked to the local user"
    );
}

crate::on_each_backend!(
    github_signs_in_with_the_primary_verified_address,
    github_links_an_account_only_by_a_verified_address,
);
