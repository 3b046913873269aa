//! The store's SQL: synchronous queries over a `rusqlite` connection or transaction, run on the
//! store's threads, and the mapping between rows and the typed records of `model`.

use std::str::FromStr;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::StoreError;
use crate::model::{
    Assignment, AssignmentId, AssignmentSpec, Cloud, CloudName, CloudStatus, Host, HostName,
    Interface, NewSchedule, QinQ, Schedule, ScheduleId, TimeRange, VlanId,
};
use crate::time::Timestamp;

/// Parses a stored word or name, calling a bad one corruption (the schema's CHECKs make it rare).
pub(crate) fn parse<T>(value: &str, column: &str) -> Result<T, StoreError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    value
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("column {column}: {e}")))
}

pub(crate) fn parse_opt<T>(value: Option<&str>, column: &str) -> Result<Option<T>, StoreError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    value.map(|v| parse(v, column)).transpose()
}

fn collect<T, R>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    raw: impl FnMut(&Row<'_>) -> rusqlite::Result<R>,
    convert: impl Fn(R) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, raw)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(convert(row?)?);
    }
    Ok(out)
}

// ---- clouds ----

type CloudRow = (String, String, String);

fn cloud_row(r: &Row<'_>) -> rusqlite::Result<CloudRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
}

fn cloud_from((name, description, status): CloudRow) -> Result<Cloud, StoreError> {
    Ok(Cloud {
        name: parse(&name, "clouds.name")?,
        description,
        status: parse(&status, "clouds.status")?,
    })
}

pub(crate) fn clouds(conn: &Connection) -> Result<Vec<Cloud>, StoreError> {
    collect(
        conn,
        "SELECT name, description, status FROM clouds ORDER BY name",
        [],
        cloud_row,
        cloud_from,
    )
}

pub(crate) fn cloud_exists(conn: &Connection, name: &CloudName) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM clouds WHERE name = ?1")?
        .exists([name.as_str()])?)
}

pub(crate) fn insert_cloud(
    conn: &Connection,
    cloud: &Cloud,
    now: Timestamp,
) -> Result<(), StoreError> {
    if cloud_exists(conn, &cloud.name)? {
        return Err(StoreError::AlreadyExists {
            what: format!("cloud {}", cloud.name),
        });
    }
    conn.execute(
        "INSERT INTO clouds (name, description, status, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![
            cloud.name.as_str(),
            cloud.description,
            cloud.status.as_str(),
            now.to_string()
        ],
    )?;
    Ok(())
}

pub(crate) fn set_cloud_status(
    conn: &Connection,
    name: &CloudName,
    status: CloudStatus,
) -> Result<(), StoreError> {
    let n = conn
        .prepare_cached("UPDATE clouds SET status = ?2 WHERE name = ?1")?
        .execute(params![name.as_str(), status.as_str()])?;
    if n == 0 {
        return Err(StoreError::NotFound {
            what: format!("cloud {name}"),
        });
    }
    Ok(())
}

/// Marks an assignment validated (every host passed) or not.
pub(crate) fn set_assignment_validated(
    conn: &Connection,
    id: AssignmentId,
    validated: bool,
) -> Result<(), StoreError> {
    let n = conn
        .prepare_cached("UPDATE assignments SET validated = ?2 WHERE id = ?1")?
        .execute(params![id.0, i64::from(validated)])?;
    if n == 0 {
        return Err(StoreError::NotFound {
            what: format!("assignment {}", id.0),
        });
    }
    Ok(())
}

/// The ids of the validated assignments.
pub(crate) fn validated_assignments(
    conn: &Connection,
) -> Result<std::collections::BTreeSet<AssignmentId>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT id FROM assignments WHERE validated = 1")?;
    let ids = stmt
        .query_map([], |r| r.get::<_, i64>(0))?
        .map(|r| r.map(AssignmentId))
        .collect::<Result<_, _>>()?;
    Ok(ids)
}

// ---- hosts ----

type HostRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
);

/// The columns of [`HostRow`], as a literal for `concat!`: the statements are constant text, so
/// the connection's statement cache keeps them parsed.
macro_rules! host_columns {
    () => {
        "name, bmc_address, model, host_type, default_cloud, current_cloud, state"
    };
}

fn host_row(r: &Row<'_>) -> rusqlite::Result<HostRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn host_from(
    (name, bmc_address, model, host_type, default_cloud, current_cloud, state): HostRow,
) -> Result<Host, StoreError> {
    Ok(Host {
        name: parse(&name, "hosts.name")?,
        bmc_address,
        model,
        host_type,
        default_cloud: parse(&default_cloud, "hosts.default_cloud")?,
        current_cloud: parse(&current_cloud, "hosts.current_cloud")?,
        state: parse(&state, "hosts.state")?,
    })
}

pub(crate) fn hosts(conn: &Connection) -> Result<Vec<Host>, StoreError> {
    collect(
        conn,
        concat!("SELECT ", host_columns!(), " FROM hosts ORDER BY name"),
        [],
        host_row,
        host_from,
    )
}

pub(crate) fn host(conn: &Connection, name: &HostName) -> Result<Option<Host>, StoreError> {
    // read twice per move (before and after recording it)
    let row = conn
        .prepare_cached(concat!(
            "SELECT ",
            host_columns!(),
            " FROM hosts WHERE name = ?1"
        ))?
        .query_row([name.as_str()], host_row)
        .optional()?;
    row.map(host_from).transpose()
}

/// `role` says which cloud it is, for the error only: it is not formatted when the cloud exists.
fn require_cloud(
    conn: &Connection,
    cloud: &CloudName,
    role: impl FnOnce() -> String,
) -> Result<(), StoreError> {
    if cloud_exists(conn, cloud)? {
        Ok(())
    } else {
        Err(StoreError::NotFound {
            what: format!("cloud {cloud} ({})", role()),
        })
    }
}

pub(crate) fn insert_host(conn: &Connection, h: &Host, now: Timestamp) -> Result<(), StoreError> {
    if host(conn, &h.name)?.is_some() {
        return Err(StoreError::AlreadyExists {
            what: format!("host {}", h.name),
        });
    }
    require_cloud(conn, &h.default_cloud, || {
        format!("default cloud of host {}", h.name)
    })?;
    require_cloud(conn, &h.current_cloud, || {
        format!("current cloud of host {}", h.name)
    })?;
    conn.execute(
        concat!(
            "INSERT INTO hosts (",
            host_columns!(),
            ", created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        ),
        params![
            h.name.as_str(),
            h.bmc_address,
            h.model,
            h.host_type,
            h.default_cloud.as_str(),
            h.current_cloud.as_str(),
            h.state.as_str(),
            now.to_string()
        ],
    )?;
    Ok(())
}

pub(crate) fn set_current_cloud(
    conn: &Connection,
    name: &HostName,
    cloud: &CloudName,
) -> Result<(), StoreError> {
    require_cloud(conn, cloud, || format!("new cloud of host {name}"))?;
    let n = conn
        .prepare_cached("UPDATE hosts SET current_cloud = ?2 WHERE name = ?1")?
        .execute(params![name.as_str(), cloud.as_str()])?;
    if n == 0 {
        return Err(StoreError::NotFound {
            what: format!("host {name}"),
        });
    }
    Ok(())
}

// ---- assignments ----

type AssignmentRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    i64,
    Option<i64>,
);

const ASSIGNMENT_COLUMNS: &str = "id, cloud, ticket, owner, description, wipe, os, partition_table, medium, boot_type, \
     qinq, public_vlan";

fn assignment_row(r: &Row<'_>) -> rusqlite::Result<AssignmentRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
    ))
}

fn assignment_from(
    (
        id,
        cloud,
        ticket,
        owner,
        description,
        wipe,
        os,
        partition_table,
        medium,
        boot_type,
        qinq,
        public_vlan,
    ): AssignmentRow,
) -> Result<Assignment, StoreError> {
    let corrupt = |column: &str, e: crate::model::ModelError| {
        StoreError::Corrupt(format!("column {column}: {e}"))
    };
    Ok(Assignment {
        id: AssignmentId(id),
        spec: AssignmentSpec {
            cloud: parse(&cloud, "assignments.cloud")?,
            ticket,
            owner,
            description,
            wipe: parse(&wipe, "assignments.wipe")?,
            os,
            partition_table,
            medium,
            boot_type: parse(&boot_type, "assignments.boot_type")?,
            qinq: QinQ::from_number(qinq).map_err(|e| corrupt("assignments.qinq", e))?,
            public_vlan: public_vlan
                .map(VlanId::new)
                .transpose()
                .map_err(|e| corrupt("assignments.public_vlan", e))?,
        },
    })
}

pub(crate) fn assignments(conn: &Connection) -> Result<Vec<Assignment>, StoreError> {
    collect(
        conn,
        &format!("SELECT {ASSIGNMENT_COLUMNS} FROM assignments ORDER BY id"),
        [],
        assignment_row,
        assignment_from,
    )
}

pub(crate) fn assignment(
    conn: &Connection,
    id: AssignmentId,
) -> Result<Option<Assignment>, StoreError> {
    let row = conn
        .query_row(
            &format!("SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE id = ?1"),
            [id.0],
            assignment_row,
        )
        .optional()?;
    row.map(assignment_from).transpose()
}

pub(crate) fn assignments_of_cloud(
    conn: &Connection,
    cloud: &CloudName,
) -> Result<Vec<Assignment>, StoreError> {
    collect(
        conn,
        &format!("SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE cloud = ?1 ORDER BY id"),
        [cloud.as_str()],
        assignment_row,
        assignment_from,
    )
}

pub(crate) fn insert_assignment(
    conn: &Connection,
    a: &AssignmentSpec,
    now: Timestamp,
) -> Result<Assignment, StoreError> {
    require_cloud(conn, &a.cloud, || "cloud of the assignment".to_owned())?;
    if assignments_of_cloud(conn, &a.cloud)?
        .iter()
        .any(|x| x.spec.ticket == a.ticket)
    {
        return Err(StoreError::AlreadyExists {
            what: format!("assignment of cloud {} with ticket {:?}", a.cloud, a.ticket),
        });
    }
    // Tenant passwords are `{infra_location}@{ticket}`: another cloud's assignment with this
    // ticket, not over yet, would share its BMC and Foreman password with this one.
    if let Some(other) = live_assignment_with_ticket(conn, &a.ticket, &a.cloud, now)? {
        return Err(StoreError::Invalid(format!(
            "ticket {:?} is already assignment {} of cloud {}, which is not over: tenant \
             passwords are <infra_location>@<ticket>, so the two tenants would share one \
             password (use another ticket, or terminate that assignment first)",
            a.ticket, other.id, other.spec.cloud
        )));
    }
    conn.execute(
        "INSERT INTO assignments (cloud, ticket, owner, description, wipe, os, partition_table, \
         medium, boot_type, created_at, qinq, public_vlan) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            a.cloud.as_str(),
            a.ticket,
            a.owner,
            a.description,
            a.wipe.as_str(),
            a.os,
            a.partition_table,
            a.medium,
            a.boot_type.as_str(),
            now.to_string(),
            a.qinq.as_u8(),
            a.public_vlan.map(VlanId::get),
        ],
    )?;
    Ok(Assignment {
        id: AssignmentId(conn.last_insert_rowid()),
        spec: a.clone(),
    })
}

/// An assignment of another cloud than `cloud` with `ticket` that is not over at `now`: one of
/// its schedules ends later, or it has none yet.
fn live_assignment_with_ticket(
    conn: &Connection,
    ticket: &str,
    cloud: &CloudName,
    now: Timestamp,
) -> Result<Option<Assignment>, StoreError> {
    let schedules = schedules(conn, None)?;
    Ok(assignments(conn)?.into_iter().find(|x| {
        x.spec.ticket == ticket && x.spec.cloud != *cloud && {
            let mine: Vec<_> = schedules.iter().filter(|s| s.assignment == x.id).collect();
            mine.is_empty() || mine.iter().any(|s| s.range.end() > now)
        }
    }))
}

// ---- interfaces ----

type InterfaceRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<i64>,
    Option<String>,
    bool,
    bool,
);

macro_rules! interface_columns {
    () => {
        "host, name, bios_id, mac_address, switch_ip, switch_port, speed, vendor, pxe_boot, \
         maintenance"
    };
}

fn interface_row(r: &Row<'_>) -> rusqlite::Result<InterfaceRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
    ))
}

fn interface_from(
    (
        host,
        name,
        bios_id,
        mac_address,
        switch_ip,
        switch_port,
        speed,
        vendor,
        pxe_boot,
        maintenance,
    ): InterfaceRow,
) -> Result<Interface, StoreError> {
    Ok(Interface {
        host: parse(&host, "interfaces.host")?,
        name: parse(&name, "interfaces.name")?,
        bios_id,
        mac_address: parse_opt(mac_address.as_deref(), "interfaces.mac_address")?,
        switch_ip,
        switch_port,
        speed: speed
            .map(u32::try_from)
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("column interfaces.speed: {e}")))?,
        vendor,
        pxe_boot,
        maintenance,
    })
}

/// Interfaces of one host or all, by host then name (QUADS's order).
pub(crate) fn interfaces(
    conn: &Connection,
    host: Option<&HostName>,
) -> Result<Vec<Interface>, StoreError> {
    match host {
        Some(h) => collect(
            conn,
            concat!(
                "SELECT ",
                interface_columns!(),
                " FROM interfaces WHERE host = ?1 ORDER BY name"
            ),
            [h.as_str()],
            interface_row,
            interface_from,
        ),
        None => collect(
            conn,
            concat!(
                "SELECT ",
                interface_columns!(),
                " FROM interfaces ORDER BY host, name"
            ),
            [],
            interface_row,
            interface_from,
        ),
    }
}

pub(crate) fn insert_interface(
    conn: &Connection,
    i: &Interface,
    now: Timestamp,
) -> Result<(), StoreError> {
    if host(conn, &i.host)?.is_none() {
        return Err(StoreError::NotFound {
            what: format!("host {} (of interface {})", i.host, i.name),
        });
    }
    let exists = conn
        .prepare_cached("SELECT 1 FROM interfaces WHERE host = ?1 AND name = ?2")?
        .exists([i.host.as_str(), i.name.as_str()])?;
    if exists {
        return Err(StoreError::AlreadyExists {
            what: format!("interface {} of host {}", i.name, i.host),
        });
    }
    let cabled: Option<(String, String)> = conn
        .prepare_cached(
            "SELECT host, name FROM interfaces WHERE switch_ip = ?1 AND switch_port = ?2",
        )?
        .query_row([i.switch_ip.as_str(), i.switch_port.as_str()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    if let Some((host, name)) = cabled {
        return Err(StoreError::Invalid(format!(
            "interface {} of host {}: switch {} port {} is already cabled to interface {name} of host {host}",
            i.name, i.host, i.switch_ip, i.switch_port
        )));
    }
    conn.prepare_cached(concat!(
        "INSERT INTO interfaces (",
        interface_columns!(),
        ", created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    ))?
    .execute(params![
        i.host.as_str(),
        i.name.as_str(),
        i.bios_id,
        i.mac_address.as_ref().map(crate::model::MacAddress::as_str),
        i.switch_ip,
        i.switch_port,
        i.speed,
        i.vendor,
        i.pxe_boot,
        i.maintenance,
        now.to_string()
    ])?;
    Ok(())
}

// ---- schedules ----

type ScheduleRow = (
    i64,
    String,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
);

const SCHEDULE_COLUMNS: &str = "id, host, assignment, starts_at, ends_at, build_start, build_end";

fn schedule_row(r: &Row<'_>) -> rusqlite::Result<ScheduleRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn schedule_from(
    (id, host, assignment, starts_at, ends_at, build_start, build_end): ScheduleRow,
) -> Result<Schedule, StoreError> {
    let range = TimeRange::new(
        parse(&starts_at, "schedules.starts_at")?,
        parse(&ends_at, "schedules.ends_at")?,
    )
    .map_err(|e| StoreError::Corrupt(format!("schedule {id}: {e}")))?;
    Ok(Schedule {
        id: ScheduleId(id),
        host: parse(&host, "schedules.host")?,
        assignment: AssignmentId(assignment),
        range,
        build_start: parse_opt(build_start.as_deref(), "schedules.build_start")?,
        build_end: parse_opt(build_end.as_deref(), "schedules.build_end")?,
    })
}

pub(crate) fn schedules(
    conn: &Connection,
    host: Option<&HostName>,
) -> Result<Vec<Schedule>, StoreError> {
    // Text timestamps of mixed precision do not sort as text: order in Rust.
    let mut out = match host {
        Some(h) => collect(
            conn,
            &format!("SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE host = ?1"),
            [h.as_str()],
            schedule_row,
            schedule_from,
        )?,
        None => collect(
            conn,
            &format!("SELECT {SCHEDULE_COLUMNS} FROM schedules"),
            [],
            schedule_row,
            schedule_from,
        )?,
    };
    out.sort_by(|a, b| (&a.host, a.range, a.id).cmp(&(&b.host, b.range, b.id)));
    Ok(out)
}

pub(crate) fn insert_schedule(
    conn: &Connection,
    s: &NewSchedule,
    now: Timestamp,
) -> Result<Schedule, StoreError> {
    if host(conn, &s.host)?.is_none() {
        return Err(StoreError::NotFound {
            what: format!("host {}", s.host),
        });
    }
    if assignment(conn, s.assignment)?.is_none() {
        return Err(StoreError::NotFound {
            what: format!("assignment {}", s.assignment),
        });
    }
    if let Some(existing) = schedules(conn, Some(&s.host))?
        .into_iter()
        .find(|x| x.range.overlaps(&s.range))
    {
        return Err(StoreError::Overlap {
            host: s.host.clone(),
            requested: s.range,
            existing: existing.id,
            existing_range: existing.range,
        });
    }
    conn.execute(
        "INSERT INTO schedules (host, assignment, starts_at, ends_at, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            s.host.as_str(),
            s.assignment.0,
            s.range.start().to_string(),
            s.range.end().to_string(),
            now.to_string()
        ],
    )?;
    Ok(Schedule {
        id: ScheduleId(conn.last_insert_rowid()),
        host: s.host.clone(),
        assignment: s.assignment,
        range: s.range,
        build_start: None,
        build_end: None,
    })
}

pub(crate) fn delete_schedule(conn: &Connection, id: ScheduleId) -> Result<Schedule, StoreError> {
    let row = conn
        .query_row(
            &format!("SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE id = ?1"),
            [id.0],
            schedule_row,
        )
        .optional()?;
    let Some(row) = row else {
        return Err(StoreError::NotFound {
            what: format!("schedule {id}"),
        });
    };
    let schedule = schedule_from(row)?;
    conn.execute("DELETE FROM schedules WHERE id = ?1", [id.0])?;
    Ok(schedule)
}

pub(crate) fn set_build_times(
    conn: &Connection,
    id: ScheduleId,
    start: Option<Timestamp>,
    end: Option<Timestamp>,
) -> Result<(), StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE schedules SET build_start = coalesce(?2, build_start), \
             build_end = coalesce(?3, build_end) WHERE id = ?1",
        )?
        .execute(params![
            id.0,
            start.map(|t| t.to_string()),
            end.map(|t| t.to_string())
        ])?;
    if n == 0 {
        return Err(StoreError::NotFound {
            what: format!("schedule {id}"),
        });
    }
    Ok(())
}
