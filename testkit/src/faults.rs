//! Seeded, configurable faults (DESIGN §7): errors, resets, dead and slow BMCs, iDRAC "not
//! ready", stale sessions, stuck job queues, a short Foreman backlog; switches refusing a login,
//! failing or slowing a commit.
//!
//! The `hard` profile (issue 16) adds the ambiguous ones: a write applied whose answer is lost (a
//! reset after the commit, Foreman's proxy answering 504 after Rails applied a `PUT`), a
//! connection accepted and never answered, Foreman 502/503/504 HTML pages from its proxy, a BMC
//! whose manager resets mid-run (unreachable for `manager_reset` lab seconds, its sessions gone)
//! and a BMC whose certificate changes; `chaos` carries them at low rates.
//!
//! A profile is a name (`none`, `chaos`, `hard`) optionally followed by `key=value` overrides:
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
    // Ambiguous faults (issue 16)
    /// Share of BMC writes applied whose connection is then reset without an answer.
    pub bmc_applied_reset_rate: f64,
    /// Share of BMC requests whose connection is accepted and never answered (nothing applied).
    pub bmc_hang_rate: f64,
    /// Share of Foreman writes applied whose connection is then reset without an answer.
    pub foreman_applied_reset_rate: f64,
    /// Share of Foreman writes applied and then answered 504 by the proxy (Rails committed).
    pub foreman_applied_504_rate: f64,
    /// Share of Foreman requests answered 502, 503 or 504 with the proxy's HTML page (nothing
    /// applied).
    pub foreman_gateway_rate: f64,
    /// Share of Foreman requests whose connection is accepted and never answered (nothing
    /// applied).
    pub foreman_hang_rate: f64,
    /// BMCs whose manager resets once mid-run: the request that meets it is reset unanswered,
    /// the BMC refuses connections for `manager_reset` lab seconds and forgets every session.
    pub manager_reset_bmcs: usize,
    /// Lab seconds a manager reset of `manager_reset_bmcs` lasts (the model's by default).
    pub manager_reset: Option<f64>,
    /// BMCs whose TLS certificate changes once mid-run (a new key, signed by the lab CA).
    pub cert_change_bmcs: usize,
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
            bmc_applied_reset_rate: 0.0,
            bmc_hang_rate: 0.0,
            foreman_applied_reset_rate: 0.0,
            foreman_applied_504_rate: 0.0,
            foreman_gateway_rate: 0.0,
            foreman_hang_rate: 0.0,
            manager_reset_bmcs: 0,
            manager_reset: None,
            cert_change_bmcs: 0,
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
            bmc_applied_reset_rate: 0.002,
            bmc_hang_rate: 0.0005,
            foreman_applied_reset_rate: 0.002,
            foreman_applied_504_rate: 0.002,
            foreman_gateway_rate: 0.005,
            foreman_hang_rate: 0.0005,
            ..Self::default()
        }
    }

    /// `chaos` with the ambiguous faults at rates a run meets many times: writes applied with
    /// their answer lost, hung connections, proxy pages, manager resets and certificate changes,
    /// and both install faults from the smallest fleet.
    #[must_use]
    pub fn hard() -> Self {
        Self {
            bmc_applied_reset_rate: 0.02,
            bmc_hang_rate: 0.003,
            foreman_applied_reset_rate: 0.03,
            foreman_applied_504_rate: 0.03,
            foreman_gateway_rate: 0.03,
            foreman_hang_rate: 0.003,
            manager_reset_bmcs: 3,
            cert_change_bmcs: 3,
            install_faults_min_fleet: 0,
            ..Self::chaos()
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
            Some("hard") => Self::hard(),
            Some(first) if first.contains('=') => {
                let mut profile = Self::none();
                profile.set(first).map_err(error)?;
                profile
            }
            Some(other) => {
                return Err(error(format!(
                    "unknown profile {other:?} (none, chaos, hard)"
                )));
            }
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
            "bmc_applied_reset_rate" => self.bmc_applied_reset_rate = rate(value)?,
            "bmc_hang_rate" => self.bmc_hang_rate = rate(value)?,
            "foreman_applied_reset_rate" => self.foreman_applied_reset_rate = rate(value)?,
            "foreman_applied_504_rate" => self.foreman_applied_504_rate = rate(value)?,
            "foreman_gateway_rate" => self.foreman_gateway_rate = rate(value)?,
            "foreman_hang_rate" => self.foreman_hang_rate = rate(value)?,
            "manager_reset_bmcs" => self.manager_reset_bmcs = count(value)?,
            "manager_reset" => self.manager_reset = Some(positive(value)?),
            "cert_change_bmcs" => self.cert_change_bmcs = count(value)?,
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
    /// Host indexes whose BMC manager resets once mid-run.
    #[serde(default)]
    pub manager_reset: BTreeSet<usize>,
    /// Host indexes whose BMC certificate changes once mid-run.
    #[serde(default)]
    pub cert_change: BTreeSet<usize>,
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
        let manager_reset = take(profile.manager_reset_bmcs);
        let cert_change = take(profile.cert_change_bmcs);
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
            manager_reset,
            cert_change,
        }
    }

    /// The request number (1-based, of the BMC's requests) at which a once-only fault of a
    /// BMC strikes: between its 4th and 19th request, seeded per host and kind.
    #[must_use]
    pub fn strikes_at(seed: u64, index: usize, kind: u64) -> u64 {
        4 + mix(seed ^ mix(index as u64 ^ kind)) % 16
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
    /// Apply the request, then close the connection without answering (writes).
    AppliedReset,
    /// Apply the request, then answer 504 from the proxy (Foreman writes).
    Applied504,
    /// Answer 502, 503 or 504 with the proxy's HTML page, applying nothing.
    Gateway,
    /// Accept the request and never answer, applying nothing.
    Hang,
}

impl fmt::Display for RequestFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "none",
            Self::Error => "error",
            Self::Reset => "reset",
            Self::NotReady => "not-ready",
            Self::AppliedReset => "applied-reset",
            Self::Applied504 => "applied-504",
            Self::Gateway => "gateway",
            Self::Hang => "hang",
        })
    }
}

/// The rates of one service's per-request faults for one request (zero where a kind does not
/// apply, e.g. the applied ones to a read).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    /// [`RequestFault::Reset`].
    pub reset: f64,
    /// [`RequestFault::Error`].
    pub error: f64,
    /// [`RequestFault::NotReady`].
    pub not_ready: f64,
    /// [`RequestFault::AppliedReset`].
    pub applied_reset: f64,
    /// [`RequestFault::Applied504`].
    pub applied_504: f64,
    /// [`RequestFault::Gateway`].
    pub gateway: f64,
    /// [`RequestFault::Hang`].
    pub hang: f64,
}

impl Rates {
    /// Whether no fault can be drawn.
    #[must_use]
    pub fn is_zero(&self) -> bool {
        self.kinds().iter().all(|(rate, _)| *rate <= 0.0)
    }

    fn kinds(&self) -> [(f64, RequestFault); 7] {
        [
            (self.reset, RequestFault::Reset),
            (self.error, RequestFault::Error),
            (self.not_ready, RequestFault::NotReady),
            (self.applied_reset, RequestFault::AppliedReset),
            (self.applied_504, RequestFault::Applied504),
            (self.gateway, RequestFault::Gateway),
            (self.hang, RequestFault::Hang),
        ]
    }
}

/// Draws per-request faults for one service.
#[must_use]
pub fn draw(clock: &LabClock, stream: u64, key: u64, rates: &Rates) -> RequestFault {
    let u = clock.uniform(stream, key);
    let mut below = 0.0;
    for (rate, fault) in rates.kinds() {
        below += rate;
        if u < below {
            return fault;
        }
    }
    RequestFault::None
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
        let hard = FaultProfile::parse("hard,install_hang_hosts=0").expect("hard");
        assert_eq!(hard.install_hang_hosts, 0);
        assert!(hard.foreman_applied_504_rate > FaultProfile::chaos().foreman_applied_504_rate);
        assert!(FaultProfile::chaos().bmc_applied_reset_rate > 0.0);
        let q = FaultProfile::parse("none,manager_reset=30,cert_change_bmcs=2").expect("keys");
        assert_eq!((q.manager_reset, q.cert_change_bmcs), (Some(30.0), 2));
    }

    #[test]
    fn once_only_bmc_faults_are_disjoint_and_strike_early() {
        let hard = FaultProfile::hard();
        let any = |_: usize| true;
        let a = FaultAssignment::choose(&hard, 5, 30, &any);
        assert_eq!((a.manager_reset.len(), a.cert_change.len()), (3, 3));
        assert!(a.manager_reset.is_disjoint(&a.cert_change));
        assert!(a.manager_reset.is_disjoint(&a.dead));
        for i in 0..30 {
            assert!((4..20).contains(&FaultAssignment::strikes_at(5, i, 1)));
        }
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
        let rates = Rates {
            error: 0.05,
            reset: 0.01,
            hang: 0.02,
            ..Rates::default()
        };
        let count = |kind| {
            (0..n)
                .filter(|k| draw(&clock, 1, *k, &rates) == kind)
                .count()
        };
        let errors = count(RequestFault::Error);
        let resets = count(RequestFault::Reset);
        let hangs = count(RequestFault::Hang);
        assert!((800..1200).contains(&errors), "errors {errors}");
        assert!((120..280).contains(&resets), "resets {resets}");
        assert!((300..500).contains(&hangs), "hangs {hangs}");
        assert_eq!(count(RequestFault::Applied504), 0);
    }
}
