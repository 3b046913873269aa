//! switch-client's integration tests: against testkit's fake Junos switches over loopback SSH.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod lab;
