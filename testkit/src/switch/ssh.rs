//! The switches over SSH: one listener per switch on 127.1.x.y (one shared port), password
//! login, and an interactive shell (or one `exec` command) driving a [`SwitchCli`].

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use russh::server::{self, Auth, ChannelOpenHandle, Msg, Session};
use russh::{Channel, ChannelId, MethodKind, MethodSet};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::cli::{Reply, SwitchCli};
use crate::lab::{LabError, LabShared, bind_on_one_port};

/// Binds every switch on one port (the first switch's ephemeral port), retrying on a collision,
/// and serves them until `shutdown`. Returns the port (0 when the lab has no switch).
///
/// # Errors
/// When the listeners cannot be bound.
pub(crate) async fn start_switches(
    shared: &Arc<LabShared>,
    shutdown: &CancellationToken,
) -> Result<u16, LabError> {
    let switches = &shared.switches.switches;
    if switches.is_empty() {
        return Ok(0);
    }
    let mut config = server::Config {
        methods: MethodSet::from(&[MethodKind::Password][..]),
        auth_rejection_time: Duration::from_millis(5),
        auth_rejection_time_initial: Some(Duration::ZERO),
        inactivity_timeout: Some(Duration::from_secs(3600)),
        nodelay: true,
        ..server::Config::default()
    };
    config.keys.push(shared.switches.host_key().clone());
    let config = Arc::new(config);
    let ips: Vec<Ipv4Addr> = switches.iter().map(|s| s.ip).collect();
    let (port, listeners) = bind_on_one_port(&ips, 0).await?;
    for listener in listeners {
        tokio::spawn(accept_loop(
            listener,
            shared.clone(),
            config.clone(),
            shutdown.clone(),
        ));
    }
    Ok(port)
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<LabShared>,
    config: Arc<server::Config>,
    shutdown: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else {
            continue;
        };
        tokio::spawn(connection(
            stream,
            shared.clone(),
            config.clone(),
            shutdown.clone(),
        ));
    }
}

async fn connection(
    stream: TcpStream,
    shared: Arc<LabShared>,
    config: Arc<server::Config>,
    shutdown: CancellationToken,
) {
    let switch = match stream.local_addr().map(|a| a.ip()) {
        Ok(IpAddr::V4(ip)) => shared.switches.switch_at(ip),
        _ => None,
    };
    let Some(switch) = switch else {
        return;
    };
    let hang_up = shared.switches.hang_up_signal();
    let handler = Connection {
        shared,
        switch,
        user: None,
        cli: None,
        pending: Vec::new(),
    };
    let Ok(running) = server::run_stream(config, stream, handler).await else {
        return;
    };
    let handle = running.handle();
    tokio::select! {
        _ = running => {}
        () = shutdown.cancelled() => {
            let _ = handle
                .disconnect(russh::Disconnect::ByApplication, "lab stopped".into(), "en".into())
                .await;
        }
        () = hang_up.cancelled() => {
            let _ = handle
                .disconnect(russh::Disconnect::ByApplication, "idle timeout".into(), "en".into())
                .await;
        }
    }
}

/// One SSH connection to one switch.
struct Connection {
    shared: Arc<LabShared>,
    switch: usize,
    /// Set once the login was accepted (and the session counted).
    user: Option<String>,
    cli: Option<SwitchCli>,
    pending: Vec<u8>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.end_session();
    }
}

impl Connection {
    /// The CLI session ended (the client's end of input, or the connection gone): counted
    /// once, as early as the switch can know it.
    fn end_session(&mut self) {
        if self.user.take().is_some() {
            let ctx = self.shared.switch_context();
            self.shared.switches.logout(&ctx, self.switch);
        }
    }

    fn cli(&mut self) -> &mut SwitchCli {
        let user = self.user.clone().unwrap_or_default();
        let shared = &self.shared;
        let switch = self.switch;
        self.cli
            .get_or_insert_with(|| SwitchCli::new(&shared.switches, switch, &user))
    }

    /// Runs one line: its output and whether the session ends.
    async fn run(&mut self, line: &str) -> (String, bool) {
        let shared = self.shared.clone();
        let ctx = shared.switch_context();
        let reply = self.cli().execute(&shared.switches, &ctx, line);
        match reply {
            Reply::Output(out) => (out, false),
            Reply::Close(out) => (out, true),
            Reply::Commit { lab_secs } => {
                shared.clock.sleep(lab_secs).await;
                let ctx = shared.switch_context();
                (self.cli().finish_commit(&shared.switches, &ctx), false)
            }
        }
    }
}

impl server::Handler for Connection {
    type Error = russh::Error;

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        let ctx = self.shared.switch_context();
        if self.user.is_none()
            && self
                .shared
                .switches
                .login(&ctx, self.switch, user, password)
        {
            self.user = Some(user.to_owned());
            Ok(Auth::Accept)
        } else {
            Ok(Auth::reject())
        }
    }

    /// The client closed its input: the CLI exits, as Junos's does, and the session is over.
    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.end_session();
        session.close(channel)?;
        Ok(())
    }

    async fn channel_open_session(
        &mut self,
        _channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply.accept().await;
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        let prompt = self.cli().prompt();
        session.data(
            channel,
            format!("--- JUNOS 21.4R3-S5.4 Kernel 64-bit (quads-rs lab)\n{prompt}"),
        )?;
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        let command = String::from_utf8_lossy(data).into_owned();
        let mut out = String::new();
        for line in command.lines() {
            let (text, close) = self.run(line).await;
            out.push_str(&text);
            if close {
                break;
            }
        }
        session.data(channel, out)?;
        session.exit_status_request(channel, 0)?;
        session.eof(channel)?;
        session.close(channel)?;
        Ok(())
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.pending.extend_from_slice(data);
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let raw: Vec<u8> = self.pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&raw).trim_end().to_owned();
            let (out, close) = self.run(&line).await;
            if close {
                session.data(channel, out)?;
                session.eof(channel)?;
                session.close(channel)?;
                return Ok(());
            }
            let prompt = self.cli().prompt();
            session.data(channel, format!("{out}{prompt}"))?;
        }
        Ok(())
    }
}
