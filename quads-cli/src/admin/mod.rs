//! The operator's inventory and run commands (`init`, `host`, `cloud`, `assignment`, `schedule`,
//! `move-hosts`, `runs`): their arguments and the glue between the config (read once by
//! `main`), the store and the planner (`lifecycle`: the day-2 changes); exit codes are
//! `process`'s. Files are read before the runtime is entered or on its blocking pool;
//! everything printed is assembled first and written once at the end.

mod import;
mod lifecycle;
pub(crate) mod output;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use clap::{Args, Subcommand};
use provision_core::model::{
    AssignmentSpec, BootType, CloudName, CloudStatus, Host, HostName, HostState, Interface,
    InterfaceName, MacAddress, NewSchedule, QinQ, RunId, ScheduleId, TimeRange, VlanId, Wipe,
};
use provision_core::network::NetworkIndex;
use provision_core::store::ImportSummary;
use provision_core::{
    Config, OpenMode, PlanInput, Store, StoreError, StoreOptions, SystemClock, Timestamp,
};
use serde::Serialize;

use self::output::Format;
use crate::config::{self, ConfigFile, ConfigLocation, ProcessEnv};
use crate::process::{EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE};

/// Options every admin command takes.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Output format (`--format` is its former name, still accepted)
    #[arg(short = 'o', long = "output", alias = "format", global = true, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Inventory, schedule and run commands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Write a config file (unless there is one) and create an empty store
    Init(#[command(flatten)] Common),
    /// Hosts of the fleet
    Host {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        command: HostCommand,
    },
    /// Clouds (tenants; cloud01 is by convention the spare pool)
    Cloud {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        command: CloudCommand,
    },
    /// Assignments: who holds a cloud, under which ticket, built how
    Assignment {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        command: AssignmentCommand,
    },
    /// Schedules: which assignment holds which host when
    Schedule {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        command: ScheduleCommand,
    },
    /// Move hosts into the clouds the schedule puts them in at a given time
    MoveHosts {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: MoveHostsArgs,
    },
    /// Validate provisioned clouds as their tenants would: Foreman shows every host built,
    /// every host answers on [validation] ports, the tenant's BMC login works, the isolation
    /// check is clean; a failing host is re-kicked once, then reported
    Validate {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: ValidateArgs,
    },
    /// Send what is due: notices of schedules ending within [notify] days_before (default 7
    /// and 1 days), and every notification an earlier run failed to send; each event goes once
    /// per channel (cron-safe)
    Notify {
        #[command(flatten)]
        common: Common,
        /// Look for schedules ending as of this time instead of now: RFC 3339 or
        /// YYYY-MM-DD[ HH:MM] (UTC)
        #[arg(long, value_name = "T")]
        date: Option<Timestamp>,
    },
    /// Copy a QUADS 2.x server's clouds, hosts, assignments and current and future schedules
    /// into the store: all or nothing, only what the store lacks (a second import adds
    /// nothing), with a report of what could not be mapped
    Import {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: import::ImportArgs,
    },
    /// Runs of move-hosts and their journal
    Runs {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        command: RunsCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum HostCommand {
    /// Add one host
    Add(HostAdd),
    /// Import a QUADS-style inventory (YAML: clouds, hosts, assignments, schedules), all or nothing
    Import {
        /// The inventory file (format: quads-cli/examples/inventory.yaml)
        file: PathBuf,
    },
    /// List hosts
    Ls {
        /// Only hosts currently in this cloud
        #[arg(long)]
        cloud: Option<CloudName>,
    },
    /// Show one host and its network interfaces
    Show {
        /// Host name
        name: HostName,
    },
    /// A host's network interfaces (NIC, switch, port)
    Interface {
        #[command(subcommand)]
        command: InterfaceCommand,
    },
    /// Take an active host out of service for repair (never moved until repaired)
    Broken {
        /// Host name
        name: HostName,
    },
    /// Return a broken host to service
    Repaired {
        /// Host name
        name: HostName,
    },
    /// Retire a host for good (never moved)
    Retire {
        /// Host name
        name: HostName,
    },
    /// Return a retired host to service
    Unretire {
        /// Host name
        name: HostName,
    },
    /// Remove a host and its interfaces (refused while a schedule holds it or it is away from
    /// its default cloud)
    Remove {
        /// Host name
        name: HostName,
    },
    /// Active hosts no schedule holds during [--from, --to)
    Available(lifecycle::Available),
}

#[derive(Debug, Subcommand)]
pub enum InterfaceCommand {
    /// Add an interface to a host
    Add(Box<InterfaceAdd>),
}

#[derive(Debug, Args)]
pub struct InterfaceAdd {
    /// The host
    host: HostName,
    /// Interface name (em1, ...); QUADS orders a host's NICs by it to pick their VLANs
    name: InterfaceName,
    /// The switch it is cabled to (address or name)
    #[arg(long)]
    switch_ip: String,
    /// The switch port (xe-0/0/1)
    #[arg(long)]
    switch_port: String,
    /// MAC address
    #[arg(long)]
    mac_address: Option<MacAddress>,
    /// Firmware name of the NIC (NIC.Integrated.1-1-1)
    #[arg(long)]
    bios_id: Option<String>,
    /// Link speed in Gb/s
    #[arg(long)]
    speed: Option<u32>,
    /// NIC vendor
    #[arg(long)]
    vendor: Option<String>,
    /// The host network-boots from it
    #[arg(long)]
    pxe_boot: bool,
    /// In maintenance: its switch port is never moved
    #[arg(long)]
    maintenance: bool,
}

#[derive(Debug, Args)]
pub struct HostAdd {
    /// Host name (FQDN)
    name: HostName,
    /// The cloud it belongs in when no schedule holds it
    #[arg(long)]
    default_cloud: CloudName,
    /// The cloud it is in now [default: its default cloud]
    #[arg(long)]
    cloud: Option<CloudName>,
    /// BMC address [default: mgmt-<name>]
    #[arg(long)]
    bmc: Option<String>,
    /// Hardware model
    #[arg(long)]
    model: Option<String>,
    /// Host type (interfaces key)
    #[arg(long)]
    host_type: Option<String>,
    /// active, broken or retired
    #[arg(long, default_value = "active")]
    state: HostState,
}

#[derive(Debug, Subcommand)]
pub enum CloudCommand {
    /// Add a cloud
    Add {
        /// Cloud name (cloud02, ...)
        name: CloudName,
        /// Free text
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List clouds
    Ls,
    /// Remove a cloud (refused while it holds hosts or assignments)
    Remove {
        /// Cloud name
        name: CloudName,
    },
    /// Clouds free for a new assignment: no host in them, nothing scheduled at or after --date
    Free {
        /// The time [default: now]
        #[arg(long, value_name = "T")]
        date: Option<Timestamp>,
        /// The spare pool (never free)
        #[arg(long, default_value = "cloud01")]
        spare: String,
    },
    /// Hosts per cloud, its owner and ticket, and the days left at --date
    Summary {
        /// The time [default: now]
        #[arg(long, value_name = "T")]
        date: Option<Timestamp>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AssignmentCommand {
    /// Add an assignment to a cloud
    Add(AssignmentAdd),
    /// List assignments
    Ls {
        /// Only this cloud's
        #[arg(long)]
        cloud: Option<CloudName>,
    },
    /// End an assignment: its running schedules end now (or --at), those to come are removed
    Terminate(lifecycle::Terminate),
}

#[derive(Debug, Args)]
pub struct AssignmentAdd {
    /// The cloud
    #[arg(long)]
    cloud: CloudName,
    /// Request ticket (unique per cloud)
    #[arg(long)]
    ticket: String,
    /// Who holds the cloud
    #[arg(long)]
    owner: String,
    /// Free text
    #[arg(long, default_value = "")]
    description: String,
    /// Rebuild hosts moving in: yes or no
    #[arg(long)]
    wipe: Wipe,
    /// Foreman operating system name
    #[arg(long)]
    os: Option<String>,
    /// Foreman partition table name
    #[arg(long)]
    partition_table: Option<String>,
    /// Foreman installation medium name
    #[arg(long)]
    medium: Option<String>,
    /// uefi or bios
    #[arg(long, default_value = "uefi")]
    boot_type: BootType,
    /// 0: each NIC in its own VLAN; 1: all NICs in one QinQ group
    #[arg(long, default_value = "0")]
    qinq: QinQ,
    /// Public VLAN the hosts' last NIC is trunked into
    #[arg(long, value_name = "ID")]
    vlan: Option<VlanId>,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Schedule a host into a cloud's assignment for [start, end)
    Add(ScheduleAdd),
    /// List schedules
    Ls {
        /// Only this host's
        #[arg(long)]
        host: Option<HostName>,
    },
    /// Remove a schedule
    Rm {
        /// The schedule's id (see `schedule ls`)
        id: ScheduleId,
    },
    /// Change a schedule's start or end (refused if it would overlap another of its host)
    Modify(lifecycle::Modify),
    /// Move the end of a schedule (or of every running schedule of a cloud) later
    Extend(lifecycle::EndChange),
    /// Move the end of a schedule (or of every running schedule of a cloud) earlier
    Shrink(lifecycle::EndChange),
}

#[derive(Debug, Args)]
pub struct ScheduleAdd {
    /// The host
    #[arg(long)]
    host: HostName,
    /// The cloud holding it
    #[arg(long)]
    cloud: CloudName,
    /// The assignment's ticket [default: the cloud's only assignment]
    #[arg(long)]
    ticket: Option<String>,
    /// Start, inclusive: RFC 3339 or YYYY-MM-DD[ HH:MM] (UTC)
    #[arg(long)]
    start: Timestamp,
    /// End, exclusive: RFC 3339 or YYYY-MM-DD[ HH:MM] (UTC)
    #[arg(long)]
    end: Timestamp,
}

#[derive(Debug, Args)]
pub struct MoveHostsArgs {
    /// Print the plan (host, from, to, wipe) and touch nothing
    #[arg(long)]
    dry_run: bool,
    /// Plan for this time instead of now: RFC 3339 or YYYY-MM-DD[ HH:MM] (UTC)
    #[arg(long, value_name = "T")]
    date: Option<Timestamp>,
    /// Only moves into this cloud
    #[arg(long)]
    cloud: Option<CloudName>,
    /// Resume the last interrupted run
    #[arg(long, conflicts_with = "dry_run")]
    resume: bool,
    /// Worker mode: make the moves of this QUADS 2.x server and write them back to it
    /// (default `[quads] url`, env QUADS_API_URL)
    #[arg(long, value_name = "URL")]
    quads_url: Option<String>,
    /// QUADS's `--move-command` form: move this one host (worker mode) and record it
    #[arg(value_name = "HOST", requires_all = ["current", "new"], conflicts_with_all = ["date", "cloud", "resume"])]
    host: Option<HostName>,
    /// The cloud QUADS says HOST is in
    #[arg(value_name = "CURRENT")]
    current: Option<CloudName>,
    /// The cloud HOST moves to
    #[arg(value_name = "NEW")]
    new: Option<CloudName>,
    /// `nowipe`: hand HOST over without rebuilding it
    #[arg(value_name = "nowipe", value_parser = ["nowipe"])]
    nowipe: Option<String>,
    /// Do not validate the clouds the run provisioned (see `quads validate`)
    #[arg(long)]
    no_validate: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// Only this cloud (default: every cloud an assignment holds, but the spare pool)
    #[arg(long)]
    cloud: Option<CloudName>,
    /// Validate as of this time instead of now: RFC 3339 or YYYY-MM-DD[ HH:MM] (UTC)
    #[arg(long, value_name = "T")]
    date: Option<Timestamp>,
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// List runs, newest first
    Ls {
        /// At most this many
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Show a run and its journal
    Show {
        /// The run's id
        id: RunId,
    },
}

/// A command that could not complete, and the exit code to say so.
struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl Failure {
    fn usage(error: anyhow::Error) -> Self {
        Self {
            code: EXIT_USAGE,
            error,
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Self {
            code: if e.is_refusal() {
                EXIT_USAGE
            } else {
                EXIT_FAILED
            },
            error: e.into(),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Self {
            code: EXIT_FAILED,
            error,
        }
    }
}

impl Failure {
    /// A refused import is a usage error (exit 2), a failed one a failure (exit 1).
    fn import(e: StoreError, from: &str) -> Self {
        let refusal = e.is_refusal();
        let error = anyhow::Error::from(e).context(format!("cannot import {from}"));
        if refusal {
            Self::usage(error)
        } else {
            Self::from(error)
        }
    }
}

/// What to print and how to exit.
struct Report {
    stdout: String,
    code: u8,
}

impl Report {
    fn ok(stdout: String) -> Self {
        Self { stdout, code: 0 }
    }
}

/// Runs an admin command with the config file `main` read, and returns the exit code.
pub fn main(command: AdminCommand, file: ConfigFile) -> u8 {
    let outcome = run(command, file);
    match outcome {
        Ok(report) => {
            let mut out = std::io::stdout().lock();
            // a closed pipe (`| head`) is not an error worth reporting
            let _ = out.write_all(report.stdout.as_bytes());
            let _ = out.flush();
            report.code
        }
        Err(f) => {
            let _ = writeln!(std::io::stderr().lock(), "error: {:#}", f.error);
            f.code
        }
    }
}

fn common(command: &AdminCommand) -> &Common {
    match command {
        AdminCommand::Init(common)
        | AdminCommand::Host { common, .. }
        | AdminCommand::Cloud { common, .. }
        | AdminCommand::Assignment { common, .. }
        | AdminCommand::Schedule { common, .. }
        | AdminCommand::MoveHosts { common, .. }
        | AdminCommand::Validate { common, .. }
        | AdminCommand::Notify { common, .. }
        | AdminCommand::Import { common, .. }
        | AdminCommand::Runs { common, .. } => common,
    }
}

fn run(command: AdminCommand, mut file: ConfigFile) -> Result<Report, Failure> {
    let common = common(&command).clone();
    let env = ProcessEnv;
    let is_init = matches!(command, AdminCommand::Init(_));
    // before any runtime: blocking file reads are fine here
    let mut init = if is_init {
        let (prep, written) = prepare_init(&file.location, &env).map_err(Failure::usage)?;
        // the file `init` just wrote (or kept) is the configuration from now on
        if let Some(written) = written {
            file = written;
        }
        Some(prep)
    } else {
        None
    };
    let config = file.resolve(&env).map_err(Failure::usage)?;
    if let Some(prep) = &mut init {
        prep.store_existed = config.store.path.try_exists().unwrap_or(false);
    }
    if let AdminCommand::MoveHosts { args, .. } = &command
        && (!args.dry_run
            || crate::move_hosts::worker_url(args.quads_url.as_deref(), &config).is_some())
    {
        return run_moves(args, &file, &config, common.format);
    }
    if let AdminCommand::Validate { args, .. } = &command {
        return run_validate(args, &file, &config, common.format);
    }
    if let AdminCommand::Notify { date, .. } = &command {
        let prepared = crate::notify::notify_config(&file).map_err(Failure::usage)?;
        return outcome(crate::notify::run(
            &config.store.path,
            &prepared,
            *date,
            common.format == Format::Json,
        ));
    }
    if let AdminCommand::Import { args, .. } = &command {
        let prepared = import::prepare(args, &file, &config).map_err(Failure::usage)?;
        return on_runtime(async move {
            let store = open(&config, OpenMode::MustExist).await?;
            let result = import::run(&store, prepared, common.format).await;
            store.close().await;
            result
        });
    }
    on_runtime(execute(command, common.format, config, init))
}

/// Runs `work` on the process's runtime; SIGINT or SIGTERM ends it (exit 130).
fn on_runtime(
    work: impl std::future::Future<Output = Result<Report, Failure>>,
) -> Result<Report, Failure> {
    crate::process::block_on(async move {
        tokio::select! {
            r = work => r,
            () = crate::signals::interrupted() => Err(Failure {
                code: EXIT_INTERRUPTED,
                error: anyhow!("interrupted"),
            }),
        }
    })?
}

/// `move-hosts` without `--dry-run`: the executor, with its own signal handling (on the process's runtime).
fn run_moves(
    args: &MoveHostsArgs,
    file: &ConfigFile,
    config: &Config,
    format: Format,
) -> Result<Report, Failure> {
    let executor = crate::move_hosts::executor_config(file).map_err(Failure::usage)?;
    let one = match (&args.host, &args.current, &args.new) {
        (Some(host), Some(current), Some(new)) => {
            Some(provision_core::executor::quads_server::OneMove {
                host: host.clone(),
                current: current.clone(),
                new: new.clone(),
                no_wipe: args.nowipe.is_some(),
            })
        }
        _ => None,
    };
    let worker = crate::move_hosts::worker(
        args.quads_url.as_deref(),
        config,
        args.date,
        args.cloud.clone(),
        one,
    )
    .map_err(Failure::usage)?;
    // worker mode leaves validation to the QUADS server's validate-env
    let validation = if args.no_validate || args.dry_run || worker.is_some() {
        None
    } else {
        Some(crate::move_hosts::validation_config(file).map_err(Failure::usage)?)
    };
    // worker mode leaves notifications to the QUADS server too
    let notify = if args.dry_run || worker.is_some() {
        None
    } else {
        Some(crate::notify::notify_config(file).map_err(Failure::usage)?)
    };
    let request = crate::move_hosts::Request {
        at: args.date,
        cloud: args.cloud.clone(),
        resume: args.resume,
        json: format == Format::Json,
        worker,
        validation,
        action: crate::move_hosts::Action::Move,
        notify,
    };
    let result = if args.dry_run {
        crate::move_hosts::dry_run_worker(&request, &executor, format)
    } else {
        crate::move_hosts::run(&request, config, executor)
    };
    outcome(result)
}

/// What a blocking command printed, as a report or a failure.
fn outcome(outcome: crate::move_hosts::Outcome) -> Result<Report, Failure> {
    match outcome.error {
        None => Ok(Report {
            stdout: outcome.stdout,
            code: outcome.code,
        }),
        Some(error) => Err(Failure {
            code: outcome.code,
            error,
        }),
    }
}

/// `validate`: the validation on demand, on the executor's runtime and signal handling.
fn run_validate(
    args: &ValidateArgs,
    file: &ConfigFile,
    config: &Config,
    format: Format,
) -> Result<Report, Failure> {
    let executor = crate::move_hosts::executor_config(file).map_err(Failure::usage)?;
    let validation = crate::move_hosts::validation_config(file).map_err(Failure::usage)?;
    let request = crate::move_hosts::Request {
        at: args.date,
        cloud: args.cloud.clone(),
        resume: false,
        json: format == Format::Json,
        worker: None,
        validation: Some(validation),
        action: crate::move_hosts::Action::Validate,
        notify: Some(crate::notify::notify_config(file).map_err(Failure::usage)?),
    };
    outcome(crate::move_hosts::run(&request, config, executor))
}

/// What `quads init` did to the config file, before opening the store.
struct InitPrep {
    config_path: PathBuf,
    config_created: bool,
    store_existed: bool,
}

/// Writes the template unless the file exists; the file written (read back), if it was.
fn prepare_init(
    location: &ConfigLocation,
    env: &ProcessEnv,
) -> anyhow::Result<(InitPrep, Option<ConfigFile>)> {
    let exists = location
        .path
        .try_exists()
        .with_context(|| format!("cannot check config file {}", location.path.display()))?;
    let mut written = None;
    if !exists {
        // the config may name the store; without one the default applies
        let store_path = config::default_store_path(env)?;
        if let Some(dir) = location.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&location.path, config::template(&store_path))
            .with_context(|| format!("cannot write config file {}", location.path.display()))?;
        written = Some(ConfigFile::read(location.clone(), false)?);
    }
    Ok((
        InitPrep {
            config_path: location.path.clone(),
            config_created: !exists,
            // (the store is checked in `run`, once the file is final)
            store_existed: false,
        },
        written,
    ))
}

async fn open(config: &Config, mode: OpenMode) -> Result<Store, Failure> {
    Ok(Store::open(StoreOptions {
        path: config.store.path.clone(),
        mode,
        clock: Arc::new(SystemClock),
    })
    .await?)
}

/// Reads a file on the blocking pool.
async fn read_file(path: PathBuf) -> anyhow::Result<String> {
    let shown = path.display().to_string();
    tokio::task::spawn_blocking(move || std::fs::read_to_string(path))
        .await
        .context("file reader task failed")?
        .with_context(|| format!("cannot read {shown}"))
}

async fn execute(
    command: AdminCommand,
    format: Format,
    config: Config,
    init: Option<InitPrep>,
) -> Result<Report, Failure> {
    // (`move-hosts` without `--dry-run` never gets here: `run_moves` runs the executor)
    let mode = if init.is_some() {
        OpenMode::CreateIfMissing
    } else {
        OpenMode::MustExist
    };
    let store = open(&config, mode).await?;
    let result = dispatch(&store, command, format, &config, init).await;
    store.close().await;
    result
}

#[derive(Serialize)]
struct InitV1 {
    config: String,
    config_created: bool,
    store: String,
    store_created: bool,
    schema_version: u32,
}

async fn dispatch(
    store: &Store,
    command: AdminCommand,
    format: Format,
    config: &Config,
    init: Option<InitPrep>,
) -> Result<Report, Failure> {
    match command {
        AdminCommand::Init(_) => {
            let prep = init.ok_or_else(|| anyhow!("init was not prepared"))?;
            let version = store.schema_version().await?;
            let doc = InitV1 {
                config: prep.config_path.display().to_string(),
                config_created: prep.config_created,
                store: store.path().display().to_string(),
                store_created: !prep.store_existed,
                schema_version: version,
            };
            let sentence = format!(
                "config {} ({})\nstore {} ({}, schema version {version})",
                doc.config,
                if doc.config_created {
                    "written"
                } else {
                    "kept"
                },
                doc.store,
                if doc.store_created {
                    "created"
                } else {
                    "ready"
                },
            );
            Ok(Report::ok(output::record(format, "init", doc, sentence)?))
        }
        AdminCommand::Host { command, .. } => host(store, command, format).await,
        AdminCommand::Cloud { command, .. } => cloud(store, command, format).await,
        AdminCommand::Assignment { command, .. } => assignment(store, command, format).await,
        AdminCommand::Schedule { command, .. } => schedule(store, command, format).await,
        AdminCommand::MoveHosts { args, .. } => move_hosts(store, &args, format, config).await,
        // (`run_validate`, `notify::run` and the import are dispatched by `run`, not here)
        AdminCommand::Validate { .. }
        | AdminCommand::Notify { .. }
        | AdminCommand::Import { .. } => Err(Failure::usage(anyhow!(
            "validate, notify and import are dispatched before the store opens"
        ))),
        AdminCommand::Runs { command, .. } => runs(store, command, format).await,
    }
}

async fn host(store: &Store, command: HostCommand, format: Format) -> Result<Report, Failure> {
    match command {
        HostCommand::Add(a) => {
            let host = Host {
                bmc_address: a.bmc.unwrap_or_else(|| format!("mgmt-{}", a.name)),
                current_cloud: a.cloud.unwrap_or_else(|| a.default_cloud.clone()),
                name: a.name,
                model: a.model,
                host_type: a.host_type,
                default_cloud: a.default_cloud,
                state: a.state,
            };
            store.add_host(host.clone()).await?;
            let sentence = format!("added host {} in {}", host.name, host.current_cloud);
            Ok(Report::ok(output::record(
                format,
                "host",
                output::HostV1::from(&host),
                sentence,
            )?))
        }
        HostCommand::Import { file } => {
            let shown = file.display().to_string();
            let text = read_file(file).await.map_err(Failure::usage)?;
            let inventory = provision_core::inventory::parse(&text)
                .with_context(|| format!("cannot import {shown}"))
                .map_err(Failure::usage)?;
            let summary: ImportSummary = store
                .import(inventory)
                .await
                .map_err(|e| Failure::import(e, &shown))?;
            Ok(Report::ok(output::import(format, summary, &shown)?))
        }
        HostCommand::Broken { name } => lifecycle::host_state(store, name, "broken", format).await,
        HostCommand::Repaired { name } => {
            lifecycle::host_state(store, name, "repaired", format).await
        }
        HostCommand::Retire { name } => lifecycle::host_state(store, name, "retire", format).await,
        HostCommand::Unretire { name } => {
            lifecycle::host_state(store, name, "unretire", format).await
        }
        HostCommand::Remove { name } => lifecycle::host_remove(store, name, format).await,
        HostCommand::Available(a) => lifecycle::available(store, a, format).await,
        HostCommand::Ls { cloud } => {
            let mut hosts = store.hosts().await?;
            if let Some(c) = cloud {
                hosts.retain(|h| h.current_cloud == c);
            }
            Ok(Report::ok(output::hosts(format, &hosts)?))
        }
        HostCommand::Show { name } => {
            let host = store
                .host(name.clone())
                .await?
                .ok_or_else(|| Failure::usage(anyhow!("host {name} does not exist")))?;
            let interfaces = store.interfaces(Some(name)).await?;
            Ok(Report::ok(output::host_show(format, &host, &interfaces)?))
        }
        HostCommand::Interface {
            command: InterfaceCommand::Add(a),
        } => {
            let switch_ip = a.switch_ip.trim().to_owned();
            let switch_port = a.switch_port.trim().to_owned();
            if switch_ip.is_empty() || switch_port.is_empty() {
                return Err(Failure::usage(anyhow!(
                    "--switch-ip and --switch-port must not be empty"
                )));
            }
            let interface = Interface {
                host: a.host,
                name: a.name,
                bios_id: config::nonempty(a.bios_id),
                mac_address: a.mac_address,
                switch_ip,
                switch_port,
                speed: a.speed,
                vendor: config::nonempty(a.vendor),
                pxe_boot: a.pxe_boot,
                maintenance: a.maintenance,
            };
            store.add_interface(interface.clone()).await?;
            let sentence = format!(
                "added interface {} of host {} (switch {} port {})",
                interface.name, interface.host, interface.switch_ip, interface.switch_port
            );
            Ok(Report::ok(output::record(
                format,
                "interface",
                output::InterfaceV1::from(&interface),
                sentence,
            )?))
        }
    }
}

async fn cloud(store: &Store, command: CloudCommand, format: Format) -> Result<Report, Failure> {
    match command {
        CloudCommand::Add { name, description } => {
            let cloud = provision_core::model::Cloud {
                name,
                description,
                status: CloudStatus::Pending,
            };
            store.add_cloud(cloud.clone()).await?;
            let sentence = format!("added cloud {}", cloud.name);
            Ok(Report::ok(output::record(
                format,
                "cloud",
                output::CloudV1::from(&cloud),
                sentence,
            )?))
        }
        CloudCommand::Remove { name } => lifecycle::cloud_remove(store, name, format).await,
        CloudCommand::Free { date, spare } => lifecycle::free(store, date, &spare, format).await,
        CloudCommand::Summary { date } => lifecycle::summary(store, date, format).await,
        CloudCommand::Ls => {
            let snapshot = store.snapshot().await?;
            Ok(Report::ok(output::clouds(
                format,
                &snapshot.clouds,
                &snapshot.hosts,
            )?))
        }
    }
}

async fn assignment(
    store: &Store,
    command: AssignmentCommand,
    format: Format,
) -> Result<Report, Failure> {
    match command {
        AssignmentCommand::Add(a) => {
            if a.ticket.trim().is_empty() {
                return Err(Failure::usage(anyhow!("--ticket must not be empty")));
            }
            let added = store
                .add_assignment(AssignmentSpec {
                    cloud: a.cloud,
                    ticket: a.ticket,
                    owner: a.owner,
                    description: a.description,
                    wipe: a.wipe,
                    os: config::nonempty(a.os),
                    partition_table: config::nonempty(a.partition_table),
                    medium: config::nonempty(a.medium),
                    boot_type: a.boot_type,
                    qinq: a.qinq,
                    public_vlan: a.vlan,
                })
                .await?;
            let sentence = format!(
                "added assignment {} of cloud {} (ticket {})",
                added.id, added.spec.cloud, added.spec.ticket
            );
            Ok(Report::ok(output::record(
                format,
                "assignment",
                output::AssignmentV1::from(&added),
                sentence,
            )?))
        }
        AssignmentCommand::Terminate(t) => lifecycle::terminate(store, t, format).await,
        AssignmentCommand::Ls { cloud } => {
            let mut list = store.assignments().await?;
            if let Some(c) = cloud {
                list.retain(|a| a.spec.cloud == c);
            }
            Ok(Report::ok(output::assignments(format, &list)?))
        }
    }
}

async fn schedule(
    store: &Store,
    command: ScheduleCommand,
    format: Format,
) -> Result<Report, Failure> {
    match command {
        ScheduleCommand::Add(a) => {
            let range = TimeRange::new(a.start, a.end).map_err(|e| Failure::usage(e.into()))?;
            let assignments = store.assignments().await?;
            let of_cloud: Vec<_> = assignments
                .iter()
                .filter(|x| x.spec.cloud == a.cloud)
                .filter(|x| a.ticket.as_ref().is_none_or(|t| *t == x.spec.ticket))
                .collect();
            let assignment = match (of_cloud.as_slice(), &a.ticket) {
                ([one], _) => one.id,
                ([], Some(t)) => {
                    return Err(Failure::usage(anyhow!(
                        "cloud {} has no assignment with ticket {t:?}",
                        a.cloud
                    )));
                }
                ([], None) => {
                    return Err(Failure::usage(anyhow!(
                        "cloud {} has no assignment: add one with `quads assignment add`",
                        a.cloud
                    )));
                }
                (many, _) => {
                    return Err(Failure::usage(anyhow!(
                        "cloud {} has {} assignments: choose one with --ticket",
                        a.cloud,
                        many.len()
                    )));
                }
            };
            let added = store
                .add_schedule(NewSchedule {
                    host: a.host,
                    assignment,
                    range,
                })
                .await?;
            let clouds: BTreeMap<_, _> = [(assignment, a.cloud.to_string())].into();
            let sentence = format!(
                "added schedule {}: host {} in {} for {}",
                added.id, added.host, a.cloud, added.range
            );
            Ok(Report::ok(output::record(
                format,
                "schedule",
                output::ScheduleV1::new(&added, &clouds),
                sentence,
            )?))
        }
        ScheduleCommand::Modify(m) => lifecycle::modify(store, m, format).await,
        ScheduleCommand::Extend(c) => lifecycle::change_end(store, c, true, format).await,
        ScheduleCommand::Shrink(c) => lifecycle::change_end(store, c, false, format).await,
        ScheduleCommand::Ls { host } => {
            let list = store.schedules(host).await?;
            let assignments = store.assignments().await?;
            Ok(Report::ok(output::schedules(format, &list, &assignments)?))
        }
        ScheduleCommand::Rm { id } => {
            let assignments = store.assignments().await?;
            let removed = store.remove_schedule(id).await?;
            let clouds: BTreeMap<_, _> = assignments
                .iter()
                .map(|a| (a.id, a.spec.cloud.to_string()))
                .collect();
            let sentence = format!(
                "removed schedule {}: host {} for {}",
                removed.id, removed.host, removed.range
            );
            Ok(Report::ok(output::record(
                format,
                "schedule",
                output::ScheduleV1::new(&removed, &clouds),
                sentence,
            )?))
        }
    }
}

async fn move_hosts(
    store: &Store,
    args: &MoveHostsArgs,
    format: Format,
    config: &Config,
) -> Result<Report, Failure> {
    let at = args.date.unwrap_or_else(|| {
        use provision_core::Clock as _;
        SystemClock.now()
    });
    let snapshot = store.snapshot().await?;
    if let Some(c) = &args.cloud
        && !snapshot.clouds.iter().any(|x| x.name == *c)
    {
        return Err(Failure::usage(anyhow!("cloud {c} does not exist")));
    }
    let plan = provision_core::plan(&PlanInput {
        hosts: &snapshot.hosts,
        clouds: &snapshot.clouds,
        assignments: &snapshot.assignments,
        schedules: &snapshot.schedules,
        at,
        cloud: args.cloud.as_ref(),
        untouchable: &config.moves.untouchable_hosts,
    });
    let index = NetworkIndex::new(&snapshot, config.network.scheme());
    let networks: Vec<_> = plan
        .moves
        .iter()
        .map(|m| {
            let (from, to) = index.sides(m, at);
            index.plan(&m.host, from, to)
        })
        .collect();
    Ok(Report::ok(output::plan(format, &plan, &networks)?))
}

async fn runs(store: &Store, command: RunsCommand, format: Format) -> Result<Report, Failure> {
    match command {
        RunsCommand::Ls { limit } => {
            let list = store.runs(limit).await?;
            Ok(Report::ok(output::runs(format, &list)?))
        }
        RunsCommand::Show { id } => {
            let run = store
                .run(id)
                .await?
                .ok_or_else(|| Failure::usage(anyhow!("run {id} does not exist")))?;
            let entries = store.journal().entries(id).await?;
            Ok(Report::ok(output::run_show(format, &run, &entries)?))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: AdminCommand,
    }

    #[test]
    fn arguments_parse_into_typed_values() {
        let cli = Cli::try_parse_from([
            "quads",
            "schedule",
            "add",
            "--host",
            "h1",
            "--cloud",
            "cloud02",
            "--start",
            "2025-01-01 22:00",
            "--end",
            "2025-01-15",
            "--format",
            "json",
        ])
        .unwrap();
        let AdminCommand::Schedule {
            common,
            command: ScheduleCommand::Add(a),
        } = cli.command
        else {
            panic!("wrong command");
        };
        assert_eq!(common.format, Format::Json);
        assert_eq!(a.start.to_string(), "2025-01-01T22:00:00Z");
        assert!(
            Cli::try_parse_from(["quads", "host", "add", "bad name", "--default-cloud", "c"])
                .is_err()
        );
        assert!(Cli::try_parse_from(["quads", "move-hosts", "--dry-run", "--resume"]).is_err());
    }

    #[test]
    fn move_hosts_takes_quads_move_command_form() {
        let parse = |args: &[&str]| {
            let mut all = vec!["quads", "move-hosts"];
            all.extend_from_slice(args);
            Cli::try_parse_from(all).map(|cli| match cli.command {
                AdminCommand::MoveHosts { args, .. } => args,
                _ => panic!("wrong command"),
            })
        };
        let a = parse(&["h1.example.com", "cloud01", "cloud02", "nowipe"]).unwrap();
        assert_eq!(
            a.host.as_ref().map(HostName::as_str),
            Some("h1.example.com")
        );
        assert_eq!(a.new.as_ref().map(CloudName::as_str), Some("cloud02"));
        assert!(a.nowipe.is_some());
        assert!(
            parse(&["h1", "cloud01", "cloud02"])
                .unwrap()
                .nowipe
                .is_none()
        );
        // only `nowipe`; HOST needs CURRENT and NEW; one host is not planned for a date
        assert!(parse(&["h1", "cloud01", "cloud02", "wipe"]).is_err());
        assert!(parse(&["h1", "cloud01"]).is_err());
        assert!(parse(&["h1", "cloud01", "cloud02", "--date", "2025-01-02"]).is_err());
        let a = parse(&["--quads-url", "http://127.0.0.1:9082", "--dry-run"]).unwrap();
        assert_eq!(a.quads_url.as_deref(), Some("http://127.0.0.1:9082"));
    }
}
