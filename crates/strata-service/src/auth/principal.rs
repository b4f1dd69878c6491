//! Who a request is from: an access token becomes a [`Principal`], with roles and fields read from the user
//! record (SPEC §14: never from token claims).

use strata_auth::TokenError;
use strata_auth::jwt;
use strata_core::{Error, ErrorCode, Principal};
use uuid::Uuid;

use super::AuthService;
use strata_store::auth::{AuthOp, AuthReply};

/// 401 for a credential that is present but not good, with the `WWW-Authenticate` challenge of RFC 6750.
pub fn invalid_token(code: ErrorCode, detail: &str) -> Error {
    let challenge = format!("Bearer error=\"invalid_token\", error_description=\"{detail}\"");
    Error::new(code, detail).with_header("www-authenticate", challenge)
}

impl AuthService {
    /// The principal of a bearer credential: an access token, or an `sk_…` API key.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, Error> {
        if token.starts_with("sk_") {
            return self.authenticate_api_key(token).await;
        }
        let now = chrono::Utc::now().timestamp();
        let claims = match self.inner.verified.get(token, now) {
            Some(claims) => claims,
            None => {
                let claims = jwt::verify(&self.ring(), token, &self.inner.config.issuer).map_err(
                    |e| match e {
                        TokenError::Expired => {
                            invalid_token(ErrorCode::TokenExpired, "the access token has expired")
                        }
                        TokenError::Invalid => {
                            invalid_token(ErrorCode::InvalidToken, "the access token is not valid")
                        }
                    },
                )?;
                self.inner.verified.put(token, &claims, now);
                claims
            }
        };
        let revoked = || {
            invalid_token(
                ErrorCode::InvalidToken,
                "the session of this token has ended",
            )
        };
        let sid = Uuid::try_parse(&claims.sid).map_err(|_| revoked())?;
        if self.is_revoked(&sid) {
            return Err(revoked());
        }
        let id = Uuid::try_parse(&claims.sub).map_err(|_| revoked())?;
        let mut principal = match claims.kind.as_str() {
            "user" => {
                let user = self.user(id).await?.ok_or_else(revoked)?;
                self.user_principal(user)
            }
            "api_key" => return self.key_token_principal(sid, id).await,
            "admin" => match self.op(AuthOp::AdminById { id }).await? {
                AuthReply::Admin(Some(admin)) => Principal::admin(admin.id, admin.email),
                _ => return Err(revoked()),
            },
            _ => return Err(revoked()),
        };
        principal.session = Some(sid);
        Ok(principal)
    }

    /// A user's principal: `@auth.email`, `@auth.roles` and every other field from their record.
    pub(crate) fn user_principal(&self, user: strata_core::Record) -> Principal {
        Principal::user(&self.inner.users, user)
    }
}
