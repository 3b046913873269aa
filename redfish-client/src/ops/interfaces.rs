//! Badfish's interfaces YAML: which boot devices, in which order, make a host of a given type
//! (`director`, `foreman`, `uefi`, ...), keyed by type, rack, U location, blade and model
//! parsed from the host name (`mgmt-e22-h18-b02-fc640.example.com`).

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::Error;

/// The parsed file: key (`foreman_r640`, `director_e22_h18_fc640`) to comma-separated devices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterfacesFile {
    entries: BTreeMap<String, String>,
}

/// A host name's parts as Badfish reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HostParts {
    rack: Option<String>,
    uloc: Option<String>,
    blade: Option<String>,
    model: Option<String>,
}

fn host_parts(host: &str) -> HostParts {
    let short = host.split('.').next().unwrap_or(host);
    let parts: Vec<&str> = short.split('-').collect();
    if parts.len() < 2 {
        return HostParts {
            rack: None,
            uloc: None,
            blade: None,
            model: None,
        };
    }
    let at = |i: usize| parts.get(i).map(|s| (*s).to_owned());
    HostParts {
        rack: at(1),
        uloc: at(2),
        blade: if parts.len() > 4 { at(3) } else { None },
        model: parts.last().map(|s| (*s).to_owned()),
    }
}

impl InterfacesFile {
    /// Parses the YAML text (a flat map of strings).
    ///
    /// # Errors
    /// [`Error::Config`] when it is not a map of strings.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let entries: BTreeMap<String, String> =
            serde_saphyr::from_str(text).map_err(|e| Error::Config {
                reason: format!("interfaces YAML: {e}"),
            })?;
        Ok(Self { entries })
    }

    /// Reads and parses a file (blocking read: call it before starting the runtime's work or
    /// from `spawn_blocking`).
    ///
    /// # Errors
    /// [`Error::Config`] when it cannot be read or parsed.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
            reason: format!("cannot read interfaces file {}: {e}", path.display()),
        })?;
        Self::parse(&text)
    }

    /// The host types the file defines (the part of each key before the first `_`), sorted.
    #[must_use]
    pub fn host_types(&self) -> Vec<String> {
        let mut types: Vec<String> = self
            .entries
            .keys()
            .map(|k| k.split('_').next().unwrap_or(k).to_owned())
            .collect();
        types.sort();
        types.dedup();
        types
    }

    /// The boot devices, first to last, for `host` as a `host_type` host.
    ///
    /// Keys are tried from the most to the least specific: `type_blade_model` for blades,
    /// then `type_rack_uloc[_blade]_model`, `type_rack_uloc_model`, `type_rack_model`,
    /// `type_model` (and `type` alone for a host name without dashes).
    ///
    /// # Errors
    /// [`Error::Config`] when the type is unknown or no key matches.
    pub fn interfaces_for(&self, host: &str, host_type: &str) -> Result<Vec<String>, Error> {
        let host_type = host_type.to_ascii_lowercase();
        if !self.host_types().contains(&host_type) {
            return Err(Error::Config {
                reason: format!(
                    "host type {host_type:?} is not in the interfaces file (known: {})",
                    self.host_types().join(", ")
                ),
            });
        }
        let parts = host_parts(host);
        let mut keys = Vec::new();
        if let (Some(blade), Some(model)) = (&parts.blade, &parts.model) {
            keys.push(format!("{host_type}_{blade}_{model}"));
        }
        let mut prefix = vec![host_type.clone()];
        prefix.extend(parts.rack.iter().cloned());
        prefix.extend(parts.uloc.iter().cloned());
        prefix.extend(parts.blade.iter().cloned());
        while !prefix.is_empty() {
            let joined = prefix.join("_");
            keys.push(match &parts.model {
                Some(model) => format!("{joined}_{model}"),
                None => joined,
            });
            prefix.pop();
        }
        for key in &keys {
            // Older Badfish files (and QUADS') suffix keys with `_interfaces`.
            let found = self
                .entries
                .get(key)
                .or_else(|| self.entries.get(&format!("{key}_interfaces")));
            if let Some(devices) = found {
                return Ok(devices
                    .split(',')
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(str::to_owned)
                    .collect());
            }
        }
        Err(Error::Config {
            reason: format!(
                "no interfaces for {host} as {host_type}: tried {}",
                keys.join(", ")
            ),
        })
    }

    /// Which host type `order` (boot device names, first to last) already is for `host`: the
    /// first type whose devices are exactly the head of the order.
    #[must_use]
    pub fn matching_type(&self, host: &str, order: &[String]) -> Option<String> {
        self.matching_type_by(host, |devices| {
            !devices.is_empty()
                && devices.len() <= order.len()
                && devices.iter().zip(order).all(|(want, have)| want == have)
        })
    }

    /// The first host type whose devices for `host` satisfy `is_head` (the boot order starts
    /// with them).
    pub fn matching_type_by(
        &self,
        host: &str,
        is_head: impl Fn(&[String]) -> bool,
    ) -> Option<String> {
        self.host_types()
            .into_iter()
            .find(|t| self.interfaces_for(host, t).is_ok_and(|d| is_head(&d)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const YAML: &str = "---\n\
        director_r640: NIC.Slot.1-2-1,HardDisk.List.1-1,NIC.Integrated.1-1-1\n\
        foreman_r640: NIC.Integrated.1-1-1,HardDisk.List.1-1,NIC.Slot.1-2-1\n\
        foreman_b01_fc640: NIC.Integrated.1-1-1,HardDisk.List.1-1,NIC.ChassisSlot.8-1-1\n\
        foreman_e22_h18_r640: NIC.Slot.9-1-1,HardDisk.List.1-1\n\
        uefi_r640: NIC.Integrated.1-1-1,HardDisk.List.1-1,NIC.Slot.1-1-1\n\
        generic: NIC.Integrated.1-1-1\n";

    fn file() -> InterfacesFile {
        InterfacesFile::parse(YAML).unwrap()
    }

    #[test]
    fn host_types_are_key_prefixes() {
        assert_eq!(
            file().host_types(),
            ["director", "foreman", "generic", "uefi"]
        );
    }

    #[test]
    fn keys_from_most_to_least_specific() {
        let f = file();
        assert_eq!(
            f.interfaces_for("mgmt-e23-h01-r640.example.com", "foreman")
                .unwrap(),
            [
                "NIC.Integrated.1-1-1",
                "HardDisk.List.1-1",
                "NIC.Slot.1-2-1"
            ]
        );
        assert_eq!(
            f.interfaces_for("mgmt-e22-h18-r640.example.com", "Foreman")
                .unwrap(),
            ["NIC.Slot.9-1-1", "HardDisk.List.1-1"]
        );
        assert_eq!(
            f.interfaces_for("mgmt-e22-h18-b01-fc640.example.com", "foreman")
                .unwrap(),
            [
                "NIC.Integrated.1-1-1",
                "HardDisk.List.1-1",
                "NIC.ChassisSlot.8-1-1"
            ]
        );
        assert_eq!(
            f.interfaces_for("bmc42", "generic").unwrap(),
            ["NIC.Integrated.1-1-1"]
        );
        assert!(
            f.interfaces_for("mgmt-e22-h18-r740.example.com", "foreman")
                .is_err()
        );
        assert!(
            f.interfaces_for("mgmt-e22-h18-r640.example.com", "nosuch")
                .is_err()
        );
    }

    #[test]
    fn the_current_order_is_recognised() {
        let f = file();
        let order: Vec<String> = [
            "NIC.Slot.1-2-1",
            "HardDisk.List.1-1",
            "NIC.Integrated.1-1-1",
            "Optical.1",
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            f.matching_type("mgmt-e23-h01-r640.example.com", &order)
                .as_deref(),
            Some("director")
        );
        assert_eq!(
            f.matching_type("mgmt-e23-h01-r640.example.com", &order[1..]),
            None
        );
    }

    #[test]
    fn keys_with_the_old_interfaces_suffix_are_found() {
        let f = InterfacesFile::parse(
            "foreman_r640_interfaces: NIC.Integrated.1-1-1,HardDisk.List.1-1\n",
        )
        .unwrap();
        assert_eq!(f.host_types(), ["foreman"]);
        assert_eq!(
            f.interfaces_for("f01-h03-000-r640.lab.example", "foreman")
                .unwrap(),
            ["NIC.Integrated.1-1-1", "HardDisk.List.1-1"]
        );
    }

    #[test]
    fn bad_yaml_is_a_config_error() {
        assert!(InterfacesFile::parse("- a\n- b\n").is_err());
    }
}
