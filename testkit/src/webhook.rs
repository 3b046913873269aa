//! A webhook sink recording every POST it takes: the body, the `X-Quads-Signature` header and,
//! when the sink knows the secret, whether that signature is the body's HMAC-SHA256. Its first
//! `fail_first` requests are answered 503, so a sender's retries can be seen.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use http::StatusCode;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::server::{Outcome, Request, Service, json, serve};

/// How the sink behaves.
#[derive(Debug, Clone, Default)]
pub struct WebhookSinkConfig {
    /// The HMAC secret the sender signs with (none: signatures are not checked).
    pub secret: Option<String>,
    /// Requests answered 503 before any is taken.
    pub fail_first: usize,
}

/// One POST as it arrived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceivedWebhook {
    /// The path posted to.
    pub path: String,
    /// The body, parsed (`null` when it was not JSON).
    pub body: serde_json::Value,
    /// The `X-Quads-Signature` header.
    pub signature: Option<String>,
    /// Whether the signature is the body's HMAC under the sink's secret (`None`: no secret).
    pub signature_valid: Option<bool>,
    /// The status answered (503 for the refused ones).
    pub status: u16,
}

/// What a sink took, shared with whoever reads it.
pub type WebhookBox = Arc<Mutex<Vec<ReceivedWebhook>>>;

/// Whether `header` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under `secret`.
#[must_use]
pub fn signature_matches(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex) = header.strip_prefix("sha256=") else {
        return false;
    };
    if hex.len() % 2 != 0 {
        return false;
    }
    let tag: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    let Some(tag) = tag else { return false };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    ring::hmac::verify(&key, body, &tag).is_ok()
}

#[derive(Debug)]
struct Sink {
    config: WebhookSinkConfig,
    seen: AtomicUsize,
    received: WebhookBox,
}

impl Service for Sink {
    fn accepts(&self, _local: SocketAddr) -> bool {
        true
    }

    async fn handle(&self, request: Request) -> Outcome {
        if request.method == http::Method::GET && request.path == "/received" {
            let received = self
                .received
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            return Outcome::Respond(json(
                StatusCode::OK,
                &serde_json::to_value(received).unwrap_or_default(),
            ));
        }
        if request.method != http::Method::POST {
            return Outcome::Respond(json(
                StatusCode::METHOD_NOT_ALLOWED,
                &serde_json::json!({"error": "POST only"}),
            ));
        }
        let signature = request.header("x-quads-signature").map(str::to_owned);
        let signature_valid = self.config.secret.as_ref().map(|secret| {
            signature
                .as_deref()
                .is_some_and(|s| signature_matches(secret.as_bytes(), &request.body, s))
        });
        let refused = self.seen.fetch_add(1, Ordering::SeqCst) < self.config.fail_first;
        let status = if refused {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::OK
        };
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(ReceivedWebhook {
                path: request.path.clone(),
                body: serde_json::from_slice(&request.body).unwrap_or_default(),
                signature,
                signature_valid,
                status: status.as_u16(),
            });
        Outcome::Respond(json(status, &serde_json::json!({"ok": !refused})))
    }
}

/// A running webhook sink (plain HTTP on loopback).
#[derive(Debug, Clone)]
pub struct WebhookSink {
    addr: SocketAddr,
    received: WebhookBox,
}

impl WebhookSink {
    /// Listens on 127.0.0.1 (a free port) until `shutdown`, recording into `received`.
    ///
    /// # Errors
    /// When the listener cannot be bound.
    pub async fn start(
        config: WebhookSinkConfig,
        received: WebhookBox,
        shutdown: CancellationToken,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let sink = Arc::new(Sink {
            config,
            seen: AtomicUsize::new(0),
            received: received.clone(),
        });
        tokio::spawn(serve(listener, None, sink, shutdown));
        Ok(Self { addr, received })
    }

    /// The URL to POST events to (`GET /received` lists what arrived).
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}/hooks/quads", self.addr)
    }

    /// Where it listens.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every POST taken so far (the refused ones too), in order.
    #[must_use]
    pub fn received(&self) -> Vec<ReceivedWebhook> {
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_checked_against_the_body() {
        // RFC 4231 test case 2
        let good = "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert!(signature_matches(
            b"Jefe",
            b"what do ya want for nothing?",
            good
        ));
        assert!(!signature_matches(
            b"Jefe",
            b"what do ya want for nothing!",
            good
        ));
        assert!(!signature_matches(
            b"jefe",
            b"what do ya want for nothing?",
            good
        ));
        assert!(!signature_matches(b"Jefe", b"x", "sha1=00"));
    }
}
