//! The lab: configuration, the shared state of Foreman and the fleet, and the running servers.

use crate::isolation::{self, Expectation, IsolationReport};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::bmc::{BmcFleet, BmcState};
use crate::capacity::Capacity;
use crate::clock::{LabClock, mix};
use crate::faults::{FaultAssignment, FaultProfile};
use crate::foreman::{ForemanDb, ForemanService};
use crate::inventory::{Inventory, InventoryHost, InventoryInterface, InventorySwitch};
use crate::machine::{
    BootDevice, DeviceKind, Flavor, Machine, OverrideEnabled, OverrideTarget, Phase, Physics,
};
use crate::metrics::{LogEntry, Metrics, MetricsSnapshot, ServiceKind};
use crate::model::LabModel;
use crate::quads::{QuadsDb, QuadsService};
use crate::server::serve;
use crate::switch::{Context as SwitchContext, HostPort, SwitchLab};
use crate::tls::LabCa;

/// Plain HTTP or HTTPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTPS with a certificate signed by the lab's CA.
    Https,
}

/// How to build a lab.
#[derive(Debug, Clone)]
pub struct LabConfig {
    /// Number of hosts (and BMCs).
    pub hosts: usize,
    /// BMC flavours, assigned round-robin.
    pub flavors: Vec<Flavor>,
    /// Real seconds per lab second (0 = no simulated latency).
    pub time_scale: f64,
    /// Faults.
    pub faults: FaultProfile,
    /// Seed of every random choice.
    pub seed: u64,
    /// Timings and capacities.
    pub model: LabModel,
    /// How BMCs are served.
    pub bmc_scheme: Scheme,
    /// The first BMC address; the fleet counts up from it (127.0.x.y, skipping .0 and .255).
    pub bmc_first_ip: Ipv4Addr,
    /// The port every BMC listens on (0 = one free port for the whole fleet).
    pub bmc_port: u16,
    /// Foreman's HTTPS port (0 = any free port).
    pub foreman_port: u16,
    /// Requests kept in the log.
    pub log_limit: usize,
    /// Foreman's administrator login.
    pub foreman_admin: Credentials,
    /// The BMCs' initial administrator account.
    pub bmc_admin: Credentials,
    /// The first switch address; the switches count up from it like the BMCs (127.1.x.y).
    pub switch_first_ip: Ipv4Addr,
    /// QUADS's `sw_vlan_first`: cloud01's first VLAN (the VLAN formula's base).
    pub sw_vlan_first: u16,
    /// The switches' login.
    pub switch_admin: Credentials,
    /// The fake QUADS server's admin (its login is an e-mail address, as in QUADS).
    pub quads_admin: Credentials,
    /// The share of hosts the QUADS server starts with scheduled into `cloud02`/`cloud03`
    /// (so `GET moves` lists them).
    pub quads_scheduled: f64,
    /// Hosts (by index) whose BIOS boots in UEFI mode, their `PxeDev1Interface` set to a NIC
    /// other than the provisioning one (a UEFI network boot tries PxeDev1, whatever the
    /// persistent order says). Only Dell flavours have the attributes; others ignore it.
    pub uefi_hosts: Vec<usize>,
    /// Where the BMCs with a DMTF virtual media collection name it.
    pub virtual_media_link: VirtualMediaLink,
    /// Where HPE iLO hosts list their OEM system actions (`HpeComputerSystemExt.SystemReset`).
    pub oem_actions_place: OemActionsPlace,
    /// The first host address; the hosts count up from it like the BMCs (127.2.x.y). A host's
    /// SSH port listens there once its install finished (see [`crate::sshd`]).
    pub host_first_ip: Ipv4Addr,
    /// The port every host's SSH listener uses: `Some(0)` one free port shared by all hosts
    /// (tests), `Some(22)` the real one (root), `None` no host listeners at all.
    pub host_ssh_port: Option<u16>,
    /// The fake SMTP server and webhook sink that notifications go to (off by default).
    pub sinks: SinksConfig,
}

/// Which notification sinks a lab serves ([`crate::smtp`], [`crate::webhook`]).
#[derive(Debug, Clone, Default)]
pub struct SinksConfig {
    /// Serve the fake SMTP server (STARTTLS with a lab certificate for 127.0.0.1).
    pub smtp: bool,
    /// The login its mail needs (none: anyone may send).
    pub smtp_login: Option<Credentials>,
    /// TLS from the first byte (implicit TLS, port 465 style) instead of STARTTLS.
    pub smtp_implicit_tls: bool,
    /// Serve the webhook sink.
    pub webhook: bool,
    /// The HMAC secret the sink checks signatures with.
    pub webhook_secret: Option<String>,
    /// Requests the sink answers 503 before taking any.
    pub webhook_fail_first: usize,
}

/// What the notification sinks took, and where they listen once started.
#[derive(Debug, Default)]
pub struct Sinks {
    /// The mail the SMTP server took.
    pub mail: crate::smtp::MailBox,
    /// The POSTs the webhook sink took.
    pub webhooks: crate::webhook::WebhookBox,
    /// The SMTP server's address.
    pub smtp_addr: OnceLock<SocketAddr>,
    /// The webhook sink's URL.
    pub webhook_url: OnceLock<String>,
}

/// Where a BMC names its DMTF `VirtualMedia` collection (the collection is served at the
/// flavour's usual path in every case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VirtualMediaLink {
    /// As the flavour does: a `VirtualMedia` property of the Manager (iDRAC9) or the System
    /// (iDRAC10, generic).
    #[default]
    Property,
    /// Only under the Manager's `Links` (as some BMCs do).
    ManagerLinks,
    /// Nowhere: only the conventional path finds it.
    Unlinked,
}

/// Where an HPE iLO host lists its OEM system actions in `Actions.Oem` (both targets are
/// served either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OemActionsPlace {
    /// Keyed `#HpeComputerSystemExt.SystemReset` directly under `Actions.Oem`, where DSP0266
    /// puts OEM actions (and DMTF's validator checks them), target
    /// `Actions/Oem/HpeComputerSystemExt.SystemReset`.
    #[default]
    Dsp0266,
    /// Under the vendor's key, `Actions.Oem.Hpe`, target
    /// `Actions/Oem/Hpe/HpeComputerSystemExt.SystemReset`, as iLO 5 answers (DMTF's validator
    /// fails it: `Hpe` is no property of `OemActions`).
    VendorKey,
}

/// A login and password (lab secrets: printed in the inventory on purpose).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// Login.
    pub username: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

impl Credentials {
    /// A login and password.
    #[must_use]
    pub fn new(username: &str, password: &str) -> Self {
        Self {
            username: username.to_owned(),
            password: password.to_owned(),
        }
    }
}

impl Default for LabConfig {
    fn default() -> Self {
        Self {
            hosts: 10,
            flavors: vec![
                Flavor::Dell,
                Flavor::Idrac10,
                Flavor::Supermicro,
                Flavor::Generic,
            ],
            time_scale: 0.0,
            faults: FaultProfile::none(),
            seed: 1,
            model: LabModel::default(),
            bmc_scheme: Scheme::Https,
            bmc_first_ip: Ipv4Addr::new(127, 0, 1, 1),
            bmc_port: 0,
            foreman_port: 0,
            log_limit: 200_000,
            foreman_admin: Credentials::new("admin", "changeme"),
            bmc_admin: Credentials::new("root", "calvin"),
            switch_first_ip: Ipv4Addr::new(127, 1, 0, 1),
            sw_vlan_first: 1100,
            switch_admin: Credentials::new("quads", "junos-lab"),
            quads_admin: Credentials::new("admin@quads.lab", "quads-lab"),
            quads_scheduled: 0.5,
            uefi_hosts: Vec::new(),
            virtual_media_link: VirtualMediaLink::Property,
            oem_actions_place: OemActionsPlace::Dsp0266,
            host_first_ip: Ipv4Addr::new(127, 2, 0, 1),
            host_ssh_port: Some(0),
            sinks: SinksConfig::default(),
        }
    }
}

/// Why a lab could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabError {
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Certificates could not be made.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// The configuration cannot work.
    #[error("bad lab configuration: {0}")]
    Config(String),
}

/// Everything that changes while the lab runs, behind one lock.
#[derive(Debug)]
pub struct LabState {
    /// The hosts' hardware, by index.
    pub machines: Vec<Machine>,
    /// Foreman's records.
    pub foreman: ForemanDb,
    /// The BMCs' own state (sessions, accounts), by host index.
    pub bmcs: Vec<BmcState>,
    /// The QUADS server's records.
    pub quads: QuadsDb,
    /// When the machines' next transitions are due, so that a Foreman request (which sees
    /// every host's `build` flag) moves on only the machines that have something due.
    pub(crate) timeline: Timeline,
}

/// Every machine with a transition pending has an entry at or before it (entries may be
/// early or repeated: a machine popped with nothing due is simply put back at its due time).
#[derive(Debug)]
pub(crate) struct Timeline {
    due: BinaryHeap<Reverse<(Instant, usize)>>,
    /// Machines changed behind the timeline's back: look at every one next time.
    stale: bool,
}

impl Timeline {
    /// A timeline that knows nothing yet.
    fn stale() -> Self {
        Self {
            due: BinaryHeap::new(),
            stale: true,
        }
    }

    /// Machine `index` has a transition due at `due` (called when it got a new one).
    pub(crate) fn note(&mut self, index: usize, due: Option<Instant>) {
        if let Some(due) = due {
            self.due.push(Reverse((due, index)));
        }
    }
}

impl LabState {
    /// Moves every machine with a transition due by `now` forward to `now`.
    pub(crate) fn advance_all(&mut self, now: Instant, physics: Physics<'_>) {
        let timeline = &mut self.timeline;
        if timeline.stale {
            timeline.due.clear();
            for machine in &mut self.machines {
                machine.advance_to(now, physics);
                timeline.note(machine.index, machine.due());
            }
            timeline.stale = false;
            return;
        }
        while let Some(&Reverse((due, index))) = timeline.due.peek() {
            if due > now {
                break;
            }
            timeline.due.pop();
            if let Some(machine) = self.machines.get_mut(index) {
                machine.advance_to(now, physics);
                timeline.note(index, machine.due());
            }
        }
    }
}

/// A BMC's certificate after the certificate-change fault.
#[derive(Debug, Default)]
struct ChangedCert {
    struck: std::sync::atomic::AtomicBool,
    config: OnceLock<Option<Arc<rustls::ServerConfig>>>,
}

/// The parts every service shares.
#[derive(Debug)]
pub struct LabShared {
    /// The configuration the lab started with.
    pub config: LabConfig,
    /// Lab time and draws.
    pub clock: LabClock,
    /// Counters and log.
    pub metrics: Metrics,
    /// Which hosts carry standing faults.
    pub fault_hosts: FaultAssignment,
    /// Foreman's capacity and backlog.
    pub foreman_capacity: Capacity,
    /// Each BMC's request capacity.
    pub bmc_capacity: Vec<Capacity>,
    /// The lab CA.
    pub ca: LabCa,
    /// Per-BMC TLS settings, made on first connection.
    pub bmc_tls: Vec<OnceLock<Option<Arc<rustls::ServerConfig>>>>,
    /// The certificate-change fault's BMCs: whether it struck, and the new settings.
    bmc_tls_changed: BTreeMap<usize, ChangedCert>,
    /// The switch fleet (wiring and committed VLANs, behind its own lock).
    pub switches: SwitchLab,
    /// The notification sinks' records and addresses.
    pub sinks: Sinks,
    state: Mutex<LabState>,
}

impl LabShared {
    /// Holds a hung request of `service` for [`crate::bmc::HANG_SECONDS`] and counts how long
    /// it was held when it ends: the hold ran out, or the client closed the connection (the
    /// server then drops this future), so the longest hold shows whether clients kept their
    /// request deadline.
    pub(crate) async fn hold_hung(&self, service: ServiceKind) {
        struct Held<'a> {
            lab: &'a LabShared,
            service: ServiceKind,
            since: f64,
        }
        impl Drop for Held<'_> {
            fn drop(&mut self) {
                let held = self.lab.clock.lab_now() - self.since;
                self.lab.metrics.hang_ended(self.service, held);
            }
        }
        let _held = Held {
            lab: self,
            service,
            since: self.clock.lab_now(),
        };
        self.clock.sleep(crate::bmc::HANG_SECONDS).await;
    }

    /// Builds the lab state from `config`: machines, Foreman's records, the BMCs, standing faults,
    /// capacities and the CA. Nothing listens yet: [`Lab::start`] serves it over sockets,
    /// [`crate::InProcessLab`] answers requests directly.
    ///
    /// # Errors
    /// When the configuration cannot work or the CA cannot be made.
    pub fn build(config: LabConfig) -> Result<Arc<Self>, LabError> {
        if config.flavors.is_empty() {
            return Err(LabError::Config("no BMC flavour".to_owned()));
        }
        if config.hosts > 60_000 {
            return Err(LabError::Config(format!(
                "{} hosts is more than the lab addresses",
                config.hosts
            )));
        }
        let ca = LabCa::generate()?;
        let machines = build_machines(&config);
        let fault_hosts =
            FaultAssignment::choose(&config.faults, config.seed, config.hosts, &|i| {
                machines[i].flavor.is_dell()
            });
        let foreman = ForemanDb::seed(&machines, &config);
        let switches = SwitchLab::build(&config, &machines);
        let quads = QuadsDb::seed(&machines, &switches, &config, wall_clock_minute());
        let bmcs = machines
            .iter()
            .map(|m| BmcState::new(m, &config, &fault_hosts))
            .collect();
        let mut machines = machines;
        for &i in &fault_hosts.stuck_jobs {
            let machine = &mut machines[i];
            let id = machine.new_job_id();
            machine.jobs.push(crate::machine::Job {
                id,
                target: "/redfish/v1/Systems/System.Embedded.1/Bios/Settings".to_owned(),
                state: crate::machine::JobState::Running,
                change: crate::machine::JobChange::Bios(std::collections::BTreeMap::new()),
                stuck: true,
            });
        }
        for &i in &fault_hosts.pxe_fail {
            machines[i].pxe_fails_once = true;
        }
        for &i in &fault_hosts.install_hang {
            machines[i].install_hangs = true;
        }
        let backlog = config
            .faults
            .foreman_backlog
            .unwrap_or(config.model.foreman.backlog);
        Ok(Arc::new(Self {
            clock: LabClock::new(config.time_scale, config.seed),
            metrics: Metrics::new(config.log_limit),
            foreman_capacity: Capacity::new(config.model.foreman.capacity, backlog),
            bmc_capacity: (0..config.hosts)
                .map(|_| Capacity::new(config.model.bmc.concurrency, config.model.bmc.queue))
                .collect(),
            bmc_tls: (0..config.hosts).map(|_| OnceLock::new()).collect(),
            bmc_tls_changed: fault_hosts
                .cert_change
                .iter()
                .map(|&i| (i, ChangedCert::default()))
                .collect(),
            fault_hosts,
            ca,
            switches,
            sinks: Sinks::default(),
            state: Mutex::new(LabState {
                machines,
                foreman,
                bmcs,
                quads,
                timeline: Timeline::stale(),
            }),
            config,
        }))
    }

    /// The TLS settings BMC `index` presents now: its first certificate, or a new one (new key,
    /// signed by the lab CA) once its certificate-change fault struck.
    #[must_use]
    pub fn bmc_server_config(&self, index: usize) -> Option<Arc<rustls::ServerConfig>> {
        let make = || {
            let ip = bmc_ip(self.config.bmc_first_ip, index).to_string();
            self.ca.server_config(&[ip]).ok()
        };
        if let Some(changed) = self.bmc_tls_changed.get(&index)
            && changed.struck.load(std::sync::atomic::Ordering::Relaxed)
        {
            return changed.config.get_or_init(make).clone();
        }
        self.bmc_tls.get(index)?.get_or_init(make).clone()
    }

    /// Strikes BMC `index`'s certificate-change fault: its next connections get a new
    /// certificate. False when it has none or it already struck.
    pub fn change_bmc_cert(&self, index: usize) -> bool {
        self.bmc_tls_changed.get(&index).is_some_and(|changed| {
            !changed
                .struck
                .swap(true, std::sync::atomic::Ordering::Relaxed)
        })
    }

    /// Locks the lab state (never held across an await).
    pub fn state(&self) -> MutexGuard<'_, LabState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What the switches need of the lab: clock, faults, counters, the model's switch timings.
    #[must_use]
    pub fn switch_context(&self) -> SwitchContext<'_> {
        SwitchContext {
            clock: &self.clock,
            faults: &self.config.faults,
            metrics: &self.metrics,
            model: &self.config.model.switch,
        }
    }

    /// A host's switch ports with their committed VLANs, by host name (the isolation report's
    /// network view).
    #[must_use]
    pub fn host_ports(&self, host: &str) -> Vec<HostPort> {
        let index = self.state().machines.iter().position(|m| m.name == host);
        index
            .map(|i| self.switches.host_ports(i))
            .unwrap_or_default()
    }

    /// What machines need to move forward in time.
    #[must_use]
    pub fn physics(&self) -> Physics<'_> {
        Physics {
            clock: &self.clock,
            bmc: &self.config.model.bmc,
            install: self.config.model.foreman.install,
            metrics: &self.metrics,
        }
    }

    /// A copy of every counter (Foreman's capacity figures brought up to date first).
    #[must_use]
    pub fn snapshot(&self) -> MetricsSnapshot {
        self.metrics
            .set_foreman_capacity(self.foreman_capacity.stats());
        self.metrics.snapshot()
    }

    /// The isolation report of the lab as it is now against `expect` (see [`crate::isolation`]).
    #[must_use]
    pub fn isolation(&self, expect: &Expectation) -> IsolationReport {
        let state = self.state();
        isolation::report(self, &state, expect)
    }

    /// Runs `f` on the lab state, after moving every machine forward to now.
    pub fn with_state<T>(&self, f: impl FnOnce(&mut LabState) -> T) -> T {
        let mut state = self.state();
        state.advance_all(Instant::now(), self.physics());
        let out = f(&mut state);
        // `f` may have changed any machine
        state.timeline.stale = true;
        out
    }

    /// Records a finished request in the log and counters.
    pub fn record(&self, entry: LogEntry) {
        self.metrics.record(entry);
    }

    /// The host index of a BMC address, if it is one of the fleet's.
    #[must_use]
    pub fn bmc_index(&self, local: SocketAddr) -> Option<usize> {
        let IpAddr::V4(ip) = local.ip() else {
            return None;
        };
        let index = ip_offset(self.config.bmc_first_ip, ip)?;
        (index < self.config.hosts).then_some(index)
    }
}

/// Where a lab's servers are: Foreman (HTTPS and HTTP), the admin endpoint and the BMCs' shared
/// port. The socket lab's are bound ports; the in-process lab's are fixed, never bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Addresses {
    pub(crate) foreman_https: SocketAddr,
    pub(crate) foreman_http: SocketAddr,
    pub(crate) admin: SocketAddr,
    pub(crate) bmc_port: u16,
    pub(crate) switch_port: u16,
    pub(crate) quads: SocketAddr,
    /// The hosts' shared SSH port (`None`: no host listens).
    pub(crate) ssh_port: Option<u16>,
}

impl Addresses {
    pub(crate) fn foreman_url(&self) -> String {
        format!("https://{}", self.foreman_https)
    }

    pub(crate) fn foreman_http_url(&self) -> String {
        format!("http://{}", self.foreman_http)
    }

    pub(crate) fn admin_url(&self) -> String {
        format!("http://{}", self.admin)
    }

    pub(crate) fn quads_url(&self) -> String {
        format!("http://{}", self.quads)
    }

    pub(crate) fn bmc_addr(&self, config: &LabConfig, index: usize) -> SocketAddr {
        SocketAddr::from((bmc_ip(config.bmc_first_ip, index), self.bmc_port))
    }

    pub(crate) fn bmc_url(&self, config: &LabConfig, index: usize) -> String {
        let scheme = match config.bmc_scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        format!("{scheme}://{}", self.bmc_addr(config, index))
    }

    pub(crate) fn host_addr(&self, config: &LabConfig, index: usize) -> Option<SocketAddr> {
        let port = self.ssh_port?;
        Some(SocketAddr::from((
            bmc_ip(config.host_first_ip, index),
            port,
        )))
    }

    pub(crate) fn switch_addr(&self, shared: &LabShared, index: usize) -> Option<SocketAddr> {
        let switch = shared.switches.switches.get(index)?;
        Some(SocketAddr::from((switch.ip, self.switch_port)))
    }

    /// Everything a client needs to use the lab at these addresses.
    pub(crate) fn inventory(&self, shared: &LabShared) -> Inventory {
        let state = shared.state();
        let config = &shared.config;
        Inventory {
            foreman_url: self.foreman_url(),
            foreman_http_url: self.foreman_http_url(),
            foreman_username: config.foreman_admin.username.clone(),
            foreman_password: config.foreman_admin.password.clone(),
            admin_url: self.admin_url(),
            ca_pem: shared.ca.pem().to_owned(),
            time_scale: config.time_scale,
            seed: config.seed,
            hosts: state
                .machines
                .iter()
                .map(|m| InventoryHost {
                    name: m.name.clone(),
                    bmc_address: self.bmc_addr(config, m.index).to_string(),
                    address: self.host_addr(config, m.index).map(|a| a.to_string()),
                    bmc_url: self.bmc_url(config, m.index),
                    bmc_username: config.bmc_admin.username.clone(),
                    bmc_password: config.bmc_admin.password.clone(),
                    model: m.model.clone(),
                    flavor: m.flavor,
                    foreman_id: state.foreman.host_id_of(m.index),
                    provisioning_nic: m.provisioning_nic.clone(),
                    provisioning_mac: m
                        .devices
                        .iter()
                        .find(|d| d.id == m.provisioning_nic)
                        .and_then(|d| d.mac.clone())
                        .unwrap_or_default(),
                    interfaces: shared.switches.interfaces[m.index]
                        .iter()
                        .map(|nic| {
                            let switch = &shared.switches.switches[nic.switch];
                            InventoryInterface {
                                name: nic.name.clone(),
                                mac_address: nic.mac_address.clone(),
                                switch: switch.name.clone(),
                                switch_ip: switch.ip.to_string(),
                                switch_port: nic.switch_port.clone(),
                                speed: nic.speed,
                                vendor: nic.vendor.clone(),
                                bios_id: nic.bios_id.clone(),
                                pxe_boot: nic.pxe_boot,
                            }
                        })
                        .collect(),
                })
                .collect(),
            switches: (0..shared.switches.switches.len())
                .filter_map(|i| {
                    let switch = &shared.switches.switches[i];
                    Some(InventorySwitch {
                        name: switch.name.clone(),
                        address: self.switch_addr(shared, i)?.to_string(),
                        username: shared.switches.credentials.username.clone(),
                        password: shared.switches.credentials.password.clone(),
                        host_key_sha256: shared.switches.host_key_sha256().to_owned(),
                    })
                })
                .collect(),
            sw_vlan_first: config.sw_vlan_first,
            quads_url: self.quads_url(),
            quads_username: config.quads_admin.username.clone(),
            quads_password: config.quads_admin.password.clone(),
            smtp_addr: shared.sinks.smtp_addr.get().map(ToString::to_string),
            smtp_username: config.sinks.smtp_login.as_ref().map(|l| l.username.clone()),
            smtp_password: config.sinks.smtp_login.as_ref().map(|l| l.password.clone()),
            webhook_url: shared.sinks.webhook_url.get().cloned(),
            webhook_secret: config.sinks.webhook_secret.clone(),
        }
    }
}

/// A running lab. Dropping it (or [`Lab::shutdown`]) stops every server.
#[derive(Debug)]
pub struct Lab {
    shared: Arc<LabShared>,
    shutdown: CancellationToken,
    addresses: Addresses,
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Lab {
    /// Builds the lab state and starts Foreman (HTTPS and HTTP), every BMC and the admin endpoint.
    ///
    /// # Errors
    /// When a listener cannot be bound or the configuration cannot work.
    pub async fn start(config: LabConfig) -> Result<Self, LabError> {
        let shared = LabShared::build(config)?;
        let shutdown = CancellationToken::new();

        let foreman_service = Arc::new(ForemanService::new(shared.clone()));
        let loopback = Ipv4Addr::LOCALHOST;
        let https = bind(SocketAddr::from((loopback, shared.config.foreman_port))).await?;
        let http = bind(SocketAddr::from((loopback, 0))).await?;
        let admin = bind(SocketAddr::from((loopback, 0))).await?;
        let quads = bind(SocketAddr::from((loopback, 0))).await?;
        let (foreman_https, foreman_http, admin_addr, quads_addr) = (
            local(&https)?,
            local(&http)?,
            local(&admin)?,
            local(&quads)?,
        );
        let foreman_tls = shared
            .ca
            .server_config(&["127.0.0.1".to_owned(), "localhost".to_owned()])?;
        let tls_maker: Arc<dyn Fn() -> Option<Arc<rustls::ServerConfig>> + Send + Sync> =
            Arc::new(move || Some(foreman_tls.clone()));
        tokio::spawn(serve(
            https,
            Some(tls_maker),
            foreman_service.clone(),
            shutdown.clone(),
        ));
        tokio::spawn(serve(http, None, foreman_service, shutdown.clone()));
        tokio::spawn(serve(
            admin,
            None,
            Arc::new(crate::admin::Admin::new(shared.clone())),
            shutdown.clone(),
        ));
        tokio::spawn(serve(
            quads,
            None,
            Arc::new(QuadsService::new(shared.clone())),
            shutdown.clone(),
        ));

        let bmc_port = start_fleet(&shared, &shutdown).await?;
        let switch_port = crate::switch::ssh::start_switches(&shared, &shutdown).await?;
        let ssh_port = crate::sshd::start(&shared, &shutdown).await?;
        start_sinks(&shared, &shutdown).await?;
        Ok(Self {
            shared,
            shutdown,
            addresses: Addresses {
                foreman_https,
                foreman_http,
                admin: admin_addr,
                bmc_port,
                switch_port,
                quads: quads_addr,
                ssh_port,
            },
        })
    }

    /// The QUADS server (REST API v3 below `/api/v3/`), plain HTTP.
    #[must_use]
    pub fn quads_url(&self) -> String {
        self.addresses.quads_url()
    }

    /// Foreman over HTTPS, e.g. `https://127.0.0.1:43121`.
    #[must_use]
    pub fn foreman_url(&self) -> String {
        self.addresses.foreman_url()
    }

    /// Foreman over plain HTTP.
    #[must_use]
    pub fn foreman_http_url(&self) -> String {
        self.addresses.foreman_http_url()
    }

    /// The admin endpoint (counters, log, inventory), plain HTTP.
    #[must_use]
    pub fn admin_url(&self) -> String {
        self.addresses.admin_url()
    }

    /// The address of host `index`'s BMC.
    #[must_use]
    pub fn bmc_addr(&self, index: usize) -> SocketAddr {
        self.addresses.bmc_addr(&self.shared.config, index)
    }

    /// Host `index`'s own address and SSH port (`127.2.0.1:40222`), where its installed OS
    /// answers once its install finished (`None` when the lab runs no host listeners).
    #[must_use]
    pub fn host_addr(&self, index: usize) -> Option<SocketAddr> {
        self.addresses.host_addr(&self.shared.config, index)
    }

    /// The base URL of host `index`'s BMC, e.g. `https://127.0.1.1:40111`.
    #[must_use]
    pub fn bmc_url(&self, index: usize) -> String {
        self.addresses.bmc_url(&self.shared.config, index)
    }

    /// The SSH address (`ip:port`) of switch `index` (`sw01` is 0).
    #[must_use]
    pub fn switch_addr(&self, index: usize) -> Option<SocketAddr> {
        self.addresses.switch_addr(&self.shared, index)
    }

    /// A host's switch ports with their committed VLANs (the isolation report's network view).
    #[must_use]
    pub fn host_ports(&self, host: &str) -> Vec<HostPort> {
        self.shared.host_ports(host)
    }

    /// The lab CA certificate (PEM) that every lab server's certificate chains to.
    #[must_use]
    pub fn ca_pem(&self) -> &str {
        self.shared.ca.pem()
    }

    /// The configuration the lab runs with.
    #[must_use]
    pub fn config(&self) -> &LabConfig {
        &self.shared.config
    }

    /// Everything a client needs to use the lab.
    #[must_use]
    pub fn inventory(&self) -> Inventory {
        self.addresses.inventory(&self.shared)
    }

    /// A copy of every counter.
    #[must_use]
    pub fn metrics(&self) -> MetricsSnapshot {
        self.shared.snapshot()
    }

    /// The request log (the last `log_limit` requests).
    #[must_use]
    pub fn log(&self) -> Vec<LogEntry> {
        self.shared.metrics.log()
    }

    /// The isolation report against `expect` (also served as `POST /isolation`).
    #[must_use]
    pub fn isolation(&self, expect: &Expectation) -> IsolationReport {
        self.shared.isolation(expect)
    }

    /// Runs `f` on the lab state, after moving every machine forward to now.
    pub fn with_state<T>(&self, f: impl FnOnce(&mut LabState) -> T) -> T {
        self.shared.with_state(f)
    }

    /// The shared parts (for services and tests in this crate).
    #[must_use]
    pub fn shared(&self) -> &Arc<LabShared> {
        &self.shared
    }

    /// The fake SMTP server's address, when [`SinksConfig::smtp`] is on.
    #[must_use]
    pub fn smtp_addr(&self) -> Option<SocketAddr> {
        self.shared.sinks.smtp_addr.get().copied()
    }

    /// The webhook sink's URL, when [`SinksConfig::webhook`] is on.
    #[must_use]
    pub fn webhook_url(&self) -> Option<String> {
        self.shared.sinks.webhook_url.get().cloned()
    }

    /// The mail the SMTP server took, in order (also served as `GET /mail`).
    #[must_use]
    pub fn mail(&self) -> Vec<crate::smtp::ReceivedMail> {
        self.shared
            .sinks
            .mail
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The POSTs the webhook sink took, in order (also served as `GET /webhooks`).
    #[must_use]
    pub fn webhooks(&self) -> Vec<crate::webhook::ReceivedWebhook> {
        self.shared
            .sinks
            .webhooks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Stops every server.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, LabError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| LabError::Bind { addr, source })
}

fn local(listener: &TcpListener) -> Result<SocketAddr, LabError> {
    listener.local_addr().map_err(|source| LabError::Bind {
        addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        source,
    })
}

/// The wall clock now, to the minute, in Unix seconds: the QUADS server's clock at lab time 0
/// (the server runs at UTC).
fn wall_clock_minute() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    now - now.rem_euclid(60)
}

/// Binds a listener on each of `ips`, all on one port: `fixed`, or (0) the first one's
/// ephemeral port, trying again from the start when that port is taken on another address.
/// Returns the port (0 when `ips` is empty) and the listeners in the order of `ips`.
pub(crate) async fn bind_on_one_port(
    ips: &[Ipv4Addr],
    fixed: u16,
) -> Result<(u16, Vec<TcpListener>), LabError> {
    let mut last_error = None;
    let attempts = if fixed == 0 { 8 } else { 1 };
    'attempt: for _ in 0..attempts {
        let mut listeners = Vec::with_capacity(ips.len());
        let mut port = fixed;
        for &ip in ips {
            let addr = SocketAddr::from((ip, port));
            match TcpListener::bind(addr).await {
                Ok(listener) => {
                    if port == 0 {
                        port = local(&listener)?.port();
                    }
                    listeners.push(listener);
                }
                Err(source) => {
                    last_error = Some(LabError::Bind { addr, source });
                    continue 'attempt;
                }
            }
        }
        return Ok((port, listeners));
    }
    Err(last_error.unwrap_or_else(|| LabError::Config("no free port".to_owned())))
}

/// Starts the notification sinks `shared.config.sinks` asks for.
async fn start_sinks(
    shared: &Arc<LabShared>,
    shutdown: &CancellationToken,
) -> Result<(), LabError> {
    let config = &shared.config.sinks;
    let bind_error = |source| LabError::Bind {
        addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        source,
    };
    if config.smtp {
        let tls = shared
            .ca
            .server_config(&["127.0.0.1".to_owned(), "localhost".to_owned()])?;
        let sink = crate::smtp::SmtpSink::start(
            crate::smtp::SmtpSinkConfig {
                tls: Some(tls),
                implicit_tls: config.smtp_implicit_tls,
                login: config.smtp_login.clone(),
            },
            shared.sinks.mail.clone(),
            shutdown.clone(),
        )
        .await
        .map_err(bind_error)?;
        let _ = shared.sinks.smtp_addr.set(sink.addr());
    }
    if config.webhook {
        let sink = crate::webhook::WebhookSink::start(
            crate::webhook::WebhookSinkConfig {
                secret: config.webhook_secret.clone(),
                fail_first: config.webhook_fail_first,
            },
            shared.sinks.webhooks.clone(),
            shutdown.clone(),
        )
        .await
        .map_err(bind_error)?;
        let _ = shared.sinks.webhook_url.set(sink.url());
    }
    Ok(())
}

/// Binds every BMC on one port and serves them until `shutdown`.
async fn start_fleet(
    shared: &Arc<LabShared>,
    shutdown: &CancellationToken,
) -> Result<u16, LabError> {
    let fleet = Arc::new(BmcFleet::new(shared.clone()));
    let first = shared.config.bmc_first_ip;
    let ips: Vec<Ipv4Addr> = (0..shared.config.hosts)
        .map(|index| bmc_ip(first, index))
        .collect();
    let (port, listeners) = bind_on_one_port(&ips, shared.config.bmc_port).await?;
    for (index, listener) in listeners.into_iter().enumerate() {
        let tls = match shared.config.bmc_scheme {
            Scheme::Http => None,
            Scheme::Https => {
                let shared = shared.clone();
                let maker: Arc<dyn Fn() -> Option<Arc<rustls::ServerConfig>> + Send + Sync> =
                    Arc::new(move || shared.bmc_server_config(index));
                Some(maker)
            }
        };
        tokio::spawn(serve(listener, tls, fleet.clone(), shutdown.clone()));
    }
    Ok(port)
}

/// The address of BMC `index`: counting up from `first`, skipping host parts 0 and 255.
#[must_use]
pub fn bmc_ip(first: Ipv4Addr, index: usize) -> Ipv4Addr {
    let [a, b, c, d] = first.octets();
    let start = (u32::from(b) * 256 + u32::from(c)) * 254 + u32::from(d.max(1)) - 1;
    #[allow(clippy::cast_possible_truncation)]
    let n = start + index as u32;
    #[allow(clippy::cast_possible_truncation)]
    Ipv4Addr::new(
        a,
        (n / (254 * 256)) as u8,
        ((n / 254) % 256) as u8,
        (n % 254 + 1) as u8,
    )
}

fn ip_offset(first: Ipv4Addr, ip: Ipv4Addr) -> Option<usize> {
    let [a, b, c, d] = ip.octets();
    let [fa, fb, fc, fd] = first.octets();
    if a != fa || d == 0 || d == 255 {
        return None;
    }
    let n = |b: u8, c: u8, d: u8| (u32::from(b) * 256 + u32::from(c)) * 254 + u32::from(d) - 1;
    let (here, start) = (n(b, c, d), n(fb, fc, fd.max(1)));
    here.checked_sub(start).map(|x| x as usize)
}

/// The lab's MAC address number `n` in block `block` (`52:54:<block>:..`): block 0 holds the
/// machines' boot NICs, block 1 the switch-wired NICs a machine's boot devices do not list.
#[must_use]
pub(crate) fn lab_mac(block: u8, n: u64) -> String {
    format!(
        "52:54:{block:02x}:{:02x}:{:02x}:{:02x}",
        (n >> 16) & 0xff,
        (n >> 8) & 0xff,
        n & 0xff
    )
}

/// The hosts of a lab: names, models, devices, initial boot order and power, all from the seed.
fn build_machines(config: &LabConfig) -> Vec<Machine> {
    (0..config.hosts)
        .map(|index| {
            let flavor = config.flavors[index % config.flavors.len()];
            let models = flavor.models();
            let model = models[(index / config.flavors.len()) % models.len()];
            let (rack, unit) = (index / 32 + 1, index % 32 + 1);
            let name = format!("f{rack:02}-h{unit:02}-000-{model}.lab.example");
            let mac = |nic: u64| lab_mac(0, index as u64 * 4 + nic);
            let mut devices = vec![
                BootDevice {
                    id: "NIC.Integrated.1-1-1".into(),
                    kind: DeviceKind::Nic,
                    mac: Some(mac(0)),
                },
                BootDevice {
                    id: "NIC.Integrated.1-2-1".into(),
                    kind: DeviceKind::Nic,
                    mac: Some(mac(1)),
                },
                BootDevice {
                    id: "NIC.Slot.3-1-1".into(),
                    kind: DeviceKind::Nic,
                    mac: Some(mac(2)),
                },
                BootDevice {
                    id: "HardDisk.List.1-1".into(),
                    kind: DeviceKind::Disk,
                    mac: None,
                },
            ];
            if flavor.is_dell() {
                // iDRACs list their virtual CD among the boot sources (outside the order here).
                devices.push(BootDevice {
                    id: "Optical.iDRACVirtual.1-1".into(),
                    kind: DeviceKind::VirtualCd,
                    mac: None,
                });
            }
            let provisioning_nic = provisioning_nic(model).to_owned();
            // About a third of the fleet starts in the "director" order (another NIC first) and
            // needs a boot-order change before it can be provisioned.
            let needs_change = mix(config.seed ^ 0xb007 ^ mix(index as u64)).is_multiple_of(3);
            let boot_order = interfaces_order_at(
                &name,
                model,
                if needs_change {
                    HostType::Director
                } else {
                    HostType::Foreman
                },
            );
            let powered_on = !mix(config.seed ^ 0x9043 ^ mix(index as u64)).is_multiple_of(10);
            let uefi = flavor.is_dell() && config.uefi_hosts.contains(&index);
            let mut bios = std::collections::BTreeMap::new();
            if uefi {
                let other = interfaces_order(model, HostType::Director)[0].clone();
                for (k, v) in [
                    ("PxeDev1EnDis", "Enabled"),
                    ("PxeDev1Interface", other.as_str()),
                    ("PxeDev2EnDis", "Enabled"),
                    ("PxeDev2Interface", provisioning_nic.as_str()),
                ] {
                    bios.insert(k.to_owned(), serde_json::Value::from(v));
                }
            }
            for (k, v) in [
                ("BootMode", if uefi { "Uefi" } else { "Bios" }),
                ("OneTimeBootMode", "Disabled"),
                ("OneTimeBootSeqDev", "NIC.Integrated.1-1-1"),
                ("SysProfile", "PerfOptimized"),
                ("ProcVirtualization", "Enabled"),
                ("LogicalProc", "Enabled"),
                ("SerialComm", "OnConRedirCom2"),
                ("BootSeqRetry", "Enabled"),
            ] {
                bios.insert(k.to_owned(), serde_json::Value::from(v));
            }
            Machine {
                index,
                name,
                model: model.to_owned(),
                flavor,
                bmc: SocketAddr::from((bmc_ip(config.bmc_first_ip, index), 0)),
                provisioning_nic,
                devices,
                boot_order,
                pending_boot_order: None,
                boot_mode: if uefi { "Uefi" } else { "Bios" }.to_owned(),
                override_target: OverrideTarget::None,
                override_enabled: OverrideEnabled::Disabled,
                bios,
                nic_attributes: std::collections::BTreeMap::new(),
                jobs: Vec::new(),
                next_job: 0,
                phase: if powered_on {
                    Phase::Running {
                        from: crate::machine::BootedFrom::Disk,
                    }
                } else {
                    Phase::Off
                },
                virtual_media: None,
                went_down: false,
                build: false,
                installed_at: None,
                bmc_restarting_until: None,
                pxe_fails_once: false,
                install_hangs: false,
                network_boots_in_build: 0,
            }
        })
        .collect()
}

/// Badfish's host types: `foreman` boots the provisioning NIC first, `director` another NIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostType {
    /// Provisioning NIC first.
    Foreman,
    /// Another NIC first (the order a tenant's director leaves).
    Director,
}

/// The NIC on the provisioning network for a model.
#[must_use]
pub fn provisioning_nic(model: &str) -> &'static str {
    match model {
        "r650" | "r760" | "6029p" | "dl380" | "sr650" => "NIC.Slot.3-1-1",
        _ => "NIC.Integrated.1-1-1",
    }
}

/// The persistent boot order of a model for a host type (the lab's interfaces file says the
/// same under `{type}_{model}`).
#[must_use]
pub fn interfaces_order(model: &str, host_type: HostType) -> Vec<String> {
    entry_order(model, host_type, InterfacesEntry::Model)
}

/// Which key of the lab's interfaces file Badfish picks for a lab host's BMC, named
/// `mgmt-<short name>` as QUADS names it (`mgmt-f01-h02-000-r660`: rack `f01`, U location
/// `h02`, blade `000`, model `r660`). Every entry starts with the model's provisioning NIC
/// (so any of them provisions the host); the rest of the order tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterfacesEntry {
    /// `{type}_{model}`: most hosts.
    Model,
    /// `{type}_000_r750`: Badfish tries the blade key first, so every r750.
    Blade,
    /// `{type}_f01_h02_000_{model}`: rack, U location and blade.
    Location,
    /// `{type}_f01_h03_{model}`: rack and U location.
    RackUloc,
    /// `{type}_f01_r650`: the rack's r650s.
    Rack,
    /// `{type}_h05_000_{model}`: what a lookup by the host's own FQDN (rack `h05`) would pick;
    /// Badfish never picks it for a `mgmt-` name.
    Decoy,
}

/// The entry Badfish picks for the lab host `name` (`f01-h02-000-r660.lab.example`), from the
/// lab's naming alone (an independent statement of Badfish's key order for the lab's names).
#[must_use]
pub fn interfaces_entry(name: &str, model: &str) -> InterfacesEntry {
    let short = name.split('.').next().unwrap_or(name);
    let parts: Vec<&str> = short.split('-').collect();
    let (rack, unit) = (
        parts.first().copied().unwrap_or(""),
        parts.get(1).copied().unwrap_or(""),
    );
    if model == "r750" {
        InterfacesEntry::Blade
    } else if (rack, unit) == ("f01", "h02") {
        InterfacesEntry::Location
    } else if (rack, unit) == ("f01", "h03") {
        InterfacesEntry::RackUloc
    } else if rack == "f01" && model == "r650" {
        InterfacesEntry::Rack
    } else {
        InterfacesEntry::Model
    }
}

/// The boot order of `entry` for a model and host type.
#[must_use]
pub fn entry_order(model: &str, host_type: HostType, entry: InterfacesEntry) -> Vec<String> {
    let p = provisioning_nic(model);
    let nics = [
        "NIC.Integrated.1-1-1",
        "NIC.Integrated.1-2-1",
        "NIC.Slot.3-1-1",
    ];
    let others: Vec<&str> = nics.iter().copied().filter(|n| *n != p).collect();
    let (a, b, d) = (others[0], others[1], "HardDisk.List.1-1");
    let mut order = match entry {
        InterfacesEntry::Model => [p, a, b, d],
        InterfacesEntry::Location => [p, b, a, d],
        InterfacesEntry::Blade => [p, d, a, b],
        InterfacesEntry::RackUloc => [p, d, b, a],
        InterfacesEntry::Rack => [p, a, d, b],
        InterfacesEntry::Decoy => [p, b, d, a],
    };
    if host_type == HostType::Director {
        order.swap(0, 1);
    }
    order.into_iter().map(str::to_owned).collect()
}

/// The boot order the lab's interfaces file gives the lab host `name` for a host type, as
/// Badfish picks it for `mgmt-<short name>` (see [`InterfacesEntry`]).
#[must_use]
pub fn interfaces_order_at(name: &str, model: &str, host_type: HostType) -> Vec<String> {
    entry_order(model, host_type, interfaces_entry(name, model))
}

/// The Badfish-format interfaces YAML for every model in the lab: `{type}_{model}` keys, and
/// location-specific keys for some hosts (see [`InterfacesEntry`]).
#[must_use]
pub fn interfaces_yaml(models: &[&str]) -> String {
    let mut text = String::from(
        "# Boot order by host type and model, in Badfish's interfaces format: `type_model` keys,\n\
         # and rack/U location/blade keys for some hosts, found from `mgmt-<host>` names.\n",
    );
    for model in models {
        for (name, host_type) in [
            ("director", HostType::Director),
            ("foreman", HostType::Foreman),
        ] {
            let mut keys = vec![
                (format!("{name}_{model}"), InterfacesEntry::Model),
                (
                    format!("{name}_f01_h02_000_{model}"),
                    InterfacesEntry::Location,
                ),
                (format!("{name}_f01_h03_{model}"), InterfacesEntry::RackUloc),
                (format!("{name}_h05_000_{model}"), InterfacesEntry::Decoy),
            ];
            match *model {
                "r650" => keys.push((format!("{name}_f01_r650"), InterfacesEntry::Rack)),
                "r750" => keys.push((format!("{name}_000_r750"), InterfacesEntry::Blade)),
                _ => {}
            }
            for (key, entry) in keys {
                text.push_str(&format!(
                    "{key}: {}\n",
                    entry_order(model, host_type, entry).join(",")
                ));
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bmc_addresses_round_trip() {
        let first = Ipv4Addr::new(127, 0, 1, 1);
        for index in [0, 1, 253, 254, 255, 5000, 40_000] {
            let ip = bmc_ip(first, index);
            let [_, _, _, d] = ip.octets();
            assert!(d != 0 && d != 255, "{ip}");
            assert_eq!(ip_offset(first, ip), Some(index), "{ip}");
        }
        assert_eq!(bmc_ip(first, 0), Ipv4Addr::new(127, 0, 1, 1));
        assert_eq!(bmc_ip(first, 254), Ipv4Addr::new(127, 0, 2, 1));
        assert_eq!(ip_offset(first, Ipv4Addr::new(127, 0, 0, 1)), None);
    }

    #[test]
    fn a_third_needs_a_boot_order_change() {
        let config = LabConfig {
            hosts: 300,
            ..LabConfig::default()
        };
        let machines = build_machines(&config);
        let director = machines
            .iter()
            .filter(|m| m.boot_order.first() != Some(&m.provisioning_nic))
            .count();
        assert!((70..130).contains(&director), "{director}");
        let names: std::collections::BTreeSet<_> = machines.iter().map(|m| &m.name).collect();
        assert_eq!(names.len(), 300);
    }
}
