//! Request descriptors of the Router API: one function per operation of the wire spec's route
//! table (§14), returning the [`Request`](crate::request::Request) to send.
//!
//! Each descriptor percent-encodes the path segments it is given, adds the query and encodes
//! the body, and refuses before anything is sent what the Router would refuse for sure (an
//! empty id, an invalid name, an empty bulk list, ...). The client crates send the request and
//! decode the answer; nothing here does I/O. Kubernetes requests (feature `kruise`) have their
//! own descriptors in `kruise::request`.
//!
//! ```
//! use agenttier_core::api;
//! # fn main() -> agenttier_core::Result<()> {
//! let req = api::sandboxes::stop("demo")?;
//! assert_eq!(req.method, agenttier_core::Method::POST);
//! assert_eq!(req.url("http://127.0.0.1:8080"), "http://127.0.0.1:8080/api/v1/sandboxes/demo/stop");
//! assert!(api::sandboxes::stop("").is_err()); // refused before anything is sent
//! # Ok(())
//! # }
//! ```

pub mod account;
pub mod admin;
pub mod agent;
pub mod backups;
pub mod bulk;
pub mod cluster;
pub mod files;
pub mod governance;
pub mod health;
pub mod sandboxes;
pub mod sharing;
pub mod templates;
pub mod webhooks;

use crate::request::segment;
use crate::{Error, Result};

/// Refuses an empty `value`, naming it `what` (`"sandbox id must not be empty"`).
///
/// Plumbing shared with the client crates, not part of the semver-stable API.
#[doc(hidden)]
pub fn non_empty(value: &str, what: &str) -> Result<()> {
    if value.is_empty() {
        Err(Error::invalid_input(format!("{what} must not be empty")))
    } else {
        Ok(())
    }
}

/// `/sandboxes/{id}{rest}`, the id encoded. An empty, `.` or `..` id is refused: the Router would
/// answer a redirect to another route rather than an error.
fn sandbox_path(id: &str, rest: &str) -> Result<String> {
    non_empty(id, "sandbox id")?;
    if id == "." || id == ".." {
        return Err(Error::invalid_input(format!("{id:?} is not a sandbox id")));
    }
    Ok(format!("/sandboxes/{}{rest}", segment(id)))
}
