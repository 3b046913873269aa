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

/// A log sink shared with the subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_reaches_a_log_line() {
    // A global subscriber: a scoped one misses callsites that other tests, running at the same
    // time without one, cached as unwanted. The logs of this crate and its HTTP stack from
    // every test of the binary land here, and none may hold a secret either.
    static CAPTURED: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    let sink = CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            let writer = captured.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(
                    "foreman_client=trace,it=trace,hyper_util=trace,hyper=trace",
                ))
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .finish();
            tracing::subscriber::set_global_default(subscriber).unwrap();
            captured
        })
        .clone();

    let mut server = mockito::Server::new_async().await;
    server
        .mock("GET", "/api/status")
        .with_header("set-cookie", "_session_id=c00kie-value; path=/")
        .with_body(STATUS)
        .create_async()
        .await;
    server
        .mock("POST", "/api/users")
        .with_status(422)
        .with_body(r#"{"error":{"full_messages":["Password t0p-secret-pw is too weak"]}}"#)
        .create_async()
        .await;
    let c = client_with(&server, SessionPolicy::KeepCookie);
    c.status().send().await.unwrap();
    c.status().send().await.unwrap();
    let e = c
        .users()
        .create(foreman_client::users::NewUser::new(
            "u",
            "u@x",
            "t0p-secret-pw",
        ))
        .send()
        .await
        .unwrap_err();
    tracing::debug!(error = %e, debug = ?e, client = ?c, "what a caller might log");

    let logs = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("foreman request"), "nothing captured: {logs}");
    for secret in ["changeme", "YWRtaW46", "c00kie-value", "t0p-secret-pw"] {
        assert!(!logs.contains(secret), "{secret} in the logs:\n{logs}");
    }
}
