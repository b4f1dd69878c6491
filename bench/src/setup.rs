//! What a run needs before it measures: the stores that answer, their server URLs, the binaries to start, and
//! the environment variables Strata must not inherit.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::cli::Options;
use crate::store::{StoreKind, reachable, redact};

/// Inherited environment variables that would change Strata's Argon2id cost (`STRATA_AUTH__ARGON2_*`, read
/// case-insensitively): the login load measures Strata's defaults, so the driver never passes them on.
const ARGON2_ENV_PREFIX: &str = "STRATA_AUTH__ARGON2";

/// The names among `inherited` that would set Strata's Argon2id parameters (figment reads them regardless of
/// case).
pub fn argon2_overrides(inherited: impl Iterator<Item = OsString>) -> Vec<OsString> {
    inherited
        .filter(|name| {
            name.to_str().is_some_and(|n| {
                n.len() >= ARGON2_ENV_PREFIX.len()
                    && n.is_char_boundary(ARGON2_ENV_PREFIX.len())
                    && n[..ARGON2_ENV_PREFIX.len()].eq_ignore_ascii_case(ARGON2_ENV_PREFIX)
            })
        })
        .collect()
}

/// The stores to measure: all those asked for. In smoke mode a database server that does not answer is skipped
/// with a warning, unless `STRATA_REQUIRE_SERVICES=1` (as CI sets it).
pub async fn usable_stores(options: &Options) -> anyhow::Result<Vec<StoreKind>> {
    let require = !options.smoke || std::env::var("STRATA_REQUIRE_SERVICES").as_deref() == Ok("1");
    let mut usable = Vec::new();
    for &kind in &options.stores {
        if usable.contains(&kind) {
            continue;
        }
        match reachable(kind, server_url(options, kind)).await {
            Ok(()) => usable.push(kind),
            Err(e) if require => return Err(e.context(format!("{kind} is needed for this run"))),
            Err(e) => eprintln!(
                "warning: skipping {kind} ({}): {e:#}",
                redact(server_url(options, kind))
            ),
        }
    }
    if usable.is_empty() {
        bail!("no store to measure");
    }
    Ok(usable)
}

pub fn server_url(options: &Options, kind: StoreKind) -> &str {
    match kind {
        StoreKind::Postgres => &options.postgres_url,
        StoreKind::Mysql => &options.mysql_url,
        StoreKind::Sqlite => "",
    }
}

/// `given`, or the binary called `name` in the directory of the running one (the same cargo target profile).
pub fn sibling_binary(given: Option<&Path>, name: &str) -> anyhow::Result<PathBuf> {
    let path = match given {
        Some(path) => path.to_owned(),
        None => std::env::current_exe()?
            .parent()
            .context("the running binary has no directory")?
            .join(name),
    };
    if !path.is_file() {
        bail!(
            "{} not found: build it (`cargo build --release -p strata`, then `-p strata-bench`) or pass \
             its path",
            path.display()
        );
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inherited_argon2_parameters_never_reach_strata() {
        let inherited = [
            "STRATA_AUTH__ARGON2_MEMORY_KIB",
            "strata_auth__argon2_iterations",
            "STRATA_AUTH__ISSUER",
            "PATH",
            "STRATA_AUTH",
        ]
        .map(OsString::from);
        assert_eq!(
            argon2_overrides(inherited.into_iter()),
            [
                OsString::from("STRATA_AUTH__ARGON2_MEMORY_KIB"),
                OsString::from("strata_auth__argon2_iterations")
            ]
        );
    }
}
