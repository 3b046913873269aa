//! Where each flavour keeps its resources, and the route table: a request path becomes a
//! [`Route`] plus the endpoint template the request log counts it under.
//!
//! Paths differ by flavour as on real BMCs: iDRAC9 keeps Dell OEM resources at `BootSources`,
//! `Managers/iDRAC.Embedded.1/Jobs` and `/redfish/v1/Dell/Managers/...`; iDRAC10 moved them under
//! `Oem/Dell` (and serves virtual media under the system only); Supermicro uses `Systems/1`,
//! `Managers/1` and `Managers/1/VM1` (linked from nowhere: the manager offers no DMTF
//! collection, so clients find it by vendor); the generic flavour is plain DMTF, with virtual
//! media under the system; HPE iLO and Lenovo XCC use `Systems/1`, `Managers/1`, virtual media
//! under the manager, and stage `Boot.BootOrder` in the system's settings object (iLO
//! `Systems/1/Settings`, XCC `Systems/1/Pending`).

use super::dell_os_deploy::OsdAction;
use super::dell_scp::ScpAction;
use super::network::NIC_REGISTRY_PREFIX;
use crate::machine::Flavor;

/// Identifiers and OEM paths of one flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    /// The flavour.
    pub(crate) flavor: Flavor,
    /// The system's `Id`.
    pub(crate) system: &'static str,
    /// The manager's `Id`.
    pub(crate) manager: &'static str,
    /// The chassis' `Id`.
    pub(crate) chassis: &'static str,
}

impl Layout {
    /// The layout of `flavor`.
    pub(crate) fn of(flavor: Flavor) -> Self {
        let (system, manager, chassis) = match flavor {
            Flavor::Dell | Flavor::Idrac10 => {
                ("System.Embedded.1", "iDRAC.Embedded.1", "System.Embedded.1")
            }
            Flavor::Supermicro | Flavor::Hpe | Flavor::Lenovo => ("1", "1", "1"),
            Flavor::Generic => ("system", "bmc", "chassis"),
        };
        Self {
            flavor,
            system,
            manager,
            chassis,
        }
    }

    /// Whether this is a Dell iDRAC.
    pub(crate) fn dell(self) -> bool {
        self.flavor.is_dell()
    }

    /// `/redfish/v1/Systems/{id}`.
    pub(crate) fn system_uri(self) -> String {
        format!("/redfish/v1/Systems/{}", self.system)
    }

    /// `/redfish/v1/Managers/{id}`.
    pub(crate) fn manager_uri(self) -> String {
        format!("/redfish/v1/Managers/{}", self.manager)
    }

    /// `/redfish/v1/Chassis/{id}`.
    pub(crate) fn chassis_uri(self) -> String {
        format!("/redfish/v1/Chassis/{}", self.chassis)
    }

    /// The system's `@Redfish.Settings` object, where it has one (iDRAC10, HPE, Lenovo).
    pub(crate) fn system_settings_uri(self) -> Option<String> {
        let tail = match self.flavor {
            Flavor::Idrac10 | Flavor::Hpe => "Settings",
            Flavor::Lenovo => "Pending",
            Flavor::Dell | Flavor::Supermicro | Flavor::Generic => return None,
        };
        Some(format!("{}/{tail}", self.system_uri()))
    }

    /// Dell's boot-sources resource.
    pub(crate) fn boot_sources_uri(self) -> String {
        match self.flavor {
            Flavor::Idrac10 => format!("{}/Oem/Dell/DellBootSources", self.system_uri()),
            _ => format!("{}/BootSources", self.system_uri()),
        }
    }

    /// Dell's job collection.
    pub(crate) fn jobs_uri(self) -> String {
        match self.flavor {
            Flavor::Idrac10 => format!("{}/Oem/Dell/Jobs", self.manager_uri()),
            _ => format!("{}/Jobs", self.manager_uri()),
        }
    }

    /// Dell's job service.
    pub(crate) fn job_service_uri(self) -> String {
        match self.flavor {
            Flavor::Idrac10 => format!("{}/Oem/Dell/DellJobService", self.manager_uri()),
            _ => format!("/redfish/v1/Dell/Managers/{}/DellJobService", self.manager),
        }
    }

    /// Dell's Lifecycle Controller service.
    pub(crate) fn lc_service_uri(self) -> String {
        match self.flavor {
            Flavor::Idrac10 => format!("{}/Oem/Dell/DellLCService", self.manager_uri()),
            _ => format!("/redfish/v1/Dell/Managers/{}/DellLCService", self.manager),
        }
    }

    /// Dell's OS Deployment service (network ISO), on the Dell flavours only.
    pub(crate) fn os_deployment_uri(self) -> Option<String> {
        match self.flavor {
            Flavor::Dell => Some(format!(
                "/redfish/v1/Dell/Systems/{}/DellOSDeploymentService",
                self.system
            )),
            Flavor::Idrac10 => Some(format!(
                "{}/Oem/Dell/DellOSDeploymentService",
                self.system_uri()
            )),
            Flavor::Supermicro | Flavor::Generic | Flavor::Hpe | Flavor::Lenovo => None,
        }
    }

    /// The virtual media collection.
    pub(crate) fn vmedia_uri(self) -> String {
        match self.flavor {
            Flavor::Idrac10 | Flavor::Generic => format!("{}/VirtualMedia", self.system_uri()),
            Flavor::Supermicro => format!("{}/VM1", self.manager_uri()),
            Flavor::Dell | Flavor::Hpe | Flavor::Lenovo => {
                format!("{}/VirtualMedia", self.manager_uri())
            }
        }
    }

    /// The virtual media devices (`Id`, is it the CD).
    pub(crate) fn vmedia_devices(self) -> &'static [(&'static str, bool)] {
        match self.flavor {
            Flavor::Dell => &[("CD", true), ("RemovableDisk", false)],
            Flavor::Idrac10 => &[("1", true), ("2", false)],
            Flavor::Supermicro => &[("CD1", true)],
            Flavor::Generic => &[("CD1", true), ("USB1", false)],
            Flavor::Hpe => &[("1", false), ("2", true)],
            Flavor::Lenovo => &[("EXT1", true), ("EXT2", false)],
        }
    }

    /// Supermicro's virtual CD configuration.
    pub(crate) fn smc_media_config_uri(self) -> String {
        format!("{}/VM1/CfgCD", self.manager_uri())
    }
}

/// A resource or action of a BMC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `/redfish`.
    Versions,
    /// `/redfish/v1`.
    Root,
    /// `/redfish/v1/odata`.
    OData,
    /// `/redfish/v1/$metadata`.
    Metadata,
    /// `SessionService`.
    SessionService,
    /// `SessionService/Sessions`.
    Sessions,
    /// One session.
    Session(String),
    /// `AccountService`.
    AccountService,
    /// `AccountService/Accounts`.
    Accounts,
    /// One account.
    Account(String),
    /// `AccountService/Roles`.
    Roles,
    /// One role.
    Role(String),
    /// `Systems`.
    Systems,
    /// The system.
    System,
    /// The system's settings object: iDRAC10's `Systems/{id}/Settings` (where boot overrides
    /// are written), HPE's `Systems/1/Settings` and Lenovo's `Systems/1/Pending` (where
    /// `Boot.BootOrder` is staged).
    SystemSettings,
    /// `ComputerSystem.Reset`.
    SystemReset,
    /// HPE iLO's `Actions/Oem/Hpe/HpeComputerSystemExt.SystemReset` (`ColdBoot`, `AuxCycle`),
    /// also at `Actions/Oem/HpeComputerSystemExt.SystemReset` (DSP0266's place).
    HpeSystemReset,
    /// `Processors`.
    Processors,
    /// One processor.
    Processor(String),
    /// `Memory`.
    Memories,
    /// One DIMM.
    Memory(String),
    /// `EthernetInterfaces`.
    Nics,
    /// One interface.
    Nic(String),
    /// `Bios`.
    Bios,
    /// `Bios/Settings`.
    BiosSettings,
    /// `Bios.ResetBios`.
    BiosReset,
    /// `Bios.ChangePassword` (not on Supermicro).
    BiosChangePassword,
    /// The BIOS attribute registry (Dell `Bios/BiosRegistry`, or under `Registries`).
    BiosRegistry,
    /// `BootOptions`.
    BootOptions,
    /// One boot option.
    BootOption(String),
    /// Dell boot sources.
    BootSources,
    /// Dell boot sources' settings.
    BootSourcesSettings,
    /// iLO's `Bios/Boot` (`HpeServerBootSettings`).
    HpeBoot,
    /// iLO's `Bios/Boot/Settings`, the order staged for the next POST.
    HpeBootSettings,
    /// XCC's `Oem/Lenovo/BootSettings` collection.
    LenovoBootSettings,
    /// XCC's `Oem/Lenovo/BootSettings/BootOrder.BootOrder`.
    LenovoBootOrder,
    /// `Chassis`.
    ChassisCollection,
    /// The chassis.
    Chassis,
    /// `Chassis/{id}/Power`.
    Power,
    /// `Chassis/{id}/NetworkAdapters`.
    NetworkAdapters,
    /// One adapter.
    NetworkAdapter(String),
    /// An adapter's `NetworkDeviceFunctions`.
    NetworkDeviceFunctions(String),
    /// One device function: adapter, port FQDD.
    NetworkDeviceFunction(String, String),
    /// Dell `DellNetworkAttributes/{fqdd}` of a device function: adapter, port FQDD.
    NicAttributes(String, String),
    /// Its `Settings`: adapter, port FQDD.
    NicSettings(String, String),
    /// A port's attribute registry (`NetworkAttributesRegistry_{fqdd}`).
    NicRegistry(String),
    /// `Managers`.
    Managers,
    /// The manager.
    Manager,
    /// `Manager.Reset`.
    ManagerReset,
    /// The virtual media collection (Supermicro: `VM1`).
    VirtualMediaCollection,
    /// One virtual media device.
    VirtualMedia(String),
    /// `VirtualMedia.InsertMedia`.
    InsertMedia(String),
    /// `VirtualMedia.EjectMedia`.
    EjectMedia(String),
    /// Supermicro `VM1/CfgCD`.
    SmcMediaConfig,
    /// Supermicro `IsoConfig.Mount`.
    SmcMount,
    /// Supermicro `IsoConfig.UnMount`.
    SmcUnmount,
    /// Dell jobs.
    Jobs,
    /// One Dell job.
    Job(String),
    /// `DellJobService`.
    JobService,
    /// `DellJobService.DeleteJobQueue`.
    DeleteJobQueue,
    /// `DellLCService`.
    LcService,
    /// `DellLCService.ExportServerScreenShot`.
    LcScreenshot,
    /// `DellLCService.GetRemoteServicesAPIStatus`.
    LcStatus,
    /// An iDRAC manager's Server Configuration Profile action (`EID_674_Manager.…`).
    ScpAction(ScpAction),
    /// `DellOSDeploymentService`.
    OsDeployment,
    /// One action of `DellOSDeploymentService`.
    OsDeploymentAction(OsdAction),
    /// `UpdateService`.
    UpdateService,
    /// `UpdateService/FirmwareInventory`.
    FirmwareInventory,
    /// One firmware component.
    Firmware(String),
    /// `Registries`.
    Registries,
    /// One registry file entry.
    Registry(String),
    /// `TaskService` (iDRAC: its jobs as DMTF tasks).
    TaskService,
    /// `TaskService/Tasks`.
    Tasks,
    /// One task.
    Task(String),
}

/// A matched route and the endpoint template it is counted under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Routed {
    /// The route.
    pub(crate) route: Route,
    /// The template, e.g. `/redfish/v1/Systems/:id/Bios/Settings`.
    pub(crate) template: &'static str,
}

/// The name of the BIOS attribute registry (`Bios.AttributeRegistry`).
pub(crate) const BIOS_REGISTRY: &str = "BiosAttributeRegistry.v1_0_0";

/// Matches a path (percent-decoded, without query) against the flavour's resources.
pub(crate) fn route(layout: Layout, path: &str) -> Option<Routed> {
    let path = path.trim_end_matches('/');
    if path == "/redfish" {
        return Some(routed(Route::Versions, "/redfish"));
    }
    let rest = path.strip_prefix("/redfish/v1")?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let owned = |s: &str| s.to_owned();
    let r = match segments.as_slice() {
        [] => routed(Route::Root, "/redfish/v1"),
        ["odata"] => routed(Route::OData, "/redfish/v1/odata"),
        ["$metadata"] => routed(Route::Metadata, "/redfish/v1/$metadata"),
        ["SessionService"] => routed(Route::SessionService, "/redfish/v1/SessionService"),
        ["SessionService", "Sessions"] => {
            routed(Route::Sessions, "/redfish/v1/SessionService/Sessions")
        }
        ["SessionService", "Sessions", id] => routed(
            Route::Session(owned(id)),
            "/redfish/v1/SessionService/Sessions/:id",
        ),
        ["AccountService"] => routed(Route::AccountService, "/redfish/v1/AccountService"),
        ["AccountService", "Accounts"] => {
            routed(Route::Accounts, "/redfish/v1/AccountService/Accounts")
        }
        ["AccountService", "Accounts", id] => routed(
            Route::Account(owned(id)),
            "/redfish/v1/AccountService/Accounts/:id",
        ),
        ["AccountService", "Roles"] => routed(Route::Roles, "/redfish/v1/AccountService/Roles"),
        ["AccountService", "Roles", id] => routed(
            Route::Role(owned(id)),
            "/redfish/v1/AccountService/Roles/:id",
        ),
        ["Systems"] => routed(Route::Systems, "/redfish/v1/Systems"),
        ["Systems", id, rest @ ..] if *id == layout.system => system_route(layout, rest)?,
        ["Chassis"] => routed(Route::ChassisCollection, "/redfish/v1/Chassis"),
        ["Chassis", id] if *id == layout.chassis => {
            routed(Route::Chassis, "/redfish/v1/Chassis/:id")
        }
        ["Chassis", id, "Power"] if *id == layout.chassis => {
            routed(Route::Power, "/redfish/v1/Chassis/:id/Power")
        }
        ["Chassis", id, "NetworkAdapters", rest @ ..] if *id == layout.chassis => {
            adapter_route(layout, rest)?
        }
        ["Managers"] => routed(Route::Managers, "/redfish/v1/Managers"),
        ["Managers", id, rest @ ..] if *id == layout.manager => manager_route(layout, rest)?,
        ["UpdateService"] => routed(Route::UpdateService, "/redfish/v1/UpdateService"),
        ["UpdateService", "FirmwareInventory"] => routed(
            Route::FirmwareInventory,
            "/redfish/v1/UpdateService/FirmwareInventory",
        ),
        ["UpdateService", "FirmwareInventory", id] => routed(
            Route::Firmware(owned(id)),
            "/redfish/v1/UpdateService/FirmwareInventory/:id",
        ),
        ["Registries"] => routed(Route::Registries, "/redfish/v1/Registries"),
        ["TaskService"] if layout.dell() => routed(Route::TaskService, "/redfish/v1/TaskService"),
        ["TaskService", "Tasks"] if layout.dell() => {
            routed(Route::Tasks, "/redfish/v1/TaskService/Tasks")
        }
        ["TaskService", "Tasks", id] if layout.dell() => {
            routed(Route::Task(owned(id)), "/redfish/v1/TaskService/Tasks/:id")
        }
        ["Registries", id] => routed(Route::Registry(owned(id)), "/redfish/v1/Registries/:id"),
        ["Registries", id, file] if *id == BIOS_REGISTRY && file.starts_with(BIOS_REGISTRY) => {
            routed(Route::BiosRegistry, "/redfish/v1/Registries/:id/:file")
        }
        ["Registries", id, file]
            if layout.dell()
                && id.starts_with(NIC_REGISTRY_PREFIX)
                && *file == format!("{id}.json") =>
        {
            routed(
                Route::NicRegistry(owned(id)),
                "/redfish/v1/Registries/:id/:file",
            )
        }
        ["Dell", "Managers", id, rest @ ..]
            if layout.flavor == Flavor::Dell && *id == layout.manager =>
        {
            match rest {
                ["DellJobService"] => routed(
                    Route::JobService,
                    "/redfish/v1/Dell/Managers/:id/DellJobService",
                ),
                ["DellJobService", "Actions", "DellJobService.DeleteJobQueue"] => routed(
                    Route::DeleteJobQueue,
                    "/redfish/v1/Dell/Managers/:id/DellJobService/Actions/DellJobService.DeleteJobQueue",
                ),
                ["DellLCService"] => routed(
                    Route::LcService,
                    "/redfish/v1/Dell/Managers/:id/DellLCService",
                ),
                [
                    "DellLCService",
                    "Actions",
                    "DellLCService.GetRemoteServicesAPIStatus",
                ] => routed(
                    Route::LcStatus,
                    "/redfish/v1/Dell/Managers/:id/DellLCService/Actions/DellLCService.GetRemoteServicesAPIStatus",
                ),
                [
                    "DellLCService",
                    "Actions",
                    "DellLCService.ExportServerScreenShot",
                ] => routed(
                    Route::LcScreenshot,
                    "/redfish/v1/Dell/Managers/:id/DellLCService/Actions/DellLCService.ExportServerScreenShot",
                ),
                _ => return None,
            }
        }
        ["Dell", "Systems", id, "DellOSDeploymentService", tail @ ..]
            if layout.flavor == Flavor::Dell && *id == layout.system =>
        {
            os_deployment_route(tail, OsdParent::DellTree)?
        }
        _ => return None,
    };
    Some(r)
}

fn routed(route: Route, template: &'static str) -> Routed {
    Routed { route, template }
}

/// Under `Chassis/{id}/NetworkAdapters` (the Dell OEM attributes on iDRACs only).
fn adapter_route(layout: Layout, rest: &[&str]) -> Option<Routed> {
    const BASE: &str = "/redfish/v1/Chassis/:id/NetworkAdapters";
    let owned = |s: &&str| (*s).to_owned();
    Some(match rest {
        [] => routed(Route::NetworkAdapters, BASE),
        [a] => routed(
            Route::NetworkAdapter(owned(a)),
            "/redfish/v1/Chassis/:id/NetworkAdapters/:id",
        ),
        [a, "NetworkDeviceFunctions"] => routed(
            Route::NetworkDeviceFunctions(owned(a)),
            "/redfish/v1/Chassis/:id/NetworkAdapters/:id/NetworkDeviceFunctions",
        ),
        [a, "NetworkDeviceFunctions", f] => routed(
            Route::NetworkDeviceFunction(owned(a), owned(f)),
            "/redfish/v1/Chassis/:id/NetworkAdapters/:id/NetworkDeviceFunctions/:id",
        ),
        [
            a,
            "NetworkDeviceFunctions",
            f,
            "Oem",
            "Dell",
            "DellNetworkAttributes",
            g,
        ] if layout.dell() && f == g => routed(
            Route::NicAttributes(owned(a), owned(f)),
            "/redfish/v1/Chassis/:id/NetworkAdapters/:id/NetworkDeviceFunctions/:id/Oem/Dell/DellNetworkAttributes/:id",
        ),
        [
            a,
            "NetworkDeviceFunctions",
            f,
            "Oem",
            "Dell",
            "DellNetworkAttributes",
            g,
            "Settings",
        ] if layout.dell() && f == g => routed(
            Route::NicSettings(owned(a), owned(f)),
            "/redfish/v1/Chassis/:id/NetworkAdapters/:id/NetworkDeviceFunctions/:id/Oem/Dell/DellNetworkAttributes/:id/Settings",
        ),
        _ => return None,
    })
}

fn system_route(layout: Layout, rest: &[&str]) -> Option<Routed> {
    let owned = |s: &&str| (*s).to_owned();
    let flavor = layout.flavor;
    let dell = layout.dell();
    let r = match rest {
        [] => routed(Route::System, "/redfish/v1/Systems/:id"),
        ["Settings"] if matches!(flavor, Flavor::Idrac10 | Flavor::Hpe) => {
            routed(Route::SystemSettings, "/redfish/v1/Systems/:id/Settings")
        }
        ["Pending"] if flavor == Flavor::Lenovo => {
            routed(Route::SystemSettings, "/redfish/v1/Systems/:id/Pending")
        }
        ["Actions", "ComputerSystem.Reset"] => routed(
            Route::SystemReset,
            "/redfish/v1/Systems/:id/Actions/ComputerSystem.Reset",
        ),
        ["Actions", "Oem", "Hpe", "HpeComputerSystemExt.SystemReset"] if flavor == Flavor::Hpe => {
            routed(
                Route::HpeSystemReset,
                "/redfish/v1/Systems/:id/Actions/Oem/Hpe/HpeComputerSystemExt.SystemReset",
            )
        }
        ["Actions", "Oem", "HpeComputerSystemExt.SystemReset"] if flavor == Flavor::Hpe => routed(
            Route::HpeSystemReset,
            "/redfish/v1/Systems/:id/Actions/Oem/HpeComputerSystemExt.SystemReset",
        ),
        ["Processors"] => routed(Route::Processors, "/redfish/v1/Systems/:id/Processors"),
        ["Processors", id] => routed(
            Route::Processor(owned(id)),
            "/redfish/v1/Systems/:id/Processors/:id",
        ),
        ["Memory"] => routed(Route::Memories, "/redfish/v1/Systems/:id/Memory"),
        ["Memory", id] => routed(
            Route::Memory(owned(id)),
            "/redfish/v1/Systems/:id/Memory/:id",
        ),
        ["EthernetInterfaces"] => routed(Route::Nics, "/redfish/v1/Systems/:id/EthernetInterfaces"),
        ["EthernetInterfaces", id] => routed(
            Route::Nic(owned(id)),
            "/redfish/v1/Systems/:id/EthernetInterfaces/:id",
        ),
        ["Bios"] => routed(Route::Bios, "/redfish/v1/Systems/:id/Bios"),
        ["Bios", "Settings"] => {
            routed(Route::BiosSettings, "/redfish/v1/Systems/:id/Bios/Settings")
        }
        ["Bios", "Actions", "Bios.ResetBios"] => routed(
            Route::BiosReset,
            "/redfish/v1/Systems/:id/Bios/Actions/Bios.ResetBios",
        ),
        ["Bios", "Actions", "Bios.ChangePassword"] if flavor != Flavor::Supermicro => routed(
            Route::BiosChangePassword,
            "/redfish/v1/Systems/:id/Bios/Actions/Bios.ChangePassword",
        ),
        ["Bios", "BiosRegistry"] if dell => routed(
            Route::BiosRegistry,
            "/redfish/v1/Systems/:id/Bios/BiosRegistry",
        ),
        ["Bios", "Boot"] if flavor == Flavor::Hpe => {
            routed(Route::HpeBoot, "/redfish/v1/Systems/:id/Bios/Boot")
        }
        ["Bios", "Boot", "Settings"] if flavor == Flavor::Hpe => routed(
            Route::HpeBootSettings,
            "/redfish/v1/Systems/:id/Bios/Boot/Settings",
        ),
        ["Oem", "Lenovo", "BootSettings"] if flavor == Flavor::Lenovo => routed(
            Route::LenovoBootSettings,
            "/redfish/v1/Systems/:id/Oem/Lenovo/BootSettings",
        ),
        ["Oem", "Lenovo", "BootSettings", "BootOrder.BootOrder"] if flavor == Flavor::Lenovo => {
            routed(
                Route::LenovoBootOrder,
                "/redfish/v1/Systems/:id/Oem/Lenovo/BootSettings/BootOrder.BootOrder",
            )
        }
        ["BootOptions"] if !dell => {
            routed(Route::BootOptions, "/redfish/v1/Systems/:id/BootOptions")
        }
        ["BootOptions", id] if !dell => routed(
            Route::BootOption(owned(id)),
            "/redfish/v1/Systems/:id/BootOptions/:id",
        ),
        ["BootSources"] if flavor == Flavor::Dell => {
            routed(Route::BootSources, "/redfish/v1/Systems/:id/BootSources")
        }
        ["BootSources", "Settings"] if flavor == Flavor::Dell => routed(
            Route::BootSourcesSettings,
            "/redfish/v1/Systems/:id/BootSources/Settings",
        ),
        ["Oem", "Dell", "DellBootSources"] if flavor == Flavor::Idrac10 => routed(
            Route::BootSources,
            "/redfish/v1/Systems/:id/Oem/Dell/DellBootSources",
        ),
        ["Oem", "Dell", "DellBootSources", "Settings"] if flavor == Flavor::Idrac10 => routed(
            Route::BootSourcesSettings,
            "/redfish/v1/Systems/:id/Oem/Dell/DellBootSources/Settings",
        ),
        ["VirtualMedia", tail @ ..] if matches!(flavor, Flavor::Idrac10 | Flavor::Generic) => {
            vmedia_route(tail, VmediaParent::System)?
        }
        ["Oem", "Dell", "DellOSDeploymentService", tail @ ..] if flavor == Flavor::Idrac10 => {
            os_deployment_route(tail, OsdParent::SystemOem)?
        }
        _ => return None,
    };
    Some(r)
}

fn manager_route(layout: Layout, rest: &[&str]) -> Option<Routed> {
    let owned = |s: &&str| (*s).to_owned();
    let flavor = layout.flavor;
    let r = match rest {
        [] => routed(Route::Manager, "/redfish/v1/Managers/:id"),
        ["Actions", "Manager.Reset"] => routed(
            Route::ManagerReset,
            "/redfish/v1/Managers/:id/Actions/Manager.Reset",
        ),
        ["VirtualMedia", tail @ ..]
            if matches!(flavor, Flavor::Dell | Flavor::Hpe | Flavor::Lenovo) =>
        {
            vmedia_route(tail, VmediaParent::Manager)?
        }
        ["VM1"] if flavor == Flavor::Supermicro => routed(
            Route::VirtualMediaCollection,
            "/redfish/v1/Managers/:id/VM1",
        ),
        ["VM1", "CfgCD"] if flavor == Flavor::Supermicro => {
            routed(Route::SmcMediaConfig, "/redfish/v1/Managers/:id/VM1/CfgCD")
        }
        ["VM1", "CfgCD", "Actions", "IsoConfig.Mount"] if flavor == Flavor::Supermicro => routed(
            Route::SmcMount,
            "/redfish/v1/Managers/:id/VM1/CfgCD/Actions/IsoConfig.Mount",
        ),
        ["VM1", "CfgCD", "Actions", "IsoConfig.UnMount"] if flavor == Flavor::Supermicro => routed(
            Route::SmcUnmount,
            "/redfish/v1/Managers/:id/VM1/CfgCD/Actions/IsoConfig.UnMount",
        ),
        ["VM1", id] if flavor == Flavor::Supermicro => routed(
            Route::VirtualMedia(owned(id)),
            "/redfish/v1/Managers/:id/VM1/:id",
        ),
        ["Actions", "Oem", name] if layout.dell() => routed(
            Route::ScpAction(ScpAction::parse(name.strip_prefix("EID_674_Manager.")?)?),
            "/redfish/v1/Managers/:id/Actions/Oem/:action",
        ),
        ["Jobs"] if flavor == Flavor::Dell => routed(Route::Jobs, "/redfish/v1/Managers/:id/Jobs"),
        ["Jobs", id] if flavor == Flavor::Dell => {
            routed(Route::Job(owned(id)), "/redfish/v1/Managers/:id/Jobs/:id")
        }
        ["Oem", "Dell", tail @ ..] if flavor == Flavor::Idrac10 => match tail {
            ["Jobs"] => routed(Route::Jobs, "/redfish/v1/Managers/:id/Oem/Dell/Jobs"),
            ["Jobs", id] => routed(
                Route::Job(owned(id)),
                "/redfish/v1/Managers/:id/Oem/Dell/Jobs/:id",
            ),
            ["DellJobService"] => routed(
                Route::JobService,
                "/redfish/v1/Managers/:id/Oem/Dell/DellJobService",
            ),
            ["DellJobService", "Actions", "DellJobService.DeleteJobQueue"] => routed(
                Route::DeleteJobQueue,
                "/redfish/v1/Managers/:id/Oem/Dell/DellJobService/Actions/DellJobService.DeleteJobQueue",
            ),
            ["DellLCService"] => routed(
                Route::LcService,
                "/redfish/v1/Managers/:id/Oem/Dell/DellLCService",
            ),
            [
                "DellLCService",
                "Actions",
                "DellLCService.GetRemoteServicesAPIStatus",
            ] => routed(
                Route::LcStatus,
                "/redfish/v1/Managers/:id/Oem/Dell/DellLCService/Actions/DellLCService.GetRemoteServicesAPIStatus",
            ),
            [
                "DellLCService",
                "Actions",
                "DellLCService.ExportServerScreenShot",
            ] => routed(
                Route::LcScreenshot,
                "/redfish/v1/Managers/:id/Oem/Dell/DellLCService/Actions/DellLCService.ExportServerScreenShot",
            ),
            _ => return None,
        },
        _ => return None,
    };
    Some(r)
}

/// Where a flavour keeps `DellOSDeploymentService`: iDRAC9 under `/redfish/v1/Dell/Systems`,
/// iDRAC10 under the system's `Oem/Dell`.
#[derive(Clone, Copy)]
enum OsdParent {
    DellTree,
    SystemOem,
}

fn os_deployment_route(tail: &[&str], parent: OsdParent) -> Option<Routed> {
    let legacy = matches!(parent, OsdParent::DellTree);
    let pick = |old: &'static str, new: &'static str| if legacy { old } else { new };
    let r = match tail {
        [] => routed(
            Route::OsDeployment,
            pick(
                "/redfish/v1/Dell/Systems/:id/DellOSDeploymentService",
                "/redfish/v1/Systems/:id/Oem/Dell/DellOSDeploymentService",
            ),
        ),
        ["Actions", name] => {
            let action = OsdAction::parse(name.strip_prefix("DellOSDeploymentService.")?)?;
            routed(
                Route::OsDeploymentAction(action),
                pick(
                    "/redfish/v1/Dell/Systems/:id/DellOSDeploymentService/Actions/:action",
                    "/redfish/v1/Systems/:id/Oem/Dell/DellOSDeploymentService/Actions/:action",
                ),
            )
        }
        _ => return None,
    };
    Some(r)
}

#[derive(Clone, Copy)]
enum VmediaParent {
    System,
    Manager,
}

fn vmedia_route(tail: &[&str], parent: VmediaParent) -> Option<Routed> {
    let owned = |s: &&str| (*s).to_owned();
    let system = matches!(parent, VmediaParent::System);
    let pick = |on_system: &'static str, on_manager: &'static str| {
        if system { on_system } else { on_manager }
    };
    let r = match tail {
        [] => routed(
            Route::VirtualMediaCollection,
            pick(
                "/redfish/v1/Systems/:id/VirtualMedia",
                "/redfish/v1/Managers/:id/VirtualMedia",
            ),
        ),
        [id] => routed(
            Route::VirtualMedia(owned(id)),
            pick(
                "/redfish/v1/Systems/:id/VirtualMedia/:id",
                "/redfish/v1/Managers/:id/VirtualMedia/:id",
            ),
        ),
        [id, "Actions", "VirtualMedia.InsertMedia"] => routed(
            Route::InsertMedia(owned(id)),
            pick(
                "/redfish/v1/Systems/:id/VirtualMedia/:id/Actions/VirtualMedia.InsertMedia",
                "/redfish/v1/Managers/:id/VirtualMedia/:id/Actions/VirtualMedia.InsertMedia",
            ),
        ),
        [id, "Actions", "VirtualMedia.EjectMedia"] => routed(
            Route::EjectMedia(owned(id)),
            pick(
                "/redfish/v1/Systems/:id/VirtualMedia/:id/Actions/VirtualMedia.EjectMedia",
                "/redfish/v1/Managers/:id/VirtualMedia/:id/Actions/VirtualMedia.EjectMedia",
            ),
        ),
        _ => return None,
    };
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route_of(flavor: Flavor, path: &str) -> Option<Route> {
        route(Layout::of(flavor), path).map(|r| r.route)
    }

    #[test]
    fn the_scp_actions_are_the_idrac_managers_only() {
        let export = "/redfish/v1/Managers/iDRAC.Embedded.1/Actions/Oem/EID_674_Manager.ExportSystemConfiguration";
        let import = "/redfish/v1/Managers/iDRAC.Embedded.1/Actions/Oem/EID_674_Manager.ImportSystemConfiguration";
        for flavor in [Flavor::Dell, Flavor::Idrac10] {
            assert_eq!(
                route_of(flavor, export),
                Some(Route::ScpAction(ScpAction::Export))
            );
            assert_eq!(
                route_of(flavor, import),
                Some(Route::ScpAction(ScpAction::Import))
            );
            assert_eq!(
                route_of(flavor, &format!("{import}Preview")),
                None,
                "{flavor:?}"
            );
        }
        assert_eq!(
            route_of(
                Flavor::Generic,
                "/redfish/v1/Managers/bmc/Actions/Oem/EID_674_Manager.ExportSystemConfiguration"
            ),
            None
        );
    }

    #[test]
    fn roots_and_trailing_slashes() {
        for path in ["/redfish/v1", "/redfish/v1/"] {
            assert_eq!(route_of(Flavor::Generic, path), Some(Route::Root));
        }
        assert_eq!(
            route_of(Flavor::Generic, "/redfish/"),
            Some(Route::Versions)
        );
        assert_eq!(route_of(Flavor::Generic, "/redfish/v1x"), None);
        assert_eq!(
            route_of(
                Flavor::Dell,
                "/redfish/v1/Managers/iDRAC.Embedded.1/Actions/Manager.Reset/"
            ),
            Some(Route::ManagerReset)
        );
    }

    #[test]
    fn dell_oem_paths_depend_on_the_generation() {
        let nine = "/redfish/v1/Systems/System.Embedded.1/BootSources/Settings";
        let ten = "/redfish/v1/Systems/System.Embedded.1/Oem/Dell/DellBootSources/Settings";
        assert_eq!(
            route_of(Flavor::Dell, nine),
            Some(Route::BootSourcesSettings)
        );
        assert_eq!(route_of(Flavor::Dell, ten), None);
        assert_eq!(
            route_of(Flavor::Idrac10, ten),
            Some(Route::BootSourcesSettings)
        );
        assert_eq!(route_of(Flavor::Idrac10, nine), None);
        let jobs9 = "/redfish/v1/Managers/iDRAC.Embedded.1/Jobs/JID_1";
        let jobs10 = "/redfish/v1/Managers/iDRAC.Embedded.1/Oem/Dell/Jobs/JID_1";
        assert_eq!(
            route_of(Flavor::Dell, jobs9),
            Some(Route::Job("JID_1".into()))
        );
        assert_eq!(
            route_of(Flavor::Idrac10, jobs10),
            Some(Route::Job("JID_1".into()))
        );
        assert_eq!(route_of(Flavor::Idrac10, jobs9), None);
        let service9 = "/redfish/v1/Dell/Managers/iDRAC.Embedded.1/DellJobService";
        assert_eq!(route_of(Flavor::Dell, service9), Some(Route::JobService));
        assert_eq!(route_of(Flavor::Idrac10, service9), None);
        assert_eq!(
            route_of(
                Flavor::Idrac10,
                "/redfish/v1/Systems/System.Embedded.1/VirtualMedia/1"
            ),
            Some(Route::VirtualMedia("1".into()))
        );
        assert_eq!(
            route_of(
                Flavor::Idrac10,
                "/redfish/v1/Managers/iDRAC.Embedded.1/VirtualMedia"
            ),
            None
        );
    }

    #[test]
    fn the_os_deployment_service_is_dell_only_at_each_generation_s_path() {
        let nine = "/redfish/v1/Dell/Systems/System.Embedded.1/DellOSDeploymentService";
        let ten = "/redfish/v1/Systems/System.Embedded.1/Oem/Dell/DellOSDeploymentService";
        assert_eq!(route_of(Flavor::Dell, nine), Some(Route::OsDeployment));
        assert_eq!(route_of(Flavor::Idrac10, ten), Some(Route::OsDeployment));
        assert_eq!(route_of(Flavor::Dell, ten), None);
        assert_eq!(route_of(Flavor::Idrac10, nine), None);
        assert_eq!(
            route_of(
                Flavor::Dell,
                &format!("{nine}/Actions/DellOSDeploymentService.BootToNetworkISO")
            ),
            Some(Route::OsDeploymentAction(OsdAction::BootToNetworkIso))
        );
        assert_eq!(
            route_of(
                Flavor::Idrac10,
                &format!("{ten}/Actions/DellOSDeploymentService.DetachISOImage")
            ),
            Some(Route::OsDeploymentAction(OsdAction::DetachIsoImage))
        );
        assert_eq!(
            route_of(
                Flavor::Dell,
                &format!("{nine}/Actions/DellOSDeploymentService.Bogus")
            ),
            None
        );
        for flavor in [
            Flavor::Supermicro,
            Flavor::Generic,
            Flavor::Hpe,
            Flavor::Lenovo,
        ] {
            let layout = Layout::of(flavor);
            assert_eq!(layout.os_deployment_uri(), None);
            let system = layout.system_uri();
            for path in [
                format!("{system}/Oem/Dell/DellOSDeploymentService"),
                format!(
                    "/redfish/v1/Dell/Systems/{}/DellOSDeploymentService",
                    layout.system
                ),
            ] {
                assert_eq!(route_of(flavor, &path), None, "{flavor:?} {path}");
            }
        }
    }

    #[test]
    fn ids_must_match_the_flavour() {
        assert_eq!(
            route_of(Flavor::Supermicro, "/redfish/v1/Systems/1"),
            Some(Route::System)
        );
        assert_eq!(route_of(Flavor::Supermicro, "/redfish/v1/Systems/2"), None);
        assert_eq!(
            route_of(
                Flavor::Supermicro,
                "/redfish/v1/Managers/1/VM1/CfgCD/Actions/IsoConfig.Mount"
            ),
            Some(Route::SmcMount)
        );
        assert_eq!(
            route_of(Flavor::Generic, "/redfish/v1/Managers/1/VM1"),
            None
        );
        let template = route(
            Layout::of(Flavor::Generic),
            "/redfish/v1/Systems/system/Actions/ComputerSystem.Reset",
        )
        .expect("reset")
        .template;
        assert_eq!(
            template,
            "/redfish/v1/Systems/:id/Actions/ComputerSystem.Reset"
        );
    }
}
