//! The client and its per-BMC handles: one pooled transport for the fleet, one session per BMC
//! shared by every request to it. The parts live in the submodules: `registry` (the handles
//! kept per BMC across the fleet, the service-root cache, Ctrl-C's `close_all`), `session`
//! (login, logout, re-login, Basic fallback, session tracking, the guard), `pipeline` (sending a
//! request, its retry loops, the manager-reset wait, error mapping) and `collections`
//! (`$expand` reads, members one by one).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use quads_http::{HttpsTransport, PerAuthorityLimit, Transport};
use tokio::sync::{OnceCell, Semaphore};

use crate::address::BmcAddress;
use crate::config::{ClientConfig, Credentials};
use crate::discovery::{Discovery, ManagerDoc, RootInfo};
use crate::error::Error;
use crate::vendor::{DellResource, Vendor};
use crate::wire;

mod collections;
mod pipeline;
mod registry;
mod session;

pub(crate) use collections::Member;
pub use session::{SessionGuard, SessionLog, is_login_mark};

use registry::Registry;
use session::AuthState;

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

    /// Accepts new logins again after [`RedfishClient::close_all`] (a run's checks after its
    /// moves ended).
    pub fn reopen(&self) {
        self.shared.closed.store(false, Ordering::SeqCst);
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
