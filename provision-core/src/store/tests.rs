//! Tests of the store against real SQLite files in temporary directories: records, overlaps,
//! migrations from older schemas, the run lock, the journal (and its group commit) and all-or-nothing
//! imports.
#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rusqlite::Connection;

use super::worker::testing;
use super::*;
use crate::journal::{Details, JournalRow, StepAttempt};
use crate::model::{
    BootType, HostState, InterfaceName, MacAddress, Phase, QinQ, Step, StepOutcome, Subject,
    VlanId, Wipe,
};
use crate::time::{SystemClock, TokioClock};

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}
fn c(s: &str) -> CloudName {
    CloudName::new(s).unwrap()
}
fn h(s: &str) -> HostName {
    HostName::new(s).unwrap()
}

async fn open_at(path: &Path, mode: OpenMode) -> Result<Store, StoreError> {
    Store::open(StoreOptions {
        path: path.to_owned(),
        mode,
        clock: Arc::new(SystemClock),
    })
    .await
}

async fn fresh() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = open_at(&dir.path().join("sub/quads.db"), OpenMode::CreateIfMissing)
        .await
        .unwrap();
    (dir, store)
}

fn cloud(name: &str) -> Cloud {
    Cloud {
        name: c(name),
        description: format!("{name} description"),
        status: CloudStatus::Pending,
    }
}

fn host(name: &str, cloud: &str) -> Host {
    Host {
        name: h(name),
        bmc_address: format!("mgmt-{name}"),
        model: Some("r640".into()),
        host_type: None,
        default_cloud: c(cloud),
        current_cloud: c(cloud),
        state: HostState::Active,
    }
}

fn spec(cloud: &str, ticket: &str) -> AssignmentSpec {
    AssignmentSpec {
        cloud: c(cloud),
        ticket: ticket.into(),
        owner: "alice".into(),
        description: String::new(),
        wipe: Wipe::Yes,
        os: Some("RHEL 9.4".into()),
        partition_table: None,
        medium: None,
        boot_type: BootType::Uefi,
        qinq: crate::model::QinQ::Separated,
        public_vlan: None,
    }
}

fn range(a: &str, b: &str) -> TimeRange {
    TimeRange::new(t(a), t(b)).unwrap()
}

/// cloud01, cloud02, host a and b in cloud01, one assignment of cloud02.
async fn lab() -> (tempfile::TempDir, Store, Assignment) {
    let (dir, store) = fresh().await;
    store.add_cloud(cloud("cloud01")).await.unwrap();
    store.add_cloud(cloud("cloud02")).await.unwrap();
    store.add_host(host("a", "cloud01")).await.unwrap();
    store.add_host(host("b", "cloud01")).await.unwrap();
    let a = store.add_assignment(spec("cloud02", "T1")).await.unwrap();
    (dir, store, a)
}

#[tokio::test]
async fn creates_a_wal_database_at_the_latest_schema() {
    let (dir, store) = fresh().await;
    assert_eq!(store.schema_version().await.unwrap(), LATEST_VERSION);
    let path = dir.path().join("sub/quads.db");
    assert_eq!(store.path(), path);
    assert_eq!(store.lock_path(), dir.path().join("sub/quads.db.lock"));
    store.close().await;
    // readable by anyone with sqlite3, in WAL mode
    let conn = Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn must_exist_refuses_a_missing_file_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.db");
    let err = open_at(&path, OpenMode::MustExist).await.unwrap_err();
    assert!(matches!(err, StoreError::Missing { .. }), "{err}");
    assert!(err.to_string().contains("quads init"), "{err}");
    assert!(!path.exists());
}

#[tokio::test]
async fn records_round_trip() {
    let (_dir, store, a) = lab().await;
    let mut broken = host("c", "cloud02");
    broken.state = HostState::Broken;
    broken.host_type = Some("scalelab".into());
    store.add_host(broken.clone()).await.unwrap();
    let hosts = store.hosts().await.unwrap();
    assert_eq!(hosts.len(), 3);
    assert_eq!(hosts[2], broken);
    assert_eq!(store.host(h("c")).await.unwrap(), Some(broken));
    assert_eq!(store.host(h("zz")).await.unwrap(), None);
    assert_eq!(store.clouds().await.unwrap()[1], cloud("cloud02"));
    assert_eq!(store.assignments().await.unwrap(), vec![a.clone()]);
    let s = store
        .add_schedule(NewSchedule {
            host: h("a"),
            assignment: a.id,
            range: range("2025-01-01 22:00", "2025-01-15 22:00"),
        })
        .await
        .unwrap();
    assert_eq!(store.schedules(None).await.unwrap(), vec![s.clone()]);
    assert_eq!(store.schedules(Some(h("b"))).await.unwrap(), vec![]);
    let snap = store.snapshot().await.unwrap();
    assert_eq!((snap.hosts.len(), snap.clouds.len()), (3, 2));
    assert_eq!(snap.schedules, vec![s.clone()]);
    assert_eq!(store.remove_schedule(s.id).await.unwrap(), s);
    let err = store.remove_schedule(s.id).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
}

#[tokio::test]
async fn refuses_duplicates_and_dangling_references() {
    let (_dir, store, a) = lab().await;
    let err = store.add_cloud(cloud("cloud01")).await.unwrap_err();
    assert_eq!(err.to_string(), "cloud cloud01 already exists");
    let err = store.add_host(host("a", "cloud01")).await.unwrap_err();
    assert_eq!(err.to_string(), "host a already exists");
    let err = store.add_host(host("x", "cloud09")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "cloud cloud09 (default cloud of host x) does not exist"
    );
    assert!(err.is_refusal());
    let err = store
        .add_assignment(spec("cloud02", "T1"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err}");
    let err = store
        .add_assignment(spec("cloud09", "T1"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    let err = store
        .add_schedule(NewSchedule {
            host: h("x"),
            assignment: a.id,
            range: range("2025-01-01", "2025-01-02"),
        })
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "host x does not exist");
    let err = store
        .add_schedule(NewSchedule {
            host: h("a"),
            assignment: AssignmentId(42),
            range: range("2025-01-01", "2025-01-02"),
        })
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "assignment 42 does not exist");
    assert_eq!(store.hosts().await.unwrap().len(), 2);
    assert!(store.schedules(None).await.unwrap().is_empty());
}

#[tokio::test]
async fn refuses_an_overlapping_schedule_naming_host_and_both_ranges() {
    let (_dir, store, a) = lab().await;
    let add = |host: &str, r: TimeRange| {
        store.add_schedule(NewSchedule {
            host: h(host),
            assignment: a.id,
            range: r,
        })
    };
    let first = add("a", range("2025-01-01", "2025-01-10")).await.unwrap();
    let err = add("a", range("2025-01-09", "2025-01-20"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "schedule for host a (2025-01-09T00:00:00Z .. 2025-01-20T00:00:00Z) overlaps its \
             schedule {} (2025-01-01T00:00:00Z .. 2025-01-10T00:00:00Z)",
            first.id
        )
    );
    assert!(err.is_refusal());
    // enclosing, enclosed, identical
    for (s, e) in [
        ("2024-12-01", "2025-02-01"),
        ("2025-01-02", "2025-01-03"),
        ("2025-01-01", "2025-01-10"),
    ] {
        assert!(matches!(
            add("a", range(s, e)).await,
            Err(StoreError::Overlap { .. })
        ));
    }
    // nothing else disturbed
    assert_eq!(store.schedules(None).await.unwrap(), vec![first.clone()]);
    // touching ranges and other hosts are fine
    add("a", range("2025-01-10", "2025-01-20")).await.unwrap();
    add("a", range("2024-12-20", "2025-01-01")).await.unwrap();
    add("b", range("2025-01-01", "2025-01-10")).await.unwrap();
    assert_eq!(store.schedules(None).await.unwrap().len(), 4);
}

#[tokio::test]
async fn concurrent_writes_are_serialized_by_the_writer() {
    let (_dir, store) = fresh().await;
    store.add_cloud(cloud("cloud01")).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let store = store.clone();
        tasks.spawn(async move { store.add_host(host(&format!("h{i:02}"), "cloud01")).await });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().unwrap();
    }
    assert_eq!(store.hosts().await.unwrap().len(), 50);
}

#[tokio::test]
async fn completing_a_move_records_cloud_and_build_times() {
    let (_dir, store, a) = lab().await;
    let s = store
        .add_schedule(NewSchedule {
            host: h("a"),
            assignment: a.id,
            range: range("2025-01-01", "2025-01-10"),
        })
        .await
        .unwrap();
    store
        .complete_move(CompletedMove {
            host: h("a"),
            to: c("cloud02"),
            schedule: Some(s.id),
            build_start: Some(t("2025-01-01T00:01:00Z")),
            build_end: Some(t("2025-01-01T00:20:00Z")),
        })
        .await
        .unwrap();
    let moved = store.host(h("a")).await.unwrap().unwrap();
    assert_eq!(moved.current_cloud, c("cloud02"));
    assert_eq!(moved.default_cloud, c("cloud01"));
    let s = &store.schedules(Some(h("a"))).await.unwrap()[0];
    assert_eq!(s.build_end, Some(t("2025-01-01T00:20:00Z")));
    store
        .set_cloud_status(c("cloud02"), CloudStatus::Provisioned)
        .await
        .unwrap();
    assert_eq!(
        store.clouds().await.unwrap()[1].status,
        CloudStatus::Provisioned
    );
    // a move into a cloud that does not exist changes nothing
    let err = store
        .complete_move(CompletedMove {
            host: h("b"),
            to: c("cloud09"),
            schedule: None,
            build_start: None,
            build_end: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    assert_eq!(
        store.host(h("b")).await.unwrap().unwrap().current_cloud,
        c("cloud01")
    );
}

#[tokio::test]
async fn upgrades_a_version_1_database_keeping_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let mut conn = Connection::open(&path).unwrap();
        assert_eq!(schema::migrate_to(&mut conn, 1).unwrap(), 1);
        conn.execute_batch(
            "INSERT INTO clouds (name, description, status, created_at)
                 VALUES ('cloud01', 'spare', 'pending', '2024-01-01T00:00:00Z');
             INSERT INTO hosts (name, bmc_address, model, host_type, default_cloud,
                 current_cloud, state, created_at)
                 VALUES ('old-host', 'mgmt-old-host', NULL, NULL, 'cloud01', 'cloud01',
                 'active', '2024-01-01T00:00:00Z');",
        )
        .unwrap();
    }
    let store = open_at(&path, OpenMode::MustExist).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), LATEST_VERSION);
    assert_eq!(store.hosts().await.unwrap()[0].name, h("old-host"));
    // the tables of version 2 work
    let lock = store
        .begin_run(RunKind::MoveHosts, t("2025-01-01"))
        .await
        .unwrap();
    store.finish_run(lock, RunState::Succeeded).await.unwrap();
    assert_eq!(store.runs(10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn upgrades_a_version_2_database_keeping_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    {
        let mut conn = Connection::open(&path).unwrap();
        assert_eq!(schema::migrate_to(&mut conn, 2).unwrap(), 2);
        conn.execute_batch(
            "INSERT INTO clouds (name, description, status, created_at)
                 VALUES ('cloud01', 'spare', 'pending', '2024-01-01T00:00:00Z'),
                        ('cloud02', '', 'provisioned', '2024-01-01T00:00:00Z');
             INSERT INTO hosts (name, bmc_address, model, host_type, default_cloud,
                 current_cloud, state, created_at)
                 VALUES ('old-host', 'mgmt-old-host', NULL, NULL, 'cloud01', 'cloud02',
                 'active', '2024-01-01T00:00:00Z');
             INSERT INTO assignments (cloud, ticket, owner, description, wipe, os,
                 partition_table, medium, boot_type, created_at)
                 VALUES ('cloud02', 'T7', 'alice', '', 'yes', 'RHEL', NULL, NULL, 'uefi',
                 '2024-01-01T00:00:00Z');
             INSERT INTO runs (kind, state, pid, started_at, finished_at, target_time)
                 VALUES ('move-hosts', 'succeeded', 1, '2024-01-02T00:00:00Z',
                 '2024-01-02T01:00:00Z', '2024-01-02T00:00:00Z');",
        )
        .unwrap();
    }
    let store = open_at(&path, OpenMode::MustExist).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), LATEST_VERSION);
    let snap = store.snapshot().await.unwrap();
    assert_eq!(snap.hosts[0].current_cloud, c("cloud02"));
    let a = &snap.assignments[0].spec;
    assert_eq!((a.ticket.as_str(), a.owner.as_str()), ("T7", "alice"));
    // old assignments: NICs separated, no public VLAN (QUADS's defaults)
    assert_eq!((a.qinq, a.public_vlan), (QinQ::Separated, None));
    assert!(snap.interfaces.is_empty());
    assert_eq!(store.runs(10).await.unwrap().len(), 1);
    // an old assignment is not validated; the flag goes on and off
    let id = snap.assignments[0].id;
    assert!(store.validated_assignments().await.unwrap().is_empty());
    store.set_assignment_validated(id, true).await.unwrap();
    assert!(store.validated_assignments().await.unwrap().contains(&id));
    store.set_assignment_validated(id, false).await.unwrap();
    assert!(store.validated_assignments().await.unwrap().is_empty());
    // the new table and columns work
    store
        .add_interface(nic("old-host", "em1", "sw1", "p1"))
        .await
        .unwrap();
    let mut public = spec("cloud02", "T8");
    public.qinq = QinQ::Combined;
    public.public_vlan = Some(VlanId::new(1401).unwrap());
    store.add_assignment(public.clone()).await.unwrap();
    let snap = store.snapshot().await.unwrap();
    assert_eq!(snap.assignments[1].spec, public);
    assert_eq!(snap.interfaces.len(), 1);
}

fn nic(host: &str, name: &str, switch: &str, port: &str) -> Interface {
    Interface {
        host: h(host),
        name: InterfaceName::new(name).unwrap(),
        bios_id: Some("NIC.Integrated.1-1-1".into()),
        mac_address: Some(MacAddress::new("52:54:00:00:00:01").unwrap()),
        switch_ip: switch.into(),
        switch_port: port.into(),
        speed: Some(25),
        vendor: Some("Intel".into()),
        pxe_boot: true,
        maintenance: false,
    }
}

#[tokio::test]
async fn interfaces_round_trip_and_refuse_what_cannot_be_cabled() {
    let (_dir, store, _) = lab().await;
    store
        .add_interface(nic("a", "em2", "sw1", "p2"))
        .await
        .unwrap();
    let mut em1 = nic("a", "em1", "sw1", "p1");
    em1.mac_address = None;
    em1.speed = None;
    em1.maintenance = true;
    store.add_interface(em1.clone()).await.unwrap();
    store
        .add_interface(nic("b", "em1", "sw2", "p1"))
        .await
        .unwrap();
    let of_a = store.interfaces(Some(h("a"))).await.unwrap();
    assert_eq!(of_a[0], em1);
    assert_eq!(of_a[1], nic("a", "em2", "sw1", "p2"));
    assert_eq!(store.interfaces(None).await.unwrap().len(), 3);

    let err = store
        .add_interface(nic("a", "em1", "sw9", "p9"))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "interface em1 of host a already exists");
    let err = store
        .add_interface(nic("b", "em2", "sw1", "p2"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "interface em2 of host b: switch sw1 port p2 is already cabled to interface em2 of host a"
    );
    assert!(err.is_refusal());
    let err = store
        .add_interface(nic("zz", "em1", "sw9", "p9"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
}

#[tokio::test]
async fn imports_interfaces_all_or_nothing() {
    let (_dir, store) = fresh().await;
    let with_nics = INVENTORY.replace(
        "  - name: a\n    default_cloud: cloud01\n",
        "  - name: a\n    default_cloud: cloud01\n    interfaces:\n      - name: em1\n        switch_ip: sw1\n        switch_port: p1\n      - name: em2\n        switch_ip: sw1\n        switch_port: p1\n",
    );
    let err = store
        .import(crate::inventory::parse(&with_nics).unwrap())
        .await
        .unwrap_err();
    assert!(
        err.to_string().starts_with(
            "inventory line 12: interface em2 of host a: switch sw1 port p1 is already cabled"
        ),
        "{err}"
    );
    let snap = store.snapshot().await.unwrap();
    assert!(snap.hosts.is_empty() && snap.interfaces.is_empty());
    let fixed = with_nics.replace(
        "name: em2\n        switch_ip: sw1\n        switch_port: p1",
        "name: em2\n        switch_ip: sw1\n        switch_port: p2",
    );
    let summary = store
        .import(crate::inventory::parse(&fixed).unwrap())
        .await
        .unwrap();
    assert_eq!(summary.interfaces, 2);
    assert_eq!(store.interfaces(Some(h("a"))).await.unwrap().len(), 2);
}

#[tokio::test]
async fn refuses_a_database_from_a_newer_quads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", LATEST_VERSION + 1)
        .unwrap();
    let err = open_at(&path, OpenMode::MustExist).await.unwrap_err();
    assert!(matches!(err, StoreError::SchemaTooNew { .. }), "{err}");
}

#[tokio::test]
async fn a_second_run_is_refused_at_once_naming_the_active_one() {
    let (dir, store) = fresh().await;
    let path = dir.path().join("sub/quads.db");
    // a second handle on the same file stands for a second process
    let other = open_at(&path, OpenMode::MustExist).await.unwrap();
    let lock = store
        .begin_run(RunKind::MoveHosts, t("2025-01-01"))
        .await
        .unwrap();
    let active = lock.record().clone();
    assert_eq!(active.state, RunState::Active);
    assert_eq!(active.pid, std::process::id());

    let err = other
        .begin_run(RunKind::MoveHosts, t("2025-01-01"))
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(err.is_refusal());
    assert!(
        message.starts_with(&format!(
            "another run is active: run {} (pid {}, started {})",
            active.id, active.pid, active.started_at
        )),
        "{message}"
    );
    assert_eq!(other.runs(10).await.unwrap().len(), 1);

    let done = store.finish_run(lock, RunState::Failed).await.unwrap();
    assert_eq!(done.state, RunState::Failed);
    assert!(done.finished_at.is_some());
    // the lock is free again
    let next = other
        .begin_run(RunKind::MoveHosts, t("2025-01-02"))
        .await
        .unwrap();
    assert_eq!(next.id().0, active.id.0 + 1);
    let runs = other.runs(10).await.unwrap();
    assert_eq!(
        runs.iter().map(|r| r.state).collect::<Vec<_>>(),
        [RunState::Active, RunState::Failed]
    );
}

#[tokio::test]
async fn a_run_whose_process_died_does_not_block_the_next() {
    let (_dir, store) = fresh().await;
    // process death: the OS closes the lock file, the row stays active
    let lock = store
        .begin_run(RunKind::MoveHosts, t("2025-01-01"))
        .await
        .unwrap();
    let dead = lock.id();
    drop(lock);
    assert_eq!(
        store.run(dead).await.unwrap().unwrap().state,
        RunState::Active
    );

    let next = store
        .begin_run(RunKind::MoveHosts, t("2025-01-01"))
        .await
        .unwrap();
    let old = store.run(dead).await.unwrap().unwrap();
    assert_eq!(old.state, RunState::Abandoned);
    assert!(old.finished_at.is_some());
    assert_eq!(
        store.run(next.id()).await.unwrap().unwrap().state,
        RunState::Active
    );
    let err = store.finish_run(next, RunState::Active).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
}

#[tokio::test(start_paused = true)]
async fn journal_records_intent_and_outcome_and_finds_the_last_done() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreOptions {
        path: dir.path().join("quads.db"),
        mode: OpenMode::CreateIfMissing,
        clock: Arc::new(TokioClock::starting_at(t("2025-03-01T12:00:00Z"))),
    })
    .await
    .unwrap();
    let run = store
        .begin_run(RunKind::MoveHosts, t("2025-03-01"))
        .await
        .unwrap();
    assert_eq!(run.record().started_at, t("2025-03-01T12:00:00Z"));
    let journal = store.journal();
    let at = |step: Step, attempt| StepAttempt {
        run: run.id(),
        subject: Subject::Host(h("a")),
        step,
        attempt,
    };

    assert_eq!(
        journal
            .last_done(run.id(), Subject::Host(h("a")), Step::BootOrder)
            .await
            .unwrap(),
        None
    );
    journal
        .intent(
            &at(Step::BootOrder, 1),
            Details::new().with("order", "nic1"),
        )
        .await
        .unwrap();
    tokio::time::advance(Duration::from_secs(2)).await;
    journal
        .outcome(
            &at(Step::BootOrder, 1),
            StepOutcome::Failed,
            Some("job queue stuck".into()),
            Details::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        journal
            .last_done(run.id(), Subject::Host(h("a")), Step::BootOrder)
            .await
            .unwrap(),
        None,
        "a failed outcome is not done"
    );
    journal
        .intent(&at(Step::BootOrder, 2), Details::new())
        .await
        .unwrap();
    tokio::time::advance(Duration::from_millis(1500)).await;
    let done_id = journal
        .outcome(
            &at(Step::BootOrder, 2),
            StepOutcome::Verified,
            None,
            Details::new().with("job", "JID_1"),
        )
        .await
        .unwrap();
    // a cloud-level step of the same name does not count for the host
    journal
        .outcome(
            &StepAttempt {
                run: run.id(),
                subject: Subject::Cloud(c("cloud02")),
                step: Step::CloudUser,
                attempt: 1,
            },
            StepOutcome::AlreadyDone,
            None,
            Details::new(),
        )
        .await
        .unwrap();

    let done = journal
        .last_done(run.id(), Subject::Host(h("a")), Step::BootOrder)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.id, done_id);
    assert_eq!(done.attempt, 2);
    assert_eq!(done.outcome, Some(StepOutcome::Verified));
    assert_eq!(done.details.get("job"), Some("JID_1"));
    assert_eq!(done.recorded_at, t("2025-03-01T12:00:03.500Z"));
    assert!(
        journal
            .last_done(run.id(), Subject::Host(h("b")), Step::BootOrder)
            .await
            .unwrap()
            .is_none()
    );

    let entries = journal.entries(run.id()).await.unwrap();
    let shape: Vec<_> = entries
        .iter()
        .map(|e| (e.phase, e.attempt, e.outcome, e.error.as_deref()))
        .collect();
    assert_eq!(
        shape,
        [
            (Phase::Intent, 1, None, None),
            (
                Phase::Outcome,
                1,
                Some(StepOutcome::Failed),
                Some("job queue stuck")
            ),
            (Phase::Intent, 2, None, None),
            (Phase::Outcome, 2, Some(StepOutcome::Verified), None),
            (Phase::Outcome, 1, Some(StepOutcome::AlreadyDone), None),
        ]
    );
    assert_eq!(entries[0].details.get("order"), Some("nic1"));
    assert_eq!(entries[4].subject, Subject::Cloud(c("cloud02")));

    let err = journal
        .intent(&at(Step::Record, 0), Details::new())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    let err = journal
        .intent(
            &StepAttempt {
                run: RunId(999),
                subject: Subject::Host(h("a")),
                step: Step::Record,
                attempt: 1,
            },
            Details::new(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Sqlite(_)), "unknown run: {err}");
}

fn power_step(run: RunId, host: usize, attempt: u32) -> StepAttempt {
    StepAttempt {
        run,
        subject: Subject::Host(h(&format!("h{host:03}"))),
        step: Step::NetworkBoot,
        attempt,
    }
}

#[tokio::test]
async fn an_outcome_and_the_next_intent_commit_together_or_not_at_all() {
    let (_dir, store) = fresh().await;
    let run = store
        .begin_run(RunKind::MoveHosts, t("2025-03-01"))
        .await
        .unwrap();
    let journal = store.journal();
    let commits = testing::count_commits(store.writer()).await;
    let boot = power_step(run.id(), 1, 1);
    let install = StepAttempt {
        step: Step::InstallWait,
        ..boot.clone()
    };
    let rows = |install: &StepAttempt| {
        vec![
            JournalRow::Outcome {
                at: boot.clone(),
                outcome: StepOutcome::Verified,
                error: None,
                details: Details::new().with("k", "v"),
            },
            JournalRow::Intent {
                at: install.clone(),
                details: Details::new(),
            },
        ]
    };
    let ids = journal.append_all(rows(&install)).await.unwrap();
    assert_eq!(commits.load(Ordering::SeqCst), 1, "two rows, one commit");
    assert_eq!(ids.len(), 2);
    assert!(ids[0] < ids[1], "{ids:?}");

    // a row that cannot be written fails the call, and the row before it is not written either
    let bad = StepAttempt {
        attempt: 0,
        ..install.clone()
    };
    let err = journal.append_all(rows(&bad)).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");

    let written: Vec<_> = journal
        .entries(run.id())
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.id, e.step, e.phase, e.outcome))
        .collect();
    assert_eq!(
        written,
        vec![
            (
                ids[0],
                Step::NetworkBoot,
                Phase::Outcome,
                Some(StepOutcome::Verified)
            ),
            (ids[1], Step::InstallWait, Phase::Intent, None),
        ]
    );
}

#[tokio::test]
async fn journal_appends_queued_together_share_one_commit_in_the_order_received() {
    let (_dir, store) = fresh().await;
    let run = store
        .begin_run(RunKind::MoveHosts, t("2025-03-01"))
        .await
        .unwrap();
    let journal = store.journal();
    let commits = testing::count_commits(store.writer()).await;
    let held = testing::hold(store.writer()).await;
    let mut calls = Vec::new();
    for i in 0..100 {
        let (journal, at) = (journal.clone(), power_step(run.id(), i, 1));
        let details = Details::new().with("i", i.to_string());
        calls.push(
            testing::queue(
                store.writer(),
                async move { journal.intent(&at, details).await },
            )
            .await,
        );
    }
    held.release().await;
    let mut ids = Vec::new();
    for call in calls {
        ids.push(call.await.unwrap().unwrap());
    }

    assert_eq!(
        commits.load(Ordering::SeqCst),
        1,
        "100 queued rows, one commit"
    );
    assert!(
        ids.is_sorted(),
        "ids increase in the order received: {ids:?}"
    );
    let written: Vec<_> = journal
        .entries(run.id())
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.id, e.details.get("i").unwrap().to_owned()))
        .collect();
    let expected: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i.to_string()))
        .collect();
    assert_eq!(written, expected);
}

#[tokio::test]
async fn journal_appends_from_many_tasks_are_all_written_in_fewer_commits() {
    let (_dir, store) = fresh().await;
    let run = store
        .begin_run(RunKind::MoveHosts, t("2025-03-01"))
        .await
        .unwrap();
    let journal = store.journal();
    let commits = testing::count_commits(store.writer()).await;
    let mut tasks = tokio::task::JoinSet::new();
    for host in 0..300 {
        let journal = journal.clone();
        let run = run.id();
        tasks.spawn(async move {
            let mut ids = Vec::new();
            for attempt in 1..=3 {
                let at = power_step(run, host, attempt);
                ids.push((journal.intent(&at, Details::new()).await.unwrap(), at));
            }
            ids
        });
    }
    let mut answered = Vec::new();
    while let Some(ids) = tasks.join_next().await {
        answered.extend(ids.unwrap());
    }
    answered.sort_by_key(|(id, _)| *id);

    let entries = journal.entries(run.id()).await.unwrap();
    assert_eq!(entries.len(), 900);
    let written: Vec<_> = entries
        .iter()
        .map(|e| (e.id, e.subject.clone(), e.attempt))
        .collect();
    let expected: Vec<_> = answered
        .into_iter()
        .map(|(id, at)| (id, at.subject, at.attempt))
        .collect();
    // each task's rows in its own order (attempt 1, 2, 3 with increasing ids), and every id
    // answered is the row's
    assert_eq!(written, expected);
    let commits = commits.load(Ordering::SeqCst);
    assert!(commits < 900, "{commits} commits for 900 rows");
}

#[tokio::test]
async fn a_refused_journal_append_fails_alone_and_the_rest_of_its_group_commits() {
    let (_dir, store) = fresh().await;
    let run = store
        .begin_run(RunKind::MoveHosts, t("2025-03-01"))
        .await
        .unwrap();
    let journal = store.journal();
    let commits = testing::count_commits(store.writer()).await;
    let held = testing::hold(store.writer()).await;
    let mut calls = Vec::new();
    for at in [
        power_step(run.id(), 0, 1),
        // no such run: the foreign key refuses the row
        power_step(RunId(999), 1, 1),
        power_step(run.id(), 2, 1),
        // refused before SQLite
        power_step(run.id(), 3, 0),
        power_step(run.id(), 4, 1),
    ] {
        let journal = journal.clone();
        calls.push(
            testing::queue(store.writer(), async move {
                journal.intent(&at, Details::new()).await
            })
            .await,
        );
    }
    held.release().await;
    let mut results = Vec::new();
    for call in calls {
        results.push(call.await.unwrap());
    }

    let err = results.remove(3).unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    let err = results.remove(1).unwrap_err();
    assert!(err.to_string().contains("FOREIGN KEY"), "{err}");
    let ids: Vec<_> = results.into_iter().map(Result::unwrap).collect();
    assert_eq!(commits.load(Ordering::SeqCst), 1);
    let written: Vec<_> = journal
        .entries(run.id())
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.id, e.subject))
        .collect();
    assert_eq!(
        written,
        [
            (ids[0], Subject::Host(h("h000"))),
            (ids[1], Subject::Host(h("h002"))),
            (ids[2], Subject::Host(h("h004"))),
        ]
    );
}

#[tokio::test]
async fn a_journal_append_answers_only_once_its_row_is_committed() {
    let (_dir, store) = fresh().await;
    let run = store
        .begin_run(RunKind::MoveHosts, t("2025-03-01"))
        .await
        .unwrap();
    let journal = store.journal();
    let held = testing::hold(store.writer()).await;
    let mut calls = Vec::new();
    for i in 0..100 {
        let (journal, reader, at) = (journal.clone(), store.clone(), power_step(run.id(), i, 1));
        calls.push(
            testing::queue(store.writer(), async move {
                let id = journal.intent(&at, Details::new()).await.unwrap();
                // the reader's own connection sees committed rows only
                let seen: i64 = reader
                    .reader()
                    .call(move |c| {
                        Ok(c.query_row(
                            "SELECT count(*) FROM journal WHERE id = ?1",
                            [id.0],
                            |r| r.get(0),
                        )?)
                    })
                    .await
                    .unwrap();
                (id, seen)
            })
            .await,
        );
    }
    held.release().await;
    for call in calls {
        let (id, seen) = call.await.unwrap();
        assert_eq!(seen, 1, "entry {id} answered before it was committed");
    }
}

const INVENTORY: &str = "
clouds:
  - name: cloud01
  - name: cloud02
hosts:
  - name: a
    default_cloud: cloud01
  - name: b
    default_cloud: cloud01
    cloud: cloud02
assignments:
  - cloud: cloud02
    ticket: '1'
    owner: alice
    wipe: false
schedules:
  - host: a
    cloud: cloud02
    start: 2025-01-01
    end: 2025-01-10
  - host: b
    cloud: cloud02
    ticket: '1'
    start: 2025-01-01
    end: 2025-01-10
";

#[tokio::test]
async fn imports_an_inventory() {
    let (_dir, store) = fresh().await;
    let summary = store
        .import(crate::inventory::parse(INVENTORY).unwrap())
        .await
        .unwrap();
    assert_eq!(
        summary,
        ImportSummary {
            clouds: 2,
            hosts: 2,
            assignments: 1,
            schedules: 2,
            interfaces: 0,
        }
    );
    let snap = store.snapshot().await.unwrap();
    assert_eq!(snap.hosts[1].current_cloud, c("cloud02"));
    assert_eq!(snap.schedules.len(), 2);
    assert!(
        snap.schedules
            .iter()
            .all(|s| s.assignment == snap.assignments[0].id)
    );
}

#[tokio::test]
async fn a_refused_import_imports_nothing() {
    let (_dir, store) = fresh().await;
    store.add_cloud(cloud("cloud09")).await.unwrap();
    let cases = [
        // a host in a cloud the file does not define (after clouds were added in the transaction)
        (
            INVENTORY.replace(
                "  - name: b\n    default_cloud: cloud01",
                "  - name: b\n    default_cloud: cloud07",
            ),
            "inventory line 8: cloud cloud07 (default cloud of host b) does not exist; nothing was imported",
        ),
        // a schedule overlapping the previous one of the same host
        (
            INVENTORY.replace("  - host: b", "  - host: a"),
            "inventory line 21: schedule for host a (2025-01-01T00:00:00Z .. 2025-01-10T00:00:00Z) \
             overlaps its schedule",
        ),
        // a ticket no assignment has
        (
            INVENTORY.replace("ticket: '1'\n    start", "ticket: '2'\n    start"),
            "inventory line 21: assignment of cloud cloud02 with ticket \"2\" (schedule of host b) \
             does not exist",
        ),
        // a cloud already in the store
        (
            INVENTORY.replace("name: cloud02", "name: cloud09"),
            "inventory line 4: cloud cloud09 already exists",
        ),
    ];
    for (text, expected) in cases {
        let err = store
            .import(crate::inventory::parse(&text).unwrap())
            .await
            .unwrap_err();
        assert!(
            err.to_string().starts_with(expected),
            "{err}\nexpected {expected}"
        );
        assert!(err.is_refusal());
        let snap = store.snapshot().await.unwrap();
        assert_eq!(snap.clouds.len(), 1, "{expected}");
        assert!(snap.hosts.is_empty() && snap.assignments.is_empty() && snap.schedules.is_empty());
    }
}

/// Set in the environment of [`lock_holder_child`] when it runs as a child process.
const CHILD_DB: &str = "QUADS_TEST_LOCK_HOLDER_DB";

/// Not a test on its own: run as a child process by
/// [`a_killed_process_releases_the_run_lock`], it takes the run lock, says so on stdout, and
/// holds it until its stdin closes or it is killed.
#[test]
fn lock_holder_child() {
    let Ok(path) = std::env::var(CHILD_DB) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (store, lock) = rt.block_on(async {
        let store = open_at(Path::new(&path), OpenMode::MustExist)
            .await
            .unwrap();
        let lock = store
            .begin_run(RunKind::MoveHosts, t("2025-01-01"))
            .await
            .unwrap();
        (store, lock)
    });
    // straight to the process's stdout: libtest may capture `println!`
    let mut out = std::io::stdout().lock();
    writeln!(out, "LOCKED {}", lock.id()).unwrap();
    out.flush().unwrap();
    drop(out);
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    drop((store, lock));
}

#[tokio::test]
async fn a_killed_process_releases_the_run_lock() {
    use tokio::io::AsyncBufReadExt as _;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quads.db");
    let store = open_at(&path, OpenMode::CreateIfMissing).await.unwrap();

    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "store::tests::lock_holder_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB, &path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    // wait for the condition (the child says it holds the lock), with a deadline
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let run: i64 = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            // libtest prints `test NAME ... ` before the test's own output, on the same line
            if let Some(rest) = line.split("LOCKED ").nth(1) {
                return rest.split_whitespace().next().unwrap().parse().unwrap();
            }
        }
        panic!("the child exited without taking the lock");
    })
    .await
    .expect("the child did not take the lock in time");

    let err = store
        .begin_run(RunKind::MoveHosts, t("2025-01-01"))
        .await
        .unwrap_err();
    let StoreError::RunActive {
        active: Some(active),
        ..
    } = &err
    else {
        panic!("expected the live run to be named: {err}");
    };
    assert_eq!(active.id, RunId(run));
    assert_eq!(active.pid, pid);
    assert!(err.to_string().contains(&format!("pid {pid}")), "{err}");

    // kill -9: no chance to clean up
    child.kill().await.unwrap();
    let next = store
        .begin_run(RunKind::MoveHosts, t("2025-01-01"))
        .await
        .unwrap();
    assert_eq!(next.id(), RunId(run + 1));
    let dead = store.run(RunId(run)).await.unwrap().unwrap();
    assert_eq!(dead.state, RunState::Abandoned);
    store.finish_run(next, RunState::Succeeded).await.unwrap();
    store.close().await;
}

/// The database's bytes (WAL checkpointed first), to show a refusal changed nothing.
async fn bytes(store: &Store) -> Vec<u8> {
    store
        .writer()
        .call(|c| {
            c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
            Ok(())
        })
        .await
        .unwrap();
    std::fs::read(store.path()).unwrap()
}

#[tokio::test]
async fn schedules_move_in_time_all_or_nothing_and_never_onto_each_other() {
    let (_dir, store, a) = lab().await;
    let add = |host: &str, r: TimeRange| NewSchedule {
        host: h(host),
        assignment: a.id,
        range: r,
    };
    let s1 = store
        .add_schedule(add("a", range("2025-01-01", "2025-01-15")))
        .await
        .unwrap();
    let s2 = store
        .add_schedule(add("a", range("2025-02-01", "2025-02-15")))
        .await
        .unwrap();
    let s3 = store
        .add_schedule(add("b", range("2025-01-01", "2025-01-15")))
        .await
        .unwrap();
    // extending both of January's up to February is fine; onto a's February is not, and the
    // whole change is refused with nothing written
    let before = bytes(&store).await;
    let e = store
        .modify_schedules(vec![
            (s3.id, range("2025-01-01", "2025-03-01")),
            (s1.id, range("2025-01-01", "2025-02-08")),
        ])
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::Overlap { existing, .. } if existing == s2.id),
        "{e}"
    );
    assert!(e.is_refusal());
    assert_eq!(
        bytes(&store).await,
        before,
        "a refused change writes nothing"
    );
    let e = store
        .modify_schedules(vec![(ScheduleId(99), range("2025-01-01", "2025-01-02"))])
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e}");
    let old = store
        .modify_schedules(vec![
            (s1.id, range("2025-01-01", "2025-02-01")),
            (s3.id, range("2025-01-01", "2025-03-01")),
        ])
        .await
        .unwrap();
    assert_eq!(old[0].range, range("2025-01-01", "2025-01-15"));
    let now = store.schedules(Some(h("a"))).await.unwrap();
    assert_eq!(now[0].range, range("2025-01-01", "2025-02-01"));
}

#[tokio::test]
async fn hosts_leave_and_return_to_service_and_are_removed_only_without_history() {
    let (_dir, store, a) = lab().await;
    let broken = store
        .set_host_state(h("a"), Some(HostState::Active), HostState::Broken)
        .await
        .unwrap();
    assert_eq!(broken.state, HostState::Broken);
    // repairing a host that is not broken is refused, unchanged
    let before = bytes(&store).await;
    let e = store
        .set_host_state(h("b"), Some(HostState::Broken), HostState::Active)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("host b is active, not broken"),
        "{e}"
    );
    assert_eq!(bytes(&store).await, before);
    store
        .set_host_state(h("a"), Some(HostState::Broken), HostState::Active)
        .await
        .unwrap();
    // a host with a schedule keeps its history: refused
    let s = store
        .add_schedule(NewSchedule {
            host: h("b"),
            assignment: a.id,
            range: range("2025-01-01", "2025-01-15"),
        })
        .await
        .unwrap();
    let before = bytes(&store).await;
    let e = store.remove_host(h("b")).await.unwrap_err();
    assert!(e.to_string().contains("remove them first"), "{e}");
    assert_eq!(bytes(&store).await, before);
    store.remove_schedule(s.id).await.unwrap();
    store.remove_host(h("b")).await.unwrap();
    assert!(store.host(h("b")).await.unwrap().is_none());
    assert!(matches!(
        store.remove_host(h("b")).await.unwrap_err(),
        StoreError::NotFound { .. }
    ));
}

#[tokio::test]
async fn a_cloud_is_removed_only_when_it_holds_nothing() {
    let (_dir, store, _a) = lab().await;
    store.add_cloud(cloud("cloud09")).await.unwrap();
    let before = bytes(&store).await;
    for busy in ["cloud01", "cloud02"] {
        let e = store.remove_cloud(c(busy)).await.unwrap_err();
        assert!(
            e.to_string().contains("can be removed once it holds none"),
            "{e}"
        );
    }
    assert_eq!(bytes(&store).await, before);
    store.remove_cloud(c("cloud09")).await.unwrap();
    assert!(
        !store
            .clouds()
            .await
            .unwrap()
            .iter()
            .any(|x| x.name == c("cloud09"))
    );
}

#[tokio::test]
async fn terminating_an_assignment_ends_what_runs_and_removes_what_is_to_come() {
    let (_dir, store, a) = lab().await;
    let add = |host: &str, r: TimeRange| NewSchedule {
        host: h(host),
        assignment: a.id,
        range: r,
    };
    let past = store
        .add_schedule(add("a", range("2024-12-01", "2024-12-15")))
        .await
        .unwrap();
    let running = store
        .add_schedule(add("a", range("2025-01-01", "2025-01-31")))
        .await
        .unwrap();
    let future = store
        .add_schedule(add("b", range("2025-02-01", "2025-02-15")))
        .await
        .unwrap();
    let done = store
        .terminate_assignment(a.id, t("2025-01-10"))
        .await
        .unwrap();
    assert_eq!(done.ended.len(), 1);
    assert_eq!(done.ended[0].range, range("2025-01-01", "2025-01-10"));
    assert_eq!(
        done.removed.iter().map(|s| s.id).collect::<Vec<_>>(),
        [future.id]
    );
    let left: Vec<_> = store.schedules(None).await.unwrap();
    assert_eq!(
        left.iter().map(|s| s.id).collect::<Vec<_>>(),
        [past.id, running.id]
    );
    // again: nothing runs or is to come, refused and unchanged
    let before = bytes(&store).await;
    let e = store
        .terminate_assignment(a.id, t("2025-01-10"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("over already"), "{e}");
    assert_eq!(bytes(&store).await, before);
}

#[tokio::test]
async fn a_ticket_in_use_by_another_cloud_is_refused_until_that_assignment_is_over() {
    let (_dir, store, a) = lab().await;
    store.add_cloud(cloud("cloud03")).await.unwrap();
    // cloud02's T1 has no schedule yet: it is not over, the ticket is taken
    let e = store
        .add_assignment(spec("cloud03", "T1"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("would share one password"), "{e}");
    assert!(e.is_refusal());
    // once its only schedule has ended (the store's clock is now), the ticket is free again
    store
        .add_schedule(NewSchedule {
            host: h("a"),
            assignment: a.id,
            range: range("2020-01-01", "2020-01-15"),
        })
        .await
        .unwrap();
    store.add_assignment(spec("cloud03", "T1")).await.unwrap();
}

#[tokio::test]
async fn bmc_sessions_are_recorded_once_and_forgotten() {
    use super::BmcSessionRecord;
    let (_dir, store) = fresh().await;
    let s = |b: &str, p: &str| (b.to_owned(), p.to_owned());
    let (b, p) = s("127.0.1.1:443", "/redfish/v1/SessionService/Sessions/7");
    store
        .record_bmc_session(b.clone(), p.clone())
        .await
        .unwrap();
    store
        .record_bmc_session(b.clone(), p.clone())
        .await
        .unwrap();
    let (b2, p2) = s("127.0.1.2:443", "/redfish/v1/SessionService/Sessions/1");
    store
        .record_bmc_session(b2.clone(), p2.clone())
        .await
        .unwrap();
    assert_eq!(store.bmc_sessions().await.unwrap().len(), 2);
    store.forget_bmc_session(b, p).await.unwrap();
    store
        .forget_bmc_session(b2.clone(), "/other".to_owned())
        .await
        .unwrap();
    assert_eq!(
        store.bmc_sessions().await.unwrap(),
        [BmcSessionRecord {
            bmc: b2,
            session: p2
        }]
    );
}
