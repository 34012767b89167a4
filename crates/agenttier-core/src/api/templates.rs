//! Cluster sandbox templates (wire spec §7); writes are admin-only on the Router.

use super::non_empty;
use crate::Result;
use crate::models::TemplateDefinition;
use crate::request::{Request, segment};

/// `GET /templates`.
pub fn list() -> Request {
    Request::get("/templates")
}

/// `GET /templates/{name}`.
pub fn get(name: &str) -> Result<Request> {
    non_empty(name, "template name")?;
    Ok(Request::get(format!("/templates/{}", segment(name))))
}

/// `POST /templates`.
pub fn create(template: &TemplateDefinition) -> Result<Request> {
    template.validate()?;
    Request::post("/templates").json(template)
}

/// `PUT /templates/{name}`, the name being `template.name()`: a full replace.
pub fn update(template: &TemplateDefinition) -> Result<Request> {
    template.validate()?;
    Request::put(format!("/templates/{}", segment(template.name()))).json(template)
}

/// `DELETE /templates/{name}`.
pub fn delete(name: &str) -> Result<Request> {
    non_empty(name, "template name")?;
    Ok(Request::delete(format!("/templates/{}", segment(name))))
}
