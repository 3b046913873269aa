//! The stop signals every long command answers: SIGINT (Ctrl-C) and SIGTERM (a service stop),
//! through provision-core's `Shutdown` so the commands and the executor hear the same ones.

use std::time::Duration;

use provision_core::shutdown::Shutdown;

/// Resolves at the first SIGINT or SIGTERM. Where the handlers cannot be installed it logs why
/// and never resolves (the command then runs to its end).
pub async fn interrupted() {
    let shutdown = Shutdown::new(Duration::ZERO);
    tokio::select! {
        r = shutdown.listen_for_signals() => {
            if let Err(e) = r {
                tracing::warn!(error = %e, "cannot listen for signals");
            }
            std::future::pending::<()>().await;
        }
        () = shutdown.stopping().cancelled() => {}
    }
}
