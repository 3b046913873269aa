//! `quads move-hosts` for real, the built binary against testkit's lab in this process: a run
//! end to end (JSON and table), SIGTERM (exit 130, then `--resume`), and crash safety: the
//! process killed with SIGKILL at ten moments, run again each time, until the run completes
//! with no install or boot repeated and a journal that tells one network boot per host.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use provision_core::model::{
    AssignmentSpec, BootType, Cloud, CloudName, CloudStatus, Host, HostName, HostState,
    NewSchedule, RunState, Subject, TimeRange, Wipe,
};
use provision_core::{OpenMode, Store, StoreOptions, SystemClock, Timestamp};
use testkit::{FaultProfile, Lab, LabConfig};

const CLOUDS: [&str; 3] = ["cloud02", "cloud03", "cloud04"];

struct Site {
    lab: Lab,
    dir: tempfile::TempDir,
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

impl Site {
    async fn new(hosts: usize) -> Self {
        let lab = Lab::start(LabConfig {
            hosts,
            time_scale: 0.01,
            faults: FaultProfile::none(),
            ..LabConfig::default()
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        let inventory = lab.inventory();
        let mut models: Vec<&str> = inventory.hosts.iter().map(|h| h.model.as_str()).collect();
        models.sort_unstable();
        models.dedup();
        std::fs::write(p.join("ca.pem"), lab.ca_pem()).unwrap();
        std::fs::write(p.join("foreman.pass"), "changeme\n").unwrap();
        std::fs::write(p.join("bmc.pass"), &inventory.hosts[0].bmc_password).unwrap();
        std::fs::write(
            p.join("interfaces.yml"),
            testkit::lab::interfaces_yaml(&models),
        )
        .unwrap();
        std::fs::write(
            p.join("quads.toml"),
            format!(
                r#"[store]
path = "{db}"
[foreman]
url = "{url}"
username = "admin"
password_file = "foreman.pass"
infra_location = "lab"
[bmc]
username = "{bmc_user}"
password_file = "bmc.pass"
[executor]
ca_bundle = "{ca}"
interfaces_file = "{interfaces}"
poll_interval = "200ms"
install_timeout = "60s"
grace = "3s"
[executor.limits]
power_on_rate = {{ per_second = 0 }}
"#,
                db = p.join("quads.db").display(),
                url = lab.foreman_url(),
                bmc_user = inventory.hosts[0].bmc_username,
                ca = p.join("ca.pem").display(),
                interfaces = p.join("interfaces.yml").display(),
            ),
        )
        .unwrap();
        let store = Store::open(StoreOptions {
            path: p.join("quads.db"),
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
            assignments.push(
                store
                    .add_assignment(AssignmentSpec {
                        cloud: CloudName::new(*cloud).unwrap(),
                        ticket: format!("{}", 2000 + i),
                        owner: format!("tenant{i}"),
                        description: String::new(),
                        wipe: Wipe::Yes,
                        os: Some("RedHat 9.4".to_owned()),
                        partition_table: Some("Kickstart default".to_owned()),
                        medium: Some("RHEL 9 mirror".to_owned()),
                        boot_type: BootType::Bios,
                        qinq: provision_core::model::QinQ::Separated,
                        public_vlan: None,
                    })
                    .await
                    .unwrap(),
            );
        }
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
        store.close().await;
        Self { lab, dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Starts `quads move-hosts --date 2025-01-10 ARGS`, output into files.
    fn spawn(&self, args: &[&str], n: usize) -> (Child, PathBuf) {
        let out = self.path().join(format!("out-{n}.txt"));
        let err = self.path().join(format!("err-{n}.txt"));
        let child = Command::new(env!("CARGO_BIN_EXE_quads"))
            .args(["move-hosts", "--date", "2025-01-10"])
            .args(args)
            .env_clear()
            .env("HOME", self.path())
            .env("QUADS_CONFIG", self.path().join("quads.toml"))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap();
        (child, out)
    }

    /// Runs to the end (within a deadline); exit code and stdout.
    async fn run(&self, args: &[&str], n: usize) -> (i32, String) {
        let (mut child, out) = self.spawn(args, n);
        let code = wait(&mut child, Duration::from_secs(120)).await;
        let stderr = std::fs::read_to_string(self.path().join(format!("err-{n}.txt"))).unwrap();
        assert!(
            !stderr.contains("lab@") && !stderr.contains("changeme"),
            "no secret in the log"
        );
        // stderr is a file: no progress bars, no colours, no cursor movement
        assert!(
            !stderr.contains('\x1b') && !stderr.contains('\r'),
            "no escape codes when stderr is not a terminal: {stderr}"
        );
        (code, std::fs::read_to_string(out).unwrap())
    }

    async fn store(&self) -> Store {
        Store::open(StoreOptions {
            path: self.path().join("quads.db"),
            mode: OpenMode::MustExist,
            clock: Arc::new(SystemClock),
        })
        .await
        .unwrap()
    }
}

/// Waits for the child to exit (polling on tokio's clock), or kills it at the deadline.
async fn wait(child: &mut Child, deadline: Duration) -> i32 {
    let end = tokio::time::Instant::now() + deadline;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if tokio::time::Instant::now() >= end {
            let _ = child.kill();
            panic!("quads did not finish within {deadline:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_hosts_runs_end_to_end_with_json_and_table_output() {
    let site = Site::new(6).await;
    let (code, out) = site.run(&["--format", "json"], 0).await;
    assert_eq!(code, 0, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["counts"]["moved"], 6);
    assert_eq!(doc["hosts"][0]["status"], "moved");
    assert_eq!(doc["provisioned_clouds"].as_array().unwrap().len(), 3);
    for h in site.lab.metrics().hosts.values() {
        assert_eq!((h.installs, h.boots, h.sessions_open), (1, 1, 0), "{h:?}");
    }
    let (code, out) = site.run(&[], 1).await;
    assert_eq!(code, 0);
    assert!(out.contains("nothing to move"), "{out}");
    let (code, _) = site.run(&["--resume"], 2).await;
    assert_eq!(code, 2, "nothing to resume is a usage error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_with_130_and_resume_finishes() {
    let site = Site::new(6).await;
    let (mut child, out) = site.spawn(&[], 0);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = wait(&mut child, Duration::from_secs(60)).await;
    let printed = std::fs::read_to_string(out).unwrap();
    assert_eq!(code, 130, "{printed}");
    assert!(printed.contains("--resume"), "{printed}");
    let store = site.store().await;
    assert_eq!(store.runs(1).await.unwrap()[0].state, RunState::Interrupted);
    store.close().await;
    let (code, out) = site.run(&["--resume"], 1).await;
    assert_eq!(code, 0, "{out}");
    for h in site.lab.metrics().hosts.values() {
        assert_eq!((h.installs, h.boots), (1, 1), "{h:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_ten_times_at_random_moments_the_run_completes_without_repeats() {
    let site = Site::new(12).await;
    // a seeded LCG: the same ten moments every time
    let mut seed: u64 = 0x5eed_cafe;
    let mut killed = 0;
    for n in 0..10 {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let delay = Duration::from_millis(150 + (seed >> 33) % 2_500);
        let (mut child, _) = site.spawn(&[], n);
        tokio::time::sleep(delay).await;
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        wait(&mut child, Duration::from_secs(10)).await;
    }
    assert!(killed >= 5, "only {killed} runs were killed mid-way");
    let (code, out) = site.run(&[], 10).await;
    assert_eq!(code, 0, "{out}");
    let metrics = site.lab.metrics();
    for (name, h) in &metrics.hosts {
        assert_eq!(h.installs, 1, "{name}: installed once: {h:?}");
        assert_eq!(h.boots, 1, "{name}: booted once: {h:?}");
        assert!(h.power_cycles <= 1, "{name}: {h:?}");
    }
    assert_eq!(metrics.total_overlapping_writes(), 0);
    // the journal of all the runs tells one network boot per host
    let store = site.store().await;
    let runs = store.runs(100).await.unwrap();
    assert!(runs.len() >= 11);
    let mut boots: BTreeMap<String, usize> = BTreeMap::new();
    for run in &runs {
        for e in store.journal().entries(run.id).await.unwrap() {
            if let Subject::Host(h) = &e.subject
                && e.step.to_word() == "network-boot"
                && e.outcome
                    .is_some_and(provision_core::model::StepOutcome::is_done)
            {
                *boots.entry(h.to_string()).or_default() += 1;
            }
        }
    }
    assert_eq!(boots.len(), 12, "{boots:?}");
    assert!(boots.values().all(|&n| n == 1), "{boots:?}");
    assert!(
        store
            .hosts()
            .await
            .unwrap()
            .iter()
            .all(|h| h.current_cloud.as_str() != "cloud01")
    );
    store.close().await;
}
