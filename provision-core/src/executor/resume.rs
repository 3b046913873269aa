//! What earlier runs left in the journal, read back for a new run: per host and step, whether it
//! was verified done for the same move, and the last intent that has no outcome (an action that
//! may or may not have happened when the process died). A host whose last outcome failed starts
//! over (still checking reality before every action).
//!
//! An outcome may reach the journal after the host's next action began (the executor writes a
//! done outcome with the host's next row): a step whose action happened but whose outcome was
//! not written when the process died reads as open here, and the next run re-checks it.

use std::collections::HashMap;

use crate::journal::Details;
use crate::model::{
    HostName, JournalEntry, Phase, RunId, RunKind, RunState, Step, StepOutcome, Subject,
};
use crate::store::{Store, StoreError};

/// The journal details key naming the move's target cloud.
pub const TO: &str = "to";

/// What the journal says about one step of one host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriorStep {
    /// The details of its done outcome, if it was verified done (or already done).
    pub done: Option<Details>,
    /// The details of its last intent, when no outcome followed it (or only a cancellation).
    pub open_intent: Option<Details>,
    /// The run that wrote the entry.
    pub run: Option<RunId>,
}

/// The journal of the runs a new run continues.
#[derive(Debug, Clone, Default)]
pub struct ResumeState {
    steps: HashMap<(HostName, String), PriorStep>,
    /// The runs read, oldest first.
    pub runs: Vec<RunId>,
}

impl ResumeState {
    /// Nothing to continue.
    #[must_use]
    pub fn empty() -> Self {
        Self::default()
    }

    /// Builds the state from entries (oldest first); only entries for a move to `to` count.
    #[must_use]
    pub fn from_entries(entries: &[JournalEntry]) -> Self {
        let mut steps: HashMap<(HostName, String), PriorStep> = HashMap::new();
        let mut runs = Vec::new();
        let mut last_failed: HashMap<HostName, bool> = HashMap::new();
        for e in entries {
            if runs.last() != Some(&e.run) {
                runs.push(e.run);
            }
            let Subject::Host(host) = &e.subject else {
                continue;
            };
            let key = (host.clone(), e.step.to_word());
            let slot = steps.entry(key).or_default();
            slot.run = Some(e.run);
            match e.phase {
                Phase::Intent => slot.open_intent = Some(e.details.clone()),
                // A step stopped mid-way may have done what it intended (a power-on sent just
                // before the grace period ended): its intent stays open, to be re-checked.
                Phase::Outcome if e.outcome == Some(StepOutcome::Cancelled) => {}
                Phase::Outcome => {
                    slot.open_intent = None;
                    match e.outcome {
                        Some(o) if o.is_done() => {
                            slot.done = Some(e.details.clone());
                            last_failed.insert(host.clone(), false);
                        }
                        Some(StepOutcome::Failed) => {
                            last_failed.insert(host.clone(), true);
                        }
                        _ => {}
                    }
                }
            }
        }
        steps.retain(|(host, _), _| !last_failed.get(host).copied().unwrap_or(false));
        Self { steps, runs }
    }

    /// Reads the journal of the runs to continue: the newest runs of `move-hosts` that were
    /// interrupted or abandoned (a crash), back to the last one that finished.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub async fn load(store: &Store, before: RunId) -> Result<Self, StoreError> {
        let mut chain = Vec::new();
        for run in store.runs(64).await? {
            if run.id >= before || run.kind != RunKind::MoveHosts {
                continue;
            }
            match run.state {
                RunState::Interrupted | RunState::Abandoned | RunState::Active => {
                    chain.push(run.id);
                }
                RunState::Succeeded | RunState::Failed => break,
            }
        }
        chain.reverse();
        let mut entries = Vec::new();
        for run in chain {
            entries.extend(store.journal().entries(run).await?);
        }
        Ok(Self::from_entries(&entries))
    }

    /// What the journal says about `step` of `host` for a move to `to`.
    #[must_use]
    pub fn step(&self, host: &HostName, step: &Step, to: &str) -> PriorStep {
        let Some(prior) = self.steps.get(&(host.clone(), step.to_word())) else {
            return PriorStep::default();
        };
        let same_move = |d: &Option<Details>| d.as_ref().and_then(|d| d.get(TO)) == Some(to);
        PriorStep {
            done: prior.done.clone().filter(|_| same_move(&prior.done)),
            open_intent: prior
                .open_intent
                .clone()
                .filter(|_| same_move(&prior.open_intent)),
            run: prior.run,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::executor::MemoryLedger;
    use crate::executor::ports::Ledger;
    use crate::journal::StepAttempt;

    async fn step_after(outcome: Option<StepOutcome>) -> PriorStep {
        let ledger = MemoryLedger::new();
        let host = HostName::new("h1.example.com").unwrap();
        let at = StepAttempt {
            run: RunId(1),
            subject: Subject::Host(host.clone()),
            step: Step::NetworkBoot,
            attempt: 1,
        };
        let details = Details::new().with(TO, "cloud02");
        ledger
            .intent(&at, details.clone().with("phase", "on"))
            .await
            .unwrap();
        if let Some(o) = outcome {
            ledger.outcome(&at, o, None, details).await.unwrap();
        }
        ledger
            .resume_state()
            .step(&host, &Step::NetworkBoot, "cloud02")
    }

    #[tokio::test]
    async fn a_cancelled_step_keeps_its_intent_open_for_the_next_run() {
        // killed before any outcome, or stopped at the end of the grace period: the power-on
        // may have been sent, so the next run must decide from the journaled phase
        for outcome in [None, Some(StepOutcome::Cancelled)] {
            let prior = step_after(outcome).await;
            assert_eq!(
                prior.open_intent.as_ref().and_then(|d| d.get("phase")),
                Some("on"),
                "{outcome:?}"
            );
            assert!(prior.done.is_none());
        }
        let done = step_after(Some(StepOutcome::Verified)).await;
        assert!(done.open_intent.is_none() && done.done.is_some());
        let failed = step_after(Some(StepOutcome::Failed)).await;
        assert!(failed.open_intent.is_none() && failed.done.is_none());
    }
}
