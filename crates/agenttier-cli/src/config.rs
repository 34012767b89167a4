//! The configuration file shared with the Python CLI, and resolving the Router URL and
//! credentials from flags, environment and that file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use agenttier::Auth;
use serde_json::{Map, Value};

use crate::cli::Global;
use crate::exit::Failure;

/// Environment variable naming the config file.
pub const CONFIG_ENV: &str = "AGENTTIER_CONFIG";

/// Key of the Router URL in the config file.
pub const API_URL: &str = "api_url";
/// Key of the API key in the config file.
pub const API_KEY: &str = "api_key";
/// Key of the bearer token in the config file.
pub const TOKEN: &str = "token";

/// The config file: `$AGENTTIER_CONFIG`, else `$XDG_CONFIG_HOME/agenttier/config.json` (when
/// set to an absolute path, as the XDG spec requires), else `~/.config/agenttier/config.json` on
/// every platform (where the Python CLI keeps it).
pub fn path() -> Result<PathBuf, Failure> {
    if let Some(p) = std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    if let Some(xdg) = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
    {
        return Ok(xdg.join("agenttier").join("config.json"));
    }
    let home = std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .filter(|h| !h.is_empty())
        .ok_or_else(|| Failure::config(format!("cannot find the home directory: set HOME or {CONFIG_ENV}")))?;
    Ok(PathBuf::from(home)
        .join(".config")
        .join("agenttier")
        .join("config.json"))
}

/// The contents of a config file (unknown keys are kept when it is saved again).
#[derive(Debug, Default)]
pub struct ConfigFile {
    values: Map<String, Value>,
}

impl ConfigFile {
    /// Reads `path`; a missing file is empty, an unreadable or malformed one is an error.
    pub fn load(path: &Path) -> Result<ConfigFile, Failure> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ConfigFile::default()),
            Err(e) => {
                return Err(Failure::config(format!(
                    "cannot read config file {}: {e}",
                    path.display()
                )));
            }
        };
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(values)) => Ok(ConfigFile { values }),
            Ok(_) | Err(_) => Err(Failure::config(format!(
                "config file {} is not a JSON object: fix it, delete it, or run `agenttier login` again",
                path.display()
            ))),
        }
    }

    /// A non-empty string value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).and_then(Value::as_str).filter(|v| !v.is_empty())
    }

    /// Sets a value.
    pub fn set(&mut self, key: &str, value: &str) {
        self.values.insert(key.to_owned(), Value::String(value.to_owned()));
    }

    /// Removes a value.
    pub fn remove(&mut self, key: &str) {
        self.values.remove(key);
    }

    /// Writes the file atomically, readable by its owner only (0600; directory 0700 when created).
    pub fn save(&self, path: &Path) -> Result<(), Failure> {
        let fail = |what: &str, e: std::io::Error| {
            Failure::config(format!("cannot {what} config file {}: {e}", path.display()))
        };
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        create_private_dir(dir).map_err(|e| fail("create the directory of the", e))?;
        let mut text = serde_json::to_string_pretty(&self.values).unwrap_or_default();
        text.push('\n');
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
        let written = open_private(&tmp).and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        });
        if let Err(e) = written.and_then(|()| fs::rename(&tmp, path)) {
            let _ = fs::remove_file(&tmp);
            return Err(fail("write the", e));
        }
        Ok(())
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn open_private(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
}

/// Where the Router is and how to authenticate to it.
#[derive(Debug)]
pub struct Endpoint {
    /// Router base URL.
    pub url: String,
    /// Credentials.
    pub auth: Auth,
    /// Extra trusted CA certificates (`--cacert`).
    pub cacert: Option<std::path::PathBuf>,
}

/// Resolves the endpoint as the Python CLI does: flag, then environment (clap reads both), then
/// the config file; an API key from any source wins over a token.
pub fn resolve(global: &Global) -> Result<Endpoint, Failure> {
    let file = ConfigFile::load(&path()?)?;
    let pick = |flag: &Option<String>, key: &str| -> Option<String> {
        flag.as_deref()
            .filter(|v| !v.trim().is_empty())
            .or_else(|| file.get(key))
            .map(str::to_owned)
    };
    let url = pick(&global.api_url, API_URL).ok_or_else(|| {
        Failure::config(
            "no API URL configured: pass --api-url, set AGENTTIER_API_URL, or run `agenttier login --api-url <URL>`",
        )
    })?;
    let auth = if let Some(key) = pick(&global.api_key, API_KEY) {
        Auth::api_key(key).map_err(Failure::from)?
    } else if let Some(token) = pick(&global.token, TOKEN) {
        Auth::bearer_token(token).map_err(Failure::from)?
    } else {
        Auth::detect(|_| None, Path::new(agenttier_core::auth::SERVICE_ACCOUNT_TOKEN_PATH))
    };
    Ok(Endpoint {
        url,
        auth,
        cacert: global.cacert.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_and_load_keep_unknown_keys() {
        let dir = std::env::temp_dir().join(format!("agenttier-cli-config-{}", std::process::id()));
        let path = dir.join("nested").join("config.json");
        let mut file = ConfigFile::default();
        file.set(API_URL, "http://x");
        file.values.insert("profile".into(), Value::from(3));
        file.save(&path).unwrap();
        let loaded = ConfigFile::load(&path).unwrap();
        assert_eq!(loaded.get(API_URL), Some("http://x"));
        assert_eq!(loaded.values["profile"], 3);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        fs::write(&path, "[1]").unwrap();
        assert!(ConfigFile::load(&path).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
