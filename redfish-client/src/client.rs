//! The client and its per-BMC handles: one pooled transport for the fleet, one session per BMC
//! shared by every request to it, authentication (session, Basic fallback, re-login once on a
//! 401), the retry loop, and logout on every exit path (explicit, guard, drop, Ctrl-C).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use quads_http::{HttpsTransport, PerAuthorityLimit, Transport};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::Secret;
use crate::address::BmcAddress;
use crate::config::{AuthMode, ClientConfig, Credentials};
use crate::discovery::{Discovery, ManagerDoc, RootInfo};
use crate::error::Error;
use crate::request::{AuthHeader, Call, Reply, RetryClass};
use crate::vendor::{DellResource, Transient, Vendor};
use crate::wire;

/// Where a client reports the sessions it opens and closes (the BMC's base URL,
/// `https://host:port`, and the session's path; never the token), so that a run can close those a crash left open. A
/// session is reported opened before the login returns and closed once its DELETE succeeded
/// or the BMC said it was gone.
#[async_trait::async_trait]
pub trait SessionLog: Send + Sync {
    /// A session was opened on `bmc`.
    async fn opened(&self, bmc: &str, session: &str);
    /// A session on `bmc` is closed.
    async fn closed(&self, bmc: &str, session: &str);
}

/// A Redfish client for a fleet of BMCs: one pooled transport, a per-BMC concurrency limit,
/// and a registry of the BMC handles so that [`RedfishClient::close_all`] can log every
/// session out (Ctrl-C). Cheap to clone.
///
/// ```no_run
/// use redfish_client::{BmcAddress, ClientConfig, Credentials, RedfishClient};
///
/// # async fn example() -> Result<(), redfish_client::Error> {
/// let client = RedfishClient::new(ClientConfig::default())?;
/// let bmc = client.bmc(
///     BmcAddress::parse("https://mgmt-host01.example.com")?,
///     Credentials::new("root", "calvin"),
/// );
/// let state = bmc.power_state().await?;
/// bmc.logout().await?;
/// # let _ = state;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedfishClient {
    shared: Arc<Shared>,
}

impl fmt::Debug for RedfishClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedfishClient")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Shared {
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) config: ClientConfig,
    registry: Mutex<Registry>,
    closed: AtomicBool,
    session_log: std::sync::OnceLock<Arc<dyn SessionLog>>,
}

#[derive(Default)]
struct Registry {
    /// The handles by BMC authority (`host:port`), so finding one is not a walk of the fleet.
    handles: HashMap<String, Vec<Weak<BmcInner>>>,
    /// Handles made since dead ones were last swept from every BMC's list.
    made_since_sweep: usize,
    session_slots: HashMap<String, Arc<Semaphore>>,
    /// The last service root read per authority, so a handle made after the one that read it
    /// was dropped (a login probe) does not read it again. Swept with the handles: a root
    /// stays while its BMC has a live handle or for one sweep interval after it was stored,
    /// so at most about two intervals' worth outlive their handles.
    roots: HashMap<String, KnownRoot>,
    /// Sweeps so far (the age of a [`KnownRoot`]).
    sweeps: u64,
}

/// A service root kept in the registry.
struct KnownRoot {
    address: BmcAddress,
    root: Arc<RootInfo>,
    stored_at_sweep: u64,
}

/// Handles made between two sweeps of the registry.
const SWEEP_EVERY: usize = 1024;

impl RedfishClient {
    /// A client over the real HTTPS transport built from `config.transport`.
    ///
    /// # Errors
    /// When the TLS settings cannot be built (unreadable CA bundle, no trust root).
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        let transport = HttpsTransport::new(&config.transport).map_err(|e| Error::Config {
            reason: e.to_string(),
        })?;
        Ok(Self::with_transport(Arc::new(transport), config))
    }

    /// A client over any transport (tests, emulators); the per-BMC limit still applies.
    #[must_use]
    pub fn with_transport(transport: Arc<dyn Transport>, config: ClientConfig) -> Self {
        let limited = PerAuthorityLimit::new(transport, config.per_bmc_concurrency);
        Self {
            shared: Arc::new(Shared {
                transport: Arc::new(limited),
                config,
                registry: Mutex::new(Registry::default()),
                closed: AtomicBool::new(false),
                session_log: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Reports every session this client opens and closes to `log` from now on (once; a
    /// second log is refused and returned).
    ///
    /// # Errors
    /// The log given, when one is set already.
    pub fn set_session_log(&self, log: Arc<dyn SessionLog>) -> Result<(), Arc<dyn SessionLog>> {
        self.shared.session_log.set(log)
    }

    /// The settings this client runs with.
    #[must_use]
    pub fn config(&self) -> &ClientConfig {
        &self.shared.config
    }

    /// The handle of one BMC. Nothing is sent until the first operation; the same handle (and
    /// so the same session) is returned while one is alive for this address and user.
    pub fn bmc(&self, address: BmcAddress, credentials: Credentials) -> Bmc {
        let mut registry = self.lock_registry();
        // The service root is read without credentials: another user's handle on the same BMC
        // may already know it.
        let mut known_root = None;
        if let Some(same_bmc) = registry.handles.get_mut(address.authority()) {
            same_bmc.retain(|w| w.strong_count() > 0);
            for weak in same_bmc.iter() {
                let Some(inner) = weak.upgrade() else {
                    continue;
                };
                if inner.address == address
                    && inner.credentials.username == credentials.username
                    && inner.credentials.password == credentials.password
                {
                    return Bmc { inner };
                }
                if inner.address == address {
                    known_root = known_root.or_else(|| inner.root.get().cloned());
                }
            }
        }
        if known_root.is_none() {
            known_root = registry.kept_root(&address);
        }
        let slots = registry
            .session_slots
            .entry(address.authority().to_owned())
            .or_insert_with(|| {
                Arc::new(Semaphore::new(
                    self.shared.config.session.max_sessions_per_bmc.max(1),
                ))
            })
            .clone();
        let inner = Arc::new(BmcInner {
            shared: self.shared.clone(),
            name: address.authority().to_owned(),
            address,
            credentials,
            auth: Mutex::new(AuthState::Unauthenticated),
            login_lock: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            slots,
            root: OnceCell::new_with(known_root),
            system: OnceCell::new(),
            manager: OnceCell::new(),
            chassis: OnceCell::new(),
            manager_doc: OnceCell::new(),
            vendor: OnceCell::new(),
            bios_path: OnceCell::new(),
            discovery: OnceCell::new(),
            probes: Mutex::new(HashMap::new()),
            bios_registry: OnceCell::new(),
            reset_target: std::sync::OnceLock::new(),
            expand_refused: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
        });
        registry
            .handles
            .entry(inner.name.clone())
            .or_default()
            .push(Arc::downgrade(&inner));
        registry.made_since_sweep += 1;
        if registry.made_since_sweep >= SWEEP_EVERY {
            registry.sweep();
        }
        Bmc { inner }
    }

    /// Keeps `root`, just read from `address`, for the handles made on it later.
    pub(crate) fn remember_root(&self, address: &BmcAddress, root: Arc<RootInfo>) {
        let mut registry = self.lock_registry();
        let stored_at_sweep = registry.sweeps;
        registry.roots.insert(
            address.authority().to_owned(),
            KnownRoot {
                address: address.clone(),
                root,
                stored_at_sweep,
            },
        );
    }

    /// The service root last read from `address` by any handle, live or dropped.
    pub(crate) fn known_root(&self, address: &BmcAddress) -> Option<Arc<RootInfo>> {
        self.lock_registry().kept_root(address)
    }

    /// Accepts new logins again after [`RedfishClient::close_all`] (a run's checks after its
    /// moves ended).
    pub fn reopen(&self) {
        self.shared.closed.store(false, Ordering::SeqCst);
    }

    /// Logs out every open session of this client and refuses new logins: for Ctrl-C and
    /// shutdown. Returns how many sessions were closed.
    pub async fn close_all(&self) -> usize {
        self.shared.closed.store(true, Ordering::SeqCst);
        let handles: Vec<Bmc> = {
            let registry = self.lock_registry();
            registry
                .handles
                .values()
                .flatten()
                .filter_map(Weak::upgrade)
                .map(|inner| Bmc { inner })
                .collect()
        };
        let mut set = JoinSet::new();
        for bmc in handles {
            set.spawn(async move { bmc.logout().await.unwrap_or(false) });
        }
        let mut closed = 0;
        while let Some(done) = set.join_next().await {
            if matches!(done, Ok(true)) {
                closed += 1;
            }
        }
        closed
    }

    /// Another handle on `bmc`'s BMC that holds a session and has no request in flight.
    fn idle_session_on(&self, bmc: &Bmc) -> Option<Bmc> {
        let registry = self.lock_registry();
        registry
            .handles
            .get(bmc.inner.name.as_str())?
            .iter()
            .filter_map(Weak::upgrade)
            .find(|inner| {
                !Arc::ptr_eq(inner, &bmc.inner)
                    && inner.address == bmc.inner.address
                    && inner.has_session()
                    && inner.in_flight.load(Ordering::SeqCst) == 0
            })
            .map(|inner| Bmc { inner })
    }

    /// Sessions this client holds open right now.
    #[must_use]
    pub fn open_sessions(&self) -> usize {
        let registry = self.lock_registry();
        registry
            .handles
            .values()
            .flatten()
            .filter_map(Weak::upgrade)
            .filter(|inner| inner.has_session())
            .count()
    }

    /// The session paths (no trailing slash) the handles of this client hold on `authority`.
    fn session_locations(&self, authority: &str) -> std::collections::HashSet<String> {
        let registry = self.lock_registry();
        registry
            .handles
            .get(authority)
            .into_iter()
            .flatten()
            .filter_map(Weak::upgrade)
            .filter_map(|inner| match &*inner.lock_auth() {
                AuthState::Session(s) => s
                    .location
                    .as_deref()
                    .map(|l| l.trim_end_matches('/').to_owned()),
                _ => None,
            })
            .collect()
    }

    fn lock_registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.shared
            .registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Registry {
    fn kept_root(&self, address: &BmcAddress) -> Option<Arc<RootInfo>> {
        self.roots
            .get(address.authority())
            .filter(|kept| kept.address == *address)
            .map(|kept| kept.root.clone())
    }

    /// Drops dead handles, BMCs without live ones, and the roots of those BMCs stored before
    /// the previous sweep.
    fn sweep(&mut self) {
        self.made_since_sweep = 0;
        self.sweeps += 1;
        self.handles.retain(|_, same_bmc| {
            same_bmc.retain(|w| w.strong_count() > 0);
            !same_bmc.is_empty()
        });
        let (handles, sweeps) = (&self.handles, self.sweeps);
        self.roots.retain(|authority, kept| {
            handles.contains_key(authority) || kept.stored_at_sweep + 1 >= sweeps
        });
    }
}

/// One BMC: its address, credentials, session and discovery cache. Cheap to clone; every clone
/// shares the session. The session is deleted by [`Bmc::logout`], by a [`SessionGuard`], by
/// [`RedfishClient::close_all`], or (best effort, on a tokio runtime) when the last clone drops.
#[derive(Clone)]
pub struct Bmc {
    pub(crate) inner: Arc<BmcInner>,
}

impl fmt::Debug for Bmc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bmc")
            .field("address", &self.inner.address)
            .field("user", &self.inner.credentials.username)
            .finish_non_exhaustive()
    }
}

pub(crate) struct BmcInner {
    pub(crate) shared: Arc<Shared>,
    pub(crate) name: String,
    pub(crate) address: BmcAddress,
    pub(crate) credentials: Credentials,
    auth: Mutex<AuthState>,
    login_lock: tokio::sync::Mutex<()>,
    generation: AtomicU64,
    slots: Arc<Semaphore>,
    pub(crate) root: OnceCell<Arc<RootInfo>>,
    pub(crate) system: OnceCell<String>,
    pub(crate) manager: OnceCell<String>,
    pub(crate) chassis: OnceCell<Option<String>>,
    pub(crate) manager_doc: OnceCell<Arc<ManagerDoc>>,
    pub(crate) vendor: OnceCell<Vendor>,
    pub(crate) bios_path: OnceCell<String>,
    pub(crate) discovery: OnceCell<Arc<Discovery>>,
    pub(crate) probes: Mutex<HashMap<DellResource, Arc<OnceCell<String>>>>,
    pub(crate) bios_registry: OnceCell<Arc<wire::AttributeRegistry>>,
    /// Where the system's `ComputerSystem.Reset` is posted, from the first read of the system.
    pub(crate) reset_target: std::sync::OnceLock<String>,
    /// The BMC refused or ignored a `$expand` it advertises: read members one by one from then
    /// on.
    expand_refused: AtomicBool,
    in_flight: AtomicUsize,
}

enum AuthState {
    Unauthenticated,
    Session(Session),
    Basic,
}

struct Session {
    token: Secret,
    location: Option<String>,
    generation: u64,
    _slot: OwnedSemaphorePermit,
}

impl BmcInner {
    fn has_session(&self) -> bool {
        matches!(*self.lock_auth(), AuthState::Session(_))
    }

    fn lock_auth(&self) -> std::sync::MutexGuard<'_, AuthState> {
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
    /// The BMC's address as written (`host:port`).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The client this handle belongs to.
    #[must_use]
    pub fn client(&self) -> RedfishClient {
        RedfishClient {
            shared: self.inner.shared.clone(),
        }
    }

    /// The address.
    #[must_use]
    pub fn address(&self) -> &BmcAddress {
        &self.inner.address
    }

    /// The user this handle logs in as.
    #[must_use]
    pub fn username(&self) -> &str {
        &self.inner.credentials.username
    }

    /// Whether requests currently go with a session token (`false` before the first request
    /// and under Basic auth).
    #[must_use]
    pub fn has_session(&self) -> bool {
        self.inner.has_session()
    }

    /// Whether this handle fell back to (or was set to) HTTP Basic.
    #[must_use]
    pub fn uses_basic_auth(&self) -> bool {
        matches!(*self.inner.lock_auth(), AuthState::Basic)
    }

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
        let call = Call::delete(location.clone());
        let mut result = self.send_once(&call, &auth).await;
        // Deleting a session is idempotent: a transient failure (5xx, reset) is retried so
        // that the session is not left open on the BMC.
        for attempt in 1..self.inner.shared.config.retry.max_attempts {
            let delay = match &result {
                Err(e) if e.is_retryable() => self
                    .inner
                    .shared
                    .config
                    .retry
                    .delay(attempt, e.retry_after()),
                _ => break,
            };
            tokio::time::sleep(delay).await;
            result = self.send_once(&call, &auth).await;
        }
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

    async fn authorization(&self) -> Result<AuthHeader, Error> {
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
    async fn relogin(&self, generation: u64) -> Result<(), Error> {
        let _login = self.inner.login_lock.lock().await;
        let stale = match &*self.inner.lock_auth() {
            AuthState::Session(s) => s.generation == generation,
            AuthState::Unauthenticated => true,
            AuthState::Basic => false,
        };
        if stale {
            tracing::info!(bmc = %self.name(), "session rejected, logging in again");
            *self.inner.lock_auth() = AuthState::Unauthenticated;
            self.login_locked().await?;
        }
        Ok(())
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
        // of: log in again, then settle it from the session collection (below).
        let lost_login = matches!(&attempt, Err(e) if e.may_have_been_applied());
        if lost_login {
            tracing::info!(bmc = %self.name(), "the login's answer was lost: logging in again, then closing the session it may have opened");
            attempt = self.execute_plain(&call).await;
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
        if lost_login {
            self.close_unknown_sessions(&sessions, &auth).await;
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
        match self.delete(session).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
        self.report_session(session, false).await;
        Ok(())
    }

    /// After a login whose answer was lost: deletes the sessions of our user on this BMC that
    /// no handle of this client holds (the lost login's, if it was applied). Best effort, each
    /// request once (the caller holds the login lock, so nothing here may log in again).
    async fn close_unknown_sessions(&self, collection: &str, auth: &AuthHeader) {
        let known = self
            .client()
            .session_locations(self.inner.address.authority());
        let listed = match self.send_once(&Call::get(collection), auth).await {
            Ok(reply) => reply.json::<wire::Collection>().map(|c| c.paths()),
            Err(e) => Err(e),
        };
        let paths = match listed {
            Ok(paths) => paths,
            Err(e) => {
                tracing::warn!(bmc = %self.name(), error = %e, "cannot list the sessions to close the lost login's");
                return;
            }
        };
        let user = &self.inner.credentials.username;
        for path in paths {
            if known.contains(path.trim_end_matches('/')) {
                continue;
            }
            let owner = match self.send_once(&Call::get(path.as_str()), auth).await {
                Ok(reply) => reply
                    .json::<Value>()
                    .ok()
                    .and_then(|v| v.get("UserName").and_then(Value::as_str).map(str::to_owned)),
                Err(_) => None,
            };
            if owner.as_deref() != Some(user.as_str()) {
                continue;
            }
            match self.send_once(&Call::delete(path.as_str()), auth).await {
                Ok(_) => {
                    tracing::info!(bmc = %self.name(), session = %path, "closed a session of ours nobody held (a lost login)");
                }
                Err(e) => {
                    tracing::warn!(bmc = %self.name(), session = %path, error = %e, "cannot close a session of ours nobody holds");
                }
            }
        }
    }

    /// A manager reset met mid-operation: the BMC answered before (its service root is known)
    /// and now refuses connections. Waits on tokio's clock, within `waits.bmc_reset`, until it
    /// answers again (its sessions are gone then: the next request's 401 logs in again).
    /// False at once for a BMC never heard from, or an error other than a refused connection.
    async fn wait_out_manager_reset(&self, error: &Error) -> bool {
        if !error.never_sent() || self.inner.root.get().is_none() {
            return false;
        }
        tracing::warn!(bmc = %self.name(), "the BMC refuses connections after answering: waiting for it to come back (manager reset?)");
        let never = tokio_util::sync::CancellationToken::new();
        let policy = self.inner.shared.config.waits.bmc_reset;
        let root = Call::get("/redfish/v1/").unauthenticated();
        crate::wait::poll_until(
            self.name(),
            "the BMC to answer again",
            policy,
            &never,
            || async {
                match self.send_once(&root, &AuthHeader::None).await {
                    Err(e) if e.never_sent() => Ok(crate::wait::Poll::Pending(e.to_string())),
                    _ => Ok(crate::wait::Poll::Ready(())),
                }
            },
        )
        .await
        .is_ok()
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

    // ---- the request pipeline --------------------------------------------------------------

    /// Sends `call` without credentials, with the retry policy (service root, login).
    pub(crate) async fn execute_plain(&self, call: &Call) -> Result<Reply, Error> {
        let policy = &self.inner.shared.config.retry;
        let mut attempt: u32 = 0;
        let mut waited = false;
        loop {
            attempt += 1;
            let error = match self.send_once(call, &AuthHeader::None).await {
                Ok(reply) => return Ok(reply),
                Err(e) => e,
            };
            if !waited && self.wait_out_manager_reset(&error).await {
                waited = true;
                continue;
            }
            if attempt >= policy.max_attempts.max(1) || !retry_allowed(call, &error) {
                return Err(error);
            }
            let delay = policy.delay(attempt, error.retry_after());
            tracing::debug!(bmc = %self.name(), request = ?call, attempt, ?delay, error = %error, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// Sends `call` with authentication, re-login once on a 401, and the retry policy.
    pub(crate) async fn execute(&self, call: &Call) -> Result<Reply, Error> {
        if !call.authenticated {
            return self.execute_plain(call).await;
        }
        let policy = &self.inner.shared.config.retry;
        let mut attempt: u32 = 0;
        let mut relogged = false;
        let mut waited = false;
        loop {
            attempt += 1;
            let auth = self.authorization().await?;
            let error = match self.send_once(call, &auth).await {
                Ok(reply) => return Ok(reply),
                Err(e) => e,
            };
            if error.status() == Some(http::StatusCode::UNAUTHORIZED)
                && !relogged
                && let Some(generation) = auth.generation()
            {
                relogged = true;
                attempt -= 1;
                self.relogin(generation).await?;
                continue;
            }
            if !waited && self.wait_out_manager_reset(&error).await {
                // the reset dropped the session: the next attempt's 401 logs in again
                waited = true;
                relogged = false;
                continue;
            }
            if attempt >= policy.max_attempts.max(1) || !retry_allowed(call, &error) {
                return Err(error);
            }
            let delay = policy.delay(attempt, error.retry_after());
            tracing::debug!(bmc = %self.name(), request = ?call, attempt, ?delay, error = %error, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    async fn send_once(&self, call: &Call, auth: &AuthHeader) -> Result<Reply, Error> {
        let _busy = InFlight::enter(&self.inner.in_flight);
        let label = call.label(self.name());
        let request = call.to_http(&self.inner.address, auth)?;
        let started = tokio::time::Instant::now();
        let response = self.inner.shared.transport.send(request).await;
        let response = match response {
            Ok(response) => response,
            Err(e) => {
                tracing::debug!(bmc = %self.name(), request = ?call, error = %e, "no answer");
                return Err(label.transport(e));
            }
        };
        tracing::debug!(
            bmc = %self.name(),
            request = ?call,
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis(),
            "answered"
        );
        let (parts, body) = response.into_parts();
        if parts.status.is_success() {
            Ok(Reply {
                status: parts.status,
                headers: parts.headers,
                body,
                label,
            })
        } else {
            Err(label.status(parts.status, &parts.headers, &body))
        }
    }

    // ---- helpers for the operations -------------------------------------------------------

    /// GETs a resource and decodes it.
    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        self.execute(&Call::get(path)).await?.json()
    }

    /// GETs a resource and decodes it, with its ETag (for a PATCH later in the operation).
    pub(crate) async fn get_tagged<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<(T, Option<String>), Error> {
        let reply = self.execute(&Call::get(path)).await?;
        Ok((reply.json()?, reply.etag()))
    }

    /// The member paths of a collection.
    pub(crate) async fn members(&self, path: &str) -> Result<Vec<String>, Error> {
        Ok(self.get::<wire::Collection>(path).await?.paths())
    }

    /// Every member of `collection`, decoded, in the collection's order, each with its path
    /// and its `ETag` when the BMC told it (for a PATCH without another GET). One GET of the
    /// expanded collection where the service root advertises `$expand`; otherwise, or when
    /// the BMC refuses the query or answers bare references, the collection and a GET per
    /// member.
    pub(crate) async fn members_all<T>(&self, collection: &str) -> Result<Vec<Member<T>>, Error>
    where
        T: DeserializeOwned + Send + 'static,
    {
        self.members_where(collection, |_| true).await
    }

    /// [`Bmc::members_all`] for the members whose path `keep` accepts (the others are not read
    /// one by one).
    pub(crate) async fn members_where<T, F>(
        &self,
        collection: &str,
        keep: F,
    ) -> Result<Vec<Member<T>>, Error>
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(&str) -> bool + Send,
    {
        if let Some(mut members) = self.try_expanded(collection).await? {
            members.retain(|m| keep(&m.path));
            return Ok(members);
        }
        let paths: Vec<String> = self
            .members(collection)
            .await?
            .into_iter()
            .filter(|p| keep(p))
            .collect();
        self.get_all(paths).await
    }

    /// The members `listed` by a read of `collection` made without `$expand` (a probe): one
    /// expanded GET when there are several and the BMC offers it, else a GET per member.
    pub(crate) async fn members_listed<T>(
        &self,
        collection: &str,
        listed: Vec<String>,
    ) -> Result<Vec<Member<T>>, Error>
    where
        T: DeserializeOwned + Send + 'static,
    {
        if listed.len() > 1
            && let Some(members) = self.try_expanded(collection).await?
        {
            return Ok(members);
        }
        self.get_all(listed).await
    }

    /// The expanded members of `collection`; `None` when the BMC does not offer `$expand`, has
    /// refused it before or now, or answered bare references.
    async fn try_expanded<T>(&self, collection: &str) -> Result<Option<Vec<Member<T>>>, Error>
    where
        T: DeserializeOwned + Send + 'static,
    {
        if self.inner.expand_refused.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let Some(query) = self.root().await?.expand.query() else {
            return Ok(None);
        };
        match self.expanded::<T>(collection, query).await {
            Ok(Some(members)) => Ok(Some(members)),
            Ok(None) => {
                tracing::debug!(bmc = %self.name(), %collection, "expanded members came as references, reading them one by one");
                self.inner.expand_refused.store(true, Ordering::Relaxed);
                Ok(None)
            }
            Err(e) if expand_refusal(&e) => {
                tracing::debug!(bmc = %self.name(), %collection, error = %e, "expand refused, reading members one by one");
                self.inner.expand_refused.store(true, Ordering::Relaxed);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// One GET of `collection` with `query`; `None` when a member is a bare reference (the
    /// BMC ignored the query).
    async fn expanded<T: DeserializeOwned>(
        &self,
        collection: &str,
        query: &str,
    ) -> Result<Option<Vec<Member<T>>>, Error> {
        let separator = if collection.contains('?') { '&' } else { '?' };
        let call = Call::get(format!("{collection}{separator}{query}"));
        let reply = self.execute(&call).await?;
        let page: wire::ExpandedCollection = reply.json()?;
        let mut out = Vec::with_capacity(page.members.len());
        for (i, member) in page.members.into_iter().enumerate() {
            let Some(read) = expanded_member(member) else {
                return Ok(None);
            };
            let (path, etag, body) = read;
            let decoded = match <T as serde::Deserialize>::deserialize(&body) {
                Ok(value) => Ok(value),
                // again, tracking the path, only to say where it went wrong
                Err(_) => serde_path_to_error::deserialize(&body),
            };
            let value = decoded.map_err(|e| Error::Decode {
                bmc: self.name().to_owned(),
                method: http::Method::GET,
                url: call.path.clone(),
                path: format!("Members[{i}].{}", e.path()),
                reason: e.inner().to_string(),
                body: crate::error::excerpt(body.to_string().as_bytes()),
            })?;
            out.push(Member { path, value, etag });
        }
        Ok(Some(out))
    }

    /// GETs every path (at most the per-BMC limit in flight), in order, with their ETags.
    pub(crate) async fn get_all<T>(&self, paths: Vec<String>) -> Result<Vec<Member<T>>, Error>
    where
        T: DeserializeOwned + Send + 'static,
    {
        let mut set = JoinSet::new();
        for (i, path) in paths.into_iter().enumerate() {
            let bmc = self.clone();
            set.spawn(async move {
                let read = bmc.get_tagged::<T>(&path).await;
                (i, read.map(|(value, etag)| Member { path, value, etag }))
            });
        }
        let mut out: Vec<Option<Member<T>>> = (0..set.len()).map(|_| None).collect();
        while let Some(joined) = set.join_next().await {
            let (i, result) = joined.map_err(|e| Error::Config {
                reason: format!("a request task failed: {e}"),
            })?;
            out[i] = Some(result?);
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// PATCHes `path` with `If-Match` when the resource has an ETag; on 412 (changed in between)
    /// the ETag is read again and the PATCH sent once more.
    pub(crate) async fn patch(&self, path: &str, body: &Value) -> Result<Reply, Error> {
        let etag = self.etag_of(path).await?;
        self.patch_if_match(path, body, etag).await
    }

    /// PATCHes `path` with the ETag of a read of it made earlier in the same operation (no
    /// second GET for it); on 412 the ETag is read again and the PATCH sent once more.
    pub(crate) async fn patch_if_match(
        &self,
        path: &str,
        body: &Value,
        etag: Option<String>,
    ) -> Result<Reply, Error> {
        match self.execute(&Call::patch(path, body).if_match(etag)).await {
            Err(e) if e.status() == Some(http::StatusCode::PRECONDITION_FAILED) => {
                let etag = self.etag_of(path).await?;
                self.execute(&Call::patch(path, body).if_match(etag)).await
            }
            other => other,
        }
    }

    pub(crate) async fn etag_of(&self, path: &str) -> Result<Option<String>, Error> {
        match self.execute(&Call::get(path)).await {
            Ok(reply) => Ok(reply.etag()),
            // A settings resource may not be readable: PATCH without If-Match then (a BMC that
            // insists answers 428, which names the problem).
            Err(Error::Status { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// POSTs a write.
    pub(crate) async fn post(&self, path: &str, body: &Value) -> Result<Reply, Error> {
        self.execute(&Call::post(path, body)).await
    }

    /// DELETEs a resource.
    pub(crate) async fn delete(&self, path: &str) -> Result<Reply, Error> {
        self.execute(&Call::delete(path)).await
    }

    pub(crate) fn err_unsupported(&self, what: impl Into<String>) -> Error {
        Error::Unsupported {
            bmc: self.name().to_owned(),
            what: what.into(),
        }
    }

    pub(crate) fn err_invalid(&self, reason: impl Into<String>) -> Error {
        Error::Invalid {
            bmc: self.name().to_owned(),
            reason: reason.into(),
        }
    }
}

/// A member of a collection as [`Bmc::members_all`] read it.
#[derive(Debug, Clone)]
pub(crate) struct Member<T> {
    /// Its `@odata.id`.
    pub(crate) path: String,
    /// Its body.
    pub(crate) value: T,
    /// Its `ETag` (`@odata.etag` of an expanded member, the header of a GET).
    pub(crate) etag: Option<String>,
}

/// The path, `@odata.etag` and body of one member of an expanded collection; `None` for a
/// bare reference (nothing but annotations) or something that is not a resource.
fn expanded_member(member: Value) -> Option<(String, Option<String>, Value)> {
    let Value::Object(map) = &member else {
        return None;
    };
    let path = map.get("@odata.id")?.as_str()?.to_owned();
    if map.keys().all(|k| k.starts_with('@')) {
        return None;
    }
    let etag = map
        .get("@odata.etag")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Some((path, etag, member))
}

/// Whether a BMC said no to a `$expand` query itself (not to the caller): 501 for an
/// unsupported query parameter, a 4xx for a value or resource it does not take it on.
fn expand_refusal(error: &Error) -> bool {
    error.status().is_some_and(|s| {
        s == http::StatusCode::NOT_IMPLEMENTED
            || (s.is_client_error()
                && !matches!(
                    s,
                    http::StatusCode::UNAUTHORIZED
                        | http::StatusCode::FORBIDDEN
                        | http::StatusCode::NOT_FOUND
                        | http::StatusCode::TOO_MANY_REQUESTS
                ))
    })
}

/// Counts a request in flight on a handle for as long as it lives.
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Self(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn login_body(credentials: &Credentials) -> Value {
    json!({"UserName": credentials.username, "Password": credentials.password.expose()})
}

fn retry_allowed(call: &Call, error: &Error) -> bool {
    if !call.retry_session_limit && error.transient() == Some(Transient::SessionLimit) {
        return false;
    }
    match call.retry {
        RetryClass::Read => error.is_retryable(),
        RetryClass::Write => error.transient().is_some() || error.never_sent(),
    }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn root() -> Arc<RootInfo> {
        let raw = json!({});
        Arc::new(RootInfo::parse(
            raw.clone(),
            &serde_json::from_value(raw).unwrap(),
        ))
    }

    #[test]
    fn kept_roots_outlive_their_handles_by_one_sweep() {
        let mut registry = Registry::default();
        let keep = |registry: &mut Registry, authority: &str| {
            let address = BmcAddress::parse(&format!("https://{authority}")).unwrap();
            let stored_at_sweep = registry.sweeps;
            registry.roots.insert(
                address.authority().to_owned(),
                KnownRoot {
                    address,
                    root: root(),
                    stored_at_sweep,
                },
            );
        };
        keep(&mut registry, "10.0.0.1:443");
        let other = BmcAddress::parse("http://10.0.0.1:443").unwrap();
        assert!(registry.kept_root(&other).is_none(), "another scheme");
        registry.sweep();
        keep(&mut registry, "10.0.0.2:443");
        assert_eq!(registry.roots.len(), 2, "one sweep old: kept");
        registry.sweep();
        assert_eq!(
            registry.roots.keys().collect::<Vec<_>>(),
            ["10.0.0.2:443"],
            "two sweeps old and no live handle: dropped"
        );
        registry.sweep();
        assert!(registry.roots.is_empty());
    }
}
