//! What a switch port is and what it must become: `PortConfig`, `PortTarget`, `PortChange`.

use std::fmt;

/// How a port carries VLANs (`interface-mode` under `family ethernet-switching`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PortMode {
    /// One untagged VLAN (Junos's default when no `interface-mode` is configured).
    #[default]
    Access,
    /// Tagged members, optionally a native (untagged) VLAN.
    Trunk,
}

impl PortMode {
    /// The Junos keyword.
    #[must_use]
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Trunk => "trunk",
        }
    }
}

impl fmt::Display for PortMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// A port's configuration as far as QUADS cares: VLAN membership, QinQ group, mode, native VLAN.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortConfig {
    /// The interface, e.g. `xe-0/0/12` or `et-0/0/3:1`.
    pub port: String,
    /// Access or trunk.
    pub mode: PortMode,
    /// `vlan members`, as VLAN ids (from names like `vlan1110` or bare ids), sorted, distinct.
    pub vlans: Vec<u16>,
    /// `apply-groups QinQ_vl<N>`.
    pub qinq_group: Option<u16>,
    /// `native-vlan-id`.
    pub native_vlan: Option<u16>,
}

impl PortConfig {
    /// An unconfigured port (what `show configuration interfaces P` prints nothing for).
    #[must_use]
    pub fn empty(port: &str) -> Self {
        Self {
            port: port.to_owned(),
            ..Self::default()
        }
    }

    /// Whether this configuration is what `target` asks for.
    #[must_use]
    pub fn satisfies(&self, target: &PortTarget) -> bool {
        *self == target.config(&self.port)
    }
}

/// What a port must become.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PortTarget {
    /// An access port in one VLAN (`interface-mode access`, `vlan members vlan<N>`).
    Access {
        /// The VLAN.
        vlan: u16,
    },
    /// QUADS's private-network port: `apply-groups QinQ_vl<N>` and member of `vlan<N>`.
    QinQ {
        /// The VLAN (and group number).
        vlan: u16,
    },
    /// QUADS's public-VLAN port: `interface-mode trunk`, members, `native-vlan-id`.
    Trunk {
        /// Tagged members.
        members: Vec<u16>,
        /// The native VLAN, if any.
        native: Option<u16>,
    },
}

impl PortTarget {
    /// The configuration of `port` once it has reached this target.
    #[must_use]
    pub fn config(&self, port: &str) -> PortConfig {
        let (mode, mut vlans, qinq_group, native_vlan) = match self {
            Self::Access { vlan } => (PortMode::Access, vec![*vlan], None, None),
            Self::QinQ { vlan } => (PortMode::Access, vec![*vlan], Some(*vlan), None),
            Self::Trunk { members, native } => (PortMode::Trunk, members.clone(), None, *native),
        };
        vlans.sort_unstable();
        vlans.dedup();
        PortConfig {
            port: port.to_owned(),
            mode,
            vlans,
            qinq_group,
            native_vlan,
        }
    }
}

/// One port of a batch and what it must become.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PortChange {
    /// The interface.
    pub port: String,
    /// Its target.
    pub target: PortTarget,
}

impl PortChange {
    /// A change of `port` to `target`.
    #[must_use]
    pub fn new(port: &str, target: PortTarget) -> Self {
        Self {
            port: port.to_owned(),
            target,
        }
    }
}

/// What became of one port of an applied batch, read back from the switch after the commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortResult {
    /// The interface.
    pub port: String,
    /// Its configuration before the batch.
    pub before: PortConfig,
    /// Its configuration read back after the batch.
    pub after: PortConfig,
    /// Whether `after` is what the target asked for.
    pub verified: bool,
}

/// What [`crate::JunosSession::apply`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyReport {
    /// The switch.
    pub switch: String,
    /// Configuration lines sent (all ports of the batch).
    pub lines: Vec<String>,
    /// Whether a commit was made (none when every port already matched its target).
    pub committed: bool,
    /// Every port of the batch, in the batch's order.
    pub ports: Vec<PortResult>,
}

impl ApplyReport {
    /// Whether every port was read back as its target.
    #[must_use]
    pub fn all_verified(&self) -> bool {
        self.ports.iter().all(|p| p.verified)
    }
}
