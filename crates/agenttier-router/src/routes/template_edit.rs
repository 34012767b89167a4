//! Template management (wire spec §7): `POST /templates`, `PUT /templates/{name}` and
//! `DELETE /templates/{name}`, admin only. Built-in and directory templates are read-only here
//! (`409`, a local rule: the Router has no built-ins); see [`crate::templates`].

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use super::admin::require_admin;
use crate::auth::Identity;
use crate::errors::ApiError;
use crate::respond::go_json;
use crate::sandbox::record::Phase;
use crate::state::AppState;
use crate::templates::{EditError, Origin};
use crate::validate::{decode_body, is_rfc1123_label, rfc1123_error};

#[derive(Deserialize)]
struct TemplateBody {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    spec: Option<Value>,
}

impl TemplateBody {
    /// The spec (an empty one when missing, as the Router's full replace does) and the
    /// description (`description`, else `spec.description`).
    fn parts(self) -> Result<(String, Value), ApiError> {
        let spec = match self.spec {
            None | Some(Value::Null) => Value::Object(Default::default()),
            Some(spec @ Value::Object(_)) => spec,
            Some(_) => return Err(ApiError::bad_request("invalid request body: spec must be an object")),
        };
        if spec
            .get("mode")
            .is_some_and(|m| !matches!(m.as_str(), Some("code" | "agent" | "")))
        {
            return Err(ApiError::bad_request(r#"spec.mode must be "code" or "agent""#));
        }
        let description = if self.description.is_empty() {
            spec.get("description").and_then(Value::as_str).unwrap_or("").to_owned()
        } else {
            self.description
        };
        Ok((description, spec))
    }
}

fn edit_error(name: &str, e: EditError) -> ApiError {
    match e {
        EditError::NotFound => ApiError::not_found("template not found"),
        EditError::Exists => ApiError::conflict(format!("template {name} already exists")),
        EditError::ReadOnly(origin) => ApiError::conflict(format!(
            "template {name} is {} and cannot be changed through the API; create a copy under another name",
            match origin {
                Origin::Builtin => "built in",
                _ => "loaded from the templates directory",
            }
        )),
        EditError::InUse(sandbox) => {
            ApiError::conflict(format!("cannot delete template: sandbox {sandbox:?} is still using it"))
        }
        EditError::Store(e) => ApiError::internal(format!("failed to save template: {e}")),
    }
}

pub(super) async fn create(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_admin(&who)?;
    let body: TemplateBody = decode_body(&body)?;
    if body.name.is_empty() {
        return Err(ApiError::bad_request("name is required"));
    }
    if !is_rfc1123_label(&body.name) {
        return Err(ApiError::bad_request(rfc1123_error("name", &body.name)));
    }
    let name = body.name.clone();
    let (description, spec) = body.parts()?;
    let t = st
        .templates
        .create(&name, &description, spec)
        .map_err(|e| edit_error(&name, e))?;
    st.events
        .other("TemplateCreated", &format!("template {name} created"), &who);
    Ok(go_json(StatusCode::CREATED, &t.to_json()))
}

pub(super) async fn update(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_admin(&who)?;
    let (description, spec) = decode_body::<TemplateBody>(&body)?.parts()?;
    let t = st
        .templates
        .update(&name, &description, spec)
        .map_err(|e| edit_error(&name, e))?;
    st.events
        .other("TemplateUpdated", &format!("template {name} updated"), &who);
    Ok(go_json(StatusCode::OK, &t.to_json()))
}

pub(super) async fn delete(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    require_admin(&who)?;
    // As the Router: a Running sandbox made from the template keeps it alive.
    let user_of = |template: &str| {
        st.sandboxes.list(&Identity::dev(), |all| {
            all.filter(|e| e.rec.template == template && e.rec.phase == Phase::Running)
                .map(|e| e.rec.name.clone())
                .next()
        })
    };
    st.templates.delete(&name, user_of).map_err(|e| edit_error(&name, e))?;
    st.events
        .other("TemplateDeleted", &format!("template {name} deleted"), &who);
    Ok(StatusCode::NO_CONTENT.into_response())
}
