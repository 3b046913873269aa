//! The fake QUADS v3 server, in process: seed from the lab, `moves` by QUADS's rule, auth and
//! tokens on the lab clock, and each quirk (400 not-found, HTML 404/500/415, both date formats,
//! the host PATCH rolled back yet answered 200 with the old row).

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Value, json};
use testkit::{Exchange, FaultProfile, InProcessLab, LabConfig};

fn lab(hosts: usize, faults: FaultProfile) -> InProcessLab {
    InProcessLab::new(LabConfig {
        hosts,
        faults,
        ..LabConfig::default()
    })
    .expect("lab")
}

fn basic(lab: &InProcessLab) -> String {
    let inv = lab.inventory();
    let raw = format!("{}:{}", inv.quads_username, inv.quads_password);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// Sends a request and returns status, content type and body.
async fn call(
    lab: &InProcessLab,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<Value>,
) -> (u16, String, Value, String) {
    let mut builder = http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", lab.quads_url()));
    if let Some(auth) = auth {
        builder = builder.header("authorization", auth);
    }
    let body = match body {
        Some(v) => {
            builder = builder.header("content-type", "application/json");
            Bytes::from(v.to_string())
        }
        None => Bytes::new(),
    };
    let Exchange::Response(response) = lab.handle(builder.body(body).expect("request")).await
    else {
        panic!("no answer to {method} {path}");
    };
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = String::from_utf8_lossy(response.body()).into_owned();
    let value = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, kind, value, text)
}

async fn get(lab: &InProcessLab, path: &str) -> (u16, Value) {
    let (status, _, value, _) = call(lab, "GET", path, None, None).await;
    (status, value)
}

#[tokio::test]
async fn seeded_from_the_lab_and_moves_follow_the_schedules() {
    let lab = lab(8, FaultProfile::none());
    let inv = lab.inventory();
    assert_eq!(inv.quads_url, "http://127.0.0.1:9082");
    let (status, hosts) = get(&lab, "/api/v3/hosts/").await;
    assert_eq!(status, 200);
    let hosts = hosts.as_array().unwrap();
    assert_eq!(hosts.len(), 8);
    for (host, lab_host) in hosts.iter().zip(&inv.hosts) {
        assert_eq!(host["name"], lab_host.name.as_str());
        assert_eq!(host["cloud"]["name"], "cloud01");
        assert_eq!(host["default_cloud"]["name"], "cloud01");
        assert_eq!(host["model"], lab_host.model.to_uppercase().as_str());
    }
    // every NIC from the switch wiring, with its switch's address
    let first = &inv.hosts[0];
    let (_, nics) = get(&lab, &format!("/api/v3/hosts/{}/interfaces", first.name)).await;
    let nics = nics.as_array().unwrap();
    assert_eq!(nics.len(), first.interfaces.len());
    assert_eq!(
        nics[0]["switch_port"],
        first.interfaces[0].switch_port.as_str()
    );
    assert_eq!(nics[0]["switch_ip"], first.interfaces[0].switch_ip.as_str());
    // half the fleet is scheduled, alternately into cloud02 and cloud03
    let (_, moves) = get(&lab, "/api/v3/moves/").await;
    let moves = moves.as_array().unwrap();
    assert_eq!(moves.len(), 4);
    assert_eq!(
        moves[0],
        json!({"host": inv.hosts[0].name, "current": "cloud01", "new": "cloud02"})
    );
    assert_eq!(moves[1]["new"], "cloud03");
    // moved: the host leaves the list; a date after the schedules' end brings it back home
    let (status, _, row, _) = call(
        &lab,
        "PATCH",
        &format!("/api/v3/hosts/{}", inv.hosts[0].name),
        Some(&basic(&lab)),
        Some(json!({"cloud": "cloud02", "build": true, "last_build": "2030-01-01T10:00"})),
    )
    .await;
    assert_eq!(
        (status, row["cloud"]["name"].as_str()),
        (200, Some("cloud02"))
    );
    assert_eq!(row["last_build"], "Tue, 01 Jan 2030 10:00:00 GMT");
    let (_, moves) = get(&lab, "/api/v3/moves").await;
    assert_eq!(moves.as_array().unwrap().len(), 3);
    let (_, later) = get(&lab, "/api/v3/moves/?date=2099-01-01T00:00").await;
    assert_eq!(later.as_array().unwrap().len(), 1, "{later}");
    assert_eq!(later[0]["new"], "cloud01");
}

#[tokio::test]
async fn clouds_assignments_and_schedules_read_as_quads_answers_them() {
    let lab = lab(4, FaultProfile::none());
    let (_, clouds) = get(&lab, "/api/v3/clouds/?name=cloud03").await;
    assert_eq!(clouds[0]["name"], "cloud03");
    let (_, a) = get(&lab, "/api/v3/assignments/active/cloud03/").await;
    assert_eq!(
        (a["qinq"].as_i64(), a["wipe"].as_bool()),
        (Some(1), Some(false))
    );
    assert_eq!(a["vlan"]["vlan_id"], 601);
    let (_, a2) = get(&lab, "/api/v3/assignments/active/cloud02").await;
    assert!(
        a2.get("vlan").is_none(),
        "no public VLAN: the key is left out"
    );
    let (_, none) = get(&lab, "/api/v3/assignments/active/cloud04/").await;
    assert_eq!(none, json!({}));
    let (_, current) = get(&lab, "/api/v3/schedules/current?cloud=cloud02").await;
    assert_eq!(current.as_array().unwrap().len(), 1);
    assert!(current[0]["start"].as_str().unwrap().ends_with(" GMT"));
    // an unknown host filters nothing, as in QUADS
    let (_, all) = get(&lab, "/api/v3/schedules/current?host=nope").await;
    assert_eq!(all.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn errors_have_quads_shapes() {
    let lab = lab(2, FaultProfile::none());
    let (status, kind, body, _) = call(&lab, "GET", "/api/v3/hosts/nope.example", None, None).await;
    assert_eq!(
        (status, kind.as_str()),
        (400, "application/json; charset=utf-8")
    );
    assert_eq!(
        body,
        json!({"status_code": 400, "error": "Bad Request", "message": "Host not found: nope.example"})
    );
    let (status, _, body, _) = call(&lab, "GET", "/api/v3/clouds/?name=cloud99", None, None).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (400, Some("No clouds found with the given filters"))
    );
    for (path, expected) in [
        ("/api/v3/nothing-here", 404),
        ("/api/v2/hosts", 404),
        ("/api/v3/schedules/abc", 500),
        ("/api/v3/assignments/x1/", 500),
        ("/api/v3/moves/?date=2024-12-03T22:00:00", 500),
        ("/api/v3/schedules/current?date=tomorrow", 500),
    ] {
        let (status, kind, _, text) = call(&lab, "GET", path, None, None).await;
        assert_eq!(status, expected, "{path}");
        assert!(
            kind.starts_with("text/html") && text.starts_with("<!doctype html>"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn writes_need_the_admin_json_and_quads_date_formats() {
    let lab = lab(2, FaultProfile::none());
    let host = lab.inventory().hosts[1].name.clone();
    let path = format!("/api/v3/hosts/{host}");
    let patch = json!({"build": true});
    let (status, _, body, _) = call(&lab, "PATCH", &path, None, Some(patch.clone())).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (400, Some("Missing authentication data"))
    );
    let wrong = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("admin@quads.lab:nope")
    );
    let (status, _, body, _) = call(&lab, "PATCH", &path, Some(&wrong), Some(patch.clone())).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some("Invalid Credentials!"))
    );
    // not JSON: Flask's HTML 415
    let request = http::Request::patch(format!("{}{path}", lab.quads_url()))
        .header("authorization", basic(&lab))
        .body(Bytes::from_static(b"build=true"))
        .unwrap();
    let Exchange::Response(r) = lab.handle(request).await else {
        panic!()
    };
    assert_eq!(r.status().as_u16(), 415);
    // schedules: PATCH takes YYYY-MM-DDTHH:MM only, POST takes YYYY-MM-DD HH:MM only
    let auth = basic(&lab);
    let (status, _, body, _) = call(
        &lab,
        "PATCH",
        "/api/v3/schedules/1",
        Some(&auth),
        Some(json!({"build_start": "2030-01-01T10:00:00"})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("'YYYY-MM-DDTHH:MM'")
    );
    let (status, _, body, _) = call(
        &lab,
        "PATCH",
        "/api/v3/schedules/1",
        Some(&auth),
        Some(json!({"build_start": "2030-01-01T10:00", "build_end": "2030-01-01T11:00"})),
    )
    .await;
    assert_eq!(
        (status, body["build_end"].as_str()),
        (200, Some("Tue, 01 Jan 2030 11:00:00 GMT"))
    );
    let post = |start: &str| json!({"hostname": host, "cloud": "cloud02", "start": start, "end": "2099-01-01 00:00"});
    let (status, _, body, _) = call(
        &lab,
        "POST",
        "/api/v3/schedules/",
        Some(&auth),
        Some(post("2099-01-01T00:00")),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("'YYYY-MM-DD HH:MM'")
    );
    let (status, _, body, _) = call(
        &lab,
        "POST",
        "/api/v3/schedules/",
        Some(&auth),
        Some(post("2098-01-01 00:00")),
    )
    .await;
    assert_eq!(
        (status, body["host"]["name"].as_str()),
        (200, Some(host.as_str()))
    );
    // clouds and assignments
    let (status, _, _, _) = call(
        &lab,
        "POST",
        "/api/v3/clouds/",
        Some(&auth),
        Some(json!({"cloud": "cloud05"})),
    )
    .await;
    assert_eq!(status, 200);
    let new =
        json!({"cloud": "cloud05", "description": "d", "owner": "o", "ticket": "9", "wipe": true});
    let (status, _, body, _) = call(
        &lab,
        "POST",
        "/api/v3/assignments/",
        Some(&auth),
        Some(new.clone()),
    )
    .await;
    assert_eq!(
        (status, body["cloud"]["name"].as_str()),
        (200, Some("cloud05"))
    );
    let (status, _, body, _) =
        call(&lab, "POST", "/api/v3/assignments/", Some(&auth), Some(new)).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            400,
            Some("There is an already active assignment for cloud05")
        )
    );
}

#[tokio::test(start_paused = true)]
async fn a_login_token_serves_writes_until_it_expires_on_the_lab_clock() {
    let lab = lab(1, FaultProfile::none());
    let (status, _, body, _) = call(&lab, "POST", "/api/v3/login/", Some(&basic(&lab)), None).await;
    assert_eq!((status, body["status_code"].as_u64()), (200, Some(201)));
    let bearer = format!("Bearer {}", body["auth_token"].as_str().unwrap());
    let patch = Some(json!({"provisioned": true}));
    let (status, _, body, _) = call(
        &lab,
        "PATCH",
        "/api/v3/assignments/1",
        Some(&bearer),
        patch.clone(),
    )
    .await;
    assert_eq!((status, body["provisioned"].as_bool()), (200, Some(true)));
    tokio::time::advance(Duration::from_secs(6001)).await;
    let (status, _, body, _) =
        call(&lab, "PATCH", "/api/v3/assignments/1", Some(&bearer), patch).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some("Invalid Authentication token!"))
    );
    let (status, _, _, text) = call(&lab, "POST", "/api/v3/login/", Some("Basic eDp5"), None).await;
    assert_eq!((status, text.as_str()), (401, "Unauthorized Access"));
}

#[tokio::test]
async fn a_refused_host_patch_is_rolled_back_and_answered_200_with_the_old_row() {
    // a value the database refuses
    let lab = lab(1, FaultProfile::none());
    let host = lab.inventory().hosts[0].name.clone();
    let path = format!("/api/v3/hosts/{host}");
    let (status, _, row, _) = call(
        &lab,
        "PATCH",
        &path,
        Some(&basic(&lab)),
        Some(json!({"cloud": "cloud02", "last_build": "last tuesday"})),
    )
    .await;
    assert_eq!(
        (status, row["cloud"]["name"].as_str()),
        (200, Some("cloud01"))
    );
    let (_, read) = get(&lab, &path).await;
    assert_eq!(read["cloud"]["name"], "cloud01");
    // the fault knob: every host PATCH rolled back
    let lab = self::lab(
        1,
        FaultProfile::parse("none,quads_patch_rollback_rate=1").unwrap(),
    );
    let (status, _, row, _) = call(
        &lab,
        "PATCH",
        &path,
        Some(&basic(&lab)),
        Some(json!({"cloud": "cloud02"})),
    )
    .await;
    assert_eq!(
        (status, row["cloud"]["name"].as_str()),
        (200, Some("cloud01"))
    );
    assert_eq!(lab.shared().state().quads.rolled_back, 1);
    let (_, moves) = get(&lab, "/api/v3/moves/").await;
    assert_eq!(
        moves.as_array().unwrap().len(),
        1,
        "the host is still to move"
    );
}
