//! Refresh tokens (SPEC §6, §14): opaque, stored hashed, spent on use and replaced. A spent token presented
//! again within the reuse interval (two tabs, a retried request) gets a new pair in the same family; later, it
//! revokes the whole family, since someone holds a copy.

use chrono::{DateTime, Utc};
use strata_core::{ColType, Value};
use uuid::Uuid;

use super::tables::{FAMILIES, REFRESH_TOKENS};
use crate::error::StoreResult;
use crate::exec::Exec;
use crate::sql::{Dialect, SqlBuilder};

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// Spent; its replacement is stored. The family and who it belongs to.
    Rotated {
        family: Uuid,
        kind: String,
        principal_id: Uuid,
    },
    /// Unknown, expired or of a revoked family.
    Invalid,
    /// Spent long ago: the family is now revoked.
    Reused { family: Uuid },
}

pub(super) async fn insert_token(
    e: &mut impl Exec,
    family: Uuid,
    hash: &str,
    expires_at: DateTime<Utc>,
) -> StoreResult<()> {
    let mut b = SqlBuilder::new(e.dialect());
    b.push("INSERT INTO ")
        .ident(REFRESH_TOKENS)
        .push(" (hash, family, created_at, expires_at) VALUES (");
    b.param(Value::Text(hash.to_owned()), ColType::Text)
        .push(", ");
    b.param(Value::Uuid(family), ColType::Uuid).push(", ");
    b.param(
        Value::Datetime(strata_core::value::now()),
        ColType::Datetime,
    )
    .push(", ");
    b.param(Value::Datetime(expires_at), ColType::Datetime)
        .push(")");
    e.execute(&b).await?;
    Ok(())
}

pub(super) async fn spend(
    e: &mut impl Exec,
    hash: &str,
    replacement: &str,
    expires_at: DateTime<Utc>,
    reuse_interval: chrono::Duration,
) -> StoreResult<RefreshOutcome> {
    let d = e.dialect();
    let now = strata_core::value::now();
    let mut b = SqlBuilder::new(d);
    b.push("SELECT r.family, r.expires_at, r.spent_at, f.kind, f.principal_id, f.revoked_at, f.expires_at FROM ");
    b.ident(REFRESH_TOKENS)
        .push(" r JOIN ")
        .ident(FAMILIES)
        .push(" f ON f.id = r.family WHERE r.hash = ");
    b.param(Value::Text(hash.to_owned()), ColType::Text);
    if d != Dialect::Sqlite {
        b.push(" FOR UPDATE");
    }
    let cols = [
        ColType::Uuid,
        ColType::Datetime,
        ColType::Datetime,
        ColType::Text,
        ColType::Uuid,
        ColType::Datetime,
        ColType::Datetime,
    ];
    let Some(row) = e.fetch(&b, &cols).await?.into_iter().next() else {
        return Ok(RefreshOutcome::Invalid);
    };
    let [
        Value::Uuid(family),
        Value::Datetime(expires),
        spent,
        Value::Text(kind),
        Value::Uuid(principal_id),
        revoked,
        Value::Datetime(family_expires),
    ] = row.as_slice()
    else {
        return Err(anyhow::anyhow!("malformed refresh token row").into());
    };
    if !revoked.is_null() || *expires <= now || *family_expires <= now {
        return Ok(RefreshOutcome::Invalid);
    }
    match spent {
        Value::Datetime(spent_at) if now - *spent_at > reuse_interval => {
            let mut b = SqlBuilder::new(d);
            b.push("UPDATE ")
                .ident(FAMILIES)
                .push(" SET revoked_at = ")
                .param(Value::Datetime(now), ColType::Datetime);
            b.push(" WHERE id = ")
                .param(Value::Uuid(*family), ColType::Uuid);
            e.execute(&b).await?;
            return Ok(RefreshOutcome::Reused { family: *family });
        }
        Value::Datetime(_) => {}
        _ => {
            let mut b = SqlBuilder::new(d);
            b.push("UPDATE ")
                .ident(REFRESH_TOKENS)
                .push(" SET spent_at = ")
                .param(Value::Datetime(now), ColType::Datetime);
            b.push(" WHERE hash = ")
                .param(Value::Text(hash.to_owned()), ColType::Text);
            e.execute(&b).await?;
        }
    }
    insert_token(e, *family, replacement, expires_at.min(*family_expires)).await?;
    Ok(RefreshOutcome::Rotated {
        family: *family,
        kind: kind.clone(),
        principal_id: *principal_id,
    })
}
