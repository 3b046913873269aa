//! The one integration-test binary of quads-cli: runs the built `quads` against temporary homes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod cli;
mod foreman;
mod move_exec;
mod oob;
mod oob_actions;
mod oob_badfish_out;
mod oob_emulator;
mod oob_flags;
mod oob_lab;
mod oob_output;
mod oob_power_cycle;
mod support;
mod worker;
