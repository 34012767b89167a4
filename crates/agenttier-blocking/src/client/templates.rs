//! Template management (wire spec §7): create, replace and delete cluster templates. Admin only
//! on the Router; listing and reading are in [`Client::list_templates`] and
//! [`Client::get_template`].

use agenttier_core::Result;
use agenttier_core::models::{Template, TemplateDefinition};
use agenttier_core::request::{Request, segment};

use super::handle::non_empty;
use super::{Client, exchange};
use crate::maybe;

#[maybe]
impl Client {
    /// Creates a template (admin only). A name already taken is [`Error::Conflict`] on the local
    /// router (the platform answers `500`).
    ///
    /// [`Error::Conflict`]: agenttier_core::Error::Conflict
    pub async fn create_template(&self, template: &TemplateDefinition) -> Result<Template> {
        template.validate()?;
        let req = Request::post("/templates").json(template)?;
        exchange::json(&self.transport, &req, "create template").await
    }

    /// Replaces the spec (and description) of the template named by `template.name()` (admin
    /// only): a full replace, fields left out are removed.
    pub async fn update_template(&self, template: &TemplateDefinition) -> Result<Template> {
        template.validate()?;
        let req = Request::put(format!("/templates/{}", segment(template.name()))).json(template)?;
        exchange::json(&self.transport, &req, "update template").await
    }

    /// Deletes a template (admin only); [`Error::Conflict`] while a running sandbox uses it.
    ///
    /// [`Error::Conflict`]: agenttier_core::Error::Conflict
    pub async fn delete_template(&self, name: &str) -> Result<()> {
        non_empty(name, "template name")?;
        exchange::send(
            &self.transport,
            &Request::delete(format!("/templates/{}", segment(name))),
        )
        .await?;
        Ok(())
    }
}
