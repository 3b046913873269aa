//! Day-2 commands (QUADS's `--extend`, `--shrink`, `--mod-schedule`, `--terminate`,
//! `--mark-broken`, `--mark-repaired`, `--retire`, `--rm-host`, `--rm-cloud`): their arguments
//! and how they turn into the store's checked changes. A refusal is exit 2 and changes nothing.

use anyhow::anyhow;
use clap::Args;
use provision_core::Store;
use provision_core::Timestamp;
use provision_core::model::{CloudName, HostName, HostState, Schedule, ScheduleId, TimeRange};
use serde::Serialize;

use super::output::{self, Format, ScheduleV1};
use super::{Failure, Report};

const WEEK_MS: i64 = 7 * 24 * 3600 * 1000;

/// Which schedules a time change applies to.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Which {
    /// One schedule, by id (see `schedule ls`)
    id: Option<ScheduleId>,
    /// Every schedule of the cloud running at --date (default now)
    #[arg(long)]
    cloud: Option<CloudName>,
}

/// How far a schedule's end moves.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct By {
    /// By this many weeks
    #[arg(long)]
    weeks: Option<u32>,
    /// To this end: RFC 3339 or YYYY-MM-DD[ HH:MM] (UTC)
    #[arg(long)]
    to: Option<Timestamp>,
}

/// `schedule extend` and `schedule shrink`.
#[derive(Debug, Args)]
pub struct EndChange {
    #[command(flatten)]
    which: Which,
    #[command(flatten)]
    by: By,
    /// With --cloud: the schedules running at this time [default: now]
    #[arg(long, value_name = "T")]
    date: Option<Timestamp>,
}

/// `schedule modify`.
#[derive(Debug, Args)]
pub struct Modify {
    /// The schedule's id
    id: ScheduleId,
    /// New start: RFC 3339 or YYYY-MM-DD[ HH:MM] (UTC)
    #[arg(long)]
    start: Option<Timestamp>,
    /// New end (exclusive)
    #[arg(long)]
    end: Option<Timestamp>,
}

/// `assignment terminate`.
#[derive(Debug, Args)]
pub struct Terminate {
    /// The cloud
    #[arg(long)]
    cloud: CloudName,
    /// The assignment's ticket [default: the cloud's only assignment with a schedule to come]
    #[arg(long)]
    ticket: Option<String>,
    /// When it ends [default: now]
    #[arg(long, value_name = "T")]
    at: Option<Timestamp>,
}

fn now() -> Timestamp {
    Timestamp::from_system_time(std::time::SystemTime::now())
}

fn usage(message: String) -> Failure {
    Failure::usage(anyhow!(message))
}

/// The schedules `which` names.
async fn chosen(
    store: &Store,
    which: &Which,
    date: Option<Timestamp>,
) -> Result<Vec<Schedule>, Failure> {
    let all = store.schedules(None).await?;
    if let Some(id) = which.id {
        return all
            .into_iter()
            .find(|s| s.id == id)
            .map(|s| vec![s])
            .ok_or_else(|| usage(format!("schedule {id} does not exist")));
    }
    let cloud = which
        .cloud
        .as_ref()
        .ok_or_else(|| usage("no schedule named".into()))?;
    let at = date.unwrap_or_else(now);
    let of_cloud: Vec<_> = store
        .assignments()
        .await?
        .into_iter()
        .filter(|a| a.spec.cloud == *cloud)
        .map(|a| a.id)
        .collect();
    let running: Vec<Schedule> = all
        .into_iter()
        .filter(|s| of_cloud.contains(&s.assignment) && s.range.contains(at))
        .collect();
    if running.is_empty() {
        return Err(usage(format!(
            "cloud {cloud} has no schedule running at {at}"
        )));
    }
    Ok(running)
}

/// `schedule extend` (`longer`) or `schedule shrink`: every chosen schedule's end moved, all
/// or none.
pub async fn change_end(
    store: &Store,
    change: EndChange,
    longer: bool,
    format: Format,
) -> Result<Report, Failure> {
    let schedules = chosen(store, &change.which, change.date).await?;
    let verb = if longer { "extend" } else { "shrink" };
    let mut changes = Vec::with_capacity(schedules.len());
    for s in &schedules {
        let end = match (change.by.weeks, change.by.to) {
            (Some(w), _) => {
                let delta = WEEK_MS * i64::from(w);
                let ms = s.range.end().unix_millis() + if longer { delta } else { -delta };
                Timestamp::from_unix_millis(ms).map_err(|e| Failure::usage(e.into()))?
            }
            (None, Some(to)) => to,
            (None, None) => return Err(usage("give --weeks or --to".into())),
        };
        let right_way = if longer {
            end > s.range.end()
        } else {
            end < s.range.end()
        };
        if !right_way {
            return Err(usage(format!(
                "cannot {verb} schedule {} (host {}, {}) to end {end}",
                s.id, s.host, s.range
            )));
        }
        let range = TimeRange::new(s.range.start(), end).map_err(|e| {
            usage(format!(
                "cannot {verb} schedule {} (host {}): {e}",
                s.id, s.host
            ))
        })?;
        changes.push((s.id, range));
    }
    store.modify_schedules(changes).await?;
    changed(store, &schedules, format).await
}

/// `schedule modify`.
pub async fn modify(store: &Store, m: Modify, format: Format) -> Result<Report, Failure> {
    if m.start.is_none() && m.end.is_none() {
        return Err(usage("give --start, --end or both".into()));
    }
    let [s] = chosen(
        store,
        &Which {
            id: Some(m.id),
            cloud: None,
        },
        None,
    )
    .await?
    .try_into()
    .map_err(|_| usage(format!("schedule {} does not exist", m.id)))?;
    let range = TimeRange::new(
        m.start.unwrap_or(s.range.start()),
        m.end.unwrap_or(s.range.end()),
    )
    .map_err(|e| usage(format!("schedule {}: {e}", s.id)))?;
    store.modify_schedules(vec![(s.id, range)]).await?;
    changed(store, &[s], format).await
}

/// The changed schedules as they are now.
async fn changed(store: &Store, before: &[Schedule], format: Format) -> Result<Report, Failure> {
    let ids: Vec<ScheduleId> = before.iter().map(|s| s.id).collect();
    let now: Vec<Schedule> = store
        .schedules(None)
        .await?
        .into_iter()
        .filter(|s| ids.contains(&s.id))
        .collect();
    let assignments = store.assignments().await?;
    Ok(Report::ok(output::schedules(format, &now, &assignments)?))
}

#[derive(Serialize)]
struct TerminationV1 {
    assignment: i64,
    cloud: String,
    ticket: String,
    at: String,
    ended: Vec<ScheduleV1>,
    removed: Vec<ScheduleV1>,
}

/// `assignment terminate`.
pub async fn terminate(store: &Store, t: Terminate, format: Format) -> Result<Report, Failure> {
    let at = t.at.unwrap_or_else(now);
    let assignments = store.assignments().await?;
    let schedules = store.schedules(None).await?;
    let candidates: Vec<_> = assignments
        .iter()
        .filter(|a| a.spec.cloud == t.cloud)
        .filter(|a| match &t.ticket {
            Some(ticket) => a.spec.ticket == *ticket,
            // without a ticket: the assignment still holding something
            None => schedules
                .iter()
                .any(|s| s.assignment == a.id && s.range.end() > at),
        })
        .collect();
    let a = match candidates.as_slice() {
        [one] => *one,
        [] => {
            return Err(usage(format!(
                "cloud {} has no assignment{} to terminate",
                t.cloud,
                t.ticket
                    .as_ref()
                    .map(|x| format!(" with ticket {x:?}"))
                    .unwrap_or_default()
            )));
        }
        many => {
            return Err(usage(format!(
                "cloud {} has {} assignments with schedules to come: give --ticket",
                t.cloud,
                many.len()
            )));
        }
    };
    let done = store.terminate_assignment(a.id, at).await?;
    let clouds = [(a.id, a.spec.cloud.to_string())].into_iter().collect();
    let doc = TerminationV1 {
        assignment: a.id.0,
        cloud: a.spec.cloud.to_string(),
        ticket: a.spec.ticket.clone(),
        at: at.to_string(),
        ended: done
            .ended
            .iter()
            .map(|s| ScheduleV1::new(s, &clouds))
            .collect(),
        removed: done
            .removed
            .iter()
            .map(|s| ScheduleV1::new(s, &clouds))
            .collect(),
    };
    let sentence = format!(
        "terminated assignment {} of {} (ticket {}) at {at}: {} schedule(s) ended, {} removed",
        a.id,
        a.spec.cloud,
        a.spec.ticket,
        doc.ended.len(),
        doc.removed.len()
    );
    Ok(Report::ok(output::record(
        format,
        "termination",
        doc,
        sentence,
    )?))
}

/// `host broken|repaired|retire|unretire`: (required state, new state, verb).
pub fn transition(command: &str) -> (Option<HostState>, HostState, &'static str) {
    match command {
        "broken" => (Some(HostState::Active), HostState::Broken, "marked broken"),
        "repaired" => (Some(HostState::Broken), HostState::Active, "repaired"),
        "retire" => (None, HostState::Retired, "retired"),
        _ => (
            Some(HostState::Retired),
            HostState::Active,
            "returned to service",
        ),
    }
}

/// A host's state changed.
pub async fn host_state(
    store: &Store,
    name: HostName,
    command: &str,
    format: Format,
) -> Result<Report, Failure> {
    let (from, to, verb) = transition(command);
    let host = store.set_host_state(name, from, to).await?;
    let sentence = format!("host {} {verb} (now {})", host.name, host.state);
    Ok(Report::ok(output::record(
        format,
        "host",
        output::HostV1::from(&host),
        sentence,
    )?))
}

/// `host remove`.
pub async fn host_remove(store: &Store, name: HostName, format: Format) -> Result<Report, Failure> {
    let host = store.remove_host(name).await?;
    let sentence = format!("removed host {} and its interfaces", host.name);
    Ok(Report::ok(output::record(
        format,
        "removed_host",
        output::HostV1::from(&host),
        sentence,
    )?))
}

#[derive(Serialize)]
struct RemovedCloudV1 {
    name: String,
}

/// `cloud remove`.
pub async fn cloud_remove(
    store: &Store,
    name: CloudName,
    format: Format,
) -> Result<Report, Failure> {
    store.remove_cloud(name.clone()).await?;
    Ok(Report::ok(output::record(
        format,
        "removed_cloud",
        RemovedCloudV1 {
            name: name.to_string(),
        },
        format!("removed cloud {name}"),
    )?))
}

/// `host available`.
#[derive(Debug, Args)]
pub struct Available {
    /// From (inclusive): RFC 3339 or YYYY-MM-DD[ HH:MM] (UTC)
    #[arg(long)]
    from: Timestamp,
    /// To (exclusive)
    #[arg(long)]
    to: Timestamp,
    /// Only this hardware model
    #[arg(long)]
    model: Option<String>,
}

/// `host available`: active hosts no schedule holds during the range.
pub async fn available(store: &Store, a: Available, format: Format) -> Result<Report, Failure> {
    if a.to <= a.from {
        return Err(usage(format!(
            "--to {} is not after --from {}",
            a.to, a.from
        )));
    }
    let snapshot = store.snapshot().await?;
    let hosts: Vec<_> =
        provision_core::availability::available_hosts(&snapshot, a.from, a.to, a.model.as_deref())
            .into_iter()
            .cloned()
            .collect();
    Ok(Report::ok(output::hosts(format, &hosts)?))
}

#[derive(Serialize)]
struct FreeCloudsV1 {
    v: u32,
    at: String,
    clouds: Vec<String>,
}

/// `cloud free`: clouds with no host and nothing scheduled at or after the time.
pub async fn free(
    store: &Store,
    at: Option<Timestamp>,
    spare: &str,
    format: Format,
) -> Result<Report, Failure> {
    let at = at.unwrap_or_else(now);
    let snapshot = store.snapshot().await?;
    let clouds: Vec<String> = provision_core::availability::free_clouds(&snapshot, at, spare)
        .iter()
        .map(|c| c.name.to_string())
        .collect();
    Ok(Report::ok(match format {
        Format::Json => output::json(&FreeCloudsV1 {
            v: 1,
            at: at.to_string(),
            clouds,
        })?,
        Format::Table => output::table(&["free cloud"], clouds.into_iter().map(|c| vec![c])),
    }))
}

#[derive(Serialize)]
struct SummaryRowV1 {
    cloud: String,
    hosts: usize,
    scheduled: usize,
    owner: Option<String>,
    ticket: Option<String>,
    ends: Option<String>,
    days_left: Option<i64>,
}

#[derive(Serialize)]
struct SummaryV1 {
    v: u32,
    at: String,
    clouds: Vec<SummaryRowV1>,
}

/// `cloud summary`: hosts per cloud, its tenant and days left.
pub async fn summary(
    store: &Store,
    at: Option<Timestamp>,
    format: Format,
) -> Result<Report, Failure> {
    let at = at.unwrap_or_else(now);
    let snapshot = store.snapshot().await?;
    let rows: Vec<SummaryRowV1> = provision_core::availability::cloud_summary(&snapshot, at)
        .into_iter()
        .map(|c| SummaryRowV1 {
            cloud: c.cloud.to_string(),
            hosts: c.hosts,
            scheduled: c.scheduled,
            owner: c.owner,
            ticket: c.ticket,
            ends: c.ends.map(|t| t.to_string()),
            days_left: c.days_left,
        })
        .collect();
    Ok(Report::ok(match format {
        Format::Json => output::json(&SummaryV1 {
            v: 1,
            at: at.to_string(),
            clouds: rows,
        })?,
        Format::Table => {
            let dash = || "-".to_owned();
            output::table(
                &[
                    "cloud",
                    "hosts",
                    "scheduled",
                    "owner",
                    "ticket",
                    "ends",
                    "days left",
                ],
                rows.into_iter().map(|r| {
                    vec![
                        r.cloud,
                        r.hosts.to_string(),
                        r.scheduled.to_string(),
                        r.owner.unwrap_or_else(dash),
                        r.ticket.unwrap_or_else(dash),
                        r.ends.unwrap_or_else(dash),
                        r.days_left.map_or_else(dash, |d| d.to_string()),
                    ]
                }),
            )
        }
    }))
}
