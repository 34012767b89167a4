//! The sandbox view off Linux: there are no namespaces to build one in.

use std::io;
use std::path::Path;

/// Never built: sandboxes run as plain processes off Linux.
pub(crate) struct View;

impl View {
    pub(crate) fn new(_root: &Path, _workspace: &Path, _hostname: &str) -> io::Result<View> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }

    pub(crate) fn enter(&self) -> io::Result<()> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}
