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
mod run_progress;
mod signals;
#[cfg(test)]
mod surface;

/// mimalloc instead of the system allocator: a run allocates and frees many small buffers on
/// several threads (requests, JSON, TLS records), where glibc's malloc spent a sixth of the
/// process's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Provision bare-metal server fleets: move hosts between clouds and rebuild them.
#[derive(Debug, Parser)]
#[command(name = "quads", version = env!("QUADS_VERSION"), about)]
struct Cli {
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

fn main() -> anyhow::Result<ExitCode> {
    match Cli::parse().command {
        Command::Oob(args) => oob::main(*args),
        Command::Foreman(args) => Ok(foreman::main(&args)),
        Command::Admin(command) => Ok(admin::main(command)),
        Command::Completions(args) => {
            print(&generate::completions(&args, Cli::command()));
            Ok(ExitCode::SUCCESS)
        }
        Command::Man(args) => {
            print(&generate::man(&args, Cli::command())?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
