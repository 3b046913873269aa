//! The hosts' SSH ports and the install faults: a port opens once its host's install finished
//! and not before, closes while it installs again; a PXE-fail host installs only after a
//! re-kick, an install-hang host never finishes; the lab counts installs started and re-kicks.

use std::net::SocketAddr;
use std::time::Duration;

use testkit::machine::{BootedFrom, OverrideEnabled, OverrideTarget, Phase, ResetType};
use testkit::{FaultProfile, Lab, LabConfig};
use tokio::io::AsyncReadExt as _;
use tokio::net::TcpStream;

use crate::eventually;

/// What the host's port answers: its banner, or `None` when the connection is refused.
async fn banner(addr: SocketAddr) -> Option<String> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).await.ok()?;
    Some(text)
}

/// Foreman's build mode, a one-time PXE and a restart, as a move (or a re-kick) does.
fn kick(lab: &Lab, index: usize) {
    let shared = lab.shared().clone();
    shared.with_state(|s| {
        let m = &mut s.machines[index];
        if !m.build {
            m.build = true;
            m.network_boots_in_build = 0;
        }
        m.override_target = OverrideTarget::Pxe;
        m.override_enabled = OverrideEnabled::Once;
        m.reset(ResetType::ForceRestart, shared.physics())
            .expect("restart");
    });
}

#[tokio::test]
async fn a_host_answers_ssh_once_installed_and_the_install_faults_hold() {
    let mut config = LabConfig {
        hosts: 6,
        time_scale: 0.005,
        faults: FaultProfile::parse("none,pxe_fail_hosts=1,install_hang_hosts=1").expect("faults"),
        ..LabConfig::default()
    };
    config.model.foreman.install = 40.0;
    let lab = Lab::start(config).await.expect("lab");
    let faults = lab.shared().fault_hosts.clone();
    let pxe_fail = *faults.pxe_fail.first().expect("a pxe-fail host");
    let hang = *faults.install_hang.first().expect("an install-hang host");
    let healthy = (0..6)
        .find(|&i| i != pxe_fail && i != hang)
        .expect("a healthy host");
    // every one network-boots its provisioning NIC first
    for i in [healthy, pxe_fail, hang] {
        let order = lab.with_state(|s| {
            let m = &mut s.machines[i];
            let nic = m.provisioning_nic.clone();
            m.boot_order.retain(|d| *d != nic);
            m.boot_order.insert(0, nic);
            m.boot_order.clone()
        });
        assert!(!order.is_empty());
    }
    let addr = |i: usize| lab.host_addr(i).expect("host listeners");
    for i in [healthy, pxe_fail, hang] {
        assert_eq!(banner(addr(i)).await, None, "no OS installed yet on {i}");
        kick(&lab, i);
    }
    let within = Duration::from_secs(20);
    assert!(
        eventually(within, || async { banner(addr(healthy)).await.is_some() }).await,
        "the healthy host's port opens after its install"
    );
    assert_eq!(
        banner(addr(healthy)).await.as_deref(),
        Some(testkit::sshd::BANNER)
    );
    // the PXE-fail host sits at its PXE error with build=true; BootProgress shows no OS
    assert!(
        eventually(within, || async {
            lab.with_state(|s| {
                s.machines[pxe_fail].phase
                    == Phase::Running {
                        from: BootedFrom::PxeError,
                    }
            })
        })
        .await
    );
    assert!(lab.with_state(|s| s.machines[pxe_fail].build));
    assert_eq!(
        lab.with_state(|s| s.machines[pxe_fail].boot_progress()),
        "SystemHardwareInitializationComplete"
    );
    // the hung install's host stays in its installer, its port closed
    assert!(lab.with_state(|s| s.machines[hang].installing()));
    assert_eq!(banner(addr(hang)).await, None);
    // one re-kick and the PXE-fail host installs
    kick(&lab, pxe_fail);
    assert!(
        eventually(within, || async { banner(addr(pxe_fail)).await.is_some() }).await,
        "the re-kicked host installs"
    );
    // the healthy host rebuilt: its port closes while it installs again
    kick(&lab, healthy);
    assert!(
        eventually(within, || async {
            lab.with_state(|s| s.machines[healthy].installing())
                && banner(addr(healthy)).await.is_none()
        })
        .await,
        "the port closes while the host installs again"
    );
    let m = lab.metrics();
    let (h, p, x) = (
        m.host(&lab.inventory().hosts[healthy].name),
        m.host(&lab.inventory().hosts[pxe_fail].name),
        m.host(&lab.inventory().hosts[hang].name),
    );
    assert_eq!((h.installs_started, h.installs, h.rekicks), (2, 1, 0));
    assert_eq!((p.installs_started, p.installs, p.rekicks), (1, 1, 1));
    assert_eq!((x.installs_started, x.installs, x.rekicks), (1, 0, 0));
}
