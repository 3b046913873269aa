//! Vendor knowledge in one place: how a vendor is recognised, which Dell generation a BMC is,
//! the quirk table that steers the operations, and the answers that mean "busy, try later".
//! Everything here is pure and unit-tested without sockets.

use std::fmt;

use serde_json::Value;

/// Who made the BMC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Vendor {
    /// Dell iDRAC.
    Dell,
    /// Supermicro.
    Supermicro,
    /// HPE iLO.
    Hpe,
    /// Lenovo XClarity Controller.
    Lenovo,
    /// Anything else: plain DMTF Redfish.
    Generic,
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Dell => "Dell",
            Self::Supermicro => "Supermicro",
            Self::Hpe => "HPE",
            Self::Lenovo => "Lenovo",
            Self::Generic => "generic",
        })
    }
}

/// Which iDRAC generation, which decides where Dell OEM resources live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DellGeneration {
    /// iDRAC9 (14G-16G): `BootSources`, `Managers/…/Jobs`, `/redfish/v1/Dell/Managers/…`.
    Idrac9,
    /// iDRAC10 (17G on): the same resources under `Oem/Dell`, boot override on `Systems/…/Settings`.
    Idrac10,
}

/// Recognises the vendor from the service root's `Vendor`, `Oem` and `Product`, then from the
/// manager's `Manufacturer`/`Model` when the root says nothing.
#[must_use]
pub fn detect_vendor(root: &Value, manager: Option<&Value>) -> Vendor {
    let text = |v: &Value, key: &str| {
        v.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    let mut hints = vec![text(root, "Vendor"), text(root, "Product")];
    if let Some(oem) = root.get("Oem").and_then(Value::as_object) {
        hints.extend(oem.keys().map(|k| k.to_ascii_lowercase()));
    }
    if let Some(manager) = manager {
        hints.push(text(manager, "Manufacturer"));
        hints.push(text(manager, "Model"));
        if let Some(oem) = manager.get("Oem").and_then(Value::as_object) {
            hints.extend(oem.keys().map(|k| k.to_ascii_lowercase()));
        }
    }
    let any = |needles: &[&str]| hints.iter().any(|h| needles.iter().any(|n| h.contains(n)));
    if any(&["dell", "idrac"]) {
        Vendor::Dell
    } else if any(&["supermicro", "smc"]) {
        Vendor::Supermicro
    } else if any(&["hpe", "hewlett", "ilo"]) || hints.iter().any(|h| h == "hp") {
        Vendor::Hpe
    } else if any(&["lenovo", "xclarity"]) {
        Vendor::Lenovo
    } else {
        Vendor::Generic
    }
}

/// The vendor the service root alone establishes: a known vendor in its `Vendor`, `Product` or
/// `Oem`, or [`Vendor::Generic`] when it names some other vendor. `None` when it names none
/// (older services have no `Vendor`): then the manager's document must be read.
#[must_use]
pub fn vendor_from_root(root: &Value) -> Option<Vendor> {
    let vendor = detect_vendor(root, None);
    if vendor != Vendor::Generic {
        return Some(vendor);
    }
    let named = ["Vendor", "Product"].iter().any(|key| {
        root.get(*key)
            .and_then(Value::as_str)
            .is_some_and(|v| !v.trim().is_empty())
    });
    named.then_some(Vendor::Generic)
}

/// Guesses the iDRAC generation from the manager's `Model` (`14G Monolithic`, `17G DCS`) and
/// `FirmwareVersion`; the guess only orders the path probes, which have the last word.
#[must_use]
pub fn guess_dell_generation(model: Option<&str>, firmware: Option<&str>) -> DellGeneration {
    let generation = model.and_then(|m| {
        let digits: String = m.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u32>().ok()
    });
    match generation {
        Some(g) if g >= 17 => DellGeneration::Idrac10,
        Some(_) => DellGeneration::Idrac9,
        None => {
            // iDRAC9 firmware is 3.x-7.x; iDRAC10 started again at 1.x.
            let major = firmware
                .and_then(|f| f.split('.').next())
                .and_then(|m| m.parse::<u32>().ok());
            match major {
                Some(m) if m < 3 => DellGeneration::Idrac10,
                _ => DellGeneration::Idrac9,
            }
        }
    }
}

/// A Dell OEM resource whose path moved between generations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DellResource {
    /// The persistent boot order (`BootSources` / `Oem/Dell/DellBootSources`).
    BootSources,
    /// The job collection (`Managers/…/Jobs` / `Managers/…/Oem/Dell/Jobs`).
    Jobs,
    /// `DellJobService` (`/redfish/v1/Dell/Managers/…` / `Managers/…/Oem/Dell/…`).
    JobService,
    /// `DellLCService` (`/redfish/v1/Dell/Managers/…` / `Managers/…/Oem/Dell/…`).
    LcService,
    /// `DellOSDeploymentService` (`/redfish/v1/Dell/Systems/…` / `Systems/…/Oem/Dell/…`).
    OsDeploymentService,
}

/// Candidate paths for a Dell resource, most likely first for `generation`.
#[must_use]
pub fn dell_candidates(
    resource: DellResource,
    generation: DellGeneration,
    system: &str,
    manager: &str,
) -> Vec<String> {
    let manager_id = manager.rsplit('/').next().unwrap_or("iDRAC.Embedded.1");
    let system_id = system.rsplit('/').next().unwrap_or("System.Embedded.1");
    let (old, new) = match resource {
        DellResource::BootSources => (
            format!("{system}/BootSources"),
            format!("{system}/Oem/Dell/DellBootSources"),
        ),
        DellResource::Jobs => (
            format!("{manager}/Jobs"),
            format!("{manager}/Oem/Dell/Jobs"),
        ),
        DellResource::JobService => (
            format!("/redfish/v1/Dell/Managers/{manager_id}/DellJobService"),
            format!("{manager}/Oem/Dell/DellJobService"),
        ),
        DellResource::LcService => (
            format!("/redfish/v1/Dell/Managers/{manager_id}/DellLCService"),
            format!("{manager}/Oem/Dell/DellLCService"),
        ),
        DellResource::OsDeploymentService => (
            format!("/redfish/v1/Dell/Systems/{system_id}/DellOSDeploymentService"),
            format!("{system}/Oem/Dell/DellOSDeploymentService"),
        ),
    };
    match generation {
        DellGeneration::Idrac9 => vec![old, new],
        DellGeneration::Idrac10 => vec![new, old],
    }
}

/// How a one-time boot to a named device is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceBootMethod {
    /// Dell BIOS attributes `OneTimeBootMode` + `OneTime[Uefi]BootSeqDev`, applied by a config job.
    DellOneTimeBootSeq,
    /// DMTF `Boot.BootNext` with `BootSourceOverrideTarget = UefiBootNext`.
    BootNext,
}

/// How the persistent boot order is read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootOrderMethod {
    /// Dell `BootSources` (`BootSeq`/`UefiBootSeq` with `Index`), applied by a config job.
    DellBootSources,
    /// DMTF `Boot.BootOrder` of `BootOptionReference`s on the system.
    DmtfBootOrder,
}

/// A vendor's own boot order resource, preferred to the DMTF `Boot.BootOrder` where the BMC
/// links it (the DMTF order serves where it does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OemBootOrder {
    /// iLO 5/6: `Systems/1/Bios/Boot/` (`HpeServerBootSettings`, linked from the BIOS's
    /// `Oem.Hpe.Links.Boot`): `PersistentBootConfigOrder` of structured boot strings, a new
    /// one written to its `@Redfish.Settings` object (`Bios/Boot/Settings/`), applied at the
    /// next POST.
    HpeServerBootSettings,
    /// XCC: `Systems/1/Oem/Lenovo/BootSettings/BootOrder.BootOrder` (linked from the system's
    /// `Oem.Lenovo.BootSettings`): `BootOrderCurrent`, and `BootOrderNext` written for the next
    /// POST, names from `BootOrderSupported`.
    LenovoBootSettings,
}

/// How virtual media is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VirtualMediaMethod {
    /// DMTF `VirtualMedia` collection with `InsertMedia`/`EjectMedia`.
    Dmtf,
    /// Supermicro's `Managers/1/VM1` with `Oem.Supermicro.VirtualMediaConfig` and
    /// `IsoConfig.Mount`/`UnMount`, when the manager has no DMTF collection.
    SupermicroVm1,
}

/// Which name of a DMTF `BootOption` operators use (and interfaces files list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootOptionName {
    /// `DisplayName`, else `Alias`, `Name`, the reference.
    DisplayName,
    /// iLO: `Oem.Hpe.StructuredBootString` (`NIC.LOM.1.1.IPv4`), else as
    /// [`BootOptionName::DisplayName`]; iLO's display names describe the adapter instead.
    HpeStructuredBootString,
}

/// The quirk table row for one BMC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quirks {
    /// One-time boot to a device.
    pub device_boot: DeviceBootMethod,
    /// Persistent boot order. For [`BootOrderMethod::DmtfBootOrder`], a system that names a
    /// settings object (`@Redfish.Settings`: iLO `Systems/1/Settings`, XCC `Systems/1/Pending`)
    /// gets the new order there, applied at its next reset.
    pub boot_order: BootOrderMethod,
    /// The vendor's own boot order resource, read and written instead of the DMTF order
    /// where the BMC links it.
    pub oem_boot_order: Option<OemBootOrder>,
    /// How boot options are named.
    pub boot_option_name: BootOptionName,
    /// Whether BIOS and boot-order changes need a config job (Dell).
    pub config_jobs: bool,
    /// Whether `Boot` overrides are PATCHed to `{system}/Settings` (iDRAC10) instead of the system.
    pub boot_override_on_settings: bool,
    /// Virtual media.
    pub virtual_media: VirtualMediaMethod,
    /// `Manager.Reset` types to try, preferred first.
    pub bmc_reset_types: &'static [&'static str],
    /// Whether firmware inventory members are filtered to `Installed-*` ids (Dell lists
    /// `Previous-*` and `Available-*` too).
    pub firmware_installed_only: bool,
}

/// The quirk table.
#[must_use]
pub fn quirks(vendor: Vendor, generation: Option<DellGeneration>) -> Quirks {
    // Plain DMTF; the vendors below differ from it where they say.
    let dmtf = Quirks {
        device_boot: DeviceBootMethod::BootNext,
        boot_order: BootOrderMethod::DmtfBootOrder,
        oem_boot_order: None,
        boot_option_name: BootOptionName::DisplayName,
        config_jobs: false,
        boot_override_on_settings: false,
        virtual_media: VirtualMediaMethod::Dmtf,
        bmc_reset_types: &["GracefulRestart", "ForceRestart"],
        firmware_installed_only: false,
    };
    match vendor {
        Vendor::Dell => Quirks {
            device_boot: DeviceBootMethod::DellOneTimeBootSeq,
            boot_order: BootOrderMethod::DellBootSources,
            config_jobs: true,
            boot_override_on_settings: generation == Some(DellGeneration::Idrac10),
            firmware_installed_only: true,
            ..dmtf
        },
        Vendor::Supermicro => Quirks {
            virtual_media: VirtualMediaMethod::SupermicroVm1,
            ..dmtf
        },
        // iLO 5/6: boot options named by `Oem.Hpe.StructuredBootString`; the boot order in
        // `Bios/Boot/` staged in `Bios/Boot/Settings/`, else `Boot.BootOrder` staged in
        // `Systems/1/Settings/` (the system's `@Redfish.Settings`).
        Vendor::Hpe => Quirks {
            oem_boot_order: Some(OemBootOrder::HpeServerBootSettings),
            boot_option_name: BootOptionName::HpeStructuredBootString,
            ..dmtf
        },
        // XCC: the boot order in `Oem/Lenovo/BootSettings` (`BootOrderNext`), else
        // `Boot.BootOrder` staged in `Systems/1/Pending`; the BMC restarts gracefully only.
        Vendor::Lenovo => Quirks {
            oem_boot_order: Some(OemBootOrder::LenovoBootSettings),
            bmc_reset_types: &["GracefulRestart"],
            ..dmtf
        },
        Vendor::Generic => dmtf,
    }
}

/// An answer that proves the BMC applied nothing and may accept the same request later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transient {
    /// iDRAC "not ready" / Lifecycle Controller not ready (`SWC0700`, `RAC0508`).
    NotReady,
    /// A job operation is already running (`RAC0679`), Lifecycle Controller in use (`LC068`).
    JobQueueBusy,
    /// No session slot left (`RAC0218`).
    SessionLimit,
    /// Plain 503: the BMC's request queue is full.
    Busy,
}

/// Classifies an error answer; `None` when it may have been applied or will not change.
#[must_use]
pub fn classify_transient(
    status: http::StatusCode,
    message_id: Option<&str>,
    message: Option<&str>,
) -> Option<Transient> {
    let id = message_id.unwrap_or_default();
    let id_is = |suffix: &str| id.rsplit('.').next() == Some(suffix);
    let text = message.unwrap_or_default().to_ascii_lowercase();
    // iDRAC's RAC0218, and DMTF's Base `SessionLimitExceeded` (Supermicro, generic services).
    if id_is("RAC0218")
        || id_is("SessionLimitExceeded")
        || text.contains("maximum number of user sessions")
    {
        return Some(Transient::SessionLimit);
    }
    if id_is("SWC0700")
        || id_is("RAC0508")
        || text.contains("idrac is not ready")
        || text.contains("not ready to take provisioning")
    {
        return Some(Transient::NotReady);
    }
    if id_is("RAC0679")
        || id_is("LC068")
        || text.contains("job operation is already running")
        || text.contains("lifecycle controller in use")
    {
        return Some(Transient::JobQueueBusy);
    }
    if status == http::StatusCode::SERVICE_UNAVAILABLE {
        return Some(Transient::Busy);
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn vendors_are_recognised_from_the_root_or_the_manager() {
        assert_eq!(
            detect_vendor(&json!({"Vendor": "Dell", "Oem": {"Dell": {}}}), None),
            Vendor::Dell
        );
        assert_eq!(
            detect_vendor(
                &json!({"Product": "Integrated Dell Remote Access Controller"}),
                None
            ),
            Vendor::Dell
        );
        assert_eq!(
            detect_vendor(&json!({"Oem": {"Supermicro": {}}}), None),
            Vendor::Supermicro
        );
        assert_eq!(
            detect_vendor(&json!({"Vendor": "HPE", "Oem": {"Hpe": {}}}), None),
            Vendor::Hpe
        );
        assert_eq!(
            detect_vendor(&json!({}), Some(&json!({"Manufacturer": "Lenovo"}))),
            Vendor::Lenovo
        );
        assert_eq!(
            detect_vendor(&json!({"Vendor": "Contoso"}), Some(&json!({}))),
            Vendor::Generic
        );
    }

    #[test]
    fn the_root_names_the_vendor_or_leaves_it_to_the_manager() {
        let dell = json!({"Vendor": "Dell", "Oem": {"Dell": {}}});
        assert_eq!(vendor_from_root(&dell), Some(Vendor::Dell));
        let smc = json!({"Oem": {"Supermicro": {}}});
        assert_eq!(vendor_from_root(&smc), Some(Vendor::Supermicro));
        let other = json!({"Vendor": "Contoso"});
        assert_eq!(vendor_from_root(&other), Some(Vendor::Generic));
        let silent = json!({"RedfishVersion": "1.0.2"});
        assert_eq!(vendor_from_root(&silent), None);
        let manager = json!({"Manufacturer": "Dell Inc.", "Model": "14G Monolithic"});
        assert_eq!(detect_vendor(&silent, Some(&manager)), Vendor::Dell);
    }

    #[test]
    fn dell_generation_from_model_then_firmware() {
        use DellGeneration::{Idrac9, Idrac10};
        assert_eq!(guess_dell_generation(Some("14G Monolithic"), None), Idrac9);
        assert_eq!(
            guess_dell_generation(Some("16G DCS"), Some("7.10.30.00")),
            Idrac9
        );
        assert_eq!(guess_dell_generation(Some("17G Monolithic"), None), Idrac10);
        assert_eq!(guess_dell_generation(None, Some("1.20.25.00")), Idrac10);
        assert_eq!(guess_dell_generation(None, Some("6.10.30.00")), Idrac9);
        assert_eq!(guess_dell_generation(None, None), Idrac9);
    }

    #[test]
    fn dell_paths_are_ordered_by_generation() {
        let sys = "/redfish/v1/Systems/System.Embedded.1";
        let mgr = "/redfish/v1/Managers/iDRAC.Embedded.1";
        let nine = dell_candidates(DellResource::Jobs, DellGeneration::Idrac9, sys, mgr);
        assert_eq!(nine[0], format!("{mgr}/Jobs"));
        let ten = dell_candidates(DellResource::BootSources, DellGeneration::Idrac10, sys, mgr);
        assert_eq!(ten[0], format!("{sys}/Oem/Dell/DellBootSources"));
        assert_eq!(ten[1], format!("{sys}/BootSources"));
        let js = dell_candidates(DellResource::JobService, DellGeneration::Idrac9, sys, mgr);
        assert_eq!(
            js[0],
            "/redfish/v1/Dell/Managers/iDRAC.Embedded.1/DellJobService"
        );
        let osd = dell_candidates(
            DellResource::OsDeploymentService,
            DellGeneration::Idrac9,
            sys,
            mgr,
        );
        assert_eq!(
            osd,
            [
                "/redfish/v1/Dell/Systems/System.Embedded.1/DellOSDeploymentService".to_owned(),
                format!("{sys}/Oem/Dell/DellOSDeploymentService"),
            ]
        );
    }

    #[test]
    fn transient_answers() {
        use http::StatusCode as S;
        assert_eq!(
            classify_transient(S::SERVICE_UNAVAILABLE, Some("IDRAC.2.4.RAC0218"), None),
            Some(Transient::SessionLimit)
        );
        assert_eq!(
            classify_transient(
                S::SERVICE_UNAVAILABLE,
                Some("Base.1.16.SessionLimitExceeded"),
                None
            ),
            Some(Transient::SessionLimit)
        );
        assert_eq!(
            classify_transient(
                S::BAD_REQUEST,
                Some("IDRAC.1.6.SWC0700"),
                Some("iDRAC is not ready. The configuration values cannot be accessed.")
            ),
            Some(Transient::NotReady)
        );
        assert_eq!(
            classify_transient(S::SERVICE_UNAVAILABLE, Some("IDRAC.2.1.RAC0679"), None),
            Some(Transient::JobQueueBusy)
        );
        assert_eq!(
            classify_transient(S::SERVICE_UNAVAILABLE, None, None),
            Some(Transient::Busy)
        );
        assert_eq!(
            classify_transient(
                S::INTERNAL_SERVER_ERROR,
                Some("Base.1.8.GeneralError"),
                None
            ),
            None
        );
        assert_eq!(
            classify_transient(S::BAD_REQUEST, None, Some("bad value")),
            None
        );
    }

    #[test]
    fn quirk_rows() {
        let q = quirks(Vendor::Dell, Some(DellGeneration::Idrac10));
        assert!(q.config_jobs && q.boot_override_on_settings);
        assert_eq!(q.boot_order, BootOrderMethod::DellBootSources);
        let q = quirks(Vendor::Supermicro, None);
        assert_eq!(q.virtual_media, VirtualMediaMethod::SupermicroVm1);
        assert_eq!(q.boot_order, BootOrderMethod::DmtfBootOrder);
        assert!(!quirks(Vendor::Generic, None).config_jobs);
        let q = quirks(Vendor::Hpe, None);
        assert_eq!(q.boot_option_name, BootOptionName::HpeStructuredBootString);
        assert_eq!(q.boot_order, BootOrderMethod::DmtfBootOrder);
        assert_eq!(q.oem_boot_order, Some(OemBootOrder::HpeServerBootSettings));
        let q = quirks(Vendor::Lenovo, None);
        assert_eq!(q.bmc_reset_types, ["GracefulRestart"]);
        assert_eq!(q.oem_boot_order, Some(OemBootOrder::LenovoBootSettings));
        assert_eq!(quirks(Vendor::Generic, None).oem_boot_order, None);
    }

    #[test]
    fn ilo_and_xcc_roots_name_their_vendor() {
        let ilo = json!({"Vendor": "HPE", "Product": "ProLiant DL380 Gen10", "Oem": {"Hpe": {}}});
        assert_eq!(vendor_from_root(&ilo), Some(Vendor::Hpe));
        let xcc = json!({"Vendor": "Lenovo", "Product": "Lenovo XClarity Controller"});
        assert_eq!(vendor_from_root(&xcc), Some(Vendor::Lenovo));
        // iLO 4 roots have no `Vendor`, only `Oem.Hp`.
        assert_eq!(
            vendor_from_root(&json!({"Oem": {"Hp": {}}})),
            Some(Vendor::Hpe)
        );
        let manager = json!({"Model": "iLO 5", "Oem": {"Hpe": {}}});
        assert_eq!(detect_vendor(&json!({}), Some(&manager)), Vendor::Hpe);
    }
}
