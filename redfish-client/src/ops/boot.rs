//! Booting: one-time overrides (`BootSourceOverride`, PXE), one-time boot to a named device
//! (Dell `OneTimeBootSeqDev`, DMTF `BootNext`) or MAC, and the persistent boot order (Dell
//! `BootSources` with a config job, DMTF `Boot.BootOrder`), by device list or host type.

use std::fmt;

use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::client::Bmc;
use crate::error::Error;
use crate::ops::bios::{SettingsChange, settings_path};
use crate::ops::interfaces::InterfacesFile;
use crate::ops::jobs::{ClearJobs, JobState};
use crate::ops::vendor_boot::{StagedProperty, Staging};
use crate::vendor::{BootOptionName, BootOrderMethod, DellResource, DeviceBootMethod};
use crate::wire;

/// A `BootSourceOverrideTarget`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BootSource {
    /// Network (PXE).
    Pxe,
    /// Local disk.
    Hdd,
    /// CD/DVD (virtual media on most BMCs).
    Cd,
    /// Supermicro's virtual CD.
    UsbCd,
    /// BIOS setup.
    BiosSetup,
    /// UEFI HTTP boot.
    UefiHttp,
    /// No override.
    None,
    /// Anything else the BMC allows, as spelled by it.
    Other(String),
}

impl BootSource {
    /// The Redfish value.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Pxe => "Pxe",
            Self::Hdd => "Hdd",
            Self::Cd => "Cd",
            Self::UsbCd => "UsbCd",
            Self::BiosSetup => "BiosSetup",
            Self::UefiHttp => "UefiHttp",
            Self::None => "None",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for BootSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `BootSourceOverrideEnabled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootOverride {
    /// The next boot only.
    Once,
    /// Every boot.
    Continuous,
}

impl BootOverride {
    fn as_str(self) -> &'static str {
        match self {
            Self::Once => "Once",
            Self::Continuous => "Continuous",
        }
    }
}

/// One device of the persistent boot order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootDevice {
    /// The name operators use (`NIC.Integrated.1-1-1`; DMTF: `DisplayName`, else `Id`).
    pub name: String,
    /// The BMC's id (Dell `BIOS.Setup.1-1#UefiBootSeq#...`; DMTF `BootOptionReference`).
    pub id: String,
    /// Whether it is enabled.
    pub enabled: bool,
}

/// The persistent boot order, first to last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootOrder {
    /// BIOS boot mode (`Uefi`, `Bios`), when known.
    pub mode: Option<String>,
    /// The devices.
    pub devices: Vec<BootDevice>,
}

impl BootOrder {
    /// The device names, first to last.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        self.devices.iter().map(|d| d.name.clone()).collect()
    }

    /// The device `wanted` names: an exact name or id first (ignoring case), else the one
    /// whose name holds `wanted` as a whole word (`PXE Boot NIC.Integrated.1-1-1`).
    #[must_use]
    pub fn find(&self, wanted: &str) -> Option<&BootDevice> {
        self.devices
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(wanted) || d.id.eq_ignore_ascii_case(wanted))
            .or_else(|| self.devices.iter().find(|d| d.names(wanted)))
    }

    /// Whether the order starts with `wanted`, device by device (as [`BootOrder::find`] matches).
    #[must_use]
    pub fn starts_with(&self, wanted: &[String]) -> bool {
        !wanted.is_empty()
            && wanted.len() <= self.devices.len()
            && wanted.iter().zip(&self.devices).all(|(w, d)| {
                d.name.eq_ignore_ascii_case(w) || d.id.eq_ignore_ascii_case(w) || d.names(w)
            })
    }
}

impl BootDevice {
    /// Whether the name holds `wanted` as a whole word (DMTF display names decorate the id).
    #[must_use]
    pub fn names(&self, wanted: &str) -> bool {
        !wanted.is_empty()
            && self
                .name
                .split(|c: char| {
                    c.is_whitespace() || matches!(c, ':' | ',' | '(' | ')' | '[' | ']')
                })
                .any(|token| token.eq_ignore_ascii_case(wanted))
    }
}

/// Dell: reorders `entries` so that the devices named in `wanted` come first, in that order,
/// the others after them in their current order; `Index` is renumbered. `None` when the order
/// already starts that way. Unknown names are ignored (returned second).
#[must_use]
pub(crate) fn reorder_dell(
    entries: &[wire::BootSourceEntry],
    wanted: &[String],
) -> (Option<Vec<wire::BootSourceEntry>>, Vec<String>) {
    let mut current = entries.to_vec();
    current.sort_by_key(|e| e.index);
    let unknown: Vec<String> = wanted
        .iter()
        .filter(|w| !current.iter().any(|e| &e.name == *w))
        .cloned()
        .collect();
    let mut ordered: Vec<wire::BootSourceEntry> = wanted
        .iter()
        .filter_map(|w| current.iter().find(|e| &e.name == w).cloned())
        .collect();
    ordered.extend(
        current
            .iter()
            .filter(|e| !wanted.contains(&e.name))
            .cloned(),
    );
    for (i, e) in ordered.iter_mut().enumerate() {
        e.index = i;
    }
    let unchanged = ordered
        .iter()
        .map(|e| &e.name)
        .eq(current.iter().map(|e| &e.name))
        && current.iter().enumerate().all(|(i, e)| e.index == i);
    (if unchanged { None } else { Some(ordered) }, unknown)
}

/// The Dell BIOS attributes that make a UEFI network boot try the NICs of `devices` (Dell
/// FQDDs, `NIC.`...) in their order: `PxeDev{i}Interface` and `PxeDev{i}EnDis` = `Enabled`
/// for i from 1 (at most 4), as Badfish's `uefi` host type sets them, less those `current`
/// (the BIOS attributes now) already has or does not have at all. Badfish also writes non-NIC
/// devices of the entry there; an iDRAC takes only NICs, so they are left out.
#[must_use]
pub(crate) fn uefi_pxe_attributes(
    devices: &[String],
    current: &Map<String, Value>,
) -> Map<String, Value> {
    let mut wanted = Map::new();
    for (i, nic) in devices
        .iter()
        .filter(|d| d.starts_with("NIC."))
        .take(4)
        .enumerate()
    {
        let n = i + 1;
        wanted.insert(format!("PxeDev{n}Interface"), Value::from(nic.as_str()));
        wanted.insert(format!("PxeDev{n}EnDis"), Value::from("Enabled"));
    }
    // Only attributes the BIOS has: one without PXE devices is left alone.
    wanted.retain(|k, v| current.get(k).is_some_and(|now| now != v));
    wanted
}

/// DMTF: the new `BootOrder` (references) with `wanted` (references) first.
#[must_use]
pub(crate) fn reorder_refs(current: &[String], wanted: &[String]) -> Option<Vec<String>> {
    let mut ordered: Vec<String> = wanted
        .iter()
        .filter(|w| current.contains(w))
        .cloned()
        .collect();
    ordered.extend(current.iter().filter(|c| !wanted.contains(c)).cloned());
    (ordered != current).then_some(ordered)
}

/// iLO's `Oem.Hpe.StructuredBootString` of a boot option.
fn hpe_structured_boot_string(option: &wire::BootOption) -> Option<String> {
    option
        .oem
        .as_ref()?
        .get("Hpe")?
        .get("StructuredBootString")?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

pub(crate) fn boot_option_device(
    option: &wire::BootOption,
    naming: BootOptionName,
) -> Option<BootDevice> {
    let id = option
        .boot_option_reference
        .clone()
        .or_else(|| option.id.clone())?;
    let structured = match naming {
        BootOptionName::HpeStructuredBootString => hpe_structured_boot_string(option),
        BootOptionName::DisplayName => None,
    };
    let name = structured
        .or_else(|| option.display_name.clone())
        .or_else(|| option.alias.clone())
        .or_else(|| option.name.clone())
        .unwrap_or_else(|| id.clone());
    Some(BootDevice {
        name,
        id,
        enabled: option.boot_option_enabled.unwrap_or(true),
    })
}

/// What setting a Dell boot order does with a job already `Running` in the queue it must clear.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RunningJobs {
    /// Wait for it like any pending job: it may be applying settings during a POST.
    #[default]
    Wait,
    /// Force-clear the queue (`JID_CLEARALL_FORCE`). For callers that know the host is not in
    /// a POST, where a running job can only be stuck, and blocks the queue for good.
    ForceClear,
}

/// What [`Bmc::set_boot_order`] puts at the head of the persistent boot order, and what it
/// does with a Dell job found `Running` (by default: waits for it).
///
/// ```
/// use redfish_client::{BootOrderRequest, RunningJobs};
///
/// let request = BootOrderRequest::new(["NIC.Integrated.1-1-1", "NIC.Slot.2-1-1"])
///     .running_jobs(RunningJobs::ForceClear);
/// assert_eq!(request.devices().len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BootOrderRequest {
    devices: Vec<String>,
    running: RunningJobs,
}

impl BootOrderRequest {
    /// `devices` (names as in the interfaces YAML) first, in this order.
    #[must_use]
    pub fn new(devices: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            devices: devices.into_iter().map(Into::into).collect(),
            running: RunningJobs::default(),
        }
    }

    /// The devices of `host` as a `host_type` host in the interfaces file (`-i FILE -t TYPE`).
    ///
    /// # Errors
    /// [`Error::Config`] when the file has no entry for the host.
    pub fn for_host_type(
        interfaces: &InterfacesFile,
        host: &str,
        host_type: &str,
    ) -> Result<Self, Error> {
        Ok(Self::new(interfaces.interfaces_for(host, host_type)?))
    }

    /// What to do with a Dell job found `Running` when the queue must be cleared for the new
    /// config job.
    #[must_use]
    pub fn running_jobs(mut self, running: RunningJobs) -> Self {
        self.running = running;
        self
    }

    /// The devices put first.
    #[must_use]
    pub fn devices(&self) -> &[String] {
        &self.devices
    }
}

/// What reading the boot order read along with it, for the write that may follow in the same
/// operation (so that nothing is read twice).
struct ReadAlong {
    /// Dell: the BIOS resource, (path, document).
    bios: Option<(String, wire::Bios)>,
    /// DMTF: the system's path and the ETag of its read.
    system_etag: Option<(String, Option<String>)>,
}

/// The DMTF boot order as one operation read it.
struct DmtfBoot {
    /// The system.
    system: String,
    /// The system's settings object (`@Redfish.Settings`), where a new order is staged.
    settings: Option<String>,
    /// The ETag of the system's read.
    etag: Option<String>,
    /// `Boot.BootOrder` references.
    order: Vec<String>,
    /// The devices of `BootOptions`.
    options: Vec<BootDevice>,
}

/// Dell `BootSources` as one operation read it.
struct DellBootSources {
    /// The resource.
    path: String,
    /// The sequence in use (`UefiBootSeq` or `BootSeq`).
    key: String,
    /// `BootMode` from the BIOS.
    mode: Option<String>,
    /// The sequence's entries.
    entries: Vec<wire::BootSourceEntry>,
    /// The BIOS resource read alongside: (path, document).
    bios: (String, wire::Bios),
}

impl Bmc {
    /// Where `Boot` overrides are PATCHed: the system, or `{system}/Settings` on iDRAC10.
    async fn boot_override_path(&self) -> Result<String, Error> {
        let system = self.system_path().await?;
        Ok(if self.quirks().await?.boot_override_on_settings {
            format!("{system}/Settings")
        } else {
            system
        })
    }

    /// Sets a boot override (`BootSourceOverrideTarget` + `Enabled`), with `If-Match` when the
    /// resource has an ETag, then reads it back. Nothing is sent when it is already set. A
    /// PATCH whose answer was lost (cut mid-request, a 5xx that is not "busy") is decided by
    /// reading the override again: sent again (after the retry policy's delay, within its
    /// attempts) only when the read does not show it.
    ///
    /// # Errors
    /// When the BMC refuses the target or does not keep it.
    #[tracing::instrument(skip_all, fields(bmc = %self.name(), %target))]
    pub async fn set_boot_override(
        &self,
        target: &BootSource,
        mode: BootOverride,
    ) -> Result<SettingsChange, Error> {
        Ok(self.boot_override_read(target, mode).await?.0)
    }

    /// [`Bmc::set_boot_override`], also returning where the override lives and the last read
    /// of it (the verification's, or the first when nothing was changed).
    pub(crate) async fn boot_override_read(
        &self,
        target: &BootSource,
        mode: BootOverride,
    ) -> Result<(SettingsChange, String, wire::ComputerSystem), Error> {
        let path = self.boot_override_path().await?;
        let mut lost: Option<Error> = None;
        for attempt in 0.. {
            let (system, etag) = self.get_tagged::<wire::ComputerSystem>(&path).await?;
            let boot = system.boot.clone().unwrap_or_default();
            if boot.boot_source_override_target.as_deref() == Some(target.as_str())
                && boot.boot_source_override_enabled.as_deref() == Some(mode.as_str())
            {
                // after a PATCH whose answer was lost, this read shows it applied
                let change = if lost.is_some() {
                    SettingsChange::Applied
                } else {
                    SettingsChange::Unchanged
                };
                return Ok((change, path, system));
            }
            if !boot.allowable_targets.is_empty()
                && !boot.allowable_targets.iter().any(|t| t == target.as_str())
            {
                return Err(self.err_invalid(format!(
                    "boot target {target} is not allowed (allowed: {})",
                    boot.allowable_targets.join(", ")
                )));
            }
            if let Some(error) = lost.take() {
                self.wait_to_resend(attempt, error, "the boot override", None)
                    .await?;
            }
            let body = json!({"Boot": {
                "BootSourceOverrideTarget": target.as_str(),
                "BootSourceOverrideEnabled": mode.as_str(),
            }});
            match self.patch_if_match(&path, &body, etag).await {
                Ok(_) => break,
                // decided by the next read: setting the same value again changes nothing
                Err(e) if e.may_have_been_applied() => lost = Some(e),
                Err(e) => return Err(e),
            }
        }
        let read = self.get::<wire::ComputerSystem>(&path).await?;
        let after = read.boot.clone().unwrap_or_default();
        let kept = after.boot_source_override_target.as_deref();
        // Some BMCs report Supermicro's `UsbCd` back as `Cd`.
        let same =
            kept == Some(target.as_str()) || (*target == BootSource::UsbCd && kept == Some("Cd"));
        if !same {
            return Err(self.err_invalid(format!(
                "the BMC did not keep the boot override (target is {:?})",
                after.boot_source_override_target
            )));
        }
        Ok((SettingsChange::Applied, path, read))
    }

    /// One-time network boot on the next power-on (`--pxe`).
    ///
    /// # Errors
    /// As [`Bmc::set_boot_override`].
    pub async fn pxe_once(&self) -> Result<SettingsChange, Error> {
        self.set_boot_override(&BootSource::Pxe, BootOverride::Once)
            .await
    }

    /// The persistent boot order.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when the BMC exposes none.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn boot_order(&self) -> Result<BootOrder, Error> {
        // iLO's `Bios/Boot/`, XCC's `Oem/Lenovo/BootSettings`, where the BMC links them.
        if let Some(oem) = self.oem_boot().await? {
            return Ok(oem.order());
        }
        Ok(self.boot_order_read().await?.0)
    }

    /// The boot order and, on Dell, the BIOS document read for its boot mode (for a caller that
    /// stages BIOS attributes next, so that the BIOS is read once per operation).
    async fn boot_order_read(&self) -> Result<(BootOrder, ReadAlong), Error> {
        // Both methods need the system; a Dell's quirks need the manager: side by side.
        let (quirks, _) = tokio::try_join!(self.quirks(), self.system_path())?;
        match quirks.boot_order {
            BootOrderMethod::DellBootSources => {
                let mut sources = self.dell_boot_sources().await?;
                sources.entries.sort_by_key(|e| e.index);
                let order = BootOrder {
                    mode: sources.mode,
                    devices: sources
                        .entries
                        .into_iter()
                        .map(|e| BootDevice {
                            name: e.name,
                            id: e.id,
                            enabled: e.enabled,
                        })
                        .collect(),
                };
                Ok((
                    order,
                    ReadAlong {
                        bios: Some(sources.bios),
                        system_etag: None,
                    },
                ))
            }
            BootOrderMethod::DmtfBootOrder => {
                let DmtfBoot {
                    system,
                    etag,
                    order,
                    options,
                    ..
                } = self.dmtf_boot().await?;
                let devices = order
                    .iter()
                    .map(|r| {
                        options
                            .iter()
                            .find(|o| &o.id == r)
                            .cloned()
                            .unwrap_or(BootDevice {
                                name: r.clone(),
                                id: r.clone(),
                                enabled: true,
                            })
                    })
                    .collect();
                Ok((
                    BootOrder {
                        mode: None,
                        devices,
                    },
                    ReadAlong {
                        bios: None,
                        system_etag: Some((system, etag)),
                    },
                ))
            }
        }
    }

    /// Dell `BootSources` and the BIOS (for `BootMode`), read side by side, each once.
    async fn dell_boot_sources(&self) -> Result<DellBootSources, Error> {
        let ((path, sources), bios) = tokio::try_join!(
            self.dell_get::<wire::BootSources>(DellResource::BootSources),
            self.bios(),
        )?;
        let mode = bios
            .1
            .attributes
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("BootMode"))
            .and_then(|(_, v)| v.as_str().map(str::to_owned));
        let preferred = if mode.as_deref() == Some("Uefi") {
            "UefiBootSeq"
        } else {
            "BootSeq"
        };
        // A real iDRAC9 can answer `"Attributes": {}` (nothing bootable listed yet): an empty
        // order, not a missing feature.
        let key = if sources.attributes.contains_key(preferred) || sources.attributes.is_empty() {
            preferred.to_owned()
        } else {
            sources
                .attributes
                .keys()
                .find(|k| k.ends_with("BootSeq"))
                .cloned()
                .ok_or_else(|| self.err_unsupported("BootSources has no boot sequence"))?
        };
        let entries: Vec<wire::BootSourceEntry> = serde_json::from_value(
            sources
                .attributes
                .get(&key)
                .cloned()
                .unwrap_or_else(|| json!([])),
        )
        .map_err(|e| self.err_invalid(format!("BootSources {key}: {e}")))?;
        Ok(DellBootSources {
            path,
            key,
            mode,
            entries,
            bios,
        })
    }

    /// DMTF: the system's `BootOrder` references and the devices of `BootOptions`.
    async fn dmtf_boot(&self) -> Result<DmtfBoot, Error> {
        let (quirks, system_path) = tokio::try_join!(self.quirks(), self.system_path())?;
        let (system, etag) = self
            .get_tagged::<wire::ComputerSystem>(&system_path)
            .await?;
        let settings = system
            .settings
            .as_ref()
            .and_then(|s| s.settings_object.as_ref())
            .map(|l| l.id.clone())
            .filter(|p| !p.is_empty() && *p != system_path);
        let boot = system.boot.unwrap_or_default();
        let options = match boot.boot_options.as_ref().map(|l| l.id.clone()) {
            Some(path) if !path.is_empty() => {
                let options = self.members_all::<wire::BootOption>(&path).await?;
                options
                    .iter()
                    .filter_map(|o| boot_option_device(&o.value, quirks.boot_option_name))
                    .collect()
            }
            _ => Vec::new(),
        };
        Ok(DmtfBoot {
            system: system_path,
            settings,
            etag,
            order: boot.boot_order,
            options,
        })
    }

    /// Makes the request's devices (names as in the interfaces YAML) the head of the persistent
    /// boot order. Dell: clears the job queue (a `Running` job as the request says), PATCHes
    /// `BootSources/Settings` and creates the config job (returned; applied at the next
    /// reboot). DMTF: PATCHes `Boot.BootOrder`. Nothing is read beyond what the change itself
    /// needs: an order already in place costs its read only.
    ///
    /// # Errors
    /// [`Error::Invalid`] when none of the devices exists; request errors.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn set_boot_order(
        &self,
        request: &BootOrderRequest,
        cancel: &CancellationToken,
    ) -> Result<SettingsChange, Error> {
        let (devices, running) = (request.devices(), request.running);
        match self.quirks().await?.boot_order {
            BootOrderMethod::DellBootSources => {
                let DellBootSources {
                    path,
                    key,
                    entries,
                    mode,
                    bios,
                } = self.dell_boot_sources().await?;
                let (ordered, unknown) = reorder_dell(&entries, devices);
                if unknown.len() == devices.len() {
                    return Err(self
                        .err_invalid(format!("none of {} is a boot device", devices.join(", "))));
                }
                if !unknown.is_empty() {
                    tracing::warn!(unknown = %unknown.join(", "), "not boot devices, ignored");
                }
                // A UEFI network boot (one-time PXE included) tries the PXE devices, not the
                // order's first NIC: they follow the order's NICs, as Badfish's `uefi` type.
                let pxe = if mode.as_deref() == Some("Uefi") {
                    uefi_pxe_attributes(devices, &bios.1.attributes)
                } else {
                    Map::new()
                };
                if ordered.is_none() && pxe.is_empty() {
                    return Ok(SettingsChange::Unchanged);
                }
                self.clear_queue_for_config_job(running, cancel).await?;
                if let Some(ordered) = ordered {
                    let body = json!({"Attributes": {key: ordered}});
                    self.patch(&format!("{path}/Settings"), &body).await?;
                }
                let bios_settings = format!("{}/Bios/Settings", self.system_path().await?);
                if !pxe.is_empty() {
                    tracing::info!(pxe_dev1 = ?pxe.get("PxeDev1Interface"), "uefi pxe devices");
                    self.patch(&bios_settings, &json!({ "Attributes": pxe }))
                        .await?;
                }
                let job = self.create_config_job(&bios_settings).await?;
                Ok(SettingsChange::Pending { job: Some(job) })
            }
            BootOrderMethod::DmtfBootOrder => {
                if let Some(oem) = self.oem_boot().await? {
                    return self.set_oem_boot_order(oem, devices).await;
                }
                let DmtfBoot {
                    system,
                    settings,
                    etag,
                    order,
                    options,
                } = self.dmtf_boot().await?;
                let known = BootOrder {
                    mode: None,
                    devices: options,
                };
                let wanted: Vec<String> = devices
                    .iter()
                    .filter_map(|name| {
                        known.find(name).map(|o| o.id.clone()).or_else(|| {
                            order.iter().find(|r| r.eq_ignore_ascii_case(name)).cloned()
                        })
                    })
                    .collect();
                if wanted.is_empty() {
                    return Err(self
                        .err_invalid(format!("none of {} is a boot option", devices.join(", "))));
                }
                let new_order = reorder_refs(&order, &wanted);
                if let Some(path) = settings {
                    let staging = Staging {
                        path,
                        property: StagedProperty::DmtfBootOrder,
                        read: None,
                    };
                    return self.stage_boot_order(staging, &order, new_order).await;
                }
                let Some(new_order) = new_order else {
                    return Ok(SettingsChange::Unchanged);
                };
                self.patch_if_match(&system, &json!({"Boot": {"BootOrder": new_order}}), etag)
                    .await?;
                Ok(SettingsChange::Applied)
            }
        }
    }

    /// A settings object (DMTF: iLO `Systems/1/Settings`, XCC `Systems/1/Pending`; iLO's
    /// `Bios/Boot/Settings/`, XCC's `BootOrderNext`): the order the next reset must apply is
    /// staged there, unless it already is. `new_order` is `None` when the current order is
    /// right; an other order staged meanwhile is then undone.
    pub(crate) async fn stage_boot_order(
        &self,
        staging: Staging,
        current: &[String],
        new_order: Option<Vec<String>>,
    ) -> Result<SettingsChange, Error> {
        let Staging {
            path: settings,
            property,
            read,
        } = staging;
        let (staged, etag) = match read {
            Some(read) => read,
            None => {
                let (doc, etag) = self.get_tagged::<Value>(&settings).await?;
                (property.read(&doc), etag)
            }
        };
        let target = match new_order {
            Some(order) => order,
            None if staged.is_empty() || staged == current => {
                return Ok(SettingsChange::Unchanged);
            }
            None => current.to_vec(),
        };
        if staged != target {
            tracing::info!(bmc = %self.name(), %settings, "boot order staged for the next reset");
            self.patch_if_match(&settings, &property.body(&target), etag)
                .await?;
        }
        Ok(SettingsChange::Pending { job: None })
    }

    /// Empties the Dell job queue before a config job is created: pending jobs are deleted; a
    /// running one is waited for or, with [`RunningJobs::ForceClear`], force-cleared.
    async fn clear_queue_for_config_job(
        &self,
        running: RunningJobs,
        cancel: &CancellationToken,
    ) -> Result<(), Error> {
        if running == RunningJobs::ForceClear {
            let jobs = self.jobs().await?;
            if jobs.iter().any(|j| j.state == JobState::Running) {
                tracing::warn!(bmc = %self.name(), "a job is stuck running: force-clearing the job queue");
                self.clear_jobs(ClearJobs::Force, cancel).await?;
                return Ok(());
            }
            if jobs.iter().all(|j| j.state.is_finished()) {
                return Ok(());
            }
        }
        self.clear_jobs(ClearJobs::Pending, cancel).await?;
        Ok(())
    }

    /// Which host type the current boot order is for `host` (`--check-boot`).
    ///
    /// # Errors
    /// When the boot order cannot be read.
    pub async fn boot_order_type(
        &self,
        interfaces: &InterfacesFile,
        host: &str,
    ) -> Result<Option<String>, Error> {
        let order = self.boot_order().await?;
        Ok(interfaces.matching_type_by(host, |devices| order.starts_with(devices)))
    }

    /// One-time boot to a named device (`--boot-to`). Dell: clears the job queue, stages
    /// `OneTimeBootMode` + `OneTime[Uefi]BootSeqDev` and returns the config job; DMTF: sets
    /// `BootNext` with `UefiBootNext`.
    ///
    /// # Errors
    /// [`Error::Invalid`] when the device is not in the boot order.
    #[tracing::instrument(skip_all, fields(bmc = %self.name(), %device))]
    pub async fn boot_to_device(
        &self,
        device: &str,
        cancel: &CancellationToken,
    ) -> Result<SettingsChange, Error> {
        let (order, along) = self.boot_order_read().await?;
        let Some(found) = order.find(device).cloned() else {
            return Err(self.err_invalid(format!(
                "{device} is not a boot device (devices: {})",
                order.names().join(", ")
            )));
        };
        match self.quirks().await?.device_boot {
            DeviceBootMethod::DellOneTimeBootSeq => {
                let (mode_value, dev_key) = if order.mode.as_deref() == Some("Uefi") {
                    ("OneTimeUefiBootSeq", "OneTimeUefiBootSeqDev")
                } else {
                    ("OneTimeBootSeq", "OneTimeBootSeqDev")
                };
                let mut attributes = serde_json::Map::new();
                attributes.insert("OneTimeBootMode".to_owned(), json!(mode_value));
                attributes.insert(dev_key.to_owned(), json!(found.name));
                let bios = match along.bios {
                    Some(bios) => bios,
                    None => self.bios().await?,
                };
                // The queue check and the settings' ETag are independent reads: side by side.
                let settings = settings_path(&bios);
                let (_, etag) = tokio::try_join!(
                    self.clear_jobs(ClearJobs::Pending, cancel),
                    self.etag_of(&settings),
                )?;
                self.stage_bios(&bios, attributes, etag).await
            }
            DeviceBootMethod::BootNext => {
                let path = self.boot_override_path().await?;
                let body = json!({"Boot": {
                    "BootSourceOverrideTarget": "UefiBootNext",
                    "BootSourceOverrideEnabled": "Once",
                    "BootNext": found.id,
                }});
                match along.system_etag {
                    // The boot order was read from this very resource: its ETag serves.
                    Some((system, etag)) if system == path => {
                        self.patch_if_match(&path, &body, etag).await?;
                    }
                    _ => {
                        self.patch(&path, &body).await?;
                    }
                }
                Ok(SettingsChange::Applied)
            }
        }
    }

    /// One-time boot to the interface with this MAC address (`--boot-to-mac`).
    ///
    /// # Errors
    /// [`Error::Invalid`] when no interface has that MAC.
    pub async fn boot_to_mac(
        &self,
        mac: &str,
        cancel: &CancellationToken,
    ) -> Result<SettingsChange, Error> {
        let interfaces = self.ethernet_interfaces().await?;
        let normalise = |m: &str| m.replace(['-', '.'], ":").to_ascii_uppercase();
        let wanted = normalise(mac);
        let device = interfaces
            .iter()
            .find(|i| i.mac_address.as_deref().map(normalise).as_deref() == Some(wanted.as_str()))
            .and_then(|i| i.id.clone())
            .ok_or_else(|| self.err_invalid(format!("no interface has MAC {mac}")))?;
        self.boot_to_device(&device, cancel).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn uefi_pxe_devices_follow_the_orders_nics() {
        let devices: Vec<String> = [
            "NIC.Slot.3-1-1",
            "HardDisk.List.1-1",
            "NIC.Integrated.1-1-1",
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        let mut current = Map::new();
        current.insert("PxeDev1Interface".into(), json!("NIC.Integrated.1-1-1"));
        current.insert("PxeDev1EnDis".into(), json!("Enabled"));
        current.insert("PxeDev2Interface".into(), json!("NIC.Integrated.1-1-1"));
        current.insert("PxeDev2EnDis".into(), json!("Disabled"));
        let change = uefi_pxe_attributes(&devices, &current);
        assert_eq!(
            Value::Object(change.clone()),
            json!({"PxeDev1Interface": "NIC.Slot.3-1-1", "PxeDev2EnDis": "Enabled"})
        );
        current.extend(change);
        assert!(uefi_pxe_attributes(&devices, &current).is_empty());
    }

    fn entry(name: &str, index: usize) -> wire::BootSourceEntry {
        wire::BootSourceEntry {
            enabled: true,
            id: format!("BIOS.Setup.1-1#BootSeq#{name}#x"),
            index,
            name: name.to_owned(),
        }
    }

    fn names(v: &[wire::BootSourceEntry]) -> Vec<(&str, usize)> {
        v.iter().map(|e| (e.name.as_str(), e.index)).collect()
    }

    #[test]
    fn dell_reorder_moves_wanted_devices_first() {
        let entries = vec![
            entry("HardDisk.List.1-1", 0),
            entry("NIC.Integrated.1-1-1", 1),
            entry("NIC.Slot.1-2-1", 2),
        ];
        let wanted = vec![
            "NIC.Slot.1-2-1".to_owned(),
            "HardDisk.List.1-1".to_owned(),
            "NIC.Bogus".to_owned(),
        ];
        let (ordered, unknown) = reorder_dell(&entries, &wanted);
        assert_eq!(
            names(&ordered.unwrap()),
            [
                ("NIC.Slot.1-2-1", 0),
                ("HardDisk.List.1-1", 1),
                ("NIC.Integrated.1-1-1", 2)
            ]
        );
        assert_eq!(unknown, ["NIC.Bogus"]);
        let already = vec!["HardDisk.List.1-1".to_owned()];
        assert!(reorder_dell(&entries, &already).0.is_none());
    }

    #[test]
    fn dmtf_reorder() {
        let current: Vec<String> = ["Boot0001", "Boot0002", "Boot0003"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            reorder_refs(&current, &["Boot0003".to_owned()]).unwrap(),
            ["Boot0003", "Boot0001", "Boot0002"]
        );
        assert!(reorder_refs(&current, &["Boot0001".to_owned()]).is_none());
    }

    #[test]
    fn devices_are_found_by_name_id_or_a_word_of_the_display_name() {
        let device = |name: &str, id: &str| BootDevice {
            name: name.into(),
            id: id.into(),
            enabled: true,
        };
        let order = BootOrder {
            mode: None,
            devices: vec![
                device("PXE Boot NIC.Integrated.1-1-10", "Boot0009"),
                device("PXE Boot NIC.Integrated.1-1-1", "Boot0001"),
                device("Hard Disk HardDisk.List.1-1", "Boot0002"),
            ],
        };
        assert_eq!(order.find("nic.integrated.1-1-1").unwrap().id, "Boot0001");
        assert_eq!(
            order.find("Boot0002").unwrap().name,
            "Hard Disk HardDisk.List.1-1"
        );
        assert!(order.find("NIC.Slot.1").is_none());
        let head = [
            "NIC.Integrated.1-1-10".to_owned(),
            "NIC.Integrated.1-1-1".to_owned(),
        ];
        assert!(order.starts_with(&head));
        assert!(!order.starts_with(&head[1..]));
    }

    #[test]
    fn boot_options_are_named_by_display_name() {
        let option: wire::BootOption = serde_json::from_value(json!({
            "Id": "Boot0003", "BootOptionReference": "Boot0003", "DisplayName": "NIC.Integrated.1-1-1"
        }))
        .unwrap();
        let device = boot_option_device(&option, BootOptionName::DisplayName).unwrap();
        assert_eq!(device.name, "NIC.Integrated.1-1-1");
        assert_eq!(device.id, "Boot0003");
    }

    #[test]
    fn ilo_boot_options_are_named_by_their_structured_boot_string() {
        let option: wire::BootOption = serde_json::from_value(json!({
            "Id": "1", "BootOptionReference": "Boot000A",
            "DisplayName": "Embedded LOM 1 Port 1 : HPE Ethernet 1Gb 4-port 331i Adapter - NIC (PXE IPv4)",
            "Oem": {"Hpe": {"StructuredBootString": "NIC.LOM.1.1.IPv4"}}
        }))
        .unwrap();
        let hpe = boot_option_device(&option, BootOptionName::HpeStructuredBootString).unwrap();
        assert_eq!(hpe.name, "NIC.LOM.1.1.IPv4");
        assert_eq!(hpe.id, "Boot000A");
        let plain = boot_option_device(&option, BootOptionName::DisplayName).unwrap();
        assert!(plain.name.starts_with("Embedded LOM 1 Port 1"));
    }
}
