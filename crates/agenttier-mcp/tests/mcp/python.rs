//! A client not written in Rust: the official MCP Python SDK (`pip install mcp`) drives the
//! server over Streamable HTTP. Skipped, saying why on stderr, when python3 or the package is
//! missing, unless `AGENTTIER_REQUIRE_PYTHON_MCP=1` (set by CI once the install worked) makes
//! that a failure.

use std::process::Command;

use agenttier_mcp::HttpAccess;

use crate::fixture::{Fixture, start_http};

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_client() {
    // The script uses the 2.x client API (snake_case result fields, `streamable_http_client`).
    let probe = Command::new("python3")
        .args(["-c", "import importlib.metadata as m, sys; import mcp; v = m.version('mcp'); sys.exit(0 if v.split('.')[0] == '2' else 'mcp ' + v + ' is not 2.x')"])
        .output();
    let missing = match &probe {
        Err(e) => Some(format!("python3 cannot be run ({e})")),
        Ok(out) if !out.status.success() => Some(format!(
            "the Python package `mcp` 2.x is not installed ({})",
            String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or_default()
        )),
        Ok(_) => None,
    };
    if let Some(reason) = missing {
        assert!(
            std::env::var_os("AGENTTIER_REQUIRE_PYTHON_MCP").is_none(),
            "AGENTTIER_REQUIRE_PYTHON_MCP is set but {reason}"
        );
        eprintln!("SKIPPED python_sdk_client: {reason}; run `pip install \"mcp>=2.3,<3\"` to include it");
        return;
    }
    let fx = Fixture::start();
    let (addr, _stop) = start_http(fx.admin_server(), HttpAccess::new(([127, 0, 0, 1], 0).into())).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/mcp_client.py");
    let out = tokio::process::Command::new("python3")
        .arg(script)
        .arg(format!("http://{addr}/mcp"))
        .output()
        .await
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "Python client failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("checks passed"), "{stdout}");
    eprintln!("{}", stdout.trim());
}
