//! The Badfish 1.8.2 actions added to `quads oob`, through the built binary against a lab with
//! one BMC of each flavour: `--ls-gpu`, `--get-sriov`, `--firmware-inventory --delta`, and
//! `-l FILE` (results written there, not on standard output).

use testkit::{Flavor, Lab, LabConfig};

const ALL: [Flavor; 4] = [
    Flavor::Dell,
    Flavor::Idrac10,
    Flavor::Supermicro,
    Flavor::Generic,
];

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

async fn oob(lab: &Lab, dir: &std::path::Path, i: usize, args: &[&str]) -> Run {
    let host = &lab.inventory().hosts[i];
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, lab.ca_pem()).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_quads"))
        .arg("oob")
        .args(["-H", &host.bmc_url, "-u", &host.bmc_username])
        .args(args)
        .arg("--ca-bundle")
        .arg(&ca)
        .env_clear()
        .env("HOME", dir)
        .env("BADFISH_PASSWORD", &host.bmc_password)
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpus_sriov_firmware_delta_and_log_file_on_every_flavour() {
    let lab = Lab::start(LabConfig {
        hosts: ALL.len(),
        flavors: ALL.to_vec(),
        time_scale: 0.0,
        ..LabConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (i, flavor) in ALL.into_iter().enumerate() {
        let gpu = oob(&lab, dir.path(), i, &["--ls-gpu"]).await;
        assert_eq!(gpu.code, Some(0), "{flavor:?}: {}", gpu.stderr);
        if flavor == Flavor::Supermicro {
            assert!(gpu.stdout.contains(": no GPUs"), "{}", gpu.stdout);
        } else {
            assert!(gpu.stdout.contains("1 x NVIDIA A100"), "{}", gpu.stdout);
        }
        let sriov = oob(&lab, dir.path(), i, &["--get-sriov"]).await;
        assert_eq!(sriov.code, Some(0), "{flavor:?}: {}", sriov.stderr);
        assert!(
            sriov.stdout.contains(": SR-IOV Disabled"),
            "{}",
            sriov.stdout
        );

        // Against itself nothing differs; the results go to the log file only.
        let log = dir.path().join(format!("delta-{i}.txt"));
        let me = lab.inventory().hosts[i].bmc_url.clone();
        let delta = oob(
            &lab,
            dir.path(),
            i,
            &[
                "--firmware-inventory",
                "--delta",
                &me,
                "-l",
                log.to_str().unwrap(),
            ],
        )
        .await;
        assert_eq!(delta.code, Some(0), "{flavor:?}: {}", delta.stderr);
        assert!(delta.stdout.is_empty(), "{}", delta.stdout);
        let written = std::fs::read_to_string(&log).unwrap();
        assert!(
            written.contains("no firmware version differs"),
            "{flavor:?}: {written}"
        );
    }
    // Refused before any BMC is contacted: usage, exit 2.
    let refused = oob(&lab, dir.path(), 0, &["--screenshot"]).await;
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("--screenshot"),
        "{}",
        refused.stderr
    );
}
