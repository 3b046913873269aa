//! The redfish-client integration tests: contract tests per operation and vendor against
//! mockito BMCs over loopback HTTP.

#![allow(clippy::unwrap_used)]

mod common;
mod core;
mod dell;
mod dmtf;
mod power;
mod sushy;
