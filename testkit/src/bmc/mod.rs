//! The fleet of fake BMCs: one listener per BMC address, flavours by host.

use std::net::SocketAddr;
use std::sync::Arc;

use http::StatusCode;
use serde_json::json;
use tokio::time::Instant;

use crate::faults::FaultAssignment;
use crate::lab::{LabConfig, LabShared};
use crate::machine::Machine;
use crate::metrics::{LogEntry, ServiceKind};
use crate::server::{Outcome, Request, Service};

/// One BMC's own state: sessions and accounts.
#[derive(Debug, Default)]
pub struct BmcState {}

impl BmcState {
    /// The BMC of a fresh machine.
    #[must_use]
    pub fn new(_machine: &Machine, _config: &LabConfig, _faults: &FaultAssignment) -> Self {
        Self {}
    }
}

/// Serves every BMC of the lab; the local address says which.
#[derive(Debug)]
pub struct BmcFleet {
    lab: Arc<LabShared>,
}

impl BmcFleet {
    /// The fleet over the lab.
    #[must_use]
    pub fn new(lab: Arc<LabShared>) -> Self {
        Self { lab }
    }
}

impl Service for BmcFleet {
    fn accepts(&self, local: SocketAddr) -> bool {
        self.lab
            .bmc_index(local)
            .is_some_and(|i| !self.lab.fault_hosts.dead.contains(&i))
    }

    async fn handle(&self, request: Request) -> Outcome {
        let started = Instant::now();
        let Some(index) = self.lab.bmc_index(request.local) else {
            return Outcome::Reset;
        };
        let host = self.lab.state().machines[index].name.clone();
        let response = match request.path.trim_end_matches('/') {
            "/redfish" => crate::server::json(StatusCode::OK, &json!({"v1": "/redfish/v1/"})),
            _ => crate::server::json(StatusCode::NOT_FOUND, &json!({})),
        };
        self.lab.record(LogEntry {
            at: self.lab.clock.lab_now(),
            service: ServiceKind::Bmc,
            host: Some(host),
            method: request.method.to_string(),
            path: request.path_and_query(),
            endpoint: format!("{} {}", request.method, request.path),
            status: response.status().as_u16(),
            elapsed: started.elapsed().as_secs_f64(),
        });
        Outcome::Respond(response)
    }
}
