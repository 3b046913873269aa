//! Host reads of many hosts' Foreman steps coalesced into one search: the hosts asked for within
//! a short window go out as `GET /api/hosts?search=name ^ (...)&include[]=parameters`, one
//! request where each would have sent its own `GET /api/hosts/:id`. Each read is still fresh:
//! it is sent after the host asked, never served from an earlier answer.
//!
//! At most [`IN_FLIGHT`] searches are out at once: a batch whose window ended while they are
//! out goes on gathering names until one answers (group commit). An idle Foreman answers the
//! first batch after its window alone; a busy one, whose queue makes each search slow, gets
//! fuller searches instead of one small search per host (a fleet's Foreman step enters about
//! one host per PUT's service time, so a short window alone would send one name per search).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use foreman_client::hosts::Host;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use crate::executor::ports::PortError;

/// Hosts at most in one search (keeps the URL well under common limits).
const MAX_BATCH: usize = 50;

/// Searches out at once; a batch ready beyond them waits, gathering names. One: at 5,000 hosts
/// two out at once made batches of about two names (a search waits ~0.4 s in Foreman's queue
/// while hosts enter the step ~9 a second), and every search costs Foreman a collection read.
const IN_FLIGHT: usize = 1;

/// What one batch's search gave: the hosts found, by name.
type Answer = Arc<Result<HashMap<String, Host>, PortError>>;

/// The open batch, if any, and how long a batch gathers names.
#[derive(Debug)]
pub(super) struct BatchedReads {
    window: Duration,
    open: Mutex<Option<Arc<Batch>>>,
    in_flight: Arc<Semaphore>,
}

/// Names gathered for one search, and its answer once it came.
#[derive(Debug)]
pub(super) struct Batch {
    names: Mutex<Vec<String>>,
    answer: watch::Sender<Option<Answer>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A place in a batch: what [`BatchedReads::join`] gives.
pub(super) struct Joined {
    /// The batch to send, when this caller opened it (it sends it after the window).
    pub(super) opened: Option<Arc<Batch>>,
    answer: watch::Receiver<Option<Answer>>,
}

impl Joined {
    /// The host as the batch's search found it (`None`: not in the answer).
    pub(super) async fn host(mut self, name: &str) -> Result<Option<Host>, PortError> {
        let answer = self
            .answer
            .wait_for(Option::is_some)
            .await
            .map_err(|_| PortError::retryable("the batched host read was dropped"))?
            .clone()
            .ok_or_else(|| PortError::retryable("the batched host read gave no answer"))?;
        match &*answer {
            Ok(hosts) => Ok(hosts.get(name).cloned()),
            Err(e) => Err(e.clone()),
        }
    }
}

impl BatchedReads {
    /// Batches gathering names for `window` each.
    pub(super) fn new(window: Duration) -> Self {
        Self {
            window,
            open: Mutex::new(None),
            in_flight: Arc::new(Semaphore::new(IN_FLIGHT)),
        }
    }

    /// Waits for a search's place among those out at once; hold it until the answer came.
    /// (`None` only if the semaphore were closed, which nothing does: the search then goes.)
    pub(super) async fn send_turn(&self) -> Option<OwnedSemaphorePermit> {
        self.in_flight.clone().acquire_owned().await.ok()
    }

    /// The window.
    pub(super) fn window(&self) -> Duration {
        self.window
    }

    /// Puts `name` in the open batch, or opens one (then the caller must send it: see
    /// [`BatchedReads::take`]).
    pub(super) fn join(&self, name: &str) -> Joined {
        let mut open = lock(&self.open);
        let (batch, opened) = match open.as_ref() {
            Some(batch) if lock(&batch.names).len() < MAX_BATCH => (batch.clone(), None),
            _ => {
                let batch = Arc::new(Batch {
                    names: Mutex::new(Vec::new()),
                    answer: watch::Sender::new(None),
                });
                *open = Some(batch.clone());
                (batch.clone(), Some(batch))
            }
        };
        lock(&batch.names).push(name.to_owned());
        Joined {
            opened,
            answer: batch.answer.subscribe(),
        }
    }

    /// Closes `batch` to new names and gives the names gathered (after the window).
    pub(super) fn take(&self, batch: &Arc<Batch>) -> Vec<String> {
        let mut open = lock(&self.open);
        if open.as_ref().is_some_and(|b| Arc::ptr_eq(b, batch)) {
            *open = None;
        }
        drop(open);
        let mut names = std::mem::take(&mut *lock(&batch.names));
        names.sort_unstable();
        names.dedup();
        names
    }
}

impl Batch {
    /// Hands the search's answer to everyone in the batch.
    pub(super) fn answer(&self, answer: Result<HashMap<String, Host>, PortError>) {
        self.answer.send_replace(Some(Arc::new(answer)));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn host(name: &str) -> Host {
        serde_json::from_value(serde_json::json!({"id": 1, "name": name})).unwrap()
    }

    #[tokio::test]
    async fn one_batch_per_window_and_a_full_one_makes_room() {
        let reads = BatchedReads::new(Duration::from_millis(50));
        let first = reads.join("a");
        let batch = first.opened.clone().unwrap();
        let second = reads.join("b");
        assert!(second.opened.is_none(), "b joins a's batch");
        let again = reads.join("a");
        assert_eq!(reads.take(&batch), ["a", "b"]);
        // closed: the next name opens a new batch
        let later = reads.join("c");
        assert!(later.opened.is_some());
        batch.answer(Ok([("a".to_owned(), host("a"))].into_iter().collect()));
        assert_eq!(first.host("a").await.unwrap().unwrap().name, "a");
        assert!(second.host("b").await.unwrap().is_none());
        assert!(again.host("a").await.unwrap().is_some());
        // a full batch makes the next caller open another
        let reads = BatchedReads::new(Duration::from_millis(50));
        let opened: usize = (0..=MAX_BATCH)
            .map(|i| reads.join(&format!("h{i}")).opened.is_some())
            .filter(|o| *o)
            .count();
        assert_eq!(opened, 2);
    }

    #[tokio::test]
    async fn a_batch_beyond_the_searches_out_waits_for_a_turn_and_keeps_gathering() {
        let reads = Arc::new(BatchedReads::new(Duration::from_millis(50)));
        let turns: Vec<_> = (0..IN_FLIGHT).map(|_| reads.send_turn()).collect();
        let mut held = Vec::new();
        for turn in turns {
            held.push(turn.await);
        }
        let first = reads.join("a");
        let batch = first.opened.clone().unwrap();
        let waiting = tokio::spawn({
            let (reads, batch) = (reads.clone(), batch.clone());
            async move {
                let _turn = reads.send_turn().await;
                reads.take(&batch)
            }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "every search's place is taken");
        // names asked for while the batch waits go out in it
        assert!(reads.join("b").opened.is_none());
        held.pop();
        assert_eq!(waiting.await.unwrap(), ["a", "b"]);
    }

    #[tokio::test]
    async fn a_failed_search_fails_every_read_of_its_batch() {
        let reads = BatchedReads::new(Duration::from_millis(50));
        let a = reads.join("a");
        let b = reads.join("b");
        let batch = a.opened.clone().unwrap();
        reads.take(&batch);
        batch.answer(Err(PortError::retryable("503")));
        assert!(a.host("a").await.unwrap_err().is_retryable());
        assert!(b.host("b").await.unwrap_err().is_retryable());
    }
}
