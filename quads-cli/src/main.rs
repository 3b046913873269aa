//! `quads`: the operator's command line (subcommands arrive with issues 3-5).

use clap::Parser;

/// Provision bare-metal server fleets: move hosts between clouds and rebuild them.
#[derive(Debug, Parser)]
#[command(name = "quads", version, about)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
