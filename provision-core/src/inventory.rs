//! The QUADS-style inventory file (YAML, format version 1) that lets an existing lab start
//! without retyping it: its wire format, and its validation into typed records that remember the
//! line they came from. `Store::import` then adds them all or nothing.
//!
//! ```yaml
//! version: 1
//! clouds:
//!   - name: cloud01
//!     description: spare pool
//!   - name: cloud02
//! hosts:
//!   - name: host01.example.com
//!     bmc: mgmt-host01.example.com   # default: mgmt-<name>
//!     model: r640
//!     host_type: scalelab
//!     default_cloud: cloud01
//!     cloud: cloud02                 # where it is now; default: default_cloud
//!     broken: false                  # default false
//!     retired: false                 # default false
//!     interfaces:                    # optional; QUADS's Interface records
//!       - name: em1                  # required, unique per host
//!         switch_ip: 10.1.0.1        # required
//!         switch_port: xe-0/0/1      # required, one NIC per switch port
//!         mac_address: 52:54:00:ab:cd:ef
//!         bios_id: NIC.Integrated.1-1-1
//!         speed: 25                  # Gb/s
//!         vendor: Intel
//!         pxe_boot: true             # default false
//!         maintenance: false         # default false; true: its port is never moved
//! assignments:
//!   - cloud: cloud02
//!     ticket: "1234"
//!     owner: alice
//!     description: perf tests
//!     wipe: true                     # true/false or yes/no
//!     os: RHEL 9.4
//!     partition_table: generic-lvm
//!     medium: RHEL mirror
//!     boot_type: uefi                # uefi (default) or bios
//!     qinq: 0                        # 0 (default): NICs in separate VLANs; 1: one QinQ group
//!     vlan: 1401                     # optional public VLAN: the last NIC is trunked into it
//! schedules:
//!   - host: host01.example.com
//!     cloud: cloud02
//!     ticket: "1234"                 # optional when the cloud has one assignment
//!     start: 2025-01-01 22:00        # UTC; start inclusive
//!     end: 2025-01-15 22:00          # UTC; end exclusive
//! ```

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::model::{
    AssignmentSpec, BootType, Cloud, CloudName, CloudStatus, Host, HostName, HostState, Interface,
    InterfaceName, MacAddress, ModelError, QinQ, TimeRange, VlanId, Wipe,
};
use crate::time::Timestamp;

/// The inventory format version this build reads.
pub const FORMAT_VERSION: u32 = 1;

/// Why an inventory file was refused (nothing is imported).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InventoryError {
    /// Not YAML, or not the shape of an inventory.
    #[error("inventory: {message}")]
    Malformed {
        /// Where the parser stopped, when it knows.
        line: Option<u32>,
        /// What it said (with the line and column when known).
        message: String,
    },
    /// A record is well formed but its values are not acceptable.
    #[error("inventory line {line}: {what}")]
    Invalid {
        /// The record's line.
        line: u32,
        /// What is wrong, naming the record.
        what: String,
    },
}

/// A value and the line of the file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    /// The line (1-based) of the record's first key.
    pub line: u32,
    /// The record.
    pub value: T,
}

/// A schedule as the inventory names it: by cloud, and ticket when the cloud has several
/// assignments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventorySchedule {
    /// The host held.
    pub host: HostName,
    /// The cloud holding it.
    pub cloud: CloudName,
    /// The assignment's ticket, if named.
    pub ticket: Option<String>,
    /// When.
    pub range: TimeRange,
}

/// A validated inventory, ready for [`Store::import`](crate::store::Store::import).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Clouds to add.
    pub clouds: Vec<Located<Cloud>>,
    /// Hosts to add.
    pub hosts: Vec<Located<Host>>,
    /// Host interfaces to add (after the hosts), each with its own line.
    pub interfaces: Vec<Located<Interface>>,
    /// Assignments to add.
    pub assignments: Vec<Located<AssignmentSpec>>,
    /// Schedules to add.
    pub schedules: Vec<Located<InventorySchedule>>,
}

// ---- wire format (version 1) ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileV1 {
    #[serde(default)]
    version: Option<Spanned<u32>>,
    #[serde(default)]
    clouds: Vec<CloudV1>,
    #[serde(default)]
    hosts: Vec<HostV1>,
    #[serde(default)]
    assignments: Vec<AssignmentV1>,
    #[serde(default)]
    schedules: Vec<ScheduleV1>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CloudV1 {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HostV1 {
    name: Spanned<String>,
    #[serde(default)]
    bmc: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    host_type: Option<String>,
    default_cloud: String,
    #[serde(default)]
    cloud: Option<String>,
    #[serde(default)]
    broken: bool,
    #[serde(default)]
    retired: bool,
    #[serde(default)]
    interfaces: Vec<InterfaceV1>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InterfaceV1 {
    name: Spanned<String>,
    #[serde(default)]
    bios_id: Option<String>,
    #[serde(default)]
    mac_address: Option<String>,
    switch_ip: String,
    switch_port: String,
    #[serde(default)]
    speed: Option<u32>,
    #[serde(default)]
    vendor: Option<String>,
    #[serde(default)]
    pxe_boot: bool,
    #[serde(default)]
    maintenance: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Flag {
    Bool(bool),
    Word(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignmentV1 {
    cloud: Spanned<String>,
    ticket: String,
    owner: String,
    #[serde(default)]
    description: String,
    wipe: Flag,
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    partition_table: Option<String>,
    #[serde(default)]
    medium: Option<String>,
    #[serde(default)]
    boot_type: Option<String>,
    #[serde(default)]
    qinq: Option<i64>,
    #[serde(default)]
    vlan: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleV1 {
    host: Spanned<String>,
    cloud: String,
    #[serde(default)]
    ticket: Option<String>,
    start: String,
    end: String,
}

fn invalid(line: u32, what: impl Into<String>) -> InventoryError {
    InventoryError::Invalid {
        line,
        what: what.into(),
    }
}

fn with_line<T>(line: u32, context: &str, r: Result<T, ModelError>) -> Result<T, InventoryError> {
    r.map_err(|e| invalid(line, format!("{context}: {e}")))
}

/// The YAML reader's limits for an inventory of `len` bytes: its node and event counts grow
/// with the file (a site's inventory is tens of nodes per host: serde-saphyr's default of
/// 250,000 nodes stops near 5,000 hosts), while the limits that stop alias and anchor bombs
/// and deep nesting stay the reader's own. Every node or event takes at least one byte of
/// text, so these caps are never what refuses a file written by hand or by `quads`.
fn sized_options(len: usize) -> serde_saphyr::Options {
    let defaults = serde_saphyr::Budget::default();
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_nodes: defaults.max_nodes.max(len),
            max_events: defaults.max_events.max(len.saturating_mul(2)),
        },
    }
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Reads and validates an inventory file's text.
///
/// # Errors
/// [`InventoryError::Malformed`] for YAML or shape errors, [`InventoryError::Invalid`] naming the
/// line and the record for bad values and duplicates.
pub fn parse(text: &str) -> Result<Inventory, InventoryError> {
    let file: FileV1 = serde_saphyr::from_str_with_options(text, sized_options(text.len()))
        .map_err(|e| InventoryError::Malformed {
            line: e
                .location()
                .map(|l| l.line())
                .and_then(|l| u32::try_from(l).ok()),
            message: {
                let text = e.without_snippet().to_string();
                text.strip_prefix("error: ")
                    .unwrap_or(&text)
                    .trim()
                    .to_owned()
            },
        })?;
    if let Some(v) = &file.version
        && v.value != FORMAT_VERSION
    {
        return Err(invalid(
            line_of(&v.referenced),
            format!(
                "inventory format version {} is not supported (this quads reads {FORMAT_VERSION})",
                v.value
            ),
        ));
    }
    let mut inv = Inventory::default();

    let mut seen = BTreeSet::new();
    for c in file.clouds {
        let line = line_of(&c.name.referenced);
        let name = with_line(line, "cloud", CloudName::new(c.name.value))?;
        if !seen.insert(name.clone()) {
            return Err(invalid(line, format!("cloud {name} is listed twice")));
        }
        inv.clouds.push(Located {
            line,
            value: Cloud {
                name,
                description: c.description,
                status: CloudStatus::Pending,
            },
        });
    }

    let mut seen = BTreeSet::new();
    for h in file.hosts {
        let line = line_of(&h.name.referenced);
        let name = with_line(line, "host", HostName::new(h.name.value))?;
        let context = format!("host {name}");
        if !seen.insert(name.clone()) {
            return Err(invalid(line, format!("{context} is listed twice")));
        }
        let default_cloud = with_line(line, &context, CloudName::new(h.default_cloud))?;
        let current_cloud = match h.cloud {
            Some(c) => with_line(line, &context, CloudName::new(c))?,
            None => default_cloud.clone(),
        };
        let state = match (h.broken, h.retired) {
            (false, false) => HostState::Active,
            (true, false) => HostState::Broken,
            (false, true) => HostState::Retired,
            (true, true) => {
                return Err(invalid(
                    line,
                    format!("{context} is both broken and retired: choose one"),
                ));
            }
        };
        let bmc_address = nonempty(h.bmc).unwrap_or_else(|| format!("mgmt-{name}"));
        let mut names = BTreeSet::new();
        for i in h.interfaces {
            let line = line_of(&i.name.referenced);
            let iname = with_line(line, &context, InterfaceName::new(i.name.value))?;
            let icontext = format!("interface {iname} of host {name}");
            if !names.insert(iname.clone()) {
                return Err(invalid(line, format!("{icontext} is listed twice")));
            }
            let switch_ip = i.switch_ip.trim().to_owned();
            let switch_port = i.switch_port.trim().to_owned();
            if switch_ip.is_empty() || switch_port.is_empty() {
                return Err(invalid(
                    line,
                    format!("{icontext}: switch_ip and switch_port must not be empty"),
                ));
            }
            let mac_address = nonempty(i.mac_address)
                .map(|m| with_line(line, &icontext, MacAddress::new(&m)))
                .transpose()?;
            inv.interfaces.push(Located {
                line,
                value: Interface {
                    host: name.clone(),
                    name: iname,
                    bios_id: nonempty(i.bios_id),
                    mac_address,
                    switch_ip,
                    switch_port,
                    speed: i.speed,
                    vendor: nonempty(i.vendor),
                    pxe_boot: i.pxe_boot,
                    maintenance: i.maintenance,
                },
            });
        }
        inv.hosts.push(Located {
            line,
            value: Host {
                name,
                bmc_address,
                model: nonempty(h.model),
                host_type: nonempty(h.host_type),
                default_cloud,
                current_cloud,
                state,
            },
        });
    }

    for a in file.assignments {
        let line = line_of(&a.cloud.referenced);
        let cloud = with_line(line, "assignment", CloudName::new(a.cloud.value))?;
        let context = format!("assignment of cloud {cloud} (ticket {:?})", a.ticket);
        if a.ticket.trim().is_empty() {
            return Err(invalid(line, format!("{context}: the ticket is empty")));
        }
        let wipe = match a.wipe {
            Flag::Bool(true) => Wipe::Yes,
            Flag::Bool(false) => Wipe::No,
            Flag::Word(w) => with_line(line, &context, w.parse())?,
        };
        let boot_type = match a.boot_type {
            Some(b) => with_line(line, &context, b.parse())?,
            None => BootType::Uefi,
        };
        let qinq = match a.qinq {
            Some(n) => with_line(line, &context, QinQ::from_number(n))?,
            None => QinQ::Separated,
        };
        let public_vlan = a
            .vlan
            .map(|v| with_line(line, &format!("{context}: vlan"), VlanId::new(v)))
            .transpose()?;
        inv.assignments.push(Located {
            line,
            value: AssignmentSpec {
                cloud,
                ticket: a.ticket,
                owner: a.owner,
                description: a.description,
                wipe,
                os: nonempty(a.os),
                partition_table: nonempty(a.partition_table),
                medium: nonempty(a.medium),
                boot_type,
                qinq,
                public_vlan,
            },
        });
    }

    for s in file.schedules {
        let line = line_of(&s.host.referenced);
        let host = with_line(line, "schedule", HostName::new(s.host.value))?;
        let context = format!("schedule of host {host}");
        let cloud = with_line(line, &context, CloudName::new(s.cloud))?;
        let start: Timestamp = with_line(line, &format!("{context}: start"), s.start.parse())?;
        let end: Timestamp = with_line(line, &format!("{context}: end"), s.end.parse())?;
        let range = with_line(line, &context, TimeRange::new(start, end))?;
        inv.schedules.push(Located {
            line,
            value: InventorySchedule {
                host,
                cloud,
                ticket: nonempty(s.ticket),
                range,
            },
        });
    }
    Ok(inv)
}

fn line_of(loc: &serde_saphyr::Location) -> u32 {
    u32::try_from(loc.line()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const GOOD: &str = r#"
version: 1
clouds:
  - name: cloud01
    description: spare pool
  - name: cloud02
hosts:
  - name: host01.example.com
    model: r640
    host_type: scalelab
    default_cloud: cloud01
    cloud: cloud02
  - name: host02.example.com
    bmc: 10.1.2.3
    default_cloud: cloud01
    broken: true
assignments:
  - cloud: cloud02
    ticket: "1234"
    owner: alice
    wipe: yes
    os: RHEL 9.4
schedules:
  - host: host01.example.com
    cloud: cloud02
    start: 2025-01-01 22:00
    end: 2025-01-15 22:00
"#;

    /// 4,500 hosts of four interfaces each, as a lab writes them: about 290,000 YAML nodes,
    /// more than the reader allows by default (250,000, reached near 3,500 such hosts).
    #[test]
    fn reads_an_inventory_of_thousands_of_hosts() {
        use std::fmt::Write as _;
        const HOSTS: usize = 4_500;
        let mut text = String::from("version: 1\nclouds:\n  - name: cloud01\nhosts:\n");
        for i in 0..HOSTS {
            write!(
                text,
                "  - name: host{i:05}.example.com\n    bmc: \"10.1.{}.{}\"\n    model: r640\n    \
                 default_cloud: cloud01\n    interfaces:\n",
                i / 250,
                i % 250
            )
            .unwrap();
            for nic in 0..4 {
                write!(
                    text,
                    "      - name: em{}\n        switch_ip: \"10.0.{}.1\"\n        \
                     switch_port: \"xe-0/0/{}\"\n        mac_address: \"52:54:00:{:02x}:{:02x}:{nic:02x}\"\n        \
                     speed: 10\n        pxe_boot: {}\n",
                    nic + 1,
                    i / 48,
                    (i % 12) * 4 + nic,
                    i / 256,
                    i % 256,
                    nic == 0
                )
                .unwrap();
            }
        }
        let inv = parse(&text).unwrap();
        assert_eq!(inv.hosts.len(), HOSTS);
    }

    #[test]
    fn reads_a_good_inventory_with_lines() {
        let inv = parse(GOOD).unwrap();
        assert_eq!(inv.clouds.len(), 2);
        assert_eq!(inv.clouds[0].line, 4);
        let h1 = &inv.hosts[0];
        assert_eq!(h1.line, 8);
        assert_eq!(h1.value.bmc_address, "mgmt-host01.example.com");
        assert_eq!(h1.value.current_cloud.as_str(), "cloud02");
        assert_eq!(h1.value.state, HostState::Active);
        let h2 = &inv.hosts[1];
        assert_eq!(h2.value.bmc_address, "10.1.2.3");
        assert_eq!(h2.value.current_cloud.as_str(), "cloud01");
        assert_eq!(h2.value.state, HostState::Broken);
        let a = &inv.assignments[0].value;
        assert_eq!((a.wipe, a.boot_type), (Wipe::Yes, BootType::Uefi));
        assert_eq!(a.os.as_deref(), Some("RHEL 9.4"));
        let s = &inv.schedules[0];
        assert_eq!(s.line, 24);
        assert_eq!(s.value.range.start().to_string(), "2025-01-01T22:00:00Z");
        assert_eq!(s.value.ticket, None);
    }

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    const WITH_INTERFACES: &str = r#"
hosts:
  - name: h1
    default_cloud: cloud01
    interfaces:
      - name: em2
        switch_ip: 10.1.0.1
        switch_port: xe-0/0/2
        mac_address: 52-54-00-AB-CD-02
        speed: 25
        vendor: Intel
      - name: em1
        switch_ip: 10.1.0.1
        switch_port: xe-0/0/1
        pxe_boot: true
        maintenance: true
assignments:
  - cloud: cloud02
    ticket: "9"
    owner: bob
    wipe: false
    qinq: 1
    vlan: 1401
"#;

    #[test]
    fn reads_interfaces_and_the_assignment_network() {
        let inv = parse(WITH_INTERFACES).unwrap();
        assert_eq!(inv.interfaces.len(), 2);
        let em2 = &inv.interfaces[0];
        assert_eq!(em2.line, 6);
        assert_eq!(em2.value.host.as_str(), "h1");
        assert_eq!(em2.value.name.as_str(), "em2");
        assert_eq!(
            em2.value.mac_address.as_ref().map(MacAddress::as_str),
            Some("52:54:00:ab:cd:02")
        );
        assert_eq!(em2.value.speed, Some(25));
        assert!(!em2.value.pxe_boot && !em2.value.maintenance);
        let em1 = &inv.interfaces[1];
        assert_eq!(em1.line, 12);
        assert!(em1.value.pxe_boot && em1.value.maintenance);
        assert_eq!(em1.value.mac_address, None);
        let a = &inv.assignments[0].value;
        assert_eq!(a.qinq, QinQ::Combined);
        assert_eq!(a.public_vlan.map(VlanId::get), Some(1401));
        // defaults
        let a = &parse(GOOD).unwrap().assignments[0].value;
        assert_eq!((a.qinq, a.public_vlan), (QinQ::Separated, None));
    }

    #[test]
    fn bad_interfaces_name_the_line_the_host_and_the_interface() {
        let bad_mac = WITH_INTERFACES.replace("52-54-00-AB-CD-02", "52:54:zz");
        let e = err(&bad_mac);
        assert!(
            e.starts_with("inventory line 6: interface em2 of host h1: invalid MAC address"),
            "{e}"
        );
        let twice = WITH_INTERFACES.replace("name: em1", "name: em2");
        assert_eq!(
            err(&twice),
            "inventory line 12: interface em2 of host h1 is listed twice"
        );
        let e = err(
            "hosts:\n  - name: h1\n    default_cloud: c\n    interfaces:\n      - name: em1\n        switch_ip: s\n",
        );
        assert!(e.contains("switch_port"), "{e}");
        let e = err(
            "hosts:\n  - name: h1\n    default_cloud: c\n    interfaces:\n      - name: em1\n        switch_ip: ' '\n        switch_port: p\n",
        );
        assert!(
            e.starts_with("inventory line 5: interface em1 of host h1: switch_ip and switch_port"),
            "{e}"
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = parse("hosts:\n  - name: [unclosed\n").unwrap_err();
        assert!(
            matches!(e, InventoryError::Malformed { line: Some(_), .. }),
            "{e}"
        );
    }

    #[test]
    fn unknown_and_missing_fields_are_refused() {
        let e = err("hosts:\n  - name: h1\n    default_cloud: c1\n    colour: red\n");
        assert!(e.starts_with("inventory: unknown field `colour`"), "{e}");
        assert!(e.contains("line 4"), "{e}");
        let e = err("hosts:\n  - name: h1\n");
        assert!(e.contains("default_cloud"), "{e}");
    }

    #[test]
    fn bad_values_name_the_line_and_the_record() {
        let e = err(
            "hosts:\n  - name: h1\n    default_cloud: c1\n  - name: h1\n    default_cloud: c1\n",
        );
        assert_eq!(e, "inventory line 4: host h1 is listed twice");
        let e = err(
            "hosts:\n  - name: h1\n    default_cloud: c1\n    broken: true\n    retired: true\n",
        );
        assert!(
            e.starts_with("inventory line 2: host h1 is both broken"),
            "{e}"
        );
        let e = err("hosts:\n  - name: h1\n    default_cloud: 'bad cloud'\n");
        assert!(
            e.starts_with("inventory line 2: host h1: invalid cloud name"),
            "{e}"
        );
        let e = err(
            "schedules:\n  - host: h1\n    cloud: c2\n    start: 2025-02-01\n    end: 2025-01-01\n",
        );
        assert!(
            e.starts_with("inventory line 2: schedule of host h1: invalid range"),
            "{e}"
        );
        let e =
            err("schedules:\n  - host: h1\n    cloud: c2\n    start: soon\n    end: 2025-01-01\n");
        assert!(
            e.starts_with("inventory line 2: schedule of host h1: start: invalid time"),
            "{e}"
        );
        let e =
            err("assignments:\n  - cloud: c2\n    ticket: '1'\n    owner: a\n    wipe: maybe\n");
        assert!(e.contains("line 2: assignment of cloud c2"), "{e}");
        let e = err(
            "assignments:\n  - cloud: c2\n    ticket: '1'\n    owner: a\n    wipe: no\n    qinq: 2\n",
        );
        assert!(
            e.starts_with(
                "inventory line 2: assignment of cloud c2 (ticket \"1\"): invalid qinq 2"
            ),
            "{e}"
        );
        let e = err(
            "assignments:\n  - cloud: c2\n    ticket: '1'\n    owner: a\n    wipe: no\n    vlan: 5000\n",
        );
        assert!(
            e.contains("line 2:") && e.contains("vlan: invalid VLAN id 5000"),
            "{e}"
        );
        let e = err("version: 7\n");
        assert!(e.contains("version 7 is not supported"), "{e}");
    }
}
