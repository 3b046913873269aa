//! The ports implemented over the real clients: [`ForemanAdapter`] (`foreman-client`),
//! [`RedfishFleet`] (`redfish-client`), [`JunosPorts`] (`switch-client`) and
//! [`InterfacesBootOrders`] (Badfish interfaces YAML).

mod foreman;
mod host_reads;
mod junos;
mod redfish;

pub use foreman::ForemanAdapter;
pub use junos::{JunosPorts, KnownKeys, switch_target};
pub use redfish::{InterfacesBootOrders, RedfishFleet, client_config};
