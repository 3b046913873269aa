//! The limits as `quads_http::Transport` wrappers, so the clients stay unaware of them:
//! [`ForemanLimits`] (read concurrency for GET/HEAD, adaptive write concurrency and a per-path
//! lock for the rest, one rate for both) and [`BmcLimits`] (quads-http's per-server cap, metered).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use quads_http::{PerAuthorityLimit, Transport, TransportError};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::stats::WaitStats;
use super::{AdaptiveLimit, ConcurrencyLimit, KeyedLock, LimitError, Outcome, RateLimiter};

/// What a Foreman answer says about Foreman's load.
///
/// 502, 503, 504 and 429, a timeout and a broken or refused connection are overload signals;
/// every other answer, 4xx and 500 included, shows a server that had room to answer.
#[must_use]
pub fn classify_outcome(result: &Result<http::Response<Bytes>, TransportError>) -> Outcome {
    match result {
        Ok(response) => match response.status().as_u16() {
            429 | 502..=504 => Outcome::Overloaded,
            _ => Outcome::Success,
        },
        Err(TransportError::InvalidRequest(_)) => Outcome::Neutral,
        Err(_) => Outcome::Overloaded,
    }
}

fn is_read(method: &http::Method) -> bool {
    matches!(*method, http::Method::GET | http::Method::HEAD)
}

fn closed(error: &LimitError) -> TransportError {
    TransportError::InvalidRequest(error.to_string())
}

/// The limiters [`ForemanLimits`] applies; clones of those in [`super::Limits`], so that its
/// report counts what the transport did.
#[derive(Debug, Clone)]
pub struct ForemanLimiters {
    /// GET and HEAD requests in flight.
    pub reads: ConcurrencyLimit,
    /// Other requests in flight, adapting to Foreman's answers.
    pub writes: AdaptiveLimit,
    /// Every request's start.
    pub rate: RateLimiter,
    /// Writes to one path (one Foreman object) one at a time, key `"foreman-path:{path}"`.
    pub locks: KeyedLock,
}

/// Foreman's limits around a transport: a write first takes its path's lock (two writes to one
/// object never overlap) and then an adaptive write place that learns from the answer; GET and
/// HEAD take a read place; every request then waits for the rate.
pub struct ForemanLimits {
    inner: Arc<dyn Transport>,
    limiters: ForemanLimiters,
}

impl fmt::Debug for ForemanLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForemanLimits")
            .field("inner", &self.inner)
            .field("limiters", &self.limiters)
            .finish()
    }
}

impl ForemanLimits {
    /// Wraps `inner` in `limiters`.
    #[must_use]
    pub fn new(inner: Arc<dyn Transport>, limiters: ForemanLimiters) -> Self {
        Self { inner, limiters }
    }
}

#[async_trait::async_trait]
impl Transport for ForemanLimits {
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        let limiters = &self.limiters;
        if is_read(request.method()) {
            let _place = limiters.reads.acquire().await.map_err(|e| closed(&e))?;
            limiters.rate.acquire().await;
            self.inner.send(request).await
        } else {
            // The object's lock before a write place: waiting for one object holds no place.
            let key = format!("foreman-path:{}", request.uri().path());
            let _object = limiters.locks.lock(key).await;
            let place = limiters.writes.acquire().await.map_err(|e| closed(&e))?;
            limiters.rate.acquire().await;
            let result = self.inner.send(request).await;
            place.finish(classify_outcome(&result));
            result
        }
    }
}

/// The per-BMC cap (quads-http's [`PerAuthorityLimit`]) around a transport, with counters:
/// requests, how many waited for their BMC and how long, the most in flight on one BMC and on
/// all BMCs together.
pub struct BmcLimits {
    limited: PerAuthorityLimit<Meter>,
    stats: Arc<BmcStats>,
}

impl fmt::Debug for BmcLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BmcLimits")
            .field("limited", &self.limited)
            .finish_non_exhaustive()
    }
}

/// Counters of a [`BmcLimits`]; shared with the [`super::Limits`] report.
#[derive(Debug)]
pub(crate) struct BmcStats {
    per_bmc: usize,
    waits: WaitStats,
    in_flight: Mutex<HashMap<String, usize>>,
    in_flight_all: AtomicUsize,
    peak_one: AtomicUsize,
    peak_all: AtomicUsize,
    bmcs_seen: Mutex<std::collections::HashSet<String>>,
}

/// What the per-BMC limit did so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BmcReport {
    /// The configured requests in flight per BMC.
    pub per_bmc: usize,
    /// BMCs talked to.
    pub bmcs: usize,
    /// Requests sent.
    pub requests: u64,
    /// Most requests in flight on one BMC.
    pub peak_in_flight_one_bmc: usize,
    /// Most requests in flight on all BMCs together.
    pub peak_in_flight_all: usize,
    /// Requests that waited for their BMC.
    pub waited: u64,
    /// Time spent waiting for a BMC, all requests together, in seconds.
    pub total_wait_secs: f64,
}

impl BmcStats {
    pub(crate) fn new(per_bmc: usize) -> Self {
        Self {
            per_bmc: per_bmc.max(1),
            waits: WaitStats::default(),
            in_flight: Mutex::new(HashMap::new()),
            in_flight_all: AtomicUsize::new(0),
            peak_one: AtomicUsize::new(0),
            peak_all: AtomicUsize::new(0),
            bmcs_seen: Mutex::new(std::collections::HashSet::new()),
        }
    }

    pub(crate) fn report(&self) -> BmcReport {
        let s = self.waits.snapshot();
        BmcReport {
            per_bmc: self.per_bmc,
            bmcs: self
                .bmcs_seen
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .len(),
            requests: s.acquired,
            peak_in_flight_one_bmc: self.peak_one.load(Ordering::Relaxed),
            peak_in_flight_all: self.peak_all.load(Ordering::Relaxed),
            waited: s.waited,
            total_wait_secs: s.total_wait.as_secs_f64(),
        }
    }

    fn enter(&self, authority: &str) {
        let one = {
            let mut map = self
                .in_flight
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let n = map.entry(authority.to_owned()).or_insert(0);
            *n += 1;
            *n
        };
        self.peak_one.fetch_max(one, Ordering::Relaxed);
        let all = self.in_flight_all.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak_all.fetch_max(all, Ordering::Relaxed);
        let mut seen = self
            .bmcs_seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !seen.contains(authority) {
            seen.insert(authority.to_owned());
        }
    }

    fn leave(&self, authority: &str) {
        self.in_flight_all.fetch_sub(1, Ordering::Relaxed);
        let mut map = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = map.get_mut(authority) {
            *n -= 1;
            if *n == 0 {
                map.remove(authority);
            }
        }
    }
}

/// When a request entered [`BmcLimits`] and whether its BMC was full then (carried to the
/// [`Meter`] in the request's extensions).
#[derive(Debug, Clone, Copy)]
struct Entered {
    at: Instant,
    full: bool,
}

/// The layer under the per-BMC cap: a request here holds its BMC's place.
struct Meter {
    inner: Arc<dyn Transport>,
    stats: Arc<BmcStats>,
}

impl fmt::Debug for Meter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Meter")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// Leaves the BMC's in-flight count however the request ends (cancellation included).
struct InFlight<'a> {
    stats: &'a BmcStats,
    authority: String,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.stats.leave(&self.authority);
    }
}

#[async_trait::async_trait]
impl Transport for Meter {
    async fn send(
        &self,
        mut request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        match request.extensions_mut().remove::<Entered>() {
            Some(Entered { at, full: true }) => self.stats.waits.record(true, at.elapsed()),
            _ => self.stats.waits.record(false, Duration::ZERO),
        }
        let authority = request
            .uri()
            .authority()
            .map(ToString::to_string)
            .unwrap_or_default();
        self.stats.enter(&authority);
        let _in_flight = InFlight {
            stats: &self.stats,
            authority,
        };
        self.inner.send(request).await
    }
}

impl BmcLimits {
    /// At most `per_bmc` requests in flight per BMC (`host:port`) over `inner`.
    #[must_use]
    pub fn new(inner: Arc<dyn Transport>, per_bmc: usize) -> Self {
        Self::with_stats(inner, Arc::new(BmcStats::new(per_bmc)))
    }

    pub(crate) fn with_stats(inner: Arc<dyn Transport>, stats: Arc<BmcStats>) -> Self {
        let meter = Meter {
            inner,
            stats: stats.clone(),
        };
        Self {
            limited: PerAuthorityLimit::new(meter, stats.per_bmc),
            stats,
        }
    }

    /// Counters so far.
    #[must_use]
    pub fn report(&self) -> BmcReport {
        self.stats.report()
    }
}

#[async_trait::async_trait]
impl Transport for BmcLimits {
    async fn send(
        &self,
        mut request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        let full = request
            .uri()
            .authority()
            .is_some_and(|a| self.limited.available(a.as_str()) == 0);
        request.extensions_mut().insert(Entered {
            at: Instant::now(),
            full,
        });
        self.limited.send(request).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::VecDeque;

    use super::*;
    use crate::limits::{AdaptiveConfig, RateConfig};

    /// What the fake server does with one request.
    #[derive(Debug, Clone)]
    enum Answer {
        Status(u16),
        Reset,
        Timeout,
    }

    /// A fake inner transport: answers from a script (then 200), after `service` of virtual
    /// time, counting requests in flight by method kind and by authority.
    #[derive(Debug, Default)]
    struct Fake {
        script: Mutex<VecDeque<Answer>>,
        service: Duration,
        reads_now: AtomicUsize,
        reads_peak: AtomicUsize,
        writes_now: AtomicUsize,
        writes_peak: AtomicUsize,
        starts: Mutex<Vec<(http::Method, Duration)>>,
        per_authority: Mutex<HashMap<String, (usize, usize)>>,
        per_path: Mutex<HashMap<String, (usize, usize)>>,
        origin: Mutex<Option<Instant>>,
    }

    impl Fake {
        fn new(service: Duration, script: impl IntoIterator<Item = Answer>) -> Arc<Self> {
            Arc::new(Self {
                script: Mutex::new(script.into_iter().collect()),
                service,
                origin: Mutex::new(Some(Instant::now())),
                ..Self::default()
            })
        }

        fn peak_for(&self, authority: &str) -> usize {
            self.per_authority.lock().unwrap()[authority].1
        }
    }

    #[async_trait::async_trait]
    impl Transport for Fake {
        async fn send(
            &self,
            request: http::Request<Bytes>,
        ) -> Result<http::Response<Bytes>, TransportError> {
            let origin = self.origin.lock().unwrap().unwrap();
            self.starts
                .lock()
                .unwrap()
                .push((request.method().clone(), origin.elapsed()));
            let (now, peak) = if is_read(request.method()) {
                (&self.reads_now, &self.reads_peak)
            } else {
                (&self.writes_now, &self.writes_peak)
            };
            peak.fetch_max(now.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
            let authority = request.uri().authority().unwrap().to_string();
            {
                let mut map = self.per_authority.lock().unwrap();
                let e = map.entry(authority.clone()).or_default();
                e.0 += 1;
                e.1 = e.1.max(e.0);
            }
            let path = request.uri().path().to_owned();
            {
                let mut map = self.per_path.lock().unwrap();
                let e = map.entry(path.clone()).or_default();
                e.0 += 1;
                e.1 = e.1.max(e.0);
            }
            tokio::time::sleep(self.service).await;
            self.per_path.lock().unwrap().get_mut(&path).unwrap().0 -= 1;
            self.per_authority
                .lock()
                .unwrap()
                .get_mut(&authority)
                .unwrap()
                .0 -= 1;
            now.fetch_sub(1, Ordering::SeqCst);
            let answer = self.script.lock().unwrap().pop_front();
            match answer.unwrap_or(Answer::Status(200)) {
                Answer::Status(code) => Ok(http::Response::builder()
                    .status(code)
                    .body(Bytes::new())
                    .unwrap()),
                Answer::Reset => Err(TransportError::Io {
                    authority,
                    reason: "connection reset by peer".into(),
                }),
                Answer::Timeout => Err(TransportError::Timeout {
                    authority,
                    timeout: Duration::from_secs(60),
                }),
            }
        }
    }

    fn req(method: http::Method, uri: &str) -> http::Request<Bytes> {
        http::Request::builder()
            .method(method)
            .uri(uri)
            .body(Bytes::new())
            .unwrap()
    }

    fn foreman(
        fake: &Arc<Fake>,
        reads: usize,
        writes: &AdaptiveConfig,
        rate: RateConfig,
    ) -> Arc<ForemanLimits> {
        Arc::new(ForemanLimits::new(
            fake.clone(),
            ForemanLimiters {
                reads: ConcurrencyLimit::new("foreman reads", reads),
                writes: AdaptiveLimit::new("foreman writes", writes).unwrap(),
                rate: RateLimiter::new(&rate).unwrap(),
                locks: KeyedLock::new(),
            },
        ))
    }

    async fn fire(
        transport: &Arc<ForemanLimits>,
        requests: Vec<(http::Method, String)>,
    ) -> Vec<Result<http::Response<Bytes>, TransportError>> {
        let tasks: Vec<_> = requests
            .into_iter()
            .map(|(m, uri)| {
                let t = transport.clone();
                tokio::spawn(async move { t.send(req(m, &uri)).await })
            })
            .collect();
        let mut out = Vec::new();
        for task in tasks {
            out.push(task.await.unwrap());
        }
        out
    }

    #[test]
    fn outcome_classification_follows_the_status_and_the_error() {
        let status = |code: u16| {
            Ok(http::Response::builder()
                .status(code)
                .body(Bytes::new())
                .unwrap())
        };
        for code in [502, 503, 504, 429] {
            assert_eq!(
                classify_outcome(&status(code)),
                Outcome::Overloaded,
                "{code}"
            );
        }
        for code in [200, 201, 204, 404, 409, 422, 500] {
            assert_eq!(classify_outcome(&status(code)), Outcome::Success, "{code}");
        }
        let io = Err(TransportError::Io {
            authority: "f".into(),
            reason: "reset".into(),
        });
        assert_eq!(classify_outcome(&io), Outcome::Overloaded);
        let bad = Err(TransportError::InvalidRequest("no host".into()));
        assert_eq!(classify_outcome(&bad), Outcome::Neutral);
    }

    #[tokio::test(start_paused = true)]
    async fn reads_and_writes_have_their_own_concurrency() {
        let fake = Fake::new(Duration::from_millis(100), []);
        let writes = AdaptiveConfig {
            floor: 1,
            initial: 2,
            ceiling: 2,
            decrease_factor: 0.5,
        };
        let t = foreman(&fake, 3, &writes, RateConfig::unlimited());
        let mut batch = Vec::new();
        for _ in 0..9 {
            batch.push((
                http::Method::GET,
                "https://foreman.lab:443/api/hosts".to_owned(),
            ));
        }
        for path in ["1", "2", "3", "4", "5", "6"] {
            batch.push((
                http::Method::PUT,
                format!("https://foreman.lab:443/api/hosts/{path}"),
            ));
        }
        let t0 = Instant::now();
        let results = fire(&t, batch).await;
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(fake.reads_peak.load(Ordering::SeqCst), 3);
        assert_eq!(fake.writes_peak.load(Ordering::SeqCst), 2);
        // 9 reads 3 at a time and 6 writes 2 at a time, side by side: 3 rounds of 100 ms.
        assert_eq!(t0.elapsed(), Duration::from_millis(300));
    }

    #[tokio::test(start_paused = true)]
    async fn writes_to_one_object_never_overlap_but_reads_of_it_do() {
        let fake = Fake::new(Duration::from_millis(100), []);
        let t = foreman(
            &fake,
            8,
            &AdaptiveConfig::default(),
            RateConfig::unlimited(),
        );
        let mut batch = Vec::new();
        for _ in 0..3 {
            batch.push((http::Method::PUT, "https://f/api/users/7".to_owned()));
            batch.push((http::Method::PUT, "https://f/api/users/8".to_owned()));
            batch.push((http::Method::GET, "https://f/api/roles/1".to_owned()));
        }
        let t0 = Instant::now();
        fire(&t, batch).await;
        let per_path = fake.per_path.lock().unwrap().clone();
        assert_eq!(per_path["/api/users/7"].1, 1);
        assert_eq!(per_path["/api/users/8"].1, 1);
        assert_eq!(per_path["/api/roles/1"].1, 3);
        // Three writes to each user one after another; the users side by side.
        assert_eq!(t0.elapsed(), Duration::from_millis(300));
        assert!(t.limiters.locks.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_spaces_every_request() {
        let fake = Fake::new(Duration::from_millis(1), []);
        let rate = RateConfig {
            per_second: 20.0,
            burst: 2,
        };
        let t = foreman(&fake, 16, &AdaptiveConfig::default(), rate);
        let mut batch = Vec::new();
        for i in 0..10 {
            let m = if i % 2 == 0 {
                http::Method::GET
            } else {
                http::Method::POST
            };
            batch.push((m, format!("https://foreman.lab/api/x/{i}")));
        }
        fire(&t, batch).await;
        let mut starts: Vec<Duration> = fake.starts.lock().unwrap().iter().map(|s| s.1).collect();
        starts.sort();
        // Two at once, then one every 50 ms.
        let expected: Vec<Duration> = [0, 0, 50, 100, 150, 200, 250, 300, 350, 400]
            .into_iter()
            .map(Duration::from_millis)
            .collect();
        assert_eq!(starts, expected);
    }

    #[tokio::test(start_paused = true)]
    async fn overload_answers_shrink_write_concurrency_and_successes_grow_it() {
        let writes = AdaptiveConfig {
            floor: 1,
            initial: 8,
            ceiling: 16,
            decrease_factor: 0.5,
        };
        for answer in [
            Answer::Status(503),
            Answer::Reset,
            Answer::Timeout,
            Answer::Status(502),
        ] {
            let fake = Fake::new(Duration::from_millis(10), [answer.clone()]);
            let t = foreman(&fake, 4, &writes, RateConfig::unlimited());
            let results = fire(
                &t,
                vec![(http::Method::PATCH, "https://f/api/x".to_owned())],
            )
            .await;
            drop(results);
            assert_eq!(
                t.limiters.writes.limit(),
                4,
                "{answer:?} is an overload signal"
            );
            // GETs never touch the write limit.
            let fake_get = Fake::new(Duration::from_millis(10), [answer.clone()]);
            let t = foreman(&fake_get, 4, &writes, RateConfig::unlimited());
            drop(fire(&t, vec![(http::Method::GET, "https://f/api/x".to_owned())]).await);
            assert_eq!(t.limiters.writes.limit(), 8);
        }
        // A 422 is the server doing its job: no decrease.
        let fake = Fake::new(Duration::from_millis(10), [Answer::Status(422)]);
        let t = foreman(&fake, 4, &writes, RateConfig::unlimited());
        let results = fire(&t, vec![(http::Method::POST, "https://f/api/x".to_owned())]).await;
        assert_eq!(results[0].as_ref().unwrap().status(), 422);
        assert_eq!(t.limiters.writes.limit(), 8);
        // Saturated successes grow it by one per `limit` of them.
        let fake = Fake::new(Duration::from_millis(10), []);
        let t = foreman(&fake, 4, &writes, RateConfig::unlimited());
        let puts = (0..16)
            .map(|i| (http::Method::PUT, format!("https://f/api/hosts/{i}")))
            .collect();
        fire(&t, puts).await;
        assert_eq!(t.limiters.writes.limit(), 9);
    }

    #[tokio::test(start_paused = true)]
    async fn bmc_limits_cap_each_bmc_and_report_waits() {
        let fake = Fake::new(Duration::from_millis(100), []);
        let bmc = Arc::new(BmcLimits::new(fake.clone(), 2));
        let mut tasks = Vec::new();
        for i in 0..12 {
            let bmc = bmc.clone();
            let uri = format!("https://127.0.1.{}:443/redfish/v1", i % 3);
            tasks.push(tokio::spawn(async move {
                bmc.send(req(http::Method::GET, &uri)).await
            }));
        }
        let t0 = Instant::now();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        // 4 requests per BMC, 2 at a time: 2 rounds of 100 ms; BMCs in parallel.
        assert_eq!(t0.elapsed(), Duration::from_millis(200));
        for i in 0..3 {
            assert_eq!(fake.peak_for(&format!("127.0.1.{i}:443")), 2);
        }
        let r = bmc.report();
        assert_eq!(r.per_bmc, 2);
        assert_eq!(r.bmcs, 3);
        assert_eq!(r.requests, 12);
        assert_eq!(r.peak_in_flight_one_bmc, 2);
        assert_eq!(r.peak_in_flight_all, 6);
        assert_eq!(r.waited, 6);
        assert!((r.total_wait_secs - 0.6).abs() < 1e-9, "{r:?}");
        assert!(bmc.stats.in_flight.lock().unwrap().is_empty());
    }
}
