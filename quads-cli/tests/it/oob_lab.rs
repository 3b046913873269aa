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
        .env("QUADS_LOG", "warn")
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

/// Runs the built `quads oob` against the lab's hosts (`--host-list`), lab CA trusted.
pub(crate) async fn oob(lab: &Lab, args: &[&str], password: Option<&str>) -> std::process::Output {
    let inventory = lab.inventory();
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("host-list.txt");
    std::fs::write(&list, inventory.host_list()).unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, lab.ca_pem()).unwrap();
    let admin = &inventory.hosts[0];
    tokio::process::Command::new(env!("CARGO_BIN_EXE_quads"))
        .arg("oob")
        .arg("--host-list")
        .arg(&list)
        .arg("--ca-bundle")
        .arg(&ca)
        .args(["-u", &admin.bmc_username, "-o", "json", "--retries", "1"])
        .args(args)
        .env_clear()
        .env("HOME", dir.path())
        .env(
            "BADFISH_PASSWORD",
            password.unwrap_or(admin.bmc_password.as_str()),
        )
        .env("QUADS_LOG", "off")
        .kill_on_drop(true)
        .output()
        .await
        .unwrap()
}

/// Each host's JSON record: (ok, result lines).
pub(crate) fn records(out: &std::process::Output) -> Vec<(bool, Vec<String>)> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let lines = v["result"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| x.as_str().unwrap_or_default().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            (v["ok"] == true, lines)
        })
        .collect()
}

/// Issue 15's findings on every flavour: an empty boot order is reported (exit 0), no action
/// checks the credentials, `--pxe` follows another action, usage errors found after parsing
/// exit 2 before any BMC request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn badfish_behaviours_on_every_flavour() {
    let lab = Lab::start(LabConfig {
        hosts: 4,
        time_scale: 0.0,
        ..LabConfig::default()
    })
    .await
    .unwrap();
    let hosts = lab.inventory().hosts.len();

    let out = oob(&lab, &["-i", "/nonexistent.yml", "-t", "foreman"], None).await;
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = oob(&lab, &["-t", "foreman"], None).await;
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("-i FILE"));
    assert_eq!(
        lab.metrics().statuses.values().sum::<u64>(),
        0,
        "no BMC was contacted"
    );

    // No action: the credentials are checked.
    let out = oob(&lab, &[], None).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let r = records(&out);
    assert_eq!(r.len(), hosts);
    assert!(
        r.iter()
            .all(|(ok, l)| *ok && l == &["credentials accepted"]),
        "{r:?}"
    );
    let out = oob(&lab, &[], Some("wrong")).await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(records(&out).iter().all(|(ok, _)| !ok));

    // An empty boot order (iDRAC: BootSources with empty Attributes; others Boot.BootOrder []).
    lab.with_state(|s| s.machines.iter_mut().for_each(|m| m.boot_order.clear()));
    let out = oob(&lab, &["--check-boot"], None).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let r = records(&out);
    assert!(
        r.iter().all(|(ok, l)| *ok && l == &["boot order is empty"]),
        "{r:?}"
    );

    // --pxe after another action: powered off, then the one-time network boot set.
    let out = oob(&lab, &["--power-off", "--pxe"], None).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    lab.with_state(|s| {
        for m in &s.machines {
            assert_eq!(m.phase, Phase::Off, "{}", m.name);
            let dell_once = m.bios.get("OneTimeBootMode").and_then(|v| v.as_str())
                != Some("Disabled")
                && m.bios.contains_key("OneTimeBootMode");
            let override_once = m.override_enabled == testkit::machine::OverrideEnabled::Once
                && m.override_target == testkit::machine::OverrideTarget::Pxe;
            assert!(override_once || dell_once, "{}: no one-time PXE", m.name);
        }
    });
}

/// Virtual media named only under the Manager's `Links`, or nowhere (served at the
/// conventional path), is found on every flavour: the same slots as where it is a property.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virtual_media_is_found_wherever_the_bmc_names_it() {
    let mut seen = Vec::new();
    for link in [
        testkit::VirtualMediaLink::Property,
        testkit::VirtualMediaLink::ManagerLinks,
        testkit::VirtualMediaLink::Unlinked,
    ] {
        let lab = Lab::start(LabConfig {
            hosts: 4,
            time_scale: 0.0,
            virtual_media_link: link,
            ..LabConfig::default()
        })
        .await
        .unwrap();
        let out = oob(&lab, &["--check-virtual-media"], None).await;
        assert_eq!(out.status.code(), Some(0), "{link:?}: {out:?}");
        let mut r = records(&out);
        assert_eq!(r.len(), 4);
        assert!(r.iter().all(|(ok, _)| *ok), "{link:?}: {r:?}");
        r.sort();
        seen.push(r);
    }
    assert!(seen[0].iter().filter(|(_, l)| !l.is_empty()).count() >= 3);
    assert_eq!(seen[1], seen[0]);
    assert_eq!(seen[2], seen[0]);
}
