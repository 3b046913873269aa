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

#[test]
fn global_options_go_before_or_after_the_command_and_format_is_output() {
    let home = crate::support::Home::initialized();
    let config = home.config_path();
    let config = config.to_str().unwrap();
    for args in [
        &["--config", config, "host", "ls", "-o", "json"][..],
        &["host", "ls", "--config", config, "--output", "json"],
        &["host", "-o", "json", "ls", "--config", config],
        // the former name of -o, and text for table
        &["--config", config, "host", "ls", "--format", "json"],
    ] {
        let doc = home.quads(args).json();
        assert_eq!(doc["hosts"], serde_json::json!([]), "{args:?}");
    }
    let text = home
        .quads(&["--config", config, "cloud", "ls", "-o", "text"])
        .ok();
    assert!(text.contains("NAME"), "{text}");
    // a named file that is not there is a configuration error (exit 2), for every command
    for command in [
        &["host", "ls"][..],
        &["foreman", "status"],
        &["oob", "-H", "x", "--power-state"],
    ] {
        let mut args = vec!["--config", "/nonexistent/quads.toml"];
        args.extend_from_slice(command);
        let err = home.quads(&args).fails(2);
        assert!(
            err.contains("cannot read config file"),
            "{command:?}: {err}"
        );
    }
}

#[test]
fn quads_foreman_reads_its_login_from_quads_toml_under_variables_and_flags() {
    let mut server = mockito::Server::new();
    // `admin:fr0m-file`
    let status = server
        .mock("GET", "/api/status")
        .match_header("authorization", "Basic YWRtaW46ZnIwbS1maWxl")
        .with_body(r#"{"result":"ok","status":200,"version":"3.12.1","api_version":2}"#)
        .expect(2)
        .create();
    server
        .mock("GET", "/api/ping")
        .with_status(404)
        .with_body("{}")
        .create();
    let home = crate::support::Home::new();
    home.write("foreman.pass", "fr0m-file\n");
    let config = home.write(
        "quads.toml",
        &format!(
            "[foreman]\nurl = \"{}\"\nusername = \"admin\"\npassword_file = \"foreman.pass\"\ninfra_location = \"lab\"\n",
            server.url()
        ),
    );
    let config = config.to_str().unwrap();
    let doc = home
        .quads(&["--config", config, "foreman", "status", "-o", "json"])
        .json();
    assert_eq!(doc["version"], "3.12.1");
    // the variable wins over the file, the flag over the variable
    let mut env_home = crate::support::Home::new();
    env_home.set_env("QUADS_FOREMAN_URL", "http://127.0.0.1:1");
    let copy = env_home.write("quads.toml", &std::fs::read_to_string(config).unwrap());
    env_home.write("foreman.pass", "fr0m-file\n");
    let copy = copy.to_str().unwrap();
    let err = env_home
        .quads(&["--config", copy, "foreman", "--timeout", "2", "status"])
        .fails(1);
    assert!(err.contains("127.0.0.1:1"), "{err}");
    let url = server.url();
    env_home
        .quads(&["--config", copy, "foreman", "--foreman-url", &url, "status"])
        .ok();
    status.assert();
}

#[test]
fn quads_oob_takes_the_bmc_login_from_quads_toml() {
    let home = crate::support::Home::new();
    let bare = home
        .quads(&["oob", "-H", "127.0.0.1:1", "--power-state"])
        .fails(2);
    assert!(bare.contains("missing credentials"), "{bare}");
    home.write("bmc.pass", "calvin\n");
    let config = home.write(
        "quads.toml",
        "[bmc]\nusername = \"root\"\npassword_file = \"bmc.pass\"\n",
    );
    // past the credentials: the BMC is unreachable, a host failure (exit 1), not a usage error
    let run = home.quads(&[
        "--config",
        config.to_str().unwrap(),
        "oob",
        "-H",
        "http://127.0.0.1:1",
        "--power-state",
        "-r",
        "1",
        "--timeout",
        "2",
    ]);
    let err = run.fails(1);
    assert!(!err.contains("calvin"), "{err}");
}

#[test]
fn log_lines_follow_verbosity_format_and_colour() {
    let home = crate::support::Home::new();
    let run = |extra: &[&str], env: &[(&str, &str)]| {
        let mut args = extra.to_vec();
        args.extend([
            "foreman",
            "--foreman-url",
            "http://127.0.0.1:1",
            "--foreman-user",
            "u",
            "--timeout",
            "2",
            "status",
        ]);
        let out = Command::new(env!("CARGO_BIN_EXE_quads"))
            .args(&args)
            .env_clear()
            .env("HOME", home.path())
            .env("QUADS_FOREMAN_PASSWORD", "pw")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // -v: debug lines, JSON when asked, one object a line
    let json = run(&["-v", "--log-format", "json"], &[]);
    let logs: Vec<serde_json::Value> = json
        .lines()
        .filter(|l| !l.starts_with("error:"))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(logs.iter().any(|l| l["level"] == "DEBUG"), "{json}");
    // default: no debug; QUADS_LOG wins over -v
    assert!(!run(&[], &[]).contains("DEBUG"));
    let off = run(&["-v"], &[("QUADS_LOG", "off")]);
    assert_eq!(off.lines().count(), 1, "only the error: {off}");
    // colours: never into a pipe unless asked, and NO_COLOR is only for auto
    assert!(!run(&["-v"], &[]).contains('\u{1b}'));
    assert!(run(&["-v", "--color", "always"], &[("NO_COLOR", "1")]).contains('\u{1b}'));
}
