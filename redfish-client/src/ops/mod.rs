//! The operations on a BMC, one module per area; each builds its requests and reads its
//! answers with pure functions and leaves retries, limits and sessions to the client.

pub mod accounts;
pub mod bios;
pub mod bmc_reset;
pub mod boot;
pub mod dell_oem;
pub mod interfaces;
pub mod inventory;
pub mod jobs;
pub mod maintenance;
pub mod network;
pub mod power;
pub(crate) mod task;
pub mod virtual_media;

pub use accounts::{AccountOutcome, AccountSpec, AccountState, Revocation, Role};
pub use bios::{SettingsChange, validate_bios_changes};
pub use bmc_reset::ResetWait;
pub use boot::{
    BootDevice, BootOrder, BootOrderRequest, BootOverride, BootSource, RunningJobs,
    uefi_pxe_attributes,
};
pub use dell_oem::decode_screenshot;
pub use interfaces::{HostLocation, InterfacesFile, interface_keys, interface_keys_at};
pub use inventory::{MemoryInventory, ProcessorInventory, SerialInfo};
pub use jobs::{ClearJobs, Job, JobState, JobTarget, QueueClear};
pub use maintenance::{FirmwareDelta, Gpu, SRIOV_ATTRIBUTE, firmware_delta, is_gpu};
pub use network::{NicAdapter, NicAttributeInfo, idrac9_serves_nic_registry, nic_adapter_of};
pub use power::{PowerOutcome, PowerState, ResetType};
pub use virtual_media::MediaSlot;
