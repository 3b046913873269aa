//! `cargo xtask simulate`'s arguments: what to run (fleet sizes, policies, faults, mode) and
//! the two policies compared.

use std::path::PathBuf;

use serde::Serialize;

use super::quads::Source;

/// Arguments of `cargo xtask simulate`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Hosts moved (one BMC each), spread over the clouds.
    #[arg(long, default_value_t = 300)]
    pub hosts: usize,
    /// Real seconds per lab second (real mode; `--virtual` runs in virtual lab seconds).
    #[arg(long, default_value_t = 0.02)]
    pub time_scale: f64,
    /// The lab's fault profile: none, chaos, hard, with overrides (`chaos,dead_bmcs=2`).
    #[arg(long, default_value = "none")]
    pub faults: String,
    /// Seed of every random choice of the lab.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also write the results as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// In-process lab under a paused tokio clock (no sockets; 10,000+ hosts in seconds).
    #[arg(long = "virtual")]
    pub in_virtual_time: bool,
    /// Fleet sizes to sweep (e.g. `10,50,100,300,700,2000`): writes a plot (SVG) and a table.
    #[arg(long, value_delimiter = ',')]
    pub sweep: Vec<usize>,
    /// Which policies to run.
    #[arg(long, value_enum, default_value = "both")]
    pub policy: Which,
    /// Tenant clouds the hosts move into.
    #[arg(long, default_value_t = 3)]
    pub clouds: usize,
    /// Use the debug build of `quads` (faster to build; CPU figures are then not representative).
    #[arg(long)]
    pub debug: bool,
    /// Fail unless every healthy host moved and the lab's counters are sane (for CI).
    #[arg(long)]
    pub check: bool,
    /// Where the sweep's plot and table go (default: target/simulate).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Where the moves come from: the local store, or the lab's QUADS server (worker mode;
    /// real mode only).
    #[arg(long, value_enum, default_value = "local")]
    pub source: Source,
    /// Kill `quads move-hosts` with SIGKILL at this many seeded moments spread over the
    /// expected makespan, starting it again each time (the run resumes), then run it to the end
    /// (real mode, `--policy ours`); `--check` then judges issue 16's crash clauses.
    #[arg(long, default_value_t = 0)]
    pub kill: usize,
    /// The lab's BMC flavours, assigned round-robin (`quads-lab --flavors`; default the lab's:
    /// dell, idrac10, supermicro, generic). `all` is every flavour, HPE iLO and Lenovo XCC too.
    #[arg(long, value_delimiter = ',')]
    pub flavors: Vec<String>,
}

/// The policies to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Which {
    /// Ours and the QUADS 2019 preset, side by side.
    Both,
    /// Only ours.
    Ours,
    /// Only the QUADS 2019 preset.
    Quads2019,
}

/// One policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// This project's.
    Ours,
    /// QUADS as it moved hosts in 2019 (DESIGN §8).
    Quads2019,
}

impl Policy {
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Ours => "ours",
            Self::Quads2019 => "QUADS 2019",
        }
    }
}

impl Which {
    pub(super) fn policies(self) -> Vec<Policy> {
        match self {
            Self::Both => vec![Policy::Ours, Policy::Quads2019],
            Self::Ours => vec![Policy::Ours],
            Self::Quads2019 => vec![Policy::Quads2019],
        }
    }
}
