//! BIOS maintenance and device listings Badfish offers beside the boot and power work: BIOS
//! factory reset, the BIOS setup password, global SR-IOV, enabling or disabling one boot
//! device, GPUs, and the firmware difference between two BMCs.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::client::Bmc;
use crate::error::Error;
use crate::ops::bios::SettingsChange;
use crate::ops::boot::{BootDevice, BootOrder, boot_option_device};
use crate::vendor::{BootOrderMethod, Vendor};
use crate::wire;
use crate::{CancellationToken, Secret};

/// The BIOS attribute that holds global SR-IOV (Dell and the lab's flavours).
pub(crate) const SRIOV_ATTRIBUTE: &str = "SriovGlobalEnable";

/// One GPU or accelerator of the system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gpu {
    /// The processor's `Id` (`Video.Slot.1-1`, `ProcAccelerator.Slot.2-1`, `GPU1`).
    pub id: String,
    /// `Model`.
    pub model: Option<String>,
    /// `Manufacturer`.
    pub manufacturer: Option<String>,
    /// `ProcessorType`.
    pub processor_type: Option<String>,
}

/// Whether a processor member is a GPU or accelerator: its type says so, or (without one)
/// its id is Dell's `Video.` / `ProcAccelerator.` name.
#[must_use]
pub(crate) fn is_gpu(id: &str, processor_type: Option<&str>) -> bool {
    match processor_type {
        Some(t) => matches!(t, "GPU" | "Accelerator" | "FPGA"),
        None => id.contains("Video") || id.contains("ProcAccelerator"),
    }
}

/// One firmware whose version differs between two BMCs (`--delta`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirmwareDelta {
    /// The inventory entry's `Id` on the first BMC.
    pub id: String,
    /// Its `Name`.
    pub name: String,
    /// Version on the first BMC.
    pub first: String,
    /// Version on the second.
    pub second: String,
}

/// The firmware present on both inventories (matched by `Name`, the part every vendor fills)
/// whose versions differ, in the first inventory's order.
#[must_use]
pub fn firmware_delta(
    first: &[wire::SoftwareInventory],
    second: &[wire::SoftwareInventory],
) -> Vec<FirmwareDelta> {
    first
        .iter()
        .filter_map(|a| {
            let name = a.name.as_deref()?;
            let b = second.iter().find(|b| b.name.as_deref() == Some(name))?;
            let (va, vb) = (a.version.as_deref()?, b.version.as_deref()?);
            (va != vb).then(|| FirmwareDelta {
                id: a.id.clone().unwrap_or_default(),
                name: name.to_owned(),
                first: va.to_owned(),
                second: vb.to_owned(),
            })
        })
        .collect()
}

/// Flips the `Enabled` flag of the Dell boot source called `device` (exact name, as Badfish);
/// the entries to send and the new state, or `None` when there is no such device.
#[must_use]
pub(crate) fn toggle_dell_entry(
    entries: &[wire::BootSourceEntry],
    device: &str,
) -> Option<(Vec<wire::BootSourceEntry>, bool)> {
    let mut out = entries.to_vec();
    let entry = out.iter_mut().find(|e| e.name == device)?;
    entry.enabled = !entry.enabled;
    let state = entry.enabled;
    Some((out, state))
}

impl Bmc {
    /// Resets the BIOS to its factory defaults (`--factory-reset`): `Bios.ResetBios`, applied
    /// by the BIOS at the next boot.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when the BMC has no such action; request errors.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn reset_bios(&self) -> Result<(), Error> {
        let (path, _) = self.bios().await?;
        match self
            .post(&format!("{path}/Actions/Bios.ResetBios"), &json!({}))
            .await
        {
            Err(e) if e.is_not_found() => Err(self.err_unsupported("no Bios.ResetBios action")),
            other => other.map(|_| ()),
        }
    }

    /// Sets (`new` non-empty) or removes (`new` empty) the BIOS setup password with
    /// `Bios.ChangePassword`, applied at the next boot (Dell: by the config job returned).
    ///
    /// # Errors
    /// [`Error::Unsupported`] without the action; request errors (a wrong old password is the
    /// BMC's 400).
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn change_bios_password(
        &self,
        old: &Secret,
        new: &Secret,
    ) -> Result<SettingsChange, Error> {
        let (path, bios) = self.bios().await?;
        let body = json!({
            "PasswordName": "SetupPassword",
            "OldPassword": old.expose(),
            "NewPassword": new.expose(),
        });
        match self
            .post(&format!("{path}/Actions/Bios.ChangePassword"), &body)
            .await
        {
            Err(e) if e.is_not_found() => {
                return Err(self.err_unsupported("no Bios.ChangePassword action"));
            }
            other => other?,
        };
        if self.vendor().await? == Vendor::Dell {
            let settings = crate::ops::bios::settings_path(&(path, bios));
            let job = self.create_config_job(&settings).await?;
            return Ok(SettingsChange::Pending { job: Some(job) });
        }
        Ok(SettingsChange::Pending { job: None })
    }

    /// Global SR-IOV (`--get-sriov`): the BIOS attribute's value.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when the BIOS has no such attribute.
    pub async fn sriov_mode(&self) -> Result<String, Error> {
        match self.bios_attribute(SRIOV_ATTRIBUTE).await? {
            Some(Value::String(s)) => Ok(s),
            Some(other) => Ok(other.to_string()),
            None => Err(self.err_unsupported("the BIOS has no SriovGlobalEnable attribute")),
        }
    }

    /// Stages global SR-IOV on or off (`--enable-sriov`, `--disable-sriov`); unchanged when it
    /// already is.
    ///
    /// # Errors
    /// As [`Bmc::sriov_mode`] and [`Bmc::set_bios_attributes`].
    pub async fn set_sriov(&self, enabled: bool) -> Result<SettingsChange, Error> {
        self.sriov_mode().await?;
        let value = if enabled { "Enabled" } else { "Disabled" };
        let changes = BTreeMap::from([(SRIOV_ATTRIBUTE.to_owned(), value.to_owned())]);
        self.set_bios_attributes(&changes).await
    }

    /// GPUs and accelerators among the system's processors (`--ls-gpu`).
    ///
    /// # Errors
    /// When the processors cannot be read.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn gpus(&self) -> Result<Vec<Gpu>, Error> {
        let path = self.system_path().await?;
        let system: wire::ComputerSystem = self.get(&path).await?;
        let collection = system
            .processors
            .map(|l| l.id)
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| format!("{path}/Processors"));
        let all = self.members_all::<wire::Processor>(&collection).await?;
        Ok(all
            .into_iter()
            .map(|m| m.value)
            .filter_map(|p| {
                let id = p.id.clone().unwrap_or_default();
                is_gpu(&id, p.processor_type.as_deref()).then_some(Gpu {
                    id,
                    model: p.model,
                    manufacturer: p.manufacturer,
                    processor_type: p.processor_type,
                })
            })
            .collect())
    }

    /// Enables a disabled boot device or disables an enabled one (`--toggle-boot-device`).
    /// Dell: `BootSources/Settings` and a config job (returned, applied at the next reboot);
    /// DMTF: the boot option's `BootOptionEnabled`. Returns the device's new state.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the devices there are when `device` is not one of them.
    #[tracing::instrument(skip_all, fields(bmc = %self.name(), %device))]
    pub async fn toggle_boot_device(
        &self,
        device: &str,
        cancel: &CancellationToken,
    ) -> Result<(bool, SettingsChange), Error> {
        let not_found = |names: Vec<String>| {
            self.err_invalid(format!(
                "{device:?} is not a boot device (devices: {})",
                names.join(", ")
            ))
        };
        let quirks = self.quirks().await?;
        match quirks.boot_order {
            BootOrderMethod::DellBootSources => {
                let (path, sources) = self
                    .dell_get::<wire::BootSources>(crate::vendor::DellResource::BootSources)
                    .await?;
                let mut names = Vec::new();
                let mut hit = None;
                for (key, value) in sources
                    .attributes
                    .iter()
                    .filter(|(k, _)| k.ends_with("BootSeq"))
                {
                    let entries: Vec<wire::BootSourceEntry> =
                        serde_json::from_value(value.clone()).unwrap_or_default();
                    names.extend(entries.iter().map(|e| e.name.clone()));
                    if hit.is_none()
                        && let Some(toggled) = toggle_dell_entry(&entries, device)
                    {
                        hit = Some((key.clone(), toggled));
                    }
                }
                let Some((key, (entries, state))) = hit else {
                    return Err(not_found(names));
                };
                self.clear_jobs(crate::ClearJobs::Pending, cancel).await?;
                let mut attributes = Map::new();
                attributes.insert(key, json!(entries));
                self.patch(
                    &format!("{path}/Settings"),
                    &json!({ "Attributes": attributes }),
                )
                .await?;
                let bios_settings = format!("{}/Bios/Settings", self.system_path().await?);
                let job = self.create_config_job(&bios_settings).await?;
                Ok((state, SettingsChange::Pending { job: Some(job) }))
            }
            BootOrderMethod::DmtfBootOrder => {
                let options = self.boot_options_path().await?;
                let members = self.members_all::<wire::BootOption>(&options).await?;
                let devices: Vec<(String, BootDevice)> = members
                    .iter()
                    .filter_map(|m| {
                        boot_option_device(&m.value, quirks.boot_option_name)
                            .map(|d| (m.path.clone(), d))
                    })
                    .collect();
                let known = BootOrder {
                    mode: None,
                    devices: devices.iter().map(|(_, d)| d.clone()).collect(),
                };
                let Some(found) = known.find(device) else {
                    return Err(not_found(known.names()));
                };
                let Some((path, _)) = devices.iter().find(|(_, d)| d.id == found.id) else {
                    return Err(not_found(known.names()));
                };
                let state = !found.enabled;
                self.patch(path, &json!({ "BootOptionEnabled": state }))
                    .await?;
                Ok((state, SettingsChange::Applied))
            }
        }
    }

    /// The system's `BootOptions` collection.
    async fn boot_options_path(&self) -> Result<String, Error> {
        let path = self.system_path().await?;
        let system: wire::ComputerSystem = self.get(&path).await?;
        system
            .boot
            .and_then(|b| b.boot_options)
            .map(|l| l.id)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| self.err_unsupported("the system lists no BootOptions"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn fw(id: &str, name: &str, version: &str) -> wire::SoftwareInventory {
        serde_json::from_value(json!({"Id": id, "Name": name, "Version": version})).unwrap()
    }

    #[test]
    fn gpus_are_told_by_type_or_dell_id() {
        assert!(is_gpu("GPU1", Some("GPU")));
        assert!(is_gpu("Video.Slot.1-1", None));
        assert!(is_gpu("ProcAccelerator.Slot.2-1", None));
        assert!(!is_gpu("CPU.Socket.1", Some("CPU")));
        assert!(!is_gpu("CPU1", None));
    }

    #[test]
    fn delta_lists_only_differing_versions_of_shared_firmware() {
        let a = [
            fw("Installed-1-2", "BIOS", "2.1.0"),
            fw("Installed-3", "iDRAC", "7.00"),
            fw("Installed-4", "NIC", "1.0"),
        ];
        let b = [
            fw("Installed-1-2", "BIOS", "2.2.0"),
            fw("x", "iDRAC", "7.00"),
        ];
        assert_eq!(
            firmware_delta(&a, &b),
            [FirmwareDelta {
                id: "Installed-1-2".into(),
                name: "BIOS".into(),
                first: "2.1.0".into(),
                second: "2.2.0".into(),
            }]
        );
    }

    #[test]
    fn toggling_flips_one_entry_only() {
        let entries: Vec<wire::BootSourceEntry> = serde_json::from_value(json!([
            {"Enabled": true, "Id": "a", "Index": 0, "Name": "NIC.Integrated.1-1-1"},
            {"Enabled": false, "Id": "b", "Index": 1, "Name": "HardDisk.List.1-1"}
        ]))
        .unwrap();
        let (out, state) = toggle_dell_entry(&entries, "HardDisk.List.1-1").unwrap();
        assert!(state && out[1].enabled && out[0].enabled);
        assert!(toggle_dell_entry(&entries, "nope").is_none());
    }
}
