//! Client core: sessions, Basic fallback, re-login, logout paths, session cap, discovery
//! coalescing, retries, error contents.

use std::time::Duration;

use mockito::Matcher;
use redfish_client::{
    AuthMode, CancellationToken, ClientConfig, Credentials, Error, PowerState, SessionPolicy,
    Vendor,
};
use serde_json::json;

use crate::common::{Fake, Flavor, PASSWORD, TOKEN, client_with, json_body, test_config};
use crate::mock_bmc::{MockBmc, SESSIONS};

fn system_on(flavor: Flavor) -> serde_json::Value {
    json!({"@odata.id": flavor.system(), "Id": "1", "PowerState": "On"})
}

#[tokio::test]
async fn one_session_is_shared_by_concurrent_requests_and_deleted_on_logout() {
    let mut fake = MockBmc::new(Flavor::Idrac9).bare().build().await;
    let login = fake
        .mock("POST", SESSIONS)
        .match_body(Matcher::Json(
            json!({"UserName": "root", "Password": PASSWORD}),
        ))
        .with_status(201)
        .with_header("X-Auth-Token", TOKEN)
        .with_header("Location", "/redfish/v1/SessionService/Sessions/1")
        .expect(1)
        .create_async()
        .await;
    let logout = fake
        .mock("DELETE", "/redfish/v1/SessionService/Sessions/1")
        .match_header("x-auth-token", TOKEN)
        .with_status(200)
        .expect(1)
        .create_async()
        .await;
    let systems_hits = fake
        .read("/redfish/v1/Systems")
        .with_body(json_body(&crate::common::collection(&[
            Flavor::Idrac9.system()
        ])))
        .expect(1)
        .create_async()
        .await;
    let managers_hits = fake
        .read("/redfish/v1/Managers")
        .with_body(json_body(&crate::common::collection(&[
            Flavor::Idrac9.manager()
        ])))
        .expect(1)
        .create_async()
        .await;
    fake.get("/redfish/v1/Chassis", &crate::common::collection(&[]))
        .await;
    fake.get(
        Flavor::Idrac9.manager(),
        &json!({"Model": "14G Monolithic"}),
    )
    .await;
    fake.get(Flavor::Idrac9.system(), &system_on(Flavor::Idrac9))
        .await;

    let client = fake.client();
    let bmc = fake.bmc(&client);
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let bmc = bmc.clone();
        tasks.push(tokio::spawn(async move { bmc.power_state().await }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), PowerState::On);
    }
    assert!(bmc.has_session());
    assert_eq!(client.open_sessions(), 1);
    let d = bmc.discovery().await.unwrap();
    assert_eq!(d.vendor, Vendor::Dell);
    assert_eq!(d.system, Flavor::Idrac9.system());
    assert!(bmc.logout().await.unwrap());
    assert!(!bmc.has_session());
    login.assert_async().await;
    logout.assert_async().await;
    systems_hits.assert_async().await;
    managers_hits.assert_async().await;
}

#[tokio::test]
async fn the_same_handle_is_returned_for_the_same_bmc_and_user() {
    let fake = MockBmc::new(Flavor::Generic).build().await;
    let client = fake.client();
    let a = fake.bmc(&client);
    let b = fake.bmc(&client);
    let other = client.bmc(fake.address(), Credentials::new("tenant", "pw"));
    a.login().await.unwrap();
    assert!(b.has_session(), "b shares a's session");
    assert!(!other.has_session());
}

#[tokio::test]
async fn basic_auth_when_the_bmc_has_no_session_service() {
    let mut fake = Fake {
        server: mockito::Server::new_async().await,
        flavor: Flavor::Generic,
        keep: Vec::new(),
        logout: None,
    };
    let root = json!({
        "RedfishVersion": "1.0.2",
        "Systems": {"@odata.id": "/redfish/v1/Systems"},
        "Managers": {"@odata.id": "/redfish/v1/Managers"}
    });
    let _root = fake
        .mock("GET", "/redfish/v1")
        .with_body(root.to_string())
        .create_async()
        .await;
    let basic = format!("Basic {}", base64_of(&format!("root:{PASSWORD}")));
    for (path, body) in [
        (
            "/redfish/v1/Systems",
            crate::common::collection(&["/redfish/v1/Systems/1"]),
        ),
        (
            "/redfish/v1/Managers",
            crate::common::collection(&["/redfish/v1/Managers/1"]),
        ),
        ("/redfish/v1/Managers/1", json!({"Id": "1"})),
        (
            "/redfish/v1/Systems/1",
            json!({"Id": "1", "PowerState": "Off"}),
        ),
    ] {
        let m = fake
            .mock("GET", path)
            .match_header("authorization", basic.as_str())
            .with_body(body.to_string())
            .create_async()
            .await;
        fake.keep.push(m);
    }
    let no_login = fake
        .mock("POST", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    assert_eq!(bmc.power_state().await.unwrap(), PowerState::Off);
    assert!(bmc.uses_basic_auth());
    assert!(!bmc.logout().await.unwrap());
    no_login.assert_async().await;
}

fn base64_of(text: &str) -> String {
    // A tiny encoder so the test does not share the library's.
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::test]
async fn session_limit_falls_back_to_basic_auth() {
    let mut fake = MockBmc::new(Flavor::Idrac9).bare().build().await;
    let full = fake
        .mock("POST", SESSIONS)
        .with_status(503)
        .with_body(r#"{"error":{"@Message.ExtendedInfo":[{"Message":"The maximum number of user sessions is reached.","MessageId":"IDRAC.2.4.RAC0218"}]}}"#)
        .expect(1)
        .create_async()
        .await;
    let basic = format!("Basic {}", base64_of(&format!("root:{PASSWORD}")));
    let system = fake
        .mock("GET", Flavor::Idrac9.system())
        .match_header("authorization", basic.as_str())
        .with_body(system_on(Flavor::Idrac9).to_string())
        .create_async()
        .await;
    for (path, body) in [
        (
            "/redfish/v1/Systems",
            crate::common::collection(&[Flavor::Idrac9.system()]),
        ),
        (
            "/redfish/v1/Managers",
            crate::common::collection(&[Flavor::Idrac9.manager()]),
        ),
        ("/redfish/v1/Chassis", crate::common::collection(&[])),
        (Flavor::Idrac9.manager(), json!({"Model": "14G Monolithic"})),
    ] {
        let m = fake
            .mock("GET", path)
            .match_header("authorization", basic.as_str())
            .with_body(body.to_string())
            .create_async()
            .await;
        fake.keep.push(m);
    }
    let client = fake.client();
    let bmc = fake.bmc(&client);
    assert_eq!(bmc.power_state().await.unwrap(), PowerState::On);
    assert!(bmc.uses_basic_auth());
    full.assert_async().await;
    system.assert_async().await;
}

#[tokio::test]
async fn session_limit_is_retried_when_basic_is_not_allowed() {
    let mut fake = MockBmc::new(Flavor::Idrac9).bare().build().await;
    let full = fake
        .mock("POST", SESSIONS)
        .with_status(503)
        .with_body(r#"{"error":{"@Message.ExtendedInfo":[{"Message":"The maximum number of user sessions is reached.","MessageId":"IDRAC.2.4.RAC0218"}]}}"#)
        .expect(2)
        .create_async()
        .await;
    fake.sessions().await;
    fake.discovery().await;
    fake.get(Flavor::Idrac9.system(), &system_on(Flavor::Idrac9))
        .await;
    let config = ClientConfig {
        session: SessionPolicy {
            mode: AuthMode::SessionOnly,
            max_sessions_per_bmc: 2,
        },
        ..test_config()
    };
    let client = client_with(config);
    let bmc = fake.bmc(&client);
    assert_eq!(bmc.power_state().await.unwrap(), PowerState::On);
    assert!(bmc.has_session());
    full.assert_async().await;
}

#[tokio::test]
async fn a_401_mid_run_logs_in_again_once() {
    let mut fake = MockBmc::new(Flavor::Generic).bare().build().await;
    let first = fake
        .mock("POST", SESSIONS)
        .with_status(201)
        .with_header("X-Auth-Token", "old")
        .with_header("Location", "/redfish/v1/SessionService/Sessions/1")
        .expect(1)
        .create_async()
        .await;
    let second = fake
        .mock("POST", SESSIONS)
        .with_status(201)
        .with_header("X-Auth-Token", TOKEN)
        .with_header("Location", "/redfish/v1/SessionService/Sessions/2")
        .expect(1)
        .create_async()
        .await;
    let expired = fake
        .mock("GET", Matcher::Any)
        .match_header("x-auth-token", "old")
        .with_status(401)
        .expect(1)
        .create_async()
        .await;
    fake.discovery().await;
    fake.get(Flavor::Generic.system(), &system_on(Flavor::Generic))
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    assert_eq!(bmc.power_state().await.unwrap(), PowerState::On);
    first.assert_async().await;
    second.assert_async().await;
    expired.assert_async().await;
}

#[tokio::test]
async fn a_second_401_is_an_error_not_a_loop() {
    let mut fake = MockBmc::new(Flavor::Generic).no_discovery().build().await;
    let rejected = fake
        .mock("GET", "/redfish/v1/Systems")
        .with_status(401)
        .expect(2)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let err = bmc.power_state().await.unwrap_err();
    assert_eq!(err.status(), Some(http::StatusCode::UNAUTHORIZED));
    rejected.assert_async().await;
}

#[tokio::test]
async fn refused_credentials_name_the_user_not_the_password() {
    let mut fake = MockBmc::new(Flavor::Idrac9).bare().build().await;
    let _refused = fake
        .mock("POST", SESSIONS)
        .with_status(401)
        .with_body(r#"{"error":{"@Message.ExtendedInfo":[{"Message":"Unable to complete the operation because an invalid username and/or password is entered.","MessageId":"IDRAC.2.8.SYS415"}]}}"#)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let err = bmc.login().await.unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    let text = format!("{err} {err:?} {bmc:?} {client:?}");
    assert!(text.contains("root"));
    assert!(text.contains("invalid username"));
    assert!(text.contains(&fake.address().to_string()));
    assert!(!text.contains(PASSWORD), "{text}");
}

#[tokio::test]
async fn close_all_logs_out_every_session_and_refuses_new_ones() {
    let a = MockBmc::new(Flavor::Idrac9).build().await;
    let b = MockBmc::new(Flavor::Generic).build().await;
    let client = a.client();
    let bmc_a = a.bmc(&client);
    let bmc_b = b.bmc(&client);
    bmc_a.login().await.unwrap();
    bmc_b.login().await.unwrap();
    assert_eq!(client.open_sessions(), 2);
    assert_eq!(client.close_all().await, 2);
    assert_eq!(client.open_sessions(), 0);
    assert!(matches!(bmc_a.login().await, Err(Error::Closed { .. })));
    assert!(a.logged_out().await);
    assert!(b.logged_out().await);
}

#[tokio::test]
async fn a_guard_logs_out_when_closed() {
    let fake = MockBmc::new(Flavor::Supermicro).build().await;
    let client = fake.client();
    let guard = fake.bmc(&client).guard();
    guard.login().await.unwrap();
    assert!(guard.close().await.unwrap());
    assert!(fake.logged_out().await);
}

#[tokio::test]
async fn dropping_the_last_handle_logs_out() {
    let fake = MockBmc::new(Flavor::Supermicro).build().await;
    let client = fake.client();
    {
        let bmc = fake.bmc(&client);
        bmc.login().await.unwrap();
    }
    // The logout was spawned; wait for it to arrive, with a deadline.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !fake.logged_out().await {
        assert!(tokio::time::Instant::now() < deadline, "no logout arrived");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn gets_are_retried_on_5xx_writes_are_not() {
    let mut fake = MockBmc::new(Flavor::Generic).build().await;
    let sys = Flavor::Generic.system();
    let flaky = fake
        .mock("GET", sys)
        .with_status(500)
        .expect(2)
        .create_async()
        .await;
    fake.get(sys, &system_on(Flavor::Generic)).await;
    let failing_write = fake
        .mock(
            "POST",
            format!("{sys}/Actions/ComputerSystem.Reset").as_str(),
        )
        .with_status(500)
        .with_body(r#"{"error":{"message":"internal"}}"#)
        .expect(1)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    assert_eq!(bmc.power_state().await.unwrap(), PowerState::On);
    flaky.assert_async().await;
    // a restart leaves the system on whether it landed or not: no read decides it
    let err = bmc
        .reset(
            redfish_client::ResetType::GracefulRestart,
            &CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(http::StatusCode::INTERNAL_SERVER_ERROR));
    assert!(err.to_string().contains("ComputerSystem.Reset"), "{err}");
    failing_write.assert_async().await;
}

/// A boot override PATCH answered 500 (it may have landed) is decided by reading the override
/// again: not sent again where the read shows it set, sent again where it does not.
#[tokio::test]
async fn a_boot_override_whose_answer_was_lost_is_decided_by_a_read() {
    let sys = Flavor::Generic.system();
    let system = |target: &str, enabled: &str| {
        json!({"@odata.id": sys, "Id": "1", "PowerState": "On", "Boot": {
            "BootSourceOverrideTarget": target,
            "BootSourceOverrideEnabled": enabled,
            "BootSourceOverrideTarget@Redfish.AllowableValues": ["None", "Pxe", "Hdd"],
        }})
    };
    // (reads showing it unset, PATCHes in all)
    for (unset_reads, patches) in [(1, 1), (2, 2)] {
        let mut fake = MockBmc::new(Flavor::Generic).build().await;
        let unset = fake
            .mock("GET", sys)
            .with_status(200)
            .with_header("content-type", "application/json")
            .with_body(json_body(&system("None", "Disabled")))
            .expect(unset_reads)
            .create_async()
            .await;
        fake.get(sys, &system("Pxe", "Once")).await;
        let lost = fake
            .mock("PATCH", sys)
            .with_status(500)
            .with_body(r#"{"error":{"message":"internal"}}"#)
            .expect(1)
            .create_async()
            .await;
        let again = fake
            .mock("PATCH", sys)
            .match_body(Matcher::PartialJson(json!({"Boot": {
                "BootSourceOverrideTarget": "Pxe",
                "BootSourceOverrideEnabled": "Once",
            }})))
            .with_status(204)
            .expect(patches - 1)
            .create_async()
            .await;
        let client = fake.client();
        let bmc = fake.bmc(&client);
        let change = bmc
            .pxe_once()
            .await
            .unwrap_or_else(|e| panic!("{unset_reads} unset reads: {e}"));
        assert_eq!(change, redfish_client::SettingsChange::Applied);
        unset.assert_async().await;
        lost.assert_async().await;
        again.assert_async().await;
    }
}

/// A `ForceOff` answered 500 (it may have landed) is decided by reading the power state: not
/// sent again where the system reads `Off`, sent again where it still reads `On`; with no
/// attempt left, a read showing `Off` still makes it a success.
#[tokio::test]
async fn a_force_off_whose_answer_was_lost_is_decided_by_a_read() {
    let sys = Flavor::Generic.system();
    let reset = format!("{sys}/Actions/ComputerSystem.Reset");
    let internal = r#"{"error":{"message":"internal"}}"#;
    // (the state read, attempts allowed, POSTs in all, success)
    for (shows, attempts, posts, ok) in [
        ("Off", 5, 1, true),
        ("On", 5, 2, true),
        ("Off", 1, 1, true),
        ("On", 1, 1, false),
    ] {
        let mut fake = MockBmc::new(Flavor::Generic).build().await;
        fake.get(
            sys,
            &json!({"@odata.id": sys, "Id": "1", "PowerState": shows}),
        )
        .await;
        let lost = fake
            .mock("POST", reset.as_str())
            .match_body(Matcher::Json(json!({"ResetType": "ForceOff"})))
            .with_status(500)
            .with_body(internal)
            .expect(1)
            .create_async()
            .await;
        let again = fake
            .mock("POST", reset.as_str())
            .match_body(Matcher::Json(json!({"ResetType": "ForceOff"})))
            .with_status(204)
            .expect(posts - 1)
            .create_async()
            .await;
        let mut config = test_config();
        config.retry.max_attempts = attempts;
        let client = client_with(config);
        let bmc = fake.bmc(&client);
        let sent = bmc
            .reset(
                redfish_client::ResetType::ForceOff,
                &CancellationToken::new(),
            )
            .await;
        let row = format!("the state shows {shows}, {attempts} attempt(s)");
        match sent {
            Ok(()) => assert!(ok, "{row}"),
            Err(e) => {
                assert!(!ok, "{row}: {e}");
                assert_eq!(e.status(), Some(http::StatusCode::INTERNAL_SERVER_ERROR));
            }
        }
        lost.assert_async().await;
        again.assert_async().await;
    }
}

#[tokio::test]
async fn writes_are_retried_on_idrac_busy_answers() {
    let sys = Flavor::Idrac9.system();
    let mut fake = MockBmc::new(Flavor::Idrac9)
        .system(system_on(Flavor::Idrac9))
        .build()
        .await;
    let reset = format!("{sys}/Actions/ComputerSystem.Reset");
    let busy = fake
        .mock("POST", reset.as_str())
        .with_status(503)
        .with_body(r#"{"error":{"@Message.ExtendedInfo":[{"Message":"A job operation is already running. Retry the operation after the existing job is completed.","MessageId":"IDRAC.2.1.RAC0679"}]}}"#)
        .expect(1)
        .create_async()
        .await;
    let not_ready = fake
        .mock("POST", reset.as_str())
        .with_status(400)
        .with_body(r#"{"error":{"@Message.ExtendedInfo":[{"Message":"iDRAC is not ready. The configuration values cannot be accessed. Please retry after a few minutes.","MessageId":"IDRAC.1.6.SWC0700"}]}}"#)
        .expect(1)
        .create_async()
        .await;
    let ok = fake
        .mock("POST", reset.as_str())
        .with_status(204)
        .expect(1)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    bmc.reset(
        redfish_client::ResetType::ForceOff,
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    busy.assert_async().await;
    not_ready.assert_async().await;
    ok.assert_async().await;
}

#[tokio::test]
async fn an_unreachable_bmc_fails_with_its_address() {
    let client = client_with(test_config());
    let address = redfish_client::BmcAddress::parse("http://127.0.0.1:9").unwrap();
    let bmc = client.bmc(address, Credentials::new("root", PASSWORD));
    let err = bmc.power_state().await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.to_string().contains("127.0.0.1:9"), "{err}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn idrac10_paths_are_probed_then_remembered() {
    let mut fake = MockBmc::new(Flavor::Idrac10).build().await;
    let mgr = Flavor::Idrac10.manager();
    let new_jobs = fake
        .read(format!("{mgr}/Oem/Dell/Jobs").as_str())
        .with_body(json_body(&crate::common::collection(&[])))
        .expect(2)
        .create_async()
        .await;
    let old_jobs = fake
        .mock("GET", format!("{mgr}/Jobs").as_str())
        .expect(0)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let d = bmc.discovery().await.unwrap();
    assert_eq!(
        d.dell_generation,
        Some(redfish_client::DellGeneration::Idrac10)
    );
    assert!(d.quirks.boot_override_on_settings);
    // The probe's answer is the first listing; the second reads the remembered path.
    assert!(bmc.jobs().await.unwrap().is_empty());
    assert!(bmc.jobs().await.unwrap().is_empty());
    new_jobs.assert_async().await;
    old_jobs.assert_async().await;
}

#[tokio::test]
async fn idrac9_falls_back_to_the_other_path_when_the_first_is_missing() {
    let mut fake = MockBmc::new(Flavor::Idrac9).build().await;
    let mgr = Flavor::Idrac9.manager();
    let old_jobs = fake
        .mock("GET", format!("{mgr}/Jobs").as_str())
        .with_status(404)
        .expect(1)
        .create_async()
        .await;
    fake.get(
        &format!("{mgr}/Oem/Dell/Jobs"),
        &crate::common::collection(&[]),
    )
    .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    assert!(bmc.jobs().await.unwrap().is_empty());
    assert!(bmc.jobs().await.unwrap().is_empty());
    old_jobs.assert_async().await;
}

#[tokio::test]
async fn a_full_bmc_gets_an_idle_session_of_ours_freed_before_the_login_is_retried() {
    let mut fake = MockBmc::new(Flavor::Idrac9).build().await;
    let full = fake
        .login_as("cloud02")
        .with_status(503)
        .with_body(r#"{"error":{"@Message.ExtendedInfo":[{"Message":"The maximum number of user sessions is reached.","MessageId":"IDRAC.2.4.RAC0218"}]}}"#)
        .expect(1)
        .create_async()
        .await;
    let tenant_ok = fake
        .tenant_session("cloud02", 2)
        .expect(1)
        .create_async()
        .await;
    let client = fake.client();
    let root = fake.bmc(&client);
    root.login().await.unwrap();
    let tenant = client.bmc(fake.address(), Credentials::new("cloud02", "pw"));
    tenant.login().await.unwrap();
    assert!(tenant.has_session());
    assert!(!tenant.uses_basic_auth());
    assert!(!root.has_session(), "the idle root session was freed");
    assert!(fake.logged_out().await);
    full.assert_async().await;
    tenant_ok.assert_async().await;
    // The freed handle logs in again when it is used.
    root.login().await.unwrap();
    assert!(root.has_session());
}

#[tokio::test]
async fn the_session_cap_frees_an_idle_session_of_ours_instead_of_waiting() {
    let mut fake = MockBmc::new(Flavor::Idrac9).build().await;
    let _tenant = fake.tenant_session("tenant", 2).create_async().await;
    let config = ClientConfig {
        session: SessionPolicy {
            mode: AuthMode::SessionOnly,
            max_sessions_per_bmc: 1,
        },
        ..test_config()
    };
    let client = client_with(config);
    let root = fake.bmc(&client);
    root.login().await.unwrap();
    let tenant = client.bmc(fake.address(), Credentials::new("tenant", "pw"));
    tokio::time::timeout(Duration::from_secs(5), tenant.login())
        .await
        .expect("no wait: the idle session is freed")
        .unwrap();
    assert!(tenant.has_session());
    assert!(!root.has_session());
}

/// Collects everything logged, at every level.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

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
async fn no_password_or_token_reaches_the_logs() {
    // A global subscriber: scoped ones miss callsites that other tests cached as unwanted.
    // Every test's logs land here too, and none may hold a secret either.
    static CAPTURED: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    let captured = CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            let sink = captured.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_writer(move || sink.clone())
                .finish();
            tracing::subscriber::set_global_default(subscriber).unwrap();
            captured
        })
        .clone();

    let mut fake = MockBmc::new(Flavor::Idrac9)
        .system(system_on(Flavor::Idrac9))
        .build()
        .await;
    let _refused = fake
        .login_as("tenant")
        .with_status(401)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    bmc.power_state().await.unwrap();
    let tenant = client.bmc(
        fake.address(),
        Credentials::new("tenant", "tenant-secret-pw"),
    );
    assert!(tenant.login().await.is_err());
    bmc.logout().await.unwrap();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("answered"), "requests are logged: {logs}");
    for secret in [PASSWORD, TOKEN, "tenant-secret-pw"] {
        assert!(!logs.contains(secret), "{secret} leaked into the logs");
    }
}
