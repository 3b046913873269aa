//! `quads move-hosts` for real, the built binary against testkit's lab in this process: a run
//! end to end (JSON and table), SIGTERM (exit 130, then `--resume`), and crash safety: the
//! process killed with SIGKILL at ten moments, run again each time, until the run completes
//! with no install or boot repeated and a journal that tells one network boot per host.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use provision_core::model::{
    AssignmentSpec, BootType, Cloud, CloudName, CloudStatus, Host, HostName, HostState, Interface,
    InterfaceName, MacAddress, NewSchedule, RunKind, RunState, Subject, TimeRange, Wipe,
};
use provision_core::{OpenMode, Store, StoreOptions, SystemClock, Timestamp};
use testkit::{
    Credentials, Expectation, FaultProfile, HostExpectation, Lab, LabConfig, Login,
    NetworkExpectation, SinksConfig,
};

const CLOUDS: [&str; 3] = ["cloud02", "cloud03", "cloud04"];
/// The lab SMTP server's password and the webhook sink's HMAC secret.
const MAIL_SECRET: &str = "lab-mail-secret";
const HOOK_SECRET: &str = "lab-hook-secret";

struct Site {
    lab: Lab,
    dir: tempfile::TempDir,
    /// `move-hosts --date`.
    date: &'static str,
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

impl Site {
    /// Runs `move-hosts` until no host but those of `unreachable` fails, at most four times
    /// (the chaos profile may fail a host now and then: the next run retries it); `n` numbers
    /// the output files.
    async fn finish(&self, n: &mut usize, unreachable: &BTreeSet<String>) {
        let mut last = String::new();
        for _ in 0..4 {
            *n += 1;
            let (code, out) = self.run(&["--format", "json"], *n).await;
            let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
            let failed: BTreeSet<String> = doc["hosts"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|h| h["status"] != "moved")
                .map(|h| h["host"].as_str().unwrap().to_owned())
                .collect();
            if code == 0 || (code == 1 && failed.is_subset(unreachable)) {
                return;
            }
            last = out;
        }
        panic!("the moves did not finish in 4 runs; the last said:\n{last}");
    }

    /// A lab of `hosts`, a store with the spare pool and `CLOUDS`, each cloud with a wipe
    /// assignment and every host scheduled into one of them for January 2025.
    async fn new(hosts: usize) -> Self {
        Self::scheduled(hosts, FaultProfile::none()).await
    }

    /// As [`Site::new`], the lab with `faults`.
    async fn scheduled(hosts: usize, faults: FaultProfile) -> Self {
        let site = Self::start(hosts, faults).await;
        let store = site.store().await;
        let mut assignments = Vec::new();
        for (i, cloud) in CLOUDS.iter().enumerate() {
            assignments.push(
                store
                    .add_assignment(assignment(cloud, 2000 + i, Wipe::Yes))
                    .await
                    .unwrap(),
            );
        }
        for (i, h) in site.lab.inventory().hosts.iter().enumerate() {
            store
                .add_schedule(NewSchedule {
                    host: HostName::new(h.name.as_str()).unwrap(),
                    assignment: assignments[i % CLOUDS.len()].id,
                    range: TimeRange::new(t("2025-01-01"), t("2025-02-01")).unwrap(),
                })
                .await
                .unwrap();
        }
        store.close().await;
        site
    }

    /// A lab of `hosts` with `faults`, its files and `quads.toml`, and a store holding the
    /// spare pool and `CLOUDS` (no assignment yet) and every host in the spare pool.
    async fn start(hosts: usize, faults: FaultProfile) -> Self {
        let lab = Lab::start(LabConfig {
            hosts,
            time_scale: 0.01,
            faults,
            // where `[notify]` sends, when a test adds it (`Site::notify`)
            sinks: SinksConfig {
                smtp: true,
                smtp_login: Some(Credentials::new("quads", MAIL_SECRET)),
                smtp_implicit_tls: false,
                webhook: true,
                webhook_secret: Some(HOOK_SECRET.to_owned()),
                webhook_fail_first: 0,
            },
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
        // the lab's switches: one SSH port for all, each switch's host key known
        let switch = &inventory.switches[0];
        std::fs::write(p.join("switch.pass"), &switch.password).unwrap();
        let keys: String = inventory
            .switches
            .iter()
            .map(|s| {
                let ip = s.address.rsplit_once(':').unwrap().0;
                format!("{ip} {}\n", s.host_key_sha256)
            })
            .collect();
        std::fs::write(p.join("switch.keys"), keys).unwrap();
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
[executor]
ca_bundle = "{ca}"
interfaces_file = "{interfaces}"
poll_interval = "200ms"
install_timeout = "60s"
grace = "3s"
[executor.limits]
power_on_rate = {{ per_second = 0 }}
[validation]
ports = [{host_ssh}]
port_timeout = "3s"
connect_timeout = "1s"
hosts_file = "{resolve}"
lab_url = "{admin}"
"#,
                db = p.join("quads.db").display(),
                url = lab.foreman_url(),
                bmc_user = inventory.hosts[0].bmc_username,
                ca = p.join("ca.pem").display(),
                interfaces = p.join("interfaces.yml").display(),
                switch_user = switch.username,
                host_ssh = inventory.ssh_port().unwrap(),
                resolve = p.join("hosts.resolve").display(),
                admin = lab.admin_url(),
            ),
        )
        .unwrap();
        std::fs::write(p.join("hosts.resolve"), inventory.hosts_resolve()).unwrap();
        let store = Store::open(StoreOptions {
            path: p.join("quads.db"),
            mode: OpenMode::CreateIfMissing,
            clock: Arc::new(SystemClock),
        })
        .await
        .unwrap();
        for name in ["cloud01", "cloud05"].iter().chain(CLOUDS.iter()) {
            store
                .add_cloud(Cloud {
                    name: CloudName::new(*name).unwrap(),
                    description: String::new(),
                    status: CloudStatus::Pending,
                })
                .await
                .unwrap();
        }
        for h in &inventory.hosts {
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
            for nic in &h.interfaces {
                store
                    .add_interface(Interface {
                        host: name.clone(),
                        name: InterfaceName::new(nic.name.as_str()).unwrap(),
                        bios_id: Some(nic.bios_id.clone()),
                        mac_address: Some(MacAddress::new(&nic.mac_address).unwrap()),
                        switch_ip: nic.switch_ip.clone(),
                        switch_port: nic.switch_port.clone(),
                        speed: Some(nic.speed / 1000),
                        vendor: Some(nic.vendor.clone()),
                        pxe_boot: nic.pxe_boot,
                        maintenance: false,
                    })
                    .await
                    .unwrap();
            }
        }
        store.close().await;
        Self {
            lab,
            dir,
            date: "2025-01-10",
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Adds `[notify]` to `quads.toml`: mail to the lab's SMTP server (STARTTLS, the lab CA,
    /// a login) and the lab's webhook sink (signed).
    fn notify(&self) {
        let p = self.path();
        std::fs::write(p.join("smtp.pass"), format!("{MAIL_SECRET}\n")).unwrap();
        std::fs::write(p.join("hook.secret"), format!("{HOOK_SECRET}\n")).unwrap();
        let smtp = self.lab.smtp_addr().unwrap();
        let section = format!(
            r#"[notify]
days_before = [7, 1]
[notify.smtp]
host = "127.0.0.1"
port = {port}
tls = "starttls"
from = "quads@lab.example"
to = ["ops@lab.example", "tenants@lab.example"]
username = "quads"
password_file = "{pass}"
ca_bundle = "{ca}"
[notify.webhook]
url = "{url}"
secret_file = "{secret}"
"#,
            port = smtp.port(),
            pass = p.join("smtp.pass").display(),
            ca = p.join("ca.pem").display(),
            url = self.lab.webhook_url().unwrap(),
            secret = p.join("hook.secret").display(),
        );
        let path = p.join("quads.toml");
        let toml = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, toml + &section).unwrap();
    }

    /// Runs `quads ARGS` to the end: exit code, stdout and stderr.
    async fn quads(&self, args: &[&str]) -> (i32, String, String) {
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_quads"))
            .args(args)
            .env_clear()
            .env("HOME", self.path())
            .env("QUADS_CONFIG", self.path().join("quads.toml"))
            .stdin(Stdio::null())
            .output();
        let output = tokio::time::timeout(Duration::from_secs(60), output)
            .await
            .unwrap()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    }

    /// Replaces `quads.toml`'s `[network]` section with `section`.
    fn network(&self, section: &str) {
        let path = self.path().join("quads.toml");
        let toml = std::fs::read_to_string(&path).unwrap();
        let (head, rest) = toml.split_once("[network]\n").unwrap();
        let (_, tail) = rest.split_once("[executor]\n").unwrap();
        std::fs::write(&path, format!("{head}{section}\n[executor]\n{tail}")).unwrap();
    }

    /// Starts `quads move-hosts --date 2025-01-10 ARGS`, output into files.
    fn spawn(&self, args: &[&str], n: usize) -> (Child, PathBuf) {
        let out = self.path().join(format!("out-{n}.txt"));
        let err = self.path().join(format!("err-{n}.txt"));
        let child = Command::new(env!("CARGO_BIN_EXE_quads"))
            .args(["move-hosts", "--date", self.date])
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

    /// Runs to the end (within a deadline); exit code and stdout.
    async fn run(&self, args: &[&str], n: usize) -> (i32, String) {
        let (mut child, out) = self.spawn(args, n);
        let code = wait(&mut child, Duration::from_secs(120)).await;
        let stderr = std::fs::read_to_string(self.path().join(format!("err-{n}.txt"))).unwrap();
        let switch_password = &self.lab.inventory().switches[0].password;
        assert!(
            !stderr.contains("lab@")
                && !stderr.contains("changeme")
                && !stderr.contains(switch_password.as_str())
                && !stderr.contains(MAIL_SECRET)
                && !stderr.contains(HOOK_SECRET),
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

/// An assignment of `cloud` under `ticket`, its hosts rebuilt or not.
fn assignment(cloud: &str, ticket: usize, wipe: Wipe) -> AssignmentSpec {
    AssignmentSpec {
        cloud: CloudName::new(cloud).unwrap(),
        ticket: ticket.to_string(),
        owner: format!("owner{ticket}"),
        description: String::new(),
        wipe,
        os: Some("RedHat 9.4".to_owned()),
        partition_table: Some("Kickstart default".to_owned()),
        medium: Some("RHEL 9 mirror".to_owned()),
        boot_type: BootType::Bios,
        qinq: provision_core::model::QinQ::Separated,
        public_vlan: None,
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
async fn a_lab_run_sends_one_mail_and_one_webhook_per_event_and_reruns_send_nothing_new() {
    let site = Site::new(6).await;
    site.notify();
    let (code, out) = site.run(&["--format", "json"], 0).await;
    assert_eq!(code, 0, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    // three clouds, each provisioned and validated: six events, each by both channels
    let sent = doc["notifications"]["sent"].as_array().unwrap();
    assert_eq!(sent.len(), 12, "{out}");
    assert!(
        doc["notifications"]["failed"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{out}"
    );
    let mail = site.lab.mail();
    assert_eq!(mail.len(), 6);
    let mut subjects: Vec<String> = mail.iter().map(|m| m.header("Subject").unwrap()).collect();
    subjects.sort();
    assert_eq!(subjects[0], "[quads] cloud02 (2000) provisioned");
    assert_eq!(
        subjects[1],
        "[quads] cloud02 (2000) validated: ready for use"
    );
    for m in &mail {
        assert_eq!((m.user.as_deref(), m.tls), (Some("quads"), true), "{m:?}");
        assert_eq!(m.to, ["ops@lab.example", "tenants@lab.example"]);
    }
    let hooks = site.lab.webhooks();
    assert_eq!(hooks.len(), 6);
    let ids: BTreeSet<&str> = hooks
        .iter()
        .map(|h| h.body["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 6, "one POST per event: {ids:?}");
    for h in &hooks {
        assert_eq!((h.status, h.signature_valid), (200, Some(true)), "{h:?}");
        assert_eq!(h.body["version"], 1);
    }
    // a cron rerun: nothing to move, nothing new to tell
    let (code, out) = site.run(&["--format", "json"], 1).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!((site.lab.mail().len(), site.lab.webhooks().len()), (6, 6));
    // six days before the schedules end: one notice per cloud and channel, once
    let notify = ["notify", "--date", "2025-01-26", "--format", "json"];
    let (code, out, err) = site.quads(&notify).await;
    assert_eq!(code, 0, "{out}{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["sent"].as_array().unwrap().len(), 6, "{out}");
    assert!(
        doc["sent"][0]["event"].as_str().unwrap().ends_with(":7d"),
        "{out}"
    );
    assert_eq!((site.lab.mail().len(), site.lab.webhooks().len()), (9, 9));
    let (code, out, err) = site.quads(&notify).await;
    assert_eq!(code, 0, "{out}{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            doc["queued"].as_u64(),
            doc["sent"].as_array().unwrap().len()
        ),
        (Some(0), 0)
    );
    assert!(
        !err.contains(MAIL_SECRET) && !err.contains(HOOK_SECRET),
        "{err}"
    );
    assert_eq!(site.lab.mail().len(), 9);

    // while another run holds the run lock, `quads notify` is refused and queues nothing
    let store = site.store().await;
    let lock = store
        .begin_run(RunKind::MoveHosts, t("2025-01-31"))
        .await
        .unwrap();
    let before = store.notifications().await.unwrap();
    let day_before = ["notify", "--date", "2025-01-31T12:00", "--format", "json"];
    let (code, out, err) = site.quads(&day_before).await;
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("run"), "{err}");
    assert_eq!(store.notifications().await.unwrap(), before);
    assert_eq!(site.lab.mail().len(), 9);
    store.finish_run(lock, RunState::Succeeded).await.unwrap();
    store.close().await;
    // once it is free, the one-day notices go
    let (code, out, err) = site.quads(&day_before).await;
    assert_eq!(code, 0, "{out}{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["sent"].as_array().unwrap().len(), 6, "{out}");
    assert!(
        doc["sent"][0]["event"].as_str().unwrap().ends_with(":1d"),
        "{out}"
    );
    assert_eq!((site.lab.mail().len(), site.lab.webhooks().len()), (12, 12));
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
    // every cloud provisioned is validated at the end of the run, one event each
    let validations = doc["validations"].as_array().unwrap();
    assert_eq!(validations.len(), 3, "{out}");
    assert!(validations.iter().all(|v| v["passed"] == true), "{out}");
    assert!(
        doc["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["event"] == "cloud-validated"),
        "{out}"
    );
    let metrics = site.lab.metrics();
    for h in metrics.hosts.values() {
        assert_eq!((h.installs, h.boots, h.sessions_open), (1, 1, 0), "{h:?}");
    }
    // every port in its new cloud's VLAN (QUADS: sw_vlan_first - 10 + 10 * cloud + NIC
    // position, in the VLAN's QinQ group), moved in one commit per switch, one session at once
    for (i, h) in site.lab.inventory().hosts.iter().enumerate() {
        let cloud = 2 + u16::try_from(i % CLOUDS.len()).unwrap();
        for (n, port) in site.lab.host_ports(&h.name).iter().enumerate() {
            let vlan = 1090 + 10 * cloud + u16::try_from(n).unwrap();
            assert_eq!(
                (port.vlans.as_slice(), port.qinq_group),
                (&[vlan][..], Some(vlan)),
                "{} {port:?}",
                h.name
            );
        }
    }
    assert!(!metrics.switches.is_empty());
    for (name, sw) in &metrics.switches {
        assert_eq!(
            (sw.commits, sw.peak_sessions, sw.sessions_open),
            (1, 1, 0),
            "{name}: {sw:?}"
        );
    }
    let (code, out) = site.run(&[], 1).await;
    assert_eq!(code, 0);
    assert!(out.contains("nothing to move"), "{out}");
    let (code, _) = site.run(&["--resume"], 2).await;
    assert_eq!(code, 2, "nothing to resume is a usage error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switch_keeps_one_session_for_its_many_commits_and_none_is_left_open() {
    let site = Site::new(6).await;
    // QUADS's preset commits each port on its own: many batches per switch in one run
    let path = site.path().join("quads.toml");
    let toml = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        format!(
            "{toml}
[executor.policy]
switch_moves = \"per-port\"\n"
        ),
    )
    .unwrap();
    let (code, out) = site.run(&["--format", "json"], 0).await;
    assert_eq!(code, 0, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["counts"]["moved"], 6, "{out}");
    let metrics = site.lab.metrics();
    assert!(!metrics.switches.is_empty());
    for (name, sw) in &metrics.switches {
        assert!(sw.commits > 1, "{name}: {sw:?}");
        assert_eq!(
            (sw.sessions_opened, sw.peak_sessions, sw.sessions_open),
            (1, 1, 0),
            "{name}: one session for every commit, closed at the end: {sw:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_switch_commit_keeps_the_old_vlans_and_fails_each_host_with_its_own_ports() {
    let faults = FaultProfile {
        switch_commit_fail_rate: 1.0,
        ..FaultProfile::none()
    };
    let site = Site::scheduled(4, faults).await;
    let before: Vec<_> = site
        .lab
        .inventory()
        .hosts
        .iter()
        .map(|h| site.lab.host_ports(&h.name))
        .collect();
    let (code, out) = site.run(&["--format", "json"], 0).await;
    assert_eq!(code, 1, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let inventory = site.lab.inventory();
    for (h, report) in inventory.hosts.iter().zip(doc["hosts"].as_array().unwrap()) {
        assert_eq!(report["host"], h.name.as_str());
        assert_eq!(report["status"], "failed");
        assert_eq!(report["failed_step"], "switch-ports");
        let error = report["error"].as_str().unwrap();
        assert!(error.contains("commit of ports"), "{error}");
        // the host's own ports are named, no other host's
        let named = error
            .split_once("commit of ports ")
            .and_then(|(_, rest)| rest.split_once(" failed"))
            .map(|(ports, _)| ports.split(", ").collect::<BTreeSet<_>>())
            .unwrap();
        let own: BTreeSet<&str> = h
            .interfaces
            .iter()
            .map(|i| i.switch_port.as_str())
            .collect();
        assert_eq!(named, own, "{error}");
    }
    // nothing applied: every port as it was, and no host was rebuilt
    for (h, ports) in inventory.hosts.iter().zip(&before) {
        assert_eq!(&site.lab.host_ports(&h.name), ports, "{}", h.name);
        assert_eq!(site.lab.metrics().host(&h.name).installs, 0);
    }
    // the batch of four, then halves, then each host alone (1 + 2 + 4 commits tried); then
    // each host's retries, alone or together again: never a commit applied, one session at once
    let metrics = site.lab.metrics();
    let switch = &metrics.switches[&inventory.switches[0].name];
    assert!(switch.failed_commits >= 7, "{switch:?}");
    assert_eq!((switch.commits, switch.peak_sessions), (0, 1), "{switch:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_driver_gets_each_switch_batch_as_json_and_its_refusal_fails_the_hosts() {
    let site = Site::new(5).await;
    let batches = site.path().join("batches");
    std::fs::create_dir(&batches).unwrap();
    // a refusing command first: exit 2, its words in every host's error, nothing moves
    site.network(
        "[network]\ndriver = \"command\"\ncommand = \"sh\"\n\
         args = [\"-c\", \"cat >/dev/null; echo 'vlan unknown on {switch}' >&2; exit 2\"]\n",
    );
    let (code, out) = site.run(&["--format", "json"], 0).await;
    assert_eq!(code, 1, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    for h in doc["hosts"].as_array().unwrap() {
        assert_eq!(h["failed_step"], "switch-ports", "{h}");
        let error = h["error"].as_str().unwrap();
        assert!(error.contains("vlan unknown on 127.1.0.1"), "{error}");
    }
    // a command that keeps each batch: every host's ports in exactly one batch, QUADS's VLANs
    site.network(&format!(
        "[network]\ndriver = \"command\"\ncommand = \"sh\"\n\
         args = [\"-c\", \"cat > {}/$QUADS_SWITCH-$$.json\"]\n",
        batches.display()
    ));
    // (the stub keeps the batches and moves no lab port: the validation's isolation check
    // would rightly fail every cloud)
    let (code, out) = site.run(&["--format", "json", "--no-validate"], 1).await;
    assert_eq!(code, 0, "{out}");
    let mut seen = BTreeMap::new();
    for file in std::fs::read_dir(&batches).unwrap() {
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(file.unwrap().path()).unwrap()).unwrap();
        assert_eq!(doc["v"], 1);
        for p in doc["ports"].as_array().unwrap() {
            let key = (
                p["host"].as_str().unwrap().to_owned(),
                p["interface"].as_str().unwrap().to_owned(),
            );
            assert!(seen.insert(key, p["new"].clone()).is_none(), "{p} twice");
        }
    }
    for (i, h) in site.lab.inventory().hosts.iter().enumerate() {
        let cloud = 2 + i % CLOUDS.len();
        for (n, nic) in h.interfaces.iter().enumerate() {
            let new = &seen[&(h.name.clone(), nic.name.clone())];
            assert_eq!(new["mode"], "access");
            assert_eq!(
                new["vlan"],
                1090 + 10 * cloud + n,
                "{} {}",
                h.name,
                nic.name
            );
        }
    }
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

/// The handover in every direction, judged by the lab. January puts 4 hosts in each of
/// cloud02 (wipe), cloud03 (wipe) and cloud04 (no wipe). February: 2 spare hosts join cloud02
/// (spare to tenant), 2 of cloud02 go to cloud05 (tenant to tenant, wipe), 2 of cloud03 go
/// to cloud04 (tenant to tenant, no wipe), cloud04's own 4 and cloud03's other 2 go back to
/// the spare pool, so cloud03's tenant is out. February's run is killed with SIGKILL at six
/// moments under the chaos profile, then run until it finishes. The lab's isolation report
/// must show every host opened by exactly its tenant's BMC password (or by none), owned in
/// Foreman by its tenant's user (or the spare pool's, the admin), cloud03's Foreman user
/// unable to sign in, and no tenant password anywhere in the output, the log or the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_move_direction_leaves_each_host_to_its_tenant_alone_even_after_kills() {
    let site = Site::start(16, FaultProfile::chaos()).await;
    // the chaos profile's dead BMC: its host cannot move and stays where it is
    let dead: BTreeSet<String> = site
        .lab
        .shared()
        .fault_hosts
        .dead
        .iter()
        .map(|&i| site.lab.inventory().hosts[i].name.clone())
        .collect();
    assert_eq!(dead.len(), 1);
    let hosts: Vec<HostName> = site
        .lab
        .inventory()
        .hosts
        .iter()
        .map(|h| HostName::new(h.name.as_str()).unwrap())
        .collect();
    let store = site.store().await;
    let mut ids = BTreeMap::new();
    for (cloud, ticket, wipe) in [
        ("cloud02", 2000, Wipe::Yes),
        ("cloud03", 2001, Wipe::Yes),
        ("cloud04", 2002, Wipe::No),
        ("cloud05", 2003, Wipe::Yes),
    ] {
        let a = store
            .add_assignment(assignment(cloud, ticket, wipe))
            .await
            .unwrap();
        ids.insert(cloud, (a.id, ticket));
    }
    let schedule = |host: usize, cloud: &str, month: (&str, &str)| NewSchedule {
        host: hosts[host].clone(),
        assignment: ids[cloud].0,
        range: TimeRange::new(t(month.0), t(month.1)).unwrap(),
    };
    let january = ("2025-01-01", "2025-02-01");
    let february = ("2025-02-01", "2025-03-01");
    for h in 0..12 {
        let cloud = ["cloud02", "cloud03", "cloud04"][h / 4];
        store
            .add_schedule(schedule(h, cloud, january))
            .await
            .unwrap();
    }
    for (h, cloud) in [
        (0, "cloud02"),
        (1, "cloud02"),
        (12, "cloud02"),
        (13, "cloud02"),
        (2, "cloud05"),
        (3, "cloud05"),
        (4, "cloud04"),
        (5, "cloud04"),
    ] {
        store
            .add_schedule(schedule(h, cloud, february))
            .await
            .unwrap();
    }
    store.close().await;

    let mut n = 0;
    site.finish(&mut n, &dead).await;

    let mut site = site;
    site.date = "2025-02-10";
    let mut seed: u64 = 0x150_1a7e;
    let mut killed = 0;
    for _ in 0..6 {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let delay = Duration::from_millis(200 + (seed >> 33) % 2_000);
        let (mut child, _) = site.spawn(&[], n);
        n += 1;
        tokio::time::sleep(delay).await;
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        wait(&mut child, Duration::from_secs(30)).await;
    }
    assert!(killed >= 3, "only {killed} runs were killed mid-way");
    site.finish(&mut n, &dead).await;

    let tenant = |cloud: &str| format!("{cloud} #{}", ids[cloud].1);
    let expect = Expectation {
        bmc_credentials: ids
            .iter()
            .map(|(cloud, (_, ticket))| Login {
                label: tenant(cloud),
                user: "quads".to_owned(),
                password: format!("lab@{ticket}"),
            })
            .collect(),
        hosts: (0..16)
            .filter(|&h| !dead.contains(hosts[h].as_str()))
            .map(|h| {
                let cloud = match h {
                    0 | 1 | 12 | 13 => Some("cloud02"),
                    2 | 3 => Some("cloud05"),
                    4 | 5 => Some("cloud04"),
                    _ => None,
                };
                (
                    hosts[h].to_string(),
                    HostExpectation {
                        tenant: cloud.map(tenant),
                        owner: cloud.unwrap_or("admin").to_owned(),
                        // the lab computes each port's VLAN from the cloud itself
                        network: Some(NetworkExpectation {
                            cloud: cloud.unwrap_or("cloud01").to_owned(),
                            qinq: false,
                            public_vlan: None,
                        }),
                    },
                )
            })
            .collect(),
        retired_foreman_users: vec![Login {
            label: tenant("cloud03"),
            user: "cloud03".to_owned(),
            password: "lab@2001".to_owned(),
        }],
    };
    let report = site.lab.isolation(&expect);
    assert!(report.violations.is_empty(), "{:#?}", report.violations);
    // the same report over the admin endpoint, as an operator would ask for it
    let probe = testkit::Probe::new(site.lab.ca_pem());
    let served = probe
        .post(
            &format!("{}/isolation", site.lab.admin_url()),
            &serde_json::to_value(&expect).unwrap(),
        )
        .await
        .unwrap()
        .json();
    assert_eq!(served["violations"], serde_json::json!([]), "{served}");
    assert_eq!(served["hosts"].as_array().unwrap().len(), 15);
    // and the lab agrees a breach would show: the spare hosts' old tenants are named
    let mut stale = expect.clone();
    let spare = (8..12)
        .find(|&h| !dead.contains(hosts[h].as_str()))
        .unwrap();
    let stale_host = stale.hosts.get_mut(hosts[spare].as_str()).unwrap();
    stale_host.tenant = Some(tenant("cloud04"));
    stale_host.network = Some(NetworkExpectation {
        cloud: "cloud04".to_owned(),
        qinq: false,
        public_vlan: None,
    });
    let kinds: BTreeSet<String> = site
        .lab
        .isolation(&stale)
        .violations
        .into_iter()
        .map(|v| v.kind)
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            "bmc-tenant-locked-out".to_owned(),
            "switch-port-vlan".to_owned()
        ]),
        "cloud04's password was revoked and its VLANs left on a host it left"
    );

    // no tenant password (nor the switches') in any output or log of the runs, nor in the store
    for entry in std::fs::read_dir(site.path()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("out-") || name.starts_with("err-") || name.starts_with("quads.db") {
            let bytes = std::fs::read(&path).unwrap();
            let switch_password = site.lab.inventory().switches[0].password.clone();
            for secret in (2000..2004)
                .map(|ticket| format!("lab@{ticket}"))
                .chain([switch_password])
            {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "{secret} in {name}"
                );
            }
        }
    }
    // every host is where February puts it (the dead one where January left it)
    let store = site.store().await;
    for h in store.hosts().await.unwrap() {
        let i = hosts.iter().position(|n| *n == h.name).unwrap();
        if dead.contains(h.name.as_str()) {
            continue;
        }
        let want = expect.hosts[h.name.as_str()]
            .tenant
            .as_deref()
            .map_or("cloud01", |t| t.split(' ').next().unwrap());
        assert_eq!(h.current_cloud.as_str(), want, "host {i}");
    }
    store.close().await;
}

impl Site {
    /// Runs `quads validate --date <date> ARGS`: exit code, stdout, stderr.
    async fn validate(&self, args: &[&str]) -> (i32, String, String) {
        self.command(&["validate"], args).await
    }

    /// Runs `quads foreman heal --date <date> ARGS`: exit code, stdout, stderr.
    async fn heal(&self, args: &[&str]) -> (i32, String, String) {
        self.command(&["foreman", "heal"], args).await
    }

    /// Runs `quads COMMAND --date <date> ARGS` on the site, checking no secret is printed: exit
    /// code, stdout, stderr.
    async fn command(&self, command: &[&str], args: &[&str]) -> (i32, String, String) {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_quads"))
            .args(command)
            .args(["--date", self.date])
            .args(args)
            .env_clear()
            .env("HOME", self.path())
            .env("QUADS_CONFIG", self.path().join("quads.toml"))
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            !stdout.contains("lab@") && !stderr.contains("lab@") && !stderr.contains("changeme"),
            "no secret printed: {stdout}{stderr}"
        );
        (out.status.code().unwrap_or(-1), stdout, stderr)
    }
}

/// `move-hosts --no-validate` leaves the clouds unvalidated; `quads validate` validates them on
/// demand (all, or `--cloud`); a host whose OS the lab never finished installing keeps its SSH
/// port closed: it is re-kicked once, its cloud fails (exit 1) and is no longer validated; a
/// cloud with nothing to validate is refused (exit 2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quads_validate_on_demand_passes_installed_clouds_and_fails_a_closed_port() {
    let site = Site::new(6).await;
    let (code, out) = site.run(&["--format", "json", "--no-validate"], 0).await;
    assert_eq!(code, 0, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(doc.get("validations").is_none(), "{out}");
    let store = site.store().await;
    assert!(store.validated_assignments().await.unwrap().is_empty());
    store.close().await;

    // validation on demand tells whoever `[notify]` names, once per event
    site.notify();
    let (code, out, err) = site.validate(&["--format", "json"]).await;
    assert_eq!(code, 0, "{out}{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["version"], 1);
    let clouds = doc["clouds"].as_array().unwrap();
    assert_eq!(clouds.len(), 3, "{out}");
    assert!(clouds.iter().all(|c| c["passed"] == true), "{out}");
    assert_eq!(
        doc["notifications"]["sent"].as_array().unwrap().len(),
        6,
        "{out}"
    );
    let mail = site.lab.mail();
    assert_eq!((mail.len(), site.lab.webhooks().len()), (3, 3));
    assert!(
        mail.iter().all(|m| m
            .header("Subject")
            .unwrap()
            .ends_with("validated: ready for use")),
        "{mail:?}"
    );
    let store = site.store().await;
    assert_eq!(store.validated_assignments().await.unwrap().len(), 3);
    store.close().await;

    let (code, out, err) = site.validate(&["--cloud", "cloud03"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("cloud03 validated (2 hosts)"), "{out}");
    assert!(!out.contains("cloud02"), "{out}");

    // host 0 (cloud02): the lab never finished its OS, its port stays closed
    let name = site.lab.inventory().hosts[0].name.clone();
    site.lab.with_state(|s| s.machines[0].installed_at = None);
    let (code, out, err) = site.validate(&[]).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("cloud02 FAILED validation"), "{out}");
    assert!(
        out.contains(&format!("{name} (re-kicked once): port ")),
        "{out}"
    );
    assert!(out.contains("2 of 3 clouds validated"), "{out}");
    assert!(out.contains("notified cloud-failed:cloud02"), "{out}");
    // the failure is new (mail and webhook); cloud03's validation was told already
    assert_eq!((site.lab.mail().len(), site.lab.webhooks().len()), (4, 4));
    let store = site.store().await;
    assert_eq!(store.validated_assignments().await.unwrap().len(), 2);
    store.close().await;

    let (code, _, err) = site.validate(&["--cloud", "cloud01"]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nothing to validate"), "{err}");
    let (code, _, err) = site.validate(&["--cloud", "cloud09"]).await;
    assert_eq!(code, 2, "{err}");
}

/// `quads foreman heal`: owners made wrong on purpose through Foreman's API and a cloud whose
/// schedule ended early; `--dry-run` lists the repairs and writes nothing, `heal` makes them
/// (the lab's isolation report agrees), a second `heal` has nothing to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreman_heal_repairs_owners_and_retires_clouds_without_a_tenant() {
    let site = Site::new(6).await;
    let mut n = 0;
    site.finish(&mut n, &BTreeSet::new()).await;
    let names: Vec<String> = site
        .lab
        .inventory()
        .hosts
        .iter()
        .map(|h| h.name.clone())
        .collect();
    // cloud04's tenant leaves early: its schedules are removed (hosts 2 and 5 stay in it)
    let store = site.store().await;
    let cloud04 = store
        .assignments()
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.spec.cloud.as_str() == "cloud04")
        .unwrap();
    for s in store.schedules(None).await.unwrap() {
        if s.assignment == cloud04.id {
            store.remove_schedule(s.id).await.unwrap();
        }
    }
    store.close().await;
    // owners made wrong by hand: host 0 (cloud02) given to cloud03, host 1 (cloud03) to admin
    let inventory = site.lab.inventory();
    let foreman = testkit::Probe::new(site.lab.ca_pem())
        .with_basic(&inventory.foreman_username, &inventory.foreman_password);
    let api = format!("{}/api", site.lab.foreman_url());
    let users = foreman
        .get(&format!("{api}/users?per_page=all"))
        .await
        .unwrap()
        .json();
    let user_id = |login: &str| {
        users["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["login"] == login)
            .unwrap()["id"]
            .as_u64()
            .unwrap()
    };
    for (host, owner) in [(0, user_id("cloud03")), (1, user_id("admin"))] {
        let body = serde_json::json!({"host": {"owner_id": owner, "owner_type": "User"}});
        let answer = foreman
            .send(
                http::Method::PUT,
                &format!("{api}/hosts/{}", names[host]),
                &[],
                Some(&body),
            )
            .await
            .unwrap();
        assert_eq!(answer.status, 200, "{:?}", answer.json());
    }

    let tenant = |cloud: &str| {
        let ticket = 2000 + CLOUDS.iter().position(|c| *c == cloud).unwrap();
        (format!("{cloud} #{ticket}"), format!("lab@{ticket}"))
    };
    let expect = Expectation {
        bmc_credentials: CLOUDS
            .iter()
            .map(|cloud| Login {
                label: tenant(cloud).0,
                user: "quads".to_owned(),
                password: tenant(cloud).1,
            })
            .collect(),
        hosts: names
            .iter()
            .enumerate()
            .map(|(h, name)| {
                let cloud = CLOUDS[h % 3];
                // heal is Foreman's side only: cloud04's BMC accounts are the next move's
                let owner = if cloud == "cloud04" { "admin" } else { cloud };
                (
                    name.clone(),
                    HostExpectation {
                        tenant: Some(tenant(cloud).0),
                        owner: owner.to_owned(),
                        network: None,
                    },
                )
            })
            .collect(),
        retired_foreman_users: vec![Login {
            label: tenant("cloud04").0,
            user: "cloud04".to_owned(),
            password: tenant("cloud04").1,
        }],
    };
    let wrong = |report: testkit::IsolationReport| {
        let mut found: Vec<(String, String)> = report
            .violations
            .into_iter()
            .map(|v| (v.kind, v.subject))
            .collect();
        found.sort();
        found
    };
    let broken = wrong(site.lab.isolation(&expect));
    assert_eq!(
        broken,
        [
            ("foreman-owner".to_owned(), names[0].clone()),
            ("foreman-owner".to_owned(), names[1].clone()),
            ("foreman-owner".to_owned(), names[2].clone()),
            ("foreman-owner".to_owned(), names[5].clone()),
            ("foreman-retired-user".to_owned(), "cloud04".to_owned()),
        ]
    );

    let (code, out, err) = site.heal(&["--dry-run", "-o", "json"]).await;
    assert_eq!(code, 0, "{out}{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (doc["v"].as_u64(), doc["dry_run"].as_bool()),
        (Some(1), Some(true))
    );
    let mut planned: Vec<(String, String)> = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["status"], "planned");
            (
                c["kind"].as_str().unwrap().to_owned(),
                c["subject"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    planned.sort();
    let owner = |h: usize| ("owner".to_owned(), names[h].clone());
    assert_eq!(
        planned,
        [
            owner(0),
            owner(1),
            owner(2),
            owner(5),
            ("retire-cloud-user".to_owned(), "cloud04".to_owned()),
        ]
    );
    assert_eq!(
        wrong(site.lab.isolation(&expect)),
        broken,
        "a dry run writes nothing"
    );

    let (code, out, err) = site.heal(&[]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.ends_with("5 changes\n"), "{out}");
    assert!(
        out.contains(&format!(
            "host {} (in cloud02): owner cloud03 -> cloud02",
            names[0]
        )),
        "{out}"
    );
    assert_eq!(
        wrong(site.lab.isolation(&expect)),
        Vec::<(String, String)>::new()
    );

    let (code, out, err) = site.heal(&[]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out, "0 changes\n");
}

/// The install faults through the real binary: a host whose first network boot fails is
/// re-kicked once and moves; the process is killed with SIGKILL right after that re-kick and run
/// again: no second re-kick, one install; a host whose install never finishes fails after
/// `install_timeout` with an error naming it while the rest move (and their clouds validate).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pxe_fail_host_is_rekicked_once_across_a_kill_and_a_hung_install_fails_clearly() {
    let site = Site::scheduled(
        6,
        FaultProfile::parse("none,pxe_fail_hosts=1,install_hang_hosts=1").unwrap(),
    )
    .await;
    let path = site.path().join("quads.toml");
    let toml = std::fs::read_to_string(&path).unwrap().replace(
        "install_timeout = \"60s\"",
        "install_timeout = \"15s\"\ninstall_start_deadline = \"2500ms\"",
    );
    std::fs::write(&path, toml).unwrap();
    let inventory = site.lab.inventory();
    let faults = site.lab.shared().fault_hosts.clone();
    let pxe_fail = inventory.hosts[*faults.pxe_fail.first().unwrap()]
        .name
        .clone();
    let hang = inventory.hosts[*faults.install_hang.first().unwrap()]
        .name
        .clone();

    let (mut child, _) = site.spawn(&[], 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while site.lab.metrics().host(&pxe_fail).rekicks == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no re-kick seen");
        assert!(child.try_wait().unwrap().is_none(), "the run ended first");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap();
    wait(&mut child, Duration::from_secs(10)).await;

    let (code, out) = site.run(&["--format", "json"], 1).await;
    assert_eq!(code, 1, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    for h in doc["hosts"].as_array().unwrap() {
        if h["host"] == hang.as_str() {
            assert_eq!(h["status"], "failed", "{h}");
            assert_eq!(h["failed_step"], "install-wait", "{h}");
            let error = h["error"].as_str().unwrap();
            assert!(error.starts_with(&hang), "{error}");
            assert!(error.contains("did not finish within 15.0s"), "{error}");
        } else {
            assert_eq!(h["status"], "moved", "{h}");
        }
    }
    // the hung host's cloud is not provisioned (nor validated); the clouds this run
    // provisioned validate
    let hang_cloud = CLOUDS[*faults.install_hang.first().unwrap() % CLOUDS.len()];
    let provisioned = doc["provisioned_clouds"].as_array().unwrap();
    assert!(!provisioned.iter().any(|c| c == hang_cloud), "{out}");
    let validations = doc["validations"].as_array().unwrap();
    assert_eq!(validations.len(), provisioned.len(), "{out}");
    assert!(validations.iter().all(|v| v["passed"] == true), "{out}");
    let metrics = site.lab.metrics();
    let c = metrics.host(&pxe_fail);
    assert_eq!(
        (c.installs_started, c.installs, c.rekicks),
        (1, 1, 1),
        "{c:?}"
    );
    let c = metrics.host(&hang);
    assert_eq!(
        (c.installs_started, c.installs, c.rekicks),
        (1, 0, 0),
        "{c:?}"
    );
    // one re-kick journaled across the runs
    let store = site.store().await;
    let mut rekicks = 0;
    for run in store.runs(10).await.unwrap() {
        rekicks += store
            .journal()
            .entries(run.id)
            .await
            .unwrap()
            .iter()
            .filter(|e| {
                e.step.to_word() == "re-kick"
                    && e.outcome.is_some()
                    && matches!(&e.subject, Subject::Host(h) if h.as_str() == pxe_fail)
            })
            .count();
    }
    assert_eq!(rekicks, 1);
    store.close().await;
}
