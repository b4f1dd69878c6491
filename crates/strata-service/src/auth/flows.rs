//! Sign-in flows (SPEC §6, §14): register, login (users and admins), the current principal, and admin
//! accounts. The token pairs a sign-in hands out, their refresh and logout, are in `families`.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value as Json};
use strata_auth::password::check_length;
use strata_core::{
    Error, ErrorCode, FieldError, FieldErrorCode, Principal, PrincipalKind, Record, RecordView,
};
use strata_store::StoreError;
use strata_store::auth::{AuthOp, AuthReply};
use uuid::Uuid;

use super::AuthService;
use crate::body::{self, Mode};
use crate::context::Context;
use crate::error::from_store;

/// An email and password, as sign-in takes them.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

/// How a sign-in answers once every factor is checked: a token pair, or a cookie session (SPEC §14 "Session
/// mode"). A sign-in that stops for a second factor carries its mode over to `/auth/mfa/totp/verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInMode {
    Tokens,
    Session,
}

impl SignInMode {
    /// As stored with a pending challenge.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            SignInMode::Tokens => "token",
            SignInMode::Session => "session",
        }
    }

    pub(super) fn from_stored(mode: &str) -> SignInMode {
        match mode {
            "session" => SignInMode::Session,
            _ => SignInMode::Tokens,
        }
    }
}

/// A signed-in principal's token pair: `{user | admin, access_token, refresh_token, token_type, expires_in}`.
#[derive(Debug, Clone, Serialize)]
pub struct SignedIn {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin: Option<Json>,
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
}

pub(super) fn busy() -> Error {
    Error::new(
        ErrorCode::Unavailable,
        "too many sign-ins at once; try again shortly",
    )
    .with_header("retry-after", "1")
}

pub(super) fn invalid_credentials() -> Error {
    Error::new(
        ErrorCode::InvalidCredentials,
        "the email or password is wrong",
    )
}

pub(super) fn password_problem(path: &str, message: String) -> Error {
    Error::validation(vec![FieldError::new(
        path,
        FieldErrorCode::TooShort,
        message,
    )])
}

impl AuthService {
    /// `POST /auth/register`: a `users` record from the writable schema fields, a password, and a token pair.
    /// `None` under `auth.require_verified_email`: a mail went to the address instead, whether it was new or
    /// taken (SPEC §14).
    pub async fn register(
        &self,
        ctx: &Context,
        mut body: Map<String, Json>,
    ) -> Result<Option<SignedIn>, Error> {
        if !self.inner.config.allow_registration {
            return Err(Error::new(ErrorCode::Forbidden, "registration is closed"));
        }
        let password = match body.remove("password") {
            Some(Json::String(p)) => Some(p),
            Some(_) => {
                return Err(Error::validation(vec![FieldError::new(
                    "/password",
                    FieldErrorCode::WrongType,
                    "must be a string",
                )]));
            }
            None => None,
        };
        let users = self.inner.users.clone();
        let mut errors = match body::validate(&users, &ctx.principal, &body, Mode::Create, None) {
            Ok(_) => Vec::new(),
            Err(e) => e.errors,
        };
        match &password {
            None => errors.push(FieldError::new(
                "/password",
                FieldErrorCode::Required,
                "is required",
            )),
            Some(p) => {
                if let Err(message) = check_length(p) {
                    let code = if p.chars().count() < 8 {
                        FieldErrorCode::TooShort
                    } else {
                        FieldErrorCode::TooLong
                    };
                    errors.push(FieldError::new("/password", code, message));
                }
            }
        }
        if !errors.is_empty() {
            return Err(Error::validation(errors));
        }
        let values = body::validate(&users, &ctx.principal, &body, Mode::Create, None)?;
        let password = password.unwrap_or_default();
        let hash = self
            .inner
            .hasher
            .hash(&password)
            .await
            .map_err(|_| busy())?;
        let now = strata_core::value::now();
        let record = Record {
            id: Uuid::now_v7(),
            created_at: now,
            updated_at: now,
            version: 1,
            values,
        };
        let op = AuthOp::Register {
            scope: ctx.scope(&self.inner.schema),
            users: users.clone(),
            record: record.clone(),
            password_hash: hash,
            meta: ctx.meta(),
        };
        let stored = self.inner.store.auth(op).await;
        if self.inner.config.require_verified_email {
            return self
                .registered_unverified(stored, &record)
                .await
                .map(|()| None);
        }
        match stored {
            Ok(_) => {}
            Err(StoreError::Unique { field }) if field == "email" => {
                return Err(Error::new(
                    ErrorCode::AccountExists,
                    "an account with this email exists",
                ));
            }
            Err(e) => return Err(from_store(e, true)),
        }
        self.sign_in_user(record).await.map(Some)
    }

    /// `POST /auth/login`: 401 `invalid_credentials` alike for an unknown email and a wrong password.
    pub async fn login(&self, ctx: &Context, credentials: Credentials) -> Result<SignedIn, Error> {
        self.login_as(ctx, credentials, SignInMode::Tokens).await
    }

    /// A user's password sign-in; `mode` is remembered when the answer is `mfa_required`.
    pub(super) async fn login_as(
        &self,
        ctx: &Context,
        credentials: Credentials,
        mode: SignInMode,
    ) -> Result<SignedIn, Error> {
        let email = credentials.email.trim().to_lowercase();
        let ip = &ctx.client_ip();
        self.throttled("user", &email, ip)?;
        let found = match self
            .op(AuthOp::UserCredential {
                users: self.inner.users.clone(),
                email: email.clone(),
            })
            .await?
        {
            AuthReply::Credential(found) => found,
            _ => None,
        };
        let hash = found.as_ref().map(|(_, hash)| hash.as_str());
        self.check_password("user", &email, ip, &credentials.password, hash)
            .await?;
        let (user, _) = found.ok_or_else(invalid_credentials)?;
        self.after_password(&user, &email, ip, mode).await?;
        self.inner.throttle.succeeded("user", &email, ip);
        self.sign_in_user(user).await
    }

    /// `POST /admin/auth/login`
    pub async fn admin_login(
        &self,
        ctx: &Context,
        credentials: Credentials,
    ) -> Result<SignedIn, Error> {
        let email = credentials.email.trim().to_lowercase();
        let ip = &ctx.client_ip();
        self.throttled("admin", &email, ip)?;
        let admin = match self
            .op(AuthOp::Admin {
                email: email.clone(),
            })
            .await?
        {
            AuthReply::Admin(admin) => admin,
            _ => None,
        };
        let hash = admin.as_ref().map(|a| a.password_hash.as_str());
        self.check_password("admin", &email, ip, &credentials.password, hash)
            .await?;
        self.inner.throttle.succeeded("admin", &email, ip);
        let admin = admin.ok_or_else(invalid_credentials)?;
        let profile = serde_json::json!({"id": admin.id, "email": admin.email});
        let mut signed = self.start_family("admin", admin.id, Vec::new()).await?;
        signed.admin = Some(profile);
        Ok(signed)
    }

    /// Verify a password against the account's hash (`None`: no such account, the same work is done); a
    /// failure counts toward throttling and answers `invalid_credentials`.
    async fn check_password(
        &self,
        realm: &str,
        email: &str,
        ip: &str,
        password: &str,
        hash: Option<&str>,
    ) -> Result<(), Error> {
        if self
            .inner
            .hasher
            .verify(password, hash)
            .await
            .map_err(|_| busy())?
        {
            return Ok(());
        }
        self.inner.throttle.failed(realm, email, ip);
        Err(invalid_credentials())
    }

    pub(super) fn throttled(&self, realm: &str, email: &str, ip: &str) -> Result<(), Error> {
        match self.inner.throttle.check(realm, email, ip) {
            Some(wait) => Err(Error::new(
                ErrorCode::RateLimited,
                "too many failed sign-ins; wait before trying again",
            )
            .with_header("retry-after", wait.to_string())),
            None => Ok(()),
        }
    }

    pub(super) async fn sign_in_user(&self, user: Record) -> Result<SignedIn, Error> {
        let principal = self.user_principal(user.clone());
        let mut signed = self.start_family("user", user.id, principal.roles).await?;
        signed.user = Some(
            serde_json::to_value(RecordView::new(&self.inner.users, &user)).unwrap_or_default(),
        );
        Ok(signed)
    }

    /// `GET /auth/me`: `{kind, id, email, roles, user}`.
    pub fn me(&self, principal: &Principal) -> Result<Json, Error> {
        if principal.kind == PrincipalKind::Anonymous {
            return Err(Error::new(
                ErrorCode::Unauthenticated,
                "sign in to see who you are",
            ));
        }
        let user = principal.user.as_ref().map(|u| {
            serde_json::to_value(RecordView::new(&self.inner.users, u)).unwrap_or_default()
        });
        Ok(serde_json::json!({
            "kind": principal.kind.as_str(),
            "id": principal.id,
            "email": principal.email,
            "roles": principal.roles,
            "user": user,
        }))
    }

    pub fn users(&self) -> &Arc<strata_core::schema::Collection> {
        &self.inner.users
    }
}
