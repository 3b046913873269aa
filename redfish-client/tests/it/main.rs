//! The redfish-client integration tests: contract tests per operation and vendor against
//! mockito BMCs over loopback HTTP, and scenario tests against testkit's BMC fleet over HTTPS.

#![allow(clippy::unwrap_used)]

mod common;
mod core;
mod dell;
mod dell_oem;
mod dell_os_deploy;
mod dell_scp;
mod dmtf;
mod lab;
mod maintenance;
mod mock_bmc;
mod network;
mod power;
mod sushy;
mod vendors;
