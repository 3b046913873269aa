//! The fake Foreman over real loopback HTTP(S): shapes, pagination, search, RBAC, errors, the
//! build/install timeline, capacity, faults, the same-user write race and session cookies.

use std::time::Duration;

use crate::eventually;
use http::Method;
use serde_json::{Value, json};
use testkit::lab::{HostType, interfaces_order};
use testkit::machine::{OverrideEnabled, OverrideTarget, ResetType};
use testkit::probe::Answer;
use testkit::{FaultProfile, Lab, LabConfig, Probe};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn lab(hosts: usize) -> Lab {
    Lab::start(LabConfig {
        hosts,
        ..LabConfig::default()
    })
    .await
    .unwrap()
}

fn admin(lab: &Lab) -> Probe {
    let config = lab.config();
    Probe::new(lab.ca_pem()).with_basic(
        &config.foreman_admin.username,
        &config.foreman_admin.password,
    )
}

fn api(lab: &Lab, path: &str) -> String {
    format!("{}/api/{path}", lab.foreman_http_url())
}

async fn put(probe: &Probe, url: &str, body: &Value) -> Answer {
    probe.send(Method::PUT, url, &[], Some(body)).await.unwrap()
}

async fn post(probe: &Probe, url: &str, body: &Value) -> Answer {
    probe
        .send(Method::POST, url, &[], Some(body))
        .await
        .unwrap()
}

async fn get(probe: &Probe, url: &str) -> Answer {
    probe.get(url).await.unwrap()
}

/// A request with a raw body over plain HTTP (the probe only sends JSON it made itself).
async fn raw(
    lab: &Lab,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let addr = lab
        .foreman_http_url()
        .trim_start_matches("http://")
        .to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

fn basic(lab: &Lab) -> String {
    let config = lab.config();
    testkit::probe::basic_authorization(
        &config.foreman_admin.username,
        &config.foreman_admin.password,
    )
}

#[tokio::test]
async fn status_ping_and_authentication_errors() {
    let lab = lab(3).await;
    let probe = admin(&lab);
    // HTTPS and plain HTTP serve the same Foreman.
    let status = get(&probe, &format!("{}/api/status", lab.foreman_url())).await;
    assert_eq!(status.status, 200);
    let body = status.json();
    assert_eq!(body["result"], "ok");
    assert_eq!(body["status"], 200);
    assert_eq!(body["api_version"], 2);
    assert!(body["version"].as_str().unwrap().starts_with("3."));
    assert_eq!(status.header("foreman_api_version"), Some("2"));

    let anonymous = Probe::new(lab.ca_pem());
    let ping = get(&anonymous, &api(&lab, "ping")).await;
    assert_eq!(ping.status, 200);
    assert_eq!(
        ping.json()["results"]["foreman"]["database"]["active"],
        true
    );

    let denied = get(&anonymous, &api(&lab, "status")).await;
    assert_eq!(denied.status, 401);
    assert_eq!(
        denied.json(),
        json!({"error": {"message": "Unable to authenticate user "}})
    );
    assert!(denied.header("www-authenticate").is_none());
    let wrong = get(&anonymous.with_basic("admin", "nope"), &api(&lab, "hosts")).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(
        wrong.json(),
        json!({"error": {"message": "Unable to authenticate user admin"}})
    );
    assert!(wrong.header("www-authenticate").is_none());
    let metrics = lab.metrics();
    assert_eq!(metrics.foreman_auth.get("failed"), Some(&2));
    assert_eq!(metrics.endpoint("foreman GET /api/status"), 2);
}

#[tokio::test]
async fn session_cookie_authenticates_without_credentials() {
    let lab = lab(2).await;
    let probe = admin(&lab);
    let first = get(&probe, &api(&lab, "hosts?thin=1")).await;
    assert_eq!(first.status, 200);
    let set_cookie = first.header("set-cookie").unwrap().to_owned();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    assert!(cookie.starts_with("_session_id="), "{set_cookie}");
    let anonymous = Probe::new(lab.ca_pem());
    let again = anonymous
        .send(
            Method::GET,
            &api(&lab, "hosts?thin=1"),
            &[("cookie", &cookie)],
            None,
        )
        .await
        .unwrap();
    assert_eq!(again.status, 200);
    assert!(again.header("set-cookie").is_none());
    let bogus = anonymous
        .send(
            Method::GET,
            &api(&lab, "hosts"),
            &[("cookie", "_session_id=feedface")],
            None,
        )
        .await
        .unwrap();
    assert_eq!(bogus.status, 401);
    let metrics = lab.metrics();
    assert_eq!(metrics.foreman_auth.get("password"), Some(&1));
    assert_eq!(metrics.foreman_auth.get("session"), Some(&1));
    assert_eq!(metrics.foreman_auth.get("failed"), Some(&1));
}

#[tokio::test]
async fn index_pagination_search_and_thin_listing() {
    let lab = lab(45).await;
    let probe = admin(&lab);
    let page = get(&probe, &api(&lab, "hosts")).await.json();
    assert_eq!(page["total"], 45);
    assert_eq!(page["subtotal"], 45);
    assert_eq!(page["page"], 1);
    assert_eq!(page["per_page"], 20);
    assert_eq!(page["search"], Value::Null);
    assert_eq!(page["sort"], json!({"by": null, "order": null}));
    assert_eq!(page["results"].as_array().unwrap().len(), 20);
    let first = &page["results"][0];
    assert!(first["operatingsystem_name"].is_string());
    assert!(first.get("build").is_some());

    let last = get(&probe, &api(&lab, "hosts?page=3")).await.json();
    assert_eq!(last["page"], 3);
    assert_eq!(last["results"].as_array().unwrap().len(), 5);

    let all = get(&probe, &api(&lab, "hosts?per_page=all&thin=true"))
        .await
        .json();
    assert_eq!(all["per_page"], 45);
    let rows = all["results"].as_array().unwrap();
    assert_eq!(rows.len(), 45);
    for row in rows {
        let keys: Vec<&String> = row.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["id", "name"], "{row}");
    }
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    // Foreman's quirk: any value of `thin`, even `false`, means thin.
    let thin_false = get(&probe, &api(&lab, "hosts?thin=false&per_page=2"))
        .await
        .json();
    assert_eq!(thin_false["results"][0].as_object().unwrap().len(), 2);

    let inventory = lab.inventory();
    let searched = get(
        &probe,
        &api(&lab, "hosts?search=name%20~%20f02-&per_page=all"),
    )
    .await
    .json();
    assert_eq!(searched["total"], 45);
    assert_eq!(searched["subtotal"], 13);
    assert_eq!(searched["search"], "name ~ f02-");
    let one = &inventory.hosts[7].name;
    let exact = get(
        &probe,
        &api(
            &lab,
            &format!("hosts?search=name%20%3D%20{one}%20or%20id%20%3D%201&thin=1"),
        ),
    )
    .await
    .json();
    assert_eq!(exact["subtotal"], 2);
    let ordered = get(&probe, &api(&lab, "hosts?order=name%20DESC&per_page=1"))
        .await
        .json();
    assert_eq!(ordered["sort"], json!({"by": "name", "order": "DESC"}));
    assert_eq!(ordered["results"][0]["name"], *sorted.last().unwrap());

    let bad = get(&probe, &api(&lab, "hosts?search=bogus%20%3D%201")).await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.json(),
        json!({"error": {
            "message": "Field 'bogus' not recognized for searching!",
            "class": "ScopedSearch::QueryNotSupported",
        }})
    );
    assert_eq!(
        lab.metrics().endpoint("foreman GET /api/hosts"),
        8,
        "every index counted under one template"
    );
}

#[tokio::test]
async fn show_by_id_or_fqdn_with_foremans_fields() {
    let lab = lab(4).await;
    let probe = admin(&lab);
    let inventory = lab.inventory();
    let host = &inventory.hosts[2];
    let by_id = get(&probe, &api(&lab, &format!("hosts/{}", host.foreman_id))).await;
    assert_eq!(by_id.status, 200);
    let by_name = get(&probe, &api(&lab, &format!("hosts/{}", host.name))).await;
    assert_eq!(by_id.json(), by_name.json());
    let body = by_name.json();
    assert_eq!(body["id"], host.foreman_id);
    assert_eq!(body["name"], host.name.as_str());
    assert_eq!(body["mac"], host.provisioning_mac.as_str());
    assert!(body["ip"].as_str().unwrap().starts_with("192.0.2."));
    assert_eq!(body["build"], false);
    assert_eq!(body["owner_id"], 4);
    assert_eq!(body["owner_type"], "User");
    assert_eq!(body["owner_name"], "Admin User");
    assert_eq!(body["operatingsystem_name"], "RedHat 9.4");
    assert_eq!(body["ptable_name"], "Kickstart default");
    assert_eq!(body["medium_name"], "RHEL 9 mirror");
    assert_eq!(body["architecture_name"], "x86_64");
    assert_eq!(body["hostgroup_title"], "lab");
    assert_eq!(body["domain_name"], "lab.example");
    assert_eq!(body["installed_at"], Value::Null);
    assert_eq!(body["parameters"], json!([]));
    assert_eq!(body["all_parameters"], json!([]));
    assert!(body["created_at"].as_str().unwrap().ends_with(" UTC"));
    assert_eq!(body["permissions"]["edit_hosts"], true);
    assert_eq!(lab.metrics().host(&host.name).foreman_requests, 2);

    let missing = get(&probe, &api(&lab, "hosts/nope.lab.example")).await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.json(),
        json!({"error": {"message": "Resource host not found by id 'nope.lab.example'"}})
    );
    // A missing parent of a nested route answers in the other 404 shape.
    let orphan = get(&probe, &api(&lab, "hostgroups/999/hosts")).await;
    assert_eq!(orphan.status, 404);
    assert_eq!(
        orphan.json(),
        json!({"message": "Hostgroup not found by id '999'"})
    );
    let grouped = get(&probe, &api(&lab, "hostgroups/lab/hosts?thin=1"))
        .await
        .json();
    assert_eq!(grouped["total"], 4);
    // No route: Rails' HTML page.
    let nowhere = get(&probe, &api(&lab, "nowhere")).await;
    assert_eq!(nowhere.status, 404);
    assert!(
        nowhere
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
}

#[tokio::test]
async fn updates_by_name_validate_like_foreman() {
    let lab = lab(3).await;
    let probe = admin(&lab);
    let host = lab.inventory().hosts[1].clone();
    let url = api(&lab, &format!("hosts/{}", host.foreman_id));

    let ok = put(
        &probe,
        &url,
        &json!({"host": {
            "operatingsystem_name": "RedHat 8.10",
            "ptable_name": "Kickstart default thin",
            "medium_name": "RHEL 8 mirror",
            "build": true,
        }}),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let body = ok.json();
    assert_eq!(body["operatingsystem_id"], 2);
    assert_eq!(body["ptable_name"], "Kickstart default thin");
    assert_eq!(body["build"], true);
    assert!(body["initiated_at"].is_string());
    assert!(lab.with_state(|s| s.machines[1].build));

    // A name that only a substring lookup would find is unknown.
    let unknown = put(
        &probe,
        &url,
        &json!({"host": {"medium_name": "CentOS Stream 9"}}),
    )
    .await;
    assert_eq!(unknown.status, 422);
    assert_eq!(
        unknown.json(),
        json!({"error": {"message": "Could not find medium with name: CentOS Stream 9"}})
    );
    let bad_id = put(&probe, &url, &json!({"host": {"operatingsystem_id": 999}})).await;
    assert_eq!(bad_id.status, 422);
    assert_eq!(bad_id.json()["error"]["id"], host.foreman_id);
    assert_eq!(
        bad_id.json()["error"]["errors"]["operatingsystem_id"],
        json!(["is invalid"])
    );
    // The medium must be the operating system's: nothing is applied.
    let mismatch = put(&probe, &url, &json!({"medium_name": "CentOS Stream"})).await;
    assert_eq!(mismatch.status, 422);
    let errors = &mismatch.json()["error"];
    assert_eq!(
        errors["errors"]["medium_id"],
        json!([
            "must belong to host's operating system",
            "CentOS Stream does not belong to RedHat 8.10 operating system"
        ])
    );
    assert_eq!(
        errors["full_messages"][0],
        "Medium must belong to host's operating system"
    );
    let owner = put(&probe, &url, &json!({"host": {"owner_id": 77}})).await;
    assert_eq!(
        owner.json()["error"]["errors"]["owner"],
        json!(["There is no owner with id 77 and type User"])
    );
    let after = get(&probe, &url).await.json();
    assert_eq!(after["medium_name"], "RHEL 8 mirror");
    assert_eq!(after["owner_id"], 4);

    // `build=true` is searchable, and `*_name` lookups use Foreman's title rules.
    let building = get(&probe, &api(&lab, "hosts?search=build%20%3D%20true&thin=1"))
        .await
        .json();
    assert_eq!(building["subtotal"], 1);
    assert_eq!(building["results"][0]["name"], host.name.as_str());
    let titled = put(
        &probe,
        &url,
        &json!({"host": {"operatingsystem_name": "RHEL 9.6", "medium_id": 5, "build": false}}),
    )
    .await;
    assert_eq!(titled.json()["operatingsystem_id"], 5);
    assert_eq!(titled.json()["build"], false);
    let metrics = lab.metrics();
    assert_eq!(metrics.endpoint("foreman PUT /api/hosts/:id"), 6);
    assert_eq!(metrics.host(&host.name).foreman_requests, 7);
}

#[tokio::test]
async fn media_type_and_json_errors() {
    let lab = lab(1).await;
    let probe = admin(&lab);
    let url = api(&lab, "hosts/1");
    let bare = probe.send(Method::PUT, &url, &[], None).await.unwrap();
    assert_eq!(bare.status, 415);
    assert_eq!(
        bare.json(),
        json!({"error": {"message": "Media type in 'Content-Type: ' is unsupported in API v2 for POST and PUT requests. Please use 'Content-Type: application/json'."}})
    );
    let text = probe
        .send(
            Method::POST,
            &api(&lab, "users"),
            &[("content-type", "text/plain")],
            None,
        )
        .await
        .unwrap();
    assert_eq!(text.status, 415);
    let auth = basic(&lab);
    let (status, body) = raw(
        &lab,
        "PUT",
        "/api/hosts/1",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        "{\"host\": ",
    )
    .await;
    assert_eq!(status, 400);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("There was a problem in the JSON you submitted: "),
        "{body}"
    );
    // The body is parsed before authentication, as in Rails.
    let (status, _) = raw(
        &lab,
        "PUT",
        "/api/hosts/1",
        &[("Content-Type", "application/json")],
        "nope",
    )
    .await;
    assert_eq!(status, 400);
    // PATCH is an update and is not checked for its media type.
    let patched = probe
        .send(Method::PATCH, &url, &[], Some(&json!({"comment": "x"})))
        .await
        .unwrap();
    assert_eq!(patched.status, 200);
    assert_eq!(patched.json()["comment"], "x");
}

#[tokio::test]
async fn host_parameters_by_id_or_name() {
    let lab = lab(2).await;
    let probe = admin(&lab);
    let host = lab.inventory().hosts[0].clone();
    let params = api(&lab, &format!("hosts/{}/parameters", host.name));
    let created = post(
        &probe,
        &params,
        &json!({"parameter": {"name": "cloud", "value": "cloud02", "parameter_type": "string"}}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].as_u64().unwrap();
    assert_eq!(created.json()["value"], "cloud02");
    let by_name = get(&probe, &format!("{params}/cloud")).await.json();
    let by_id = get(&probe, &format!("{params}/{id}")).await.json();
    assert_eq!(by_name, by_id);
    let updated = put(
        &probe,
        &format!("{params}/cloud"),
        &json!({"parameter": {"value": "cloud03"}}),
    )
    .await;
    assert_eq!(updated.status, 200);
    assert_eq!(updated.json()["value"], "cloud03");
    let found = get(
        &probe,
        &api(&lab, "hosts?search=params.cloud%20%3D%20cloud03&thin=1"),
    )
    .await
    .json();
    assert_eq!(found["subtotal"], 1);
    assert_eq!(found["results"][0]["name"], host.name.as_str());

    let duplicate = post(
        &probe,
        &params,
        &json!({"parameter": {"name": "cloud", "value": "x"}}),
    )
    .await;
    assert_eq!(duplicate.status, 422);
    assert_eq!(
        duplicate.json()["error"]["errors"]["name"],
        json!(["has already been taken"])
    );
    let typed = post(
        &probe,
        &params,
        &json!({"parameter": {"name": "wipe", "value": "maybe", "parameter_type": "boolean"}}),
    )
    .await;
    assert_eq!(
        typed.json()["error"]["full_messages"],
        json!(["Value is invalid boolean"])
    );
    let missing = get(&probe, &format!("{params}/nope")).await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.json(),
        json!({"error": {"message": "Resource parameter not found by id 'nope'"}})
    );
    let index = get(&probe, &params).await.json();
    assert_eq!(index["total"], 1);
    let shown = get(&probe, &api(&lab, &format!("hosts/{}", host.foreman_id)))
        .await
        .json();
    assert_eq!(shown["parameters"][0]["name"], "cloud");
    let deleted = probe
        .send(Method::DELETE, &format!("{params}/{id}"), &[], None)
        .await
        .unwrap();
    assert_eq!(deleted.status, 200);
    assert_eq!(get(&probe, &params).await.json()["total"], 0);
    let metrics = lab.metrics();
    assert_eq!(
        metrics.endpoint("foreman GET /api/hosts/:host_id/parameters/:id"),
        3
    );
    assert_eq!(metrics.host(&host.name).foreman_requests, 11);
    assert_eq!(metrics.total_overlapping_writes(), 0);
}

/// Creates a tenant: a user, a role whose filter lets it view and edit its own hosts only.
async fn tenant(lab: &Lab, probe: &Probe, login: &str) -> (u64, u64) {
    let user = post(
        probe,
        &api(lab, "users"),
        &json!({"user": {"login": login, "mail": format!("{login}@lab.example"), "password": "tenant-pw", "auth_source_id": 1}}),
    )
    .await;
    assert_eq!(user.status, 201, "{}", user.text());
    let user_id = user.json()["id"].as_u64().unwrap();
    let role = post(probe, &api(lab, "roles"), &json!({"role": {"name": login}})).await;
    assert_eq!(role.status, 201, "{}", role.text());
    let role_id = role.json()["id"].as_u64().unwrap();
    let permissions = get(
        probe,
        &api(
            lab,
            "permissions?search=name%20%5E%20(view_hosts%2C%20edit_hosts)&per_page=all",
        ),
    )
    .await
    .json();
    let ids: Vec<u64> = permissions["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    let filter = post(
        probe,
        &api(lab, "filters"),
        &json!({"filter": {"role_id": role_id, "search": "owner = current_user", "permission_ids": ids}}),
    )
    .await;
    assert_eq!(filter.status, 201, "{}", filter.text());
    assert_eq!(filter.json()["unlimited?"], false);
    assert_eq!(filter.json()["resource_type"], "Host");
    let assigned = put(
        probe,
        &api(lab, &format!("users/{user_id}")),
        &json!({"user": {"role_ids": [role_id]}}),
    )
    .await;
    assert_eq!(assigned.status, 200, "{}", assigned.text());
    (user_id, role_id)
}

#[tokio::test]
async fn a_tenant_sees_and_edits_only_its_own_hosts() {
    let lab = lab(5).await;
    let probe = admin(&lab);
    let (user_id, _) = tenant(&lab, &probe, "cloud02").await;
    for host in [1, 2] {
        let given = put(
            &probe,
            &api(&lab, &format!("hosts/{host}")),
            &json!({"host": {"owner_id": user_id, "owner_type": "User"}}),
        )
        .await;
        assert_eq!(given.status, 200);
    }
    let me = Probe::new(lab.ca_pem()).with_basic("cloud02", "tenant-pw");
    let mine = get(&me, &api(&lab, "hosts?thin=1")).await.json();
    assert_eq!(mine["total"], 2);
    let ids: Vec<u64> = mine["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_u64().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [1, 2]);
    let other = get(&me, &api(&lab, "hosts/3")).await;
    assert_eq!(other.status, 404);
    assert_eq!(
        other.json(),
        json!({"error": {"message": "Resource host not found by id '3'"}})
    );
    let other_write = put(
        &me,
        &api(&lab, "hosts/3"),
        &json!({"host": {"build": true}}),
    )
    .await;
    assert_eq!(other_write.status, 404);
    assert!(!lab.with_state(|s| s.machines[2].build));
    let own_write = put(
        &me,
        &api(&lab, "hosts/1"),
        &json!({"host": {"build": true}}),
    )
    .await;
    assert_eq!(own_write.status, 200);
    assert_eq!(own_write.json()["permissions"]["destroy_hosts"], false);
    let users = get(&me, &api(&lab, "users")).await;
    assert_eq!(users.status, 403);
    assert_eq!(
        users.json(),
        json!({"error": {
            "message": "Access denied",
            "details": "Missing one of the required permissions: view_users",
            "missing_permissions": ["view_users"],
        }})
    );
    let params = get(&me, &api(&lab, "hosts/1/parameters")).await;
    assert_eq!(params.status, 403);
    // Searching works within what the tenant may see; `owner` matches the login.
    let search = get(&me, &api(&lab, "hosts?search=owner%20%3D%20cloud02&thin=1"))
        .await
        .json();
    assert_eq!(search["subtotal"], 2);
    let admins = get(&me, &api(&lab, "hosts?search=owner%20%3D%20admin&thin=1"))
        .await
        .json();
    assert_eq!(admins["subtotal"], 0);
}

#[tokio::test]
async fn role_ids_replace_the_list_and_default_role_stays() {
    let lab = lab(1).await;
    let probe = admin(&lab);
    let (user_id, role_id) = tenant(&lab, &probe, "cloud03").await;
    let roles_url = api(&lab, &format!("users/{user_id}/roles"));
    let names = |body: Value| -> Vec<String> {
        let mut names: Vec<String> = body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        names(get(&probe, &roles_url).await.json()),
        ["Default role", "cloud03"]
    );
    let viewer = get(&probe, &api(&lab, "roles/Viewer")).await.json()["id"]
        .as_u64()
        .unwrap();
    let replaced = put(
        &probe,
        &api(&lab, &format!("users/{user_id}")),
        &json!({"user": {"role_ids": [viewer]}}),
    )
    .await;
    assert_eq!(replaced.status, 200);
    // The user's `roles` lists givable roles only: not "Default role".
    assert_eq!(
        replaced.json()["roles"],
        json!([{"name": "Viewer", "id": viewer, "description": "Role granting read only access. Users with this role can see all data but can not do any modifications", "origin": "foreman"}])
    );
    assert_eq!(
        names(get(&probe, &roles_url).await.json()),
        ["Default role", "Viewer"]
    );
    let cleared = put(
        &probe,
        &api(&lab, "users/cloud03"),
        &json!({"user": {"role_ids": []}}),
    )
    .await;
    assert_eq!(cleared.status, 200);
    assert_eq!(
        names(get(&probe, &roles_url).await.json()),
        ["Default role"]
    );
    let members = get(&probe, &api(&lab, &format!("roles/{role_id}/users")))
        .await
        .json();
    assert_eq!(members["total"], 0);
    let unknown = put(
        &probe,
        &api(&lab, &format!("users/{user_id}")),
        &json!({"user": {"role_ids": [role_id, 9999]}}),
    )
    .await;
    assert_eq!(unknown.status, 422);
    assert_eq!(
        unknown.json(),
        json!({"error": {"message": format!("Couldn't find all Roles with 'id': ({role_id}, 9999) (found 1 results, but was looking for 2). Couldn't find Role with id 9999.")}})
    );
    let locked = put(
        &probe,
        &api(&lab, &format!("roles/{viewer}")),
        &json!({"role": {"name": "Watcher"}}),
    )
    .await;
    assert_eq!(locked.status, 422);
    assert_eq!(
        locked.json()["error"]["full_messages"],
        json!(["This role is locked from being modified by users."])
    );
    let bad_filter = post(
        &probe,
        &api(&lab, &format!("roles/{role_id}/filters")),
        &json!({"filter": {"search": "nope = 1", "permission_ids": [1]}}),
    )
    .await;
    assert_eq!(bad_filter.status, 422);
    assert_eq!(
        bad_filter.json()["error"]["errors"]["search"],
        json!(["invalid search query: Field 'nope' not recognized for searching!"])
    );
}

#[tokio::test]
async fn password_change_then_basic_auth_with_the_new_one() {
    let lab = lab(1).await;
    let probe = admin(&lab);
    let (user_id, _) = tenant(&lab, &probe, "cloud04").await;
    let changed = put(
        &probe,
        &api(&lab, &format!("users/{user_id}")),
        &json!({"user": {"password": "new-secret"}}),
    )
    .await;
    assert_eq!(changed.status, 200);
    let old = get(
        &Probe::new(lab.ca_pem()).with_basic("cloud04", "tenant-pw"),
        &api(&lab, "hosts"),
    )
    .await;
    assert_eq!(old.status, 401);
    let new = get(
        &Probe::new(lab.ca_pem()).with_basic("cloud04", "new-secret"),
        &api(&lab, "hosts"),
    )
    .await;
    assert_eq!(new.status, 200);
    // Changing one's own password needs the current one.
    let me = Probe::new(lab.ca_pem()).with_basic("cloud04", "new-secret");
    let refused = put(
        &me,
        &api(&lab, &format!("users/{user_id}")),
        &json!({"user": {"password": "x"}}),
    )
    .await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        refused.json()["error"]["errors"]["current_password"],
        json!(["Incorrect password"])
    );
    let own = put(
        &me,
        &api(&lab, &format!("users/{user_id}")),
        &json!({"user": {"password": "third", "current_password": "new-secret"}}),
    )
    .await;
    assert_eq!(own.status, 200, "{}", own.text());
    let current = get(
        &Probe::new(lab.ca_pem()).with_basic("cloud04", "third"),
        &api(&lab, "current_user"),
    )
    .await;
    assert_eq!(current.json()["login"], "cloud04");
}

#[tokio::test]
async fn usergroup_members_are_replaced_as_a_whole() {
    let lab = lab(1).await;
    let probe = admin(&lab);
    let (a, _) = tenant(&lab, &probe, "cloud05").await;
    let (b, _) = tenant(&lab, &probe, "cloud06").await;
    let group = post(
        &probe,
        &api(&lab, "usergroups"),
        &json!({"usergroup": {"name": "tenants", "user_ids": [a]}}),
    )
    .await;
    assert_eq!(group.status, 201, "{}", group.text());
    let id = group.json()["id"].as_u64().unwrap();
    let replaced = put(
        &probe,
        &api(&lab, &format!("usergroups/{id}")),
        &json!({"usergroup": {"user_ids": [b]}}),
    )
    .await;
    let users: Vec<u64> = replaced.json()["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_u64().unwrap())
        .collect();
    assert_eq!(users, [b]);
    let listed = get(&probe, &api(&lab, "usergroups/tenants/users"))
        .await
        .json();
    assert_eq!(listed["total"], 1);
    let taken = post(
        &probe,
        &api(&lab, "usergroups"),
        &json!({"usergroup": {"name": "tenants"}}),
    )
    .await;
    assert_eq!(
        taken.json()["error"]["errors"]["name"],
        json!(["has already been taken"])
    );
}

#[tokio::test]
async fn a_network_boot_with_build_installs_then_foreman_shows_built() {
    let mut config = LabConfig {
        hosts: 2,
        time_scale: 0.001,
        ..LabConfig::default()
    };
    config.model.foreman.install = 2000.0;
    let lab = Lab::start(config).await.unwrap();
    let probe = admin(&lab);
    let inventory = lab.inventory();
    let (building, idle) = (&inventory.hosts[0], &inventory.hosts[1]);
    let set = put(
        &probe,
        &api(&lab, &format!("hosts/{}", building.name)),
        &json!({"host": {"build": true}}),
    )
    .await;
    assert_eq!(set.status, 200);
    let physics = lab.shared().clone();
    lab.with_state(|state| {
        for machine in &mut state.machines {
            machine.boot_order = interfaces_order(&machine.model, HostType::Foreman);
            machine.override_target = OverrideTarget::Pxe;
            machine.override_enabled = OverrideEnabled::Once;
            machine
                .reset(ResetType::ForceRestart, physics.physics())
                .unwrap();
        }
    });
    let url = api(&lab, &format!("hosts/{}", building.name));
    let (lab_ref, probe_ref, url_ref) = (&lab, &probe, &url);
    let installing = eventually(Duration::from_secs(10), || async move {
        lab_ref.with_state(|s| s.machines[0].installing())
    })
    .await;
    assert!(
        installing,
        "the network boot with build=true starts an install"
    );
    assert_eq!(get(&probe, &url).await.json()["build"], true);
    let built = eventually(Duration::from_secs(30), || async move {
        get(probe_ref, url_ref).await.json()["build"] == false
    })
    .await;
    assert!(built, "Foreman shows the host built after the install");
    let body = get(&probe, &url).await.json();
    assert!(body["installed_at"].is_string());
    assert_eq!(body["build_status_label"], "Installed");
    let waiting = get(&probe, &api(&lab, "hosts?search=build%3Dtrue&thin=1"))
        .await
        .json();
    assert_eq!(waiting["subtotal"], 0);
    // The other host booted from the network too, but without build=true: no install.
    let metrics = lab.metrics();
    assert_eq!(metrics.host(&building.name).installs, 1);
    assert_eq!(metrics.host(&idle.name).installs, 0);
    assert_eq!(
        get(&probe, &api(&lab, &format!("hosts/{}", idle.name)))
            .await
            .json()["installed_at"],
        Value::Null
    );
}

#[tokio::test]
async fn past_capacity_and_backlog_foreman_answers_503_html() {
    let mut config = LabConfig {
        hosts: 1,
        time_scale: 0.01,
        faults: FaultProfile {
            foreman_backlog: Some(2),
            ..FaultProfile::none()
        },
        ..LabConfig::default()
    };
    config.model.foreman.capacity = 2;
    config.model.foreman.status = 30.0;
    config.model.foreman.sigma = 0.0;
    let lab = Lab::start(config).await.unwrap();
    let probe = admin(&lab);
    let url = api(&lab, "status");
    let answers = futures_join(12, || {
        let (probe, url) = (probe.clone(), url.clone());
        async move { probe.get(&url).await.unwrap() }
    })
    .await;
    let refused: Vec<&Answer> = answers.iter().filter(|a| a.status == 503).collect();
    let served = answers.iter().filter(|a| a.status == 200).count();
    assert!(
        !refused.is_empty(),
        "a flood past capacity + backlog is refused"
    );
    assert!(served >= 4, "capacity and backlog are served: {served}");
    assert_eq!(refused.len() + served, 12);
    for answer in &refused {
        assert!(
            answer
                .header("content-type")
                .unwrap()
                .starts_with("text/html")
        );
        assert!(answer.text().contains("Service Unavailable"));
    }
    let metrics = lab.metrics();
    assert_eq!(metrics.foreman_peak_in_service, 2);
    assert!(metrics.foreman_peak_queued <= 2);
    assert_eq!(metrics.foreman_refused, refused.len() as u64);
    assert_eq!(
        metrics.statuses.get("foreman 503").copied().unwrap_or(0),
        refused.len() as u64
    );
}

/// Runs `n` copies of a future at once and collects their outputs.
async fn futures_join<F, Fut, T>(n: usize, make: F) -> Vec<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|_| tokio::spawn(make())).collect();
    let mut out = Vec::with_capacity(n);
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

/// A one-host lab with `faults`, the admin's probe and the host's URL.
async fn one_host(seed: u64, faults: FaultProfile) -> (Lab, Probe, String) {
    let lab = Lab::start(LabConfig {
        hosts: 1,
        seed,
        faults,
        ..LabConfig::default()
    })
    .await
    .unwrap();
    let probe = admin(&lab);
    let url = api(&lab, "hosts/1");
    (lab, probe, url)
}

#[tokio::test]
async fn seeded_faults_happen_at_their_rate_and_apply_nothing() {
    let outcomes = |seed: u64| async move {
        let faults = FaultProfile {
            foreman_error_rate: 0.25,
            foreman_reset_rate: 0.1,
            ..FaultProfile::none()
        };
        let (lab, probe, url) = one_host(seed, faults).await;
        let mut outcomes = Vec::new();
        for i in 0..200 {
            let answer = probe
                .send(
                    Method::PUT,
                    &url,
                    &[],
                    Some(&json!({"host": {"comment": format!("c{i}")}})),
                )
                .await;
            let status = answer.map(|a| a.status.as_u16()).unwrap_or(0);
            let comment = lab.with_state(|s| s.foreman.hosts[0].comment.clone());
            match status {
                200 => assert_eq!(comment, format!("c{i}")),
                500 | 0 => assert_ne!(comment, format!("c{i}"), "a fault applies nothing"),
                other => panic!("unexpected status {other}"),
            }
            outcomes.push(status);
        }
        let metrics = lab.metrics();
        let count = |s: u16| outcomes.iter().filter(|o| **o == s).count();
        assert_eq!(
            metrics.statuses.get("foreman 500").copied().unwrap_or(0),
            count(500) as u64
        );
        assert_eq!(
            metrics.statuses.get("foreman 0").copied().unwrap_or(0),
            count(0) as u64
        );
        outcomes
    };
    let first = outcomes(7).await;
    let errors = first.iter().filter(|s| **s == 500).count();
    let resets = first.iter().filter(|s| **s == 0).count();
    assert!((30..=72).contains(&errors), "500s: {errors}");
    assert!((8..=34).contains(&resets), "resets: {resets}");
    assert_eq!(
        first,
        outcomes(7).await,
        "faults are a function of the seed"
    );
}

#[tokio::test]
async fn ambiguous_faults_apply_what_they_say_and_are_counted() {
    let faults = FaultProfile {
        foreman_applied_reset_rate: 0.15,
        foreman_applied_504_rate: 0.15,
        foreman_gateway_rate: 0.15,
        ..FaultProfile::none()
    };
    let (lab, probe, url) = one_host(11, faults).await;
    let (mut lost_applied, mut unapplied, mut gateway_statuses) = (0u64, 0u64, Vec::new());
    for i in 0..200 {
        let body = json!({"host": {"comment": format!("c{i}")}});
        let answer = probe.send(Method::PUT, &url, &[], Some(&body)).await;
        let applied = lab.with_state(|s| s.foreman.hosts[0].comment.clone()) == format!("c{i}");
        match answer {
            Ok(a) if a.status == 200 => assert!(applied),
            Ok(a) => {
                assert!([502, 503, 504].contains(&a.status.as_u16()), "{}", a.status);
                assert!(a.text().contains("<html>"), "the proxy's HTML page");
                gateway_statuses.push(a.status.as_u16());
                if applied {
                    assert_eq!(a.status, 504, "only a 504 may follow an applied write");
                    lost_applied += 1;
                } else {
                    unapplied += 1;
                }
            }
            Err(_) => {
                assert!(applied, "a reset here is always after the commit");
                lost_applied += 1;
            }
        }
    }
    let metrics = lab.metrics();
    let applied_faults =
        metrics.faults_of("foreman applied-reset") + metrics.faults_of("foreman applied-504");
    assert_eq!(lost_applied, applied_faults);
    assert_eq!(unapplied, metrics.faults_of("foreman gateway"));
    assert!(metrics.faults_of("foreman applied-504") > 10);
    assert!(metrics.faults_of("foreman applied-reset") > 10);
    for status in [502, 503, 504] {
        assert!(gateway_statuses.contains(&status), "{status} seen");
    }
    // reads are never applied-and-lost: only the proxy pages can meet them
    for _ in 0..50 {
        if let Ok(a) = probe.get(&url).await {
            assert!([200, 502, 503, 504].contains(&a.status.as_u16()));
        } else {
            panic!("a read is never reset by the applied faults");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_hung_foreman_request_never_answers() {
    let lab = Lab::start(LabConfig {
        hosts: 1,
        time_scale: 1.0,
        faults: FaultProfile {
            foreman_hang_rate: 1.0,
            ..FaultProfile::none()
        },
        ..LabConfig::default()
    })
    .await
    .unwrap();
    let probe = admin(&lab);
    let url = api(&lab, "hosts/1");
    let body = json!({"host": {"comment": "hung"}});
    let answer = tokio::time::timeout(
        Duration::from_secs(60),
        probe.send(Method::PUT, &url, &[], Some(&body)),
    )
    .await;
    assert!(answer.is_err(), "no answer within the deadline");
    assert_ne!(
        lab.with_state(|s| s.foreman.hosts[0].comment.clone()),
        "hung"
    );
    assert_eq!(lab.metrics().faults_of("foreman hang"), 1);
    let ended = super::bmc::wait_for_hang_end(&lab, "foreman").await;
    assert!((60.0..61.0).contains(&ended.longest), "{ended:?}");
}

#[tokio::test]
async fn overlapping_writes_to_one_user_lose_the_later_update() {
    let mut config = LabConfig {
        hosts: 1,
        time_scale: 0.01,
        ..LabConfig::default()
    };
    config.model.foreman.rbac_write = 40.0;
    config.model.foreman.sigma = 0.0;
    let lab = Lab::start(config).await.unwrap();
    let probe = admin(&lab);
    let (user_id, _) = tenant(&lab, &probe, "cloud07").await;
    let url = api(&lab, &format!("users/{user_id}"));
    let write = |name: &'static str| {
        let (probe, url) = (probe.clone(), url.clone());
        tokio::spawn(async move { put(&probe, &url, &json!({"user": {"firstname": name}})).await })
    };
    let (a, b) = (write("Alpha"), write("Bravo"));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 500]);
    let (won, lost) = if a.status == 200 { (&a, &b) } else { (&b, &a) };
    assert_eq!(
        lost.json(),
        json!({"error": {"message": "Attempted to update a stale object: User."}})
    );
    let firstname = won.json()["firstname"].clone();
    assert_eq!(
        get(&probe, &url).await.json()["firstname"],
        firstname,
        "the later update is lost"
    );
    let metrics = lab.metrics();
    assert_eq!(
        metrics.overlapping_writes.get(&format!("user/{user_id}")),
        Some(&1)
    );
    // Writes one after the other never race.
    assert_eq!(
        put(&probe, &url, &json!({"user": {"firstname": "Charlie"}}))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn personal_access_tokens_authenticate_until_revoked() {
    let lab = lab(1).await;
    let probe = admin(&lab);
    let (user_id, _) = tenant(&lab, &probe, "cloud08").await;
    let me = Probe::new(lab.ca_pem()).with_basic("cloud08", "tenant-pw");
    // A user shows itself by login and manages its own tokens without any user permission.
    let shown = get(&me, &api(&lab, "users/cloud08")).await;
    assert_eq!(shown.status, 200);
    assert_eq!(get(&me, &api(&lab, "users/admin")).await.status, 403);
    let tokens = api(&lab, &format!("users/{user_id}/personal_access_tokens"));
    let created = post(&me, &tokens, &json!({"personal_access_token": {"name": "quads", "expires_at": "2099-01-01 00:00:00 UTC"}})).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let body = created.json();
    let value = body["token_value"].as_str().unwrap().to_owned();
    assert_eq!(value.len(), 22);
    assert_eq!(body["active?"], true);
    assert_eq!(body["expires_at"], "2099-01-01 00:00:00 UTC");
    let id = body["id"].as_u64().unwrap();
    let with_token = Probe::new(lab.ca_pem()).with_basic("cloud08", &value);
    assert_eq!(
        get(&with_token, &api(&lab, "hosts?thin=1")).await.status,
        200
    );
    let listed = get(&probe, &tokens).await.json();
    assert_eq!(listed["total"], 1);
    assert!(listed["results"][0]["last_used_at"].is_string());
    assert!(listed["results"][0].get("token_value").is_none());
    let past = post(
        &me,
        &tokens,
        &json!({"personal_access_token": {"name": "old", "expires_at": "2001-01-01"}}),
    )
    .await;
    assert_eq!(
        past.json()["error"]["errors"]["expires_at"],
        json!(["cannot be in the past"])
    );
    let unknown_user = get(&probe, &api(&lab, "users/nobody/personal_access_tokens")).await;
    assert_eq!(unknown_user.status, 422);
    assert_eq!(
        unknown_user.json(),
        json!({"error": {"message": "Couldn't find User with 'id'=nobody"}})
    );
    let revoked = probe
        .send(Method::DELETE, &format!("{tokens}/{id}"), &[], None)
        .await
        .unwrap();
    assert_eq!(revoked.status, 200);
    assert_eq!(revoked.json()["revoked?"], true);
    assert_eq!(
        get(&with_token, &api(&lab, "hosts?thin=1")).await.status,
        401
    );
    let metrics = lab.metrics();
    assert_eq!(metrics.foreman_auth.get("token"), Some(&1));
}

#[tokio::test]
async fn thirty_failed_logins_lock_out_logins_but_not_sessions() {
    let lab = lab(1).await;
    let probe = admin(&lab);
    let first = get(&probe, &api(&lab, "status")).await;
    let cookie = first
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let intruder = Probe::new(lab.ca_pem()).with_basic("admin", "guess");
    for _ in 0..30 {
        assert_eq!(get(&intruder, &api(&lab, "status")).await.status, 401);
    }
    let locked = get(&probe, &api(&lab, "status")).await;
    assert_eq!(locked.status, 401);
    assert_eq!(
        locked.json(),
        json!({"error": {"message": "Too many tries, please try again in a few minutes."}})
    );
    let session = Probe::new(lab.ca_pem())
        .send(
            Method::GET,
            &api(&lab, "status"),
            &[("cookie", &cookie)],
            None,
        )
        .await
        .unwrap();
    assert_eq!(session.status, 200);
}
