//! What the schedule leaves free, pure over a store [`Snapshot`]: hosts free for a time range
//! (QUADS's `--ls-available`), clouds free to take a new assignment (`--find-free-cloud`), and
//! what each cloud holds now (`--summary`).

use std::collections::BTreeMap;

use crate::model::{Cloud, CloudName, Host, HostState};
use crate::store::Snapshot;
use crate::time::Timestamp;

/// Active hosts no schedule holds at any moment of `[from, to)`, of `model` when given, by name.
#[must_use]
pub fn available_hosts<'a>(
    snapshot: &'a Snapshot,
    from: Timestamp,
    to: Timestamp,
    model: Option<&str>,
) -> Vec<&'a Host> {
    snapshot
        .hosts
        .iter()
        .filter(|h| h.state == HostState::Active)
        .filter(|h| model.is_none_or(|m| h.model.as_deref() == Some(m)))
        .filter(|h| {
            !snapshot
                .schedules
                .iter()
                .any(|s| s.host == h.name && s.range.start() < to && from < s.range.end())
        })
        .collect()
}

/// Clouds other than `spare` that hold no host now and have no schedule running at `at` or to
/// come: free for a new assignment, by name.
#[must_use]
pub fn free_clouds<'a>(snapshot: &'a Snapshot, at: Timestamp, spare: &str) -> Vec<&'a Cloud> {
    snapshot
        .clouds
        .iter()
        .filter(|c| c.name.as_str() != spare)
        .filter(|c| !snapshot.hosts.iter().any(|h| h.current_cloud == c.name))
        .filter(|c| {
            !snapshot.schedules.iter().any(|s| {
                s.range.end() > at
                    && snapshot
                        .assignments
                        .iter()
                        .any(|a| a.id == s.assignment && a.spec.cloud == c.name)
            })
        })
        .collect()
}

/// What one cloud holds at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudSummary {
    /// The cloud.
    pub cloud: CloudName,
    /// Hosts in it now (the store's current cloud).
    pub hosts: usize,
    /// Hosts the schedule puts in it at the time.
    pub scheduled: usize,
    /// The running assignment's owner and ticket (the latest one holding a host at the time).
    pub owner: Option<String>,
    /// Its ticket.
    pub ticket: Option<String>,
    /// When its last running schedule ends.
    pub ends: Option<Timestamp>,
    /// Whole days from the time to `ends`.
    pub days_left: Option<i64>,
}

/// Every cloud's summary at `at`, by name.
#[must_use]
pub fn cloud_summary(snapshot: &Snapshot, at: Timestamp) -> Vec<CloudSummary> {
    let mut now_in: BTreeMap<&CloudName, usize> = BTreeMap::new();
    for h in &snapshot.hosts {
        *now_in.entry(&h.current_cloud).or_default() += 1;
    }
    snapshot
        .clouds
        .iter()
        .map(|c| {
            let running: Vec<_> = snapshot
                .schedules
                .iter()
                .filter(|s| s.range.contains(at))
                .filter_map(|s| {
                    snapshot
                        .assignments
                        .iter()
                        .find(|a| a.id == s.assignment && a.spec.cloud == c.name)
                        .map(|a| (s, a))
                })
                .collect();
            let latest = running.iter().map(|(_, a)| *a).max_by_key(|a| a.id);
            let ends = running.iter().map(|(s, _)| s.range.end()).max();
            CloudSummary {
                cloud: c.name.clone(),
                hosts: now_in.get(&c.name).copied().unwrap_or(0),
                scheduled: running.len(),
                owner: latest.map(|a| a.spec.owner.clone()),
                ticket: latest.map(|a| a.spec.ticket.clone()),
                ends,
                days_left: ends.map(|e| (e.unix_millis() - at.unix_millis()) / 86_400_000),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::model::{
        Assignment, AssignmentId, AssignmentSpec, BootType, CloudStatus, HostName, QinQ, Schedule,
        ScheduleId, TimeRange, Wipe,
    };

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn snapshot() -> Snapshot {
        let cloud = |n: &str| Cloud {
            name: CloudName::new(n).unwrap(),
            description: String::new(),
            status: CloudStatus::Pending,
        };
        let host = |n: &str, model: &str, at: &str, state| Host {
            name: HostName::new(n).unwrap(),
            bmc_address: format!("mgmt-{n}"),
            model: Some(model.into()),
            host_type: None,
            default_cloud: CloudName::new("cloud01").unwrap(),
            current_cloud: CloudName::new(at).unwrap(),
            state,
        };
        let assignment = |id, c: &str, ticket: &str| Assignment {
            id: AssignmentId(id),
            spec: AssignmentSpec {
                cloud: CloudName::new(c).unwrap(),
                ticket: ticket.into(),
                owner: format!("owner-{ticket}"),
                description: String::new(),
                wipe: Wipe::Yes,
                os: None,
                partition_table: None,
                medium: None,
                boot_type: BootType::Uefi,
                qinq: QinQ::Separated,
                public_vlan: None,
            },
        };
        let schedule = |id, h: &str, a, from: &str, to: &str| Schedule {
            id: ScheduleId(id),
            host: HostName::new(h).unwrap(),
            assignment: AssignmentId(a),
            range: TimeRange::new(t(from), t(to)).unwrap(),
            build_start: None,
            build_end: None,
        };
        Snapshot {
            hosts: vec![
                host("a", "r640", "cloud02", HostState::Active),
                host("b", "r640", "cloud01", HostState::Active),
                host("c", "r650", "cloud01", HostState::Active),
                host("d", "r640", "cloud01", HostState::Broken),
            ],
            clouds: ["cloud01", "cloud02", "cloud03", "cloud04"]
                .map(cloud)
                .to_vec(),
            assignments: vec![
                assignment(1, "cloud02", "11"),
                assignment(2, "cloud03", "12"),
            ],
            schedules: vec![
                schedule(1, "a", 1, "2025-01-01", "2025-01-31"),
                schedule(2, "b", 2, "2025-02-10", "2025-02-20"),
            ],
            interfaces: Vec::new(),
        }
    }

    #[test]
    fn available_hosts_are_active_and_unscheduled_over_the_whole_range() {
        let s = snapshot();
        let names = |v: Vec<&Host>| v.iter().map(|h| h.name.to_string()).collect::<Vec<_>>();
        assert_eq!(
            names(available_hosts(&s, t("2025-01-15"), t("2025-02-01"), None)),
            ["b", "c"]
        );
        assert_eq!(
            names(available_hosts(&s, t("2025-02-01"), t("2025-02-11"), None)),
            ["a", "c"]
        );
        assert_eq!(
            names(available_hosts(
                &s,
                t("2025-02-01"),
                t("2025-02-10"),
                Some("r640")
            )),
            ["a", "b"]
        );
    }

    #[test]
    fn free_clouds_hold_no_host_and_nothing_to_come() {
        let s = snapshot();
        let names = |v: Vec<&Cloud>| v.iter().map(|c| c.name.to_string()).collect::<Vec<_>>();
        assert_eq!(
            names(free_clouds(&s, t("2025-01-15"), "cloud01")),
            ["cloud04"]
        );
        assert_eq!(
            names(free_clouds(&s, t("2025-03-01"), "cloud01")),
            ["cloud03", "cloud04"]
        );
    }

    #[test]
    fn a_summary_says_who_holds_each_cloud_and_for_how_long() {
        let s = snapshot();
        let sum = cloud_summary(&s, t("2025-01-15"));
        let c2 = sum.iter().find(|c| c.cloud.as_str() == "cloud02").unwrap();
        assert_eq!((c2.hosts, c2.scheduled), (1, 1));
        assert_eq!(
            (c2.owner.as_deref(), c2.ticket.as_deref(), c2.days_left),
            (Some("owner-11"), Some("11"), Some(16))
        );
        let c1 = sum.iter().find(|c| c.cloud.as_str() == "cloud01").unwrap();
        assert_eq!((c1.hosts, c1.owner.as_ref()), (3, None));
    }
}
