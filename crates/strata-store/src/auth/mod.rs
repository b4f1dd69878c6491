//! What authentication asks of a store, as commands run in one transaction each ([`AuthOp`]), written once over
//! any backend's [`Exec`].

mod email_tokens;
mod keys;
mod mfa;
mod oauth;
mod refresh;
mod sessions;
mod signing_keys;
mod tables;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use strata_core::schema::Collection;
use strata_core::{ColType, Record, Value};
use uuid::Uuid;

pub use email_tokens::{EmailTokenKind, EmailTokenOp, EmailTokenReply, Purpose};
pub use keys::{API_KEY_FAMILY, ApiKeyOp, ApiKeyReply, ApiKeyRow};
pub use mfa::{MfaChallenge, MfaOp, MfaReply, Proof, Redemption, TotpEnrolment};
pub use oauth::{ExternalIdentity, OAuthOp, OAuthReply, PendingAuthorization};
pub use refresh::RefreshOutcome;
pub use sessions::{SessionOp, SessionReply, SessionRow};
pub(crate) use tables::tables;
use tables::*;

use crate::error::StoreResult;
use crate::exec::Exec;
use crate::model::{EventMeta, Scope, WriteBatch, WriteOp};

use crate::sql::{SqlBuilder, query};

/// A signing key as stored.
#[derive(Clone)]
pub struct StoredKey {
    pub kid: String,
    /// Base64 of the PKCS#8 DER private key.
    pub private_der: String,
    /// Base64 of the raw public key.
    pub public: String,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// An admin account.
#[derive(Debug, Clone)]
pub struct AdminAccount {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
}

/// One authentication command.
#[derive(Debug)]
pub enum AuthOp {
    /// Insert a `users` record (with its outbox event) and its password hash.
    Register {
        scope: Scope,
        users: Arc<Collection>,
        record: Record,
        password_hash: String,
        meta: EventMeta,
    },
    /// A user and their password hash, by email.
    UserCredential {
        users: Arc<Collection>,
        email: String,
    },
    /// A user record by id.
    User {
        users: Arc<Collection>,
        id: Uuid,
    },
    Admin {
        email: String,
    },
    AdminById {
        id: Uuid,
    },
    CreateAdmin(AdminAccount),
    SigningKeys,
    InsertSigningKey(StoredKey),
    /// Retire every key still signing, as of `at`.
    RetireSigningKeys {
        at: DateTime<Utc>,
    },
    /// A new refresh family (the `sid` of its access tokens) with its first refresh token.
    StartFamily {
        id: Uuid,
        kind: String,
        principal_id: Uuid,
        refresh_hash: String,
        expires_at: DateTime<Utc>,
    },
    /// Spend a refresh token and store its replacement (SPEC §14 reuse rules).
    Refresh {
        hash: String,
        replacement_hash: String,
        expires_at: DateTime<Utc>,
        reuse_interval: chrono::Duration,
    },
    RevokeFamily {
        id: Uuid,
    },
    /// Revoke every family of a principal (password change), but `except`.
    RevokePrincipal {
        principal_id: Uuid,
        except: Option<Uuid>,
    },
    /// Families revoked at or after `since`, with when.
    RevokedSince {
        since: DateTime<Utc>,
    },
    /// API keys: create, find, list, revoke, record use.
    ApiKey(ApiKeyOp),
    /// Cookie sessions and password change.
    Session(SessionOp),
    /// TOTP enrolment, recovery codes and sign-in challenges.
    Mfa(MfaOp),
    /// The single-use tokens of the email flows.
    EmailToken(EmailTokenOp),
    /// OAuth2/OIDC sign-in: states, external identities and exchange codes.
    OAuth(OAuthOp),
}

impl AuthOp {
    /// Whether the command only reads (SQLite runs it on a reader thread).
    pub fn is_read(&self) -> bool {
        matches!(
            self,
            AuthOp::UserCredential { .. }
                | AuthOp::User { .. }
                | AuthOp::Admin { .. }
                | AuthOp::AdminById { .. }
                | AuthOp::SigningKeys
                | AuthOp::RevokedSince { .. }
        ) || matches!(self, AuthOp::ApiKey(op) if op.is_read())
            || matches!(self, AuthOp::Session(op) if op.is_read())
            || matches!(self, AuthOp::Mfa(op) if op.is_read())
            || matches!(self, AuthOp::EmailToken(op) if op.is_read())
    }
}

/// What a command answers.
#[derive(Debug)]
pub enum AuthReply {
    Done,
    Credential(Option<(Record, String)>),
    User(Option<Record>),
    Admin(Option<AdminAccount>),
    Keys(Vec<StoredKey>),
    Refreshed(RefreshOutcome),
    Revoked(Vec<(Uuid, DateTime<Utc>)>),
    ApiKey(ApiKeyReply),
    Session(SessionReply),
    Mfa(MfaReply),
    EmailToken(EmailTokenReply),
    OAuth(OAuthReply),
}

fn text(v: &str) -> Value {
    Value::Text(v.to_owned())
}

/// Run one command inside the caller's transaction.
pub async fn apply(e: &mut impl Exec, op: AuthOp) -> StoreResult<AuthReply> {
    let d = e.dialect();
    let now = strata_core::value::now();
    match op {
        AuthOp::Register {
            scope,
            users,
            record,
            password_hash,
            meta,
        } => {
            let user_id = record.id;
            let batch = WriteBatch {
                scope,
                ops: vec![WriteOp::Insert {
                    collection: users,
                    record,
                    check: None,
                    reads: Vec::new(),
                }],
                meta,
                idempotency: None,
            };
            crate::exec::apply_batch(e, batch)
                .await
                .map_err(|failure| failure.error)?;
            let mut b = SqlBuilder::new(d);
            b.push("INSERT INTO ")
                .ident(CREDENTIALS)
                .push(" (user_id, password_hash, updated_at) VALUES (");
            b.param(Value::Uuid(user_id), ColType::Uuid).push(", ");
            b.param(text(&password_hash), ColType::Text).push(", ");
            b.param(Value::Datetime(now), ColType::Datetime).push(")");
            e.execute(&b).await?;
            Ok(AuthReply::Done)
        }
        AuthOp::UserCredential { users, email } => {
            let mut b = SqlBuilder::new(d);
            query::select_columns(&mut b, &users);
            b.push(", c.password_hash");
            query::from(&mut b, &users);
            b.push(" JOIN ")
                .ident(CREDENTIALS)
                .push(" c ON c.user_id = ")
                .column(query::ALIAS, "id");
            b.push(" WHERE ")
                .column(query::ALIAS, "email")
                .push(" = ")
                .param(text(&email), ColType::Text);
            let mut cols = query::record_columns(&users);
            cols.push(ColType::Text);
            let row = e.fetch(&b, &cols).await?.into_iter().next();
            Ok(AuthReply::Credential(match row {
                Some(mut row) => {
                    let Some(Value::Text(hash)) = row.pop() else {
                        return Err(anyhow::anyhow!("a credential row has no hash").into());
                    };
                    Some((query::decode_record(row)?, hash))
                }
                None => None,
            }))
        }
        AuthOp::User { users, id } => {
            let mut stmt = SqlBuilder::new(d);
            query::select_columns(&mut stmt, &users);
            query::from(&mut stmt, &users);
            stmt.push(" WHERE ")
                .column(query::ALIAS, "id")
                .push(" = ")
                .param(Value::Uuid(id), ColType::Uuid);
            let row = e
                .fetch(&stmt, &query::record_columns(&users))
                .await?
                .into_iter()
                .next();
            Ok(AuthReply::User(row.map(query::decode_record).transpose()?))
        }
        AuthOp::Admin { email } => admin_where(e, "email", text(&email), ColType::Text).await,
        AuthOp::AdminById { id } => admin_where(e, "id", Value::Uuid(id), ColType::Uuid).await,
        AuthOp::CreateAdmin(admin) => {
            let mut b = SqlBuilder::new(d);
            b.push("INSERT INTO ")
                .ident(ADMINS)
                .push(" (id, email, password_hash, created_at) VALUES (");
            b.param(Value::Uuid(admin.id), ColType::Uuid).push(", ");
            b.param(text(&admin.email), ColType::Text).push(", ");
            b.param(text(&admin.password_hash), ColType::Text)
                .push(", ");
            b.param(Value::Datetime(now), ColType::Datetime).push(")");
            e.execute(&b).await?;
            Ok(AuthReply::Done)
        }
        AuthOp::SigningKeys => signing_keys::all(e).await.map(AuthReply::Keys),
        AuthOp::InsertSigningKey(key) => signing_keys::insert(e, &key)
            .await
            .map(|()| AuthReply::Done),
        AuthOp::RetireSigningKeys { at } => {
            signing_keys::retire(e, at).await.map(|()| AuthReply::Done)
        }
        AuthOp::StartFamily {
            id,
            kind,
            principal_id,
            refresh_hash,
            expires_at,
        } => {
            let mut b = SqlBuilder::new(d);
            b.push("INSERT INTO ")
                .ident(FAMILIES)
                .push(" (id, kind, principal_id, created_at, expires_at) VALUES (");
            b.param(Value::Uuid(id), ColType::Uuid).push(", ");
            b.param(text(&kind), ColType::Text).push(", ");
            b.param(Value::Uuid(principal_id), ColType::Uuid).push(", ");
            b.param(Value::Datetime(now), ColType::Datetime).push(", ");
            b.param(Value::Datetime(expires_at), ColType::Datetime)
                .push(")");
            e.execute(&b).await?;
            refresh::insert_token(e, id, &refresh_hash, expires_at).await?;
            Ok(AuthReply::Done)
        }
        AuthOp::Refresh {
            hash,
            replacement_hash,
            expires_at,
            reuse_interval,
        } => refresh::spend(e, &hash, &replacement_hash, expires_at, reuse_interval)
            .await
            .map(AuthReply::Refreshed),
        AuthOp::RevokeFamily { id } => {
            let mut b = SqlBuilder::new(d);
            b.push("UPDATE ")
                .ident(FAMILIES)
                .push(" SET revoked_at = ")
                .param(Value::Datetime(now), ColType::Datetime);
            b.push(" WHERE id = ")
                .param(Value::Uuid(id), ColType::Uuid)
                .push(" AND revoked_at IS NULL");
            e.execute(&b).await?;
            Ok(AuthReply::Done)
        }
        AuthOp::RevokePrincipal {
            principal_id,
            except,
        } => {
            let mut b = SqlBuilder::new(d);
            b.push("UPDATE ")
                .ident(FAMILIES)
                .push(" SET revoked_at = ")
                .param(Value::Datetime(now), ColType::Datetime);
            b.push(" WHERE principal_id = ")
                .param(Value::Uuid(principal_id), ColType::Uuid);
            b.push(" AND revoked_at IS NULL");
            if let Some(except) = except {
                b.push(" AND id <> ")
                    .param(Value::Uuid(except), ColType::Uuid);
            }
            e.execute(&b).await?;
            Ok(AuthReply::Done)
        }
        AuthOp::RevokedSince { since } => {
            let mut b = SqlBuilder::new(d);
            b.push("SELECT id, revoked_at FROM ")
                .ident(FAMILIES)
                .push(" WHERE revoked_at >= ");
            b.param(Value::Datetime(since), ColType::Datetime);
            let rows = e.fetch(&b, &[ColType::Uuid, ColType::Datetime]).await?;
            Ok(AuthReply::Revoked(
                rows.into_iter()
                    .filter_map(|row| match row.as_slice() {
                        [Value::Uuid(id), Value::Datetime(at)] => Some((*id, *at)),
                        _ => None,
                    })
                    .collect(),
            ))
        }
        AuthOp::ApiKey(op) => keys::apply(e, op).await.map(AuthReply::ApiKey),
        AuthOp::Session(op) => sessions::apply(e, op).await.map(AuthReply::Session),
        AuthOp::Mfa(op) => mfa::apply(e, op).await.map(AuthReply::Mfa),
        AuthOp::EmailToken(op) => email_tokens::apply(e, op).await.map(AuthReply::EmailToken),
        AuthOp::OAuth(op) => oauth::apply(e, op).await.map(AuthReply::OAuth),
    }
}

async fn admin_where(
    e: &mut impl Exec,
    column: &str,
    value: Value,
    ty: ColType,
) -> StoreResult<AuthReply> {
    let mut b = SqlBuilder::new(e.dialect());
    b.push("SELECT id, email, password_hash FROM ")
        .ident(ADMINS)
        .push(" WHERE ")
        .ident(column)
        .push(" = ");
    b.param(value, ty);
    let rows = e
        .fetch(&b, &[ColType::Uuid, ColType::Text, ColType::Text])
        .await?;
    Ok(AuthReply::Admin(rows.into_iter().next().and_then(
        |row| match row.as_slice() {
            [Value::Uuid(id), Value::Text(email), Value::Text(hash)] => Some(AdminAccount {
                id: *id,
                email: email.clone(),
                password_hash: hash.clone(),
            }),
            _ => None,
        },
    )))
}
