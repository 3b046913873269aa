//! Contract tests of the host endpoints: listing (search, pages, `per_page=all`, thin), show,
//! the one-request update, power, power state and boot.

use foreman_client::PerPage;
use foreman_client::hosts::{BootDevice, Build, HostUpdate, Owner, PowerAction};
use mockito::Matcher;
use serde_json::json;

use crate::support::{BASIC, client, index};

const HOST_7: &str = r#"{"id":7,"name":"node07.lab.example","ip":"10.1.0.7","build":false,"operatingsystem_id":3,"operatingsystem_name":"RedHat 9.4","owner_id":12,"owner_type":"User","owner_name":"cloud02","global_status":0,"hostgroup_title":"base/compute","puppet_status":0,"unknown_plugin_field":{"x":1}}"#;

#[tokio::test]
async fn list_sends_search_page_and_per_page_and_parses_the_envelope() {
    let mut server = mockito::Server::new_async().await;
    let body = index(
        &format!("[{HOST_7}]"),
        40,
        2,
        10,
        Some("name = node07.lab.example"),
    );
    let m = server
        .mock("GET", "/api/hosts")
        .match_query(Matcher::Exact(
            "search=name%20%3D%20node07.lab.example&page=2&per_page=10".into(),
        ))
        .match_header("authorization", BASIC)
        .match_header("accept", "application/json")
        .match_header("content-type", Matcher::Missing)
        .with_header("content-type", "application/json; charset=utf-8")
        .with_body(body)
        .expect(1)
        .create_async()
        .await;
    let page = client(&server)
        .hosts()
        .list()
        .search("name = node07.lab.example")
        .page(2)
        .per_page(PerPage::Count(10))
        .send()
        .await
        .unwrap();
    m.assert_async().await;
    assert_eq!(
        (page.total, page.page, page.per_page),
        (Some(40), Some(2), Some(10))
    );
    assert_eq!(page.results.len(), 1);
    let host = &page.results[0];
    assert_eq!(host.name, "node07.lab.example");
    assert_eq!(host.build_mode(), Some(Build::Disabled));
    assert_eq!(host.owner(), Some(Owner::User(12)));
}

#[tokio::test]
async fn all_walks_every_page_until_the_subtotal() {
    let mut server = mockito::Server::new_async().await;
    let hosts = |ids: &[u64]| {
        let items: Vec<String> = ids
            .iter()
            .map(|i| format!(r#"{{"id":{i},"name":"node{i:02}.lab"}}"#))
            .collect();
        format!("[{}]", items.join(","))
    };
    let mut mocks = Vec::new();
    for (page, ids) in [(1u64, vec![1u64, 2]), (2, vec![3, 4]), (3, vec![5])] {
        mocks.push(
            server
                .mock("GET", "/api/hosts")
                .match_query(Matcher::Exact(format!(
                    "search=build%20%3D%20true&page={page}&per_page=2"
                )))
                .with_body(index(&hosts(&ids), 5, page, 2, Some("build = true")))
                .expect(1)
                .create_async()
                .await,
        );
    }
    let all = client(&server)
        .hosts()
        .list()
        .search("build = true")
        .per_page(PerPage::Count(2))
        .all()
        .await
        .unwrap();
    for m in &mocks {
        m.assert_async().await;
    }
    let ids: Vec<u64> = all.iter().map(|h| h.id).collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn all_with_per_page_all_is_one_thin_request() {
    let mut server = mockito::Server::new_async().await;
    let m = server
        .mock("GET", "/api/hosts")
        .match_query(Matcher::Exact(
            "thin=true&search=build%20%3D%20true&page=1&per_page=all".into(),
        ))
        .with_body(r#"{"total":100,"subtotal":3,"page":1,"per_page":3,"search":"build = true","results":[{"id":1,"name":"a"},{"id":2,"name":"b"},{"id":3,"name":"c"}]}"#)
        .expect(1)
        .create_async()
        .await;
    let all = client(&server)
        .hosts()
        .list_thin()
        .search("build = true")
        .per_page(PerPage::All)
        .all()
        .await
        .unwrap();
    m.assert_async().await;
    assert_eq!(all.len(), 3);
    assert_eq!(all[2].name, "c");
}

#[tokio::test]
async fn plain_listing_never_sends_thin() {
    let mut server = mockito::Server::new_async().await;
    let m = server
        .mock("GET", "/api/hosts")
        .match_query(Matcher::Exact("search=build%20%3D%20true".into()))
        .with_body(index("[]", 0, 1, 20, Some("build = true")))
        .expect(1)
        .create_async()
        .await;
    let page = client(&server)
        .hosts()
        .list()
        .search("build = true")
        .send()
        .await
        .unwrap();
    m.assert_async().await;
    assert!(page.results.is_empty());
}

#[tokio::test]
async fn show_by_name_and_by_id() {
    let mut server = mockito::Server::new_async().await;
    let by_name = server
        .mock("GET", "/api/hosts/node07.lab.example")
        .match_header("authorization", BASIC)
        .with_body(HOST_7)
        .expect(1)
        .create_async()
        .await;
    let by_id = server
        .mock("GET", "/api/hosts/7")
        .match_query(Matcher::Exact("show_hidden_parameters=true".into()))
        .with_body(HOST_7)
        .expect(1)
        .create_async()
        .await;
    let c = client(&server);
    let a = c.hosts().show("node07.lab.example").send().await.unwrap();
    let b = c
        .hosts()
        .show(7)
        .reveal_hidden_values()
        .send()
        .await
        .unwrap();
    by_name.assert_async().await;
    by_id.assert_async().await;
    assert_eq!(a, b);
    assert_eq!(a.hostgroup_title.as_deref(), Some("base/compute"));
}

#[tokio::test]
async fn update_is_one_put_with_a_json_body() {
    let mut server = mockito::Server::new_async().await;
    let m = server
        .mock("PUT", "/api/hosts/node07.lab.example")
        .match_header("content-type", "application/json")
        .match_header("authorization", BASIC)
        .match_body(Matcher::Json(json!({"host": {
            "build": true, "owner_id": 12, "owner_type": "User",
            "operatingsystem_id": 3, "ptable_id": 4, "medium_name": "RHEL 9.4 mirror"
        }})))
        .with_body(HOST_7.replace(r#""build":false"#, r#""build":true"#))
        .expect(1)
        .create_async()
        .await;
    let changes = HostUpdate::new()
        .operatingsystem(3)
        .ptable(4)
        .medium("RHEL 9.4 mirror")
        .owner(Owner::User(12))
        .build(Build::Enabled);
    let host = client(&server)
        .hosts()
        .update("node07.lab.example", changes)
        .send()
        .await
        .unwrap();
    m.assert_async().await;
    assert_eq!(host.build, Some(true));
}

#[tokio::test]
async fn power_power_state_and_boot() {
    let mut server = mockito::Server::new_async().await;
    let power = server
        .mock("PUT", "/api/hosts/7/power")
        .match_header("content-type", "application/json")
        .match_body(Matcher::Json(json!({"power_action": "cycle"})))
        .with_body(r#"{"power":true}"#)
        .expect(1)
        .create_async()
        .await;
    let state = server
        .mock("GET", "/api/hosts/7/power")
        .with_body(r#"{"id":7,"state":"off","title":"Off"}"#)
        .expect(1)
        .create_async()
        .await;
    let boot = server
        .mock("PUT", "/api/hosts/7/boot")
        .match_body(Matcher::Json(json!({"device": "pxe"})))
        .with_body(r#"{"boot":{"action":"pxe","result":true}}"#)
        .expect(1)
        .create_async()
        .await;
    let c = client(&server);
    let done = c.hosts().power(7, PowerAction::Cycle).send().await.unwrap();
    assert_eq!(done.accepted(), Some(true));
    let s = c.hosts().power_state(7).send().await.unwrap();
    assert_eq!(s.state.as_deref(), Some("off"));
    let b = c.hosts().boot(7, BootDevice::Pxe).send().await.unwrap();
    assert_eq!(b.boot["result"], true);
    power.assert_async().await;
    state.assert_async().await;
    boot.assert_async().await;
}

#[tokio::test]
async fn an_unknown_power_action_answer_is_a_validation_error_with_its_text() {
    let mut server = mockito::Server::new_async().await;
    server
        .mock("PUT", "/api/hosts/7/power")
        .with_status(422)
        .with_body(r#"{"error":"Unknown power action: available methods are on, off"}"#)
        .create_async()
        .await;
    let e = client(&server)
        .hosts()
        .power(7, PowerAction::Soft)
        .send()
        .await
        .unwrap_err();
    assert!(e.is_validation());
    assert_eq!(
        e.api().unwrap().message.as_deref(),
        Some("Unknown power action: available methods are on, off")
    );
}
