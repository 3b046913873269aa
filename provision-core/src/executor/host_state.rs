//! One host's run state while it moves: what its steps leave for later steps (the BMC handle,
//! the network boot's journaled phase, the build's start and end, a boot order staged for the
//! next POST, an account intent an earlier run left open) and the done outcomes held for its
//! next journal write. All of it behind one lock, taken by short methods that never await.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::ports::{BmcPort, PortError};
use super::step_details::{BootPhase, boot_order_pending, done_at};
use crate::journal::{Details, JournalRow};
use crate::model::Step;
use crate::time::Timestamp;

/// The fields [`HostRunState`] guards.
#[derive(Default)]
struct Fields {
    bmc: Option<Arc<dyn BmcPort>>,
    /// The last power phase journaled by the network-boot step.
    boot_phase: Option<BootPhase>,
    /// An earlier run journaled the intent of the BMC account step but not its end.
    account_intent_open: bool,
    build_start: Option<Timestamp>,
    build_end: Option<Timestamp>,
    /// The boot order was staged in a config job, applied at the next POST.
    boot_order_pending: bool,
    /// Done outcomes not journaled yet, oldest first: they go with the host's next journal
    /// write (see `host`'s module doc).
    held: Vec<JournalRow>,
}

/// One host's run state (see the module's doc).
#[derive(Default)]
pub(super) struct HostRunState {
    fields: Mutex<Fields>,
}

impl HostRunState {
    fn lock(&self) -> MutexGuard<'_, Fields> {
        self.fields.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The host's BMC handle, made by `connect` the first time.
    pub(super) fn bmc_or_connect(
        &self,
        connect: impl FnOnce() -> Result<Arc<dyn BmcPort>, PortError>,
    ) -> Result<Arc<dyn BmcPort>, PortError> {
        let mut fields = self.lock();
        if let Some(bmc) = &fields.bmc {
            return Ok(bmc.clone());
        }
        let bmc = connect()?;
        fields.bmc = Some(bmc.clone());
        Ok(bmc)
    }

    /// The BMC handle, if one was made, for closing at the end of the move.
    pub(super) fn take_bmc(&self) -> Option<Arc<dyn BmcPort>> {
        self.lock().bmc.take()
    }

    /// The BMC handle, if one was made, left in place.
    pub(super) fn peek_bmc(&self) -> Option<Arc<dyn BmcPort>> {
        self.lock().bmc.clone()
    }

    /// Takes over what a step journaled done by an earlier run leaves for later steps.
    pub(super) fn restore(&self, step: &Step, done: &Details) {
        let mut fields = self.lock();
        match step {
            Step::BootOrder => fields.boot_order_pending = boot_order_pending(done),
            Step::NetworkBoot => fields.build_start = done_at(done),
            Step::InstallWait => fields.build_end = done_at(done),
            _ => {}
        }
    }

    /// The BMC account step starts; `open` when an earlier run left its intent without an end.
    pub(super) fn start_account(&self, open: bool) {
        self.lock().account_intent_open = open;
    }

    /// Whether an earlier run left the BMC account step's intent without an end.
    pub(super) fn account_intent_open(&self) -> bool {
        self.lock().account_intent_open
    }

    /// The network-boot step starts from the phase an earlier attempt or run journaled.
    pub(super) fn start_network_boot(&self, journaled: Option<BootPhase>) {
        self.lock().boot_phase = journaled;
    }

    /// The network boot's last journaled phase.
    pub(super) fn boot_phase(&self) -> Option<BootPhase> {
        self.lock().boot_phase
    }

    /// The network boot journaled `phase` and enters it.
    pub(super) fn enter_boot_phase(&self, phase: BootPhase) {
        self.lock().boot_phase = Some(phase);
    }

    /// The build started (the network boot's power-on) at `at`.
    pub(super) fn build_started(&self, at: Timestamp) {
        self.lock().build_start = Some(at);
    }

    /// The build ended (Foreman shows the host built) at `at`.
    pub(super) fn build_ended(&self, at: Timestamp) {
        self.lock().build_end = Some(at);
    }

    /// The build's start and end, as known.
    pub(super) fn build_times(&self) -> (Option<Timestamp>, Option<Timestamp>) {
        let fields = self.lock();
        (fields.build_start, fields.build_end)
    }

    /// The boot-order step left the change staged for the next POST (`true`) or in place.
    pub(super) fn set_boot_order_pending(&self, pending: bool) {
        self.lock().boot_order_pending = pending;
    }

    /// Whether the boot order waits for the next POST.
    pub(super) fn boot_order_pending(&self) -> bool {
        self.lock().boot_order_pending
    }

    /// Holds a done outcome until the host's next journal write.
    pub(super) fn hold(&self, row: JournalRow) {
        self.lock().held.push(row);
    }

    /// Takes the held outcomes, oldest first, for a write.
    pub(super) fn take_held(&self) -> Vec<JournalRow> {
        std::mem::take(&mut self.lock().held)
    }

    /// Puts back outcomes whose write failed, before any held since.
    pub(super) fn hold_again(&self, mut rows: Vec<JournalRow>) {
        let mut fields = self.lock();
        rows.append(&mut fields.held);
        fields.held = rows;
    }
}
