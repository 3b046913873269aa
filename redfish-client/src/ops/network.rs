//! NICs by FQDD (Badfish's `--get-nic-fqdds`, `--get-nic-attribute`, `--set-nic-attribute`):
//! the chassis' `NetworkAdapters` and each adapter's `NetworkDeviceFunctions` (DMTF, any
//! vendor), and on Dell iDRACs the OEM NIC attributes of a port
//! (`{chassis}/NetworkAdapters/{adapter}/NetworkDeviceFunctions/{fqdd}/Oem/Dell/DellNetworkAttributes/{fqdd}`),
//! checked against the port's attribute registry (`NetworkAttributesRegistry_{fqdd}`, served
//! from iDRAC9 firmware 5.10 and on iDRAC10) and staged on their `Settings` for a config job
//! applied at the next reboot.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::client::Bmc;
use crate::error::Error;
use crate::ops::bios::{SettingsChange, settings_path, validate_attribute_changes};
use crate::vendor::{DellGeneration, Vendor};
use crate::wire;

/// One network adapter and the FQDDs of its ports (device functions), in the BMC's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NicAdapter {
    /// The adapter's id (`NIC.Integrated.1`).
    pub id: String,
    /// Its ports' FQDDs (`NIC.Integrated.1-1-1`).
    pub fqdds: Vec<String>,
}

/// One NIC attribute's registry entry and current value (`--get-nic-attribute --attribute`).
#[derive(Debug, Clone)]
pub struct NicAttributeInfo {
    /// The registry entry (type, allowed values, bounds).
    pub entry: wire::RegistryAttribute,
    /// The entry as the BMC served it, every property in its order, plus `CurrentValue`.
    pub fields: Map<String, Value>,
    /// The port's current value (`None` when the port does not report it).
    pub current: Option<Value>,
}

/// The adapter of a port FQDD: what comes before its first `-` (Dell's naming, as Badfish).
#[must_use]
pub fn nic_adapter_of(fqdd: &str) -> &str {
    fqdd.split('-').next().unwrap_or(fqdd)
}

/// Whether an iDRAC9 firmware version (`7.00.00.173`) is at least 5.10, the first to serve
/// the NIC attribute registries; an unreadable version counts as too old.
#[must_use]
pub fn idrac9_serves_nic_registry(firmware: &str) -> bool {
    let mut parts = firmware.split('.').map(|p| p.trim().parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= (5, 10),
        _ => false,
    }
}

impl Bmc {
    /// The chassis' network adapters collection (its `NetworkAdapters` link, else
    /// `{chassis}/NetworkAdapters`).
    async fn network_adapters_path(&self) -> Result<String, Error> {
        let Some(chassis) = self.chassis_path().await? else {
            return Err(self.err_unsupported("network adapters (the BMC lists no chassis)"));
        };
        let doc: Value = self.get(&chassis).await?;
        Ok(doc
            .get("NetworkAdapters")
            .and_then(|l| l.get("@odata.id"))
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
            .map_or_else(|| format!("{chassis}/NetworkAdapters"), str::to_owned))
    }

    /// Every network adapter and its ports' FQDDs (`--get-nic-fqdds`): one read of the adapter
    /// collection, one of each adapter's `NetworkDeviceFunctions`.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when the BMC has no network adapters; request errors.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn nic_fqdds(&self) -> Result<Vec<NicAdapter>, Error> {
        let path = self.network_adapters_path().await?;
        let adapters: wire::Collection = match self.get(&path).await {
            Ok(c) => c,
            Err(e) if e.is_not_found() => {
                return Err(self.err_unsupported("network adapters (no NetworkAdapters)"));
            }
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for adapter in adapters.paths() {
            let functions: wire::Collection = self
                .get(&format!("{adapter}/NetworkDeviceFunctions"))
                .await?;
            out.push(NicAdapter {
                id: last_segment(&adapter),
                fqdds: functions.paths().iter().map(|p| last_segment(p)).collect(),
            });
        }
        Ok(out)
    }

    /// The Dell NIC attributes resource of a port: (path, document).
    async fn nic_attributes_doc(&self, fqdd: &str) -> Result<(String, wire::Bios), Error> {
        if self.vendor().await? != Vendor::Dell {
            return Err(self.err_unsupported(
                "NIC attributes (Dell OEM DellNetworkAttributes; not a Dell iDRAC)",
            ));
        }
        let chassis = match self.chassis_path().await? {
            Some(c) => c,
            None => format!(
                "/redfish/v1/Chassis/{}",
                last_segment(&self.system_path().await?)
            ),
        };
        let path = format!(
            "{chassis}/NetworkAdapters/{}/NetworkDeviceFunctions/{fqdd}/Oem/Dell/DellNetworkAttributes/{fqdd}",
            nic_adapter_of(fqdd)
        );
        match self.get(&path).await {
            Ok(doc) => Ok((path, doc)),
            Err(e) if e.is_not_found() => {
                Err(self.err_invalid(format!("no NIC with FQDD {fqdd:?} (see --get-nic-fqdds)")))
            }
            Err(e) => Err(e),
        }
    }

    /// Every Dell NIC attribute of a port and its current value (`--get-nic-attribute FQDD`).
    ///
    /// # Errors
    /// [`Error::Unsupported`] on a BMC that is not a Dell iDRAC; [`Error::Invalid`] for an
    /// unknown FQDD; request errors.
    #[tracing::instrument(skip_all, fields(bmc = %self.name(), fqdd))]
    pub async fn nic_attributes(&self, fqdd: &str) -> Result<BTreeMap<String, Value>, Error> {
        Ok(self
            .nic_attributes_doc(fqdd)
            .await?
            .1
            .attributes
            .into_iter()
            .collect())
    }

    /// A port's attribute registry: the registry file the attributes name (its location),
    /// else `Registries/{name}/{name}.json`. Refused on iDRAC9 firmware before 5.10.
    async fn nic_registry(
        &self,
        fqdd: &str,
        doc: &wire::Bios,
    ) -> Result<Vec<Map<String, Value>>, Error> {
        if self.dell_generation().await? == Some(DellGeneration::Idrac9) {
            let doc = self.manager_doc().await?;
            let firmware = doc.firmware_version.as_deref().unwrap_or_default();
            if !idrac9_serves_nic_registry(firmware) {
                return Err(self.err_unsupported(format!(
                    "NIC attribute registry (iDRAC firmware {firmware}; needs 5.10 or later)"
                )));
            }
        }
        let name = doc
            .attribute_registry
            .clone()
            .unwrap_or_else(|| format!("NetworkAttributesRegistry_{fqdd}"));
        let registries = self
            .root()
            .await?
            .registries
            .clone()
            .unwrap_or_else(|| "/redfish/v1/Registries".to_owned());
        let mut location = format!("{registries}/{name}/{name}.json");
        match self
            .get::<wire::RegistryFile>(&format!("{registries}/{name}"))
            .await
        {
            Ok(file) => {
                if let Some(uri) = file.location.into_iter().find_map(|l| l.uri) {
                    location = uri;
                }
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
        let registry: Value = match self.get(&location).await {
            Err(e) if e.is_not_found() => {
                return Err(self.err_unsupported(format!(
                    "NIC attribute registry of {fqdd} (not at {location})"
                )));
            }
            other => other?,
        };
        Ok(registry
            .pointer("/RegistryEntries/Attributes")
            .and_then(Value::as_array)
            .map(|entries| {
                entries
                    .iter()
                    .filter_map(|e| e.as_object().cloned())
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The typed registry of a port (for checking changes).
    fn typed_registry(
        &self,
        fqdd: &str,
        entries: &[Map<String, Value>],
    ) -> Result<wire::AttributeRegistry, Error> {
        let raw = serde_json::json!({"RegistryEntries": {"Attributes": entries}});
        serde_json::from_value(raw).map_err(|e| {
            self.err_invalid(format!(
                "the NIC attribute registry of {fqdd} is malformed: {e}"
            ))
        })
    }

    /// One NIC attribute of a port: its registry entry and current value
    /// (`--get-nic-attribute FQDD --attribute NAME`).
    ///
    /// # Errors
    /// As [`Bmc::nic_attributes`]; [`Error::Unsupported`] without the registry (iDRAC9
    /// firmware before 5.10); [`Error::Invalid`] for an attribute not in the registry.
    #[tracing::instrument(skip_all, fields(bmc = %self.name(), fqdd, attribute = name))]
    pub async fn nic_attribute(&self, fqdd: &str, name: &str) -> Result<NicAttributeInfo, Error> {
        let (_, doc) = self.nic_attributes_doc(fqdd).await?;
        let mut fields = self
            .nic_registry(fqdd, &doc)
            .await?
            .into_iter()
            .find(|e| {
                e.get("AttributeName")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .ok_or_else(|| {
                self.err_invalid(format!(
                    "NIC attribute {name:?} is not in {fqdd}'s registry"
                ))
            })?;
        let entry: wire::RegistryAttribute = serde_json::from_value(Value::Object(fields.clone()))
            .map_err(|e| self.err_invalid(format!("NIC attribute {name:?}: {e}")))?;
        let current = doc.attributes.get(&entry.attribute_name).cloned();
        fields.insert(
            "CurrentValue".to_owned(),
            current.clone().unwrap_or(Value::Null),
        );
        Ok(NicAttributeInfo {
            entry,
            fields,
            current,
        })
    }

    /// Sets one NIC attribute of a port (`--set-nic-attribute FQDD --attribute NAME --value
    /// V`): checked against the registry (name, read-only, allowed values, bounds, length),
    /// unchanged when it already has the value, else staged on the attributes' `Settings` to
    /// apply `OnReset` in a config job (returned; the caller reboots and may
    /// [`Bmc::wait_job`]).
    ///
    /// # Errors
    /// As [`Bmc::nic_attribute`]; [`Error::Invalid`] for a value the registry does not allow;
    /// the BMC's refusal (a change of this port already waiting in a job).
    #[tracing::instrument(skip_all, fields(bmc = %self.name(), fqdd, attribute = name))]
    pub async fn set_nic_attribute(
        &self,
        fqdd: &str,
        name: &str,
        value: &str,
    ) -> Result<SettingsChange, Error> {
        let (path, doc) = self.nic_attributes_doc(fqdd).await?;
        let entries = self.nic_registry(fqdd, &doc).await?;
        let registry = self.typed_registry(fqdd, &entries)?;
        let changes = BTreeMap::from([(name.to_owned(), value.to_owned())]);
        let to_send =
            validate_attribute_changes("NIC attribute", &registry, &doc.attributes, &changes)
                .map_err(|reason| self.err_invalid(format!("{fqdd}: {reason}")))?;
        if to_send.is_empty() {
            return Ok(SettingsChange::Unchanged);
        }
        let settings = settings_path(&(path, doc));
        let etag = self.etag_of(&settings).await?;
        self.stage_for_config_job(&settings, to_send, etag).await
    }
}

/// The last segment of a resource path (its id).
fn last_segment(path: &str) -> String {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapters_and_firmware_gate() {
        assert_eq!(nic_adapter_of("NIC.Integrated.1-1-1"), "NIC.Integrated.1");
        assert_eq!(nic_adapter_of("NIC.Slot.3"), "NIC.Slot.3");
        assert!(idrac9_serves_nic_registry("7.00.00.173"));
        assert!(idrac9_serves_nic_registry("5.10.00.00"));
        assert!(!idrac9_serves_nic_registry("5.00.10.20"));
        assert!(!idrac9_serves_nic_registry("4.40.00.00"));
        assert!(!idrac9_serves_nic_registry("unknown"));
        assert_eq!(last_segment("/a/b/NIC.Slot.3-1-1/"), "NIC.Slot.3-1-1");
    }
}
