//! What a simulated run did and how it is shown: [`RunResult`], [`SizeResult`] and
//! [`SimReport`] (the JSON), the markdown report ([`render`]), the one-line summary per run and
//! the sweep's plot and table.

use std::collections::BTreeMap;
use std::path::Path;

use provision_core::executor::ExecutorConfig;
use serde::Serialize;
use testkit::{FaultProfile, LabModel};

use super::args::Policy;
use super::bound::{Bound, Term};
use crate::plot::{self, Chart, Scale, Series};

/// What one policy's run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    /// The policy.
    pub policy: Policy,
    /// Hosts planned.
    pub hosts: usize,
    /// Lab seconds from the executor's start to its end.
    pub makespan: f64,
    /// Real seconds of the whole orchestrator process (or of the virtual run).
    pub wall_seconds: f64,
    /// Hosts moved, failed, interrupted.
    pub moved: usize,
    /// Hosts that failed.
    pub failed: usize,
    /// Hosts that were interrupted.
    pub interrupted: usize,
    /// Failed hosts whose BMC the lab made dead on purpose.
    pub failed_dead: usize,
    /// Step attempts beyond the first, summed over hosts.
    pub step_retries: u64,
    /// Foreman requests per host.
    pub foreman_requests_per_host: f64,
    /// BMC requests per host.
    pub bmc_requests_per_host: f64,
    /// Connections the BMCs accepted per host (TLS or not; 0 in virtual mode, which has none).
    pub bmc_connections_per_host: f64,
    /// Of those, TLS handshakes that resumed an earlier session, per host.
    pub bmc_tls_resumed_per_host: f64,
    /// The most BMC connections open at once (0 in virtual mode).
    pub bmc_peak_open: u64,
    /// Peak Foreman requests in service (capacity is the model's).
    pub foreman_peak_in_service: u64,
    /// Peak Foreman requests queued.
    pub foreman_peak_queued: u64,
    /// Foreman requests refused (backlog full).
    pub foreman_refused: u64,
    /// Peak BMC requests in flight across the fleet.
    pub bmc_peak_in_flight: u64,
    /// Peak requests in flight on any one BMC.
    pub per_bmc_peak_in_flight: u64,
    /// Installs, in all.
    pub installs: u64,
    /// The most boots any one host went through.
    pub max_boots_per_host: u64,
    /// Sessions left open on the BMCs at the end.
    pub sessions_open: u64,
    /// Overlapping writes to one Foreman object.
    pub overlapping_writes: u64,
    /// Violations in the lab's isolation report at the end (hosts reachable by someone other
    /// than their tenant; dead hosts left out). Must be 0.
    pub isolation_violations: usize,
    /// Switch commits, in all, and per switch at most.
    pub switch_commits: u64,
    /// The most commits any one switch took.
    pub switch_commits_max: u64,
    /// The most sessions open at once on any one switch (must be 1).
    pub switch_peak_sessions: u64,
    /// Seconds of the switch-ports step: median and slowest host.
    pub switch_step_p50: f64,
    /// The slowest host's switch-ports step, seconds.
    pub switch_step_max: f64,
    /// The adaptive Foreman write limit's range during the run and the writes' peak in flight.
    pub foreman_write_limit: String,
    /// The orchestrator's CPU seconds (virtual mode: the whole process, lab included).
    pub cpu_seconds: f64,
    /// CPU milliseconds per host moved.
    pub cpu_ms_per_host: f64,
    /// Peak resident memory, MiB (virtual mode: the whole process, lab included).
    pub peak_rss_mib: f64,
    /// Requests per host to each endpoint (`"bmc GET /redfish/v1/Systems/{id}"`), for reading
    /// where the per-host counts come from.
    pub requests_per_host_by_endpoint: std::collections::BTreeMap<String, f64>,
    /// makespan / LB.
    pub vs_lb: f64,
    /// makespan / LB_N.
    pub vs_lb_n: f64,
    /// makespan / LB_N with F at median service times (reports before 2026-12-07).
    pub vs_lb_n_median: f64,
    /// What is wrong (empty when every check passed).
    pub problems: Vec<String>,
    /// Faults the lab injected, by service and kind (`"foreman applied-504"`).
    pub faults: std::collections::BTreeMap<String, u64>,
    /// `--kill`: the kills, every run's wall time and what the soak's checks saw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kills: Option<super::kill::KillReport>,
}

/// One fleet size's results.
#[derive(Debug, Clone, Serialize)]
pub struct SizeResult {
    /// The bound.
    pub bound: Bound,
    /// Each policy's run.
    pub runs: Vec<RunResult>,
    /// QUADS 2019 makespan / ours, when both ran.
    pub speedup: Option<f64>,
}

/// The whole report (JSON).
#[derive(Debug, Clone, Serialize)]
pub struct SimReport {
    /// `real` (loopback HTTPS, a separate orchestrator process) or `virtual`.
    pub mode: &'static str,
    /// The command line.
    pub command: String,
    /// Real seconds per lab second.
    pub time_scale: f64,
    /// The fault profile.
    pub faults: FaultProfile,
    /// The seed.
    pub seed: u64,
    /// Tenant clouds.
    pub clouds: usize,
    /// The lab model used.
    pub model: LabModel,
    /// The limits and waits of our policy, in lab time.
    pub ours: ExecutorConfig,
    /// Each fleet size.
    pub sizes: Vec<SizeResult>,
}

/// The faults a run met, as one line (`bmc hang 3, foreman applied-504 12`), `none` if none.
pub(super) fn faults_line(r: &RunResult) -> String {
    if r.faults.is_empty() {
        return "none".to_owned();
    }
    r.faults
        .iter()
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn one_line(r: &RunResult) -> String {
    // an in-process lab has no connections to count
    let connections = if r.bmc_connections_per_host > 0.0 {
        format!(
            "{:.2} BMC connections/host ({:.2} resumed, at most {} open), ",
            r.bmc_connections_per_host, r.bmc_tls_resumed_per_host, r.bmc_peak_open
        )
    } else {
        String::new()
    };
    format!(
        "  {}: makespan {:.0} lab s, {}/{} moved, {} failed, {:.1} Foreman + {:.1} BMC req/host, \
         switch-ports step {:.1} s median / {:.1} s slowest ({} commits, at most {} on a switch, \
         {} session(s) at once), {} isolation violations, {connections}CPU {:.2} s ({:.2} ms/host), peak RSS {:.0} MiB, \
         wall {:.1} s{}",
        r.policy.name(),
        r.makespan,
        r.moved,
        r.hosts,
        r.failed,
        r.foreman_requests_per_host,
        r.bmc_requests_per_host,
        r.switch_step_p50,
        r.switch_step_max,
        r.switch_commits,
        r.switch_commits_max,
        r.switch_peak_sessions,
        r.isolation_violations,
        r.cpu_seconds,
        r.cpu_ms_per_host,
        r.peak_rss_mib,
        r.wall_seconds,
        if r.problems.is_empty() {
            String::new()
        } else {
            format!(", {} problem(s)", r.problems.len())
        }
    )
}

/// The report as text (markdown), every number with its meaning.
#[must_use]
pub fn render(report: &SimReport) -> String {
    let mut out = format!(
        "## simulate: {} mode, time scale {}, faults {}, seed {}, {} clouds\n\ncommand: `{}`\n\n",
        report.mode,
        report.time_scale,
        fault_name(&report.faults),
        report.seed,
        report.clouds,
        report.command,
    );
    let m = &report.model;
    out.push_str(&format!(
        "lab model (lab-model-v1, lab seconds): Foreman capacity {} (backlog {}), host build write {}, \
         parameter write {}, RBAC write {}, install {}; BMC PATCH {}, action {}, power off {}, \
         POST {}, config job {}, {} requests per BMC at once; log-normal σ Foreman {}, BMC {}, install 0.1.\n\n",
        m.foreman.capacity,
        m.foreman.backlog,
        m.foreman.host_build_write,
        m.foreman.param_write,
        m.foreman.rbac_write,
        m.foreman.install,
        m.bmc.patch,
        m.bmc.action,
        m.bmc.power_off,
        m.bmc.power_on_post,
        m.bmc.config_job,
        m.bmc.concurrency,
        m.foreman.sigma,
        m.bmc.sigma,
    ));
    let l = &report.ours.limits;
    out.push_str(&format!(
        "our policy (lab time): hosts in flight ≥ N, Foreman reads {}, writes adaptive {}..{} (from {}), \
         Foreman rate {}/s, per BMC {}, power-on rate {}/s (burst {}), install poll every {:?}. \
         QUADS 2019 preset: Foreman writes 1 at a time, 4 host writes, lookups per host, 600 s \
         sleep after a boot-order change, clouds one after another.\n",
        l.foreman_reads,
        l.foreman_writes.floor,
        l.foreman_writes.ceiling,
        l.foreman_writes.initial,
        l.foreman_rate.per_second,
        l.per_bmc,
        l.power_on_rate.per_second,
        l.power_on_rate.burst,
        report.ours.poll_interval,
    ));
    for size in &report.sizes {
        let b = &size.bound;
        out.push_str(&format!(
            "\n### {} hosts ({} need a boot-order change)\n\n",
            b.hosts, b.boot_order_changes
        ));
        let terms = |ts: &[Term]| {
            ts.iter()
                .map(|t| format!("{} {:.2}", t.what, t.seconds))
                .collect::<Vec<_>>()
                .join(" + ")
        };
        out.push_str(&format!(
            "- CP = {} = **{:.1} s**\n- F = {} = **{:.3} s**; N·F/capacity = {} × {:.3} / {} = {:.1} s\n\
             - **LB = max(CP, N·F/capacity) = {:.1} s**\n\
             - CP_N (expected slowest of {} drawn paths) = {:.1} s; LB_N = max(CP_N, N·F/capacity + tail {:.1}) = {:.1} s \
             (with F at median service times, as reports before 2026-12-07: {:.1} s)\n\n",
            terms(&b.cp_terms),
            b.cp,
            terms(&b.f_terms),
            b.f,
            b.hosts,
            b.f,
            b.capacity,
            b.foreman_bound,
            b.lb,
            b.hosts,
            b.cp_n,
            b.tail,
            b.lb_n,
            b.lb_n_median,
        ));
        let headers = [
            "policy",
            "makespan lab s",
            "makespan/LB",
            "makespan/LB_N",
            "makespan/LB_N, median F",
            "moved",
            "failed (dead BMC)",
            "step retries",
            "Foreman req/host",
            "BMC req/host",
            "Foreman peak in service / queued / refused",
            "BMC peak in flight (fleet / one BMC)",
            "Foreman write limit",
            "installs",
            "max boots/host",
            "sessions open",
            "overlapping writes",
            "switch-ports step s (median / slowest)",
            "switch commits (all / most on one)",
            "isolation violations",
            "CPU s",
            "CPU ms/host",
            "peak RSS MiB",
            "wall s",
        ];
        let rows: Vec<Vec<String>> = size
            .runs
            .iter()
            .map(|r| {
                vec![
                    r.policy.name().to_owned(),
                    format!("{:.0}", r.makespan),
                    format!("{:.2}", r.vs_lb),
                    format!("{:.2}", r.vs_lb_n),
                    format!("{:.2}", r.vs_lb_n_median),
                    format!("{}/{}", r.moved, r.hosts),
                    format!("{} ({})", r.failed, r.failed_dead),
                    r.step_retries.to_string(),
                    format!("{:.1}", r.foreman_requests_per_host),
                    format!("{:.1}", r.bmc_requests_per_host),
                    format!(
                        "{} / {} / {}",
                        r.foreman_peak_in_service, r.foreman_peak_queued, r.foreman_refused
                    ),
                    format!("{} / {}", r.bmc_peak_in_flight, r.per_bmc_peak_in_flight),
                    r.foreman_write_limit.clone(),
                    r.installs.to_string(),
                    r.max_boots_per_host.to_string(),
                    r.sessions_open.to_string(),
                    r.overlapping_writes.to_string(),
                    format!("{:.1} / {:.1}", r.switch_step_p50, r.switch_step_max),
                    format!("{} / {}", r.switch_commits, r.switch_commits_max),
                    r.isolation_violations.to_string(),
                    format!("{:.2}", r.cpu_seconds),
                    format!("{:.2}", r.cpu_ms_per_host),
                    format!("{:.0}", r.peak_rss_mib),
                    format!("{:.1}", r.wall_seconds),
                ]
            })
            .collect();
        out.push_str(&plot::markdown_table(&headers, &rows));
        if let Some(x) = size.speedup {
            out.push_str(&format!("\nQUADS 2019 makespan / ours: **{x:.1}×**\n"));
        }
        for r in &size.runs {
            out.push_str(&format!(
                "\n- faults injected ({}): {}",
                r.policy.name(),
                faults_line(r)
            ));
            if let Some(k) = &r.kills {
                out.push_str(&format!("\n- {}", kills_line(k)));
            }
        }
        for r in &size.runs {
            for p in r.problems.iter().take(10) {
                out.push_str(&format!("\n- problem ({}): {p}", r.policy.name()));
            }
        }
    }
    out
}

/// `--kill`'s figures as one line: the kills, the runs' wall time and what the checks saw.
fn kills_line(k: &super::kill::KillReport) -> String {
    let moments = k
        .runs
        .iter()
        .map(|r| {
            let mark = if r.killed { "" } else { " (ended first)" };
            format!("{:.2}{mark}", r.kill_after)
        })
        .collect::<Vec<_>>()
        .join(", ");
    let hangs = k
        .longest_hang
        .iter()
        .map(|(s, h)| format!("{s} {h:.0}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "kills: {} of {} delivered, each after [{moments}] real s of its run; runs' wall time \
         {:.1} s summed, {:.1} s in all; re-kicked (journal): {}; longest hung connection \
         (lab s): {}; sessions expired {}, left in the store {}",
        k.delivered(),
        k.planned,
        k.runs_wall,
        k.total_wall,
        if k.rekicked.is_empty() {
            "none".to_owned()
        } else {
            k.rekicked.join(", ")
        },
        if hangs.is_empty() {
            "none".to_owned()
        } else {
            hangs
        },
        k.sessions_expired,
        k.journaled_sessions_open,
    )
}

fn fault_name(f: &FaultProfile) -> &'static str {
    if *f == FaultProfile::none() {
        "none"
    } else if *f == FaultProfile::chaos() {
        "chaos"
    } else if *f == FaultProfile::hard() {
        "hard"
    } else {
        "custom"
    }
}

/// The sweep's plot (SVG) and table (markdown) into `out`.
pub(super) fn write_sweep(report: &SimReport, out: &Path) -> anyhow::Result<()> {
    let mut by_policy: BTreeMap<&'static str, Vec<(f64, f64)>> = BTreeMap::new();
    #[allow(clippy::cast_precision_loss)]
    for size in &report.sizes {
        for r in &size.runs {
            by_policy
                .entry(r.policy.name())
                .or_default()
                .push((size.bound.hosts as f64, r.makespan));
        }
        by_policy
            .entry("lower bound (LB)")
            .or_default()
            .push((size.bound.hosts as f64, size.bound.lb));
        by_policy
            .entry("N-host bound (LB_N)")
            .or_default()
            .push((size.bound.hosts as f64, size.bound.lb_n));
    }
    let series: Vec<Series> = by_policy
        .into_iter()
        .map(|(name, points)| Series {
            name: name.to_owned(),
            points,
        })
        .collect();
    let title = format!(
        "move-and-rebuild completion time vs fleet size ({} mode, {} clouds)",
        report.mode, report.clouds
    );
    let svg = plot::svg(&Chart {
        title: &title,
        x_label: "hosts moved",
        y_label: "makespan (lab seconds)",
        x_scale: Scale::Log,
        y_scale: Scale::Log,
        series: &series,
    });
    let svg_path = out.join("sweep.svg");
    std::fs::write(&svg_path, svg)?;
    let headers = [
        "hosts",
        "LB s",
        "ours s",
        "ours/LB",
        "LB_N s",
        "ours/LB_N",
        "QUADS 2019 s",
        "QUADS/ours",
        "ours CPU ms/host",
    ];
    let rows: Vec<Vec<String>> = report
        .sizes
        .iter()
        .map(|s| {
            let find = |p| s.runs.iter().find(|r| r.policy == p);
            let ours = find(Policy::Ours);
            let quads = find(Policy::Quads2019);
            vec![
                s.bound.hosts.to_string(),
                format!("{:.0}", s.bound.lb),
                ours.map_or("-".into(), |r| format!("{:.0}", r.makespan)),
                ours.map_or("-".into(), |r| format!("{:.2}", r.vs_lb)),
                format!("{:.0}", s.bound.lb_n),
                ours.map_or("-".into(), |r| format!("{:.2}", r.vs_lb_n)),
                quads.map_or("-".into(), |r| format!("{:.0}", r.makespan)),
                s.speedup.map_or("-".into(), |x| format!("{x:.1}×")),
                ours.map_or("-".into(), |r| format!("{:.2}", r.cpu_ms_per_host)),
            ]
        })
        .collect();
    let table_path = out.join("sweep.md");
    std::fs::write(
        &table_path,
        format!(
            "{title}\n\ncommand: `{}`\n\n{}",
            report.command,
            plot::markdown_table(&headers, &rows)
        ),
    )?;
    println!("sweep: {} and {}", svg_path.display(), table_path.display());
    Ok(())
}
