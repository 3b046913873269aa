//! Scenario tests against testkit's switch fleet: read, one commit per batch, verify, failed
//! commits, refused logins, host keys, and no password in any error.

use std::time::Duration;

use switch_client::{
    Error, HostKeyCheck, JunosSwitch, PortChange, PortMode, PortTarget, Secret, SwitchConfig,
    Timeouts,
};
use testkit::{FaultProfile, Lab, LabConfig};

const PASSWORD: &str = "junos-lab";

async fn lab(faults: &str) -> Lab {
    Lab::start(LabConfig {
        hosts: 4,
        faults: FaultProfile::parse(faults).unwrap(),
        ..LabConfig::default()
    })
    .await
    .unwrap()
}

fn config(lab: &Lab, password: &str, host_key: HostKeyCheck) -> SwitchConfig {
    let inventory = lab.inventory();
    let switch = &inventory.switches[0];
    SwitchConfig {
        name: switch.name.clone(),
        address: switch.address.clone(),
        username: switch.username.clone(),
        password: Secret::new(password),
        host_key,
        timeouts: Timeouts {
            connect: Duration::from_secs(10),
            command: Duration::from_secs(10),
            commit: Duration::from_secs(10),
        },
    }
}

fn pinned(lab: &Lab) -> HostKeyCheck {
    HostKeyCheck::Sha256(lab.inventory().switches[0].host_key_sha256.clone())
}

fn assert_no_password(error: &Error) {
    for text in [error.to_string(), format!("{error:?}")] {
        assert!(!text.contains(PASSWORD), "password in {text}");
        assert!(!text.contains("wrong-password"), "password in {text}");
    }
}

/// Each of `ports` into the QinQ group of `vlan`.
fn qinq(ports: &[String], vlan: u16) -> Vec<PortChange> {
    ports
        .iter()
        .map(|p| PortChange::new(p, PortTarget::QinQ { vlan }))
        .collect()
}

/// The first host's ports on sw01, from the inventory.
fn first_host_ports(lab: &Lab) -> (String, Vec<String>) {
    let inventory = lab.inventory();
    let host = &inventory.hosts[0];
    let ports = host
        .interfaces
        .iter()
        .filter(|i| i.switch == "sw01")
        .map(|i| i.switch_port.clone())
        .collect();
    (host.name.clone(), ports)
}

#[tokio::test]
async fn reads_the_ports_of_a_host_in_cloud01() {
    let lab = lab("none").await;
    let (_, ports) = first_host_ports(&lab);
    assert!(ports.len() >= 2);
    let mut session = JunosSwitch::connect(&config(&lab, PASSWORD, pinned(&lab)))
        .await
        .unwrap();
    let configs = session.read_ports(&ports).await.unwrap();
    for (i, config) in configs.iter().enumerate() {
        let vlan = 1100 + u16::try_from(i).unwrap();
        assert_eq!(config.qinq_group, Some(vlan), "{config:?}");
        assert_eq!(config.vlans, vec![vlan]);
        assert_eq!(config.mode, PortMode::Access);
    }
    session.close().await;
    let counters = lab.metrics().switch("sw01");
    assert_eq!(counters.sessions_opened, 1);
    assert_eq!(counters.commits, 0);
}

#[tokio::test]
async fn a_batch_is_one_commit_and_is_read_back() {
    let lab = lab("none").await;
    let (host, ports) = first_host_ports(&lab);
    let last = ports.len() - 1;
    let changes: Vec<PortChange> = ports
        .iter()
        .enumerate()
        .map(|(i, port)| {
            let vlan = 1110 + u16::try_from(i).unwrap();
            let target = if i == last {
                PortTarget::Trunk {
                    members: vec![1150],
                    native: Some(1150),
                }
            } else {
                PortTarget::QinQ { vlan }
            };
            PortChange::new(port, target)
        })
        .collect();
    let mut session = JunosSwitch::connect(&config(&lab, PASSWORD, pinned(&lab)))
        .await
        .unwrap();
    let report = session.apply(&changes).await.unwrap();
    assert!(report.committed);
    assert!(report.all_verified(), "{report:?}");
    assert_eq!(report.ports.len(), ports.len());
    assert_eq!(lab.metrics().switch("sw01").commits, 1);

    // The lab's own view of the committed ports agrees.
    let seen = lab.host_ports(&host);
    let on_sw01: Vec<_> = seen.iter().filter(|p| p.switch == "sw01").collect();
    assert_eq!(on_sw01[0].vlans, vec![1110]);
    assert_eq!(on_sw01[0].qinq_group, Some(1110));
    assert_eq!(on_sw01[last].vlans, vec![1150]);
    assert_eq!(on_sw01[last].qinq_group, None);

    // Applying the same batch again changes nothing and commits nothing.
    let again = session.apply(&changes).await.unwrap();
    assert!(!again.committed);
    assert!(again.lines.is_empty());
    assert!(again.all_verified());
    assert_eq!(lab.metrics().switch("sw01").commits, 1);
    session.close().await;
}

#[tokio::test]
async fn a_failed_commit_leaves_the_old_vlans_and_names_switch_and_ports() {
    let lab = lab("switch_commit_fail_rate=1").await;
    let (host, ports) = first_host_ports(&lab);
    let before = lab.host_ports(&host);
    let changes = qinq(&ports, 1120);
    let mut session = JunosSwitch::connect(&config(&lab, PASSWORD, pinned(&lab)))
        .await
        .unwrap();
    let error = session.apply(&changes).await.unwrap_err();
    assert!(matches!(error, Error::CommitFailed { .. }), "{error:?}");
    assert!(!error.is_retryable());
    let text = error.to_string();
    assert!(text.contains("sw01"), "{text}");
    for port in &ports {
        assert!(text.contains(port.as_str()), "{text}");
    }
    assert_no_password(&error);
    assert_eq!(lab.host_ports(&host), before);
    let counters = lab.metrics().switch("sw01");
    assert_eq!((counters.commits, counters.failed_commits), (0, 1));
    // The session was left in operational mode with the candidate thrown away.
    let configs = session.read_ports(&ports).await.unwrap();
    assert_eq!(configs[0].qinq_group, Some(1100));
    session.close().await;
}

#[tokio::test]
async fn a_session_whose_answer_went_missing_refuses_every_later_command() {
    // Slow commits at this scale take about a third of a real second; the client waits 20 ms.
    let lab = Lab::start(LabConfig {
        hosts: 4,
        time_scale: 0.02,
        faults: FaultProfile::parse("switch_slow_commit_rate=1").unwrap(),
        ..LabConfig::default()
    })
    .await
    .unwrap();
    let (_, ports) = first_host_ports(&lab);
    let batch = |vlan| qinq(&ports, vlan);
    let assert_out_of_step = |error: &Error| {
        assert!(matches!(error, Error::Session { .. }), "{error:?}");
        assert!(error.to_string().contains("new session"), "{error}");
    };

    // The commit's answer comes after the timeout: the next command must not take it for its own.
    let mut impatient = config(&lab, PASSWORD, pinned(&lab));
    impatient.timeouts.commit = Duration::from_millis(20);
    let mut session = JunosSwitch::connect(&impatient).await.unwrap();
    let error = session.apply(&batch(1130)).await.unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    assert_out_of_step(&session.read_ports(&ports).await.unwrap_err());
    assert_out_of_step(&session.apply(&batch(1130)).await.unwrap_err());
    session.close().await;

    // Dropping `apply` while it waits does the same.
    let mut session = JunosSwitch::connect(&config(&lab, PASSWORD, pinned(&lab)))
        .await
        .unwrap();
    let dropped =
        tokio::time::timeout(Duration::from_millis(20), session.apply(&batch(1140))).await;
    assert!(dropped.is_err(), "{dropped:?}");
    assert_out_of_step(&session.read_ports(&ports).await.unwrap_err());
    session.close().await;

    // A new session reads the ports.
    let mut session = JunosSwitch::connect(&config(&lab, PASSWORD, pinned(&lab)))
        .await
        .unwrap();
    assert_eq!(session.read_ports(&ports).await.unwrap().len(), ports.len());
    session.close().await;
}

#[tokio::test]
async fn a_refused_login_is_not_retryable() {
    let lab = lab("none").await;
    let error = JunosSwitch::connect(&config(&lab, "wrong-password", pinned(&lab)))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::AuthRefused { .. }), "{error:?}");
    assert!(!error.is_retryable());
    assert!(error.to_string().contains("sw01"));
    assert_no_password(&error);
    assert_eq!(lab.metrics().switch("sw01").refused_logins, 1);

    // The lab's refused-login fault refuses the right password too.
    let faulty = self::lab("switch_login_refused_rate=1").await;
    let error = JunosSwitch::connect(&config(&faulty, PASSWORD, pinned(&faulty)))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::AuthRefused { .. }), "{error:?}");
    assert_no_password(&error);
}

#[tokio::test]
async fn a_wrong_host_key_is_refused_unless_insecure() {
    let lab = lab("none").await;
    let wrong = HostKeyCheck::Sha256("SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into());
    let error = JunosSwitch::connect(&config(&lab, PASSWORD, wrong))
        .await
        .unwrap_err();
    let Error::HostKey { presented, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(presented, &lab.inventory().switches[0].host_key_sha256);
    assert!(!error.is_retryable());
    assert_no_password(&error);
    assert_eq!(lab.metrics().switch("sw01").sessions_opened, 0);

    let session = JunosSwitch::connect(&config(&lab, PASSWORD, HostKeyCheck::Insecure))
        .await
        .unwrap();
    session.close().await;
}

#[tokio::test]
async fn an_unreachable_switch_is_retryable_and_a_bad_port_is_refused() {
    let lab = lab("none").await;
    let mut unreachable = config(&lab, PASSWORD, pinned(&lab));
    unreachable.address = "127.1.250.1:1".into();
    let error = JunosSwitch::connect(&unreachable).await.unwrap_err();
    assert!(error.is_retryable(), "{error:?}");
    assert_no_password(&error);

    let mut session = JunosSwitch::connect(&config(&lab, PASSWORD, pinned(&lab)))
        .await
        .unwrap();
    let error = session
        .read_ports(&["xe-0/0/1; delete interfaces xe-0/0/2"])
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidPort { .. }), "{error:?}");
    let twice = [
        PortChange::new("xe-0/0/1", PortTarget::Access { vlan: 5 }),
        PortChange::new("xe-0/0/1", PortTarget::Access { vlan: 6 }),
    ];
    let error = session.apply(&twice).await.unwrap_err();
    assert!(matches!(error, Error::DuplicatePort { .. }), "{error:?}");
    session.close().await;
}

#[tokio::test]
async fn lines_sent_together_name_the_refused_one_and_commit_nothing() {
    let lab = lab("none").await;
    let (host, ports) = first_host_ports(&lab);
    assert!(ports.len() >= 3);
    let before = lab.host_ports(&host);
    // the middle port's VLAN is out of range: its `vlan members` line is refused, the lines of
    // the ports before and after it are fine
    let changes: Vec<PortChange> = ports
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let vlan = if i == 1 {
                4095
            } else {
                1110 + u16::try_from(i).unwrap()
            };
            PortChange::new(p, PortTarget::QinQ { vlan })
        })
        .collect();
    let mut session = JunosSwitch::connect(&config(&lab, PASSWORD, pinned(&lab)))
        .await
        .unwrap();
    let error = session.apply(&changes).await.unwrap_err();
    let Error::Command {
        command, message, ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(
        command,
        &format!(
            "set interfaces {} unit 0 family ethernet-switching vlan members vlan4095",
            ports[1]
        )
    );
    assert!(message.contains("out of range"), "{message}");
    assert!(!error.is_retryable());
    // nothing committed, every port as it was, the session back in operational mode
    let counters = lab.metrics().switch("sw01");
    assert_eq!((counters.commits, counters.failed_commits), (0, 0));
    assert_eq!(lab.host_ports(&host), before);
    assert!(session.is_open());
    let configs = session.read_ports(&ports).await.unwrap();
    assert_eq!(configs[0].qinq_group, Some(1100));
    // the same session then applies a good batch, its lines together, in one commit
    let good = qinq(&ports, 1120);
    let report = session.apply(&good).await.unwrap();
    assert!(report.committed && report.all_verified(), "{report:?}");
    assert!(report.lines.len() >= 4 * ports.len(), "{report:?}");
    assert_eq!(lab.metrics().switch("sw01").commits, 1);
    session.close().await;
}

#[tokio::test]
async fn a_kept_session_the_switch_dropped_is_stale_before_anything_is_sent() {
    let lab = lab("none").await;
    let (_, ports) = first_host_ports(&lab);
    let batch = |vlan| qinq(&ports, vlan);
    let mut session = JunosSwitch::connect(&config(&lab, PASSWORD, pinned(&lab)))
        .await
        .unwrap();
    assert!(session.apply(&batch(1110)).await.unwrap().committed);
    assert!(session.is_open());
    lab.shared().switches.hang_up();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while session.is_open() {
        assert!(tokio::time::Instant::now() < deadline, "still open");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let error = session.apply(&batch(1120)).await.unwrap_err();
    assert!(matches!(error, Error::Stale { .. }), "{error:?}");
    assert!(error.is_retryable());
    session.close().await;
    assert_eq!(lab.metrics().switch("sw01").commits, 1);
}
