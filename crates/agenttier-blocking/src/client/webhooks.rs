//! Webhook subscriptions (wire spec §11.1): `client.webhooks()`. Verify deliveries with
//! [`agenttier_core::webhook::verify_signature`].

use agenttier_core::models::{CreateWebhook, Delivery, Webhook, WebhookCreated};
use agenttier_core::{Result, api};

use super::{Client, exchange};
use crate::maybe;

/// The caller's webhook subscriptions.
#[derive(Clone, Debug)]
pub struct Webhooks {
    client: Client,
}

impl Client {
    /// Webhook subscriptions.
    pub fn webhooks(&self) -> Webhooks {
        Webhooks { client: self.clone() }
    }
}

#[maybe]
impl Webhooks {
    /// Subscribes; the signing secret is only in this answer. Non-admins must name a sandbox
    /// they own.
    pub async fn create(&self, params: CreateWebhook) -> Result<WebhookCreated> {
        let req = api::webhooks::create(&params)?;
        exchange::json(&self.client.transport, &req, "create webhook").await
    }

    /// The caller's subscriptions (even for admins). (No pagination on the Router; if it gains
    /// one, list calls are where it goes.)
    pub async fn list(&self) -> Result<Vec<Webhook>> {
        exchange::list(
            &self.client.transport,
            &api::webhooks::list(),
            "webhooks",
            "list webhooks",
        )
        .await
    }

    /// Unsubscribes.
    pub async fn delete(&self, id: &str) -> Result<()> {
        let req = api::webhooks::delete(id)?;
        exchange::send(&self.client.transport, &req).await?;
        Ok(())
    }

    /// The last deliveries (at most 20), oldest first.
    pub async fn deliveries(&self, id: &str) -> Result<Vec<Delivery>> {
        let req = api::webhooks::deliveries(id)?;
        exchange::list(&self.client.transport, &req, "deliveries", "list webhook deliveries").await
    }
}
