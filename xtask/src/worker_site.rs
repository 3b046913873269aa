//! The lab's fake QUADS server as a worker-mode site (issue 14), for `demo --quads-server` and
//! `simulate --source quads-server`: `quads.toml`'s `[quads]` table, schedules seeded through
//! the server's API as an operator would, and the server's state read back and judged as
//! QUADS's own mover would leave it (`GET moves`, hosts' `cloud`/`last_build`, schedules'
//! build times, assignments' `provisioned`/`validated`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use provision_core::executor::{ExecutorConfig, HostStatus, RunReport};
use quads_api_client::writes::CreateSchedule;
use quads_api_client::{
    Assignment, AssignmentFilter, AssignmentPatch, ClientConfig, Credentials, Host, Move,
    QuadsClient, QuadsUrl, Schedule, Timestamp,
};
use testkit::{Expectation, HostExpectation, Inventory, Login, NetworkExpectation};

/// How long the seeded schedules run (QUADS's usual two weeks).
const SCHEDULE_DAYS: i64 = 14;

/// A client of the lab's QUADS server signed in as its admin (reads need no login).
///
/// # Errors
/// When the lab's URL does not parse.
pub fn client(inventory: &Inventory) -> anyhow::Result<QuadsClient> {
    let url = QuadsUrl::parse(&inventory.quads_url).context("the lab's QUADS URL")?;
    QuadsClient::new(ClientConfig::new(url).with_credentials(Credentials::new(
        inventory.quads_username.clone(),
        inventory.quads_password.clone(),
    )))
    .context("cannot make a QUADS client")
}

/// [`crate::demo::write_setup`] for worker mode: the same `quads.toml` plus its `[quads]`
/// table (the lab's server, its admin's password file, BMC names `mgmt-<host>` resolved by the
/// lab's `hosts.resolve`, the build settings QUADS assignments do not carry). Returns its path.
///
/// # Errors
/// When a file cannot be written.
pub fn write_setup(
    dir: &Path,
    lab_dir: &Path,
    inventory: &Inventory,
    executor: ExecutorConfig,
) -> anyhow::Result<PathBuf> {
    let config = crate::demo::write_setup(dir, lab_dir, inventory, executor, 1)?;
    std::fs::write(
        dir.join("quads.pass"),
        format!("{}\n", inventory.quads_password),
    )?;
    let port = inventory
        .bmc_port()
        .context("the lab's BMCs share no port")?;
    let mut text = std::fs::read_to_string(&config)?;
    let _ = write!(
        text,
        "\n[quads]\nurl = \"{url}\"\nusername = \"{user}\"\npassword_file = \"{dir}/quads.pass\"\n\
         bmc_address = \"mgmt-{{host}}:{port}\"\nresolve_file = \"{resolve}\"\n\
         default_os = \"RedHat 9.4\"\ndefault_ptable = \"Kickstart default\"\n\
         default_medium = \"RHEL 9 mirror\"\n",
        url = inventory.quads_url,
        user = inventory.quads_username,
        dir = dir.display(),
        resolve = lab_dir.join("hosts.resolve").display(),
    );
    std::fs::write(&config, text)?;
    Ok(config)
}

/// Seeds the server as the local simulation's store is: every one of `hosts` scheduled (from
/// an hour ago, for two weeks) into `clouds` round-robin, every cloud's active assignment a
/// wipe. Clouds the server lacks are created, with an assignment (ticket `1000 + N`, as the
/// lab's own); an existing assignment that does not wipe is changed to wipe.
///
/// # Errors
/// When the server refuses a write.
pub async fn seed_wipe_schedules(
    client: &QuadsClient,
    hosts: &[String],
    clouds: &[String],
) -> anyhow::Result<()> {
    let known: BTreeSet<String> = client.clouds().await?.into_iter().map(|c| c.name).collect();
    for cloud in clouds {
        if !known.contains(cloud) {
            client.create_cloud(cloud).await?;
        }
        match client.active_assignment(cloud).await? {
            Some(a) if a.wipe => {}
            Some(a) => {
                let patch = AssignmentPatch {
                    wipe: Some(true),
                    ..AssignmentPatch::default()
                };
                client.patch_assignment_verified(a.id, &patch).await?;
            }
            None => {
                let number = cloud.trim_start_matches("cloud");
                client
                    .create_assignment(&quads_api_client::writes::CreateAssignment {
                        cloud: cloud.clone(),
                        description: format!("simulated tenant of {cloud}"),
                        owner: format!("tenant{number}"),
                        ticket: format!("{}", 1000 + number.parse::<u32>().unwrap_or(0)),
                        qinq: Some(0),
                        wipe: true,
                        ccuser: Vec::new(),
                        vlan: None,
                    })
                    .await?;
            }
        }
    }
    let now = crate::demo::unix_now();
    for (i, host) in hosts.iter().enumerate() {
        client
            .create_schedule(&CreateSchedule {
                host: host.clone(),
                cloud: clouds[i % clouds.len().max(1)].clone(),
                start: Timestamp::from_unix(now - 3_600),
                end: Timestamp::from_unix(now + SCHEDULE_DAYS * 86_400),
            })
            .await
            .with_context(|| format!("cannot schedule {host}"))?;
    }
    Ok(())
}

/// What the server holds after a run, read through its API.
#[derive(Debug, Clone)]
pub struct ServerState {
    /// `GET moves` now.
    pub moves: Vec<Move>,
    /// Every host, by name.
    pub hosts: BTreeMap<String, Host>,
    /// Every schedule.
    pub schedules: Vec<Schedule>,
    /// The active assignments, by cloud name.
    pub assignments: BTreeMap<String, Assignment>,
}

/// Reads the server's state (five reads).
///
/// # Errors
/// When a read fails.
pub async fn read_state(client: &QuadsClient) -> anyhow::Result<ServerState> {
    Ok(ServerState {
        moves: client.moves(None).await?,
        hosts: client
            .hosts(None)
            .await?
            .into_iter()
            .map(|h| (h.name.clone(), h))
            .collect(),
        schedules: client.schedules(None).await?,
        assignments: client
            .assignments(AssignmentFilter::Active)
            .await?
            .into_iter()
            .filter_map(|a| Some((a.cloud_name()?.to_owned(), a)))
            .collect(),
    })
}

/// How each listed host's move ended: `None` moved, `Some(error)` failed.
pub type Outcomes = BTreeMap<String, Option<String>>;

/// The run report's outcome per host (a failure without an error reads as an empty one).
#[must_use]
pub fn outcomes(report: &RunReport) -> Outcomes {
    report
        .hosts
        .iter()
        .map(|h| {
            let failed = h.status != HostStatus::Moved;
            (
                h.host.clone(),
                failed.then(|| h.error.clone().unwrap_or_default()),
            )
        })
        .collect()
}

/// What is wrong with the server after a run that started at `started` (Unix seconds), made
/// the `before` moves (`GET moves` before it) and ended each as `outcomes` says: a listed move
/// the run did not make, `GET moves` not listing exactly the failed hosts, a failure without
/// its error, a moved host not recorded as QUADS's mover records it (`cloud`, `build`,
/// `validated`, `switch_config_applied`, `last_build` from the run), its schedule without build
/// times, a failed host recorded elsewhere, or an assignment whose `provisioned`/`validated`
/// do not follow its hosts (provisioned once all moved, then validated = not wipe).
#[must_use]
pub fn judge(
    before: &[Move],
    outcomes: &Outcomes,
    state: &ServerState,
    started: i64,
) -> Vec<String> {
    let mut problems = Vec::new();
    let since = Timestamp::from_unix(started).floor_minute();
    let listed: BTreeSet<&str> = state.moves.iter().map(|m| m.host.as_str()).collect();
    let failed: BTreeSet<&str> = outcomes
        .iter()
        .filter(|(_, o)| o.is_some())
        .map(|(h, _)| h.as_str())
        .collect();
    if listed != failed {
        problems.push(format!(
            "GET moves lists {} host(s) after the run, {} failed: listed but not failed {:?}, failed but not listed {:?}",
            listed.len(),
            failed.len(),
            listed.difference(&failed).take(5).collect::<Vec<_>>(),
            failed.difference(&listed).take(5).collect::<Vec<_>>()
        ));
    }
    let mut incomplete: BTreeSet<&str> = BTreeSet::new();
    for m in before {
        let Some(host) = state.hosts.get(&m.host) else {
            problems.push(format!("{}: the server no longer has it", m.host));
            continue;
        };
        match outcomes.get(&m.host) {
            None => problems.push(format!("{}: listed in GET moves, not in the run", m.host)),
            Some(Some(error)) => {
                incomplete.insert(m.new.as_str());
                if error.trim().is_empty() {
                    problems.push(format!("{}: failed without an error", m.host));
                }
                if host.cloud_name() != Some(m.current.as_str()) {
                    problems.push(format!(
                        "{}: failed, yet recorded in {:?} (was {})",
                        m.host,
                        host.cloud_name(),
                        m.current
                    ));
                }
            }
            Some(None) => problems.extend(moved_problems(m, host, state, since)),
        }
    }
    let targets: BTreeSet<&str> = before.iter().map(|m| m.new.as_str()).collect();
    for cloud in targets {
        let Some(a) = state.assignments.get(cloud) else {
            // a move to a cloud no assignment holds (the spare pool) records nothing more
            continue;
        };
        let (provisioned, validated) = if incomplete.contains(cloud) {
            (false, a.validated)
        } else {
            (true, !a.wipe)
        };
        if (a.provisioned, a.validated) != (provisioned, validated) {
            problems.push(format!(
                "assignment {} of {cloud}: provisioned={} validated={}, expected provisioned={provisioned} validated={validated}",
                a.id, a.provisioned, a.validated
            ));
        }
    }
    problems
}

/// What is wrong with a moved host's record and its schedule's build times.
fn moved_problems(m: &Move, host: &Host, state: &ServerState, since: Timestamp) -> Vec<String> {
    let mut problems = Vec::new();
    if host.cloud_name() != Some(m.new.as_str()) {
        problems.push(format!(
            "{}: moved, yet recorded in {:?} (not {})",
            m.host,
            host.cloud_name(),
            m.new
        ));
    }
    if !(host.build && host.switch_config_applied && !host.validated) {
        problems.push(format!(
            "{}: build={} switch_config_applied={} validated={} (QUADS's mover leaves true, true, false)",
            m.host, host.build, host.switch_config_applied, host.validated
        ));
    }
    if host.last_build.is_none_or(|t| t < since) {
        problems.push(format!(
            "{}: last_build {:?} is not from this run",
            m.host, host.last_build
        ));
    }
    let schedules: Vec<&Schedule> = state
        .schedules
        .iter()
        .filter(|s| {
            s.host_name() == Some(m.host.as_str()) && s.cloud_name() == Some(m.new.as_str())
        })
        .collect();
    if schedules.is_empty() && state.assignments.contains_key(&m.new) {
        problems.push(format!("{}: no schedule into {}", m.host, m.new));
    }
    for s in schedules {
        match (s.build_start, s.build_end) {
            (Some(start), Some(end)) if since <= start && start <= end => {}
            (start, end) => problems.push(format!(
                "{}: schedule {} has build_start {start:?} build_end {end:?}",
                m.host, s.id
            )),
        }
    }
    problems
}

/// What the lab's isolation report must find after the run: each moved host open to its
/// cloud's tenant only (BMC user `quads`, password `lab@<ticket>`), owned by its cloud's
/// Foreman user, its ports in its cloud's network (the assignment's QinQ mode and public VLAN);
/// failed hosts are not judged.
#[must_use]
pub fn expectation(before: &[Move], outcomes: &Outcomes, state: &ServerState) -> Expectation {
    let label = |cloud: &str, a: &Assignment| {
        format!("{cloud} #{}", a.ticket.as_deref().unwrap_or_default())
    };
    let tenant_user = ExecutorConfig::default().tenant_bmc_user;
    Expectation {
        bmc_credentials: state
            .assignments
            .iter()
            .map(|(cloud, a)| Login {
                label: label(cloud, a),
                user: tenant_user.clone(),
                password: format!("lab@{}", a.ticket.as_deref().unwrap_or_default()),
            })
            .collect(),
        hosts: before
            .iter()
            .filter(|m| matches!(outcomes.get(&m.host), Some(None)))
            .map(|m| {
                let a = state.assignments.get(&m.new);
                (
                    m.host.clone(),
                    HostExpectation {
                        tenant: a.map(|a| label(&m.new, a)),
                        owner: m.new.clone(),
                        network: Some(NetworkExpectation {
                            cloud: m.new.clone(),
                            qinq: a.and_then(|a| a.qinq) == Some(1),
                            public_vlan: a
                                .and_then(|a| a.vlan.as_ref())
                                .and_then(|v| u16::try_from(v.vlan_id).ok()),
                        }),
                    },
                )
            })
            .collect(),
        retired_foreman_users: Vec::new(),
    }
}

/// The server's state as text: `GET moves` before and after, the hosts per recorded cloud and
/// their `last_build` range, the schedules' build times, each target cloud's assignment, and
/// the first few hosts in detail.
#[must_use]
pub fn summary(before: &[Move], state: &ServerState) -> String {
    let mut text = format!(
        "the QUADS server after the run: GET moves lists {} host(s) (before: {})",
        state.moves.len(),
        before.len()
    );
    for m in state.moves.iter().take(5) {
        let _ = write!(
            text,
            "\n  still to move: {} {} -> {}",
            m.host, m.current, m.new
        );
    }
    let mut per_cloud: BTreeMap<&str, usize> = BTreeMap::new();
    for m in before {
        if let Some(cloud) = state.hosts.get(&m.host).and_then(Host::cloud_name) {
            *per_cloud.entry(cloud).or_default() += 1;
        }
    }
    let builds: Vec<Timestamp> = before
        .iter()
        .filter_map(|m| state.hosts.get(&m.host)?.last_build)
        .collect();
    let _ = write!(
        text,
        "\n  hosts listed before, by recorded cloud now: {}; last_build {} .. {}",
        per_cloud
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        builds.iter().min().map_or("-".into(), ToString::to_string),
        builds.iter().max().map_or("-".into(), ToString::to_string),
    );
    let moved: BTreeSet<&str> = before.iter().map(|m| m.host.as_str()).collect();
    let durations: Vec<i64> = state
        .schedules
        .iter()
        .filter(|s| s.host_name().is_some_and(|h| moved.contains(h)))
        .filter_map(|s| Some(s.build_end?.unix() - s.build_start?.unix()))
        .collect();
    let _ = write!(
        text,
        "\n  schedules with build_start/build_end: {} of {} (build_end - build_start {} .. {} s, to the minute)",
        durations.len(),
        before.len(),
        durations.iter().min().copied().unwrap_or(0),
        durations.iter().max().copied().unwrap_or(0),
    );
    let targets: BTreeSet<&str> = before.iter().map(|m| m.new.as_str()).collect();
    for cloud in targets {
        match state.assignments.get(cloud) {
            Some(a) => {
                let _ = write!(
                    text,
                    "\n  assignment {} of {cloud} (ticket {}, {}): provisioned={} validated={}",
                    a.id,
                    a.ticket.as_deref().unwrap_or("-"),
                    if a.wipe { "wipe" } else { "no wipe" },
                    a.provisioned,
                    a.validated
                );
            }
            None => {
                let _ = write!(text, "\n  {cloud}: no active assignment");
            }
        }
    }
    text.push_str("\n  host                                  cloud    build  last_build            schedule build_start .. build_end");
    for m in before.iter().take(4) {
        let Some(h) = state.hosts.get(&m.host) else {
            continue;
        };
        let schedule = state.schedules.iter().find(|s| {
            s.host_name() == Some(m.host.as_str()) && s.cloud_name() == Some(m.new.as_str())
        });
        let show = |t: Option<Timestamp>| t.map_or("-".into(), |t| t.to_string());
        let _ = write!(
            text,
            "\n  {:<37} {:<8} {:<6} {:<21} {} .. {}",
            h.name,
            h.cloud_name().unwrap_or("-"),
            h.build,
            show(h.last_build),
            show(schedule.and_then(|s| s.build_start)),
            show(schedule.and_then(|s| s.build_end)),
        );
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn host(name: &str, cloud: &str, last_build: Option<&str>) -> Host {
        serde_json::from_value(json!({
            "id": 1, "name": name, "build": true, "validated": false,
            "switch_config_applied": true, "last_build": last_build,
            "cloud": {"id": 2, "name": cloud}, "default_cloud": {"id": 1, "name": "cloud01"},
        }))
        .unwrap()
    }

    fn assignment(cloud: &str, wipe: bool, provisioned: bool, validated: bool) -> Assignment {
        serde_json::from_value(json!({
            "id": 7, "active": true, "provisioned": provisioned, "validated": validated,
            "wipe": wipe, "ticket": "1002", "qinq": 0, "cloud": {"id": 2, "name": cloud},
        }))
        .unwrap()
    }

    fn schedule(host: &str, cloud: &str, build: Option<(&str, &str)>) -> Schedule {
        serde_json::from_value(json!({
            "id": 3,
            "build_start": build.map(|b| b.0), "build_end": build.map(|b| b.1),
            "host": {"id": 1, "name": host},
            "assignment": {"id": 7, "cloud": {"id": 2, "name": cloud}},
        }))
        .unwrap()
    }

    fn mv(host: &str) -> Move {
        Move {
            host: host.into(),
            current: "cloud01".into(),
            new: "cloud02".into(),
        }
    }

    const T0: i64 = 1_733_263_200; // Tue, 03 Dec 2024 22:00:00 GMT
    const BUILT: &str = "Tue, 03 Dec 2024 22:05:00 GMT";

    fn state(moves: Vec<Move>, hosts: Vec<Host>, provisioned: bool) -> ServerState {
        ServerState {
            moves,
            hosts: hosts.into_iter().map(|h| (h.name.clone(), h)).collect(),
            schedules: vec![
                schedule("a", "cloud02", Some((BUILT, BUILT))),
                schedule("b", "cloud02", None),
            ],
            assignments: BTreeMap::from([(
                "cloud02".to_owned(),
                assignment("cloud02", true, provisioned, false),
            )]),
        }
    }

    #[test]
    fn a_run_that_left_the_server_as_quads_would_has_no_problem() {
        let s = state(
            vec![mv("b")],
            vec![
                host("a", "cloud02", Some(BUILT)),
                host("b", "cloud01", None),
            ],
            false,
        );
        let outcomes = Outcomes::from([
            ("a".to_owned(), None),
            ("b".to_owned(), Some("bmc 127.0.1.2: dead".to_owned())),
        ]);
        let problems = judge(&[mv("a"), mv("b")], &outcomes, &s, T0);
        assert!(problems.is_empty(), "{problems:?}");
        let expect = expectation(&[mv("a"), mv("b")], &outcomes, &s);
        assert_eq!(expect.hosts.keys().collect::<Vec<_>>(), ["a"]);
        assert_eq!(expect.bmc_credentials[0].password, "lab@1002");
    }

    #[test]
    fn every_broken_promise_is_named() {
        // a moved host recorded nowhere new, with an old last_build and no build times; the
        // failed one not listed again; the cloud provisioned although a host failed
        let s = state(
            Vec::new(),
            vec![
                host("a", "cloud01", Some("Tue, 03 Dec 2024 21:00:00 GMT")),
                host("b", "cloud01", None),
            ],
            true,
        );
        let mut s2 = s.clone();
        s2.schedules[0] = schedule("a", "cloud02", None);
        let outcomes = Outcomes::from([
            ("a".to_owned(), None),
            ("b".to_owned(), Some(String::new())),
        ]);
        let all = judge(&[mv("a"), mv("b"), mv("c")], &outcomes, &s2, T0).join("\n");
        for expected in [
            "GET moves lists 0 host(s) after the run, 1 failed",
            "a: moved, yet recorded in Some(\"cloud01\")",
            "a: last_build",
            "a: schedule 3 has build_start None",
            "b: failed without an error",
            "c: the server no longer has it",
            "assignment 7 of cloud02: provisioned=true",
        ] {
            assert!(all.contains(expected), "missing {expected:?} in\n{all}");
        }
    }
}
