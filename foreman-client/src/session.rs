//! Authentication of every request: the Basic header (sent up front, since Foreman's 401 has
//! no challenge) and Foreman's session cookie, kept so later requests skip password hashing.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use http::header::{AUTHORIZATION, COOKIE, HeaderName, HeaderValue, SET_COOKIE};
use http::{HeaderMap, StatusCode};

use crate::Secret;
use crate::config::{Credentials, SessionPolicy};
use crate::error::Error;

/// The `Authorization: Basic` value of `credentials`, marked sensitive so that hyper and
/// `Debug` never show it.
///
/// # Errors
/// [`Error::Config`] when the login or secret holds characters a header cannot carry.
pub fn basic_authorization(credentials: &Credentials) -> Result<HeaderValue, Error> {
    quads_http::api::basic_authorization(&credentials.username, &credentials.secret).ok_or_else(
        || Error::Config {
            reason: "the credentials cannot be sent in an HTTP header".to_owned(),
        },
    )
}

/// One `Set-Cookie` header read: the cookie's name, its value, and whether the server asked
/// to delete it (`Max-Age=0` or an empty value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCookie {
    /// The cookie's name.
    pub name: String,
    /// Its value.
    pub value: Secret,
    /// Whether it must be dropped.
    pub delete: bool,
}

/// Reads a `Set-Cookie` header value; `None` when it has no `name=value` pair.
#[must_use]
pub fn parse_set_cookie(header: &str) -> Option<SetCookie> {
    let mut parts = header.split(';');
    let (name, value) = parts.next()?.split_once('=')?;
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let value = value.trim().trim_matches('"');
    let expired = parts.any(|attribute| {
        let (key, val) = attribute.split_once('=').unwrap_or((attribute, ""));
        key.trim().eq_ignore_ascii_case("max-age")
            && val.trim().parse::<i64>().is_ok_and(|age| age <= 0)
    });
    Some(SetCookie {
        name: name.to_owned(),
        value: Secret::new(value),
        delete: expired || value.is_empty(),
    })
}

/// The authentication state of one client: credentials header, cookie jar, and the gate that
/// lets the first request run alone until Foreman has set its session cookie.
pub(crate) struct Session {
    policy: SessionPolicy,
    authorization: HeaderValue,
    jar: Mutex<BTreeMap<String, Secret>>,
    warmed: AtomicBool,
    gate: tokio::sync::Mutex<()>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cookies = self.lock_jar().len();
        f.debug_struct("Session")
            .field("policy", &self.policy)
            .field("authorization", &"***")
            .field("cookies", &cookies)
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn new(policy: SessionPolicy, credentials: &Credentials) -> Result<Self, Error> {
        Ok(Self {
            policy,
            authorization: basic_authorization(credentials)?,
            jar: Mutex::new(BTreeMap::new()),
            warmed: AtomicBool::new(policy == SessionPolicy::Stateless),
            gate: tokio::sync::Mutex::new(()),
        })
    }

    fn lock_jar(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Secret>> {
        self.jar.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits, while no request has completed yet, for the one that is under way: it will bring
    /// the session cookie. The guard is held for the duration of that first request.
    pub(crate) async fn admit(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        if self.warmed.load(Ordering::Acquire) {
            return None;
        }
        let guard = self.gate.lock().await;
        if self.warmed.load(Ordering::Acquire) {
            None
        } else {
            Some(guard)
        }
    }

    /// The authentication headers of the next request, and whether a cookie is among them.
    pub(crate) fn headers(&self) -> (Vec<(HeaderName, HeaderValue)>, bool) {
        let mut headers = vec![(AUTHORIZATION, self.authorization.clone())];
        let jar = self.lock_jar();
        if jar.is_empty() {
            return (headers, false);
        }
        let cookie = jar
            .iter()
            .map(|(name, value)| format!("{name}={}", value.expose()))
            .collect::<Vec<_>>()
            .join("; ");
        drop(jar);
        match HeaderValue::from_str(&cookie) {
            Ok(mut value) => {
                value.set_sensitive(true);
                headers.push((COOKIE, value));
                (headers, true)
            }
            Err(_) => (headers, false),
        }
    }

    /// Records that a request completed without an answer: later requests need not wait for
    /// the cookie any more.
    pub(crate) fn settle(&self) {
        self.warmed.store(true, Ordering::Release);
    }

    /// Takes in what a response says about the session.
    pub(crate) fn absorb(&self, status: StatusCode, headers: &HeaderMap, sent_cookie: bool) {
        self.warmed.store(true, Ordering::Release);
        if self.policy == SessionPolicy::Stateless {
            return;
        }
        let mut jar = self.lock_jar();
        if status == StatusCode::UNAUTHORIZED && sent_cookie {
            jar.clear();
        }
        for value in headers.get_all(SET_COOKIE) {
            let Some(cookie) = value.to_str().ok().and_then(parse_set_cookie) else {
                continue;
            };
            if cookie.delete {
                jar.remove(&cookie.name);
            } else {
                jar.insert(cookie.name, cookie.value);
            }
        }
    }

    /// Whether a session cookie is held.
    pub(crate) fn has_cookie(&self) -> bool {
        !self.lock_jar().is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn basic_header_is_sensitive() {
        let value = basic_authorization(&Credentials::password("admin", "changeme")).unwrap();
        assert_eq!(value, "Basic YWRtaW46Y2hhbmdlbWU=");
        assert!(value.is_sensitive());
        assert!(!format!("{value:?}").contains("YWRt"));
    }

    #[test]
    fn set_cookie_headers_are_read() {
        let c =
            parse_set_cookie("_session_id=abc123; path=/; secure; HttpOnly; SameSite=Lax").unwrap();
        assert_eq!(
            (c.name.as_str(), c.value.expose(), c.delete),
            ("_session_id", "abc123", false)
        );
        let c = parse_set_cookie("_session_id=; path=/; max-age=0").unwrap();
        assert!(c.delete);
        let c = parse_set_cookie("a=b; Max-Age=0").unwrap();
        assert!(c.delete);
        assert!(parse_set_cookie("garbage").is_none());
        assert!(parse_set_cookie("=x").is_none());
    }

    #[test]
    fn jar_keeps_replaces_and_drops_cookies() {
        let session =
            Session::new(SessionPolicy::KeepCookie, &Credentials::password("a", "b")).unwrap();
        let (headers, cookie) = session.headers();
        assert_eq!((headers.len(), cookie), (1, false));
        let mut response = HeaderMap::new();
        response.append(SET_COOKIE, "_session_id=one; path=/".parse().unwrap());
        response.append(SET_COOKIE, "other=two".parse().unwrap());
        session.absorb(StatusCode::OK, &response, false);
        let (headers, cookie) = session.headers();
        assert!(cookie);
        assert_eq!(headers[1].1, "_session_id=one; other=two");
        assert!(!format!("{session:?}").contains("one"));

        let mut response = HeaderMap::new();
        response.append(SET_COOKIE, "other=; max-age=0".parse().unwrap());
        session.absorb(StatusCode::OK, &response, true);
        assert_eq!(session.headers().0[1].1, "_session_id=one");

        session.absorb(StatusCode::UNAUTHORIZED, &HeaderMap::new(), true);
        assert!(!session.has_cookie());
    }

    #[test]
    fn stateless_sessions_ignore_cookies() {
        let session =
            Session::new(SessionPolicy::Stateless, &Credentials::password("a", "b")).unwrap();
        let mut response = HeaderMap::new();
        response.append(SET_COOKIE, "_session_id=one".parse().unwrap());
        session.absorb(StatusCode::OK, &response, false);
        assert!(!session.has_cookie());
    }

    #[tokio::test]
    async fn only_the_first_request_waits_at_the_gate() {
        let session =
            Session::new(SessionPolicy::KeepCookie, &Credentials::password("a", "b")).unwrap();
        let first = session.admit().await;
        assert!(first.is_some());
        session.absorb(StatusCode::OK, &HeaderMap::new(), false);
        drop(first);
        assert!(session.admit().await.is_none());
    }
}
