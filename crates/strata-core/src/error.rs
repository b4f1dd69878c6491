//! The one error catalogue (SPEC §5): every failure a client can see has a code here, with its HTTP status and
//! title. REST writes it as RFC 9457 problem+json; later protocols map the same codes.

use std::fmt;

/// A catalogued error code. The string form is the `code` member of a problem body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    MalformedJson,
    ValidationFailed,
    InvalidFilter,
    InvalidQuery,
    Unauthenticated,
    InvalidCredentials,
    InvalidToken,
    TokenExpired,
    MfaRequired,
    Forbidden,
    CsrfFailed,
    NotFound,
    MethodNotAllowed,
    Conflict,
    AccountExists,
    IdempotencyKeyInProgress,
    PreconditionFailed,
    PayloadTooLarge,
    UriTooLong,
    UnsupportedMediaType,
    IdempotencyKeyReused,
    RateLimited,
    Internal,
    Unavailable,
    Timeout,
}

impl ErrorCode {
    /// The HTTP status this code is answered with.
    pub fn status(self) -> u16 {
        use ErrorCode::*;
        match self {
            MalformedJson | ValidationFailed | InvalidFilter | InvalidQuery => 400,
            Unauthenticated | InvalidCredentials | InvalidToken | TokenExpired | MfaRequired => 401,
            Forbidden | CsrfFailed => 403,
            NotFound => 404,
            MethodNotAllowed => 405,
            Conflict | AccountExists | IdempotencyKeyInProgress => 409,
            PreconditionFailed => 412,
            PayloadTooLarge => 413,
            UriTooLong => 414,
            UnsupportedMediaType => 415,
            IdempotencyKeyReused => 422,
            RateLimited => 429,
            Internal => 500,
            Unavailable | Timeout => 503,
        }
    }

    /// The machine-readable code, as clients see it.
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            MalformedJson => "malformed_json",
            ValidationFailed => "validation_failed",
            InvalidFilter => "invalid_filter",
            InvalidQuery => "invalid_query",
            Unauthenticated => "unauthenticated",
            InvalidCredentials => "invalid_credentials",
            InvalidToken => "invalid_token",
            TokenExpired => "token_expired",
            MfaRequired => "mfa_required",
            Forbidden => "forbidden",
            CsrfFailed => "csrf_failed",
            NotFound => "not_found",
            MethodNotAllowed => "method_not_allowed",
            Conflict => "conflict",
            AccountExists => "account_exists",
            IdempotencyKeyInProgress => "idempotency_key_in_progress",
            PreconditionFailed => "precondition_failed",
            PayloadTooLarge => "payload_too_large",
            UriTooLong => "uri_too_long",
            UnsupportedMediaType => "unsupported_media_type",
            IdempotencyKeyReused => "idempotency_key_reused",
            RateLimited => "rate_limited",
            Internal => "internal",
            Unavailable => "unavailable",
            Timeout => "timeout",
        }
    }

    /// The short human title of a problem body.
    pub fn title(self) -> &'static str {
        use ErrorCode::*;
        match self {
            MalformedJson => "Malformed JSON",
            ValidationFailed => "Validation failed",
            InvalidFilter => "Invalid filter",
            InvalidQuery => "Invalid query",
            Unauthenticated => "Authentication required",
            InvalidCredentials => "Invalid credentials",
            InvalidToken => "Invalid token",
            TokenExpired => "Token expired",
            MfaRequired => "Second factor required",
            Forbidden => "Forbidden",
            CsrfFailed => "CSRF check failed",
            NotFound => "Not found",
            MethodNotAllowed => "Method not allowed",
            Conflict => "Conflict",
            AccountExists => "Account exists",
            IdempotencyKeyInProgress => "Idempotency key in progress",
            PreconditionFailed => "Precondition failed",
            PayloadTooLarge => "Payload too large",
            UriTooLong => "URI too long",
            UnsupportedMediaType => "Unsupported media type",
            IdempotencyKeyReused => "Idempotency key reused",
            RateLimited => "Too many requests",
            Internal => "Internal error",
            Unavailable => "Service unavailable",
            Timeout => "Timeout",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The code of one entry of `errors[]` (SPEC §14 "Error details").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldErrorCode {
    Required,
    WrongType,
    NotInteger,
    OutOfRange,
    TooShort,
    TooLong,
    Pattern,
    InvalidOption,
    InvalidFormat,
    Unique,
    UnknownField,
    ReadOnly,
    InvalidRelation,
    JsonSchema,
    Syntax,
}

impl FieldErrorCode {
    pub fn as_str(self) -> &'static str {
        use FieldErrorCode::*;
        match self {
            Required => "required",
            WrongType => "wrong_type",
            NotInteger => "not_integer",
            OutOfRange => "out_of_range",
            TooShort => "too_short",
            TooLong => "too_long",
            Pattern => "pattern",
            InvalidOption => "invalid_option",
            InvalidFormat => "invalid_format",
            Unique => "unique",
            UnknownField => "unknown_field",
            ReadOnly => "read_only",
            InvalidRelation => "invalid_relation",
            JsonSchema => "json_schema",
            Syntax => "syntax",
        }
    }
}

/// One entry of a problem's `errors[]`: a JSON Pointer into the request, a code and a message.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub path: String,
    pub code: FieldErrorCode,
    pub message: String,
    /// Character offset, for expression syntax errors.
    pub position: Option<usize>,
}

impl FieldError {
    pub fn new(path: impl Into<String>, code: FieldErrorCode, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            code,
            message: message.into(),
            position: None,
        }
    }

    /// The same problem seen from an enclosing document (`/title` → `/requests/2/body/title`).
    pub fn prefixed(mut self, prefix: &str) -> Self {
        self.path = format!("{prefix}{}", self.path);
        self
    }
}

/// A failure that reaches a client: a catalogue code, a human detail, the field problems, and for 5xx the cause
/// (logged, never shown).
#[derive(Debug)]
pub struct Error {
    pub code: ErrorCode,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// Extra members for the problem body (e.g. `failed_index` of a batch).
    pub extensions: Vec<(&'static str, serde_json::Value)>,
    /// Response headers the error calls for (`Retry-After`, `WWW-Authenticate`).
    pub headers: Vec<(&'static str, String)>,
    pub source: Option<anyhow::Error>,
}

impl Error {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            errors: Vec::new(),
            extensions: Vec::new(),
            headers: Vec::new(),
            source: None,
        }
    }

    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound, "the requested resource does not exist")
    }

    pub fn invalid_query(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidQuery, detail)
    }

    /// A 400 `validation_failed` listing every problem of a body.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.len() {
            1 => "1 field is invalid".to_owned(),
            n => format!("{n} fields are invalid"),
        };
        Self {
            errors,
            ..Self::new(ErrorCode::ValidationFailed, detail)
        }
    }

    /// A 500 whose cause is kept for the log only.
    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        Self {
            source: Some(source.into()),
            ..Self::new(
                ErrorCode::Internal,
                "the server failed to handle the request",
            )
        }
    }

    pub fn unavailable(source: impl Into<anyhow::Error>) -> Self {
        Self {
            source: Some(source.into()),
            ..Self::new(ErrorCode::Unavailable, "a dependency is unavailable")
        }
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn with_extension(mut self, key: &'static str, value: serde_json::Value) -> Self {
        self.extensions.push((key, value));
        self
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)?;
        if let Some(source) = &self.source {
            write!(f, ": {source:#}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The RFC 9457 problem document of this error, as every HTTP endpoint answers it (SPEC §5).
    pub fn problem(&self, request_id: &str) -> serde_json::Value {
        let mut doc = serde_json::json!({
            "type": format!("/docs/errors#{}", self.code),
            "title": self.code.title(),
            "status": self.status(),
            "detail": self.detail,
            "code": self.code.as_str(),
            "request_id": request_id,
        });
        if !self.errors.is_empty() {
            doc["errors"] = self
                .errors
                .iter()
                .map(|e| {
                    let mut entry = serde_json::json!({"path": e.path, "code": e.code.as_str(), "message": e.message});
                    if let Some(position) = e.position {
                        entry["position"] = position.into();
                    }
                    entry
                })
                .collect();
        }
        for (key, value) in &self.extensions {
            doc[*key] = value.clone();
        }
        doc
    }
}
