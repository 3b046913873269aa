//! The client's settings: transport, per-BMC limits, retries, sessions and wait deadlines.

use std::time::Duration;

use quads_http::TransportConfig;

use crate::Secret;

/// Settings shared by every BMC a [`crate::RedfishClient`] talks to.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// TLS verification, connect and per-request timeouts, pooling.
    pub transport: TransportConfig,
    /// Requests in flight per BMC (DESIGN §4: default 2).
    pub per_bmc_concurrency: usize,
    /// Retries of failed requests.
    pub retry: RetryPolicy,
    /// Sessions and authentication.
    pub session: SessionPolicy,
    /// Deadlines and poll intervals of the operations that wait on BMC state.
    pub waits: WaitPolicy,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            transport: TransportConfig::default(),
            per_bmc_concurrency: 2,
            retry: RetryPolicy::default(),
            session: SessionPolicy::default(),
            waits: WaitPolicy::default(),
        }
    }
}

/// Exponential backoff with full jitter, on tokio's clock.
///
/// GETs are retried on transport errors, 5xx, 429 and 503; writes only on answers that prove
/// nothing was applied (iDRAC "not ready", busy job queue, session limit, plain 503) or when
/// the connection was never made. `Retry-After` is honoured up to `max_delay`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retry).
    pub max_attempts: u32,
    /// Upper bound of the first backoff.
    pub initial_delay: Duration,
    /// Upper bound of any backoff.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    #[must_use]
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The delay before attempt `attempt + 1` (`attempt` starts at 1): a uniform draw in
    /// `[0, min(max, initial * 2^(attempt-1))]`, or the server's `Retry-After` if it is longer.
    #[must_use]
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self
            .initial_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let cap = exp.min(self.max_delay);
        let jittered = cap.mul_f64(rand::random::<f64>());
        match retry_after {
            Some(after) => after.min(self.max_delay).max(jittered),
            None => jittered,
        }
    }
}

/// How the client authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// A Redfish session (`X-Auth-Token`), falling back to HTTP Basic when the BMC has no
    /// session service or every session slot is taken.
    #[default]
    SessionWithBasicFallback,
    /// A session or nothing.
    SessionOnly,
    /// HTTP Basic on every request, no session.
    BasicOnly,
}

/// Session behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPolicy {
    /// How to authenticate.
    pub mode: AuthMode,
    /// Sessions this process keeps open on one BMC at once (the main one plus, for example,
    /// the one that verifies a tenant's new password). A login past it waits for a slot.
    pub max_sessions_per_bmc: usize,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            mode: AuthMode::default(),
            max_sessions_per_bmc: 2,
        }
    }
}

/// A deadline and the poll interval used while waiting for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// Give up after this long.
    pub timeout: Duration,
    /// Pause before the first poll: the earliest the state can plausibly have changed (zero
    /// polls at once). Polling sooner only costs requests.
    pub first_poll: Duration,
    /// First pause between two polls.
    pub interval: Duration,
    /// Longest pause between two polls (the pause doubles up to it; equal to `interval` for a
    /// steady poll, which overshoots the change by at most one interval).
    pub max_interval: Duration,
}

impl Wait {
    /// A wait of `timeout`, polling at once and then every `interval` (not growing).
    #[must_use]
    pub fn every(interval: Duration, timeout: Duration) -> Self {
        Self {
            timeout,
            first_poll: Duration::ZERO,
            interval,
            max_interval: interval,
        }
    }

    /// The same wait, polling first after `first_poll`.
    #[must_use]
    pub fn first_poll_after(self, first_poll: Duration) -> Self {
        Self { first_poll, ..self }
    }
}

/// Deadlines of the operations that wait on real BMC state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitPolicy {
    /// `PowerState` reaching `On` after a power-on (BMCs report `On` within a second or two).
    pub power: Wait,
    /// `PowerState` reaching `Off` after a `ForceOff` (seconds: the first poll waits until
    /// about half of the BMCs are off, then a steady interval bounds the overshoot).
    pub power_off: Wait,
    /// A graceful shutdown before it is forced.
    pub graceful_shutdown: Wait,
    /// A config job reaching its target state (scheduled or completed).
    pub job: Wait,
    /// A Redfish task (an action that answered 202).
    pub task: Wait,
    /// The job queue being empty after a clear.
    pub job_queue_clear: Wait,
    /// The BMC answering again after a reset.
    pub bmc_reset: Wait,
    /// An iDRAC's Lifecycle Controller taking configuration again (`LCStatus` `Ready`) after
    /// `JID_CLEARALL_FORCE` restarted it, or after a write it refused as not ready (Dell
    /// documents a restart of a few minutes).
    pub lc_ready: Wait,
}

impl Default for WaitPolicy {
    fn default() -> Self {
        Self {
            power: Wait::every(Duration::from_secs(1), Duration::from_secs(120)),
            // A forced power-off takes seconds (the lab model's median: 5 s from the request,
            // about 4 s after its answer): a look before 4 s costs a request and sees `Off` on
            // fewer than a quarter of the BMCs; at 4 s on about half. One second late at most on
            // the BMCs that are quicker, about 0.7 polls fewer per power-off (2.0 instead of 2.7).
            power_off: Wait::every(Duration::from_secs(1), Duration::from_secs(120))
                .first_poll_after(Duration::from_secs(4)),
            graceful_shutdown: Wait {
                timeout: Duration::from_secs(300),
                first_poll: Duration::ZERO,
                interval: Duration::from_secs(2),
                max_interval: Duration::from_secs(10),
            },
            job: Wait {
                timeout: Duration::from_secs(1800),
                first_poll: Duration::ZERO,
                interval: Duration::from_secs(2),
                max_interval: Duration::from_secs(15),
            },
            task: Wait {
                timeout: Duration::from_secs(600),
                first_poll: Duration::ZERO,
                interval: Duration::from_secs(1),
                max_interval: Duration::from_secs(10),
            },
            job_queue_clear: Wait {
                timeout: Duration::from_secs(300),
                first_poll: Duration::ZERO,
                interval: Duration::from_secs(2),
                max_interval: Duration::from_secs(10),
            },
            bmc_reset: Wait {
                timeout: Duration::from_secs(600),
                first_poll: Duration::ZERO,
                interval: Duration::from_secs(5),
                max_interval: Duration::from_secs(15),
            },
            lc_ready: Wait {
                timeout: Duration::from_secs(600),
                first_poll: Duration::ZERO,
                interval: Duration::from_secs(5),
                max_interval: Duration::from_secs(15),
            },
        }
    }
}

impl WaitPolicy {
    /// Every wait at `interval` with `timeout`: for tests and emulators.
    #[must_use]
    pub fn uniform(interval: Duration, timeout: Duration) -> Self {
        let w = Wait::every(interval, timeout);
        Self {
            power: w,
            power_off: w,
            graceful_shutdown: w,
            job: w,
            task: w,
            job_queue_clear: w,
            bmc_reset: w,
            lc_ready: w,
        }
    }
}

/// Who logs in to one BMC.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password.
    pub password: Secret,
}

impl Credentials {
    /// A user and password.
    pub fn new(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        let p = RetryPolicy {
            max_attempts: 10,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        for _ in 0..200 {
            assert!(p.delay(1, None) <= Duration::from_millis(100));
            assert!(p.delay(3, None) <= Duration::from_millis(400));
            assert!(p.delay(30, None) <= Duration::from_secs(1));
        }
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(60))),
            Duration::from_secs(1)
        );
        assert!(p.delay(1, Some(Duration::from_millis(700))) >= Duration::from_millis(700));
    }

    #[test]
    fn credentials_debug_hides_the_password() {
        let c = Credentials::new("root", "calvin");
        assert!(!format!("{c:?}").contains("calvin"));
    }
}
