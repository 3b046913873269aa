//! Tests of the admin commands: init and config, the inventory records and import, planning
//! with `move-hosts --dry-run` (hosts and their switch ports), the run journal, and the day-2
//! changes (schedules in time, assignments terminated, hosts and clouds in and out of service).

mod inventory;
mod lifecycle;
mod moves;
mod network;
mod setup;
