//! `POST /api/v1/sandboxes/{id}/invoke/cancel` (wire spec §9.5).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::Identity;
use crate::errors::ApiError;
use crate::sandbox::command::kill_group;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CancelRequest {
    #[serde(default)]
    invoke_id: String,
}

pub(crate) async fn cancel(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    st.sandboxes.view(&id, &who, |e| {
        if e.rec.mode == "agent" {
            Ok(())
        } else {
            Err(ApiError::bad_request("sandbox is not in mode: agent"))
        }
    })?;
    let invoke_id = serde_json::from_slice::<CancelRequest>(&body)
        .map(|r| r.invoke_id)
        .unwrap_or_default();
    if invoke_id.is_empty() {
        return Err(ApiError::bad_request("invokeId is required in request body"));
    }
    let invokes = st.agents.invokes();
    let Some(entry) = invokes.get(&invoke_id) else {
        return Err(ApiError::not_found(format!("invoke {invoke_id} not in flight")));
    };
    if entry.sandbox != id {
        return Err(ApiError::not_found("invoke does not belong to this sandbox"));
    }
    if !who.is_admin && entry.actor != who.sub {
        return Err(ApiError::Json(
            StatusCode::FORBIDDEN,
            "you do not own this invoke".into(),
        ));
    }
    // Kill at once, so the whole tree is gone when the 204 arrives; the stream then ends with
    // an exit event, reason canceled.
    entry.cancel.notify_one();
    kill_group(entry.pgid);
    Ok(StatusCode::NO_CONTENT.into_response())
}
