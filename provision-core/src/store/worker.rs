//! A dedicated OS thread that owns one SQLite connection and runs the closures sent to it over a
//! tokio channel, replying through oneshots: SQLite's blocking calls never run on the runtime.

use std::fmt;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::StoreError;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

enum Message {
    Job(Job),
    Stop(oneshot::Sender<()>),
}

/// Queue depth before callers wait (back-pressure instead of unbounded memory).
const QUEUE: usize = 256;

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
        let (tx, mut rx) = mpsc::channel::<Message>(QUEUE);
        let (ready_tx, ready_rx) = oneshot::channel();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let mut conn = match open() {
                    Ok(conn) => {
                        let _ = ready_tx.send(Ok(()));
                        conn
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                while let Some(message) = rx.blocking_recv() {
                    match message {
                        Message::Job(job) => job(&mut conn),
                        Message::Stop(done) => {
                            drop(conn);
                            let _ = done.send(());
                            return;
                        }
                    }
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
        self.tx
            .send(Message::Job(job))
            .await
            .map_err(|_| StoreError::Closed)?;
        reply_rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Closes the connection once the jobs queued before this call ran; waits for it.
    pub(crate) async fn stop(&self) {
        let (done_tx, done_rx) = oneshot::channel();
        if self.tx.send(Message::Stop(done_tx)).await.is_ok() {
            let _ = done_rx.await;
        }
    }
}
