//! Contract tests of authentication: Basic on writes only, one login for many writes, a token
//! renewed when due and once after a 401, and no secret in any message.

use mockito::Matcher;
use quads_api_client::{
    AuthMode, ClientConfig, Credentials, Error, HostPatch, QuadsClient, QuadsUrl, TokenPolicy,
};
use std::time::Duration;

use crate::support::{BASIC, PASSWORD, client, host_row, reader};

const LOGIN: &str =
    r#"{"status_code":201,"status":"success","message":"Successful login","auth_token":"tok-1"}"#;

fn patch() -> HostPatch {
    HostPatch {
        build: Some(false),
        switch_config_applied: Some(false),
        ..HostPatch::default()
    }
}

#[tokio::test]
async fn one_login_serves_many_writes_with_a_bearer_token() {
    let mut server = mockito::Server::new_async().await;
    let login = server
        .mock("POST", "/api/v3/login/")
        .match_header("authorization", BASIC)
        .with_body(LOGIN)
        .expect(1)
        .create_async()
        .await;
    let writes = server
        .mock("PATCH", "/api/v3/hosts/h1")
        .match_header("authorization", "Bearer tok-1")
        .with_body(host_row("h1", "cloud01", false))
        .expect(3)
        .create_async()
        .await;
    let c = client(&server, AuthMode::Token);
    for _ in 0..3 {
        c.patch_host("h1", &patch()).await.unwrap();
    }
    login.assert_async().await;
    writes.assert_async().await;
    let shown = format!("{c:?}");
    assert!(!shown.contains("tok-1") && !shown.contains(PASSWORD));
}

#[tokio::test]
async fn a_refused_token_is_renewed_once() {
    let mut server = mockito::Server::new_async().await;
    let logins = server
        .mock("POST", "/api/v3/login/")
        .with_body(LOGIN)
        .expect(2)
        .create_async()
        .await;
    // the server forgot the token (restart, new secret key): 401, then a new login succeeds
    let refused = server
        .mock("PATCH", "/api/v3/hosts/h1")
        .with_status(401)
        .with_body(r#"{"message":"Invalid Authentication token!","error":"Unauthorized"}"#)
        .expect(2)
        .create_async()
        .await;
    let c = client(&server, AuthMode::Token);
    let err = c.patch_host("h1", &patch()).await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    assert!(err.to_string().contains("Invalid Authentication token!"));
    assert!(!err.to_string().contains("tok-1"));
    logins.assert_async().await;
    refused.assert_async().await;
}

#[tokio::test]
async fn a_token_due_for_renewal_is_not_sent() {
    let mut server = mockito::Server::new_async().await;
    let logins = server
        .mock("POST", "/api/v3/login/")
        .with_body(LOGIN)
        .expect(2)
        .create_async()
        .await;
    let writes = server
        .mock("PATCH", "/api/v3/hosts/h1")
        .match_header("authorization", "Bearer tok-1")
        .with_body(host_row("h1", "cloud01", false))
        .expect(2)
        .create_async()
        .await;
    let mut config = ClientConfig::new(QuadsUrl::parse(&server.url()).unwrap())
        .with_credentials(Credentials::new("admin@example.com", PASSWORD));
    // renewed as soon as it is got: every write logs in first
    config.token = TokenPolicy {
        lifetime: Duration::from_secs(60),
        renew_before: Duration::from_secs(60),
    };
    let c = QuadsClient::new(config).unwrap();
    c.patch_host("h1", &patch()).await.unwrap();
    c.patch_host("h1", &patch()).await.unwrap();
    logins.assert_async().await;
    writes.assert_async().await;
}

#[tokio::test]
async fn refused_credentials_and_no_credentials() {
    let mut server = mockito::Server::new_async().await;
    let login = server
        .mock("POST", "/api/v3/login/")
        .with_status(401)
        .with_body("Unauthorized Access")
        .create_async()
        .await;
    let never = server
        .mock("PATCH", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let c = client(&server, AuthMode::Token);
    let err = c.patch_host("h1", &patch()).await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    assert!(!err.to_string().contains(PASSWORD) && !format!("{err:?}").contains(PASSWORD));
    let err = reader(&server)
        .patch_host("h1", &patch())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    assert!(err.to_string().contains("credentials"));
    login.assert_async().await;
    never.assert_async().await;
}

#[tokio::test]
async fn a_login_answer_without_token_is_an_auth_error_without_the_body() {
    let mut server = mockito::Server::new_async().await;
    let login = server
        .mock("POST", "/api/v3/login/")
        .with_body(r#"{"status_code":401,"status":"fail","message":"User does not exist."}"#)
        .create_async()
        .await;
    let c = client(&server, AuthMode::Token);
    let err = c.login().await.unwrap_err();
    assert!(
        err.is_unauthorized() && err.to_string().contains("User does not exist."),
        "{err}"
    );
    login.assert_async().await;
}
