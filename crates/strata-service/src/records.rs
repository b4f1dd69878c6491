//! The record service: list, read, create, update, delete and batch over any store, with the same rules,
//! validation and errors for every protocol. Reads live here; writes in `writes.rs`, batches in `batch.rs`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Map;
use strata_core::schema::{Action, Collection, Schema};
use strata_core::{Error, Record, Value};
use strata_store::{DynStore, FetchQuery, ListQuery};
use uuid::Uuid;

use crate::context::Context;
use crate::doc::{Doc, Page};
use crate::error::{denied, from_store};
use crate::params::{self, ExpandNode, ReadParams, Selection};
use crate::{cursor, filter};
use strata_core::access::Access;

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Records of every collection, as the schema declares them.
#[derive(Clone)]
pub struct RecordService {
    pub(crate) store: DynStore,
    pub(crate) schema: Arc<Schema>,
    /// A pending idempotency claim older than this has lapsed (`server.request_timeout`).
    pub(crate) claim_lapse: Duration,
    /// Told the id of every record a write changed, so cached principals follow at once.
    pub(crate) user_changed: Option<Arc<dyn Fn(Uuid) + Send + Sync>>,
}

impl RecordService {
    pub fn new(store: DynStore, schema: Arc<Schema>, claim_lapse: Duration) -> Self {
        RecordService {
            store,
            schema,
            claim_lapse,
            user_changed: None,
        }
    }

    /// Call `listener` with the id of every record a write changes (cached `users` records are forgotten).
    pub fn on_user_change(mut self, listener: impl Fn(Uuid) + Send + Sync + 'static) -> Self {
        self.user_changed = Some(Arc::new(listener));
        self
    }

    /// Tell the listener about written records. Ids are unique across collections, so every written id is
    /// passed and the listener ignores those that are not users.
    pub(crate) fn written(&self, outcomes: &[strata_store::WriteOutcome]) {
        let Some(listener) = &self.user_changed else {
            return;
        };
        for outcome in outcomes {
            let (strata_store::WriteOutcome::Created(r, _)
            | strata_store::WriteOutcome::Updated(r, _)
            | strata_store::WriteOutcome::Deleted(r)) = outcome;
            listener(r.id);
        }
    }

    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    /// A collection by name; unknown collections are 404 like unknown routes.
    pub(crate) fn collection(&self, name: &str) -> Result<Arc<Collection>, Error> {
        self.schema
            .collection(name)
            .cloned()
            .ok_or_else(Error::not_found)
    }

    /// The rows of `action` this caller may touch; a locked action is 401/403 before anything is read.
    pub(crate) fn access(
        &self,
        ctx: &Context,
        collection: &Collection,
        action: Action,
    ) -> Result<Access, Error> {
        match Access::of(&self.schema, &ctx.principal, collection, action) {
            Access::Denied => Err(denied(ctx.anonymous())),
            access => Ok(access),
        }
    }

    /// `GET /{collection}`: one page, filtered by the list rule and the caller's filter.
    pub async fn list(&self, ctx: &Context, name: &str, p: &ReadParams) -> Result<Page, Error> {
        let collection = self.collection(name)?;
        let access = self.access(ctx, &collection, Action::List)?;
        let principal = &ctx.principal;
        let sort = params::parse_sort(&collection, p.sort.as_deref(), principal)?;
        let limit = params::parse_limit(p.limit.as_deref())?;
        let offset = params::parse_offset(p.offset.as_deref())?;
        let count = params::parse_bool("count", p.count.as_deref())?;
        let selection = params::parse_selection(
            &self.schema,
            &collection,
            p.fields.as_deref(),
            p.expand.as_deref(),
            principal,
        )?;
        let filter_src = p.filter.as_deref().filter(|f| !f.trim().is_empty());
        let filter = filter_src
            .map(|src| filter::parse(&self.schema, &collection, principal, src))
            .transpose()?;
        let after = match &p.cursor {
            Some(_) if offset > 0 => {
                return Err(Error::invalid_query(
                    "cursor and offset cannot be used together",
                ));
            }
            Some(c) => Some(cursor::decode(&collection, &sort, filter_src, c)?),
            None => None,
        };
        let query = ListQuery {
            scope: ctx.scope(&self.schema),
            collection: collection.clone(),
            conditions: access.condition().into_iter().collect(),
            filter,
            sort,
            limit,
            after,
            offset,
            count,
        };
        let page = self
            .store
            .list(query.clone())
            .await
            .map_err(|e| from_store(e, ctx.anonymous()))?;
        let docs = self
            .render(ctx, &collection, page.records, &selection)
            .await?;
        // The position as the caller reads it: a field hidden from it is null there too (SPEC §14).
        let next_cursor = match docs.last() {
            Some(last) if page.has_more => Some(cursor::encode(
                &collection,
                &query.sort,
                filter_src,
                &last.record,
                &last.unreadable,
            )),
            _ => None,
        };
        Ok(Page {
            docs,
            next_cursor,
            total: page.total,
        })
    }

    /// `GET /{collection}/{id}`: 404 when it does not exist or the caller may not view it.
    pub async fn get(
        &self,
        ctx: &Context,
        name: &str,
        id: &str,
        p: &ReadParams,
    ) -> Result<Doc, Error> {
        let collection = self.collection(name)?;
        let access = self.access(ctx, &collection, Action::View)?;
        let selection = params::parse_selection(
            &self.schema,
            &collection,
            p.fields.as_deref(),
            p.expand.as_deref(),
            &ctx.principal,
        )?;
        let id = parse_id(id)?;
        let query = FetchQuery {
            scope: ctx.scope(&self.schema),
            collection: collection.clone(),
            ids: vec![id],
            conditions: access.condition().into_iter().collect(),
        };
        let records = self
            .store
            .fetch(query)
            .await
            .map_err(|e| from_store(e, ctx.anonymous()))?;
        let mut docs = self.render(ctx, &collection, records, &selection).await?;
        docs.pop().ok_or_else(Error::not_found)
    }

    /// Records as documents with the selection applied and their expansions fetched: one query per expanded
    /// relation and level, whatever the number of records.
    pub(crate) async fn render(
        &self,
        ctx: &Context,
        collection: &Arc<Collection>,
        records: Vec<Record>,
        selection: &Selection,
    ) -> Result<Vec<Doc>, Error> {
        let expansions = self
            .expand(ctx, collection, &records, &selection.expand)
            .await?;
        let decided = self.decide_read_rules(ctx, collection, &records).await?;
        let fields: Option<Arc<[String]>> = selection.fields.as_ref().map(|f| f.clone().into());
        Ok(records
            .into_iter()
            .zip(expansions)
            .map(|(record, expand)| Doc {
                unreadable: self.unreadable(ctx, collection, &record, &decided),
                collection: collection.clone(),
                record,
                fields: fields.clone(),
                expand,
            })
            .collect())
    }

    /// A written record as its writer sees it: fields their read rules hide are left out. `holds` answers the
    /// write's `reads`, decided in its transaction.
    pub(crate) fn written_doc(
        &self,
        ctx: &Context,
        collection: &Arc<Collection>,
        record: Record,
        holds: Vec<bool>,
    ) -> Doc {
        let decided = self.written_decisions(ctx, collection, &record, holds);
        let mut doc = Doc::new(collection.clone(), record);
        doc.unreadable = self.unreadable(ctx, collection, &doc.record, &decided);
        doc
    }

    fn expand<'a>(
        &'a self,
        ctx: &'a Context,
        collection: &'a Collection,
        records: &'a [Record],
        nodes: &'a [ExpandNode],
    ) -> BoxFuture<'a, Result<Vec<Map<String, serde_json::Value>>, Error>> {
        Box::pin(async move {
            let mut maps = vec![Map::new(); records.len()];
            for node in nodes {
                let Some(index) = collection.field_index(&node.field) else {
                    continue;
                };
                // A related record the caller may not view is simply not expanded.
                let condition =
                    match Access::of(&self.schema, &ctx.principal, &node.target, Action::View) {
                        Access::Denied => continue,
                        access => access.condition(),
                    };
                let mut ids: Vec<Uuid> = records
                    .iter()
                    .filter_map(|r| match r.values.get(index) {
                        Some(Value::Uuid(id)) => Some(*id),
                        _ => None,
                    })
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                let query = FetchQuery {
                    scope: ctx.scope(&self.schema),
                    collection: node.target.clone(),
                    ids,
                    conditions: condition.into_iter().collect(),
                };
                let related = self
                    .store
                    .fetch(query)
                    .await
                    .map_err(|e| from_store(e, ctx.anonymous()))?;
                let selection = Selection {
                    fields: node.fields.clone(),
                    expand: node.children.clone(),
                };
                let docs = self.render(ctx, &node.target, related, &selection).await?;
                let by_id: HashMap<Uuid, serde_json::Value> = docs
                    .iter()
                    .map(|d| {
                        (
                            d.record.id,
                            serde_json::to_value(d).unwrap_or(serde_json::Value::Null),
                        )
                    })
                    .collect();
                for (record, map) in records.iter().zip(maps.iter_mut()) {
                    if let Some(Value::Uuid(id)) = record.values.get(index)
                        && let Some(doc) = by_id.get(id)
                    {
                        map.insert(node.field.clone(), doc.clone());
                    }
                }
            }
            Ok(maps)
        })
    }
}

/// A record id from a path: anything that is not a UUID names no record.
pub(crate) fn parse_id(id: &str) -> Result<Uuid, Error> {
    Uuid::try_parse(id).map_err(|_| Error::not_found())
}

impl RecordService {
    /// Whether the database answers (`/readyz`).
    pub async fn ready(&self) -> Result<(), Error> {
        self.store.ping().await.map_err(|e| from_store(e, false))
    }
}
