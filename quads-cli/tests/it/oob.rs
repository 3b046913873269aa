//! `quads oob` end to end: the built binary against mockito BMCs over loopback HTTP.

use std::process::Command;

use mockito::{Matcher, Server, ServerGuard};
use serde_json::json;

/// A generic DMTF BMC that is powered on, with session login and logout.
fn bmc() -> (ServerGuard, mockito::Mock) {
    let mut s = Server::new();
    let root = json!({
        "RedfishVersion": "1.11.0",
        "Systems": {"@odata.id": "/redfish/v1/Systems"},
        "Managers": {"@odata.id": "/redfish/v1/Managers"},
        "Links": {"Sessions": {"@odata.id": "/redfish/v1/SessionService/Sessions"}}
    });
    s.mock("GET", "/redfish/v1")
        .with_body(root.to_string())
        .create();
    s.mock("POST", "/redfish/v1/SessionService/Sessions")
        .match_body(Matcher::PartialJson(
            json!({"UserName": "root", "Password": "pw"}),
        ))
        .with_status(201)
        .with_header("X-Auth-Token", "t")
        .with_header("Location", "/redfish/v1/SessionService/Sessions/1")
        .create();
    let logout = s
        .mock("DELETE", "/redfish/v1/SessionService/Sessions/1")
        .expect(1)
        .create();
    let members = |p: &str| json!({"Members": [{"@odata.id": p}]}).to_string();
    s.mock("GET", "/redfish/v1/Systems")
        .match_header("x-auth-token", "t")
        .with_body(members("/redfish/v1/Systems/1"))
        .create();
    s.mock("GET", "/redfish/v1/Managers")
        .match_header("x-auth-token", "t")
        .with_body(members("/redfish/v1/Managers/1"))
        .create();
    s.mock("GET", "/redfish/v1/Managers/1")
        .with_body(json!({"Id": "1"}).to_string())
        .create();
    s.mock("GET", "/redfish/v1/Systems/1")
        .match_header("x-auth-token", "t")
        .with_body(json!({"Id": "1", "PowerState": "On"}).to_string())
        .create();
    (s, logout)
}

fn quads(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_quads"))
        .arg("oob")
        .args(args)
        .env_remove("BADFISH_USERNAME")
        .env_remove("BADFISH_PASSWORD")
        .env("QUADS_LOG", "off")
        .output()
        .unwrap()
}

#[test]
fn power_state_of_one_bmc_logs_out_after() {
    let (server, logout) = bmc();
    let out = quads(&[
        "-H",
        &server.url(),
        "-u",
        "root",
        "-p",
        "pw",
        "--power-state",
        "--retries",
        "1",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(stdout.trim(), format!("{}: power On", server.url()));
    logout.assert();
}

#[test]
fn a_host_list_reports_each_host_and_fails_if_one_fails() {
    let (server, logout) = bmc();
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("hosts");
    std::fs::write(
        &list,
        format!("# lab\n{}\n\nhttp://127.0.0.1:9\n", server.url()),
    )
    .unwrap();
    let out = quads(&[
        "--host-list",
        list.to_str().unwrap(),
        "-u",
        "root",
        "-p",
        "pw",
        "--power-state",
        "--retries",
        "1",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let good = lines
        .iter()
        .find(|l| l["host"] == server.url().as_str())
        .unwrap();
    assert_eq!(good["ok"], true);
    assert_eq!(good["result"][0], "power On");
    let bad = lines
        .iter()
        .find(|l| l["host"] == "http://127.0.0.1:9")
        .unwrap();
    assert_eq!(bad["ok"], false);
    assert!(bad["error"].as_str().unwrap().contains("127.0.0.1:9"));
    logout.assert();
}

#[test]
fn bad_arguments_fail_before_any_request() {
    let out = quads(&[
        "-H",
        "bmc1",
        "-u",
        "root",
        "-p",
        "pw",
        "--power-on",
        "--power-off",
    ]);
    // Usage errors found after clap's parsing exit 2 too, as the README says.
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("one action at a time"));
    let out = quads(&["-H", "bmc1", "--power-state"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing credentials"));
    let out = quads(&["--power-state", "-u", "root", "-p", "pw"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("-H"));
    let out = quads(&[
        "-H",
        "bmc1",
        "-u",
        "root",
        "-p",
        "pw",
        "--power-state",
        "--timeout",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a number of seconds above zero"));
}
