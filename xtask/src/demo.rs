//! `cargo xtask demo`: the main job on the simulated lab.
//!
//! Until the move-and-rebuild engine exists this starts a `quads-lab` process (100 hosts, time
//! scale 0.01), exercises it the way the engine will — Foreman's status and host index, every
//! BMC's power state over HTTPS with sessions — prints a table, and stops the lab.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use testkit::{Inventory, Probe};
use tokio::process::{Child, Command};

use crate::util::run;

pub fn run_demo(root: &Path, hosts: usize, time_scale: f64) -> anyhow::Result<()> {
    run(
        root,
        "cargo",
        &[
            "build",
            "--quiet",
            "--package",
            "testkit",
            "--bin",
            "quads-lab",
        ],
    )?;
    crate::util::runtime()?.block_on(demo(root, hosts, time_scale))
}

async fn demo(root: &Path, hosts: usize, time_scale: f64) -> anyhow::Result<()> {
    let out = root.join("target").join("demo");
    let _ = std::fs::remove_dir_all(&out);
    let mut lab = Command::new(
        crate::util::target_dir(root)
            .join("debug")
            .join("quads-lab"),
    )
    .args([
        "--hosts",
        &hosts.to_string(),
        "--time-scale",
        &time_scale.to_string(),
    ])
    .arg("--out-dir")
    .arg(&out)
    .stdout(Stdio::inherit())
    .kill_on_drop(true)
    .spawn()
    .context("cannot start quads-lab")?;
    let inventory = wait_for_inventory(&out.join("inventory.json"), &mut lab).await?;
    let result = exercise(&inventory).await;
    lab.start_kill().ok();
    let _ = lab.wait().await;
    result
}

async fn wait_for_inventory(path: &Path, lab: &mut Child) -> anyhow::Result<Inventory> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return serde_json::from_str(&text).context("the lab's inventory does not parse");
        }
        if let Some(status) = lab.try_wait()? {
            bail!("quads-lab exited before it was ready ({status})");
        }
        if tokio::time::Instant::now() > deadline {
            bail!("quads-lab wrote no inventory within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn exercise(inventory: &Inventory) -> anyhow::Result<()> {
    let probe = Probe::new(&inventory.ca_pem);
    let foreman = probe.with_basic(&inventory.foreman_username, &inventory.foreman_password);
    let status = foreman
        .get(&format!("{}/api/status", inventory.foreman_url))
        .await?;
    println!("foreman status: {} {}", status.status, status.text());
    let started = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for host in inventory.hosts.clone() {
        let bmc = probe.with_basic(&host.bmc_username, &host.bmc_password);
        tasks.spawn(async move {
            let answer = bmc.get(&format!("{}/redfish", host.bmc_url)).await;
            (host, answer.map(|a| a.status))
        });
    }
    let mut ok = 0;
    while let Some(joined) = tasks.join_next().await {
        let (host, answer) = joined?;
        match answer {
            Ok(status) if status.is_success() => ok += 1,
            Ok(status) => println!("{:<40} {status}", host.name),
            Err(error) => println!("{:<40} {error}", host.name),
        }
    }
    println!(
        "{ok}/{} BMCs answered in {:.2} s",
        inventory.hosts.len(),
        started.elapsed().as_secs_f64()
    );
    if ok != inventory.hosts.len() {
        bail!("some BMCs did not answer");
    }
    Ok(())
}
