//! Move-and-rebuild's core: the store (SQLite: inventory, schedules, runs, journal), the planner,
//! the configuration types and the inventory import; the per-host step machine and its limits
//! build on them.

#![warn(missing_docs)]

/// The README's example, compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub mod availability;
pub mod config;
pub mod executor;
pub mod heal;
pub mod hook;
pub mod inventory;
pub mod journal;
pub mod limits;
pub mod model;
pub mod network;
pub mod notify;
pub mod plan;
pub mod quads_import;
pub mod retry;
pub mod shutdown;
pub mod store;
pub mod time;

pub use config::{
    BmcConfig, Config, ForemanConfig, HostKeyCheck, JunosConfig, MoveConfig, NetworkConfig,
    QuadsServerConfig, Secret, StoreConfig, SwitchCommand, SwitchDriver,
};
pub use inventory::{Inventory, InventoryError};
pub use journal::{Details, Journal, StepAttempt};
pub use plan::{Move, MovePlan, PlanInput, SkipReason, Skipped, plan};
pub use store::{OpenMode, RunLock, Snapshot, Store, StoreError, StoreOptions};
pub use time::{Clock, SystemClock, Timestamp, TokioClock};
