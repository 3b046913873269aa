//! Worker mode (issue 14): the moves of a QUADS 2.x server, made by this executor and written
//! back to the server the way QUADS's own mover writes them. The local store keeps only the
//! run lock and the journal, so a crashed or interrupted run is continued exactly as in
//! standalone mode ([`ResumeState`]).
//!
//! Where a job comes from: `GET moves[?date=]` lists `{host, current, new}`; per host,
//! `GET hosts/<h>` (model, type, broken/retired, interfaces; `GET interfaces` when the host
//! record carries none), `GET assignments/active/<cloud>` of the new cloud (ticket, owner,
//! wipe, QinQ, public VLAN: the tenant it joins; none is a move to nobody's tenancy) and of the
//! current one (the tenant it leaves), and `GET schedules/current?host=&cloud=` (the schedule
//! whose build times are written). QUADS 2.x assignments carry no OS, partition table or
//! medium (QUADS takes its `foreman_default_*`): [`BuildDefaults`] gives them. Hosts have no
//! BMC address in QUADS: it comes from a template (`mgmt-{host}`, may carry a port) and an
//! optional hosts(5) file mapping names to addresses ([`bmc_address`]).
//!
//! QUADS's write semantics, kept here; every write is verified by reading the object back (a
//! host `PATCH` the database refuses is answered 200 with the old row):
//! 1. before a host's move (also when a run continues it): `PATCH hosts/<h>`
//!    `{"switch_config_applied": false, "build": false}` (`build` alone when no switch driver
//!    moves ports: nothing here would set it true again) and, for a wipe into a tenant's
//!    cloud, `PATCH assignments/<id> {"validated": false}` (once per assignment and run);
//! 2. after its switch-ports step: `PATCH hosts/<h> {"switch_config_applied": true}`;
//! 3. at the end of its move (the record step, [`QuadsLedger::complete_move`]): `PATCH
//!    schedules/<id> {"build_start", "build_end"}` (a wipe's install start and end; otherwise
//!    the move's start and end), then `PATCH hosts/<h> {"cloud": <new>, "build": true,
//!    "last_build": <now>, "validated": false}`, after which `moves` no longer lists the host.
//!    A failed or interrupted host gets none of this: the server lists it again next run;
//! 4. at the end of a run that was not interrupted: each cloud moved into that no listed move
//!    still targets gets `PATCH assignments/<id> {"provisioned": true, "validated": <not
//!    wipe>}`; each tenant cloud a host left that no current schedule holds any more gets
//!    `{"active": false}`, and its Foreman user is retired as in standalone mode. QUADS's own
//!    periodic validation takes over from these flags. The one-host form (QUADS's
//!    `--move-command`) makes 1 to 3 only: QUADS's loop makes 4.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use quads_api_client::writes::{AssignmentPatch, HostPatch, SchedulePatch};
use quads_api_client::{CurrentSchedules, QuadsClient};
use tokio_util::sync::CancellationToken;

use super::cloud::{CloudLeft, Retirement, retire_clouds};
use super::ports::Ledger;
use super::report::RunReport;
use super::resume::ResumeState;
use super::run::{ExecError, Execution, MoveJob, RunSetup, execute};
use crate::journal::{Details, JournalRow, StepAttempt};
use crate::model::{
    AssignmentId, AssignmentSpec, BootType, CloudName, Host, HostName, HostState, Interface,
    InterfaceName, MacAddress, QinQ, RunKind, RunState, ScheduleId, StepOutcome, VlanId, Wipe,
};
use crate::network::{VlanScheme, port_moves};
use crate::plan::{Move, MovePlan, SkipReason, Skipped};
use crate::retry::{Idempotency, RetryPolicy, Retryable, retry};
use crate::store::{CompletedMove, Store, StoreError};
use crate::time::{Clock, Timestamp};

/// The default BMC address template: QUADS reaches `mgmt-<host>`.
pub const DEFAULT_BMC_TEMPLATE: &str = "mgmt-{host}";

/// What a wipe installs when the assignment does not say (QUADS's `foreman_default_os`,
/// `foreman_default_ptable`, `foreman_default_medium`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildDefaults {
    /// Foreman operating system title.
    pub os: Option<String>,
    /// Foreman partition table name.
    pub partition_table: Option<String>,
    /// Foreman installation medium name.
    pub medium: Option<String>,
}

/// Names mapped to addresses, read from a hosts(5)-format file (`ADDRESS NAME [ALIAS...]`,
/// `#` comments).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostsFile {
    names: BTreeMap<String, IpAddr>,
}

impl HostsFile {
    /// Parses the file's text.
    ///
    /// # Errors
    /// A line whose first word is not an IP address, or that names nothing (with its number).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut names = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default();
            let mut words = line.split_whitespace();
            let Some(address) = words.next() else {
                continue;
            };
            let ip: IpAddr = address
                .parse()
                .map_err(|_| format!("line {}: {address:?} is not an IP address", n + 1))?;
            let mut any = false;
            for name in words {
                names.entry(name.to_ascii_lowercase()).or_insert(ip);
                any = true;
            }
            if !any {
                return Err(format!("line {}: {address} names no host", n + 1));
            }
        }
        Ok(Self { names })
    }

    /// The address of `name`, if the file maps it.
    #[must_use]
    pub fn lookup(&self, name: &str) -> Option<IpAddr> {
        self.names.get(&name.to_ascii_lowercase()).copied()
    }

    /// How many names it maps.
    #[must_use]
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether it maps nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// A host's BMC address: `template` with `{host}` replaced by the host's name, its name part
/// replaced by the address `resolve` maps it to (the port kept), so the transport needs no
/// resolver for site-local names.
#[must_use]
pub fn bmc_address(template: &str, host: &str, resolve: &HostsFile) -> String {
    let filled = template.replace("{host}", host);
    let (name, port) = match filled.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.parse::<u16>().is_ok() => {
            (name, Some(port))
        }
        _ => (filled.as_str(), None),
    };
    match (resolve.lookup(name), port) {
        (Some(IpAddr::V6(ip)), Some(port)) => format!("[{ip}]:{port}"),
        (Some(ip), Some(port)) => format!("{ip}:{port}"),
        (Some(ip), None) => ip.to_string(),
        (None, _) => filled,
    }
}

/// How worker mode builds its jobs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The BMC address template (`{host}` is the host's name).
    pub bmc_template: String,
    /// Names the template may produce, mapped to addresses.
    pub resolve: HostsFile,
    /// What a wipe installs.
    pub defaults: BuildDefaults,
    /// The lab's VLAN numbering (for the moves' network plans).
    pub vlans: VlanScheme,
    /// Hosts never moved.
    pub untouchable: BTreeSet<HostName>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            bmc_template: DEFAULT_BMC_TEMPLATE.to_owned(),
            resolve: HostsFile::default(),
            defaults: BuildDefaults::default(),
            vlans: VlanScheme::default(),
            untouchable: BTreeSet::new(),
        }
    }
}

/// One host's move as QUADS's `--move-command` gives it: `HOST CURRENT NEW [nowipe]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneMove {
    /// The host.
    pub host: HostName,
    /// The cloud QUADS says it is in.
    pub current: CloudName,
    /// The cloud it moves to.
    pub new: CloudName,
    /// `nowipe` given: not rebuilt whatever the assignment says.
    pub no_wipe: bool,
}

/// Which moves a worker run makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every move `GET moves` lists (at `at`, default the server's now), optionally only those
    /// into one cloud.
    Listed {
        /// Plan for this time.
        at: Option<Timestamp>,
        /// Only moves into this cloud.
        cloud: Option<CloudName>,
    },
    /// One host (QUADS's `--move-command`).
    One(OneMove),
}

/// What the server says about one planned move, kept for the write-back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerMove {
    /// The cloud it leaves.
    pub from: CloudName,
    /// The cloud it joins.
    pub to: CloudName,
    /// Its schedule into `to` (the server's id).
    pub schedule: Option<u64>,
    /// The active assignment of `to` (the server's id), if any.
    pub assignment: Option<u64>,
    /// Whether it is rebuilt.
    pub wipe: Wipe,
}

/// The moves of a run, as the server gave them.
#[derive(Debug, Clone)]
pub struct ServerPlan {
    /// The plan (the dry run's view): moves and skipped hosts, ids are the server's.
    pub plan: MovePlan,
    /// The jobs for the executor, in the plan's order.
    pub jobs: Vec<MoveJob>,
    /// The server's side of each job.
    pub moves: BTreeMap<HostName, ServerMove>,
    /// Each target cloud's active assignment id and wipe (for the end-of-run writes).
    pub assignments: BTreeMap<CloudName, (u64, Wipe)>,
}

fn server_error(what: &str, e: &quads_api_client::Error) -> ExecError {
    ExecError::QuadsServer(format!("{what}: {e}"))
}

fn remote(what: &str, e: &quads_api_client::Error) -> StoreError {
    StoreError::Remote {
        message: format!("QUADS server, {what}: {e}"),
        retryable: e.is_retryable(),
    }
}

fn to_quads(t: Timestamp) -> quads_api_client::Timestamp {
    quads_api_client::Timestamp::from_unix(t.unix_millis().div_euclid(1000))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The assignment as the executor knows assignments: QUADS's record, the build settings it
/// does not carry from `defaults`.
///
/// # Errors
/// A cloud name or public VLAN the model refuses.
pub fn assignment_spec(
    a: &quads_api_client::Assignment,
    cloud: &CloudName,
    defaults: &BuildDefaults,
) -> Result<AssignmentSpec, String> {
    let public_vlan = match &a.vlan {
        Some(v) => Some(
            VlanId::new(i64::from(v.vlan_id))
                .map_err(|e| format!("assignment {} of {cloud}: {e}", a.id))?,
        ),
        None => None,
    };
    Ok(AssignmentSpec {
        cloud: cloud.clone(),
        ticket: a.ticket.clone().unwrap_or_default(),
        owner: a.owner.clone().unwrap_or_default(),
        description: a.description.clone().unwrap_or_default(),
        wipe: if a.wipe { Wipe::Yes } else { Wipe::No },
        os: defaults.os.clone(),
        partition_table: defaults.partition_table.clone(),
        medium: defaults.medium.clone(),
        boot_type: BootType::Uefi,
        qinq: if a.qinq == Some(1) {
            QinQ::Combined
        } else {
            QinQ::Separated
        },
        public_vlan,
    })
}

/// A host's NICs as interface records (speeds from Mb/s to Gb/s; an unreadable MAC is left
/// out, the port is what matters here).
///
/// # Errors
/// An interface name the model refuses.
pub fn interface_records(
    host: &HostName,
    nics: &[quads_api_client::Interface],
) -> Result<Vec<Interface>, String> {
    nics.iter()
        .map(|n| {
            Ok(Interface {
                host: host.clone(),
                name: InterfaceName::new(n.name.as_str())
                    .map_err(|e| format!("host {host} interface {:?}: {e}", n.name))?,
                bios_id: n.bios_id.clone(),
                mac_address: n
                    .mac_address
                    .as_deref()
                    .and_then(|m| MacAddress::new(m).ok()),
                switch_ip: n.switch_ip.clone().unwrap_or_default(),
                switch_port: n.switch_port.clone().unwrap_or_default(),
                speed: n.speed.and_then(|s| u32::try_from(s / 1000).ok()),
                vendor: n.vendor.clone(),
                pxe_boot: n.pxe_boot,
                maintenance: n.maintenance,
            })
        })
        .collect()
}

fn cloud_name(name: &str) -> Result<CloudName, ExecError> {
    CloudName::new(name)
        .map_err(|e| ExecError::QuadsServer(format!("cloud name {name:?} from the server: {e}")))
}

/// Reads and remembers each cloud's active assignment.
struct Assignments<'a> {
    client: &'a QuadsClient,
    known: BTreeMap<String, Option<quads_api_client::Assignment>>,
}

impl Assignments<'_> {
    async fn active(
        &mut self,
        cloud: &str,
    ) -> Result<Option<quads_api_client::Assignment>, ExecError> {
        if let Some(a) = self.known.get(cloud) {
            return Ok(a.clone());
        }
        let a = match self.client.active_assignment(cloud).await {
            Ok(a) => a,
            // a cloud QUADS does not know holds no assignment
            Err(quads_api_client::Error::NotFound { .. }) => None,
            Err(e) => return Err(server_error(&format!("active assignment of {cloud}"), &e)),
        };
        self.known.insert(cloud.to_owned(), a.clone());
        Ok(a)
    }
}

/// Reads the moves of `selection` from the server and builds a job for each (a host the
/// server marks broken or retired, or the configuration untouchable, is skipped with why).
/// `at` is the run's time (`--date`, else now).
///
/// # Errors
/// [`ExecError::QuadsServer`] when a read fails or answers something unusable.
pub async fn plan_from_server(
    client: &QuadsClient,
    config: &WorkerConfig,
    selection: &Selection,
    at: Timestamp,
) -> Result<ServerPlan, ExecError> {
    let (listed, date, only_cloud, no_wipe) = match selection {
        Selection::Listed { at: date, cloud } => {
            let moves = client
                .moves(date.map(to_quads))
                .await
                .map_err(|e| server_error("GET moves", &e))?;
            let listed = moves
                .into_iter()
                .map(|m| (m.host, m.current, m.new))
                .collect::<Vec<_>>();
            (listed, date.map(to_quads), cloud.clone(), false)
        }
        Selection::One(one) => (
            vec![(
                one.host.to_string(),
                one.current.to_string(),
                one.new.to_string(),
            )],
            None,
            None,
            one.no_wipe,
        ),
    };
    let mut assignments = Assignments {
        client,
        known: BTreeMap::new(),
    };
    let mut out = ServerPlan {
        plan: MovePlan {
            at,
            moves: Vec::new(),
            skipped: Vec::new(),
            in_place: 0,
        },
        jobs: Vec::new(),
        moves: BTreeMap::new(),
        assignments: BTreeMap::new(),
    };
    let listed: Vec<(String, String, String)> = listed
        .into_iter()
        .filter(|(_, _, new)| only_cloud.as_ref().is_none_or(|c| c.as_str() == new))
        .collect();
    // each cloud's active assignment once, then every host's records, a few at a time
    for (_, current, new) in &listed {
        assignments.active(current).await?;
        assignments.active(new).await?;
    }
    let mut facts = read_hosts(client, &listed, &assignments.known, date).await?;
    for (index, (name, current, new)) in listed.into_iter().enumerate() {
        let host_name = HostName::new(name.as_str())
            .map_err(|e| ExecError::QuadsServer(format!("host name {name:?}: {e}")))?;
        let from = cloud_name(&current)?;
        let to = cloud_name(&new)?;
        let Some(HostFacts {
            record,
            nics,
            schedule,
        }) = facts.remove(&index)
        else {
            continue;
        };
        if let Selection::One(_) = selection
            && record.cloud_name() == Some(new.as_str())
        {
            // already recorded there: nothing to do (QUADS may call again after a success)
            out.plan.in_place += 1;
            continue;
        }
        let skip = if config.untouchable.contains(&host_name) {
            Some(SkipReason::Untouchable)
        } else if record.broken {
            Some(SkipReason::Broken)
        } else if record.retired {
            Some(SkipReason::Retired)
        } else {
            None
        };
        if let Some(reason) = skip {
            out.plan.skipped.push(Skipped {
                host: host_name,
                from,
                to: Some(to),
                reason,
            });
            continue;
        }
        let interfaces = interface_records(&host_name, &nics).map_err(ExecError::QuadsServer)?;
        let joining = assignments.active(&new).await?;
        let leaving = assignments.active(&current).await?;
        let assignment = joining
            .as_ref()
            .map(|a| assignment_spec(a, &to, &config.defaults))
            .transpose()
            .map_err(ExecError::QuadsServer)?;
        let leaving_spec = leaving
            .as_ref()
            .map(|a| assignment_spec(a, &from, &config.defaults))
            .transpose()
            .map_err(ExecError::QuadsServer)?;
        let wipe = match &assignment {
            Some(a) if !no_wipe => a.wipe,
            _ => Wipe::No,
        };
        let refs: Vec<&Interface> = interfaces.iter().collect();
        let network = port_moves(
            &host_name,
            &refs,
            leaving_spec.as_ref(),
            assignment.as_ref(),
            config.vlans,
        );
        let assignment_id = joining.as_ref().map(|a| a.id);
        if let Some(a) = &joining {
            out.assignments.insert(to.clone(), (a.id, wipe_of(a)));
        }
        out.plan.moves.push(Move {
            host: host_name.clone(),
            from: from.clone(),
            to: to.clone(),
            wipe,
            assignment: assignment_id.and_then(|id| i64::try_from(id).ok().map(AssignmentId)),
            schedule: schedule.and_then(|id| i64::try_from(id).ok().map(ScheduleId)),
        });
        out.moves.insert(
            host_name.clone(),
            ServerMove {
                from: from.clone(),
                to: to.clone(),
                schedule,
                assignment: assignment_id,
                wipe,
            },
        );
        out.jobs.push(MoveJob {
            host: Host {
                name: host_name.clone(),
                bmc_address: bmc_address(&config.bmc_template, &name, &config.resolve),
                model: record.model.as_deref().map(str::to_lowercase),
                host_type: record.host_type.clone(),
                default_cloud: match record.default_cloud_name() {
                    Some(c) => cloud_name(c)?,
                    None => from.clone(),
                },
                current_cloud: from.clone(),
                state: HostState::Active,
            },
            from,
            to,
            wipe,
            schedule: schedule.and_then(|id| i64::try_from(id).ok().map(ScheduleId)),
            assignment,
            leaving: leaving_spec,
            network,
        });
    }
    Ok(out)
}

/// What the server says about one host of the plan.
struct HostFacts {
    record: quads_api_client::Host,
    nics: Vec<quads_api_client::Interface>,
    /// Its current schedule into the new cloud (when an assignment holds that cloud).
    schedule: Option<u64>,
}

/// How many hosts' records are read at once (QUADS is a Flask application: one worker per
/// request, tens of milliseconds each).
const READS_IN_FLIGHT: usize = 8;

/// Reads every listed host's record, interfaces (when the record has none) and schedule into
/// its new cloud, [`READS_IN_FLIGHT`] hosts at a time; by index in `listed`.
async fn read_hosts(
    client: &QuadsClient,
    listed: &[(String, String, String)],
    assignments: &BTreeMap<String, Option<quads_api_client::Assignment>>,
    date: Option<quads_api_client::Timestamp>,
) -> Result<BTreeMap<usize, HostFacts>, ExecError> {
    let slots = Arc::new(tokio::sync::Semaphore::new(READS_IN_FLIGHT));
    let mut set = tokio::task::JoinSet::new();
    for (index, (name, _, new)) in listed.iter().enumerate() {
        let client = client.clone();
        let slots = slots.clone();
        let (name, new) = (name.clone(), new.clone());
        let joins_tenant = assignments.get(&new).is_some_and(Option::is_some);
        set.spawn(async move {
            let _slot = slots.acquire_owned().await;
            let facts = async {
                let record = client
                    .host(&name)
                    .await
                    .map_err(|e| server_error(&format!("host {name}"), &e))?;
                let nics = if record.interfaces.is_empty() {
                    client
                        .interfaces(&name)
                        .await
                        .map_err(|e| server_error(&format!("interfaces of {name}"), &e))?
                } else {
                    record.interfaces.clone()
                };
                let schedule = if joins_tenant {
                    client
                        .current_schedules(CurrentSchedules {
                            host: Some(name.clone()),
                            cloud: Some(new.clone()),
                            date,
                        })
                        .await
                        .map_err(|e| server_error(&format!("current schedule of {name}"), &e))?
                        .first()
                        .map(|s| s.id)
                } else {
                    None
                };
                Ok::<_, ExecError>(HostFacts {
                    record,
                    nics,
                    schedule,
                })
            }
            .await;
            (index, facts)
        });
    }
    let mut out = BTreeMap::new();
    while let Some(joined) = set.join_next().await {
        let (index, facts) =
            joined.map_err(|e| ExecError::QuadsServer(format!("a read ended abnormally: {e}")))?;
        out.insert(index, facts?);
    }
    Ok(out)
}

fn wipe_of(a: &quads_api_client::Assignment) -> Wipe {
    if a.wipe { Wipe::Yes } else { Wipe::No }
}

/// The ledger of worker mode: the journal in the local store, the record of moves on the QUADS
/// server (see the module's doc for what is written when).
#[derive(Debug)]
pub struct QuadsLedger {
    store: Store,
    client: QuadsClient,
    clock: Arc<dyn Clock>,
    moves: BTreeMap<HostName, ServerMove>,
    ports_moved: bool,
    /// When each host's move began in this run (a no-wipe move's build times).
    began: Mutex<BTreeMap<HostName, Timestamp>>,
    /// Assignments set `validated=false` in this run.
    invalidated: tokio::sync::Mutex<BTreeSet<u64>>,
    /// Retries of the writes no step retries (a move's start, its switch flag).
    policy: RetryPolicy,
    cancel: CancellationToken,
}

impl QuadsLedger {
    /// A ledger for `moves`; `ports_moved`: a switch driver moves ports (so the host's
    /// `switch_config_applied` goes false, then true after its switch-ports step).
    #[must_use]
    pub fn new(
        store: Store,
        client: QuadsClient,
        clock: Arc<dyn Clock>,
        moves: BTreeMap<HostName, ServerMove>,
        ports_moved: bool,
    ) -> Self {
        Self {
            store,
            client,
            clock,
            moves,
            ports_moved,
            began: Mutex::new(BTreeMap::new()),
            invalidated: tokio::sync::Mutex::new(BTreeSet::new()),
            policy: RetryPolicy::once(),
            cancel: CancellationToken::new(),
        }
    }

    /// The same ledger retrying a failed write that may succeed later under `policy` (the
    /// record step's), until `cancel`; the record itself is retried by its step.
    #[must_use]
    pub fn with_retries(mut self, policy: RetryPolicy, cancel: CancellationToken) -> Self {
        self.policy = policy;
        self.cancel = cancel;
        self
    }

    async fn retried<F, Fut>(&self, op: F) -> Result<(), StoreError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<(), StoreError>>,
    {
        let classify = |e: &StoreError| match e {
            StoreError::Remote {
                retryable: true, ..
            } => Retryable::Yes,
            _ => Retryable::No,
        };
        retry(
            &self.policy,
            &self.cancel,
            Idempotency::IdempotentWrite.classify(classify),
            op,
        )
        .await
        .map_err(|e| StoreError::Remote {
            message: e.to_string(),
            retryable: false,
        })
    }

    fn server_move(&self, host: &HostName) -> Result<&ServerMove, StoreError> {
        self.moves.get(host).ok_or_else(|| StoreError::Remote {
            message: format!("host {host} is not one of this run's moves"),
            retryable: false,
        })
    }

    async fn patch_host(&self, host: &HostName, patch: &HostPatch) -> Result<(), StoreError> {
        self.client
            .patch_host_verified(host.as_str(), patch)
            .await
            .map(|_| ())
            .map_err(|e| remote(&format!("PATCH hosts/{host}"), &e))
    }
}

#[async_trait]
impl Ledger for QuadsLedger {
    async fn intent(&self, at: &StepAttempt, details: Details) -> Result<(), StoreError> {
        Ledger::intent(&self.store, at, details).await
    }

    async fn outcome(
        &self,
        at: &StepAttempt,
        outcome: StepOutcome,
        error: Option<String>,
        details: Details,
    ) -> Result<(), StoreError> {
        Ledger::outcome(&self.store, at, outcome, error, details).await
    }

    async fn append_all(&self, rows: Vec<JournalRow>) -> Result<(), StoreError> {
        Ledger::append_all(&self.store, rows).await
    }

    async fn current_cloud(&self, host: &HostName) -> Result<Option<CloudName>, StoreError> {
        let record = self
            .client
            .host(host.as_str())
            .await
            .map_err(|e| remote(&format!("GET hosts/{host}"), &e))?;
        Ok(record.cloud_name().and_then(|c| CloudName::new(c).ok()))
    }

    async fn complete_move(&self, done: CompletedMove) -> Result<(), StoreError> {
        let m = self.server_move(&done.host)?;
        let now = self.clock.now();
        if let Some(id) = m.schedule {
            let began = lock(&self.began).get(&done.host).copied();
            let patch = SchedulePatch {
                build_start: Some(to_quads(done.build_start.or(began).unwrap_or(now))),
                build_end: Some(to_quads(done.build_end.unwrap_or(now))),
                ..SchedulePatch::default()
            };
            self.client
                .patch_schedule_verified(id, &patch)
                .await
                .map_err(|e| remote(&format!("PATCH schedules/{id} of {}", done.host), &e))?;
        }
        self.patch_host(
            &done.host,
            &HostPatch {
                cloud: Some(done.to.to_string()),
                build: Some(true),
                last_build: Some(to_quads(now)),
                validated: Some(false),
                ..HostPatch::default()
            },
        )
        .await
    }

    async fn begin_move(&self, host: &HostName) -> Result<(), StoreError> {
        let m = self.server_move(host)?;
        lock(&self.began)
            .entry(host.clone())
            .or_insert_with(|| self.clock.now());
        let patch = HostPatch {
            switch_config_applied: self.ports_moved.then_some(false),
            build: Some(false),
            ..HostPatch::default()
        };
        self.retried(|_| self.patch_host(host, &patch)).await?;
        if let (Wipe::Yes, Some(id)) = (m.wipe, m.assignment) {
            let mut done = self.invalidated.lock().await;
            if !done.contains(&id) {
                let patch = AssignmentPatch {
                    validated: Some(false),
                    ..AssignmentPatch::default()
                };
                self.retried(|_| async {
                    self.client
                        .patch_assignment_verified(id, &patch)
                        .await
                        .map(|_| ())
                        .map_err(|e| remote(&format!("PATCH assignments/{id} of {}", m.to), &e))
                })
                .await?;
                done.insert(id);
            }
        }
        Ok(())
    }

    async fn switch_ports_applied(&self, host: &HostName) -> Result<(), StoreError> {
        let patch = HostPatch {
            switch_config_applied: Some(true),
            ..HostPatch::default()
        };
        self.retried(|_| self.patch_host(host, &patch)).await
    }
}

/// What a worker run asks for.
#[derive(Debug, Clone)]
pub struct WorkerRequest {
    /// Which moves.
    pub selection: Selection,
    /// How jobs are built.
    pub config: WorkerConfig,
}

/// A whole worker run: takes the local store's run lock, reads the journal of the run it
/// continues, reads the moves from the server, executes them, writes back per host (through
/// [`QuadsLedger`]) and, for the listed form, per cloud (see the module's doc).
///
/// # Errors
/// [`ExecError`] when the run cannot start (another run active, the server unreachable...).
pub async fn move_hosts_from_server(
    store: &Store,
    client: &QuadsClient,
    request: &WorkerRequest,
    setup: RunSetup,
) -> Result<RunReport, ExecError> {
    let at = match &request.selection {
        Selection::Listed { at: Some(at), .. } => *at,
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
    let retirement = Retirement {
        run,
        foreman: setup.ports.foreman.clone(),
        ledger: Arc::new(store.clone()),
        infra_location: setup.infra_location.clone(),
        policy: setup.config.steps.cloud_user.clone(),
    };
    let spare = setup.config.spare_cloud.clone();
    let aborted = setup.shutdown.aborted().clone();
    let mut outcome = async {
        let resume = ResumeState::load(store, run).await?;
        if !resume.runs.is_empty() {
            tracing::info!(runs = ?resume.runs.iter().map(|r| r.0).collect::<Vec<_>>(), "continuing from the journal");
        }
        let mut planned = plan_from_server(client, &request.config, &request.selection, at).await?;
        let jobs = std::mem::take(&mut planned.jobs);
        for s in &planned.plan.skipped {
            tracing::warn!(host = %s.host, reason = %s.reason, "not moved");
        }
        let ledger = Arc::new(
            QuadsLedger::new(
                store.clone(),
                client.clone(),
                setup.ports.clock.clone(),
                planned.moves.clone(),
                setup.ports.switches.is_some(),
            )
            .with_retries(setup.config.steps.record.clone(), aborted.clone()),
        );
        let mut report = execute(
            Execution {
                run,
                config: setup.config,
                infra_location: setup.infra_location,
                ports: setup.ports,
                ledger,
                limits: setup.limits,
                shutdown: setup.shutdown,
                resume,
                target_time: at,
                progress: setup.progress,
            },
            jobs,
        )
        .await;
        if report.interrupted {
            return Ok(report);
        }
        if let Selection::Listed { at: date, .. } = &request.selection {
            let date = date.map(to_quads);
            let left =
                finish_clouds(client, &planned, date, &spare, &request.config, &mut report).await;
            if !left.is_empty() {
                report.retired_clouds = retire_clouds(&retirement, left, &aborted)
                    .await
                    .into_iter()
                    .map(|c| c.to_string())
                    .collect();
            }
        }
        Ok::<RunReport, ExecError>(report)
    }
    .await;
    crate::executor::sessions::close_at_end(store, &sessions_fleet, end_of_run, &mut outcome).await;
    let state = match &outcome {
        Ok(r) if r.interrupted => RunState::Interrupted,
        Ok(r) if r.all_moved() && r.write_back_errors.is_empty() => RunState::Succeeded,
        _ => RunState::Failed,
    };
    store.finish_run(lock, state).await?;
    outcome
}

/// The end-of-run writes (4 in the module's doc); returns the clouds whose tenant is out. A
/// write that fails is logged and put in the report (`write_back_errors`); the others go on.
async fn finish_clouds(
    client: &QuadsClient,
    planned: &ServerPlan,
    date: Option<quads_api_client::Timestamp>,
    spare: &str,
    config: &WorkerConfig,
    report: &mut RunReport,
) -> Vec<CloudLeft> {
    let mut errors = Vec::new();
    let mut left = Vec::new();
    match client.moves(date).await {
        Ok(remaining) => {
            for (cloud, (id, wipe)) in &planned.assignments {
                if remaining.iter().any(|m| m.new == cloud.as_str()) {
                    continue;
                }
                let patch = AssignmentPatch {
                    provisioned: Some(true),
                    validated: Some(*wipe == Wipe::No),
                    ..AssignmentPatch::default()
                };
                match client.patch_assignment_verified(*id, &patch).await {
                    Ok(_) => report.provisioned_clouds.push(cloud.to_string()),
                    Err(e) => errors.push(format!("PATCH assignments/{id} of {cloud}: {e}")),
                }
            }
        }
        Err(e) => errors.push(format!("GET moves after the run: {e}")),
    }
    let moved: BTreeSet<&str> = report
        .hosts
        .iter()
        .filter(|h| h.status == super::report::HostStatus::Moved)
        .map(|h| h.host.as_str())
        .collect();
    let from: BTreeSet<&CloudName> = planned
        .moves
        .iter()
        .filter(|(host, _)| moved.contains(host.as_str()))
        .map(|(_, m)| &m.from)
        .filter(|c| c.as_str() != spare)
        .collect();
    for cloud in from {
        match end_assignment(client, cloud, date, config).await {
            Ok(Some(ended)) => left.push(ended),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    for e in &errors {
        tracing::error!(error = %e, "QUADS write-back failed");
    }
    report.write_back_errors.extend(errors);
    left
}

/// Ends the active assignment of `cloud` (`active=false`) when no current schedule holds it.
async fn end_assignment(
    client: &QuadsClient,
    cloud: &CloudName,
    date: Option<quads_api_client::Timestamp>,
    config: &WorkerConfig,
) -> Result<Option<CloudLeft>, String> {
    let held = client
        .current_schedules(CurrentSchedules {
            host: None,
            cloud: Some(cloud.to_string()),
            date,
        })
        .await
        .map_err(|e| format!("current schedules of {cloud}: {e}"))?;
    if !held.is_empty() {
        return Ok(None);
    }
    let active = match client.active_assignment(cloud.as_str()).await {
        Ok(a) => a,
        Err(quads_api_client::Error::NotFound { .. }) => None,
        Err(e) => return Err(format!("active assignment of {cloud}: {e}")),
    };
    let Some(a) = active else {
        return Ok(None);
    };
    let patch = AssignmentPatch {
        active: Some(false),
        ..AssignmentPatch::default()
    };
    client
        .patch_assignment_verified(a.id, &patch)
        .await
        .map_err(|e| format!("PATCH assignments/{} of {cloud}: {e}", a.id))?;
    tracing::info!(cloud = %cloud, assignment = a.id, "assignment ended: no schedule holds the cloud");
    Ok(Some(CloudLeft {
        cloud: cloud.clone(),
        last: assignment_spec(&a, cloud, &config.defaults).ok(),
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_hosts_file_maps_names_and_refuses_a_bad_address() {
        let file = HostsFile::parse(
            "# lab BMCs\n127.0.1.2 mgmt-h1.example.com mgmt-h1 # alias\n\n::1 mgmt-six\n",
        )
        .unwrap();
        assert_eq!(file.len(), 3);
        assert_eq!(
            file.lookup("MGMT-H1.example.com"),
            Some("127.0.1.2".parse().unwrap())
        );
        let err = HostsFile::parse("a\nnot-an-ip name\n").unwrap_err();
        assert!(err.contains("line 1"), "{err}");
        assert!(
            HostsFile::parse("127.0.0.1\n")
                .unwrap_err()
                .contains("names no host")
        );
    }

    #[test]
    fn the_bmc_address_comes_from_the_template_and_the_resolve_file() {
        let file = HostsFile::parse("127.0.3.4 mgmt-h1.example.com\n::1 mgmt-h6\n").unwrap();
        assert_eq!(
            bmc_address("mgmt-{host}:8443", "h1.example.com", &file),
            "127.0.3.4:8443"
        );
        assert_eq!(
            bmc_address(DEFAULT_BMC_TEMPLATE, "h1.example.com", &file),
            "127.0.3.4"
        );
        assert_eq!(bmc_address("mgmt-{host}:443", "h6", &file), "[::1]:443");
        // a name the file does not map is left to the resolver
        assert_eq!(
            bmc_address(DEFAULT_BMC_TEMPLATE, "h2.example.com", &file),
            "mgmt-h2.example.com"
        );
    }

    fn quads_assignment(json: &str) -> quads_api_client::Assignment {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn an_assignment_takes_the_build_defaults_and_its_network_layout() {
        let a = quads_assignment(
            r#"{"id": 2, "active": true, "ticket": "1003", "owner": "tenant03", "wipe": false,
                "qinq": 1, "vlan": {"id": 1, "vlan_id": 601}}"#,
        );
        let defaults = BuildDefaults {
            os: Some("RedHat 9.4".to_owned()),
            partition_table: Some("Kickstart default".to_owned()),
            medium: None,
        };
        let cloud = CloudName::new("cloud03").unwrap();
        let spec = assignment_spec(&a, &cloud, &defaults).unwrap();
        assert_eq!(
            (
                spec.ticket.as_str(),
                spec.owner.as_str(),
                spec.wipe,
                spec.qinq
            ),
            ("1003", "tenant03", Wipe::No, QinQ::Combined)
        );
        assert_eq!(spec.public_vlan, Some(VlanId::new(601).unwrap()));
        assert_eq!(spec.os.as_deref(), Some("RedHat 9.4"));
        assert_eq!(spec.medium, None);
        let plain = quads_assignment(r#"{"id": 1, "wipe": true, "qinq": null}"#);
        let spec = assignment_spec(&plain, &cloud, &defaults).unwrap();
        assert_eq!(
            (spec.wipe, spec.qinq, spec.public_vlan),
            (Wipe::Yes, QinQ::Separated, None)
        );
    }

    #[test]
    fn interfaces_become_records_with_speeds_in_gigabits() {
        let nics: Vec<quads_api_client::Interface> = serde_json::from_str(
            r#"[{"id": 1, "name": "em1", "mac_address": "52:54:00:AB:CD:EF", "switch_ip": "127.1.0.1",
                 "switch_port": "xe-0/0/1:0", "speed": 25000, "pxe_boot": true},
                {"id": 2, "name": "em2", "mac_address": "bogus", "switch_port": "xe-0/0/2:0",
                 "maintenance": true}]"#,
        )
        .unwrap();
        let host = HostName::new("h1.example.com").unwrap();
        let records = interface_records(&host, &nics).unwrap();
        assert_eq!(records[0].speed, Some(25));
        assert_eq!(
            records[0].mac_address.as_ref().map(MacAddress::as_str),
            Some("52:54:00:ab:cd:ef")
        );
        assert!(records[0].pxe_boot && !records[0].maintenance);
        assert_eq!(records[1].mac_address, None);
        assert!(records[1].maintenance);
        assert_eq!(records[1].switch_ip, "");
    }
}
