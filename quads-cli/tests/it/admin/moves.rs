//! `move-hosts --dry-run` plans (boundaries, filters, skipped hosts, untouchable from config and
//! environment), the refusal to move without the executor, and `runs ls|show` over a journal.

use std::path::Path;
use std::sync::Arc;

use provision_core::model::{HostName, RunId, RunKind, RunState, Step, StepOutcome, Subject};
use provision_core::{Details, OpenMode, StepAttempt, Store, StoreOptions, SystemClock};

use crate::support::{Home, example_inventory};

/// The example inventory plus a schedule for the broken host.
fn lab() -> Home {
    let home = Home::initialized();
    home.quads(&["host", "import", &example_inventory().display().to_string()])
        .ok();
    home.quads(&[
        "schedule",
        "add",
        "--host",
        "r650-u03.example.com",
        "--cloud",
        "cloud03",
        "--start",
        "2025-01-10 22:00",
        "--end",
        "2025-02-01 22:00",
    ])
    .ok();
    home
}

fn plan(home: &Home, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["move-hosts", "--dry-run"];
    all.extend(args);
    let doc = home.json(&all);
    assert_eq!(
        (doc["v"].as_i64(), doc["dry_run"].as_bool()),
        (Some(1), Some(true))
    );
    doc
}

fn moves(doc: &serde_json::Value) -> Vec<(String, String, String, String)> {
    doc["moves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let s = |k: &str| m[k].as_str().unwrap().to_owned();
            (s("host"), s("from"), s("to"), s("wipe"))
        })
        .collect()
}

fn mv(host: &str, from: &str, to: &str, wipe: &str) -> (String, String, String, String) {
    (host.into(), from.into(), to.into(), wipe.into())
}

fn skipped(doc: &serde_json::Value) -> Vec<(String, String)> {
    doc["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["host"].as_str().unwrap().to_owned(),
                s["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_plan_follows_the_schedule_at_the_given_time() {
    let home = lab();
    let before = plan(&home, &["--date", "2025-01-05"]);
    assert_eq!(moves(&before), []);
    assert_eq!(before["in_place"], 4);
    assert_eq!(before["at"], "2025-01-05T00:00:00Z");

    let doc = plan(&home, &["--date", "2025-01-12"]);
    assert_eq!(
        moves(&doc),
        [mv("r640-u02.example.com", "cloud01", "cloud03", "no")]
    );
    assert_eq!(doc["moves"][0]["schedule"], 2);
    assert_eq!(
        skipped(&doc),
        [("r650-u03.example.com".into(), "broken".into())]
    );

    // the first schedule ends at 2025-01-15 22:00 (exclusive): u01 goes home
    let doc = plan(&home, &["--date", "2025-01-15T21:59:59Z"]);
    assert!(!moves(&doc).iter().any(|m| m.0 == "r640-u01.example.com"));
    let doc = plan(&home, &["--date", "2025-01-15 22:00"]);
    assert!(moves(&doc).contains(&mv("r640-u01.example.com", "cloud02", "cloud01", "no")));

    // back-to-back schedules hand over at the boundary, with the new assignment's wipe
    let doc = plan(&home, &["--date", "2025-02-01 22:00"]);
    assert_eq!(
        moves(&doc),
        [
            mv("r640-u01.example.com", "cloud02", "cloud01", "no"),
            mv("r640-u02.example.com", "cloud01", "cloud02", "yes"),
        ]
    );
}

#[test]
fn the_cloud_filter_keeps_moves_into_that_cloud() {
    let home = lab();
    let doc = plan(&home, &["--date", "2025-02-01 22:00", "--cloud", "cloud01"]);
    assert_eq!(
        moves(&doc),
        [mv("r640-u01.example.com", "cloud02", "cloud01", "no")]
    );
    let err = home
        .quads(&["move-hosts", "--dry-run", "--cloud", "cloud42"])
        .fails(2);
    assert!(err.contains("cloud cloud42 does not exist"), "{err}");
}

#[test]
fn untouchable_hosts_come_from_the_config_file_or_the_environment() {
    let mut home = lab();
    let config = std::fs::read_to_string(home.config_path())
        .unwrap()
        .replace(
            "untouchable_hosts = []",
            "untouchable_hosts = [\"r640-u02.example.com\"]",
        );
    std::fs::write(home.config_path(), config).unwrap();
    let doc = plan(&home, &["--date", "2025-01-12"]);
    assert_eq!(moves(&doc), []);
    assert_eq!(
        skipped(&doc),
        [
            ("r640-u02.example.com".into(), "untouchable".into()),
            ("r650-u03.example.com".into(), "broken".into()),
        ]
    );
    home.set_env("QUADS_UNTOUCHABLE_HOSTS", "r650-u03.example.com");
    let doc = plan(&home, &["--date", "2025-01-12"]);
    assert_eq!(
        moves(&doc),
        [mv("r640-u02.example.com", "cloud01", "cloud03", "no")]
    );
    assert_eq!(
        skipped(&doc),
        [("r650-u03.example.com".into(), "untouchable".into())]
    );
}

#[test]
fn the_table_shows_host_from_to_wipe_and_reasons() {
    let home = lab();
    let text = home
        .quads(&["move-hosts", "--dry-run", "--date", "2025-01-12"])
        .ok();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "plan at 2025-01-12T00:00:00Z (dry run: nothing is touched)"
    );
    let header: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(header, ["HOST", "FROM", "TO", "WIPE"]);
    let row: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(row, ["r640-u02.example.com", "cloud01", "cloud03", "no"]);
    assert!(text.contains("skipped:"), "{text}");
    assert!(text.contains("host is broken"), "{text}");
    assert_eq!(
        lines.last(),
        Some(&"1 to move, 1 skipped, 2 already in place")
    );
}

#[test]
fn a_dry_run_touches_nothing_and_a_real_run_needs_foreman_and_bmc_settings() {
    let mut home = lab();
    let hosts = home.json(&["host", "ls"]);
    plan(&home, &["--date", "2025-01-12"]);
    let err = home.quads(&["move-hosts", "--date", "2025-01-12"]).fails(2);
    assert!(
        err.contains("move-hosts needs [foreman] in the config"),
        "{err}"
    );
    home.set_env("QUADS_FOREMAN_URL", "https://127.0.0.1:9");
    home.set_env("QUADS_FOREMAN_USERNAME", "admin");
    home.set_env("QUADS_FOREMAN_PASSWORD", "secret");
    home.set_env("QUADS_INFRA_LOCATION", "lab");
    let err = home.quads(&["move-hosts", "--resume"]).fails(2);
    assert!(
        err.contains("move-hosts needs [bmc] in the config"),
        "{err}"
    );
    assert!(!err.contains("secret"), "{err}");
    assert_eq!(home.json(&["host", "ls"]), hosts);
    assert_eq!(home.json(&["runs", "ls"])["runs"], serde_json::json!([]));
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn open(path: &Path) -> Store {
    Store::open(StoreOptions {
        path: path.to_owned(),
        mode: OpenMode::MustExist,
        clock: Arc::new(SystemClock),
    })
    .await
    .unwrap()
}

/// Writes a finished run with a short journal, as the executor will.
async fn seed_run(store: &Store) -> RunId {
    let lock = store
        .begin_run(RunKind::MoveHosts, "2025-01-12".parse().unwrap())
        .await
        .unwrap();
    let journal = store.journal();
    let host = Subject::Host(HostName::new("r640-u02.example.com").unwrap());
    let account = StepAttempt {
        run: lock.id(),
        subject: host.clone(),
        step: Step::BmcAccount,
        attempt: 1,
    };
    journal
        .intent(&account, Details::new().with("to", "cloud03"))
        .await
        .unwrap();
    journal
        .outcome(&account, StepOutcome::Verified, None, Details::new())
        .await
        .unwrap();
    let boot = StepAttempt {
        step: Step::BootOrder,
        ..account
    };
    journal.intent(&boot, Details::new()).await.unwrap();
    journal
        .outcome(
            &boot,
            StepOutcome::Failed,
            Some("job queue stuck".into()),
            Details::new(),
        )
        .await
        .unwrap();
    let id = lock.id();
    store.finish_run(lock, RunState::Failed).await.unwrap();
    id
}

#[test]
fn runs_ls_and_show_read_the_journal() {
    let home = lab();
    let rt = runtime();
    let id = rt.block_on(async {
        let store = open(&home.store_path()).await;
        let id = seed_run(&store).await;
        store.close().await;
        id
    });

    let runs = home.json(&["runs", "ls"]);
    let run = &runs["runs"][0];
    assert_eq!(run["id"], id.0);
    assert_eq!(
        (&run["state"], &run["kind"]),
        (&"failed".into(), &"move-hosts".into())
    );
    assert_eq!(run["pid"], std::process::id());
    assert_eq!(run["target_time"], "2025-01-12T00:00:00Z");

    let show = home.json(&["runs", "show", &id.to_string()]);
    let steps: Vec<(&str, &str, Option<&str>)> = show["journal"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["step"].as_str().unwrap(),
                e["phase"].as_str().unwrap(),
                e["outcome"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("bmc-account", "intent", None),
            ("bmc-account", "outcome", Some("verified")),
            ("boot-order", "intent", None),
            ("boot-order", "outcome", Some("failed")),
        ]
    );
    assert_eq!(show["journal"][0]["details"]["to"], "cloud03");
    assert_eq!(show["journal"][3]["error"], "job queue stuck");
    assert_eq!(show["journal"][0]["host"], "r640-u02.example.com");

    let text = home.quads(&["runs", "show", &id.to_string()]).ok();
    assert!(
        text.starts_with(&format!("run {id} (move-hosts) failed: pid")),
        "{text}"
    );
    assert!(
        text.contains("job queue stuck") && text.contains("to=cloud03"),
        "{text}"
    );

    let err = home.quads(&["runs", "show", "999"]).fails(2);
    assert!(err.contains("run 999 does not exist"), "{err}");
}

#[test]
fn an_active_run_shows_as_active_and_planning_still_works() {
    let home = lab();
    let rt = runtime();
    let store = rt.block_on(open(&home.store_path()));
    let lock = rt
        .block_on(store.begin_run(RunKind::MoveHosts, "2025-01-12".parse().unwrap()))
        .unwrap();
    let runs = home.json(&["runs", "ls"]);
    assert_eq!(runs["runs"][0]["state"], "active");
    plan(&home, &["--date", "2025-01-12"]);
    rt.block_on(store.finish_run(lock, RunState::Interrupted))
        .unwrap();
    assert_eq!(
        home.json(&["runs", "ls"])["runs"][0]["state"],
        "interrupted"
    );
    rt.block_on(store.close());
}
