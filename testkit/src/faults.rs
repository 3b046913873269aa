//! Seeded, configurable faults (DESIGN §7): errors, resets, dead and slow BMCs, iDRAC "not
//! ready", stale sessions, stuck job queues, a short Foreman backlog; switches refusing a login,
//! failing or slowing a commit.
//!
//! A profile is a name (`none`, `chaos`) optionally followed by `key=value` overrides:
//! `chaos,dead_bmcs=2,bmc_error_rate=0.1`. Which BMCs are dead, slow, full of stale sessions or
//! stuck is a pure function of the seed; so is every per-request decision (keyed by host and the
//! host's request number).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::clock::{LabClock, mix};

/// The fault settings of a lab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultProfile {
    /// Share of BMC requests answered 500 (nothing applied).
    pub bmc_error_rate: f64,
    /// Share of BMC requests whose connection is reset without an answer (nothing applied).
    pub bmc_reset_rate: f64,
    /// Share of Foreman requests answered 500 (nothing applied).
    pub foreman_error_rate: f64,
    /// Share of Foreman requests whose connection is reset without an answer (nothing applied).
    pub foreman_reset_rate: f64,
    /// Share of Dell BMC writes answered 503 "iDRAC is not ready" (nothing applied).
    pub idrac_not_ready_rate: f64,
    /// BMCs that accept no connection at all.
    pub dead_bmcs: usize,
    /// BMCs whose every service time is multiplied by `slow_factor`.
    pub slow_bmcs: usize,
    /// How much slower a slow BMC is.
    pub slow_factor: f64,
    /// BMCs that start with every session slot held by someone else's stale sessions.
    pub stale_session_bmcs: usize,
    /// Lab seconds after which a stale session expires.
    pub stale_session_timeout: f64,
    /// Dell BMCs whose job queue holds a job stuck `Running` until a forced queue clear.
    pub stuck_job_queue_bmcs: usize,
    /// Replaces the model's Foreman backlog (a short queue overflows into 503s sooner).
    pub foreman_backlog: Option<usize>,
    /// Share of switch logins refused although the credentials are right.
    pub switch_login_refused_rate: f64,
    /// Share of switch commits that fail (`error: commit failed`, nothing applied).
    pub switch_commit_fail_rate: f64,
    /// Share of switch commits that take `slow_factor` times longer.
    pub switch_slow_commit_rate: f64,
    /// Share of the QUADS server's host `PATCH`es rolled back yet answered 200 with the old
    /// row (as QUADS does when the database refuses the commit).
    pub quads_patch_rollback_rate: f64,
    // Install faults (issues 16/17)
    /// Hosts whose first network boot in build mode fails: no install starts, the host sits
    /// at a PXE error until it is booted again.
    pub pxe_fail_hosts: usize,
    /// Hosts whose install starts and never finishes (Foreman keeps `build=true`).
    pub install_hang_hosts: usize,
    /// The install faults apply only to fleets of at least this many hosts (the `chaos`
    /// profile carries them for fleets of 50 and more).
    pub install_faults_min_fleet: usize,
}

impl Default for FaultProfile {
    fn default() -> Self {
        Self {
            bmc_error_rate: 0.0,
            bmc_reset_rate: 0.0,
            foreman_error_rate: 0.0,
            foreman_reset_rate: 0.0,
            idrac_not_ready_rate: 0.0,
            dead_bmcs: 0,
            slow_bmcs: 0,
            slow_factor: 4.0,
            stale_session_bmcs: 0,
            stale_session_timeout: 300.0,
            stuck_job_queue_bmcs: 0,
            foreman_backlog: None,
            switch_login_refused_rate: 0.0,
            switch_commit_fail_rate: 0.0,
            switch_slow_commit_rate: 0.0,
            quads_patch_rollback_rate: 0.0,
            pxe_fail_hosts: 0,
            install_hang_hosts: 0,
            install_faults_min_fleet: 0,
        }
    }
}

/// A fault profile that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad fault profile {spec:?}: {reason}")]
pub struct FaultSpecError {
    spec: String,
    reason: String,
}

impl FaultProfile {
    /// No faults at all.
    #[must_use]
    pub fn none() -> Self {
        Self::default()
    }

    /// The profile the issues call "faults on": 5% 5xx, resets, a dead BMC, iDRAC "not ready",
    /// stale sessions, a stuck job queue and a short Foreman backlog.
    #[must_use]
    pub fn chaos() -> Self {
        Self {
            bmc_error_rate: 0.05,
            bmc_reset_rate: 0.01,
            foreman_error_rate: 0.05,
            foreman_reset_rate: 0.01,
            idrac_not_ready_rate: 0.05,
            dead_bmcs: 1,
            slow_bmcs: 2,
            stale_session_bmcs: 2,
            stuck_job_queue_bmcs: 1,
            foreman_backlog: Some(20),
            switch_login_refused_rate: 0.01,
            switch_commit_fail_rate: 0.02,
            switch_slow_commit_rate: 0.05,
            pxe_fail_hosts: 1,
            install_hang_hosts: 1,
            install_faults_min_fleet: 50,
            ..Self::default()
        }
    }

    /// Parses `NAME[,key=value...]`.
    ///
    /// # Errors
    /// On an unknown profile name, key or a value that does not parse.
    pub fn parse(spec: &str) -> Result<Self, FaultSpecError> {
        let error = |reason: String| FaultSpecError {
            spec: spec.to_owned(),
            reason,
        };
        let mut parts = spec.split(',').map(str::trim).filter(|p| !p.is_empty());
        let mut profile = match parts.next() {
            None | Some("none") => Self::none(),
            Some("chaos" | "on") => Self::chaos(),
            Some(first) if first.contains('=') => {
                let mut profile = Self::none();
                profile.set(first).map_err(error)?;
                profile
            }
            Some(other) => return Err(error(format!("unknown profile {other:?} (none, chaos)"))),
        };
        for part in parts {
            profile.set(part).map_err(error)?;
        }
        Ok(profile)
    }

    fn set(&mut self, assignment: &str) -> Result<(), String> {
        let (key, value) = assignment
            .split_once('=')
            .ok_or_else(|| format!("{assignment:?} is not key=value"))?;
        let rate = |v: &str| -> Result<f64, String> {
            let r: f64 = v
                .parse()
                .map_err(|_| format!("{key}: {v:?} is not a number"))?;
            if (0.0..=1.0).contains(&r) {
                Ok(r)
            } else {
                Err(format!("{key}: {r} is not in [0, 1]"))
            }
        };
        let count = |v: &str| -> Result<usize, String> {
            v.parse()
                .map_err(|_| format!("{key}: {v:?} is not a whole number"))
        };
        let positive = |v: &str| -> Result<f64, String> {
            match v.parse::<f64>() {
                Ok(x) if x > 0.0 => Ok(x),
                _ => Err(format!("{key}: {v:?} is not a positive number")),
            }
        };
        match key {
            "bmc_error_rate" => self.bmc_error_rate = rate(value)?,
            "bmc_reset_rate" => self.bmc_reset_rate = rate(value)?,
            "foreman_error_rate" => self.foreman_error_rate = rate(value)?,
            "foreman_reset_rate" => self.foreman_reset_rate = rate(value)?,
            "idrac_not_ready_rate" => self.idrac_not_ready_rate = rate(value)?,
            "dead_bmcs" => self.dead_bmcs = count(value)?,
            "slow_bmcs" => self.slow_bmcs = count(value)?,
            "slow_factor" => self.slow_factor = positive(value)?,
            "stale_session_bmcs" => self.stale_session_bmcs = count(value)?,
            "stale_session_timeout" => self.stale_session_timeout = positive(value)?,
            "stuck_job_queue_bmcs" => self.stuck_job_queue_bmcs = count(value)?,
            "foreman_backlog" => self.foreman_backlog = Some(count(value)?),
            "switch_login_refused_rate" => self.switch_login_refused_rate = rate(value)?,
            "switch_commit_fail_rate" => self.switch_commit_fail_rate = rate(value)?,
            "switch_slow_commit_rate" => self.switch_slow_commit_rate = rate(value)?,
            "quads_patch_rollback_rate" => self.quads_patch_rollback_rate = rate(value)?,
            "pxe_fail_hosts" => self.pxe_fail_hosts = count(value)?,
            "install_hang_hosts" => self.install_hang_hosts = count(value)?,
            "install_faults_min_fleet" => self.install_faults_min_fleet = count(value)?,
            other => return Err(format!("unknown key {other:?}")),
        }
        Ok(())
    }
}

/// Which hosts carry which standing fault, chosen from the seed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultAssignment {
    /// Host indexes whose BMC is dead.
    pub dead: BTreeSet<usize>,
    /// Host indexes whose BMC is slow.
    pub slow: BTreeSet<usize>,
    /// Host indexes whose BMC starts with stale sessions.
    pub stale_sessions: BTreeSet<usize>,
    /// Host indexes whose BMC has a stuck job (Dell flavours only).
    pub stuck_jobs: BTreeSet<usize>,
    /// Host indexes whose first network boot in build mode fails (install faults).
    #[serde(default)]
    pub pxe_fail: BTreeSet<usize>,
    /// Host indexes whose install never finishes (install faults).
    #[serde(default)]
    pub install_hang: BTreeSet<usize>,
}

impl FaultAssignment {
    /// Picks distinct hosts for each standing fault; `eligible_for_jobs` says which hosts are Dell.
    #[must_use]
    pub fn choose(
        profile: &FaultProfile,
        seed: u64,
        hosts: usize,
        eligible_for_jobs: &dyn Fn(usize) -> bool,
    ) -> Self {
        // One seeded permutation; each fault takes the next hosts in it, so they never overlap.
        let mut order: Vec<usize> = (0..hosts).collect();
        order.sort_by_key(|i| mix(seed ^ mix(*i as u64 ^ 0xfa17)));
        let mut next = order.into_iter();
        let mut take = |n: usize| -> BTreeSet<usize> { next.by_ref().take(n).collect() };
        let dead = take(profile.dead_bmcs);
        let slow = take(profile.slow_bmcs);
        let stale_sessions = take(profile.stale_session_bmcs);
        // the install faults take the permutation's tail, so they never meet the BMC faults
        let install = hosts >= profile.install_faults_min_fleet;
        let mut tail = next.by_ref().rev();
        let mut take_tail = |n: usize| -> BTreeSet<usize> {
            if install {
                tail.by_ref().take(n).collect()
            } else {
                BTreeSet::new()
            }
        };
        let pxe_fail = take_tail(profile.pxe_fail_hosts);
        let install_hang = take_tail(profile.install_hang_hosts);
        let mut stuck_jobs = BTreeSet::new();
        for i in next {
            if stuck_jobs.len() >= profile.stuck_job_queue_bmcs {
                break;
            }
            if eligible_for_jobs(i) {
                stuck_jobs.insert(i);
            }
        }
        Self {
            dead,
            slow,
            stale_sessions,
            stuck_jobs,
            pxe_fail,
            install_hang,
        }
    }
}

/// A per-request fault decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestFault {
    /// Serve the request normally.
    None,
    /// Answer 500 without applying anything.
    Error,
    /// Close the connection without answering, applying nothing.
    Reset,
    /// Answer 503 "iDRAC is not ready" (Dell writes).
    NotReady,
}

impl fmt::Display for RequestFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "none",
            Self::Error => "error",
            Self::Reset => "reset",
            Self::NotReady => "not-ready",
        })
    }
}

/// Draws per-request faults for one service.
#[must_use]
pub fn draw(
    clock: &LabClock,
    stream: u64,
    key: u64,
    error_rate: f64,
    reset_rate: f64,
    not_ready_rate: f64,
) -> RequestFault {
    let u = clock.uniform(stream, key);
    if u < reset_rate {
        RequestFault::Reset
    } else if u < reset_rate + error_rate {
        RequestFault::Error
    } else if u < reset_rate + error_rate + not_ready_rate {
        RequestFault::NotReady
    } else {
        RequestFault::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_profiles_and_overrides() {
        assert_eq!(
            FaultProfile::parse("none").expect("none"),
            FaultProfile::none()
        );
        let p = FaultProfile::parse("chaos,dead_bmcs=3,bmc_error_rate=0.1").expect("chaos");
        assert_eq!(p.dead_bmcs, 3);
        assert!((p.bmc_error_rate - 0.1).abs() < 1e-9);
        assert_eq!(p.foreman_backlog, Some(20));
        let q = FaultProfile::parse("dead_bmcs=1").expect("bare overrides");
        assert_eq!(q.dead_bmcs, 1);
        assert!(FaultProfile::parse("bogus").is_err());
        assert!(FaultProfile::parse("none,bmc_error_rate=2").is_err());
        assert!(FaultProfile::parse("none,nope=1").is_err());
    }

    #[test]
    fn standing_faults_are_seeded_and_disjoint() {
        let p = FaultProfile {
            dead_bmcs: 2,
            slow_bmcs: 2,
            stale_session_bmcs: 2,
            stuck_job_queue_bmcs: 2,
            ..FaultProfile::none()
        };
        let even = |i: usize| i.is_multiple_of(2);
        let a = FaultAssignment::choose(&p, 9, 50, &even);
        assert_eq!(a, FaultAssignment::choose(&p, 9, 50, &even));
        assert_ne!(a, FaultAssignment::choose(&p, 10, 50, &even));
        let all: Vec<usize> = a
            .dead
            .iter()
            .chain(&a.slow)
            .chain(&a.stale_sessions)
            .chain(&a.stuck_jobs)
            .copied()
            .collect();
        let distinct: BTreeSet<usize> = all.iter().copied().collect();
        assert_eq!(all.len(), 8);
        assert_eq!(distinct.len(), 8);
        assert!(a.stuck_jobs.iter().all(|i| i % 2 == 0));
    }

    #[test]
    fn chaos_carries_one_install_fault_of_each_kind_from_fifty_hosts() {
        let chaos = FaultProfile::chaos();
        let any = |_: usize| true;
        let small = FaultAssignment::choose(&chaos, 4, 49, &any);
        assert!(small.pxe_fail.is_empty() && small.install_hang.is_empty());
        let fleet = FaultAssignment::choose(&chaos, 4, 50, &any);
        assert_eq!((fleet.pxe_fail.len(), fleet.install_hang.len()), (1, 1));
        assert_ne!(fleet.pxe_fail, fleet.install_hang);
        let standing: BTreeSet<usize> = fleet
            .dead
            .iter()
            .chain(&fleet.slow)
            .chain(&fleet.stale_sessions)
            .chain(&fleet.stuck_jobs)
            .copied()
            .collect();
        assert!(fleet.pxe_fail.is_disjoint(&standing));
        assert!(fleet.install_hang.is_disjoint(&standing));
        let p = FaultProfile::parse("none,pxe_fail_hosts=2,install_hang_hosts=1").expect("keys");
        assert_eq!((p.pxe_fail_hosts, p.install_hang_hosts), (2, 1));
        let few = FaultAssignment::choose(&p, 4, 5, &any);
        assert_eq!((few.pxe_fail.len(), few.install_hang.len()), (2, 1));
    }

    #[test]
    fn request_fault_rates_hold() {
        let clock = LabClock::new(1.0, 3);
        let n = 20_000u64;
        let errors = (0..n)
            .filter(|k| draw(&clock, 1, *k, 0.05, 0.01, 0.0) == RequestFault::Error)
            .count();
        let resets = (0..n)
            .filter(|k| draw(&clock, 1, *k, 0.05, 0.01, 0.0) == RequestFault::Reset)
            .count();
        assert!((800..1200).contains(&errors), "errors {errors}");
        assert!((120..280).contains(&resets), "resets {resets}");
    }
}
