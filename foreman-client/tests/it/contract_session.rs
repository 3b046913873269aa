//! Contract tests of authentication: Basic credentials on every request (password or token),
//! Foreman's session cookie kept and sent back, the first request going alone, and a 401
//! dropping the cookie.

use std::sync::Arc;

use foreman_client::{ClientConfig, Credentials, ForemanClient, ForemanUrl, SessionPolicy};
use mockito::Matcher;

use crate::support::{BASIC, client_with};

const STATUS: &str = r#"{"result":"ok","status":200,"version":"3.12.0","api_version":2}"#;

#[tokio::test]
async fn the_session_cookie_is_kept_and_sent_back_with_the_credentials() {
    let mut server = mockito::Server::new_async().await;
    let first = server
        .mock("GET", "/api/status")
        .match_header("authorization", BASIC)
        .match_header("cookie", Matcher::Missing)
        .with_header(
            "set-cookie",
            "_session_id=0123abcd; path=/; secure; HttpOnly; SameSite=Lax",
        )
        .with_body(STATUS)
        .expect(1)
        .create_async()
        .await;
    let later = server
        .mock("GET", "/api/status")
        .match_header("authorization", BASIC)
        .match_header("cookie", "_session_id=0123abcd")
        .with_body(STATUS)
        .expect(2)
        .create_async()
        .await;
    let c = client_with(&server, SessionPolicy::KeepCookie);
    c.status().send().await.unwrap();
    assert!(c.has_session_cookie());
    c.status().send().await.unwrap();
    c.status().send().await.unwrap();
    first.assert_async().await;
    later.assert_async().await;
    assert!(!format!("{c:?}").contains("0123abcd"));
}

#[tokio::test]
async fn concurrent_first_requests_wait_for_the_cookie() {
    let mut server = mockito::Server::new_async().await;
    let without = server
        .mock("GET", "/api/status")
        .match_header("cookie", Matcher::Missing)
        .with_header("set-cookie", "_session_id=s1; path=/")
        .with_body(STATUS)
        .expect(1)
        .create_async()
        .await;
    let with = server
        .mock("GET", "/api/status")
        .match_header("cookie", "_session_id=s1")
        .with_body(STATUS)
        .expect(19)
        .create_async()
        .await;
    let c = Arc::new(client_with(&server, SessionPolicy::KeepCookie));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move { c.status().send().await }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    without.assert_async().await;
    with.assert_async().await;
}

#[tokio::test]
async fn a_401_drops_the_cookie() {
    let mut server = mockito::Server::new_async().await;
    let login = server
        .mock("GET", "/api/status")
        .match_header("cookie", Matcher::Missing)
        .with_header("set-cookie", "_session_id=old")
        .with_body(STATUS)
        .expect(2)
        .create_async()
        .await;
    let refused = server
        .mock("GET", "/api/status")
        .match_header("cookie", "_session_id=old")
        .with_status(401)
        .with_body(r#"{"error":{"message":"Unable to authenticate user admin"}}"#)
        .expect(1)
        .create_async()
        .await;
    let c = client_with(&server, SessionPolicy::KeepCookie);
    c.status().send().await.unwrap();
    assert!(c.status().send().await.unwrap_err().is_unauthorized());
    assert!(!c.has_session_cookie());
    // The next request logs in with the credentials alone.
    c.status().send().await.unwrap();
    login.assert_async().await;
    refused.assert_async().await;
}

#[tokio::test]
async fn stateless_clients_never_send_a_cookie() {
    let mut server = mockito::Server::new_async().await;
    let m = server
        .mock("GET", "/api/status")
        .match_header("cookie", Matcher::Missing)
        .with_header("set-cookie", "_session_id=ignored")
        .with_body(STATUS)
        .expect(2)
        .create_async()
        .await;
    let c = client_with(&server, SessionPolicy::Stateless);
    c.status().send().await.unwrap();
    c.status().send().await.unwrap();
    m.assert_async().await;
}

#[tokio::test]
async fn a_personal_access_token_is_sent_as_basic() {
    let mut server = mockito::Server::new_async().await;
    let m = server
        .mock("GET", "/api/status")
        // base64("svc-quads:tok-0123")
        .match_header("authorization", "Basic c3ZjLXF1YWRzOnRvay0wMTIz")
        .match_header(
            "user-agent",
            Matcher::Regex("^quads-rs-foreman-client/".into()),
        )
        .with_body(STATUS)
        .expect(1)
        .create_async()
        .await;
    let config = ClientConfig::new(
        ForemanUrl::parse(&server.url()).unwrap(),
        Credentials::token("svc-quads", "tok-0123"),
    );
    let c = ForemanClient::new(config).unwrap();
    c.status().send().await.unwrap();
    m.assert_async().await;
    assert!(!format!("{c:?} {:?}", c.config()).contains("tok-0123"));
}
