//! The acceptance check for `quads oob`: the built binary reads the `--power-state` of
//! 500 BMCs of an in-process testkit lab over HTTPS (lab CA as `--ca-bundle`), every host
//! answers, and the lab shows one session per BMC, logged out.

use std::collections::BTreeMap;
use std::time::Instant;

use testkit::machine::Phase;
use testkit::{Lab, LabConfig};

const HOSTS: usize = 500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_state_of_500_lab_bmcs_with_one_session_each_logged_out() {
    let lab = Lab::start(LabConfig {
        hosts: HOSTS,
        time_scale: 0.0,
        ..LabConfig::default()
    })
    .await
    .unwrap();
    let inventory = lab.inventory();
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("host-list.txt");
    std::fs::write(&list, inventory.host_list()).unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, lab.ca_pem()).unwrap();
    let admin = &inventory.hosts[0];

    // The lab serves from this runtime while the child runs: wait on it asynchronously.
    let started = Instant::now();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_quads"))
        .arg("oob")
        .arg("--host-list")
        .arg(&list)
        .arg("--power-state")
        .arg("--ca-bundle")
        .arg(&ca)
        .args(["-u", &admin.bmc_username])
        .env_clear()
        .env("HOME", dir.path())
        .env("BADFISH_PASSWORD", &admin.bmc_password)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(
        !stdout.contains(&admin.bmc_password) && !stderr.contains(&admin.bmc_password),
        "the password is never printed"
    );

    // Every host reported, with the power state the lab has.
    let reported: BTreeMap<&str, &str> = stdout
        .lines()
        .filter_map(|line| line.split_once(": power "))
        .collect();
    assert_eq!(reported.len(), HOSTS, "{stdout}");
    let truth: Vec<bool> =
        lab.with_state(|s| s.machines.iter().map(|m| m.phase == Phase::Off).collect());
    for (host, off) in inventory.hosts.iter().zip(truth) {
        let state = reported.get(host.bmc_address.as_str()).copied();
        assert_eq!(
            state,
            Some(if off { "Off" } else { "On" }),
            "{}",
            host.bmc_address
        );
    }
    assert!(
        stdout.contains(&format!("{HOSTS} hosts: {HOSTS} ok, 0 failed")),
        "{stdout}"
    );

    // One session per BMC, opened once and deleted once.
    let metrics = lab.metrics();
    for host in &inventory.hosts {
        let c = metrics.host(&host.name);
        assert_eq!(
            (c.sessions_opened, c.sessions_closed, c.sessions_open),
            (1, 1, 0),
            "{}: {c:?}",
            host.name
        );
    }
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "quads oob --power-state: {HOSTS} BMCs in {elapsed:.2?}, {} BMC requests",
            metrics.statuses.values().sum::<u64>()
        );
    }
}
