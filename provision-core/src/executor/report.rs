//! What a run reports: per-host results (step, attempts, error, duration) and the run summary,
//! as versioned serde types for `--format json`. No secret ever reaches them: errors are the
//! ports' messages, which carry none.

use serde::{Deserialize, Serialize};

use super::validate::{CloudEvent, CloudValidation};
use crate::limits::LimitsReport;

/// The version of [`RunReport`]'s JSON.
pub const REPORT_VERSION: u32 = 1;

/// How one host's move ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostStatus {
    /// Moved (and rebuilt, for a wipe); its recorded cloud changed.
    Moved,
    /// A step failed; the host stays recorded in its old cloud and the next run retries it.
    Failed,
    /// Stopped by Ctrl-C or SIGTERM; `--resume` (or a new run) continues it.
    Interrupted,
}

/// One step as a host went through it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// The step (journal word).
    pub step: String,
    /// `verified`, `already-done`, `done-before` (journaled done by an earlier run), `failed`
    /// or `cancelled`.
    pub outcome: String,
    /// Attempts made.
    pub attempts: u32,
    /// Seconds spent.
    pub seconds: f64,
}

/// One host's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostReport {
    /// The host.
    pub host: String,
    /// The cloud it was in.
    pub from: String,
    /// The cloud it moves to.
    pub to: String,
    /// Whether it was rebuilt.
    pub wipe: bool,
    /// How it ended.
    pub status: HostStatus,
    /// The step that failed or was stopped.
    pub failed_step: Option<String>,
    /// Attempts of that step (or of the last step run).
    pub attempts: u32,
    /// What went wrong.
    pub error: Option<String>,
    /// Seconds from its start to its end.
    pub seconds: f64,
    /// Every step it went through.
    pub steps: Vec<StepReport>,
}

/// Counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    /// Hosts planned.
    pub planned: usize,
    /// Moved.
    pub moved: usize,
    /// Failed.
    pub failed: usize,
    /// Interrupted.
    pub interrupted: usize,
}

/// A whole run, as `quads move-hosts --format json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// [`REPORT_VERSION`].
    pub version: u32,
    /// The run's id in the store (0 when not run against a store).
    pub run: i64,
    /// The schedule time planned for.
    pub target_time: String,
    /// Whether a stop was requested (Ctrl-C, SIGTERM).
    pub interrupted: bool,
    /// Counts.
    pub counts: RunCounts,
    /// Clouds all of whose hosts are now in place.
    pub provisioned_clouds: Vec<String>,
    /// Clouds whose tenant is out and whose Foreman user was retired by this run.
    #[serde(default)]
    pub retired_clouds: Vec<String>,
    /// Worker mode: the QUADS server's cloud-level writes that failed (the hosts' own are in
    /// their results); absent when none did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub write_back_errors: Vec<String>,
    /// The validation of each cloud this run provisioned (absent when none was validated).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validations: Vec<CloudValidation>,
    /// What happened to clouds, one event each (`cloud-validated`, `validation-failed`), for
    /// whoever is told (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<CloudEvent>,
    /// The notifications sent after the run (absent when none is configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifications: Option<crate::notify::NotifyReport>,
    /// BMC sessions the run could not close by its end (`bmc path` each; the next run closes
    /// them); absent when none is left.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bmc_sessions_open: Vec<String>,
    /// Per host, by host name.
    pub hosts: Vec<HostReport>,
    /// Foreman install-poll queries made.
    pub install_polls: u64,
    /// Seconds from the start to the end.
    pub seconds: f64,
    /// What every limit did.
    pub limits: LimitsReport,
}

impl RunReport {
    /// Counts the results.
    #[must_use]
    pub fn count(hosts: &[HostReport]) -> RunCounts {
        let mut counts = RunCounts {
            planned: hosts.len(),
            ..RunCounts::default()
        };
        for h in hosts {
            match h.status {
                HostStatus::Moved => counts.moved += 1,
                HostStatus::Failed => counts.failed += 1,
                HostStatus::Interrupted => counts.interrupted += 1,
            }
        }
        counts
    }

    /// Whether every planned host moved.
    #[must_use]
    pub fn all_moved(&self) -> bool {
        self.counts.moved == self.counts.planned
    }

    /// Whether every cloud validated by the run passed (true when none was).
    #[must_use]
    pub fn all_validated(&self) -> bool {
        self.validations.iter().all(|v| v.passed)
    }
}
