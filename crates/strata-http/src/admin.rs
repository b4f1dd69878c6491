//! Admin endpoints: `POST /api/v1/admin/authz/explain` (SPEC §14).

use axum::Json;
use axum::extract::State;
use strata_core::{Error, ErrorCode};
use strata_service::explain::{ExplainRequest, Explanation};
use strata_service::{Envelope, RecordService};

use crate::error::ApiError;
use crate::extract::{Ctx, JsonBody};

pub async fn explain(
    State(records): State<RecordService>,
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
    Ok(Json(Envelope {
        data: records.explain(&ctx, request).await?,
    }))
}
