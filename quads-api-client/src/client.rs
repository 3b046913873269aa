//! The only IO of the crate: [`QuadsClient`] sends [`Endpoint`]s over any
//! `Arc<dyn Transport>`, authenticates writes (Basic, or a login token renewed before expiry
//! and once after a 401), and offers typed reads, writes and verified writes.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method};
use quads_http::{HttpsTransport, Transport};
use tokio::time::Instant;

use crate::Secret;
use crate::auth::{Login, Token, basic_authorization, bearer_authorization};
use crate::config::{AuthMode, ClientConfig, QuadsUrl};
use crate::error::{Error, excerpt, from_status};
use crate::model::{Assignment, Cloud, Host, Interface, Move, Schedule};
use crate::reads::{
    ActiveAssignment, AssignmentFilter, Assignments, Clouds, CurrentSchedules, FutureSchedules,
    HostInterfaces, Hosts, Moves, Schedules, ShowAssignment, ShowHost, ShowSchedule,
};
use crate::request::{ApiRequest, Endpoint};
use crate::time::Timestamp;
use crate::writes::{
    AssignmentPatch, CreateAssignment, CreateCloud, CreateSchedule, HostPatch, PatchAssignment,
    PatchHost, PatchSchedule, SchedulePatch,
};

/// A typed client of one QUADS server. Cheap to clone; clones share the transport and token.
///
/// ```no_run
/// use quads_api_client::{ClientConfig, Credentials, QuadsClient, QuadsUrl, writes::HostPatch};
///
/// # async fn example() -> Result<(), quads_api_client::Error> {
/// let client = QuadsClient::new(
///     ClientConfig::new(QuadsUrl::parse("http://quads.example.com")?)
///         .with_credentials(Credentials::new("admin@example.com", "changeme")),
/// )?;
/// for m in client.moves(None).await? {
///     let patch = HostPatch { build: Some(false), switch_config_applied: Some(false), ..HostPatch::default() };
///     client.patch_host_verified(&m.host, &patch).await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct QuadsClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    transport: Arc<dyn Transport>,
    basic: Option<HeaderValue>,
    token: tokio::sync::Mutex<Option<Token>>,
}

impl fmt::Debug for QuadsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuadsClient")
            .field("url", &self.inner.config.url)
            .field("auth", &self.inner.config.auth)
            .finish_non_exhaustive()
    }
}

impl QuadsClient {
    /// A client over the crate's HTTPS transport (plain `http://` works too).
    ///
    /// # Errors
    /// [`Error::Config`] when the TLS settings cannot be built or the credentials cannot be
    /// sent in a header.
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        let transport = HttpsTransport::new(&config.transport).map_err(|e| Error::Config {
            reason: e.to_string(),
        })?;
        Self::with_transport(Arc::new(transport), config)
    }

    /// A client over any transport (limits, retries, an in-process lab).
    ///
    /// # Errors
    /// [`Error::Config`] when the credentials cannot be sent in a header.
    pub fn with_transport(
        transport: Arc<dyn Transport>,
        config: ClientConfig,
    ) -> Result<Self, Error> {
        let basic = config
            .credentials
            .as_ref()
            .map(basic_authorization)
            .transpose()?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                transport,
                basic,
                token: tokio::sync::Mutex::new(None),
            }),
        })
    }

    /// The server.
    #[must_use]
    pub fn url(&self) -> &QuadsUrl {
        &self.inner.config.url
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Sends any endpoint and parses its answer.
    ///
    /// # Errors
    /// Any [`Error`]: the server's (not found, refused, auth, HTML pages), the transport's, or
    /// a decode error.
    pub async fn execute<E: Endpoint>(&self, endpoint: &E) -> Result<E::Output, Error> {
        let server = self.inner.config.server_utc_offset;
        let request = endpoint.request(server);
        let body = self.exchange(&request).await?;
        endpoint.parse(&body, server).map_err(|e| Error::Decode {
            method: request.method.clone(),
            url: self.url().join(&request.path_and_query()),
            path: e.path,
            reason: e.reason,
            excerpt: if endpoint.secret_answer() {
                String::new()
            } else {
                excerpt(&body)
            },
        })
    }

    /// Logs in now (a new token replaces the one held), for callers that want to learn early
    /// that the credentials work.
    ///
    /// # Errors
    /// [`Error::Config`] without credentials; [`Error::Auth`] when they are refused.
    pub async fn login(&self) -> Result<(), Error> {
        let mut held = self.inner.token.lock().await;
        *held = Some(self.fetch_token().await?);
        Ok(())
    }

    async fn fetch_token(&self) -> Result<Token, Error> {
        let basic = self.basic()?;
        let server = self.inner.config.server_utc_offset;
        let request = Login.request(server);
        let body = self
            .send_once(&request, Some((http::header::AUTHORIZATION, basic)))
            .await?;
        let value = Login.parse(&body, server).map_err(|e| Error::Auth {
            method: request.method.clone(),
            url: self.url().join(&request.path_and_query()),
            status: http::StatusCode::UNAUTHORIZED,
            message: e.reason,
        })?;
        tracing::debug!(url = %self.url(), "quads login");
        Ok(Token::new(value, Instant::now(), self.inner.config.token))
    }

    fn basic(&self) -> Result<HeaderValue, Error> {
        self.inner.basic.clone().ok_or_else(|| Error::Config {
            reason: format!(
                "writing to the QUADS server at {} needs an admin's credentials; none were given",
                self.url()
            ),
        })
    }

    /// The token to send: the one held while fresh, else a new login (one at a time).
    async fn token(&self) -> Result<Secret, Error> {
        let mut held = self.inner.token.lock().await;
        if let Some(token) = held.as_ref().filter(|t| t.fresh(Instant::now())) {
            return Ok(token.value.clone());
        }
        let token = self.fetch_token().await?;
        let value = token.value.clone();
        *held = Some(token);
        Ok(value)
    }

    /// Drops the token `sent` if it is still the one held (a 401 showed it is no good).
    async fn forget_token(&self, sent: &Secret) {
        let mut held = self.inner.token.lock().await;
        if held.as_ref().is_some_and(|t| t.value == *sent) {
            *held = None;
        }
    }

    /// Moves one request, authenticating a write, and returns a successful answer's body.
    async fn exchange(&self, request: &ApiRequest) -> Result<Bytes, Error> {
        if !request.is_write() {
            return self.send_once(request, None).await;
        }
        match self.inner.config.auth {
            AuthMode::Basic => {
                let basic = self.basic()?;
                self.send_once(request, Some((http::header::AUTHORIZATION, basic)))
                    .await
            }
            AuthMode::Token => {
                let token = self.token().await?;
                let header = bearer_authorization(&token)?;
                match self
                    .send_once(request, Some((http::header::AUTHORIZATION, header)))
                    .await
                {
                    Err(e) if e.is_unauthorized() => {
                        tracing::debug!(url = %self.url(), "quads token refused, logging in again");
                        self.forget_token(&token).await;
                        let token = self.token().await?;
                        let header = bearer_authorization(&token)?;
                        self.send_once(request, Some((http::header::AUTHORIZATION, header)))
                            .await
                    }
                    other => other,
                }
            }
        }
    }

    async fn send_once(
        &self,
        request: &ApiRequest,
        auth: Option<(HeaderName, HeaderValue)>,
    ) -> Result<Bytes, Error> {
        let url = self.url().join(&request.path_and_query());
        let headers: Vec<(HeaderName, HeaderValue)> = auth.into_iter().collect();
        let http_request = request.to_http(self.url(), &headers)?;
        let started = Instant::now();
        let response = self
            .inner
            .transport
            .send(http_request)
            .await
            .map_err(|source| Error::Transport {
                method: request.method.clone(),
                url: url.clone(),
                source,
            })?;
        let (parts, body) = response.into_parts();
        tracing::debug!(
            method = %request.method,
            path = %request.path,
            status = parts.status.as_u16(),
            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "quads request"
        );
        if parts.status.is_success() {
            Ok(body)
        } else {
            Err(from_status(
                &request.method,
                &url,
                parts.status,
                &parts.headers,
                &body,
            ))
        }
    }

    fn not_found(&self, request: &ApiRequest, what: String) -> Error {
        Error::NotFound {
            method: Method::GET,
            url: self.url().join(&request.path_and_query()),
            what,
        }
    }
}

/// Typed reads.
impl QuadsClient {
    /// `GET moves`: every host to move at `date` (the server's now when `None`).
    ///
    /// # Errors
    /// Any [`Error`].
    pub async fn moves(&self, date: Option<Timestamp>) -> Result<Vec<Move>, Error> {
        self.execute(&Moves { date }).await
    }

    /// Every cloud.
    ///
    /// # Errors
    /// Any [`Error`].
    pub async fn clouds(&self) -> Result<Vec<Cloud>, Error> {
        self.execute(&Clouds::default()).await
    }

    /// The cloud named `name`.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is none; any other [`Error`].
    pub async fn cloud(&self, name: &str) -> Result<Cloud, Error> {
        let endpoint = Clouds {
            name: Some(name.to_owned()),
        };
        let clouds = self.execute(&endpoint).await?;
        clouds.into_iter().next().ok_or_else(|| {
            self.not_found(
                &endpoint.request(self.inner.config.server_utc_offset),
                format!("Cloud not found: {name}"),
            )
        })
    }

    /// The cloud's active assignment, `None` when it has none.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown cloud; any other [`Error`].
    pub async fn active_assignment(&self, cloud: &str) -> Result<Option<Assignment>, Error> {
        self.execute(&ActiveAssignment {
            cloud: cloud.to_owned(),
        })
        .await
    }

    /// Assignments: all, the active ones, or a cloud's.
    ///
    /// # Errors
    /// Any [`Error`].
    pub async fn assignments(&self, filter: AssignmentFilter) -> Result<Vec<Assignment>, Error> {
        self.execute(&Assignments { filter }).await
    }

    /// One assignment by id.
    ///
    /// # Errors
    /// [`Error::NotFound`]; any other [`Error`].
    pub async fn assignment(&self, id: u64) -> Result<Assignment, Error> {
        self.execute(&ShowAssignment { id }).await
    }

    /// One host.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown host; any other [`Error`].
    pub async fn host(&self, name: &str) -> Result<Host, Error> {
        self.execute(&ShowHost {
            name: name.to_owned(),
        })
        .await
    }

    /// Every host, or those recorded in `cloud`.
    ///
    /// # Errors
    /// Any [`Error`].
    pub async fn hosts(&self, cloud: Option<&str>) -> Result<Vec<Host>, Error> {
        self.execute(&Hosts {
            cloud: cloud.map(str::to_owned),
        })
        .await
    }

    /// A host's NICs and switch ports.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown host; any other [`Error`].
    pub async fn interfaces(&self, host: &str) -> Result<Vec<Interface>, Error> {
        self.execute(&HostInterfaces {
            host: host.to_owned(),
        })
        .await
    }

    /// The schedules holding hosts now (or at `query.date`), of a host and/or a cloud.
    ///
    /// # Errors
    /// Any [`Error`].
    pub async fn current_schedules(&self, query: CurrentSchedules) -> Result<Vec<Schedule>, Error> {
        self.execute(&query).await
    }

    /// The schedules not ended yet (current and to come), of a host and/or a cloud.
    ///
    /// # Errors
    /// Any [`Error`].
    pub async fn future_schedules(&self, query: FutureSchedules) -> Result<Vec<Schedule>, Error> {
        self.execute(&query).await
    }

    /// Every schedule, or a host's.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown host; any other [`Error`].
    pub async fn schedules(&self, host: Option<&str>) -> Result<Vec<Schedule>, Error> {
        self.execute(&Schedules {
            host: host.map(str::to_owned),
        })
        .await
    }

    /// One schedule by id.
    ///
    /// # Errors
    /// [`Error::NotFound`]; any other [`Error`].
    pub async fn schedule(&self, id: u64) -> Result<Schedule, Error> {
        self.execute(&ShowSchedule { id }).await
    }
}

/// Typed writes; the `*_verified` ones read the object back and fail with
/// [`Error::NotApplied`] when it does not show the change.
impl QuadsClient {
    /// `PATCH hosts/<name>`: the row the server answered (the OLD row when the database
    /// refused the change: use [`QuadsClient::patch_host_verified`]).
    ///
    /// # Errors
    /// Any [`Error`].
    pub async fn patch_host(&self, name: &str, patch: &HostPatch) -> Result<Host, Error> {
        self.execute(&PatchHost {
            name: name.to_owned(),
            patch: patch.clone(),
        })
        .await
    }

    /// `PATCH hosts/<name>`, then `GET hosts/<name>`: done only when the read shows it.
    ///
    /// # Errors
    /// [`Error::NotApplied`] naming the first field not kept; any other [`Error`].
    pub async fn patch_host_verified(&self, name: &str, patch: &HostPatch) -> Result<Host, Error> {
        self.patch_host(name, patch).await?;
        let host = self.host(name).await?;
        patch.unapplied(&host)?;
        Ok(host)
    }

    /// `PATCH assignments/<id>`.
    ///
    /// # Errors
    /// Any [`Error`].
    pub async fn patch_assignment(
        &self,
        id: u64,
        patch: &AssignmentPatch,
    ) -> Result<Assignment, Error> {
        self.execute(&PatchAssignment {
            id,
            patch: patch.clone(),
        })
        .await
    }

    /// `PATCH assignments/<id>`, then a read of it.
    ///
    /// # Errors
    /// [`Error::NotApplied`]; any other [`Error`].
    pub async fn patch_assignment_verified(
        &self,
        id: u64,
        patch: &AssignmentPatch,
    ) -> Result<Assignment, Error> {
        self.patch_assignment(id, patch).await?;
        let assignment = self.assignment(id).await?;
        patch.unapplied(&assignment)?;
        Ok(assignment)
    }

    /// `PATCH schedules/<id>`.
    ///
    /// # Errors
    /// Any [`Error`].
    pub async fn patch_schedule(&self, id: u64, patch: &SchedulePatch) -> Result<Schedule, Error> {
        self.execute(&PatchSchedule {
            id,
            patch: patch.clone(),
        })
        .await
    }

    /// `PATCH schedules/<id>`, then a read of it.
    ///
    /// # Errors
    /// [`Error::NotApplied`]; any other [`Error`].
    pub async fn patch_schedule_verified(
        &self,
        id: u64,
        patch: &SchedulePatch,
    ) -> Result<Schedule, Error> {
        self.patch_schedule(id, patch).await?;
        let schedule = self.schedule(id).await?;
        patch.unapplied(&schedule)?;
        Ok(schedule)
    }

    /// `POST clouds/`.
    ///
    /// # Errors
    /// [`Error::BadRequest`] when it exists; any other [`Error`].
    pub async fn create_cloud(&self, name: &str) -> Result<Cloud, Error> {
        self.execute(&CreateCloud {
            name: name.to_owned(),
        })
        .await
    }

    /// `POST assignments/`.
    ///
    /// # Errors
    /// [`Error::BadRequest`] when the cloud already has an active one; any other [`Error`].
    pub async fn create_assignment(&self, new: &CreateAssignment) -> Result<Assignment, Error> {
        self.execute(new).await
    }

    /// `POST schedules/`.
    ///
    /// # Errors
    /// [`Error::BadRequest`] for a cloud without active assignment or bad dates; any other
    /// [`Error`].
    pub async fn create_schedule(&self, new: &CreateSchedule) -> Result<Schedule, Error> {
        self.execute(new).await
    }
}
