//! `cargo xtask simulate`: move-and-rebuild of N lab hosts under our policy and under the
//! "QUADS 2019" preset, in one invocation, against the lower bound of DESIGN §8.
//!
//! Real mode (the default) starts a fresh lab in this process for each policy (same seed, so the
//! same fleet) and runs the release `quads` binary against it over loopback HTTPS, as an
//! operator would: `quads init`, `host import`, `move-hosts --format json`. The orchestrator's
//! CPU time and peak RSS are its own process's; requests, peaks, installs, boots and sessions
//! come from the lab's counters. `--virtual` runs the same executor in this process against an
//! in-process lab under a paused tokio clock (no sockets), for fleets of 10,000 and more.
//!
//! The bound: `LB = max(CP, N·F/capacity)`. CP is one host's shortest critical path through the
//! workflow at the model's median latencies (the slowest kind of host present: one that needs a
//! boot-order change, whose config job runs during POST); F is the Foreman service time one host
//! needs. Both are listed term by term. Because every latency is a log-normal draw, the slowest of
//! N hosts takes longer than the median path; `CP_N` estimates that (mean over seeded trials of
//! the slowest of N hosts' drawn paths) and `LB_N = max(CP_N, N·F/capacity + tail)` also counts
//! that the last host's Foreman work must be followed by its own boot and install. Both ratios
//! are reported; the targets are judged on DESIGN's LB.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use provision_core::executor::{ExecutorConfig, RunReport};
use provision_core::limits::RateConfig;
use serde::Serialize;
use testkit::lab::{HostType, interfaces_order};
use testkit::{FaultProfile, LabConfig, LabModel, MetricsSnapshot};

use crate::plot::{self, Chart, Scale, Series};
use crate::simulate_quads::Source;
use crate::util::{run, target_dir};

/// Arguments of `cargo xtask simulate`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Hosts moved (one BMC each), spread over the clouds.
    #[arg(long, default_value_t = 300)]
    pub hosts: usize,
    /// Real seconds per lab second (real mode; `--virtual` runs in virtual lab seconds).
    #[arg(long, default_value_t = 0.02)]
    pub time_scale: f64,
    /// The lab's fault profile: none, chaos, hard, with overrides (`chaos,dead_bmcs=2`).
    #[arg(long, default_value = "none")]
    pub faults: String,
    /// Seed of every random choice of the lab.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also write the results as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// In-process lab under a paused tokio clock (no sockets; 10,000+ hosts in seconds).
    #[arg(long = "virtual")]
    pub in_virtual_time: bool,
    /// Fleet sizes to sweep (e.g. `10,50,100,300,700,2000`): writes a plot (SVG) and a table.
    #[arg(long, value_delimiter = ',')]
    pub sweep: Vec<usize>,
    /// Which policies to run.
    #[arg(long, value_enum, default_value = "both")]
    pub policy: Which,
    /// Tenant clouds the hosts move into.
    #[arg(long, default_value_t = 3)]
    pub clouds: usize,
    /// Use the debug build of `quads` (faster to build; CPU figures are then not representative).
    #[arg(long)]
    pub debug: bool,
    /// Fail unless every healthy host moved and the lab's counters are sane (for CI).
    #[arg(long)]
    pub check: bool,
    /// Where the sweep's plot and table go (default: target/simulate).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Where the moves come from: the local store, or the lab's QUADS server (worker mode;
    /// real mode only).
    #[arg(long, value_enum, default_value = "local")]
    pub source: Source,
}

/// The policies to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Which {
    /// Ours and the QUADS 2019 preset, side by side.
    Both,
    /// Only ours.
    Ours,
    /// Only the QUADS 2019 preset.
    Quads2019,
}

/// One policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// This project's.
    Ours,
    /// QUADS as it moved hosts in 2019 (DESIGN §8).
    Quads2019,
}

impl Policy {
    fn name(self) -> &'static str {
        match self {
            Self::Ours => "ours",
            Self::Quads2019 => "QUADS 2019",
        }
    }
}

impl Which {
    fn policies(self) -> Vec<Policy> {
        match self {
            Self::Both => vec![Policy::Ours, Policy::Quads2019],
            Self::Ours => vec![Policy::Ours],
            Self::Quads2019 => vec![Policy::Quads2019],
        }
    }
}

/// One term of a bound: what it is and its lab seconds.
#[derive(Debug, Clone, Serialize)]
pub struct Term {
    /// What it is.
    pub what: String,
    /// Lab seconds.
    pub seconds: f64,
}

fn term(what: impl Into<String>, seconds: f64) -> Term {
    Term {
        what: what.into(),
        seconds,
    }
}

/// The lower bound of DESIGN §8 for one fleet, with its parts.
#[derive(Debug, Clone, Serialize)]
pub struct Bound {
    /// Hosts.
    pub hosts: usize,
    /// Hosts that need a boot-order change (their config job runs during POST).
    pub boot_order_changes: usize,
    /// The critical path's terms (the slowest kind of host present).
    pub cp_terms: Vec<Term>,
    /// One host's shortest critical path at median latencies.
    pub cp: f64,
    /// The Foreman service time one host needs, term by term.
    pub f_terms: Vec<Term>,
    /// F.
    pub f: f64,
    /// Foreman requests in service at once.
    pub capacity: usize,
    /// N·F/capacity.
    pub foreman_bound: f64,
    /// `max(CP, N·F/capacity)`.
    pub lb: f64,
    /// The part of the critical path after the host's Foreman work (boot and install).
    pub tail: f64,
    /// Expected slowest of N hosts' drawn critical paths (seeded trials).
    pub cp_n: f64,
    /// `max(CP_N, N·F/capacity + tail)`.
    pub lb_n: f64,
}

/// The bound for `hosts` hosts of which `changes` need a boot-order change, into `clouds` clouds.
#[must_use]
pub fn bound(model: &LabModel, hosts: usize, changes: usize, clouds: usize, seed: u64) -> Bound {
    let (f, b) = (&model.foreman, &model.bmc);
    // Before the power cycle three branches run side by side: the Foreman build write, the
    // one-time PXE PATCH, and (if needed) the boot-order PATCH then its config-job POST.
    let pre_boot = if changes > 0 {
        b.patch + b.action
    } else {
        b.patch.max(f.host_build_write)
    };
    let mut cp_terms = vec![
        term(
            "switch commit (the host's ports in its switch's batch)",
            model.switch.commit,
        ),
        term(
            if changes > 0 {
                "boot order PATCH + config job POST (longest pre-boot branch)"
            } else {
                "one-time PXE PATCH (longest pre-boot branch)"
            },
            pre_boot,
        ),
        term("ForceOff action", b.action),
        term("power off", b.power_off),
        term("POST", b.power_on_post),
    ];
    if changes > 0 {
        cp_terms.push(term("config job applied during POST", b.config_job));
    }
    cp_terms.push(term("install", f.install));
    cp_terms.push(term(
        "Foreman shows build=false (one thin query)",
        f.index_base,
    ));
    let cp: f64 = cp_terms.iter().map(|t| t.seconds).sum();
    let n = hosts.max(1) as f64;
    let f_terms = vec![
        term(
            "PUT /hosts/:id with build=true, the 3 host parameters nested in it",
            f.host_build_write,
        ),
        term(
            format!("cloud user, role, filter, role assignment (4 writes × {clouds} clouds / N)"),
            4.0 * f.rbac_write * clouds as f64 / n,
        ),
    ];
    let f_host: f64 = f_terms.iter().map(|t| t.seconds).sum();
    let capacity = f.capacity.max(1);
    let foreman_bound = n * f_host / capacity as f64;
    // what must follow the last host's Foreman write (its switch commit came before)
    let tail = cp - pre_boot - model.switch.commit;
    let cp_n = slowest_of(model, hosts, changes, seed, pre_boot);
    Bound {
        hosts,
        boot_order_changes: changes,
        cp_terms,
        cp,
        f_terms,
        f: f_host,
        capacity,
        foreman_bound,
        lb: cp.max(foreman_bound),
        tail,
        cp_n,
        lb_n: cp_n.max(foreman_bound + tail),
    }
}

/// The mean over seeded trials of the slowest host's drawn critical path: power-off, POST,
/// config job (for the first `changes` hosts) and install drawn log-normally as the lab draws
/// them; request latencies at their medians.
fn slowest_of(model: &LabModel, hosts: usize, changes: usize, seed: u64, pre_boot: f64) -> f64 {
    const TRIALS: u64 = 40;
    let (f, b) = (&model.foreman, &model.bmc);
    let mut key = seed.wrapping_mul(0x2545_f491_4f6c_dd1d);
    let mut draw = |median: f64, sigma: f64| {
        key = key.wrapping_add(2);
        let u = |k: u64| testkit::clock::unit(testkit::clock::mix(k));
        testkit::clock::lognormal(median, sigma, (u(key - 1), u(key)))
    };
    let fixed = pre_boot + b.action + f.index_base;
    let sw = &model.switch;
    let mut total = 0.0;
    for _ in 0..TRIALS {
        let mut slowest: f64 = 0.0;
        let mut commit = 0.0;
        for h in 0..hosts {
            // about ten hosts share a switch (48 ports) and so one commit's draw
            if h % 10 == 0 {
                commit = draw(sw.commit, sw.sigma);
            }
            let mut path = fixed
                + commit
                + draw(b.power_off, b.sigma)
                + draw(b.power_on_post, b.sigma)
                + draw(f.install, 0.1);
            if h < changes {
                path += draw(b.config_job, b.sigma);
            }
            slowest = slowest.max(path);
        }
        total += slowest;
    }
    total / TRIALS as f64
}

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
    /// What is wrong (empty when every check passed).
    pub problems: Vec<String>,
    /// Faults the lab injected, by service and kind (`"foreman applied-504"`).
    pub faults: std::collections::BTreeMap<String, u64>,
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

/// The executor settings of a simulated run, in lab time (`time_scale` converts them).
#[must_use]
pub fn executor_config(policy: Policy, hosts: usize, time_scale: f64) -> ExecutorConfig {
    let mut c = ExecutorConfig {
        time_scale,
        poll_interval: Duration::from_secs(5),
        ..ExecutorConfig::default()
    };
    // Hosts waiting for their install hold a slot but cost nothing: let every host in.
    c.limits.hosts_in_flight = c.limits.hosts_in_flight.max(hosts);
    c.limits.power_on_rate = RateConfig {
        per_second: 20.0,
        burst: 20,
    };
    c.limits.foreman_rate = RateConfig {
        per_second: 100.0,
        burst: 50,
    };
    match policy {
        Policy::Ours => c,
        Policy::Quads2019 => c.quads_2019(),
    }
}

/// Runs `cargo xtask simulate`.
pub fn run_simulate(root: &Path, args: &SimArgs) -> anyhow::Result<()> {
    let faults = FaultProfile::parse(&args.faults).map_err(|e| anyhow::anyhow!(e))?;
    if !(args.time_scale > 0.0 && args.time_scale.is_finite()) {
        bail!("--time-scale must be a positive number");
    }
    if args.clouds == 0 {
        bail!("--clouds must be at least 1");
    }
    let sizes = if args.sweep.is_empty() {
        vec![args.hosts]
    } else {
        args.sweep.clone()
    };
    if sizes.contains(&0) {
        bail!("a fleet of 0 hosts moves nothing");
    }
    let worker = args.source == Source::QuadsServer;
    if worker && args.in_virtual_time {
        bail!("--source quads-server runs in real mode only (the lab's QUADS server over HTTP)");
    }
    let profile = if args.debug { "debug" } else { "release" };
    if !args.in_virtual_time {
        let mut build = vec![
            "build",
            "--quiet",
            "--package",
            "quads-cli",
            "--package",
            "testkit",
        ];
        if !args.debug {
            build.push("--release");
        }
        if std::env::var_os("XTASK_WRAP").is_some() {
            // under a heap profiler (see `bench::measure`): the system allocator, which it sees
            build.push("--no-default-features");
        }
        run(root, "cargo", &build)?;
    }
    let quads = target_dir(root).join(profile).join("quads");
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| target_dir(root).join("simulate"));
    std::fs::create_dir_all(&out)?;
    let model = LabModel::default();
    let mut report = SimReport {
        mode: if args.in_virtual_time {
            "virtual"
        } else if worker {
            crate::simulate_quads::MODE
        } else {
            "real"
        },
        command: command_line(),
        time_scale: if args.in_virtual_time {
            1.0
        } else {
            args.time_scale
        },
        faults: faults.clone(),
        seed: args.seed,
        clouds: args.clouds,
        model: model.clone(),
        ours: executor_config(Policy::Ours, args.hosts, 1.0),
        sizes: Vec::new(),
    };
    for &hosts in &sizes {
        let lab_config = LabConfig {
            hosts,
            time_scale: report.time_scale,
            faults: faults.clone(),
            seed: args.seed,
            model: model.clone(),
            log_limit: 1000,
            ..LabConfig::default()
        };
        let (changes, dead) = lab_facts(&lab_config)?;
        let bound = bound(&model, hosts, changes, args.clouds, args.seed);
        let mut runs = Vec::new();
        for policy in args.policy.policies() {
            eprintln!(
                "simulate: {hosts} hosts, {} policy, {} mode",
                policy.name(),
                report.mode
            );
            let dir = out.join(format!("run-{hosts}-{policy:?}").to_lowercase());
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir)?;
            let setup = RunSetup {
                policy,
                clouds: args.clouds,
                dir: &dir,
                quads: &quads,
                dead: &dead,
            };
            let mut result = if args.in_virtual_time {
                crate::simulate_virtual::run(&setup, lab_config.clone())?
            } else if worker {
                crate::util::runtime()?.block_on(crate::simulate_quads::real_run(
                    &setup,
                    &lab_config,
                    &args.faults,
                ))?
            } else {
                crate::util::runtime()?.block_on(real_run(&setup, &lab_config, &args.faults))?
            };
            result.vs_lb = result.makespan / bound.lb;
            result.vs_lb_n = result.makespan / bound.lb_n;
            eprintln!("{}", one_line(&result));
            runs.push(result);
        }
        let speedup = match (
            runs.iter().find(|r| r.policy == Policy::Ours),
            runs.iter().find(|r| r.policy == Policy::Quads2019),
        ) {
            (Some(o), Some(q)) if o.makespan > 0.0 => Some(q.makespan / o.makespan),
            _ => None,
        };
        report.sizes.push(SizeResult {
            bound,
            runs,
            speedup,
        });
    }
    let text = render(&report);
    println!("{text}");
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("JSON: {}", path.display());
    }
    if report.sizes.len() > 1 {
        write_sweep(&report, &out)?;
    }
    if args.check {
        let problems: Vec<String> = report
            .sizes
            .iter()
            .flat_map(|s| &s.runs)
            .flat_map(|r| {
                r.problems
                    .iter()
                    .map(move |p| format!("{}: {p}", r.policy.name()))
            })
            .collect();
        if !problems.is_empty() {
            bail!("simulation checks failed:\n  {}", problems.join("\n  "));
        }
        println!("checks: every healthy host moved; counters sane");
    }
    Ok(())
}

fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("cargo xtask {}", args.join(" "))
}

/// What the lab's seed decides before any run: which hosts need a boot-order change (their
/// initial order does not start with the provisioning NIC) and which cannot move (a dead BMC,
/// an install that never finishes).
fn lab_facts(config: &LabConfig) -> anyhow::Result<(usize, Vec<String>)> {
    let lab = testkit::InProcessLab::new(config.clone()).context("cannot build the lab state")?;
    let changes = lab.with_state(|s| {
        s.machines
            .iter()
            .filter(|m| {
                let wanted = interfaces_order(&m.model, HostType::Foreman);
                m.boot_order.first() != wanted.first()
            })
            .count()
    });
    // a host whose install never finishes cannot move either
    let faults = &lab.shared().fault_hosts;
    let unmovable = faults.dead.union(&faults.install_hang).copied().collect();
    let dead = dead_hosts(&unmovable, &lab.inventory());
    Ok((changes, dead))
}

/// What a run needs besides the lab.
pub struct RunSetup<'a> {
    /// The policy.
    pub policy: Policy,
    /// Tenant clouds.
    pub clouds: usize,
    /// A fresh directory for its files.
    pub dir: &'a Path,
    /// The `quads` binary (real mode).
    pub quads: &'a Path,
    /// Hosts whose BMC the lab makes dead (they are expected to fail).
    pub dead: &'a [String],
}

/// `quads-lab`'s arguments for a simulated run's lab: its size, time scale, seed and faults.
#[must_use]
pub fn lab_args(config: &LabConfig, faults: &str) -> Vec<String> {
    vec![
        "--hosts".to_owned(),
        config.hosts.to_string(),
        "--time-scale".to_owned(),
        config.time_scale.to_string(),
        "--seed".to_owned(),
        config.seed.to_string(),
        "--faults".to_owned(),
        faults.to_owned(),
    ]
}

/// One policy's run against a fresh `quads-lab` process (same seed: the same fleet) and the
/// real `quads` binary, both from the same build.
async fn real_run(
    setup: &RunSetup<'_>,
    config: &LabConfig,
    faults: &str,
) -> anyhow::Result<RunResult> {
    let time_scale = config.time_scale;
    let hosts = config.hosts;
    let lab_dir = setup.dir.join("lab");
    let quads_lab = setup.quads.with_file_name("quads-lab");
    crate::demo::with_lab(
        &quads_lab,
        &lab_dir,
        &lab_args(config, faults),
        async |inventory| {
            let executor = executor_config(setup.policy, hosts, time_scale);
            let config =
                crate::demo::write_setup(setup.dir, &lab_dir, inventory, executor, setup.clouds)?;
            let config_arg = config.to_string_lossy().into_owned();
            for args in [&["init"][..], &["host", "import", "inventory.yaml"][..]] {
                let out = std::process::Command::new(setup.quads)
                    .args(args)
                    .args(["--config", &config_arg])
                    .current_dir(setup.dir)
                    .env("HOME", setup.dir)
                    .output()
                    .with_context(|| format!("cannot run quads {}", args.join(" ")))?;
                if !out.status.success() {
                    bail!(
                        "quads {} failed: {}",
                        args.join(" "),
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            }
            // the moves alone are measured (the QUADS 2019 preset has no validation either)
            let (mut r, _) =
                measure_move_hosts(setup, inventory, &["--no-validate"], &config, time_scale)
                    .await?;
            let expect = isolation_expectation(inventory, setup.clouds, setup.dead);
            judge_isolation(
                &mut r,
                &crate::demo::lab_isolation(inventory, &expect).await?,
            );
            Ok(r)
        },
    )
    .await
}

/// Runs the measured `quads move-hosts ARGS --format json` of a simulated run (its
/// `quads.toml` at `config`) and makes its result from the run's report and the lab's
/// counters, times in lab seconds.
pub async fn measure_move_hosts(
    setup: &RunSetup<'_>,
    inventory: &testkit::Inventory,
    args: &[&str],
    config: &Path,
    time_scale: f64,
) -> anyhow::Result<(RunResult, RunReport)> {
    let home = setup.dir.to_string_lossy().into_owned();
    let mut argv: Vec<String> = std::iter::once("move-hosts")
        .chain(args.iter().copied())
        .chain(["--format", "json", "--config"])
        .map(str::to_owned)
        .collect();
    argv.push(config.to_string_lossy().into_owned());
    let measured = crate::bench::measure(
        setup.quads,
        &argv,
        &[("HOME", &home), ("QUADS_LOG", "warn")],
        setup.dir,
        "move-hosts",
    )
    .await?;
    let stdout = std::fs::read_to_string(setup.dir.join("move-hosts.stdout"))?;
    let report: RunReport = serde_json::from_str(&stdout).with_context(|| {
        format!(
            "quads move-hosts gave no report (exit {:?}); see {}",
            measured.exit_code,
            setup.dir.join("move-hosts.stderr").display()
        )
    })?;
    let metrics = crate::demo::lab_metrics(inventory).await?;
    #[allow(clippy::cast_precision_loss)]
    let costs = Costs {
        makespan: report.seconds / time_scale,
        wall: measured.wall.as_secs_f64(),
        cpu: measured.cpu_s,
        rss_mib: measured.peak_rss_kib as f64 / 1024.0,
    };
    let mut r = result(setup.policy, &report, &metrics, setup.dead, costs);
    // the report's step times are real seconds: in lab seconds like the makespan
    r.switch_step_p50 /= time_scale;
    r.switch_step_max /= time_scale;
    Ok((r, report))
}

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
        problems,
        faults: metrics.faults.clone(),
    }
}

/// The faults a run met, as one line (`bmc hang 3, foreman applied-504 12`), `none` if none.
fn faults_line(r: &RunResult) -> String {
    if r.faults.is_empty() {
        return "none".to_owned();
    }
    r.faults
        .iter()
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn one_line(r: &RunResult) -> String {
    // an in-process lab has no connections to count
    let connections = if r.bmc_connections_per_host > 0.0 {
        format!(
            "{:.2} BMC connections/host ({:.2} resumed), ",
            r.bmc_connections_per_host, r.bmc_tls_resumed_per_host
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
             - CP_N (expected slowest of {} drawn paths) = {:.1} s; LB_N = max(CP_N, N·F/capacity + tail {:.1}) = {:.1} s\n\n",
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
        ));
        let headers = [
            "policy",
            "makespan lab s",
            "makespan/LB",
            "makespan/LB_N",
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
        }
        for r in &size.runs {
            for p in r.problems.iter().take(10) {
                out.push_str(&format!("\n- problem ({}): {p}", r.policy.name()));
            }
        }
    }
    out
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
fn write_sweep(report: &SimReport, out: &Path) -> anyhow::Result<()> {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use provision_core::executor::{HostReport, HostStatus};
    use provision_core::limits::{Limits, LimitsConfig};
    use testkit::HostCounters;

    use super::*;

    #[test]
    fn the_bound_adds_up_the_model_terms() {
        let model = LabModel::default();
        let b = bound(&model, 700, 233, 3, 1);
        // 4 switch commit, 1.5 PATCH + 1.0 job POST, 1.0 ForceOff, 5 off, 10 POST, 60 job,
        // 300 install, 0.05 poll
        assert!((b.cp - 382.55).abs() < 1e-9, "{}", b.cp);
        let sum: f64 = b.f_terms.iter().map(|t| t.seconds).sum();
        assert!((b.f - sum).abs() < 1e-12);
        // one build write carrying the parameters, plus the clouds' RBAC writes shared by all
        assert!((b.f - (1.0 + 4.0 * 0.15 * 3.0 / 700.0)).abs() < 1e-9);
        assert!((b.foreman_bound - 700.0 * b.f / 10.0).abs() < 1e-9);
        assert!((b.lb - b.cp).abs() < 1e-9, "at 700 hosts the path bounds");
        // the slowest of 700 drawn paths is well above the median path, below twice it
        assert!(b.cp_n > b.cp + 20.0 && b.cp_n < 2.0 * b.cp, "{}", b.cp_n);
        assert!(b.lb_n >= b.cp_n);

        let big = bound(&model, 5000, 1667, 3, 1);
        assert!(
            (big.lb - big.foreman_bound).abs() < 1e-9,
            "Foreman bounds 5,000"
        );
        assert!((big.lb_n - (big.foreman_bound + big.tail)).abs() < 1e-9);
        // without boot-order changes the pre-boot branch is the PXE PATCH and there is no job
        let plain = bound(&model, 10, 0, 1, 1);
        assert!((plain.cp - (4.0 + 1.5 + 1.0 + 5.0 + 10.0 + 300.0 + 0.05)).abs() < 1e-9);
        assert_eq!(bound(&model, 700, 233, 3, 1).cp_n, b.cp_n, "seeded");
    }

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

    #[test]
    fn quads_preset_differs_only_in_its_knobs() {
        let ours = executor_config(Policy::Ours, 700, 0.02);
        let quads = executor_config(Policy::Quads2019, 700, 0.02);
        assert_eq!(ours.limits.hosts_in_flight, 700);
        assert_eq!(quads.limits.foreman_writes.ceiling, 1);
        assert_eq!(
            quads.policy,
            provision_core::executor::config::Policy::quads_2019()
        );
        assert_eq!(
            ExecutorConfig {
                policy: ours.policy.clone(),
                limits: ours.limits.clone(),
                ..quads
            },
            ours
        );
    }
}
