//! [`BmcFleet`] and [`BmcPort`] over `redfish-client` (one session per BMC, logged out when the
//! host is done and again by `close_all`), and [`BootOrders`] over Badfish's interfaces YAML.

use std::sync::Arc;

use async_trait::async_trait;
use redfish_client::{
    AccountSpec, AccountState, BmcAddress, BootOrderRequest, Credentials, InterfacesFile,
    PowerState, RedfishClient, Revocation, Role, RunningJobs, SettingsChange,
};
use tokio_util::sync::CancellationToken;

use crate::config::Secret;
use crate::executor::ports::{
    BmcFleet, BmcPort, BootOrderChange, BootOrders, BootProgress, PortError, Power,
};
use crate::model::Host;

fn port_error(e: &redfish_client::Error) -> PortError {
    match e {
        redfish_client::Error::Cancelled { .. } | redfish_client::Error::Closed { .. } => {
            PortError::cancelled(e.to_string())
        }
        redfish_client::Error::Timeout { .. } | redfish_client::Error::Transport { .. } => {
            PortError::retryable(e.to_string())
        }
        _ if e.is_retryable() => PortError::retryable(e.to_string()),
        _ => PortError::fatal(e.to_string()),
    }
}

#[allow(clippy::needless_pass_by_value)] // used as `map_err(err)`
fn err(e: redfish_client::Error) -> PortError {
    port_error(&e)
}

/// The redfish-client settings of a run: `per_bmc` requests in flight per BMC, and every wait
/// (poll intervals, deadlines) and retry backoff multiplied by `time_scale` (1 in real life;
/// a simulated lab's time scale otherwise, see [`crate::executor::ExecutorConfig::time_scale`]).
#[must_use]
pub fn client_config(per_bmc: usize, time_scale: f64) -> redfish_client::ClientConfig {
    let d = |d| crate::time::scale_duration(d, time_scale);
    let w = |w: redfish_client::Wait| redfish_client::Wait {
        timeout: d(w.timeout),
        first_poll: d(w.first_poll),
        interval: d(w.interval),
        max_interval: d(w.max_interval),
    };
    let defaults = redfish_client::ClientConfig::default();
    let waits = defaults.waits.clone();
    redfish_client::ClientConfig {
        per_bmc_concurrency: per_bmc,
        retry: redfish_client::RetryPolicy {
            initial_delay: d(defaults.retry.initial_delay),
            max_delay: d(defaults.retry.max_delay),
            ..defaults.retry.clone()
        },
        waits: redfish_client::WaitPolicy {
            power: w(waits.power),
            power_off: w(waits.power_off),
            graceful_shutdown: w(waits.graceful_shutdown),
            job: w(waits.job),
            task: w(waits.task),
            job_queue_clear: w(waits.job_queue_clear),
            bmc_reset: w(waits.bmc_reset),
            lc_ready: w(waits.lc_ready),
        },
        ..defaults
    }
}

/// The store as the Redfish client's [`redfish_client::SessionLog`]: a row per session the
/// run holds open (BMC and path, never the token), removed when it is closed, so the next run
/// finds those a crash left open. A failed write is logged, never fatal to the run.
#[derive(Clone)]
pub struct StoreSessionLog {
    store: crate::store::Store,
}

impl std::fmt::Debug for StoreSessionLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSessionLog").finish_non_exhaustive()
    }
}

impl StoreSessionLog {
    /// The log over `store`.
    #[must_use]
    pub fn new(store: crate::store::Store) -> Self {
        Self { store }
    }
}

#[async_trait]
impl redfish_client::SessionLog for StoreSessionLog {
    async fn opened(&self, bmc: &str, session: &str) {
        if let Err(e) = self
            .store
            .record_bmc_session(bmc.to_owned(), session.to_owned())
            .await
        {
            tracing::warn!(%bmc, %session, error = %e, "cannot record the BMC session");
        }
    }

    async fn closed(&self, bmc: &str, session: &str) {
        if let Err(e) = self
            .store
            .forget_bmc_session(bmc.to_owned(), session.to_owned())
            .await
        {
            tracing::warn!(%bmc, %session, error = %e, "cannot forget the closed BMC session");
        }
    }
}

/// The fleet's BMCs through one [`RedfishClient`], logged in as the lab's administrator.
#[derive(Debug, Clone)]
pub struct RedfishFleet {
    client: RedfishClient,
    admin: Credentials,
}

impl RedfishFleet {
    /// A fleet reached through `client` as `admin`.
    #[must_use]
    pub fn new(client: RedfishClient, admin: Credentials) -> Self {
        Self { client, admin }
    }
}

#[async_trait]
impl BmcFleet for RedfishFleet {
    fn connect(&self, host: &Host) -> Result<Arc<dyn BmcPort>, PortError> {
        let address = BmcAddress::parse(&host.bmc_address).map_err(|e| {
            PortError::fatal(format!(
                "bad BMC address {:?} of {}: {e}",
                host.bmc_address, host.name
            ))
        })?;
        let bmc = self.client.bmc(address, self.admin.clone());
        Ok(Arc::new(RedfishBmc {
            name: bmc.name().to_owned(),
            bmc,
        }))
    }

    async fn close_all(&self) -> usize {
        self.client.close_all().await
    }

    async fn close_left_session(&self, bmc: &str, session: &str) -> Result<(), PortError> {
        let mut results = self
            .close_left_sessions_on(bmc, &[session.to_owned()])
            .await;
        results.pop().unwrap_or(Ok(()))
    }

    async fn close_left_sessions_on(
        &self,
        bmc: &str,
        sessions: &[String],
    ) -> Vec<Result<(), PortError>> {
        let address = match BmcAddress::parse(bmc) {
            Ok(address) => address,
            Err(e) => {
                let e = PortError::fatal(format!("bad BMC address {bmc:?}: {e}"));
                return sessions.iter().map(|_| Err(e.clone())).collect();
            }
        };
        // one login for them all
        let handle = self.client.bmc(address, self.admin.clone());
        let mut results = Vec::with_capacity(sessions.len());
        for session in sessions {
            results.push(handle.delete_session(session).await.map_err(err));
        }
        // the handle's own session, logged out now rather than by a drop nobody waits for
        // (one that fails keeps its row: the next round or run closes it)
        if let Err(e) = handle.logout().await {
            tracing::debug!(bmc = %handle.name(), error = %e, "logout after closing the sessions left open failed");
        }
        results
    }

    fn reopen(&self) {
        self.client.reopen();
    }
}

/// One BMC.
#[derive(Debug)]
struct RedfishBmc {
    name: String,
    bmc: redfish_client::Bmc,
}

fn power(state: PowerState) -> Power {
    match state {
        PowerState::On => Power::On,
        PowerState::Off => Power::Off,
        other => Power::Other(format!("{other:?}")),
    }
}

fn role(name: &str) -> Role {
    match name {
        "Administrator" => Role::Administrator,
        "Operator" => Role::Operator,
        "ReadOnly" => Role::ReadOnly,
        other => Role::Custom(other.to_owned()),
    }
}

#[async_trait]
impl BmcPort for RedfishBmc {
    fn name(&self) -> &str {
        &self.name
    }

    async fn login_works(&self, user: &str, password: &Secret) -> Result<bool, PortError> {
        match self
            .bmc
            .verify_login(user, &redfish_client::Secret::new(password.expose()))
            .await
        {
            Ok(()) => Ok(true),
            Err(redfish_client::Error::Auth { .. }) => Ok(false),
            Err(e)
                if matches!(
                    e.status(),
                    Some(http::StatusCode::UNAUTHORIZED | http::StatusCode::FORBIDDEN)
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(err(e)),
        }
    }

    async fn set_account(
        &self,
        user: &str,
        password: &Secret,
        role_name: &str,
    ) -> Result<(), PortError> {
        let spec = AccountSpec {
            username: user.to_owned(),
            password: redfish_client::Secret::new(password.expose()),
            role: role(role_name),
            state: AccountState::Enabled,
        };
        self.bmc.set_account(&spec).await.map_err(err)?;
        Ok(())
    }

    async fn revoke_account(&self, user: &str) -> Result<bool, PortError> {
        let password = crate::executor::cloud::throwaway_password();
        let revoked = self
            .bmc
            .revoke_account(user, &redfish_client::Secret::new(password.expose()))
            .await
            .map_err(err)?;
        Ok(revoked != Revocation::Absent)
    }

    async fn boot_order(&self) -> Result<Vec<String>, PortError> {
        Ok(self.bmc.boot_order().await.map_err(err)?.names())
    }

    async fn set_boot_order(
        &self,
        devices: &[String],
        cancel: &CancellationToken,
    ) -> Result<BootOrderChange, PortError> {
        // The step runs before the host's power cycle: a job `Running` now is not applying
        // settings during a POST, it is stuck, and only a forced clear removes it.
        match self
            .bmc
            .set_boot_order(
                &BootOrderRequest::new(devices).running_jobs(RunningJobs::ForceClear),
                cancel,
            )
            .await
            .map_err(err)?
        {
            SettingsChange::Unchanged => Ok(BootOrderChange::Unchanged),
            SettingsChange::Applied => Ok(BootOrderChange::Applied),
            SettingsChange::Pending { job } => Ok(BootOrderChange::Pending { job }),
        }
    }

    async fn pxe_once(&self) -> Result<(), PortError> {
        self.bmc.pxe_once().await.map_err(err)?;
        Ok(())
    }

    async fn power(&self) -> Result<Power, PortError> {
        Ok(power(self.bmc.power_state().await.map_err(err)?))
    }

    async fn force_off(&self, cancel: &CancellationToken) -> Result<Power, PortError> {
        Ok(power(self.bmc.power_off(cancel).await.map_err(err)?.before))
    }

    async fn pxe_then_force_off(&self, cancel: &CancellationToken) -> Result<Power, PortError> {
        let outcome = self.bmc.pxe_once_then_power_off(cancel).await;
        Ok(power(outcome.map_err(err)?.before))
    }

    async fn power_on(&self, cancel: &CancellationToken) -> Result<(), PortError> {
        self.bmc.power_on(cancel).await.map_err(err)?;
        Ok(())
    }

    async fn power_on_after_off(&self, cancel: &CancellationToken) -> Result<(), PortError> {
        self.bmc.power_on_after_off(cancel).await.map_err(err)?;
        Ok(())
    }

    async fn boot_progress(&self) -> Result<BootProgress, PortError> {
        let state = self.bmc.boot_progress().await.map_err(err)?;
        Ok(BootProgress::from_last_state(state.as_deref()))
    }

    async fn close(&self) {
        if let Err(e) = self.bmc.logout().await {
            tracing::debug!(bmc = %self.name, error = %e, "logout failed");
        }
    }
}

/// Boot orders from a Badfish interfaces file, looked up as QUADS asks Badfish: for the BMC
/// named `mgmt-<short host name>` (so rack, U location and blade come from the host's name by
/// Badfish's grammar), with the host's stored model in place of the name's last part and its
/// stored host type when the file defines that type (QUADS's `scalelab`/`vendor` kinds are
/// not interfaces types: those hosts take the run's type, `foreman` by default).
#[derive(Debug, Clone)]
pub struct InterfacesBootOrders {
    file: InterfacesFile,
    host_type: String,
}

impl InterfacesBootOrders {
    /// The orders of `host_type` hosts in `file`.
    #[must_use]
    pub fn new(file: InterfacesFile, host_type: impl Into<String>) -> Self {
        Self {
            file,
            host_type: host_type.into(),
        }
    }

    /// The name Badfish is given for `host`'s BMC in QUADS: `mgmt-` and the host's short name.
    #[must_use]
    pub fn bmc_name(host: &Host) -> String {
        let name = host.name.as_str();
        format!("mgmt-{}", name.split('.').next().unwrap_or(name))
    }

    /// The interfaces type `host` is provisioned as.
    fn host_type<'a>(&'a self, host: &'a Host) -> &'a str {
        match &host.host_type {
            Some(t) if self.file.host_types().contains(&t.to_ascii_lowercase()) => t,
            _ => &self.host_type,
        }
    }
}

impl BootOrders for InterfacesBootOrders {
    fn provisioning_order(&self, host: &Host) -> Result<Vec<String>, String> {
        self.file
            .interfaces_for_model(
                &Self::bmc_name(host),
                self.host_type(host),
                host.model.as_deref(),
            )
            .map_err(|e| format!("{}: {e}", host.name))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::model::{CloudName, HostName, HostState};

    fn host(name: &str, model: Option<&str>, host_type: Option<&str>) -> Host {
        Host {
            name: HostName::new(name).unwrap(),
            bmc_address: "127.0.0.1:8443".to_owned(),
            model: model.map(str::to_owned),
            host_type: host_type.map(str::to_owned),
            default_cloud: CloudName::new("cloud01").unwrap(),
            current_cloud: CloudName::new("cloud01").unwrap(),
            state: HostState::Active,
        }
    }

    #[test]
    fn location_keys_of_the_bmc_name_win_over_the_model_key() {
        let file = InterfacesFile::parse(
            "foreman_r620: A\n\
             foreman_f21_r620: B\n\
             foreman_h17_000_r620: DECOY\n\
             director_r620: D\n",
        )
        .unwrap();
        let orders = InterfacesBootOrders::new(file, "foreman");
        let order = |h: &Host| orders.provisioning_order(h).unwrap();
        // The FQDN alone would read rack `h17` and pick the decoy.
        assert_eq!(
            order(&host("f21-h17-000-r620.example.com", None, None)),
            ["B"]
        );
        assert_eq!(
            order(&host("f22-h17-000-r620.example.com", None, None)),
            ["A"]
        );
        // The stored model replaces the name's last part; a known stored type is used.
        assert_eq!(
            order(&host("f21-h17-000-box.example.com", Some("R620"), None)),
            ["B"]
        );
        assert_eq!(
            order(&host(
                "f22-h01-000-r620.example.com",
                None,
                Some("director")
            )),
            ["D"]
        );
        assert_eq!(
            order(&host(
                "f22-h01-000-r620.example.com",
                None,
                Some("scalelab")
            )),
            ["A"]
        );
        let missing = orders
            .provisioning_order(&host("f22-h01-000-r999.example.com", None, None))
            .unwrap_err();
        assert!(
            missing.contains("f22-h01-000-r999.example.com"),
            "{missing}"
        );
    }
}
