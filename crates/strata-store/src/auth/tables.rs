//! The tables behind authentication: credentials of users, admins, signing keys, refresh families and tokens,
//! API keys and cookie sessions, TOTP enrolments with their recovery codes and sign-in challenges, and the
//! single-use tokens of the email flows, and OAuth2 states, external identities and exchange codes.

use strata_core::ColType::*;

use crate::migrate::model::{Column, ForeignKey, IndexModel, Table, column};

pub const CREDENTIALS: &str = "_credentials";
pub const ADMINS: &str = "_admins";
pub const SIGNING_KEYS: &str = "_signing_keys";
pub const FAMILIES: &str = "_auth_families";
pub const REFRESH_TOKENS: &str = "_refresh_tokens";
pub const API_KEYS: &str = "_api_keys";
pub const SESSIONS: &str = "_sessions";
pub const TOTP: &str = "_totp";
pub const RECOVERY_CODES: &str = "_recovery_codes";
pub const MFA_CHALLENGES: &str = "_mfa_challenges";
pub const EMAIL_TOKENS: &str = "_email_tokens";
pub const OAUTH_STATES: &str = "_oauth_states";
pub const OAUTH_IDENTITIES: &str = "_oauth_identities";
pub const OAUTH_CODES: &str = "_oauth_codes";

fn references(mut col: Column, table: &str) -> Column {
    col.references = Some(ForeignKey {
        table: table.into(),
        on_delete: "cascade".into(),
    });
    col
}

fn index(name: &str, columns: &[&str], unique: bool) -> IndexModel {
    IndexModel {
        name: name.into(),
        columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        unique,
    }
}

pub fn tables() -> Vec<Table> {
    vec![
        Table {
            name: CREDENTIALS.into(),
            columns: vec![
                references(
                    column("user_id", Uuid, None, true),
                    strata_core::schema::USERS,
                ),
                column("password_hash", Text, Some(255), true),
                column("updated_at", Datetime, None, true),
            ],
            primary_key: vec!["user_id".into()],
            indexes: vec![],
        },
        Table {
            name: ADMINS.into(),
            columns: vec![
                column("id", Uuid, None, true),
                column("email", Text, Some(254), true),
                column("password_hash", Text, Some(255), true),
                column("created_at", Datetime, None, true),
            ],
            primary_key: vec!["id".into()],
            indexes: vec![index("uq__admins_email", &["email"], true)],
        },
        Table {
            name: SIGNING_KEYS.into(),
            columns: vec![
                column("kid", Text, Some(32), true),
                column("private_der", Text, Some(255), true),
                column("public", Text, Some(64), true),
                column("created_at", Datetime, None, true),
                column("retired_at", Datetime, None, false),
            ],
            primary_key: vec!["kid".into()],
            indexes: vec![],
        },
        Table {
            name: FAMILIES.into(),
            columns: vec![
                column("id", Uuid, None, true),
                column("kind", Text, Some(16), true),
                column("principal_id", Uuid, None, true),
                column("created_at", Datetime, None, true),
                column("expires_at", Datetime, None, true),
                column("revoked_at", Datetime, None, false),
            ],
            primary_key: vec!["id".into()],
            indexes: vec![
                index("ix__auth_families_principal", &["principal_id"], false),
                index("ix__auth_families_revoked", &["revoked_at"], false),
            ],
        },
        Table {
            name: REFRESH_TOKENS.into(),
            columns: vec![
                column("hash", Text, Some(64), true),
                references(column("family", Uuid, None, true), FAMILIES),
                column("created_at", Datetime, None, true),
                column("expires_at", Datetime, None, true),
                column("spent_at", Datetime, None, false),
            ],
            primary_key: vec!["hash".into()],
            indexes: vec![index("ix__refresh_tokens_family", &["family"], false)],
        },
        Table {
            name: API_KEYS.into(),
            columns: vec![
                column("id", Uuid, None, true),
                references(
                    column("user_id", Uuid, None, true),
                    strata_core::schema::USERS,
                ),
                column("name", Text, Some(100), true),
                column("secret_hash", Text, Some(64), true),
                column("scopes", Text, None, false),
                column("expires_at", Datetime, None, false),
                column("created_at", Datetime, None, true),
                column("last_used_at", Datetime, None, false),
                column("revoked_at", Datetime, None, false),
            ],
            primary_key: vec!["id".into()],
            indexes: vec![index("ix__api_keys_user", &["user_id"], false)],
        },
        Table {
            name: SESSIONS.into(),
            columns: vec![
                references(column("id", Uuid, None, true), FAMILIES),
                column("token_hash", Text, Some(64), true),
                column("created_at", Datetime, None, true),
                column("expires_at", Datetime, None, true),
                column("last_used_at", Datetime, None, true),
            ],
            primary_key: vec!["id".into()],
            indexes: vec![],
        },
        Table {
            name: TOTP.into(),
            columns: vec![
                references(
                    column("user_id", Uuid, None, true),
                    strata_core::schema::USERS,
                ),
                // Sealed (strata_auth::seal): the database alone cannot read it.
                column("secret", Text, Some(255), true),
                column("created_at", Datetime, None, true),
                column("confirmed_at", Datetime, None, false),
                // The last time step a code was accepted for: no code of it or before is accepted again.
                column("last_step", Int, None, false),
            ],
            primary_key: vec!["user_id".into()],
            indexes: vec![],
        },
        Table {
            name: RECOVERY_CODES.into(),
            columns: vec![
                column("hash", Text, Some(64), true),
                references(
                    column("user_id", Uuid, None, true),
                    strata_core::schema::USERS,
                ),
                column("used_at", Datetime, None, false),
            ],
            primary_key: vec!["hash".into()],
            indexes: vec![index("ix__recovery_codes_user", &["user_id"], false)],
        },
        Table {
            name: MFA_CHALLENGES.into(),
            columns: vec![
                column("hash", Text, Some(64), true),
                references(
                    column("user_id", Uuid, None, true),
                    strata_core::schema::USERS,
                ),
                column("created_at", Datetime, None, true),
                column("expires_at", Datetime, None, true),
                column("used_at", Datetime, None, false),
                // `token` or `session`: how the sign-in answers once the code is given. Nullable, so that the
                // column could be added to a table that held challenges already.
                column("mode", Text, Some(16), false),
            ],
            primary_key: vec!["hash".into()],
            indexes: vec![index("ix__mfa_challenges_expires", &["expires_at"], false)],
        },
        Table {
            name: EMAIL_TOKENS.into(),
            columns: vec![
                column("hash", Text, Some(64), true),
                column("kind", Text, Some(16), true),
                references(
                    column("user_id", Uuid, None, true),
                    strata_core::schema::USERS,
                ),
                // The address the token was mailed to: the one to verify, or the new one of a change.
                column("email", Text, Some(254), true),
                column("created_at", Datetime, None, true),
                column("expires_at", Datetime, None, true),
                column("used_at", Datetime, None, false),
            ],
            primary_key: vec!["hash".into()],
            indexes: vec![
                index("ix__email_tokens_user", &["user_id"], false),
                index("ix__email_tokens_expires", &["expires_at"], false),
            ],
        },
        Table {
            name: OAUTH_STATES.into(),
            columns: vec![
                column("hash", Text, Some(64), true),
                column("provider", Text, Some(64), true),
                column("verifier", Text, Some(128), true),
                column("nonce", Text, Some(128), true),
                column("redirect_to", Text, Some(2048), true),
                column("mode", Text, Some(16), true),
                column("created_at", Datetime, None, true),
                column("expires_at", Datetime, None, true),
            ],
            primary_key: vec!["hash".into()],
            indexes: vec![index("ix__oauth_states_expires", &["expires_at"], false)],
        },
        Table {
            name: OAUTH_IDENTITIES.into(),
            columns: vec![
                column("provider", Text, Some(64), true),
                column("subject", Text, Some(255), true),
                references(
                    column("user_id", Uuid, None, true),
                    strata_core::schema::USERS,
                ),
                // The address the provider gave when the identity was linked.
                column("email", Text, Some(254), true),
                column("created_at", Datetime, None, true),
            ],
            primary_key: vec!["provider".into(), "subject".into()],
            indexes: vec![index("ix__oauth_identities_user", &["user_id"], false)],
        },
        Table {
            name: OAUTH_CODES.into(),
            columns: vec![
                column("hash", Text, Some(64), true),
                references(
                    column("user_id", Uuid, None, true),
                    strata_core::schema::USERS,
                ),
                column("created_at", Datetime, None, true),
                column("expires_at", Datetime, None, true),
            ],
            primary_key: vec!["hash".into()],
            indexes: vec![index("ix__oauth_codes_expires", &["expires_at"], false)],
        },
    ]
}
