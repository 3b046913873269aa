//! The hosts' SSH ports: a host's address (127.2.x.y) answers on its SSH port with an
//! `SSH-2.0-quads-lab` banner while its installed OS is up ([`Machine::os_up`]: running from
//! disk after an install the lab saw finish), and refuses connections otherwise (before its
//! first install, while it installs again, while it is off or sits at a PXE error).
//!
//! Every host's socket is bound for the lab's life (so the port stays the lab's), and listens
//! only while its OS is up: a bound socket that does not listen refuses, as a closed port
//! does. One task watches the machines (every lab second, on tokio's clock) and opens or
//! closes the listeners; a port opens within a lab second of its install's end, as a real
//! host's sshd comes up a little after its installer reports the build done.
//!
//! [`Machine::os_up`]: crate::machine::Machine::os_up

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpSocket};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::lab::{LabError, LabShared, bmc_ip};

/// What a host's SSH port answers first.
pub const BANNER: &str = "SSH-2.0-quads-lab\r\n";

/// One host's SSH port: bound and refusing, or listening.
enum Port {
    Closed(TcpSocket),
    Open {
        stop: CancellationToken,
        task: JoinHandle<()>,
    },
}

fn socket(addr: SocketAddr) -> std::io::Result<TcpSocket> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    Ok(socket)
}

/// Binds every host's address on one port (`port`, or a free one shared by all when 0).
fn bind_all(ips: &[Ipv4Addr], port: u16) -> Result<(u16, Vec<TcpSocket>), LabError> {
    let mut last = None;
    for _ in 0..8 {
        let mut sockets = Vec::with_capacity(ips.len());
        let mut chosen = port;
        let mut failed = false;
        for &ip in ips {
            let addr = SocketAddr::from((ip, chosen));
            match socket(addr) {
                Ok(s) => {
                    if chosen == 0 {
                        chosen = s
                            .local_addr()
                            .map_err(|source| LabError::Bind { addr, source })?
                            .port();
                    }
                    sockets.push(s);
                }
                Err(source) => {
                    last = Some(LabError::Bind { addr, source });
                    failed = true;
                    break;
                }
            }
        }
        if !failed {
            return Ok((chosen, sockets));
        }
        if port != 0 {
            break;
        }
    }
    Err(last.unwrap_or_else(|| LabError::Config("no free SSH port".to_owned())))
}

/// Serves the banner to whoever connects until `stop`.
async fn serve(listener: TcpListener, stop: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            a = listener.accept() => a,
        };
        let Ok((mut stream, _)) = accepted else {
            continue;
        };
        tokio::spawn(async move {
            let _ = stream.write_all(BANNER.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

/// Starts the hosts' SSH ports as `shared.config.host_ssh_port` says; returns the port (`None`
/// when the lab runs no host listeners).
///
/// # Errors
/// When the hosts' addresses cannot be bound.
pub(crate) async fn start(
    shared: &Arc<LabShared>,
    shutdown: &CancellationToken,
) -> Result<Option<u16>, LabError> {
    let Some(port) = shared.config.host_ssh_port else {
        return Ok(None);
    };
    let ips: Vec<Ipv4Addr> = (0..shared.config.hosts)
        .map(|i| bmc_ip(shared.config.host_first_ip, i))
        .collect();
    let (port, sockets) = bind_all(&ips, port)?;
    let ports: Vec<Option<Port>> = sockets.into_iter().map(|s| Some(Port::Closed(s))).collect();
    let every = shared.clock.duration(1.0).max(Duration::from_millis(5));
    tokio::spawn(watch(
        shared.clone(),
        ips,
        port,
        ports,
        every,
        shutdown.clone(),
    ));
    Ok(Some(port))
}

/// Opens and closes the listeners as the machines' OSes come up and go down.
async fn watch(
    shared: Arc<LabShared>,
    ips: Vec<Ipv4Addr>,
    port: u16,
    mut ports: Vec<Option<Port>>,
    every: Duration,
    shutdown: CancellationToken,
) {
    loop {
        let up: Vec<bool> = {
            let mut state = shared.state();
            state.advance_all(Instant::now(), shared.physics());
            state
                .machines
                .iter()
                .map(crate::machine::Machine::os_up)
                .collect()
        };
        for (index, up) in up.into_iter().enumerate() {
            let Some(slot) = ports.get_mut(index) else {
                continue;
            };
            *slot = match (slot.take(), up) {
                (Some(Port::Closed(socket)), true) => match socket.listen(64) {
                    Ok(listener) => {
                        let stop = shutdown.child_token();
                        let task = tokio::spawn(serve(listener, stop.clone()));
                        Some(Port::Open { stop, task })
                    }
                    Err(e) => {
                        tracing::warn!(host = index, error = %e, "cannot open a host's ssh port");
                        None
                    }
                },
                (Some(Port::Open { stop, task }), false) => {
                    stop.cancel();
                    let _ = task.await;
                    match socket(SocketAddr::from((ips[index], port))) {
                        Ok(s) => Some(Port::Closed(s)),
                        Err(e) => {
                            tracing::warn!(host = index, error = %e, "cannot rebind a host's ssh port");
                            None
                        }
                    }
                }
                // a port lost to an error: try to bind it again, closed
                (None, _) => socket(SocketAddr::from((ips[index], port)))
                    .ok()
                    .map(Port::Closed),
                (kept, _) => kept,
            };
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}
