//! `quads oob --redfish-emulator`: the built `quads` runs the built `quads-lab` (built here
//! beside `quads`, as `cargo build -p quads-cli -p testkit --bins`) as Badfish's
//! mock iDRAC; `quads oob` (and the peers venv's Badfish, when there is one) answer against
//! it, and SIGTERM stops it (exit 130); SIGKILL of `quads` ends its `quads-lab` too. A `quads`
//! with no `quads-lab` near says what it looked for.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// How long the emulator may take to start or stop (a condition's deadline, not a pause).
const DEADLINE: Duration = Duration::from_secs(60);

/// `quads-lab` beside the built `quads`: cargo builds it (a no-op when it is fresh) into the
/// same target directory and profile, once per test run.
async fn quads_lab() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    tokio::task::spawn_blocking(|| {
        BUILT
            .get_or_init(|| {
                let quads = Path::new(env!("CARGO_BIN_EXE_quads"));
                let profile_dir = quads.parent().unwrap();
                let profile = match profile_dir.file_name().unwrap().to_str().unwrap() {
                    "debug" => "dev",
                    other => other,
                };
                let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
                let mut build = std::process::Command::new(cargo);
                // What cargo set for this test (not for a build): left in, they make the
                // build see ring's environment changed and rebuild the TLS stack every time.
                for (name, _) in std::env::vars_os() {
                    let name = name.to_string_lossy();
                    let per_test = [
                        "CARGO_PKG_",
                        "CARGO_MANIFEST_",
                        "CARGO_CRATE_",
                        "CARGO_BIN_",
                    ]
                    .iter()
                    .any(|prefix| name.starts_with(prefix))
                        || [
                            "CARGO_PRIMARY_PACKAGE",
                            "CARGO_TARGET_TMPDIR",
                            "CARGO_RUSTC_CURRENT_DIR",
                            "OUT_DIR",
                        ]
                        .contains(&name.as_ref());
                    if per_test {
                        build.env_remove(name.as_ref());
                    }
                }
                let status = build
                    // the packages of xtask's builds, so their features (and ring's build
                    // script) are this test's and neither build undoes the other's
                    .args([
                        "build",
                        "--quiet",
                        "-p",
                        "quads-cli",
                        "-p",
                        "testkit",
                        "--bins",
                    ])
                    .args(["--profile", profile, "--target-dir"])
                    .arg(profile_dir.parent().unwrap())
                    .current_dir(env!("CARGO_MANIFEST_DIR"))
                    .status()
                    .unwrap();
                assert!(
                    status.success(),
                    "cargo build -p quads-cli -p testkit --bins"
                );
                let lab = profile_dir.join("quads-lab");
                assert!(lab.is_file(), "{} was built", lab.display());
                lab
            })
            .clone()
    })
    .await
    .unwrap()
}

/// A port free on 127.0.0.1 just now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `quads oob ARGS` in an empty home, nothing inherited but `PATH`.
fn quads_oob(home: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_quads"));
    command
        .arg("oob")
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(home)
        .kill_on_drop(true);
    command
}

/// Reads the child's standard output until a line holding `wanted`; returns what it read.
async fn read_until(child: &mut Child, wanted: &str) -> String {
    let stdout = child.stdout.as_mut().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = String::new();
    let found = tokio::time::timeout(DEADLINE, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            seen.push_str(&line);
            seen.push('\n');
            if line.contains(wanted) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "no line with {wanted:?} in:\n{seen}");
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_answers_quads_oob_and_badfish_until_sigterm() {
    let lab = quads_lab().await;
    assert!(lab.is_file());
    let home = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let mut emulator = quads_oob(home.path(), &["--redfish-emulator", "--port", &port])
        .kill_on_drop(false) // the `Stopper` below ends it
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stopper = Stopper(rustix::process::Pid::from_raw(
        i32::try_from(emulator.id().unwrap()).unwrap(),
    ));
    let banner = read_until(&mut emulator, "serving until Ctrl-C").await;
    assert!(
        banner.contains(&format!(
            "https://127.0.0.1:{port}, user quads, password quads (the default)"
        )),
        "{banner}"
    );
    let bmc = format!("127.0.0.1:{port}");
    let ask = |args: &'static [&'static str]| {
        let mut command = quads_oob(home.path(), &["-H", &bmc, "-u", "quads", "--insecure"]);
        command.args(args);
        command
    };
    let power = ask(&["-p", "quads", "--power-state"])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&power.stdout);
    assert_eq!(power.status.code(), Some(0), "{power:?}");
    assert!(stdout.contains("power On"), "{stdout}");
    let boot = ask(&["-p", "quads", "--check-boot"])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&boot.stdout);
    assert_eq!(boot.status.code(), Some(0), "{boot:?}");
    assert!(stdout.contains("1: NIC.Integrated.1-2-1"), "{stdout}");
    let wrong = ask(&["-p", "wrong", "--power-state"])
        .output()
        .await
        .unwrap();
    assert_eq!(wrong.status.code(), Some(1), "{wrong:?}");
    badfish_answers(&bmc, home.path()).await;

    stopper.stop();
    read_until(&mut emulator, "quads-lab: stopped").await;
    let status = tokio::time::timeout(DEADLINE, emulator.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        status.code(),
        Some(130),
        "interrupted, as process.rs says: {status:?}"
    );
    let gone = tokio::net::TcpStream::connect(&bmc).await;
    assert!(gone.is_err(), "the BMC still listens after SIGTERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_quads_takes_its_emulator_with_it() {
    quads_lab().await;
    let home = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let mut emulator = quads_oob(home.path(), &["--redfish-emulator", "--port", &port])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    read_until(&mut emulator, "serving until Ctrl-C").await;
    let bmc = format!("127.0.0.1:{port}");
    assert!(tokio::net::TcpStream::connect(&bmc).await.is_ok());
    assert_eq!(labs_on_port(&port).len(), 1, "the lab is found by its port");
    // SIGKILL: quads cannot forward anything, the kernel's parent-death signal ends the lab
    emulator.start_kill().unwrap();
    emulator.wait().await.unwrap();
    // the lab process itself, not whether the port answers: under a loaded test run another
    // test's listener may take the port once the lab has freed it
    let gone = tokio::time::timeout(DEADLINE, async {
        while !labs_on_port(&port).is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let left: Vec<String> = labs_on_port(&port)
        .into_iter()
        .map(|pid| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let signals: Vec<&str> = status
                .lines()
                .filter(|l| {
                    ["State", "SigPnd", "ShdPnd", "SigBlk", "SigCgt"]
                        .iter()
                        .any(|k| l.starts_with(k))
                })
                .collect();
            format!("{pid}: {}", signals.join(", "))
        })
        .collect();
    assert!(
        gone.is_ok(),
        "quads-lab still runs for {bmc} after its quads was killed: {left:?}"
    );
}

/// The processes of `quads-lab` serving BMCs on `port` (read from `/proc`).
fn labs_on_port(port: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            args.first().is_some_and(|exe| exe.ends_with(b"quads-lab"))
                && args
                    .windows(2)
                    .any(|w| w[0] == b"--bmc-port" && w[1] == port.as_bytes())
        })
        .collect()
}

/// SIGTERM to `quads oob --redfish-emulator` at `stop`, or when the test fails before it: it
/// forwards the signal to its `quads-lab` (a SIGKILL, `kill_on_drop`'s, would leave that
/// running).
struct Stopper(Option<rustix::process::Pid>);

impl Stopper {
    fn stop(&mut self) {
        if let Some(pid) = self.0.take() {
            rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        }
    }
}

impl Drop for Stopper {
    fn drop(&mut self) {
        if let Some(pid) = self.0.take() {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
    }
}

/// The peers venv's Badfish (`QUADS_PEERS`, else `target/peers`), when there is one, reads
/// the power state and the boot order from the emulator as from its own.
async fn badfish_answers(bmc: &str, home: &Path) {
    let Some(badfish) = crate::oob_flags::peers_badfish() else {
        return;
    };
    for (flag, wanted) in [
        ("--power-state", format!("{bmc}: 'On'")),
        ("--check-boot", "1: NIC.Integrated.1-2-1".to_owned()),
    ] {
        let out = Command::new(&badfish)
            .args(["--insecure", "-H", bmc, flag])
            .env_clear()
            .env("HOME", home)
            .env("BADFISH_USERNAME", "quads")
            .env("BADFISH_PASSWORD", "quads")
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .current_dir(home)
            .kill_on_drop(true)
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "badfish {flag}: {stderr}");
        assert!(stderr.contains(&wanted), "badfish {flag}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quads_without_quads_lab_near_says_where_it_looked() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let (bin, empty) = (dir.path().join("bin"), dir.path().join("empty"));
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&empty).unwrap();
    let quads = bin.join("quads");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_quads"), &quads).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_quads"), &quads).unwrap();
    }
    let out = Command::new(&quads)
        .args(["oob", "--redfish-emulator"])
        .env_clear()
        .env("HOME", dir.path())
        .env("PATH", &empty)
        .current_dir(dir.path())
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&bin.join("quads-lab").display().to_string())
            && stderr.contains("nor on PATH"),
        "{stderr}"
    );
    let refused = Command::new(env!("CARGO_BIN_EXE_quads"))
        .args(["oob", "--redfish-emulator", "--bind", "192.0.2.1"])
        .env_clear()
        .env("HOME", dir.path())
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("loopback addresses only"), "{stderr}");
}
