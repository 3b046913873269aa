//! The executor's configuration (`[executor]` in TOML): limits, a retry policy per step, the
//! install deadline, the poll interval, the grace period, the tenant BMC account and where the
//! interfaces file is. Every field has a default.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::hook::HookSpec;
use crate::limits::{LimitsConfig, human_duration};
use crate::retry::RetryPolicy;

/// How a run of `move-hosts` behaves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExecutorConfig {
    /// Every limit of the run.
    pub limits: LimitsConfig,
    /// Retries and deadlines of each step.
    pub steps: StepPolicies,
    /// How long a host may take to install once it booted from the network.
    #[serde(with = "human_duration")]
    pub install_timeout: Duration,
    /// How often the install poller asks Foreman which hosts still build.
    #[serde(with = "human_duration")]
    pub poll_interval: Duration,
    /// How long in-flight writes may finish after Ctrl-C or SIGTERM.
    #[serde(with = "human_duration")]
    pub grace: Duration,
    /// How often a progress line (moved, failed, in flight) is logged.
    #[serde(with = "human_duration")]
    pub progress_interval: Duration,
    /// The tenant's user on every BMC.
    pub tenant_bmc_user: String,
    /// Its Redfish role.
    pub tenant_bmc_role: String,
    /// The spare pool: hosts moving there are powered off, not rebuilt.
    pub spare_cloud: String,
    /// Badfish interfaces YAML (boot orders by host type and model).
    pub interfaces_file: Option<PathBuf>,
    /// The host type whose boot order provisions (Badfish's `foreman`).
    pub provisioning_host_type: String,
    /// Domain of the cloud users' e-mail addresses (`cloud02@{mail_domain}`).
    pub mail_domain: String,
    /// Host permissions of each cloud's role, limited to the cloud's own hosts.
    pub host_permissions: Vec<String>,
    /// A PEM bundle of extra CAs trusted for Foreman and the BMCs (self-signed lab CAs).
    pub ca_bundle: Option<PathBuf>,
    /// Site hook steps run for every host after its first step (switch and VLAN
    /// configuration, site scripts), in order; `[[executor.hooks]]` tables.
    pub hooks: Vec<HookSpec>,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            limits: LimitsConfig::default(),
            steps: StepPolicies::default(),
            install_timeout: Duration::from_secs(3600),
            poll_interval: Duration::from_secs(15),
            grace: Duration::from_secs(30),
            progress_interval: Duration::from_secs(30),
            tenant_bmc_user: "quads".to_owned(),
            tenant_bmc_role: "Administrator".to_owned(),
            spare_cloud: "cloud01".to_owned(),
            interfaces_file: None,
            provisioning_host_type: "foreman".to_owned(),
            mail_domain: "example.com".to_owned(),
            host_permissions: ["view_hosts", "edit_hosts", "build_hosts", "power_hosts"]
                .map(str::to_owned)
                .to_vec(),
            ca_bundle: None,
            hooks: Vec::new(),
        }
    }
}

/// One retry policy per step. Each attempt re-checks reality before acting, so retrying a
/// whole step is safe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StepPolicies {
    /// Foreman user, role and filter of a cloud.
    pub cloud_user: RetryPolicy,
    /// Tenant account on the BMC.
    pub bmc_account: RetryPolicy,
    /// Persistent boot order.
    pub boot_order: RetryPolicy,
    /// Foreman parameters and the host update.
    pub foreman_host: RetryPolicy,
    /// One-time PXE and the power cycle.
    pub network_boot: RetryPolicy,
    /// Power off (moves to the spare pool).
    pub power_off: RetryPolicy,
    /// Recording the move in the store.
    pub record: RetryPolicy,
}

fn policy(attempts: u32, deadline: Duration) -> RetryPolicy {
    RetryPolicy {
        max_attempts: attempts,
        attempt_timeout: Some(deadline),
        step_deadline: Some(deadline.saturating_mul(3)),
        ..RetryPolicy::default()
    }
}

impl Default for StepPolicies {
    fn default() -> Self {
        Self {
            cloud_user: policy(5, Duration::from_secs(300)),
            bmc_account: policy(4, Duration::from_secs(300)),
            boot_order: policy(4, Duration::from_secs(900)),
            foreman_host: policy(5, Duration::from_secs(300)),
            network_boot: policy(3, Duration::from_secs(600)),
            power_off: policy(3, Duration::from_secs(300)),
            record: policy(3, Duration::from_secs(60)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_partial_table_keeps_the_defaults() {
        let c: ExecutorConfig = toml::from_str(
            r#"
            install_timeout = "20m"
            tenant_bmc_user = "tenant"
            [limits]
            hosts_in_flight = 64
            [steps.network_boot]
            max_attempts = 2
            "#,
        )
        .unwrap();
        assert_eq!(c.install_timeout, Duration::from_secs(1200));
        assert_eq!(c.limits.hosts_in_flight, 64);
        assert_eq!(c.steps.network_boot.max_attempts, 2);
        assert_eq!(c.steps.bmc_account, StepPolicies::default().bmc_account);
        assert_eq!(c.spare_cloud, "cloud01");
        assert!(toml::from_str::<ExecutorConfig>("instal_timeout = 3").is_err());
    }
}
