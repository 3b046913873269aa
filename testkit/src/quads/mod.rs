//! The fake QUADS 2.x server: REST API v3 over plain HTTP, its state in the lab
//! ([`crate::lab::LabState::quads`]), faithful to QUADS's behaviour and quirks.
//!
//! Reads are open; writes need the admin: Basic, or a token from `POST /api/v3/login/`
//! (answered 200 with `"status_code": 201`, valid 6000 lab seconds). Quirks kept: a missing
//! object is a 400 with `{"error", "message", "status_code"}`; an unknown route an HTML 404; an
//! id that is not a number or a `?date=` it cannot read an HTML 500; `PATCH` dates and `?date=`
//! are `YYYY-MM-DDTHH:MM`, `POST schedules` dates `YYYY-MM-DD HH:MM`; answers give dates in RFC
//! 1123; `GET clouds` answers no clouds as `{}`; `GET schedules/current` and `schedules/future`
//! (not ended at the server's now, QUADS's `get_future_schedules`) ignore an unknown host
//! or cloud; a write without `Content-Type: application/json` is an HTML 415; a host `PATCH`
//! whose value the database would refuse (a wrong type, a date PostgreSQL cannot read), or one
//! drawn by the `quads_patch_rollback_rate` fault, is rolled back and answered 200 with the old
//! row. `GET moves` is QUADS's rule ([`db::QuadsDb::moves`]).
//!
//! Code map: `db.rs` (records, seed, moves, JSON views, dates), this file (pipeline, auth,
//! routes and their handlers).

pub mod db;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use http::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::clock::{hash_str, mix};
use crate::lab::LabShared;
use crate::server::{Outcome, Request, Response, Service, json, text};

use db::{QuadsAssignment, QuadsSchedule, parse_db_timestamp, parse_minute_space, parse_minute_t};
pub use db::{QuadsDb, QuadsWrite};

/// The stream of the rollback fault's draws.
const ROLLBACK_STREAM: u64 = 0x9a_0d_5e_11;

const HTML_404: &str = "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n";
const HTML_500: &str = "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.</p>\n";
const HTML_415: &str = "<!doctype html>\n<html lang=en>\n<title>415 Unsupported Media Type</title>\n<h1>Unsupported Media Type</h1>\n<p>Did not attempt to load JSON data because the request Content-Type was not &#39;application/json&#39;.</p>\n";
const HTML_400: &str = "<!doctype html>\n<html lang=en>\n<title>400 Bad Request</title>\n<h1>Bad Request</h1>\n<p>Failed to decode JSON object.</p>\n";

fn html(status: StatusCode, page: &'static str) -> Response {
    text(status, "text/html; charset=utf-8", page)
}

/// QUADS's JSON 400 (`{"status_code": 400, "error": "Bad Request", "message": ...}`).
fn bad_request(message: impl Into<String>) -> Response {
    json(
        StatusCode::BAD_REQUEST,
        &json!({"status_code": 400, "error": "Bad Request", "message": message.into()}),
    )
}

fn ok(value: &Value) -> Response {
    json(StatusCode::OK, value)
}

/// Serves QUADS's API from the lab state.
#[derive(Debug)]
pub struct QuadsService {
    lab: Arc<LabShared>,
    /// How many times each write was seen, so rollback draws are keyed by content and count.
    seen: Mutex<HashMap<u64, u64>>,
}

impl QuadsService {
    /// A QUADS server over the lab.
    #[must_use]
    pub fn new(lab: Arc<LabShared>) -> Self {
        Self {
            lab,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Whether this host `PATCH` is rolled back by the fault.
    fn rollback_drawn(&self, request: &Request) -> bool {
        let rate = self.lab.config.faults.quads_patch_rollback_rate;
        if rate <= 0.0 {
            return false;
        }
        let key = hash_str(&format!(
            "{} {} {}",
            request.method,
            request.path,
            String::from_utf8_lossy(&request.body)
        ));
        let count = {
            let mut seen = self
                .seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let count = seen.entry(key).or_default();
            *count += 1;
            *count
        };
        self.lab
            .clock
            .uniform(ROLLBACK_STREAM, mix(key ^ mix(count)))
            < rate
    }
}

impl Service for QuadsService {
    fn accepts(&self, _local: SocketAddr) -> bool {
        true
    }

    async fn handle(&self, request: Request) -> Outcome {
        let rollback = request.method == Method::PATCH
            && request.path.starts_with("/api/v3/hosts/")
            && self.rollback_drawn(&request);
        let lab_now = self.lab.clock.lab_now();
        let mut state = self.lab.state();
        let response = process(&mut state.quads, &request, lab_now, rollback);
        if request.method != Method::GET
            && !request.path.ends_with("/login/")
            && !request.path.ends_with("/login")
            && response.status().is_success()
        {
            state.quads.writes.push(QuadsWrite {
                method: request.method.to_string(),
                path: request.path.clone(),
                body: serde_json::from_slice(&request.body).unwrap_or(Value::Null),
                rolled_back: rollback,
            });
        }
        drop(state);
        tracing::trace!(method = %request.method, path = %request.path, status = response.status().as_u16(), "quads request");
        Outcome::Respond(response)
    }
}

/// Answers one request against `db` at lab time `lab_now`; `rollback` makes a host `PATCH`
/// roll back. Pure but for `db`.
#[must_use]
pub fn process(db: &mut QuadsDb, request: &Request, lab_now: f64, rollback: bool) -> Response {
    let Some(rest) = request.path.strip_prefix("/api/v3") else {
        return html(StatusCode::NOT_FOUND, HTML_404);
    };
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let method = &request.method;
    let write = *method != Method::GET;
    if write && !matches!(segments.as_slice(), ["login"]) {
        if !is_known_write(method, &segments) {
            return html(StatusCode::NOT_FOUND, HTML_404);
        }
        if let Err(response) = authorize(db, request, lab_now) {
            return *response;
        }
    }
    let body = if write && !matches!(segments.as_slice(), ["login"]) {
        match json_body(request) {
            Ok(body) => body,
            Err(response) => return *response,
        }
    } else {
        Map::new()
    };
    let wall = db.wall_now(lab_now);
    match (method.clone(), segments.as_slice()) {
        (Method::POST, ["login"]) => login(db, request, lab_now),
        (Method::GET, ["moves"]) => moves(db, request, wall),
        (Method::GET, ["clouds"]) => clouds(db, request),
        (Method::POST, ["clouds"]) => create_cloud(db, &body, wall),
        (Method::GET, ["assignments"]) => assignments(db, request),
        (Method::POST, ["assignments"]) => create_assignment(db, &body, wall),
        (Method::GET, ["assignments", "active"]) => {
            let list = db
                .assignments
                .iter()
                .filter(|a| a.active)
                .map(|a| db.assignment_json(a))
                .collect();
            ok(&Value::Array(list))
        }
        (Method::GET, ["assignments", "active", cloud]) => active_assignment(db, cloud),
        (Method::GET, ["assignments", id]) => with_id(id, |id| match db.assignment(id) {
            Some(a) => ok(&db.assignment_json(a)),
            None => bad_request(format!("Assignment not found: {id}")),
        }),
        (Method::PATCH, ["assignments", id]) => with_id(id, |id| patch_assignment(db, id, &body)),
        (Method::GET, ["hosts"]) => hosts(db, request),
        (Method::GET, ["hosts", name]) => match db.host_index(name) {
            Some(i) => ok(&db.host_json(&db.hosts[i])),
            None => bad_request(format!("Host not found: {name}")),
        },
        (Method::GET, ["hosts", name, "interfaces"]) => match db.host_index(name) {
            Some(i) => {
                let host = &db.hosts[i];
                let nics = host
                    .interfaces
                    .iter()
                    .map(|n| QuadsDb::interface_json(n, host.id))
                    .collect();
                ok(&Value::Array(nics))
            }
            None => bad_request(format!("Host not found: {name}")),
        },
        (Method::PATCH, ["hosts", name]) => patch_host(db, name, &body, rollback),
        (Method::GET, ["interfaces"]) => {
            let nics = db
                .hosts
                .iter()
                .flat_map(|h| {
                    h.interfaces
                        .iter()
                        .map(|n| QuadsDb::interface_json(n, h.id))
                })
                .collect();
            ok(&Value::Array(nics))
        }
        (Method::GET, ["schedules"]) => schedules(db, request),
        (Method::GET, ["schedules", "current"]) => current_schedules(db, request, wall),
        (Method::GET, ["schedules", "future"]) => future_schedules(db, request, wall),
        (Method::POST, ["schedules"]) => create_schedule(db, &body, wall),
        (Method::GET, ["schedules", id]) => {
            with_id(id, |id| match db.schedules.iter().find(|s| s.id == id) {
                Some(s) => ok(&db.schedule_json(s)),
                None => bad_request(format!("Schedule not found: {id}")),
            })
        }
        (Method::PATCH, ["schedules", id]) => with_id(id, |id| patch_schedule(db, id, &body)),
        _ => html(StatusCode::NOT_FOUND, HTML_404),
    }
}

fn is_known_write(method: &Method, segments: &[&str]) -> bool {
    matches!(
        (method.clone(), segments),
        (Method::POST, ["clouds" | "assignments" | "schedules"])
            | (Method::PATCH, ["hosts" | "assignments" | "schedules", _])
    )
}

/// `int(id)`: a non-number is Python's ValueError, Flask's HTML 500.
fn with_id(text: &str, f: impl FnOnce(u64) -> Response) -> Response {
    match text.parse::<u64>() {
        Ok(id) => f(id),
        Err(_) => html(StatusCode::INTERNAL_SERVER_ERROR, HTML_500),
    }
}

/// `check_access(["admin"])`.
fn authorize(db: &QuadsDb, request: &Request, lab_now: f64) -> Result<(), Box<Response>> {
    let Some(header) = request.header("authorization") else {
        return Err(Box::new(json(
            StatusCode::BAD_REQUEST,
            &json!({"message": "Missing authentication data", "error": "Bad Request"}),
        )));
    };
    let Some((scheme, value)) = header.split_once(' ') else {
        return Err(Box::new(json(
            StatusCode::BAD_REQUEST,
            &json!({"message": "Authorization header malformed", "error": "Bad Request"}),
        )));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "bearer" if db.token_valid(value.trim(), lab_now) => Ok(()),
        "bearer" => Err(Box::new(json(
            StatusCode::UNAUTHORIZED,
            &json!({"message": "Invalid Authentication token!", "error": "Unauthorized"}),
        ))),
        "basic" if basic_matches(db, value) => Ok(()),
        "basic" => Err(Box::new(json(
            StatusCode::UNAUTHORIZED,
            &json!({"message": "Invalid Credentials!", "error": "Unauthorized"}),
        ))),
        // QUADS has no user for another scheme and fails on it
        _ => Err(Box::new(html(StatusCode::INTERNAL_SERVER_ERROR, HTML_500))),
    }
}

fn basic_matches(db: &QuadsDb, value: &str) -> bool {
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(value.trim()) else {
        return false;
    };
    let raw = String::from_utf8_lossy(&raw);
    raw.split_once(':')
        .is_some_and(|(user, password)| user == db.admin.username && password == db.admin.password)
}

/// `request.get_json()`: a write must be JSON.
fn json_body(request: &Request) -> Result<Map<String, Value>, Box<Response>> {
    let is_json = request
        .header("content-type")
        .is_some_and(|t| t.to_ascii_lowercase().starts_with("application/json"));
    if !is_json {
        return Err(Box::new(html(StatusCode::UNSUPPORTED_MEDIA_TYPE, HTML_415)));
    }
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Ok(Map::new()),
        Err(_) => Err(Box::new(html(StatusCode::BAD_REQUEST, HTML_400))),
    }
}

fn login(db: &mut QuadsDb, request: &Request, lab_now: f64) -> Response {
    let authorized = request
        .header("authorization")
        .and_then(|h| h.split_once(' '))
        .is_some_and(|(scheme, value)| {
            scheme.eq_ignore_ascii_case("basic") && basic_matches(db, value)
        });
    if !authorized {
        return text(
            StatusCode::UNAUTHORIZED,
            "text/html; charset=utf-8",
            "Unauthorized Access",
        );
    }
    let token = db.issue_token(lab_now);
    ok(
        &json!({"status_code": 201, "status": "success", "message": "Successful login", "auth_token": token}),
    )
}

fn moves(db: &QuadsDb, request: &Request, wall: i64) -> Response {
    let at = match request.query_param("date") {
        Some(text) if !text.is_empty() => match parse_minute_t(text) {
            Some(at) => at,
            None => return html(StatusCode::INTERNAL_SERVER_ERROR, HTML_500),
        },
        _ => wall,
    };
    let list = db
        .moves(at)
        .into_iter()
        .map(|(host, current, new)| json!({"host": host, "current": current, "new": new}))
        .collect();
    ok(&Value::Array(list))
}

fn clouds(db: &QuadsDb, request: &Request) -> Response {
    if request.query.is_empty() {
        if db.clouds.is_empty() {
            return ok(&json!({}));
        }
        return ok(&Value::Array(
            db.clouds.iter().map(|c| db.cloud_json(c)).collect(),
        ));
    }
    let mut found: Vec<&db::QuadsCloud> = db.clouds.iter().collect();
    for (key, value) in &request.query {
        match key.as_str() {
            "name" => found.retain(|c| &c.name == value),
            "id" => found.retain(|c| c.id.to_string() == *value),
            other => return bad_request(format!("{other} is not a valid field.")),
        }
    }
    if found.is_empty() {
        return bad_request("No clouds found with the given filters");
    }
    ok(&Value::Array(
        found.into_iter().map(|c| db.cloud_json(c)).collect(),
    ))
}

fn create_cloud(db: &mut QuadsDb, body: &Map<String, Value>, wall: i64) -> Response {
    let Some(name) = body
        .get("cloud")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    else {
        return bad_request("Missing argument: cloud");
    };
    if db.cloud_by_name(name).is_some() {
        return bad_request(format!("Cloud {name} already exists"));
    }
    let cloud = db::QuadsCloud {
        id: db.next_cloud_id(),
        name: name.to_owned(),
        last_redefined: Some(wall),
    };
    let answer = db.cloud_json(&cloud);
    db.clouds.push(cloud);
    ok(&answer)
}

fn assignments(db: &QuadsDb, request: &Request) -> Response {
    let mut found: Vec<&QuadsAssignment> = db.assignments.iter().collect();
    for (key, value) in &request.query {
        match key.as_str() {
            "cloud" => match db.cloud_by_name(value) {
                Some(c) => found.retain(|a| a.cloud == Some(c.id)),
                None => return bad_request(format!("Cloud not found: {value}")),
            },
            "active" | "provisioned" | "validated" | "wipe" => {
                let want = matches!(
                    value.to_ascii_lowercase().as_str(),
                    "true" | "y" | "1" | "yes"
                );
                found.retain(|a| match key.as_str() {
                    "active" => a.active == want,
                    "provisioned" => a.provisioned == want,
                    "validated" => a.validated == want,
                    _ => a.wipe == want,
                });
            }
            "ticket" => found.retain(|a| &a.ticket == value),
            "owner" => found.retain(|a| &a.owner == value),
            other => return bad_request(format!("{other} is not a valid field.")),
        }
    }
    ok(&Value::Array(
        found.into_iter().map(|a| db.assignment_json(a)).collect(),
    ))
}

fn active_assignment(db: &QuadsDb, cloud: &str) -> Response {
    let Some(c) = db.cloud_by_name(cloud) else {
        return bad_request(format!("Cloud not found: {cloud}"));
    };
    match db.active_assignment(c.id) {
        Some(a) => ok(&db.assignment_json(a)),
        None => ok(&json!({})),
    }
}

fn create_assignment(db: &mut QuadsDb, body: &Map<String, Value>, wall: i64) -> Response {
    for field in ["description", "owner", "ticket", "cloud"] {
        let present = body.get(field).is_some_and(|v| match v {
            Value::String(s) => !s.is_empty(),
            Value::Null | Value::Bool(false) => false,
            _ => true,
        });
        if !present {
            return bad_request(format!("Missing argument: {field}"));
        }
    }
    let text = |key: &str| match body.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let cloud_name = text("cloud");
    let Some(cloud) = db.cloud_by_name(&cloud_name).map(|c| c.id) else {
        return bad_request(format!("Cloud not found: {cloud_name}"));
    };
    if db.active_assignment(cloud).is_some() {
        return bad_request(format!(
            "There is an already active assignment for {cloud_name}"
        ));
    }
    let vlan = match body.get("vlan") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let number = v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()));
            match number.and_then(|n| db.vlans.iter().find(|x| u64::from(x.vlan_id) == n)) {
                Some(x) => Some(x.id),
                None => return bad_request(format!("Vlan not found: {v}")),
            }
        }
    };
    let assignment = QuadsAssignment {
        id: db.next_assignment_id(),
        active: true,
        provisioned: false,
        validated: false,
        description: text("description"),
        owner: text("owner"),
        ticket: text("ticket"),
        qinq: body.get("qinq").and_then(Value::as_i64),
        wipe: body.get("wipe").and_then(as_bool).unwrap_or(false),
        ccuser: body
            .get("ccuser")
            .and_then(Value::as_str)
            .map(|s| {
                s.split([',', ' '])
                    .filter(|u| !u.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        cloud: Some(cloud),
        vlan,
        created_at: wall,
    };
    let answer = db.assignment_json(&assignment);
    db.assignments.push(assignment);
    ok(&answer)
}

/// A boolean as QUADS takes it: a JSON boolean, or `"true"`/`"false"` in any case.
fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn patch_assignment(db: &mut QuadsDb, id: u64, body: &Map<String, Value>) -> Response {
    let Some(index) = db.assignments.iter().position(|a| a.id == id) else {
        return bad_request(format!("Assignment not found: {id}"));
    };
    let mut changed = db.assignments[index].clone();
    let mut refused = false;
    for (key, value) in body {
        if value.is_null() {
            continue;
        }
        match key.as_str() {
            "active" | "provisioned" | "validated" | "wipe" => match as_bool(value) {
                Some(b) => match key.as_str() {
                    "active" => changed.active = b,
                    "provisioned" => changed.provisioned = b,
                    "validated" => changed.validated = b,
                    _ => changed.wipe = b,
                },
                None => refused = true,
            },
            "description" | "owner" | "ticket" => {
                let text = value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned);
                match key.as_str() {
                    "description" => changed.description = text,
                    "owner" => changed.owner = text,
                    _ => changed.ticket = text,
                }
            }
            "qinq" => match value.as_i64() {
                Some(q) => changed.qinq = Some(q),
                None => refused = true,
            },
            "cloud" => match value.as_str().and_then(|n| db.cloud_by_name(n)) {
                Some(c) => changed.cloud = Some(c.id),
                None => {
                    return bad_request(format!(
                        "Cloud not found: {}",
                        value.as_str().unwrap_or_default()
                    ));
                }
            },
            _ => {}
        }
    }
    if !refused {
        db.assignments[index] = changed;
    }
    ok(&db.assignment_json(&db.assignments[index]))
}

fn hosts(db: &QuadsDb, request: &Request) -> Response {
    let mut found: Vec<&db::QuadsHost> = db.hosts.iter().collect();
    for (key, value) in &request.query {
        let want = matches!(
            value.to_ascii_lowercase().as_str(),
            "true" | "y" | "1" | "yes"
        );
        match key.as_str() {
            "cloud" => match db.cloud_by_name(value) {
                Some(c) => found.retain(|h| h.cloud == c.id),
                None => return bad_request(format!("Cloud not found: {value}")),
            },
            "name" => found.retain(|h| &h.name == value),
            "model" => found.retain(|h| h.model.eq_ignore_ascii_case(value)),
            "build" => found.retain(|h| h.build == want),
            "broken" => found.retain(|h| h.broken == want),
            "retired" => found.retain(|h| h.retired == want),
            "validated" => found.retain(|h| h.validated == want),
            other => return bad_request(format!("{other} is not a valid field.")),
        }
    }
    ok(&Value::Array(
        found.into_iter().map(|h| db.host_json(h)).collect(),
    ))
}

/// `PATCH hosts/<name>`: every field set, then one commit; a value the database would refuse
/// (or a drawn `rollback`) rolls the whole change back, still answered 200 with the old row.
fn patch_host(db: &mut QuadsDb, name: &str, body: &Map<String, Value>, rollback: bool) -> Response {
    let Some(index) = db.host_index(name) else {
        return bad_request(format!("Host not found: {name}"));
    };
    let mut changed = db.hosts[index].clone();
    let mut refused = rollback;
    for (key, value) in body {
        if value.is_null() {
            continue;
        }
        match key.as_str() {
            "cloud" | "default_cloud" => {
                let Some(cloud) = value.as_str().and_then(|n| db.cloud_by_name(n)) else {
                    return bad_request(format!(
                        "Cloud not found: {}",
                        value
                            .as_str()
                            .map_or_else(|| value.to_string(), str::to_owned)
                    ));
                };
                if key == "cloud" {
                    changed.cloud = cloud.id;
                } else {
                    changed.default_cloud = cloud.id;
                }
            }
            "build" | "validated" | "switch_config_applied" | "broken" | "retired" => {
                match as_bool(value) {
                    Some(b) => match key.as_str() {
                        "build" => changed.build = b,
                        "validated" => changed.validated = b,
                        "switch_config_applied" => changed.switch_config_applied = b,
                        "broken" => changed.broken = b,
                        _ => changed.retired = b,
                    },
                    None => refused = true,
                }
            }
            "last_build" => match value.as_str().and_then(parse_db_timestamp) {
                Some(at) => changed.last_build = Some(at),
                None => refused = true,
            },
            "model" => match value.as_str() {
                Some(m) => changed.model = m.to_uppercase(),
                None => refused = true,
            },
            "host_type" => match value.as_str() {
                Some(t) => changed.host_type = t.to_owned(),
                None => refused = true,
            },
            _ => {}
        }
    }
    if refused {
        db.rolled_back += 1;
        tracing::debug!(host = name, "quads host patch rolled back");
    } else {
        db.hosts[index] = changed;
    }
    ok(&db.host_json(&db.hosts[index]))
}

fn schedules(db: &QuadsDb, request: &Request) -> Response {
    let mut found: Vec<&QuadsSchedule> = db.schedules.iter().collect();
    for (key, value) in &request.query {
        match key.as_str() {
            "host" => match db.host_index(value) {
                Some(i) => {
                    let id = db.hosts[i].id;
                    found.retain(|s| s.host == id);
                }
                None => return bad_request(format!("Host not found: {value}")),
            },
            other => return bad_request(format!("{other} is not a valid field.")),
        }
    }
    ok(&Value::Array(
        found.into_iter().map(|s| db.schedule_json(s)).collect(),
    ))
}

fn current_schedules(db: &QuadsDb, request: &Request, wall: i64) -> Response {
    let at = match request.query_param("date") {
        Some(text) if !text.is_empty() => match parse_minute_t(text) {
            Some(at) => at,
            None => return html(StatusCode::INTERNAL_SERVER_ERROR, HTML_500),
        },
        _ => wall,
    };
    let (host, cloud) = named(db, request);
    let list = db
        .current_schedules(at, host, cloud)
        .into_iter()
        .map(|s| db.schedule_json(s))
        .collect();
    ok(&Value::Array(list))
}

/// The ids of the `host` and `cloud` a schedule query names: QUADS looks the names up and
/// filters on what it found, so an unknown one filters nothing.
fn named(db: &QuadsDb, request: &Request) -> (Option<u64>, Option<u64>) {
    let host = request
        .query_param("host")
        .and_then(|n| db.host_index(n))
        .map(|i| db.hosts[i].id);
    let cloud = request
        .query_param("cloud")
        .and_then(|n| db.cloud_by_name(n))
        .map(|c| c.id);
    (host, cloud)
}

/// QUADS's `get_future_schedules`: the schedules not ended at the server's now (`end >= now`),
/// of a host and a cloud (no date taken; a name it does not know filters nothing).
fn future_schedules(db: &QuadsDb, request: &Request, wall: i64) -> Response {
    let (host, cloud) = named(db, request);
    let list = db
        .schedules
        .iter()
        .filter(|s| s.end >= wall)
        .filter(|s| host.is_none_or(|h| s.host == h))
        .filter(|s| {
            cloud.is_none_or(|c| db.assignment(s.assignment).and_then(|a| a.cloud) == Some(c))
        })
        .map(|s| db.schedule_json(s))
        .collect();
    ok(&Value::Array(list))
}

fn create_schedule(db: &mut QuadsDb, body: &Map<String, Value>, wall: i64) -> Response {
    let text = |key: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let Some(cloud_name) = text("cloud") else {
        return bad_request("Missing argument: cloud");
    };
    let Some(cloud) = db.cloud_by_name(cloud_name).map(|c| c.id) else {
        return bad_request(format!("Cloud not found: {cloud_name}"));
    };
    let Some(assignment) = db.active_assignment(cloud).map(|a| a.id) else {
        return bad_request(format!("No active assignment for cloud: {cloud_name}"));
    };
    let Some(host_name) = text("hostname") else {
        return bad_request("Missing argument: hostname");
    };
    let Some(host) = db.host_index(host_name).map(|i| db.hosts[i].id) else {
        return bad_request(format!("Host not found: {host_name}"));
    };
    let (Some(start), Some(end)) = (text("start"), text("end")) else {
        return bad_request("Missing argument: start or end");
    };
    let (Some(start), Some(end)) = (parse_minute_space(start), parse_minute_space(end)) else {
        return bad_request(
            "Invalid date format for start or end, correct format: 'YYYY-MM-DD HH:MM'",
        );
    };
    if start > end {
        return bad_request("Invalid date range for start or end, start must be before end");
    }
    let schedule = QuadsSchedule {
        id: db.next_schedule_id(),
        start,
        end,
        build_start: None,
        build_end: None,
        assignment,
        host,
        created_at: wall,
    };
    let answer = db.schedule_json(&schedule);
    db.schedules.push(schedule);
    ok(&answer)
}

fn patch_schedule(db: &mut QuadsDb, id: u64, body: &Map<String, Value>) -> Response {
    let Some(index) = db.schedules.iter().position(|s| s.id == id) else {
        return bad_request(format!("Schedule not found: {id}"));
    };
    if let Some(cloud) = body.get("cloud").and_then(Value::as_str)
        && db.cloud_by_name(cloud).is_none()
    {
        return bad_request(format!("Cloud not found: {cloud}"));
    }
    if let Some(host) = body.get("hostname").and_then(Value::as_str)
        && db.host_index(host).is_none()
    {
        return bad_request(format!("Host not found: {host}"));
    }
    let mut dates = [None; 4];
    for (slot, key) in ["start", "end", "build_start", "build_end"]
        .iter()
        .enumerate()
    {
        if let Some(text) = body
            .get(*key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            match parse_minute_t(text) {
                Some(at) => dates[slot] = Some(at),
                None => {
                    return bad_request(
                        "Invalid date format for start or end, correct format: 'YYYY-MM-DDTHH:MM'",
                    );
                }
            }
        }
    }
    let [start, end, build_start, build_end] = dates;
    if dates.iter().all(Option::is_none) {
        return bad_request(
            "Missing argument: start, end, build_start or build_end (specify at least one)",
        );
    }
    let ordered = |a: Option<i64>, b: Option<i64>| !matches!((a, b), (Some(a), Some(b)) if a > b);
    if !ordered(start, end) {
        return bad_request("Invalid date range for start or end, start must be before end");
    }
    if !ordered(build_start, build_end) {
        return bad_request(
            "Invalid date range for build_start or build_end, build_start must be before build_end",
        );
    }
    if !ordered(start, build_start) {
        return bad_request(
            "Invalid date range for start or build_start, start must be before build_start",
        );
    }
    if !ordered(build_end, end) {
        return bad_request(
            "Invalid date range for end or build_end, build_end must be before end",
        );
    }
    let schedule = &mut db.schedules[index];
    schedule.start = start.unwrap_or(schedule.start);
    schedule.end = end.unwrap_or(schedule.end);
    schedule.build_start = build_start.or(schedule.build_start);
    schedule.build_end = build_end.or(schedule.build_end);
    let answer = db.schedule_json(&db.schedules[index]);
    ok(&answer)
}
