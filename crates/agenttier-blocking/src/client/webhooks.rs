//! Webhook subscriptions (wire spec §11.1): `client.webhooks()`. Verify deliveries with
//! [`agenttier_core::webhook::verify_signature`].

use agenttier_core::Result;
use agenttier_core::models::{CreateWebhook, Delivery, Webhook, WebhookCreated};
use agenttier_core::request::{Request, segment};

use super::handle::non_empty;
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
        params.validate()?;
        let req = Request::post("/webhooks").json(&params)?;
        exchange::json(&self.client.transport, &req, "create webhook").await
    }

    /// The caller's subscriptions (even for admins). (No pagination on the Router; if it gains
    /// one, list calls are where it goes.)
    pub async fn list(&self) -> Result<Vec<Webhook>> {
        exchange::list(
            &self.client.transport,
            &Request::get("/webhooks"),
            "webhooks",
            "list webhooks",
        )
        .await
    }

    /// Unsubscribes.
    pub async fn delete(&self, id: &str) -> Result<()> {
        non_empty(id, "webhook id")?;
        let req = Request::delete(format!("/webhooks/{}", segment(id)));
        exchange::send(&self.client.transport, &req).await?;
        Ok(())
    }

    /// The last deliveries (at most 20), oldest first.
    pub async fn deliveries(&self, id: &str) -> Result<Vec<Delivery>> {
        non_empty(id, "webhook id")?;
        let req = Request::get(format!("/webhooks/{}/deliveries", segment(id)));
        exchange::list(&self.client.transport, &req, "deliveries", "list webhook deliveries").await
    }
}
