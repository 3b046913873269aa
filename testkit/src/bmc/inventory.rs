//! What inventory tools read: processors, DIMMs, Ethernet interfaces (MACs from the machine's
//! devices), the chassis with `Power`/`PowerControl` (`PowerConsumedWatts`), and the update
//! service's firmware inventory (iDRAC ids start with `Installed-`, as Badfish filters them).

use serde_json::json;

use super::dispatch::Ctx;
use super::messages;
use super::reply::Reply;
use super::service::{collection, link, manufacturer, serial};
use crate::machine::{DeviceKind, Flavor, Phase};

/// A processor model.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cpu {
    /// `Model`.
    pub(crate) model: &'static str,
    /// Cores per socket.
    pub(crate) cores: u32,
    /// Threads per socket.
    pub(crate) threads: u32,
    /// `MaxSpeedMHz`.
    pub(crate) max_mhz: u32,
}

/// The processors of a hardware model (two sockets each).
pub(crate) fn cpu_of(model: &str) -> Cpu {
    match model {
        "r650" | "r750" => Cpu {
            model: "Intel(R) Xeon(R) Gold 6330 CPU @ 2.00GHz",
            cores: 28,
            threads: 56,
            max_mhz: 4000,
        },
        "r660" | "r760" => Cpu {
            model: "Intel(R) Xeon(R) Gold 6430",
            cores: 32,
            threads: 64,
            max_mhz: 4000,
        },
        _ => Cpu {
            model: "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz",
            cores: 20,
            threads: 40,
            max_mhz: 4000,
        },
    }
}

/// DIMM slots populated, and their size.
const DIMMS: [&str; 4] = ["A1", "A2", "B1", "B2"];
const DIMM_MIB: u32 = 32_768;

/// Installed memory in GiB.
pub(crate) fn memory_gib() -> u32 {
    DIMM_MIB / 1024 * DIMMS.len() as u32
}

fn processor_ids(cx: &Ctx<'_>) -> &'static [&'static str] {
    if cx.dell() {
        &["CPU.Socket.1", "CPU.Socket.2", GPU_DELL]
    } else if cx.flavor() == Flavor::Supermicro {
        &["CPU1", "CPU2"]
    } else {
        &["CPU1", "CPU2", GPU_DMTF]
    }
}

/// The GPU an iDRAC lists among the processors (Dell names it by slot).
const GPU_DELL: &str = "Video.Slot.1-1";
/// The GPU of the generic flavour (Supermicro's lab hosts have none).
const GPU_DMTF: &str = "GPU1";

/// One GPU.
fn gpu(uri: &str, id: &str) -> Reply {
    Reply::resource(json!({
        "@odata.id": uri,
        "@odata.type": "#Processor.v1_17_0.Processor",
        "Id": id,
        "Name": "GPU 1",
        "ProcessorType": "GPU",
        "Manufacturer": "NVIDIA Corporation",
        "Model": "NVIDIA A100-PCIE-40GB",
        "Status": {"State": "Enabled", "Health": "OK"},
    }))
}

fn dimm_id(cx: &Ctx<'_>, slot: &str) -> String {
    if cx.dell() {
        format!("DIMM.Socket.{slot}")
    } else {
        format!("DIMM{slot}")
    }
}

/// `Processors`.
pub(crate) fn processors(cx: &Ctx<'_>) -> Reply {
    let uri = format!("{}/Processors", cx.layout.system_uri());
    let members: Vec<String> = processor_ids(cx)
        .iter()
        .map(|id| format!("{uri}/{id}"))
        .collect();
    collection(
        &uri,
        "ProcessorCollection",
        "Processors Collection",
        &members,
    )
}

/// One processor.
pub(crate) fn processor(cx: &Ctx<'_>, id: &str) -> Reply {
    let uri = format!("{}/Processors/{id}", cx.layout.system_uri());
    let Some(socket) = processor_ids(cx).iter().position(|p| *p == id) else {
        return messages::not_found(&uri);
    };
    if id == GPU_DELL || id == GPU_DMTF {
        return gpu(&uri, id);
    }
    let cpu = cpu_of(&cx.m.model);
    Reply::resource(json!({
        "@odata.id": uri,
        "@odata.type": "#Processor.v1_17_0.Processor",
        "Id": id,
        "Name": format!("CPU {}", socket + 1),
        "Socket": format!("CPU.Socket.{}", socket + 1),
        "ProcessorType": "CPU",
        "ProcessorArchitecture": "x86",
        "InstructionSet": "x86-64",
        "Manufacturer": "Intel",
        "Model": cpu.model,
        "MaxSpeedMHz": cpu.max_mhz,
        "TotalCores": cpu.cores,
        "TotalThreads": cpu.threads,
        "Status": {"State": "Enabled", "Health": "OK"},
    }))
}

/// `Memory`.
pub(crate) fn memories(cx: &Ctx<'_>) -> Reply {
    let uri = format!("{}/Memory", cx.layout.system_uri());
    let members: Vec<String> = DIMMS
        .iter()
        .map(|slot| format!("{uri}/{}", dimm_id(cx, slot)))
        .collect();
    collection(&uri, "MemoryCollection", "Memory Collection", &members)
}

/// One DIMM.
pub(crate) fn memory(cx: &Ctx<'_>, id: &str) -> Reply {
    let uri = format!("{}/Memory/{id}", cx.layout.system_uri());
    let Some(slot) = DIMMS.iter().find(|slot| dimm_id(cx, slot) == id) else {
        return messages::not_found(&uri);
    };
    Reply::resource(json!({
        "@odata.id": uri,
        "@odata.type": "#Memory.v1_17_0.Memory",
        "Id": id,
        "Name": format!("DIMM {slot}"),
        "Description": "DIMM",
        "MemoryType": "DRAM",
        "MemoryDeviceType": "DDR4",
        "CapacityMiB": DIMM_MIB,
        "OperatingSpeedMhz": 2933,
        "Manufacturer": "Hynix Semiconductor",
        "PartNumber": "HMA84GR7CJR4N-WM",
        "Status": {"State": "Enabled", "Health": "OK"},
    }))
}

/// `EthernetInterfaces`: one per NIC of the machine, named by its device id.
pub(crate) fn nics(cx: &Ctx<'_>) -> Reply {
    let uri = format!("{}/EthernetInterfaces", cx.layout.system_uri());
    let members: Vec<String> =
        cx.m.devices
            .iter()
            .filter(|d| d.kind == DeviceKind::Nic)
            .map(|d| format!("{uri}/{}", d.id))
            .collect();
    collection(
        &uri,
        "EthernetInterfaceCollection",
        "Ethernet Interface Collection",
        &members,
    )
}

/// One Ethernet interface.
pub(crate) fn nic(cx: &Ctx<'_>, id: &str) -> Reply {
    let uri = format!("{}/EthernetInterfaces/{id}", cx.layout.system_uri());
    let Some(device) =
        cx.m.devices
            .iter()
            .find(|d| d.kind == DeviceKind::Nic && d.id == id)
    else {
        return messages::not_found(&uri);
    };
    let mac = device.mac.clone().unwrap_or_default().to_uppercase();
    Reply::resource(json!({
        "@odata.id": uri,
        "@odata.type": "#EthernetInterface.v1_9_0.EthernetInterface",
        "Id": id,
        "Name": format!("System Ethernet Interface {id}"),
        "Description": "Embedded NIC",
        "MACAddress": mac,
        "PermanentMACAddress": mac,
        "SpeedMbps": 25_000,
        "FullDuplex": true,
        "AutoNeg": true,
        "LinkStatus": "LinkUp",
        "InterfaceEnabled": true,
        "Status": {"State": "Enabled", "Health": "OK"},
    }))
}

/// `Chassis`.
pub(crate) fn chassis_collection(cx: &Ctx<'_>) -> Reply {
    collection(
        "/redfish/v1/Chassis",
        "ChassisCollection",
        "Chassis Collection",
        &[cx.layout.chassis_uri()],
    )
}

fn powered(cx: &Ctx<'_>) -> bool {
    !matches!(cx.m.phase, Phase::Off)
}

/// The chassis.
pub(crate) fn chassis(cx: &Ctx<'_>) -> Reply {
    let layout = cx.layout;
    let uri = layout.chassis_uri();
    Reply::resource(json!({
        "@odata.id": uri,
        "@odata.type": "#Chassis.v1_22_0.Chassis",
        "Id": layout.chassis,
        "Name": "Computer System Chassis",
        "ChassisType": "RackMount",
        "Manufacturer": manufacturer(cx.flavor()),
        "Model": cx.m.model.to_uppercase(),
        "SerialNumber": serial(cx),
        "PowerState": if powered(cx) { "On" } else { "Off" },
        "Status": {"State": "Enabled", "Health": "OK", "HealthRollup": "OK"},
        "Power": link(&format!("{uri}/Power")),
        "NetworkAdapters": link(&format!("{uri}/NetworkAdapters")),
        "Links": {
            "ComputerSystems": [link(&layout.system_uri())],
            "ManagedBy": [link(&layout.manager_uri())],
        },
    }))
}

/// `Chassis/{id}/Power`: `PowerControl[0].PowerConsumedWatts` follows the power state.
pub(crate) fn power(cx: &Ctx<'_>) -> Reply {
    let uri = format!("{}/Power", cx.layout.chassis_uri());
    let watts = if powered(cx) {
        220 + (cx.host_hash(0x3a77) % 120)
    } else {
        14
    };
    Reply::resource(json!({
        "@odata.id": uri,
        "@odata.type": "#Power.v1_7_1.Power",
        "Id": "Power",
        "Name": "Power",
        "PowerControl": [{
            "@odata.id": format!("{uri}#/PowerControl/0"),
            "MemberId": "0",
            "Name": "System Power Control",
            "PowerConsumedWatts": watts,
            "PowerCapacityWatts": 1100,
            "PowerMetrics": {
                "IntervalInMin": 1,
                "MinConsumedWatts": watts.saturating_sub(10),
                "MaxConsumedWatts": watts + 10,
                "AverageConsumedWatts": watts,
            },
            "Status": {"State": "Enabled", "Health": "OK"},
        }],
    }))
}

/// `UpdateService`.
pub(crate) fn update_service(_cx: &Ctx<'_>) -> Reply {
    Reply::resource(json!({
        "@odata.id": "/redfish/v1/UpdateService",
        "@odata.type": "#UpdateService.v1_11_0.UpdateService",
        "Id": "UpdateService",
        "Name": "Update Service",
        "Description": "Represents the properties for the Update Service",
        "ServiceEnabled": true,
        "Status": {"State": "Enabled", "Health": "OK"},
        "FirmwareInventory": link("/redfish/v1/UpdateService/FirmwareInventory"),
    }))
}

/// Firmware components: (id, name, version).
fn components(cx: &Ctx<'_>) -> Vec<(String, &'static str, &'static str)> {
    match cx.flavor() {
        Flavor::Dell | Flavor::Idrac10 => {
            let idrac = if cx.flavor() == Flavor::Idrac10 {
                "1.20.25.00"
            } else {
                "7.00.00.173"
            };
            vec![
                (
                    format!("Installed-25227-{idrac}__iDRAC.Embedded.1-1"),
                    "Integrated Dell Remote Access Controller",
                    idrac,
                ),
                (
                    "Installed-159-2.19.1__BIOS.Setup.1-1".to_owned(),
                    "BIOS",
                    "2.19.1",
                ),
                (
                    "Installed-108255-22.5.7__NIC.Integrated.1-1-1".to_owned(),
                    "Intel(R) Ethernet 25G 2P E810-XXV OCP",
                    "22.5.7",
                ),
                (
                    "Previous-159-2.18.2__BIOS.Setup.1-1".to_owned(),
                    "BIOS",
                    "2.18.2",
                ),
            ]
        }
        Flavor::Supermicro => vec![
            ("BMC".to_owned(), "BMC Firmware", "01.73.14"),
            ("BIOS".to_owned(), "BIOS Firmware", "3.8a"),
        ],
        Flavor::Generic => vec![
            ("BMC".to_owned(), "BMC Firmware", "2.4.0"),
            ("BIOS".to_owned(), "BIOS Firmware", "1.12.0"),
        ],
        Flavor::Hpe => vec![
            ("1".to_owned(), "iLO 5", "2.78"),
            ("2".to_owned(), "System ROM", "U30 v2.80"),
        ],
        Flavor::Lenovo => vec![
            ("BMC-Primary".to_owned(), "XCC Primary", "4.20"),
            ("UEFI".to_owned(), "UEFI", "3.30"),
        ],
    }
}

/// `UpdateService/FirmwareInventory`.
pub(crate) fn firmware_inventory(cx: &Ctx<'_>) -> Reply {
    let uri = "/redfish/v1/UpdateService/FirmwareInventory";
    let members: Vec<String> = components(cx)
        .into_iter()
        .map(|(id, _, _)| format!("{uri}/{id}"))
        .collect();
    collection(
        uri,
        "SoftwareInventoryCollection",
        "Firmware Inventory Collection",
        &members,
    )
}

/// One firmware component.
pub(crate) fn firmware(cx: &Ctx<'_>, id: &str) -> Reply {
    let uri = format!("/redfish/v1/UpdateService/FirmwareInventory/{id}");
    let Some((_, name, version)) = components(cx).into_iter().find(|(c, _, _)| c == id) else {
        return messages::not_found(&uri);
    };
    Reply::resource(json!({
        "@odata.id": uri,
        "@odata.type": "#SoftwareInventory.v1_8_0.SoftwareInventory",
        "Id": id,
        "Name": name,
        "Version": version,
        "Manufacturer": manufacturer(cx.flavor()),
        "Updateable": !id.starts_with("Previous"),
        "Status": {"State": if id.starts_with("Previous") { "StandbyOffline" } else { "Enabled" }, "Health": "OK"},
    }))
}
