//! [`SwitchPort`] over a site command (`[network] driver = "command"`), for switches of other
//! vendors or a site's own tooling: one run per switch batch, the batch as versioned JSON on
//! stdin ([`CommandBatch`], `"v": 1`; fields are only ever added).
//!
//! The command answers by its exit status: 0 every port is at its target (stdout may carry a
//! [`CommandAnswer`] JSON saying per port what changed and what it verified; without one the
//! command vouches for every port), 2 the switch refused the batch and applied nothing (the
//! executor tries smaller batches), 75 (`EX_TEMPFAIL`) a transient failure (retried), anything
//! else a failure. Its last lines of stderr go into the error.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::executor::ports::{
    BatchApplied, BatchError, PortApplied, PortError, PortOrder, SwitchPort,
};
use crate::hook::{HookError, HookSpec, OutputStream, run_switch_command};
use crate::limits::Limits;
use crate::network::PortTarget;

/// The version of [`CommandBatch`].
pub const COMMAND_BATCH_VERSION: u32 = 1;

/// Exit status: the switch refused the batch, nothing applied.
pub const EXIT_REFUSED: i32 = 2;
/// Exit status: a transient failure, try again later.
pub const EXIT_TEMPFAIL: i32 = 75;

/// A port's mode and VLAN as the command sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandTarget {
    /// `access`, `qinq` or `trunk` (the VLAN is then the native one and the only member).
    pub mode: String,
    /// The VLAN.
    pub vlan: u16,
}

impl From<PortTarget> for CommandTarget {
    fn from(t: PortTarget) -> Self {
        Self {
            mode: t.mode.as_str().to_owned(),
            vlan: t.vlan.get(),
        }
    }
}

/// One port of the batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandPort {
    /// The switch port.
    pub port: String,
    /// The host cabled to it.
    pub host: String,
    /// The host's interface.
    pub interface: String,
    /// Where QUADS expects it now (`null` when unknown).
    pub old: Option<CommandTarget>,
    /// Where it must be.
    pub new: CommandTarget,
}

/// The command's stdin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandBatch {
    /// [`COMMAND_BATCH_VERSION`].
    pub v: u32,
    /// The switch (the interfaces' `switch_ip`).
    pub switch: String,
    /// Every port of the batch.
    pub ports: Vec<CommandPort>,
}

/// What the command may print on stdout about each port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandAnswer {
    /// Per port.
    pub ports: Vec<CommandPortAnswer>,
}

/// One port's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandPortAnswer {
    /// The switch port.
    pub port: String,
    /// Whether it was reconfigured.
    #[serde(default = "yes")]
    pub changed: bool,
    /// Whether the command read it back at its target.
    #[serde(default = "yes")]
    pub verified: bool,
    /// What it found instead, when not verified.
    #[serde(default)]
    pub found: Option<String>,
}

fn yes() -> bool {
    true
}

/// The batch's JSON for the command.
#[must_use]
pub fn command_batch(switch: &str, batch: &[PortOrder]) -> CommandBatch {
    CommandBatch {
        v: COMMAND_BATCH_VERSION,
        switch: switch.to_owned(),
        ports: batch
            .iter()
            .map(|o| CommandPort {
                port: o.port.clone(),
                host: o.host.to_string(),
                interface: o.interface.to_string(),
                old: o.old.map(CommandTarget::from),
                new: o.target.into(),
            })
            .collect(),
    }
}

/// The batch's result from the command's stdout (`None`: no answer, the command vouches for
/// every port).
///
/// # Errors
/// A message when stdout is JSON but not a [`CommandAnswer`].
pub fn read_answer(batch: &[PortOrder], stdout: &str) -> Result<BatchApplied, String> {
    let stdout = stdout.trim();
    let answer: Option<CommandAnswer> = if stdout.starts_with('{') {
        Some(
            serde_json::from_str(stdout)
                .map_err(|e| format!("its answer on stdout is not the expected JSON: {e}"))?,
        )
    } else {
        None
    };
    let ports = batch
        .iter()
        .map(|o| match &answer {
            None => PortApplied {
                port: o.port.clone(),
                changed: true,
                verified: true,
                found: None,
            },
            Some(a) => a.ports.iter().find(|p| p.port == o.port).map_or_else(
                || PortApplied {
                    port: o.port.clone(),
                    changed: false,
                    verified: false,
                    found: Some("not in the command's answer".to_owned()),
                },
                |p| PortApplied {
                    port: p.port.clone(),
                    changed: p.changed,
                    verified: p.verified,
                    found: p.found.clone(),
                },
            ),
        })
        .collect::<Vec<_>>();
    Ok(BatchApplied {
        committed: ports.iter().any(|p| p.changed),
        ports,
    })
}

/// A site command per switch batch.
#[derive(Debug, Clone)]
pub struct CommandPorts {
    spec: HookSpec,
    limits: Limits,
    cancel: CancellationToken,
}

impl CommandPorts {
    /// Runs `command` with `args` (`{switch}` filled) under the run's hooks limit, at most
    /// `timeout` a batch; `cancel` kills a running command.
    #[must_use]
    pub fn new(
        command: &str,
        args: &[String],
        timeout: Duration,
        limits: Limits,
        cancel: CancellationToken,
    ) -> Self {
        let mut spec = HookSpec::new("switch-command", command, &[]);
        spec.args = args.to_vec();
        spec.timeout = timeout;
        Self {
            spec,
            limits,
            cancel,
        }
    }
}

#[async_trait]
impl SwitchPort for CommandPorts {
    async fn apply(&self, switch: &str, batch: &[PortOrder]) -> Result<BatchApplied, BatchError> {
        let input = serde_json::to_string(&command_batch(switch, batch))
            .map_err(|e| PortError::fatal(format!("switch {switch}: {e}")))?;
        let ports: Vec<&str> = batch.iter().map(|o| o.port.as_str()).collect();
        let ports = ports.join(", ");
        match run_switch_command(&self.spec, switch, input, &self.limits, &self.cancel).await {
            Ok(out) => {
                read_answer(batch, &out.text(OutputStream::Stdout).join("\n")).map_err(|e| {
                    PortError::fatal(format!(
                        "switch {switch}: `{}` for ports {ports}: {e}",
                        self.spec.command
                    ))
                    .into()
                })
            }
            Err(HookError::Failed { status, output, .. }) => {
                let said = output.text(OutputStream::Stderr);
                let said = said[said.len().saturating_sub(3)..].join(" / ");
                let message = format!(
                    "switch {switch}: `{}` for ports {ports} failed ({status}): {said}",
                    self.spec.command
                );
                Err(match status.code() {
                    Some(EXIT_REFUSED) => BatchError {
                        error: PortError::fatal(message),
                        refused_content: true,
                        login_refused: false,
                    },
                    Some(EXIT_TEMPFAIL) => PortError::retryable(message).into(),
                    _ => PortError::fatal(message).into(),
                })
            }
            Err(e @ HookError::Cancelled { .. }) => Err(PortError::cancelled(e.to_string()).into()),
            // a timeout leaves the batch's outcome unknown: the retry reads and decides
            Err(e @ HookError::TimedOut { .. }) => Err(PortError::retryable(e.to_string()).into()),
            Err(e) => Err(PortError::fatal(e.to_string()).into()),
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::limits::LimitsConfig;
    use crate::model::{HostName, InterfaceName, VlanId};
    use crate::network::PortMode;

    fn orders() -> Vec<PortOrder> {
        ["xe-0/0/1", "xe-0/0/2"]
            .iter()
            .enumerate()
            .map(|(i, p)| PortOrder {
                port: (*p).to_owned(),
                target: PortTarget {
                    mode: if i == 1 {
                        PortMode::Trunk
                    } else {
                        PortMode::Access
                    },
                    vlan: VlanId::new(1110 + i64::try_from(i).unwrap()).unwrap(),
                },
                old: None,
                host: HostName::new("h1.example.com").unwrap(),
                interface: InterfaceName::new(format!("em{}", i + 1)).unwrap(),
            })
            .collect()
    }

    fn driver(script: &str) -> CommandPorts {
        CommandPorts::new(
            "sh",
            &["-c".to_owned(), script.to_owned(), "{switch}".to_owned()],
            Duration::from_secs(30),
            Limits::new(&LimitsConfig::default()).unwrap(),
            CancellationToken::new(),
        )
    }

    #[test]
    fn the_batch_json_is_versioned_and_names_hosts_ports_and_vlans() {
        let json = serde_json::to_value(command_batch("10.0.0.1", &orders())).unwrap();
        assert_eq!(json["v"], 1);
        assert_eq!(json["switch"], "10.0.0.1");
        assert_eq!(json["ports"][1]["new"]["mode"], "trunk");
        assert_eq!(json["ports"][1]["new"]["vlan"], 1111);
        assert_eq!(json["ports"][0]["interface"], "em1");
        assert!(json["ports"][0]["old"].is_null());
    }

    #[tokio::test]
    async fn a_command_reads_the_batch_and_its_exit_status_decides() {
        // echoes what it was given into stderr, prints a per-port answer
        let ok = driver(
            r#"test "$0" = 10.0.0.1 && test "$QUADS_SWITCH" = 10.0.0.1 || exit 9
               grep -q '"port":"xe-0/0/2"' || exit 8
               echo '{"ports":[{"port":"xe-0/0/1","changed":false},{"port":"xe-0/0/2","verified":false,"found":"access 1100"}]}'"#,
        );
        let applied = ok.apply("10.0.0.1", &orders()).await.unwrap();
        assert!(!applied.ports[0].changed && applied.ports[0].verified);
        assert_eq!(applied.ports[1].found.as_deref(), Some("access 1100"));
        assert!(applied.committed);

        let silent = driver("cat >/dev/null");
        let applied = silent.apply("10.0.0.1", &orders()).await.unwrap();
        assert!(applied.ports.iter().all(|p| p.verified && p.changed));

        let refused = driver("echo 'commit failed: vlan 1111 unknown' >&2; exit 2");
        let e = refused.apply("10.0.0.1", &orders()).await.unwrap_err();
        assert!(e.refused_content && !e.error.is_retryable());
        assert!(e.error.message.contains("vlan 1111 unknown"), "{e:?}");
        assert!(e.error.message.contains("xe-0/0/1, xe-0/0/2"), "{e:?}");

        let busy = driver("exit 75");
        let e = busy.apply("10.0.0.1", &orders()).await.unwrap_err();
        assert!(!e.refused_content && e.error.is_retryable());

        let garbled = driver("echo '{not json'");
        let e = garbled.apply("10.0.0.1", &orders()).await.unwrap_err();
        assert!(e.error.message.contains("not the expected JSON"), "{e:?}");
    }
}
