//! Requests as data: [`ApiRequest`] (method, path below `/api/v3`, query, JSON body), the
//! [`Endpoint`] trait pairing a pure request builder with a pure answer parser, and the turning
//! of an `ApiRequest` into an `http::Request`. No IO here.

use std::fmt;

use bytes::Bytes;
use http::Method;
use http::header::{HeaderName, HeaderValue};
use percent_encoding::utf8_percent_encode;
use quads_http::api::{UNRESERVED, json_request, path_and_query};
use serde::de::DeserializeOwned;
use serde_json::Value;
use time::UtcOffset;

use crate::config::QuadsUrl;
use crate::error::Error;
use crate::time::ServerLocal;

/// The API's prefix.
pub const API_PREFIX: &str = "/api/v3";

/// The `User-Agent` of every request.
pub const USER_AGENT_VALUE: &str = concat!("quads-rs-quads-api-client/", env!("CARGO_PKG_VERSION"));

/// One API call before authentication. `Debug` shows method, path and query only.
#[derive(Clone, PartialEq)]
pub struct ApiRequest {
    /// HTTP method.
    pub method: Method,
    /// Path from the server's root, segments already encoded (`/api/v3/hosts/h1`).
    pub path: String,
    /// Query parameters, not yet encoded.
    pub query: Vec<(String, String)>,
    /// JSON body, sent with `Content-Type: application/json`.
    pub body: Option<Value>,
}

impl fmt::Debug for ApiRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path_and_query())
    }
}

impl ApiRequest {
    /// A request to `parts` below `/api/v3` (each part one path segment, encoded here); a
    /// trailing empty part gives a trailing `/`.
    #[must_use]
    pub fn new(method: Method, parts: &[&str]) -> Self {
        let mut path = String::from(API_PREFIX);
        for part in parts {
            path.push('/');
            path.extend(utf8_percent_encode(part, UNRESERVED));
        }
        Self {
            method,
            path,
            query: Vec::new(),
            body: None,
        }
    }

    /// A GET.
    #[must_use]
    pub fn get(parts: &[&str]) -> Self {
        Self::new(Method::GET, parts)
    }

    /// Adds a query parameter.
    #[must_use]
    pub fn query(mut self, name: &str, value: impl Into<String>) -> Self {
        self.query.push((name.to_owned(), value.into()));
        self
    }

    /// Sets the JSON body.
    #[must_use]
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Whether the request changes something (and so must authenticate).
    #[must_use]
    pub fn is_write(&self) -> bool {
        self.method != Method::GET && self.method != Method::HEAD
    }

    /// Path and encoded query, as sent.
    #[must_use]
    pub fn path_and_query(&self) -> String {
        path_and_query(&self.path, &self.query)
    }

    /// The HTTP request for the server at `base`, with `headers` (authentication) added.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the URL or a header cannot be built.
    pub fn to_http(
        &self,
        base: &QuadsUrl,
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

/// A successful answer that does not have the expected shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Where in the document.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

/// One endpoint: a pure request builder and a pure parser of its successful answer. Both see
/// the server's UTC offset, for the dates they write and read.
pub trait Endpoint {
    /// What a successful answer gives.
    type Output;

    /// The request to send.
    fn request(&self, server: UtcOffset) -> ApiRequest;

    /// Reads a successful (2xx) answer.
    ///
    /// # Errors
    /// When the body does not have the expected shape.
    fn parse(&self, body: &[u8], server: UtcOffset) -> Result<Self::Output, DecodeError>;

    /// Whether the answer holds a secret (a login's token): then no error quotes it.
    fn secret_answer(&self) -> bool {
        false
    }
}

/// Decodes `body` as `T`, naming the JSON path of a mismatch, and shifts its dates.
pub(crate) fn decode<T: DeserializeOwned + ServerLocal>(
    body: &[u8],
    server: UtcOffset,
) -> Result<T, DecodeError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let mut value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| DecodeError {
        path: e.path().to_string(),
        reason: e.inner().to_string(),
    })?;
    value.localize(server);
    Ok(value)
}

/// Decodes a list that QUADS may answer as `{}` when it is empty (`GET clouds`).
pub(crate) fn decode_list<T: DeserializeOwned + ServerLocal>(
    body: &[u8],
    server: UtcOffset,
) -> Result<Vec<T>, DecodeError> {
    if serde_json::from_slice::<serde_json::Map<String, Value>>(body).is_ok_and(|m| m.is_empty()) {
        return Ok(Vec::new());
    }
    decode(body, server)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use http::header::CONTENT_TYPE;

    use super::*;

    #[test]
    fn segments_and_query_are_encoded() {
        let r = ApiRequest::get(&["hosts", "a b/c.example", "interfaces"])
            .query("date", "2024-12-03T22:00");
        assert_eq!(
            r.path_and_query(),
            "/api/v3/hosts/a%20b%2Fc.example/interfaces?date=2024-12-03T22%3A00"
        );
        assert_eq!(ApiRequest::get(&["moves", ""]).path, "/api/v3/moves/");
        assert!(!r.is_write());
        assert_eq!(format!("{r:?}"), format!("GET {}", r.path_and_query()));
    }

    #[test]
    fn bodies_are_json_with_their_content_type() {
        let base = QuadsUrl::parse("http://q.example.com").unwrap();
        let r = ApiRequest::new(Method::PATCH, &["hosts", "h1"])
            .json(serde_json::json!({"build": false}));
        let h = r.to_http(&base, &[]).unwrap();
        assert_eq!(h.uri(), "http://q.example.com/api/v3/hosts/h1");
        assert_eq!(h.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(&h.body()[..], br#"{"build":false}"#);
        assert!(r.is_write());
    }
}
