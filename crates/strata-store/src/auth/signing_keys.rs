//! The token signing keys as stored (SPEC §14: in the database, so every instance shares them): read them all,
//! add one, retire those still signing.

use chrono::{DateTime, Utc};
use strata_core::{ColType, Value};

use super::StoredKey;
use super::tables::SIGNING_KEYS;
use crate::error::StoreResult;
use crate::exec::Exec;
use crate::sql::SqlBuilder;

/// Every key, oldest first.
pub(super) async fn all(e: &mut impl Exec) -> StoreResult<Vec<StoredKey>> {
    let mut b = SqlBuilder::new(e.dialect());
    b.push("SELECT kid, private_der, ")
        .ident("public")
        .push(", created_at, retired_at FROM ")
        .ident(SIGNING_KEYS);
    b.push(" ORDER BY created_at");
    let cols = [
        ColType::Text,
        ColType::Text,
        ColType::Text,
        ColType::Datetime,
        ColType::Datetime,
    ];
    Ok(e.fetch(&b, &cols)
        .await?
        .into_iter()
        .filter_map(|row| match row.as_slice() {
            [
                Value::Text(kid),
                Value::Text(private_der),
                Value::Text(public),
                Value::Datetime(created_at),
                retired,
            ] => Some(StoredKey {
                kid: kid.clone(),
                private_der: private_der.clone(),
                public: public.clone(),
                created_at: *created_at,
                retired_at: match retired {
                    Value::Datetime(t) => Some(*t),
                    _ => None,
                },
            }),
            _ => None,
        })
        .collect())
}

pub(super) async fn insert(e: &mut impl Exec, key: &StoredKey) -> StoreResult<()> {
    let mut b = SqlBuilder::new(e.dialect());
    b.push("INSERT INTO ")
        .ident(SIGNING_KEYS)
        .push(" (kid, private_der, ")
        .ident("public");
    b.push(", created_at) VALUES (");
    b.param(Value::Text(key.kid.clone()), ColType::Text)
        .push(", ");
    b.param(Value::Text(key.private_der.clone()), ColType::Text)
        .push(", ");
    b.param(Value::Text(key.public.clone()), ColType::Text)
        .push(", ");
    b.param(Value::Datetime(key.created_at), ColType::Datetime)
        .push(")");
    e.execute(&b).await?;
    Ok(())
}

/// Retire every key still signing, as of `at`.
pub(super) async fn retire(e: &mut impl Exec, at: DateTime<Utc>) -> StoreResult<()> {
    let mut b = SqlBuilder::new(e.dialect());
    b.push("UPDATE ")
        .ident(SIGNING_KEYS)
        .push(" SET retired_at = ")
        .param(Value::Datetime(at), ColType::Datetime);
    b.push(" WHERE retired_at IS NULL");
    e.execute(&b).await?;
    Ok(())
}
