//! The crate's one error type: which request, what QUADS said, and whether trying again may
//! help. QUADS's error shapes are told apart here: not-found is a 400 with a JSON body, an
//! unknown route an HTML 404 page, an id or date it cannot read an HTML 500 page (neither page
//! is ever copied into a message). No password or token ever reaches an error.

use http::{HeaderMap, Method, StatusCode};
use quads_http::TransportError;
use serde_json::Value;

/// Longest excerpt of a body kept in an error, in characters.
pub const BODY_EXCERPT_CHARS: usize = 200;

/// Everything that can go wrong talking to a QUADS server.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The object asked for does not exist (QUADS answers 400 with `"... not found: <name>"`).
    #[error("{method} {url}: not found: {what}")]
    NotFound {
        /// HTTP method.
        method: Method,
        /// Request URL.
        url: String,
        /// QUADS's message, naming what is missing (`Host not found: h1.example.com`).
        what: String,
    },
    /// QUADS refused the request's arguments (HTTP 400, its message).
    #[error("{method} {url}: refused (HTTP 400): {message}")]
    BadRequest {
        /// HTTP method.
        method: Method,
        /// Request URL.
        url: String,
        /// QUADS's message.
        message: String,
    },
    /// The credentials or token were refused (401), or the user is not an admin (403).
    #[error("{method} {url}: HTTP {}: {message}", status.as_u16())]
    Auth {
        /// HTTP method.
        method: Method,
        /// Request URL.
        url: String,
        /// 401 or 403.
        status: StatusCode,
        /// QUADS's message, or what the status means.
        message: String,
    },
    /// The server has no such route (an HTML 404 page): the URL is not a QUADS 2.x API v3.
    #[error(
        "{method} {url}: no such API route (HTTP 404 page): is this a QUADS 2.x server with API v3?"
    )]
    UnknownRoute {
        /// HTTP method.
        method: Method,
        /// Request URL.
        url: String,
    },
    /// The server failed on the request (5xx). An HTML 500 from QUADS is its unhandled
    /// exception, which an id or a date it cannot read causes.
    #[error("{method} {url}: server error (HTTP {}): {message}", status.as_u16())]
    Server {
        /// HTTP method.
        method: Method,
        /// Request URL.
        url: String,
        /// The status.
        status: StatusCode,
        /// QUADS's JSON message, or what an HTML page most likely means.
        message: String,
    },
    /// Any other status.
    #[error("{method} {url}: unexpected HTTP {}: {excerpt}", status.as_u16())]
    Status {
        /// HTTP method.
        method: Method,
        /// Request URL.
        url: String,
        /// The status.
        status: StatusCode,
        /// The start of a non-HTML body.
        excerpt: String,
    },
    /// No answer: connect, reset or timeout.
    #[error("{method} {url}: {source}")]
    Transport {
        /// HTTP method.
        method: Method,
        /// Request URL.
        url: String,
        /// What the transport said.
        #[source]
        source: TransportError,
    },
    /// A successful answer did not have the expected shape.
    #[error("{method} {url}: unexpected JSON at {path}: {reason}; body: {excerpt}")]
    Decode {
        /// HTTP method.
        method: Method,
        /// Request URL.
        url: String,
        /// Where in the document (`[3].cloud.name`).
        path: String,
        /// What serde said.
        reason: String,
        /// The start of the body (empty for answers that carry a token).
        excerpt: String,
    },
    /// A write was answered with success but reading the object back does not show it
    /// (QUADS rolls a refused host change back and still answers 200 with the old row).
    #[error(
        "{what}: {field} was written as {wanted} but reads {got}; the server did not keep the change"
    )]
    NotApplied {
        /// The object (`host h1.example.com`, `assignment 7`).
        what: String,
        /// The field.
        field: &'static str,
        /// The value written.
        wanted: String,
        /// The value read back.
        got: String,
    },
    /// An argument the client cannot send.
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What is wrong.
        reason: String,
    },
    /// Bad settings (URL, TLS files, no credentials for a write).
    #[error("{reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
}

impl Error {
    /// Whether sending the same request again may succeed: transport failures, 502, 503, 504,
    /// 408 and 429. A 500 is not: QUADS's 500s are its exceptions on input it cannot read, and
    /// the same request fails the same way.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport { source, .. } => source.is_retryable(),
            Self::Server { status, .. } => *status != StatusCode::INTERNAL_SERVER_ERROR,
            Self::Status { status, .. } => {
                *status == StatusCode::REQUEST_TIMEOUT || *status == StatusCode::TOO_MANY_REQUESTS
            }
            _ => false,
        }
    }

    /// Whether the server may have applied the request: a timeout or a connection broken
    /// mid-request, and a 5xx but 503. A write then is decided by reading the object.
    #[must_use]
    pub fn request_may_have_been_applied(&self) -> bool {
        match self {
            Self::Transport { source, .. } => source.request_may_have_been_applied(),
            Self::Server { status, .. } => *status != StatusCode::SERVICE_UNAVAILABLE,
            _ => false,
        }
    }

    /// Whether the object asked for does not exist.
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    /// Whether the answer was a 401 (credentials or token refused).
    #[must_use]
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, Self::Auth { status, .. } if *status == StatusCode::UNAUTHORIZED)
    }

    /// The HTTP status, for errors that have one.
    #[must_use]
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::NotFound { .. } | Self::BadRequest { .. } => Some(StatusCode::BAD_REQUEST),
            Self::UnknownRoute { .. } => Some(StatusCode::NOT_FOUND),
            Self::Auth { status, .. }
            | Self::Server { status, .. }
            | Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Whether a body is an HTML page (by its content type or its first character).
fn is_html(headers: &HeaderMap, body: &[u8]) -> bool {
    let typed = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("html"));
    typed
        || body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'<')
}

/// The start of a body as text, at most [`BODY_EXCERPT_CHARS`] characters.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text.chars().take(BODY_EXCERPT_CHARS).collect();
    if text.chars().count() > BODY_EXCERPT_CHARS {
        out.push('…');
    }
    out
}

/// QUADS's JSON error message: `message`, else `error`.
fn json_message(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let text = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .filter(|s| !s.is_empty())
    };
    text("message").or_else(|| text("error"))
}

/// Whether a 400 message says something is missing (QUADS's not-found answers).
fn says_not_found(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("not found") || lower.contains("does not exist") || lower.starts_with("no ")
}

/// The error of a non-success answer. Pure: the classification of every QUADS error shape.
#[must_use]
pub fn from_status(
    method: &Method,
    url: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Error {
    let (method, url) = (method.clone(), url.to_owned());
    let html = is_html(headers, body);
    let message = if html { None } else { json_message(body) };
    match status.as_u16() {
        400 => {
            let message = message.unwrap_or_else(|| "bad request".to_owned());
            if says_not_found(&message) {
                Error::NotFound {
                    method,
                    url,
                    what: message,
                }
            } else {
                Error::BadRequest {
                    method,
                    url,
                    message,
                }
            }
        }
        401 | 403 => Error::Auth {
            method,
            url,
            status,
            message: message.unwrap_or_else(|| {
                if status == StatusCode::UNAUTHORIZED {
                    "the credentials or token were refused".to_owned()
                } else {
                    "the user is not a QUADS admin".to_owned()
                }
            }),
        },
        404 if html || message.is_none() => Error::UnknownRoute { method, url },
        500..=599 => Error::Server {
            method,
            url,
            status,
            message: message.unwrap_or_else(|| {
                if status == StatusCode::INTERNAL_SERVER_ERROR {
                    "QUADS failed on this request (an HTML error page; an id or a date it cannot read fails this way)".to_owned()
                } else {
                    "the server or a proxy in front of it is unavailable".to_owned()
                }
            }),
        },
        _ => Error::Status {
            method,
            url,
            status,
            excerpt: if html {
                "(an HTML page)".to_owned()
            } else {
                message.unwrap_or_else(|| excerpt(body))
            },
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const HTML_404: &str = "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server.</p>\n";
    const HTML_500: &str = "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n<p>The server encountered an internal error.</p>\n";

    fn html() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::CONTENT_TYPE,
            "text/html; charset=utf-8".parse().unwrap(),
        );
        h
    }

    fn classify(status: u16, headers: &HeaderMap, body: &str) -> Error {
        from_status(
            &Method::GET,
            "http://q/api/v3/x",
            StatusCode::from_u16(status).unwrap(),
            headers,
            body.as_bytes(),
        )
    }

    #[test]
    fn a_400_naming_a_missing_object_is_not_found() {
        let e = classify(
            400,
            &HeaderMap::new(),
            r#"{"error":"Bad Request","message":"Host not found: h9","status_code":400}"#,
        );
        assert!(e.is_not_found(), "{e:?}");
        assert_eq!(
            e.to_string(),
            "GET http://q/api/v3/x: not found: Host not found: h9"
        );
        let e = classify(
            400,
            &HeaderMap::new(),
            r#"{"error":"Bad Request","message":"No clouds found with the given filters","status_code":400}"#,
        );
        assert!(e.is_not_found());
        let e = classify(
            400,
            &HeaderMap::new(),
            r#"{"error":"Bad Request","message":"Invalid date format for start or end, correct format: 'YYYY-MM-DDTHH:MM'","status_code":400}"#,
        );
        assert!(matches!(e, Error::BadRequest { .. }), "{e:?}");
        assert!(!e.is_retryable());
    }

    #[test]
    fn html_pages_are_named_never_copied() {
        let e = classify(404, &html(), HTML_404);
        assert!(matches!(e, Error::UnknownRoute { .. }));
        assert!(!e.to_string().contains('<'));
        let e = classify(500, &html(), HTML_500);
        assert!(matches!(e, Error::Server { .. }));
        assert!(!e.to_string().contains('<'), "{e}");
        assert!(e.to_string().contains("cannot read"), "{e}");
        assert!(!e.is_retryable() && e.request_may_have_been_applied());
        // a page without a content type is still recognised
        let e = classify(418, &HeaderMap::new(), HTML_404);
        assert!(e.to_string().ends_with("(an HTML page)"), "{e}");
    }

    #[test]
    fn auth_and_gateway_errors() {
        let e = classify(
            401,
            &HeaderMap::new(),
            r#"{"message":"Invalid Credentials!","error":"Unauthorized"}"#,
        );
        assert!(e.is_unauthorized());
        assert!(e.to_string().contains("Invalid Credentials!"));
        let e = classify(403, &HeaderMap::new(), "");
        assert!(!e.is_unauthorized() && e.status() == Some(StatusCode::FORBIDDEN));
        let e = classify(503, &html(), "<html>busy</html>");
        assert!(e.is_retryable() && !e.request_may_have_been_applied());
    }
}
