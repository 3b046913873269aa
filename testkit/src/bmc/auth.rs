//! Who is asking: a session token (`X-Auth-Token`), HTTP Basic credentials, or nobody (the
//! public resources), and what each role may do.

use base64::Engine as _;
use http::Method;

use super::messages;
use super::reply::Reply;
use super::router::Route;
use super::state::{BmcState, Role};
use crate::server::Request;

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Principal {
    /// No credentials (public resources only).
    Anonymous,
    /// An authenticated account.
    User {
        /// Login.
        username: String,
        /// Its role now.
        role: Role,
        /// The session used, if the request came with a token.
        session: Option<u32>,
    },
}

impl Principal {
    /// The role, if authenticated.
    pub(crate) fn role(&self) -> Option<Role> {
        match self {
            Self::Anonymous => None,
            Self::User { role, .. } => Some(*role),
        }
    }

    /// The login, if authenticated.
    pub(crate) fn username(&self) -> Option<&str> {
        match self {
            Self::Anonymous => None,
            Self::User { username, .. } => Some(username),
        }
    }
}

/// Resources anyone may read, and the login itself.
pub(crate) fn is_public(route: &Route, method: &Method) -> bool {
    match route {
        Route::Versions | Route::Root | Route::OData | Route::Metadata => {
            method == Method::GET || method == Method::HEAD
        }
        Route::Sessions => method == Method::POST,
        _ => false,
    }
}

/// Identifies the caller; `Err` is the 401 to send. `now` is lab seconds (session use time).
pub(crate) fn authenticate(
    request: &Request,
    bmc: &mut BmcState,
    now: f64,
    public: bool,
) -> Result<Principal, Reply> {
    if let Some(token) = request.header("x-auth-token") {
        let Some(session) = bmc.session_by_token(token) else {
            return if public {
                Ok(Principal::Anonymous)
            } else {
                Err(messages::unauthorized())
            };
        };
        session.last_used = now;
        let (id, username) = (session.id, session.username.clone());
        // The account behind the session may have been disabled or removed since.
        return match bmc
            .account(&username)
            .filter(|a| a.enabled && a.role != Role::NoAccess)
        {
            Some(account) => Ok(Principal::User {
                username,
                role: account.role,
                session: Some(id),
            }),
            None if public => Ok(Principal::Anonymous),
            None => Err(messages::unauthorized()),
        };
    }
    if let Some((username, password)) = basic_credentials(request) {
        return match bmc.check_login(&username, &password) {
            Some(role) => Ok(Principal::User {
                username,
                role,
                session: None,
            }),
            None if public => Ok(Principal::Anonymous),
            None => Err(messages::unauthorized()),
        };
    }
    if public {
        Ok(Principal::Anonymous)
    } else {
        Err(messages::unauthorized())
    }
}

/// The user name and password of an `Authorization: Basic` header.
pub(crate) fn basic_credentials(request: &Request) -> Option<(String, String)> {
    let header = request.header("authorization")?;
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// What a write needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Privilege {
    /// Any logged-in account.
    Login,
    /// Power, boot, BIOS, media, jobs (`ConfigureComponents`).
    ConfigureComponents,
    /// The manager itself (`ConfigureManager`).
    ConfigureManager,
    /// Accounts (`ConfigureUsers`).
    ConfigureUsers,
}

/// The privilege a request needs (account self-service is decided by the account handler).
pub(crate) fn required(route: &Route, method: &Method) -> Privilege {
    if method == Method::GET || method == Method::HEAD {
        return Privilege::Login;
    }
    match route {
        Route::Sessions | Route::Session(_) | Route::Account(_) => Privilege::Login,
        Route::Accounts | Route::AccountService | Route::SessionService => {
            Privilege::ConfigureUsers
        }
        Route::Manager | Route::ManagerReset | Route::DeleteJobQueue => Privilege::ConfigureManager,
        _ => Privilege::ConfigureComponents,
    }
}

/// Whether `role` holds `privilege`.
pub(crate) fn grants(role: Role, privilege: Privilege) -> bool {
    let name = match privilege {
        Privilege::Login => "Login",
        Privilege::ConfigureComponents => "ConfigureComponents",
        Privilege::ConfigureManager => "ConfigureManager",
        Privilege::ConfigureUsers => "ConfigureUsers",
    };
    role.privileges().contains(&name)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::bmc::state::Account;

    fn request(headers: &[(&'static str, &str)]) -> Request {
        let mut map = http::HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, v.parse().expect("header"));
        }
        Request {
            method: Method::GET,
            path: "/redfish/v1/Systems".into(),
            raw_query: String::new(),
            query: Vec::new(),
            headers: map,
            body: Bytes::new(),
            local: "127.0.1.1:443".parse().expect("addr"),
        }
    }

    fn bmc() -> BmcState {
        BmcState {
            accounts: vec![Account {
                id: 2,
                username: "root".into(),
                password: "calvin".into(),
                role: Role::Operator,
                enabled: true,
            }],
            ..BmcState::default()
        }
    }

    #[test]
    fn basic_and_tokens() {
        let mut state = bmc();
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("root:calvin")
        );
        let who = authenticate(
            &request(&[("authorization", &basic)]),
            &mut state,
            0.0,
            false,
        )
        .expect("basic");
        assert_eq!(who.role(), Some(Role::Operator));
        assert!(authenticate(&request(&[]), &mut state, 0.0, false).is_err());
        assert_eq!(
            authenticate(&request(&[]), &mut state, 0.0, true).ok(),
            Some(Principal::Anonymous)
        );
        let bad = authenticate(
            &request(&[("x-auth-token", "00ff")]),
            &mut state,
            0.0,
            false,
        )
        .expect_err("unknown token");
        assert_eq!(bad.status, http::StatusCode::UNAUTHORIZED);
        let clock = crate::clock::LabClock::new(1.0, 1);
        let token = state
            .open_session("root", 8, &clock, 0)
            .expect("session")
            .token_text();
        let who = authenticate(
            &request(&[("x-auth-token", &token)]),
            &mut state,
            5.0,
            false,
        )
        .expect("token");
        assert_eq!(who.username(), Some("root"));
        assert!((state.sessions[0].last_used - 5.0).abs() < 1e-9);
        state.accounts[0].enabled = false;
        assert!(
            authenticate(
                &request(&[("x-auth-token", &token)]),
                &mut state,
                5.0,
                false
            )
            .is_err()
        );
    }

    #[test]
    fn roles_and_privileges() {
        assert!(grants(Role::Operator, Privilege::ConfigureComponents));
        assert!(!grants(Role::Operator, Privilege::ConfigureUsers));
        assert!(!grants(Role::ReadOnly, Privilege::ConfigureComponents));
        assert!(grants(Role::Administrator, Privilege::ConfigureManager));
        assert_eq!(
            required(&Route::SystemReset, &Method::POST),
            Privilege::ConfigureComponents
        );
        assert_eq!(
            required(&Route::SystemReset, &Method::GET),
            Privilege::Login
        );
        assert!(is_public(&Route::Sessions, &Method::POST));
        assert!(!is_public(&Route::Sessions, &Method::GET));
    }
}
