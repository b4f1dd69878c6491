//! OAuth2/OIDC sign-in edge cases against a small in-test provider (an axum app): states that are wrong or
//! reused, replayed codes, ID tokens with a wrong nonce, audience, issuer, expiry or signature, the linking rules
//! of SPEC §14, a GitHub-like provider without ID tokens, and session mode.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::routing::{get, post};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use strata_service::auth::OAuthProviderSettings;

use crate::helpers::{BLOG, Backend, TestApp, spawn_app_configured};
use crate::oauth::{APP_RETURN, Browser, param};

const KEY: &str = "MC4CAQAwBQYDK2VwBCIEIEQqHR3eiNN+CY2Ny9EtMzXFTYaJfG+k4vG2vRQjD1WS";
const KEY_X: &str = "ZobOg43lcX_4MjmE5oNORn3QONvfFXMiHz9rJ6ycmo0";
/// Another key under the same `kid`: a bad signature.
const OTHER_KEY: &str = "MC4CAQAwBQYDK2VwBCIEIL8vEhWDvQYMhD3RYTOsBzxk9k1r3z9QdEfNvqnqgHLk";

#[derive(Default)]
struct Fake {
    url: String,
    /// Codes handed out (code → nonce), and those spent.
    codes: Mutex<HashMap<String, (String, bool)>>,
    /// Claims of the next ID tokens, over the defaults.
    claims: Mutex<Value>,
    /// The address the provider asserts, and whether it says it is verified.
    email: Mutex<(String, bool)>,
}

type Shared = Arc<Fake>;

fn der(b64: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

async fn token(State(fake): State<Shared>, body: String) -> Json<Value> {
    let form = reqwest::Url::parse(&format!("http://x/?{body}")).unwrap();
    let get = |name: &str| {
        form.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let code = get("code").unwrap_or_default();
    let nonce = match fake.codes.lock().unwrap().get_mut(&code) {
        Some((nonce, used)) if !*used => {
            *used = true;
            nonce.clone()
        }
        _ => return Json(json!({"error": "invalid_grant"})),
    };
    let (email, verified) = fake.email.lock().unwrap().clone();
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "iss": fake.url, "aud": "fake-client", "sub": "fake-sub", "iat": now, "exp": now + 300,
        "nonce": nonce, "email": email, "email_verified": verified,
    });
    let overrides = fake.claims.lock().unwrap().clone();
    let mut key = KEY;
    for (k, v) in overrides.as_object().into_iter().flatten() {
        match k.as_str() {
            "bad_signature" => key = OTHER_KEY,
            _ => claims[k] = v.clone(),
        }
    }
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("k1".into());
    let id_token =
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(&der(key))).unwrap();
    Json(json!({"access_token": "at", "token_type": "Bearer", "id_token": id_token}))
}

async fn start_fake() -> Shared {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fake = Arc::new(Fake {
        url: format!("http://{}", listener.local_addr().unwrap()),
        claims: Mutex::new(json!({})),
        email: Mutex::new(("carol@example.com".into(), true)),
        ..Fake::default()
    });
    let jwks =
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": KEY_X, "kid": "k1", "use": "sig"}]});
    let user_fake = fake.clone();
    let emails_fake = fake.clone();
    let app = axum::Router::new()
        .route("/token", post(token))
        .route("/jwks", get(move || async move { Json(jwks) }))
        .route(
            "/user",
            get(|| async { Json(json!({"id": 4242, "login": "octo"})) }),
        )
        .route(
            "/user/emails",
            get(move || async move {
                let (email, verified) = emails_fake.email.lock().unwrap().clone();
                Json(json!([{"email": email, "primary": true, "verified": verified}]))
            }),
        )
        .with_state(user_fake);
    tokio::spawn(async move { axum::serve(listener, app).await });
    fake
}

async fn setup(backend: Backend) -> Option<(TestApp, Shared)> {
    let fake = start_fake().await;
    let url = fake.url.clone();
    let app = spawn_app_configured(backend, BLOG, |s| {
        s.auth.redirect_urls = vec![APP_RETURN.into()];
        let provider = OAuthProviderSettings {
            client_id: "fake-client".into(),
            client_secret: "fake-secret".into(),
            issuer: Some(url.clone()),
            authorization_endpoint: Some(format!("{url}/authorize")),
            token_endpoint: Some(format!("{url}/token")),
            jwks_uri: Some(format!("{url}/jwks")),
            ..Default::default()
        };
        let hub = OAuthProviderSettings {
            kind: Some("github".into()),
            userinfo_endpoint: Some(format!("{url}/user")),
            ..provider.clone()
        };
        s.auth.oauth2.insert("fake".into(), provider);
        s.auth.oauth2.insert("hub".into(), hub);
    })
    .await?;
    Some((app, fake))
}

/// Start a sign-in at Strata, let the provider approve it with a fresh code, and return Strata's callback answer:
/// status, `Location`, body.
async fn sign_in(app: &TestApp, fake: &Fake, provider: &str) -> (u16, Option<String>, String) {
    let callback = start(app, fake, provider, "").await;
    Browser::new().get(&callback).await
}

/// The callback URL the provider would send the browser to, its code registered with the provider.
async fn start(app: &TestApp, fake: &Fake, provider: &str, mode: &str) -> String {
    let authorize =
        format!("/api/v1/auth/oauth2/{provider}/authorize?redirect_to={APP_RETURN}{mode}");
    let (status, to_provider, body) = Browser::new().get(&app.url(&authorize)).await;
    assert_eq!(status, 302, "{body}");
    let to_provider = to_provider.unwrap();
    let code = uuid::Uuid::now_v7().to_string();
    let nonce = param(&to_provider, "nonce").unwrap_or_default();
    fake.codes
        .lock()
        .unwrap()
        .insert(code.clone(), (nonce, false));
    let state = param(&to_provider, "state").unwrap();
    app.url(&format!(
        "/api/v1/auth/oauth2/{provider}/callback?code={code}&state={state}"
    ))
}

pub async fn exchange(app: &TestApp, location: &str) -> Value {
    let code = param(location, "code").expect("a code");
    let reply = app
        .post("/api/v1/auth/oauth2/exchange", &json!({ "code": code }))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["data"].clone()
}

async fn states_and_redirects_are_checked(backend: Backend) {
    let Some((app, fake)) = setup(backend).await else {
        return;
    };
    let unknown = app
        .get(&format!(
            "/api/v1/auth/oauth2/nope/authorize?redirect_to={APP_RETURN}"
        ))
        .await;
    assert_eq!((unknown.status, unknown.code()), (404, "not_found"));
    for query in [
        "",
        "?redirect_to=http://evil.test/",
        "?redirect_to=http://app.test/signed-in/x",
    ] {
        let reply = app
            .get(&format!("/api/v1/auth/oauth2/fake/authorize{query}"))
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (400, "invalid_query"),
            "{query}"
        );
    }
    let callback = start(&app, &fake, "fake", "").await;
    let wrong = app
        .get("/api/v1/auth/oauth2/fake/callback?code=x&state=wrong")
        .await;
    assert_eq!((wrong.status, wrong.code()), (400, "invalid_query"));
    let mut browser = Browser::new();
    let (status, location, _) = browser.get(&callback).await;
    assert_eq!(status, 302);
    assert!(
        location
            .unwrap()
            .starts_with(&format!("{APP_RETURN}?code="))
    );
    let (status, _, body) = browser.get(&callback).await;
    assert_eq!(status, 400, "a state is single use: {body}");
    assert!(body.contains("invalid_query"));
}

async fn bad_id_tokens_and_replayed_codes_are_refused(backend: Backend) {
    let Some((app, fake)) = setup(backend).await else {
        return;
    };
    let past = chrono::Utc::now().timestamp() - 3600;
    for bad in [
        json!({"nonce": "another"}),
        json!({"aud": "someone-else"}),
        json!({"iss": "http://impostor.test"}),
        json!({"exp": past}),
        json!({"bad_signature": true}),
    ] {
        *fake.claims.lock().unwrap() = bad.clone();
        let (status, _, body) = sign_in(&app, &fake, "fake").await;
        assert_eq!(status, 401, "{bad}: {body}");
        assert!(body.contains("invalid_credentials"), "{bad}: {body}");
    }
    *fake.claims.lock().unwrap() = json!({});
    let used = start(&app, &fake, "fake", "").await;
    assert_eq!(Browser::new().get(&used).await.0, 302);
    let fresh = start(&app, &fake, "fake", "").await;
    let replay = format!(
        "{}&state={}",
        used.split('&').next().unwrap(),
        param(&fresh, "state").unwrap()
    );
    let (status, _, body) = Browser::new().get(&replay).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("invalid_credentials"));
}

async fn identities_link_only_by_verified_email(backend: Backend) {
    let Some((app, fake)) = setup(backend).await else {
        return;
    };
    let local = app.register("carol@example.com").await;
    // The local address is not verified: nobody may take the account over by claiming it.
    let (status, _, body) = sign_in(&app, &fake, "fake").await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("account_exists"));
    app.execute_sql("UPDATE users SET verified = true WHERE email = 'carol@example.com'")
        .await;
    fake.email.lock().unwrap().1 = false;
    let (status, _, body) = sign_in(&app, &fake, "fake").await;
    assert_eq!(
        status, 409,
        "the provider does not vouch for the address: {body}"
    );
    fake.email.lock().unwrap().1 = true;
    let (status, location, body) = sign_in(&app, &fake, "fake").await;
    assert_eq!(status, 302, "{body}");
    let signed = exchange(&app, &location.unwrap()).await;
    assert_eq!(
        signed["user"]["id"], local["user"]["id"],
        "linked to the local user"
    );

    // A new address becomes a new user, verified as the provider says.
    *fake.email.lock().unwrap() = ("dave@example.com".into(), false);
    *fake.claims.lock().unwrap() = json!({"sub": "dave"});
    let (_, location, _) = sign_in(&app, &fake, "fake").await;
    let signed = exchange(&app, &location.unwrap()).await;
    assert_eq!(signed["user"]["email"], "dave@example.com");
    assert_eq!(signed["user"]["verified"], false);
}

async fn a_github_like_provider_signs_in_without_an_id_token(backend: Backend) {
    let Some((app, fake)) = setup(backend).await else {
        return;
    };
    *fake.email.lock().unwrap() = ("octo@example.com".into(), true);
    let (status, to_provider, _) = Browser::new()
        .get(&app.url(&format!(
            "/api/v1/auth/oauth2/hub/authorize?redirect_to={APP_RETURN}"
        )))
        .await;
    assert_eq!(status, 302);
    let to_provider = to_provider.unwrap();
    assert!(
        param(&to_provider, "nonce").is_none(),
        "no nonce for plain OAuth2"
    );
    assert_eq!(
        param(&to_provider, "code_challenge_method").as_deref(),
        Some("S256")
    );
    let (status, location, body) = sign_in(&app, &fake, "hub").await;
    assert_eq!(status, 302, "{body}");
    let signed = exchange(&app, &location.unwrap()).await;
    assert_eq!(signed["user"]["email"], "octo@example.com");
    assert_eq!(signed["user"]["verified"], true);
}

async fn session_mode_sets_the_cookie_on_the_redirect(backend: Backend) {
    let Some((app, fake)) = setup(backend).await else {
        return;
    };
    let callback = start(&app, &fake, "fake", "&mode=session").await;
    let mut browser = Browser::new();
    let (status, location, body) = browser.get(&callback).await;
    assert_eq!(
        (status, location.as_deref()),
        (302, Some(APP_RETURN)),
        "{body}"
    );
    assert!(browser.jar.contains_key("strata_session"));
    let (status, _, me) = browser.get(&app.url("/api/v1/auth/me")).await;
    assert_eq!(status, 200, "{me}");
    assert!(me.contains("carol@example.com"), "{me}");
}

/// A redirect cannot carry `mfa_required`'s JSON, so a session sign-in of a user with TOTP goes back to the
/// application with the challenge in the URL and no session; the code then opens the session.
async fn session_mode_with_mfa_hands_the_challenge_to_the_application(backend: Backend) {
    let Some((app, fake)) = setup(backend).await else {
        return;
    };
    let (status, location, body) = sign_in(&app, &fake, "fake").await;
    assert_eq!(status, 302, "{body}");
    let signed = exchange(&app, &location.unwrap()).await;
    let token = signed["access_token"].as_str().unwrap().to_owned();
    let enrolled = crate::mfa::enroll_with(&app, token).await;

    let callback = start(&app, &fake, "fake", "&mode=session").await;
    let mut browser = Browser::new();
    let (status, location, body) = browser.get(&callback).await;
    assert_eq!(status, 302, "{body}");
    let location = location.unwrap();
    assert!(location.starts_with(APP_RETURN), "{location}");
    assert_eq!(param(&location, "error").as_deref(), Some("mfa_required"));
    assert!(
        !browser.jar.contains_key("strata_session"),
        "no session before the code"
    );
    let mfa_token = param(&location, "mfa_token").expect("the challenge");
    let wrong = crate::mfa::verify(
        &app,
        "not-a-challenge",
        &crate::mfa::code(&enrolled.secret, 1),
    )
    .await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    let passed = crate::mfa::verify(&app, &mfa_token, &crate::mfa::code(&enrolled.secret, 1)).await;
    assert_eq!(passed.status, 200, "{}", passed.body);
    assert_eq!(passed.body["data"]["user"]["email"], "carol@example.com");
    assert!(
        passed.body["data"].get("access_token").is_none(),
        "session mode answers no tokens: {}",
        passed.body
    );
    let lines = crate::sessions::set_cookies(&passed);
    assert!(
        lines.iter().any(|l| l.starts_with("strata_session=")),
        "{lines:?}"
    );
}

crate::on_each_backend!(
    session_mode_with_mfa_hands_the_challenge_to_the_application,
    states_and_redirects_are_checked,
    bad_id_tokens_and_replayed_codes_are_refused,
    identities_link_only_by_verified_email,
    a_github_like_provider_signs_in_without_an_id_token,
    session_mode_sets_the_cookie_on_the_redirect,
);
