//! A fixed concurrency limit whose waiters are served by rank, highest first, and in arrival
//! order within a rank. The executor ranks hosts waiting for their Foreman step by the work they
//! still have after it (a host whose boot-order change is applied during its next POST goes
//! first), so the slowest tails start early instead of landing at the end of the queue.

use std::collections::BinaryHeap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::concurrency::ConcurrencyReport;
use super::stats::WaitStats;

/// At most `limit` holders at once; waiters with a higher rank go first. Cheap to clone; clones
/// share the limit.
#[derive(Clone)]
pub struct RankedLimit {
    inner: Arc<Inner>,
}

struct Inner {
    name: &'static str,
    limit: usize,
    state: Mutex<State>,
    stats: WaitStats,
}

#[derive(Default)]
struct State {
    in_flight: usize,
    peak: usize,
    arrivals: u64,
    waiting: BinaryHeap<Waiter>,
}

/// A queued acquisition: ordered by rank, then by arrival (earlier first).
struct Waiter {
    rank: u32,
    arrival: u64,
    wake: oneshot::Sender<()>,
}

impl PartialEq for Waiter {
    fn eq(&self, other: &Self) -> bool {
        (self.rank, self.arrival) == (other.rank, other.arrival)
    }
}

impl Eq for Waiter {}

impl PartialOrd for Waiter {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Waiter {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.rank
            .cmp(&other.rank)
            .then_with(|| other.arrival.cmp(&self.arrival))
    }
}

impl fmt::Debug for RankedLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RankedLimit")
            .field("name", &self.inner.name)
            .field("limit", &self.inner.limit)
            .finish_non_exhaustive()
    }
}

/// One holder's place; given back (to the best-ranked waiter) when dropped.
pub struct RankedPermit {
    inner: Arc<Inner>,
}

impl fmt::Debug for RankedPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RankedPermit")
            .field("limit", &self.inner.name)
            .finish_non_exhaustive()
    }
}

impl Drop for RankedPermit {
    fn drop(&mut self) {
        self.inner.release();
    }
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands a place to the best waiter still waiting, or frees it.
    fn release(&self) {
        let mut state = self.state();
        while let Some(waiter) = state.waiting.pop() {
            // the place moves to the waiter: `in_flight` stays as it is
            if waiter.wake.send(()).is_ok() {
                return;
            }
        }
        state.in_flight -= 1;
    }
}

/// A waiter's side: if its future is dropped after a place was handed to it, the place is given
/// back.
struct Pending {
    inner: Arc<Inner>,
    woken: oneshot::Receiver<()>,
    done: bool,
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        self.woken.close();
        if self.woken.try_recv().is_ok() {
            self.inner.release();
        }
    }
}

impl RankedLimit {
    /// At most `limit` holders (0 is taken as 1); `name` labels logs.
    #[must_use]
    pub fn new(name: &'static str, limit: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                name,
                limit: limit.max(1),
                state: Mutex::new(State::default()),
                stats: WaitStats::default(),
            }),
        }
    }

    /// Waits for a place: at once if one is free, else after every waiter of a higher rank and
    /// every earlier one of the same rank.
    pub async fn acquire(&self, rank: u32) -> RankedPermit {
        let started = Instant::now();
        let woken = {
            let mut state = self.inner.state();
            if state.in_flight < self.inner.limit {
                state.in_flight += 1;
                state.peak = state.peak.max(state.in_flight);
                drop(state);
                self.inner.stats.record(false, Duration::ZERO);
                return self.permit();
            }
            let (wake, woken) = oneshot::channel();
            state.arrivals += 1;
            let arrival = state.arrivals;
            state.waiting.push(Waiter {
                rank,
                arrival,
                wake,
            });
            woken
        };
        let mut pending = Pending {
            inner: self.inner.clone(),
            woken,
            done: false,
        };
        // the sender lives in the queue until a place is handed over, so this only ends then
        let _ = (&mut pending.woken).await;
        pending.done = true;
        self.inner.stats.record(true, started.elapsed());
        self.permit()
    }

    fn permit(&self) -> RankedPermit {
        RankedPermit {
            inner: self.inner.clone(),
        }
    }

    /// Holders now.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.inner.state().in_flight
    }

    /// Counters so far.
    #[must_use]
    pub fn report(&self) -> ConcurrencyReport {
        let s = self.inner.stats.snapshot();
        let state = self.inner.state();
        ConcurrencyReport {
            limit: self.inner.limit,
            in_flight: state.in_flight,
            peak_in_flight: state.peak,
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

    /// Starts a task that takes a place with `rank`, notes its name, holds the place 1 s.
    fn take(
        limit: &RankedLimit,
        rank: u32,
        name: &'static str,
        order: &Arc<Mutex<Vec<&'static str>>>,
    ) -> tokio::task::JoinHandle<()> {
        let (limit, order) = (limit.clone(), order.clone());
        tokio::spawn(async move {
            let _p = limit.acquire(rank).await;
            order.lock().unwrap().push(name);
            assert!(limit.in_flight() <= 2);
            tokio::time::sleep(Duration::from_secs(1)).await;
        })
    }

    #[tokio::test(start_paused = true)]
    async fn higher_ranks_go_first_and_arrival_order_holds_within_a_rank() {
        let limit = RankedLimit::new("test", 2);
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (rank, name) in [(0, "a"), (0, "b"), (0, "c"), (0, "d"), (1, "E"), (0, "f")] {
            tasks.push(take(&limit, rank, name, &order));
            tokio::task::yield_now().await;
        }
        tasks.push(take(&limit, 1, "G", &order));
        for task in tasks {
            task.await.unwrap();
        }
        // a and b take the free places; E and G (rank 1) overtake c, d and f
        assert_eq!(*order.lock().unwrap(), ["a", "b", "E", "G", "c", "d", "f"]);
        let report = limit.report();
        assert_eq!((report.in_flight, report.peak_in_flight), (0, 2));
        assert_eq!((report.acquired, report.waited), (7, 5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_dropped_while_queued_or_just_woken_loses_no_place() {
        let limit = RankedLimit::new("test", 1);
        let held = limit.acquire(0).await;
        // queued, then cancelled
        let gone = tokio::spawn({
            let limit = limit.clone();
            async move {
                let _p = limit.acquire(5).await;
            }
        });
        tokio::task::yield_now().await;
        gone.abort();
        let _ = gone.await;
        // woken by the release but dropped before it ran: the place comes back
        let woken = {
            let limit = limit.clone();
            tokio::spawn(async move {
                let _p = limit.acquire(0).await;
            })
        };
        tokio::task::yield_now().await;
        drop(held);
        woken.abort();
        let _ = woken.await;
        assert_eq!(limit.in_flight(), 0);
        let _again = tokio::time::timeout(Duration::from_secs(1), limit.acquire(0))
            .await
            .unwrap();
        assert_eq!(limit.in_flight(), 1);
    }
}
