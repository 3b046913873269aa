//! The simulated lab: a fake Foreman, a fleet of fake BMCs and fake Junos switches sharing one lab.
//!
//! A [`Lab`] serves Foreman's API v2 (HTTPS and HTTP) and one Redfish BMC per host, each on its
//! own loopback address (127.0.x.y) and one shared port, over HTTPS with certificates from a CA
//! made at start, and a fleet of fake Junos switches over SSH (127.1.x.y, one shared port) to
//! which every host's NICs are wired ([`switch`]). A host that boots from the network while Foreman has `build=true` installs for the
//! model's install time, after which Foreman shows it built. Timings follow the lab model
//! ([`LabModel`], `lab-model-v1.toml`) scaled by a time scale; every wait is on tokio's clock, so
//! a lab runs in virtual time under `tokio::time::pause`. Faults are seeded ([`FaultProfile`]).
//! A fake QUADS 2.x server (REST API v3, plain HTTP) holds the lab's clouds, assignments and
//! schedules over the same host names ([`quads`]).
//! What the lab saw is in [`Lab::metrics`] and [`Lab::log`], or over the admin endpoint.
//! [`InProcessLab`] is the same lab without sockets: requests are handed to it directly, so it
//! runs under a paused clock and scales to tens of thousands of hosts.
//!
//! This crate depends on no crate of the project: clients are tested against it as a black box.

pub mod admin;
pub mod bmc;
pub mod capacity;
pub mod clock;
pub mod faults;
pub mod foreman;
pub mod in_process;
pub mod inventory;
pub mod isolation;
pub mod lab;
pub mod machine;
pub mod metrics;
pub mod model;
pub mod probe;
pub mod quads;
pub mod server;
pub mod smtp;
pub mod sshd;
pub mod switch;
pub mod tls;
pub mod webhook;

pub use faults::FaultProfile;
pub use in_process::{Exchange, InProcessLab};
pub use inventory::{Inventory, InventoryHost, InventoryInterface, InventorySwitch};
pub use isolation::{
    Expectation, HostExpectation, IsolationReport, Login, NetworkExpectation, Violation,
};
pub use lab::{
    Credentials, HostType, Lab, LabConfig, LabError, OemActionsPlace, Scheme, Sinks, SinksConfig,
    VirtualMediaLink,
};
pub use machine::Flavor;
pub use metrics::{HangCounters, HostCounters, LogEntry, MetricsSnapshot};
pub use model::LabModel;
pub use probe::Probe;
pub use switch::{HostPort, SwitchCli};
