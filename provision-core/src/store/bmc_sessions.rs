//! The BMC sessions a run holds open (migration 6): the BMC's authority and the session's
//! path, never its token. A row is written when a login returns and removed when the session
//! is deleted, so the rows a run leaves behind are the sessions a crash left open on the BMCs;
//! the next run deletes them before it logs in anywhere.
//!
//! A login writes four times: its pending-login mark ([`redfish_client::is_login_mark`]) in,
//! its session in, the mark out, and at logout the session out. Only the mark's row must be
//! durable before anything acts (the login's POST): it is a grouped call, answered once its
//! transaction committed. The three others are deferred (the writer's `defer`):
//! they keep their order and ride the writer's next commit, without one of their own. A crash
//! that loses them loses them in order, so what the next run finds is still true enough to act
//! on: a session recorded but lost has its mark left (the next run settles the mark by closing
//! our user's sessions nobody holds); a closing lost leaves a row for a session already gone
//! (the next run's DELETE meets a 404, counted as closed).

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
    /// A pending-login mark is committed when this returns; a session is committed with the
    /// writer's next transaction (see the module's doc).
    pub async fn record_bmc_session(&self, bmc: String, session: String) -> Result<(), StoreError> {
        let now = self.now().to_string();
        let durable = redfish_client::is_login_mark(&session);
        let insert = move |c: &rusqlite::Connection| {
            c.prepare_cached(
                "INSERT OR IGNORE INTO bmc_sessions (bmc, session, opened_at) \
                 VALUES (?1, ?2, ?3)",
            )?
            .execute(params![bmc, session, now])?;
            Ok(())
        };
        if durable {
            self.writer().call_grouped(insert).await
        } else {
            self.writer().defer("recording a BMC session", insert).await
        }
    }

    /// Forgets a session that is closed (unknown: nothing changes), with the writer's next
    /// transaction (see the module's doc); a failure then is logged.
    ///
    /// # Errors
    /// [`StoreError::Closed`] when the store is.
    pub async fn forget_bmc_session(&self, bmc: String, session: String) -> Result<(), StoreError> {
        self.writer()
            .defer("forgetting a closed BMC session", move |c| {
                c.prepare_cached("DELETE FROM bmc_sessions WHERE bmc = ?1 AND session = ?2")?
                    .execute(params![bmc, session])?;
                Ok(())
            })
            .await
    }

    /// Every session recorded open, by BMC and path: read by the writer, after the deferred
    /// rows before this call are committed.
    ///
    /// # Errors
    /// SQLite's.
    pub async fn bmc_sessions(&self) -> Result<Vec<BmcSessionRecord>, StoreError> {
        self.writer()
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
