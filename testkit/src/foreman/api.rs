//! One Foreman request on the lab state: body parsing, authentication (Basic or the
//! `_session_id` cookie), permission checks, then the action (`hosts.rs`, `accounts.rs`,
//! `catalog.rs`), all under one lock of the lab state and without awaiting.
//!
//! The order of checks is Foreman's: a body that is not JSON (400) before authentication (401),
//! then the permission (403), then the media type of a POST or PUT (415), then the record (404),
//! then validation (422). A write marks its object as in service ([`Work::begin_write`]) before
//! anything is applied; with the lab model's `same_user_write_race`, a write to a user that
//! overlaps another write to the same user fails with 500 and is lost.

use std::cmp::Ordering;

use base64::Engine as _;
use http::{HeaderValue, Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::lab::LabShared;
use crate::machine::Machine;
use crate::metrics::{Metrics, WriteInService};
use crate::model::ForemanModel;
use crate::server::{Request, Response};

use super::db::{ForemanDb, Id, SESSION_IDLE_TIMEOUT};
use super::errors::ApiError;
use super::rbac::{Scope, scope};
use super::routes::{Action, Routed};
use super::search::{Ctx, Searchable, compare_by, compile, matches, order};
use super::views::Page;

/// The version Foreman reports.
pub const FOREMAN_VERSION: &str = "3.12.0";

/// What serving a request needs after it is answered: who it addressed, how long Foreman works
/// on it, and the write it holds in service meanwhile.
#[derive(Debug)]
pub struct Work<'m> {
    /// The host addressed, for per-host counters.
    pub host: Option<String>,
    /// Median service time (lab seconds).
    pub median: f64,
    /// The write in service, held until the answer is sent.
    pub write: Option<WriteInService<'m>>,
    metrics: &'m Metrics,
    race: bool,
}

impl<'m> Work<'m> {
    /// Work on a request, before routing.
    #[must_use]
    pub fn new(metrics: &'m Metrics, model: &ForemanModel) -> Self {
        Self {
            host: None,
            median: model.status,
            write: None,
            metrics,
            race: model.same_user_write_race,
        }
    }

    /// Marks a write to `key` as in service. A write to an existing user (`user/ID`) that
    /// overlaps another one loses the race: 500, nothing applied.
    ///
    /// # Errors
    /// [`ApiError::Internal`] when the write lost the race.
    pub fn begin_write(&mut self, key: &str) -> Result<(), ApiError> {
        let guard = self.metrics.write_begins(key);
        let lost = self.race
            && guard.overlapped()
            && key
                .strip_prefix("user/")
                .is_some_and(|id| id.bytes().all(|b| b.is_ascii_digit()));
        self.write = Some(guard);
        if lost {
            return Err(ApiError::Internal {
                message: "Attempted to update a stale object: User.".to_owned(),
            });
        }
        Ok(())
    }
}

/// The state an action works on, and who asks.
pub(super) struct Handler<'s, 'w, 'm> {
    pub db: &'s mut ForemanDb,
    pub machines: &'s mut [Machine],
    pub request: &'s Request,
    pub body: Option<Value>,
    pub user: Id,
    pub now: f64,
    pub model: &'s ForemanModel,
    pub work: &'w mut Work<'m>,
}

/// Answers one request on the lab state (locks it; never awaits).
pub fn process<'m>(
    lab: &'m LabShared,
    request: &Request,
    routed: &Routed,
    work: &mut Work<'m>,
) -> Response {
    let model = &lab.config.model.foreman;
    if routed.action == Action::NoRoute {
        return ApiError::NoRoute.response();
    }
    let body = match parse_body(request) {
        Ok(body) => body,
        Err(error) => return error.response(),
    };
    if routed.action == Action::Ping {
        return crate::server::json(
            StatusCode::OK,
            &json!({"results": {"foreman": {"database": {"active": true, "duration_ms": "0"}}}}),
        );
    }
    let (result, cookie) = {
        let mut guard = lab.state();
        let state = &mut *guard;
        state.advance_all(tokio::time::Instant::now(), lab.physics());
        let now = lab.clock.lab_now();
        let (user, cookie) = match authenticate(&mut state.foreman, request, now, &lab.metrics) {
            Ok(found) => found,
            Err(error) => return error.response(),
        };
        let mut handler = Handler {
            db: &mut state.foreman,
            machines: &mut state.machines,
            request,
            body,
            user,
            now,
            model,
            work,
        };
        (handler.dispatch(&routed.action), cookie)
    };
    // Serialized after the lab state is unlocked: a big index must not stall the BMCs.
    let mut response = match result {
        Ok((status, body)) => crate::server::json(status, &body),
        Err(error) => error.response(),
    };
    let headers = response.headers_mut();
    for (name, value) in [
        ("foreman_version", FOREMAN_VERSION),
        ("foreman_api_version", "2"),
        ("foreman_current_organization", "; ANY"),
        ("foreman_current_location", "; ANY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if let Some(cookie) = cookie
        && let Ok(value) = HeaderValue::from_str(&format!(
            "_session_id={cookie}; path=/; secure; HttpOnly; SameSite=Lax"
        ))
    {
        headers.insert(http::header::SET_COOKIE, value);
    }
    response
}

/// The JSON body of a request declared JSON (Rails parses nothing else).
fn parse_body(request: &Request) -> Result<Option<Value>, ApiError> {
    if !is_json(request) || request.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(&request.body)
        .map(Some)
        .map_err(|e| ApiError::BadJson {
            detail: e.to_string(),
        })
}

fn is_json(request: &Request) -> bool {
    request
        .header("content-type")
        .and_then(|c| c.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// Finds the user: a live `_session_id` cookie first (as Foreman does, whatever the
/// `Authorization` header says), else Basic credentials (the password, or an active personal
/// access token of the user), which open a new session. After 30 failed logins within 5
/// minutes of each other, logins without a session are refused (Foreman's brute-force guard).
fn authenticate(
    db: &mut ForemanDb,
    request: &Request,
    now: f64,
    metrics: &Metrics,
) -> Result<(Id, Option<String>), ApiError> {
    if let Some(cookie) = session_cookie(request)
        && let Some(session) = db.sessions.get(&cookie)
    {
        let user = session.user_id;
        let live = now - session.last_seen <= SESSION_IDLE_TIMEOUT;
        if live && db.user(user).is_some_and(|u| !u.disabled) {
            if let Some(session) = db.sessions.get_mut(&cookie) {
                session.last_seen = now;
            }
            metrics.foreman_auth("session");
            return Ok((user, None));
        }
        db.sessions.remove(&cookie);
    }
    if db.bruteforce_attempt(now) {
        metrics.foreman_auth("failed");
        return Err(ApiError::TooManyTries);
    }
    let Some((login, password)) = basic_credentials(request) else {
        metrics.foreman_auth("failed");
        db.count_login_failure(now);
        return Err(ApiError::Unauthenticated {
            login: String::new(),
        });
    };
    let user = db
        .user_by_login(&login)
        .map(|u| (u.id, u.disabled, u.password.clone()));
    let token = user.as_ref().and_then(|(id, _, _)| {
        db.tokens
            .iter()
            .position(|t| t.user_id == *id && t.active(now) && t.value == password)
    });
    let found = user.filter(|(_, _, secret)| {
        !password.is_empty() && (token.is_some() || secret.as_deref() == Some(password.as_str()))
    });
    match found {
        Some((_, true, _)) => {
            metrics.foreman_auth("failed");
            Err(ApiError::Disabled)
        }
        Some((id, false, _)) => {
            if let Some(token) = token {
                db.tokens[token].last_used_at = Some(now);
                metrics.foreman_auth("token");
            } else {
                metrics.foreman_auth("password");
            }
            if let Some(user) = db.users.iter_mut().find(|u| u.id == id) {
                user.last_login_on = Some(now);
            }
            let cookie = db.open_session(id, now);
            Ok((id, Some(cookie)))
        }
        None => {
            metrics.foreman_auth("failed");
            db.count_login_failure(now);
            Err(ApiError::Unauthenticated { login })
        }
    }
}

fn session_cookie(request: &Request) -> Option<String> {
    request
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == "_session_id").then(|| value.to_owned())
        })
}

fn basic_credentials(request: &Request) -> Option<(String, String)> {
    let header = request.header("authorization")?;
    let encoded = header.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (login, password) = text.split_once(':')?;
    Some((login.to_owned(), password.to_owned()))
}

impl Handler<'_, '_, '_> {
    fn dispatch(&mut self, action: &Action) -> Result<(StatusCode, Value), ApiError> {
        match action {
            Action::Status => Ok((
                StatusCode::OK,
                json!({"result": "ok", "status": 200, "version": FOREMAN_VERSION, "api_version": 2}),
            )),
            Action::CurrentUser => {
                self.work.median = self.model.show;
                let user = self
                    .db
                    .user(self.user)
                    .ok_or_else(|| ApiError::not_found("user", ""))?;
                Ok((StatusCode::OK, super::views::user_show(self.db, user)))
            }
            Action::HostIndex(group) => self.host_index(group.as_deref()),
            Action::HostShow(key) => self.host_show(key),
            Action::HostUpdate(key) => self.host_update(key),
            Action::ParamIndex(host) => self.param_index(host),
            Action::ParamShow(host, id) => self.param_show(host, id),
            Action::ParamCreate(host) => self.param_create(host),
            Action::ParamUpdate(host, id) => self.param_update(host, id),
            Action::ParamDestroy(host, id) => self.param_destroy(host, id),
            Action::ParamReset(host) => self.param_reset(host),
            Action::TokenIndex(user) => self.token_index(user),
            Action::TokenShow(user, id) => self.token_show(user, id),
            Action::TokenCreate(user) => self.token_create(user),
            Action::TokenRevoke(user, id) => self.token_revoke(user, id),
            Action::Index(collection, nest) => self.index(*collection, nest.as_ref()),
            Action::Show(collection, key) => self.show(*collection, key),
            Action::Create(collection, nest) => self.create(*collection, nest.as_ref()),
            Action::Update(collection, key) => self.update(*collection, key),
            Action::Destroy(collection, key) => self.destroy(*collection, key),
            Action::Ping | Action::NoRoute => Err(ApiError::NoRoute),
        }
    }

    /// The search context: the lab's records, as the requesting user.
    pub(super) fn ctx(&self) -> Ctx<'_> {
        Ctx {
            db: self.db,
            machines: self.machines,
            current_user: self.user,
        }
    }

    /// The user's scope for a permission; 403 without it.
    pub(super) fn require(&self, permission: &'static str) -> Result<Scope, ApiError> {
        let scope = scope(self.db, self.user, permission);
        if scope.permitted() {
            Ok(scope)
        } else {
            Err(ApiError::forbidden(permission))
        }
    }

    /// The user's scope for a permission, or nothing.
    pub(super) fn scope(&self, permission: &str) -> Scope {
        scope(self.db, self.user, permission)
    }

    /// 415 for a POST or PUT that is not declared JSON (PATCH and DELETE are not checked).
    pub(super) fn check_media_type(&self) -> Result<(), ApiError> {
        let method = &self.request.method;
        if (*method == Method::POST || *method == Method::PUT) && !is_json(self.request) {
            return Err(ApiError::UnsupportedMediaType {
                content_type: self
                    .request
                    .header("content-type")
                    .unwrap_or_default()
                    .to_owned(),
            });
        }
        Ok(())
    }

    /// The attributes of a write: the object under `wrapper`, or else the top-level keys
    /// `accessible` names (Rails' parameter wrapping).
    pub(super) fn attributes(&self, wrapper: &str, accessible: &[&str]) -> Map<String, Value> {
        match &self.body {
            Some(Value::Object(map)) => match map.get(wrapper) {
                Some(Value::Object(inner)) => inner.clone(),
                _ => map
                    .iter()
                    .filter(|(k, _)| accessible.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            },
            _ => Map::new(),
        }
    }

    /// Whether the request asks to show hidden parameter values.
    pub(super) fn show_hidden(&self) -> bool {
        ["show_hidden", "show_hidden_parameters"]
            .iter()
            .any(|p| self.request.query_param(p) == Some("true"))
            && self.scope("edit_params").permitted()
    }

    /// Paginates a collection the user may see: `search`, `order`, `page`, `per_page`.
    pub(super) fn paginate<'r, R: Searchable>(
        &self,
        records: Vec<&'r R>,
        default_order: impl FnMut(&&'r R, &&'r R) -> Ordering,
    ) -> Result<(Page, Vec<&'r R>), ApiError> {
        let ctx = self.ctx();
        let request = self.request;
        let total = records.len();
        let search = request
            .query_param("search")
            .filter(|s| !s.trim().is_empty());
        let mut matched = match search {
            Some(text) => {
                let node =
                    compile::<R>(text).map_err(|e| ApiError::Search { message: e.message })?;
                match node {
                    Some(node) => records
                        .into_iter()
                        .filter(|r| matches(&node, *r, &ctx))
                        .collect(),
                    None => records,
                }
            }
            None => records,
        };
        let order_text = request.query_param("order").unwrap_or_default();
        let order = order::<R>(order_text).map_err(|e| ApiError::Search { message: e.message })?;
        match &order {
            Some(order) => matched.sort_by(|a, b| compare_by(order, *a, *b, &ctx)),
            None => matched.sort_by(default_order),
        }
        let subtotal = matched.len();
        let per_page_param = request.query_param("per_page").unwrap_or_default();
        let all = per_page_param == "all";
        let per_page = if all {
            total
        } else {
            per_page_param
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .unwrap_or(super::db::ENTRIES_PER_PAGE)
        };
        let page = request
            .query_param("page")
            .and_then(|p| p.trim().parse::<usize>().ok())
            .filter(|p| *p > 0)
            .unwrap_or(1);
        let rows: Vec<&R> = if all {
            matched
        } else {
            matched
                .into_iter()
                .skip((page - 1).saturating_mul(per_page))
                .take(per_page)
                .collect()
        };
        let mut words = order_text.split_whitespace();
        let by = words.next().map(str::to_owned);
        let direction = by
            .as_ref()
            .map(|_| words.next().unwrap_or("ASC").to_owned());
        Ok((
            Page {
                total,
                subtotal,
                page,
                per_page,
                search: search.map(str::to_owned),
                by,
                order: direction,
            },
            rows,
        ))
    }

    /// Sets the service time of an index of `rows` rows.
    pub(super) fn index_time(&mut self, rows: usize, thin: bool) {
        let per_row = if thin {
            self.model.index_per_row_thin
        } else {
            self.model.index_per_row
        };
        #[allow(clippy::cast_precision_loss)]
        let rows = rows as f64;
        self.work.median = self.model.index_base + rows * per_row;
    }
}

/// Finds a record by id (digits or `id-name`) or else by name, as Foreman's friendly find does.
pub(super) fn find_by_key<'r, R>(
    records: impl Iterator<Item = &'r R> + Clone,
    key: &str,
    id: impl Fn(&R) -> Id,
    name: impl Fn(&R) -> String,
) -> Option<&'r R>
where
    R: 'r,
{
    if let Some(wanted) = super::db::numeric_id(key)
        && let Some(found) = records.clone().find(|r| id(r) == wanted)
    {
        return Some(found);
    }
    records.into_iter().find(|r| name(r) == key)
}

/// Rails' boolean cast: `false`, `0`, `"0"`, `"f"`, `"false"`, `"off"` (any case) are false,
/// blank and `null` are nothing, everything else is true.
pub(super) fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Null => None,
        Value::Bool(b) => Some(*b),
        Value::Number(n) => Some(n.as_f64().is_some_and(|f| f != 0.0)),
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(!matches!(
            s.to_ascii_lowercase().as_str(),
            "0" | "f" | "false" | "off"
        )),
        Value::Array(_) | Value::Object(_) => Some(true),
    }
}

/// An id attribute: `null` or blank clears it; digits or a number set it; anything else is not
/// an id (`Err`).
pub(super) fn as_id(value: &Value) -> Result<Option<Id>, ()> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => n.as_u64().map(Some).ok_or(()),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => s.trim().parse().map(Some).map_err(|_| ()),
        _ => Err(()),
    }
}

/// An id list as Rails' `*_ids=` reads it: blanks dropped, a scalar is a list of one, anything
/// that is not a number is id 0 (which no record has).
pub(super) fn as_ids(value: &Value) -> Vec<Id> {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    };
    items
        .into_iter()
        .filter(|v| {
            !matches!(v, Value::Null) && !matches!(v, Value::String(s) if s.trim().is_empty())
        })
        .map(|v| as_id(v).ok().flatten().unwrap_or(0))
        .collect()
}

/// A text attribute (`null` is empty).
pub(super) fn as_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Rails' message when `*_ids=` names records that do not exist: `wanted` as sent, `missing`
/// the ones not found.
pub(super) fn missing_ids(model: &str, wanted: &[Id], missing: &[Id]) -> ApiError {
    let list = |ids: &[Id]| {
        ids.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let message = if wanted.len() == 1 {
        format!("Couldn't find {model} with 'id'=[{}]", wanted[0])
    } else {
        let (noun, key) = if missing.len() == 1 {
            (model.to_owned(), "id")
        } else {
            (format!("{model}s"), "ids")
        };
        format!(
            "Couldn't find all {model}s with 'id': ({}) (found {} results, but was looking for {}). Couldn't find {noun} with {key} {}.",
            list(wanted),
            wanted.len() - missing.len(),
            wanted.len(),
            list(missing)
        )
    };
    ApiError::Association { message }
}

/// Resolves an id list against existing ids, or Rails' error.
///
/// # Errors
/// [`missing_ids`] when one does not exist.
pub(super) fn resolve_ids(
    model: &str,
    wanted: &[Id],
    exists: impl Fn(Id) -> bool,
) -> Result<std::collections::BTreeSet<Id>, ApiError> {
    let missing: Vec<Id> = wanted.iter().copied().filter(|id| !exists(*id)).collect();
    if missing.is_empty() {
        Ok(wanted.iter().copied().collect())
    } else {
        Err(missing_ids(model, wanted, &missing))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_like_rails() {
        assert_eq!(as_bool(&json!("no")), Some(true));
        assert_eq!(as_bool(&json!("FALSE")), Some(false));
        assert_eq!(as_bool(&json!(0)), Some(false));
        assert_eq!(as_bool(&json!("")), None);
        assert_eq!(as_id(&json!("12")), Ok(Some(12)));
        assert_eq!(as_id(&json!(null)), Ok(None));
        assert!(as_id(&json!("x")).is_err());
        assert_eq!(as_ids(&json!(["1", 2, "", "x"])), vec![1, 2, 0]);
        assert_eq!(as_ids(&json!(5)), vec![5]);
        let one = missing_ids("Role", &[999], &[999]);
        assert_eq!(
            one,
            ApiError::Association {
                message: "Couldn't find Role with 'id'=[999]".into()
            }
        );
        let two = resolve_ids("Role", &[1, 999], |id| id == 1).expect_err("missing");
        assert_eq!(
            two,
            ApiError::Association {
                message: "Couldn't find all Roles with 'id': (1, 999) (found 1 results, but was looking for 2). Couldn't find Role with id 999.".into()
            }
        );
    }
}
