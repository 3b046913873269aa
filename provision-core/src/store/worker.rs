//! A dedicated OS thread that owns one SQLite connection and runs the closures sent to it over a
//! tokio channel, replying through oneshots: SQLite's blocking calls never run on the runtime.
//! Grouped calls already queued together share one transaction (group commit). A deferred
//! call is not committed on its own: it waits in the thread for the next transaction (a grouped
//! call's, a job's or the close), so a write nobody waits on costs no commit of its own.

use std::fmt;

use rusqlite::Connection;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot};

use super::StoreError;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

enum Message {
    Job(Job),
    Grouped(Box<dyn Grouped>),
    Deferred(Box<dyn Grouped>),
    Stop(oneshot::Sender<()>),
}

/// Queue depth before callers wait (back-pressure instead of unbounded memory).
const QUEUE: usize = 256;

/// The most grouped calls committed in one transaction.
const GROUP: usize = 256;

/// A call that may share its transaction with the grouped calls queued after it.
trait Grouped: Send {
    /// Runs on the connection, inside an open transaction, and keeps its result; whether it
    /// succeeded.
    fn run(&mut self, conn: &Connection) -> bool;

    /// Answers the caller: the kept result once the transaction holding it committed, or
    /// `failed`, why that transaction did not.
    fn answer(self: Box<Self>, failed: Option<StoreError>);
}

struct Pending<R, F> {
    f: F,
    kept: Option<Result<R, StoreError>>,
    reply: oneshot::Sender<Result<R, StoreError>>,
}

/// A deferred call: nobody waits for it, so a failure can only be logged.
struct Unanswered<F> {
    what: &'static str,
    f: F,
}

impl<F> Grouped for Unanswered<F>
where
    F: FnMut(&Connection) -> Result<(), StoreError> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        match (self.f)(conn) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(what = self.what, error = %e, "deferred store write failed");
                false
            }
        }
    }

    fn answer(self: Box<Self>, failed: Option<StoreError>) {
        if let Some(e) = failed {
            tracing::warn!(what = self.what, error = %e, "deferred store write not committed");
        }
    }
}

impl<R, F> Grouped for Pending<R, F>
where
    R: Send,
    F: FnMut(&Connection) -> Result<R, StoreError> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let result = (self.f)(conn);
        let ok = result.is_ok();
        self.kept = Some(result);
        ok
    }

    fn answer(self: Box<Self>, failed: Option<StoreError>) {
        let result = match (failed, self.kept) {
            (Some(e), _) => Err(e),
            (None, Some(kept)) => kept,
            // a transaction that commits has run every call in it
            (None, None) => Err(StoreError::Closed),
        };
        let _ = self.reply.send(result);
    }
}

/// A handle on one connection's thread. Cloning shares the thread.
#[derive(Clone)]
pub(crate) struct Worker {
    name: &'static str,
    tx: mpsc::Sender<Message>,
}

impl fmt::Debug for Worker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker").field("name", &self.name).finish()
    }
}

impl Worker {
    /// Starts the thread, opens the connection on it with `open` and waits (on the runtime,
    /// without blocking it) for the outcome.
    pub(crate) async fn spawn<F>(name: &'static str, open: F) -> Result<Self, StoreError>
    where
        F: FnOnce() -> Result<Connection, StoreError> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel::<Message>(QUEUE);
        let (ready_tx, ready_rx) = oneshot::channel();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || match open() {
                Ok(conn) => {
                    let _ = ready_tx.send(Ok(()));
                    serve(conn, rx);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(|e| StoreError::Thread(e.to_string()))?;
        ready_rx.await.map_err(|_| StoreError::Closed)??;
        Ok(Self { name, tx })
    }

    /// Runs `f` on the connection's thread and returns its result.
    pub(crate) async fn call<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let (reply_tx, reply_rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let _ = reply_tx.send(f(conn));
        });
        self.send(Message::Job(job)).await?;
        reply_rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` on the connection's thread inside a transaction shared with the grouped calls
    /// queued right behind it, and returns its result once that transaction committed.
    ///
    /// `f` must not begin or end transactions. When it fails, its changes are rolled back (to a
    /// savepoint) and only its caller sees the error; the others still commit. When the shared
    /// transaction itself fails, each of its calls runs again alone, so `f` may run twice.
    pub(crate) async fn call_grouped<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let (reply, reply_rx) = oneshot::channel();
        self.send(Message::Grouped(Box::new(Pending {
            f,
            kept: None,
            reply,
        })))
        .await?;
        reply_rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Queues `f` to run in the next transaction the thread commits: with the next grouped
    /// call, before the next job, or at [`Worker::stop`]; returns once queued, not committed.
    /// For writes no step waits on (their loss in a crash must be harmless): they keep their
    /// order with every other call, and cost no commit of their own. A failure is logged
    /// (naming `what`), never answered.
    ///
    /// `f` must not begin or end transactions, and may run twice like a grouped call's.
    pub(crate) async fn defer<F>(&self, what: &'static str, f: F) -> Result<(), StoreError>
    where
        F: FnMut(&Connection) -> Result<(), StoreError> + Send + 'static,
    {
        self.send(Message::Deferred(Box::new(Unanswered { what, f })))
            .await
    }

    /// Closes the connection once the jobs queued before this call ran; waits for it.
    pub(crate) async fn stop(&self) {
        let (done_tx, done_rx) = oneshot::channel();
        if self.send(Message::Stop(done_tx)).await.is_ok() {
            let _ = done_rx.await;
        }
    }

    async fn send(&self, message: Message) -> Result<(), StoreError> {
        self.tx.send(message).await.map_err(|_| StoreError::Closed)
    }

    /// How many messages wait in the queue.
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        QUEUE - self.tx.capacity()
    }
}

/// The thread's loop: messages in the order received; a grouped call takes along the deferred
/// calls held before it and the grouped and deferred calls queued right behind it (never
/// waiting for more), up to [`GROUP`]. Deferred calls are held until then; a job or the close
/// commits them first.
fn serve(mut conn: Connection, mut rx: mpsc::Receiver<Message>) {
    let mut next = None;
    let mut held: Vec<Box<dyn Grouped>> = Vec::new();
    loop {
        let Some(message) = next.take().or_else(|| rx.blocking_recv()) else {
            commit_held(&mut conn, &mut held);
            return;
        };
        match message {
            Message::Job(job) => {
                commit_held(&mut conn, &mut held);
                job(&mut conn);
            }
            Message::Deferred(call) => {
                held.push(call);
                if held.len() >= GROUP {
                    commit_held(&mut conn, &mut held);
                }
            }
            Message::Grouped(first) => {
                let mut group = std::mem::take(&mut held);
                group.push(first);
                while group.len() < GROUP {
                    match rx.try_recv() {
                        Ok(Message::Grouped(call) | Message::Deferred(call)) => group.push(call),
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                    }
                }
                commit_group(&mut conn, group);
            }
            Message::Stop(done) => {
                commit_held(&mut conn, &mut held);
                drop(conn);
                let _ = done.send(());
                return;
            }
        }
    }
}

/// Commits the deferred calls held, if any.
fn commit_held(conn: &mut Connection, held: &mut Vec<Box<dyn Grouped>>) {
    if !held.is_empty() {
        commit_group(conn, std::mem::take(held));
    }
}

/// Runs `group` in one transaction and answers its callers after the commit. When the
/// transaction fails as a whole, each call runs again in a transaction of its own.
fn commit_group(conn: &mut Connection, mut group: Vec<Box<dyn Grouped>>) {
    match run_group(conn, &mut group) {
        Ok(()) => {
            tracing::trace!(name: "group_commit", rows = group.len(), "group committed");
            for call in group {
                call.answer(None);
            }
        }
        Err(e) if group.len() > 1 => {
            tracing::warn!(rows = group.len(), error = %e, "group commit failed, retrying each");
            for call in group {
                commit_group(conn, vec![call]);
            }
        }
        Err(e) => {
            if let Some(call) = group.pop() {
                call.answer(Some(e));
            }
        }
    }
}

/// One transaction around every call of `group`; each of several in a savepoint, so that one
/// failing is rolled back alone.
///
/// `BEGIN`, `COMMIT` and `ROLLBACK` are cached statements like the calls' own: a run commits a
/// few times per host, and parsing them again each time was a visible part of the writer's work.
fn run_group(conn: &mut Connection, group: &mut [Box<dyn Grouped>]) -> Result<(), StoreError> {
    exec(conn, "BEGIN IMMEDIATE")?;
    let result = run_open(conn, group);
    if result.is_err() && !conn.is_autocommit() {
        // a failed COMMIT (or savepoint statement) leaves the transaction open: nothing of it
        // may stay for the next one (rusqlite's `Transaction` does the same when dropped)
        if let Err(e) = exec(conn, "ROLLBACK") {
            tracing::warn!(error = %e, "cannot roll back a failed group");
        }
    }
    result
}

/// The body of [`run_group`], inside its open transaction: the calls, then `COMMIT`.
fn run_open(conn: &Connection, group: &mut [Box<dyn Grouped>]) -> Result<(), StoreError> {
    if let [call] = group {
        // alone: the transaction is its savepoint
        if !call.run(conn) {
            return exec(conn, "ROLLBACK");
        }
    } else {
        for call in group.iter_mut() {
            exec(conn, "SAVEPOINT grouped_call")?;
            if !call.run(conn) {
                // when the failure ended the whole transaction (SQLite does on a full disk, an
                // I/O error, ...), this fails with "no such savepoint" and the group is retried
                exec(conn, "ROLLBACK TO grouped_call")?;
            }
            exec(conn, "RELEASE grouped_call")?;
        }
    }
    exec(conn, "COMMIT")
}

/// Runs a statement without parameters or rows, kept parsed in the connection's cache.
fn exec(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// Helpers for tests that need calls queued in a known order behind a busy thread.
#[cfg(test)]
pub(crate) mod testing {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use tokio::task::JoinHandle;

    use super::Worker;

    /// The thread kept busy by one job until [`Held::release`].
    pub(crate) struct Held {
        release: std::sync::mpsc::Sender<()>,
        job: JoinHandle<()>,
    }

    impl Held {
        /// Ends the job; the thread goes on with what queued meanwhile.
        pub(crate) async fn release(self) {
            self.release.send(()).unwrap();
            self.job.await.unwrap();
        }
    }

    /// Occupies `worker`'s thread with a job that waits for [`Held::release`].
    pub(crate) async fn hold(worker: &Worker) -> Held {
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let (release, release_rx) = std::sync::mpsc::channel::<()>();
        let worker = worker.clone();
        let job = tokio::spawn(async move {
            worker
                .call(move |_| {
                    started_tx.send(()).unwrap();
                    // on the worker's own thread, not the runtime
                    release_rx.recv().unwrap();
                    Ok(())
                })
                .await
                .unwrap();
        });
        started_rx.await.unwrap();
        Held { release, job }
    }

    /// Spawns `call` and waits until it queued one more message on `worker`: calls spawned one
    /// after the other through this queue in that order.
    pub(crate) async fn queue<T: Send + 'static>(
        worker: &Worker,
        call: impl Future<Output = T> + Send + 'static,
    ) -> JoinHandle<T> {
        let before = worker.queued();
        let handle = tokio::spawn(call);
        tokio::time::timeout(Duration::from_secs(10), async {
            while worker.queued() == before {
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap();
        handle
    }

    /// Counts the transactions `worker`'s connection commits from now on.
    pub(crate) async fn count_commits(worker: &Worker) -> Arc<AtomicUsize> {
        let commits = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&commits);
        worker
            .call(move |c| {
                c.commit_hook(Some(move || {
                    counted.fetch_add(1, Ordering::SeqCst);
                    false
                }))?;
                Ok(())
            })
            .await
            .unwrap();
        commits
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::Ordering;

    use super::testing::{count_commits, hold, queue};
    use super::*;

    /// A worker on an in-memory database with a table of unique values, each naming a parent.
    async fn worker() -> Worker {
        Worker::spawn("test-worker", || {
            let conn = Connection::open_in_memory()?;
            conn.execute_batch(
                "PRAGMA foreign_keys = ON;
                 CREATE TABLE parent (id INTEGER PRIMARY KEY);
                 INSERT INTO parent VALUES (1);
                 CREATE TABLE t (v INTEGER NOT NULL UNIQUE,
                                 parent INTEGER NOT NULL DEFAULT 1 REFERENCES parent (id));",
            )?;
            Ok(conn)
        })
        .await
        .unwrap()
    }

    fn insert(conn: &Connection, v: i64) -> Result<(), StoreError> {
        conn.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
        Ok(())
    }

    async fn values(worker: &Worker) -> Vec<i64> {
        worker
            .call(|c| {
                let mut stmt = c.prepare("SELECT v FROM t ORDER BY rowid")?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<Result<Vec<i64>, _>>()?)
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_failing_call_is_rolled_back_alone_and_the_rest_of_its_group_commits() {
        let worker = worker().await;
        let commits = count_commits(&worker).await;
        let held = hold(&worker).await;
        let w = worker.clone();
        let first = queue(
            &worker,
            async move { w.call_grouped(|c| insert(c, 1)).await },
        )
        .await;
        let w = worker.clone();
        // writes 2, then fails on a duplicate: its 2 must not stay
        let failing = queue(&worker, async move {
            w.call_grouped(|c| {
                insert(c, 2)?;
                insert(c, 1)
            })
            .await
        })
        .await;
        let w = worker.clone();
        let last = queue(
            &worker,
            async move { w.call_grouped(|c| insert(c, 3)).await },
        )
        .await;
        held.release().await;

        first.await.unwrap().unwrap();
        let err = failing.await.unwrap().unwrap_err();
        assert!(err.to_string().contains("UNIQUE"), "{err}");
        last.await.unwrap().unwrap();
        assert_eq!(commits.load(Ordering::SeqCst), 1);
        assert_eq!(values(&worker).await, [1, 3]);
    }

    #[tokio::test]
    async fn a_grouped_call_is_answered_only_once_its_group_committed() {
        let worker = worker().await;
        let held = hold(&worker).await;
        let w = worker.clone();
        let first = queue(
            &worker,
            async move { w.call_grouped(|c| insert(c, 1)).await },
        )
        .await;
        let (inside_tx, inside_rx) = oneshot::channel();
        let (leave, leave_rx) = std::sync::mpsc::channel::<()>();
        let w = worker.clone();
        let mut inside_tx = Some(inside_tx);
        let last = queue(&worker, async move {
            w.call_grouped(move |c| {
                insert(c, 2)?;
                // keeps the shared transaction open, after the first call ran
                if let Some(inside) = inside_tx.take() {
                    inside.send(()).unwrap();
                }
                leave_rx.recv().unwrap();
                Ok(())
            })
            .await
        })
        .await;
        held.release().await;
        inside_rx.await.unwrap();
        // had the first call been answered when it ran, its task would finish now
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(!first.is_finished(), "answered before its group committed");
        leave.send(()).unwrap();

        first.await.unwrap().unwrap();
        last.await.unwrap().unwrap();
        assert_eq!(values(&worker).await, [1, 2]);
    }

    #[tokio::test]
    async fn a_group_whose_commit_fails_is_retried_call_by_call() {
        let worker = worker().await;
        let commits = count_commits(&worker).await;
        let held = hold(&worker).await;
        let w = worker.clone();
        let first = queue(
            &worker,
            async move { w.call_grouped(|c| insert(c, 1)).await },
        )
        .await;
        let w = worker.clone();
        // a dangling parent only checked at COMMIT: the statement passes, the commit fails
        let failing = queue(&worker, async move {
            w.call_grouped(|c| {
                c.pragma_update(None, "defer_foreign_keys", true)?;
                c.execute("INSERT INTO t (v, parent) VALUES (2, 99)", [])?;
                Ok(())
            })
            .await
        })
        .await;
        let w = worker.clone();
        let last = queue(
            &worker,
            async move { w.call_grouped(|c| insert(c, 3)).await },
        )
        .await;
        held.release().await;

        first.await.unwrap().unwrap();
        let err = failing.await.unwrap().unwrap_err();
        assert!(err.to_string().contains("FOREIGN KEY"), "{err}");
        last.await.unwrap().unwrap();
        assert_eq!(commits.load(Ordering::SeqCst), 2, "the retried 1 and 3");
        assert_eq!(values(&worker).await, [1, 3]);
    }

    #[tokio::test]
    async fn a_job_runs_between_groups_outside_their_transaction() {
        let worker = worker().await;
        let commits = count_commits(&worker).await;
        let held = hold(&worker).await;
        let mut grouped = Vec::new();
        for v in [1, 2] {
            let w = worker.clone();
            grouped.push(
                queue(&worker, async move {
                    w.call_grouped(move |c| insert(c, v)).await
                })
                .await,
            );
        }
        let w = worker.clone();
        let job = queue(&worker, async move {
            w.call(|c| {
                let open = !c.is_autocommit();
                let seen: i64 = c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?;
                Ok((open, seen))
            })
            .await
        })
        .await;
        let w = worker.clone();
        grouped.push(
            queue(
                &worker,
                async move { w.call_grouped(|c| insert(c, 3)).await },
            )
            .await,
        );
        held.release().await;

        for call in grouped {
            call.await.unwrap().unwrap();
        }
        assert_eq!(
            job.await.unwrap().unwrap(),
            (false, 2),
            "after 1 and 2, before 3"
        );
        assert_eq!(commits.load(Ordering::SeqCst), 2);
        assert_eq!(values(&worker).await, [1, 2, 3]);
    }

    #[tokio::test]
    async fn a_deferred_call_rides_the_next_grouped_calls_commit_in_its_order() {
        let worker = worker().await;
        let commits = count_commits(&worker).await;
        worker.defer("test", |c| insert(c, 1)).await.unwrap();
        worker.defer("test", |c| insert(c, 2)).await.unwrap();
        // a failing deferred call is rolled back alone (and logged)
        worker.defer("test", |c| insert(c, 1)).await.unwrap();
        worker.call_grouped(|c| insert(c, 3)).await.unwrap();
        assert_eq!(commits.load(Ordering::SeqCst), 1, "one commit for all four");
        assert_eq!(values(&worker).await, [1, 2, 3]);
    }

    #[tokio::test]
    async fn a_job_and_the_close_commit_the_deferred_calls_before_them() {
        let worker = worker().await;
        let commits = count_commits(&worker).await;
        worker.defer("test", |c| insert(c, 1)).await.unwrap();
        assert_eq!(values(&worker).await, [1], "the job sees it");
        assert_eq!(commits.load(Ordering::SeqCst), 1);
        worker.defer("test", |c| insert(c, 2)).await.unwrap();
        worker.call(|_| Ok(())).await.unwrap();
        assert_eq!(commits.load(Ordering::SeqCst), 2);
        worker.defer("test", |c| insert(c, 3)).await.unwrap();
        worker.stop().await;
        assert_eq!(
            commits.load(Ordering::SeqCst),
            3,
            "the close commits the last"
        );
    }

    #[tokio::test]
    async fn stop_commits_the_grouped_calls_queued_before_it() {
        let worker = worker().await;
        let commits = count_commits(&worker).await;
        let held = hold(&worker).await;
        let mut grouped = Vec::new();
        for v in 1..=3 {
            let w = worker.clone();
            grouped.push(
                queue(&worker, async move {
                    w.call_grouped(move |c| insert(c, v)).await
                })
                .await,
            );
        }
        let w = worker.clone();
        let stop = queue(&worker, async move { w.stop().await }).await;
        held.release().await;
        stop.await.unwrap();

        for call in grouped {
            call.await.unwrap().unwrap();
        }
        assert_eq!(commits.load(Ordering::SeqCst), 1);
        assert!(matches!(
            worker.call_grouped(|c| insert(c, 4)).await,
            Err(StoreError::Closed)
        ));
    }
}
