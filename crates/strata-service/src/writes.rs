//! Creating, updating and deleting records: each write becomes a [`WriteOp`] checked in SPEC §14's order, then
//! commits with its outbox event (and, with an `Idempotency-Key`, its stored answer) in one transaction.

use serde_json::{Map, Value as Json};
use std::sync::Arc;
use strata_core::schema::{Action, Collection};
use strata_core::{Error, ErrorCode, Record};
use strata_store::{Claim, IdempotencyKey, IdempotentResponse, WriteBatch, WriteOp, WriteOutcome};

use crate::body::{self, Mode};
use crate::context::Context;
use crate::doc::{Doc, Envelope};
use crate::error::from_store;
use crate::records::{RecordService, parse_id};
use crate::rules;
use strata_core::access::Access;

/// A write's answer: done now, or replayed from an earlier request with the same idempotency key.
#[derive(Debug)]
pub enum Written<T> {
    Fresh(T),
    Replayed(IdempotentResponse),
}

/// An `Idempotency-Key` with the fingerprint of its request (SHA-256 of method, path and body).
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: String,
    pub fingerprint: String,
}

pub(crate) type Render = Box<dyn FnOnce(&[WriteOutcome]) -> IdempotentResponse + Send>;

/// The stored form of a JSON answer.
pub(crate) fn json_response(
    status: u16,
    headers: Vec<(String, String)>,
    body: &impl serde::Serialize,
) -> IdempotentResponse {
    let mut headers = headers;
    headers.insert(0, ("content-type".into(), "application/json".into()));
    IdempotentResponse {
        status,
        headers,
        body: serde_json::to_vec(body).unwrap_or_default(),
    }
}

impl RecordService {
    /// `POST /{collection}`
    pub async fn create(
        &self,
        ctx: &Context,
        name: &str,
        body: Map<String, Json>,
        idempotency: Option<Idempotency>,
    ) -> Result<Written<Doc>, Error> {
        let collection = self.collection(name)?;
        let render: Render =
            {
                let (collection, service, ctx) = (collection.clone(), self.clone(), ctx.clone());
                Box::new(move |outcomes| match outcomes.first() {
                    Some(WriteOutcome::Created(r, holds)) => created_response(
                        &service.written_doc(&ctx, &collection, r.clone(), holds.clone()),
                    ),
                    _ => IdempotentResponse {
                        status: 500,
                        headers: Vec::new(),
                        body: Vec::new(),
                    },
                })
            };
        let build = || Ok(vec![self.insert_op(ctx, &collection, &body)?]);
        Ok(
            match self
                .commit(ctx, build, idempotency, render, |_, e| e)
                .await?
            {
                Written::Fresh(mut outcomes) => match outcomes.pop() {
                    Some(WriteOutcome::Created(record, holds)) => {
                        Written::Fresh(self.written_doc(ctx, &collection, record, holds))
                    }
                    _ => {
                        return Err(Error::internal(anyhow::anyhow!(
                            "a create returned no record"
                        )));
                    }
                },
                Written::Replayed(response) => Written::Replayed(response),
            },
        )
    }

    /// `PATCH` (`Mode::Patch`) or `PUT` (`Mode::Replace`) `/{collection}/{id}`
    pub async fn update(
        &self,
        ctx: &Context,
        name: &str,
        id: &str,
        body: Map<String, Json>,
        mode: Mode,
        if_match: Option<&str>,
    ) -> Result<Doc, Error> {
        let collection = self.collection(name)?;
        let op = self.update_op(ctx, &collection, id, body, mode, if_match)?;
        let outcome = self.write_one(ctx, op).await?;
        match outcome {
            WriteOutcome::Updated(record, holds) => {
                Ok(self.written_doc(ctx, &collection, record, holds))
            }
            _ => Err(Error::internal(anyhow::anyhow!(
                "an update returned no record"
            ))),
        }
    }

    /// `DELETE /{collection}/{id}`
    pub async fn delete(
        &self,
        ctx: &Context,
        name: &str,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), Error> {
        let collection = self.collection(name)?;
        let op = self.delete_op(ctx, &collection, id, if_match)?;
        self.write_one(ctx, op).await.map(|_| ())
    }

    async fn write_one(&self, ctx: &Context, op: WriteOp) -> Result<WriteOutcome, Error> {
        let batch = WriteBatch {
            scope: ctx.scope(&self.schema),
            ops: vec![op],
            meta: ctx.meta(),
            idempotency: None,
        };
        let mut outcomes = self
            .store
            .write(batch)
            .await
            .map_err(|e| from_store(e.error, ctx.anonymous()))?;
        self.written(&outcomes);
        outcomes
            .pop()
            .ok_or_else(|| Error::internal(anyhow::anyhow!("a write returned no outcome")))
    }

    pub(crate) fn insert_op(
        &self,
        ctx: &Context,
        collection: &Arc<Collection>,
        body: &Map<String, Json>,
    ) -> Result<WriteOp, Error> {
        let access = self.access(ctx, collection, Action::Create)?;
        let id = body::create_id(body);
        let values = body::validate(collection, &ctx.principal, body, Mode::Create, None);
        let (id, values) = match (id, values) {
            (Ok(id), Ok(values)) => (id, values),
            (id, values) => {
                let mut errors = id.err().map(|e| e.errors).unwrap_or_default();
                errors.extend(values.err().map(|e| e.errors).unwrap_or_default());
                return Err(Error::validation(errors));
            }
        };
        let now = strata_core::value::now();
        let record = Record {
            id: id.unwrap_or_else(uuid::Uuid::now_v7),
            created_at: now,
            updated_at: now,
            version: 1,
            values,
        };
        let check = match access {
            Access::Where(rule) => {
                rules::check_create(&self.schema, collection, ctx, &rule, &record)?
            }
            _ => None,
        };
        Ok(WriteOp::Insert {
            collection: collection.clone(),
            record,
            check,
            reads: self.store_reads(ctx, collection),
        })
    }

    pub(crate) fn update_op(
        &self,
        ctx: &Context,
        collection: &Arc<Collection>,
        id: &str,
        body: Map<String, Json>,
        mode: Mode,
        if_match: Option<&str>,
    ) -> Result<WriteOp, Error> {
        let allowed = self.access(ctx, collection, Action::Update)?.condition();
        let visible = self.visible(ctx, collection)?;
        let if_match = parse_if_match(if_match)?;
        let id = parse_id(id)?;
        let (principal, target) = (ctx.principal.clone(), collection.clone());
        let apply = Box::new(move |stored: &Record| {
            body::validate(&target, &principal, &body, mode, Some(stored))
        });
        Ok(WriteOp::Update {
            collection: collection.clone(),
            id,
            visible,
            allowed,
            if_match,
            apply,
            reads: self.store_reads(ctx, collection),
        })
    }

    pub(crate) fn delete_op(
        &self,
        ctx: &Context,
        collection: &Arc<Collection>,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<WriteOp, Error> {
        let allowed = self.access(ctx, collection, Action::Delete)?.condition();
        let visible = self.visible(ctx, collection)?;
        let if_match = parse_if_match(if_match)?;
        let id = parse_id(id)?;
        Ok(WriteOp::Delete {
            collection: collection.clone(),
            id,
            visible,
            allowed,
            if_match,
        })
    }

    /// The read rules a write's answer needs the store to decide in its transaction.
    fn store_reads(
        &self,
        ctx: &Context,
        collection: &Collection,
    ) -> Vec<Arc<strata_core::expr::Expr>> {
        self.store_read_rules(ctx, collection)
            .into_iter()
            .map(|(_, rule)| rule)
            .collect()
    }

    /// The conditions under which a record is visible to this caller; a record it may not view is a 404.
    fn visible(
        &self,
        ctx: &Context,
        collection: &Collection,
    ) -> Result<Vec<Arc<strata_core::expr::Expr>>, Error> {
        match Access::of(&self.schema, &ctx.principal, collection, Action::View) {
            Access::Denied => Err(Error::not_found()),
            access => Ok(access.condition().into_iter().collect()),
        }
    }

    /// Build ops and commit them in one transaction, honouring an idempotency key (SPEC §14): claimed before
    /// anything else, the 2xx answer stored in the write's transaction, a 4xx (validation included) stored after
    /// the rollback, a 5xx forgotten. `locate` names the failed op in a store error (batches).
    pub(crate) async fn commit(
        &self,
        ctx: &Context,
        build: impl FnOnce() -> Result<Vec<WriteOp>, Error>,
        idempotency: Option<Idempotency>,
        render: Render,
        locate: fn(usize, Error) -> Error,
    ) -> Result<Written<Vec<WriteOutcome>>, Error> {
        let anonymous = ctx.anonymous();
        let key = idempotency.map(|i| IdempotencyKey {
            scope: ctx.idempotency_scope(),
            key: i.key,
            fingerprint: i.fingerprint,
        });
        if let Some(key) = &key {
            let lapse_before =
                ctx.now - chrono::Duration::from_std(self.claim_lapse).unwrap_or_default();
            match self
                .store
                .claim_idempotency(key.clone(), lapse_before)
                .await
                .map_err(|e| from_store(e, anonymous))?
            {
                Claim::Claimed => {}
                Claim::InProgress => {
                    return Err(Error::new(
                        ErrorCode::IdempotencyKeyInProgress,
                        "a request with this Idempotency-Key is in progress",
                    ));
                }
                Claim::Done {
                    fingerprint,
                    response,
                } if fingerprint == key.fingerprint => {
                    return Ok(Written::Replayed(response));
                }
                Claim::Done { .. } => {
                    return Err(Error::new(
                        ErrorCode::IdempotencyKeyReused,
                        "this Idempotency-Key was used with another method, path or body",
                    ));
                }
            }
        }
        let ops = match build() {
            Ok(ops) => ops,
            Err(error) => return Err(self.failed(ctx, key, error).await),
        };
        let batch = WriteBatch {
            scope: ctx.scope(&self.schema),
            ops,
            meta: ctx.meta(),
            idempotency: key.clone().map(|k| (k, render)),
        };
        match self.store.write(batch).await {
            Ok(outcomes) => {
                self.written(&outcomes);
                Ok(Written::Fresh(outcomes))
            }
            Err(failure) => {
                let error = locate(failure.index, from_store(failure.error, anonymous));
                Err(self.failed(ctx, key, error).await)
            }
        }
    }

    /// Record a failed idempotent request's answer, or forget its claim; the error is passed back.
    pub(crate) async fn failed(
        &self,
        ctx: &Context,
        key: Option<IdempotencyKey>,
        error: Error,
    ) -> Error {
        if let Some(key) = key {
            let status = error.status();
            let stored = if (400..500).contains(&status) && status != 401 && status != 429 {
                let response = IdempotentResponse {
                    status,
                    headers: vec![("content-type".into(), "application/problem+json".into())],
                    body: serde_json::to_vec(&error.problem(&ctx.request_id)).unwrap_or_default(),
                };
                self.store.complete_idempotency(key, response).await
            } else {
                self.store.release_idempotency(key).await
            };
            if let Err(e) = stored {
                tracing::warn!(error = %e, "could not record the outcome of an idempotent request");
            }
        }
        error
    }
}

/// The stored answer of a create: 201, `Location`, `ETag` and the envelope.
fn created_response(doc: &Doc) -> IdempotentResponse {
    json_response(
        201,
        vec![
            ("location".into(), doc.location()),
            ("etag".into(), doc.etag()),
        ],
        &Envelope { data: doc },
    )
}

/// `If-Match: "N"` or `*` (SPEC §14); anything else is 400 `invalid_query`.
fn parse_if_match(value: Option<&str>) -> Result<Option<i64>, Error> {
    match value.map(str::trim) {
        None | Some("*") => Ok(None),
        Some(v) => v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .and_then(|v| v.parse::<i64>().ok())
            .map(Some)
            .ok_or_else(|| {
                Error::invalid_query("If-Match must be a version in quotes, like \"3\", or *")
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_if_match;

    #[test]
    fn if_match_takes_a_quoted_version_or_a_star() {
        assert_eq!(parse_if_match(Some("\"3\"")).ok(), Some(Some(3)));
        assert_eq!(parse_if_match(Some("*")).ok(), Some(None));
        assert!(parse_if_match(Some("3")).is_err());
        assert!(parse_if_match(Some("W/\"3\"")).is_err());
    }
}
