//! A transport wrapper that caps the requests in flight per server (`host:port`).
//!
//! BMCs serve a couple of requests at once and queue or refuse the rest, so each one gets its own
//! semaphore; servers never wait for each other. A request holds its permit only while it is on
//! the wire: retries and backoff sleeps, which live above the transport, hold none.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use tokio::sync::Semaphore;

use crate::{Transport, TransportError};

/// Wraps a [`Transport`] so that at most `limit` requests per server are in flight at once.
pub struct PerAuthorityLimit<T> {
    inner: T,
    default_limit: usize,
    overrides: HashMap<String, usize>,
    semaphores: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl<T: fmt::Debug> fmt::Debug for PerAuthorityLimit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PerAuthorityLimit")
            .field("inner", &self.inner)
            .field("default_limit", &self.default_limit)
            .field("overrides", &self.overrides)
            .finish_non_exhaustive()
    }
}

impl<T> PerAuthorityLimit<T> {
    /// At most `default_limit` requests in flight per server (0 is taken as 1).
    pub fn new(inner: T, default_limit: usize) -> Self {
        Self {
            inner,
            default_limit: default_limit.max(1),
            overrides: HashMap::new(),
            semaphores: Mutex::new(HashMap::new()),
        }
    }

    /// A different cap for one server, named as `host:port` or `host` (the URL's authority).
    #[must_use]
    pub fn with_limit(mut self, authority: impl Into<String>, limit: usize) -> Self {
        self.overrides.insert(authority.into(), limit.max(1));
        self
    }

    /// The transport underneath.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// Requests that may start now for `authority` without waiting (for tests and metrics).
    pub fn available(&self, authority: &str) -> usize {
        self.semaphore(authority).available_permits()
    }

    fn semaphore(&self, authority: &str) -> Arc<Semaphore> {
        let mut map = self
            .semaphores
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.entry(authority.to_owned())
            .or_insert_with(|| {
                let limit = self
                    .overrides
                    .get(authority)
                    .copied()
                    .unwrap_or(self.default_limit);
                Arc::new(Semaphore::new(limit))
            })
            .clone()
    }
}

#[async_trait::async_trait]
impl<T: Transport> Transport for PerAuthorityLimit<T> {
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        let authority = request
            .uri()
            .authority()
            .map(ToString::to_string)
            .ok_or_else(|| TransportError::InvalidRequest("the URI has no host".to_owned()))?;
        let semaphore = self.semaphore(&authority);
        // The semaphore is never closed, so acquiring only fails if that invariant breaks.
        let _permit = semaphore
            .acquire_owned()
            .await
            .map_err(|_| TransportError::InvalidRequest("concurrency limiter closed".to_owned()))?;
        self.inner.send(request).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// Counts the requests inside it at once, per call of `send`.
    #[derive(Debug, Default)]
    struct Gauge {
        now: AtomicUsize,
        peak: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl Transport for Gauge {
        async fn send(
            &self,
            _request: http::Request<Bytes>,
        ) -> Result<http::Response<Bytes>, TransportError> {
            let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(10)).await;
            self.now.fetch_sub(1, Ordering::SeqCst);
            Ok(http::Response::new(Bytes::new()))
        }
    }

    fn request(uri: &str) -> http::Request<Bytes> {
        http::Request::get(uri).body(Bytes::new()).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn caps_requests_per_server_but_not_across_servers() {
        let limited = Arc::new(PerAuthorityLimit::new(Gauge::default(), 2));
        let mut tasks = Vec::new();
        for i in 0..8 {
            let limited = limited.clone();
            tasks.push(tokio::spawn(async move {
                limited
                    .send(request(&format!("http://10.0.0.1:80/r/{i}")))
                    .await
            }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(limited.inner().peak.load(Ordering::SeqCst), 2);

        let limited = Arc::new(PerAuthorityLimit::new(Gauge::default(), 1));
        let a = limited.send(request("http://10.0.0.1/x"));
        let b = limited.send(request("http://10.0.0.2/x"));
        let (a, b) = tokio::join!(a, b);
        a.unwrap();
        b.unwrap();
        assert_eq!(limited.inner().peak.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn an_override_applies_to_its_server_only() {
        let limited =
            Arc::new(PerAuthorityLimit::new(Gauge::default(), 1).with_limit("10.0.0.9:443", 3));
        assert_eq!(limited.available("10.0.0.9:443"), 3);
        assert_eq!(limited.available("10.0.0.8:443"), 1);
        let none = limited.send(request("/relative")).await;
        assert!(matches!(none, Err(TransportError::InvalidRequest(_))));
    }
}
