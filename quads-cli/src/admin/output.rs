//! What the admin commands print: tables for people (comfy-table) and versioned JSON documents
//! for machines (`{"v": 1, ...}`), converted explicitly from provision-core's records.

use std::collections::BTreeMap;

use comfy_table::{Table, TableStyle};
use provision_core::model::{
    Assignment, AssignmentId, Cloud, Host, Interface, JournalEntry, RunRecord, Schedule, Subject,
};
use provision_core::network::{NetworkPlan, PortTarget};
use provision_core::store::ImportSummary;
use provision_core::{MovePlan, SkipReason};
use serde::Serialize;

/// `-o/--output` (formerly `--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people (`text`, as the other commands call it, is accepted).
    #[value(alias = "text")]
    Table,
    /// One JSON document (versioned: `"v": 1`) for machines.
    Json,
}

/// The version of every JSON document below.
const V: u32 = 1;

pub fn json<T: Serialize>(doc: &T) -> anyhow::Result<String> {
    let mut text = serde_json::to_string_pretty(doc)?;
    text.push('\n');
    Ok(text)
}

pub fn table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut t = Table::new();
    t.load_style(TableStyle::new());
    t.set_header(header.iter().map(|h| h.to_uppercase()));
    for row in rows {
        t.add_row(row);
    }
    let mut text = t.to_string();
    // the preset pads every line; trailing blanks only get in the way of diffs and greps
    text = text
        .lines()
        .map(|l| l.trim_end().strip_prefix(' ').unwrap_or(l.trim_end()))
        .collect::<Vec<_>>()
        .join("\n");
    text.push('\n');
    text
}

fn opt(v: Option<&str>) -> String {
    v.unwrap_or("-").to_owned()
}

// ---- hosts ----

#[derive(Serialize)]
pub struct HostV1 {
    name: String,
    bmc_address: String,
    model: Option<String>,
    host_type: Option<String>,
    default_cloud: String,
    current_cloud: String,
    state: &'static str,
}

impl From<&Host> for HostV1 {
    fn from(h: &Host) -> Self {
        Self {
            name: h.name.to_string(),
            bmc_address: h.bmc_address.clone(),
            model: h.model.clone(),
            host_type: h.host_type.clone(),
            default_cloud: h.default_cloud.to_string(),
            current_cloud: h.current_cloud.to_string(),
            state: h.state.as_str(),
        }
    }
}

#[derive(Serialize)]
struct HostsV1 {
    v: u32,
    hosts: Vec<HostV1>,
}

pub fn hosts(format: Format, hosts: &[Host]) -> anyhow::Result<String> {
    match format {
        Format::Json => json(&HostsV1 {
            v: V,
            hosts: hosts.iter().map(HostV1::from).collect(),
        }),
        Format::Table => Ok(table(
            &["name", "cloud", "default", "state", "bmc", "model", "type"],
            hosts.iter().map(|h| {
                vec![
                    h.name.to_string(),
                    h.current_cloud.to_string(),
                    h.default_cloud.to_string(),
                    h.state.to_string(),
                    h.bmc_address.clone(),
                    opt(h.model.as_deref()),
                    opt(h.host_type.as_deref()),
                ]
            }),
        )),
    }
}

#[derive(Serialize)]
pub struct InterfaceV1 {
    name: String,
    bios_id: Option<String>,
    mac_address: Option<String>,
    switch_ip: String,
    switch_port: String,
    speed: Option<u32>,
    vendor: Option<String>,
    pxe_boot: bool,
    maintenance: bool,
}

impl From<&Interface> for InterfaceV1 {
    fn from(i: &Interface) -> Self {
        Self {
            name: i.name.to_string(),
            bios_id: i.bios_id.clone(),
            mac_address: i.mac_address.as_ref().map(ToString::to_string),
            switch_ip: i.switch_ip.clone(),
            switch_port: i.switch_port.clone(),
            speed: i.speed,
            vendor: i.vendor.clone(),
            pxe_boot: i.pxe_boot,
            maintenance: i.maintenance,
        }
    }
}

#[derive(Serialize)]
struct HostShowV1 {
    v: u32,
    host: HostV1,
    interfaces: Vec<InterfaceV1>,
}

fn yes(b: bool) -> String {
    if b { "yes" } else { "-" }.to_owned()
}

pub fn host_show(format: Format, host: &Host, interfaces: &[Interface]) -> anyhow::Result<String> {
    match format {
        Format::Json => json(&HostShowV1 {
            v: V,
            host: HostV1::from(host),
            interfaces: interfaces.iter().map(InterfaceV1::from).collect(),
        }),
        Format::Table => {
            let mut out = format!(
                "host {}: in {} (default {}), {}, bmc {}, model {}, type {}\n",
                host.name,
                host.current_cloud,
                host.default_cloud,
                host.state,
                host.bmc_address,
                opt(host.model.as_deref()),
                opt(host.host_type.as_deref()),
            );
            if interfaces.is_empty() {
                out.push_str("no interfaces\n");
                return Ok(out);
            }
            out.push_str(&table(
                &[
                    "interface",
                    "switch",
                    "port",
                    "mac",
                    "speed",
                    "vendor",
                    "bios id",
                    "pxe",
                    "maintenance",
                ],
                interfaces.iter().map(|i| {
                    vec![
                        i.name.to_string(),
                        i.switch_ip.clone(),
                        i.switch_port.clone(),
                        i.mac_address
                            .as_ref()
                            .map_or_else(|| "-".to_owned(), ToString::to_string),
                        i.speed.map_or_else(|| "-".to_owned(), |s| s.to_string()),
                        opt(i.vendor.as_deref()),
                        opt(i.bios_id.as_deref()),
                        yes(i.pxe_boot),
                        yes(i.maintenance),
                    ]
                }),
            ));
            Ok(out)
        }
    }
}

// ---- clouds ----

#[derive(Serialize)]
pub struct CloudV1 {
    name: String,
    description: String,
    status: &'static str,
}

impl From<&Cloud> for CloudV1 {
    fn from(c: &Cloud) -> Self {
        Self {
            name: c.name.to_string(),
            description: c.description.clone(),
            status: c.status.as_str(),
        }
    }
}

#[derive(Serialize)]
struct CloudsV1 {
    v: u32,
    clouds: Vec<CloudV1>,
}

pub fn clouds(format: Format, clouds: &[Cloud], hosts: &[Host]) -> anyhow::Result<String> {
    match format {
        Format::Json => json(&CloudsV1 {
            v: V,
            clouds: clouds.iter().map(CloudV1::from).collect(),
        }),
        Format::Table => Ok(table(
            &["name", "hosts", "status", "description"],
            clouds.iter().map(|c| {
                let n = hosts.iter().filter(|h| h.current_cloud == c.name).count();
                vec![
                    c.name.to_string(),
                    n.to_string(),
                    c.status.to_string(),
                    c.description.clone(),
                ]
            }),
        )),
    }
}

// ---- assignments ----

#[derive(Serialize)]
pub struct AssignmentV1 {
    id: i64,
    cloud: String,
    ticket: String,
    owner: String,
    description: String,
    wipe: &'static str,
    os: Option<String>,
    partition_table: Option<String>,
    medium: Option<String>,
    boot_type: &'static str,
    qinq: u8,
    vlan: Option<u16>,
}

impl From<&Assignment> for AssignmentV1 {
    fn from(a: &Assignment) -> Self {
        let s = &a.spec;
        Self {
            id: a.id.0,
            cloud: s.cloud.to_string(),
            ticket: s.ticket.clone(),
            owner: s.owner.clone(),
            description: s.description.clone(),
            wipe: s.wipe.as_str(),
            os: s.os.clone(),
            partition_table: s.partition_table.clone(),
            medium: s.medium.clone(),
            boot_type: s.boot_type.as_str(),
            qinq: s.qinq.as_u8(),
            vlan: s.public_vlan.map(provision_core::model::VlanId::get),
        }
    }
}

#[derive(Serialize)]
struct AssignmentsV1 {
    v: u32,
    assignments: Vec<AssignmentV1>,
}

pub fn assignments(format: Format, list: &[Assignment]) -> anyhow::Result<String> {
    match format {
        Format::Json => json(&AssignmentsV1 {
            v: V,
            assignments: list.iter().map(AssignmentV1::from).collect(),
        }),
        Format::Table => Ok(table(
            &[
                "id", "cloud", "ticket", "owner", "wipe", "os", "ptable", "medium", "boot", "qinq",
                "vlan",
            ],
            list.iter().map(|a| {
                let s = &a.spec;
                vec![
                    a.id.to_string(),
                    s.cloud.to_string(),
                    s.ticket.clone(),
                    s.owner.clone(),
                    s.wipe.to_string(),
                    opt(s.os.as_deref()),
                    opt(s.partition_table.as_deref()),
                    opt(s.medium.as_deref()),
                    s.boot_type.to_string(),
                    s.qinq.to_string(),
                    s.public_vlan
                        .map_or_else(|| "-".to_owned(), |v| v.to_string()),
                ]
            }),
        )),
    }
}

// ---- schedules ----

#[derive(Serialize)]
pub struct ScheduleV1 {
    id: i64,
    host: String,
    assignment: i64,
    cloud: Option<String>,
    start: String,
    end: String,
    build_start: Option<String>,
    build_end: Option<String>,
}

impl ScheduleV1 {
    pub fn new(s: &Schedule, clouds: &BTreeMap<AssignmentId, String>) -> Self {
        Self {
            id: s.id.0,
            host: s.host.to_string(),
            assignment: s.assignment.0,
            cloud: clouds.get(&s.assignment).cloned(),
            start: s.range.start().to_string(),
            end: s.range.end().to_string(),
            build_start: s.build_start.map(|t| t.to_string()),
            build_end: s.build_end.map(|t| t.to_string()),
        }
    }
}

#[derive(Serialize)]
struct SchedulesV1 {
    v: u32,
    schedules: Vec<ScheduleV1>,
}

pub fn schedules(
    format: Format,
    list: &[Schedule],
    assignments: &[Assignment],
) -> anyhow::Result<String> {
    let clouds: BTreeMap<AssignmentId, String> = assignments
        .iter()
        .map(|a| (a.id, a.spec.cloud.to_string()))
        .collect();
    let docs: Vec<ScheduleV1> = list.iter().map(|s| ScheduleV1::new(s, &clouds)).collect();
    match format {
        Format::Json => json(&SchedulesV1 {
            v: V,
            schedules: docs,
        }),
        Format::Table => Ok(table(
            &["id", "host", "cloud", "assignment", "start", "end", "built"],
            docs.into_iter().map(|s| {
                vec![
                    s.id.to_string(),
                    s.host,
                    s.cloud.unwrap_or_else(|| "?".to_owned()),
                    s.assignment.to_string(),
                    s.start,
                    s.end,
                    s.build_end.unwrap_or_else(|| "-".to_owned()),
                ]
            }),
        )),
    }
}

// ---- the plan ----

#[derive(Serialize)]
struct MoveV1 {
    host: String,
    from: String,
    to: String,
    wipe: &'static str,
    assignment: Option<i64>,
    schedule: Option<i64>,
    /// The host's switch ports (added to v1).
    ports: Vec<PortV1>,
    /// Ports the network plan cannot place (added to v1).
    network_problems: Vec<String>,
}

#[derive(Serialize)]
pub struct TargetV1 {
    mode: &'static str,
    vlan: u16,
}

impl From<&PortTarget> for TargetV1 {
    fn from(t: &PortTarget) -> Self {
        Self {
            mode: t.mode.as_str(),
            vlan: t.vlan.get(),
        }
    }
}

#[derive(Serialize)]
struct PortV1 {
    interface: String,
    switch: String,
    port: String,
    old: Option<TargetV1>,
    new: TargetV1,
    change: &'static str,
}

fn ports_v1(n: &NetworkPlan) -> Vec<PortV1> {
    n.ports
        .iter()
        .map(|p| PortV1 {
            interface: p.interface.to_string(),
            switch: p.switch.clone(),
            port: p.port.clone(),
            old: p.old.as_ref().map(TargetV1::from),
            new: TargetV1::from(&p.new),
            change: p.change.as_str(),
        })
        .collect()
}

#[derive(Serialize)]
struct SkippedV1 {
    host: String,
    from: String,
    to: Option<String>,
    reason: &'static str,
    detail: String,
}

#[derive(Serialize)]
struct PlanV1 {
    v: u32,
    dry_run: bool,
    at: String,
    moves: Vec<MoveV1>,
    skipped: Vec<SkippedV1>,
    in_place: usize,
}

fn reason_code(r: &SkipReason) -> &'static str {
    match r {
        SkipReason::Untouchable => "untouchable",
        SkipReason::Broken => "broken",
        SkipReason::Retired => "retired",
        SkipReason::ConflictingSchedules(_) => "conflicting-schedules",
        SkipReason::MissingAssignment(_) => "missing-assignment",
        SkipReason::UnknownCloud(_) => "unknown-cloud",
        _ => "other",
    }
}

/// The plan; `networks` are its moves' network plans, in the same order.
pub fn plan(format: Format, plan: &MovePlan, networks: &[NetworkPlan]) -> anyhow::Result<String> {
    let empty = NetworkPlan::default();
    let network = |i: usize| networks.get(i).unwrap_or(&empty);
    match format {
        Format::Json => json(&PlanV1 {
            v: V,
            dry_run: true,
            at: plan.at.to_string(),
            moves: plan
                .moves
                .iter()
                .enumerate()
                .map(|(i, m)| MoveV1 {
                    host: m.host.to_string(),
                    from: m.from.to_string(),
                    to: m.to.to_string(),
                    wipe: m.wipe.as_str(),
                    assignment: m.assignment.map(|a| a.0),
                    schedule: m.schedule.map(|s| s.0),
                    ports: ports_v1(network(i)),
                    network_problems: network(i)
                        .problems
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                })
                .collect(),
            skipped: plan
                .skipped
                .iter()
                .map(|s| SkippedV1 {
                    host: s.host.to_string(),
                    from: s.from.to_string(),
                    to: s.to.as_ref().map(ToString::to_string),
                    reason: reason_code(&s.reason),
                    detail: s.reason.to_string(),
                })
                .collect(),
            in_place: plan.in_place,
        }),
        Format::Table => {
            let mut out = format!("plan at {} (dry run: nothing is touched)\n", plan.at);
            if !plan.moves.is_empty() {
                out.push_str(&table(
                    &["host", "from", "to", "wipe"],
                    plan.moves.iter().map(|m| {
                        vec![
                            m.host.to_string(),
                            m.from.to_string(),
                            m.to.to_string(),
                            m.wipe.to_string(),
                        ]
                    }),
                ));
            }
            let vlan_rows: Vec<Vec<String>> = plan
                .moves
                .iter()
                .enumerate()
                .flat_map(|(i, m)| {
                    network(i).ports.iter().map(move |p| {
                        let old = p.old.map_or_else(|| "?".to_owned(), |t| t.to_string());
                        let change = match p.change {
                            provision_core::network::PortChange::Move => {
                                format!("{old} -> {}", p.new)
                            }
                            provision_core::network::PortChange::Unchanged => {
                                format!("{old} (unchanged)")
                            }
                            provision_core::network::PortChange::Maintenance => {
                                format!("{old} (maintenance: left alone)")
                            }
                        };
                        vec![
                            m.host.to_string(),
                            p.interface.to_string(),
                            p.switch.clone(),
                            p.port.clone(),
                            change,
                        ]
                    })
                })
                .collect();
            if !vlan_rows.is_empty() {
                out.push_str("switch ports:\n");
                out.push_str(&table(
                    &["host", "interface", "switch", "port", "vlan (old -> new)"],
                    vlan_rows,
                ));
            }
            let problems: Vec<String> = (0..plan.moves.len())
                .flat_map(|i| network(i).problems.iter().map(ToString::to_string))
                .collect();
            if !problems.is_empty() {
                out.push_str("network problems (these hosts' ports cannot be moved):\n");
                for p in problems {
                    out.push_str(&format!("  {p}\n"));
                }
            }
            if !plan.skipped.is_empty() {
                out.push_str("skipped:\n");
                out.push_str(&table(
                    &["host", "from", "to", "reason"],
                    plan.skipped.iter().map(|s| {
                        vec![
                            s.host.to_string(),
                            s.from.to_string(),
                            s.to.as_ref()
                                .map_or_else(|| "?".to_owned(), ToString::to_string),
                            s.reason.to_string(),
                        ]
                    }),
                ));
            }
            out.push_str(&format!(
                "{} to move, {} skipped, {} already in place\n",
                plan.moves.len(),
                plan.skipped.len(),
                plan.in_place
            ));
            Ok(out)
        }
    }
}

// ---- runs and the journal ----

#[derive(Serialize)]
struct RunV1 {
    id: i64,
    kind: &'static str,
    state: &'static str,
    pid: u32,
    started_at: String,
    finished_at: Option<String>,
    target_time: String,
}

impl From<&RunRecord> for RunV1 {
    fn from(r: &RunRecord) -> Self {
        Self {
            id: r.id.0,
            kind: r.kind.as_str(),
            state: r.state.as_str(),
            pid: r.pid,
            started_at: r.started_at.to_string(),
            finished_at: r.finished_at.map(|t| t.to_string()),
            target_time: r.target_time.to_string(),
        }
    }
}

#[derive(Serialize)]
struct RunsV1 {
    v: u32,
    runs: Vec<RunV1>,
}

pub fn runs(format: Format, runs: &[RunRecord]) -> anyhow::Result<String> {
    match format {
        Format::Json => json(&RunsV1 {
            v: V,
            runs: runs.iter().map(RunV1::from).collect(),
        }),
        Format::Table => Ok(table(
            &[
                "id", "kind", "state", "pid", "started", "finished", "target",
            ],
            runs.iter().map(|r| {
                vec![
                    r.id.to_string(),
                    r.kind.to_string(),
                    r.state.to_string(),
                    r.pid.to_string(),
                    r.started_at.to_string(),
                    r.finished_at
                        .map_or_else(|| "-".to_owned(), |t| t.to_string()),
                    r.target_time.to_string(),
                ]
            }),
        )),
    }
}

#[derive(Serialize)]
struct EntryV1 {
    id: i64,
    host: Option<String>,
    cloud: Option<String>,
    step: String,
    phase: &'static str,
    attempt: u32,
    outcome: Option<&'static str>,
    error: Option<String>,
    details: BTreeMap<String, String>,
    recorded_at: String,
}

impl From<&JournalEntry> for EntryV1 {
    fn from(e: &JournalEntry) -> Self {
        let (host, cloud) = match &e.subject {
            Subject::Host(h) => (Some(h.to_string()), None),
            Subject::Cloud(c) => (None, Some(c.to_string())),
        };
        Self {
            id: e.id.0,
            host,
            cloud,
            step: e.step.to_string(),
            phase: e.phase.as_str(),
            attempt: e.attempt,
            outcome: e.outcome.map(provision_core::model::StepOutcome::as_str),
            error: e.error.clone(),
            details: e
                .details
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            recorded_at: e.recorded_at.to_string(),
        }
    }
}

#[derive(Serialize)]
struct RunShowV1 {
    v: u32,
    run: RunV1,
    journal: Vec<EntryV1>,
}

pub fn run_show(
    format: Format,
    run: &RunRecord,
    entries: &[JournalEntry],
) -> anyhow::Result<String> {
    match format {
        Format::Json => json(&RunShowV1 {
            v: V,
            run: RunV1::from(run),
            journal: entries.iter().map(EntryV1::from).collect(),
        }),
        Format::Table => {
            let mut out = format!(
                "run {} ({}) {}: pid {}, started {}, finished {}, target time {}\n",
                run.id,
                run.kind,
                run.state,
                run.pid,
                run.started_at,
                run.finished_at
                    .map_or_else(|| "-".to_owned(), |t| t.to_string()),
                run.target_time
            );
            if entries.is_empty() {
                out.push_str("no journal entries\n");
                return Ok(out);
            }
            out.push_str(&table(
                &[
                    "time", "subject", "step", "phase", "try", "outcome", "error", "details",
                ],
                entries.iter().map(|e| {
                    vec![
                        e.recorded_at.to_string(),
                        e.subject.to_string(),
                        e.step.to_string(),
                        e.phase.to_string(),
                        e.attempt.to_string(),
                        e.outcome.map_or_else(|| "-".to_owned(), |o| o.to_string()),
                        opt(e.error.as_deref()),
                        e.details
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(" "),
                    ]
                }),
            ));
            Ok(out)
        }
    }
}

// ---- single results ----

#[derive(Serialize)]
struct ImportV1 {
    v: u32,
    imported: ImportCountsV1,
}

#[derive(Serialize)]
struct ImportCountsV1 {
    clouds: usize,
    hosts: usize,
    assignments: usize,
    schedules: usize,
    interfaces: usize,
}

pub fn import(format: Format, s: ImportSummary, file: &str) -> anyhow::Result<String> {
    match format {
        Format::Json => json(&ImportV1 {
            v: V,
            imported: ImportCountsV1 {
                clouds: s.clouds,
                hosts: s.hosts,
                assignments: s.assignments,
                schedules: s.schedules,
                interfaces: s.interfaces,
            },
        }),
        Format::Table => Ok(format!(
            "imported {file}: {} clouds, {} hosts, {} interfaces, {} assignments, {} schedules\n",
            s.clouds, s.hosts, s.interfaces, s.assignments, s.schedules
        )),
    }
}

#[derive(Serialize)]
struct RecordV1<T> {
    v: u32,
    #[serde(flatten)]
    record: T,
}

/// One record, as JSON (`{"v":1, "<kind>": {...}}`) or as a sentence.
pub fn record<T: Serialize>(
    format: Format,
    kind: &'static str,
    record: T,
    sentence: String,
) -> anyhow::Result<String> {
    match format {
        Format::Json => {
            let mut map = serde_json::Map::new();
            map.insert(kind.to_owned(), serde_json::to_value(record)?);
            json(&RecordV1 { v: V, record: map })
        }
        Format::Table => Ok(sentence + "\n"),
    }
}
