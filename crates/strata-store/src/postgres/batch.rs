//! Reads that arrive together are answered by one statement. Each statement (its text and values: the
//! collection, its rule as compiled for the caller, the filter) runs at most [`RUNNING`] at a time; a read that
//! finds it running waits, and when a run ends, every read that waited for it goes to the database in one
//! statement: reads by id as one `WHERE id = ANY($1)` over all their ids ([`ById`]), identical pages as one
//! query whose page each of them gets ([`Page`]). The database parses, plans and executes one statement for
//! all of them: on a busy server that is most of its work per read, the part a pool cannot spread.
//!
//! A read never joins a statement that was sent before it arrived, so it sees every write committed before it
//! was asked, as a statement of its own would. Alone, a read runs at once: batching only ever replaces waiting
//! for a turn.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use sqlx::postgres::{PgConnection, PgPool};
use strata_core::{ColType, Record, Value};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::exec::{PgExec, fetch_with_ids, map_error};
use crate::error::{StoreError, StoreResult};
use crate::exec::PageStatements;
use crate::model::ListPage;
use crate::sql::{Param, SqlBuilder, query};

/// Runs of one statement at once; readers that find this many wait and are answered together.
const RUNNING: usize = 1;
/// The most ids one statement reads; beyond them, waiting readers go in the run after.
const MAX_IDS: usize = 512;

/// A statement that answers many readers at once.
#[async_trait]
pub(super) trait Shared: Hash + Eq + Send + Sync + Sized + 'static {
    /// What one reader asks beyond the statement (the ids it reads).
    type Ask: Send + 'static;
    type Reply: Send + 'static;
    /// How many ids an ask reads, to bound a batch.
    fn size(ask: &Self::Ask) -> usize;
    /// One reply per ask, in order.
    async fn run(
        &self,
        conn: &mut PgConnection,
        asks: Vec<Self::Ask>,
    ) -> StoreResult<Vec<Self::Reply>>;
}

/// The shared reads of one kind on a PostgreSQL pool.
pub(super) struct Reads<S: Shared> {
    pool: PgPool,
    slots: Mutex<HashMap<Arc<S>, Slot<S>>>,
}

/// The runs of one statement and the readers waiting for the next.
struct Slot<S: Shared> {
    running: usize,
    waiting: Vec<Waiter<S>>,
}

struct Waiter<S: Shared> {
    ask: S::Ask,
    reply: oneshot::Sender<StoreResult<S::Reply>>,
}

/// Where a reader goes: to the database, or to wait for the run after the one in progress.
enum Place<S: Shared> {
    Run(S::Ask),
    Wait(oneshot::Receiver<StoreResult<S::Reply>>),
}

impl<S: Shared> Reads<S> {
    pub(super) fn new(pool: PgPool) -> Arc<Self> {
        Arc::new(Self {
            pool,
            slots: Mutex::default(),
        })
    }

    /// `statement`'s answer to `ask`, alone or with the readers that wait with it.
    pub(super) async fn read(self: &Arc<Self>, statement: S, ask: S::Ask) -> StoreResult<S::Reply> {
        let statement = Arc::new(statement);
        let place = {
            let mut slots = self.lock();
            let slot = slots.entry(statement.clone()).or_insert_with(|| Slot {
                running: 0,
                waiting: Vec::new(),
            });
            if slot.running < RUNNING {
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
                    reads: self.clone(),
                    statement: statement.clone(),
                };
                let mut replies = self.run(&statement, vec![ask]).await?;
                replies
                    .pop()
                    .ok_or_else(|| anyhow::anyhow!("a shared read gave no reply").into())
            }
            Place::Wait(answer) => answer.await.unwrap_or_else(|_| {
                Err(StoreError::Unavailable(anyhow::anyhow!(
                    "the read was dropped before it ran (the server is stopping)"
                )))
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Arc<S>, Slot<S>>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn run(&self, statement: &S, asks: Vec<S::Ask>) -> StoreResult<Vec<S::Reply>> {
        let mut conn = self.pool.acquire().await.map_err(map_error)?;
        statement.run(&mut conn, asks).await
    }

    /// A run of `statement` has ended: hand the readers waiting for it to the next run, or free the turn.
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
            reads: self.clone(),
            statement: statement.clone(),
        };
        // Without a runtime (it is shutting down) the batch is dropped and its readers are told so.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                turn.reads.answer(&turn.statement, batch).await;
            });
        }
    }

    /// Run one statement for every reader of `batch` and give each its reply.
    async fn answer(&self, statement: &S, batch: Vec<Waiter<S>>) {
        let (asks, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|w| (w.ask, w.reply)).unzip();
        match self.run(statement, asks).await {
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

/// The turn of a run: when it ends, however it ends (a reader whose request was dropped included), the readers
/// waiting for it are answered.
struct Turn<S: Shared> {
    reads: Arc<Reads<S>>,
    statement: Arc<S>,
}

impl<S: Shared> Drop for Turn<S> {
    fn drop(&mut self) {
        self.reads.release(&self.statement);
    }
}

/// Records of one collection by id ([`query::fetch_by_id_array`]); each reader asks for its ids.
pub(super) struct ById {
    pub stmt: SqlBuilder,
    pub cols: Vec<ColType>,
}

#[async_trait]
impl Shared for ById {
    type Ask = Vec<Uuid>;
    type Reply = Vec<Record>;

    fn size(ask: &Vec<Uuid>) -> usize {
        ask.len()
    }

    async fn run(
        &self,
        conn: &mut PgConnection,
        asks: Vec<Vec<Uuid>>,
    ) -> StoreResult<Vec<Vec<Record>>> {
        let ids: Vec<Uuid> = asks.iter().flatten().copied().collect();
        let records = fetch_with_ids(conn, &self.stmt, &ids, &self.cols)
            .await?
            .into_iter()
            .map(query::decode_record)
            .collect::<StoreResult<Vec<Record>>>()?;
        Ok(share(records, asks))
    }
}

/// One page of a list; readers asking for the same page get it from one query.
pub(super) struct Page(pub PageStatements);

#[async_trait]
impl Shared for Page {
    type Ask = ();
    type Reply = ListPage;

    fn size(_: &()) -> usize {
        1
    }

    async fn run(&self, conn: &mut PgConnection, asks: Vec<()>) -> StoreResult<Vec<ListPage>> {
        let page = self.0.run(&mut PgExec { conn }).await?;
        Ok(vec![page; asks.len()])
    }
}

/// The first waiters, up to [`MAX_IDS`] ids between them (at least one waiter).
fn take_batch<S: Shared>(waiting: &mut Vec<Waiter<S>>) -> Vec<Waiter<S>> {
    let mut ids = 0;
    let mut n = 0;
    for waiter in waiting.iter() {
        ids += S::size(&waiter.ask);
        if n > 0 && ids > MAX_IDS {
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
fn share(records: Vec<Record>, mut asks: Vec<Vec<Uuid>>) -> Vec<Vec<Record>> {
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

/// The same failure for another reader of a failed run.
fn replicate(e: &StoreError) -> StoreError {
    match e {
        StoreError::Timeout => StoreError::Timeout,
        StoreError::Unavailable(cause) => StoreError::Unavailable(anyhow::anyhow!("{cause:#}")),
        other => StoreError::Other(anyhow::anyhow!("{other:#}")),
    }
}

impl PartialEq for ById {
    fn eq(&self, other: &Self) -> bool {
        same_statement(&self.stmt, &other.stmt)
    }
}

impl Eq for ById {}

impl Hash for ById {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_statement(&self.stmt, state);
    }
}

impl PartialEq for Page {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (&self.0, &other.0);
        a.limit == b.limit
            && same_statement(&a.rows, &b.rows)
            && match (&a.count, &b.count) {
                (Some(x), Some(y)) => same_statement(x, y),
                (x, y) => x.is_none() && y.is_none(),
            }
    }
}

impl Eq for Page {}

impl Hash for Page {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_statement(&self.0.rows, state);
        if let Some(count) = &self.0.count {
            hash_statement(count, state);
        }
    }
}

fn same_statement(a: &SqlBuilder, b: &SqlBuilder) -> bool {
    a.sql == b.sql
        && a.params.len() == b.params.len()
        && a.params.iter().zip(&b.params).all(|(x, y)| same(x, y))
}

fn hash_statement<H: Hasher>(stmt: &SqlBuilder, state: &mut H) {
    stmt.sql.hash(state);
    for p in &stmt.params {
        p.ty.hash(state);
        hash_value(&p.value, state);
    }
}

/// Parameters that bind the same: floats by their bits, so that a key always equals itself.
fn same(a: &Param, b: &Param) -> bool {
    a.ty == b.ty
        && match (&a.value, &b.value) {
            (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
            (x, y) => x == y,
        }
}

fn hash_value<H: Hasher>(value: &Value, state: &mut H) {
    std::mem::discriminant(value).hash(state);
    match value {
        Value::Null => {}
        Value::Bool(b) => b.hash(state),
        Value::Int(i) => i.hash(state),
        Value::Float(f) => f.to_bits().hash(state),
        Value::Text(s) => s.hash(state),
        Value::Uuid(u) => u.hash(state),
        Value::Datetime(d) => d.hash(state),
        Value::Date(d) => d.hash(state),
        // Equal JSON values print the same (serde_json keeps object keys sorted).
        Value::Json(j) => j.to_string().hash(state),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiter(ids: usize) -> Waiter<ById> {
        let (reply, _) = oneshot::channel();
        Waiter {
            ask: (0..ids).map(|_| Uuid::now_v7()).collect(),
            reply,
        }
    }

    #[test]
    fn a_batch_holds_at_most_max_ids_but_always_one_waiter() {
        let mut waiting: Vec<Waiter<ById>> = (0..MAX_IDS + 10).map(|_| waiter(1)).collect();
        assert_eq!(take_batch(&mut waiting).len(), MAX_IDS);
        assert_eq!(waiting.len(), 10);
        let mut big = vec![waiter(MAX_IDS * 2), waiter(1)];
        assert_eq!(take_batch(&mut big).len(), 1);
        assert_eq!(big.len(), 1);
    }

    #[test]
    fn a_statement_with_a_nan_equals_itself() {
        let mut stmt = SqlBuilder::new(crate::sql::Dialect::Postgres);
        stmt.param(Value::Float(f64::NAN), ColType::Float);
        let by_id = ById {
            stmt,
            cols: Vec::new(),
        };
        assert!(by_id == by_id);
    }
}
