//! Redfish wire types: the parts of each resource the operations read. Every field is optional
//! (BMCs differ in what they fill in); unknown fields are ignored.

#![allow(missing_docs)]

use serde::Deserialize;
use serde_json::{Map, Value};

/// `{"@odata.id": "..."}`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Link {
    #[serde(rename = "@odata.id", default)]
    pub id: String,
}

/// A resource collection.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Collection {
    #[serde(rename = "Members")]
    pub members: Vec<Link>,
}

impl Collection {
    pub fn paths(&self) -> Vec<String> {
        self.members.iter().map(|m| m.id.clone()).collect()
    }
}

/// A collection read with `$expand`: the members are resources (or, from a service that
/// ignored the query, bare references), kept as their JSON text, each decoded once into its
/// own type (never through a `Value` tree first).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ExpandedCollection {
    #[serde(rename = "Members")]
    pub members: Vec<Box<serde_json::value::RawValue>>,
}

/// What [`ExpandedCollection`]'s member says of itself: its `@odata.id` and `@odata.etag`, and
/// whether it has any property besides annotations (a bare reference has none). Read by one
/// pass over the member's keys, skipping their values.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MemberHead {
    pub id: Option<String>,
    pub etag: Option<String>,
    pub has_properties: bool,
}

impl<'de> Deserialize<'de> for MemberHead {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = MemberHead;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a resource")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<MemberHead, A::Error> {
                let mut head = MemberHead::default();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match key.as_ref() {
                        "@odata.id" => head.id = map.next_value::<Option<String>>()?,
                        "@odata.etag" => head.etag = map.next_value::<Option<String>>()?,
                        other => {
                            head.has_properties |= !other.starts_with('@');
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(head)
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// `ProtocolFeaturesSupported.ExpandQuery`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "PascalCase")]
pub struct ExpandQuery {
    pub expand_all: Option<bool>,
    pub levels: Option<bool>,
    pub links: Option<bool>,
    pub no_links: Option<bool>,
    pub max_levels: Option<u64>,
}

/// `ProtocolFeaturesSupported`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ProtocolFeatures {
    pub expand_query: Option<ExpandQuery>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct RootLinks {
    pub sessions: Option<Link>,
}

/// `/redfish/v1`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ServiceRoot {
    pub redfish_version: Option<String>,
    pub vendor: Option<String>,
    pub product: Option<String>,
    pub oem: Option<Map<String, Value>>,
    pub systems: Option<Link>,
    pub managers: Option<Link>,
    pub chassis: Option<Link>,
    pub session_service: Option<Link>,
    pub account_service: Option<Link>,
    pub update_service: Option<Link>,
    pub registries: Option<Link>,
    pub links: Option<RootLinks>,
    pub protocol_features_supported: Option<ProtocolFeatures>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ResetAction {
    #[serde(default)]
    pub target: Option<String>,
    #[serde(rename = "ResetType@Redfish.AllowableValues", default)]
    pub allowable: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SystemActions {
    #[serde(rename = "#ComputerSystem.Reset")]
    pub reset: Option<ResetAction>,
    #[serde(rename = "Oem")]
    pub oem: Option<SystemOemActions>,
}

/// A system's `Actions.Oem`: the vendor actions the operations use.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SystemOemActions {
    /// iLO 5/6's own place for its actions, under its vendor key.
    #[serde(rename = "Hpe")]
    pub hpe: Option<HpeSystemActions>,
    /// The same action where DSP0266 puts OEM actions (keyed `#Namespace.Action` directly
    /// under `Actions.Oem`).
    #[serde(rename = "#HpeComputerSystemExt.SystemReset")]
    pub hpe_system_reset: Option<ResetAction>,
}

/// iLO 5/6 `Actions.Oem.Hpe` of a `ComputerSystem`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct HpeSystemActions {
    /// `HpeComputerSystemExt.SystemReset`: `ColdBoot` (iLO's own power cycle) and `AuxCycle`
    /// (an auxiliary power cycle), with its target.
    #[serde(rename = "#HpeComputerSystemExt.SystemReset")]
    pub system_reset: Option<ResetAction>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ManagerActions {
    #[serde(rename = "#Manager.Reset")]
    pub reset: Option<ResetAction>,
}

/// `ComputerSystem.Boot`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Boot {
    pub boot_source_override_target: Option<String>,
    pub boot_source_override_enabled: Option<String>,
    pub boot_source_override_mode: Option<String>,
    #[serde(rename = "BootSourceOverrideTarget@Redfish.AllowableValues")]
    pub allowable_targets: Vec<String>,
    pub boot_order: Vec<String>,
    pub boot_options: Option<Link>,
    pub boot_next: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ProcessorSummary {
    pub count: Option<u64>,
    pub logical_processor_count: Option<u64>,
    pub model: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct MemorySummary {
    #[serde(rename = "TotalSystemMemoryGiB")]
    pub total_gib: Option<f64>,
    pub memory_mirroring: Option<String>,
}

/// `ComputerSystem`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ComputerSystem {
    pub id: Option<String>,
    pub power_state: Option<String>,
    pub boot: Option<Boot>,
    pub actions: Option<SystemActions>,
    pub serial_number: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    #[serde(rename = "SKU")]
    pub sku: Option<String>,
    pub bios: Option<Link>,
    pub ethernet_interfaces: Option<Link>,
    pub processors: Option<Link>,
    pub memory: Option<Link>,
    pub virtual_media: Option<Link>,
    pub links: Option<Map<String, Value>>,
    pub processor_summary: Option<ProcessorSummary>,
    pub memory_summary: Option<MemorySummary>,
    pub boot_progress: Option<BootProgress>,
    /// Where settings applied at the next reset are written (iLO `Systems/1/Settings`, XCC
    /// `Systems/1/Pending`, iDRAC10 `Systems/…/Settings`).
    #[serde(rename = "@Redfish.Settings")]
    pub settings: Option<SettingsObject>,
    pub oem: Option<Map<String, Value>>,
}

/// `ComputerSystem.BootProgress` (v1.13 and later).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct BootProgress {
    pub last_state: Option<String>,
}

/// `Manager`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Manager {
    pub id: Option<String>,
    pub model: Option<String>,
    pub manufacturer: Option<String>,
    pub firmware_version: Option<String>,
    pub actions: Option<ManagerActions>,
    pub virtual_media: Option<Link>,
    pub links: Option<Map<String, Value>>,
    pub oem: Option<Map<String, Value>>,
}

/// A Redfish `Task`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Task {
    pub id: Option<String>,
    pub task_state: Option<String>,
    pub task_status: Option<String>,
    pub percent_complete: Option<u64>,
    pub messages: Vec<Value>,
}

/// A Dell job (`DellJob`, also served for DMTF `Job`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DellJob {
    pub id: Option<String>,
    pub name: Option<String>,
    pub job_state: Option<String>,
    pub job_type: Option<String>,
    pub message: Option<String>,
    pub message_id: Option<String>,
    pub percent_complete: Option<u64>,
}

/// One entry of Dell `BootSources` `BootSeq`/`UefiBootSeq`.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct BootSourceEntry {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub index: usize,
    #[serde(default)]
    pub name: String,
}

/// Dell `BootSources`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct BootSources {
    pub attributes: Map<String, Value>,
}

/// DMTF `BootOption`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct BootOption {
    pub id: Option<String>,
    pub name: Option<String>,
    pub boot_option_reference: Option<String>,
    pub display_name: Option<String>,
    pub alias: Option<String>,
    pub uefi_device_path: Option<String>,
    pub boot_option_enabled: Option<bool>,
    /// iLO: `Hpe.StructuredBootString` (`NIC.LOM.1.1.IPv4`), the name its tools use.
    pub oem: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SettingsObject {
    #[serde(rename = "SettingsObject")]
    pub settings_object: Option<Link>,
}

/// `Bios`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Bios {
    #[serde(rename = "Attributes")]
    pub attributes: Map<String, Value>,
    #[serde(rename = "AttributeRegistry")]
    pub attribute_registry: Option<String>,
    #[serde(rename = "@Redfish.Settings")]
    pub settings: Option<SettingsObject>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RegistryValue {
    #[serde(rename = "ValueName")]
    pub value_name: String,
}

/// One attribute of a BIOS attribute registry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct RegistryAttribute {
    pub attribute_name: String,
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    pub read_only: Option<bool>,
    pub value: Vec<RegistryValue>,
    pub lower_bound: Option<i64>,
    pub upper_bound: Option<i64>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RegistryEntries {
    #[serde(rename = "Attributes")]
    pub attributes: Vec<RegistryAttribute>,
}

/// A BIOS `AttributeRegistry`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AttributeRegistry {
    #[serde(rename = "RegistryEntries")]
    pub entries: RegistryEntries,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RegistryLocation {
    #[serde(rename = "Uri")]
    pub uri: Option<String>,
}

/// A `MessageRegistryFile` (where a registry lives).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RegistryFile {
    #[serde(rename = "Location")]
    pub location: Vec<RegistryLocation>,
}

/// `AccountService`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct AccountService {
    pub accounts: Option<Link>,
}

/// `ManagerAccount`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Account {
    pub id: Option<String>,
    pub user_name: Option<String>,
    pub role_id: Option<String>,
    pub enabled: Option<bool>,
    pub locked: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ActionTarget {
    #[serde(default)]
    pub target: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VirtualMediaActions {
    #[serde(rename = "#VirtualMedia.InsertMedia")]
    pub insert: Option<ActionTarget>,
    #[serde(rename = "#VirtualMedia.EjectMedia")]
    pub eject: Option<ActionTarget>,
}

/// `VirtualMedia`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct VirtualMedia {
    pub id: Option<String>,
    pub name: Option<String>,
    pub image: Option<String>,
    pub image_name: Option<String>,
    pub inserted: Option<bool>,
    pub media_types: Vec<String>,
    pub actions: Option<VirtualMediaActions>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Status {
    pub state: Option<String>,
    pub health: Option<String>,
}

/// `SoftwareInventory`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct SoftwareInventory {
    pub id: Option<String>,
    pub name: Option<String>,
    pub version: Option<String>,
    pub manufacturer: Option<String>,
    pub updateable: Option<bool>,
    pub status: Option<Status>,
    /// Every other property (`ReleaseDate`, `SoftwareId`, ...), for tools that print them all.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `UpdateService`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct UpdateService {
    pub firmware_inventory: Option<Link>,
}

/// `EthernetInterface`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct EthernetInterface {
    pub id: Option<String>,
    pub name: Option<String>,
    #[serde(rename = "MACAddress")]
    pub mac_address: Option<String>,
    pub link_status: Option<String>,
    pub speed_mbps: Option<u64>,
    pub status: Option<Status>,
}

/// `Processor`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Processor {
    pub id: Option<String>,
    pub name: Option<String>,
    pub model: Option<String>,
    pub manufacturer: Option<String>,
    pub processor_type: Option<String>,
    pub instruction_set: Option<String>,
    pub total_cores: Option<u64>,
    pub total_threads: Option<u64>,
    #[serde(rename = "MaxSpeedMHz")]
    pub max_speed_mhz: Option<u64>,
}

/// `Memory`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Memory {
    pub id: Option<String>,
    pub name: Option<String>,
    #[serde(rename = "CapacityMiB")]
    pub capacity_mib: Option<u64>,
    pub manufacturer: Option<String>,
    pub memory_device_type: Option<String>,
    pub operating_speed_mhz: Option<u64>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PowerControl {
    pub power_consumed_watts: Option<f64>,
}

/// `Power` (chassis).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Power {
    pub power_control: Vec<PowerControl>,
}

/// The answer of Dell's `DellOSDeploymentService.GetAttachStatus`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DellAttachStatus {
    /// `Attached` or `NotAttached`.
    #[serde(rename = "ISOAttachStatus")]
    pub iso: Option<String>,
    /// The driver pack's status.
    #[serde(rename = "DriversAttachStatus")]
    pub drivers: Option<String>,
}

/// The answer of Dell's `DellLCService.GetRemoteServicesAPIStatus`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DellLcStatus {
    /// The Lifecycle Controller's state: `Ready` when it takes configuration.
    #[serde(rename = "LCStatus")]
    pub lc: Option<String>,
    /// The remote services' state as a whole (`Ready`, `NotReady`).
    #[serde(rename = "Status")]
    pub status: Option<String>,
}

/// The answer of Dell's `DellLCService.ExportServerScreenShot`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DellScreenshot {
    /// The image, base64-encoded.
    #[serde(rename = "ServerScreenShotFile")]
    pub file: Option<String>,
}
