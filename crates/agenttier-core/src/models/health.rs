//! `GET /healthz` and `GET /readyz` (wire spec §11.4), read together.

/// Whether the Router process is up and whether it can serve (reach its backing store).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Health {
    /// `/readyz` answered `200 ok`.
    pub ready: bool,
    /// Why it is not ready (`/readyz`'s `503 not ready: <reason>` text), empty when ready.
    pub reason: String,
}

impl Health {
    /// Reads the `/readyz` answer: `200` is ready, `503` carries the reason.
    pub fn from_readyz(status: u16, body: &[u8]) -> Health {
        let text = String::from_utf8_lossy(body).trim().to_owned();
        if status == 200 {
            Health {
                ready: true,
                reason: String::new(),
            }
        } else {
            let reason = text
                .strip_prefix("not ready:")
                .map(str::trim)
                .unwrap_or(&text)
                .to_owned();
            Health { ready: false, reason }
        }
    }
}
