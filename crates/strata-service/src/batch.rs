//! `POST /api/v1/batch` (SPEC §4, §14): up to 100 writes in one transaction, all or nothing. A failure answers
//! that item's problem with `failed_index` and paths under `/requests/N/body`.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value as Json};
use strata_core::schema::Collection;
use strata_core::{Error, FieldError, FieldErrorCode};
use strata_store::{WriteOp, WriteOutcome};

use crate::body::Mode;
use crate::context::Context;
use crate::doc::{Doc, Envelope};
use crate::records::RecordService;
use crate::writes::{Idempotency, Render, Written, json_response};

pub const MAX_BATCH: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    pub requests: Vec<BatchItem>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchItem {
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub body: Option<Map<String, Json>>,
    #[serde(default)]
    pub if_match: Option<String>,
}

/// One result of a batch: `{"status": 201, "data": {…}}`, or `{"status": 204}` for a delete.
#[derive(Debug, serde::Serialize)]
pub struct BatchResult {
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Doc>,
}

/// Attach an item's index to its error: `failed_index`, and paths prefixed by `/requests/N/body`.
pub(crate) fn at_item(index: usize, mut error: Error) -> Error {
    let prefix = format!("/requests/{index}/body");
    error.errors = error
        .errors
        .into_iter()
        .map(|e| e.prefixed(&prefix))
        .collect();
    error.with_extension("failed_index", index.into())
}

impl RecordService {
    pub async fn batch(
        &self,
        ctx: &Context,
        request: BatchRequest,
        idempotency: Option<Idempotency>,
    ) -> Result<Written<Vec<BatchResult>>, Error> {
        if request.requests.is_empty() || request.requests.len() > MAX_BATCH {
            return Err(Error::invalid_query(format!(
                "a batch holds 1 to {MAX_BATCH} requests"
            )));
        }
        // Each item's collection, known before anything runs, to render the results.
        let collections = request
            .requests
            .iter()
            .enumerate()
            .map(|(index, item)| {
                self.collection(item_collection(&item.path))
                    .map_err(|e| at_item(index, e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let render: Render = {
            let (collections, service, ctx) = (collections.clone(), self.clone(), ctx.clone());
            Box::new(move |outcomes| {
                json_response(
                    200,
                    Vec::new(),
                    &Envelope {
                        data: service.results(&ctx, &collections, outcomes),
                    },
                )
            })
        };
        let build = || {
            request
                .requests
                .into_iter()
                .enumerate()
                .map(|(index, item)| self.batch_op(ctx, item).map_err(|e| at_item(index, e)))
                .collect::<Result<Vec<_>, _>>()
        };
        match self
            .commit(ctx, build, idempotency, render, at_item)
            .await?
        {
            Written::Fresh(outcomes) => {
                Ok(Written::Fresh(self.results(ctx, &collections, &outcomes)))
            }
            Written::Replayed(response) => Ok(Written::Replayed(response)),
        }
    }

    fn batch_op(&self, ctx: &Context, item: BatchItem) -> Result<WriteOp, Error> {
        let path = item.path.strip_prefix('/').unwrap_or(&item.path);
        if path.contains('?') {
            return Err(Error::invalid_query("batch paths take no query string"));
        }
        let segments: Vec<&str> = path.split('/').collect();
        let body = item.body.unwrap_or_default();
        let (name, id) = match segments.as_slice() {
            [name] => (*name, None),
            [name, id] => (*name, Some(*id)),
            _ => return Err(Error::not_found()),
        };
        let collection = self.collection(name)?;
        let if_match = item.if_match.as_deref();
        let op = match (item.method.as_str(), id) {
            ("POST", None) => {
                if if_match.is_some() {
                    return Err(Error::invalid_query(
                        "if_match applies to PATCH, PUT and DELETE",
                    ));
                }
                self.insert_op(ctx, &collection, &body)?
            }
            ("PATCH", Some(id)) => {
                self.update_op(ctx, &collection, id, body, Mode::Patch, if_match)?
            }
            ("PUT", Some(id)) => {
                self.update_op(ctx, &collection, id, body, Mode::Replace, if_match)?
            }
            ("DELETE", Some(id)) => self.delete_op(ctx, &collection, id, if_match)?,
            ("POST" | "PATCH" | "PUT" | "DELETE", _) => return Err(Error::not_found()),
            (other, _) => {
                return Err(Error::validation(vec![FieldError::new(
                    "/method",
                    FieldErrorCode::InvalidOption,
                    format!("`{other}` is not one of POST, PATCH, PUT, DELETE"),
                )]));
            }
        };
        Ok(op)
    }
}

/// The collection an item's path names (`/posts/ID` → `posts`).
fn item_collection(path: &str) -> &str {
    path.trim_start_matches('/')
        .split(['/', '?'])
        .next()
        .unwrap_or("")
}

impl RecordService {
    /// Each item's result as its writer sees it.
    fn results(
        &self,
        ctx: &Context,
        collections: &[Arc<Collection>],
        outcomes: &[WriteOutcome],
    ) -> Vec<BatchResult> {
        collections
            .iter()
            .zip(outcomes)
            .map(|(collection, outcome)| match outcome {
                WriteOutcome::Created(r, holds) => BatchResult {
                    status: 201,
                    data: Some(self.written_doc(ctx, collection, r.clone(), holds.clone())),
                },
                WriteOutcome::Updated(r, holds) => BatchResult {
                    status: 200,
                    data: Some(self.written_doc(ctx, collection, r.clone(), holds.clone())),
                },
                WriteOutcome::Deleted(_) => BatchResult {
                    status: 204,
                    data: None,
                },
            })
            .collect()
    }
}
