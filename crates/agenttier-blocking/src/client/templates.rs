//! Template management (wire spec §7): create, replace and delete cluster templates. Admin only
//! on the Router; listing and reading are in [`Client::list_templates`] and
//! [`Client::get_template`].

use agenttier_core::models::{Template, TemplateDefinition};
use agenttier_core::{Result, api};

use super::{Client, exchange};
use crate::maybe;

#[maybe]
impl Client {
    /// Creates a template (admin only). A name already taken is [`Error::Conflict`] on the local
    /// router (the platform answers `500`).
    ///
    /// [`Error::Conflict`]: agenttier_core::Error::Conflict
    pub async fn create_template(&self, template: &TemplateDefinition) -> Result<Template> {
        let req = api::templates::create(template)?;
        exchange::json(&self.transport, &req, "create template").await
    }

    /// Replaces the spec (and description) of the template named by `template.name()` (admin
    /// only): a full replace, fields left out are removed.
    pub async fn update_template(&self, template: &TemplateDefinition) -> Result<Template> {
        let req = api::templates::update(template)?;
        exchange::json(&self.transport, &req, "update template").await
    }

    /// Deletes a template (admin only); [`Error::Conflict`] while a running sandbox uses it.
    ///
    /// [`Error::Conflict`]: agenttier_core::Error::Conflict
    pub async fn delete_template(&self, name: &str) -> Result<()> {
        exchange::send(&self.transport, &api::templates::delete(name)?).await?;
        Ok(())
    }
}
