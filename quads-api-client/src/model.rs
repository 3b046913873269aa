//! The records QUADS answers with (its models' `as_dict()`), as typed values.
//!
//! Dates are [`Timestamp`]s already shifted by the server's UTC offset. A relation QUADS leaves
//! out when it is empty (an assignment's `vlan`, a host's `interfaces`) is `None` or empty, as is
//! a `null` one. Booleans QUADS stores as `NULL` read as `false`.

use serde::{Deserialize, Deserializer};
use time::UtcOffset;

use crate::time::{ServerLocal, Timestamp, rfc1123_opt};

fn null_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

fn null_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// One line of `GET moves`: a host whose scheduled cloud (or default cloud, when no schedule
/// holds it) is not its recorded one.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Move {
    /// The host's name.
    pub host: String,
    /// Its recorded cloud.
    pub current: String,
    /// The cloud it must be in.
    pub new: String,
}

impl ServerLocal for Move {
    fn localize(&mut self, _server: UtcOffset) {}
}

/// A cloud (`cloud01` is conventionally the spare pool).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Cloud {
    /// Database id.
    pub id: u64,
    /// Name (`cloud02`).
    pub name: String,
    /// When it was last given to a tenant.
    #[serde(default, deserialize_with = "rfc1123_opt")]
    pub last_redefined: Option<Timestamp>,
}

impl ServerLocal for Cloud {
    fn localize(&mut self, server: UtcOffset) {
        self.last_redefined.localize(server);
    }
}

/// A public VLAN an assignment holds (QUADS's `vlans` table).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Vlan {
    /// Database id.
    pub id: u64,
    /// The VLAN number on the switches.
    pub vlan_id: u32,
    /// Gateway address.
    #[serde(default)]
    pub gateway: Option<String>,
    /// Free addresses.
    #[serde(default)]
    pub ip_free: Option<u64>,
    /// Address range.
    #[serde(default)]
    pub ip_range: Option<String>,
    /// Netmask.
    #[serde(default)]
    pub netmask: Option<String>,
}

/// A cloud's assignment to a tenant: who, which ticket, how its network is laid out.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Assignment {
    /// Database id.
    pub id: u64,
    /// Whether it is the cloud's current assignment.
    #[serde(default, deserialize_with = "null_false")]
    pub active: bool,
    /// Whether every host of the cloud was moved.
    #[serde(default, deserialize_with = "null_false")]
    pub provisioned: bool,
    /// Whether QUADS's validation passed.
    #[serde(default, deserialize_with = "null_false")]
    pub validated: bool,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// The tenant's login.
    #[serde(default)]
    pub owner: Option<String>,
    /// The request ticket (also the tenant's password seed in QUADS).
    #[serde(default)]
    pub ticket: Option<String>,
    /// `0` (a VLAN per NIC) or `1` (every NIC in one QinQ VLAN); `None` when unset.
    #[serde(default)]
    pub qinq: Option<i64>,
    /// Whether hosts moved in are re-installed.
    #[serde(default, deserialize_with = "null_false")]
    pub wipe: bool,
    /// Users copied on notifications.
    #[serde(default, deserialize_with = "null_empty")]
    pub ccuser: Vec<String>,
    /// The cloud.
    #[serde(default)]
    pub cloud: Option<Cloud>,
    /// The public VLAN, when the tenant has one (QUADS leaves the key out otherwise).
    #[serde(default)]
    pub vlan: Option<Vlan>,
    /// When it was made.
    #[serde(default, deserialize_with = "rfc1123_opt")]
    pub created_at: Option<Timestamp>,
}

impl Assignment {
    /// The cloud's name, if the answer carried it.
    #[must_use]
    pub fn cloud_name(&self) -> Option<&str> {
        self.cloud.as_ref().map(|c| c.name.as_str())
    }
}

impl ServerLocal for Assignment {
    fn localize(&mut self, server: UtcOffset) {
        self.cloud.localize(server);
        self.created_at.localize(server);
    }
}

/// A host's NIC and the switch port it is cabled to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Interface {
    /// Database id.
    pub id: u64,
    /// The OS's name (`em1`).
    pub name: String,
    /// The BIOS's name (`NIC.Integrated.1-1-1`).
    #[serde(default)]
    pub bios_id: Option<String>,
    /// MAC address.
    #[serde(default)]
    pub mac_address: Option<String>,
    /// The switch's address.
    #[serde(default)]
    pub switch_ip: Option<String>,
    /// The switch port (`xe-0/0/1:0`).
    #[serde(default)]
    pub switch_port: Option<String>,
    /// Speed in Mb/s.
    #[serde(default)]
    pub speed: Option<u64>,
    /// NIC vendor.
    #[serde(default)]
    pub vendor: Option<String>,
    /// Whether it network-boots.
    #[serde(default, deserialize_with = "null_false")]
    pub pxe_boot: bool,
    /// Whether it is a maintenance interface (left alone by moves).
    #[serde(default, deserialize_with = "null_false")]
    pub maintenance: bool,
}

impl ServerLocal for Interface {
    fn localize(&mut self, _server: UtcOffset) {}
}

/// A host as QUADS records it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Host {
    /// Database id.
    pub id: u64,
    /// Its name (FQDN).
    pub name: String,
    /// Its model (upper case in QUADS: `R650`).
    #[serde(default)]
    pub model: Option<String>,
    /// Its type (`baremetal`, ...).
    #[serde(default)]
    pub host_type: Option<String>,
    /// Whether a build is under way (the mover sets it false, then true when moved).
    #[serde(default, deserialize_with = "null_false")]
    pub build: bool,
    /// Whether QUADS's validation passed.
    #[serde(default, deserialize_with = "null_false")]
    pub validated: bool,
    /// Whether its switch ports are in its cloud's VLANs.
    #[serde(default, deserialize_with = "null_false")]
    pub switch_config_applied: bool,
    /// Marked broken (kept out of schedules).
    #[serde(default, deserialize_with = "null_false")]
    pub broken: bool,
    /// Retired.
    #[serde(default, deserialize_with = "null_false")]
    pub retired: bool,
    /// When it was last moved and rebuilt.
    #[serde(default, deserialize_with = "rfc1123_opt")]
    pub last_build: Option<Timestamp>,
    /// Its recorded cloud.
    #[serde(default)]
    pub cloud: Option<Cloud>,
    /// The cloud it returns to when no schedule holds it.
    #[serde(default)]
    pub default_cloud: Option<Cloud>,
    /// Its NICs (QUADS leaves the key out when there are none).
    #[serde(default, deserialize_with = "null_empty")]
    pub interfaces: Vec<Interface>,
    /// When it was added.
    #[serde(default, deserialize_with = "rfc1123_opt")]
    pub created_at: Option<Timestamp>,
}

impl Host {
    /// The recorded cloud's name.
    #[must_use]
    pub fn cloud_name(&self) -> Option<&str> {
        self.cloud.as_ref().map(|c| c.name.as_str())
    }

    /// The default cloud's name.
    #[must_use]
    pub fn default_cloud_name(&self) -> Option<&str> {
        self.default_cloud.as_ref().map(|c| c.name.as_str())
    }
}

impl ServerLocal for Host {
    fn localize(&mut self, server: UtcOffset) {
        self.last_build.localize(server);
        self.cloud.localize(server);
        self.default_cloud.localize(server);
        self.created_at.localize(server);
    }
}

/// A host held by an assignment from `start` to `end` (both inclusive in QUADS's queries).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Schedule {
    /// Database id.
    pub id: u64,
    /// When the host joins the cloud.
    #[serde(default, deserialize_with = "rfc1123_opt")]
    pub start: Option<Timestamp>,
    /// When it leaves.
    #[serde(default, deserialize_with = "rfc1123_opt")]
    pub end: Option<Timestamp>,
    /// When its move began.
    #[serde(default, deserialize_with = "rfc1123_opt")]
    pub build_start: Option<Timestamp>,
    /// When its move ended.
    #[serde(default, deserialize_with = "rfc1123_opt")]
    pub build_end: Option<Timestamp>,
    /// The assignment (and so the cloud).
    #[serde(default)]
    pub assignment: Option<Assignment>,
    /// The host.
    #[serde(default)]
    pub host: Option<Host>,
}

impl Schedule {
    /// The host's name, if the answer carried it.
    #[must_use]
    pub fn host_name(&self) -> Option<&str> {
        self.host.as_ref().map(|h| h.name.as_str())
    }

    /// The cloud's name, if the answer carried it.
    #[must_use]
    pub fn cloud_name(&self) -> Option<&str> {
        self.assignment.as_ref().and_then(Assignment::cloud_name)
    }
}

impl ServerLocal for Schedule {
    fn localize(&mut self, server: UtcOffset) {
        self.start.localize(server);
        self.end.localize(server);
        self.build_start.localize(server);
        self.build_end.localize(server);
        self.assignment.localize(server);
        self.host.localize(server);
    }
}
