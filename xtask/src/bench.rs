//! `cargo xtask bench`: Badfish (the pinned PyPI release in `target/peers`) against
//! `quads oob` (built in release) on the same lab BMCs, side by side.
//!
//! Every run gets a fresh in-process lab with the same seed, so both tools face the same fleet
//! in the same state (power, boot orders, job queues); runs alternate the tool order (B/q, q/B).
//! Per run: wall time, CPU time (user+sys) and peak RSS of the tool process, its exit code and
//! failed hosts (parsed from its output), and from the lab's counters the BMC requests per host,
//! sessions opened, closed and left open, plus a check that the action really happened.
//!
//! The lab's host names carry the model that Badfish's interfaces YAML is keyed by
//! (`f01-h01-000-r640.lab.example`), and both tools parse it from the `--host-list` entries, so
//! for the duration of the bench the names are mapped to the BMCs' 127.0.x.y addresses in a
//! marked block of `/etc/hosts` (removed at the end). BMC certificates name only the address,
//! so both tools run with `--insecure`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::ValueEnum;
use serde::Serialize;
use testkit::{Flavor, Lab, LabConfig};

use crate::peers;
use crate::util::run;

/// What `cargo xtask bench` was asked for.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// BMCs in the `--host-list`.
    #[arg(long, default_value_t = 500)]
    pub hosts: usize,
    /// Runs per tool, action and time scale (the tables show medians).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Lab time scales (0 = no simulated latency, 1 = the lab model's latencies).
    #[arg(long, value_delimiter = ',', default_value = "0,1")]
    pub time_scales: Vec<f64>,
    /// Actions to measure.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "power-state,check-boot,power-cycle,boot-to-type"
    )]
    pub actions: Vec<BenchAction>,
    /// BMC flavours of the lab (dell, idrac10, supermicro, generic, hpe, lenovo, or all).
    #[arg(long, value_delimiter = ',', default_value = "dell")]
    pub flavors: Vec<String>,
    /// BMCs `quads oob` works on at once (its default is 64; Badfish starts every host at once).
    #[arg(long)]
    pub quads_concurrency: Option<usize>,
    /// Also write every run and the summaries as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the tables into BENCHMARKS.md.
    #[arg(long)]
    pub write_markdown: bool,
}

/// The Badfish actions compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum BenchAction {
    /// `--power-state`.
    PowerState,
    /// `--check-boot -i FILE`.
    CheckBoot,
    /// `--power-cycle`.
    PowerCycle,
    /// `--boot-to-type foreman -i FILE`.
    BootToType,
}

impl BenchAction {
    fn name(self) -> &'static str {
        match self {
            Self::PowerState => "power-state",
            Self::CheckBoot => "check-boot",
            Self::PowerCycle => "power-cycle",
            Self::BootToType => "boot-to-type",
        }
    }

    /// The flags, the same for both tools.
    fn flags(self, interfaces: &Path) -> Vec<String> {
        let i = interfaces.to_string_lossy().into_owned();
        match self {
            Self::PowerState => vec!["--power-state".into()],
            Self::CheckBoot => vec!["--check-boot".into(), "-i".into(), i],
            Self::PowerCycle => vec!["--power-cycle".into()],
            Self::BootToType => vec!["--boot-to-type".into(), "foreman".into(), "-i".into(), i],
        }
    }
}

/// The two tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tool {
    /// Badfish from PyPI.
    Badfish,
    /// `quads oob`.
    Quads,
}

/// One run of one tool.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    tool: Tool,
    action: BenchAction,
    time_scale: f64,
    run: usize,
    wall_s: f64,
    cpu_s: f64,
    peak_rss_kib: u64,
    exit_code: Option<i32>,
    hosts_failed: usize,
    bmc_requests_per_host: f64,
    sessions_opened: u64,
    sessions_closed: u64,
    sessions_left_open: u64,
    /// `None` when the lab shows the action done on every host; else what was wrong.
    check_problem: Option<String>,
    /// Per flavour: (hosts failed or wrong in the lab check, hosts).
    by_flavor: BTreeMap<String, (usize, usize)>,
    /// The longest time, in seconds of the run, that a machine took to read `Off` after a
    /// `ForceOff` of this run (0 when none was sent): a tool that waits for `Off` before
    /// powering on cannot finish sooner.
    force_off_floor_s: f64,
}

/// Medians of one tool's runs of one action at one time scale.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    wall_s: f64,
    cpu_s: f64,
    peak_rss_kib: f64,
    bmc_requests_per_host: f64,
    /// The most hosts failed in any run.
    hosts_failed: usize,
    /// The most sessions left open in any run.
    sessions_left_open: u64,
    /// Runs whose lab check found a problem.
    runs_with_problems: usize,
    /// Per flavour: the most hosts failed or wrong in any run, and the hosts.
    by_flavor: BTreeMap<String, (usize, usize)>,
    /// The median of the runs' [`Sample::force_off_floor_s`].
    force_off_floor_s: f64,
}

impl Summary {
    /// The flavours on which every host failed in some run: the tool cannot do the action
    /// there (Badfish's OEM-only actions on other vendors), said per cell, not a failure.
    fn cannot(&self) -> Vec<&str> {
        self.by_flavor
            .iter()
            .filter(|(_, (bad, hosts))| *hosts > 0 && bad == hosts)
            .map(|(f, _)| f.as_str())
            .collect()
    }

    /// Hosts failed on the flavours where the tool can do the action.
    fn failed_where_able(&self) -> usize {
        let cannot = self.cannot();
        self.by_flavor
            .iter()
            .filter(|(f, _)| !cannot.contains(&f.as_str()))
            .map(|(_, (bad, _))| bad)
            .sum()
    }
}

/// Badfish's and quads' summaries and their ratios.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    action: BenchAction,
    time_scale: f64,
    badfish: Summary,
    quads: Summary,
    /// Badfish / quads.
    wall_ratio: f64,
    cpu_ratio: f64,
    rss_ratio: f64,
    requests_ratio: f64,
    /// The wall-time target for this time scale, if any.
    target: Option<f64>,
    met: bool,
}

/// The median (mean of the two middle values for an even count); 0 for none.
#[must_use]
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        f64::midpoint(v[mid - 1], v[mid])
    }
}

fn ratio(badfish: f64, quads: f64) -> f64 {
    if quads > 0.0 {
        badfish / quads
    } else {
        f64::INFINITY
    }
}

/// The targets of the issue: ≥ 10× at time scale 0, ≥ 3× at time scale 1.
#[must_use]
pub fn wall_target(time_scale: f64) -> Option<f64> {
    if time_scale == 0.0 {
        Some(10.0)
    } else if (time_scale - 1.0).abs() < f64::EPSILON {
        Some(3.0)
    } else {
        None
    }
}

#[allow(clippy::cast_precision_loss)]
fn summarize(samples: &[&Sample]) -> Summary {
    let med =
        |f: &dyn Fn(&Sample) -> f64| median(&samples.iter().map(|s| f(s)).collect::<Vec<_>>());
    Summary {
        wall_s: med(&|s| s.wall_s),
        cpu_s: med(&|s| s.cpu_s),
        peak_rss_kib: med(&|s| s.peak_rss_kib as f64),
        bmc_requests_per_host: med(&|s| s.bmc_requests_per_host),
        hosts_failed: samples.iter().map(|s| s.hosts_failed).max().unwrap_or(0),
        sessions_left_open: samples
            .iter()
            .map(|s| s.sessions_left_open)
            .max()
            .unwrap_or(0),
        runs_with_problems: samples.iter().filter(|s| s.check_problem.is_some()).count(),
        by_flavor: worst_by_flavor(samples),
        force_off_floor_s: med(&|s| s.force_off_floor_s),
    }
}

/// Per flavour, the run with the most hosts failed or wrong.
fn worst_by_flavor(samples: &[&Sample]) -> BTreeMap<String, (usize, usize)> {
    let mut worst: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for s in samples {
        for (flavor, &(bad, hosts)) in &s.by_flavor {
            let entry = worst.entry(flavor.clone()).or_insert((0, hosts));
            entry.0 = entry.0.max(bad);
        }
    }
    worst
}

/// One row per (time scale, action) that both tools ran, in the order first seen.
#[must_use]
pub fn rows(samples: &[Sample]) -> Vec<Row> {
    let mut keys: Vec<(f64, BenchAction)> = Vec::new();
    for s in samples {
        if !keys.contains(&(s.time_scale, s.action)) {
            keys.push((s.time_scale, s.action));
        }
    }
    keys.into_iter()
        .filter_map(|(ts, action)| {
            let of = |tool: Tool| -> Vec<&Sample> {
                samples
                    .iter()
                    .filter(|s| s.tool == tool && s.action == action && s.time_scale == ts)
                    .collect()
            };
            let (b, q) = (of(Tool::Badfish), of(Tool::Quads));
            if b.is_empty() || q.is_empty() {
                return None;
            }
            let (badfish, quads) = (summarize(&b), summarize(&q));
            let wall_ratio = ratio(badfish.wall_s, quads.wall_s);
            let target = wall_target(ts);
            // Badfish's hosts on a flavour where it cannot do the action at all are said per
            // cell (`flavour_table`), not counted against the target.
            let clean = quads.hosts_failed == 0
                && quads.runs_with_problems == 0
                && quads.sessions_left_open == 0
                && badfish.failed_where_able() == 0;
            let met = target.is_none_or(|t| wall_ratio >= t)
                && quads.peak_rss_kib < badfish.peak_rss_kib
                && quads.bmc_requests_per_host < badfish.bmc_requests_per_host
                && clean;
            Some(Row {
                action,
                time_scale: ts,
                cpu_ratio: ratio(badfish.cpu_s, quads.cpu_s),
                rss_ratio: ratio(badfish.peak_rss_kib, quads.peak_rss_kib),
                requests_ratio: ratio(badfish.bmc_requests_per_host, quads.bmc_requests_per_host),
                wall_ratio,
                badfish,
                quads,
                target,
                met,
            })
        })
        .collect()
}

/// `yes`, or `**no**` with which of the targets were missed.
fn verdict(r: &Row) -> String {
    if r.met {
        return "yes".to_owned();
    }
    let mut missed = Vec::new();
    if r.target.is_some_and(|t| r.wall_ratio < t) {
        missed.push("wall");
    }
    if r.quads.peak_rss_kib >= r.badfish.peak_rss_kib {
        missed.push("memory");
    }
    if r.quads.bmc_requests_per_host >= r.badfish.bmc_requests_per_host {
        missed.push("req/host");
    }
    if missed.is_empty() {
        missed.push("failures");
    }
    format!("**no** ({})", missed.join(", "))
}

/// The Markdown table of one time scale: Badfish | quads | ratio for each measure.
#[must_use]
pub fn table(rows: &[Row], time_scale: f64) -> String {
    let mut t = String::new();
    t.push_str(
        "| action | wall s B / q | × | CPU s B / q | × | peak RSS MiB B / q | × \
         | BMC req/host B / q | failed hosts B / q | sessions left B / q | lab check B / q \
         | target | met |\n",
    );
    t.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for r in rows.iter().filter(|r| r.time_scale == time_scale) {
        let (b, q) = (&r.badfish, &r.quads);
        let check = |s: &Summary| {
            if s.runs_with_problems == 0 {
                "ok".to_owned()
            } else {
                format!("{} bad", s.runs_with_problems)
            }
        };
        let _ = writeln!(
            t,
            "| {} | {:.2} / {:.2} | {:.1}× | {:.2} / {:.2} | {:.1}× | {:.0} / {:.0} | {:.1}× \
             | {:.1} / {:.1} | {} / {} | {} / {} | {} / {} | {} | {} |",
            r.action.name(),
            b.wall_s,
            q.wall_s,
            r.wall_ratio,
            b.cpu_s,
            q.cpu_s,
            r.cpu_ratio,
            b.peak_rss_kib / 1024.0,
            q.peak_rss_kib / 1024.0,
            r.rss_ratio,
            b.bmc_requests_per_host,
            q.bmc_requests_per_host,
            b.hosts_failed,
            q.hosts_failed,
            b.sessions_left_open,
            q.sessions_left_open,
            check(b),
            check(q),
            r.target
                .map_or_else(|| "—".to_owned(), |t| format!("≥ {t:.0}×")),
            verdict(r),
        );
    }
    t
}

/// The lab seconds of the requests a Redfish client cannot skip to power-cycle a machine
/// that has no power cycle of its own, beside the power-off itself, at the lab model's
/// medians: log in, read the service root, the systems collection and the system (for its
/// reset action), then after the power-off read `Off`, send `On` and read `On`. The
/// `ForceOff`'s own latency is not counted: the lab applies a request when it arrives, so the
/// machine powers off while the answer is on its way.
#[must_use]
pub fn power_cycle_requests_s(bmc: &testkit::model::BmcModel) -> f64 {
    bmc.session_login + 3.0 * bmc.get + bmc.get + bmc.action + bmc.get
}

/// For the rows of `time_scale` where a tool waited for machines to go off after `ForceOff`
/// (power-cycle on BMCs without a power cycle of their own): the lab's slowest power-off in
/// each tool's run, and with `requests_s` (lab seconds, [`power_cycle_requests_s`]) the
/// soonest any tool that waits for `Off` could have finished in quads' run, how close quads
/// came to it and the most such a tool could have gained on Badfish. Empty when there are none.
#[must_use]
pub fn floor_note(rows: &[Row], time_scale: f64, requests_s: f64) -> String {
    let mut t = String::new();
    for r in rows.iter().filter(|r| r.time_scale == time_scale) {
        let (b, q) = (&r.badfish, &r.quads);
        if q.force_off_floor_s <= 0.0 {
            continue;
        }
        let requests = requests_s * time_scale;
        let floor = q.force_off_floor_s + requests;
        let _ = writeln!(
            t,
            "- {}: in quads' run the slowest machine read `Off` {:.2} s after its `ForceOff` \
             ({:.2} s in Badfish's). With the lab's median latencies of the requests a Redfish \
             client cannot skip (log in, read the service root, the systems and the system for \
             its reset action; after the power-off, read `Off`, `On`, read `On`: {requests:.2} s), no \
             tool that waits for `Off` before `On` finishes sooner than {floor:.2} s: at most \
             {:.2}× faster than Badfish's {:.2} s. quads took {:.2} s, {:.2}× that floor.",
            r.action.name(),
            q.force_off_floor_s,
            b.force_off_floor_s,
            ratio(b.wall_s, floor),
            b.wall_s,
            q.wall_s,
            ratio(q.wall_s, floor),
        );
    }
    t
}

/// With more than one flavour, the Markdown table of one time scale per action and flavour:
/// hosts failed (or wrong in the lab check) of the flavour's hosts, Badfish / quads, and
/// `Badfish cannot` where every one of its hosts of the flavour failed.
#[must_use]
pub fn flavour_table(rows: &[Row], time_scale: f64) -> String {
    let mut flavours: Vec<String> = Vec::new();
    for r in rows.iter().filter(|r| r.time_scale == time_scale) {
        for f in r.badfish.by_flavor.keys().chain(r.quads.by_flavor.keys()) {
            if !flavours.contains(f) {
                flavours.push(f.clone());
            }
        }
    }
    if flavours.len() < 2 {
        return String::new();
    }
    let mut t = format!(
        "\nFailed or wrong hosts per flavour (of its hosts), B / q:\n\n| action | {} |\n|---|{}\n",
        flavours.join(" | "),
        "---|".repeat(flavours.len())
    );
    for r in rows.iter().filter(|r| r.time_scale == time_scale) {
        let cells: Vec<String> = flavours
            .iter()
            .map(|f| {
                let of = |s: &Summary| s.by_flavor.get(f).copied().unwrap_or((0, 0));
                let ((b, hosts), (q, _)) = (of(&r.badfish), of(&r.quads));
                if r.badfish.cannot().contains(&f.as_str()) {
                    format!("Badfish cannot ({b}/{hosts}) / {q}")
                } else {
                    format!("{b} / {q} of {hosts}")
                }
            })
            .collect();
        let _ = writeln!(t, "| {} | {} |", r.action.name(), cells.join(" | "));
    }
    t
}

pub fn run_bench(root: &Path, args: &BenchArgs) -> anyhow::Result<()> {
    if args.hosts == 0 || args.runs == 0 {
        bail!("--hosts and --runs must be at least 1");
    }
    if let Some(ts) = args
        .time_scales
        .iter()
        .find(|t| !(t.is_finite() && **t >= 0.0))
    {
        bail!("time scale {ts} is not a number >= 0");
    }
    let flavors = Flavor::parse_list(&args.flavors).map_err(anyhow::Error::msg)?;
    let venv = peers::ensure(root)?;
    let badfish = peers::bin(&venv, "badfish");
    eprintln!("bench: building quads in release for the measurement");
    run(
        root,
        "cargo",
        &["build", "--quiet", "--release", "--package", "quads-cli"],
    )?;
    let quads = crate::util::target_dir(root).join("release").join("quads");
    let out = root.join("target").join("bench");
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let load_before = load_average();
    let bench = Bench {
        args,
        flavors,
        badfish,
        quads,
        out,
    };
    let samples = crate::util::runtime()?.block_on(bench.all())?;
    let rows = rows(&samples);
    let command = command_line(args);
    let mut report = String::new();
    for &ts in &args.time_scales {
        let _ = writeln!(
            report,
            "\n### time scale {ts} ({}), {} hosts, medians of {} runs\n\n{}",
            if ts == 0.0 {
                "no simulated latency: overhead-bound"
            } else {
                "lab model latencies: round-trip-bound"
            },
            args.hosts,
            args.runs,
            table(&rows, ts)
        );
        report.push_str(&flavour_table(&rows, ts));
        let floor = floor_note(
            &rows,
            ts,
            power_cycle_requests_s(&LabConfig::default().model.bmc),
        );
        if !floor.is_empty() {
            let _ = write!(report, "\n{floor}");
        }
    }
    println!("{report}");
    println!("B = Badfish 1.8.2 (PyPI), q = quads oob (release); × = Badfish / quads");
    for r in &rows {
        println!(
            "target {} at time scale {}: {}",
            r.action.name(),
            r.time_scale,
            if r.met { "met" } else { "NOT met" }
        );
    }
    for s in samples.iter().filter(|s| s.check_problem.is_some()) {
        println!(
            "lab check: {:?} {} ts {} run {}: {}",
            s.tool,
            s.action.name(),
            s.time_scale,
            s.run,
            s.check_problem.as_deref().unwrap_or_default()
        );
    }
    if let Some(path) = &args.json {
        let json = serde_json::json!({"command": command, "samples": samples, "rows": rows});
        std::fs::write(path, serde_json::to_string_pretty(&json)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    if args.write_markdown {
        let path = root.join("BENCHMARKS.md");
        let existing = std::fs::read_to_string(&path).unwrap_or_default();
        let text = splice(&existing, &markdown(&command, &report, &rows, &load_before));
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn command_line(args: &BenchArgs) -> String {
    let list = |v: Vec<String>| v.join(",");
    let mut c = format!(
        "cargo xtask bench --hosts {} --runs {} --time-scales {} --actions {} --flavors {}",
        args.hosts,
        args.runs,
        list(args.time_scales.iter().map(f64::to_string).collect()),
        list(args.actions.iter().map(|a| a.name().to_owned()).collect()),
        list(args.flavors.clone()),
    );
    if let Some(n) = args.quads_concurrency {
        let _ = write!(c, " --quads-concurrency {n}");
    }
    c
}

struct Bench<'a> {
    args: &'a BenchArgs,
    flavors: Vec<Flavor>,
    badfish: PathBuf,
    quads: PathBuf,
    out: PathBuf,
}

impl Bench<'_> {
    async fn all(&self) -> anyhow::Result<Vec<Sample>> {
        let mut names = EtcHosts::install(&self.lab(0.0).await?)?;
        let mut samples = Vec::new();
        for &ts in &self.args.time_scales {
            for &action in &self.args.actions {
                for run in 0..self.args.runs {
                    let order = if run % 2 == 0 {
                        [Tool::Badfish, Tool::Quads]
                    } else {
                        [Tool::Quads, Tool::Badfish]
                    };
                    for tool in order {
                        let lab = self.lab(ts).await?;
                        names.ensure(&lab)?;
                        let sample = self.one(&lab, tool, action, ts, run).await?;
                        eprintln!(
                            "bench: ts {ts} {:<12} run {run} {tool:<7?} wall {:>7.2} s  cpu {:>6.2} s  \
                             rss {:>6.1} MiB  req/host {:>5.1}  failed {}  left open {}{}",
                            action.name(),
                            sample.wall_s,
                            sample.cpu_s,
                            sample.peak_rss_kib as f64 / 1024.0,
                            sample.bmc_requests_per_host,
                            sample.hosts_failed,
                            sample.sessions_left_open,
                            sample
                                .check_problem
                                .as_ref()
                                .map(|p| format!("  CHECK: {p}"))
                                .unwrap_or_default(),
                        );
                        lab.shutdown();
                        samples.push(sample);
                    }
                }
            }
        }
        names.remove()?;
        Ok(samples)
    }

    async fn lab(&self, time_scale: f64) -> anyhow::Result<Lab> {
        Lab::start(LabConfig {
            hosts: self.args.hosts,
            flavors: self.flavors.clone(),
            time_scale,
            ..LabConfig::default()
        })
        .await
        .context("cannot start the lab")
    }

    async fn one(
        &self,
        lab: &Lab,
        tool: Tool,
        action: BenchAction,
        time_scale: f64,
        run: usize,
    ) -> anyhow::Result<Sample> {
        let inventory = lab.inventory();
        let port = lab.bmc_addr(0).port();
        let host_list = self.out.join("host-list.txt");
        let list: String = inventory
            .hosts
            .iter()
            .map(|h| format!("{}:{port}\n", h.name))
            .collect();
        std::fs::write(&host_list, list)?;
        let interfaces = self.out.join("interfaces.yml");
        let mut models: Vec<&str> = inventory.hosts.iter().map(|h| h.model.as_str()).collect();
        models.sort_unstable();
        models.dedup();
        std::fs::write(&interfaces, testkit::lab::interfaces_yaml(&models))?;
        let (program, mut argv) = match tool {
            Tool::Badfish => (self.badfish.clone(), Vec::new()),
            // JSON lines: one object per host with its `ok`, whatever the text layout.
            Tool::Quads => (
                self.quads.clone(),
                vec!["oob".to_owned(), "-o".to_owned(), "json".to_owned()],
            ),
        };
        argv.push("--host-list".into());
        argv.push(host_list.to_string_lossy().into_owned());
        argv.push("--insecure".into());
        if let (Tool::Quads, Some(n)) = (tool, self.args.quads_concurrency) {
            argv.push("--concurrency".into());
            argv.push(n.to_string());
        }
        argv.extend(action.flags(&interfaces));
        let admin = &lab.config().bmc_admin;
        let env = [
            ("BADFISH_USERNAME", admin.username.as_str()),
            ("BADFISH_PASSWORD", admin.password.as_str()),
            ("NO_COLOR", "1"),
            ("TERM", "dumb"),
            ("COLUMNS", "200"),
        ];
        let stem = format!(
            "{}-{}-ts{time_scale}-run{run}",
            tool_name(tool),
            action.name()
        );
        lab.shared().metrics.reset();
        let measured = measure(&program, &argv, &env, &self.out, &stem).await?;
        let output = measured.output.clone();
        let hosts = inventory.hosts.len();
        let failed = match tool {
            Tool::Badfish => badfish_failures(&output, hosts),
            Tool::Quads => quads_failures(&output, hosts),
        };
        let ok = match tool {
            Tool::Badfish => badfish_ok_hosts(&output),
            Tool::Quads => quads_ok_hosts(&output),
        };
        if action == BenchAction::PowerCycle {
            settle(lab).await;
        }
        let mut wrong = lab_check(lab, action);
        // The hosts whose boot order is one of the file's types (the fleet also has orders of
        // neither): each of them must be reported.
        let typed = if action == BenchAction::CheckBoot {
            typed_hosts(lab, &std::fs::read_to_string(&interfaces)?)
        } else {
            Vec::new()
        };
        if tool == Tool::Quads {
            wrong.extend(
                quads_check_boot_unreported(&output, &typed)
                    .into_iter()
                    .map(|h| format!("{h} reported no host type")),
            );
        }
        let mut by_flavor: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for h in &inventory.hosts {
            let entry = by_flavor.entry(h.flavor.name().to_owned()).or_default();
            entry.1 += 1;
            let named = |w: &String| w.split(' ').next() == Some(h.name.as_str());
            if !ok.contains(&h.name) || wrong.iter().any(named) {
                entry.0 += 1;
            }
        }
        let mut check_problem = problem(&wrong, hosts);
        if action == BenchAction::CheckBoot && tool == Tool::Badfish {
            // Badfish says the type without naming the host: counted, not placed.
            let reported = output.matches("Current boot order is set to: ").count();
            let cannot: Vec<&str> = by_flavor
                .iter()
                .filter(|(_, (bad, all))| *all > 0 && bad == all)
                .map(|(f, _)| f.as_str())
                .collect();
            let able = inventory
                .hosts
                .iter()
                .filter(|h| typed.contains(&h.name) && !cannot.contains(&h.flavor.name()))
                .count();
            if reported < able {
                check_problem = Some(format!("host type reported for {reported}/{able} hosts"));
            }
        }
        let metrics = lab.metrics();
        std::fs::write(
            self.out.join(format!("{stem}.endpoints.json")),
            serde_json::to_string_pretty(&metrics.endpoints)?,
        )?;
        let counters = metrics.hosts.values();
        let (mut requests, mut opened, mut closed, mut open) = (0, 0, 0, 0);
        let mut longest_force_off_ms = 0;
        for c in counters {
            longest_force_off_ms = longest_force_off_ms.max(c.longest_force_off_ms);
            requests += c.bmc_requests;
            opened += c.sessions_opened;
            closed += c.sessions_closed;
            open += c.sessions_open;
        }
        #[allow(clippy::cast_precision_loss)]
        Ok(Sample {
            tool,
            action,
            time_scale,
            run,
            wall_s: measured.wall.as_secs_f64(),
            cpu_s: measured.cpu_s,
            peak_rss_kib: measured.peak_rss_kib,
            exit_code: measured.exit_code,
            hosts_failed: failed,
            bmc_requests_per_host: requests as f64 / hosts as f64,
            sessions_opened: opened,
            sessions_closed: closed,
            sessions_left_open: open,
            check_problem,
            by_flavor,
            force_off_floor_s: longest_force_off_ms as f64 / 1000.0 * time_scale,
        })
    }
}

fn tool_name(tool: Tool) -> &'static str {
    match tool {
        Tool::Badfish => "badfish",
        Tool::Quads => "quads",
    }
}

/// Waits (untimed: the tool has exited) until no machine is still going down or posting: a
/// BMC's own `PowerCycle` answers at once and the machine comes up after the tool is done.
async fn settle(lab: &Lab) {
    use testkit::machine::Phase;
    for _ in 0..3_000 {
        let busy = lab.with_state(|s| {
            s.machines
                .iter()
                .any(|m| matches!(m.phase, Phase::ShuttingDown { .. } | Phase::Posting { .. }))
        });
        if !busy {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// What the lab shows after the action: the hosts where it is not done, each line starting
/// with the host's name.
fn lab_check(lab: &Lab, action: BenchAction) -> Vec<String> {
    match action {
        BenchAction::PowerState | BenchAction::CheckBoot => Vec::new(),
        BenchAction::PowerCycle => {
            // Advance every machine to now, then count boots (a fresh lab: exactly one each).
            lab.with_state(|_| ());
            let metrics = lab.metrics();
            let names = lab.with_state(|s| {
                s.machines
                    .iter()
                    .map(|m| m.name.clone())
                    .collect::<Vec<_>>()
            });
            names
                .iter()
                .filter(|n| metrics.host(n).boots != 1)
                .map(|n| format!("{n} booted {} times", metrics.host(n).boots))
                .collect()
        }
        BenchAction::BootToType => lab.with_state(|s| {
            s.machines
                .iter()
                .zip(&s.bmcs)
                .filter_map(|(m, b)| {
                    // Dell: the one-time device in a job or waiting for one; elsewhere
                    // `BootNext`, which the lab keeps in the machine's own attributes.
                    let mut pending = if m.flavor.is_dell() {
                        BTreeMap::new()
                    } else {
                        m.bios.clone()
                    };
                    for job in &m.jobs {
                        if let testkit::machine::JobChange::Bios(change) = &job.change {
                            pending.extend(change.clone());
                        }
                    }
                    if let Some(waiting) = &b.pending_bios {
                        pending.extend(waiting.as_ref().clone());
                    }
                    let want = testkit::lab::interfaces_order(&m.model, testkit::HostType::Foreman);
                    let key = match pending.get("OneTimeBootMode").and_then(|v| v.as_str()) {
                        Some("Disabled") => None,
                        Some("OneTimeUefiBootSeq") => Some("OneTimeUefiBootSeqDev"),
                        _ => Some("OneTimeBootSeqDev"),
                    };
                    let got = key
                        .and_then(|k| pending.get(k))
                        .and_then(|v| v.as_str().map(str::to_owned));
                    (got.as_deref() != want.first().map(String::as_str)).then(|| {
                        format!("{} one-time boot {got:?}, want {:?}", m.name, want.first())
                    })
                })
                .collect()
        }),
    }
}

fn problem(wrong: &[String], hosts: usize) -> Option<String> {
    (!wrong.is_empty()).then(|| {
        format!(
            "{}/{hosts} hosts wrong, e.g. {}",
            wrong.len(),
            wrong.first().map_or("", String::as_str)
        )
    })
}

/// Badfish's closing `RESULTS:` block: one `host: SUCCESSFUL` or `host: FAILED` line per host;
/// a run without it failed everywhere.
#[must_use]
pub fn badfish_failures(output: &str, hosts: usize) -> usize {
    let Some(at) = output.rfind("RESULTS:") else {
        return hosts;
    };
    let tail = &output[at..];
    let ok = tail
        .lines()
        .filter(|l| l.trim_end().ends_with(": SUCCESSFUL"))
        .count();
    hosts.saturating_sub(ok)
}

/// The hosts (names, without the port) Badfish's `RESULTS:` block says `SUCCESSFUL`.
#[must_use]
pub fn badfish_ok_hosts(output: &str) -> std::collections::BTreeSet<String> {
    let Some(at) = output.rfind("RESULTS:") else {
        return std::collections::BTreeSet::new();
    };
    output[at..]
        .lines()
        .filter_map(|l| l.trim_end().strip_suffix(": SUCCESSFUL"))
        .filter_map(|l| l.split_whitespace().last())
        .map(host_name)
        .collect()
}

/// The hosts (names, without the port) of `quads oob -o json` lines with `"ok": true`.
#[must_use]
pub fn quads_ok_hosts(output: &str) -> std::collections::BTreeSet<String> {
    output
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l.trim()).ok())
        .filter(|v| v.get("ok") == Some(&serde_json::Value::Bool(true)))
        .filter_map(|v| v.get("host").and_then(|h| h.as_str()).map(host_name))
        .collect()
}

/// The hosts whose boot order in the lab starts with one of the interfaces file's types, the
/// file's keys found for the host's name as Badfish finds them (`redfish_client`'s
/// `InterfacesFile`, checked against Badfish 1.8.2).
fn typed_hosts(lab: &Lab, interfaces: &str) -> Vec<String> {
    let Ok(file) = redfish_client::InterfacesFile::parse(interfaces) else {
        return Vec::new();
    };
    lab.with_state(|s| {
        s.machines
            .iter()
            .filter(|m| file.matching_type(&m.name, &m.boot_order).is_some())
            .map(|m| m.name.clone())
            .collect()
    })
}

/// Of `typed`, the hosts whose `quads oob --check-boot -i` line names no host type.
fn quads_check_boot_unreported(output: &str, typed: &[String]) -> Vec<String> {
    let reported: std::collections::BTreeSet<String> = output
        .lines()
        .filter(|l| l.contains("\"boot order is "))
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l.trim()).ok())
        .filter_map(|v| v.get("host").and_then(|h| h.as_str()).map(host_name))
        .collect();
    typed
        .iter()
        .filter(|h| !reported.contains(*h))
        .cloned()
        .collect()
}

/// `name:port` (or a URL) to the name.
fn host_name(host: &str) -> String {
    let host = host.split("://").last().unwrap_or(host);
    host.rsplit_once(':')
        .map_or(host, |(name, _)| name)
        .trim_end_matches('/')
        .to_owned()
}

/// `quads oob -o json`: one object per host with `"ok": true` or `false`; a host without a
/// line failed.
#[must_use]
pub fn quads_failures(output: &str, hosts: usize) -> usize {
    let ok = output
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l.trim()).ok())
        .filter(|v| v.get("ok") == Some(&serde_json::Value::Bool(true)))
        .count();
    hosts.saturating_sub(ok)
}

/// A tool process's costs, as the OS counted them.
#[derive(Debug, Clone)]
pub struct Measured {
    pub wall: Duration,
    pub cpu_s: f64,
    pub peak_rss_kib: u64,
    pub exit_code: Option<i32>,
    /// Its stdout then its stderr.
    pub output: String,
}

/// Runs `program`, sampling its peak RSS (`VmHWM`), and reads its CPU time from
/// `/proc/<pid>/stat` once it has exited but before it is reaped (`waitid` with `WNOWAIT`).
/// With `XTASK_WRAP` set, `program` runs under that command (a profiler).
pub async fn measure(
    program: &Path,
    args: &[String],
    env: &[(&str, &str)],
    dir: &Path,
    stem: &str,
) -> anyhow::Result<Measured> {
    let stdout_path = dir.join(format!("{stem}.stdout"));
    let stderr_path = dir.join(format!("{stem}.stderr"));
    // `XTASK_WRAP="heaptrack -o /tmp/quads"` runs the measured command under a profiler (the
    // figures are then the wrapper's)
    let wrap = std::env::var("XTASK_WRAP").unwrap_or_default();
    let mut wrap = wrap.split_whitespace();
    let mut command = match wrap.next() {
        Some(tool) => {
            let mut c = std::process::Command::new(tool);
            c.args(wrap).arg(program);
            c
        }
        None => std::process::Command::new(program),
    };
    let started = Instant::now();
    let mut child = command
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path)?)
        .stderr(std::fs::File::create(&stderr_path)?)
        .spawn()
        .with_context(|| format!("cannot start {}", program.display()))?;
    let raw = i32::try_from(child.id()).context("pid out of range")?;
    let pid = rustix::process::Pid::from_raw(raw).context("bad pid")?;
    let exited = tokio::task::spawn_blocking(move || {
        let options =
            rustix::process::WaitIdOptions::EXITED | rustix::process::WaitIdOptions::NOWAIT;
        loop {
            match rustix::process::waitid(rustix::process::WaitId::Pid(pid), options) {
                Err(rustix::io::Errno::INTR) => {}
                other => return other.map(|_| Instant::now()),
            }
        }
    });
    tokio::pin!(exited);
    let mut peak = 0;
    let ended = loop {
        if let Some(kib) = proc_status_kib(raw, "VmHWM:") {
            peak = peak.max(kib);
        }
        tokio::select! {
            done = &mut exited => break done.context("waiter panicked")?.context("waitid")?,
            () = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
    };
    let cpu_s = proc_cpu_seconds(raw).unwrap_or(f64::NAN);
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .context("reaper panicked")??;
    let mut output = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    output.push_str(&std::fs::read_to_string(&stderr_path).unwrap_or_default());
    Ok(Measured {
        wall: ended.duration_since(started),
        cpu_s,
        peak_rss_kib: peak,
        exit_code: status.code(),
        output,
    })
}

pub fn proc_status_kib(pid: i32, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// User + system CPU seconds of a process (every thread), from `/proc/<pid>/stat`.
pub fn proc_cpu_seconds(pid: i32) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat_cpu(&text)
}

/// Fields 14 and 15 of `/proc/<pid>/stat` (utime, stime) in clock ticks of 1/100 s.
#[must_use]
pub fn parse_stat_cpu(stat: &str) -> Option<f64> {
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    #[allow(clippy::cast_precision_loss)]
    Some((utime + stime) as f64 / 100.0)
}

const HOSTS_FILE: &str = "/etc/hosts";
const BEGIN: &str = "# quads-bench begin (cargo xtask bench; removed when it ends)";
const END: &str = "# quads-bench end";

/// The lab's host names in a marked block of `/etc/hosts`, removed when dropped.
#[derive(Debug)]
struct EtcHosts {
    block: String,
}

impl EtcHosts {
    fn install(lab: &Lab) -> anyhow::Result<Self> {
        let mut me = Self {
            block: String::new(),
        };
        me.ensure(lab)?;
        Ok(me)
    }

    fn block_for(lab: &Lab) -> String {
        let mut block = format!("{BEGIN}\n");
        for (i, h) in lab.inventory().hosts.iter().enumerate() {
            let _ = writeln!(block, "{} {}", lab.bmc_addr(i).ip(), h.name);
        }
        block.push_str(END);
        block.push('\n');
        block
    }

    fn ensure(&mut self, lab: &Lab) -> anyhow::Result<()> {
        let block = Self::block_for(lab);
        if block != self.block {
            write_hosts(&block).with_context(|| {
                format!(
                    "the bench maps the lab's host names to 127.0.x.y in {HOSTS_FILE} \
                     (Badfish and quads read the model from the name): it needs to write it"
                )
            })?;
            self.block = block;
        }
        Ok(())
    }

    fn remove(&mut self) -> anyhow::Result<()> {
        if !self.block.is_empty() {
            write_hosts("")?;
            self.block.clear();
        }
        Ok(())
    }
}

impl Drop for EtcHosts {
    fn drop(&mut self) {
        if let Err(e) = self.remove() {
            eprintln!("bench: could not clean {HOSTS_FILE}: {e}");
        }
    }
}

/// Replaces our block (or appends one); an empty `block` removes it.
fn write_hosts(block: &str) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(HOSTS_FILE).unwrap_or_default();
    let mut kept = strip_block(&text);
    if !kept.is_empty() && !kept.ends_with('\n') {
        kept.push('\n');
    }
    kept.push_str(block);
    std::fs::write(HOSTS_FILE, kept)?;
    Ok(())
}

/// `text` without the lines from [`BEGIN`] to [`END`].
#[must_use]
pub fn strip_block(text: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        if line == BEGIN {
            inside = true;
        } else if inside && line == END {
            inside = false;
        } else if !inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|r| r.split_whitespace().next())
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map_or_else(
            || "unknown".to_owned(),
            |kib| format!("{:.1} GiB", kib as f64 / 1048576.0),
        );
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|r| r.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    format!("{cpus} CPUs ({model}), {mem} memory")
}

fn utc_now() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown date".to_owned())
}

const SECTION_BEGIN: &str = "<!-- cargo xtask bench: begin -->";
const SECTION_END: &str = "<!-- cargo xtask bench: end -->";

/// `existing` with the bench's marked section replaced by `section` (appended if unmarked), so
/// the rest of BENCHMARKS.md (the simulate numbers, readings) stays.
#[must_use]
pub fn splice(existing: &str, section: &str) -> String {
    let marked = format!("{SECTION_BEGIN}\n{}\n{SECTION_END}", section.trim_end());
    match (existing.find(SECTION_BEGIN), existing.find(SECTION_END)) {
        (Some(b), Some(e)) if b < e => format!(
            "{}{marked}{}",
            &existing[..b],
            &existing[e + SECTION_END.len()..]
        ),
        _ if existing.trim().is_empty() => format!("# Benchmarks\n\n{marked}\n"),
        _ => format!("{}\n\n{marked}\n", existing.trim_end()),
    }
}

fn markdown(command: &str, report: &str, rows: &[Row], load_before: &str) -> String {
    let met = rows.iter().filter(|r| r.met).count();
    format!(
        "## `quads oob` against Badfish: `cargo xtask bench`\n\n\
         Latest numbers of `cargo xtask bench` (see `xtask/src/bench.rs`). Badfish 1.8.2 from \
         PyPI (the venv of `cargo xtask peers`) and `quads oob` built in release run one after \
         the other, alternating which goes first, each against a fresh in-process lab (built \
         in release: the bench always runs from a release build of xtask) with the same seed \
         (same fleet, same initial state), `--host-list` of every BMC, `--insecure` \
         for both. Wall time is from spawn to exit; CPU time (user+sys) from \
         `/proc/<pid>/stat` of the exited, not yet reaped process; peak RSS is its `VmHWM`; \
         requests and sessions come from the lab's per-host counters; the lab check verifies \
         the action in the lab state (power-cycle: exactly one boot per host; boot-to-type: \
         every host's pending one-time boot device is the foreman type's first device).\n\n\
         - date: {}\n- machine: {}; load average before the run: {load_before}, after: {}\n\
         - command: `{command}`\n\n\
         B = Badfish, q = quads oob, × = Badfish / quads (higher is better for quads). Targets \
         (issue): on 500 hosts ≥ 10× faster at time scale 0 and ≥ 3× at time scale 1, with less \
         memory and fewer requests per host; {met} of {} rows meet them.\n{report}\n",
        utc_now(),
        machine(),
        load_average(),
        rows.len(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn sample(tool: Tool, wall: f64, rss: u64, req: f64) -> Sample {
        Sample {
            tool,
            action: BenchAction::PowerState,
            time_scale: 0.0,
            run: 0,
            wall_s: wall,
            cpu_s: wall / 2.0,
            peak_rss_kib: rss,
            exit_code: Some(0),
            hosts_failed: 0,
            bmc_requests_per_host: req,
            sessions_opened: 1,
            sessions_closed: 1,
            sessions_left_open: 0,
            check_problem: None,
            by_flavor: BTreeMap::new(),
            force_off_floor_s: 0.0,
        }
    }

    #[test]
    fn the_requests_of_a_power_cycle_are_counted_from_the_lab_model() {
        // login 0.5, service root, systems and system 3 × 0.3, read `Off` 0.3, `On` 1.0,
        // read `On` 0.3
        let s = power_cycle_requests_s(&LabConfig::default().model.bmc);
        assert!((s - 3.0).abs() < 1e-9, "{s}");
    }

    #[test]
    fn the_power_off_floor_is_said_where_a_tool_waited_for_off() {
        let mut samples = Vec::new();
        for (tool, wall, floor) in [(Tool::Badfish, 42.0, 11.5), (Tool::Quads, 14.0, 10.0)] {
            let mut s = sample(tool, wall, 100, 10.0);
            s.action = BenchAction::PowerCycle;
            s.time_scale = 1.0;
            s.force_off_floor_s = floor;
            samples.push(s);
        }
        // power-state sends no ForceOff: no floor to say
        samples.push(sample(Tool::Badfish, 5.0, 100, 10.0));
        samples.push(sample(Tool::Quads, 1.0, 50, 5.0));
        let rows = rows(&samples);
        let note = floor_note(&rows, 1.0, 2.0);
        assert_eq!(note.lines().count(), 1, "{note}");
        assert!(note.starts_with("- power-cycle: "), "{note}");
        assert!(note.contains("`Off` 10.00 s after its"), "{note}");
        assert!(note.contains("(11.50 s in Badfish's)"), "{note}");
        assert!(note.contains("sooner than 12.00 s"), "{note}");
        assert!(
            note.contains("at most 3.50× faster than Badfish's 42.00 s"),
            "{note}"
        );
        assert!(
            note.contains("quads took 14.00 s, 1.17× that floor"),
            "{note}"
        );
        assert_eq!(floor_note(&rows, 0.0, 2.0), "");
    }

    #[test]
    fn the_bench_section_is_replaced_and_the_rest_kept() {
        let doc = "# Benchmarks\n\nsimulate numbers\n\n<!-- cargo xtask bench: begin -->\nold\n<!-- cargo xtask bench: end -->\n\nreading\n";
        let out = splice(doc, "## new\n");
        assert!(
            out.contains("simulate numbers") && out.contains("reading"),
            "{out}"
        );
        assert!(out.contains("## new") && !out.contains("old"), "{out}");
        assert_eq!(splice(&out, "## newer\n").matches(SECTION_BEGIN).count(), 1);
        let appended = splice("# Benchmarks\n\nsimulate\n", "## b\n");
        assert!(
            appended.starts_with("# Benchmarks\n\nsimulate\n"),
            "{appended}"
        );
        assert!(appended.contains(SECTION_END));
        assert!(splice("", "## b").starts_with("# Benchmarks"));
    }

    #[test]
    fn medians() {
        assert!((median(&[3.0, 1.0, 2.0]) - 2.0).abs() < 1e-9);
        assert!((median(&[4.0, 1.0, 2.0, 3.0]) - 2.5).abs() < 1e-9);
        assert!(median(&[]).abs() < 1e-9);
    }

    #[test]
    fn rows_pair_the_tools_and_judge_the_targets() {
        let samples = vec![
            sample(Tool::Badfish, 30.0, 90_000, 14.0),
            sample(Tool::Quads, 2.0, 20_000, 4.0),
            sample(Tool::Quads, 4.0, 20_000, 4.0),
            sample(Tool::Badfish, 50.0, 80_000, 14.0),
            sample(Tool::Badfish, 40.0, 85_000, 14.0),
            sample(Tool::Quads, 3.0, 20_000, 4.0),
        ];
        let rows = rows(&samples);
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert!((r.badfish.wall_s - 40.0).abs() < 1e-9);
        assert!((r.quads.wall_s - 3.0).abs() < 1e-9);
        assert!((r.wall_ratio - 40.0 / 3.0).abs() < 1e-9);
        assert_eq!(r.target, Some(10.0));
        assert!(r.met);
        let text = table(&rows, 0.0);
        assert!(
            text.contains("| power-state | 40.00 / 3.00 | 13.3× |"),
            "{text}"
        );
        assert!(table(&rows, 1.0).lines().count() == 2);

        let mut slow = samples.clone();
        for s in slow.iter_mut().filter(|s| s.tool == Tool::Quads) {
            s.wall_s *= 5.0;
        }
        let slow = super::rows(&slow);
        assert!(!slow[0].met);
        assert_eq!(verdict(&slow[0]), "**no** (wall)");
        let mut leaky = samples;
        leaky[1].sessions_left_open = 1;
        assert!(!super::rows(&leaky)[0].met);
    }

    #[test]
    fn failures_are_read_from_each_tools_output() {
        let badfish = "- INFO     - RESULTS:\n- INFO     - a:443: SUCCESSFUL\n\
                       - INFO     - b:443: FAILED\n- INFO     - c:443: SUCCESSFUL\n";
        assert_eq!(badfish_failures(badfish, 3), 1);
        assert_eq!(badfish_failures("Traceback", 3), 3);
        let quads = "{\"host\":\"a\",\"ok\":true,\"result\":[\"power On\"]}\n\
                     {\"host\":\"b\",\"ok\":false,\"error\":\"refused\"}\nWARN x\n";
        assert_eq!(quads_failures(quads, 3), 2);
        assert_eq!(quads_failures("", 4), 4);
        let ok: Vec<String> = badfish_ok_hosts(badfish).into_iter().collect();
        assert_eq!(ok, ["a", "c"]);
        let ok: Vec<String> = quads_ok_hosts(quads).into_iter().collect();
        assert_eq!(ok, ["a"]);
        assert_eq!(host_name("https://h1.example:8443/"), "h1.example");
    }

    #[test]
    fn a_flavour_badfish_cannot_do_is_said_per_cell_and_not_held_against_the_target() {
        let mut b = sample(Tool::Badfish, 30.0, 200_000, 15.0);
        let mut q = sample(Tool::Quads, 1.0, 100_000, 11.0);
        b.action = BenchAction::BootToType;
        q.action = BenchAction::BootToType;
        b.hosts_failed = 2;
        b.by_flavor = [("dell".into(), (0, 2)), ("hpe".into(), (2, 2))].into();
        q.by_flavor = [("dell".into(), (0, 2)), ("hpe".into(), (0, 2))].into();
        let rows = rows(&[b.clone(), q.clone()]);
        assert!(rows[0].met, "{rows:?}");
        let t = flavour_table(&rows, 0.0);
        assert!(
            t.contains("| boot-to-type | 0 / 0 of 2 | Badfish cannot (2/2) / 0 |"),
            "{t}"
        );
        // Badfish failing some hosts of a flavour it can do is a failure.
        b.by_flavor.insert("dell".into(), (1, 2));
        assert!(!super::rows(&[b, q])[0].met);
    }

    #[test]
    fn stat_cpu_and_hosts_block() {
        let stat = "42 (python3 (x)) S 1 42 42 0 -1 4194304 100 0 0 0 150 25 0 0 20 0 1 0";
        assert!((parse_stat_cpu(stat).unwrap() - 1.75).abs() < 1e-9);
        let text = format!("127.0.0.1 localhost\n{BEGIN}\n127.0.1.1 a\n{END}\n::1 x\n");
        assert_eq!(strip_block(&text), "127.0.0.1 localhost\n::1 x\n");
    }
}
