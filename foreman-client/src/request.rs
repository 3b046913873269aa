//! Requests as data: [`ApiRequest`] (method, path, query, JSON body), the [`Endpoint`] trait that
//! pairs a pure request builder with a pure response parser, object [`Identifier`]s, scoped
//! [`Search`] strings, and the turning of an `ApiRequest` into an `http::Request`. No IO here.

use std::fmt;

use bytes::Bytes;
use http::Method;
use http::header::{HeaderName, HeaderValue};
use percent_encoding::utf8_percent_encode;
use quads_http::api::{UNRESERVED, json_request, path_and_query};
use serde_json::Value;

use crate::Secret;
use crate::config::ForemanUrl;
use crate::error::{DecodeError, Error};

/// The `User-Agent` of every request.
pub const USER_AGENT_VALUE: &str = concat!("quads-rs-foreman-client/", env!("CARGO_PKG_VERSION"));

/// One Foreman API call before authentication: what to send, built without IO.
///
/// `Debug` shows the method, path and query only: a body may hold a password.
#[derive(Clone, PartialEq)]
pub struct ApiRequest {
    /// HTTP method.
    pub method: Method,
    /// Path below the base URL, segments already percent-encoded (`/api/hosts/node01.lab`).
    pub path: String,
    /// Query parameters, not yet encoded.
    pub query: Vec<(String, String)>,
    /// JSON body, sent with `Content-Type: application/json`.
    pub body: Option<Value>,
    /// Secrets inside the body, removed from any error message about this request.
    pub body_secrets: Vec<Secret>,
}

impl fmt::Debug for ApiRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path_and_query())
    }
}

impl ApiRequest {
    /// A request without query or body.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            body_secrets: Vec::new(),
        }
    }

    /// A GET.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    /// Adds a query parameter.
    #[must_use]
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Sets the JSON body.
    #[must_use]
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Records a secret held by the body.
    #[must_use]
    pub fn with_secret(mut self, secret: Secret) -> Self {
        self.body_secrets.push(secret);
        self
    }

    /// The value of query parameter `name`, if set.
    #[must_use]
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Path and encoded query, as sent.
    #[must_use]
    pub fn path_and_query(&self) -> String {
        path_and_query(&self.path, &self.query)
    }

    /// The HTTP request for the Foreman at `base`, with `headers` (authentication) added.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the URL or a header cannot be built.
    pub fn to_http(
        &self,
        base: &ForemanUrl,
        headers: &[(HeaderName, HeaderValue)],
    ) -> Result<http::Request<Bytes>, Error> {
        json_request(
            self.method.clone(),
            &base.join(&self.path_and_query()),
            self.body.as_ref().map(Value::to_string),
            USER_AGENT_VALUE,
            headers,
        )
        .map_err(|e| Error::InvalidInput {
            reason: format!("cannot build {} {}: {e}", self.method, self.path),
        })
    }
}

/// One endpoint: a pure request builder and a pure parser of its successful response.
///
/// Every typed request of this crate implements it, so a caller can build and check requests
/// or parse recorded responses without any IO, and send them with
/// [`crate::ForemanClient::execute`].
///
/// ```
/// use foreman_client::{Endpoint, hosts::ShowHost};
///
/// let show = ShowHost::new("node01.example.com");
/// assert_eq!(show.request().path, "/api/hosts/node01.example.com");
/// let host = show.parse(br#"{"id": 7, "name": "node01.example.com", "build": true}"#).unwrap();
/// assert_eq!(host.id, 7);
/// ```
pub trait Endpoint {
    /// What a successful response gives.
    type Output;

    /// The request to send.
    fn request(&self) -> ApiRequest;

    /// Reads a successful (2xx) response body.
    ///
    /// # Errors
    /// When the body does not have the expected shape.
    fn parse(&self, body: &[u8]) -> Result<Self::Output, DecodeError>;
}

/// How an object is named in a URL: its numeric id or its name (Foreman accepts both; a host's
/// name is its FQDN, a host group's is its title).
///
/// ```
/// use foreman_client::Identifier;
///
/// assert_eq!(Identifier::from(7).to_string(), "7");
/// assert_eq!(Identifier::from("node01.example.com").to_string(), "node01.example.com");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identifier {
    /// The numeric id.
    Id(u64),
    /// The name (or title).
    Name(String),
}

impl Identifier {
    /// The identifier as one percent-encoded path segment.
    #[must_use]
    pub fn segment(&self) -> String {
        match self {
            Self::Id(id) => id.to_string(),
            Self::Name(name) => utf8_percent_encode(name, UNRESERVED).to_string(),
        }
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => write!(f, "{id}"),
            Self::Name(name) => f.write_str(name),
        }
    }
}

impl From<u64> for Identifier {
    fn from(value: u64) -> Self {
        Self::Id(value)
    }
}

impl From<&str> for Identifier {
    fn from(value: &str) -> Self {
        Self::Name(value.to_owned())
    }
}

impl From<String> for Identifier {
    fn from(value: String) -> Self {
        Self::Name(value)
    }
}

impl From<&String> for Identifier {
    fn from(value: &String) -> Self {
        Self::Name(value.clone())
    }
}

impl From<&Identifier> for Identifier {
    fn from(value: &Identifier) -> Self {
        value.clone()
    }
}

/// A Foreman scoped-search query (`name = "node01" and build = true`).
///
/// ```
/// use foreman_client::Search;
///
/// let s = Search::eq("name", "node01.example.com").unwrap().and(&Search::raw("build = true"));
/// assert_eq!(s.to_string(), r#"name = "node01.example.com" and build = true"#);
/// assert!(Search::eq("name", r#"a"b'c"#).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search(String);

impl Search {
    /// A query as written by the user.
    pub fn raw(query: impl Into<String>) -> Self {
        Self(query.into())
    }

    /// `field = "value"`, quoted so that spaces and dots are part of the value.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the value holds both kinds of quote, which scoped search
    /// cannot express.
    pub fn eq(field: &str, value: &str) -> Result<Self, Error> {
        let quote = if !value.contains('"') {
            '"'
        } else if !value.contains('\'') {
            '\''
        } else {
            return Err(Error::InvalidInput {
                reason: format!("cannot search for a {field} holding both kinds of quote"),
            });
        };
        Ok(Self(format!("{field} = {quote}{value}{quote}")))
    }

    /// `field ^ (a,b,c)`: any of `values`. Each value must be a plain word (letters, digits,
    /// `.`, `-`, `_`, `:`, `@`), as host names and logins are.
    ///
    /// ```
    /// use foreman_client::Search;
    ///
    /// let s = Search::one_of("name", &["a.example.com", "b.example.com"]).unwrap();
    /// assert_eq!(s.as_str(), "name ^ (a.example.com,b.example.com)");
    /// assert!(Search::one_of("name", &["a b"]).is_err());
    /// assert!(Search::one_of("name", &[]).is_err());
    /// assert!(Search::listable("a.example.com") && !Search::listable("a,b"));
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for no values or a value that is not a plain word.
    pub fn one_of(field: &str, values: &[&str]) -> Result<Self, Error> {
        if values.is_empty() {
            return Err(Error::InvalidInput {
                reason: format!("a search for any {field} of none"),
            });
        }
        if let Some(bad) = values.iter().find(|v| !Self::listable(v)) {
            return Err(Error::InvalidInput {
                reason: format!("cannot search for the {field} {bad:?} in a list"),
            });
        }
        Ok(Self(format!("{field} ^ ({})", values.join(","))))
    }

    /// Whether `value` can stand in a [`Search::one_of`] list: a plain word of letters, digits,
    /// `.`, `-`, `_`, `:` or `@`.
    #[must_use]
    pub fn listable(value: &str) -> bool {
        !value.is_empty()
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '@'))
    }

    /// Both conditions.
    #[must_use]
    pub fn and(self, other: &Search) -> Self {
        Self(format!("{} and {}", self.0, other.0))
    }

    /// The query text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Search {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Search> for String {
    fn from(value: Search) -> Self {
        value.0
    }
}

/// Joins path pieces, each already encoded, under `/api`.
pub(crate) fn api_path(parts: &[&str]) -> String {
    let mut path = String::from("/api");
    for part in parts {
        path.push('/');
        path.push_str(part);
    }
    path
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use http::header::{ACCEPT, CONTENT_TYPE};

    use super::*;

    #[test]
    fn query_and_path_are_encoded() {
        let r = ApiRequest::get(api_path(&[
            "hosts",
            &Identifier::from("a b/c.example").segment(),
        ]))
        .query("search", r#"name = "x y" and build = true"#)
        .query("per_page", "all");
        assert_eq!(
            r.path_and_query(),
            "/api/hosts/a%20b%2Fc.example?search=name%20%3D%20%22x%20y%22%20and%20build%20%3D%20true&per_page=all"
        );
        assert_eq!(r.query_value("per_page"), Some("all"));
        assert_eq!(format!("{r:?}"), format!("GET {}", r.path_and_query()));
    }

    #[test]
    fn json_bodies_carry_content_type_and_headers_are_added() {
        let base = ForemanUrl::parse("https://f.example.com/prefix").unwrap();
        let r = ApiRequest::new(Method::PUT, "/api/hosts/7")
            .json(serde_json::json!({"host": {"build": true}}));
        let auth = (
            http::header::AUTHORIZATION,
            HeaderValue::from_static("Basic eDp5"),
        );
        let http = r.to_http(&base, &[auth]).unwrap();
        assert_eq!(http.method(), Method::PUT);
        assert_eq!(http.uri(), "https://f.example.com/prefix/api/hosts/7");
        assert_eq!(http.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(http.headers()[ACCEPT], "application/json");
        assert_eq!(http.headers()[http::header::AUTHORIZATION], "Basic eDp5");
        assert_eq!(http.body().as_ref(), br#"{"host":{"build":true}}"#);

        let get = ApiRequest::get("/api/status").to_http(&base, &[]).unwrap();
        assert!(get.headers().get(CONTENT_TYPE).is_none());
        assert!(get.body().is_empty());
    }

    #[test]
    fn debug_never_shows_the_body() {
        let r = ApiRequest::new(Method::POST, "/api/users")
            .json(serde_json::json!({"user": {"password": "hunter2"}}))
            .with_secret(Secret::new("hunter2"));
        assert!(!format!("{r:?}").contains("hunter2"));
    }

    #[test]
    fn search_quotes_values() {
        assert_eq!(
            Search::eq("title", "RedHat 8.6").unwrap().as_str(),
            r#"title = "RedHat 8.6""#
        );
        assert_eq!(
            Search::eq("name", r#"say "hi""#).unwrap().as_str(),
            r#"name = 'say "hi"'"#
        );
    }
}
