//! The executor's ports: the Foreman, BMC and store operations the step machine needs, as small
//! traits. Adapters implement them over `foreman-client`, `redfish-client` and the [`Store`];
//! tests implement them in memory (and under a paused tokio clock).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::config::Secret;
use crate::journal::{Details, JournalRow, StepAttempt};
use crate::model::{CloudName, Host, HostName, InterfaceName, StepOutcome};
use crate::network::PortTarget;
use crate::retry::Retryable;
use crate::store::{CompletedMove, Store, StoreError};

/// Whether trying again may help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A transient failure (transport, 5xx, busy): the step may be tried again.
    Retryable,
    /// Trying again changes nothing (refused credentials, unknown name, bad input).
    Final,
    /// The operation was cancelled.
    Cancelled,
}

/// What a port operation failed with: a message fit for an operator (never a secret) and
/// whether a retry may help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PortError {
    /// Retryable, final or cancelled.
    pub kind: ErrorKind,
    /// What went wrong.
    pub message: String,
}

impl PortError {
    /// A transient failure.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Retryable,
            message: message.into(),
        }
    }

    /// A failure no retry fixes.
    pub fn fatal(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Final,
            message: message.into(),
        }
    }

    /// A cancelled operation.
    pub fn cancelled(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Cancelled,
            message: message.into(),
        }
    }

    /// Whether a retry may help.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        self.kind == ErrorKind::Retryable
    }
}

/// [`PortError::is_retryable`] as the retry loop's verdict: the classifier every step of the
/// executor gives [`crate::retry::retry`].
pub(crate) fn classify(e: &PortError) -> Retryable {
    if e.is_retryable() {
        Retryable::Yes
    } else {
        Retryable::No
    }
}

impl From<StoreError> for PortError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Remote {
                message,
                retryable: true,
            } => Self::retryable(message),
            StoreError::Remote { message, .. } => Self::fatal(message),
            e => Self::fatal(format!("store: {e}")),
        }
    }
}

/// The Foreman user, role and filter of one cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudUserSpec {
    /// The login (the cloud's name).
    pub login: String,
    /// Its e-mail address.
    pub mail: String,
    /// Its password (`{infra_location}@{ticket}`).
    pub password: Secret,
    /// The role's name (the cloud's name).
    pub role: String,
    /// Host permissions the role's filter grants on the user's own hosts.
    pub host_permissions: Vec<String>,
}

/// What ensuring a cloud's user found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloudUser {
    /// The user's Foreman id (the owner of the cloud's hosts).
    pub user_id: u64,
    /// Whether anything was written.
    pub changed: bool,
}

/// The Foreman user of a cloud whose assignments all ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetiredUserSpec {
    /// The login (the cloud's name).
    pub login: String,
    /// The password its last tenant had, to verify it no longer logs in (unknown when the
    /// store has no assignment of the cloud).
    pub last_password: Option<Secret>,
}

/// What retiring a cloud's Foreman user found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetiredUser {
    /// Foreman has no such user.
    Absent,
    /// It was disabled already.
    AlreadyRetired,
    /// Disabled (and its password rotated) now.
    Retired,
}

/// A host as the executor needs to see it in Foreman.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForemanHost {
    /// Foreman id.
    pub id: u64,
    /// Build mode.
    pub build: bool,
    /// Operating system id.
    pub os_id: Option<u64>,
    /// Partition table id.
    pub ptable_id: Option<u64>,
    /// Installation medium id.
    pub medium_id: Option<u64>,
    /// The owning user's id, when a user owns it.
    pub owner_user: Option<u64>,
    /// The host's own parameters, as text.
    pub parameters: BTreeMap<String, String>,
    /// Foreman's ids of those parameters (to change one inside a host update).
    pub parameter_ids: BTreeMap<String, u64>,
}

/// Validated catalog ids of a build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildIds {
    /// Operating system.
    pub os_id: u64,
    /// Partition table.
    pub ptable_id: u64,
    /// Installation medium.
    pub medium_id: u64,
}

/// What one `PUT /hosts/:id` sets: the build, the owner and `build=true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostSettings {
    /// OS, partition table, medium.
    pub build: BuildIds,
    /// The owning user.
    pub owner_user: u64,
}

impl HostSettings {
    /// Whether `host` already has these settings and `build=true`.
    #[must_use]
    pub fn matches(&self, host: &ForemanHost) -> bool {
        host.build
            && host.os_id == Some(self.build.os_id)
            && host.ptable_id == Some(self.build.ptable_id)
            && host.medium_id == Some(self.build.medium_id)
            && host.owner_user == Some(self.owner_user)
    }
}

/// The Foreman operations of a move.
#[async_trait]
pub trait ForemanPort: Send + Sync + fmt::Debug {
    /// Makes the cloud's user, role and filter as `spec` says (check, act if needed, verify).
    async fn ensure_cloud_user(&self, spec: &CloudUserSpec) -> Result<CloudUser, PortError>;
    /// Disables the cloud's user and gives it a password nobody keeps, verified from
    /// Foreman's answer (or, where Foreman does not show `disabled`, by its last password
    /// failing). A user that does not exist, or is disabled already, is left so.
    async fn retire_cloud_user(&self, spec: &RetiredUserSpec) -> Result<RetiredUser, PortError>;
    /// The id of the user `login`, or of the user the client signs in as when `None`; a
    /// login Foreman does not know is a final error.
    async fn user_id(&self, login: Option<&str>) -> Result<u64, PortError>;
    /// One host, with its parameters.
    async fn host(&self, name: &HostName) -> Result<ForemanHost, PortError>;
    /// The catalog ids of an OS, partition table and medium by name (cached lookups); an unknown
    /// name is a final error.
    async fn resolve(&self, os: &str, ptable: &str, medium: &str) -> Result<BuildIds, PortError>;
    /// Makes the host show `settings` with `build=true` and hold `parameters` (name, value),
    /// writing only what `current` (its last read) lacks; gives the host as Foreman shows it
    /// after the write, to verify from.
    async fn update_host(
        &self,
        current: &ForemanHost,
        settings: &HostSettings,
        parameters: &[(&str, &str)],
    ) -> Result<ForemanHost, PortError>;
    /// Makes user `owner_user` the owner of the host (nothing else changes), writing only when
    /// `current` (its last read) shows another owner; gives the host as Foreman shows it after
    /// the write, to verify from.
    async fn set_owner(
        &self,
        current: &ForemanHost,
        owner_user: u64,
    ) -> Result<ForemanHost, PortError>;
    /// The names of every host in build mode: one thin query, all pages.
    async fn building_hosts(&self) -> Result<BTreeSet<String>, PortError>;
    /// What a cloud's tenant sees, signed in as `login` with `password` (two thin queries):
    /// `None` when Foreman refuses the login.
    async fn tenant_view(
        &self,
        login: &str,
        password: &Secret,
    ) -> Result<Option<TenantView>, PortError> {
        let _ = (login, password);
        Err(PortError::fatal(
            "this foreman port cannot sign in as a tenant",
        ))
    }
}

/// The hosts a cloud's tenant sees in Foreman.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantView {
    /// Every host the tenant's user may see, by name.
    pub visible: BTreeSet<String>,
    /// Of those, the ones still in build mode.
    pub building: BTreeSet<String>,
}

/// A power state as the executor needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Power {
    /// On (or going through POST).
    On,
    /// Off.
    Off,
    /// Anything else (powering on or off), as the BMC says it.
    Other(String),
}

/// How far a host's last boot got, as its BMC tells it (Redfish `BootProgress.LastState`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootProgress {
    /// An OS (an installer is one) started or runs.
    OsStarted,
    /// No OS started: off, in POST, in setup, or stopped after POST (a failed network boot).
    NoOs(String),
    /// The BMC does not say (no `BootProgress`, or an OEM state).
    Unknown,
}

impl BootProgress {
    /// Reads Redfish's `LastState` (`None` when the BMC does not report it).
    #[must_use]
    pub fn from_last_state(state: Option<&str>) -> Self {
        match state {
            Some("OSBootStarted" | "OSRunning") => Self::OsStarted,
            None | Some("OEM") => Self::Unknown,
            Some(other) => Self::NoOs(other.to_owned()),
        }
    }
}

/// What setting the persistent boot order did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootOrderChange {
    /// It already was so.
    Unchanged,
    /// Applied now.
    Applied,
    /// Staged in a config job applied at the next POST.
    Pending {
        /// The job's id, when the BMC named it.
        job: Option<String>,
    },
}

/// One BMC's operations.
#[async_trait]
pub trait BmcPort: Send + Sync + fmt::Debug {
    /// The BMC's address, for logs.
    fn name(&self) -> &str;
    /// Whether a login as `user` with `password` works (logged out again).
    async fn login_works(&self, user: &str, password: &Secret) -> Result<bool, PortError>;
    /// Sets the user's password and role (creating it if needed), then verifies by logging in.
    async fn set_account(&self, user: &str, password: &Secret, role: &str)
    -> Result<(), PortError>;
    /// Revokes the user's access: a new random password nobody keeps and, where the BMC
    /// allows it, the account disabled. `false` when the BMC has no such account.
    async fn revoke_account(&self, user: &str) -> Result<bool, PortError>;
    /// The persistent boot order, device names first to last.
    async fn boot_order(&self) -> Result<Vec<String>, PortError>;
    /// Puts `devices` first in the persistent boot order (on Dell: clears the job queue and
    /// creates the config job, applied at the next POST).
    async fn set_boot_order(
        &self,
        devices: &[String],
        cancel: &CancellationToken,
    ) -> Result<BootOrderChange, PortError>;
    /// One-time network boot at the next power-on.
    async fn pxe_once(&self) -> Result<(), PortError>;
    /// The power state now.
    async fn power(&self) -> Result<Power, PortError>;
    /// Forces power off (nothing is sent when it is off) and waits until the BMC reads `Off`;
    /// returns the state found before.
    async fn force_off(&self, cancel: &CancellationToken) -> Result<Power, PortError>;
    /// [`BmcPort::pxe_once`], then [`BmcPort::force_off`] (an adapter may share a read
    /// between the two); returns the state found before the power-off.
    async fn pxe_then_force_off(&self, cancel: &CancellationToken) -> Result<Power, PortError> {
        self.pxe_once().await?;
        self.force_off(cancel).await
    }
    /// Powers on and waits until the BMC reads `On`.
    async fn power_on(&self, cancel: &CancellationToken) -> Result<(), PortError>;
    /// [`BmcPort::power_on`] of a host the caller has just seen `Off` (an adapter may skip
    /// reading the state first).
    async fn power_on_after_off(&self, cancel: &CancellationToken) -> Result<(), PortError> {
        self.power_on(cancel).await
    }
    /// How far the host's last boot got (a state read). A BMC that cannot tell says
    /// [`BootProgress::Unknown`].
    async fn boot_progress(&self) -> Result<BootProgress, PortError> {
        Ok(BootProgress::Unknown)
    }
    /// Logs the session out (best effort). The handle stays usable: its next request logs in
    /// again, with what it discovered of the BMC kept.
    async fn close(&self);
}

/// The BMCs of the fleet.
#[async_trait]
pub trait BmcFleet: Send + Sync + fmt::Debug {
    /// The handle of one host's BMC (nothing is sent yet).
    ///
    /// # Errors
    /// A final [`PortError`] when its address cannot be used.
    fn connect(&self, host: &Host) -> Result<Arc<dyn BmcPort>, PortError>;
    /// Logs every session out; how many were closed.
    async fn close_all(&self) -> usize;
    /// Accepts new sessions again after [`BmcFleet::close_all`] (the validation after a
    /// run's moves).
    fn reopen(&self) {}
    /// Deletes a session an earlier run left open on `bmc` (as its session log recorded it:
    /// the BMC's base URL and the session's path). A fleet that keeps no session log has none.
    ///
    /// # Errors
    /// The BMC's, when it does not delete it.
    async fn close_left_session(&self, bmc: &str, session: &str) -> Result<(), PortError> {
        let _ = (bmc, session);
        Ok(())
    }
    /// [`BmcFleet::close_left_session`] for each of `sessions` on one BMC, in order (a fleet
    /// may log in once for them all); one result per session.
    async fn close_left_sessions_on(
        &self,
        bmc: &str,
        sessions: &[String],
    ) -> Vec<Result<(), PortError>> {
        let mut results = Vec::with_capacity(sessions.len());
        for session in sessions {
            results.push(self.close_left_session(bmc, session).await);
        }
        results
    }
}

/// One switch port of a batch and where it must end up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortOrder {
    /// The switch port (`xe-0/0/12`).
    pub port: String,
    /// Its mode and VLAN for the host's new tenancy.
    pub target: PortTarget,
    /// Where QUADS expects it now (for drivers that name the old VLAN).
    pub old: Option<PortTarget>,
    /// The host it is cabled to.
    pub host: HostName,
    /// The host's interface.
    pub interface: InterfaceName,
}

/// What became of one port of an applied batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortApplied {
    /// The switch port.
    pub port: String,
    /// Whether it was reconfigured (false: it already was as wanted).
    pub changed: bool,
    /// Whether the switch shows it as wanted after the batch.
    pub verified: bool,
    /// What the switch shows, in words, when it is not as wanted.
    pub found: Option<String>,
}

/// What one batch did on one switch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchApplied {
    /// Whether a commit was made (none when every port already was as wanted).
    pub committed: bool,
    /// Every port of the batch.
    pub ports: Vec<PortApplied>,
}

/// Why a batch failed, and whether the switch refused what the batch asked for (a failed
/// commit, a refused line: a smaller batch may pass) rather than the session (a refused login,
/// a wrong host key, a timeout: the same for any batch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchError {
    /// What went wrong (naming the switch and the batch's ports).
    pub error: PortError,
    /// The switch refused the batch's content, applying nothing.
    pub refused_content: bool,
    /// The switch refused the login (the executor stops trying a switch that refuses several
    /// in a row, so a wrong password cannot lock the account).
    pub login_refused: bool,
}

impl From<PortError> for BatchError {
    fn from(error: PortError) -> Self {
        Self {
            error,
            refused_content: false,
            login_refused: false,
        }
    }
}

/// The switches: moves a batch of ports on one switch at once.
#[async_trait]
pub trait SwitchPort: Send + Sync + fmt::Debug {
    /// Brings every port of `batch` on `switch` (an interface's `switch_ip`) to its target:
    /// reads them, changes the ones that differ in one commit (none when all are as wanted),
    /// and reads them back. The executor never calls it twice at once for one switch.
    ///
    /// A failed commit leaves every port of the batch as it was and is an error of the whole
    /// batch (`refused_content`); a port read back other than its target is `verified: false`
    /// in the answer.
    async fn apply(&self, switch: &str, batch: &[PortOrder]) -> Result<BatchApplied, BatchError>;

    /// How long the driver keeps a switch's session open after a batch that ended well, for
    /// the switch's next batch (zero, the default: it keeps none). Meanwhile the executor
    /// counts that session among those open at once, and calls [`SwitchPort::release`] when
    /// no batch came.
    fn idle_linger(&self) -> Duration {
        Duration::ZERO
    }

    /// Closes the session kept for `switch`, if any; the switch's next batch opens another.
    async fn release(&self, switch: &str) {
        let _ = switch;
    }

    /// Closes every kept session and keeps none after it (the run's end, stopped or not);
    /// how many were closed.
    async fn close_sessions(&self) -> usize {
        0
    }
}

/// The provisioning boot order ("foreman" host type) of each host (Badfish interfaces YAML).
pub trait BootOrders: Send + Sync + fmt::Debug {
    /// The devices that must head the persistent boot order of `host`.
    ///
    /// # Errors
    /// A message when the interfaces file has no entry for the host.
    fn provisioning_order(&self, host: &Host) -> Result<Vec<String>, String>;
}

/// Where the executor journals and records moves.
#[async_trait]
pub trait Ledger: Send + Sync + fmt::Debug {
    /// Journals an intent (before acting).
    async fn intent(&self, at: &StepAttempt, details: Details) -> Result<(), StoreError>;
    /// Journals an outcome (after acting and verifying). The executor writes a done outcome
    /// through [`Ledger::append_all`] with the host's next row instead, or alone a little later.
    async fn outcome(
        &self,
        at: &StepAttempt,
        outcome: StepOutcome,
        error: Option<String>,
        details: Details,
    ) -> Result<(), StoreError>;
    /// Journals `rows` in order in one write (the executor's way to let a step's outcome ride
    /// with the host's next intent). An implementation that can should write all or none; this
    /// default writes them one by one with [`Ledger::intent`] and [`Ledger::outcome`], stopping at
    /// the first error (the rows before it stay written).
    async fn append_all(&self, rows: Vec<JournalRow>) -> Result<(), StoreError> {
        for row in rows {
            match row {
                JournalRow::Intent { at, details } => self.intent(&at, details).await?,
                JournalRow::Outcome {
                    at,
                    outcome,
                    error,
                    details,
                } => self.outcome(&at, outcome, error, details).await?,
            }
        }
        Ok(())
    }
    /// The cloud the store says the host is in.
    async fn current_cloud(&self, host: &HostName) -> Result<Option<CloudName>, StoreError>;
    /// Records a successful move.
    async fn complete_move(&self, done: CompletedMove) -> Result<(), StoreError>;
    /// Journals `rows` (the record step's intent and what rides with it), then records the
    /// successful move `done`: the rows are written no later than the record. The store does
    /// both in one transaction (all or none); this default writes the rows with
    /// [`Ledger::append_all`] and then the record.
    async fn journal_and_complete_move(
        &self,
        rows: Vec<JournalRow>,
        done: CompletedMove,
    ) -> Result<(), StoreError> {
        self.append_all(rows).await?;
        self.complete_move(done).await
    }
    /// A host's move begins (before its first step, also when a run continues it). The store
    /// records nothing here; a QUADS server is told the host is being rebuilt.
    async fn begin_move(&self, _host: &HostName) -> Result<(), StoreError> {
        Ok(())
    }
    /// A host's switch-ports step is done (or was done by the run being continued). The store
    /// records nothing here; a QUADS server is told its switch configuration is applied.
    async fn switch_ports_applied(&self, _host: &HostName) -> Result<(), StoreError> {
        Ok(())
    }
}

#[async_trait]
impl Ledger for Store {
    async fn intent(&self, at: &StepAttempt, details: Details) -> Result<(), StoreError> {
        self.journal().intent(at, details).await.map(|_| ())
    }

    async fn outcome(
        &self,
        at: &StepAttempt,
        outcome: StepOutcome,
        error: Option<String>,
        details: Details,
    ) -> Result<(), StoreError> {
        self.journal()
            .outcome(at, outcome, error, details)
            .await
            .map(|_| ())
    }

    /// One transaction for all of `rows`: all are written or none is.
    async fn append_all(&self, rows: Vec<JournalRow>) -> Result<(), StoreError> {
        self.journal().append_all(rows).await.map(|_| ())
    }

    async fn current_cloud(&self, host: &HostName) -> Result<Option<CloudName>, StoreError> {
        Ok(self.host(host.clone()).await?.map(|h| h.current_cloud))
    }

    async fn complete_move(&self, done: CompletedMove) -> Result<(), StoreError> {
        Store::complete_move(self, done).await
    }

    /// One transaction for the rows and the record: all are written or none is.
    async fn journal_and_complete_move(
        &self,
        rows: Vec<JournalRow>,
        done: CompletedMove,
    ) -> Result<(), StoreError> {
        Store::journal_and_complete_move(self, rows, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::BootProgress;

    #[test]
    fn boot_progress_tells_an_os_from_none_and_from_a_bmc_that_cannot_tell() {
        for os in ["OSBootStarted", "OSRunning"] {
            assert_eq!(
                BootProgress::from_last_state(Some(os)),
                BootProgress::OsStarted
            );
        }
        for none in [
            "None",
            "PrimaryProcessorInitializationStarted",
            "SystemHardwareInitializationComplete",
            "SetupEntered",
        ] {
            assert_eq!(
                BootProgress::from_last_state(Some(none)),
                BootProgress::NoOs(none.to_owned())
            );
        }
        assert_eq!(BootProgress::from_last_state(None), BootProgress::Unknown);
        assert_eq!(
            BootProgress::from_last_state(Some("OEM")),
            BootProgress::Unknown
        );
    }
}
