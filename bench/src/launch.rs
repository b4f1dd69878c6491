//! The servers the driver starts, as [`Launch`]es: Strata on a store's database, the ceiling, and the baseline
//! (a hand-written axum+sqlx server, `bench/src/baseline/`) on the database Strata created and seeded.

use crate::auth::{ISSUER, SEED_TOKEN_TTL};
use crate::load::Operation;
use crate::prepare::Prepared;
use crate::run::Plan;
use crate::server::Launch;
use crate::setup::argon2_overrides;

/// Strata on the store's database. Every start has the same issuer, and the seeding one issues long-lived tokens,
/// so that the seeding user's token holds on every later start (see `auth`). No start sets Argon2id parameters,
/// and inherited ones are removed, so every password is hashed and verified at Strata's defaults.
pub(crate) fn strata_launch(plan: &Plan, store: &Prepared, seeding: bool) -> Launch {
    let mut env = vec![("STRATA_AUTH__ISSUER".to_owned(), ISSUER.to_owned())];
    if seeding {
        env.push((
            "STRATA_AUTH__ACCESS_TOKEN_TTL".to_owned(),
            SEED_TOKEN_TTL.to_owned(),
        ));
    }
    if let Some(url) = &store.db.url {
        env.push(("STRATA_DATABASE__URL".to_owned(), url.clone()));
    }
    Launch {
        name: format!("strata ({})", store.db.kind),
        program: plan.strata.clone(),
        args: vec![
            "serve".into(),
            "--config".into(),
            plan.work.join("strata.toml").into(),
            "--data-dir".into(),
            store.data_dir.clone().into(),
        ],
        env,
        env_remove: argon2_overrides(std::env::vars_os().map(|(name, _)| name)),
        ready_path: "/readyz",
    }
}

/// The baseline on the store's database, for an operation it serves on PostgreSQL or MySQL; `None` otherwise, and
/// when the principal's token is not one of Strata's JWTs (a configured API key), which only Strata can check.
pub(crate) fn baseline_launch(plan: &Plan, store: &Prepared, op: Operation) -> Option<Launch> {
    let url = store.db.url.as_ref()?;
    let token = &store.principal.as_ref()?.token;
    if !op.has_baseline() || !is_jwt(token) {
        return None;
    }
    Some(Launch {
        name: format!("baseline ({})", store.db.kind),
        program: plan.baseline.clone(),
        args: vec![
            "--jwks".into(),
            store.jwks_file.clone().into(),
            "--issuer".into(),
            ISSUER.into(),
            "--test-before-acquire".into(),
            plan.options.baseline_ping_on_acquire.to_string().into(),
        ],
        // In the environment, like Strata's: a URL's password stays off the command line.
        env: vec![("BASELINE_DATABASE_URL".to_owned(), url.clone())],
        env_remove: vec![],
        ready_path: "/readyz",
    })
}

/// Whether `token` has a JWT's three parts (an API key has one).
pub(crate) fn is_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

/// The ceiling: any path answers 200.
pub(crate) fn ceiling_launch(plan: &Plan) -> Launch {
    Launch {
        name: "ceiling".into(),
        program: plan.ceiling.clone(),
        args: vec![],
        env: vec![],
        env_remove: vec![],
        ready_path: "/",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_tokens_are_jwts_and_api_keys_are_not() {
        assert!(is_jwt("eyJ0eXAi.eyJpc3Mi.7llo360F"));
        assert!(!is_jwt("sk_0193a1b2_0123456789abcdef"));
    }
}
