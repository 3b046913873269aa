//! The executor against testkit's simulated lab over loopback HTTPS: real store, real
//! foreman-client and redfish-client through the limits' transports. Checks what the lab saw
//! (installs, power cycles, sessions, overlapping writes) besides what the executor reports.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use foreman_client::{ForemanClient, ForemanUrl};
use provision_core::executor::adapters::{ForemanAdapter, InterfacesBootOrders, RedfishFleet};
use provision_core::executor::quads_server::HostsFile;
use provision_core::executor::validate::{LabIsolation, TcpProbe};
use provision_core::executor::{
    CloudEvent, ExecutorConfig, HostStatus, MoveRequest, Ports, RunProgress, RunReport, RunSetup,
    ValidateRequest, Validation, ValidationConfig, move_hosts, validate_clouds,
};
use provision_core::limits::{Limits, RateConfig};
use provision_core::model::{
    AssignmentSpec, BootType, Cloud, CloudName, CloudStatus, Host, HostName, HostState,
    NewSchedule, TimeRange, Wipe,
};
use provision_core::retry::{Jitter, RetryPolicy};
use provision_core::shutdown::Shutdown;
use provision_core::{OpenMode, Store, StoreOptions, SystemClock, Timestamp};
use quads_http::{HttpsTransport, TlsVerification, TransportConfig};
use redfish_client::{InterfacesFile, RedfishClient, WaitPolicy};
use testkit::{FaultProfile, Flavor, Lab, LabConfig};

const CLOUDS: [&str; 3] = ["cloud02", "cloud03", "cloud04"];
const UEFI_HOSTS: [usize; 2] = [4, 12];

struct Rig {
    lab: Lab,
    store: Store,
    _dir: tempfile::TempDir,
    ca: std::path::PathBuf,
    at: Timestamp,
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

async fn rig(hosts: usize, faults: FaultProfile, os: &str) -> Rig {
    rig_of(hosts, faults, os, LabConfig::default().flavors).await
}

/// [`rig`] with BMCs of these flavours (round-robin).
async fn rig_of(hosts: usize, faults: FaultProfile, os: &str, flavors: Vec<Flavor>) -> Rig {
    let lab = Lab::start(LabConfig {
        hosts,
        flavors,
        time_scale: 0.01,
        faults,
        // Dell hosts in UEFI mode whose PxeDev1 is not the provisioning NIC.
        uefi_hosts: UEFI_HOSTS.to_vec(),
        ..LabConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, lab.ca_pem()).unwrap();
    let store = Store::open(StoreOptions {
        path: dir.path().join("quads.db"),
        mode: OpenMode::CreateIfMissing,
        clock: Arc::new(SystemClock),
    })
    .await
    .unwrap();
    for name in ["cloud01"].iter().chain(CLOUDS.iter()) {
        store
            .add_cloud(Cloud {
                name: CloudName::new(*name).unwrap(),
                description: String::new(),
                status: CloudStatus::Pending,
            })
            .await
            .unwrap();
    }
    let mut assignments = Vec::new();
    for (i, cloud) in CLOUDS.iter().enumerate() {
        let a = store
            .add_assignment(AssignmentSpec {
                cloud: CloudName::new(*cloud).unwrap(),
                ticket: format!("{}", 1000 + i),
                owner: format!("tenant{i}"),
                description: String::new(),
                wipe: Wipe::Yes,
                os: Some(os.to_owned()),
                partition_table: Some("Kickstart default".to_owned()),
                medium: Some("RHEL 9 mirror".to_owned()),
                boot_type: BootType::Bios,
                qinq: provision_core::model::QinQ::Separated,
                public_vlan: None,
            })
            .await
            .unwrap();
        assignments.push(a);
    }
    let inventory = lab.inventory();
    for (i, h) in inventory.hosts.iter().enumerate() {
        let name = HostName::new(h.name.as_str()).unwrap();
        store
            .add_host(Host {
                name: name.clone(),
                bmc_address: h.bmc_address.clone(),
                model: Some(h.model.clone()),
                host_type: None,
                default_cloud: CloudName::new("cloud01").unwrap(),
                current_cloud: CloudName::new("cloud01").unwrap(),
                state: HostState::Active,
            })
            .await
            .unwrap();
        store
            .add_schedule(NewSchedule {
                host: name,
                assignment: assignments[i % CLOUDS.len()].id,
                range: TimeRange::new(t("2025-01-01"), t("2025-02-01")).unwrap(),
            })
            .await
            .unwrap();
    }
    Rig {
        lab,
        store,
        _dir: dir,
        ca,
        at: t("2025-01-10"),
    }
}

/// What Badfish 1.8.2 itself picks for each host's BMC `mgmt-<short name>` as `foreman`
/// (its `get_interfaces_by_type`, run by the peers venv's python), or `None` without the venv
/// (`QUADS_PEERS`, set by `cargo xtask ci`).
#[allow(clippy::print_stderr)]
async fn badfish_picks(yaml: &str, hosts: &[testkit::InventoryHost]) -> Option<Vec<Vec<String>>> {
    let Some(venv) = std::env::var_os("QUADS_PEERS") else {
        eprintln!("badfish: no peers venv (QUADS_PEERS); the lab's own table stands in");
        return None;
    };
    const SCRIPT: &str = "import asyncio, json, logging, sys\n\
        from badfish.main import Badfish\n\
        async def pick(host):\n    \
            b = Badfish.__new__(Badfish)\n    \
            b.host, b.rack, b.uloc, b.blade = host, None, None, None\n    \
            b.logger = logging.getLogger('badfish')\n    \
            return await b.get_interfaces_by_type('foreman', sys.argv[1])\n\
        for line in sys.stdin.read().split():\n    \
            print(json.dumps(asyncio.run(pick(line))))\n";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("interfaces.yml");
    std::fs::write(&path, yaml).unwrap();
    let names: String = hosts
        .iter()
        .map(|h| format!("mgmt-{}\n", h.name.split('.').next().unwrap()))
        .collect();
    let python = std::path::Path::new(&venv).join("bin/python");
    let out = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = std::process::Command::new(python)
            .arg("-c")
            .arg(SCRIPT)
            .arg(&path)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(names.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "badfish's python failed");
    let picks: Vec<Vec<String>> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(picks.len(), hosts.len());
    Some(picks)
}

fn quick(attempts: u32, deadline: Duration) -> RetryPolicy {
    RetryPolicy {
        max_attempts: attempts,
        base: Duration::from_millis(50),
        max_backoff: Duration::from_millis(500),
        jitter: Jitter::Full,
        attempt_timeout: Some(deadline),
        step_deadline: None,
        ..RetryPolicy::default()
    }
}

fn config() -> ExecutorConfig {
    let mut c = ExecutorConfig::default();
    c.limits.power_on_rate = RateConfig::unlimited();
    c.limits.hosts_in_flight = 128;
    c.poll_interval = Duration::from_millis(200);
    c.install_timeout = Duration::from_secs(60);
    c.grace = Duration::from_secs(2);
    for p in [
        &mut c.steps.cloud_user,
        &mut c.steps.bmc_account,
        &mut c.steps.boot_order,
        &mut c.steps.foreman_host,
        &mut c.steps.network_boot,
        &mut c.steps.power_off,
        &mut c.steps.record,
    ] {
        *p = quick(6, Duration::from_secs(60));
    }
    c
}

impl Rig {
    fn models(&self) -> Vec<String> {
        let mut m: Vec<String> = self
            .lab
            .inventory()
            .hosts
            .iter()
            .map(|h| h.model.clone())
            .collect();
        m.sort();
        m.dedup();
        m
    }

    async fn run(&self, config: ExecutorConfig, shutdown: Shutdown) -> RunReport {
        self.run_as(config, shutdown, None).await
    }

    async fn run_as(
        &self,
        config: ExecutorConfig,
        shutdown: Shutdown,
        bmc_password: Option<&str>,
    ) -> RunReport {
        self.run_with(config, shutdown, bmc_password, None).await
    }

    /// The lab's ports, the isolation report as the judge: what the validation needs.
    fn validation(&self, port_timeout: Duration) -> Validation {
        let inventory = self.lab.inventory();
        let hosts = HostsFile::parse(&inventory.hosts_resolve()).unwrap();
        let transport = Arc::new(HttpsTransport::new(&TransportConfig::default()).unwrap());
        Validation {
            config: ValidationConfig {
                ports: vec![inventory.ssh_port().expect("the lab's hosts listen")],
                port_timeout,
                connect_timeout: Duration::from_secs(2),
                ..ValidationConfig::default()
            },
            probe: Arc::new(TcpProbe::new(hosts, Duration::from_secs(2))),
            isolation: Some(Arc::new(LabIsolation::new(
                &self.lab.admin_url(),
                transport,
            ))),
            network: false,
        }
    }

    /// The run's setup and (for a validation on demand) the same ports.
    fn setup(
        &self,
        config: ExecutorConfig,
        shutdown: Shutdown,
        bmc_password: Option<&str>,
        progress: RunProgress,
    ) -> RunSetup {
        let limits = Limits::new(&config.limits).unwrap();
        let transport = Arc::new(
            HttpsTransport::new(&TransportConfig {
                tls: TlsVerification::CaBundle(self.ca.clone()),
                request_timeout: Duration::from_secs(30),
                ..TransportConfig::default()
            })
            .unwrap(),
        );
        let foreman_transport = limits.foreman_transport(transport.clone());
        let foreman = ForemanClient::with_transport(
            foreman_transport.clone(),
            foreman_client::ClientConfig::new(
                ForemanUrl::parse(&self.lab.foreman_url()).unwrap(),
                foreman_client::Credentials::password("admin", "changeme"),
            ),
        )
        .unwrap();
        let redfish = RedfishClient::with_transport(
            limits.bmc_transport(transport),
            redfish_client::ClientConfig {
                per_bmc_concurrency: config.limits.per_bmc,
                retry: redfish_client::RetryPolicy {
                    max_attempts: 6,
                    initial_delay: Duration::from_millis(20),
                    max_delay: Duration::from_millis(500),
                },
                waits: WaitPolicy::uniform(Duration::from_millis(20), Duration::from_secs(30)),
                ..redfish_client::ClientConfig::default()
            },
        );
        // as `quads move-hosts` does: every BMC session recorded in the store while open
        let _ = redfish.set_session_log(Arc::new(
            provision_core::executor::adapters::StoreSessionLog::new(self.store.clone()),
        ));
        let inventory = self.lab.inventory();
        let admin = &inventory.hosts[0];
        let model_names = self.models();
        let refs: Vec<&str> = model_names.iter().map(String::as_str).collect();
        let interfaces = InterfacesFile::parse(&testkit::lab::interfaces_yaml(&refs)).unwrap();
        RunSetup {
            infra_location: "lab".to_owned(),
            ports: Ports {
                foreman: Arc::new(ForemanAdapter::new(foreman, foreman_transport)),
                fleet: Arc::new(RedfishFleet::new(
                    redfish,
                    redfish_client::Credentials::new(
                        admin.bmc_username.clone(),
                        bmc_password.unwrap_or(admin.bmc_password.as_str()),
                    ),
                )),
                boot_orders: Arc::new(InterfacesBootOrders::new(
                    interfaces,
                    config.provisioning_host_type.clone(),
                )),
                clock: Arc::new(SystemClock),
                switches: None,
            },
            config,
            limits,
            shutdown,
            progress,
        }
    }

    async fn run_with(
        &self,
        config: ExecutorConfig,
        shutdown: Shutdown,
        bmc_password: Option<&str>,
        validation: Option<Validation>,
    ) -> RunReport {
        let progress = RunProgress::new();
        let setup = self.setup(config, shutdown, bmc_password, progress.clone());
        let report = move_hosts(
            &self.store,
            &MoveRequest {
                at: Some(self.at),
                validation,
                ..MoveRequest::default()
            },
            setup,
        )
        .await
        .unwrap();
        let seen = progress.snapshot();
        assert_eq!(
            [seen.total, seen.moved, seen.failed, seen.interrupted],
            [
                report.counts.planned,
                report.counts.moved,
                report.counts.failed,
                report.counts.interrupted
            ],
            "the progress counts what the report says"
        );
        assert!(seen.stages.is_empty(), "no host is left in a step");
        report
    }

    /// What the lab, Foreman, the BMCs and the store show for every moved host.
    /// Every host's persistent order now starts with the entry Badfish picks for its BMC
    /// `mgmt-<short name>` in the lab's interfaces file (location-specific keys included): the
    /// lab's own statement of it, and Badfish's answer itself when the peers venv is there.
    async fn check_boot_orders_are_badfishs(&self) {
        let inventory = self.lab.inventory();
        let models = self.models();
        let refs: Vec<&str> = models.iter().map(String::as_str).collect();
        let yaml = testkit::lab::interfaces_yaml(&refs);
        let badfish = badfish_picks(&yaml, &inventory.hosts).await;
        let mut location_specific = 0;
        for (i, h) in inventory.hosts.iter().enumerate() {
            let want =
                testkit::lab::interfaces_order_at(&h.name, &h.model, testkit::HostType::Foreman);
            if testkit::lab::interfaces_entry(&h.name, &h.model)
                != testkit::lab::InterfacesEntry::Model
            {
                location_specific += 1;
            }
            if let Some(picks) = &badfish {
                assert_eq!(picks[i], want, "{}: Badfish picks another entry", h.name);
            }
            let got = self.lab.with_state(|s| s.machines[i].boot_order.clone());
            assert_eq!(got.get(..want.len()), Some(want.as_slice()), "{}", h.name);
        }
        assert!(location_specific >= 4, "{location_specific}");
    }

    async fn check_moved(&self, report: &RunReport, except: &BTreeSet<String>) {
        let metrics = self.lab.metrics();
        let inventory = self.lab.inventory();
        let hosts = self.store.hosts().await.unwrap();
        for (i, h) in inventory.hosts.iter().enumerate() {
            if except.contains(&h.name) {
                continue;
            }
            let cloud = CLOUDS[i % CLOUDS.len()];
            let r = report.hosts.iter().find(|r| r.host == h.name).unwrap();
            assert_eq!(r.status, HostStatus::Moved, "{r:#?}");
            let c = metrics.host(&h.name);
            assert_eq!(c.installs, 1, "{}: {c:?}", h.name);
            assert!(c.power_cycles <= 1, "{}: {c:?}", h.name);
            assert_eq!(c.boots, 1, "{}: one boot per host: {c:?}", h.name);
            assert_eq!(c.sessions_open, 0, "{}: session leaked: {c:?}", h.name);
            let stored = hosts.iter().find(|x| x.name.as_str() == h.name).unwrap();
            assert_eq!(stored.current_cloud.as_str(), cloud);
            let (user_id, owner, os, build, params) = self.lab.with_state(|s| {
                let user = s.foreman.user_by_login(cloud).map(|u| u.id);
                let fh = &s.foreman.hosts[i];
                (
                    user,
                    fh.owner,
                    fh.operatingsystem_id,
                    s.machines[i].build,
                    fh.parameters
                        .iter()
                        .map(|p| (p.name.clone(), p.value.clone()))
                        .collect::<Vec<_>>(),
                )
            });
            assert!(user_id.is_some(), "user {cloud}");
            assert_eq!(
                format!("{owner:?}"),
                format!("Some(User({}))", user_id.unwrap())
            );
            assert_eq!(os, Some(1));
            assert!(!build);
            assert!(
                params.contains(&("quads_cloud".to_owned(), cloud.to_owned())),
                "{params:?}"
            );
        }
        assert_eq!(
            metrics.total_overlapping_writes(),
            0,
            "{:?}",
            metrics.overlapping_writes
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ilo_and_xcc_hosts_move_with_their_boot_order_staged_for_the_power_cycle() {
    let rig = rig_of(
        6,
        FaultProfile::none(),
        "RedHat 9.4",
        vec![Flavor::Hpe, Flavor::Lenovo],
    )
    .await;
    let staged: Vec<bool> = rig.lab.with_state(|s| {
        s.machines
            .iter()
            .map(|m| m.boot_order.first() != Some(&m.provisioning_nic))
            .collect()
    });
    assert!(staged.iter().any(|s| *s), "some host needs a new order");
    let report = rig
        .run(config(), Shutdown::new(Duration::from_secs(2)))
        .await;
    assert!(report.all_moved(), "{:#?}", report.hosts);
    // One boot per host: the staged order applied during the network boot's POST.
    rig.check_moved(&report, &BTreeSet::new()).await;
    for (i, h) in rig.lab.inventory().hosts.iter().enumerate() {
        let want = testkit::lab::interfaces_order_at(&h.name, &h.model, testkit::HostType::Foreman);
        let got = rig.lab.with_state(|s| s.machines[i].boot_order.clone());
        assert_eq!(got.get(..want.len()), Some(want.as_slice()), "{}", h.name);
    }
    let metrics = rig.lab.metrics();
    // Staged where each vendor keeps its own order: iLO's Bios/Boot settings, XCC's next order.
    let stagings = metrics.endpoint("bmc PATCH /redfish/v1/Systems/:id/Bios/Boot/Settings")
        + metrics.endpoint(
            "bmc PATCH /redfish/v1/Systems/:id/Oem/Lenovo/BootSettings/BootOrder.BootOrder",
        );
    let needing = staged.iter().filter(|s| **s).count() as u64;
    assert_eq!(stagings, needing, "one staging per host that needed it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twelve_hosts_in_three_clouds_move_with_wipe() {
    let rig = rig(12, FaultProfile::none(), "RedHat 9.4").await;
    let report = rig
        .run(config(), Shutdown::new(Duration::from_secs(2)))
        .await;
    assert!(
        report.all_moved(),
        "{:#?}",
        report
            .hosts
            .iter()
            .filter(|h| h.status != HostStatus::Moved)
            .collect::<Vec<_>>()
    );
    rig.check_moved(&report, &BTreeSet::new()).await;
    rig.check_boot_orders_are_badfishs().await;
    // The UEFI host network-booted (check_moved: one boot, one install) through PxeDev1,
    // which now is its provisioning NIC.
    let (uefi, pxe_dev, provisioning) = rig.lab.with_state(|s| {
        let m = &s.machines[UEFI_HOSTS[0]];
        (
            m.bios.get("BootMode").cloned(),
            m.uefi_pxe_device().map(str::to_owned),
            m.provisioning_nic.clone(),
        )
    });
    assert_eq!(uefi, Some(serde_json::json!("Uefi")));
    assert_eq!(pxe_dev, Some(provisioning));
    // Foreman's share of a host: one write carrying the parameters; its read went out in a
    // search with other hosts' (batched reads), not alone
    let metrics = rig.lab.metrics();
    assert_eq!(metrics.endpoint("foreman GET /api/hosts/:id"), 0);
    assert_eq!(metrics.endpoint("foreman PUT /api/hosts/:id"), 12);
    assert_eq!(
        metrics.endpoints_starting_with("foreman POST /api/hosts/:host_id/parameters"),
        0
    );
    bmc_requests_are_not_repeated(&rig.lab.log());
    assert_eq!(report.provisioned_clouds.len(), 3);
    let clouds = rig.store.clouds().await.unwrap();
    assert!(
        clouds
            .iter()
            .filter(|c| c.name.as_str() != "cloud01")
            .all(|c| c.status == CloudStatus::Provisioned)
    );
    // the tenant's BMC credential works
    let inventory = rig.lab.inventory();
    let client = RedfishClient::with_transport(
        Arc::new(
            HttpsTransport::new(&TransportConfig {
                tls: TlsVerification::CaBundle(rig.ca.clone()),
                ..TransportConfig::default()
            })
            .unwrap(),
        ),
        redfish_client::ClientConfig::default(),
    );
    let bmc = client.bmc(
        redfish_client::BmcAddress::parse(&inventory.hosts[0].bmc_address).unwrap(),
        redfish_client::Credentials::new("quads", "lab@1000"),
    );
    bmc.login().await.unwrap();
    bmc.logout().await.unwrap();
    // a second run finds nothing to do
    let again = rig
        .run(config(), Shutdown::new(Duration::from_secs(2)))
        .await;
    assert_eq!(again.counts.planned, 0);
    // when the schedules end, every host goes back to the spare pool: powered off, recorded
    let mut rig = rig;
    rig.at = t("2025-02-05");
    let back = rig
        .run(config(), Shutdown::new(Duration::from_secs(2)))
        .await;
    assert_eq!(back.counts.moved, 12, "{:#?}", back.hosts);
    assert!(
        back.hosts
            .iter()
            .all(|h| !h.wipe && h.steps.iter().any(|s| s.step == "power-off"))
    );
    let off = rig.lab.with_state(|s| {
        s.machines
            .iter()
            .filter(|m| matches!(m.phase, testkit::machine::Phase::Off))
            .count()
    });
    assert_eq!(off, 12);
    assert!(
        rig.store
            .hosts()
            .await
            .unwrap()
            .iter()
            .all(|h| h.current_cloud.as_str() == "cloud01")
    );
    let rig = rig;
    // the journal tells the story: one verified network boot per host
    let entries = rig
        .store
        .journal()
        .entries(provision_core::model::RunId(report.run))
        .await
        .unwrap();
    let boots = entries
        .iter()
        .filter(|e| {
            e.step.to_word() == "network-boot"
                && e.outcome
                    .is_some_and(provision_core::model::StepOutcome::is_done)
        })
        .count();
    assert_eq!(boots, 12);
}

/// What each host's BMC saw in a wipe move: nothing read again that the operation had just
/// read or verified. No login probe that fails (a fresh move sets the account without asking),
/// the service root once, the boot order read once to set it (and once more to verify a DMTF
/// order applied at once), and between the PXE
/// override's PATCH and the power-off only the override's verifying read (plus the system's
/// own read where the override lives elsewhere: iDRAC10's `Settings`). The system and the
/// manager are found once per move: a host whose staged order is checked after the install
/// logs in again then, but does not look for them again.
fn bmc_requests_are_not_repeated(log: &[testkit::LogEntry]) {
    let mut hosts: std::collections::BTreeMap<&str, Vec<&testkit::LogEntry>> =
        std::collections::BTreeMap::new();
    for e in log.iter().filter(|e| e.endpoint.contains(" /redfish")) {
        if let Some(h) = e.host.as_deref() {
            hosts.entry(h).or_default().push(e);
        }
    }
    assert!(!hosts.is_empty());
    for (host, entries) in hosts {
        let count = |endpoint: &str| entries.iter().filter(|e| e.endpoint == endpoint).count();
        // a refused session login, or a refused Basic check of the tenant's login
        let failed_logins = entries.iter().filter(|e| e.status == 401).count();
        assert_eq!(failed_logins, 0, "{host}: a failed login");
        assert_eq!(
            count("GET /redfish/v1"),
            1,
            "{host}: the service root read again"
        );
        for collection in ["GET /redfish/v1/Systems", "GET /redfish/v1/Managers"] {
            assert!(
                count(collection) <= 1,
                "{host}: {collection} read {} times",
                count(collection)
            );
        }
        let reset = "POST /redfish/v1/Systems/:id/Actions/ComputerSystem.Reset";
        let first_reset = entries.iter().position(|e| e.endpoint == reset).unwrap();
        let order_reads = entries[..first_reset]
            .iter()
            .filter(|e| {
                e.endpoint.ends_with("/BootSources")
                    || e.endpoint.ends_with("/DellBootSources")
                    || e.endpoint.ends_with("/BootOptions")
            })
            .count();
        // a DMTF order applied at once is read back to verify it; Dell's, after the POST
        let dell = entries.iter().any(|e| e.endpoint.contains("BootSources"));
        assert!(
            order_reads <= if dell { 1 } else { 2 },
            "{host}: the boot order read {order_reads} times before the power cycle"
        );
        // a fresh lab host has no override: every host's is set before its power cycle
        let patch = entries[..first_reset]
            .iter()
            .rposition(|e| {
                e.endpoint == "PATCH /redfish/v1/Systems/:id"
                    || e.endpoint == "PATCH /redfish/v1/Systems/:id/Settings"
            })
            .unwrap_or_else(|| panic!("{host}: no PXE override before the power cycle"));
        let reads = first_reset - patch - 1;
        let idrac10 = entries[patch].endpoint.ends_with("/Settings");
        assert_eq!(
            reads,
            if idrac10 { 2 } else { 1 },
            "{host}: reads between the override and the power-off: {:?}",
            entries[patch + 1..first_reset]
                .iter()
                .map(|e| &e.path)
                .collect::<Vec<_>>()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_hosts_move_within_the_limits() {
    let rig = rig(200, FaultProfile::none(), "RedHat 9.4").await;
    let mut c = config();
    c.limits.hosts_in_flight = 64;
    let report = rig.run(c, Shutdown::new(Duration::from_secs(2))).await;
    assert!(
        report.all_moved(),
        "{:#?}",
        report
            .hosts
            .iter()
            .filter(|h| h.status != HostStatus::Moved)
            .take(3)
            .collect::<Vec<_>>()
    );
    rig.check_moved(&report, &BTreeSet::new()).await;
    let limits = &report.limits;
    assert!(limits.hosts.peak_in_flight <= 64, "{limits:?}");
    assert!(limits.bmc.peak_in_flight_one_bmc <= 2, "{limits:?}");
    assert!(
        limits.foreman_writes.peak_in_flight <= limits.foreman_writes.ceiling,
        "{limits:?}"
    );
    let metrics = rig.lab.metrics();
    assert!(metrics.hosts.values().all(|h| h.peak_bmc_in_flight <= 2));
    // one thin build=true query per interval, not one per host; the Foreman step's host reads
    // go out as searches of many hosts at once
    let log = rig.lab.log();
    let listings: Vec<_> = log
        .iter()
        .filter(|e| e.endpoint == "GET /api/hosts")
        .collect();
    let polls = listings
        .iter()
        .filter(|e| e.path.contains("thin=true"))
        .count() as u64;
    let searches = listings.len() as u64 - polls;
    assert!(
        polls as f64 <= report.seconds / 0.2 + 20.0,
        "{polls} host listings in {}s",
        report.seconds
    );
    assert!(report.install_polls <= polls);
    assert!(
        searches <= 200 / 2,
        "{searches} host searches for 200 hosts' reads"
    );
    assert_eq!(metrics.endpoint("foreman GET /api/hosts/:id"), 0);
    summary("200 hosts", &report, &metrics);
}

/// One line of numbers for the record (`cargo test -- --nocapture`).
#[allow(clippy::print_stderr)]
fn summary(what: &str, report: &RunReport, metrics: &testkit::MetricsSnapshot) {
    let cycles: u64 = metrics.hosts.values().map(|h| h.power_cycles).sum();
    let boots: u64 = metrics.hosts.values().map(|h| h.boots).sum();
    let installs: u64 = metrics.hosts.values().map(|h| h.installs).sum();
    let open: u64 = metrics.hosts.values().map(|h| h.sessions_open).sum();
    eprintln!(
        "{what}: moved {}/{} in {:.1}s; installs {installs}, boots {boots}, power cycles {cycles}, \
         sessions open {open}, overlapping writes {}, install polls {}, host listings {}, \
         peak hosts in flight {}, peak per BMC {}, foreman writes peak {} (limit now {}), \
         foreman peak in service {}, refused {}",
        report.counts.moved,
        report.counts.planned,
        report.seconds,
        metrics.total_overlapping_writes(),
        report.install_polls,
        metrics.endpoint("foreman GET /api/hosts"),
        report.limits.hosts.peak_in_flight,
        report.limits.bmc.peak_in_flight_one_bmc,
        report.limits.foreman_writes.peak_in_flight,
        report.limits.foreman_writes.current_limit,
        metrics.foreman_peak_in_service,
        metrics.foreman_refused,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_faults_on_every_healthy_host_moves_and_the_dead_one_fails_clearly() {
    let rig = rig(40, FaultProfile::chaos(), "RedHat 9.4").await;
    let dead: BTreeSet<String> = {
        let inventory = rig.lab.inventory();
        rig.lab
            .shared()
            .fault_hosts
            .dead
            .iter()
            .map(|&i| inventory.hosts[i].name.clone())
            .collect()
    };
    assert_eq!(dead.len(), 1);
    let report = tokio::time::timeout(
        Duration::from_secs(400),
        rig.run(config(), Shutdown::new(Duration::from_secs(2))),
    )
    .await
    .expect("nothing hangs");
    for h in &report.hosts {
        if dead.contains(&h.host) {
            assert_eq!(h.status, HostStatus::Failed);
            assert_eq!(h.failed_step.as_deref(), Some("bmc-account"));
            let e = h.error.as_deref().unwrap();
            assert!(e.contains("connect") || e.contains("refused"), "{e}");
        } else {
            assert_eq!(h.status, HostStatus::Moved, "{h:#?}");
        }
    }
    rig.check_moved(&report, &dead).await;
    summary("40 hosts, faults on", &report, &rig.lab.metrics());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_fails_clearly_and_disturbs_nothing_else() {
    // an OS Foreman does not know: every host fails at foreman-host, no host is rebuilt
    let rig = rig(6, FaultProfile::none(), "RedHat 10.0").await;
    let report = rig
        .run(config(), Shutdown::new(Duration::from_secs(2)))
        .await;
    assert_eq!(report.counts.failed, 6);
    for h in &report.hosts {
        assert_eq!(h.failed_step.as_deref(), Some("foreman-host"), "{h:#?}");
        assert!(
            h.error.as_deref().unwrap().contains("RedHat 10.0"),
            "{h:#?}"
        );
    }
    let metrics = rig.lab.metrics();
    assert!(
        metrics
            .hosts
            .values()
            .all(|c| c.installs == 0 && c.boots == 0 && c.sessions_open == 0)
    );
    assert!(
        rig.store
            .hosts()
            .await
            .unwrap()
            .iter()
            .all(|h| h.current_cloud.as_str() == "cloud01")
    );

    // bad BMC credentials: every host fails at its first BMC step, Foreman is not touched
    let rig = rig_with_ok_os(4).await;
    let report = rig
        .run_as(
            config(),
            Shutdown::new(Duration::from_secs(2)),
            Some("wrong"),
        )
        .await;
    assert_eq!(report.counts.failed, 4);
    for h in &report.hosts {
        assert_eq!(h.failed_step.as_deref(), Some("bmc-account"), "{h:#?}");
        let e = h.error.as_deref().unwrap();
        assert!(e.contains("refused") || e.contains("401"), "{e}");
        assert!(!e.contains("wrong"), "no secret in errors: {e}");
    }
    assert_eq!(rig.lab.metrics().endpoints_starting_with("foreman PUT"), 0);
}

async fn rig_with_ok_os(hosts: usize) -> Rig {
    rig(hosts, FaultProfile::none(), "RedHat 9.4").await
}

/// A run killed before logging out leaves its BMC sessions open and recorded in the store;
/// the next run closes them before its hosts log in, and ends with none of ours open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_a_killed_run_left_open_are_closed_by_the_next_run() {
    let rig = rig(4, FaultProfile::none(), "RedHat 9.4").await;
    let killed = rig.setup(
        config(),
        Shutdown::new(Duration::from_secs(2)),
        None,
        RunProgress::new(),
    );
    for host in rig.store.hosts().await.unwrap() {
        let bmc = killed.ports.fleet.connect(&host).unwrap();
        bmc.power().await.unwrap();
        // never logged out: the process is gone
        std::mem::forget(bmc);
    }
    std::mem::forget(killed);
    let left = rig.store.bmc_sessions().await.unwrap();
    assert_eq!(left.len(), 4, "{left:?}");
    let open =
        |m: &testkit::MetricsSnapshot| m.hosts.values().map(|c| c.sessions_open).sum::<u64>();
    assert_eq!(open(&rig.lab.metrics()), 4);
    for row in &left {
        assert!(
            !row.session.contains("token"),
            "a path, never a token: {row:?}"
        );
    }
    let report = rig
        .run(config(), Shutdown::new(Duration::from_secs(2)))
        .await;
    assert_eq!(report.counts.failed, 0, "{report:#?}");
    let metrics = rig.lab.metrics();
    assert_eq!(open(&metrics), 0, "no session of ours left open");
    assert!(rig.store.bmc_sessions().await.unwrap().is_empty());
    for (host, c) in &metrics.hosts {
        assert_eq!(c.sessions_opened, c.sessions_closed, "{host}: {c:?}");
    }
}

/// The sessions killed runs left on one BMC are closed through one login there (a login per
/// session made the rows each kill left grow from run to run), which is logged out after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sessions_left_on_one_bmc_are_closed_through_one_login() {
    let rig = rig(1, FaultProfile::none(), "RedHat 9.4").await;
    let host = rig.store.hosts().await.unwrap().remove(0);
    // three runs killed one after the other, each leaving its session
    for _ in 0..3 {
        let killed = rig.setup(
            config(),
            Shutdown::new(Duration::from_secs(2)),
            None,
            RunProgress::new(),
        );
        let bmc = killed.ports.fleet.connect(&host).unwrap();
        bmc.power().await.unwrap();
        std::mem::forget(bmc);
        std::mem::forget(killed);
    }
    assert_eq!(rig.store.bmc_sessions().await.unwrap().len(), 3);
    let opened = |rig: &Rig| {
        rig.lab
            .metrics()
            .hosts
            .values()
            .map(|c| c.sessions_opened)
            .sum::<u64>()
    };
    let before = opened(&rig);
    let next = rig.setup(
        config(),
        Shutdown::new(Duration::from_secs(2)),
        None,
        RunProgress::new(),
    );
    let closed =
        provision_core::executor::sessions::close_left_sessions(&rig.store, &next.ports.fleet)
            .await
            .unwrap();
    assert_eq!(closed, 3);
    assert_eq!(opened(&rig) - before, 1, "one login for the three");
    assert!(rig.store.bmc_sessions().await.unwrap().is_empty());
    for (host, c) in &rig.lab.metrics().hosts {
        assert_eq!(c.sessions_open, 0, "{host}: {c:?}");
    }
}

/// A manager reset drops the BMC's sessions mid-run: the host logs in again and moves, and the
/// dropped session's row is settled by the end of the run (its DELETE answers 404), so the
/// store lists nothing open and no session of ours is left on a BMC.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_a_manager_reset_dropped_leave_no_row_at_the_end() {
    let faults = FaultProfile::parse("none,manager_reset_bmcs=2,manager_reset=5").unwrap();
    let rig = rig(2, faults, "RedHat 9.4").await;
    let report = rig
        .run(config(), Shutdown::new(Duration::from_secs(2)))
        .await;
    assert_eq!(report.counts.moved, 2, "{report:#?}");
    let metrics = rig.lab.metrics();
    assert_eq!(metrics.faults_of("bmc manager-reset"), 2);
    assert!(
        rig.store.bmc_sessions().await.unwrap().is_empty(),
        "{:?}",
        rig.store.bmc_sessions().await
    );
    assert!(report.bmc_sessions_open.is_empty(), "{report:#?}");
    for (host, c) in &metrics.hosts {
        assert_eq!(c.sessions_open, 0, "{host}: {c:?}");
    }
}

/// A BMC session held idle through the install (on Foreman) would outlive a short
/// `SessionTimeout` and expire on the BMC: the host logs out before the wait and in again
/// after it, so no session of ours expires and none is left open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_session_of_ours_idles_past_the_bmcs_timeout_during_the_install() {
    let rig = rig(2, FaultProfile::none(), "RedHat 9.4").await;
    // 100 lab seconds (1 s real); the install takes 300
    rig.lab.with_state(|s| {
        for b in &mut s.bmcs {
            b.session_timeout = 100;
        }
    });
    let report = rig
        .run(config(), Shutdown::new(Duration::from_secs(2)))
        .await;
    assert_eq!(report.counts.moved, 2, "{report:#?}");
    for (host, c) in &rig.lab.metrics().hosts {
        assert_eq!(
            (c.sessions_expired, c.sessions_open),
            (0, 0),
            "{host}: {c:?}"
        );
    }
    assert!(rig.store.bmc_sessions().await.unwrap().is_empty());
}

/// The parameters the host-write tests want.
const WANTED: [(&str, &str); 3] = [
    ("quads_cloud", "cloud02"),
    ("quads_ticket", "1"),
    ("quads_owner", "alice"),
];

/// Host 0's name, a Foreman client as the lab's admin, the Foreman adapter over it and the
/// settings of a move to the admin.
async fn host_writer(
    rig: &Rig,
) -> (
    String,
    ForemanClient,
    ForemanAdapter,
    provision_core::executor::ports::HostSettings,
) {
    use provision_core::executor::ports::ForemanPort;

    let name = rig.lab.inventory().hosts[0].name.clone();
    let transport: Arc<dyn quads_http::Transport> = Arc::new(
        HttpsTransport::new(&TransportConfig {
            tls: TlsVerification::CaBundle(rig.ca.clone()),
            ..TransportConfig::default()
        })
        .unwrap(),
    );
    let client = ForemanClient::with_transport(
        transport.clone(),
        foreman_client::ClientConfig::new(
            ForemanUrl::parse(&rig.lab.foreman_url()).unwrap(),
            foreman_client::Credentials::password("admin", "changeme"),
        ),
    )
    .unwrap();
    let adapter = ForemanAdapter::new(client.clone(), transport);
    let build = adapter
        .resolve("RedHat 9.4", "Kickstart default", "RHEL 9 mirror")
        .await
        .unwrap();
    let settings = provision_core::executor::ports::HostSettings {
        build,
        owner_user: rig
            .lab
            .with_state(|s| s.foreman.user_by_login("admin").map(|u| u.id))
            .unwrap(),
    };
    (name, client, adapter, settings)
}

/// The host write applied with its answer lost (a reset after the commit, the proxy's 504):
/// sent once, settled by a read of the host, never repeated (its nested parameters would be
/// created twice, which Foreman refuses).
#[tokio::test]
async fn a_host_write_whose_answer_is_lost_is_settled_by_a_read_not_repeated() {
    use provision_core::executor::ports::ForemanPort;

    for faults in [
        FaultProfile {
            foreman_applied_504_rate: 1.0,
            ..FaultProfile::none()
        },
        FaultProfile {
            foreman_applied_reset_rate: 1.0,
            ..FaultProfile::none()
        },
    ] {
        let rig = rig(1, faults, "RedHat 9.4").await;
        let (name, _client, adapter, settings) = host_writer(&rig).await;
        let host_name = HostName::new(name.as_str()).unwrap();
        let before = adapter.host(&host_name).await.unwrap();
        let after = adapter
            .update_host(&before, &settings, &WANTED)
            .await
            .unwrap();
        let metrics = rig.lab.metrics();
        assert_eq!(
            metrics.endpoint("foreman PUT /api/hosts/:id"),
            1,
            "sent once"
        );
        assert!(settings.matches(&after), "{after:?}");
        for (k, v) in WANTED {
            assert_eq!(after.parameters.get(k).map(String::as_str), Some(v), "{k}");
        }
        let faults =
            metrics.faults_of("foreman applied-504") + metrics.faults_of("foreman applied-reset");
        assert_eq!(faults, 1);
    }
}

/// The Foreman adapter's one host write: parameters the host has are changed in place by id,
/// missing ones created, all in the same PUT; a parameter removed since the read makes the
/// write a retryable failure (the step reads again), never a duplicate or a fatal error.
#[tokio::test]
async fn the_host_write_carries_the_parameters_and_survives_a_stale_read() {
    use foreman_client::parameters::NewParameter;
    use provision_core::executor::ports::ForemanPort;

    let rig = rig(1, FaultProfile::none(), "RedHat 9.4").await;
    let (name, client, adapter, settings) = host_writer(&rig).await;
    let params = client.hosts().parameters(name.as_str());
    for (k, v) in [("quads_cloud", "cloud01"), ("quads_ticket", "1")] {
        params.upsert(NewParameter::new(k, v)).await.unwrap();
    }
    let host_name = HostName::new(name.as_str()).unwrap();
    let wanted = WANTED;
    // read, then someone removes a parameter the read showed
    let stale = adapter.host(&host_name).await.unwrap();
    params.delete("quads_cloud").send().await.unwrap();
    let e = adapter
        .update_host(&stale, &settings, &wanted)
        .await
        .unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    // the retry reads again and writes once
    let puts = rig.lab.metrics().endpoint("foreman PUT /api/hosts/:id");
    let fresh = adapter.host(&host_name).await.unwrap();
    let after = adapter
        .update_host(&fresh, &settings, &wanted)
        .await
        .unwrap();
    assert_eq!(
        rig.lab.metrics().endpoint("foreman PUT /api/hosts/:id"),
        puts + 1
    );
    assert!(settings.matches(&after), "{after:?}");
    for (k, v) in wanted {
        assert_eq!(after.parameters.get(k).map(String::as_str), Some(v), "{k}");
    }
    let shown = client.hosts().show(name.as_str()).send().await.unwrap();
    let mut names: Vec<&str> = shown
        .parameters
        .iter()
        .flatten()
        .map(|p| p.name.as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["quads_cloud", "quads_owner", "quads_ticket"]);
    assert_eq!(
        shown.parameter("quads_ticket").unwrap().id,
        stale.parameter_ids["quads_ticket"],
        "a parameter already right is left alone"
    );
    // nothing left to write: no request at all
    let again = adapter
        .update_host(&after, &settings, &wanted)
        .await
        .unwrap();
    assert_eq!(again, after);
    assert_eq!(
        rig.lab.metrics().endpoint("foreman PUT /api/hosts/:id"),
        puts + 1
    );
}

/// The lab's install-fault hosts of `rig`: (PXE-fail, install-hang) names.
fn install_fault_hosts(rig: &Rig) -> (Vec<String>, Vec<String>) {
    let inventory = rig.lab.inventory();
    let faults = &rig.lab.shared().fault_hosts;
    let names = |set: &BTreeSet<usize>| -> Vec<String> {
        set.iter()
            .map(|&i| inventory.hosts[i].name.clone())
            .collect()
    };
    (names(&faults.pxe_fail), names(&faults.install_hang))
}

/// The executor's configuration for the install-fault runs: the install starts within a
/// second of the power-on in the lab (POST, a config job), the deadline is 2.5 s after it.
fn install_fault_config() -> ExecutorConfig {
    let mut c = config();
    c.install_start_deadline = Duration::from_millis(2500);
    c.install_timeout = Duration::from_secs(15);
    c
}

/// How many re-kick rows (intent or outcome) the journal of `runs` has for `host`.
async fn rekick_rows(store: &Store, host: &str) -> usize {
    let mut n = 0;
    for run in store.runs(16).await.unwrap() {
        n += store
            .journal()
            .entries(run.id)
            .await
            .unwrap()
            .iter()
            .filter(|e| {
                e.step == provision_core::model::Step::Rekick
                    && e.phase == provision_core::model::Phase::Outcome
                    && matches!(&e.subject, provision_core::model::Subject::Host(h) if h.as_str() == host)
            })
            .count();
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pxe_fail_host_is_rekicked_once_and_an_install_hang_fails_clearly_while_the_rest_move() {
    let rig = rig(
        9,
        FaultProfile::parse("none,pxe_fail_hosts=1,install_hang_hosts=1").unwrap(),
        "RedHat 9.4",
    )
    .await;
    let (pxe_fail, hang) = install_fault_hosts(&rig);
    let started = tokio::time::Instant::now();
    let report = rig
        .run(
            install_fault_config(),
            Shutdown::new(Duration::from_secs(2)),
        )
        .await;
    let metrics = rig.lab.metrics();
    // the hung install fails after install_timeout, naming its host and why
    let h = report.hosts.iter().find(|h| h.host == hang[0]).unwrap();
    assert_eq!(h.status, HostStatus::Failed, "{h:#?}");
    assert_eq!(h.failed_step.as_deref(), Some("install-wait"));
    let e = h.error.as_deref().unwrap();
    assert!(e.starts_with(&hang[0]), "{e}");
    assert!(e.contains("did not finish within 15.0s"), "{e}");
    assert!(e.contains("installer runs"), "{e}");
    assert!(started.elapsed() >= Duration::from_secs(15));
    let c = metrics.host(&hang[0]);
    assert_eq!(
        (c.installs_started, c.installs, c.rekicks),
        (1, 0, 0),
        "{c:?}"
    );
    assert_eq!(rekick_rows(&rig.store, &hang[0]).await, 0);
    // the PXE-fail host: one failed boot, one re-kick, one install, moved; journaled
    let p = report.hosts.iter().find(|h| h.host == pxe_fail[0]).unwrap();
    assert_eq!(p.status, HostStatus::Moved, "{p:#?}");
    let c = metrics.host(&pxe_fail[0]);
    assert_eq!(
        (c.installs_started, c.installs, c.rekicks),
        (1, 1, 1),
        "{c:?}"
    );
    assert_eq!(c.power_cycles, 2, "{c:?}");
    assert_eq!(rekick_rows(&rig.store, &pxe_fail[0]).await, 1);
    // every other host moved as usual, none re-kicked
    let except: BTreeSet<String> = pxe_fail.iter().chain(&hang).cloned().collect();
    rig.check_moved(&report, &except).await;
    assert!(
        metrics
            .hosts
            .iter()
            .all(|(name, c)| except.contains(name) || c.rekicks == 0),
        "only the PXE-fail host is re-kicked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_continued_after_a_stop_during_the_install_wait_does_not_rekick_twice() {
    let rig = rig(
        3,
        FaultProfile::parse("none,pxe_fail_hosts=1").unwrap(),
        "RedHat 9.4",
    )
    .await;
    let (pxe_fail, _) = install_fault_hosts(&rig);
    let shutdown = Shutdown::new(Duration::from_millis(200));
    let stopper = {
        let shutdown = shutdown.clone();
        let lab_metrics = rig.lab.shared().clone();
        let name = pxe_fail[0].clone();
        tokio::spawn(async move {
            // stop the run as soon as the lab saw the re-kick's network boot
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            while lab_metrics.snapshot().host(&name).rekicks == 0 {
                assert!(tokio::time::Instant::now() < deadline, "no re-kick seen");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            shutdown.stop_starting();
        })
    };
    let first = rig.run(install_fault_config(), shutdown).await;
    stopper.await.unwrap();
    assert!(first.interrupted, "{first:#?}");
    let p = first.hosts.iter().find(|h| h.host == pxe_fail[0]).unwrap();
    assert_eq!(p.status, HostStatus::Interrupted, "{p:#?}");
    // continued: the install (started by the re-kick) finishes, nobody re-kicks again
    let second = rig
        .run(
            install_fault_config(),
            Shutdown::new(Duration::from_secs(2)),
        )
        .await;
    let p = second.hosts.iter().find(|h| h.host == pxe_fail[0]).unwrap();
    assert_eq!(p.status, HostStatus::Moved, "{p:#?}");
    let c = rig.lab.metrics().host(&pxe_fail[0]);
    assert_eq!(
        (c.installs_started, c.installs, c.rekicks),
        (1, 1, 1),
        "{c:?}"
    );
    assert_eq!(rekick_rows(&rig.store, &pxe_fail[0]).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_ends_with_every_cloud_validated_and_a_closed_port_fails_its_cloud_on_demand() {
    let rig = rig(6, FaultProfile::none(), "RedHat 9.4").await;
    let validation = rig.validation(Duration::from_secs(5));
    let report = rig
        .run_with(
            config(),
            Shutdown::new(Duration::from_secs(2)),
            None,
            Some(validation.clone()),
        )
        .await;
    assert!(report.all_moved(), "{report:#?}");
    // every cloud provisioned is validated: its tenant sees its hosts built, their ports answer,
    // the tenant's BMC login works, the lab's isolation report is clean
    assert_eq!(report.validations.len(), CLOUDS.len(), "{report:#?}");
    for v in &report.validations {
        assert!(v.passed, "{v:#?}");
        assert_eq!(v.hosts.len(), 2);
        assert!(v.hosts.iter().all(|h| !h.rekicked));
    }
    let events: Vec<CloudEvent> = CLOUDS
        .iter()
        .map(|c| CloudEvent::CloudValidated {
            cloud: (*c).to_owned(),
        })
        .collect();
    assert_eq!(report.events, events);
    assert_eq!(rig.store.validated_assignments().await.unwrap().len(), 3);
    // the lab's install of host 0 (cloud02) never happened as far as its OS goes: its port
    // stays closed, a re-kick does not open it; on demand, cloud02 fails and is no longer
    // validated, the others pass
    let name = rig.lab.inventory().hosts[0].name.clone();
    rig.lab.with_state(|s| s.machines[0].installed_at = None);
    let boots = rig.lab.metrics().host(&name).boots;
    let setup = rig.setup(
        config(),
        Shutdown::new(Duration::from_secs(2)),
        None,
        RunProgress::new(),
    );
    let on_demand = validate_clouds(
        &rig.store,
        &ValidateRequest {
            cloud: None,
            at: Some(rig.at),
        },
        setup,
        rig.validation(Duration::from_secs(1)),
    )
    .await
    .unwrap();
    assert!(!on_demand.all_passed());
    let failed: Vec<&str> = on_demand
        .clouds
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.cloud.as_str())
        .collect();
    assert_eq!(failed, ["cloud02"]);
    let cloud02 = &on_demand.clouds[0];
    let host = cloud02.hosts.iter().find(|h| h.host == name).unwrap();
    assert!(host.rekicked && !host.passed, "{host:#?}");
    assert!(
        host.problems.iter().any(|p| p.starts_with("port ")),
        "{host:#?}"
    );
    assert_eq!(
        on_demand.events[0],
        CloudEvent::ValidationFailed {
            cloud: "cloud02".to_owned(),
            hosts: vec![name.clone()],
        }
    );
    // the re-kick was one boot (PXE, then the disk: the host is out of build mode)
    assert_eq!(rig.lab.metrics().host(&name).boots, boots + 1);
    let validated = rig.store.validated_assignments().await.unwrap();
    assert_eq!(validated.len(), 2, "{validated:?}");
    // journaled: each host's result and the cloud's
    let entries = rig
        .store
        .journal()
        .entries(provision_core::model::RunId(on_demand.run))
        .await
        .unwrap();
    let validate_rows = entries
        .iter()
        .filter(|e| e.step == provision_core::model::Step::Validate)
        .count();
    // 6 hosts' outcomes, 3 clouds' outcomes, 1 re-kick intent
    assert_eq!(validate_rows, 10, "{entries:#?}");
    // the site's checks: a per-host hook failing for one of cloud04's hosts (re-kicked once,
    // still failing), an isolation hook failing for cloud03
    let cloud04_host = rig.lab.inventory().hosts[2].name.clone();
    let mut site = rig.validation(Duration::from_secs(1));
    site.config.check_hook = Some(provision_core::hook::HookSpec::new(
        "site-check",
        "sh",
        &["-c", &format!("test {{host}} != {cloud04_host}")],
    ));
    site.isolation = Some(Arc::new(
        provision_core::executor::validate::HookIsolation::new(
            provision_core::hook::HookSpec::new(
                "site-isolation",
                "sh",
                &["-c", "test {to} != cloud03"],
            ),
            Limits::new(&config().limits).unwrap(),
            tokio_util::sync::CancellationToken::new(),
        ),
    ));
    let setup = rig.setup(
        config(),
        Shutdown::new(Duration::from_secs(2)),
        None,
        RunProgress::new(),
    );
    let hooked = validate_clouds(
        &rig.store,
        &ValidateRequest {
            cloud: None,
            at: Some(rig.at),
        },
        setup,
        site,
    )
    .await
    .unwrap();
    let by_cloud = |c: &str| hooked.clouds.iter().find(|v| v.cloud == c).unwrap();
    let cloud03 = by_cloud("cloud03");
    assert!(
        !cloud03.passed && cloud03.hosts.iter().all(|h| h.passed),
        "{cloud03:#?}"
    );
    assert!(
        cloud03.isolation[0].contains("site-isolation"),
        "{cloud03:#?}"
    );
    let cloud04 = by_cloud("cloud04");
    let failed: Vec<_> = cloud04.hosts.iter().filter(|h| !h.passed).collect();
    assert_eq!(failed.len(), 1, "{cloud04:#?}");
    assert_eq!(failed[0].host, cloud04_host);
    assert!(failed[0].rekicked);
    assert!(
        failed[0]
            .problems
            .iter()
            .any(|p| p.starts_with("check hook site-check")),
        "{cloud04:#?}"
    );
    assert!(rig.store.validated_assignments().await.unwrap().is_empty());
    // asking for a cloud with nothing to validate is refused
    let setup = rig.setup(
        config(),
        Shutdown::new(Duration::from_secs(2)),
        None,
        RunProgress::new(),
    );
    let refused = validate_clouds(
        &rig.store,
        &ValidateRequest {
            cloud: Some(CloudName::new("cloud01").unwrap()),
            at: Some(rig.at),
        },
        setup,
        rig.validation(Duration::from_secs(1)),
    )
    .await
    .unwrap_err();
    assert!(refused.is_refusal(), "{refused}");
}
