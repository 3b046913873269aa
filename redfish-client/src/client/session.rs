//! Authentication of a handle: login (session, Basic fallback, a lost login's session
//! settled), logout on every exit path (explicit, guard, drop), re-login once on a 401, the
//! per-BMC session cap, and the [`SessionLog`] that tracks the sessions opened and closed.

use std::sync::PoisonError;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use tokio::sync::OwnedSemaphorePermit;

use super::{Bmc, BmcInner};
use crate::Secret;
use crate::config::{AuthMode, Credentials};
use crate::error::Error;
use crate::request::{AuthHeader, Call, Reply};
use crate::vendor::Transient;
use crate::wire;

/// Where a client reports the sessions it opens and closes (the BMC's base URL,
/// `https://host:port`, and the session's path; never the token), so that a run can close those a crash left open. A
/// session is reported opened before the login returns and closed once its DELETE succeeded
/// or the BMC said it was gone. A login is reported too, as a pending-login mark
/// ([`is_login_mark`]) opened before its POST is sent and closed once no session of it can be
/// unknown (answered, or a lost answer settled); a mark left open (the process killed
/// mid-login, or a lost login that could not be settled) is given to [`Bmc::delete_session`]
/// like a session, which then closes the sessions of the mark's user nobody holds on that BMC.
#[async_trait::async_trait]
pub trait SessionLog: Send + Sync {
    /// A session was opened on `bmc`.
    async fn opened(&self, bmc: &str, session: &str);
    /// A session on `bmc` is closed.
    async fn closed(&self, bmc: &str, session: &str);
}

/// The prefix of a pending-login mark's path (never a Redfish path).
const LOGIN_MARK: &str = "login-pending:";

/// Pending-login marks made by this process, for unique marks.
static LOGIN_MARKS: AtomicU64 = AtomicU64::new(0);

/// Whether `session`, as reported to a [`SessionLog`], is a pending-login mark rather than a
/// session's path.
#[must_use]
pub fn is_login_mark(session: &str) -> bool {
    session.starts_with(LOGIN_MARK)
}

/// The user a pending-login mark logged in as (`login-pending:PID-N:USER`); `None` for a mark
/// without one (an older run's), which stands for the settling handle's own user.
fn login_mark_user(mark: &str) -> Option<&str> {
    mark.strip_prefix(LOGIN_MARK)?
        .split_once(':')
        .map(|(_, user)| user)
}

pub(super) enum AuthState {
    Unauthenticated,
    Session(Session),
    Basic,
}

pub(super) struct Session {
    pub(super) token: Secret,
    pub(super) location: Option<String>,
    pub(super) generation: u64,
    _slot: OwnedSemaphorePermit,
}

impl BmcInner {
    pub(super) fn has_session(&self) -> bool {
        matches!(*self.lock_auth(), AuthState::Session(_))
    }

    pub(super) fn lock_auth(&self) -> std::sync::MutexGuard<'_, AuthState> {
        self.auth.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for BmcInner {
    fn drop(&mut self) {
        let state = std::mem::replace(
            &mut *self.auth.get_mut().unwrap_or_else(PoisonError::into_inner),
            AuthState::Unauthenticated,
        );
        let AuthState::Session(session) = state else {
            return;
        };
        let Some(location) = session.location.clone() else {
            return;
        };
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(bmc = %self.name, "session left open: no runtime to log out on");
            return;
        };
        let auth = AuthHeader::Token {
            token: session.token.clone(),
            generation: session.generation,
        };
        let Ok(request) = Call::delete(location.clone()).to_http(&self.address, &auth) else {
            return;
        };
        let transport = self.shared.transport.clone();
        let bmc = self.name.clone();
        let log = self.shared.session_log.get().cloned();
        let authority = self.address.url("");
        handle.spawn(async move {
            let _slot = session;
            match transport.send(request).await {
                Ok(answer) if answer.status().is_success() || answer.status().is_client_error() => {
                    if let Some(log) = log {
                        log.closed(&authority, &location).await;
                    }
                }
                Ok(answer) => {
                    tracing::debug!(%bmc, status = %answer.status(), "logout on drop refused");
                }
                Err(e) => tracing::debug!(%bmc, error = %e, "logout on drop failed"),
            }
        });
    }
}

impl Bmc {
    /// A guard that logs the session out when dropped (best effort, spawned) or when
    /// [`SessionGuard::close`] is awaited.
    #[must_use]
    pub fn guard(&self) -> SessionGuard {
        SessionGuard {
            bmc: Some(self.clone()),
        }
    }

    /// Logs in now (normally done on the first request). Verifies the credentials.
    ///
    /// # Errors
    /// When the BMC refuses the credentials or cannot be reached.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn login(&self) -> Result<(), Error> {
        self.authorization().await?;
        if self.uses_basic_auth() {
            // Basic is only checked by a request that needs it.
            self.execute(&Call::get("/redfish/v1/Systems")).await?;
        }
        Ok(())
    }

    /// Deletes the session, if there is one. The next request logs in again. Returns whether a
    /// session was deleted.
    ///
    /// # Errors
    /// When the DELETE fails for a reason other than the session being gone already.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn logout(&self) -> Result<bool, Error> {
        let _login = self.inner.login_lock.lock().await;
        let state = std::mem::replace(&mut *self.inner.lock_auth(), AuthState::Unauthenticated);
        let AuthState::Session(session) = state else {
            return Ok(false);
        };
        let Some(location) = session.location.clone() else {
            return Ok(true);
        };
        let auth = AuthHeader::Token {
            token: session.token.clone(),
            generation: session.generation,
        };
        // Deleting a session is idempotent: a transient failure (5xx, reset) is retried so
        // that the session is not left open on the BMC.
        let result = self
            .send_retried(&Call::delete(location.clone()), &auth)
            .await;
        drop(session);
        let gone = match result {
            Ok(_) => {
                tracing::debug!("session deleted");
                Ok(true)
            }
            Err(e)
                if matches!(
                    e.status(),
                    Some(http::StatusCode::NOT_FOUND | http::StatusCode::UNAUTHORIZED)
                ) =>
            {
                Ok(true)
            }
            Err(e) => Err(e),
        };
        if gone.is_ok() {
            self.report_session(&location, false).await;
        }
        gone
    }

    /// Forgets the session without deleting it: the BMC dropped it (after a BMC reset).
    pub(crate) fn forget_session(&self) {
        *self.inner.lock_auth() = AuthState::Unauthenticated;
    }

    // ---- authentication ------------------------------------------------------------------

    pub(super) async fn authorization(&self) -> Result<AuthHeader, Error> {
        if let Some(header) = self.current_auth() {
            return Ok(header);
        }
        let _login = self.inner.login_lock.lock().await;
        if let Some(header) = self.current_auth() {
            return Ok(header);
        }
        self.login_locked().await
    }

    fn current_auth(&self) -> Option<AuthHeader> {
        match &*self.inner.lock_auth() {
            AuthState::Unauthenticated => None,
            AuthState::Session(s) => Some(AuthHeader::Token {
                token: s.token.clone(),
                generation: s.generation,
            }),
            AuthState::Basic => Some(self.basic()),
        }
    }

    fn basic(&self) -> AuthHeader {
        AuthHeader::basic(
            &self.inner.credentials.username,
            &self.inner.credentials.password,
        )
    }

    /// Re-logs in after a 401 on a token of `generation`, unless another request already did.
    pub(super) async fn relogin(&self, generation: u64) -> Result<(), Error> {
        let _login = self.inner.login_lock.lock().await;
        let stale = match &*self.inner.lock_auth() {
            AuthState::Session(s) => s.generation == generation,
            AuthState::Unauthenticated => true,
            AuthState::Basic => false,
        };
        if stale {
            tracing::info!(bmc = %self.name(), "session rejected, logging in again");
            let rejected =
                match std::mem::replace(&mut *self.inner.lock_auth(), AuthState::Unauthenticated) {
                    AuthState::Session(s) => s.location.clone(),
                    _ => None,
                };
            let auth = self.login_locked().await?;
            if let Some(rejected) = rejected {
                self.settle_rejected(&rejected, &auth).await;
            }
        }
        Ok(())
    }

    /// A session the BMC stopped taking (expired, or dropped by a manager reset) is not held
    /// any more: deleted with the new login's `auth` (retried through transient failures), and
    /// reported closed once the BMC deleted it or says it is gone. One that cannot be settled
    /// keeps its [`SessionLog`] row for the run's end.
    async fn settle_rejected(&self, session: &str, auth: &AuthHeader) {
        match self.send_retried(&Call::delete(session), auth).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                tracing::debug!(bmc = %self.name(), %session, error = %e, "cannot settle a rejected session");
                return;
            }
        }
        self.report_session(session, false).await;
    }

    /// Logs in; the caller holds the login lock.
    async fn login_locked(&self) -> Result<AuthHeader, Error> {
        if self.inner.shared.closed.load(Ordering::SeqCst) {
            return Err(Error::Closed {
                bmc: self.name().to_owned(),
            });
        }
        let mode = self.inner.shared.config.session.mode;
        if mode == AuthMode::BasicOnly {
            *self.inner.lock_auth() = AuthState::Basic;
            return Ok(self.basic());
        }
        let fallback = mode == AuthMode::SessionWithBasicFallback;
        let root = self.root().await?;
        let Some(sessions) = root.sessions.clone() else {
            return self
                .no_session_service(fallback, "the service root links no session collection");
        };
        let slot = match self.inner.slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                // Our cap is reached: free an idle session of ours if there is one, else wait.
                if let Some(idle) = self.client().idle_session_on(self) {
                    tracing::info!(bmc = %self.name(), user = %idle.username(), "session cap: freeing an idle session of ours");
                    let _ = idle.logout().await;
                }
                self.inner
                    .slots
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| Error::Closed {
                        bmc: self.name().to_owned(),
                    })?
            }
        };
        let mut call =
            Call::post(sessions.clone(), &login_body(&self.inner.credentials)).unauthenticated();
        call.retry_session_limit = !fallback;
        let mark = format!(
            "{LOGIN_MARK}{}-{}:{}",
            std::process::id(),
            LOGIN_MARKS.fetch_add(1, Ordering::Relaxed),
            self.inner.credentials.username
        );
        self.report_session(&mark, true).await;
        let mut attempt = self.execute_plain(&call).await;
        if let Err(e) = &attempt
            && e.transient() == Some(Transient::SessionLimit)
            && let Some(idle) = self.client().idle_session_on(self)
        {
            // The BMC is full, partly with our own sessions: free an idle one and try again.
            tracing::info!(bmc = %self.name(), user = %idle.username(), "session limit: freeing an idle session of ours");
            if idle.logout().await.is_ok() {
                attempt = self.execute_plain(&call).await;
            }
        }
        // A login whose answer was lost may have opened a session nobody holds the token
        // of: log in again (as often as the retry policy allows while answers are lost),
        // then settle it from the session collection (below).
        let mut lost_login = false;
        for _ in 1..self.inner.shared.config.retry.max_attempts.max(2) {
            match &attempt {
                Err(e) if e.may_have_been_applied() => lost_login = true,
                // after a lost answer, a failure that applied nothing is tried again too
                Err(e) if lost_login && e.is_retryable() => {}
                _ => break,
            }
            tracing::info!(bmc = %self.name(), "the login's answer was lost: logging in again, then closing the session it may have opened");
            attempt = self.execute_plain(&call).await;
        }
        if attempt.is_err() && lost_login {
            tracing::warn!(bmc = %self.name(), "a login whose answer was lost may have left a session open: left for the next run");
        } else if attempt.is_err() {
            self.report_session(&mark, false).await;
        }
        let reply = match attempt {
            Ok(reply) => reply,
            Err(e) => {
                return match (e.status(), e.transient()) {
                    (
                        Some(
                            http::StatusCode::NOT_FOUND
                            | http::StatusCode::METHOD_NOT_ALLOWED
                            | http::StatusCode::NOT_IMPLEMENTED,
                        ),
                        _,
                    ) => self.no_session_service(fallback, "the session service refused a login"),
                    (_, Some(Transient::SessionLimit)) if fallback => {
                        tracing::warn!(bmc = %self.name(), "no session slot left, using basic auth");
                        *self.inner.lock_auth() = AuthState::Basic;
                        Ok(self.basic())
                    }
                    (Some(http::StatusCode::UNAUTHORIZED | http::StatusCode::FORBIDDEN), _) => {
                        Err(Error::Auth {
                            bmc: self.name().to_owned(),
                            user: self.inner.credentials.username.clone(),
                            reason: e.to_string(),
                        })
                    }
                    _ => Err(e),
                };
            }
        };
        let Some(token) = reply.header("x-auth-token").filter(|t| !t.is_empty()) else {
            self.report_session(&mark, false).await;
            return self.no_session_service(fallback, "the login answer carried no X-Auth-Token");
        };
        let location = reply
            .location()
            .map(|l| self.inner.address.path_of(&l))
            .or_else(|| {
                reply
                    .json::<wire::Link>()
                    .ok()
                    .map(|l| l.id)
                    .filter(|id| !id.is_empty())
            });
        let generation = self.inner.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let token = Secret::new(token);
        tracing::debug!(bmc = %self.name(), session = ?location, "logged in");
        *self.inner.lock_auth() = AuthState::Session(Session {
            token: token.clone(),
            location: location.clone(),
            generation,
            _slot: slot,
        });
        if let Some(location) = &location {
            self.report_session(location, true).await;
        }
        let auth = AuthHeader::Token { token, generation };
        if !lost_login || self.close_unknown_sessions(&sessions, &auth).await {
            self.report_session(&mark, false).await;
        }
        Ok(auth)
    }

    /// Tells the client's [`SessionLog`], if any, that `session` was opened or closed.
    async fn report_session(&self, session: &str, opened: bool) {
        if let Some(log) = self.inner.shared.session_log.get() {
            let bmc = self.inner.address.url("");
            let bmc = bmc.as_str();
            if opened {
                log.opened(bmc, session).await;
            } else {
                log.closed(bmc, session).await;
            }
        }
    }

    /// Deletes a session by its path on this BMC (one a crashed run left open), with this
    /// handle's own authentication; a session already gone counts as deleted. Reported to the
    /// [`SessionLog`] as closed.
    ///
    /// # Errors
    /// When the DELETE fails otherwise.
    pub async fn delete_session(&self, session: &str) -> Result<(), Error> {
        if is_login_mark(session) {
            return self.settle_login_mark(session).await;
        }
        match self.delete(session).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
        self.report_session(session, false).await;
        Ok(())
    }

    /// A pending-login mark an earlier run left: logs in and closes the sessions of our user
    /// on this BMC that no handle of this client holds (that login's, if it opened one); the
    /// mark is reported closed once that is done.
    async fn settle_login_mark(&self, mark: &str) -> Result<(), Error> {
        let auth = self.authorization().await?;
        let Some(sessions) = self.root().await?.sessions.clone() else {
            // no session service: the login opened nothing
            self.report_session(mark, false).await;
            return Ok(());
        };
        let user = login_mark_user(mark).unwrap_or(&self.inner.credentials.username);
        if self.close_unknown_sessions_of(&sessions, &auth, user).await {
            self.report_session(mark, false).await;
            Ok(())
        } else {
            Err(Error::Unsupported {
                bmc: self.name().to_owned(),
                what: "settling a login an earlier run left unanswered: the session collection cannot be read".to_owned(),
            })
        }
    }

    /// Sends `call` with `auth`, again while it fails retryably (5xx, reset, timeout) under
    /// the client's retry policy, never logging in again (for idempotent requests, also under
    /// the login lock).
    async fn send_retried(&self, call: &Call, auth: &AuthHeader) -> Result<Reply, Error> {
        let retry = &self.inner.shared.config.retry;
        let mut result = self.send_once(call, auth).await;
        for attempt in 1..retry.max_attempts {
            let delay = match &result {
                Err(e) if e.is_retryable() => retry.delay(attempt, e.retry_after()),
                _ => break,
            };
            tokio::time::sleep(delay).await;
            result = self.send_once(call, auth).await;
        }
        result
    }

    /// After a login whose answer was lost: deletes the sessions of our user on this BMC that
    /// no handle of this client holds (the lost login's, if it was applied). Each request is
    /// retried on transient failures (the caller holds the login lock, so nothing here may log
    /// in again); a session of ours that still cannot be deleted is reported to the
    /// [`SessionLog`] as open, so that the next run closes it. Returns whether the collection
    /// was read (every session in it settled or reported).
    async fn close_unknown_sessions(&self, collection: &str, auth: &AuthHeader) -> bool {
        let user = self.inner.credentials.username.clone();
        self.close_unknown_sessions_of(collection, auth, &user)
            .await
    }

    /// [`Bmc::close_unknown_sessions`] for the sessions of `user` (a mark another handle
    /// left: a tenant's login, settled with the administrator's).
    async fn close_unknown_sessions_of(
        &self,
        collection: &str,
        auth: &AuthHeader,
        user: &str,
    ) -> bool {
        let known = self
            .client()
            .session_locations(self.inner.address.authority());
        let listed = match self.send_retried(&Call::get(collection), auth).await {
            Ok(reply) => reply.json::<wire::Collection>().map(|c| c.paths()),
            Err(e) => Err(e),
        };
        let paths = match listed {
            Ok(paths) => paths,
            Err(e) => {
                tracing::warn!(bmc = %self.name(), error = %e, "cannot list the sessions to close the lost login's");
                return false;
            }
        };
        let mut settled = true;
        for path in paths {
            if known.contains(path.trim_end_matches('/')) {
                continue;
            }
            let owner = match self.send_retried(&Call::get(path.as_str()), auth).await {
                Ok(reply) => reply
                    .json::<Value>()
                    .ok()
                    .and_then(|v| v.get("UserName").and_then(Value::as_str).map(str::to_owned)),
                Err(e) => {
                    // whose it is stays unknown: never delete someone else's
                    if !e.is_not_found() {
                        tracing::warn!(bmc = %self.name(), session = %path, error = %e, "cannot read whose session this is");
                        settled = false;
                    }
                    continue;
                }
            };
            if owner.as_deref() != Some(user) {
                continue;
            }
            match self.send_retried(&Call::delete(path.as_str()), auth).await {
                Ok(_) => {
                    tracing::info!(bmc = %self.name(), session = %path, "closed a session of ours nobody held (a lost login)");
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    tracing::warn!(bmc = %self.name(), session = %path, error = %e, "cannot close a session of ours nobody holds; left for the next run");
                    self.report_session(&path, true).await;
                }
            }
        }
        settled
    }

    fn no_session_service(&self, fallback: bool, why: &str) -> Result<AuthHeader, Error> {
        if fallback {
            tracing::info!(bmc = %self.name(), reason = why, "using basic auth");
            *self.inner.lock_auth() = AuthState::Basic;
            Ok(self.basic())
        } else {
            Err(Error::Unsupported {
                bmc: self.name().to_owned(),
                what: format!("sessions: {why}"),
            })
        }
    }
}

fn login_body(credentials: &Credentials) -> Value {
    json!({"UserName": credentials.username, "Password": credentials.password.expose()})
}

/// Logs its BMC's session out when dropped (spawned on the current runtime) or when
/// [`SessionGuard::close`] is awaited. Derefs to the [`Bmc`].
#[derive(Debug)]
pub struct SessionGuard {
    bmc: Option<Bmc>,
}

impl SessionGuard {
    /// Logs out now and waits for it.
    ///
    /// # Errors
    /// When the DELETE fails.
    pub async fn close(mut self) -> Result<bool, Error> {
        match self.bmc.take() {
            Some(bmc) => bmc.logout().await,
            None => Ok(false),
        }
    }
}

impl std::ops::Deref for SessionGuard {
    type Target = Bmc;

    #[allow(clippy::expect_used)]
    fn deref(&self) -> &Bmc {
        // `bmc` is only taken by `close`, which consumes the guard.
        self.bmc.as_ref().expect("guard used after close")
    }
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        let Some(bmc) = self.bmc.take() else { return };
        if !bmc.has_session() {
            return;
        }
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                if let Err(e) = bmc.logout().await {
                    tracing::debug!(bmc = %bmc.name(), error = %e, "logout from guard failed");
                }
            });
        }
    }
}
