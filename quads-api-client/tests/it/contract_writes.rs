//! Contract tests of the writes: `PATCH` and `POST` bodies and their date formats, JSON content
//! type, and the read-back that catches a host `PATCH` rolled back yet answered 200.

use mockito::Matcher;
use quads_api_client::writes::{CreateAssignment, CreateSchedule};
use quads_api_client::{AssignmentPatch, AuthMode, Error, HostPatch, SchedulePatch, Timestamp};
use serde_json::json;

use crate::support::{BASIC, assignment_row, client, host_row, schedule_row};

fn moved() -> HostPatch {
    HostPatch {
        cloud: Some("cloud02".into()),
        build: Some(true),
        last_build: Some(Timestamp::from_unix(1_733_263_200)),
        validated: Some(false),
        ..HostPatch::default()
    }
}

#[tokio::test]
async fn a_host_patch_is_json_in_minutes_and_verified_by_a_read() {
    let mut server = mockito::Server::new_async().await;
    let patch = server
        .mock("PATCH", "/api/v3/hosts/h1")
        .match_header("authorization", BASIC)
        .match_header("content-type", "application/json")
        .match_body(Matcher::Json(json!({
            "cloud": "cloud02", "build": true, "last_build": "2024-12-03T22:00", "validated": false
        })))
        .with_body(host_row("h1", "cloud02", true))
        .create_async()
        .await;
    let read = server
        .mock("GET", "/api/v3/hosts/h1")
        .match_header("authorization", Matcher::Missing)
        .with_body(host_row("h1", "cloud02", true))
        .create_async()
        .await;
    let c = client(&server, AuthMode::Basic);
    let host = c.patch_host_verified("h1", &moved()).await.unwrap();
    assert_eq!(host.cloud_name(), Some("cloud02"));
    patch.assert_async().await;
    read.assert_async().await;
}

#[tokio::test]
async fn a_rolled_back_host_patch_answered_200_with_the_old_row_is_not_applied() {
    let mut server = mockito::Server::new_async().await;
    // QUADS's safe_commit rolled the change back and answered the row as it was
    let patch = server
        .mock("PATCH", "/api/v3/hosts/h1")
        .with_body(host_row("h1", "cloud01", false))
        .create_async()
        .await;
    let read = server
        .mock("GET", "/api/v3/hosts/h1")
        .with_body(host_row("h1", "cloud01", false))
        .create_async()
        .await;
    let c = client(&server, AuthMode::Basic);
    // the plain write returns what the server answered: the old row
    assert_eq!(
        c.patch_host("h1", &moved()).await.unwrap().cloud_name(),
        Some("cloud01")
    );
    let err = c.patch_host_verified("h1", &moved()).await.unwrap_err();
    match &err {
        Error::NotApplied {
            what,
            field,
            wanted,
            got,
        } => {
            assert_eq!((what.as_str(), *field), ("host h1", "cloud"));
            assert_eq!(
                (wanted.as_str(), got.as_str()),
                ("\"cloud02\"", "\"cloud01\"")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.is_retryable());
    patch.expect(2).assert_async().await;
    read.assert_async().await;
}

#[tokio::test]
async fn assignment_and_schedule_patches_are_verified() {
    let mut server = mockito::Server::new_async().await;
    let patch_a = server
        .mock("PATCH", "/api/v3/assignments/4")
        .match_body(Matcher::Json(
            json!({"provisioned": true, "validated": false}),
        ))
        .with_body(assignment_row(4, "cloud02", true, false))
        .create_async()
        .await;
    let read_a = server
        .mock("GET", "/api/v3/assignments/4/")
        .with_body(assignment_row(4, "cloud02", true, false))
        .create_async()
        .await;
    let patch_s = server
        .mock("PATCH", "/api/v3/schedules/9")
        .match_body(Matcher::Json(
            json!({"build_start": "2024-12-04T08:30", "build_end": "2024-12-04T08:30"}),
        ))
        .with_body(schedule_row(9, "h1", Some("Wed, 04 Dec 2024 08:30:00 GMT")))
        .create_async()
        .await;
    let read_s = server
        .mock("GET", "/api/v3/schedules/9")
        .with_body(schedule_row(9, "h1", None))
        .create_async()
        .await;
    let c = client(&server, AuthMode::Basic);
    let a = c
        .patch_assignment_verified(
            4,
            &AssignmentPatch {
                provisioned: Some(true),
                validated: Some(false),
                ..AssignmentPatch::default()
            },
        )
        .await
        .unwrap();
    assert!(a.provisioned);
    let at = Timestamp::from_unix(1_733_301_000 + 45);
    let err = c
        .patch_schedule_verified(
            9,
            &SchedulePatch {
                build_start: Some(at),
                build_end: Some(at),
                ..SchedulePatch::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotApplied {
                field: "build_start",
                ..
            }
        ),
        "{err}"
    );
    for m in [patch_a, read_a, patch_s, read_s] {
        m.assert_async().await;
    }
}

#[tokio::test]
async fn posts_of_cloud_assignment_and_schedule() {
    let mut server = mockito::Server::new_async().await;
    let cloud = server
        .mock("POST", "/api/v3/clouds/")
        .match_body(Matcher::Json(json!({"cloud": "cloud05"})))
        .with_body(r#"{"id":5,"name":"cloud05","last_redefined":"Tue, 03 Dec 2024 22:00:00 GMT"}"#)
        .create_async()
        .await;
    let assignment = server
        .mock("POST", "/api/v3/assignments/")
        .match_body(Matcher::Json(json!({
            "cloud": "cloud05", "description": "perf", "owner": "alice", "ticket": "1234",
            "wipe": true, "qinq": 1, "ccuser": "bob,carol"
        })))
        .with_body(assignment_row(8, "cloud05", false, false))
        .create_async()
        .await;
    let schedule = server
        .mock("POST", "/api/v3/schedules/")
        .match_body(Matcher::Json(json!({
            "hostname": "h1", "cloud": "cloud05", "start": "2024-12-03 22:00", "end": "2024-12-17 22:00"
        })))
        .with_body(schedule_row(11, "h1", None))
        .create_async()
        .await;
    let c = client(&server, AuthMode::Basic);
    assert_eq!(c.create_cloud("cloud05").await.unwrap().id, 5);
    let a = c
        .create_assignment(&CreateAssignment {
            cloud: "cloud05".into(),
            description: "perf".into(),
            owner: "alice".into(),
            ticket: "1234".into(),
            qinq: Some(1),
            wipe: true,
            ccuser: vec!["bob".into(), "carol".into()],
            vlan: None,
        })
        .await
        .unwrap();
    assert_eq!(a.id, 8);
    let s = c
        .create_schedule(&CreateSchedule {
            host: "h1".into(),
            cloud: "cloud05".into(),
            start: Timestamp::from_unix(1_733_263_200),
            end: Timestamp::from_unix(1_734_472_800),
        })
        .await
        .unwrap();
    assert_eq!(s.id, 11);
    for m in [cloud, assignment, schedule] {
        m.assert_async().await;
    }
}
