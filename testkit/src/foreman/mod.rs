//! The fake Foreman: API v2 over HTTP and HTTPS, with Foreman's capacity, auth, RBAC and errors.
//!
//! Every request goes through the same pipeline ([`ForemanService::handle`]): admission into
//! Foreman's capacity (past the backlog, Apache's 503 HTML page), a seeded per-request fault
//! (nothing applied: connection reset, 500, the proxy's 502/503/504 HTML page, a connection
//! that never answers; or a write applied and its answer lost: a reset, or the proxy's 504 after
//! Rails committed; each counted), then authentication, routing, permissions and the
//! action on the lab state ([`api::process`]), then the model's service time while the request
//! holds its place in service (and a write holds its object), then the answer and the log entry.
//!
//! Code map: `routes.rs` (paths to actions), `api.rs` (pipeline, auth, pagination), `hosts.rs`,
//! `accounts.rs` (users, roles, filters, user groups), `tokens.rs` (personal access
//! tokens), `catalog.rs`, `db.rs` (records and seed),
//! `search.rs` (scoped search), `fields.rs` (searchable fields), `rbac.rs`, `views.rs` (JSON),
//! `errors.rs` (error shapes).

mod accounts;
pub mod api;
mod catalog;
pub mod db;
pub mod errors;
pub mod fields;
mod hosts;
pub mod rbac;
pub mod routes;
pub mod search;
mod tokens;
pub mod views;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::clock::{hash_str, mix};
use crate::faults::{Rates, RequestFault, draw};
use crate::lab::LabShared;
use crate::metrics::{ConnectionStart, LogEntry, ServiceKind};
use crate::server::{Outcome, Request, Service};

pub use db::ForemanDb;
use routes::{Action, Routed, route};

/// The stream of Foreman's per-request fault draws.
const FAULT_STREAM: u64 = 0xf0_3e_3a_11;

/// Serves Foreman's API from the lab state.
#[derive(Debug)]
pub struct ForemanService {
    lab: Arc<LabShared>,
    /// How many times each request line was seen, so fault draws are keyed by what was asked
    /// and how often, not by arrival order across unrelated requests.
    seen: Mutex<HashMap<u64, u64>>,
}

impl ForemanService {
    /// A Foreman over the lab.
    #[must_use]
    pub fn new(lab: Arc<LabShared>) -> Self {
        Self {
            lab,
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn fault(&self, request: &Request) -> RequestFault {
        let faults = &self.lab.config.faults;
        let write = !matches!(request.method, http::Method::GET | http::Method::HEAD);
        let applied = |rate: f64| if write { rate } else { 0.0 };
        let rates = Rates {
            reset: faults.foreman_reset_rate,
            error: faults.foreman_error_rate,
            applied_reset: applied(faults.foreman_applied_reset_rate),
            applied_504: applied(faults.foreman_applied_504_rate),
            gateway: faults.foreman_gateway_rate,
            hang: faults.foreman_hang_rate,
            ..Rates::default()
        };
        if rates.is_zero() {
            return RequestFault::None;
        }
        let line = hash_str(&format!("{} {}", request.method, request.path_and_query()));
        let count = {
            let mut seen = self
                .seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let count = seen.entry(line).or_default();
            *count += 1;
            *count
        };
        let fault = draw(
            &self.lab.clock,
            FAULT_STREAM,
            mix(line ^ mix(count)),
            &rates,
        );
        if fault != RequestFault::None {
            self.lab
                .metrics
                .fault(ServiceKind::Foreman, &fault.to_string());
        }
        fault
    }

    /// The name of the host a request addresses, if any and if it exists.
    fn host_of(&self, routed: &Routed) -> Option<String> {
        let (Action::HostShow(key)
        | Action::HostUpdate(key)
        | Action::ParamIndex(key)
        | Action::ParamShow(key, _)
        | Action::ParamCreate(key)
        | Action::ParamUpdate(key, _)
        | Action::ParamDestroy(key, _)
        | Action::ParamReset(key)) = &routed.action
        else {
            return None;
        };
        let state = self.lab.state();
        state
            .foreman
            .find_host(key)
            .map(|i| state.foreman.hosts[i].name.clone())
    }

    fn record(
        &self,
        request: &Request,
        routed: &Routed,
        host: Option<String>,
        status: u16,
        arrived: f64,
    ) {
        let now = self.lab.clock.lab_now();
        self.lab.record(LogEntry {
            at: now,
            service: ServiceKind::Foreman,
            host,
            method: request.method.to_string(),
            path: request.path_and_query(),
            endpoint: routed.template.clone(),
            status,
            elapsed: (now - arrived).max(0.0),
        });
    }
}

impl Service for ForemanService {
    fn accepts(&self, _local: SocketAddr) -> bool {
        true
    }

    fn connection(&self, _local: SocketAddr, start: ConnectionStart) {
        self.lab
            .metrics
            .connection(ServiceKind::Foreman, None, start);
    }

    fn connection_closed(&self, _local: SocketAddr) {
        self.lab.metrics.connection_closed(ServiceKind::Foreman);
    }

    async fn handle(&self, request: Request) -> Outcome {
        let lab = &*self.lab;
        let model = &lab.config.model.foreman;
        let arrived = lab.clock.lab_now();
        let routed = route(&request.method, &request.path);
        let Some(admission) = lab.foreman_capacity.admit().await else {
            let response = errors::service_unavailable();
            let host = self.host_of(&routed);
            self.record(&request, &routed, host, response.status().as_u16(), arrived);
            return Outcome::Respond(response);
        };
        let fault = self.fault(&request);
        let unapplied = match fault {
            RequestFault::None
            | RequestFault::NotReady
            | RequestFault::AppliedReset
            | RequestFault::Applied504 => None,
            RequestFault::Reset => Some(None),
            RequestFault::Hang => {
                // the proxy holds the connection; the backend never sees the request
                drop(admission);
                lab.hold_hung(ServiceKind::Foreman).await;
                let host = self.host_of(&routed);
                self.record(&request, &routed, host, 0, arrived);
                return Outcome::Reset;
            }
            RequestFault::Error => Some(Some(
                errors::ApiError::Internal {
                    message: errors::INTERNAL_ERROR.to_owned(),
                }
                .response(),
            )),
            RequestFault::Gateway => {
                let status =
                    match mix(hash_str(&request.path_and_query()) ^ mix(arrived.to_bits())) % 3 {
                        0 => http::StatusCode::BAD_GATEWAY,
                        1 => http::StatusCode::SERVICE_UNAVAILABLE,
                        _ => http::StatusCode::GATEWAY_TIMEOUT,
                    };
                Some(Some(errors::gateway_page(status)))
            }
        };
        if let Some(response) = unapplied {
            lab.clock
                .sleep(lab.clock.service_time(model.status, model.sigma))
                .await;
            drop(admission);
            let host = self.host_of(&routed);
            let status = response.as_ref().map_or(0, |r| r.status().as_u16());
            self.record(&request, &routed, host, status, arrived);
            return response.map_or(Outcome::Reset, Outcome::Respond);
        }
        let mut work = api::Work::new(&lab.metrics, model);
        let mut response = api::process(lab, &request, &routed, &mut work);
        lab.clock
            .sleep(lab.clock.service_time(work.median, model.sigma))
            .await;
        match fault {
            RequestFault::AppliedReset => {
                self.record(&request, &routed, work.host.take(), 0, arrived);
                drop(work);
                drop(admission);
                return Outcome::Reset;
            }
            RequestFault::Applied504 => {
                response = errors::gateway_page(http::StatusCode::GATEWAY_TIMEOUT);
            }
            _ => {}
        }
        let status = response.status().as_u16();
        self.record(&request, &routed, work.host.take(), status, arrived);
        drop(work);
        drop(admission);
        Outcome::Respond(response)
    }
}
