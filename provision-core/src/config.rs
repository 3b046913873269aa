//! The configuration a move-and-rebuild needs, as typed values (where the store is, which hosts
//! are untouchable, how to reach Foreman and the BMCs), secrets wrapped in `Secret`. Reading
//! files and the environment is the embedding program's job (`quads-cli` reads `quads.toml`).

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::model::HostName;
use crate::network::{DEFAULT_SW_VLAN_FIRST, VlanScheme};

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
    /// The switches: VLAN numbering and how ports are moved.
    pub network: NetworkConfig,
    /// A QUADS 2.x server whose moves this quads makes (worker mode, `[quads]`).
    pub quads: QuadsServerConfig,
}

/// A QUADS 2.x server (`[quads]`): worker mode when its URL is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuadsServerConfig {
    /// Base URL (`https://quads.example.com`); `None`: standalone (the local store's moves).
    pub url: Option<String>,
    /// An admin's login (writes need one).
    pub username: Option<String>,
    /// Its password.
    pub password: Option<Secret>,
    /// The BMC address of a host: `{host}` is its name (QUADS reaches `mgmt-<host>`).
    pub bmc_address: String,
    /// A hosts(5)-format file mapping the names the template makes to addresses.
    pub resolve_file: Option<PathBuf>,
    /// What a wipe installs (QUADS's `foreman_default_os`).
    pub default_os: Option<String>,
    /// QUADS's `foreman_default_ptable`.
    pub default_ptable: Option<String>,
    /// QUADS's `foreman_default_medium`.
    pub default_medium: Option<String>,
}

impl Default for QuadsServerConfig {
    fn default() -> Self {
        Self {
            url: None,
            username: None,
            password: None,
            bmc_address: "mgmt-{host}".to_owned(),
            resolve_file: None,
            default_os: None,
            default_ptable: None,
            default_medium: None,
        }
    }
}

/// The lab's switches (`[network]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkConfig {
    /// The first VLAN (cloud01's first NIC), QUADS's `sw_vlan_first`.
    pub sw_vlan_first: u16,
    /// How switch ports are moved.
    pub driver: SwitchDriver,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            sw_vlan_first: DEFAULT_SW_VLAN_FIRST,
            driver: SwitchDriver::None,
        }
    }
}

impl NetworkConfig {
    /// The VLAN numbering the planner uses.
    #[must_use]
    pub fn scheme(&self) -> VlanScheme {
        VlanScheme {
            sw_vlan_first: self.sw_vlan_first,
        }
    }
}

/// How a move's switch ports are reconfigured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SwitchDriver {
    /// Not at all: moves have no switch step (ports are someone else's job).
    #[default]
    None,
    /// Junos CLI over SSH, one commit per switch.
    Junos(JunosConfig),
    /// An external command per switch batch.
    Command(SwitchCommand),
}

impl SwitchDriver {
    /// The word `[network] driver` takes.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Junos(_) => "junos",
            Self::Command(_) => "command",
        }
    }
}

/// How to log in to Junos switches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JunosConfig {
    /// The switch user.
    pub username: String,
    /// Its password.
    pub password: Secret,
    /// How the switches' SSH host keys are checked.
    pub host_keys: HostKeyCheck,
    /// The switches' SSH port (22).
    pub ssh_port: u16,
}

/// How switches' SSH host keys are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyCheck {
    /// Against a file of known fingerprints (one `switch SHA256:...` a line).
    Fingerprints(PathBuf),
    /// Not at all (a lab on a trusted network).
    Insecure,
}

/// An external command moving ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchCommand {
    /// The program.
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
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
        let n = NetworkConfig {
            sw_vlan_first: 1100,
            driver: SwitchDriver::Junos(JunosConfig {
                username: "netops".into(),
                password: Secret::new("sw1tch"),
                host_keys: HostKeyCheck::Insecure,
                ssh_port: 22,
            }),
        };
        let shown = format!("{n:?}");
        assert!(
            !shown.contains("sw1tch") && shown.contains("***"),
            "{shown}"
        );
        assert_eq!(NetworkConfig::default().scheme().sw_vlan_first, 1100);
        assert_eq!(NetworkConfig::default().driver.as_str(), "none");
    }
}
