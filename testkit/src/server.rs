//! Serving a simulated service over HTTP/1.1, plain or TLS, on one listener.
//!
//! A service sees a whole [`Request`] (body read) and answers with an [`Outcome`]: a response, or
//! a reset (the connection is closed without an answer, as a crashing or overloaded server does).
//! Every accepted connection is reported to the service once its TLS handshake, if any, is over
//! ([`Service::connection`]), so the lab can count connections and resumed handshakes.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::metrics::ConnectionStart;

/// A response with its whole body.
pub type Response = http::Response<Bytes>;

/// A request with its whole body, as a service sees it.
#[derive(Debug, Clone)]
pub struct Request {
    /// HTTP method.
    pub method: http::Method,
    /// The path, percent-decoded.
    pub path: String,
    /// The raw query string (empty if none).
    pub raw_query: String,
    /// Query parameters, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// Headers.
    pub headers: http::HeaderMap,
    /// The body.
    pub body: Bytes,
    /// The address the request arrived on (which BMC).
    pub local: SocketAddr,
}

impl Request {
    /// The first value of a query parameter.
    #[must_use]
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A header as text.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Path and query as sent, for the request log.
    #[must_use]
    pub fn path_and_query(&self) -> String {
        if self.raw_query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.raw_query)
        }
    }
}

/// How a service answers.
#[derive(Debug)]
pub enum Outcome {
    /// Send this response.
    Respond(Response),
    /// Close the connection without answering.
    Reset,
}

/// A simulated service.
pub trait Service: Send + Sync + 'static {
    /// Whether connections to `local` are accepted at all (a dead BMC's are dropped at once).
    fn accepts(&self, local: SocketAddr) -> bool;
    /// Answers one request.
    fn handle(&self, request: Request) -> impl Future<Output = Outcome> + Send;
    /// A connection to `local` was accepted and began as `start` (counted by the services
    /// that report connections; nothing by default).
    fn connection(&self, local: SocketAddr, start: ConnectionStart) {
        let _ = (local, start);
    }
    /// A connection [`Service::connection`] counted (not a failed handshake) closed.
    fn connection_closed(&self, local: SocketAddr) {
        let _ = local;
    }
}

/// A JSON response with `status` and `body`.
#[must_use]
pub fn json(status: http::StatusCode, body: &serde_json::Value) -> Response {
    // straight into a buffer: `Display` goes through a formatter per token
    let text = serde_json::to_vec(body).unwrap_or_default();
    let mut response = http::Response::new(Bytes::from(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// A response with a body of the given content type.
#[must_use]
pub fn text(
    status: http::StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response {
    let mut response = http::Response::new(body.into());
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    response
}

#[derive(Debug)]
struct ResetConnection;

impl std::fmt::Display for ResetConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by the lab")
    }
}

impl std::error::Error for ResetConnection {}

/// Accepts connections on `listener` until `shutdown`, serving each with `service`.
pub async fn serve<S: Service>(
    listener: TcpListener,
    tls: Option<Arc<dyn Fn() -> Option<Arc<rustls::ServerConfig>> + Send + Sync>>,
    service: Arc<S>,
    shutdown: CancellationToken,
) {
    let Ok(local) = listener.local_addr() else {
        return;
    };
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    tracing::debug!(%local, %error, "accept failed");
                    continue;
                }
            },
            () = shutdown.cancelled() => return,
        };
        if !service.accepts(local) {
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let shutdown = shutdown.clone();
        let tls = tls.as_ref().and_then(|make| make());
        tokio::spawn(async move {
            let connection = async {
                match tls {
                    Some(config) => {
                        match tokio_rustls::TlsAcceptor::from(config).accept(stream).await {
                            Ok(stream) => {
                                let start = match stream.get_ref().1.handshake_kind() {
                                    Some(rustls::HandshakeKind::Resumed) => {
                                        ConnectionStart::TlsResumed
                                    }
                                    _ => ConnectionStart::TlsFull,
                                };
                                service.connection(local, start);
                                serve_connection(stream, local, service.clone()).await;
                                service.connection_closed(local);
                            }
                            Err(error) => {
                                service.connection(local, ConnectionStart::TlsFailed);
                                tracing::debug!(%local, %error, "tls handshake failed");
                            }
                        }
                    }
                    None => {
                        service.connection(local, ConnectionStart::Plain);
                        serve_connection(stream, local, service.clone()).await;
                        service.connection_closed(local);
                    }
                }
            };
            tokio::select! {
                () = connection => {}
                () = shutdown.cancelled() => {}
            }
        });
    }
}

async fn serve_connection<I, S>(io: I, local: SocketAddr, service: Arc<S>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Service,
{
    let handler = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let service = service.clone();
        async move {
            let (parts, body) = request.into_parts();
            let body = match body.collect().await {
                Ok(body) => body.to_bytes(),
                Err(_) => return Err(ResetConnection),
            };
            let request = into_request(parts, body, local);
            match service.handle(request).await {
                Outcome::Respond(response) => Ok(response.map(Full::new)),
                Outcome::Reset => Err(ResetConnection),
            }
        }
    });
    let result = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .header_read_timeout(None)
        .serve_connection(TokioIo::new(io), handler)
        .await;
    if let Err(error) = result {
        tracing::trace!(%local, %error, "connection ended");
    }
}

pub(crate) fn into_request(parts: http::request::Parts, body: Bytes, local: SocketAddr) -> Request {
    let raw_path = parts.uri.path();
    let path = decode(raw_path);
    let raw_query = parts.uri.query().unwrap_or_default().to_owned();
    let query = raw_query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(&k.replace('+', " ")), decode(&v.replace('+', " ")))
        })
        .collect();
    Request {
        method: parts.method,
        path,
        raw_query,
        query,
        headers: parts.headers,
        body,
        local,
    }
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_decoded() {
        let parts = http::Request::get("/api/hosts?search=name%20%3D%20a.b&per_page=all&thin=1")
            .body(())
            .expect("request")
            .into_parts()
            .0;
        let request = into_request(parts, Bytes::new(), "127.0.0.1:1".parse().expect("addr"));
        assert_eq!(request.path, "/api/hosts");
        assert_eq!(request.query_param("search"), Some("name = a.b"));
        assert_eq!(request.query_param("per_page"), Some("all"));
        assert_eq!(request.query_param("thin"), Some("1"));
    }
}
