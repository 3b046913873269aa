//! [`MemoryLedger`]: the executor's [`Ledger`] kept in memory, for simulations, tests and library
//! users that run moves without a SQLite store.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use super::ports::Ledger;
use super::resume::ResumeState;
use crate::journal::{Details, JournalRow, StepAttempt};
use crate::model::{CloudName, EntryId, HostName, JournalEntry, Phase, StepOutcome};
use crate::store::{CompletedMove, StoreError};
use crate::time::{Clock, Timestamp};

/// The journal, the hosts' current clouds and the completed moves, in memory.
///
/// Seed the clouds the hosts are in with [`MemoryLedger::with_clouds`]; after a run, read what
/// the executor journaled ([`MemoryLedger::entries`], [`MemoryLedger::resume_state`] for a
/// following run) and recorded ([`MemoryLedger::clouds`], [`MemoryLedger::moves`]). Entries are
/// stamped by the clock given with [`MemoryLedger::with_clock`], else at the Unix epoch. Nothing
/// here fails: every [`Ledger`] operation returns `Ok`. Each journal write counts once, however
/// many rows it holds ([`MemoryLedger::journal_writes`]): what a store would commit.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    clock: Option<Arc<dyn Clock>>,
    records: Mutex<Records>,
}

#[derive(Debug, Default)]
struct Records {
    entries: Vec<JournalEntry>,
    writes: usize,
    clouds: BTreeMap<HostName, CloudName>,
    moves: Vec<CompletedMove>,
}

impl MemoryLedger {
    /// An empty ledger: no host has a recorded cloud, the journal is empty.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A ledger in which each host is in the given cloud.
    #[must_use]
    pub fn with_clouds(clouds: impl IntoIterator<Item = (HostName, CloudName)>) -> Self {
        Self {
            clock: None,
            records: Mutex::new(Records {
                clouds: clouds.into_iter().collect(),
                ..Records::default()
            }),
        }
    }

    /// Stamps journal entries with `clock`'s time.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// A copy of the journal, in the order it was written.
    #[must_use]
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.records().entries.clone()
    }

    /// Runs `f` on the journal without copying it.
    pub fn with_entries<T>(&self, f: impl FnOnce(&[JournalEntry]) -> T) -> T {
        f(&self.records().entries)
    }

    /// How many journal writes were made: one per [`Ledger::intent`], [`Ledger::outcome`] or
    /// [`Ledger::append_all`] call, however many rows it held.
    #[must_use]
    pub fn journal_writes(&self) -> usize {
        self.records().writes
    }

    /// What a following run continues from (as [`ResumeState::from_entries`] on the journal).
    #[must_use]
    pub fn resume_state(&self) -> ResumeState {
        self.with_entries(ResumeState::from_entries)
    }

    /// The cloud each host is recorded in (seeded, then updated by completed moves).
    #[must_use]
    pub fn clouds(&self) -> BTreeMap<HostName, CloudName> {
        self.records().clouds.clone()
    }

    /// The cloud `host` is recorded in.
    #[must_use]
    pub fn cloud_of(&self, host: &HostName) -> Option<CloudName> {
        self.records().clouds.get(host).cloned()
    }

    /// The moves recorded as complete, in the order they were recorded.
    #[must_use]
    pub fn moves(&self) -> Vec<CompletedMove> {
        self.records().moves.clone()
    }

    fn records(&self) -> MutexGuard<'_, Records> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends `rows` as one write.
    fn write(&self, rows: Vec<JournalRow>) {
        let recorded_at = self.clock.as_ref().map_or_else(
            || Timestamp::from_system_time(std::time::UNIX_EPOCH),
            |clock| clock.now(),
        );
        let mut records = self.records();
        records.writes += 1;
        for row in rows {
            let (at, phase, outcome, error, details) = match row {
                JournalRow::Intent { at, details } => (at, Phase::Intent, None, None, details),
                JournalRow::Outcome {
                    at,
                    outcome,
                    error,
                    details,
                } => (at, Phase::Outcome, Some(outcome), error, details),
            };
            let id = EntryId(i64::try_from(records.entries.len()).unwrap_or(i64::MAX - 1) + 1);
            records.entries.push(JournalEntry {
                id,
                run: at.run,
                subject: at.subject,
                step: at.step,
                phase,
                attempt: at.attempt,
                outcome,
                error,
                details,
                recorded_at,
            });
        }
    }
}

#[async_trait]
impl Ledger for MemoryLedger {
    async fn intent(&self, at: &StepAttempt, details: Details) -> Result<(), StoreError> {
        self.write(vec![JournalRow::Intent {
            at: at.clone(),
            details,
        }]);
        Ok(())
    }

    async fn outcome(
        &self,
        at: &StepAttempt,
        outcome: StepOutcome,
        error: Option<String>,
        details: Details,
    ) -> Result<(), StoreError> {
        self.write(vec![JournalRow::Outcome {
            at: at.clone(),
            outcome,
            error,
            details,
        }]);
        Ok(())
    }

    /// All of `rows` in one write.
    async fn append_all(&self, rows: Vec<JournalRow>) -> Result<(), StoreError> {
        self.write(rows);
        Ok(())
    }

    async fn current_cloud(&self, host: &HostName) -> Result<Option<CloudName>, StoreError> {
        Ok(self.cloud_of(host))
    }

    async fn complete_move(&self, done: CompletedMove) -> Result<(), StoreError> {
        let mut records = self.records();
        records.clouds.insert(done.host.clone(), done.to.clone());
        records.moves.push(done);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::model::{RunId, Step};
    use crate::time::TokioClock;

    fn host(name: &str) -> HostName {
        HostName::new(name).unwrap()
    }

    fn cloud(name: &str) -> CloudName {
        CloudName::new(name).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn seeded_clouds_follow_completed_moves_and_the_journal_keeps_order() {
        let start: Timestamp = "2025-01-01".parse().unwrap();
        let ledger = MemoryLedger::with_clouds([
            (host("a.example"), cloud("cloud01")),
            (host("b.example"), cloud("cloud01")),
        ])
        .with_clock(Arc::new(TokioClock::starting_at(start)));
        assert_eq!(
            ledger.current_cloud(&host("a.example")).await.unwrap(),
            Some(cloud("cloud01"))
        );
        assert_eq!(
            ledger.current_cloud(&host("c.example")).await.unwrap(),
            None
        );

        let at = StepAttempt {
            run: RunId(7),
            subject: host("a.example").into(),
            step: Step::NetworkBoot,
            attempt: 1,
        };
        ledger.intent(&at, Details::new()).await.unwrap();
        tokio::time::advance(std::time::Duration::from_secs(30)).await;
        ledger
            .outcome(
                &at,
                StepOutcome::Verified,
                None,
                Details::new().with("k", "v"),
            )
            .await
            .unwrap();
        ledger
            .complete_move(CompletedMove {
                host: host("a.example"),
                to: cloud("cloud02"),
                schedule: None,
                build_start: None,
                build_end: None,
            })
            .await
            .unwrap();

        let entries = ledger.entries();
        assert_eq!(entries.len(), 2);
        assert_eq!((entries[0].id, entries[1].id), (EntryId(1), EntryId(2)));
        assert_eq!(entries[0].phase, Phase::Intent);
        assert_eq!(entries[1].outcome, Some(StepOutcome::Verified));
        assert_eq!(entries[1].details.get("k"), Some("v"));
        assert_eq!(entries[0].recorded_at, start);
        assert_eq!(
            entries[1].recorded_at,
            start.saturating_add(std::time::Duration::from_secs(30))
        );
        assert_eq!(ledger.cloud_of(&host("a.example")), Some(cloud("cloud02")));
        assert_eq!(ledger.cloud_of(&host("b.example")), Some(cloud("cloud01")));
        assert_eq!(ledger.clouds().len(), 2);
        assert_eq!(ledger.moves().len(), 1);
    }
}
