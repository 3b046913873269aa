//! Requests as data and responses as bytes: building an `http::Request` from a [`Call`] and
//! reading a [`Reply`] are pure; the client moves them through a transport.

use std::fmt;

use base64::Engine as _;
use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, ETAG, IF_MATCH, LOCATION};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Secret;
use crate::address::BmcAddress;
use crate::error::{Error, RequestLabel};

/// Whether a failed request may be sent again (DESIGN §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetryClass {
    /// A read: retried on transport errors, 5xx, 429 and 503.
    Read,
    /// A write: retried only on answers proving nothing was applied, or when the connection
    /// was never made.
    Write,
}

/// One Redfish request, before authentication is added.
#[derive(Clone)]
pub(crate) struct Call {
    pub method: Method,
    pub path: String,
    /// A JSON body. Never printed: a login body holds a password.
    pub body: Option<Bytes>,
    pub if_match: Option<String>,
    pub authenticated: bool,
    pub retry: RetryClass,
    /// Whether a session-limit answer is retried (not when the caller falls back to Basic).
    pub retry_session_limit: bool,
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

impl Call {
    fn new(
        method: Method,
        path: impl Into<String>,
        body: Option<Bytes>,
        retry: RetryClass,
    ) -> Self {
        Self {
            method,
            path: path.into(),
            body,
            if_match: None,
            authenticated: true,
            retry,
            retry_session_limit: true,
        }
    }

    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path, None, RetryClass::Read)
    }

    pub fn post(path: impl Into<String>, body: &Value) -> Self {
        Self::new(
            Method::POST,
            path,
            Some(json_bytes(body)),
            RetryClass::Write,
        )
    }

    pub fn patch(path: impl Into<String>, body: &Value) -> Self {
        Self::new(
            Method::PATCH,
            path,
            Some(json_bytes(body)),
            RetryClass::Write,
        )
    }

    /// A DELETE; deleting is idempotent, so it retries like a read.
    pub fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path, None, RetryClass::Read)
    }

    /// A POST of an action that only reports (changes nothing): it retries like a read.
    pub fn query(path: impl Into<String>, body: &Value) -> Self {
        Self::new(Method::POST, path, Some(json_bytes(body)), RetryClass::Read)
    }

    #[must_use]
    pub fn if_match(mut self, etag: Option<String>) -> Self {
        self.if_match = etag;
        self
    }

    #[must_use]
    pub fn unauthenticated(mut self) -> Self {
        self.authenticated = false;
        self
    }

    pub fn label(&self, bmc: &str) -> RequestLabel {
        RequestLabel {
            bmc: bmc.to_owned(),
            method: self.method.clone(),
            url: self.path.clone(),
        }
    }

    /// The HTTP request for `address` with `auth` added.
    pub fn to_http(
        &self,
        address: &BmcAddress,
        auth: &AuthHeader,
    ) -> Result<http::Request<Bytes>, Error> {
        let mut builder = http::Request::builder()
            .method(self.method.clone())
            .uri(address.url(&self.path))
            .header(ACCEPT, "application/json")
            .header("OData-Version", "4.0");
        if self.body.is_some() {
            builder = builder.header(CONTENT_TYPE, "application/json");
        }
        if let Some(etag) = &self.if_match {
            builder = builder.header(IF_MATCH, etag.as_str());
        }
        if let Some((name, value)) = auth.header()? {
            builder = builder.header(name, value);
        }
        builder
            .body(self.body.clone().unwrap_or_default())
            .map_err(|e| Error::Config {
                reason: format!("cannot build {} {}: {e}", self.method, self.path),
            })
    }
}

fn json_bytes(body: &Value) -> Bytes {
    Bytes::from(body.to_string())
}

/// The credentials added to one request.
#[derive(Clone, Debug)]
pub(crate) enum AuthHeader {
    /// None (service root, login).
    None,
    /// A session token and the generation of the session it belongs to.
    Token { token: Secret, generation: u64 },
    /// HTTP Basic, already encoded.
    Basic(Secret),
}

impl AuthHeader {
    pub fn basic(username: &str, password: &Secret) -> Self {
        let raw = format!("{username}:{}", password.expose());
        Self::Basic(Secret::new(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )))
    }

    fn header(&self) -> Result<Option<(http::HeaderName, HeaderValue)>, Error> {
        let (name, value) = match self {
            Self::None => return Ok(None),
            Self::Token { token, .. } => (http::HeaderName::from_static("x-auth-token"), token),
            Self::Basic(value) => (AUTHORIZATION, value),
        };
        let mut value = HeaderValue::from_str(value.expose()).map_err(|_| Error::Config {
            reason: "credentials hold characters a header cannot carry".to_owned(),
        })?;
        value.set_sensitive(true);
        Ok(Some((name, value)))
    }

    pub fn generation(&self) -> Option<u64> {
        match self {
            Self::Token { generation, .. } => Some(*generation),
            _ => None,
        }
    }
}

/// A successful answer.
#[derive(Clone)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub label: RequestLabel,
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} -> {}", self.label, self.status)
    }
}

impl Reply {
    /// The body decoded as `T`; errors name the JSON path.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        if self.body.is_empty() {
            return self.label.decode(b"{}");
        }
        self.label.decode(&self.body)
    }

    /// The `Location` header.
    pub fn location(&self) -> Option<String> {
        header_text(&self.headers, &LOCATION)
    }

    /// The resource's ETag: the header, else `@odata.etag` in the body.
    pub fn etag(&self) -> Option<String> {
        header_text(&self.headers, &ETAG).or_else(|| {
            serde_json::from_slice::<Value>(&self.body)
                .ok()?
                .get("@odata.etag")?
                .as_str()
                .map(str::to_owned)
        })
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

fn header_text(headers: &HeaderMap, name: &http::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn requests_carry_json_etag_and_sensitive_auth() {
        let address = BmcAddress::parse("http://127.0.0.1:9").unwrap();
        let call = Call::patch("/redfish/v1/Systems/1", &json!({"Boot": {}}))
            .if_match(Some("W/\"1\"".into()));
        let auth = AuthHeader::basic("root", &Secret::new("calvin"));
        let req = call.to_http(&address, &auth).unwrap();
        assert_eq!(req.method(), Method::PATCH);
        assert_eq!(req.uri(), "http://127.0.0.1:9/redfish/v1/Systems/1");
        assert_eq!(req.headers()[IF_MATCH], "W/\"1\"");
        assert_eq!(req.headers()[CONTENT_TYPE], "application/json");
        assert!(req.headers()[AUTHORIZATION].is_sensitive());
        assert_eq!(req.headers()[AUTHORIZATION], "Basic cm9vdDpjYWx2aW4=");
        assert!(!format!("{req:?}").contains("cm9vdDpjYWx2aW4"));
        assert!(!format!("{call:?}").contains("Boot"));
    }

    #[test]
    fn reply_etag_from_header_or_body() {
        let label = Call::get("/x").label("b");
        let mut headers = HeaderMap::new();
        let reply = Reply {
            status: StatusCode::OK,
            headers: headers.clone(),
            body: Bytes::from_static(br#"{"@odata.etag":"abc"}"#),
            label: label.clone(),
        };
        assert_eq!(reply.etag().as_deref(), Some("abc"));
        headers.insert(ETAG, "\"h\"".parse().unwrap());
        let reply = Reply { headers, ..reply };
        assert_eq!(reply.etag().as_deref(), Some("\"h\""));
    }
}
