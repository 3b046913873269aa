//! `quads move-hosts` for real (without `--dry-run`): builds the clients over the limits'
//! transports, wires Ctrl-C and SIGTERM to an orderly stop, runs provision-core's executor and
//! prints the summary table (or the run report as JSON). Host-prefixed log lines go to stderr;
//! on a terminal, above progress bars (`run_progress`) that are cleared before the summary.
//! Exit codes: 0 all moved, 1 some failed, 2 usage or config error, 130 interrupted.

use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use comfy_table::{Table, TableStyle};
use provision_core::executor::adapters::{
    CommandPorts, ForemanAdapter, InterfacesBootOrders, JunosPorts, KnownKeys, RedfishFleet,
    client_config,
};
use provision_core::executor::ports::{BootOrders, SwitchPort};
use provision_core::executor::quads_server::{
    BuildDefaults, HostsFile, OneMove, Selection, WorkerConfig, WorkerRequest,
    move_hosts_from_server, plan_from_server,
};
use provision_core::executor::validate::{
    HookIsolation, IsolationCheck, LabIsolation, TcpProbe, ValidationConfig,
};
use provision_core::executor::{
    CloudValidation, ExecutorConfig, HostStatus, MoveRequest, Ports, RunProgress, RunReport,
    RunSetup, ValidateRequest, Validation, ValidationReport, move_hosts, validate_clouds,
};
use provision_core::limits::Limits;
use provision_core::model::{CloudName, Host};
use provision_core::shutdown::Shutdown;
use provision_core::{Config, OpenMode, Store, StoreOptions, SystemClock, Timestamp};
use provision_core::{HostKeyCheck, SwitchDriver};
use quads_api_client::{QuadsClient, QuadsUrl};
use quads_http::{HttpsTransport, TlsVerification, TransportConfig};

use crate::admin::output::Format;

use crate::config::ConfigFile;
use crate::run_progress;

pub use crate::process::{EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE};

/// What the operator asked for.
#[derive(Debug, Clone)]
pub struct Request {
    /// `--date`.
    pub at: Option<Timestamp>,
    /// `--cloud`.
    pub cloud: Option<CloudName>,
    /// `--resume`.
    pub resume: bool,
    /// `--format json`.
    pub json: bool,
    /// Worker mode: the QUADS server whose moves are made, `None` for the local store's.
    pub worker: Option<Worker>,
    /// Validate the clouds provisioned (`None`: `--no-validate`, or worker mode).
    pub validation: Option<PreparedValidation>,
    /// What is run: the moves, or (`quads validate`) only the validation.
    pub action: Action,
    /// `[notify]`: who is told after the moves (standalone mode only).
    pub notify: Option<crate::notify::PreparedNotify>,
}

/// What [`run`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `move-hosts`: the moves (then the validation of the clouds provisioned).
    Move,
    /// `validate`: the validation of every provisioned cloud (or `--cloud`'s), on demand.
    Validate,
}

/// `[validation]` and what it names, read before any runtime.
#[derive(Debug, Clone)]
pub struct PreparedValidation {
    /// The checks.
    pub config: ValidationConfig,
    /// Its `hosts_file`, read.
    pub hosts: HostsFile,
}

/// How long a BMC connection is kept idle, in the run's time (a host waiting for its install
/// holds none).
const BMC_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a BMC connection is idle before a host waiting for one (at
/// `limits.bmc_connections`) may have it closed, in the run's time: longer than the gaps
/// between the requests of one step (a power poll every second), shorter than a wait on a
/// switch or on Foreman.
const BMC_LINGER: Duration = Duration::from_secs(2);

/// The `[validation]` table (defaults when there is none) and its hosts file, read.
///
/// # Errors
/// When the table is invalid or its hosts file cannot be read.
pub fn validation_config(file: &ConfigFile) -> anyhow::Result<PreparedValidation> {
    let config: ValidationConfig = file.table("validation")?;
    let hosts = match &config.hosts_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!("cannot read [validation] hosts_file {}", path.display())
            })?;
            HostsFile::parse(&text)
                .map_err(|e| anyhow!("[validation] hosts_file {}: {e}", path.display()))?
        }
        None => HostsFile::default(),
    };
    Ok(PreparedValidation { config, hosts })
}

/// The validation's outside world: TCP probes, and the lab's isolation report or the site's
/// isolation hook.
fn validation(
    prepared: &PreparedValidation,
    time_scale: f64,
    transport: Arc<dyn quads_http::Transport>,
    limits: &Limits,
    shutdown: &Shutdown,
    network: bool,
) -> Validation {
    let config = prepared.config.clone().in_real_time(time_scale);
    let isolation: Option<Arc<dyn IsolationCheck>> = match (&config.lab_url, &config.isolation_hook)
    {
        (Some(url), _) => Some(Arc::new(LabIsolation::new(url, transport))),
        (None, Some(hook)) => Some(Arc::new(HookIsolation::new(
            hook.clone(),
            limits.clone(),
            shutdown.aborted().clone(),
        ))),
        (None, None) => None,
    };
    Validation {
        probe: Arc::new(TcpProbe::new(
            prepared.hosts.clone(),
            config.connect_timeout,
        )),
        isolation,
        network,
        config,
    }
}

/// Worker mode: where the moves come from and how jobs are built.
#[derive(Debug, Clone)]
pub struct Worker {
    /// The server.
    pub url: QuadsUrl,
    /// Its admin, when configured (a real run writes, so needs one).
    pub credentials: Option<quads_api_client::Credentials>,
    /// Which moves, and how their jobs are built.
    pub request: WorkerRequest,
}

/// The QUADS server's URL: `--quads-url`, else `[quads] url` / `QUADS_API_URL`.
#[must_use]
pub fn worker_url<'a>(flag: Option<&'a str>, config: &'a Config) -> Option<&'a str> {
    flag.or(config.quads.url.as_deref())
}

/// Worker mode's settings, when a QUADS server is named (reads the resolve file: call before
/// any runtime). `one` is QUADS's `--move-command` form, which needs a server.
///
/// # Errors
/// A bad URL or resolve file, or `HOST CURRENT NEW` without a server.
pub fn worker(
    flag: Option<&str>,
    config: &Config,
    at: Option<Timestamp>,
    cloud: Option<CloudName>,
    one: Option<OneMove>,
) -> anyhow::Result<Option<Worker>> {
    let Some(url) = worker_url(flag, config) else {
        if one.is_some() {
            return Err(anyhow!(
                "`move-hosts HOST CURRENT NEW` moves a QUADS server's host: give --quads-url, [quads] url or QUADS_API_URL"
            ));
        }
        return Ok(None);
    };
    let url = QuadsUrl::parse(url).map_err(|e| anyhow!(e).context("the QUADS server's URL"))?;
    let q = &config.quads;
    let resolve = match &q.resolve_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read resolve_file {}", path.display()))?;
            HostsFile::parse(&text).map_err(|e| anyhow!("resolve_file {}: {e}", path.display()))?
        }
        None => HostsFile::default(),
    };
    let credentials = match (&q.username, &q.password) {
        (Some(user), Some(password)) => Some(quads_api_client::Credentials::new(
            user.clone(),
            password.clone(),
        )),
        _ => None,
    };
    Ok(Some(Worker {
        url,
        credentials,
        request: WorkerRequest {
            selection: match one {
                Some(one) => Selection::One(one),
                None => Selection::Listed { at, cloud },
            },
            config: WorkerConfig {
                bmc_template: q.bmc_address.clone(),
                resolve,
                defaults: BuildDefaults {
                    os: q.default_os.clone(),
                    partition_table: q.default_ptable.clone(),
                    medium: q.default_medium.clone(),
                },
                vlans: config.network.scheme(),
                untouchable: config.moves.untouchable_hosts.clone(),
            },
        },
    }))
}

fn quads_client(
    worker: &Worker,
    transport: Arc<dyn quads_http::Transport>,
) -> anyhow::Result<QuadsClient> {
    let mut settings = quads_api_client::ClientConfig::new(worker.url.clone());
    settings.credentials = worker.credentials.clone();
    QuadsClient::with_transport(transport, settings).map_err(|e| anyhow!(e).context("[quads]"))
}

/// A client of the worker's server over its own HTTPS transport (`ca_bundle` trusted when
/// given), for the reads of a dry run and of `quads import --from-quads`.
///
/// # Errors
/// Bad TLS settings or credentials.
pub fn server_client(worker: &Worker, ca_bundle: Option<&Path>) -> anyhow::Result<QuadsClient> {
    let tls = match ca_bundle {
        Some(path) => TlsVerification::CaBundle(path.to_path_buf()),
        None => TlsVerification::Platform,
    };
    let transport = HttpsTransport::new(&TransportConfig {
        tls,
        ..TransportConfig::default()
    })
    .map_err(|e| anyhow!(e).context("TLS settings"))?;
    quads_client(worker, Arc::new(transport))
}

/// `move-hosts --dry-run` in worker mode: the server's moves as jobs, printed as the plan
/// (ids are the server's); touches nothing. Blocking (on the process's runtime).
pub fn dry_run_worker(request: &Request, executor: &ExecutorConfig, format: Format) -> Outcome {
    let Some(worker) = &request.worker else {
        return refuse(anyhow!("no QUADS server is configured"));
    };
    let client = match server_client(worker, executor.ca_bundle.as_deref()) {
        Ok(c) => c,
        Err(e) => return refuse(e),
    };
    let runtime = match crate::process::runtime() {
        Ok(r) => r,
        Err(e) => {
            return Outcome {
                stdout: String::new(),
                code: EXIT_FAILED,
                error: Some(e),
            };
        }
    };
    let at = request.at.unwrap_or_else(|| {
        use provision_core::Clock as _;
        SystemClock.now()
    });
    let planned = runtime.block_on(plan_from_server(
        &client,
        &worker.request.config,
        &worker.request.selection,
        at,
    ));
    match planned {
        Ok(p) => {
            let networks: Vec<_> = p.jobs.iter().map(|j| j.network.clone()).collect();
            match crate::admin::output::plan(format, &p.plan, &networks) {
                Ok(stdout) => Outcome {
                    stdout,
                    code: EXIT_OK,
                    error: None,
                },
                Err(e) => Outcome {
                    stdout: String::new(),
                    code: EXIT_FAILED,
                    error: Some(e),
                },
            }
        }
        Err(e) => Outcome {
            stdout: String::new(),
            code: EXIT_FAILED,
            error: Some(anyhow!(e)),
        },
    }
}

/// What to print and how to exit.
#[derive(Debug)]
pub struct Outcome {
    /// For stdout.
    pub stdout: String,
    /// The exit code.
    pub code: u8,
    /// For stderr, when the run could not happen.
    pub error: Option<anyhow::Error>,
}

/// A command that failed: exit 2 when its input was refused, else 1.
pub fn failure(refusal: bool, error: anyhow::Error) -> Outcome {
    Outcome {
        stdout: String::new(),
        code: if refusal { EXIT_USAGE } else { EXIT_FAILED },
        error: Some(error),
    }
}

fn refuse(error: anyhow::Error) -> Outcome {
    Outcome {
        stdout: String::new(),
        code: EXIT_USAGE,
        error: Some(error),
    }
}

/// Boot orders when no interfaces file is configured: every wipe move fails at its
/// boot-order step with the reason.
#[derive(Debug)]
struct NoInterfaces;

impl BootOrders for NoInterfaces {
    fn provisioning_order(&self, _host: &Host) -> Result<Vec<String>, String> {
        Err("no interfaces file is configured (executor.interfaces_file)".to_owned())
    }
}

/// The `[executor]` table (defaults when there is none).
///
/// # Errors
/// When the table is invalid.
pub fn executor_config(file: &ConfigFile) -> anyhow::Result<ExecutorConfig> {
    file.table("executor")
}

/// The known switch host keys of a Junos driver, read before anything else (a bad file stops
/// the run before any move); `None` for other drivers.
fn known_keys(driver: &SwitchDriver) -> anyhow::Result<Option<KnownKeys>> {
    let SwitchDriver::Junos(j) = driver else {
        return Ok(None);
    };
    Ok(Some(match &j.host_keys {
        HostKeyCheck::Insecure => KnownKeys::Insecure,
        HostKeyCheck::Fingerprints(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read host_key_fingerprints {}", path.display()))?;
            KnownKeys::parse(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?
        }
    }))
}

/// The switches of `[network] driver`: none, Junos over SSH (with `keys`, from
/// [`known_keys`]), or a site command.
fn switch_driver(
    driver: &SwitchDriver,
    keys: Option<KnownKeys>,
    time_scale: f64,
    limits: &Limits,
    shutdown: &Shutdown,
) -> anyhow::Result<Option<Arc<dyn SwitchPort>>> {
    Ok(match (driver, keys) {
        (SwitchDriver::None, _) => None,
        (SwitchDriver::Junos(j), Some(keys)) => Some(Arc::new(
            JunosPorts::new(j.username.clone(), j.password.clone(), keys, j.ssh_port)
                .with_time_scale(time_scale),
        )),
        (SwitchDriver::Command(c), _) => Some(Arc::new(CommandPorts::new(
            &c.command,
            &c.args,
            Duration::from_secs(300),
            limits.clone(),
            shutdown.aborted().clone(),
        ))),
        (other, _) => return Err(anyhow!("switch driver {:?} is not set up", other.as_str())),
    })
}

/// Runs the moves; blocking (on the process's runtime, from outside it).
pub fn run(request: &Request, config: &Config, executor: ExecutorConfig) -> Outcome {
    let bars = run_progress::terminal(request.json);
    let keys = match known_keys(&config.network.driver) {
        Ok(k) => k,
        Err(e) => return refuse(e.context("[network]")),
    };
    let progress = RunProgress::new();
    let Some(foreman) = config.foreman.clone() else {
        return refuse(anyhow!(
            "move-hosts needs [foreman] in the config (url, username, password, infra_location)"
        ));
    };
    let Some(bmc) = config.bmc.clone() else {
        return refuse(anyhow!(
            "move-hosts needs [bmc] in the config (username and password)"
        ));
    };
    if let Err(e) = executor.validate() {
        return refuse(anyhow!(e));
    }
    let time_scale = executor.time_scale;
    let executor = executor.in_real_time();
    let boot_orders: Arc<dyn BootOrders> = match &executor.interfaces_file {
        Some(path) => match redfish_client::InterfacesFile::load(path) {
            Ok(file) => Arc::new(InterfacesBootOrders::new(
                file,
                executor.provisioning_host_type.clone(),
            )),
            Err(e) => return refuse(anyhow!(e)),
        },
        None => Arc::new(NoInterfaces),
    };
    let limits = match Limits::new(&executor.limits) {
        Ok(l) => l,
        Err(e) => return refuse(anyhow!(e).context("[executor.limits]")),
    };
    let tls = match &executor.ca_bundle {
        Some(path) => TlsVerification::CaBundle(path.clone()),
        None => TlsVerification::Platform,
    };
    let transport = match HttpsTransport::new(&TransportConfig {
        tls,
        request_timeout: executor.request_timeout,
        connect_timeout: executor.connect_timeout,
        ..TransportConfig::default()
    }) {
        Ok(t) => Arc::new(t),
        Err(e) => return refuse(anyhow!(e).context("TLS settings")),
    };
    let quads = match &request.worker {
        Some(worker) if worker.credentials.is_none() => {
            return refuse(anyhow!(
                "worker mode writes back to the QUADS server: it needs an admin ([quads] username or QUADS_API_USERNAME, and QUADS_API_PASSWORD(_FILE) or [quads] password_file)"
            ));
        }
        Some(worker) => match quads_client(worker, transport.clone()) {
            Ok(c) => Some(c),
            Err(e) => return refuse(e),
        },
        None => None,
    };
    let url = match foreman_client::ForemanUrl::parse(&foreman.url) {
        Ok(u) => u,
        Err(e) => return refuse(anyhow!(e).context("foreman.url")),
    };
    let runtime = match crate::process::runtime() {
        Ok(r) => r,
        Err(e) => {
            return Outcome {
                stdout: String::new(),
                code: EXIT_FAILED,
                error: Some(e),
            };
        }
    };
    runtime.block_on(async move {
        let foreman_transport = limits.foreman_transport(transport.clone());
        let client = match foreman_client::ForemanClient::with_transport(
            foreman_transport.clone(),
            foreman_client::ClientConfig::new(
                url,
                foreman_client::Credentials::password(
                    foreman.username.clone(),
                    foreman.password.expose(),
                ),
            ),
        ) {
            Ok(c) => c,
            Err(e) => return refuse(anyhow!(e)),
        };
        // one connection per BMC (a second request waits for it), at most
        // `limits.bmc_connections` open across the fleet, over the TLS settings and session
        // store Foreman's transport uses, closed when idle for a minute of the run's clock: a
        // fleet's memory is its connections
        let bmc_connections = transport.with_connection_caps(&quads_http::ConnectionCaps {
            per_server: NonZeroUsize::MIN,
            max_connections: NonZeroUsize::new(executor.limits.bmc_connections),
            idle_timeout: provision_core::time::scale_duration(BMC_IDLE_TIMEOUT, time_scale),
            linger: provision_core::time::scale_duration(BMC_LINGER, time_scale),
        });
        let redfish = redfish_client::RedfishClient::with_transport(
            limits.bmc_transport(Arc::new(bmc_connections)),
            client_config(executor.limits.per_bmc, time_scale),
        );
        let shutdown = Shutdown::new(executor.grace);
        let switches =
            match switch_driver(&config.network.driver, keys, time_scale, &limits, &shutdown) {
                Ok(s) => s,
                Err(e) => return refuse(e.context("[network]")),
            };
        let validation = request.validation.as_ref().map(|v| {
            validation(
                v,
                time_scale,
                transport.clone(),
                &limits,
                &shutdown,
                !matches!(config.network.driver, SwitchDriver::None),
            )
        });
        let signals = {
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                if let Err(e) = shutdown.listen_for_signals().await {
                    tracing::warn!(error = %e, "cannot listen for signals");
                }
            })
        };
        let store = match Store::open(StoreOptions {
            path: config.store.path.clone(),
            // worker mode keeps only the journal and the run lock here: no `quads init` needed
            mode: if request.worker.is_some() {
                OpenMode::CreateIfMissing
            } else {
                OpenMode::MustExist
            },
            clock: Arc::new(SystemClock),
        })
        .await
        {
            Ok(s) => s,
            Err(e) => return refuse(anyhow!(e)),
        };
        // every BMC session is recorded while open, so a run killed before logging out
        // leaves its sessions for the next run to close
        let _ = redfish.set_session_log(Arc::new(
            provision_core::executor::adapters::StoreSessionLog::new(store.clone()),
        ));
        let setup = RunSetup {
            infra_location: foreman.infra_location.clone(),
            ports: Ports {
                foreman: Arc::new(
                    ForemanAdapter::new(client, foreman_transport)
                        .with_policy(&executor.policy)
                        .with_time_scale(time_scale),
                ),
                fleet: Arc::new(RedfishFleet::new(
                    redfish,
                    redfish_client::Credentials::new(bmc.username.clone(), bmc.password.expose()),
                )),
                boot_orders,
                clock: Arc::new(SystemClock),
                switches,
            },
            config: executor,
            limits,
            shutdown,
            progress: progress.clone(),
        };
        if request.action == Action::Validate {
            let Some(validation) = validation else {
                return refuse(anyhow!("validate: no validation is configured"));
            };
            let mut result = validate_clouds(
                &store,
                &ValidateRequest {
                    cloud: request.cloud.clone(),
                    at: request.at,
                },
                setup,
                validation,
            )
            .await;
            if let (Ok(report), Some(prepared)) = (&mut result, &request.notify) {
                let at = request
                    .at
                    .unwrap_or_else(|| Timestamp::from_system_time(std::time::SystemTime::now()));
                crate::notify::after_validation(
                    &store,
                    prepared,
                    report,
                    at,
                    &tokio_util::sync::CancellationToken::new(),
                )
                .await;
            }
            store.close().await;
            signals.abort();
            return validated(result, request.json);
        }
        let result = match (&request.worker, quads) {
            (Some(worker), Some(client)) => {
                run_progress::watch(
                    bars,
                    &progress,
                    move_hosts_from_server(&store, &client, &worker.request, setup),
                )
                .await
            }
            _ => {
                run_progress::watch(
                    bars,
                    &progress,
                    move_hosts(
                        &store,
                        &MoveRequest {
                            at: request.at,
                            cloud: request.cloud.clone(),
                            resume: request.resume,
                            untouchable: config.moves.untouchable_hosts.clone(),
                            vlans: config.network.scheme(),
                            validation,
                        },
                        setup,
                    ),
                )
                .await
            }
        };
        let result = match (result, &request.notify) {
            (Ok(mut report), Some(prepared)) if request.worker.is_none() && !report.interrupted => {
                crate::notify::after_run(
                    &store,
                    prepared,
                    &mut report,
                    &tokio_util::sync::CancellationToken::new(),
                )
                .await;
                Ok(report)
            }
            (result, _) => result,
        };
        store.close().await;
        signals.abort();
        match result {
            Ok(report) => {
                let code = if report.interrupted {
                    EXIT_INTERRUPTED
                } else if report.all_moved()
                    && report.all_validated()
                    && report.write_back_errors.is_empty()
                {
                    EXIT_OK
                } else {
                    EXIT_FAILED
                };
                let stdout = if request.json {
                    pretty_json(&report)
                } else {
                    summary(&report)
                };
                Outcome {
                    stdout,
                    code,
                    error: None,
                }
            }
            Err(e) => failure(e.is_refusal(), anyhow!(e)),
        }
    })
}

/// `value` as pretty JSON and a newline.
fn pretty_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value)
        .map(|s| s + "\n")
        .unwrap_or_default()
}

/// One cloud's validation in a line, then one line per failed host and isolation violation.
fn validation_line(v: &CloudValidation) -> String {
    let mut out = if v.passed {
        format!("{} validated ({} hosts)\n", v.cloud, v.hosts.len())
    } else {
        format!("{} FAILED validation\n", v.cloud)
    };
    for h in v.hosts.iter().filter(|h| !h.passed) {
        out.push_str(&format!(
            "  {}{}: {}\n",
            h.host,
            if h.rekicked { " (re-kicked once)" } else { "" },
            h.problems.join("; ")
        ));
    }
    for i in &v.isolation {
        out.push_str(&format!("  isolation: {i}\n"));
    }
    out
}

/// `quads validate`'s output and exit code: 0 every cloud passed, 1 one failed, 2 refused.
fn validated(
    result: Result<ValidationReport, provision_core::executor::ExecError>,
    json: bool,
) -> Outcome {
    match result {
        Ok(report) => {
            let stdout = if json {
                pretty_json(&report)
            } else if report.clouds.is_empty() {
                "nothing to validate\n".to_owned()
            } else {
                let mut out: String = report.clouds.iter().map(validation_line).collect();
                out.push_str(&format!(
                    "run {}: {} of {} clouds validated\n",
                    report.run,
                    report.clouds.iter().filter(|c| c.passed).count(),
                    report.clouds.len()
                ));
                if let Some(n) = &report.notifications {
                    out.push_str(&crate::notify::lines(n));
                }
                out
            };
            Outcome {
                stdout,
                code: if report.all_passed() {
                    EXIT_OK
                } else {
                    EXIT_FAILED
                },
                error: None,
            }
        }
        Err(e) => failure(e.is_refusal(), anyhow!(e)),
    }
}

/// The summary table: host, from → to, result, failed step, duration, attempts; then counts.
#[must_use]
pub fn summary(report: &RunReport) -> String {
    let mut table = Table::new();
    table.load_style(TableStyle::new());
    table.set_header([
        "host",
        "from → to",
        "result",
        "failed step",
        "duration",
        "attempts",
        "error",
    ]);
    for h in &report.hosts {
        table.add_row([
            h.host.clone(),
            format!("{} → {}", h.from, h.to),
            match h.status {
                HostStatus::Moved => "moved",
                HostStatus::Failed => "FAILED",
                HostStatus::Interrupted => "interrupted",
            }
            .to_owned(),
            h.failed_step.clone().unwrap_or_default(),
            format!("{:.1}s", h.seconds),
            h.attempts.to_string(),
            h.error.clone().unwrap_or_default(),
        ]);
    }
    let c = report.counts;
    let mut out = if report.hosts.is_empty() {
        String::from("nothing to move\n")
    } else {
        format!("{table}\n")
    };
    out.push_str(&format!(
        "run {}: {} planned, {} moved, {} failed, {} interrupted in {:.1}s; provisioned: {}\n",
        report.run,
        c.planned,
        c.moved,
        c.failed,
        c.interrupted,
        report.seconds,
        if report.provisioned_clouds.is_empty() {
            "-".to_owned()
        } else {
            report.provisioned_clouds.join(", ")
        }
    ));
    if !report.retired_clouds.is_empty() {
        out.push_str(&format!(
            "retired (no assignment holds them; their foreman users disabled): {}\n",
            report.retired_clouds.join(", ")
        ));
    }
    for v in &report.validations {
        out.push_str(&validation_line(v));
    }
    if let Some(n) = &report.notifications {
        out.push_str(&crate::notify::lines(n));
    }
    for e in &report.write_back_errors {
        out.push_str(&format!("QUADS write-back failed: {e}\n"));
    }
    if report.interrupted {
        out.push_str("interrupted: run `quads move-hosts --resume` to continue\n");
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use provision_core::executor::{HostReport, RunCounts};
    use provision_core::limits::LimitsConfig;

    use super::*;

    fn host(name: &str, status: HostStatus, step: Option<&str>, error: Option<&str>) -> HostReport {
        HostReport {
            host: name.to_owned(),
            from: "cloud01".to_owned(),
            to: "cloud02".to_owned(),
            wipe: true,
            status,
            failed_step: step.map(str::to_owned),
            attempts: 3,
            error: error.map(str::to_owned),
            seconds: 12.34,
            steps: Vec::new(),
        }
    }

    #[test]
    fn the_summary_names_host_move_result_step_duration_and_attempts() {
        let hosts = vec![
            host("h1", HostStatus::Moved, None, None),
            host(
                "h2",
                HostStatus::Failed,
                Some("bmc-account"),
                Some("h2: connection refused"),
            ),
        ];
        let report = RunReport {
            version: 1,
            run: 7,
            target_time: "2025-01-10T00:00:00Z".to_owned(),
            interrupted: false,
            counts: RunCounts {
                planned: 2,
                moved: 1,
                failed: 1,
                interrupted: 0,
            },
            provisioned_clouds: Vec::new(),
            retired_clouds: Vec::new(),
            write_back_errors: Vec::new(),
            validations: Vec::new(),
            events: Vec::new(),
            notifications: None,
            bmc_sessions_open: Vec::new(),
            hosts,
            install_polls: 3,
            seconds: 20.0,
            limits: Limits::new(&LimitsConfig::default()).unwrap().report(),
        };
        let text = summary(&report);
        assert!(text.contains("cloud01 → cloud02"), "{text}");
        assert!(
            text.contains("FAILED") && text.contains("bmc-account"),
            "{text}"
        );
        assert!(
            text.contains("12.3s") && text.contains("connection refused"),
            "{text}"
        );
        assert!(
            text.contains("run 7: 2 planned, 1 moved, 1 failed"),
            "{text}"
        );
        assert!(!text.contains("--resume"));
        assert!(!text.contains("write-back"));
        let failed_write = RunReport {
            write_back_errors: vec!["PATCH assignments/1 of cloud02: not applied".to_owned()],
            ..report
        };
        let text = summary(&failed_write);
        assert!(
            text.contains("QUADS write-back failed: PATCH assignments/1 of cloud02"),
            "{text}"
        );
    }
}
