//! A run's progress as it happens: hosts finished by how they ended, hosts in each step right
//! now, and an event per host as it ends. [`RunProgress`] is the handle a caller creates, gives
//! to the run and reads from another task (bars, a status line); the run's periodic `progress`
//! log line reads the same counters. Nothing here prints.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::broadcast;

use super::report::{HostReport, HostStatus};
use crate::limits::Limits;

/// Host-end events kept for a subscriber that falls behind; older ones are dropped (it learns
/// how many through [`broadcast::error::RecvError::Lagged`]; the counts stay exact).
const EVENTS_KEPT: usize = 1024;

/// A run's progress, shared by the run and whoever watches it (cheap to clone).
///
/// Create one, [`subscribe`](Self::subscribe) before the run starts to learn of every host's
/// end, pass it in [`Execution`](super::Execution) or [`RunSetup`](super::RunSetup), and read
/// [`snapshot`](Self::snapshot) whenever convenient.
#[derive(Debug, Clone)]
pub struct RunProgress {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    total: AtomicUsize,
    ended: Progress,
    stages: Stages,
    /// The run's limits, for the hosts in flight; set when the run starts.
    limits: Mutex<Option<Limits>>,
    events: broadcast::Sender<HostEnded>,
}

impl Default for RunProgress {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                total: AtomicUsize::new(0),
                ended: Progress::default(),
                stages: Stages::default(),
                limits: Mutex::new(None),
                events: broadcast::channel(EVENTS_KEPT).0,
            }),
        }
    }
}

impl RunProgress {
    /// A handle with nothing counted yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Every host's end from now on, as it happens.
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<HostEnded> {
        self.inner.events.subscribe()
    }

    /// The counts right now.
    #[must_use]
    pub fn snapshot(&self) -> ProgressSnapshot {
        let [moved, failed, interrupted] = self.inner.ended.counts();
        let in_flight = lock(&self.inner.limits)
            .as_ref()
            .map_or(0, |l| l.report().hosts.in_flight);
        ProgressSnapshot {
            total: self.inner.total.load(Ordering::Relaxed),
            moved,
            failed,
            interrupted,
            in_flight,
            stages: self.inner.stages.now(),
        }
    }

    /// A run of `total` hosts within `limits` starts.
    pub(crate) fn start(&self, total: usize, limits: Limits) {
        self.inner.total.fetch_add(total, Ordering::Relaxed);
        *lock(&self.inner.limits) = Some(limits);
    }

    /// The per-step counts the hosts' steps enter and leave.
    pub(crate) fn stages(&self) -> Stages {
        self.inner.stages.clone()
    }

    /// A host ended: counted, then announced.
    pub(crate) fn count(&self, report: &HostReport) {
        self.inner.ended.count(report.status);
        // No subscriber is fine: the counts are what matter.
        let _ = self.inner.events.send(HostEnded::from(report));
    }
}

/// The progress of a run at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProgressSnapshot {
    /// Hosts the run has to move.
    pub total: usize,
    /// Moved so far.
    pub moved: usize,
    /// Failed so far.
    pub failed: usize,
    /// Stopped by Ctrl-C or SIGTERM so far.
    pub interrupted: usize,
    /// Hosts holding a slot of the hosts-in-flight limit.
    pub in_flight: usize,
    /// Hosts in each step right now, by step word (steps with no host left are absent).
    pub stages: BTreeMap<String, usize>,
}

impl ProgressSnapshot {
    /// Hosts that ended, however.
    #[must_use]
    pub fn finished(&self) -> usize {
        self.moved + self.failed + self.interrupted
    }

    /// `step=N` for every step with hosts in it, in step-word order.
    #[must_use]
    pub fn stage_line(&self) -> String {
        self.stages
            .iter()
            .map(|(s, n)| format!("{s}={n}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One host's end, announced as it happens.
#[derive(Debug, Clone, PartialEq)]
pub struct HostEnded {
    /// The host.
    pub host: String,
    /// How it ended.
    pub status: HostStatus,
    /// The step that failed or was stopped.
    pub step: Option<String>,
    /// What went wrong.
    pub error: Option<String>,
    /// Seconds from its start to its end.
    pub seconds: f64,
}

impl From<&HostReport> for HostEnded {
    fn from(r: &HostReport) -> Self {
        Self {
            host: r.host.clone(),
            status: r.status,
            step: r.failed_step.clone(),
            error: r.error.clone(),
            seconds: r.seconds,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Hosts finished so far, by how they ended.
#[derive(Debug, Default)]
struct Progress {
    moved: AtomicUsize,
    failed: AtomicUsize,
    interrupted: AtomicUsize,
}

impl Progress {
    fn count(&self, status: HostStatus) {
        let counter = match status {
            HostStatus::Moved => &self.moved,
            HostStatus::Failed => &self.failed,
            HostStatus::Interrupted => &self.interrupted,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn counts(&self) -> [usize; 3] {
        [
            self.moved.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            self.interrupted.load(Ordering::Relaxed),
        ]
    }
}

/// Hosts in each step right now (shared: clones count into the same map).
#[derive(Debug, Default, Clone)]
pub(crate) struct Stages {
    hosts: Arc<Mutex<BTreeMap<String, usize>>>,
}

/// A host's place in a step's count, left when dropped.
pub(crate) struct InStage<'a> {
    stages: &'a Stages,
    step: String,
}

impl Stages {
    pub(crate) fn enter(&self, step: String) -> InStage<'_> {
        *lock(&self.hosts).entry(step.clone()).or_default() += 1;
        InStage { stages: self, step }
    }

    /// Every step with hosts in it.
    fn now(&self) -> BTreeMap<String, usize> {
        lock(&self.hosts)
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(s, n)| (s.clone(), *n))
            .collect()
    }
}

impl Drop for InStage<'_> {
    fn drop(&mut self) {
        if let Some(n) = lock(&self.stages.hosts).get_mut(&self.step) {
            *n = n.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_count_the_hosts_in_each_step() {
        let p = RunProgress::new();
        let s = p.stages();
        let a = s.enter("boot-order".into());
        let b = s.enter("boot-order".into());
        let c = s.enter("install-wait".into());
        assert_eq!(p.snapshot().stage_line(), "boot-order=2 install-wait=1");
        drop(a);
        drop(c);
        assert_eq!(p.snapshot().stage_line(), "boot-order=1");
        drop(b);
        assert_eq!(p.snapshot().stage_line(), "");
        assert!(p.snapshot().stages.is_empty());
    }

    #[test]
    fn a_host_end_is_counted_and_announced() {
        let p = RunProgress::new();
        let mut events = p.subscribe();
        p.count(&HostReport {
            host: "h1".into(),
            from: "cloud01".into(),
            to: "cloud02".into(),
            wipe: true,
            status: HostStatus::Failed,
            failed_step: Some("boot-order".into()),
            attempts: 2,
            error: Some("no such NIC".into()),
            seconds: 1.5,
            steps: Vec::new(),
        });
        let snap = p.snapshot();
        assert_eq!((snap.failed, snap.finished()), (1, 1));
        let e = events.try_recv().ok();
        assert_eq!(
            e.map(|e| (e.host, e.status, e.step, e.error)),
            Some((
                "h1".into(),
                HostStatus::Failed,
                Some("boot-order".into()),
                Some("no such NIC".into())
            ))
        );
    }
}
