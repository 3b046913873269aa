//! `quads foreman` end to end: the built binary against a mockito Foreman over loopback HTTP.

use mockito::{Matcher, Server, ServerGuard};

use crate::support::Home;

/// `Basic` of `admin:s3cret-pw`.
const BASIC: &str = "Basic YWRtaW46czNjcmV0LXB3";

const HOST: &str = r#"{"id":7,"name":"node07.lab.example","ip":"10.1.0.7","build":true,"operatingsystem_name":"RedHat 9.4","ptable_name":"Kickstart default","medium_name":"RHEL mirror","hostgroup_title":"base/compute","owner_name":"cloud02","owner_type":"User","build_status_label":"Pending installation","parameters":[{"id":31,"name":"cloud","value":"cloud02","parameter_type":"string","hidden_value?":false}]}"#;

fn home(server: &ServerGuard) -> Home {
    let mut home = Home::new();
    home.set_env("QUADS_FOREMAN_URL", &server.url());
    home.set_env("QUADS_FOREMAN_USERNAME", "admin");
    home.set_env("QUADS_FOREMAN_PASSWORD", "s3cret-pw");
    home
}

#[test]
fn status_prints_the_version_and_the_database_state() {
    let mut server = Server::new();
    server
        .mock("GET", "/api/status")
        .match_header("authorization", BASIC)
        .with_body(r#"{"result":"ok","status":200,"version":"3.12.1","api_version":2}"#)
        .expect(2)
        .create();
    server
        .mock("GET", "/api/ping")
        .with_body(r#"{"results":{"foreman":{"database":{"active":true,"duration_ms":"0"}}}}"#)
        .expect(2)
        .create();
    let home = home(&server);
    let text = home.quads(&["foreman", "status"]).ok();
    assert!(text.starts_with("Foreman 3.12.1 at http://"), "{text}");
    assert!(text.contains("database ok"), "{text}");
    let doc = home.quads(&["foreman", "status", "-o", "json"]).json();
    assert_eq!(doc["v"], 1);
    assert_eq!(doc["version"], "3.12.1");
    assert_eq!(doc["database_active"], true);
}

#[test]
fn status_of_a_foreman_without_ping() {
    let mut server = Server::new();
    server
        .mock("GET", "/api/status")
        .with_body(r#"{"result":"ok","status":200,"version":"1.22.2","api_version":2}"#)
        .create();
    server
        .mock("GET", "/api/ping")
        .with_status(404)
        .with_body(r#"{"message":"Route not found"}"#)
        .create();
    let text = home(&server).quads(&["foreman", "status"]).ok();
    assert!(text.contains("Foreman 1.22.2"), "{text}");
    assert!(text.contains("no /api/ping"), "{text}");
}

#[test]
fn host_show_by_name_as_text_and_json() {
    let mut server = Server::new();
    server
        .mock("GET", "/api/hosts/node07.lab.example")
        .match_header("authorization", BASIC)
        .with_body(HOST)
        .expect(2)
        .create();
    let home = home(&server);
    let text = home
        .quads(&["foreman", "host", "show", "node07.lab.example"])
        .ok();
    assert!(text.contains("operating system  RedHat 9.4"), "{text}");
    assert!(text.contains("owner             cloud02 (User)"), "{text}");
    assert!(text.contains("cloud02"), "{text}");
    let doc = home
        .quads(&[
            "foreman",
            "host",
            "show",
            "node07.lab.example",
            "-o",
            "json",
        ])
        .json();
    assert_eq!(doc["v"], 1);
    assert_eq!(doc["host"]["build"], true);
    assert_eq!(doc["host"]["hostgroup"], "base/compute");
    assert_eq!(doc["host"]["parameters"][0]["name"], "cloud");
}

#[test]
fn host_list_one_page_or_all() {
    let mut server = Server::new();
    let page = server
        .mock("GET", "/api/hosts")
        .match_query(Matcher::Exact(
            "search=build%20%3D%20true&page=2&per_page=1".into(),
        ))
        .with_body(format!(
            r#"{{"total":9,"subtotal":3,"page":2,"per_page":1,"search":"build = true","results":[{HOST}]}}"#
        ))
        .expect(1)
        .create();
    let all = server
        .mock("GET", "/api/hosts")
        .match_query(Matcher::Exact(
            "search=build%20%3D%20true&page=1&per_page=all".into(),
        ))
        .with_body(format!(
            r#"{{"total":9,"subtotal":1,"page":1,"per_page":1,"search":"build = true","results":[{HOST}]}}"#
        ))
        .expect(1)
        .create();
    let home = home(&server);
    let text = home
        .quads(&[
            "foreman",
            "host",
            "list",
            "--search",
            "build = true",
            "--per-page",
            "1",
            "--page",
            "2",
        ])
        .ok();
    assert!(text.contains("node07.lab.example"), "{text}");
    assert!(text.contains("1 of 3 matching hosts (page 2"), "{text}");
    let doc = home
        .quads(&[
            "foreman",
            "host",
            "list",
            "--search",
            "build = true",
            "--all",
            "-o",
            "json",
        ])
        .json();
    assert_eq!(doc["matching"], 1);
    assert_eq!(doc["hosts"][0]["name"], "node07.lab.example");
    page.assert();
    all.assert();
}

#[test]
fn exit_codes_and_no_password_in_any_output() {
    let mut server = Server::new();
    server
        .mock("GET", "/api/hosts/nosuch.lab")
        .with_status(404)
        .with_body(r#"{"error":{"message":"Resource host not found by id 'nosuch.lab'"}}"#)
        .create();
    server
        .mock("GET", "/api/status")
        .with_status(401)
        .with_body(r#"{"error":{"message":"Unable to authenticate user admin"}}"#)
        .create();
    let mut home = home(&server);
    let run = home.quads(&["foreman", "host", "show", "nosuch.lab"]);
    assert!(!run.stdout.contains("s3cret-pw") && !run.stderr.contains("s3cret-pw"));
    let stderr = run.fails(1);
    assert!(stderr.contains("HTTP 404"), "{stderr}");
    let run = home.quads(&["foreman", "status"]);
    assert!(!run.stdout.contains("s3cret-pw") && !run.stderr.contains("s3cret-pw"));
    assert!(run.fails(1).contains("authentication failed"));

    // No password at all: a usage error.
    let mut bare = Home::new();
    bare.set_env("QUADS_FOREMAN_URL", &server.url());
    bare.set_env("QUADS_FOREMAN_USERNAME", "admin");
    let stderr = bare.quads(&["foreman", "status"]).fails(2);
    assert!(stderr.contains("QUADS_FOREMAN_PASSWORD"), "{stderr}");
    // Nor is there a flag to put one on the command line.
    bare.quads(&["foreman", "--foreman-password", "x", "status"])
        .fails(2);
    // A bad URL is a usage error too.
    home.set_env("QUADS_FOREMAN_URL", "foreman.lab");
    home.quads(&["foreman", "status"]).fails(2);
}

#[test]
fn the_password_can_come_from_a_file() {
    let mut server = Server::new();
    let m = server
        .mock("GET", "/api/status")
        .match_header("authorization", BASIC)
        .with_body(r#"{"result":"ok","status":200,"version":"3.12.1","api_version":2}"#)
        .expect(1)
        .create();
    server
        .mock("GET", "/api/ping")
        .with_body(r#"{"results":{}}"#)
        .create();
    let mut home = Home::new();
    let file = home.write("foreman.pw", "s3cret-pw\n");
    home.set_env("QUADS_FOREMAN_USERNAME", "admin");
    let url = server.url();
    home.quads(&[
        "foreman",
        "--foreman-url",
        &url,
        "--foreman-password-file",
        file.to_str().unwrap(),
        "status",
    ])
    .ok();
    m.assert();
}
