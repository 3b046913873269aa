//! Worker mode: `quads move-hosts` making the moves of the lab's fake QUADS 2.x server (the
//! built binary, the lab in this process): a run moves every scheduled host and writes back
//! what QUADS's mover writes; a dead BMC's host stays listed with its error; `kill -9` then a
//! rerun installs each host once; a rolled-back write is caught by the read-back; the dry run
//! and QUADS's `--move-command` form (`HOST CURRENT NEW [nowipe]`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use quads_api_client::{ClientConfig, QuadsClient, QuadsUrl};
use testkit::{
    Expectation, FaultProfile, HostExpectation, Lab, LabConfig, Login, NetworkExpectation,
};

struct WorkerSite {
    lab: Lab,
    dir: tempfile::TempDir,
    quads: QuadsClient,
}

impl WorkerSite {
    /// A lab of `hosts` with `faults`, `scheduled` of them scheduled by its QUADS server (even
    /// ones into cloud02: wipe; odd ones into cloud03: no wipe, QinQ, public VLAN), and a
    /// `quads.toml` naming the server; no store yet (worker mode makes its own).
    async fn start(hosts: usize, scheduled: f64, faults: FaultProfile) -> Self {
        let lab = Lab::start(LabConfig {
            hosts,
            time_scale: 0.01,
            faults,
            quads_scheduled: scheduled,
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
        std::fs::write(p.join("quads.pass"), &inventory.quads_password).unwrap();
        std::fs::write(p.join("hosts.resolve"), inventory.hosts_resolve()).unwrap();
        let switch = &inventory.switches[0];
        std::fs::write(p.join("switch.pass"), &switch.password).unwrap();
        std::fs::write(p.join("switch.keys"), inventory.switch_keys()).unwrap();
        let ssh_port = switch.address.rsplit_once(':').unwrap().1;
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
[network]
driver = "junos"
username = "{switch_user}"
password_file = "switch.pass"
host_key_fingerprints = "switch.keys"
ssh_port = {ssh_port}
[quads]
url = "{quads_url}"
username = "{quads_user}"
password_file = "quads.pass"
bmc_address = "mgmt-{{host}}:{bmc_port}"
resolve_file = "hosts.resolve"
default_os = "RedHat 9.4"
default_ptable = "Kickstart default"
default_medium = "RHEL 9 mirror"
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
                switch_user = switch.username,
                quads_url = lab.quads_url(),
                quads_user = inventory.quads_username,
                bmc_port = inventory.bmc_port().unwrap(),
                ca = p.join("ca.pem").display(),
                interfaces = p.join("interfaces.yml").display(),
            ),
        )
        .unwrap();
        let quads = QuadsClient::new(ClientConfig::new(
            QuadsUrl::parse(&lab.quads_url()).unwrap(),
        ))
        .unwrap();
        Self { lab, dir, quads }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Starts `quads move-hosts ARGS`, output into files numbered `n`.
    fn spawn(&self, args: &[&str], n: usize) -> (Child, PathBuf) {
        self.spawn_command("move-hosts", args, n)
    }

    /// Starts `quads COMMAND ARGS`, output into files numbered `n`.
    fn spawn_command(&self, command: &str, args: &[&str], n: usize) -> (Child, PathBuf) {
        let out = self.path().join(format!("out-{n}.txt"));
        let err = self.path().join(format!("err-{n}.txt"));
        let child = Command::new(env!("CARGO_BIN_EXE_quads"))
            .arg(command)
            .args(args)
            .env_clear()
            .env("HOME", self.path())
            .env("QUADS_CONFIG", self.path().join("quads.toml"))
            .env("QUADS_LOG", "info")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap();
        (child, out)
    }

    /// Runs `move-hosts ARGS` to the end (within a deadline); exit code, stdout and stderr.
    async fn run(&self, args: &[&str], n: usize) -> (i32, String, String) {
        self.run_command("move-hosts", args, n).await
    }

    /// Runs `quads COMMAND ARGS` to the end (within a deadline); exit code, stdout, stderr.
    async fn run_command(&self, command: &str, args: &[&str], n: usize) -> (i32, String, String) {
        let (mut child, out) = self.spawn_command(command, args, n);
        let code = wait(&mut child, Duration::from_secs(120)).await;
        let stderr = std::fs::read_to_string(self.path().join(format!("err-{n}.txt"))).unwrap();
        let inventory = self.lab.inventory();
        for secret in [
            "lab@",
            "changeme",
            inventory.quads_password.as_str(),
            inventory.switches[0].password.as_str(),
        ] {
            assert!(!stderr.contains(secret), "no secret in the log");
        }
        (code, std::fs::read_to_string(out).unwrap(), stderr)
    }

    /// The hosts the server schedules (by name), and which cloud each goes to.
    fn scheduled(&self, count: usize) -> Vec<(String, &'static str)> {
        self.lab
            .inventory()
            .hosts
            .iter()
            .take(count)
            .enumerate()
            .map(|(i, h)| {
                (
                    h.name.clone(),
                    if i % 2 == 0 { "cloud02" } else { "cloud03" },
                )
            })
            .collect()
    }

    async fn listed(&self) -> BTreeSet<String> {
        self.quads
            .moves(None)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.host)
            .collect()
    }
}

/// The lab's judgement of the handovers: each of `hosts` (name, its cloud, `None` for the
/// spare pool) open to its cloud's tenant only, owned by its cloud's Foreman user (the spare
/// pool's: admin), its ports in its cloud's network (cloud03: QinQ 1 and public VLAN 601);
/// the seeded tenants' credentials (`lab@<ticket>`) and `retired` clouds' users.
fn judge(site: &WorkerSite, hosts: &[(String, Option<&str>)], retired: &[&str]) {
    let label = |cloud: &str| format!("{cloud} #{}", ticket(cloud));
    let expect = Expectation {
        bmc_credentials: ["cloud02", "cloud03"]
            .iter()
            .map(|c| Login {
                label: label(c),
                user: "quads".to_owned(),
                password: format!("lab@{}", ticket(c)),
            })
            .collect(),
        hosts: hosts
            .iter()
            .map(|(host, cloud)| {
                (
                    host.clone(),
                    HostExpectation {
                        tenant: cloud.map(label),
                        owner: cloud.unwrap_or("admin").to_owned(),
                        network: Some(NetworkExpectation {
                            cloud: cloud.unwrap_or("cloud01").to_owned(),
                            qinq: *cloud == Some("cloud03"),
                            public_vlan: (*cloud == Some("cloud03")).then_some(601),
                        }),
                    },
                )
            })
            .collect(),
        retired_foreman_users: retired
            .iter()
            .map(|c| Login {
                label: label(c),
                user: (*c).to_owned(),
                password: format!("lab@{}", ticket(c)),
            })
            .collect(),
    };
    let report = site.lab.isolation(&expect);
    assert!(report.violations.is_empty(), "{:#?}", report.violations);
}

/// The lab's QUADS seeds cloud N's assignment with ticket 1000 + N.
fn ticket(cloud: &str) -> u32 {
    1000 + cloud.trim_start_matches("cloud").parse::<u32>().unwrap()
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
async fn a_worker_run_moves_every_scheduled_host_and_writes_back_as_quads_does() {
    let site = WorkerSite::start(8, 0.5, FaultProfile::none()).await;
    let scheduled = site.scheduled(4);
    assert_eq!(site.listed().await.len(), 4);

    // the dry run: the server's moves with their ports, nothing touched
    let (code, out, _) = site.run(&["--dry-run", "--format", "json"], 0).await;
    assert_eq!(code, 0, "{out}");
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    let moves = plan["moves"].as_array().unwrap();
    assert_eq!(moves.len(), 4, "{out}");
    for (m, (host, cloud)) in moves.iter().zip(&scheduled) {
        assert_eq!(
            (m["host"].as_str(), m["to"].as_str()),
            (Some(host.as_str()), Some(*cloud))
        );
        assert_eq!(m["wipe"], if *cloud == "cloud02" { "yes" } else { "no" });
        assert!(!m["ports"].as_array().unwrap().is_empty(), "{m}");
    }
    assert_eq!(site.listed().await.len(), 4, "a dry run writes nothing");

    let (code, out, err) = site.run(&["--format", "json"], 1).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["counts"]["moved"], 4, "{out}");
    let mut provisioned: Vec<&str> = report["provisioned_clouds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    provisioned.sort_unstable();
    assert_eq!(provisioned, ["cloud02", "cloud03"]);

    // the server: nothing left to move, each host recorded as QUADS's mover leaves it
    assert!(site.listed().await.is_empty());
    let metrics = site.lab.metrics();
    for (host, cloud) in &scheduled {
        let h = site.quads.host(host).await.unwrap();
        assert_eq!(h.cloud_name(), Some(*cloud), "{host}");
        assert!(h.build && h.switch_config_applied && !h.validated, "{h:?}");
        assert!(h.last_build.is_some(), "{h:?}");
        let schedules = site.quads.schedules(Some(host)).await.unwrap();
        assert_eq!(schedules.len(), 1);
        let s = &schedules[0];
        let (start, end) = (s.build_start.unwrap(), s.build_end.unwrap());
        assert!(start <= end, "{s:?}");
        // a wipe is installed once, a no-wipe move is handed over as it is
        let installs = metrics.host(host).installs;
        assert_eq!(
            installs,
            u64::from(*cloud == "cloud02"),
            "{host}: {installs}"
        );
        // its ports in the new cloud's VLANs (cloud03: QinQ 1, every NIC in its first VLAN
        // but the last, trunked with the public VLAN 601)
        let first = if *cloud == "cloud02" { 1110 } else { 1120 };
        let ports = site.lab.host_ports(host);
        assert!(ports[0].vlans.contains(&first), "{host}: {ports:?}");
    }
    let moved: Vec<(String, Option<&str>)> = scheduled
        .iter()
        .map(|(h, c)| (h.clone(), Some(*c)))
        .collect();
    judge(&site, &moved, &[]);
    // assignments: provisioned; validated only where nothing was rebuilt
    let wipe = site
        .quads
        .active_assignment("cloud02")
        .await
        .unwrap()
        .unwrap();
    assert!(wipe.provisioned && !wipe.validated, "{wipe:?}");
    let no_wipe = site
        .quads
        .active_assignment("cloud03")
        .await
        .unwrap()
        .unwrap();
    assert!(no_wipe.provisioned && no_wipe.validated, "{no_wipe:?}");
    // the writes, in QUADS's mover's order, per host: rebuilding (build and switch flags
    // down), switch ports applied, the schedule's build times, the host recorded; a wipe
    // cloud's assignment invalidated before its first host and provisioned after its last
    let writes = site.lab.with_state(|s| s.quads.writes.clone());
    assert!(writes.iter().all(|w| w.method == "PATCH" && !w.rolled_back));
    let keys = |body: &serde_json::Value| {
        let mut k: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        k.sort_unstable();
        k.join(",")
    };
    let mut wipe_schedules = Vec::new();
    for (host, cloud) in &scheduled {
        let schedule = site.quads.schedules(Some(host)).await.unwrap()[0].id;
        if *cloud == "cloud02" {
            wipe_schedules.push(format!("/api/v3/schedules/{schedule}"));
        }
        let own: Vec<(&str, String)> = writes
            .iter()
            .filter(|w| {
                w.path == format!("/api/v3/hosts/{host}")
                    || w.path == format!("/api/v3/schedules/{schedule}")
            })
            .map(|w| (w.path.rsplit('/').nth(1).unwrap(), keys(&w.body)))
            .collect();
        assert_eq!(
            own,
            [
                ("hosts", "build,switch_config_applied".to_owned()),
                ("hosts", "switch_config_applied".to_owned()),
                ("schedules", "build_end,build_start".to_owned()),
                ("hosts", "build,cloud,last_build,validated".to_owned()),
            ],
            "{host}"
        );
        let recorded = writes
            .iter()
            .rfind(|w| w.path == format!("/api/v3/hosts/{host}"))
            .unwrap();
        assert_eq!(recorded.body["cloud"], *cloud);
        assert_eq!(
            (&recorded.body["build"], &recorded.body["validated"]),
            (&serde_json::json!(true), &serde_json::json!(false))
        );
    }
    let at =
        |pred: &dyn Fn(&testkit::quads::QuadsWrite) -> bool| writes.iter().position(pred).unwrap();
    let invalidated = at(&|w| {
        w.path == "/api/v3/assignments/1" && w.body == serde_json::json!({"validated": false})
    });
    // after a cloud02 host's rebuilding flag, before any of them was recorded
    let first_begin = at(&|w| {
        scheduled
            .iter()
            .any(|(h, c)| *c == "cloud02" && w.path == format!("/api/v3/hosts/{h}"))
    });
    let first_schedule = at(&|w| wipe_schedules.contains(&w.path));
    assert!(first_begin < invalidated && invalidated < first_schedule);
    let provisioned = at(&|w| w.path == "/api/v3/assignments/1" && w.body["provisioned"] == true);
    let last_recorded = writes
        .iter()
        .rposition(|w| w.path.starts_with("/api/v3/hosts/"))
        .unwrap();
    assert!(provisioned > last_recorded);
    assert_eq!(
        writes
            .iter()
            .filter(|w| w.path.starts_with("/api/v3/assignments/"))
            .count(),
        3,
        "cloud02 invalidated once, each cloud provisioned once: {writes:?}"
    );
    // the unscheduled hosts were not touched
    for h in site.lab.inventory().hosts.iter().skip(4) {
        assert_eq!(metrics.host(&h.name).installs, 0);
        assert_eq!(
            site.quads.host(&h.name).await.unwrap().cloud_name(),
            Some("cloud01")
        );
    }

    let (code, out, _) = site.run(&[], 2).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("nothing to move"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_bmcs_host_stays_listed_with_its_error() {
    let faults = FaultProfile::parse("dead_bmcs=1").unwrap();
    let site = WorkerSite::start(4, 1.0, faults).await;
    let (code, out, err) = site.run(&["--format", "json"], 0).await;
    assert_eq!(code, 1, "{out}\n{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let failed: Vec<&serde_json::Value> = report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["status"] != "moved")
        .collect();
    assert_eq!(failed.len(), 1, "{out}");
    let host = failed[0]["host"].as_str().unwrap();
    assert_eq!(failed[0]["failed_step"], "bmc-account", "{out}");
    let error = failed[0]["error"].as_str().unwrap();
    let ip = site
        .lab
        .inventory()
        .hosts
        .iter()
        .find(|h| h.name == host)
        .map(|h| h.bmc_address.rsplit_once(':').unwrap().0.to_owned())
        .unwrap();
    assert!(error.contains(&ip), "the error names the BMC: {error}");
    // the server lists it again, and only it; it was not recorded as moved
    assert_eq!(site.listed().await, BTreeSet::from([host.to_owned()]));
    let record = site.quads.host(host).await.unwrap();
    assert_eq!(record.cloud_name(), Some("cloud01"));
    assert!(
        !record.build,
        "its move began: build=false until it is done"
    );
    // its cloud is not provisioned; the other cloud is
    let provisioned = report["provisioned_clouds"].as_array().unwrap();
    assert_eq!(provisioned.len(), 1, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_run_a_rerun_finishes_with_one_install_per_host() {
    let site = WorkerSite::start(8, 1.0, FaultProfile::none()).await;
    let mut seed: u64 = 0x00dd_ba11;
    let mut killed = 0;
    for n in 0..5 {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let delay = Duration::from_millis(300 + (seed >> 33) % 2_000);
        let (mut child, _) = site.spawn(&[], n);
        tokio::time::sleep(delay).await;
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        wait(&mut child, Duration::from_secs(10)).await;
    }
    assert!(killed >= 3, "only {killed} runs were killed mid-way");
    let (code, out, err) = site.run(&[], 10).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(site.listed().await.is_empty());
    let metrics = site.lab.metrics();
    for (host, cloud) in site.scheduled(8) {
        let h = metrics.host(&host);
        let wipe = u64::from(cloud == "cloud02");
        assert_eq!((h.installs, h.boots), (wipe, wipe), "{host}: {h:?}");
        assert_eq!(
            site.quads.host(&host).await.unwrap().cloud_name(),
            Some(cloud)
        );
    }
    assert_eq!(metrics.total_overlapping_writes(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolled_back_host_write_is_caught_and_the_host_not_moved() {
    let faults = FaultProfile::parse("quads_patch_rollback_rate=1").unwrap();
    let site = WorkerSite::start(2, 1.0, faults).await;
    let (code, out, err) = site.run(&["--format", "json"], 0).await;
    assert_eq!(code, 1, "{out}\n{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    for h in report["hosts"].as_array().unwrap() {
        assert_eq!(h["status"], "failed", "{h}");
        let error = h["error"].as_str().unwrap();
        assert!(
            error.contains("QUADS server") && error.contains("hosts/"),
            "{error}"
        );
    }
    // the host PATCH came back 200 with the old row: nothing was done to the hosts
    assert_eq!(site.listed().await.len(), 2);
    for h in site.lab.metrics().hosts.values() {
        assert_eq!(h.installs, 0, "{h:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_move_command_form_moves_one_host_and_records_its_cloud() {
    let site = WorkerSite::start(4, 1.0, FaultProfile::none()).await;
    let scheduled = site.scheduled(4);
    let (wiped, _) = &scheduled[0];
    let (handed, cloud) = &scheduled[2];
    assert_eq!(*cloud, "cloud02", "a wipe assignment");
    // QUADS's `--move-command`: CMD host current new [nowipe]
    let (code, out, err) = site.run(&[wiped.as_str(), "cloud01", "cloud02"], 0).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(
        site.quads.host(wiped).await.unwrap().cloud_name(),
        Some("cloud02")
    );
    assert_eq!(site.lab.metrics().host(wiped).installs, 1);
    assert!(!site.listed().await.contains(wiped));
    // `nowipe` hands a host over as it is, whatever its assignment says
    let (code, out, err) = site
        .run(&[handed.as_str(), "cloud01", "cloud02", "nowipe"], 1)
        .await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(site.lab.metrics().host(handed).installs, 0);
    assert_eq!(
        site.listed().await,
        BTreeSet::from([scheduled[1].0.clone(), scheduled[3].0.clone()])
    );
    // called again for a host already there: nothing to do
    let (code, out, _) = site.run(&[wiped.as_str(), "cloud01", "cloud02"], 2).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("nothing to move"), "{out}");
    assert_eq!(site.lab.metrics().host(wiped).installs, 1);
    // without a server the positional form is refused
    std::fs::write(
        site.path().join("quads.toml"),
        std::fs::read_to_string(site.path().join("quads.toml"))
            .unwrap()
            .replace("[quads]\nurl = ", "[quads]\n# url = "),
    )
    .unwrap();
    let (code, _, err) = site.run(&[wiped.as_str(), "cloud01", "cloud02"], 3).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--quads-url"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_returning_to_the_spare_pool_end_their_clouds_assignment() {
    let site = WorkerSite::start(4, 0.5, FaultProfile::none()).await;
    let (code, out, err) = site.run(&[], 0).await;
    assert_eq!(code, 0, "{out}\n{err}");
    // past the schedules' end (two weeks): every host back to its default cloud
    let later = {
        use provision_core::Clock as _;
        provision_core::SystemClock
            .now()
            .saturating_add(Duration::from_secs(15 * 86_400))
    };
    let date = later.to_string();
    let (code, out, err) = site.run(&["--date", &date, "--format", "json"], 1).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["counts"]["moved"], 2, "{out}");
    let mut retired: Vec<&str> = report["retired_clouds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    retired.sort_unstable();
    assert_eq!(retired, ["cloud02", "cloud03"], "{out}");
    for (host, _) in site.scheduled(2) {
        let h = site.quads.host(&host).await.unwrap();
        assert_eq!(h.cloud_name(), Some("cloud01"), "{host}");
        // a move to the spare pool rebuilds nothing
        assert_eq!(
            site.lab.metrics().host(&host).installs,
            u64::from(host == site.scheduled(1)[0].0)
        );
    }
    let back: Vec<(String, Option<&str>)> = site
        .scheduled(2)
        .into_iter()
        .map(|(h, _)| (h, None))
        .collect();
    judge(&site, &back, &["cloud02", "cloud03"]);
    // no current schedule holds cloud02 or cloud03 any more: their assignments ended
    for cloud in ["cloud02", "cloud03"] {
        assert_eq!(
            site.quads.active_assignment(cloud).await.unwrap(),
            None,
            "{cloud}"
        );
    }
    let at = quads_api_client::Timestamp::from_unix(later.unix_millis() / 1000);
    assert!(site.quads.moves(Some(at)).await.unwrap().is_empty());
}

/// The store's bytes (its WAL too, if one was left).
fn store_bytes(site: &WorkerSite) -> Vec<u8> {
    let mut bytes = std::fs::read(site.path().join("quads.db")).unwrap();
    if let Ok(wal) = std::fs::read(site.path().join("quads.db-wal")) {
        bytes.extend(wal);
    }
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_import_copies_the_server_all_or_nothing_and_a_second_import_changes_nothing() {
    let site = WorkerSite::start(6, 0.5, FaultProfile::none()).await;
    let names: Vec<String> = site
        .lab
        .inventory()
        .hosts
        .iter()
        .map(|h| h.name.clone())
        .collect();
    // what cannot be mapped: the last host in no cloud, a schedule of a host the server lacks
    site.lab.with_state(|s| {
        let db = &mut s.quads;
        db.hosts[5].cloud = 99;
        let mut stray = db.schedules[0].clone();
        stray.id = 50;
        stray.host = 999;
        db.schedules.push(stray);
    });
    let nics: usize = site
        .lab
        .with_state(|s| s.quads.hosts[..5].iter().map(|h| h.interfaces.len()).sum());
    assert!(nics >= 5, "the lab's hosts have NICs");
    let (code, _, err) = site.run_command("init", &[], 0).await;
    assert_eq!(code, 0, "{err}");

    let (code, out, err) = site.run_command("import", &["--format", "json"], 1).await;
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let added = &doc["added"];
    assert_eq!(
        (
            added["clouds"].as_u64(),
            added["hosts"].as_u64(),
            added["interfaces"].as_u64(),
            added["assignments"].as_u64(),
            added["schedules"].as_u64()
        ),
        (Some(4), Some(5), Some(nics as u64), Some(2), Some(3)),
        "{doc}"
    );
    let unmapped: Vec<String> = doc["unmapped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            format!(
                "{}: {}",
                u["record"].as_str().unwrap(),
                u["reason"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        unmapped,
        [
            format!("host {}: in no cloud", names[5]),
            "schedule 50: names no host".to_owned()
        ],
        "{doc}"
    );
    // the store holds the server's records: hosts with their clouds, schedules in place
    let (code, out, _) = site
        .run_command("host", &["ls", "--format", "json"], 2)
        .await;
    assert_eq!(code, 0);
    let hosts: serde_json::Value = serde_json::from_str(&out).unwrap();
    let listed = hosts["hosts"].as_array().unwrap();
    assert_eq!(listed.len(), 5);
    let first = listed
        .iter()
        .find(|h| h["name"] == names[0].as_str())
        .unwrap();
    assert_eq!(first["current_cloud"], "cloud01");
    assert_eq!(first["default_cloud"], "cloud01");
    assert!(
        first["bmc_address"].as_str().unwrap().starts_with("127."),
        "{first}"
    );
    let (code, out, _) = site
        .run_command("schedule", &["ls", "--format", "json"], 3)
        .await;
    assert_eq!(code, 0);
    let schedules: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        schedules["schedules"].as_array().map(Vec::len),
        Some(3),
        "{schedules}"
    );

    // a second import adds nothing and leaves the store byte for byte
    let before = store_bytes(&site);
    let (code, out, err) = site.run_command("import", &["--format", "json"], 4).await;
    assert_eq!(code, 0, "{err}");
    let again: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(again["present"], doc["added"], "{again}");
    for kind in ["clouds", "hosts", "interfaces", "assignments", "schedules"] {
        assert_eq!(again["added"][kind], 0, "{again}");
    }
    assert_eq!(
        store_bytes(&site),
        before,
        "a second import changed the store"
    );

    // a record the store refuses (a new host cabled to another's switch ports) refuses it all
    site.lab.with_state(|s| {
        let db = &mut s.quads;
        let mut twin = db.hosts[0].clone();
        twin.id = 100;
        twin.name = "twin.lab.example.com".to_owned();
        db.hosts.push(twin);
    });
    let (code, out, err) = site.run_command("import", &[], 5).await;
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("twin.lab.example.com") && err.contains("nothing was imported"),
        "{err}"
    );
    assert_eq!(
        store_bytes(&site),
        before,
        "a refused import changed the store"
    );
    // a server that cannot be read: nothing either
    let (code, _, err) = site
        .run_command("import", &["--from-quads", "http://127.0.0.1:9"], 6)
        .await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("127.0.0.1:9"), "{err}");
    assert_eq!(
        store_bytes(&site),
        before,
        "a failed read changed the store"
    );
}
