//! The persistent boot order in the vendors' own resources, preferred to the DMTF
//! `Boot.BootOrder` where the BMC links them: iLO 5/6's `Bios/Boot/` (`HpeServerBootSettings`:
//! `PersistentBootConfigOrder` of structured boot strings, a new order written to its
//! `@Redfish.Settings` object `Bios/Boot/Settings/`) and XCC's
//! `Oem/Lenovo/BootSettings/BootOrder.BootOrder` (`BootOrderCurrent`, `BootOrderNext`,
//! `BootOrderSupported`). Either way the new order is staged and applied at the next POST
//! ([`SettingsChange::Pending`]); the staging is shared with the DMTF settings object
//! (`boot.rs`'s `stage_boot_order`).

use serde_json::{Map, Value, json};

use crate::client::Bmc;
use crate::error::Error;
use crate::ops::bios::SettingsChange;
use crate::ops::boot::{BootDevice, BootOrder};
use crate::vendor::OemBootOrder;
use crate::wire;

/// The property a staged boot order is written to and read back from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StagedProperty {
    /// DMTF `Boot.BootOrder` of a system's settings object (iLO `Systems/1/Settings/`, XCC
    /// `Systems/1/Pending`).
    DmtfBootOrder,
    /// A top-level list: iLO's `PersistentBootConfigOrder`, XCC's `BootOrderNext`.
    Named(&'static str),
}

impl StagedProperty {
    /// The order a document shows staged.
    pub(crate) fn read(self, doc: &Value) -> Vec<String> {
        let list = match self {
            Self::DmtfBootOrder => doc.pointer("/Boot/BootOrder"),
            Self::Named(key) => doc.get(key),
        };
        strings(list)
    }

    /// The PATCH body staging `order`.
    pub(crate) fn body(self, order: &[String]) -> Value {
        match self {
            Self::DmtfBootOrder => json!({"Boot": {"BootOrder": order}}),
            Self::Named(key) => {
                let mut body = Map::new();
                body.insert(key.to_owned(), json!(order));
                Value::Object(body)
            }
        }
    }
}

/// Where a boot order applied at the next POST is staged.
#[derive(Debug, Clone)]
pub(crate) struct Staging {
    /// The settings resource.
    pub(crate) path: String,
    /// Its property.
    pub(crate) property: StagedProperty,
    /// What it shows staged and its `ETag`, when the operation already read it (XCC's one
    /// resource shows the current and the next order).
    pub(crate) read: Option<(Vec<String>, Option<String>)>,
}

/// A vendor's boot order as one operation read it.
#[derive(Debug, Clone)]
pub(crate) struct OemBoot {
    /// The order now, first to last, in the resource's names.
    pub(crate) current: Vec<String>,
    /// Every device the resource names (iLO `BootSources`, XCC `BootOrderSupported`).
    pub(crate) known: Vec<String>,
    /// Where a new order goes.
    pub(crate) staging: Staging,
}

impl OemBoot {
    /// The current order; the resource's names are both name and id.
    pub(crate) fn order(&self) -> BootOrder {
        BootOrder {
            mode: None,
            devices: self.current.iter().map(|n| device(n, true)).collect(),
        }
    }

    /// The new order with the devices `wanted` names (as [`BootOrder::find`] matches) first,
    /// a known device not in the order yet included; `None` when the order already starts
    /// that way.
    ///
    /// # Errors
    /// The names none of `wanted` matches, when none does.
    pub(crate) fn reorder(&self, wanted: &[String]) -> Result<Option<Vec<String>>, Vec<String>> {
        let known = BootOrder {
            mode: None,
            devices: self
                .known
                .iter()
                .chain(self.current.iter().filter(|c| !self.known.contains(c)))
                .map(|n| device(n, self.current.contains(n)))
                .collect(),
        };
        let mut ordered: Vec<String> = Vec::new();
        for id in wanted
            .iter()
            .filter_map(|w| known.find(w).map(|d| d.id.clone()))
        {
            if !ordered.contains(&id) {
                ordered.push(id);
            }
        }
        if ordered.is_empty() {
            return Err(known.names());
        }
        let rest: Vec<String> = self
            .current
            .iter()
            .filter(|c| !ordered.contains(c))
            .cloned()
            .collect();
        ordered.extend(rest);
        Ok((ordered != self.current).then_some(ordered))
    }
}

fn device(name: &str, enabled: bool) -> BootDevice {
    BootDevice {
        name: name.to_owned(),
        id: name.to_owned(),
        enabled,
    }
}

/// The strings of a JSON list (nothing for anything else).
fn strings(list: Option<&Value>) -> Vec<String> {
    list.and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The `@odata.id` of the link at `pointer`.
fn link_at(doc: &Value, pointer: &str) -> Option<String> {
    doc.pointer(pointer)?
        .get("@odata.id")?
        .as_str()
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
}

/// The settings object of a resource at `path`: its `@Redfish.Settings`, else `Settings` under
/// it (iLO paths end with `/`).
fn settings_of(doc: &Value, path: &str) -> String {
    link_at(doc, "/@Redfish.Settings/SettingsObject").unwrap_or_else(|| {
        if path.ends_with('/') {
            format!("{path}Settings/")
        } else {
            format!("{path}/Settings")
        }
    })
}

/// iLO's `HpeServerBootSettings` at `path`.
fn hpe_boot(doc: &Value, path: &str) -> OemBoot {
    let known = doc
        .get("BootSources")
        .and_then(Value::as_array)
        .map(|sources| {
            sources
                .iter()
                .filter_map(|s| s.get("StructuredBootString").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    OemBoot {
        current: strings(doc.get("PersistentBootConfigOrder")),
        known,
        staging: Staging {
            path: settings_of(doc, path),
            property: StagedProperty::Named("PersistentBootConfigOrder"),
            read: None,
        },
    }
}

/// XCC's `LenovoBootManager` at `path` (also its own settings object: `BootOrderNext`).
fn lenovo_boot(doc: &Value, path: &str, etag: Option<String>) -> OemBoot {
    let property = StagedProperty::Named("BootOrderNext");
    OemBoot {
        current: strings(doc.get("BootOrderCurrent")),
        known: strings(doc.get("BootOrderSupported")),
        staging: Staging {
            path: path.to_owned(),
            property,
            read: Some((property.read(doc), etag)),
        },
    }
}

impl Bmc {
    /// The vendor's own boot order ([`crate::vendor::Quirks::oem_boot_order`]); `None` when the
    /// vendor has none or the BMC does not link it (the DMTF order serves then).
    pub(crate) async fn oem_boot(&self) -> Result<Option<OemBoot>, Error> {
        let Some(kind) = self.quirks().await?.oem_boot_order else {
            return Ok(None);
        };
        match kind {
            OemBootOrder::HpeServerBootSettings => {
                let bios: Value = self.get(&self.bios_path().await?).await?;
                let Some(path) = link_at(&bios, "/Oem/Hpe/Links/Boot") else {
                    return Ok(None);
                };
                let doc: Value = self.get(&path).await?;
                Ok(Some(hpe_boot(&doc, &path)))
            }
            OemBootOrder::LenovoBootSettings => {
                let system: wire::ComputerSystem = self.get(&self.system_path().await?).await?;
                let oem = Value::Object(system.oem.unwrap_or_default());
                let Some(collection) = link_at(&oem, "/Lenovo/BootSettings") else {
                    return Ok(None);
                };
                let members = self.members_all::<Value>(&collection).await?;
                let Some(member) = members
                    .iter()
                    .find(|m| {
                        m.path
                            .trim_end_matches('/')
                            .ends_with("BootOrder.BootOrder")
                    })
                    .or_else(|| {
                        members
                            .iter()
                            .find(|m| m.value.get("BootOrderCurrent").is_some())
                    })
                else {
                    return Ok(None);
                };
                Ok(Some(lenovo_boot(
                    &member.value,
                    &member.path,
                    member.etag.clone(),
                )))
            }
        }
    }

    /// Stages the order with `devices` first in the vendor's resource.
    pub(crate) async fn set_oem_boot_order(
        &self,
        oem: OemBoot,
        devices: &[String],
    ) -> Result<SettingsChange, Error> {
        let new_order = oem.reorder(devices).map_err(|known| {
            self.err_invalid(format!(
                "none of {} is a boot device (devices: {})",
                devices.join(", "),
                known.join(", ")
            ))
        })?;
        self.stage_boot_order(oem.staging, &oem.current, new_order)
            .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ilo_boot_settings_are_read_by_structured_boot_string() {
        let doc = json!({
            "@Redfish.Settings": {"SettingsObject": {"@odata.id": "/redfish/v1/systems/1/bios/boot/settings/"}},
            "BootSources": [
                {"StructuredBootString": "HD.EmbRAID.1.3"},
                {"StructuredBootString": "NIC.LOM.1.1.IPv4"},
                {"StructuredBootString": "NIC.Slot.3.1.IPv4"},
            ],
            "PersistentBootConfigOrder": ["HD.EmbRAID.1.3", "NIC.LOM.1.1.IPv4", "NIC.Slot.3.1.IPv4"],
        });
        let boot = hpe_boot(&doc, "/redfish/v1/systems/1/bios/boot/");
        assert_eq!(
            boot.staging.path,
            "/redfish/v1/systems/1/bios/boot/settings/"
        );
        assert_eq!(boot.order().names()[1], "NIC.LOM.1.1.IPv4");
        let wanted = ["NIC.Slot.3.1.IPv4".to_owned()];
        assert_eq!(
            boot.reorder(&wanted).unwrap().unwrap(),
            ["NIC.Slot.3.1.IPv4", "HD.EmbRAID.1.3", "NIC.LOM.1.1.IPv4"]
        );
        assert!(
            boot.reorder(&["HD.EmbRAID.1.3".to_owned()])
                .unwrap()
                .is_none()
        );
        assert_eq!(
            boot.reorder(&["NIC.Bogus".to_owned()]).unwrap_err().len(),
            3
        );
        let bare = hpe_boot(&json!({}), "/redfish/v1/systems/1/bios/boot/");
        assert_eq!(
            bare.staging.path,
            "/redfish/v1/systems/1/bios/boot/Settings/"
        );
    }

    #[test]
    fn xcc_names_match_by_a_word_and_next_is_staged() {
        let doc = json!({
            "BootOrderCurrent": ["UEFI PXEv4 (NIC.Integrated.1-1-1)", "Hard Disk HardDisk.List.1-1"],
            "BootOrderNext": ["UEFI PXEv4 (NIC.Integrated.1-1-1)", "Hard Disk HardDisk.List.1-1"],
            "BootOrderSupported": ["UEFI PXEv4 (NIC.Integrated.1-1-1)", "Hard Disk HardDisk.List.1-1", "UEFI PXEv4 (NIC.Slot.3-1-1)"],
        });
        let boot = lenovo_boot(
            &doc,
            "/redfish/v1/Systems/1/Oem/Lenovo/BootSettings/BootOrder.BootOrder",
            None,
        );
        let order = boot
            .reorder(&["NIC.Slot.3-1-1".to_owned()])
            .unwrap()
            .unwrap();
        // A supported device not in the order yet comes first all the same.
        assert_eq!(order[0], "UEFI PXEv4 (NIC.Slot.3-1-1)");
        assert_eq!(order.len(), 3);
        let order = boot
            .reorder(&["HardDisk.List.1-1".to_owned()])
            .unwrap()
            .unwrap();
        assert_eq!(order[0], "Hard Disk HardDisk.List.1-1");
        assert_eq!(
            boot.staging.property.body(&order),
            json!({"BootOrderNext": order})
        );
        assert_eq!(boot.staging.read.as_ref().unwrap().0, boot.current);
    }
}
