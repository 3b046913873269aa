//! `cargo xtask demo`: the main job on the simulated lab, as an operator would run it.
//!
//! Starts a `quads-lab` process (100 hosts, time scale 0.01: a 300 s install takes 3 s), writes a
//! fresh `quads.toml` and a QUADS-style inventory that schedules every host into one of three
//! clouds with a wipe, then runs the real binary: `quads init`, `quads host import`,
//! `quads move-hosts --dry-run`, `quads move-hosts` (progress and the summary table), and reads the
//! lab's counters to show what the run did to Foreman and the BMCs. Stops the lab at the end.
//!
//! `--quads-server` runs it in worker mode instead: the lab's fake QUADS server holds the
//! schedules (`quads-lab --quads-scheduled 1`: every host, alternately into cloud02, a wipe, and
//! cloud03, no wipe with QinQ and a public VLAN), no store is prepared, and the real
//! `quads move-hosts --quads-url URL` (its dry run first) makes the server's moves; then the
//! server's state is printed and judged (`crate::worker_site`): `GET moves` empty, every host's
//! `cloud`/`last_build`, the schedules' build times, the assignments' `provisioned`/`validated`
//! as QUADS's own mover leaves them, and the lab's isolation report clean.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use provision_core::executor::ExecutorConfig;
use testkit::{
    Expectation, HostExpectation, Inventory, IsolationReport, Login, MetricsSnapshot,
    NetworkExpectation, Probe,
};
use tokio::process::Child;

use crate::util::target_dir;

/// The demo's tenant clouds.
const CLOUDS: usize = 3;

/// The lab SMTP server's password and the webhook sink's secret (lab fixtures).
const MAIL_SECRET: &str = "lab-mail-secret";
const HOOK_SECRET: &str = "lab-hook-secret";

/// Tenant clouds `cloud02`, `cloud03`, ... (`cloud01` is the spare pool).
pub fn cloud_names(clouds: usize) -> Vec<String> {
    (0..clouds).map(|i| format!("cloud{:02}", i + 2)).collect()
}

/// Where the demo's moves come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoSource {
    /// The local store (`quads init`, `quads host import`).
    Store,
    /// The lab's QUADS server (worker mode).
    QuadsServer,
}

pub fn run_demo(
    root: &Path,
    hosts: usize,
    time_scale: f64,
    source: DemoSource,
) -> anyhow::Result<()> {
    crate::util::build_binaries(root, false, false)?;
    crate::util::runtime()?.block_on(demo(root, hosts, time_scale, source))
}

/// The worker's part: configure, plan against the server, move; then the server and the lab.
async fn work(
    quads: &Path,
    dir: &Path,
    lab_dir: &Path,
    inventory: &Inventory,
) -> anyhow::Result<()> {
    let server = crate::worker_site::client(inventory)?;
    let before = server.moves(None).await?;
    println!(
        "\nthe QUADS server at {} lists {} moves (GET moves); no local store is prepared",
        inventory.quads_url,
        before.len()
    );
    let config =
        crate::worker_site::write_setup(dir, lab_dir, inventory, demo_executor(inventory))?;
    let config_arg = config.to_string_lossy().into_owned();
    let url = inventory.quads_url.as_str();
    print_dry_run(quads, dir, &["--quads-url", url], &config_arg)?;
    let started = unix_now();
    let moved = quads_step_in(dir, quads, &["move-hosts", "--quads-url", url], &config_arg)?;

    let state = crate::worker_site::read_state(&server).await?;
    println!("\n{}", crate::worker_site::summary(&before, &state));
    let metrics = lab_metrics(inventory).await?;
    println!("\n{}", lab_summary(inventory, &metrics));
    // no faults: every listed host must have moved
    let outcomes = before.iter().map(|m| (m.host.clone(), None)).collect();
    let expect = crate::worker_site::expectation(&before, &outcomes, &state);
    let isolation = lab_isolation(inventory, &expect).await?;
    println!("{}", isolation_summary(&isolation));
    let problems = crate::worker_site::judge(&before, &outcomes, &state, started);
    if !moved.success() {
        bail!("quads move-hosts did not move every host ({moved})");
    }
    if before.is_empty() {
        bail!("the QUADS server listed no moves: nothing was shown");
    }
    if !problems.is_empty() {
        bail!(
            "the QUADS server is not as QUADS's mover would leave it:\n  {}",
            problems.join("\n  ")
        );
    }
    if !isolation.violations.is_empty() {
        bail!(
            "{} isolation violations: a host is reachable by someone other than its tenant",
            isolation.violations.len()
        );
    }
    println!(
        "\nchecks: GET moves empty, {} hosts recorded, schedules and assignments as QUADS's mover leaves them",
        before.len()
    );
    Ok(())
}

/// Seconds since the Unix epoch, by the system clock.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The demo's executor settings: the lab's clock, every host in flight at once.
fn demo_executor(inventory: &Inventory) -> ExecutorConfig {
    let mut executor = ExecutorConfig {
        // the lab's clock; at scale 0 (no latency at all) the run keeps real-time deadlines
        time_scale: if inventory.time_scale > 0.0 {
            inventory.time_scale
        } else {
            1.0
        },
        ..ExecutorConfig::default()
    };
    executor.limits.hosts_in_flight = executor.limits.hosts_in_flight.max(inventory.hosts.len());
    executor
}

/// Runs `quads move-hosts --dry-run EXTRA` and prints its first lines.
fn print_dry_run(quads: &Path, dir: &Path, extra: &[&str], config: &str) -> anyhow::Result<()> {
    let plan = Command::new(quads)
        .args(["move-hosts", "--dry-run"])
        .args(extra)
        .args(["--config", config])
        .current_dir(dir)
        .env("HOME", dir)
        .output()
        .context("cannot run quads move-hosts --dry-run")?;
    let plan_text = String::from_utf8_lossy(&plan.stdout);
    println!(
        "\n$ quads move-hosts --dry-run {}  (first lines of {})",
        extra.join(" "),
        plan_text.lines().count()
    );
    for line in plan_text.lines().take(8) {
        println!("{line}");
    }
    if !plan.status.success() {
        bail!(
            "quads move-hosts --dry-run failed ({}): {}",
            plan.status,
            String::from_utf8_lossy(&plan.stderr)
        );
    }
    Ok(())
}

async fn demo(
    root: &Path,
    hosts: usize,
    time_scale: f64,
    source: DemoSource,
) -> anyhow::Result<()> {
    let bin = target_dir(root).join("debug");
    let dir = target_dir(root).join(match source {
        DemoSource::Store => "demo",
        DemoSource::QuadsServer => "demo-worker",
    });
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let lab_dir = dir.join("lab");
    let mut args = vec![
        "--hosts".to_owned(),
        hosts.to_string(),
        "--time-scale".to_owned(),
        time_scale.to_string(),
    ];
    args.extend(match source {
        // where the notifications go: a fake SMTP server with a login, a signed webhook
        DemoSource::Store => vec![
            "--smtp".to_owned(),
            format!("--smtp-login=quads:{MAIL_SECRET}"),
            "--webhook".to_owned(),
            format!("--webhook-secret={HOOK_SECRET}"),
        ],
        // the server's schedules: every host, alternately into cloud02 and cloud03
        DemoSource::QuadsServer => vec!["--quads-scheduled".to_owned(), "1".to_owned()],
    });
    let quads = bin.join("quads");
    with_lab(
        &bin.join("quads-lab"),
        &lab_dir,
        &args,
        async |inventory| match source {
            DemoSource::Store => operate(&quads, &dir, &lab_dir, inventory).await,
            DemoSource::QuadsServer => work(&quads, &dir, &lab_dir, inventory).await,
        },
    )
    .await
}

/// Runs `body` against a `quads-lab` started with `args` (its files in `lab_dir`), then stops
/// the lab, whatever `body` gave.
pub async fn with_lab<T>(
    quads_lab: &Path,
    lab_dir: &Path,
    args: &[String],
    body: impl AsyncFnOnce(&Inventory) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let (mut lab, inventory) = start_lab(quads_lab, lab_dir, args).await?;
    let outcome = body(&inventory).await;
    lab.start_kill().ok();
    let _ = lab.wait().await;
    outcome
}

/// Starts `quads-lab` with `args`, writing its files into `lab_dir`; returns once its
/// inventory is written. The process is killed when the handle is dropped.
pub async fn start_lab(
    quads_lab: &Path,
    lab_dir: &Path,
    args: &[String],
) -> anyhow::Result<(Child, Inventory)> {
    let mut lab = tokio::process::Command::new(quads_lab)
        .args(args)
        .arg("--out-dir")
        .arg(lab_dir)
        .stdout(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start quads-lab")?;
    let inventory = wait_for_inventory(&lab_dir.join("inventory.json"), &mut lab).await?;
    Ok((lab, inventory))
}

async fn wait_for_inventory(path: &Path, lab: &mut Child) -> anyhow::Result<Inventory> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return serde_json::from_str(&text).context("the lab's inventory does not parse");
        }
        if let Some(status) = lab.try_wait()? {
            bail!("quads-lab exited before it was ready ({status})");
        }
        if tokio::time::Instant::now() > deadline {
            bail!("quads-lab wrote no inventory within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The operator's part: configure, import, plan, move; then what the lab saw.
async fn operate(
    quads: &Path,
    dir: &Path,
    lab_dir: &Path,
    inventory: &Inventory,
) -> anyhow::Result<()> {
    let config = write_setup(dir, lab_dir, inventory, demo_executor(inventory), CLOUDS)?;
    write_notify(dir, lab_dir, inventory, &config)?;
    let config_arg = config.to_string_lossy().into_owned();
    for args in [&["init"][..], &["host", "import", "inventory.yaml"][..]] {
        let status = quads_step_in(dir, quads, args, &config_arg)?;
        if !status.success() {
            bail!("quads {} failed ({status})", args.join(" "));
        }
    }
    print_dry_run(quads, dir, &[], &config_arg)?;
    let moved = quads_step_in(dir, quads, &["move-hosts"], &config_arg)?;

    let metrics = lab_metrics(inventory).await?;
    println!("\n{}", lab_summary(inventory, &metrics));
    let isolation = lab_isolation(inventory, &expectation(inventory, CLOUDS)).await?;
    println!("{}", isolation_summary(&isolation));
    if !moved.success() {
        bail!("quads move-hosts did not move every host ({moved})");
    }
    if !isolation.violations.is_empty() {
        bail!(
            "{} isolation violations: a host is reachable by someone other than its tenant",
            isolation.violations.len()
        );
    }
    month(quads, dir, &config_arg, inventory).await
}

/// `[notify]` for the lab's sinks: mail over STARTTLS (the lab CA) with a login, a signed
/// webhook.
fn write_notify(
    dir: &Path,
    lab_dir: &Path,
    inventory: &Inventory,
    config: &Path,
) -> anyhow::Result<()> {
    let (Some(smtp), Some(webhook)) = (&inventory.smtp_addr, &inventory.webhook_url) else {
        bail!("the lab serves no SMTP server or webhook sink");
    };
    let port = smtp.rsplit_once(':').map_or("25", |(_, p)| p);
    std::fs::write(dir.join("smtp.pass"), format!("{MAIL_SECRET}\n"))?;
    std::fs::write(dir.join("webhook.secret"), format!("{HOOK_SECRET}\n"))?;
    let mut text = std::fs::read_to_string(config)?;
    let _ = write!(
        text,
        "\n[notify]\ndays_before = [7, 1]\n\n[notify.smtp]\nhost = \"127.0.0.1\"\nport = {port}\n\
         from = \"quads@lab.example\"\nto = [\"ops@lab.example\"]\nusername = \"quads\"\n\
         password_file = \"{dir}/smtp.pass\"\nca_bundle = \"{ca}\"\n\n[notify.webhook]\n\
         url = \"{webhook}\"\nsecret_file = \"{dir}/webhook.secret\"\n",
        dir = dir.display(),
        ca = lab_dir.join("ca.pem").display(),
    );
    std::fs::write(config, text)?;
    Ok(())
}

/// The rest of a month in miniature, on the same lab: what the tenants were told, the notices
/// before the schedules end, an extension, a broken host and the next move skipping it.
async fn month(
    quads: &Path,
    dir: &Path,
    config: &str,
    inventory: &Inventory,
) -> anyhow::Result<()> {
    println!("\n{}", notifications_summary(inventory).await?);
    let host = |i: usize| {
        inventory
            .hosts
            .get(i)
            .map(|h| h.name.clone())
            .unwrap_or_default()
    };
    // host 2 is cloud04's first (round-robin); it breaks before cloud04 hands its hosts back
    let broken = host(CLOUDS - 1);
    let last = cloud_names(CLOUDS).pop().unwrap_or_default();
    let steps: Vec<(Vec<String>, &str)> = vec![
        (
            words("notify --date 2098-12-27"),
            "six days before the schedules end (2099-01-01): the 7-day notices",
        ),
        (
            words("notify --date 2098-12-27"),
            "a cron rerun: each notice went once",
        ),
        (
            words("schedule extend --cloud cloud02 --weeks 2"),
            "cloud02's tenant asks for two more weeks",
        ),
        (
            words("notify --date 2099-01-10"),
            "cloud02 now ends 2099-01-15: its new end gets its own notice",
        ),
        (
            vec!["host".into(), "broken".into(), broken.clone()],
            "a host breaks",
        ),
        (
            vec![
                "assignment".into(),
                "terminate".into(),
                "--cloud".into(),
                last.clone(),
            ],
            "its cloud's assignment ends now",
        ),
        (
            words("move-hosts --no-validate"),
            "the next move returns that cloud's hosts to the spare pool, skipping the broken one",
        ),
    ];
    for (args, why) in steps {
        println!("\n# {why}");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let status = quads_step_in(dir, quads, &args, config)?;
        if !status.success() {
            bail!("quads {} failed ({status})", args.join(" "));
        }
    }
    println!("\n{}", notifications_summary(inventory).await?);
    Ok(())
}

fn words(text: &str) -> Vec<String> {
    text.split(' ').map(str::to_owned).collect()
}

/// What the lab's SMTP server and webhook sink took.
async fn notifications_summary(inventory: &Inventory) -> anyhow::Result<String> {
    let probe = Probe::new(&inventory.ca_pem);
    let mail: Vec<testkit::smtp::ReceivedMail> = serde_json::from_value(
        probe
            .get(&format!("{}/mail", inventory.admin_url))
            .await?
            .json(),
    )
    .context("the lab's mail does not parse")?;
    let hooks: Vec<testkit::webhook::ReceivedWebhook> = serde_json::from_value(
        probe
            .get(&format!("{}/webhooks", inventory.admin_url))
            .await?
            .json(),
    )
    .context("the lab's webhooks do not parse")?;
    let signed = hooks
        .iter()
        .filter(|h| h.signature_valid == Some(true))
        .count();
    let mut text = format!(
        "the lab's SMTP server took {} mails, its webhook sink {} POSTs ({signed} with a valid signature):",
        mail.len(),
        hooks.len()
    );
    for m in &mail {
        let _ = write!(
            text,
            "\n  mail: {}",
            m.header("Subject").unwrap_or_default()
        );
    }
    Ok(text)
}

/// Writes what an operator would for a lab: the secrets files, `quads.toml` (store, Foreman,
/// BMC credentials, and `executor` with the lab's CA and interfaces file) and the inventory
/// YAML. Returns the config file's path.
pub fn write_setup(
    dir: &Path,
    lab_dir: &Path,
    inventory: &Inventory,
    mut executor: ExecutorConfig,
    clouds: usize,
) -> anyhow::Result<std::path::PathBuf> {
    let config = dir.join("quads.toml");
    std::fs::write(
        dir.join("foreman.pass"),
        format!("{}\n", inventory.foreman_password),
    )?;
    let first = inventory.hosts.first();
    let bmc_password = first.map(|h| h.bmc_password.clone()).unwrap_or_default();
    let bmc_user = first.map(|h| h.bmc_username.clone()).unwrap_or_default();
    std::fs::write(dir.join("bmc.pass"), format!("{bmc_password}\n"))?;
    let network = match inventory.switches.first() {
        // the lab's switches: one SSH port for all, their host keys in `switches.keys`
        Some(switch) => {
            std::fs::write(dir.join("switch.pass"), format!("{}\n", switch.password))?;
            let port = switch
                .address
                .rsplit_once(':')
                .map_or("22", |(_, port)| port);
            format!(
                "[network]\nsw_vlan_first = {}\ndriver = \"junos\"\nusername = \"{}\"\n\
                 password_file = \"{}/switch.pass\"\nhost_key_fingerprints = \"{}\"\n\
                 ssh_port = {port}\n\n",
                inventory.sw_vlan_first,
                switch.username,
                dir.display(),
                lab_dir.join("switches.keys").display(),
            )
        }
        None => String::new(),
    };
    // the validation after the moves: the hosts' SSH ports on the lab's addresses, the lab's
    // isolation report as the judge
    let validation = format!(
        "\n[validation]\nports = [{}]\nhosts_file = \"{}\"\nlab_url = \"{}\"\n",
        inventory
            .ssh_port()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        lab_dir.join("hosts.resolve").display(),
        inventory.admin_url,
    );
    executor.ca_bundle = Some(lab_dir.join("ca.pem"));
    executor.interfaces_file = Some(lab_dir.join("interfaces.yml"));
    let mut executor_table = toml::Table::new();
    executor_table.insert(
        "executor".to_owned(),
        toml::Value::try_from(&executor).context("the executor settings do not serialize")?,
    );
    std::fs::write(
        &config,
        format!(
            "[store]\npath = \"{db}\"\n\n[foreman]\nurl = \"{url}\"\nusername = \"{user}\"\n\
             password_file = \"{dir}/foreman.pass\"\ninfra_location = \"lab\"\n\n[bmc]\n\
             username = \"{bmc_user}\"\npassword_file = \"{dir}/bmc.pass\"\n\n{network}{executor}{validation}",
            db = dir.join("quads.db").display(),
            url = inventory.foreman_url,
            user = inventory.foreman_username,
            dir = dir.display(),
            executor = toml::to_string(&executor_table).context("quads.toml")?,
        ),
    )?;
    std::fs::write(
        dir.join("inventory.yaml"),
        inventory_yaml(inventory, &cloud_names(clouds)),
    )?;
    Ok(config)
}

/// What the demo's schedule must leave: host `i` in `cloud_names(clouds)[i % clouds]` under
/// ticket `3000 + i % clouds` (BMC login `quads` / `lab@<ticket>`), owned in Foreman by the
/// cloud's user, its ports in the cloud's VLANs.
#[must_use]
pub fn expectation(inventory: &Inventory, clouds: usize) -> Expectation {
    let names = cloud_names(clouds);
    let label = |i: usize| format!("{} #{}", names[i], 3000 + i);
    Expectation {
        bmc_credentials: (0..names.len())
            .map(|i| Login {
                label: label(i),
                user: ExecutorConfig::default().tenant_bmc_user,
                password: format!("lab@{}", 3000 + i),
            })
            .collect(),
        hosts: inventory
            .hosts
            .iter()
            .enumerate()
            .map(|(h, host)| {
                let i = h % names.len().max(1);
                (
                    host.name.clone(),
                    HostExpectation {
                        tenant: Some(label(i)),
                        owner: names[i].clone(),
                        network: Some(NetworkExpectation {
                            cloud: names[i].clone(),
                            qinq: false,
                            public_vlan: None,
                        }),
                    },
                )
            })
            .collect(),
        retired_foreman_users: Vec::new(),
    }
}

/// The isolation report of a running `quads-lab` (its admin endpoint) for `expect`.
pub async fn lab_isolation(
    inventory: &Inventory,
    expect: &Expectation,
) -> anyhow::Result<IsolationReport> {
    let probe = Probe::new(&inventory.ca_pem);
    serde_json::from_value(
        probe
            .post(
                &format!("{}/isolation", inventory.admin_url),
                &serde_json::to_value(expect)?,
            )
            .await?
            .json(),
    )
    .context("the lab's isolation report does not parse")
}

/// One line on an isolation report, and its first violations.
#[must_use]
pub fn isolation_summary(report: &IsolationReport) -> String {
    let mut text = format!(
        "isolation report (the lab's own view: BMC logins, Foreman owners, switch ports): {} hosts, {} violations",
        report.hosts.len(),
        report.violations.len()
    );
    for v in report.violations.iter().take(5) {
        let _ = write!(text, "\n  {} {}: {}", v.kind, v.subject, v.detail);
    }
    text
}

/// The counters of a running `quads-lab`, from its admin endpoint.
pub async fn lab_metrics(inventory: &Inventory) -> anyhow::Result<MetricsSnapshot> {
    let probe = Probe::new(&inventory.ca_pem);
    serde_json::from_value(
        probe
            .get(&format!("{}/metrics", inventory.admin_url))
            .await?
            .json(),
    )
    .context("the lab's metrics do not parse")
}

fn quads_step_in(
    dir: &Path,
    quads: &Path,
    args: &[&str],
    config: &str,
) -> anyhow::Result<std::process::ExitStatus> {
    println!("\n$ quads {}", args.join(" "));
    Command::new(quads)
        .args(args)
        .args(["--config", config])
        .current_dir(dir)
        .env("HOME", dir)
        // the demo's own terminal: `move-hosts` draws its progress bars when it is one
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .with_context(|| format!("cannot run quads {}", args.join(" ")))
}

/// Every lab host in cloud01, each scheduled into one of `clouds` (round-robin), each asking
/// for a wipe.
fn inventory_yaml(inventory: &Inventory, clouds: &[String]) -> String {
    let mut text =
        String::from("version: 1\nclouds:\n  - name: cloud01\n    description: spare pool\n");
    for cloud in clouds {
        let _ = writeln!(text, "  - name: {cloud}");
    }
    text.push_str("hosts:\n");
    for host in &inventory.hosts {
        let _ = writeln!(
            text,
            "  - name: {}\n    bmc: \"{}\"\n    model: {}\n    default_cloud: cloud01",
            host.name, host.bmc_address, host.model
        );
        if !host.interfaces.is_empty() {
            text.push_str("    interfaces:\n");
        }
        for nic in &host.interfaces {
            let _ = writeln!(
                text,
                "      - name: {}\n        switch_ip: \"{}\"\n        switch_port: \"{}\"\n        \
                 mac_address: \"{}\"\n        speed: {}\n        pxe_boot: {}",
                nic.name,
                nic.switch_ip,
                nic.switch_port,
                nic.mac_address,
                nic.speed / 1000,
                nic.pxe_boot
            );
        }
    }
    text.push_str("assignments:\n");
    for (i, cloud) in clouds.iter().enumerate() {
        let _ = writeln!(
            text,
            "  - cloud: {cloud}\n    ticket: \"{}\"\n    owner: tenant{i}\n    wipe: true\n    \
             os: RedHat 9.4\n    partition_table: Kickstart default\n    medium: RHEL 9 mirror\n    \
             boot_type: bios",
            3000 + i
        );
    }
    text.push_str("schedules:\n");
    for (i, host) in inventory.hosts.iter().enumerate() {
        let _ = writeln!(
            text,
            "  - host: {}\n    cloud: {}\n    start: 2026-01-01\n    end: 2099-01-01",
            host.name,
            clouds[i % clouds.len().max(1)]
        );
    }
    text
}

/// The store's record of a lab host's NIC (the lab gives speeds in Mb/s, QUADS in Gb/s).
///
/// # Errors
/// When the lab's interface name or MAC address is not one the store takes.
pub fn store_interface(
    host: &provision_core::model::HostName,
    nic: &testkit::InventoryInterface,
) -> anyhow::Result<provision_core::model::Interface> {
    use provision_core::model::{Interface, InterfaceName, MacAddress};
    Ok(Interface {
        host: host.clone(),
        name: InterfaceName::new(nic.name.as_str()).map_err(|e| anyhow::anyhow!(e))?,
        bios_id: Some(nic.bios_id.clone()),
        mac_address: Some(MacAddress::new(&nic.mac_address).map_err(|e| anyhow::anyhow!(e))?),
        switch_ip: nic.switch_ip.clone(),
        switch_port: nic.switch_port.clone(),
        speed: Some(nic.speed / 1000),
        vendor: Some(nic.vendor.clone()),
        pxe_boot: nic.pxe_boot,
        maintenance: false,
    })
}

/// What the run did, as the lab counted it.
fn lab_summary(inventory: &Inventory, metrics: &MetricsSnapshot) -> String {
    let hosts: Vec<_> = inventory
        .hosts
        .iter()
        .map(|h| metrics.host(&h.name))
        .collect();
    let n = hosts.len().max(1) as f64;
    let sum = |f: &dyn Fn(&testkit::HostCounters) -> u64| hosts.iter().map(f).sum::<u64>();
    let max = |f: &dyn Fn(&testkit::HostCounters) -> u64| hosts.iter().map(f).max().unwrap_or(0);
    format!(
        "lab counters: {} installs; power cycles per host at most {}; sessions opened {} / closed \
         {} / expired when idle {} / open {}; overlapping writes to one Foreman object {}; Foreman requests {:.1} per host \
         (peak {} in service of capacity, {} refused); BMC requests {:.1} per host; switch commits {} \
         on {} switches (at most {} on one), at most {} session(s) at once on a switch",
        sum(&|c| c.installs),
        max(&|c| c.power_cycles),
        sum(&|c| c.sessions_opened),
        sum(&|c| c.sessions_closed),
        sum(&|c| c.sessions_expired),
        sum(&|c| c.sessions_open),
        metrics.total_overlapping_writes(),
        sum(&|c| c.foreman_requests) as f64 / n,
        metrics.foreman_peak_in_service,
        metrics.foreman_refused,
        sum(&|c| c.bmc_requests) as f64 / n,
        metrics.switches.values().map(|c| c.commits).sum::<u64>(),
        metrics.switches.len(),
        metrics
            .switches
            .values()
            .map(|c| c.commits)
            .max()
            .unwrap_or(0),
        metrics
            .switches
            .values()
            .map(|c| c.peak_sessions)
            .max()
            .unwrap_or(0),
    )
}
