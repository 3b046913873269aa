//! The fake Junos switch fleet: the wiring of every host's NICs to switch ports, each port's
//! committed VLANs, and the switches' host key and login. `cli` speaks the Junos CLI subset
//! (sans-IO), `ssh` serves it over SSH on 127.1.x.y.
//!
//! Committed state lives in [`SwitchLab`]'s own lock (never held across an await), apart from
//! the hosts' [`crate::lab::LabState`], so a commit never waits on a Foreman request.

pub mod cli;
pub mod ssh;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::net::Ipv4Addr;
use std::sync::{Mutex, MutexGuard};

use russh::keys::{HashAlg, PrivateKey, ssh_key::private::Ed25519Keypair};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::clock::{LabClock, hash_str, mix};
use crate::faults::FaultProfile;
use crate::lab::{Credentials, LabConfig, bmc_ip, lab_mac};
use crate::machine::Machine;
use crate::metrics::Metrics;
use crate::model::SwitchModel;

pub use cli::{Reply, SwitchCli};

/// Ports wired per switch.
pub const PORTS_PER_SWITCH: usize = 48;

/// QUADS's VLAN of a host's `index`th interface (em1 = 0) in cloud `cloud` (cloud01 = 1):
/// `sw_vlan_first - 10 + cloud * 10 + index` (`quads/tools/helpers.py`, offsets em1..em5 = 0..4).
#[must_use]
pub fn quads_vlan(sw_vlan_first: u16, cloud: u16, index: usize) -> u16 {
    let offset = u16::try_from(index.min(4)).unwrap_or(4);
    sw_vlan_first
        .saturating_sub(10)
        .saturating_add(cloud.saturating_mul(10))
        .saturating_add(offset)
}

/// How a port carries VLANs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PortMode {
    /// One untagged VLAN (Junos's default).
    #[default]
    Access,
    /// Tagged members and a native VLAN.
    Trunk,
}

/// One port's configuration (committed, or a session's candidate).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PortState {
    /// Access or trunk.
    pub mode: PortMode,
    /// `vlan members`.
    pub vlans: BTreeSet<u16>,
    /// `apply-groups QinQ_vl<N>`.
    pub qinq_group: Option<u16>,
    /// `native-vlan-id`.
    pub native_vlan: Option<u16>,
}

/// One of a host's NICs and where it is wired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostInterface {
    /// `em1`, `em2`, ...
    pub name: String,
    /// MAC address.
    pub mac_address: String,
    /// Index of the switch in [`SwitchLab::switches`].
    pub switch: usize,
    /// The switch port, `xe-0/0/<n>` or `et-0/0/<n>:<m>`.
    pub switch_port: String,
    /// Link speed in Mb/s.
    pub speed: u32,
    /// NIC vendor.
    pub vendor: String,
    /// The BIOS's name of the NIC (Dell FQDD style).
    pub bios_id: String,
    /// Whether it is the NIC that network-boots (em1).
    pub pxe_boot: bool,
}

/// A host's port and its committed VLANs, as the lab sees it (the isolation report's network
/// view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostPort {
    /// The host's interface (`em1`).
    pub interface: String,
    /// The switch's name.
    pub switch: String,
    /// The switch port.
    pub port: String,
    /// Access or trunk.
    pub mode: PortMode,
    /// Committed VLAN members.
    pub vlans: Vec<u16>,
    /// Committed QinQ group.
    pub qinq_group: Option<u16>,
    /// Committed native VLAN (a trunk's).
    #[serde(default)]
    pub native_vlan: Option<u16>,
}

/// One switch's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchInfo {
    /// `sw01`, ...
    pub name: String,
    /// Its loopback address (127.1.x.y).
    pub ip: Ipv4Addr,
}

#[derive(Debug, Default)]
struct SwitchRuntime {
    ports: BTreeMap<String, PortState>,
    /// How many times each draw's content (a login, a candidate) was seen on this switch.
    seen: HashMap<u64, u64>,
}

/// The switch fleet: wiring, committed VLANs, credentials and host key.
pub struct SwitchLab {
    /// Every switch, by index.
    pub switches: Vec<SwitchInfo>,
    /// Every host's interfaces, by host index.
    pub interfaces: Vec<Vec<HostInterface>>,
    /// The login every switch accepts.
    pub credentials: Credentials,
    host_key: PrivateKey,
    fingerprint: String,
    state: Mutex<Vec<SwitchRuntime>>,
    /// Cancelled by [`SwitchLab::hang_up`]: every SSH connection open then ends.
    hang_up: Mutex<CancellationToken>,
}

impl fmt::Debug for SwitchLab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SwitchLab")
            .field("switches", &self.switches.len())
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// How many NICs a model has (at least 2; em1 is the provisioning NIC).
#[must_use]
pub fn interface_count(model: &str) -> usize {
    match model {
        "r650" | "r760" | "6029p" => 5,
        "generic" => 3,
        _ => 4,
    }
}

impl SwitchLab {
    /// Wires every machine's NICs to switch ports in order (48 per switch) and puts every port
    /// in the VLANs of cloud01 (QinQ groups, one VLAN per interface index).
    #[must_use]
    pub fn build(config: &LabConfig, machines: &[Machine]) -> Self {
        let mut interfaces = Vec::with_capacity(machines.len());
        let mut next_port = 0usize;
        for machine in machines {
            let count = interface_count(&machine.model);
            let mut nics: Vec<(String, String)> = Vec::new();
            // em1 is the provisioning NIC, then the machine's other NICs in order.
            let devices = machine
                .devices
                .iter()
                .filter(|d| matches!(d.kind, crate::machine::DeviceKind::Nic));
            let (first, rest): (Vec<_>, Vec<_>) =
                devices.partition(|d| d.id == machine.provisioning_nic);
            for device in first.into_iter().chain(rest) {
                nics.push((device.id.clone(), device.mac.clone().unwrap_or_default()));
            }
            let mut slot = 0u64;
            while nics.len() < count {
                slot += 1;
                nics.push((
                    format!("NIC.Slot.4-{slot}-1"),
                    lab_mac(1, machine.index as u64 * 4 + slot),
                ));
            }
            nics.truncate(count);
            let host: Vec<HostInterface> = nics
                .into_iter()
                .enumerate()
                .map(|(i, (bios_id, mac_address))| {
                    let switch = next_port / PORTS_PER_SWITCH;
                    let n = next_port % PORTS_PER_SWITCH;
                    next_port += 1;
                    let (switch_port, speed) = switch_port(switch, n);
                    HostInterface {
                        name: format!("em{}", i + 1),
                        mac_address,
                        switch,
                        switch_port,
                        speed,
                        vendor: if bios_id.contains("Integrated") {
                            "Broadcom".to_owned()
                        } else {
                            "Mellanox".to_owned()
                        },
                        bios_id,
                        pxe_boot: i == 0,
                    }
                })
                .collect();
            interfaces.push(host);
        }
        let switch_count = next_port.div_ceil(PORTS_PER_SWITCH);
        let switches: Vec<SwitchInfo> = (0..switch_count)
            .map(|i| SwitchInfo {
                name: format!("sw{:02}", i + 1),
                ip: bmc_ip(config.switch_first_ip, i),
            })
            .collect();
        let mut runtime: Vec<SwitchRuntime> = (0..switch_count)
            .map(|_| SwitchRuntime::default())
            .collect();
        for (s, rt) in runtime.iter_mut().enumerate() {
            for n in 0..PORTS_PER_SWITCH {
                rt.ports.insert(switch_port(s, n).0, PortState::default());
            }
        }
        for host in &interfaces {
            for (i, nic) in host.iter().enumerate() {
                let vlan = quads_vlan(config.sw_vlan_first, 1, i);
                runtime[nic.switch].ports.insert(
                    nic.switch_port.clone(),
                    PortState {
                        mode: PortMode::Access,
                        vlans: BTreeSet::from([vlan]),
                        qinq_group: Some(vlan),
                        native_vlan: None,
                    },
                );
            }
        }
        let mut seed = [0u8; 32];
        for (i, chunk) in seed.chunks_mut(8).enumerate() {
            chunk.copy_from_slice(&mix(config.seed ^ 0x55f1_7c4e ^ i as u64).to_le_bytes());
        }
        let host_key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
        let fingerprint = host_key
            .public_key()
            .fingerprint(HashAlg::Sha256)
            .to_string();
        Self {
            switches,
            interfaces,
            credentials: config.switch_admin.clone(),
            host_key,
            fingerprint,
            state: Mutex::new(runtime),
            hang_up: Mutex::new(CancellationToken::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<SwitchRuntime>> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Ends every SSH session open now on every switch, as a switch does when a session passed
    /// its login class's `idle-timeout` or the network dropped it; later sessions are not
    /// concerned.
    pub fn hang_up(&self) {
        let mut token = self
            .hang_up
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::take(&mut *token).cancel();
    }

    /// Cancelled when the sessions open now are to end ([`SwitchLab::hang_up`]).
    pub(crate) fn hang_up_signal(&self) -> CancellationToken {
        self.hang_up
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The switches' SSH host key.
    #[must_use]
    pub fn host_key(&self) -> &PrivateKey {
        &self.host_key
    }

    /// Its SHA-256 fingerprint, as `ssh-keygen -lf` prints it (`SHA256:...`).
    #[must_use]
    pub fn host_key_sha256(&self) -> &str {
        &self.fingerprint
    }

    /// The switch at `ip`, if any.
    #[must_use]
    pub fn switch_at(&self, ip: Ipv4Addr) -> Option<usize> {
        self.switches.iter().position(|s| s.ip == ip)
    }

    /// A committed port, if the switch has it.
    #[must_use]
    pub fn port(&self, switch: usize, port: &str) -> Option<PortState> {
        self.lock().get(switch)?.ports.get(port).cloned()
    }

    /// Every port of a switch with its committed state.
    #[must_use]
    pub fn ports(&self, switch: usize) -> BTreeMap<String, PortState> {
        self.lock()
            .get(switch)
            .map(|s| s.ports.clone())
            .unwrap_or_default()
    }

    /// A host's ports with their committed VLANs, in interface order (the isolation report's
    /// network view).
    #[must_use]
    pub fn host_ports(&self, host: usize) -> Vec<HostPort> {
        let Some(nics) = self.interfaces.get(host) else {
            return Vec::new();
        };
        let state = self.lock();
        nics.iter()
            .map(|nic| {
                let port = state
                    .get(nic.switch)
                    .and_then(|s| s.ports.get(&nic.switch_port))
                    .cloned()
                    .unwrap_or_default();
                HostPort {
                    interface: nic.name.clone(),
                    switch: self.switches[nic.switch].name.clone(),
                    port: nic.switch_port.clone(),
                    mode: port.mode,
                    vlans: port.vlans.into_iter().collect(),
                    qinq_group: port.qinq_group,
                    native_vlan: port.native_vlan,
                }
            })
            .collect()
    }

    /// Decides a login: the credentials must match and the refused-login fault must not fire.
    /// Counts it either way. The fault is drawn for right credentials only, keyed by switch and
    /// user and how many such logins it saw, so a wrong password moves no later draw (logins
    /// alike in all but their arrival are told apart by their rank, as Foreman's requests).
    #[must_use]
    pub fn login(&self, ctx: &Context<'_>, switch: usize, user: &str, password: &str) -> bool {
        let Some(info) = self.switches.get(switch) else {
            return false;
        };
        let ok = user == self.credentials.username
            && password == self.credentials.password
            && self
                .draw_key(switch, &format!("login {} {user}", info.name))
                .is_some_and(|key| {
                    ctx.clock.uniform(0x0053_17c4, key) >= ctx.faults.switch_login_refused_rate
                });
        ctx.metrics.switch(&info.name, |c| {
            if ok {
                c.sessions_opened += 1;
                c.sessions_open += 1;
                c.peak_sessions = c.peak_sessions.max(c.sessions_open);
            } else {
                c.refused_logins += 1;
            }
        });
        ok
    }

    /// A session opened by [`SwitchLab::login`] has ended.
    pub fn logout(&self, ctx: &Context<'_>, switch: usize) {
        if let Some(info) = self.switches.get(switch) {
            ctx.metrics.switch(&info.name, |c| {
                c.sessions_open = c.sessions_open.saturating_sub(1);
            });
        }
    }

    /// Draws a commit of `candidate` on `switch`: (lab seconds it takes, whether it fails).
    /// Keyed by the switch, the candidate's content and how many times that same candidate was
    /// committed there, so which commit fails does not depend on which session came first.
    #[must_use]
    pub fn draw_commit(
        &self,
        ctx: &Context<'_>,
        switch: usize,
        candidate: &BTreeMap<String, PortState>,
    ) -> (f64, bool) {
        let name = self.switches.get(switch).map_or("", |s| s.name.as_str());
        let mut content = format!("commit {name}\n");
        for (port, config) in candidate {
            content.push_str(&format!("{port}:\n{}", cli::render_set(port, config)));
        }
        let key = self.draw_key(switch, &content).unwrap_or(0);
        let fails = ctx.clock.uniform(0x00c0_3317, key) < ctx.faults.switch_commit_fail_rate;
        let slow = ctx.clock.uniform(0x0005_103c, key) < ctx.faults.switch_slow_commit_rate;
        let median = ctx.model.commit * if slow { ctx.faults.slow_factor } else { 1.0 };
        let secs = ctx
            .clock
            .service_time_keyed(median, ctx.model.sigma, 0x00c0_3318, key);
        (secs, fails)
    }

    /// The key of a draw about `content` on `switch`: its hash and how many times the switch saw
    /// it (counted here), as Foreman keys its faults. `None` when there is no such switch.
    fn draw_key(&self, switch: usize, content: &str) -> Option<u64> {
        let hash = hash_str(content);
        let mut state = self.lock();
        let seen = state.get_mut(switch)?.seen.entry(hash).or_default();
        *seen += 1;
        Some(mix(hash ^ mix(*seen)))
    }

    /// Applies a candidate to `switch` atomically (every port or none) and counts the commit;
    /// with `fails`, applies nothing and counts a failed commit. Ports the switch lacks are
    /// refused before anything is applied.
    ///
    /// # Errors
    /// The first port the switch does not have.
    pub fn commit(
        &self,
        ctx: &Context<'_>,
        switch: usize,
        candidate: &BTreeMap<String, PortState>,
        fails: bool,
    ) -> Result<(), String> {
        let name = self
            .switches
            .get(switch)
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let outcome = {
            let mut state = self.lock();
            match state.get_mut(switch) {
                None => Err(String::from("no such switch")),
                Some(rt) => {
                    if let Some(missing) = candidate.keys().find(|p| !rt.ports.contains_key(*p)) {
                        Err(missing.clone())
                    } else if fails {
                        Err(String::new())
                    } else {
                        for (port, config) in candidate {
                            rt.ports.insert(port.clone(), config.clone());
                        }
                        Ok(())
                    }
                }
            }
        };
        ctx.metrics.switch(&name, |c| match outcome {
            Ok(()) => c.commits += 1,
            Err(_) => c.failed_commits += 1,
        });
        outcome
    }
}

/// Port `n` of switch `switch` and its speed in Mb/s: even switches have 10G ports
/// `xe-0/0/<n>`, odd ones 25G breakouts `et-0/0/<n / 4>:<n % 4>`.
fn switch_port(switch: usize, n: usize) -> (String, u32) {
    if switch.is_multiple_of(2) {
        (format!("xe-0/0/{n}"), 10_000)
    } else {
        (format!("et-0/0/{}:{}", n / 4, n % 4), 25_000)
    }
}

/// What a switch needs of the lab around it: time draws, faults, counters, the model's timings.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Lab time and draws.
    pub clock: &'a LabClock,
    /// Faults.
    pub faults: &'a FaultProfile,
    /// Counters.
    pub metrics: &'a Metrics,
    /// The model's switch timings.
    pub model: &'a SwitchModel,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quads_vlan_formula() {
        assert_eq!(quads_vlan(1100, 1, 0), 1100);
        assert_eq!(quads_vlan(1100, 2, 3), 1113);
        assert_eq!(quads_vlan(1100, 3, 9), 1124);
    }
}
