//! HTTP `CONNECT` tunnels for the connections the HTTP stacks do not open themselves (the
//! terminal WebSockets): which proxy applies, the request that opens the tunnel and how to read
//! the proxy's answer. No I/O; the flavours move the bytes.
//!
//! The rules are those of the HTTP transports: an explicit [`ClientConfig::proxy`] applies to
//! every connection; otherwise `HTTPS_PROXY` (`wss://`) or `HTTP_PROXY` (`ws://`), then
//! `ALL_PROXY` (each also lowercase), unless `NO_PROXY` names the host (`*`, a host, or a domain
//! with or without its leading dot). Only `http://` proxies can carry a tunnel here.
//!
//! [`ClientConfig::proxy`]: crate::ClientConfig::proxy

use std::fmt;

use base64::Engine as _;

use crate::auth::Secret;
use crate::config::redact_url;
use crate::{Error, Result};

/// The longest proxy answer head read before giving up.
pub const MAX_ANSWER: usize = 16 * 1024;

/// A proxy to open a tunnel through.
pub struct Tunnel {
    /// `host:port` of the proxy, to connect to.
    pub address: String,
    /// `Basic` credentials from the proxy URL's user info.
    authorization: Option<Secret>,
}

impl fmt::Debug for Tunnel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tunnel")
            .field("address", &self.address)
            .field("authorization", &self.authorization.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// The proxy a connection to `host` (`wss://` when `secure`) goes through, if any: `explicit`
/// (the client's configured proxy) or the environment, read through `env`.
pub fn for_target(
    explicit: Option<&str>,
    host: &str,
    secure: bool,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Tunnel>> {
    if let Some(url) = explicit {
        return Tunnel::parse(url).map(Some);
    }
    let var = |name: &str| {
        env(name)
            .or_else(|| env(&name.to_ascii_lowercase()))
            .filter(|v| !v.trim().is_empty())
    };
    let url = if secure { var("HTTPS_PROXY") } else { var("HTTP_PROXY") }.or_else(|| var("ALL_PROXY"));
    match url {
        Some(url) if !bypassed(host, var("NO_PROXY").as_deref().unwrap_or("")) => Tunnel::parse(&url).map(Some),
        _ => Ok(None),
    }
}

/// Whether `NO_PROXY` (`no_proxy`) exempts `host`.
fn bypassed(host: &str, no_proxy: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    no_proxy.split(',').map(str::trim).any(|entry| {
        let entry = entry.trim_start_matches('.').to_ascii_lowercase();
        entry == "*" || (!entry.is_empty() && (host == entry || host.ends_with(&format!(".{entry}"))))
    })
}

impl Tunnel {
    /// Reads a proxy URL: `http://[user:password@]host[:port]` (the scheme may be left out;
    /// the port defaults to 80).
    pub fn parse(url: &str) -> Result<Tunnel> {
        let shown = redact_url(url);
        let rest = match url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some((scheme, _)) => {
                return Err(Error::config(format!(
                    "proxy {shown}: terminals can tunnel through http:// proxies only, not {scheme}://"
                )));
            }
            None => url,
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };
        let has_port = hostport
            .rsplit_once(':')
            .is_some_and(|(_, port)| !port.contains(']') && port.parse::<u16>().is_ok());
        if hostport.is_empty() || hostport.starts_with(':') {
            return Err(Error::config(format!("proxy {shown} names no host")));
        }
        let address = if has_port {
            hostport.to_owned()
        } else {
            format!("{hostport}:80")
        };
        let authorization = userinfo.map(|userinfo| {
            let decoded = percent_encoding::percent_decode_str(userinfo).decode_utf8_lossy();
            Secret::new(base64::engine::general_purpose::STANDARD.encode(decoded.as_bytes()))
        });
        Ok(Tunnel { address, authorization })
    }

    /// The request that asks the proxy for a tunnel to `target` (`host:port`).
    pub fn connect_request(&self, target: &str) -> Vec<u8> {
        let mut head = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
        if let Some(credentials) = &self.authorization {
            head.push_str(&format!("Proxy-Authorization: Basic {}\r\n", credentials.expose()));
        }
        head.push_str("\r\n");
        head.into_bytes()
    }
}

/// What the proxy has answered so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// The head is not complete yet: read more.
    Incomplete,
    /// The tunnel is open; the head was this many bytes.
    Established(usize),
    /// The proxy refused (its status and reason phrase).
    Refused(u16, String),
}

/// Reads the proxy's answer in `head` (everything received so far).
pub fn read_answer(head: &[u8]) -> Result<Answer> {
    let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") else {
        if head.len() >= MAX_ANSWER {
            return Err(Error::invalid_input("the proxy's answer to CONNECT has no end"));
        }
        return Ok(Answer::Incomplete);
    };
    let status_line = String::from_utf8_lossy(&head[..end]);
    let status_line = status_line.lines().next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let (version, status) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let status = match (version.starts_with("HTTP/1."), status.parse::<u16>()) {
        (true, Ok(status)) => status,
        _ => {
            return Err(Error::invalid_input(format!(
                "the proxy's answer to CONNECT is not HTTP: {:?}",
                status_line.chars().take(80).collect::<String>()
            )));
        }
    };
    Ok(match status {
        200..=299 => Answer::Established(end + 4),
        _ => Answer::Refused(status, parts.next().unwrap_or("").trim().to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn the_explicit_proxy_wins_and_the_environment_follows_the_scheme() {
        let vars = [
            ("HTTPS_PROXY", "http://secure-proxy:3128"),
            ("http_proxy", "plain-proxy:8080"),
            ("ALL_PROXY", "http://all:1"),
        ];
        let pick = |explicit, secure| {
            for_target(explicit, "router.example", secure, env(&vars))
                .unwrap()
                .map(|t| t.address)
        };
        assert_eq!(pick(Some("http://mine:9"), true).as_deref(), Some("mine:9"));
        assert_eq!(pick(None, true).as_deref(), Some("secure-proxy:3128"));
        assert_eq!(pick(None, false).as_deref(), Some("plain-proxy:8080"));
        let only_all = [("all_proxy", "http://all:1")];
        let t = for_target(None, "h", true, env(&only_all)).unwrap().unwrap();
        assert_eq!(t.address, "all:1");
        assert!(for_target(None, "h", true, env(&[])).unwrap().is_none());
        assert!(
            for_target(None, "h", true, env(&[("HTTPS_PROXY", " ")]))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn no_proxy_exempts_hosts_and_domains() {
        let vars = [
            ("HTTPS_PROXY", "http://p:1"),
            ("NO_PROXY", "localhost, .internal.example,10.0.0.7"),
        ];
        let proxied = |host| for_target(None, host, true, env(&vars)).unwrap().is_some();
        assert!(!proxied("localhost"));
        assert!(!proxied("router.internal.example"));
        assert!(!proxied("internal.example"));
        assert!(!proxied("10.0.0.7"));
        assert!(proxied("notinternal.example"));
        assert!(proxied("router.example"));
        let all = [("HTTPS_PROXY", "http://p:1"), ("no_proxy", "*")];
        assert!(for_target(None, "anything", true, env(&all)).unwrap().is_none());
        // An explicit proxy is for every host.
        assert!(
            for_target(Some("http://p:1"), "localhost", true, env(&vars))
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn proxy_urls() {
        let t = Tunnel::parse("http://al%40ice:pa55@proxy.example:3128/ignored").unwrap();
        assert_eq!(t.address, "proxy.example:3128");
        let request = String::from_utf8(t.connect_request("router:443")).unwrap();
        // base64("al@ice:pa55")
        assert_eq!(
            request,
            "CONNECT router:443 HTTP/1.1\r\nHost: router:443\r\nProxy-Authorization: Basic YWxAaWNlOnBhNTU=\r\n\r\n"
        );
        assert!(!format!("{t:?}").contains("YWxA"), "{t:?}");
        assert_eq!(Tunnel::parse("proxy").unwrap().address, "proxy:80");
        assert_eq!(Tunnel::parse("http://[::1]:8118").unwrap().address, "[::1]:8118");
        assert_eq!(Tunnel::parse("http://[::1]").unwrap().address, "[::1]:80");
        let plain = Tunnel::parse("http://p:1").unwrap();
        assert_eq!(
            plain.connect_request("h:80"),
            b"CONNECT h:80 HTTP/1.1\r\nHost: h:80\r\n\r\n"
        );
        for bad in [
            "https://user:s3cret@p:1",
            "socks5://p:1",
            "http://",
            "http://user:s3cret@:1",
        ] {
            let err = Tunnel::parse(bad).unwrap_err();
            assert!(matches!(err, Error::Config { .. }), "{bad}: {err:?}");
            assert!(!err.to_string().contains("s3cret"), "{err}");
        }
    }

    #[test]
    fn answers() {
        assert_eq!(read_answer(b"HTTP/1.1 200 Conn").unwrap(), Answer::Incomplete);
        assert_eq!(
            read_answer(b"HTTP/1.1 200 Connection established\r\n\r\n").unwrap(),
            Answer::Established(39)
        );
        assert_eq!(
            read_answer(b"HTTP/1.0 200 OK\r\nVia: x\r\n\r\nrest").unwrap(),
            Answer::Established(27)
        );
        assert_eq!(
            read_answer(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n").unwrap(),
            Answer::Refused(407, "Proxy Authentication Required".into())
        );
        assert!(read_answer(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(read_answer(&[b'x'; MAX_ANSWER]).is_err());
    }
}
