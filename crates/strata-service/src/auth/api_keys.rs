//! API keys (SPEC §6, §14): created by a user, shown once, stored as a SHA-256 hash and looked up by id, so a
//! request costs no password hash. A key carries its owner's identity and rights, narrowed by its scopes; an
//! expired or revoked key is 401 `invalid_token`. Verified keys are cached for at most `auth.revocation_poll`,
//! and a revocation here evicts at once.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value as Json};
use strata_auth::secret;
use strata_core::{Error, ErrorCode, Principal, PrincipalKind};
use strata_store::auth::{ApiKeyOp, ApiKeyReply, ApiKeyRow, AuthOp, AuthReply};
use uuid::Uuid;

use super::AuthService;
use super::api_key_input::{self, decode_scopes};
use super::principal::invalid_token;
use crate::context::Context;

/// Uses of one key are recorded at most this often (`last_used_at`).
pub(crate) const TOUCH_GAP: chrono::Duration = chrono::Duration::minutes(1);

/// An API key as its owner sees it. `key` (`sk_<id>_<secret>`) is present only in the answer to its creation.
#[derive(Debug, Clone, Serialize)]
pub struct ApiKeyView {
    pub id: Uuid,
    pub name: String,
    /// `{COLLECTION: [ACTION…]}`, or null for all of the owner's rights.
    pub scopes: Json,
    pub expires_at: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

fn stamp(t: Option<DateTime<Utc>>) -> Option<String> {
    t.as_ref().map(strata_core::value::format_datetime)
}

impl From<&ApiKeyRow> for ApiKeyView {
    fn from(row: &ApiKeyRow) -> Self {
        let scopes = row
            .scopes
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or(Json::Null);
        ApiKeyView {
            id: row.id,
            name: row.name.clone(),
            scopes,
            expires_at: stamp(row.expires_at),
            created_at: strata_core::value::format_datetime(&row.created_at),
            last_used_at: stamp(row.last_used_at),
            key: None,
        }
    }
}

/// The signed-in user's id: 401 when anonymous, 403 for admins and API keys (keys belong to users, and a key
/// never makes another credential).
pub(crate) fn require_user(principal: &Principal) -> Result<Uuid, Error> {
    match (principal.kind, principal.id) {
        (PrincipalKind::User, Some(id)) => Ok(id),
        (PrincipalKind::Anonymous, _) => Err(Error::new(
            ErrorCode::Unauthenticated,
            "sign in to manage your credentials",
        )),
        _ => Err(Error::new(
            ErrorCode::Forbidden,
            "only a signed-in user may do this",
        )),
    }
}

fn bad_key() -> Error {
    invalid_token(ErrorCode::InvalidToken, "the API key is not valid")
}

impl AuthService {
    /// `POST /auth/api-keys`: a new key for the calling user, whose secret is in this answer only.
    pub async fn create_api_key(
        &self,
        ctx: &Context,
        body: &Map<String, Json>,
    ) -> Result<ApiKeyView, Error> {
        let owner = require_user(&ctx.principal)?;
        let input = api_key_input::parse(&self.inner.schema, body, ctx.now)?;
        let id = Uuid::now_v7();
        let key = secret::api_key(id);
        let (_, secret_part) = secret::parse_api_key(&key)
            .ok_or_else(|| Error::internal(anyhow::anyhow!("a new API key does not parse")))?;
        let row = ApiKeyRow {
            id,
            owner,
            name: input.name,
            secret_hash: secret::hash(secret_part),
            scopes: input
                .scopes
                .as_ref()
                .map(|s| api_key_input::scopes_json(s).to_string()),
            expires_at: input.expires_at,
            created_at: strata_core::value::now(),
            last_used_at: None,
            revoked_at: None,
        };
        self.op(AuthOp::ApiKey(ApiKeyOp::Create(row.clone())))
            .await?;
        let mut view = ApiKeyView::from(&row);
        view.key = Some(key);
        Ok(view)
    }

    /// `GET /auth/api-keys`: the caller's keys that are not revoked, never their secrets.
    pub async fn list_api_keys(&self, ctx: &Context) -> Result<Vec<ApiKeyView>, Error> {
        let owner = require_user(&ctx.principal)?;
        match self.op(AuthOp::ApiKey(ApiKeyOp::List { owner })).await? {
            AuthReply::ApiKey(ApiKeyReply::Keys(rows)) => {
                Ok(rows.iter().map(ApiKeyView::from).collect())
            }
            _ => Ok(Vec::new()),
        }
    }

    /// `DELETE /auth/api-keys/{id}`: revoke one of the caller's keys, and the tokens issued for it, at once here
    /// and within `auth.revocation_poll` elsewhere. Another user's key is 404, like one that does not exist.
    pub async fn revoke_api_key(&self, ctx: &Context, id: &str) -> Result<(), Error> {
        let owner = require_user(&ctx.principal)?;
        let id = Uuid::try_parse(id).map_err(|_| Error::not_found())?;
        match self
            .op(AuthOp::ApiKey(ApiKeyOp::Revoke { id, owner }))
            .await?
        {
            AuthReply::ApiKey(ApiKeyReply::Revoked(true)) => {
                self.mark_revoked(id);
                self.inner.keys.remove(&id);
                Ok(())
            }
            _ => Err(Error::not_found()),
        }
    }

    /// The principal of an `sk_…` key (`Authorization: Bearer` or `X-API-Key`).
    /// The principal an API key stands for, by its id (explain): its owner's rights narrowed by its scopes. A
    /// revoked, expired or unknown key is 404.
    pub async fn api_key_principal(&self, id: Uuid) -> Result<Principal, Error> {
        let row = self
            .verified_key(id, None)
            .await
            .map_err(|_| Error::new(ErrorCode::NotFound, "no live API key has this id"))?;
        self.key_principal(&row).await
    }

    pub async fn authenticate_api_key(&self, key: &str) -> Result<Principal, Error> {
        let (id, secret_part) = secret::parse_api_key(key).ok_or_else(bad_key)?;
        let row = self.verified_key(id, Some(secret_part)).await?;
        self.key_principal(&row).await
    }

    /// The principal of an access token issued by the `client_credentials` grant: its `sid` is the key.
    pub(crate) async fn key_token_principal(
        &self,
        key_id: Uuid,
        owner: Uuid,
    ) -> Result<Principal, Error> {
        let row = self.verified_key(key_id, None).await?;
        if row.owner != owner {
            return Err(bad_key());
        }
        self.key_principal(&row).await
    }

    /// A live key by id (its secret checked when given), with its use recorded at most once per [`TOUCH_GAP`].
    pub(crate) async fn verified_key(
        &self,
        id: Uuid,
        secret_part: Option<&str>,
    ) -> Result<ApiKeyRow, Error> {
        if self.is_revoked(&id) {
            return Err(bad_key());
        }
        let ttl = self.inner.config.revocation_poll;
        let row = match self.inner.keys.get(&id, ttl) {
            Some(row) => row,
            None => match self.op(AuthOp::ApiKey(ApiKeyOp::Find { id })).await? {
                AuthReply::ApiKey(ApiKeyReply::Key(Some(row))) => {
                    self.inner.keys.put(id, row.clone());
                    row
                }
                _ => return Err(bad_key()),
            },
        };
        let now = strata_core::value::now();
        let secret_ok = secret_part.is_none_or(|s| {
            secret::constant_time_eq(secret::hash(s).as_bytes(), row.secret_hash.as_bytes())
        });
        if !secret_ok || row.revoked_at.is_some() || row.expires_at.is_some_and(|t| t <= now) {
            return Err(bad_key());
        }
        if row.last_used_at.is_none_or(|t| now - t >= TOUCH_GAP) {
            let touch = ApiKeyOp::Touch {
                id,
                at: now,
                min_gap: TOUCH_GAP,
            };
            match self.op(AuthOp::ApiKey(touch)).await {
                Ok(_) => self.inner.keys.update(&id, |r| r.last_used_at = Some(now)),
                Err(e) => tracing::warn!(error = %e, "recording an API key's use failed"),
            }
        }
        Ok(row)
    }

    /// The owner's principal, as an API key with the key's scopes.
    async fn key_principal(&self, row: &ApiKeyRow) -> Result<Principal, Error> {
        let owner = self.user(row.owner).await?.ok_or_else(bad_key)?;
        let mut principal = self.user_principal(owner);
        principal.kind = PrincipalKind::ApiKey;
        principal.session = Some(row.id);
        principal.scopes = match row.scopes.as_deref() {
            Some(text) => Some(Arc::new(decode_scopes(text).ok_or_else(|| {
                Error::internal(anyhow::anyhow!("stored API key scopes do not parse"))
            })?)),
            None => None,
        };
        Ok(principal)
    }
}
