//! Build script: the commit `quads --version` names. From `QUADS_BUILD_COMMIT` (packagers
//! building from a tarball), else `git` in the source tree, else "unknown"; the date is the
//! commit's (so a rebuild of the same commit prints the same line), or `SOURCE_DATE_EPOCH`'s.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// `YYYY-MM-DD` of a Unix time.
fn civil_date(epoch: i64) -> Option<String> {
    Some(
        time::OffsetDateTime::from_unix_timestamp(epoch)
            .ok()?
            .date()
            .to_string(),
    )
}

/// Rebuild when `path` (relative to the git dir) changes, if it exists (cargo would rerun
/// the script every build for a missing one).
fn watch(path: &str) {
    if let Some(p) = git(&["rev-parse", "--git-path", path])
        && std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(&p)
            .exists()
    {
        println!("cargo:rerun-if-changed={p}");
    }
}

fn main() {
    println!("cargo:rerun-if-env-changed=QUADS_BUILD_COMMIT");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    // a new commit or checkout changes HEAD or the branch it points at
    watch("HEAD");
    watch("packed-refs");
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch(&branch);
    }
    let commit = std::env::var("QUADS_BUILD_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    let date = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(civil_date)
        .or_else(|| git(&["log", "-1", "--format=%cs", "HEAD"]));
    let described = match date {
        Some(date) => format!("{} ({commit} {date})", env!("CARGO_PKG_VERSION")),
        None => format!("{} ({commit})", env!("CARGO_PKG_VERSION")),
    };
    println!("cargo:rustc-env=QUADS_VERSION={described}");
}
