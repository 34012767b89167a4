//! Recognising connections that come from sandbox processes: sandboxes share the host's network,
//! so a command inside one can reach the router on loopback. The kernel's socket table
//! (`/proc/net/tcp`, `/proc/net/tcp6`) names the owner of the connecting socket, as a host uid;
//! a uid in the sandbox ranges ([`super::confine`]) is a sandbox's. Used to refuse the
//! dev-auth admin identity to sandboxes.

use std::net::{IpAddr, SocketAddr};

use super::confine::is_sandbox_uid;

/// Whether the TCP connection from `peer` was opened by a sandbox process (the peer socket is
/// on this host and owned by a sandbox uid).
pub(crate) fn is_sandbox_peer(peer: SocketAddr) -> bool {
    let (table, addr) = match peer.ip() {
        IpAddr::V4(ip) => ("/proc/net/tcp", hex_v4(ip.octets())),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => ("/proc/net/tcp", hex_v4(v4.octets())),
            None => ("/proc/net/tcp6", hex_v6(ip.octets())),
        },
    };
    let local = format!("{addr}:{:04X}", peer.port());
    let Ok(text) = std::fs::read_to_string(table) else {
        return false;
    };
    // `sl local_address rem_address st tx:rx tr:when retrnsmt uid ...`
    text.lines().skip(1).any(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        cols.get(1) == Some(&local.as_str())
            && cols
                .get(7)
                .and_then(|u| u.parse::<u32>().ok())
                .is_some_and(is_sandbox_uid)
    })
}

/// An IPv4 address as the socket table prints it: one 32-bit word in host byte order.
fn hex_v4(octets: [u8; 4]) -> String {
    format!("{:08X}", u32::from_ne_bytes(octets))
}

/// An IPv6 address as the socket table prints it: four 32-bit words, each in host byte order.
fn hex_v6(octets: [u8; 16]) -> String {
    octets
        .chunks(4)
        .map(|w| format!("{:08X}", u32::from_ne_bytes([w[0], w[1], w[2], w[3]])))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_connections_are_not_sandbox_ones() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_server, peer) = listener.accept().unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        assert!(!is_sandbox_peer(peer));
        if cfg!(target_endian = "little") {
            assert_eq!(hex_v4([127, 0, 0, 1]), "0100007F");
        }
    }
}
