//! `$metadata` (the CSDL references of every schema the BMC uses, by their official DMTF `Uri`;
//! Dell OEM schemas by the path an iDRAC serves them from) and the OData service document.

use std::fmt::Write as _;

use http::StatusCode;
use serde_json::json;

use super::dispatch::Ctx;
use super::reply::Reply;
use crate::machine::Flavor;

/// DMTF schema files and the namespaces used from each.
const DMTF: &[(&str, &[&str])] = &[
    ("ServiceRoot", &["ServiceRoot", "ServiceRoot.v1_15_0"]),
    ("ComputerSystemCollection", &["ComputerSystemCollection"]),
    (
        "ComputerSystem",
        &["ComputerSystem", "ComputerSystem.v1_20_0"],
    ),
    ("ChassisCollection", &["ChassisCollection"]),
    ("Chassis", &["Chassis", "Chassis.v1_22_0"]),
    ("Power", &["Power", "Power.v1_7_1"]),
    ("ManagerCollection", &["ManagerCollection"]),
    ("Manager", &["Manager", "Manager.v1_17_0"]),
    (
        "SessionService",
        &["SessionService", "SessionService.v1_1_8"],
    ),
    ("SessionCollection", &["SessionCollection"]),
    ("Session", &["Session", "Session.v1_6_0"]),
    (
        "AccountService",
        &["AccountService", "AccountService.v1_13_0"],
    ),
    ("ManagerAccountCollection", &["ManagerAccountCollection"]),
    (
        "ManagerAccount",
        &["ManagerAccount", "ManagerAccount.v1_10_0"],
    ),
    ("RoleCollection", &["RoleCollection"]),
    ("Role", &["Role", "Role.v1_3_1"]),
    ("UpdateService", &["UpdateService", "UpdateService.v1_11_0"]),
    (
        "SoftwareInventoryCollection",
        &["SoftwareInventoryCollection"],
    ),
    (
        "SoftwareInventory",
        &["SoftwareInventory", "SoftwareInventory.v1_8_0"],
    ),
    ("ProcessorCollection", &["ProcessorCollection"]),
    ("Processor", &["Processor", "Processor.v1_17_0"]),
    ("MemoryCollection", &["MemoryCollection"]),
    ("Memory", &["Memory", "Memory.v1_17_0"]),
    (
        "EthernetInterfaceCollection",
        &["EthernetInterfaceCollection"],
    ),
    (
        "EthernetInterface",
        &["EthernetInterface", "EthernetInterface.v1_9_0"],
    ),
    ("NetworkAdapterCollection", &["NetworkAdapterCollection"]),
    (
        "NetworkAdapter",
        &["NetworkAdapter", "NetworkAdapter.v1_9_0"],
    ),
    (
        "NetworkDeviceFunctionCollection",
        &["NetworkDeviceFunctionCollection"],
    ),
    (
        "NetworkDeviceFunction",
        &["NetworkDeviceFunction", "NetworkDeviceFunction.v1_9_0"],
    ),
    ("Bios", &["Bios", "Bios.v1_2_0"]),
    (
        "AttributeRegistry",
        &["AttributeRegistry", "AttributeRegistry.v1_3_6"],
    ),
    (
        "MessageRegistryFileCollection",
        &["MessageRegistryFileCollection"],
    ),
    (
        "MessageRegistryFile",
        &["MessageRegistryFile", "MessageRegistryFile.v1_1_3"],
    ),
    ("VirtualMediaCollection", &["VirtualMediaCollection"]),
    ("VirtualMedia", &["VirtualMedia", "VirtualMedia.v1_6_0"]),
    ("Settings", &["Settings", "Settings.v1_3_5"]),
    ("Message", &["Message", "Message.v1_1_2"]),
    ("Resource", &["Resource", "Resource.v1_0_0"]),
    ("RedfishExtensions", &["RedfishExtensions.v1_0_0"]),
];

/// DMTF schemas only the flavours with `BootOptions` use.
const BOOT_OPTIONS: &[(&str, &[&str])] = &[
    ("BootOptionCollection", &["BootOptionCollection"]),
    ("BootOption", &["BootOption", "BootOption.v1_0_4"]),
];

/// DMTF schemas only iDRACs use (their jobs as tasks).
const DELL_TASKS: &[(&str, &[&str])] = &[
    ("TaskService", &["TaskService", "TaskService.v1_2_0"]),
    ("TaskCollection", &["TaskCollection"]),
    ("Task", &["Task", "Task.v1_4_3"]),
];

/// Dell OEM schemas, as an iDRAC references them.
const DELL: &[(&str, &[&str])] = &[
    ("DellJobCollection", &["DellJobCollection"]),
    ("DellJob", &["DellJob", "DellJob.v1_5_0"]),
    (
        "DellJobService",
        &["DellJobService", "DellJobService.v1_2_0"],
    ),
];

/// HPE OEM schemas an iLO references for its boot settings.
const HPE: &[(&str, &[&str])] = &[
    ("HpeBiosExt", &["HpeBiosExt", "HpeBiosExt.v2_0_0"]),
    (
        "HpeServerBootSettings",
        &["HpeServerBootSettings", "HpeServerBootSettings.v2_0_0"],
    ),
];

/// Lenovo OEM schemas an XCC references for its boot settings.
const LENOVO: &[(&str, &[&str])] = &[
    (
        "LenovoComputerSystem",
        &["LenovoComputerSystem", "LenovoComputerSystem.v1_0_0"],
    ),
    (
        "LenovoBootManagerCollection",
        &["LenovoBootManagerCollection"],
    ),
    (
        "LenovoBootManager",
        &["LenovoBootManager", "LenovoBootManager.v1_0_0"],
    ),
];

fn reference(xml: &mut String, uri: &str, namespaces: &[&str]) {
    let _ = writeln!(xml, "  <edmx:Reference Uri=\"{uri}\">");
    for namespace in namespaces {
        if *namespace == "RedfishExtensions.v1_0_0" {
            let _ = writeln!(
                xml,
                "    <edmx:Include Namespace=\"{namespace}\" Alias=\"Redfish\"/>"
            );
        } else {
            let _ = writeln!(xml, "    <edmx:Include Namespace=\"{namespace}\"/>");
        }
    }
    xml.push_str("  </edmx:Reference>\n");
}

/// `/redfish/v1/$metadata`.
pub(crate) fn metadata(cx: &Ctx<'_>) -> Reply {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <edmx:Edmx xmlns:edmx=\"http://docs.oasis-open.org/odata/ns/edmx\" Version=\"4.0\">\n",
    );
    let dmtf = DMTF
        .iter()
        .chain(if cx.dell() { DELL_TASKS } else { BOOT_OPTIONS });
    for (file, namespaces) in dmtf {
        reference(
            &mut xml,
            &format!("http://redfish.dmtf.org/schemas/v1/{file}_v1.xml"),
            namespaces,
        );
    }
    let oem = match cx.flavor() {
        Flavor::Dell | Flavor::Idrac10 => DELL,
        Flavor::Hpe => HPE,
        Flavor::Lenovo => LENOVO,
        Flavor::Supermicro | Flavor::Generic => &[],
    };
    for (file, namespaces) in oem {
        reference(
            &mut xml,
            &format!("/redfish/v1/Schemas/{file}_v1.xml"),
            namespaces,
        );
    }
    xml.push_str(
        "  <edmx:DataServices>\n\
         \x20   <Schema xmlns=\"http://docs.oasis-open.org/odata/ns/edm\" Namespace=\"Service\">\n\
         \x20     <EntityContainer Name=\"Service\" Extends=\"ServiceRoot.v1_15_0.ServiceContainer\"/>\n\
         \x20   </Schema>\n\
         \x20 </edmx:DataServices>\n\
         </edmx:Edmx>\n",
    );
    Reply::xml(xml)
}

/// `/redfish/v1/odata`: the service document.
pub(crate) fn odata(_cx: &Ctx<'_>) -> Reply {
    let singleton = |name: &str, url: &str| json!({"name": name, "kind": "Singleton", "url": url});
    Reply::json(
        StatusCode::OK,
        json!({
            "@odata.context": "/redfish/v1/$metadata",
            "value": [
                singleton("Service", "/redfish/v1/"),
                singleton("Systems", "/redfish/v1/Systems"),
                singleton("Chassis", "/redfish/v1/Chassis"),
                singleton("Managers", "/redfish/v1/Managers"),
                singleton("SessionService", "/redfish/v1/SessionService"),
                singleton("Sessions", "/redfish/v1/SessionService/Sessions"),
                singleton("AccountService", "/redfish/v1/AccountService"),
                singleton("UpdateService", "/redfish/v1/UpdateService"),
                singleton("Registries", "/redfish/v1/Registries"),
            ],
        }),
    )
}
