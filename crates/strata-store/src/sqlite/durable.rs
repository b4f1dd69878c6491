//! Durability for the group commit, off the writer's path. The writer commits with `synchronous = NORMAL`, which
//! in WAL mode appends the group's frames to the WAL without waiting for the disk, and hands the committed group
//! here. One thread flushes the WAL file (`fdatasync`) once for every group committed meanwhile and only then
//! answers their callers, so a `201` still means the write is on disk (what `synchronous = FULL` promises),
//! while the writer already runs the next group instead of waiting for the flush.
//!
//! WAL frames are only ever appended in commit order, so one flush makes every group committed before it
//! durable. Until its flush, a group's rows can already be read by other requests; after a power loss (not a
//! crash of Strata, whose writes the kernel keeps), rows seen that way but never acknowledged may be gone.
//! SQLite itself flushes the WAL before each checkpoint and syncs the header when it restarts the log.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::thread;

use crossbeam_channel::{Receiver, Sender};

use crate::error::{StoreError, StoreResult};

/// A committed write's answer: its caller, and its own outcome once the commit is durable.
pub type Committed = (Box<dyn FnOnce(StoreResult<()>) + Send>, StoreResult<()>);

/// The thread that makes committed groups durable and answers them.
pub struct Syncer {
    groups: Sender<Vec<Committed>>,
}

impl Syncer {
    /// Start the thread for the database at `db` (its WAL is `db` + `-wal`).
    pub fn start(db: &std::path::Path) -> StoreResult<Syncer> {
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        let (groups, rx) = crossbeam_channel::unbounded();
        let wal = Wal {
            path: PathBuf::from(wal),
            file: None,
        };
        thread::Builder::new()
            .name("sqlite-sync".into())
            .spawn(move || sync_loop(wal, rx))
            .map_err(StoreError::other)?;
        Ok(Syncer { groups })
    }

    /// Answer `group` once the WAL holding its commit is on disk.
    pub fn submit(&self, group: Vec<Committed>) {
        if let Err(unsent) = self.groups.send(group) {
            for (finish, _) in unsent.into_inner() {
                finish(Err(StoreError::Unavailable(anyhow::anyhow!(
                    "the SQLite store is closing"
                ))));
            }
        }
    }
}

fn sync_loop(mut wal: Wal, groups: Receiver<Vec<Committed>>) {
    while let Ok(first) = groups.recv() {
        let mut waiting = vec![first];
        waiting.extend(groups.try_iter());
        let synced = wal.sync();
        if let Err(e) = &synced {
            tracing::error!(error = %e, "flushing the SQLite WAL failed; writes are answered 503");
        }
        for (finish, outcome) in waiting.into_iter().flatten() {
            finish(match &synced {
                Ok(()) => outcome,
                Err(e) => Err(StoreError::Unavailable(anyhow::anyhow!(
                    "the commit may not be on disk: {e}"
                ))),
            });
        }
    }
}

/// The WAL file, opened once and reopened should SQLite ever replace it.
struct Wal {
    path: PathBuf,
    file: Option<(File, u64)>,
}

impl Wal {
    fn sync(&mut self) -> std::io::Result<()> {
        let current = std::fs::metadata(&self.path)?.ino();
        let file = match self.file.take() {
            Some((file, inode)) if inode == current => file,
            _ => File::open(&self.path)?,
        };
        let inode = file.metadata()?.ino();
        let synced = file.sync_data();
        self.file = Some((file, inode));
        synced
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Submit one write's answer and wait for it.
    fn answer(syncer: &Syncer, outcome: StoreResult<()>) -> StoreResult<()> {
        let (tx, rx) = std::sync::mpsc::channel();
        let finish: Box<dyn FnOnce(StoreResult<()>) + Send> = Box::new(move |r| {
            let _ = tx.send(r);
        });
        syncer.submit(vec![(finish, outcome)]);
        rx.recv().expect("answered")
    }

    #[test]
    fn answers_follow_the_flush_of_the_wal_even_when_it_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("data.db");
        let wal = dir.path().join("data.db-wal");
        let syncer = Syncer::start(&db).unwrap();

        let missing = answer(&syncer, Ok(()));
        assert!(
            matches!(missing, Err(StoreError::Unavailable(_))),
            "no WAL to flush: the write is not known to be on disk, {missing:?}"
        );

        std::fs::write(&wal, b"frames").unwrap();
        assert!(answer(&syncer, Ok(())).is_ok());
        assert!(matches!(
            answer(&syncer, Err(StoreError::Forbidden)),
            Err(StoreError::Forbidden)
        ));

        std::fs::remove_file(&wal).unwrap();
        std::fs::write(&wal, b"a new log").unwrap();
        assert!(answer(&syncer, Ok(())).is_ok(), "the new WAL is opened");
    }
}
