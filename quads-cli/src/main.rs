//! `quads`: the operator's command line. This file is the command tree's root: the global
//! options, the subcommands, and the dispatch to their modules.

use std::io::Write as _;
use std::process::ExitCode;

use clap::{CommandFactory as _, Parser, Subcommand};

mod admin;
mod config;
mod foreman;
mod generate;
mod heal;
mod move_hosts;
mod notify;
mod oob;
mod process;
mod run_progress;
mod signals;
#[cfg(test)]
mod surface;

/// mimalloc instead of the system allocator: a run allocates and frees many small buffers on
/// several threads (requests, JSON, TLS records), where glibc's malloc spent a sixth of the
/// process's CPU.
/// (Feature `mimalloc`, on by default; off for heap profiling.)
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Provision bare-metal server fleets: move hosts between clouds and rebuild them.
#[derive(Debug, Parser)]
#[command(name = "quads", version = env!("QUADS_VERSION"), about)]
struct Cli {
    #[command(flatten)]
    global: process::GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Out-of-band BMC management over Redfish, Badfish-compatible flags (`-H` or `--host-list`).
    Oob(Box<oob::OobArgs>),
    /// Foreman hosts and health through the Foreman API v2 (`host show`, `host list`, `status`),
    /// and `heal` (Foreman made to follow the schedule).
    Foreman(Box<foreman::ForemanArgs>),
    #[command(flatten)]
    Admin(admin::AdminCommand),
    /// Print the shell completion script for SHELL (e.g. `quads completions bash >
    /// /etc/bash_completion.d/quads`).
    Completions(generate::CompletionsArgs),
    /// Print the man page quads(1), or write every page into --dir.
    Man(generate::ManArgs),
}

/// Writes `bytes` to stdout; a closed pipe (`| head`) is not an error worth reporting.
fn print(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

fn main() -> ExitCode {
    let Cli { global, command } = Cli::parse();
    process::init_tracing(&global);
    let code = match command {
        Command::Completions(args) => {
            print(&generate::completions(&args, Cli::command()));
            process::EXIT_OK
        }
        Command::Man(args) => match generate::man(&args, Cli::command()) {
            Ok(page) => {
                print(&page);
                process::EXIT_OK
            }
            Err(e) => fail(process::EXIT_FAILED, &e),
        },
        command => {
            // quads.toml, read once (`quads init` may be about to write it)
            let init = matches!(command, Command::Admin(admin::AdminCommand::Init(_)));
            let file = config::locate(global.config.as_deref(), &config::ProcessEnv)
                .and_then(|location| config::ConfigFile::read(location, init));
            match file {
                Err(e) => fail(process::EXIT_USAGE, &e),
                Ok(file) => match command {
                    Command::Oob(args) => oob::main(*args, &file),
                    Command::Foreman(args) => foreman::main(&args, &file),
                    Command::Admin(command) => admin::main(command, file),
                    Command::Completions(_) | Command::Man(_) => process::EXIT_OK,
                },
            }
        }
    };
    ExitCode::from(code)
}

/// Says why on stderr; returns `code`.
fn fail(code: u8, error: &anyhow::Error) -> u8 {
    let _ = writeln!(std::io::stderr().lock(), "error: {error:#}");
    code
}
