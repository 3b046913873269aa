//! The limits of a run (DESIGN §4): hosts in flight, Foreman read and (adaptive) write
//! concurrency plus a rate, per-BMC concurrency, a power-on rate, hook concurrency and keyed
//! locks; each one configurable ([`LimitsConfig`]) and reported ([`LimitsReport`]). Every wait is
//! on tokio's clock, so a whole run can be simulated under `tokio::time::pause`.
//!
//! - [`RateLimiter`]: governor's GCRA on [`RateClock`].
//! - [`ConcurrencyLimit`]: a fixed limit with RAII permits; [`AdaptiveLimit`]: AIMD;
//!   [`RankedLimit`]: a fixed limit that lets waiters in by rank.
//! - [`KeyedLock`]: one holder per key (`"foreman:user/7"`, `"switch:sw01"`).
//! - [`ForemanLimits`], [`BmcLimits`]: the limits as `quads_http::Transport` wrappers.
//! - [`Limits`]: all of them built from one config, shared by the executor.

mod adaptive;
mod concurrency;
mod config;
pub mod human_duration;
mod keyed;
mod ranked;
mod rate;
mod stats;
mod transport;

use std::sync::Arc;

use quads_http::Transport;
use serde::{Deserialize, Serialize};

pub use adaptive::{AdaptiveLimit, AdaptivePermit, AdaptiveReport, Outcome};
pub use concurrency::{ConcurrencyLimit, ConcurrencyPermit, ConcurrencyReport};
pub use config::{AdaptiveConfig, LimitsConfig, RateConfig};
pub use keyed::{KeyedGuard, KeyedLock, KeyedLockReport};
pub use ranked::{RankedLimit, RankedPermit};
pub use rate::{RateClock, RateLimiter, RateReport};
pub use transport::{BmcLimits, BmcReport, ForemanLimiters, ForemanLimits, classify_outcome};

/// What can go wrong with a limit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// A configured value cannot be honoured.
    #[error("invalid limit `{field}`: {reason}")]
    Invalid {
        /// The configuration field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The limit was closed (shutdown): no new work starts under it.
    #[error("the {0} limit is closed: no new work starts")]
    Closed(&'static str),
}

impl LimitError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

/// Every limit of a run, built from one [`LimitsConfig`]. Cheap to clone; clones share the
/// limits (and so their counters).
#[derive(Debug, Clone)]
pub struct Limits {
    config: Arc<LimitsConfig>,
    hosts: ConcurrencyLimit,
    foreman_reads: ConcurrencyLimit,
    foreman_writes: AdaptiveLimit,
    foreman_rate: RateLimiter,
    power_on: RateLimiter,
    hooks: ConcurrencyLimit,
    foreman_hosts: RankedLimit,
    bmc_hosts: RankedLimit,
    locks: KeyedLock,
    foreman_paths: KeyedLock,
    bmc: Arc<transport::BmcStats>,
}

/// A snapshot of every limit: configured values, peaks, the adaptive limit now, waits. Serialized
/// as JSON by the CLI and the benchmarks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitsReport {
    /// Hosts in flight.
    pub hosts: ConcurrencyReport,
    /// Foreman reads in flight.
    pub foreman_reads: ConcurrencyReport,
    /// Foreman writes in flight (adaptive).
    pub foreman_writes: AdaptiveReport,
    /// Foreman request rate.
    pub foreman_rate: RateReport,
    /// Requests per BMC.
    pub bmc: BmcReport,
    /// Power-on rate.
    pub power_on: RateReport,
    /// Hook commands running.
    pub hooks: ConcurrencyReport,
    /// Hosts in their Foreman step.
    #[serde(default)]
    pub foreman_hosts: ConcurrencyReport,
    /// Hosts in a BMC step (as many as BMC connections may be open).
    #[serde(default)]
    pub bmc_hosts: ConcurrencyReport,
    /// Keyed locks (Foreman objects, hook lock keys).
    pub locks: KeyedLockReport,
    /// Per-path locks of Foreman writes in the transport.
    pub foreman_paths: KeyedLockReport,
}

impl Limits {
    /// Builds every limit; the rate limiters' clocks start now.
    ///
    /// # Errors
    /// [`LimitError::Invalid`] when the configuration does not validate.
    pub fn new(config: &LimitsConfig) -> Result<Self, LimitError> {
        config.validate()?;
        Ok(Self {
            hosts: ConcurrencyLimit::new("hosts in flight", config.hosts_in_flight),
            foreman_reads: ConcurrencyLimit::new("foreman reads", config.foreman_reads),
            foreman_writes: AdaptiveLimit::new("foreman_writes", &config.foreman_writes)?,
            foreman_rate: RateLimiter::new(&config.foreman_rate)?,
            power_on: RateLimiter::new(&config.power_on_rate)?,
            hooks: ConcurrencyLimit::new("hooks", config.hooks),
            foreman_hosts: RankedLimit::new("hosts in the foreman step", config.foreman_hosts),
            bmc_hosts: RankedLimit::new("hosts in a bmc step", config.bmc_connections),
            locks: KeyedLock::new(),
            foreman_paths: KeyedLock::new(),
            bmc: Arc::new(transport::BmcStats::new(config.per_bmc)),
            config: Arc::new(config.clone()),
        })
    }

    /// The configuration these limits enforce.
    #[must_use]
    pub fn config(&self) -> &LimitsConfig {
        &self.config
    }

    /// Waits for a host's place among the hosts in flight; hold the permit for the whole move.
    ///
    /// # Errors
    /// [`LimitError::Closed`] after [`Limits::stop_starting_hosts`].
    pub async fn host_slot(&self) -> Result<ConcurrencyPermit, LimitError> {
        self.hosts.acquire().await
    }

    /// Turns every waiting and future [`Limits::host_slot`] into [`LimitError::Closed`]; hosts
    /// already in flight keep their places.
    pub fn stop_starting_hosts(&self) {
        self.hosts.close();
    }

    /// `inner` wrapped in Foreman's read, write and rate limits and its per-path write locks:
    /// give this to the Foreman client. Every transport made here shares the same limits.
    #[must_use]
    pub fn foreman_transport(&self, inner: Arc<dyn Transport>) -> Arc<dyn Transport> {
        Arc::new(ForemanLimits::new(
            inner,
            ForemanLimiters {
                reads: self.foreman_reads.clone(),
                writes: self.foreman_writes.clone(),
                rate: self.foreman_rate.clone(),
                locks: self.foreman_paths.clone(),
            },
        ))
    }

    /// `inner` wrapped in the per-BMC limit: give this to the Redfish client. Every transport
    /// made here counts into the same report. The Redfish client caps each BMC itself too: give it
    /// the same limit (or a larger one), or the waits counted here stay near zero.
    #[must_use]
    pub fn bmc_transport(&self, inner: Arc<dyn Transport>) -> Arc<dyn Transport> {
        Arc::new(BmcLimits::with_stats(inner, self.bmc.clone()))
    }

    /// Holds the lock of one Foreman object (`kind` such as `"user"`, `"role"`, `"host"`) so that
    /// writes to it never overlap.
    pub async fn lock_foreman_object(&self, kind: &str, id: impl std::fmt::Display) -> KeyedGuard {
        self.locks.lock(format!("foreman:{kind}/{id}")).await
    }

    /// The keyed locks (Foreman objects, hook lock keys, anything else named).
    #[must_use]
    pub fn locks(&self) -> &KeyedLock {
        &self.locks
    }

    /// Waits for a host's place among the hosts in their Foreman step; hold it for the step.
    /// Waiting hosts are let in by `rank` (the work they still have after the step), highest
    /// first, then in arrival order.
    pub async fn foreman_host_slot(&self, rank: u32) -> RankedPermit {
        self.foreman_hosts.acquire(rank).await
    }

    /// Waits for a host's place among the hosts in a BMC step (as many as
    /// `bmc_connections`); hold it for the step. A host beyond them waits here, before its
    /// step's requests exist, rather than for a connection inside the pool with a built request
    /// chain. Waiting hosts are let in by `rank` (how far their move is), highest first.
    pub async fn bmc_host_slot(&self, rank: u32) -> RankedPermit {
        self.bmc_hosts.acquire(rank).await
    }

    /// Waits for the power-on rate: call right before powering a host on.
    pub async fn power_on(&self) {
        self.power_on.acquire().await;
    }

    /// The hook commands running at once.
    #[must_use]
    pub fn hooks(&self) -> &ConcurrencyLimit {
        &self.hooks
    }

    /// Foreman's adaptive write limit (its current value is in the report too).
    #[must_use]
    pub fn foreman_writes(&self) -> &AdaptiveLimit {
        &self.foreman_writes
    }

    /// A snapshot of every limit.
    #[must_use]
    pub fn report(&self) -> LimitsReport {
        LimitsReport {
            hosts: self.hosts.report(),
            foreman_reads: self.foreman_reads.report(),
            foreman_writes: self.foreman_writes.report(),
            foreman_rate: self.foreman_rate.report(),
            bmc: self.bmc.report(),
            power_on: self.power_on.report(),
            hooks: self.hooks.report(),
            foreman_hosts: self.foreman_hosts.report(),
            bmc_hosts: self.bmc_hosts.report(),
            locks: self.locks.report(),
            foreman_paths: self.foreman_paths.report(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use bytes::Bytes;
    use quads_http::TransportError;
    use tokio::time::Instant;

    use super::*;

    #[derive(Debug)]
    struct Ok200;

    #[async_trait::async_trait]
    impl Transport for Ok200 {
        async fn send(
            &self,
            _request: http::Request<Bytes>,
        ) -> Result<http::Response<Bytes>, TransportError> {
            tokio::time::sleep(Duration::from_millis(10)).await;
            Ok(http::Response::new(Bytes::new()))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn one_config_builds_every_limit_and_one_report_shows_them() {
        let config = LimitsConfig {
            hosts_in_flight: 2,
            power_on_rate: RateConfig {
                per_second: 1.0,
                burst: 1,
            },
            ..LimitsConfig::default()
        };
        let limits = Limits::new(&config).unwrap();
        let foreman = limits.foreman_transport(Arc::new(Ok200));
        let bmc_a = limits.bmc_transport(Arc::new(Ok200));
        let bmc_b = limits.bmc_transport(Arc::new(Ok200));
        let get = |uri: &str| http::Request::get(uri).body(Bytes::new()).unwrap();
        foreman
            .send(get("https://foreman/api/hosts"))
            .await
            .unwrap();
        foreman
            .send(
                http::Request::put("https://foreman/api/hosts/1")
                    .body(Bytes::new())
                    .unwrap(),
            )
            .await
            .unwrap();
        bmc_a
            .send(get("https://127.0.1.1/redfish/v1"))
            .await
            .unwrap();
        bmc_b
            .send(get("https://127.0.1.2/redfish/v1"))
            .await
            .unwrap();

        let t0 = Instant::now();
        for _ in 0..3 {
            limits.power_on().await;
        }
        assert_eq!(t0.elapsed(), Duration::from_secs(2));

        let a = limits.host_slot().await.unwrap();
        let _b = limits.host_slot().await.unwrap();
        limits.stop_starting_hosts();
        assert!(matches!(
            limits.host_slot().await,
            Err(LimitError::Closed(_))
        ));
        drop(a);
        {
            let _g = limits.lock_foreman_object("user", 7).await;
            assert_eq!(limits.locks().len(), 1);
        }

        let report = limits.report();
        assert_eq!(report.hosts.limit, 2);
        assert_eq!(report.hosts.in_flight, 1);
        assert_eq!(report.hosts.peak_in_flight, 2);
        assert_eq!(report.foreman_reads.acquired, 1);
        assert_eq!(report.foreman_writes.acquired, 1);
        assert_eq!(report.foreman_writes.successes, 1);
        assert_eq!(
            report.foreman_writes.current_limit,
            config.foreman_writes.initial
        );
        assert_eq!(report.foreman_rate.acquired, 2);
        assert_eq!(
            (report.bmc.per_bmc, report.bmc.bmcs, report.bmc.requests),
            (2, 2, 2)
        );
        assert_eq!((report.power_on.acquired, report.power_on.waited), (3, 2));
        assert_eq!((report.locks.acquired, report.locks.keys), (1, 0));
        assert_eq!(report.foreman_paths.acquired, 1);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["foreman_writes"]["ceiling"], 32);
        let back: LimitsReport = serde_json::from_value(json).unwrap();
        assert_eq!(back, report);
    }

    #[test]
    fn an_invalid_config_is_refused() {
        let config = LimitsConfig {
            hooks: 0,
            ..LimitsConfig::default()
        };
        assert!(matches!(
            Limits::new(&config),
            Err(LimitError::Invalid { field: "hooks", .. })
        ));
    }
}
