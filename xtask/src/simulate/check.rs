//! The correctness checks of a simulated run: its [`RunResult`] from the run's report and the
//! lab's counters, with every broken promise named (healthy hosts moved, one install and one
//! boot per host, no session left open, no overlapping Foreman write, isolation).

use provision_core::executor::RunReport;
use testkit::MetricsSnapshot;

use super::args::Policy;
use super::report::RunResult;

/// What a simulated run must leave (see [`crate::demo::expectation`]), dead hosts left out.
#[must_use]
pub fn isolation_expectation(
    inventory: &testkit::Inventory,
    clouds: usize,
    dead: &[String],
) -> testkit::Expectation {
    let mut expect = crate::demo::expectation(inventory, clouds);
    expect.hosts.retain(|name, _| !dead.contains(name));
    expect
}

/// Counts the isolation report's violations into `r` (any is a problem).
pub fn judge_isolation(r: &mut RunResult, report: &testkit::IsolationReport) {
    r.isolation_violations = report.violations.len();
    for v in report.violations.iter().take(10) {
        r.problems
            .push(format!("isolation: {} {}: {}", v.kind, v.subject, v.detail));
    }
}

/// The names of the hosts whose BMC is dead.
pub fn dead_hosts(
    dead: &std::collections::BTreeSet<usize>,
    inventory: &testkit::Inventory,
) -> Vec<String> {
    dead.iter()
        .filter_map(|&i| inventory.hosts.get(i).map(|h| h.name.clone()))
        .collect()
}

/// What a run cost.
#[derive(Debug, Clone, Copy)]
pub struct Costs {
    /// Lab seconds.
    pub makespan: f64,
    /// Real seconds.
    pub wall: f64,
    /// CPU seconds.
    pub cpu: f64,
    /// Peak RSS.
    pub rss_mib: f64,
}

/// A run's result from its report and the lab's counters, with the correctness checks.
pub fn result(
    policy: Policy,
    report: &RunReport,
    metrics: &MetricsSnapshot,
    dead: &[String],
    costs: Costs,
) -> RunResult {
    let n = report.hosts.len().max(1) as f64;
    let hosts: Vec<_> = metrics.hosts.values().collect();
    let sum = |f: &dyn Fn(&testkit::HostCounters) -> u64| hosts.iter().map(|c| f(c)).sum::<u64>();
    let max =
        |f: &dyn Fn(&testkit::HostCounters) -> u64| hosts.iter().map(|c| f(c)).max().unwrap_or(0);
    let step_retries = report
        .hosts
        .iter()
        .flat_map(|h| &h.steps)
        .map(|s| u64::from(s.attempts.saturating_sub(1)))
        .sum();
    let failed_dead = report
        .hosts
        .iter()
        .filter(|h| h.status != provision_core::executor::HostStatus::Moved)
        .filter(|h| dead.contains(&h.host))
        .count();
    let mut problems = Vec::new();
    for h in &report.hosts {
        if h.status != provision_core::executor::HostStatus::Moved && !dead.contains(&h.host) {
            problems.push(format!(
                "healthy host {} did not move ({:?} at {}: {})",
                h.host,
                h.status,
                h.failed_step.as_deref().unwrap_or("-"),
                h.error.as_deref().unwrap_or("-")
            ));
        }
    }
    for name in dead {
        if report
            .hosts
            .iter()
            .any(|h| &h.host == name && h.status == provision_core::executor::HostStatus::Moved)
        {
            problems.push(format!("dead host {name} reported moved"));
        }
    }
    for h in report
        .hosts
        .iter()
        .filter(|h| h.status == provision_core::executor::HostStatus::Moved && h.wipe)
    {
        let c = metrics.host(&h.host);
        if c.installs != 1 {
            problems.push(format!("{} installed {} times", h.host, c.installs));
        }
        // a host whose first network boot failed is booted once more: its one re-kick
        if c.boots != 1 + c.rekicks || c.rekicks > 1 {
            problems.push(format!(
                "{} booted {} times ({} re-kicks)",
                h.host, c.boots, c.rekicks
            ));
        }
    }
    let sessions_open = sum(&|c| c.sessions_open);
    if sessions_open > 0 {
        problems.push(format!("{sessions_open} BMC sessions left open"));
    }
    let overlapping = metrics.total_overlapping_writes();
    if overlapping > 0 {
        problems.push(format!(
            "{overlapping} overlapping writes to one Foreman object"
        ));
    }
    let switch_commits: u64 = metrics.switches.values().map(|c| c.commits).sum();
    let switch_commits_max = metrics
        .switches
        .values()
        .map(|c| c.commits)
        .max()
        .unwrap_or(0);
    let switch_peak_sessions = metrics
        .switches
        .values()
        .map(|c| c.peak_sessions)
        .max()
        .unwrap_or(0);
    if switch_peak_sessions > 1 {
        problems.push(format!(
            "{switch_peak_sessions} sessions at once on one switch"
        ));
    }
    let mut switch_step: Vec<f64> = report
        .hosts
        .iter()
        .flat_map(|h| &h.steps)
        .filter(|s| s.step == "switch-ports")
        .map(|s| s.seconds)
        .collect();
    switch_step.sort_by(f64::total_cmp);
    let w = &report.limits.foreman_writes;
    RunResult {
        policy,
        hosts: report.hosts.len(),
        makespan: costs.makespan,
        wall_seconds: costs.wall,
        moved: report.counts.moved,
        failed: report.counts.failed,
        interrupted: report.counts.interrupted,
        failed_dead,
        step_retries,
        foreman_requests_per_host: sum(&|c| c.foreman_requests) as f64 / n,
        bmc_requests_per_host: sum(&|c| c.bmc_requests) as f64 / n,
        bmc_connections_per_host: metrics.bmc_connections.accepted as f64 / n,
        bmc_tls_resumed_per_host: metrics.bmc_connections.tls_resumed as f64 / n,
        bmc_peak_open: metrics.bmc_connections.peak_open,
        foreman_peak_in_service: metrics.foreman_peak_in_service,
        foreman_peak_queued: metrics.foreman_peak_queued,
        foreman_refused: metrics.foreman_refused,
        bmc_peak_in_flight: metrics.bmc_peak_in_flight,
        per_bmc_peak_in_flight: max(&|c| c.peak_bmc_in_flight),
        installs: sum(&|c| c.installs),
        max_boots_per_host: max(&|c| c.boots),
        sessions_open,
        overlapping_writes: overlapping,
        isolation_violations: 0,
        switch_commits,
        switch_commits_max,
        switch_peak_sessions,
        switch_step_p50: switch_step
            .get(switch_step.len() / 2)
            .copied()
            .unwrap_or(0.0),
        switch_step_max: switch_step.last().copied().unwrap_or(0.0),
        foreman_write_limit: format!(
            "{}..{} (peak {} in flight)",
            w.min_limit, w.max_limit, w.peak_in_flight
        ),
        cpu_seconds: costs.cpu,
        cpu_ms_per_host: costs.cpu * 1000.0 / report.counts.moved.max(1) as f64,
        peak_rss_mib: costs.rss_mib,
        requests_per_host_by_endpoint: metrics
            .endpoints
            .iter()
            .map(|(endpoint, count)| (endpoint.clone(), *count as f64 / n))
            .collect(),
        vs_lb: f64::NAN,
        vs_lb_n: f64::NAN,
        vs_lb_n_median: f64::NAN,
        problems,
        faults: metrics.faults.clone(),
        kills: None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use provision_core::executor::{HostReport, HostStatus};
    use provision_core::limits::{Limits, LimitsConfig};
    use testkit::HostCounters;

    use super::*;

    fn host(name: &str, status: HostStatus) -> HostReport {
        HostReport {
            host: name.to_owned(),
            from: "cloud01".to_owned(),
            to: "cloud02".to_owned(),
            wipe: true,
            status,
            failed_step: None,
            attempts: 1,
            error: None,
            seconds: 1.0,
            steps: Vec::new(),
        }
    }

    fn report(hosts: Vec<HostReport>) -> RunReport {
        RunReport {
            version: 1,
            run: 1,
            target_time: "2026-01-01T00:00:00Z".to_owned(),
            interrupted: false,
            counts: RunReport::count(&hosts),
            provisioned_clouds: Vec::new(),
            retired_clouds: Vec::new(),
            write_back_errors: Vec::new(),
            validations: Vec::new(),
            events: Vec::new(),
            notifications: None,
            bmc_sessions_open: Vec::new(),
            hosts,
            install_polls: 1,
            seconds: 10.0,
            limits: Limits::new(&LimitsConfig::default()).unwrap().report(),
        }
    }

    fn counters(installs: u64, boots: u64) -> HostCounters {
        HostCounters {
            installs,
            boots,
            foreman_requests: 6,
            bmc_requests: 20,
            ..HostCounters::default()
        }
    }

    fn costs() -> Costs {
        Costs {
            makespan: 400.0,
            wall: 1.0,
            cpu: 0.5,
            rss_mib: 30.0,
        }
    }

    #[test]
    fn checks_pass_when_every_healthy_host_moved_once() {
        let mut metrics = MetricsSnapshot::default();
        metrics.hosts.insert("a".into(), counters(1, 1));
        metrics.hosts.insert("b".into(), counters(1, 1));
        metrics.hosts.insert("dead".into(), HostCounters::default());
        let r = result(
            Policy::Ours,
            &report(vec![
                host("a", HostStatus::Moved),
                host("b", HostStatus::Moved),
                host("dead", HostStatus::Failed),
            ]),
            &metrics,
            &["dead".to_owned()],
            costs(),
        );
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!((r.moved, r.failed, r.failed_dead), (2, 1, 1));
        assert!((r.foreman_requests_per_host - 4.0).abs() < 1e-9);
        assert!((r.cpu_ms_per_host - 250.0).abs() < 1e-9);
    }

    #[test]
    fn checks_name_every_broken_promise() {
        let mut metrics = MetricsSnapshot::default();
        metrics.hosts.insert("a".into(), counters(2, 1));
        metrics.hosts.insert(
            "b".into(),
            HostCounters {
                sessions_open: 1,
                ..counters(1, 2)
            },
        );
        metrics.overlapping_writes.insert("host:1".into(), 1);
        let r = result(
            Policy::Ours,
            &report(vec![
                host("a", HostStatus::Moved),
                host("b", HostStatus::Moved),
                host("c", HostStatus::Failed),
                host("dead", HostStatus::Moved),
            ]),
            &metrics,
            &["dead".to_owned()],
            costs(),
        );
        let all = r.problems.join("\n");
        for expected in [
            "healthy host c did not move",
            "dead host dead reported moved",
            "a installed 2 times",
            "b booted 2 times",
            "1 BMC sessions left open",
            "1 overlapping writes",
        ] {
            assert!(all.contains(expected), "missing {expected:?} in\n{all}");
        }
    }
}
