//! The inventory's day-2 changes (QUADS's `--extend`, `--shrink`, `--mark-broken`, `--retire`,
//! `--rm-host`, `--rm-cloud`, `--terminate`): schedules moved in time, hosts taken out of and put
//! back into service or removed, clouds removed, assignments terminated. Each is one
//! transaction that checks the invariants first: a refusal changes nothing.

use rusqlite::{Connection, params};

use super::{Store, StoreError, immediate, sql};
use crate::model::{AssignmentId, CloudName, Host, HostName, HostState, Schedule, ScheduleId};
use crate::time::Timestamp;

/// What terminating an assignment did to its schedules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Termination {
    /// Schedules running at the time, now ending then.
    pub ended: Vec<Schedule>,
    /// Schedules not started yet, removed.
    pub removed: Vec<Schedule>,
}

fn schedule(conn: &Connection, id: ScheduleId) -> Result<Schedule, StoreError> {
    sql::schedules(conn, None)?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| StoreError::NotFound {
            what: format!("schedule {id}"),
        })
}

/// Gives schedule `id` the range `range` unless another schedule of its host overlaps it.
fn set_range(
    conn: &Connection,
    id: ScheduleId,
    range: crate::model::TimeRange,
) -> Result<Schedule, StoreError> {
    let before = schedule(conn, id)?;
    if let Some(other) = sql::schedules(conn, Some(&before.host))?
        .into_iter()
        .find(|s| s.id != id && s.range.overlaps(&range))
    {
        return Err(StoreError::Overlap {
            host: before.host,
            requested: range,
            existing: other.id,
            existing_range: other.range,
        });
    }
    conn.execute(
        "UPDATE schedules SET starts_at = ?2, ends_at = ?3 WHERE id = ?1",
        params![id.0, range.start().to_string(), range.end().to_string()],
    )?;
    Ok(Schedule { range, ..before })
}

fn set_state(conn: &Connection, name: &HostName, state: HostState) -> Result<Host, StoreError> {
    let host = sql::host(conn, name)?.ok_or_else(|| StoreError::NotFound {
        what: format!("host {name}"),
    })?;
    conn.execute(
        "UPDATE hosts SET state = ?2 WHERE name = ?1",
        params![name.as_str(), state.as_str()],
    )?;
    Ok(Host { state, ..host })
}

impl Store {
    /// Gives each schedule its new range, all or none: a range that overlaps another schedule
    /// of its host (other than those changed with it, as they will be) refuses the whole change.
    /// Returns the schedules as they were.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Overlap`] or SQLite's.
    pub async fn modify_schedules(
        &self,
        changes: Vec<(ScheduleId, crate::model::TimeRange)>,
    ) -> Result<Vec<Schedule>, StoreError> {
        self.writer()
            .call(move |c| {
                immediate(c, |tx| {
                    let before = changes
                        .iter()
                        .map(|(id, _)| schedule(tx, *id))
                        .collect::<Result<Vec<_>, _>>()?;
                    for (id, range) in &changes {
                        set_range(tx, *id, *range)?;
                    }
                    Ok(before)
                })
            })
            .await
    }

    /// Sets a host's state, `from` the state it must be in (`None`: any).
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Invalid`] (not in state `from`) or SQLite's.
    pub async fn set_host_state(
        &self,
        name: HostName,
        from: Option<HostState>,
        to: HostState,
    ) -> Result<Host, StoreError> {
        self.writer()
            .call(move |c| {
                immediate(c, |tx| {
                    let host = sql::host(tx, &name)?.ok_or_else(|| StoreError::NotFound {
                        what: format!("host {name}"),
                    })?;
                    if let Some(from) = from
                        && host.state != from
                    {
                        return Err(StoreError::Invalid(format!(
                            "host {name} is {}, not {}",
                            host.state, from
                        )));
                    }
                    set_state(tx, &name, to)
                })
            })
            .await
    }

    /// Removes a host and its interfaces; refused while any schedule (past or future) holds it
    /// (remove those first: they are the host's history) or while it is away from its default
    /// cloud.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Invalid`] or SQLite's.
    pub async fn remove_host(&self, name: HostName) -> Result<Host, StoreError> {
        self.writer()
            .call(move |c| {
                immediate(c, |tx| {
                    let host = sql::host(tx, &name)?.ok_or_else(|| StoreError::NotFound {
                        what: format!("host {name}"),
                    })?;
                    let held = sql::schedules(tx, Some(&name))?;
                    if let Some(s) = held.first() {
                        return Err(StoreError::Invalid(format!(
                            "host {name} has {} schedule(s) (first: {} {}): remove them first",
                            held.len(),
                            s.id,
                            s.range
                        )));
                    }
                    if host.current_cloud != host.default_cloud {
                        return Err(StoreError::Invalid(format!(
                            "host {name} is in {}, not its default cloud {}: move it back first",
                            host.current_cloud, host.default_cloud
                        )));
                    }
                    tx.execute("DELETE FROM interfaces WHERE host = ?1", [name.as_str()])?;
                    tx.execute("DELETE FROM hosts WHERE name = ?1", [name.as_str()])?;
                    Ok(host)
                })
            })
            .await
    }

    /// Removes a cloud; refused while a host is in it or belongs in it, or an assignment is
    /// (or was) of it.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Invalid`] or SQLite's.
    pub async fn remove_cloud(&self, name: CloudName) -> Result<(), StoreError> {
        self.writer()
            .call(move |c| {
                immediate(c, |tx| {
                    let exists: bool = tx.query_row(
                        "SELECT EXISTS (SELECT 1 FROM clouds WHERE name = ?1)",
                        [name.as_str()],
                        |r| r.get(0),
                    )?;
                    if !exists {
                        return Err(StoreError::NotFound {
                            what: format!("cloud {name}"),
                        });
                    }
                    let hosts: i64 = tx.query_row(
                        "SELECT count(*) FROM hosts WHERE current_cloud = ?1 OR default_cloud = ?1",
                        [name.as_str()],
                        |r| r.get(0),
                    )?;
                    let assignments: i64 = tx.query_row(
                        "SELECT count(*) FROM assignments WHERE cloud = ?1",
                        [name.as_str()],
                        |r| r.get(0),
                    )?;
                    if hosts > 0 || assignments > 0 {
                        return Err(StoreError::Invalid(format!(
                            "cloud {name} holds {hosts} host(s) and {assignments} assignment(s): \
                             it can be removed once it holds none"
                        )));
                    }
                    tx.execute("DELETE FROM clouds WHERE name = ?1", [name.as_str()])?;
                    Ok(())
                })
            })
            .await
    }

    /// Ends assignment `id` at `at`: its schedules running then end then, those not started are
    /// removed, those over already are left as history. Refused when nothing of it runs or is
    /// to come at `at` (it is over already).
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Invalid`] or SQLite's.
    pub async fn terminate_assignment(
        &self,
        id: AssignmentId,
        at: Timestamp,
    ) -> Result<Termination, StoreError> {
        self.writer()
            .call(move |c| {
                immediate(c, |tx| {
                    let a = sql::assignment(tx, id)?.ok_or_else(|| StoreError::NotFound {
                        what: format!("assignment {id}"),
                    })?;
                    let mut done = Termination::default();
                    for s in sql::schedules(tx, None)?
                        .into_iter()
                        .filter(|s| s.assignment == id)
                    {
                        if s.range.start() >= at {
                            tx.execute("DELETE FROM schedules WHERE id = ?1", [s.id.0])?;
                            done.removed.push(s);
                        } else if s.range.end() > at {
                            let range = crate::model::TimeRange::new(s.range.start(), at)
                                .map_err(|e| StoreError::Invalid(e.to_string()))?;
                            done.ended.push(set_range(tx, s.id, range)?);
                        }
                    }
                    if done.ended.is_empty() && done.removed.is_empty() {
                        return Err(StoreError::Invalid(format!(
                            "assignment {id} ({} ticket {}) holds no schedule at or after {at}: \
                             it is over already",
                            a.spec.cloud, a.spec.ticket
                        )));
                    }
                    Ok(done)
                })
            })
            .await
    }
}
