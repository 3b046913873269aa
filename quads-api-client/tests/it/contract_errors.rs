//! Contract tests of QUADS's error shapes: 400 for not-found, HTML 404 for an unknown route,
//! HTML 500 for an id or date it cannot read, a transport failure, an answer of the wrong shape.

use quads_api_client::{AuthMode, Error, Timestamp};

use crate::support::{HTML_404, HTML_500, client, reader};

#[tokio::test]
async fn not_found_is_a_400_with_json() {
    let mut server = mockito::Server::new_async().await;
    let host = server
        .mock("GET", "/api/v3/hosts/nope.example.com")
        .with_status(400)
        .with_header("content-type", "application/json")
        .with_body(r#"{"error":"Bad Request","message":"Host not found: nope.example.com","status_code":400}"#)
        .create_async()
        .await;
    let cloud = server
        .mock("GET", "/api/v3/assignments/active/cloud99/")
        .with_status(400)
        .with_body(
            r#"{"error":"Bad Request","message":"Cloud not found: cloud99","status_code":400}"#,
        )
        .create_async()
        .await;
    let c = reader(&server);
    let err = c.host("nope.example.com").await.unwrap_err();
    match &err {
        Error::NotFound { what, .. } => assert_eq!(what, "Host not found: nope.example.com"),
        other => panic!("{other:?}"),
    }
    assert!(!err.is_retryable());
    assert!(
        c.active_assignment("cloud99")
            .await
            .unwrap_err()
            .is_not_found()
    );
    host.assert_async().await;
    cloud.assert_async().await;
}

#[tokio::test]
async fn an_unknown_route_is_an_html_404_named_not_copied() {
    let mut server = mockito::Server::new_async().await;
    let page = server
        .mock("GET", "/api/v3/moves/")
        .with_status(404)
        .with_header("content-type", "text/html; charset=utf-8")
        .with_body(HTML_404)
        .create_async()
        .await;
    let err = reader(&server).moves(None).await.unwrap_err();
    assert!(matches!(err, Error::UnknownRoute { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("QUADS 2.x") && !text.contains('<') && !text.contains("spelling"),
        "{text}"
    );
    page.assert_async().await;
}

#[tokio::test]
async fn a_date_the_server_cannot_read_is_an_html_500() {
    let mut server = mockito::Server::new_async().await;
    let page = server
        .mock("GET", "/api/v3/moves/")
        .match_query(mockito::Matcher::Any)
        .with_status(500)
        .with_header("content-type", "text/html; charset=utf-8")
        .with_body(HTML_500)
        .create_async()
        .await;
    let err = reader(&server)
        .moves(Some(Timestamp::from_unix(0)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Server { .. }), "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    assert!(!err.to_string().contains('<'));
    assert!(!err.is_retryable(), "the same request fails the same way");
    page.assert_async().await;
}

#[tokio::test]
async fn a_refused_patch_argument_is_a_bad_request() {
    let mut server = mockito::Server::new_async().await;
    let refused = server
        .mock("PATCH", "/api/v3/schedules/9")
        .with_status(400)
        .with_body(r#"{"error":"Bad Request","message":"Invalid date range for build_start or build_end, build_start must be before build_end","status_code":400}"#)
        .create_async()
        .await;
    let c = client(&server, AuthMode::Basic);
    let err = c
        .patch_schedule(
            9,
            &quads_api_client::SchedulePatch {
                build_start: Some(Timestamp::from_unix(60)),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BadRequest { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("build_start must be before build_end")
    );
    refused.assert_async().await;
}

#[tokio::test]
async fn a_wrong_shape_names_the_json_path() {
    let mut server = mockito::Server::new_async().await;
    let odd = server
        .mock("GET", "/api/v3/moves/")
        .with_body(r#"[{"host":"h1","current":"cloud01"}]"#)
        .create_async()
        .await;
    let err = reader(&server).moves(None).await.unwrap_err();
    match &err {
        Error::Decode { path, reason, .. } => {
            assert_eq!(path, "[0]");
            assert!(reason.contains("new"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    odd.assert_async().await;
}

#[tokio::test]
async fn no_server_is_a_retryable_transport_error() {
    // a port nothing listens on: bind one, then let it go
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let c = quads_api_client::QuadsClient::new(quads_api_client::ClientConfig::new(
        quads_api_client::QuadsUrl::parse(&format!("http://{addr}")).unwrap(),
    ))
    .unwrap();
    let err = c.moves(None).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.is_retryable() && !err.request_may_have_been_applied());
}
