//! `cargo xtask`: the one entry point for CI and the project's chores.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a terminal program: printing is its job

mod bench;
mod ci;
mod conformance;
mod demo;
mod dist;
mod inproc;
mod peers;
mod plot;
mod simulate;
mod tidy;
mod util;
mod worker_site;

use clap::{Parser, Subcommand};

/// mimalloc, as in `quads`: the in-process labs of `simulate --virtual` and `bench` allocate
/// and free JSON for every request, where glibc's malloc took a third of the CPU (the bench's
/// lab serves both tools alike).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "xtask",
    about = "Project chores: ci, tidy, demo, simulate, bench, conformance, peers"
)]
struct Args {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Everything CI checks: formatting, clippy with warnings denied, the test suites, conformance.
    Ci {
        /// Also run the slow tier (large labs).
        #[arg(long)]
        slow: bool,
    },
    /// The main job on the simulated lab (a separate `quads-lab` process).
    Demo {
        /// Hosts in the lab.
        #[arg(long, default_value_t = 100)]
        hosts: usize,
        /// Real seconds per lab second.
        #[arg(long, default_value_t = 0.01)]
        time_scale: f64,
        /// Worker mode: the moves come from the lab's QUADS server (`quads move-hosts
        /// --quads-url`), and its state is checked afterwards.
        #[arg(long)]
        quads_server: bool,
    },
    /// Checks the lab's BMCs with DMTF's Redfish Service Validator and OpenStack's sushy client.
    Conformance,
    /// Installs the peer tools (validator, sushy, sushy-tools, Badfish) into target/peers.
    Peers,
    /// Badfish against `quads oob` (release) on the same lab BMCs: medians and ratios.
    Bench(bench::BenchArgs),
    /// Move-and-rebuild of N lab hosts, ours and the QUADS 2019 preset, against DESIGN §8's bound.
    Simulate(simulate::SimArgs),
    /// The release step: `quads` and `quads-lab` in release with man pages, shell completions,
    /// README and LICENSE, laid out in target/dist/ and archived.
    Dist {
        /// Lay out the debug build instead (no release compile).
        #[arg(long)]
        debug: bool,
    },
    /// The house rules: crate edges, module docs, no printing in libraries, no thread sleeps or
    /// ignored tests, the lint settings.
    Tidy,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let root = util::project_root();
    match args.task {
        Task::Ci { slow } => ci::run_ci(&root, slow),
        Task::Demo {
            hosts,
            time_scale,
            quads_server,
        } => {
            let source = if quads_server {
                demo::DemoSource::QuadsServer
            } else {
                demo::DemoSource::Store
            };
            demo::run_demo(&root, hosts, time_scale, source)
        }
        Task::Conformance => conformance::run(&root),
        Task::Bench(args) => {
            util::rerun_in_release(&root).unwrap_or_else(|| bench::run_bench(&root, &args))
        }
        // `--debug` keeps everything in the debug build (CI's quick simulation)
        Task::Simulate(args) if args.debug => simulate::run_simulate(&root, &args),
        Task::Simulate(args) => {
            util::rerun_in_release(&root).unwrap_or_else(|| simulate::run_simulate(&root, &args))
        }
        Task::Dist { debug } => dist::run_dist(&root, debug).map(|d| {
            println!(
                "{} ({} man pages)\n{}",
                d.dir.display(),
                d.pages,
                d.archive.display()
            );
        }),
        Task::Tidy => tidy::run(&root),
        Task::Peers => {
            peers::ensure(&root).map(|venv| println!("peers ready in {}", venv.display()))
        }
    }
}
