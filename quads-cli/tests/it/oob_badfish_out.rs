//! `quads oob -o badfish` against Badfish's own output: every case of
//! `tests/data/badfish-1.8.2-out/cases.txt` runs the built `quads` on a fresh lab like the one
//! the goldens were recorded on (`record.sh` there: the real Badfish 1.8.2 against `quads-lab`),
//! and its standard error and exit code must be the golden's, line for line. Only the BMC
//! addresses (the lab's port varies) are replaced by `{bmc}`/`{dead}` and a screenshot's or an
//! SCP export's time by `{time}`; over a host list whose
//! hosts share a logger name, Badfish's line order follows completion, so those cases compare
//! the host lines as a set and the RESULTS exactly. Cases marked `!` are recorded for reference
//! only (cases.txt says why). A case may name the lab's flavour (`; FLAVOUR`; default dell).

use std::path::{Path, PathBuf};

use testkit::{Flavor, Lab, LabConfig};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/badfish-1.8.2-out")
}

/// The path of a file of the golden directory, as text.
fn golden_file(name: &str) -> String {
    golden_dir().join(name).to_string_lossy().into_owned()
}

/// One line of cases.txt: its name, arguments and the lab's flavour (`; FLAVOUR`, default dell).
struct Case {
    name: String,
    args: String,
    flavor: Flavor,
}

/// The cases.
fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(golden_dir().join("cases.txt")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut fields = l.split(';');
            let name = fields.next().unwrap().trim().to_owned();
            let args = fields.next().unwrap().trim().to_owned();
            let flavor = fields
                .next()
                .map_or(Some(Flavor::Dell), Flavor::parse)
                .unwrap_or_else(|| panic!("{name}: unknown flavour"));
            Case { name, args, flavor }
        })
        .collect()
}

/// Runs one case on a fresh lab: what `quads oob -o badfish` wrote on standard error, with
/// the addresses replaced, and `exit: N` last (the golden's shape).
async fn run_case(args: &str, flavor: Flavor) -> String {
    let lab = Lab::start(LabConfig {
        hosts: 2,
        flavors: vec![flavor],
        time_scale: 0.0,
        seed: 1,
        ..LabConfig::default()
    })
    .await
    .unwrap();
    let inventory = lab.inventory();
    let dir = tempfile::tempdir().unwrap();
    testkit::inventory::write_files(&inventory, dir.path()).unwrap();
    let bmc = inventory.hosts[0].bmc_address.clone();
    let port = bmc.rsplit(':').next().unwrap();
    let dead = format!("127.0.9.9:{port}");
    let list = dir.path().join("list");
    std::fs::write(&list, format!("{bmc}\n")).unwrap();
    let list2 = dir.path().join("list2");
    std::fs::write(&list2, format!("{bmc}\n{dead}\n")).unwrap();
    let interfaces = dir.path().join("interfaces.yml");
    let expanded: Vec<String> = args
        .split(' ')
        .map(|a| {
            a.replace("{bmc}", &bmc)
                .replace("{dead}", &dead)
                .replace("{list2}", &list2.to_string_lossy())
                .replace("{list}", &list.to_string_lossy())
                .replace("{interfaces}", &interfaces.to_string_lossy())
                .replace("{scp-profile}", &golden_file("scp-profile.json"))
                .replace("{scp-malformed}", &golden_file("scp-malformed.json"))
        })
        .collect();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_quads"));
    command
        .args(["oob", "-o", "badfish", "--insecure", "--retries", "1"])
        .args(&expanded)
        .env_clear()
        .env("HOME", dir.path())
        .env("BADFISH_USERNAME", "root")
        .current_dir(dir.path())
        .kill_on_drop(true);
    if !expanded.iter().any(|a| a == "-p") {
        command.env("BADFISH_PASSWORD", &inventory.hosts[0].bmc_password);
    }
    let out = command.output().await.unwrap();
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8_lossy(&out.stderr)
        .replace(&bmc, "{bmc}")
        .replace(&dead, "{dead}");
    format!(
        "{}exit: {}\n",
        without_export_time(&without_screenshot_time(&stderr)),
        out.status.code().unwrap_or(-1)
    )
}

/// A screenshot's file name with its time (`_screenshot_YYYYmmdd-HHMMSS`) as `{time}`.
fn without_screenshot_time(text: &str) -> String {
    const MARK: &str = "_screenshot_";
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(MARK) {
        let after = &rest[at + MARK.len()..];
        let stamp = after.get(..15).filter(|s| {
            s.bytes().enumerate().all(|(i, b)| {
                if i == 8 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            })
        });
        out.push_str(&rest[..at + MARK.len()]);
        match stamp {
            Some(_) => {
                out.push_str("{time}");
                rest = &after[15..];
            }
            None => rest = after,
        }
    }
    out.push_str(rest);
    out
}

/// An SCP export's file name with its time (`YYYY-mm-dd_HHMMSS_targets_`) as `{time}`.
fn without_export_time(text: &str) -> String {
    const MARK: &str = "_targets_";
    const STAMP: usize = "YYYY-mm-dd_HHMMSS".len();
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(MARK) {
        let before = &rest[..at];
        let stamp = before.len().checked_sub(STAMP).and_then(|from| {
            let s = &before[from..];
            let shape = s.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                10 => b == b'_',
                _ => b.is_ascii_digit(),
            });
            shape.then_some(from)
        });
        match stamp {
            Some(from) => out.push_str(&format!("{}{{time}}{MARK}", &before[..from])),
            None => out.push_str(&rest[..at + MARK.len()]),
        }
        rest = &rest[at + MARK.len()..];
    }
    out.push_str(rest);
    out
}

/// Over a host list: the lines of the hosts as a sorted set, then the RESULTS as they are.
fn host_list_shape(text: &str) -> (Vec<&str>, Vec<&str>) {
    let results = text
        .lines()
        .position(|l| l.ends_with("- RESULTS:"))
        .unwrap_or(usize::MAX);
    let mut hosts: Vec<&str> = text.lines().take(results).collect();
    hosts.sort_unstable();
    (hosts, text.lines().skip(results).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn badfish_output_is_badfish_line_for_line() {
    let mut wrong = Vec::new();
    for Case { name, args, flavor } in cases() {
        if name.starts_with('!') {
            continue;
        }
        let golden = std::fs::read_to_string(golden_dir().join(format!("{name}.txt"))).unwrap();
        let ours = run_case(&args, flavor).await;
        let same = if args.contains("--host-list") {
            host_list_shape(&ours) == host_list_shape(&golden)
        } else {
            ours == golden
        };
        if !same {
            wrong.push(format!(
                "{name} ({args}):\n--- Badfish\n{golden}--- quads oob\n{ours}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
