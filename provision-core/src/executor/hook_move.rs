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
