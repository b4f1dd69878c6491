//! API keys (SPEC §6, §14): `sk_<id>_<secret>`, stored as the SHA-256 of the secret and looked up by id. Each key
//! has a refresh family of the same id (kind `api_key`), which is the `sid` of the access tokens the
//! `client_credentials` grant issues for it: revoking the key revokes that family in the same transaction, so
//! those tokens die with the key and other instances learn of it through the revocation poll.

use chrono::{DateTime, Utc};
use strata_core::{ColType, Value};
use uuid::Uuid;

use super::tables::{API_KEYS, FAMILIES};
use crate::error::StoreResult;
use crate::exec::Exec;
use crate::sql::SqlBuilder;

/// The `kind` of an API key's refresh family.
pub const API_KEY_FAMILY: &str = "api_key";

/// How far in the future a key without an expiry keeps its family.
const NO_EXPIRY_YEARS: i64 = 100;

/// An API key as stored: never the secret, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRow {
    pub id: Uuid,
    /// The user whose rights the key carries.
    pub owner: Uuid,
    pub name: String,
    /// Lowercase hex SHA-256 of the secret part.
    pub secret_hash: String,
    /// The scopes as JSON text (`{"posts": ["list"]}`), `None` for all of the owner's rights.
    pub scopes: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// One API key command.
#[derive(Debug)]
pub enum ApiKeyOp {
    /// Store a new key (its `revoked_at` and `last_used_at` are ignored) and its family.
    Create(ApiKeyRow),
    /// A key by id, revoked or not.
    Find { id: Uuid },
    /// The keys of a user that are not revoked, oldest first.
    List { owner: Uuid },
    /// Revoke a key of `owner` and its family; answers whether there was one to revoke.
    Revoke { id: Uuid, owner: Uuid },
    /// Record a use at `at`, unless one was recorded less than `min_gap` before.
    Touch {
        id: Uuid,
        at: DateTime<Utc>,
        min_gap: chrono::Duration,
    },
}

impl ApiKeyOp {
    /// Whether the command only reads.
    pub fn is_read(&self) -> bool {
        matches!(self, ApiKeyOp::Find { .. } | ApiKeyOp::List { .. })
    }
}

/// What an API key command answers.
#[derive(Debug)]
pub enum ApiKeyReply {
    Done,
    Key(Option<ApiKeyRow>),
    Keys(Vec<ApiKeyRow>),
    Revoked(bool),
}

const COLUMNS: &str =
    "id, user_id, name, secret_hash, scopes, expires_at, created_at, last_used_at, revoked_at";
const TYPES: [ColType; 9] = [
    ColType::Uuid,
    ColType::Uuid,
    ColType::Text,
    ColType::Text,
    ColType::Text,
    ColType::Datetime,
    ColType::Datetime,
    ColType::Datetime,
    ColType::Datetime,
];

fn datetime(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::Datetime(t) => Some(*t),
        _ => None,
    }
}

fn decode(row: Vec<Value>) -> StoreResult<ApiKeyRow> {
    match row.as_slice() {
        [
            Value::Uuid(id),
            Value::Uuid(owner),
            Value::Text(name),
            Value::Text(secret_hash),
            scopes,
            expires_at,
            Value::Datetime(created_at),
            last_used_at,
            revoked_at,
        ] => Ok(ApiKeyRow {
            id: *id,
            owner: *owner,
            name: name.clone(),
            secret_hash: secret_hash.clone(),
            scopes: match scopes {
                Value::Text(s) => Some(s.clone()),
                _ => None,
            },
            expires_at: datetime(expires_at),
            created_at: *created_at,
            last_used_at: datetime(last_used_at),
            revoked_at: datetime(revoked_at),
        }),
        _ => Err(anyhow::anyhow!("malformed API key row").into()),
    }
}

fn optional_datetime(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, Value::Datetime)
}

/// Run one command inside the caller's transaction.
pub async fn apply(e: &mut impl Exec, op: ApiKeyOp) -> StoreResult<ApiKeyReply> {
    let d = e.dialect();
    let now = strata_core::value::now();
    match op {
        ApiKeyOp::Create(key) => {
            let mut b = SqlBuilder::new(d);
            b.push("INSERT INTO ")
                .ident(API_KEYS)
                .push(" (id, user_id, name, secret_hash, scopes, expires_at, created_at) VALUES (");
            b.param(Value::Uuid(key.id), ColType::Uuid).push(", ");
            b.param(Value::Uuid(key.owner), ColType::Uuid).push(", ");
            b.param(Value::Text(key.name), ColType::Text).push(", ");
            b.param(Value::Text(key.secret_hash), ColType::Text)
                .push(", ");
            b.param(key.scopes.map_or(Value::Null, Value::Text), ColType::Text)
                .push(", ");
            b.param(optional_datetime(key.expires_at), ColType::Datetime)
                .push(", ");
            b.param(Value::Datetime(key.created_at), ColType::Datetime)
                .push(")");
            e.execute(&b).await?;
            let family_expires = key
                .expires_at
                .unwrap_or_else(|| now + chrono::Duration::days(365 * NO_EXPIRY_YEARS));
            let mut b = SqlBuilder::new(d);
            b.push("INSERT INTO ")
                .ident(FAMILIES)
                .push(" (id, kind, principal_id, created_at, expires_at) VALUES (");
            b.param(Value::Uuid(key.id), ColType::Uuid).push(", ");
            b.param(Value::Text(API_KEY_FAMILY.into()), ColType::Text)
                .push(", ");
            // The key, not its owner: a password change ends sessions, not API keys.
            b.param(Value::Uuid(key.id), ColType::Uuid).push(", ");
            b.param(Value::Datetime(now), ColType::Datetime).push(", ");
            b.param(Value::Datetime(family_expires), ColType::Datetime)
                .push(")");
            e.execute(&b).await?;
            Ok(ApiKeyReply::Done)
        }
        ApiKeyOp::Find { id } => {
            let mut b = SqlBuilder::new(d);
            b.push("SELECT ")
                .push(COLUMNS)
                .push(" FROM ")
                .ident(API_KEYS);
            b.push(" WHERE id = ").param(Value::Uuid(id), ColType::Uuid);
            let row = e.fetch(&b, &TYPES).await?.into_iter().next();
            Ok(ApiKeyReply::Key(row.map(decode).transpose()?))
        }
        ApiKeyOp::List { owner } => {
            let mut b = SqlBuilder::new(d);
            b.push("SELECT ")
                .push(COLUMNS)
                .push(" FROM ")
                .ident(API_KEYS);
            b.push(" WHERE user_id = ")
                .param(Value::Uuid(owner), ColType::Uuid)
                .push(" AND revoked_at IS NULL ORDER BY created_at, id");
            let rows = e.fetch(&b, &TYPES).await?;
            Ok(ApiKeyReply::Keys(
                rows.into_iter().map(decode).collect::<StoreResult<_>>()?,
            ))
        }
        ApiKeyOp::Revoke { id, owner } => {
            let mut b = SqlBuilder::new(d);
            b.push("UPDATE ")
                .ident(API_KEYS)
                .push(" SET revoked_at = ")
                .param(Value::Datetime(now), ColType::Datetime);
            b.push(" WHERE id = ")
                .param(Value::Uuid(id), ColType::Uuid)
                .push(" AND user_id = ")
                .param(Value::Uuid(owner), ColType::Uuid)
                .push(" AND revoked_at IS NULL");
            if e.execute(&b).await? == 0 {
                return Ok(ApiKeyReply::Revoked(false));
            }
            let mut b = SqlBuilder::new(d);
            b.push("UPDATE ")
                .ident(FAMILIES)
                .push(" SET revoked_at = ")
                .param(Value::Datetime(now), ColType::Datetime);
            b.push(" WHERE id = ")
                .param(Value::Uuid(id), ColType::Uuid)
                .push(" AND revoked_at IS NULL");
            e.execute(&b).await?;
            Ok(ApiKeyReply::Revoked(true))
        }
        ApiKeyOp::Touch { id, at, min_gap } => {
            // Conditional, so that instances racing on one key still write at most once per gap.
            let mut b = SqlBuilder::new(d);
            b.push("UPDATE ")
                .ident(API_KEYS)
                .push(" SET last_used_at = ")
                .param(Value::Datetime(at), ColType::Datetime);
            b.push(" WHERE id = ")
                .param(Value::Uuid(id), ColType::Uuid)
                .push(" AND (last_used_at IS NULL OR last_used_at <= ")
                .param(Value::Datetime(at - min_gap), ColType::Datetime)
                .push(")");
            e.execute(&b).await?;
            Ok(ApiKeyReply::Done)
        }
    }
}
