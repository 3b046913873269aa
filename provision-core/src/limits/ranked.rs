//! A fixed concurrency limit whose waiters are served by rank, highest first, and in arrival
//! order within a rank. The executor ranks hosts waiting for their Foreman step by the work they
//! still have after it (a host whose boot-order change is applied during its next POST goes
//! first), so the slowest tails start early instead of landing at the end of the queue.
//!
//! The lowest rank (0) holds at most [`lowest_rank_share`] of the places. Ranked hosts reach the
//! step later than the others (their boot-order step is longer): without a share, the first
//! hosts of rank 0 fill every place and each ranked host queues behind all of them (64 hosts,
//! about 7 s of Foreman's PUTs in the lab model), although it would overtake every waiter.

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
    /// Places rank 0 may hold.
    lowest: usize,
    state: Mutex<State>,
    stats: WaitStats,
}

#[derive(Default)]
struct State {
    in_flight: usize,
    /// Of those, holders of rank 0.
    lowest_in_flight: usize,
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

/// The places of `limit` that the lowest rank may hold: a quarter, but never fewer than 8 (all
/// of them for a limit below 8), so that small limits keep their meaning.
#[must_use]
fn lowest_rank_share(limit: usize) -> usize {
    let limit = limit.max(1);
    (limit / 4).max(limit.min(8))
}

/// One holder's place; given back (to the best-ranked waiter) when dropped.
pub struct RankedPermit {
    inner: Arc<Inner>,
    rank: u32,
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
        self.inner.release(self.rank);
    }
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a holder of `rank` may take a place now.
    fn admits(&self, state: &State, rank: u32) -> bool {
        state.in_flight < self.limit && (rank > 0 || state.lowest_in_flight < self.lowest)
    }

    /// Counts a new holder of `rank`.
    fn hold(&self, state: &mut State, rank: u32) {
        state.in_flight += 1;
        state.peak = state.peak.max(state.in_flight);
        if rank == 0 {
            state.lowest_in_flight += 1;
        }
    }

    /// Frees a place of `rank` and hands the places free to the best waiters they admit.
    fn release(&self, rank: u32) {
        let mut state = self.state();
        state.in_flight -= 1;
        if rank == 0 {
            state.lowest_in_flight -= 1;
        }
        // the waiters come best first: once the best is not admitted, none is
        while let Some(best) = state.waiting.peek() {
            if !self.admits(&state, best.rank) {
                break;
            }
            let Some(waiter) = state.waiting.pop() else {
                break;
            };
            // a waiter whose future was dropped is skipped
            if waiter.wake.send(()).is_ok() {
                self.hold(&mut state, waiter.rank);
            }
        }
    }
}

/// A waiter's side: if its future is dropped after a place was handed to it, the place is given
/// back.
struct Pending {
    inner: Arc<Inner>,
    rank: u32,
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
            self.inner.release(self.rank);
        }
    }
}

impl RankedLimit {
    /// At most `limit` holders (0 is taken as 1), [`lowest_rank_share`] of them of rank 0;
    /// `name` labels logs.
    #[must_use]
    pub fn new(name: &'static str, limit: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                name,
                limit: limit.max(1),
                lowest: lowest_rank_share(limit),
                state: Mutex::new(State::default()),
                stats: WaitStats::default(),
            }),
        }
    }

    /// Waits for a place: at once if one is free (for rank 0: one of its share), else after
    /// every waiter of a higher rank and every earlier one of the same rank.
    pub async fn acquire(&self, rank: u32) -> RankedPermit {
        let started = Instant::now();
        let woken = {
            let mut state = self.inner.state();
            // nobody of this rank or above waits when its place is free: the releases hand
            // places over to every waiter they admit
            if self.inner.admits(&state, rank) {
                self.inner.hold(&mut state, rank);
                drop(state);
                self.inner.stats.record(false, Duration::ZERO);
                return self.permit(rank);
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
            rank,
            woken,
            done: false,
        };
        // the sender lives in the queue until a place is handed over, so this only ends then
        let _ = (&mut pending.woken).await;
        pending.done = true;
        self.inner.stats.record(true, started.elapsed());
        self.permit(rank)
    }

    fn permit(&self, rank: u32) -> RankedPermit {
        RankedPermit {
            inner: self.inner.clone(),
            rank,
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
    async fn rank_zero_holds_a_quarter_of_the_places_and_a_later_higher_rank_walks_in() {
        assert_eq!(
            [1, 2, 8, 16, 32, 64, 100].map(lowest_rank_share),
            [1, 2, 8, 8, 8, 16, 25]
        );
        let limit = RankedLimit::new("test", 64);
        let mut held = Vec::new();
        for _ in 0..16 {
            held.push(limit.acquire(0).await);
        }
        let waiting = tokio::spawn({
            let limit = limit.clone();
            async move { limit.acquire(0).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "rank 0's share is full");
        // the ranked host finds a place at once, not behind the hosts of rank 0
        let ranked = limit.acquire(1).await;
        assert_eq!(limit.in_flight(), 17);
        // a place of rank 0 given back goes to the rank-0 waiter
        held.pop();
        let _woken = waiting.await.unwrap();
        assert_eq!(limit.in_flight(), 17);
        drop(ranked);
        drop(held);
        assert_eq!(limit.in_flight(), 1);
        assert_eq!(limit.report().peak_in_flight, 17);
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
