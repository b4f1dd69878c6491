//! Access tokens against forgery (SPEC §6, §14): every forged or malformed credential is 401, tokens verify with
//! an independent JOSE implementation, and key rotation signs nobody out.

use serde_json::{Value, json};

use crate::auth::{decode_part, login};
use crate::helpers::{BLOG, Backend, TestApp, spawn_app_configured};
use crate::on_backends;

on_backends!(forged_and_malformed_tokens_are_401);

async fn forged_and_malformed_tokens_are_401(app: TestApp) {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let signed = app.register("ada@example.com").await;
    let token = signed["access_token"].as_str().unwrap().to_owned();
    let header = decode_part(&token, 0);
    let claims = decode_part(&token, 1);
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    let signature = token.rsplit('.').next().unwrap();

    let mut admin_claims = claims.clone();
    admin_claims["kind"] = json!("admin");
    let tampered = format!("{}.{}.{signature}", b64(&header), b64(&admin_claims));
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "kid": header["kid"]})),
        b64(&claims)
    );
    let unknown_kid = format!(
        "{}.{}.{signature}",
        b64(&json!({"alg": "EdDSA", "kid": "nope"})),
        b64(&claims)
    );
    // Algorithm confusion: HS256 "signed" with the public key from the JWKS.
    let jwks = app.get("/.well-known/jwks.json").await.body;
    let x = jwks["keys"][0]["x"].as_str().unwrap().to_owned();
    let mut hs_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs_header.kid = header["kid"].as_str().map(str::to_owned);
    let confused = jsonwebtoken::encode(
        &hs_header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(x.as_bytes()),
    )
    .unwrap();
    let raw_public = URL_SAFE_NO_PAD.decode(&x).unwrap();
    let confused_raw = jsonwebtoken::encode(
        &hs_header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&raw_public),
    )
    .unwrap();

    for (name, bad) in [
        ("tampered payload", tampered),
        ("alg none", none),
        ("unknown kid", unknown_kid),
        ("HS256 with the public key", confused),
        ("HS256 with the raw public key", confused_raw),
        ("garbage", "not.a.jwt".to_owned()),
    ] {
        let reply = app
            .send_as(&bad, app.client.get(app.url("/api/v1/posts")))
            .await;
        assert_eq!(reply.status, 401, "{name}: {}", reply.body);
        assert_eq!(reply.code(), "invalid_token", "{name}");
        assert!(
            reply
                .header("www-authenticate")
                .is_some_and(|h| h.starts_with("Bearer")),
            "{name}"
        );
    }
    // Tokens signed with the server's own key but with the wrong audience, issuer or an expiry past.
    let key = app.signing_key().await;
    let sign = |edit: &dyn Fn(&mut Value)| {
        let mut c = claims.clone();
        edit(&mut c);
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        h.kid = header["kid"].as_str().map(str::to_owned);
        jsonwebtoken::encode(&h, &c, &key).unwrap()
    };
    let now = chrono::Utc::now().timestamp();
    let good = sign(&|_| {});
    assert_eq!(
        app.send_as(&good, app.client.get(app.url("/api/v1/auth/me")))
            .await
            .status,
        200,
        "the key is the server's"
    );
    for (name, bad, code) in [
        (
            "wrong audience",
            sign(&|c| c["aud"] = json!("other")),
            "invalid_token",
        ),
        (
            "wrong issuer",
            sign(&|c| c["iss"] = json!("https://evil.example")),
            "invalid_token",
        ),
        (
            "expired",
            sign(&|c| c["exp"] = json!(now - 5)),
            "token_expired",
        ),
        (
            "unknown session",
            sign(&|c| c["sub"] = json!(uuid::Uuid::now_v7().to_string())),
            "invalid_token",
        ),
    ] {
        let reply = app
            .send_as(&bad, app.client.get(app.url("/api/v1/posts")))
            .await;
        assert_eq!(reply.status, 401, "{name}: {}", reply.body);
        assert_eq!(reply.code(), code, "{name}");
    }
    // Malformed Authorization headers.
    for value in ["Basic YTpi", "Bearer", "Bearer ", "bearer x", "Token abc"] {
        let reply = app
            .send(
                app.client
                    .get(app.url("/api/v1/posts"))
                    .header("authorization", value),
            )
            .await;
        assert_eq!(reply.status, 401, "{value:?}");
        assert_eq!(reply.code(), "invalid_token", "{value:?}");
    }
}

/// Tokens signed before a key rotation stay valid; new ones use the new key (SPEC §6).
#[tokio::test]
async fn rotating_keys_signs_nobody_out() {
    let Some(app) = spawn_app_configured(Backend::Sqlite, BLOG, |_| {}).await else {
        return;
    };
    let before = app.register("ada@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let old_kid = decode_part(&before, 0)["kid"].clone();
    app.rotate_keys().await;
    // The poller picks the new key up within `auth.revocation_poll`.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let after = login(&app, "ada@example.com", "correct horse").await.body["data"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(decode_part(&after, 0)["kid"], old_kid);
    for token in [&before, &after] {
        assert_eq!(
            app.send_as(token, app.client.get(app.url("/api/v1/auth/me")))
                .await
                .status,
            200
        );
    }
    assert_eq!(
        app.get("/.well-known/jwks.json").await.body["keys"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

/// An independent JOSE implementation (`jose`, on Node.js) verifies Strata's access tokens through the JWKS,
/// and refuses a tampered one.
#[tokio::test]
async fn access_tokens_verify_with_an_independent_implementation() {
    let verifier = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/jwt-verifier");
    if !verifier.join("node_modules/jose").exists() {
        assert!(
            std::env::var("STRATA_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "run `npm ci` in {} (scripts/test.sh does)",
            verifier.display()
        );
        eprintln!("skipping: the jose verifier is not installed");
        return;
    }
    let Some(app) = spawn_app_configured(Backend::Sqlite, BLOG, |s| {
        s.auth.issuer = Some("https://strata.test".into())
    })
    .await
    else {
        return;
    };
    let signed = app.register("ada@example.com").await;
    let token = signed["access_token"].as_str().unwrap();
    let verify = |token: String| {
        let (verifier, jwks) = (verifier.clone(), app.url("/.well-known/jwks.json"));
        async move {
            tokio::process::Command::new("node")
                .current_dir(&verifier)
                .args(["verify.mjs", &jwks, "https://strata.test", &token])
                .output()
                .await
                .expect("node runs")
        }
    };
    let out = verify(token.to_owned()).await;
    assert!(
        out.status.success(),
        "jose refused the token: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verified: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(verified["payload"]["sub"], signed["user"]["id"]);
    assert_eq!(verified["payload"]["iss"], "https://strata.test");
    assert_eq!(verified["header"]["alg"], "EdDSA");

    let mut tampered: Vec<char> = token.chars().collect();
    let i = token.find('.').unwrap() + 5;
    tampered[i] = if tampered[i] == 'A' { 'B' } else { 'A' };
    let out = verify(tampered.into_iter().collect()).await;
    assert!(!out.status.success(), "jose accepted a tampered token");
}
