//! The authenticated caller.

use serde::{Deserialize, Serialize};

use super::{nullable, nullable_list};

/// Who the Router thinks the caller is (`GET /user/me`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct CurrentUser {
    /// Stable user id.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub sub: String,
    /// E-mail address.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub email: String,
    /// Display name (for API keys, the key's own name).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub name: String,
    /// Groups; the Router sends `null` for API-key callers, which decodes as empty.
    #[serde(deserialize_with = "nullable_list::deserialize")]
    pub groups: Vec<String>,
    /// Whether the caller may use admin routes.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub is_admin: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_groups_decode_as_empty() {
        let u: CurrentUser =
            serde_json::from_str(r#"{"sub":"u1","email":"a@b","name":"ci","groups":null,"isAdmin":false}"#).unwrap();
        assert!(u.groups.is_empty());
        let dev: CurrentUser = serde_json::from_str(
            r#"{"sub":"dev-user","email":"dev@agenttier.local","name":"Dev User","groups":["agenttier-admins"],"isAdmin":true}"#,
        )
        .unwrap();
        assert!(dev.is_admin && dev.groups == ["agenttier-admins"]);
    }
}
