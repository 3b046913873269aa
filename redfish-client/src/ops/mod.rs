//! The operations on a BMC, one module per area; each builds its requests and reads its
//! answers with pure functions and leaves retries, limits and sessions to the client.

pub mod accounts;
pub mod bios;
pub mod bmc_reset;
pub mod boot;
pub mod dell_oem;
pub mod dell_os_deploy;
pub mod dell_scp;
pub mod interfaces;
pub mod inventory;
pub mod jobs;
pub mod maintenance;
pub mod network;
pub mod power;
pub(crate) mod task;
pub(crate) mod vendor_boot;
pub mod virtual_media;

pub use accounts::{AccountOutcome, AccountSpec, AccountState, Revocation, Role};
pub use bios::SettingsChange;
pub use bmc_reset::ResetWait;
pub use boot::{BootDevice, BootOrder, BootOrderRequest, BootOverride, BootSource, RunningJobs};
pub use dell_os_deploy::{IsoAttachStatus, NfsImage, RemoteImageBoot, RemoteImageStatus};
pub use dell_scp::{ScpExport, ScpImport, ScpOperation, ScpReadOnly};
pub use interfaces::{HostLocation, InterfacesFile};
pub use inventory::{MemoryInventory, ProcessorInventory, SerialInfo};
pub use jobs::{ClearJobs, Job, JobState, JobTarget, QueueClear};
pub use maintenance::{FirmwareDelta, Gpu, firmware_delta};
pub use network::{NicAdapter, NicAttributeInfo};
pub use power::{PowerOutcome, PowerState, ResetType};
pub use virtual_media::MediaSlot;
