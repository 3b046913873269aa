//! Crash hygiene for BMC sessions (issue 16): the store keeps a row per session a run holds
//! open (`bmc_sessions`, written by [`super::adapters::StoreSessionLog`]); a run killed before
//! logging out leaves its rows, and the next run, once it holds the run lock and before its
//! hosts log in, deletes those sessions on their BMCs. At its end a run settles its own rows
//! the same way ([`close_run_sessions`]): a logout that met a fault, a session a manager reset
//! dropped, a login whose answer was lost.

use std::sync::Arc;
use std::time::Duration;

use crate::executor::ExecError;
use crate::executor::ports::BmcFleet;
use crate::executor::report::RunReport;
use crate::store::{BmcSessionRecord, Store, StoreError};

/// Deletes the BMC sessions an earlier run left open (the store's rows), each one logged; a
/// session deleted or already gone loses its row through the fleet's session log, one that
/// cannot be deleted (its BMC away) keeps it for the next run. Returns how many were closed.
///
/// # Errors
/// The store's, when its rows cannot be read.
pub async fn close_left_sessions(
    store: &Store,
    fleet: &Arc<dyn BmcFleet>,
) -> Result<usize, StoreError> {
    let left = store.bmc_sessions().await?;
    if left.is_empty() {
        return Ok(0);
    }
    tracing::warn!(
        sessions = left.len(),
        "closing the BMC sessions an earlier run left open"
    );
    Ok(close_rows(fleet, left).await)
}

/// Closes each of `rows` (one task per BMC, its rows in turn); how many were closed.
async fn close_rows(fleet: &Arc<dyn BmcFleet>, rows: Vec<BmcSessionRecord>) -> usize {
    let mut by_bmc: std::collections::BTreeMap<String, Vec<String>> =
        std::collections::BTreeMap::new();
    for row in rows {
        by_bmc.entry(row.bmc).or_default().push(row.session);
    }
    let mut closing = tokio::task::JoinSet::new();
    for (bmc, sessions) in by_bmc {
        let fleet = fleet.clone();
        closing.spawn(async move {
        let mut closed = 0;
        let results = fleet.close_left_sessions_on(&bmc, &sessions).await;
        for (session, result) in sessions.iter().zip(results) {
            match result {
                Ok(()) => {
                    closed += 1;
                    tracing::info!(%bmc, %session, "closed a BMC session left open");
                }
                Err(e) => {
                    tracing::warn!(%bmc, %session, error = %e, "cannot close a BMC session left open");
                }
            }
        }
        closed
        });
    }
    let mut closed = 0;
    while let Some(done) = closing.join_next().await {
        closed += done.unwrap_or(0);
    }
    closed
}

/// At the end of a run, once its handles are logged out ([`BmcFleet::close_all`]): the
/// sessions the store still lists open (the run's own, and any an earlier run left that could
/// not be closed at the start) deleted in rounds, `pause` apart, until none is left or
/// `deadline` has passed; the sessions the sweep itself opened are logged out last. Returns
/// what is still open, each one logged by BMC and path (the next run tries again).
///
/// # Errors
/// The store's, when its rows cannot be read.
pub async fn close_run_sessions(
    store: &Store,
    fleet: &Arc<dyn BmcFleet>,
    deadline: Duration,
    pause: Duration,
) -> Result<Vec<BmcSessionRecord>, StoreError> {
    let until = tokio::time::Instant::now() + deadline;
    let mut left = store.bmc_sessions().await?;
    if left.is_empty() {
        return Ok(left);
    }
    tracing::info!(
        sessions = left.len(),
        "closing the BMC sessions the run could not log out"
    );
    fleet.reopen();
    loop {
        // bounded by the deadline: a round that hangs on a BMC is given up with the rest
        let round = tokio::time::timeout_at(until, close_rows(fleet, left)).await;
        left = store.bmc_sessions().await?;
        if round.is_err() || left.is_empty() || tokio::time::Instant::now() + pause >= until {
            break;
        }
        tokio::time::sleep(pause).await;
    }
    fleet.close_all().await;
    // the sweep's own logouts may have failed too
    let left = store.bmc_sessions().await?;
    for row in &left {
        tracing::warn!(bmc = %row.bmc, session = %row.session, "a BMC session is still open at the end of the run: the next run closes it");
    }
    Ok(left)
}

/// How long the end of a run may spend on its sessions ([`close_at_end`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndOfRun {
    /// The run's request deadline: four of them (a hung logout costs one, a manager reset
    /// less), in rounds a quarter of one apart.
    pub request_timeout: Duration,
    /// After Ctrl-C or SIGTERM, no longer than this.
    pub grace: Duration,
}

impl EndOfRun {
    /// The times of `config`.
    #[must_use]
    pub fn of(config: &crate::executor::ExecutorConfig) -> Self {
        Self {
            request_timeout: config.request_timeout,
            grace: config.grace,
        }
    }
}

/// The last thing a run does before it finishes in the store: [`close_run_sessions`] within
/// `times`, and the sessions still open named in its report (`bmc path` each).
pub async fn close_at_end(
    store: &Store,
    fleet: &Arc<dyn BmcFleet>,
    times: EndOfRun,
    outcome: &mut Result<RunReport, ExecError>,
) {
    let mut deadline = times.request_timeout * 4;
    if outcome.as_ref().is_ok_and(|r| r.interrupted) {
        deadline = deadline.min(times.grace);
    }
    match close_run_sessions(store, fleet, deadline, times.request_timeout / 4).await {
        Ok(left) => {
            if let Ok(report) = outcome {
                report.bmc_sessions_open = named(left);
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot read the BMC sessions the run left open"),
    }
}

/// Each session as the report names it: `bmc path`.
fn named(rows: Vec<BmcSessionRecord>) -> Vec<String> {
    rows.into_iter()
        .map(|r| format!("{} {}", r.bmc, r.session))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::executor::ports::{BmcPort, PortError};
    use crate::model::Host;
    use crate::store::{OpenMode, StoreOptions};

    /// A fleet whose deletes fail `failures` times before they work (a logout meeting
    /// faults), and never for a session named `stuck`; a delete that works forgets the row as
    /// the session log does. Records what the sweep asked of it.
    #[derive(Debug)]
    struct Flaky {
        store: Store,
        failures: Mutex<u32>,
        asked: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl BmcFleet for Flaky {
        fn connect(&self, _host: &Host) -> Result<Arc<dyn BmcPort>, PortError> {
            Err(PortError::fatal("not used"))
        }

        async fn close_all(&self) -> usize {
            self.asked.lock().unwrap().push("close-all".to_owned());
            0
        }

        fn reopen(&self) {
            self.asked.lock().unwrap().push("reopen".to_owned());
        }

        async fn close_left_session(&self, bmc: &str, session: &str) -> Result<(), PortError> {
            self.asked.lock().unwrap().push(format!("delete {session}"));
            let failed = {
                let mut failures = self.failures.lock().unwrap();
                let failed = *failures > 0 || session == "stuck";
                *failures = failures.saturating_sub(1);
                failed
            };
            if failed {
                return Err(PortError::retryable("500"));
            }
            self.store
                .forget_bmc_session(bmc.to_owned(), session.to_owned())
                .await
                .unwrap();
            Ok(())
        }
    }

    async fn store_with(rows: &[(&str, &str)]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(StoreOptions {
            path: dir.path().join("quads.db"),
            mode: OpenMode::CreateIfMissing,
            clock: Arc::new(crate::SystemClock),
        })
        .await
        .unwrap();
        for (bmc, session) in rows {
            store
                .record_bmc_session((*bmc).to_owned(), (*session).to_owned())
                .await
                .unwrap();
        }
        (dir, store)
    }

    #[tokio::test]
    async fn the_runs_end_closes_its_sessions_through_failures_then_logs_out() {
        let (_dir, store) = store_with(&[("https://a", "/s/1"), ("https://b", "/s/2")]).await;
        let flaky = Arc::new(Flaky {
            store: store.clone(),
            failures: Mutex::new(3),
            asked: Mutex::new(Vec::new()),
        });
        let fleet: Arc<dyn BmcFleet> = flaky.clone();
        let left = close_run_sessions(
            &store,
            &fleet,
            Duration::from_secs(30),
            Duration::from_millis(1),
        )
        .await
        .unwrap();
        assert!(left.is_empty(), "{left:?}");
        assert!(store.bmc_sessions().await.unwrap().is_empty());
        let asked = flaky.asked.lock().unwrap().clone();
        assert_eq!(
            asked.first().map(String::as_str),
            Some("reopen"),
            "{asked:?}"
        );
        assert_eq!(
            asked.last().map(String::as_str),
            Some("close-all"),
            "{asked:?}"
        );
        assert!(asked.len() > 4, "deletes tried again: {asked:?}");
    }

    #[tokio::test]
    async fn what_the_runs_end_cannot_close_is_named_in_the_report() {
        let (_dir, store) = store_with(&[("https://a", "stuck"), ("https://b", "/s/2")]).await;
        let fleet: Arc<dyn BmcFleet> = Arc::new(Flaky {
            store: store.clone(),
            failures: Mutex::new(0),
            asked: Mutex::new(Vec::new()),
        });
        let left = close_run_sessions(
            &store,
            &fleet,
            Duration::from_millis(40),
            Duration::from_millis(1),
        )
        .await
        .unwrap();
        assert_eq!(named(left), ["https://a stuck"]);
        assert_eq!(store.bmc_sessions().await.unwrap().len(), 1);
    }
}
