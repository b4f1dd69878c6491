//! Getting a store ready for load: Strata started once on it to register the benchmark's user and seed the
//! collections through the batch API, the seeded ids kept for the load generator, and Strata's public keys saved
//! for the baseline, which verifies the same tokens.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::auth::{Principal, obtain_principal, sign_in_credentials};
use crate::launch::strata_launch;
use crate::load::{Operation, PUBLIC_COLLECTION, RULED_COLLECTION};
use crate::run::Plan;
use crate::seed::{SeedPlan, count_records, seed};
use crate::server::Server;
use crate::store::Database;

/// One seeded collection: its record ids, in memory and one per line in a file (for wrk).
#[derive(Default)]
pub(crate) struct SeededIds {
    pub(crate) ids: Arc<Vec<String>>,
    pub(crate) file: PathBuf,
}

/// A store ready for load: its database, the seeded ids and the user who owns them.
pub(crate) struct Prepared {
    pub(crate) db: Database,
    pub(crate) posts: SeededIds,
    pub(crate) notes: SeededIds,
    pub(crate) data_dir: PathBuf,
    /// Strata's `/.well-known/jwks.json`, as the seeding server published it: the keys the baseline verifies
    /// the principal's token with (signing keys live in the database, so every later start has the same).
    pub(crate) jwks_file: PathBuf,
    pub(crate) principal: Option<Principal>,
    /// The body of the login load's sign-in, when that load runs.
    pub(crate) login_body: String,
}

impl Prepared {
    /// A store not seeded yet, with its files under `work`.
    pub(crate) fn new(db: Database, work: &Path) -> Prepared {
        let name = format!("{:?}", db.kind).to_lowercase();
        Prepared {
            db,
            posts: SeededIds {
                ids: Arc::default(),
                file: work.join(format!("{name}-ids.txt")),
            },
            notes: SeededIds {
                ids: Arc::default(),
                file: work.join(format!("{name}-{PUBLIC_COLLECTION}-ids.txt")),
            },
            data_dir: work.join(format!("{name}-data")),
            jwks_file: work.join(format!("{name}-jwks.json")),
            principal: None,
            login_body: String::new(),
        }
    }

    /// The ids an operation's load picks from (the posts' for the ceiling and the operations without ids).
    pub(crate) fn ids_for(&self, operation: Operation) -> &SeededIds {
        match operation.collection() {
            Some(PUBLIC_COLLECTION) => &self.notes,
            _ => &self.posts,
        }
    }
}

/// The collections the operations need seeded: always `posts` (the ceiling's GET picks its ids), and `notes`
/// when a public load runs.
pub(crate) fn seeded_collections(ops: &[Operation]) -> Vec<&'static str> {
    let mut collections = vec![RULED_COLLECTION];
    if ops
        .iter()
        .any(|op| op.collection() == Some(PUBLIC_COLLECTION))
    {
        collections.push(PUBLIC_COLLECTION);
    }
    collections
}

/// Start Strata on the store, get the benchmark's user, seed its records in each of `collections`, save its
/// public keys and, for the login load, get credentials to sign in with; stop it. The seconds seeding took.
pub(crate) async fn seed_store(
    plan: &Plan,
    store: &mut Prepared,
    collections: &[&'static str],
) -> anyhow::Result<f64> {
    let options = &plan.options;
    let kind = store.db.kind;
    let launch = strata_launch(plan, store, true);
    let log = plan.work.join(format!("{kind:?}-seed.log").to_lowercase());
    let server = Server::start(&launch, &log).await?;
    let principal =
        obtain_principal(&plan.client, &server.base_url, options.token.as_deref()).await?;
    let mut elapsed = Duration::ZERO;
    for &collection in collections {
        let seeded = seed(
            &plan.client,
            &server.base_url,
            SeedPlan {
                collection,
                bearer: &principal.token,
                author: &principal.user_id,
                records: options.records(),
                concurrency: options.seed_concurrency,
            },
        )
        .await?;
        let listed =
            count_records(&plan.client, &server.base_url, collection, &principal.token).await?;
        if seeded.ids.len() as u64 != options.records() || listed != options.records() {
            bail!(
                "seeding {kind} made {} {collection} and the list counts {listed}, not {}",
                seeded.ids.len(),
                options.records()
            );
        }
        elapsed += seeded.elapsed;
        let target = if collection == PUBLIC_COLLECTION {
            &mut store.notes
        } else {
            &mut store.posts
        };
        std::fs::write(&target.file, seeded.ids.join("\n") + "\n")
            .with_context(|| format!("writing {}", target.file.display()))?;
        target.ids = Arc::new(seeded.ids);
    }
    save_jwks(&plan.client, &server.base_url, &store.jwks_file).await?;
    if options.ops.contains(&Operation::Login) {
        store.login_body = sign_in_credentials(&plan.client, &server.base_url, &principal)
            .await?
            .login_body();
    }
    server.stop().await?;
    store.db.analyze().await?;
    store.principal = Some(principal);
    Ok(elapsed.as_secs_f64())
}

/// Save the key set Strata publishes at `/.well-known/jwks.json` (SPEC §6) to `path`.
async fn save_jwks(client: &reqwest::Client, base_url: &str, path: &Path) -> anyhow::Result<()> {
    let response = client
        .get(format!("{base_url}/.well-known/jwks.json"))
        .send()
        .await
        .context("reading Strata's JWKS")?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("GET /.well-known/jwks.json answered {status}: {text}");
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_seeded_only_for_the_public_loads() {
        assert_eq!(seeded_collections(&[Operation::Get]), ["posts"]);
        assert_eq!(
            seeded_collections(&[Operation::Login, Operation::ListPublic]),
            ["posts", "notes"]
        );
    }
}
