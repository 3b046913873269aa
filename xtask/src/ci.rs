//! `cargo xtask ci`: formatting, lints and every test suite.
//!
//! `--slow` sets `QUADS_SLOW=1` for the test suites, which then also run their large tiers.

use std::path::Path;

use crate::util::{run, run_with_env};

pub fn run_ci(root: &Path, slow: bool) -> anyhow::Result<()> {
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
    let env: &[(&str, &str)] = if slow { &[("QUADS_SLOW", "1")] } else { &[] };
    run_with_env(root, "cargo", &["test", "--workspace"], env)?;
    Ok(())
}
