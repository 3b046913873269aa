//! Crash hygiene for BMC sessions (issue 16): the store keeps a row per session a run holds
//! open (`bmc_sessions`, written by [`super::adapters::StoreSessionLog`]); a run killed before
//! logging out leaves its rows, and the next run, once it holds the run lock and before its
//! hosts log in, deletes those sessions on their BMCs.

use crate::executor::ports::BmcFleet;
use crate::store::{Store, StoreError};

/// Deletes the BMC sessions an earlier run left open (the store's rows), each one logged; a
/// session deleted or already gone loses its row through the fleet's session log, one that
/// cannot be deleted (its BMC away) keeps it for the next run. Returns how many were closed.
///
/// # Errors
/// The store's, when its rows cannot be read.
pub async fn close_left_sessions(store: &Store, fleet: &dyn BmcFleet) -> Result<usize, StoreError> {
    let left = store.bmc_sessions().await?;
    if left.is_empty() {
        return Ok(0);
    }
    tracing::warn!(
        sessions = left.len(),
        "closing the BMC sessions an earlier run left open"
    );
    let mut closed = 0;
    for row in left {
        match fleet.close_left_session(&row.bmc, &row.session).await {
            Ok(()) => {
                closed += 1;
                tracing::info!(bmc = %row.bmc, session = %row.session, "closed a session an earlier run left open");
            }
            Err(e) => {
                tracing::warn!(bmc = %row.bmc, session = %row.session, error = %e, "cannot close a session an earlier run left open");
            }
        }
    }
    Ok(closed)
}
