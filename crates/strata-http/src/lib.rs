//! Strata's REST adapter (SPEC §4, §5, §10, §11): the router, extractors, middleware and problem+json. Handlers
//! are thin: they parse the request and call the services.

mod error;
mod extract;
mod health;
mod middleware;
mod records;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use strata_service::RecordService;

pub use error::ApiError;
pub use middleware::{LoggedPrincipal, RequestId};

/// What the HTTP layer needs to know of the settings.
#[derive(Debug, Clone, Copy)]
pub struct HttpConfig {
    pub body_limit: usize,
    pub request_timeout: Duration,
}

/// The whole HTTP surface of a Strata server.
pub fn router(records: RecordService, config: HttpConfig) -> Router {
    let api = Router::new()
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
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .fallback(health::not_found)
        .with_state(records)
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(axum::middleware::from_fn_with_state(
            middleware::Limits {
                request_timeout: config.request_timeout,
            },
            middleware::observe,
        ))
}
