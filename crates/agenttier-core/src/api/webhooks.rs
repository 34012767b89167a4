//! Webhook subscriptions (wire spec §11.1).

use super::non_empty;
use crate::Result;
use crate::models::CreateWebhook;
use crate::request::{Request, segment};

/// `POST /webhooks`.
pub fn create(params: &CreateWebhook) -> Result<Request> {
    params.validate()?;
    Request::post("/webhooks").json(params)
}

/// `GET /webhooks`: the caller's subscriptions.
pub fn list() -> Request {
    Request::get("/webhooks")
}

/// `DELETE /webhooks/{id}`.
pub fn delete(id: &str) -> Result<Request> {
    Ok(Request::delete(webhook_path(id, "")?))
}

/// `GET /webhooks/{id}/deliveries`.
pub fn deliveries(id: &str) -> Result<Request> {
    Ok(Request::get(webhook_path(id, "/deliveries")?))
}

fn webhook_path(id: &str, rest: &str) -> Result<String> {
    non_empty(id, "webhook id")?;
    Ok(format!("/webhooks/{}{rest}", segment(id)))
}
