//! The fleet registry: the live handles per BMC authority (the same handle, so the same session,
//! for the same address and user), the per-BMC session slots, the service roots kept across
//! handles, and the fleet-wide walks over them (`close_all`, idle sessions, open sessions).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio::sync::{OnceCell, Semaphore};
use tokio::task::JoinSet;

use super::session::AuthState;
use super::{Bmc, BmcInner, RedfishClient};
use crate::address::BmcAddress;
use crate::config::Credentials;
use crate::discovery::RootInfo;

#[derive(Default)]
pub(super) struct Registry {
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

    /// Logs out every open session of this client and refuses new logins: for Ctrl-C and
    /// shutdown. Returns how many sessions were closed.
    pub async fn close_all(&self) -> usize {
        self.shared.closed.store(true, Ordering::SeqCst);
        let handles: Vec<Bmc> = {
            let registry = self.lock_registry();
            registry.live().map(|inner| Bmc { inner }).collect()
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
    pub(super) fn idle_session_on(&self, bmc: &Bmc) -> Option<Bmc> {
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
        registry.live().filter(|inner| inner.has_session()).count()
    }

    /// The session paths (no trailing slash) the handles of this client hold on `authority`.
    pub(super) fn session_locations(&self, authority: &str) -> HashSet<String> {
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
    /// Every live handle of the fleet.
    fn live(&self) -> impl Iterator<Item = Arc<BmcInner>> + '_ {
        self.handles.values().flatten().filter_map(Weak::upgrade)
    }

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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    fn root() -> Arc<RootInfo> {
        Arc::new(RootInfo::parse(&json!({})))
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
