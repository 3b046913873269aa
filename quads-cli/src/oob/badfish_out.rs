//! `quads oob -o badfish`: Badfish 1.8.2's own text output, line for line: its log records
//! (`- INFO     - message`, `[host] ` in front when run over a `--host-list`), its messages per
//! action, all printed at the end on standard error (or into `-l FILE`), exit code 0 or 1.
//!
//! Each action's messages are those Badfish logs for the same outcome; actions whose Badfish
//! wording is not reproduced here print this tool's own result lines as INFO records. The
//! goldens in `tests/data/badfish-1.8.2-out/` are Badfish's real output against the lab.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;

use redfish_client::vendor::DellResource;
use redfish_client::{
    Bmc, CancellationToken, NfsImage, PowerOutcome, PowerState, QueueClear, ResetType,
    ScpOperation, ScpReadOnly, Vendor,
};
use serde_json::Value;

use super::{Action, Context, Plan};

/// A record's level, as Badfish's logger names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Level {
    Info,
    Warning,
    Error,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Self::Info => "INFO",
            Self::Warning => "WARNING",
            Self::Error => "ERROR",
        }
    }
}

/// One log record of one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Record {
    pub(super) level: Level,
    pub(super) message: String,
}

fn info(message: impl Into<String>) -> Record {
    Record {
        level: Level::Info,
        message: message.into(),
    }
}

fn warning(message: impl Into<String>) -> Record {
    Record {
        level: Level::Warning,
        message: message.into(),
    }
}

fn error(message: impl Into<String>) -> Record {
    Record {
        level: Level::Error,
        message: message.into(),
    }
}

/// The logger name Badfish gives a host of a host list: its name up to the first dot.
pub(super) fn logger_name(host: &str) -> &str {
    host.trim().split('.').next().unwrap_or(host)
}

/// One record as Badfish's console formatter writes it (no colour: it is not a terminal).
fn format_record(logger: Option<&str>, record: &Record) -> String {
    let prefix = logger.map(|l| format!("[{l}] ")).unwrap_or_default();
    format!("{prefix}- {:<8} - {}", record.level.name(), record.message)
}

/// What one host logged and whether Badfish would count it a success.
#[derive(Debug, Clone, Default)]
pub(super) struct HostLog {
    pub(super) records: Vec<Record>,
    pub(super) ok: bool,
}

/// The records Badfish logs before an action: the warning about a password on the command line.
fn preamble(password_on_command_line: bool) -> Vec<Record> {
    if password_on_command_line {
        vec![warning(
            "Passing secrets via command line arguments can be unsafe. Consider using \
             environment variables (BADFISH_USERNAME, BADFISH_PASSWORD).",
        )]
    } else {
        Vec::new()
    }
}

/// How a run was started, as far as Badfish's output depends on it.
#[derive(Debug, Clone, Copy)]
pub(super) struct RunShape {
    /// Over a `--host-list`: each host is announced once logged in, its records end with a
    /// line of stars, and every record carries the host's logger name.
    pub(super) multi_host: bool,
    /// `-p` given on the command line (Badfish warns about it, once per host).
    pub(super) password_on_command_line: bool,
}

/// Runs the plan on one BMC and says it as Badfish does.
pub(super) async fn perform(
    bmc: &Bmc,
    host: &str,
    plan: &Plan,
    context: &Context,
    cancel: &CancellationToken,
    shape: RunShape,
) -> HostLog {
    let multi_host = shape.multi_host;
    let action = &plan.action;
    let mut log = HostLog {
        records: preamble(shape.password_on_command_line),
        ok: true,
    };
    if let Err(e) = bmc.login().await {
        log.records.push(error(login_error(host, &e)));
        log.ok = false;
    } else {
        if multi_host {
            log.records
                .push(info(format!("Executing actions on host: {host}")));
        }
        match said(bmc, host, action, context, cancel).await {
            Ok(records) => {
                log.ok =
                    result_discarded(action) || !records.iter().any(|r| r.level == Level::Error);
                log.records.extend(records);
            }
            Err(e) => {
                log.records.push(error(action_error(action, &e)));
                log.ok = false;
            }
        }
        if plan.then_pxe && log.records.last().is_none_or(|r| r.level != Level::Error) {
            match bmc.pxe_once().await {
                Ok(_) => log.records.push(pxe_passed()),
                Err(e) => {
                    log.records.push(error(action_error(&Action::Pxe, &e)));
                    log.ok = false;
                }
            }
        }
    }
    if multi_host {
        log.records.push(info("*".repeat(48)));
    }
    log
}

/// Actions whose outcome Badfish 1.8.2 discards: what they log, errors included, leaves the
/// run a success (exit 0, SUCCESSFUL over a host list); only an exception fails it.
fn result_discarded(action: &Action) -> bool {
    matches!(
        action,
        Action::CheckRemoteImage | Action::BootRemoteImage(_) | Action::DetachRemoteImage
    )
}

/// Badfish's words for a BMC without the OS Deployment service.
const NO_OS_DEPLOYMENT: &str =
    "iDRAC version installed doesn't support DellOSDeploymentService needed for this feature.";

/// `--check-remote-image`, `--boot-remote-image`, `--detach-remote-image` as Badfish says them:
/// the service looked for first, then (boot) the NFS path checked, then the action, a refusal
/// answered by the BMC said in Badfish's words; an unanswered request is an error.
async fn remote_image_records(
    bmc: &Bmc,
    action: &Action,
) -> Result<Vec<Record>, redfish_client::Error> {
    match bmc.dell_path(DellResource::OsDeploymentService).await {
        Ok(_) => {}
        Err(redfish_client::Error::Unsupported { .. }) => return Ok(vec![error(NO_OS_DEPLOYMENT)]),
        Err(e) => return Err(e),
    }
    match action {
        Action::CheckRemoteImage => match bmc.remote_image_status().await {
            Ok(status) => Ok(vec![info(format!(
                "Current ISO attach status: {}",
                status.iso
            ))]),
            Err(e) => refused_or(
                e,
                "Command failed to get attach status of the remote mounted ISO.",
            ),
        },
        Action::BootRemoteImage(path) => {
            let Ok(image) = NfsImage::parse(path) else {
                return Ok(vec![error("Wrong NFS path format.")]);
            };
            let created =
                info("Command for booting to remote ISO was successful, job was created.");
            match bmc.boot_remote_image(&image).await {
                Ok(_) => Ok(vec![created, info("OSDeployment task status is OK.")]),
                Err(redfish_client::Error::JobFailed { .. }) => Ok(vec![
                    created,
                    error("OSDeployment task failed and couldn't be completed."),
                ]),
                Err(e) => refused_or(
                    e,
                    "Command failed to boot to remote ISO. No job was created.",
                ),
            }
        }
        _ => match bmc.detach_remote_image().await {
            Ok(()) => Ok(vec![info("Command to detach remote ISO was successful.")]),
            Err(e) => refused_or(e, "Command failed to detach remote mounted ISO."),
        },
    }
}

/// `--get-scp-targets` as Badfish says it: the targets, or why there are none (a manager
/// without OEM actions breaks Badfish's reading of it, one with others has no SCP).
async fn scp_target_records(
    bmc: &Bmc,
    op: ScpOperation,
) -> Result<Vec<Record>, redfish_client::Error> {
    match bmc.scp_targets(op).await {
        Ok(targets) if targets.is_empty() => Ok(vec![error(format!(
            "Couldn't find a list of possible targets, but {op} with SCP should be allowed."
        ))]),
        Ok(targets) => Ok(
            std::iter::once(info(format!("The allowable SCP {op} targets are:")))
                .chain(targets.into_iter().map(info))
                .collect(),
        ),
        Err(redfish_client::Error::Unsupported { .. }) => {
            Ok(vec![error(match bmc.manager_oem_actions().await? {
                Some(_) => format!("iDRAC on this system doesn't seem to support SCP {op}."),
                None => format!("There was something wrong trying to get targets for SCP {op}."),
            })])
        }
        Err(e) => Err(e),
    }
}

/// The job id of a failed SCP task (the last part of its path).
fn failed_job(e: &redfish_client::Error) -> Option<(String, String, String)> {
    match e {
        redfish_client::Error::JobFailed {
            id, state, message, ..
        } => Some((
            id.rsplit('/').next().unwrap_or(id).to_owned(),
            state.clone(),
            message.clone(),
        )),
        _ => None,
    }
}

/// `--export-scp DIR` as Badfish says it: the job created, the wait, the file written; a
/// refusal (or no such action) in its words, a failed job with its state and message.
async fn export_scp_records(
    bmc: &Bmc,
    context: &Context,
    dir: &std::path::Path,
    targets: &str,
    read_only: ScpReadOnly,
    cancel: &CancellationToken,
) -> Result<Vec<Record>, redfish_client::Error> {
    let created = |job: &str| {
        [
            info(format!(
                "Job for exporting server configuration successfully created. Job ID: {job}"
            )),
            info("Waiting for export job to complete (typically takes 15-30 seconds)..."),
        ]
    };
    match bmc.export_scp(targets, read_only, cancel).await {
        Ok(export) => {
            let path = super::save_scp_export(bmc, context, dir, targets, &export.profile).await?;
            let mut records = created(&export.job).to_vec();
            records.push(info("SCP export completed successfully."));
            records.push(info(format!(
                "Exported system configuration to file: {}",
                path.display()
            )));
            Ok(records)
        }
        Err(e) => {
            if let Some((job, state, message)) = failed_job(&e) {
                let mut records = created(&job).to_vec();
                records.push(error(format!("Export job failed with state: {state}")));
                records.push(error(format!("Message: {message}")));
                return Ok(records);
            }
            refused_or(e, "Command failed to export system configuration.")
        }
    }
}

/// `--import-scp FILE` as Badfish says it: the job created, its message at 100 %, and its end.
async fn import_scp_records(
    bmc: &Bmc,
    profile: &str,
    targets: &str,
    cancel: &CancellationToken,
) -> Result<Vec<Record>, redfish_client::Error> {
    let said = |job: &str, message: &str| {
        vec![
            info(format!(
                "Job for importing server configuration, successfully created. Job ID: {job}"
            )),
            info(format!("{message}, percent complete: 100")),
        ]
    };
    match bmc.import_scp(profile, targets, cancel).await {
        Ok(done) => {
            let mut records = said(&done.job, &done.message);
            records.push(info(
                "Command passed, job successfully marked as completed. Going to reboot.",
            ));
            Ok(records)
        }
        Err(e) => {
            if let Some((job, state, message)) = failed_job(&e) {
                let mut records = said(&job, &message);
                records.push(error(format!("Command failed, job status = {state}")));
                return Ok(records);
            }
            refused_or(e, "Command failed to import system configuration.")
        }
    }
}

/// Badfish's `words` for an action the BMC refused or does not have; other failures as they are.
fn refused_or(e: redfish_client::Error, words: &str) -> Result<Vec<Record>, redfish_client::Error> {
    match e {
        redfish_client::Error::Unsupported { .. } => Ok(vec![error(words)]),
        e if e.status().is_some() => Ok(vec![error(words)]),
        e => Err(e),
    }
}

/// Badfish's words for a refused or failed login.
fn login_error(host: &str, e: &redfish_client::Error) -> String {
    match e {
        redfish_client::Error::Auth { .. } => {
            format!("Failed to authenticate. Verify your credentials for {host}")
        }
        redfish_client::Error::Transport { .. } => "Failed to communicate with server.".to_owned(),
        other => other.to_string(),
    }
}

/// An action's failure: Badfish's wording where it has one for the case, else ours.
fn action_error(action: &Action, e: &redfish_client::Error) -> String {
    match (action, e) {
        (Action::Screenshot, redfish_client::Error::Unsupported { .. }) => {
            "DellLCService not supported by this host.".into()
        }
        (_, redfish_client::Error::Unsupported { .. }) => NOT_SUPPORTED.into(),
        (_, other) => other.to_string(),
    }
}

/// A reset `sent`, or (not needed) Badfish's words for the BMC's refusal of a reset to the
/// state the host is already in: INFO for On, WARNING for the others.
fn reset_record(sent: bool, reset: ResetType) -> Record {
    if sent {
        return reset_passed(reset.as_str());
    }
    let message = format!(
        "Command failed to {} server, host appears to be already in that state.",
        reset.as_str()
    );
    if reset == ResetType::On {
        info(message)
    } else {
        warning(message)
    }
}

/// The line of a one-time network boot set.
fn pxe_passed() -> Record {
    info("PATCH command passed to set next boot onetime boot device to: \"Pxe\".")
}

/// The `send_reset` line Badfish logs for a reset that was accepted.
fn reset_passed(reset: &str) -> Record {
    info(format!(
        "Command passed to {reset} server, code return is 204."
    ))
}

async fn controller(bmc: &Bmc) -> &'static str {
    if matches!(bmc.vendor().await, Ok(Vendor::Dell)) {
        "iDRAC"
    } else {
        "BMC"
    }
}

/// `--power-cycle` (`graceful` false) and `--reboot-only`, from what the client did: each
/// reset it sent, in Badfish's words. (`--reboot-only` here shuts down gracefully and powers on;
/// Badfish sends `GracefulRestart`, so their lines differ there.)
async fn reboot_records(bmc: &Bmc, out: &PowerOutcome, graceful: bool) -> Vec<Record> {
    let mut records = vec![info(format!(
        "Current server state is {}.",
        out.before.to_string().to_uppercase()
    ))];
    if out.before == PowerState::On {
        for reset in out.actions.iter().filter(|a| **a != ResetType::On) {
            if *reset == ResetType::ForceOff && graceful {
                records.push(warning(
                    "Unable to graceful shutdown the server, will perform forced shutdown now.",
                ));
            }
            records.push(reset_passed(reset.as_str()));
        }
        records.push(info("Polling for host state: Not Down"));
        records.push(reset_record(
            out.actions.contains(&ResetType::On),
            ResetType::On,
        ));
    } else {
        records.push(info(format!(
            "Issuing a power-on request to the {}.",
            controller(bmc).await
        )));
        records.push(reset_passed("On"));
    }
    records
}

/// A BIOS value as Badfish prints it (Python's `str` of the decoded JSON).
fn python_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => python_repr(other),
    }
}

fn python_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(python_repr).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("'{k}': {}", python_repr(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

/// A number of watts as Python prints the JSON number (`293`, `293.5`).
fn watts(w: f64) -> String {
    if w.fract() == 0.0 && w.abs() < 1e15 {
        format!("{w:.0}")
    } else {
        w.to_string()
    }
}

/// What Badfish logs for `action` when it succeeds.
async fn said(
    bmc: &Bmc,
    host: &str,
    action: &Action,
    context: &Context,
    cancel: &CancellationToken,
) -> Result<Vec<Record>, redfish_client::Error> {
    Ok(match action {
        Action::CheckCredentials => Vec::new(),
        Action::PowerState => vec![
            info("Power state:"),
            info(format!("    {host}: '{}'", bmc.power_state().await?)),
        ],
        Action::PowerOn => {
            let sent = !bmc.power_on(cancel).await?.actions.is_empty();
            vec![reset_record(sent, ResetType::On)]
        }
        Action::PowerOff => {
            let sent = !bmc.power_off(cancel).await?.actions.is_empty();
            vec![reset_record(sent, ResetType::ForceOff)]
        }
        Action::PowerCycle => reboot_records(bmc, &bmc.power_cycle(cancel).await?, false).await,
        Action::RebootOnly => reboot_records(bmc, &bmc.graceful_reboot(cancel).await?, true).await,
        Action::PowerConsumed => vec![info(format!(
            "Current watts consumed: {}",
            bmc.power_consumed_watts()
                .await?
                .map_or_else(|| "N/A. Try to `--racreset`.".to_owned(), watts)
        ))],
        Action::Pxe => {
            bmc.pxe_once().await?;
            vec![pxe_passed()]
        }
        Action::CheckBoot => {
            let order = bmc.boot_order().await?;
            let mut records = Vec::new();
            if let Some(file) = &context.interfaces {
                match file.matching_type_at(host, &order.names(), &context.location) {
                    Some(t) => {
                        return Ok(vec![warning(format!("Current boot order is set to: {t}."))]);
                    }
                    None => records.push(warning(
                        "Current boot order does not match any of the given.",
                    )),
                }
            }
            records.push(info("Current boot order:"));
            records.extend(order.devices.iter().enumerate().map(|(i, d)| {
                info(format!(
                    "{}: {}{}",
                    i + 1,
                    d.name,
                    if d.enabled { "" } else { " (DISABLED)" }
                ))
            }));
            records
        }
        Action::LsJobs => {
            let jobs = bmc.jobs().await?;
            if jobs.is_empty() {
                vec![info("Found active jobs: None")]
            } else {
                let mut records = vec![info("Found active jobs:")];
                records.extend(jobs.iter().map(|j| info(format!("    JobID: {}", j.id))));
                records
            }
        }
        Action::ClearJobs(mode) => match bmc.clear_jobs(*mode, cancel).await? {
            QueueClear::AlreadyEmpty => vec![warning(format!(
                "Job queue already cleared for iDRAC {host}, DELETE command will not execute."
            ))],
            QueueClear::Cleared => vec![info(format!(
                "Job queue for iDRAC {host} successfully cleared."
            ))],
        },
        Action::CheckJob(id) => match bmc.job(id).await {
            Ok(j) => vec![
                info(format!("JobID: {}", j.id)),
                info(format!("Name: {}", j.name.unwrap_or_default())),
                info(format!("Message: {}", j.message.unwrap_or_default())),
                info(format!("PercentComplete: {}", j.percent.unwrap_or(0))),
            ],
            Err(e) => match e.status() {
                Some(status) => vec![error(format!(
                    "Command failed to check job status, return code is {}",
                    status.as_u16()
                ))],
                None => return Err(e),
            },
        },
        Action::GetBios(None) => bmc
            .bios_attributes()
            .await?
            .iter()
            .map(|(k, v)| info(format!("{k}: {}", python_str(v))))
            .collect(),
        Action::LsSerial => {
            let s = bmc.serial().await?;
            match (s.service_tag, s.serial_number) {
                (Some(tag), _) => vec![info("ServiceTag:"), info(format!("    {host}: {tag}"))],
                (None, Some(serial)) => {
                    vec![
                        info("Serial Number:"),
                        info(format!("    {host}: {serial}")),
                    ]
                }
                (None, None) => {
                    return Err(redfish_client::Error::Config {
                        reason: "Server does not support this functionality".into(),
                    });
                }
            }
        }
        Action::FirmwareInventory => bmc
            .firmware_inventory()
            .await?
            .iter()
            .filter(|f| f.id.as_deref().is_some_and(|id| id.contains("Installed")))
            .flat_map(firmware_records)
            .collect(),
        Action::LsInterfaces => bmc
            .ethernet_interfaces()
            .await?
            .iter()
            .flat_map(interface_records)
            .collect(),
        Action::CheckVirtualMedia => bmc
            .virtual_media()
            .await?
            .iter()
            .flat_map(|slot| {
                // Badfish prints `ImageName`: the image's file name.
                let image = slot.image.as_deref().filter(|i| !i.is_empty()).map_or_else(
                    || "None".to_owned(),
                    |i| i.rsplit('/').next().unwrap_or(i).to_owned(),
                );
                [
                    info(format!("{}:", slot.id)),
                    info(format!(
                        "    Name: {}",
                        slot.name.as_deref().unwrap_or("None")
                    )),
                    info(format!("    ImageName: {image}")),
                    info(format!(
                        "    Inserted: {}",
                        if slot.inserted { "True" } else { "False" }
                    )),
                ]
            })
            .collect(),
        Action::CheckRemoteImage | Action::BootRemoteImage(_) | Action::DetachRemoteImage => {
            remote_image_records(bmc, action).await?
        }
        Action::ScpTargets(op) => scp_target_records(bmc, *op).await?,
        Action::ExportScp {
            dir,
            targets,
            read_only,
        } => export_scp_records(bmc, context, dir, targets, *read_only, cancel).await?,
        Action::ImportScp {
            profile, targets, ..
        } => match profile {
            Some(profile) => import_scp_records(bmc, profile, targets, cancel).await?,
            None => vec![error("File doesn't exist or couldn't be opened.")],
        },
        Action::NicFqdds => {
            if bmc.vendor().await? == Vendor::Supermicro {
                return Ok(vec![error(NOT_SUPPORTED)]);
            }
            let mut records = Vec::new();
            for adapter in bmc.nic_fqdds().await? {
                records.push(info(format!("{}:", adapter.id)));
                records.extend(
                    (1..)
                        .zip(&adapter.fqdds)
                        .map(|(i, fqdd)| info(format!("    {i}: {fqdd}"))),
                );
            }
            records
        }
        Action::GetNic {
            fqdd,
            attribute: None,
        } => match bmc.nic_attributes(fqdd).await {
            Ok(attributes) => std::iter::once(info(fqdd.clone()))
                .chain(
                    attributes
                        .iter()
                        .map(|(k, v)| info(format!("    {k}: {}", python_str(v)))),
                )
                .collect(),
            // Badfish reads the port's attributes where they would be: any answer but 200 is
            // "not supported".
            Err(redfish_client::Error::Invalid { .. }) => vec![error(NOT_SUPPORTED)],
            Err(e) => return Err(e),
        },
        Action::GetNic {
            fqdd,
            attribute: Some(name),
        } => match bmc.nic_attribute(fqdd, name).await {
            Ok(found) => found
                .fields
                .iter()
                .map(|(k, v)| info(format!("{k}: {}", python_str(v))))
                .collect(),
            Err(redfish_client::Error::Invalid { .. }) => vec![error(NO_NIC_INFO)],
            Err(e) => return Err(e),
        },
        Action::SetNic {
            fqdd,
            attribute,
            value,
        } => set_nic(bmc, fqdd, attribute, value, cancel).await?,
        other => super::perform(bmc, host, other, context, cancel)
            .await?
            .iter()
            .map(|line| info(super::plain(line)))
            .collect(),
    })
}

/// Badfish's refusal of an operation on a vendor (or a resource) that does not have it.
const NOT_SUPPORTED: &str = "Operation not supported by vendor.";
/// Badfish's words when a port or its attribute is not in the registry.
const NO_NIC_INFO: &str = "Was unable to get network attribute info.";
/// Badfish's last words when a NIC attribute could not be set.
const NIC_NOT_SET: &str = "Was unable to set a network attribute.";

/// `--set-nic-attribute`: Badfish's checks against the registry entry (in its order, with its
/// words), then the change staged for a config job, the reboot, the job and the value read
/// back. Badfish's own reboot lines differ (it sends `GracefulRestart`; this shuts down
/// gracefully and powers on).
async fn set_nic(
    bmc: &Bmc,
    fqdd: &str,
    attribute: &str,
    value: &str,
    cancel: &CancellationToken,
) -> Result<Vec<Record>, redfish_client::Error> {
    let found = match bmc.nic_attribute(fqdd, attribute).await {
        Ok(found) => found,
        Err(redfish_client::Error::Invalid { .. }) => {
            return Ok(vec![
                error(NO_NIC_INFO),
                error(format!(
                    "{NIC_NOT_SET} Attribute most likely doesn't exist."
                )),
            ]);
        }
        Err(e) => return Err(e),
    };
    let before = found.current.as_ref().map(python_str).unwrap_or_default();
    if before == value {
        return Ok(vec![warning(
            "This attribute already is set to this value. Skipping.",
        )]);
    }
    let entry = &found.entry;
    let refused = |why: &str| {
        Ok(vec![
            error(format!("Value not allowed for this attribute.{why}")),
            error(NIC_NOT_SET),
        ])
    };
    match entry.kind.as_deref() {
        Some("Enumeration") if !entry.value.iter().any(|v| v.value_name == value) => {
            return refused("");
        }
        Some("String")
            if entry
                .min_length
                .is_some_and(|m| (value.chars().count() as u64) < m)
                || entry
                    .max_length
                    .is_some_and(|m| value.chars().count() as u64 > m) =>
        {
            return refused(" (Incorrect string length)");
        }
        Some("Integer") => match value.trim().parse::<i64>() {
            Ok(n)
                if entry.lower_bound.is_none_or(|lo| n >= lo)
                    && entry.upper_bound.is_none_or(|hi| n <= hi) => {}
            Ok(_) => return refused(" (Incorrect number bounds)"),
            Err(_) => return Ok(vec![error(NIC_NOT_SET)]),
        },
        _ => {}
    }
    let change = bmc.set_nic_attribute(fqdd, attribute, value).await?;
    let mut records = vec![info(
        "Patch command to set network attribute values and create next reboot job PASSED.",
    )];
    let redfish_client::SettingsChange::Pending { job } = change else {
        return Ok(records);
    };
    if let Some(job) = &job {
        records.push(info(format!(
            "Network attribute configuration job created: {job}"
        )));
    }
    records.extend(reboot_records(bmc, &bmc.graceful_reboot(cancel).await?, true).await);
    let Some(job) = job else {
        return Ok(records);
    };
    records.push(info(format!("Monitoring job {job} for completion...")));
    let done = bmc
        .wait_job(&job, redfish_client::JobTarget::Completed, cancel)
        .await?;
    records.extend([
        info(format!("JobID: {}", done.id)),
        info(format!("Name: {}", done.name.unwrap_or_default())),
        info(format!("Message: {}", done.message.unwrap_or_default())),
        info(format!("PercentComplete: {}", done.percent.unwrap_or(0))),
        info("Verifying attribute value was applied..."),
    ]);
    let now = bmc.nic_attribute(fqdd, attribute).await?;
    let after = now.current.as_ref().map(python_str).unwrap_or_default();
    records.push(if after == value {
        info(format!(
            "\u{2713} Successfully changed {} from {before} to {after}",
            now.entry.attribute_name
        ))
    } else {
        error(format!(
            "Attribute {} is {after}, not {value}, after the job.",
            now.entry.attribute_name
        ))
    });
    Ok(records)
}

/// One installed firmware as Badfish lists it: `Id:`, then every property but the OData,
/// `Description` and `Oem` ones, as `    Key: value` in the resource's key order (sorted here:
/// the lab and many BMCs serve them so).
fn firmware_records(f: &redfish_client::SoftwareInventory) -> Vec<Record> {
    let mut properties: BTreeMap<String, Value> = f.other.clone().into_iter().collect();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            properties.insert(key.to_owned(), value);
        }
    };
    put("Id", f.id.clone().map(Value::String));
    put("Name", f.name.clone().map(Value::String));
    put("Version", f.version.clone().map(Value::String));
    put("Manufacturer", f.manufacturer.clone().map(Value::String));
    put("Updateable", f.updateable.map(Value::Bool));
    put("Status", f.status.as_ref().map(status_value));
    let mut records = vec![info(format!("{}:", f.id.as_deref().unwrap_or_default()))];
    records.extend(
        properties
            .iter()
            .filter(|(k, _)| {
                !["odata", "Description", "Oem"]
                    .iter()
                    .any(|s| k.contains(s))
            })
            .map(|(k, v)| info(format!("    {k}: {}", python_str(v)))),
    );
    records
}

/// A `Status` object as the JSON it came from.
fn status_value(status: &redfish_client::Status) -> Value {
    let mut map = serde_json::Map::new();
    if let Some(h) = &status.health {
        map.insert("Health".into(), Value::String(h.clone()));
    }
    if let Some(s) = &status.state {
        map.insert("State".into(), Value::String(s.clone()));
    }
    Value::Object(map)
}

/// One NIC as Badfish's `--ls-interfaces` lists it: its fields in Badfish's order, empty ones
/// left out.
fn interface_records(i: &redfish_client::EthernetInterface) -> Vec<Record> {
    let mut records = vec![info(format!("{}:", i.id.as_deref().unwrap_or("None")))];
    let health = i.status.as_ref().and_then(|s| s.health.clone());
    let speed = i.speed_mbps.filter(|s| *s != 0).map(|s| s.to_string());
    for (key, value) in [
        ("Name", i.name.clone()),
        ("MACAddress", i.mac_address.clone()),
        ("Health", health),
        ("LinkStatus", i.link_status.clone()),
        ("SpeedMbps", speed),
    ] {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            records.push(info(format!("    {key}: {value}")));
        }
    }
    records
}

/// Everything Badfish prints at the end of a run: with a host list, every host's records in
/// the list's order (each prefixed with its logger name), then the results; else the one
/// host's records. `hosts` pairs each host with its log, in the list's order.
pub(super) fn render(hosts: &[(String, HostLog)], multi_host: bool) -> String {
    let mut out = String::new();
    if !multi_host {
        for (_, log) in hosts {
            for record in &log.records {
                let _ = writeln!(out, "{}", format_record(None, record));
            }
        }
        return out;
    }
    for (host, log) in hosts {
        for record in &log.records {
            let _ = writeln!(out, "{}", format_record(Some(logger_name(host)), record));
        }
    }
    let main = Some("badfish.helpers.logger");
    let _ = writeln!(out, "{}", format_record(main, &info("RESULTS:")));
    for (host, log) in hosts {
        let verdict = if log.ok { "SUCCESSFUL" } else { "FAILED" };
        let _ = writeln!(
            out,
            "{}",
            format_record(main, &info(format!("{host}: {verdict}")))
        );
    }
    out
}

/// Prints a finished run as Badfish does: into the log file when `-l` was given (`out`), else
/// on standard error; the hosts in the list's order.
pub(super) fn print(
    results: &mut [super::HostResult],
    hosts: &[String],
    shape: RunShape,
    to_log_file: bool,
    out: &mut dyn Write,
) {
    let logs: Vec<(String, HostLog)> = hosts
        .iter()
        .map(|h| {
            let log = results
                .iter_mut()
                .find(|r| &r.host == h && r.badfish.is_some())
                .and_then(|r| r.badfish.take())
                .unwrap_or_else(|| HostLog {
                    records: vec![error("Badfish terminated")],
                    ok: false,
                });
            (h.clone(), log)
        })
        .collect();
    emit(&render(&logs, shape.multi_host), to_log_file, out);
}

/// A run that stops before any BMC is contacted, as Badfish reports it: `message` as the
/// error of every host (Badfish checks the credentials per host).
pub(super) fn print_failure(
    hosts: &[String],
    shape: RunShape,
    message: &str,
    to_log_file: bool,
    out: &mut dyn Write,
) {
    let logs: Vec<(String, HostLog)> = hosts
        .iter()
        .map(|h| {
            let mut records = preamble(shape.password_on_command_line);
            records.push(error(message));
            if shape.multi_host {
                records.push(info("*".repeat(48)));
            }
            (h.clone(), HostLog { records, ok: false })
        })
        .collect();
    emit(&render(&logs, shape.multi_host), to_log_file, out);
}

/// Badfish's last step: the whole text at once, into the log file or on standard error.
fn emit(text: &str, to_log_file: bool, out: &mut dyn Write) {
    let text = text.strip_suffix('\n').unwrap_or(text);
    if to_log_file {
        let _ = writeln!(out, "{text}");
    } else if !text.is_empty() {
        let _ = writeln!(std::io::stderr(), "{text}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_formatted_as_badfish_logs_them() {
        assert_eq!(
            format_record(None, &info("Power state:")),
            "- INFO     - Power state:"
        );
        assert_eq!(
            format_record(Some("mgmt-f01-h01-000-r640"), &warning("x")),
            "[mgmt-f01-h01-000-r640] - WARNING  - x"
        );
        assert_eq!(logger_name("mgmt-a.example.com"), "mgmt-a");
        assert_eq!(logger_name("127.0.1.1:443"), "127");
    }

    #[test]
    fn values_print_as_python_does() {
        let v = serde_json::json!({"Health": "OK", "On": true, "N": null, "L": [1, "a"]});
        assert_eq!(
            python_str(&v),
            "{'Health': 'OK', 'L': [1, 'a'], 'N': None, 'On': True}"
        );
        assert_eq!(python_str(&serde_json::json!("Bios")), "Bios");
        assert_eq!(watts(293.0), "293");
        assert_eq!(watts(293.5), "293.5");
    }

    #[test]
    fn a_host_list_run_ends_with_the_results() {
        let hosts = vec![
            (
                "a.example".to_owned(),
                HostLog {
                    records: vec![info("one")],
                    ok: true,
                },
            ),
            (
                "b.example".to_owned(),
                HostLog {
                    records: vec![error("two")],
                    ok: false,
                },
            ),
        ];
        assert_eq!(
            render(&hosts, true),
            "[a] - INFO     - one\n[b] - ERROR    - two\n\
             [badfish.helpers.logger] - INFO     - RESULTS:\n\
             [badfish.helpers.logger] - INFO     - a.example: SUCCESSFUL\n\
             [badfish.helpers.logger] - INFO     - b.example: FAILED\n"
        );
    }
}
