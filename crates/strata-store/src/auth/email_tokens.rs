//! The single-use tokens of the email flows (SPEC §6, §14 "Email flows"): verify an address, confirm an email
//! change, reset a password. Stored as hashes with the address they were mailed to; redeeming one spends it and
//! does what it stands for in the same transaction. Changes to the `users` record go through the normal write
//! path, so they emit their outbox events.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use strata_core::schema::Collection;
use strata_core::{ColType, Record, Value};
use uuid::Uuid;

use super::sessions::{SessionOp, SessionReply};
use super::tables::EMAIL_TOKENS;
use crate::error::StoreResult;
use crate::exec::Exec;
use crate::model::{EventMeta, Scope, WriteBatch, WriteOp};
use crate::sql::{Dialect, SqlBuilder, query};

/// What a mailed token stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailTokenKind {
    /// Verify the account's address.
    Verify,
    /// Make the address it was mailed to the account's (verified) address.
    Change,
    /// Set a new password.
    Reset,
}

impl EmailTokenKind {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            EmailTokenKind::Verify => "verify",
            EmailTokenKind::Change => "change",
            EmailTokenKind::Reset => "reset",
        }
    }

    fn parse(text: &str) -> Option<EmailTokenKind> {
        [Self::Verify, Self::Change, Self::Reset]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// Which endpoint redeems a token, and with what.
#[derive(Debug)]
pub enum Purpose {
    /// `verify-email/confirm`: a verification or an email change.
    Email,
    /// `password/reset` with the new password's hash.
    Reset { password_hash: String },
}

impl Purpose {
    fn accepts(&self, kind: EmailTokenKind) -> bool {
        match self {
            Purpose::Email => kind != EmailTokenKind::Reset,
            Purpose::Reset { .. } => kind == EmailTokenKind::Reset,
        }
    }
}

/// One email-token command.
#[derive(Debug)]
pub enum EmailTokenOp {
    /// Store a token. Only an insert: issuing takes no range locks, so two issued at once cannot deadlock
    /// (MySQL's gap locks would make a delete-then-insert do so).
    Issue {
        kind: EmailTokenKind,
        user_id: Uuid,
        email: String,
        hash: String,
        expires_at: DateTime<Utc>,
    },
    /// Spend a token and do what it stands for.
    Redeem {
        hash: String,
        purpose: Purpose,
        users: Arc<Collection>,
        scope: Scope,
        meta: EventMeta,
    },
    /// Drop tokens that expired a day ago or more (on its own, after issuing).
    Sweep,
}

impl EmailTokenOp {
    /// Whether the command only reads.
    pub fn is_read(&self) -> bool {
        false
    }
}

/// What an email-token command answers.
#[derive(Debug)]
pub enum EmailTokenReply {
    Done,
    /// Spent; what it did to whom, and the families and sessions a reset revoked.
    Redeemed {
        user_id: Uuid,
        kind: EmailTokenKind,
        revoked: Vec<Uuid>,
    },
    /// Unknown, spent, for another endpoint, or for an address the account no longer has.
    Invalid,
    Expired,
}

/// Run one command inside the caller's transaction.
pub async fn apply(e: &mut impl Exec, op: EmailTokenOp) -> StoreResult<EmailTokenReply> {
    let d = e.dialect();
    let now = strata_core::value::now();
    match op {
        EmailTokenOp::Issue {
            kind,
            user_id,
            email,
            hash,
            expires_at,
        } => {
            let mut b = SqlBuilder::new(d);
            b.push("INSERT INTO ")
                .ident(EMAIL_TOKENS)
                .push(" (hash, kind, user_id, email, created_at, expires_at) VALUES (");
            b.param(Value::Text(hash), ColType::Text).push(", ");
            b.param(Value::Text(kind.as_str().into()), ColType::Text)
                .push(", ");
            b.param(Value::Uuid(user_id), ColType::Uuid).push(", ");
            b.param(Value::Text(email), ColType::Text).push(", ");
            b.param(Value::Datetime(now), ColType::Datetime).push(", ");
            b.param(Value::Datetime(expires_at), ColType::Datetime)
                .push(")");
            e.execute(&b).await?;
            Ok(EmailTokenReply::Done)
        }
        EmailTokenOp::Sweep => {
            let mut b = SqlBuilder::new(d);
            b.push("DELETE FROM ")
                .ident(EMAIL_TOKENS)
                .push(" WHERE expires_at < ");
            b.param(
                Value::Datetime(now - chrono::Duration::days(1)),
                ColType::Datetime,
            );
            e.execute(&b).await?;
            Ok(EmailTokenReply::Done)
        }
        EmailTokenOp::Redeem {
            hash,
            purpose,
            users,
            scope,
            meta,
        } => {
            let Some((kind, user_id, email, expires_at)) = find(e, &hash).await? else {
                return Ok(EmailTokenReply::Invalid);
            };
            if !purpose.accepts(kind) {
                return Ok(EmailTokenReply::Invalid);
            }
            if expires_at <= now {
                return Ok(EmailTokenReply::Expired);
            }
            mark_used(e, &hash).await?;
            // One link used: the others of its kind (older mails) stop working.
            drop_unspent(e, user_id, kind).await?;
            let Some(user) = load_user(e, &users, user_id).await? else {
                return Ok(EmailTokenReply::Invalid);
            };
            let same_address = user.get(&users, "email") == Some(Value::Text(email.clone()));
            let verified = user.get(&users, "verified") == Some(Value::Bool(true));
            let mut revoked = Vec::new();
            // `Some(new address or None)`: what to write to the record.
            let update = match kind {
                EmailTokenKind::Verify if !same_address => return Ok(EmailTokenReply::Invalid),
                EmailTokenKind::Verify => (!verified).then_some(None),
                EmailTokenKind::Change => Some(Some(email)),
                EmailTokenKind::Reset => {
                    let Purpose::Reset { password_hash } = purpose else {
                        return Ok(EmailTokenReply::Invalid);
                    };
                    let op = SessionOp::ChangePassword {
                        user_id,
                        password_hash,
                        keep: None,
                    };
                    if let SessionReply::Revoked(ids) = super::sessions::apply(e, op).await? {
                        revoked = ids;
                    }
                    // The link reached the address: it is verified too.
                    (same_address && !verified).then_some(None)
                }
            };
            if let Some(new_email) = update {
                mark_verified(e, users, user_id, new_email, scope, meta).await?;
            }
            Ok(EmailTokenReply::Redeemed {
                user_id,
                kind,
                revoked,
            })
        }
    }
}

/// An unspent token, locked: its kind, user, address and expiry. `None` when unknown or spent already.
async fn find(
    e: &mut impl Exec,
    hash: &str,
) -> StoreResult<Option<(EmailTokenKind, Uuid, String, DateTime<Utc>)>> {
    let d = e.dialect();
    let mut b = SqlBuilder::new(d);
    b.push("SELECT kind, user_id, email, expires_at, used_at FROM ")
        .ident(EMAIL_TOKENS)
        .push(" WHERE hash = ");
    b.param(Value::Text(hash.to_owned()), ColType::Text);
    if d != Dialect::Sqlite {
        b.push(" FOR UPDATE");
    }
    let cols = [
        ColType::Text,
        ColType::Uuid,
        ColType::Text,
        ColType::Datetime,
        ColType::Datetime,
    ];
    let Some(row) = e.fetch(&b, &cols).await?.into_iter().next() else {
        return Ok(None);
    };
    let [
        Value::Text(kind),
        Value::Uuid(user_id),
        Value::Text(email),
        Value::Datetime(expires_at),
        used,
    ] = row.as_slice()
    else {
        return Err(anyhow::anyhow!("malformed email token row").into());
    };
    let Some(kind) = EmailTokenKind::parse(kind) else {
        return Err(anyhow::anyhow!("unknown email token kind `{kind}`").into());
    };
    Ok(used
        .is_null()
        .then(|| (kind, *user_id, email.clone(), *expires_at)))
}

async fn mark_used(e: &mut impl Exec, hash: &str) -> StoreResult<()> {
    let mut b = SqlBuilder::new(e.dialect());
    b.push("UPDATE ")
        .ident(EMAIL_TOKENS)
        .push(" SET used_at = ")
        .param(
            Value::Datetime(strata_core::value::now()),
            ColType::Datetime,
        );
    b.push(" WHERE hash = ")
        .param(Value::Text(hash.to_owned()), ColType::Text);
    e.execute(&b).await?;
    Ok(())
}

async fn drop_unspent(e: &mut impl Exec, user_id: Uuid, kind: EmailTokenKind) -> StoreResult<()> {
    let mut b = SqlBuilder::new(e.dialect());
    b.push("DELETE FROM ")
        .ident(EMAIL_TOKENS)
        .push(" WHERE user_id = ")
        .param(Value::Uuid(user_id), ColType::Uuid);
    b.push(" AND kind = ")
        .param(Value::Text(kind.as_str().into()), ColType::Text)
        .push(" AND used_at IS NULL");
    e.execute(&b).await?;
    Ok(())
}

async fn load_user(e: &mut impl Exec, users: &Collection, id: Uuid) -> StoreResult<Option<Record>> {
    let mut b = SqlBuilder::new(e.dialect());
    query::select_columns(&mut b, users);
    query::from(&mut b, users);
    b.push(" WHERE ")
        .column(query::ALIAS, "id")
        .push(" = ")
        .param(Value::Uuid(id), ColType::Uuid);
    let row = e
        .fetch(&b, &query::record_columns(users))
        .await?
        .into_iter()
        .next();
    row.map(query::decode_record).transpose()
}

/// Set `verified` (and, for a change, the new address) through the write path, with its outbox event.
async fn mark_verified(
    e: &mut impl Exec,
    users: Arc<Collection>,
    id: Uuid,
    new_email: Option<String>,
    scope: Scope,
    meta: EventMeta,
) -> StoreResult<()> {
    let (Some(verified), Some(email)) = (users.field_index("verified"), users.field_index("email"))
    else {
        return Err(anyhow::anyhow!("the users collection lacks email or verified").into());
    };
    let apply = Box::new(move |current: &Record| {
        let mut values = current.values.clone();
        if let Some(value) = values.get_mut(verified) {
            *value = Value::Bool(true);
        }
        if let (Some(new_email), Some(value)) = (new_email, values.get_mut(email)) {
            *value = Value::Text(new_email);
        }
        Ok(values)
    });
    let batch = WriteBatch {
        scope,
        ops: vec![WriteOp::Update {
            collection: users,
            id,
            visible: Vec::new(),
            allowed: None,
            if_match: None,
            apply,
            reads: Vec::new(),
        }],
        meta,
        idempotency: None,
    };
    crate::exec::apply_batch(e, batch)
        .await
        .map(|_| ())
        .map_err(|failure| failure.error)
}
