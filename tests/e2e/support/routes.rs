//! The spec's route table (`wire_routes.txt`, from wire spec §14) and matching of concrete
//! requests against it, for the route-table tests.

/// One route of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecRoute {
    /// `GET`, `POST`, ..., or `ANY`.
    pub method: String,
    /// The path as the spec writes it, e.g. `/api/v1/sandboxes/{id}/preview/{port}[/…]`.
    pub template: String,
}

/// Routes that are not the clients' REST calls, with the reason.
pub const NOT_CLIENT_CALLS: &[(&str, &str)] = &[
    ("OPTIONS /*", "CORS preflight, answered for browsers"),
    (
        "GET /ws/terminal/{sandboxId}",
        "a WebSocket, not a REST call: `Sandbox::terminal`, tested by suite/terminal.rs",
    ),
];

/// Routes the local router may not serve yet, with the reason (checked when served).
pub const NOT_ROUTED_YET: &[(&str, &str)] = &[];

/// Every route of `wire_routes.txt`.
pub fn spec_routes() -> Vec<SpecRoute> {
    include_str!("../wire_routes.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (method, template) = l.split_once(' ').expect("METHOD PATH");
            SpecRoute {
                method: method.to_owned(),
                template: template.trim().to_owned(),
            }
        })
        .collect()
}

impl SpecRoute {
    /// `METHOD PATH`, as written in the table.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.template)
    }

    /// Whether `method path` (path without the query) is a request of this route.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        if self.method != "ANY" && self.method != method {
            return false;
        }
        if self.template == "/*" {
            return true;
        }
        let (template, open_tail) = match self.template.strip_suffix("[/…]") {
            Some(t) => (t, true),
            None => (self.template.as_str(), false),
        };
        let want: Vec<&str> = template.split('/').collect();
        let got: Vec<&str> = path.split('/').collect();
        for (i, w) in want.iter().enumerate() {
            let Some(g) = got.get(i) else { return false };
            if *w == "{path}" {
                // A file path: the rest of the path, at least one segment.
                return !g.is_empty();
            }
            let placeholder = w.starts_with('{') && w.ends_with('}');
            if placeholder && g.is_empty() || !placeholder && w != g {
                return false;
            }
        }
        got.len() == want.len() || open_tail
    }

    /// A concrete path of this route: placeholders filled with plausible values.
    pub fn sample_path(&self) -> String {
        let template = self.template.trim_end_matches("[/…]");
        if template == "/*" {
            return "/api/v1/anything".to_owned();
        }
        template
            .split('/')
            .map(|seg| match seg {
                "{port}" => "3000",
                "{path}" => "workspace/a.txt",
                s if s.starts_with('{') => "x",
                s => s,
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The method to send (`GET` for `ANY`).
    pub fn sample_method(&self) -> &str {
        if self.method == "ANY" { "GET" } else { &self.method }
    }
}

/// The route a request line (`GET /path?query HTTP/1.1`) belongs to.
pub fn route_of<'a>(routes: &'a [SpecRoute], request_line: &str) -> Option<&'a SpecRoute> {
    let mut parts = request_line.split(' ');
    let method = parts.next()?;
    let target = parts.next()?;
    let path = target.split('?').next()?;
    // The most specific route wins (a `POST /sandboxes/bulk` is not a sandbox named `bulk`).
    routes
        .iter()
        .filter(|r| r.matches(method, path))
        .max_by_key(|r| r.template.matches('{').count() == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching() {
        let r = |m: &str, t: &str| SpecRoute {
            method: m.into(),
            template: t.into(),
        };
        assert!(r("GET", "/api/v1/sandboxes/{id}").matches("GET", "/api/v1/sandboxes/a"));
        assert!(!r("GET", "/api/v1/sandboxes/{id}").matches("GET", "/api/v1/sandboxes/a/stop"));
        assert!(r("GET", "/api/v1/sandboxes/{id}/files/").matches("GET", "/api/v1/sandboxes/a/files/"));
        assert!(!r("GET", "/api/v1/sandboxes/{id}/files/{path}").matches("GET", "/api/v1/sandboxes/a/files/"));
        assert!(r("PUT", "/api/v1/sandboxes/{id}/files/{path}").matches("PUT", "/api/v1/sandboxes/a/files/w/x/y"));
        let preview = r("ANY", "/api/v1/sandboxes/{id}/preview/{port}[/…]");
        assert!(preview.matches("POST", "/api/v1/sandboxes/a/preview/80/"));
        assert!(preview.matches("GET", "/api/v1/sandboxes/a/preview/80/x/y"));
        assert_eq!(preview.sample_path(), "/api/v1/sandboxes/x/preview/3000");
    }
}
