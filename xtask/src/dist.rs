//! `cargo xtask dist`: the release step. Builds `quads` and `quads-lab` in release and lays out
//! what an operator installs, in `target/dist/quads-VERSION-TARGET/` and a `.tar.gz` of it:
//!
//! ```text
//! bin/quads  bin/quads-lab
//! share/man/man1/quads.1, quads-<command>.1, ...     (from `quads man --dir`)
//! share/bash-completion/completions/quads            (from `quads completions bash`)
//! share/zsh/site-functions/_quads  share/fish/vendor_completions.d/quads.fish
//! share/doc/quads/README.md  LICENSE
//! ```
//!
//! The pages and scripts come from the built binary itself, so they match its flags. Every
//! piece is checked (a page per subcommand, non-empty scripts naming `quads`) before the archive
//! is made. `--debug` lays out the debug build instead (CI: the step works without a release
//! compile).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail, ensure};

use crate::util::{run, target_dir};

/// What `dist` produced.
#[derive(Debug)]
pub struct Dist {
    /// The laid-out directory.
    pub dir: PathBuf,
    /// The archive of it.
    pub archive: PathBuf,
    /// Man pages written.
    pub pages: usize,
}

/// Builds (unless `debug`: the debug build must exist) and lays out the release.
pub fn run_dist(root: &Path, debug: bool) -> anyhow::Result<Dist> {
    let profile = if debug { "debug" } else { "release" };
    crate::util::build_binaries(root, !debug, false)?;
    let bin_dir = target_dir(root).join(profile);
    let quads = bin_dir.join("quads");
    let version = capture(&quads, &["--version"])?;
    // `quads 0.1.0 (abc1234 2026-12-06)`: the second word is the version
    let version = version
        .split_whitespace()
        .nth(1)
        .context("`quads --version` printed no version")?
        .to_owned();
    let name = format!("quads-{version}-{}", host_triple()?);
    let out = target_dir(root).join("dist");
    let dir = out.join(&name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    let share = dir.join("share");
    for binary in ["quads", "quads-lab"] {
        copy(&bin_dir.join(binary), &dir.join("bin").join(binary))?;
    }
    let man = share.join("man/man1");
    capture(&quads, &["man", "--dir", &man.to_string_lossy()])?;
    let pages = check_pages(&man, &capture(&quads, &["--help"])?)?;
    for (shell, path) in [
        ("bash", "bash-completion/completions/quads"),
        ("zsh", "zsh/site-functions/_quads"),
        ("fish", "fish/vendor_completions.d/quads.fish"),
    ] {
        let script = capture(&quads, &["completions", shell])?;
        ensure!(
            script.contains("quads") && script.len() > 200,
            "the {shell} completion script looks empty"
        );
        write(&share.join(path), script.as_bytes())?;
    }
    copy(&root.join("README.md"), &share.join("doc/quads/README.md"))?;
    copy(&root.join("LICENSE"), &dir.join("LICENSE"))?;
    let archive = out.join(format!("{name}.tar.gz"));
    run(
        &out,
        "tar",
        &[
            "-czf",
            &archive.to_string_lossy(),
            "--owner=0",
            "--group=0",
            &name,
        ],
    )?;
    Ok(Dist {
        dir,
        archive,
        pages,
    })
}

/// Every top-level subcommand of `quads --help` has its page, and each page is roff naming it;
/// the number of pages.
fn check_pages(man: &Path, help: &str) -> anyhow::Result<usize> {
    let mut pages = 0;
    for entry in std::fs::read_dir(man).with_context(|| format!("no pages in {}", man.display()))? {
        let path = entry?.path();
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        ensure!(
            text.starts_with(".ie") || text.contains(".TH"),
            "{} is not roff",
            path.display()
        );
        pages += 1;
    }
    ensure!(man.join("quads.1").is_file(), "quads.1 is missing");
    for command in subcommands(help) {
        let page = man.join(format!("quads-{command}.1"));
        ensure!(
            page.is_file(),
            "no man page for `quads {command}` ({})",
            page.display()
        );
    }
    Ok(pages)
}

/// The subcommand names in clap's `--help` text (the `Commands:` block, `help` left out).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect()
}

/// The host's target triple, from `rustc -vV`.
fn host_triple() -> anyhow::Result<String> {
    let out = capture(Path::new("rustc"), &["-vV"])?;
    out.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .context("`rustc -vV` named no host")
}

/// The stdout of `program args`, which must succeed.
fn capture(program: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {}", program.display()))?;
    if !out.status.success() {
        bail!(
            "`{} {}` failed: {}",
            program.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8(out.stdout).context("output is not UTF-8")
}

fn copy(from: &Path, to: &Path) -> anyhow::Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::copy(from, to)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::subcommands;

    #[test]
    fn subcommands_are_read_from_the_help_block() {
        let help = "quads\n\nUsage: quads <COMMAND>\n\nCommands:\n  init   Make it\n  \
                    move-hosts  Move\n  help   Print this\n\nOptions:\n  -v  verbose\n";
        assert_eq!(subcommands(help), ["init", "move-hosts"]);
    }
}
