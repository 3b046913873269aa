//! `cargo xtask ci`: formatting, lints, the peer tools, every test suite, and the lab's
//! conformance (DMTF's validator and sushy against each BMC flavour).
//!
//! The test suites find the peers venv through `QUADS_PEERS` (tests that drive sushy-tools or
//! Badfish need it). `--slow` sets `QUADS_SLOW=1`, which makes suites run their large tiers too.

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
    let venv = crate::peers::ensure(root)?;
    let venv = venv.to_string_lossy();
    let mut env = vec![("QUADS_PEERS", venv.as_ref())];
    if slow {
        env.push(("QUADS_SLOW", "1"));
    }
    run_with_env(root, "cargo", &["test", "--workspace"], &env)?;
    crate::conformance::run(root)?;
    Ok(())
}
