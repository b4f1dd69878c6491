//! `POST /auth/token`, the OAuth2 token endpoint (RFC 6749 §4.3, §4.4, §6; SPEC §14 "Sign-in flows"): the
//! `password` grant signs a user in as `/auth/login` does (`client_id` optional and ignored), `refresh_token`
//! rotates as `/auth/refresh` does, and `client_credentials` takes an API key's id as `client_id` and the whole
//! `sk_…` key as `client_secret`; its access token has the key as `sid`, so it dies with the key. Answers and
//! errors are RFC 6749 §5.1 and §5.2 documents, not problem+json.

use std::collections::HashMap;

use chrono::Utc;
use serde::Serialize;
use strata_auth::jwt::{self, AUDIENCE, AccessClaims};
use strata_auth::secret;
use strata_core::{Error, ErrorCode};
use strata_store::auth::API_KEY_FAMILY;
use uuid::Uuid;

use super::AuthService;
use super::flows::{Credentials, SignedIn};
use crate::context::Context;

/// A token request: its form parameters (each at most once) and the client's HTTP Basic credentials, if sent.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub params: HashMap<String, String>,
    pub basic: Option<(String, String)>,
}

/// A successful answer (RFC 6749 §5.1).
#[derive(Debug, Clone, Serialize)]
pub struct TokenAnswer {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

impl From<SignedIn> for TokenAnswer {
    fn from(signed: SignedIn) -> Self {
        TokenAnswer {
            access_token: signed.access_token,
            token_type: signed.token_type,
            expires_in: signed.expires_in,
            refresh_token: Some(signed.refresh_token),
        }
    }
}

/// An error answer (RFC 6749 §5.2): `{"error", "error_description"}` with its status and headers.
#[derive(Debug, Clone)]
pub struct OAuthError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
    pub headers: Vec<(&'static str, String)>,
}

impl OAuthError {
    fn new(status: u16, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            error,
            description: description.into(),
            headers: Vec::new(),
        }
    }

    /// 400 `invalid_request`: a parameter is missing, repeated or malformed.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(400, "invalid_request", description)
    }

    /// 401 `invalid_client`, with the Basic challenge RFC 6749 §5.2 asks for.
    pub fn invalid_client(description: impl Into<String>) -> Self {
        let mut e = Self::new(401, "invalid_client", description);
        e.headers
            .push(("www-authenticate", "Basic realm=\"strata\"".into()));
        e
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({"error": self.error, "error_description": self.description})
    }

    /// A failure of the sign-in or refresh flows in RFC 6749's terms: a refused grant is `invalid_grant`;
    /// throttling keeps its 429 and `Retry-After`; the server's own trouble is `temporarily_unavailable` or
    /// `server_error`, never with its cause.
    fn from_flow(e: Error) -> Self {
        let mut out = match e.code {
            ErrorCode::RateLimited => Self::new(429, "invalid_grant", e.detail.clone()),
            ErrorCode::Unavailable | ErrorCode::Timeout => {
                Self::new(503, "temporarily_unavailable", e.detail.clone())
            }
            _ if e.status() >= 500 => {
                tracing::error!(error = %e, "token endpoint failed");
                Self::new(
                    500,
                    "server_error",
                    "the server failed to handle the request",
                )
            }
            _ => Self::new(400, "invalid_grant", e.detail.clone()),
        };
        out.headers
            .extend(e.headers.into_iter().filter(|(n, _)| *n == "retry-after"));
        out
    }
}

fn required<'a>(req: &'a TokenRequest, name: &str) -> Result<&'a str, OAuthError> {
    req.params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OAuthError::invalid_request(format!("the {name} parameter is required")))
}

impl AuthService {
    /// Grant an access token (RFC 6749 §4.3, §4.4, §6).
    pub async fn token(&self, ctx: &Context, req: TokenRequest) -> Result<TokenAnswer, OAuthError> {
        match required(&req, "grant_type")? {
            "password" => {
                let credentials = Credentials {
                    email: required(&req, "username")?.to_owned(),
                    password: required(&req, "password")?.to_owned(),
                };
                let signed = self
                    .login(ctx, credentials)
                    .await
                    .map_err(OAuthError::from_flow)?;
                Ok(signed.into())
            }
            "refresh_token" => {
                let token = required(&req, "refresh_token")?;
                let signed = self.refresh(token).await.map_err(OAuthError::from_flow)?;
                Ok(signed.into())
            }
            "client_credentials" => self.client_credentials(&req).await,
            other => Err(OAuthError::new(
                400,
                "unsupported_grant_type",
                format!("the grant type {other:?} is not supported"),
            )),
        }
    }

    /// RFC 6749 §4.4: an API key authenticates as the client (in the form or with HTTP Basic, not both) and gets
    /// an access token for itself, with no refresh token (§4.4.3), that expires no later than the key.
    async fn client_credentials(&self, req: &TokenRequest) -> Result<TokenAnswer, OAuthError> {
        let in_form = (req.params.get("client_id"), req.params.get("client_secret"));
        let (client_id, client_secret) = match (&req.basic, in_form) {
            (Some(_), (_, Some(_))) => {
                return Err(OAuthError::invalid_request(
                    "authenticate the client with one method only",
                ));
            }
            (Some((id, secret)), _) => (id.as_str(), secret.as_str()),
            (None, (Some(id), Some(secret))) => (id.as_str(), secret.as_str()),
            (None, _) => {
                return Err(OAuthError::invalid_client(
                    "client_id and client_secret are required",
                ));
            }
        };
        let refused = || OAuthError::invalid_client("the client credentials are not valid");
        let id = Uuid::try_parse(client_id).map_err(|_| refused())?;
        let (key_id, secret_part) = secret::parse_api_key(client_secret).ok_or_else(refused)?;
        if key_id != id {
            return Err(refused());
        }
        let key = self
            .verified_key(id, Some(secret_part))
            .await
            .map_err(|e| match e.status() {
                500.. => OAuthError::from_flow(e),
                _ => refused(),
            })?;
        let owner = match self.user(key.owner).await {
            Ok(Some(owner)) => owner,
            Ok(None) => return Err(refused()),
            Err(e) => return Err(OAuthError::from_flow(e)),
        };
        let now = Utc::now().timestamp();
        let ttl = i64::try_from(self.inner.config.access_ttl.as_secs()).unwrap_or(i64::MAX);
        let exp = key
            .expires_at
            .map_or(now + ttl, |t| t.timestamp().min(now + ttl));
        let claims = AccessClaims {
            iss: self.inner.config.issuer.clone(),
            aud: AUDIENCE.into(),
            sub: key.owner.to_string(),
            exp,
            iat: now,
            jti: Uuid::now_v7().to_string(),
            sid: key.id.to_string(),
            kind: API_KEY_FAMILY.into(),
            roles: self.user_principal(owner).roles,
        };
        Ok(TokenAnswer {
            access_token: jwt::issue(&self.ring(), &claims),
            token_type: "Bearer",
            expires_in: u64::try_from(exp - now).unwrap_or(0),
            refresh_token: None,
        })
    }
}
