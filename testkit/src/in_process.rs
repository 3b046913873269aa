//! The lab without sockets: the same state and services as a [`crate::Lab`], answering requests
//! handed to it directly, for simulations under a paused tokio clock.
//!
//! A socket lab cannot run under `tokio::time::pause` (the clock jumps ahead while the kernel
//! holds the bytes), and thousands of TLS listeners cost more than the simulation itself. An
//! [`InProcessLab`] builds the lab state exactly as [`crate::Lab::start`] does
//! ([`LabShared::build`]) and routes each request by its URI's authority to the service a socket
//! lab would have accepted it on: Foreman (HTTPS and HTTP), the admin endpoint, or the BMC of
//! that address. Capacities, latencies, faults, sessions and counters are the services' own, so
//! they behave as over sockets; only connection setup (TCP, TLS) takes no time. URLs follow the
//! socket lab's layout on fixed ports that are never bound ([`FOREMAN_HTTPS_PORT`],
//! [`BMC_PORT`], ...).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;

use crate::admin::Admin;
use crate::bmc::BmcFleet;
use crate::foreman::ForemanService;
use crate::inventory::Inventory;
use crate::lab::{Addresses, LabConfig, LabError, LabShared, LabState, Scheme};
use crate::metrics::{LogEntry, MetricsSnapshot};
use crate::quads::QuadsService;
use crate::server::{Outcome, Response, Service, into_request};

/// Foreman's HTTPS port in an in-process lab (on 127.0.0.1).
pub const FOREMAN_HTTPS_PORT: u16 = 9443;
/// Foreman's plain HTTP port in an in-process lab (on 127.0.0.1).
pub const FOREMAN_HTTP_PORT: u16 = 9080;
/// The admin endpoint's port in an in-process lab (on 127.0.0.1).
pub const ADMIN_PORT: u16 = 9081;
/// The port every BMC of an in-process lab answers on (at its own 127.0.x.y).
pub const BMC_PORT: u16 = 10443;
/// The QUADS server's port in an in-process lab (on 127.0.0.1, plain HTTP).
pub const QUADS_PORT: u16 = 9082;
/// The switches' (never bound) SSH port.
pub const SWITCH_PORT: u16 = 22;

/// What became of a request handed to an [`InProcessLab`], as a client would see it.
#[derive(Debug)]
pub enum Exchange {
    /// The server answered.
    Response(Response),
    /// The server took the request and closed the connection without answering.
    Reset,
    /// Nothing accepts connections there: an address outside the lab, a scheme the server does
    /// not speak, a dead BMC, or a BMC restarting after `Manager.Reset`.
    Refused,
}

/// A lab whose servers are called directly instead of over sockets.
#[derive(Debug)]
pub struct InProcessLab {
    shared: Arc<LabShared>,
    addresses: Addresses,
    foreman: ForemanService,
    fleet: BmcFleet,
    admin: Admin,
    quads: QuadsService,
}

impl InProcessLab {
    /// Builds the lab state as [`crate::Lab::start`] does, binding nothing.
    ///
    /// # Errors
    /// When the configuration cannot work or the lab CA cannot be made.
    pub fn new(config: LabConfig) -> Result<Self, LabError> {
        let shared = LabShared::build(config)?;
        let loopback = Ipv4Addr::LOCALHOST;
        Ok(Self {
            addresses: Addresses {
                foreman_https: SocketAddr::from((loopback, FOREMAN_HTTPS_PORT)),
                foreman_http: SocketAddr::from((loopback, FOREMAN_HTTP_PORT)),
                admin: SocketAddr::from((loopback, ADMIN_PORT)),
                bmc_port: BMC_PORT,
                switch_port: SWITCH_PORT,
                quads: SocketAddr::from((loopback, QUADS_PORT)),
                ssh_port: None,
            },
            foreman: ForemanService::new(shared.clone()),
            fleet: BmcFleet::new(shared.clone()),
            admin: Admin::new(shared.clone()),
            quads: QuadsService::new(shared.clone()),
            shared,
        })
    }

    /// Answers `request` (absolute URI) as the server at its authority would: the response, a
    /// reset, or a refused connection. Waits only on tokio's clock, for the lab model's times.
    pub async fn handle(&self, request: http::Request<Bytes>) -> Exchange {
        let Some(target) = self.target(request.uri()) else {
            return Exchange::Refused;
        };
        let (parts, body) = request.into_parts();
        let outcome = match target {
            Target::Foreman(local) => Self::serve(&self.foreman, parts, body, local).await,
            Target::Admin(local) => Self::serve(&self.admin, parts, body, local).await,
            Target::Quads(local) => Self::serve(&self.quads, parts, body, local).await,
            Target::Bmc(local) => Self::serve(&self.fleet, parts, body, local).await,
        };
        outcome.map_or(Exchange::Refused, |outcome| match outcome {
            Outcome::Respond(response) => Exchange::Response(response),
            Outcome::Reset => Exchange::Reset,
        })
    }

    async fn serve<S: Service>(
        service: &S,
        parts: http::request::Parts,
        body: Bytes,
        local: SocketAddr,
    ) -> Option<Outcome> {
        if !service.accepts(local) {
            return None;
        }
        Some(service.handle(into_request(parts, body, local)).await)
    }

    /// Which server a socket lab would have reached at the URI's scheme and authority.
    fn target(&self, uri: &http::Uri) -> Option<Target> {
        let https = match uri.scheme_str()? {
            "https" => true,
            "http" => false,
            _ => return None,
        };
        let authority = uri.authority()?;
        let ip: IpAddr = authority.host().parse().ok()?;
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let local = SocketAddr::new(ip, port);
        let addresses = &self.addresses;
        if local == addresses.foreman_https {
            return https.then_some(Target::Foreman(local));
        }
        if local == addresses.quads {
            return (!https).then_some(Target::Quads(local));
        }
        if local == addresses.foreman_http || local == addresses.admin {
            return (!https).then_some(if local == addresses.admin {
                Target::Admin(local)
            } else {
                Target::Foreman(local)
            });
        }
        let bmc_https = self.shared.config.bmc_scheme == Scheme::Https;
        (port == addresses.bmc_port && https == bmc_https && self.shared.bmc_index(local).is_some())
            .then_some(Target::Bmc(local))
    }

    /// Foreman over HTTPS: `https://127.0.0.1:9443`.
    #[must_use]
    pub fn foreman_url(&self) -> String {
        self.addresses.foreman_url()
    }

    /// Foreman over plain HTTP: `http://127.0.0.1:9080`.
    #[must_use]
    pub fn foreman_http_url(&self) -> String {
        self.addresses.foreman_http_url()
    }

    /// The admin endpoint (counters, log, inventory): `http://127.0.0.1:9081`.
    #[must_use]
    pub fn admin_url(&self) -> String {
        self.addresses.admin_url()
    }

    /// The QUADS server: `http://127.0.0.1:9082`.
    #[must_use]
    pub fn quads_url(&self) -> String {
        self.addresses.quads_url()
    }

    /// The address of host `index`'s BMC, e.g. `127.0.1.1:10443`.
    #[must_use]
    pub fn bmc_addr(&self, index: usize) -> SocketAddr {
        self.addresses.bmc_addr(&self.shared.config, index)
    }

    /// The base URL of host `index`'s BMC, e.g. `https://127.0.1.1:10443`.
    #[must_use]
    pub fn bmc_url(&self, index: usize) -> String {
        self.addresses.bmc_url(&self.shared.config, index)
    }

    /// The configuration the lab runs with.
    #[must_use]
    pub fn config(&self) -> &LabConfig {
        &self.shared.config
    }

    /// Everything a client needs to use the lab.
    #[must_use]
    pub fn inventory(&self) -> Inventory {
        self.addresses.inventory(&self.shared)
    }

    /// A copy of every counter.
    #[must_use]
    pub fn metrics(&self) -> MetricsSnapshot {
        self.shared.snapshot()
    }

    /// The request log (the last `log_limit` requests).
    #[must_use]
    pub fn log(&self) -> Vec<LogEntry> {
        self.shared.metrics.log()
    }

    /// Runs `f` on the lab state, after moving every machine forward to now.
    pub fn with_state<T>(&self, f: impl FnOnce(&mut LabState) -> T) -> T {
        self.shared.with_state(f)
    }

    /// The shared parts.
    #[must_use]
    pub fn shared(&self) -> &Arc<LabShared> {
        &self.shared
    }
}

/// A lab server and the local address a request arrives on.
#[derive(Debug, Clone, Copy)]
enum Target {
    Foreman(SocketAddr),
    Admin(SocketAddr),
    Bmc(SocketAddr),
    Quads(SocketAddr),
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use super::*;
    use crate::FaultProfile;
    use crate::machine::Phase;

    fn get(uri: &str) -> http::Request<Bytes> {
        http::Request::get(uri).body(Bytes::new()).expect("request")
    }

    fn status(exchange: &Exchange) -> Option<u16> {
        match exchange {
            Exchange::Response(r) => Some(r.status().as_u16()),
            Exchange::Reset | Exchange::Refused => None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn routes_by_authority_like_the_socket_lab() {
        let lab = InProcessLab::new(LabConfig {
            hosts: 6,
            time_scale: 1.0,
            ..LabConfig::default()
        })
        .expect("lab");
        assert_eq!(lab.foreman_url(), "https://127.0.0.1:9443");
        assert_eq!(lab.bmc_url(0), "https://127.0.1.1:10443");
        let inventory = lab.inventory();
        assert_eq!(inventory.hosts[5].bmc_url, lab.bmc_url(5));

        let root = lab
            .handle(get(&format!("{}/redfish/v1", lab.bmc_url(3))))
            .await;
        assert_eq!(status(&root), Some(200));
        let status_page = lab
            .handle(get(&format!("{}/api/status", lab.foreman_url())))
            .await;
        assert_eq!(status(&status_page), Some(401), "no credentials");
        let admin = lab
            .handle(get(&format!("{}/metrics", lab.admin_url())))
            .await;
        assert!(status(&admin).is_some());

        // not a lab server, a wrong scheme, a wrong port, past the fleet
        for uri in [
            "https://127.0.0.1:1/redfish/v1".to_owned(),
            format!("http://127.0.1.1:{BMC_PORT}/redfish/v1"),
            "https://127.0.1.1:443/redfish/v1".to_owned(),
            format!("https://127.0.1.7:{BMC_PORT}/redfish/v1"),
        ] {
            assert!(
                matches!(lab.handle(get(&uri)).await, Exchange::Refused),
                "{uri}"
            );
        }
        let metrics = lab.metrics();
        assert_eq!(
            metrics.requests, 2,
            "the admin endpoint and refusals are not counted"
        );
        assert_eq!(metrics.endpoint("bmc GET /redfish/v1"), 1, "{metrics:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_dead_bmc_refuses_and_a_reset_fault_resets() {
        let lab = InProcessLab::new(LabConfig {
            hosts: 8,
            faults: FaultProfile {
                dead_bmcs: 1,
                ..FaultProfile::none()
            },
            ..LabConfig::default()
        })
        .expect("lab");
        let dead = *lab.shared().fault_hosts.dead.first().expect("a dead BMC");
        let answer = lab
            .handle(get(&format!("{}/redfish/v1", lab.bmc_url(dead))))
            .await;
        assert!(matches!(answer, Exchange::Refused));

        let lab = InProcessLab::new(LabConfig {
            hosts: 2,
            faults: FaultProfile {
                bmc_reset_rate: 1.0,
                ..FaultProfile::none()
            },
            ..LabConfig::default()
        })
        .expect("lab");
        let answer = lab
            .handle(get(&format!("{}/redfish/v1/Systems", lab.bmc_url(0))))
            .await;
        assert!(matches!(answer, Exchange::Reset), "{answer:?}");
    }

    fn basic(
        request: http::request::Builder,
        user: &str,
        password: &str,
    ) -> http::request::Builder {
        request.header(
            "authorization",
            crate::probe::basic_authorization(user, password),
        )
    }

    /// Foreman's requests skip idle machines; a BMC reset on a quiet fleet must still be seen.
    #[tokio::test(start_paused = true)]
    async fn foreman_sees_a_reset_made_while_the_fleet_was_quiet() {
        let lab = InProcessLab::new(LabConfig {
            hosts: 3,
            time_scale: 1.0,
            ..LabConfig::default()
        })
        .expect("lab");
        let inventory = lab.inventory();
        let host = &inventory.hosts[1];
        let foreman = || {
            let request =
                http::Request::get(format!("{}/api/hosts?search=build=true", lab.foreman_url()));
            basic(
                request,
                &inventory.foreman_username,
                &inventory.foreman_password,
            )
            .body(Bytes::new())
            .expect("request")
        };
        let phase = || lab.shared().state().machines[1].phase;
        assert_eq!(status(&lab.handle(foreman()).await), Some(200));
        assert!(matches!(phase(), Phase::Running { .. }), "{:?}", phase());

        let systems = lab
            .handle(
                basic(
                    http::Request::get(format!("{}/redfish/v1/Systems", host.bmc_url)),
                    &host.bmc_username,
                    &host.bmc_password,
                )
                .body(Bytes::new())
                .expect("request"),
            )
            .await;
        let Exchange::Response(systems) = systems else {
            panic!("{systems:?}");
        };
        let systems: serde_json::Value = serde_json::from_slice(systems.body()).expect("json");
        let system = systems["Members"][0]["@odata.id"]
            .as_str()
            .expect("a system");
        let reset = lab
            .handle(
                basic(
                    http::Request::post(format!(
                        "{}{system}/Actions/ComputerSystem.Reset",
                        host.bmc_url
                    )),
                    &host.bmc_username,
                    &host.bmc_password,
                )
                .header("content-type", "application/json")
                .body(Bytes::from_static(br#"{"ResetType":"ForceOff"}"#))
                .expect("request"),
            )
            .await;
        assert!(matches!(status(&reset), Some(200 | 204)), "{reset:?}");
        assert!(
            matches!(phase(), Phase::ShuttingDown { .. }),
            "{:?}",
            phase()
        );

        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(
            matches!(phase(), Phase::ShuttingDown { .. }),
            "nobody looked yet"
        );
        assert_eq!(status(&lab.handle(foreman()).await), Some(200));
        assert_eq!(
            phase(),
            Phase::Off,
            "the Foreman request moved the machine on"
        );
    }

    #[test]
    fn ten_thousand_hosts_build_quickly() {
        let started = std::time::Instant::now();
        let lab = InProcessLab::new(LabConfig {
            hosts: 10_000,
            ..LabConfig::default()
        })
        .expect("lab");
        assert_eq!(lab.inventory().hosts.len(), 10_000);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
    }
}
