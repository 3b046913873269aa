//! The client's settings: where the QUADS server is, who writes, how writes authenticate, and
//! the server's UTC offset.

use std::fmt;
use std::time::Duration;

use quads_http::{BaseUrl, TransportConfig};
use time::UtcOffset;

use crate::Secret;
use crate::error::Error;

/// The base URL of a QUADS server (`http://quads.example.com`, or with a path prefix); the API
/// is below it at `/api/v3/`. It never holds credentials.
///
/// ```
/// use quads_api_client::QuadsUrl;
///
/// let url = QuadsUrl::parse("http://quads.example.com:5000/").unwrap();
/// assert_eq!(url.join("/api/v3/moves/"), "http://quads.example.com:5000/api/v3/moves/");
/// // a URL given with the API prefix is taken as the server's
/// assert_eq!(QuadsUrl::parse("http://q.example.com/api/v3").unwrap().as_str(), "http://q.example.com");
/// assert!(QuadsUrl::parse("http://admin:secret@quads.example.com").is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct QuadsUrl(BaseUrl);

impl QuadsUrl {
    /// Checks and normalises a base URL: `http` or `https`, a host, no credentials, query or
    /// fragment; a trailing `/` and a trailing `/api/v3` are dropped.
    ///
    /// # Errors
    /// [`Error::Config`] when the URL is not of that form (never repeating a password in it).
    pub fn parse(url: &str) -> Result<Self, Error> {
        BaseUrl::parse(url)
            .map(|base| Self(base.without_suffix("/api/v3")))
            .map_err(|reason| Error::Config {
                reason: format!("invalid QUADS URL: {reason}"),
            })
    }

    /// The base URL, without a trailing `/`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The absolute URL of `path_and_query` (which starts with `/`).
    #[must_use]
    pub fn join(&self, path_and_query: &str) -> String {
        self.0.join(path_and_query)
    }
}

impl fmt::Debug for QuadsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QuadsUrl({})", self.0)
    }
}

impl fmt::Display for QuadsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// A QUADS user with the `admin` role (its login is an e-mail address in QUADS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The login.
    pub username: String,
    /// The password.
    pub password: Secret,
}

impl Credentials {
    /// A login and its password.
    pub fn new(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }
}

/// How writes authenticate (reads are open and send nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// `POST /api/v3/login/` once with Basic, then `Authorization: Bearer <token>` on every
    /// write; the token is renewed before it expires and once after a 401 (the default: QUADS
    /// hashes the password of every Basic request).
    #[default]
    Token,
    /// HTTP Basic on every write.
    Basic,
}

/// How long a login's token is used before a new one is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenPolicy {
    /// The token's lifetime on the server (QUADS 2.x: 6000 s).
    pub lifetime: Duration,
    /// How long before the end of its lifetime a token is renewed.
    pub renew_before: Duration,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            lifetime: Duration::from_secs(6000),
            renew_before: Duration::from_secs(300),
        }
    }
}

/// Settings of a [`crate::QuadsClient`].
///
/// ```
/// use quads_api_client::{ClientConfig, Credentials, QuadsUrl};
///
/// let config = ClientConfig::new(QuadsUrl::parse("http://quads.example.com").unwrap())
///     .with_credentials(Credentials::new("admin@example.com", "changeme"));
/// assert!(!format!("{config:?}").contains("changeme"));
/// ```
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Where the server is.
    pub url: QuadsUrl,
    /// Who writes; `None` for a read-only client (a write then fails with [`Error::Config`]).
    pub credentials: Option<Credentials>,
    /// How writes authenticate.
    pub auth: AuthMode,
    /// Token renewal.
    pub token: TokenPolicy,
    /// The server's UTC offset: QUADS reads and writes dates on its local wall clock and the
    /// API does not say which (default UTC).
    pub server_utc_offset: UtcOffset,
    /// TLS and timeouts, used by [`crate::QuadsClient::new`].
    pub transport: TransportConfig,
}

impl ClientConfig {
    /// Defaults for everything but where the server is: read-only, token auth, UTC.
    #[must_use]
    pub fn new(url: QuadsUrl) -> Self {
        Self {
            url,
            credentials: None,
            auth: AuthMode::default(),
            token: TokenPolicy::default(),
            server_utc_offset: UtcOffset::UTC,
            transport: TransportConfig::default(),
        }
    }

    /// The same settings with a writer's credentials.
    #[must_use]
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn urls_are_normalised_and_checked() {
        let url = QuadsUrl::parse(" https://q.example.com:8443/quads/api/v3/ ").unwrap();
        assert_eq!(url.as_str(), "https://q.example.com:8443/quads");
        for bad in [
            "quads.example.com",
            "ftp://q.example.com",
            "http://q.example.com/?a=1",
            "http://q.example.com/#x",
        ] {
            assert!(QuadsUrl::parse(bad).is_err(), "{bad}");
        }
        let err = QuadsUrl::parse("http://admin:s3cr3t@q.example.com").unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"));
    }
}
