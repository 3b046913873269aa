//! The notifications table: every event queued once per channel (its identity and the channel
//! are the key), pending until a send succeeds, so a rerun sends nothing twice and a failed send
//! is tried again by the next run.

use rusqlite::{Connection, OptionalExtension as _, params};

use super::sql::{parse, parse_opt};
use super::{Store, StoreError, immediate};
use crate::time::Timestamp;

/// One notification as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecord {
    /// The event's identity (`cloud-validated:cloud02:1234`).
    pub event: String,
    /// `email` or `webhook`.
    pub channel: String,
    /// The event as JSON.
    pub payload: String,
    /// Whether it was sent.
    pub sent: bool,
    /// Sends tried.
    pub attempts: u32,
    /// Why the last send failed (no secret: the channels' messages carry none).
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: Timestamp,
    /// When it was sent.
    pub sent_at: Option<Timestamp>,
}

/// A notification to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedNotification {
    /// The event's identity.
    pub event: String,
    /// `email` or `webhook`.
    pub channel: String,
    /// The event as JSON.
    pub payload: String,
}

fn insert(conn: &Connection, n: &QueuedNotification, now: Timestamp) -> Result<bool, StoreError> {
    let added = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO notifications (event, channel, payload, created_at)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![n.event, n.channel, n.payload, now.to_string()])?;
    Ok(added == 1)
}

/// A row as read: the record's fields and its two times as text.
type RawRow = (
    String,
    String,
    String,
    String,
    u32,
    Option<String>,
    String,
    Option<String>,
);

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ))
}

fn select(conn: &Connection, pending_only: bool) -> Result<Vec<NotificationRecord>, StoreError> {
    let sql = if pending_only {
        "SELECT event, channel, payload, state, attempts, last_error, created_at, sent_at
         FROM notifications WHERE state = 'pending' ORDER BY created_at, event, channel"
    } else {
        "SELECT event, channel, payload, state, attempts, last_error, created_at, sent_at
         FROM notifications ORDER BY created_at, event, channel"
    };
    let rows = conn
        .prepare_cached(sql)?
        .query_map([], row)?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(
            |(event, channel, payload, state, attempts, last_error, created, sent)| {
                Ok(NotificationRecord {
                    event,
                    channel,
                    payload,
                    sent: state == "sent",
                    attempts,
                    last_error,
                    created_at: parse(&created, "notifications.created_at")?,
                    sent_at: parse_opt(sent.as_deref(), "notifications.sent_at")?,
                })
            },
        )
        .collect()
}

impl Store {
    /// Queues notifications not queued before (same event and channel); returns how many are
    /// new. One transaction.
    ///
    /// # Errors
    /// SQLite's.
    pub async fn queue_notifications(
        &self,
        queued: Vec<QueuedNotification>,
    ) -> Result<usize, StoreError> {
        let now = self.now();
        self.writer()
            .call(move |c| {
                immediate(c, |tx| {
                    let mut added = 0;
                    for n in &queued {
                        added += usize::from(insert(tx, n, now)?);
                    }
                    Ok(added)
                })
            })
            .await
    }

    /// Notifications not sent yet, oldest first.
    ///
    /// # Errors
    /// SQLite's, or [`StoreError::Corrupt`] for an unreadable time.
    pub async fn pending_notifications(&self) -> Result<Vec<NotificationRecord>, StoreError> {
        self.reader().call(|c| select(c, true)).await
    }

    /// Every notification, oldest first.
    ///
    /// # Errors
    /// SQLite's, or [`StoreError::Corrupt`] for an unreadable time.
    pub async fn notifications(&self) -> Result<Vec<NotificationRecord>, StoreError> {
        self.reader().call(|c| select(c, false)).await
    }

    /// Records a send of `event` on `channel`: sent, or failed with `error` (still pending).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] or SQLite's.
    pub async fn record_notification_send(
        &self,
        event: String,
        channel: String,
        error: Option<String>,
    ) -> Result<(), StoreError> {
        let now = self.now();
        self.writer()
            .call(move |c| {
                immediate(c, |tx| {
                    let found: Option<String> = tx
                        .query_row(
                            "SELECT state FROM notifications WHERE event = ?1 AND channel = ?2",
                            params![event, channel],
                            |r| r.get(0),
                        )
                        .optional()?;
                    if found.is_none() {
                        return Err(StoreError::NotFound {
                            what: format!("notification {event} on {channel}"),
                        });
                    }
                    match &error {
                        None => tx.execute(
                            "UPDATE notifications SET state = 'sent', sent_at = ?3,
                             attempts = attempts + 1, last_error = NULL
                             WHERE event = ?1 AND channel = ?2",
                            params![event, channel, now.to_string()],
                        )?,
                        Some(e) => tx.execute(
                            "UPDATE notifications SET attempts = attempts + 1, last_error = ?3
                             WHERE event = ?1 AND channel = ?2",
                            params![event, channel, e],
                        )?,
                    };
                    Ok(())
                })
            })
            .await
    }
}
