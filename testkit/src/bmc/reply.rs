//! A BMC's answer before it becomes HTTP: status, JSON (or XML) body, extra headers, and whether
//! the body is a resource that carries an `ETag`.
//!
//! Every answer gets `OData-Version: 4.0`; resources get a weak `ETag` computed from their
//! representation, so it changes exactly when the resource does, and carry the same tag in the
//! body as `@odata.etag` (DSP0266 allows the annotation; an expanded member is then known with
//! its tag). The tag hashes the body without the annotation, which is added afterwards.

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::server::Response;

/// What a handler answers.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    /// Status code.
    pub(crate) status: StatusCode,
    body: Body,
    headers: Vec<(HeaderName, String)>,
    etag: bool,
}

#[derive(Debug, Clone)]
enum Body {
    Json(Value),
    Xml(String),
    Empty,
}

impl Reply {
    /// A JSON answer.
    pub(crate) fn json(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body: Body::Json(body),
            headers: Vec::new(),
            etag: false,
        }
    }

    /// 200 with a resource, which gets an `ETag`.
    pub(crate) fn resource(body: Value) -> Self {
        Self {
            etag: true,
            ..Self::json(StatusCode::OK, body)
        }
    }

    /// An XML answer (`$metadata`).
    pub(crate) fn xml(body: String) -> Self {
        Self {
            status: StatusCode::OK,
            body: Body::Xml(body),
            headers: Vec::new(),
            etag: false,
        }
    }

    /// An answer without a body (204, or a bare status).
    pub(crate) fn empty(status: StatusCode) -> Self {
        Self {
            status,
            body: Body::Empty,
            headers: Vec::new(),
            etag: false,
        }
    }

    /// Adds a header.
    pub(crate) fn header(mut self, name: HeaderName, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    /// Adds a `Location` header.
    pub(crate) fn location(self, uri: &str) -> Self {
        self.header(http::header::LOCATION, uri)
    }

    /// The JSON body, if any.
    pub(crate) fn json_body(&self) -> Option<&Value> {
        match &self.body {
            Body::Json(value) => Some(value),
            _ => None,
        }
    }

    /// The same answer with another JSON body (an expanded resource).
    pub(crate) fn with_json_body(mut self, value: Value) -> Self {
        self.body = Body::Json(value);
        self
    }

    /// The `ETag` this answer carries, if it is a resource.
    pub(crate) fn etag(&self) -> Option<String> {
        match (&self.body, self.etag) {
            (Body::Json(value), true) => Some(etag_of(value)),
            _ => None,
        }
    }

    /// The HTTP response (for a `HEAD` request the body is left out).
    pub(crate) fn into_response(self, head: bool) -> Response {
        let mut etag = None;
        let (content_type, bytes) = match self.body {
            Body::Json(value) => {
                // serialized once: the ETag hashes the text the body carries, before the
                // annotation that repeats it is spliced in
                let mut text = compact(&value);
                if self.etag {
                    let tag = etag_of_text(&text);
                    if value.get(ETAG_ANNOTATION).is_none() {
                        text = with_etag_annotation(&text, &tag);
                    }
                    etag = Some(tag);
                }
                (
                    Some("application/json;odata.metadata=minimal;charset=utf-8"),
                    Bytes::from(text),
                )
            }
            Body::Xml(text) => (Some("application/xml;charset=utf-8"), Bytes::from(text)),
            Body::Empty => (None, Bytes::new()),
        };
        let mut headers = HeaderMap::new();
        headers.insert("odata-version", HeaderValue::from_static("4.0"));
        headers.insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        );
        if let Some(content_type) = content_type {
            headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static(content_type),
            );
        }
        if let Some(etag) = etag
            && let Ok(value) = HeaderValue::from_str(&etag)
        {
            headers.insert(http::header::ETAG, value);
        }
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.append(name, value);
            }
        }
        let mut response = http::Response::new(if head { Bytes::new() } else { bytes });
        *response.status_mut() = self.status;
        *response.headers_mut() = headers;
        response
    }
}

/// The weak `ETag` of a representation.
pub(crate) fn etag_of(value: &Value) -> String {
    etag_of_text(&compact(value))
}

/// `value` as compact JSON text (written straight into a buffer: `Display` goes through a
/// formatter per token, and a big index is serialized on every request).
fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The body annotation that repeats a resource's `ETag`.
pub(crate) const ETAG_ANNOTATION: &str = "@odata.etag";

/// `body` with `@odata.etag` added when it is a resource, as [`Reply::into_response`] sends it
/// (for a member shown inside another answer); the tag is the one a GET of it carries.
pub(crate) fn annotated_body(reply: &Reply) -> Option<Value> {
    let mut value = reply.json_body()?.clone();
    if let Some(tag) = reply.etag()
        && let Value::Object(map) = &mut value
    {
        map.entry(ETAG_ANNOTATION).or_insert(Value::String(tag));
    }
    Some(value)
}

/// A serialized JSON object with `"@odata.etag": tag` as its first member (other text as is).
fn with_etag_annotation(text: &str, tag: &str) -> String {
    let Some(rest) = text.strip_prefix('{') else {
        return text.to_owned();
    };
    let tag = Value::String(tag.to_owned());
    let separator = if rest.starts_with('}') { "" } else { "," };
    format!("{{\"{ETAG_ANNOTATION}\":{tag}{separator}{rest}")
}

fn etag_of_text(text: &str) -> String {
    format!("W/\"{:016x}\"", hash_words(text.as_bytes()))
}

/// A 64-bit digest of `bytes`, a word at a time (every body is tagged, some are kilobytes).
fn hash_words(bytes: &[u8]) -> u64 {
    const PRIME: u64 = 0x0100_0000_01b3;
    let mut chunks = bytes.chunks_exact(8);
    let mut h = 0xcbf2_9ce4_8422_2325_u64 ^ (bytes.len() as u64);
    for chunk in &mut chunks {
        let mut word = [0_u8; 8];
        word.copy_from_slice(chunk);
        h = (h ^ u64::from_le_bytes(word)).wrapping_mul(PRIME);
        h ^= h >> 29;
    }
    for &b in chunks.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(PRIME);
    }
    h ^ (h >> 32)
}

/// Whether an `If-Match` header value admits the current `etag` (weak comparison, `*`, lists).
pub(crate) fn if_match_admits(header: &str, etag: &str) -> bool {
    let opaque = |tag: &str| {
        let tag = tag.trim();
        tag.strip_prefix("W/").unwrap_or(tag).to_owned()
    };
    let current = opaque(etag);
    header
        .split(',')
        .any(|candidate| candidate.trim() == "*" || opaque(candidate) == current)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_digest_sees_every_byte() {
        let text = "{\"PowerState\":\"On\",\"Boot\":{\"BootSourceOverrideTarget\":\"Pxe\"}}";
        let base = hash_words(text.as_bytes());
        for i in 0..text.len() {
            let mut changed = text.as_bytes().to_vec();
            changed[i] ^= 1;
            assert_ne!(hash_words(&changed), base, "byte {i}");
        }
        assert_ne!(hash_words(b"ab"), hash_words(b"ab\0"));
    }

    #[test]
    fn etags_follow_the_representation_and_compare_weakly() {
        let a = etag_of(&json!({"PowerState": "On"}));
        let b = etag_of(&json!({"PowerState": "Off"}));
        assert_ne!(a, b);
        assert!(a.starts_with("W/\""));
        assert!(if_match_admits(&a, &a));
        assert!(if_match_admits(a.trim_start_matches("W/"), &a));
        assert!(if_match_admits("*", &a));
        assert!(if_match_admits(&format!("\"x\", {b}, {a}"), &a));
        assert!(!if_match_admits(&b, &a));
    }

    #[test]
    fn the_annotation_is_spliced_into_any_object() {
        assert_eq!(
            with_etag_annotation("{}", "W/\"1\""),
            r#"{"@odata.etag":"W/\"1\""}"#
        );
        let text = with_etag_annotation(r#"{"Id":"1"}"#, "W/\"1\"");
        let value: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(value, json!({"@odata.etag": "W/\"1\"", "Id": "1"}));
        assert_eq!(with_etag_annotation("[1]", "t"), "[1]");
        let reply = Reply::resource(json!({"Id": "2"}));
        let annotated = annotated_body(&reply).expect("json");
        assert_eq!(
            annotated[ETAG_ANNOTATION],
            etag_of(&json!({"Id": "2"})).as_str()
        );
        assert_eq!(
            annotated_body(&messages_free_json())
                .expect("json")
                .get(ETAG_ANNOTATION),
            None
        );
    }

    fn messages_free_json() -> Reply {
        Reply::json(StatusCode::OK, json!({"v1": "/redfish/v1/"}))
    }

    #[test]
    fn every_answer_says_odata_version() {
        let response = Reply::resource(json!({"Id": "1"})).into_response(false);
        assert_eq!(response.headers()["odata-version"], "4.0");
        assert_eq!(
            response.headers()[http::header::ETAG],
            etag_of(&json!({"Id": "1"})).as_str(),
            "the header is the ETag of the body sent"
        );
        let body: Value = serde_json::from_slice(response.body()).expect("json");
        assert_eq!(
            body[ETAG_ANNOTATION],
            response.headers()[http::header::ETAG]
                .to_str()
                .expect("tag"),
            "the annotation repeats the header"
        );
        let head = Reply::resource(json!({"Id": "1"})).into_response(true);
        assert!(head.body().is_empty());
    }
}
