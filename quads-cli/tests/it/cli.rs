//! The command line as a whole, through the built binary: `--version` names the commit,
//! `quads completions` and `quads man` describe the real command tree, and a long command
//! (`quads oob` against a lab) stops on SIGTERM with its BMC sessions logged out.

use std::process::Command;
use std::time::Duration;

use testkit::machine::Phase;
use testkit::{Lab, LabConfig};

fn quads(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_quads"))
        .args(args)
        .env_clear()
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let (code, out, err) = quads(&["--version"]);
    assert_eq!(code, 0, "{err}");
    let line = out.trim();
    let rest = line
        .strip_prefix(&format!("quads {} (", env!("CARGO_PKG_VERSION")))
        .unwrap_or_else(|| panic!("{line}"));
    let commit = rest.split([' ', ')']).next().unwrap();
    // the source tree's HEAD when git can tell (a tarball build says "unknown")
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    match head {
        Some(head) => assert_eq!(commit, head, "{line}"),
        None => assert_eq!(commit, "unknown", "{line}"),
    }
}

#[test]
fn completions_cover_every_command_and_global_flag() {
    let (code, bash, err) = quads(&["completions", "bash"]);
    assert_eq!(code, 0, "{err}");
    assert!(bash.contains("complete -F _quads"), "{bash}");
    for word in [
        "move-hosts",
        "oob",
        "foreman",
        "heal",
        "completions",
        "--host-list",
    ] {
        assert!(bash.contains(word), "bash completion lacks {word}");
    }
    let (code, zsh, _) = quads(&["completions", "zsh"]);
    assert_eq!(code, 0);
    assert!(zsh.starts_with("#compdef quads"), "{zsh}");
    let (code, _, err) = quads(&["completions", "tcsh"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn man_prints_quads_1_and_writes_a_page_per_subcommand() {
    let (code, page, err) = quads(&["man"]);
    assert_eq!(code, 0, "{err}");
    assert!(page.contains(".TH quads 1"), "{page}");
    assert!(page.contains("move\\-hosts"), "{page}");
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    let (code, out, err) = quads(&["man", "--dir", pages.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    for name in [
        "quads.1",
        "quads-host-ls.1",
        "quads-oob.1",
        "quads-foreman-heal.1",
    ] {
        let text = std::fs::read_to_string(pages.join(name)).unwrap();
        assert!(text.contains(".TH"), "{name}");
        assert!(out.contains(name), "{out}");
    }
}

/// Polls `done` on tokio's clock until it holds, or panics with `what` at the deadline.
async fn until(what: &str, deadline: Duration, mut done: impl FnMut() -> bool) {
    let end = tokio::time::Instant::now() + deadline;
    while !done() {
        assert!(tokio::time::Instant::now() < end, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oob_stops_on_sigterm_cancelling_its_waits_and_logging_out() {
    let mut config = LabConfig {
        hosts: 6,
        time_scale: 1.0,
        ..LabConfig::default()
    };
    // a power-off that takes an hour: `--power-off` waits for it until told to stop
    config.model.bmc.power_off = 3600.0;
    let lab = Lab::start(config).await.unwrap();
    let inventory = lab.inventory();
    let on: Vec<usize> = lab.with_state(|s| {
        (0..s.machines.len())
            .filter(|i| s.machines[*i].phase != Phase::Off)
            .collect()
    });
    assert!(!on.is_empty(), "the lab starts with some hosts on");
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("host-list.txt");
    let bmcs: Vec<&str> = on
        .iter()
        .map(|i| inventory.hosts[*i].bmc_url.as_str())
        .collect();
    std::fs::write(&list, bmcs.join("\n")).unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, lab.ca_pem()).unwrap();
    let admin = &inventory.hosts[0];
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_quads"))
        .arg("oob")
        .arg("--host-list")
        .arg(&list)
        .arg("--ca-bundle")
        .arg(&ca)
        .args(["-u", &admin.bmc_username, "-o", "json", "--power-off"])
        .env_clear()
        .env("HOME", dir.path())
        .env("BADFISH_PASSWORD", &admin.bmc_password)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let names: Vec<String> = on
        .iter()
        .map(|i| inventory.hosts[*i].name.clone())
        .collect();
    // every BMC has its session and its ForceOff: the command is in its waits
    until("every BMC powering off", Duration::from_secs(60), || {
        let m = lab.metrics();
        names.iter().all(|n| {
            let c = m.host(n);
            c.sessions_open == 1 && c.resets.get("ForceOff").copied().unwrap_or(0) == 1
        })
    })
    .await;
    let pid = child.id().unwrap().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("quads oob ends after SIGTERM")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    // each host reported, as failed (its wait cancelled), never as powered off
    let records: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), names.len(), "{stdout}");
    assert!(records.iter().all(|r| r["ok"] == false), "{stdout}");
    let m = lab.metrics();
    for n in &names {
        let c = m.host(n);
        assert_eq!(
            (c.sessions_opened, c.sessions_closed, c.sessions_open),
            (1, 1, 0),
            "{n}: {c:?}"
        );
    }
}
