//! BIOS: the current attributes (`Bios`), pending ones (`Bios/Settings`), the attribute
//! registry that lists each attribute's type and allowed values, and `Bios.ResetBios`.
//!
//! A PATCH of `Bios/Settings` is validated against the registry (400 for an unknown or read-only
//! attribute or a value outside its list). On an iDRAC the values wait in the BMC until a config
//! job takes them (POST `Jobs`, or at once with `@Redfish.SettingsApplyTime` `OnReset`, which
//! answers 202 with the job in `Location`); a pending BIOS job makes further sets fail with
//! `SYS011`. Other flavours queue the values for the next boot directly.

use std::collections::BTreeMap;

use http::StatusCode;
use serde_json::{Map, Value, json};

use super::dell;
use super::dispatch::Ctx;
use super::messages::{self, Message};
use super::network;
use super::reply::Reply;
use super::router::BIOS_REGISTRY;
use super::service::{collection, link, manufacturer};
use crate::machine::{DeviceKind, Flavor, Job, JobChange, JobState};

/// How an attribute's allowed values are known.
#[derive(Debug, Clone, Copy)]
enum Values {
    /// A fixed list.
    Fixed(&'static [&'static str]),
    /// The machine's bootable devices.
    Devices,
    /// The machine's NICs.
    Nics,
    /// Free text (read-only here).
    Text,
}

/// One attribute of the registry.
#[derive(Debug, Clone, Copy)]
struct Attribute {
    name: &'static str,
    display: &'static str,
    values: Values,
    default: &'static str,
    read_only: bool,
    dell_only: bool,
}

const ENABLED: &[&str] = &["Enabled", "Disabled"];

const fn attr(
    name: &'static str,
    display: &'static str,
    values: Values,
    default: &'static str,
    dell_only: bool,
) -> Attribute {
    Attribute {
        name,
        display,
        values,
        default,
        read_only: false,
        dell_only,
    }
}

/// The attribute registry.
const ATTRIBUTES: &[Attribute] = &[
    attr(
        "BootMode",
        "Boot Mode",
        Values::Fixed(&["Bios", "Uefi"]),
        "Bios",
        false,
    ),
    attr(
        "BootSeqRetry",
        "Boot Sequence Retry",
        Values::Fixed(ENABLED),
        "Enabled",
        false,
    ),
    attr(
        "SysProfile",
        "System Profile",
        Values::Fixed(&["PerfPerWattOptimizedDapc", "PerfOptimized", "Custom"]),
        "PerfOptimized",
        false,
    ),
    attr(
        "ProcVirtualization",
        "Virtualization Technology",
        Values::Fixed(ENABLED),
        "Enabled",
        false,
    ),
    attr(
        "LogicalProc",
        "Logical Processor",
        Values::Fixed(ENABLED),
        "Enabled",
        false,
    ),
    attr(
        "SriovGlobalEnable",
        "SR-IOV Global Enable",
        Values::Fixed(ENABLED),
        "Disabled",
        false,
    ),
    attr(
        "MemTest",
        "System Memory Testing",
        Values::Fixed(ENABLED),
        "Disabled",
        false,
    ),
    attr(
        "SerialComm",
        "Serial Communication",
        Values::Fixed(&["OnNoConRedir", "OnConRedirCom1", "OnConRedirCom2", "Off"]),
        "OnConRedirCom2",
        false,
    ),
    attr(
        "OneTimeBootMode",
        "One-Time Boot",
        Values::Fixed(&["Disabled", "OneTimeBootSeq", "OneTimeUefiBootSeq"]),
        "Disabled",
        true,
    ),
    attr(
        "OneTimeBootSeqDev",
        "One-Time Boot Device",
        Values::Devices,
        "",
        true,
    ),
    attr(
        "OneTimeUefiBootSeqDev",
        "One-Time UEFI Boot Device",
        Values::Devices,
        "",
        true,
    ),
    attr(
        "PxeDev1EnDis",
        "PXE Device1",
        Values::Fixed(ENABLED),
        "Enabled",
        true,
    ),
    attr(
        "PxeDev1Interface",
        "PXE Device1 Interface",
        Values::Nics,
        "",
        true,
    ),
    attr(
        "PxeDev2EnDis",
        "PXE Device2",
        Values::Fixed(ENABLED),
        "Disabled",
        true,
    ),
    attr(
        "PxeDev2Interface",
        "PXE Device2 Interface",
        Values::Nics,
        "",
        true,
    ),
    attr(
        "PxeDev3EnDis",
        "PXE Device3",
        Values::Fixed(ENABLED),
        "Disabled",
        true,
    ),
    attr(
        "PxeDev3Interface",
        "PXE Device3 Interface",
        Values::Nics,
        "",
        true,
    ),
    attr(
        "PxeDev4EnDis",
        "PXE Device4",
        Values::Fixed(ENABLED),
        "Disabled",
        true,
    ),
    attr(
        "PxeDev4Interface",
        "PXE Device4 Interface",
        Values::Nics,
        "",
        true,
    ),
    Attribute {
        name: "SystemServiceTag",
        display: "System Service Tag",
        values: Values::Text,
        default: "",
        read_only: true,
        dell_only: true,
    },
];

/// The attributes a flavour's BIOS has.
fn attributes(cx: &Ctx<'_>) -> impl Iterator<Item = &'static Attribute> {
    let dell = cx.dell();
    ATTRIBUTES.iter().filter(move |a| dell || !a.dell_only)
}

/// The allowed values of an enumerated attribute on this machine.
fn allowed(cx: &Ctx<'_>, attribute: &Attribute) -> Vec<String> {
    match attribute.values {
        Values::Fixed(list) => list.iter().map(|v| (*v).to_owned()).collect(),
        Values::Devices => cx.m.devices.iter().map(|d| d.id.clone()).collect(),
        Values::Nics => {
            cx.m.devices
                .iter()
                .filter(|d| d.kind == DeviceKind::Nic)
                .map(|d| d.id.clone())
                .collect()
        }
        Values::Text => Vec::new(),
    }
}

/// An attribute's value now (its default when the machine has not set it).
fn current(cx: &Ctx<'_>, attribute: &Attribute) -> Value {
    if attribute.name == "SystemServiceTag" {
        return Value::from(super::service::serial(cx));
    }
    if let Some(value) = cx.m.bios.get(attribute.name) {
        return value.clone();
    }
    let fallback = match (attribute.values, attribute.default) {
        (Values::Devices | Values::Nics, "") => {
            let n = attribute
                .name
                .strip_prefix("PxeDev")
                .and_then(|r| r.chars().next())
                .and_then(|c| c.to_digit(10))
                .map_or(0, |d| d as usize - 1);
            let list = allowed(cx, attribute);
            list.get(n % list.len().max(1)).cloned().unwrap_or_default()
        }
        (_, default) => default.to_owned(),
    };
    Value::from(fallback)
}

/// `Bios`.
pub(crate) fn bios(cx: &Ctx<'_>) -> Reply {
    let uri = format!("{}/Bios", cx.layout.system_uri());
    let values: Map<String, Value> = attributes(cx)
        .map(|a| (a.name.to_owned(), current(cx, a)))
        .collect();
    let mut body = json!({
        "@odata.id": uri,
        "@odata.type": "#Bios.v1_2_0.Bios",
        "Id": "Bios",
        "Name": "BIOS Configuration Current Settings",
        "Description": "BIOS Configuration Current Settings",
        "AttributeRegistry": BIOS_REGISTRY,
        "Attributes": values,
        "@Redfish.Settings": {
            "@odata.type": "#Settings.v1_3_5.Settings",
            "SettingsObject": link(&format!("{uri}/Settings")),
            "SupportedApplyTimes": ["OnReset"],
        },
        "Actions": {
            "#Bios.ResetBios": {"target": format!("{uri}/Actions/Bios.ResetBios")},
        },
    });
    if cx.flavor() == Flavor::Hpe {
        // iLO links its OEM boot order resource from the BIOS.
        body["Oem"] = json!({"Hpe": {
            "@odata.type": "#HpeBiosExt.v2_0_0.HpeBiosExt",
            "Links": {"Boot": link(&super::vendor_boot::hpe_boot_uri(cx))},
        }});
    }
    if cx.flavor() != Flavor::Supermicro {
        body["Actions"]["#Bios.ChangePassword"] =
            json!({"target": format!("{uri}/Actions/Bios.ChangePassword")});
    }
    Reply::resource(body)
}

/// Whether a job applies BIOS settings.
pub(crate) fn is_bios_job(job: &Job) -> bool {
    job.target.ends_with("/Bios/Settings")
}

/// Values waiting for the next boot (in jobs not yet applied, and on iDRAC not yet in a job).
fn pending(cx: &Ctx<'_>) -> BTreeMap<String, Value> {
    let mut values = BTreeMap::new();
    for job in &cx.m.jobs {
        if let (JobState::Scheduled | JobState::Running, JobChange::Bios(change)) =
            (job.state, &job.change)
        {
            values.extend(change.clone());
        }
    }
    if let Some(waiting) = &cx.b.pending_bios {
        values.extend(waiting.as_ref().clone());
    }
    values
}

/// `Bios/Settings`.
pub(crate) fn settings(cx: &Ctx<'_>) -> Reply {
    let uri = format!("{}/Bios/Settings", cx.layout.system_uri());
    Reply::resource(json!({
        "@odata.id": uri,
        "@odata.type": "#Bios.v1_2_0.Bios",
        "Id": "Settings",
        "Name": "BIOS Configuration Pending Settings",
        "Description": "BIOS Configuration Pending Settings",
        "AttributeRegistry": BIOS_REGISTRY,
        "Attributes": pending(cx),
    }))
}

/// A 400 naming the attribute of the request body that was wrong.
pub(crate) fn attribute_error(key: &str, text: String, message: &str) -> Reply {
    messages::error(
        StatusCode::BAD_REQUEST,
        &[Message::base(
            key,
            text,
            "Correct the attribute in the request body and resubmit the request if the \
             operation failed.",
        )
        .args(&[message])
        .related(format!("#/Attributes/{message}"))],
    )
}

/// Checks attribute values against the registry.
fn validate(cx: &Ctx<'_>, attributes: &Map<String, Value>) -> Result<(), Reply> {
    for (name, value) in attributes {
        let Some(attribute) = self::attributes(cx).find(|a| a.name == name) else {
            return Err(attribute_error(
                "PropertyUnknown",
                format!(
                    "The property {name} is not in the list of valid properties for the resource."
                ),
                name,
            ));
        };
        if attribute.read_only {
            return Err(attribute_error(
                "PropertyNotWritable",
                format!(
                    "The property {name} is a read-only property and cannot be assigned a value."
                ),
                name,
            ));
        }
        let Some(text) = value.as_str() else {
            return Err(attribute_error(
                "PropertyValueTypeError",
                format!(
                    "The value {value} for the property {name} is not a type that the property can accept."
                ),
                name,
            ));
        };
        if !allowed(cx, attribute).iter().any(|v| v == text) {
            return Err(attribute_error(
                "PropertyValueNotInList",
                format!(
                    "The value '{text}' for the property {name} is not in the list of acceptable values."
                ),
                name,
            ));
        }
    }
    Ok(())
}

/// The BIOS attributes as a Server Configuration Profile lists them: name, value now, and
/// whether it is read-only.
pub(crate) fn profile_attributes(cx: &Ctx<'_>) -> Vec<super::dell_scp::ProfileAttribute> {
    attributes(cx)
        .map(|a| (a.name.to_owned(), current(cx, a), a.read_only))
        .collect()
}

/// Whether a Server Configuration Profile's value (text) may be set on this BIOS.
pub(crate) fn accepts(cx: &Ctx<'_>, name: &str, value: &str) -> bool {
    let one = Map::from_iter([(name.to_owned(), Value::from(value))]);
    validate(cx, &one).is_ok()
}

/// A PATCH of a settings resource: its `Attributes`, and whether it asks for them to be
/// applied `OnReset` (`@Redfish.SettingsApplyTime`).
pub(crate) struct SettingsPatch {
    /// The attributes to set (never empty).
    pub(crate) attributes: Map<String, Value>,
    /// `@Redfish.SettingsApplyTime` `OnReset` was given.
    pub(crate) on_reset: bool,
}

/// Reads a settings PATCH body: 400 for anything but a non-empty `Attributes` and an
/// `OnReset` apply time.
pub(crate) fn settings_patch(cx: &Ctx<'_>) -> Result<SettingsPatch, Reply> {
    let body = cx.body()?;
    let mut on_reset = false;
    let mut attributes = None;
    for (key, value) in &body {
        match key.as_str() {
            "Attributes" => match value.as_object() {
                Some(map) if !map.is_empty() => attributes = Some(map.clone()),
                _ => return Err(messages::value_type_error(&value.to_string(), "Attributes")),
            },
            "@Redfish.SettingsApplyTime" => {
                let time = value
                    .get("ApplyTime")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if time != "OnReset" {
                    return Err(messages::value_not_in_list(
                        time,
                        "@Redfish.SettingsApplyTime.ApplyTime",
                    ));
                }
                on_reset = true;
            }
            _ => return Err(messages::property_unknown(key)),
        }
    }
    let Some(attributes) = attributes else {
        return Err(messages::property_missing("Attributes"));
    };
    Ok(SettingsPatch {
        attributes,
        on_reset,
    })
}

/// PATCH `Bios/Settings`.
pub(crate) fn patch_settings(cx: &mut Ctx<'_>) -> Reply {
    let SettingsPatch {
        attributes,
        on_reset: apply_on_reset,
    } = match settings_patch(cx) {
        Ok(patch) => patch,
        Err(reply) => return reply,
    };
    if cx.dell() {
        if cx.lc_restarting() {
            return messages::idrac_not_ready();
        }
        if cx
            .m
            .jobs
            .iter()
            .any(|j| is_bios_job(j) && matches!(j.state, JobState::Scheduled | JobState::Running))
        {
            return messages::pending_already_committed(
                attributes.keys().next().map(String::as_str),
            );
        }
    }
    if let Err(reply) = validate(cx, &attributes) {
        return reply;
    }
    if cx.dell() {
        let waiting = cx.b.pending_bios.get_or_insert_with(Box::default);
        waiting.extend(attributes);
        if !apply_on_reset {
            return messages::ok_success();
        }
        return match dell::commit_config_job(cx) {
            Ok(location) => {
                Reply::json(StatusCode::ACCEPTED, messages::success_body()).location(&location)
            }
            Err(reply) => reply,
        };
    }
    queue_for_next_boot(cx, attributes.into_iter().collect());
    match cx.flavor() {
        Flavor::Generic => Reply::empty(StatusCode::NO_CONTENT),
        _ => messages::ok_success(),
    }
}

/// Non-Dell flavours: settings wait for the next boot in a job nobody lists.
fn queue_for_next_boot(cx: &mut Ctx<'_>, values: BTreeMap<String, Value>) {
    let target = format!("{}/Bios/Settings", cx.layout.system_uri());
    if let Some(job) =
        cx.m.jobs
            .iter_mut()
            .find(|j| j.target == target && j.state == JobState::Scheduled)
        && let JobChange::Bios(change) = &mut job.change
    {
        change.extend(values);
        return;
    }
    let id = cx.m.new_job_id();
    cx.m.jobs.push(Job {
        id,
        target,
        state: JobState::Scheduled,
        change: JobChange::Bios(values),
        stuck: false,
    });
}

/// The BIOS setup password: a write-only attribute outside the served registry, staged like
/// any BIOS change (Dell: by the next config job; elsewhere at the next boot).
pub(crate) const SETUP_PASSWORD: &str = "SetupPassword";

/// `Bios.ChangePassword`: the old password must match the one in force.
pub(crate) fn change_password(cx: &mut Ctx<'_>) -> Reply {
    const ACTION: &str = "Bios.ChangePassword";
    let body = match cx.body() {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
    let Some(name) = text("PasswordName") else {
        return messages::action_parameter_missing(ACTION, "PasswordName");
    };
    if name != SETUP_PASSWORD {
        return messages::action_value_not_in_list(&name, "PasswordName", ACTION);
    }
    let (Some(old), Some(new)) = (text("OldPassword"), text("NewPassword")) else {
        return messages::action_parameter_missing(ACTION, "OldPassword, NewPassword");
    };
    let in_force =
        cx.m.bios
            .get(SETUP_PASSWORD)
            .and_then(Value::as_str)
            .unwrap_or("");
    if old != in_force {
        return messages::action_value_not_in_list("(hidden)", "OldPassword", ACTION);
    }
    let change = BTreeMap::from([(SETUP_PASSWORD.to_owned(), Value::from(new))]);
    if cx.dell() {
        cx.b.pending_bios
            .get_or_insert_with(Box::default)
            .extend(change);
        return messages::ok_success();
    }
    queue_for_next_boot(cx, change);
    Reply::empty(StatusCode::NO_CONTENT)
}

/// `Bios.ResetBios`: writable attributes back to their defaults.
pub(crate) fn reset_bios(cx: &mut Ctx<'_>) -> Reply {
    let defaults: Vec<(&str, &str)> = attributes(cx)
        .filter(|a| !a.read_only && matches!(a.values, Values::Fixed(_)))
        .map(|a| (a.name, a.default))
        .collect();
    for (name, default) in defaults {
        cx.m.bios.insert(name.to_owned(), Value::from(default));
    }
    match cx.flavor() {
        Flavor::Generic => Reply::empty(StatusCode::NO_CONTENT),
        _ => messages::ok_success(),
    }
}

/// The attribute registry (Dell `Bios/BiosRegistry`, or under `Registries`).
pub(crate) fn registry(cx: &Ctx<'_>) -> Reply {
    let entries: Vec<Value> = attributes(cx)
        .map(|a| {
            let mut entry = json!({
                "AttributeName": a.name,
                "DisplayName": a.display,
                "HelpText": format!("{} setting", a.display),
                "ReadOnly": a.read_only,
                "Hidden": false,
            });
            let value = current(cx, a);
            if value.as_str() != Some("") {
                entry["CurrentValue"] = value;
            }
            match a.values {
                Values::Text => {
                    entry["Type"] = json!("String");
                    entry["MinLength"] = json!(0);
                    entry["MaxLength"] = json!(64);
                }
                _ => {
                    entry["Type"] = json!("Enumeration");
                    entry["Value"] = allowed(cx, a)
                        .into_iter()
                        .map(|v| json!({"ValueName": v, "ValueDisplayName": v}))
                        .collect();
                    if !a.default.is_empty() {
                        entry["DefaultValue"] = json!(a.default);
                    }
                }
            }
            entry
        })
        .collect();
    let path = cx.request.path.trim_end_matches('/');
    Reply::resource(json!({
        "@odata.id": path,
        "@odata.type": "#AttributeRegistry.v1_3_6.AttributeRegistry",
        "Id": BIOS_REGISTRY,
        "Name": "BIOS Attribute Registry",
        "Description": "This registry defines a representation of BIOS Attribute instances",
        "Language": "en",
        "OwningEntity": manufacturer(cx.flavor()),
        "RegistryVersion": "1.0.0",
        "SupportedSystems": [{
            "ProductName": cx.m.model.to_uppercase(),
            "SystemId": cx.m.model.to_uppercase(),
            "FirmwareVersion": "2.19.1",
        }],
        "RegistryEntries": {"Attributes": entries},
    }))
}

/// Where the BIOS registry is served for this flavour.
fn registry_uri(cx: &Ctx<'_>) -> String {
    if cx.dell() {
        format!("{}/Bios/BiosRegistry", cx.layout.system_uri())
    } else {
        format!("/redfish/v1/Registries/{BIOS_REGISTRY}/{BIOS_REGISTRY}.json")
    }
}

/// `Registries`.
pub(crate) fn registries(cx: &Ctx<'_>) -> Reply {
    let members: Vec<String> = std::iter::once(BIOS_REGISTRY.to_owned())
        .chain(network::registry_names(cx))
        .map(|name| format!("/redfish/v1/Registries/{name}"))
        .collect();
    collection(
        "/redfish/v1/Registries",
        "MessageRegistryFileCollection",
        "Registry File Collection",
        &members,
    )
}

/// One registry file entry.
pub(crate) fn registry_file(cx: &Ctx<'_>, id: &str) -> Reply {
    let uri = format!("/redfish/v1/Registries/{id}");
    let (what, registry, location) = if id == BIOS_REGISTRY {
        (
            "BIOS",
            "BiosAttributeRegistry.1.0".to_owned(),
            registry_uri(cx),
        )
    } else if network::registry_port(cx, id).is_some() {
        ("Network", format!("{id}.1.0"), network::registry_uri(id))
    } else {
        return messages::not_found(&uri);
    };
    Reply::resource(json!({
        "@odata.id": uri,
        "@odata.type": "#MessageRegistryFile.v1_1_3.MessageRegistryFile",
        "Id": id,
        "Name": format!("{what} Attribute Registry File"),
        "Description": format!("{what} Attribute Registry File locations"),
        "Languages": ["en"],
        "Registry": registry,
        "Location": [{"Language": "en", "Uri": location}],
    }))
}
