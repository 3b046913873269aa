//! The email channel: one message per event over SMTP (lettre on tokio, rustls with ring),
//! STARTTLS (default), implicit TLS, or plain text to a loopback server only (tests); optional
//! AUTH with the password read from a file. The server's certificate is verified against the
//! platform's roots and an optional CA bundle.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncTransport as _, Tokio1Executor};
use serde::{Deserialize, Serialize};

use super::{Channel, Event, NotifyError, read_secret};
use crate::Secret;

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded by STARTTLS (required; port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS: only to a loopback server (a local relay, tests).
    Plain,
}

/// `[notify.smtp]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// The server's name or address.
    pub host: String,
    /// Its port (default 587, or 465 for `tls = "tls"`, 25 for plain).
    #[serde(default)]
    pub port: Option<u16>,
    /// `starttls` (default), `tls` or `plain`.
    #[serde(default)]
    pub tls: SmtpTls,
    /// The sender, `quads@example.com` or `QUADS <quads@example.com>`.
    pub from: String,
    /// The recipients.
    pub to: Vec<String>,
    /// The login, when the server wants one.
    #[serde(default)]
    pub username: Option<String>,
    /// A file holding its password (first line).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// A CA bundle (PEM) the server's certificate may chain to, besides the platform's roots.
    #[serde(default)]
    pub ca_bundle: Option<PathBuf>,
    /// Seconds one mail may take, connection to `QUIT` (default 60): a server that accepts and
    /// never answers (or waits for TLS while the client waits for its greeting) fails the
    /// send, which stays pending, instead of holding the run.
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

impl SmtpConfig {
    fn deadline(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.unwrap_or(60).max(1))
    }

    fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
            SmtpTls::Plain => 25,
        })
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Sends events as emails.
#[derive(Debug)]
pub struct EmailChannel {
    server: String,
    from: Mailbox,
    to: Vec<Mailbox>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    deadline: Duration,
}

impl EmailChannel {
    /// The channel `config` describes, its password and CA bundle read (blocking).
    ///
    /// # Errors
    /// [`NotifyError::Config`] or [`NotifyError::File`].
    pub fn new(config: &SmtpConfig) -> Result<Self, NotifyError> {
        let bad = |what: &str, e: &dyn std::fmt::Display| {
            NotifyError::Config(format!("smtp {what}: {e}"))
        };
        let from: Mailbox = config.from.parse().map_err(|e| bad("from", &e))?;
        if config.to.is_empty() {
            return Err(NotifyError::Config("smtp to: no recipient".to_owned()));
        }
        let to = config
            .to
            .iter()
            .map(|t| t.parse::<Mailbox>().map_err(|e| bad("to", &e)))
            .collect::<Result<Vec<_>, _>>()?;
        let tls = match config.tls {
            SmtpTls::Plain if !is_loopback(&config.host) => {
                return Err(NotifyError::Config(format!(
                    "smtp tls = \"plain\" only to a loopback server, not {}",
                    config.host
                )));
            }
            SmtpTls::Plain => Tls::None,
            SmtpTls::Starttls => Tls::Required(tls_parameters(config)?),
            SmtpTls::Tls => Tls::Wrapper(tls_parameters(config)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port())
            .tls(tls)
            .timeout(Some(config.deadline()));
        match (&config.username, &config.password_file) {
            (Some(user), Some(file)) => {
                let password: Secret = read_secret(file)?;
                builder = builder
                    .credentials(Credentials::new(user.clone(), password.expose().to_owned()));
            }
            (None, None) => {}
            _ => {
                return Err(NotifyError::Config(
                    "smtp: username and password_file go together".to_owned(),
                ));
            }
        }
        Ok(Self {
            server: format!("{}:{}", config.host, config.port()),
            from,
            to,
            transport: builder.build(),
            deadline: config.deadline(),
        })
    }

    /// The message for `event`.
    ///
    /// # Errors
    /// [`NotifyError::Smtp`] when lettre refuses to build it.
    pub fn message(&self, event: &Event) -> Result<Message, NotifyError> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(event.subject())
            .header(ContentType::TEXT_PLAIN);
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        builder.body(event.text()).map_err(|e| NotifyError::Smtp {
            server: self.server.clone(),
            reason: e.to_string(),
        })
    }
}

fn tls_parameters(config: &SmtpConfig) -> Result<TlsParameters, NotifyError> {
    let mut builder = TlsParameters::builder(config.host.clone());
    if let Some(path) = &config.ca_bundle {
        let pem = std::fs::read(path).map_err(|e| NotifyError::File {
            path: path.clone(),
            reason: e.kind().to_string(),
        })?;
        let cert = Certificate::from_pem(&pem)
            .map_err(|e| NotifyError::Config(format!("smtp ca_bundle {}: {e}", path.display())))?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build_rustls()
        .map_err(|e| NotifyError::Config(format!("smtp TLS: {e}")))
}

#[async_trait::async_trait]
impl Channel for EmailChannel {
    fn name(&self) -> &'static str {
        "email"
    }

    async fn send(&self, _id: &str, event: &Event) -> Result<(), NotifyError> {
        let message = self.message(event)?;
        let failed = |reason: String| NotifyError::Smtp {
            server: self.server.clone(),
            reason,
        };
        match tokio::time::timeout(self.deadline, self.transport.send(message)).await {
            Ok(sent) => sent.map(|_| ()).map_err(|e| failed(e.to_string())),
            Err(_) => Err(failed(format!(
                "no answer within {} s",
                self.deadline.as_secs()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn config(host: &str, tls: SmtpTls) -> SmtpConfig {
        SmtpConfig {
            host: host.into(),
            port: Some(2525),
            tls,
            from: "quads@example.com".into(),
            to: vec!["ops@example.com".into()],
            username: None,
            password_file: None,
            ca_bundle: None,
            timeout_secs: None,
        }
    }

    #[test]
    fn plain_smtp_only_to_loopback() {
        let err = EmailChannel::new(&config("mail.example.com", SmtpTls::Plain)).unwrap_err();
        assert!(err.to_string().contains("loopback"), "{err}");
        assert!(EmailChannel::new(&config("127.0.0.1", SmtpTls::Plain)).is_ok());
    }

    #[test]
    fn a_login_needs_its_password_file_and_a_bad_address_is_named() {
        let mut c = config("127.0.0.1", SmtpTls::Plain);
        c.username = Some("quads".into());
        assert!(
            EmailChannel::new(&c)
                .unwrap_err()
                .to_string()
                .contains("go together")
        );
        let mut c = config("127.0.0.1", SmtpTls::Plain);
        c.to = vec!["not an address".into()];
        assert!(
            EmailChannel::new(&c)
                .unwrap_err()
                .to_string()
                .contains("smtp to")
        );
    }

    #[test]
    fn the_message_has_the_subject_and_the_event_id() {
        let channel = EmailChannel::new(&config("127.0.0.1", SmtpTls::Plain)).unwrap();
        let event = Event::ScheduleEnding {
            cloud: "cloud02".into(),
            ticket: "1234".into(),
            owner: "alice".into(),
            ends_at: "2025-01-15T22:00:00Z".into(),
            days: 7,
            hosts: vec!["host01".into()],
        };
        let text = String::from_utf8(channel.message(&event).unwrap().formatted()).unwrap();
        assert!(
            text.contains("Subject: [quads] cloud02 (1234) ends in 7 day(s)"),
            "{text}"
        );
        assert!(
            text.contains("schedule-ending:cloud02:1234:2025-01-15T22:00:00Z:7d"),
            "{text}"
        );
    }
}
