//! The fleet of fake BMCs: one listener per BMC address, flavours by host (Dell iDRAC9,
//! iDRAC10, Supermicro, generic DMTF), all served by one [`BmcFleet`] over the shared lab state.
//!
//! A request goes through the pipeline a real BMC imposes, in order:
//! 1. a BMC restarting after `Manager.Reset` drops the connection;
//! 2. admission to the BMC's tiny web server ([`crate::capacity::Capacity`]; full → 503);
//! 3. the once-only faults (a manager reset: this request reset, the BMC away for a while, its
//!    sessions gone; a certificate change for the next connections) and the per-request fault
//!    draw (500, connection reset, iDRAC "not ready" on Dell writes, a hang that never answers,
//!    a write applied whose connection is then reset); every fault is counted;
//! 4. authentication (session token or Basic; the service root, `$metadata`, `odata` and the
//!    login are public) and the role's privileges;
//! 5. the flavour's route, applied to the lab state under its lock (machines advanced first),
//!    and the `$expand` a GET asks for where the flavour serves it;
//! 6. the lab model's service time (slow BMCs multiply it; each expanded resource adds a share
//!    of a GET's), holding the admission;
//! 7. the answer (`OData-Version`, `ETag` on resources) and the request log entry.
//!
//! Module map: [`router`](self) (paths per flavour), `dispatch` (method table), `auth`, `state`
//! (sessions, accounts), `service` (root, managers), `accounts` (sessions, accounts, roles),
//! `system` (ComputerSystem, reset, boot override, boot options), `inventory` (processors,
//! memory, NICs, chassis, power, firmware), `bios` (BIOS, settings, attribute registry), `dell`
//! (boot sources, jobs, job and LC services), `dell_os_deploy` (the OS Deployment service:
//! network ISO attach, boot, detach), `dell_scp` (Server Configuration Profile export and
//! import), `vmedia` (DMTF and Supermicro virtual media),
//! `metadata` (`$metadata`, `odata`), `messages` (ExtendedInfo), `query` (`$expand` and the
//! other query parameters), `reply` (answers, ETags).

mod accounts;
mod auth;
mod bios;
mod dell;
mod dell_os_deploy;
mod dell_scp;
mod dispatch;
mod inventory;
mod messages;
mod metadata;
mod network;
mod query;
mod reply;
mod router;
mod service;
mod state;
mod system;
mod vendor_boot;
mod vmedia;

use std::net::SocketAddr;
use std::sync::Arc;

use http::Method;
use tokio::time::Instant;

pub use state::{Account, BmcState, MediaConfig, NetworkIso, Role, STALE_USER, Session};

use crate::faults::{FaultAssignment, Rates, RequestFault, draw};
use crate::lab::{LabShared, LabState};
use crate::metrics::{ConnectionStart, LogEntry, ServiceKind};
use crate::server::{Outcome, Request, Service};
use dispatch::Ctx;
use reply::Reply;
use router::{Layout, Routed};

/// The stream of per-request BMC fault draws.
const FAULT_STREAM: u64 = 0xb3c0_fa17;
/// The key of the manager-reset fault's moment ([`FaultAssignment::strikes_at`]).
const MANAGER_RESET_KIND: u64 = 0x3a4a_6e55;
/// The key of the certificate-change fault's moment.
const CERT_CHANGE_KIND: u64 = 0xce27_c4a6;
/// Lab seconds a hung request holds its connection before the lab lets go of it (clients give
/// up long before).
pub const HANG_SECONDS: f64 = 3600.0;

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

    /// The manager-reset fault: whether BMC `index` resets at its request `number` (then it
    /// refuses connections for the fault's time and every session is gone).
    fn manager_resets_now(&self, index: usize, host: &str, number: u64) -> bool {
        let lab = &*self.lab;
        if !lab.fault_hosts.manager_reset.contains(&index)
            || number != FaultAssignment::strikes_at(lab.config.seed, index, MANAGER_RESET_KIND)
        {
            return false;
        }
        let seconds = lab
            .config
            .faults
            .manager_reset
            .unwrap_or(lab.config.model.bmc.manager_reset);
        let dropped = {
            let mut state = lab.state();
            let LabState { machines, bmcs, .. } = &mut *state;
            let (Some(m), Some(b)) = (machines.get_mut(index), bmcs.get_mut(index)) else {
                return false;
            };
            m.bmc_restarting_until = Some(lab.clock.after(seconds));
            b.drop_sessions()
        };
        lab.metrics.host(host, |c| {
            c.sessions_open = c.sessions_open.saturating_sub(dropped);
        });
        lab.metrics.fault(ServiceKind::Bmc, "manager-reset");
        true
    }

    /// Steps 4 and 5: authentication, privileges and the route, under the lab lock; with the
    /// number of resources a `$expand` added to the answer.
    fn process(
        &self,
        index: usize,
        layout: Layout,
        request: &Request,
        routed: Option<&Routed>,
    ) -> (Reply, usize) {
        let lab = &*self.lab;
        let mut state = lab.state();
        let LabState {
            machines,
            bmcs,
            timeline,
            ..
        } = &mut *state;
        let (Some(m), Some(b)) = (machines.get_mut(index), bmcs.get_mut(index)) else {
            return (messages::internal_error(), 0);
        };
        m.advance(lab.physics());
        let now = lab.clock.lab_now();
        let expired = b.expire_sessions(now);
        if expired > 0 {
            lab.metrics.host(&m.name, |c| {
                c.sessions_open = c.sessions_open.saturating_sub(expired);
                c.sessions_expired += expired;
            });
        }
        let public = routed.is_some_and(|r| auth::is_public(&r.route, &request.method));
        let who = match auth::authenticate(request, b, now, public) {
            Ok(who) => who,
            Err(refused) => return (refused, 0),
        };
        let Some(routed) = routed else {
            return (messages::not_found(&request.path), 0);
        };
        let method = if request.method == Method::HEAD {
            Method::GET
        } else {
            request.method.clone()
        };
        if let Some(role) = who.role()
            && !auth::grants(role, auth::required(&routed.route, &method))
        {
            return (messages::forbidden(), 0);
        }
        // Query parameters apply to reads; writes ignore them, as before.
        let expand = if method == Method::GET {
            match query::parse(request, layout.flavor) {
                Ok(expand) => expand,
                Err(refused) => return (refused, 0),
            }
        } else {
            None
        };
        let mut cx = Ctx {
            lab,
            index,
            layout,
            request,
            who,
            m,
            b,
        };
        let due = cx.m.due();
        let reply = dispatch::dispatch(&mut cx, &routed.route, &method);
        // a reset may have given the machine a transition the timeline does not know of
        if cx.m.due() != due {
            timeline.note(index, cx.m.due());
        }
        match expand {
            Some(how) => query::expand(&mut cx, reply, how),
            None => (reply, 0),
        }
    }
}

impl Service for BmcFleet {
    fn accepts(&self, local: SocketAddr) -> bool {
        let Some(index) = self.lab.bmc_index(local) else {
            return false;
        };
        if self.lab.fault_hosts.dead.contains(&index) {
            return false;
        }
        // A BMC rebooting after Manager.Reset does not accept connections.
        let state = self.lab.state();
        state
            .machines
            .get(index)
            .and_then(|m| m.bmc_restarting_until)
            .is_none_or(|until| until <= Instant::now())
    }

    fn connection(&self, local: SocketAddr, start: ConnectionStart) {
        let Some(index) = self.lab.bmc_index(local) else {
            return;
        };
        let host = self.lab.state().machines.get(index).map(|m| m.name.clone());
        self.lab
            .metrics
            .connection(ServiceKind::Bmc, host.as_deref(), start);
    }

    fn connection_closed(&self, _local: SocketAddr) {
        self.lab.metrics.connection_closed(ServiceKind::Bmc);
    }

    async fn handle(&self, request: Request) -> Outcome {
        let lab = &*self.lab;
        let started = Instant::now();
        let Some(index) = lab.bmc_index(request.local) else {
            return Outcome::Reset;
        };
        let (host, flavor, number, restarting) = {
            let mut state = lab.state();
            let LabState { machines, bmcs, .. } = &mut *state;
            let (Some(m), Some(b)) = (machines.get(index), bmcs.get_mut(index)) else {
                return Outcome::Reset;
            };
            b.requests += 1;
            let restarting = m
                .bmc_restarting_until
                .is_some_and(|until| until > Instant::now());
            (m.name.clone(), m.flavor, b.requests, restarting)
        };
        let layout = Layout::of(flavor);
        let routed = router::route(layout, &request.path);
        let endpoint = format!(
            "{} {}",
            request.method,
            routed.as_ref().map_or("unknown", |r| r.template)
        );
        let record = |status: u16| {
            lab.record(LogEntry {
                at: lab.clock.lab_now(),
                service: ServiceKind::Bmc,
                host: Some(host.clone()),
                method: request.method.to_string(),
                path: request.path_and_query(),
                endpoint: endpoint.clone(),
                status,
                elapsed: lab_elapsed(lab, started),
            });
        };
        if restarting {
            record(0);
            return Outcome::Reset;
        }
        if self.manager_resets_now(index, &host, number) {
            record(0);
            return Outcome::Reset;
        }
        let seed = lab.config.seed;
        if lab.fault_hosts.cert_change.contains(&index)
            && number == FaultAssignment::strikes_at(seed, index, CERT_CHANGE_KIND)
            && lab.change_bmc_cert(index)
        {
            lab.metrics.fault(ServiceKind::Bmc, "cert-change");
        }
        let Some(admission) = lab.bmc_capacity[index].admit().await else {
            let reply = messages::busy(1);
            record(reply.status.as_u16());
            return Outcome::Respond(reply.into_response(request.method == Method::HEAD));
        };
        let in_flight = lab.metrics.bmc_request_begins();
        let peak = lab.bmc_capacity[index].in_service() as u64;
        lab.metrics.host(&host, |c| {
            c.peak_bmc_in_flight = c.peak_bmc_in_flight.max(peak);
        });

        let model = &lab.config.model.bmc;
        let faults = &lab.config.faults;
        let work = dispatch::work(routed.as_ref().map(|r| &r.route), &request.method);
        let slow = if lab.fault_hosts.slow.contains(&index) {
            faults.slow_factor
        } else {
            1.0
        };
        let mut service = lab.clock.service_time(work.median(model), model.sigma) * slow;
        let config_write =
            flavor.is_dell() && matches!(work, dispatch::Work::Patch | dispatch::Work::Action);
        let write = !matches!(request.method, Method::GET | Method::HEAD);
        let rates = Rates {
            reset: faults.bmc_reset_rate,
            error: faults.bmc_error_rate,
            not_ready: if config_write {
                faults.idrac_not_ready_rate
            } else {
                0.0
            },
            applied_reset: if write {
                faults.bmc_applied_reset_rate
            } else {
                0.0
            },
            hang: faults.bmc_hang_rate,
            ..Rates::default()
        };
        let fault = draw(
            &lab.clock,
            FAULT_STREAM,
            ((index as u64) << 32) ^ number,
            &rates,
        );
        if fault != RequestFault::None {
            lab.metrics.fault(ServiceKind::Bmc, &fault.to_string());
        }
        let reply = match fault {
            RequestFault::Reset | RequestFault::Hang => {
                drop((in_flight, admission));
                if fault == RequestFault::Hang {
                    lab.hold_hung(ServiceKind::Bmc).await;
                } else {
                    lab.clock.sleep(service).await;
                }
                record(0);
                return Outcome::Reset;
            }
            RequestFault::AppliedReset => {
                drop(self.process(index, layout, &request, routed.as_ref()));
                lab.clock.sleep(service).await;
                drop((in_flight, admission));
                record(0);
                return Outcome::Reset;
            }
            RequestFault::Error | RequestFault::Applied504 | RequestFault::Gateway => {
                messages::internal_error()
            }
            RequestFault::NotReady => messages::idrac_not_ready(),
            RequestFault::None => {
                let (reply, expanded) = self.process(index, layout, &request, routed.as_ref());
                if expanded > 0 {
                    let extra = model.get * query::EXPANDED_SHARE * expanded as f64;
                    service += lab.clock.service_time(extra, model.sigma) * slow;
                }
                reply
            }
        };
        lab.clock.sleep(service).await;
        drop((in_flight, admission));
        record(reply.status.as_u16());
        Outcome::Respond(reply.into_response(request.method == Method::HEAD))
    }
}

/// Lab seconds since `started`.
fn lab_elapsed(lab: &LabShared, started: Instant) -> f64 {
    let real = started.elapsed().as_secs_f64();
    let scale = lab.clock.scale();
    if scale > 0.0 { real / scale } else { real }
}
