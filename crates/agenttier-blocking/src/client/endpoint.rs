//! Where a terminal WebSocket connects: a `ws://` or `wss://` URL taken apart.

use agenttier_core::{Error, Result};

/// A WebSocket URL taken apart.
pub(crate) struct Endpoint {
    /// `wss://`.
    pub secure: bool,
    /// Host name or IP address (IPv6 in brackets).
    pub host: String,
    /// `host:port`, to connect to.
    pub address: String,
    /// Path without the query, for error messages.
    pub path: String,
}

/// Takes a `ws://` or `wss://` URL (as [`terminal_url`](agenttier_core::terminal::terminal_url)
/// builds it) apart.
pub(crate) fn endpoint(url: &str) -> Result<Endpoint> {
    let (secure, rest) = match url.split_once("://") {
        Some(("wss", rest)) => (true, rest),
        Some(("ws", rest)) => (false, rest),
        _ => return Err(Error::config(format!("{url:?} is not a ws:// or wss:// URL"))),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = path.split('?').next().unwrap_or("/").to_owned();
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => {
            let port = p
                .parse::<u16>()
                .map_err(|_| Error::config(format!("invalid port in {authority:?}")))?;
            (h.to_owned(), port)
        }
        _ => (authority.to_owned(), if secure { 443 } else { 80 }),
    };
    if host.is_empty() {
        return Err(Error::config(format!("{url:?} names no host")));
    }
    Ok(Endpoint {
        secure,
        address: format!("{host}:{port}"),
        host,
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::endpoint;

    #[test]
    fn endpoints() {
        let e = endpoint("wss://at.example/prefix/ws/terminal/a?namespace=n").unwrap();
        assert!(e.secure);
        assert_eq!(
            (e.host.as_str(), e.address.as_str(), e.path.as_str()),
            ("at.example", "at.example:443", "/prefix/ws/terminal/a")
        );
        let e = endpoint("ws://[::1]:8080/ws/terminal/a").unwrap();
        assert_eq!((e.host.as_str(), e.address.as_str()), ("[::1]", "[::1]:8080"));
        assert_eq!(endpoint("ws://[::1]/x").unwrap().address, "[::1]:80");
        assert!(endpoint("http://h/x").is_err());
        assert!(endpoint("ws://h:99999/x").is_err());
        assert!(endpoint("ws:///x").is_err());
    }
}
