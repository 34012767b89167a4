//! Webhook signatures (wire spec §11.1): the platform signs each delivery with
//! `X-AgentTier-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed by the secret>`.
//!
//! A receiver checks a delivery with [`verify_signature`] before trusting it:
//!
//! ```
//! use agenttier_core::webhook::{sign, verify_signature};
//! let secret = "s3cr3t";
//! let body = br#"{"event":"sandbox.running","sandboxId":"demo"}"#;
//! let header = sign(secret, body); // what the platform sends
//! assert!(verify_signature(secret, body, &header));
//! assert!(!verify_signature(secret, b"tampered", &header));
//! ```

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Name of the signature header.
pub const SIGNATURE_HEADER: &str = "X-AgentTier-Signature";

fn mac(key: &[u8], message: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length (longer ones are hashed), so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(message);
    mac
}

/// HMAC-SHA256 (RFC 2104) of `message` keyed by `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    mac(key, message).finalize().into_bytes().into()
}

/// The signature header value for `body`: `sha256=<64 lowercase hex>`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac_sha256(secret.as_bytes(), body)))
}

/// Whether `header` (the `X-AgentTier-Signature` value) signs `body` with `secret`. The raw
/// body must be used exactly as received, before any JSON parsing. The comparison takes the
/// same time wherever the first difference is (`hmac`'s check, on `subtle`); hex digits are
/// accepted in either case.
pub fn verify_signature(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(given) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(given) = hex::decode(given) else {
        return false;
    };
    mac(secret.as_bytes(), body).verify_slice(&given).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_vectors() {
        // Test case 2 and test case 6 (key longer than a block).
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex::encode(hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn verification() {
        let h = sign("k", b"body");
        assert!(h.starts_with("sha256=") && h.len() == 71);
        assert!(verify_signature("k", b"body", &h));
        assert!(verify_signature(
            "k",
            b"body",
            &h.to_uppercase().replace("SHA256=", "sha256=")
        ));
        assert!(!verify_signature("other", b"body", &h));
        assert!(!verify_signature("k", b"body", &h[..70]));
        assert!(!verify_signature("k", b"body", h.trim_start_matches("sha256=")));
    }
}
