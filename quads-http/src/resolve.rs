//! Name resolution for the connector: the system resolver (getaddrinfo on tokio's blocking
//! pool) with its answers remembered for a short while.
//!
//! A run opens one or two connections per BMC within seconds of each other; without the cache
//! each one is a trip to a blocking thread and, for names in `/etc/hosts`, a read of the whole
//! file. Failed lookups are not remembered.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};
use tokio::time::Instant;
use tower_service::Service;

/// How long an answer is reused.
const TTL: Duration = Duration::from_secs(30);
/// Past this many names, expired answers are dropped on the next insert.
const PRUNE_ABOVE: usize = 4096;

type Answers = HashMap<String, (Vec<SocketAddr>, Instant)>;

/// [`GaiResolver`] with a time-limited cache of its answers.
#[derive(Clone)]
pub(crate) struct CachingResolver {
    inner: GaiResolver,
    answers: Arc<Mutex<Answers>>,
}

impl CachingResolver {
    pub(crate) fn new() -> Self {
        Self {
            inner: GaiResolver::new(),
            answers: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn cached(&self, name: &str) -> Option<Vec<SocketAddr>> {
        let answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        answers
            .get(name)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(addrs, _)| addrs.clone())
    }
}

fn remember(answers: &Mutex<Answers>, name: &str, addrs: &[SocketAddr]) {
    let mut answers = answers.lock().unwrap_or_else(PoisonError::into_inner);
    if answers.len() >= PRUNE_ABOVE {
        answers.retain(|_, (_, at)| at.elapsed() < TTL);
    }
    answers.insert(name.to_owned(), (addrs.to_vec(), Instant::now()));
}

impl Service<Name> for CachingResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, name: Name) -> Self::Future {
        if let Some(addrs) = self.cached(name.as_str()) {
            return Box::pin(std::future::ready(Ok(addrs.into_iter())));
        }
        let lookup = self.inner.call(name.clone());
        let answers = self.answers.clone();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = lookup.await?.collect();
            remember(&answers, name.as_str(), &addrs);
            Ok(addrs.into_iter())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::str::FromStr;

    use super::*;

    #[tokio::test]
    async fn answers_are_reused_until_they_expire() {
        let mut resolver = CachingResolver::new();
        let name = Name::from_str("localhost").unwrap();
        let first: Vec<SocketAddr> = resolver.call(name.clone()).await.unwrap().collect();
        assert!(!first.is_empty());
        assert_eq!(resolver.cached("localhost"), Some(first.clone()));
        let again: Vec<SocketAddr> = resolver.call(name).await.unwrap().collect();
        assert_eq!(again, first);

        let stale = Instant::now().checked_sub(TTL).unwrap();
        resolver
            .answers
            .lock()
            .unwrap()
            .get_mut("localhost")
            .unwrap()
            .1 = stale;
        assert_eq!(resolver.cached("localhost"), None);
    }
}
