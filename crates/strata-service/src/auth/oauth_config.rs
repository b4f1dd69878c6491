//! `[auth.oauth2.NAME]` (SPEC §2, §14): one table per provider. `kind = "oidc"` (the default) reads its
//! endpoints from `discovery_url`; `preset = "google"` is OIDC with Google's discovery URL, `preset = "github"`
//! is plain OAuth2 with GitHub's endpoints and its user and emails APIs. Every endpoint can be set explicitly
//! (tests point them at local servers). `client_secret` never reaches a log.

use serde::{Deserialize, Serialize};

const GOOGLE_DISCOVERY: &str = "https://accounts.google.com/.well-known/openid-configuration";
const GITHUB_AUTHORIZE: &str = "https://github.com/login/oauth/authorize";
const GITHUB_TOKEN: &str = "https://github.com/login/oauth/access_token";
const GITHUB_USER: &str = "https://api.github.com/user";

/// How a provider says who signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// OpenID Connect: an ID token.
    Oidc,
    /// GitHub's OAuth2: its user and emails APIs.
    Github,
}

/// One `[auth.oauth2.NAME]` table.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OAuthProviderSettings {
    /// `oidc` (default) or `github`.
    pub kind: Option<String>,
    /// `google` or `github`: their endpoints and scopes by default.
    pub preset: Option<String>,
    pub client_id: String,
    pub client_secret: String,
    /// Default `openid email profile` for OIDC, `read:user user:email` for GitHub.
    pub scopes: Vec<String>,
    pub discovery_url: Option<String>,
    pub issuer: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    /// OIDC UserInfo, or GitHub's user API.
    pub userinfo_endpoint: Option<String>,
    /// GitHub's emails API (default: the user API + `/emails`).
    pub emails_endpoint: Option<String>,
    /// Our callback as registered with the provider; default `{auth.issuer}/api/v1/auth/oauth2/NAME/callback`.
    pub redirect_uri: Option<String>,
}

impl std::fmt::Debug for OAuthProviderSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthProviderSettings")
            .field("kind", &self.kind)
            .field("preset", &self.preset)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("discovery_url", &self.discovery_url)
            .finish_non_exhaustive()
    }
}

/// Endpoints a preset supplies.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct PresetEndpoints {
    pub authorization: Option<&'static str>,
    pub token: Option<&'static str>,
    pub userinfo: Option<&'static str>,
}

impl OAuthProviderSettings {
    pub(super) fn kind(&self) -> ProviderKind {
        match (self.kind.as_deref(), self.preset.as_deref()) {
            (Some("github"), _) | (None, Some("github")) => ProviderKind::Github,
            _ => ProviderKind::Oidc,
        }
    }

    pub(super) fn discovery_url(&self) -> Option<String> {
        self.discovery_url
            .clone()
            .or_else(|| (self.preset.as_deref() == Some("google")).then(|| GOOGLE_DISCOVERY.into()))
    }

    pub(super) fn preset_endpoints(&self) -> PresetEndpoints {
        match self.preset.as_deref() {
            Some("github") => PresetEndpoints {
                authorization: Some(GITHUB_AUTHORIZE),
                token: Some(GITHUB_TOKEN),
                userinfo: Some(GITHUB_USER),
            },
            _ => PresetEndpoints::default(),
        }
    }

    pub(super) fn scopes(&self) -> Vec<String> {
        if !self.scopes.is_empty() {
            return self.scopes.clone();
        }
        let defaults: &[&str] = match self.kind() {
            ProviderKind::Oidc => &["openid", "email", "profile"],
            ProviderKind::Github => &["read:user", "user:email"],
        };
        defaults.iter().map(|s| (*s).to_owned()).collect()
    }

    /// What is wrong with the table, if anything (checked at start).
    pub fn problem(&self) -> Option<String> {
        if let Some(kind) = self
            .kind
            .as_deref()
            .filter(|k| !matches!(*k, "oidc" | "github"))
        {
            return Some(format!("kind `{kind}` is not `oidc` or `github`"));
        }
        if let Some(preset) = self
            .preset
            .as_deref()
            .filter(|p| !matches!(*p, "google" | "github"))
        {
            return Some(format!("preset `{preset}` is not `google` or `github`"));
        }
        if self.client_id.is_empty() {
            return Some("client_id is required".into());
        }
        let endpoints_given =
            self.authorization_endpoint.is_some() && self.token_endpoint.is_some();
        match self.kind() {
            ProviderKind::Oidc if self.discovery_url().is_none() && !endpoints_given => {
                Some("an OIDC provider needs discovery_url (or its endpoints)".into())
            }
            ProviderKind::Oidc
                if self.discovery_url().is_none()
                    && (self.issuer.is_none() || self.jwks_uri.is_none()) =>
            {
                Some("without discovery_url, issuer and jwks_uri are required".into())
            }
            ProviderKind::Github if self.preset.is_none() && !endpoints_given => {
                Some("set preset = \"github\" or its endpoints".into())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_secret_never_reaches_debug_output() {
        let settings = OAuthProviderSettings {
            client_secret: "hunter2".into(),
            ..Default::default()
        };
        assert!(!format!("{settings:?}").contains("hunter2"));
    }

    #[test]
    fn presets_fill_in_kind_discovery_and_scopes() {
        let google = OAuthProviderSettings {
            preset: Some("google".into()),
            client_id: "c".into(),
            ..Default::default()
        };
        assert_eq!(google.kind(), ProviderKind::Oidc);
        assert_eq!(google.discovery_url().as_deref(), Some(GOOGLE_DISCOVERY));
        assert_eq!(google.problem(), None);
        let github = OAuthProviderSettings {
            preset: Some("github".into()),
            client_id: "c".into(),
            ..Default::default()
        };
        assert_eq!(github.kind(), ProviderKind::Github);
        assert_eq!(github.scopes(), ["read:user", "user:email"]);
        assert_eq!(github.problem(), None);
    }
}
