//! The fake QUADS server's records (clouds, hosts with interfaces, assignments, schedules,
//! VLANs, the admin and its tokens), their seed from the lab, QUADS's `moves` rule and the
//! JSON views of its models' `as_dict()`.
//!
//! Dates are kept as "wall seconds": the server's local wall clock read as if it were UTC, as
//! QUADS keeps naive datetimes. The lab's server runs at UTC, so wall seconds are Unix seconds.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::clock::mix;
use crate::lab::{Credentials, LabConfig};
use crate::machine::Machine;
use crate::switch::SwitchLab;

/// A token's lifetime in lab seconds (QUADS 2.x: 6000 s).
pub const TOKEN_LIFETIME: f64 = 6000.0;

/// A cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuadsCloud {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// When it was last given to a tenant (wall seconds).
    pub last_redefined: Option<i64>,
}

/// A NIC and its switch port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuadsInterface {
    /// Id.
    pub id: u64,
    /// `em1`, ...
    pub name: String,
    /// The BIOS's name.
    pub bios_id: String,
    /// MAC.
    pub mac_address: String,
    /// The switch's IP.
    pub switch_ip: String,
    /// The switch port.
    pub switch_port: String,
    /// Speed (Mb/s).
    pub speed: u32,
    /// Vendor.
    pub vendor: String,
    /// Network-boots.
    pub pxe_boot: bool,
    /// Maintenance interface.
    pub maintenance: bool,
}

/// A host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuadsHost {
    /// Id.
    pub id: u64,
    /// Name (the lab's host name).
    pub name: String,
    /// Model, upper case.
    pub model: String,
    /// Type.
    pub host_type: String,
    /// Build under way.
    pub build: bool,
    /// Validated.
    pub validated: bool,
    /// Switch config applied.
    pub switch_config_applied: bool,
    /// Broken.
    pub broken: bool,
    /// Retired.
    pub retired: bool,
    /// Last build (wall seconds).
    pub last_build: Option<i64>,
    /// Recorded cloud (id).
    pub cloud: u64,
    /// Default cloud (id).
    pub default_cloud: u64,
    /// NICs.
    pub interfaces: Vec<QuadsInterface>,
    /// Created (wall seconds).
    pub created_at: i64,
}

/// A public VLAN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuadsVlan {
    /// Id.
    pub id: u64,
    /// The VLAN number.
    pub vlan_id: u32,
    /// Gateway.
    pub gateway: String,
    /// Free addresses.
    pub ip_free: u32,
    /// Range.
    pub ip_range: String,
    /// Netmask.
    pub netmask: String,
}

/// An assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuadsAssignment {
    /// Id.
    pub id: u64,
    /// Active.
    pub active: bool,
    /// Provisioned.
    pub provisioned: bool,
    /// Validated.
    pub validated: bool,
    /// Description.
    pub description: String,
    /// Owner.
    pub owner: String,
    /// Ticket.
    pub ticket: String,
    /// QinQ mode.
    pub qinq: Option<i64>,
    /// Wipe.
    pub wipe: bool,
    /// Copied users.
    pub ccuser: Vec<String>,
    /// Cloud (id).
    pub cloud: Option<u64>,
    /// Public VLAN (id).
    pub vlan: Option<u64>,
    /// Created (wall seconds).
    pub created_at: i64,
}

/// A schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuadsSchedule {
    /// Id.
    pub id: u64,
    /// Start (wall seconds).
    pub start: i64,
    /// End (wall seconds).
    pub end: i64,
    /// Build start.
    pub build_start: Option<i64>,
    /// Build end.
    pub build_end: Option<i64>,
    /// Assignment (id).
    pub assignment: u64,
    /// Host (id).
    pub host: u64,
    /// Created.
    pub created_at: i64,
}

/// Everything the fake QUADS server holds.
#[derive(Debug, Clone)]
pub struct QuadsDb {
    /// The server's wall clock at lab time 0 (wall seconds).
    pub epoch: i64,
    /// Clouds.
    pub clouds: Vec<QuadsCloud>,
    /// Hosts.
    pub hosts: Vec<QuadsHost>,
    /// Public VLANs.
    pub vlans: Vec<QuadsVlan>,
    /// Assignments.
    pub assignments: Vec<QuadsAssignment>,
    /// Schedules.
    pub schedules: Vec<QuadsSchedule>,
    /// The admin user.
    pub admin: Credentials,
    /// Tokens handed out and when they expire (lab seconds).
    pub(crate) tokens: BTreeMap<String, f64>,
    seed: u64,
    logins: u64,
    /// Host `PATCH`es rolled back yet answered 200 with the old row.
    pub rolled_back: u64,
    /// Every write answered 2xx, in order (what a test checks a client's writes against).
    pub writes: Vec<QuadsWrite>,
}

/// One write the server answered with success.
#[derive(Debug, Clone, PartialEq)]
pub struct QuadsWrite {
    /// `PATCH`, `POST`.
    pub method: String,
    /// The path (`/api/v3/hosts/<name>`).
    pub path: String,
    /// The JSON body sent (`null` when it was not JSON).
    pub body: Value,
    /// Whether the database rolled it back (a host `PATCH` answered 200 with the old row).
    pub rolled_back: bool,
}

fn next_id(ids: impl Iterator<Item = u64>) -> u64 {
    ids.max().unwrap_or(0) + 1
}

impl QuadsDb {
    /// The server's records for the lab: clouds `cloud01` (the spare pool, every host's default
    /// and recorded cloud) to `cloud04`; active assignments of `cloud02` (wipe, QinQ 0) and
    /// `cloud03` (no wipe, QinQ 1, public VLAN 601); a share of the hosts
    /// (`LabConfig::quads_scheduled`) scheduled into them, alternately, from an hour before
    /// `epoch` for two weeks; every host's NICs from the switch wiring.
    #[must_use]
    pub fn seed(
        machines: &[Machine],
        switches: &SwitchLab,
        config: &LabConfig,
        epoch: i64,
    ) -> Self {
        let clouds = (1..=4)
            .map(|i| QuadsCloud {
                id: i,
                name: format!("cloud{i:02}"),
                last_redefined: Some(epoch - 86_400),
            })
            .collect();
        let mut interface_id = 0;
        let hosts = machines
            .iter()
            .map(|m| QuadsHost {
                id: m.index as u64 + 1,
                name: m.name.clone(),
                model: m.model.to_uppercase(),
                host_type: "baremetal".to_owned(),
                build: false,
                validated: true,
                switch_config_applied: true,
                broken: false,
                retired: false,
                last_build: None,
                cloud: 1,
                default_cloud: 1,
                interfaces: switches
                    .interfaces
                    .get(m.index)
                    .into_iter()
                    .flatten()
                    .map(|nic| {
                        interface_id += 1;
                        QuadsInterface {
                            id: interface_id,
                            name: nic.name.clone(),
                            bios_id: nic.bios_id.clone(),
                            mac_address: nic.mac_address.clone(),
                            switch_ip: switches
                                .switches
                                .get(nic.switch)
                                .map(|s| s.ip.to_string())
                                .unwrap_or_default(),
                            switch_port: nic.switch_port.clone(),
                            speed: nic.speed,
                            vendor: nic.vendor.clone(),
                            pxe_boot: nic.pxe_boot,
                            maintenance: false,
                        }
                    })
                    .collect(),
                created_at: epoch - 86_400,
            })
            .collect();
        let assignment =
            |id: u64, cloud: u64, wipe: bool, qinq: i64, vlan: Option<u64>| QuadsAssignment {
                id,
                active: true,
                provisioned: false,
                validated: false,
                description: format!("lab tenant of cloud{cloud:02}"),
                owner: format!("tenant{cloud:02}"),
                ticket: format!("{}", 1000 + cloud),
                qinq: Some(qinq),
                wipe,
                ccuser: Vec::new(),
                cloud: Some(cloud),
                vlan,
                created_at: epoch - 3_600,
            };
        let scheduled =
            ((machines.len() as f64) * config.quads_scheduled.clamp(0.0, 1.0)).round() as usize;
        let schedules = (0..scheduled.min(machines.len()))
            .map(|i| QuadsSchedule {
                id: i as u64 + 1,
                start: epoch - 3_600,
                end: epoch + 14 * 86_400,
                build_start: None,
                build_end: None,
                assignment: if i % 2 == 0 { 1 } else { 2 },
                host: i as u64 + 1,
                created_at: epoch - 3_600,
            })
            .collect();
        Self {
            epoch,
            clouds,
            hosts,
            vlans: vec![QuadsVlan {
                id: 1,
                vlan_id: 601,
                gateway: "10.1.51.254".to_owned(),
                ip_free: 1019,
                ip_range: "10.1.48.0/22".to_owned(),
                netmask: "255.255.252.0".to_owned(),
            }],
            assignments: vec![
                assignment(1, 2, true, 0, None),
                assignment(2, 3, false, 1, Some(1)),
            ],
            schedules,
            admin: config.quads_admin.clone(),
            tokens: BTreeMap::new(),
            seed: config.seed,
            logins: 0,
            rolled_back: 0,
            writes: Vec::new(),
        }
    }

    /// The server's wall clock at lab time `lab_now` (to the second).
    #[must_use]
    pub fn wall_now(&self, lab_now: f64) -> i64 {
        self.epoch + lab_now.floor() as i64
    }

    /// A new token valid until `lab_now + TOKEN_LIFETIME`.
    pub(crate) fn issue_token(&mut self, lab_now: f64) -> String {
        self.logins += 1;
        let n = self.logins;
        let token = format!(
            "qt.{:016x}{:016x}",
            mix(self.seed ^ 0x70_4e ^ mix(n)),
            mix(n ^ 0x5eed)
        );
        self.tokens.insert(token.clone(), lab_now + TOKEN_LIFETIME);
        token
    }

    /// Whether `token` was issued and has not expired at `lab_now`.
    pub(crate) fn token_valid(&self, token: &str, lab_now: f64) -> bool {
        self.tokens
            .get(token)
            .is_some_and(|expiry| lab_now < *expiry)
    }

    /// The cloud named `name`.
    #[must_use]
    pub fn cloud_by_name(&self, name: &str) -> Option<&QuadsCloud> {
        self.clouds.iter().find(|c| c.name == name)
    }

    /// The cloud with id `id`.
    #[must_use]
    pub fn cloud(&self, id: u64) -> Option<&QuadsCloud> {
        self.clouds.iter().find(|c| c.id == id)
    }

    /// The index of the host named `name`.
    #[must_use]
    pub fn host_index(&self, name: &str) -> Option<usize> {
        self.hosts.iter().position(|h| h.name == name)
    }

    /// The host with id `id`.
    #[must_use]
    pub fn host(&self, id: u64) -> Option<&QuadsHost> {
        self.hosts.iter().find(|h| h.id == id)
    }

    /// The assignment with id `id`.
    #[must_use]
    pub fn assignment(&self, id: u64) -> Option<&QuadsAssignment> {
        self.assignments.iter().find(|a| a.id == id)
    }

    /// A cloud's active assignment.
    #[must_use]
    pub fn active_assignment(&self, cloud: u64) -> Option<&QuadsAssignment> {
        self.assignments
            .iter()
            .find(|a| a.active && a.cloud == Some(cloud))
    }

    /// The schedules holding a host at `wall` (`start <= wall <= end`), of a host and a cloud.
    #[must_use]
    pub fn current_schedules(
        &self,
        wall: i64,
        host: Option<u64>,
        cloud: Option<u64>,
    ) -> Vec<&QuadsSchedule> {
        self.schedules
            .iter()
            .filter(|s| s.start <= wall && wall <= s.end)
            .filter(|s| host.is_none_or(|h| s.host == h))
            .filter(|s| {
                cloud.is_none_or(|c| self.assignment(s.assignment).and_then(|a| a.cloud) == Some(c))
            })
            .collect()
    }

    /// QUADS's `GET moves` at `wall`: every host whose current schedule's cloud (or default
    /// cloud, with no schedule) is not its recorded cloud, as `(host, current, new)`.
    #[must_use]
    pub fn moves(&self, wall: i64) -> Vec<(String, String, String)> {
        self.hosts
            .iter()
            .filter_map(|h| {
                let scheduled = self
                    .current_schedules(wall, Some(h.id), None)
                    .first()
                    .and_then(|s| self.assignment(s.assignment))
                    .and_then(|a| a.cloud);
                let new = scheduled.unwrap_or(h.default_cloud);
                (new != h.cloud).then(|| {
                    let name = |id| self.cloud(id).map(|c| c.name.clone()).unwrap_or_default();
                    (h.name.clone(), name(h.cloud), name(new))
                })
            })
            .collect()
    }

    /// A new id for a cloud, assignment or schedule.
    pub(crate) fn next_cloud_id(&self) -> u64 {
        next_id(self.clouds.iter().map(|c| c.id))
    }

    pub(crate) fn next_assignment_id(&self) -> u64 {
        next_id(self.assignments.iter().map(|a| a.id))
    }

    pub(crate) fn next_schedule_id(&self) -> u64 {
        next_id(self.schedules.iter().map(|s| s.id))
    }

    // ---- JSON views, as QUADS's `as_dict()` ----

    /// A cloud.
    #[must_use]
    pub fn cloud_json(&self, cloud: &QuadsCloud) -> Value {
        json!({"id": cloud.id, "name": cloud.name, "last_redefined": date_opt(cloud.last_redefined)})
    }

    fn cloud_id_json(&self, id: Option<u64>) -> Option<Value> {
        id.and_then(|id| self.cloud(id)).map(|c| self.cloud_json(c))
    }

    /// An interface.
    #[must_use]
    pub fn interface_json(nic: &QuadsInterface, host_id: u64) -> Value {
        json!({
            "id": nic.id, "name": nic.name, "bios_id": nic.bios_id, "mac_address": nic.mac_address,
            "switch_ip": nic.switch_ip, "switch_port": nic.switch_port, "speed": nic.speed,
            "vendor": nic.vendor, "pxe_boot": nic.pxe_boot, "maintenance": nic.maintenance,
            "host_id": host_id,
        })
    }

    /// A host (its `interfaces` key only when it has some, as QUADS).
    #[must_use]
    pub fn host_json(&self, host: &QuadsHost) -> Value {
        let mut value = json!({
            "id": host.id, "name": host.name, "model": host.model, "host_type": host.host_type,
            "build": host.build, "validated": host.validated,
            "switch_config_applied": host.switch_config_applied, "broken": host.broken,
            "retired": host.retired, "last_build": date_opt(host.last_build),
            "cloud_id": host.cloud, "default_cloud_id": host.default_cloud,
            "created_at": rfc1123(host.created_at),
        });
        if let Some(map) = value.as_object_mut() {
            if let Some(cloud) = self.cloud_id_json(Some(host.cloud)) {
                map.insert("cloud".into(), cloud);
            }
            if let Some(cloud) = self.cloud_id_json(Some(host.default_cloud)) {
                map.insert("default_cloud".into(), cloud);
            }
            if !host.interfaces.is_empty() {
                let nics = host
                    .interfaces
                    .iter()
                    .map(|n| Self::interface_json(n, host.id))
                    .collect();
                map.insert("interfaces".into(), Value::Array(nics));
            }
        }
        value
    }

    /// An assignment (its `vlan` key only when it holds one, as QUADS).
    #[must_use]
    pub fn assignment_json(&self, a: &QuadsAssignment) -> Value {
        let mut value = json!({
            "id": a.id, "active": a.active, "provisioned": a.provisioned, "validated": a.validated,
            "description": a.description, "owner": a.owner, "ticket": a.ticket, "qinq": a.qinq,
            "wipe": a.wipe, "ccuser": a.ccuser, "cloud_id": a.cloud, "vlan_id": a.vlan,
            "created_at": rfc1123(a.created_at),
            "notification": {
                "id": a.id, "fail": false, "success": false, "initial": false, "pre_initial": false,
                "pre": false, "one_day": false, "three_days": false, "five_days": false,
                "seven_days": false, "assignment_id": null,
            },
        });
        if let Some(map) = value.as_object_mut() {
            if let Some(cloud) = self.cloud_id_json(a.cloud) {
                map.insert("cloud".into(), cloud);
            }
            if let Some(vlan) = a.vlan.and_then(|id| self.vlans.iter().find(|v| v.id == id)) {
                map.insert(
                    "vlan".into(),
                    json!({"id": vlan.id, "vlan_id": vlan.vlan_id, "gateway": vlan.gateway,
                        "ip_free": vlan.ip_free, "ip_range": vlan.ip_range, "netmask": vlan.netmask}),
                );
            }
        }
        value
    }

    /// A schedule, with its assignment and host.
    #[must_use]
    pub fn schedule_json(&self, s: &QuadsSchedule) -> Value {
        let mut value = json!({
            "id": s.id, "start": rfc1123(s.start), "end": rfc1123(s.end),
            "build_start": date_opt(s.build_start), "build_end": date_opt(s.build_end),
            "assignment_id": s.assignment, "host_id": s.host, "created_at": rfc1123(s.created_at),
        });
        if let Some(map) = value.as_object_mut() {
            if let Some(a) = self.assignment(s.assignment) {
                map.insert("assignment".into(), self.assignment_json(a));
            }
            if let Some(h) = self.host(s.host) {
                map.insert("host".into(), self.host_json(h));
            }
        }
        value
    }
}

/// Wall seconds as Flask writes a datetime: RFC 1123 labelled `GMT`.
#[must_use]
pub fn rfc1123(wall: i64) -> String {
    OffsetDateTime::from_unix_timestamp(wall)
        .ok()
        .and_then(|t| {
            t.format(format_description!(
                "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
            ))
            .ok()
        })
        .unwrap_or_default()
}

fn date_opt(wall: Option<i64>) -> Value {
    wall.map_or(Value::Null, |w| Value::from(rfc1123(w)))
}

/// `strptime(text, "%Y-%m-%dT%H:%M")`: seconds are refused.
#[must_use]
pub fn parse_minute_t(text: &str) -> Option<i64> {
    PrimitiveDateTime::parse(
        text,
        format_description!("[year]-[month]-[day]T[hour]:[minute]"),
    )
    .ok()
    .map(|t| t.assume_utc().unix_timestamp())
}

/// `strptime(text, "%Y-%m-%d %H:%M")` (`POST schedules`).
#[must_use]
pub fn parse_minute_space(text: &str) -> Option<i64> {
    PrimitiveDateTime::parse(
        text,
        format_description!("[year]-[month]-[day] [hour]:[minute]"),
    )
    .ok()
    .map(|t| t.assume_utc().unix_timestamp())
}

/// What PostgreSQL takes for a timestamp column (ISO dates with `T` or a space, with or
/// without seconds); anything else makes the commit fail.
#[must_use]
pub fn parse_db_timestamp(text: &str) -> Option<i64> {
    let normal = text.replacen(' ', "T", 1);
    parse_minute_t(&normal).or_else(|| {
        PrimitiveDateTime::parse(
            &normal,
            format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        )
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_the_three_formats() {
        assert_eq!(rfc1123(1_733_263_200), "Tue, 03 Dec 2024 22:00:00 GMT");
        assert_eq!(parse_minute_t("2024-12-03T22:00"), Some(1_733_263_200));
        assert_eq!(parse_minute_t("2024-12-03T22:00:00"), None);
        assert_eq!(parse_minute_space("2024-12-03 22:00"), Some(1_733_263_200));
        assert_eq!(parse_minute_space("2024-12-03T22:00"), None);
        assert_eq!(
            parse_db_timestamp("2024-12-03 22:00:30"),
            Some(1_733_263_230)
        );
        assert_eq!(parse_db_timestamp("last tuesday"), None);
    }
}
