//! Resetting the BMC itself (`Manager.Reset`, Badfish's `--racreset` / `--bmc-reset`) and
//! waiting until it answers again.

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::client::Bmc;
use crate::error::Error;
use crate::request::Call;
use crate::wait::{Poll, poll_until};
use crate::wire;

/// Whether to wait for the BMC to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetWait {
    /// Return once the reset is accepted.
    NoWait,
    /// Poll the service root until the BMC answers again (after having gone away, or after
    /// the first poll interval when it never visibly went away).
    UntilResponsive,
}

/// The reset type to send: the first of `preferred` the BMC allows (any, when it lists none).
#[must_use]
pub(crate) fn choose_manager_reset(preferred: &[&str], allowed: &[String]) -> Option<String> {
    if allowed.is_empty() {
        return preferred.first().map(|s| (*s).to_owned());
    }
    preferred
        .iter()
        .find(|p| allowed.iter().any(|a| a == *p))
        .map(|s| (*s).to_owned())
        .or_else(|| allowed.iter().find(|a| a.contains("Restart")).cloned())
}

impl Bmc {
    /// Resets the BMC. Its sessions die with it, so the handle forgets its session (the next
    /// request logs in again).
    ///
    /// # Errors
    /// When the reset is refused, or (with [`ResetWait::UntilResponsive`]) the BMC does not
    /// answer within the deadline.
    #[tracing::instrument(skip_all, fields(bmc = %self.name(), ?wait))]
    pub async fn reset_bmc(
        &self,
        wait: ResetWait,
        cancel: &CancellationToken,
    ) -> Result<String, Error> {
        let manager_path = self.manager_path().await?;
        let manager: wire::Manager = self.get(&manager_path).await?;
        let action = manager.actions.and_then(|a| a.reset);
        let target = action
            .as_ref()
            .and_then(|a| a.target.clone())
            .unwrap_or_else(|| format!("{manager_path}/Actions/Manager.Reset"));
        let allowed = action.map(|a| a.allowable).unwrap_or_default();
        let reset = choose_manager_reset(self.quirks().await?.bmc_reset_types, &allowed)
            .ok_or_else(|| self.err_unsupported("no restart among the Manager.Reset types"))?;
        self.post(&target, &json!({"ResetType": reset})).await?;
        self.forget_session();
        if wait == ResetWait::UntilResponsive {
            let policy = self.waits().bmc_reset;
            let started = Instant::now();
            let seen_down = AtomicBool::new(false);
            poll_until(
                self.name(),
                "the BMC to answer after its reset",
                policy,
                cancel,
                || {
                    let seen = &seen_down;
                    async move {
                        match self
                            .execute_plain(&Call::get("/redfish/v1").unauthenticated())
                            .await
                        {
                            Ok(_)
                                if seen.load(Ordering::SeqCst)
                                    || started.elapsed() >= policy.interval =>
                            {
                                Ok(Poll::Ready(()))
                            }
                            Ok(_) => Ok(Poll::Pending("still up, not yet reset".to_owned())),
                            Err(e) => {
                                seen.store(true, Ordering::SeqCst);
                                Ok(Poll::Pending(e.to_string()))
                            }
                        }
                    }
                },
            )
            .await?;
        }
        Ok(reset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_type_choice() {
        let allowed = vec!["GracefulRestart".to_owned()];
        assert_eq!(
            choose_manager_reset(&["GracefulRestart", "ForceRestart"], &allowed).as_deref(),
            Some("GracefulRestart")
        );
        let allowed = vec!["ForceRestart".to_owned()];
        assert_eq!(
            choose_manager_reset(&["GracefulRestart", "ForceRestart"], &allowed).as_deref(),
            Some("ForceRestart")
        );
        assert_eq!(
            choose_manager_reset(&["GracefulRestart"], &[]).as_deref(),
            Some("GracefulRestart")
        );
        assert_eq!(
            choose_manager_reset(&["GracefulRestart"], &["ResetAll".to_owned()]),
            None
        );
    }
}
