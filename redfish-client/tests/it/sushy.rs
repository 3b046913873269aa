//! Against real Redfish software nobody here wrote: OpenStack's sushy-tools emulator (fake
//! driver, Basic auth, plain HTTP) from the project's peers venv (`QUADS_PEERS`, installed by
//! `cargo xtask ci`). Without the venv the test says so and checks nothing else.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use redfish_client::{
    BmcAddress, CancellationToken, ClientConfig, Credentials, PowerState, RetryPolicy,
    SettingsChange, TlsVerification, TransportConfig, Vendor, Wait, WaitPolicy,
};

/// The peers venv, if this machine has one.
fn venv() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("QUADS_PEERS") {
        return Some(PathBuf::from(dir));
    }
    let local = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/peers");
    local.join("bin/sushy-emulator").exists().then_some(local)
}

/// Kills the emulator when the test ends, however it ends.
struct Emulator(Child);

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(venv: &std::path::Path, dir: &std::path::Path, port: u16) -> Emulator {
    let python = venv.join("bin/python");
    let hash = Command::new(&python)
        .args([
            "-c",
            "import bcrypt,sys; print(bcrypt.hashpw(b'sushy-pw', bcrypt.gensalt()).decode())",
        ])
        .output()
        .unwrap();
    assert!(hash.status.success(), "bcrypt in the peers venv");
    let htpasswd = dir.join("htpasswd");
    std::fs::write(
        &htpasswd,
        format!("admin:{}\n", String::from_utf8_lossy(&hash.stdout).trim()),
    )
    .unwrap();
    let config = dir.join("emulator.conf");
    std::fs::write(
        &config,
        format!(
            "SUSHY_EMULATOR_AUTH_FILE = {:?}\nSUSHY_EMULATOR_STATE_DIR = {:?}\n",
            htpasswd.to_string_lossy(),
            dir.join("state").to_string_lossy()
        ),
    )
    .unwrap();
    let child = Command::new(venv.join("bin/sushy-emulator"))
        .args([
            "--fake",
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "--config",
        ])
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Emulator(child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stderr)]
async fn sushy_tools_emulator_is_driven_with_basic_auth() {
    let Some(venv) = venv() else {
        // Outside CI a developer without the venv is told how to get it; CI must run the test.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs this test: `cargo xtask ci` installs the peers venv and sets QUADS_PEERS"
        );
        eprintln!("sushy-tools: no peers venv (QUADS_PEERS); run `cargo xtask peers`");
        return;
    };
    let dir = std::env::temp_dir().join(format!("quads-sushy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let _emulator = start(&venv, &dir, port);

    let config = ClientConfig {
        transport: TransportConfig {
            tls: TlsVerification::Platform,
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
            ..TransportConfig::default()
        },
        retry: RetryPolicy {
            max_attempts: 3,
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(200),
        },
        waits: WaitPolicy {
            power: Wait::every(Duration::from_millis(500), Duration::from_secs(60)),
            ..WaitPolicy::default()
        },
        ..ClientConfig::default()
    };
    let client = redfish_client::RedfishClient::new(config).unwrap();
    let address = BmcAddress::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let bmc = client.bmc(address, Credentials::new("admin", "sushy-pw"));

    // The emulator takes a moment to listen: wait for it, with a deadline.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let discovery = loop {
        match bmc.discovery().await {
            Ok(d) => break d,
            Err(e) if e.is_retryable() && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("sushy-emulator never answered: {e}"),
        }
    };
    assert_eq!(discovery.vendor, Vendor::Generic);
    assert!(discovery.system.starts_with("/redfish/v1/Systems/"));
    assert!(bmc.uses_basic_auth(), "sushy-tools has no session service");

    let wrong = client.bmc(
        BmcAddress::parse(&format!("http://127.0.0.1:{port}")).unwrap(),
        Credentials::new("admin", "wrong"),
    );
    let refused = wrong.power_state().await.unwrap_err();
    assert_eq!(refused.status(), Some(http::StatusCode::UNAUTHORIZED));
    assert!(!refused.to_string().contains("wrong"));

    let cancel = CancellationToken::new();
    let cycled = bmc.power_cycle(&cancel).await.unwrap();
    assert_eq!(cycled.after, PowerState::On);
    assert_eq!(bmc.power_state().await.unwrap(), PowerState::On);

    // sushy-tools keeps the target but reports `Continuous`, so a second call sends again.
    assert_eq!(bmc.pxe_once().await.unwrap(), SettingsChange::Applied);

    let off = bmc.power_off(&cancel).await.unwrap();
    assert_eq!(off.after, PowerState::Off);

    let nics = bmc.ethernet_interfaces().await.unwrap();
    assert!(nics.iter().any(|n| n.mac_address.is_some()));
    let _ = std::fs::remove_dir_all(&dir);
}
