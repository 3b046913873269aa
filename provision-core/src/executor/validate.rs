//! Validation of a provisioned cloud (issue 17; QUADS's validate-env without its grace hours):
//! as soon as a cloud's hosts are installed, the checks its tenant would make. Signed in as the
//! cloud's Foreman user, every host is visible and built; every host answers on the configured
//! TCP ports (`[validation] ports`, 22 by default) within `port_timeout` of the check's start;
//! the tenant's BMC login works on every host; an optional per-host `check_hook` command
//! succeeds; and the cloud's isolation check is clean (the lab's isolation report when a lab
//! URL is configured, or the site's `isolation_hook`). A host that fails is re-kicked once
//! (one-time PXE and power cycle, journaled as the `validate` step's intent) and checked again;
//! what still fails is reported. The assignment is marked validated in the store only when every
//! check passed. Each host's and each cloud's result is journaled under the `validate` step.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::cloud::tenant_password;
use super::config::ExecutorConfig;
use super::host::kick;
use super::ports::{BmcFleet, ForemanPort, Ledger, PortError, TenantView};
use super::quads_server::HostsFile;
use super::run::{ExecError, RunSetup};
use super::step_details::RunDetails;
use crate::config::Secret;
use crate::hook::{HookMove, HookSpec, run_hook, run_move_hook};
use crate::journal::{JournalRow, StepAttempt};
use crate::limits::{Limits, human_duration};
use crate::model::{
    Assignment, AssignmentSpec, CloudName, Host, HostName, HostState, RunId, RunKind, RunState,
    Step, StepOutcome, Subject,
};
use crate::plan::active_clouds;
use crate::store::Store;
use crate::time::{Timestamp, scale_duration};

/// `[validation]`: what is checked once a cloud's hosts are installed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ValidationConfig {
    /// TCP ports every host must answer on.
    pub ports: Vec<u16>,
    /// How long a host's ports may take to answer (its services come up a little after the
    /// install reports done), counted from the start of its check.
    #[serde(with = "human_duration")]
    pub port_timeout: Duration,
    /// One connection attempt's deadline.
    #[serde(with = "human_duration")]
    pub connect_timeout: Duration,
    /// A hosts(5) file naming the hosts' addresses; a host it does not name is looked up by
    /// its name.
    pub hosts_file: Option<PathBuf>,
    /// A command run per host (`{host}` and the move's other placeholders); it fails the host
    /// when it exits non-zero.
    pub check_hook: Option<HookSpec>,
    /// The site's isolation check, run once per cloud (`{host}` is the cloud's name, `{to}`
    /// too); it fails the cloud when it exits non-zero.
    pub isolation_hook: Option<HookSpec>,
    /// A simulated lab's admin endpoint: the cloud's isolation is judged by its `POST
    /// /isolation` report (instead of `isolation_hook`).
    pub lab_url: Option<String>,
}

impl Default for ValidationConfig {
    fn default() -> Self {
        Self {
            ports: vec![22],
            port_timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(5),
            hosts_file: None,
            check_hook: None,
            isolation_hook: None,
            lab_url: None,
        }
    }
}

impl ValidationConfig {
    /// The waits in real time for a simulated lab's time scale (hooks untouched).
    #[must_use]
    pub fn in_real_time(mut self, time_scale: f64) -> Self {
        if time_scale.is_finite() && time_scale > 0.0 {
            self.port_timeout = scale_duration(self.port_timeout, time_scale);
            self.connect_timeout =
                scale_duration(self.connect_timeout, time_scale).max(Duration::from_millis(200));
        }
        self
    }
}

/// Whether a host answers on a TCP port.
#[async_trait]
pub trait HostProbe: Send + Sync + std::fmt::Debug {
    /// `Ok` when a connection to `host`'s `port` is accepted; the reason otherwise.
    async fn answers(&self, host: &HostName, port: u16) -> Result<(), String>;
}

/// [`HostProbe`] over TCP: the address from a hosts file, else the host's name looked up.
#[derive(Debug, Clone)]
pub struct TcpProbe {
    hosts: HostsFile,
    connect_timeout: Duration,
}

impl TcpProbe {
    /// A probe resolving names through `hosts` first.
    #[must_use]
    pub fn new(hosts: HostsFile, connect_timeout: Duration) -> Self {
        Self {
            hosts,
            connect_timeout,
        }
    }
}

#[async_trait]
impl HostProbe for TcpProbe {
    async fn answers(&self, host: &HostName, port: u16) -> Result<(), String> {
        let connect = async {
            match self.hosts.lookup(host.as_str()) {
                Some(ip) => tokio::net::TcpStream::connect((ip, port)).await,
                None => tokio::net::TcpStream::connect((host.as_str(), port)).await,
            }
        };
        match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(Ok(_stream)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!(
                "no answer within {:.1}s",
                self.connect_timeout.as_secs_f64()
            )),
        }
    }
}

/// A tenant's credential as the isolation check is told it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantLogin {
    /// Who it was handed to: `cloud02 #1234`.
    pub label: String,
    /// The BMC user.
    pub user: String,
    /// The password.
    pub password: Secret,
}

/// What a cloud's isolation check is asked.
#[derive(Debug, Clone)]
pub struct IsolationRequest {
    /// The cloud.
    pub cloud: CloudName,
    /// Its tenant's credential: the only one that may open its hosts' BMCs.
    pub tenant: TenantLogin,
    /// Every credential handed to any tenant (the cloud's own included).
    pub credentials: Vec<TenantLogin>,
    /// The cloud's hosts.
    pub hosts: Vec<HostName>,
    /// The assignment (its ticket and owner, QinQ and public VLAN).
    pub assignment: AssignmentSpec,
    /// Whether the hosts' switch ports must be in the cloud's VLANs (moves move ports).
    pub network: bool,
}

/// A cloud's isolation check.
#[async_trait]
pub trait IsolationCheck: Send + Sync + std::fmt::Debug {
    /// The violations found (empty: clean).
    async fn violations(&self, request: &IsolationRequest) -> Result<Vec<String>, PortError>;
}

/// [`IsolationCheck`] by a simulated lab's report: `POST {url}/isolation`.
#[derive(Debug, Clone)]
pub struct LabIsolation {
    url: String,
    transport: Arc<dyn quads_http::Transport>,
}

impl LabIsolation {
    /// The lab whose admin endpoint is `url`.
    #[must_use]
    pub fn new(url: &str, transport: Arc<dyn quads_http::Transport>) -> Self {
        Self {
            url: url.trim_end_matches('/').to_owned(),
            transport,
        }
    }
}

/// The lab's isolation expectation for `request` (its JSON, passwords included: it goes to the
/// lab's admin endpoint only).
#[must_use]
pub fn lab_expectation(request: &IsolationRequest) -> serde_json::Value {
    let login = |l: &TenantLogin| serde_json::json!({"label": l.label, "user": l.user, "password": l.password.expose()});
    let a = &request.assignment;
    let hosts: serde_json::Map<String, serde_json::Value> = request
        .hosts
        .iter()
        .map(|h| {
            let mut expect = serde_json::json!({
                "tenant": request.tenant.label,
                "owner": request.cloud.as_str(),
            });
            if request.network {
                expect["network"] = serde_json::json!({
                    "cloud": request.cloud.as_str(),
                    "qinq": a.qinq == crate::model::QinQ::Combined,
                    "public_vlan": a.public_vlan.map(crate::model::VlanId::get),
                });
            }
            (h.to_string(), expect)
        })
        .collect();
    serde_json::json!({
        "bmc_credentials": request.credentials.iter().map(login).collect::<Vec<_>>(),
        "hosts": hosts,
        "retired_foreman_users": [],
    })
}

#[derive(Deserialize)]
struct LabViolation {
    subject: String,
    kind: String,
    detail: String,
}

#[derive(Deserialize)]
struct LabReport {
    violations: Vec<LabViolation>,
}

#[async_trait]
impl IsolationCheck for LabIsolation {
    async fn violations(&self, request: &IsolationRequest) -> Result<Vec<String>, PortError> {
        let body = lab_expectation(request).to_string();
        let url = format!("{}/isolation", self.url);
        let http =
            quads_http::api::json_request(http::Method::POST, &url, Some(body), "quads-rs", &[])
                .map_err(|e| PortError::fatal(format!("lab isolation {url}: {e}")))?;
        let answer = self
            .transport
            .send(http)
            .await
            .map_err(|e| PortError::retryable(format!("lab isolation {url}: {e}")))?;
        if !answer.status().is_success() {
            return Err(PortError::fatal(format!(
                "lab isolation {url}: HTTP {}",
                answer.status()
            )));
        }
        let report: LabReport = serde_json::from_slice(answer.body())
            .map_err(|e| PortError::fatal(format!("lab isolation {url}: {e}")))?;
        Ok(report
            .violations
            .into_iter()
            .map(|v| format!("{}: {}: {}", v.subject, v.kind, v.detail))
            .collect())
    }
}

/// [`IsolationCheck`] by a site command, run once per cloud.
#[derive(Debug, Clone)]
pub struct HookIsolation {
    spec: HookSpec,
    limits: Limits,
    cancel: CancellationToken,
}

impl HookIsolation {
    /// Runs `spec` through the hooks' limits.
    #[must_use]
    pub fn new(spec: HookSpec, limits: Limits, cancel: CancellationToken) -> Self {
        Self {
            spec,
            limits,
            cancel,
        }
    }
}

#[async_trait]
impl IsolationCheck for HookIsolation {
    async fn violations(&self, request: &IsolationRequest) -> Result<Vec<String>, PortError> {
        let a = &request.assignment;
        let mv = HookMove {
            to: Some(request.cloud.to_string()),
            ticket: Some(a.ticket.clone()),
            owner: Some(a.owner.clone()),
            ..HookMove::host_only(request.cloud.as_str())
        };
        match run_move_hook(&self.spec, &mv, &self.limits, &self.cancel).await {
            Ok(_) => Ok(Vec::new()),
            Err(e) => Ok(vec![format!("isolation hook {}: {e}", self.spec.name)]),
        }
    }
}

/// How a validation is made: the checks and the outside world they need beyond a run's ports.
#[derive(Debug, Clone)]
pub struct Validation {
    /// The checks.
    pub config: ValidationConfig,
    /// Who tries the hosts' ports.
    pub probe: Arc<dyn HostProbe>,
    /// The cloud's isolation check, when one is configured.
    pub isolation: Option<Arc<dyn IsolationCheck>>,
    /// Whether the hosts' switch ports are judged by the isolation check.
    pub network: bool,
}

/// One host's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostValidation {
    /// The host.
    pub host: String,
    /// Every check passed (after at most one re-kick).
    pub passed: bool,
    /// It failed a first time and was re-kicked.
    pub rekicked: bool,
    /// What still failed (empty when it passed).
    pub problems: Vec<String>,
}

/// One cloud's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudValidation {
    /// The cloud.
    pub cloud: String,
    /// Its assignment's ticket.
    pub ticket: String,
    /// Every host passed and the isolation check is clean: the assignment is validated.
    pub passed: bool,
    /// Per host, by name.
    pub hosts: Vec<HostValidation>,
    /// The isolation check's violations (or why it could not be made).
    pub isolation: Vec<String>,
}

impl CloudValidation {
    /// The event this result is (for notifications).
    #[must_use]
    pub fn event(&self) -> CloudEvent {
        if self.passed {
            CloudEvent::CloudValidated {
                cloud: self.cloud.clone(),
            }
        } else {
            CloudEvent::ValidationFailed {
                cloud: self.cloud.clone(),
                hosts: self
                    .hosts
                    .iter()
                    .filter(|h| !h.passed)
                    .map(|h| h.host.clone())
                    .collect(),
            }
        }
    }
}

/// What happened to a cloud, for whoever is told (notifications are wired to these later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum CloudEvent {
    /// Every check passed: the cloud is ready for its tenant.
    CloudValidated {
        /// The cloud.
        cloud: String,
    },
    /// A check failed.
    ValidationFailed {
        /// The cloud.
        cloud: String,
        /// The hosts that failed (empty when only the isolation check did).
        hosts: Vec<String>,
    },
}

/// The version of [`ValidationReport`]'s JSON.
pub const VALIDATION_REPORT_VERSION: u32 = 1;

/// What `quads validate` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationReport {
    /// [`VALIDATION_REPORT_VERSION`].
    pub version: u32,
    /// The run it was journaled under.
    pub run: i64,
    /// Per cloud validated, by name.
    pub clouds: Vec<CloudValidation>,
    /// One event per cloud.
    pub events: Vec<CloudEvent>,
    /// The notifications sent after the validation (absent when none is configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifications: Option<crate::notify::NotifyReport>,
}

impl ValidationReport {
    /// Whether every cloud passed.
    #[must_use]
    pub fn all_passed(&self) -> bool {
        self.clouds.iter().all(|c| c.passed)
    }
}

/// Everything the checks of a run share.
#[derive(Debug, Clone)]
pub(crate) struct Validator {
    pub(crate) run: RunId,
    pub(crate) foreman: Arc<dyn ForemanPort>,
    pub(crate) fleet: Arc<dyn BmcFleet>,
    pub(crate) ledger: Arc<dyn Ledger>,
    pub(crate) limits: Limits,
    pub(crate) config: ExecutorConfig,
    pub(crate) infra_location: String,
    pub(crate) validation: Validation,
    pub(crate) cancel: CancellationToken,
}

/// A cloud to validate: its assignment, its hosts, and every tenant credential ever handed out.
#[derive(Debug, Clone)]
pub(crate) struct CloudToValidate {
    pub(crate) cloud: CloudName,
    pub(crate) assignment: Assignment,
    pub(crate) hosts: Vec<Host>,
    pub(crate) all_assignments: Vec<AssignmentSpec>,
}

impl Validator {
    fn login(&self, a: &AssignmentSpec) -> TenantLogin {
        TenantLogin {
            label: format!("{} #{}", a.cloud, a.ticket),
            user: self.config.tenant_bmc_user.clone(),
            password: tenant_password(&self.infra_location, a),
        }
    }

    async fn journal(&self, subject: Subject, row: impl FnOnce(StepAttempt) -> JournalRow) {
        let at = StepAttempt {
            run: self.run,
            subject,
            step: Step::Validate,
            attempt: 1,
        };
        if let Err(e) = self.ledger.append_all(vec![row(at)]).await {
            tracing::warn!(error = %e, "cannot journal the validation");
        }
    }

    async fn tenant_view(
        &self,
        cloud: &CloudName,
        password: &Secret,
    ) -> Result<Option<TenantView>, String> {
        self.foreman
            .tenant_view(cloud.as_str(), password)
            .await
            .map_err(|e| format!("foreman: {e}"))
    }

    /// Validates one cloud, journals and returns the result (the store's flag is the caller's).
    pub(crate) async fn cloud(self: &Arc<Self>, target: CloudToValidate) -> CloudValidation {
        let cloud = target.cloud.clone();
        let spec = target.assignment.spec.clone();
        let password = tenant_password(&self.infra_location, &spec);
        let first = self.hosts(&cloud, &password, &target.hosts).await;
        // one re-kick for each host that failed, then its checks again
        let failed: Vec<Host> = first
            .iter()
            .filter(|(_, problems)| !problems.is_empty())
            .map(|(h, _)| h.clone())
            .collect();
        for (host, problems) in first.iter().filter(|(_, p)| !p.is_empty()) {
            self.rekick(&cloud, host, problems).await;
        }
        let mut second: BTreeMap<HostName, Vec<String>> = if failed.is_empty() {
            BTreeMap::new()
        } else {
            let checked = self.hosts(&cloud, &password, &failed).await;
            checked.into_iter().map(|(h, p)| (h.name, p)).collect()
        };
        // `first` is sorted by host name; a re-kicked host whose second check did not report
        // keeps its first problems
        let hosts: Vec<(HostName, HostValidation)> = first
            .into_iter()
            .map(|(host, problems)| {
                let rekicked = !problems.is_empty();
                let problems = if rekicked {
                    second.remove(&host.name).unwrap_or(problems)
                } else {
                    problems
                };
                let result = HostValidation {
                    host: host.name.to_string(),
                    passed: problems.is_empty(),
                    rekicked,
                    problems,
                };
                (host.name, result)
            })
            .collect();
        let isolation = match &self.validation.isolation {
            None => Vec::new(),
            Some(check) => {
                let request = IsolationRequest {
                    cloud: cloud.clone(),
                    tenant: self.login(&spec),
                    credentials: target
                        .all_assignments
                        .iter()
                        .map(|a| self.login(a))
                        .collect(),
                    hosts: target.hosts.iter().map(|h| h.name.clone()).collect(),
                    assignment: spec.clone(),
                    network: self.validation.network,
                };
                match check.violations(&request).await {
                    Ok(v) => v,
                    Err(e) => vec![format!("isolation check: {e}")],
                }
            }
        };
        let passed = hosts.iter().all(|(_, h)| h.passed) && isolation.is_empty();
        for (host, h) in &hosts {
            let details = RunDetails::HostValidated {
                cloud: cloud.to_string(),
                rekicked: h.rekicked,
            }
            .render();
            let error = (!h.passed).then(|| h.problems.join("; "));
            self.journal(Subject::Host(host.clone()), |at| JournalRow::Outcome {
                at,
                outcome: if h.passed {
                    StepOutcome::Verified
                } else {
                    StepOutcome::Failed
                },
                error,
                details,
            })
            .await;
        }
        let hosts: Vec<HostValidation> = hosts.into_iter().map(|(_, h)| h).collect();
        let failed_hosts: Vec<&str> = hosts
            .iter()
            .filter(|h| !h.passed)
            .map(|h| h.host.as_str())
            .collect();
        let cloud_error = (!passed).then(|| {
            let mut parts = Vec::new();
            if !failed_hosts.is_empty() {
                parts.push(format!("hosts failed: {}", failed_hosts.join(", ")));
            }
            parts.extend(isolation.iter().cloned());
            parts.join("; ")
        });
        self.journal(Subject::Cloud(cloud.clone()), |at| JournalRow::Outcome {
            at,
            outcome: if passed {
                StepOutcome::Verified
            } else {
                StepOutcome::Failed
            },
            error: cloud_error,
            details: RunDetails::CloudValidated {
                ticket: spec.ticket.clone(),
            }
            .render(),
        })
        .await;
        if passed {
            tracing::info!(cloud = %cloud, hosts = hosts.len(), "cloud validated");
        } else {
            tracing::warn!(cloud = %cloud, failed = ?failed_hosts, isolation = isolation.len(), "cloud failed validation");
        }
        CloudValidation {
            cloud: cloud.to_string(),
            ticket: spec.ticket.clone(),
            passed,
            hosts,
            isolation,
        }
    }

    /// A host that failed its checks is re-kicked once: one-time PXE and a power cycle, as
    /// QUADS's validation does (a host out of build mode boots its installed OS again; a
    /// service that did not come up gets another start). The intent is journaled first.
    async fn rekick(&self, cloud: &CloudName, host: &Host, problems: &[String]) {
        tracing::warn!(host = %host.name, problems = %problems.join("; "), "validation failed: re-kicking once");
        let details = RunDetails::ValidationRekick {
            cloud: cloud.to_string(),
            problems: problems.to_vec(),
        }
        .render();
        self.journal(Subject::Host(host.name.clone()), |at| JournalRow::Intent {
            at,
            details,
        })
        .await;
        let kicked = async {
            let bmc = self.fleet.connect(host)?;
            let result = kick(&*bmc, &self.limits, &self.cancel).await;
            bmc.close().await;
            result
        };
        if let Err(e) = kicked.await {
            tracing::warn!(host = %host.name, error = %e, "the validation's re-kick failed");
        }
    }

    /// The host checks of `hosts` at once; each host's problems (empty: passed).
    async fn hosts(
        self: &Arc<Self>,
        cloud: &CloudName,
        password: &Secret,
        hosts: &[Host],
    ) -> Vec<(Host, Vec<String>)> {
        let view = Arc::new(self.tenant_view(cloud, password).await);
        let mut set = JoinSet::new();
        let gate = Arc::new(tokio::sync::Semaphore::new(64));
        for host in hosts {
            let this = self.clone();
            let host = host.clone();
            let cloud = cloud.clone();
            let password = password.clone();
            let view = view.clone();
            let gate = gate.clone();
            set.spawn(async move {
                let _permit = gate.acquire_owned().await;
                let problems = this.host(&cloud, &password, &host, &view).await;
                (host, problems)
            });
        }
        let mut out = Vec::with_capacity(hosts.len());
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(r) => out.push(r),
                Err(e) => tracing::error!(error = %e, "a host's validation ended abnormally"),
            }
        }
        out.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        out
    }

    /// One host's checks: Foreman as the tenant, the ports, the tenant's BMC login, the hook.
    async fn host(
        &self,
        cloud: &CloudName,
        password: &Secret,
        record: &Host,
        view: &Result<Option<TenantView>, String>,
    ) -> Vec<String> {
        let host = &record.name;
        let mut problems = Vec::new();
        match view {
            Err(e) => problems.push(e.clone()),
            Ok(None) => problems.push(format!("foreman: the tenant's user {cloud} cannot sign in")),
            Ok(Some(v)) if !v.visible.contains(host.as_str()) => {
                problems.push(format!("foreman: {cloud} does not see the host"));
            }
            Ok(Some(v)) if v.building.contains(host.as_str()) => {
                problems.push("foreman: the host is still in build mode".to_owned());
            }
            Ok(Some(_)) => {}
        }
        let deadline = Instant::now() + self.validation.config.port_timeout;
        for &port in &self.validation.config.ports {
            if let Err(e) = self.port(host, port, deadline).await {
                problems.push(format!("port {port}: {e}"));
            }
        }
        let user = &self.config.tenant_bmc_user;
        let bmc = self.fleet.connect(record).map(Some).unwrap_or_else(|e| {
            problems.push(format!("bmc: {e}"));
            None
        });
        if let Some(bmc) = bmc {
            match bmc.login_works(user, password).await {
                Ok(true) => {}
                Ok(false) => problems.push(format!("bmc: the tenant's login {user} is refused")),
                Err(e) => problems.push(format!("bmc: {e}")),
            }
            bmc.close().await;
        }
        if let Some(spec) = &self.validation.config.check_hook
            && let Err(e) = run_hook(spec, host.as_str(), &self.limits, &self.cancel).await
        {
            problems.push(format!("check hook {}: {e}", spec.name));
        }
        problems
    }

    /// Tries `port` until it answers or `deadline` passes.
    async fn port(&self, host: &HostName, port: u16, deadline: Instant) -> Result<(), String> {
        let pause = (self.validation.config.port_timeout / 50)
            .clamp(Duration::from_millis(20), Duration::from_secs(5));
        loop {
            let e = match self.validation.probe.answers(host, port).await {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            if Instant::now() + pause >= deadline || self.cancel.is_cancelled() {
                return Err(e);
            }
            tokio::select! {
                () = self.cancel.cancelled() => return Err(e),
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}

/// The clouds of `snapshot` to validate at `at` (all but the spare pool, or those in `only`):
/// each with the assignment holding it at `at` and its active hosts; a cloud no assignment
/// holds, or with no host, has nothing to validate.
pub(crate) fn clouds_to_validate(
    snapshot: &crate::store::Snapshot,
    at: Timestamp,
    only: Option<&BTreeSet<CloudName>>,
    spare: &str,
) -> Vec<CloudToValidate> {
    let held: BTreeSet<_> = snapshot
        .schedules
        .iter()
        .filter(|s| s.range.contains(at))
        .map(|s| s.assignment)
        .collect();
    let active = active_clouds(at, &snapshot.assignments, &snapshot.schedules);
    let all: Vec<AssignmentSpec> = snapshot
        .assignments
        .iter()
        .map(|a| a.spec.clone())
        .collect();
    active
        .into_iter()
        .filter(|c| c.as_str() != spare && only.is_none_or(|o| o.contains(c)))
        .filter_map(|cloud| {
            let assignment = snapshot
                .assignments
                .iter()
                .filter(|a| a.spec.cloud == cloud && held.contains(&a.id))
                .max_by_key(|a| a.id)?
                .clone();
            let hosts: Vec<Host> = snapshot
                .hosts
                .iter()
                .filter(|h| h.current_cloud == cloud && h.state == HostState::Active)
                .cloned()
                .collect();
            (!hosts.is_empty()).then(|| CloudToValidate {
                cloud,
                assignment,
                hosts,
                all_assignments: all.clone(),
            })
        })
        .collect()
}

/// Validates `targets` one cloud after another (each cloud's hosts at once) and records each
/// assignment validated or not in the store.
pub(crate) async fn validate_all(
    validator: Validator,
    targets: Vec<CloudToValidate>,
    store: &Store,
) -> Vec<CloudValidation> {
    // the moves' end closed the fleet's sessions and its door
    validator.fleet.reopen();
    let validator = Arc::new(validator);
    let mut results = Vec::with_capacity(targets.len());
    for target in targets {
        if validator.cancel.is_cancelled() {
            break;
        }
        let id = target.assignment.id;
        let result = validator.cloud(target).await;
        if let Err(e) = store.set_assignment_validated(id, result.passed).await {
            tracing::warn!(cloud = %result.cloud, error = %e, "cannot record the validation");
        }
        results.push(result);
    }
    results
}

/// What `quads validate` asks for.
#[derive(Debug, Clone, Default)]
pub struct ValidateRequest {
    /// Only this cloud (default: every cloud an assignment holds, but the spare pool).
    pub cloud: Option<CloudName>,
    /// Validate as of this time (default: now).
    pub at: Option<Timestamp>,
}

/// `quads validate`: the checks of every provisioned cloud (or one), on demand, under the run
/// lock, journaled as a `validate` run; each assignment is marked validated or not.
///
/// # Errors
/// [`ExecError`] when the run cannot start (another run active, unknown cloud, a cloud with
/// nothing to validate).
pub async fn validate_clouds(
    store: &Store,
    request: &ValidateRequest,
    setup: RunSetup,
    validation: Validation,
) -> Result<ValidationReport, ExecError> {
    let snapshot = store.snapshot().await?;
    if let Some(c) = &request.cloud
        && !snapshot.clouds.iter().any(|x| x.name == *c)
    {
        return Err(ExecError::UnknownCloud(c.clone()));
    }
    let at = request.at.unwrap_or_else(|| setup.ports.clock.now());
    let only = request.cloud.as_ref().map(|c| BTreeSet::from([c.clone()]));
    let targets = clouds_to_validate(&snapshot, at, only.as_ref(), &setup.config.spare_cloud);
    if let Some(c) = &request.cloud
        && targets.is_empty()
    {
        return Err(ExecError::NothingToValidate(c.clone()));
    }
    let lock = store.begin_run(RunKind::Validate, at).await?;
    let validator = Validator {
        run: lock.id(),
        foreman: setup.ports.foreman,
        fleet: setup.ports.fleet.clone(),
        ledger: Arc::new(store.clone()),
        limits: setup.limits,
        cancel: setup.shutdown.aborted().clone(),
        config: setup.config,
        infra_location: setup.infra_location,
        validation,
    };
    let run = lock.id();
    let clouds = validate_all(validator, targets, store).await;
    let closed = setup.ports.fleet.close_all().await;
    if closed > 0 {
        tracing::debug!(sessions = closed, "logged out the remaining BMC sessions");
    }
    let report = ValidationReport {
        version: VALIDATION_REPORT_VERSION,
        run: run.0,
        events: clouds.iter().map(CloudValidation::event).collect(),
        clouds,
        notifications: None,
    };
    let state = if report.all_passed() {
        RunState::Succeeded
    } else {
        RunState::Failed
    };
    store.finish_run(lock, state).await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::model::{BootType, QinQ, Wipe};

    fn spec(cloud: &str, ticket: &str) -> AssignmentSpec {
        AssignmentSpec {
            cloud: CloudName::new(cloud).unwrap(),
            ticket: ticket.to_owned(),
            owner: "alice".to_owned(),
            description: String::new(),
            wipe: Wipe::Yes,
            os: None,
            partition_table: None,
            medium: None,
            boot_type: BootType::Bios,
            qinq: QinQ::Combined,
            public_vlan: Some(crate::model::VlanId::new(601).unwrap()),
        }
    }

    fn login(label: &str) -> TenantLogin {
        TenantLogin {
            label: label.to_owned(),
            user: "quads".to_owned(),
            password: Secret::new("lab@1".to_owned()),
        }
    }

    #[test]
    fn the_lab_expectation_names_the_tenant_owner_network_and_every_credential() {
        let request = IsolationRequest {
            cloud: CloudName::new("cloud03").unwrap(),
            tenant: login("cloud03 #7"),
            credentials: vec![login("cloud02 #6"), login("cloud03 #7")],
            hosts: vec![HostName::new("h1.example").unwrap()],
            assignment: spec("cloud03", "7"),
            network: true,
        };
        let e = lab_expectation(&request);
        assert_eq!(e["bmc_credentials"].as_array().unwrap().len(), 2);
        assert_eq!(e["bmc_credentials"][1]["password"], "lab@1");
        let host = &e["hosts"]["h1.example"];
        assert_eq!(host["tenant"], "cloud03 #7");
        assert_eq!(host["owner"], "cloud03");
        assert_eq!(host["network"]["qinq"], true);
        assert_eq!(host["network"]["public_vlan"], 601);
        let without = lab_expectation(&IsolationRequest {
            network: false,
            ..request
        });
        assert!(without["hosts"]["h1.example"].get("network").is_none());
        // the request's Debug never shows the password
        assert!(!format!("{:?}", login("x")).contains("lab@1"));
    }

    #[test]
    fn a_result_is_one_event_naming_the_failed_hosts() {
        let host = |name: &str, passed| HostValidation {
            host: name.to_owned(),
            passed,
            rekicked: !passed,
            problems: if passed {
                Vec::new()
            } else {
                vec!["port 22: refused".to_owned()]
            },
        };
        let mut v = CloudValidation {
            cloud: "cloud02".to_owned(),
            ticket: "1".to_owned(),
            passed: true,
            hosts: vec![host("a", true), host("b", true)],
            isolation: Vec::new(),
        };
        assert_eq!(
            v.event(),
            CloudEvent::CloudValidated {
                cloud: "cloud02".to_owned()
            }
        );
        v.passed = false;
        v.hosts[1] = host("b", false);
        let event = v.event();
        assert_eq!(
            event,
            CloudEvent::ValidationFailed {
                cloud: "cloud02".to_owned(),
                hosts: vec!["b".to_owned()],
            }
        );
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["event"], "validation-failed");
    }

    #[test]
    fn the_configuration_reads_ports_and_hooks_and_scales_its_waits() {
        let c: ValidationConfig = toml::from_str(
            r#"
            ports = [22, 8080]
            port_timeout = "2m"
            check_hook = { name = "ping", command = "true" }
            "#,
        )
        .unwrap();
        assert_eq!(c.ports, [22, 8080]);
        assert_eq!(c.port_timeout, Duration::from_secs(120));
        assert_eq!(c.check_hook.as_ref().unwrap().name, "ping");
        let real = c.in_real_time(0.01);
        assert_eq!(real.port_timeout, Duration::from_millis(1200));
        assert!(toml::from_str::<ValidationConfig>("nope = 1").is_err());
        assert_eq!(ValidationConfig::default().ports, [22]);
    }
}
