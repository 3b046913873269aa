//! The IO: one SSH connection, an interactive Junos shell driven by its prompts, for one batch
//! or several in turn (the caller may keep a session whose last batch ended well).

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quads_http::Secret;
use russh::client::{self, Handle};
use russh::keys::{HashAlg, PublicKeyOrCertificate};
use russh::{ChannelMsg, Disconnect};
use tokio::time::Instant;

use crate::error::Error;
use crate::junos::{self, Answer, CliMode, CommitAnswer};
use crate::model::{ApplyReport, PortChange, PortConfig, PortResult};

/// The buffer the session's socket is read through: tens of a switch's answer packets (one
/// line of output each, tens of bytes), small enough for the sessions kept open.
const READ_BUFFER: usize = 2 * 1024;

/// How the switch's SSH host key is checked (a public fingerprint: no secret to hide).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyCheck {
    /// The key's SHA-256 fingerprint, as `ssh-keygen -lf` prints it (`SHA256:...`; the prefix
    /// and base64 padding are optional).
    Sha256(String),
    /// Accept any key (the operator opted out, as QUADS's `StrictHostKeyChecking=no`).
    Insecure,
}

/// How long each part of a session may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect, SSH handshake and login, each.
    pub connect: Duration,
    /// One command's answer.
    pub command: Duration,
    /// `commit`'s answer (a switch's commit takes seconds to minutes; QUADS waits 120 s).
    pub commit: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(30),
            command: Duration::from_secs(60),
            commit: Duration::from_secs(120),
        }
    }
}

/// One switch and how to log in to it.
#[derive(Debug, Clone)]
pub struct SwitchConfig {
    /// The switch's name for errors and logs (e.g. `sw01`); the address when empty.
    pub name: String,
    /// `ip[:port]` (port 22 when absent).
    pub address: String,
    /// Login.
    pub username: String,
    /// Password (never printed).
    pub password: Secret,
    /// Host key verification.
    pub host_key: HostKeyCheck,
    /// Time limits.
    pub timeouts: Timeouts,
}

impl SwitchConfig {
    fn label(&self) -> String {
        if self.name.is_empty() {
            self.address.clone()
        } else {
            self.name.clone()
        }
    }

    fn socket_address(&self) -> String {
        let has_port = self
            .address
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.contains(':') && port.parse::<u16>().is_ok());
        if has_port {
            self.address.clone()
        } else {
            format!("{}:22", self.address)
        }
    }
}

/// Opens sessions on Junos switches.
#[derive(Debug, Clone, Copy)]
pub struct JunosSwitch;

impl JunosSwitch {
    /// Connects, checks the host key, logs in with the password and waits for the CLI prompt.
    ///
    /// # Errors
    /// [`Error::Connect`], [`Error::Timeout`], [`Error::HostKey`], [`Error::AuthRefused`].
    #[tracing::instrument(skip_all, fields(switch = %config.label()))]
    pub async fn connect(config: &SwitchConfig) -> Result<JunosSession, Error> {
        let switch = config.label();
        let timeouts = config.timeouts;
        let timeout = |during: &str| Error::Timeout {
            switch: switch.clone(),
            during: during.to_owned(),
        };
        let connect_error = |reason: String| Error::Connect {
            switch: switch.clone(),
            reason,
        };
        let address = config.socket_address();
        let stream = tokio::time::timeout(
            timeouts.connect,
            tokio::net::TcpStream::connect(address.as_str()),
        )
        .await
        .map_err(|_| timeout("connecting"))?
        .map_err(|e| connect_error(format!("{address}: {e}")))?;
        let _ = stream.set_nodelay(true);
        // russh reads each packet as its 4-byte length, then the rest: two reads of the socket
        // a packet, and a switch answers a batch with a packet a line. Read through a buffer,
        // the packets that arrived together take one read.
        let stream = tokio::io::BufReader::with_capacity(READ_BUFFER, stream);
        let presented = Arc::new(Mutex::new(None));
        let checker = HostKeyChecker {
            expected: config.host_key.clone(),
            presented: presented.clone(),
        };
        let ssh_config = Arc::new(client::Config {
            inactivity_timeout: None,
            ..client::Config::default()
        });
        let handshake = tokio::time::timeout(
            timeouts.connect,
            client::connect_stream(ssh_config, stream, checker),
        )
        .await
        .map_err(|_| timeout("in the ssh handshake"))?;
        let mut handle = match handshake {
            Ok(handle) => handle,
            Err(e) => {
                let seen = presented
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone();
                return Err(match (&config.host_key, seen) {
                    (HostKeyCheck::Sha256(expected), Some(seen))
                        if !same_fingerprint(expected, &seen) =>
                    {
                        Error::HostKey {
                            switch,
                            expected: expected.clone(),
                            presented: seen,
                        }
                    }
                    _ => connect_error(format!("ssh handshake: {e}")),
                });
            }
        };
        let auth = tokio::time::timeout(
            timeouts.connect,
            handle.authenticate_password(config.username.as_str(), config.password.expose()),
        )
        .await
        .map_err(|_| timeout("logging in"))?
        .map_err(|e| connect_error(format!("login: {e}")))?;
        if !auth.success() {
            return Err(Error::AuthRefused {
                switch,
                username: config.username.clone(),
            });
        }
        let session_error = |e: russh::Error| Error::Session {
            switch: switch.clone(),
            reason: e.to_string(),
        };
        let channel = tokio::time::timeout(timeouts.connect, handle.channel_open_session())
            .await
            .map_err(|_| timeout("opening the ssh channel"))?
            .map_err(session_error)?;
        tokio::time::timeout(
            timeouts.connect,
            channel.request_pty(false, "vt100", 512, 200, 0, 0, &[]),
        )
        .await
        .map_err(|_| timeout("requesting a terminal"))?
        .map_err(session_error)?;
        tokio::time::timeout(timeouts.connect, channel.request_shell(false))
            .await
            .map_err(|_| timeout("requesting the shell"))?
            .map_err(session_error)?;
        let mut session = JunosSession {
            switch,
            handle,
            channel,
            buffer: String::new(),
            desynced: false,
            applied: 0,
            timeouts,
        };
        let banner = session
            .answer(None, timeouts.connect, "the first prompt")
            .await?;
        if banner.mode != CliMode::Operational {
            return Err(session.protocol("the first prompt is not operational mode"));
        }
        // No `---(more)---` pager in the answers.
        session.command("set cli screen-length 0").await?;
        tracing::debug!("logged in");
        Ok(session)
    }
}

fn normalize_fingerprint(fp: &str) -> &str {
    fp.trim()
        .strip_prefix("SHA256:")
        .unwrap_or(fp.trim())
        .trim_end_matches('=')
}

fn same_fingerprint(a: &str, b: &str) -> bool {
    normalize_fingerprint(a) == normalize_fingerprint(b)
}

struct HostKeyChecker {
    expected: HostKeyCheck,
    presented: Arc<Mutex<Option<String>>>,
}

impl client::Handler for HostKeyChecker {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_public_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let fingerprint = match server_public_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.fingerprint(HashAlg::Sha256),
            PublicKeyOrCertificate::Certificate(cert) => {
                cert.public_key().fingerprint(HashAlg::Sha256)
            }
        }
        .to_string();
        let accepted = match &self.expected {
            HostKeyCheck::Insecure => true,
            HostKeyCheck::Sha256(expected) => same_fingerprint(expected, &fingerprint),
        };
        *self
            .presented
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(fingerprint);
        Ok(accepted)
    }
}

/// A logged-in CLI session on one switch (operational mode between calls).
pub struct JunosSession {
    switch: String,
    handle: Handle<HostKeyChecker>,
    channel: russh::Channel<client::Msg>,
    buffer: String,
    /// A command was sent and its answer has not been read (it timed out, or the call waiting
    /// for it was dropped): whatever arrives next may be that answer, so no command may follow.
    desynced: bool,
    /// Batches applied in this session: a later one finds it reused.
    applied: u32,
    timeouts: Timeouts,
}

impl fmt::Debug for JunosSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JunosSession")
            .field("switch", &self.switch)
            .finish_non_exhaustive()
    }
}

impl JunosSession {
    /// The switch's name.
    #[must_use]
    pub fn switch(&self) -> &str {
        &self.switch
    }

    /// Whether the session may take another command: in step with the switch and its
    /// connection not known to be gone. A connection may still turn out dead on the next
    /// command; [`Self::apply`] then says [`Error::Stale`].
    #[must_use]
    pub fn is_open(&self) -> bool {
        !self.desynced && !self.handle.is_closed()
    }

    /// Reads each port's configuration (`show configuration interfaces P`).
    ///
    /// # Errors
    /// A bad port name, a refused command, a broken session or unreadable output.
    #[tracing::instrument(skip_all, fields(switch = %self.switch, ports = ports.len()))]
    pub async fn read_ports(
        &mut self,
        ports: &[impl AsRef<str>],
    ) -> Result<Vec<PortConfig>, Error> {
        for port in ports {
            self.check_port(port.as_ref())?;
        }
        self.read_checked(ports).await
    }

    /// [`Self::read_ports`] of ports already checked: one command for one port, one for all
    /// interfaces when there are more (`| display set`), each port parsed from it.
    async fn read_checked(&mut self, ports: &[impl AsRef<str>]) -> Result<Vec<PortConfig>, Error> {
        if ports.len() > 1 {
            let answer = self.command(junos::SHOW_ALL_INTERFACES).await?;
            return junos::parse_interfaces(ports, &answer.output)
                .into_iter()
                .zip(ports)
                .map(|(config, port)| {
                    config.map_err(|e| Error::Parse {
                        switch: self.switch.clone(),
                        port: port.as_ref().to_owned(),
                        reason: e.0,
                    })
                })
                .collect();
        }
        let mut configs = Vec::with_capacity(ports.len());
        for port in ports {
            let port = port.as_ref();
            let answer = self.command(&junos::show_interface(port)).await?;
            let config =
                junos::parse_interface(port, &answer.output).map_err(|e| Error::Parse {
                    switch: self.switch.clone(),
                    port: port.to_owned(),
                    reason: e.0,
                })?;
            configs.push(config);
        }
        Ok(configs)
    }

    /// Brings every port of the batch to its target: reads them, enters configuration mode
    /// (`configure private`), sends the set/delete lines of all ports, makes ONE `commit`,
    /// leaves, and reads every port back. Ports already at their target cost no commit; a batch
    /// with nothing to change makes none. The lines go in one write, their answers read in
    /// order (no wait for each prompt); a refused one is named, and nothing is committed.
    ///
    /// # Errors
    /// [`Error::CommitFailed`] (the candidate rolled back: the switch is as it was),
    /// [`Error::Command`] for a refused line (likewise rolled back), or a session error. A
    /// timeout (or dropping the call before it returns) leaves the commit's outcome unknown and
    /// this session out of step with the switch: every later call on it fails with
    /// [`Error::Session`]; read the ports in a new session. [`Error::Stale`]: a session that
    /// had applied a batch before was found closed (or silent) at the first read, before
    /// anything was sent to change the switch: apply the batch again in a new session.
    #[tracing::instrument(skip_all, fields(switch = %self.switch, ports = changes.len()))]
    pub async fn apply(&mut self, changes: &[PortChange]) -> Result<ApplyReport, Error> {
        let mut seen = std::collections::HashSet::new();
        for change in changes {
            self.check_port(&change.port)?;
            if !seen.insert(change.port.as_str()) {
                return Err(Error::DuplicatePort {
                    switch: self.switch.clone(),
                    port: change.port.clone(),
                });
            }
        }
        let ports: Vec<&str> = changes.iter().map(|c| c.port.as_str()).collect();
        let before = match self.read_checked(&ports).await {
            Ok(before) => before,
            // nothing was written yet: a kept session the switch or the network dropped
            Err(e @ (Error::Session { .. } | Error::Timeout { .. })) if self.applied > 0 => {
                return Err(Error::Stale {
                    switch: self.switch.clone(),
                    reason: e.to_string(),
                });
            }
            Err(e) => return Err(e),
        };
        let lines: Vec<String> = changes
            .iter()
            .zip(&before)
            .flat_map(|(change, current)| junos::change_lines(current, &change.target))
            .collect();
        let committed = !lines.is_empty();
        let after = if committed {
            self.commit_lines(&lines, &ports).await?;
            self.read_checked(&ports).await?
        } else {
            before.clone()
        };
        self.applied += 1;
        let results = changes
            .iter()
            .zip(before)
            .zip(after)
            .map(|((change, before), after)| PortResult {
                port: change.port.clone(),
                verified: after.satisfies(&change.target),
                before,
                after,
            })
            .collect();
        Ok(ApplyReport {
            switch: self.switch.clone(),
            lines,
            committed,
            ports: results,
        })
    }

    async fn commit_lines(&mut self, lines: &[String], ports: &[&str]) -> Result<(), Error> {
        let entered = self
            .send_and_wait("configure private", self.timeouts.command)
            .await?;
        if let Some(message) = junos::command_error(&entered.output) {
            let locked = matches!(
                junos::commit_answer(&entered.output),
                CommitAnswer::Failed { locked: true, .. }
            );
            if entered.mode == CliMode::Configuration {
                self.discard().await;
            }
            return Err(self.commit_failed(ports, message, locked));
        }
        if entered.mode != CliMode::Configuration {
            return Err(self.protocol("`configure private` did not enter configuration mode"));
        }
        // every line in one write; each answer read in turn, all of them before anything else
        let answers = self.send_lines(lines, self.timeouts.command).await?;
        let refused = lines.iter().zip(&answers).find_map(|(line, answer)| {
            junos::command_error(&answer.output).map(|message| (line, message))
        });
        if let Some((line, message)) = refused {
            self.discard().await;
            return Err(Error::Command {
                switch: self.switch.clone(),
                command: line.clone(),
                message,
            });
        }
        if answers.iter().any(|a| a.mode != CliMode::Configuration) {
            return Err(self.protocol("a configuration line left configuration mode"));
        }
        let answer = self.send_and_wait("commit", self.timeouts.commit).await?;
        match junos::commit_answer(&answer.output) {
            CommitAnswer::Complete => {
                tracing::info!(lines = lines.len(), "commit complete");
                self.leave_configuration().await
            }
            CommitAnswer::Failed { message, locked } => {
                tracing::warn!(%message, "commit failed");
                self.discard().await;
                Err(self.commit_failed(ports, message, locked))
            }
        }
    }

    /// Throws the candidate away (`rollback`) and leaves configuration mode; best effort, the
    /// error that led here is the one reported.
    async fn discard(&mut self) {
        if let Err(e) = self.send_and_wait("rollback", self.timeouts.command).await {
            tracing::warn!(error = %e, "rollback after a failure");
            return;
        }
        if let Err(e) = self.leave_configuration().await {
            tracing::warn!(error = %e, "leaving configuration mode after a failure");
        }
    }

    async fn leave_configuration(&mut self) -> Result<(), Error> {
        let answer = self.send_and_wait("exit", self.timeouts.command).await?;
        if answer.mode == CliMode::Operational {
            Ok(())
        } else {
            Err(self.protocol("`exit` did not leave configuration mode"))
        }
    }

    /// Logs out and closes the connection.
    pub async fn close(self) {
        let _ = self.channel.eof().await;
        let _ = self
            .handle
            .disconnect(Disconnect::ByApplication, "", "en")
            .await;
        // the connection is gone before the next one opens: a switch never sees two of ours
        let _ = tokio::time::timeout(self.timeouts.command, self.handle).await;
    }

    fn check_port(&self, port: &str) -> Result<(), Error> {
        if junos::is_valid_port(port) {
            Ok(())
        } else {
            Err(Error::InvalidPort {
                switch: self.switch.clone(),
                port: port.to_owned(),
            })
        }
    }

    fn commit_failed(&self, ports: &[&str], message: String, locked: bool) -> Error {
        Error::CommitFailed {
            switch: self.switch.clone(),
            ports: ports.iter().map(|p| (*p).to_owned()).collect(),
            message,
            locked,
        }
    }

    fn protocol(&self, reason: &str) -> Error {
        Error::Session {
            switch: self.switch.clone(),
            reason: reason.to_owned(),
        }
    }

    /// Runs an operational command; its error output is an error.
    async fn command(&mut self, line: &str) -> Result<Answer, Error> {
        let answer = self.send_and_wait(line, self.timeouts.command).await?;
        if let Some(message) = junos::command_error(&answer.output) {
            return Err(Error::Command {
                switch: self.switch.clone(),
                command: line.to_owned(),
                message,
            });
        }
        Ok(answer)
    }

    /// Sends one line and reads its answer. Refused once an earlier answer went missing: the
    /// next prompt could be that answer's, and the session cannot tell which command it ends.
    async fn send_and_wait(&mut self, line: &str, limit: Duration) -> Result<Answer, Error> {
        tracing::trace!(command = line, "send");
        self.send(std::slice::from_ref(&line)).await?;
        let answer = self.answer(Some(line), limit, line).await?;
        self.desynced = false;
        Ok(answer)
    }

    /// Writes `lines`, each ended by a newline, in one write, with the session marked out of
    /// step until their answers are read (a timeout or a dropped future leaves it so); refused
    /// once an earlier answer went missing.
    async fn send(&mut self, lines: &[impl AsRef<str>]) -> Result<(), Error> {
        if self.desynced {
            return Err(self.protocol(
                "an earlier command's answer never came, the session is out of step: open a new session",
            ));
        }
        self.buffer.clear();
        self.desynced = true;
        let mut bytes = Vec::with_capacity(lines.iter().map(|l| l.as_ref().len() + 1).sum());
        for line in lines {
            bytes.extend_from_slice(line.as_ref().as_bytes());
            bytes.push(b'\n');
        }
        self.channel
            .data_bytes(bytes)
            .await
            .map_err(|e| Error::Session {
                switch: self.switch.clone(),
                reason: e.to_string(),
            })
    }

    /// Sends `lines` in one write and reads their answers in order, each within `limit` of the
    /// one before. Refused once an earlier answer went missing, as [`Self::send_and_wait`].
    async fn send_lines(
        &mut self,
        lines: &[String],
        limit: Duration,
    ) -> Result<Vec<Answer>, Error> {
        tracing::trace!(lines = lines.len(), "send");
        self.send(lines).await?;
        let mut answers = Vec::with_capacity(lines.len());
        for line in lines {
            let deadline = Instant::now() + limit;
            let answer = loop {
                if let Some((answer, used)) = junos::take_first_answer(&self.buffer, Some(line)) {
                    self.buffer.drain(..used);
                    break answer;
                }
                self.read_more(deadline, line).await?;
            };
            answers.push(answer);
        }
        self.desynced = false;
        Ok(answers)
    }

    /// Reads until the buffer ends with a prompt.
    async fn answer(
        &mut self,
        sent: Option<&str>,
        limit: Duration,
        during: &str,
    ) -> Result<Answer, Error> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(answer) = junos::take_answer(&self.buffer, sent) {
                self.buffer.clear();
                return Ok(answer);
            }
            self.read_more(deadline, during).await?;
        }
    }

    /// Waits for the channel's next message, adding its text to the buffer.
    async fn read_more(&mut self, deadline: Instant, during: &str) -> Result<(), Error> {
        let message = tokio::time::timeout_at(deadline, self.channel.wait())
            .await
            .map_err(|_| Error::Timeout {
                switch: self.switch.clone(),
                during: format!("waiting for the answer to `{during}`"),
            })?;
        match message {
            Some(ChannelMsg::Data { data } | ChannelMsg::ExtendedData { data, .. }) => {
                self.buffer.push_str(&String::from_utf8_lossy(&data));
                Ok(())
            }
            Some(ChannelMsg::Eof | ChannelMsg::Close) | None => {
                Err(self.protocol(&format!("closed while waiting for `{during}`")))
            }
            Some(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_compare_without_prefix_or_padding() {
        assert!(same_fingerprint("SHA256:abcDEF", "abcDEF="));
        assert!(!same_fingerprint("SHA256:abcDEF", "SHA256:abcDEG"));
    }

    #[test]
    fn addresses_get_port_22() {
        let config = |address: &str| SwitchConfig {
            name: String::new(),
            address: address.to_owned(),
            username: "quads".into(),
            password: Secret::new("pw"),
            host_key: HostKeyCheck::Insecure,
            timeouts: Timeouts::default(),
        };
        assert_eq!(config("127.1.0.1").socket_address(), "127.1.0.1:22");
        assert_eq!(config("127.1.0.1:2022").socket_address(), "127.1.0.1:2022");
        assert_eq!(config("127.1.0.1").label(), "127.1.0.1");
        assert!(!format!("{:?}", config("x")).contains("pw"));
    }
}
