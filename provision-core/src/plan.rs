//! The planner: which hosts must move at time T, pure and without IO. A host belongs in the cloud
//! of the assignment whose schedule holds it at T (start inclusive, end exclusive), or in its
//! default cloud when none does; it moves when that differs from its current cloud.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::model::{
    Assignment, AssignmentId, Cloud, CloudName, Host, HostName, HostState, Schedule, ScheduleId,
    Wipe,
};
use crate::time::Timestamp;

/// What the planner looks at.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    /// Every host.
    pub hosts: &'a [Host],
    /// Every cloud (a target cloud missing here is refused).
    pub clouds: &'a [Cloud],
    /// Every assignment.
    pub assignments: &'a [Assignment],
    /// Every schedule.
    pub schedules: &'a [Schedule],
    /// The instant to plan for.
    pub at: Timestamp,
    /// Only moves into this cloud, when given.
    pub cloud: Option<&'a CloudName>,
    /// Hosts never moved (from the configuration).
    pub untouchable: &'a BTreeSet<HostName>,
}

/// One host to move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// The host.
    pub host: HostName,
    /// The cloud it is in.
    pub from: CloudName,
    /// The cloud it belongs in at T.
    pub to: CloudName,
    /// Whether it is rebuilt on the way.
    pub wipe: Wipe,
    /// The assignment it moves for (none for a return to its default cloud).
    pub assignment: Option<AssignmentId>,
    /// The schedule it moves for (none for a return to its default cloud).
    pub schedule: Option<ScheduleId>,
}

/// Why a host that is not where it belongs is left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// The configuration says never to move it.
    Untouchable,
    /// It is marked broken.
    Broken,
    /// It is retired.
    Retired,
    /// More than one schedule holds it at T (the store refuses overlaps; this guards imports of
    /// bad data): moving it either way would be a guess.
    ConflictingSchedules(Vec<ScheduleId>),
    /// Its schedule names an assignment that does not exist.
    MissingAssignment(AssignmentId),
    /// The cloud it belongs in does not exist.
    UnknownCloud(CloudName),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Untouchable => f.write_str("untouchable (configuration)"),
            Self::Broken => f.write_str("host is broken"),
            Self::Retired => f.write_str("host is retired"),
            Self::ConflictingSchedules(ids) => {
                f.write_str("conflicting schedules")?;
                for (i, id) in ids.iter().enumerate() {
                    write!(f, "{}{id}", if i == 0 { " " } else { ", " })?;
                }
                Ok(())
            }
            Self::MissingAssignment(id) => write!(f, "schedule names missing assignment {id}"),
            Self::UnknownCloud(c) => write!(f, "target cloud {c} does not exist"),
        }
    }
}

/// A host left alone, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The host.
    pub host: HostName,
    /// The cloud it is in.
    pub from: CloudName,
    /// The cloud it would move to, when that is known.
    pub to: Option<CloudName>,
    /// Why it stays.
    pub reason: SkipReason,
}

/// The moves that make reality follow the schedule at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovePlan {
    /// The instant planned for.
    pub at: Timestamp,
    /// Hosts to move, by host name.
    pub moves: Vec<Move>,
    /// Hosts that should move but will not, by host name.
    pub skipped: Vec<Skipped>,
    /// Hosts (within the cloud filter) already where they belong.
    pub in_place: usize,
}

impl MovePlan {
    /// Whether there is nothing to do.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.moves.is_empty()
    }

    /// The distinct clouds hosts move into.
    #[must_use]
    pub fn target_clouds(&self) -> BTreeSet<&CloudName> {
        self.moves.iter().map(|m| &m.to).collect()
    }
}

/// Where one host belongs at T.
enum Placement<'a> {
    Default,
    Scheduled(&'a Schedule, &'a Assignment),
    Refused(SkipReason, Vec<&'a CloudName>),
}

/// The newest assignment of `cloud` (the highest id).
#[must_use]
pub fn last_assignment<'a>(
    cloud: &CloudName,
    assignments: &'a [Assignment],
) -> Option<&'a Assignment> {
    assignments
        .iter()
        .filter(|a| a.spec.cloud == *cloud)
        .max_by_key(|a| a.id)
}

/// The clouds with an assignment that holds a host at `at`: their tenants are in. Any other
/// cloud's tenant is out, and its Foreman user must not log in.
#[must_use]
pub fn active_clouds(
    at: Timestamp,
    assignments: &[Assignment],
    schedules: &[Schedule],
) -> BTreeSet<CloudName> {
    let held: BTreeSet<AssignmentId> = schedules
        .iter()
        .filter(|s| s.range.contains(at))
        .map(|s| s.assignment)
        .collect();
    assignments
        .iter()
        .filter(|a| held.contains(&a.id))
        .map(|a| a.spec.cloud.clone())
        .collect()
}

/// Plans the moves at `input.at`. Pure: the same input gives the same plan.
///
/// ```no_run
/// use std::collections::BTreeSet;
///
/// use provision_core::{Clock as _, PlanInput, Store, SystemClock, plan};
///
/// # async fn example(store: Store) -> Result<(), provision_core::StoreError> {
/// let snapshot = store.snapshot().await?;
/// let plan = plan(&PlanInput {
///     hosts: &snapshot.hosts,
///     clouds: &snapshot.clouds,
///     assignments: &snapshot.assignments,
///     schedules: &snapshot.schedules,
///     at: SystemClock.now(),
///     cloud: None,
///     untouchable: &BTreeSet::new(),
/// });
/// for m in &plan.moves {
///     println!("{} {} -> {}", m.host, m.from, m.to);
/// }
/// # Ok(()) }
/// ```
#[must_use]
pub fn plan(input: &PlanInput<'_>) -> MovePlan {
    let assignments: BTreeMap<AssignmentId, &Assignment> =
        input.assignments.iter().map(|a| (a.id, a)).collect();
    let clouds: BTreeSet<&CloudName> = input.clouds.iter().map(|c| &c.name).collect();
    let mut holding: BTreeMap<&HostName, Vec<&Schedule>> = BTreeMap::new();
    for s in input
        .schedules
        .iter()
        .filter(|s| s.range.contains(input.at))
    {
        holding.entry(&s.host).or_default().push(s);
    }

    let mut hosts: Vec<&Host> = input.hosts.iter().collect();
    hosts.sort_by(|a, b| a.name.cmp(&b.name));

    let mut out = MovePlan {
        at: input.at,
        moves: Vec::new(),
        skipped: Vec::new(),
        in_place: 0,
    };
    for host in hosts {
        let placement = match holding.get(&host.name).map(Vec::as_slice) {
            None | Some([]) => Placement::Default,
            Some([one]) => match assignments.get(&one.assignment) {
                Some(a) => Placement::Scheduled(one, a),
                None => Placement::Refused(SkipReason::MissingAssignment(one.assignment), vec![]),
            },
            Some(many) => {
                let mut ids: Vec<ScheduleId> = many.iter().map(|s| s.id).collect();
                ids.sort();
                let candidates = many
                    .iter()
                    .filter_map(|s| assignments.get(&s.assignment))
                    .map(|a| &a.spec.cloud)
                    .collect();
                Placement::Refused(SkipReason::ConflictingSchedules(ids), candidates)
            }
        };
        let (to, wipe, assignment, schedule) = match placement {
            Placement::Default => (&host.default_cloud, Wipe::No, None, None),
            Placement::Scheduled(s, a) => (&a.spec.cloud, a.spec.wipe, Some(a.id), Some(s.id)),
            Placement::Refused(reason, candidates) => {
                let in_scope = match input.cloud {
                    None => true,
                    Some(c) => candidates.is_empty() || candidates.contains(&c),
                };
                if in_scope {
                    out.skipped.push(Skipped {
                        host: host.name.clone(),
                        from: host.current_cloud.clone(),
                        to: None,
                        reason,
                    });
                }
                continue;
            }
        };
        if input.cloud.is_some_and(|c| c != to) {
            continue;
        }
        if *to == host.current_cloud {
            out.in_place += 1;
            continue;
        }
        let reason = if input.untouchable.contains(&host.name) {
            Some(SkipReason::Untouchable)
        } else if !clouds.contains(to) {
            Some(SkipReason::UnknownCloud(to.clone()))
        } else {
            match host.state {
                HostState::Active => None,
                HostState::Broken => Some(SkipReason::Broken),
                HostState::Retired => Some(SkipReason::Retired),
            }
        };
        match reason {
            Some(reason) => out.skipped.push(Skipped {
                host: host.name.clone(),
                from: host.current_cloud.clone(),
                to: Some(to.clone()),
                reason,
            }),
            None => out.moves.push(Move {
                host: host.name.clone(),
                from: host.current_cloud.clone(),
                to: to.clone(),
                wipe,
                assignment,
                schedule,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::model::{AssignmentSpec, BootType, CloudStatus, TimeRange};

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }
    fn c(s: &str) -> CloudName {
        CloudName::new(s).unwrap()
    }
    fn h(s: &str) -> HostName {
        HostName::new(s).unwrap()
    }

    struct Lab {
        hosts: Vec<Host>,
        clouds: Vec<Cloud>,
        assignments: Vec<Assignment>,
        schedules: Vec<Schedule>,
        untouchable: BTreeSet<HostName>,
    }

    impl Lab {
        fn new() -> Self {
            let clouds = ["cloud01", "cloud02", "cloud03"]
                .into_iter()
                .map(|n| Cloud {
                    name: c(n),
                    description: String::new(),
                    status: CloudStatus::Pending,
                })
                .collect();
            let assignment = |id, cloud: &str, wipe| Assignment {
                id: AssignmentId(id),
                spec: AssignmentSpec {
                    cloud: c(cloud),
                    ticket: format!("T{id}"),
                    owner: "alice".into(),
                    description: String::new(),
                    wipe,
                    os: None,
                    partition_table: None,
                    medium: None,
                    boot_type: BootType::Uefi,
                    qinq: crate::model::QinQ::Separated,
                    public_vlan: None,
                },
            };
            Self {
                hosts: Vec::new(),
                clouds,
                assignments: vec![
                    assignment(2, "cloud02", Wipe::Yes),
                    assignment(3, "cloud03", Wipe::No),
                ],
                schedules: Vec::new(),
                untouchable: BTreeSet::new(),
            }
        }

        fn host(mut self, name: &str, current: &str, state: HostState) -> Self {
            self.hosts.push(Host {
                name: h(name),
                bmc_address: format!("mgmt-{name}"),
                model: None,
                host_type: None,
                default_cloud: c("cloud01"),
                current_cloud: c(current),
                state,
            });
            self
        }

        fn schedule(mut self, host: &str, assignment: i64, start: &str, end: &str) -> Self {
            let id = ScheduleId(self.schedules.len() as i64 + 1);
            self.schedules.push(Schedule {
                id,
                host: h(host),
                assignment: AssignmentId(assignment),
                range: TimeRange::new(t(start), t(end)).unwrap(),
                build_start: None,
                build_end: None,
            });
            self
        }

        fn plan_at(&self, at: &str, cloud: Option<&CloudName>) -> MovePlan {
            plan(&PlanInput {
                hosts: &self.hosts,
                clouds: &self.clouds,
                assignments: &self.assignments,
                schedules: &self.schedules,
                at: t(at),
                cloud,
                untouchable: &self.untouchable,
            })
        }
    }

    fn moved(p: &MovePlan) -> Vec<(&str, &str, &str)> {
        p.moves
            .iter()
            .map(|m| (m.host.as_str(), m.from.as_str(), m.to.as_str()))
            .collect()
    }

    #[test]
    fn empty_lab_plans_nothing() {
        let p = Lab::new().plan_at("2025-01-01", None);
        assert!(p.is_empty() && p.skipped.is_empty() && p.in_place == 0);
    }

    #[test]
    fn scheduled_host_moves_with_its_assignment() {
        let lab = Lab::new().host("a", "cloud01", HostState::Active).schedule(
            "a",
            2,
            "2025-01-01",
            "2025-01-10",
        );
        let p = lab.plan_at("2025-01-05", None);
        assert_eq!(
            p.moves,
            vec![Move {
                host: h("a"),
                from: c("cloud01"),
                to: c("cloud02"),
                wipe: Wipe::Yes,
                assignment: Some(AssignmentId(2)),
                schedule: Some(ScheduleId(1)),
            }]
        );
    }

    #[test]
    fn start_is_inclusive_and_end_exclusive() {
        let lab = Lab::new().host("a", "cloud01", HostState::Active).schedule(
            "a",
            2,
            "2025-01-01 22:00",
            "2025-01-10 22:00",
        );
        assert!(lab.plan_at("2025-01-01T21:59:59.999Z", None).is_empty());
        assert_eq!(
            moved(&lab.plan_at("2025-01-01 22:00", None)),
            [("a", "cloud01", "cloud02")]
        );
        assert_eq!(
            moved(&lab.plan_at("2025-01-10T21:59:59.999Z", None)).len(),
            1
        );
        // at the end the host belongs in its default cloud again, where it already is
        let p = lab.plan_at("2025-01-10 22:00", None);
        assert!(p.is_empty());
        assert_eq!(p.in_place, 1);
    }

    #[test]
    fn back_to_back_schedules_hand_over_at_the_boundary() {
        let lab = Lab::new()
            .host("a", "cloud02", HostState::Active)
            .schedule("a", 2, "2025-01-01", "2025-01-10")
            .schedule("a", 3, "2025-01-10", "2025-01-20");
        assert!(lab.plan_at("2025-01-09", None).is_empty());
        let p = lab.plan_at("2025-01-10", None);
        assert_eq!(moved(&p), [("a", "cloud02", "cloud03")]);
        assert_eq!(p.moves[0].wipe, Wipe::No);
    }

    #[test]
    fn no_schedule_means_default_cloud_without_wipe() {
        let lab = Lab::new().host("a", "cloud03", HostState::Active);
        let p = lab.plan_at("2025-01-01", None);
        assert_eq!(moved(&p), [("a", "cloud03", "cloud01")]);
        assert_eq!(p.moves[0].wipe, Wipe::No);
        assert_eq!(p.moves[0].assignment, None);
    }

    #[test]
    fn hosts_in_place_are_counted_not_moved() {
        let lab = Lab::new()
            .host("a", "cloud01", HostState::Active)
            .host("b", "cloud02", HostState::Active)
            .schedule("b", 2, "2025-01-01", "2025-02-01");
        let p = lab.plan_at("2025-01-15", None);
        assert!(p.is_empty());
        assert_eq!(p.in_place, 2);
    }

    #[test]
    fn untouchable_broken_and_retired_hosts_are_skipped_with_reasons() {
        let mut lab = Lab::new()
            .host("u", "cloud01", HostState::Active)
            .host("b", "cloud01", HostState::Broken)
            .host("r", "cloud01", HostState::Retired)
            .host("ok", "cloud01", HostState::Active)
            .host("b-in-place", "cloud02", HostState::Broken);
        for host in ["u", "b", "r", "ok", "b-in-place"] {
            lab = lab.schedule(host, 2, "2025-01-01", "2025-02-01");
        }
        lab.untouchable.insert(h("u"));
        let p = lab.plan_at("2025-01-15", None);
        assert_eq!(moved(&p), [("ok", "cloud01", "cloud02")]);
        let reasons: Vec<_> = p
            .skipped
            .iter()
            .map(|s| (s.host.as_str(), s.reason.clone()))
            .collect();
        assert_eq!(
            reasons,
            [
                ("b", SkipReason::Broken),
                ("r", SkipReason::Retired),
                ("u", SkipReason::Untouchable)
            ]
        );
        assert_eq!(p.skipped[0].to, Some(c("cloud02")));
        assert_eq!(p.in_place, 1);
    }

    #[test]
    fn untouchable_wins_even_for_returns_to_the_default_cloud() {
        let mut lab = Lab::new().host("u", "cloud03", HostState::Active);
        lab.untouchable.insert(h("u"));
        let p = lab.plan_at("2025-01-15", None);
        assert!(p.is_empty());
        assert_eq!(p.skipped[0].reason, SkipReason::Untouchable);
    }

    #[test]
    fn overlapping_schedules_are_not_guessed() {
        let lab = Lab::new()
            .host("a", "cloud01", HostState::Active)
            .schedule("a", 2, "2025-01-01", "2025-01-10")
            .schedule("a", 3, "2025-01-05", "2025-01-20");
        let p = lab.plan_at("2025-01-03", None);
        assert_eq!(moved(&p), [("a", "cloud01", "cloud02")]);
        let p = lab.plan_at("2025-01-07", None);
        assert!(p.is_empty());
        assert_eq!(
            p.skipped[0].reason,
            SkipReason::ConflictingSchedules(vec![ScheduleId(1), ScheduleId(2)])
        );
        assert_eq!(p.skipped[0].to, None);
        // in scope of a filter on either cloud, out of scope of others
        assert_eq!(
            lab.plan_at("2025-01-07", Some(&c("cloud03"))).skipped.len(),
            1
        );
        assert_eq!(
            lab.plan_at("2025-01-07", Some(&c("cloud01"))).skipped.len(),
            0
        );
    }

    #[test]
    fn dangling_references_are_skipped() {
        let mut lab = Lab::new()
            .host("a", "cloud01", HostState::Active)
            .host("b", "cloud01", HostState::Active)
            .schedule("a", 99, "2025-01-01", "2025-01-10")
            .schedule("b", 3, "2025-01-01", "2025-01-10");
        lab.clouds.retain(|x| x.name.as_str() != "cloud03");
        let p = lab.plan_at("2025-01-05", None);
        assert!(p.is_empty());
        assert_eq!(
            p.skipped[0].reason,
            SkipReason::MissingAssignment(AssignmentId(99))
        );
        assert_eq!(p.skipped[1].reason, SkipReason::UnknownCloud(c("cloud03")));
    }

    #[test]
    fn cloud_filter_keeps_only_moves_into_that_cloud() {
        let lab = Lab::new()
            .host("a", "cloud01", HostState::Active)
            .host("b", "cloud01", HostState::Active)
            .host("c", "cloud02", HostState::Active)
            .schedule("a", 2, "2025-01-01", "2025-01-10")
            .schedule("b", 3, "2025-01-01", "2025-01-10");
        assert_eq!(moved(&lab.plan_at("2025-01-05", None)).len(), 3);
        assert_eq!(
            moved(&lab.plan_at("2025-01-05", Some(&c("cloud03")))),
            [("b", "cloud01", "cloud03")]
        );
        assert_eq!(
            moved(&lab.plan_at("2025-01-05", Some(&c("cloud01")))),
            [("c", "cloud02", "cloud01")]
        );
        let p = lab.plan_at("2025-01-05", Some(&c("cloud02")));
        assert_eq!(moved(&p), [("a", "cloud01", "cloud02")]);
        assert_eq!(p.in_place, 0);
    }

    #[test]
    fn moves_are_sorted_by_host_whatever_the_input_order() {
        let lab = Lab::new()
            .host("z", "cloud02", HostState::Active)
            .host("m", "cloud02", HostState::Active)
            .host("a", "cloud02", HostState::Active);
        let names: Vec<_> = lab
            .plan_at("2025-01-01", None)
            .moves
            .iter()
            .map(|m| m.host.to_string())
            .collect();
        assert_eq!(names, ["a", "m", "z"]);
        assert_eq!(lab.plan_at("2025-01-01", None).target_clouds().len(), 1);
    }
}
