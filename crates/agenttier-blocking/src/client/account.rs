//! The caller's API keys and preferences (wire spec §8.2–§8.3): `client.api_keys()`,
//! `client.preferences()`.

use agenttier_core::Result;
use agenttier_core::models::{ApiKey, ApiKeyCreated, CreateApiKey};
use agenttier_core::request::{Request, segment};

use super::handle::non_empty;
use super::{Client, exchange};
use crate::maybe;

/// The caller's API keys.
#[derive(Clone, Debug)]
pub struct ApiKeys {
    client: Client,
}

/// The caller's preferences: one free-form JSON object per user.
#[derive(Clone, Debug)]
pub struct Preferences {
    client: Client,
}

/// A preferences object.
pub type PreferenceMap = serde_json::Map<String, serde_json::Value>;

impl Client {
    /// The caller's API keys.
    pub fn api_keys(&self) -> ApiKeys {
        ApiKeys { client: self.clone() }
    }

    /// The caller's preferences.
    pub fn preferences(&self) -> Preferences {
        Preferences { client: self.clone() }
    }
}

#[maybe]
impl ApiKeys {
    /// The caller's live keys, scoped ones included (metadata only). (No pagination exists on
    /// the Router; if it gains one, list calls are where it goes.)
    pub async fn list(&self) -> Result<Vec<ApiKey>> {
        exchange::list(
            &self.client.transport,
            &Request::get("/user/api-keys"),
            "keys",
            "list api keys",
        )
        .await
    }

    /// Mints a key; the secret is only in this answer.
    pub async fn create(&self, params: CreateApiKey) -> Result<ApiKeyCreated> {
        params.validate()?;
        let req = Request::post("/user/api-keys").json(&params)?;
        exchange::json(&self.client.transport, &req, "create api key").await
    }

    /// Revokes a key by id (admins may revoke anyone's).
    pub async fn revoke(&self, key_id: &str) -> Result<()> {
        non_empty(key_id, "key id")?;
        let req = Request::delete(format!("/user/api-keys/{}", segment(key_id)));
        exchange::send(&self.client.transport, &req).await?;
        Ok(())
    }
}

#[maybe]
impl Preferences {
    /// The stored preferences (`{}` when none).
    pub async fn get(&self) -> Result<PreferenceMap> {
        exchange::json(
            &self.client.transport,
            &Request::get("/user/preferences"),
            "get preferences",
        )
        .await
    }

    /// Replaces the preferences; returns what was stored.
    pub async fn put(&self, prefs: &PreferenceMap) -> Result<PreferenceMap> {
        let req = Request::put("/user/preferences").json(prefs)?;
        exchange::json(&self.client.transport, &req, "put preferences").await
    }
}
