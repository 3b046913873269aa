//! The events worth telling (pure): from a run's report (cloud provisioned, validated, failed)
//! and from the schedule (a cloud's schedules ending within N days). Each has an identity that
//! names what happened, not when it was noticed, so noticing it again queues nothing new.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::executor::{CloudValidation, HostReport, HostStatus, RunReport};
use crate::model::Assignment;
use crate::store::Snapshot;
use crate::time::Timestamp;

/// Something that happened to a cloud, as sent (its JSON is the stored payload and the webhook
/// body's fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// Every host of the cloud is in place.
    CloudProvisioned {
        /// The cloud.
        cloud: String,
        /// Its assignment's ticket.
        ticket: String,
        /// Its owner.
        owner: String,
        /// Its hosts.
        hosts: Vec<String>,
    },
    /// Every check of the tenant passed: the cloud is ready.
    CloudValidated {
        /// The cloud.
        cloud: String,
        /// Its assignment's ticket.
        ticket: String,
        /// Its owner.
        owner: String,
    },
    /// Hosts failed to move or failed the tenant's checks (or the isolation check did).
    CloudFailed {
        /// The cloud.
        cloud: String,
        /// Its assignment's ticket.
        ticket: String,
        /// Its owner.
        owner: String,
        /// The hosts that failed, by name.
        hosts: Vec<String>,
        /// What failed, one line each.
        reasons: Vec<String>,
    },
    /// The cloud's schedules end within `days` days.
    ScheduleEnding {
        /// The cloud.
        cloud: String,
        /// Its assignment's ticket.
        ticket: String,
        /// Its owner.
        owner: String,
        /// When they end.
        ends_at: String,
        /// The notice given (one of `days_before`).
        days: u32,
        /// The hosts whose schedules end then.
        hosts: Vec<String>,
    },
}

impl Event {
    /// The event's identity: the same happening gives the same identity on every run.
    #[must_use]
    pub fn id(&self) -> String {
        match self {
            Self::CloudProvisioned { cloud, ticket, .. } => {
                format!("cloud-provisioned:{cloud}:{ticket}")
            }
            Self::CloudValidated { cloud, ticket, .. } => {
                format!("cloud-validated:{cloud}:{ticket}")
            }
            Self::CloudFailed {
                cloud,
                ticket,
                hosts,
                ..
            } => format!("cloud-failed:{cloud}:{ticket}:{}", hosts.join(",")),
            Self::ScheduleEnding {
                cloud,
                ticket,
                ends_at,
                days,
                ..
            } => format!("schedule-ending:{cloud}:{ticket}:{ends_at}:{days}d"),
        }
    }

    /// The kind, as in the JSON's `event` field.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::CloudProvisioned { .. } => "cloud-provisioned",
            Self::CloudValidated { .. } => "cloud-validated",
            Self::CloudFailed { .. } => "cloud-failed",
            Self::ScheduleEnding { .. } => "schedule-ending",
        }
    }

    /// The cloud it is about.
    #[must_use]
    pub fn cloud(&self) -> &str {
        match self {
            Self::CloudProvisioned { cloud, .. }
            | Self::CloudValidated { cloud, .. }
            | Self::CloudFailed { cloud, .. }
            | Self::ScheduleEnding { cloud, .. } => cloud,
        }
    }

    /// A one-line summary (an email's subject).
    #[must_use]
    pub fn subject(&self) -> String {
        match self {
            Self::CloudProvisioned { cloud, ticket, .. } => {
                format!("[quads] {cloud} ({ticket}) provisioned")
            }
            Self::CloudValidated { cloud, ticket, .. } => {
                format!("[quads] {cloud} ({ticket}) validated: ready for use")
            }
            Self::CloudFailed {
                cloud,
                ticket,
                hosts,
                ..
            } => format!(
                "[quads] {cloud} ({ticket}) FAILED: {} host(s) need attention",
                hosts.len()
            ),
            Self::ScheduleEnding {
                cloud,
                ticket,
                days,
                ..
            } => format!("[quads] {cloud} ({ticket}) ends in {days} day(s)"),
        }
    }

    /// The text of an email.
    #[must_use]
    pub fn text(&self) -> String {
        let mut out = format!("{}\n\n", self.subject());
        match self {
            Self::CloudProvisioned { owner, hosts, .. } => {
                out.push_str(&format!("owner: {owner}\nhosts ({}):\n", hosts.len()));
                for h in hosts {
                    out.push_str(&format!("  {h}\n"));
                }
            }
            Self::CloudValidated { owner, .. } => {
                out.push_str(&format!(
                    "owner: {owner}\nevery host passed the tenant's checks.\n"
                ));
            }
            Self::CloudFailed { owner, reasons, .. } => {
                out.push_str(&format!("owner: {owner}\n"));
                for r in reasons {
                    out.push_str(&format!("  {r}\n"));
                }
            }
            Self::ScheduleEnding {
                owner,
                ends_at,
                hosts,
                ..
            } => {
                out.push_str(&format!(
                    "owner: {owner}\nends at: {ends_at}\nhosts ({}):\n",
                    hosts.len()
                ));
                for h in hosts {
                    out.push_str(&format!("  {h}\n"));
                }
            }
        }
        out.push_str(&format!("\nevent: {}\n", self.id()));
        out
    }
}

/// The assignment holding `cloud` at `at`: the one a schedule running then belongs to, else the
/// cloud's newest. `None` for a cloud no assignment holds (the spare pool).
fn holding<'a>(snapshot: &'a Snapshot, cloud: &str, at: Timestamp) -> Option<&'a Assignment> {
    let of_cloud = |a: &&Assignment| a.spec.cloud.as_str() == cloud;
    snapshot
        .schedules
        .iter()
        .filter(|s| s.range.contains(at))
        .filter_map(|s| snapshot.assignments.iter().find(|a| a.id == s.assignment))
        .find(of_cloud)
        .or_else(|| snapshot.assignments.iter().rev().find(of_cloud))
}

/// The events of a run: each cloud it provisioned, each cloud's validation, and each cloud some
/// of whose hosts failed to move or to validate (one event per cloud, its hosts merged). Clouds
/// no assignment holds (the spare pool) tell nobody.
#[must_use]
pub fn run_events(report: &RunReport, snapshot: &Snapshot, at: Timestamp) -> Vec<Event> {
    events_of(
        &report.provisioned_clouds,
        &report.hosts,
        &report.validations,
        snapshot,
        at,
    )
}

/// The events of an on-demand validation (`quads validate`): each cloud validated, each cloud
/// some of whose hosts (or whose isolation check) failed.
#[must_use]
pub fn validation_events(
    validations: &[CloudValidation],
    snapshot: &Snapshot,
    at: Timestamp,
) -> Vec<Event> {
    events_of(&[], &[], validations, snapshot, at)
}

fn events_of(
    provisioned: &[String],
    hosts: &[HostReport],
    validations: &[CloudValidation],
    snapshot: &Snapshot,
    at: Timestamp,
) -> Vec<Event> {
    let mut events = Vec::new();
    let who = |cloud: &str| holding(snapshot, cloud, at).map(|a| &a.spec);
    for cloud in provisioned {
        let Some(a) = who(cloud) else { continue };
        let hosts = snapshot
            .hosts
            .iter()
            .filter(|h| h.current_cloud.as_str() == cloud)
            .map(|h| h.name.to_string())
            .collect();
        events.push(Event::CloudProvisioned {
            cloud: cloud.clone(),
            ticket: a.ticket.clone(),
            owner: a.owner.clone(),
            hosts,
        });
    }
    let mut failed: BTreeMap<String, (BTreeSet<String>, Vec<String>)> = BTreeMap::new();
    for h in hosts.iter().filter(|h| h.status == HostStatus::Failed) {
        let entry = failed.entry(h.to.clone()).or_default();
        entry.0.insert(h.host.clone());
        entry.1.push(format!(
            "{}: move failed at {}: {}",
            h.host,
            h.failed_step.as_deref().unwrap_or("?"),
            h.error.as_deref().unwrap_or("unknown error")
        ));
    }
    for v in validations {
        if v.passed {
            if let Some(a) = who(&v.cloud) {
                events.push(Event::CloudValidated {
                    cloud: v.cloud.clone(),
                    ticket: v.ticket.clone(),
                    owner: a.owner.clone(),
                });
            }
            continue;
        }
        let entry = failed.entry(v.cloud.clone()).or_default();
        for h in v.hosts.iter().filter(|h| !h.passed) {
            entry.0.insert(h.host.clone());
            entry.1.push(format!(
                "{}: validation failed{}: {}",
                h.host,
                if h.rekicked { " after a re-kick" } else { "" },
                h.problems.join("; ")
            ));
        }
        for i in &v.isolation {
            entry.1.push(format!("isolation: {i}"));
        }
    }
    for (cloud, (hosts, reasons)) in failed {
        let Some(a) = who(&cloud) else { continue };
        events.push(Event::CloudFailed {
            cloud,
            ticket: a.ticket.clone(),
            owner: a.owner.clone(),
            hosts: hosts.into_iter().collect(),
            reasons,
        });
    }
    events
}

const DAY: Duration = Duration::from_secs(86_400);

/// Per assignment and end time of its schedules running at `now`: one event when they end within
/// the largest of `days_before`, with the smallest notice that still covers the time left (a
/// schedule 5 days from its end gets the 7-day notice; at 20 hours, the 1-day one). An extended
/// schedule ends at a new time: its notices are new events.
#[must_use]
pub fn schedules_ending(snapshot: &Snapshot, now: Timestamp, days_before: &[u32]) -> Vec<Event> {
    let mut ending: BTreeMap<(i64, String), (Timestamp, Vec<String>)> = BTreeMap::new();
    for s in snapshot.schedules.iter().filter(|s| s.range.contains(now)) {
        ending
            .entry((s.assignment.0, s.range.end().to_string()))
            .or_insert_with(|| (s.range.end(), Vec::new()))
            .1
            .push(s.host.to_string());
    }
    let mut days: Vec<u32> = days_before.to_vec();
    days.sort_unstable();
    let mut events = Vec::new();
    for ((assignment, ends_at), (end, mut hosts)) in ending {
        let Some(a) = snapshot.assignments.iter().find(|a| a.id.0 == assignment) else {
            continue;
        };
        let left = end.unix_millis() - now.unix_millis();
        let Some(notice) = days.iter().copied().find(|d| {
            let window = DAY.saturating_mul(*d);
            i128::from(left) <= i128::try_from(window.as_millis()).unwrap_or(i128::MAX)
        }) else {
            continue;
        };
        hosts.sort();
        events.push(Event::ScheduleEnding {
            cloud: a.spec.cloud.to_string(),
            ticket: a.spec.ticket.clone(),
            owner: a.spec.owner.clone(),
            ends_at,
            days: notice,
            hosts,
        });
    }
    events
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::executor::{CloudValidation, HostReport, HostValidation, RunCounts};
    use crate::limits::{Limits, LimitsConfig};
    use crate::model::{AssignmentId, AssignmentSpec, BootType, CloudName, QinQ, Wipe};

    fn failed_host(host: &str, to: &str) -> HostReport {
        HostReport {
            host: host.into(),
            from: "cloud01".into(),
            to: to.into(),
            wipe: true,
            status: HostStatus::Failed,
            failed_step: Some("install".into()),
            attempts: 1,
            error: Some("install timed out".into()),
            seconds: 1.0,
            steps: Vec::new(),
        }
    }

    #[test]
    fn move_and_validation_failures_of_a_cloud_are_one_event_and_the_spare_pool_tells_nobody() {
        let snapshot = Snapshot {
            assignments: vec![Assignment {
                id: AssignmentId(1),
                spec: AssignmentSpec {
                    cloud: CloudName::new("cloud02").unwrap(),
                    ticket: "1234".into(),
                    owner: "alice".into(),
                    description: String::new(),
                    wipe: Wipe::Yes,
                    os: None,
                    partition_table: None,
                    medium: None,
                    boot_type: BootType::Uefi,
                    qinq: QinQ::Separated,
                    public_vlan: None,
                },
            }],
            ..Snapshot::default()
        };
        let report = RunReport {
            version: 1,
            run: 1,
            target_time: "2025-01-02T00:00:00Z".into(),
            interrupted: false,
            counts: RunCounts::default(),
            provisioned_clouds: Vec::new(),
            retired_clouds: Vec::new(),
            write_back_errors: Vec::new(),
            validations: vec![CloudValidation {
                cloud: "cloud02".into(),
                ticket: "1234".into(),
                passed: false,
                hosts: vec![HostValidation {
                    host: "b".into(),
                    passed: false,
                    rekicked: true,
                    problems: vec!["port 22 closed".into()],
                }],
                isolation: Vec::new(),
            }],
            events: Vec::new(),
            notifications: None,
            bmc_sessions_open: Vec::new(),
            hosts: vec![failed_host("a", "cloud02"), failed_host("c", "cloud01")],
            install_polls: 0,
            seconds: 1.0,
            limits: Limits::new(&LimitsConfig::default()).unwrap().report(),
        };
        let events = run_events(&report, &snapshot, "2025-01-02".parse().unwrap());
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].id(), "cloud-failed:cloud02:1234:a,b");
        let Event::CloudFailed { reasons, owner, .. } = &events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(owner, "alice");
        assert!(
            reasons[0].contains("a: move failed at install"),
            "{reasons:?}"
        );
        assert!(
            reasons[1].contains("b: validation failed after a re-kick"),
            "{reasons:?}"
        );
    }
}
