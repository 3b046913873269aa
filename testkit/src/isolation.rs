//! The isolation report: the judge of a handover, read from the lab's own state. For every host,
//! which tenant credentials open its BMC, who owns it in Foreman and which VLANs its switch
//! ports are in; for every cloud user, whether it still signs in. The caller says what it
//! expects (every tenant credential it handed out, which one each host must take, who must own
//! it, which cloud's network it must be in, which cloud users must be out) and the report lists
//! each violation: a credential other than the host's tenant's that still logs in, a tenant
//! locked out of its own host, a tenant with the right to manage BMC users (it could leave
//! itself another way in), an account nobody expects, a wrong Foreman owner, a retired cloud
//! user that still signs in, a port outside its cloud's VLAN or carrying a foreign one.
//!
//! The network view computes each port's VLAN itself, as QUADS does (`calculate_vlan` in
//! `quads/tools/helpers.py`, `switch_config` and `set_port` in `move_and_rebuild.py`), from the
//! lab's own `sw_vlan_first`: a host's interfaces in name order, the `i`-th in VLAN
//! `sw_vlan_first - 10 + cloud * 10 + offset(i)` (offsets em1..em5 = 0..4, past em5 still 4;
//! `qinq` puts every interface at offset 0), as an access port in group `QinQ_vl<N>` and member
//! of `vlan<N>`; with a public VLAN the last interface is a trunk instead (`interface-mode
//! trunk`, member and `native-vlan-id` the public VLAN).
//!
//! Served as `POST /isolation` on the admin endpoint; [`report`] is the same, in process.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::bmc::Role;
use crate::foreman::db::Owner;
use crate::lab::{LabShared, LabState};
use crate::switch::{HostPort, PortMode, quads_vlan};

/// A login: user and password (lab fixtures: the report never prints passwords back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    /// Who is told about it, e.g. `cloud02 #1234` (what the report names it by).
    pub label: String,
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
}

/// What one host must show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostExpectation {
    /// The label of the one tenant credential that must open its BMC; `None`: no tenant's.
    pub tenant: Option<String>,
    /// The Foreman login that must own it.
    pub owner: String,
    /// The cloud network its switch ports must be in; `None`: the ports are not judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkExpectation>,
}

/// The network a host's ports must be in: its cloud's VLANs by QUADS's formula.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkExpectation {
    /// The cloud, e.g. `cloud02` (the spare pool is `cloud01`); QUADS reads its first digits.
    pub cloud: String,
    /// The assignment's `qinq = 1`: every interface in the cloud's first VLAN.
    #[serde(default)]
    pub qinq: bool,
    /// The assignment's public VLAN: the last interface is a trunk in it.
    #[serde(default)]
    pub public_vlan: Option<u16>,
}

/// What the caller expects of the lab.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expectation {
    /// Every BMC credential handed to a tenant, past or present.
    pub bmc_credentials: Vec<Login>,
    /// Per host name.
    pub hosts: BTreeMap<String, HostExpectation>,
    /// Foreman cloud users whose tenant is out, with the passwords they had: none may sign in.
    pub retired_foreman_users: Vec<Login>,
}

/// One breach of isolation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// The host (or the Foreman user) concerned.
    pub subject: String,
    /// `bmc-old-credential`, `bmc-tenant-locked-out`, `bmc-tenant-manages-users`,
    /// `bmc-unexpected-account`, `foreman-owner`, `foreman-retired-user`, `switch-port-vlan`
    /// (a port not in its expected VLAN, group, mode or native VLAN), `switch-port-foreign` (a
    /// port otherwise right that is also a member of another VLAN), `unknown-cloud` (a network
    /// expectation whose cloud name has no number), `unknown-host`.
    pub kind: String,
    /// What was found (labels, never passwords).
    pub detail: String,
}

/// What the lab shows of one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostFacts {
    /// Host name.
    pub name: String,
    /// Labels of the expected credentials that log in to its BMC now.
    pub bmc_logins: Vec<String>,
    /// Accounts besides the administrator that can log in, with a password nobody was told.
    pub unknown_logins: Vec<String>,
    /// The Foreman login that owns it.
    pub foreman_owner: Option<String>,
    /// Its switch ports with their committed VLANs, in interface order.
    #[serde(default)]
    pub ports: Vec<HostPort>,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsolationReport {
    /// Per host in the expectation.
    pub hosts: Vec<HostFacts>,
    /// Every breach found.
    pub violations: Vec<Violation>,
}

/// Judges the lab's state (`state`, locked by the caller, and `lab`'s switches) against
/// `expect`.
#[must_use]
pub fn report(lab: &LabShared, state: &LabState, expect: &Expectation) -> IsolationReport {
    let admin_user = lab.config.bmc_admin.username.as_str();
    let mut hosts = Vec::new();
    let mut violations = Vec::new();
    let mut violation = |subject: &str, kind: &str, detail: String| {
        violations.push(Violation {
            subject: subject.to_owned(),
            kind: kind.to_owned(),
            detail,
        });
    };
    let tenant_users: Vec<&str> = expect
        .bmc_credentials
        .iter()
        .map(|c| c.user.as_str())
        .collect();
    for (name, wanted) in &expect.hosts {
        let Some(index) = state.machines.iter().position(|m| &m.name == name) else {
            violation(name, "unknown-host", "the lab has no such host".to_owned());
            continue;
        };
        let bmc = &state.bmcs[index];
        let bmc_logins: Vec<String> = expect
            .bmc_credentials
            .iter()
            .filter(|c| bmc.check_login(&c.user, &c.password).is_some())
            .map(|c| c.label.clone())
            .collect();
        for label in &bmc_logins {
            if wanted.tenant.as_ref() != Some(label) {
                violation(
                    name,
                    "bmc-old-credential",
                    format!("{label} logs in to the BMC"),
                );
            }
        }
        if let Some(tenant) = &wanted.tenant {
            if !bmc_logins.contains(tenant) {
                violation(
                    name,
                    "bmc-tenant-locked-out",
                    format!("{tenant} does not log in to the BMC"),
                );
            }
            let user = expect
                .bmc_credentials
                .iter()
                .find(|c| &c.label == tenant)
                .map(|c| c.user.as_str());
            if let Some(account) = user.and_then(|u| bmc.account(u))
                && account.role == Role::Administrator
            {
                violation(
                    name,
                    "bmc-tenant-manages-users",
                    format!("{tenant} has the Administrator role"),
                );
            }
        }
        let unknown_logins: Vec<String> = bmc
            .accounts
            .iter()
            .filter(|a| a.username != admin_user && a.enabled && a.role != Role::NoAccess)
            .filter(|a| {
                !expect
                    .bmc_credentials
                    .iter()
                    .any(|c| c.user == a.username && c.password == a.password)
            })
            .map(|a| a.username.clone())
            .collect();
        for user in &unknown_logins {
            if !tenant_users.contains(&user.as_str()) {
                violation(
                    name,
                    "bmc-unexpected-account",
                    format!("account {user} can log in"),
                );
            }
        }
        let foreman_owner = state.foreman.hosts.get(index).and_then(|h| match h.owner {
            Some(Owner::User(id)) => state.foreman.user(id).map(|u| u.login.clone()),
            _ => None,
        });
        if foreman_owner.as_deref() != Some(wanted.owner.as_str()) {
            violation(
                name,
                "foreman-owner",
                format!(
                    "owned by {}, not {}",
                    foreman_owner.as_deref().unwrap_or("nobody"),
                    wanted.owner
                ),
            );
        }
        let ports = lab.switches.host_ports(index);
        if let Some(network) = &wanted.network {
            for (kind, detail) in network_violations(lab.config.sw_vlan_first, network, &ports) {
                violation(name, kind, detail);
            }
        }
        hosts.push(HostFacts {
            name: name.clone(),
            bmc_logins,
            unknown_logins,
            foreman_owner,
            ports,
        });
    }
    for retired in &expect.retired_foreman_users {
        let signs_in = state.foreman.users.iter().any(|u| {
            u.login.eq_ignore_ascii_case(&retired.user)
                && !u.disabled
                && u.password.as_deref() == Some(retired.password.as_str())
        });
        if signs_in {
            violation(
                &retired.user,
                "foreman-retired-user",
                format!("{} still signs in to Foreman", retired.label),
            );
        }
    }
    IsolationReport { hosts, violations }
}

/// A port's expected state: mode, VLAN members, QinQ group, native VLAN.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ExpectedPort {
    mode: PortMode,
    vlan: u16,
    qinq_group: Option<u16>,
    native_vlan: Option<u16>,
}

/// QUADS's number of a cloud: the first run of digits in its name (`cloud02` is 2).
fn cloud_number(cloud: &str) -> Option<u16> {
    let start = cloud.find(|c: char| c.is_ascii_digit())?;
    cloud[start..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// The cloud whose formula VLANs hold `vlan` (`cloud03`), if it is in the formula's range.
fn vlan_cloud(sw_vlan_first: u16, vlan: u16) -> Option<u16> {
    let base = sw_vlan_first.checked_sub(10)?;
    let cloud = vlan.checked_sub(base)? / 10;
    (cloud >= 1).then_some(cloud)
}

/// The state of each of `count` interfaces (in name order) in `network`'s cloud number `cloud`.
fn expected_ports(
    sw_vlan_first: u16,
    cloud: u16,
    network: &NetworkExpectation,
    count: usize,
) -> Vec<ExpectedPort> {
    (0..count)
        .map(|i| match network.public_vlan {
            Some(public) if i + 1 == count => ExpectedPort {
                mode: PortMode::Trunk,
                vlan: public,
                qinq_group: None,
                native_vlan: Some(public),
            },
            _ => {
                let vlan = quads_vlan(sw_vlan_first, cloud, if network.qinq { 0 } else { i });
                ExpectedPort {
                    mode: PortMode::Access,
                    vlan,
                    qinq_group: Some(vlan),
                    native_vlan: None,
                }
            }
        })
        .collect()
}

fn describe(mode: PortMode, vlans: &[u16], group: Option<u16>, native: Option<u16>) -> String {
    let mut text = match mode {
        PortMode::Access => "access".to_owned(),
        PortMode::Trunk => "trunk".to_owned(),
    };
    if vlans.is_empty() {
        text.push_str(" no vlan");
    }
    for vlan in vlans {
        text.push_str(&format!(" vlan{vlan}"));
    }
    if let Some(group) = group {
        text.push_str(&format!(" QinQ_vl{group}"));
    }
    if let Some(native) = native {
        text.push_str(&format!(" native-vlan-id {native}"));
    }
    text
}

/// `, vlan1121 is cloud03's` for each of `vlans` in another cloud's formula range than `cloud`.
fn foreign_clouds(sw_vlan_first: u16, cloud: u16, vlans: &[u16]) -> String {
    vlans
        .iter()
        .filter_map(|&vlan| {
            vlan_cloud(sw_vlan_first, vlan)
                .filter(|&c| c != cloud)
                .map(|c| format!(", vlan{vlan} is cloud{c:02}'s"))
        })
        .collect()
}

/// The network violations of a host's `ports` (in interface order) against `network`.
fn network_violations(
    sw_vlan_first: u16,
    network: &NetworkExpectation,
    ports: &[HostPort],
) -> Vec<(&'static str, String)> {
    let Some(cloud) = cloud_number(&network.cloud) else {
        return vec![(
            "unknown-cloud",
            format!(
                "cloud {} has no number in its name, so no VLANs",
                network.cloud
            ),
        )];
    };
    let mut sorted: Vec<&HostPort> = ports.iter().collect();
    sorted.sort_by(|a, b| a.interface.cmp(&b.interface));
    let expected = expected_ports(sw_vlan_first, cloud, network, sorted.len());
    let mut found = Vec::new();
    for (port, want) in sorted.into_iter().zip(expected) {
        let place = format!("{} on {} {}", port.interface, port.switch, port.port);
        let right = port.mode == want.mode
            && port.vlans.contains(&want.vlan)
            && port.qinq_group == want.qinq_group
            && port.native_vlan == want.native_vlan;
        if !right {
            found.push((
                "switch-port-vlan",
                format!(
                    "{place}: {}{}, expected {} ({})",
                    describe(port.mode, &port.vlans, port.qinq_group, port.native_vlan),
                    foreign_clouds(sw_vlan_first, cloud, &port.vlans),
                    describe(want.mode, &[want.vlan], want.qinq_group, want.native_vlan),
                    network.cloud,
                ),
            ));
            continue;
        }
        let extra: Vec<u16> = port
            .vlans
            .iter()
            .copied()
            .filter(|&v| v != want.vlan)
            .collect();
        if !extra.is_empty() {
            let names: Vec<String> = extra.iter().map(|v| format!("vlan{v}")).collect();
            found.push((
                "switch-port-foreign",
                format!(
                    "{place}: also a member of {}{}",
                    names.join(" "),
                    foreign_clouds(sw_vlan_first, cloud, &extra),
                ),
            ));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Arc;

    use super::*;
    use crate::lab::LabConfig;
    use crate::switch::PortState;

    fn lab() -> Arc<LabShared> {
        LabShared::build(LabConfig {
            hosts: 3,
            ..LabConfig::default()
        })
        .expect("lab")
    }

    fn owner(lab: &LabShared, host: usize) -> (String, String) {
        let state = lab.state();
        let name = state.machines[host].name.clone();
        let owner = match state.foreman.hosts[host].owner {
            Some(Owner::User(id)) => state.foreman.user(id).map(|u| u.login.clone()),
            _ => None,
        };
        (name, owner.unwrap_or_default())
    }

    fn expect(lab: &LabShared, host: usize, network: NetworkExpectation) -> Expectation {
        let (name, owner) = owner(lab, host);
        Expectation {
            hosts: BTreeMap::from([(
                name,
                HostExpectation {
                    tenant: None,
                    owner,
                    network: Some(network),
                },
            )]),
            ..Expectation::default()
        }
    }

    fn network(cloud: &str, qinq: bool, public_vlan: Option<u16>) -> NetworkExpectation {
        NetworkExpectation {
            cloud: cloud.to_owned(),
            qinq,
            public_vlan,
        }
    }

    /// Commits `(interface index, state)` for host `host`'s ports, as a switch session would.
    fn commit(lab: &LabShared, host: usize, ports: &[(usize, PortState)]) {
        let ctx = lab.switch_context();
        for (i, state) in ports {
            let nic = &lab.switches.interfaces[host][*i];
            let candidate = BTreeMap::from([(nic.switch_port.clone(), state.clone())]);
            lab.switches
                .commit(&ctx, nic.switch, &candidate, false)
                .expect("commit");
        }
    }

    fn access(vlan: u16) -> PortState {
        PortState {
            mode: PortMode::Access,
            vlans: BTreeSet::from([vlan]),
            qinq_group: Some(vlan),
            native_vlan: None,
        }
    }

    fn kinds(report: &IsolationReport) -> Vec<(&str, &str)> {
        report
            .violations
            .iter()
            .map(|v| (v.kind.as_str(), v.detail.as_str()))
            .collect()
    }

    #[test]
    fn a_fresh_lab_is_in_the_spare_pool_and_not_in_a_cloud() {
        let lab = lab();
        let spare = lab.isolation(&expect(&lab, 0, network("cloud01", false, None)));
        assert_eq!(kinds(&spare), Vec::<(&str, &str)>::new());
        assert_eq!(spare.hosts[0].ports.len(), lab.switches.interfaces[0].len());
        assert_eq!(spare.hosts[0].ports[1].vlans, vec![1101]);
        let cloud02 = lab.isolation(&expect(&lab, 0, network("cloud02", false, None)));
        assert_eq!(cloud02.violations.len(), spare.hosts[0].ports.len());
        let first = &cloud02.violations[0];
        assert_eq!(first.kind, "switch-port-vlan");
        let port = &lab.switches.interfaces[0][0].switch_port;
        assert_eq!(
            first.detail,
            format!(
                "em1 on sw01 {port}: access vlan1100 QinQ_vl1100, vlan1100 is cloud01's, \
                 expected access vlan1110 QinQ_vl1110 (cloud02)"
            )
        );
    }

    #[test]
    fn a_moved_port_is_judged_until_its_whole_host_follows() {
        let lab = lab();
        let host = 1;
        let count = lab.switches.interfaces[host].len();
        let want = expect(&lab, host, network("cloud03", false, None));
        // One port moved: every other one is still cloud01's.
        commit(&lab, host, &[(0, access(1120))]);
        let report = lab.isolation(&want);
        assert_eq!(report.violations.len(), count - 1);
        assert!(
            report.violations[0].detail.starts_with("em2 "),
            "{report:?}"
        );
        let all: Vec<(usize, PortState)> = (0..count)
            .map(|i| (i, access(quads_vlan(1100, 3, i))))
            .collect();
        commit(&lab, host, &all);
        assert_eq!(kinds(&lab.isolation(&want)), Vec::<(&str, &str)>::new());
        // A port of cloud03 that also carries cloud02's VLAN leaks between the two.
        let mut leaky = access(1121);
        leaky.vlans.insert(1110);
        commit(&lab, host, &[(1, leaky)]);
        let report = lab.isolation(&want);
        assert_eq!(report.violations.len(), 1);
        assert_eq!(report.violations[0].kind, "switch-port-foreign");
        assert!(
            report.violations[0]
                .detail
                .ends_with("also a member of vlan1110, vlan1110 is cloud02's"),
            "{report:?}"
        );
        // The other host's ports were never judged nor touched.
        assert_eq!(lab.host_ports(&owner(&lab, 0).0)[0].vlans, vec![1100]);
    }

    #[test]
    fn qinq_and_a_public_trunk_follow_quads() {
        let lab = lab();
        let host = 2;
        let count = lab.switches.interfaces[host].len();
        let want = expect(&lab, host, network("cloud02", true, Some(1150)));
        let mut ports: Vec<(usize, PortState)> =
            (0..count - 1).map(|i| (i, access(1110))).collect();
        // Access in the public VLAN is not the trunk QUADS makes.
        ports.push((count - 1, access(1150)));
        commit(&lab, host, &ports);
        let report = lab.isolation(&want);
        assert_eq!(report.violations.len(), 1, "{report:?}");
        assert!(
            report.violations[0]
                .detail
                .ends_with("expected trunk vlan1150 native-vlan-id 1150 (cloud02)"),
            "{report:?}"
        );
        let trunk = PortState {
            mode: PortMode::Trunk,
            vlans: BTreeSet::from([1150]),
            qinq_group: None,
            native_vlan: Some(1150),
        };
        commit(&lab, host, &[(count - 1, trunk)]);
        assert_eq!(kinds(&lab.isolation(&want)), Vec::<(&str, &str)>::new());
        // Without qinq the interfaces past em1 belong in their own VLANs.
        let separated = expect(&lab, host, network("cloud02", false, Some(1150)));
        assert_eq!(lab.isolation(&separated).violations.len(), count - 2);
    }

    #[test]
    fn the_formula_and_cloud_names_follow_quads() {
        assert_eq!(cloud_number("cloud02"), Some(2));
        assert_eq!(cloud_number("c12x3"), Some(12));
        assert_eq!(cloud_number("spare"), None);
        assert_eq!(vlan_cloud(1100, 1100), Some(1));
        assert_eq!(vlan_cloud(1100, 1124), Some(3));
        assert_eq!(vlan_cloud(1100, 1095), None);
        let six = expected_ports(1100, 2, &network("cloud02", false, None), 6);
        let vlans: Vec<u16> = six.iter().map(|p| p.vlan).collect();
        assert_eq!(vlans, [1110, 1111, 1112, 1113, 1114, 1114]);
        let lab = lab();
        let bad = lab.isolation(&expect(&lab, 0, network("spare", false, None)));
        assert_eq!(bad.violations[0].kind, "unknown-cloud");
    }

    #[test]
    fn expectations_without_a_network_keep_their_json() {
        let old = r#"{"bmc_credentials": [], "retired_foreman_users": [],
                      "hosts": {"h": {"tenant": null, "owner": "admin"}}}"#;
        let parsed: Expectation = serde_json::from_str(old).expect("old json");
        assert_eq!(parsed.hosts["h"].network, None);
        assert!(
            !serde_json::to_string(&parsed)
                .expect("json")
                .contains("network")
        );
    }
}
