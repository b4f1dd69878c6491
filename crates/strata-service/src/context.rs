//! What every service call carries about its request.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use strata_core::Principal;
use strata_core::schema::Schema;
use strata_store::{EventMeta, Scope};

/// The caller and the request: who, which request id (for logs and events), from where, and when.
#[derive(Debug, Clone)]
pub struct Context {
    pub principal: Arc<Principal>,
    pub request_id: String,
    /// The client's address, which scopes idempotency keys of anonymous callers and throttles sign-ins.
    pub client_addr: Option<IpAddr>,
    /// `@now`: when the request started.
    pub now: DateTime<Utc>,
}

impl Context {
    /// A context for a principal already shared (the HTTP layer keeps it in an `Arc`).
    pub fn with_principal(principal: Arc<Principal>, request_id: impl Into<String>) -> Self {
        Context {
            principal,
            request_id: request_id.into(),
            client_addr: None,
            now: strata_core::value::now(),
        }
    }

    pub fn new(principal: Principal, request_id: impl Into<String>) -> Self {
        Context {
            principal: Arc::new(principal),
            request_id: request_id.into(),
            client_addr: None,
            now: strata_core::value::now(),
        }
    }

    pub fn scope(&self, schema: &Arc<Schema>) -> Scope {
        Scope {
            schema: schema.clone(),
            principal: self.principal.clone(),
            now: self.now,
        }
    }

    pub fn meta(&self) -> EventMeta {
        EventMeta {
            request_id: self.request_id.clone(),
            principal_id: self.principal.id.map(|id| id.to_string()),
        }
    }

    pub fn anonymous(&self) -> bool {
        self.principal.is_anonymous()
    }

    /// The scope of this caller's idempotency keys: the principal, or the client's address.
    pub fn idempotency_scope(&self) -> String {
        match self.principal.id {
            Some(id) => format!("{}:{id}", self.principal.kind.as_str()),
            None => format!("ip:{}", self.client_ip()),
        }
    }

    /// The client's address as text, `unknown` when the transport gave none.
    pub fn client_ip(&self) -> String {
        self.client_addr
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
    }
}
