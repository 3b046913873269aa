//! The run lock that makes `move-hosts` cron-safe (an OS advisory lock on `<db>.lock` plus one
//! `runs` row in state `active`) and the SQL of the `runs` table.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::StoreError;
use super::sql::{parse, parse_opt};
use crate::model::{RunId, RunKind, RunRecord, RunState};
use crate::time::Timestamp;

/// The right to run: held from [`Store::begin_run`](super::Store::begin_run) until
/// [`Store::finish_run`](super::Store::finish_run) or drop. While it lives, no other process (or
/// store handle) can begin a run against the same database; when its process dies, the OS drops
/// the lock and the next run marks the orphaned row `abandoned`.
#[derive(Debug)]
pub struct RunLock {
    pub(crate) record: RunRecord,
    pub(crate) file: File,
}

impl RunLock {
    /// The run's id.
    #[must_use]
    pub fn id(&self) -> RunId {
        self.record.id
    }

    /// The run as recorded when it began.
    #[must_use]
    pub fn record(&self) -> &RunRecord {
        &self.record
    }
}

type RunRow = (i64, String, String, i64, String, Option<String>, String);

const RUN_COLUMNS: &str = "id, kind, state, pid, started_at, finished_at, target_time";

fn run_row(r: &Row<'_>) -> rusqlite::Result<RunRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn run_from(
    (id, kind, state, pid, started_at, finished_at, target_time): RunRow,
) -> Result<RunRecord, StoreError> {
    Ok(RunRecord {
        id: RunId(id),
        kind: parse(&kind, "runs.kind")?,
        state: parse(&state, "runs.state")?,
        pid: u32::try_from(pid).map_err(|_| StoreError::Corrupt(format!("runs.pid {pid}")))?,
        started_at: parse(&started_at, "runs.started_at")?,
        finished_at: parse_opt(finished_at.as_deref(), "runs.finished_at")?,
        target_time: parse(&target_time, "runs.target_time")?,
    })
}

pub(crate) fn run(conn: &Connection, id: RunId) -> Result<Option<RunRecord>, StoreError> {
    conn.query_row(
        &format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1"),
        [id.0],
        run_row,
    )
    .optional()?
    .map(run_from)
    .transpose()
}

pub(crate) fn active_run(conn: &Connection) -> Result<Option<RunRecord>, StoreError> {
    conn.query_row(
        &format!("SELECT {RUN_COLUMNS} FROM runs WHERE state = 'active' ORDER BY id DESC LIMIT 1"),
        [],
        run_row,
    )
    .optional()?
    .map(run_from)
    .transpose()
}

pub(crate) fn runs(conn: &Connection, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare(&format!(
        "SELECT {RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT ?1"
    ))?;
    let rows = stmt.query_map([limit], run_row)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(run_from(row?)?);
    }
    Ok(out)
}

/// Takes the OS lock, then records the run; runs on the writer thread.
pub(crate) fn begin(
    conn: &mut Connection,
    lock_path: &Path,
    kind: RunKind,
    target_time: Timestamp,
    now: Timestamp,
) -> Result<RunLock, StoreError> {
    let lock_error = |source| StoreError::Lock {
        path: lock_path.to_owned(),
        source,
    };
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path)
        .map_err(lock_error)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(StoreError::RunActive {
                active: active_run(conn)?.map(Box::new),
                lock_path: lock_path.to_owned(),
            });
        }
        Err(TryLockError::Error(e)) => return Err(lock_error(e)),
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // We hold the lock, so an active row is a leftover of a process that died.
    let abandoned = tx.execute(
        "UPDATE runs SET state = 'abandoned', finished_at = ?1 WHERE state = 'active'",
        [now.to_string()],
    )?;
    if abandoned > 0 {
        tracing::warn!(
            runs = abandoned,
            "marked runs abandoned: their process died"
        );
    }
    let pid = std::process::id();
    tx.execute(
        "INSERT INTO runs (kind, state, pid, started_at, target_time) VALUES (?1, 'active', ?2, ?3, ?4)",
        params![kind.as_str(), pid, now.to_string(), target_time.to_string()],
    )?;
    let id = RunId(tx.last_insert_rowid());
    tx.commit()?;
    Ok(RunLock {
        record: RunRecord {
            id,
            kind,
            state: RunState::Active,
            pid,
            started_at: now,
            finished_at: None,
            target_time,
        },
        file,
    })
}

/// Records the run's end, then releases the OS lock (by closing the file, on the writer thread).
pub(crate) fn finish(
    conn: &Connection,
    lock: RunLock,
    state: RunState,
    now: Timestamp,
) -> Result<RunRecord, StoreError> {
    if state == RunState::Active {
        return Err(StoreError::Invalid(
            "a run cannot finish in state active".to_owned(),
        ));
    }
    conn.execute(
        "UPDATE runs SET state = ?2, finished_at = ?3 WHERE id = ?1",
        params![lock.record.id.0, state.as_str(), now.to_string()],
    )?;
    let record = run(conn, lock.record.id)?.ok_or_else(|| StoreError::NotFound {
        what: format!("run {}", lock.record.id),
    })?;
    drop(lock.file);
    Ok(record)
}
