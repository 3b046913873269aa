//! A minimal HTTP(S) client that trusts the lab CA: for testkit's own tests, the admin endpoint
//! and `quads-lab --demo`. (Production clients live in `foreman-client` and `redfish-client`.)

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// An answer: status, headers and whole body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status code.
    pub status: http::StatusCode,
    /// Headers.
    pub headers: http::HeaderMap,
    /// Body.
    pub body: Bytes,
}

impl Answer {
    /// The body parsed as JSON (`Null` if it is not JSON).
    #[must_use]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// A header as text.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as text.
    #[must_use]
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A probe that failed to get any answer.
#[derive(Debug, thiserror::Error)]
#[error("{method} {url}: {reason}")]
pub struct ProbeError {
    method: String,
    url: String,
    reason: String,
}

/// Sends requests to lab servers, trusting the lab CA.
#[derive(Clone)]
pub struct Probe {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    auth: Option<String>,
    token: Option<String>,
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Probe").finish_non_exhaustive()
    }
}

impl Probe {
    /// A probe trusting `ca_pem`.
    ///
    /// # Panics
    /// If `ca_pem` holds no certificate (a programming error in a test).
    #[must_use]
    pub fn new(ca_pem: &str) -> Self {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()).flatten() {
            let _ = roots.add(cert);
        }
        assert!(!roots.is_empty(), "the lab CA PEM holds no certificate");
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        .unwrap_or_else(|e| unreachable!("ring supports the default versions: {e}"));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            auth: None,
            token: None,
        }
    }

    /// The same probe sending HTTP Basic credentials.
    #[must_use]
    pub fn with_basic(&self, username: &str, password: &str) -> Self {
        Self {
            client: self.client.clone(),
            auth: Some(basic_authorization(username, password)),
            token: None,
        }
    }

    /// The same probe sending a Redfish session token (`X-Auth-Token`) instead of credentials.
    #[must_use]
    pub fn with_token(&self, token: &str) -> Self {
        Self {
            client: self.client.clone(),
            auth: None,
            token: Some(token.to_owned()),
        }
    }

    /// The same probe without credentials.
    #[must_use]
    pub fn anonymous(&self) -> Self {
        Self {
            client: self.client.clone(),
            auth: None,
            token: None,
        }
    }

    /// `POST url` with a JSON body.
    ///
    /// # Errors
    /// When no answer arrives.
    pub async fn post(&self, url: &str, json: &serde_json::Value) -> Result<Answer, ProbeError> {
        self.send(http::Method::POST, url, &[], Some(json)).await
    }

    /// `PATCH url` with a JSON body.
    ///
    /// # Errors
    /// When no answer arrives.
    pub async fn patch(&self, url: &str, json: &serde_json::Value) -> Result<Answer, ProbeError> {
        self.send(http::Method::PATCH, url, &[], Some(json)).await
    }

    /// `DELETE url`.
    ///
    /// # Errors
    /// When no answer arrives.
    pub async fn delete(&self, url: &str) -> Result<Answer, ProbeError> {
        self.send(http::Method::DELETE, url, &[], None).await
    }

    /// `GET url`.
    ///
    /// # Errors
    /// When no answer arrives.
    pub async fn get(&self, url: &str) -> Result<Answer, ProbeError> {
        self.send(http::Method::GET, url, &[], None).await
    }

    /// Sends a request; `json` (if any) is the body with `Content-Type: application/json`.
    ///
    /// # Errors
    /// When no answer arrives.
    pub async fn send(
        &self,
        method: http::Method,
        url: &str,
        headers: &[(&str, &str)],
        json: Option<&serde_json::Value>,
    ) -> Result<Answer, ProbeError> {
        let error = |reason: String| ProbeError {
            method: method.to_string(),
            url: url.to_owned(),
            reason,
        };
        let mut builder = http::Request::builder().method(method.clone()).uri(url);
        if let Some(auth) = &self.auth {
            builder = builder.header(http::header::AUTHORIZATION, auth);
        }
        if let Some(token) = &self.token {
            builder = builder.header("x-auth-token", token);
        }
        if json.is_some() {
            builder = builder.header(http::header::CONTENT_TYPE, "application/json");
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let body = json.map(|j| Bytes::from(j.to_string())).unwrap_or_default();
        let request = builder
            .body(Full::new(body))
            .map_err(|e| error(e.to_string()))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| error(e.to_string()))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| error(e.to_string()))?
            .to_bytes();
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}

/// An `Authorization` header value carrying HTTP Basic credentials.
#[must_use]
pub fn basic_authorization(username: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    format!("Basic {token}")
}
