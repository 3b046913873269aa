//! The orchestration of `cargo xtask simulate`: building the binaries, one fresh lab per fleet
//! size and policy, the measured `quads move-hosts` in real mode, and the report at the end.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use provision_core::executor::{ExecutorConfig, RunReport};
use provision_core::limits::RateConfig;
use testkit::lab::{HostType, interfaces_order};
use testkit::{FaultProfile, Flavor, LabConfig, LabModel};

use super::args::{Policy, SimArgs};
use super::bound::bound;
use super::check::{Costs, dead_hosts, isolation_expectation, judge_isolation, result};
use super::quads::Source;
use super::report::{RunResult, SimReport, SizeResult, one_line, render, write_sweep};
use crate::util::target_dir;

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
    if args.kill > 0 && (args.in_virtual_time || worker || args.policy != super::args::Which::Ours)
    {
        bail!("--kill runs in real mode with --policy ours only");
    }
    let profile = if args.debug { "debug" } else { "release" };
    if !args.in_virtual_time {
        // under a heap profiler (see `bench::measure`): the system allocator, which it sees
        let profiled = std::env::var_os("XTASK_WRAP").is_some();
        crate::util::build_binaries(root, !args.debug, profiled)?;
    }
    let quads = target_dir(root).join(profile).join("quads");
    // absolute: the runs' commands work in their own directories
    let out = match &args.out {
        Some(out) => std::path::absolute(out)
            .with_context(|| format!("cannot resolve --out {}", out.display()))?,
        None => target_dir(root).join("simulate"),
    };
    std::fs::create_dir_all(&out)?;
    let model = LabModel::default();
    let flavors = flavors(&args.flavors)?;
    let mut report = SimReport {
        mode: if args.in_virtual_time {
            "virtual"
        } else if worker {
            super::quads::MODE
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
            flavors: flavors.clone(),
            ..LabConfig::default()
        };
        let (changes, dead) = lab_facts(&lab_config)?;
        let bound = bound(&model, hosts, changes, args.clouds, args.seed);
        // the kills spread over the makespan ours is expected to take: LB_N, times 1.5 (its
        // ratio to LB_N without faults is about 1.2), in real seconds
        let kills = super::kill::kill_gaps(
            args.kill,
            Duration::from_secs_f64(bound.lb_n * 1.5 * report.time_scale),
            args.seed,
        );
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
                kills: &kills,
            };
            let mut result = if args.in_virtual_time {
                super::virtual_time::run(&setup, lab_config.clone())?
            } else if worker {
                crate::util::runtime()?.block_on(super::quads::real_run(
                    &setup,
                    &lab_config,
                    &args.faults,
                ))?
            } else {
                crate::util::runtime()?.block_on(real_run(&setup, &lab_config, &args.faults))?
            };
            result.vs_lb = result.makespan / bound.lb;
            result.vs_lb_n = result.makespan / bound.lb_n;
            result.vs_lb_n_median = result.makespan / bound.lb_n_median;
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

/// `--flavors`: none given is the lab's default fleet, `all` every flavour.
fn flavors(names: &[String]) -> anyhow::Result<Vec<Flavor>> {
    if names.is_empty() {
        return Ok(LabConfig::default().flavors);
    }
    Flavor::parse_list(names).map_err(|e| anyhow::anyhow!("--flavors: {e}"))
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
    /// Real mode: `move-hosts` is killed this long after each start, then run to the end.
    pub kills: &'a [Duration],
}

/// `quads-lab`'s arguments for a simulated run's lab: its size, flavours, time scale, seed and
/// faults.
#[must_use]
pub fn lab_args(config: &LabConfig, faults: &str) -> Vec<String> {
    let flavors: Vec<String> = config.flavors.iter().map(|f| f.name().to_owned()).collect();
    vec![
        "--flavors".to_owned(),
        flavors.join(","),
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
            let started = std::time::Instant::now();
            let killed = if setup.kills.is_empty() {
                Vec::new()
            } else {
                let mut argv = vec!["move-hosts", "--no-validate", "--format", "json"];
                argv.extend(["--config", &config_arg]);
                let argv: Vec<String> = argv.into_iter().map(str::to_owned).collect();
                let home = setup.dir.to_string_lossy().into_owned();
                let log = quads_log(std::env::var("QUADS_LOG").ok());
                let env = [("HOME", home.as_str()), ("QUADS_LOG", log.as_str())];
                super::kill::killed_runs(setup.quads, &argv, &env, setup.dir, setup.kills).await?
            };
            let (mut r, _) =
                measure_move_hosts(setup, inventory, &["--no-validate"], &config, time_scale)
                    .await?;
            let expect = isolation_expectation(inventory, setup.clouds, setup.dead);
            if !setup.kills.is_empty() {
                let total = started.elapsed().as_secs_f64();
                let runs = (killed, total);
                judge_kills(&mut r, runs, setup, inventory, &expect, time_scale).await?;
            }
            judge_isolation(
                &mut r,
                &crate::demo::lab_isolation(inventory, &expect).await?,
            );
            Ok(r)
        },
    )
    .await
}

/// After the last of the killed runs: the kills and their makespan into `r` (the makespan is
/// every run's wall time, in lab seconds), and issue 16's clauses judged into its problems.
async fn judge_kills(
    r: &mut RunResult,
    (runs, total_wall): (Vec<super::kill::KilledRun>, f64),
    setup: &RunSetup<'_>,
    inventory: &testkit::Inventory,
    expect: &testkit::Expectation,
    time_scale: f64,
) -> anyhow::Result<()> {
    let mut kills = super::kill::KillReport {
        planned: setup.kills.len(),
        runs_wall: runs.iter().map(|k| k.wall).sum::<f64>() + r.wall_seconds,
        runs,
        ..super::kill::KillReport::default()
    };
    kills.total_wall = total_wall;
    r.makespan = kills.runs_wall / time_scale;
    // the lab notices a closed connection on its own time: the killed runs' hung ones end soon
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let metrics = loop {
        let m = crate::demo::lab_metrics(inventory).await?;
        let ended = |s: &str| m.hangs.get(s).map_or(0, |h| h.ended);
        let held = ["bmc", "foreman"]
            .iter()
            .any(|s| ended(s) < m.faults_of(&format!("{s} hang")));
        if !held || std::time::Instant::now() > deadline {
            break m;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let facts = super::kill::Facts {
        store: &setup.dir.join("quads.db"),
        expected: expect
            .hosts
            .iter()
            .map(|(h, e)| (h.clone(), e.owner.clone()))
            .collect(),
        request_timeout: executor_config(setup.policy, 0, 1.0)
            .request_timeout
            .as_secs_f64(),
    };
    r.problems
        .extend(super::kill::judge(&facts, &metrics, &mut kills).await?);
    // The lab's counters cover every run but the last run's report only the hosts left to it:
    // the per-host figures and the moved count are made the soak's (CPU and memory stay the
    // last run's own: a killed process is not measured).
    let run_hosts = r.hosts.max(1) as f64;
    let all_hosts = inventory.hosts.len().max(1);
    let scale = run_hosts / all_hosts as f64;
    r.foreman_requests_per_host *= scale;
    r.bmc_requests_per_host *= scale;
    r.bmc_connections_per_host *= scale;
    r.bmc_tls_resumed_per_host *= scale;
    for per_host in r.requests_per_host_by_endpoint.values_mut() {
        *per_host *= scale;
    }
    r.hosts = all_hosts;
    r.moved = kills.moved;
    r.failed = all_hosts.saturating_sub(kills.moved);
    r.kills = Some(kills);
    Ok(())
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
    let log = quads_log(std::env::var("QUADS_LOG").ok());
    let measured = crate::bench::measure(
        setup.quads,
        &argv,
        &[("HOME", &home), ("QUADS_LOG", &log)],
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

/// The `QUADS_LOG` of a simulated `quads` run (the measured one and the killed ones before it,
/// each logging to its own `.stderr` file): the operator's own filter when set, else `warn`.
fn quads_log(operator: Option<String>) -> String {
    operator
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "warn".to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_simulated_run_logs_at_the_operators_filter_else_warnings() {
        assert_eq!(quads_log(None), "warn");
        assert_eq!(quads_log(Some(String::new())), "warn");
        assert_eq!(
            quads_log(Some("redfish_client=debug".to_owned())),
            "redfish_client=debug"
        );
    }

    #[test]
    fn flavors_default_to_the_labs_and_all_is_every_one() {
        assert_eq!(flavors(&[]).unwrap(), LabConfig::default().flavors);
        assert_eq!(flavors(&["all".to_owned()]).unwrap(), Flavor::EVERY);
        let two = flavors(&["ilo".to_owned(), "xcc".to_owned()]).unwrap();
        assert_eq!(two, [Flavor::Hpe, Flavor::Lenovo]);
        let wrong = flavors(&["dell".to_owned(), "ibm".to_owned()]).unwrap_err();
        assert!(wrong.to_string().contains("\"ibm\""), "{wrong}");
        // the lab process is started with the same fleet
        let config = LabConfig {
            flavors: two,
            ..LabConfig::default()
        };
        let args = lab_args(&config, "none");
        let at = args.iter().position(|a| a == "--flavors").unwrap();
        assert_eq!(args[at + 1], "hpe,lenovo");
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
