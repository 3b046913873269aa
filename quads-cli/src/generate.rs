//! `quads completions <shell>` and `quads man`: shell completion scripts (clap_complete) and
//! roff man pages (clap_mangen), both made from the one clap command tree, so they cannot
//! drift from the flags.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use clap_complete::Shell;

/// `quads completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// `quads man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `quads.1` and one page per subcommand (`quads-host-ls.1`, ...) into DIR instead of
    /// printing `quads.1`.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The completion script for `shell`, for the command tree `command`.
pub fn completions(args: &CompletionsArgs, mut command: clap::Command) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "quads", &mut out);
    out
}

/// `quads.1` (printed) or every page written into `--dir`; the text printed.
pub fn man(args: &ManArgs, command: clap::Command) -> anyhow::Result<Vec<u8>> {
    match &args.dir {
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut out)
                .context("cannot render the man page")?;
            Ok(out)
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(command, dir)
                .with_context(|| format!("cannot write man pages into {}", dir.display()))?;
            let mut out = Vec::new();
            let _ = writeln!(out, "{}", pages(dir).join("\n"));
            Ok(out)
        }
    }
}

/// The pages in `dir`, sorted.
fn pages(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "1"))
        .map(|p| p.display().to_string())
        .collect();
    names.sort();
    names
}
