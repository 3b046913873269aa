//! `InProcessTransport`: the clients' [`Transport`] over testkit's [`InProcessLab`], so the real
//! Foreman and Redfish clients (and the executor above them) run against the lab under a paused
//! tokio clock, without sockets. [`InProcessSwitches`] does the same for the switch-ports step.
//!
//! Failures look as they do over [`quads_http::HttpsTransport`]: a connection the lab resets is
//! [`TransportError::Io`] (the request may have been applied), a server that accepts no
//! connection (a dead BMC, one restarting, an address outside the lab) is
//! [`TransportError::Connect`] (never sent), and no answer within the request timeout is
//! [`TransportError::Timeout`], measured on tokio's clock.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use provision_core::executor::ports::{
    BatchApplied, BatchError, PortApplied, PortError, PortOrder, SwitchPort,
};
use provision_core::network::{PortMode, PortTarget};
use quads_http::{Transport, TransportConfig, TransportError};
use testkit::switch::PortState;
use testkit::{Exchange, InProcessLab};

/// Moves requests to an [`InProcessLab`] and back. Cheap to clone.
#[derive(Debug, Clone)]
pub struct InProcessTransport {
    lab: Arc<InProcessLab>,
    request_timeout: Duration,
}

impl InProcessTransport {
    /// A transport to `lab`, with [`TransportConfig`]'s default request timeout.
    #[must_use]
    pub fn new(lab: Arc<InProcessLab>) -> Self {
        Self {
            lab,
            request_timeout: TransportConfig::default().request_timeout,
        }
    }

    /// The same transport with another request timeout (as `TransportConfig::request_timeout`).
    #[must_use]
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }
}

#[async_trait::async_trait]
impl Transport for InProcessTransport {
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        let authority = request
            .uri()
            .authority()
            .map(ToString::to_string)
            .ok_or_else(|| TransportError::InvalidRequest("the URI has no host".to_owned()))?;
        let Ok(exchange) =
            tokio::time::timeout(self.request_timeout, self.lab.handle(request)).await
        else {
            return Err(TransportError::Timeout {
                authority,
                timeout: self.request_timeout,
            });
        };
        match exchange {
            Exchange::Response(response) => Ok(response),
            // hyper's words for a connection closed with the request sent and no answer
            Exchange::Reset => Err(TransportError::Io {
                authority,
                reason: "connection closed before message completed".to_owned(),
            }),
            Exchange::Refused => Err(TransportError::Connect {
                authority,
                reason: "tcp connect error: connection refused".to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::BTreeMap;

    use redfish_client::{BmcAddress, CancellationToken, PowerState, RedfishClient, ResetType};
    use testkit::machine::Phase;
    use testkit::{FaultProfile, Flavor, LabConfig};
    use tokio::time::Instant;

    use super::*;

    const FLAVORS: [Flavor; 4] = [
        Flavor::Dell,
        Flavor::Idrac10,
        Flavor::Supermicro,
        Flavor::Generic,
    ];

    fn lab(hosts: usize, faults: FaultProfile) -> Arc<InProcessLab> {
        Arc::new(
            InProcessLab::new(LabConfig {
                hosts,
                flavors: FLAVORS.to_vec(),
                time_scale: 1.0,
                faults,
                ..LabConfig::default()
            })
            .expect("lab"),
        )
    }

    fn redfish(lab: &Arc<InProcessLab>) -> RedfishClient {
        RedfishClient::with_transport(
            Arc::new(InProcessTransport::new(lab.clone())),
            redfish_client::ClientConfig::default(),
        )
    }

    fn bmc(client: &RedfishClient, lab: &InProcessLab, index: usize) -> redfish_client::Bmc {
        let admin = &lab.config().bmc_admin;
        client.bmc(
            BmcAddress::parse(&lab.bmc_url(index)).expect("address"),
            redfish_client::Credentials::new(admin.username.clone(), admin.password.as_str()),
        )
    }

    fn resets(lab: &InProcessLab, index: usize, kind: &str) -> u64 {
        let name = &lab.inventory().hosts[index].name;
        lab.metrics()
            .host(name)
            .resets
            .get(kind)
            .copied()
            .unwrap_or(0)
    }

    #[tokio::test(start_paused = true)]
    async fn foreman_answers_through_the_transport() {
        let lab = lab(8, FaultProfile::none());
        let admin = &lab.config().foreman_admin;
        let client = foreman_client::ForemanClient::with_transport(
            Arc::new(InProcessTransport::new(lab.clone())),
            foreman_client::ClientConfig::new(
                foreman_client::ForemanUrl::parse(&lab.foreman_url()).expect("url"),
                foreman_client::Credentials::password(
                    admin.username.clone(),
                    admin.password.as_str(),
                ),
            ),
        )
        .expect("client");
        let started = Instant::now();
        client.status().send().await.expect("status");
        client.status().send().await.expect("status again");
        let metrics = lab.metrics();
        assert_eq!(
            metrics.endpoint("foreman GET /api/status"),
            2,
            "{metrics:?}"
        );
        assert!(client.has_session_cookie(), "the session cookie came back");
        assert!(
            started.elapsed() > Duration::ZERO,
            "Foreman's service time passes on tokio's clock"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn power_cycles_take_lab_time_not_real_time() {
        let real = std::time::Instant::now();
        let lab = lab(8, FaultProfile::none());
        // every host on, so that each cycle forces it off first
        lab.with_state(|state| {
            for m in &mut state.machines {
                m.phase = Phase::Running {
                    from: testkit::machine::BootedFrom::Disk,
                };
            }
        });
        let client = redfish(&lab);
        let cancel = CancellationToken::new();
        let started = Instant::now();
        let mut cycles = tokio::task::JoinSet::new();
        for index in 0..lab.config().hosts {
            let bmc = bmc(&client, &lab, index);
            let cancel = cancel.clone();
            cycles.spawn(async move {
                bmc.login().await.expect("login");
                assert_eq!(bmc.power_state().await.expect("power"), PowerState::On);
                let cycle = bmc.power_cycle(&cancel).await.expect("cycle");
                assert_eq!(cycle.actions, [ResetType::ForceOff, ResetType::On]);
                assert_eq!(bmc.power_state().await.expect("power"), PowerState::On);
                bmc.logout().await.expect("logout")
            });
        }
        while let Some(done) = cycles.join_next().await {
            assert!(done.expect("task"), "logged out");
        }
        let virtual_elapsed = started.elapsed();
        let power_off = lab.config().model.bmc.power_off;
        assert!(
            virtual_elapsed >= Duration::from_secs_f64(power_off),
            "a ForceOff takes {power_off} lab s, the cycles took {virtual_elapsed:?}"
        );
        assert!(
            real.elapsed() < Duration::from_secs(20),
            "{:?} real for {virtual_elapsed:?} virtual",
            real.elapsed()
        );

        let metrics = lab.metrics();
        let mut flavors = BTreeMap::new();
        for (index, host) in lab.inventory().hosts.iter().enumerate() {
            let c = metrics.host(&host.name);
            assert_eq!(c.power_cycles, 1, "{}", host.name);
            assert_eq!(resets(&lab, index, "ForceOff"), 1, "{}", host.name);
            assert_eq!(c.sessions_opened, 1, "{}", host.name);
            assert_eq!(c.sessions_open, 0, "{}", host.name);
            assert!(c.bmc_requests >= 5, "{}: {c:?}", host.name);
            *flavors.entry(format!("{:?}", host.flavor)).or_insert(0) += 1;
        }
        assert_eq!(flavors.len(), 4, "{flavors:?}");
        assert!(flavors.values().all(|n| *n == 2), "{flavors:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_dead_bmc_is_refused_and_a_reset_is_a_broken_connection() {
        let lab = lab(
            8,
            FaultProfile {
                dead_bmcs: 1,
                ..FaultProfile::none()
            },
        );
        let dead = *lab.shared().fault_hosts.dead.first().expect("a dead BMC");
        let transport = InProcessTransport::new(lab.clone());
        let request = |index: usize| {
            http::Request::get(format!("{}/redfish/v1", lab.bmc_url(index)))
                .body(Bytes::new())
                .expect("request")
        };
        let refused = transport.send(request(dead)).await.unwrap_err();
        assert!(
            matches!(refused, TransportError::Connect { .. }),
            "{refused:?}"
        );
        assert!(refused.is_retryable() && !refused.request_may_have_been_applied());
        let alive = (dead + 1) % lab.config().hosts;
        assert_eq!(transport.send(request(alive)).await.unwrap().status(), 200);

        let error = bmc(&redfish(&lab), &lab, dead)
            .power_state()
            .await
            .unwrap_err();
        assert!(error.never_sent(), "{error:?}");
        assert!(error.to_string().contains("connection refused"), "{error}");

        let resetting = lab_with_resets();
        let transport = InProcessTransport::new(resetting.clone());
        let uri = format!("{}/redfish/v1/Systems", resetting.bmc_url(0));
        let reset = transport
            .send(http::Request::get(uri).body(Bytes::new()).expect("request"))
            .await
            .unwrap_err();
        assert!(matches!(reset, TransportError::Io { .. }), "{reset:?}");
        assert!(reset.request_may_have_been_applied());
    }

    fn lab_with_resets() -> Arc<InProcessLab> {
        lab(
            1,
            FaultProfile {
                bmc_reset_rate: 1.0,
                ..FaultProfile::none()
            },
        )
    }

    #[tokio::test(start_paused = true)]
    async fn no_answer_within_the_request_timeout_is_a_timeout() {
        let lab = lab(4, FaultProfile::none());
        let transport =
            InProcessTransport::new(lab.clone()).with_request_timeout(Duration::from_millis(1));
        let uri = format!("{}/redfish/v1/Systems", lab.bmc_url(0));
        let error = transport
            .send(http::Request::get(uri).body(Bytes::new()).expect("request"))
            .await
            .unwrap_err();
        assert!(matches!(error, TransportError::Timeout { .. }), "{error:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn ten_thousand_hosts_build_in_moments_and_answer() {
        let real = std::time::Instant::now();
        let lab = lab(10_000, FaultProfile::none());
        assert!(
            real.elapsed() < Duration::from_secs(10),
            "built in {:?}",
            real.elapsed()
        );
        let client = redfish(&lab);
        let last = bmc(&client, &lab, 9_999);
        assert_eq!(lab.bmc_url(9_999), lab.inventory().hosts[9_999].bmc_url);
        last.power_state().await.expect("the last BMC answers");
        let name = &lab.inventory().hosts[9_999].name;
        assert!(lab.metrics().host(name).bmc_requests > 0);
    }
}

/// The switch-ports step's [`SwitchPort`] over the in-process lab's switches: the same login,
/// commit draws (duration, failure) and counters as the lab's SSH servers, without SSH.
#[derive(Debug, Clone)]
pub struct InProcessSwitches {
    lab: Arc<InProcessLab>,
}

impl InProcessSwitches {
    /// The switches of `lab`.
    #[must_use]
    pub fn new(lab: Arc<InProcessLab>) -> Self {
        Self { lab }
    }
}

/// The lab's port state a planned target ends in (QUADS's `set_port` and
/// `convert_port_public`, as `switch-client` writes them).
fn lab_port(target: PortTarget) -> PortState {
    let vlan = target.vlan.get();
    let trunk = target.mode == PortMode::Trunk;
    PortState {
        mode: if trunk {
            testkit::switch::PortMode::Trunk
        } else {
            testkit::switch::PortMode::Access
        },
        vlans: std::iter::once(vlan).collect(),
        qinq_group: (!trunk).then_some(vlan),
        native_vlan: trunk.then_some(vlan),
    }
}

#[async_trait::async_trait]
impl SwitchPort for InProcessSwitches {
    async fn apply(&self, switch: &str, batch: &[PortOrder]) -> Result<BatchApplied, BatchError> {
        let shared = self.lab.shared();
        let lab = &shared.switches;
        let ctx = shared.switch_context();
        let index = switch
            .parse()
            .ok()
            .and_then(|ip| lab.switch_at(ip))
            .ok_or_else(|| PortError::fatal(format!("switch {switch}: not in the lab")))?;
        let credentials = &lab.credentials;
        if !lab.login(&ctx, index, &credentials.username, &credentials.password) {
            return Err(BatchError {
                error: PortError::retryable(format!("switch {switch}: login refused")),
                refused_content: false,
                login_refused: true,
            });
        }
        let candidate: BTreeMap<String, PortState> = batch
            .iter()
            .map(|o| (o.port.clone(), lab_port(o.target)))
            .filter(|(port, want)| lab.port(index, port).as_ref() != Some(want))
            .collect();
        let mut outcome = Ok(());
        if !candidate.is_empty() {
            let (lab_secs, fails) = lab.draw_commit(&ctx, index, &candidate);
            shared.clock.sleep(lab_secs).await;
            outcome = lab.commit(&ctx, index, &candidate, fails);
        }
        lab.logout(&ctx, index);
        if outcome.is_err() {
            return Err(BatchError {
                error: PortError::retryable(format!(
                    "switch {switch}: commit of ports {} failed, nothing applied",
                    candidate.keys().cloned().collect::<Vec<_>>().join(", ")
                )),
                refused_content: true,
                login_refused: false,
            });
        }
        Ok(BatchApplied {
            committed: !candidate.is_empty(),
            ports: batch
                .iter()
                .map(|o| {
                    let after = lab.port(index, &o.port);
                    let verified = after.as_ref() == Some(&lab_port(o.target));
                    PortApplied {
                        port: o.port.clone(),
                        changed: candidate.contains_key(&o.port),
                        verified,
                        found: (!verified).then(|| format!("{after:?}")),
                    }
                })
                .collect(),
        })
    }
}
