//! `cargo xtask simulate --kill N`: issue 16's crash soak. The measured `quads move-hosts` is
//! killed with SIGKILL at N seeded moments spread over the expected makespan and started again
//! each time (the next run resumes from the journal), then run to the end; [`judge`] checks
//! every Done-when clause from the lab's counters and the store's journal.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use provision_core::model::Subject;
use provision_core::{OpenMode, Store, StoreOptions, SystemClock};
use serde::Serialize;
use testkit::MetricsSnapshot;

/// Hosts named in one failed clause, at most.
const NAMED: usize = 10;

/// The real seconds after each run's start at which it is killed: `n` seeded uniform moments
/// over `expected` (the cumulative run time), sorted and taken as gaps, each at least 100 ms so
/// that every run gets going.
#[must_use]
pub fn kill_gaps(n: usize, expected: Duration, seed: u64) -> Vec<Duration> {
    let mut state = seed ^ 0x6b69_6c6c_5eed;
    let mut next = move || {
        // splitmix64
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    #[allow(clippy::cast_precision_loss)]
    let mut moments: Vec<f64> = (0..n)
        .map(|_| (next() >> 11) as f64 / (1u64 << 53) as f64 * expected.as_secs_f64())
        .collect();
    moments.sort_by(f64::total_cmp);
    let mut last = 0.0;
    moments
        .into_iter()
        .map(|m| {
            let gap = Duration::from_secs_f64(m - last).max(Duration::from_millis(100));
            last = m;
            gap
        })
        .collect()
}

/// One run of `quads move-hosts` before the last.
#[derive(Debug, Clone, Serialize)]
pub struct KilledRun {
    /// Real seconds after its start at which it was to be killed.
    pub kill_after: f64,
    /// Whether it was still running then (and was killed).
    pub killed: bool,
    /// Real seconds it ran.
    pub wall: f64,
}

/// The kills of a run and what the soak's checks saw.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KillReport {
    /// Kills planned.
    pub planned: usize,
    /// The runs before the last, in order.
    pub runs: Vec<KilledRun>,
    /// Real seconds of every run, the last included, summed.
    pub runs_wall: f64,
    /// Real seconds from the first run's start to the last one's end.
    pub total_wall: f64,
    /// Hosts journaled as re-kicked.
    pub rekicked: Vec<String>,
    /// The longest any hung connection was held (lab seconds), by service.
    pub longest_hang: BTreeMap<String, f64>,
    /// Our sessions the BMCs expired (noticed): none is left to expire.
    pub sessions_expired: u64,
    /// Sessions the store still lists open at the end.
    pub journaled_sessions_open: usize,
    /// Healthy hosts in their cloud at the end, per the store (what the soak moved, every run
    /// counted, where the last run's report counts only the hosts left to it).
    pub moved: usize,
}

impl KillReport {
    /// Kills delivered (runs still running at their moment).
    #[must_use]
    pub fn delivered(&self) -> usize {
        self.runs.iter().filter(|r| r.killed).count()
    }
}

/// Runs `quads ARGV` once per gap, killing it with SIGKILL `gap` after its start if it is still
/// running; stops early once a run ends by itself (nothing left to kill).
pub async fn killed_runs(
    quads: &Path,
    argv: &[String],
    env: &[(&str, &str)],
    dir: &Path,
    gaps: &[Duration],
) -> anyhow::Result<Vec<KilledRun>> {
    let mut runs = Vec::new();
    for (i, gap) in gaps.iter().enumerate() {
        let file = |ext: &str| std::fs::File::create(dir.join(format!("killed-{i}.{ext}")));
        let started = Instant::now();
        let mut child = tokio::process::Command::new(quads)
            .args(argv)
            .envs(env.iter().copied())
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(file("stdout")?)
            .stderr(file("stderr")?)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", quads.display()))?;
        let killed = tokio::select! {
            status = child.wait() => {
                status?;
                false
            }
            () = tokio::time::sleep(*gap) => {
                child.start_kill().context("cannot kill quads")?;
                child.wait().await?;
                true
            }
        };
        runs.push(KilledRun {
            kill_after: gap.as_secs_f64(),
            killed,
            wall: started.elapsed().as_secs_f64(),
        });
        if !killed {
            break;
        }
    }
    Ok(runs)
}

/// What [`judge`] reads besides the lab's counters.
pub struct Facts<'a> {
    /// The store (`quads.db` of the run directory).
    pub store: &'a Path,
    /// Each healthy host's cloud at the end.
    pub expected: BTreeMap<String, String>,
    /// The request deadline, lab seconds.
    pub request_timeout: f64,
}

/// Checks issue 16's Done-when clauses after the last run: every healthy host in its cloud (the
/// store), at most one install per host except the journaled re-kicks (exactly two network
/// boots into the installer), at most one power cycle (and one boot) per attempt, no
/// overlapping Foreman write, no session of ours left open on a BMC nor in the store, and no
/// hung connection held past twice the request deadline. Each failed clause names its hosts.
pub async fn judge(
    facts: &Facts<'_>,
    metrics: &MetricsSnapshot,
    report: &mut KillReport,
) -> anyhow::Result<Vec<String>> {
    let store = Store::open(StoreOptions {
        path: facts.store.to_path_buf(),
        mode: OpenMode::MustExist,
        clock: Arc::new(SystemClock),
    })
    .await
    .context("cannot open the run's store")?;
    let mut rekicks: BTreeMap<String, usize> = BTreeMap::new();
    for run in store.runs(100_000).await? {
        for e in store.journal().entries(run.id).await? {
            if let Subject::Host(h) = &e.subject
                && e.step.to_word() == "re-kick"
            {
                // intents and outcomes: a host journaled at all was re-kicked
                *rekicks.entry(h.to_string()).or_default() += 1;
            }
        }
    }
    let clouds: BTreeMap<String, String> = store
        .hosts()
        .await?
        .into_iter()
        .map(|h| {
            (
                h.name.as_str().to_owned(),
                h.current_cloud.as_str().to_owned(),
            )
        })
        .collect();
    let journaled_open = store.bmc_sessions().await?;
    store.close().await;
    report.moved = facts
        .expected
        .iter()
        .filter(|(h, cloud)| clouds.get(*h) == Some(*cloud))
        .count();
    report.rekicked = rekicks.keys().cloned().collect();
    report.journaled_sessions_open = journaled_open.len();
    report.sessions_expired = metrics.hosts.values().map(|c| c.sessions_expired).sum();
    report.longest_hang = metrics
        .hangs
        .iter()
        .map(|(s, h)| (s.clone(), h.longest))
        .collect();
    Ok(clauses(
        facts,
        metrics,
        &rekicks,
        &clouds,
        journaled_open.len(),
    ))
}

fn clauses(
    facts: &Facts<'_>,
    metrics: &MetricsSnapshot,
    rekicks: &BTreeMap<String, usize>,
    clouds: &BTreeMap<String, String>,
    journaled_open: usize,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut clause = |what: &str, hosts: Vec<String>| {
        if !hosts.is_empty() {
            let more = hosts.len().saturating_sub(NAMED);
            let mut named = hosts.into_iter().take(NAMED).collect::<Vec<_>>().join(", ");
            if more > 0 {
                named.push_str(&format!(" and {more} more"));
            }
            problems.push(format!("{what}: {named}"));
        }
    };
    clause(
        "healthy hosts not in their cloud (store)",
        facts
            .expected
            .iter()
            .filter(|(h, cloud)| clouds.get(*h) != Some(*cloud))
            .map(|(h, cloud)| {
                let now = clouds.get(h).map_or("unknown", String::as_str);
                format!("{h} ({now}, not {cloud})")
            })
            .collect(),
    );
    let hosts = &metrics.hosts;
    clause(
        "more than one install (not re-kicked)",
        hosts
            .iter()
            .filter(|(h, c)| !rekicks.contains_key(*h) && (c.rekicks > 0 || c.installs_started > 1))
            .map(|(h, c)| {
                format!(
                    "{h} ({} started, {} re-kicks)",
                    c.installs_started, c.rekicks
                )
            })
            .collect(),
    );
    clause(
        "re-kicked hosts without exactly two network boots into the installer",
        rekicks
            .keys()
            .filter(|h| metrics.host(h).rekicks != 1)
            .map(|h| format!("{h} ({} re-kicks seen)", metrics.host(h).rekicks))
            .collect(),
    );
    clause(
        "more than one install completed",
        hosts
            .iter()
            .filter(|(_, c)| c.installs > 1)
            .map(|(h, c)| format!("{h} ({})", c.installs))
            .collect(),
    );
    clause(
        "more than one power cycle or boot per attempt",
        hosts
            .iter()
            .filter(|(_, c)| c.power_cycles > 1 + c.rekicks || c.boots > 1 + c.rekicks)
            .map(|(h, c)| {
                format!(
                    "{h} ({} cycles, {} boots, {} attempts)",
                    c.power_cycles,
                    c.boots,
                    1 + c.rekicks
                )
            })
            .collect(),
    );
    clause(
        "overlapping Foreman writes",
        metrics
            .overlapping_writes
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(object, n)| format!("{object} ({n})"))
            .collect(),
    );
    clause(
        "BMC sessions of ours open at the end",
        hosts
            .iter()
            .filter(|(_, c)| c.sessions_open > 0)
            .map(|(h, c)| format!("{h} ({})", c.sessions_open))
            .collect(),
    );
    // a session left by a killed run and never closed would time out on the BMC
    clause(
        "BMC sessions of ours left to expire",
        hosts
            .iter()
            .filter(|(_, c)| c.sessions_expired > 0)
            .map(|(h, c)| format!("{h} ({})", c.sessions_expired))
            .collect(),
    );
    if journaled_open > 0 {
        problems.push(format!(
            "the store still lists {journaled_open} BMC session(s) open"
        ));
    }
    // A hung connection costs a client at most its request deadline; one that stalled would
    // be held until the step's attempt deadline (5 minutes and more) or the lab's hour.
    // Twice the deadline leaves room for a loaded machine's scheduling.
    let limit = 2.0 * facts.request_timeout;
    for (service, h) in &metrics.hangs {
        if h.longest > limit {
            problems.push(format!(
                "a hung {service} connection was held {:.0} lab s (deadline {:.0} s)",
                h.longest, facts.request_timeout
            ));
        }
    }
    for service in ["bmc", "foreman"] {
        let hung = metrics.faults_of(&format!("{service} hang"));
        let ended = metrics.hangs.get(service).map_or(0, |h| h.ended);
        if ended < hung {
            problems.push(format!(
                "{} hung {service} connection(s) still held at the end",
                hung - ended
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use testkit::{HangCounters, HostCounters};

    use super::*;

    #[test]
    fn kill_moments_are_seeded_and_spread_over_the_makespan() {
        let expected = Duration::from_secs(20);
        let gaps = kill_gaps(10, expected, 7);
        assert_eq!(gaps, kill_gaps(10, expected, 7));
        assert_ne!(gaps, kill_gaps(10, expected, 8));
        assert_eq!(gaps.len(), 10);
        assert!(gaps.iter().all(|g| *g >= Duration::from_millis(100)));
        let total: Duration = gaps.iter().sum();
        assert!(total <= expected + Duration::from_secs(1), "{total:?}");
    }

    #[test]
    fn every_clause_names_its_hosts() {
        let facts = Facts {
            store: Path::new("unused"),
            expected: [("a", "cloud02"), ("b", "cloud03")]
                .map(|(h, c)| (h.to_owned(), c.to_owned()))
                .into(),
            request_timeout: 60.0,
        };
        let mut m = MetricsSnapshot::default();
        let host = |installs_started, rekicks, power_cycles, boots| HostCounters {
            installs: 1,
            installs_started,
            rekicks,
            power_cycles,
            boots,
            ..HostCounters::default()
        };
        m.hosts.insert("a".into(), host(1, 0, 1, 1));
        m.hosts.insert("b".into(), host(1, 1, 1, 2));
        m.hosts.insert(
            "c".into(),
            HostCounters {
                sessions_open: 1,
                sessions_expired: 1,
                ..host(2, 0, 2, 2)
            },
        );
        m.hosts.insert("d".into(), host(1, 0, 1, 1));
        m.overlapping_writes.insert("host:1".into(), 1);
        m.faults.insert("bmc hang".into(), 2);
        m.hangs.insert(
            "bmc".into(),
            HangCounters {
                ended: 1,
                longest: 3600.0,
            },
        );
        let clouds = [("a", "cloud02"), ("b", "cloud01")]
            .map(|(h, c)| (h.to_owned(), c.to_owned()))
            .into();
        // b's re-kick is not journaled; d's journaled re-kick left no second boot
        let rekicks = [("d".to_owned(), 1)].into();
        let all = clauses(&facts, &m, &rekicks, &clouds, 1).join("\n");
        for expected in [
            "not in their cloud (store): b (cloud01, not cloud03)",
            "more than one install (not re-kicked): b (1 started, 1 re-kicks), c (2 started",
            "exactly two network boots into the installer: d (0 re-kicks seen)",
            "per attempt: c (2 cycles, 2 boots, 1 attempts)",
            "overlapping Foreman writes: host:1 (1)",
            "open at the end: c (1)",
            "left to expire: c (1)",
            "the store still lists 1 BMC session(s) open",
            "a hung bmc connection was held 3600 lab s",
            "1 hung bmc connection(s) still held at the end",
        ] {
            assert!(all.contains(expected), "missing {expected:?} in\n{all}");
        }
        assert!(!all.contains(" a "), "{all}");
    }
}
