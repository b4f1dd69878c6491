//! Admin accounts (SPEC §6): their own accounts, apart from `users`, made by `strata admin create` or from
//! `[admin]` on first start.

use strata_auth::password::check_length;
use strata_core::{Error, ErrorCode, FieldError, FieldErrorCode};
use strata_store::StoreError;
use strata_store::auth::{AdminAccount, AuthOp, AuthReply};
use uuid::Uuid;

use super::AuthService;
use super::flows::{busy, password_problem};
use crate::error::from_store;

impl AuthService {
    /// Create an admin account (`strata admin create`, `[admin]` on first start).
    pub async fn create_admin(&self, email: &str, password: &str) -> Result<Uuid, Error> {
        let email = email.trim().to_lowercase();
        if !email.contains('@') {
            return Err(Error::validation(vec![FieldError::new(
                "/email",
                FieldErrorCode::InvalidFormat,
                "must be an email address",
            )]));
        }
        check_length(password).map_err(|m| password_problem("/password", m))?;
        let hash = self.inner.hasher.hash(password).await.map_err(|_| busy())?;
        let id = Uuid::now_v7();
        match self
            .inner
            .store
            .auth(AuthOp::CreateAdmin(AdminAccount {
                id,
                email,
                password_hash: hash,
            }))
            .await
        {
            Ok(_) => Ok(id),
            Err(StoreError::Unique { .. }) => Err(Error::new(
                ErrorCode::AccountExists,
                "an admin with this email exists",
            )),
            Err(e) => Err(from_store(e, false)),
        }
    }

    /// Create the configured admin unless one with that email exists (first start).
    pub async fn ensure_admin(&self, email: &str, password: &str) -> Result<bool, Error> {
        match self
            .op(AuthOp::Admin {
                email: email.trim().to_lowercase(),
            })
            .await?
        {
            AuthReply::Admin(Some(_)) => Ok(false),
            _ => self.create_admin(email, password).await.map(|_| true),
        }
    }
}
