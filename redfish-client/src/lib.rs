//! Typed async Redfish client for fleets of BMCs (Dell iDRAC9/10, Supermicro, HPE, Lenovo,
//! generic DMTF), built on the `quads-http` transport seam.
//!
//! Layout (code map):
//! - [`client`]: [`RedfishClient`] (one pooled transport, per-BMC concurrency limit, the handle
//!   registry for Ctrl-C) and [`Bmc`] (one session per BMC, re-login once on 401, Basic
//!   fallback, retries with backoff and jitter, logout on every exit path).
//! - [`discovery`]: service root, system/manager/chassis, vendor and Dell-generation paths,
//!   each fetched only when an operation needs it, cached per BMC with concurrent callers
//!   coalesced. State is never cached across operations (a read is reused within one).
//! - [`vendor`]: the quirk table and the "busy, try later" answers, pure.
//! - `request` / `wire` (crate-private): requests built and responses decoded without IO; the
//!   raw wire shapes stay inside, callers get the typed models of [`ops`].
//! - [`ops`]: the operations (power, boot, boot order, jobs, BIOS, accounts, virtual media,
//!   firmware, inventory, BMC reset, power draw); every wait polls real state with a deadline
//!   on tokio's clock and takes a cancellation token.
//!
//! Invariants, stated as absences: no printing (only `tracing`), no fixed sleeps, no password
//! or token in any error, log line or `Debug` output, no dependency on other quads crates but
//! `quads-http`.

#![warn(missing_docs)]
// Errors carry the whole request context (BMC, method, path, the BMC's message, a body
// excerpt); they are the cold path, so their size is accepted rather than boxed.
#![allow(clippy::result_large_err)]

/// The README's example, compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub mod address;
pub mod client;
pub mod config;
pub mod discovery;
pub mod error;
pub mod ops;
pub(crate) mod request;
pub mod vendor;
mod wait;
pub(crate) mod wire;

pub use address::BmcAddress;
pub use client::{Bmc, RedfishClient, SessionGuard, SessionLog, is_login_mark};
pub use config::{
    AuthMode, ClientConfig, Credentials, RetryPolicy, SessionPolicy, Wait, WaitPolicy,
};
pub use discovery::{Discovery, RootInfo};
pub use error::Error;
pub use ops::*;
pub use quads_http::{Secret, TlsVerification, TransportConfig};
pub use tokio_util::sync::CancellationToken;
pub use vendor::{DellGeneration, Transient, Vendor};
/// The answers callers read as they are: firmware inventory members, their `Status`, and
/// Ethernet interfaces (the rest of the wire shapes stay crate-private).
pub use wire::{EthernetInterface, RegistryAttribute, SoftwareInventory, Status};
