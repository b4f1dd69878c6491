//! Strata's REST adapter (SPEC §4, §5, §10, §11): the router, extractors, middleware and problem+json. Handlers
//! are thin: they parse the request and call the services.

mod admin;
mod auth;
mod auth_email;
mod auth_keys;
mod auth_mfa;
mod auth_oauth;
mod auth_session;
mod auth_token;
mod error;
mod extract;
mod health;
mod middleware;
mod records;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::routing::{delete, get, post};
use strata_service::RecordService;
use strata_service::auth::AuthService;

pub use error::ApiError;
pub use middleware::{LoggedPrincipal, RequestId, RequestIds, with_current_request};

/// What the HTTP layer needs to know of the settings.
#[derive(Debug, Clone, Copy)]
pub struct HttpConfig {
    pub body_limit: usize,
    pub request_timeout: Duration,
}

/// The services handlers draw from.
#[derive(Clone)]
pub struct AppState {
    pub records: RecordService,
    pub auth: AuthService,
}

impl FromRef<AppState> for RecordService {
    fn from_ref(state: &AppState) -> Self {
        state.records.clone()
    }
}

impl FromRef<AppState> for AuthService {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

/// The whole HTTP surface of a Strata server.
pub fn router(state: AppState, config: HttpConfig) -> Router {
    let auth_routes = Router::new()
        .route("/api/v1/auth/register", post(auth::register))
        .route("/api/v1/auth/login", post(auth_session::login))
        .route("/api/v1/auth/refresh", post(auth::refresh))
        .route("/api/v1/auth/logout", post(auth_session::logout))
        .route("/api/v1/auth/token", post(auth_token::token))
        .route(
            "/api/v1/auth/password/change",
            post(auth_session::change_password),
        )
        .route(
            "/api/v1/auth/api-keys",
            get(auth_keys::list_api_keys).post(auth_keys::create_api_key),
        )
        .route(
            "/api/v1/auth/api-keys/{id}",
            delete(auth_keys::delete_api_key),
        )
        .route("/api/v1/auth/me", get(auth::me))
        .route("/api/v1/admin/auth/login", post(auth::admin_login))
        .route("/api/v1/auth/mfa/totp/enroll", post(auth_mfa::enroll_totp))
        .route(
            "/api/v1/auth/mfa/totp/confirm",
            post(auth_mfa::confirm_totp),
        )
        .route(
            "/api/v1/auth/mfa/totp/disable",
            post(auth_mfa::disable_totp),
        )
        .route("/api/v1/auth/mfa/totp/verify", post(auth_mfa::verify_totp))
        .route(
            "/api/v1/auth/verify-email/request",
            post(auth_email::request_verification),
        )
        .route(
            "/api/v1/auth/verify-email/confirm",
            post(auth_email::confirm_email),
        )
        .route(
            "/api/v1/auth/password/forgot",
            post(auth_email::forgot_password),
        )
        .route(
            "/api/v1/auth/password/reset",
            post(auth_email::reset_password),
        )
        .route("/api/v1/auth/email/change", post(auth_email::change_email))
        .route("/api/v1/auth/oauth2/exchange", post(auth_oauth::exchange))
        .route(
            "/api/v1/auth/oauth2/{provider}/authorize",
            get(auth_oauth::authorize),
        )
        .route(
            "/api/v1/auth/oauth2/{provider}/callback",
            get(auth_oauth::callback),
        )
        .layer(axum::middleware::from_fn(auth::no_store));
    // Routes carry their full paths: a nested router would rewrite every request's URI and route it twice.
    Router::new()
        .merge(auth_routes)
        .route("/api/v1/admin/authz/explain", post(admin::explain))
        .route("/api/v1/batch", post(records::batch))
        .route(
            "/api/v1/{collection}",
            get(records::list_records).post(records::create_record),
        )
        .route(
            "/api/v1/{collection}/{id}",
            get(records::get_record)
                .patch(records::patch_record)
                .put(records::put_record)
                .delete(records::delete_record),
        )
        .route("/.well-known/jwks.json", get(auth::jwks))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .fallback(health::not_found)
        .with_state(state.clone())
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(axum::middleware::from_fn_with_state(
            middleware::Edge {
                request_timeout: config.request_timeout,
                auth: state.auth,
            },
            middleware::observe,
        ))
}
