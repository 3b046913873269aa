//! Unit tests of the step machine against in-memory fakes under a paused tokio clock: every
//! host moves with one power cycle, failures stay isolated, a stop interrupts cleanly and a new
//! run continues from the journal without repeating a verified power cycle; 10,000 hosts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::cloud::tenant_password;
use super::ports::Ledger;
use super::ports::{
    BmcFleet, BmcPort, BootOrderChange, BootOrders, BootProgress, BuildIds, CloudUser,
    CloudUserSpec, ForemanHost, ForemanPort, HostSettings, PortError, Power, RetiredUser,
    RetiredUserSpec,
};
use super::progress::RunProgress;
use super::report::HostStatus;
use super::resume::TO;
use super::run::{Execution, MoveJob, Ports, execute};
use super::{ExecutorConfig, MemoryLedger, RunReport};
use crate::config::Secret;
use crate::journal::{Details, JournalRow, StepAttempt};
use crate::limits::{Limits, RateConfig};
use crate::model::{
    AssignmentSpec, BootType, CloudName, Host, HostName, HostState, RunId, Step, StepOutcome,
    Subject, Wipe,
};
use crate::retry::{Jitter, RetryPolicy};
use crate::shutdown::Shutdown;
use crate::store::{CompletedMove, StoreError};
use crate::time::{Clock, Timestamp, TokioClock};

const WANTED: [&str; 2] = ["NIC.Integrated.1-1-1", "HardDisk.List.1-1"];
const OTHER: [&str; 2] = ["NIC.Integrated.1-2-1", "HardDisk.List.1-1"];
/// The Foreman id of the user the run signs in as (the spare pool's owner by default).
const ADMIN: u64 = 1;
/// What a revoked account's password is in the fake (nobody's).
const REVOKED: &str = "(revoked)";

#[derive(Debug, Default)]
struct Machine {
    power_on: bool,
    order: Vec<String>,
    pending_order: Option<Vec<String>>,
    pxe: bool,
    installing_until: Option<Instant>,
    account: Option<String>,
    /// A BMC that answers a revocation but keeps the old password.
    sticky_account: bool,
    cycles: u32,
    power_ons: u32,
    installs: u32,
    dead: bool,
}

/// Foreman and the BMCs of a fake lab, sharing one state.
#[derive(Debug)]
struct Lab {
    machines: Mutex<HashMap<String, Machine>>,
    hosts: Mutex<HashMap<String, ForemanHost>>,
    users: Mutex<BTreeMap<String, u64>>,
    /// Cloud users retired (disabled, password rotated).
    retired: Mutex<BTreeSet<String>>,
    user_ensures: AtomicU64,
    polls: AtomicU64,
    /// Logins tried by `login_works`, per host.
    login_probes: Mutex<BTreeMap<String, u32>>,
    host_writes_in_flight: Mutex<HashMap<u64, u32>>,
    overlapping_writes: AtomicU64,
    install: Duration,
    latency: Duration,
}

impl Lab {
    fn new(names: &[String], dead: &[usize]) -> Arc<Self> {
        let mut machines = HashMap::new();
        let mut hosts = HashMap::new();
        for (i, n) in names.iter().enumerate() {
            let order = if i % 3 == 0 { &OTHER } else { &WANTED };
            machines.insert(
                n.clone(),
                Machine {
                    power_on: i % 10 != 0,
                    order: order.map(str::to_owned).to_vec(),
                    dead: dead.contains(&i),
                    ..Machine::default()
                },
            );
            hosts.insert(
                n.clone(),
                ForemanHost {
                    id: i as u64 + 1,
                    ..ForemanHost::default()
                },
            );
        }
        Arc::new(Self {
            machines: Mutex::new(machines),
            hosts: Mutex::new(hosts),
            users: Mutex::new(BTreeMap::new()),
            retired: Mutex::new(BTreeSet::new()),
            login_probes: Mutex::new(BTreeMap::new()),
            user_ensures: AtomicU64::new(0),
            polls: AtomicU64::new(0),
            host_writes_in_flight: Mutex::new(HashMap::new()),
            overlapping_writes: AtomicU64::new(0),
            install: Duration::from_secs(600),
            latency: Duration::from_millis(200),
        })
    }

    /// Moves the installs of `only` (or of every host) forward to now.
    fn advance(&self, only: Option<&str>) {
        let now = Instant::now();
        let mut machines = self.machines.lock().unwrap();
        let mut hosts = self.hosts.lock().unwrap();
        let mut finish = |name: &str, m: &mut Machine| {
            if m.installing_until.is_some_and(|t| t <= now) {
                m.installing_until = None;
                m.installs += 1;
                if let Some(h) = hosts.get_mut(name) {
                    h.build = false;
                }
            }
        };
        match only {
            Some(name) => {
                if let Some(m) = machines.get_mut(name) {
                    finish(name, m);
                }
            }
            None => {
                for (name, m) in machines.iter_mut() {
                    finish(name, m);
                }
            }
        }
    }

    fn machine<T>(&self, name: &str, f: impl FnOnce(&mut Machine) -> T) -> Result<T, PortError> {
        let mut machines = self.machines.lock().unwrap();
        let m = machines.get_mut(name).unwrap();
        if m.dead {
            return Err(PortError::retryable(format!("{name}: connection refused")));
        }
        Ok(f(m))
    }
}

#[async_trait]
impl ForemanPort for Lab {
    async fn ensure_cloud_user(&self, spec: &CloudUserSpec) -> Result<CloudUser, PortError> {
        tokio::time::sleep(self.latency * 5).await;
        self.user_ensures.fetch_add(1, Ordering::SeqCst);
        let mut users = self.users.lock().unwrap();
        let next = users.len() as u64 + 100;
        let id = *users.entry(spec.login.clone()).or_insert(next);
        Ok(CloudUser {
            user_id: id,
            changed: true,
        })
    }

    async fn retire_cloud_user(&self, spec: &RetiredUserSpec) -> Result<RetiredUser, PortError> {
        tokio::time::sleep(self.latency).await;
        if !self.users.lock().unwrap().contains_key(&spec.login) {
            return Ok(RetiredUser::Absent);
        }
        Ok(if self.retired.lock().unwrap().insert(spec.login.clone()) {
            RetiredUser::Retired
        } else {
            RetiredUser::AlreadyRetired
        })
    }

    async fn user_id(&self, login: Option<&str>) -> Result<u64, PortError> {
        tokio::time::sleep(self.latency).await;
        match login {
            None => Ok(ADMIN),
            Some(login) => self
                .users
                .lock()
                .unwrap()
                .get(login)
                .copied()
                .ok_or_else(|| PortError::fatal(format!("foreman has no user {login}"))),
        }
    }

    async fn host(&self, name: &HostName) -> Result<ForemanHost, PortError> {
        tokio::time::sleep(self.latency).await;
        self.advance(Some(name.as_str()));
        self.hosts
            .lock()
            .unwrap()
            .get(name.as_str())
            .cloned()
            .ok_or_else(|| PortError::fatal(format!("host {name} is not in Foreman")))
    }

    async fn resolve(&self, os: &str, _ptable: &str, _medium: &str) -> Result<BuildIds, PortError> {
        if os != "RedHat 9.4" {
            return Err(PortError::fatal(format!(
                "operating system {os:?} not found in Foreman"
            )));
        }
        Ok(BuildIds {
            os_id: 1,
            ptable_id: 2,
            medium_id: 3,
        })
    }

    async fn update_host(
        &self,
        current: &ForemanHost,
        settings: &HostSettings,
        parameters: &[(&str, &str)],
    ) -> Result<ForemanHost, PortError> {
        let s = *settings;
        let parameters: Vec<(String, String)> = parameters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.write(current.id, move |h| {
            h.build = true;
            h.os_id = Some(s.build.os_id);
            h.ptable_id = Some(s.build.ptable_id);
            h.medium_id = Some(s.build.medium_id);
            h.owner_user = Some(s.owner_user);
            h.parameters.extend(parameters);
        })
        .await;
        let name = format!("h{:05}.lab.example", current.id - 1);
        Ok(self.hosts.lock().unwrap()[&name].clone())
    }

    async fn set_owner(
        &self,
        current: &ForemanHost,
        owner_user: u64,
    ) -> Result<ForemanHost, PortError> {
        self.write(current.id, move |h| h.owner_user = Some(owner_user))
            .await;
        let name = format!("h{:05}.lab.example", current.id - 1);
        Ok(self.hosts.lock().unwrap()[&name].clone())
    }

    async fn building_hosts(&self) -> Result<BTreeSet<String>, PortError> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.latency).await;
        self.advance(None);
        Ok(self
            .hosts
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, h)| h.build)
            .map(|(n, _)| n.clone())
            .collect())
    }
}

impl Lab {
    async fn write(&self, host_id: u64, f: impl FnOnce(&mut ForemanHost)) {
        {
            let mut in_flight = self.host_writes_in_flight.lock().unwrap();
            let n = in_flight.entry(host_id).or_default();
            if *n > 0 {
                self.overlapping_writes.fetch_add(1, Ordering::SeqCst);
            }
            *n += 1;
        }
        tokio::time::sleep(self.latency).await;
        let name = format!("h{:05}.lab.example", host_id - 1);
        if let Some(h) = self.hosts.lock().unwrap().get_mut(&name) {
            f(h);
        }
        *self
            .host_writes_in_flight
            .lock()
            .unwrap()
            .get_mut(&host_id)
            .unwrap() -= 1;
    }
}

#[derive(Debug)]
struct FakeBmc {
    lab: Arc<Lab>,
    host: String,
    /// Sessions open on the fleet's BMCs: this handle's counts while it is logged in.
    open: Arc<AtomicU64>,
    logged_in: std::sync::atomic::AtomicBool,
}

impl FakeBmc {
    /// One request to this host's machine: as with the real handle, one that reaches a BMC
    /// without a session logs in first (a dead BMC opens none).
    fn machine<T>(&self, f: impl FnOnce(&mut Machine) -> T) -> Result<T, PortError> {
        let answer = self.lab.machine(&self.host, f)?;
        if !self.logged_in.swap(true, Ordering::SeqCst) {
            self.open.fetch_add(1, Ordering::SeqCst);
        }
        Ok(answer)
    }
}

#[async_trait]
impl BmcPort for FakeBmc {
    fn name(&self) -> &str {
        &self.host
    }

    async fn login_works(&self, user: &str, password: &Secret) -> Result<bool, PortError> {
        tokio::time::sleep(self.lab.latency).await;
        *self
            .lab
            .login_probes
            .lock()
            .unwrap()
            .entry(self.host.clone())
            .or_default() += 1;
        let want = format!("{user}:{}", password.expose());
        self.machine(|m| m.account.as_deref() == Some(want.as_str()))
    }

    async fn set_account(
        &self,
        user: &str,
        password: &Secret,
        _role: &str,
    ) -> Result<(), PortError> {
        tokio::time::sleep(self.lab.latency).await;
        let value = format!("{user}:{}", password.expose());
        self.machine(|m| m.account = Some(value))
    }

    async fn revoke_account(&self, user: &str) -> Result<bool, PortError> {
        tokio::time::sleep(self.lab.latency).await;
        let prefix = format!("{user}:");
        self.machine(|m| {
            let found = m.account.as_deref().is_some_and(|a| a.starts_with(&prefix));
            if found && !m.sticky_account {
                m.account = Some(format!("{prefix}{REVOKED}"));
            }
            found
        })
    }

    async fn boot_order(&self) -> Result<Vec<String>, PortError> {
        tokio::time::sleep(self.lab.latency).await;
        self.machine(|m| m.order.clone())
    }

    async fn set_boot_order(
        &self,
        devices: &[String],
        _cancel: &CancellationToken,
    ) -> Result<BootOrderChange, PortError> {
        tokio::time::sleep(self.lab.latency * 3).await;
        self.machine(|m| {
            if m.order.starts_with(devices) {
                return BootOrderChange::Unchanged;
            }
            m.pending_order = Some(devices.to_vec());
            BootOrderChange::Pending {
                job: Some("JID_1".into()),
            }
        })
    }

    async fn pxe_once(&self) -> Result<(), PortError> {
        tokio::time::sleep(self.lab.latency).await;
        self.machine(|m| m.pxe = true)
    }

    async fn power(&self) -> Result<Power, PortError> {
        tokio::time::sleep(self.lab.latency).await;
        self.lab.advance(Some(&self.host));
        self.machine(|m| if m.power_on { Power::On } else { Power::Off })
    }

    async fn force_off(&self, _cancel: &CancellationToken) -> Result<Power, PortError> {
        tokio::time::sleep(self.lab.latency * 10).await;
        self.machine(|m| {
            let before = if m.power_on {
                m.cycles += 1;
                Power::On
            } else {
                Power::Off
            };
            m.power_on = false;
            m.installing_until = None;
            before
        })
    }

    async fn power_on(&self, _cancel: &CancellationToken) -> Result<(), PortError> {
        tokio::time::sleep(self.lab.latency * 10).await;
        let build = self
            .lab
            .hosts
            .lock()
            .unwrap()
            .get(&self.host)
            .is_some_and(|h| h.build);
        let install = self.lab.install;
        self.machine(|m| {
            if m.power_on {
                return;
            }
            m.power_on = true;
            m.power_ons += 1;
            if let Some(order) = m.pending_order.take() {
                m.order = order;
            }
            let pxe = std::mem::take(&mut m.pxe);
            if pxe && build && m.order.first().map(String::as_str) == Some(WANTED[0]) {
                m.installing_until = Some(Instant::now() + install);
            }
        })
    }

    async fn boot_progress(&self) -> Result<BootProgress, PortError> {
        // the fake's hosts boot an OS (the installer, or the disk's) whenever they are on
        self.machine(|m| {
            if m.power_on {
                BootProgress::OsStarted
            } else {
                BootProgress::NoOs("None".to_owned())
            }
        })
    }

    async fn close(&self) {
        if self.logged_in.swap(false, Ordering::SeqCst) {
            self.open.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

#[derive(Debug)]
struct Fleet {
    lab: Arc<Lab>,
    open: Arc<AtomicU64>,
}

#[async_trait]
impl BmcFleet for Fleet {
    fn connect(&self, host: &Host) -> Result<Arc<dyn BmcPort>, PortError> {
        Ok(Arc::new(FakeBmc {
            lab: self.lab.clone(),
            host: host.name.to_string(),
            open: self.open.clone(),
            logged_in: std::sync::atomic::AtomicBool::new(false),
        }))
    }

    async fn close_all(&self) -> usize {
        0
    }
}

#[derive(Debug)]
struct Orders;

impl BootOrders for Orders {
    fn provisioning_order(&self, _host: &Host) -> Result<Vec<String>, String> {
        Ok(WANTED.map(str::to_owned).to_vec())
    }
}

/// Outcome entries of `step` for `host` with `outcome` in the ledger's journal.
fn count(ledger: &MemoryLedger, host: &str, step: &str, outcome: StepOutcome) -> usize {
    ledger.with_entries(|entries| {
        entries
            .iter()
            .filter(|e| {
                e.subject.to_string() == format!("host {host}")
                    && e.step.to_word() == step
                    && e.outcome == Some(outcome)
            })
            .count()
    })
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("h{i:05}.lab.example")).collect()
}

fn jobs(names: &[String], os: &str) -> Vec<MoveJob> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let to = CloudName::new(format!("cloud{:02}", 2 + i % 3)).unwrap();
            MoveJob {
                host: Host {
                    name: HostName::new(n.as_str()).unwrap(),
                    bmc_address: format!("127.0.9.{}", i % 250 + 1),
                    model: None,
                    host_type: None,
                    default_cloud: CloudName::new("cloud01").unwrap(),
                    current_cloud: CloudName::new("cloud01").unwrap(),
                    state: HostState::Active,
                },
                from: CloudName::new("cloud01").unwrap(),
                assignment: Some(AssignmentSpec {
                    cloud: to.clone(),
                    ticket: format!("T{}", 2 + i % 3),
                    owner: "alice".into(),
                    description: String::new(),
                    wipe: Wipe::Yes,
                    os: Some(os.into()),
                    partition_table: Some("Kickstart default".into()),
                    medium: Some("RHEL 9 mirror".into()),
                    boot_type: BootType::Uefi,
                    qinq: crate::model::QinQ::Separated,
                    public_vlan: None,
                }),
                to,
                wipe: Wipe::Yes,
                schedule: None,
                leaving: None,
                network: crate::network::NetworkPlan::default(),
            }
        })
        .collect()
}

fn fast(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts: attempts,
        base: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
        jitter: Jitter::None,
        attempt_timeout: Some(Duration::from_secs(120)),
        step_deadline: None,
        ..RetryPolicy::default()
    }
}

fn config(hosts_in_flight: usize) -> ExecutorConfig {
    let mut c = ExecutorConfig::default();
    c.limits.hosts_in_flight = hosts_in_flight;
    c.limits.power_on_rate = RateConfig {
        per_second: 50.0,
        burst: 50,
    };
    c.poll_interval = Duration::from_secs(10);
    c.install_timeout = Duration::from_secs(1800);
    c.grace = Duration::from_secs(5);
    for p in [
        &mut c.steps.bmc_account,
        &mut c.steps.boot_order,
        &mut c.steps.foreman_host,
        &mut c.steps.network_boot,
        &mut c.steps.record,
        &mut c.steps.cloud_user,
    ] {
        *p = fast(3);
    }
    c
}

struct Rig {
    lab: Arc<Lab>,
    ledger: Arc<MemoryLedger>,
    open: Arc<AtomicU64>,
    switches: Option<Arc<super::switches::fake::FakeSwitches>>,
}

impl Rig {
    fn new(n: usize, dead: &[usize]) -> (Self, Vec<String>) {
        let names = names(n);
        (
            Self {
                lab: Lab::new(&names, dead),
                ledger: Arc::new(MemoryLedger::new()),
                open: Arc::new(AtomicU64::new(0)),
                switches: None,
            },
            names,
        )
    }

    async fn run(
        &self,
        run: i64,
        config: ExecutorConfig,
        jobs: Vec<MoveJob>,
        shutdown: Shutdown,
    ) -> RunReport {
        self.run_watched(run, config, jobs, shutdown, RunProgress::new())
            .await
    }

    /// As `run`, counting into `progress`.
    async fn run_watched(
        &self,
        run: i64,
        config: ExecutorConfig,
        jobs: Vec<MoveJob>,
        shutdown: Shutdown,
        progress: RunProgress,
    ) -> RunReport {
        self.run_on(run, config, jobs, shutdown, progress, self.ledger.clone())
            .await
    }

    /// As `run_watched`, journaling through `ledger` (resuming from the rig's own ledger).
    async fn run_on(
        &self,
        run: i64,
        config: ExecutorConfig,
        jobs: Vec<MoveJob>,
        shutdown: Shutdown,
        progress: RunProgress,
        ledger: Arc<dyn Ledger>,
    ) -> RunReport {
        let resume = self.ledger.resume_state();
        let clock: Arc<dyn Clock> = Arc::new(TokioClock::starting_at(
            "2025-01-01".parse::<Timestamp>().unwrap(),
        ));
        execute(
            Execution {
                run: RunId(run),
                limits: Limits::new(&config.limits).unwrap(),
                config,
                infra_location: "lab".into(),
                ports: Ports {
                    foreman: self.lab.clone(),
                    fleet: Arc::new(Fleet {
                        lab: self.lab.clone(),
                        open: self.open.clone(),
                    }),
                    boot_orders: Arc::new(Orders),
                    clock,
                    switches: self
                        .switches
                        .clone()
                        .map(|s| s as Arc<dyn super::ports::SwitchPort>),
                },
                ledger,
                shutdown,
                resume,
                target_time: "2025-01-01".parse().unwrap(),
                progress,
            },
            jobs,
        )
        .await
    }
}

#[tokio::test(start_paused = true)]
async fn every_host_moves_with_one_power_cycle_and_shared_polls() {
    let (rig, names) = Rig::new(60, &[]);
    let started = Instant::now();
    let report = rig
        .run(
            1,
            config(512),
            jobs(&names, "RedHat 9.4"),
            Shutdown::new(Duration::from_secs(5)),
        )
        .await;
    assert_eq!(
        report.counts.moved,
        60,
        "{:#?}",
        report.hosts.iter().find(|h| h.status != HostStatus::Moved)
    );
    let machines = rig.lab.machines.lock().unwrap();
    for (name, m) in machines.iter() {
        assert_eq!(m.power_ons, 1, "{name}");
        assert!(m.cycles <= 1, "{name}");
        assert_eq!(m.installs, 1, "{name}");
        assert_eq!(
            m.account.as_deref().map(|a| a.starts_with("quads:lab@T")),
            Some(true)
        );
    }
    // one cloud setup per cloud, no overlapping writes, every session closed
    assert_eq!(rig.lab.user_ensures.load(Ordering::SeqCst), 3);
    assert_eq!(rig.lab.overlapping_writes.load(Ordering::SeqCst), 0);
    assert_eq!(rig.open.load(Ordering::SeqCst), 0);
    // one poll per interval while hosts install, not one per host
    let polls = rig.lab.polls.load(Ordering::SeqCst);
    let intervals = started.elapsed().as_secs() / 10 + 1;
    assert!(polls <= intervals, "{polls} polls in {intervals} intervals");
    assert_eq!(report.install_polls, polls);
    // the install took 600 s; all hosts went at once, so the run took little more than one
    assert!(
        started.elapsed() < Duration::from_secs(700),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(rig.ledger.clouds().len(), 60);
    assert_eq!(rig.ledger.moves().len(), 60);
}

#[tokio::test(start_paused = true)]
async fn a_dead_bmc_and_an_unknown_os_fail_alone_with_clear_reasons() {
    let (rig, names) = Rig::new(12, &[4]);
    let mut all = jobs(&names, "RedHat 9.4");
    // host 7 asks for an OS Foreman does not have
    all[7].assignment.as_mut().unwrap().os = Some("RedHat 10".into());
    all[7].assignment.as_mut().unwrap().cloud = CloudName::new("cloud09").unwrap();
    all[7].to = CloudName::new("cloud09").unwrap();
    // host 9 is unknown to Foreman
    rig.lab.hosts.lock().unwrap().remove(&names[9]);
    let report = rig
        .run(1, config(512), all, Shutdown::new(Duration::from_secs(5)))
        .await;
    assert_eq!(report.counts.moved, 9);
    let unknown = &report.hosts[9];
    assert_eq!(unknown.failed_step.as_deref(), Some("foreman-host"));
    assert!(
        unknown.error.as_deref().unwrap().contains("not in Foreman"),
        "{unknown:?}"
    );
    let machines = rig.lab.machines.lock().unwrap();
    assert_eq!(
        machines[&names[9]].power_ons, 0,
        "no power action without Foreman ready"
    );
    drop(machines);
    let dead = &report.hosts[4];
    assert_eq!(dead.status, HostStatus::Failed);
    assert_eq!(dead.failed_step.as_deref(), Some("bmc-account"));
    assert_eq!(dead.attempts, 3);
    assert!(
        dead.error
            .as_deref()
            .unwrap()
            .contains("connection refused"),
        "{dead:?}"
    );
    let os = &report.hosts[7];
    assert_eq!(os.failed_step.as_deref(), Some("foreman-host"));
    assert!(os.error.as_deref().unwrap().contains("RedHat 10"), "{os:?}");
    assert_eq!(os.attempts, 1, "a final error is not retried");
    assert!(
        rig.ledger
            .cloud_of(&HostName::new(names[4].as_str()).unwrap())
            .is_none()
    );
    // nothing leaks, even for the failed hosts
    assert_eq!(rig.open.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn a_stop_interrupts_and_the_next_run_continues_without_a_second_cycle() {
    let (rig, names) = Rig::new(40, &[]);
    let mut c = config(16);
    c.limits.power_on_rate = RateConfig {
        per_second: 1.0,
        burst: 1,
    };
    let shutdown = Shutdown::new(Duration::from_secs(5));
    let stopper = {
        let s = shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(30)).await;
            s.stop_starting();
        })
    };
    let first = rig
        .run(1, c.clone(), jobs(&names, "RedHat 9.4"), shutdown)
        .await;
    stopper.await.unwrap();
    assert!(first.interrupted);
    assert!(first.counts.interrupted > 0, "{:?}", first.counts);
    assert_eq!(first.counts.failed, 0);
    let cycled_before: BTreeMap<String, u32> = rig
        .lab
        .machines
        .lock()
        .unwrap()
        .iter()
        .map(|(n, m)| (n.clone(), m.power_ons))
        .collect();
    assert!(
        cycled_before.values().any(|&n| n == 1),
        "some hosts were power-cycled"
    );
    assert_eq!(
        rig.open.load(Ordering::SeqCst),
        0,
        "sessions closed on stop"
    );

    let second = rig
        .run(
            2,
            config(512),
            jobs(&names, "RedHat 9.4"),
            Shutdown::new(Duration::from_secs(5)),
        )
        .await;
    assert_eq!(second.counts.moved, 40, "{:?}", second.counts);
    for (name, m) in rig.lab.machines.lock().unwrap().iter() {
        assert_eq!(m.power_ons, 1, "{name} was powered on twice");
        assert_eq!(m.installs, 1, "{name}");
        let verified = count(&rig.ledger, name, "network-boot", StepOutcome::Verified)
            + count(&rig.ledger, name, "network-boot", StepOutcome::AlreadyDone);
        assert_eq!(verified, 1, "{name}: the journal tells of one network boot");
    }
    // hosts cycled in the first run report it as done before
    let resumed = second
        .hosts
        .iter()
        .filter(|h| {
            h.steps
                .iter()
                .any(|s| s.step == "network-boot" && s.outcome == "done-before")
        })
        .count();
    assert!(resumed > 0);
}

#[tokio::test(start_paused = true)]
async fn only_an_account_step_left_open_by_an_earlier_run_probes_the_login() {
    let (rig, names) = Rig::new(3, &[]);
    let all = jobs(&names, "RedHat 9.4");
    // run 1 journaled the account intent of hosts 0 and 1, then stopped; host 0's password
    // was set before the stop, host 1's was not
    for (i, job) in all.iter().enumerate().take(2) {
        let at = StepAttempt {
            run: RunId(1),
            subject: Subject::Host(job.host.name.clone()),
            step: Step::BmcAccount,
            attempt: 1,
        };
        rig.ledger
            .intent(&at, Details::new().with(TO, job.to.as_str()))
            .await
            .unwrap();
        if i == 0 {
            let password = tenant_password("lab", job.assignment.as_ref().unwrap());
            let account = format!(
                "{}:{}",
                ExecutorConfig::default().tenant_bmc_user,
                password.expose()
            );
            rig.lab
                .machine(&names[0], |m| m.account = Some(account))
                .unwrap();
        }
    }
    let report = rig
        .run(2, config(16), all, Shutdown::new(Duration::from_secs(5)))
        .await;
    assert_eq!(report.counts.moved, 3, "{:?}", report.counts);
    let probes = rig.lab.login_probes.lock().unwrap().clone();
    assert_eq!(probes.get(&names[0]), Some(&1), "{probes:?}");
    assert_eq!(probes.get(&names[1]), Some(&1), "{probes:?}");
    assert_eq!(
        probes.get(&names[2]),
        None,
        "a fresh host is not probed: {probes:?}"
    );
    assert_eq!(
        count(
            &rig.ledger,
            &names[0],
            "bmc-account",
            StepOutcome::AlreadyDone
        ),
        1
    );
    assert_eq!(
        count(&rig.ledger, &names[1], "bmc-account", StepOutcome::Verified),
        1
    );
    assert_eq!(
        count(&rig.ledger, &names[2], "bmc-account", StepOutcome::Verified),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_hosts_complete_in_virtual_time() {
    let (rig, names) = Rig::new(10_000, &[]);
    let mut c = config(2_000);
    c.limits.power_on_rate = RateConfig {
        per_second: 20.0,
        burst: 20,
    };
    let started = Instant::now();
    let report = rig
        .run(
            1,
            c,
            jobs(&names, "RedHat 9.4"),
            Shutdown::new(Duration::from_secs(5)),
        )
        .await;
    assert_eq!(report.counts.moved, 10_000);
    assert_eq!(report.limits.hosts.peak_in_flight, 2_000);
    let polls = rig.lab.polls.load(Ordering::SeqCst);
    let intervals = started.elapsed().as_secs() / 10 + 1;
    assert!(polls <= intervals, "{polls} polls, {intervals} intervals");
    assert_eq!(rig.lab.overlapping_writes.load(Ordering::SeqCst), 0);
}

fn spare_jobs(names: &[String]) -> Vec<MoveJob> {
    jobs(names, "RedHat 9.4")
        .into_iter()
        .map(|mut j| {
            j.from = j.to.clone();
            j.host.current_cloud = j.to.clone();
            j.to = CloudName::new("cloud01").unwrap();
            j.assignment = None;
            j.wipe = Wipe::No;
            j
        })
        .collect()
}

/// Tenant to spare pool: the tenant account is revoked and verified by the leaving tenant's
/// password failing, the spare pool's owner (the run's own user) owns the host in Foreman, and
/// the host is off. A BMC that keeps the old password fails its host with a clear error
/// naming the tenant, never the password. A move into a cloud no assignment holds is the same.
#[tokio::test(start_paused = true)]
async fn leaving_tenants_lose_the_bmc_and_foreman_ownership() {
    let (rig, names) = Rig::new(4, &[]);
    let mut all = spare_jobs(&names);
    for (i, j) in all.iter_mut().enumerate() {
        let leaving = jobs(&names, "RedHat 9.4")[i].assignment.clone().unwrap();
        let old = tenant_password("lab", &leaving);
        let mut machines = rig.lab.machines.lock().unwrap();
        let m = machines.get_mut(j.host.name.as_str()).unwrap();
        m.account = Some(format!("quads:{}", old.expose()));
        m.sticky_account = i == 1;
        rig.lab
            .hosts
            .lock()
            .unwrap()
            .get_mut(j.host.name.as_str())
            .unwrap()
            .owner_user = Some(77);
        j.leaving = Some(leaving);
    }
    // the last host goes to a cloud with no assignment: nobody's tenant either
    all[3].to = CloudName::new("cloud09").unwrap();
    let report = rig
        .run(1, config(8), all, Shutdown::new(Duration::from_secs(5)))
        .await;
    assert_eq!(report.counts.moved, 3, "{:#?}", report.hosts);
    let failed = &report.hosts[1];
    assert_eq!(failed.failed_step.as_deref(), Some("bmc-account"));
    let error = failed.error.as_deref().unwrap();
    assert!(
        error.contains("ticket T3") && !error.contains("lab@"),
        "{error}"
    );
    let machines = rig.lab.machines.lock().unwrap();
    for i in [0, 2, 3] {
        let n = &names[i];
        assert_eq!(
            machines[n].account.as_deref(),
            Some(format!("quads:{REVOKED}").as_str()),
            "{n}"
        );
        assert!(!machines[n].power_on, "{n}");
        assert_eq!(
            rig.lab.hosts.lock().unwrap()[n].owner_user,
            Some(ADMIN),
            "{n}"
        );
        assert_eq!(
            count(&rig.ledger, n, "bmc-account", StepOutcome::Verified),
            1,
            "{n}"
        );
    }
    assert_eq!(report.hosts[3].to, "cloud09");
}

#[tokio::test]
async fn hooks_run_once_per_host_and_a_failing_hook_fails_its_host_only() {
    let (rig, names) = Rig::new(3, &[]);
    let dir = tempfile::tempdir().unwrap();
    let marks = dir.path().display().to_string();
    let mut c = config(8);
    c.hooks = vec![crate::hook::HookSpec::new(
        "vlan",
        "sh",
        &[
            "-c",
            &format!("touch {marks}/$QUADS_HOST; case $QUADS_HOST in h00001*) exit 3;; esac"),
        ],
    )];
    let report = rig
        .run(
            1,
            c,
            spare_jobs(&names),
            Shutdown::new(Duration::from_secs(5)),
        )
        .await;
    assert_eq!(report.counts.moved, 2, "{:#?}", report.hosts);
    let failed = &report.hosts[1];
    assert_eq!(failed.failed_step.as_deref(), Some("hook:vlan"));
    assert!(
        failed.error.as_deref().unwrap().contains("vlan"),
        "{failed:?}"
    );
    for n in &names {
        assert!(dir.path().join(n).exists(), "{n}: the hook ran");
    }
    let steps: Vec<&str> = report.hosts[0]
        .steps
        .iter()
        .map(|s| s.step.as_str())
        .collect();
    assert_eq!(
        steps,
        [
            "bmc-account",
            "hook:vlan",
            "foreman-owner",
            "power-off",
            "record"
        ]
    );
    // the moved hosts are off, their tenant account revoked and the spare pool owns them
    let machines = rig.lab.machines.lock().unwrap();
    for n in [&names[0], &names[2]] {
        assert!(!machines[n].power_on, "{n}");
        assert_eq!(
            machines[n].account, None,
            "{n}: nobody had an account to revoke"
        );
        assert_eq!(rig.lab.hosts.lock().unwrap()[n].owner_user, Some(ADMIN));
    }
}

#[tokio::test(start_paused = true)]
async fn a_no_wipe_move_sets_the_tenant_account_and_records_without_power_actions() {
    let (rig, names) = Rig::new(6, &[]);
    let all: Vec<MoveJob> = jobs(&names, "RedHat 9.4")
        .into_iter()
        .map(|mut j| {
            j.wipe = Wipe::No;
            j
        })
        .collect();
    let report = rig
        .run(1, config(64), all, Shutdown::new(Duration::from_secs(5)))
        .await;
    assert_eq!(report.counts.moved, 6);
    let steps: Vec<&str> = report.hosts[0]
        .steps
        .iter()
        .map(|s| s.step.as_str())
        .collect();
    assert_eq!(steps, ["bmc-account", "foreman-owner", "record"]);
    for m in rig.lab.machines.lock().unwrap().values() {
        assert_eq!((m.power_ons, m.cycles, m.installs), (0, 0, 0));
        assert!(m.account.as_deref().unwrap().starts_with("quads:lab@T"));
    }
    // the new tenant owns each host in Foreman, without a rebuild
    let users = rig.lab.users.lock().unwrap().clone();
    for (i, n) in names.iter().enumerate() {
        let h = rig.lab.hosts.lock().unwrap()[n].clone();
        let cloud = format!("cloud{:02}", 2 + i % 3);
        assert_eq!(h.owner_user, Some(users[&cloud]), "{n}");
        assert!(!h.build, "{n}");
    }
    assert_eq!(
        rig.lab.user_ensures.load(Ordering::SeqCst),
        3,
        "the clouds' users exist"
    );
}

#[tokio::test(start_paused = true)]
async fn progress_shows_hosts_per_step_while_running_and_announces_each_end() {
    let (rig, names) = Rig::new(12, &[4]);
    let progress = RunProgress::new();
    let mut events = progress.subscribe();
    let watch = async {
        // the most hosts seen in each step, and in flight, sampled every virtual second
        let mut most: BTreeMap<String, usize> = BTreeMap::new();
        let mut in_flight = 0;
        for _ in 0..3600 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let now = progress.snapshot();
            for (step, n) in &now.stages {
                let m = most.entry(step.clone()).or_default();
                *m = (*m).max(*n);
            }
            in_flight = in_flight.max(now.in_flight);
            if now.total > 0 && now.finished() == now.total {
                break;
            }
        }
        (most, in_flight)
    };
    let (report, (most, in_flight)) = tokio::join!(
        rig.run_watched(
            1,
            config(512),
            jobs(&names, "RedHat 9.4"),
            Shutdown::new(Duration::from_secs(5)),
            progress.clone(),
        ),
        watch
    );
    assert_eq!((report.counts.moved, report.counts.failed), (11, 1));
    // mid-run: every healthy host sat in the install wait at once
    assert_eq!(most.get("install-wait"), Some(&11), "{most:?}");
    assert!(most.contains_key("network-boot"), "{most:?}");
    assert_eq!(in_flight, 11, "the dead BMC's host ended early");
    // at the end: the counts are the report's, no host is left in a step
    let end = progress.snapshot();
    assert_eq!(
        [end.total, end.moved, end.failed, end.interrupted],
        [12, 11, 1, 0]
    );
    assert_eq!(end.finished(), report.counts.planned);
    assert!(end.stages.is_empty(), "{:?}", end.stages);
    assert_eq!(end.in_flight, 0);
    // one event per host, as it ended: the failure names its host, step and error
    let mut ended = Vec::new();
    while let Ok(e) = events.try_recv() {
        ended.push(e);
    }
    assert_eq!(ended.len(), 12);
    let failed: Vec<_> = ended
        .iter()
        .filter(|e| e.status == HostStatus::Failed)
        .collect();
    assert_eq!(failed.len(), 1, "{ended:#?}");
    assert_eq!(failed[0].host, names[4]);
    assert_eq!(failed[0].step.as_deref(), Some("bmc-account"));
    assert!(
        failed[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("connection refused")),
        "{:?}",
        failed[0]
    );
    assert_eq!(
        ended.first().map(|e| e.host.as_str()),
        Some(names[4].as_str()),
        "the failure is announced before the installs end"
    );
}

/// The virtual times at which each cloud's hosts first journaled and last journaled.
fn cloud_spans(ledger: &MemoryLedger) -> BTreeMap<String, (Timestamp, Timestamp)> {
    let to_cloud: BTreeMap<String, String> = ledger.with_entries(|entries| {
        entries
            .iter()
            .filter_map(|e| match &e.subject {
                crate::model::Subject::Host(h) => {
                    Some((h.to_string(), e.details.get("to")?.to_owned()))
                }
                crate::model::Subject::Cloud(_) => None,
            })
            .collect()
    });
    let mut spans: BTreeMap<String, (Timestamp, Timestamp)> = BTreeMap::new();
    ledger.with_entries(|entries| {
        for e in entries {
            let crate::model::Subject::Host(h) = &e.subject else {
                continue;
            };
            let Some(cloud) = to_cloud.get(h.as_str()) else {
                continue;
            };
            let span = spans
                .entry(cloud.clone())
                .or_insert((e.recorded_at, e.recorded_at));
            span.0 = span.0.min(e.recorded_at);
            span.1 = span.1.max(e.recorded_at);
        }
    });
    spans
}

fn clocked_rig(n: usize) -> (Rig, Vec<String>) {
    let (mut rig, names) = Rig::new(n, &[]);
    rig.ledger = Arc::new(
        MemoryLedger::new().with_clock(Arc::new(TokioClock::starting_at(
            "2025-01-01".parse::<Timestamp>().unwrap(),
        ))),
    );
    (rig, names)
}

#[tokio::test(start_paused = true)]
async fn sequential_clouds_start_each_cloud_after_the_one_before_ended() {
    let (rig, names) = clocked_rig(30);
    let mut c = config(512);
    c.policy.clouds = super::config::CloudOrder::Sequential;
    let report = rig
        .run(
            1,
            c,
            jobs(&names, "RedHat 9.4"),
            Shutdown::new(Duration::from_secs(5)),
        )
        .await;
    assert_eq!(report.counts.moved, 30);
    let spans: Vec<_> = cloud_spans(&rig.ledger).into_values().collect();
    assert_eq!(spans.len(), 3);
    for pair in spans.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "clouds overlap: {spans:?}");
    }

    // the default moves them all at once: the clouds' spans overlap
    let (rig, names) = clocked_rig(30);
    let report = rig
        .run(
            1,
            config(512),
            jobs(&names, "RedHat 9.4"),
            Shutdown::new(Duration::from_secs(5)),
        )
        .await;
    assert_eq!(report.counts.moved, 30);
    let spans: Vec<_> = cloud_spans(&rig.ledger).into_values().collect();
    assert!(spans[1].0 < spans[0].1, "clouds did not overlap: {spans:?}");
}

#[tokio::test(start_paused = true)]
async fn the_boot_order_sleep_holds_only_hosts_whose_order_changed() {
    let (rig, names) = Rig::new(12, &[]);
    let mut c = config(512);
    c.policy.boot_order_sleep = Some(Duration::from_secs(5000));
    c.steps.boot_order.attempt_timeout = Some(Duration::from_secs(6000));
    let report = rig
        .run(
            1,
            c,
            jobs(&names, "RedHat 9.4"),
            Shutdown::new(Duration::from_secs(5)),
        )
        .await;
    assert_eq!(report.counts.moved, 12, "{:#?}", report.hosts);
    for (i, h) in report.hosts.iter().enumerate() {
        let index: usize = names.iter().position(|n| *n == h.host).unwrap();
        let slept = h
            .steps
            .iter()
            .find(|s| s.step == "boot-order")
            .unwrap()
            .seconds
            >= 5000.0;
        // hosts 0, 3, 6, ... start in the other order (see Lab::new)
        assert_eq!(slept, index.is_multiple_of(3), "host {i}: {h:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn the_foreman_queue_of_a_large_fleet_does_not_count_against_the_step_deadline() {
    // 200 hosts through 2 places in the Foreman step: the last waits far longer than the
    // step's 10 s per attempt, yet no attempt times out, because the wait comes first.
    let (rig, names) = Rig::new(200, &[]);
    let mut c = config(512);
    c.limits.foreman_hosts = 2;
    c.steps.foreman_host.attempt_timeout = Some(Duration::from_secs(10));
    c.steps.foreman_host.max_attempts = 1;
    let report = rig
        .run(
            1,
            c,
            jobs(&names, "RedHat 9.4"),
            Shutdown::new(Duration::from_secs(5)),
        )
        .await;
    assert_eq!(
        report.counts.moved,
        200,
        "{:?}",
        report.hosts.iter().find(|h| h.status != HostStatus::Moved)
    );
    let turns = &report.limits.foreman_hosts;
    assert_eq!((turns.limit, turns.peak_in_flight), (2, 2));
    assert_eq!(turns.acquired, 200);
    assert!(turns.total_wait_secs > 10.0, "{turns:?}");
}

#[tokio::test(start_paused = true)]
async fn hosts_in_bmc_steps_are_at_most_the_bmc_connections() {
    // 100 hosts, 4 BMC connections: at most 4 hosts are in a BMC step at once (the others
    // wait before their step, not inside the pool), and every host moves
    let (rig, names) = Rig::new(100, &[]);
    let mut c = config(512);
    c.limits.bmc_connections = 4;
    let report = rig
        .run(
            1,
            c,
            jobs(&names, "RedHat 9.4"),
            Shutdown::new(Duration::from_secs(5)),
        )
        .await;
    assert_eq!(report.counts.moved, 100, "{:#?}", report.hosts);
    let turns = &report.limits.bmc_hosts;
    assert_eq!((turns.limit, turns.peak_in_flight), (4, 4));
    // the account, the boot order and the network boot of each host
    assert_eq!(turns.acquired, 300);
    assert!(turns.total_wait_secs > 0.0, "{turns:?}");
}

#[tokio::test(start_paused = true)]
async fn hosts_with_a_pending_boot_order_job_get_the_foreman_step_first() {
    // 30 hosts through 1 place in the Foreman step. Hosts 0, 3, 6, ... need a boot-order
    // change (staged for their next POST, so their way after Foreman is the longest) and reach
    // the queue last, yet they are let in before the others still waiting.
    let (rig, names) = Rig::new(30, &[]);
    let mut c = config(512);
    c.limits.foreman_hosts = 1;
    let report = rig
        .run(
            1,
            c,
            jobs(&names, "RedHat 9.4"),
            Shutdown::new(Duration::from_secs(5)),
        )
        .await;
    assert_eq!(report.counts.moved, 30, "{:#?}", report.hosts);
    let foreman_seconds = |pending: bool| -> Vec<f64> {
        report
            .hosts
            .iter()
            .filter(|h| {
                let index = names.iter().position(|n| *n == h.host).unwrap();
                index.is_multiple_of(3) == pending
            })
            .map(|h| {
                h.steps
                    .iter()
                    .find(|s| s.step == "foreman-host")
                    .unwrap()
                    .seconds
            })
            .collect()
    };
    let (first, rest) = (foreman_seconds(true), foreman_seconds(false));
    let slowest = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    // each host holds the place about 0.4 s: 10 ranked hosts are through within ~5 s of
    // queueing, while the last of the other 20 waits behind all 30
    assert!(slowest(&first) < 6.0, "{first:?}");
    assert!(slowest(&rest) > 10.0, "{rest:?}");
}

/// (step, phase, outcome) of each journal entry of `host`, in the order written.
fn host_rows(ledger: &MemoryLedger, host: &str) -> Vec<(String, String, Option<StepOutcome>)> {
    ledger.with_entries(|entries| {
        assert!(entries.windows(2).all(|w| w[0].id < w[1].id));
        entries
            .iter()
            .filter(|e| e.subject.to_string() == format!("host {host}"))
            .map(|e| (e.step.to_word(), e.phase.as_str().to_owned(), e.outcome))
            .collect()
    })
}

#[tokio::test(start_paused = true)]
async fn a_wipe_move_journals_every_row_in_order_in_fewer_writes() {
    let (rig, names) = Rig::new(1, &[]);
    let report = rig
        .run(
            1,
            config(512),
            jobs(&names, "RedHat 9.4"),
            Shutdown::new(Duration::from_secs(5)),
        )
        .await;
    assert_eq!(report.counts.moved, 1, "{:#?}", report.hosts);

    let intent = |step: &str| (step.to_owned(), "intent".to_owned(), None);
    let verified = |step: &str| {
        (
            step.to_owned(),
            "outcome".to_owned(),
            Some(StepOutcome::Verified),
        )
    };
    // each step's intent, then its outcome, then the next step's intent: as written one by one
    assert_eq!(
        host_rows(&rig.ledger, &names[0]),
        vec![
            intent("bmc-account"),
            verified("bmc-account"),
            intent("boot-order"),
            verified("boot-order"),
            intent("foreman-host"),
            verified("foreman-host"),
            intent("network-boot"),
            intent("network-boot"),
            verified("network-boot"),
            intent("install-wait"),
            verified("install-wait"),
            intent("record"),
            verified("record"),
        ]
    );
    // the cloud's own rows are written one by one; the host's 13 rows take 8 writes: each
    // outcome rides with the next intent, the last one is written at the end of the move
    let cloud_rows = rig.ledger.with_entries(|entries| {
        entries
            .iter()
            .filter(|e| matches!(e.subject, Subject::Cloud(_)))
            .count()
    });
    let host_writes = rig.ledger.journal_writes() - cloud_rows;
    assert_eq!(host_writes, 8, "13 rows written one by one would take 13");
}

/// A [`MemoryLedger`] whose process "dies" right after the first power-on intent of a network
/// boot was journaled: that write succeeds (the host is then powered on), every later write fails.
#[derive(Debug)]
struct CrashAfterPowerOnIntent {
    inner: Arc<MemoryLedger>,
    crashed: AtomicBool,
}

impl CrashAfterPowerOnIntent {
    fn alive(&self) -> Result<(), StoreError> {
        if self.crashed.load(Ordering::SeqCst) {
            Err(StoreError::Closed)
        } else {
            Ok(())
        }
    }

    fn watch(&self, at: &StepAttempt, details: &Details) {
        if at.step == Step::NetworkBoot && details.get("phase") == Some("on") {
            self.crashed.store(true, Ordering::SeqCst);
        }
    }
}

#[async_trait]
impl Ledger for CrashAfterPowerOnIntent {
    async fn intent(&self, at: &StepAttempt, details: Details) -> Result<(), StoreError> {
        self.alive()?;
        self.watch(at, &details);
        self.inner.intent(at, details).await
    }

    async fn outcome(
        &self,
        at: &StepAttempt,
        outcome: StepOutcome,
        error: Option<String>,
        details: Details,
    ) -> Result<(), StoreError> {
        self.alive()?;
        self.inner.outcome(at, outcome, error, details).await
    }

    async fn append_all(&self, rows: Vec<JournalRow>) -> Result<(), StoreError> {
        self.alive()?;
        for row in &rows {
            if let JournalRow::Intent { at, details } = row {
                self.watch(at, details);
            }
        }
        self.inner.append_all(rows).await
    }

    async fn current_cloud(&self, host: &HostName) -> Result<Option<CloudName>, StoreError> {
        self.inner.current_cloud(host).await
    }

    async fn complete_move(&self, done: CompletedMove) -> Result<(), StoreError> {
        self.alive()?;
        self.inner.complete_move(done).await
    }
}

#[tokio::test(start_paused = true)]
async fn a_crash_before_the_power_on_outcome_is_journaled_is_resumed_without_a_second_cycle() {
    let (rig, names) = Rig::new(1, &[]);
    let host = names[0].as_str();
    let crashing = Arc::new(CrashAfterPowerOnIntent {
        inner: rig.ledger.clone(),
        crashed: AtomicBool::new(false),
    });
    let first = rig
        .run_on(
            1,
            config(512),
            jobs(&names, "RedHat 9.4"),
            Shutdown::new(Duration::from_secs(5)),
            RunProgress::new(),
            crashing,
        )
        .await;
    assert_eq!(first.counts.moved, 0, "{:#?}", first.hosts);
    assert_eq!(rig.lab.machines.lock().unwrap()[host].power_ons, 1);
    // the power-on happened, but the journal ends with its intent: the step is open
    let rows = host_rows(&rig.ledger, host);
    assert_eq!(
        rows.last(),
        Some(&("network-boot".to_owned(), "intent".to_owned(), None)),
        "{rows:?}"
    );
    // every outcome held before the crash was written with a later intent
    assert_eq!(
        count(&rig.ledger, host, "foreman-host", StepOutcome::Verified),
        1
    );

    let second = rig
        .run(
            2,
            config(512),
            jobs(&names, "RedHat 9.4"),
            Shutdown::new(Duration::from_secs(5)),
        )
        .await;
    assert_eq!(second.counts.moved, 1, "{:#?}", second.hosts);
    let m = &rig.lab.machines.lock().unwrap()[host];
    assert_eq!(m.power_ons, 1, "powered on twice");
    assert_eq!(m.installs, 1);
    assert_eq!(
        count(&rig.ledger, host, "network-boot", StepOutcome::AlreadyDone),
        1,
        "the open step was re-checked and found done"
    );
    assert_eq!(count(&rig.ledger, host, "record", StepOutcome::Verified), 1);
}

/// Four ports per host on `switches` switches (hosts dealt round-robin), into `vlan`+i.
fn with_ports(mut jobs: Vec<MoveJob>, switches: usize, vlan: i64) -> Vec<MoveJob> {
    use crate::network::{PortChange, PortMode, PortMove, PortTarget};
    for (h, job) in jobs.iter_mut().enumerate() {
        job.network.ports = (0..4)
            .map(|i| PortMove {
                interface: crate::model::InterfaceName::new(format!("em{}", i + 1)).unwrap(),
                mac_address: None,
                switch: format!("10.0.0.{}", h % switches + 1),
                port: format!("xe-0/0/{}", h * 4 + i),
                index: i,
                last_nic: i == 3,
                old: None,
                new: PortTarget {
                    mode: PortMode::Access,
                    vlan: crate::model::VlanId::new(vlan + i64::try_from(i).unwrap()).unwrap(),
                },
                change: if i == 2 {
                    PortChange::Maintenance
                } else {
                    PortChange::Move
                },
            })
            .collect();
    }
    jobs
}

#[tokio::test(start_paused = true)]
async fn switch_ports_move_in_one_commit_per_switch_and_a_resumed_run_finds_them_done() {
    let (mut rig, names) = Rig::new(40, &[]);
    let fake = Arc::new(super::switches::fake::FakeSwitches::new(
        Duration::from_secs(4),
    ));
    rig.switches = Some(fake.clone());
    let mut all = with_ports(jobs(&names, "RedHat 9.4"), 4, 1110);
    // host 3's port plan has a problem: it fails alone, before touching a switch
    let host3 = all[3].host.name.clone();
    all[3].network.problems.push(crate::network::NetworkError {
        host: host3,
        interface: crate::model::InterfaceName::new("em5").unwrap(),
        switch: "10.0.0.4".into(),
        port: "xe-0/0/99".into(),
        reason: crate::network::VlanError::CloudNumber(CloudName::new("cloudx").unwrap()),
    });
    // host 5 has no interfaces at all
    all[5].network = crate::network::NetworkPlan::default();
    let mut cfg = config(512);
    cfg.steps.switch_ports = fast(3);
    let report = rig
        .run(
            1,
            cfg.clone(),
            all.clone(),
            Shutdown::new(Duration::from_secs(5)),
        )
        .await;
    assert_eq!(report.counts.moved, 38);
    for bad in [3, 5] {
        let h = &report.hosts[bad];
        assert_eq!(h.failed_step.as_deref(), Some("switch-ports"), "{h:?}");
        assert_eq!(h.attempts, 1, "a plan problem is not retried");
    }
    assert!(report.hosts[3].error.as_deref().unwrap().contains("em5"));
    assert!(
        report.hosts[5]
            .error
            .as_deref()
            .unwrap()
            .contains("no interfaces")
    );
    // every host reached the step at about the same time: one commit per switch
    for sw in 1..=4 {
        assert_eq!(fake.commits(&format!("10.0.0.{sw}")), 1, "10.0.0.{sw}");
    }
    assert_eq!(fake.peak(), 1);
    // the maintenance port was left alone, the others moved
    assert_eq!(fake.port("10.0.0.1", "xe-0/0/2"), None);
    assert_eq!(fake.port("10.0.0.1", "xe-0/0/1").unwrap().vlan.get(), 1111);
    let h0 = &report.hosts[0];
    let steps: Vec<&str> = h0.steps.iter().map(|s| s.step.as_str()).collect();
    // a wipe's boot order follows its account at once (one BMC burst), then the ports move
    assert_eq!(&steps[..3], ["bmc-account", "boot-order", "switch-ports"]);
    assert_eq!(
        count(
            &rig.ledger,
            &names[0],
            "switch-ports",
            StepOutcome::Verified
        ),
        1
    );
    // a new run of the same moves: the step is done before, nothing is committed again
    let again = rig
        .run(2, cfg, all, Shutdown::new(Duration::from_secs(5)))
        .await;
    assert_eq!(again.hosts[0].steps[2].outcome, "done-before");
    assert_eq!(fake.commits("10.0.0.1"), 1);
}
