//! An AIMD concurrency limit: grows by one after `limit` successes in a row of saturated use,
//! shrinks multiplicatively on an overload signal (503, connection reset, timeout), and stays
//! between a floor and a ceiling. Callers report each request's outcome through its permit.
//!
//! One overload episode shrinks the limit once: requests admitted before the last decrease
//! cannot decrease it again (they were sent under the old limit), so a burst of 503s does not
//! collapse the limit to its floor.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};
use tokio::time::Instant;

use super::stats::WaitStats;
use super::{AdaptiveConfig, LimitError};

/// What one request under an [`AdaptiveLimit`] says about the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The server handled it (any answer that is not an overload signal, 4xx included).
    Success,
    /// The server is overloaded: 503, 502, 504, 429, a reset connection, a timeout.
    Overloaded,
    /// Says nothing about the server's load (the request was never sent, for example).
    Neutral,
}

/// An adaptive concurrency limit. Cheap to clone; clones share the limit.
#[derive(Clone)]
pub struct AdaptiveLimit {
    inner: Arc<Inner>,
}

struct Inner {
    name: &'static str,
    config: AdaptiveConfig,
    semaphore: Arc<Semaphore>,
    state: Mutex<State>,
    stats: WaitStats,
}

#[derive(Debug)]
struct State {
    limit: usize,
    /// Permits to retire as holders give them back (the limit shrank below the holders).
    debt: usize,
    in_flight: usize,
    peak_in_flight: usize,
    /// Successes counted toward the next increase.
    toward_increase: usize,
    /// Bumped on every decrease; a permit from an older epoch cannot decrease the limit.
    epoch: u64,
    min_limit: usize,
    max_limit: usize,
    successes: u64,
    overloads: u64,
    increases: u64,
    decreases: u64,
}

impl fmt::Debug for AdaptiveLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdaptiveLimit")
            .field("name", &self.inner.name)
            .field("config", &self.inner.config)
            .field("limit", &self.limit())
            .finish_non_exhaustive()
    }
}

/// A place under an [`AdaptiveLimit`]. Report the outcome with [`AdaptivePermit::success`] or
/// [`AdaptivePermit::overloaded`]; dropping it unreported counts as [`Outcome::Neutral`].
pub struct AdaptivePermit {
    inner: Arc<Inner>,
    permit: Option<OwnedSemaphorePermit>,
    epoch: u64,
    /// Whether the limit was in real use when this was admitted (only then may it grow).
    saturated: bool,
}

impl fmt::Debug for AdaptivePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdaptivePermit")
            .field("limit", &self.inner.name)
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

/// What an [`AdaptiveLimit`] did so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdaptiveReport {
    /// Configured floor.
    pub floor: usize,
    /// Configured starting limit.
    pub initial: usize,
    /// Configured ceiling.
    pub ceiling: usize,
    /// The limit now.
    pub current_limit: usize,
    /// Lowest limit reached.
    pub min_limit: usize,
    /// Highest limit reached.
    pub max_limit: usize,
    /// Holders now.
    pub in_flight: usize,
    /// Most holders at once.
    pub peak_in_flight: usize,
    /// Permits handed out.
    pub acquired: u64,
    /// Outcomes reported as success.
    pub successes: u64,
    /// Outcomes reported as overload.
    pub overloads: u64,
    /// Times the limit grew.
    pub increases: u64,
    /// Times the limit shrank.
    pub decreases: u64,
    /// Permits that had to wait.
    pub waited: u64,
    /// Time spent waiting, all permits together, in seconds.
    pub total_wait_secs: f64,
}

impl AdaptiveLimit {
    /// A limit starting at `config.initial`; `name` labels logs.
    ///
    /// # Errors
    /// [`LimitError::Invalid`] unless `1 ≤ floor ≤ initial ≤ ceiling` and the factor is in (0, 1).
    pub fn new(name: &'static str, config: &AdaptiveConfig) -> Result<Self, LimitError> {
        config.validate(name)?;
        Ok(Self {
            inner: Arc::new(Inner {
                name,
                config: config.clone(),
                semaphore: Arc::new(Semaphore::new(config.initial)),
                state: Mutex::new(State {
                    limit: config.initial,
                    debt: 0,
                    in_flight: 0,
                    peak_in_flight: 0,
                    toward_increase: 0,
                    epoch: 0,
                    min_limit: config.initial,
                    max_limit: config.initial,
                    successes: 0,
                    overloads: 0,
                    increases: 0,
                    decreases: 0,
                }),
                stats: WaitStats::default(),
            }),
        })
    }

    /// Waits for a place (in arrival order).
    ///
    /// # Errors
    /// [`LimitError::Closed`] once [`AdaptiveLimit::close`] was called.
    pub async fn acquire(&self) -> Result<AdaptivePermit, LimitError> {
        let started = Instant::now();
        let (permit, waited) = match self.inner.semaphore.clone().try_acquire_owned() {
            Ok(permit) => (permit, false),
            Err(TryAcquireError::Closed) => return Err(LimitError::Closed(self.inner.name)),
            Err(TryAcquireError::NoPermits) => {
                let permit = self
                    .inner
                    .semaphore
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| LimitError::Closed(self.inner.name))?;
                (permit, true)
            }
        };
        let wait = if waited {
            started.elapsed()
        } else {
            Duration::ZERO
        };
        self.inner.stats.record(waited, wait);
        let mut state = self.inner.lock();
        state.in_flight += 1;
        state.peak_in_flight = state.peak_in_flight.max(state.in_flight);
        let saturated = state.in_flight * 2 >= state.limit;
        Ok(AdaptivePermit {
            epoch: state.epoch,
            saturated,
            inner: self.inner.clone(),
            permit: Some(permit),
        })
    }

    /// Refuses every waiting and future acquisition; permits already held stay valid.
    pub fn close(&self) {
        self.inner.semaphore.close();
    }

    /// The limit now.
    #[must_use]
    pub fn limit(&self) -> usize {
        self.inner.lock().limit
    }

    /// Holders now.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.inner.lock().in_flight
    }

    /// Counters so far.
    #[must_use]
    pub fn report(&self) -> AdaptiveReport {
        let s = self.inner.stats.snapshot();
        let state = self.inner.lock();
        AdaptiveReport {
            floor: self.inner.config.floor,
            initial: self.inner.config.initial,
            ceiling: self.inner.config.ceiling,
            current_limit: state.limit,
            min_limit: state.min_limit,
            max_limit: state.max_limit,
            in_flight: state.in_flight,
            peak_in_flight: state.peak_in_flight,
            acquired: s.acquired,
            successes: state.successes,
            overloads: state.overloads,
            increases: state.increases,
            decreases: state.decreases,
            waited: s.waited,
            total_wait_secs: s.total_wait.as_secs_f64(),
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn finish(&self, permit: OwnedSemaphorePermit, epoch: u64, saturated: bool, outcome: Outcome) {
        let mut state = self.lock();
        match outcome {
            Outcome::Success => {
                state.successes += 1;
                // Only requests sent under the current limit, while it was in real use, say
                // that it can grow.
                if saturated && epoch == state.epoch {
                    state.toward_increase += 1;
                    if state.toward_increase >= state.limit {
                        state.toward_increase = 0;
                        if state.limit < self.config.ceiling {
                            state.limit += 1;
                            state.max_limit = state.max_limit.max(state.limit);
                            state.increases += 1;
                            if state.debt > 0 {
                                state.debt -= 1;
                            } else {
                                self.semaphore.add_permits(1);
                            }
                            tracing::trace!(limit = self.name, to = state.limit, "limit grows");
                        }
                    }
                }
            }
            Outcome::Overloaded => {
                state.overloads += 1;
                if epoch == state.epoch {
                    state.epoch += 1;
                    state.toward_increase = 0;
                    let shrunk = shrink(state.limit, self.config.decrease_factor);
                    let new = shrunk.max(self.config.floor);
                    if new < state.limit {
                        let remove = state.limit - new;
                        state.limit = new;
                        state.min_limit = state.min_limit.min(new);
                        state.decreases += 1;
                        let retired = self.semaphore.forget_permits(remove);
                        state.debt += remove - retired;
                        tracing::debug!(limit = self.name, to = new, "overloaded: limit shrinks");
                    }
                }
            }
            Outcome::Neutral => {}
        }
        state.in_flight -= 1;
        if state.debt > 0 {
            state.debt -= 1;
            permit.forget();
        } else {
            drop(permit);
        }
    }
}

/// `limit * factor`, rounded down.
fn shrink(limit: usize, factor: f64) -> usize {
    // Limits are small (at most a few thousand), so the conversions are exact.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let shrunk = (limit as f64 * factor).floor() as usize;
    shrunk
}

impl AdaptivePermit {
    /// The server handled the request: may grow the limit.
    pub fn success(mut self) {
        self.report(Outcome::Success);
    }

    /// The server is overloaded: shrinks the limit (once per overload episode).
    pub fn overloaded(mut self) {
        self.report(Outcome::Overloaded);
    }

    /// Reports `outcome` and gives the place back.
    pub fn finish(mut self, outcome: Outcome) {
        self.report(outcome);
    }

    fn report(&mut self, outcome: Outcome) {
        if let Some(permit) = self.permit.take() {
            self.inner
                .finish(permit, self.epoch, self.saturated, outcome);
        }
    }
}

impl Drop for AdaptivePermit {
    fn drop(&mut self) {
        self.report(Outcome::Neutral);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn config(floor: usize, initial: usize, ceiling: usize) -> AdaptiveConfig {
        AdaptiveConfig {
            floor,
            initial,
            ceiling,
            decrease_factor: 0.5,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn grows_by_one_per_limit_successes_up_to_the_ceiling() {
        let limit = AdaptiveLimit::new("w", &config(1, 2, 6)).unwrap();
        let mut seen = vec![limit.limit()];
        for _ in 0..40 {
            let n = limit.limit();
            futures_all(&limit, n)
                .await
                .into_iter()
                .for_each(AdaptivePermit::success);
            seen.push(limit.limit());
        }
        assert!(
            seen.windows(2).all(|w| w[1] == w[0] || w[1] == w[0] + 1),
            "{seen:?}"
        );
        assert_eq!(limit.limit(), 6, "reaches the ceiling: {seen:?}");
        let r = limit.report();
        assert_eq!((r.increases, r.decreases, r.max_limit), (4, 0, 6));
    }

    async fn futures_all(limit: &AdaptiveLimit, n: usize) -> Vec<AdaptivePermit> {
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(limit.acquire().await.unwrap());
        }
        v
    }

    #[tokio::test(start_paused = true)]
    async fn unsaturated_successes_do_not_grow_the_limit() {
        let limit = AdaptiveLimit::new("w", &config(1, 8, 16)).unwrap();
        for _ in 0..100 {
            limit.acquire().await.unwrap().success();
        }
        assert_eq!(limit.limit(), 8);
    }

    #[tokio::test(start_paused = true)]
    async fn one_overload_episode_halves_once_and_the_floor_holds() {
        let limit = AdaptiveLimit::new("w", &config(3, 16, 32)).unwrap();
        let permits = futures_all(&limit, 16).await;
        // All 16 come back overloaded: only the first counts.
        permits.into_iter().for_each(AdaptivePermit::overloaded);
        assert_eq!(limit.limit(), 8);
        // The next episodes halve again, down to the floor.
        for expected in [4, 3, 3] {
            limit.acquire().await.unwrap().overloaded();
            assert_eq!(limit.limit(), expected);
        }
        let r = limit.report();
        assert_eq!((r.decreases, r.overloads, r.min_limit), (2 + 1, 19, 3));
        assert_eq!(r.in_flight, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn shrinking_below_the_holders_retires_permits_as_they_return() {
        let limit = AdaptiveLimit::new("w", &config(1, 8, 8)).unwrap();
        let mut held = futures_all(&limit, 8).await;
        held.pop().unwrap().overloaded(); // limit 4, 7 still held
        assert_eq!(limit.limit(), 4);
        // Four must return before a new one is admitted (7 held > 4).
        for _ in 0..3 {
            held.pop().unwrap().success();
            assert!(
                tokio::time::timeout(Duration::from_millis(1), limit.acquire())
                    .await
                    .is_err()
            );
        }
        held.pop().unwrap().success(); // 3 held now, limit 4
        let p = limit.acquire().await.unwrap();
        assert_eq!(limit.in_flight(), 4);
        drop(p);
        drop(held);
        assert_eq!(limit.in_flight(), 0);
        // Exactly `limit` places again.
        let all = futures_all(&limit, 4).await;
        assert!(
            tokio::time::timeout(Duration::from_millis(1), limit.acquire())
                .await
                .is_err()
        );
        drop(all);
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_unreported_is_neutral() {
        let limit = AdaptiveLimit::new("w", &config(1, 2, 4)).unwrap();
        for _ in 0..10 {
            let a = limit.acquire().await.unwrap();
            let b = limit.acquire().await.unwrap();
            drop((a, b));
        }
        let r = limit.report();
        assert_eq!((r.current_limit, r.successes, r.overloads), (2, 0, 0));
    }

    /// A service that handles `capacity` requests at once (100 ms each) and answers
    /// "overloaded" after 5 ms to any request beyond that.
    #[derive(Debug)]
    struct Service {
        capacity: usize,
        in_flight: AtomicUsize,
        peak: AtomicUsize,
    }

    impl Service {
        async fn call(&self) -> Outcome {
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            let outcome = if now > self.capacity {
                tokio::time::sleep(Duration::from_millis(5)).await;
                Outcome::Overloaded
            } else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                Outcome::Success
            };
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            outcome
        }
    }

    async fn drive(initial: usize, capacity: usize) -> (AdaptiveLimit, Arc<Service>, Vec<usize>) {
        let limit = AdaptiveLimit::new("w", &config(1, initial, 64)).unwrap();
        let service = Arc::new(Service {
            capacity,
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        });
        let samples = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let (limit, service, samples) = (limit.clone(), service.clone(), samples.clone());
            tasks.push(tokio::spawn(async move {
                for _ in 0..40 {
                    let permit = limit.acquire().await.unwrap();
                    let outcome = service.call().await;
                    permit.finish(outcome);
                    samples.lock().unwrap().push(limit.limit());
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let samples = samples.lock().unwrap().clone();
        (limit, service, samples)
    }

    #[tokio::test(start_paused = true)]
    async fn converges_near_the_server_capacity_from_below() {
        let capacity = 10;
        let (limit, service, samples) = drive(2, capacity).await;
        let report = limit.report();
        // In flight never runs away: the server saw at most one request beyond its capacity.
        assert!(
            service.peak.load(Ordering::SeqCst) <= capacity + 1,
            "{report:?}"
        );
        assert!(report.max_limit <= capacity + 1, "{report:?}");
        assert!(report.decreases >= 1, "it found the capacity: {report:?}");
        // After the climb the limit hovers around the capacity (AIMD saw-tooth: C/2 ..= C+1).
        let settled = &samples[samples.len() / 4..];
        assert!(
            settled
                .iter()
                .all(|&l| l >= capacity / 2 && l <= capacity + 1)
        );
        #[allow(clippy::cast_precision_loss)]
        let mean = settled.iter().sum::<usize>() as f64 / settled.len() as f64;
        assert!(
            mean >= 0.6 * capacity as f64,
            "mean limit {mean}: {report:?}"
        );
        // Overloads are a small fraction of the work.
        assert!(report.overloads * 10 < report.successes, "{report:?}");
        assert_eq!(report.successes + report.overloads, 4000);
    }

    #[tokio::test(start_paused = true)]
    async fn converges_near_the_server_capacity_from_above() {
        let capacity = 10;
        let (limit, _service, samples) = drive(48, capacity).await;
        let report = limit.report();
        // 48 -> 24 -> 12 -> 6: three decreases bring it under the capacity, then it hovers.
        assert!(report.min_limit >= 3, "{report:?}");
        let settled = &samples[samples.len() / 4..];
        assert!(settled.iter().all(|&l| l <= capacity + 1), "{report:?}");
        assert!(report.overloads * 5 < report.successes, "{report:?}");
    }
}
