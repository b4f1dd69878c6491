//! Reads by id that arrive together are answered by one statement. Each statement text (the collection, its
//! rule as compiled for the caller, and the rule's values) runs at most [`RUNNING`] at a time; a read that finds
//! it running waits, and when a run ends, every read that waited for it goes to the database as one
//! `WHERE id = ANY($1)`. The database parses, plans and executes one statement for all of them: on a busy
//! server that is most of its work per read, the part a pool cannot spread.
//!
//! A read never joins a statement that was sent before it arrived, so it sees every write committed before it
//! was asked, as a statement of its own would. Alone, a read runs at once: batching only ever replaces waiting
//! for a turn.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use sqlx::postgres::PgPool;
use strata_core::{ColType, Record, Value};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::exec::{fetch_with_ids, map_error};
use crate::error::{StoreError, StoreResult};
use crate::sql::{Param, SqlBuilder, query};

/// Statements of one text running at once; readers that find this many wait and are answered together.
const RUNNING: usize = 1;
/// The most ids one statement reads; beyond them, waiting readers go in the run after.
const MAX_IDS: usize = 512;

type Answer = StoreResult<Vec<Record>>;

/// The reads by id of a PostgreSQL store.
pub(super) struct Reads {
    pool: PgPool,
    slots: Mutex<HashMap<Arc<Template>, Slot>>,
}

/// A statement of [`query::fetch_by_id_array`] with the column types of its rows.
struct Template {
    stmt: SqlBuilder,
    cols: Vec<ColType>,
}

/// The runs of one template and the readers waiting for the next.
#[derive(Default)]
struct Slot {
    running: usize,
    waiting: Vec<Waiter>,
}

/// Where a reader goes: to the database, or to wait for the run after the one in progress.
enum Place {
    Run(Vec<Uuid>),
    Wait(oneshot::Receiver<Answer>),
}

struct Waiter {
    ids: Vec<Uuid>,
    reply: oneshot::Sender<Answer>,
}

impl Reads {
    pub(super) fn new(pool: PgPool) -> Arc<Self> {
        Arc::new(Self {
            pool,
            slots: Mutex::default(),
        })
    }

    /// The records with these `ids` that `stmt` (of [`query::fetch_by_id_array`]) admits.
    pub(super) async fn fetch(
        self: &Arc<Self>,
        stmt: SqlBuilder,
        cols: Vec<ColType>,
        ids: Vec<Uuid>,
    ) -> Answer {
        let template = Arc::new(Template { stmt, cols });
        let place = {
            let mut slots = self.lock();
            let slot = slots.entry(template.clone()).or_default();
            if slot.running < RUNNING {
                slot.running += 1;
                Place::Run(ids)
            } else {
                let (reply, answer) = oneshot::channel();
                slot.waiting.push(Waiter { ids, reply });
                Place::Wait(answer)
            }
        };
        let answer = match place {
            Place::Wait(answer) => answer,
            Place::Run(ids) => {
                let _turn = Turn {
                    reads: self.clone(),
                    template: template.clone(),
                };
                return self.run(&template, &ids).await;
            }
        };
        answer.await.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(anyhow::anyhow!(
                "the read was dropped before it ran (the server is stopping)"
            )))
        })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Arc<Template>, Slot>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn run(&self, template: &Template, ids: &[Uuid]) -> Answer {
        let mut conn = self.pool.acquire().await.map_err(map_error)?;
        fetch_with_ids(&mut conn, &template.stmt, ids, &template.cols)
            .await?
            .into_iter()
            .map(query::decode_record)
            .collect()
    }

    /// A run of `template` has ended: hand the readers waiting for it to the next run, or free the turn.
    fn release(self: &Arc<Self>, template: &Arc<Template>) {
        let mut slots = self.lock();
        let Some(slot) = slots.get_mut(template) else {
            return;
        };
        if slot.waiting.is_empty() {
            slot.running -= 1;
            if slot.running == 0 {
                slots.remove(template);
            }
            return;
        }
        let batch = take_batch(&mut slot.waiting);
        drop(slots);
        let turn = Turn {
            reads: self.clone(),
            template: template.clone(),
        };
        // Without a runtime (it is shutting down) the batch is dropped and its readers are told so.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                turn.reads.answer(&turn.template, batch).await;
            });
        }
    }

    /// Run one statement for every reader of `batch` and give each the records it asked for.
    async fn answer(&self, template: &Template, batch: Vec<Waiter>) {
        let ids: Vec<Uuid> = batch.iter().flat_map(|w| w.ids.iter().copied()).collect();
        match self.run(template, &ids).await {
            Ok(records) => share(records, batch),
            Err(e) => {
                for waiter in batch {
                    let _ = waiter.reply.send(Err(replicate(&e)));
                }
            }
        }
    }
}

/// The turn of a run: when it ends, however it ends (a reader whose request was dropped included), the readers
/// waiting for it are answered.
struct Turn {
    reads: Arc<Reads>,
    template: Arc<Template>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.reads.release(&self.template);
    }
}

/// The first waiters, up to [`MAX_IDS`] ids between them (at least one waiter).
fn take_batch(waiting: &mut Vec<Waiter>) -> Vec<Waiter> {
    let mut ids = 0;
    let mut n = 0;
    for waiter in waiting.iter() {
        ids += waiter.ids.len();
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

/// Give each waiter the records of its ids; a record two waiters asked for is cloned for the first.
fn share(records: Vec<Record>, batch: Vec<Waiter>) {
    if let [_] = batch.as_slice() {
        let waiter = batch.into_iter().next().expect("one waiter");
        let _ = waiter.reply.send(Ok(records));
        return;
    }
    let mut demand: HashMap<Uuid, usize> = HashMap::with_capacity(records.len());
    for id in batch.iter().flat_map(|w| w.ids.iter()) {
        *demand.entry(*id).or_default() += 1;
    }
    let mut found: HashMap<Uuid, Record> = records.into_iter().map(|r| (r.id, r)).collect();
    for waiter in batch {
        let records = waiter
            .ids
            .iter()
            .filter_map(|id| {
                let left = demand.get_mut(id)?;
                *left -= 1;
                if *left == 0 {
                    found.remove(id)
                } else {
                    found.get(id).cloned()
                }
            })
            .collect();
        let _ = waiter.reply.send(Ok(records));
    }
}

/// The same failure for another reader of a failed run.
fn replicate(e: &StoreError) -> StoreError {
    match e {
        StoreError::Timeout => StoreError::Timeout,
        StoreError::Unavailable(cause) => StoreError::Unavailable(anyhow::anyhow!("{cause:#}")),
        other => StoreError::Other(anyhow::anyhow!("{other:#}")),
    }
}

impl PartialEq for Template {
    fn eq(&self, other: &Self) -> bool {
        self.stmt.sql == other.stmt.sql
            && self.stmt.params.len() == other.stmt.params.len()
            && self
                .stmt
                .params
                .iter()
                .zip(&other.stmt.params)
                .all(|(a, b)| same(a, b))
    }
}

impl Eq for Template {}

impl Hash for Template {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.stmt.sql.hash(state);
        for p in &self.stmt.params {
            p.ty.hash(state);
            hash_value(&p.value, state);
        }
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

    fn waiter(ids: usize) -> Waiter {
        let (reply, _) = oneshot::channel();
        Waiter {
            ids: (0..ids).map(|_| Uuid::now_v7()).collect(),
            reply,
        }
    }

    #[test]
    fn a_batch_holds_at_most_max_ids_but_always_one_waiter() {
        let mut waiting: Vec<Waiter> = (0..MAX_IDS + 10).map(|_| waiter(1)).collect();
        assert_eq!(take_batch(&mut waiting).len(), MAX_IDS);
        assert_eq!(waiting.len(), 10);
        let mut big = vec![waiter(MAX_IDS * 2), waiter(1)];
        assert_eq!(take_batch(&mut big).len(), 1);
        assert_eq!(big.len(), 1);
    }

    #[test]
    fn a_template_with_a_nan_equals_itself() {
        let mut stmt = SqlBuilder::new(crate::sql::Dialect::Postgres);
        stmt.param(Value::Float(f64::NAN), ColType::Float);
        let t = Template {
            stmt,
            cols: Vec::new(),
        };
        assert!(t == t);
    }
}
