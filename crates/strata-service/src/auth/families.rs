//! Refresh families (SPEC §6, §14): the token pair a sign-in starts, its rotation on `POST /auth/refresh` (a
//! reused refresh token revokes its whole family), and `POST /auth/logout`.

use chrono::Utc;
use strata_auth::jwt::{self, AUDIENCE, AccessClaims};
use strata_auth::secret;
use strata_core::{Error, ErrorCode, Principal};
use strata_store::auth::{AuthOp, AuthReply, RefreshOutcome};
use uuid::Uuid;

use super::AuthService;
use super::flows::SignedIn;
use super::principal::invalid_token;

impl AuthService {
    /// A new refresh family with its first token pair.
    pub(super) async fn start_family(
        &self,
        kind: &str,
        principal_id: Uuid,
        roles: Vec<String>,
    ) -> Result<SignedIn, Error> {
        let family = Uuid::now_v7();
        let refresh = secret::opaque_token();
        let expires_at = Utc::now()
            + chrono::Duration::from_std(self.inner.config.refresh_ttl).unwrap_or_default();
        self.op(AuthOp::StartFamily {
            id: family,
            kind: kind.to_owned(),
            principal_id,
            refresh_hash: secret::hash(&refresh),
            expires_at,
        })
        .await?;
        Ok(self.pair(kind, principal_id, family, roles, refresh))
    }

    pub(super) fn pair(
        &self,
        kind: &str,
        principal_id: Uuid,
        family: Uuid,
        roles: Vec<String>,
        refresh: String,
    ) -> SignedIn {
        let now = Utc::now().timestamp();
        let ttl = self.inner.config.access_ttl.as_secs();
        let claims = AccessClaims {
            iss: self.inner.config.issuer.clone(),
            aud: AUDIENCE.into(),
            sub: principal_id.to_string(),
            exp: now + ttl as i64,
            iat: now,
            jti: Uuid::now_v7().to_string(),
            sid: family.to_string(),
            kind: kind.to_owned(),
            roles,
        };
        SignedIn {
            user: None,
            admin: None,
            access_token: jwt::issue(&self.ring(), &claims),
            refresh_token: refresh,
            token_type: "Bearer",
            expires_in: ttl,
        }
    }

    /// `POST /auth/refresh`: spend a refresh token for a new pair in the same family.
    pub async fn refresh(&self, refresh_token: &str) -> Result<SignedIn, Error> {
        let replacement = secret::opaque_token();
        let op = AuthOp::Refresh {
            hash: secret::hash(refresh_token),
            replacement_hash: secret::hash(&replacement),
            expires_at: Utc::now()
                + chrono::Duration::from_std(self.inner.config.refresh_ttl).unwrap_or_default(),
            reuse_interval: chrono::Duration::from_std(self.inner.config.reuse_interval)
                .unwrap_or_default(),
        };
        let outcome = match self.op(op).await? {
            AuthReply::Refreshed(outcome) => outcome,
            _ => RefreshOutcome::Invalid,
        };
        let invalid = || invalid_token(ErrorCode::InvalidToken, "the refresh token is not valid");
        match outcome {
            RefreshOutcome::Rotated {
                family,
                kind,
                principal_id,
            } => {
                let roles = match kind.as_str() {
                    "user" => match self.user(principal_id).await? {
                        Some(user) => self.user_principal(user).roles,
                        None => return Err(invalid()),
                    },
                    _ => Vec::new(),
                };
                Ok(self.pair(&kind, principal_id, family, roles, replacement))
            }
            RefreshOutcome::Reused { family } => {
                self.mark_revoked(family);
                Err(invalid())
            }
            RefreshOutcome::Invalid => Err(invalid()),
        }
    }

    /// `POST /auth/logout`: revoke the refresh family (or session) of the caller's token.
    pub async fn logout(&self, principal: &Principal) -> Result<(), Error> {
        let sid = principal
            .session
            .ok_or_else(|| Error::new(ErrorCode::Unauthenticated, "sign in to sign out"))?;
        self.op(AuthOp::RevokeFamily { id: sid }).await?;
        self.mark_revoked(sid);
        Ok(())
    }
}
