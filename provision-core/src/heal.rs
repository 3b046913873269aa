//! `quads foreman heal`: reconciles Foreman with the schedule, as QUADS's periodic job does.
//! [`plan`] (pure) compares a store snapshot with what Foreman shows ([`ForemanFacts`]) and
//! lists the changes ([`HealPlan`]); [`read_facts`] reads Foreman, [`apply`] makes the changes
//! through the executor's [`ForemanPort`] (same limits and retries as a move) and verifies each.
//!
//! The rules, at the time `at`:
//! - a cloud is active when an assignment of it holds a host at `at` (as `plan::active_clouds`);
//! - every host not retired (broken ones included: a broken host still must not be reachable
//!   by another tenant) is owned by the Foreman user of its store's current cloud when that
//!   cloud is active, else by the spare pool's owner (`[executor] spare_owner`, default the
//!   run's own Foreman user);
//! - every active cloud's Foreman user (login = cloud name) exists and is enabled, with its
//!   newest active assignment's password, role and owner filter (`ensure_cloud_user`);
//! - every other cloud's user is disabled (absent is fine), never the spare pool's owner nor
//!   the run's own user.
//!
//! The plan judges a cloud user by Foreman's `disabled` flag only: a password is not tried
//! (every refused login counts toward Foreman's brute-force guard; `move-hosts` checks it on
//! every move). Applying twice changes nothing the second time.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use foreman_client::ForemanClient;
use tokio_util::sync::CancellationToken;

use crate::executor::ports::{
    CloudUserSpec, ForemanPort, PortError, RetiredUser, RetiredUserSpec, classify,
};
use crate::executor::tenant_password;
use crate::model::{
    Assignment, AssignmentSpec, Cloud, CloudName, Host, HostName, HostState, Schedule,
};
use crate::retry::{Idempotency, RetryPolicy, retry};
use crate::time::Timestamp;

/// The store's side of a heal.
#[derive(Debug, Clone, Copy)]
pub struct HealInput<'a> {
    /// When the schedule is read.
    pub at: Timestamp,
    /// Every host.
    pub hosts: &'a [Host],
    /// Every cloud.
    pub clouds: &'a [Cloud],
    /// Every assignment.
    pub assignments: &'a [Assignment],
    /// Every schedule.
    pub schedules: &'a [Schedule],
}

/// A Foreman user as a heal sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFacts {
    /// Foreman id.
    pub id: u64,
    /// Login.
    pub login: String,
    /// Whether it can sign in (not `disabled`).
    pub enabled: bool,
}

/// What Foreman shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForemanFacts {
    /// Every user.
    pub users: Vec<UserFacts>,
    /// The login owning the spare pool's hosts.
    pub spare_owner: String,
    /// The login the run signs in as (never retired).
    pub own_login: String,
    /// Each host's owning user id (`None`: no user owns it), or why it could not be read.
    pub owners: BTreeMap<HostName, Result<Option<u64>, String>>,
}

impl ForemanFacts {
    fn user(&self, login: &str) -> Option<&UserFacts> {
        self.users
            .iter()
            .find(|u| u.login.eq_ignore_ascii_case(login))
    }

    fn login_of(&self, id: u64) -> String {
        self.users
            .iter()
            .find(|u| u.id == id)
            .map_or_else(|| format!("user #{id}"), |u| u.login.clone())
    }
}

/// One change a heal makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealChange {
    /// An active cloud's user is absent or disabled: create or enable it.
    EnableCloudUser {
        /// The cloud (and login).
        cloud: CloudName,
        /// Whether Foreman has the user (disabled) or not at all.
        exists: bool,
    },
    /// A host owned by the wrong user.
    Owner {
        /// The host.
        host: HostName,
        /// The cloud the store says it is in.
        cloud: CloudName,
        /// Who owns it now (`None`: nobody).
        from: Option<String>,
        /// Who must.
        to: String,
    },
    /// A cloud with no active assignment whose user still signs in: disable it.
    RetireCloudUser {
        /// The cloud (and login).
        cloud: CloudName,
    },
}

impl HealChange {
    /// `enable-cloud-user`, `owner` or `retire-cloud-user`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::EnableCloudUser { .. } => "enable-cloud-user",
            Self::Owner { .. } => "owner",
            Self::RetireCloudUser { .. } => "retire-cloud-user",
        }
    }

    /// The host or cloud it is about.
    #[must_use]
    pub fn subject(&self) -> &str {
        match self {
            Self::EnableCloudUser { cloud, .. } | Self::RetireCloudUser { cloud } => cloud.as_str(),
            Self::Owner { host, .. } => host.as_str(),
        }
    }
}

impl fmt::Display for HealChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EnableCloudUser { cloud, exists } => write!(
                f,
                "cloud {cloud}: {} its foreman user",
                if *exists { "enable" } else { "create" }
            ),
            Self::Owner {
                host,
                cloud,
                from,
                to,
            } => write!(
                f,
                "host {host} (in {cloud}): owner {} -> {to}",
                from.as_deref().unwrap_or("nobody")
            ),
            Self::RetireCloudUser { cloud } => {
                write!(
                    f,
                    "cloud {cloud}: disable its foreman user (no active assignment)"
                )
            }
        }
    }
}

/// The changes a heal makes, in the order it makes them (users enabled, owners, users
/// retired), and the hosts it could not judge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealPlan {
    /// What to change.
    pub changes: Vec<HealChange>,
    /// Hosts whose Foreman record could not be read, with why.
    pub unreadable: Vec<(HostName, String)>,
    /// Each active cloud's newest active assignment (its user's password and ticket).
    pub active: BTreeMap<CloudName, AssignmentSpec>,
    /// Each cloud to retire's newest assignment (the password that must stop working).
    pub last: BTreeMap<CloudName, AssignmentSpec>,
}

/// Plans a heal (pure): see the module's rules.
#[must_use]
pub fn plan(input: &HealInput<'_>, facts: &ForemanFacts) -> HealPlan {
    let held: BTreeSet<_> = input
        .schedules
        .iter()
        .filter(|s| s.range.contains(input.at))
        .map(|s| s.assignment)
        .collect();
    let mut active: BTreeMap<CloudName, AssignmentSpec> = BTreeMap::new();
    // assignments come by id: the newest active one of each cloud wins
    for a in input.assignments.iter().filter(|a| held.contains(&a.id)) {
        active.insert(a.spec.cloud.clone(), a.spec.clone());
    }
    let mut changes = Vec::new();
    for cloud in active.keys() {
        match facts.user(cloud.as_str()) {
            Some(u) if u.enabled => {}
            found => changes.push(HealChange::EnableCloudUser {
                cloud: cloud.clone(),
                exists: found.is_some(),
            }),
        }
    }
    let mut unreadable = Vec::new();
    let mut last = BTreeMap::new();
    for host in input.hosts.iter().filter(|h| h.state != HostState::Retired) {
        let to = if active.contains_key(&host.current_cloud) {
            host.current_cloud.to_string()
        } else {
            facts.spare_owner.clone()
        };
        let owner = match facts.owners.get(&host.name) {
            Some(Ok(owner)) => *owner,
            Some(Err(why)) => {
                unreadable.push((host.name.clone(), why.clone()));
                continue;
            }
            None => {
                unreadable.push((host.name.clone(), "not read from foreman".to_owned()));
                continue;
            }
        };
        let right = match (owner, facts.user(&to)) {
            (Some(id), Some(user)) => id == user.id,
            _ => false,
        };
        if !right {
            changes.push(HealChange::Owner {
                host: host.name.clone(),
                cloud: host.current_cloud.clone(),
                from: owner.map(|id| facts.login_of(id)),
                to,
            });
        }
    }
    for cloud in input
        .clouds
        .iter()
        .filter(|c| !active.contains_key(&c.name))
    {
        let login = cloud.name.as_str();
        let keep = login.eq_ignore_ascii_case(&facts.spare_owner)
            || login.eq_ignore_ascii_case(&facts.own_login);
        if !keep && facts.user(login).is_some_and(|u| u.enabled) {
            changes.push(HealChange::RetireCloudUser {
                cloud: cloud.name.clone(),
            });
            if let Some(a) = input
                .assignments
                .iter()
                .rev()
                .find(|a| a.spec.cloud == cloud.name)
            {
                last.insert(cloud.name.clone(), a.spec.clone());
            }
        }
    }
    HealPlan {
        changes,
        unreadable,
        active,
        last,
    }
}

/// What reading and writing Foreman needs.
#[derive(Debug, Clone)]
pub struct HealSetup {
    /// The executor's Foreman port (limits and request retries included).
    pub foreman: Arc<dyn ForemanPort>,
    /// The same Foreman's client (for the user listing).
    pub client: ForemanClient,
    /// Tenant passwords are `{infra_location}@{ticket}`.
    pub infra_location: String,
    /// `[executor] spare_owner` (`None`: the run's own user).
    pub spare_owner: Option<String>,
    /// Cloud users' e-mail domain.
    pub mail_domain: String,
    /// Host permissions of a cloud role's filter.
    pub host_permissions: Vec<String>,
    /// Retries of each change (the executor's step policy).
    pub policy: RetryPolicy,
    /// Stops the heal between requests.
    pub cancel: CancellationToken,
}

/// Reads every user (one listing), the run's own user and each of `hosts`' owners.
///
/// # Errors
/// When the users cannot be read (a host that cannot be read is recorded in the facts).
pub async fn read_facts(setup: &HealSetup, hosts: &[Host]) -> Result<ForemanFacts, PortError> {
    let client = &setup.client;
    let read = |e: foreman_client::Error| {
        if e.is_retryable() {
            PortError::retryable(e.to_string())
        } else {
            PortError::fatal(e.to_string())
        }
    };
    let users = with_retry(setup, Idempotency::Read, || async {
        client.users().list().all().await.map_err(read)
    })
    .await?;
    let me = with_retry(setup, Idempotency::Read, || async {
        client.users().current().send().await.map_err(read)
    })
    .await?;
    let users: Vec<UserFacts> = users
        .into_iter()
        .map(|u| UserFacts {
            id: u.id,
            login: u.login,
            enabled: u.disabled != Some(true),
        })
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for host in hosts.iter().filter(|h| h.state != HostState::Retired) {
        let foreman = setup.foreman.clone();
        let name = host.name.clone();
        let policy = setup.policy.clone();
        let cancel = setup.cancel.clone();
        tasks.spawn(async move {
            let read = retry(
                &policy,
                &cancel,
                Idempotency::Read.classify(classify),
                |_| foreman.host(&name),
            )
            .await
            .map(|h| h.owner_user)
            .map_err(|e| last_message(e.into_last_error()));
            (name, read)
        });
    }
    let mut owners = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        let (name, read) = joined.map_err(|e| PortError::fatal(format!("host read task: {e}")))?;
        owners.insert(name, read);
    }
    Ok(ForemanFacts {
        users,
        spare_owner: setup
            .spare_owner
            .clone()
            .unwrap_or_else(|| me.login.clone()),
        own_login: me.login,
        owners,
    })
}

/// What applying a plan did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealOutcome {
    /// The changes made and verified.
    pub applied: Vec<HealChange>,
    /// The changes that failed, with why.
    pub failed: Vec<(HealChange, String)>,
}

/// Applies `plan` (made from `facts`): the cloud users first, then the owners (all at once,
/// within the port's limits), then the retirements; each verified from Foreman's answer.
pub async fn apply(setup: &HealSetup, plan: &HealPlan, facts: &ForemanFacts) -> HealOutcome {
    let mut outcome = HealOutcome::default();
    let mut ids: BTreeMap<String, u64> = facts
        .users
        .iter()
        .map(|u| (u.login.to_ascii_lowercase(), u.id))
        .collect();
    for change in &plan.changes {
        let HealChange::EnableCloudUser { cloud, .. } = change else {
            continue;
        };
        let Some(assignment) = plan.active.get(cloud) else {
            continue;
        };
        let spec = CloudUserSpec {
            login: cloud.to_string(),
            mail: format!("{cloud}@{}", setup.mail_domain),
            password: tenant_password(&setup.infra_location, assignment),
            role: cloud.to_string(),
            host_permissions: setup.host_permissions.clone(),
        };
        let done = with_retry(setup, Idempotency::IdempotentWrite, || {
            setup.foreman.ensure_cloud_user(&spec)
        })
        .await;
        match done {
            Ok(user) => {
                ids.insert(cloud.as_str().to_ascii_lowercase(), user.user_id);
                outcome.applied.push(change.clone());
            }
            Err(e) => outcome.failed.push((change.clone(), e.message)),
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    for change in &plan.changes {
        let HealChange::Owner { host, to, .. } = change else {
            continue;
        };
        let Some(&owner) = ids.get(&to.to_ascii_lowercase()) else {
            outcome
                .failed
                .push((change.clone(), format!("foreman has no user {to}")));
            continue;
        };
        let setup = setup.clone();
        let (change, host) = (change.clone(), host.clone());
        tasks.spawn(async move {
            let done = with_retry(&setup, Idempotency::IdempotentWrite, || async {
                let current = setup.foreman.host(&host).await?;
                let after = setup.foreman.set_owner(&current, owner).await?;
                if after.owner_user == Some(owner) {
                    Ok(())
                } else {
                    Err(PortError::retryable(format!(
                        "host {host} is still not owned by user #{owner} after the write"
                    )))
                }
            })
            .await;
            (change, done)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((change, Ok(()))) => outcome.applied.push(change),
            Ok((change, Err(e))) => outcome.failed.push((change, e.message)),
            Err(e) => tracing::warn!(error = %e, "owner task failed"),
        }
    }
    for change in &plan.changes {
        let HealChange::RetireCloudUser { cloud } = change else {
            continue;
        };
        let spec = RetiredUserSpec {
            login: cloud.to_string(),
            last_password: plan
                .last
                .get(cloud)
                .map(|a| tenant_password(&setup.infra_location, a)),
        };
        let done = with_retry(setup, Idempotency::IdempotentWrite, || {
            setup.foreman.retire_cloud_user(&spec)
        })
        .await;
        match done {
            Ok(RetiredUser::Retired) => outcome.applied.push(change.clone()),
            // retired or removed by someone else since the plan was made
            Ok(_) => {}
            Err(e) => outcome.failed.push((change.clone(), e.message)),
        }
    }
    outcome
}

async fn with_retry<T, F, Fut>(
    setup: &HealSetup,
    idempotency: Idempotency,
    mut op: F,
) -> Result<T, PortError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, PortError>>,
{
    retry(
        &setup.policy,
        &setup.cancel,
        idempotency.classify(classify),
        |_| op(),
    )
    .await
    .map_err(|e| PortError::retryable(last_message(e.into_last_error())))
}

fn last_message(e: Option<PortError>) -> String {
    e.map_or_else(|| "cancelled or timed out".to_owned(), |e| e.message)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::model::{AssignmentId, BootType, CloudStatus, QinQ, ScheduleId, TimeRange, Wipe};

    fn c(s: &str) -> CloudName {
        CloudName::new(s).unwrap()
    }

    fn h(s: &str) -> HostName {
        HostName::new(s).unwrap()
    }

    struct Site {
        hosts: Vec<Host>,
        clouds: Vec<Cloud>,
        assignments: Vec<Assignment>,
        schedules: Vec<Schedule>,
    }

    /// cloud01 (spare), cloud02 (active: h1 in it), cloud03 (its assignment ended); h2 in the
    /// spare pool, h3 still recorded in cloud03, h4 retired.
    fn site() -> Site {
        let clouds = ["cloud01", "cloud02", "cloud03"]
            .into_iter()
            .map(|n| Cloud {
                name: c(n),
                description: String::new(),
                status: CloudStatus::Pending,
            })
            .collect();
        let assignment = |id, cloud: &str| Assignment {
            id: AssignmentId(id),
            spec: AssignmentSpec {
                cloud: c(cloud),
                ticket: format!("T{id}"),
                owner: "alice".into(),
                description: String::new(),
                wipe: Wipe::No,
                os: None,
                partition_table: None,
                medium: None,
                boot_type: BootType::Uefi,
                qinq: QinQ::Separated,
                public_vlan: None,
            },
        };
        let host = |name: &str, cloud: &str, state| Host {
            name: h(name),
            bmc_address: format!("mgmt-{name}"),
            model: None,
            host_type: None,
            default_cloud: c("cloud01"),
            current_cloud: c(cloud),
            state,
        };
        let schedule = |id, host: &str, assignment, start: &str, end: &str| Schedule {
            id: ScheduleId(id),
            host: h(host),
            assignment: AssignmentId(assignment),
            range: TimeRange::new(start.parse().unwrap(), end.parse().unwrap()).unwrap(),
            build_start: None,
            build_end: None,
        };
        Site {
            hosts: vec![
                host("h1", "cloud02", HostState::Active),
                host("h2", "cloud01", HostState::Broken),
                host("h3", "cloud03", HostState::Active),
                host("h4", "cloud02", HostState::Retired),
            ],
            clouds,
            assignments: vec![assignment(1, "cloud02"), assignment(2, "cloud03")],
            schedules: vec![
                schedule(1, "h1", 1, "2025-01-01", "2025-02-01"),
                schedule(2, "h3", 2, "2024-12-01", "2025-01-01"),
            ],
        }
    }

    fn user(id: u64, login: &str, enabled: bool) -> UserFacts {
        UserFacts {
            id,
            login: login.to_owned(),
            enabled,
        }
    }

    fn facts(users: Vec<UserFacts>, owners: &[(&str, Option<u64>)]) -> ForemanFacts {
        ForemanFacts {
            users,
            spare_owner: "admin".to_owned(),
            own_login: "admin".to_owned(),
            owners: owners
                .iter()
                .map(|(host, owner)| (h(host), Ok(*owner)))
                .collect(),
        }
    }

    fn heal(site: &Site, facts: &ForemanFacts) -> HealPlan {
        plan(
            &HealInput {
                at: "2025-01-10".parse().unwrap(),
                hosts: &site.hosts,
                clouds: &site.clouds,
                assignments: &site.assignments,
                schedules: &site.schedules,
            },
            facts,
        )
    }

    fn lines(plan: &HealPlan) -> Vec<String> {
        plan.changes.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_foreman_that_follows_the_schedule_needs_nothing() {
        let site = site();
        let right = facts(
            vec![
                user(1, "admin", true),
                user(2, "cloud02", true),
                user(3, "cloud03", false),
            ],
            &[("h1", Some(2)), ("h2", Some(1)), ("h3", Some(1))],
        );
        let plan = heal(&site, &right);
        assert_eq!(lines(&plan), Vec::<String>::new());
        assert!(plan.unreadable.is_empty());
        assert_eq!(plan.active.keys().collect::<Vec<_>>(), [&c("cloud02")]);
    }

    #[test]
    fn wrong_owners_and_users_are_listed_in_the_order_they_are_fixed() {
        let site = site();
        // cloud02's user disabled, h1 owned by cloud03's, h2 by nobody, h3 (whose cloud03
        // tenant is out) still by cloud03, whose user still signs in; h4 is retired
        let wrong = facts(
            vec![
                user(1, "admin", true),
                user(2, "cloud02", false),
                user(3, "cloud03", true),
            ],
            &[("h1", Some(3)), ("h2", None), ("h3", Some(3))],
        );
        let plan = heal(&site, &wrong);
        assert_eq!(
            lines(&plan),
            [
                "cloud cloud02: enable its foreman user",
                "host h1 (in cloud02): owner cloud03 -> cloud02",
                "host h2 (in cloud01): owner nobody -> admin",
                "host h3 (in cloud03): owner cloud03 -> admin",
                "cloud cloud03: disable its foreman user (no active assignment)",
            ]
        );
        assert_eq!(plan.last[&c("cloud03")].ticket, "T2");
        assert_eq!(plan.active[&c("cloud02")].ticket, "T1");
    }

    #[test]
    fn an_absent_cloud_user_is_created_and_never_the_spare_owner_retired() {
        let site = site();
        let mut odd = facts(
            vec![user(1, "admin", true), user(3, "cloud03", true)],
            &[("h1", Some(1)), ("h2", Some(3)), ("h3", Some(3))],
        );
        odd.spare_owner = "cloud03".to_owned();
        odd.owners.insert(h("h2"), Err("foreman: 503".to_owned()));
        let plan = heal(&site, &odd);
        assert_eq!(
            lines(&plan),
            [
                "cloud cloud02: create its foreman user",
                "host h1 (in cloud02): owner admin -> cloud02",
            ]
        );
        assert_eq!(plan.unreadable, [(h("h2"), "foreman: 503".to_owned())]);
    }
}
