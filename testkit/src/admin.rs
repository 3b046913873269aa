//! The admin endpoint: counters, the request log and host states as JSON, over plain HTTP.
//!
//! Routes: `GET /metrics`, `POST /metrics/reset`, `GET /log?since=N`, `GET /hosts`, `GET /time`,
//! `POST /isolation` (an [`crate::isolation::Expectation`] in, the isolation report out),
//! `GET /switches` (every port's committed VLANs and the host NIC wired to it), `GET /mail` and
//! `GET /webhooks` (what the notification sinks took).
//! Not counted in the metrics it serves.

use std::net::SocketAddr;
use std::sync::Arc;

use http::{Method, StatusCode};
use serde_json::json;

use crate::lab::LabShared;
use crate::machine::Phase;
use crate::server::{Outcome, Request, Service, json};

/// Serves the lab's own view of itself.
#[derive(Debug)]
pub struct Admin {
    lab: Arc<LabShared>,
}

impl Admin {
    /// The admin endpoint over the lab.
    #[must_use]
    pub fn new(lab: Arc<LabShared>) -> Self {
        Self { lab }
    }

    fn hosts(&self) -> serde_json::Value {
        let mut state = self.lab.state();
        state.advance_all(tokio::time::Instant::now(), self.lab.physics());
        let hosts: Vec<serde_json::Value> = state
            .machines
            .iter()
            .map(|m| {
                let phase = match m.phase {
                    Phase::Off => "off",
                    Phase::ShuttingDown { .. } => "shutting-down",
                    Phase::Posting { .. } => "posting",
                    Phase::Installing { .. } => "installing",
                    Phase::Running { .. } => "running",
                };
                json!({
                    "name": m.name,
                    "model": m.model,
                    "flavor": m.flavor,
                    "phase": phase,
                    "build": m.build,
                    "installed_at": m.installed_at,
                    "boot_order": m.boot_order,
                    "provisioning_nic": m.provisioning_nic,
                    "jobs": m.jobs.len(),
                })
            })
            .collect();
        serde_json::Value::Array(hosts)
    }
}

impl Admin {
    fn switches(&self) -> serde_json::Value {
        let lab = &self.lab.switches;
        let names: Vec<String> = self
            .lab
            .state()
            .machines
            .iter()
            .map(|m| m.name.clone())
            .collect();
        let mut wired = std::collections::BTreeMap::new();
        for (host, nics) in lab.interfaces.iter().enumerate() {
            for nic in nics {
                wired.insert(
                    (nic.switch, nic.switch_port.clone()),
                    (
                        names.get(host).cloned().unwrap_or_default(),
                        nic.name.clone(),
                    ),
                );
            }
        }
        let switches: Vec<serde_json::Value> = lab
            .switches
            .iter()
            .enumerate()
            .map(|(i, switch)| {
                let ports: Vec<serde_json::Value> = lab
                    .ports(i)
                    .into_iter()
                    .map(|(port, config)| {
                        let (host, interface) = wired
                            .get(&(i, port.clone()))
                            .cloned()
                            .map_or((None, None), |(h, n)| (Some(h), Some(n)));
                        json!({
                            "port": port,
                            "host": host,
                            "interface": interface,
                            "mode": config.mode,
                            "vlans": config.vlans,
                            "qinq_group": config.qinq_group,
                            "native_vlan": config.native_vlan,
                        })
                    })
                    .collect();
                json!({"name": switch.name, "ip": switch.ip.to_string(), "ports": ports})
            })
            .collect();
        serde_json::Value::Array(switches)
    }
}

impl Service for Admin {
    fn accepts(&self, _local: SocketAddr) -> bool {
        true
    }

    async fn handle(&self, request: Request) -> Outcome {
        let lab = &self.lab;
        let response = match (&request.method, request.path.as_str()) {
            (&Method::GET, "/metrics") => json(
                StatusCode::OK,
                &serde_json::to_value(lab.snapshot()).unwrap_or_default(),
            ),
            (&Method::POST, "/metrics/reset") => {
                lab.metrics.reset();
                json(StatusCode::OK, &json!({"reset": true}))
            }
            (&Method::GET, "/log") => {
                let since: usize = request
                    .query_param("since")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let log: Vec<_> = lab.metrics.log().into_iter().skip(since).collect();
                json(
                    StatusCode::OK,
                    &serde_json::to_value(log).unwrap_or_default(),
                )
            }
            (&Method::GET, "/hosts") => json(StatusCode::OK, &self.hosts()),
            (&Method::POST, "/isolation") => {
                match serde_json::from_slice::<crate::isolation::Expectation>(&request.body) {
                    Ok(expect) => json(
                        StatusCode::OK,
                        &serde_json::to_value(lab.isolation(&expect)).unwrap_or_default(),
                    ),
                    Err(e) => json(
                        StatusCode::BAD_REQUEST,
                        &json!({"error": format!("not an isolation expectation: {e}")}),
                    ),
                }
            }
            (&Method::GET, "/switches") => json(StatusCode::OK, &self.switches()),
            (&Method::GET, "/mail") => json(
                StatusCode::OK,
                &serde_json::to_value(
                    &*lab
                        .sinks
                        .mail
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner),
                )
                .unwrap_or_default(),
            ),
            (&Method::GET, "/webhooks") => json(
                StatusCode::OK,
                &serde_json::to_value(
                    &*lab
                        .sinks
                        .webhooks
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner),
                )
                .unwrap_or_default(),
            ),
            (&Method::GET, "/time") => json(
                StatusCode::OK,
                &json!({"lab_now": lab.clock.lab_now(), "time_scale": lab.clock.scale(), "seed": lab.clock.seed()}),
            ),
            _ => json(
                StatusCode::NOT_FOUND,
                &json!({"error": "no such admin route"}),
            ),
        };
        Outcome::Respond(response)
    }
}
