//! The `google` preset end to end against a fake Google that serves Google's real endpoint shapes: OpenID
//! discovery (issuer `https://accounts.google.com`), the authorize page, `POST /token` with
//! `client_secret_basic`, RS256 ID tokens carrying the request's nonce, and the JWKS. An account links only by an
//! address Google says is verified (SPEC §14); an ID token for another nonce signs nobody in.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use strata_service::auth::OAuthProviderSettings;

use crate::helpers::{Backend, TestApp};
use crate::oauth_presets::{
    CLIENT_ID, CLIENT_SECRET, Grants, callback_uri, form, sign_in, signed_in, strata_with,
    verified_local_user,
};

/// Google's issuer, as its discovery document and ID tokens name it.
const ISSUER: &str = "https://accounts.google.com";
const KID: &str = "c7e04465649ffa606557650c7e65f0a87ae00fe8";
/// A 2048-bit RSA key made for these tests only: PKCS#1 DER, base64.
const KEY: &str = concat!(
    "MIIEoQIBAAKCAQEAwfbD3B33ezYzc/OK9iDCkDbYliXevVNRguhBJtVNYYozKPtlEm5bkxcCJLnAEIgAoE7z+HGP1luNbHsriCOh",
    "0fisdzJ7XtBeFMOWBCXKrQUhvZlBakouhyrwSxaKawRQtZmKxLEbHGG3IPJVweIpfm+DAooJaya3mN6YmZj0BnUBh3r8KeqyOZ8w",
    "LRq0s9ZpvDxSUbLbBt8PArf3gxkIi+YG4LMWg8nsT7c5mBiXl7mo4zU+W99gvC8YwJC9vtVZn77UrX/fEBziR/xt4Z72PzTGD4c8",
    "I8B+HqQoEFAhOSIQ+3WS1BQeL5XNguBkyfVwregkyyOFmNqwYhJkRunoBQIDAQABAoH/B83MRsIhGVP7V5VbTr8CrpeGUoQzi520",
    "9qj7KUgFVQDtp57cJWGxs+yF3ME2EqdmK9nOKkpnZYVJeC18eUqPUcnJJpwuJ1WhQDSeVIxj5/iZr7phNDJheahaNd5lgBv5I1VW",
    "8yyTaqqDzU+MVvPcHe1epNUcJYBPr4oSABwNtWftp1k70YzphexNUlzg7x48feui7vMtxiJRWm+2/fyQ13618A4PWg/oko+r5mhj",
    "oijG07MZUMcFgD5j7tzHpy8Vs1KzW/U7SpMDeeHWmxYJfXjCI2OelYxJoiCQs8G1oXGnuZu3d4GkCK571XiA5DoddZ66v+uxusLt",
    "WxttyyUhAoGBAP/G/FKQ5WN/qM1XjV6XDLT3E/DY2KCgJq3pYtfWWvgFi2lflZu7/pFgcn0m2p2CCt3qTKaJAFjH6ct7W1QrzS0H",
    "ArZ+HHlMW3WrX+T33jdBOCfA4yYOBoDbCLTSgLGGWiZR3m68qaMXYvafBoYZlOhTtBNozMM4xbRCJoMukw1VAoGBAMIiADgVsAnK",
    "e/lVLuFf+aqUhh+DIgCkiVxxdjpOQtano9/MiGk3Fue+UBHpDwV83cPbrEziX1qCzjd6k4mADDRwxghB0PwnBuUlanfQSt1opGxZ",
    "40X4tbgi7YFsfSB6xcijCuuLqG2qSMUbqbfcW2Xkg+BthOPsXiN2Dw3Q6O/xAoGAGKFp1O2dGVrGv5dpxq0XDSop4myPV9B0SRUL",
    "bqt2sSGfjjMlLg0Jc6hs/f5K2RYXw8z3OqZAwUvnCLBFWDKrnGVrbnVweoHO4OLy5hK0dG+0X6ekeBqrp6bwDLGksPO2JLCHkfRb",
    "BZiP8B3aO/mkrEa7NY9HAJmr+DLSkJlgkc0CgYB4TaO/HcmCt8VOBPjRV62bhQD85EGdDlnFPNbcWQVYinimRtS+BxKduDVcdAYI",
    "C5JOPoKu/pXCvE7Y2JA3ZG+ry7sdANRmfjTqqd4ps53BSYijUKzj/rV2D8cJLlb4WrzYkhlBUMGmfCEubO8m7lqBcTQ8TwJMUH0i",
    "EpZPpIfFsQKBgQDNVNqNgNpD6ybdusonoXF4llZLSt2ANLtLGDX3sXYL+s9rHZLIlDI4hUBtf2LHTh55vzsg+vF+99QZwf5/DUD9",
    "ZQEg62T5YmjTEC9NcsjsJou/6Wl9jBcDwZ/i6k10ZYV254H2QVN3X87fbW5BP9Xo/xyAKvUVXZ3c/cWW4i91MA==",
);

#[derive(Default)]
struct Google {
    url: String,
    redirect_uri: Mutex<String>,
    grants: Grants,
    /// The signed-in account: address and whether Google verified it.
    account: Mutex<(String, bool)>,
    /// Sign ID tokens for another nonce than the request's.
    wrong_nonce: Mutex<bool>,
    discoveries: AtomicUsize,
}

type Shared = Arc<Google>;

async fn discovery(State(google): State<Shared>) -> Json<Value> {
    google.discoveries.fetch_add(1, Ordering::SeqCst);
    let url = &google.url;
    Json(json!({
        "issuer": ISSUER,
        "authorization_endpoint": format!("{url}/o/oauth2/v2/auth"),
        "device_authorization_endpoint": format!("{url}/device/code"),
        "token_endpoint": format!("{url}/token"),
        "userinfo_endpoint": format!("{url}/v1/userinfo"),
        "revocation_endpoint": format!("{url}/revoke"),
        "jwks_uri": format!("{url}/oauth2/v3/certs"),
        "response_types_supported": ["code", "token", "id_token", "code token", "code id_token",
                                     "token id_token", "code token id_token", "none"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "email", "email_verified", "exp", "family_name", "given_name",
                             "iat", "iss", "name", "picture", "sub"],
        "code_challenge_methods_supported": ["plain", "S256"],
        "grant_types_supported": ["authorization_code", "refresh_token",
                                  "urn:ietf:params:oauth:grant-type:device_code",
                                  "urn:ietf:params:oauth:grant-type:jwt-bearer"],
    }))
}

async fn authorize(
    State(google): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let registered = google.redirect_uri.lock().unwrap().clone();
    match google
        .grants
        .approve(&query, &registered, &["openid", "email"], true)
    {
        Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
        Err(why) => (StatusCode::BAD_REQUEST, why).into_response(),
    }
}

/// `client_secret_basic` (RFC 6749 §2.3.1: id and secret form-encoded, then Basic).
fn client_authenticated(headers: &HeaderMap) -> bool {
    let Some(encoded) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(decoded) = STANDARD.decode(encoded) else {
        return false;
    };
    let text = String::from_utf8_lossy(&decoded);
    let Some((id, secret)) = text.split_once(':') else {
        return false;
    };
    let form = form(&format!("id={id}&secret={secret}"));
    form["id"] == CLIENT_ID && form["secret"] == CLIENT_SECRET
}

async fn token(State(google): State<Shared>, headers: HeaderMap, body: String) -> Response {
    if !client_authenticated(&headers) {
        let body = json!({"error": "invalid_client", "error_description": "Unauthorized"});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    let form = form(&body);
    let grant = match (
        form.get("grant_type").map(String::as_str),
        google.grants.redeem(&form),
    ) {
        (Some("authorization_code"), Some(grant)) => grant,
        _ => {
            let body = json!({"error": "invalid_grant", "error_description": "Bad Request"});
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
    };
    let (email, verified) = google.account.lock().unwrap().clone();
    let nonce = if *google.wrong_nonce.lock().unwrap() {
        "another request's nonce".to_owned()
    } else {
        grant.nonce.unwrap_or_default()
    };
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": ISSUER, "azp": CLIENT_ID, "aud": CLIENT_ID, "sub": "110169484474386276334",
        "email": email, "email_verified": verified, "at_hash": "HK6E_P6Dh8Y93mRNtsDB1Q",
        "nonce": nonce, "name": "Ada Lovelace", "given_name": "Ada", "family_name": "Lovelace",
        "picture": "https://lh3.googleusercontent.com/a/default-user=s96-c",
        "iat": now, "exp": now + 3600,
    });
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(KID.into());
    let key = signing_key();
    let id_token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    Json(json!({
        "access_token": format!("ya29.{}", uuid::Uuid::now_v7().simple()),
        "expires_in": 3599,
        "scope": "openid https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/userinfo.profile",
        "token_type": "Bearer",
        "id_token": id_token,
    }))
    .into_response()
}

fn signing_key() -> EncodingKey {
    EncodingKey::from_rsa_der(&STANDARD.decode(KEY).unwrap())
}

async fn certs() -> Json<Value> {
    let key = signing_key();
    let mut jwk =
        serde_json::to_value(Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap()).unwrap();
    jwk["kid"] = KID.into();
    jwk["use"] = "sig".into();
    Json(json!({"keys": [jwk]}))
}

/// The fake Google and a Strata whose `google` preset discovers it.
async fn setup(backend: Backend) -> Option<(TestApp, Shared)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let google = Arc::new(Google {
        url: format!("http://{}", listener.local_addr().unwrap()),
        account: Mutex::new(("ada.lovelace@gmail.com".into(), true)),
        ..Google::default()
    });
    let app = axum::Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/o/oauth2/v2/auth", get(authorize))
        .route("/token", post(token))
        .route("/oauth2/v3/certs", get(certs))
        .with_state(google.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    // Only the discovery URL moves to the fake; everything else is the preset's and the document's.
    let settings = OAuthProviderSettings {
        preset: Some("google".into()),
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        discovery_url: Some(format!("{}/.well-known/openid-configuration", google.url)),
        ..Default::default()
    };
    let strata = strata_with(backend, "google", settings).await?;
    *google.redirect_uri.lock().unwrap() = callback_uri(&strata, "google");
    Some((strata, google))
}

async fn google_signs_in_through_discovery_with_an_rs256_id_token(backend: Backend) {
    let Some((app, google)) = setup(backend).await else {
        return;
    };
    let first = signed_in(&app, "google").await;
    assert_eq!(first["user"]["email"], "ada.lovelace@gmail.com");
    assert_eq!(first["user"]["verified"], true);
    assert!(first["access_token"].is_string());
    let again = signed_in(&app, "google").await;
    assert_eq!(again["user"]["id"], first["user"]["id"], "the same `sub`");
    assert_eq!(
        google.discoveries.load(Ordering::SeqCst),
        1,
        "discovered once, then kept"
    );
    // An ID token minted for another sign-in (a replayed or injected one) is refused.
    *google.wrong_nonce.lock().unwrap() = true;
    let (status, _, body) = sign_in(&app, "google").await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("invalid_credentials"), "{body}");
}

async fn google_links_an_account_only_by_a_verified_address(backend: Backend) {
    let Some((app, google)) = setup(backend).await else {
        return;
    };
    let local = verified_local_user(&app, "ada.lovelace@gmail.com").await;
    google.account.lock().unwrap().1 = false;
    let (status, _, body) = sign_in(&app, "google").await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("account_exists"), "{body}");
    google.account.lock().unwrap().1 = true;
    let linked = signed_in(&app, "google").await;
    assert_eq!(
        linked["user"]["id"], local["id"],
        "linked to the local user"
    );
}

crate::on_each_backend!(
    google_signs_in_through_discovery_with_an_rs256_id_token,
    google_links_an_account_only_by_a_verified_address,
);
