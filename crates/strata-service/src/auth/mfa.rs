//! TOTP multi-factor sign-in (SPEC §6, §14 "MFA"; RFC 6238): enrol (a secret and its `otpauth://` URI), confirm
//! with a code (MFA is on from then, with ten single-use recovery codes shown once), disable with a code or a
//! recovery code. A sign-in whose password verified for an enrolled user gets 401 `mfa_required` with an
//! `mfa_token` (opaque, stored hashed, single use, 5 minutes), redeemed with a code at `/auth/mfa/totp/verify`.
//! No code is accepted twice (the last time step used is stored), and wrong codes count toward sign-in
//! throttling. The secret is sealed with a key the database does not hold, and never shown after enrolment.

use std::fmt;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use chrono::Utc;
use serde::Serialize;
use strata_auth::{SealKey, secret, totp};
use strata_core::{Error, ErrorCode, FieldError, FieldErrorCode, Record, Value};
use strata_store::auth::{AuthOp, AuthReply, MfaOp, MfaReply, Proof, Redemption, TotpEnrolment};
use uuid::Uuid;

use super::AuthService;
use super::api_keys::require_user;
use super::flows::{SignInMode, SignedIn};
use super::sessions::SessionStarted;
use crate::context::Context;

/// The issuer authenticator apps show.
const ISSUER: &str = "Strata";
/// How long an `mfa_token` may be redeemed.
const CHALLENGE_TTL: Duration = Duration::from_secs(5 * 60);

/// Where the key that seals TOTP secrets comes from.
#[derive(Clone)]
pub enum TotpKeySource {
    /// `auth.totp_key`: base64 of 32 bytes. Instances sharing a database must share it.
    Configured(String),
    /// A key file, made on first use (`{data_dir}/totp.key`).
    File(PathBuf),
}

impl Default for TotpKeySource {
    fn default() -> Self {
        TotpKeySource::File(PathBuf::from("./strata_data/totp.key"))
    }
}

impl fmt::Debug for TotpKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TotpKeySource::Configured(_) => f.write_str("Configured([redacted])"),
            TotpKeySource::File(path) => f.debug_tuple("File").field(path).finish(),
        }
    }
}

/// The sealing key, loaded (or made) once, when first needed.
pub(super) struct TotpKeys {
    source: TotpKeySource,
    key: OnceLock<SealKey>,
}

impl TotpKeys {
    /// A configured key is checked at start; a key file is read or made on first use.
    pub(super) fn new(source: TotpKeySource) -> Result<TotpKeys, Error> {
        let key = OnceLock::new();
        if let TotpKeySource::Configured(text) = &source {
            let parsed = SealKey::from_base64(text)
                .map_err(|e| Error::internal(anyhow::anyhow!("auth.totp_key: {e}")))?;
            let _ = key.set(parsed);
        }
        Ok(TotpKeys { source, key })
    }

    fn get(&self) -> Result<&SealKey, Error> {
        if let Some(key) = self.key.get() {
            return Ok(key);
        }
        let TotpKeySource::File(path) = &self.source else {
            return Err(Error::internal(anyhow::anyhow!("no TOTP key")));
        };
        let loaded = SealKey::load_or_create(path).map_err(|e| {
            Error::internal(anyhow::anyhow!("the TOTP key {}: {e}", path.display()))
        })?;
        Ok(self.key.get_or_init(|| loaded))
    }
}

/// `POST /auth/mfa/totp/enroll`: what the authenticator app needs, shown this once.
#[derive(Debug, Clone, Serialize)]
pub struct TotpEnrolled {
    /// Base32 (RFC 4648), for typing in.
    pub secret: String,
    /// `otpauth://totp/Strata:EMAIL?secret=…&issuer=Strata&algorithm=SHA1&digits=6&period=30`, for a QR code.
    pub otpauth_uri: String,
}

/// What `/auth/mfa/totp/verify` answers: what the first step of the sign-in asked for.
#[derive(Debug)]
pub enum MfaSignedIn {
    /// `/auth/login`, `/auth/oauth2/exchange`: the token pair.
    Tokens(SignedIn),
    /// `/auth/login?mode=session`: the session cookies.
    Session(SessionStarted),
}

/// `POST /auth/mfa/totp/confirm`: the recovery codes, shown this once.
#[derive(Debug, Clone, Serialize)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

fn wrong_code() -> Error {
    Error::new(
        ErrorCode::InvalidCredentials,
        "the code is wrong or was used already",
    )
}

fn bad_mfa_token() -> Error {
    Error::new(
        ErrorCode::InvalidToken,
        "the mfa_token is not valid; sign in again",
    )
}

fn sealed_for(user_id: Uuid) -> Vec<u8> {
    user_id.as_bytes().to_vec()
}

impl AuthService {
    /// Start (or restart) enrolment for the calling user: 409 `conflict` while MFA is on.
    pub async fn enroll_totp(&self, ctx: &Context) -> Result<TotpEnrolled, Error> {
        let user_id = require_user(&ctx.principal)?;
        let secret = totp::generate_secret();
        let sealed = self
            .inner
            .totp_keys
            .get()?
            .seal(&secret, &sealed_for(user_id));
        let op = MfaOp::Enroll {
            user_id,
            secret: sealed,
        };
        if !accepted(&self.mfa_op(op).await?) {
            return Err(Error::new(
                ErrorCode::Conflict,
                "two-factor sign-in is on already; disable it before enrolling again",
            ));
        }
        let account = ctx.principal.email.as_deref().unwrap_or_default();
        Ok(TotpEnrolled {
            secret: totp::encode_secret(&secret),
            otpauth_uri: totp::otpauth_uri(ISSUER, account, &secret),
        })
    }

    /// Turn MFA on with a code of the pending enrolment; answers fresh recovery codes.
    pub async fn confirm_totp(&self, ctx: &Context, code: &str) -> Result<RecoveryCodes, Error> {
        let user_id = require_user(&ctx.principal)?;
        let pending = match self.enrolment(user_id).await? {
            Some(enrolment) if !enrolment.confirmed => enrolment,
            _ => {
                return Err(Error::new(
                    ErrorCode::Conflict,
                    "no enrolment is waiting for confirmation; enroll first",
                ));
            }
        };
        let secret = self.open_secret(user_id, &pending)?;
        let code = code.trim();
        let step = totp::is_code(code)
            .then(|| totp::matching_step(&secret, code, now_step()))
            .flatten()
            .ok_or_else(|| {
                Error::validation(vec![FieldError::new(
                    "/code",
                    FieldErrorCode::InvalidFormat,
                    "is not the code the authenticator app shows now",
                )])
            })?;
        let codes: Vec<String> = (0..totp::RECOVERY_CODES)
            .map(|_| totp::recovery_code())
            .collect();
        let recovery_hashes = codes
            .iter()
            .filter_map(|c| totp::normalize_recovery_code(c))
            .map(|c| secret::hash(&c))
            .collect();
        let op = MfaOp::Confirm {
            user_id,
            step,
            recovery_hashes,
        };
        if !accepted(&self.mfa_op(op).await?) {
            return Err(Error::new(
                ErrorCode::Conflict,
                "the enrolment was confirmed or restarted meanwhile",
            ));
        }
        Ok(RecoveryCodes {
            recovery_codes: codes,
        })
    }

    /// Turn MFA off with a code or a recovery code. Wrong codes count toward sign-in throttling, so a stolen
    /// access token cannot be used to guess one.
    pub async fn disable_totp(&self, ctx: &Context, code: &str) -> Result<(), Error> {
        let user_id = require_user(&ctx.principal)?;
        let email = ctx.principal.email.clone().unwrap_or_default();
        let ip = &ctx.client_ip();
        self.throttled("user", &email, ip)?;
        let enrolment = match self.enrolment(user_id).await? {
            Some(enrolment) if enrolment.confirmed => enrolment,
            _ => {
                return Err(Error::new(
                    ErrorCode::Conflict,
                    "two-factor sign-in is not on",
                ));
            }
        };
        let disabled = match self.proof(user_id, &enrolment, code)? {
            Some(proof) => accepted(&self.mfa_op(MfaOp::Disable { user_id, proof }).await?),
            None => false,
        };
        if !disabled {
            self.inner.throttle.failed("user", &email, ip);
            return Err(wrong_code());
        }
        Ok(())
    }

    /// `POST /auth/mfa/totp/verify`: the second step of a sign-in, finished as the first step asked: a token pair,
    /// or in session mode a cookie session.
    pub async fn verify_mfa(
        &self,
        ctx: &Context,
        mfa_token: &str,
        code: &str,
    ) -> Result<MfaSignedIn, Error> {
        let (user, mode) = self.redeem_mfa(ctx, mfa_token, code).await?;
        let signed = self.sign_in_user(user).await?;
        Ok(match mode {
            SignInMode::Tokens => MfaSignedIn::Tokens(signed),
            SignInMode::Session => MfaSignedIn::Session(self.start_session(signed).await?),
        })
    }

    /// Redeem an `mfa_token` with a code: the user it signs in, and how the sign-in answers.
    async fn redeem_mfa(
        &self,
        ctx: &Context,
        mfa_token: &str,
        code: &str,
    ) -> Result<(Record, SignInMode), Error> {
        let hash = secret::hash(mfa_token);
        let challenge = match self.mfa_op(MfaOp::Challenge { hash: hash.clone() }).await? {
            MfaReply::Challenge(Some(c)) if !c.spent => c,
            _ => return Err(bad_mfa_token()),
        };
        if challenge.expires_at <= Utc::now() {
            return Err(Error::new(
                ErrorCode::TokenExpired,
                "the mfa_token has expired; sign in again",
            ));
        }
        let user = self
            .user(challenge.user_id)
            .await?
            .ok_or_else(bad_mfa_token)?;
        let email = match user.get(&self.inner.users, "email") {
            Some(Value::Text(email)) => email,
            _ => String::new(),
        };
        let ip = &ctx.client_ip();
        self.throttled("user", &email, ip)?;
        let enrolment = match self.enrolment(user.id).await? {
            Some(enrolment) if enrolment.confirmed => enrolment,
            _ => return Err(bad_mfa_token()),
        };
        let Some(proof) = self.proof(user.id, &enrolment, code)? else {
            self.inner.throttle.failed("user", &email, ip);
            return Err(wrong_code());
        };
        let op = MfaOp::Redeem {
            hash,
            user_id: user.id,
            proof,
        };
        match self.mfa_op(op).await? {
            MfaReply::Redeemed(Redemption::Redeemed) => {
                self.inner.throttle.succeeded("user", &email, ip);
                Ok((user, SignInMode::from_stored(&challenge.mode)))
            }
            MfaReply::Redeemed(Redemption::ProofRefused) => {
                self.inner.throttle.failed("user", &email, ip);
                Err(wrong_code())
            }
            _ => Err(bad_mfa_token()),
        }
    }

    /// Whether a user has MFA on (the `password` grant refuses such users).
    pub async fn has_mfa(&self, user_id: Uuid) -> Result<bool, Error> {
        Ok(self.enrolment(user_id).await?.is_some_and(|e| e.confirmed))
    }

    /// After a user's password verified: nothing when MFA is off, else 401 `mfa_required` with a fresh
    /// `mfa_token` in the problem body, which remembers how the sign-in is to answer.
    pub(super) async fn require_second_factor(
        &self,
        user: &Record,
        mode: SignInMode,
    ) -> Result<(), Error> {
        if !self.has_mfa(user.id).await? {
            return Ok(());
        }
        let token = secret::opaque_token();
        let expires_at = Utc::now() + chrono::Duration::from_std(CHALLENGE_TTL).unwrap_or_default();
        self.mfa_op(MfaOp::StartChallenge {
            user_id: user.id,
            hash: secret::hash(&token),
            expires_at,
            mode: mode.as_str().to_owned(),
        })
        .await?;
        // Housekeeping in a transaction of its own, after the answer.
        let auth = self.clone();
        tokio::spawn(async move {
            if let Err(e) = auth.mfa_op(MfaOp::Sweep).await {
                tracing::debug!(error = %e, "sweeping expired MFA challenges failed");
            }
        });
        Err(Error::new(
            ErrorCode::MfaRequired,
            "enter a code from your authenticator app (or a recovery code) at /api/v1/auth/mfa/totp/verify",
        )
        .with_extension("mfa_token", serde_json::Value::String(token)))
    }

    async fn mfa_op(&self, op: MfaOp) -> Result<MfaReply, Error> {
        match self.op(AuthOp::Mfa(op)).await? {
            AuthReply::Mfa(reply) => Ok(reply),
            _ => Err(Error::internal(anyhow::anyhow!(
                "the store answered an MFA command with something else"
            ))),
        }
    }

    async fn enrolment(&self, user_id: Uuid) -> Result<Option<TotpEnrolment>, Error> {
        match self.mfa_op(MfaOp::Totp { user_id }).await? {
            MfaReply::Totp(enrolment) => Ok(enrolment),
            _ => Ok(None),
        }
    }

    fn open_secret(&self, user_id: Uuid, enrolment: &TotpEnrolment) -> Result<Vec<u8>, Error> {
        self.inner
            .totp_keys
            .get()?
            .open(&enrolment.secret, &sealed_for(user_id))
            .map_err(|e| Error::internal(anyhow::anyhow!("opening a TOTP secret: {e}")))
    }

    /// What a typed code proves, if anything: the step of a TOTP code that matches now (give or take a step), or
    /// a recovery code's hash (whether it is unused is for the store to say).
    fn proof(
        &self,
        user_id: Uuid,
        enrolment: &TotpEnrolment,
        code: &str,
    ) -> Result<Option<Proof>, Error> {
        let code = code.trim();
        if totp::is_code(code) {
            let secret = self.open_secret(user_id, enrolment)?;
            return Ok(totp::matching_step(&secret, code, now_step()).map(Proof::Step));
        }
        Ok(totp::normalize_recovery_code(code).map(|c| Proof::RecoveryCode(secret::hash(&c))))
    }
}

fn accepted(reply: &MfaReply) -> bool {
    matches!(reply, MfaReply::Accepted(true))
}

fn now_step() -> i64 {
    totp::step_at(Utc::now().timestamp())
}
