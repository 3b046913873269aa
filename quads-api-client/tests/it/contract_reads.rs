//! Contract tests of the reads: paths, queries, no credentials sent, answers parsed.

use mockito::Matcher;
use quads_api_client::{AssignmentFilter, AuthMode, CurrentSchedules, FutureSchedules, Timestamp};

use crate::support::{assignment_row, client, host_row, reader, schedule_row};

#[tokio::test]
async fn moves_are_read_with_and_without_a_date_and_no_credentials() {
    let mut server = mockito::Server::new_async().await;
    let now = server
        .mock("GET", "/api/v3/moves/")
        .match_query(Matcher::Missing)
        .match_header("authorization", Matcher::Missing)
        .with_body(r#"[{"host":"h1","current":"cloud01","new":"cloud02"},{"host":"h2","current":"cloud03","new":"cloud01"}]"#)
        .create_async()
        .await;
    let dated = server
        .mock("GET", "/api/v3/moves/")
        .match_query(Matcher::UrlEncoded(
            "date".into(),
            "2024-12-03T22:00".into(),
        ))
        .with_body("[]")
        .create_async()
        .await;
    let c = client(&server, AuthMode::Token);
    let moves = c.moves(None).await.unwrap();
    assert_eq!(moves.len(), 2);
    assert_eq!(
        (
            moves[1].host.as_str(),
            moves[1].current.as_str(),
            moves[1].new.as_str()
        ),
        ("h2", "cloud03", "cloud01")
    );
    let later = c
        .moves(Some(Timestamp::from_unix(1_733_263_230)))
        .await
        .unwrap();
    assert!(later.is_empty());
    now.assert_async().await;
    dated.assert_async().await;
}

#[tokio::test]
async fn clouds_one_cloud_and_the_empty_object() {
    let mut server = mockito::Server::new_async().await;
    let named = server
        .mock("GET", "/api/v3/clouds/")
        .match_query(Matcher::UrlEncoded("name".into(), "cloud02".into()))
        .with_body(
            r#"[{"id":2,"name":"cloud02","last_redefined":"Mon, 02 Dec 2024 10:00:00 GMT"}]"#,
        )
        .create_async()
        .await;
    let missing = server
        .mock("GET", "/api/v3/clouds/")
        .match_query(Matcher::UrlEncoded("name".into(), "cloud99".into()))
        .with_status(400)
        .with_body(r#"{"error":"Bad Request","message":"No clouds found with the given filters","status_code":400}"#)
        .create_async()
        .await;
    let all = server
        .mock("GET", "/api/v3/clouds/")
        .match_query(Matcher::Missing)
        .with_body("{}")
        .create_async()
        .await;
    let c = reader(&server);
    let cloud = c.cloud("cloud02").await.unwrap();
    assert_eq!((cloud.id, cloud.name.as_str()), (2, "cloud02"));
    assert!(c.cloud("cloud99").await.unwrap_err().is_not_found());
    assert!(c.clouds().await.unwrap().is_empty());
    named.assert_async().await;
    missing.assert_async().await;
    all.assert_async().await;
}

#[tokio::test]
async fn assignments_active_none_list_and_by_id() {
    let mut server = mockito::Server::new_async().await;
    let none = server
        .mock("GET", "/api/v3/assignments/active/cloud03/")
        .with_body("{}")
        .create_async()
        .await;
    let some = server
        .mock("GET", "/api/v3/assignments/active/cloud02/")
        .with_body(assignment_row(4, "cloud02", false, false))
        .create_async()
        .await;
    let active = server
        .mock("GET", "/api/v3/assignments/active/")
        .with_body(format!("[{}]", assignment_row(4, "cloud02", false, false)))
        .create_async()
        .await;
    let of_cloud = server
        .mock("GET", "/api/v3/assignments/")
        .match_query(Matcher::UrlEncoded("cloud".into(), "cloud02".into()))
        .with_body(format!("[{}]", assignment_row(4, "cloud02", true, true)))
        .create_async()
        .await;
    let by_id = server
        .mock("GET", "/api/v3/assignments/4/")
        .with_body(assignment_row(4, "cloud02", true, false))
        .create_async()
        .await;
    let c = reader(&server);
    assert_eq!(c.active_assignment("cloud03").await.unwrap(), None);
    let a = c.active_assignment("cloud02").await.unwrap().unwrap();
    assert_eq!(
        (
            a.id,
            a.ticket.as_deref(),
            a.owner.as_deref(),
            a.wipe,
            a.qinq
        ),
        (4, Some("1234"), Some("alice"), true, Some(0))
    );
    assert!(a.vlan.is_none() && a.active && !a.provisioned);
    assert_eq!(
        c.assignments(AssignmentFilter::Active).await.unwrap().len(),
        1
    );
    assert!(
        c.assignments(AssignmentFilter::Cloud("cloud02".into()))
            .await
            .unwrap()[0]
            .provisioned
    );
    assert!(c.assignment(4).await.unwrap().provisioned);
    for m in [none, some, active, of_cloud, by_id] {
        m.assert_async().await;
    }
}

#[tokio::test]
async fn a_host_its_interfaces_and_the_host_list() {
    let mut server = mockito::Server::new_async().await;
    let host = server
        .mock("GET", "/api/v3/hosts/h1.example.com")
        .with_body(host_row("h1.example.com", "cloud02", true))
        .create_async()
        .await;
    let interfaces = server
        .mock("GET", "/api/v3/hosts/h1.example.com/interfaces")
        .with_body(r#"[{"id":1,"name":"em1","bios_id":"NIC.Integrated.1-1-1","mac_address":"52:54:00:00:00:01",
            "switch_ip":"10.0.0.1","switch_port":"xe-0/0/1:0","speed":10000,"vendor":"Intel",
            "pxe_boot":true,"maintenance":false,"host_id":3}]"#)
        .create_async()
        .await;
    let list = server
        .mock("GET", "/api/v3/hosts/")
        .match_query(Matcher::Missing)
        .with_body(format!(
            "[{},{}]",
            host_row("h1", "cloud02", false),
            host_row("h2", "cloud01", false)
        ))
        .create_async()
        .await;
    let in_cloud = server
        .mock("GET", "/api/v3/hosts/")
        .match_query(Matcher::UrlEncoded("cloud".into(), "cloud02".into()))
        .with_body(format!("[{}]", host_row("h1", "cloud02", false)))
        .create_async()
        .await;
    let c = reader(&server);
    let h = c.host("h1.example.com").await.unwrap();
    assert_eq!(
        (h.cloud_name(), h.default_cloud_name(), h.build),
        (Some("cloud02"), Some("cloud01"), true)
    );
    assert_eq!(h.model.as_deref(), Some("R650"));
    assert_eq!(h.last_build.unwrap().unix(), 1_733_263_200);
    let nics = c.interfaces("h1.example.com").await.unwrap();
    assert_eq!(
        (
            nics[0].name.as_str(),
            nics[0].switch_port.as_deref(),
            nics[0].pxe_boot
        ),
        ("em1", Some("xe-0/0/1:0"), true)
    );
    assert_eq!(c.hosts(None).await.unwrap().len(), 2);
    assert_eq!(c.hosts(Some("cloud02")).await.unwrap().len(), 1);
    for m in [host, interfaces, list, in_cloud] {
        m.assert_async().await;
    }
}

#[tokio::test]
async fn schedules_current_all_and_by_id() {
    let mut server = mockito::Server::new_async().await;
    let current = server
        .mock("GET", "/api/v3/schedules/current")
        .match_query(Matcher::AllOf(vec![
            Matcher::UrlEncoded("host".into(), "h1".into()),
            Matcher::UrlEncoded("cloud".into(), "cloud02".into()),
        ]))
        .with_body(format!("[{}]", schedule_row(9, "h1", None)))
        .create_async()
        .await;
    let all = server
        .mock("GET", "/api/v3/schedules/")
        .match_query(Matcher::Missing)
        .with_body(format!(
            "[{},{}]",
            schedule_row(9, "h1", None),
            schedule_row(10, "h2", None)
        ))
        .create_async()
        .await;
    let by_id = server
        .mock("GET", "/api/v3/schedules/9")
        .with_body(schedule_row(9, "h1", Some("Wed, 04 Dec 2024 08:30:00 GMT")))
        .create_async()
        .await;
    let c = reader(&server);
    let now = c
        .current_schedules(CurrentSchedules {
            host: Some("h1".into()),
            cloud: Some("cloud02".into()),
            date: None,
        })
        .await
        .unwrap();
    assert_eq!(
        (now.len(), now[0].id, now[0].cloud_name()),
        (1, 9, Some("cloud02"))
    );
    assert_eq!(c.schedules(None).await.unwrap().len(), 2);
    let s = c.schedule(9).await.unwrap();
    assert_eq!(
        s.build_start.unwrap().to_minute(time::UtcOffset::UTC),
        "2024-12-04T08:30"
    );
    for m in [current, all, by_id] {
        m.assert_async().await;
    }
}

#[tokio::test]
async fn future_schedules_all_and_of_a_cloud_without_credentials() {
    let mut server = mockito::Server::new_async().await;
    let all = server
        .mock("GET", "/api/v3/schedules/future/")
        .match_query(Matcher::Missing)
        .match_header("authorization", Matcher::Missing)
        .with_body(format!(
            "[{},{}]",
            schedule_row(9, "h1", None),
            schedule_row(10, "h2", None)
        ))
        .create_async()
        .await;
    // a server that ignored the host it does not know answers every schedule: kept to h9's
    let of_host = server
        .mock("GET", "/api/v3/schedules/future/")
        .match_query(Matcher::UrlEncoded("host".into(), "h9".into()))
        .with_body(format!("[{}]", schedule_row(9, "h1", None)))
        .create_async()
        .await;
    let of_cloud = server
        .mock("GET", "/api/v3/schedules/future/")
        .match_query(Matcher::UrlEncoded("cloud".into(), "cloud02".into()))
        .with_body(format!("[{}]", schedule_row(10, "h2", None)))
        .create_async()
        .await;
    let c = reader(&server);
    let listed = c
        .future_schedules(FutureSchedules::default())
        .await
        .unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|s| (s.id, s.host_name()))
            .collect::<Vec<_>>(),
        [(9, Some("h1")), (10, Some("h2"))]
    );
    assert_eq!(
        listed[0].end.unwrap().to_minute(time::UtcOffset::UTC),
        "2024-12-17T22:00"
    );
    let none = c
        .future_schedules(FutureSchedules {
            host: Some("h9".into()),
            cloud: None,
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    let cloud02 = c
        .future_schedules(FutureSchedules {
            host: None,
            cloud: Some("cloud02".into()),
        })
        .await
        .unwrap();
    assert_eq!((cloud02.len(), cloud02[0].id), (1, 10));
    for m in [all, of_host, of_cloud] {
        m.assert_async().await;
    }
}
