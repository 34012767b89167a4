//! The router's state is its user's alone: the data directory and the directories under it are
//! created `0700`, the database `0600`, and ones found looser (made by an older version, or by
//! hand) are tightened at start with a warning.

use std::io;
use std::path::Path;

/// Creates `path` (and missing parents) as `0700`, or tightens an existing one.
pub(crate) fn dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(path)?;
        tighten(path, 0o700)
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(path)
}

/// Creates the file `path` empty as `0600` if missing, or tightens an existing one; also the
/// SQLite companions `<path>-wal` and `<path>-shm` when they exist.
pub(crate) fn file(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        tighten(path, 0o600)?;
        for suffix in ["-wal", "-shm"] {
            let mut companion = path.as_os_str().to_owned();
            companion.push(suffix);
            let companion = std::path::PathBuf::from(companion);
            if companion.exists() {
                tighten(&companion, 0o600)?;
            }
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        Ok(())
    }
}

/// Sets `mode` when group or others have any access.
#[cfg(unix)]
fn tighten(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let current = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if current & 0o077 != 0 {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{current:o}"),
            "router state was readable by other users; restricting it to {mode:o}"
        );
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}
