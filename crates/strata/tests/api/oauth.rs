//! OAuth2/OIDC sign-in against a real OpenID Provider (the certified `oidc-provider` npm package, started from
//! `tests/oidc-provider`): the browserless authorization code flow with PKCE, the exchange of the single-use
//! code, the provider refusing a wrong verifier and a replayed code (SPEC §6, §14).

use std::collections::HashMap;
use std::path::PathBuf;

use reqwest::Url;
use strata_service::auth::OAuthProviderSettings;
use tokio::io::AsyncBufReadExt;

use crate::helpers::{BLOG, Backend, TestApp, spawn_app_configured};

/// Where the application wants the browser back.
pub const APP_RETURN: &str = "http://app.test/signed-in";

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A browser without a browser: no automatic redirects, and a cookie jar (names are unique across the hosts
/// these tests visit, so paths and domains are not tracked).
pub struct Browser {
    pub client: reqwest::Client,
    pub jar: HashMap<String, String>,
}

impl Browser {
    pub fn new() -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: HashMap::new(),
        }
    }

    /// GET `url`: the status and the absolute `Location`, cookies stored.
    pub async fn get(&mut self, url: &str) -> (u16, Option<String>, String) {
        let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut request = self.client.get(url);
        if !cookies.is_empty() {
            request = request.header("cookie", cookies.join("; "));
        }
        let response = request.send().await.expect("request sent");
        for line in response.headers().get_all("set-cookie") {
            let line = line.to_str().unwrap();
            let pair = line.split(';').next().unwrap();
            if let Some((name, value)) = pair.split_once('=') {
                self.jar.insert(name.trim().into(), value.into());
            }
        }
        let status = response.status().as_u16();
        let location = response.headers().get("location").map(|l| {
            let base = Url::parse(url).unwrap();
            base.join(l.to_str().unwrap()).unwrap().to_string()
        });
        (status, location, response.text().await.unwrap_or_default())
    }

    /// Follow redirects from `start` until one points where `stop` says; that URL.
    pub async fn follow_until(&mut self, start: &str, stop: impl Fn(&str) -> bool) -> String {
        let mut url = start.to_owned();
        for _ in 0..12 {
            let (status, location, body) = self.get(&url).await;
            let Some(next) = location else {
                panic!("{url} answered {status} without a redirect: {body}");
            };
            if stop(&next) {
                return next;
            }
            url = next;
        }
        panic!("too many redirects from {start}");
    }
}

/// A query parameter of a URL.
pub fn param(url: &str, name: &str) -> Option<String> {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

struct OpenIdProvider {
    url: String,
    _child: tokio::process::Child,
}

fn provider_dir() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc-provider")
}

/// Start `oidc-provider` for a Strata at `strata` (its callback is the client's redirect URI), or `None` (skip)
/// when Node or the package is missing outside CI.
async fn start_provider(port: u16, strata: &str) -> Option<OpenIdProvider> {
    let dir = provider_dir();
    let node = std::process::Command::new("node").arg("--version").output();
    if node.is_err() || !dir.join("node_modules/oidc-provider").exists() {
        assert!(
            std::env::var("STRATA_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "Node and `npm ci` in {} are required (scripts/test.sh runs it)",
            dir.display()
        );
        eprintln!("skipping: Node or oidc-provider is not installed");
        return None;
    }
    let redirect_uri = format!("{strata}/api/v1/auth/oauth2/local/callback");
    let mut child = tokio::process::Command::new("node")
        .current_dir(&dir)
        .args(["server.mjs", &port.to_string(), &redirect_uri])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("node starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("listening") {
                return true;
            }
        }
        false
    });
    assert!(ready.await.unwrap_or(false), "oidc-provider did not start");
    // Keep reading: a closed pipe would kill the OP at its next log line.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Some(OpenIdProvider {
        url: format!("http://127.0.0.1:{port}"),
        _child: child,
    })
}

/// Strata on a known port with provider `local` pointing at a real OP there, and the OP.
async fn setup(backend: Backend) -> Option<(TestApp, OpenIdProvider)> {
    let (op_port, strata_port) = (free_port(), free_port());
    let strata = format!("http://127.0.0.1:{strata_port}");
    // The OP starts first: skipping must not leave a database behind.
    let op = start_provider(op_port, &strata).await?;
    let discovery = format!("{}/.well-known/openid-configuration", op.url);
    let app = spawn_app_configured(backend, BLOG, |s| {
        s.server.addr = format!("127.0.0.1:{strata_port}");
        s.auth.issuer = Some(strata.clone());
        s.auth.redirect_urls = vec![APP_RETURN.into()];
        s.auth.oauth2.insert(
            "local".into(),
            OAuthProviderSettings {
                discovery_url: Some(discovery),
                client_id: "strata-test".into(),
                client_secret: "strata-test-secret".into(),
                ..Default::default()
            },
        );
    })
    .await?;
    Some((app, op))
}

fn authorize_url(app: &TestApp) -> String {
    app.url(&format!(
        "/api/v1/auth/oauth2/local/authorize?redirect_to={APP_RETURN}"
    ))
}

async fn full_code_flow_with_pkce(backend: Backend) {
    let Some((app, op)) = setup(backend).await else {
        return;
    };
    let mut browser = Browser::new();
    let (status, to_provider, _) = browser.get(&authorize_url(&app)).await;
    assert_eq!(status, 302);
    let to_provider = to_provider.unwrap();
    assert!(to_provider.starts_with(&op.url), "{to_provider}");
    assert_eq!(
        param(&to_provider, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert!(param(&to_provider, "nonce").is_some());
    let back = browser
        .follow_until(&to_provider, |u| u.starts_with(APP_RETURN))
        .await;
    assert!(!back.contains("access_token"), "no token in a URL: {back}");
    let code = param(&back, "code").expect("a code for the application");

    let signed = app
        .post(
            "/api/v1/auth/oauth2/exchange",
            &serde_json::json!({ "code": code }),
        )
        .await;
    assert_eq!(signed.status, 200, "{}", signed.body);
    assert_eq!(signed.body["data"]["token_type"], "Bearer");
    assert!(signed.body["data"]["refresh_token"].is_string());
    let token = signed.body["data"]["access_token"].as_str().unwrap();
    let me = app
        .send_as(token, app.client.get(app.url("/api/v1/auth/me")))
        .await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["data"]["email"], "alice@example.com");
    assert_eq!(me.body["data"]["user"]["verified"], true);
    let user_id = me.body["data"]["id"].clone();

    let again = app
        .post(
            "/api/v1/auth/oauth2/exchange",
            &serde_json::json!({ "code": code }),
        )
        .await;
    assert_eq!(again.status, 401, "a code is single use");
    assert_eq!(again.code(), "invalid_credentials");
    let password = app
        .post(
            "/api/v1/auth/login",
            &serde_json::json!({"email": "alice@example.com", "password": ""}),
        )
        .await;
    assert_eq!(password.status, 401, "an OAuth2 user has no password");

    // Signing in again finds the linked identity: the same user.
    let back = browser
        .follow_until(&authorize_url(&app), |u| u.starts_with(APP_RETURN))
        .await;
    let code = param(&back, "code").unwrap();
    let signed = app
        .post(
            "/api/v1/auth/oauth2/exchange",
            &serde_json::json!({ "code": code }),
        )
        .await;
    assert_eq!(signed.body["data"]["user"]["id"], user_id);
}

async fn the_provider_refuses_a_wrong_verifier_and_a_replayed_code(backend: Backend) {
    let Some((app, _op)) = setup(backend).await else {
        return;
    };
    let callback = app.url("/api/v1/auth/oauth2/local/callback");
    let mut browser = Browser::new();
    let at_callback = |u: &str| u.starts_with(&callback);
    // The verifier Strata would send no longer matches the challenge the OP saw: the OP refuses the code.
    let first = browser
        .follow_until(&authorize_url(&app), at_callback)
        .await;
    app.execute_sql(
        "UPDATE _oauth_states SET verifier = 'wrong-verifier-wrong-verifier-wrong-verifier-0'",
    )
    .await;
    let (status, location, body) = browser.get(&first).await;
    assert_eq!((status, location), (401, None), "{body}");
    assert!(body.contains("invalid_credentials"), "{body}");

    // A code spent once is refused when presented again under a fresh state.
    let used = browser
        .follow_until(&authorize_url(&app), at_callback)
        .await;
    let (status, _, body) = browser.get(&used).await;
    assert_eq!(status, 302, "{body}");
    let (_, to_provider, _) = browser.get(&authorize_url(&app)).await;
    let fresh_state = param(&to_provider.unwrap(), "state").unwrap();
    let replay = format!(
        "{callback}?code={}&state={fresh_state}",
        param(&used, "code").unwrap()
    );
    let (status, _, body) = browser.get(&replay).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("invalid_credentials"), "{body}");
    // And the state of a finished sign-in is spent.
    let (status, _, body) = browser.get(&used).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid_query"), "{body}");
}

crate::on_each_backend!(
    full_code_flow_with_pkce,
    the_provider_refuses_a_wrong_verifier_and_a_replayed_code,
);
