//! [`SwitchPort`] over `switch-client`: per batch the ports read, changed in one commit and
//! read back, in a session kept open between a switch's batches (one per switch at most: a
//! batch holds its switch's slot from taking the session to putting it back, and a session
//! is closed, the connection gone, before another opens). Only a session whose batch ended
//! well is kept, for [`SwitchPort::idle_linger`]; one found gone at its next batch's first
//! read, before anything was written, is replaced at once. QUADS's port grammar: an access port of a cloud is put
//! in its VLAN's `QinQ_vl<N>` group (`set_port`, in both QinQ modes), the public VLAN's port
//! is a trunk with that VLAN as member and native VLAN (`convert_port_public`).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use switch_client::{
    HostKeyCheck, JunosSession, JunosSwitch, PortChange, PortConfig, PortTarget as SwitchTarget,
    SwitchConfig, Timeouts,
};

use crate::config::Secret;
use crate::executor::ports::{
    BatchApplied, BatchError, PortApplied, PortError, PortOrder, SwitchPort,
};
use crate::network::{PortMode, PortTarget};
use crate::time::scale_duration;

/// The switch-client target of a planned port.
#[must_use]
pub fn switch_target(target: PortTarget) -> SwitchTarget {
    let vlan = target.vlan.get();
    match target.mode {
        PortMode::Access | PortMode::QinQ => SwitchTarget::QinQ { vlan },
        PortMode::Trunk => SwitchTarget::Trunk {
            members: vec![vlan],
            native: Some(vlan),
        },
    }
}

/// A port's configuration in words, for errors (`trunk vlans 1401 native 1401`).
fn describe(config: &PortConfig) -> String {
    let vlans: Vec<String> = config.vlans.iter().map(u16::to_string).collect();
    let mut words = format!("{} vlans [{}]", config.mode, vlans.join(" "));
    if let Some(group) = config.qinq_group {
        words.push_str(&format!(" group QinQ_vl{group}"));
    }
    if let Some(native) = config.native_vlan {
        words.push_str(&format!(" native {native}"));
    }
    words
}

/// How the switches' host keys are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KnownKeys {
    /// Each switch's SHA-256 fingerprint, by the name interfaces give it (`switch_ip`).
    Fingerprints(BTreeMap<String, String>),
    /// Any key (the operator opted out).
    Insecure,
}

impl KnownKeys {
    /// Reads a known-keys file: one `<switch> SHA256:<fingerprint>` a line, `#` comments.
    ///
    /// # Errors
    /// A message naming the line that is not two words.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut keys = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let mut words = line.split_whitespace();
            match (words.next(), words.next(), words.next()) {
                (Some(switch), Some(key), None) => {
                    keys.insert(switch.to_owned(), key.to_owned());
                }
                _ => {
                    return Err(format!(
                        "line {}: expected `<switch> SHA256:<fingerprint>`",
                        n + 1
                    ));
                }
            }
        }
        Ok(Self::Fingerprints(keys))
    }
}

/// How long a switch's session is kept open after a batch that ended well, waiting for the
/// switch's next batch (scaled with the timeouts). A session costs the switch little (Junos
/// keeps a CLI session open until its login class's `idle-timeout`, none by default), and
/// saves the next batch a connection, a handshake and a login.
const LINGER: Duration = Duration::from_secs(30);

/// A switch's session between its batches.
type Slot = Arc<tokio::sync::Mutex<Option<JunosSession>>>;

/// The sessions kept open, one slot per switch.
#[derive(Debug, Default)]
struct Kept {
    slots: Mutex<HashMap<String, Slot>>,
    /// Set at the run's end: no session is kept any more.
    closed: AtomicBool,
}

impl Kept {
    fn slot(&self, switch: &str) -> Slot {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(switch.to_owned())
            .or_default()
            .clone()
    }

    fn all(&self) -> Vec<Slot> {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }
}

/// Junos switches over SSH.
#[derive(Debug, Clone)]
pub struct JunosPorts {
    username: String,
    password: Secret,
    keys: KnownKeys,
    ssh_port: u16,
    timeouts: Timeouts,
    linger: Duration,
    kept: Arc<Kept>,
}

impl JunosPorts {
    /// Switches reached at `<switch>:<ssh_port>` as `username`.
    #[must_use]
    pub fn new(username: String, password: Secret, keys: KnownKeys, ssh_port: u16) -> Self {
        Self {
            username,
            password,
            keys,
            ssh_port,
            timeouts: Timeouts::default(),
            linger: LINGER,
            kept: Arc::default(),
        }
    }

    /// How long a session is kept for the switch's next batch (zero: closed after each batch,
    /// as before sessions were kept).
    #[must_use]
    pub fn with_linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }

    /// Every timeout multiplied by `factor` (a simulated lab's time scale).
    #[must_use]
    pub fn with_time_scale(mut self, factor: f64) -> Self {
        let scale = |d: Duration| scale_duration(d, factor).max(Duration::from_millis(50));
        self.timeouts = Timeouts {
            connect: scale(self.timeouts.connect),
            command: scale(self.timeouts.command),
            commit: scale(self.timeouts.commit),
        };
        if !self.linger.is_zero() {
            self.linger = scale(self.linger);
        }
        self
    }

    fn config(&self, switch: &str) -> Result<SwitchConfig, PortError> {
        let host_key = match &self.keys {
            KnownKeys::Insecure => HostKeyCheck::Insecure,
            KnownKeys::Fingerprints(keys) => {
                HostKeyCheck::Sha256(keys.get(switch).cloned().ok_or_else(|| {
                    PortError::fatal(format!(
                        "switch {switch}: its host key is not in the known switch keys \
                         ([network] host_key_fingerprints)"
                    ))
                })?)
            }
        };
        let address = if switch.contains(':') {
            format!("[{switch}]:{}", self.ssh_port)
        } else {
            format!("{switch}:{}", self.ssh_port)
        };
        Ok(SwitchConfig {
            name: switch.to_owned(),
            address,
            username: self.username.clone(),
            password: self.password.clone(),
            host_key,
            timeouts: self.timeouts,
        })
    }
}

fn port_error(e: &switch_client::Error) -> PortError {
    if e.is_retryable() {
        PortError::retryable(e.to_string())
    } else {
        PortError::fatal(e.to_string())
    }
}

/// A failure of the batch. A failed commit applied nothing and may pass later or in a smaller
/// batch (a locked database, a check that failed, a hiccup): retryable, with the batch's
/// content refused. A refused line is the batch's content too, and will be refused again. A
/// refused login is retried (switches behind TACACS refuse now and then) but counted.
fn batch_error(e: &switch_client::Error) -> BatchError {
    use switch_client::Error as E;
    let (error, refused_content, login_refused) = match e {
        E::CommitFailed { .. } => (PortError::retryable(e.to_string()), true, false),
        E::Command { .. } => (PortError::fatal(e.to_string()), true, false),
        E::AuthRefused { .. } => (PortError::retryable(e.to_string()), false, true),
        _ => (port_error(e), false, false),
    };
    BatchError {
        error,
        refused_content,
        login_refused,
    }
}

#[async_trait]
impl SwitchPort for JunosPorts {
    async fn apply(&self, switch: &str, batch: &[PortOrder]) -> Result<BatchApplied, BatchError> {
        let config = self.config(switch)?;
        let changes: Vec<PortChange> = batch
            .iter()
            .map(|o| PortChange::new(&o.port, switch_target(o.target)))
            .collect();
        let slot = self.kept.slot(switch);
        let mut kept = slot.lock().await;
        let connect = || async {
            JunosSwitch::connect(&config)
                .await
                .map_err(|e| batch_error(&e))
        };
        let mut session = match kept.take() {
            Some(session) if session.is_open() => session,
            Some(gone) => {
                gone.close().await;
                connect().await?
            }
            None => connect().await?,
        };
        let mut result = session.apply(&changes).await;
        if let Err(e @ switch_client::Error::Stale { .. }) = &result {
            // nothing was written: the batch goes again in a new session, no attempt lost
            tracing::debug!(switch, error = %e, "the kept session was gone: opening another");
            session.close().await;
            session = connect().await?;
            result = session.apply(&changes).await;
        }
        let keep = result.is_ok()
            && !self.linger.is_zero()
            && !self.kept.closed.load(Ordering::SeqCst)
            && session.is_open();
        if keep {
            *kept = Some(session);
        } else {
            session.close().await;
        }
        drop(kept);
        let report = result.map_err(|e| batch_error(&e))?;
        Ok(BatchApplied {
            committed: report.committed,
            ports: report
                .ports
                .into_iter()
                .map(|p| PortApplied {
                    changed: p.before != p.after,
                    found: (!p.verified).then(|| describe(&p.after)),
                    verified: p.verified,
                    port: p.port,
                })
                .collect(),
        })
    }

    fn idle_linger(&self) -> Duration {
        self.linger
    }

    async fn release(&self, switch: &str) {
        let slot = self.kept.slot(switch);
        // the slot held until the connection is gone: the switch's next session waits for it
        let mut kept = slot.lock().await;
        if let Some(session) = kept.take() {
            session.close().await;
        }
    }

    /// Closes every kept session, each switch's once its batch in flight (if any) ended, waiting
    /// for one at most the command timeout: a batch still running later closes its own
    /// session, as nothing is kept any more.
    async fn close_sessions(&self) -> usize {
        self.kept.closed.store(true, Ordering::SeqCst);
        let mut closing = tokio::task::JoinSet::new();
        for slot in self.kept.all() {
            let wait = self.timeouts.command;
            closing.spawn(async move {
                let mut kept = tokio::time::timeout(wait, slot.lock()).await.ok()?;
                let session = kept.take()?;
                session.close().await;
                drop(kept);
                Some(())
            });
        }
        let mut closed = 0;
        while let Some(done) = closing.join_next().await {
            closed += usize::from(matches!(done, Ok(Some(()))));
        }
        closed
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::model::VlanId;

    #[test]
    fn targets_follow_quads_set_port_and_convert_port_public() {
        let t = |mode, v| PortTarget {
            mode,
            vlan: VlanId::new(v).unwrap(),
        };
        assert_eq!(
            switch_target(t(PortMode::Access, 1111)),
            SwitchTarget::QinQ { vlan: 1111 }
        );
        assert_eq!(
            switch_target(t(PortMode::QinQ, 1110)),
            SwitchTarget::QinQ { vlan: 1110 }
        );
        assert_eq!(
            switch_target(t(PortMode::Trunk, 1401)),
            SwitchTarget::Trunk {
                members: vec![1401],
                native: Some(1401)
            }
        );
    }

    /// The lab's first host's ports on sw01, to `vlan` and up.
    fn orders(lab: &testkit::Lab, vlan: i64) -> Vec<PortOrder> {
        let inventory = lab.inventory();
        let host = &inventory.hosts[0];
        host.interfaces
            .iter()
            .filter(|i| i.switch == "sw01")
            .zip(vlan..)
            .map(|(i, vlan)| PortOrder {
                port: i.switch_port.clone(),
                target: PortTarget {
                    mode: PortMode::Access,
                    vlan: VlanId::new(vlan).unwrap(),
                },
                old: None,
                host: crate::model::HostName::new(host.name.as_str()).unwrap(),
                interface: crate::model::InterfaceName::new(i.name.as_str()).unwrap(),
            })
            .collect()
    }

    async fn sessions_open_become(lab: &testkit::Lab, n: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while lab.metrics().switch("sw01").sessions_open != n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "sessions open not {n}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn a_session_serves_a_switch_batches_and_one_the_switch_dropped_is_replaced() {
        let lab = testkit::Lab::start(testkit::LabConfig {
            hosts: 2,
            ..testkit::LabConfig::default()
        })
        .await
        .unwrap();
        let inventory = lab.inventory();
        let (ip, port) = inventory.switches[0].address.rsplit_once(':').unwrap();
        let ports = JunosPorts::new(
            inventory.switches[0].username.clone(),
            Secret::new(inventory.switches[0].password.as_str()),
            KnownKeys::Insecure,
            port.parse().unwrap(),
        );
        for vlan in [1110, 1120] {
            let applied = ports.apply(ip, &orders(&lab, vlan)).await.unwrap();
            assert!(applied.committed && applied.ports.iter().all(|p| p.verified));
        }
        let counters = lab.metrics().switch("sw01");
        assert_eq!((counters.commits, counters.sessions_opened), (2, 1));
        assert_eq!(counters.sessions_open, 1, "kept for the next batch");
        // the switch drops it (an idle timeout): the next batch goes in a new session
        lab.shared().switches.hang_up();
        sessions_open_become(&lab, 0).await;
        let applied = ports.apply(ip, &orders(&lab, 1130)).await.unwrap();
        assert!(applied.committed && applied.ports.iter().all(|p| p.verified));
        let counters = lab.metrics().switch("sw01");
        assert_eq!((counters.commits, counters.sessions_opened), (3, 2));
        // released, and the run's end closes what is kept
        ports.release(ip).await;
        sessions_open_become(&lab, 0).await;
        ports.apply(ip, &orders(&lab, 1140)).await.unwrap();
        assert_eq!(ports.close_sessions().await, 1);
        sessions_open_become(&lab, 0).await;
        // nothing is kept after the end
        ports.apply(ip, &orders(&lab, 1150)).await.unwrap();
        sessions_open_become(&lab, 0).await;
        assert_eq!(lab.metrics().switch("sw01").peak_sessions, 1);
    }

    #[test]
    fn known_keys_are_read_by_switch_and_a_bad_line_is_named() {
        let keys =
            KnownKeys::parse("# lab\n127.1.0.1 SHA256:abc\n\n127.1.0.2 SHA256:def # b\n").unwrap();
        let KnownKeys::Fingerprints(map) = &keys else {
            panic!("{keys:?}")
        };
        assert_eq!(map["127.1.0.2"], "SHA256:def");
        let ports = JunosPorts::new("u".into(), Secret::new("pw"), keys, 2222);
        assert_eq!(ports.config("127.1.0.1").unwrap().address, "127.1.0.1:2222");
        let e = ports.config("127.1.0.9").unwrap_err();
        assert!(e.message.contains("127.1.0.9") && !e.is_retryable(), "{e}");
        assert!(
            KnownKeys::parse("127.1.0.1\n")
                .unwrap_err()
                .contains("line 1")
        );
    }
}
