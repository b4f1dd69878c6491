//! OAuth2/OIDC sign-in (SPEC §6, §14 "Sign-in flows"): the pending authorization requests (`state`, stored
//! hashed with the PKCE verifier, nonce and where to return), external identities (provider + subject → user),
//! and the single-use codes a browser trades for a token pair. Linking and creating a user happen in one
//! transaction, so two callbacks for the same identity cannot create two users.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use strata_core::schema::Collection;
use strata_core::{ColType, Record, Value};
use uuid::Uuid;

use super::tables::{OAUTH_CODES, OAUTH_IDENTITIES, OAUTH_STATES};
use crate::error::StoreResult;
use crate::exec::Exec;
use crate::model::{EventMeta, Scope, WriteBatch, WriteOp};
use crate::sql::{Dialect, SqlBuilder, query};

/// A pending authorization request, as the callback needs it back.
#[derive(Clone, PartialEq, Eq)]
pub struct PendingAuthorization {
    pub provider: String,
    /// The PKCE verifier (RFC 7636): useless without the provider's code, which only the callback sees.
    pub verifier: String,
    pub nonce: String,
    pub redirect_to: String,
    /// `token` or `session`.
    pub mode: String,
}

impl std::fmt::Debug for PendingAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingAuthorization")
            .field("provider", &self.provider)
            .field("redirect_to", &self.redirect_to)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// Who the provider says signed in.
#[derive(Debug, Clone)]
pub struct ExternalIdentity {
    pub provider: String,
    pub subject: String,
    /// Lowercased.
    pub email: String,
    pub email_verified: bool,
}

/// One OAuth2 command.
#[derive(Debug)]
pub enum OAuthOp {
    /// Remember an authorization request under the hash of its `state`.
    SaveState {
        hash: String,
        pending: PendingAuthorization,
        expires_at: DateTime<Utc>,
    },
    /// Spend a `state`: its request when known, unexpired and for this provider.
    TakeState { hash: String, provider: String },
    /// The user of an identity: linked before, linked now by verified email, or created as `new_user`.
    SignIn {
        identity: ExternalIdentity,
        users: Arc<Collection>,
        /// The record to insert when nobody has the address.
        new_user: Record,
        scope: Scope,
        meta: EventMeta,
    },
    /// Store a single-use code for a signed-in user.
    IssueCode {
        hash: String,
        user_id: Uuid,
        expires_at: DateTime<Utc>,
    },
    /// Spend a code: its user when known and unexpired.
    RedeemCode { hash: String },
    /// Drop expired states and codes (on its own, after issuing).
    Sweep,
}

/// What an OAuth2 command answers.
#[derive(Debug)]
pub enum OAuthReply {
    Done,
    State(Option<PendingAuthorization>),
    /// The user, and whether the record was created now.
    SignedIn {
        user: Record,
        created: bool,
    },
    /// A local account has the address, and linking is not allowed (SPEC §14).
    AccountExists,
    Code(Option<Uuid>),
}

fn text(v: &str) -> Value {
    Value::Text(v.to_owned())
}

/// Run one command inside the caller's transaction.
pub async fn apply(e: &mut impl Exec, op: OAuthOp) -> StoreResult<OAuthReply> {
    let d = e.dialect();
    let now = strata_core::value::now();
    match op {
        OAuthOp::SaveState {
            hash,
            pending,
            expires_at,
        } => {
            let mut b = SqlBuilder::new(d);
            b.push("INSERT INTO ").ident(OAUTH_STATES).push(
                " (hash, provider, verifier, nonce, redirect_to, mode, created_at, expires_at) VALUES (",
            );
            for value in [
                &hash,
                &pending.provider,
                &pending.verifier,
                &pending.nonce,
                &pending.redirect_to,
                &pending.mode,
            ] {
                b.param(text(value), ColType::Text).push(", ");
            }
            b.param(Value::Datetime(now), ColType::Datetime).push(", ");
            b.param(Value::Datetime(expires_at), ColType::Datetime)
                .push(")");
            e.execute(&b).await?;
            Ok(OAuthReply::Done)
        }
        OAuthOp::TakeState { hash, provider } => {
            let mut b = SqlBuilder::new(d);
            b.push("SELECT provider, verifier, nonce, redirect_to, mode, expires_at FROM ")
                .ident(OAUTH_STATES)
                .push(" WHERE hash = ")
                .param(text(&hash), ColType::Text);
            if d != Dialect::Sqlite {
                b.push(" FOR UPDATE");
            }
            let mut cols = vec![ColType::Text; 5];
            cols.push(ColType::Datetime);
            let Some(row) = e.fetch(&b, &cols).await?.into_iter().next() else {
                return Ok(OAuthReply::State(None));
            };
            // Spent whatever happens next: a state is good for one callback.
            if delete_where(e, OAUTH_STATES, "hash", &hash).await? != 1 {
                return Ok(OAuthReply::State(None));
            }
            let [
                Value::Text(stored_provider),
                Value::Text(verifier),
                Value::Text(nonce),
                Value::Text(redirect_to),
                Value::Text(mode),
                Value::Datetime(expires_at),
            ] = row.as_slice()
            else {
                return Err(anyhow::anyhow!("malformed OAuth2 state row").into());
            };
            let live = *expires_at > now && *stored_provider == provider;
            Ok(OAuthReply::State(live.then(|| PendingAuthorization {
                provider,
                verifier: verifier.clone(),
                nonce: nonce.clone(),
                redirect_to: redirect_to.clone(),
                mode: mode.clone(),
            })))
        }
        OAuthOp::SignIn {
            identity,
            users,
            new_user,
            scope,
            meta,
        } => sign_in(e, identity, users, new_user, scope, meta).await,
        OAuthOp::IssueCode {
            hash,
            user_id,
            expires_at,
        } => {
            let mut b = SqlBuilder::new(d);
            b.push("INSERT INTO ")
                .ident(OAUTH_CODES)
                .push(" (hash, user_id, created_at, expires_at) VALUES (");
            b.param(text(&hash), ColType::Text).push(", ");
            b.param(Value::Uuid(user_id), ColType::Uuid).push(", ");
            b.param(Value::Datetime(now), ColType::Datetime).push(", ");
            b.param(Value::Datetime(expires_at), ColType::Datetime)
                .push(")");
            e.execute(&b).await?;
            Ok(OAuthReply::Done)
        }
        OAuthOp::RedeemCode { hash } => {
            let mut b = SqlBuilder::new(d);
            b.push("SELECT user_id, expires_at FROM ")
                .ident(OAUTH_CODES)
                .push(" WHERE hash = ")
                .param(text(&hash), ColType::Text);
            if d != Dialect::Sqlite {
                b.push(" FOR UPDATE");
            }
            let rows = e.fetch(&b, &[ColType::Uuid, ColType::Datetime]).await?;
            let Some([Value::Uuid(user_id), Value::Datetime(expires_at)]) =
                rows.first().map(Vec::as_slice)
            else {
                return Ok(OAuthReply::Code(None));
            };
            let spent = delete_where(e, OAUTH_CODES, "hash", &hash).await? == 1;
            Ok(OAuthReply::Code(
                (spent && *expires_at > now).then_some(*user_id),
            ))
        }
        OAuthOp::Sweep => {
            for table in [OAUTH_STATES, OAUTH_CODES] {
                let mut b = SqlBuilder::new(d);
                b.push("DELETE FROM ")
                    .ident(table)
                    .push(" WHERE expires_at < ")
                    .param(Value::Datetime(now), ColType::Datetime);
                e.execute(&b).await?;
            }
            Ok(OAuthReply::Done)
        }
    }
}

async fn delete_where(
    e: &mut impl Exec,
    table: &str,
    column: &str,
    value: &str,
) -> StoreResult<u64> {
    let mut b = SqlBuilder::new(e.dialect());
    b.push("DELETE FROM ")
        .ident(table)
        .push(" WHERE ")
        .ident(column)
        .push(" = ")
        .param(text(value), ColType::Text);
    e.execute(&b).await
}

/// SPEC §14: an identity seen before signs its user in; a new one links to the user with its address only when
/// the provider asserts the address is verified and the local one is verified too; else, when nobody has the
/// address, it becomes a new user.
async fn sign_in(
    e: &mut impl Exec,
    identity: ExternalIdentity,
    users: Arc<Collection>,
    new_user: Record,
    scope: Scope,
    meta: EventMeta,
) -> StoreResult<OAuthReply> {
    let d = e.dialect();
    let mut b = SqlBuilder::new(d);
    b.push("SELECT user_id FROM ")
        .ident(OAUTH_IDENTITIES)
        .push(" WHERE provider = ")
        .param(text(&identity.provider), ColType::Text);
    b.push(" AND subject = ")
        .param(text(&identity.subject), ColType::Text);
    let linked = e.fetch(&b, &[ColType::Uuid]).await?;
    if let Some(Value::Uuid(user_id)) = linked.first().and_then(|row| row.first()) {
        let Some(user) = user_where(e, &users, "id", Value::Uuid(*user_id), ColType::Uuid).await?
        else {
            return Err(anyhow::anyhow!("an external identity lost its user").into());
        };
        return Ok(OAuthReply::SignedIn {
            user,
            created: false,
        });
    }
    let email = Value::Text(identity.email.clone());
    let (user, created) = match user_where(e, &users, "email", email, ColType::Text).await? {
        Some(user) => {
            let verified = user.get(&users, "verified") == Some(Value::Bool(true));
            if !(identity.email_verified && verified) {
                return Ok(OAuthReply::AccountExists);
            }
            (user, false)
        }
        None => {
            let batch = WriteBatch {
                scope,
                ops: vec![WriteOp::Insert {
                    collection: users,
                    record: new_user.clone(),
                    check: None,
                    reads: Vec::new(),
                }],
                meta,
                idempotency: None,
            };
            crate::exec::apply_batch(e, batch)
                .await
                .map_err(|failure| failure.error)?;
            (new_user, true)
        }
    };
    let mut b = SqlBuilder::new(d);
    b.push("INSERT INTO ")
        .ident(OAUTH_IDENTITIES)
        .push(" (provider, subject, user_id, email, created_at) VALUES (");
    b.param(text(&identity.provider), ColType::Text).push(", ");
    b.param(text(&identity.subject), ColType::Text).push(", ");
    b.param(Value::Uuid(user.id), ColType::Uuid).push(", ");
    b.param(text(&identity.email), ColType::Text).push(", ");
    b.param(
        Value::Datetime(strata_core::value::now()),
        ColType::Datetime,
    )
    .push(")");
    e.execute(&b).await?;
    Ok(OAuthReply::SignedIn { user, created })
}

async fn user_where(
    e: &mut impl Exec,
    users: &Collection,
    column: &str,
    value: Value,
    ty: ColType,
) -> StoreResult<Option<Record>> {
    let mut b = SqlBuilder::new(e.dialect());
    query::select_columns(&mut b, users);
    query::from(&mut b, users);
    b.push(" WHERE ")
        .column(query::ALIAS, column)
        .push(" = ")
        .param(value, ty);
    let row = e
        .fetch(&b, &query::record_columns(users))
        .await?
        .into_iter()
        .next();
    row.map(query::decode_record).transpose()
}
