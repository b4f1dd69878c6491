//! Cookie sessions (SPEC §14 "Session mode") and password change. A session is a refresh family without refresh
//! tokens: its id is the `sid`, revoked like any family (logout, password change), plus the hash of the cookie's
//! secret, an absolute expiry and the time of last use (written at most once per gap).

use chrono::{DateTime, Utc};
use strata_core::{ColType, Value};
use uuid::Uuid;

use super::tables::{CREDENTIALS, FAMILIES, REFRESH_TOKENS, SESSIONS};
use crate::error::StoreResult;
use crate::exec::Exec;
use crate::sql::{Dialect, SqlBuilder};

/// A session with what its family says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: Uuid,
    /// Lowercase hex SHA-256 of the cookie's secret.
    pub token_hash: String,
    /// `user` or `admin`: the kind of the family's principal.
    pub kind: String,
    pub principal_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// One session command.
#[derive(Debug)]
pub enum SessionOp {
    /// Turn the fresh family `id` into a session: store the session and drop the family's refresh token, which
    /// nobody received.
    Start {
        id: Uuid,
        token_hash: String,
        refresh_hash: String,
        expires_at: DateTime<Utc>,
    },
    Find {
        id: Uuid,
    },
    /// Record a use at `at`, unless one was recorded less than `min_gap` before.
    Touch {
        id: Uuid,
        at: DateTime<Utc>,
        min_gap: chrono::Duration,
    },
    /// Store a user's new password hash and revoke every family and session of theirs but `keep`; answers the
    /// revoked ids.
    ChangePassword {
        user_id: Uuid,
        password_hash: String,
        keep: Option<Uuid>,
    },
}

impl SessionOp {
    /// Whether the command only reads.
    pub fn is_read(&self) -> bool {
        matches!(self, SessionOp::Find { .. })
    }
}

/// What a session command answers.
#[derive(Debug)]
pub enum SessionReply {
    Done,
    Session(Option<SessionRow>),
    Revoked(Vec<Uuid>),
}

/// Run one command inside the caller's transaction.
pub async fn apply(e: &mut impl Exec, op: SessionOp) -> StoreResult<SessionReply> {
    let d = e.dialect();
    let now = strata_core::value::now();
    match op {
        SessionOp::Start {
            id,
            token_hash,
            refresh_hash,
            expires_at,
        } => {
            let mut b = SqlBuilder::new(d);
            b.push("INSERT INTO ")
                .ident(SESSIONS)
                .push(" (id, token_hash, created_at, expires_at, last_used_at) VALUES (");
            b.param(Value::Uuid(id), ColType::Uuid).push(", ");
            b.param(Value::Text(token_hash), ColType::Text).push(", ");
            b.param(Value::Datetime(now), ColType::Datetime).push(", ");
            b.param(Value::Datetime(expires_at), ColType::Datetime)
                .push(", ");
            b.param(Value::Datetime(now), ColType::Datetime).push(")");
            e.execute(&b).await?;
            let mut b = SqlBuilder::new(d);
            b.push("DELETE FROM ")
                .ident(REFRESH_TOKENS)
                .push(" WHERE hash = ");
            b.param(Value::Text(refresh_hash), ColType::Text)
                .push(" AND family = ")
                .param(Value::Uuid(id), ColType::Uuid);
            e.execute(&b).await?;
            Ok(SessionReply::Done)
        }
        SessionOp::Find { id } => {
            let mut b = SqlBuilder::new(d);
            b.push("SELECT s.token_hash, f.kind, f.principal_id, s.expires_at, s.last_used_at, f.revoked_at FROM ");
            b.ident(SESSIONS)
                .push(" s JOIN ")
                .ident(FAMILIES)
                .push(" f ON f.id = s.id WHERE s.id = ");
            b.param(Value::Uuid(id), ColType::Uuid);
            let cols = [
                ColType::Text,
                ColType::Text,
                ColType::Uuid,
                ColType::Datetime,
                ColType::Datetime,
                ColType::Datetime,
            ];
            let Some(row) = e.fetch(&b, &cols).await?.into_iter().next() else {
                return Ok(SessionReply::Session(None));
            };
            match row.as_slice() {
                [
                    Value::Text(token_hash),
                    Value::Text(kind),
                    Value::Uuid(principal_id),
                    Value::Datetime(expires_at),
                    Value::Datetime(last_used_at),
                    revoked,
                ] => Ok(SessionReply::Session(Some(SessionRow {
                    id,
                    token_hash: token_hash.clone(),
                    kind: kind.clone(),
                    principal_id: *principal_id,
                    expires_at: *expires_at,
                    last_used_at: *last_used_at,
                    revoked_at: match revoked {
                        Value::Datetime(t) => Some(*t),
                        _ => None,
                    },
                }))),
                _ => Err(anyhow::anyhow!("malformed session row").into()),
            }
        }
        SessionOp::Touch { id, at, min_gap } => {
            let mut b = SqlBuilder::new(d);
            b.push("UPDATE ")
                .ident(SESSIONS)
                .push(" SET last_used_at = ")
                .param(Value::Datetime(at), ColType::Datetime);
            b.push(" WHERE id = ")
                .param(Value::Uuid(id), ColType::Uuid)
                .push(" AND last_used_at <= ")
                .param(Value::Datetime(at - min_gap), ColType::Datetime);
            e.execute(&b).await?;
            Ok(SessionReply::Done)
        }
        SessionOp::ChangePassword {
            user_id,
            password_hash,
            keep,
        } => {
            let mut b = SqlBuilder::new(d);
            b.push("UPDATE ")
                .ident(CREDENTIALS)
                .push(" SET password_hash = ")
                .param(Value::Text(password_hash), ColType::Text);
            b.push(", updated_at = ")
                .param(Value::Datetime(now), ColType::Datetime)
                .push(" WHERE user_id = ")
                .param(Value::Uuid(user_id), ColType::Uuid);
            e.execute(&b).await?;
            let live = |b: &mut SqlBuilder| {
                b.push(" WHERE principal_id = ")
                    .param(Value::Uuid(user_id), ColType::Uuid)
                    .push(" AND revoked_at IS NULL");
                if let Some(keep) = keep {
                    b.push(" AND id <> ")
                        .param(Value::Uuid(keep), ColType::Uuid);
                }
            };
            let mut b = SqlBuilder::new(d);
            b.push("SELECT id FROM ").ident(FAMILIES);
            live(&mut b);
            if d != Dialect::Sqlite {
                b.push(" FOR UPDATE");
            }
            let ids: Vec<Uuid> = e
                .fetch(&b, &[ColType::Uuid])
                .await?
                .into_iter()
                .filter_map(|row| match row.as_slice() {
                    [Value::Uuid(id)] => Some(*id),
                    _ => None,
                })
                .collect();
            let mut b = SqlBuilder::new(d);
            b.push("UPDATE ")
                .ident(FAMILIES)
                .push(" SET revoked_at = ")
                .param(Value::Datetime(now), ColType::Datetime);
            live(&mut b);
            e.execute(&b).await?;
            Ok(SessionReply::Revoked(ids))
        }
    }
}
