//! `quads oob` output on a host list with a dead BMC: the text results table (host,
//! SUCCESSFUL/FAILED, reason, duration), one JSON object per host with its own error, one YAML
//! document per host, and exit code 1 because a host failed.

use testkit::{FaultProfile, Lab, LabConfig};

struct Run {
    code: Option<i32>,
    stdout: String,
}

/// Runs `quads oob --power-state` on every lab BMC, the password in `password_env`.
async fn oob(lab: &Lab, dir: &std::path::Path, format: &str, password_env: &str) -> Run {
    let inventory = lab.inventory();
    let list = dir.join("host-list.txt");
    std::fs::write(&list, inventory.host_list()).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, lab.ca_pem()).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_quads"))
        .args([
            "oob",
            "--power-state",
            "-o",
            format,
            "--retries",
            "2",
            "-u",
            "root",
        ])
        .arg("--host-list")
        .arg(&list)
        .arg("--ca-bundle")
        .arg(&ca)
        .env_clear()
        .env("HOME", dir)
        .env(password_env, &inventory.hosts[0].bmc_password)
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_bmc_is_one_failed_row_and_every_format_reports_each_host() {
    let faults = FaultProfile::parse("dead_bmcs=1").unwrap();
    let lab = Lab::start(LabConfig {
        hosts: 12,
        faults,
        ..LabConfig::default()
    })
    .await
    .unwrap();
    let dead_index = *lab.shared().fault_hosts.dead.first().unwrap();
    let dead = lab.bmc_addr(dead_index).to_string();
    let dir = tempfile::tempdir().unwrap();

    let text = oob(&lab, dir.path(), "text", "BADFISH_PASSWORD").await;
    assert_eq!(text.code, Some(1), "{}", text.stdout);
    let header = text
        .stdout
        .lines()
        .position(|l| l.starts_with("HOST") && l.contains("RESULT"))
        .unwrap();
    let rows: Vec<&str> = text
        .stdout
        .lines()
        .skip(header + 1)
        .filter(|l| l.starts_with("127."))
        .collect();
    assert_eq!(rows.len(), 12, "{}", text.stdout);
    assert!(
        rows[0].starts_with(&dead) && rows[0].contains("FAILED"),
        "failures come first: {}",
        rows[0]
    );
    assert!(
        rows[0].contains("could not connect"),
        "the reason says why: {}",
        rows[0]
    );
    assert_eq!(rows.iter().filter(|r| r.contains("SUCCESSFUL")).count(), 11);
    assert!(text.stdout.contains("12 hosts: 11 ok, 1 failed"));

    // Our own variable works as well as Badfish's.
    let json = oob(&lab, dir.path(), "json", "QUADS_BMC_PASSWORD").await;
    assert_eq!(json.code, Some(1));
    let objects: Vec<serde_json::Value> = json
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 12);
    assert!(
        objects
            .iter()
            .all(|o| o["v"] == 1 && o["duration_s"].is_number())
    );
    let failed: Vec<_> = objects.iter().filter(|o| o["ok"] == false).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["host"], dead.as_str());
    assert!(failed[0]["error"].as_str().unwrap().contains(&dead));

    let yaml = oob(&lab, dir.path(), "yaml", "BADFISH_PASSWORD").await;
    assert_eq!(yaml.code, Some(1));
    assert_eq!(
        yaml.stdout.lines().filter(|l| *l == "---").count(),
        12,
        "{}",
        yaml.stdout
    );
    assert_eq!(yaml.stdout.lines().filter(|l| *l == "ok: true").count(), 11);
    assert!(
        yaml.stdout.contains(&format!("host: {dead}"))
            || yaml.stdout.contains(&format!("host: \"{dead}\""))
    );
}
