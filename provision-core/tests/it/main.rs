//! provision-core's integration tests: one binary.

mod executor_lab;
mod notify;
