//! The crate's one integration-test binary: contract tests against mockito (every endpoint's
//! method, path, query, headers and body; response parsing; every error shape; pagination),
//! fixture parsing of Foreman 1.22 to 3.x answers, and scenarios against testkit's lab.

#![allow(clippy::unwrap_used)]

mod contract_catalog;
mod contract_errors;
mod contract_hosts;
mod contract_parameters;
mod contract_rbac;
mod contract_session;
mod fixtures;
mod lab;
mod support;
