//! Contract tests of host parameters: list, show by name, create, update, delete, and each
//! path of the upsert (create, update, no write, a concurrent creator).

use foreman_client::parameters::{NewParameter, ParameterType, UpsertOutcome, Visibility};
use mockito::Matcher;
use serde_json::json;

use crate::support::{BASIC, client, index};

const PARAM: &str = r#"{"id":31,"name":"cloud","value":"cloud02","parameter_type":"string","hidden_value?":false,"priority":70,"associated_type":"host","created_at":"2024-05-01 10:00:00 UTC","updated_at":"2024-05-01 10:00:00 UTC"}"#;

#[tokio::test]
async fn list_show_create_update_delete() {
    let mut server = mockito::Server::new_async().await;
    let list = server
        .mock("GET", "/api/hosts/node07.lab/parameters")
        .match_query(Matcher::Exact("per_page=all".into()))
        .with_body(index(&format!("[{PARAM}]"), 1, 1, 1, None))
        .expect(1)
        .create_async()
        .await;
    let show = server
        .mock("GET", "/api/hosts/node07.lab/parameters/cloud")
        .match_header("authorization", BASIC)
        .with_body(PARAM)
        .expect(1)
        .create_async()
        .await;
    let create = server
        .mock("POST", "/api/hosts/node07.lab/parameters")
        .match_header("content-type", "application/json")
        .match_body(Matcher::Json(json!({"parameter": {
            "name": "cloud", "value": "cloud02", "parameter_type": "string", "hidden_value": false
        }})))
        .with_status(201)
        .with_body(PARAM)
        .expect(1)
        .create_async()
        .await;
    let update = server
        .mock("PUT", "/api/hosts/node07.lab/parameters/31")
        .match_body(Matcher::Json(json!({"parameter": {
            "name": "cloud", "value": "3", "parameter_type": "integer", "hidden_value": false
        }})))
        .with_body(PARAM)
        .expect(1)
        .create_async()
        .await;
    let delete = server
        .mock("DELETE", "/api/hosts/node07.lab/parameters/cloud")
        .match_header("content-type", Matcher::Missing)
        .with_body(PARAM)
        .expect(1)
        .create_async()
        .await;

    let c = client(&server);
    let params = c.hosts().parameters("node07.lab");
    let all = params
        .list()
        .per_page(foreman_client::PerPage::All)
        .send()
        .await
        .unwrap();
    assert_eq!(all.results[0].value, json!("cloud02"));
    let p = params.show("cloud").send().await.unwrap();
    assert_eq!(
        (p.id, p.hidden_value, p.priority),
        (31, Some(false), Some(70))
    );
    params
        .create(NewParameter::new("cloud", "cloud02"))
        .send()
        .await
        .unwrap();
    params
        .update(
            31,
            NewParameter::new("cloud", "3").kind(ParameterType::Integer),
        )
        .send()
        .await
        .unwrap();
    params.delete("cloud").send().await.unwrap();
    for m in [list, show, create, update, delete] {
        m.assert_async().await;
    }
}

#[tokio::test]
async fn upsert_creates_a_missing_parameter() {
    let mut server = mockito::Server::new_async().await;
    let show = server
        .mock("GET", "/api/hosts/7/parameters/cloud")
        .match_query(Matcher::Exact("show_hidden=true".into()))
        .with_status(404)
        .with_body(r#"{"error":{"message":"Resource parameter not found by id 'cloud'"}}"#)
        .expect(1)
        .create_async()
        .await;
    let create = server
        .mock("POST", "/api/hosts/7/parameters")
        .match_body(Matcher::PartialJson(
            json!({"parameter": {"name": "cloud", "value": "cloud02"}}),
        ))
        .with_status(201)
        .with_body(PARAM)
        .expect(1)
        .create_async()
        .await;
    let done = client(&server)
        .hosts()
        .parameters(7)
        .upsert(NewParameter::new("cloud", "cloud02"))
        .await
        .unwrap();
    show.assert_async().await;
    create.assert_async().await;
    assert_eq!(done.outcome, UpsertOutcome::Created);
}

#[tokio::test]
async fn upsert_writes_nothing_when_the_value_is_already_there() {
    let mut server = mockito::Server::new_async().await;
    let show = server
        .mock("GET", "/api/hosts/7/parameters/cloud")
        .match_query(Matcher::Exact("show_hidden=true".into()))
        .with_body(PARAM)
        .expect(1)
        .create_async()
        .await;
    let writes = server
        .mock("PUT", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let done = client(&server)
        .hosts()
        .parameters(7)
        .upsert(NewParameter::new("cloud", "cloud02"))
        .await
        .unwrap();
    show.assert_async().await;
    writes.assert_async().await;
    assert_eq!(done.outcome, UpsertOutcome::Unchanged);
}

#[tokio::test]
async fn upsert_updates_a_different_value_by_id() {
    let mut server = mockito::Server::new_async().await;
    server
        .mock("GET", "/api/hosts/7/parameters/cloud")
        .match_query(Matcher::Any)
        .with_body(PARAM)
        .create_async()
        .await;
    let update = server
        .mock("PUT", "/api/hosts/7/parameters/31")
        .match_body(Matcher::Json(json!({"parameter": {
            "name": "cloud", "value": "cloud03", "parameter_type": "string", "hidden_value": true
        }})))
        .with_body(PARAM.replace("cloud02", "cloud03"))
        .expect(1)
        .create_async()
        .await;
    let done = client(&server)
        .hosts()
        .parameters(7)
        .upsert(NewParameter::new("cloud", "cloud03").visibility(Visibility::Hidden))
        .await
        .unwrap();
    update.assert_async().await;
    assert_eq!(done.outcome, UpsertOutcome::Updated);
    assert_eq!(done.parameter.value, json!("cloud03"));
}

#[tokio::test]
async fn upsert_updates_what_a_concurrent_writer_created() {
    let mut server = mockito::Server::new_async().await;
    let missing = server
        .mock("GET", "/api/hosts/7/parameters/cloud")
        .match_query(Matcher::Any)
        .with_status(404)
        .with_body(r#"{"error":{"message":"Resource parameter not found by id 'cloud'"}}"#)
        .expect(1)
        .create_async()
        .await;
    let taken = server
        .mock("POST", "/api/hosts/7/parameters")
        .with_status(422)
        .with_body(r#"{"error":{"id":null,"errors":{"name":["has already been taken"]},"full_messages":["Name has already been taken"]}}"#)
        .expect(1)
        .create_async()
        .await;
    // Mockito answers with the first matching mock still short of its expected hits: the
    // first show gets 404, the one after the 422 sees what the other writer created.
    let present = server
        .mock("GET", "/api/hosts/7/parameters/cloud")
        .match_query(Matcher::Any)
        .with_body(PARAM)
        .expect(1)
        .create_async()
        .await;
    let update = server
        .mock("PUT", "/api/hosts/7/parameters/31")
        .with_body(PARAM.replace("cloud02", "cloud03"))
        .expect(1)
        .create_async()
        .await;
    let done = client(&server)
        .hosts()
        .parameters(7)
        .upsert(NewParameter::new("cloud", "cloud03"))
        .await
        .unwrap();
    assert_eq!(done.outcome, UpsertOutcome::Updated);
    for m in [missing, taken, present, update] {
        m.assert_async().await;
    }
}

#[tokio::test]
async fn create_or_update_creates_in_one_request_and_falls_back_when_taken() {
    let mut server = mockito::Server::new_async().await;
    let create = server
        .mock("POST", "/api/hosts/7/parameters")
        .with_status(201)
        .with_body(PARAM)
        .expect(1)
        .create_async()
        .await;
    let show = server
        .mock("GET", "/api/hosts/7/parameters/cloud")
        .match_query(Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let done = client(&server)
        .hosts()
        .parameters(7)
        .create_or_update(NewParameter::new("cloud", "cloud02"))
        .await
        .unwrap();
    assert_eq!(done.outcome, UpsertOutcome::Created);
    create.assert_async().await;
    show.assert_async().await;

    let mut server = mockito::Server::new_async().await;
    let taken = server
        .mock("POST", "/api/hosts/7/parameters")
        .with_status(422)
        .with_body(r#"{"error":{"id":null,"errors":{"name":["has already been taken"]},"full_messages":["Name has already been taken"]}}"#)
        .expect(1)
        .create_async()
        .await;
    let present = server
        .mock("GET", "/api/hosts/7/parameters/cloud")
        .match_query(Matcher::Exact("show_hidden=true".into()))
        .with_body(PARAM)
        .expect(1)
        .create_async()
        .await;
    let update = server
        .mock("PUT", "/api/hosts/7/parameters/31")
        .with_body(PARAM.replace("cloud02", "cloud03"))
        .expect(1)
        .create_async()
        .await;
    let done = client(&server)
        .hosts()
        .parameters(7)
        .create_or_update(NewParameter::new("cloud", "cloud03"))
        .await
        .unwrap();
    assert_eq!(done.outcome, UpsertOutcome::Updated);
    for m in [taken, present, update] {
        m.assert_async().await;
    }
}
