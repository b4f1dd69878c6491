//! The email flows (SPEC §6, §14 "Email flows"): verify an address, forgot/reset a password, change the address.
//! Tokens are opaque, single use, expiring (verify and change 24 h, reset 1 h) and stored hashed. Requests that
//! name an address answer 202 at once and do their work (lookup, token, mail) in the background, so neither the
//! answer nor its timing tells whether the address has an account. At most one mail of each kind goes to an
//! address a minute, so nobody can flood an inbox through these endpoints.
//!
//! Links in mails are `{link_base}/verify-email?token=…` (verification and email change) and
//! `{link_base}/reset-password?token=…`: pages of the application, which POST the token to the API.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;
use strata_auth::password::{MIN_LENGTH, check_length};
use strata_auth::secret;
use strata_core::schema::validate_value;
use strata_core::{Error, ErrorCode, FieldError, FieldErrorCode, Record, Value};
use strata_store::auth::{
    AuthOp, AuthReply, EmailTokenKind, EmailTokenOp, EmailTokenReply, Purpose,
};
use strata_store::{StoreError, StoreResult};
use uuid::Uuid;

use super::AuthService;
use super::api_keys::require_user;
use super::flows::busy;
use super::mailer::{Letter, MailConfig, Mailer};
use crate::context::Context;
use crate::error::from_store;

/// The least time between two mails of one kind to one address.
const MAIL_GAP: Duration = Duration::from_secs(60);
/// Addresses remembered at most; past it those mailed before [`MAIL_GAP`] are forgotten.
const RECENT_MAX: usize = 10_000;

/// The mailer, where links point, and when each address was last mailed each kind of mail.
pub(super) struct MailDesk {
    mailer: Mailer,
    link_base: String,
    recent: Mutex<HashMap<(String, &'static str), Instant>>,
}

impl MailDesk {
    /// The desk for `config`; a bad `from` or SMTP URL is refused at start.
    pub(super) fn new(config: &MailConfig) -> Result<MailDesk, Error> {
        Ok(MailDesk {
            mailer: Mailer::new(config)?,
            link_base: config.link_base.trim_end_matches('/').to_owned(),
            recent: Mutex::new(HashMap::new()),
        })
    }

    /// Whether `to` may be sent a `kind` of mail now; if so, it counts as sent.
    fn may_mail(&self, to: &str, kind: &'static str) -> bool {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let key = (to.to_owned(), kind);
        if recent.get(&key).is_some_and(|at| at.elapsed() < MAIL_GAP) {
            return false;
        }
        if recent.len() >= RECENT_MAX {
            recent.retain(|_, at| at.elapsed() < MAIL_GAP);
        }
        recent.insert(key, Instant::now());
        true
    }
}

fn bad_token(message: &str) -> Error {
    Error::validation(vec![FieldError::new(
        "/token",
        FieldErrorCode::InvalidFormat,
        message,
    )])
}

/// The validity of each kind of token.
fn ttl(kind: EmailTokenKind) -> Duration {
    match kind {
        EmailTokenKind::Reset => Duration::from_secs(3600),
        EmailTokenKind::Verify | EmailTokenKind::Change => Duration::from_secs(24 * 3600),
    }
}

fn letter(kind: EmailTokenKind, to: &str, link: &str) -> Letter {
    let (subject, body) = match kind {
        EmailTokenKind::Verify => (
            "Verify your email address",
            format!(
                "Confirm that this address is yours by opening this link within 24 hours:\n\n{link}\n\n\
                 If you did not create an account, ignore this message."
            ),
        ),
        EmailTokenKind::Change => (
            "Confirm your new email address",
            format!(
                "Confirm that this address should become your account's address by opening this link within \
                 24 hours:\n\n{link}\n\nIf you did not ask for this, ignore this message."
            ),
        ),
        EmailTokenKind::Reset => (
            "Reset your password",
            format!(
                "Set a new password by opening this link within 1 hour:\n\n{link}\n\n\
                 If you did not ask for this, ignore this message: your password stays as it is."
            ),
        ),
    };
    Letter {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text: format!("Hello,\n\n{body}\n"),
    }
}

impl AuthService {
    /// `POST /auth/verify-email/request`: mail a verification link if the address has an unverified account.
    pub fn request_verification(&self, email: &str) {
        let email = email.trim().to_lowercase();
        self.in_background("verification request", |auth: AuthService| async move {
            match auth.find_user(&email).await? {
                Some(user) if !auth.is_verified(&user) => {
                    auth.mail_token(EmailTokenKind::Verify, user.id, &email)
                        .await
                }
                _ => Ok(()),
            }
        });
    }

    /// `POST /auth/password/forgot`: mail a reset link if the address has an account.
    pub fn forgot_password(&self, email: &str) {
        let email = email.trim().to_lowercase();
        self.in_background("password reset request", |auth: AuthService| async move {
            match auth.find_user(&email).await? {
                Some(user) => {
                    auth.mail_token(EmailTokenKind::Reset, user.id, &email)
                        .await
                }
                None => Ok(()),
            }
        });
    }

    /// `POST /auth/verify-email/confirm`: a verification or email-change token marks the address verified (and
    /// makes a new address the account's). A used, unknown or expired token is 400 at `/token`.
    pub async fn confirm_email(&self, ctx: &Context, token: &str) -> Result<(), Error> {
        self.redeem_email_token(ctx, token, Purpose::Email).await
    }

    /// `POST /auth/password/reset`: set a new password with a reset token; every refresh family and session of
    /// the user ends.
    pub async fn reset_password(
        &self,
        ctx: &Context,
        token: &str,
        new_password: &str,
    ) -> Result<(), Error> {
        if let Err(message) = check_length(new_password) {
            let code = if new_password.chars().count() < MIN_LENGTH {
                FieldErrorCode::TooShort
            } else {
                FieldErrorCode::TooLong
            };
            return Err(Error::validation(vec![FieldError::new(
                "/new_password",
                code,
                message,
            )]));
        }
        let password_hash = self
            .inner
            .hasher
            .hash(new_password)
            .await
            .map_err(|_| busy())?;
        self.redeem_email_token(ctx, token, Purpose::Reset { password_hash })
            .await
    }

    /// `POST /auth/email/change`: with the current password, mail a confirmation link to the new address; the
    /// address changes (verified) when the link's token is confirmed. Nothing is mailed when the new address
    /// belongs to another account, and the answer does not say so.
    pub async fn change_email(
        &self,
        ctx: &Context,
        new_email: &str,
        password: &str,
    ) -> Result<(), Error> {
        let user_id = require_user(&ctx.principal)?;
        let field = self
            .inner
            .users
            .field("email")
            .ok_or_else(|| Error::internal(anyhow::anyhow!("users has no email field")))?;
        let new_email = match validate_value(field, &serde_json::Value::String(new_email.into())) {
            Ok(Value::Text(email)) => email,
            Ok(_) => return Err(Error::internal(anyhow::anyhow!("an email is not text"))),
            Err((code, message)) => {
                return Err(Error::validation(vec![FieldError::new(
                    "/new_email",
                    code,
                    message,
                )]));
            }
        };
        let email = ctx.principal.email.clone().unwrap_or_default();
        let ip = &ctx.client_ip();
        self.throttled("user", &email, ip)?;
        let stored = match self.find_credential(&email).await? {
            Some((user, hash)) if user.id == user_id => Some(hash),
            _ => None,
        };
        let hasher = &self.inner.hasher;
        if !hasher
            .verify(password, stored.as_deref())
            .await
            .map_err(|_| busy())?
        {
            self.inner.throttle.failed("user", &email, ip);
            return Err(Error::new(
                ErrorCode::InvalidCredentials,
                "the password is wrong",
            ));
        }
        self.inner.throttle.succeeded("user", &email, ip);
        if new_email == email {
            return Ok(());
        }
        self.in_background("email change", |auth: AuthService| async move {
            if auth.find_user(&new_email).await?.is_some() {
                return Ok(());
            }
            auth.mail_token(EmailTokenKind::Change, user_id, &new_email)
                .await
        });
        Ok(())
    }

    /// Registration under `auth.require_verified_email`: the same answer for a new and a taken address, and a
    /// mail to the address either way (a verification link, or word that someone tried to sign up with it).
    pub(super) async fn registered_unverified(
        &self,
        stored: StoreResult<AuthReply>,
        user: &Record,
    ) -> Result<(), Error> {
        let email = match user.get(&self.inner.users, "email") {
            Some(Value::Text(email)) => email,
            _ => String::new(),
        };
        match stored {
            Ok(_) => self.send_verification(user),
            Err(StoreError::Unique { field }) if field == "email" => {
                self.in_background("sign-up notice", |auth: AuthService| async move {
                    if !auth.inner.mail.may_mail(&email, "sign-up notice") {
                        return Ok(());
                    }
                    let letter = Letter {
                        to: email,
                        subject: "Someone tried to sign up with your address".into(),
                        text: "Hello,\n\nSomeone tried to create an account with this address, which has one \
                               already. If it was you, sign in, or reset your password if you have forgotten \
                               it.\n\nIf it was not you, you need not do anything: your account is unchanged.\n"
                            .into(),
                    };
                    auth.inner.mail.mailer.send(letter).await.map_err(Error::internal)
                });
            }
            Err(e) => return Err(from_store(e, true)),
        }
        Ok(())
    }

    /// Mail `user` a verification link (in the background, at most one a minute).
    pub(super) fn send_verification(&self, user: &Record) {
        let (id, email) = match user.get(&self.inner.users, "email") {
            Some(Value::Text(email)) => (user.id, email),
            _ => return,
        };
        self.in_background("verification mail", |auth: AuthService| async move {
            auth.mail_token(EmailTokenKind::Verify, id, &email).await
        });
    }

    /// Whether the user's address is verified.
    pub(super) fn is_verified(&self, user: &Record) -> bool {
        user.get(&self.inner.users, "verified") == Some(Value::Bool(true))
    }

    /// Store a fresh token of `kind` and mail its link to `email`, unless the address was sent one just now.
    async fn mail_token(
        &self,
        kind: EmailTokenKind,
        user_id: Uuid,
        email: &str,
    ) -> Result<(), Error> {
        if !self.inner.mail.may_mail(email, kind.as_str()) {
            tracing::info!(
                kind = kind.as_str(),
                "a mail of this kind went to this address just now; not sending another"
            );
            return Ok(());
        }
        let token = secret::opaque_token();
        let expires_at = Utc::now() + chrono::Duration::from_std(ttl(kind)).unwrap_or_default();
        self.op(AuthOp::EmailToken(EmailTokenOp::Issue {
            kind,
            user_id,
            email: email.to_owned(),
            hash: secret::hash(&token),
            expires_at,
        }))
        .await?;
        let page = match kind {
            EmailTokenKind::Reset => "reset-password",
            EmailTokenKind::Verify | EmailTokenKind::Change => "verify-email",
        };
        let link = format!("{}/{page}?token={token}", self.inner.mail.link_base);
        self.inner
            .mail
            .mailer
            .send(letter(kind, email, &link))
            .await
            .map_err(Error::internal)?;
        // Housekeeping in a transaction of its own; another instance sweeping at once is harmless.
        if let Err(e) = self.op(AuthOp::EmailToken(EmailTokenOp::Sweep)).await {
            tracing::debug!(error = %e, "sweeping expired email tokens failed");
        }
        Ok(())
    }

    async fn redeem_email_token(
        &self,
        ctx: &Context,
        token: &str,
        purpose: Purpose,
    ) -> Result<(), Error> {
        let op = EmailTokenOp::Redeem {
            hash: secret::hash(token),
            purpose,
            users: self.inner.users.clone(),
            scope: ctx.scope(&self.inner.schema),
            meta: ctx.meta(),
        };
        match self.op(AuthOp::EmailToken(op)).await? {
            AuthReply::EmailToken(EmailTokenReply::Redeemed {
                user_id, revoked, ..
            }) => {
                for id in revoked {
                    self.mark_revoked(id);
                }
                self.forget_user(user_id);
                Ok(())
            }
            AuthReply::EmailToken(EmailTokenReply::Expired) => {
                Err(bad_token("has expired; ask for a new link"))
            }
            _ => Err(bad_token("is not valid or was used already")),
        }
    }

    async fn find_credential(&self, email: &str) -> Result<Option<(Record, String)>, Error> {
        match self
            .op(AuthOp::UserCredential {
                users: self.inner.users.clone(),
                email: email.to_owned(),
            })
            .await?
        {
            AuthReply::Credential(found) => Ok(found),
            _ => Ok(None),
        }
    }

    async fn find_user(&self, email: &str) -> Result<Option<Record>, Error> {
        Ok(self.find_credential(email).await?.map(|(user, _)| user))
    }

    /// Run `work` after the answer has gone; a failure is logged (never with a token) and goes no further.
    fn in_background<F, Fut>(&self, what: &'static str, work: F)
    where
        F: FnOnce(AuthService) -> Fut,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        let work = work(self.clone());
        tokio::spawn(async move {
            if let Err(e) = work.await {
                tracing::warn!(error = %e, flow = what, "an email flow failed");
            }
        });
    }
}
