//! Who is calling: extracted once per request by the adapters and handed to every service call.

use uuid::Uuid;

use crate::record::Record;

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
        }
    }

    pub fn is_admin(&self) -> bool {
        self.kind == PrincipalKind::Admin
    }

    pub fn is_anonymous(&self) -> bool {
        self.kind == PrincipalKind::Anonymous
    }
}
