//! The [`RunningSandbox`] extractor: the prologue of every route that needs a Running sandbox.

use std::collections::HashMap;
use std::path::PathBuf;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use crate::auth::Identity;
use crate::errors::ApiError;
use crate::state::AppState;

/// The `{id}` sandbox of the route, checked before anything else is read: the caller may use
/// it (404 otherwise) and it is Running (409 "sandbox is not running"), in the Router's order.
pub(crate) struct RunningSandbox {
    pub id: String,
    /// Its workspace directory on the host.
    pub workspace: PathBuf,
}

impl FromRequestParts<AppState> for RunningSandbox {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, st)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        let id = params
            .get("id")
            .cloned()
            .ok_or_else(|| ApiError::internal("route without a sandbox id"))?;
        let who = parts
            .extensions
            .get::<Identity>()
            .ok_or_else(|| ApiError::internal("route without authentication"))?;
        st.sandboxes.view_running(&id, who, |_| Ok(()))?;
        let workspace = st.sandboxes.workspace_dir(&id);
        Ok(RunningSandbox { id, workspace })
    }
}
