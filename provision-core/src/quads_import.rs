//! The migration from a QUADS 2.x server (`quads import --from-quads`, issue 14): the server's
//! clouds, hosts (interfaces, model, type, broken/retired), assignments and current and future
//! schedules, read through quads-api-client ([`read_server`]), mapped onto the store's records
//! against what the store already holds ([`plan_import`], pure), and added through the store's
//! own import path in one transaction ([`import_from_server`]).
//!
//! Only what the store lacks is added: a record it holds already (same key and same values) is
//! counted as present, so a second import adds nothing. Nothing is guessed: a record that cannot
//! be mapped (a schedule for a host the server does not list, a host in no cloud, an
//! assignment without a ticket, a record the store holds with other values, a schedule
//! overlapping one of the store's) is left out and listed in the report ([`Unmapped`]). A
//! record the store then refuses (an interface on a switch port the store has cabled to
//! another host) refuses the whole import: nothing is written.
//!
//! QUADS keeps neither BMC addresses nor build settings: a host's BMC address comes from the
//! worker's template and resolve file ([`bmc_address`]), an assignment's OS, partition table
//! and medium from `[quads] default_*` ([`BuildDefaults`]), as in worker mode. Assignments
//! imported: the active ones and those a current or future schedule names (a past tenant's
//! is history). Schedule build times are not copied (the store's schedules get them when
//! their hosts move).

use std::collections::{BTreeMap, BTreeSet};

use quads_api_client::{AssignmentFilter, FutureSchedules, QuadsClient};

use crate::executor::quads_server::{
    BuildDefaults, HostsFile, assignment_spec, bmc_address, interface_records,
};
use crate::inventory::{Inventory, InventorySchedule, Located};
use crate::model::{
    AssignmentSpec, Cloud, CloudName, CloudStatus, Host, HostName, HostState, Interface, TimeRange,
};
use crate::store::{ImportSummary, Snapshot, Store, StoreError};
use crate::time::Timestamp;

/// What the server holds, as read for an import.
#[derive(Debug, Clone, Default)]
pub struct ServerRecords {
    /// Every cloud.
    pub clouds: Vec<quads_api_client::Cloud>,
    /// Every host, each with its interfaces.
    pub hosts: Vec<quads_api_client::Host>,
    /// Every assignment, past ones included.
    pub assignments: Vec<quads_api_client::Assignment>,
    /// The schedules not ended yet (current and future).
    pub schedules: Vec<quads_api_client::Schedule>,
}

/// Reads what an import needs: `GET clouds/`, `hosts/` (and `hosts/<h>/interfaces` for a
/// host whose record carries no interfaces), `assignments/`, `schedules/future/`.
///
/// # Errors
/// The client's: a failed read imports nothing.
pub async fn read_server(client: &QuadsClient) -> Result<ServerRecords, quads_api_client::Error> {
    let clouds = client.clouds().await?;
    let mut hosts = client.hosts(None).await?;
    for host in hosts.iter_mut().filter(|h| h.interfaces.is_empty()) {
        host.interfaces = client.interfaces(&host.name).await?;
    }
    let assignments = client.assignments(AssignmentFilter::All).await?;
    let schedules = client.future_schedules(FutureSchedules::default()).await?;
    Ok(ServerRecords {
        clouds,
        hosts,
        assignments,
        schedules,
    })
}

/// How server records become store records.
#[derive(Debug, Clone)]
pub struct ImportConfig {
    /// The BMC address template (`{host}` is the host's name).
    pub bmc_template: String,
    /// Names the template may produce, mapped to addresses.
    pub resolve: HostsFile,
    /// What an assignment's rebuild installs.
    pub defaults: BuildDefaults,
}

/// A server record left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmapped {
    /// The record as the server names it (`host h1`, `schedule 12 of host h1`).
    pub record: String,
    /// Why it is not in the store (or not as the server has it).
    pub reason: String,
}

/// What an import makes of the server's records against the store.
#[derive(Debug, Clone, Default)]
pub struct ImportPlan {
    /// The records to add.
    pub inventory: Inventory,
    /// Records the store holds already, as the server has them (left as they are).
    pub present: ImportSummary,
    /// Records left out.
    pub unmapped: Vec<Unmapped>,
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    /// Records added.
    pub added: ImportSummary,
    /// Records the store held already.
    pub present: ImportSummary,
    /// Records left out, with why.
    pub unmapped: Vec<Unmapped>,
}

/// Reads nothing, writes nothing: [`ImportPlan`] of `server` against `store`.
#[must_use]
pub fn plan_import(server: &ServerRecords, store: &Snapshot, config: &ImportConfig) -> ImportPlan {
    let mut planner = Planner {
        store,
        config,
        plan: ImportPlan::default(),
    };
    let clouds = planner.clouds(server);
    let hosts = planner.hosts(server, &clouds);
    let assignments = planner.assignments(server, &clouds);
    planner.schedules(server, &hosts, &assignments);
    planner.plan
}

/// Reads the server, then adds what the store lacks in one transaction (the plan is made
/// inside it, against the store as it is then).
///
/// # Errors
/// [`StoreError::Remote`] when a read fails, [`StoreError::ImportRefused`] when the store
/// refuses a record, or SQLite's; in every case nothing was written.
pub async fn import_from_server(
    store: &Store,
    client: &QuadsClient,
    config: ImportConfig,
) -> Result<ImportReport, StoreError> {
    let server = read_server(client).await.map_err(|e| StoreError::Remote {
        message: format!("QUADS server {}: {e}", client.url()),
        retryable: e.is_retryable(),
    })?;
    let (added, (present, unmapped)) = store
        .import_planned(move |snapshot| {
            let plan = plan_import(&server, snapshot, &config);
            Ok((plan.inventory, (plan.present, plan.unmapped)))
        })
        .await?;
    Ok(ImportReport {
        added,
        present,
        unmapped,
    })
}

fn timestamp(t: quads_api_client::Timestamp) -> Option<Timestamp> {
    Timestamp::from_unix_millis(t.unix().checked_mul(1000)?).ok()
}

/// An assignment as the store's import names it: its cloud and ticket.
type AssignmentKey = (CloudName, String);

struct Planner<'a> {
    store: &'a Snapshot,
    config: &'a ImportConfig,
    plan: ImportPlan,
}

impl Planner<'_> {
    fn unmapped(&mut self, record: impl Into<String>, reason: impl Into<String>) {
        self.plan.unmapped.push(Unmapped {
            record: record.into(),
            reason: reason.into(),
        });
    }

    fn held_otherwise(&mut self, record: String, differences: &[String]) {
        self.unmapped(
            record,
            format!(
                "the store holds it with other values ({}): kept as the store has it",
                differences.join(", ")
            ),
        );
    }

    /// The clouds known after the import (the store's and the server's), by name.
    fn clouds(&mut self, server: &ServerRecords) -> BTreeSet<CloudName> {
        let mut known: BTreeSet<CloudName> =
            self.store.clouds.iter().map(|c| c.name.clone()).collect();
        for c in &server.clouds {
            let name = match CloudName::new(c.name.as_str()) {
                Ok(name) => name,
                Err(e) => {
                    self.unmapped(format!("cloud {:?}", c.name), e.to_string());
                    continue;
                }
            };
            if known.contains(&name) {
                self.plan.present.clouds += 1;
                continue;
            }
            known.insert(name.clone());
            self.plan.inventory.clouds.push(Located {
                line: 0,
                value: Cloud {
                    name,
                    description: String::new(),
                    status: CloudStatus::Pending,
                },
            });
        }
        known
    }

    fn cloud_of(
        &mut self,
        record: &str,
        name: Option<&str>,
        what: &str,
        known: &BTreeSet<CloudName>,
    ) -> Option<CloudName> {
        let Some(name) = name else {
            self.unmapped(record, format!("in no {what}"));
            return None;
        };
        match CloudName::new(name) {
            Ok(c) if known.contains(&c) => Some(c),
            Ok(c) => {
                self.unmapped(
                    record,
                    format!("its {what} {c} is not a cloud of the server"),
                );
                None
            }
            Err(e) => {
                self.unmapped(record, format!("its {what}: {e}"));
                None
            }
        }
    }

    /// The hosts known after the import.
    fn hosts(
        &mut self,
        server: &ServerRecords,
        clouds: &BTreeSet<CloudName>,
    ) -> BTreeSet<HostName> {
        let mut known: BTreeSet<HostName> =
            self.store.hosts.iter().map(|h| h.name.clone()).collect();
        for h in &server.hosts {
            let record = format!("host {}", h.name);
            let name = match HostName::new(h.name.as_str()) {
                Ok(name) => name,
                Err(e) => {
                    self.unmapped(record, e.to_string());
                    continue;
                }
            };
            let Some(current) = self.cloud_of(&record, h.cloud_name(), "cloud", clouds) else {
                continue;
            };
            let default = match h.default_cloud_name() {
                None => current.clone(),
                Some(d) => match self.cloud_of(&record, Some(d), "default cloud", clouds) {
                    Some(d) => d,
                    None => continue,
                },
            };
            let state = match (h.broken, h.retired) {
                (false, false) => HostState::Active,
                (true, false) => HostState::Broken,
                (_, true) => HostState::Retired,
            };
            if h.broken && h.retired {
                self.unmapped(
                    record.clone(),
                    "both broken and retired on the server: imported as retired",
                );
            }
            let host = Host {
                bmc_address: bmc_address(
                    &self.config.bmc_template,
                    name.as_str(),
                    &self.config.resolve,
                ),
                name: name.clone(),
                model: h.model.as_deref().map(str::to_lowercase),
                host_type: h.host_type.clone(),
                default_cloud: default,
                current_cloud: current,
                state,
            };
            let nics = match interface_records(&name, &h.interfaces) {
                Ok(nics) => nics,
                Err(e) => {
                    self.unmapped(record, format!("its interfaces: {e}"));
                    continue;
                }
            };
            match self.store.hosts.iter().find(|s| s.name == name) {
                Some(held) => {
                    let differences = host_differences(held, &host);
                    if differences.is_empty() {
                        self.plan.present.hosts += 1;
                        self.interfaces(&name, nics);
                    } else {
                        self.held_otherwise(record, &differences);
                    }
                }
                None => {
                    known.insert(name.clone());
                    self.plan.inventory.hosts.push(Located {
                        line: 0,
                        value: host,
                    });
                    self.interfaces(&name, nics);
                }
            }
        }
        known
    }

    fn interfaces(&mut self, host: &HostName, nics: Vec<Interface>) {
        for nic in nics {
            let record = format!("interface {} of host {host}", nic.name);
            if nic.switch_ip.trim().is_empty() || nic.switch_port.trim().is_empty() {
                self.unmapped(record, "no switch address or port");
                continue;
            }
            let held = self
                .store
                .interfaces
                .iter()
                .find(|i| i.host == nic.host && i.name == nic.name);
            match held {
                Some(held) if *held == nic => self.plan.present.interfaces += 1,
                Some(held) => self.unmapped(
                    record,
                    format!(
                        "the store holds it on switch {} port {} (server: switch {} port {}): kept as the store has it",
                        held.switch_ip, held.switch_port, nic.switch_ip, nic.switch_port
                    ),
                ),
                None => self.plan.inventory.interfaces.push(Located {
                    line: 0,
                    value: nic,
                }),
            }
        }
    }

    /// The server's assignment ids mapped to the (cloud, ticket) of the store's assignment
    /// that stands for each.
    fn assignments(
        &mut self,
        server: &ServerRecords,
        clouds: &BTreeSet<CloudName>,
    ) -> BTreeMap<u64, AssignmentKey> {
        let scheduled: BTreeSet<u64> = server
            .schedules
            .iter()
            .filter_map(|s| s.assignment.as_ref().map(|a| a.id))
            .collect();
        let mut wanted: Vec<&quads_api_client::Assignment> = server
            .assignments
            .iter()
            .filter(|a| a.active || scheduled.contains(&a.id))
            .collect();
        // a schedule's assignment the list did not carry: the schedule's own copy
        for s in &server.schedules {
            if let Some(a) = &s.assignment
                && !wanted.iter().any(|w| w.id == a.id)
            {
                wanted.push(a);
            }
        }
        let mut mapped = BTreeMap::new();
        let mut keys = BTreeSet::new();
        for a in wanted {
            let record = format!("assignment {}", a.id);
            let Some(cloud) = self.cloud_of(&record, a.cloud_name(), "cloud", clouds) else {
                continue;
            };
            let record = format!("assignment {} of {cloud}", a.id);
            let ticket = a.ticket.as_deref().map(str::trim).unwrap_or_default();
            if ticket.is_empty() {
                self.unmapped(record, "no ticket");
                continue;
            }
            if !keys.insert((cloud.clone(), ticket.to_owned())) {
                self.unmapped(
                    record,
                    format!("another assignment of {cloud} has ticket {ticket:?}"),
                );
                continue;
            }
            let mut spec = match assignment_spec(a, &cloud, &self.config.defaults) {
                Ok(spec) => spec,
                Err(e) => {
                    self.unmapped(record, e);
                    continue;
                }
            };
            ticket.clone_into(&mut spec.ticket);
            let held = self
                .store
                .assignments
                .iter()
                .find(|h| h.spec.cloud == cloud && h.spec.ticket == ticket);
            match held {
                Some(held) => {
                    let differences = assignment_differences(&held.spec, &spec);
                    if differences.is_empty() {
                        self.plan.present.assignments += 1;
                    } else {
                        self.held_otherwise(record, &differences);
                    }
                }
                None => self.plan.inventory.assignments.push(Located {
                    line: 0,
                    value: spec,
                }),
            }
            mapped.insert(a.id, (cloud, ticket.to_owned()));
        }
        mapped
    }

    fn schedules(
        &mut self,
        server: &ServerRecords,
        hosts: &BTreeSet<HostName>,
        assignments: &BTreeMap<u64, AssignmentKey>,
    ) {
        // the store's schedules by host, with their assignments' (cloud, ticket)
        let held_key = |id| {
            self.store
                .assignments
                .iter()
                .find(|a| a.id == id)
                .map(|a| (a.spec.cloud.clone(), a.spec.ticket.clone()))
        };
        let held: Vec<(HostName, Option<AssignmentKey>, TimeRange, i64)> = self
            .store
            .schedules
            .iter()
            .map(|s| (s.host.clone(), held_key(s.assignment), s.range, s.id.0))
            .collect();
        let mut added: Vec<(HostName, TimeRange)> = Vec::new();
        for s in &server.schedules {
            let Some(host_name) = s.host_name() else {
                self.unmapped(format!("schedule {}", s.id), "names no host");
                continue;
            };
            let record = format!("schedule {} of host {host_name}", s.id);
            let host = match HostName::new(host_name) {
                Ok(h) if hosts.contains(&h) => h,
                Ok(_) | Err(_) => {
                    self.unmapped(record, "its host is not among the hosts imported");
                    continue;
                }
            };
            let Some((cloud, ticket)) = s.assignment.as_ref().and_then(|a| assignments.get(&a.id))
            else {
                self.unmapped(record, "its assignment was not imported");
                continue;
            };
            let range = match (s.start.and_then(timestamp), s.end.and_then(timestamp)) {
                (Some(start), Some(end)) => match TimeRange::new(start, end) {
                    Ok(range) => range,
                    Err(e) => {
                        self.unmapped(record, e.to_string());
                        continue;
                    }
                },
                _ => {
                    self.unmapped(record, "no start or end");
                    continue;
                }
            };
            let key = Some((cloud.clone(), ticket.clone()));
            if held
                .iter()
                .any(|(h, k, r, _)| *h == host && *k == key && *r == range)
            {
                self.plan.present.schedules += 1;
                continue;
            }
            if let Some((_, _, r, id)) = held
                .iter()
                .find(|(h, _, r, _)| *h == host && r.overlaps(&range))
            {
                self.unmapped(
                    record,
                    format!(
                        "{range} overlaps the store's schedule {id} ({r}): kept as the store has it"
                    ),
                );
                continue;
            }
            if let Some((_, r)) = added.iter().find(|(h, r)| *h == host && r.overlaps(&range)) {
                self.unmapped(
                    record,
                    format!("{range} overlaps another of the server's schedules ({r})"),
                );
                continue;
            }
            added.push((host.clone(), range));
            self.plan.inventory.schedules.push(Located {
                line: 0,
                value: InventorySchedule {
                    host,
                    cloud: cloud.clone(),
                    ticket: Some(ticket.clone()),
                    range,
                },
            });
        }
    }
}

fn host_differences(held: &Host, server: &Host) -> Vec<String> {
    let mut out = Vec::new();
    let mut compare = |what: &str, a: String, b: String| {
        if a != b {
            out.push(format!("{what}: store {a}, server {b}"));
        }
    };
    let text = |o: &Option<String>| o.clone().unwrap_or_else(|| "none".to_owned());
    compare(
        "cloud",
        held.current_cloud.to_string(),
        server.current_cloud.to_string(),
    );
    compare(
        "default cloud",
        held.default_cloud.to_string(),
        server.default_cloud.to_string(),
    );
    compare("model", text(&held.model), text(&server.model));
    compare("type", text(&held.host_type), text(&server.host_type));
    compare(
        "state",
        held.state.as_str().to_owned(),
        server.state.as_str().to_owned(),
    );
    out
}

fn assignment_differences(held: &AssignmentSpec, server: &AssignmentSpec) -> Vec<String> {
    let mut out = Vec::new();
    let mut compare = |what: &str, a: String, b: String| {
        if a != b {
            out.push(format!("{what}: store {a}, server {b}"));
        }
    };
    compare("owner", held.owner.clone(), server.owner.clone());
    compare(
        "wipe",
        held.wipe.as_str().to_owned(),
        server.wipe.as_str().to_owned(),
    );
    compare(
        "qinq",
        held.qinq.as_u8().to_string(),
        server.qinq.as_u8().to_string(),
    );
    compare(
        "public vlan",
        held.public_vlan
            .map_or("none".to_owned(), |v| v.get().to_string()),
        server
            .public_vlan
            .map_or("none".to_owned(), |v| v.get().to_string()),
    );
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::model::{Assignment, AssignmentId, BootType, QinQ, Schedule, ScheduleId, Wipe};

    fn server() -> ServerRecords {
        let cloud = |id: u64, name: &str| format!(r#"{{"id":{id},"name":"{name}"}}"#);
        let host = |name: &str| {
            format!(
                r#"{{"id":1,"name":"{name}","model":"R650","host_type":"baremetal",
                "cloud":{},"default_cloud":{}}}"#,
                cloud(1, "cloud01"),
                cloud(1, "cloud01")
            )
        };
        let assignment = format!(
            r#"{{"id":7,"active":true,"ticket":"1002","owner":"t","wipe":true,"qinq":0,"cloud":{}}}"#,
            cloud(2, "cloud02")
        );
        let schedule = |id: u64, host: &str| {
            format!(
                r#"{{"id":{id},"start":"Tue, 03 Dec 2024 22:00:00 GMT","end":"Tue, 17 Dec 2024 22:00:00 GMT",
                "assignment":{assignment},"host":{{"id":1,"name":"{host}"}}}}"#
            )
        };
        ServerRecords {
            clouds: serde_json::from_str(&format!(
                "[{},{}]",
                cloud(1, "cloud01"),
                cloud(2, "cloud02")
            ))
            .unwrap(),
            hosts: serde_json::from_str(&format!("[{},{}]", host("h1"), host("h2"))).unwrap(),
            assignments: serde_json::from_str(&format!("[{assignment}]")).unwrap(),
            schedules: serde_json::from_str(&format!(
                "[{},{}]",
                schedule(3, "h1"),
                schedule(4, "h2")
            ))
            .unwrap(),
        }
    }

    fn config() -> ImportConfig {
        ImportConfig {
            bmc_template: "mgmt-{host}".to_owned(),
            resolve: HostsFile::default(),
            defaults: BuildDefaults::default(),
        }
    }

    #[test]
    fn an_empty_store_gets_every_record_mapped() {
        let plan = plan_import(&server(), &Snapshot::default(), &config());
        let inv = &plan.inventory;
        assert_eq!(
            (
                inv.clouds.len(),
                inv.hosts.len(),
                inv.assignments.len(),
                inv.schedules.len()
            ),
            (2, 2, 1, 2)
        );
        assert!(plan.unmapped.is_empty(), "{:?}", plan.unmapped);
        let h1 = &inv.hosts[0].value;
        assert_eq!(
            (h1.model.as_deref(), h1.bmc_address.as_str()),
            (Some("r650"), "mgmt-h1")
        );
        assert_eq!(inv.schedules[0].value.ticket.as_deref(), Some("1002"));
    }

    #[test]
    fn a_record_held_otherwise_and_an_overlapping_schedule_are_reported_not_changed() {
        let name = |n: &str| CloudName::new(n).unwrap();
        let spec = AssignmentSpec {
            cloud: name("cloud02"),
            ticket: "1002".to_owned(),
            owner: "t".to_owned(),
            description: String::new(),
            wipe: Wipe::Yes,
            os: None,
            partition_table: None,
            medium: None,
            boot_type: BootType::Uefi,
            qinq: QinQ::Separated,
            public_vlan: None,
        };
        let host = |n: &str, cloud: &str| Host {
            name: HostName::new(n).unwrap(),
            bmc_address: format!("mgmt-{n}"),
            model: Some("r650".to_owned()),
            host_type: Some("baremetal".to_owned()),
            default_cloud: name("cloud01"),
            current_cloud: name(cloud),
            state: HostState::Active,
        };
        let range =
            |a: &str, b: &str| TimeRange::new(a.parse().unwrap(), b.parse().unwrap()).unwrap();
        let store = Snapshot {
            clouds: ["cloud01", "cloud02"]
                .iter()
                .map(|c| Cloud {
                    name: name(c),
                    description: String::new(),
                    status: CloudStatus::Pending,
                })
                .collect(),
            hosts: vec![host("h1", "cloud01"), host("h2", "cloud02")],
            assignments: vec![Assignment {
                id: AssignmentId(1),
                spec,
            }],
            schedules: vec![Schedule {
                id: ScheduleId(9),
                host: HostName::new("h1").unwrap(),
                assignment: AssignmentId(1),
                range: range("2024-12-01 00:00", "2024-12-05 00:00"),
                build_start: None,
                build_end: None,
            }],
            interfaces: Vec::new(),
        };
        let plan = plan_import(&server(), &store, &config());
        let inv = &plan.inventory;
        assert!(inv.clouds.is_empty() && inv.hosts.is_empty() && inv.assignments.is_empty());
        assert_eq!(inv.schedules.len(), 1, "h2's schedule is new");
        assert_eq!(
            (
                plan.present.clouds,
                plan.present.hosts,
                plan.present.assignments
            ),
            (2, 1, 1)
        );
        let reasons: Vec<String> = plan
            .unmapped
            .iter()
            .map(|u| format!("{}: {}", u.record, u.reason))
            .collect();
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert!(
            reasons[0].starts_with("host h2: the store holds it with other values (cloud: store cloud02, server cloud01)"),
            "{reasons:?}"
        );
        assert!(
            reasons[1].starts_with("schedule 3 of host h1:")
                && reasons[1].contains("overlaps the store's schedule 9"),
            "{reasons:?}"
        );
    }
}
