//! SessionService (login, logout, the session limit) and AccountService (accounts, roles).
//!
//! iDRACs have 16 fixed account slots (slot 1 reserved, `root` in slot 2): accounts are created by
//! PATCHing an empty slot and removed by emptying its `UserName`. Supermicro and the generic
//! flavour create with POST and remove with DELETE. A password, role or `Enabled` change takes
//! effect for the next login; disabled accounts and accounts without a role cannot log in.

use http::StatusCode;
use serde_json::{Value, json};

use super::dispatch::Ctx;
use super::messages;
use super::reply::Reply;
use super::service::{collection, link};
use super::state::{Account, Role, Session};
use crate::machine::Flavor;

/// iDRAC account slots.
const DELL_SLOTS: u16 = 16;
/// Shortest password accepted.
const MIN_PASSWORD: usize = 4;
/// Longest password accepted.
const MAX_PASSWORD: usize = 127;

const SESSIONS: &str = "/redfish/v1/SessionService/Sessions";
const ACCOUNTS: &str = "/redfish/v1/AccountService/Accounts";
const ROLES: &str = "/redfish/v1/AccountService/Roles";

/// The answer to a successful write: iDRAC and Supermicro send a success message, the generic
/// flavour nothing.
fn write_done(cx: &Ctx<'_>) -> Reply {
    match cx.flavor() {
        Flavor::Generic => Reply::empty(StatusCode::NO_CONTENT),
        _ => messages::ok_success(),
    }
}

/// `SessionService`.
pub(crate) fn session_service(cx: &Ctx<'_>) -> Reply {
    Reply::resource(json!({
        "@odata.id": "/redfish/v1/SessionService",
        "@odata.type": "#SessionService.v1_1_8.SessionService",
        "Id": "SessionService",
        "Name": "Session Service",
        "Description": "Session Service",
        "ServiceEnabled": true,
        "SessionTimeout": cx.b.session_timeout,
        "Sessions": link(SESSIONS),
        "Status": {"State": "Enabled", "Health": "OK"},
    }))
}

/// PATCH `SessionService` (`SessionTimeout`, 30..86400 s).
pub(crate) fn patch_session_service(cx: &mut Ctx<'_>) -> Reply {
    let body = match cx.body() {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    for (key, value) in &body {
        match key.as_str() {
            "SessionTimeout" => match value.as_u64() {
                Some(secs @ 30..=86_400) => {
                    cx.b.session_timeout = u32::try_from(secs).unwrap_or(1800);
                }
                Some(_) => return messages::value_not_in_list(&value.to_string(), key),
                None => return messages::value_type_error(&value.to_string(), key),
            },
            "Id" | "Name" | "Description" | "ServiceEnabled" | "Sessions" | "Status" => {
                return messages::property_not_writable(key);
            }
            _ => return messages::property_unknown(key),
        }
    }
    write_done(cx)
}

/// The session collection (stale sessions of others included).
pub(crate) fn sessions(cx: &Ctx<'_>) -> Reply {
    let members: Vec<String> =
        cx.b.sessions
            .iter()
            .map(|s| format!("{SESSIONS}/{}", s.id))
            .collect();
    collection(
        SESSIONS,
        "SessionCollection",
        "Session Collection",
        &members,
    )
}

fn session_body(session: &Session) -> Value {
    json!({
        "@odata.id": format!("{SESSIONS}/{}", session.id),
        "@odata.type": "#Session.v1_6_0.Session",
        "Id": session.id.to_string(),
        "Name": "User Session",
        "Description": "User Session",
        "UserName": session.username,
        "Password": null,
        "SessionType": "Redfish",
    })
}

/// One session.
pub(crate) fn session(cx: &Ctx<'_>, id: &str) -> Reply {
    match id
        .parse::<u32>()
        .ok()
        .and_then(|n| cx.b.sessions.iter().find(|s| s.id == n))
    {
        Some(session) => Reply::resource(session_body(session)),
        None => messages::not_found(&format!("{SESSIONS}/{id}")),
    }
}

/// POST `Sessions`: 201 with `X-Auth-Token` and `Location`; 401 for bad credentials; 503 when
/// every session slot is taken.
pub(crate) fn login(cx: &mut Ctx<'_>) -> Reply {
    let body = match cx.body() {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let text = |key: &str| body.get(key).and_then(Value::as_str);
    let Some(username) = text("UserName") else {
        return messages::property_missing("UserName");
    };
    let Some(password) = text("Password") else {
        return messages::property_missing("Password");
    };
    if cx.b.check_login(username, password).is_none() {
        return messages::login_failed();
    }
    let max = cx.lab.config.model.bmc.max_sessions;
    let Some(session) =
        cx.b.open_session(username, max, &cx.lab.clock, cx.index)
            .cloned()
    else {
        return messages::session_limit(cx.dell());
    };
    cx.counters(|c| {
        c.sessions_opened += 1;
        c.sessions_open += 1;
        c.peak_sessions = c.peak_sessions.max(c.sessions_open);
    });
    let location = format!("{SESSIONS}/{}", session.id);
    Reply::json(StatusCode::CREATED, session_body(&session))
        .header(
            http::header::HeaderName::from_static("x-auth-token"),
            &session.token_text(),
        )
        .location(&location)
}

/// DELETE a session: one's own, or any with the administrator's privileges.
pub(crate) fn logout(cx: &mut Ctx<'_>, id: &str) -> Reply {
    let uri = format!("{SESSIONS}/{id}");
    let Some(target) = id
        .parse::<u32>()
        .ok()
        .and_then(|n| cx.b.sessions.iter().find(|s| s.id == n))
    else {
        return messages::not_found(&uri);
    };
    let own = cx.who.username() == Some(target.username.as_str());
    if !own && cx.who.role() != Some(Role::Administrator) {
        return messages::forbidden();
    }
    let Some(closed) = cx.b.close_session(target.id) else {
        return messages::not_found(&uri);
    };
    if !closed.stale {
        cx.counters(|c| {
            c.sessions_closed += 1;
            c.sessions_open = c.sessions_open.saturating_sub(1);
        });
    }
    write_done(cx)
}

/// `AccountService`.
pub(crate) fn account_service(_cx: &Ctx<'_>) -> Reply {
    Reply::resource(json!({
        "@odata.id": "/redfish/v1/AccountService",
        "@odata.type": "#AccountService.v1_13_0.AccountService",
        "Id": "AccountService",
        "Name": "Account Service",
        "Description": "Account Service",
        "ServiceEnabled": true,
        "Status": {"State": "Enabled", "Health": "OK"},
        "MinPasswordLength": MIN_PASSWORD,
        "MaxPasswordLength": MAX_PASSWORD,
        "AccountLockoutThreshold": 0,
        "AccountLockoutDuration": 0,
        "AccountLockoutCounterResetAfter": 0,
        "LocalAccountAuth": "Enabled",
        "Accounts": link(ACCOUNTS),
        "Roles": link(ROLES),
    }))
}

/// PATCH `AccountService`: nothing in it is writable here.
pub(crate) fn patch_account_service(cx: &mut Ctx<'_>) -> Reply {
    let body = match cx.body() {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    match body.keys().next() {
        Some(key)
            if account_service(cx)
                .json_body()
                .is_some_and(|b| b.get(key).is_some()) =>
        {
            messages::property_not_writable(key)
        }
        Some(key) => messages::property_unknown(key),
        None => write_done(cx),
    }
}

/// The account ids the collection lists.
fn account_ids(cx: &Ctx<'_>) -> Vec<u16> {
    if cx.dell() {
        (1..=DELL_SLOTS).collect()
    } else {
        let mut ids: Vec<u16> = cx.b.accounts.iter().map(|a| a.id).collect();
        ids.sort_unstable();
        ids
    }
}

/// `Accounts`.
pub(crate) fn accounts(cx: &Ctx<'_>) -> Reply {
    let members: Vec<String> = account_ids(cx)
        .into_iter()
        .map(|id| format!("{ACCOUNTS}/{id}"))
        .collect();
    collection(
        ACCOUNTS,
        "ManagerAccountCollection",
        "Accounts Collection",
        &members,
    )
}

fn account_body(id: u16, account: Option<&Account>) -> Value {
    let (username, role, enabled) = account.map_or(("", Role::NoAccess, false), |a| {
        (a.username.as_str(), a.role, a.enabled)
    });
    let mut body = json!({
        "@odata.id": format!("{ACCOUNTS}/{id}"),
        "@odata.type": "#ManagerAccount.v1_10_0.ManagerAccount",
        "Id": id.to_string(),
        "Name": "User Account",
        "Description": "User Account",
        "UserName": username,
        "Password": null,
        "RoleId": role.as_str(),
        "Enabled": enabled,
        "Locked": false,
        "AccountTypes": ["Redfish"],
        "Links": {},
    });
    if role != Role::NoAccess {
        body["Links"]["Role"] = link(&format!("{ROLES}/{}", role.as_str()));
    }
    body
}

fn parse_id(cx: &Ctx<'_>, id: &str) -> Option<u16> {
    let n: u16 = id.parse().ok()?;
    if cx.dell() {
        (1..=DELL_SLOTS).contains(&n).then_some(n)
    } else {
        cx.b.accounts.iter().any(|a| a.id == n).then_some(n)
    }
}

/// One account (an iDRAC slot, used or not).
pub(crate) fn account(cx: &Ctx<'_>, id: &str) -> Reply {
    match parse_id(cx, id) {
        Some(n) => Reply::resource(account_body(n, cx.b.accounts.iter().find(|a| a.id == n))),
        None => messages::not_found(&format!("{ACCOUNTS}/{id}")),
    }
}

/// What a PATCH or POST asks of an account.
#[derive(Debug, Default)]
struct AccountChange {
    username: Option<String>,
    password: Option<String>,
    role: Option<Role>,
    enabled: Option<bool>,
}

fn parse_change(
    cx: &Ctx<'_>,
    body: &serde_json::Map<String, Value>,
) -> Result<AccountChange, Reply> {
    let mut change = AccountChange::default();
    for (key, value) in body {
        let text = || {
            value
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| messages::value_type_error(&value.to_string(), key))
        };
        match key.as_str() {
            "UserName" => change.username = Some(text()?),
            "Password" => {
                let password = text()?;
                if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&password.chars().count()) {
                    return Err(messages::value_format_error("Password"));
                }
                change.password = Some(password);
            }
            "RoleId" => {
                let role = text()?;
                match Role::parse(&role) {
                    Some(Role::NoAccess) if !cx.dell() => {
                        return Err(messages::value_not_in_list(&role, key));
                    }
                    Some(parsed) => change.role = Some(parsed),
                    None => return Err(messages::value_not_in_list(&role, key)),
                }
            }
            "Enabled" => {
                change.enabled = Some(
                    value
                        .as_bool()
                        .ok_or_else(|| messages::value_type_error(&value.to_string(), key))?,
                );
            }
            "Locked" if value == &Value::Bool(false) => {}
            "AccountTypes" => {}
            "Id" | "Name" | "Description" | "Links" | "Locked" | "@odata.id" | "@odata.type" => {
                return Err(messages::property_not_writable(key));
            }
            _ => return Err(messages::property_unknown(key)),
        }
    }
    Ok(change)
}

/// PATCH an account. Administrators change anything; others only their own password.
pub(crate) fn patch_account(cx: &mut Ctx<'_>, id: &str) -> Reply {
    let Some(n) = parse_id(cx, id) else {
        return messages::not_found(&format!("{ACCOUNTS}/{id}"));
    };
    let body = match cx.body() {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let change = match parse_change(cx, &body) {
        Ok(change) => change,
        Err(reply) => return reply,
    };
    let existing = cx.b.accounts.iter().position(|a| a.id == n);
    let admin = cx.who.role() == Some(Role::Administrator);
    let own =
        existing.is_some_and(|i| Some(cx.b.accounts[i].username.as_str()) == cx.who.username());
    let only_password =
        change.username.is_none() && change.role.is_none() && change.enabled.is_none();
    if !(admin || own && only_password) {
        return messages::forbidden();
    }
    if cx.dell() && n == 1 {
        return messages::general_error("Account slot 1 is reserved and cannot be modified.");
    }
    if let Some(name) = &change.username
        && !name.is_empty()
        && cx
            .b
            .accounts
            .iter()
            .any(|a| a.id != n && &a.username == name)
    {
        return messages::already_exists("UserName", name);
    }
    match existing {
        Some(i) => {
            // iDRAC: emptying the user name frees the slot.
            if cx.dell() && change.username.as_deref() == Some("") {
                cx.b.accounts.remove(i);
                return write_done(cx);
            }
            if change.username.as_deref() == Some("") {
                return messages::value_format_error("UserName");
            }
            let account = &mut cx.b.accounts[i];
            if let Some(name) = change.username {
                account.username = name;
            }
            if let Some(password) = change.password {
                account.password = password;
            }
            if let Some(role) = change.role {
                account.role = role;
            }
            if let Some(enabled) = change.enabled {
                account.enabled = enabled;
            }
        }
        None => {
            // An empty iDRAC slot becomes an account once it has a name.
            let Some(username) = change.username.filter(|u| !u.is_empty()) else {
                return messages::property_missing("UserName");
            };
            cx.b.accounts.push(Account {
                id: n,
                username,
                password: change.password.unwrap_or_default(),
                role: change.role.unwrap_or(Role::NoAccess),
                enabled: change.enabled.unwrap_or(false),
            });
        }
    }
    match cx.flavor() {
        // DSP0266 lets a PATCH answer 200 with the resource as it now is: the iDRAC flavours
        // do (with its ETag), Supermicro sends a success message and the generic flavour 204,
        // so clients meet all three.
        Flavor::Dell | Flavor::Idrac10 => account(cx, id),
        _ => write_done(cx),
    }
}

/// POST `Accounts` (Supermicro, generic): 201 with the new account.
pub(crate) fn create_account(cx: &mut Ctx<'_>) -> Reply {
    let body = match cx.body() {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let change = match parse_change(cx, &body) {
        Ok(change) => change,
        Err(reply) => return reply,
    };
    let Some(username) = change.username.filter(|u| !u.is_empty()) else {
        return messages::property_missing("UserName");
    };
    let Some(password) = change.password else {
        return messages::property_missing("Password");
    };
    let Some(role) = change.role else {
        return messages::property_missing("RoleId");
    };
    if cx.b.account(&username).is_some() {
        return messages::already_exists("UserName", &username);
    }
    let id = cx.b.accounts.iter().map(|a| a.id).max().unwrap_or(0) + 1;
    let account = Account {
        id,
        username,
        password,
        role,
        enabled: change.enabled.unwrap_or(true),
    };
    let body = account_body(id, Some(&account));
    cx.b.accounts.push(account);
    Reply::json(StatusCode::CREATED, body).location(&format!("{ACCOUNTS}/{id}"))
}

/// DELETE an account (Supermicro, generic).
pub(crate) fn delete_account(cx: &mut Ctx<'_>, id: &str) -> Reply {
    let Some(n) = parse_id(cx, id) else {
        return messages::not_found(&format!("{ACCOUNTS}/{id}"));
    };
    cx.b.accounts.retain(|a| a.id != n);
    write_done(cx)
}

/// `Roles`.
pub(crate) fn roles(_cx: &Ctx<'_>) -> Reply {
    let members: Vec<String> = Role::LISTED
        .iter()
        .map(|r| format!("{ROLES}/{}", r.as_str()))
        .collect();
    collection(ROLES, "RoleCollection", "Roles Collection", &members)
}

/// One role.
pub(crate) fn role(_cx: &Ctx<'_>, id: &str) -> Reply {
    match Role::LISTED.iter().find(|r| r.as_str() == id) {
        Some(role) => Reply::resource(json!({
            "@odata.id": format!("{ROLES}/{id}"),
            "@odata.type": "#Role.v1_3_1.Role",
            "Id": id,
            "Name": format!("{id} Role"),
            "Description": format!("{id} User Role"),
            "RoleId": id,
            "IsPredefined": true,
            "AssignedPrivileges": role.privileges(),
        })),
        None => messages::not_found(&format!("{ROLES}/{id}")),
    }
}
