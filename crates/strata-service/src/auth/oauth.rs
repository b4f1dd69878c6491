//! OAuth2/OIDC sign-in (SPEC §6, §14 "Sign-in flows"). `authorize` remembers the request server-side (the
//! `state` stored hashed, single use, 10 minutes, with the PKCE verifier, nonce, `redirect_to` and mode) and
//! sends the browser to the provider; `callback` spends the state, trades the code for who signed in, links or
//! creates the user, and sends the browser back to `redirect_to` with a single-use `code` (60 s, stored hashed)
//! that `exchange` trades for a token pair; no token ever travels in a URL. In session mode the callback sets
//! the session cookie instead.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use strata_auth::secret;
use strata_core::{Error, ErrorCode, Record, Value};
use strata_store::StoreError;
use strata_store::auth::{AuthOp, AuthReply, OAuthOp, OAuthReply, PendingAuthorization};
use uuid::Uuid;

use super::AuthService;
use super::flows::{SignInMode, SignedIn};
use super::oauth_config::OAuthProviderSettings;
use super::oauth_provider::Provider;
use super::sessions::SessionStarted;
use crate::context::Context;
use crate::error::from_store;

/// How long an authorization request may take at the provider.
const STATE_TTL: Duration = Duration::from_secs(10 * 60);
/// How long the code handed to `redirect_to` lives.
const CODE_TTL: Duration = Duration::from_secs(60);
/// How long a provider may take to answer.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// `[auth.oauth2.*]` and `auth.redirect_urls`.
#[derive(Debug, Clone, Default)]
pub struct OAuthConfig {
    pub providers: Vec<(String, OAuthProviderSettings)>,
    /// Where the browser may be sent back to; `redirect_to` must equal one.
    pub redirect_urls: Vec<String>,
}

/// The configured providers and the HTTP client that talks to them.
pub(super) struct OAuth {
    providers: HashMap<String, Arc<Provider>>,
    redirect_urls: Vec<String>,
    http: reqwest::Client,
}

impl OAuth {
    pub fn new(config: &OAuthConfig, public_url: &str) -> Result<OAuth, Error> {
        let mut providers = HashMap::new();
        for (name, settings) in &config.providers {
            if let Some(problem) = settings.problem() {
                return Err(Error::internal(anyhow::anyhow!(
                    "[auth.oauth2.{name}]: {problem}"
                )));
            }
            let provider = Provider::new(name, settings.clone(), public_url);
            providers.insert(name.clone(), Arc::new(provider));
        }
        // reqwest's rustls has no crypto of its own here: ring, installed once for the process.
        #[cfg(feature = "oauth2-tls")]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .user_agent("strata")
            .build()
            .map_err(|e| Error::internal(anyhow::anyhow!("the OAuth2 HTTP client: {e}")))?;
        Ok(OAuth {
            providers,
            redirect_urls: config.redirect_urls.clone(),
            http,
        })
    }
}

/// Where the callback sends the browser, and in session mode the cookies to set.
#[derive(Debug)]
pub struct OAuthLanding {
    pub location: String,
    pub session: Option<SessionStarted>,
}

/// What the provider sent back to the callback.
#[derive(Debug, Default)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    /// RFC 6749 §4.1.2.1: the user declined, or the provider refused the request.
    pub error: Option<String>,
}

fn bad_state() -> Error {
    Error::invalid_query("the state is unknown, used or expired; start the sign-in again")
}

/// `url` with `name=value` added to its query.
fn with_param(url: &str, name: &str, value: &str) -> Result<String, Error> {
    let mut url = url::Url::parse(url).map_err(|e| Error::internal(anyhow::anyhow!(e)))?;
    url.query_pairs_mut().append_pair(name, value);
    Ok(url.into())
}

impl AuthService {
    fn provider(&self, name: &str) -> Result<Arc<Provider>, Error> {
        self.inner
            .oauth
            .providers
            .get(name)
            .cloned()
            .ok_or_else(|| Error::new(ErrorCode::NotFound, "no such sign-in provider"))
    }

    async fn oauth_op(&self, op: OAuthOp) -> Result<OAuthReply, Error> {
        match self.op(AuthOp::OAuth(op)).await? {
            AuthReply::OAuth(reply) => Ok(reply),
            _ => Err(Error::internal(anyhow::anyhow!("a store answered oddly"))),
        }
    }

    /// `GET /auth/oauth2/{provider}/authorize?redirect_to=URL[&mode=session]`: the provider's URL to redirect to.
    pub async fn oauth_authorize(
        &self,
        provider: &str,
        redirect_to: Option<&str>,
        mode: Option<&str>,
    ) -> Result<String, Error> {
        let provider = self.provider(provider)?;
        let redirect_to = redirect_to
            .filter(|r| self.inner.oauth.redirect_urls.iter().any(|u| u == r))
            .ok_or_else(|| Error::invalid_query("redirect_to must be one of auth.redirect_urls"))?;
        let mode = match mode {
            None | Some("token") => "token",
            Some("session") => "session",
            Some(_) => return Err(Error::invalid_query("mode must be `session` or `token`")),
        };
        let (state, verifier, nonce) = (
            secret::opaque_token(),
            secret::random_token(48),
            secret::opaque_token(),
        );
        let location = provider
            .authorization_url(&self.inner.oauth.http, &state, &verifier, &nonce)
            .await?;
        let pending = PendingAuthorization {
            provider: provider.name.clone(),
            verifier,
            nonce,
            redirect_to: redirect_to.to_owned(),
            mode: mode.to_owned(),
        };
        self.oauth_op(OAuthOp::SaveState {
            hash: secret::hash(&state),
            pending,
            expires_at: Utc::now() + chrono::Duration::from_std(STATE_TTL).unwrap_or_default(),
        })
        .await?;
        // Housekeeping in a transaction of its own, after the answer.
        let auth = self.clone();
        tokio::spawn(async move {
            if let Err(e) = auth.oauth_op(OAuthOp::Sweep).await {
                tracing::debug!(error = %e, "sweeping expired OAuth2 states failed");
            }
        });
        Ok(location)
    }

    /// `GET /auth/oauth2/{provider}/callback?code&state`: where the browser goes next.
    pub async fn oauth_callback(
        &self,
        ctx: &Context,
        provider: &str,
        params: CallbackParams,
    ) -> Result<OAuthLanding, Error> {
        let provider = self.provider(provider)?;
        let state = params.state.ok_or_else(bad_state)?;
        let OAuthReply::State(Some(pending)) = self
            .oauth_op(OAuthOp::TakeState {
                hash: secret::hash(&state),
                provider: provider.name.clone(),
            })
            .await?
        else {
            return Err(bad_state());
        };
        if let Some(error) = params.error {
            // The user declined at the provider: back to the application, which shows it.
            let error = if error == "access_denied" {
                error
            } else {
                "server_error".into()
            };
            return Ok(OAuthLanding {
                location: with_param(&pending.redirect_to, "error", &error)?,
                session: None,
            });
        }
        let code = params
            .code
            .ok_or_else(|| Error::invalid_query("the provider sent no code"))?;
        let identity = provider
            .identify(
                &self.inner.oauth.http,
                &code,
                &pending.verifier,
                &pending.nonce,
            )
            .await?;
        let user = self.oauth_user(ctx, identity).await?;
        if self.inner.config.require_verified_email && !self.is_verified(&user) {
            return Err(Error::new(
                ErrorCode::InvalidCredentials,
                "verify your email address before signing in",
            ));
        }
        if pending.mode == "session" {
            match self.require_second_factor(&user, SignInMode::Session).await {
                Ok(()) => {}
                // A redirect cannot carry the JSON answer: the application gets the challenge in its URL and
                // finishes at /auth/mfa/totp/verify, which sets the session cookies.
                Err(e) if e.code == ErrorCode::MfaRequired => {
                    let token = e
                        .extensions
                        .iter()
                        .find(|(name, _)| *name == "mfa_token")
                        .and_then(|(_, v)| v.as_str())
                        .unwrap_or_default();
                    let location = with_param(&pending.redirect_to, "error", "mfa_required")?;
                    return Ok(OAuthLanding {
                        location: with_param(&location, "mfa_token", token)?,
                        session: None,
                    });
                }
                Err(e) => return Err(e),
            }
            let signed = self.sign_in_user(user).await?;
            return Ok(OAuthLanding {
                location: pending.redirect_to,
                session: Some(self.start_session(signed).await?),
            });
        }
        let code = secret::opaque_token();
        self.oauth_op(OAuthOp::IssueCode {
            hash: secret::hash(&code),
            user_id: user.id,
            expires_at: Utc::now() + chrono::Duration::from_std(CODE_TTL).unwrap_or_default(),
        })
        .await?;
        Ok(OAuthLanding {
            location: with_param(&pending.redirect_to, "code", &code)?,
            session: None,
        })
    }

    /// Link or create the user of an external identity (SPEC §14).
    async fn oauth_user(
        &self,
        ctx: &Context,
        identity: strata_store::auth::ExternalIdentity,
    ) -> Result<Record, Error> {
        let users = self.inner.users.clone();
        let mut body = serde_json::Map::new();
        body.insert("email".into(), identity.email.clone().into());
        let mut values = crate::body::validate(
            &users,
            &ctx.principal,
            &body,
            crate::body::Mode::Create,
            None,
        )?;
        if let Some(slot) = users
            .field_index("verified")
            .and_then(|i| values.get_mut(i))
        {
            *slot = Value::Bool(identity.email_verified);
        }
        let now = strata_core::value::now();
        let new_user = Record {
            id: Uuid::now_v7(),
            created_at: now,
            updated_at: now,
            version: 1,
            values,
        };
        let exists = || {
            Error::new(
                ErrorCode::AccountExists,
                "an account with this email exists",
            )
        };
        let op = OAuthOp::SignIn {
            identity,
            users,
            new_user,
            scope: ctx.scope(&self.inner.schema),
            meta: ctx.meta(),
        };
        match self.inner.store.auth(AuthOp::OAuth(op)).await {
            Ok(AuthReply::OAuth(OAuthReply::SignedIn { user, .. })) => Ok(user),
            Ok(AuthReply::OAuth(OAuthReply::AccountExists)) => Err(exists()),
            // Two first sign-ins at once: the loser's insert collides.
            Err(StoreError::Unique { .. }) => Err(exists()),
            Err(e) => Err(from_store(e, true)),
            Ok(_) => Err(Error::internal(anyhow::anyhow!("a store answered oddly"))),
        }
    }

    /// `POST /auth/oauth2/exchange {code}`: the token pair, or 401 `mfa_required` when the user enrolled TOTP.
    pub async fn oauth_exchange(&self, code: &str) -> Result<SignedIn, Error> {
        let invalid = || {
            Error::new(
                ErrorCode::InvalidCredentials,
                "the code is unknown, used or expired",
            )
        };
        let OAuthReply::Code(Some(user_id)) = self
            .oauth_op(OAuthOp::RedeemCode {
                hash: secret::hash(code),
            })
            .await?
        else {
            return Err(invalid());
        };
        let user = self.user(user_id).await?.ok_or_else(invalid)?;
        self.require_second_factor(&user, SignInMode::Tokens)
            .await?;
        self.sign_in_user(user).await
    }
}
