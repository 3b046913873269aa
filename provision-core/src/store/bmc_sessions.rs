//! The BMC sessions a run holds open (migration 6): the BMC's authority and the session's
//! path, never its token. A row is written when a login returns and removed when the session
//! is deleted, so the rows a run leaves behind are the sessions a crash left open on the BMCs;
//! the next run deletes them before it logs in anywhere.
//!
//! A run writes two rows per login (one in, one out), so these share the journal's group commit
//! and its cached statements: each is answered once the transaction holding it committed, as a
//! transaction of its own was.

use rusqlite::params;

use super::{Store, StoreError};

/// One session a run opened and has not seen closed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BmcSessionRecord {
    /// The BMC's authority (`host:port`).
    pub bmc: String,
    /// The session's path on it.
    pub session: String,
}

impl Store {
    /// Records a session opened on `bmc` (again: nothing changes).
    ///
    /// # Errors
    /// SQLite's.
    pub async fn record_bmc_session(&self, bmc: String, session: String) -> Result<(), StoreError> {
        let now = self.now().to_string();
        self.writer()
            .call_grouped(move |c| {
                c.prepare_cached(
                    "INSERT OR IGNORE INTO bmc_sessions (bmc, session, opened_at) \
                     VALUES (?1, ?2, ?3)",
                )?
                .execute(params![bmc, session, now])?;
                Ok(())
            })
            .await
    }

    /// Forgets a session that is closed (unknown: nothing changes).
    ///
    /// # Errors
    /// SQLite's.
    pub async fn forget_bmc_session(&self, bmc: String, session: String) -> Result<(), StoreError> {
        self.writer()
            .call_grouped(move |c| {
                c.prepare_cached("DELETE FROM bmc_sessions WHERE bmc = ?1 AND session = ?2")?
                    .execute(params![bmc, session])?;
                Ok(())
            })
            .await
    }

    /// Every session recorded open, by BMC and path.
    ///
    /// # Errors
    /// SQLite's.
    pub async fn bmc_sessions(&self) -> Result<Vec<BmcSessionRecord>, StoreError> {
        self.reader()
            .call(|c| {
                let mut stmt =
                    c.prepare("SELECT bmc, session FROM bmc_sessions ORDER BY bmc, session")?;
                let rows = stmt.query_map([], |r| {
                    Ok(BmcSessionRecord {
                        bmc: r.get(0)?,
                        session: r.get(1)?,
                    })
                })?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await
    }
}
