//! Shared chores: the project root and running commands loudly.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The workspace root (xtask lives one level below it).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Runs `program args...` in `dir`, echoing the command, failing on a non-zero exit.
pub fn run(dir: &Path, program: &str, args: &[&str]) -> anyhow::Result<()> {
    run_with_env(dir, program, args, &[])
}

/// [`run`] with extra environment variables.
pub fn run_with_env(
    dir: &Path,
    program: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> anyhow::Result<()> {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .status()
        .with_context(|| format!("could not start {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// Builds the `quads` and `quads-lab` binaries (`release` or debug), the one build `demo`,
/// `simulate` and `dist` share so that none of them rebuilds after another. `system_allocator`
/// builds `quads` without its default allocator (for heap profilers).
pub fn build_binaries(root: &Path, release: bool, system_allocator: bool) -> anyhow::Result<()> {
    let mut build = vec![
        "build",
        "--quiet",
        "--package",
        "quads-cli",
        "--package",
        "testkit",
    ];
    if release {
        build.push("--release");
    }
    if system_allocator {
        build.push("--no-default-features");
    }
    run(root, "cargo", &build)
}

/// A multi-threaded tokio runtime for the chores that talk to a lab.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start a tokio runtime")
}

/// Cargo's target directory (`CARGO_TARGET_DIR` or `target/` in the project).
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// In a debug build, runs this same `cargo xtask` command again from a release build of xtask
/// and gives its outcome; `None` when this already is a release build. For the chores that
/// measure: an in-process lab built without optimisations would spend the CPU the measured
/// tools need and narrow every ratio.
pub fn rerun_in_release(root: &Path) -> Option<anyhow::Result<()>> {
    if !cfg!(debug_assertions) {
        return None;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut argv = vec!["run", "--quiet", "--release", "--package", "xtask", "--"];
    argv.extend(args.iter().map(String::as_str));
    eprintln!("(measuring chore: running it from a release build of xtask)");
    Some(run(root, "cargo", &argv))
}
