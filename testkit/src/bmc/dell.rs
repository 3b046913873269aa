//! iDRAC OEM resources: the persistent boot order (`BootSources` with `BootSeq`/`UefiBootSeq`,
//! set through its `Settings`), config jobs (`Jobs`, POST with `TargetSettingsURI`, the job id in
//! `Location`), `DellJobService.DeleteJobQueue` and `DellLCService`.
//!
//! Jobs are the machine's ([`crate::machine::Job`]): scheduled at creation, running during the
//! next POST, completed at its end. A BIOS job already scheduled or running makes further BIOS or
//! boot-order sets and new config jobs fail with `SYS011`, as on an iDRAC. `JID_CLEARALL` deletes
//! every job that is not running; only `JID_CLEARALL_FORCE` removes a running (stuck) job, and it
//! restarts the Lifecycle Controller, which is not ready for the lab model's `lc_restart`.

use http::StatusCode;
use serde_json::{Value, json};

use super::bios::is_bios_job;
use super::dispatch::Ctx;
use super::messages;
use super::network;
use super::reply::Reply;
use super::service::link;
use crate::clock::hash_str;
use crate::machine::{DeviceKind, Job, JobChange, JobState};

/// `BootSeq` or `UefiBootSeq`, by the BIOS boot mode.
fn seq_key(cx: &Ctx<'_>) -> &'static str {
    match cx.m.bios.get("BootMode").and_then(Value::as_str) {
        Some("Uefi") => "UefiBootSeq",
        _ => "BootSeq",
    }
}

/// The entries of a boot sequence: the order's devices enabled, then the others disabled.
fn seq_entries(cx: &Ctx<'_>, key: &str, order: &[String]) -> Vec<Value> {
    let rest =
        cx.m.devices
            .iter()
            .map(|d| &d.id)
            .filter(|id| !order.contains(id));
    order
        .iter()
        .map(|id| (id, true))
        .chain(rest.map(|id| (id, false)))
        .enumerate()
        .map(|(index, (name, enabled))| {
            let digest = hash_str(&format!("{key}#{name}"));
            json!({
                "Enabled": enabled,
                "Id": format!("BIOS.Setup.1-1#{key}#{name}#{digest:016x}{:016x}", hash_str(name)),
                "Index": index,
                "Name": name,
            })
        })
        .collect()
}

/// The boot-sources resource: the current persistent order.
pub(crate) fn boot_sources(cx: &Ctx<'_>) -> Reply {
    let uri = cx.layout.boot_sources_uri();
    let key = seq_key(cx);
    let mut attributes = json!({"BootSeq": [], "UefiBootSeq": []});
    attributes[key] = Value::from(seq_entries(cx, key, &cx.m.boot_order));
    if key == "BootSeq" {
        let disks: Vec<String> =
            cx.m.devices
                .iter()
                .filter(|d| d.kind == DeviceKind::Disk)
                .map(|d| d.id.clone())
                .collect();
        attributes["HddSeq"] = Value::from(seq_entries(cx, "HddSeq", &disks));
    }
    if cx.m.boot_order.is_empty() {
        // What a real iDRAC9 answers when nothing is bootable: no sequence at all.
        attributes = json!({});
    }
    Reply::resource(json!({
        "@odata.id": uri,
        "@odata.type": "#DellBootSources.v1_1_0.DellBootSources",
        "Id": "BootSources",
        "Name": "Boot Sources Configuration Current Settings",
        "Description": "Boot Sources Configuration Current Settings",
        "Attributes": attributes,
        "@Redfish.Settings": {
            "@odata.type": "#Settings.v1_3_5.Settings",
            "SettingsObject": link(&format!("{uri}/Settings")),
            "SupportedApplyTimes": ["OnReset"],
        },
    }))
}

/// The boot order waiting for the next POST, if any.
fn pending_order(cx: &Ctx<'_>) -> Option<Vec<String>> {
    if let Some(order) = &cx.b.pending_boot_order {
        return Some(order.clone());
    }
    cx.m.jobs
        .iter()
        .rev()
        .find_map(|j| match (&j.state, &j.change) {
            (JobState::Scheduled | JobState::Running, JobChange::BootOrder(order)) => {
                Some(order.clone())
            }
            _ => None,
        })
}

/// The boot-sources settings: the pending order.
pub(crate) fn boot_sources_settings(cx: &Ctx<'_>) -> Reply {
    let uri = format!("{}/Settings", cx.layout.boot_sources_uri());
    let key = seq_key(cx);
    let mut attributes = json!({});
    if let Some(order) = pending_order(cx) {
        attributes[key] = Value::from(seq_entries(cx, key, &order));
    }
    Reply::resource(json!({
        "@odata.id": uri,
        "@odata.type": "#DellBootSources.v1_1_0.DellBootSources",
        "Id": "BootSources",
        "Name": "Boot Sources Configuration Pending Settings",
        "Description": "Boot Sources Configuration Pending Settings",
        "Attributes": attributes,
    }))
}

/// Whether a BIOS job is scheduled or running (iDRAC then refuses more BIOS changes).
pub(crate) fn bios_job_pending(cx: &Ctx<'_>) -> bool {
    cx.m.jobs
        .iter()
        .any(|j| is_bios_job(j) && matches!(j.state, JobState::Scheduled | JobState::Running))
}

/// PATCH the boot-sources settings: the new order waits for a config job.
pub(crate) fn patch_boot_sources_settings(cx: &mut Ctx<'_>) -> Reply {
    let body = match cx.body() {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    if let Some(key) = body.keys().find(|k| k.as_str() != "Attributes") {
        return messages::property_unknown(key);
    }
    let Some(attributes) = body.get("Attributes").and_then(Value::as_object) else {
        return messages::property_missing("Attributes");
    };
    if cx.lc_restarting() {
        return messages::idrac_not_ready();
    }
    let key = seq_key(cx);
    if let Some(other) = attributes.keys().find(|k| k.as_str() != key) {
        return messages::property_unknown(&format!("Attributes/{other}"));
    }
    let Some(entries) = attributes.get(key).and_then(Value::as_array) else {
        return messages::property_missing(&format!("Attributes/{key}"));
    };
    if bios_job_pending(cx) {
        return messages::pending_already_committed(Some(key));
    }
    let name = format!("Attributes/{key}");
    let mut listed: Vec<(i64, usize, String, bool)> = Vec::new();
    for (position, entry) in entries.iter().enumerate() {
        let device = entry
            .get("Name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if cx.m.device_kind(device).is_none() || listed.iter().any(|l| l.2 == device) {
            return messages::value_not_in_list(device, &name);
        }
        let index = entry
            .get("Index")
            .and_then(Value::as_i64)
            .unwrap_or(position as i64);
        let enabled = entry
            .get("Enabled")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        listed.push((index, position, device.to_owned(), enabled));
    }
    listed.sort_by_key(|(index, position, _, _)| (*index, *position));
    let mut order: Vec<String> = listed.iter().filter(|l| l.3).map(|l| l.2.clone()).collect();
    // Devices the request left out keep their place after the listed ones.
    for device in &cx.m.boot_order {
        if !listed.iter().any(|l| &l.2 == device) {
            order.push(device.clone());
        }
    }
    cx.b.pending_boot_order = Some(order);
    messages::ok_success()
}

/// Turns the staged BIOS values and boot order into config jobs; the first job's URI.
pub(crate) fn commit_config_job(cx: &mut Ctx<'_>) -> Result<String, Reply> {
    if bios_job_pending(cx) {
        return Err(messages::pending_already_committed(None));
    }
    let bios = cx.b.pending_bios.take();
    let order = cx.b.pending_boot_order.take();
    if bios.is_none() && order.is_none() {
        return Err(messages::no_pending_data());
    }
    let target = format!("{}/Bios/Settings", cx.layout.system_uri());
    let mut first = None;
    let changes = order
        .map(JobChange::BootOrder)
        .into_iter()
        .chain(bios.map(|b| JobChange::Bios(*b)));
    for change in changes {
        let id = cx.m.new_job_id();
        cx.m.jobs.push(Job {
            id: id.clone(),
            target: target.clone(),
            state: JobState::Scheduled,
            change,
            stuck: false,
        });
        first.get_or_insert(id);
    }
    Ok(format!(
        "{}/{}",
        cx.layout.jobs_uri(),
        first.unwrap_or_default()
    ))
}

/// The job collection (completed jobs stay listed until the queue is cleared).
pub(crate) fn jobs(cx: &Ctx<'_>) -> Reply {
    let uri = cx.layout.jobs_uri();
    let members: Vec<Value> =
        cx.m.jobs
            .iter()
            .map(|j| j.id.clone())
            .chain(super::dell_scp::job_ids(cx))
            .map(|id| link(&format!("{uri}/{id}")))
            .collect();
    Reply::resource(json!({
        "@odata.id": uri,
        "@odata.type": "#DellJobCollection.DellJobCollection",
        "Name": "JobQueue",
        "Description": "Collection of Job Instances",
        "Members@odata.count": members.len(),
        "Members": members,
    }))
}

/// POST `Jobs` with `TargetSettingsURI`: 200 with the new job in `Location`.
pub(crate) fn create_job(cx: &mut Ctx<'_>) -> Reply {
    let body = match cx.body() {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let Some(target) = body.get("TargetSettingsURI") else {
        return messages::property_missing("TargetSettingsURI");
    };
    let bios_settings = format!("{}/Bios/Settings", cx.layout.system_uri());
    let target = target.as_str().unwrap_or_default();
    let nic = network::settings_target(cx, target);
    if target.trim_end_matches('/') != bios_settings && nic.is_none() {
        return messages::value_not_in_list(target, "TargetSettingsURI");
    }
    if cx.lc_restarting() {
        return messages::idrac_not_ready();
    }
    let committed = match nic {
        Some(fqdd) => network::commit_nic_job(cx, &fqdd),
        None => commit_config_job(cx),
    };
    match committed {
        Ok(location) => messages::ok_success().location(&location),
        Err(reply) => reply,
    }
}

/// What a Dell job view says (`Jobs/{id}`, and the task of the same id).
pub(crate) struct JobView<'a> {
    /// `Id`.
    pub(crate) id: &'a str,
    /// `Name`.
    pub(crate) name: String,
    /// `JobType`.
    pub(crate) job_type: &'static str,
    /// `JobState`.
    pub(crate) state: &'a str,
    /// `Message`.
    pub(crate) message: &'a str,
    /// `MessageId` (without the registry).
    pub(crate) message_id: &'a str,
    /// `PercentComplete`.
    pub(crate) percent: u8,
}

/// iDRAC's job document.
pub(crate) fn job_json(cx: &Ctx<'_>, view: &JobView<'_>) -> Value {
    json!({
        "@odata.id": format!("{}/{}", cx.layout.jobs_uri(), view.id),
        "@odata.type": "#DellJob.v1_5_0.DellJob",
        "Id": view.id,
        "Name": view.name,
        "Description": "Job Instance",
        "JobType": view.job_type,
        "JobState": view.state,
        "Message": view.message,
        "MessageId": view.message_id,
        "MessageArgs": [],
        "MessageArgs@odata.count": 0,
        "PercentComplete": view.percent,
        "StartTime": "TIME_NOW",
        "EndTime": "TIME_NA",
        "CompletionTime": null,
        "ActualRunningStartTime": null,
        "ActualRunningStopTime": null,
        "TargetSettingsURI": null,
    })
}

/// The DMTF task of a Dell job: its `TaskState` and `TaskStatus` given.
pub(crate) fn task_json(view: &JobView<'_>, state: &str, status: &str) -> Value {
    json!({
        "@odata.id": format!("/redfish/v1/TaskService/Tasks/{}", view.id),
        "@odata.type": "#Task.v1_4_3.Task",
        "Id": view.id,
        "Name": view.name,
        "Description": "Server Configuration and other Tasks running on iDRAC are listed here",
        "TaskState": state,
        "TaskStatus": status,
        "PercentComplete": view.percent,
        "Messages": [{
            "Message": view.message,
            "MessageId": format!("{}.{}", messages::IDRAC, view.message_id),
            "MessageArgs": [],
        }],
    })
}

/// A config job's view.
fn job_view(job: &Job) -> JobView<'_> {
    let (state, message, message_id, percent) = match job.state {
        JobState::Scheduled => ("Scheduled", "Task successfully scheduled.", "JCP001", 0),
        JobState::Running => ("Running", "Job in progress.", "PR20", 50),
        JobState::Completed => ("Completed", "Job completed successfully.", "PR19", 100),
        JobState::Failed => ("Failed", "Job failed.", "SYS051", 100),
    };
    let (name, job_type) = match &job.change {
        JobChange::Nic { fqdd, .. } => (format!("Configure: {fqdd}"), "NICConfiguration"),
        _ => ("ConfigBIOS:BIOS.Setup.1-1".to_owned(), "BIOSConfiguration"),
    };
    JobView {
        id: &job.id,
        name,
        job_type,
        state,
        message,
        message_id,
        percent,
    }
}

/// One job.
pub(crate) fn job(cx: &Ctx<'_>, id: &str) -> Reply {
    match cx.m.jobs.iter().find(|j| j.id == id) {
        Some(job) => Reply::resource(job_json(cx, &job_view(job))),
        None => super::dell_scp::job(cx, id)
            .unwrap_or_else(|| messages::not_found(&format!("{}/{id}", cx.layout.jobs_uri()))),
    }
}

/// What a queue deletion asks for.
enum Deletion<'a> {
    /// `JID_CLEARALL`.
    All,
    /// `JID_CLEARALL_FORCE`.
    Force,
    /// One job.
    One(&'a str),
}

fn delete(cx: &mut Ctx<'_>, what: &Deletion<'_>) -> Reply {
    match what {
        Deletion::All => {
            // A running job cannot be deleted without force.
            cx.m.jobs.retain(|j| j.state == JobState::Running);
            super::dell_scp::retain(cx, super::dell_scp::running);
            messages::ok_success()
        }
        Deletion::Force => {
            cx.m.jobs.clear();
            cx.b.scp_jobs.clear();
            cx.b.pending_bios = None;
            cx.b.pending_nic.clear();
            cx.b.pending_boot_order = None;
            let restart = cx.lab.config.model.bmc.lc_restart;
            cx.b.lc_ready_at = Some(cx.lab.clock.after(restart));
            messages::ok_success()
        }
        Deletion::One(id) if super::dell_scp::running(cx, id) => messages::job_running(id),
        Deletion::One(id) if super::dell_scp::job_ids(cx).iter().any(|j| j == id) => {
            super::dell_scp::retain(cx, |_, j| j != *id);
            messages::ok_success()
        }
        Deletion::One(id) => match cx.m.jobs.iter().position(|j| j.id == *id) {
            Some(i) if cx.m.jobs[i].state == JobState::Running => messages::job_running(id),
            Some(i) => {
                cx.m.jobs.remove(i);
                messages::ok_success()
            }
            None => messages::job_not_found(id),
        },
    }
}

fn deletion(id: &str) -> Deletion<'_> {
    match id {
        "JID_CLEARALL" => Deletion::All,
        "JID_CLEARALL_FORCE" => Deletion::Force,
        other => Deletion::One(other),
    }
}

/// DELETE one job (or `JID_CLEARALL` / `JID_CLEARALL_FORCE` as the id).
pub(crate) fn delete_job(cx: &mut Ctx<'_>, id: &str) -> Reply {
    let what = deletion(id);
    if let Deletion::One(one) = what
        && !cx.m.jobs.iter().any(|j| j.id == one)
        && !super::dell_scp::job_ids(cx).iter().any(|j| j == one)
    {
        return messages::not_found(&format!("{}/{one}", cx.layout.jobs_uri()));
    }
    delete(cx, &what)
}

/// `DellJobService`.
pub(crate) fn job_service(cx: &Ctx<'_>) -> Reply {
    let uri = cx.layout.job_service_uri();
    Reply::resource(json!({
        "@odata.id": uri,
        "@odata.type": "#DellJobService.v1_2_0.DellJobService",
        "Id": "DellJobService",
        "Name": "DellJobService",
        "Description": "The DellJobService resource provides some actions to support Job management functionality.",
        "Actions": {
            "#DellJobService.DeleteJobQueue": {
                "target": format!("{uri}/Actions/DellJobService.DeleteJobQueue"),
            },
        },
    }))
}

/// `DellJobService.DeleteJobQueue` with `JobID`.
pub(crate) fn delete_job_queue(cx: &mut Ctx<'_>) -> Reply {
    let body = match cx.body() {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let Some(id) = body.get("JobID").and_then(Value::as_str) else {
        return messages::action_parameter_missing("DeleteJobQueue", "JobID");
    };
    let id = id.to_owned();
    delete(cx, &deletion(&id))
}

/// `DellLCService`.
pub(crate) fn lc_service(cx: &Ctx<'_>) -> Reply {
    let uri = cx.layout.lc_service_uri();
    Reply::resource(json!({
        "@odata.id": uri,
        "@odata.type": "#DellLCService.v1_6_0.DellLCService",
        "Id": "DellLCService",
        "Name": "DellLCService",
        "Description": "The DellLCService resource provides some actions to support Lifecycle Controller functionality.",
        "Actions": {
            "#DellLCService.GetRemoteServicesAPIStatus": {
                "target": format!("{uri}/Actions/DellLCService.GetRemoteServicesAPIStatus"),
            },
            "#DellLCService.ExportServerScreenShot": {
                "target": format!("{uri}/Actions/DellLCService.ExportServerScreenShot"),
                "FileType@Redfish.AllowableValues": ["LastCrashScreenShot", "Preview", "ServerScreenShot"],
            },
        },
    }))
}

/// `DellLCService.GetRemoteServicesAPIStatus`: whether the Lifecycle Controller is ready.
pub(crate) fn lc_status(cx: &mut Ctx<'_>) -> Reply {
    let ready = if cx.lc_restarting() {
        "NotReady"
    } else {
        "Ready"
    };
    let server = match cx.m.phase {
        crate::machine::Phase::Off => "PoweredOff",
        crate::machine::Phase::Posting { .. } | crate::machine::Phase::ShuttingDown { .. } => {
            "InPOST"
        }
        _ => "OutOfPOST",
    };
    let mut body = messages::success_body();
    body["LCStatus"] = json!(ready);
    body["RTStatus"] = json!("Ready");
    body["ServerStatus"] = json!(server);
    body["Status"] = json!(ready);
    body["TelemetryStatus"] = json!("Ready");
    Reply::json(StatusCode::OK, body)
}

/// The lab's server screen: an 8x4 PNG (dark green), base64 as the iDRAC sends it.
pub(crate) const SCREENSHOT_PNG_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAECAIAAAA8r+mnAAAAEElEQVR4nGNgUGDAjqgnAQDIZAQB+j7RyQAAAABJRU5ErkJggg==";

/// `DellLCService.ExportServerScreenShot`: `FileType` one of the allowed values, the image
/// in `ServerScreenShotFile`; refused while the Lifecycle Controller restarts.
pub(crate) fn export_screenshot(cx: &mut Ctx<'_>) -> Reply {
    let body = match cx.body() {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    if let Some(key) = body.keys().find(|k| k.as_str() != "FileType") {
        return messages::property_unknown(key);
    }
    let Some(kind) = body.get("FileType").and_then(Value::as_str) else {
        return messages::property_missing("FileType");
    };
    if !["LastCrashScreenShot", "Preview", "ServerScreenShot"].contains(&kind) {
        return messages::value_not_in_list(kind, "FileType");
    }
    if cx.lc_restarting() {
        return messages::idrac_not_ready();
    }
    let mut reply = messages::success_body();
    reply["ServerScreenShotFile"] = json!(SCREENSHOT_PNG_BASE64);
    Reply::json(StatusCode::OK, reply)
}

/// `TaskService`: an iDRAC shows its jobs as DMTF tasks too.
pub(crate) fn task_service(_cx: &Ctx<'_>) -> Reply {
    Reply::resource(json!({
        "@odata.id": "/redfish/v1/TaskService",
        "@odata.type": "#TaskService.v1_2_0.TaskService",
        "Id": "TaskService",
        "Name": "Task Service",
        "Description": "Represents the properties for the Task Service",
        "ServiceEnabled": true,
        "CompletedTaskOverWritePolicy": "Oldest",
        "LifeCycleEventOnTaskStateChange": true,
        "Status": {"State": "Enabled", "Health": "OK"},
        "Tasks": link("/redfish/v1/TaskService/Tasks"),
    }))
}

/// `TaskService/Tasks`: the jobs, and the OS Deployment task while a network ISO is attached.
pub(crate) fn tasks(cx: &Ctx<'_>) -> Reply {
    let mut members: Vec<String> =
        cx.m.jobs
            .iter()
            .map(|j| j.id.clone())
            .chain(super::dell_scp::job_ids(cx))
            .map(|id| format!("/redfish/v1/TaskService/Tasks/{id}"))
            .collect();
    if super::dell_os_deploy::task_listed(cx) {
        members.push(format!(
            "/redfish/v1/TaskService/Tasks/{}",
            super::dell_os_deploy::TASK_ID
        ));
    }
    super::service::collection(
        "/redfish/v1/TaskService/Tasks",
        "TaskCollection",
        "Task Collection",
        &members,
    )
}

/// One job as a task.
pub(crate) fn task(cx: &Ctx<'_>, id: &str) -> Reply {
    if id == super::dell_os_deploy::TASK_ID
        && let Some(reply) = super::dell_os_deploy::task(cx)
    {
        return reply;
    }
    if let Some(reply) = super::dell_scp::task(cx, id) {
        return reply;
    }
    let Some(job) = cx.m.jobs.iter().find(|j| j.id == id) else {
        return messages::not_found(&format!("/redfish/v1/TaskService/Tasks/{id}"));
    };
    let state = match job.state {
        JobState::Scheduled => "Pending",
        JobState::Running => "Running",
        JobState::Completed => "Completed",
        JobState::Failed => "Exception",
    };
    let status = if job.state == JobState::Failed {
        "Critical"
    } else {
        "OK"
    };
    Reply::resource(task_json(&job_view(job), state, status))
}
