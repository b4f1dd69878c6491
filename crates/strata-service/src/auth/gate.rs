//! What a user's sign-in must still pass once the password verified (SPEC §14 "Sign-in flows"): a verified
//! address when `auth.require_verified_email` is on, then the second factor when MFA is on.

use strata_core::{Error, Record};

use super::AuthService;
use super::flows::{SignInMode, invalid_credentials};

impl AuthService {
    /// `Ok` when `user` may have a token pair now. The account's failures from this address are left as they are
    /// until the whole sign-in succeeds, so password and code guesses count together.
    pub(super) async fn after_password(
        &self,
        user: &Record,
        email: &str,
        ip: &str,
        mode: SignInMode,
    ) -> Result<(), Error> {
        if self.inner.config.require_verified_email && !self.is_verified(user) {
            // The answer of a wrong password: anything else would tell a stranger who registered an address
            // whether it already had an account. The owner gets the verification link again instead.
            self.inner.throttle.failed("user", email, ip);
            self.send_verification(user);
            return Err(invalid_credentials());
        }
        self.require_second_factor(user, mode).await
    }
}
