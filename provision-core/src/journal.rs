//! The run journal: intent before acting, outcome after, appended through the store's writer (in
//! shared transactions, each row answered once committed), and
//! the queries a resumed run and `quads runs show` need. Entry details are stored as versioned JSON.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use crate::model::{EntryId, JournalEntry, Phase, RunId, Step, StepOutcome, Subject};
use crate::store::sql::{parse, parse_opt};
use crate::store::{Store, StoreError};

/// Step-specific facts of a journal entry (`from`, `to`, a job id, ...), as text pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Details {
    fields: BTreeMap<String, String>,
}

impl Details {
    /// No details.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// These details plus `key = value`.
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.insert(key.into(), value.into());
        self
    }

    /// The value of `key`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }

    /// All pairs, by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The stored form: `{"v":1,"fields":{...}}`.
    pub(crate) fn to_json(&self) -> Result<String, StoreError> {
        serde_json::to_string(&DetailsV1 {
            v: 1,
            fields: &self.fields,
        })
        .map_err(|e| StoreError::Corrupt(format!("journal details: {e}")))
    }

    /// Reads any known version of the stored form.
    pub(crate) fn from_json(text: &str) -> Result<Self, StoreError> {
        let corrupt = |e: serde_json::Error| StoreError::Corrupt(format!("journal details: {e}"));
        let Version { v } = serde_json::from_str(text).map_err(corrupt)?;
        match v {
            1 => Ok(serde_json::from_str::<DetailsV1>(text)
                .map_err(corrupt)?
                .into()),
            other => Err(StoreError::Corrupt(format!(
                "journal details version {other} is newer than this quads understands"
            ))),
        }
    }
}

#[derive(Deserialize)]
struct Version {
    v: u32,
}

/// Version 1 of the stored details: `fields` owned when read, borrowed when written (a journal
/// row is written for every step of every host, and its details need no copy to be printed).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DetailsV1<F = BTreeMap<String, String>> {
    v: u32,
    #[serde(default)]
    fields: F,
}

impl From<DetailsV1> for Details {
    fn from(d: DetailsV1) -> Self {
        Self { fields: d.fields }
    }
}

/// One attempt of one step on one subject within a run: the key every entry is written under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepAttempt {
    /// The run.
    pub run: RunId,
    /// The host or cloud.
    pub subject: Subject,
    /// The step.
    pub step: Step,
    /// The attempt, from 1.
    pub attempt: u32,
}

/// One journal row to append, as [`Journal::append_all`] takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalRow {
    /// What is about to be done ([`Journal::intent`]).
    Intent {
        /// Whose step, which attempt.
        at: StepAttempt,
        /// Step-specific facts.
        details: Details,
    },
    /// What came of a step ([`Journal::outcome`]).
    Outcome {
        /// Whose step, which attempt.
        at: StepAttempt,
        /// How it ended.
        outcome: StepOutcome,
        /// Why it failed, when it did.
        error: Option<String>,
        /// Step-specific facts.
        details: Details,
    },
}

impl JournalRow {
    fn into_entry(self) -> NewEntry {
        match self {
            Self::Intent { at, details } => NewEntry {
                at,
                phase: Phase::Intent,
                outcome: None,
                error: None,
                details,
            },
            Self::Outcome {
                at,
                outcome,
                error,
                details,
            } => NewEntry {
                at,
                phase: Phase::Outcome,
                outcome: Some(outcome),
                error,
                details,
            },
        }
    }
}

/// The journal of runs, written through the store's single writer. Appends queued together share
/// one transaction (group commit); each answers once the transaction holding its row committed.
#[derive(Debug, Clone)]
pub struct Journal {
    store: Store,
}

impl Journal {
    pub(crate) fn new(store: Store) -> Self {
        Self { store }
    }

    /// Records what is about to be done, before doing it.
    ///
    /// # Errors
    /// A [`StoreError`] when the entry cannot be written (then do not act).
    pub async fn intent(&self, at: &StepAttempt, details: Details) -> Result<EntryId, StoreError> {
        let entry = NewEntry {
            at: at.clone(),
            phase: Phase::Intent,
            outcome: None,
            error: None,
            details,
        };
        let recorded_at = self.store.now().to_string();
        self.store
            .writer()
            .call_grouped(move |c| append(c, &entry, &recorded_at))
            .await
    }

    /// Records what came of a step, after acting and verifying.
    ///
    /// # Errors
    /// A [`StoreError`] when the entry cannot be written.
    pub async fn outcome(
        &self,
        at: &StepAttempt,
        outcome: StepOutcome,
        error: Option<String>,
        details: Details,
    ) -> Result<EntryId, StoreError> {
        let entry = NewEntry {
            at: at.clone(),
            phase: Phase::Outcome,
            outcome: Some(outcome),
            error,
            details,
        };
        let recorded_at = self.store.now().to_string();
        self.store
            .writer()
            .call_grouped(move |c| append(c, &entry, &recorded_at))
            .await
    }

    /// Appends `rows` in order, all in one transaction (shared with other grouped appends like
    /// any single one): all of them are written or none is. Gives their ids, in order.
    ///
    /// This is how an outcome rides with the next intent of the same host: one commit for both.
    ///
    /// # Errors
    /// A [`StoreError`] when a row cannot be written; then none of `rows` is.
    pub async fn append_all(&self, rows: Vec<JournalRow>) -> Result<Vec<EntryId>, StoreError> {
        self.append_all_then(rows, |_| Ok(())).await
    }

    /// [`Journal::append_all`], then `then` in the same transaction: all of it is written or
    /// none is.
    pub(crate) async fn append_all_then<F>(
        &self,
        rows: Vec<JournalRow>,
        mut then: F,
    ) -> Result<Vec<EntryId>, StoreError>
    where
        F: FnMut(&Connection) -> Result<(), StoreError> + Send + 'static,
    {
        // one instant for all of them, printed once
        let recorded_at = self.store.now().to_string();
        let entries: Vec<NewEntry> = rows.into_iter().map(JournalRow::into_entry).collect();
        self.store
            .writer()
            .call_grouped(move |c| {
                let ids = entries
                    .iter()
                    .map(|e| append(c, e, &recorded_at))
                    .collect::<Result<Vec<_>, _>>()?;
                then(c)?;
                Ok(ids)
            })
            .await
    }

    /// The last outcome of `step` on `subject` in `run` that left reality as wanted
    /// ([`StepOutcome::is_done`]), if any: what a resumed run may trust (after re-checking).
    ///
    /// # Errors
    /// A [`StoreError`] when the journal cannot be read.
    pub async fn last_done(
        &self,
        run: RunId,
        subject: Subject,
        step: Step,
    ) -> Result<Option<JournalEntry>, StoreError> {
        self.store
            .reader()
            .call(move |c| last_done(c, run, &subject, &step))
            .await
    }

    /// Every entry of a run, in the order written.
    ///
    /// # Errors
    /// A [`StoreError`] when the journal cannot be read.
    pub async fn entries(&self, run: RunId) -> Result<Vec<JournalEntry>, StoreError> {
        self.store.reader().call(move |c| entries(c, run)).await
    }
}

struct NewEntry {
    at: StepAttempt,
    phase: Phase,
    outcome: Option<StepOutcome>,
    error: Option<String>,
    details: Details,
}

fn subject_columns(subject: &Subject) -> (Option<&str>, Option<&str>) {
    match subject {
        Subject::Host(h) => (Some(h.as_str()), None),
        Subject::Cloud(c) => (None, Some(c.as_str())),
    }
}

/// Writes `e`; `recorded_at` is the text of a [`Timestamp`](crate::time::Timestamp).
fn append(conn: &Connection, e: &NewEntry, recorded_at: &str) -> Result<EntryId, StoreError> {
    if e.at.attempt == 0 {
        return Err(StoreError::Invalid("attempts count from 1".to_owned()));
    }
    let (host, cloud) = subject_columns(&e.at.subject);
    // the hot statement of a run (two per step): parsed once per connection, then cached
    conn.prepare_cached(
        "INSERT INTO journal (run, host, cloud, step, phase, attempt, outcome, error, details, \
         recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        e.at.run.0,
        host,
        cloud,
        e.at.step.to_word(),
        e.phase.as_str(),
        e.at.attempt,
        e.outcome.map(StepOutcome::as_str),
        e.error,
        e.details.to_json()?,
        recorded_at,
    ])?;
    Ok(EntryId(conn.last_insert_rowid()))
}

type EntryRow = (
    i64,
    i64,
    Option<String>,
    Option<String>,
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
    String,
    String,
);

const ENTRY_COLUMNS: &str =
    "id, run, host, cloud, step, phase, attempt, outcome, error, details, recorded_at";

fn entry_row(r: &Row<'_>) -> rusqlite::Result<EntryRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
    ))
}

fn entry_from(
    (id, run, host, cloud, step, phase, attempt, outcome, error, details, recorded_at): EntryRow,
) -> Result<JournalEntry, StoreError> {
    let subject = match (host, cloud) {
        (Some(h), None) => Subject::Host(parse(&h, "journal.host")?),
        (None, Some(c)) => Subject::Cloud(parse(&c, "journal.cloud")?),
        _ => {
            return Err(StoreError::Corrupt(format!(
                "journal entry {id} has no single subject"
            )));
        }
    };
    Ok(JournalEntry {
        id: EntryId(id),
        run: RunId(run),
        subject,
        step: parse(&step, "journal.step")?,
        phase: parse(&phase, "journal.phase")?,
        attempt: u32::try_from(attempt)
            .map_err(|_| StoreError::Corrupt(format!("journal.attempt {attempt}")))?,
        outcome: parse_opt(outcome.as_deref(), "journal.outcome")?,
        error,
        details: Details::from_json(&details)?,
        recorded_at: parse(&recorded_at, "journal.recorded_at")?,
    })
}

pub(crate) fn entries(conn: &Connection, run: RunId) -> Result<Vec<JournalEntry>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {ENTRY_COLUMNS} FROM journal WHERE run = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map([run.0], entry_row)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(entry_from(row?)?);
    }
    Ok(out)
}

fn last_done(
    conn: &Connection,
    run: RunId,
    subject: &Subject,
    step: &Step,
) -> Result<Option<JournalEntry>, StoreError> {
    let (host, cloud) = subject_columns(subject);
    conn.query_row(
        &format!(
            "SELECT {ENTRY_COLUMNS} FROM journal WHERE run = ?1 AND step = ?2 \
             AND host IS ?3 AND cloud IS ?4 AND phase = 'outcome' \
             AND outcome IN ('verified', 'already-done') ORDER BY id DESC LIMIT 1"
        ),
        params![run.0, step.to_word(), host, cloud],
        entry_row,
    )
    .optional()?
    .map(entry_from)
    .transpose()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn details_round_trip_as_versioned_json() {
        let d = Details::new()
            .with("from", "cloud01")
            .with("job", 42.to_string());
        let json = d.to_json().unwrap();
        assert_eq!(json, r#"{"v":1,"fields":{"from":"cloud01","job":"42"}}"#);
        assert_eq!(Details::from_json(&json).unwrap(), d);
        assert!(Details::from_json(r#"{"v":2,"fields":{}}"#).is_err());
        assert!(Details::from_json(r#"{"fields":{}}"#).is_err());
    }
}
