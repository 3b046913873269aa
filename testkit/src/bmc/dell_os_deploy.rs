//! Dell's OS Deployment service (`DellOSDeploymentService`, iDRAC9 under
//! `/redfish/v1/Dell/Systems/…`, iDRAC10 under the system's `Oem/Dell`): a network ISO on an NFS
//! or CIFS share attached as the host's CD (`ConnectNetworkISOImage`, or `BootToNetworkISO`
//! which also boots it once), its status (`GetAttachStatus`) and `DetachISOImage`.
//!
//! The other flavours have no such service: the router finds no resource there, so they answer
//! 404 as a real BMC does for a path it does not serve. An attach answers 202 with the
//! `OSDeployment` task in `Location`, which `TaskService/Tasks` shows (running, status OK) while
//! the image stays attached. One image at a time: a second attach is refused until a detach,
//! and a detach with nothing attached is refused.

use http::StatusCode;
use serde_json::{Map, Value, json};

use super::dispatch::Ctx;
use super::messages;
use super::reply::Reply;
use super::state::NetworkIso;

/// An action of `DellOSDeploymentService`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OsdAction {
    /// `GetAttachStatus`.
    GetAttachStatus,
    /// `ConnectNetworkISOImage`.
    ConnectNetworkIsoImage,
    /// `BootToNetworkISO`.
    BootToNetworkIso,
    /// `DetachISOImage`.
    DetachIsoImage,
}

impl OsdAction {
    const EVERY: [Self; 4] = [
        Self::GetAttachStatus,
        Self::ConnectNetworkIsoImage,
        Self::BootToNetworkIso,
        Self::DetachIsoImage,
    ];

    /// The action's name after `DellOSDeploymentService.`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::GetAttachStatus => "GetAttachStatus",
            Self::ConnectNetworkIsoImage => "ConnectNetworkISOImage",
            Self::BootToNetworkIso => "BootToNetworkISO",
            Self::DetachIsoImage => "DetachISOImage",
        }
    }

    /// The action named `name` (without the service's prefix).
    pub(crate) fn parse(name: &str) -> Option<Self> {
        Self::EVERY.into_iter().find(|a| a.name() == name)
    }
}

/// The id of the task an attach starts (`/redfish/v1/TaskService/Tasks/OSDeployment`).
pub(crate) const TASK_ID: &str = "OSDeployment";

/// The share types the service accepts.
const SHARE_TYPES: [&str; 2] = ["NFS", "CIFS"];

/// The parameters an attach accepts (the first four are required; CIFS also needs `UserName`).
const PARAMETERS: [&str; 10] = [
    "IPAddress",
    "ShareName",
    "ShareType",
    "ImageName",
    "UserName",
    "Password",
    "Workgroup",
    "ExposeDuration",
    "HashType",
    "HashValue",
];

/// `DellOSDeploymentService`.
pub(crate) fn service(cx: &Ctx<'_>) -> Reply {
    let Some(uri) = cx.layout.os_deployment_uri() else {
        return messages::not_found(&cx.request.path);
    };
    let mut actions = Map::new();
    for action in OsdAction::EVERY {
        let mut entry = json!({
            "target": format!("{uri}/Actions/DellOSDeploymentService.{}", action.name()),
        });
        if matches!(
            action,
            OsdAction::ConnectNetworkIsoImage | OsdAction::BootToNetworkIso
        ) {
            entry["ShareType@Redfish.AllowableValues"] = json!(SHARE_TYPES);
        }
        actions.insert(format!("#DellOSDeploymentService.{}", action.name()), entry);
    }
    Reply::resource(json!({
        "@odata.id": uri,
        "@odata.type": "#DellOSDeploymentService.v1_1_0.DellOSDeploymentService",
        "Id": "DellOSDeploymentService",
        "Name": "DellOSDeploymentService",
        "Description": "The DellOSDeploymentService resource provides some actions to support OS deployment.",
        "Actions": actions,
    }))
}

/// Runs one action (POST).
pub(crate) fn act(cx: &mut Ctx<'_>, action: OsdAction) -> Reply {
    let body = match cx.body() {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    if cx.lc_restarting() {
        return messages::idrac_not_ready();
    }
    match action {
        OsdAction::GetAttachStatus => {
            let attached = if cx.b.network_iso.is_some() {
                "Attached"
            } else {
                "NotAttached"
            };
            let mut reply = messages::success_body();
            reply["ISOAttachStatus"] = json!(attached);
            reply["DriversAttachStatus"] = json!("NotAttached");
            Reply::json(StatusCode::OK, reply)
        }
        OsdAction::ConnectNetworkIsoImage | OsdAction::BootToNetworkIso => {
            let iso = match network_iso(&body, action) {
                Ok(iso) => iso,
                Err(reply) => return reply,
            };
            if cx.b.network_iso.is_some() {
                return messages::general_error(
                    "An ISO image is already attached. Detach it (DetachISOImage) and retry.",
                );
            }
            cx.b.network_iso = Some(Box::new(iso));
            Reply::empty(StatusCode::ACCEPTED)
                .location(&format!("/redfish/v1/TaskService/Tasks/{TASK_ID}"))
        }
        OsdAction::DetachIsoImage => {
            if cx.b.network_iso.take().is_none() {
                return messages::general_error("No ISO image is attached.");
            }
            messages::ok_success()
        }
    }
}

/// The `OSDeployment` task while an image is attached.
pub(crate) fn task(cx: &Ctx<'_>) -> Option<Reply> {
    let iso = cx.b.network_iso.as_deref()?;
    let uri = format!("/redfish/v1/TaskService/Tasks/{TASK_ID}");
    let what = if iso.boot_once {
        "boot to network ISO"
    } else {
        "connect network ISO"
    };
    Some(Reply::resource(json!({
        "@odata.id": uri,
        "@odata.type": "#Task.v1_4_3.Task",
        "Id": TASK_ID,
        "Name": "OS Deployment",
        "Description": "Server Configuration and other Tasks running on iDRAC are listed here",
        "TaskState": "Running",
        "TaskStatus": "OK",
        "Messages": [{
            "Message": format!("The {what} operation is running: {} from {}:{}.", iso.image_name, iso.ip_address, iso.share_name),
            "MessageId": format!("{}.OSD1", messages::IDRAC),
            "MessageArgs": [],
        }],
    })))
}

/// Whether the `OSDeployment` task exists (an image is attached).
pub(crate) fn task_listed(cx: &Ctx<'_>) -> bool {
    cx.b.network_iso.is_some()
}

/// Checks an attach's parameters as the service does: no unknown one, the required ones, a
/// known share type, and values of the right shape (a host name or address, an absolute share
/// path for NFS, an `.iso` file name).
fn network_iso(body: &Map<String, Value>, action: OsdAction) -> Result<NetworkIso, Reply> {
    let name = action.name();
    if let Some(key) = body.keys().find(|k| !PARAMETERS.contains(&k.as_str())) {
        return Err(messages::property_unknown(key));
    }
    let text = |parameter: &str| -> Result<String, Reply> {
        match body.get(parameter) {
            None | Some(Value::Null) => Err(messages::action_parameter_missing(name, parameter)),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(messages::value_type_error(&other.to_string(), parameter)),
        }
    };
    let ip_address = text("IPAddress")?;
    let share_name = text("ShareName")?;
    let share_type = text("ShareType")?;
    let image_name = text("ImageName")?;
    if !SHARE_TYPES.contains(&share_type.as_str()) {
        return Err(messages::action_value_not_in_list(
            &share_type,
            "ShareType",
            name,
        ));
    }
    if share_type == "CIFS" {
        text("UserName")?;
    }
    let host_ok = !ip_address.is_empty()
        && ip_address
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if !host_ok {
        return Err(messages::action_value_format_error(
            &ip_address,
            "IPAddress",
            name,
        ));
    }
    let share_ok = !share_name.is_empty()
        && !share_name.chars().any(char::is_whitespace)
        && (share_type != "NFS" || share_name.starts_with('/'));
    if !share_ok {
        return Err(messages::action_value_format_error(
            &share_name,
            "ShareName",
            name,
        ));
    }
    let stem = image_name
        .len()
        .checked_sub(4)
        .and_then(|at| image_name.get(..at));
    let image_ok = !image_name.contains('/')
        && !image_name.chars().any(char::is_whitespace)
        && image_name.to_ascii_lowercase().ends_with(".iso")
        && stem.is_some_and(|s| !s.is_empty());
    if !image_ok {
        return Err(messages::action_value_format_error(
            &image_name,
            "ImageName",
            name,
        ));
    }
    Ok(NetworkIso {
        share_type,
        ip_address,
        share_name,
        image_name,
        boot_once: action == OsdAction::BootToNetworkIso,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attach(body: &Value) -> Result<NetworkIso, StatusCode> {
        let Value::Object(map) = body else {
            panic!("an object")
        };
        network_iso(map, OsdAction::BootToNetworkIso).map_err(|r| r.status)
    }

    #[test]
    fn an_nfs_attach_needs_a_host_an_absolute_share_and_an_iso() {
        let good = json!({
            "ShareType": "NFS", "IPAddress": "nfs-1.example.com",
            "ShareName": "/exports/isos/", "ImageName": "rhel-9.iso",
        });
        let iso = attach(&good).expect("valid");
        assert_eq!(iso.share_name, "/exports/isos/");
        assert!(iso.boot_once);
        for (key, value) in [
            ("IPAddress", json!("")),
            ("IPAddress", json!("nfs 1")),
            ("ShareName", json!("exports/isos/")),
            ("ImageName", json!("")),
            ("ImageName", json!(".iso")),
            ("ImageName", json!("rhel.img")),
            ("ImageName", json!("a/rhel.iso")),
            ("ShareType", json!("HTTP")),
            ("ImageName", json!(7)),
            ("Bogus", json!("x")),
        ] {
            let mut bad = good.clone();
            bad[key] = value.clone();
            assert_eq!(
                attach(&bad).err(),
                Some(StatusCode::BAD_REQUEST),
                "{key}={value}"
            );
        }
        let mut missing = good.clone();
        missing.as_object_mut().expect("object").remove("ImageName");
        assert_eq!(attach(&missing).err(), Some(StatusCode::BAD_REQUEST));
        let mut cifs = good;
        cifs["ShareType"] = json!("CIFS");
        cifs["ShareName"] = json!("isos");
        assert_eq!(attach(&cifs).err(), Some(StatusCode::BAD_REQUEST));
        cifs["UserName"] = json!("deploy");
        assert!(attach(&cifs).is_ok());
    }

    #[test]
    fn actions_are_named_as_the_service_names_them() {
        for action in OsdAction::EVERY {
            assert_eq!(OsdAction::parse(action.name()), Some(action));
        }
        assert_eq!(OsdAction::parse("BootToNetworkIso"), None);
    }
}
