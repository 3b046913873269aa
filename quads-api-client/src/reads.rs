//! The read endpoints (all open, no authentication): moves, clouds, assignments, hosts and their
//! interfaces, schedules. Each is a pure request builder and parser ([`Endpoint`]).

use serde_json::Value;
use time::UtcOffset;

use crate::model::{Assignment, Cloud, Host, Interface, Move, Schedule};
use crate::request::{ApiRequest, DecodeError, Endpoint, decode, decode_list};
use crate::time::Timestamp;

/// `GET moves/[?date=YYYY-MM-DDTHH:MM]`: every host whose scheduled (or default) cloud is not
/// its recorded one, at `date` (the server's now when `None`).
///
/// ```
/// use quads_api_client::{Endpoint, Timestamp, reads::Moves};
/// use time::UtcOffset;
///
/// let moves = Moves { date: Some(Timestamp::from_unix(1_733_263_200)) };
/// assert_eq!(moves.request(UtcOffset::UTC).path_and_query(), "/api/v3/moves/?date=2024-12-03T22%3A00");
/// let out = moves.parse(br#"[{"host":"h1","current":"cloud01","new":"cloud02"}]"#, UtcOffset::UTC).unwrap();
/// assert_eq!(out[0].new, "cloud02");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moves {
    /// The instant to compute the moves for.
    pub date: Option<Timestamp>,
}

impl Endpoint for Moves {
    type Output = Vec<Move>;

    fn request(&self, server: UtcOffset) -> ApiRequest {
        let request = ApiRequest::get(&["moves", ""]);
        match self.date {
            Some(date) => request.query("date", date.to_minute(server)),
            None => request,
        }
    }

    fn parse(&self, body: &[u8], server: UtcOffset) -> Result<Self::Output, DecodeError> {
        decode(body, server)
    }
}

/// `GET clouds/[?name=N]`: every cloud, or the one named (QUADS answers an empty list as `{}`,
/// and a name that matches nothing with a 400).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Clouds {
    /// Only the cloud of this name.
    pub name: Option<String>,
}

impl Endpoint for Clouds {
    type Output = Vec<Cloud>;

    fn request(&self, _server: UtcOffset) -> ApiRequest {
        let request = ApiRequest::get(&["clouds", ""]);
        match &self.name {
            Some(name) => request.query("name", name.clone()),
            None => request,
        }
    }

    fn parse(&self, body: &[u8], server: UtcOffset) -> Result<Self::Output, DecodeError> {
        let clouds: Vec<Cloud> = decode_list(body, server)?;
        Ok(match &self.name {
            Some(name) => clouds.into_iter().filter(|c| &c.name == name).collect(),
            None => clouds,
        })
    }
}

/// `GET assignments/active/<cloud>/`: the cloud's active assignment; `{}` (none) is `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveAssignment {
    /// The cloud's name.
    pub cloud: String,
}

impl Endpoint for ActiveAssignment {
    type Output = Option<Assignment>;

    fn request(&self, _server: UtcOffset) -> ApiRequest {
        ApiRequest::get(&["assignments", "active", &self.cloud, ""])
    }

    fn parse(&self, body: &[u8], server: UtcOffset) -> Result<Self::Output, DecodeError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| DecodeError {
            path: ".".to_owned(),
            reason: e.to_string(),
        })?;
        if value.as_object().is_some_and(serde_json::Map::is_empty) {
            return Ok(None);
        }
        decode(body, server).map(Some)
    }
}

/// Which assignments `GET assignments/` lists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AssignmentFilter {
    /// Every assignment, past ones included.
    #[default]
    All,
    /// The active ones (`GET assignments/active/`).
    Active,
    /// Those of one cloud (`?cloud=N`; an unknown cloud is not found).
    Cloud(String),
}

/// `GET assignments/`, `assignments/active/` or `assignments/?cloud=N`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Assignments {
    /// Which ones.
    pub filter: AssignmentFilter,
}

impl Endpoint for Assignments {
    type Output = Vec<Assignment>;

    fn request(&self, _server: UtcOffset) -> ApiRequest {
        match &self.filter {
            AssignmentFilter::All => ApiRequest::get(&["assignments", ""]),
            AssignmentFilter::Active => ApiRequest::get(&["assignments", "active", ""]),
            AssignmentFilter::Cloud(cloud) => {
                ApiRequest::get(&["assignments", ""]).query("cloud", cloud.clone())
            }
        }
    }

    fn parse(&self, body: &[u8], server: UtcOffset) -> Result<Self::Output, DecodeError> {
        decode_list(body, server)
    }
}

/// `GET assignments/<id>/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShowAssignment {
    /// The assignment's id.
    pub id: u64,
}

impl Endpoint for ShowAssignment {
    type Output = Assignment;

    fn request(&self, _server: UtcOffset) -> ApiRequest {
        ApiRequest::get(&["assignments", &self.id.to_string(), ""])
    }

    fn parse(&self, body: &[u8], server: UtcOffset) -> Result<Self::Output, DecodeError> {
        decode(body, server)
    }
}

/// `GET hosts/<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowHost {
    /// The host's name.
    pub name: String,
}

impl Endpoint for ShowHost {
    type Output = Host;

    fn request(&self, _server: UtcOffset) -> ApiRequest {
        ApiRequest::get(&["hosts", &self.name])
    }

    fn parse(&self, body: &[u8], server: UtcOffset) -> Result<Self::Output, DecodeError> {
        decode(body, server)
    }
}

/// `GET hosts/[?cloud=N]`: every host, or a cloud's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hosts {
    /// Only the hosts recorded in this cloud.
    pub cloud: Option<String>,
}

impl Endpoint for Hosts {
    type Output = Vec<Host>;

    fn request(&self, _server: UtcOffset) -> ApiRequest {
        let request = ApiRequest::get(&["hosts", ""]);
        match &self.cloud {
            Some(cloud) => request.query("cloud", cloud.clone()),
            None => request,
        }
    }

    fn parse(&self, body: &[u8], server: UtcOffset) -> Result<Self::Output, DecodeError> {
        decode_list(body, server)
    }
}

/// `GET hosts/<name>/interfaces`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostInterfaces {
    /// The host's name.
    pub host: String,
}

impl Endpoint for HostInterfaces {
    type Output = Vec<Interface>;

    fn request(&self, _server: UtcOffset) -> ApiRequest {
        ApiRequest::get(&["hosts", &self.host, "interfaces"])
    }

    fn parse(&self, body: &[u8], server: UtcOffset) -> Result<Self::Output, DecodeError> {
        decode_list(body, server)
    }
}

/// `GET schedules/current?host=&cloud=&date=`: the schedules holding a host at `date` (the
/// server's now when `None`; `start <= date <= end`).
///
/// QUADS ignores a host or cloud it does not know and answers every current schedule, so the
/// answer is filtered here by the names asked for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CurrentSchedules {
    /// Only this host's.
    pub host: Option<String>,
    /// Only this cloud's.
    pub cloud: Option<String>,
    /// The instant.
    pub date: Option<Timestamp>,
}

impl Endpoint for CurrentSchedules {
    type Output = Vec<Schedule>;

    fn request(&self, server: UtcOffset) -> ApiRequest {
        let mut request = with_names(
            ApiRequest::get(&["schedules", "current"]),
            self.host.as_deref(),
            self.cloud.as_deref(),
        );
        if let Some(date) = self.date {
            request = request.query("date", date.to_minute(server));
        }
        request
    }

    fn parse(&self, body: &[u8], server: UtcOffset) -> Result<Self::Output, DecodeError> {
        named_schedules(body, server, self.host.as_deref(), self.cloud.as_deref())
    }
}

/// `GET schedules/future/?host=&cloud=`: the schedules not ended yet at the server's now
/// (`end >= now`: the current ones and those to come), of a host and/or a cloud.
///
/// QUADS takes no date here. The answer is filtered here by the names asked for, as
/// [`CurrentSchedules`]'s is.
///
/// ```
/// use quads_api_client::{Endpoint, reads::FutureSchedules};
/// use time::UtcOffset;
///
/// let e = FutureSchedules { host: None, cloud: Some("cloud02".into()) };
/// assert_eq!(e.request(UtcOffset::UTC).path_and_query(), "/api/v3/schedules/future/?cloud=cloud02");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FutureSchedules {
    /// Only this host's.
    pub host: Option<String>,
    /// Only this cloud's.
    pub cloud: Option<String>,
}

impl Endpoint for FutureSchedules {
    type Output = Vec<Schedule>;

    fn request(&self, _server: UtcOffset) -> ApiRequest {
        with_names(
            ApiRequest::get(&["schedules", "future", ""]),
            self.host.as_deref(),
            self.cloud.as_deref(),
        )
    }

    fn parse(&self, body: &[u8], server: UtcOffset) -> Result<Self::Output, DecodeError> {
        named_schedules(body, server, self.host.as_deref(), self.cloud.as_deref())
    }
}

/// `request` asking for `host`'s and `cloud`'s schedules (each when given).
fn with_names(mut request: ApiRequest, host: Option<&str>, cloud: Option<&str>) -> ApiRequest {
    if let Some(host) = host {
        request = request.query("host", host.to_owned());
    }
    if let Some(cloud) = cloud {
        request = request.query("cloud", cloud.to_owned());
    }
    request
}

/// The schedules in `body` of `host` and `cloud` (each when given).
fn named_schedules(
    body: &[u8],
    server: UtcOffset,
    host: Option<&str>,
    cloud: Option<&str>,
) -> Result<Vec<Schedule>, DecodeError> {
    let schedules: Vec<Schedule> = decode_list(body, server)?;
    Ok(schedules
        .into_iter()
        .filter(|s| host.is_none_or(|h| s.host_name() == Some(h)))
        .filter(|s| cloud.is_none_or(|c| s.cloud_name() == Some(c)))
        .collect())
}

/// `GET schedules/[?host=N]`: every schedule (past, current and future), or a host's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schedules {
    /// Only this host's (an unknown host is not found).
    pub host: Option<String>,
}

impl Endpoint for Schedules {
    type Output = Vec<Schedule>;

    fn request(&self, _server: UtcOffset) -> ApiRequest {
        let request = ApiRequest::get(&["schedules", ""]);
        match &self.host {
            Some(host) => request.query("host", host.clone()),
            None => request,
        }
    }

    fn parse(&self, body: &[u8], server: UtcOffset) -> Result<Self::Output, DecodeError> {
        decode_list(body, server)
    }
}

/// `GET schedules/<id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShowSchedule {
    /// The schedule's id.
    pub id: u64,
}

impl Endpoint for ShowSchedule {
    type Output = Schedule;

    fn request(&self, _server: UtcOffset) -> ApiRequest {
        ApiRequest::get(&["schedules", &self.id.to_string()])
    }

    fn parse(&self, body: &[u8], server: UtcOffset) -> Result<Self::Output, DecodeError> {
        decode(body, server)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const HOST: &str = r#"{"id":3,"name":"h1.example.com","model":"R650","host_type":"baremetal",
        "build":false,"validated":true,"switch_config_applied":true,"broken":false,"retired":null,
        "last_build":"Tue, 03 Dec 2024 22:00:00 GMT","cloud_id":2,"default_cloud_id":1,
        "cloud":{"id":2,"name":"cloud02","last_redefined":"Mon, 02 Dec 2024 10:00:00 GMT"},
        "default_cloud":{"id":1,"name":"cloud01","last_redefined":null},
        "created_at":"Mon, 02 Dec 2024 09:00:00 GMT"}"#;

    #[test]
    fn a_host_reads_with_its_clouds_and_local_dates() {
        let east = UtcOffset::from_hms(2, 0, 0).unwrap();
        let host = ShowHost { name: "h1".into() }
            .parse(HOST.as_bytes(), east)
            .unwrap();
        assert_eq!(host.cloud_name(), Some("cloud02"));
        assert_eq!(host.default_cloud_name(), Some("cloud01"));
        assert!(!host.retired && host.validated && host.interfaces.is_empty());
        // 22:00 on a server two hours ahead is 20:00 UTC
        assert_eq!(
            host.last_build.unwrap().to_minute(UtcOffset::UTC),
            "2024-12-03T20:00"
        );
        assert_eq!(
            host.cloud
                .unwrap()
                .last_redefined
                .unwrap()
                .to_minute(UtcOffset::UTC),
            "2024-12-02T08:00"
        );
    }

    #[test]
    fn an_empty_active_assignment_is_none_and_a_vlan_is_read() {
        let e = ActiveAssignment {
            cloud: "cloud02".into(),
        };
        assert_eq!(
            e.request(UtcOffset::UTC).path,
            "/api/v3/assignments/active/cloud02/"
        );
        assert_eq!(e.parse(b"{}", UtcOffset::UTC).unwrap(), None);
        let a = e
            .parse(
                br#"{"id":7,"active":true,"provisioned":false,"validated":false,"description":"d",
                "owner":"alice","ticket":"1234","qinq":1,"wipe":true,"ccuser":["bob"],
                "cloud":{"id":2,"name":"cloud02","last_redefined":null},
                "vlan":{"id":1,"vlan_id":601,"gateway":"10.1.1.254","ip_free":500,
                "ip_range":"10.1.0.0/22","netmask":"255.255.252.0"},"vlan_id":1,
                "notification":{"id":1,"fail":false},"created_at":null}"#,
                UtcOffset::UTC,
            )
            .unwrap()
            .unwrap();
        assert_eq!((a.id, a.qinq, a.wipe), (7, Some(1), true));
        assert_eq!(a.vlan.as_ref().unwrap().vlan_id, 601);
        assert_eq!(a.cloud_name(), Some("cloud02"));
    }

    #[test]
    fn an_empty_cloud_list_may_be_an_object() {
        assert!(
            Clouds::default()
                .parse(b"{}", UtcOffset::UTC)
                .unwrap()
                .is_empty()
        );
        let named = Clouds {
            name: Some("cloud02".into()),
        };
        assert_eq!(
            named.request(UtcOffset::UTC).path_and_query(),
            "/api/v3/clouds/?name=cloud02"
        );
        let out = named
            .parse(
                br#"[{"id":1,"name":"cloud02","last_redefined":null}]"#,
                UtcOffset::UTC,
            )
            .unwrap();
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn current_schedules_keep_only_what_was_asked() {
        let e = CurrentSchedules {
            host: Some("h1".into()),
            cloud: None,
            date: Some(Timestamp::from_unix(1_733_263_200)),
        };
        assert_eq!(
            e.request(UtcOffset::UTC).path_and_query(),
            "/api/v3/schedules/current?host=h1&date=2024-12-03T22%3A00"
        );
        // the server ignored an unknown host and answered every schedule
        let body = br#"[{"id":1,"start":"Tue, 03 Dec 2024 22:00:00 GMT","end":"Tue, 10 Dec 2024 22:00:00 GMT",
            "build_start":null,"build_end":null,"host":{"id":1,"name":"h1"},
            "assignment":{"id":2,"cloud":{"id":2,"name":"cloud02"}}},
            {"id":2,"start":"Tue, 03 Dec 2024 22:00:00 GMT","end":"Tue, 10 Dec 2024 22:00:00 GMT",
            "host":{"id":2,"name":"h2"},"assignment":{"id":2,"cloud":{"id":2,"name":"cloud02"}}}]"#;
        let out = e.parse(body, UtcOffset::UTC).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].id, out[0].cloud_name()), (1, Some("cloud02")));
    }

    #[test]
    fn a_bad_shape_names_its_path() {
        let err = Hosts::default()
            .parse(
                br#"[{"id":1,"name":"h1","last_build":"yesterday"}]"#,
                UtcOffset::UTC,
            )
            .unwrap_err();
        assert_eq!(err.path, "[0].last_build");
        assert!(err.reason.contains("RFC 1123"), "{}", err.reason);
    }
}
