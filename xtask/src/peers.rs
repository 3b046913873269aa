//! The peer tools, installed from PyPI into a venv under `target/peers`: DMTF's Redfish Service
//! Validator, OpenStack's sushy client and sushy-tools emulator, and Badfish.
//!
//! Versions are pinned so every machine measures and validates against the same peers; the venv
//! is rebuilt when the pins change.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::util::run;

/// Pinned peer packages.
pub const PEERS: &[&str] = &[
    "redfish-service-validator==3.1.8",
    "sushy==5.14.0",
    "sushy-tools==2.2.0",
    "badfish==1.8.2",
];

/// Makes sure the venv exists with the pinned packages; returns its directory.
pub fn ensure(root: &Path) -> anyhow::Result<PathBuf> {
    let venv = root.join("target").join("peers");
    let stamp = venv.join(".quads-peers");
    let wanted = PEERS.join("\n");
    if std::fs::read_to_string(&stamp).is_ok_and(|installed| installed == wanted) {
        return Ok(venv);
    }
    let python = std::env::var("QUADS_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let venv_text = venv.to_string_lossy().into_owned();
    run(root, &python, &["-m", "venv", "--clear", &venv_text])
        .context("creating the peers venv needs python3 with its venv module")?;
    let pip = bin(&venv, "pip").to_string_lossy().into_owned();
    let mut args = vec!["install", "--quiet", "--disable-pip-version-check"];
    args.extend(PEERS);
    run(root, &pip, &args).context("installing the peer tools from PyPI")?;
    std::fs::write(&stamp, wanted).context("writing the peers stamp")?;
    Ok(venv)
}

/// A program of the venv.
pub fn bin(venv: &Path, name: &str) -> PathBuf {
    venv.join("bin").join(name)
}
