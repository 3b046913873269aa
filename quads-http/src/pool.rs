//! The connection pool of [`crate::HttpsTransport`]: HTTP/1.1 connections per server, one
//! request at a time each, checked back in as soon as the response body is read.
//!
//! A request takes an idle connection to its server or, when there is none, opens one: never
//! both. (hyper-util's pooled client races a new connection against the wait for an idle one, so
//! a request sent just before its predecessor's connection was checked back in opened, and kept,
//! one more TLS connection: about three per BMC where one or two serve.) How many connections a
//! server gets at once is bounded above the transport, by the requests allowed in flight to it,
//! or here, by `connections_per_server` (a BMC fleet's transport: one connection per BMC, a
//! second request to it waiting for the first's connection rather than opening its own TLS
//! connection, buffers and dispatch task).
//!
//! A pool may also cap the connections open at once across all its servers (`max_connections`:
//! a fleet's memory is its open connections, about 30 KB each). A request that needs a new
//! connection at the cap waits (first come, first served) while a sweeper closes the
//! connections idle for at least `linger`, longest idle first, one per waiting request: a
//! host between two requests of one step keeps its connection, one waiting on something else
//! (a switch, Foreman, a power-off) gives it up and resumes its TLS session when it is back.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::uri::{Authority, Scheme};
use http::{HeaderValue, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tower_service::Service;

use crate::resolve::CachingResolver;
use crate::{ConnectionCaps, TransportError, error_chain};

type Sender = SendRequest<Full<Bytes>>;

/// The pool key: a connection serves one scheme and authority.
type Key = (Scheme, Authority);

pub(crate) struct Pool {
    connector: HttpsConnector<HttpConnector<CachingResolver>>,
    idle: Arc<Mutex<IdleConnections>>,
    max_idle_per_host: usize,
    idle_timeout: Duration,
    /// At most this many requests, so connections, per server at once; `None`: no cap.
    connections_per_server: Option<NonZeroUsize>,
    /// The cap on connections open at once, across servers; `None`: no cap.
    open: Option<Arc<OpenConnections>>,
}

/// How many connections a capped pool has open, and who waits for one to close.
struct OpenConnections {
    /// One permit per connection that may open; a connection's task holds its permit.
    permits: Arc<Semaphore>,
    /// Requests waiting for a permit.
    waiting: AtomicUsize,
    /// Whether the sweeper runs (at most one at a time).
    sweeping: AtomicBool,
    /// How long a connection is idle before a waiting request may have it closed.
    linger: Duration,
}

struct IdleConnections {
    by_server: HashMap<Key, Vec<IdleConnection>>,
    /// Each capped server's places, while a request holds or waits for one.
    places: HashMap<Key, Arc<Semaphore>>,
    swept: Instant,
}

struct IdleConnection {
    sender: Sender,
    since: Instant,
}

impl Pool {
    pub(crate) fn new(
        connector: HttpsConnector<HttpConnector<CachingResolver>>,
        max_idle_per_host: usize,
        idle_timeout: Duration,
    ) -> Self {
        Self {
            connector,
            idle: Arc::new(Mutex::new(IdleConnections {
                by_server: HashMap::new(),
                places: HashMap::new(),
                swept: Instant::now(),
            })),
            max_idle_per_host,
            idle_timeout,
            connections_per_server: None,
            open: None,
        }
    }

    /// An empty pool of the same connector (TLS settings, session store, name cache) with
    /// `caps`.
    pub(crate) fn sibling(&self, caps: &ConnectionCaps) -> Self {
        let mut pool = Self::new(
            self.connector.clone(),
            self.max_idle_per_host,
            caps.idle_timeout,
        );
        pool.connections_per_server = Some(caps.per_server);
        pool.open = caps.max_connections.map(|max| {
            Arc::new(OpenConnections {
                permits: Arc::new(Semaphore::new(max.get())),
                waiting: AtomicUsize::new(0),
                sweeping: AtomicBool::new(false),
                linger: caps.linger,
            })
        });
        pool
    }

    /// A permit to open one more connection when open connections are capped (`None`
    /// otherwise): at once while under the cap, else after a sweep closed an idle one.
    async fn open_permit(&self) -> Option<OwnedSemaphorePermit> {
        let open = self.open.as_ref()?;
        if let Ok(permit) = open.permits.clone().try_acquire_owned() {
            return Some(permit);
        }
        let _waiting = Waiting::new(open);
        self.start_sweeper(open);
        // never closed: acquiring cannot fail
        open.permits.clone().acquire_owned().await.ok()
    }

    /// Starts the task that closes lingering idle connections while requests wait for a
    /// permit, unless it runs already.
    fn start_sweeper(&self, open: &Arc<OpenConnections>) {
        if open.sweeping.swap(true, Ordering::AcqRel) {
            return;
        }
        let open = open.clone();
        let idle = self.idle.clone();
        tokio::spawn(async move {
            let tick = (open.linger / 2).max(Duration::from_millis(1));
            loop {
                let waiting = open.waiting.load(Ordering::Acquire);
                if waiting == 0 {
                    open.sweeping.store(false, Ordering::Release);
                    // a request that began waiting after the load found the flag still set:
                    // take the sweep back up for it
                    if open.waiting.load(Ordering::Acquire) == 0
                        || open.sweeping.swap(true, Ordering::AcqRel)
                    {
                        return;
                    }
                    continue;
                }
                let closing = waiting.saturating_sub(open.permits.available_permits());
                close_longest_idle(&idle, closing, Instant::now(), open.linger);
                tokio::time::sleep(tick).await;
            }
        });
    }

    /// A place on `key`'s server when its connections are capped: held for the whole exchange,
    /// so a request waits for a busy connection to come back idle instead of opening another.
    async fn place(&self, key: &Key) -> Option<OwnedSemaphorePermit> {
        let cap = self.connections_per_server?;
        let places = self
            .lock()
            .places
            .entry(key.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(cap.get())))
            .clone();
        // never closed: acquiring cannot fail
        places.acquire_owned().await.ok()
    }

    /// Forgets the place of a server nobody holds or waits for (its semaphore only counts).
    fn release(&self, key: &Key, place: Option<OwnedSemaphorePermit>) {
        if place.is_none() {
            return;
        }
        drop(place);
        let mut idle = self.lock();
        if let Some(places) = idle.places.get(key)
            && Arc::strong_count(places) == 1
        {
            idle.places.remove(key);
        }
    }

    /// Sends `request` (absolute URI) on an idle connection to its server, or a new one, and
    /// reads the whole response within `timeout` (counted once the request has its server's
    /// place, so a request queued behind another is not taken for one that may have been
    /// applied). A reused connection that turns out closed before the request went out is
    /// dropped and the request sent on the next one (or a new one).
    pub(crate) async fn send(
        &self,
        mut request: http::Request<Full<Bytes>>,
        authority_text: &str,
        timeout: Duration,
    ) -> Result<http::Response<Bytes>, TransportError> {
        let uri = request.uri().clone();
        let (Some(scheme), Some(authority)) = (uri.scheme().cloned(), uri.authority().cloned())
        else {
            return Err(TransportError::InvalidRequest(
                "the URI has no scheme or host".to_owned(),
            ));
        };
        to_origin_form(&mut request, &uri)?;
        let key = (scheme, authority);
        let place = self.place(&key).await;
        let first = self.connection(&key).await;
        let exchange = self.exchange(request, &uri, key.clone(), authority_text, first);
        let result = tokio::time::timeout(timeout, exchange).await;
        self.release(&key, place);
        result.unwrap_or_else(|_| {
            Err(TransportError::Timeout {
                authority: authority_text.to_owned(),
                timeout,
            })
        })
    }

    /// An idle connection to `key`'s server, else a permit to open one.
    async fn connection(&self, key: &Key) -> Connection {
        match self.checkout(key) {
            Some(sender) => Connection::Idle(sender),
            None => Connection::New(self.open_permit().await),
        }
    }

    async fn exchange(
        &self,
        mut request: http::Request<Full<Bytes>>,
        uri: &Uri,
        key: Key,
        authority_text: &str,
        first: Connection,
    ) -> Result<http::Response<Bytes>, TransportError> {
        let mut next = Some(first);
        loop {
            let connection = match next.take() {
                Some(connection) => connection,
                None => self.connection(&key).await,
            };
            let (mut sender, reused) = match connection {
                Connection::Idle(sender) => (sender, true),
                Connection::New(permit) => {
                    (self.connect(uri, authority_text, permit).await?, false)
                }
            };
            if let Err(e) = sender.ready().await {
                if reused {
                    continue;
                }
                return Err(io_error(authority_text, &e));
            }
            match sender.try_send_request(request).await {
                Ok(response) => {
                    let (parts, body) = response.into_parts();
                    let body = body
                        .collect()
                        .await
                        .map_err(|e| io_error(authority_text, &e))?;
                    self.checkin(key, sender);
                    return Ok(http::Response::from_parts(parts, body.to_bytes()));
                }
                Err(mut e) => match e.take_message() {
                    Some(unsent) if reused => request = unsent,
                    _ => return Err(io_error(authority_text, &e.into_error())),
                },
            }
        }
    }

    /// Opens a connection; its task holds `permit` (a place under the pool's cap on open
    /// connections) until the connection closes.
    async fn connect(
        &self,
        uri: &Uri,
        authority: &str,
        permit: Option<OwnedSemaphorePermit>,
    ) -> Result<Sender, TransportError> {
        let connect_error = |reason: String| TransportError::Connect {
            authority: authority.to_owned(),
            reason,
        };
        let mut connector = self.connector.clone();
        std::future::poll_fn(|cx| connector.poll_ready(cx))
            .await
            .map_err(|e| connect_error(error_chain(&*e)))?;
        let stream = connector
            .call(uri.clone())
            .await
            .map_err(|e| connect_error(error_chain(&*e)))?;
        let (sender, connection) = hyper::client::conn::http1::handshake(stream)
            .await
            .map_err(|e| connect_error(error_chain(&e)))?;
        let server = authority.to_owned();
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = connection.await {
                tracing::debug!(%server, error = %e, "connection ended with an error");
            }
        });
        Ok(sender)
    }

    fn checkout(&self, key: &Key) -> Option<Sender> {
        let now = Instant::now();
        let mut idle = self.lock();
        let list = idle.by_server.get_mut(key)?;
        while let Some(entry) = list.pop() {
            if self.usable(&entry, now) {
                return Some(entry.sender);
            }
        }
        None
    }

    fn checkin(&self, key: Key, sender: Sender) {
        if sender.is_closed() || self.max_idle_per_host == 0 {
            return;
        }
        let now = Instant::now();
        let mut idle = self.lock();
        if now.duration_since(idle.swept) >= self.idle_timeout {
            // Dropping a sender closes its connection: expired ones go, for every server.
            idle.by_server.retain(|_, list| {
                list.retain(|entry| self.usable(entry, now));
                !list.is_empty()
            });
            idle.swept = now;
        }
        let list = idle.by_server.entry(key).or_default();
        if list.len() < self.max_idle_per_host {
            list.push(IdleConnection { sender, since: now });
        }
    }

    fn usable(&self, entry: &IdleConnection, now: Instant) -> bool {
        !entry.sender.is_closed() && now.duration_since(entry.since) < self.idle_timeout
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, IdleConnections> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The connection a request starts on: an idle one, or a new one (with its permit when open
/// connections are capped).
enum Connection {
    Idle(Sender),
    New(Option<OwnedSemaphorePermit>),
}

/// Counts a request among those waiting for a permit while it waits (also when the wait is
/// given up: a timed-out or cancelled request).
struct Waiting<'a>(&'a OpenConnections);

impl<'a> Waiting<'a> {
    fn new(open: &'a OpenConnections) -> Self {
        open.waiting.fetch_add(1, Ordering::AcqRel);
        Self(open)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Closes up to `count` idle connections that have been idle for at least `linger`, the
/// longest idle first (dropping a connection's sender ends its task, which frees its permit).
fn close_longest_idle(idle: &Mutex<IdleConnections>, count: usize, now: Instant, linger: Duration) {
    if count == 0 {
        return;
    }
    let mut idle = idle.lock().unwrap_or_else(PoisonError::into_inner);
    let mut lingering: Vec<(Instant, Key)> = idle
        .by_server
        .iter()
        .flat_map(|(key, list)| {
            list.iter()
                .filter(|entry| now.duration_since(entry.since) >= linger)
                .map(move |entry| (entry.since, key.clone()))
        })
        .collect();
    lingering.sort_unstable_by_key(|(since, _)| *since);
    for (since, key) in lingering.into_iter().take(count) {
        if let Some(list) = idle.by_server.get_mut(&key) {
            if let Some(at) = list.iter().position(|entry| entry.since == since) {
                list.swap_remove(at);
            }
            if list.is_empty() {
                idle.by_server.remove(&key);
            }
        }
    }
}

/// What HTTP/1.1 puts on the wire for a request to an origin server: a `Host` header (the port
/// only when it is not the scheme's default) and the path and query alone.
fn to_origin_form(
    request: &mut http::Request<Full<Bytes>>,
    uri: &Uri,
) -> Result<(), TransportError> {
    if !request.headers().contains_key(http::header::HOST) {
        let host = uri.host().unwrap_or_default();
        let default_port = match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        };
        let value = match uri.port_u16() {
            Some(port) if Some(port) != default_port => format!("{host}:{port}"),
            _ => host.to_owned(),
        };
        let value = HeaderValue::try_from(value)
            .map_err(|e| TransportError::InvalidRequest(format!("host header: {e}")))?;
        request.headers_mut().insert(http::header::HOST, value);
    }
    let path = match uri.path_and_query() {
        Some(path) if path.as_str() != "/" => Uri::from(path.clone()),
        _ => Uri::from_static("/"),
    };
    *request.uri_mut() = path;
    Ok(())
}

fn io_error(authority: &str, error: &(dyn std::error::Error + 'static)) -> TransportError {
    TransportError::Io {
        authority: authority.to_owned(),
        reason: error_chain(error),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn origin(uri: &str) -> http::Request<Full<Bytes>> {
        let mut request = http::Request::get(uri)
            .body(Full::new(Bytes::new()))
            .unwrap();
        let uri = request.uri().clone();
        to_origin_form(&mut request, &uri).unwrap();
        request
    }

    #[test]
    fn requests_go_out_in_origin_form_with_a_host() {
        let r = origin("https://bmc-1.example:8443/redfish/v1/Systems?$expand=.");
        assert_eq!(r.uri().to_string(), "/redfish/v1/Systems?$expand=.");
        assert_eq!(r.headers()[http::header::HOST], "bmc-1.example:8443");

        let r = origin("https://10.0.0.1:443");
        assert_eq!(r.uri().to_string(), "/");
        assert_eq!(r.headers()[http::header::HOST], "10.0.0.1");

        let r = origin("http://[::1]:80/x");
        assert_eq!(r.headers()[http::header::HOST], "[::1]");

        let mut kept = http::Request::get("http://a:81/")
            .header(http::header::HOST, "b")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let uri = kept.uri().clone();
        to_origin_form(&mut kept, &uri).unwrap();
        assert_eq!(kept.headers()[http::header::HOST], "b");
    }
}
