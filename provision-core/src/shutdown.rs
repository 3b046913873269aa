//! Orderly stopping (DESIGN §4): on Ctrl-C, SIGTERM or a deadline, no new step starts, steps in
//! flight (writes above all) may finish within a grace period, and what is still running when it
//! ends is cancelled; then the caller journals, logs out sessions and exits resumable.
//!
//! Two tokens carry it: [`Shutdown::stopping`] fires at once (waits and polls end, nothing new
//! starts) and [`Shutdown::aborted`] fires when the grace period ends (in-flight work is
//! dropped). Every wait is on tokio's clock.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::{TaskTracker, task_tracker::TaskTrackerToken};

/// Why work did not start or did not finish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShutdownError {
    /// The run is stopping: no new step starts.
    #[error("stopping: no new step starts")]
    Stopping,
    /// The grace period ended (or a second signal came) before the work finished.
    #[error("aborted: the {grace:?} grace period ended before the work finished")]
    Aborted {
        /// The grace period.
        grace: Duration,
    },
}

/// How [`Shutdown::drained`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Every step in flight finished.
    Clean,
    /// The grace period ended first: steps still in flight then were cancelled.
    Aborted,
}

/// The stop switch of a run. Cheap to clone; clones share the state.
#[derive(Debug, Clone)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    grace: Duration,
    stopping: CancellationToken,
    aborted: CancellationToken,
    steps: TaskTracker,
    requested: AtomicBool,
}

/// A step's place among the steps in flight; [`Shutdown::drained`] waits for all of them.
#[derive(Debug)]
pub struct StepGuard {
    _token: TaskTrackerToken,
}

impl Shutdown {
    /// A switch whose grace period, once stopping starts, is `grace`.
    #[must_use]
    pub fn new(grace: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                grace,
                stopping: CancellationToken::new(),
                aborted: CancellationToken::new(),
                steps: TaskTracker::new(),
                requested: AtomicBool::new(false),
            }),
        }
    }

    /// The grace period.
    #[must_use]
    pub fn grace(&self) -> Duration {
        self.inner.grace
    }

    /// Stops starting steps and starts the grace period, after which [`Shutdown::aborted`]
    /// fires. Later calls do nothing. Call from within a tokio runtime (the grace timer is a
    /// task); without one, in-flight work is aborted at once.
    pub fn stop_starting(&self) {
        if self.inner.requested.swap(true, Ordering::SeqCst) {
            return;
        }
        tracing::warn!(grace = ?self.inner.grace, "stopping: no new steps, in-flight work may finish");
        self.inner.stopping.cancel();
        self.inner.steps.close();
        let aborted = self.inner.aborted.clone();
        let grace = self.inner.grace;
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    tokio::select! {
                        () = tokio::time::sleep(grace) => {
                            tracing::warn!("grace period over: cancelling in-flight work");
                            aborted.cancel();
                        }
                        () = aborted.cancelled() => {}
                    }
                });
            }
            Err(_) => aborted.cancel(),
        }
    }

    /// Stops everything now (a second Ctrl-C): no grace period.
    pub fn abort(&self) {
        self.stop_starting();
        self.inner.aborted.cancel();
    }

    /// Whether a new step may start.
    #[must_use]
    pub fn may_start(&self) -> bool {
        !self.inner.stopping.is_cancelled()
    }

    /// Asks to start a step: its guard counts it among the steps in flight until dropped.
    ///
    /// # Errors
    /// [`ShutdownError::Stopping`] once stopping started.
    pub fn start_step(&self) -> Result<StepGuard, ShutdownError> {
        if self.may_start() {
            Ok(StepGuard {
                _token: self.inner.steps.token(),
            })
        } else {
            Err(ShutdownError::Stopping)
        }
    }

    /// Runs in-flight work (a write) to completion unless the grace period ends first, in which
    /// case `work` is dropped at its current await.
    ///
    /// # Errors
    /// [`ShutdownError::Aborted`] when the grace period ended first.
    pub async fn finish<F: Future>(&self, work: F) -> Result<F::Output, ShutdownError> {
        tokio::select! {
            biased;
            output = work => Ok(output),
            () = self.inner.aborted.cancelled() => Err(ShutdownError::Aborted {
                grace: self.inner.grace,
            }),
        }
    }

    /// Fires as soon as stopping starts: for waits and polls that should end then (install
    /// waits, backoffs of reads).
    #[must_use]
    pub fn stopping(&self) -> &CancellationToken {
        &self.inner.stopping
    }

    /// Fires when the grace period ends: for work allowed to finish during it (writes, their
    /// retries).
    #[must_use]
    pub fn aborted(&self) -> &CancellationToken {
        &self.inner.aborted
    }

    /// Steps in flight now.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.inner.steps.len()
    }

    /// After [`Shutdown::stop_starting`]: waits until every step in flight finished, or the
    /// grace period ended.
    pub async fn drained(&self) -> Drained {
        self.inner.stopping.cancelled().await;
        tokio::select! {
            biased;
            () = self.inner.aborted.cancelled() => Drained::Aborted,
            () = self.inner.steps.wait() => Drained::Clean,
        }
    }

    /// Turns Ctrl-C and SIGTERM into [`Shutdown::stop_starting`], and a second one into
    /// [`Shutdown::abort`]; returns after the second signal or once aborted. Spawn it.
    ///
    /// # Errors
    /// When the signal handlers cannot be installed.
    pub async fn listen_for_signals(&self) -> std::io::Result<()> {
        #[cfg(unix)]
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        for signal_number in 0..2 {
            #[cfg(unix)]
            let signal = async {
                tokio::select! {
                    r = tokio::signal::ctrl_c() => r,
                    _ = terminate.recv() => Ok(()),
                }
            };
            #[cfg(not(unix))]
            let signal = tokio::signal::ctrl_c();
            tokio::select! {
                r = signal => r?,
                () = self.inner.aborted.cancelled() => return Ok(()),
            }
            if signal_number == 0 {
                self.stop_starting();
            } else {
                tracing::warn!("second signal: aborting now");
                self.abort();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tokio::time::Instant;

    use super::*;

    /// A write of `length`, started if allowed and finished within the grace period if possible.
    async fn write(shutdown: Shutdown, length: Duration) -> Result<(), ShutdownError> {
        let _step = shutdown.start_step()?;
        shutdown.finish(tokio::time::sleep(length)).await
    }

    #[tokio::test(start_paused = true)]
    async fn in_flight_writes_finish_within_the_grace_period_and_new_ones_do_not_start() {
        let shutdown = Shutdown::new(Duration::from_secs(10));
        let t0 = Instant::now();
        let short = tokio::spawn(write(shutdown.clone(), Duration::from_secs(4)));
        let long = tokio::spawn(write(shutdown.clone(), Duration::from_secs(30)));
        tokio::task::yield_now().await;
        assert_eq!(shutdown.in_flight(), 2);
        tokio::time::sleep(Duration::from_secs(1)).await;

        shutdown.stop_starting();
        assert!(!shutdown.may_start());
        assert!(shutdown.stopping().is_cancelled());
        assert!(!shutdown.aborted().is_cancelled());
        let late = write(shutdown.clone(), Duration::from_secs(1)).await;
        assert_eq!(late, Err(ShutdownError::Stopping));

        let drained = shutdown.drained().await;
        // The 4 s write finished at 4 s; the 30 s one was cut when the grace ended at 1 + 10 s.
        assert_eq!(drained, Drained::Aborted);
        assert_eq!(t0.elapsed(), Duration::from_secs(11));
        assert_eq!(short.await.unwrap(), Ok(()));
        assert_eq!(
            long.await.unwrap(),
            Err(ShutdownError::Aborted {
                grace: Duration::from_secs(10)
            })
        );
        assert_eq!(shutdown.in_flight(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn drained_is_clean_when_everything_finishes_in_time() {
        let shutdown = Shutdown::new(Duration::from_secs(10));
        let t0 = Instant::now();
        let tasks: Vec<_> = (1..=3)
            .map(|s| tokio::spawn(write(shutdown.clone(), Duration::from_secs(s))))
            .collect();
        tokio::task::yield_now().await;
        shutdown.stop_starting();
        shutdown.stop_starting();
        assert_eq!(shutdown.drained().await, Drained::Clean);
        assert_eq!(t0.elapsed(), Duration::from_secs(3));
        for task in tasks {
            assert_eq!(task.await.unwrap(), Ok(()));
        }
        assert!(!shutdown.aborted().is_cancelled());
    }

    #[tokio::test(start_paused = true)]
    async fn abort_cuts_in_flight_work_at_once() {
        let shutdown = Shutdown::new(Duration::from_secs(60));
        let task = tokio::spawn(write(shutdown.clone(), Duration::from_secs(30)));
        tokio::time::sleep(Duration::from_secs(1)).await;
        let t0 = Instant::now();
        shutdown.abort();
        assert!(matches!(
            task.await.unwrap(),
            Err(ShutdownError::Aborted { .. })
        ));
        assert_eq!(t0.elapsed(), Duration::ZERO);
        assert!(!shutdown.may_start());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn sigterm_stops_starting_and_a_second_one_aborts() {
        // Install tokio's SIGTERM handler before any signal is sent, so that a signal arriving
        // before the listener subscribes is swallowed instead of killing the test process.
        let _keep_installed =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
        let shutdown = Shutdown::new(Duration::from_secs(600));
        let listener = {
            let shutdown = shutdown.clone();
            tokio::spawn(async move { shutdown.listen_for_signals().await })
        };
        let pid = std::process::id().to_string();
        // Wait (with a deadline) until the handler is installed and the signal acted.
        let deadline = Instant::now() + Duration::from_secs(10);
        while shutdown.may_start() {
            assert!(Instant::now() < deadline, "SIGTERM was not handled");
            let status = tokio::process::Command::new("sh")
                .args(["-c", &format!("kill -TERM {pid}")])
                .status()
                .await
                .unwrap();
            assert!(status.success());
            tokio::time::timeout(Duration::from_millis(200), shutdown.stopping().cancelled())
                .await
                .ok();
        }
        assert!(!shutdown.aborted().is_cancelled());
        while !shutdown.aborted().is_cancelled() {
            assert!(Instant::now() < deadline, "second SIGTERM was not handled");
            tokio::process::Command::new("sh")
                .args(["-c", &format!("kill -TERM {pid}")])
                .status()
                .await
                .unwrap();
            tokio::time::timeout(Duration::from_millis(200), shutdown.aborted().cancelled())
                .await
                .ok();
        }
        listener.await.unwrap().unwrap();
    }
}
