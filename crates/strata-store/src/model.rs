//! What services ask of a store: reads with their conditions, and batches of writes that commit together.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use strata_core::expr::Expr;
use strata_core::schema::{Collection, Schema};
use strata_core::{Principal, Record, Value};
use uuid::Uuid;

/// Who asks, against which schema, and when: what conditions are compiled with.
#[derive(Debug, Clone)]
pub struct Scope {
    pub schema: Arc<Schema>,
    pub principal: Arc<Principal>,
    /// `@now`: when the request started.
    pub now: DateTime<Utc>,
}

/// One key of an order: a system or declared field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    pub field: String,
    pub descending: bool,
}

/// A page of a collection, by keyset (`after`) or bounded offset.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub scope: Scope,
    pub collection: Arc<Collection>,
    /// Rules that must all be true (the list rule): they see every row's stored values.
    pub conditions: Vec<Arc<Expr>>,
    /// The caller's own filter, which must be true too. It, the sort and the keyset position read each field as
    /// the caller may read it, and each relation step only where the caller may view the record (SPEC §14).
    pub filter: Option<Arc<Expr>>,
    /// The order; the last key is always `id`.
    pub sort: Vec<SortKey>,
    pub limit: u32,
    /// The sort values of the last row of the previous page.
    pub after: Option<Vec<Value>>,
    pub offset: u32,
    pub count: bool,
}

#[derive(Debug, Clone)]
pub struct ListPage {
    pub records: Vec<Record>,
    /// Whether rows follow this page.
    pub has_more: bool,
    pub total: Option<u64>,
}

/// Records of one collection by id (a record, or a level of expansion), filtered by conditions.
#[derive(Debug, Clone)]
pub struct FetchQuery {
    pub scope: Scope,
    pub collection: Arc<Collection>,
    pub ids: Vec<Uuid>,
    pub conditions: Vec<Arc<Expr>>,
}

/// Rules to decide in SQL on records already read: the read rules that follow relations (SPEC §7).
#[derive(Debug, Clone)]
pub struct CheckQuery {
    pub scope: Scope,
    pub collection: Arc<Collection>,
    pub ids: Vec<Uuid>,
    pub checks: Vec<Arc<Expr>>,
}

/// Which of a [`CheckQuery`]'s checks hold on one record, as it stands at `version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub id: Uuid,
    pub version: i64,
    pub holds: Vec<bool>,
}

/// Builds the new field values of an updated record from the stored one, inside the write's transaction; an
/// error rolls the batch back and reaches the client as it is.
pub type UpdateFn = Box<dyn FnOnce(&Record) -> Result<Vec<Value>, strata_core::Error> + Send>;

/// One write of a batch.
pub enum WriteOp {
    Insert {
        collection: Arc<Collection>,
        record: Record,
        /// Checked on the inserted row, inside the transaction (a create rule that needs other records).
        check: Option<Arc<Expr>>,
        /// Decided on the inserted row, inside the transaction; the outcome says which hold (read rules that
        /// follow relations, for the answer).
        reads: Vec<Arc<Expr>>,
    },
    Update {
        collection: Arc<Collection>,
        id: Uuid,
        /// The record must satisfy these to be seen at all (else not found).
        visible: Vec<Arc<Expr>>,
        /// The update rule, on the stored row with `@data` the result (else forbidden); `None` allows.
        allowed: Option<Arc<Expr>>,
        if_match: Option<i64>,
        apply: UpdateFn,
        /// Decided on the updated row, inside the transaction, as for an insert.
        reads: Vec<Arc<Expr>>,
    },
    Delete {
        collection: Arc<Collection>,
        id: Uuid,
        visible: Vec<Arc<Expr>>,
        /// The delete rule on the stored row (else forbidden); `None` allows.
        allowed: Option<Arc<Expr>>,
        if_match: Option<i64>,
    },
}

impl std::fmt::Debug for WriteOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteOp::Insert {
                collection, record, ..
            } => write!(f, "Insert({}, {})", collection.name, record.id),
            WriteOp::Update { collection, id, .. } => {
                write!(f, "Update({}, {id})", collection.name)
            }
            WriteOp::Delete { collection, id, .. } => {
                write!(f, "Delete({}, {id})", collection.name)
            }
        }
    }
}

/// What a write did; deletes return the record as it was. Inserts and updates also say which of their op's
/// `reads` hold on the written record, in order.
#[derive(Debug, Clone)]
pub enum WriteOutcome {
    Created(Record, Vec<bool>),
    Updated(Record, Vec<bool>),
    Deleted(Record),
}

/// What events carry besides the record (SPEC §9 extensions).
#[derive(Debug, Clone, Default)]
pub struct EventMeta {
    pub request_id: String,
    pub principal_id: Option<String>,
}

/// The answer stored with an idempotency key, in the write's own transaction.
#[derive(Debug, Clone)]
pub struct IdempotentResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Builds the stored answer of an idempotent request from the outcomes, inside the transaction.
pub type FinishFn = Box<dyn FnOnce(&[WriteOutcome]) -> IdempotentResponse + Send>;

/// Writes that commit together or not at all.
pub struct WriteBatch {
    pub scope: Scope,
    pub ops: Vec<WriteOp>,
    pub meta: EventMeta,
    /// The idempotency key (already claimed) and how to build its stored answer.
    pub idempotency: Option<(IdempotencyKey, FinishFn)>,
}

impl WriteBatch {
    /// Whether the batch may fail after it changed rows: when it has more than one op (a later one may fail), or
    /// when something is decided on the written row (a create rule that needs other records, read rules that
    /// follow relations). Every other check of an op comes before its statements.
    pub fn may_fail_after_writing(&self) -> bool {
        self.ops.len() > 1
            || self.ops.iter().any(|op| match op {
                WriteOp::Insert { check, reads, .. } => check.is_some() || !reads.is_empty(),
                WriteOp::Update { reads, .. } => !reads.is_empty(),
                WriteOp::Delete { .. } => false,
            })
    }
}

/// A failed batch: the index of the op that failed and why.
#[derive(Debug)]
pub struct BatchError {
    pub index: usize,
    pub error: crate::StoreError,
}

/// An idempotency key as stored: scoped to the principal (or client IP), with a hash of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub scope: String,
    pub key: String,
    /// SHA-256 of method, path and body.
    pub fingerprint: String,
}

/// What claiming an idempotency key found.
#[derive(Debug, Clone)]
pub enum Claim {
    /// The key is ours: go ahead.
    Claimed,
    /// Another request holds it now.
    InProgress,
    /// Done before: its fingerprint and answer.
    Done {
        fingerprint: String,
        response: IdempotentResponse,
    },
}
