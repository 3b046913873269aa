//! The transport seam of the two clients: `http::Request<Bytes>` in, `http::Response<Bytes>` out.
//!
//! Endpoint code in `foreman-client` and `redfish-client` builds requests and parses responses
//! without IO; a [`Transport`] only moves bytes. [`HttpsTransport`] is the real one: one pool of
//! HTTP/1.1 connections over rustls (ring) shared by every server it talks to (a request opens a
//! connection only when its server has no idle one), with connect and per-request timeouts
//! measured on tokio's clock. TLS is verified unless the caller opts out for
//! every server ([`TlsVerification::Insecure`]) or for named servers only
//! ([`TlsVerification::InsecureHosts`]). Limits, retries and caches wrap a transport; they are not
//! in it. [`Secret`] is the one wrapper of passwords and tokens that both clients use. [`api`]
//! has the pure pieces the JSON API clients build requests from (base URL, query encoding, the
//! request, Basic credentials). [`retry_after`] reads `Retry-After` (seconds or an HTTP date) for
//! every client.

/// The README's example, compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub mod api;
mod limit;
mod pool;
mod resolve;
mod retry_after;
mod secret;
mod sessions;
mod tls;

use std::collections::BTreeSet;
use std::fmt;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;

pub use api::BaseUrl;
pub use limit::PerAuthorityLimit;
pub use retry_after::{parse_retry_after, retry_after};
pub use secret::Secret;
pub use tls::TlsError;

/// Moves one request to its server and brings back the whole response.
#[async_trait::async_trait]
pub trait Transport: Send + Sync + fmt::Debug {
    /// Sends `request` (absolute URI) and returns the response with its body read in full.
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError>;
}

#[async_trait::async_trait]
impl<T: Transport + ?Sized> Transport for Arc<T> {
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        (**self).send(request).await
    }
}

/// How server certificates are checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TlsVerification {
    /// Verify against the platform's trust store (the default).
    #[default]
    Platform,
    /// Verify against the platform's trust store plus the certificates of a PEM bundle.
    CaBundle(PathBuf),
    /// Verify every server but these (host names or IP addresses as written in URLs), whose
    /// certificates are accepted unchecked: the per-BMC opt-out for self-signed certificates.
    InsecureHosts {
        /// Extra CA bundle for the verified servers, if any.
        ca_bundle: Option<PathBuf>,
        /// Servers whose certificates are not checked.
        hosts: BTreeSet<String>,
    },
    /// Accept any certificate from any server: the per-run opt-out.
    Insecure,
}

/// Servers whose TLS sessions a transport remembers by default: every BMC of a fleet of
/// several thousand, at a few KiB each for the servers actually contacted (rustls's own
/// default cache keeps 32).
pub const DEFAULT_TLS_SESSION_SERVERS: usize = 8_192;

/// Settings of an [`HttpsTransport`].
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Certificate checking.
    pub tls: TlsVerification,
    /// Time allowed to open a TCP connection.
    pub connect_timeout: Duration,
    /// Time allowed for one request, from sending it to the last byte of the response body.
    pub request_timeout: Duration,
    /// Idle connections kept per server.
    pub max_idle_per_host: usize,
    /// How long an idle pooled connection is kept.
    pub idle_timeout: Duration,
    /// Servers whose TLS sessions are remembered, so that a later connection to one of them
    /// resumes (no certificate to send and verify) instead of a full handshake. The oldest
    /// server is forgotten first; memory is spent only on the servers actually contacted.
    pub tls_session_servers: usize,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            tls: TlsVerification::Platform,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_idle_per_host: 8,
            idle_timeout: Duration::from_secs(60),
            tls_session_servers: DEFAULT_TLS_SESSION_SERVERS,
        }
    }
}

/// What went wrong moving a request; carries no URL credentials and no headers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The TCP or TLS connection could not be made.
    #[error("could not connect to {authority}: {reason}")]
    Connect {
        /// `host:port` of the server.
        authority: String,
        /// What the connector said.
        reason: String,
    },
    /// No complete response within the request timeout.
    #[error("no response from {authority} within {timeout:?}")]
    Timeout {
        /// `host:port` of the server.
        authority: String,
        /// The timeout that ran out.
        timeout: Duration,
    },
    /// The connection broke while the request or response was in flight.
    #[error("connection to {authority} failed mid-request: {reason}")]
    Io {
        /// `host:port` of the server.
        authority: String,
        /// What hyper said.
        reason: String,
    },
    /// The request itself cannot be sent (for example a URI without a host).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}

impl TransportError {
    /// Whether sending the same request again may succeed.
    ///
    /// Connect failures and timeouts before any byte was sent are retryable for every request;
    /// whether a write may be repeated after a mid-request failure is the caller's decision,
    /// which [`TransportError::request_may_have_been_applied`] informs.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        !matches!(self, Self::InvalidRequest(_))
    }

    /// Whether the server may have received and applied the request.
    #[must_use]
    pub fn request_may_have_been_applied(&self) -> bool {
        matches!(self, Self::Timeout { .. } | Self::Io { .. })
    }
}

/// The real transport: pooled HTTP/1.1 connections over rustls (ring), `http` and `https`.
/// Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct HttpsTransport {
    pool: Arc<pool::Pool>,
    request_timeout: Duration,
}

impl fmt::Debug for HttpsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpsTransport")
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

impl HttpsTransport {
    /// Builds the pooled client.
    ///
    /// # Errors
    /// When the CA bundle cannot be read or holds no certificate, or no trust root can be loaded.
    pub fn new(config: &TransportConfig) -> Result<Self, TlsError> {
        let tls = tls::client_config(&config.tls, config.tls_session_servers)?;
        let mut http = HttpConnector::new_with_resolver(resolve::CachingResolver::new());
        http.enforce_http(false);
        http.set_connect_timeout(Some(config.connect_timeout));
        http.set_nodelay(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Self {
            pool: Arc::new(pool::Pool::new(
                connector,
                config.max_idle_per_host,
                config.idle_timeout,
            )),
            request_timeout: config.request_timeout,
        })
    }

    /// A transport with its own pool, capped by `caps`, over this one's TLS settings (trust,
    /// TLS session store) and name cache: one TLS configuration for every server that shares
    /// a trust setting, with connection caps for a BMC fleet and none for Foreman.
    #[must_use]
    pub fn with_connection_caps(&self, caps: &ConnectionCaps) -> Self {
        Self {
            pool: Arc::new(self.pool.sibling(caps)),
            request_timeout: self.request_timeout,
        }
    }
}

/// How a transport made by [`HttpsTransport::with_connection_caps`] bounds its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionCaps {
    /// Connections (so requests in flight) per server at once; a request to a server at the
    /// cap waits for one of its connections to come back.
    pub per_server: NonZeroUsize,
    /// Connections open at once across all servers (`None`: no cap). A request needing a new
    /// connection at the cap waits, first come first served, while connections idle for at
    /// least `linger` are closed for the waiting requests, the longest idle first.
    pub max_connections: Option<NonZeroUsize>,
    /// How long an idle connection is kept when nobody waits.
    pub idle_timeout: Duration,
    /// How long a connection stays idle before a waiting request may have it closed: longer
    /// than the gap between two requests of one operation.
    pub linger: Duration,
}

#[async_trait::async_trait]
impl Transport for HttpsTransport {
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        let authority = request
            .uri()
            .authority()
            .map(ToString::to_string)
            .ok_or_else(|| TransportError::InvalidRequest("the URI has no host".to_owned()))?;
        self.pool
            .send(request.map(Full::new), &authority, self.request_timeout)
            .await
    }
}

/// The error and its sources on one line (hyper's top-level message alone says little).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
