//! Lookup cache with single flight (concurrent identical lookups share one request; found
//! objects are kept for a time-to-live on tokio's clock; failures are handed to the callers
//! that waited for them and then forgotten), and a keyed lock for writes that must not overlap
//! on one Foreman object.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::error::Error;

type Outcome<V> = (Result<V, Error>, Instant);

/// A cache of lookups by key where each key is fetched by at most one request at a time.
pub(crate) struct SingleFlight<V> {
    ttl: Duration,
    slots: Mutex<HashMap<String, Arc<OnceCell<Outcome<V>>>>>,
}

impl<V> fmt::Debug for SingleFlight<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = self
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("SingleFlight")
            .field("ttl", &self.ttl)
            .field("entries", &len)
            .finish()
    }
}

impl<V: Clone> SingleFlight<V> {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The value of `key`: cached, awaited from the request already under way, or fetched by
    /// `fetch`. If the caller running `fetch` is cancelled, one of the waiters takes over.
    pub(crate) async fn get_or_fetch<F, Fut>(&self, key: &str, fetch: F) -> Result<V, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, Error>>,
    {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            let reusable = slots.get(key).filter(|slot| match slot.get() {
                None => true,
                Some((Ok(_), at)) => at.elapsed() < self.ttl,
                Some((Err(_), _)) => false,
            });
            match reusable {
                Some(slot) => slot.clone(),
                None => {
                    let slot = Arc::new(OnceCell::new());
                    slots.insert(key.to_owned(), slot.clone());
                    slot
                }
            }
        };
        let (result, _) = slot
            .get_or_init(|| async { (fetch().await, Instant::now()) })
            .await;
        if result.is_err() {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            if slots.get(key).is_some_and(|s| Arc::ptr_eq(s, &slot)) {
                slots.remove(key);
            }
        }
        result.clone()
    }

    /// Forgets every cached value.
    pub(crate) fn clear(&self) {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// One async mutex per key, created on demand and dropped when nobody holds or awaits it.
#[derive(Default)]
pub(crate) struct KeyedLock {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl fmt::Debug for KeyedLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedLock").finish_non_exhaustive()
    }
}

impl KeyedLock {
    /// Holds the lock of `key` until the guard is dropped.
    pub(crate) async fn lock(&self, key: &str) -> KeyedGuard<'_> {
        let mutex = {
            let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
            locks.retain(|_, m| Arc::strong_count(m) > 1);
            locks.entry(key.to_owned()).or_default().clone()
        };
        let guard = mutex.clone().lock_owned().await;
        KeyedGuard {
            _guard: guard,
            _owner: self,
        }
    }
}

/// Held while writing to one object.
pub(crate) struct KeyedGuard<'a> {
    _guard: tokio::sync::OwnedMutexGuard<()>,
    _owner: &'a KeyedLock,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn concurrent_lookups_share_one_fetch_and_values_expire() {
        let cache = Arc::new(SingleFlight::<u64>::new(Duration::from_secs(60)));
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (cache, calls) = (cache.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_fetch("os", || async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(7)
                    })
                    .await
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap(), 7);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        tokio::time::advance(Duration::from_secs(61)).await;
        let again = cache
            .get_or_fetch("os", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok(8)
            })
            .await
            .unwrap();
        assert_eq!((again, calls.load(Ordering::SeqCst)), (8, 2));
    }

    #[tokio::test(start_paused = true)]
    async fn errors_reach_the_waiters_and_are_then_forgotten() {
        let cache = Arc::new(SingleFlight::<u64>::new(Duration::from_secs(60)));
        let calls = Arc::new(AtomicUsize::new(0));
        let failing = |calls: Arc<AtomicUsize>| async move {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(10)).await;
            Err::<u64, _>(Error::InvalidInput {
                reason: "boom".into(),
            })
        };
        let (a, b) = tokio::join!(
            cache.get_or_fetch("x", || failing(calls.clone())),
            cache.get_or_fetch("x", || failing(calls.clone()))
        );
        assert!(a.is_err() && b.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let c = cache.get_or_fetch("x", || async { Ok(3) }).await.unwrap();
        assert_eq!(c, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_fetch_is_taken_over() {
        let cache = Arc::new(SingleFlight::<u64>::new(Duration::from_secs(60)));
        let first = {
            let cache = cache.clone();
            tokio::spawn(async move {
                cache
                    .get_or_fetch("k", || async {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        Ok(1)
                    })
                    .await
            })
        };
        tokio::task::yield_now().await;
        first.abort();
        let second = cache.get_or_fetch("k", || async { Ok(2) }).await.unwrap();
        assert_eq!(second, 2);
        cache.clear();
    }

    #[tokio::test(start_paused = true)]
    async fn keyed_lock_serialises_one_key_only() {
        let locks = Arc::new(KeyedLock::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..6 {
            let (locks, inside, peak) = (locks.clone(), inside.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                let key = if i % 2 == 0 { "a" } else { "b" };
                let _g = locks.lock(key).await;
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                inside.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }
}
