//! The OEM boot-order resources of HPE iLO and Lenovo XCC, two more views of the machine's
//! persistent order and of the order staged for its next POST (`Machine::pending_boot_order`,
//! which the DMTF settings object also shows and sets: the lab applies whichever was written
//! last).
//!
//! iLO: `Systems/1/Bios/Boot` (`HpeServerBootSettings`, linked from the BIOS's
//! `Oem.Hpe.Links.Boot`) lists `BootSources` and the `PersistentBootConfigOrder` of
//! structured boot strings; its `@Redfish.Settings` object `Bios/Boot/Settings` takes a new
//! `PersistentBootConfigOrder`, applied at the next POST. XCC: `Systems/1/Oem/Lenovo/BootSettings`
//! (`LenovoBootManagerCollection`, linked from the system's `Oem.Lenovo.BootSettings`) holds
//! `BootOrder.BootOrder` with `BootOrderCurrent`, `BootOrderNext` (writable, applied at the next
//! POST) and `BootOrderSupported`, devices named as their boot options' display names.

use serde_json::{Map, Value, json};

use super::dispatch::Ctx;
use super::messages;
use super::reply::Reply;
use super::service::{collection, link};
use super::system::{boot_option_names, boot_reference, done, hpe_description, order_devices};

/// XCC's one boot manager, the boot order.
pub(crate) const LENOVO_BOOT_ORDER: &str = "BootOrder.BootOrder";

/// `Systems/1/Bios/Boot`.
pub(crate) fn hpe_boot_uri(cx: &Ctx<'_>) -> String {
    format!("{}/Bios/Boot", cx.layout.system_uri())
}

/// `Systems/1/Oem/Lenovo/BootSettings`.
pub(crate) fn lenovo_boot_settings_uri(cx: &Ctx<'_>) -> String {
    format!("{}/Oem/Lenovo/BootSettings", cx.layout.system_uri())
}

/// The order the next POST applies: the staged one, else the current one.
fn next_order<'a>(cx: &'a Ctx<'_>) -> &'a [String] {
    cx.m.pending_boot_order
        .as_deref()
        .unwrap_or(&cx.m.boot_order)
}

/// iLO's structured boot string of a device is the lab's device id.
fn hpe_device(cx: &Ctx<'_>, structured: &str) -> Option<String> {
    cx.m.devices
        .iter()
        .find(|d| d.id == structured)
        .map(|d| d.id.clone())
}

/// iLO's server boot settings, current (`Bios/Boot`) or pending (`Bios/Boot/Settings`).
fn hpe_document(cx: &Ctx<'_>, pending: bool) -> Value {
    let uri = hpe_boot_uri(cx);
    let sources: Vec<Value> = cx
        .m
        .devices
        .iter()
        .map(|d| {
            let number = boot_reference(cx, &d.id)
                .map(|r| r.trim_start_matches("Boot").to_owned())
                .unwrap_or_default();
            json!({
                "BootOptionNumber": number,
                "BootString": hpe_description(d),
                "CorrelatableID": format!("{}/BootOptions/Boot{number}", cx.layout.system_uri()),
                "StructuredBootString": d.id,
                "UEFIDevicePath": format!("VenHw(lab,{})", d.id),
            })
        })
        .collect();
    let (id, order) = if pending {
        ("Settings", next_order(cx))
    } else {
        ("Boot", cx.m.boot_order.as_slice())
    };
    let mut body = json!({
        "@odata.id": if pending { format!("{uri}/Settings") } else { uri.clone() },
        "@odata.type": "#HpeServerBootSettings.v2_0_0.HpeServerBootSettings",
        "Id": id,
        "Name": if pending { "Boot Order Pending Settings" } else { "Boot Order Current Settings" },
        "BootSources": sources,
        "DefaultBootOrder": ["Cd", "Usb", "EmbeddedStorage", "PcieSlotStorage", "EmbeddedFlexLOM", "PcieSlotNic", "UefiShell"],
        "PersistentBootConfigOrder": order,
    });
    if !pending {
        body["@Redfish.Settings"] = json!({
            "@odata.type": "#Settings.v1_3_5.Settings",
            "SettingsObject": link(&format!("{uri}/Settings")),
            "SupportedApplyTimes": ["OnReset"],
        });
    }
    body
}

/// `Systems/1/Bios/Boot`.
pub(crate) fn hpe_boot(cx: &Ctx<'_>) -> Reply {
    Reply::resource(hpe_document(cx, false))
}

/// `Systems/1/Bios/Boot/Settings`.
pub(crate) fn hpe_boot_settings(cx: &Ctx<'_>) -> Reply {
    Reply::resource(hpe_document(cx, true))
}

/// PATCH `Bios/Boot/Settings`: `PersistentBootConfigOrder`, every structured boot string known
/// and none twice, staged for the next POST.
pub(crate) fn patch_hpe_boot_settings(cx: &mut Ctx<'_>) -> Reply {
    stage(cx, "PersistentBootConfigOrder", hpe_device)
}

/// XCC's name of a device, as `BootOrderSupported` lists it.
fn lenovo_name(cx: &Ctx<'_>, device: &str) -> Option<String> {
    let d = cx.m.devices.iter().find(|d| d.id == device)?;
    Some(boot_option_names(cx, d).1)
}

fn lenovo_names(cx: &Ctx<'_>, devices: &[String]) -> Vec<String> {
    devices.iter().filter_map(|d| lenovo_name(cx, d)).collect()
}

/// The device XCC names `name`.
fn lenovo_device(cx: &Ctx<'_>, name: &str) -> Option<String> {
    cx.m.devices
        .iter()
        .find(|d| boot_option_names(cx, d).1 == name)
        .map(|d| d.id.clone())
}

/// `Systems/1/Oem/Lenovo/BootSettings`.
pub(crate) fn lenovo_boot_settings(cx: &Ctx<'_>) -> Reply {
    let uri = lenovo_boot_settings_uri(cx);
    collection(
        &uri,
        "LenovoBootManagerCollection",
        "Boot Settings",
        &[format!("{uri}/{LENOVO_BOOT_ORDER}")],
    )
}

/// `Systems/1/Oem/Lenovo/BootSettings/BootOrder.BootOrder`.
pub(crate) fn lenovo_boot_order(cx: &Ctx<'_>) -> Reply {
    let all: Vec<String> = cx.m.devices.iter().map(|d| d.id.clone()).collect();
    Reply::resource(json!({
        "@odata.id": format!("{}/{LENOVO_BOOT_ORDER}", lenovo_boot_settings_uri(cx)),
        "@odata.type": "#LenovoBootManager.v1_0_0.LenovoBootManager",
        "Id": LENOVO_BOOT_ORDER,
        "Name": "Boot Order",
        "BootOrderCurrent": lenovo_names(cx, &cx.m.boot_order),
        "BootOrderNext": lenovo_names(cx, next_order(cx)),
        "BootOrderSupported": lenovo_names(cx, &all),
    }))
}

/// PATCH `BootOrder.BootOrder`: `BootOrderNext`, every name supported and none twice, staged
/// for the next POST.
pub(crate) fn patch_lenovo_boot_order(cx: &mut Ctx<'_>) -> Reply {
    stage(cx, "BootOrderNext", lenovo_device)
}

/// A PATCH whose one writable property `property` is a boot order of names `device` resolves.
fn stage(cx: &mut Ctx<'_>, property: &str, device: fn(&Ctx<'_>, &str) -> Option<String>) -> Reply {
    let body: Map<String, Value> = match cx.body() {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let mut staged = None;
    for (key, value) in &body {
        if key != property {
            return messages::property_not_writable(key);
        }
        match order_devices(cx, value, property, device) {
            Ok(devices) => staged = Some(devices),
            Err(reply) => return reply,
        }
    }
    if let Some(devices) = staged {
        cx.m.pending_boot_order = Some(devices);
    }
    done(cx)
}
