//! The switch-ports step's batches. Per switch, the ports of every host that reaches the step
//! while the switch is busy, or within a short window of the first, go to the switch together:
//! one session and one commit per switch per batch (QUADS opens a session and commits once per
//! interface). One batch at a time per switch, under the keyed lock `switch:<switch>` that
//! hooks with `lock_key = "switch:{switch}"` share, so nothing else configures the switch
//! meanwhile.
//!
//! A batch whose content the switch refused (a failed commit, a refused line) is split in two
//! and each half applied again, down to one host: the hosts that were fine move, the one whose
//! ports the switch refuses gets the error, with its ports left as they were (a failed commit
//! applies nothing). Any other failure (connection, timeout, refused login) goes to every host
//! of the batch; each retries under its own step policy when the failure is retryable,
//! re-checking first. A switch that refuses [`MAX_REFUSED_LOGINS`] logins in a row is not
//! tried again in the run, so a wrong password cannot lock its account.
//!
//! The QUADS 2019 preset ([`SwitchMoves::PerPort`]) moves one host at a time in the whole run
//! and commits each port on its own.
//!
//! A driver may keep a switch's session between its batches ([`SwitchPort::idle_linger`]):
//! the switch's worker then keeps its place among the [`MAX_SESSIONS`] with it, waits that
//! long for the next host, and has the driver close it ([`SwitchPort::release`]) before it
//! gives the place up: when no host came, or as soon as another switch waits for a place (so
//! under that pressure every batch has its own session, as when nothing is kept). So the
//! sessions open at once, idle ones included, stay within [`MAX_SESSIONS`].

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, SemaphorePermit, oneshot};
use tokio_util::sync::CancellationToken;

use super::config::SwitchMoves;
use super::ports::{BatchApplied, BatchError, PortApplied, PortError, PortOrder, SwitchPort};
use crate::limits::Limits;

/// Ports in one batch at most (a switch has about 48; a batch of whole hosts may pass it).
const MAX_PORTS: usize = 192;

/// Switch sessions open at once across the run, kept ones included. An SSH session costs about 20 KB (russh's
/// session task and channels); a fleet of 5,000 hosts reaches over a thousand switches at
/// once in its opening burst. A switch waiting for a session keeps gathering hosts, so its
/// batch is only larger when its turn comes. Not lower: a session's handshake and commit take
/// seconds, and with 64 a loaded machine's switch-ports step grew several rounds long.
const MAX_SESSIONS: usize = 256;

/// Logins a switch may refuse in a row before the run stops trying it (a wrong password must
/// not lock the account; an occasional refusal is retried).
const MAX_REFUSED_LOGINS: u32 = 3;

/// What one host's ports on one switch came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostApplied {
    /// The host's ports, as the batch left them.
    pub(crate) ports: Vec<PortApplied>,
    /// Whether the batch it went in committed.
    pub(crate) committed: bool,
}

struct Request {
    orders: Vec<PortOrder>,
    reply: oneshot::Sender<Result<HostApplied, PortError>>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Request>,
    busy: bool,
    /// Told of each host arriving (the worker may be waiting with the switch's session).
    arrived: Arc<Notify>,
}

struct Inner {
    driver: Arc<dyn SwitchPort>,
    limits: Limits,
    gather: Duration,
    moves: SwitchMoves,
    queues: Mutex<HashMap<String, Queue>>,
    /// Logins refused in a row, per switch.
    refused: Mutex<HashMap<String, u32>>,
    /// [`SwitchMoves::PerPort`]: one host in the step at a time.
    one_host: Semaphore,
    /// Sessions open at once ([`MAX_SESSIONS`]).
    sessions: Semaphore,
    /// Workers waiting for a place in `sessions`: a worker keeping a session gives its up.
    wanted: AtomicUsize,
    /// Told when a worker starts waiting for a place.
    place_wanted: Notify,
    /// Cancelled at the run's end: no worker waits with a session any more.
    closing: CancellationToken,
}

impl Queue {
    /// Drops the hosts that gave up (cancelled, or their attempt timed out: they are not
    /// applied); whether any host still waits.
    fn has_waiting(&mut self) -> bool {
        self.waiting.retain(|r| !r.reply.is_closed());
        !self.waiting.is_empty()
    }
}

/// The switches of a run, batched.
#[derive(Clone)]
pub(crate) struct SwitchBatches {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SwitchBatches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SwitchBatches")
            .field("driver", &self.inner.driver)
            .field("moves", &self.inner.moves)
            .finish_non_exhaustive()
    }
}

fn switch_lock(switch: &str) -> String {
    format!("switch:{switch}")
}

impl SwitchBatches {
    /// Batches over `driver`; the first batch of a switch waits `gather` for the hosts
    /// arriving with the first one.
    pub(crate) fn new(
        driver: Arc<dyn SwitchPort>,
        limits: Limits,
        gather: Duration,
        moves: SwitchMoves,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                driver,
                limits,
                gather,
                moves,
                queues: Mutex::new(HashMap::new()),
                refused: Mutex::new(HashMap::new()),
                one_host: Semaphore::new(1),
                sessions: Semaphore::new(MAX_SESSIONS),
                wanted: AtomicUsize::new(0),
                place_wanted: Notify::new(),
                closing: CancellationToken::new(),
            }),
        }
    }

    /// Brings one host's ports on `switch` to their targets, in the switch's next batch.
    pub(crate) async fn apply(
        &self,
        switch: &str,
        orders: Vec<PortOrder>,
    ) -> Result<HostApplied, PortError> {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut queues = self
                .inner
                .queues
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let queue = queues.entry(switch.to_owned()).or_default();
            queue.waiting.push(Request { orders, reply });
            queue.arrived.notify_one();
            !std::mem::replace(&mut queue.busy, true)
        };
        if start {
            tokio::spawn(self.inner.clone().work(switch.to_owned()));
        }
        answer.await.map_err(|_| {
            PortError::retryable(format!(
                "switch {switch}: the batch ended without an answer"
            ))
        })?
    }

    /// The run's end (stopped or not): workers stop waiting with a session and the driver
    /// closes every session it kept.
    pub(crate) async fn close(&self) {
        self.inner.closing.cancel();
        let closed = self.inner.driver.close_sessions().await;
        if closed > 0 {
            tracing::info!(
                sessions = closed,
                "logged out of the remaining switch sessions"
            );
        }
    }

    /// [`SwitchMoves::PerPort`]: waits for the one place of the step (the caller holds it
    /// through its attempts); `None` when ports are batched.
    pub(crate) async fn one_host(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        match self.inner.moves {
            SwitchMoves::Batched => None,
            SwitchMoves::PerPort => self.inner.one_host.acquire().await.ok(),
        }
    }
}

/// Counts a worker among those waiting for a session place while it lives.
struct Wanting<'a>(&'a AtomicUsize);

impl Drop for Wanting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Inner {
    /// The switch's worker: batches until nobody waits. Its place among the sessions open at
    /// once is kept from one batch to the next while the driver keeps the switch's session.
    async fn work(self: Arc<Self>, switch: String) {
        let linger = self.driver.idle_linger();
        if self.moves == SwitchMoves::Batched {
            tokio::time::sleep(self.gather).await;
        }
        let mut place: Option<SemaphorePermit<'_>> = None;
        // the driver keeps the switch's session (its last batch ended well), in `place`
        let mut kept = false;
        loop {
            // the batch is taken once a session may open: the hosts arriving meanwhile join it
            if place.is_none() {
                let Some(taken) = self.take_place().await else {
                    break;
                };
                place = Some(taken);
            }
            let Some(batch) = self.next_batch(&switch) else {
                if kept && !linger.is_zero() && self.linger(&switch, linger).await {
                    // a host came: the hosts arriving with it join its batch
                    if self.moves == SwitchMoves::Batched {
                        tokio::time::sleep(self.gather).await;
                    }
                    continue;
                }
                // the session closed before its place is given up
                if kept {
                    self.driver.release(&switch).await;
                    kept = false;
                }
                drop(place.take());
                if self.finish(&switch) {
                    break;
                }
                continue;
            };
            let ended_well = {
                let _switch = self.limits.locks().lock(switch_lock(&switch)).await;
                match self.moves {
                    SwitchMoves::Batched => self.apply_halving(&switch, batch).await,
                    SwitchMoves::PerPort => {
                        let mut last = false;
                        for request in batch {
                            last = self.apply_per_port(&switch, request).await;
                        }
                        last
                    }
                }
            };
            // a session is kept only after a batch that ended well; another switch waiting
            // for a place gets this one
            kept = ended_well && !linger.is_zero();
            if !kept || self.wanted.load(Ordering::SeqCst) > 0 {
                self.driver.release(&switch).await;
                kept = false;
                drop(place.take());
            }
        }
    }

    /// A place among the sessions open at once; `None` once the semaphore is closed.
    async fn take_place(&self) -> Option<SemaphorePermit<'_>> {
        if let Ok(place) = self.sessions.try_acquire() {
            return Some(place);
        }
        self.wanted.fetch_add(1, Ordering::SeqCst);
        let _wanting = Wanting(&self.wanted);
        self.place_wanted.notify_waiters();
        self.sessions.acquire().await.ok()
    }

    /// Waits with the switch's session kept: `true` when a host arrived, `false` when
    /// `linger` passed, another switch wants a place or the run ends.
    async fn linger(&self, switch: &str, linger: Duration) -> bool {
        let arrived = {
            let queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
            match queues.get(switch) {
                Some(queue) => queue.arrived.clone(),
                None => return false,
            }
        };
        let deadline = tokio::time::Instant::now() + linger;
        loop {
            let host = arrived.notified();
            let wanted = self.place_wanted.notified();
            tokio::pin!(host, wanted);
            host.as_mut().enable();
            wanted.as_mut().enable();
            if self.has_waiting(switch) {
                return true;
            }
            if self.wanted.load(Ordering::SeqCst) > 0 || self.closing.is_cancelled() {
                return false;
            }
            tokio::select! {
                () = &mut host => {}
                () = &mut wanted => {}
                () = self.closing.cancelled() => return false,
                () = tokio::time::sleep_until(deadline) => return self.has_waiting(switch),
            }
        }
    }

    /// Whether a host (that has not given up) waits for the switch.
    fn has_waiting(&self, switch: &str) -> bool {
        let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        queues.get_mut(switch).is_some_and(Queue::has_waiting)
    }

    /// Makes the switch idle (its next host starts a worker) unless a host waits: `true` when
    /// the worker ends.
    fn finish(&self, switch: &str) -> bool {
        let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(queue) = queues.get_mut(switch) else {
            return true;
        };
        if queue.has_waiting() {
            return false;
        }
        queues.remove(switch);
        true
    }

    /// The requests of the next batch (whole hosts, no port twice, at most [`MAX_PORTS`] ports
    /// unless one host has more); `None` when nobody waits.
    fn next_batch(&self, switch: &str) -> Option<Vec<Request>> {
        let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        let queue = queues.get_mut(switch)?;
        if !queue.has_waiting() {
            return None;
        }
        let mut taken = Vec::new();
        let mut ports = BTreeSet::new();
        let mut rest = Vec::new();
        for request in std::mem::take(&mut queue.waiting) {
            let fits = taken.is_empty() || ports.len() + request.orders.len() <= MAX_PORTS;
            let clash = request.orders.iter().any(|o| ports.contains(&o.port));
            if fits && !clash {
                ports.extend(request.orders.iter().map(|o| o.port.clone()));
                taken.push(request);
            } else {
                rest.push(request);
            }
        }
        queue.waiting = rest;
        Some(taken)
    }

    /// The driver's `apply`, unless the switch refused too many logins in a row (then a final
    /// error, nothing sent); counts refused logins.
    async fn call(&self, switch: &str, orders: &[PortOrder]) -> Result<BatchApplied, BatchError> {
        let refused = |n: u32| {
            PortError::fatal(format!(
                "switch {switch} refused {n} logins in a row: not tried again in this run \
                 (check the [network] username and password)"
            ))
        };
        let count = |f: &mut dyn FnMut(&mut u32)| {
            let mut map = self.refused.lock().unwrap_or_else(PoisonError::into_inner);
            let n = map.entry(switch.to_owned()).or_default();
            f(n);
            *n
        };
        let before = count(&mut |_| {});
        if before >= MAX_REFUSED_LOGINS {
            return Err(refused(before).into());
        }
        let result = self.driver.apply(switch, orders).await;
        match &result {
            Err(e) if e.login_refused => {
                let n = count(&mut |n| *n += 1);
                if n >= MAX_REFUSED_LOGINS {
                    return Err(refused(n).into());
                }
            }
            Err(_) => {}
            Ok(_) => {
                count(&mut |n| *n = 0);
            }
        }
        result
    }

    /// Applies `batch` in one commit; a batch refused as a whole is split in halves, each
    /// applied again, down to one host. Whether the last call ended well.
    async fn apply_halving(&self, switch: &str, batch: Vec<Request>) -> bool {
        let mut groups = vec![batch];
        let mut last = false;
        while let Some(mut group) = groups.pop() {
            let orders: Vec<PortOrder> = group.iter().flat_map(|r| r.orders.clone()).collect();
            let result = self.call(switch, &orders).await;
            last = result.is_ok();
            match result {
                Ok(applied) => answer(group, &applied),
                Err(BatchError {
                    error,
                    refused_content: true,
                    ..
                }) if group.len() > 1 => {
                    tracing::info!(switch, hosts = group.len(), error = %error, "the switch refused the batch: trying its halves");
                    let second = group.split_off(group.len() / 2);
                    groups.push(second);
                    groups.push(group);
                }
                Err(e) => fail(group, &e.error),
            }
        }
        last
    }

    /// QUADS's way: one commit per port, the host's ports in order; the first failure ends it.
    /// Whether the last call ended well.
    async fn apply_per_port(&self, switch: &str, request: Request) -> bool {
        let mut ports = Vec::with_capacity(request.orders.len());
        let mut committed = false;
        for order in &request.orders {
            match self.call(switch, std::slice::from_ref(order)).await {
                Ok(applied) => {
                    committed |= applied.committed;
                    ports.extend(applied.ports);
                }
                Err(e) => {
                    let _ = request.reply.send(Err(e.error));
                    return false;
                }
            }
        }
        let _ = request.reply.send(Ok(HostApplied { ports, committed }));
        true
    }
}

/// Gives each request its own ports of the batch's answer.
fn answer(group: Vec<Request>, applied: &BatchApplied) {
    for request in group {
        let ports: Vec<PortApplied> = request
            .orders
            .iter()
            .map(|o| {
                applied
                    .ports
                    .iter()
                    .find(|p| p.port == o.port)
                    .cloned()
                    .unwrap_or_else(|| PortApplied {
                        port: o.port.clone(),
                        changed: false,
                        verified: false,
                        found: Some("not in the switch's answer".to_owned()),
                    })
            })
            .collect();
        let _ = request.reply.send(Ok(HostApplied {
            ports,
            committed: applied.committed,
        }));
    }
}

fn fail(group: Vec<Request>, e: &PortError) {
    for request in group {
        let _ = request.reply.send(Err(e.clone()));
    }
}

/// A switch fleet in memory for tests: ports' targets, commits and sessions counted per
/// switch, a commit taking `commit` of tokio time, and ports whose commit the switch refuses.
#[cfg(test)]
pub(crate) mod fake {
    #![allow(clippy::unwrap_used)]
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Mutex;
    use std::time::Duration;

    use async_trait::async_trait;

    use crate::executor::ports::{
        BatchApplied, BatchError, PortApplied, PortError, PortOrder, SwitchPort,
    };
    use crate::network::PortTarget;

    #[derive(Debug, Default)]
    pub(crate) struct State {
        pub(crate) ports: BTreeMap<(String, String), PortTarget>,
        pub(crate) commits: BTreeMap<String, usize>,
        pub(crate) failed_commits: BTreeMap<String, usize>,
        pub(crate) open: BTreeMap<String, usize>,
        pub(crate) peak: BTreeMap<String, usize>,
        /// Ports per commit, in order.
        pub(crate) batches: Vec<usize>,
        /// Sessions open now across the switches, and at most.
        pub(crate) open_total: usize,
        pub(crate) peak_total: usize,
    }

    #[derive(Debug, Default)]
    pub(crate) struct FakeSwitches {
        pub(crate) state: Mutex<State>,
        /// A commit including one of these ports fails (nothing applied), not retryable.
        pub(crate) refused: Mutex<BTreeSet<String>>,
        /// Logins still to refuse.
        pub(crate) refuse_logins: Mutex<u32>,
        /// Logins tried.
        pub(crate) logins: Mutex<u32>,
        pub(crate) commit: Duration,
        /// How long a session is kept after a batch that ended well (zero: none is).
        pub(crate) linger: Duration,
        /// Switches whose session is kept (counted open), and whether none may be any more.
        pub(crate) kept: Mutex<BTreeSet<String>>,
        pub(crate) closed: Mutex<bool>,
    }

    impl FakeSwitches {
        pub(crate) fn new(commit: Duration) -> Self {
            Self {
                commit,
                ..Self::default()
            }
        }

        pub(crate) fn port(&self, switch: &str, port: &str) -> Option<PortTarget> {
            let state = self.state.lock().unwrap();
            state
                .ports
                .get(&(switch.to_owned(), port.to_owned()))
                .copied()
        }

        pub(crate) fn commits(&self, switch: &str) -> usize {
            let state = self.state.lock().unwrap();
            state.commits.get(switch).copied().unwrap_or(0)
        }

        pub(crate) fn peak(&self) -> usize {
            let state = self.state.lock().unwrap();
            state.peak.values().copied().max().unwrap_or(0)
        }

        /// A session of `switch` ended.
        fn closed_one(&self, switch: &str) {
            let mut state = self.state.lock().unwrap();
            *state.open.entry(switch.to_owned()).or_default() -= 1;
            state.open_total -= 1;
        }
    }

    #[async_trait]
    impl SwitchPort for FakeSwitches {
        async fn apply(
            &self,
            switch: &str,
            batch: &[PortOrder],
        ) -> Result<BatchApplied, BatchError> {
            let reused = self.kept.lock().unwrap().remove(switch);
            if !reused {
                *self.logins.lock().unwrap() += 1;
                let mut refuse = self.refuse_logins.lock().unwrap();
                if *refuse > 0 {
                    *refuse -= 1;
                    return Err(BatchError {
                        error: PortError::retryable(format!("switch {switch}: login refused")),
                        refused_content: false,
                        login_refused: true,
                    });
                }
            }
            let key = |o: &PortOrder| (switch.to_owned(), o.port.clone());
            let changes: Vec<&PortOrder> = {
                let mut state = self.state.lock().unwrap();
                if !reused {
                    let open = state.open.entry(switch.to_owned()).or_default();
                    *open += 1;
                    let now = *open;
                    let peak = state.peak.entry(switch.to_owned()).or_default();
                    *peak = (*peak).max(now);
                    state.open_total += 1;
                    state.peak_total = state.peak_total.max(state.open_total);
                }
                batch
                    .iter()
                    .filter(|o| state.ports.get(&key(o)) != Some(&o.target))
                    .collect()
            };
            let refused = {
                let refused = self.refused.lock().unwrap();
                changes.iter().any(|o| refused.contains(&o.port))
            };
            if !changes.is_empty() {
                tokio::time::sleep(self.commit).await;
            }
            if refused {
                self.closed_one(switch);
                let mut state = self.state.lock().unwrap();
                *state.failed_commits.entry(switch.to_owned()).or_default() += 1;
                let ports: Vec<&str> = batch.iter().map(|o| o.port.as_str()).collect();
                return Err(BatchError {
                    error: PortError::fatal(format!(
                        "switch {switch}: commit of ports {} failed, nothing applied",
                        ports.join(", ")
                    )),
                    refused_content: true,
                    login_refused: false,
                });
            }
            if self.linger.is_zero() || *self.closed.lock().unwrap() {
                self.closed_one(switch);
            } else {
                self.kept.lock().unwrap().insert(switch.to_owned());
            }
            let mut state = self.state.lock().unwrap();
            if !changes.is_empty() {
                *state.commits.entry(switch.to_owned()).or_default() += 1;
                state.batches.push(changes.len());
            }
            let changed: BTreeSet<String> = changes.iter().map(|o| o.port.clone()).collect();
            for o in batch {
                state.ports.insert(key(o), o.target);
            }
            Ok(BatchApplied {
                committed: !changes.is_empty(),
                ports: batch
                    .iter()
                    .map(|o| PortApplied {
                        port: o.port.clone(),
                        changed: changed.contains(&o.port),
                        verified: true,
                        found: None,
                    })
                    .collect(),
            })
        }

        fn idle_linger(&self) -> Duration {
            self.linger
        }

        async fn release(&self, switch: &str) {
            if self.kept.lock().unwrap().remove(switch) {
                self.closed_one(switch);
            }
        }

        async fn close_sessions(&self) -> usize {
            *self.closed.lock().unwrap() = true;
            let kept = std::mem::take(&mut *self.kept.lock().unwrap());
            for switch in &kept {
                self.closed_one(switch);
            }
            kept.len()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;
    use std::time::Duration;

    use super::fake::FakeSwitches;
    use super::*;
    use crate::limits::LimitsConfig;
    use crate::model::{HostName, InterfaceName};
    use crate::network::{PortMode, PortTarget};

    fn orders(host: usize, ports: usize, vlan: u16) -> Vec<PortOrder> {
        (0..ports)
            .map(|i| PortOrder {
                port: format!("xe-0/0/{}", host * ports + i),
                target: PortTarget {
                    mode: PortMode::Access,
                    vlan: crate::model::VlanId::new(i64::from(vlan) + i64::try_from(i).unwrap())
                        .unwrap(),
                },
                old: None,
                host: HostName::new(format!("h{host:02}.example.com")).unwrap(),
                interface: InterfaceName::new(format!("em{}", i + 1)).unwrap(),
            })
            .collect()
    }

    fn batches(driver: &Arc<FakeSwitches>, moves: SwitchMoves) -> SwitchBatches {
        SwitchBatches::new(
            driver.clone(),
            Limits::new(&LimitsConfig::default()).unwrap(),
            Duration::from_millis(100),
            moves,
        )
    }

    #[tokio::test(start_paused = true)]
    async fn at_most_max_sessions_switches_are_open_at_once_and_every_host_moves() {
        // three switches per session place, four hosts each, arriving together
        let driver = Arc::new(FakeSwitches::new(Duration::from_secs(4)));
        let b = batches(&driver, SwitchMoves::Batched);
        let switches = 3 * MAX_SESSIONS;
        let mut set = tokio::task::JoinSet::new();
        for host in 0..4 * switches {
            let b = b.clone();
            let switch = format!("sw{:03}", host % switches);
            set.spawn(async move { b.apply(&switch, orders(host, 2, 1110)).await });
        }
        while let Some(r) = set.join_next().await {
            let applied = r.unwrap().unwrap();
            assert!(applied.committed && applied.ports.iter().all(|p| p.verified));
        }
        let state = driver.state.lock().unwrap();
        assert_eq!(state.peak_total, MAX_SESSIONS);
        // one commit per switch: its hosts waited for a session together
        assert_eq!(state.commits.len(), switches);
        assert!(
            state.commits.values().all(|&n| n == 1),
            "{:?}",
            state.commits
        );
    }

    #[tokio::test(start_paused = true)]
    async fn hosts_arriving_together_share_one_commit_per_switch() {
        let driver = Arc::new(FakeSwitches::new(Duration::from_secs(4)));
        let b = batches(&driver, SwitchMoves::Batched);
        let mut set = tokio::task::JoinSet::new();
        for host in 0..20 {
            let b = b.clone();
            let switch = if host % 2 == 0 { "sw01" } else { "sw02" };
            set.spawn(async move { b.apply(switch, orders(host, 4, 1110)).await });
        }
        while let Some(r) = set.join_next().await {
            let applied = r.unwrap().unwrap();
            assert!(applied.committed);
            assert!(applied.ports.iter().all(|p| p.changed && p.verified));
        }
        assert_eq!(driver.commits("sw01"), 1);
        assert_eq!(driver.commits("sw02"), 1);
        assert_eq!(driver.peak(), 1);
        // the same again finds every port in place: no commit
        let again = b.apply("sw01", orders(0, 4, 1110)).await.unwrap();
        assert!(!again.committed && again.ports.iter().all(|p| !p.changed));
        assert_eq!(driver.commits("sw01"), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn hosts_arriving_during_a_commit_go_in_the_next_one() {
        let driver = Arc::new(FakeSwitches::new(Duration::from_secs(4)));
        let b = batches(&driver, SwitchMoves::Batched);
        let first = {
            let b = b.clone();
            tokio::spawn(async move { b.apply("sw01", orders(0, 4, 1110)).await })
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut later = Vec::new();
        for host in 1..10 {
            let b = b.clone();
            later.push(tokio::spawn(async move {
                b.apply("sw01", orders(host, 4, 1120)).await
            }));
        }
        first.await.unwrap().unwrap();
        for l in later {
            l.await.unwrap().unwrap();
        }
        assert_eq!(driver.commits("sw01"), 2);
        assert_eq!(driver.state.lock().unwrap().batches, vec![4, 36]);
        assert_eq!(driver.peak(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_port_fails_its_host_alone_and_keeps_its_old_vlan() {
        let driver = Arc::new(FakeSwitches::new(Duration::from_secs(4)));
        let b = batches(&driver, SwitchMoves::Batched);
        // every port starts in cloud01's VLANs
        for host in 0..8 {
            b.apply("sw01", orders(host, 2, 1100)).await.unwrap();
        }
        let before = driver.commits("sw01");
        driver.refused.lock().unwrap().insert("xe-0/0/11".into()); // host 5's second port
        let mut set = tokio::task::JoinSet::new();
        for host in 0..8 {
            let b = b.clone();
            set.spawn(async move { (host, b.apply("sw01", orders(host, 2, 1120)).await) });
        }
        while let Some(r) = set.join_next().await {
            let (host, r) = r.unwrap();
            if host == 5 {
                let e = r.unwrap_err();
                assert!(!e.is_retryable());
                assert!(e.message.contains("xe-0/0/11"), "{e}");
                assert!(!e.message.contains("xe-0/0/0,"), "only host 5's ports: {e}");
            } else {
                assert!(r.unwrap().ports.iter().all(|p| p.verified && p.changed));
            }
        }
        let vlan = |p: &str| driver.port("sw01", p).unwrap().vlan.get();
        assert_eq!((vlan("xe-0/0/10"), vlan("xe-0/0/11")), (1100, 1101));
        assert_eq!((vlan("xe-0/0/0"), vlan("xe-0/0/15")), (1120, 1121));
        // halving: 8 hosts -> 4+4 -> 2+2 -> 1+1 : three failed commits, three good ones
        let failed = driver.state.lock().unwrap().failed_commits["sw01"];
        assert_eq!(failed, 4, "the whole batch, then one half at each level");
        assert_eq!(driver.commits("sw01") - before, 3);
        assert_eq!(driver.peak(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_switch_refusing_logins_in_a_row_is_not_tried_again_but_one_refusal_is_forgotten() {
        let driver = Arc::new(FakeSwitches::new(Duration::from_secs(4)));
        let b = batches(&driver, SwitchMoves::Batched);
        *driver.refuse_logins.lock().unwrap() = 1;
        let once = b.apply("sw01", orders(0, 2, 1110)).await.unwrap_err();
        assert!(once.is_retryable(), "{once}");
        b.apply("sw01", orders(0, 2, 1110)).await.unwrap();
        // a login that works resets the count: three refusals in a row are needed
        *driver.refuse_logins.lock().unwrap() = 100;
        for _ in 0..2 {
            assert!(
                b.apply("sw01", orders(1, 2, 1110))
                    .await
                    .unwrap_err()
                    .is_retryable()
            );
        }
        let third = b.apply("sw01", orders(1, 2, 1110)).await.unwrap_err();
        assert!(
            !third.is_retryable() && third.message.contains("3 logins in a row"),
            "{third}"
        );
        let logins = *driver.logins.lock().unwrap();
        let later = b.apply("sw01", orders(2, 2, 1110)).await.unwrap_err();
        assert!(!later.is_retryable(), "{later}");
        assert_eq!(
            *driver.logins.lock().unwrap(),
            logins,
            "no login tried after the third"
        );
        // another switch is not concerned
        *driver.refuse_logins.lock().unwrap() = 0;
        b.apply("sw02", orders(3, 2, 1110)).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_kept_session_serves_the_switch_next_batches_and_is_closed_when_none_comes() {
        let driver = Arc::new(FakeSwitches {
            linger: Duration::from_secs(30),
            ..FakeSwitches::new(Duration::from_secs(4))
        });
        let b = batches(&driver, SwitchMoves::Batched);
        // three batches on sw01, 10 s apart (within the linger): one login
        for host in 0..3 {
            b.apply("sw01", orders(host, 2, 1110)).await.unwrap();
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
        assert_eq!(
            (*driver.logins.lock().unwrap(), driver.commits("sw01")),
            (1, 3)
        );
        assert_eq!(driver.state.lock().unwrap().open_total, 1, "kept meanwhile");
        // none comes within the linger: closed, and the next batch logs in again
        tokio::time::sleep(Duration::from_secs(31)).await;
        assert_eq!(driver.state.lock().unwrap().open_total, 0);
        b.apply("sw01", orders(3, 2, 1110)).await.unwrap();
        assert_eq!(*driver.logins.lock().unwrap(), 2);
        // a failed batch keeps nothing
        driver.refused.lock().unwrap().insert("xe-0/0/8".into());
        b.apply("sw01", orders(4, 2, 1120)).await.unwrap_err();
        assert!(driver.kept.lock().unwrap().is_empty());
        // the run's end closes a kept session at once
        b.apply("sw02", orders(5, 2, 1110)).await.unwrap();
        assert_eq!(driver.state.lock().unwrap().open_total, 1);
        b.close().await;
        assert_eq!(driver.state.lock().unwrap().open_total, 0);
        assert_eq!(driver.peak(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn kept_sessions_count_within_max_sessions_and_give_way_to_waiting_switches() {
        let driver = Arc::new(FakeSwitches {
            linger: Duration::from_secs(30),
            ..FakeSwitches::new(Duration::from_secs(4))
        });
        let b = batches(&driver, SwitchMoves::Batched);
        let switches = 3 * MAX_SESSIONS;
        let started = tokio::time::Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for host in 0..2 * switches {
            let b = b.clone();
            let switch = format!("sw{:03}", host % switches);
            // each switch's second host a little later: after its first batch
            let later = Duration::from_secs(u64::try_from(host / switches).unwrap() * 5);
            set.spawn(async move {
                tokio::time::sleep(later).await;
                b.apply(&switch, orders(host, 2, 1110)).await
            });
        }
        while let Some(r) = set.join_next().await {
            assert!(r.unwrap().unwrap().committed);
        }
        // no switch waited out another's linger for its place
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{:?}",
            started.elapsed()
        );
        let state = driver.state.lock().unwrap();
        assert_eq!(state.peak_total, MAX_SESSIONS, "kept sessions are counted");
        assert_eq!(state.commits.len(), switches);
    }

    #[tokio::test(start_paused = true)]
    async fn the_quads_preset_commits_each_port_on_its_own() {
        let driver = Arc::new(FakeSwitches::new(Duration::from_secs(4)));
        let b = batches(&driver, SwitchMoves::PerPort);
        let mut set = tokio::task::JoinSet::new();
        for host in 0..3 {
            let b = b.clone();
            set.spawn(async move {
                let _turn = b.one_host().await;
                b.apply("sw01", orders(host, 4, 1110)).await
            });
        }
        while let Some(r) = set.join_next().await {
            r.unwrap().unwrap();
        }
        assert_eq!(driver.commits("sw01"), 12);
        assert_eq!(driver.peak(), 1);
    }
}
