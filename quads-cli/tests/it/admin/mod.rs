//! Tests of the admin commands: init and config, the inventory records and import, planning
//! with `move-hosts --dry-run` (hosts and their switch ports), and the run journal.

mod inventory;
mod moves;
mod network;
mod setup;
