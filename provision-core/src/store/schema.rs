//! The store's schema as numbered migrations, applied in order inside transactions and recorded
//! in SQLite's `PRAGMA user_version` (0 = empty file).

use rusqlite::Connection;

use super::StoreError;

/// One step of the schema's history. Never edit a released migration: add the next one.
struct Migration {
    version: u32,
    name: &'static str,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "inventory: clouds, hosts, assignments, schedules",
        sql: r"
CREATE TABLE clouds (
    name        TEXT PRIMARY KEY NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'provisioned')),
    created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE hosts (
    name          TEXT PRIMARY KEY NOT NULL,
    bmc_address   TEXT NOT NULL,
    model         TEXT,
    host_type     TEXT,
    default_cloud TEXT NOT NULL REFERENCES clouds (name),
    current_cloud TEXT NOT NULL REFERENCES clouds (name),
    state         TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'broken', 'retired')),
    created_at    TEXT NOT NULL
) STRICT;

CREATE TABLE assignments (
    id              INTEGER PRIMARY KEY,
    cloud           TEXT NOT NULL REFERENCES clouds (name),
    ticket          TEXT NOT NULL,
    owner           TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    wipe            TEXT NOT NULL CHECK (wipe IN ('yes', 'no')),
    os              TEXT,
    partition_table TEXT,
    medium          TEXT,
    boot_type       TEXT NOT NULL CHECK (boot_type IN ('uefi', 'bios')),
    created_at      TEXT NOT NULL,
    UNIQUE (cloud, ticket)
) STRICT;

CREATE TABLE schedules (
    id          INTEGER PRIMARY KEY,
    host        TEXT NOT NULL REFERENCES hosts (name),
    assignment  INTEGER NOT NULL REFERENCES assignments (id),
    starts_at   TEXT NOT NULL,
    ends_at     TEXT NOT NULL,
    build_start TEXT,
    build_end   TEXT,
    created_at  TEXT NOT NULL
) STRICT;

CREATE INDEX schedules_by_host ON schedules (host);
",
    },
    Migration {
        version: 2,
        name: "runs and the run journal",
        sql: r"
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    state       TEXT NOT NULL
                CHECK (state IN ('active', 'succeeded', 'failed', 'interrupted', 'abandoned')),
    pid         INTEGER NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    target_time TEXT NOT NULL
) STRICT;

-- at most one active run, whatever the OS lock says
CREATE UNIQUE INDEX runs_one_active ON runs (state) WHERE state = 'active';

CREATE TABLE journal (
    id          INTEGER PRIMARY KEY,
    run         INTEGER NOT NULL REFERENCES runs (id),
    host        TEXT,
    cloud       TEXT,
    step        TEXT NOT NULL,
    phase       TEXT NOT NULL CHECK (phase IN ('intent', 'outcome')),
    attempt     INTEGER NOT NULL CHECK (attempt >= 1),
    outcome     TEXT CHECK (outcome IN ('verified', 'already-done', 'failed', 'cancelled')),
    error       TEXT,
    details     TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    CHECK ((host IS NULL) <> (cloud IS NULL)),
    CHECK ((phase = 'intent') = (outcome IS NULL))
) STRICT;

CREATE INDEX journal_by_step ON journal (run, step, host, cloud);
",
    },
    Migration {
        version: 3,
        name: "host interfaces and switch ports; assignment qinq and public VLAN",
        sql: r"
CREATE TABLE interfaces (
    host        TEXT NOT NULL REFERENCES hosts (name),
    name        TEXT NOT NULL,
    bios_id     TEXT,
    mac_address TEXT,
    switch_ip   TEXT NOT NULL,
    switch_port TEXT NOT NULL,
    speed       INTEGER CHECK (speed >= 0),
    vendor      TEXT,
    pxe_boot    INTEGER NOT NULL DEFAULT 0 CHECK (pxe_boot IN (0, 1)),
    maintenance INTEGER NOT NULL DEFAULT 0 CHECK (maintenance IN (0, 1)),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (host, name)
) STRICT;

-- one NIC per switch port
CREATE UNIQUE INDEX interfaces_by_port ON interfaces (switch_ip, switch_port);

ALTER TABLE assignments ADD COLUMN qinq INTEGER NOT NULL DEFAULT 0 CHECK (qinq IN (0, 1));
ALTER TABLE assignments ADD COLUMN public_vlan INTEGER CHECK (public_vlan BETWEEN 1 AND 4094);
",
    },
    Migration {
        version: 4,
        name: "assignments validated (every host passed the tenant's checks)",
        sql: r"
ALTER TABLE assignments ADD COLUMN validated INTEGER NOT NULL DEFAULT 0 CHECK (validated IN (0, 1));
",
    },
    Migration {
        version: 5,
        name: "notifications: each event once per channel",
        sql: r"
CREATE TABLE notifications (
    event       TEXT NOT NULL,
    channel     TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    payload     TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent')),
    attempts    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error  TEXT,
    created_at  TEXT NOT NULL,
    sent_at     TEXT,
    PRIMARY KEY (event, channel),
    CHECK ((state = 'sent') = (sent_at IS NOT NULL))
) STRICT;
",
    },
    Migration {
        version: 6,
        name: "bmc_sessions: every BMC session a run holds open (its path, never its token)",
        sql: r"
CREATE TABLE bmc_sessions (
    bmc         TEXT NOT NULL,
    session     TEXT NOT NULL,
    opened_at   TEXT NOT NULL,
    PRIMARY KEY (bmc, session)
) STRICT;
",
    },
    Migration {
        version: 7,
        name: "journal indexed by run alone (every row is appended at the index's end)",
        sql: r"
-- a run's rows are read by run, in id order (resume, `quads journal`): (run, id) serves that
-- without a sort, and each append writes its entry at the end of the index instead of amid a
-- run's (step, host, cloud) keys, 40 bytes narrower
DROP INDEX journal_by_step;
CREATE INDEX journal_by_run ON journal (run);
",
    },
];

/// The schema version this build writes.
pub const LATEST_VERSION: u32 = 7;

/// The database's schema version (`PRAGMA user_version`).
pub(crate) fn version(conn: &Connection) -> Result<u32, StoreError> {
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("schema version {v}")))
}

/// Brings the schema up to `target`, one transaction per migration.
pub(crate) fn migrate_to(conn: &mut Connection, target: u32) -> Result<u32, StoreError> {
    let found = version(conn)?;
    if found > LATEST_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: LATEST_VERSION,
        });
    }
    for m in MIGRATIONS
        .iter()
        .filter(|m| m.version > found && m.version <= target)
    {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Another process may have migrated while we waited for the write lock.
        if version(&tx)? >= m.version {
            continue;
        }
        tx.execute_batch(m.sql)?;
        tx.pragma_update(None, "user_version", m.version)?;
        tx.commit()?;
        tracing::info!(version = m.version, name = m.name, "store schema migrated");
    }
    version(conn)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn versions_are_consecutive_and_latest_is_last() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1);
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(LATEST_VERSION));
    }

    #[test]
    fn migrates_an_empty_database_step_by_step() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(version(&conn).unwrap(), 0);
        assert_eq!(migrate_to(&mut conn, 1).unwrap(), 1);
        let tables = |conn: &Connection| -> Vec<String> {
            let mut st = conn
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                .unwrap();
            st.query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        assert_eq!(
            tables(&conn),
            ["assignments", "clouds", "hosts", "schedules"]
        );
        assert_eq!(migrate_to(&mut conn, 2).unwrap(), 2);
        assert!(tables(&conn).contains(&"journal".to_owned()));
        assert_eq!(migrate_to(&mut conn, 3).unwrap(), 3);
        assert!(tables(&conn).contains(&"interfaces".to_owned()));
        assert_eq!(migrate_to(&mut conn, 4).unwrap(), 4);
        let validated: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM assignments WHERE validated = 0",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(validated, 0);
        assert_eq!(migrate_to(&mut conn, 5).unwrap(), 5);
        assert!(tables(&conn).contains(&"notifications".to_owned()));
        assert_eq!(migrate_to(&mut conn, 6).unwrap(), 6);
        assert!(tables(&conn).contains(&"bmc_sessions".to_owned()));
        assert_eq!(migrate_to(&mut conn, LATEST_VERSION).unwrap(), 7);
        let journal_indexes: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'journal'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(journal_indexes, ["journal_by_run"]);
        // idempotent
        assert_eq!(migrate_to(&mut conn, LATEST_VERSION).unwrap(), 7);
    }

    #[test]
    fn a_runs_journal_is_read_through_its_index_in_id_order_without_a_sort() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, LATEST_VERSION).unwrap();
        let plan = |sql: &str| -> String {
            let mut st = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            st.query_map([1], |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
                .join("; ")
        };
        // `journal::entries` and `journal::last_done`'s shapes
        for sql in [
            "SELECT * FROM journal WHERE run = ?1 ORDER BY id",
            "SELECT * FROM journal WHERE run = ?1 AND step = 'boot-order' \
             AND phase = 'outcome' ORDER BY id DESC LIMIT 1",
        ] {
            let plan = plan(sql);
            assert!(
                plan.contains("INDEX journal_by_run (run=?)"),
                "{sql}: {plan}"
            );
            assert!(!plan.contains("TEMP B-TREE"), "{sql}: {plan}");
        }
    }

    #[test]
    fn refuses_a_newer_schema() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        let err = migrate_to(&mut conn, LATEST_VERSION).unwrap_err();
        assert!(
            matches!(err, StoreError::SchemaTooNew { found: 99, .. }),
            "{err}"
        );
    }
}
