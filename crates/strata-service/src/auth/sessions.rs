//! Cookie sessions (SPEC §14 "Session mode"): `POST /auth/login?mode=session` signs in as `/auth/login` does, then
//! turns the new refresh family into a session: the family's id is the session's `sid` (so logout and password
//! change revoke it like any family), its refresh token is dropped, and the browser gets `strata_session`
//! (`<sid>.<secret>`, the secret stored hashed) and a readable `strata_csrf` derived from the secret. A session
//! ends after `auth.session_idle_ttl` unused or `auth.session_ttl` in all; use is recorded at most once a minute.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use strata_auth::{jwt, secret};
use strata_core::{Error, ErrorCode, Principal};
use strata_store::auth::{AuthOp, AuthReply, SessionOp, SessionReply, SessionRow};
use uuid::Uuid;

use super::AuthService;
use super::flows::{Credentials, SignInMode, SignedIn};
use super::principal::invalid_token;
use crate::context::Context;

/// The HttpOnly cookie holding the session credential.
pub const SESSION_COOKIE: &str = "strata_session";
/// The readable cookie whose value unsafe requests echo in `X-CSRF-Token`.
pub const CSRF_COOKIE: &str = "strata_csrf";

/// Uses of one session are recorded at most this often.
const TOUCH_GAP: chrono::Duration = chrono::Duration::minutes(1);

/// A session just started: the user record and the two cookie values, good for `max_age`.
#[derive(Debug, Clone)]
pub struct SessionStarted {
    /// The user record, as `/auth/login` shows it.
    pub user: Json,
    /// The `strata_session` value: `<sid>.<secret>`.
    pub session: String,
    /// The `strata_csrf` value.
    pub csrf: String,
    /// How long the cookies may live (`auth.session_ttl`).
    pub max_age: Duration,
}

/// What an unsafe request carries to show it was not forged by another site: the `X-CSRF-Token` header and the
/// `strata_csrf` cookie.
#[derive(Debug, Clone, Copy, Default)]
pub struct CsrfProof<'a> {
    pub header: Option<&'a str>,
    pub cookie: Option<&'a str>,
}

/// The CSRF token of a session: bound to its secret, so no other cookie value passes.
fn csrf_for(secret_part: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"strata-csrf:")
        .chain_update(secret_part.as_bytes())
        .finalize();
    URL_SAFE_NO_PAD.encode(digest)
}

fn ended() -> Error {
    invalid_token(ErrorCode::InvalidToken, "the session has ended")
}

fn csrf_failed() -> Error {
    Error::new(
        ErrorCode::CsrfFailed,
        "send the strata_csrf cookie's value in X-CSRF-Token",
    )
}

impl AuthService {
    /// `POST /auth/login?mode=session`: every check of `/auth/login`, answered with cookies instead of tokens.
    pub async fn login_session(
        &self,
        ctx: &Context,
        credentials: Credentials,
    ) -> Result<SessionStarted, Error> {
        let signed = self.login_as(ctx, credentials, SignInMode::Session).await?;
        self.start_session(signed).await
    }

    /// Turn a fresh sign-in's refresh family into a cookie session (password or OAuth2 sign-in alike).
    pub(super) async fn start_session(&self, signed: SignedIn) -> Result<SessionStarted, Error> {
        let claims = jwt::verify(
            &self.ring(),
            &signed.access_token,
            &self.inner.config.issuer,
        )
        .map_err(|e| Error::internal(anyhow::anyhow!("a fresh access token is refused: {e}")))?;
        let id = Uuid::try_parse(&claims.sid).map_err(|e| Error::internal(anyhow::anyhow!(e)))?;
        let secret_part = secret::opaque_token();
        let ttl = self.inner.config.session_ttl;
        self.op(AuthOp::Session(SessionOp::Start {
            id,
            token_hash: secret::hash(&secret_part),
            refresh_hash: secret::hash(&signed.refresh_token),
            expires_at: Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default(),
        }))
        .await?;
        Ok(SessionStarted {
            user: signed.user.unwrap_or(Json::Null),
            session: format!("{}.{secret_part}", id.simple()),
            csrf: csrf_for(&secret_part),
            max_age: ttl,
        })
    }

    /// The principal of a `strata_session` cookie. With `csrf` (an unsafe method), the request must also prove it
    /// is not cross-site: 401 for a session that has ended comes first, then 403 `csrf_failed`.
    pub async fn authenticate_session(
        &self,
        cookie: &str,
        csrf: Option<CsrfProof<'_>>,
    ) -> Result<Principal, Error> {
        let (id, secret_part) = cookie.split_once('.').ok_or_else(ended)?;
        let id = Uuid::try_parse(id).map_err(|_| ended())?;
        let row = self.live_session(id, secret_part).await?;
        if let Some(proof) = csrf {
            let expected = csrf_for(secret_part);
            let ok = match (proof.header, proof.cookie) {
                (Some(header), Some(cookie)) => {
                    secret::constant_time_eq(header.as_bytes(), cookie.as_bytes())
                        && secret::constant_time_eq(header.as_bytes(), expected.as_bytes())
                }
                _ => false,
            };
            if !ok {
                return Err(csrf_failed());
            }
        }
        let mut principal = match row.kind.as_str() {
            "user" => {
                let user = self.user(row.principal_id).await?.ok_or_else(ended)?;
                self.user_principal(user)
            }
            _ => return Err(ended()),
        };
        principal.session = Some(id);
        Ok(principal)
    }

    /// A session that is neither revoked nor past its idle or absolute limit, its use recorded.
    async fn live_session(&self, id: Uuid, secret_part: &str) -> Result<SessionRow, Error> {
        if self.is_revoked(&id) {
            return Err(ended());
        }
        let config = &self.inner.config;
        let row = match self.inner.sessions.get(&id, config.revocation_poll) {
            Some(row) => row,
            None => match self.op(AuthOp::Session(SessionOp::Find { id })).await? {
                AuthReply::Session(SessionReply::Session(Some(row))) => {
                    self.inner.sessions.put(id, row.clone());
                    row
                }
                _ => return Err(ended()),
            },
        };
        let now = strata_core::value::now();
        let idle = chrono::Duration::from_std(config.session_idle_ttl).unwrap_or_default();
        let hash = secret::hash(secret_part);
        if !secret::constant_time_eq(hash.as_bytes(), row.token_hash.as_bytes())
            || row.revoked_at.is_some()
            || row.expires_at <= now
            || now - row.last_used_at >= idle
        {
            return Err(ended());
        }
        if now - row.last_used_at >= TOUCH_GAP {
            let touch = SessionOp::Touch {
                id,
                at: now,
                min_gap: TOUCH_GAP,
            };
            match self.op(AuthOp::Session(touch)).await {
                Ok(_) => self.inner.sessions.update(&id, |r| r.last_used_at = now),
                Err(e) => tracing::warn!(error = %e, "recording a session's use failed"),
            }
        }
        Ok(row)
    }

    /// Whether session cookies are marked `Secure`.
    pub fn cookie_secure(&self) -> bool {
        self.inner.config.cookie_secure
    }
}

#[cfg(test)]
mod tests {
    use super::csrf_for;

    #[test]
    fn the_csrf_token_is_bound_to_the_session_secret() {
        assert_eq!(csrf_for("a"), csrf_for("a"));
        assert_ne!(csrf_for("a"), csrf_for("b"));
        assert_eq!(csrf_for("a").len(), 43);
    }
}
