//! The configuration a move-and-rebuild needs, as typed values (where the store is, which hosts
//! are untouchable, how to reach Foreman and the BMCs), secrets wrapped in `Secret`. Reading
//! files and the environment is the embedding program's job (`quads-cli` reads `quads.toml`).

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::model::HostName;

/// Passwords and tokens: the one wrapper both clients use (`Debug` and `Display` print `***`).
pub use quads_http::Secret;

/// Everything configurable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The store.
    pub store: StoreConfig,
    /// Moves.
    pub moves: MoveConfig,
    /// Foreman, when configured.
    pub foreman: Option<ForemanConfig>,
    /// The BMCs' credentials, when configured.
    pub bmc: Option<BmcConfig>,
}

/// Where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// The SQLite database file (its run lock is `<path>.lock`).
    pub path: PathBuf,
}

/// How hosts are moved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MoveConfig {
    /// Hosts never moved, whatever the schedule says (infrastructure, the Foreman host itself).
    pub untouchable_hosts: BTreeSet<HostName>,
}

/// How to reach Foreman.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForemanConfig {
    /// Base URL (`https://foreman.example.com`).
    pub url: String,
    /// API user.
    pub username: String,
    /// API password or personal access token.
    pub password: Secret,
    /// The lab's location name: tenant passwords are `{infra_location}@{ticket}`.
    pub infra_location: String,
}

/// The BMCs' credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BmcConfig {
    /// The lab's administrative BMC user.
    pub username: String,
    /// Its password.
    pub password: Secret,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn secrets_never_print() {
        let f = ForemanConfig {
            url: "https://foreman.example.com".into(),
            username: "admin".into(),
            password: Secret::new("hunter2"),
            infra_location: "lab".into(),
        };
        let shown = format!("{f:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
        assert_eq!(f.password.expose(), "hunter2");
    }
}
