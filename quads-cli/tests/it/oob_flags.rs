//! Every option of Badfish 1.8.2 is an option of `quads oob`, taking a value exactly when
//! Badfish's does: checked against the checked-in list (always) and against `badfish --help`
//! of the peers venv (when there is one; CI has it), which must agree with that list.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

/// Flag name to "takes a value", from the `options:` lines of a help text: each line that
/// starts with `-` after its indent, up to the first run of two spaces (where the description
/// starts), is a comma-separated list of `FLAG [VALUE]` (argparse) or names and one `<VALUE>`
/// (clap).
fn options(help: &str) -> BTreeMap<String, bool> {
    let mut out = BTreeMap::new();
    for line in help.lines() {
        let trimmed = line.trim_start();
        if !trimmed.starts_with('-') || line.len() == trimmed.len() {
            continue;
        }
        let spec = trimmed.split("  ").next().unwrap_or_default();
        // clap names the value once, after the last name: it goes for every name of the line.
        let takes_value = spec
            .split(", ")
            .any(|p| p.split_whitespace().nth(1).is_some());
        for part in spec.split(", ") {
            if let Some(flag) = part.split_whitespace().next() {
                // (clap writes a counted flag, the global `-v...`, with an ellipsis)
                out.insert(flag.trim_end_matches("...").to_owned(), takes_value);
            }
        }
    }
    out
}

/// The checked-in list: `FLAG` or `FLAG VALUE` per line, `#` comments.
fn checked_in() -> BTreeMap<String, bool> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/badfish-1.8.2-flags.txt");
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut words = l.split_whitespace();
            let flag = words.next().unwrap().to_owned();
            (flag, words.next() == Some("VALUE"))
        })
        .collect()
}

fn ours() -> BTreeMap<String, bool> {
    let out = Command::new(env!("CARGO_BIN_EXE_quads"))
        .args(["oob", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    options(&String::from_utf8_lossy(&out.stdout))
}

/// The Badfish flags `quads oob` lacks or takes differently, as readable lines.
fn missing(badfish: &BTreeMap<String, bool>, ours: &BTreeMap<String, bool>) -> Vec<String> {
    badfish
        .iter()
        .filter_map(|(flag, value)| match ours.get(flag) {
            None => Some(format!("{flag}: missing")),
            Some(v) if v != value => Some(format!(
                "{flag}: Badfish's {} a value, ours {}",
                if *value { "takes" } else { "takes no" },
                if *v { "does" } else { "does not" }
            )),
            Some(_) => None,
        })
        .collect()
}

#[test]
fn every_badfish_1_8_2_option_is_accepted() {
    let list = checked_in();
    assert!(
        list.len() >= 80,
        "the list holds Badfish's options: {list:?}"
    );
    let ours = ours();
    let gaps = missing(&list, &ours);
    assert!(gaps.is_empty(), "quads oob lacks:\n{}", gaps.join("\n"));
}

/// The peers venv's `badfish` (`QUADS_PEERS`, else `target/peers`), or none where there is no
/// venv (never under CI, which installs it).
#[allow(clippy::print_stderr)]
pub(crate) fn peers_badfish() -> Option<PathBuf> {
    let venv = std::env::var_os("QUADS_PEERS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/peers"),
        PathBuf::from,
    );
    let badfish = venv.join("bin/badfish");
    if badfish.exists() {
        return Some(badfish);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI runs this test: `cargo xtask ci` installs the peers venv"
    );
    eprintln!("badfish: no peers venv; run `cargo xtask peers`");
    None
}

#[test]
fn the_list_is_what_the_peers_badfish_prints() {
    let Some(badfish) = peers_badfish() else {
        return;
    };
    let version = Command::new(&badfish).arg("--version").output().unwrap();
    assert!(
        String::from_utf8_lossy(&version.stdout).contains("1.8.2"),
        "the peers venv holds Badfish 1.8.2"
    );
    let out = Command::new(&badfish).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    let options_part = &help[help.find("options:").unwrap()..];
    let theirs = options(options_part);
    let list = checked_in();
    let lines: Vec<String> = theirs
        .iter()
        .map(|(f, v)| format!("{f}{}", if *v { " VALUE" } else { "" }))
        .collect();
    assert_eq!(
        theirs,
        list,
        "tests/data/badfish-1.8.2-flags.txt differs from `badfish --help`; its lines:\n{}",
        lines.join("\n")
    );
    let gaps = missing(&theirs, &ours());
    assert!(gaps.is_empty(), "quads oob lacks:\n{}", gaps.join("\n"));
}

#[test]
fn option_lines_are_read_from_both_help_styles() {
    let argparse = "options:\n  -H HOST, --host HOST  BMC host address\n  --pxe                 \
                    Set next boot\n  --get-scp-targets {Export,Import}\n                        \
                    (Dell iDRAC) ...\n";
    let parsed = options(argparse);
    assert_eq!(parsed.get("-H"), Some(&true));
    assert_eq!(parsed.get("--host"), Some(&true));
    assert_eq!(parsed.get("--pxe"), Some(&false));
    assert_eq!(parsed.get("--get-scp-targets"), Some(&true));
    let clap =
        "Options:\n  -H, --host <HOST>\n          BMC address\n      --pxe\n          One-time\n";
    let parsed = options(clap);
    assert_eq!(
        parsed.get("-H"),
        Some(&true),
        "clap names the value after the long name"
    );
    assert_eq!(parsed.get("--host"), Some(&true));
    assert_eq!(parsed.get("--pxe"), Some(&false));
}
