//! The day-2 commands through the CLI on the example inventory: schedules extended, shrunk and
//! modified (one or a whole cloud's), an assignment terminated, hosts taken out of and back into
//! service, removed, a cloud removed; each refusal exits 2, names what is in the way and leaves
//! the store file byte-for-byte as it was.

use crate::support::{Home, example_inventory};

fn imported() -> Home {
    let home = Home::initialized();
    home.quads(&["host", "import", example_inventory().to_str().unwrap()])
        .ok();
    home
}

/// The store's bytes: the database file and its write-ahead log, if any.
fn store_bytes(home: &Home) -> Vec<u8> {
    let mut bytes = std::fs::read(home.store_path()).unwrap();
    let mut wal = home.store_path().into_os_string();
    wal.push("-wal");
    bytes.extend(std::fs::read(wal).unwrap_or_default());
    bytes
}

/// Runs `args`, expects exit 2 with `words` in stderr and the store unchanged.
#[track_caller]
fn refused(home: &Home, args: &[&str], words: &str) {
    let before = store_bytes(home);
    let stderr = home.quads(args).fails(2);
    assert!(stderr.contains(words), "{args:?}: {stderr}");
    assert_eq!(store_bytes(home), before, "{args:?} changed the store");
}

fn schedule(doc: &serde_json::Value, id: i64) -> serde_json::Value {
    doc["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no schedule {id} in {doc}"))
}

#[test]
fn schedules_are_extended_shrunk_and_modified_but_never_onto_another() {
    let home = imported();
    // schedule 1: u01 in cloud02 Jan 1-15; 2: u02 cloud03 Jan 10 - Feb 1; 3: u02 cloud02 Feb 1-15
    let doc = home.json(&["schedule", "extend", "1", "--weeks", "2"]);
    assert_eq!(schedule(&doc, 1)["end"], "2025-01-29T22:00:00Z");
    let doc = home.json(&["schedule", "shrink", "1", "--to", "2025-01-20 22:00"]);
    assert_eq!(schedule(&doc, 1)["end"], "2025-01-20T22:00:00Z");
    let doc = home.json(&["schedule", "modify", "1", "--start", "2025-01-02 22:00"]);
    assert_eq!(schedule(&doc, 1)["start"], "2025-01-02T22:00:00Z");
    // a whole cloud's running schedules at once
    let doc = home.json(&[
        "schedule",
        "extend",
        "--cloud",
        "cloud02",
        "--date",
        "2025-01-05",
        "--weeks",
        "1",
    ]);
    assert_eq!(schedule(&doc, 1)["end"], "2025-01-27T22:00:00Z");
    assert_eq!(doc["schedules"].as_array().unwrap().len(), 1);

    refused(
        &home,
        &["schedule", "extend", "2", "--weeks", "1"],
        "overlaps its schedule 3",
    );
    refused(
        &home,
        &["schedule", "shrink", "1", "--to", "2025-02-01"],
        "cannot shrink schedule 1",
    );
    refused(
        &home,
        &["schedule", "shrink", "1", "--weeks", "9"],
        "cannot shrink schedule 1",
    );
    refused(
        &home,
        &["schedule", "modify", "3", "--start", "2025-01-20"],
        "overlaps its schedule 2",
    );
    refused(
        &home,
        &["schedule", "extend", "9", "--weeks", "1"],
        "schedule 9 does not exist",
    );
    refused(
        &home,
        &[
            "schedule",
            "extend",
            "--cloud",
            "cloud03",
            "--date",
            "2024-06-01",
            "--weeks",
            "1",
        ],
        "no schedule running",
    );
    // --weeks and --to together is a usage error too
    let stderr = home
        .quads(&[
            "schedule",
            "extend",
            "1",
            "--weeks",
            "1",
            "--to",
            "2025-03-01",
        ])
        .fails(2);
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}

#[test]
fn an_assignment_is_terminated_once() {
    let home = imported();
    let doc = home.json(&[
        "assignment",
        "terminate",
        "--cloud",
        "cloud02",
        "--ticket",
        "1234",
        "--at",
        "2025-01-10",
    ]);
    let t = &doc["termination"];
    assert_eq!(
        (t["cloud"].as_str(), t["ticket"].as_str()),
        (Some("cloud02"), Some("1234"))
    );
    assert_eq!(t["ended"][0]["id"], 1);
    assert_eq!(t["ended"][0]["end"], "2025-01-10T00:00:00Z");
    assert_eq!(t["removed"][0]["id"], 3);
    let left: Vec<i64> = home.json(&["schedule", "ls"])["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(left, [1, 2]);
    refused(
        &home,
        &[
            "assignment",
            "terminate",
            "--cloud",
            "cloud02",
            "--ticket",
            "1234",
            "--at",
            "2025-01-10",
        ],
        "over already",
    );
    refused(
        &home,
        &["assignment", "terminate", "--cloud", "cloud09"],
        "has no assignment",
    );
}

#[test]
fn hosts_leave_and_return_to_service_and_clouds_and_hosts_are_removed_when_free() {
    let home = imported();
    let u02 = "r640-u02.example.com";
    let doc = home.json(&["host", "broken", u02]);
    assert_eq!(doc["host"]["state"], "broken");
    refused(&home, &["host", "broken", u02], "is broken, not active");
    assert_eq!(
        home.json(&["host", "repaired", u02])["host"]["state"],
        "active"
    );
    refused(&home, &["host", "repaired", u02], "is active, not broken");
    assert_eq!(
        home.json(&["host", "retire", u02])["host"]["state"],
        "retired"
    );
    assert_eq!(
        home.json(&["host", "unretire", u02])["host"]["state"],
        "active"
    );
    // a broken host is never moved: the plan skips it
    home.quads(&["host", "broken", u02]).ok();
    let plan = home
        .quads(&["move-hosts", "--dry-run", "--date", "2025-01-12"])
        .ok();
    assert!(plan.contains(u02) && plan.contains("broken"), "{plan}");

    refused(&home, &["host", "remove", u02], "remove them first");
    refused(
        &home,
        &["host", "remove", "r640-u01.example.com"],
        "remove them first",
    );
    // r650-u04 has no schedule and is home: removed with its record
    let doc = home.json(&["host", "remove", "r650-u04.example.com"]);
    assert_eq!(doc["removed_host"]["name"], "r650-u04.example.com");
    refused(
        &home,
        &["host", "remove", "r650-u04.example.com"],
        "does not exist",
    );

    refused(
        &home,
        &["cloud", "remove", "cloud03"],
        "holds 0 host(s) and 1 assignment(s)",
    );
    refused(
        &home,
        &["cloud", "remove", "cloud01"],
        "can be removed once it holds none",
    );
    home.quads(&["cloud", "add", "cloud07"]).ok();
    assert_eq!(
        home.json(&["cloud", "remove", "cloud07"])["removed_cloud"]["name"],
        "cloud07"
    );
}

#[test]
fn available_hosts_free_clouds_and_the_summary_read_the_schedule() {
    let home = imported();
    let doc = home.json(&[
        "host",
        "available",
        "--from",
        "2025-01-16",
        "--to",
        "2025-01-20",
    ]);
    let hosts: Vec<&str> = doc["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    // u02 is scheduled, u03 broken, u04 retired
    assert_eq!(hosts, ["r640-u01.example.com"]);
    let stderr = home
        .quads(&[
            "host",
            "available",
            "--from",
            "2025-01-20",
            "--to",
            "2025-01-16",
        ])
        .fails(2);
    assert!(stderr.contains("is not after"), "{stderr}");

    let free = home.json(&["cloud", "free", "--date", "2025-03-01"]);
    assert_eq!(free["clouds"], serde_json::json!(["cloud03"]));

    let sum = home.json(&["cloud", "summary", "--date", "2025-01-12"]);
    let row = |c: &str| {
        sum["clouds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["cloud"] == c)
            .cloned()
            .unwrap()
    };
    let c2 = row("cloud02");
    assert_eq!(
        (c2["hosts"].as_u64(), c2["scheduled"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        (c2["owner"].as_str(), c2["ticket"].as_str()),
        (Some("alice"), Some("1234"))
    );
    assert_eq!(
        (c2["ends"].as_str(), c2["days_left"].as_i64()),
        (Some("2025-01-15T22:00:00Z"), Some(3))
    );
    assert_eq!(row("cloud03")["owner"], "bob");
    let table = home
        .quads(&["cloud", "summary", "--date", "2025-01-12"])
        .ok();
    assert!(
        table.contains("DAYS LEFT") && table.contains("alice"),
        "{table}"
    );
}
