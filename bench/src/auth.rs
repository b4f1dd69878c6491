//! The benchmark's user (SPEC §13: "an authenticated user"): every request of the load, seeding included, carries
//! `Authorization: Bearer TOKEN`, and the posts belong to this user, so the rules compare `author` with `@auth.id`.
//!
//! Where the token comes from:
//! - `--token` / `STRATA_BENCH_TOKEN`, used as given (an access token or API key); its user's id is read from
//!   `GET /api/v1/auth/me`;
//! - otherwise a fresh user registered (`POST /api/v1/auth/register`, SPEC §6) on the server that seeds.
//!
//! The token is obtained once, from the seeding server, and reused by every later start of Strata on the same
//! database: signing keys live in the database (SPEC §14), every start is given the same issuer
//! ([`ISSUER`]), and the seeding server alone issues tokens that outlive the run ([`SEED_TOKEN_TTL`]). So no
//! measured server hashes a password (Argon2id's memory would show in its peak RSS) and a long run never sees its
//! token expire.

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

/// `auth.issuer` for every Strata the benchmark starts: by default it is the server's URL, whose port changes on
/// every start, and a token from one start would be refused by the next.
pub const ISSUER: &str = "strata-bench";
/// `auth.access_token_ttl` for the seeding server only: long enough for a 1,000,000-record run.
pub const SEED_TOKEN_TTL: &str = "12h";

/// The user the load acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token: String,
    pub user_id: String,
    pub configured: bool,
}

impl Principal {
    /// How the report describes the load's principal.
    pub fn describe(&self) -> &'static str {
        if self.configured {
            "bearer token (configured)"
        } else {
            "bearer token of a registered user"
        }
    }
}

/// The principal for the Strata server at `base_url`.
pub async fn obtain_principal(
    client: &reqwest::Client,
    base_url: &str,
    configured: Option<&str>,
) -> anyhow::Result<Principal> {
    if let Some(token) = configured.filter(|t| !t.is_empty()) {
        let me = call(
            client
                .get(format!("{base_url}/api/v1/auth/me"))
                .bearer_auth(token),
        )
        .await
        .context("reading the configured token's user from /api/v1/auth/me")?;
        return Ok(Principal {
            token: token.to_owned(),
            user_id: string_at(&me, "/data/id")?,
            configured: true,
        });
    }
    let id = uuid::Uuid::now_v7().simple();
    let body = json!({
        "email": format!("bench-{id}@example.com"),
        "password": format!("bench-password-{id}"),
    });
    let signed = call(
        client
            .post(format!("{base_url}/api/v1/auth/register"))
            .json(&body),
    )
    .await
    .context("registering the benchmark's user")?;
    Ok(Principal {
        token: string_at(&signed, "/data/access_token")?,
        user_id: string_at(&signed, "/data/user/id")?,
        configured: false,
    })
}

async fn call(request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
    let response = request.send().await?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("answered {status}: {text}");
    }
    Ok(serde_json::from_str(&text)?)
}

fn string_at(answer: &Value, pointer: &str) -> anyhow::Result<String> {
    answer
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("the answer has no {pointer}"))
}
