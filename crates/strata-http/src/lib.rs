//! Strata's REST adapter (SPEC §4, §5, §10, §11): the router, extractors, middleware and problem+json. Handlers
//! are thin: they parse the request and call the services.

mod auth;
mod error;
mod extract;
mod health;
mod middleware;
mod records;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::routing::{get, post};
use strata_service::RecordService;
use strata_service::auth::AuthService;

pub use error::ApiError;
pub use middleware::{LoggedPrincipal, RequestId};

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
        .route("/auth/register", post(auth::register))
        .route("/auth/login", post(auth::login))
        .route("/auth/refresh", post(auth::refresh))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/me", get(auth::me))
        .route("/admin/auth/login", post(auth::admin_login))
        .layer(axum::middleware::from_fn(auth::no_store));
    let api = Router::new()
        .merge(auth_routes)
        .route("/batch", post(records::batch))
        .route(
            "/{collection}",
            get(records::list_records).post(records::create_record),
        )
        .route(
            "/{collection}/{id}",
            get(records::get_record)
                .patch(records::patch_record)
                .put(records::put_record)
                .delete(records::delete_record),
        );
    Router::new()
        .nest("/api/v1", api)
        .route("/.well-known/jwks.json", get(auth::jwks))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .fallback(health::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.auth.clone(),
            auth::authenticate,
        ))
        .with_state(state)
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(axum::middleware::from_fn_with_state(
            middleware::Limits {
                request_timeout: config.request_timeout,
            },
            middleware::observe,
        ))
}
