//! Foreman's health endpoints: `/api/status` (version; needs a login) and `/api/ping`
//! (database and plugin services; Foreman 2.0 and later, no login needed).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::{Call, ForemanClient};
use crate::de;
use crate::error::{DecodeError, decode_json};
use crate::request::{ApiRequest, Endpoint, api_path};

/// What `/api/status` says.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Status {
    /// `ok`.
    #[serde(default)]
    pub result: Option<String>,
    /// 200.
    #[serde(default, deserialize_with = "de::lenient_u64")]
    pub status: Option<u64>,
    /// Foreman's version (`3.12.0`).
    #[serde(default)]
    pub version: Option<String>,
    /// The API version (2).
    #[serde(default, deserialize_with = "de::lenient_u64")]
    pub api_version: Option<u64>,
}

/// `GET /api/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShowStatus;

impl Endpoint for ShowStatus {
    type Output = Status;

    fn request(&self) -> ApiRequest {
        ApiRequest::get(api_path(&["status"]))
    }

    fn parse(&self, body: &[u8]) -> Result<Status, DecodeError> {
        decode_json(body)
    }
}

/// What `/api/ping` says: per component (`foreman`, `katello`, ...) its services.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Ping {
    /// Components and their services, as Foreman and its plugins report them.
    #[serde(default)]
    pub results: BTreeMap<String, Value>,
}

impl Ping {
    /// Whether Foreman's database answered (`results.foreman.database.active`).
    #[must_use]
    pub fn database_active(&self) -> Option<bool> {
        self.results
            .get("foreman")?
            .get("database")?
            .get("active")?
            .as_bool()
    }

    /// Services whose `status` is `FAIL`, as `component/service`.
    #[must_use]
    pub fn failing(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (component, value) in &self.results {
            let services = value.get("services").unwrap_or(value);
            let Some(services) = services.as_object() else {
                continue;
            };
            for (name, service) in services {
                let failed = service
                    .get("status")
                    .and_then(Value::as_str)
                    .is_some_and(|s| s.eq_ignore_ascii_case("fail"));
                let inactive = service.get("active").and_then(Value::as_bool) == Some(false);
                if failed || inactive {
                    out.push(format!("{component}/{name}"));
                }
            }
        }
        out
    }
}

/// `GET /api/ping`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShowPing;

impl Endpoint for ShowPing {
    type Output = Ping;

    fn request(&self) -> ApiRequest {
        ApiRequest::get(api_path(&["ping"]))
    }

    fn parse(&self, body: &[u8]) -> Result<Ping, DecodeError> {
        decode_json(body)
    }
}

impl ForemanClient {
    /// `GET /api/status`: Foreman's version; proves the credentials work.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// let status = client.status().send().await?;
    /// println!("Foreman {:?}, API v{:?}", status.version, status.api_version);
    /// # Ok(()) }
    /// ```
    pub fn status(&self) -> Call<'_, ShowStatus> {
        Call::new(self, ShowStatus)
    }

    /// `GET /api/ping`: the health of Foreman's database and plugin services.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// let ping = client.ping().send().await?;
    /// assert_eq!(ping.database_active(), Some(true));
    /// # Ok(()) }
    /// ```
    pub fn ping(&self) -> Call<'_, ShowPing> {
        Call::new(self, ShowPing)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn status_and_ping() {
        assert_eq!(ShowStatus.request().path, "/api/status");
        assert_eq!(ShowPing.request().path, "/api/ping");
        let s = ShowStatus
            .parse(br#"{"result":"ok","status":200,"version":"1.22.2","api_version":2}"#)
            .unwrap();
        assert_eq!(
            (s.version.as_deref(), s.api_version),
            (Some("1.22.2"), Some(2))
        );
        let p = ShowPing
            .parse(br#"{"results":{"foreman":{"database":{"active":true,"duration_ms":"0"}},"katello":{"services":{"candlepin":{"status":"ok"},"pulp3":{"status":"FAIL","message":"down"}},"status":"FAIL"}}}"#)
            .unwrap();
        assert_eq!(p.database_active(), Some(true));
        assert_eq!(p.failing(), vec!["katello/pulp3"]);
    }
}
