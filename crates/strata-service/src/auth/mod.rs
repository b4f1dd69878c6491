//! Authentication (SPEC §6, §14): registration, sign-in, token pairs, refresh rotation, logout, the current
//! principal, admins and signing keys. Revocations reach this instance at once and others within
//! `auth.revocation_poll`, through a poller that also picks up rotated keys.

mod admins;
mod api_key_input;
mod api_keys;
mod cache;
mod email;
mod families;
mod flows;
mod gate;
mod mailer;
mod mfa;
mod oauth;
mod oauth_config;
mod oauth_provider;
mod password_change;
mod principal;
mod sessions;
mod smtp;
mod throttle;
mod token_endpoint;
mod verified;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use strata_auth::{KeyRing, PasswordHasher, PasswordPolicy, SigningKey};
use strata_core::schema::{Collection, Schema, USERS};
use strata_core::{Error, Record};
use strata_store::DynStore;
use strata_store::auth::{AuthOp, AuthReply, StoredKey};
use uuid::Uuid;

pub use api_keys::ApiKeyView;
pub use flows::{Credentials, SignInMode, SignedIn};
pub use mailer::MailConfig;
pub use mfa::{MfaSignedIn, RecoveryCodes, TotpEnrolled, TotpKeySource};
pub use oauth::{CallbackParams, OAuthConfig, OAuthLanding};
pub use oauth_config::OAuthProviderSettings;
pub use sessions::{CSRF_COOKIE, CsrfProof, SESSION_COOKIE, SessionStarted};
pub use smtp::SmtpTls;
pub use token_endpoint::{OAuthError, TokenAnswer, TokenRequest};

use crate::error::from_store;

/// The `[auth]` settings this service needs.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// `iss` of access tokens.
    pub issuer: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub reuse_interval: Duration,
    pub revocation_poll: Duration,
    pub allow_registration: bool,
    pub password: PasswordPolicy,
    /// Whether session cookies carry `Secure`.
    pub cookie_secure: bool,
    /// A cookie session's whole life, and how long it may sit unused.
    pub session_ttl: Duration,
    pub session_idle_ttl: Duration,
    /// `auth.require_verified_email`: registration answers 202 and sign-in waits for a verified address.
    pub require_verified_email: bool,
    /// `[mail]`: how mail goes out and where its links point.
    pub mail: MailConfig,
    /// What seals TOTP secrets at rest.
    pub totp_key: TotpKeySource,
    /// `[auth.oauth2.*]` providers and `auth.redirect_urls`.
    pub oauth: OAuthConfig,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            issuer: "http://127.0.0.1:8080".into(),
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            reuse_interval: Duration::from_secs(10),
            revocation_poll: Duration::from_secs(1),
            allow_registration: true,
            password: PasswordPolicy::default(),
            cookie_secure: true,
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            session_idle_ttl: Duration::from_secs(7 * 24 * 3600),
            require_verified_email: false,
            mail: MailConfig::default(),
            totp_key: TotpKeySource::default(),
            oauth: OAuthConfig::default(),
        }
    }
}

/// Signs people in and tells who a request is from.
#[derive(Clone)]
pub struct AuthService {
    inner: Arc<Inner>,
}

struct Inner {
    store: DynStore,
    users: Arc<Collection>,
    schema: Arc<Schema>,
    config: AuthConfig,
    hasher: PasswordHasher,
    ring: RwLock<Arc<KeyRing>>,
    /// Revoked refresh families and sessions (`sid`), with when; kept as long as their tokens could live.
    revoked: RwLock<HashMap<Uuid, DateTime<Utc>>>,
    /// User records by id, for `@auth`: fresh within `revocation_poll`.
    users_cache: Mutex<HashMap<Uuid, (Instant, Option<Record>)>>,
    throttle: throttle::Throttle,
    /// Access tokens already verified, until their `exp`.
    verified: verified::VerifiedTokens,
    /// Verified API keys and sessions, trusted for `revocation_poll`.
    keys: cache::FreshCache<strata_store::auth::ApiKeyRow>,
    sessions: cache::FreshCache<strata_store::auth::SessionRow>,
    mail: email::MailDesk,
    totp_keys: mfa::TotpKeys,
    oauth: oauth::OAuth,
}

/// Users cached at most; past it the cache starts over.
const USERS_CACHE_MAX: usize = 10_000;

fn decode_key(stored: &StoredKey) -> Option<SigningKey> {
    Some(SigningKey {
        kid: stored.kid.clone(),
        private_der: STANDARD.decode(&stored.private_der).ok()?,
        public: STANDARD.decode(&stored.public).ok()?,
        created_at: stored.created_at,
        retired_at: stored.retired_at,
    })
}

fn encode_key(key: &SigningKey) -> StoredKey {
    StoredKey {
        kid: key.kid.clone(),
        private_der: STANDARD.encode(&key.private_der),
        public: STANDARD.encode(&key.public),
        created_at: key.created_at,
        retired_at: key.retired_at,
    }
}

impl AuthService {
    /// Load the signing keys (creating the first one), the recent revocations, and start the poller.
    pub async fn start(
        store: DynStore,
        schema: Arc<Schema>,
        config: AuthConfig,
    ) -> Result<AuthService, Error> {
        let users = schema
            .collection(USERS)
            .cloned()
            .ok_or_else(|| Error::internal(anyhow::anyhow!("no users collection")))?;
        let hasher = PasswordHasher::new(config.password)
            .map_err(|e| Error::internal(anyhow::anyhow!("password hashing: {e}")))?;
        let ring = load_ring(&store, true).await?;
        let mail = email::MailDesk::new(&config.mail)?;
        let totp_keys = mfa::TotpKeys::new(config.totp_key.clone())?;
        let oauth = oauth::OAuth::new(&config.oauth, &config.issuer)?;
        let service = AuthService {
            inner: Arc::new(Inner {
                store,
                users,
                schema,
                config,
                hasher,
                ring: RwLock::new(Arc::new(ring)),
                revoked: RwLock::new(HashMap::new()),
                users_cache: Mutex::new(HashMap::new()),
                throttle: throttle::Throttle::default(),
                verified: verified::VerifiedTokens::default(),
                keys: cache::FreshCache::default(),
                sessions: cache::FreshCache::default(),
                mail,
                totp_keys,
                oauth,
            }),
        };
        let since = Utc::now()
            - chrono::Duration::from_std(service.inner.config.access_ttl).unwrap_or_default();
        service.poll(since).await?;
        let weak = Arc::downgrade(&service.inner);
        let period = service.inner.config.revocation_poll;
        tokio::spawn(async move {
            let mut last = Utc::now();
            loop {
                tokio::time::sleep(period).await;
                let Some(inner) = weak.upgrade() else { break };
                let service = AuthService { inner };
                // Overlap the window a little: clocks of instances differ.
                let started = Utc::now();
                match service.poll(last - chrono::Duration::seconds(2)).await {
                    Ok(()) => last = started,
                    Err(e) => tracing::warn!(error = %e, "polling revocations failed"),
                }
            }
        });
        Ok(service)
    }

    async fn op(&self, op: AuthOp) -> Result<AuthReply, Error> {
        self.inner
            .store
            .auth(op)
            .await
            .map_err(|e| from_store(e, false))
    }

    /// Merge revocations since `since`, forget those older than any token, and reload keys if they changed.
    async fn poll(&self, since: DateTime<Utc>) -> Result<(), Error> {
        if let AuthReply::Revoked(list) = self.op(AuthOp::RevokedSince { since }).await? {
            let horizon = Utc::now()
                - chrono::Duration::from_std(self.inner.config.access_ttl).unwrap_or_default();
            let mut revoked = self
                .inner
                .revoked
                .write()
                .unwrap_or_else(|e| e.into_inner());
            revoked.extend(list);
            revoked.retain(|_, at| *at >= horizon);
        }
        let ring = load_ring(&self.inner.store, false).await?;
        let current = self.ring();
        if ring.jwks() != current.jwks() || ring.signing_kid() != current.signing_kid() {
            *self.inner.ring.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(ring);
            self.inner.verified.clear();
        }
        Ok(())
    }

    pub(crate) fn ring(&self) -> Arc<KeyRing> {
        self.inner
            .ring
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// `/.well-known/jwks.json`
    pub fn jwks(&self) -> serde_json::Value {
        self.ring().jwks().clone()
    }

    /// Retire the signing key and start signing with a new one (`strata keys rotate`). Tokens signed before stay
    /// valid until they expire.
    pub async fn rotate_keys(&self) -> Result<String, Error> {
        let key = SigningKey::generate();
        self.op(AuthOp::RetireSigningKeys { at: Utc::now() })
            .await?;
        self.op(AuthOp::InsertSigningKey(encode_key(&key))).await?;
        let ring = load_ring(&self.inner.store, false).await?;
        *self.inner.ring.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(ring);
        self.inner.verified.clear();
        Ok(key.kid)
    }

    pub(crate) fn is_revoked(&self, sid: &Uuid) -> bool {
        self.inner
            .revoked
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(sid)
    }

    pub(crate) fn mark_revoked(&self, sid: Uuid) {
        self.inner
            .revoked
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(sid, Utc::now());
    }

    /// A user record, from the cache when fresh.
    pub(crate) async fn user(&self, id: Uuid) -> Result<Option<Record>, Error> {
        let ttl = self.inner.config.revocation_poll;
        if let Some((at, record)) = self
            .inner
            .users_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            && at.elapsed() < ttl
        {
            return Ok(record.clone());
        }
        let record = match self
            .op(AuthOp::User {
                users: self.inner.users.clone(),
                id,
            })
            .await?
        {
            AuthReply::User(record) => record,
            _ => None,
        };
        let mut cache = self
            .inner
            .users_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if cache.len() >= USERS_CACHE_MAX {
            cache.clear();
        }
        cache.insert(id, (Instant::now(), record.clone()));
        Ok(record)
    }

    /// Forget a cached user (their record changed here).
    pub fn forget_user(&self, id: Uuid) {
        self.inner
            .users_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }
}

/// The key ring from the store; with `create`, the first key is made when there is none (instances starting
/// together may both try: the loser reloads the winner's).
async fn load_ring(store: &DynStore, create: bool) -> Result<KeyRing, Error> {
    let load = || async {
        match store
            .auth(AuthOp::SigningKeys)
            .await
            .map_err(|e| from_store(e, false))?
        {
            AuthReply::Keys(keys) => {
                Ok::<_, Error>(keys.iter().filter_map(decode_key).collect::<Vec<_>>())
            }
            _ => Ok(Vec::new()),
        }
    };
    let mut keys = load().await?;
    if create && !keys.iter().any(|k| k.retired_at.is_none()) {
        let key = SigningKey::generate();
        if let Err(e) = store.auth(AuthOp::InsertSigningKey(encode_key(&key))).await {
            tracing::debug!(error = %e, "another instance made the first signing key");
        }
        keys = load().await?;
    }
    KeyRing::new(&keys)
        .ok_or_else(|| Error::internal(anyhow::anyhow!("no signing key is available")))
}
