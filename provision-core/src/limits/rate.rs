//! A rate limiter on tokio's clock: governor's GCRA evaluated on [`RateClock`], waiting with
//! `tokio::time::sleep_until`, so that simulations run in virtual time under
//! `tokio::time::pause` (governor's own `until_ready` sleeps on the real clock).

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::Quota;
use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::stats::WaitStats;
use super::{LimitError, RateConfig};

/// governor's [`Clock`] over tokio's clock: nanoseconds since the clock was made.
///
/// Under a paused runtime this is virtual time, so a limiter built on it is exact and instant in
/// tests and simulations.
#[derive(Debug, Clone, Copy)]
pub struct RateClock {
    origin: Instant,
}

impl RateClock {
    /// A clock whose zero is now.
    #[must_use]
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }

    /// The tokio instant of one of this clock's readings.
    #[must_use]
    pub fn instant(&self, reading: Nanos) -> Instant {
        self.origin + Duration::from(reading)
    }
}

impl Default for RateClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for RateClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        let since = Instant::now().saturating_duration_since(self.origin);
        Nanos::from(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
    }
}

type Gcra = governor::RateLimiter<NotKeyed, InMemoryState, RateClock, NoOpMiddleware<Nanos>>;

/// Lets at most `burst` starts through back to back and `per_second` on average after that.
///
/// Waiters are served in arrival order. Cheap to clone; clones share the limit.
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    config: RateConfig,
    gcra: Option<Gcra>,
    clock: RateClock,
    /// Held by the one waiter whose turn it is; tokio's mutex queues the others in FIFO order.
    turn: tokio::sync::Mutex<()>,
    stats: WaitStats,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// What a [`RateLimiter`] did so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateReport {
    /// The configured sustained rate (0 = unlimited).
    pub per_second: f64,
    /// The configured burst.
    pub burst: u32,
    /// Starts let through.
    pub acquired: u64,
    /// Starts that had to wait.
    pub waited: u64,
    /// Time spent waiting, all starts together, in seconds.
    pub total_wait_secs: f64,
}

impl RateLimiter {
    /// A limiter for `config` whose clock starts now.
    ///
    /// # Errors
    /// [`LimitError::Invalid`] when the rate is negative, not finite or the burst is 0.
    pub fn new(config: &RateConfig) -> Result<Self, LimitError> {
        config.validate("rate")?;
        let clock = RateClock::new();
        let gcra = if config.is_unlimited() {
            None
        } else {
            let period = Duration::try_from_secs_f64(1.0 / config.per_second)
                .map_err(|e| LimitError::invalid("rate", e.to_string()))?;
            let quota = Quota::with_period(period)
                .ok_or_else(|| LimitError::invalid("rate", "per_second is too large"))?
                .allow_burst(NonZeroU32::new(config.burst).unwrap_or(NonZeroU32::MIN));
            Some(governor::RateLimiter::direct_with_clock(quota, clock))
        };
        Ok(Self {
            inner: Arc::new(Inner {
                config: *config,
                gcra,
                clock,
                turn: tokio::sync::Mutex::new(()),
                stats: WaitStats::default(),
            }),
        })
    }

    /// A limiter that never waits.
    #[must_use]
    pub fn unlimited() -> Self {
        Self {
            inner: Arc::new(Inner {
                config: RateConfig::unlimited(),
                gcra: None,
                clock: RateClock::new(),
                turn: tokio::sync::Mutex::new(()),
                stats: WaitStats::default(),
            }),
        }
    }

    /// The configuration this limiter enforces.
    #[must_use]
    pub fn config(&self) -> RateConfig {
        self.inner.config
    }

    /// Waits until one more start conforms to the rate, then counts it.
    ///
    /// Cancel-safe: dropping the future before it resolves spends nothing and gives the turn to
    /// the next waiter.
    pub async fn acquire(&self) {
        let Some(gcra) = &self.inner.gcra else {
            self.inner.stats.record(false, Duration::ZERO);
            return;
        };
        let started = Instant::now();
        let (_turn, mut waited) = match self.inner.turn.try_lock() {
            Ok(turn) => (turn, false),
            Err(_) => (self.inner.turn.lock().await, true),
        };
        loop {
            match gcra.check() {
                Ok(()) => break,
                Err(not_until) => {
                    waited = true;
                    let at = self.inner.clock.instant(not_until.earliest_possible());
                    tokio::time::sleep_until(at).await;
                }
            }
        }
        self.inner.stats.record(waited, started.elapsed());
    }

    /// Counts one start if it conforms now and nobody is waiting; never waits.
    #[must_use]
    pub fn try_acquire(&self) -> bool {
        let Some(gcra) = &self.inner.gcra else {
            self.inner.stats.record(false, Duration::ZERO);
            return true;
        };
        let Ok(_turn) = self.inner.turn.try_lock() else {
            return false;
        };
        let ok = gcra.check().is_ok();
        if ok {
            self.inner.stats.record(false, Duration::ZERO);
        }
        ok
    }

    /// Counters so far.
    #[must_use]
    pub fn report(&self) -> RateReport {
        let s = self.inner.stats.snapshot();
        RateReport {
            per_second: self.inner.config.per_second,
            burst: self.inner.config.burst,
            acquired: s.acquired,
            waited: s.waited,
            total_wait_secs: s.total_wait.as_secs_f64(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn rate(per_second: f64, burst: u32) -> RateLimiter {
        RateLimiter::new(&RateConfig { per_second, burst }).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn n_acquisitions_take_exactly_the_expected_virtual_time() {
        // 10 per second, burst 1: the first goes at once, then one every 100 ms.
        let limiter = rate(10.0, 1);
        let t0 = Instant::now();
        for _ in 0..21 {
            limiter.acquire().await;
        }
        assert_eq!(t0.elapsed(), Duration::from_secs(2));

        // Burst 5 at 4 per second: 5 at once, then one every 250 ms; 25 take 20 * 250 ms.
        let limiter = rate(4.0, 5);
        let t0 = Instant::now();
        for i in 0..25 {
            limiter.acquire().await;
            if i < 5 {
                assert_eq!(
                    t0.elapsed(),
                    Duration::ZERO,
                    "start {i} is within the burst"
                );
            }
        }
        assert_eq!(t0.elapsed(), Duration::from_secs(5));
        let report = limiter.report();
        assert_eq!(report.acquired, 25);
        assert_eq!(report.waited, 20);
        // waits of 250 ms each: 20 * 250 ms
        assert!((report.total_wait_secs - 5.0).abs() < 1e-9, "{report:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_waiters_share_the_rate_in_arrival_order() {
        let limiter = rate(2.0, 1);
        let t0 = Instant::now();
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..9u64 {
            let limiter = limiter.clone();
            let order = order.clone();
            tasks.push(tokio::spawn(async move {
                limiter.acquire().await;
                order.lock().unwrap().push((i, t0.elapsed()));
            }));
            tokio::task::yield_now().await;
        }
        for task in tasks {
            task.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        let expected: Vec<(u64, Duration)> = (0..9)
            .map(|i| (i, Duration::from_millis(500 * i)))
            .collect();
        assert_eq!(order, expected);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_limiter_refills_its_burst_but_no_more() {
        let limiter = rate(10.0, 3);
        for _ in 0..3 {
            assert!(limiter.try_acquire());
        }
        assert!(!limiter.try_acquire());
        tokio::time::sleep(Duration::from_secs(60)).await;
        let t0 = Instant::now();
        for _ in 0..4 {
            limiter.acquire().await;
        }
        assert_eq!(t0.elapsed(), Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_waiter_gives_its_turn_away() {
        let limiter = rate(1.0, 1);
        limiter.acquire().await;
        let t0 = Instant::now();
        let cancelled = tokio::time::timeout(Duration::from_millis(300), limiter.acquire()).await;
        assert!(cancelled.is_err());
        limiter.acquire().await;
        assert_eq!(t0.elapsed(), Duration::from_secs(1));
        assert_eq!(limiter.report().acquired, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_never_waits() {
        let limiter = RateLimiter::new(&RateConfig::unlimited()).unwrap();
        let t0 = Instant::now();
        for _ in 0..1000 {
            limiter.acquire().await;
        }
        assert_eq!(t0.elapsed(), Duration::ZERO);
        assert_eq!(limiter.report().acquired, 1000);
        assert!(
            RateLimiter::new(&RateConfig {
                per_second: -1.0,
                burst: 1
            })
            .is_err()
        );
    }
}
