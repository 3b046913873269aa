//! testkit's one integration-test binary: the lab's fakes exercised over real loopback HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bmc;
mod expand;
mod foreman;
mod lab;
mod network;
mod quads;
mod scp;
mod sshd;
mod switch;

use std::time::Duration;

/// Polls `check` until it holds or `within` passes (on tokio's clock).
async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
