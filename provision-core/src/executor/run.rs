//! Orchestration of a run: every host of every cloud at once (bounded by the limits), the shared
//! install poller, cloud setups on first use, shutdown (no new host or step, in-flight writes
//! finish within the grace period, sessions logged out), and, against the store, the run lock,
//! the journal of the run being continued, the plan, and the clouds' status at the end.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::cloud::{CloudLeft, CloudSetups, Retirement, retire_clouds};
use super::config::{CloudOrder, ExecutorConfig};
use super::host::move_host;
use super::poller::InstallPoller;
use super::ports::{BmcFleet, BootOrders, ForemanPort, Ledger, SwitchPort};
use super::progress::{RunProgress, Stages};
use super::report::{HostReport, HostStatus, REPORT_VERSION, RunReport};
use super::resume::ResumeState;
use super::switches::SwitchBatches;
use super::validate::{Validation, Validator, clouds_to_validate, validate_all};
use crate::limits::{LimitError, Limits};
use crate::model::{
    AssignmentSpec, CloudName, CloudStatus, Host, HostName, RunId, RunKind, RunState, ScheduleId,
    Wipe,
};
use crate::network::{NetworkIndex, NetworkPlan, VlanScheme};
use crate::plan::{PlanInput, active_clouds, last_assignment, plan};
use crate::shutdown::Shutdown;
use crate::store::{Store, StoreError};
use crate::time::{Clock, Timestamp};

/// One host to move, with everything its steps need.
#[derive(Debug, Clone)]
pub struct MoveJob {
    /// The host (its BMC address, model, type).
    pub host: Host,
    /// The cloud it is in.
    pub from: CloudName,
    /// The cloud it moves to.
    pub to: CloudName,
    /// Whether it is rebuilt.
    pub wipe: Wipe,
    /// The schedule it moves for.
    pub schedule: Option<ScheduleId>,
    /// The assignment it moves for (ticket, owner, OS).
    pub assignment: Option<AssignmentSpec>,
    /// The assignment it leaves (the tenant whose access ends), when the store knows it.
    pub leaving: Option<AssignmentSpec>,
    /// Its switch ports: old and new VLANs, per switch.
    pub network: NetworkPlan,
}

/// The outside world of a run.
#[derive(Debug, Clone)]
pub struct Ports {
    /// Foreman.
    pub foreman: Arc<dyn ForemanPort>,
    /// The BMCs.
    pub fleet: Arc<dyn BmcFleet>,
    /// The provisioning boot orders.
    pub boot_orders: Arc<dyn BootOrders>,
    /// Where wall-clock times come from (build start and end).
    pub clock: Arc<dyn Clock>,
    /// The switches, when moves move switch ports (`[network] driver`); `None`: no
    /// switch-ports step.
    pub switches: Option<Arc<dyn SwitchPort>>,
}

/// What one execution needs besides its jobs.
#[derive(Debug, Clone)]
pub struct Execution {
    /// The run journaled under.
    pub run: RunId,
    /// Behaviour.
    pub config: ExecutorConfig,
    /// Tenant passwords are `{infra_location}@{ticket}`.
    pub infra_location: String,
    /// The outside world.
    pub ports: Ports,
    /// The journal and the record of moves.
    pub ledger: Arc<dyn Ledger>,
    /// The limits (shared with the transports given to the clients).
    pub limits: Limits,
    /// The stop switch.
    pub shutdown: Shutdown,
    /// What earlier runs journaled.
    pub resume: ResumeState,
    /// The schedule time planned for.
    pub target_time: Timestamp,
    /// Where the run counts its hosts as they go (a caller's handle, or a fresh one).
    pub progress: RunProgress,
}

/// What the steps of every host share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) run: RunId,
    pub(crate) config: ExecutorConfig,
    pub(crate) infra_location: String,
    pub(crate) foreman: Arc<dyn ForemanPort>,
    pub(crate) fleet: Arc<dyn BmcFleet>,
    pub(crate) boot_orders: Arc<dyn BootOrders>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) ledger: Arc<dyn Ledger>,
    pub(crate) limits: Limits,
    pub(crate) shutdown: Shutdown,
    pub(crate) poller: Arc<InstallPoller>,
    pub(crate) clouds: CloudSetups,
    pub(crate) resume: ResumeState,
    pub(crate) stages: Stages,
    /// The switch-ports step's batches, when moves move ports.
    pub(crate) switches: Option<SwitchBatches>,
}

/// Moves every job at once within the limits; returns when every host finished, failed or was
/// stopped. Never fails as a whole: each host's result says how it ended.
pub async fn execute(exec: Execution, jobs: Vec<MoveJob>) -> RunReport {
    let started = Instant::now();
    let poller = InstallPoller::new();
    let stop_polling = CancellationToken::new();
    let poll_task = tokio::spawn(poller.clone().run(
        exec.ports.foreman.clone(),
        exec.config.poll_interval,
        stop_polling.clone(),
    ));
    // the hosts reaching the switch-ports step together share their switches' first batch
    let gather = crate::time::scale_duration(Duration::from_millis(100), exec.config.time_scale);
    let switches = exec.ports.switches.map(|driver| {
        SwitchBatches::new(
            driver,
            exec.limits.clone(),
            gather,
            exec.config.policy.switch_moves,
        )
    });
    let shared = Arc::new(Shared {
        run: exec.run,
        config: exec.config,
        infra_location: exec.infra_location,
        foreman: exec.ports.foreman,
        fleet: exec.ports.fleet,
        boot_orders: exec.ports.boot_orders,
        clock: exec.ports.clock,
        ledger: exec.ledger,
        limits: exec.limits,
        shutdown: exec.shutdown,
        poller: poller.clone(),
        clouds: CloudSetups::default(),
        resume: exec.resume,
        stages: exec.progress.stages(),
        switches,
    });
    let watcher = {
        let shared = shared.clone();
        tokio::spawn(async move {
            shared.shutdown.stopping().cancelled().await;
            shared.limits.stop_starting_hosts();
        })
    };
    let progress = exec.progress;
    progress.start(jobs.len(), shared.limits.clone());
    let ticker = {
        let shared = shared.clone();
        let progress = progress.clone();
        tokio::spawn(async move {
            let every = shared.config.progress_interval.max(Duration::from_secs(1));
            loop {
                tokio::time::sleep(every).await;
                let now = progress.snapshot();
                tracing::info!(
                    total = now.total,
                    moved = now.moved,
                    failed = now.failed,
                    interrupted = now.interrupted,
                    in_flight = now.in_flight,
                    installs_polled = shared.poller.polls(),
                    stages = %now.stage_line(),
                    "progress"
                );
            }
        })
    };
    let mut waiting: BTreeMap<String, (String, String, bool)> = BTreeMap::new();
    for job in &jobs {
        waiting.insert(
            job.host.name.to_string(),
            (
                job.from.to_string(),
                job.to.to_string(),
                job.wipe == Wipe::Yes,
            ),
        );
    }
    let mut hosts = Vec::with_capacity(waiting.len());
    for batch in batches(jobs, shared.config.policy.clouds) {
        let mut set = JoinSet::new();
        for job in batch {
            let shared = shared.clone();
            let progress = progress.clone();
            set.spawn(async move {
                let report = match shared.limits.host_slot().await {
                    Ok(permit) => {
                        let report = move_host(shared, job).await;
                        drop(permit);
                        report
                    }
                    Err(_) => not_started(&job, "stopping: the host's move was not started"),
                };
                progress.count(&report);
                report
            });
        }
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(report) => {
                    waiting.remove(&report.host);
                    hosts.push(report);
                }
                Err(e) => tracing::error!(error = %e, "a host's task ended abnormally"),
            }
        }
    }
    for (host, (from, to, wipe)) in waiting {
        let report = HostReport {
            host,
            from,
            to,
            wipe,
            status: HostStatus::Failed,
            failed_step: None,
            attempts: 0,
            error: Some("the host's task ended abnormally (see the log)".to_owned()),
            seconds: 0.0,
            steps: Vec::new(),
        };
        progress.count(&report);
        hosts.push(report);
    }
    hosts.sort_by(|a, b| a.host.cmp(&b.host));
    stop_polling.cancel();
    let _ = poll_task.await;
    watcher.abort();
    ticker.abort();
    let closed = shared.fleet.close_all().await;
    if closed > 0 {
        tracing::info!(sessions = closed, "logged out the remaining BMC sessions");
    }
    if let Some(switches) = &shared.switches {
        switches.close().await;
    }
    RunReport {
        version: REPORT_VERSION,
        run: shared.run.0,
        target_time: exec.target_time.to_string(),
        interrupted: !shared.shutdown.may_start(),
        counts: RunReport::count(&hosts),
        provisioned_clouds: Vec::new(),
        retired_clouds: Vec::new(),
        write_back_errors: Vec::new(),
        validations: Vec::new(),
        events: Vec::new(),
        notifications: None,
        bmc_sessions_open: Vec::new(),
        hosts,
        install_polls: poller.polls(),
        seconds: started.elapsed().as_secs_f64(),
        limits: shared.limits.report(),
    }
}

/// The jobs in the order the policy moves them: all at once, or one cloud after another (in
/// name order, each cloud's hosts at once).
fn batches(jobs: Vec<MoveJob>, order: CloudOrder) -> Vec<Vec<MoveJob>> {
    match order {
        CloudOrder::Concurrent => vec![jobs],
        CloudOrder::Sequential => {
            let mut by_cloud: BTreeMap<CloudName, Vec<MoveJob>> = BTreeMap::new();
            for job in jobs {
                by_cloud.entry(job.to.clone()).or_default().push(job);
            }
            by_cloud.into_values().collect()
        }
    }
}

fn not_started(job: &MoveJob, why: &str) -> HostReport {
    HostReport {
        host: job.host.name.to_string(),
        from: job.from.to_string(),
        to: job.to.to_string(),
        wipe: job.wipe == Wipe::Yes,
        status: HostStatus::Interrupted,
        failed_step: None,
        attempts: 0,
        error: Some(why.to_owned()),
        seconds: 0.0,
        steps: Vec::new(),
    }
}

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    /// The store refused or failed (another run active, unknown cloud, ...).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A limit cannot be built from the configuration.
    #[error(transparent)]
    Limits(#[from] LimitError),
    /// `--resume` with no interrupted run to continue.
    #[error("there is no interrupted run to resume (the last run finished)")]
    NothingToResume,
    /// `--cloud` names no cloud.
    #[error("cloud {0} does not exist")]
    UnknownCloud(CloudName),
    /// Worker mode: the QUADS server failed or answered something unusable.
    #[error("QUADS server, {0}")]
    QuadsServer(String),
    /// `quads validate --cloud`: no assignment holds the cloud now, or it has no host.
    #[error("cloud {0} has nothing to validate: no assignment holds it now or it has no host")]
    NothingToValidate(CloudName),
}

impl ExecError {
    /// Whether the request was refused as given (usage or configuration).
    #[must_use]
    pub fn is_refusal(&self) -> bool {
        match self {
            Self::Store(e) => e.is_refusal(),
            Self::Limits(_)
            | Self::NothingToResume
            | Self::UnknownCloud(_)
            | Self::NothingToValidate(_) => true,
            Self::QuadsServer(_) => false,
        }
    }
}

/// What `quads move-hosts` asks for.
#[derive(Debug, Clone, Default)]
pub struct MoveRequest {
    /// Plan for this time (default: now; with `resume`, the interrupted run's time).
    pub at: Option<Timestamp>,
    /// Only moves into this cloud.
    pub cloud: Option<CloudName>,
    /// Continue the last interrupted run (its time, unless `at` is given).
    pub resume: bool,
    /// Hosts never moved.
    pub untouchable: BTreeSet<HostName>,
    /// The lab's VLAN numbering, for the moves' network plans.
    pub vlans: VlanScheme,
    /// Validate every cloud the run provisioned, so (`None`: no validation).
    pub validation: Option<Validation>,
}

/// Everything but the store a run needs.
#[derive(Debug, Clone)]
pub struct RunSetup {
    /// Behaviour.
    pub config: ExecutorConfig,
    /// Tenant passwords are `{infra_location}@{ticket}`.
    pub infra_location: String,
    /// The outside world.
    pub ports: Ports,
    /// The limits (shared with the transports given to the clients).
    pub limits: Limits,
    /// The stop switch (wire it to the signals).
    pub shutdown: Shutdown,
    /// Where the run counts its hosts as they go (`RunProgress::default()` when nobody watches).
    pub progress: RunProgress,
}

/// A whole run against the store: takes the run lock, reads the journal of the run it
/// continues, plans, executes, records each cloud's status and the run's end.
///
/// # Errors
/// [`ExecError`] when the run cannot start (another run active, nothing to resume, ...).
///
/// The setup over the real clients (the limits' transports wrap one shared HTTPS transport):
///
/// ```no_run
/// use std::sync::Arc;
///
/// use foreman_client::{ForemanClient, ForemanUrl};
/// use provision_core::executor::adapters::{ForemanAdapter, InterfacesBootOrders, RedfishFleet};
/// use provision_core::executor::{
///     ExecutorConfig, MoveRequest, Ports, RunProgress, RunSetup, move_hosts,
/// };
/// use provision_core::limits::Limits;
/// use provision_core::shutdown::Shutdown;
/// use provision_core::{Store, SystemClock};
/// use quads_http::{HttpsTransport, TransportConfig};
/// use redfish_client::{InterfacesFile, RedfishClient};
///
/// # async fn example(store: Store) -> Result<(), Box<dyn std::error::Error>> {
/// let config = ExecutorConfig::default();
/// let limits = Limits::new(&config.limits)?;
/// let transport = Arc::new(HttpsTransport::new(&TransportConfig::default())?);
/// let foreman_transport = limits.foreman_transport(transport.clone());
/// let foreman = ForemanClient::with_transport(
///     foreman_transport.clone(),
///     foreman_client::ClientConfig::new(
///         ForemanUrl::parse("https://foreman.example.com")?,
///         foreman_client::Credentials::password("admin", "changeme"),
///     ),
/// )?;
/// let redfish = RedfishClient::with_transport(
///     limits.bmc_transport(transport),
///     redfish_client::ClientConfig::default(),
/// );
/// let interfaces = InterfacesFile::parse(&std::fs::read_to_string("idrac_interfaces.yml")?)?;
/// let shutdown = Shutdown::new(config.grace);
/// let setup = RunSetup {
///     infra_location: "lab".to_owned(),
///     ports: Ports {
///         foreman: Arc::new(ForemanAdapter::new(foreman, foreman_transport)),
///         fleet: Arc::new(RedfishFleet::new(
///             redfish,
///             redfish_client::Credentials::new("root", "calvin"),
///         )),
///         boot_orders: Arc::new(InterfacesBootOrders::new(
///             interfaces,
///             config.provisioning_host_type.clone(),
///         )),
///         clock: Arc::new(SystemClock),
///         switches: None,
///     },
///     config,
///     limits,
///     shutdown,
///     progress: RunProgress::default(),
/// };
/// let report = move_hosts(&store, &MoveRequest::default(), setup).await?;
/// println!("{} hosts", report.hosts.len());
/// # Ok(()) }
/// ```
pub async fn move_hosts(
    store: &Store,
    request: &MoveRequest,
    setup: RunSetup,
) -> Result<RunReport, ExecError> {
    let last = store.runs(1).await?.into_iter().next();
    let continuable = last.as_ref().filter(|r| {
        r.kind == RunKind::MoveHosts
            && matches!(
                r.state,
                RunState::Interrupted | RunState::Abandoned | RunState::Active
            )
    });
    if request.resume && continuable.is_none() {
        return Err(ExecError::NothingToResume);
    }
    if let Some(c) = &request.cloud
        && !store.clouds().await?.iter().any(|x| x.name == *c)
    {
        return Err(ExecError::UnknownCloud(c.clone()));
    }
    let at = match (request.at, request.resume, continuable) {
        (Some(at), _, _) => at,
        (None, true, Some(run)) => run.target_time,
        _ => setup.ports.clock.now(),
    };
    let lock = store.begin_run(RunKind::MoveHosts, at).await?;
    if let Err(e) = crate::executor::sessions::close_left_sessions(store, &setup.ports.fleet).await
    {
        tracing::warn!(error = %e, "cannot read the BMC sessions earlier runs left open");
    }
    let run = lock.id();
    // the end of the run settles its BMC sessions (`setup` goes to the execution)
    let sessions_fleet = setup.ports.fleet.clone();
    let end_of_run = crate::executor::sessions::EndOfRun::of(&setup.config);
    // what the end of the run needs to retire the clouds whose tenant is out (`setup` goes
    // to the execution)
    let spare = setup.config.spare_cloud.clone();
    let retirement = Retirement {
        run,
        foreman: setup.ports.foreman.clone(),
        ledger: Arc::new(store.clone()),
        infra_location: setup.infra_location.clone(),
        policy: setup.config.steps.cloud_user.clone(),
    };
    let aborted = setup.shutdown.aborted().clone();
    // what the validation at the end needs (`setup` goes to the execution)
    let validator = request.validation.clone().map(|validation| Validator {
        run,
        foreman: setup.ports.foreman.clone(),
        fleet: setup.ports.fleet.clone(),
        ledger: Arc::new(store.clone()),
        limits: setup.limits.clone(),
        config: setup.config.clone(),
        infra_location: setup.infra_location.clone(),
        validation,
        cancel: aborted.clone(),
    });
    let fleet = setup.ports.fleet.clone();
    let mut outcome = async {
        let resume = ResumeState::load(store, run).await?;
        if !resume.runs.is_empty() {
            tracing::info!(runs = ?resume.runs.iter().map(|r| r.0).collect::<Vec<_>>(), "continuing from the journal");
        }
        // the store's records and the plan are dropped before the hosts move: each host's task
        // carries what it needs, so a fleet's memory is its hosts in flight
        let (jobs, targets, to_invalidate) = {
            let snapshot = store.snapshot().await?;
            let input = PlanInput {
                hosts: &snapshot.hosts,
                clouds: &snapshot.clouds,
                assignments: &snapshot.assignments,
                schedules: &snapshot.schedules,
                at,
                cloud: request.cloud.as_ref(),
                untouchable: &request.untouchable,
        };
        let planned = plan(&input);
        for s in &planned.skipped {
            tracing::warn!(host = %s.host, reason = %s.reason, "not moved");
        }
        let network = NetworkIndex::new(&snapshot, request.vlans);
        let by_name: HashMap<&HostName, &Host> =
            snapshot.hosts.iter().map(|h| (&h.name, h)).collect();
        let jobs: Vec<MoveJob> = planned
            .moves
            .iter()
            .filter_map(|m| {
                let host = (*by_name.get(&m.host)?).clone();
                let (leaving, assignment) = network.sides(m, at);
                Some(MoveJob {
                    host,
                    from: m.from.clone(),
                    to: m.to.clone(),
                    wipe: m.wipe,
                    schedule: m.schedule,
                    network: network.plan(&m.host, leaving, assignment),
                    assignment: assignment.cloned(),
                    leaving: leaving.cloned(),
                })
            })
            .collect();
        let targets: BTreeSet<CloudName> = jobs.iter().map(|j| j.to.clone()).collect();
        let to_invalidate: Vec<_> = snapshot
            .assignments
            .iter()
            .filter(|a| targets.contains(&a.spec.cloud))
            .map(|a| a.id)
            .collect();
        (jobs, targets, to_invalidate)
        };
        // a cloud a host moves into is not validated until its checks pass again
        for id in to_invalidate {
            store.set_assignment_validated(id, false).await?;
        }
        let mut report = execute(
            Execution {
                run,
                config: setup.config,
                infra_location: setup.infra_location,
                ports: setup.ports,
                ledger: Arc::new(store.clone()),
                limits: setup.limits,
                shutdown: setup.shutdown,
                resume,
                target_time: at,
                progress: setup.progress,
            },
            jobs,
        )
        .await;
        // A cloud is provisioned when no host scheduled into it remains to move.
        let after = store.snapshot().await?;
        let remaining = plan(&PlanInput {
            hosts: &after.hosts,
            clouds: &after.clouds,
            assignments: &after.assignments,
            schedules: &after.schedules,
            at,
            cloud: None,
            untouchable: &request.untouchable,
        });
        for cloud in targets {
            let pending = remaining.moves.iter().any(|m| m.to == cloud)
                || remaining
                    .skipped
                    .iter()
                    .any(|s| s.to.as_ref() == Some(&cloud));
            let status = if pending {
                CloudStatus::Pending
            } else {
                report.provisioned_clouds.push(cloud.to_string());
                CloudStatus::Provisioned
            };
            store.set_cloud_status(cloud, status).await?;
        }
        // Every cloud no assignment holds now: its tenant is out, its Foreman user retired.
        let active = active_clouds(at, &after.assignments, &after.schedules);
        let left: Vec<CloudLeft> = after
            .clouds
            .iter()
            .filter(|c| c.name.as_str() != spare && !active.contains(&c.name))
            .map(|c| CloudLeft {
                cloud: c.name.clone(),
                last: last_assignment(&c.name, &after.assignments).map(|a| a.spec.clone()),
            })
            .collect();
        if !report.interrupted && !left.is_empty() {
            report.retired_clouds = retire_clouds(&retirement, left, &aborted)
                .await
                .into_iter()
                .map(|c| c.to_string())
                .collect();
        }
        // the tenant's checks of every cloud provisioned now
        if let Some(validator) = validator
            && !report.interrupted
        {
            let provisioned: BTreeSet<CloudName> = report
                .provisioned_clouds
                .iter()
                .filter_map(|c| CloudName::new(c.as_str()).ok())
                .collect();
            let clouds = clouds_to_validate(&after, at, Some(&provisioned), &spare);
            if !clouds.is_empty() {
                report.validations = validate_all(validator, clouds, store).await;
                report.events = report
                    .validations
                    .iter()
                    .map(super::validate::CloudValidation::event)
                    .collect();
                fleet.close_all().await;
            }
        }
        Ok::<RunReport, ExecError>(report)
    }
    .await;
    crate::executor::sessions::close_at_end(store, &sessions_fleet, end_of_run, &mut outcome).await;
    let state = match &outcome {
        Ok(r) if r.interrupted => RunState::Interrupted,
        Ok(r) if r.all_moved() && r.all_validated() => RunState::Succeeded,
        _ => RunState::Failed,
    };
    store.finish_run(lock, state).await?;
    outcome
}
