//! Dell's Server Configuration Profile (SCP) on the iDRACs: the manager's OEM actions
//! `EID_674_Manager.ExportSystemConfiguration` and `ImportSystemConfiguration`, advertised in
//! the manager's `Actions.Oem` with their allowable values (`ShareParameters.Target` among
//! them), and the jobs they start, shown at `Jobs/{id}` and `TaskService/Tasks/{id}`.
//!
//! Only the local share (no `ShareType`, or `Local`) and JSON are served. An export answers 202
//! with its task in `Location`; the profile is the lab's state when it was asked for (the iDRAC's
//! attributes from its accounts, each NIC port's Dell attributes, the BIOS attributes; read-only
//! ones only with `IncludeInExport` `IncludeReadOnly`), filtered by `Target`, and once the job is
//! done (`EXPORT_SECS` lab seconds) the task answers 200 with it as its body, as an iDRAC's task
//! monitor does. An import checks its `ImportBuffer` (a malformed one is refused 400 with the
//! iDRAC's extended error), then stages what differs as the config jobs BIOS and NIC settings
//! use (listed in `Jobs` with it) and, unless `ShutdownType` is `NoReboot`, restarts the host
//! itself (gracefully or forced; a host that is off is powered on and left on), so the jobs
//! apply during that POST as the real iDRAC applies an import during its own reboot. The task
//! is done when those jobs are: `Completed`, or `CompletedWithErrors` when some attributes
//! could not be applied (unknown, read-only, refused by the registry, or the iDRAC's own
//! attributes, which the lab does not change). Other flavours have no such actions (404).

use http::StatusCode;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::dispatch::Ctx;
use super::messages;
use super::reply::Reply;
use super::state::{Role, ScpJob, ScpJobKind};
use super::{bios, dell, network};
use crate::machine::{Job, JobChange, JobState, ResetType};

/// An SCP action of the manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScpAction {
    /// `ExportSystemConfiguration`.
    Export,
    /// `ImportSystemConfiguration`.
    Import,
}

impl ScpAction {
    /// The action's name after `EID_674_Manager.`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Export => "ExportSystemConfiguration",
            Self::Import => "ImportSystemConfiguration",
        }
    }

    /// The action named `name` (without the `EID_674_Manager.` prefix).
    pub(crate) fn parse(name: &str) -> Option<Self> {
        [Self::Export, Self::Import]
            .into_iter()
            .find(|a| a.name() == name)
    }
}

/// `ShareParameters.Target`'s allowable values (an iDRAC9's list).
pub(crate) const TARGETS: [&str; 13] = [
    "ALL",
    "IDRAC",
    "BIOS",
    "NIC",
    "RAID",
    "FC",
    "InfiniBand",
    "SupportAssist",
    "EventFilters",
    "System",
    "LifecycleController",
    "AHCI",
    "PCIeSSD",
];

const EXPORT_FORMATS: [&str; 2] = ["XML", "JSON"];
const EXPORT_USES: [&str; 3] = ["Default", "Clone", "Replace"];
const INCLUDE_IN_EXPORT: [&str; 3] = ["Default", "IncludeReadOnly", "IncludePasswordHashValues"];
const SHUTDOWN_TYPES: [&str; 3] = ["Graceful", "Forced", "NoReboot"];
const HOST_POWER_STATES: [&str; 2] = ["On", "Off"];
const SHARE_TYPES: [&str; 5] = ["Local", "NFS", "CIFS", "HTTP", "HTTPS"];

/// Lab seconds an export takes.
pub(crate) const EXPORT_SECS: f64 = 20.0;

/// One attribute of a profile's component: name, value now, and whether it is read-only.
pub(crate) type ProfileAttribute = (String, Value, bool);

/// One component of a profile: its FQDD and attributes.
pub(crate) type Component = (String, Vec<ProfileAttribute>);

/// One component of an `ImportBuffer`: its FQDD and attributes (name, value as text).
type BufferComponent = (String, Vec<(String, String)>);

/// The BIOS component's FQDD.
const BIOS_FQDD: &str = "BIOS.Setup.1-1";

/// The manager's `Actions.Oem` on an iDRAC (`None` elsewhere).
pub(crate) fn manager_actions(cx: &Ctx<'_>) -> Option<Value> {
    if !cx.dell() {
        return None;
    }
    let uri = cx.layout.manager_uri();
    let target = |action: ScpAction| format!("{uri}/Actions/Oem/EID_674_Manager.{}", action.name());
    let share = json!({
        "ShareType@Redfish.AllowableValues": SHARE_TYPES,
        "Target@Redfish.AllowableValues": TARGETS,
    });
    Some(json!({
        "#OemManager.v1_4_0.ExportSystemConfiguration": {
            "target": target(ScpAction::Export),
            "ExportFormat@Redfish.AllowableValues": EXPORT_FORMATS,
            "ExportUse@Redfish.AllowableValues": EXPORT_USES,
            "IncludeInExport@Redfish.AllowableValues": INCLUDE_IN_EXPORT,
            "ShareParameters": share,
        },
        "#OemManager.v1_4_0.ImportSystemConfiguration": {
            "target": target(ScpAction::Import),
            "HostPowerState@Redfish.AllowableValues": HOST_POWER_STATES,
            "ShutdownType@Redfish.AllowableValues": SHUTDOWN_TYPES,
            "ShareParameters": share,
        },
    }))
}

/// Runs one action (POST).
pub(crate) fn act(cx: &mut Ctx<'_>, action: ScpAction) -> Reply {
    let body = match cx.body() {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    if cx.lc_restarting() {
        return messages::idrac_not_ready();
    }
    let outcome = match action {
        ScpAction::Export => export(cx, &body),
        ScpAction::Import => import(cx, &body),
    };
    match outcome {
        Ok(job) => {
            let id = job.id.clone();
            cx.b.scp_jobs.push(job);
            Reply::empty(StatusCode::ACCEPTED)
                .location(&format!("/redfish/v1/TaskService/Tasks/{id}"))
        }
        Err(reply) => reply,
    }
}

/// A text parameter (`None` when absent), 400 when it is not text.
fn text<'a>(body: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, Reply> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(messages::value_type_error(&other.to_string(), name)),
    }
}

/// A comma-separated parameter whose every item must be one of `allowed`.
fn list<'a>(
    value: &'a str,
    allowed: &[&str],
    parameter: &str,
    action: ScpAction,
) -> Result<Vec<&'a str>, Reply> {
    let items: Vec<&str> = value.split(',').map(str::trim).collect();
    match items.iter().find(|i| !allowed.contains(i)) {
        Some(bad) => Err(messages::action_value_not_in_list(
            bad,
            parameter,
            action.name(),
        )),
        None => Ok(items),
    }
}

/// `ShareParameters`: the local share only, and its `Target` list (required).
fn targets(body: &Map<String, Value>, action: ScpAction) -> Result<Vec<String>, Reply> {
    let Some(share) = body.get("ShareParameters") else {
        return Err(messages::action_parameter_missing(
            action.name(),
            "ShareParameters",
        ));
    };
    let Some(share) = share.as_object() else {
        return Err(messages::value_type_error(
            &share.to_string(),
            "ShareParameters",
        ));
    };
    if let Some(key) = share
        .keys()
        .find(|k| !["Target", "ShareType"].contains(&k.as_str()))
    {
        return Err(messages::general_error(&format!(
            "The lab serves the local share only: ShareParameters/{key} is not supported."
        )));
    }
    if let Some(kind) = text(share, "ShareType")? {
        list(kind, &SHARE_TYPES, "ShareType", action)?;
        if kind != "Local" {
            return Err(messages::general_error(&format!(
                "The lab serves the local share only: ShareType {kind} is not supported."
            )));
        }
    }
    let Some(target) = text(share, "Target")? else {
        return Err(messages::action_parameter_missing(action.name(), "Target"));
    };
    Ok(list(target, &TARGETS, "Target", action)?
        .into_iter()
        .map(str::to_owned)
        .collect())
}

/// Whether a component (by FQDD) is among the targets.
fn targeted(targets: &[String], fqdd: &str) -> bool {
    targets.iter().any(|t| match t.as_str() {
        "ALL" => true,
        "BIOS" => fqdd.starts_with("BIOS."),
        "NIC" => fqdd.starts_with("NIC."),
        "IDRAC" => fqdd.starts_with("iDRAC."),
        _ => false,
    })
}

/// A profile value as text (the profile's values are all text).
fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The iDRAC's own attributes: its product name (read-only) and its accounts (never their
/// passwords).
fn idrac_attributes(cx: &Ctx<'_>) -> Vec<ProfileAttribute> {
    let mut out = vec![(
        "Info.1#Product".to_owned(),
        json!("Integrated Dell Remote Access Controller"),
        true,
    )];
    for account in &cx.b.accounts {
        let privilege = match account.role {
            Role::Administrator => "511",
            Role::Operator => "499",
            Role::ReadOnly => "1",
            Role::NoAccess => "0",
        };
        let enable = if account.enabled {
            "Enabled"
        } else {
            "Disabled"
        };
        let n = account.id;
        out.push((
            format!("Users.{n}#UserName"),
            json!(account.username),
            false,
        ));
        out.push((format!("Users.{n}#Enable"), json!(enable), false));
        out.push((format!("Users.{n}#Privilege"), json!(privilege), false));
    }
    out
}

/// Every component the lab holds: (FQDD, attributes as name, value, read-only).
fn components(cx: &Ctx<'_>) -> Vec<Component> {
    let mut out = vec![(cx.layout.manager.to_owned(), idrac_attributes(cx))];
    out.extend(network::profile_ports(cx));
    out.push((BIOS_FQDD.to_owned(), bios::profile_attributes(cx)));
    out
}

/// The profile of the lab's state for `targets`.
fn profile(cx: &Ctx<'_>, targets: &[String], read_only: bool) -> Value {
    let components: Vec<Value> = components(cx)
        .into_iter()
        .filter(|(fqdd, _)| targeted(targets, fqdd))
        .map(|(fqdd, attributes)| {
            let attributes: Vec<Value> = attributes
                .into_iter()
                .filter(|(_, _, ro)| read_only || !ro)
                .map(|(name, value, ro)| {
                    json!({
                        "Name": name,
                        "Value": as_text(&value),
                        "Set On Import": if ro { "False" } else { "True" },
                        "Comment": if ro { "Read Only" } else { "Read and Write" },
                    })
                })
                .collect();
            json!({"FQDD": fqdd, "Attributes": attributes})
        })
        .collect();
    json!({
        "SystemConfiguration": {
            "Model": format!("PowerEdge {}", cx.m.model.to_ascii_uppercase()),
            "ServiceTag": super::service::serial(cx),
            "Components": components,
        }
    })
}

/// `ExportSystemConfiguration`: checks the parameters and takes the profile now.
fn export(cx: &mut Ctx<'_>, body: &Map<String, Value>) -> Result<ScpJob, Reply> {
    let action = ScpAction::Export;
    let known = [
        "ExportFormat",
        "ExportUse",
        "IncludeInExport",
        "ShareParameters",
    ];
    if let Some(key) = body.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(messages::property_unknown(key));
    }
    let Some(format) = text(body, "ExportFormat")? else {
        return Err(messages::action_parameter_missing(
            action.name(),
            "ExportFormat",
        ));
    };
    list(format, &EXPORT_FORMATS, "ExportFormat", action)?;
    if format != "JSON" {
        return Err(messages::general_error(
            "The lab exports Server Configuration Profiles as JSON only.",
        ));
    }
    if let Some(usage) = text(body, "ExportUse")? {
        list(usage, &EXPORT_USES, "ExportUse", action)?;
    }
    let include = match text(body, "IncludeInExport")? {
        Some(include) => list(include, &INCLUDE_IN_EXPORT, "IncludeInExport", action)?,
        None => Vec::new(),
    };
    let targets = targets(body, action)?;
    let read_only = include.contains(&"IncludeReadOnly");
    let profile = profile(cx, &targets, read_only);
    Ok(ScpJob {
        id: cx.m.new_job_id(),
        kind: ScpJobKind::Export {
            profile,
            done_at: cx.lab.clock.after(EXPORT_SECS),
        },
    })
}

/// The components of an `ImportBuffer`: (FQDD, attributes as name and text value, skipping
/// those marked `"Set On Import": "False"`); `None` when it is not an SCP in JSON.
fn parse_buffer(buffer: &str) -> Option<Vec<BufferComponent>> {
    let value: Value = serde_json::from_str(buffer).ok()?;
    let components = value
        .get("SystemConfiguration")?
        .get("Components")?
        .as_array()?;
    let mut out = Vec::new();
    for component in components {
        let fqdd = component.get("FQDD")?.as_str()?.to_owned();
        let mut attributes = Vec::new();
        for attribute in component
            .get("Attributes")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice)
        {
            let name = attribute.get("Name")?.as_str()?.to_owned();
            let value = attribute.get("Value")?;
            if attribute.get("Set On Import").and_then(Value::as_str) == Some("False") {
                continue;
            }
            attributes.push((name, as_text(value)));
        }
        out.push((fqdd, attributes));
    }
    Some(out)
}

/// What an import changes: BIOS values, NIC values per port, and what it cannot apply.
#[derive(Default)]
struct Changes {
    bios: std::collections::BTreeMap<String, Value>,
    nics: std::collections::BTreeMap<String, std::collections::BTreeMap<String, Value>>,
    skipped: Vec<String>,
}

/// Sorts the buffer's values into changes against the lab's current state.
fn changes(cx: &Ctx<'_>, buffer: Vec<BufferComponent>, targets: &[String]) -> Changes {
    let now = components(cx);
    let current = |fqdd: &str, name: &str| {
        now.iter()
            .find(|(f, _)| f == fqdd)
            .and_then(|(_, attributes)| attributes.iter().find(|(n, _, _)| n == name))
            .map(|(_, value, _)| as_text(value))
    };
    let mut out = Changes::default();
    for (fqdd, attributes) in buffer {
        if !targeted(targets, &fqdd) {
            continue;
        }
        let port = now.iter().any(|(f, _)| f == &fqdd && f.starts_with("NIC."));
        for (name, text) in attributes {
            if current(&fqdd, &name).as_deref() == Some(text.as_str()) {
                continue;
            }
            if fqdd == BIOS_FQDD && bios::accepts(cx, &name, &text) {
                out.bios.insert(name, Value::from(text));
            } else if let Some(value) = network::profile_value(&name, &text).filter(|_| port) {
                out.nics
                    .entry(fqdd.clone())
                    .or_default()
                    .insert(name, value);
            } else {
                out.skipped.push(format!("{fqdd} {name}"));
            }
        }
    }
    out
}

/// `ImportSystemConfiguration`: checks the parameters and buffer, stages the changes as
/// config jobs and restarts the host unless told not to.
fn import(cx: &mut Ctx<'_>, body: &Map<String, Value>) -> Result<ScpJob, Reply> {
    let action = ScpAction::Import;
    let known = [
        "ImportBuffer",
        "ShutdownType",
        "HostPowerState",
        "TimeToWait",
        "ShareParameters",
    ];
    if let Some(key) = body.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(messages::property_unknown(key));
    }
    let shutdown = text(body, "ShutdownType")?.unwrap_or("Graceful");
    list(shutdown, &SHUTDOWN_TYPES, "ShutdownType", action)?;
    if let Some(state) = text(body, "HostPowerState")? {
        list(state, &HOST_POWER_STATES, "HostPowerState", action)?;
    }
    let targets = targets(body, action)?;
    let Some(buffer) = text(body, "ImportBuffer")? else {
        return Err(messages::action_parameter_missing(
            action.name(),
            "ImportBuffer",
        ));
    };
    let Some(parsed) = parse_buffer(buffer) else {
        let excerpt: String = buffer.chars().take(32).collect();
        return Err(messages::action_value_format_error(
            &excerpt,
            "ImportBuffer",
            action.name(),
        ));
    };
    let Changes {
        bios,
        nics,
        skipped,
    } = changes(cx, parsed, &targets);
    if !bios.is_empty() && dell::bios_job_pending(cx) {
        return Err(messages::pending_already_committed(None));
    }
    if nics.keys().any(|fqdd| network::nic_job_pending(cx, fqdd)) {
        return Err(messages::pending_already_committed(None));
    }
    let mut jobs = Vec::new();
    let bios_target = format!("{}/Bios/Settings", cx.layout.system_uri());
    let staged = (!bios.is_empty())
        .then_some((bios_target, JobChange::Bios(bios)))
        .into_iter()
        .chain(nics.into_iter().map(|(fqdd, attributes)| {
            (
                network::settings_uri(cx, &fqdd),
                JobChange::Nic { fqdd, attributes },
            )
        }))
        .collect::<Vec<_>>();
    for (target, change) in staged {
        let id = cx.m.new_job_id();
        cx.m.jobs.push(Job {
            id: id.clone(),
            target,
            state: JobState::Scheduled,
            change,
            stuck: false,
        });
        jobs.push(id);
    }
    if !jobs.is_empty() && shutdown != "NoReboot" {
        let physics = cx.lab.physics();
        let on = cx.m.power_state(physics) == crate::machine::PowerState::On;
        let reset = match (on, shutdown) {
            (false, _) => ResetType::On,
            (true, "Forced") => ResetType::ForceRestart,
            (true, _) => ResetType::GracefulRestart,
        };
        // A refusal (a host already going down and coming back) changes nothing: the jobs
        // apply at the POST that follows.
        let _ = cx.m.reset(reset, cx.lab.physics());
    }
    Ok(ScpJob {
        id: cx.m.new_job_id(),
        kind: ScpJobKind::Import { jobs, skipped },
    })
}

/// Where an SCP job is: Dell's job state, message, message id and percentage.
struct Progress {
    state: &'static str,
    message: String,
    message_id: &'static str,
    percent: u8,
}

impl Progress {
    fn done(&self) -> bool {
        matches!(self.state, "Completed" | "CompletedWithErrors" | "Failed")
    }
}

fn progress(cx: &Ctx<'_>, job: &ScpJob) -> Progress {
    let p = |state, message: &str, message_id, percent| Progress {
        state,
        message: message.to_owned(),
        message_id,
        percent,
    };
    match &job.kind {
        ScpJobKind::Export { done_at, .. } if Instant::now() >= *done_at => p(
            "Completed",
            "Successfully exported Server Configuration Profile",
            "SYS043",
            100,
        ),
        ScpJobKind::Export { .. } => p(
            "Running",
            "Exporting Server Configuration Profile.",
            "SYS057",
            50,
        ),
        ScpJobKind::Import { jobs, skipped } => {
            let states: Vec<Option<JobState>> = jobs
                .iter()
                .map(|id| cx.m.jobs.iter().find(|j| &j.id == id).map(|j| j.state))
                .collect();
            if states
                .iter()
                .any(|s| matches!(s, None | Some(JobState::Failed)))
            {
                return p(
                    "Failed",
                    "Unable to apply the configuration changes: a configuration job failed or was deleted.",
                    "SYS051",
                    100,
                );
            }
            if states.contains(&Some(JobState::Running)) {
                return p("Running", "Applying configuration changes.", "SYS034", 50);
            }
            if states.contains(&Some(JobState::Scheduled)) {
                return p(
                    "Scheduled",
                    "Waiting for the host to restart to apply the configuration changes.",
                    "SYS034",
                    20,
                );
            }
            if !skipped.is_empty() {
                return Progress {
                    state: "CompletedWithErrors",
                    message: format!(
                        "Some configuration changes were not applied: {}.",
                        skipped.join(", ")
                    ),
                    message_id: "SYS055",
                    percent: 100,
                };
            }
            if jobs.is_empty() {
                return p(
                    "Completed",
                    "No changes were applied since the current component configuration matched the requested configuration.",
                    "SYS069",
                    100,
                );
            }
            p(
                "Completed",
                "Successfully imported and applied Server Configuration Profile.",
                "SYS053",
                100,
            )
        }
    }
}

/// The SCP job `id`, if there is one.
fn find<'a>(cx: &'a Ctx<'_>, id: &str) -> Option<&'a ScpJob> {
    cx.b.scp_jobs.iter().find(|j| j.id == id)
}

/// The job's Dell view (`Jobs/{id}`, and `Oem.Dell` of its task).
fn view<'a>(job: &'a ScpJob, now: &'a Progress) -> dell::JobView<'a> {
    let (name, job_type) = match job.kind {
        ScpJobKind::Export { .. } => ("Export Configuration", "ExportConfiguration"),
        ScpJobKind::Import { .. } => ("Import Configuration", "ImportConfiguration"),
    };
    dell::JobView {
        id: &job.id,
        name: name.to_owned(),
        job_type,
        state: now.state,
        message: &now.message,
        message_id: now.message_id,
        percent: now.percent,
    }
}

/// `Jobs/{id}` of an SCP job.
pub(crate) fn job(cx: &Ctx<'_>, id: &str) -> Option<Reply> {
    let job = find(cx, id)?;
    let now = progress(cx, job);
    Some(Reply::resource(dell::job_json(cx, &view(job, &now))))
}

/// The ids of the SCP jobs (listed in `Jobs` and `TaskService/Tasks`).
pub(crate) fn job_ids(cx: &Ctx<'_>) -> Vec<String> {
    cx.b.scp_jobs.iter().map(|j| j.id.clone()).collect()
}

/// `TaskService/Tasks/{id}` of an SCP job: 202 with the task while it runs; once done, an
/// export's profile (200) or the import's task (200).
pub(crate) fn task(cx: &Ctx<'_>, id: &str) -> Option<Reply> {
    let job = find(cx, id)?;
    let now = progress(cx, job);
    if let (ScpJobKind::Export { profile, .. }, true) = (&job.kind, now.done()) {
        return Some(Reply::json(StatusCode::OK, profile.clone()));
    }
    let (state, status) = match now.state {
        "Completed" => ("Completed", "OK"),
        "CompletedWithErrors" => ("Completed", "Warning"),
        "Failed" => ("Exception", "Critical"),
        "Scheduled" => ("Pending", "OK"),
        _ => ("Running", "OK"),
    };
    let code = if now.done() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let view = view(job, &now);
    let mut body = dell::task_json(&view, state, status);
    body["Oem"] = json!({"Dell": dell::job_json(cx, &view)});
    Some(Reply::json(code, body))
}

/// Whether the SCP job `id` is still running (a job deletion refuses it).
pub(crate) fn running(cx: &Ctx<'_>, id: &str) -> bool {
    find(cx, id).is_some_and(|job| !progress(cx, job).done())
}

/// Deletes the SCP jobs `keep` does not keep.
pub(crate) fn retain(cx: &mut Ctx<'_>, keep: impl Fn(&Ctx<'_>, &str) -> bool) {
    let ids: Vec<String> = job_ids(cx).into_iter().filter(|id| !keep(cx, id)).collect();
    cx.b.scp_jobs.retain(|j| !ids.contains(&j.id));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_named_as_the_manager_names_them() {
        for action in [ScpAction::Export, ScpAction::Import] {
            assert_eq!(ScpAction::parse(action.name()), Some(action));
        }
        assert_eq!(ScpAction::parse("ImportSystemConfigurationPreview"), None);
    }

    #[test]
    fn targets_pick_components_by_fqdd() {
        let all = vec!["ALL".to_owned()];
        let some = vec!["BIOS".to_owned(), "NIC".to_owned()];
        assert!(targeted(&all, "iDRAC.Embedded.1"));
        assert!(targeted(&some, "BIOS.Setup.1-1"));
        assert!(targeted(&some, "NIC.Integrated.1-1-1"));
        assert!(!targeted(&some, "iDRAC.Embedded.1"));
        assert!(!targeted(&["RAID".to_owned()], "BIOS.Setup.1-1"));
    }

    #[test]
    fn a_buffer_is_an_scp_in_json_or_nothing() {
        let good = r#"{"SystemConfiguration":{"Components":[{"FQDD":"BIOS.Setup.1-1",
            "Attributes":[{"Name":"BootMode","Value":"Uefi"},
            {"Name":"SystemServiceTag","Value":"ABC","Set On Import":"False"},
            {"Name":"Count","Value":3}]}]}}"#;
        let parsed = parse_buffer(good).expect("an SCP");
        assert_eq!(
            parsed,
            vec![(
                "BIOS.Setup.1-1".to_owned(),
                vec![
                    ("BootMode".to_owned(), "Uefi".to_owned()),
                    ("Count".to_owned(), "3".to_owned())
                ]
            )]
        );
        for bad in [
            "<SystemConfiguration/>",
            "{}",
            r#"{"SystemConfiguration":{}}"#,
            r#"{"SystemConfiguration":{"Components":[{"Attributes":[]}]}}"#,
            r#"{"SystemConfiguration":{"Components":[{"FQDD":"X","Attributes":[{"Value":"1"}]}]}}"#,
        ] {
            assert_eq!(parse_buffer(bad), None, "{bad}");
        }
    }
}
