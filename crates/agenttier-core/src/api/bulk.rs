//! Bulk calls (wire spec §3.10): create several sandboxes, or stop, resume or delete several.

use serde::Serialize;

use crate::models::{BulkAction, CreateSandbox};
use crate::request::Request;
use crate::{Error, Result};

/// Body of `POST /sandboxes/bulk`.
#[derive(Serialize)]
struct CreateBody<'a> {
    items: &'a [CreateSandbox],
}

/// Body of `POST /sandboxes/bulk-action`.
#[derive(Serialize)]
struct ActionBody<'a> {
    action: &'static str,
    ids: Vec<&'a str>,
}

/// `POST /sandboxes/bulk`, refusing what the Router would refuse (no items, an invalid item).
pub fn create(items: &[CreateSandbox]) -> Result<Request> {
    if items.is_empty() {
        return Err(Error::invalid_input("a bulk create needs at least one item"));
    }
    for item in items {
        item.validate()?;
    }
    Request::post("/sandboxes/bulk").json(&CreateBody { items })
}

/// `POST /sandboxes/bulk-action`, refusing an empty id list or an empty id.
pub fn action<S: AsRef<str>>(action: BulkAction, ids: &[S]) -> Result<Request> {
    let ids: Vec<&str> = ids.iter().map(AsRef::as_ref).collect();
    if ids.is_empty() {
        return Err(Error::invalid_input("a bulk action needs at least one sandbox id"));
    }
    if ids.iter().any(|id| id.is_empty()) {
        return Err(Error::invalid_input("sandbox ids must not be empty"));
    }
    Request::post("/sandboxes/bulk-action").json(&ActionBody {
        action: action.as_str(),
        ids,
    })
}
