//! `quads`: the operator's command line (subcommands arrive with issues 3-5).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod admin;
mod config;
mod foreman;
mod heal;
mod move_hosts;
mod notify;
mod oob;
mod run_progress;

/// mimalloc instead of the system allocator: a run allocates and frees many small buffers on
/// several threads (requests, JSON, TLS records), where glibc's malloc spent a sixth of the
/// process's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Provision bare-metal server fleets: move hosts between clouds and rebuild them.
#[derive(Debug, Parser)]
#[command(name = "quads", version, about)]
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
}

fn main() -> anyhow::Result<ExitCode> {
    match Cli::parse().command {
        Command::Oob(args) => oob::main(*args),
        Command::Foreman(args) => Ok(foreman::main(&args)),
        Command::Admin(command) => Ok(admin::main(command)),
    }
}
