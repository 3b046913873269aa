//! The ComputerSystem: power state, `ComputerSystem.Reset` with its allowable values, the boot
//! override (`BootSourceOverrideTarget`/`Enabled`, consumed by the next boot when `Once`), the
//! DMTF persistent order (`Boot.BootOrder` of `BootOptions`) and `BootNext`.
//!
//! Flavour differences follow real BMCs: iDRACs answer 409 to a reset that the power state makes
//! pointless and keep the persistent order in their `BootSources`; iDRAC10 refuses `Boot` on the
//! system (`PropertyNotWritable`) and takes it on `Systems/{id}/Settings`; Supermicro accepts
//! `UsbCd` and answers 200 with a message; the generic flavour answers 204. HPE iLO and Lenovo
//! XCC refuse `Boot.BootOrder` on the system and stage it in the settings object its
//! `@Redfish.Settings` names (applied at the next POST); iLO names its boot options by
//! `Oem.Hpe.StructuredBootString`, its display names being the device's description. iLO lists no
//! `PowerCycle` reset; its own power cycle is `ColdBoot` in the system's OEM action
//! `HpeComputerSystemExt.SystemReset` (applied as `PowerCycle`; what iLO does with it on a server
//! that is off is not documented, so it powers on as the lab's `PowerCycle` does). Where the lab
//! differs from iLO: the same action's `AuxCycle` (an auxiliary, AC, power cycle) is listed but
//! refused with a 400, the lab modelling no auxiliary power; and by default the action is listed
//! where DSP0266 puts OEM actions (`Actions.Oem."#HpeComputerSystemExt.SystemReset"`), not
//! under `Actions.Oem.Hpe` as iLO 5 lists it, which DMTF's validator fails
//! (`LabConfig::oem_actions_place` serves iLO's own; both targets are served).

use http::StatusCode;
use serde_json::{Map, Value, json};

use super::dispatch::Ctx;
use super::inventory::{cpu_of, memory_gib};
use super::messages;
use super::reply::Reply;
use super::service::{collection, link, manufacturer, serial, uuid};
use crate::lab::OemActionsPlace;
use crate::machine::{
    BootDevice, DeviceKind, Flavor, OverrideEnabled, OverrideTarget, PowerState, ResetRefused,
    ResetType,
};

/// The reset types each flavour lists in `ResetType@Redfish.AllowableValues`.
pub(crate) fn reset_types(flavor: Flavor) -> &'static [&'static str] {
    match flavor {
        Flavor::Dell | Flavor::Idrac10 => &[
            "On",
            "ForceOff",
            "ForceRestart",
            "GracefulRestart",
            "GracefulShutdown",
            "PushPowerButton",
            "Nmi",
            "PowerCycle",
        ],
        Flavor::Supermicro => &[
            "On",
            "ForceOff",
            "GracefulShutdown",
            "GracefulRestart",
            "ForceRestart",
            "Nmi",
            "ForceOn",
        ],
        Flavor::Generic => &[
            "On",
            "ForceOn",
            "ForceOff",
            "GracefulShutdown",
            "GracefulRestart",
            "ForceRestart",
            "Nmi",
            "PushPowerButton",
            "PowerCycle",
        ],
        Flavor::Hpe => &[
            "On",
            "ForceOff",
            "GracefulShutdown",
            "ForceRestart",
            "Nmi",
            "PushPowerButton",
            "GracefulRestart",
        ],
        Flavor::Lenovo => &[
            "On",
            "Nmi",
            "GracefulShutdown",
            "GracefulRestart",
            "ForceOn",
            "ForceOff",
            "ForceRestart",
        ],
    }
}

/// The boot override targets each flavour accepts.
fn boot_targets(flavor: Flavor) -> &'static [&'static str] {
    match flavor {
        Flavor::Dell | Flavor::Idrac10 => &["None", "Pxe", "Cd", "Hdd", "BiosSetup"],
        Flavor::Supermicro => &[
            "None",
            "Pxe",
            "Hdd",
            "Cd",
            "UsbCd",
            "BiosSetup",
            "UefiBootNext",
        ],
        Flavor::Generic | Flavor::Hpe | Flavor::Lenovo => {
            &["None", "Pxe", "Hdd", "Cd", "BiosSetup", "UefiBootNext"]
        }
    }
}

fn target_name(target: OverrideTarget) -> &'static str {
    match target {
        OverrideTarget::None => "None",
        OverrideTarget::Pxe => "Pxe",
        OverrideTarget::Hdd => "Hdd",
        OverrideTarget::Cd => "Cd",
        OverrideTarget::UsbCd => "UsbCd",
        OverrideTarget::BiosSetup => "BiosSetup",
    }
}

fn enabled_name(enabled: OverrideEnabled) -> &'static str {
    match enabled {
        OverrideEnabled::Disabled => "Disabled",
        OverrideEnabled::Once => "Once",
        OverrideEnabled::Continuous => "Continuous",
    }
}

/// The `BootOptionReference` of a device (`Boot0001` for the first device).
pub(crate) fn boot_reference(cx: &Ctx<'_>, device: &str) -> Option<String> {
    cx.m.devices
        .iter()
        .position(|d| d.id == device)
        .map(|i| format!("Boot{:04X}", i + 1))
}

/// The device a `BootOptionReference` names.
pub(crate) fn device_of_reference(cx: &Ctx<'_>, reference: &str) -> Option<String> {
    let n = usize::from_str_radix(reference.strip_prefix("Boot")?, 16).ok()?;
    cx.m.devices.get(n.checked_sub(1)?).map(|d| d.id.clone())
}

/// Whether a one-time boot to a named device is pending (Dell attribute pair or `BootNext`).
fn boot_next_device(cx: &Ctx<'_>) -> Option<String> {
    let mode = cx.m.bios.get("OneTimeBootMode").and_then(Value::as_str)?;
    if mode == "Disabled" {
        return None;
    }
    cx.m.bios
        .get("OneTimeBootSeqDev")
        .or_else(|| cx.m.bios.get("OneTimeUefiBootSeqDev"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// `Legacy` or `UEFI`, from the BIOS `BootMode`.
fn boot_mode(cx: &Ctx<'_>) -> &'static str {
    match cx.m.bios.get("BootMode").and_then(Value::as_str) {
        Some("Uefi") => "UEFI",
        _ => "Legacy",
    }
}

/// The `Boot` object as the system shows it.
fn boot_object(cx: &Ctx<'_>, with_allowable: bool) -> Value {
    let flavor = cx.flavor();
    let mut boot = Map::new();
    let next = (!cx.dell()).then(|| boot_next_device(cx)).flatten();
    let (target, enabled) = match &next {
        Some(_) => ("UefiBootNext", "Once"),
        None => (
            target_name(cx.m.override_target),
            enabled_name(cx.m.override_enabled),
        ),
    };
    boot.insert("BootSourceOverrideEnabled".into(), json!(enabled));
    boot.insert("BootSourceOverrideTarget".into(), json!(target));
    if with_allowable {
        boot.insert(
            "BootSourceOverrideTarget@Redfish.AllowableValues".into(),
            json!(boot_targets(flavor)),
        );
    }
    boot.insert("BootSourceOverrideMode".into(), json!(boot_mode(cx)));
    if !cx.dell() {
        let order: Vec<String> =
            cx.m.boot_order
                .iter()
                .filter_map(|d| boot_reference(cx, d))
                .collect();
        boot.insert("BootOrder".into(), json!(order));
        boot.insert(
            "BootOptions".into(),
            link(&format!("{}/BootOptions", cx.layout.system_uri())),
        );
        let next_ref = next
            .and_then(|d| boot_reference(cx, &d))
            .unwrap_or_default();
        boot.insert("BootNext".into(), json!(next_ref));
    }
    Value::Object(boot)
}

/// `Systems`.
pub(crate) fn systems(cx: &Ctx<'_>) -> Reply {
    collection(
        "/redfish/v1/Systems",
        "ComputerSystemCollection",
        "Computer System Collection",
        &[cx.layout.system_uri()],
    )
}

/// The system.
pub(crate) fn system(cx: &Ctx<'_>) -> Reply {
    let layout = cx.layout;
    let uri = layout.system_uri();
    let power = match cx.m.phase {
        crate::machine::Phase::Off => PowerState::Off,
        _ => PowerState::On,
    };
    let cpu = cpu_of(&cx.m.model);
    let idrac10 = cx.flavor() == Flavor::Idrac10;
    let mut body = json!({
        "@odata.id": uri,
        "@odata.type": "#ComputerSystem.v1_20_0.ComputerSystem",
        "Id": layout.system,
        "Name": "System",
        "Description": "Computer System which represents a machine (physical or virtual) and the local resources such as memory, cpu and other devices that can be accessed from that machine.",
        "SystemType": "Physical",
        "Manufacturer": manufacturer(cx.flavor()),
        "Model": model_name(cx),
        "SKU": serial(cx),
        "SerialNumber": serial(cx),
        "AssetTag": "",
        "UUID": uuid(cx, 0x5157),
        "HostName": cx.m.name,
        "BiosVersion": "2.19.1",
        "PowerState": match power { PowerState::On => "On", PowerState::Off => "Off" },
        "BootProgress": {"LastState": cx.m.boot_progress()},
        "Status": {"State": "Enabled", "Health": "OK", "HealthRollup": "OK"},
        "ProcessorSummary": {
            "Count": 2,
            "LogicalProcessorCount": cpu.threads * 2,
            "Model": cpu.model,
        },
        "MemorySummary": {
            "TotalSystemMemoryGiB": memory_gib(),
            "MemoryMirroring": "System",
        },
        "Boot": boot_object(cx, !idrac10),
        "Bios": link(&format!("{uri}/Bios")),
        "Processors": link(&format!("{uri}/Processors")),
        "Memory": link(&format!("{uri}/Memory")),
        "EthernetInterfaces": link(&format!("{uri}/EthernetInterfaces")),
        "Links": {
            "Chassis": [link(&layout.chassis_uri())],
            "ManagedBy": [link(&layout.manager_uri())],
        },
        "Actions": {
            "#ComputerSystem.Reset": {
                "target": format!("{uri}/Actions/ComputerSystem.Reset"),
                "ResetType@Redfish.AllowableValues": reset_types(cx.flavor()),
            }
        },
    });
    if cx.flavor() == Flavor::Hpe {
        let (place, key) = match cx.lab.config.oem_actions_place {
            OemActionsPlace::Dsp0266 => ("Oem", None),
            OemActionsPlace::VendorKey => ("Oem/Hpe", Some("Hpe")),
        };
        let action = json!({HPE_SYSTEM_RESET: {
            "target": format!("{uri}/Actions/{place}/HpeComputerSystemExt.SystemReset"),
            "ResetType@Redfish.AllowableValues": [COLD_BOOT, AUX_CYCLE],
        }});
        body["Actions"]["Oem"] = match key {
            Some(key) => json!({key: action}),
            None => action,
        };
    }
    if let Some(settings) = layout.system_settings_uri() {
        let applies = if idrac10 {
            json!(["Immediate", "OnReset"])
        } else {
            json!(["OnReset"])
        };
        body["@Redfish.Settings"] = json!({
            "@odata.type": "#Settings.v1_3_5.Settings",
            "SettingsObject": link(&settings),
            "SupportedApplyTimes": applies,
        });
    }
    match cx.flavor() {
        Flavor::Hpe => {
            body["Oem"] = json!({"Hpe": {
                "PostState": if power == PowerState::On { "FinishedPost" } else { "PowerOff" },
                "PowerRegulatorMode": "Dynamic",
            }});
        }
        Flavor::Lenovo => {
            body["Oem"] = json!({"Lenovo": {
                "@odata.type": "#LenovoComputerSystem.v1_0_0.LenovoSystemProperties",
                "FrontPanelUSB": {"PortSwitchingTo": "BMC"},
                "BootSettings": link(&super::vendor_boot::lenovo_boot_settings_uri(cx)),
            }});
        }
        _ => {}
    }
    if matches!(cx.flavor(), Flavor::Idrac10 | Flavor::Generic)
        && cx.lab.config.virtual_media_link == crate::lab::VirtualMediaLink::Property
    {
        body["VirtualMedia"] = link(&layout.vmedia_uri());
    }
    Reply::resource(body)
}

/// The product name a flavour shows for the host's model.
fn model_name(cx: &Ctx<'_>) -> String {
    match cx.flavor() {
        Flavor::Dell | Flavor::Idrac10 => format!("PowerEdge {}", cx.m.model.to_uppercase()),
        Flavor::Supermicro => format!("SYS-{}U-TNR", cx.m.model.to_uppercase()),
        Flavor::Generic => "Contoso Server 3000".to_owned(),
        Flavor::Hpe => format!("ProLiant {} Gen10", cx.m.model.to_uppercase()),
        Flavor::Lenovo => format!("ThinkSystem {}", cx.m.model.to_uppercase()),
    }
}

/// The system's settings object: iDRAC10's `Systems/{id}/Settings` (where the boot override is
/// written); HPE's `Systems/1/Settings` and Lenovo's `Systems/1/Pending`, whose `Boot.BootOrder`
/// is the order staged for the next POST (the current one when nothing is staged).
pub(crate) fn system_settings(cx: &Ctx<'_>) -> Reply {
    let Some(uri) = cx.layout.system_settings_uri() else {
        return messages::not_found(&cx.layout.system_uri());
    };
    let id = uri.rsplit('/').next().unwrap_or("Settings").to_owned();
    let boot = if cx.flavor().stages_boot_order() {
        let order = cx.m.pending_boot_order.as_ref().unwrap_or(&cx.m.boot_order);
        let refs: Vec<String> = order.iter().filter_map(|d| boot_reference(cx, d)).collect();
        json!({"BootOrder": refs})
    } else {
        boot_object(cx, true)
    };
    Reply::resource(json!({
        "@odata.id": uri,
        "@odata.type": "#ComputerSystem.v1_20_0.ComputerSystem",
        "Id": id,
        "Name": "System Settings",
        "Boot": boot,
    }))
}

/// The answer to a successful PATCH or action.
pub(crate) fn done(cx: &Ctx<'_>) -> Reply {
    match cx.flavor() {
        Flavor::Generic | Flavor::Lenovo => Reply::empty(StatusCode::NO_CONTENT),
        _ => messages::ok_success(),
    }
}

/// PATCH the system: `Boot` (not on iDRAC10, where it is read-only).
pub(crate) fn patch_system(cx: &mut Ctx<'_>) -> Reply {
    let body = match cx.body() {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    for (key, value) in &body {
        match key.as_str() {
            "Boot" if cx.flavor() == Flavor::Idrac10 => {
                return messages::property_not_writable("Boot");
            }
            // iLO and XCC take a new order only in the settings object (applied at POST).
            "Boot" if cx.flavor().stages_boot_order() && value.get("BootOrder").is_some() => {
                return messages::property_not_writable("Boot/BootOrder");
            }
            "Boot" => {
                if let Err(reply) = patch_boot(cx, value) {
                    return reply;
                }
            }
            _ if system(cx).json_body().is_some_and(|b| b.get(key).is_some()) => {
                return messages::property_not_writable(key);
            }
            _ => return messages::property_unknown(key),
        }
    }
    done(cx)
}

/// PATCH the system's settings object: iDRAC10's boot override, applied at once; HPE's and
/// Lenovo's `Boot.BootOrder`, staged for the next POST.
pub(crate) fn patch_system_settings(cx: &mut Ctx<'_>) -> Reply {
    let body = match cx.body() {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    if cx.flavor().stages_boot_order() {
        return stage_boot_order(cx, &body);
    }
    for (key, value) in &body {
        match key.as_str() {
            "Boot" => {
                if let Err(reply) = patch_boot(cx, value) {
                    return reply;
                }
            }
            _ => return messages::property_not_writable(key),
        }
    }
    messages::ok_success()
}

/// HPE/Lenovo: `{"Boot": {"BootOrder": [...]}}` in the settings object, every reference known
/// and none twice; staged for the next POST.
fn stage_boot_order(cx: &mut Ctx<'_>, body: &Map<String, Value>) -> Reply {
    let mut staged = None;
    for (key, value) in body {
        let boot = match (key.as_str(), value.as_object()) {
            ("Boot", Some(boot)) => boot,
            ("Boot", None) => return messages::value_type_error(&value.to_string(), "Boot"),
            _ => return messages::property_not_writable(key),
        };
        for (name, v) in boot {
            if name != "BootOrder" {
                return messages::property_not_writable(&format!("Boot/{name}"));
            }
            match order_devices(cx, v, "Boot/BootOrder", device_of_reference) {
                Ok(devices) => staged = Some(devices),
                Err(reply) => return reply,
            }
        }
    }
    if let Some(devices) = staged {
        cx.m.pending_boot_order = Some(devices);
    }
    done(cx)
}

/// The devices of a boot order written as a list of names (`property` in errors), each named
/// by `device` (a reference, a structured boot string, an XCC name), known and none twice.
pub(crate) fn order_devices(
    cx: &Ctx<'_>,
    list: &Value,
    property: &str,
    device: fn(&Ctx<'_>, &str) -> Option<String>,
) -> Result<Vec<String>, Reply> {
    let Some(list) = list.as_array() else {
        return Err(messages::value_type_error(&list.to_string(), property));
    };
    let mut devices = Vec::new();
    for item in list {
        match device(cx, item.as_str().unwrap_or_default()) {
            Some(found) if !devices.contains(&found) => devices.push(found),
            _ => return Err(messages::value_not_in_list(&item.to_string(), property)),
        }
    }
    Ok(devices)
}

/// A parsed `BootSourceOverrideTarget`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Override(OverrideTarget),
    BootNext,
}

fn parse_target(name: &str) -> Option<Target> {
    Some(match name {
        "None" => Target::Override(OverrideTarget::None),
        "Pxe" => Target::Override(OverrideTarget::Pxe),
        "Hdd" => Target::Override(OverrideTarget::Hdd),
        "Cd" => Target::Override(OverrideTarget::Cd),
        // Supermicro keeps `UsbCd` as set (only Supermicro lists it as allowed).
        "UsbCd" => Target::Override(OverrideTarget::UsbCd),
        "BiosSetup" => Target::Override(OverrideTarget::BiosSetup),
        "UefiBootNext" => Target::BootNext,
        _ => return None,
    })
}

/// Validates then applies a `Boot` object; nothing is applied when any part is refused.
fn patch_boot(cx: &mut Ctx<'_>, value: &Value) -> Result<(), Reply> {
    let Some(boot) = value.as_object() else {
        return Err(messages::value_type_error(&value.to_string(), "Boot"));
    };
    let dell = cx.dell();
    let mut target = None;
    let mut enabled = None;
    let mut order = None;
    let mut next = None;
    let mut mode = None;
    for (key, v) in boot {
        let name = format!("Boot.{key}");
        let text = || {
            v.as_str()
                .ok_or_else(|| messages::value_type_error(&v.to_string(), &name))
        };
        match key.as_str() {
            "BootSourceOverrideTarget" => {
                let t = text()?;
                if !boot_targets(cx.flavor()).contains(&t) {
                    return Err(messages::value_not_in_list(t, &name));
                }
                target = parse_target(t);
            }
            "BootSourceOverrideEnabled" => {
                enabled = Some(match text()? {
                    "Once" => OverrideEnabled::Once,
                    "Continuous" => OverrideEnabled::Continuous,
                    "Disabled" => OverrideEnabled::Disabled,
                    other => return Err(messages::value_not_in_list(other, &name)),
                });
            }
            "BootSourceOverrideMode" => {
                let m = text()?;
                if !matches!(m, "Legacy" | "UEFI") {
                    return Err(messages::value_not_in_list(m, &name));
                }
                if dell && m != boot_mode(cx) {
                    // iDRAC changes the boot mode through a BIOS job (BootMode attribute).
                    return Err(messages::property_not_writable(&name));
                }
                mode = Some(if m == "UEFI" { "Uefi" } else { "Bios" });
            }
            "BootOrder" if !dell => {
                let Some(list) = v.as_array() else {
                    return Err(messages::value_type_error(&v.to_string(), &name));
                };
                let mut devices = Vec::new();
                for item in list {
                    let reference = item.as_str().unwrap_or_default();
                    match device_of_reference(cx, reference) {
                        Some(device) if !devices.contains(&device) => devices.push(device),
                        _ => return Err(messages::value_not_in_list(&item.to_string(), &name)),
                    }
                }
                order = Some(devices);
            }
            "BootNext" if !dell => {
                let reference = text()?;
                if reference.is_empty() {
                    next = Some(None);
                } else {
                    match device_of_reference(cx, reference) {
                        Some(device) => next = Some(Some(device)),
                        None => return Err(messages::value_not_in_list(reference, &name)),
                    }
                }
            }
            "BootSourceOverrideTarget@Redfish.AllowableValues" | "BootOptions" => {
                return Err(messages::property_not_writable(&name));
            }
            _ => return Err(messages::property_unknown(&name)),
        }
    }
    if target == Some(Target::BootNext) {
        if enabled == Some(OverrideEnabled::Continuous) {
            return Err(messages::value_not_in_list(
                "Continuous",
                "Boot.BootSourceOverrideEnabled",
            ));
        }
        let device = match &next {
            Some(Some(device)) => Some(device.clone()),
            Some(None) => None,
            None => boot_next_device(cx),
        };
        if device.is_none() {
            return Err(messages::property_missing("Boot.BootNext"));
        }
        next = Some(device);
    }

    // Apply.
    if let Some(devices) = order {
        cx.m.boot_order = devices;
    }
    if let Some(mode) = mode {
        cx.m.bios.insert("BootMode".into(), Value::from(mode));
    }
    match target {
        Some(Target::BootNext) => {
            if let Some(Some(device)) = next {
                set_one_time_device(cx, Some(&device));
            }
            cx.m.override_target = OverrideTarget::None;
            cx.m.override_enabled = OverrideEnabled::Disabled;
        }
        Some(Target::Override(t)) => {
            if !dell {
                set_one_time_device(cx, None);
            }
            cx.m.override_target = t;
            cx.m.override_enabled = match (t, enabled) {
                (OverrideTarget::None, _) => OverrideEnabled::Disabled,
                (_, Some(e)) => e,
                // A target alone arms a one-time override, as iDRACs do.
                (_, None) if cx.m.override_enabled == OverrideEnabled::Disabled => {
                    OverrideEnabled::Once
                }
                (_, None) => cx.m.override_enabled,
            };
            if cx.m.override_enabled == OverrideEnabled::Disabled {
                cx.m.override_target = OverrideTarget::None;
            }
        }
        None => {
            if let Some(Some(device)) = &next {
                set_one_time_device(cx, Some(device));
            }
            if let Some(e) = enabled {
                cx.m.override_enabled = e;
                if e == OverrideEnabled::Disabled {
                    cx.m.override_target = OverrideTarget::None;
                    if !dell {
                        set_one_time_device(cx, None);
                    }
                }
            }
        }
    }
    Ok(())
}

/// Arms (or clears) a one-time boot from a device, consumed by the next boot.
fn set_one_time_device(cx: &mut Ctx<'_>, device: Option<&str>) {
    match device {
        Some(device) => {
            let uefi = cx.m.bios.get("BootMode").and_then(Value::as_str) == Some("Uefi");
            let (mode, key) = if uefi {
                ("OneTimeUefiBootSeq", "OneTimeUefiBootSeqDev")
            } else {
                ("OneTimeBootSeq", "OneTimeBootSeqDev")
            };
            cx.m.bios
                .insert("OneTimeBootMode".into(), Value::from(mode));
            cx.m.bios.insert(key.into(), Value::from(device));
        }
        None => {
            if cx.m.bios.contains_key("OneTimeBootMode") {
                cx.m.bios
                    .insert("OneTimeBootMode".into(), Value::from("Disabled"));
            }
        }
    }
}

/// `ComputerSystem.Reset`.
pub(crate) fn reset(cx: &mut Ctx<'_>) -> Reply {
    let action = "ComputerSystem.Reset";
    let value = match requested_reset(cx, action) {
        Ok(value) => value,
        Err(reply) => return reply,
    };
    let name = value.as_str().unwrap_or_default();
    let kind = ResetType::parse(name).filter(|_| reset_types(cx.flavor()).contains(&name));
    let Some(kind) = kind else {
        return reset_not_in_list(&value, action);
    };
    let physics = cx.lab.physics();
    match (cx.m.reset(kind, physics), cx.flavor()) {
        (Err(refused), Flavor::Dell | Flavor::Idrac10) => {
            messages::idrac_already(refused == ResetRefused::AlreadyOn)
        }
        // Supermicro acknowledges even a pointless reset with a message; the generic BMC
        // answers 204 either way.
        (_, Flavor::Supermicro | Flavor::Hpe) => messages::ok_success(),
        _ => Reply::empty(StatusCode::NO_CONTENT),
    }
}

/// iLO's OEM system reset action, as `Actions.Oem.Hpe` names it.
const HPE_SYSTEM_RESET: &str = "#HpeComputerSystemExt.SystemReset";
/// Its power cycle.
const COLD_BOOT: &str = "ColdBoot";
/// Its auxiliary (AC) power cycle.
const AUX_CYCLE: &str = "AuxCycle";

/// iLO's `HpeComputerSystemExt.SystemReset`: `ColdBoot` is a power cycle (answered as iLO's
/// resets are, 200 with a message); `AuxCycle` is refused (400), the lab modelling no auxiliary
/// power; anything else is not in the action's list.
pub(crate) fn hpe_system_reset(cx: &mut Ctx<'_>) -> Reply {
    let action = "HpeComputerSystemExt.SystemReset";
    let value = match requested_reset(cx, action) {
        Ok(value) => value,
        Err(reply) => return reply,
    };
    match value.as_str() {
        Some(COLD_BOOT) => {
            let physics = cx.lab.physics();
            // never refused: from off it powers on, as the lab's PowerCycle
            let _ = cx.m.reset(ResetType::ColdBoot, physics);
            messages::ok_success()
        }
        Some(AUX_CYCLE) => messages::general_error(
            "AuxCycle (an auxiliary power cycle) is not modelled by the lab; use ColdBoot",
        ),
        _ => reset_not_in_list(&value, action),
    }
}

/// The `ResetType` a reset action's body names, or the answer to a body without one.
fn requested_reset(cx: &Ctx<'_>, action: &str) -> Result<Value, Reply> {
    let mut body = cx.body()?;
    body.remove("ResetType")
        .ok_or_else(|| messages::action_parameter_missing(action, "ResetType"))
}

/// 400 for a `ResetType` the action does not list.
fn reset_not_in_list(value: &Value, action: &str) -> Reply {
    messages::action_value_not_in_list(
        &value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned),
        "ResetType",
        action,
    )
}

/// `BootOptions` (Supermicro, generic).
pub(crate) fn boot_options(cx: &Ctx<'_>) -> Reply {
    let uri = format!("{}/BootOptions", cx.layout.system_uri());
    let members: Vec<String> = (1..=cx.m.devices.len())
        .map(|i| format!("{uri}/Boot{i:04X}"))
        .collect();
    collection(&uri, "BootOptionCollection", "Boot Options", &members)
}

/// PATCH one boot option: `BootOptionEnabled` takes the device out of the boot order or puts
/// it back at its end (the lab's order holds the enabled devices).
pub(crate) fn patch_boot_option(cx: &mut Ctx<'_>, id: &str) -> Reply {
    let uri = format!("{}/BootOptions/{id}", cx.layout.system_uri());
    let Some(device) = device_of_reference(cx, id) else {
        return messages::not_found(&uri);
    };
    let body = match cx.body() {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    for (key, value) in &body {
        match (key.as_str(), value.as_bool()) {
            ("BootOptionEnabled", Some(true)) => {
                if !cx.m.boot_order.contains(&device) {
                    cx.m.boot_order.push(device.clone());
                }
            }
            ("BootOptionEnabled", Some(false)) => cx.m.boot_order.retain(|d| d != &device),
            ("BootOptionEnabled", None) => {
                return messages::value_type_error(&value.to_string(), key);
            }
            _ => return messages::property_not_writable(key),
        }
    }
    boot_option(cx, id)
}

/// One boot option.
pub(crate) fn boot_option(cx: &Ctx<'_>, id: &str) -> Reply {
    let uri = format!("{}/BootOptions/{id}", cx.layout.system_uri());
    let Some(device_id) = device_of_reference(cx, id) else {
        return messages::not_found(&uri);
    };
    let Some(device) = cx.m.devices.iter().find(|d| d.id == device_id) else {
        return messages::not_found(&uri);
    };
    let (alias, display) = boot_option_names(cx, device);
    let mut body = json!({
        "@odata.id": uri,
        "@odata.type": "#BootOption.v1_0_4.BootOption",
        "Id": id,
        "Name": display,
        "BootOptionReference": id,
        "DisplayName": display,
        "BootOptionEnabled": cx.m.boot_order.contains(&device.id),
        "Alias": alias,
    });
    if cx.flavor() == Flavor::Hpe {
        // iLO describes the device and gives its name in the OEM structured boot string.
        let description = hpe_description(device);
        body["DisplayName"] = json!(description);
        body["Name"] = json!(description);
        body["Oem"] = json!({"Hpe": {"StructuredBootString": device.id}});
    }
    if device.kind == DeviceKind::Nic {
        body["RelatedItem"] = json!([link(&format!(
            "{}/EthernetInterfaces/{}",
            cx.layout.system_uri(),
            device.id
        ))]);
    }
    Reply::resource(body)
}

/// A boot option's `Alias` and its display name (`PXE Boot NIC.Integrated.1-1-1`, in UEFI mode
/// `UEFI PXEv4 (NIC.Integrated.1-1-1)`), which XCC's OEM boot order also lists.
pub(crate) fn boot_option_names(cx: &Ctx<'_>, device: &BootDevice) -> (&'static str, String) {
    let uefi = boot_mode(cx) == "UEFI";
    match device.kind {
        DeviceKind::Nic => (
            "Pxe",
            if uefi {
                format!("UEFI PXEv4 ({})", device.id)
            } else {
                format!("PXE Boot {}", device.id)
            },
        ),
        DeviceKind::Disk => ("Hdd", format!("Hard Disk {}", device.id)),
        DeviceKind::VirtualCd => ("Cd", format!("Virtual CD {}", device.id)),
    }
}

/// iLO's description of a device (the display name of its boot option, `BootString` in
/// `Bios/Boot`).
pub(crate) fn hpe_description(device: &BootDevice) -> String {
    match device.kind {
        DeviceKind::Nic => format!(
            "{} : HPE Ethernet 10/25Gb 2-port Adapter - NIC (PXE IPv4)",
            hpe_slot(&device.id)
        ),
        DeviceKind::Disk => "Embedded RAID 1 : HPE Smart Array P408i-a SR Gen10".to_owned(),
        DeviceKind::VirtualCd => "iLO Virtual USB 2 : iLO Virtual CD-ROM".to_owned(),
    }
}

/// Where iLO says a NIC sits (`Embedded LOM 1 Port 1`, `Slot 3 Port 1`), from the lab's id.
fn hpe_slot(id: &str) -> String {
    let port = id.rsplit('-').nth(1).unwrap_or("1");
    if id.starts_with("NIC.Slot.") {
        let slot = id
            .trim_start_matches("NIC.Slot.")
            .split('-')
            .next()
            .unwrap_or("1");
        format!("Slot {slot} Port {port}")
    } else {
        format!("Embedded LOM 1 Port {port}")
    }
}
