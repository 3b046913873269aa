//! `cargo xtask simulate`: move-and-rebuild of N lab hosts under our policy and under the
//! "QUADS 2019" preset, in one invocation, against the lower bound of DESIGN §8.
//!
//! Real mode (the default) starts a fresh lab in this process for each policy (same seed, so the
//! same fleet) and runs the release `quads` binary against it over loopback HTTPS, as an
//! operator would: `quads init`, `host import`, `move-hosts --format json`. The orchestrator's
//! CPU time and peak RSS are its own process's; requests, peaks, installs, boots and sessions
//! come from the lab's counters. `--virtual` runs the same executor in this process against an
//! in-process lab under a paused tokio clock (no sockets), for fleets of 10,000 and more.
//!
//! The bound: `LB = max(CP, N·F/capacity)`. CP is one host's shortest critical path through the
//! workflow at the model's median latencies (the slowest kind of host present: one that needs a
//! boot-order change, whose config job runs during POST); F is the Foreman service time one host
//! needs. Both are listed term by term. Because every latency is a log-normal draw, the slowest of
//! N hosts takes longer than the median path; `CP_N` estimates that (mean over seeded trials of
//! the slowest of N hosts' drawn paths) and `LB_N = max(CP_N, N·F/capacity + tail)` also counts
//! that the last host's Foreman work must be followed by its own boot and install. Both ratios
//! are reported; the targets are judged on DESIGN's LB.
//!
//! The parts: `args` (what to run), `bound` (the bound's maths), `run` (orchestration and the
//! real-mode runs), `check` (a run's result and its correctness checks), `kill` (`--kill`: SIGKILL
//! and resume, judged on issue 16's clauses), `report` (the JSON and
//! markdown), `quads` (worker mode) and `virtual` (the in-process lab in virtual time).

mod args;
mod bound;
mod check;
mod kill;
pub mod quads;
mod report;
mod run;
#[path = "virtual.rs"]
mod virtual_time;

pub use args::SimArgs;
pub use run::run_simulate;
