//! `cargo xtask simulate --virtual`: the executor of `quads move-hosts` (the same clients,
//! adapters, limits and step machine) in this process against testkit's [`InProcessLab`], under
//! a paused tokio clock: the lab's latencies and the executor's waits cost no real time, so
//! fleets of 10,000 hosts and more run in seconds. The journal is kept in memory (SQLite's
//! worker threads would let the paused clock jump while they work); everything else is as in a
//! real run. CPU and peak RSS are this process's, the lab included.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, anyhow};
use provision_core::executor::adapters::{
    ForemanAdapter, InterfacesBootOrders, RedfishFleet, client_config,
};
use provision_core::executor::{
    Execution, MemoryLedger, MoveJob, Ports, ResumeState, RunProgress, execute,
};
use provision_core::limits::Limits;
use provision_core::model::{
    AssignmentSpec, BootType, CloudName, Host, HostName, HostState, RunId, Wipe,
};
use provision_core::shutdown::Shutdown;
use provision_core::{Timestamp, TokioClock};
use quads_http::Transport;
use testkit::{InProcessLab, LabConfig};

use super::check::{Costs, isolation_expectation, judge_isolation, result};
use super::report::RunResult;
use super::run::{RunSetup, executor_config};
use crate::inproc::{InProcessSwitches, InProcessTransport};

/// One policy's run on a fresh in-process lab in virtual time.
pub fn run(setup: &RunSetup<'_>, config: LabConfig) -> anyhow::Result<RunResult> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .context("cannot start a paused tokio runtime")?;
    let cpu_before = own_cpu_seconds();
    let started = Instant::now();
    let (report, metrics, isolation) = runtime.block_on(move_all(setup, config))?;
    let wall = started.elapsed().as_secs_f64();
    let cpu = own_cpu_seconds() - cpu_before;
    let rss =
        crate::bench::proc_status_kib(std::process::id().cast_signed(), "VmHWM:").unwrap_or(0);
    #[allow(clippy::cast_precision_loss)]
    let mut r = result(
        setup.policy,
        &report,
        &metrics,
        setup.dead,
        Costs {
            makespan: report.seconds,
            wall,
            cpu,
            rss_mib: rss as f64 / 1024.0,
        },
    );
    judge_isolation(&mut r, &isolation);
    Ok(r)
}

fn own_cpu_seconds() -> f64 {
    crate::bench::proc_cpu_seconds(std::process::id().cast_signed()).unwrap_or(f64::NAN)
}

async fn move_all(
    setup: &RunSetup<'_>,
    config: LabConfig,
) -> anyhow::Result<(
    provision_core::executor::RunReport,
    testkit::MetricsSnapshot,
    testkit::IsolationReport,
)> {
    let hosts = config.hosts;
    let lab = Arc::new(InProcessLab::new(config).context("cannot build the lab")?);
    let inventory = lab.inventory();
    let executor = executor_config(setup.policy, hosts, 1.0).in_real_time();
    let limits = Limits::new(&executor.limits).map_err(|e| anyhow!(e))?;
    // the executor's request timeout, as a real run has it
    let transport: Arc<dyn Transport> = Arc::new(
        InProcessTransport::new(lab.clone()).with_request_timeout(executor.request_timeout),
    );
    let foreman_transport = limits.foreman_transport(transport.clone());
    let client = foreman_client::ForemanClient::with_transport(
        foreman_transport.clone(),
        foreman_client::ClientConfig::new(
            foreman_client::ForemanUrl::parse(&inventory.foreman_url).map_err(|e| anyhow!(e))?,
            foreman_client::Credentials::password(
                inventory.foreman_username.clone(),
                inventory.foreman_password.as_str(),
            ),
        ),
    )
    .map_err(|e| anyhow!(e))?;
    let redfish = redfish_client::RedfishClient::with_transport(
        limits.bmc_transport(transport),
        client_config(executor.limits.per_bmc, 1.0),
    );
    let first = inventory.hosts.first().context("the lab has no hosts")?;
    let admin =
        redfish_client::Credentials::new(first.bmc_username.clone(), first.bmc_password.as_str());
    let mut models: Vec<&str> = inventory.hosts.iter().map(|h| h.model.as_str()).collect();
    models.sort_unstable();
    models.dedup();
    let interfaces = redfish_client::InterfacesFile::parse(&testkit::lab::interfaces_yaml(&models))
        .map_err(|e| anyhow!(e))?;
    let spare = CloudName::new("cloud01").map_err(|e| anyhow!(e))?;
    let clouds: Vec<CloudName> = crate::demo::cloud_names(setup.clouds)
        .into_iter()
        .map(CloudName::new)
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow!(e))?;
    let scheme = provision_core::network::VlanScheme {
        sw_vlan_first: inventory.sw_vlan_first,
    };
    let mut jobs = Vec::with_capacity(hosts);
    for (i, h) in inventory.hosts.iter().enumerate() {
        let to = clouds[i % clouds.len()].clone();
        let name = HostName::new(h.name.as_str()).map_err(|e| anyhow!(e))?;
        let assignment = AssignmentSpec {
            cloud: to.clone(),
            ticket: format!("{}", 3000 + i % clouds.len()),
            owner: format!("tenant{}", i % clouds.len()),
            description: String::new(),
            wipe: Wipe::Yes,
            os: Some("RedHat 9.4".to_owned()),
            partition_table: Some("Kickstart default".to_owned()),
            medium: Some("RHEL 9 mirror".to_owned()),
            boot_type: BootType::Bios,
            qinq: provision_core::model::QinQ::Separated,
            public_vlan: None,
        };
        let nics = h
            .interfaces
            .iter()
            .map(|nic| crate::demo::store_interface(&name, nic))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let network = provision_core::network::port_moves(
            &name,
            &nics.iter().collect::<Vec<_>>(),
            None,
            Some(&assignment),
            scheme,
        );
        jobs.push(MoveJob {
            host: Host {
                name,
                bmc_address: h.bmc_address.clone(),
                model: Some(h.model.clone()),
                host_type: None,
                default_cloud: spare.clone(),
                current_cloud: spare.clone(),
                state: HostState::Active,
            },
            from: spare.clone(),
            to: to.clone(),
            wipe: Wipe::Yes,
            schedule: None,
            leaving: None,
            assignment: Some(assignment),
            network,
        });
    }
    let start: Timestamp = "2026-01-01T00:00:00Z".parse().map_err(|e| anyhow!("{e}"))?;
    let clock = Arc::new(TokioClock::starting_at(start));
    let ledger = Arc::new(
        MemoryLedger::with_clouds(jobs.iter().map(|j| (j.host.name.clone(), spare.clone())))
            .with_clock(clock.clone()),
    );
    let report = execute(
        Execution {
            run: RunId(1),
            infra_location: "lab".to_owned(),
            ports: Ports {
                foreman: Arc::new(
                    ForemanAdapter::new(client, foreman_transport).with_policy(&executor.policy),
                ),
                fleet: Arc::new(RedfishFleet::new(redfish, admin)),
                boot_orders: Arc::new(InterfacesBootOrders::new(
                    interfaces,
                    executor.provisioning_host_type.clone(),
                )),
                clock,
                switches: Some(Arc::new(InProcessSwitches::new(lab.clone()))),
            },
            shutdown: Shutdown::new(executor.grace),
            config: executor,
            ledger,
            limits,
            resume: ResumeState::empty(),
            target_time: start,
            progress: RunProgress::default(),
        },
        jobs,
    )
    .await;
    let expect = isolation_expectation(&inventory, setup.clouds, setup.dead);
    let isolation = lab.shared().isolation(&expect);
    Ok((report, lab.metrics(), isolation))
}
