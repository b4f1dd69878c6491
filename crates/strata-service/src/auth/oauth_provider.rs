//! One configured OAuth2/OIDC provider (`[auth.oauth2.NAME]`, SPEC §2, §6): its endpoints (from OIDC discovery,
//! a preset, or the configuration), the authorization URL (RFC 6749 §4.1.1 with PKCE S256, RFC 7636), the code
//! exchange (RFC 6749 §4.1.3) and who signed in: from a validated ID token (plus UserInfo for claims the token
//! leaves out) or, for GitHub, from its user and emails APIs. The client secret is never logged.

use serde::Deserialize;
use serde_json::Value as Json;
use strata_auth::oidc::{self, Expected};
use strata_core::{Error, ErrorCode};
use strata_store::auth::ExternalIdentity;
use tokio::sync::OnceCell;

use super::oauth_config::{OAuthProviderSettings, ProviderKind};

/// Endpoints, discovered once and then kept.
#[derive(Debug, Clone, Default)]
struct Endpoints {
    issuer: Option<String>,
    authorization: String,
    token: String,
    jwks: Option<String>,
    userinfo: Option<String>,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    id_token: Option<String>,
}

/// A provider ready to sign people in.
pub(super) struct Provider {
    pub name: String,
    settings: OAuthProviderSettings,
    kind: ProviderKind,
    pub redirect_uri: String,
    endpoints: OnceCell<Endpoints>,
}

/// The provider could not be reached or answered nonsense: 503, the details in the log only.
fn unreachable(provider: &str, what: &str, e: impl std::error::Error) -> Error {
    let mut error = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        error = format!("{error}: {cause}");
        source = cause.source();
    }
    tracing::warn!(provider, error, "OAuth2 provider: {what} failed");
    Error::new(
        ErrorCode::Unavailable,
        "the sign-in provider could not be reached; try again shortly",
    )
}

fn refused(detail: &str) -> Error {
    Error::new(ErrorCode::InvalidCredentials, detail.to_owned())
}

impl Provider {
    pub fn new(name: &str, settings: OAuthProviderSettings, public_url: &str) -> Provider {
        let kind = settings.kind();
        let redirect_uri = settings.redirect_uri.clone().unwrap_or_else(|| {
            format!(
                "{}/api/v1/auth/oauth2/{name}/callback",
                public_url.trim_end_matches('/')
            )
        });
        Provider {
            name: name.to_owned(),
            settings,
            kind,
            redirect_uri,
            endpoints: OnceCell::new(),
        }
    }

    pub fn is_oidc(&self) -> bool {
        self.kind == ProviderKind::Oidc
    }

    /// The endpoints: configured ones win over discovered ones; discovery runs at the first sign-in (and again
    /// after a failure), so the server starts while a provider is down.
    async fn endpoints(&self, http: &reqwest::Client) -> Result<&Endpoints, Error> {
        self.endpoints
            .get_or_try_init(|| async {
                let s = &self.settings;
                let mut found = match (&self.kind, s.discovery_url()) {
                    (ProviderKind::Oidc, Some(url)) => {
                        let d: Discovery = get_json(http, &url, None)
                            .await
                            .map_err(|e| unreachable(&self.name, "discovery", e))?;
                        Endpoints {
                            issuer: Some(d.issuer),
                            authorization: d.authorization_endpoint,
                            token: d.token_endpoint,
                            jwks: Some(d.jwks_uri),
                            userinfo: d.userinfo_endpoint,
                        }
                    }
                    _ => Endpoints::default(),
                };
                let preset = s.preset_endpoints();
                let pick =
                    |configured: &Option<String>, preset: Option<&str>, found: &mut String| {
                        if let Some(v) = configured.clone().or(preset.map(str::to_owned)) {
                            *found = v;
                        }
                    };
                pick(
                    &s.authorization_endpoint,
                    preset.authorization,
                    &mut found.authorization,
                );
                pick(&s.token_endpoint, preset.token, &mut found.token);
                found.issuer = s.issuer.clone().or(found.issuer);
                found.jwks = s.jwks_uri.clone().or(found.jwks);
                found.userinfo = s
                    .userinfo_endpoint
                    .clone()
                    .or(preset.userinfo.map(str::to_owned))
                    .or(found.userinfo);
                if found.authorization.is_empty() || found.token.is_empty() {
                    return Err(unreachable(
                        &self.name,
                        "configuration",
                        std::io::Error::other("no endpoints"),
                    ));
                }
                Ok(found)
            })
            .await
    }

    /// Where to send the browser: the authorization endpoint with our client id, scopes, `state`, the PKCE
    /// challenge and, for OIDC, the `nonce`.
    pub async fn authorization_url(
        &self,
        http: &reqwest::Client,
        state: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<String, Error> {
        let endpoints = self.endpoints(http).await?;
        let mut url = url::Url::parse(&endpoints.authorization)
            .map_err(|e| unreachable(&self.name, "the authorization endpoint", e))?;
        let challenge = oidc::pkce_challenge(verifier);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &self.settings.client_id)
                .append_pair("redirect_uri", &self.redirect_uri)
                .append_pair("scope", &self.settings.scopes().join(" "))
                .append_pair("state", state)
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
            if self.is_oidc() {
                q.append_pair("nonce", nonce);
            }
        }
        Ok(url.into())
    }

    /// Trade the provider's code (with the PKCE verifier) for who signed in.
    pub async fn identify(
        &self,
        http: &reqwest::Client,
        code: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<ExternalIdentity, Error> {
        let endpoints = self.endpoints(http).await?;
        let tokens = self.exchange(http, endpoints, code, verifier).await?;
        let (subject, mut email, mut verified) = match self.kind {
            ProviderKind::Oidc => {
                let id_token = tokens
                    .id_token
                    .as_deref()
                    .ok_or_else(|| refused("the provider returned no ID token"))?;
                let jwks_uri = endpoints.jwks.as_deref().unwrap_or_default();
                let jwks: Json = get_json(http, jwks_uri, None)
                    .await
                    .map_err(|e| unreachable(&self.name, "fetching the JWKS", e))?;
                let expected = Expected {
                    issuer: endpoints.issuer.as_deref().unwrap_or_default(),
                    client_id: &self.settings.client_id,
                    nonce,
                };
                let claims = oidc::verify_id_token(&jwks, id_token, expected).map_err(|e| {
                    tracing::warn!(provider = %self.name, error = %e, "an ID token was refused");
                    refused("the provider's ID token is not valid")
                })?;
                (claims.subject, claims.email, claims.email_verified)
            }
            ProviderKind::Github => (String::new(), None, false),
        };
        let mut subject = subject;
        if email.is_none()
            && let Some(userinfo) = &endpoints.userinfo
        {
            let info: Json = get_json(http, userinfo, Some(&tokens.access_token))
                .await
                .map_err(|e| unreachable(&self.name, "the user info request", e))?;
            match self.kind {
                ProviderKind::Oidc => {
                    if info["sub"].as_str() != Some(subject.as_str()) {
                        return Err(refused("the provider's user info is for someone else"));
                    }
                    email = info["email"].as_str().map(str::to_owned);
                    verified = info["email_verified"] == Json::Bool(true);
                }
                ProviderKind::Github => {
                    subject = match &info["id"] {
                        Json::Number(n) => n.to_string(),
                        Json::String(s) => s.clone(),
                        _ => return Err(refused("the provider named no user")),
                    };
                    (email, verified) = self
                        .github_email(http, userinfo, &tokens.access_token)
                        .await?;
                }
            }
        }
        let email = email
            .map(|e| e.trim().to_lowercase())
            .filter(|e| e.contains('@'))
            .ok_or_else(|| refused("the provider shared no email address"))?;
        Ok(ExternalIdentity {
            provider: self.name.clone(),
            subject,
            email,
            email_verified: verified,
        })
    }

    /// GitHub's `/user/emails`: the primary verified address, else any verified one, else the primary.
    async fn github_email(
        &self,
        http: &reqwest::Client,
        user_url: &str,
        token: &str,
    ) -> Result<(Option<String>, bool), Error> {
        let url = self
            .settings
            .emails_endpoint
            .clone()
            .unwrap_or_else(|| format!("{}/emails", user_url.trim_end_matches('/')));
        let list: Vec<Json> = get_json(http, &url, Some(token))
            .await
            .map_err(|e| unreachable(&self.name, "the emails request", e))?;
        let flag = |e: &Json, k: &str| e[k] == Json::Bool(true);
        let chosen = list
            .iter()
            .find(|e| flag(e, "primary") && flag(e, "verified"))
            .or_else(|| list.iter().find(|e| flag(e, "verified")))
            .or_else(|| list.iter().find(|e| flag(e, "primary")));
        Ok(match chosen {
            Some(e) => (e["email"].as_str().map(str::to_owned), flag(e, "verified")),
            None => (None, false),
        })
    }

    /// RFC 6749 §4.1.3 with the verifier (RFC 7636 §4.5). OIDC providers get `client_secret_basic`, the method
    /// every server must support (§2.3.1); GitHub takes the credentials in the body.
    async fn exchange(
        &self,
        http: &reqwest::Client,
        endpoints: &Endpoints,
        code: &str,
        verifier: &str,
    ) -> Result<TokenResponse, Error> {
        let s = &self.settings;
        let github = self.kind == ProviderKind::Github;
        let body = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "authorization_code")
                .append_pair("code", code)
                .append_pair("redirect_uri", &self.redirect_uri)
                .append_pair("code_verifier", verifier);
            if github {
                form.append_pair("client_id", &s.client_id)
                    .append_pair("client_secret", &s.client_secret);
            }
            form.finish()
        };
        let mut request = http
            .post(&endpoints.token)
            .header("accept", "application/json")
            .header("content-type", "application/x-www-form-urlencoded");
        if !github {
            let enc =
                |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
            request = request.basic_auth(enc(&s.client_id), Some(enc(&s.client_secret)));
        }
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|e| unreachable(&self.name, "the token request", e))?;
        let status = response.status();
        let body: Json = response
            .json()
            .await
            .map_err(|e| unreachable(&self.name, "reading the token answer", e))?;
        // GitHub answers errors with 200 and an `error` member.
        if let Some(error) = body.get("error").and_then(Json::as_str) {
            tracing::info!(provider = %self.name, error, "the provider refused a code");
            return Err(refused("the provider refused the authorization code"));
        }
        if !status.is_success() {
            return Err(unreachable(
                &self.name,
                "the token request",
                std::io::Error::other(status.to_string()),
            ));
        }
        serde_json::from_value(body).map_err(|e| unreachable(&self.name, "the token answer", e))
    }
}

async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    bearer: Option<&str>,
) -> Result<T, reqwest::Error> {
    let mut request = http.get(url).header("accept", "application/json");
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    request.send().await?.error_for_status()?.json().await
}
