//! NICs as network adapters: the chassis' `NetworkAdapters`, each adapter's
//! `NetworkDeviceFunctions` (one per port, the machine's NICs: `NIC.Integrated.1-1-1` is port 1
//! of adapter `NIC.Integrated.1`, Dell's FQDD rule), on every flavour; and on the iDRACs the
//! Dell NIC attributes of each port (`…/Oem/Dell/DellNetworkAttributes/{fqdd}`), their pending
//! `Settings` and the per-port attribute registry (`Registries/NetworkAttributesRegistry_{fqdd}`).
//!
//! A PATCH of the settings is checked against the registry (400 for an unknown or read-only
//! attribute or a value outside its list or bounds); the values wait in the BMC until a config
//! job takes them (POST `Jobs` with the settings as `TargetSettingsURI`, or at once with
//! `@Redfish.SettingsApplyTime` `OnReset`, answered 202 with the job in `Location`), and the job
//! applies them during the next POST. A port whose job is still scheduled refuses further sets
//! with `SYS011`. The Dell resources are linked from nothing DMTF (the validator has no schema
//! for them), as Badfish builds their paths itself.

use std::collections::BTreeMap;

use http::StatusCode;
use serde_json::{Map, Value, json};

use super::bios::{SettingsPatch, attribute_error, settings_patch};
use super::dispatch::Ctx;
use super::messages;
use super::reply::Reply;
use super::service::{collection, link};
use crate::machine::{DeviceKind, Job, JobChange, JobState};

/// The prefix of a port's attribute registry name.
pub(crate) const NIC_REGISTRY_PREFIX: &str = "NetworkAttributesRegistry_";

/// The adapter of a port FQDD: everything before the first `-`.
pub(crate) fn adapter_of(fqdd: &str) -> &str {
    fqdd.split('-').next().unwrap_or(fqdd)
}

/// The machine's NIC ports: (FQDD, MAC).
fn ports(cx: &Ctx<'_>) -> Vec<(String, String)> {
    cx.m.devices
        .iter()
        .filter(|d| d.kind == DeviceKind::Nic)
        .map(|d| {
            (
                d.id.clone(),
                d.mac.clone().unwrap_or_default().to_uppercase(),
            )
        })
        .collect()
}

/// The adapters, in the order of their first port.
fn adapters(cx: &Ctx<'_>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (fqdd, _) in ports(cx) {
        let adapter = adapter_of(&fqdd).to_owned();
        if !out.contains(&adapter) {
            out.push(adapter);
        }
    }
    out
}

/// The ports of `adapter` (FQDD, MAC); `None` when the machine has no such adapter.
fn adapter_ports(cx: &Ctx<'_>, adapter: &str) -> Option<Vec<(String, String)>> {
    let ports: Vec<_> = ports(cx)
        .into_iter()
        .filter(|(f, _)| adapter_of(f) == adapter)
        .collect();
    (!ports.is_empty()).then_some(ports)
}

/// A port of `adapter`, if the machine has it: its MAC.
fn port(cx: &Ctx<'_>, adapter: &str, fqdd: &str) -> Option<String> {
    adapter_ports(cx, adapter)?
        .into_iter()
        .find(|(f, _)| f == fqdd)
        .map(|(_, mac)| mac)
}

fn adapters_uri(cx: &Ctx<'_>) -> String {
    format!("{}/NetworkAdapters", cx.layout.chassis_uri())
}

fn functions_uri(cx: &Ctx<'_>, adapter: &str) -> String {
    format!("{}/{adapter}/NetworkDeviceFunctions", adapters_uri(cx))
}

fn attributes_uri(cx: &Ctx<'_>, fqdd: &str) -> String {
    format!(
        "{}/{fqdd}/Oem/Dell/DellNetworkAttributes/{fqdd}",
        functions_uri(cx, adapter_of(fqdd))
    )
}

/// The settings resource of a port's NIC attributes.
pub(crate) fn settings_uri(cx: &Ctx<'_>, fqdd: &str) -> String {
    format!("{}/Settings", attributes_uri(cx, fqdd))
}

/// The port a NIC settings URI names, if it is one of this machine's.
pub(crate) fn settings_target(cx: &Ctx<'_>, uri: &str) -> Option<String> {
    ports(cx)
        .into_iter()
        .map(|(fqdd, _)| fqdd)
        .find(|fqdd| settings_uri(cx, fqdd) == uri.trim_end_matches('/'))
}

/// `Chassis/{id}/NetworkAdapters`.
pub(crate) fn adapters_collection(cx: &Ctx<'_>) -> Reply {
    let uri = adapters_uri(cx);
    let members: Vec<String> = adapters(cx).iter().map(|a| format!("{uri}/{a}")).collect();
    collection(
        &uri,
        "NetworkAdapterCollection",
        "Network Adapter Collection",
        &members,
    )
}

/// One adapter.
pub(crate) fn adapter(cx: &Ctx<'_>, id: &str) -> Reply {
    let uri = format!("{}/{id}", adapters_uri(cx));
    let Some(ports) = adapter_ports(cx, id) else {
        return messages::not_found(&uri);
    };
    let ports = ports.len();
    Reply::resource(json!({
        "@odata.id": uri,
        "@odata.type": "#NetworkAdapter.v1_9_0.NetworkAdapter",
        "Id": id,
        "Name": "Network Adapter",
        "Description": format!("Network adapter {id}"),
        "Manufacturer": "Intel Corporation",
        "Model": "Intel(R) Ethernet 25G 2P XXV710 Adapter",
        "Controllers": [{
            "ControllerCapabilities": {
                "NetworkDeviceFunctionCount": ports,
                "NetworkPortCount": ports,
            },
            "FirmwarePackageVersion": "22.5.7",
        }],
        "NetworkDeviceFunctions": link(&functions_uri(cx, id)),
        "Status": {"State": "Enabled", "Health": "OK"},
    }))
}

/// An adapter's `NetworkDeviceFunctions`.
pub(crate) fn functions(cx: &Ctx<'_>, adapter: &str) -> Reply {
    let uri = functions_uri(cx, adapter);
    let Some(ports) = adapter_ports(cx, adapter) else {
        return messages::not_found(&uri);
    };
    let members: Vec<String> = ports.iter().map(|(f, _)| format!("{uri}/{f}")).collect();
    collection(
        &uri,
        "NetworkDeviceFunctionCollection",
        "Network Device Function Collection",
        &members,
    )
}

/// One port's device function (linked to the system's Ethernet interface of the same id).
pub(crate) fn function(cx: &Ctx<'_>, adapter: &str, id: &str) -> Reply {
    let uri = format!("{}/{id}", functions_uri(cx, adapter));
    let Some(mac) = port(cx, adapter, id) else {
        return messages::not_found(&uri);
    };
    Reply::resource(json!({
        "@odata.id": uri,
        "@odata.type": "#NetworkDeviceFunction.v1_9_0.NetworkDeviceFunction",
        "Id": id,
        "Name": "Network Device Function",
        "Description": format!("Network device function {id}"),
        "NetDevFuncType": "Ethernet",
        "NetDevFuncCapabilities": ["Ethernet"],
        "DeviceEnabled": true,
        "Ethernet": {"MACAddress": mac, "PermanentMACAddress": mac, "MTUSize": 1500},
        "Links": {
            "EthernetInterfaces": [link(&format!(
                "{}/EthernetInterfaces/{id}",
                cx.layout.system_uri()
            ))],
        },
        "Status": {"State": "Enabled", "Health": "OK"},
    }))
}

/// How a NIC attribute's values are bounded.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// One of a list.
    Enumeration(&'static [&'static str]),
    /// An integer within bounds.
    Integer(i64, i64),
    /// Read-only text (the port's MAC address or the adapter's name).
    Text,
}

/// One NIC attribute of the registry.
#[derive(Debug, Clone, Copy)]
struct NicAttribute {
    name: &'static str,
    display: &'static str,
    kind: Kind,
    default: &'static str,
}

const ENABLED: &[&str] = &["Enabled", "Disabled"];
const DEVICE_NAME: &str = "Intel(R) Ethernet 25G 2P XXV710 Adapter";

/// The attributes every port has (a few of an iDRAC's).
const NIC_ATTRIBUTES: &[NicAttribute] = &[
    NicAttribute {
        name: "DeviceName",
        display: "Device Name",
        kind: Kind::Text,
        default: DEVICE_NAME,
    },
    NicAttribute {
        name: "LegacyBootProto",
        display: "Legacy Boot Protocol",
        kind: Kind::Enumeration(&["PXE", "iSCSI", "NONE"]),
        default: "PXE",
    },
    NicAttribute {
        name: "MacAddr",
        display: "MAC Address",
        kind: Kind::Text,
        default: "",
    },
    NicAttribute {
        name: "VLanId",
        display: "Virtual LAN ID",
        kind: Kind::Integer(1, 4094),
        default: "1",
    },
    NicAttribute {
        name: "VLanMode",
        display: "Virtual LAN Mode",
        kind: Kind::Enumeration(ENABLED),
        default: "Disabled",
    },
    NicAttribute {
        name: "VirtualizationMode",
        display: "Virtualization Mode",
        kind: Kind::Enumeration(&["NONE", "NPAR", "SRIOV", "NPARSRIOV"]),
        default: "NONE",
    },
    NicAttribute {
        name: "WakeOnLan",
        display: "Wake On LAN",
        kind: Kind::Enumeration(ENABLED),
        default: "Disabled",
    },
];

/// An attribute's value on a port now.
fn current(cx: &Ctx<'_>, fqdd: &str, mac: &str, attribute: &NicAttribute) -> Value {
    if let Some(value) =
        cx.m.nic_attributes
            .get(fqdd)
            .and_then(|set| set.get(attribute.name))
    {
        return value.clone();
    }
    match attribute.kind {
        Kind::Integer(..) => json!(attribute.default.parse::<i64>().unwrap_or_default()),
        Kind::Text if attribute.name == "MacAddr" => json!(mac),
        _ => json!(attribute.default),
    }
}

/// The Dell routes answer for this port: its MAC, or the 404 to send.
fn dell_port(cx: &Ctx<'_>, adapter: &str, fqdd: &str, uri: &str) -> Result<String, Reply> {
    match port(cx, adapter, fqdd) {
        Some(mac) if cx.dell() => Ok(mac),
        _ => Err(messages::not_found(uri)),
    }
}

/// `DellNetworkAttributes/{fqdd}`: the port's current attributes.
pub(crate) fn attributes(cx: &Ctx<'_>, adapter: &str, fqdd: &str) -> Reply {
    let uri = attributes_uri(cx, fqdd);
    let mac = match dell_port(cx, adapter, fqdd, &uri) {
        Ok(mac) => mac,
        Err(reply) => return reply,
    };
    let values: Map<String, Value> = NIC_ATTRIBUTES
        .iter()
        .map(|a| (a.name.to_owned(), current(cx, fqdd, &mac, a)))
        .collect();
    Reply::resource(json!({
        "@odata.id": uri,
        "@odata.type": "#DellNetworkAttributes.v1_0_0.DellNetworkAttributes",
        "Id": fqdd,
        "Name": "Network Attributes",
        "Description": "This is the manufacturer/provider specific list of attributes.",
        "AttributeRegistry": format!("{NIC_REGISTRY_PREFIX}{fqdd}"),
        "Attributes": values,
        "@Redfish.Settings": {
            "@odata.type": "#Settings.v1_3_5.Settings",
            "SettingsObject": link(&settings_uri(cx, fqdd)),
            "SupportedApplyTimes": ["Immediate", "OnReset", "AtMaintenanceWindowStart"],
        },
    }))
}

/// The port's values waiting for the next POST (in a job or not yet).
fn pending(cx: &Ctx<'_>, fqdd: &str) -> BTreeMap<String, Value> {
    let mut values = BTreeMap::new();
    for job in &cx.m.jobs {
        if let (
            JobState::Scheduled | JobState::Running,
            JobChange::Nic {
                fqdd: f,
                attributes,
            },
        ) = (job.state, &job.change)
            && f == fqdd
        {
            values.extend(attributes.clone());
        }
    }
    if let Some(waiting) = cx.b.pending_nic.get(fqdd) {
        values.extend(waiting.clone());
    }
    values
}

/// `DellNetworkAttributes/{fqdd}/Settings`.
pub(crate) fn settings(cx: &Ctx<'_>, adapter: &str, fqdd: &str) -> Reply {
    let uri = settings_uri(cx, fqdd);
    if let Err(reply) = dell_port(cx, adapter, fqdd, &uri) {
        return reply;
    }
    Reply::resource(json!({
        "@odata.id": uri,
        "@odata.type": "#DellNetworkAttributes.v1_0_0.DellNetworkAttributes",
        "Id": fqdd,
        "Name": "Network Attributes Pending Settings",
        "AttributeRegistry": format!("{NIC_REGISTRY_PREFIX}{fqdd}"),
        "Attributes": pending(cx, fqdd),
    }))
}

/// Checks one value against the registry.
fn check(name: &str, value: &Value) -> Result<(), Reply> {
    let Some(attribute) = NIC_ATTRIBUTES.iter().find(|a| a.name == name) else {
        return Err(attribute_error(
            "PropertyUnknown",
            format!("The property {name} is not in the list of valid properties for the resource."),
            name,
        ));
    };
    let not_in_list = || {
        attribute_error(
            "PropertyValueNotInList",
            format!(
                "The value {value} for the property {name} is not in the list of acceptable values."
            ),
            name,
        )
    };
    match attribute.kind {
        Kind::Text => Err(attribute_error(
            "PropertyNotWritable",
            format!("The property {name} is a read-only property and cannot be assigned a value."),
            name,
        )),
        Kind::Enumeration(list) => match value.as_str() {
            Some(text) if list.contains(&text) => Ok(()),
            _ => Err(not_in_list()),
        },
        Kind::Integer(lo, hi) => match value.as_i64() {
            Some(n) if (lo..=hi).contains(&n) => Ok(()),
            _ => Err(not_in_list()),
        },
    }
}

/// PATCH `DellNetworkAttributes/{fqdd}/Settings`.
pub(crate) fn patch_settings(cx: &mut Ctx<'_>, adapter: &str, fqdd: &str) -> Reply {
    let uri = settings_uri(cx, fqdd);
    if let Err(reply) = dell_port(cx, adapter, fqdd, &uri) {
        return reply;
    }
    let SettingsPatch {
        attributes,
        on_reset,
    } = match settings_patch(cx) {
        Ok(patch) => patch,
        Err(reply) => return reply,
    };
    if cx.lc_restarting() {
        return messages::idrac_not_ready();
    }
    if nic_job_pending(cx, fqdd) {
        return messages::pending_already_committed(attributes.keys().next().map(String::as_str));
    }
    for (name, value) in &attributes {
        if let Err(reply) = check(name, value) {
            return reply;
        }
    }
    cx.b.pending_nic
        .entry(fqdd.to_owned())
        .or_default()
        .extend(attributes);
    if !on_reset {
        return messages::ok_success();
    }
    match commit_nic_job(cx, fqdd) {
        Ok(location) => {
            Reply::json(StatusCode::ACCEPTED, messages::success_body()).location(&location)
        }
        Err(reply) => reply,
    }
}

/// Every port's Dell attributes as a Server Configuration Profile lists them: the port's
/// FQDD, then each attribute's name, value now and whether it is read-only.
pub(crate) fn profile_ports(cx: &Ctx<'_>) -> Vec<super::dell_scp::Component> {
    ports(cx)
        .into_iter()
        .map(|(fqdd, mac)| {
            let values = NIC_ATTRIBUTES
                .iter()
                .map(|a| {
                    let read_only = matches!(a.kind, Kind::Text);
                    (a.name.to_owned(), current(cx, &fqdd, &mac, a), read_only)
                })
                .collect();
            (fqdd, values)
        })
        .collect()
}

/// A Server Configuration Profile's value (text) as this port attribute's value, when the
/// registry accepts it (an integer attribute takes its digits).
pub(crate) fn profile_value(name: &str, text: &str) -> Option<Value> {
    let attribute = NIC_ATTRIBUTES.iter().find(|a| a.name == name)?;
    let value = match attribute.kind {
        Kind::Integer(..) => Value::from(text.parse::<i64>().ok()?),
        _ => Value::from(text),
    };
    check(name, &value).is_ok().then_some(value)
}

/// Whether a config job of this port waits for the next POST.
pub(crate) fn nic_job_pending(cx: &Ctx<'_>, fqdd: &str) -> bool {
    cx.m.jobs.iter().any(|j| {
        matches!(j.state, JobState::Scheduled | JobState::Running)
            && matches!(&j.change, JobChange::Nic { fqdd: f, .. } if f == fqdd)
    })
}

/// Turns the port's staged values into a config job; the job's URI.
pub(crate) fn commit_nic_job(cx: &mut Ctx<'_>, fqdd: &str) -> Result<String, Reply> {
    if nic_job_pending(cx, fqdd) {
        return Err(messages::pending_already_committed(None));
    }
    let Some(attributes) = cx.b.pending_nic.remove(fqdd) else {
        return Err(messages::no_pending_data());
    };
    let id = cx.m.new_job_id();
    let target = settings_uri(cx, fqdd);
    cx.m.jobs.push(Job {
        id: id.clone(),
        target,
        state: JobState::Scheduled,
        change: JobChange::Nic {
            fqdd: fqdd.to_owned(),
            attributes,
        },
        stuck: false,
    });
    Ok(format!("{}/{id}", cx.layout.jobs_uri()))
}

/// The port a registry name (`NetworkAttributesRegistry_{fqdd}`) is for, on an iDRAC.
pub(crate) fn registry_port(cx: &Ctx<'_>, name: &str) -> Option<(String, String)> {
    let fqdd = name.strip_prefix(NIC_REGISTRY_PREFIX)?;
    if !cx.dell() {
        return None;
    }
    ports(cx).into_iter().find(|(f, _)| f == fqdd)
}

/// The registry names of this machine's ports (iDRACs only).
pub(crate) fn registry_names(cx: &Ctx<'_>) -> Vec<String> {
    if !cx.dell() {
        return Vec::new();
    }
    ports(cx)
        .into_iter()
        .map(|(f, _)| format!("{NIC_REGISTRY_PREFIX}{f}"))
        .collect()
}

/// Where a port's registry document is served.
pub(crate) fn registry_uri(name: &str) -> String {
    format!("/redfish/v1/Registries/{name}/{name}.json")
}

/// `Registries/NetworkAttributesRegistry_{fqdd}/NetworkAttributesRegistry_{fqdd}.json`.
pub(crate) fn registry(cx: &Ctx<'_>, name: &str) -> Reply {
    let Some((fqdd, mac)) = registry_port(cx, name) else {
        return messages::not_found(&registry_uri(name));
    };
    let entries: Vec<Value> = NIC_ATTRIBUTES
        .iter()
        .map(|a| {
            let mut entry = json!({
                "AttributeName": a.name,
                "DisplayName": a.display,
                "HelpText": format!("{} of the port", a.display),
                "ReadOnly": matches!(a.kind, Kind::Text),
                "Hidden": false,
                "CurrentValue": current(cx, &fqdd, &mac, a),
            });
            match a.kind {
                Kind::Enumeration(list) => {
                    entry["Type"] = json!("Enumeration");
                    entry["Value"] = list
                        .iter()
                        .map(|v| json!({"ValueName": v, "ValueDisplayName": v}))
                        .collect();
                    entry["DefaultValue"] = json!(a.default);
                }
                Kind::Integer(lo, hi) => {
                    entry["Type"] = json!("Integer");
                    entry["LowerBound"] = json!(lo);
                    entry["UpperBound"] = json!(hi);
                }
                Kind::Text => {
                    entry["Type"] = json!("String");
                    entry["MinLength"] = json!(0);
                    entry["MaxLength"] = json!(64);
                }
            }
            entry
        })
        .collect();
    Reply::resource(json!({
        "@odata.id": registry_uri(name),
        "@odata.type": "#AttributeRegistry.v1_3_6.AttributeRegistry",
        "Id": name,
        "Name": "Network Attribute Registry",
        "Description": format!("This registry defines the network attributes of {fqdd}"),
        "Language": "en",
        "OwningEntity": "Dell",
        "RegistryVersion": "1.0.0",
        "SupportedSystems": [{
            "ProductName": cx.m.model.to_uppercase(),
            "SystemId": cx.m.model.to_uppercase(),
            "FirmwareVersion": "22.5.7",
        }],
        "RegistryEntries": {"Attributes": entries},
    }))
}
