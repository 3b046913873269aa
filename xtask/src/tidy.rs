//! `cargo xtask tidy`: the house rules that hold by discipline, checked. Each rule is a pure
//! function over the workspace's files (path and text), so a test can plant a violation and see
//! it named; `run` reads the tracked files and prints every finding.
//!
//! The rules:
//! - `crate-edges`: a crate depends only on the crates DESIGN §2 and §9 allow (the clients on
//!   `quads-http` alone, `testkit` on no crate of ours, not even for its tests);
//! - `module-doc`: every Rust file opens with a `//!` line saying what it owns;
//! - `library-prints`: no `print!`/`println!`/`eprint!`/`eprintln!`/`dbg!` in a library's code
//!   (tests and binaries may print);
//! - `test-waits`: no `std::thread::sleep` and no `#[ignore]` anywhere but `xtask` (every wait
//!   goes through tokio's clock; a test that does not run is not a test);
//! - `lints`: the workspace denies `unwrap_used`, `disallowed_methods` and
//!   `await_holding_lock`, every crate inherits the workspace lints, and the clippy
//!   configurations disallow `std::thread::sleep` and governor's real-time waits everywhere and
//!   the wall clock's `std::time::Instant::now` in `provision-core` (which runs in virtual time);
//!   a test runs clippy with these settings on a scratch crate of planted violations, so the
//!   settings are proven to deny what they name, not only to be present.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Context as _;

/// One file of the workspace: its path from the root and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Relative path, `/`-separated.
    pub path: String,
    /// Contents.
    pub text: String,
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// The rule's name.
    pub rule: &'static str,
    /// `path[:line]`.
    pub at: String,
    /// What is wrong.
    pub what: String,
}

/// The crates of ours each crate may depend on (`[dependencies]`; `[dev-dependencies]` may add
/// `testkit`, except in `testkit` itself). `xtask` may depend on anything.
fn allowed_edges() -> BTreeMap<&'static str, &'static [&'static str]> {
    const CLIENTS: &[&str] = &["quads-http"];
    BTreeMap::from([
        ("quads-http", &[][..]),
        ("foreman-client", CLIENTS),
        ("redfish-client", CLIENTS),
        ("switch-client", CLIENTS),
        ("quads-api-client", CLIENTS),
        (
            "provision-core",
            &[
                "quads-http",
                "foreman-client",
                "redfish-client",
                "switch-client",
                "quads-api-client",
            ][..],
        ),
        (
            "quads-cli",
            &[
                "quads-http",
                "foreman-client",
                "redfish-client",
                "switch-client",
                "quads-api-client",
                "provision-core",
            ][..],
        ),
        ("testkit", &[][..]),
    ])
}

/// The crates whose `src/` is a library (printing is the binaries' job).
const LIBRARIES: &[&str] = &[
    "quads-http",
    "foreman-client",
    "redfish-client",
    "switch-client",
    "quads-api-client",
    "provision-core",
    "testkit",
];

/// Dependency names in one table of a manifest (`[dependencies]` etc.), from its text.
fn dependencies(manifest: &str, table: &str) -> BTreeSet<String> {
    let Ok(doc) = manifest.parse::<toml::Table>() else {
        return BTreeSet::new();
    };
    doc.get(table)
        .and_then(toml::Value::as_table)
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

/// `crate-edges`.
#[must_use]
pub fn crate_edges(files: &[SourceFile]) -> Vec<Finding> {
    let allowed = allowed_edges();
    let ours: BTreeSet<&str> = allowed.keys().copied().chain(["xtask"]).collect();
    let mut found = Vec::new();
    for f in files {
        let Some(krate) = f.path.strip_suffix("/Cargo.toml") else {
            continue;
        };
        let Some(may) = allowed.get(krate) else {
            continue;
        };
        for (table, extra) in [
            ("dependencies", None),
            ("dev-dependencies", Some("testkit")),
            ("build-dependencies", None),
        ] {
            for dep in dependencies(&f.text, table) {
                let allowed_here = may.contains(&dep.as_str())
                    || (extra == Some(dep.as_str()) && krate != "testkit");
                if ours.contains(dep.as_str()) && !allowed_here {
                    found.push(Finding {
                        rule: "crate-edges",
                        at: f.path.clone(),
                        what: format!("{krate} may not depend on {dep} ([{table}])"),
                    });
                }
            }
        }
    }
    found
}

/// `module-doc`.
#[must_use]
pub fn module_doc(files: &[SourceFile]) -> Vec<Finding> {
    files
        .iter()
        .filter(|f| f.path.ends_with(".rs"))
        .filter(|f| !f.text.trim_start().starts_with("//!"))
        .map(|f| Finding {
            rule: "module-doc",
            at: f.path.clone(),
            what: "does not open with a `//!` line saying what the file owns".to_owned(),
        })
        .collect()
}

/// The text of `text` before its test module (`#[cfg(test)]` or `#[cfg(all(test, ...))]`), with
/// line numbers.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, l)| {
            let l = l.trim_start();
            !(l.starts_with("#[cfg(test)]") || l.starts_with("#[cfg(all(test"))
        })
        .map(|(n, l)| (n + 1, l))
}

/// Whether `line` is code (not a comment line).
fn is_code(line: &str) -> bool {
    !line.trim_start().starts_with("//")
}

/// `library-prints`.
#[must_use]
pub fn library_prints(files: &[SourceFile]) -> Vec<Finding> {
    const MACROS: &[&str] = &["print!(", "println!(", "eprint!(", "eprintln!(", "dbg!("];
    let mut found = Vec::new();
    for f in files {
        let library = LIBRARIES
            .iter()
            .any(|c| f.path.starts_with(&format!("{c}/src/")));
        if !library || !f.path.ends_with(".rs") || f.path.contains("/src/bin/") {
            continue;
        }
        for (n, line) in code_lines(&f.text).filter(|(_, l)| is_code(l)) {
            for m in MACROS {
                // `print!(` also matches inside `eprint!(`/`println!(`: name the longest
                let hit = line.match_indices(m).any(|(i, _)| {
                    let before = line[..i].chars().next_back();
                    !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                });
                if hit {
                    found.push(Finding {
                        rule: "library-prints",
                        at: format!("{}:{n}", f.path),
                        what: format!(
                            "`{}` in a library: log through tracing",
                            m.trim_end_matches('(')
                        ),
                    });
                }
            }
        }
    }
    found
}

/// `test-waits`.
#[must_use]
pub fn test_waits(files: &[SourceFile]) -> Vec<Finding> {
    let mut found = Vec::new();
    for f in files
        .iter()
        .filter(|f| f.path.ends_with(".rs") && !f.path.starts_with("xtask/"))
    {
        for (n, line) in f.text.lines().enumerate().filter(|(_, l)| is_code(l)) {
            let what = if line.contains("thread::sleep") {
                "`std::thread::sleep`: wait on tokio's clock (or a condition with a deadline)"
            } else if line.trim_start().starts_with("#[ignore") {
                "`#[ignore]`: a test that does not run is not a test"
            } else {
                continue;
            };
            found.push(Finding {
                rule: "test-waits",
                at: format!("{}:{}", f.path, n + 1),
                what: what.to_owned(),
            });
        }
    }
    found
}

/// The `path`s a clippy.toml's `disallowed-methods` lists.
fn disallowed(clippy_toml: &str) -> BTreeSet<String> {
    let Ok(doc) = clippy_toml.parse::<toml::Table>() else {
        return BTreeSet::new();
    };
    doc.get("disallowed-methods")
        .and_then(toml::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|m| {
                    m.as_str()
                        .or_else(|| m.get("path").and_then(toml::Value::as_str))
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `lints`.
#[must_use]
pub fn lints(files: &[SourceFile]) -> Vec<Finding> {
    let mut found = Vec::new();
    let mut finding = |at: &str, what: String| {
        found.push(Finding {
            rule: "lints",
            at: at.to_owned(),
            what,
        });
    };
    let file = |path: &str| files.iter().find(|f| f.path == path);
    let root: Option<toml::Table> = file("Cargo.toml").and_then(|f| f.text.parse().ok());
    let clippy_lints = root
        .as_ref()
        .and_then(|r| r.get("workspace"))
        .and_then(|w| w.get("lints"))
        .and_then(|l| l.get("clippy"));
    for lint in ["unwrap_used", "disallowed_methods", "await_holding_lock"] {
        let level = clippy_lints.and_then(|c| c.get(lint)).and_then(|v| {
            v.as_str()
                .or_else(|| v.get("level").and_then(toml::Value::as_str))
        });
        if level != Some("deny") {
            finding(
                "Cargo.toml",
                format!("[workspace.lints.clippy] {lint} is not \"deny\""),
            );
        }
    }
    let members: Vec<String> = root
        .as_ref()
        .and_then(|r| r.get("workspace"))
        .and_then(|w| w.get("members"))
        .and_then(toml::Value::as_array)
        .map(|m| {
            m.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for member in &members {
        let path = format!("{member}/Cargo.toml");
        let inherits = file(&path)
            .and_then(|f| f.text.parse::<toml::Table>().ok())
            .and_then(|t| t.get("lints").and_then(|l| l.get("workspace")).cloned())
            .and_then(|w| w.as_bool())
            == Some(true);
        if !inherits {
            finding(
                &path,
                "does not inherit the workspace lints ([lints] workspace = true)".to_owned(),
            );
        }
    }
    let everywhere = [
        "std::thread::sleep",
        "governor::RateLimiter::until_ready",
        "governor::RateLimiter::until_n_ready",
    ];
    for (path, extra) in [
        ("clippy.toml", &[][..]),
        (
            "provision-core/clippy.toml",
            &["std::time::Instant::now"][..],
        ),
    ] {
        let listed = file(path).map(|f| disallowed(&f.text)).unwrap_or_default();
        for method in everywhere.iter().chain(extra) {
            if !listed.contains(*method) {
                finding(path, format!("disallowed-methods lacks {method}"));
            }
        }
    }
    found
}

/// Every rule over `files`, sorted.
#[must_use]
pub fn check(files: &[SourceFile]) -> Vec<Finding> {
    let mut all: Vec<Finding> = [crate_edges, module_doc, library_prints, test_waits, lints]
        .iter()
        .flat_map(|rule| rule(files))
        .collect();
    all.sort();
    all
}

/// Reads the files git tracks (Rust sources, manifests, clippy configurations) under `root`.
fn tracked(root: &Path) -> anyhow::Result<Vec<SourceFile>> {
    let out = std::process::Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root)
        .output()
        .context("cannot run git ls-files")?;
    let names = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut files = Vec::new();
    for name in names
        .split('\0')
        .filter(|n| n.ends_with(".rs") || n.ends_with("Cargo.toml") || n.ends_with("clippy.toml"))
    {
        let Ok(text) = std::fs::read_to_string(root.join(name)) else {
            continue; // deleted in the work tree
        };
        files.push(SourceFile {
            path: name.to_owned(),
            text,
        });
    }
    Ok(files)
}

/// `cargo xtask tidy`.
pub fn run(root: &Path) -> anyhow::Result<()> {
    let files = tracked(root)?;
    let findings = check(&files);
    for f in &findings {
        println!("{} {}: {}", f.rule, f.at, f.what);
    }
    if findings.is_empty() {
        println!("tidy: {} files, every rule holds", files.len());
        Ok(())
    } else {
        anyhow::bail!("tidy: {} finding(s)", findings.len())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn file(path: &str, text: &str) -> SourceFile {
        SourceFile {
            path: path.to_owned(),
            text: text.to_owned(),
        }
    }

    /// The workspace as it is: every rule holds (so each test below fails on its planted
    /// violation alone).
    fn workspace() -> Vec<SourceFile> {
        tracked(&crate::util::project_root()).unwrap()
    }

    fn rules_of(findings: &[Finding]) -> BTreeSet<&'static str> {
        findings.iter().map(|f| f.rule).collect()
    }

    #[test]
    fn the_workspace_is_tidy() {
        let found = check(&workspace());
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn a_client_depending_on_provision_core_and_testkit_depending_on_anything_are_named() {
        let mut files = workspace();
        files.push(file(
            "redfish-client/Cargo.toml",
            "[dependencies]\nprovision-core.workspace = true\nquads-http.workspace = true\n\
             [dev-dependencies]\ntestkit.workspace = true\n",
        ));
        files.push(file(
            "testkit/Cargo.toml",
            "[dev-dependencies]\nquads-http.workspace = true\n",
        ));
        let found = crate_edges(&files);
        let what: Vec<&str> = found.iter().map(|f| f.what.as_str()).collect();
        assert_eq!(
            what,
            [
                "redfish-client may not depend on provision-core ([dependencies])",
                "testkit may not depend on quads-http ([dev-dependencies])",
            ]
        );
    }

    #[test]
    fn a_file_without_its_module_doc_is_named() {
        let found = module_doc(&[
            file("a/src/ok.rs", "//! owns things\nfn x() {}\n"),
            file("a/src/bad.rs", "// a plain comment\nfn x() {}\n"),
        ]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].at, "a/src/bad.rs");
    }

    #[test]
    fn printing_in_library_code_is_named_but_not_in_its_tests_binaries_or_comments() {
        let text = "//! lib\n// println!(\"in a comment\")\nfn f() { eprintln!(\"x\"); }\n\
                    fn g() { tracing::info!(\"fine\"); }\n#[cfg(test)]\nmod tests { fn t() { println!(\"ok\"); } }\n";
        let found = library_prints(&[
            file("provision-core/src/a.rs", text),
            file("testkit/src/bin/quads-lab.rs", text),
            file("quads-cli/src/main.rs", text),
        ]);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].at, "provision-core/src/a.rs:3");
        assert!(found[0].what.contains("eprintln!"), "{found:#?}");
    }

    #[test]
    fn a_thread_sleep_or_an_ignored_test_is_named_outside_xtask() {
        let found = test_waits(&[
            file(
                "quads-cli/tests/it/x.rs",
                "//! t\n#[ignore]\n#[test]\nfn t() {}\n",
            ),
            file(
                "testkit/src/a.rs",
                "//! t\nfn f() { std::thread::sleep(d); }\n",
            ),
            file(
                "xtask/src/a.rs",
                "//! t\nfn f() { std::thread::sleep(d); }\n",
            ),
        ]);
        let at: Vec<&str> = found.iter().map(|f| f.at.as_str()).collect();
        assert_eq!(at, ["quads-cli/tests/it/x.rs:2", "testkit/src/a.rs:2"]);
    }

    #[test]
    fn a_weakened_lint_setting_is_named() {
        let mut files = workspace();
        for f in &mut files {
            match f.path.as_str() {
                "Cargo.toml" => {
                    f.text = f
                        .text
                        .replace("unwrap_used = \"deny\"", "unwrap_used = \"warn\"");
                }
                "provision-core/clippy.toml" => {
                    f.text = f
                        .text
                        .replace("std::time::Instant::now", "std::time::Instant::elapsed");
                }
                "switch-client/Cargo.toml" => {
                    f.text = f.text.replace("[lints]\nworkspace = true", "");
                }
                _ => {}
            }
        }
        let found = lints(&files);
        let what: BTreeSet<String> = found
            .iter()
            .map(|f| format!("{} {}", f.at, f.what))
            .collect();
        assert_eq!(
            what,
            BTreeSet::from([
                "Cargo.toml [workspace.lints.clippy] unwrap_used is not \"deny\"".to_owned(),
                "provision-core/clippy.toml disallowed-methods lacks std::time::Instant::now"
                    .to_owned(),
                "switch-client/Cargo.toml does not inherit the workspace lints ([lints] workspace = true)"
                    .to_owned(),
            ])
        );
        assert_eq!(rules_of(&found), BTreeSet::from(["lints"]));
    }

    /// The `lints` rule checks the settings; this proves the settings bite: clippy, run with the
    /// workspace's clippy lints and provision-core's clippy.toml on a scratch crate of planted
    /// violations, denies each one (governor's waits are left out: the scratch crate builds
    /// offline, without dependencies).
    #[test]
    fn clippy_with_the_workspace_settings_denies_each_planted_violation() {
        let root = crate::util::project_root();
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        let lints: &str = manifest
            .split("[workspace.lints.clippy]")
            .nth(1)
            .and_then(|rest| rest.split("\n[").next())
            .unwrap();
        let scratch =
            std::env::temp_dir().join(format!("quads-tidy-planted-{}", std::process::id()));
        std::fs::create_dir_all(scratch.join("src")).unwrap();
        std::fs::write(
            scratch.join("Cargo.toml"),
            format!(
                "[package]\nname = \"planted\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n\
                 [workspace]\n\n[lints.clippy]{lints}"
            ),
        )
        .unwrap();
        std::fs::copy(
            root.join("provision-core/clippy.toml"),
            scratch.join("clippy.toml"),
        )
        .unwrap();
        std::fs::write(
            scratch.join("src/lib.rs"),
            "//! Planted violations.\n\
             use std::sync::Mutex;\n\
             pub fn sleeps() { std::thread::sleep(std::time::Duration::from_millis(1)); }\n\
             pub fn wall_clock() -> std::time::Instant { std::time::Instant::now() }\n\
             pub fn unwraps(x: Option<u8>) -> u8 { x.unwrap() }\n\
             async fn later() {}\n\
             pub async fn holds(m: &Mutex<u8>) {\n    \
                 let guard = m.lock().expect(\"lock\");\n    later().await;\n    drop(guard);\n}\n",
        )
        .unwrap();
        let out = std::process::Command::new(std::env::var("CARGO").unwrap_or("cargo".into()))
            .args(["clippy", "--offline", "--quiet", "--message-format=json"])
            .current_dir(&scratch)
            .env("CARGO_TARGET_DIR", scratch.join("target"))
            .env_remove("RUSTFLAGS")
            .output()
            .unwrap();
        std::fs::remove_dir_all(&scratch).ok();
        assert!(
            !out.status.success(),
            "clippy passed the planted violations"
        );
        let denied: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|m| m["message"]["level"] == "error")
            .filter_map(|m| {
                let code = m["message"]["code"]["code"].as_str()?.to_owned();
                let text = m["message"]["message"].as_str().unwrap_or_default();
                Some(match text.split('`').nth(1) {
                    Some(path) if code == "clippy::disallowed_methods" => format!("{code} {path}"),
                    _ => code,
                })
            })
            .collect();
        assert_eq!(
            denied,
            BTreeSet::from([
                "clippy::await_holding_lock".to_owned(),
                "clippy::disallowed_methods std::thread::sleep".to_owned(),
                "clippy::disallowed_methods std::time::Instant::now".to_owned(),
                "clippy::unwrap_used".to_owned(),
            ]),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
