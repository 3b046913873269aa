//! QUADS's switch-port plan of a move, pure: the VLAN each NIC of a host is in for a cloud
//! (`calculate_vlan`, `get_vlan`, as `quads/helpers/utils.py` computes them) and the ports a
//! move reconfigures (`switch_config` in `quads/tools/move_and_rebuild.py`), grouped per switch
//! for the step that commits them.
//!
//! QUADS's rules, kept exactly:
//! - a host's NICs are taken in name order; the `i`-th is at position `i`, the last one is the
//!   "last NIC";
//! - `calculate_vlan(cloud, qinq, i) = sw_vlan_first - 10 + 10 * cloud + OFFSETS[i]` where
//!   `cloud` is the first number in the cloud's name, `OFFSETS` maps em1..em5 to 0..4 by
//!   position, and `qinq == 1` puts every NIC at position 0;
//! - with no assignment, the spare pool's VLANs: `calculate_vlan(1, 0, i)`;
//! - an assignment with a public VLAN puts its last NIC in it, as a trunk port (native VLAN and
//!   member, Juniper's `convert_port_public`); every other port is an access port in its VLAN's
//!   `QinQ_vl<vlan>` group (`set_port`).
//!
//! Where this differs from QUADS, on purpose: an interface in maintenance keeps its position
//! (so the others get QUADS's VLANs) but its port is left alone (QUADS's `switch_config` moves
//! it); a port changes when its VLAN or its trunk-ness changes (QUADS compares VLAN numbers
//! only); the old VLANs come from the assignment the host was in, not read from the switch
//! (the switch step reads the switch; the plan says what QUADS would expect there).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::model::{
    Assignment, AssignmentId, AssignmentSpec, CloudName, HostName, Interface, InterfaceName, QinQ,
    Schedule, VlanId,
};
use crate::plan::Move;
use crate::store::Snapshot;
use crate::time::Timestamp;

/// QUADS's default first VLAN of the lab's switches (`sw_vlan_first`).
pub const DEFAULT_SW_VLAN_FIRST: u16 = 1100;

/// QUADS's `OFFSETS`: the VLAN offset of each NIC position within its cloud's ten VLANs.
pub const OFFSETS: [(&str, u16); 5] = [("em1", 0), ("em2", 1), ("em3", 2), ("em4", 3), ("em5", 4)];

/// The lab's VLAN numbering (`[network] sw_vlan_first`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanScheme {
    /// The first VLAN: cloud01's first NIC.
    pub sw_vlan_first: u16,
}

impl Default for VlanScheme {
    fn default() -> Self {
        Self {
            sw_vlan_first: DEFAULT_SW_VLAN_FIRST,
        }
    }
}

/// Why QUADS's formula gives no VLAN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VlanError {
    /// The cloud's name has no number (QUADS takes the first digits of the name).
    #[error("cloud {0} has no number in its name, so no VLANs")]
    CloudNumber(CloudName),
    /// More NICs than `OFFSETS` in separated mode.
    #[error("NIC position {index} has no VLAN offset (QUADS has {} per cloud)", OFFSETS.len())]
    NoOffset {
        /// The NIC's position in name order, from 0.
        index: usize,
    },
    /// The formula left 1..=4094.
    #[error("VLAN {vlan} is outside 1..=4094 (check sw_vlan_first)")]
    OutOfRange {
        /// What the formula gave.
        vlan: i64,
    },
}

/// A port the plan cannot place, naming the host, the interface and the switch port.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("host {host} interface {interface} (switch {switch} port {port}): {reason}")]
pub struct NetworkError {
    /// The host.
    pub host: HostName,
    /// The interface.
    pub interface: InterfaceName,
    /// Its switch.
    pub switch: String,
    /// Its switch port.
    pub port: String,
    /// Why.
    pub reason: VlanError,
}

impl NetworkError {
    /// Never: the plan is wrong until the inventory or the configuration changes.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// The number QUADS reads from a cloud's name: its first run of digits (`cloud02` is 2).
#[must_use]
pub fn cloud_number(cloud: &CloudName) -> Option<u32> {
    let s = cloud.as_str();
    let start = s.find(|c: char| c.is_ascii_digit())?;
    let digits: &str = s[start..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap_or_default();
    digits.parse().ok()
}

/// QUADS's `calculate_vlan`: `sw_vlan_first - 10 + cloud * 10 + OFFSETS[index]`, every NIC at
/// position 0 when `qinq` is [`QinQ::Combined`].
///
/// # Errors
/// [`VlanError::NoOffset`] past the last offset, [`VlanError::OutOfRange`] outside 1..=4094.
pub fn calculate_vlan(
    scheme: VlanScheme,
    cloud: u32,
    qinq: QinQ,
    index: usize,
) -> Result<VlanId, VlanError> {
    let index = match qinq {
        QinQ::Combined => 0,
        QinQ::Separated => index,
    };
    let (_, offset) = OFFSETS.get(index).ok_or(VlanError::NoOffset { index })?;
    let vlan = i64::from(scheme.sw_vlan_first) - 10 + i64::from(cloud) * 10 + i64::from(*offset);
    VlanId::new(vlan).map_err(|_| VlanError::OutOfRange { vlan })
}

/// QUADS's `get_vlan`: the public VLAN for the last NIC of an assignment that has one, else
/// the assignment's cloud's VLAN by position, else (no assignment) the spare pool's.
///
/// # Errors
/// As [`calculate_vlan`], and [`VlanError::CloudNumber`] for a cloud without a number.
pub fn get_vlan(
    scheme: VlanScheme,
    assignment: Option<&AssignmentSpec>,
    index: usize,
    last_nic: bool,
) -> Result<VlanId, VlanError> {
    Ok(port_target(scheme, assignment, index, last_nic)?.vlan)
}

/// How a switch port is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PortMode {
    /// Access port in its own VLAN of the cloud (QUADS `qinq = 0`).
    Access,
    /// Access port in the cloud's one QinQ group (QUADS `qinq = 1`).
    QinQ,
    /// Trunk port with the assignment's public VLAN as native VLAN and member.
    Trunk,
}

impl PortMode {
    /// The word the CLI and hooks use.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::QinQ => "qinq",
            Self::Trunk => "trunk",
        }
    }
}

/// Where a port should be: its mode and VLAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortTarget {
    /// Access, QinQ group or trunk.
    pub mode: PortMode,
    /// The VLAN (the native one of a trunk).
    pub vlan: VlanId,
}

impl PortTarget {
    /// Whether the switch holds the two the same way: QUADS configures access and QinQ ports
    /// alike (`apply-groups QinQ_vl<vlan>`), a trunk differently.
    #[must_use]
    pub fn configured_as(&self, other: &Self) -> bool {
        self.vlan == other.vlan && (self.mode == PortMode::Trunk) == (other.mode == PortMode::Trunk)
    }
}

impl fmt::Display for PortTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.mode.as_str(), self.vlan)
    }
}

/// The port a NIC at `index` is in for `assignment` (none: the spare pool).
///
/// # Errors
/// As [`get_vlan`].
pub fn port_target(
    scheme: VlanScheme,
    assignment: Option<&AssignmentSpec>,
    index: usize,
    last_nic: bool,
) -> Result<PortTarget, VlanError> {
    let Some(a) = assignment else {
        let vlan = calculate_vlan(scheme, 1, QinQ::Separated, index)?;
        return Ok(PortTarget {
            mode: PortMode::Access,
            vlan,
        });
    };
    if let (Some(public), true) = (a.public_vlan, last_nic) {
        return Ok(PortTarget {
            mode: PortMode::Trunk,
            vlan: public,
        });
    }
    let cloud = cloud_number(&a.cloud).ok_or_else(|| VlanError::CloudNumber(a.cloud.clone()))?;
    let vlan = calculate_vlan(scheme, cloud, a.qinq, index)?;
    Ok(PortTarget {
        mode: match a.qinq {
            QinQ::Separated => PortMode::Access,
            QinQ::Combined => PortMode::QinQ,
        },
        vlan,
    })
}

/// What the move does to one port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortChange {
    /// Reconfigure it.
    Move,
    /// Already as wanted.
    Unchanged,
    /// Its interface is in maintenance: left alone.
    Maintenance,
}

impl PortChange {
    /// The word the CLI and hooks use.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Move => "move",
            Self::Unchanged => "unchanged",
            Self::Maintenance => "maintenance",
        }
    }
}

/// One port of a move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMove {
    /// The host's interface.
    pub interface: InterfaceName,
    /// Its MAC address, if known.
    pub mac_address: Option<String>,
    /// The switch it is cabled to.
    pub switch: String,
    /// The switch port.
    pub port: String,
    /// Its position in name order (QUADS's index).
    pub index: usize,
    /// Whether it is the host's last NIC (the one a public VLAN takes).
    pub last_nic: bool,
    /// Where QUADS expects it now (unknown when the old cloud has no VLANs).
    pub old: Option<PortTarget>,
    /// Where it goes.
    pub new: PortTarget,
    /// What the move does to it.
    pub change: PortChange,
}

/// A host's ports for one move.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkPlan {
    /// Every interface that could be planned, in name order.
    pub ports: Vec<PortMove>,
    /// Interfaces whose new port cannot be computed: the move's switch step must fail.
    pub problems: Vec<NetworkError>,
}

impl NetworkPlan {
    /// Whether the host has no interfaces.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ports.is_empty() && self.problems.is_empty()
    }

    /// Whether every interface could be planned.
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.problems.is_empty()
    }

    /// The ports to reconfigure.
    pub fn changes(&self) -> impl Iterator<Item = &PortMove> {
        self.ports.iter().filter(|p| p.change == PortChange::Move)
    }

    /// The ports to reconfigure, per switch (one commit each), switches and ports in order.
    #[must_use]
    pub fn by_switch(&self) -> BTreeMap<&str, Vec<&PortMove>> {
        let mut out: BTreeMap<&str, Vec<&PortMove>> = BTreeMap::new();
        for p in self.changes() {
            out.entry(p.switch.as_str()).or_default().push(p);
        }
        for ports in out.values_mut() {
            ports.sort_by(|a, b| a.port.cmp(&b.port));
        }
        out
    }

    /// Every switch the host is cabled to (whatever the move does there), sorted.
    #[must_use]
    pub fn switches(&self) -> BTreeSet<&str> {
        self.ports
            .iter()
            .map(|p| p.switch.as_str())
            .chain(self.problems.iter().map(|p| p.switch.as_str()))
            .collect()
    }
}

/// The ports of `host` for a move `from` one tenancy `to` another: every interface in name
/// order, its old and new port and whether it changes.
#[must_use]
pub fn port_moves(
    host: &HostName,
    interfaces: &[&Interface],
    from: Option<&AssignmentSpec>,
    to: Option<&AssignmentSpec>,
    scheme: VlanScheme,
) -> NetworkPlan {
    let mut sorted: Vec<&Interface> = interfaces.to_vec();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let last = sorted.len().saturating_sub(1);
    let mut plan = NetworkPlan::default();
    for (index, i) in sorted.into_iter().enumerate() {
        let last_nic = index == last;
        let new = match port_target(scheme, to, index, last_nic) {
            Ok(t) => t,
            Err(reason) => {
                plan.problems.push(NetworkError {
                    host: host.clone(),
                    interface: i.name.clone(),
                    switch: i.switch_ip.clone(),
                    port: i.switch_port.clone(),
                    reason,
                });
                continue;
            }
        };
        let old = port_target(scheme, from, index, last_nic).ok();
        let change = if i.maintenance {
            PortChange::Maintenance
        } else if old.is_some_and(|o| o.configured_as(&new)) {
            PortChange::Unchanged
        } else {
            PortChange::Move
        };
        plan.ports.push(PortMove {
            interface: i.name.clone(),
            mac_address: i.mac_address.as_ref().map(ToString::to_string),
            switch: i.switch_ip.clone(),
            port: i.switch_port.clone(),
            index,
            last_nic,
            old,
            new,
            change,
        });
    }
    plan
}

/// The store's records indexed for planning many moves' networks at once.
#[derive(Debug)]
pub struct NetworkIndex<'a> {
    scheme: VlanScheme,
    interfaces: BTreeMap<&'a HostName, Vec<&'a Interface>>,
    schedules: BTreeMap<&'a HostName, Vec<&'a Schedule>>,
    assignments: BTreeMap<AssignmentId, &'a Assignment>,
    by_cloud: BTreeMap<&'a CloudName, Vec<&'a Assignment>>,
}

impl<'a> NetworkIndex<'a> {
    /// Indexes a snapshot.
    #[must_use]
    pub fn new(snapshot: &'a Snapshot, scheme: VlanScheme) -> Self {
        let mut interfaces: BTreeMap<&HostName, Vec<&Interface>> = BTreeMap::new();
        for i in &snapshot.interfaces {
            interfaces.entry(&i.host).or_default().push(i);
        }
        let mut schedules: BTreeMap<&HostName, Vec<&Schedule>> = BTreeMap::new();
        for s in &snapshot.schedules {
            schedules.entry(&s.host).or_default().push(s);
        }
        let mut by_cloud: BTreeMap<&CloudName, Vec<&Assignment>> = BTreeMap::new();
        for a in &snapshot.assignments {
            by_cloud.entry(&a.spec.cloud).or_default().push(a);
        }
        Self {
            scheme,
            interfaces,
            schedules,
            assignments: snapshot.assignments.iter().map(|a| (a.id, a)).collect(),
            by_cloud,
        }
    }

    /// A host's interfaces, by name.
    #[must_use]
    pub fn interfaces(&self, host: &HostName) -> &[&'a Interface] {
        self.interfaces.get(host).map_or(&[], Vec::as_slice)
    }

    /// The assignment `host` is in while in `cloud` at `at`: that of its latest schedule into
    /// the cloud started by then, else the cloud's only assignment, else none.
    #[must_use]
    pub fn tenancy_assignment(
        &self,
        host: &HostName,
        cloud: &CloudName,
        at: Timestamp,
    ) -> Option<&'a AssignmentSpec> {
        let scheduled = self
            .schedules
            .get(host)
            .into_iter()
            .flatten()
            .filter(|s| s.range.start() <= at)
            .filter_map(|s| self.assignments.get(&s.assignment).map(|a| (s, *a)))
            .filter(|(_, a)| a.spec.cloud == *cloud)
            .max_by_key(|(s, _)| s.range.start())
            .map(|(_, a)| &a.spec);
        scheduled.or_else(|| match self.by_cloud.get(cloud).map(Vec::as_slice) {
            Some([only]) => Some(&only.spec),
            _ => None,
        })
    }

    /// An assignment by id.
    #[must_use]
    pub fn assignment(&self, id: AssignmentId) -> Option<&'a AssignmentSpec> {
        self.assignments.get(&id).map(|a| &a.spec)
    }

    /// The two sides of move `m` planned for `at`: the assignment the host leaves (see
    /// [`NetworkIndex::tenancy_assignment`]) and the one it moves for (none for a move to its
    /// default cloud: the spare pool's VLANs, as QUADS, and nobody's tenant, as the executor).
    #[must_use]
    pub fn sides(
        &self,
        m: &Move,
        at: Timestamp,
    ) -> (Option<&'a AssignmentSpec>, Option<&'a AssignmentSpec>) {
        (
            self.tenancy_assignment(&m.host, &m.from, at),
            m.assignment.and_then(|id| self.assignment(id)),
        )
    }

    /// The network plan of `host` leaving `from` for `to` (see [`NetworkIndex::sides`]).
    #[must_use]
    pub fn plan(
        &self,
        host: &HostName,
        from: Option<&AssignmentSpec>,
        to: Option<&AssignmentSpec>,
    ) -> NetworkPlan {
        port_moves(host, self.interfaces(host), from, to, self.scheme)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::model::{BootType, Wipe};

    fn scheme() -> VlanScheme {
        VlanScheme::default()
    }

    fn c(s: &str) -> CloudName {
        CloudName::new(s).unwrap()
    }

    fn assignment(cloud: &str, qinq: QinQ, public: Option<u16>) -> AssignmentSpec {
        AssignmentSpec {
            cloud: c(cloud),
            ticket: "1".into(),
            owner: "alice".into(),
            description: String::new(),
            wipe: Wipe::No,
            os: None,
            partition_table: None,
            medium: None,
            boot_type: BootType::Uefi,
            qinq,
            public_vlan: public.map(|v| VlanId::new(v.into()).unwrap()),
        }
    }

    fn nic(name: &str, switch: &str, port: &str) -> Interface {
        Interface {
            host: HostName::new("h1").unwrap(),
            name: InterfaceName::new(name).unwrap(),
            bios_id: None,
            mac_address: None,
            switch_ip: switch.into(),
            switch_port: port.into(),
            speed: None,
            vendor: None,
            pxe_boot: false,
            maintenance: false,
        }
    }

    fn v(n: u16) -> VlanId {
        VlanId::new(n.into()).unwrap()
    }

    #[test]
    fn calculate_vlan_is_quads_formula() {
        // QUADS with sw_vlan_first = 1100: cloud01 1100..1104, cloud02 1110..1114, cloud32 1410
        let s = scheme();
        for (cloud, index, want) in [(1, 0, 1100), (1, 4, 1104), (2, 0, 1110), (2, 3, 1113)] {
            assert_eq!(
                calculate_vlan(s, cloud, QinQ::Separated, index).unwrap(),
                v(want)
            );
        }
        assert_eq!(calculate_vlan(s, 32, QinQ::Separated, 0).unwrap(), v(1410));
        // qinq 1: every NIC in the first VLAN
        for index in 0..8 {
            assert_eq!(
                calculate_vlan(s, 3, QinQ::Combined, index).unwrap(),
                v(1120)
            );
        }
        assert_eq!(
            calculate_vlan(s, 2, QinQ::Separated, 5),
            Err(VlanError::NoOffset { index: 5 })
        );
        let low = VlanScheme { sw_vlan_first: 5 };
        assert_eq!(
            calculate_vlan(low, 0, QinQ::Separated, 0),
            Err(VlanError::OutOfRange { vlan: -5 })
        );
        assert_eq!(cloud_number(&c("cloud02")), Some(2));
        assert_eq!(cloud_number(&c("cloud10-b7")), Some(10));
        assert_eq!(cloud_number(&c("spare")), None);
    }

    #[test]
    fn get_vlan_follows_the_assignment_public_vlan_and_qinq() {
        let s = scheme();
        // no assignment: the spare pool's VLANs, whatever the cloud
        assert_eq!(get_vlan(s, None, 2, false).unwrap(), v(1102));
        assert_eq!(get_vlan(s, None, 2, true).unwrap(), v(1102));
        let plain = assignment("cloud05", QinQ::Separated, None);
        assert_eq!(get_vlan(s, Some(&plain), 1, false).unwrap(), v(1141));
        assert_eq!(get_vlan(s, Some(&plain), 3, true).unwrap(), v(1143));
        // a public VLAN takes the last NIC only, as a trunk
        let public = assignment("cloud05", QinQ::Separated, Some(1401));
        assert_eq!(get_vlan(s, Some(&public), 3, true).unwrap(), v(1401));
        assert_eq!(get_vlan(s, Some(&public), 2, false).unwrap(), v(1142));
        assert_eq!(
            port_target(s, Some(&public), 3, true).unwrap().mode,
            PortMode::Trunk
        );
        let qinq = assignment("cloud05", QinQ::Combined, Some(1401));
        assert_eq!(
            port_target(s, Some(&qinq), 2, false).unwrap(),
            PortTarget {
                mode: PortMode::QinQ,
                vlan: v(1140)
            }
        );
        assert_eq!(get_vlan(s, Some(&qinq), 3, true).unwrap(), v(1401));
        let nameless = assignment("spare", QinQ::Separated, None);
        assert_eq!(
            get_vlan(s, Some(&nameless), 0, false),
            Err(VlanError::CloudNumber(c("spare")))
        );
    }

    #[test]
    fn a_move_lists_every_port_in_name_order_grouped_per_switch() {
        let nics = [
            nic("em3", "sw2", "xe-0/0/3"),
            nic("em1", "sw1", "xe-0/0/1"),
            nic("em2", "sw1", "xe-0/0/0"),
            nic("em4", "sw2", "xe-0/0/4"),
        ];
        let refs: Vec<&Interface> = nics.iter().collect();
        let to = assignment("cloud03", QinQ::Separated, Some(1401));
        let host = HostName::new("h1").unwrap();
        let plan = port_moves(&host, &refs, None, Some(&to), scheme());
        assert!(plan.is_complete());
        let got: Vec<(&str, Option<String>, String, bool)> = plan
            .ports
            .iter()
            .map(|p| {
                (
                    p.interface.as_str(),
                    p.old.map(|t| t.to_string()),
                    p.new.to_string(),
                    p.last_nic,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "em1",
                    Some("access 1100".into()),
                    "access 1120".into(),
                    false
                ),
                (
                    "em2",
                    Some("access 1101".into()),
                    "access 1121".into(),
                    false
                ),
                (
                    "em3",
                    Some("access 1102".into()),
                    "access 1122".into(),
                    false
                ),
                ("em4", Some("access 1103".into()), "trunk 1401".into(), true),
            ]
        );
        let by_switch = plan.by_switch();
        let ports =
            |sw: &str| -> Vec<&str> { by_switch[sw].iter().map(|p| p.port.as_str()).collect() };
        assert_eq!(by_switch.len(), 2);
        assert_eq!(ports("sw1"), ["xe-0/0/0", "xe-0/0/1"]);
        assert_eq!(ports("sw2"), ["xe-0/0/3", "xe-0/0/4"]);
        assert_eq!(
            plan.switches().into_iter().collect::<Vec<_>>(),
            ["sw1", "sw2"]
        );
    }

    #[test]
    fn unchanged_and_maintenance_ports_are_not_moved() {
        let mut nics = [nic("em1", "sw1", "p1"), nic("em2", "sw1", "p2")];
        nics[0].maintenance = true;
        let refs: Vec<&Interface> = nics.iter().collect();
        let host = HostName::new("h1").unwrap();
        // same cloud number, qinq changes: access 1110 -> qinq 1110 is the same switch config
        // for em1 (position 0), em2 moves from 1111 to 1110
        let from = assignment("cloud02", QinQ::Separated, None);
        let to = assignment("cloud02", QinQ::Combined, None);
        let side = Some;
        let plan = port_moves(&host, &refs, side(&from), side(&to), scheme());
        assert_eq!(plan.ports[0].change, PortChange::Maintenance);
        assert_eq!(plan.ports[1].change, PortChange::Move);
        assert_eq!(plan.ports[1].new.vlan, v(1110));
        assert_eq!(plan.changes().count(), 1);
        // a public VLAN already there
        let public = assignment("cloud02", QinQ::Separated, Some(1401));
        let plan = port_moves(&host, &refs, side(&public), side(&public), scheme());
        assert_eq!(plan.ports[1].change, PortChange::Unchanged);
        assert!(plan.by_switch().is_empty());
        // the trunk goes when the public VLAN does, even to the same number
        let back = port_moves(&host, &refs, side(&public), side(&from), scheme());
        assert_eq!(back.ports[1].change, PortChange::Move);
    }

    #[test]
    fn ports_that_cannot_be_planned_are_problems_naming_host_and_port() {
        let nics: Vec<Interface> = (1..=6)
            .map(|i| nic(&format!("em{i}"), "sw1", &format!("p{i}")))
            .collect();
        let refs: Vec<&Interface> = nics.iter().collect();
        let host = HostName::new("h1").unwrap();
        let to = assignment("cloud02", QinQ::Separated, None);
        let plan = port_moves(&host, &refs, None, Some(&to), scheme());
        assert_eq!(plan.ports.len(), 5);
        assert!(!plan.is_complete());
        assert_eq!(
            plan.problems[0].to_string(),
            "host h1 interface em6 (switch sw1 port p6): NIC position 5 has no VLAN offset (QUADS has 5 per cloud)"
        );
        // with a public VLAN the sixth (last) NIC is the trunk: QUADS plans it
        let public = assignment("cloud02", QinQ::Separated, Some(1401));
        let plan = port_moves(&host, &refs, None, Some(&public), scheme());
        assert!(plan.is_complete(), "{:?}", plan.problems);
        assert_eq!(plan.ports[5].old, None);
        assert_eq!(plan.ports[5].change, PortChange::Move);
    }

    #[test]
    fn the_index_finds_the_tenancy_a_host_leaves_and_the_one_it_joins() {
        use crate::model::{Schedule, ScheduleId, TimeRange};
        use crate::plan::Move;
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let h1 = HostName::new("h1").unwrap();
        let assignment_with = |id, a: AssignmentSpec| Assignment {
            id: AssignmentId(id),
            spec: a,
        };
        let snapshot = Snapshot {
            assignments: vec![
                assignment_with(1, assignment("cloud02", QinQ::Separated, Some(1401))),
                assignment_with(2, assignment("cloud03", QinQ::Combined, None)),
                assignment_with(3, assignment("cloud03", QinQ::Separated, None)),
            ],
            schedules: vec![Schedule {
                id: ScheduleId(1),
                host: h1.clone(),
                assignment: AssignmentId(1),
                range: TimeRange::new(t("2025-01-01"), t("2025-02-01")).unwrap(),
                build_start: None,
                build_end: None,
            }],
            interfaces: vec![nic("em2", "sw1", "p2"), nic("em1", "sw1", "p1")],
            ..Snapshot::default()
        };
        let index = NetworkIndex::new(&snapshot, scheme());
        let at = t("2025-02-01");
        assert_eq!(index.interfaces(&h1).len(), 2);
        // from cloud02 (its schedule's assignment, public VLAN) to cloud03 by assignment 2
        let m = Move {
            host: h1.clone(),
            from: c("cloud02"),
            to: c("cloud03"),
            wipe: Wipe::No,
            assignment: Some(AssignmentId(2)),
            schedule: None,
        };
        let (from, to) = index.sides(&m, at);
        let plan = index.plan(&h1, from, to);
        let shown: Vec<String> = plan
            .ports
            .iter()
            .map(|p| {
                format!(
                    "{} {:?} -> {}",
                    p.interface,
                    p.old.map(|o| o.to_string()),
                    p.new
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                "em1 Some(\"access 1110\") -> qinq 1120",
                "em2 Some(\"trunk 1401\") -> qinq 1120",
            ]
        );
        // back to the spare pool (no assignment): cloud01's VLANs; cloud03 has two
        // assignments and no schedule of h1, so the old side is unknown to QUADS: spare VLANs
        let back = Move {
            from: c("cloud03"),
            to: c("cloud01"),
            assignment: None,
            ..m
        };
        let (from, to) = index.sides(&back, at);
        assert!(to.is_none());
        let plan = index.plan(&h1, from, to);
        assert_eq!(plan.ports[1].new.to_string(), "access 1101");
        assert_eq!(plan.ports[1].change, PortChange::Unchanged);
        // before its schedule: no schedule says, the cloud's only assignment does
        assert_eq!(
            index
                .tenancy_assignment(&h1, &c("cloud02"), t("2024-12-01"))
                .and_then(|a| a.public_vlan),
            Some(VlanId::new(1401).unwrap())
        );
        assert!(index.tenancy_assignment(&h1, &c("cloud03"), at).is_none());
    }
}
