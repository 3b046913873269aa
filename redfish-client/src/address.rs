//! Where a BMC listens: parsing `host`, `host:port`, `https://host[:port]` and `http://host:port`.

use std::fmt;

use crate::error::Error;

/// The base of a BMC's Redfish service: scheme and authority, no path.
///
/// `https` is the default; `http://` is accepted for emulators and tests.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BmcAddress {
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
}

impl BmcAddress {
    /// Parses an address as operators write it.
    ///
    /// # Errors
    /// [`Error::Config`] when the text is not a host, `host:port` or an `http(s)` URL without
    /// a path beyond `/` or `/redfish/v1`.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let text = text.trim();
        let bad = |reason: &str| Error::Config {
            reason: format!("bad BMC address {text:?}: {reason}"),
        };
        if text.is_empty() {
            return Err(bad("empty"));
        }
        let with_scheme = if text.contains("://") {
            text.to_owned()
        } else {
            format!("https://{text}")
        };
        let uri: http::Uri = with_scheme.parse().map_err(|_| bad("not a host or URL"))?;
        let scheme = uri.scheme().cloned().ok_or_else(|| bad("no scheme"))?;
        if scheme != http::uri::Scheme::HTTP && scheme != http::uri::Scheme::HTTPS {
            return Err(bad("only http and https are supported"));
        }
        let authority = uri.authority().cloned().ok_or_else(|| bad("no host"))?;
        if authority.host().is_empty() {
            return Err(bad("no host"));
        }
        if authority.as_str().contains('@') {
            return Err(bad("credentials do not belong in the address"));
        }
        let path = uri.path().trim_end_matches('/');
        if !(path.is_empty() || path == "/redfish/v1") || uri.query().is_some() {
            return Err(bad("a path or query is not expected"));
        }
        Ok(Self { scheme, authority })
    }

    /// `host:port` or `host` as written: the key for per-BMC limits and session caps.
    #[must_use]
    pub fn authority(&self) -> &str {
        self.authority.as_str()
    }

    /// The host alone (what TLS checks the certificate against).
    #[must_use]
    pub fn host(&self) -> &str {
        self.authority.host()
    }

    /// Whether the BMC is reached over TLS.
    #[must_use]
    pub fn is_https(&self) -> bool {
        self.scheme == http::uri::Scheme::HTTPS
    }

    /// The absolute URL of `path` (which starts with `/`) on this BMC.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{}", self.scheme, self.authority, path)
    }

    /// Turns a `Location` or `@odata.id` value (absolute URL or path) into a path on this BMC.
    #[must_use]
    pub fn path_of(&self, location: &str) -> String {
        if let Some(rest) = location
            .strip_prefix("https://")
            .or_else(|| location.strip_prefix("http://"))
        {
            return match rest.find('/') {
                Some(i) => rest[i..].to_owned(),
                None => "/".to_owned(),
            };
        }
        if location.starts_with('/') {
            location.to_owned()
        } else {
            format!("/{location}")
        }
    }
}

impl fmt::Display for BmcAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.authority.as_str())
    }
}

impl fmt::Debug for BmcAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.authority)
    }
}

impl std::str::FromStr for BmcAddress {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn accepts_the_forms_operators_write() {
        let a = BmcAddress::parse("mgmt-h1.example.com").unwrap();
        assert_eq!(
            a.url("/redfish/v1"),
            "https://mgmt-h1.example.com/redfish/v1"
        );
        assert!(a.is_https());
        let a = BmcAddress::parse("10.1.2.3:8443").unwrap();
        assert_eq!(a.authority(), "10.1.2.3:8443");
        assert_eq!(a.host(), "10.1.2.3");
        let a = BmcAddress::parse("http://127.0.0.1:8000/").unwrap();
        assert_eq!(a.url("/x"), "http://127.0.0.1:8000/x");
        assert!(!a.is_https());
        let a = BmcAddress::parse("https://bmc/redfish/v1/").unwrap();
        assert_eq!(a.authority(), "bmc");
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        for bad in [
            "",
            "ftp://host",
            "https://user:pw@host",
            "https://host/other",
            "http://",
        ] {
            assert!(BmcAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn locations_become_paths() {
        let a = BmcAddress::parse("bmc:443").unwrap();
        assert_eq!(
            a.path_of("https://bmc:443/redfish/v1/SessionService/Sessions/7"),
            "/redfish/v1/SessionService/Sessions/7"
        );
        assert_eq!(a.path_of("/redfish/v1/x"), "/redfish/v1/x");
        assert_eq!(a.path_of("redfish/v1/x"), "/redfish/v1/x");
    }
}
