//! Per-key mutual exclusion (`"foreman:user/7"`, `"switch:sw01"`): holders of one key run one
//! at a time in arrival order, different keys never wait for each other, and a key's entry is
//! removed as soon as nobody holds or waits for it, so the map does not grow with the keys ever
//! used.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::OwnedMutexGuard;
use tokio::time::Instant;

use super::stats::WaitStats;

/// Async locks by name. Cheap to clone; clones share the locks.
#[derive(Clone, Default)]
pub struct KeyedLock {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: Mutex<Entries>,
    stats: WaitStats,
}

#[derive(Default)]
struct Entries {
    map: HashMap<String, Entry>,
    peak_keys: usize,
}

struct Entry {
    lock: Arc<tokio::sync::Mutex<()>>,
    /// Holders plus waiters; the entry goes when this reaches zero.
    users: usize,
}

impl fmt::Debug for KeyedLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedLock")
            .field("keys", &self.len())
            .finish_non_exhaustive()
    }
}

/// What a [`KeyedLock`] did so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyedLockReport {
    /// Keys held or waited for now.
    pub keys: usize,
    /// Most keys held or waited for at once.
    pub peak_keys: usize,
    /// Locks taken.
    pub acquired: u64,
    /// Locks that had to wait for another holder of their key.
    pub waited: u64,
    /// Time spent waiting, all locks together, in seconds.
    pub total_wait_secs: f64,
}

/// Holds one key; released on drop.
pub struct KeyedGuard {
    // Field order matters: the mutex is released before the entry is unregistered.
    _guard: OwnedMutexGuard<()>,
    registration: Registration,
}

impl fmt::Debug for KeyedGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedGuard")
            .field("key", &self.registration.key)
            .finish()
    }
}

impl KeyedGuard {
    /// The key held.
    #[must_use]
    pub fn key(&self) -> &str {
        &self.registration.key
    }
}

/// Counts one user of an entry for as long as it lives (also while waiting, so a cancelled
/// waiter unregisters too).
struct Registration {
    inner: Arc<Inner>,
    key: String,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut entries = self.inner.lock();
        if let Some(entry) = entries.map.get_mut(&self.key) {
            entry.users -= 1;
            if entry.users == 0 {
                entries.map.remove(&self.key);
            }
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl KeyedLock {
    /// No keys yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Waits until `key` is free, then holds it until the guard is dropped.
    ///
    /// Cancel-safe: dropping the future gives up the place in the queue.
    pub async fn lock(&self, key: impl Into<String>) -> KeyedGuard {
        let key = key.into();
        let mutex = {
            let mut entries = self.inner.lock();
            let entry = entries.map.entry(key.clone()).or_insert_with(|| Entry {
                lock: Arc::new(tokio::sync::Mutex::new(())),
                users: 0,
            });
            entry.users += 1;
            let mutex = entry.lock.clone();
            entries.peak_keys = entries.peak_keys.max(entries.map.len());
            mutex
        };
        let registration = Registration {
            inner: self.inner.clone(),
            key,
        };
        let started = Instant::now();
        let (guard, waited) = match mutex.clone().try_lock_owned() {
            Ok(guard) => (guard, false),
            Err(_) => (mutex.lock_owned().await, true),
        };
        let wait = if waited {
            started.elapsed()
        } else {
            Duration::ZERO
        };
        self.inner.stats.record(waited, wait);
        KeyedGuard {
            _guard: guard,
            registration,
        }
    }

    /// Keys held or waited for now.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.lock().map.len()
    }

    /// Whether no key is held or waited for.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counters so far.
    #[must_use]
    pub fn report(&self) -> KeyedLockReport {
        let s = self.inner.stats.snapshot();
        let entries = self.inner.lock();
        KeyedLockReport {
            keys: entries.map.len(),
            peak_keys: entries.peak_keys,
            acquired: s.acquired,
            waited: s.waited,
            total_wait_secs: s.total_wait.as_secs_f64(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_holder_per_key_many_keys_in_parallel_and_the_map_empties() {
        let locks = KeyedLock::new();
        let keys = ["foreman:user/7", "foreman:user/8", "switch:sw01"];
        let inside: Arc<Vec<AtomicUsize>> =
            Arc::new(keys.iter().map(|_| AtomicUsize::new(0)).collect());
        let peak_all = Arc::new(AtomicUsize::new(0));
        let all = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..60 {
            let (locks, inside, peak_all, all) =
                (locks.clone(), inside.clone(), peak_all.clone(), all.clone());
            let k = i % keys.len();
            tasks.push(tokio::spawn(async move {
                let guard = locks.lock(keys[k]).await;
                assert_eq!(guard.key(), keys[k]);
                assert_eq!(
                    inside[k].fetch_add(1, Ordering::SeqCst),
                    0,
                    "overlap on {}",
                    keys[k]
                );
                let now = all.fetch_add(1, Ordering::SeqCst) + 1;
                peak_all.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
                all.fetch_sub(1, Ordering::SeqCst);
                inside[k].fetch_sub(1, Ordering::SeqCst);
            }));
        }
        let t0 = Instant::now();
        for task in tasks {
            task.await.unwrap();
        }
        // 20 holders per key, 10 ms each, keys in parallel.
        assert_eq!(t0.elapsed(), Duration::from_millis(200));
        assert_eq!(peak_all.load(Ordering::SeqCst), keys.len());
        assert!(locks.is_empty());
        let r = locks.report();
        assert_eq!((r.keys, r.peak_keys, r.acquired, r.waited), (0, 3, 60, 57));
    }

    #[tokio::test(start_paused = true)]
    async fn holders_of_one_key_go_in_arrival_order() {
        let locks = KeyedLock::new();
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = locks.lock("k").await;
        let mut tasks = Vec::new();
        for i in 0..8 {
            let (locks, order) = (locks.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _g = locks.lock("k").await;
                order.lock().unwrap().push(i);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }));
            tokio::task::yield_now().await;
        }
        drop(first);
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), (0..8).collect::<Vec<_>>());
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_waiter_leaves_no_entry_behind() {
        let locks = KeyedLock::new();
        let held = locks.lock("a").await;
        let gave_up = tokio::time::timeout(Duration::from_millis(5), locks.lock("a")).await;
        assert!(gave_up.is_err());
        assert_eq!(locks.len(), 1);
        drop(held);
        assert!(locks.is_empty());
        for i in 0..1000 {
            drop(locks.lock(format!("host/{i}")).await);
        }
        assert!(locks.is_empty());
    }
}
