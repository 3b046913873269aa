//! What a hook step is told about its host's move: the [`HookMove`] of a [`MoveJob`].

use super::run::MoveJob;
use crate::hook::{HOOK_MOVE_VERSION, HookInterface, HookMove, HookVlan};
use crate::model::Wipe;
use crate::network::PortTarget;

fn vlan(t: &PortTarget) -> HookVlan {
    HookVlan {
        mode: t.mode.as_str().to_owned(),
        vlan: t.vlan.get(),
    }
}

impl MoveJob {
    /// The move as its hooks see it (no secret: the tenant password is not in it).
    #[must_use]
    pub fn hook_move(&self) -> HookMove {
        HookMove {
            v: HOOK_MOVE_VERSION,
            hook: String::new(),
            host: self.host.name.to_string(),
            from: Some(self.from.to_string()),
            to: Some(self.to.to_string()),
            wipe: Some(self.wipe == Wipe::Yes),
            ticket: self.assignment.as_ref().map(|a| a.ticket.clone()),
            owner: self.assignment.as_ref().map(|a| a.owner.clone()),
            bmc: Some(self.host.bmc_address.clone()),
            interfaces: self
                .network
                .ports
                .iter()
                .map(|p| HookInterface {
                    name: p.interface.to_string(),
                    mac_address: p.mac_address.clone(),
                    switch: p.switch.clone(),
                    port: p.port.clone(),
                    old: p.old.as_ref().map(vlan),
                    new: vlan(&p.new),
                    change: p.change.as_str().to_owned(),
                })
                .collect(),
            network_problems: self
                .network
                .problems
                .iter()
                .map(ToString::to_string)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::model::{
        AssignmentSpec, BootType, CloudName, Host, HostName, HostState, Interface, InterfaceName,
        QinQ,
    };
    use crate::network::{VlanScheme, port_moves};

    #[test]
    fn a_jobs_hook_move_has_its_clouds_assignment_bmc_and_ports() {
        let c = |s: &str| CloudName::new(s).unwrap();
        let name = HostName::new("h1").unwrap();
        let nic = Interface {
            host: name.clone(),
            name: InterfaceName::new("em1").unwrap(),
            bios_id: None,
            mac_address: None,
            switch_ip: "sw1".into(),
            switch_port: "xe-0/0/1".into(),
            speed: None,
            vendor: None,
            pxe_boot: true,
            maintenance: false,
        };
        let to = AssignmentSpec {
            cloud: c("cloud02"),
            ticket: "T-9".into(),
            owner: "bob".into(),
            description: String::new(),
            wipe: Wipe::Yes,
            os: None,
            partition_table: None,
            medium: None,
            boot_type: BootType::Uefi,
            qinq: QinQ::Separated,
            public_vlan: None,
        };
        let network = port_moves(&name, &[&nic], None, Some(&to), VlanScheme::default());
        let job = MoveJob {
            host: Host {
                name: name.clone(),
                bmc_address: "127.0.9.1".into(),
                model: None,
                host_type: None,
                default_cloud: c("cloud01"),
                current_cloud: c("cloud01"),
                state: HostState::Active,
            },
            from: c("cloud01"),
            to: c("cloud02"),
            wipe: Wipe::Yes,
            schedule: None,
            assignment: Some(to),
            leaving: None,
            network,
        };
        let mv = job.hook_move();
        assert_eq!(mv.v, HOOK_MOVE_VERSION);
        assert_eq!(
            (mv.from.as_deref(), mv.to.as_deref(), mv.wipe),
            (Some("cloud01"), Some("cloud02"), Some(true))
        );
        assert_eq!(
            (mv.ticket.as_deref(), mv.owner.as_deref(), mv.bmc.as_deref()),
            (Some("T-9"), Some("bob"), Some("127.0.9.1"))
        );
        let em1 = &mv.interfaces[0];
        assert_eq!(
            (em1.switch.as_str(), em1.port.as_str()),
            ("sw1", "xe-0/0/1")
        );
        assert_eq!(em1.old.as_ref().map(|v| v.vlan), Some(1100));
        assert_eq!((em1.new.mode.as_str(), em1.new.vlan), ("access", 1110));
        assert_eq!(em1.change, "move");
    }
}
