//! The write endpoints (an admin's): `PATCH` of hosts, assignments and schedules, and `POST` of
//! clouds, assignments and schedules, with the check of a read-back against what was written.
//!
//! QUADS answers a host `PATCH` whose commit the database refused with 200 and the row as it
//! was, so an answer proves nothing: [`HostPatch::unapplied`] (and its siblings) compare a row
//! read afterwards with the change, and [`crate::QuadsClient`]'s `*_verified` methods do both.

use serde_json::{Map, Value, json};
use time::UtcOffset;

use crate::error::Error;
use crate::model::{Assignment, Cloud, Host, Schedule};
use crate::request::{ApiRequest, DecodeError, Endpoint, decode};
use crate::time::Timestamp;

fn put(body: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        body.insert(key.to_owned(), value);
    }
}

fn check<T: PartialEq + std::fmt::Debug + ?Sized>(
    what: &str,
    field: &'static str,
    wanted: Option<&T>,
    got: &T,
) -> Result<(), Error> {
    match wanted {
        Some(wanted) if wanted != got => Err(Error::NotApplied {
            what: what.to_owned(),
            field,
            wanted: format!("{wanted:?}"),
            got: format!("{got:?}"),
        }),
        _ => Ok(()),
    }
}

/// A change to a host (`PATCH hosts/<name>`); fields left `None` are not sent (QUADS ignores
/// `null`s, so a field cannot be cleared).
///
/// ```
/// use quads_api_client::{Timestamp, writes::HostPatch};
/// use time::UtcOffset;
///
/// let moved = HostPatch {
///     cloud: Some("cloud02".into()),
///     build: Some(true),
///     last_build: Some(Timestamp::from_unix(1_733_263_259)),
///     validated: Some(false),
///     ..HostPatch::default()
/// };
/// assert_eq!(
///     moved.body(UtcOffset::UTC).to_string(),
///     r#"{"build":true,"cloud":"cloud02","last_build":"2024-12-03T22:00","validated":false}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostPatch {
    /// The recorded cloud (by name).
    pub cloud: Option<String>,
    /// The default cloud (by name).
    pub default_cloud: Option<String>,
    /// A build under way.
    pub build: Option<bool>,
    /// Validation passed.
    pub validated: Option<bool>,
    /// The switch ports are in the cloud's VLANs.
    pub switch_config_applied: Option<bool>,
    /// Broken.
    pub broken: Option<bool>,
    /// Retired.
    pub retired: Option<bool>,
    /// When it was last moved (written to the minute).
    pub last_build: Option<Timestamp>,
}

impl HostPatch {
    /// The JSON body.
    #[must_use]
    pub fn body(&self, server: UtcOffset) -> Value {
        let mut body = Map::new();
        put(&mut body, "cloud", self.cloud.clone().map(Value::from));
        put(
            &mut body,
            "default_cloud",
            self.default_cloud.clone().map(Value::from),
        );
        put(&mut body, "build", self.build.map(Value::from));
        put(&mut body, "validated", self.validated.map(Value::from));
        put(
            &mut body,
            "switch_config_applied",
            self.switch_config_applied.map(Value::from),
        );
        put(&mut body, "broken", self.broken.map(Value::from));
        put(&mut body, "retired", self.retired.map(Value::from));
        put(
            &mut body,
            "last_build",
            self.last_build.map(|t| Value::from(t.to_minute(server))),
        );
        Value::Object(body)
    }

    /// Whether nothing would be sent.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The first field of this change that `host` (read after writing it) does not show.
    ///
    /// # Errors
    /// [`Error::NotApplied`] naming the host, the field, the value written and the value read.
    pub fn unapplied(&self, host: &Host) -> Result<(), Error> {
        let what = format!("host {}", host.name);
        check(
            &what,
            "cloud",
            self.cloud.as_deref(),
            host.cloud_name().unwrap_or_default(),
        )?;
        check(
            &what,
            "default_cloud",
            self.default_cloud.as_deref(),
            host.default_cloud_name().unwrap_or_default(),
        )?;
        check(&what, "build", self.build.as_ref(), &host.build)?;
        check(&what, "validated", self.validated.as_ref(), &host.validated)?;
        check(
            &what,
            "switch_config_applied",
            self.switch_config_applied.as_ref(),
            &host.switch_config_applied,
        )?;
        check(&what, "broken", self.broken.as_ref(), &host.broken)?;
        check(&what, "retired", self.retired.as_ref(), &host.retired)?;
        check(
            &what,
            "last_build",
            self.last_build.map(Timestamp::floor_minute).as_ref(),
            &host
                .last_build
                .map(Timestamp::floor_minute)
                .unwrap_or(Timestamp::from_unix(0)),
        )
    }
}

/// A change to an assignment (`PATCH assignments/<id>`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AssignmentPatch {
    /// The cloud's current assignment.
    pub active: Option<bool>,
    /// Every host moved.
    pub provisioned: Option<bool>,
    /// Validation passed.
    pub validated: Option<bool>,
    /// Hosts moved in are re-installed.
    pub wipe: Option<bool>,
    /// The tenant.
    pub owner: Option<String>,
    /// The ticket.
    pub ticket: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// QinQ mode (`0` or `1`).
    pub qinq: Option<i64>,
}

impl AssignmentPatch {
    /// The JSON body.
    #[must_use]
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        put(&mut body, "active", self.active.map(Value::from));
        put(&mut body, "provisioned", self.provisioned.map(Value::from));
        put(&mut body, "validated", self.validated.map(Value::from));
        put(&mut body, "wipe", self.wipe.map(Value::from));
        put(&mut body, "owner", self.owner.clone().map(Value::from));
        put(&mut body, "ticket", self.ticket.clone().map(Value::from));
        put(
            &mut body,
            "description",
            self.description.clone().map(Value::from),
        );
        put(&mut body, "qinq", self.qinq.map(Value::from));
        Value::Object(body)
    }

    /// The first field of this change that `assignment` (read after writing) does not show.
    ///
    /// # Errors
    /// [`Error::NotApplied`].
    pub fn unapplied(&self, assignment: &Assignment) -> Result<(), Error> {
        let what = format!("assignment {}", assignment.id);
        check(&what, "active", self.active.as_ref(), &assignment.active)?;
        check(
            &what,
            "provisioned",
            self.provisioned.as_ref(),
            &assignment.provisioned,
        )?;
        check(
            &what,
            "validated",
            self.validated.as_ref(),
            &assignment.validated,
        )?;
        check(&what, "wipe", self.wipe.as_ref(), &assignment.wipe)?;
        check(
            &what,
            "owner",
            self.owner.as_ref(),
            &assignment.owner.clone().unwrap_or_default(),
        )?;
        check(
            &what,
            "ticket",
            self.ticket.as_ref(),
            &assignment.ticket.clone().unwrap_or_default(),
        )?;
        check(
            &what,
            "description",
            self.description.as_ref(),
            &assignment.description.clone().unwrap_or_default(),
        )?;
        check(
            &what,
            "qinq",
            self.qinq.as_ref(),
            &assignment.qinq.unwrap_or_default(),
        )
    }
}

/// A change to a schedule (`PATCH schedules/<id>`): its dates, to the minute. QUADS wants at
/// least one and checks `start <= build_start`, `build_start <= build_end <= end`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SchedulePatch {
    /// Start.
    pub start: Option<Timestamp>,
    /// End.
    pub end: Option<Timestamp>,
    /// When the move began.
    pub build_start: Option<Timestamp>,
    /// When it ended.
    pub build_end: Option<Timestamp>,
}

impl SchedulePatch {
    /// The JSON body.
    #[must_use]
    pub fn body(&self, server: UtcOffset) -> Value {
        let mut body = Map::new();
        let minute = |t: Option<Timestamp>| t.map(|t| Value::from(t.to_minute(server)));
        put(&mut body, "start", minute(self.start));
        put(&mut body, "end", minute(self.end));
        put(&mut body, "build_start", minute(self.build_start));
        put(&mut body, "build_end", minute(self.build_end));
        Value::Object(body)
    }

    /// The first date of this change that `schedule` (read after writing) does not show.
    ///
    /// # Errors
    /// [`Error::NotApplied`].
    pub fn unapplied(&self, schedule: &Schedule) -> Result<(), Error> {
        let what = format!("schedule {}", schedule.id);
        let floor = |t: Option<Timestamp>| t.map(Timestamp::floor_minute);
        let read = |t: Option<Timestamp>| floor(t).unwrap_or(Timestamp::from_unix(0));
        check(
            &what,
            "start",
            floor(self.start).as_ref(),
            &read(schedule.start),
        )?;
        check(&what, "end", floor(self.end).as_ref(), &read(schedule.end))?;
        check(
            &what,
            "build_start",
            floor(self.build_start).as_ref(),
            &read(schedule.build_start),
        )?;
        check(
            &what,
            "build_end",
            floor(self.build_end).as_ref(),
            &read(schedule.build_end),
        )
    }
}

/// `PATCH hosts/<name>`: the answer is the row as the server holds it (the OLD row when the
/// database refused the change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchHost {
    /// The host's name.
    pub name: String,
    /// The change.
    pub patch: HostPatch,
}

impl Endpoint for PatchHost {
    type Output = Host;

    fn request(&self, server: UtcOffset) -> ApiRequest {
        ApiRequest::new(http::Method::PATCH, &["hosts", &self.name]).json(self.patch.body(server))
    }

    fn parse(&self, body: &[u8], server: UtcOffset) -> Result<Self::Output, DecodeError> {
        decode(body, server)
    }
}

/// `PATCH assignments/<id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchAssignment {
    /// The assignment's id.
    pub id: u64,
    /// The change.
    pub patch: AssignmentPatch,
}

impl Endpoint for PatchAssignment {
    type Output = Assignment;

    fn request(&self, _server: UtcOffset) -> ApiRequest {
        ApiRequest::new(http::Method::PATCH, &["assignments", &self.id.to_string()])
            .json(self.patch.body())
    }

    fn parse(&self, body: &[u8], server: UtcOffset) -> Result<Self::Output, DecodeError> {
        decode(body, server)
    }
}

/// `PATCH schedules/<id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchSchedule {
    /// The schedule's id.
    pub id: u64,
    /// The change.
    pub patch: SchedulePatch,
}

impl Endpoint for PatchSchedule {
    type Output = Schedule;

    fn request(&self, server: UtcOffset) -> ApiRequest {
        ApiRequest::new(http::Method::PATCH, &["schedules", &self.id.to_string()])
            .json(self.patch.body(server))
    }

    fn parse(&self, body: &[u8], server: UtcOffset) -> Result<Self::Output, DecodeError> {
        decode(body, server)
    }
}

/// `POST clouds/` `{"cloud": name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateCloud {
    /// The new cloud's name.
    pub name: String,
}

impl Endpoint for CreateCloud {
    type Output = Cloud;

    fn request(&self, _server: UtcOffset) -> ApiRequest {
        ApiRequest::new(http::Method::POST, &["clouds", ""]).json(json!({"cloud": self.name}))
    }

    fn parse(&self, body: &[u8], server: UtcOffset) -> Result<Self::Output, DecodeError> {
        decode(body, server)
    }
}

/// `POST assignments/`: a cloud's new active assignment (QUADS refuses a second active one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateAssignment {
    /// The cloud.
    pub cloud: String,
    /// Free text (required by QUADS).
    pub description: String,
    /// The tenant (required).
    pub owner: String,
    /// The ticket (required).
    pub ticket: String,
    /// QinQ mode.
    pub qinq: Option<i64>,
    /// Re-install hosts moved in.
    pub wipe: bool,
    /// Users copied on notifications.
    pub ccuser: Vec<String>,
    /// The public VLAN's number, if any.
    pub vlan: Option<u32>,
}

impl Endpoint for CreateAssignment {
    type Output = Assignment;

    fn request(&self, _server: UtcOffset) -> ApiRequest {
        let mut body = Map::new();
        body.insert("cloud".into(), self.cloud.clone().into());
        body.insert("description".into(), self.description.clone().into());
        body.insert("owner".into(), self.owner.clone().into());
        body.insert("ticket".into(), self.ticket.clone().into());
        body.insert("wipe".into(), self.wipe.into());
        put(&mut body, "qinq", self.qinq.map(Value::from));
        if !self.ccuser.is_empty() {
            body.insert("ccuser".into(), self.ccuser.join(",").into());
        }
        put(&mut body, "vlan", self.vlan.map(Value::from));
        ApiRequest::new(http::Method::POST, &["assignments", ""]).json(Value::Object(body))
    }

    fn parse(&self, body: &[u8], server: UtcOffset) -> Result<Self::Output, DecodeError> {
        decode(body, server)
    }
}

/// `POST schedules/`: a host into a cloud's active assignment from `start` to `end` (dates as
/// `YYYY-MM-DD HH:MM`, unlike every other write).
///
/// ```
/// use quads_api_client::{Endpoint, Timestamp, writes::CreateSchedule};
/// use time::UtcOffset;
///
/// let e = CreateSchedule {
///     host: "h1".into(),
///     cloud: "cloud02".into(),
///     start: Timestamp::from_unix(1_733_263_200),
///     end: Timestamp::from_unix(1_733_868_000),
/// };
/// let body = e.request(UtcOffset::UTC).body.unwrap();
/// assert_eq!(body["start"], "2024-12-03 22:00");
/// assert_eq!(body["hostname"], "h1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateSchedule {
    /// The host.
    pub host: String,
    /// The cloud (its active assignment is used).
    pub cloud: String,
    /// Start.
    pub start: Timestamp,
    /// End.
    pub end: Timestamp,
}

impl Endpoint for CreateSchedule {
    type Output = Schedule;

    fn request(&self, server: UtcOffset) -> ApiRequest {
        ApiRequest::new(http::Method::POST, &["schedules", ""]).json(json!({
            "hostname": self.host,
            "cloud": self.cloud,
            "start": self.start.to_schedule_post(server),
            "end": self.end.to_schedule_post(server),
        }))
    }

    fn parse(&self, body: &[u8], server: UtcOffset) -> Result<Self::Output, DecodeError> {
        decode(body, server)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn host(build: bool, cloud: &str) -> Host {
        serde_json::from_value(json!({
            "id": 1, "name": "h1", "build": build,
            "cloud": {"id": 2, "name": cloud}, "default_cloud": {"id": 1, "name": "cloud01"},
            "last_build": "Tue, 03 Dec 2024 22:00:00 GMT"
        }))
        .unwrap()
    }

    #[test]
    fn a_read_back_showing_the_old_row_is_not_applied() {
        let patch = HostPatch {
            cloud: Some("cloud02".into()),
            build: Some(true),
            last_build: Some(Timestamp::from_unix(1_733_263_230)),
            ..HostPatch::default()
        };
        patch.unapplied(&host(true, "cloud02")).unwrap();
        let err = patch.unapplied(&host(true, "cloud01")).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"host h1: cloud was written as "cloud02" but reads "cloud01"; the server did not keep the change"#
        );
        let err = patch.unapplied(&host(false, "cloud02")).unwrap_err();
        assert!(matches!(err, Error::NotApplied { field: "build", .. }));
    }

    #[test]
    fn patch_bodies_carry_only_what_changes_and_minutes() {
        let p = PatchSchedule {
            id: 9,
            patch: SchedulePatch {
                build_start: Some(Timestamp::from_unix(1_733_263_200)),
                build_end: Some(Timestamp::from_unix(1_733_266_859)),
                ..SchedulePatch::default()
            },
        };
        let r = p.request(UtcOffset::from_hms(1, 0, 0).unwrap());
        assert_eq!(r.path, "/api/v3/schedules/9");
        assert_eq!(
            r.body.unwrap().to_string(),
            r#"{"build_end":"2024-12-04T00:00","build_start":"2024-12-03T23:00"}"#
        );
        let a = PatchAssignment {
            id: 4,
            patch: AssignmentPatch {
                provisioned: Some(true),
                validated: Some(false),
                ..AssignmentPatch::default()
            },
        };
        let r = a.request(UtcOffset::UTC);
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("PATCH", "/api/v3/assignments/4")
        );
        assert_eq!(
            r.body.unwrap().to_string(),
            r#"{"provisioned":true,"validated":false}"#
        );
        assert!(HostPatch::default().is_empty());
    }
}
