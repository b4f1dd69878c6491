//! TOTP multi-factor sign-in (SPEC §6, §14 "MFA"): a user's enrolment (the sealed secret, whether confirmed,
//! the last time step used), their recovery codes (hashed, single use) and sign-in challenges (`mfa_token`s,
//! hashed, single use, expiring). Every proof is spent by a guarded `UPDATE`, so two requests racing with the
//! same code cannot both succeed.

use chrono::{DateTime, Utc};
use strata_core::{ColType, Value};
use uuid::Uuid;

use super::tables::{MFA_CHALLENGES, RECOVERY_CODES, TOTP};
use crate::error::StoreResult;
use crate::exec::Exec;
use crate::sql::{Dialect, SqlBuilder};

/// A user's TOTP enrolment as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpEnrolment {
    /// The sealed secret.
    pub secret: String,
    pub confirmed: bool,
    pub last_step: Option<i64>,
}

impl std::fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpEnrolment")
            .field("confirmed", &self.confirmed)
            .field("last_step", &self.last_step)
            .finish_non_exhaustive()
    }
}

/// A second factor presented by a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proof {
    /// The time step of a code that matched: accepted only after the last step used.
    Step(i64),
    /// The hash of a recovery code: accepted once.
    RecoveryCode(String),
}

/// A sign-in challenge as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaChallenge {
    pub user_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub spent: bool,
    /// How the sign-in that asked for the code answers once it is given: `token` or `session` (`token` for
    /// challenges stored before the mode was).
    pub mode: String,
}

/// One MFA command.
#[derive(Debug)]
pub enum MfaOp {
    /// A user's enrolment, if any.
    Totp { user_id: Uuid },
    /// Start (or restart) an unconfirmed enrolment; refused when a confirmed one exists.
    Enroll { user_id: Uuid, secret: String },
    /// Turn MFA on with the step of a valid code, storing the hashes of fresh recovery codes; refused when there
    /// is no unconfirmed enrolment.
    Confirm {
        user_id: Uuid,
        step: i64,
        recovery_hashes: Vec<String>,
    },
    /// Spend a proof, then remove the enrolment and its recovery codes.
    Disable { user_id: Uuid, proof: Proof },
    /// Store a sign-in challenge (an insert only, so concurrent sign-ins cannot deadlock).
    StartChallenge {
        user_id: Uuid,
        hash: String,
        expires_at: DateTime<Utc>,
        /// `token` or `session`.
        mode: String,
    },
    /// A challenge by its hash.
    Challenge { hash: String },
    /// Drop challenges that expired a day ago or more (on its own, now and then).
    Sweep,
    /// Spend a live challenge of `user_id` with a proof: both or neither.
    Redeem {
        hash: String,
        user_id: Uuid,
        proof: Proof,
    },
}

impl MfaOp {
    /// Whether the command only reads.
    pub fn is_read(&self) -> bool {
        matches!(self, MfaOp::Totp { .. } | MfaOp::Challenge { .. })
    }
}

/// What an MFA command answers.
#[derive(Debug)]
pub enum MfaReply {
    Done,
    Totp(Option<TotpEnrolment>),
    /// Whether the command's condition held (and so it took effect).
    Accepted(bool),
    Challenge(Option<MfaChallenge>),
    Redeemed(Redemption),
}

/// What redeeming a challenge did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redemption {
    Redeemed,
    /// Unknown, spent, expired or another user's: nothing changed.
    ChallengeGone,
    /// The proof was refused (a replayed step, a used or unknown recovery code): nothing changed.
    ProofRefused,
}

fn uuid(id: Uuid) -> (Value, ColType) {
    (Value::Uuid(id), ColType::Uuid)
}

/// Run one command inside the caller's transaction.
pub async fn apply(e: &mut impl Exec, op: MfaOp) -> StoreResult<MfaReply> {
    let d = e.dialect();
    let now = strata_core::value::now();
    match op {
        MfaOp::Totp { user_id } => Ok(MfaReply::Totp(enrolment(e, user_id, false).await?)),
        MfaOp::Enroll { user_id, secret } => {
            if enrolment(e, user_id, true)
                .await?
                .is_some_and(|t| t.confirmed)
            {
                return Ok(MfaReply::Accepted(false));
            }
            delete_where(e, TOTP, user_id).await?;
            let mut b = SqlBuilder::new(d);
            b.push("INSERT INTO ")
                .ident(TOTP)
                .push(" (user_id, secret, created_at) VALUES (");
            let (v, t) = uuid(user_id);
            b.param(v, t).push(", ");
            b.param(Value::Text(secret), ColType::Text).push(", ");
            b.param(Value::Datetime(now), ColType::Datetime).push(")");
            e.execute(&b).await?;
            Ok(MfaReply::Accepted(true))
        }
        MfaOp::Confirm {
            user_id,
            step,
            recovery_hashes,
        } => {
            let mut b = SqlBuilder::new(d);
            b.push("UPDATE ")
                .ident(TOTP)
                .push(" SET confirmed_at = ")
                .param(Value::Datetime(now), ColType::Datetime);
            b.push(", last_step = ")
                .param(Value::Int(step), ColType::Int);
            let (v, t) = uuid(user_id);
            b.push(" WHERE user_id = ")
                .param(v, t)
                .push(" AND confirmed_at IS NULL");
            if e.execute(&b).await? != 1 {
                return Ok(MfaReply::Accepted(false));
            }
            delete_where(e, RECOVERY_CODES, user_id).await?;
            for hash in recovery_hashes {
                let mut b = SqlBuilder::new(d);
                b.push("INSERT INTO ")
                    .ident(RECOVERY_CODES)
                    .push(" (hash, user_id) VALUES (");
                b.param(Value::Text(hash), ColType::Text).push(", ");
                let (v, t) = uuid(user_id);
                b.param(v, t).push(")");
                e.execute(&b).await?;
            }
            Ok(MfaReply::Accepted(true))
        }
        MfaOp::Disable { user_id, proof } => {
            if !spend_proof(e, user_id, proof).await? {
                return Ok(MfaReply::Accepted(false));
            }
            delete_where(e, RECOVERY_CODES, user_id).await?;
            delete_where(e, TOTP, user_id).await?;
            Ok(MfaReply::Accepted(true))
        }
        MfaOp::StartChallenge {
            user_id,
            hash,
            expires_at,
            mode,
        } => {
            let mut b = SqlBuilder::new(d);
            b.push("INSERT INTO ")
                .ident(MFA_CHALLENGES)
                .push(" (hash, user_id, created_at, expires_at, mode) VALUES (");
            b.param(Value::Text(hash), ColType::Text).push(", ");
            let (v, t) = uuid(user_id);
            b.param(v, t).push(", ");
            b.param(Value::Datetime(now), ColType::Datetime).push(", ");
            b.param(Value::Datetime(expires_at), ColType::Datetime)
                .push(", ");
            b.param(Value::Text(mode), ColType::Text).push(")");
            e.execute(&b).await?;
            Ok(MfaReply::Done)
        }
        MfaOp::Challenge { hash } => Ok(MfaReply::Challenge(challenge(e, &hash, false).await?)),
        MfaOp::Sweep => {
            let mut b = SqlBuilder::new(d);
            b.push("DELETE FROM ")
                .ident(MFA_CHALLENGES)
                .push(" WHERE expires_at < ");
            b.param(
                Value::Datetime(now - chrono::Duration::days(1)),
                ColType::Datetime,
            );
            e.execute(&b).await?;
            Ok(MfaReply::Done)
        }
        MfaOp::Redeem {
            hash,
            user_id,
            proof,
        } => {
            let live = challenge(e, &hash, true)
                .await?
                .is_some_and(|c| c.user_id == user_id && !c.spent && c.expires_at > now);
            if !live {
                return Ok(MfaReply::Redeemed(Redemption::ChallengeGone));
            }
            if !spend_proof(e, user_id, proof).await? {
                return Ok(MfaReply::Redeemed(Redemption::ProofRefused));
            }
            let mut b = SqlBuilder::new(d);
            b.push("UPDATE ")
                .ident(MFA_CHALLENGES)
                .push(" SET used_at = ")
                .param(Value::Datetime(now), ColType::Datetime);
            b.push(" WHERE hash = ")
                .param(Value::Text(hash), ColType::Text)
                .push(" AND used_at IS NULL");
            e.execute(&b).await?;
            Ok(MfaReply::Redeemed(Redemption::Redeemed))
        }
    }
}

/// `SELECT … FOR UPDATE` where the dialect has it (SQLite has one writer, which serialises anyway).
fn lock(b: &mut SqlBuilder, for_update: bool) {
    if for_update && b.dialect != Dialect::Sqlite {
        b.push(" FOR UPDATE");
    }
}

async fn enrolment(
    e: &mut impl Exec,
    user_id: Uuid,
    for_update: bool,
) -> StoreResult<Option<TotpEnrolment>> {
    let mut b = SqlBuilder::new(e.dialect());
    b.push("SELECT secret, confirmed_at, last_step FROM ")
        .ident(TOTP)
        .push(" WHERE user_id = ");
    let (v, t) = uuid(user_id);
    b.param(v, t);
    lock(&mut b, for_update);
    let cols = [ColType::Text, ColType::Datetime, ColType::Int];
    let Some(row) = e.fetch(&b, &cols).await?.into_iter().next() else {
        return Ok(None);
    };
    match row.as_slice() {
        [Value::Text(secret), confirmed, last_step] => Ok(Some(TotpEnrolment {
            secret: secret.clone(),
            confirmed: !confirmed.is_null(),
            last_step: match last_step {
                Value::Int(step) => Some(*step),
                _ => None,
            },
        })),
        _ => Err(anyhow::anyhow!("malformed TOTP row").into()),
    }
}

async fn challenge(
    e: &mut impl Exec,
    hash: &str,
    for_update: bool,
) -> StoreResult<Option<MfaChallenge>> {
    let mut b = SqlBuilder::new(e.dialect());
    b.push("SELECT user_id, expires_at, used_at, mode FROM ")
        .ident(MFA_CHALLENGES)
        .push(" WHERE hash = ");
    b.param(Value::Text(hash.to_owned()), ColType::Text);
    lock(&mut b, for_update);
    let cols = [
        ColType::Uuid,
        ColType::Datetime,
        ColType::Datetime,
        ColType::Text,
    ];
    let Some(row) = e.fetch(&b, &cols).await?.into_iter().next() else {
        return Ok(None);
    };
    match row.as_slice() {
        [
            Value::Uuid(user_id),
            Value::Datetime(expires_at),
            used,
            mode,
        ] => Ok(Some(MfaChallenge {
            user_id: *user_id,
            expires_at: *expires_at,
            spent: !used.is_null(),
            mode: match mode {
                Value::Text(mode) => mode.clone(),
                _ => "token".into(),
            },
        })),
        _ => Err(anyhow::anyhow!("malformed MFA challenge row").into()),
    }
}

/// Spend a proof of a confirmed enrolment: a step later than the last one used (RFC 6238 §5.2: no code is
/// accepted twice), or an unused recovery code. Whether it was accepted.
async fn spend_proof(e: &mut impl Exec, user_id: Uuid, proof: Proof) -> StoreResult<bool> {
    let mut b = SqlBuilder::new(e.dialect());
    let (v, t) = uuid(user_id);
    match proof {
        Proof::Step(step) => {
            b.push("UPDATE ")
                .ident(TOTP)
                .push(" SET last_step = ")
                .param(Value::Int(step), ColType::Int);
            b.push(" WHERE user_id = ")
                .param(v, t)
                .push(" AND confirmed_at IS NOT NULL");
            b.push(" AND (last_step IS NULL OR last_step < ")
                .param(Value::Int(step), ColType::Int)
                .push(")");
        }
        Proof::RecoveryCode(hash) => {
            b.push("UPDATE ")
                .ident(RECOVERY_CODES)
                .push(" SET used_at = ")
                .param(
                    Value::Datetime(strata_core::value::now()),
                    ColType::Datetime,
                );
            b.push(" WHERE user_id = ")
                .param(v, t)
                .push(" AND hash = ")
                .param(Value::Text(hash), ColType::Text)
                .push(" AND used_at IS NULL");
        }
    }
    Ok(e.execute(&b).await? == 1)
}

async fn delete_where(e: &mut impl Exec, table: &str, user_id: Uuid) -> StoreResult<()> {
    let mut b = SqlBuilder::new(e.dialect());
    b.push("DELETE FROM ")
        .ident(table)
        .push(" WHERE user_id = ");
    let (v, t) = uuid(user_id);
    b.param(v, t);
    e.execute(&b).await?;
    Ok(())
}
