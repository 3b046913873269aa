//! What the JSON API clients (Foreman, QUADS) build requests from, pure: a server's base URL
//! checked once (`BaseUrl`: http or https, a host, never credentials), a path with its query
//! percent-encoded (`path_and_query`), the `http::Request` of a JSON call (`json_request`),
//! and HTTP Basic credentials as a sensitive header value (`basic_authorization`).

use std::fmt;

use base64::Engine as _;
use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HeaderName, HeaderValue, USER_AGENT};
use http::{Method, Request};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::Secret;

/// Characters left as they are in a path segment or query value: RFC 3986 unreserved ones.
pub const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The base URL of an API server (`https://foreman.example.com`, or with a path prefix), as
/// given without its trailing `/`. It never holds credentials.
///
/// ```
/// use quads_http::BaseUrl;
///
/// let url = BaseUrl::parse("https://foreman.example.com/").unwrap();
/// assert_eq!(url.join("/api/status"), "https://foreman.example.com/api/status");
/// assert!(BaseUrl::parse("https://admin:secret@foreman.example.com").is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct BaseUrl {
    base: String,
}

impl BaseUrl {
    /// Checks and normalises a base URL: `http` or `https`, a host, no user name or password,
    /// no query or fragment; a trailing `/` is dropped.
    ///
    /// # Errors
    /// Why the URL is not of that form; the reason never repeats a password found in it.
    pub fn parse(url: &str) -> Result<Self, &'static str> {
        let trimmed = url.trim();
        let uri: http::Uri = trimmed
            .parse()
            .map_err(|_| "not a URL (expected http[s]://host[:port][/prefix])")?;
        match uri.scheme_str() {
            Some("http" | "https") => {}
            _ => return Err("the scheme must be http or https"),
        }
        let Some(authority) = uri.authority() else {
            return Err("no host");
        };
        if authority.as_str().contains('@') {
            return Err("credentials do not belong in the URL; give them as user and password");
        }
        if uri.query().is_some() || trimmed.contains('#') {
            return Err("a base URL has no query or fragment");
        }
        Ok(Self {
            base: trimmed.trim_end_matches('/').to_owned(),
        })
    }

    /// The same URL without `suffix` at its end (`/api/v3` given with a server's URL).
    #[must_use]
    pub fn without_suffix(self, suffix: &str) -> Self {
        match self.base.strip_suffix(suffix) {
            Some(base) if !base.ends_with("//") && !base.ends_with(':') => Self {
                base: base.to_owned(),
            },
            _ => self,
        }
    }

    /// The base URL, without the trailing `/`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.base
    }

    /// The absolute URL of `path_and_query` (which starts with `/`).
    #[must_use]
    pub fn join(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base)
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BaseUrl({})", self.base)
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)
    }
}

/// `path` with `query` percent-encoded after it (`?a=1&b=x%20y`).
#[must_use]
pub fn path_and_query(path: &str, query: &[(String, String)]) -> String {
    let mut out = path.to_owned();
    for (i, (name, value)) in query.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.extend(utf8_percent_encode(name, UNRESERVED));
        out.push('=');
        out.extend(utf8_percent_encode(value, UNRESERVED));
    }
    out
}

/// A JSON API call: `Accept: application/json`, `user_agent`, the body (when given) with
/// `Content-Type: application/json`, then `headers` (authentication).
///
/// # Errors
/// When the URL or a header cannot be carried in a request.
pub fn json_request(
    method: Method,
    url: &str,
    body: Option<String>,
    user_agent: &'static str,
    headers: &[(HeaderName, HeaderValue)],
) -> Result<Request<Bytes>, http::Error> {
    let mut builder = Request::builder()
        .method(method)
        .uri(url)
        .header(ACCEPT, "application/json")
        .header(USER_AGENT, user_agent);
    let body = match body {
        Some(text) => {
            builder = builder.header(CONTENT_TYPE, "application/json");
            Bytes::from(text)
        }
        None => Bytes::new(),
    };
    for (name, value) in headers {
        builder = builder.header(name, value.clone());
    }
    builder.body(body)
}

/// The `Authorization: Basic` value of `username` and `secret`, marked sensitive (hyper and
/// `Debug` never show it); `None` when they cannot be carried in a header.
#[must_use]
pub fn basic_authorization(username: &str, secret: &Secret) -> Option<HeaderValue> {
    let raw = format!("{username}:{}", secret.expose());
    let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
    let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn base_urls_are_checked_and_normalised() {
        let url = BaseUrl::parse(" https://f.example.com/foreman/ ").unwrap();
        assert_eq!(url.as_str(), "https://f.example.com/foreman");
        for (bad, why) in [
            ("ftp://f.example.com", "scheme"),
            ("https://u:pw@f.example.com", "credentials"),
            ("https://f.example.com/?a=1", "no query"),
            ("not a url", "not a URL"),
        ] {
            let e = BaseUrl::parse(bad).unwrap_err();
            assert!(e.contains(why) && !e.contains("pw"), "{bad}: {e}");
        }
        let q = BaseUrl::parse("http://q.example.com:5000/api/v3").unwrap();
        assert_eq!(
            q.without_suffix("/api/v3").as_str(),
            "http://q.example.com:5000"
        );
    }

    #[test]
    fn queries_are_encoded_and_json_requests_carry_their_headers() {
        let pq = path_and_query(
            "/api/hosts",
            &[
                ("search".into(), "name ^ (a b)".into()),
                ("per_page".into(), "all".into()),
            ],
        );
        assert_eq!(
            pq,
            "/api/hosts?search=name%20%5E%20%28a%20b%29&per_page=all"
        );
        let auth = basic_authorization("admin", &Secret::new("changeme")).unwrap();
        assert!(auth.is_sensitive());
        let req = json_request(
            Method::PUT,
            "https://f.example.com/api/hosts/1",
            Some("{}".into()),
            "ua/1",
            &[(http::header::AUTHORIZATION, auth)],
        )
        .unwrap();
        assert_eq!(req.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(req.headers()[USER_AGENT], "ua/1");
        assert_eq!(
            req.headers()[http::header::AUTHORIZATION],
            "Basic YWRtaW46Y2hhbmdlbWU="
        );
        let get = json_request(Method::GET, "https://f.example.com/", None, "ua/1", &[]).unwrap();
        assert!(get.headers().get(CONTENT_TYPE).is_none() && get.body().is_empty());
    }
}
