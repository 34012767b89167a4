//! The caller's API keys and preferences (wire spec §8.2–§8.3): `client.api_keys()`,
//! `client.preferences()`.

use agenttier_core::models::{ApiKey, ApiKeyCreated, CreateApiKey};
use agenttier_core::{Result, api};

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
            &api::account::list_api_keys(),
            "keys",
            "list api keys",
        )
        .await
    }

    /// Mints a key; the secret is only in this answer.
    pub async fn create(&self, params: CreateApiKey) -> Result<ApiKeyCreated> {
        let req = api::account::create_api_key(&params)?;
        exchange::json(&self.client.transport, &req, "create api key").await
    }

    /// Revokes a key by id (admins may revoke anyone's).
    pub async fn revoke(&self, key_id: &str) -> Result<()> {
        let req = api::account::revoke_api_key(key_id)?;
        exchange::send(&self.client.transport, &req).await?;
        Ok(())
    }
}

#[maybe]
impl Preferences {
    /// The stored preferences (`{}` when none).
    pub async fn get(&self) -> Result<PreferenceMap> {
        exchange::json(&self.client.transport, &api::account::preferences(), "get preferences").await
    }

    /// Replaces the preferences; returns what was stored.
    pub async fn put(&self, prefs: &PreferenceMap) -> Result<PreferenceMap> {
        let req = api::account::put_preferences(prefs)?;
        exchange::json(&self.client.transport, &req, "put preferences").await
    }
}
