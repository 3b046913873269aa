//! Read-only inventory: serial number / service tag, processors, memory, network interfaces,
//! firmware versions and the power drawn now.

use crate::client::Bmc;
use crate::error::Error;
use crate::wire;

/// What identifies the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialInfo {
    /// Dell's service tag.
    pub service_tag: Option<String>,
    /// The system's `SerialNumber`.
    pub serial_number: Option<String>,
    /// `Manufacturer`.
    pub manufacturer: Option<String>,
    /// `Model`.
    pub model: Option<String>,
}

/// Processors: the summary and each one.
#[derive(Debug, Clone)]
pub struct ProcessorInventory {
    /// `ProcessorSummary`.
    pub summary: wire::ProcessorSummary,
    /// The CPUs (GPUs and accelerators left out).
    pub processors: Vec<wire::Processor>,
}

/// Memory: the summary and each DIMM.
#[derive(Debug, Clone)]
pub struct MemoryInventory {
    /// `MemorySummary`.
    pub summary: wire::MemorySummary,
    /// The DIMMs.
    pub dimms: Vec<wire::Memory>,
}

/// Keeps CPUs: `ProcessorType` `CPU`, or (without a type) member ids naming a CPU.
fn is_cpu(p: &wire::Processor) -> bool {
    match p.processor_type.as_deref() {
        Some(t) => t.eq_ignore_ascii_case("CPU"),
        None => {
            p.id.as_deref()
                .is_none_or(|id| id.to_ascii_uppercase().contains("CPU"))
        }
    }
}

impl Bmc {
    async fn system_doc(&self) -> Result<(String, wire::ComputerSystem), Error> {
        let path = self.system_path().await?;
        let system = self.get(&path).await?;
        Ok((path, system))
    }

    fn link_or(link: Option<&wire::Link>, fallback: String) -> String {
        link.map(|l| l.id.clone())
            .filter(|p| !p.is_empty())
            .unwrap_or(fallback)
    }

    /// Service tag and serial number (`--ls-serial`).
    ///
    /// # Errors
    /// When the system cannot be read.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn serial(&self) -> Result<SerialInfo, Error> {
        let root = self.root().await?;
        let (_, system) = self.system_doc().await?;
        let dell = self.vendor().await? == crate::Vendor::Dell;
        Ok(SerialInfo {
            service_tag: root
                .service_tag
                .clone()
                .or_else(|| system.sku.clone().filter(|_| dell)),
            serial_number: system.serial_number,
            manufacturer: system.manufacturer,
            model: system.model,
        })
    }

    /// Processors (`--ls-processors`).
    ///
    /// # Errors
    /// When the system or its processors cannot be read.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn processors(&self) -> Result<ProcessorInventory, Error> {
        let (path, system) = self.system_doc().await?;
        let collection = Self::link_or(system.processors.as_ref(), format!("{path}/Processors"));
        let all = self.members_all::<wire::Processor>(&collection).await?;
        Ok(ProcessorInventory {
            summary: system.processor_summary.unwrap_or_default(),
            processors: all.into_iter().map(|m| m.value).filter(is_cpu).collect(),
        })
    }

    /// Memory (`--ls-memory`).
    ///
    /// # Errors
    /// When the system or its memory cannot be read.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn memory(&self) -> Result<MemoryInventory, Error> {
        let (path, system) = self.system_doc().await?;
        let collection = Self::link_or(system.memory.as_ref(), format!("{path}/Memory"));
        let dimms = self.members_all(&collection).await?;
        Ok(MemoryInventory {
            summary: system.memory_summary.unwrap_or_default(),
            dimms: dimms.into_iter().map(|m| m.value).collect(),
        })
    }

    /// The system's Ethernet interfaces (`--ls-interfaces`, `--boot-to-mac`).
    ///
    /// # Errors
    /// When they cannot be read.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn ethernet_interfaces(&self) -> Result<Vec<wire::EthernetInterface>, Error> {
        let (path, system) = self.system_doc().await?;
        let collection = Self::link_or(
            system.ethernet_interfaces.as_ref(),
            format!("{path}/EthernetInterfaces"),
        );
        let nics = self.members_all(&collection).await?;
        Ok(nics.into_iter().map(|m| m.value).collect())
    }

    /// Installed firmware (`--firmware-inventory`). Dell also lists previous and available
    /// images; only `Installed-*` entries are kept there.
    ///
    /// # Errors
    /// When the update service cannot be read.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn firmware_inventory(&self) -> Result<Vec<wire::SoftwareInventory>, Error> {
        let root = self.root().await?;
        let service = root
            .update_service
            .clone()
            .unwrap_or_else(|| "/redfish/v1/UpdateService".to_owned());
        let update: wire::UpdateService = self.get(&service).await?;
        let collection = Self::link_or(
            update.firmware_inventory.as_ref(),
            format!("{service}/FirmwareInventory"),
        );
        let installed_only = self.quirks().await?.firmware_installed_only;
        let installed = self
            .members_where(&collection, |p| {
                !installed_only
                    || p.rsplit('/')
                        .next()
                        .is_some_and(|id| id.starts_with("Installed"))
            })
            .await?;
        Ok(installed.into_iter().map(|m| m.value).collect())
    }

    /// Watts drawn now (`--get-power-consumed`): `PowerControl[0].PowerConsumedWatts` of the
    /// system's chassis. `None` when the BMC reports no reading.
    ///
    /// # Errors
    /// [`Error::Unsupported`] without a chassis `Power` resource.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn power_consumed_watts(&self) -> Result<Option<f64>, Error> {
        let chassis = self
            .chassis_path()
            .await?
            .ok_or_else(|| self.err_unsupported("no chassis"))?;
        let power: wire::Power = match self.get(&format!("{chassis}/Power")).await {
            Err(e) if e.is_not_found() => {
                return Err(self.err_unsupported("no chassis Power resource"));
            }
            other => other?,
        };
        Ok(power
            .power_control
            .first()
            .and_then(|c| c.power_consumed_watts))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn cpus_are_told_from_gpus() {
        let p = |v: serde_json::Value| serde_json::from_value::<wire::Processor>(v).unwrap();
        assert!(is_cpu(&p(serde_json::json!({"Id": "CPU.Socket.1"}))));
        assert!(is_cpu(&p(
            serde_json::json!({"Id": "1", "ProcessorType": "CPU"})
        )));
        assert!(!is_cpu(&p(
            serde_json::json!({"Id": "Video.Slot.1", "ProcessorType": "GPU"})
        )));
        assert!(!is_cpu(&p(
            serde_json::json!({"Id": "ProcAccelerator.Slot.2"})
        )));
    }
}
