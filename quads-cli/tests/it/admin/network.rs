//! Host interfaces and assignment VLAN settings through the CLI (import, `host interface add`,
//! `host show`), and the switch-port changes `move-hosts --dry-run` shows, as QUADS computes
//! them.

use crate::support::{Home, example_inventory};

fn lab() -> Home {
    let home = Home::initialized();
    home.quads(&["host", "import", &example_inventory().display().to_string()])
        .ok();
    home
}

/// A move's ports in a dry-run document, one line each: `interface switch port old -> new
/// change` (old is `?` when unknown).
fn ports(doc: &serde_json::Value, host: &str) -> Vec<String> {
    let target = |t: &serde_json::Value| {
        if t.is_null() {
            "?".to_owned()
        } else {
            format!("{} {}", t["mode"].as_str().unwrap(), t["vlan"])
        }
    };
    let m = doc["moves"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["host"] == host)
        .unwrap_or_else(|| panic!("{host} does not move: {doc:#}"));
    m["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap().to_owned();
            format!(
                "{} {} {} {} -> {} {}",
                s("interface"),
                s("switch"),
                s("port"),
                target(&p["old"]),
                target(&p["new"]),
                s("change")
            )
        })
        .collect()
}

#[test]
fn host_show_prints_the_imported_interfaces() {
    let home = lab();
    let doc = home.json(&["host", "show", "r640-u01.example.com"]);
    assert_eq!(doc["v"], 1);
    assert_eq!(doc["host"]["current_cloud"], "cloud02");
    let nics = doc["interfaces"].as_array().unwrap();
    assert_eq!(nics.len(), 3);
    assert_eq!(
        nics[0],
        serde_json::json!({
            "name": "em1", "bios_id": "NIC.Integrated.1-1-1", "mac_address": "52:54:00:00:01:01",
            "switch_ip": "192.0.2.1", "switch_port": "xe-0/0/1", "speed": 25, "vendor": "Intel",
            "pxe_boot": true, "maintenance": false
        })
    );
    assert_eq!(nics[2]["maintenance"], true);

    let table = home.quads(&["host", "show", "r640-u01.example.com"]).ok();
    assert!(
        table.starts_with("host r640-u01.example.com: in cloud02"),
        "{table}"
    );
    let em1 = table.lines().find(|l| l.starts_with("em1")).unwrap();
    for word in [
        "192.0.2.1",
        "xe-0/0/1",
        "52:54:00:00:01:01",
        "25",
        "Intel",
        "yes",
    ] {
        assert!(em1.contains(word), "{word}: {table}");
    }
    let none = home.quads(&["host", "show", "r650-u04.example.com"]).ok();
    assert!(none.ends_with("no interfaces\n"), "{none}");
    let err = home.quads(&["host", "show", "nope"]).fails(2);
    assert!(err.contains("host nope does not exist"), "{err}");

    let a = home.json(&["assignment", "ls", "--cloud", "cloud02"]);
    assert_eq!(
        (&a["assignments"][0]["qinq"], &a["assignments"][0]["vlan"]),
        (&0.into(), &1401.into())
    );
}

#[test]
fn interfaces_and_assignment_vlans_are_added_from_the_command_line() {
    let home = lab();
    let added = home.json(&[
        "host",
        "interface",
        "add",
        "r650-u04.example.com",
        "em1",
        "--switch-ip",
        "192.0.2.3",
        "--switch-port",
        "ge-0/0/7",
        "--mac-address",
        "52-54-00-AA-BB-CC",
        "--pxe-boot",
    ]);
    assert_eq!(added["interface"]["mac_address"], "52:54:00:aa:bb:cc");
    assert_eq!(added["interface"]["pxe_boot"], true);
    let shown = home.json(&["host", "show", "r650-u04.example.com"]);
    assert_eq!(shown["interfaces"][0]["switch_port"], "ge-0/0/7");

    // the same name twice, a port already cabled, a bad MAC: refused (exit 2), saying why
    let err = home
        .quads(&[
            "host",
            "interface",
            "add",
            "r650-u04.example.com",
            "em1",
            "--switch-ip",
            "x",
            "--switch-port",
            "y",
        ])
        .fails(2);
    assert!(
        err.contains("interface em1 of host r650-u04.example.com already exists"),
        "{err}"
    );
    let err = home
        .quads(&[
            "host",
            "interface",
            "add",
            "r650-u04.example.com",
            "em2",
            "--switch-ip",
            "192.0.2.1",
            "--switch-port",
            "xe-0/0/1",
        ])
        .fails(2);
    assert!(
        err.contains("switch 192.0.2.1 port xe-0/0/1 is already cabled to interface em1 of host r640-u01.example.com"),
        "{err}"
    );
    let err = home
        .quads(&[
            "host",
            "interface",
            "add",
            "r650-u04.example.com",
            "em2",
            "--switch-ip",
            "s",
            "--switch-port",
            "p",
            "--mac-address",
            "nope",
        ])
        .fails(2);
    assert!(err.contains("invalid MAC address"), "{err}");

    let a = home.json(&[
        "assignment",
        "add",
        "--cloud",
        "cloud03",
        "--ticket",
        "77",
        "--owner",
        "carol",
        "--wipe",
        "no",
        "--qinq",
        "1",
        "--vlan",
        "1402",
    ]);
    assert_eq!(
        (&a["assignment"]["qinq"], &a["assignment"]["vlan"]),
        (&1.into(), &1402.into())
    );
    let err = home
        .quads(&[
            "assignment",
            "add",
            "--cloud",
            "cloud03",
            "--ticket",
            "78",
            "--owner",
            "c",
            "--wipe",
            "no",
            "--vlan",
            "5000",
        ])
        .fails(2);
    assert!(err.contains("5000"), "{err}");
}

#[test]
fn an_inventory_with_bad_interfaces_is_refused_naming_line_and_host() {
    let home = Home::initialized();
    let text = std::fs::read_to_string(example_inventory())
        .unwrap()
        .replace("52:54:00:00:01:01", "52:54:00:00:01");
    let file = home.write("bad.yaml", &text);
    let err = home
        .quads(&["host", "import", &file.display().to_string()])
        .fails(2);
    assert!(
        err.contains("line 26: interface em1 of host r640-u01.example.com: invalid MAC address"),
        "{err}"
    );
    let text = std::fs::read_to_string(example_inventory())
        .unwrap()
        .replace(
            "switch_port: xe-0/0/3\n      - name: em2\n        switch_ip: 192.0.2.2",
            "switch_port: xe-0/0/3\n      - name: em2\n        switch_ip: 192.0.2.1",
        );
    let file = home.write("taken.yaml", &text);
    let err = home
        .quads(&["host", "import", &file.display().to_string()])
        .fails(2);
    assert!(
        err.contains("already cabled") && err.contains("nothing was imported"),
        "{err}"
    );
    assert!(
        home.json(&["host", "ls"])["hosts"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn the_dry_run_shows_each_hosts_vlan_changes_as_quads_computes_them() {
    let home = lab();
    // u02 joins cloud03 (qinq 1): every NIC into cloud03's first VLAN
    let doc = home.json(&["move-hosts", "--dry-run", "--date", "2025-01-12"]);
    assert_eq!(
        ports(&doc, "r640-u02.example.com"),
        [
            "em1 192.0.2.1 xe-0/0/3 access 1100 -> qinq 1120 move",
            "em2 192.0.2.2 xe-0/0/3 access 1101 -> qinq 1120 move",
        ]
    );
    let table = home
        .quads(&["move-hosts", "--dry-run", "--date", "2025-01-12"])
        .ok();
    let em2 = table
        .lines()
        .find(|l| l.starts_with("r640-u02.example.com") && l.contains("em2"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(
        em2.contains("192.0.2.2") && em2.contains("access 1101 -> qinq 1120"),
        "{table}"
    );

    // u01 leaves cloud02 (public VLAN 1401 on its last NIC, em3, in maintenance) for the spare
    // pool; u02 (still in cloud01: a dry run moves nothing) joins cloud02, whose public VLAN
    // takes its last NIC as a trunk
    let doc = home.json(&["move-hosts", "--dry-run", "--date", "2025-02-01 22:00"]);
    assert_eq!(
        ports(&doc, "r640-u01.example.com"),
        [
            "em1 192.0.2.1 xe-0/0/1 access 1110 -> access 1100 move",
            "em2 192.0.2.1 xe-0/0/2 access 1111 -> access 1101 move",
            "em3 192.0.2.2 xe-0/0/1 trunk 1401 -> access 1102 maintenance",
        ]
    );
    assert_eq!(
        ports(&doc, "r640-u02.example.com"),
        [
            "em1 192.0.2.1 xe-0/0/3 access 1100 -> access 1110 move",
            "em2 192.0.2.2 xe-0/0/3 access 1101 -> trunk 1401 move",
        ]
    );
    let table = home
        .quads(&["move-hosts", "--dry-run", "--date", "2025-02-01 22:00"])
        .ok();
    assert!(
        table.contains("trunk 1401 (maintenance: left alone)"),
        "{table}"
    );

    // sw_vlan_first from the configuration moves every VLAN but the public one
    let mut config = std::fs::read_to_string(home.config_path()).unwrap();
    config.push_str("\n[network]\nsw_vlan_first = 2000\n");
    std::fs::write(home.config_path(), config).unwrap();
    let doc = home.json(&["move-hosts", "--dry-run", "--date", "2025-02-01 22:00"]);
    assert_eq!(
        ports(&doc, "r640-u02.example.com"),
        [
            "em1 192.0.2.1 xe-0/0/3 access 2000 -> access 2010 move",
            "em2 192.0.2.2 xe-0/0/3 access 2001 -> trunk 1401 move",
        ]
    );
    assert_eq!(doc["moves"][0]["network_problems"], serde_json::json!([]));
}

/// A Junos driver whose known host keys cannot be read stops the real run before any move
/// (exit 2, naming the file), while the dry run still shows the ports.
#[test]
fn a_switch_driver_without_its_known_keys_refuses_the_run_before_any_move() {
    let home = lab();
    home.write("switch.pass", "sw1tch\n");
    let mut config = std::fs::read_to_string(home.config_path()).unwrap();
    config.push_str(&format!(
        "\n[network]\ndriver = \"junos\"\nusername = \"netops\"\npassword_file = \"{}\"\n\
         host_key_fingerprints = \"{}\"\n",
        home.path().join("switch.pass").display(),
        home.path().join("no-such-keys").display()
    ));
    std::fs::write(home.config_path(), config).unwrap();
    let err = home
        .quads(&["move-hosts", "--date", "2025-02-01 22:00"])
        .fails(2);
    assert!(
        err.contains("[network]") && err.contains("cannot read host_key_fingerprints"),
        "{err}"
    );
    assert!(!err.contains("sw1tch"), "{err}");
    let doc = home.json(&["move-hosts", "--dry-run", "--date", "2025-02-01 22:00"]);
    assert!(!ports(&doc, "r640-u02.example.com").is_empty());
}
