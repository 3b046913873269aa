//! The executor's configuration (`[executor]` in TOML): limits, a retry policy per step, the
//! install deadline, the poll interval, the grace period, the tenant BMC account, where the
//! interfaces file is, the pacing policy (ours, or the QUADS 2019 preset a simulation compares
//! against) and the time scale of a simulated lab. Every field has a default.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::hook::HookSpec;
use crate::limits::{AdaptiveConfig, LimitsConfig, human_duration};
use crate::retry::RetryPolicy;
use crate::time::scale_duration;

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
    /// How long after its network boot a host's install must have started (its BMC shows an
    /// OS booting); one that has not is re-kicked once (one-time PXE and power cycle again).
    #[serde(with = "human_duration")]
    pub install_start_deadline: Duration,
    /// How often the install poller asks Foreman which hosts still build.
    #[serde(with = "human_duration")]
    pub poll_interval: Duration,
    /// The longest a request to Foreman or a BMC may wait for its whole answer: a connection
    /// accepted and never answered costs at most this (then the request is settled as any
    /// whose answer was lost).
    #[serde(with = "human_duration")]
    pub request_timeout: Duration,
    /// The longest a connection to Foreman or a BMC may take to open.
    #[serde(with = "human_duration")]
    pub connect_timeout: Duration,
    /// How long in-flight writes may finish after Ctrl-C or SIGTERM.
    #[serde(with = "human_duration")]
    pub grace: Duration,
    /// How often a progress line (moved, failed, in flight) is logged.
    #[serde(with = "human_duration")]
    pub progress_interval: Duration,
    /// The tenant's user on every BMC.
    pub tenant_bmc_user: String,
    /// Its Redfish role. `Operator` (QUADS's tenant privilege) lets a tenant power and boot
    /// its hosts but not manage BMC users, so it cannot leave itself another way in.
    pub tenant_bmc_role: String,
    /// The spare pool: hosts moving there are powered off, not rebuilt, and their tenant BMC
    /// account is revoked.
    pub spare_cloud: String,
    /// The Foreman login that owns hosts in the spare pool (and in clouds with no assignment);
    /// unset: the user the run signs in as.
    pub spare_owner: Option<String>,
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
    /// How the work is paced (`[executor.policy]`); the default is this project's.
    pub policy: Policy,
    /// Real seconds per configured second: every wait, poll interval, backoff, deadline and
    /// timeout of the run is multiplied by it and every rate divided by it (hook commands
    /// excepted: they run in real time). 1 means as configured. Only for simulated labs whose
    /// clock runs faster than life: `cargo xtask simulate` sets it to the lab's time scale.
    pub time_scale: f64,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            limits: LimitsConfig::default(),
            steps: StepPolicies::default(),
            install_timeout: Duration::from_secs(3600),
            install_start_deadline: Duration::from_secs(600),
            poll_interval: Duration::from_secs(15),
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            grace: Duration::from_secs(30),
            progress_interval: Duration::from_secs(30),
            tenant_bmc_user: "quads".to_owned(),
            tenant_bmc_role: "Operator".to_owned(),
            spare_cloud: "cloud01".to_owned(),
            spare_owner: None,
            interfaces_file: None,
            provisioning_host_type: "foreman".to_owned(),
            mail_domain: "example.com".to_owned(),
            host_permissions: ["view_hosts", "edit_hosts", "build_hosts", "power_hosts"]
                .map(str::to_owned)
                .to_vec(),
            ca_bundle: None,
            hooks: Vec::new(),
            policy: Policy::default(),
            time_scale: 1.0,
        }
    }
}

impl ExecutorConfig {
    /// The QUADS 2019 preset (DESIGN §8) over `self`: Foreman writes one at a time, four
    /// separate host writes, catalog lookups for every host, a 600 s sleep after a boot-order
    /// change, clouds one after another. For measuring against, not for use.
    #[must_use]
    pub fn quads_2019(mut self) -> Self {
        self.policy = Policy::quads_2019();
        self.limits.foreman_writes = AdaptiveConfig {
            floor: 1,
            initial: 1,
            ceiling: 1,
            ..AdaptiveConfig::default()
        };
        self
    }

    /// Checks the time scale.
    ///
    /// # Errors
    /// A message naming the field when `time_scale` is not a positive finite number.
    pub fn validate(&self) -> Result<(), String> {
        if self.time_scale.is_finite() && self.time_scale > 0.0 {
            Ok(())
        } else {
            Err(format!(
                "executor.time_scale must be a positive number, got {}",
                self.time_scale
            ))
        }
    }

    /// This configuration in real time: every duration multiplied by `time_scale` and every
    /// rate divided by it (hooks untouched), with `time_scale` 1. The identity at scale 1.
    #[must_use]
    pub fn in_real_time(self) -> Self {
        let s = self.time_scale;
        if !(s.is_finite() && s > 0.0) || (s - 1.0).abs() < f64::EPSILON {
            return Self {
                time_scale: 1.0,
                ..self
            };
        }
        let d = |d: Duration| scale_duration(d, s);
        let mut c = self;
        c.install_timeout = d(c.install_timeout);
        c.install_start_deadline = d(c.install_start_deadline);
        c.poll_interval = d(c.poll_interval);
        c.request_timeout = d(c.request_timeout);
        c.connect_timeout = d(c.connect_timeout);
        c.grace = d(c.grace);
        c.progress_interval = d(c.progress_interval);
        for p in c.steps.all_mut() {
            *p = p.scaled(s);
        }
        c.policy.boot_order_sleep = c.policy.boot_order_sleep.map(d);
        for rate in [&mut c.limits.foreman_rate, &mut c.limits.power_on_rate] {
            if !rate.is_unlimited() {
                rate.per_second /= s;
            }
        }
        c.time_scale = 1.0;
        c
    }
}

/// How a run paces its work. Each field is one of the differences between this project and
/// QUADS as it moved hosts in 2019; [`Policy::quads_2019`] sets them all.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Every cloud at once, or one after another.
    pub clouds: CloudOrder,
    /// The host's Foreman update as one `PUT`, or one `PUT` per field.
    pub host_update: HostUpdateStyle,
    /// Catalog names (OS, partition table, medium) looked up once per run, or for every host.
    pub lookups: Lookups,
    /// The Foreman step's host reads: many hosts in one search, or one request per host.
    pub host_reads: HostReads,
    /// After a boot-order change, sleep this long instead of following the config job
    /// (QUADS slept 600 s); none follows the job.
    #[serde(
        default,
        with = "human_duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub boot_order_sleep: Option<Duration>,
    /// How switch ports are moved: batched per switch, or one host at a time and one commit
    /// per port (QUADS's `switch_config`).
    pub switch_moves: SwitchMoves,
}

impl Policy {
    /// QUADS in 2019: clouds one after another, four host writes, lookups per host, 600 s sleep.
    #[must_use]
    pub fn quads_2019() -> Self {
        Self {
            clouds: CloudOrder::Sequential,
            host_update: HostUpdateStyle::Separate,
            lookups: Lookups::PerHost,
            host_reads: HostReads::PerHost,
            boot_order_sleep: Some(Duration::from_secs(600)),
            switch_moves: SwitchMoves::PerPort,
        }
    }
}

/// Whether clouds move at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CloudOrder {
    /// Every cloud's hosts at once (within the limits).
    #[default]
    Concurrent,
    /// One cloud's hosts after another's, in name order.
    Sequential,
}

/// How the switch-ports step moves ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SwitchMoves {
    /// The ports of every host that reaches the step while its switch is busy or within a
    /// short window go in one commit per switch.
    #[default]
    Batched,
    /// One host at a time in the whole run, one commit per port (QUADS).
    PerPort,
}

/// How a host's Foreman settings are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostUpdateStyle {
    /// One `PUT /hosts/:id` with OS, partition table, medium, owner and `build=true`.
    #[default]
    Single,
    /// Four: OS, partition table, medium, then owner with `build=true`.
    Separate,
}

/// How catalog names are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Lookups {
    /// Once per run and name, shared by every host (concurrent lookups share one request).
    #[default]
    Cached,
    /// Again for every host.
    PerHost,
}

/// How the Foreman step reads its host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostReads {
    /// The hosts asking within a short window are read with one search (`name ^ (...)`, with
    /// their parameters).
    #[default]
    Batched,
    /// One `GET /hosts/:id` per host.
    PerHost,
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
    /// Switch ports into the new tenancy's VLANs (an attempt waits for its switch's batch).
    pub switch_ports: RetryPolicy,
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

impl StepPolicies {
    fn all_mut(&mut self) -> [&mut RetryPolicy; 8] {
        [
            &mut self.cloud_user,
            &mut self.bmc_account,
            &mut self.switch_ports,
            &mut self.boot_order,
            &mut self.foreman_host,
            &mut self.network_boot,
            &mut self.power_off,
            &mut self.record,
        ]
    }
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
            // a commit takes seconds to minutes (QUADS waits 120 s), behind the batch before it
            switch_ports: policy(4, Duration::from_secs(600)),
            boot_order: policy(4, Duration::from_secs(900)),
            foreman_host: policy(5, Duration::from_secs(300)),
            // a step attempt sends three or four writes a BMC may refuse with a 500 that
            // proves nothing; each attempt re-checks the power state first, so retrying is safe
            network_boot: policy(5, Duration::from_secs(600)),
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

    #[test]
    fn the_policy_table_reads_kebab_case_and_durations() {
        let c: ExecutorConfig = toml::from_str(
            r#"
            time_scale = 0.01
            [policy]
            clouds = "sequential"
            host_update = "separate"
            lookups = "per-host"
            host_reads = "per-host"
            boot_order_sleep = "10m"
            switch_moves = "per-port"
            "#,
        )
        .unwrap();
        assert_eq!(c.policy, Policy::quads_2019());
        assert!((c.time_scale - 0.01).abs() < 1e-12);
        let back: ExecutorConfig = toml::from_str(&toml::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        assert_eq!(ExecutorConfig::default().policy, Policy::default());
    }

    #[test]
    fn the_quads_preset_writes_one_at_a_time() {
        let c = ExecutorConfig::default().quads_2019();
        let w = &c.limits.foreman_writes;
        assert_eq!((w.floor, w.initial, w.ceiling), (1, 1, 1));
        c.limits.validate().unwrap();
        assert_eq!(c.policy.clouds, CloudOrder::Sequential);
    }

    #[test]
    fn real_time_scales_every_wait_and_rate_but_not_hooks() {
        let mut c = ExecutorConfig::default().quads_2019();
        c.time_scale = 0.01;
        c.hooks
            .push(toml::from_str("name = \"vlan\"\ncommand = \"true\"").unwrap());
        let r = c.clone().in_real_time();
        assert_eq!(r.time_scale, 1.0);
        assert_eq!(r.poll_interval, Duration::from_millis(150));
        assert_eq!(r.install_timeout, Duration::from_secs(36));
        assert_eq!(r.policy.boot_order_sleep, Some(Duration::from_secs(6)));
        assert_eq!(
            r.steps.network_boot.attempt_timeout,
            Some(Duration::from_secs(6))
        );
        assert_eq!(r.steps.record.base, Duration::from_millis(5));
        assert!((r.limits.power_on_rate.per_second - 500.0).abs() < 1e-9);
        assert!((r.limits.foreman_rate.per_second - 5000.0).abs() < 1e-6);
        assert_eq!(r.hooks, c.hooks);
        assert_eq!(
            ExecutorConfig::default().in_real_time(),
            ExecutorConfig::default()
        );
        c.time_scale = 0.0;
        assert!(c.validate().is_err());
    }
}
