//! Idempotency keys (SPEC §14): claimed first in a committed row, completed with the answer in the write's own
//! transaction (2xx) or after its rollback (4xx), released on a 5xx. Kept 24 hours.

use chrono::{DateTime, Duration, Utc};
use strata_core::{ColType, Value};

use crate::error::{StoreError, StoreResult};
use crate::exec::Exec;
use crate::model::{Claim, IdempotencyKey, IdempotentResponse};
use crate::sql::SqlBuilder;

pub const TABLE: &str = "_idempotency";

/// How long a completed key replays its answer.
pub const RETENTION: Duration = Duration::hours(24);

fn key_condition(b: &mut SqlBuilder, key: &IdempotencyKey) {
    b.push(" WHERE ")
        .ident("scope")
        .push(" = ")
        .param(Value::Text(key.scope.clone()), ColType::Text);
    b.push(" AND ")
        .ident("idem_key")
        .push(" = ")
        .param(Value::Text(key.key.clone()), ColType::Text);
}

/// Claim `key`, or report who holds it. A pending claim older than `lapse_before` is taken over; a completed
/// one older than the retention is forgotten.
pub async fn claim(
    e: &mut impl Exec,
    key: &IdempotencyKey,
    lapse_before: DateTime<Utc>,
) -> StoreResult<Claim> {
    let dialect = e.dialect();
    let now = strata_core::value::now();
    let mut b = SqlBuilder::new(dialect);
    b.push("SELECT fingerprint, status, headers, body, created_at FROM ")
        .ident(TABLE);
    key_condition(&mut b, key);
    let cols = [
        ColType::Text,
        ColType::Int,
        ColType::Json,
        ColType::Text,
        ColType::Datetime,
    ];
    let row = e.fetch(&b, &cols).await?.into_iter().next();
    match row.as_deref() {
        None => {
            let mut b = SqlBuilder::new(dialect);
            b.push("INSERT INTO ")
                .ident(TABLE)
                .push(" (scope, idem_key, fingerprint, created_at) VALUES (");
            b.param(Value::Text(key.scope.clone()), ColType::Text)
                .push(", ");
            b.param(Value::Text(key.key.clone()), ColType::Text)
                .push(", ");
            b.param(Value::Text(key.fingerprint.clone()), ColType::Text)
                .push(", ");
            b.param(Value::Datetime(now), ColType::Datetime).push(")");
            match e.execute(&b).await {
                Ok(_) => Ok(Claim::Claimed),
                // Another instance claimed it between our read and our insert.
                Err(StoreError::Unique { .. }) => Ok(Claim::InProgress),
                Err(other) => Err(other),
            }
        }
        Some(
            [
                Value::Text(fingerprint),
                status,
                headers,
                body,
                Value::Datetime(created_at),
            ],
        ) => {
            let expired = match status {
                Value::Null => *created_at < lapse_before,
                _ => *created_at < now - RETENTION,
            };
            if expired {
                let mut b = SqlBuilder::new(dialect);
                b.push("UPDATE ").ident(TABLE).push(" SET fingerprint = ");
                b.param(Value::Text(key.fingerprint.clone()), ColType::Text);
                b.push(", status = NULL, headers = NULL, body = NULL, created_at = ");
                b.param(Value::Datetime(now), ColType::Datetime);
                key_condition(&mut b, key);
                e.execute(&b).await?;
                return Ok(Claim::Claimed);
            }
            let Value::Int(status) = status else {
                return Ok(Claim::InProgress);
            };
            let headers = match headers {
                Value::Json(j) => serde_json::from_value(j.clone()).unwrap_or_default(),
                _ => Vec::new(),
            };
            let body = match body {
                Value::Text(t) => t.clone().into_bytes(),
                _ => Vec::new(),
            };
            let status = u16::try_from(*status).unwrap_or(500);
            Ok(Claim::Done {
                fingerprint: fingerprint.clone(),
                response: IdempotentResponse {
                    status,
                    headers,
                    body,
                },
            })
        }
        Some(_) => Err(anyhow::anyhow!("malformed idempotency row").into()),
    }
}

/// Store the answer of a claimed key.
pub async fn complete(
    e: &mut impl Exec,
    key: &IdempotencyKey,
    response: &IdempotentResponse,
) -> StoreResult<()> {
    let mut b = SqlBuilder::new(e.dialect());
    b.push("UPDATE ").ident(TABLE).push(" SET status = ");
    b.param(Value::Int(i64::from(response.status)), ColType::Int)
        .push(", headers = ");
    b.param(
        Value::Json(serde_json::json!(response.headers)),
        ColType::Json,
    )
    .push(", body = ");
    b.param(
        Value::Text(String::from_utf8_lossy(&response.body).into_owned()),
        ColType::Text,
    );
    key_condition(&mut b, key);
    e.execute(&b).await?;
    Ok(())
}

/// Forget a claim (the request failed in a way that must not be replayed).
pub async fn release(e: &mut impl Exec, key: &IdempotencyKey) -> StoreResult<()> {
    let mut b = SqlBuilder::new(e.dialect());
    b.push("DELETE FROM ").ident(TABLE);
    key_condition(&mut b, key);
    e.execute(&b).await?;
    Ok(())
}
