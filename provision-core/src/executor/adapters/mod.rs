//! The ports implemented over the real clients: [`ForemanAdapter`] (`foreman-client`),
//! [`RedfishFleet`] (`redfish-client`) and [`InterfacesBootOrders`] (Badfish interfaces YAML).

mod foreman;
mod host_reads;
mod redfish;

pub use foreman::ForemanAdapter;
pub use redfish::{InterfacesBootOrders, RedfishFleet, client_config};
