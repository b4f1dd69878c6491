//! Admin endpoints: `POST /api/v1/admin/authz/explain` (SPEC §14).

use axum::Json;
use axum::extract::State;
use strata_core::{Error, ErrorCode};
use strata_service::auth::AuthService;
use strata_service::explain::{ExplainRequest, Explanation, Subject};
use strata_service::{Envelope, RecordService};

use crate::error::ApiError;
use crate::extract::{Ctx, JsonBody};

pub async fn explain(
    State(records): State<RecordService>,
    State(auth): State<AuthService>,
    Ctx(ctx): Ctx,
    body: JsonBody,
) -> Result<Json<Envelope<Explanation>>, ApiError> {
    let request: ExplainRequest = serde_json::from_value(serde_json::Value::Object(body.object))
        .map_err(|e| {
            Error::new(
                ErrorCode::ValidationFailed,
                format!("expected {{principal, collection, action, record_id?, data?}}: {e}"),
            )
        })?;
    // Keys are the auth service's; only an admin may ask (checked again by `explain`).
    let key = match (&request.principal, ctx.principal.is_admin()) {
        (Subject::ApiKey { api_key_id }, true) => Some(auth.api_key_principal(*api_key_id).await?),
        _ => None,
    };
    Ok(Json(Envelope {
        data: records.explain(&ctx, request, key).await?,
    }))
}
