//! The ports implemented over the real clients: [`ForemanAdapter`] (`foreman-client`),
//! [`RedfishFleet`] (`redfish-client`), [`JunosPorts`] (`switch-client`), [`CommandPorts`] (a
//! site command per switch batch) and
//! [`InterfacesBootOrders`] (Badfish interfaces YAML).

mod foreman;
mod host_reads;
mod junos;
mod redfish;
mod switch_command;

pub use foreman::ForemanAdapter;
pub use junos::{JunosPorts, KnownKeys, switch_target};
pub use redfish::{InterfacesBootOrders, RedfishFleet, StoreSessionLog, client_config};
pub use switch_command::{
    COMMAND_BATCH_VERSION, CommandAnswer, CommandBatch, CommandPortAnswer, CommandPorts,
    EXIT_REFUSED, EXIT_TEMPFAIL,
};
