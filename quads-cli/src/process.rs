//! What every command shares, set up once per process: the global options (`--config`,
//! `-v/-q`, `--color`, `--log-format`), the exit codes, the tracing subscriber and the tokio
//! runtime.
//!
//! Exit codes, for every command:
//! - 0: done (every host, every change).
//! - 1: something failed (a host, a change, a server's answer); the rest was done.
//! - 2: bad usage or configuration, or refused input (nothing was changed).
//! - 130: interrupted by SIGINT or SIGTERM (in-flight work cancelled or finished within its
//!   grace period, sessions logged out; `move-hosts --resume` continues a run).

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::OnceLock;

use clap::{ArgAction, Args, ValueEnum};

/// Done.
pub const EXIT_OK: u8 = 0;
/// Something failed.
pub const EXIT_FAILED: u8 = 1;
/// Bad usage, configuration or refused input.
pub const EXIT_USAGE: u8 = 2;
/// Stopped by SIGINT or SIGTERM.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Options every command takes, before or after its name.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Configuration file [default: $XDG_CONFIG_HOME/quads/quads.toml]
    #[arg(long, global = true, value_name = "FILE", env = "QUADS_CONFIG")]
    pub config: Option<PathBuf>,
    /// More log lines (-v debug, -vv trace); QUADS_LOG, a tracing filter, wins
    #[arg(short = 'v', long = "verbose", global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// Fewer log lines (-q warnings, -qq errors, -qqq none)
    #[arg(short = 'q', long = "quiet", global = true, action = ArgAction::Count, conflicts_with = "verbose")]
    pub quiet: u8,
    /// Colours in log lines: auto (a terminal, and NO_COLOR unset), always or never
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Log lines as text or as JSON objects (one a line)
    #[arg(long = "log-format", global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// When stderr is a terminal and NO_COLOR is not set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Lines for people.
    Text,
    /// One JSON object per event.
    Json,
}

impl GlobalArgs {
    /// The level filter `-v`/`-q` ask for (the default is `info`).
    fn level(&self) -> &'static str {
        match (self.verbose, self.quiet) {
            (0, 0) => "info",
            (1, _) => "debug",
            (v, _) if v > 1 => "trace",
            (_, 1) => "warn",
            (_, 2) => "error",
            _ => "off",
        }
    }

    /// Whether log lines are coloured.
    fn ansi(&self, no_color: bool, terminal: bool) -> bool {
        match self.color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => terminal && !no_color,
        }
    }
}

/// Installs the one tracing subscriber: stderr (above progress bars while they are drawn),
/// `QUADS_LOG` or the `-v/-q` level, colours per `--color`, text or JSON.
pub fn init_tracing(global: &GlobalArgs) {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let filter = env("QUADS_LOG")
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(global.level()));
    let ansi = global.ansi(env("NO_COLOR").is_some(), std::io::stderr().is_terminal());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::run_progress::LogWriter)
        .with_target(false);
    let _ = match global.log_format {
        LogFormat::Text => builder.with_ansi(ansi).try_init(),
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
    };
}

/// The process's one tokio runtime, started on first use, with one worker thread. A command
/// spends its time waiting on BMCs, Foreman and switches (a move costs a few milliseconds of
/// CPU per host) and the store has its own thread: a second worker only adds wake-ups between
/// workers and a second thread's heap. Measured at 700 hosts against two workers (this
/// machine's default), three runs each: CPU per host 3.42 against 3.65 ms, peak RSS 61.2–61.6
/// against 63.8–64.3 MiB, makespan within 1.09 × the bound in both. (A current-thread
/// runtime, tried too, gave the same memory but makespans up to 1.12 × the bound in five runs.)
///
/// # Errors
/// When it cannot start.
pub fn runtime() -> anyhow::Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    if let Some(r) = RUNTIME.get() {
        return Ok(r);
    }
    let built = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!(e).context("cannot start the async runtime"))?;
    Ok(RUNTIME.get_or_init(|| built))
}

/// Runs `work` to its end on the process's runtime (from blocking code only).
///
/// # Errors
/// When the runtime cannot start.
pub fn block_on<F: Future>(work: F) -> anyhow::Result<F::Output> {
    Ok(runtime()?.block_on(work))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use clap::Parser as _;

    use super::*;
    use crate::Cli;

    /// The global options of `quads ARGS man`.
    fn parse(args: &[&str]) -> GlobalArgs {
        let all = std::iter::once("quads").chain(args.iter().copied());
        Cli::try_parse_from(all.chain(["man"])).unwrap().global
    }

    /// clap's own checks of the whole tree (no global flag clashes with a command's).
    #[test]
    fn the_command_tree_is_consistent() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn verbosity_and_colour_follow_the_flags() {
        assert_eq!(parse(&[]).level(), "info");
        assert_eq!(parse(&["-v"]).level(), "debug");
        assert_eq!(parse(&["-vvv"]).level(), "trace");
        assert_eq!(parse(&["-q"]).level(), "warn");
        assert_eq!(parse(&["-qq"]).level(), "error");
        assert_eq!(parse(&["-qqq"]).level(), "off");
        assert!(Cli::try_parse_from(["quads", "-v", "-q", "man"]).is_err());
        let auto = parse(&[]);
        assert!(auto.ansi(false, true));
        assert!(!auto.ansi(true, true), "NO_COLOR");
        assert!(!auto.ansi(false, false), "not a terminal");
        assert!(parse(&["--color", "always"]).ansi(true, false));
        assert!(!parse(&["--color", "never"]).ansi(false, true));
    }
}
