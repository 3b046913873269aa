//! [`SwitchPort`] over `switch-client`: one SSH session per batch, the batch's ports read,
//! changed in one commit and read back. QUADS's port grammar: an access port of a cloud is put
//! in its VLAN's `QinQ_vl<N>` group (`set_port`, in both QinQ modes), the public VLAN's port
//! is a trunk with that VLAN as member and native VLAN (`convert_port_public`).

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use switch_client::{
    HostKeyCheck, JunosSwitch, PortChange, PortConfig, PortTarget as SwitchTarget, SwitchConfig,
    Timeouts,
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

/// Junos switches over SSH.
#[derive(Debug, Clone)]
pub struct JunosPorts {
    username: String,
    password: Secret,
    keys: KnownKeys,
    ssh_port: u16,
    timeouts: Timeouts,
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
        }
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
        let mut session = JunosSwitch::connect(&config)
            .await
            .map_err(|e| batch_error(&e))?;
        let result = session.apply(&changes).await;
        session.close().await;
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
