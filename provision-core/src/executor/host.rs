//! The per-host step machine (DESIGN §3). Each step checks real state, acts only if needed and
//! verifies; it journals its intent before acting and its outcome after, and is retried as a
//! whole under its own policy (a retry re-checks first). A step journaled done for the same
//! move by the run being continued is not run again; an intent without an outcome makes the
//! step decide from reality (a power cycle whose power-on was journaled is not repeated).
//!
//! A step's done outcome is not committed on its own: the host holds it and journals it in the
//! same write as its next row (normally the next step's intent), or alone at the end of the
//! move or when the run stops. The record step's intent rides with the record itself (the
//! store writes both, and what is held, in one transaction: that write is the step's act).
//! The intent is still durable before every other action. A crash between an action and the
//! write of its outcome leaves the step open in the journal; the next run re-checks it (every
//! step checks before acting), as it does for a crash during the action. Failed and cancelled outcomes are written at once (with what is
//! held before them).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::cloud::tenant_password;
use super::host_state::HostRunState;
use super::ports::{
    BmcPort, BootOrderChange, BootProgress, HostSettings, PortError, PortOrder, Power, classify,
};
use super::report::{HostReport, HostStatus, StepReport};
use super::resume::PriorStep;
use super::run::{MoveJob, Shared};
use super::step_details::{BootOrderSet, BootPhase, Revoked, StepDetails, SwitchesApplied};
use crate::config::Secret;
use crate::hook::{HookError, HookSpec, run_move_hook};
use crate::journal::{Details, JournalRow, StepAttempt};
use crate::limits::Limits;
use crate::model::{AssignmentSpec, Step, StepOutcome, Subject, Wipe};
use crate::network::PortChange;
use crate::retry::{Idempotency, RetryError, RetryPolicy, retry};
use crate::store::{CompletedMove, StoreError};

/// The kind of a move, which decides its steps. Every kind ends with the host reachable by
/// its new tenant only: the BMC's tenant account set for it (or revoked when nobody takes
/// the host) and the host owned in Foreman by the new tenant's user (or the spare pool's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Rebuild through Foreman (the owner is set by the build's host update).
    Wipe,
    /// Hand over as it is.
    NoWipe,
    /// Back to the spare pool, or into a cloud no assignment holds: nobody's tenant.
    Spare,
}

impl Kind {
    /// The steps of this kind of move, with the site hooks after its first BMC steps and then,
    /// when moves move switch ports, the switch-ports step (the network is the new tenant's
    /// before its host is rebuilt or handed over, as QUADS does it first).
    fn steps_with(self, hooks: &[HookSpec], switch_ports: bool) -> Vec<Step> {
        let mut steps = self.steps().to_vec();
        let hooks = hooks.iter().map(|h| Step::Hook(h.name.clone()));
        let network = switch_ports.then_some(Step::SwitchPorts);
        let first = self.first_bmc_steps();
        steps.splice(first..first, hooks.chain(network));
        steps
    }

    /// How many steps open the move on the BMC, back to back: a wipe's boot order (staged
    /// until the network boot's reset) follows the account at once, on the account step's
    /// connection and session, rather than after the switch step, whose tens of seconds
    /// see that connection closed for other hosts (one TLS connection less per host).
    fn first_bmc_steps(self) -> usize {
        match self {
            Self::Wipe => 2,
            Self::NoWipe | Self::Spare => 1,
        }
    }

    fn steps(self) -> &'static [Step] {
        match self {
            Self::Wipe => &[
                Step::BmcAccount,
                Step::BootOrder,
                Step::ForemanHost,
                Step::NetworkBoot,
                Step::InstallWait,
                Step::Record,
            ],
            Self::NoWipe => &[Step::BmcAccount, Step::ForemanOwner, Step::Record],
            Self::Spare => &[
                Step::BmcAccount,
                Step::ForemanOwner,
                Step::PowerOff,
                Step::Record,
            ],
        }
    }
}

/// What a finished step leaves.
struct Done {
    outcome: StepOutcome,
    attempt: u32,
    details: StepDetails,
}

/// Why a host stopped early.
struct Stop {
    step: Step,
    attempts: u32,
    error: String,
    interrupted: bool,
}

/// One host's move in progress.
struct HostRun {
    shared: Arc<Shared>,
    job: MoveJob,
    kind: Kind,
    /// What the steps leave for later steps, and the outcomes held for the next write.
    state: HostRunState,
}

/// A kick: the one-time PXE override and power off, then power on through the power-on limit.
/// The move's re-kick and the validation's both use it.
pub(super) async fn kick(
    bmc: &dyn BmcPort,
    limits: &Limits,
    cancel: &CancellationToken,
) -> Result<(), PortError> {
    kick_settled(bmc, limits, cancel, &AtomicBool::new(false)).await
}

/// [`kick`] for a caller that retries it: `power_on_sent` remembers across attempts that a
/// power-on went out, so an attempt after one whose answer was lost reads the power state
/// first, and a host on is the kick done (a second power cycle would boot it twice).
pub(super) async fn kick_settled(
    bmc: &dyn BmcPort,
    limits: &Limits,
    cancel: &CancellationToken,
    power_on_sent: &AtomicBool,
) -> Result<(), PortError> {
    if power_on_sent.load(Ordering::SeqCst) && bmc.power().await? == Power::On {
        tracing::info!("the kick's power-on was applied although its answer was lost");
        return Ok(());
    }
    bmc.pxe_then_force_off(cancel).await?;
    limits.power_on().await;
    power_on_sent.store(true, Ordering::SeqCst);
    bmc.power_on_after_off(cancel).await
}

/// Whether `order` starts with `wanted`. A device matches by its name or, as DMTF services show
/// display names (`PXE Boot NIC.Integrated.1-1-1`), by the name's last word, ignoring case.
fn head_matches(order: &[String], wanted: &[String]) -> bool {
    let same = |w: &str, o: &str| {
        o.eq_ignore_ascii_case(w)
            || o.rsplit(' ')
                .next()
                .is_some_and(|last| last.eq_ignore_ascii_case(w))
    };
    order.len() >= wanted.len() && wanted.iter().zip(order).all(|(w, o)| same(w, o))
}

/// A BMC step's rank among the hosts waiting for a place in one (`None`: not a BMC step). The
/// further a host's move, the higher: a host past Foreman's step does not queue behind the
/// fleet's account steps, and one whose boot-order job waits for its network boot's POST (the
/// longest way left) goes first of all. Every rank is at least 1: places turn over within
/// seconds, so no share is kept back for later ranks (see `RankedLimit`'s rank 0).
fn bmc_step_rank(step: &Step, boot_order_pending: bool) -> Option<u32> {
    match step {
        Step::BmcAccount => Some(1),
        Step::BootOrder | Step::PowerOff => Some(2),
        Step::NetworkBoot => Some(3 + u32::from(boot_order_pending)),
        _ => None,
    }
}

fn seconds(since: Instant) -> f64 {
    since.elapsed().as_secs_f64()
}

/// Moves one host; never panics, never returns early without a report.
///
/// Not an `async fn`: its arguments would stay in the future for the whole move beside the
/// `HostRun` made of them (a host's task was 2.8 KB, the job twice); the run is boxed here and
/// the future holds the box.
pub(crate) fn move_host(
    shared: Arc<Shared>,
    job: MoveJob,
) -> impl Future<Output = HostReport> + Send {
    let kind = if job.to.as_str() == shared.config.spare_cloud || job.assignment.is_none() {
        Kind::Spare
    } else if job.wipe == Wipe::Yes {
        Kind::Wipe
    } else {
        Kind::NoWipe
    };
    let run = Box::new(HostRun {
        shared,
        job,
        kind,
        state: HostRunState::default(),
    });
    drive_host(run)
}

async fn drive_host(run: Box<HostRun>) -> HostReport {
    let started = Instant::now();
    let span =
        tracing::info_span!("move", host = %run.job.host.name, bmc = %run.job.host.bmc_address);
    let mut steps = Vec::new();
    let result = run.drive(&mut steps).instrument(span.clone()).await;
    // the move ended (done, failed or stopped): what is held has no next row to go with
    if let Err(e) = run.flush().instrument(span.clone()).await {
        span.in_scope(|| tracing::warn!(error = %e, "cannot journal the steps' outcomes"));
    }
    let bmc = run.state.take_bmc();
    if let Some(bmc) = bmc {
        bmc.close().instrument(span.clone()).await;
    }
    let (status, failed_step, attempts, error) = match result {
        Ok(()) => (
            HostStatus::Moved,
            None,
            steps.last().map_or(0, |s: &StepReport| s.attempts),
            None,
        ),
        Err(stop) => (
            if stop.interrupted {
                HostStatus::Interrupted
            } else {
                HostStatus::Failed
            },
            Some(stop.step.to_word()),
            stop.attempts,
            Some(stop.error),
        ),
    };
    span.in_scope(|| match status {
        HostStatus::Moved => tracing::info!(to = %run.job.to, "moved"),
        HostStatus::Failed => tracing::warn!(
            step = failed_step.as_deref().unwrap_or_default(),
            attempts,
            error = error.as_deref().unwrap_or_default(),
            "move failed"
        ),
        HostStatus::Interrupted => tracing::warn!(
            step = failed_step.as_deref().unwrap_or_default(),
            "move interrupted"
        ),
    });
    HostReport {
        host: run.job.host.name.to_string(),
        from: run.job.from.to_string(),
        to: run.job.to.to_string(),
        wipe: run.kind == Kind::Wipe,
        status,
        failed_step,
        attempts,
        error,
        seconds: seconds(started),
        steps,
    }
}

impl HostRun {
    /// The journal's pairs of `details` for this move.
    fn details(&self, details: &StepDetails) -> Details {
        details.render(self.job.to.as_str())
    }

    fn at(&self, step: &Step, attempt: u32) -> StepAttempt {
        StepAttempt {
            run: self.shared.run,
            subject: Subject::Host(self.job.host.name.clone()),
            step: step.clone(),
            attempt,
        }
    }

    async fn intent(
        &self,
        step: &Step,
        attempt: u32,
        details: &StepDetails,
    ) -> Result<(), PortError> {
        self.journal(JournalRow::Intent {
            at: self.at(step, attempt),
            details: self.details(details),
        })
        .await?;
        Ok(())
    }

    /// Journals `row` now, in one write with the outcomes held before it.
    async fn journal(&self, row: JournalRow) -> Result<(), StoreError> {
        self.write_held(Some(row)).await
    }

    /// Holds a done outcome until the host's next journal write (see the module's doc).
    fn hold(&self, step: &Step, done: &Done) {
        self.state.hold(JournalRow::Outcome {
            at: self.at(step, done.attempt),
            outcome: done.outcome,
            error: None,
            details: self.details(&done.details),
        });
    }

    /// Journals the held outcomes now, in one write (nothing is written when none is held).
    async fn flush(&self) -> Result<(), StoreError> {
        self.write_held(None).await
    }

    /// One write of the held outcomes and then `row`. When it fails, the held ones are kept
    /// for a later write: an outcome journaled twice is harmless, a lost one is not.
    async fn write_held(&self, row: Option<JournalRow>) -> Result<(), StoreError> {
        self.write_held_then(row, None).await
    }

    /// [`HostRun::write_held`], and the move recorded (`done`) in the same write.
    async fn write_held_then(
        &self,
        row: Option<JournalRow>,
        done: Option<CompletedMove>,
    ) -> Result<(), StoreError> {
        let mut rows = self.state.take_held();
        let held = rows.len();
        rows.extend(row);
        let ledger = &self.shared.ledger;
        let result = match done {
            Some(done) => ledger.journal_and_complete_move(rows.clone(), done).await,
            None if rows.is_empty() => return Ok(()),
            None => ledger.append_all(rows.clone()).await,
        };
        if result.is_err() {
            rows.truncate(held);
            self.state.hold_again(rows);
        }
        result
    }

    fn assignment(&self) -> Result<&AssignmentSpec, PortError> {
        self.job.assignment.as_ref().ok_or_else(|| {
            PortError::fatal(format!(
                "no assignment holds {} in {}: cannot derive the tenant credentials",
                self.job.host.name, self.job.to
            ))
        })
    }

    fn password(&self) -> Result<Secret, PortError> {
        Ok(tenant_password(
            &self.shared.infra_location,
            self.assignment()?,
        ))
    }

    fn bmc(&self) -> Result<Arc<dyn BmcPort>, PortError> {
        self.state
            .bmc_or_connect(|| self.shared.fleet.connect(&self.job.host))
    }

    async fn drive(&self, log: &mut Vec<StepReport>) -> Result<(), Stop> {
        let steps = self
            .kind
            .steps_with(&self.shared.config.hooks, self.shared.switches.is_some());
        // the record of moves hears of the move first (a QUADS server: `build=false`)
        if let Err(e) = self.shared.ledger.begin_move(&self.job.host.name).await {
            return Err(Stop {
                step: steps.first().cloned().unwrap_or(Step::Record),
                attempts: 1,
                error: e.to_string(),
                interrupted: false,
            });
        }
        for step in &steps {
            let prior = self
                .shared
                .resume
                .step(&self.job.host.name, step, self.job.to.as_str());
            if let Some(done) = &prior.done {
                self.state.restore(step, done);
                log.push(StepReport {
                    step: step.to_word(),
                    outcome: "done-before".to_owned(),
                    attempts: 0,
                    seconds: 0.0,
                });
                self.after_step(step).await?;
                continue;
            }
            let Ok(_guard) = self.shared.shutdown.start_step() else {
                return Err(Stop {
                    step: step.clone(),
                    attempts: 0,
                    error: "stopping: the step was not started".to_owned(),
                    interrupted: true,
                });
            };
            if matches!(
                (self.kind, step),
                (Kind::Wipe, Step::ForemanHost) | (Kind::NoWipe, Step::ForemanOwner)
            ) {
                self.ensure_cloud(log).await?;
            }
            let started = Instant::now();
            let _stage = self.shared.stages.enter(step.to_word());
            let span = tracing::info_span!("step", step = %step);
            // boxed: a host's task is as large as the step it is in, not the largest step
            let result = Box::pin(self.run_step(step, &prior)).instrument(span).await;
            match result {
                Ok(done) => {
                    log.push(StepReport {
                        step: step.to_word(),
                        outcome: done.outcome.as_str().to_owned(),
                        attempts: done.attempt,
                        seconds: seconds(started),
                    });
                    self.after_step(step).await?;
                }
                Err(stop) => {
                    log.push(StepReport {
                        step: step.to_word(),
                        outcome: if stop.interrupted {
                            "cancelled"
                        } else {
                            "failed"
                        }
                        .to_owned(),
                        attempts: stop.attempts,
                        seconds: seconds(started),
                    });
                    return Err(stop);
                }
            }
        }
        Ok(())
    }

    /// Tells the record of moves what a done step means to it: the switch ports are in place.
    async fn after_step(&self, step: &Step) -> Result<(), Stop> {
        if *step != Step::SwitchPorts {
            return Ok(());
        }
        self.shared
            .ledger
            .switch_ports_applied(&self.job.host.name)
            .await
            .map_err(|e| Stop {
                step: step.clone(),
                attempts: 1,
                error: e.to_string(),
                interrupted: false,
            })
    }

    async fn ensure_cloud(&self, log: &mut Vec<StepReport>) -> Result<u64, Stop> {
        let fail = |error: String| Stop {
            step: Step::CloudUser,
            attempts: 1,
            error,
            interrupted: self.shared.shutdown.aborted().is_cancelled(),
        };
        let assignment = self.assignment().map_err(|e| fail(e.message))?;
        let started = Instant::now();
        match self
            .shared
            .clouds
            .owner(&self.shared, &self.job.to, assignment)
            .await
        {
            Ok(owner) => Ok(owner),
            Err(error) => {
                log.push(StepReport {
                    step: Step::CloudUser.to_word(),
                    outcome: "failed".to_owned(),
                    attempts: 1,
                    seconds: seconds(started),
                });
                Err(fail(error))
            }
        }
    }

    async fn run_step(&self, step: &Step, prior: &PriorStep) -> Result<Done, Stop> {
        if *step == Step::InstallWait {
            return Box::pin(self.install_wait()).await;
        }
        if *step == Step::BmcAccount {
            self.state.start_account(prior.open_intent.is_some());
        }
        if *step == Step::NetworkBoot {
            let phase = prior.open_intent.as_ref().and_then(BootPhase::journaled);
            self.state.start_network_boot(phase);
        }
        let policies = &self.shared.config.steps;
        let once = RetryPolicy::once();
        let policy: &RetryPolicy = match step {
            // an external command may not be idempotent: it runs once per run
            Step::Hook(_) => &once,
            Step::BmcAccount => &policies.bmc_account,
            Step::SwitchPorts => &policies.switch_ports,
            Step::BootOrder => &policies.boot_order,
            Step::ForemanHost | Step::ForemanOwner => &policies.foreman_host,
            Step::NetworkBoot => &policies.network_boot,
            Step::PowerOff => &policies.power_off,
            _ => &policies.record,
        };
        let cancel = self.shared.shutdown.aborted().clone();
        // Wait for Foreman's turn before the step's clock starts (see `foreman_hosts`); a host
        // whose boot-order change waits for its next POST has the longest way after the step,
        // so it goes first.
        let _turn = if *step == Step::ForemanHost {
            let rank = u32::from(self.state.boot_order_pending());
            Some(self.shared.limits.foreman_host_slot(rank).await)
        } else {
            None
        };
        // A BMC step starts once the host has its place among the hosts talking to BMCs (as
        // many as connections may be open): a host beyond them waits here as a small future,
        // not inside the pool with its step's requests built (see `bmc_host_slot`).
        let _bmc_turn = match bmc_step_rank(step, self.state.boot_order_pending()) {
            Some(rank) => Some(self.shared.limits.bmc_host_slot(rank).await),
            None => None,
        };
        // The QUADS 2019 preset moves one host's ports at a time: the wait is not the step's.
        let _switch_turn = match (&self.shared.switches, step) {
            (Some(switches), Step::SwitchPorts) => switches.one_host().await,
            _ => None,
        };
        let result = retry(
            policy,
            &cancel,
            Idempotency::IdempotentWrite.classify(classify),
            |attempt| {
                let cancel = &cancel;
                async move {
                    // each step's future boxed: a host's task is as large as the step it is in,
                    // not as the largest step (700 waiting hosts held 11.6 KB each)
                    let r = match step {
                        Step::BmcAccount => Box::pin(self.bmc_account(attempt)).await,
                        Step::SwitchPorts => Box::pin(self.switch_ports(attempt)).await,
                        Step::BootOrder => Box::pin(self.boot_order(attempt, cancel)).await,
                        Step::ForemanHost => Box::pin(self.foreman_host(attempt)).await,
                        Step::ForemanOwner => Box::pin(self.foreman_owner(attempt)).await,
                        Step::NetworkBoot => Box::pin(self.network_boot(attempt, cancel)).await,
                        Step::PowerOff => Box::pin(self.power_off(attempt, cancel)).await,
                        Step::Hook(name) => Box::pin(self.hook(name, attempt, cancel)).await,
                        _ => Box::pin(self.record(attempt)).await,
                    };
                    if let Err(e) = &r {
                        tracing::debug!(attempt, error = %e, "step attempt failed");
                    }
                    r
                }
            },
        )
        .await;
        match result {
            Ok(done) => {
                // journaled with the host's next row (see the module's doc)
                self.hold(step, &done);
                Ok(done)
            }
            Err(e) => Err(self.stopped(step, e).await),
        }
    }

    /// Journals and describes a step that gave up.
    async fn stopped(&self, step: &Step, e: RetryError<PortError>) -> Stop {
        let attempts = e.attempts().max(1);
        let interrupted = matches!(e, RetryError::Cancelled { .. })
            || e.last()
                .and_then(|l| l.error())
                .is_some_and(|l| l.kind == super::ports::ErrorKind::Cancelled);
        let error = match &e {
            RetryError::DeadlineExceeded {
                last: Some(last), ..
            } => format!("{e}: {last}"),
            RetryError::Cancelled { .. } => "stopped: the grace period ended".to_owned(),
            RetryError::NotRetryable { last, .. } => last.to_string(),
            _ => e.to_string(),
        };
        let outcome = if interrupted {
            StepOutcome::Cancelled
        } else {
            StepOutcome::Failed
        };
        if let Err(store) = self
            .journal(JournalRow::Outcome {
                at: self.at(step, attempts),
                outcome,
                error: Some(error.clone()),
                details: self.details(&StepDetails::Move),
            })
            .await
        {
            tracing::warn!(error = %store, "cannot journal the step's end");
        }
        Stop {
            step: step.clone(),
            attempts,
            error,
            interrupted,
        }
    }

    fn done(&self, outcome: StepOutcome, attempt: u32, details: StepDetails) -> Done {
        Done {
            outcome,
            attempt,
            details,
        }
    }

    // ---- the steps ---------------------------------------------------------------------

    async fn bmc_account(&self, attempt: u32) -> Result<Done, PortError> {
        if self.kind == Kind::Spare {
            return self.revoke_account(attempt).await;
        }
        let bmc = self.bmc()?;
        let user = &self.shared.config.tenant_bmc_user;
        let password = self.password()?;
        let details = StepDetails::Account { user: user.clone() };
        // Only a step an earlier run left open may have set the password already: there a
        // login tells. Elsewhere the probe would fail, cost a request and count as a failed
        // login on the BMC (lockout policies); setting the account is idempotent anyway.
        if self.state.account_intent_open() && bmc.login_works(user, &password).await? {
            return Ok(self.done(StepOutcome::AlreadyDone, attempt, details));
        }
        self.intent(&Step::BmcAccount, attempt, &details).await?;
        bmc.set_account(user, &password, &self.shared.config.tenant_bmc_role)
            .await?;
        Ok(self.done(StepOutcome::Verified, attempt, details))
    }

    /// Nobody's tenant any more: the tenant account gets a password nobody keeps and is
    /// disabled where the BMC allows, verified by the tenant that left failing to log in.
    async fn revoke_account(&self, attempt: u32) -> Result<Done, PortError> {
        let bmc = self.bmc()?;
        let user = &self.shared.config.tenant_bmc_user;
        let intent = StepDetails::Revoke {
            user: user.clone(),
            account: None,
        };
        // No check first: revoking is idempotent, and a probe of the old password that
        // succeeded would have to be followed by the revocation anyway.
        self.intent(&Step::BmcAccount, attempt, &intent).await?;
        let found = bmc.revoke_account(user).await?;
        if let Some(leaving) = &self.job.leaving {
            let old = tenant_password(&self.shared.infra_location, leaving);
            if found && bmc.login_works(user, &old).await? {
                return Err(PortError::retryable(format!(
                    "the BMC still takes the password of {}'s tenant (ticket {}) after revoking it",
                    leaving.cloud, leaving.ticket
                )));
            }
        }
        let (outcome, what) = if found {
            (StepOutcome::Verified, Revoked::Revoked)
        } else {
            (StepOutcome::AlreadyDone, Revoked::Absent)
        };
        let details = StepDetails::Revoke {
            user: user.clone(),
            account: Some(what),
        };
        Ok(self.done(outcome, attempt, details))
    }

    /// The host's switch ports into its new tenancy's VLANs, per switch in the switch's next
    /// batch (the switches at once). Every port but those in maintenance goes, changed or not:
    /// the driver reads each and commits only those that differ, so a port someone moved by
    /// hand is put back, and a resumed step finds its ports done. Verified from the driver's
    /// read-back.
    async fn switch_ports(&self, attempt: u32) -> Result<Done, PortError> {
        let Some(switches) = &self.shared.switches else {
            return Err(PortError::fatal("no switch driver is configured"));
        };
        let host = &self.job.host.name;
        let plan = &self.job.network;
        if let Some(problem) = plan.problems.first() {
            return Err(PortError::fatal(problem.to_string()));
        }
        if plan.ports.is_empty() {
            return Err(PortError::fatal(format!(
                "{host} has no interfaces in the inventory: its switch ports cannot be moved \
                 (`quads host interface add`, or interfaces in the imported inventory)"
            )));
        }
        let mut by_switch: BTreeMap<&str, Vec<PortOrder>> = BTreeMap::new();
        for p in plan
            .ports
            .iter()
            .filter(|p| p.change != PortChange::Maintenance)
        {
            by_switch
                .entry(p.switch.as_str())
                .or_default()
                .push(PortOrder {
                    port: p.port.clone(),
                    target: p.new,
                    old: p.old,
                    host: host.clone(),
                    interface: p.interface.clone(),
                });
        }
        let switches_sent: Vec<String> = by_switch.keys().map(|&s| s.to_owned()).collect();
        let ports: usize = by_switch.values().map(Vec::len).sum();
        let intent = StepDetails::SwitchPorts {
            switches: switches_sent.clone(),
            ports,
            applied: None,
        };
        self.intent(&Step::SwitchPorts, attempt, &intent).await?;
        let mut set = tokio::task::JoinSet::new();
        for (switch, orders) in by_switch {
            let switches = switches.clone();
            let switch = switch.to_owned();
            set.spawn(async move {
                let r = switches.apply(&switch, orders.clone()).await;
                (switch, orders, r)
            });
        }
        let mut changed = 0usize;
        let mut commits = 0usize;
        let mut first_error: Option<PortError> = None;
        while let Some(joined) = set.join_next().await {
            let (switch, orders, result) = joined.map_err(|e| {
                PortError::retryable(format!("a switch batch ended abnormally: {e}"))
            })?;
            let applied = match result {
                Ok(a) => a,
                Err(e) => {
                    first_error.get_or_insert(e);
                    continue;
                }
            };
            commits += usize::from(applied.committed);
            changed += applied.ports.iter().filter(|p| p.changed).count();
            let wrong: Vec<String> = applied
                .ports
                .iter()
                .filter(|p| !p.verified)
                .map(|p| {
                    let order = orders.iter().find(|o| o.port == p.port);
                    format!(
                        "{} ({}) reads back as {}, not {}",
                        p.port,
                        order.map_or("?", |o| o.interface.as_str()),
                        p.found.as_deref().unwrap_or("something else"),
                        order.map_or_else(String::new, |o| o.target.to_string()),
                    )
                })
                .collect();
            if !wrong.is_empty() {
                first_error.get_or_insert(PortError::retryable(format!(
                    "switch {switch}: {}",
                    wrong.join("; ")
                )));
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        let outcome = if changed == 0 {
            StepOutcome::AlreadyDone
        } else {
            StepOutcome::Verified
        };
        let details = StepDetails::SwitchPorts {
            switches: switches_sent,
            ports,
            applied: Some(SwitchesApplied { changed, commits }),
        };
        Ok(self.done(outcome, attempt, details))
    }

    async fn boot_order(
        &self,
        attempt: u32,
        cancel: &CancellationToken,
    ) -> Result<Done, PortError> {
        let wanted = self
            .shared
            .boot_orders
            .provisioning_order(&self.job.host)
            .map_err(PortError::fatal)?;
        let bmc = self.bmc()?;
        let details = |change| StepDetails::BootOrder {
            wanted: wanted.clone(),
            change,
        };
        // No read first: setting the order reads it and changes nothing when its head already
        // is `wanted` (the intent is journaled either way, before anything can change).
        self.intent(&Step::BootOrder, attempt, &details(None))
            .await?;
        let change = bmc.set_boot_order(&wanted, cancel).await?;
        if change == BootOrderChange::Unchanged {
            self.state.set_boot_order_pending(false);
            return Ok(self.done(
                StepOutcome::AlreadyDone,
                attempt,
                details(Some(BootOrderSet::Unchanged)),
            ));
        }
        if let Some(pause) = self.shared.config.policy.boot_order_sleep {
            // the QUADS 2019 preset: a blind sleep after the change
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = cancel.cancelled() => {
                    return Err(PortError::cancelled("stopped during the boot-order sleep"));
                }
            }
        }
        let set = match change {
            BootOrderChange::Pending { job } => {
                // Applied during the POST of the network boot's power cycle, verified after it.
                self.state.set_boot_order_pending(true);
                BootOrderSet::Pending { job }
            }
            BootOrderChange::Applied | BootOrderChange::Unchanged => {
                let now = bmc.boot_order().await?;
                if !head_matches(&now, &wanted) {
                    return Err(PortError::retryable(format!(
                        "boot order reads back as {} after setting it",
                        now.join(",")
                    )));
                }
                BootOrderSet::Applied
            }
        };
        Ok(self.done(StepOutcome::Verified, attempt, details(Some(set))))
    }

    async fn foreman_host(&self, attempt: u32) -> Result<Done, PortError> {
        let assignment = self.assignment()?;
        let owner = self
            .shared
            .clouds
            .owner(&self.shared, &self.job.to, assignment)
            .await
            .map_err(PortError::fatal)?;
        let name = |what: &str, v: &Option<String>| {
            v.clone().ok_or_else(|| {
                PortError::fatal(format!(
                    "assignment {} of {} names no {what}",
                    assignment.ticket, self.job.to
                ))
            })
        };
        let foreman = &self.shared.foreman;
        let build = foreman
            .resolve(
                &name("operating system", &assignment.os)?,
                &name("partition table", &assignment.partition_table)?,
                &name("medium", &assignment.medium)?,
            )
            .await?;
        let settings = HostSettings {
            build,
            owner_user: owner,
        };
        let cloud = self.job.to.to_string();
        let parameters = [
            ("quads_cloud", cloud.as_str()),
            ("quads_ticket", assignment.ticket.as_str()),
            ("quads_owner", assignment.owner.as_str()),
        ];
        let host = foreman.host(&self.job.host.name).await?;
        let details = StepDetails::ForemanHost {
            host_id: host.id,
            os_id: build.os_id,
            owner_id: owner,
        };
        let done = |h: &super::ports::ForemanHost| {
            settings.matches(h)
                && parameters
                    .iter()
                    .all(|(k, v)| h.parameters.get(*k).map(String::as_str) == Some(*v))
        };
        if done(&host) {
            return Ok(self.done(StepOutcome::AlreadyDone, attempt, details));
        }
        self.intent(&Step::ForemanHost, attempt, &details).await?;
        let after = self
            .host_write(host.id, foreman.update_host(&host, &settings, &parameters))
            .await?;
        // verified from what Foreman answered to the write (its view of the saved host)
        if !done(&after) {
            return Err(PortError::retryable(
                "foreman does not show the host's new settings after the update",
            ));
        }
        Ok(self.done(StepOutcome::Verified, attempt, details))
    }

    /// Runs `write` to Foreman host `id` alone: writes to one Foreman object never overlap.
    async fn host_write<T>(
        &self,
        id: u64,
        write: impl Future<Output = Result<T, PortError>>,
    ) -> Result<T, PortError> {
        let _object = self.shared.limits.lock_foreman_object("host", id).await;
        write.await
    }

    /// The host's Foreman owner alone: the new tenant's user, or the spare pool's owner.
    async fn foreman_owner(&self, attempt: u32) -> Result<Done, PortError> {
        let clouds = &self.shared.clouds;
        let owner = match (self.kind, &self.job.assignment) {
            (Kind::Spare, _) | (_, None) => clouds.spare_owner(&self.shared).await,
            (_, Some(assignment)) => clouds.owner(&self.shared, &self.job.to, assignment).await,
        }
        .map_err(PortError::fatal)?;
        let foreman = &self.shared.foreman;
        let host = foreman.host(&self.job.host.name).await?;
        let details = StepDetails::ForemanOwner {
            host_id: host.id,
            owner_id: owner,
        };
        if host.owner_user == Some(owner) {
            return Ok(self.done(StepOutcome::AlreadyDone, attempt, details));
        }
        self.intent(&Step::ForemanOwner, attempt, &details).await?;
        let after = self
            .host_write(host.id, foreman.set_owner(&host, owner))
            .await?;
        // verified from what Foreman answered to the write
        if after.owner_user != Some(owner) {
            return Err(PortError::retryable(format!(
                "foreman shows owner {:?} after setting it to {owner}",
                after.owner_user
            )));
        }
        Ok(self.done(StepOutcome::Verified, attempt, details))
    }

    async fn network_boot(
        &self,
        attempt: u32,
        cancel: &CancellationToken,
    ) -> Result<Done, PortError> {
        let bmc = self.bmc()?;
        let phase = self.state.boot_phase();
        let at = self.shared.clock.now();
        let mut known_off = true;
        let before = if let Some(phase) = phase {
            // An earlier attempt or run journaled a phase: the power state tells how far it got.
            let power = bmc.power().await?;
            match (phase, &power) {
                // The power-on was journaled and the host is on: the cycle happened.
                (BootPhase::On, Power::On) => {
                    self.state.build_started(at);
                    let details = StepDetails::BootResumed { at };
                    return Ok(self.done(StepOutcome::AlreadyDone, attempt, details));
                }
                (BootPhase::On, _) | (_, Power::Off) => {}
                _ => {
                    self.power_off_for_boot(&bmc, attempt, cancel).await?;
                }
            }
            // the override set before the interruption may be gone: set (or find) it again
            bmc.pxe_once().await?;
            // off unless a power-on was under way (and the host is not simply off)
            known_off = phase != BootPhase::On || power == Power::Off;
            power
        } else {
            // Fresh: the override is set and verified just before the power-off (which sends
            // nothing to a host already off); nothing clears it until the next boot.
            self.power_off_for_boot(&bmc, attempt, cancel).await?
        };
        self.boot_phase_intent(BootPhase::On, attempt).await?;
        self.shared.limits.power_on().await;
        // verified: the power-on returns once the BMC reads `On`
        if known_off {
            bmc.power_on_after_off(cancel).await?;
        } else {
            bmc.power_on(cancel).await?;
        }
        self.state.build_started(at);
        let details = StepDetails::Booted {
            power_before: before,
            at,
        };
        Ok(self.done(StepOutcome::Verified, attempt, details))
    }

    /// Journals the network boot's intent for `phase`, which the host then enters.
    async fn boot_phase_intent(&self, phase: BootPhase, attempt: u32) -> Result<(), PortError> {
        self.intent(&Step::NetworkBoot, attempt, &StepDetails::BootPhase(phase))
            .await?;
        self.state.enter_boot_phase(phase);
        Ok(())
    }

    /// The network boot's first half, journaled as phase `off` before: the one-time PXE
    /// override, then power off. Returns the power state found before the power-off.
    async fn power_off_for_boot(
        &self,
        bmc: &Arc<dyn BmcPort>,
        attempt: u32,
        cancel: &CancellationToken,
    ) -> Result<Power, PortError> {
        self.boot_phase_intent(BootPhase::Off, attempt).await?;
        bmc.pxe_then_force_off(cancel).await
    }

    async fn install_wait(&self) -> Result<Done, Stop> {
        let step = Step::InstallWait;
        let stop = |error: String, interrupted| Stop {
            step: step.clone(),
            attempts: 1,
            error,
            interrupted,
        };
        self.intent(&step, 1, &StepDetails::Move)
            .await
            .map_err(|e| stop(e.message, false))?;
        let config = &self.shared.config;
        let timeout = config.install_timeout;
        let started = Instant::now();
        let host = &self.job.host.name;
        self.finish_interrupted_rekick().await;
        self.release_bmc().await;
        // Until the install-start deadline; then a host whose install did not start gets its
        // one re-kick (unless an earlier run journaled it), and the wait goes on to the end.
        let mut waited = self
            .wait_built_until(started + config.install_start_deadline.min(timeout))
            .await;
        let mut rekicked = self.rekicked_before();
        if waited == Some(false) {
            if !rekicked && self.install_not_started().await {
                self.rekick().await?;
                rekicked = true;
            }
            self.release_bmc().await;
            waited = self.wait_built_until(started + timeout).await;
        }
        let result = match waited {
            None => Err(stop(
                "stopped while waiting for the install".to_owned(),
                true,
            )),
            Some(false) => Err(stop(
                self.install_timeout_error(timeout, rekicked).await,
                false,
            )),
            Some(true) => self.verify_boot_order_applied().await.map_err(|e| Stop {
                step: Step::BootOrder,
                attempts: 1,
                error: e.message,
                interrupted: false,
            }),
        };
        match result {
            Ok(()) => {
                let at = self.shared.clock.now();
                self.state.build_ended(at);
                let done = self.done(StepOutcome::Verified, 1, StepDetails::Built { at });
                self.hold(&step, &done);
                Ok(done)
            }
            Err(s) => {
                let outcome = if s.interrupted {
                    StepOutcome::Cancelled
                } else {
                    StepOutcome::Failed
                };
                if let Err(e) = self
                    .journal(JournalRow::Outcome {
                        at: self.at(&step, 1),
                        outcome,
                        error: Some(s.error.clone()),
                        details: self.details(&StepDetails::Move),
                    })
                    .await
                {
                    tracing::warn!(host = %host, error = %e, "cannot journal the step's end");
                }
                Err(s)
            }
        }
    }

    /// Logs the host's BMC session out before a wait that needs no BMC (the install's, on
    /// Foreman): held idle, it would outlive the BMC's session timeout and expire there (or be
    /// left open by a kill); the next BMC request logs in again. A host whose boot order is
    /// checked after the install keeps its handle (logged out): what it discovered (the
    /// system's and manager's paths, the vendor) spares that check three reads of the BMC.
    /// The others drop theirs, so a waiting host holds no BMC state.
    async fn release_bmc(&self) {
        let bmc = if self.state.boot_order_pending() {
            self.state.peek_bmc()
        } else {
            self.state.take_bmc()
        };
        if let Some(bmc) = bmc {
            bmc.close().await;
        }
    }

    /// Waits for Foreman to show the host built until `deadline`: `Some(true)` built,
    /// `Some(false)` not by then, `None` when the run is stopping.
    async fn wait_built_until(&self, deadline: Instant) -> Option<bool> {
        let name = self.job.host.name.as_str();
        tokio::select! {
            () = self.shared.shutdown.stopping().cancelled() => None,
            r = tokio::time::timeout_at(deadline, self.shared.poller.wait_built(name)) => Some(r.is_ok()),
        }
    }

    /// Whether this move's re-kick was journaled (done, or begun) by this run or one it
    /// continues: a host is re-kicked once per move, whatever crashes in between.
    fn rekicked_before(&self) -> bool {
        let prior =
            self.shared
                .resume
                .step(&self.job.host.name, &Step::Rekick, self.job.to.as_str());
        prior.done.is_some() || prior.open_intent.is_some()
    }

    /// Whether the host's BMC shows no OS (the installer) started since its network boot. A
    /// BMC that cannot tell counts as not started, as QUADS re-kicks a host not built.
    async fn install_not_started(&self) -> bool {
        let progress = match self.bmc() {
            Ok(bmc) => bmc.boot_progress().await,
            Err(e) => Err(e),
        };
        match progress {
            Ok(BootProgress::OsStarted) => false,
            Ok(BootProgress::NoOs(state)) => {
                tracing::info!(state = %state, "the install did not start by the deadline");
                true
            }
            Ok(BootProgress::Unknown) => {
                tracing::info!(
                    "the install is not done by the start deadline and the bmc does not show how far the boot got"
                );
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the boot progress; re-kicking");
                true
            }
        }
    }

    /// A re-kick an earlier run began and did not end may have left the host off: the same
    /// re-kick is finished (one-time PXE, power on), not a second one made. Best effort: the
    /// install wait decides.
    async fn finish_interrupted_rekick(&self) {
        let prior =
            self.shared
                .resume
                .step(&self.job.host.name, &Step::Rekick, self.job.to.as_str());
        if prior.done.is_some() || prior.open_intent.is_none() {
            return;
        }
        let Ok(bmc) = self.bmc() else { return };
        if bmc.power().await != Ok(Power::Off) {
            return;
        }
        tracing::info!("finishing the re-kick an earlier run began");
        let cancel = self.shared.shutdown.aborted().clone();
        let finished = async {
            bmc.pxe_once().await?;
            self.shared.limits.power_on().await;
            bmc.power_on_after_off(&cancel).await
        };
        if let Err(e) = finished.await {
            tracing::warn!(error = %e, "cannot finish the earlier re-kick");
        }
    }

    /// The re-kick: one-time PXE and a power cycle again, through the BMC port and the power-on
    /// limit, journaled as `re-kick` (intent before, outcome at once).
    async fn rekick(&self) -> Result<(), Stop> {
        let step = Step::Rekick;
        tracing::warn!("re-kicking: the install did not start");
        let cancel = self.shared.shutdown.aborted().clone();
        let policy = self.shared.config.steps.network_boot.clone();
        let power_on_sent = AtomicBool::new(false);
        let result = retry(
            &policy,
            &cancel,
            Idempotency::IdempotentWrite.classify(classify),
            |attempt| {
                let cancel = &cancel;
                let sent = &power_on_sent;
                async move {
                    self.intent(&Step::Rekick, attempt, &StepDetails::Move)
                        .await?;
                    kick_settled(&*self.bmc()?, &self.shared.limits, cancel, sent).await?;
                    Ok(self.done(StepOutcome::Verified, attempt, StepDetails::Move))
                }
            },
        )
        .await;
        match result {
            Ok(done) => {
                self.hold(&step, &done);
                if let Err(e) = self.flush().await {
                    tracing::warn!(error = %e, "cannot journal the re-kick");
                }
                Ok(())
            }
            Err(e) => {
                let mut stop = self.stopped(&step, e).await;
                stop.error = format!("{}: the re-kick failed: {}", self.job.host.name, stop.error);
                Err(stop)
            }
        }
    }

    /// The install wait's error at `install_timeout`, naming the host and, from its BMC, whether
    /// the install ever started (and whether it was re-kicked first).
    async fn install_timeout_error(&self, timeout: Duration, rekicked: bool) -> String {
        let progress = match self.bmc() {
            Ok(bmc) => bmc.boot_progress().await.unwrap_or(BootProgress::Unknown),
            Err(_) => BootProgress::Unknown,
        };
        let rekicked = if rekicked { " after one re-kick" } else { "" };
        let why = match progress {
            BootProgress::OsStarted => "the installer runs but never reported the build done",
            BootProgress::NoOs(_) => "no install started",
            BootProgress::Unknown => "Foreman still shows build=true",
        };
        format!(
            "{}: the install did not finish within {}{rekicked}: {why}",
            self.job.host.name,
            human(timeout)
        )
    }

    /// After the install: a boot order staged in a config job must have been applied.
    async fn verify_boot_order_applied(&self) -> Result<(), PortError> {
        if !self.state.boot_order_pending() {
            return Ok(());
        }
        let wanted = self
            .shared
            .boot_orders
            .provisioning_order(&self.job.host)
            .map_err(PortError::fatal)?;
        let bmc = self.bmc()?;
        let mut last = PortError::fatal("unread");
        for _ in 0..3 {
            match bmc.boot_order().await {
                Ok(order) if head_matches(&order, &wanted) => return Ok(()),
                Ok(order) => {
                    return Err(PortError::fatal(format!(
                        "the boot-order config job did not apply: the order is {}",
                        order.join(",")
                    )));
                }
                Err(e) if e.is_retryable() => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    async fn power_off(&self, attempt: u32, cancel: &CancellationToken) -> Result<Done, PortError> {
        let bmc = self.bmc()?;
        if bmc.power().await? == Power::Off {
            return Ok(self.done(StepOutcome::AlreadyDone, attempt, StepDetails::Move));
        }
        self.intent(&Step::PowerOff, attempt, &StepDetails::Move)
            .await?;
        // verified: the power-off returns once the BMC reads `Off`
        bmc.force_off(cancel).await?;
        Ok(self.done(StepOutcome::Verified, attempt, StepDetails::Move))
    }

    async fn hook(
        &self,
        name: &str,
        attempt: u32,
        cancel: &CancellationToken,
    ) -> Result<Done, PortError> {
        let Some(spec) = self.shared.config.hooks.iter().find(|h| h.name == name) else {
            return Err(PortError::fatal(format!("no hook named {name}")));
        };
        let step = Step::Hook(name.to_owned());
        let details = |ran| StepDetails::Hook {
            command: spec.command.clone(),
            ran,
        };
        self.intent(&step, attempt, &details(None)).await?;
        match run_move_hook(spec, &self.job.hook_move(), &self.shared.limits, cancel).await {
            Ok(out) => Ok(self.done(StepOutcome::Verified, attempt, details(Some(out.elapsed)))),
            Err(e @ HookError::Cancelled { .. }) => Err(PortError::cancelled(e.to_string())),
            Err(e) => Err(PortError::fatal(e.to_string())),
        }
    }

    async fn record(&self, attempt: u32) -> Result<Done, PortError> {
        let ledger = &self.shared.ledger;
        if ledger.current_cloud(&self.job.host.name).await?.as_ref() == Some(&self.job.to) {
            return Ok(self.done(StepOutcome::AlreadyDone, attempt, StepDetails::Move));
        }
        let (build_start, build_end) = self.state.build_times();
        let done = CompletedMove {
            host: self.job.host.name.clone(),
            to: self.job.to.clone(),
            schedule: self.job.schedule,
            build_start,
            build_end,
        };
        // the intent, and what is held, no later than the record: the store writes all three
        // in one transaction (the act is that write, so its intent needs no commit before it)
        let intent = JournalRow::Intent {
            at: self.at(&Step::Record, attempt),
            details: self.details(&StepDetails::Move),
        };
        self.write_held_then(Some(intent), Some(done)).await?;
        if ledger.current_cloud(&self.job.host.name).await?.as_ref() != Some(&self.job.to) {
            return Err(PortError::fatal("the store does not show the new cloud"));
        }
        Ok(self.done(StepOutcome::Verified, attempt, StepDetails::Move))
    }
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}
