//! Who is calling: extracted once per request by the adapters and handed to every service call.

use std::collections::HashMap;
use std::sync::Arc;

use uuid::Uuid;

use crate::record::Record;
use crate::schema::Action;

/// What an API key may do: actions per collection. It narrows its owner's rights, never widens them.
pub type Scopes = Arc<HashMap<String, Vec<Action>>>;

/// The kind of caller, as `@auth.kind` reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    Anonymous,
    User,
    ApiKey,
    Admin,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::Anonymous => "anonymous",
            PrincipalKind::User => "user",
            PrincipalKind::ApiKey => "api_key",
            PrincipalKind::Admin => "admin",
        }
    }
}

/// The caller of one request. For an API key, `id`, `email`, `roles` and `user` are its owner's (SPEC §14).
#[derive(Debug, Clone)]
pub struct Principal {
    pub kind: PrincipalKind,
    pub id: Option<Uuid>,
    pub email: Option<String>,
    pub roles: Vec<String>,
    /// The `users` record, for `@auth.FIELD`.
    pub user: Option<Record>,
    /// The refresh family or session the credential belongs to (`sid`), for logout and revocation.
    pub session: Option<Uuid>,
    /// For an API key with scopes: what it may do. `None`: all of its owner's rights.
    pub scopes: Option<Scopes>,
}

impl Principal {
    pub fn anonymous() -> Self {
        Self {
            kind: PrincipalKind::Anonymous,
            id: None,
            email: None,
            roles: Vec::new(),
            user: None,
            session: None,
            scopes: None,
        }
    }

    pub fn admin(id: Uuid, email: String) -> Self {
        Self {
            kind: PrincipalKind::Admin,
            id: Some(id),
            email: Some(email),
            roles: Vec::new(),
            user: None,
            session: None,
            scopes: None,
        }
    }

    /// A user's principal: `@auth.email`, `@auth.roles` and every other field from their `users` record.
    pub fn user(users: &crate::schema::Collection, user: Record) -> Self {
        let email = match user.get(users, "email") {
            Some(crate::Value::Text(email)) => Some(email),
            _ => None,
        };
        let roles = match user.get(users, "roles") {
            Some(crate::Value::Json(serde_json::Value::Array(roles))) => roles
                .iter()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        Self {
            kind: PrincipalKind::User,
            id: Some(user.id),
            email,
            roles,
            user: Some(user),
            session: None,
            scopes: None,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.kind == PrincipalKind::Admin
    }

    pub fn is_anonymous(&self) -> bool {
        self.kind == PrincipalKind::Anonymous
    }

    /// Whether this credential's scopes cover `action` on `collection` (always, without scopes).
    pub fn in_scope(&self, collection: &str, action: Action) -> bool {
        self.scopes.as_ref().is_none_or(|s| {
            s.get(collection)
                .is_some_and(|actions| actions.contains(&action))
        })
    }
}
