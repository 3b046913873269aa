//! Virtual media: the DMTF collection with `InsertMedia`/`EjectMedia` (iDRAC9 under the
//! manager, iDRAC10 under the system, the generic flavour under the manager), and Supermicro's
//! `Managers/1/VM1` with its `CfgCD` configuration and `IsoConfig.Mount`/`UnMount` actions.
//!
//! The machine has one virtual CD ([`crate::machine::Machine::virtual_media`]); a boot override
//! to `Cd` (Supermicro: `UsbCd`) boots from it when an image is in.

use http::StatusCode;
use serde_json::{Value, json};

use super::dispatch::Ctx;
use super::messages;
use super::reply::Reply;
use super::service::link;
use super::state::MediaConfig;
use crate::machine::Flavor;

/// The virtual media collection (Supermicro `VM1` lists the CD only while one is mounted).
pub(crate) fn collection(cx: &Ctx<'_>) -> Reply {
    let uri = cx.layout.vmedia_uri();
    let smc = cx.flavor() == Flavor::Supermicro;
    let members: Vec<Value> = cx
        .layout
        .vmedia_devices()
        .iter()
        .filter(|(_, cd)| !smc || (*cd && cx.m.virtual_media.is_some()))
        .map(|(id, _)| link(&format!("{uri}/{id}")))
        .collect();
    let mut body = json!({
        "@odata.id": uri,
        "@odata.type": "#VirtualMediaCollection.VirtualMediaCollection",
        "Name": "Virtual Media Collection",
        "Description": "Collection of Virtual Media",
        "Members@odata.count": members.len(),
        "Members": members,
    });
    if smc {
        body["Oem"] = json!({
            "Supermicro": {"VirtualMediaConfig": link(&cx.layout.smc_media_config_uri())}
        });
    }
    Reply::resource(body)
}

/// Whether `id` is a device of this flavour, and whether it is the CD.
fn find(cx: &Ctx<'_>, id: &str) -> Option<bool> {
    cx.layout
        .vmedia_devices()
        .iter()
        .find(|(d, _)| *d == id)
        .map(|(_, cd)| *cd)
}

/// One virtual media device.
pub(crate) fn device(cx: &Ctx<'_>, id: &str) -> Reply {
    let uri = format!("{}/{id}", cx.layout.vmedia_uri());
    let smc = cx.flavor() == Flavor::Supermicro;
    let Some(cd) = find(cx, id).filter(|cd| !smc || (*cd && cx.m.virtual_media.is_some())) else {
        return messages::not_found(&uri);
    };
    let image = if cd { cx.m.virtual_media.clone() } else { None };
    let image_name = image
        .as_deref()
        .map(|i| i.rsplit('/').next().unwrap_or(i).to_owned());
    let inserted = image.is_some();
    let mut body = json!({
        "@odata.id": uri,
        "@odata.type": "#VirtualMedia.v1_6_0.VirtualMedia",
        "Id": id,
        "Name": if cd { "Virtual CD" } else { "Virtual Removable Disk" },
        "MediaTypes": if cd { json!(["CD", "DVD"]) } else { json!(["USBStick"]) },
        "Image": image,
        "ImageName": image_name,
        "Inserted": inserted,
        "WriteProtected": true,
        "ConnectedVia": if inserted { "URI" } else { "NotConnected" },
    });
    if !smc {
        body["Actions"] = json!({
            "#VirtualMedia.InsertMedia": {
                "target": format!("{uri}/Actions/VirtualMedia.InsertMedia"),
            },
            "#VirtualMedia.EjectMedia": {
                "target": format!("{uri}/Actions/VirtualMedia.EjectMedia"),
            },
        });
    }
    Reply::resource(body)
}

/// Whether an image URI is one a BMC would fetch.
fn is_image_uri(uri: &str) -> bool {
    ["http://", "https://", "nfs://", "cifs://", "smb://"]
        .iter()
        .any(|scheme| uri.starts_with(scheme))
        && uri.len() > 8
}

/// `VirtualMedia.InsertMedia` (204).
pub(crate) fn insert(cx: &mut Ctx<'_>, id: &str) -> Reply {
    let Some(cd) = find(cx, id) else {
        return messages::not_found(&format!("{}/{id}", cx.layout.vmedia_uri()));
    };
    let body = match cx.body() {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let action = "VirtualMedia.InsertMedia";
    let Some(image) = body.get("Image") else {
        return messages::action_parameter_missing(action, "Image");
    };
    let image = image.as_str().unwrap_or_default();
    if !is_image_uri(image) {
        return messages::action_value_not_in_list(image, "Image", action);
    }
    if !cd {
        return messages::general_error("This lab's virtual removable disk takes no images.");
    }
    if cx.m.virtual_media.is_some() {
        return messages::media_in_use(cx.dell());
    }
    cx.m.virtual_media = Some(image.to_owned());
    Reply::empty(StatusCode::NO_CONTENT)
}

/// `VirtualMedia.EjectMedia` (204).
pub(crate) fn eject(cx: &mut Ctx<'_>, id: &str) -> Reply {
    let Some(cd) = find(cx, id) else {
        return messages::not_found(&format!("{}/{id}", cx.layout.vmedia_uri()));
    };
    if !cd || cx.m.virtual_media.is_none() {
        return messages::media_not_inserted(cx.dell());
    }
    cx.m.virtual_media = None;
    Reply::empty(StatusCode::NO_CONTENT)
}

/// Supermicro `VM1/CfgCD`.
pub(crate) fn smc_config(cx: &Ctx<'_>) -> Reply {
    let uri = cx.layout.smc_media_config_uri();
    let config = cx.b.media_config.as_deref().cloned().unwrap_or_default();
    Reply::resource(json!({
        "@odata.id": uri,
        "@odata.type": "#SmcVirtualMediaConfig.v1_0_0.SmcVirtualMediaConfig",
        "Id": "CfgCD",
        "Name": "Virtual Media Config",
        "Host": config.host,
        "Path": config.path,
        "Username": config.username,
        "Password": "",
        "Actions": {
            "#IsoConfig.Mount": {"target": format!("{uri}/Actions/IsoConfig.Mount")},
            "#IsoConfig.UnMount": {"target": format!("{uri}/Actions/IsoConfig.UnMount")},
        },
    }))
}

/// PATCH Supermicro `VM1/CfgCD` (`Host`, `Path`, `Username`, `Password`).
pub(crate) fn patch_smc_config(cx: &mut Ctx<'_>) -> Reply {
    let body = match cx.body() {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let mut config = cx.b.media_config.as_deref().cloned().unwrap_or_default();
    for (key, value) in &body {
        let Some(text) = value.as_str() else {
            return messages::value_type_error(&value.to_string(), key);
        };
        match key.as_str() {
            "Host" => config.host = text.to_owned(),
            "Path" => config.path = text.to_owned(),
            "Username" => config.username = text.to_owned(),
            "Password" => {}
            _ => return messages::property_unknown(key),
        }
    }
    cx.b.media_config = (config != MediaConfig::default()).then(|| Box::new(config));
    messages::ok_success()
}

/// Supermicro `IsoConfig.Mount`: mounts `Host` + `Path`.
pub(crate) fn smc_mount(cx: &mut Ctx<'_>) -> Reply {
    let Some(config) = cx.b.media_config.as_deref() else {
        return messages::general_error("Set Host and Path in VirtualMediaConfig before mounting.");
    };
    let image = format!("{}{}", config.host.trim_end_matches('/'), config.path);
    if config.host.is_empty() || config.path.is_empty() || !is_image_uri(&image) {
        return messages::general_error("Set Host and Path in VirtualMediaConfig before mounting.");
    }
    if cx.m.virtual_media.is_some() {
        return messages::media_in_use(false);
    }
    cx.m.virtual_media = Some(image);
    messages::ok_success()
}

/// Supermicro `IsoConfig.UnMount`.
pub(crate) fn smc_unmount(cx: &mut Ctx<'_>) -> Reply {
    if cx.m.virtual_media.take().is_none() {
        return messages::general_error("No virtual media is mounted.");
    }
    messages::ok_success()
}
