//! testkit's one integration-test binary: the lab's fakes exercised over real loopback HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bmc;
mod expand;
mod foreman;
mod lab;
mod switch;
