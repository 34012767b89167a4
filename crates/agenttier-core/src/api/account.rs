//! The caller's account (wire spec §8): who they are, their API keys and preferences.

use super::non_empty;
use crate::Result;
use crate::models::CreateApiKey;
use crate::request::{Request, segment};

/// `GET /user/me`.
pub fn current_user() -> Request {
    Request::get("/user/me")
}

/// `GET /user/api-keys`: the caller's keys (metadata only).
pub fn list_api_keys() -> Request {
    Request::get("/user/api-keys")
}

/// `POST /user/api-keys`: mints a key.
pub fn create_api_key(params: &CreateApiKey) -> Result<Request> {
    params.validate()?;
    Request::post("/user/api-keys").json(params)
}

/// `DELETE /user/api-keys/{keyId}`.
pub fn revoke_api_key(key_id: &str) -> Result<Request> {
    non_empty(key_id, "key id")?;
    Ok(Request::delete(format!("/user/api-keys/{}", segment(key_id))))
}

/// `GET /user/preferences`.
pub fn preferences() -> Request {
    Request::get("/user/preferences")
}

/// `PUT /user/preferences`: replaces the whole preferences object.
pub fn put_preferences(prefs: &serde_json::Map<String, serde_json::Value>) -> Result<Request> {
    Request::put("/user/preferences").json(prefs)
}
