//! What the lab saw: a request log and counters per endpoint, per host and per written object,
//! and the connections each service accepted (TLS handshakes full or resumed).
//!
//! Tests and benchmarks assert on behaviour through these (one power cycle per host, no
//! overlapping writes to one Foreman object, no session leaked, peak concurrency), in process via
//! [`Metrics::snapshot`] or over the admin endpoint as JSON.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Which simulated service answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    /// The fake Foreman.
    Foreman,
    /// A fake BMC.
    Bmc,
}

impl ServiceKind {
    /// The service's name in counter keys (`foreman`, `bmc`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Foreman => "foreman",
            Self::Bmc => "bmc",
        }
    }
}

/// One request as the lab saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Lab seconds since the lab started, when the answer was sent.
    pub at: f64,
    /// The service.
    pub service: ServiceKind,
    /// The host concerned (the BMC's host, or the Foreman host addressed), if any.
    pub host: Option<String>,
    /// HTTP method.
    pub method: String,
    /// Path and query as sent.
    pub path: String,
    /// The route template that matched, e.g. `PUT /api/hosts/:id`.
    pub endpoint: String,
    /// Status sent; 0 when the connection was reset without an answer.
    pub status: u16,
    /// Lab seconds from arrival to answer.
    pub elapsed: f64,
}

/// Counters of one host (its Foreman record and its BMC).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostCounters {
    /// Requests to its BMC.
    pub bmc_requests: u64,
    /// Requests to Foreman that addressed this host.
    pub foreman_requests: u64,
    /// Writes (non-GET) to its BMC.
    pub bmc_writes: u64,
    /// Times the machine started POST.
    pub boots: u64,
    /// Boots that followed a power-off of a running machine (off/on, cycle or restart).
    pub power_cycles: u64,
    /// Reset actions received, by `ResetType`.
    pub resets: BTreeMap<String, u64>,
    /// OS installs completed (network boot while Foreman had `build=true`).
    pub installs: u64,
    /// OS installs started (a network boot reached the installer while `build=true`).
    #[serde(default)]
    pub installs_started: u64,
    /// Network boots in build mode after the first since Foreman set `build=true` (re-kicks).
    #[serde(default)]
    pub rekicks: u64,
    /// Config jobs applied during POST.
    pub jobs_applied: u64,
    /// The longest power-off a `ForceOff` drew for it, in lab milliseconds: how long the
    /// machine took to read `Off` (a tool that waits for `Off` waits at least this long).
    #[serde(default)]
    pub longest_force_off_ms: u64,
    /// Sessions created on its BMC.
    pub sessions_opened: u64,
    /// Sessions deleted on its BMC.
    pub sessions_closed: u64,
    /// Sessions the BMC dropped after `SessionTimeout` idle seconds (noticed on its next request).
    #[serde(default)]
    pub sessions_expired: u64,
    /// Sessions open now.
    pub sessions_open: u64,
    /// Most sessions open at once.
    pub peak_sessions: u64,
    /// Most requests in service at its BMC at once.
    pub peak_bmc_in_flight: u64,
    /// Connections its BMC accepted.
    #[serde(default)]
    pub bmc_connections: u64,
    /// Of those, TLS handshakes that resumed an earlier session.
    #[serde(default)]
    pub bmc_tls_resumed: u64,
}

/// Counters of one fake Junos switch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchCounters {
    /// SSH logins accepted (CLI sessions opened).
    pub sessions_opened: u64,
    /// Sessions open now.
    pub sessions_open: u64,
    /// Most sessions open at once.
    pub peak_sessions: u64,
    /// Commits that applied their candidate.
    pub commits: u64,
    /// Commits that failed (nothing applied).
    pub failed_commits: u64,
    /// Logins refused (wrong credentials or the refused-login fault).
    pub refused_logins: u64,
}

/// How a connection the lab accepted began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionStart {
    /// Plain HTTP.
    Plain,
    /// A full TLS handshake (certificate sent, key exchange signed).
    TlsFull,
    /// A TLS handshake that resumed an earlier session.
    TlsResumed,
    /// A TLS handshake that failed.
    TlsFailed,
}

/// Connections one service accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionCounters {
    /// Connections accepted, TLS or not (a dead BMC's dropped ones are not counted).
    pub accepted: u64,
    /// Full TLS handshakes.
    pub tls_full: u64,
    /// TLS handshakes that resumed an earlier session.
    pub tls_resumed: u64,
    /// TLS handshakes that failed.
    pub tls_failed: u64,
    /// Connections open now (accepted and, for TLS, through the handshake, not yet closed).
    #[serde(default)]
    pub open: u64,
    /// The most connections open at once: what a client's fleet of connections costs the
    /// servers (and itself).
    #[serde(default)]
    pub peak_open: u64,
}

impl ConnectionCounters {
    fn count(&mut self, start: ConnectionStart) {
        match start {
            ConnectionStart::Plain => {}
            ConnectionStart::TlsFull => self.tls_full += 1,
            ConnectionStart::TlsResumed => self.tls_resumed += 1,
            ConnectionStart::TlsFailed => {
                self.tls_failed += 1;
                return;
            }
        }
        self.open += 1;
        self.peak_open = self.peak_open.max(self.open);
    }
}

/// A point-in-time copy of every counter (the admin endpoint's JSON).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsSnapshot {
    /// Requests per service and endpoint template (`"foreman GET /api/hosts"`).
    pub endpoints: BTreeMap<String, u64>,
    /// Answers per service and status (`"bmc 503"`; status 0 = reset).
    pub statuses: BTreeMap<String, u64>,
    /// Per host name.
    pub hosts: BTreeMap<String, HostCounters>,
    /// Writes that began while another write to the same object was in service, per object key.
    pub overlapping_writes: BTreeMap<String, u64>,
    /// Most Foreman requests in service at once.
    pub foreman_peak_in_service: u64,
    /// Most Foreman requests waiting at once.
    pub foreman_peak_queued: u64,
    /// Foreman requests refused with 503 because the backlog was full.
    pub foreman_refused: u64,
    /// Most BMC requests in service at once across the fleet.
    pub bmc_peak_in_flight: u64,
    /// Requests seen in all.
    pub requests: u64,
    /// Foreman authentications by kind: `password` and `token` (Basic with a password or a
    /// personal access token), `session` (cookie), `failed`.
    #[serde(default)]
    pub foreman_auth: BTreeMap<String, u64>,
    /// Connections Foreman (HTTPS and HTTP) accepted.
    #[serde(default)]
    pub foreman_connections: ConnectionCounters,
    /// Connections the BMC fleet accepted, all BMCs together (per BMC in [`HostCounters`]).
    #[serde(default)]
    pub bmc_connections: ConnectionCounters,
    /// Per fake Junos switch, by name.
    #[serde(default)]
    pub switches: BTreeMap<String, SwitchCounters>,
    /// Faults injected, by service and kind (`"bmc applied-reset"`, `"foreman applied-504"`,
    /// `"bmc manager-reset"`, `"bmc cert-change"`, ...).
    #[serde(default)]
    pub faults: BTreeMap<String, u64>,
    /// Hung connections (the hang fault) by service (`bmc`, `foreman`): how many ended and
    /// the longest any was held before the client gave up on it (or the lab let go).
    #[serde(default)]
    pub hangs: BTreeMap<String, HangCounters>,
}

/// The hung connections of one service that ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct HangCounters {
    /// Hung connections that ended (the client closed them, or the lab's hold ran out).
    pub ended: u64,
    /// Lab seconds the longest of them was held open.
    pub longest: f64,
}

impl MetricsSnapshot {
    /// Requests counted for one endpoint key such as `"foreman GET /api/hosts"`.
    #[must_use]
    pub fn endpoint(&self, key: &str) -> u64 {
        self.endpoints.get(key).copied().unwrap_or(0)
    }

    /// Sum over every endpoint of a service whose key starts with `prefix` (e.g. `"foreman PUT"`).
    #[must_use]
    pub fn endpoints_starting_with(&self, prefix: &str) -> u64 {
        self.endpoints
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum()
    }

    /// Counters of one host (zeroes if it was never touched).
    #[must_use]
    pub fn host(&self, name: &str) -> HostCounters {
        self.hosts.get(name).cloned().unwrap_or_default()
    }

    /// Counters of one switch (zeroes if it was never touched).
    #[must_use]
    pub fn switch(&self, name: &str) -> SwitchCounters {
        self.switches.get(name).cloned().unwrap_or_default()
    }

    /// Faults of one key such as `"foreman hang"` injected so far.
    #[must_use]
    pub fn faults_of(&self, key: &str) -> u64 {
        self.faults.get(key).copied().unwrap_or(0)
    }

    /// Overlapping writes in all.
    #[must_use]
    pub fn total_overlapping_writes(&self) -> u64 {
        self.overlapping_writes.values().sum()
    }
}

/// The lab's recorder. Cheap to call from every request.
#[derive(Debug)]
pub struct Metrics {
    inner: Mutex<Inner>,
    log_limit: usize,
}

#[derive(Debug, Default)]
struct Inner {
    snapshot: MetricsSnapshot,
    log: VecDeque<LogEntry>,
    writes_in_service: HashMap<String, u32>,
    bmc_in_flight: u64,
}

/// Marks a write to one object as in service until dropped.
#[derive(Debug)]
pub struct WriteInService<'a> {
    metrics: &'a Metrics,
    key: String,
    overlapped: bool,
}

impl WriteInService<'_> {
    /// Whether another write to the same object was in service when this one began.
    #[must_use]
    pub fn overlapped(&self) -> bool {
        self.overlapped
    }
}

impl Drop for WriteInService<'_> {
    fn drop(&mut self) {
        let mut inner = self.metrics.lock();
        if let Some(n) = inner.writes_in_service.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                inner.writes_in_service.remove(&self.key);
            }
        }
    }
}

/// Counts a request in service at one BMC until dropped.
#[derive(Debug)]
pub struct BmcInFlight<'a> {
    metrics: &'a Metrics,
}

impl Drop for BmcInFlight<'_> {
    fn drop(&mut self) {
        self.metrics.lock().bmc_in_flight -= 1;
    }
}

impl Metrics {
    /// A recorder keeping the last `log_limit` requests.
    #[must_use]
    pub fn new(log_limit: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            log_limit,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a finished request.
    pub fn record(&self, entry: LogEntry) {
        let mut inner = self.lock();
        let service = entry.service.name();
        let snapshot = &mut inner.snapshot;
        snapshot.requests += 1;
        *snapshot
            .endpoints
            .entry(format!("{service} {}", entry.endpoint))
            .or_default() += 1;
        *snapshot
            .statuses
            .entry(format!("{service} {}", entry.status))
            .or_default() += 1;
        if let Some(host) = &entry.host {
            let counters = snapshot.hosts.entry(host.clone()).or_default();
            match entry.service {
                ServiceKind::Foreman => counters.foreman_requests += 1,
                ServiceKind::Bmc => {
                    counters.bmc_requests += 1;
                    if entry.method != "GET" {
                        counters.bmc_writes += 1;
                    }
                }
            }
        }
        if self.log_limit > 0 {
            if inner.log.len() == self.log_limit {
                inner.log.pop_front();
            }
            inner.log.push_back(entry);
        }
    }

    /// Updates one host's counters.
    pub fn host(&self, name: &str, update: impl FnOnce(&mut HostCounters)) {
        let mut inner = self.lock();
        update(inner.snapshot.hosts.entry(name.to_owned()).or_default());
    }

    /// Updates one switch's counters.
    pub fn switch(&self, name: &str, update: impl FnOnce(&mut SwitchCounters)) {
        let mut inner = self.lock();
        update(inner.snapshot.switches.entry(name.to_owned()).or_default());
    }

    /// Counts a hung connection of `service` that ended after `held` lab seconds.
    pub fn hang_ended(&self, service: ServiceKind, held: f64) {
        let mut inner = self.lock();
        let c = inner
            .snapshot
            .hangs
            .entry(service.name().to_owned())
            .or_default();
        c.ended += 1;
        c.longest = c.longest.max(held);
    }

    /// Counts one injected fault of `kind` at `service`.
    pub fn fault(&self, service: ServiceKind, kind: &str) {
        let service = service.name();
        *self
            .lock()
            .snapshot
            .faults
            .entry(format!("{service} {kind}"))
            .or_default() += 1;
    }

    /// Counts a Foreman authentication (`password`, `token`, `session` or `failed`).
    pub fn foreman_auth(&self, kind: &str) {
        *self
            .lock()
            .snapshot
            .foreman_auth
            .entry(kind.to_owned())
            .or_default() += 1;
    }

    /// Counts a connection accepted by `service` (for a BMC, `host` names it) once its TLS
    /// handshake, if any, is over.
    pub fn connection(&self, service: ServiceKind, host: Option<&str>, start: ConnectionStart) {
        let mut inner = self.lock();
        let snapshot = &mut inner.snapshot;
        let counters = match service {
            ServiceKind::Foreman => &mut snapshot.foreman_connections,
            ServiceKind::Bmc => &mut snapshot.bmc_connections,
        };
        counters.accepted += 1;
        counters.count(start);
        if let (ServiceKind::Bmc, Some(host)) = (service, host) {
            let counters = snapshot.hosts.entry(host.to_owned()).or_default();
            counters.bmc_connections += 1;
            if start == ConnectionStart::TlsResumed {
                counters.bmc_tls_resumed += 1;
            }
        }
    }

    /// Counts the end of a connection `service` accepted and counted as open.
    pub fn connection_closed(&self, service: ServiceKind) {
        let mut inner = self.lock();
        let snapshot = &mut inner.snapshot;
        let counters = match service {
            ServiceKind::Foreman => &mut snapshot.foreman_connections,
            ServiceKind::Bmc => &mut snapshot.bmc_connections,
        };
        counters.open = counters.open.saturating_sub(1);
    }

    /// Marks a write to the object `key` (e.g. `user/7`) as in service.
    pub fn write_begins(&self, key: &str) -> WriteInService<'_> {
        let mut inner = self.lock();
        let in_service = inner.writes_in_service.entry(key.to_owned()).or_default();
        let overlapped = *in_service > 0;
        *in_service += 1;
        if overlapped {
            *inner
                .snapshot
                .overlapping_writes
                .entry(key.to_owned())
                .or_default() += 1;
        }
        WriteInService {
            metrics: self,
            key: key.to_owned(),
            overlapped,
        }
    }

    /// Counts a request in service at a BMC (fleet-wide peak); per-host peaks via [`Metrics::host`].
    pub fn bmc_request_begins(&self) -> BmcInFlight<'_> {
        let mut inner = self.lock();
        inner.bmc_in_flight += 1;
        let now = inner.bmc_in_flight;
        inner.snapshot.bmc_peak_in_flight = inner.snapshot.bmc_peak_in_flight.max(now);
        BmcInFlight { metrics: self }
    }

    /// Sets the Foreman capacity counters (copied in when a snapshot is taken).
    pub(crate) fn set_foreman_capacity(&self, stats: crate::capacity::CapacityStats) {
        let mut inner = self.lock();
        inner.snapshot.foreman_peak_in_service = stats.peak_in_service as u64;
        inner.snapshot.foreman_peak_queued = stats.peak_queued as u64;
        inner.snapshot.foreman_refused = stats.refused as u64;
    }

    /// A copy of every counter.
    #[must_use]
    pub fn snapshot(&self) -> MetricsSnapshot {
        self.lock().snapshot.clone()
    }

    /// The request log, oldest first (the last `log_limit` requests).
    #[must_use]
    pub fn log(&self) -> Vec<LogEntry> {
        self.lock().log.iter().cloned().collect()
    }

    /// Forgets every counter and the log (between phases of a benchmark).
    pub fn reset(&self) {
        let mut inner = self.lock();
        let open: Vec<(String, u64)> = inner
            .snapshot
            .hosts
            .iter()
            .map(|(k, v)| (k.clone(), v.sessions_open))
            .collect();
        let switches_open: Vec<(String, u64)> = inner
            .snapshot
            .switches
            .iter()
            .map(|(k, v)| (k.clone(), v.sessions_open))
            .collect();
        inner.snapshot = MetricsSnapshot::default();
        inner.log.clear();
        for (switch, sessions_open) in switches_open.into_iter().filter(|(_, n)| *n > 0) {
            inner
                .snapshot
                .switches
                .entry(switch)
                .or_default()
                .sessions_open = sessions_open;
        }
        for (host, sessions_open) in open.into_iter().filter(|(_, n)| *n > 0) {
            inner.snapshot.hosts.entry(host).or_default().sessions_open = sessions_open;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_writes_are_counted_per_object() {
        let metrics = Metrics::new(10);
        let first = metrics.write_begins("user/1");
        assert!(!first.overlapped());
        let second = metrics.write_begins("user/1");
        assert!(second.overlapped());
        let other = metrics.write_begins("user/2");
        assert!(!other.overlapped());
        drop((first, second, other));
        assert!(!metrics.write_begins("user/1").overlapped());
        assert_eq!(
            metrics.snapshot().overlapping_writes.get("user/1"),
            Some(&1)
        );
    }

    #[test]
    fn log_is_bounded() {
        let metrics = Metrics::new(2);
        for status in [200, 201, 202] {
            metrics.record(LogEntry {
                at: 0.0,
                service: ServiceKind::Bmc,
                host: Some("h1".into()),
                method: "POST".into(),
                path: "/x".into(),
                endpoint: "POST /x".into(),
                status,
                elapsed: 0.0,
            });
        }
        let log = metrics.log();
        assert_eq!(log.len(), 2);
        assert_eq!(log[0].status, 201);
        let snapshot = metrics.snapshot();
        assert_eq!(snapshot.requests, 3);
        assert_eq!(snapshot.endpoint("bmc POST /x"), 3);
        assert_eq!(snapshot.host("h1").bmc_writes, 3);
    }

    #[test]
    fn connections_are_counted_per_service_and_per_bmc() {
        let metrics = Metrics::new(0);
        metrics.connection(ServiceKind::Bmc, Some("h1"), ConnectionStart::TlsFull);
        metrics.connection(ServiceKind::Bmc, Some("h1"), ConnectionStart::TlsResumed);
        metrics.connection(ServiceKind::Bmc, Some("h2"), ConnectionStart::TlsFailed);
        metrics.connection(ServiceKind::Foreman, None, ConnectionStart::Plain);
        metrics.connection_closed(ServiceKind::Bmc);
        let snapshot = metrics.snapshot();
        assert_eq!(
            snapshot.bmc_connections,
            ConnectionCounters {
                accepted: 3,
                tls_full: 1,
                tls_resumed: 1,
                tls_failed: 1,
                open: 1,
                peak_open: 2,
            }
        );
        assert_eq!(snapshot.foreman_connections.accepted, 1);
        assert_eq!(snapshot.foreman_connections.tls_full, 0);
        assert_eq!(snapshot.host("h1").bmc_connections, 2);
        assert_eq!(snapshot.host("h1").bmc_tls_resumed, 1);
        assert_eq!(snapshot.host("h2").bmc_connections, 1);
    }
}
