//! BIOS attributes: read them, validate changes against the attribute registry (name,
//! read-only, enumeration values, integer bounds, string length), and stage them on the
//! settings resource (Dell: applied by a config job at the next reboot).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::client::Bmc;
use crate::error::Error;
use crate::ops::jobs::job_id_from_location;
use crate::vendor::Vendor;
use crate::wire;

/// What a settings change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsChange {
    /// Everything already had the wanted value; nothing was sent.
    Unchanged,
    /// Applied now.
    Applied,
    /// Staged; applied at the next reboot, by this job when the BMC uses jobs.
    Pending {
        /// The config job (Dell), if any.
        job: Option<String>,
    },
}

/// Checks `changes` against the registry and the current values; returns the attributes to
/// send (canonical names, typed values), leaving out those already set.
///
/// # Errors
/// A readable reason: unknown attribute, read-only, value not allowed, out of bounds.
pub(crate) fn validate_bios_changes(
    registry: &wire::AttributeRegistry,
    current: &Map<String, Value>,
    changes: &BTreeMap<String, String>,
) -> Result<Map<String, Value>, String> {
    validate_attribute_changes("BIOS attribute", registry, current, changes)
}

/// [`validate_bios_changes`] for any attribute registry; `what` names the attributes in the
/// reasons (`BIOS attribute`, `NIC attribute`).
pub(crate) fn validate_attribute_changes(
    what: &str,
    registry: &wire::AttributeRegistry,
    current: &Map<String, Value>,
    changes: &BTreeMap<String, String>,
) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for (name, value) in changes {
        let entry = registry
            .entries
            .attributes
            .iter()
            .find(|a| a.attribute_name.eq_ignore_ascii_case(name))
            .ok_or_else(|| format!("{what} {name:?} is not in the registry"))?;
        let canonical = entry.attribute_name.clone();
        if entry.read_only == Some(true) {
            return Err(format!("{what} {canonical} is read-only"));
        }
        let typed = match entry.kind.as_deref() {
            Some("Enumeration") => {
                let allowed: Vec<&str> =
                    entry.value.iter().map(|v| v.value_name.as_str()).collect();
                let hit = allowed
                    .iter()
                    .find(|v| v.eq_ignore_ascii_case(value))
                    .ok_or_else(|| {
                        format!(
                            "{value:?} is not a value of {canonical} (allowed: {})",
                            allowed.join(", ")
                        )
                    })?;
                Value::String((*hit).to_owned())
            }
            Some("Integer") => {
                let n: i64 = value
                    .trim()
                    .parse()
                    .map_err(|_| format!("{canonical} takes an integer, not {value:?}"))?;
                if entry.lower_bound.is_some_and(|lo| n < lo)
                    || entry.upper_bound.is_some_and(|hi| n > hi)
                {
                    return Err(format!(
                        "{n} is outside {canonical}'s bounds {:?}..={:?}",
                        entry.lower_bound, entry.upper_bound
                    ));
                }
                json!(n)
            }
            Some("Boolean") => match value.to_ascii_lowercase().as_str() {
                "true" | "enabled" => json!(true),
                "false" | "disabled" => json!(false),
                _ => return Err(format!("{canonical} takes true or false, not {value:?}")),
            },
            _ => {
                let len = value.chars().count() as u64;
                if entry.min_length.is_some_and(|m| len < m)
                    || entry.max_length.is_some_and(|m| len > m)
                {
                    return Err(format!(
                        "{canonical} must be {:?}..={:?} characters long",
                        entry.min_length, entry.max_length
                    ));
                }
                Value::String(value.clone())
            }
        };
        let same = match (current.get(&canonical), &typed) {
            (Some(Value::String(have)), Value::String(want)) => have.eq_ignore_ascii_case(want),
            (Some(have), want) => have == want,
            (None, _) => false,
        };
        if !same {
            out.insert(canonical, typed);
        }
    }
    Ok(out)
}

/// The settings resource of a BIOS (its `@Redfish.Settings` link, else `{bios}/Settings`).
pub(crate) fn settings_path((path, bios): &(String, wire::Bios)) -> String {
    bios.settings
        .as_ref()
        .and_then(|s| s.settings_object.as_ref())
        .map(|l| l.id.clone())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| format!("{path}/Settings"))
}

impl Bmc {
    /// Where the BIOS resource is (layout: resolved once per BMC). iDRACs always serve it at
    /// `{system}/Bios`; elsewhere the system's `Bios` link is read.
    pub(crate) async fn bios_path(&self) -> Result<String, Error> {
        self.inner
            .bios_path
            .get_or_try_init(|| async {
                let system_path = self.system_path().await?;
                if self.vendor().await? == Vendor::Dell {
                    return Ok(format!("{system_path}/Bios"));
                }
                let system: wire::ComputerSystem = self.get(&system_path).await?;
                Ok(system
                    .bios
                    .map(|l| l.id)
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| format!("{system_path}/Bios")))
            })
            .await
            .cloned()
    }

    /// The BIOS resource, read now: (path, document).
    pub(crate) async fn bios(&self) -> Result<(String, wire::Bios), Error> {
        let path = self.bios_path().await?;
        let bios = self.get(&path).await?;
        Ok((path, bios))
    }

    /// Every current BIOS attribute.
    ///
    /// # Errors
    /// When the BIOS resource cannot be read.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn bios_attributes(&self) -> Result<BTreeMap<String, Value>, Error> {
        Ok(self.bios().await?.1.attributes.into_iter().collect())
    }

    /// One current BIOS attribute (`None` when the BIOS has no such attribute).
    ///
    /// # Errors
    /// When the BIOS resource cannot be read.
    pub async fn bios_attribute(&self, name: &str) -> Result<Option<Value>, Error> {
        let attributes = self.bios_attributes().await?;
        Ok(attributes
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone()))
    }

    /// The BIOS attribute registry (static: fetched once per BMC). Dell serves it at
    /// `{bios}/BiosRegistry`; DMTF services name it in `Bios.AttributeRegistry` under
    /// `/redfish/v1/Registries`.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when neither is found.
    pub async fn bios_registry(&self) -> Result<Arc<wire::AttributeRegistry>, Error> {
        if let Some(registry) = self.inner.bios_registry.get() {
            return Ok(registry.clone());
        }
        let bios = self.bios().await?;
        self.bios_registry_of(&bios).await
    }

    /// The registry, found from a BIOS document already read in this operation.
    async fn bios_registry_of(
        &self,
        (path, bios): &(String, wire::Bios),
    ) -> Result<Arc<wire::AttributeRegistry>, Error> {
        self.inner
            .bios_registry
            .get_or_try_init(|| async {
                let dell = format!("{path}/BiosRegistry");
                let mut candidates = Vec::new();
                if self.vendor().await? == Vendor::Dell {
                    candidates.push(dell.clone());
                }
                if let (Some(name), Some(registries)) = (
                    bios.attribute_registry.as_deref(),
                    self.root().await?.registries.clone(),
                ) {
                    match self
                        .get::<wire::RegistryFile>(&format!("{registries}/{name}"))
                        .await
                    {
                        Ok(file) => {
                            candidates.extend(file.location.into_iter().filter_map(|l| l.uri));
                        }
                        Err(e) if e.is_not_found() => {}
                        Err(e) => return Err(e),
                    }
                }
                if !candidates.contains(&dell) {
                    candidates.push(dell);
                }
                for candidate in candidates {
                    match self.get::<wire::AttributeRegistry>(&candidate).await {
                        Ok(registry) if !registry.entries.attributes.is_empty() => {
                            return Ok(Arc::new(registry));
                        }
                        Ok(_) => {}
                        Err(e) if e.is_not_found() => {}
                        Err(e) => return Err(e),
                    }
                }
                Err(self.err_unsupported("no BIOS attribute registry"))
            })
            .await
            .cloned()
    }

    /// One registry entry (for `--get-bios-attribute --attribute NAME`).
    ///
    /// # Errors
    /// [`Error::Invalid`] when the registry has no such attribute.
    pub async fn bios_registry_entry(&self, name: &str) -> Result<wire::RegistryAttribute, Error> {
        let registry = self.bios_registry().await?;
        registry
            .entries
            .attributes
            .iter()
            .find(|a| a.attribute_name.eq_ignore_ascii_case(name))
            .cloned()
            .ok_or_else(|| self.err_invalid(format!("no BIOS attribute {name:?}")))
    }

    /// Validates `changes` against the registry and stages those not already set. On Dell the
    /// change is applied by a config job at the next reboot (the caller reboots and may
    /// [`Bmc::wait_job`]); elsewhere it is applied at the next reset.
    ///
    /// # Errors
    /// [`Error::Invalid`] when a change does not pass the registry; request errors.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn set_bios_attributes(
        &self,
        changes: &BTreeMap<String, String>,
    ) -> Result<SettingsChange, Error> {
        // One read of the BIOS serves the registry lookup, the comparison and the staging.
        let bios = self.bios().await?;
        let registry = self.bios_registry_of(&bios).await?;
        let to_send = validate_bios_changes(&registry, &bios.1.attributes, changes)
            .map_err(|reason| self.err_invalid(reason))?;
        if to_send.is_empty() {
            return Ok(SettingsChange::Unchanged);
        }
        let settings = settings_path(&bios);
        let etag = self.etag_of(&settings).await?;
        self.stage_bios(&bios, to_send, etag).await
    }

    /// PATCHes BIOS attributes to the settings resource of `bios` (read earlier in the same
    /// operation), unvalidated (Dell one-time boot), with `etag` (of that settings resource,
    /// see [`settings_path`]) as the If-Match.
    pub(crate) async fn stage_bios(
        &self,
        bios: &(String, wire::Bios),
        attributes: Map<String, Value>,
        etag: Option<String>,
    ) -> Result<SettingsChange, Error> {
        let settings = settings_path(bios);
        if !self.quirks().await?.config_jobs {
            self.patch_if_match(&settings, &json!({"Attributes": attributes}), etag)
                .await?;
            return Ok(SettingsChange::Pending { job: None });
        }
        self.stage_for_config_job(&settings, attributes, etag).await
    }

    /// PATCHes `attributes` to a Dell settings resource to apply `OnReset`: the job the iDRAC
    /// created (202 with `Location`), or one created for the settings.
    pub(crate) async fn stage_for_config_job(
        &self,
        settings: &str,
        attributes: Map<String, Value>,
        etag: Option<String>,
    ) -> Result<SettingsChange, Error> {
        let body = json!({
            "@Redfish.SettingsApplyTime": {"ApplyTime": "OnReset"},
            "Attributes": attributes,
        });
        let reply = self.patch_if_match(settings, &body, etag).await?;
        let job = match reply.location().and_then(|l| job_id_from_location(&l)) {
            Some(job) if reply.status == http::StatusCode::ACCEPTED => job,
            _ => self.create_config_job(settings).await?,
        };
        Ok(SettingsChange::Pending { job: Some(job) })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn registry() -> wire::AttributeRegistry {
        serde_json::from_value(json!({"RegistryEntries": {"Attributes": [
            {"AttributeName": "BootMode", "Type": "Enumeration",
             "Value": [{"ValueName": "Bios"}, {"ValueName": "Uefi"}]},
            {"AttributeName": "SysProfile", "Type": "Enumeration", "ReadOnly": true,
             "Value": [{"ValueName": "PerfOptimized"}]},
            {"AttributeName": "NumLock", "Type": "Enumeration",
             "Value": [{"ValueName": "On"}, {"ValueName": "Off"}]},
            {"AttributeName": "SerialBaud", "Type": "Integer", "LowerBound": 9600, "UpperBound": 115200},
            {"AttributeName": "AssetTag", "Type": "String", "MaxLength": 4}
        ]}}))
        .unwrap()
    }

    fn changes(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn valid_changes_are_canonicalised_and_unchanged_ones_dropped() {
        let current: Map<String, Value> =
            serde_json::from_value(json!({"BootMode": "Bios", "NumLock": "On"})).unwrap();
        let out = validate_bios_changes(
            &registry(),
            &current,
            &changes(&[
                ("bootmode", "uefi"),
                ("NumLock", "on"),
                ("SerialBaud", "57600"),
            ]),
        )
        .unwrap();
        assert_eq!(out.get("BootMode"), Some(&json!("Uefi")));
        assert!(!out.contains_key("NumLock"));
        assert_eq!(out.get("SerialBaud"), Some(&json!(57600)));
    }

    #[test]
    fn invalid_changes_say_why() {
        let none = Map::new();
        let reg = registry();
        let err = |pairs: &[(&str, &str)]| {
            validate_bios_changes(&reg, &none, &changes(pairs)).unwrap_err()
        };
        assert!(err(&[("Nope", "x")]).contains("not in the registry"));
        assert!(err(&[("SysProfile", "PerfOptimized")]).contains("read-only"));
        assert!(err(&[("BootMode", "Legacy")]).contains("allowed: Bios, Uefi"));
        assert!(err(&[("SerialBaud", "1")]).contains("bounds"));
        assert!(err(&[("SerialBaud", "fast")]).contains("integer"));
        assert!(err(&[("AssetTag", "toolong")]).contains("characters"));
    }
}
