//! `cargo xtask simulate --source quads-server`: the same fleet simulation in worker mode, the
//! moves coming from the lab's fake QUADS server instead of the local store.
//!
//! Each policy's run starts a fresh `quads-lab` whose QUADS server holds no schedule
//! (`--quads-scheduled 0`), seeds it through the API as the local run's store is seeded (every
//! host scheduled into `--clouds` clouds round-robin, every assignment a wipe:
//! `crate::worker_site::seed_wipe_schedules`), then measures the real
//! `quads move-hosts --quads-url URL --format json` with no store prepared. The figures are
//! the local source's (`super::check::result`, against the same bound); on top, the
//! server's state is judged (`crate::worker_site::judge`: `GET moves` afterwards lists exactly
//! the hosts that failed, each with its error in the run, and every moved host, schedule and
//! assignment is as QUADS's own mover leaves it), and any finding is a problem `--check` fails on.

use std::collections::BTreeSet;

use anyhow::bail;
use testkit::LabConfig;

use super::report::RunResult;
use super::run::RunSetup;
use crate::worker_site;

/// Where a simulated run's moves come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    /// The local store (`quads init`, `quads host import`).
    Local,
    /// The lab's QUADS server (worker mode, `quads move-hosts --quads-url`).
    QuadsServer,
}

/// The report's mode for a worker-mode run ("real, worker mode" in its title).
pub const MODE: &str = "real, worker";

/// One policy's worker-mode run against a fresh `quads-lab` process (same seed: the same fleet).
///
/// # Errors
/// When the lab does not start, the server refuses the seed, or the run gives no report.
pub async fn real_run(
    setup: &RunSetup<'_>,
    config: &LabConfig,
    faults: &str,
) -> anyhow::Result<RunResult> {
    let time_scale = config.time_scale;
    let lab_dir = setup.dir.join("lab");
    let quads_lab = setup.quads.with_file_name("quads-lab");
    let mut args = super::run::lab_args(config, faults);
    args.extend(["--quads-scheduled".to_owned(), "0".to_owned()]);
    crate::demo::with_lab(&quads_lab, &lab_dir, &args, async |inventory| {
        let server = worker_site::client(inventory)?;
        let hosts: Vec<String> = inventory.hosts.iter().map(|h| h.name.clone()).collect();
        let clouds = crate::demo::cloud_names(setup.clouds);
        worker_site::seed_wipe_schedules(&server, &hosts, &clouds).await?;
        let before = server.moves(None).await?;
        if before.len() != hosts.len() {
            bail!(
                "the seeded QUADS server lists {} moves for {} hosts",
                before.len(),
                hosts.len()
            );
        }
        let executor = super::run::executor_config(setup.policy, config.hosts, time_scale);
        let quads_toml = worker_site::write_setup(setup.dir, &lab_dir, inventory, executor)?;
        let started = crate::demo::unix_now();
        let (mut r, report) = super::run::measure_move_hosts(
            setup,
            inventory,
            &["--quads-url", &inventory.quads_url],
            &quads_toml,
            time_scale,
        )
        .await?;
        let state = worker_site::read_state(&server).await?;
        let outcomes = worker_site::outcomes(&report);
        let failed: BTreeSet<&str> = outcomes
            .iter()
            .filter(|(_, o)| o.is_some())
            .map(|(h, _)| h.as_str())
            .collect();
        eprintln!(
            "  QUADS server: GET moves listed {} before the run, {} after; {} host(s) failed{}",
            before.len(),
            state.moves.len(),
            failed.len(),
            if failed.is_empty() {
                String::new()
            } else {
                format!(" ({})", failed.into_iter().collect::<Vec<_>>().join(", "))
            }
        );
        r.problems.extend(
            worker_site::judge(&before, &outcomes, &state, started)
                .into_iter()
                .map(|p| format!("QUADS server: {p}")),
        );
        let expect = worker_site::expectation(&before, &outcomes, &state);
        let isolation = crate::demo::lab_isolation(inventory, &expect).await?;
        super::check::judge_isolation(&mut r, &isolation);
        Ok(r)
    })
    .await
}
