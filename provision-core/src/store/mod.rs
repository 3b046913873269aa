//! The embedded store: one SQLite file (WAL) holding the inventory, schedules, runs and journal.
//! A single writer thread owns the read-write connection and a second thread owns a read-only
//! one; async callers reach both through channels, so SQLite never blocks the runtime.

mod bmc_sessions;
mod lifecycle;
mod notifications;
mod runs;
mod schema;
pub(crate) mod sql;
mod worker;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use self::bmc_sessions::BmcSessionRecord;
pub use self::lifecycle::Termination;
pub use self::notifications::{NotificationRecord, QueuedNotification};
pub use self::runs::RunLock;
pub use self::schema::LATEST_VERSION;
use self::worker::Worker;
use crate::inventory::Inventory;
use crate::journal::Journal;
use crate::model::{
    Assignment, AssignmentId, AssignmentSpec, Cloud, CloudName, CloudStatus, Host, HostName,
    Interface, NewSchedule, RunId, RunKind, RunRecord, RunState, Schedule, ScheduleId, TimeRange,
};
use crate::time::{Clock, Timestamp};

/// Why the store refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database file is not there (and the caller did not ask to create it).
    #[error("no store at {path}: run `quads init` first")]
    Missing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The database could not be opened or prepared.
    #[error("cannot open the store at {path}: {reason}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The database was written by a newer quads.
    #[error(
        "the store has schema version {found}, newer than this quads supports ({supported}): upgrade quads"
    )]
    SchemaTooNew {
        /// The database's version.
        found: u32,
        /// The newest version this build knows.
        supported: u32,
    },
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A record with the same key exists.
    #[error("{what} already exists")]
    AlreadyExists {
        /// The record.
        what: String,
    },
    /// A record that the request refers to does not exist.
    #[error("{what} does not exist")]
    NotFound {
        /// The record.
        what: String,
    },
    /// A new schedule overlaps one the host already has.
    #[error(
        "schedule for host {host} ({requested}) overlaps its schedule {existing} ({existing_range})"
    )]
    Overlap {
        /// The host.
        host: HostName,
        /// The refused range.
        requested: TimeRange,
        /// The schedule in the way.
        existing: ScheduleId,
        /// Its range.
        existing_range: TimeRange,
    },
    /// The request is not valid on its own.
    #[error("{0}")]
    Invalid(String),
    /// A record of an inventory import was refused; nothing was imported.
    #[error("inventory line {line}: {error}; nothing was imported")]
    Import {
        /// The line of the refused record in the inventory file.
        line: u32,
        /// Why (part of this error's message, so not its `source`).
        error: Box<StoreError>,
    },
    /// A record of a planned import (from a QUADS server) was refused; nothing was imported.
    #[error("{0}; nothing was imported")]
    ImportRefused(Box<StoreError>),
    /// Another run holds the run lock.
    #[error("{}", run_active_message(.active.as_deref(), .lock_path))]
    RunActive {
        /// The active run, when its row is already written.
        active: Option<Box<RunRecord>>,
        /// The lock file.
        lock_path: PathBuf,
    },
    /// The lock file could not be opened or locked.
    #[error("run lock {path}: {source}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The store holds something this build cannot read.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// The store's thread could not be started.
    #[error("cannot start the store thread: {0}")]
    Thread(String),
    /// The store's thread is gone (closed, or it panicked).
    #[error("the store is closed")]
    Closed,
    /// The record of moves is kept elsewhere (a QUADS server, worker mode) and that failed.
    #[error("{message}")]
    Remote {
        /// What failed, naming the server's object (never a secret).
        message: String,
        /// Whether trying again may help.
        retryable: bool,
    },
}

fn run_active_message(active: Option<&RunRecord>, lock_path: &Path) -> String {
    match active {
        Some(r) => format!(
            "another run is active: run {} (pid {}, started {}); it holds {}",
            r.id,
            r.pid,
            r.started_at,
            lock_path.display()
        ),
        None => format!(
            "another run is starting: it holds {} but has not recorded itself yet",
            lock_path.display()
        ),
    }
}

impl StoreError {
    /// Whether the request was refused as given (bad input, conflicts, another run), as opposed
    /// to the store failing.
    #[must_use]
    pub fn is_refusal(&self) -> bool {
        match self {
            Self::Import { error, .. } | Self::ImportRefused(error) => error.is_refusal(),
            Self::Missing { .. }
            | Self::SchemaTooNew { .. }
            | Self::AlreadyExists { .. }
            | Self::NotFound { .. }
            | Self::Overlap { .. }
            | Self::Invalid(_)
            | Self::RunActive { .. } => true,
            _ => false,
        }
    }
}

/// Whether [`Store::open`] may create the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Create the file (and its directory) when missing: `quads init`.
    CreateIfMissing,
    /// Refuse with [`StoreError::Missing`] when missing: every other command.
    MustExist,
}

/// How to open a store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// The database file.
    pub path: PathBuf,
    /// Create it or not.
    pub mode: OpenMode,
    /// Where stored timestamps come from.
    pub clock: Arc<dyn Clock>,
}

/// Everything a plan is made from, read in one transaction.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// All hosts, by name.
    pub hosts: Vec<Host>,
    /// All clouds, by name.
    pub clouds: Vec<Cloud>,
    /// All assignments, by id.
    pub assignments: Vec<Assignment>,
    /// All schedules, by host then start.
    pub schedules: Vec<Schedule>,
    /// All hosts' interfaces, by host then name.
    pub interfaces: Vec<Interface>,
}

/// What an inventory import added.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Clouds added.
    pub clouds: usize,
    /// Hosts added.
    pub hosts: usize,
    /// Assignments added.
    pub assignments: usize,
    /// Schedules added.
    pub schedules: usize,
    /// Host interfaces added.
    pub interfaces: usize,
}

/// A finished move, to record: the host's current cloud changes only through this.
#[derive(Debug, Clone)]
pub struct CompletedMove {
    /// The host.
    pub host: HostName,
    /// The cloud it is in now.
    pub to: CloudName,
    /// The schedule it moved for (none for a return to its default cloud).
    pub schedule: Option<ScheduleId>,
    /// When its build started (wipe moves).
    pub build_start: Option<Timestamp>,
    /// When its build finished (wipe moves).
    pub build_end: Option<Timestamp>,
}

/// A handle on the store; clones share the same threads and connections.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    lock_path: PathBuf,
    writer: Worker,
    reader: Worker,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

/// Statements each connection keeps parsed (`prepare_cached`): more than the store has, so a
/// run's hot statements are never evicted by the others (rusqlite's default keeps 16).
const STATEMENT_CACHE: usize = 64;

fn open_writer(path: &Path, mode: OpenMode) -> Result<Connection, StoreError> {
    let open_error = |reason: String| StoreError::Open {
        path: path.to_owned(),
        reason,
    };
    match mode {
        OpenMode::MustExist if !path.exists() => {
            return Err(StoreError::Missing {
                path: path.to_owned(),
            });
        }
        OpenMode::CreateIfMissing => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| open_error(format!("cannot create {}: {e}", dir.display())))?;
            }
        }
        OpenMode::MustExist => {}
    }
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| open_error(e.to_string()))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let journal_mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(|e| open_error(e.to_string()))?;
    if !journal_mode.eq_ignore_ascii_case("wal") {
        return Err(open_error(format!(
            "cannot switch to WAL (journal mode is {journal_mode})"
        )));
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    schema::migrate_to(&mut conn, LATEST_VERSION)?;
    Ok(conn)
}

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError::Open {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

fn lock_path_of(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

fn immediate<R>(
    conn: &mut Connection,
    f: impl FnOnce(&Connection) -> Result<R, StoreError>,
) -> Result<R, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let out = f(&tx)?;
    tx.commit()?;
    Ok(out)
}

impl Store {
    /// Opens (and, with [`OpenMode::CreateIfMissing`], creates) the database, switches it to WAL
    /// and migrates its schema to [`LATEST_VERSION`].
    ///
    /// # Errors
    /// [`StoreError::Missing`], [`StoreError::Open`], [`StoreError::SchemaTooNew`] or SQLite's.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    ///
    /// use provision_core::{OpenMode, Store, StoreOptions, SystemClock};
    ///
    /// # async fn example() -> Result<(), provision_core::StoreError> {
    /// let store = Store::open(StoreOptions {
    ///     path: "quads.db".into(),
    ///     mode: OpenMode::CreateIfMissing,
    ///     clock: Arc::new(SystemClock),
    /// })
    /// .await?;
    /// let snapshot = store.snapshot().await?;
    /// println!("{} hosts", snapshot.hosts.len());
    /// store.close().await;
    /// # Ok(()) }
    /// ```
    pub async fn open(options: StoreOptions) -> Result<Self, StoreError> {
        let StoreOptions { path, mode, clock } = options;
        let writer_path = path.clone();
        let writer = Worker::spawn("quads-store-writer", move || {
            open_writer(&writer_path, mode)
        })
        .await?;
        let reader_path = path.clone();
        let reader =
            match Worker::spawn("quads-store-reader", move || open_reader(&reader_path)).await {
                Ok(reader) => reader,
                Err(e) => {
                    writer.stop().await;
                    return Err(e);
                }
            };
        Ok(Self {
            inner: Arc::new(Inner {
                lock_path: lock_path_of(&path),
                path,
                writer,
                reader,
                clock,
            }),
        })
    }

    /// Waits for queued work, then closes both connections (checkpointing the WAL).
    pub async fn close(self) {
        self.inner.writer.stop().await;
        self.inner.reader.stop().await;
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The run lock file beside it.
    #[must_use]
    pub fn lock_path(&self) -> &Path {
        &self.inner.lock_path
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    pub(crate) fn writer(&self) -> &Worker {
        &self.inner.writer
    }

    pub(crate) fn reader(&self) -> &Worker {
        &self.inner.reader
    }

    /// The journal, written through this store's writer.
    #[must_use]
    pub fn journal(&self) -> Journal {
        Journal::new(self.clone())
    }

    /// The schema version of the database.
    ///
    /// # Errors
    /// SQLite's.
    pub async fn schema_version(&self) -> Result<u32, StoreError> {
        self.reader().call(|c| schema::version(c)).await
    }

    // ---- clouds ----

    /// Adds a cloud.
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`] or SQLite's.
    pub async fn add_cloud(&self, cloud: Cloud) -> Result<(), StoreError> {
        let now = self.now();
        self.writer()
            .call(move |c| immediate(c, |tx| sql::insert_cloud(tx, &cloud, now)))
            .await
    }

    /// All clouds, by name.
    ///
    /// # Errors
    /// SQLite's.
    pub async fn clouds(&self) -> Result<Vec<Cloud>, StoreError> {
        self.reader().call(|c| sql::clouds(c)).await
    }

    /// Marks a cloud pending or provisioned.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] or SQLite's.
    pub async fn set_cloud_status(
        &self,
        cloud: CloudName,
        status: CloudStatus,
    ) -> Result<(), StoreError> {
        self.writer()
            .call(move |c| sql::set_cloud_status(c, &cloud, status))
            .await
    }

    /// Marks assignment `id` validated (every host of its cloud passed the tenant's checks)
    /// or not (a host moved in since, or a check failed).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] or SQLite's.
    pub async fn set_assignment_validated(
        &self,
        id: AssignmentId,
        validated: bool,
    ) -> Result<(), StoreError> {
        self.writer()
            .call(move |c| sql::set_assignment_validated(c, id, validated))
            .await
    }

    /// The validated assignments' ids.
    ///
    /// # Errors
    /// SQLite's.
    pub async fn validated_assignments(
        &self,
    ) -> Result<std::collections::BTreeSet<AssignmentId>, StoreError> {
        self.reader().call(|c| sql::validated_assignments(c)).await
    }

    // ---- hosts ----

    /// Adds a host; its default and current clouds must exist.
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`], [`StoreError::NotFound`] or SQLite's.
    pub async fn add_host(&self, host: Host) -> Result<(), StoreError> {
        let now = self.now();
        self.writer()
            .call(move |c| immediate(c, |tx| sql::insert_host(tx, &host, now)))
            .await
    }

    /// All hosts, by name.
    ///
    /// # Errors
    /// SQLite's.
    pub async fn hosts(&self) -> Result<Vec<Host>, StoreError> {
        self.reader().call(|c| sql::hosts(c)).await
    }

    /// One host.
    ///
    /// # Errors
    /// SQLite's.
    pub async fn host(&self, name: HostName) -> Result<Option<Host>, StoreError> {
        self.reader().call(move |c| sql::host(c, &name)).await
    }

    /// Records a successful move: the host's current cloud, and the schedule's build times, all
    /// or nothing. Answers once committed, in a transaction shared with the journal appends
    /// queued with it (group commit).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] or SQLite's.
    pub async fn complete_move(&self, done: CompletedMove) -> Result<(), StoreError> {
        self.writer()
            .call_grouped(move |c| record_move(c, &done))
            .await
    }

    /// Journals `rows` and records the successful move `done` in one transaction, in that
    /// order: all of it is written or none is.
    ///
    /// # Errors
    /// As [`Store::complete_move`] and [`Journal::append_all`].
    pub async fn journal_and_complete_move(
        &self,
        rows: Vec<crate::journal::JournalRow>,
        done: CompletedMove,
    ) -> Result<(), StoreError> {
        self.journal()
            .append_all_then(rows, move |c| record_move(c, &done))
            .await
            .map(|_| ())
    }

    // ---- assignments ----

    /// Adds an assignment; its cloud must exist and its ticket be new for that cloud.
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`], [`StoreError::NotFound`] or SQLite's.
    pub async fn add_assignment(&self, spec: AssignmentSpec) -> Result<Assignment, StoreError> {
        let now = self.now();
        self.writer()
            .call(move |c| immediate(c, |tx| sql::insert_assignment(tx, &spec, now)))
            .await
    }

    /// All assignments, by id.
    ///
    /// # Errors
    /// SQLite's.
    pub async fn assignments(&self) -> Result<Vec<Assignment>, StoreError> {
        self.reader().call(|c| sql::assignments(c)).await
    }

    // ---- schedules ----

    /// Adds a schedule, refusing one that overlaps another of the same host.
    ///
    /// # Errors
    /// [`StoreError::Overlap`], [`StoreError::NotFound`] or SQLite's.
    pub async fn add_schedule(&self, schedule: NewSchedule) -> Result<Schedule, StoreError> {
        let now = self.now();
        self.writer()
            .call(move |c| immediate(c, |tx| sql::insert_schedule(tx, &schedule, now)))
            .await
    }

    /// Schedules, of one host or all, by host then start.
    ///
    /// # Errors
    /// SQLite's.
    pub async fn schedules(&self, host: Option<HostName>) -> Result<Vec<Schedule>, StoreError> {
        self.reader()
            .call(move |c| sql::schedules(c, host.as_ref()))
            .await
    }

    /// Removes a schedule and returns it.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] or SQLite's.
    pub async fn remove_schedule(&self, id: ScheduleId) -> Result<Schedule, StoreError> {
        self.writer()
            .call(move |c| immediate(c, |tx| sql::delete_schedule(tx, id)))
            .await
    }

    // ---- interfaces ----

    /// Adds a network interface to a host; the host must exist, the name be new for it and the
    /// switch port free.
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`], [`StoreError::NotFound`], [`StoreError::Invalid`] (port
    /// taken) or SQLite's.
    pub async fn add_interface(&self, interface: Interface) -> Result<(), StoreError> {
        let now = self.now();
        self.writer()
            .call(move |c| immediate(c, |tx| sql::insert_interface(tx, &interface, now)))
            .await
    }

    /// Interfaces of one host (by name) or of all (by host then name).
    ///
    /// # Errors
    /// SQLite's.
    pub async fn interfaces(&self, host: Option<HostName>) -> Result<Vec<Interface>, StoreError> {
        self.reader()
            .call(move |c| sql::interfaces(c, host.as_ref()))
            .await
    }

    /// Hosts, clouds, assignments, schedules and interfaces as of one instant.
    ///
    /// # Errors
    /// SQLite's.
    pub async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        self.reader()
            .call(|c| {
                let tx = c.transaction()?;
                let snapshot = read_snapshot(&tx)?;
                tx.finish()?;
                Ok(snapshot)
            })
            .await
    }

    // ---- import ----

    /// Adds everything an inventory holds in one transaction: all of it or, on the first refused
    /// record, nothing ([`StoreError::Import`] names its line).
    ///
    /// # Errors
    /// [`StoreError::Import`] or SQLite's.
    pub async fn import(&self, inventory: Inventory) -> Result<ImportSummary, StoreError> {
        let now = self.now();
        self.writer()
            .call(move |c| immediate(c, |tx| import(tx, &inventory, now, Origin::File)))
            .await
    }

    /// Adds what `plan` makes of the store as it is, in one transaction: `plan` sees the
    /// store's records inside it (so nothing changes between its look and the writes) and
    /// answers the records to add and anything else its caller wants back. All or nothing: on
    /// `plan`'s error or the first refused record nothing is written
    /// ([`StoreError::ImportRefused`]); an empty inventory writes nothing at all. The import
    /// from a QUADS server uses it to add only what the store lacks.
    ///
    /// # Errors
    /// `plan`'s, [`StoreError::ImportRefused`] or SQLite's.
    pub async fn import_planned<R, F>(&self, plan: F) -> Result<(ImportSummary, R), StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Snapshot) -> Result<(Inventory, R), StoreError> + Send + 'static,
    {
        let now = self.now();
        self.writer()
            .call(move |c| {
                immediate(c, |tx| {
                    let (inventory, extra) = plan(&read_snapshot(tx)?)?;
                    let summary = import(tx, &inventory, now, Origin::Planned)?;
                    Ok((summary, extra))
                })
            })
            .await
    }

    // ---- runs ----

    /// Takes the run lock and records a new active run, or refuses at once with
    /// [`StoreError::RunActive`] naming the live run. Active rows left by dead processes are marked
    /// [`RunState::Abandoned`].
    ///
    /// # Errors
    /// [`StoreError::RunActive`], [`StoreError::Lock`] or SQLite's.
    pub async fn begin_run(
        &self,
        kind: RunKind,
        target_time: Timestamp,
    ) -> Result<RunLock, StoreError> {
        let now = self.now();
        let lock_path = self.inner.lock_path.clone();
        self.writer()
            .call(move |c| runs::begin(c, &lock_path, kind, target_time, now))
            .await
    }

    /// Records the end of a run and releases its lock.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for [`RunState::Active`], or SQLite's.
    pub async fn finish_run(
        &self,
        lock: RunLock,
        state: RunState,
    ) -> Result<RunRecord, StoreError> {
        let now = self.now();
        self.writer()
            .call(move |c| runs::finish(c, lock, state, now))
            .await
    }

    /// The newest runs first, at most `limit`.
    ///
    /// # Errors
    /// SQLite's.
    pub async fn runs(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        self.reader().call(move |c| runs::runs(c, limit)).await
    }

    /// One run.
    ///
    /// # Errors
    /// SQLite's.
    pub async fn run(&self, id: RunId) -> Result<Option<RunRecord>, StoreError> {
        self.reader().call(move |c| runs::run(c, id)).await
    }
}

/// The writes of [`Store::complete_move`], inside the caller's transaction.
fn record_move(c: &Connection, done: &CompletedMove) -> Result<(), StoreError> {
    sql::set_current_cloud(c, &done.host, &done.to)?;
    if let Some(id) = done.schedule {
        sql::set_build_times(c, id, done.build_start, done.build_end)?;
    }
    Ok(())
}

fn read_snapshot(tx: &Connection) -> Result<Snapshot, StoreError> {
    Ok(Snapshot {
        hosts: sql::hosts(tx)?,
        clouds: sql::clouds(tx)?,
        assignments: sql::assignments(tx)?,
        schedules: sql::schedules(tx, None)?,
        interfaces: sql::interfaces(tx, None)?,
    })
}

/// Where an import's records come from, for its errors.
#[derive(Debug, Clone, Copy)]
enum Origin {
    /// An inventory file: errors name the record's line.
    File,
    /// [`Store::import_planned`]: the records have no line; errors name the record.
    Planned,
}

fn import(
    tx: &Connection,
    inv: &Inventory,
    now: Timestamp,
    origin: Origin,
) -> Result<ImportSummary, StoreError> {
    let at = |line: u32| {
        move |e: StoreError| match origin {
            Origin::File => StoreError::Import {
                line,
                error: Box::new(e),
            },
            Origin::Planned => StoreError::ImportRefused(Box::new(e)),
        }
    };
    for cloud in &inv.clouds {
        sql::insert_cloud(tx, &cloud.value, now).map_err(at(cloud.line))?;
    }
    for host in &inv.hosts {
        sql::insert_host(tx, &host.value, now).map_err(at(host.line))?;
    }
    for i in &inv.interfaces {
        sql::insert_interface(tx, &i.value, now).map_err(at(i.line))?;
    }
    for a in &inv.assignments {
        sql::insert_assignment(tx, &a.value, now).map_err(at(a.line))?;
    }
    for s in &inv.schedules {
        let found = sql::assignments_of_cloud(tx, &s.value.cloud).map_err(at(s.line))?;
        let chosen: Vec<AssignmentId> = found
            .iter()
            .filter(|a| s.value.ticket.as_ref().is_none_or(|t| *t == a.spec.ticket))
            .map(|a| a.id)
            .collect();
        let assignment = match (chosen.as_slice(), &s.value.ticket) {
            ([one], _) => *one,
            ([], Some(t)) => {
                return Err(at(s.line)(StoreError::NotFound {
                    what: format!(
                        "assignment of cloud {} with ticket {t:?} (schedule of host {})",
                        s.value.cloud, s.value.host
                    ),
                }));
            }
            ([], None) => {
                return Err(at(s.line)(StoreError::NotFound {
                    what: format!(
                        "assignment of cloud {} (schedule of host {})",
                        s.value.cloud, s.value.host
                    ),
                }));
            }
            (_, _) => {
                return Err(at(s.line)(StoreError::Invalid(format!(
                    "schedule of host {}: cloud {} has {} assignments; name one with `ticket`",
                    s.value.host,
                    s.value.cloud,
                    chosen.len()
                ))));
            }
        };
        let new = NewSchedule {
            host: s.value.host.clone(),
            assignment,
            range: s.value.range,
        };
        sql::insert_schedule(tx, &new, now).map_err(at(s.line))?;
    }
    Ok(ImportSummary {
        clouds: inv.clouds.len(),
        hosts: inv.hosts.len(),
        assignments: inv.assignments.len(),
        schedules: inv.schedules.len(),
        interfaces: inv.interfaces.len(),
    })
}

#[cfg(test)]
mod tests;
