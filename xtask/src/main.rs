//! `cargo xtask`: the one entry point for CI and the project's chores.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "xtask", about = "Project chores: ci, demo")]
struct Args {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Everything CI checks: formatting, clippy with warnings denied, the test suites.
    Ci {
        /// Also run the slow tier (large labs, peers).
        #[arg(long)]
        slow: bool,
    },
    /// The main job on the simulated lab.
    Demo,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let root = project_root();
    match args.task {
        Task::Ci { slow } => ci(&root, slow),
        Task::Demo => demo(&root),
    }
}

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn ci(root: &Path, slow: bool) -> anyhow::Result<()> {
    run(root, "cargo", &["fmt", "--all", "--", "--check"])?;
    run(
        root,
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    let mut test = vec!["test", "--workspace"];
    if slow {
        test.extend(["--", "--include-ignored"]);
    }
    run(root, "cargo", &test)?;
    Ok(())
}

fn demo(root: &Path) -> anyhow::Result<()> {
    run(
        root,
        "cargo",
        &[
            "run",
            "--quiet",
            "--package",
            "testkit",
            "--bin",
            "quads-lab",
            "--",
            "--demo",
        ],
    )
}

fn run(root: &Path, program: &str, args: &[&str]) -> anyhow::Result<()> {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(root)
        .status()
        .with_context(|| format!("could not start {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}
