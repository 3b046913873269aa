//! A Junos switch client over SSH: reads ports' VLAN configuration and moves a batch of ports
//! into their target VLANs with one commit, verified by reading them back.
//!
//! The CLI grammar and the parsers are pure functions in [`junos`], unit-tested without sockets;
//! [`JunosSwitch::connect`] opens one SSH connection (password login, host key checked unless
//! the operator opts out) and drives the Junos shell by its prompts, as QUADS does.

/// The README's example, compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub mod error;
pub mod junos;
pub mod model;
pub mod session;

pub use error::Error;
pub use model::{ApplyReport, PortChange, PortConfig, PortMode, PortResult, PortTarget};
pub use quads_http::Secret;
pub use session::{HostKeyCheck, JunosSession, JunosSwitch, SwitchConfig, Timeouts};
