//! Requests that arrive together share statements: reads by id and creates on the stores whose database is a
//! server (PostgreSQL, MySQL), pages on every store (on SQLite a page's query and decoding are most of a list's
//! work). Each statement (its text and values: the collection, its rule as compiled for the caller, the filter;
//! for creates, the collection) runs at most [`Shared::RUNNING`] times at once (once for reads, twice for
//! creates); a request that finds it so waits, and when a run ends, every request that waited goes to the
//! database together: reads by id as one
//! statement over all their ids, identical pages as one query whose page each of them gets, creates as one
//! transaction. The database parses, plans and executes one statement for all of them (and flushes one commit):
//! on a busy server that is most of its work per request, the part a pool cannot spread.
//!
//! A request never joins a statement that was sent before it arrived, so a read sees every write committed before
//! it was asked, as a statement of its own would. Alone, a request runs at once: sharing only ever replaces
//! waiting for a turn.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use strata_core::Record;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::error::{StoreError, StoreResult};
use crate::exec::PageStatements;
use crate::model::ListPage;

/// A statement that answers many requests at once.
#[async_trait]
pub(crate) trait Shared: Hash + Eq + Send + Sync + Sized + 'static {
    /// What one request asks beyond the statement (the ids it reads, the batch it writes).
    type Ask: Send + 'static;
    type Reply: Send + 'static;
    /// Where the statement runs: the store's pool.
    type Source: Send + Sync + 'static;
    /// Runs of one statement at once; requests that find this many wait and are answered together.
    const RUNNING: usize = 1;
    /// The most one run carries, in [`Shared::size`]'s unit; beyond it, waiting asks go in the run after.
    const MAX: usize = 512;
    /// How much an ask adds to a run (the ids it reads, the values it writes).
    fn size(ask: &Self::Ask) -> usize;
    /// One reply per ask, in order.
    async fn run(
        &self,
        source: &Self::Source,
        asks: Vec<Self::Ask>,
    ) -> StoreResult<Vec<Self::Reply>>;
}

/// Where a store reads a page: a connection of its pool, or SQLite's reader threads.
#[async_trait]
pub(crate) trait PageSource: Send + Sync + 'static {
    async fn page(&self, statements: &PageStatements) -> StoreResult<ListPage>;
}

/// One page of a list, on any store; readers asking for the same page get it from one query.
#[derive(PartialEq, Eq, Hash)]
pub(crate) struct Page(pub PageStatements);

#[async_trait]
impl Shared for Page {
    type Ask = ();
    type Reply = ListPage;
    type Source = Arc<dyn PageSource>;

    fn size(_: &()) -> usize {
        1
    }

    async fn run(&self, source: &Arc<dyn PageSource>, asks: Vec<()>) -> StoreResult<Vec<ListPage>> {
        let page = source.page(&self.0).await?;
        Ok(vec![page; asks.len()])
    }
}

/// The requests of one kind on a store, by statement.
pub(crate) struct Together<S: Shared> {
    source: S::Source,
    slots: Mutex<HashMap<Arc<S>, Slot<S>>>,
}

/// The runs of one statement and the requests waiting for the next.
struct Slot<S: Shared> {
    running: usize,
    waiting: Vec<Waiter<S>>,
}

struct Waiter<S: Shared> {
    ask: S::Ask,
    reply: oneshot::Sender<StoreResult<S::Reply>>,
}

/// Where a request goes: to the database, or to wait for the run after the one in progress.
enum Place<S: Shared> {
    Run(S::Ask),
    Wait(oneshot::Receiver<StoreResult<S::Reply>>),
}

impl<S: Shared> Together<S> {
    pub(crate) fn new(source: S::Source) -> Arc<Self> {
        Arc::new(Self {
            source,
            slots: Mutex::default(),
        })
    }

    /// `statement`'s answer to `ask`, alone or with the requests that wait with it.
    pub(crate) async fn send(self: &Arc<Self>, statement: S, ask: S::Ask) -> StoreResult<S::Reply> {
        let statement = Arc::new(statement);
        let place = {
            let mut slots = self.lock();
            let slot = slots.entry(statement.clone()).or_insert_with(|| Slot {
                running: 0,
                waiting: Vec::new(),
            });
            if slot.running < S::RUNNING {
                slot.running += 1;
                Place::<S>::Run(ask)
            } else {
                let (reply, answer) = oneshot::channel();
                slot.waiting.push(Waiter { ask, reply });
                Place::Wait(answer)
            }
        };
        match place {
            Place::Run(ask) => {
                let _turn = Turn {
                    together: self.clone(),
                    statement: statement.clone(),
                };
                let mut replies = statement.run(&self.source, vec![ask]).await?;
                replies
                    .pop()
                    .ok_or_else(|| anyhow::anyhow!("a shared statement gave no reply").into())
            }
            Place::Wait(answer) => answer.await.unwrap_or_else(|_| {
                Err(StoreError::Unavailable(anyhow::anyhow!(
                    "the request was dropped before it ran (the server is stopping)"
                )))
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Arc<S>, Slot<S>>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A run of `statement` has ended: hand the requests waiting for it to the next run, or free the turn.
    fn release(self: &Arc<Self>, statement: &Arc<S>) {
        let mut slots = self.lock();
        let Some(slot) = slots.get_mut(statement) else {
            return;
        };
        if slot.waiting.is_empty() {
            slot.running -= 1;
            if slot.running == 0 {
                slots.remove(statement);
            }
            return;
        }
        let batch = take_batch::<S>(&mut slot.waiting);
        drop(slots);
        let turn = Turn {
            together: self.clone(),
            statement: statement.clone(),
        };
        // Without a runtime (it is shutting down) the batch is dropped and its requests are told so.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                turn.together.answer(&turn.statement, batch).await;
            });
        }
    }

    /// Run one statement for every request of `batch` and give each its reply.
    async fn answer(&self, statement: &S, batch: Vec<Waiter<S>>) {
        let (asks, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|w| (w.ask, w.reply)).unzip();
        match statement.run(&self.source, asks).await {
            Ok(answers) => {
                for (reply, answer) in replies.into_iter().zip(answers) {
                    let _ = reply.send(Ok(answer));
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(replicate(&e)));
                }
            }
        }
    }
}

/// Where lone creates go ([`crate::exec::lone_create`]): those into one collection of one schema are written
/// together.
pub(crate) struct CreatesInto {
    pub schema: Arc<strata_core::schema::Schema>,
    pub collection: String,
}

impl CreatesInto {
    pub fn of(batch: &crate::model::WriteBatch) -> Option<Self> {
        let create = crate::exec::lone_create(batch)?;
        Some(Self {
            schema: create.scope.schema.clone(),
            collection: create.collection.name.clone(),
        })
    }

    /// What a create adds to a run: its values, the bound on a statement's parameters.
    pub fn size(batch: &crate::model::WriteBatch) -> usize {
        crate::exec::lone_create(batch).map_or(1, |c| c.collection.fields.len() + 4)
    }
}

impl PartialEq for CreatesInto {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.schema, &other.schema) && self.collection == other.collection
    }
}

impl Eq for CreatesInto {}

impl Hash for CreatesInto {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.collection.hash(state);
    }
}

/// The turn of a run: when it ends, however it ends (its own request dropped included), the requests
/// waiting for it are answered.
struct Turn<S: Shared> {
    together: Arc<Together<S>>,
    statement: Arc<S>,
}

impl<S: Shared> Drop for Turn<S> {
    fn drop(&mut self) {
        self.together.release(&self.statement);
    }
}

/// The first waiters, up to [`Shared::MAX`] between them (at least one waiter).
fn take_batch<S: Shared>(waiting: &mut Vec<Waiter<S>>) -> Vec<Waiter<S>> {
    let mut size = 0;
    let mut n = 0;
    for waiter in waiting.iter() {
        size += S::size(&waiter.ask);
        if n > 0 && size > S::MAX {
            break;
        }
        n += 1;
    }
    if n == waiting.len() {
        return std::mem::take(waiting);
    }
    let rest = waiting.split_off(n);
    std::mem::replace(waiting, rest)
}

/// Each ask's records, of those read for all of them; a record two asked for is cloned for the first.
pub(crate) fn share_by_id(records: Vec<Record>, mut asks: Vec<Vec<Uuid>>) -> Vec<Vec<Record>> {
    if asks.len() == 1 {
        asks.clear();
        return vec![records];
    }
    let mut demand: HashMap<Uuid, usize> = HashMap::with_capacity(records.len());
    for id in asks.iter().flatten() {
        *demand.entry(*id).or_default() += 1;
    }
    let mut found: HashMap<Uuid, Record> = records.into_iter().map(|r| (r.id, r)).collect();
    asks.iter()
        .map(|ids| {
            ids.iter()
                .filter_map(|id| {
                    let left = demand.get_mut(id)?;
                    *left -= 1;
                    if *left == 0 {
                        found.remove(id)
                    } else {
                        found.get(id).cloned()
                    }
                })
                .collect()
        })
        .collect()
}

/// The same failure for another request of a failed run.
fn replicate(e: &StoreError) -> StoreError {
    match e {
        StoreError::Timeout => StoreError::Timeout,
        StoreError::Unavailable(cause) => StoreError::Unavailable(anyhow::anyhow!("{cause:#}")),
        other => StoreError::Other(anyhow::anyhow!("{other:#}")),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// Replies to each ask with the ask itself, after a pause; counts its runs.
    #[derive(PartialEq, Eq, Hash)]
    struct Echo(&'static str);

    #[async_trait]
    impl Shared for Echo {
        type Ask = Vec<Uuid>;
        type Reply = Vec<Uuid>;
        type Source = AtomicUsize;

        fn size(ask: &Vec<Uuid>) -> usize {
            ask.len()
        }

        async fn run(
            &self,
            runs: &AtomicUsize,
            asks: Vec<Vec<Uuid>>,
        ) -> StoreResult<Vec<Vec<Uuid>>> {
            runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(asks)
        }
    }

    fn waiter(ids: usize) -> Waiter<Echo> {
        let (reply, _) = oneshot::channel();
        Waiter {
            ask: (0..ids).map(|_| Uuid::now_v7()).collect(),
            reply,
        }
    }

    #[test]
    fn a_batch_holds_at_most_max_ids_but_always_one_waiter() {
        let mut waiting: Vec<Waiter<Echo>> = (0..Echo::MAX + 10).map(|_| waiter(1)).collect();
        assert_eq!(take_batch(&mut waiting).len(), Echo::MAX);
        assert_eq!(waiting.len(), 10);
        let mut big = vec![waiter(Echo::MAX * 2), waiter(1)];
        assert_eq!(take_batch(&mut big).len(), 1);
        assert_eq!(big.len(), 1);
    }

    #[tokio::test]
    async fn reads_that_wait_for_a_run_share_the_next_and_each_gets_its_reply() {
        let reads = Together::<Echo>::new(AtomicUsize::new(0));
        let asks: Vec<Vec<Uuid>> = (0..50).map(|_| vec![Uuid::now_v7()]).collect();
        let replies = futures::future::join_all(
            asks.iter()
                .map(|ask| reads.send(Echo("posts"), ask.clone())),
        )
        .await;
        for (ask, reply) in asks.iter().zip(replies) {
            assert_eq!(&reply.expect("reply"), ask);
        }
        // The first read alone, then the 49 that waited for it, together.
        assert_eq!(reads.source.load(Ordering::SeqCst), 2);
        // Different statements do not wait for each other.
        let (a, b) = tokio::join!(
            reads.send(Echo("posts"), vec![]),
            reads.send(Echo("notes"), vec![])
        );
        assert!(a.is_ok() && b.is_ok());
        assert_eq!(reads.source.load(Ordering::SeqCst), 4);
        assert!(
            reads.lock().is_empty(),
            "nothing is kept once every read is answered"
        );
    }

    #[tokio::test]
    async fn a_read_dropped_while_it_runs_hands_the_waiting_reads_on() {
        let reads = Together::<Echo>::new(AtomicUsize::new(0));
        let first = tokio::spawn({
            let reads = reads.clone();
            async move { reads.send(Echo("posts"), vec![Uuid::now_v7()]).await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        let ask = vec![Uuid::now_v7()];
        let second = tokio::spawn({
            let (reads, ask) = (reads.clone(), ask.clone());
            async move { reads.send(Echo("posts"), ask).await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        first.abort();
        let reply = tokio::time::timeout(Duration::from_secs(2), second)
            .await
            .expect("the waiting read is answered")
            .expect("no panic");
        assert_eq!(reply.expect("reply"), ask);
    }
}
