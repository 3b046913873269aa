//! The crate's one error type: which request, what Foreman said (any of its three error body
//! shapes, or an HTML page from the web server in front of it), and whether trying again may
//! help. No password, token or session cookie ever reaches it.

use std::fmt;
use std::time::Duration;

use http::{HeaderMap, Method, StatusCode};
use quads_http::TransportError;
use serde_json::Value;

/// Longest response body excerpt kept in an error, in characters.
pub const BODY_EXCERPT_CHARS: usize = 300;

/// Everything that can go wrong talking to Foreman.
///
/// ```
/// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
/// match client.hosts().show("node01.example.com").send().await {
///     Ok(host) => println!("{} build={:?}", host.name, host.build),
///     // An object the user may not see answers 404 exactly like a missing one.
///     Err(e) if e.is_not_found() => println!("no such host (or not visible to this user)"),
///     Err(e) if e.is_retryable() => println!("try again later: {e}"),
///     Err(e) => return Err(e),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Foreman (or the web server in front of it) answered with an error status.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The request did not get an answer: connect, TLS, reset or timeout.
    #[error("{method} {url}: {source}")]
    Transport {
        /// HTTP method.
        method: Method,
        /// Request URL (never with credentials).
        url: String,
        /// What the transport said.
        #[source]
        source: TransportError,
    },
    /// A successful response did not have the expected shape.
    #[error("{method} {url}: unexpected JSON at {path}: {reason}; body: {body}")]
    Decode {
        /// HTTP method.
        method: Method,
        /// Request URL.
        url: String,
        /// Where in the JSON document (`results[3].build`).
        path: String,
        /// What serde said.
        reason: String,
        /// The start of the body.
        body: String,
    },
    /// A name lookup (operating system, partition table, ...) found no object, or more than
    /// one. The client never picks one of several candidates.
    #[error("{kind} {name:?} {problem}")]
    Lookup {
        /// What was looked up (`operating system`, `partition table`, ...).
        kind: &'static str,
        /// The name or title asked for.
        name: String,
        /// Unknown or ambiguous.
        problem: LookupProblem,
    },
    /// Foreman accepted a write but the object it returned does not show it.
    #[error("{method} {url}: {what}")]
    Inconsistent {
        /// HTTP method.
        method: Method,
        /// Request URL.
        url: String,
        /// What does not match.
        what: String,
    },
    /// An argument the client cannot send (for example a search value with a `"` in it).
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What is wrong.
        reason: String,
    },
    /// Bad settings (URL, TLS files).
    #[error("{reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
}

/// Why a lookup by name did not give exactly one object.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LookupProblem {
    /// No object has that exact name or title (or the user may not see it).
    Unknown,
    /// Several objects have it; the caller must say which.
    Ambiguous {
        /// `(id, title)` of each candidate.
        candidates: Vec<(u64, String)>,
    },
}

impl fmt::Display for LookupProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown => f.write_str("not found in Foreman (the name must match exactly)"),
            Self::Ambiguous { candidates } => {
                write!(f, "is ambiguous: {} objects match (", candidates.len())?;
                for (i, (id, title)) in candidates.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "id {id}: {title:?}")?;
                }
                f.write_str("); give the full title or the id")
            }
        }
    }
}

/// How Foreman's error answers are told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// 400: a bad search or parameter.
    BadRequest,
    /// 401: wrong credentials (Foreman sends no challenge), a disabled account, or too many
    /// failed logins.
    Unauthorized,
    /// 403: the user lacks a permission (`missing_permissions` says which).
    Forbidden,
    /// 404: no such object, or one that RBAC hides from this user.
    NotFound,
    /// 422: validation failed (`full_messages` has Foreman's messages).
    Validation,
    /// 503: Foreman is in maintenance or its request queue is full (often an HTML page).
    Unavailable,
    /// Any other 5xx.
    Server,
    /// Anything else that is not a success (a redirect, 409, 415, ...).
    Other,
}

impl ApiErrorKind {
    /// The kind of a status.
    #[must_use]
    pub fn of(status: StatusCode) -> Self {
        match status.as_u16() {
            400 => Self::BadRequest,
            401 => Self::Unauthorized,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            422 => Self::Validation,
            503 => Self::Unavailable,
            500..=599 => Self::Server,
            _ => Self::Other,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::BadRequest => "bad request",
            Self::Unauthorized => "authentication failed",
            Self::Forbidden => "permission denied",
            Self::NotFound => "not found (or hidden by RBAC)",
            Self::Validation => "validation failed",
            Self::Unavailable => "Foreman unavailable",
            Self::Server => "server error",
            Self::Other => "unexpected status",
        }
    }
}

/// An error answer from Foreman, with everything it said that helps.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP method of the request.
    pub method: Method,
    /// Request URL (never with credentials).
    pub url: String,
    /// The status.
    pub status: StatusCode,
    /// The status, classified.
    pub kind: ApiErrorKind,
    /// Foreman's message (`error.message`, `error` as text, or a flat `message`).
    pub message: Option<String>,
    /// `error.details` (for a 403, which permission is missing, in words).
    pub details: Option<String>,
    /// `error.full_messages` of a validation error.
    pub full_messages: Vec<String>,
    /// `error.missing_permissions` of a 403.
    pub missing_permissions: Vec<String>,
    /// The start of the body (HTML reduced to its text), secrets removed.
    pub body: String,
    /// `Retry-After`, when the server sent one (seconds or an HTTP date).
    pub retry_after: Option<Duration>,
    /// `Location` of a redirect (for example from `http://` to `https://`).
    pub location: Option<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: HTTP {}: {}",
            self.method,
            self.url,
            self.status.as_u16(),
            self.kind.describe()
        )?;
        let mut said = false;
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
            said = true;
        }
        if let Some(details) = &self.details {
            write!(f, ": {details}")?;
            said = true;
        }
        if !self.full_messages.is_empty() {
            write!(f, ": {}", self.full_messages.join("; "))?;
            said = true;
        }
        if let Some(location) = &self.location {
            write!(f, " (redirected to {location}; use that URL)")?;
            said = true;
        }
        if !said && !self.body.is_empty() {
            write!(f, ": {}", self.body)?;
        }
        Ok(())
    }
}

impl Error {
    /// Whether sending the same request again may succeed: transport failures and timeouts,
    /// 5xx (including 503 from a full request queue), 408 and 429.
    ///
    /// This says nothing about whether a *write* may be repeated; see
    /// [`Error::request_may_have_been_applied`].
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport { source, .. } => source.is_retryable(),
            Self::Api(api) => {
                api.status.is_server_error()
                    || api.status == StatusCode::REQUEST_TIMEOUT
                    || api.status == StatusCode::TOO_MANY_REQUESTS
            }
            _ => false,
        }
    }

    /// Whether Foreman may have received and applied the request: true for timeouts and
    /// connections broken mid-request, and for 500 (the action may have partly run).
    /// A refused connection, a 503 and every 4xx prove nothing was applied.
    #[must_use]
    pub fn request_may_have_been_applied(&self) -> bool {
        match self {
            Self::Transport { source, .. } => source.request_may_have_been_applied(),
            Self::Api(api) => {
                api.status.is_server_error() && api.status != StatusCode::SERVICE_UNAVAILABLE
            }
            _ => false,
        }
    }

    /// The error answer, if Foreman gave one.
    #[must_use]
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::Api(api) => Some(api),
            _ => None,
        }
    }

    /// The HTTP status, for errors that have one.
    #[must_use]
    pub fn status(&self) -> Option<StatusCode> {
        self.api().map(|a| a.status)
    }

    /// The classified status, for errors that have one.
    #[must_use]
    pub fn kind(&self) -> Option<ApiErrorKind> {
        self.api().map(|a| a.kind)
    }

    /// 404: the object does not exist or RBAC hides it from this user.
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        self.kind() == Some(ApiErrorKind::NotFound)
    }

    /// 401: the credentials were refused.
    #[must_use]
    pub fn is_unauthorized(&self) -> bool {
        self.kind() == Some(ApiErrorKind::Unauthorized)
    }

    /// 403: a permission is missing.
    #[must_use]
    pub fn is_forbidden(&self) -> bool {
        self.kind() == Some(ApiErrorKind::Forbidden)
    }

    /// 422: Foreman's validation refused the change.
    #[must_use]
    pub fn is_validation(&self) -> bool {
        self.kind() == Some(ApiErrorKind::Validation)
    }

    /// `Retry-After`, when the server sent one.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        self.api().and_then(|a| a.retry_after)
    }
}

impl From<ApiError> for Error {
    fn from(value: ApiError) -> Self {
        Self::Api(Box::new(value))
    }
}

/// What Foreman's error body says, from any of its shapes:
/// `{"error": {"message", "details", "full_messages", "missing_permissions"}}`,
/// `{"error": "text"}`, a flat `{"message": "text"}`, or `{"errors": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorBody {
    /// The main message.
    pub message: Option<String>,
    /// `details` of an access-denied answer.
    pub details: Option<String>,
    /// Validation messages.
    pub full_messages: Vec<String>,
    /// Permission names of an access-denied answer.
    pub missing_permissions: Vec<String>,
}

impl ErrorBody {
    /// Reads an error body; anything that is not JSON (an HTML page) gives an empty value.
    #[must_use]
    pub fn parse(body: &[u8]) -> Self {
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            return Self::default();
        };
        let text = |v: Option<&Value>| {
            v.and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let strings = |v: Option<&Value>| -> Vec<String> {
            match v {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect(),
                Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
                _ => Vec::new(),
            }
        };
        match value.get("error") {
            Some(Value::String(s)) => Self {
                message: text(Some(&Value::String(s.clone()))),
                ..Self::default()
            },
            Some(error @ Value::Object(_)) => Self {
                message: text(error.get("message")),
                details: text(error.get("details")),
                full_messages: strings(error.get("full_messages")),
                missing_permissions: strings(error.get("missing_permissions")),
            },
            _ => Self {
                message: text(value.get("message")),
                full_messages: strings(value.get("errors")),
                ..Self::default()
            },
        }
    }
}

/// The request an error is about, and the secrets that must not appear in it.
#[derive(Clone)]
pub(crate) struct RequestLabel<'a> {
    pub method: &'a Method,
    pub url: &'a str,
    pub secrets: &'a [&'a str],
}

impl RequestLabel<'_> {
    pub(crate) fn transport(&self, source: TransportError) -> Error {
        Error::Transport {
            method: self.method.clone(),
            url: self.url.to_owned(),
            source,
        }
    }

    /// The error for a non-success answer.
    pub(crate) fn status(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
        let parsed = ErrorBody::parse(body);
        let scrub = |s: String| redact(&s, self.secrets);
        let retry_after = quads_http::retry_after(headers);
        let location = if status.is_redirection() {
            headers
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        } else {
            None
        };
        ApiError {
            method: self.method.clone(),
            url: self.url.to_owned(),
            status,
            kind: ApiErrorKind::of(status),
            message: parsed.message.map(scrub),
            details: parsed.details.map(scrub),
            full_messages: parsed.full_messages.into_iter().map(scrub).collect(),
            missing_permissions: parsed.missing_permissions,
            body: redact(&excerpt(body), self.secrets),
            retry_after,
            location,
        }
        .into()
    }

    pub(crate) fn decode(&self, failure: DecodeError, body: &[u8]) -> Error {
        Error::Decode {
            method: self.method.clone(),
            url: self.url.to_owned(),
            path: failure.path,
            reason: redact(&failure.reason, self.secrets),
            body: redact(&excerpt(body), self.secrets),
        }
    }

    pub(crate) fn inconsistent(&self, what: impl Into<String>) -> Error {
        Error::Inconsistent {
            method: self.method.clone(),
            url: self.url.to_owned(),
            what: what.into(),
        }
    }
}

/// A JSON document that did not decode: where, and why. Pure parsers return it; the client
/// adds the request and body to make an [`Error::Decode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Path of the offending value (`results[2].id`), `.` for the document itself.
    pub path: String,
    /// What serde said.
    pub reason: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unexpected JSON at {}: {}", self.path, self.reason)
    }
}

impl std::error::Error for DecodeError {}

/// Decodes a JSON body, naming the path of the first value that does not fit.
///
/// # Errors
/// When the body is not JSON of the shape `T`.
pub fn decode_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, DecodeError> {
    // The plain decoder is several times cheaper than one that tracks the path; it runs
    // again only to name where a bad body went wrong.
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| DecodeError {
        path: e.path().to_string(),
        reason: e.inner().to_string(),
    })
}

/// The start of a body as one line of text; an HTML page is reduced to its text.
#[must_use]
pub fn excerpt(body: &[u8]) -> String {
    let raw = String::from_utf8_lossy(body);
    let trimmed = raw.trim();
    let text = if trimmed.starts_with('<') {
        html_text(trimmed)
    } else {
        trimmed.to_owned()
    };
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = collapsed.chars().take(BODY_EXCERPT_CHARS).collect();
    if collapsed.chars().count() > BODY_EXCERPT_CHARS {
        out.push('…');
    }
    out
}

/// The text of an HTML page, without tags, scripts and styles.
fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        out.push(' ');
        let after = &rest[start..];
        let lower = after.get(..7).unwrap_or(after).to_ascii_lowercase();
        let closing = if lower.starts_with("<script") {
            Some("</script>")
        } else if lower.starts_with("<style") {
            Some("</style>")
        } else {
            None
        };
        let end = match closing {
            Some(tag) => after
                .to_ascii_lowercase()
                .find(tag)
                .map(|i| i + tag.len())
                .unwrap_or(after.len()),
            None => after.find('>').map(|i| i + 1).unwrap_or(after.len()),
        };
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// `text` with every occurrence of each non-empty secret replaced by `***`.
#[must_use]
pub(crate) fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        if out.contains(secret) {
            out = out.replace(secret, "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn label<'a>(secrets: &'a [&'a str]) -> RequestLabel<'a> {
        RequestLabel {
            method: &Method::PUT,
            url: "https://f.example.com/api/hosts/7",
            secrets,
        }
    }

    fn status(code: u16, body: &str) -> Error {
        label(&[]).status(
            StatusCode::from_u16(code).unwrap(),
            &HeaderMap::new(),
            body.as_bytes(),
        )
    }

    #[test]
    fn nested_error_object_with_full_messages() {
        let e = status(
            422,
            r#"{"error":{"id":7,"errors":{"name":["has already been taken"]},"full_messages":["Name has already been taken"]}}"#,
        );
        assert!(e.is_validation());
        assert!(!e.is_retryable());
        let api = e.api().unwrap();
        assert_eq!(api.full_messages, vec!["Name has already been taken"]);
        assert_eq!(
            e.to_string(),
            "PUT https://f.example.com/api/hosts/7: HTTP 422: validation failed: Name has already been taken"
        );
    }

    #[test]
    fn access_denied_names_the_missing_permission() {
        let e = status(
            403,
            r#"{"error":{"message":"Access denied","details":"Missing one of the required permissions: edit_hosts","missing_permissions":["edit_hosts"]}}"#,
        );
        assert!(e.is_forbidden());
        let api = e.api().unwrap();
        assert_eq!(api.missing_permissions, vec!["edit_hosts"]);
        assert!(
            e.to_string()
                .ends_with("Access denied: Missing one of the required permissions: edit_hosts")
        );
    }

    #[test]
    fn error_as_text_and_flat_message() {
        let e = status(
            422,
            r#"{"error":"Unknown power action: available methods are on, off"}"#,
        );
        assert_eq!(
            e.api().unwrap().message.as_deref(),
            Some("Unknown power action: available methods are on, off")
        );
        let e = status(404, r#"{"message":"Route not found"}"#);
        assert!(e.is_not_found());
        assert_eq!(e.api().unwrap().message.as_deref(), Some("Route not found"));
        let e = status(
            400,
            r#"{"status":400,"error":"There was a problem in the JSON you submitted"}"#,
        );
        assert_eq!(e.kind(), Some(ApiErrorKind::BadRequest));
        assert!(e.to_string().contains("problem in the JSON"));
        let e = status(500, r#"{"errors":["Failed to power cycle"]}"#);
        assert_eq!(
            e.api().unwrap().full_messages,
            vec!["Failed to power cycle"]
        );
    }

    #[test]
    fn unauthorized_and_not_found() {
        let e = status(
            401,
            r#"{"error":{"message":"Unable to authenticate user admin"}}"#,
        );
        assert!(e.is_unauthorized());
        assert!(!e.is_retryable());
        let e = status(
            404,
            r#"{"error":{"message":"Resource host not found by id 'x'"}}"#,
        );
        assert!(e.is_not_found());
        assert!(e.to_string().contains("not found (or hidden by RBAC)"));
    }

    #[test]
    fn html_503_is_retryable_and_readable() {
        let page = "<!DOCTYPE html><html><head><title>Service Unavailable</title><style>body{color:red}</style></head>\n<body><h1>This website is under heavy load (queue full)</h1><p>We're sorry, too many people are accessing this website at the same time.</p></body></html>";
        let mut headers = HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, "12".parse().unwrap());
        let e = label(&[]).status(StatusCode::SERVICE_UNAVAILABLE, &headers, page.as_bytes());
        assert_eq!(e.kind(), Some(ApiErrorKind::Unavailable));
        assert!(e.is_retryable());
        assert!(!e.request_may_have_been_applied());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(12)));
        // an HTTP date (here one long past: retry at once) is read too
        let long_past = "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap();
        let dated = HeaderMap::from_iter([(http::header::RETRY_AFTER, long_past)]);
        let d = label(&[]).status(StatusCode::SERVICE_UNAVAILABLE, &dated, b"");
        assert_eq!(d.retry_after(), Some(Duration::ZERO));
        let body = &e.api().unwrap().body;
        assert!(
            body.starts_with("Service Unavailable This website is under heavy load (queue full)"),
            "{body}"
        );
        assert!(!body.contains("color:red"));
        let e = status(502, "<html><body>Proxy Error</body></html>");
        assert_eq!(e.kind(), Some(ApiErrorKind::Server));
        assert!(e.is_retryable());
        assert!(e.request_may_have_been_applied());
    }

    #[test]
    fn redirect_names_the_target() {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::LOCATION,
            "https://f.example.com/api/status".parse().unwrap(),
        );
        let e = label(&[]).status(StatusCode::MOVED_PERMANENTLY, &headers, b"");
        assert_eq!(e.kind(), Some(ApiErrorKind::Other));
        assert!(
            e.to_string()
                .contains("redirected to https://f.example.com/api/status")
        );
    }

    #[test]
    fn secrets_are_scrubbed_from_messages_and_bodies() {
        let e = label(&["pa55word"]).status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &HeaderMap::new(),
            br#"{"error":{"full_messages":["Password pa55word is too weak"]}}"#,
        );
        let text = format!("{e} {e:?}");
        assert!(!text.contains("pa55word"), "{text}");
        assert!(text.contains("Password *** is too weak"));
    }

    #[test]
    fn transport_errors_are_retryable_but_may_have_been_applied() {
        let e = label(&[]).transport(TransportError::Timeout {
            authority: "f.example.com:443".into(),
            timeout: Duration::from_secs(3),
        });
        assert!(e.is_retryable());
        assert!(e.request_may_have_been_applied());
        assert_eq!(e.status(), None);
        let e = label(&[]).transport(TransportError::Connect {
            authority: "f.example.com:443".into(),
            reason: "refused".into(),
        });
        assert!(e.is_retryable());
        assert!(!e.request_may_have_been_applied());
    }

    #[test]
    fn decode_errors_name_the_json_path() {
        #[derive(Debug, serde::Deserialize)]
        struct Item {
            #[allow(dead_code)]
            id: u64,
        }
        #[derive(Debug, serde::Deserialize)]
        struct Page {
            #[allow(dead_code)]
            results: Vec<Item>,
        }
        let failure = decode_json::<Page>(br#"{"results":[{"id":1},{"id":"x"}]}"#).unwrap_err();
        assert_eq!(failure.path, "results[1].id");
        let e = label(&[]).decode(failure, b"{}");
        assert!(e.to_string().contains("results[1].id"), "{e}");
    }

    #[test]
    fn lookup_errors_read_well() {
        let e = Error::Lookup {
            kind: "operating system",
            name: "RedHat 9".into(),
            problem: LookupProblem::Ambiguous {
                candidates: vec![(3, "RedHat 9.2".into()), (4, "RedHat 9.4".into())],
            },
        };
        assert_eq!(
            e.to_string(),
            "operating system \"RedHat 9\" is ambiguous: 2 objects match (id 3: \"RedHat 9.2\", id 4: \"RedHat 9.4\"); give the full title or the id"
        );
    }

    #[test]
    fn long_bodies_are_cut() {
        let long = "x".repeat(1000);
        assert_eq!(
            excerpt(long.as_bytes()).chars().count(),
            BODY_EXCERPT_CHARS + 1
        );
    }
}
