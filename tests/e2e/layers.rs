//! The layers of ARCHITECTURE.md, checked over `use` paths. Clients: a transport imports nothing from the
//! client above it but the contract (`client::wire`), the TLS policy (`client::tls`) and the
//! builder it adds its flavour's method to; the contract imports nothing from the client at all.

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../crates");

/// The paths under `crate::client` (or `super`) that `source` imports.
fn client_imports(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    for statement in source.split(';') {
        let statement = statement.trim();
        let Some(path) = statement
            .strip_prefix("use ")
            .or_else(|| statement.strip_prefix("pub(crate) use "))
        else {
            continue;
        };
        for prefix in ["crate::client::", "super::"] {
            if let Some(rest) = path.strip_prefix(prefix) {
                found.push(rest.split(['{', ':', ' ']).next().unwrap_or_default().to_owned());
            }
        }
    }
    // Paths written inline too, e.g. `crate::client::tls::rustls_config(..)`.
    for (i, _) in source.match_indices("crate::client::") {
        let rest = &source[i + "crate::client::".len()..];
        found.push(
            rest.split(['{', ':', ' ', ';', ')', '('])
                .next()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    found
}

#[test]
fn transports_import_only_the_contract_from_the_client() {
    for flavour in ["agenttier-blocking", "agenttier-async"] {
        let path = format!("{ROOT}/{flavour}/src/transport.rs");
        let source = std::fs::read_to_string(&path).unwrap();
        let imports = client_imports(&source);
        assert!(imports.iter().any(|i| i == "wire"), "{path}: {imports:?}");
        for import in imports {
            assert!(
                ["wire", "tls", "ClientBuilder"].contains(&import.as_str()),
                "{path} imports crate::client::{import}: a transport may only use the contract in client/wire.rs"
            );
        }
    }
}

#[test]
fn the_contract_imports_nothing_from_the_client() {
    let path = format!("{ROOT}/agenttier-blocking/src/client/wire.rs");
    let source = std::fs::read_to_string(&path).unwrap();
    assert_eq!(client_imports(&source), Vec::<String>::new(), "{path}");
}

/// The router's domain layer: state, rules and sandboxes, below the HTTP layer.
const ROUTER_DOMAIN: &[&str] = &[
    "auth.rs",
    "errors.rs",
    "events.rs",
    "files/confined.rs",
    "files/paths.rs",
    "gotime.rs",
    "governance.rs",
    "keys.rs",
    "limits.rs",
    "metrics.rs",
    "private.rs",
    "procfs.rs",
    "provision.rs",
    "random.rs",
    "respond.rs",
    "snapshots.rs",
    "store.rs",
    "templates.rs",
    "validate.rs",
    "webhooks.rs",
];

/// What the domain may not reach: handlers, the server and the request-level state.
const ROUTER_HTTP: &[&str] = &[
    "crate::routes",
    "crate::server",
    "crate::terminal",
    "crate::agent",
    "crate::state",
    "crate::running",
    "crate::exec",
    "crate::local",
    "crate::files::archive",
    "crate::files::download",
    "crate::files::list",
    "crate::files::upload",
];

fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_routers_domain_never_imports_its_http_layer() {
    let src = std::path::PathBuf::from(format!("{ROOT}/agenttier-router/src"));
    let mut files: Vec<std::path::PathBuf> = ROUTER_DOMAIN.iter().map(|f| src.join(f)).collect();
    rust_files(&src.join("sandbox"), &mut files);
    for path in files {
        let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for http in ROUTER_HTTP {
            let mut at = 0;
            while let Some(i) = source[at..].find(http) {
                let next = source[at + i + http.len()..].chars().next();
                // `crate::agent` must not match `crate::agent_state`, and the like.
                assert!(
                    next.is_some_and(|c| c.is_alphanumeric() || c == '_'),
                    "{} uses {http}: the domain layer must not depend on the HTTP layer (ARCHITECTURE.md)",
                    path.display()
                );
                at += i + http.len();
            }
        }
    }
}
