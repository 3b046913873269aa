//! The move-and-rebuild executor (DESIGN §3): cloud-level steps once per cloud, per-host steps
//! as check → act if needed → verify with their own retry policies, every cloud and host at
//! once within the limits (DESIGN §4), one Foreman query per interval for every install wait,
//! journaled intent and outcome so that a new run continues a crashed or interrupted one.
//!
//! Code map:
//! - [`ports`]: the Foreman, BMC, boot-order and ledger traits the steps use.
//! - [`adapters`]: those ports over `foreman-client`, `redfish-client` and the interfaces YAML.
//! - [`run`]: orchestration ([`execute`]) and a whole run against the store ([`move_hosts`]).
//! - `cloud`: each cloud's Foreman user, role and filter, once. `host`: the step machine;
//!   `host_state`: a host's run state (one lock); `step_details`: what the steps journal, typed.
//! - `switches`: the switch-ports step's batches, one commit per switch per batch.
//! - `poller`: the shared install poller. [`resume`]: what earlier runs journaled.
//! - [`progress`]: hosts per step and per ending as the run goes ([`RunProgress`]).
//! - [`MemoryLedger`]: the ledger in memory (simulations, tests, library use without a store).
//! - [`quads_server`]: worker mode: the moves of a QUADS 2.x server, written back to it.
//! - [`report`]: per-host results and the run summary (versioned JSON).
//! - [`sessions`]: the BMC sessions a killed run left open, closed by the next one.
//! - [`config`]: `[executor]` settings.

pub mod adapters;
mod cloud;
pub mod config;
mod hook_move;
mod host;
mod host_state;
mod memory;
mod poller;
pub mod ports;
pub mod progress;
pub mod quads_server;
pub mod report;
pub mod resume;
pub mod run;
pub mod sessions;
mod step_details;
mod switches;
pub mod validate;

#[cfg(test)]
mod tests;

pub use cloud::tenant_password;
pub use config::{ExecutorConfig, StepPolicies};
pub use memory::MemoryLedger;
pub use progress::{HostEnded, ProgressSnapshot, RunProgress};
pub use report::{HostReport, HostStatus, RunCounts, RunReport, StepReport};
pub use resume::ResumeState;
pub use run::{ExecError, Execution, MoveJob, MoveRequest, Ports, RunSetup, execute, move_hosts};
pub use validate::{
    CloudEvent, CloudValidation, HostValidation, ValidateRequest, Validation, ValidationConfig,
    ValidationReport, validate_clouds,
};
