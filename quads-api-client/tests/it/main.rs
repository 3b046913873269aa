//! The crate's one integration-test binary: contract tests against mockito (every endpoint's
//! method, path, query, headers and body; answers parsed; every QUADS error shape and quirk)
//! and scenarios against testkit's lab QUADS server.

#![allow(clippy::unwrap_used)]

mod contract_auth;
mod contract_errors;
mod contract_reads;
mod contract_writes;
mod lab;
mod support;
