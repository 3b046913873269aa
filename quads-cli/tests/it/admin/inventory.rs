//! Hosts, clouds, assignments and schedules through the CLI, overlap refusals, and the
//! all-or-nothing import of a QUADS-style inventory.

use crate::support::{Home, example_inventory, names};

/// cloud01 and cloud02, host h1 in cloud01, assignment 1 of cloud02 (wipe).
fn small_lab() -> Home {
    let home = Home::initialized();
    home.quads(&["cloud", "add", "cloud01", "--description", "spare pool"])
        .ok();
    home.quads(&["cloud", "add", "cloud02"]).ok();
    home.quads(&[
        "host",
        "add",
        "h1",
        "--default-cloud",
        "cloud01",
        "--model",
        "r640",
    ])
    .ok();
    home.quads(&[
        "assignment",
        "add",
        "--cloud",
        "cloud02",
        "--ticket",
        "1234",
        "--owner",
        "alice",
        "--wipe",
        "yes",
        "--os",
        "RHEL 9.4",
    ])
    .ok();
    home
}

#[test]
fn records_added_are_listed_as_versioned_json_and_tables() {
    let home = small_lab();
    let hosts = home.json(&["host", "ls"]);
    assert_eq!(hosts["v"], 1);
    let h1 = &hosts["hosts"][0];
    assert_eq!(h1["name"], "h1");
    assert_eq!(h1["bmc_address"], "mgmt-h1");
    assert_eq!(h1["model"], "r640");
    assert_eq!(h1["current_cloud"], "cloud01");
    assert_eq!(h1["state"], "active");

    let clouds = home.json(&["cloud", "ls"]);
    assert_eq!(names(&clouds, "clouds", "name"), ["cloud01", "cloud02"]);
    assert_eq!(clouds["clouds"][0]["description"], "spare pool");

    let a = &home.json(&["assignment", "ls"])["assignments"][0];
    assert_eq!(
        (a["id"].as_i64(), &a["wipe"], &a["os"]),
        (Some(1), &"yes".into(), &"RHEL 9.4".into())
    );
    assert_eq!(a["boot_type"], "uefi");

    let added = home.json(&[
        "schedule",
        "add",
        "--host",
        "h1",
        "--cloud",
        "cloud02",
        "--start",
        "2025-01-01 22:00",
        "--end",
        "2025-01-15 22:00",
    ]);
    assert_eq!(added["schedule"]["start"], "2025-01-01T22:00:00Z");
    let table = home.quads(&["schedule", "ls"]).ok();
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("START"),
        "{table}"
    );
    assert!(
        lines[1].contains("h1") && lines[1].contains("cloud02"),
        "{table}"
    );

    let table = home.quads(&["host", "ls", "--cloud", "cloud02"]).ok();
    assert_eq!(table.lines().count(), 1, "only the header: {table}");
}

#[test]
fn an_overlapping_schedule_is_refused_naming_host_and_ranges() {
    let home = small_lab();
    home.quads(&[
        "schedule",
        "add",
        "--host",
        "h1",
        "--cloud",
        "cloud02",
        "--start",
        "2025-01-01",
        "--end",
        "2025-01-15",
    ])
    .ok();
    let err = home
        .quads(&[
            "schedule",
            "add",
            "--host",
            "h1",
            "--cloud",
            "cloud02",
            "--start",
            "2025-01-14",
            "--end",
            "2025-01-20",
        ])
        .fails(2);
    assert!(
        err.contains(
            "schedule for host h1 (2025-01-14T00:00:00Z .. 2025-01-20T00:00:00Z) overlaps its \
             schedule 1 (2025-01-01T00:00:00Z .. 2025-01-15T00:00:00Z)"
        ),
        "{err}"
    );
    let schedules = home.json(&["schedule", "ls"]);
    assert_eq!(schedules["schedules"].as_array().unwrap().len(), 1);
    // back to back is fine, and rm frees the range
    home.quads(&[
        "schedule",
        "add",
        "--host",
        "h1",
        "--cloud",
        "cloud02",
        "--start",
        "2025-01-15",
        "--end",
        "2025-01-20",
    ])
    .ok();
    let removed = home.json(&["schedule", "rm", "1"]);
    assert_eq!(removed["schedule"]["id"], 1);
    home.quads(&["schedule", "rm", "1"]).fails(2);
    home.quads(&[
        "schedule",
        "add",
        "--host",
        "h1",
        "--cloud",
        "cloud02",
        "--start",
        "2025-01-02",
        "--end",
        "2025-01-04",
    ])
    .ok();
}

#[test]
fn refusals_name_what_is_missing_or_duplicated() {
    let home = small_lab();
    let err = home.quads(&["cloud", "add", "cloud01"]).fails(2);
    assert!(err.contains("cloud cloud01 already exists"), "{err}");
    let err = home
        .quads(&["host", "add", "h2", "--default-cloud", "cloud09"])
        .fails(2);
    assert!(
        err.contains("cloud cloud09 (default cloud of host h2) does not exist"),
        "{err}"
    );
    let err = home
        .quads(&[
            "schedule",
            "add",
            "--host",
            "h1",
            "--cloud",
            "cloud01",
            "--start",
            "2025-01-01",
            "--end",
            "2025-01-02",
        ])
        .fails(2);
    assert!(err.contains("cloud cloud01 has no assignment"), "{err}");
    let err = home
        .quads(&[
            "schedule",
            "add",
            "--host",
            "h1",
            "--cloud",
            "cloud02",
            "--start",
            "2025-01-02",
            "--end",
            "2025-01-01",
        ])
        .fails(2);
    assert!(err.contains("the end must be after the start"), "{err}");
    let err = home
        .quads(&[
            "schedule",
            "add",
            "--host",
            "nope",
            "--cloud",
            "cloud02",
            "--start",
            "2025-01-01",
            "--end",
            "2025-01-02",
        ])
        .fails(2);
    assert!(err.contains("host nope does not exist"), "{err}");
    assert_eq!(names(&home.json(&["host", "ls"]), "hosts", "name"), ["h1"]);
}

#[test]
fn imports_the_example_inventory() {
    let home = Home::initialized();
    let file = example_inventory().display().to_string();
    let doc = home.json(&["host", "import", &file]);
    assert_eq!(
        doc["imported"],
        serde_json::json!({"clouds": 3, "hosts": 4, "assignments": 2, "schedules": 3, "interfaces": 5})
    );
    let hosts = home.json(&["host", "ls"]);
    let states: Vec<_> = hosts["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["name"].as_str().unwrap(),
                h["current_cloud"].as_str().unwrap(),
                h["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("r640-u01.example.com", "cloud02", "active"),
            ("r640-u02.example.com", "cloud01", "active"),
            ("r650-u03.example.com", "cloud01", "broken"),
            ("r650-u04.example.com", "cloud01", "retired"),
        ]
    );
    assert_eq!(
        hosts["hosts"][1]["bmc_address"],
        "mgmt-r640-u02.example.com"
    );
    // importing it twice is refused as a whole
    let err = home.quads(&["host", "import", &file]).fails(2);
    assert!(
        err.contains("cloud cloud01 already exists; nothing was imported"),
        "{err}"
    );
    assert_eq!(
        home.json(&["schedule", "ls"])["schedules"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

fn assert_untouched(home: &Home) {
    assert_eq!(names(&home.json(&["host", "ls"]), "hosts", "name"), ["h1"]);
    assert_eq!(
        names(&home.json(&["cloud", "ls"]), "clouds", "name"),
        ["cloud01", "cloud02"]
    );
    assert_eq!(
        home.json(&["assignment", "ls"])["assignments"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(
        home.json(&["schedule", "ls"])["schedules"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_malformed_inventory_is_refused_naming_the_line_and_nothing_is_imported() {
    let home = small_lab();
    let cases = [
        ("syntax.yaml", "hosts:\n  - name: [oops\n", "line 2"),
        (
            "typo.yaml",
            "hosts:\n  - name: h9\n    default_cloud: cloud01\n    brokn: true\n",
            "unknown field `brokn`",
        ),
        (
            "value.yaml",
            "clouds:\n  - name: cloud05\nhosts:\n  - name: h9\n    default_cloud: cloud01\n    broken: true\n    retired: true\n",
            "inventory line 4: host h9 is both broken and retired",
        ),
        (
            "dangling.yaml",
            "clouds:\n  - name: cloud05\nhosts:\n  - name: h8\n    default_cloud: cloud05\n  - name: h9\n    default_cloud: cloud07\n",
            "inventory line 6: cloud cloud07 (default cloud of host h9) does not exist; nothing was imported",
        ),
        (
            "overlap.yaml",
            "clouds:\n  - name: cloud05\nschedules:\n  - host: h1\n    cloud: cloud02\n    start: 2025-01-01\n    end: 2025-01-10\n  - host: h1\n    cloud: cloud02\n    start: 2025-01-09\n    end: 2025-01-12\n",
            "inventory line 8: schedule for host h1 (2025-01-09T00:00:00Z .. 2025-01-12T00:00:00Z) overlaps its schedule",
        ),
        ("missing.yaml", "", "cannot read"),
    ];
    for (name, text, expected) in cases {
        let path = if text.is_empty() {
            home.path().join(name)
        } else {
            home.write(name, text)
        };
        let err = home
            .quads(&["host", "import", &path.display().to_string()])
            .fails(2);
        assert!(err.contains(expected), "{name}: {err}");
        assert!(err.lines().count() == 1, "{name}: one line: {err}");
        assert_untouched(&home);
    }
}

/// `quads-lab`'s `quads-inventory.yaml` imports as written: the spare pool, every host with
/// its BMC address, and each NIC with its switch port; `switches.keys` names every switch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_labs_quads_inventory_imports_with_its_switch_ports() {
    let lab = testkit::Lab::start(testkit::LabConfig {
        hosts: 4,
        ..testkit::LabConfig::default()
    })
    .await
    .unwrap();
    let inventory = lab.inventory();
    let home = Home::initialized();
    let files = testkit::inventory::write_files(&inventory, &home.path().join("lab")).unwrap();
    let yaml = files
        .iter()
        .find(|p| p.ends_with("quads-inventory.yaml"))
        .unwrap();
    let doc = home.json(&["host", "import", &yaml.display().to_string()]);
    let nics: usize = inventory.hosts.iter().map(|h| h.interfaces.len()).sum();
    assert_eq!(
        doc["imported"],
        serde_json::json!({"clouds": 1, "hosts": 4, "assignments": 0, "schedules": 0, "interfaces": nics})
    );
    let host = &inventory.hosts[3];
    let shown = home.json(&["host", "show", &host.name]);
    assert_eq!(shown["host"]["bmc_address"], host.bmc_address.as_str());
    assert_eq!(shown["host"]["current_cloud"], "cloud01");
    let listed: Vec<(String, String, String)> = shown["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let s = |k: &str| i[k].as_str().unwrap().to_owned();
            (s("name"), s("switch_ip"), s("switch_port"))
        })
        .collect();
    let wired: Vec<(String, String, String)> = host
        .interfaces
        .iter()
        .map(|i| (i.name.clone(), i.switch_ip.clone(), i.switch_port.clone()))
        .collect();
    assert_eq!(listed, wired);
    assert_eq!(shown["interfaces"][0]["pxe_boot"], true);
    assert_eq!(
        shown["interfaces"][0]["mac_address"],
        host.provisioning_mac.as_str()
    );

    let keys = std::fs::read_to_string(home.path().join("lab/switches.keys")).unwrap();
    assert_eq!(keys.lines().count(), inventory.switches.len());
    for (line, switch) in keys.lines().zip(&inventory.switches) {
        let ip = switch.address.rsplit_once(':').unwrap().0;
        assert_eq!(line, format!("{ip} {}", switch.host_key_sha256));
    }
}
