//! The fake Junos switches over real loopback SSH: addresses, host key, logins, concurrent
//! sessions counted, an `exec` command, and the admin view of every port.

use std::sync::Arc;
use std::time::Duration;

use russh::ChannelMsg;
use russh::client::{self, Handle};
use russh::keys::{HashAlg, PublicKeyOrCertificate};
use testkit::{Lab, LabConfig, Probe};

/// Accepts any host key and remembers its fingerprint.
struct AnyKey(Arc<std::sync::Mutex<Option<String>>>);

impl client::Handler for AnyKey {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        if let PublicKeyOrCertificate::PublicKey { key, .. } = key {
            *self.0.lock().unwrap() = Some(key.fingerprint(HashAlg::Sha256).to_string());
        }
        Ok(true)
    }
}

async fn login(lab: &Lab, switch: usize, password: &str) -> (Handle<AnyKey>, bool, String) {
    let seen = Arc::new(std::sync::Mutex::new(None));
    let mut handle = client::connect(
        Arc::new(client::Config::default()),
        lab.switch_addr(switch).unwrap(),
        AnyKey(seen.clone()),
    )
    .await
    .unwrap();
    let ok = handle
        .authenticate_password("quads", password)
        .await
        .unwrap()
        .success();
    let fingerprint = seen.lock().unwrap().clone().unwrap();
    (handle, ok, fingerprint)
}

async fn exec(handle: &Handle<AnyKey>, command: &str) -> String {
    let mut channel = handle.channel_open_session().await.unwrap();
    channel.exec(true, command).await.unwrap();
    let mut out = Vec::new();
    while let Some(message) = channel.wait().await {
        match message {
            ChannelMsg::Data { data } => out.extend_from_slice(&data),
            ChannelMsg::Close => break,
            _ => {}
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn switches_serve_ssh_count_sessions_and_show_ports() {
    let lab = Lab::start(LabConfig {
        hosts: 20,
        ..LabConfig::default()
    })
    .await
    .unwrap();
    let inventory = lab.inventory();
    // 20 hosts of 3 to 5 NICs: two switches of 48 ports, on 127.1.x.y sharing one port.
    assert_eq!(inventory.switches.len(), 2);
    let (a, b) = (lab.switch_addr(0).unwrap(), lab.switch_addr(1).unwrap());
    assert!(a.ip().to_string().starts_with("127.1."), "{a}");
    assert_ne!(a.ip(), b.ip());
    assert_eq!(a.port(), b.port());
    assert_eq!(inventory.switches[0].address, a.to_string());
    let host = &inventory.hosts[0];
    assert_eq!(host.interfaces[0].name, "em1");
    assert_eq!(host.interfaces[0].mac_address, host.provisioning_mac);
    assert!(host.interfaces[0].pxe_boot);

    // Three sessions open at once on sw01; a wrong password is refused and counted.
    let mut open = Vec::new();
    for _ in 0..3 {
        let (handle, ok, fingerprint) = login(&lab, 0, "junos-lab").await;
        assert!(ok);
        assert_eq!(fingerprint, inventory.switches[0].host_key_sha256);
        open.push(handle);
    }
    let (_refused, ok, _) = login(&lab, 0, "nope").await;
    assert!(!ok);
    let counters = lab.metrics().switch("sw01");
    assert_eq!(counters.sessions_opened, 3);
    assert_eq!(counters.sessions_open, 3);
    assert_eq!(counters.peak_sessions, 3);
    assert_eq!(counters.refused_logins, 1);

    let port = &host.interfaces[0].switch_port;
    let shown = exec(&open[0], &format!("show configuration interfaces {port}")).await;
    assert!(shown.starts_with("apply-groups QinQ_vl1100;\n"), "{shown}");

    drop(open);
    let closed = crate::eventually(Duration::from_secs(10), || async {
        lab.metrics().switch("sw01").sessions_open == 0
    })
    .await;
    assert!(closed, "sessions still open");
    assert_eq!(lab.metrics().switch("sw01").peak_sessions, 3);

    // The admin endpoint shows every port, the host wired to it and its VLANs.
    let probe = Probe::new(lab.ca_pem());
    let switches = probe
        .get(&format!("{}/switches", lab.admin_url()))
        .await
        .unwrap()
        .json();
    let ports = switches[0]["ports"].as_array().unwrap();
    assert_eq!(ports.len(), 48);
    let wired = ports.iter().find(|p| p["port"] == port.as_str()).unwrap();
    assert_eq!(wired["host"], host.name.as_str());
    assert_eq!(wired["vlans"], serde_json::json!([1100]));
    let metrics = probe
        .get(&format!("{}/metrics", lab.admin_url()))
        .await
        .unwrap()
        .json();
    assert_eq!(metrics["switches"]["sw01"]["sessions_opened"], 3);
}

#[tokio::test]
async fn isolation_report_judges_ports_committed_over_ssh() {
    let lab = Lab::start(LabConfig {
        hosts: 2,
        ..LabConfig::default()
    })
    .await
    .unwrap();
    let inventory = lab.inventory();
    let host = inventory.hosts[1].clone();
    let expect = serde_json::json!({
        "bmc_credentials": [],
        "retired_foreman_users": [],
        "hosts": {host.name.clone(): {
            "tenant": null,
            "owner": inventory.foreman_username,
            "network": {"cloud": "cloud01"},
        }},
    });
    let probe = Probe::new(lab.ca_pem());
    let url = format!("{}/isolation", lab.admin_url());
    let judge = || async {
        let answer = probe.post(&url, &expect).await.unwrap();
        assert_eq!(answer.status, 200);
        let report: testkit::IsolationReport = serde_json::from_slice(&answer.body).unwrap();
        report
    };
    let spare = judge().await;
    assert!(spare.violations.is_empty(), "{spare:?}");
    assert_eq!(spare.hosts[0].ports.len(), host.interfaces.len());
    assert_eq!(spare.hosts[0].ports[0].qinq_group, Some(1100));

    // Leak em2 into cloud03's VLAN over SSH: the report names it, then the repair clears it.
    let nic = &host.interfaces[1];
    let switch = inventory
        .switches
        .iter()
        .position(|s| s.name == nic.switch)
        .unwrap();
    let (handle, ok, _) = login(&lab, switch, "junos-lab").await;
    assert!(ok);
    let members = format!(
        "interfaces {} unit 0 family ethernet-switching vlan members vlan1121",
        nic.switch_port
    );
    let out = exec(&handle, &format!("configure\nset {members}\ncommit\nexit")).await;
    assert!(out.contains("commit complete"), "{out}");
    let leaked = judge().await;
    let network: Vec<_> = leaked
        .violations
        .iter()
        .filter(|v| v.kind.starts_with("switch-"))
        .collect();
    assert_eq!(network.len(), 1, "{leaked:?}");
    assert_eq!(network[0].kind, "switch-port-foreign");
    assert_eq!(network[0].subject, host.name);
    assert_eq!(
        network[0].detail,
        format!(
            "em2 on {} {}: also a member of vlan1121, vlan1121 is cloud03's",
            nic.switch, nic.switch_port
        )
    );
    let out = exec(
        &handle,
        &format!("configure\ndelete {members}\ncommit\nexit"),
    )
    .await;
    assert!(out.contains("commit complete"), "{out}");
    let repaired = judge().await;
    assert!(
        !repaired
            .violations
            .iter()
            .any(|v| v.kind.starts_with("switch-")),
        "{repaired:?}"
    );
}

#[tokio::test]
async fn a_hang_up_ends_the_sessions_open_then_and_no_later_one() {
    let lab = Lab::start(LabConfig {
        hosts: 2,
        ..LabConfig::default()
    })
    .await
    .unwrap();
    let mut open = Vec::new();
    for _ in 0..2 {
        let (handle, ok, _) = login(&lab, 0, "junos-lab").await;
        assert!(ok);
        open.push(handle);
    }
    assert_eq!(lab.metrics().switch("sw01").sessions_open, 2);
    lab.shared().switches.hang_up();
    let ended = crate::eventually(Duration::from_secs(10), || async {
        lab.metrics().switch("sw01").sessions_open == 0 && open.iter().all(Handle::is_closed)
    })
    .await;
    assert!(ended, "sessions still open after the hang-up");
    // a session opened after it stays
    let (later, ok, _) = login(&lab, 0, "junos-lab").await;
    assert!(ok);
    let port = &lab.inventory().hosts[0].interfaces[0].switch_port;
    let shown = exec(&later, &format!("show configuration interfaces {port}")).await;
    assert!(shown.starts_with("apply-groups QinQ_vl1100;\n"), "{shown}");
    assert_eq!(lab.metrics().switch("sw01").sessions_opened, 3);
}
