//! `POST /auth/password/change` (SPEC §6, §14): a signed-in user proves the current password and sets a new one;
//! every other session and refresh family of theirs is revoked in the same transaction (at once here, within
//! `auth.revocation_poll` elsewhere), and the one making the change lives on. Wrong current passwords count
//! toward sign-in throttling, so a stolen token cannot be used to guess the password.

use serde_json::{Map, Value as Json};
use strata_auth::password::check_length;
use strata_core::{Error, ErrorCode, FieldError, FieldErrorCode};
use strata_store::auth::{AuthOp, AuthReply, SessionOp, SessionReply};

use super::AuthService;
use super::api_keys::require_user;
use crate::context::Context;

fn busy() -> Error {
    Error::new(
        ErrorCode::Unavailable,
        "too many password checks at once; try again shortly",
    )
    .with_header("retry-after", "1")
}

fn wrong_password() -> Error {
    Error::new(
        ErrorCode::InvalidCredentials,
        "the current password is wrong",
    )
}

/// `current_password` and `new_password`, every problem of the body reported together.
fn passwords(body: &Map<String, Json>) -> Result<(String, String), Error> {
    let mut errors = Vec::new();
    for member in body.keys() {
        if !matches!(member.as_str(), "current_password" | "new_password") {
            errors.push(FieldError::new(
                format!("/{member}"),
                FieldErrorCode::UnknownField,
                "is not a member of a password change",
            ));
        }
    }
    let mut field = |name: &str| match body.get(name) {
        Some(Json::String(value)) => Some(value.clone()),
        None | Some(Json::Null) => {
            errors.push(FieldError::new(
                format!("/{name}"),
                FieldErrorCode::Required,
                "is required",
            ));
            None
        }
        Some(_) => {
            errors.push(FieldError::new(
                format!("/{name}"),
                FieldErrorCode::WrongType,
                "must be a string",
            ));
            None
        }
    };
    let current = field("current_password");
    let new = field("new_password");
    if let Some(new) = &new
        && let Err(message) = check_length(new)
    {
        let code = if new.chars().count() < strata_auth::password::MIN_LENGTH {
            FieldErrorCode::TooShort
        } else {
            FieldErrorCode::TooLong
        };
        errors.push(FieldError::new("/new_password", code, message));
    }
    match (current, new) {
        (Some(current), Some(new)) if errors.is_empty() => Ok((current, new)),
        _ => Err(Error::validation(errors)),
    }
}

impl AuthService {
    /// Change the calling user's password, ending their other sessions.
    pub async fn change_password(
        &self,
        ctx: &Context,
        body: &Map<String, Json>,
    ) -> Result<(), Error> {
        let user_id = require_user(&ctx.principal)?;
        let (current, new) = passwords(body)?;
        let email = ctx.principal.email.clone().unwrap_or_default();
        let ip = &ctx.client_ip();
        if let Some(wait) = self.inner.throttle.check("user", &email, ip) {
            return Err(Error::new(
                ErrorCode::RateLimited,
                "too many wrong passwords; wait before trying again",
            )
            .with_header("retry-after", wait.to_string()));
        }
        let stored = match self
            .op(AuthOp::UserCredential {
                users: self.inner.users.clone(),
                email: email.clone(),
            })
            .await?
        {
            AuthReply::Credential(Some((user, hash))) if user.id == user_id => Some(hash),
            _ => None,
        };
        let hasher = &self.inner.hasher;
        if !hasher
            .verify(&current, stored.as_deref())
            .await
            .map_err(|_| busy())?
        {
            self.inner.throttle.failed("user", &email, ip);
            return Err(wrong_password());
        }
        self.inner.throttle.succeeded("user", &email, ip);
        let password_hash = hasher.hash(&new).await.map_err(|_| busy())?;
        let op = SessionOp::ChangePassword {
            user_id,
            password_hash,
            keep: ctx.principal.session,
        };
        if let AuthReply::Session(SessionReply::Revoked(ids)) = self.op(AuthOp::Session(op)).await?
        {
            for id in ids {
                self.mark_revoked(id);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::passwords;

    #[test]
    fn a_password_change_body_reports_every_problem() {
        let body = json!({"new_password": "short", "extra": 1});
        let e = passwords(body.as_object().expect("object")).expect_err("invalid");
        let paths: Vec<(&str, &str)> = e
            .errors
            .iter()
            .map(|f| (f.path.as_str(), f.code.as_str()))
            .collect();
        assert_eq!(
            paths,
            [
                ("/extra", "unknown_field"),
                ("/current_password", "required"),
                ("/new_password", "too_short"),
            ]
        );
    }
}
