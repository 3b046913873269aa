//! The client's TLS session store: what a later connection to a server needs to resume its
//! session (TLS 1.3 tickets, a TLS 1.2 session, the key exchange group it chose), for a bounded
//! number of servers, the oldest forgotten first.
//!
//! rustls's `ClientSessionMemoryCache` reserves its whole capacity up front (MiBs for a fleet's
//! worth of servers, resident even for one BMC); this one grows with the servers contacted.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use rustls::NamedGroup;
use rustls::client::{ClientSessionStore, Tls12ClientSessionValue, Tls13ClientSessionValue};
use rustls::pki_types::ServerName;

/// TLS 1.3 tickets kept per server: a server sends two per handshake, each ticket is used
/// once, and a fleet's pool opens one connection to a BMC at a time. Each ticket holds the
/// server's certificate chain: at 5,000 BMCs, four per server were 23 MB of a run's 183 MB heap.
const TICKETS_PER_SERVER: usize = 2;

/// Sessions of at most `max_servers` servers.
pub(crate) struct SessionStore {
    max_servers: usize,
    sessions: Mutex<Sessions>,
}

#[derive(Default)]
struct Sessions {
    by_server: HashMap<ServerName<'static>, ServerSessions>,
    /// Servers in the order they were first remembered.
    order: VecDeque<ServerName<'static>>,
}

#[derive(Default)]
struct ServerSessions {
    kx_hint: Option<NamedGroup>,
    tls12: Option<Tls12ClientSessionValue>,
    tls13: VecDeque<Tls13ClientSessionValue>,
}

impl SessionStore {
    pub(crate) fn new(max_servers: usize) -> Self {
        Self {
            max_servers,
            sessions: Mutex::new(Sessions::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Sessions> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Edits `server`'s sessions, remembering the server (and forgetting the oldest one past
    /// the bound) if it is new.
    fn edit(&self, server: ServerName<'static>, edit: impl FnOnce(&mut ServerSessions)) {
        if self.max_servers == 0 {
            return;
        }
        let mut sessions = self.lock();
        if !sessions.by_server.contains_key(&server) {
            while sessions.order.len() >= self.max_servers {
                let Some(oldest) = sessions.order.pop_front() else {
                    break;
                };
                sessions.by_server.remove(&oldest);
            }
            sessions.order.push_back(server.clone());
        }
        edit(sessions.by_server.entry(server).or_default());
    }
}

impl fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionStore")
            .field("max_servers", &self.max_servers)
            .field("servers", &self.lock().order.len())
            .finish()
    }
}

impl ClientSessionStore for SessionStore {
    fn set_kx_hint(&self, server_name: ServerName<'static>, group: NamedGroup) {
        self.edit(server_name, |s| s.kx_hint = Some(group));
    }

    fn kx_hint(&self, server_name: &ServerName<'_>) -> Option<NamedGroup> {
        self.lock()
            .by_server
            .get(server_name)
            .and_then(|s| s.kx_hint)
    }

    fn set_tls12_session(&self, server_name: ServerName<'static>, value: Tls12ClientSessionValue) {
        self.edit(server_name, |s| s.tls12 = Some(value));
    }

    fn tls12_session(&self, server_name: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        self.lock()
            .by_server
            .get(server_name)
            .and_then(|s| s.tls12.clone())
    }

    fn remove_tls12_session(&self, server_name: &ServerName<'static>) {
        if let Some(s) = self.lock().by_server.get_mut(server_name) {
            s.tls12 = None;
        }
    }

    fn insert_tls13_ticket(
        &self,
        server_name: ServerName<'static>,
        value: Tls13ClientSessionValue,
    ) {
        self.edit(server_name, |s| {
            if s.tls13.len() >= TICKETS_PER_SERVER {
                s.tls13.pop_front();
            }
            s.tls13.push_back(value);
        });
    }

    fn take_tls13_ticket(
        &self,
        server_name: &ServerName<'static>,
    ) -> Option<Tls13ClientSessionValue> {
        self.lock()
            .by_server
            .get_mut(server_name)
            .and_then(|s| s.tls13.pop_back())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn name(text: &str) -> ServerName<'static> {
        ServerName::try_from(text.to_owned()).unwrap()
    }

    #[test]
    fn the_oldest_server_is_forgotten_past_the_bound() {
        let store = SessionStore::new(2);
        for server in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
            store.set_kx_hint(name(server), NamedGroup::X25519);
        }
        assert_eq!(store.kx_hint(&name("10.0.0.1")), None);
        assert_eq!(store.kx_hint(&name("10.0.0.2")), Some(NamedGroup::X25519));
        assert_eq!(store.kx_hint(&name("10.0.0.3")), Some(NamedGroup::X25519));
        // A server already remembered is edited in place, not counted again.
        store.set_kx_hint(name("10.0.0.3"), NamedGroup::secp256r1);
        assert_eq!(store.kx_hint(&name("10.0.0.2")), Some(NamedGroup::X25519));
        assert_eq!(
            store.kx_hint(&name("10.0.0.3")),
            Some(NamedGroup::secp256r1)
        );
        assert_eq!(store.lock().order.len(), 2);
    }

    #[test]
    fn a_store_of_no_server_remembers_nothing() {
        let store = SessionStore::new(0);
        store.set_kx_hint(name("bmc-1.example"), NamedGroup::X25519);
        assert_eq!(store.kx_hint(&name("bmc-1.example")), None);
    }
}
