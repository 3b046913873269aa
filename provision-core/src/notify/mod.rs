//! Notifications (QUADS's `--notify`): the events a run or the schedule produces (cloud
//! provisioned, validated, failed; a schedule ending in N days), each queued once per channel in
//! the store's `notifications` table and sent by email ([`email`]) and webhook ([`webhook`]).
//! A rerun queues nothing new, so it sends nothing twice; a send that failed stays pending and
//! the next run tries it again.

pub mod email;
pub mod events;
pub mod webhook;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

pub use self::email::{EmailChannel, SmtpConfig, SmtpTls};
pub use self::events::{Event, run_events, schedules_ending, validation_events};
pub use self::webhook::{WebhookChannel, WebhookConfig, signature};
use crate::model::{RunKind, RunState};
use crate::store::{QueuedNotification, Store, StoreError};
use crate::time::Timestamp;

/// `[notify]` in quads.toml.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// Days before a schedule ends when its tenant is told (QUADS: 7 and 1).
    pub days_before: Vec<u32>,
    /// Email over SMTP (`[notify.smtp]`).
    pub smtp: Option<SmtpConfig>,
    /// A JSON webhook (`[notify.webhook]`).
    pub webhook: Option<WebhookConfig>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            days_before: vec![7, 1],
            smtp: None,
            webhook: None,
        }
    }
}

/// Why a notification could not be set up or sent. Never carries a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// The configuration cannot work.
    #[error("[notify] {0}")]
    Config(String),
    /// A file it names cannot be read.
    #[error("[notify] cannot read {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        reason: String,
    },
    /// The mail server refused or could not be reached.
    #[error("email to {server}: {reason}")]
    Smtp {
        /// `host:port`.
        server: String,
        /// What went wrong.
        reason: String,
    },
    /// The webhook answered an error or could not be reached.
    #[error("webhook {url}: {reason}")]
    Webhook {
        /// The URL.
        url: String,
        /// What went wrong (status and a body excerpt, or the transport error).
        reason: String,
    },
}

/// A way to tell someone: email or webhook.
#[async_trait::async_trait]
pub trait Channel: Send + Sync + fmt::Debug {
    /// Its name in the store (`email`, `webhook`).
    fn name(&self) -> &'static str;
    /// Sends one event, `id` being its identity.
    async fn send(&self, id: &str, event: &Event) -> Result<(), NotifyError>;
}

/// The configured channels.
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    channels: Vec<Arc<dyn Channel>>,
}

impl Notifier {
    /// Notifies through `channels`.
    #[must_use]
    pub fn new(channels: Vec<Arc<dyn Channel>>) -> Self {
        Self { channels }
    }

    /// Whether no channel is configured (nothing is queued then).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }
}

/// The version of [`NotifyReport`]'s JSON.
pub const NOTIFY_REPORT_VERSION: u32 = 1;

/// One notification sent or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The event's identity.
    pub event: String,
    /// `email` or `webhook`.
    pub channel: String,
    /// Why it failed (absent when sent); it stays pending for the next run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a round of notifications did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyReport {
    /// [`NOTIFY_REPORT_VERSION`].
    pub version: u32,
    /// Notifications queued by this round (events new to a channel).
    pub queued: usize,
    /// Sent now.
    pub sent: Vec<Delivery>,
    /// Tried and failed (still pending).
    pub failed: Vec<Delivery>,
    /// Why nothing was sent this round although events were queued: another run held the run
    /// lock (they go with the next round). Absent when the round sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferred: Option<String>,
}

impl NotifyReport {
    /// A report of nothing done.
    #[must_use]
    pub fn empty() -> Self {
        Self {
            version: NOTIFY_REPORT_VERSION,
            queued: 0,
            sent: Vec::new(),
            failed: Vec::new(),
            deferred: None,
        }
    }
}

/// Queues `events` once per channel, then sends every pending notification of a configured
/// channel (this round's and those an earlier run failed to send), recording each outcome.
/// Stops starting sends when `cancel` fires (what is left stays pending).
///
/// # Errors
/// The store's; a failed send is in the report, not an error.
pub async fn notify(
    store: &Store,
    notifier: &Notifier,
    events: &[Event],
    cancel: &CancellationToken,
) -> Result<NotifyReport, StoreError> {
    let mut report = NotifyReport::empty();
    if notifier.is_empty() {
        return Ok(report);
    }
    report.queued = queue(store, notifier, events).await?;
    send_pending(store, notifier, cancel, &mut report).await?;
    Ok(report)
}

/// [`notify`] as a run of its own, holding the run lock so no other process sends the same
/// pending notifications at the same time. With `defer` (after a move or a validation), a lock
/// held by another run queues the events and leaves the sending to the next round, saying so in
/// [`NotifyReport::deferred`]; without it (`quads notify`), that is an error and nothing changes.
///
/// # Errors
/// The store's, [`StoreError::RunActive`] when another run holds the lock and not `defer`.
pub async fn notify_locked(
    store: &Store,
    notifier: &Notifier,
    events: &[Event],
    at: Timestamp,
    defer: bool,
    cancel: &CancellationToken,
) -> Result<NotifyReport, StoreError> {
    let mut report = NotifyReport::empty();
    if notifier.is_empty() {
        return Ok(report);
    }
    let lock = match store.begin_run(RunKind::Notify, at).await {
        Ok(lock) => lock,
        Err(e @ StoreError::RunActive { .. }) if defer => {
            report.queued = queue(store, notifier, events).await?;
            tracing::warn!(error = %e, "notifications left pending for the next round");
            report.deferred = Some(e.to_string());
            return Ok(report);
        }
        Err(e) => return Err(e),
    };
    let result = async {
        report.queued = queue(store, notifier, events).await?;
        send_pending(store, notifier, cancel, &mut report).await
    }
    .await;
    let state = if result.is_ok() && cancel.is_cancelled() {
        RunState::Interrupted
    } else if result.is_ok() && report.failed.is_empty() {
        RunState::Succeeded
    } else {
        RunState::Failed
    };
    store.finish_run(lock, state).await?;
    result.map(|()| report)
}

/// Queues `events` once per channel of `notifier`; returns how many were new.
async fn queue(store: &Store, notifier: &Notifier, events: &[Event]) -> Result<usize, StoreError> {
    let mut queued = Vec::new();
    for event in events {
        let payload = serde_json::to_string(event)
            .map_err(|e| StoreError::Invalid(format!("event {}: {e}", event.id())))?;
        for channel in &notifier.channels {
            queued.push(QueuedNotification {
                event: event.id(),
                channel: channel.name().to_owned(),
                payload: payload.clone(),
            });
        }
    }
    store.queue_notifications(queued).await
}

/// Sends every pending notification of a configured channel, recording each outcome into the
/// store and `report`; stops starting sends when `cancel` fires.
async fn send_pending(
    store: &Store,
    notifier: &Notifier,
    cancel: &CancellationToken,
    report: &mut NotifyReport,
) -> Result<(), StoreError> {
    for pending in store.pending_notifications().await? {
        if cancel.is_cancelled() {
            break;
        }
        let Some(channel) = notifier
            .channels
            .iter()
            .find(|c| c.name() == pending.channel)
        else {
            continue;
        };
        let event: Event = match serde_json::from_str(&pending.payload) {
            Ok(e) => e,
            Err(e) => {
                return Err(StoreError::Corrupt(format!(
                    "notification {} payload: {e}",
                    pending.event
                )));
            }
        };
        let result = tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            r = channel.send(&pending.event, &event) => r,
        };
        let error = result.err().map(|e| e.to_string());
        match &error {
            None => tracing::info!(event = %pending.event, channel = channel.name(), "notified"),
            Some(e) => {
                tracing::warn!(event = %pending.event, channel = channel.name(), error = %e, "notification failed");
            }
        }
        store
            .record_notification_send(
                pending.event.clone(),
                pending.channel.clone(),
                error.clone(),
            )
            .await?;
        let delivery = Delivery {
            event: pending.event,
            channel: pending.channel,
            error,
        };
        if delivery.error.is_none() {
            report.sent.push(delivery);
        } else {
            report.failed.push(delivery);
        }
    }
    Ok(())
}

/// Reads a secret file (its first line, trimmed), naming the file but never its content.
pub(crate) fn read_secret(path: &std::path::Path) -> Result<crate::Secret, NotifyError> {
    let text = std::fs::read_to_string(path).map_err(|e| NotifyError::File {
        path: path.to_owned(),
        reason: e.kind().to_string(),
    })?;
    let line = text.lines().next().unwrap_or_default().trim();
    if line.is_empty() {
        return Err(NotifyError::Config(format!("{} is empty", path.display())));
    }
    Ok(crate::Secret::new(line.to_owned()))
}

/// The channels `config` names, their secret files read (blocking: call before the runtime).
///
/// # Errors
/// [`NotifyError::Config`] or [`NotifyError::File`].
pub fn channels(config: &NotifyConfig) -> Result<Notifier, NotifyError> {
    let mut channels: Vec<Arc<dyn Channel>> = Vec::new();
    if let Some(smtp) = &config.smtp {
        channels.push(Arc::new(EmailChannel::new(smtp)?));
    }
    if let Some(webhook) = &config.webhook {
        channels.push(Arc::new(WebhookChannel::new(webhook)?));
    }
    Ok(Notifier::new(channels))
}
