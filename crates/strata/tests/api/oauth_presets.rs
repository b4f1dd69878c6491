//! What the GitHub and Google preset tests share: a Strata on a known port (its callback is the redirect URI
//! registered with the fake provider), the provider's side of the authorization code flow with PKCE (RFC 6749
//! §4.1, RFC 7636) as a real provider checks it, and a browser walking the whole flow.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;
use strata_service::auth::OAuthProviderSettings;

use crate::helpers::{BLOG, Backend, TestApp, spawn_app_configured};
use crate::oauth::{APP_RETURN, Browser, free_port};
use crate::oauth_fake::exchange;

pub const CLIENT_ID: &str = "strata-client.apps.example";
pub const CLIENT_SECRET: &str = "s3cret/with+odd&chars";

/// A code the provider handed out, and what it was handed out for.
#[derive(Debug, Clone)]
pub struct Grant {
    pub redirect_uri: String,
    pub challenge: String,
    pub nonce: Option<String>,
    pub spent: bool,
}

/// The provider's codes.
#[derive(Default)]
pub struct Grants(Mutex<HashMap<String, Grant>>);

impl Grants {
    /// The authorization endpoint once the user approves (RFC 6749 §4.1.1, §4.1.2): what Strata asked for is
    /// checked as the provider checks it, and the browser goes back to the registered redirect URI with a code
    /// and the state. `Err` is the provider's error page.
    pub fn approve(
        &self,
        query: &HashMap<String, String>,
        registered_redirect: &str,
        required_scopes: &[&str],
        nonce_required: bool,
    ) -> Result<String, String> {
        let get = |name: &str| query.get(name).cloned().unwrap_or_default();
        if get("client_id") != CLIENT_ID {
            return Err("unknown client_id".into());
        }
        if get("redirect_uri") != registered_redirect {
            return Err(format!(
                "redirect_uri {} is not registered",
                get("redirect_uri")
            ));
        }
        if get("response_type") != "code" {
            return Err("response_type must be code".into());
        }
        if get("code_challenge_method") != "S256" || get("code_challenge").len() != 43 {
            return Err("PKCE S256 is required".into());
        }
        let scopes = get("scope");
        if let Some(missing) = required_scopes
            .iter()
            .find(|s| !scopes.split(' ').any(|given| given == **s))
        {
            return Err(format!("scope {missing} is missing from `{scopes}`"));
        }
        let nonce = query.get("nonce").cloned();
        if nonce_required && nonce.as_deref().is_none_or(str::is_empty) {
            return Err("nonce is required".into());
        }
        let state = get("state");
        if state.is_empty() {
            return Err("state is required".into());
        }
        let code = uuid::Uuid::now_v7().simple().to_string();
        self.0.lock().unwrap().insert(
            code.clone(),
            Grant {
                redirect_uri: get("redirect_uri"),
                challenge: get("code_challenge"),
                nonce,
                spent: false,
            },
        );
        let mut back = reqwest::Url::parse(registered_redirect).unwrap();
        back.query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", &state);
        Ok(back.to_string())
    }

    /// The token endpoint's check of a code (RFC 6749 §4.1.3, RFC 7636 §4.6): live, for this redirect URI, and
    /// the verifier hashes to the challenge. The code is spent either way.
    pub fn redeem(&self, form: &HashMap<String, String>) -> Option<Grant> {
        let get = |name: &str| form.get(name).cloned().unwrap_or_default();
        let mut grants = self.0.lock().unwrap();
        let grant = grants.get_mut(&get("code"))?;
        let fresh = !grant.spent;
        grant.spent = true;
        let verifier = get("code_verifier");
        (fresh
            && get("redirect_uri") == grant.redirect_uri
            && strata_auth::oidc::pkce_challenge(&verifier) == grant.challenge)
            .then(|| grant.clone())
    }
}

/// An `application/x-www-form-urlencoded` body or query string as a map.
pub fn form(body: &str) -> HashMap<String, String> {
    reqwest::Url::parse(&format!("http://x/?{body}"))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A Strata on a free port (so that its callback URL is known before it starts) with `settings` as provider
/// `name`.
pub async fn strata_with(
    backend: Backend,
    name: &str,
    settings: OAuthProviderSettings,
) -> Option<TestApp> {
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    spawn_app_configured(backend, BLOG, |s| {
        s.server.addr = format!("127.0.0.1:{port}");
        s.auth.issuer = Some(public);
        s.auth.redirect_urls = vec![APP_RETURN.into()];
        s.auth.oauth2.insert(name.into(), settings);
    })
    .await
}

/// Strata's callback for provider `name`, as registered with the provider.
pub fn callback_uri(app: &TestApp, name: &str) -> String {
    app.url(&format!("/api/v1/auth/oauth2/{name}/callback"))
}

/// A browser signing in with provider `name`: Strata's authorize endpoint, the provider's (which approves), then
/// Strata's callback, whose answer is returned: status, `Location`, body.
pub async fn sign_in(app: &TestApp, name: &str) -> (u16, Option<String>, String) {
    let mut browser = Browser::new();
    let start = app.url(&format!(
        "/api/v1/auth/oauth2/{name}/authorize?redirect_to={APP_RETURN}"
    ));
    let (status, to_provider, body) = browser.get(&start).await;
    assert_eq!(status, 302, "{body}");
    let (status, to_strata, body) = browser.get(&to_provider.unwrap()).await;
    assert_eq!(status, 302, "the provider approves: {body}");
    let to_strata = to_strata.unwrap();
    assert!(
        to_strata.starts_with(&callback_uri(app, name)),
        "{to_strata}"
    );
    browser.get(&to_strata).await
}

/// Sign in with `name` and trade the code: the signed-in `data`.
pub async fn signed_in(app: &TestApp, name: &str) -> Value {
    let (status, location, body) = sign_in(app, name).await;
    assert_eq!(status, 302, "{body}");
    let location = location.unwrap();
    assert!(location.starts_with(APP_RETURN), "{location}");
    exchange(app, &location).await
}

/// Register `email` locally and mark it verified.
pub async fn verified_local_user(app: &TestApp, email: &str) -> Value {
    let local = app.register(email).await;
    app.execute_sql(&format!(
        "UPDATE users SET verified = true WHERE email = '{email}'"
    ))
    .await;
    local["user"].clone()
}
