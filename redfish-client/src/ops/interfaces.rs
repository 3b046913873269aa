//! Badfish's interfaces YAML: which boot devices, in which order, make a host of a given type
//! (`director`, `foreman`, `uefi`, ...), keyed by type, rack, U location, blade and model
//! parsed from the BMC's name (`mgmt-e22-h18-b02-fc640.example.com`) exactly as Badfish 1.8.2
//! does (`get_interfaces_by_type`).
//!
//! # Keys
//! The name loses any `:port` and everything after its first `.`, and is split on `-`. With
//! more than one part the model is the last part, the rack part 1 and the U location part 2
//! (when there is one); with more than four parts the blade is part 3. Keys are then
//! `{type}_{blade}_{model}` (blades only), `{type}_{rack}_{uloc}_{blade}_{model}`, dropping the
//! rightmost location part each time down to `{type}_{model}`; a name without `-` gives
//! `{type}` alone. A stored hardware model replaces the name's last part when given
//! (lower-cased: QUADS stores `R640` where names say `r640`). A [`HostLocation`] replaces the
//! name's parts as Badfish 1.8.2 applies `--rack`/`--uloc` (only to a name with more than one
//! part) and `--blade` (to any name).

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::Error;
use crate::ops::boot::BootOrder;

/// The parsed file: key (`foreman_r640`, `director_e22_h18_fc640`) to comma-separated devices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterfacesFile {
    entries: BTreeMap<String, String>,
}

/// The keys Badfish tries, in order, for the BMC named `bmc_host` as a `host_type` host (see
/// the module's doc); `model` replaces the name's last part when given.
#[cfg(test)]
#[must_use]
pub(crate) fn interface_keys(bmc_host: &str, host_type: &str, model: Option<&str>) -> Vec<String> {
    interface_keys_at(bmc_host, host_type, model, &HostLocation::default())
}

/// Where a host is, given on Badfish's command line (`--rack`, `--uloc`, `--blade`): each part
/// given replaces the one read from the BMC's name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostLocation {
    /// `--rack`.
    pub rack: Option<String>,
    /// `--uloc`.
    pub uloc: Option<String>,
    /// `--blade`.
    pub blade: Option<String>,
}

/// [`interface_keys`] with the location parts `at` gives replacing those of the name (see the
/// module's doc).
#[must_use]
pub(crate) fn interface_keys_at(
    bmc_host: &str,
    host_type: &str,
    model: Option<&str>,
    at: &HostLocation,
) -> Vec<String> {
    let host_type = host_type.to_ascii_lowercase();
    let without_port = bmc_host.split(':').next().unwrap_or(bmc_host);
    let short = without_port.split('.').next().unwrap_or(without_port);
    let parts: Vec<&str> = short.split('-').collect();
    let mut prefix = vec![host_type.clone()];
    let mut host_model = None;
    if parts.len() > 1 {
        host_model = model
            .map(str::to_ascii_lowercase)
            .or_else(|| parts.last().map(|m| (*m).to_owned()));
        let rack = at.rack.clone().unwrap_or_else(|| parts[1].to_owned());
        let uloc = at
            .uloc
            .clone()
            .or_else(|| parts.get(2).map(|u| (*u).to_owned()));
        prefix.push(rack);
        prefix.extend(uloc);
    }
    let blade = at
        .blade
        .clone()
        .or_else(|| (parts.len() > 4).then(|| parts[3].to_owned()));
    let mut keys = Vec::new();
    if let Some(blade) = blade {
        // Badfish formats a missing model as `None` in this one key.
        let m = host_model.as_deref().unwrap_or("None");
        keys.push(format!("{host_type}_{blade}_{m}"));
        prefix.push(blade);
    }
    while !prefix.is_empty() {
        let joined = prefix.join("_");
        keys.push(match &host_model {
            Some(m) => format!("{joined}_{m}"),
            None => joined,
        });
        prefix.pop();
    }
    keys
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

    /// The boot devices, first to last, for `host` (the BMC's name, as given to Badfish's
    /// `-H`) as a `host_type` host: the entry of the first key (in the order of the
    /// [module's doc](self)) the file has.
    ///
    /// # Errors
    /// [`Error::Config`] when the type is unknown or no key matches.
    pub fn interfaces_for(&self, host: &str, host_type: &str) -> Result<Vec<String>, Error> {
        self.interfaces_for_model(host, host_type, None)
    }

    /// [`InterfacesFile::interfaces_for`] with the host's hardware `model` (when known)
    /// instead of the name's last part.
    ///
    /// Keys with an empty entry are skipped, as Badfish does. Older files (QUADS') suffix keys
    /// with `_interfaces`: those are looked for only when no key Badfish tries is there, so a
    /// file Badfish can read gives Badfish's answer.
    ///
    /// # Errors
    /// [`Error::Config`] when the type is unknown or no key matches.
    pub fn interfaces_for_model(
        &self,
        host: &str,
        host_type: &str,
        model: Option<&str>,
    ) -> Result<Vec<String>, Error> {
        self.interfaces_at(host, host_type, model, &HostLocation::default())
    }

    /// [`InterfacesFile::interfaces_for_model`] with the location given on the command line
    /// (see the [module's doc](self)).
    ///
    /// # Errors
    /// [`Error::Config`] when the type is unknown or no key matches.
    pub fn interfaces_at(
        &self,
        host: &str,
        host_type: &str,
        model: Option<&str>,
        at: &HostLocation,
    ) -> Result<Vec<String>, Error> {
        let host_type = host_type.to_ascii_lowercase();
        if !self.host_types().contains(&host_type) {
            return Err(Error::Config {
                reason: format!(
                    "host type {host_type:?} is not in the interfaces file (known: {})",
                    self.host_types().join(", ")
                ),
            });
        }
        let keys = interface_keys_at(host, &host_type, model, at);
        let entry = |key: &str| self.entries.get(key).filter(|v| !v.trim().is_empty());
        let found = keys
            .iter()
            .find_map(|k| entry(k))
            .or_else(|| keys.iter().find_map(|k| entry(&format!("{k}_interfaces"))));
        match found {
            Some(devices) => Ok(devices
                .split(',')
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(str::to_owned)
                .collect()),
            None => Err(Error::Config {
                reason: format!(
                    "no interfaces for {host} as {host_type}: tried {}",
                    keys.join(", ")
                ),
            }),
        }
    }

    /// Which host type `order` (boot device names, first to last) already is for `host`: the
    /// first type whose devices are exactly the head of the order.
    #[must_use]
    pub fn matching_type(&self, host: &str, order: &[String]) -> Option<String> {
        self.matching_type_at(host, order, &HostLocation::default())
    }

    /// [`InterfacesFile::matching_type`] with the location given on the command line (see
    /// the [module's doc](self)), as Badfish's `--check-boot` applies `--rack`/`--uloc`/`--blade`.
    #[must_use]
    pub fn matching_type_at(
        &self,
        host: &str,
        order: &[String],
        at: &HostLocation,
    ) -> Option<String> {
        self.matching_type_at_by(host, at, |devices| {
            !devices.is_empty()
                && devices.len() <= order.len()
                && devices.iter().zip(order).all(|(want, have)| want == have)
        })
    }

    /// Which host type the boot order `order` already is for `host` at `at`, its devices found
    /// as [`BootOrder::starts_with`] finds them: by name or id, or as a word of a display name
    /// (`PXE Boot NIC.Integrated.1-1-1`, XCC's and other DMTF services' names).
    #[must_use]
    pub fn boot_order_type_at(
        &self,
        host: &str,
        order: &BootOrder,
        at: &HostLocation,
    ) -> Option<String> {
        self.matching_type_at_by(host, at, |devices| order.starts_with(devices))
    }

    fn matching_type_at_by(
        &self,
        host: &str,
        at: &HostLocation,
        is_head: impl Fn(&[String]) -> bool,
    ) -> Option<String> {
        self.host_types().into_iter().find(|t| {
            self.interfaces_at(host, t, None, at)
                .is_ok_and(|devices| is_head(&devices))
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

    /// Badfish 1.8.2's own examples (its test host `f01-h01-000-r630.host.io`, QUADS's
    /// `mgmt-` names, its README's blade `mgmt-e22-h18-b01-fc640`), keys as its
    /// `get_interfaces_by_type` tries them.
    #[test]
    fn keys_are_badfishs() {
        let table: &[(&str, Option<&str>, &[&str])] = &[
            (
                "f01-h01-000-r630.host.io",
                None,
                &["foreman_h01_000_r630", "foreman_h01_r630", "foreman_r630"],
            ),
            (
                "mgmt-f21-h17-000-r620.example.com",
                None,
                &[
                    "foreman_000_r620",
                    "foreman_f21_h17_000_r620",
                    "foreman_f21_h17_r620",
                    "foreman_f21_r620",
                    "foreman_r620",
                ],
            ),
            (
                "mgmt-e22-h18-b01-fc640.example.com:8443",
                None,
                &[
                    "foreman_b01_fc640",
                    "foreman_e22_h18_b01_fc640",
                    "foreman_e22_h18_fc640",
                    "foreman_e22_fc640",
                    "foreman_fc640",
                ],
            ),
            (
                "mgmt-e22-h18-r640",
                None,
                &["foreman_e22_h18_r640", "foreman_e22_r640", "foreman_r640"],
            ),
            (
                "mgmt-r640.example.com",
                None,
                &["foreman_r640_r640", "foreman_r640"],
            ),
            ("127.0.0.1:8443", None, &["foreman"]),
            (
                "mgmt-e22-h18-000-host7",
                Some("R640"),
                &[
                    "foreman_000_r640",
                    "foreman_e22_h18_000_r640",
                    "foreman_e22_h18_r640",
                    "foreman_e22_r640",
                    "foreman_r640",
                ],
            ),
        ];
        for (host, model, keys) in table {
            assert_eq!(interface_keys(host, "Foreman", *model), *keys, "{host}");
        }
    }

    #[test]
    fn the_first_key_present_wins_and_empty_entries_are_skipped() {
        let f = InterfacesFile::parse(
            "foreman_r620: A,B\n\
             foreman_f21_r620: C,D\n\
             foreman_f21_h17_000_r620: ''\n\
             foreman_h17_000_r620: E\n\
             foreman_f21_h17_r620_interfaces: F\n",
        )
        .unwrap();
        let bmc = "mgmt-f21-h17-000-r620.example.com";
        assert_eq!(f.interfaces_for(bmc, "foreman").unwrap(), ["C", "D"]);
        // The host's own FQDN reads the name differently (rack `h17`): the decoy.
        assert_eq!(
            f.interfaces_for("f21-h17-000-r620.example.com", "foreman")
                .unwrap(),
            ["E"]
        );
        assert_eq!(
            f.interfaces_for_model("mgmt-f22-h01-000-box", "foreman", Some("R620"))
                .unwrap(),
            ["A", "B"]
        );
        let old = InterfacesFile::parse("foreman_f21_h17_r620_interfaces: F\n").unwrap();
        assert_eq!(old.interfaces_for(bmc, "foreman").unwrap(), ["F"]);
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
    fn the_current_order_is_recognised_at_the_location_given() {
        let f = file();
        let order: Vec<String> = ["NIC.Slot.9-1-1", "HardDisk.List.1-1", "Optical.1"]
            .iter()
            .map(ToString::to_string)
            .collect();
        let host = "mgmt-e23-h01-r640.example.com";
        assert_eq!(f.matching_type(host, &order), None);
        let at = HostLocation {
            rack: Some("e22".into()),
            uloc: Some("h18".into()),
            blade: None,
        };
        assert_eq!(
            f.matching_type_at(host, &order, &at).as_deref(),
            Some("foreman")
        );
        // Display names (XCC, DMTF services) hold the device as a word.
        let shown = crate::ops::boot::BootOrder {
            mode: None,
            devices: order
                .iter()
                .map(|d| crate::ops::boot::BootDevice {
                    name: format!("PXE Boot {d}"),
                    id: format!("Boot{}", d.len()),
                    enabled: true,
                })
                .collect(),
        };
        assert_eq!(
            f.boot_order_type_at(host, &shown, &HostLocation::default()),
            None
        );
        assert_eq!(
            f.boot_order_type_at(host, &shown, &at).as_deref(),
            Some("foreman")
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

    #[test]
    fn rack_uloc_and_blade_given_replace_the_names_parts() {
        let at = |rack: Option<&str>, uloc: Option<&str>, blade: Option<&str>| HostLocation {
            rack: rack.map(str::to_owned),
            uloc: uloc.map(str::to_owned),
            blade: blade.map(str::to_owned),
        };
        assert_eq!(
            interface_keys_at(
                "mgmt-f21-h17-r620",
                "foreman",
                None,
                &at(Some("f99"), None, None)
            ),
            ["foreman_f99_h17_r620", "foreman_f99_r620", "foreman_r620"]
        );
        assert_eq!(
            interface_keys_at(
                "mgmt-e22-h18-b01-fc640",
                "director",
                None,
                &at(None, Some("h20"), Some("b07"))
            ),
            [
                "director_b07_fc640",
                "director_e22_h20_b07_fc640",
                "director_e22_h20_fc640",
                "director_e22_fc640",
                "director_fc640"
            ]
        );
        // --rack and --uloc need a name with parts; --blade applies to any name.
        assert_eq!(
            interface_keys_at(
                "bmc7",
                "foreman",
                None,
                &at(Some("f1"), Some("h1"), Some("b2"))
            ),
            ["foreman_b2_None", "foreman_b2", "foreman"]
        );
        let f = InterfacesFile::parse("foreman_f99_r620: X\nforeman_r620: Y\n").unwrap();
        assert_eq!(
            f.interfaces_at(
                "mgmt-f21-h17-r620",
                "foreman",
                None,
                &at(Some("f99"), None, None)
            )
            .unwrap(),
            ["X"]
        );
    }
}
