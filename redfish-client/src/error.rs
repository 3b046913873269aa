//! The crate's one error type: which BMC, which request, what the BMC said, and whether trying
//! again may help. No password or token ever reaches it.

use std::fmt;
use std::time::Duration;

use quads_http::TransportError;

use crate::vendor::{self, Transient};

/// Longest response body excerpt kept in an error.
pub const BODY_EXCERPT_CHARS: usize = 300;

/// Everything that can go wrong talking to a BMC.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request did not get an answer (connect, TLS, reset, timeout).
    #[error("{bmc}: {method} {url}: {source}")]
    Transport {
        /// BMC address.
        bmc: String,
        /// HTTP method.
        method: http::Method,
        /// Request path.
        url: String,
        /// What the transport said.
        #[source]
        source: TransportError,
    },
    /// The BMC answered with an error status.
    #[error("{bmc}: {method} {url}: HTTP {status}{}", message_suffix(.message_id.as_deref(), .message.as_deref(), .body))]
    Status {
        /// BMC address.
        bmc: String,
        /// HTTP method.
        method: http::Method,
        /// Request path.
        url: String,
        /// The status.
        status: http::StatusCode,
        /// `@Message.ExtendedInfo[0].MessageId`, if any.
        message_id: Option<String>,
        /// `@Message.ExtendedInfo[0].Message` (or `error.message`), if any.
        message: Option<String>,
        /// The start of the body.
        body: String,
        /// `Retry-After`, when the BMC sent one.
        retry_after: Option<Duration>,
    },
    /// A response body did not have the expected shape.
    #[error("{bmc}: {method} {url}: unexpected JSON at {path}: {reason}; body: {body}")]
    Decode {
        /// BMC address.
        bmc: String,
        /// HTTP method.
        method: http::Method,
        /// Request path.
        url: String,
        /// Where in the JSON document (`Boot.BootOrder[2]`).
        path: String,
        /// What serde said.
        reason: String,
        /// The start of the body.
        body: String,
    },
    /// The credentials were refused.
    #[error("{bmc}: login as {user:?} refused: {reason}")]
    Auth {
        /// BMC address.
        bmc: String,
        /// The user name (never the password).
        user: String,
        /// What went wrong.
        reason: String,
    },
    /// The BMC lacks what the operation needs.
    #[error("{bmc}: not supported: {what}")]
    Unsupported {
        /// BMC address.
        bmc: String,
        /// What is missing.
        what: String,
    },
    /// The caller asked for something the BMC does not have or accept (a device, an attribute,
    /// a value outside the registry).
    #[error("{bmc}: {reason}")]
    Invalid {
        /// BMC address.
        bmc: String,
        /// What is wrong.
        reason: String,
    },
    /// A wait ran past its deadline.
    #[error("{bmc}: gave up waiting for {what} after {waited:?} (last seen: {last})")]
    Timeout {
        /// BMC address.
        bmc: String,
        /// What was awaited.
        what: String,
        /// How long.
        waited: Duration,
        /// The last state observed.
        last: String,
    },
    /// The caller cancelled the operation.
    #[error("{bmc}: cancelled while {what}")]
    Cancelled {
        /// BMC address.
        bmc: String,
        /// What was going on.
        what: String,
    },
    /// A BMC job or task ended badly.
    #[error("{bmc}: {kind} {id} ended {state}: {message}")]
    JobFailed {
        /// BMC address.
        bmc: String,
        /// `job` or `task`.
        kind: &'static str,
        /// Its id.
        id: String,
        /// Its final state.
        state: String,
        /// Its message.
        message: String,
    },
    /// The client was closed (Ctrl-C) and starts nothing new.
    #[error("{bmc}: client closed, no new session")]
    Closed {
        /// BMC address.
        bmc: String,
    },
    /// Bad settings or arguments given to the client (address, TLS files, interfaces YAML).
    #[error("{reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
}

fn message_suffix(id: Option<&str>, message: Option<&str>, body: &str) -> String {
    match (id, message) {
        (Some(id), Some(m)) => format!(": {m} ({id})"),
        (None, Some(m)) => format!(": {m}"),
        (Some(id), None) => format!(" ({id})"),
        (None, None) if body.is_empty() => String::new(),
        (None, None) => format!(": {body}"),
    }
}

impl Error {
    /// Whether trying the same request again may succeed: transport failures, 5xx, 429, and
    /// the answers a BMC gives while busy ([`Error::transient`]).
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport { source, .. } => source.is_retryable(),
            Self::Status { status, .. } => {
                (status.is_server_error()
                    && *status != http::StatusCode::NOT_IMPLEMENTED
                    && *status != http::StatusCode::HTTP_VERSION_NOT_SUPPORTED)
                    || *status == http::StatusCode::TOO_MANY_REQUESTS
                    || self.transient().is_some()
            }
            _ => false,
        }
    }

    /// Whether the BMC may have received and applied the request although no success came
    /// back: a connection broken mid-request, a timeout, or a 5xx that is not a "busy"
    /// answer. A refused connection, a "busy" answer and every 4xx prove nothing was applied.
    #[must_use]
    pub fn may_have_been_applied(&self) -> bool {
        match self {
            Self::Transport { source, .. } => source.request_may_have_been_applied(),
            Self::Status { status, .. } => {
                status.is_server_error()
                    && *status != http::StatusCode::SERVICE_UNAVAILABLE
                    && self.transient().is_none()
            }
            _ => false,
        }
    }

    /// The kind of "busy, try later" answer this is, if it is one: it proves nothing was
    /// applied, so even writes may be sent again.
    #[must_use]
    pub fn transient(&self) -> Option<Transient> {
        match self {
            Self::Status {
                status,
                message_id,
                message,
                ..
            } => vendor::classify_transient(*status, message_id.as_deref(), message.as_deref()),
            _ => None,
        }
    }

    /// The HTTP status, for errors that have one.
    #[must_use]
    pub fn status(&self) -> Option<http::StatusCode> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the BMC answered 404.
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(http::StatusCode::NOT_FOUND)
    }

    /// Whether the request certainly never reached the BMC (so a write may be repeated).
    #[must_use]
    pub fn never_sent(&self) -> bool {
        matches!(
            self,
            Self::Transport {
                source: TransportError::Connect { .. },
                ..
            }
        )
    }

    /// `Retry-After`, when the BMC sent one.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The BMC's own message, when it sent one.
    #[must_use]
    pub fn message(&self) -> Option<&str> {
        match self {
            Self::Status { message, .. } => message.as_deref(),
            _ => None,
        }
    }
}

/// The first `@Message.ExtendedInfo` entry of a Redfish error (or success) body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtendedInfo {
    /// `MessageId` (`IDRAC.2.8.RAC0218`, `Base.1.8.GeneralError`).
    pub message_id: Option<String>,
    /// `Message`.
    pub message: Option<String>,
}

impl ExtendedInfo {
    /// Reads the first `@Message.ExtendedInfo` entry of `{"error": {...}}` or of the top level,
    /// falling back to `error.message` and `error.code`.
    #[must_use]
    pub fn parse(body: &[u8]) -> Self {
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
            return Self::default();
        };
        let error = value.get("error").unwrap_or(&value);
        let first = error
            .get("@Message.ExtendedInfo")
            .and_then(|v| v.as_array())
            .and_then(|a| a.first());
        let text = |v: Option<&serde_json::Value>, key: &str| {
            v.and_then(|v| v.get(key))
                .and_then(|m| m.as_str())
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Self {
            message_id: text(first, "MessageId").or_else(|| text(Some(error), "code")),
            message: text(first, "Message").or_else(|| text(Some(error), "message")),
        }
    }
}

/// The start of a body as text, for error messages.
#[must_use]
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let mut out: String = text.chars().take(BODY_EXCERPT_CHARS).collect();
    if text.chars().count() > BODY_EXCERPT_CHARS {
        out.push('…');
    }
    out
}

/// A request described for an error: the BMC, method and path.
#[derive(Clone)]
pub(crate) struct RequestLabel {
    pub bmc: String,
    pub method: http::Method,
    pub url: String,
}

impl fmt::Debug for RequestLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.bmc, self.method, self.url)
    }
}

impl RequestLabel {
    pub(crate) fn status(
        &self,
        status: http::StatusCode,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Error {
        let info = ExtendedInfo::parse(body);
        let retry_after = quads_http::retry_after(headers);
        Error::Status {
            bmc: self.bmc.clone(),
            method: self.method.clone(),
            url: self.url.clone(),
            status,
            message_id: info.message_id,
            message: info.message,
            body: excerpt(body),
            retry_after,
        }
    }

    pub(crate) fn transport(&self, source: TransportError) -> Error {
        Error::Transport {
            bmc: self.bmc.clone(),
            method: self.method.clone(),
            url: self.url.clone(),
            source,
        }
    }

    pub(crate) fn decode<T: serde::de::DeserializeOwned>(&self, body: &[u8]) -> Result<T, Error> {
        // The plain decoder is several times cheaper than one that tracks the path (that
        // one allocates every key it passes); it runs again only to name where a bad body
        // went wrong.
        if let Ok(value) = serde_json::from_slice(body) {
            return Ok(value);
        }
        let mut de = serde_json::Deserializer::from_slice(body);
        serde_path_to_error::deserialize(&mut de).map_err(|e| Error::Decode {
            bmc: self.bmc.clone(),
            method: self.method.clone(),
            url: self.url.clone(),
            path: e.path().to_string(),
            reason: e.inner().to_string(),
            body: excerpt(body),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn label() -> RequestLabel {
        RequestLabel {
            bmc: "10.0.0.1".into(),
            method: http::Method::POST,
            url: "/redfish/v1/SessionService/Sessions".into(),
        }
    }

    const RAC0218: &str = r#"{"error":{"@Message.ExtendedInfo":[{"Message":"The maximum number of user sessions is reached.","MessageId":"IDRAC.2.1.RAC0218","Severity":"Informational"}],"code":"Base.1.5.GeneralError","message":"A general error has occurred. See ExtendedInfo for more information"}}"#;

    #[test]
    fn status_errors_name_bmc_request_and_message() {
        let e = label().status(
            http::StatusCode::SERVICE_UNAVAILABLE,
            &http::HeaderMap::new(),
            RAC0218.as_bytes(),
        );
        let text = e.to_string();
        assert!(text.starts_with("10.0.0.1: POST /redfish/v1/SessionService/Sessions: HTTP 503"));
        assert!(
            text.contains("The maximum number of user sessions is reached. (IDRAC.2.1.RAC0218)")
        );
        assert_eq!(e.transient(), Some(Transient::SessionLimit));
        assert!(e.is_retryable());
    }

    #[test]
    fn extended_info_falls_back_to_error_message() {
        let info =
            ExtendedInfo::parse(br#"{"error":{"code":"Base.1.0.GeneralError","message":"boom"}}"#);
        assert_eq!(info.message.as_deref(), Some("boom"));
        assert_eq!(info.message_id.as_deref(), Some("Base.1.0.GeneralError"));
        assert_eq!(
            ExtendedInfo::parse(b"<html>busy</html>"),
            ExtendedInfo::default()
        );
    }

    #[test]
    fn decode_errors_name_the_json_path() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Boot {
            #[serde(rename = "BootOrder")]
            order: Vec<String>,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct System {
            #[serde(rename = "Boot")]
            boot: Boot,
        }
        let e = label()
            .decode::<System>(br#"{"Boot":{"BootOrder":["Boot0001", 7]}}"#)
            .unwrap_err();
        assert!(e.to_string().contains("Boot.BootOrder[1]"), "{e}");
    }

    #[test]
    fn retry_after_and_excerpt() {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, "7".parse().unwrap());
        let long = "x".repeat(1000);
        let e = label().status(http::StatusCode::BAD_GATEWAY, &headers, long.as_bytes());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        // an HTTP date (here one long past: retry at once) is read too
        let long_past = "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap();
        let dated = http::HeaderMap::from_iter([(http::header::RETRY_AFTER, long_past)]);
        let d = label().status(http::StatusCode::SERVICE_UNAVAILABLE, &dated, b"");
        assert_eq!(d.retry_after(), Some(Duration::ZERO));
        match e {
            Error::Status { body, .. } => assert_eq!(body.chars().count(), BODY_EXCERPT_CHARS + 1),
            other => panic!("{other}"),
        }
    }
}
