//! The configuration of every limit (`[limits]` in TOML), its defaults and its validation.

use serde::{Deserialize, Serialize};

use super::LimitError;

/// Every limit of a run (DESIGN §4). All fields have defaults, so a TOML `[limits]` table only
/// names what it changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Hosts being moved at once, across all clouds.
    pub hosts_in_flight: usize,
    /// Foreman GET requests in flight at once.
    pub foreman_reads: usize,
    /// Foreman writes in flight at once: adapts between a floor and a ceiling.
    pub foreman_writes: AdaptiveConfig,
    /// Foreman requests (reads and writes) started per second.
    pub foreman_rate: RateConfig,
    /// Requests in flight per BMC (DESIGN §4: default 2).
    pub per_bmc: usize,
    /// Hosts powered on per second, so that a fleet does not draw its inrush current at once.
    pub power_on_rate: RateConfig,
    /// Hook commands running at once.
    pub hooks: usize,
    /// Hosts in their Foreman step at once. Hosts beyond it wait before the step starts, so its
    /// per-attempt deadline measures Foreman's work, not the queue of a large fleet. Hosts with
    /// no boot-order change pending hold at most a quarter of the places (at least 8), so a
    /// host whose change waits for its next POST never queues behind a full step of them.
    pub foreman_hosts: usize,
    /// BMC connections open at once across the fleet (each holds TLS and HTTP buffers, about
    /// 30 KB). A host needing one at the cap waits while connections idle for two seconds of
    /// the run are closed for it (their hosts are waiting on something else and resume their
    /// TLS session when they are back).
    pub bmc_connections: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            hosts_in_flight: 512,
            foreman_reads: 16,
            foreman_writes: AdaptiveConfig::default(),
            foreman_rate: RateConfig {
                per_second: 50.0,
                burst: 20,
            },
            per_bmc: 2,
            power_on_rate: RateConfig {
                per_second: 5.0,
                burst: 5,
            },
            hooks: 16,
            foreman_hosts: 64,
            bmc_connections: 256,
        }
    }
}

impl LimitsConfig {
    /// Checks that every limit can be honoured (no zero concurrency, floor ≤ initial ≤ ceiling,
    /// finite rates).
    ///
    /// # Errors
    /// [`LimitError::Invalid`] naming the first offending field.
    pub fn validate(&self) -> Result<(), LimitError> {
        for (field, value) in [
            ("hosts_in_flight", self.hosts_in_flight),
            ("foreman_reads", self.foreman_reads),
            ("per_bmc", self.per_bmc),
            ("hooks", self.hooks),
            ("foreman_hosts", self.foreman_hosts),
            ("bmc_connections", self.bmc_connections),
        ] {
            if value == 0 {
                return Err(LimitError::invalid(field, "must be at least 1"));
            }
        }
        self.foreman_writes.validate("foreman_writes")?;
        self.foreman_rate.validate("foreman_rate")?;
        self.power_on_rate.validate("power_on_rate")
    }
}

/// An additive-increase, multiplicative-decrease concurrency limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdaptiveConfig {
    /// The limit never goes below this.
    pub floor: usize,
    /// The limit a run starts with.
    pub initial: usize,
    /// The limit never goes above this.
    pub ceiling: usize,
    /// On an overload signal the limit is multiplied by this (between 0 and 1).
    pub decrease_factor: f64,
}

impl Default for AdaptiveConfig {
    fn default() -> Self {
        Self {
            floor: 2,
            initial: 4,
            ceiling: 32,
            decrease_factor: 0.5,
        }
    }
}

impl AdaptiveConfig {
    /// Checks `1 ≤ floor ≤ initial ≤ ceiling` and `0 < decrease_factor < 1`.
    ///
    /// # Errors
    /// [`LimitError::Invalid`] naming `field`.
    pub fn validate(&self, field: &'static str) -> Result<(), LimitError> {
        if self.floor == 0 {
            return Err(LimitError::invalid(field, "floor must be at least 1"));
        }
        if !(self.floor <= self.initial && self.initial <= self.ceiling) {
            return Err(LimitError::invalid(
                field,
                format!(
                    "needs floor <= initial <= ceiling, got {} <= {} <= {}",
                    self.floor, self.initial, self.ceiling
                ),
            ));
        }
        if !(self.decrease_factor > 0.0 && self.decrease_factor < 1.0) {
            return Err(LimitError::invalid(
                field,
                format!(
                    "decrease_factor must be between 0 and 1, got {}",
                    self.decrease_factor
                ),
            ));
        }
        Ok(())
    }
}

/// A rate: `per_second` on average with bursts of up to `burst`; `per_second = 0` means
/// unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateConfig {
    /// Sustained starts per second (fractions allowed: 0.5 is one every 2 s); 0 is unlimited.
    pub per_second: f64,
    /// Starts allowed back to back when the limiter has been idle.
    #[serde(default = "default_burst")]
    pub burst: u32,
}

fn default_burst() -> u32 {
    1
}

impl RateConfig {
    /// No limit at all.
    #[must_use]
    pub fn unlimited() -> Self {
        Self {
            per_second: 0.0,
            burst: 1,
        }
    }

    /// Whether this rate limits nothing.
    #[must_use]
    pub fn is_unlimited(&self) -> bool {
        self.per_second == 0.0
    }

    /// Checks a finite non-negative rate and a burst of at least 1.
    ///
    /// # Errors
    /// [`LimitError::Invalid`] naming `field`.
    pub fn validate(&self, field: &'static str) -> Result<(), LimitError> {
        if !(self.per_second.is_finite() && self.per_second >= 0.0) {
            return Err(LimitError::invalid(
                field,
                format!(
                    "per_second must be a finite number >= 0, got {}",
                    self.per_second
                ),
            ));
        }
        if self.burst == 0 {
            return Err(LimitError::invalid(field, "burst must be at least 1"));
        }
        if !self.is_unlimited() && self.per_second < 1e-6 {
            return Err(LimitError::invalid(
                field,
                "per_second is too small (use 0 for unlimited)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn defaults_are_valid_and_per_bmc_is_two() {
        let config = LimitsConfig::default();
        config.validate().unwrap();
        assert_eq!(config.per_bmc, 2);
    }

    #[test]
    fn a_partial_toml_table_keeps_the_other_defaults() {
        let config: LimitsConfig = toml::from_str(
            r"
            hosts_in_flight = 100
            power_on_rate = { per_second = 2, burst = 4 }
            [foreman_writes]
            ceiling = 8
            ",
        )
        .unwrap();
        assert_eq!(config.hosts_in_flight, 100);
        assert_eq!(
            config.power_on_rate,
            RateConfig {
                per_second: 2.0,
                burst: 4
            }
        );
        assert_eq!(config.foreman_writes.ceiling, 8);
        assert_eq!(config.foreman_writes.floor, AdaptiveConfig::default().floor);
        assert_eq!(config.per_bmc, 2);
        let again: LimitsConfig = toml::from_str(&toml::to_string(&config).unwrap()).unwrap();
        assert_eq!(again, config);
        assert!(toml::from_str::<LimitsConfig>("hosts_in_fligth = 3").is_err());
    }

    #[test]
    fn validation_names_the_field() {
        let mut config = LimitsConfig {
            per_bmc: 0,
            ..LimitsConfig::default()
        };
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("per_bmc"), "{err}");

        config.per_bmc = 2;
        config.foreman_writes.floor = 10;
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("foreman_writes"), "{err}");

        config.foreman_writes = AdaptiveConfig {
            decrease_factor: 1.0,
            ..AdaptiveConfig::default()
        };
        assert!(config.validate().is_err());

        config.foreman_writes = AdaptiveConfig::default();
        config.power_on_rate.per_second = f64::NAN;
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("power_on_rate"), "{err}");

        config.power_on_rate = RateConfig::unlimited();
        config.validate().unwrap();
    }
}
