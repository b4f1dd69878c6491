//! `POST /api/v1/admin/authz/explain` (SPEC §7, §14): for a principal, a collection, an action and a record (or
//! data), whether it is allowed, which grant or rule decided, and the SQL condition it compiled to.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use strata_core::access::{Access, candidates};
use strata_core::schema::{Action, USERS};
use strata_core::{Error, ErrorCode, Principal, Record};
use strata_store::FetchQuery;
use uuid::Uuid;

use crate::context::Context;
use crate::error::from_store;
use crate::records::RecordService;

/// Whose rights to explain.
#[derive(Debug, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum Subject {
    User { id: Uuid },
    ApiKey { api_key_id: Uuid },
    Anonymous { anonymous: bool },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExplainRequest {
    pub principal: Subject,
    pub collection: String,
    pub action: String,
    #[serde(default)]
    pub record_id: Option<Uuid>,
    #[serde(default)]
    pub data: Option<Map<String, Json>>,
}

/// `{allowed, by, sql}`; `allowed` is null for a list without a record: it returns the rows where `sql` holds.
#[derive(Debug, Serialize)]
pub struct Explanation {
    pub allowed: Option<bool>,
    pub by: String,
    pub sql: Option<String>,
    pub params: Vec<String>,
}

impl RecordService {
    /// Explain a decision for `request`; an API key subject comes resolved as `key` (the auth service knows keys).
    pub async fn explain(
        &self,
        ctx: &Context,
        request: ExplainRequest,
        key: Option<Principal>,
    ) -> Result<Explanation, Error> {
        if !ctx.principal.is_admin() {
            return Err(crate::error::denied(ctx.anonymous()));
        }
        let collection = self.collection(&request.collection)?;
        let action = Action::ALL
            .into_iter()
            .find(|a| a.as_str() == request.action)
            .ok_or_else(|| {
                Error::invalid_query("action must be list, view, create, update or delete")
            })?;
        let principal = match key {
            Some(principal) => principal,
            None => self.subject(ctx, request.principal).await?,
        };
        let scope = strata_store::Scope {
            schema: self.schema.clone(),
            principal: principal.clone().into(),
            now: ctx.now,
        };
        let rules = candidates(&self.schema, &principal, &collection, action);
        let access = Access::of(&self.schema, &principal, &collection, action);
        let condition = match access {
            Access::All if principal.is_admin() => {
                return Ok(decided(true, "admin: admins bypass rules"));
            }
            Access::Denied if !principal.in_scope(&collection.name, action) => {
                return Ok(decided(
                    false,
                    "the API key's scopes do not cover this action",
                ));
            }
            Access::Denied => {
                return Ok(decided(
                    false,
                    &format!(
                        "no rule or grant allows {} on {}: admins only",
                        action.as_str(),
                        collection.name
                    ),
                ));
            }
            Access::All => {
                let by = rules
                    .iter()
                    .find(|(_, r)| r.is_public())
                    .map_or_else(|| "public".to_owned(), |(at, _)| at.to_string());
                return Ok(decided(true, &format!("{by} = \"true\"")));
            }
            Access::Where(condition) => condition,
        };
        let (sql, params) = self
            .store
            .explain_condition(&scope, &collection, &condition)
            .map_err(|e| from_store(e, false))?;
        // Which candidate holds for the record, if one is named.
        let mut allowed = None;
        let mut by = rules
            .iter()
            .map(|(at, r)| format!("{at} = {:?}", r.source))
            .collect::<Vec<_>>()
            .join(" OR ");
        if let Some(id) = request.record_id {
            allowed = Some(false);
            for (at, rule) in &rules {
                let query = FetchQuery {
                    scope: scope.clone(),
                    collection: collection.clone(),
                    ids: vec![id],
                    conditions: vec![rule.expr.clone()],
                };
                if !self
                    .store
                    .fetch(query)
                    .await
                    .map_err(|e| from_store(e, false))?
                    .is_empty()
                {
                    allowed = Some(true);
                    by = format!("{at} = {:?}", rule.source);
                    break;
                }
            }
        } else if let (Some(data), Action::Create) = (&request.data, action) {
            let values = crate::body::validate(
                &collection,
                &principal,
                data,
                crate::body::Mode::Create,
                None,
            )?;
            let now = strata_core::value::now();
            let record = Record {
                id: Uuid::now_v7(),
                created_at: now,
                updated_at: now,
                version: 1,
                values,
            };
            allowed = Some(false);
            for (at, rule) in &rules {
                let eval = strata_core::expr::EvalContext {
                    schema: &self.schema,
                    collection: &collection,
                    record: Some(&record),
                    data: Some(&record),
                    principal: &principal,
                    now: ctx.now,
                };
                if matches!(
                    strata_core::expr::eval(&rule.expr, &eval),
                    Ok(strata_core::expr::Tri::True)
                ) {
                    allowed = Some(true);
                    by = format!("{at} = {:?}", rule.source);
                    break;
                }
            }
        }
        Ok(Explanation {
            allowed,
            by,
            sql: Some(sql),
            params,
        })
    }

    /// The principal named by an explain request.
    async fn subject(&self, ctx: &Context, subject: Subject) -> Result<Principal, Error> {
        match subject {
            Subject::Anonymous { anonymous: true } => Ok(Principal::anonymous()),
            Subject::Anonymous { .. } | Subject::ApiKey { .. } => Err(Error::invalid_query(
                "principal must be {id}, {api_key_id} or {anonymous: true}",
            )),
            Subject::User { id } => {
                let users = self.collection(USERS)?;
                let query = FetchQuery {
                    scope: ctx.scope(&self.schema),
                    collection: users.clone(),
                    ids: vec![id],
                    conditions: vec![],
                };
                let mut found = self
                    .store
                    .fetch(query)
                    .await
                    .map_err(|e| from_store(e, false))?;
                let user = found
                    .pop()
                    .ok_or_else(|| Error::new(ErrorCode::NotFound, "no user has this id"))?;
                Ok(Principal::user(&users, user))
            }
        }
    }
}

fn decided(allowed: bool, by: &str) -> Explanation {
    Explanation {
        allowed: Some(allowed),
        by: by.to_owned(),
        sql: None,
        params: Vec::new(),
    }
}
