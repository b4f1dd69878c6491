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
//!
//! The login load signs in with an email and password, so the driver keeps the registered user's
//! [`Credentials`]; with a configured token, whose password it does not know, it registers a user of its own for
//! signing in. Either way that user is registered by the seeding server, which runs with Strata's default Argon2id
//! parameters (the driver sets none), and a password is verified with the parameters of its stored hash: the
//! login load measures Strata's defaults.

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
    /// How to sign in as this user; `None` for a configured token.
    pub credentials: Option<Credentials>,
}

/// An email and password to sign in with.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("email", &self.email)
            .field("password", &"[redacted]")
            .finish()
    }
}

impl Credentials {
    /// A new user's: a unique email and a password within SPEC §6's 8 to 256 characters.
    pub fn fresh() -> Credentials {
        let id = uuid::Uuid::now_v7().simple();
        Credentials {
            email: format!("bench-{id}@example.com"),
            password: format!("bench-password-{id}"),
        }
    }

    /// The body of `POST /api/v1/auth/login` (and of registration).
    pub fn login_body(&self) -> String {
        json!({"email": self.email, "password": self.password}).to_string()
    }
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
            credentials: None,
        });
    }
    let credentials = Credentials::fresh();
    let signed = register(client, base_url, &credentials)
        .await
        .context("registering the benchmark's user")?;
    Ok(Principal {
        token: string_at(&signed, "/data/access_token")?,
        user_id: string_at(&signed, "/data/user/id")?,
        configured: false,
        credentials: Some(credentials),
    })
}

/// Credentials to sign in with on the server at `base_url`: the principal's own, or those of a user registered
/// for the purpose when the principal's token was configured.
pub async fn sign_in_credentials(
    client: &reqwest::Client,
    base_url: &str,
    principal: &Principal,
) -> anyhow::Result<Credentials> {
    if let Some(credentials) = &principal.credentials {
        return Ok(credentials.clone());
    }
    let credentials = Credentials::fresh();
    register(client, base_url, &credentials)
        .await
        .context("registering a user for the login load")?;
    Ok(credentials)
}

/// `POST /api/v1/auth/register` (SPEC §6): the signed-in answer.
async fn register(
    client: &reqwest::Client,
    base_url: &str,
    credentials: &Credentials,
) -> anyhow::Result<Value> {
    call(
        client
            .post(format!("{base_url}/api/v1/auth/register"))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(credentials.login_body()),
    )
    .await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_credentials_are_unique_and_within_the_password_lengths() {
        let (a, b) = (Credentials::fresh(), Credentials::fresh());
        assert_ne!(a.email, b.email);
        assert!((8..=256).contains(&a.password.chars().count()));
    }

    #[test]
    fn the_login_body_is_json_with_email_and_password() {
        let credentials = Credentials {
            email: "a@example.com".into(),
            password: "p\"w\\d-123".into(),
        };
        let body: Value = serde_json::from_str(&credentials.login_body()).unwrap();
        assert_eq!(
            body,
            json!({"email": "a@example.com", "password": "p\"w\\d-123"})
        );
    }

    #[test]
    fn passwords_stay_out_of_debug_output() {
        let credentials = Credentials {
            email: "a@example.com".into(),
            password: "secret-password".into(),
        };
        assert!(!format!("{credentials:?}").contains("secret-password"));
    }
}
