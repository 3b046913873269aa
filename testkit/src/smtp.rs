//! A fake SMTP server recording the mail it takes: enough of RFC 5321 for a client such as
//! lettre (EHLO/HELO, STARTTLS with a lab certificate, AUTH PLAIN and LOGIN, MAIL, RCPT, DATA
//! with dot-unstuffing, RSET, NOOP, QUIT), or the same over TLS from the first byte (implicit
//! TLS, port 465 style). With a login configured, mail is refused until the client
//! authenticated, and AUTH is offered only over TLS when TLS is available.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncWrite, AsyncWriteExt as _, BufReader};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::lab::Credentials;

/// How the fake SMTP server behaves.
#[derive(Debug, Clone, Default)]
pub struct SmtpSinkConfig {
    /// STARTTLS offered with this certificate (none: plain only).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// With `tls`: TLS from the first byte (implicit TLS) instead of STARTTLS; a client that
    /// speaks plain SMTP first gets nothing it can read.
    pub implicit_tls: bool,
    /// The login mail needs (none: anyone may send).
    pub login: Option<Credentials>,
}

/// One message as it arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedMail {
    /// `MAIL FROM` address.
    pub from: String,
    /// `RCPT TO` addresses.
    pub to: Vec<String>,
    /// The message (headers and body), dot-unstuffed, CRLF line ends.
    pub data: String,
    /// Who had signed in (`None`: nobody).
    pub user: Option<String>,
    /// Whether the session was under TLS (STARTTLS or implicit).
    pub tls: bool,
}

impl ReceivedMail {
    /// A header's value (first occurrence, unfolded), e.g. `Subject`.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<String> {
        let mut lines = self.data.split("\r\n").peekable();
        while let Some(line) = lines.next() {
            if line.is_empty() {
                return None;
            }
            if let Some((key, value)) = line.split_once(':')
                && key.eq_ignore_ascii_case(name)
            {
                let mut value = value.trim().to_owned();
                while let Some(next) = lines.peek().filter(|l| l.starts_with([' ', '\t'])) {
                    value.push(' ');
                    value.push_str(next.trim());
                    lines.next();
                }
                return Some(value);
            }
        }
        None
    }
}

/// The mail a sink took, shared with whoever reads it.
pub type MailBox = Arc<Mutex<Vec<ReceivedMail>>>;

/// A running fake SMTP server.
#[derive(Debug, Clone)]
pub struct SmtpSink {
    addr: SocketAddr,
    received: MailBox,
}

impl SmtpSink {
    /// Listens on 127.0.0.1 (a free port) until `shutdown`, recording into `received`.
    ///
    /// # Errors
    /// When the listener cannot be bound.
    pub async fn start(
        config: SmtpSinkConfig,
        received: MailBox,
        shutdown: CancellationToken,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let config = Arc::new(config);
        let sink = Self {
            addr,
            received: received.clone(),
        };
        tokio::spawn(async move {
            loop {
                let stream = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => stream,
                        Err(_) => continue,
                    },
                    () = shutdown.cancelled() => return,
                };
                let config = config.clone();
                let received = received.clone();
                let shutdown = shutdown.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        () = connection(stream, config, received) => {}
                        () = shutdown.cancelled() => {}
                    }
                });
            }
        });
        Ok(sink)
    }

    /// Where it listens.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every message taken so far, in order.
    #[must_use]
    pub fn received(&self) -> Vec<ReceivedMail> {
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

async fn connection(stream: tokio::net::TcpStream, config: Arc<SmtpSinkConfig>, received: MailBox) {
    let mut session = Session {
        config: &config,
        received: &received,
        tls: false,
        user: None,
    };
    if config.implicit_tls {
        let Some(tls) = config.tls.clone() else {
            return;
        };
        let Ok(stream) = tokio_rustls::TlsAcceptor::from(tls).accept(stream).await else {
            return;
        };
        session.tls = true;
        let _ = session.run(stream, true).await;
        return;
    }
    // STARTTLS hands the stream back: the session goes on under TLS, signed out
    if let Ok(Some(stream)) = session.run(stream, true).await {
        let Some(tls) = config.tls.clone() else {
            return;
        };
        let Ok(stream) = tokio_rustls::TlsAcceptor::from(tls).accept(stream).await else {
            return;
        };
        session.tls = true;
        session.user = None;
        let _ = session.run(stream, false).await;
    }
}

struct Session<'a> {
    config: &'a SmtpSinkConfig,
    received: &'a MailBox,
    tls: bool,
    user: Option<String>,
}

fn address(arg: &str) -> String {
    let arg = arg.trim();
    let start = arg.find('<').map_or(0, |i| i + 1);
    let end = arg[start..].find('>').map_or(arg.len(), |i| start + i);
    arg[start..end].to_owned()
}

fn b64(text: &str) -> Option<String> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
}

impl Session<'_> {
    fn auth_offered(&self) -> bool {
        self.config.login.is_some() && (self.tls || self.config.tls.is_none())
    }

    fn check_login(&mut self, user: &str, password: &str) -> &'static str {
        match &self.config.login {
            Some(l) if l.username == user && l.password == password => {
                self.user = Some(user.to_owned());
                "235 2.7.0 authentication succeeded\r\n"
            }
            _ => "535 5.7.8 authentication credentials invalid\r\n",
        }
    }

    /// Serves commands until QUIT or the end of the stream (`None`), or until STARTTLS, when
    /// the stream is handed back to be wrapped.
    async fn run<S>(&mut self, stream: S, greet: bool) -> std::io::Result<Option<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let mut io = BufReader::new(stream);
        if greet {
            io.write_all(b"220 quads-lab ESMTP fake\r\n").await?;
        }
        let mut from: Option<String> = None;
        let mut to: Vec<String> = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if io.read_line(&mut line).await? == 0 {
                return Ok(None);
            }
            let command = line.trim_end_matches(['\r', '\n']);
            let (verb, arg) = command.split_once(' ').unwrap_or((command, ""));
            let reply: String = match verb.to_ascii_uppercase().as_str() {
                "EHLO" => {
                    let mut r = String::from("250-quads-lab greets you\r\n");
                    if self.config.tls.is_some() && !self.tls {
                        r.push_str("250-STARTTLS\r\n");
                    }
                    if self.auth_offered() {
                        r.push_str("250-AUTH PLAIN LOGIN\r\n");
                    }
                    r.push_str("250 HELP\r\n");
                    r
                }
                "HELO" => "250 quads-lab\r\n".to_owned(),
                "STARTTLS" if self.config.tls.is_some() && !self.tls => {
                    io.write_all(b"220 2.0.0 ready to start TLS\r\n").await?;
                    io.flush().await?;
                    return Ok(Some(io.into_inner()));
                }
                "AUTH" if self.auth_offered() => {
                    let (mechanism, initial) = arg.split_once(' ').unwrap_or((arg, ""));
                    match mechanism.to_ascii_uppercase().as_str() {
                        "PLAIN" => {
                            let response = if initial.is_empty() {
                                io.write_all(b"334 \r\n").await?;
                                read_line(&mut io).await?
                            } else {
                                initial.to_owned()
                            };
                            let decoded = b64(&response).unwrap_or_default();
                            let mut parts = decoded.split('\0');
                            let (_authz, user, password) =
                                (parts.next(), parts.next(), parts.next());
                            self.check_login(user.unwrap_or(""), password.unwrap_or(""))
                                .to_owned()
                        }
                        "LOGIN" => {
                            io.write_all(b"334 VXNlcm5hbWU6\r\n").await?;
                            let user = b64(&read_line(&mut io).await?).unwrap_or_default();
                            io.write_all(b"334 UGFzc3dvcmQ6\r\n").await?;
                            let password = b64(&read_line(&mut io).await?).unwrap_or_default();
                            self.check_login(&user, &password).to_owned()
                        }
                        _ => "504 5.5.4 mechanism not supported\r\n".to_owned(),
                    }
                }
                "MAIL" if self.config.login.is_some() && self.user.is_none() => {
                    "530 5.7.0 authentication required\r\n".to_owned()
                }
                "MAIL" => {
                    from = Some(address(arg.split_once(':').map_or(arg, |(_, a)| a)));
                    to.clear();
                    "250 2.1.0 ok\r\n".to_owned()
                }
                "RCPT" if from.is_none() => "503 5.5.1 MAIL first\r\n".to_owned(),
                "RCPT" => {
                    to.push(address(arg.split_once(':').map_or(arg, |(_, a)| a)));
                    "250 2.1.5 ok\r\n".to_owned()
                }
                "DATA" if to.is_empty() => "503 5.5.1 RCPT first\r\n".to_owned(),
                "DATA" => {
                    io.write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n")
                        .await?;
                    let mut data = String::new();
                    loop {
                        let l = read_line(&mut io).await?;
                        if l == "." {
                            break;
                        }
                        data.push_str(l.strip_prefix('.').unwrap_or(&l));
                        data.push_str("\r\n");
                    }
                    self.received
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(ReceivedMail {
                            from: from.take().unwrap_or_default(),
                            to: std::mem::take(&mut to),
                            data,
                            user: self.user.clone(),
                            tls: self.tls,
                        });
                    "250 2.0.0 queued\r\n".to_owned()
                }
                "RSET" => {
                    from = None;
                    to.clear();
                    "250 2.0.0 ok\r\n".to_owned()
                }
                "NOOP" => "250 2.0.0 ok\r\n".to_owned(),
                "QUIT" => {
                    io.write_all(b"221 2.0.0 bye\r\n").await?;
                    io.flush().await?;
                    return Ok(None);
                }
                _ => "502 5.5.2 command not recognized\r\n".to_owned(),
            };
            io.write_all(reply.as_bytes()).await?;
            io.flush().await?;
        }
    }
}

/// One line without its CRLF; an error at the end of the stream.
async fn read_line<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<S>,
) -> std::io::Result<String> {
    let mut line = String::new();
    if io.read_line(&mut line).await? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
