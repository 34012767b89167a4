//! The Router's deprecation headers: one warning per process, silenced by
//! `AGENTTIER_DEPRECATION_WARNINGS=off`.

use std::sync::atomic::{AtomicBool, Ordering};

use http::HeaderMap;

/// Environment variable that silences deprecation warnings when set to `off`.
pub const DEPRECATION_WARNINGS_ENV: &str = "AGENTTIER_DEPRECATION_WARNINGS";

static WARNED: AtomicBool = AtomicBool::new(false);

/// The warning a response deserves, if it carries `Deprecation: true`.
pub fn warning_for(method: &str, path: &str, headers: &HeaderMap) -> Option<String> {
    let deprecated = headers
        .get("deprecation")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    if !deprecated {
        return None;
    }
    let mut text = format!("AgentTier API {method} {path} is deprecated");
    if let Some(sunset) = headers.get("sunset").and_then(|v| v.to_str().ok()) {
        text.push_str(&format!(" and will be removed after {sunset}"));
    }
    if let Some(link) = headers.get("link").and_then(|v| v.to_str().ok()) {
        if link.contains("successor-version") {
            text.push_str(&format!("; successor: {link}"));
        }
    }
    text.push_str(&format!(" (set {DEPRECATION_WARNINGS_ENV}=off to silence)"));
    Some(text)
}

/// Emits the warning for a deprecated response once per process: through `tracing` when a
/// subscriber is installed, else on standard error.
pub fn observe(method: &str, path: &str, headers: &HeaderMap) {
    if WARNED.load(Ordering::Relaxed) || std::env::var(DEPRECATION_WARNINGS_ENV).is_ok_and(|v| v == "off") {
        return;
    }
    let Some(text) = warning_for(method, path, headers) else {
        return;
    };
    if WARNED.swap(true, Ordering::Relaxed) {
        return;
    }
    if tracing::dispatcher::has_been_set() {
        tracing::warn!(target: "agenttier::deprecation", "{text}");
    } else {
        eprintln!("warning: {text}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_warning_from_headers() {
        let mut h = HeaderMap::new();
        assert!(warning_for("GET", "/x", &h).is_none());
        h.insert("deprecation", "TRUE".parse().unwrap());
        h.insert("sunset", "Tue, 01 Sep 2026 00:00:00 GMT".parse().unwrap());
        h.insert("link", "</api/v2/x>; rel=\"successor-version\"".parse().unwrap());
        let w = warning_for("GET", "/x", &h).unwrap();
        assert!(
            w.contains("GET /x is deprecated") && w.contains("Sep 2026") && w.contains("/api/v2/x"),
            "{w}"
        );
        h.insert("deprecation", "false".parse().unwrap());
        assert!(warning_for("GET", "/x", &h).is_none());
    }
}
