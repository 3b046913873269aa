//! The client's settings: where Foreman is, who logs in, TLS and timeouts, session cookie and
//! lookup cache behaviour.

use std::fmt;
use std::time::Duration;

use quads_http::{BaseUrl, TransportConfig};

use crate::Secret;
use crate::error::Error;

/// The base URL of one Foreman (`https://foreman.example.com`, or with a path prefix such as
/// `https://example.com/foreman`). It never holds credentials.
///
/// ```
/// use foreman_client::ForemanUrl;
///
/// let url = ForemanUrl::parse("https://foreman.example.com/").unwrap();
/// assert_eq!(url.join("/api/status"), "https://foreman.example.com/api/status");
/// assert!(ForemanUrl::parse("https://admin:secret@foreman.example.com").is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ForemanUrl(BaseUrl);

impl ForemanUrl {
    /// Checks and normalises a base URL: `http` or `https`, a host, no user name or password,
    /// no query or fragment; a trailing `/` is dropped.
    ///
    /// # Errors
    /// [`Error::Config`] when the URL is not of that form. The message never repeats a password
    /// found in the URL.
    pub fn parse(url: &str) -> Result<Self, Error> {
        BaseUrl::parse(url)
            .map(Self)
            .map_err(|reason| Error::Config {
                reason: format!("invalid Foreman URL: {reason}"),
            })
    }

    /// The base URL as given, without the trailing `/`.
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

impl fmt::Debug for ForemanUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ForemanUrl({})", self.0)
    }
}

impl fmt::Display for ForemanUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// What kind of secret a [`Credentials`] holds. Both are sent as HTTP Basic; the kind only
/// changes how messages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecretKind {
    /// The user's password.
    #[default]
    Password,
    /// A personal access token of the user (Foreman 1.21 and later).
    PersonalAccessToken,
}

/// Who the client logs in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The Foreman login.
    pub username: String,
    /// The password or personal access token.
    pub secret: Secret,
    /// Which of the two `secret` is.
    pub kind: SecretKind,
}

impl Credentials {
    /// A login and its password.
    pub fn password(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self {
            username: username.into(),
            secret: password.into(),
            kind: SecretKind::Password,
        }
    }

    /// A login and one of its personal access tokens.
    pub fn token(username: impl Into<String>, token: impl Into<Secret>) -> Self {
        Self {
            username: username.into(),
            secret: token.into(),
            kind: SecretKind::PersonalAccessToken,
        }
    }
}

/// Whether the client keeps Foreman's session cookie.
///
/// Foreman hashes the password of every Basic-authenticated request (bcrypt, tens of
/// milliseconds of CPU each); a request carrying the session cookie of an earlier one skips
/// that. Basic credentials are sent on every request anyway, so an expired session costs
/// nothing but one hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SessionPolicy {
    /// Keep the cookie Foreman sets and send it back; the first request runs alone so that
    /// concurrent first requests do not each hash the password (the default).
    #[default]
    KeepCookie,
    /// Send Basic credentials only, never a cookie.
    Stateless,
}

/// How catalog lookups (operating systems, partition tables, media, architectures, host
/// groups, permissions) are cached. Failed lookups are never kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookupPolicy {
    /// How long a found object is reused before it is looked up again.
    pub ttl: Duration,
}

impl Default for LookupPolicy {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(600),
        }
    }
}

/// Settings of a [`crate::ForemanClient`].
///
/// ```
/// use std::time::Duration;
/// use foreman_client::{ClientConfig, Credentials, ForemanUrl, TlsVerification};
///
/// let mut config = ClientConfig::new(
///     ForemanUrl::parse("https://foreman.example.com").unwrap(),
///     Credentials::password("admin", "changeme"),
/// );
/// config.transport.tls = TlsVerification::CaBundle("/etc/pki/foreman-ca.pem".into());
/// config.transport.request_timeout = Duration::from_secs(30);
/// assert!(!format!("{config:?}").contains("changeme"));
/// ```
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Where Foreman is.
    pub url: ForemanUrl,
    /// Who logs in.
    pub credentials: Credentials,
    /// TLS verification (verified by default; a CA bundle or an explicit insecure option),
    /// connect and per-request timeouts, pooling. Used by [`crate::ForemanClient::new`];
    /// a caller-supplied transport brings its own.
    pub transport: TransportConfig,
    /// Session cookie handling.
    pub session: SessionPolicy,
    /// Catalog lookup cache.
    pub lookups: LookupPolicy,
}

impl ClientConfig {
    /// Defaults for everything but where Foreman is and who logs in.
    #[must_use]
    pub fn new(url: ForemanUrl, credentials: Credentials) -> Self {
        Self {
            url,
            credentials,
            transport: TransportConfig::default(),
            session: SessionPolicy::default(),
            lookups: LookupPolicy::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn urls_are_normalised_and_checked() {
        let url = ForemanUrl::parse(" https://f.example.com:8443/foreman/ ").unwrap();
        assert_eq!(url.as_str(), "https://f.example.com:8443/foreman");
        assert_eq!(
            url.join("/api/hosts?page=2"),
            "https://f.example.com:8443/foreman/api/hosts?page=2"
        );
        for bad in [
            "foreman.example.com",
            "ftp://f.example.com",
            "https://f.example.com/?a=1",
            "https://f.example.com/#x",
            "not a url",
        ] {
            assert!(ForemanUrl::parse(bad).is_err(), "{bad}");
        }
        let with_password = ForemanUrl::parse("https://admin:s3cr3t@f.example.com").unwrap_err();
        assert!(!with_password.to_string().contains("s3cr3t"));
    }

    #[test]
    fn credentials_debug_hides_the_secret() {
        let c = Credentials::token("admin", "tok-123");
        assert_eq!(c.kind, SecretKind::PersonalAccessToken);
        assert!(!format!("{c:?}").contains("tok-123"));
    }
}
