//! The clients' layers, checked over their `use` paths: a transport imports nothing from the
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
