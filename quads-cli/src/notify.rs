//! `[notify]` and `quads notify`: the channels read before any runtime (their secret files
//! too), the notifications after a `move-hosts` run (its clouds provisioned, validated or
//! failed), after `quads validate` (its clouds validated or failed) and on demand (schedules
//! ending within `days_before`, and whatever an earlier run failed to send). Sending holds the
//! run lock. Exit codes of `quads notify`: 0 every send went, 1 one failed (it stays pending),
//! 2 no channel configured or another run holds the lock (nothing queued).

use std::path::Path;
use std::sync::Arc;

use anyhow::anyhow;
use provision_core::executor::{RunReport, ValidationReport};
use provision_core::notify::{self, Event, Notifier, NotifyConfig, NotifyReport};
use provision_core::{OpenMode, Snapshot, Store, StoreOptions, SystemClock, Timestamp};
use tokio_util::sync::CancellationToken;

use crate::admin::output::table;
use crate::config::ConfigFile;
use crate::move_hosts::{EXIT_FAILED, EXIT_OK, Outcome, failure};

/// `[notify]` and its channels, read before any runtime.
#[derive(Debug, Clone)]
pub struct PreparedNotify {
    /// The table.
    pub config: NotifyConfig,
    /// Its channels (none when it names none).
    pub notifier: Notifier,
}

/// `[notify]` (nothing configured when there is none) and the files it names, read.
///
/// # Errors
/// When the table is invalid or a secret file cannot be read (its content never in the
/// message).
pub fn notify_config(file: &ConfigFile) -> anyhow::Result<PreparedNotify> {
    let config: NotifyConfig = file.table("notify")?;
    let notifier = notify::channels(&config).map_err(|e| anyhow!(e))?;
    Ok(PreparedNotify { config, notifier })
}

/// After a run: its events, then every pending notification, into `report.notifications`.
/// A store error is logged, not fatal: the moves are done and recorded.
pub async fn after_run(
    store: &Store,
    prepared: &PreparedNotify,
    report: &mut RunReport,
    cancel: &CancellationToken,
) {
    let at = report
        .target_time
        .parse::<Timestamp>()
        .unwrap_or_else(|_| Timestamp::from_system_time(std::time::SystemTime::now()));
    let events = |snapshot: &Snapshot| notify::run_events(report, snapshot, at);
    let sent = send_after(store, prepared, at, cancel, events).await;
    report.notifications = sent;
}

/// After `quads validate`: its clouds validated or failed, then every pending notification,
/// into `report.notifications`. As [`after_run`], a store error is logged, not fatal.
pub async fn after_validation(
    store: &Store,
    prepared: &PreparedNotify,
    report: &mut ValidationReport,
    at: Timestamp,
    cancel: &CancellationToken,
) {
    let events = |snapshot: &Snapshot| notify::validation_events(&report.clouds, snapshot, at);
    let sent = send_after(store, prepared, at, cancel, events).await;
    report.notifications = sent;
}

/// The events `events` finds in the store's snapshot, sent (or deferred) under the run lock;
/// `None` when no channel is configured or the store failed (logged).
async fn send_after(
    store: &Store,
    prepared: &PreparedNotify,
    at: Timestamp,
    cancel: &CancellationToken,
    events: impl FnOnce(&Snapshot) -> Vec<Event>,
) -> Option<NotifyReport> {
    if prepared.notifier.is_empty() {
        return None;
    }
    async {
        let events = events(&store.snapshot().await?);
        notify::notify_locked(store, &prepared.notifier, &events, at, true, cancel).await
    }
    .await
    .inspect_err(|e| tracing::warn!(error = %e, "notifications not sent"))
    .ok()
}

/// One line per notification sent or failed, for the summaries.
#[must_use]
pub fn lines(report: &NotifyReport) -> String {
    let mut out = String::new();
    if let Some(why) = &report.deferred {
        out.push_str(&format!(
            "notifications left pending for the next round: {why}\n"
        ));
    }
    for d in &report.sent {
        out.push_str(&format!("notified {} by {}\n", d.event, d.channel));
    }
    for d in &report.failed {
        out.push_str(&format!(
            "NOT notified {} by {} (pending): {}\n",
            d.event,
            d.channel,
            d.error.as_deref().unwrap_or("")
        ));
    }
    out
}

/// `quads notify [--date T]`: queues the schedules ending within `days_before` of `at` (default
/// now) and sends every pending notification. Blocking (on the process's runtime).
#[must_use]
pub fn run(
    store_path: &Path,
    prepared: &PreparedNotify,
    at: Option<Timestamp>,
    json: bool,
) -> Outcome {
    if prepared.notifier.is_empty() {
        return failure(
            true,
            anyhow!("notify: no channel is configured ([notify.smtp] or [notify.webhook])"),
        );
    }
    let runtime = match crate::process::runtime() {
        Ok(r) => r,
        Err(e) => return failure(false, e),
    };
    runtime.block_on(async {
        let store = match Store::open(StoreOptions {
            path: store_path.to_owned(),
            mode: OpenMode::MustExist,
            clock: Arc::new(SystemClock),
        })
        .await
        {
            Ok(s) => s,
            Err(e) => return failure(true, anyhow!(e)),
        };
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let signals = tokio::spawn(async move {
            crate::signals::interrupted().await;
            stop.cancel();
        });
        let now = at.unwrap_or_else(|| Timestamp::from_system_time(std::time::SystemTime::now()));
        let result = async {
            let snapshot = store.snapshot().await?;
            let events = notify::schedules_ending(&snapshot, now, &prepared.config.days_before);
            // refused (and nothing queued) while a move, a validation or another notify runs
            notify::notify_locked(&store, &prepared.notifier, &events, now, false, &cancel).await
        }
        .await;
        signals.abort();
        store.close().await;
        match result {
            Ok(report) => Outcome {
                stdout: if json {
                    serde_json::to_string_pretty(&report)
                        .map(|s| s + "\n")
                        .unwrap_or_default()
                } else if report.sent.is_empty() && report.failed.is_empty() {
                    "nothing to notify\n".to_owned()
                } else {
                    let rows = report
                        .sent
                        .iter()
                        .map(|d| vec![d.event.clone(), d.channel.clone(), "sent".to_owned()])
                        .chain(report.failed.iter().map(|d| {
                            vec![
                                d.event.clone(),
                                d.channel.clone(),
                                format!("FAILED (pending): {}", d.error.as_deref().unwrap_or("")),
                            ]
                        }));
                    table(&["event", "channel", "result"], rows)
                },
                code: if report.failed.is_empty() {
                    EXIT_OK
                } else {
                    EXIT_FAILED
                },
                error: None,
            },
            Err(e) => failure(e.is_refusal(), anyhow!(e)),
        }
    })
}
