//! The webhook channel: one JSON POST per event, `{"version": 1, "id": ..., "event": ..., ...}`,
//! signed `X-Quads-Signature: sha256=<hex HMAC-SHA256 of the body>` when a secret is set, and
//! retried with backoff on tokio's clock after a transport error, a 5xx or a 429. The receiver
//! may see an event twice (an answer lost after it was taken): the `id` tells it.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use quads_http::{HttpsTransport, TlsVerification, Transport, TransportConfig};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::{Channel, Event, NotifyError, read_secret};
use crate::Secret;
use crate::retry::{AttemptError, RetryPolicy, Retryable, retry, retry_after};

/// The version of the webhook body.
pub const WEBHOOK_VERSION: u32 = 1;

/// `[notify.webhook]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where events are POSTed (`http` or `https`).
    pub url: String,
    /// A file holding the HMAC secret (first line); unsigned without one.
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// A CA bundle (PEM) to verify the receiver with, besides the platform's roots.
    #[serde(default)]
    pub ca_bundle: Option<PathBuf>,
    /// How sends are retried.
    #[serde(default = "default_retry")]
    pub retry: RetryPolicy,
}

fn default_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        ..RetryPolicy::default()
    }
}

/// `sha256=<hex>`: the HMAC-SHA256 of `body` under `secret`, as the header carries it.
#[must_use]
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = ring::hmac::sign(&key, body);
    let mut out = String::from("sha256=");
    for b in tag.as_ref() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The body sent for `event`.
///
/// # Errors
/// When the event cannot be serialized (never for these types).
pub fn body(id: &str, event: &Event) -> Result<Vec<u8>, serde_json::Error> {
    let mut value = serde_json::to_value(event)?;
    if let serde_json::Value::Object(map) = &mut value {
        map.insert("version".to_owned(), WEBHOOK_VERSION.into());
        map.insert("id".to_owned(), id.into());
    }
    serde_json::to_vec(&value)
}

/// Posts events to a URL.
#[derive(Debug)]
pub struct WebhookChannel {
    url: http::Uri,
    secret: Option<Secret>,
    transport: Arc<dyn Transport>,
    retry: RetryPolicy,
    cancel: CancellationToken,
}

impl WebhookChannel {
    /// The channel `config` describes, its secret read (blocking).
    ///
    /// # Errors
    /// [`NotifyError::Config`] (a bad URL, TLS settings) or [`NotifyError::File`].
    pub fn new(config: &WebhookConfig) -> Result<Self, NotifyError> {
        let url: http::Uri = config
            .url
            .parse()
            .map_err(|e| NotifyError::Config(format!("webhook url: {e}")))?;
        if !matches!(url.scheme_str(), Some("http" | "https")) || url.host().is_none() {
            return Err(NotifyError::Config(
                "webhook url: an http:// or https:// URL with a host".to_owned(),
            ));
        }
        if url.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Err(NotifyError::Config(
                "webhook url: no credentials in the URL (use secret_file)".to_owned(),
            ));
        }
        let secret = config.secret_file.as_deref().map(read_secret).transpose()?;
        let tls = match &config.ca_bundle {
            Some(path) => TlsVerification::CaBundle(path.clone()),
            None => TlsVerification::Platform,
        };
        let transport = HttpsTransport::new(&TransportConfig {
            tls,
            ..TransportConfig::default()
        })
        .map_err(|e| NotifyError::Config(format!("webhook TLS: {e}")))?;
        Ok(Self::with_transport(
            url,
            secret,
            Arc::new(transport),
            config.retry.clone(),
        ))
    }

    /// A channel over `transport` (tests, simulations).
    #[must_use]
    pub fn with_transport(
        url: http::Uri,
        secret: Option<Secret>,
        transport: Arc<dyn Transport>,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            url,
            secret,
            transport,
            retry,
            cancel: CancellationToken::new(),
        }
    }

    fn request(&self, body: &Bytes) -> Result<http::Request<Bytes>, NotifyError> {
        let mut builder = http::Request::post(self.url.clone())
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, "quads-rs");
        if let Some(secret) = &self.secret {
            builder = builder.header(
                "X-Quads-Signature",
                signature(secret.expose().as_bytes(), body),
            );
        }
        builder
            .body(body.clone())
            .map_err(|e| NotifyError::Webhook {
                url: self.url.to_string(),
                reason: e.to_string(),
            })
    }
}

/// Why one POST failed, and whether it may be tried again.
#[derive(Debug)]
struct PostError {
    reason: String,
    retryable: Retryable,
}

impl std::fmt::Display for PostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

#[async_trait::async_trait]
impl Channel for WebhookChannel {
    fn name(&self) -> &'static str {
        "webhook"
    }

    async fn send(&self, id: &str, event: &Event) -> Result<(), NotifyError> {
        let url = self.url.to_string();
        let body = Bytes::from(body(id, event).map_err(|e| NotifyError::Webhook {
            url: url.clone(),
            reason: e.to_string(),
        })?);
        let result = retry(
            &self.retry,
            &self.cancel,
            |e: &AttemptError<PostError>| match e {
                AttemptError::Failed(e) => e.retryable,
                AttemptError::TimedOut(_) => Retryable::Yes,
            },
            |_attempt| {
                let request = self.request(&body);
                async move {
                    let request = request.map_err(|e| PostError {
                        reason: e.to_string(),
                        retryable: Retryable::No,
                    })?;
                    let response = self.transport.send(request).await.map_err(|e| PostError {
                        reason: e.to_string(),
                        retryable: Retryable::Yes,
                    })?;
                    let status = response.status();
                    if status.is_success() {
                        return Ok(());
                    }
                    let excerpt: String = String::from_utf8_lossy(response.body())
                        .chars()
                        .take(200)
                        .collect();
                    let retryable = if status.is_server_error()
                        || status == http::StatusCode::TOO_MANY_REQUESTS
                    {
                        retry_after(response.headers()).map_or(Retryable::Yes, Retryable::YesAfter)
                    } else {
                        Retryable::No
                    };
                    Err(PostError {
                        reason: format!("{status}: {}", excerpt.trim()),
                        retryable,
                    })
                }
            },
        )
        .await;
        result.map_err(|e| NotifyError::Webhook {
            reason: format!(
                "{} (after {} attempts)",
                e.last()
                    .map_or_else(|| "cancelled".to_owned(), ToString::to_string),
                e.attempts()
            ),
            url,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_signature_is_rfc_4231_hmac_sha256_in_hex() {
        // RFC 4231 test case 2
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_body_is_versioned_and_names_the_event() {
        let event = Event::CloudValidated {
            cloud: "cloud02".into(),
            ticket: "1234".into(),
            owner: "alice".into(),
        };
        let v: serde_json::Value =
            serde_json::from_slice(&body(&event.id(), &event).unwrap()).unwrap();
        assert_eq!(v["version"], 1);
        assert_eq!(v["event"], "cloud-validated");
        assert_eq!(v["id"], "cloud-validated:cloud02:1234");
        assert_eq!(v["cloud"], "cloud02");
    }

    #[test]
    fn a_url_with_credentials_or_another_scheme_is_refused() {
        for url in [
            "ftp://127.0.0.1/x",
            "http://user:pw@127.0.0.1/x",
            "/relative",
        ] {
            let config = WebhookConfig {
                url: url.into(),
                secret_file: None,
                ca_bundle: None,
                retry: default_retry(),
            };
            let err = WebhookChannel::new(&config).unwrap_err().to_string();
            assert!(err.contains("webhook url"), "{url}: {err}");
            assert!(!err.contains("pw"), "{err}");
        }
    }
}
