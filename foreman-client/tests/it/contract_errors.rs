//! Contract tests of errors through a real client: each of Foreman's error body shapes, each
//! status class, HTML pages from the web server, decode errors, connection refusal and
//! timeouts; and `/api/status` and `/api/ping`.

use std::time::Duration;

use foreman_client::{
    ApiErrorKind, ClientConfig, Credentials, Error, ForemanClient, ForemanUrl, SessionPolicy,
    TransportError,
};
use tokio::net::TcpListener;

use crate::support::{PASSWORD, client};

async fn answer(status: usize, content_type: &str, body: &str) -> Error {
    let mut server = mockito::Server::new_async().await;
    server
        .mock("GET", "/api/hosts/node07.lab")
        .with_status(status)
        .with_header("content-type", content_type)
        .with_body(body)
        .create_async()
        .await;
    client(&server)
        .hosts()
        .show("node07.lab")
        .send()
        .await
        .unwrap_err()
}

fn no_secret(e: &Error) {
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(!shown.contains("YWRtaW46"), "{shown}");
}

#[tokio::test]
async fn each_error_body_shape_and_status() {
    let json = "application/json; charset=utf-8";
    // 401: nested object with a message, no challenge header.
    let e = answer(
        401,
        json,
        r#"{"error":{"message":"Unable to authenticate user admin"}}"#,
    )
    .await;
    assert!(e.is_unauthorized() && !e.is_retryable());
    assert_eq!(
        e.api().unwrap().message.as_deref(),
        Some("Unable to authenticate user admin")
    );
    no_secret(&e);
    // 403: access denied with the missing permission.
    let e = answer(
        403,
        json,
        r#"{"error":{"message":"Access denied","details":"Missing one of the required permissions: view_hosts","missing_permissions":["view_hosts"]}}"#,
    )
    .await;
    assert!(e.is_forbidden());
    assert_eq!(e.api().unwrap().missing_permissions, vec!["view_hosts"]);
    // 404 from RBAC or absence: the same answer.
    let e = answer(
        404,
        json,
        r#"{"error":{"message":"Resource host not found by id 'node07.lab'"}}"#,
    )
    .await;
    assert!(e.is_not_found() && !e.is_retryable());
    assert!(e.to_string().contains("GET http://"));
    assert!(e.to_string().contains("/api/hosts/node07.lab: HTTP 404"));
    // 404 with a flat message (route not found).
    let e = answer(
        404,
        json,
        r#"{"message":"Route overriden by Katello, use the /katello API endpoint instead."}"#,
    )
    .await;
    assert!(
        e.api()
            .unwrap()
            .message
            .as_deref()
            .unwrap()
            .starts_with("Route overriden")
    );
    // 422: full messages.
    let e = answer(
        422,
        json,
        r#"{"error":{"id":7,"errors":{"operatingsystem_id":["can't be blank"]},"full_messages":["Operating system can't be blank"]}}"#,
    )
    .await;
    assert!(e.is_validation());
    assert!(
        e.to_string()
            .ends_with("validation failed: Operating system can't be blank")
    );
    // 422 with the error as text.
    let e = answer(422, json, r#"{"error":"Status foo does not exist."}"#).await;
    assert_eq!(
        e.api().unwrap().message.as_deref(),
        Some("Status foo does not exist.")
    );
    // 400: a bad search.
    let e = answer(400, json, r#"{"error":{"message":"Field 'nosuch' not recognized for searching!","class":"ScopedSearch::QueryNotSupported"}}"#).await;
    assert_eq!(e.kind(), Some(ApiErrorKind::BadRequest));
    // 500 with a JSON message.
    let e = answer(
        500,
        json,
        r#"{"error":{"message":"undefined method `name' for nil:NilClass"}}"#,
    )
    .await;
    assert_eq!(e.kind(), Some(ApiErrorKind::Server));
    assert!(e.is_retryable() && e.request_may_have_been_applied());
    // 503 HTML page of a full request queue.
    let e = answer(
        503,
        "text/html",
        "<html><head><title>Service Unavailable</title></head><body><h1>This website is under heavy load (queue full)</h1></body></html>",
    )
    .await;
    assert_eq!(e.kind(), Some(ApiErrorKind::Unavailable));
    assert!(e.is_retryable() && !e.request_may_have_been_applied());
    assert!(
        e.to_string().contains("under heavy load (queue full)"),
        "{e}"
    );
    // 502 from a proxy, plain text.
    let e = answer(502, "text/plain", "Bad Gateway").await;
    assert!(e.is_retryable());
    assert!(e.to_string().ends_with("server error: Bad Gateway"));
}

#[tokio::test]
async fn an_unexpected_success_body_names_the_json_path() {
    let mut server = mockito::Server::new_async().await;
    server
        .mock("GET", "/api/hosts")
        .with_body(r#"{"total":1,"subtotal":1,"page":1,"per_page":20,"results":[{"id":"seven","name":"n"}]}"#)
        .create_async()
        .await;
    let e = client(&server).hosts().list().send().await.unwrap_err();
    match &e {
        Error::Decode { path, .. } => assert_eq!(path, "results[0].id"),
        other => panic!("{other}"),
    }
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn a_refused_connection_is_retryable_and_was_never_applied() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let config = ClientConfig::new(
        ForemanUrl::parse(&format!("http://{addr}")).unwrap(),
        Credentials::password("admin", PASSWORD),
    );
    let e = ForemanClient::new(config)
        .unwrap()
        .status()
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Transport {
                source: TransportError::Connect { .. },
                ..
            }
        ),
        "{e}"
    );
    assert!(e.is_retryable());
    assert!(!e.request_may_have_been_applied());
    no_secret(&e);
}

#[tokio::test]
async fn a_silent_server_times_out() {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let mut config = ClientConfig::new(
        ForemanUrl::parse(&format!("http://{addr}")).unwrap(),
        Credentials::password("admin", PASSWORD),
    );
    config.transport.request_timeout = Duration::from_millis(200);
    config.session = SessionPolicy::Stateless;
    let client = ForemanClient::new(config).unwrap();
    let e = client.status().send().await.unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Transport {
                source: TransportError::Timeout { .. },
                ..
            }
        ),
        "{e}"
    );
    assert!(e.is_retryable() && e.request_may_have_been_applied());
    // A per-call deadline shorter than the transport's applies too.
    let e = client
        .status()
        .timeout(Duration::from_millis(50))
        .send()
        .await
        .unwrap_err();
    match e {
        Error::Transport {
            source: TransportError::Timeout { timeout, .. },
            ..
        } => assert_eq!(timeout, Duration::from_millis(50)),
        other => panic!("{other}"),
    }
    holder.abort();
}

#[tokio::test]
async fn status_and_ping() {
    let mut server = mockito::Server::new_async().await;
    let status = server
        .mock("GET", "/api/status")
        .match_header("authorization", crate::support::BASIC)
        .with_body(r#"{"result":"ok","status":200,"version":"3.12.0","api_version":2}"#)
        .expect(1)
        .create_async()
        .await;
    let ping = server
        .mock("GET", "/api/ping")
        .with_body(r#"{"results":{"foreman":{"database":{"active":true,"duration_ms":"1"},"cache":{"servers":[{"status":"ok","duration_ms":"0"}]}}}}"#)
        .expect(1)
        .create_async()
        .await;
    let c = client(&server);
    let s = c.status().send().await.unwrap();
    assert_eq!(
        (s.version.as_deref(), s.api_version),
        (Some("3.12.0"), Some(2))
    );
    let p = c.ping().send().await.unwrap();
    assert_eq!(p.database_active(), Some(true));
    assert!(p.failing().is_empty());
    status.assert_async().await;
    ping.assert_async().await;
}

#[tokio::test]
async fn a_redirect_to_https_says_so() {
    let mut server = mockito::Server::new_async().await;
    server
        .mock("GET", "/api/status")
        .with_status(301)
        .with_header("location", "https://foreman.lab.example/api/status")
        .create_async()
        .await;
    let e = client(&server).status().send().await.unwrap_err();
    assert!(
        e.to_string()
            .contains("redirected to https://foreman.lab.example/api/status")
    );
}
