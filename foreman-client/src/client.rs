//! [`ForemanClient`]: one Foreman, one transport (the pooled HTTPS client or any caller-wrapped
//! [`Transport`]), one authenticated session, the lookup caches; and [`Call`], a typed request
//! about to be sent. This is the only place that does IO; endpoints are pure.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use quads_http::{HttpsTransport, Transport, TransportError};
use tokio::time::Instant;

use crate::Secret;
use crate::cache::KeyedLock;
use crate::catalog::Caches;
use crate::config::{ClientConfig, ForemanUrl};
use crate::error::{Error, RequestLabel};
use crate::request::{ApiRequest, Endpoint};
use crate::session::Session;

/// A client of one Foreman. Cheap to clone; clones share the connection pool, the session
/// cookie and the lookup caches.
///
/// ```no_run
/// use foreman_client::{ClientConfig, Credentials, ForemanClient, ForemanUrl};
///
/// # async fn example() -> Result<(), foreman_client::Error> {
/// let config = ClientConfig::new(
///     ForemanUrl::parse("https://foreman.example.com")?,
///     Credentials::password("admin", std::env::var("FOREMAN_PASSWORD").unwrap_or_default()),
/// );
/// let client = ForemanClient::new(config)?;
/// let status = client.status().send().await?;
/// println!("Foreman {}", status.version.unwrap_or_default());
/// # Ok(()) }
/// ```
///
/// Limits belong to the caller: wrap the transport and build the client from it.
///
/// ```no_run
/// use std::sync::Arc;
/// use foreman_client::{ClientConfig, Credentials, ForemanClient, ForemanUrl};
/// use quads_http::{HttpsTransport, PerAuthorityLimit, Transport};
///
/// # fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let config = ClientConfig::new(
///     ForemanUrl::parse("https://foreman.example.com")?,
///     Credentials::token("svc-quads", "0123456789abcdef"),
/// );
/// let https = HttpsTransport::new(&config.transport)?;
/// // At most 8 requests in flight to this Foreman; a rate limiter would wrap the same way.
/// let limited: Arc<dyn Transport> = Arc::new(PerAuthorityLimit::new(https, 8));
/// let client = ForemanClient::with_transport(limited, config)?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ForemanClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    transport: Arc<dyn Transport>,
    session: Session,
    pub(crate) caches: Caches,
    pub(crate) write_locks: KeyedLock,
}

impl fmt::Debug for ForemanClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForemanClient")
            .field("url", &self.inner.config.url)
            .field("user", &self.inner.config.credentials.username)
            .field("transport", &self.inner.transport)
            .field("session", &self.inner.session)
            .finish_non_exhaustive()
    }
}

impl ForemanClient {
    /// A client over its own pooled HTTPS transport, built from `config.transport`.
    ///
    /// # Errors
    /// [`Error::Config`] when the TLS settings cannot be built (unreadable CA bundle, no trust
    /// root) or the credentials cannot be sent in a header.
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        let transport = HttpsTransport::new(&config.transport).map_err(|e| Error::Config {
            reason: e.to_string(),
        })?;
        Self::with_transport(Arc::new(transport), config)
    }

    /// A client over any transport: the caller's wrappers (concurrency and rate limits, an
    /// emulator, a recorder). `config.transport` is not used.
    ///
    /// # Errors
    /// [`Error::Config`] when the credentials cannot be sent in a header.
    pub fn with_transport(
        transport: Arc<dyn Transport>,
        config: ClientConfig,
    ) -> Result<Self, Error> {
        let session = Session::new(config.session, &config.credentials)?;
        let caches = Caches::new(config.lookups.ttl);
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                transport,
                session,
                caches,
                write_locks: KeyedLock::default(),
            }),
        })
    }

    /// The Foreman this client talks to.
    #[must_use]
    pub fn url(&self) -> &ForemanUrl {
        &self.inner.config.url
    }

    /// The settings this client runs with.
    #[must_use]
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Whether Foreman's session cookie is held (later requests skip password hashing).
    #[must_use]
    pub fn has_session_cookie(&self) -> bool {
        self.inner.session.has_cookie()
    }

    /// Forgets every cached lookup (operating systems, partition tables, media, ...).
    pub fn forget_lookups(&self) {
        self.inner.caches.clear();
    }

    pub(crate) fn caches(&self) -> &Caches {
        &self.inner.caches
    }

    pub(crate) fn write_locks(&self) -> &KeyedLock {
        &self.inner.write_locks
    }

    /// Sends any endpoint and parses its answer.
    ///
    /// # Errors
    /// [`Error::Api`] for an error status, [`Error::Transport`] when no answer came,
    /// [`Error::Decode`] when the answer has an unexpected shape.
    pub async fn execute<E: Endpoint>(&self, endpoint: &E) -> Result<E::Output, Error> {
        self.execute_within(endpoint, None).await
    }

    pub(crate) async fn execute_within<E: Endpoint>(
        &self,
        endpoint: &E,
        timeout: Option<Duration>,
    ) -> Result<E::Output, Error> {
        let request = endpoint.request();
        let body = self.exchange(&request, timeout).await?;
        endpoint.parse(&body).map_err(|failure| {
            let url = self.url().join(&request.path_and_query());
            let secrets = self.secrets(&request);
            RequestLabel {
                method: &request.method,
                url: &url,
                secrets: &secrets,
            }
            .decode(failure, &body)
        })
    }

    /// The secrets no message about `request` may show: the login secret and any in the body.
    fn secrets<'a>(&'a self, request: &'a ApiRequest) -> Vec<&'a str> {
        let mut secrets = vec![self.inner.config.credentials.secret.expose()];
        secrets.extend(request.body_secrets.iter().map(Secret::expose));
        secrets
    }

    /// Moves one request and returns the body of a successful answer.
    async fn exchange(
        &self,
        request: &ApiRequest,
        timeout: Option<Duration>,
    ) -> Result<Bytes, Error> {
        let url = self.url().join(&request.path_and_query());
        let secrets = self.secrets(request);
        let label = RequestLabel {
            method: &request.method,
            url: &url,
            secrets: &secrets,
        };
        let session = &self.inner.session;
        let first = session.admit().await;
        let (headers, sent_cookie) = session.headers();
        let http_request = request.to_http(self.url(), &headers)?;
        let authority = http_request
            .uri()
            .authority()
            .map(ToString::to_string)
            .unwrap_or_default();
        let started = Instant::now();
        let sending = self.inner.transport.send(http_request);
        let outcome =
            match timeout {
                Some(limit) => tokio::time::timeout(limit, sending).await.unwrap_or(Err(
                    TransportError::Timeout {
                        authority,
                        timeout: limit,
                    },
                )),
                None => sending.await,
            };
        let response = match outcome {
            Ok(response) => response,
            Err(source) => {
                session.settle();
                drop(first);
                tracing::debug!(method = %request.method, path = %request.path, error = %source, "foreman request failed");
                return Err(label.transport(source));
            }
        };
        let (parts, body) = response.into_parts();
        session.absorb(parts.status, &parts.headers, sent_cookie);
        drop(first);
        tracing::debug!(
            method = %request.method,
            path = %request.path,
            status = parts.status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "foreman request"
        );
        if parts.status.is_success() {
            Ok(body)
        } else {
            Err(label.status(parts.status, &parts.headers, &body))
        }
    }
}

/// A typed request about to be sent: build it with a resource handle
/// (`client.hosts().show(..)`), then [`Call::send`].
#[must_use = "a call does nothing until it is sent"]
pub struct Call<'c, E> {
    client: &'c ForemanClient,
    endpoint: E,
    timeout: Option<Duration>,
}

impl<E: fmt::Debug> fmt::Debug for Call<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("endpoint", &self.endpoint)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<'c, E: Endpoint> Call<'c, E> {
    pub(crate) fn new(client: &'c ForemanClient, endpoint: E) -> Self {
        Self {
            client,
            endpoint,
            timeout: None,
        }
    }

    /// A deadline for this request alone, on top of the transport's own request timeout
    /// (useful for slow endpoints such as power actions, which wait for the BMC).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The typed request.
    pub fn endpoint(&self) -> &E {
        &self.endpoint
    }

    /// Changes the typed request.
    pub fn map(mut self, change: impl FnOnce(E) -> E) -> Self {
        self.endpoint = change(self.endpoint);
        self
    }

    /// Sends the request and parses the answer.
    ///
    /// # Errors
    /// Any [`Error`]: see [`ForemanClient::execute`].
    pub async fn send(self) -> Result<E::Output, Error> {
        self.client
            .execute_within(&self.endpoint, self.timeout)
            .await
    }
}
