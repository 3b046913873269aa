//! `quads oob`: the Badfish-compatible out-of-band command on redfish-client, for one BMC
//! (`-H`) or a `--host-list` of thousands (bounded concurrency, one session per BMC, every
//! session logged out on exit and on Ctrl-C or SIGTERM).

// redfish-client's errors carry the whole request context; they are returned as they are.
#![allow(clippy::result_large_err)]

mod badfish_out;
mod emulator;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use redfish_client::{
    AccountSpec, AccountState, Bmc, BmcAddress, CancellationToken, ClearJobs, ClientConfig,
    Credentials, HostLocation, InterfacesFile, JobTarget, NfsImage, RedfishClient, ResetWait, Role,
    ScpReadOnly, Secret, SettingsChange, TlsVerification, TransportConfig,
};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

/// Out-of-band management of BMCs over Redfish (Badfish-compatible flags).
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)]
pub struct OobArgs {
    /// BMC address (`host`, `host:port`, `https://host`, `http://host:port`).
    #[arg(short = 'H', long = "host", conflicts_with = "host_list")]
    pub host: Option<String>,
    /// File with one BMC address per line (blank lines and `#` comments skipped).
    #[arg(long = "host-list")]
    pub host_list: Option<PathBuf>,
    /// BMC user.
    #[arg(short = 'u', env = "BADFISH_USERNAME")]
    pub user: Option<String>,
    /// BMC password (prefer the environment variable).
    #[arg(short = 'p', env = "BADFISH_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Badfish-format interfaces YAML (host type to boot devices).
    #[arg(short = 'i')]
    pub interfaces: Option<PathBuf>,
    /// Host type from the interfaces YAML: set the persistent boot order to it.
    #[arg(short = 't')]
    pub host_type: Option<String>,
    /// Accept any BMC certificate (BMCs ship self-signed ones).
    #[arg(long)]
    pub insecure: bool,
    /// Accept this BMC's certificate unchecked (repeatable).
    #[arg(long = "insecure-host", value_name = "HOST")]
    pub insecure_hosts: Vec<String>,
    /// Extra CA bundle (PEM) to verify BMC certificates with.
    #[arg(long = "ca-bundle", value_name = "FILE")]
    pub ca_bundle: Option<PathBuf>,
    /// BMCs worked on at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Requests in flight per BMC.
    #[arg(long = "per-bmc", default_value_t = 2)]
    pub per_bmc: usize,
    /// Attempts per request (first included).
    #[arg(short = 'r', long, default_value_t = 5)]
    pub retries: u32,
    /// Seconds allowed for one request to a BMC (connecting takes at most 10 s of it).
    #[arg(long, default_value_t = 60.0, value_parser = positive_seconds)]
    pub timeout: f64,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// With --clear-jobs: force-clear (restarts the Lifecycle Controller).
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Print the version (and the Badfish release whose flags are accepted) and exit.
    #[arg(long)]
    pub version: bool,
    /// Write the results to FILE instead of standard output.
    #[arg(short = 'l', long = "log", value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Rack of the host, instead of the one read from the BMC name (interfaces YAML keys).
    #[arg(long)]
    pub rack: Option<String>,
    /// U location of the host, instead of the one read from the BMC name.
    #[arg(long)]
    pub uloc: Option<String>,
    /// Blade of the host, instead of the one read from the BMC name.
    #[arg(long)]
    pub blade: Option<String>,
    /// With --racreset / --bmc-reset: wait until the BMC answers again.
    #[arg(long)]
    pub wait: bool,

    /// Print the power state.
    #[arg(long = "power-state")]
    pub power_state: bool,
    /// Power on and wait for On.
    #[arg(long = "power-on")]
    pub power_on: bool,
    /// Force off and wait for Off.
    #[arg(long = "power-off")]
    pub power_off: bool,
    /// Power cycle: the BMC's own PowerCycle where it lists one, or HPE iLO's ColdBoot (one
    /// action), otherwise force off, wait for Off, power on, wait for On.
    #[arg(long = "power-cycle")]
    pub power_cycle: bool,
    /// Graceful shutdown (forced after a deadline), then power on.
    #[arg(long = "reboot-only")]
    pub reboot_only: bool,
    /// Print the power drawn now.
    #[arg(long = "get-power-consumed")]
    pub power_consumed: bool,
    /// One-time network boot at the next power-on: alone, after the boot order change of -t,
    /// or after any other action (as Badfish).
    #[arg(long)]
    pub pxe: bool,
    /// One-time boot to this device (Dell: OneTimeBootSeqDev via a config job).
    #[arg(long = "boot-to", value_name = "DEVICE")]
    pub boot_to: Option<String>,
    /// One-time boot to the first device of this host type (needs -i).
    #[arg(long = "boot-to-type", value_name = "TYPE")]
    pub boot_to_type: Option<String>,
    /// One-time boot to the interface with this MAC address.
    #[arg(long = "boot-to-mac", value_name = "MAC")]
    pub boot_to_mac: Option<String>,
    /// Print the boot order and which host type it is (with -i).
    #[arg(long = "check-boot")]
    pub check_boot: bool,
    /// List the job queue.
    #[arg(long = "ls-jobs")]
    pub ls_jobs: bool,
    /// Print one job.
    #[arg(long = "check-job", value_name = "JOB_ID")]
    pub check_job: Option<String>,
    /// Clear the job queue (and verify it is empty).
    #[arg(long = "clear-jobs")]
    pub clear_jobs: bool,
    /// Print BIOS attributes (all, or --attribute's registry entry and value).
    #[arg(long = "get-bios-attribute")]
    pub get_bios_attribute: bool,
    /// Set --attribute to --value (validated against the registry), reboot, wait for the job.
    #[arg(long = "set-bios-attribute")]
    pub set_bios_attribute: bool,
    /// BIOS attribute name.
    #[arg(long)]
    pub attribute: Option<String>,
    /// BIOS attribute value.
    #[arg(long)]
    pub value: Option<String>,
    /// `NAME=VALUE` to set with --set-bios-attribute (repeatable: all in one change).
    #[arg(long = "attribute-value", value_name = "NAME=VALUE")]
    pub attribute_value: Vec<String>,
    /// Reset the BIOS to its factory defaults (applied at the next boot).
    #[arg(long = "factory-reset")]
    pub factory_reset: bool,
    /// Enable the boot device of this name if it is disabled, else disable it; then reboot.
    #[arg(long = "toggle-boot-device", value_name = "DEVICE")]
    pub toggle_boot_device: Option<String>,
    /// With --firmware-inventory: the other BMC; prints the firmware whose versions differ.
    #[arg(long, value_name = "HOST")]
    pub delta: Option<String>,
    /// List GPUs and accelerators.
    #[arg(long = "ls-gpu")]
    pub ls_gpu: bool,
    /// Print global SR-IOV (BIOS `SriovGlobalEnable`).
    #[arg(long = "get-sriov")]
    pub get_sriov: bool,
    /// Enable global SR-IOV, then reboot.
    #[arg(long = "enable-sriov")]
    pub enable_sriov: bool,
    /// Disable global SR-IOV, then reboot.
    #[arg(long = "disable-sriov")]
    pub disable_sriov: bool,
    /// Set the BIOS setup password to --new-password (--old-password: the one in force).
    #[arg(long = "set-bios-password")]
    pub set_bios_password: bool,
    /// Remove the BIOS setup password (--old-password: the one in force).
    #[arg(long = "remove-bios-password")]
    pub remove_bios_password: bool,
    /// New BIOS password.
    #[arg(long = "new-password", hide_env_values = true)]
    pub new_password: Option<String>,
    /// BIOS password in force.
    #[arg(long = "old-password", hide_env_values = true)]
    pub old_password: Option<String>,
    /// Dell: save a screenshot of the server's screen (`{host}_screenshot_{time}.png`).
    #[arg(long)]
    pub screenshot: bool,
    /// Dell: print the attach status of the network ISO.
    #[arg(long = "check-remote-image")]
    pub check_remote_image: bool,
    /// Dell: boot to the network ISO `HOST:/path/image.iso` (NFS).
    #[arg(long = "boot-remote-image", value_name = "NFS_PATH")]
    pub boot_remote_image: Option<String>,
    /// Dell: detach the network ISO.
    #[arg(long = "detach-remote-image")]
    pub detach_remote_image: bool,
    /// Dell: list the allowable targets of a Server Configuration Profile export or import.
    #[arg(long = "get-scp-targets", value_enum)]
    pub get_scp_targets: Option<ScpOperation>,
    /// Dell: comma-separated SCP targets (default ALL).
    #[arg(long = "scp-targets", default_value = "ALL")]
    pub scp_targets: String,
    /// Dell: include read-only attributes in the SCP export.
    #[arg(long = "scp-include-read-only")]
    pub scp_include_read_only: bool,
    /// Dell: export the Server Configuration Profile (JSON) into this directory, as
    /// `{YYYY-mm-dd_HHMMSS}_targets_{targets}_export.json` (over a host list, the host's name
    /// and `_` in front).
    #[arg(long = "export-scp", value_name = "DIR")]
    pub export_scp: Option<PathBuf>,
    /// Dell: import the Server Configuration Profile in this JSON file.
    #[arg(long = "import-scp", value_name = "FILE")]
    pub import_scp: Option<PathBuf>,
    /// List the FQDDs of every NIC.
    #[arg(long = "get-nic-fqdds")]
    pub get_nic_fqdds: bool,
    /// Print the attributes of this NIC FQDD (with --attribute: that one's registry entry).
    #[arg(long = "get-nic-attribute", value_name = "FQDD")]
    pub get_nic_attribute: Option<String>,
    /// Set --attribute to --value on this NIC FQDD.
    #[arg(long = "set-nic-attribute", value_name = "FQDD")]
    pub set_nic_attribute: Option<String>,
    /// Badfish's mock iDRAC: runs the lab's `quads-lab` (one Dell BMC over HTTPS, login
    /// BADFISH_EMULATOR_USER/BADFISH_EMULATOR_PASSWORD, default quads/quads) until Ctrl-C;
    /// other actions are ignored.
    #[arg(long = "redfish-emulator")]
    pub redfish_emulator: bool,
    /// With --redfish-emulator: address to bind, loopback only (127.0.0.0/8) [default: 127.0.0.1].
    #[arg(long)]
    pub bind: Option<String>,
    /// With --redfish-emulator: port to listen on [default: 8443].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,
    /// List virtual media slots.
    #[arg(long = "check-virtual-media")]
    pub check_virtual_media: bool,
    /// Mount this image URL on the virtual CD.
    #[arg(long = "mount-virtual-media", value_name = "URL")]
    pub mount_virtual_media: Option<String>,
    /// Eject virtual media.
    #[arg(long = "unmount-virtual-media")]
    pub unmount_virtual_media: bool,
    /// One-time boot from the virtual CD.
    #[arg(long = "boot-to-virtual-media")]
    pub boot_to_virtual_media: bool,
    /// List installed firmware.
    #[arg(long = "firmware-inventory")]
    pub firmware_inventory: bool,
    /// Print the serial number / service tag.
    #[arg(long = "ls-serial")]
    pub ls_serial: bool,
    /// List processors.
    #[arg(long = "ls-processors")]
    pub ls_processors: bool,
    /// List memory.
    #[arg(long = "ls-memory")]
    pub ls_memory: bool,
    /// List network interfaces.
    #[arg(long = "ls-interfaces")]
    pub ls_interfaces: bool,
    /// Reset the iDRAC.
    #[arg(long)]
    pub racreset: bool,
    /// Reset the BMC.
    #[arg(long = "bmc-reset")]
    pub bmc_reset: bool,
    /// Set this account's password (from QUADS_OOB_ACCOUNT_PASSWORD), role and enabled flag,
    /// then verify by logging in with it.
    #[arg(long = "set-account", value_name = "USER")]
    pub set_account: Option<String>,
    /// Role for --set-account.
    #[arg(long, value_enum, default_value_t = RoleArg::Operator)]
    pub role: RoleArg,
    /// With --set-account: disable the account instead.
    #[arg(long = "disable-account")]
    pub disable_account: bool,
    /// Password for --set-account.
    #[arg(
        long = "account-password",
        env = "QUADS_OOB_ACCOUNT_PASSWORD",
        hide_env_values = true
    )]
    pub account_password: Option<String>,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// `host: line` per result line as hosts finish, then a results table.
    Text,
    /// One JSON object per host (its result or its own error) per line.
    Json,
    /// One YAML document per host.
    Yaml,
    /// Badfish's own text, line for line (its log records on standard error, `[host]` in
    /// front over a host list, then its RESULTS), and its exit codes.
    Badfish,
}

/// `--get-scp-targets`: which SCP operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScpOperation {
    /// Export.
    #[value(name = "Export")]
    Export,
    /// Import.
    #[value(name = "Import")]
    Import,
}

impl From<ScpOperation> for redfish_client::ScpOperation {
    fn from(op: ScpOperation) -> Self {
        match op {
            ScpOperation::Export => Self::Export,
            ScpOperation::Import => Self::Import,
        }
    }
}

/// Roles for --set-account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Administrator.
    Administrator,
    /// Operator.
    Operator,
    /// ReadOnly.
    Readonly,
}

/// The one action a run performs on every host.
#[derive(Debug, Clone)]
enum Action {
    /// No action given: log in (Badfish's behaviour: it checks the credentials).
    CheckCredentials,
    PowerState,
    PowerOn,
    PowerOff,
    PowerCycle,
    RebootOnly,
    PowerConsumed,
    Pxe,
    BootTo(String),
    BootToType(String),
    BootToMac(String),
    ChangeBoot {
        host_type: String,
        pxe: bool,
    },
    CheckBoot,
    LsJobs,
    CheckJob(String),
    ClearJobs(ClearJobs),
    GetBios(Option<String>),
    SetBios(BTreeMap<String, String>),
    FactoryReset,
    ToggleBootDevice(String),
    FirmwareDelta(String),
    LsGpu,
    GetSriov,
    SetSriov(bool),
    BiosPassword {
        old: Secret,
        new: Secret,
    },
    Screenshot,
    /// `--check-remote-image`.
    CheckRemoteImage,
    /// `--boot-remote-image NFS_PATH` (the path as given: `-o badfish` checks it where Badfish
    /// does, after finding the service; the other outputs before any BMC is contacted).
    BootRemoteImage(String),
    /// `--detach-remote-image`.
    DetachRemoteImage,
    /// `--get-scp-targets`.
    ScpTargets(redfish_client::ScpOperation),
    /// `--export-scp DIR` with `--scp-targets` and `--scp-include-read-only`.
    ExportScp {
        dir: PathBuf,
        targets: String,
        read_only: ScpReadOnly,
    },
    /// `--import-scp FILE` with `--scp-targets`: the file's text, read once before any BMC is
    /// contacted (`None`: unreadable, which only `-o badfish` takes, saying it per host as
    /// Badfish does).
    ImportScp {
        file: PathBuf,
        profile: Option<Arc<str>>,
        targets: String,
    },
    CheckVirtualMedia,
    MountVirtualMedia(String),
    UnmountVirtualMedia,
    BootToVirtualMedia,
    FirmwareInventory,
    LsSerial,
    LsProcessors,
    LsMemory,
    LsInterfaces,
    BmcReset(ResetWait),
    SetAccount(AccountSpec),
    NicFqdds,
    GetNic {
        fqdd: String,
        attribute: Option<String>,
    },
    SetNic {
        fqdd: String,
        attribute: String,
        value: String,
    },
}

/// What a run does on every host: one action, then (`--pxe` without `-t`, as Badfish) a
/// one-time network boot.
#[derive(Debug, Clone)]
struct Plan {
    action: Action,
    then_pxe: bool,
}

impl OobArgs {
    fn plan(&self) -> anyhow::Result<Plan> {
        let action = self.action()?;
        let then_pxe = self.pxe
            && self.host_type.is_none()
            && !matches!(action, Action::Pxe | Action::CheckCredentials);
        Ok(Plan { action, then_pxe })
    }

    fn action(&self) -> anyhow::Result<Action> {
        let mut chosen: Vec<Action> = Vec::new();
        let mut push = |on: bool, a: Action| {
            if on {
                chosen.push(a);
            }
        };
        push(self.power_state, Action::PowerState);
        push(self.power_on, Action::PowerOn);
        push(self.power_off, Action::PowerOff);
        push(self.power_cycle, Action::PowerCycle);
        push(self.reboot_only, Action::RebootOnly);
        push(self.power_consumed, Action::PowerConsumed);
        push(self.check_boot, Action::CheckBoot);
        push(self.ls_jobs, Action::LsJobs);
        let force = if self.force {
            ClearJobs::Force
        } else {
            ClearJobs::Pending
        };
        push(self.clear_jobs, Action::ClearJobs(force));
        push(
            self.get_bios_attribute,
            Action::GetBios(self.attribute.clone()),
        );
        push(self.check_virtual_media, Action::CheckVirtualMedia);
        push(self.unmount_virtual_media, Action::UnmountVirtualMedia);
        push(self.boot_to_virtual_media, Action::BootToVirtualMedia);
        push(
            self.firmware_inventory && self.delta.is_none(),
            Action::FirmwareInventory,
        );
        push(self.ls_serial, Action::LsSerial);
        push(self.ls_processors, Action::LsProcessors);
        push(self.ls_memory, Action::LsMemory);
        push(self.ls_interfaces, Action::LsInterfaces);
        push(self.factory_reset, Action::FactoryReset);
        push(self.ls_gpu, Action::LsGpu);
        push(self.screenshot, Action::Screenshot);
        push(self.check_remote_image, Action::CheckRemoteImage);
        push(self.detach_remote_image, Action::DetachRemoteImage);
        push(self.get_sriov, Action::GetSriov);
        push(self.enable_sriov, Action::SetSriov(true));
        push(self.disable_sriov, Action::SetSriov(false));
        push(self.get_nic_fqdds, Action::NicFqdds);
        let wait = if self.wait {
            ResetWait::UntilResponsive
        } else {
            ResetWait::NoWait
        };
        push(self.racreset || self.bmc_reset, Action::BmcReset(wait));
        if let Some(d) = &self.boot_to {
            chosen.push(Action::BootTo(d.clone()));
        }
        if let Some(t) = &self.boot_to_type {
            chosen.push(Action::BootToType(t.clone()));
        }
        if let Some(m) = &self.boot_to_mac {
            chosen.push(Action::BootToMac(m.clone()));
        }
        if let Some(j) = &self.check_job {
            chosen.push(Action::CheckJob(j.clone()));
        }
        if let Some(path) = &self.boot_remote_image {
            if self.output != Output::Badfish {
                NfsImage::parse(path)?;
            }
            chosen.push(Action::BootRemoteImage(path.clone()));
        }
        if let Some(op) = self.get_scp_targets {
            chosen.push(Action::ScpTargets(op.into()));
        }
        if let Some(dir) = &self.export_scp {
            chosen.push(Action::ExportScp {
                dir: dir.clone(),
                targets: self.scp_targets.clone(),
                read_only: if self.scp_include_read_only {
                    ScpReadOnly::Include
                } else {
                    ScpReadOnly::Exclude
                },
            });
        }
        if let Some(file) = &self.import_scp {
            let profile = match std::fs::read_to_string(file) {
                Ok(text) => Some(Arc::from(text)),
                Err(_) if self.output == Output::Badfish => None,
                Err(e) => bail!("cannot read SCP file {}: {e}", file.display()),
            };
            chosen.push(Action::ImportScp {
                file: file.clone(),
                profile,
                targets: self.scp_targets.clone(),
            });
        }
        if let Some(url) = &self.mount_virtual_media {
            chosen.push(Action::MountVirtualMedia(url.clone()));
        }
        if let Some(fqdd) = &self.get_nic_attribute {
            chosen.push(Action::GetNic {
                fqdd: fqdd.clone(),
                attribute: self.attribute.clone(),
            });
        }
        if let Some(fqdd) = &self.set_nic_attribute {
            let (Some(attribute), Some(value)) = (&self.attribute, &self.value) else {
                bail!("--set-nic-attribute needs --attribute and --value");
            };
            chosen.push(Action::SetNic {
                fqdd: fqdd.clone(),
                attribute: attribute.clone(),
                value: value.clone(),
            });
        }
        if let Some(d) = &self.toggle_boot_device {
            chosen.push(Action::ToggleBootDevice(d.clone()));
        }
        if let Some(other) = &self.delta {
            if !self.firmware_inventory {
                bail!("--delta compares firmware: give it with --firmware-inventory");
            }
            chosen.push(Action::FirmwareDelta(other.clone()));
        }
        if self.set_bios_attribute {
            chosen.push(Action::SetBios(self.bios_changes()?));
        } else if !self.attribute_value.is_empty() {
            bail!("--attribute-value requires --set-bios-attribute");
        }
        if self.set_bios_password || self.remove_bios_password {
            let old = Secret::new(self.old_password.clone().unwrap_or_default());
            let new = if self.set_bios_password {
                match &self.new_password {
                    Some(p) if !p.is_empty() => Secret::new(p.clone()),
                    _ => bail!("--set-bios-password needs --new-password"),
                }
            } else {
                if old.is_empty() {
                    bail!("--remove-bios-password needs --old-password");
                }
                Secret::new("")
            };
            chosen.push(Action::BiosPassword { old, new });
        }
        if let Some(t) = &self.host_type {
            chosen.push(Action::ChangeBoot {
                host_type: t.clone(),
                pxe: self.pxe,
            });
        }
        if let Some(user) = &self.set_account {
            let Some(password) = &self.account_password else {
                bail!("--set-account needs --account-password or QUADS_OOB_ACCOUNT_PASSWORD");
            };
            chosen.push(Action::SetAccount(AccountSpec {
                username: user.clone(),
                password: Secret::new(password.clone()),
                role: match self.role {
                    RoleArg::Administrator => Role::Administrator,
                    RoleArg::Operator => Role::Operator,
                    RoleArg::Readonly => Role::ReadOnly,
                },
                state: if self.disable_account {
                    AccountState::Disabled
                } else {
                    AccountState::Enabled
                },
            }));
        }
        match chosen.len() {
            0 if self.pxe => Ok(Action::Pxe),
            0 => Ok(Action::CheckCredentials),
            1 => Ok(chosen.remove(0)),
            _ => bail!("give one action at a time"),
        }
    }

    /// `--attribute NAME --value V`, or the `--attribute-value NAME=V` pairs (checked as Badfish
    /// does before any BMC is contacted: well formed, no name twice, not mixed with the others).
    fn bios_changes(&self) -> anyhow::Result<BTreeMap<String, String>> {
        if self.attribute_value.is_empty() {
            let (Some(a), Some(v)) = (&self.attribute, &self.value) else {
                bail!("--set-bios-attribute needs --attribute and --value, or --attribute-value");
            };
            return Ok(BTreeMap::from([(a.clone(), v.clone())]));
        }
        if self.attribute.is_some() || self.value.is_some() {
            bail!("use either --attribute/--value or --attribute-value, not both");
        }
        let mut changes = BTreeMap::new();
        for pair in &self.attribute_value {
            let (name, value) = pair
                .split_once('=')
                .map(|(n, v)| (n.trim(), v.trim()))
                .filter(|(n, v)| !n.is_empty() && !v.is_empty())
                .ok_or_else(|| anyhow::anyhow!("invalid attribute/value pair: {pair:?}"))?;
            if changes
                .keys()
                .any(|k: &String| k.eq_ignore_ascii_case(name))
            {
                bail!("BIOS attribute {name} given twice");
            }
            changes.insert(name.to_owned(), value.to_owned());
        }
        Ok(changes)
    }

    /// `--rack`, `--uloc`, `--blade`.
    fn location(&self) -> HostLocation {
        HostLocation {
            rack: self.rack.clone(),
            uloc: self.uloc.clone(),
            blade: self.blade.clone(),
        }
    }

    fn hosts(&self) -> anyhow::Result<Vec<String>> {
        if let Some(host) = &self.host {
            return Ok(vec![host.clone()]);
        }
        let Some(path) = &self.host_list else {
            bail!("give a BMC with -H or a file of BMCs with --host-list");
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read host list {}", path.display()))?;
        let hosts = parse_host_list(&text);
        if hosts.is_empty() {
            bail!("{} lists no host", path.display());
        }
        Ok(hosts)
    }

    fn client_config(&self, addresses: &[BmcAddress]) -> ClientConfig {
        let tls = if self.insecure {
            TlsVerification::Insecure
        } else if !self.insecure_hosts.is_empty() {
            let wanted: BTreeSet<String> = self.insecure_hosts.iter().cloned().collect();
            let mut hosts: BTreeSet<String> = addresses
                .iter()
                .filter(|a| wanted.contains(a.host()) || wanted.contains(a.authority()))
                .map(|a| a.host().to_owned())
                .collect();
            hosts.extend(wanted);
            TlsVerification::InsecureHosts {
                ca_bundle: self.ca_bundle.clone(),
                hosts,
            }
        } else if let Some(bundle) = &self.ca_bundle {
            TlsVerification::CaBundle(bundle.clone())
        } else {
            TlsVerification::Platform
        };
        let mut config = ClientConfig {
            transport: TransportConfig {
                tls,
                request_timeout: Duration::from_secs_f64(self.timeout),
                connect_timeout: Duration::from_secs_f64(self.timeout.min(10.0)),
                ..TransportConfig::default()
            },
            per_bmc_concurrency: self.per_bmc.max(1),
            ..ClientConfig::default()
        };
        config.retry.max_attempts = self.retries.max(1);
        config
    }
}

/// `--timeout`: a number of seconds above zero.
fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs.is_finite() => Ok(secs),
        _ => Err(format!("{text:?} is not a number of seconds above zero")),
    }
}

/// The hosts of a host-list file: one per line, blank lines and `#` comments skipped.
#[must_use]
pub fn parse_host_list(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Entry point from `main` (Badfish\'s `-v` is the global `-v`): runs on the process\'s
/// runtime, with the BMC login of `[bmc]` as the last default.
pub fn main(args: OobArgs, file: &crate::config::ConfigFile) -> u8 {
    if args.version {
        let _ = writeln!(
            std::io::stdout(),
            "quads oob {} (Badfish {BADFISH_RELEASE} flags)",
            env!("QUADS_VERSION")
        );
        return crate::process::EXIT_OK;
    }
    if args.redfish_emulator {
        return run_emulator(&args);
    }
    let outcome = file
        .bmc_login(&crate::config::ProcessEnv)
        .map_err(usage)
        .and_then(|login| crate::process::block_on(run(args, login))?);
    exit_code(outcome)
}

/// `--redfish-emulator`: the lab's `quads-lab` as Badfish's mock iDRAC, until a signal. As in
/// Badfish, every other flag but `--bind` and `--port` is ignored (said in a warning).
fn run_emulator(args: &OobArgs) -> u8 {
    if args.host.is_some()
        || args.host_list.is_some()
        || !matches!(args.action(), Ok(Action::CheckCredentials))
    {
        tracing::warn!(
            "--redfish-emulator ignores the hosts and actions given with it, as Badfish"
        );
    }
    let outcome = emulator::Emulator::new(args.bind.as_deref(), args.port, |name| {
        std::env::var(name).ok()
    })
    .map_err(usage)
    .and_then(|emulator| {
        let exe = std::env::current_exe().ok();
        let lab = emulator::find_lab(exe.as_deref(), std::env::var_os("PATH").as_deref())
            .map_err(usage)?;
        crate::process::block_on(async move { emulator.serve(&lab).await })?
    });
    exit_code(outcome)
}

/// The process exit code of a run: its own, or (said on stderr) 2 for bad usage, 1 otherwise.
fn exit_code(outcome: anyhow::Result<u8>) -> u8 {
    match outcome {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            if e.is::<UsageError>() {
                crate::process::EXIT_USAGE
            } else {
                crate::process::EXIT_FAILED
            }
        }
    }
}

/// The Badfish release whose flags and meanings `quads oob` accepts.
pub const BADFISH_RELEASE: &str = "1.8.2";

/// What every host's action may need beside its BMC.
#[derive(Debug)]
struct Context {
    interfaces: Option<InterfacesFile>,
    location: HostLocation,
    /// `--delta HOST`: the other BMC, with the same credentials.
    peer: Option<(String, Bmc)>,
    /// Over a `--host-list` (files written per host carry the host's name).
    multi_host: bool,
}

/// A problem found before any BMC is contacted (arguments, host list, credentials, files):
/// exit code 2, as for the errors clap finds.
#[derive(Debug)]
struct UsageError(anyhow::Error);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for UsageError {}

#[allow(clippy::needless_pass_by_value)] // used as `map_err(usage)`
fn usage(e: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(UsageError(e.into()))
}

/// What one host produced.
#[derive(Debug)]
struct HostResult {
    host: String,
    lines: Result<Vec<Value>, String>,
    duration: Duration,
    /// `-o badfish`: what Badfish would have logged for this host.
    badfish: Option<badfish_out::HostLog>,
}

/// One host's result as JSON and YAML print it (version 1 of that shape).
#[derive(Debug, serde::Serialize)]
struct HostReport<'a> {
    v: u32,
    host: &'a str,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a [Value]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    duration_s: f64,
}

impl HostResult {
    fn report(&self) -> HostReport<'_> {
        HostReport {
            v: 1,
            host: &self.host,
            ok: self.lines.is_ok(),
            result: self.lines.as_ref().ok().map(Vec::as_slice),
            error: self.lines.as_ref().err().map(String::as_str),
            duration_s: (self.duration.as_secs_f64() * 1000.0).round() / 1000.0,
        }
    }
}

/// Runs `quads oob`; the exit code is 0 when every host succeeded, 1 when one failed, 130 on
/// Ctrl-C or SIGTERM.
///
/// # Errors
/// On bad arguments or an unreadable host list / interfaces file.
pub async fn run(args: OobArgs, login: crate::config::Login) -> anyhow::Result<u8> {
    let plan = args.plan().map_err(usage)?;
    let hosts = args.hosts().map_err(usage)?;
    let addresses: Vec<BmcAddress> = hosts
        .iter()
        .map(|h| BmcAddress::parse(h).map_err(usage))
        .collect::<anyhow::Result<_>>()?;
    // Badfish's flags and names first (clap reads them), then `[bmc]` and its variables.
    let user = args.user.clone().or(login.username);
    let password = args
        .password
        .clone()
        .or_else(|| login.password.map(|p| p.expose().to_owned()));
    let badfish_shape = (args.output == Output::Badfish).then(|| badfish_out::RunShape {
        multi_host: args.host_list.is_some(),
        password_on_command_line: args.password.is_some()
            && std::env::var("BADFISH_PASSWORD").ok() != args.password,
    });
    let (Some(user), Some(password)) = (user, password) else {
        if let Some(shape) = badfish_shape {
            let mut out = log_output(args.log.as_deref())?;
            badfish_out::print_failure(
                &hosts,
                shape,
                "Missing credentials. Please provide credentials via CLI arguments or \
                 environment variables.",
                args.log.is_some(),
                &mut out,
            );
            return Ok(1);
        }
        return Err(usage(anyhow::anyhow!(
            "missing credentials: -u/-p, BADFISH_USERNAME/BADFISH_PASSWORD, \
             QUADS_BMC_USERNAME/QUADS_BMC_PASSWORD(_FILE) or [bmc] in quads.toml"
        )));
    };
    let interfaces = match &args.interfaces {
        Some(path) => Some(InterfacesFile::load(path).map_err(usage)?),
        None => None,
    };
    if matches!(
        plan.action,
        Action::ChangeBoot { .. } | Action::BootToType(_)
    ) && interfaces.is_none()
    {
        return Err(usage(anyhow::anyhow!(
            "this action needs the interfaces YAML (-i FILE)"
        )));
    }
    let mut out = log_output(args.log.as_deref())?;
    let client = RedfishClient::new(args.client_config(&addresses)).map_err(usage)?;
    let peer = match &plan.action {
        Action::FirmwareDelta(other) => {
            let address = BmcAddress::parse(other).map_err(usage)?;
            let credentials = Credentials::new(user.clone(), password.clone());
            Some((other.clone(), client.bmc(address, credentials)))
        }
        _ => None,
    };
    let context = Arc::new(Context {
        interfaces,
        location: args.location(),
        peer,
        multi_host: args.host_list.is_some(),
    });
    let cancel = CancellationToken::new();
    let gate = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (host, address) in hosts.iter().zip(addresses) {
        let bmc = client.bmc(address, Credentials::new(user.clone(), password.clone()));
        let (host, plan, context, cancel, gate) = (
            host.clone(),
            plan.clone(),
            context.clone(),
            cancel.clone(),
            gate.clone(),
        );
        set.spawn(async move {
            let Ok(_permit) = gate.acquire_owned().await else {
                return HostResult {
                    host,
                    lines: Err("stopped".into()),
                    duration: Duration::ZERO,
                    badfish: None,
                };
            };
            if cancel.is_cancelled() {
                return HostResult {
                    host,
                    lines: Err("not started: interrupted".into()),
                    duration: Duration::ZERO,
                    badfish: None,
                };
            }
            let started = tokio::time::Instant::now();
            if let Some(shape) = badfish_shape {
                let log = badfish_out::perform(&bmc, &host, &plan, &context, &cancel, shape).await;
                if let Err(e) = bmc.logout().await {
                    tracing::warn!(bmc = %bmc.name(), error = %e, "logout failed");
                }
                return HostResult {
                    host,
                    lines: if log.ok {
                        Ok(Vec::new())
                    } else {
                        Err("failed".into())
                    },
                    duration: started.elapsed(),
                    badfish: Some(log),
                };
            }
            let mut result = perform(&bmc, &host, &plan.action, &context, &cancel).await;
            if plan.then_pxe
                && let Ok(lines) = &mut result
            {
                match bmc.pxe_once().await {
                    Ok(change) => lines.push(change_line(&change)),
                    Err(e) => result = Err(e),
                }
            }
            if let Err(e) = bmc.logout().await {
                tracing::warn!(bmc = %bmc.name(), error = %e, "logout failed");
            }
            HostResult {
                host,
                lines: result.map_err(|e| e.to_string()),
                duration: started.elapsed(),
                badfish: None,
            }
        });
    }
    let mut results = Vec::new();
    let mut interrupted = false;
    let progress = progress_bar(hosts.len());
    // SIGINT or SIGTERM: in-flight requests cancelled, nothing new started, sessions logged out
    let signal = crate::signals::interrupted();
    tokio::pin!(signal);
    loop {
        tokio::select! {
            joined = set.join_next() => match joined {
                Some(Ok(r)) => {
                    progress.suspend(|| print_result(&mut out, &r, args.output));
                    progress.inc(1);
                    results.push(r);
                }
                Some(Err(e)) => tracing::error!(error = %e, "a host task failed"),
                None => break,
            },
            () = &mut signal, if !interrupted => {
                interrupted = true;
                tracing::warn!("interrupted: stopping, logging out");
                cancel.cancel();
                gate.close();
            }
        }
    }
    let closed = client.close_all().await;
    if closed > 0 {
        tracing::info!(closed, "sessions logged out");
    }
    progress.finish_and_clear();
    let failed = results.iter().filter(|r| r.lines.is_err()).count();
    if let Some(shape) = badfish_shape {
        badfish_out::print(&mut results, &hosts, shape, args.log.is_some(), &mut out);
    }
    if hosts.len() > 1 && args.output == Output::Text {
        let _ = writeln!(out, "{}", results_table(&mut results));
        let _ = writeln!(
            out,
            "{} hosts: {} ok, {failed} failed",
            hosts.len(),
            results.len() - failed
        );
    }
    Ok(if interrupted {
        crate::process::EXIT_INTERRUPTED
    } else if failed > 0 || results.len() < hosts.len() {
        crate::process::EXIT_FAILED
    } else {
        crate::process::EXIT_OK
    })
}

/// Where results go: the `-l` file, else standard output.
fn log_output(log: Option<&std::path::Path>) -> anyhow::Result<Box<dyn Write + Send>> {
    Ok(match log {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create log file {}", path.display()))
                .map_err(usage)?,
        ),
        None => Box::new(std::io::stdout()),
    })
}

fn print_result(out: &mut dyn Write, result: &HostResult, output: Output) {
    match (output, &result.lines) {
        (Output::Text, Ok(lines)) => {
            for line in lines {
                let text = match line {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let _ = writeln!(out, "{}: {text}", result.host);
            }
        }
        (Output::Text, Err(e)) => {
            let _ = writeln!(out, "{}: FAILED: {e}", result.host);
        }
        (Output::Json, _) => {
            let text = serde_json::to_string(&result.report()).unwrap_or_default();
            let _ = writeln!(out, "{text}");
        }
        // Badfish prints everything at the end.
        (Output::Badfish, _) => {}
        (Output::Yaml, _) => match serde_saphyr::to_string(&result.report()) {
            Ok(text) => {
                let _ = write!(out, "---\n{text}");
            }
            Err(e) => tracing::error!(host = %result.host, error = %e, "cannot write YAML"),
        },
    }
}

/// The closing table: host, SUCCESSFUL/FAILED, reason, duration; failures first, then by host.
fn results_table(results: &mut [HostResult]) -> String {
    results.sort_by(|a, b| (a.lines.is_ok(), &a.host).cmp(&(b.lines.is_ok(), &b.host)));
    let rows = results.iter().map(|result| {
        let (status, reason) = match &result.lines {
            Ok(lines) => {
                let last = lines.last().map(|line| match line {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
                ("SUCCESSFUL", last.unwrap_or_default())
            }
            Err(e) => ("FAILED", e.clone()),
        };
        vec![
            result.host.clone(),
            status.to_owned(),
            reason.chars().take(100).collect(),
            format!("{:.2}s", result.duration.as_secs_f64()),
        ]
    });
    crate::admin::output::table(&["host", "result", "reason", "duration"], rows)
}

/// A bar on stderr for long host lists when stderr is a terminal; hidden otherwise.
fn progress_bar(hosts: usize) -> indicatif::ProgressBar {
    use std::io::IsTerminal as _;
    if hosts < 10 || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(hosts as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} hosts")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn change_line(change: &SettingsChange) -> Value {
    match change {
        SettingsChange::Unchanged => json!("no change needed"),
        SettingsChange::Applied => json!("applied"),
        SettingsChange::Pending { job: Some(job) } => json!(format!("pending, job {job}")),
        SettingsChange::Pending { job: None } => json!("pending until the next reset"),
    }
}

/// Runs one action on one BMC; the lines say what was found and done.
async fn perform(
    bmc: &Bmc,
    host: &str,
    action: &Action,
    context: &Context,
    cancel: &CancellationToken,
) -> Result<Vec<Value>, redfish_client::Error> {
    let interfaces = context.interfaces.as_ref();
    let interfaces_needed = || {
        interfaces.ok_or_else(|| redfish_client::Error::Config {
            reason: "this action needs -i FILE".into(),
        })
    };
    Ok(match action {
        Action::CheckCredentials => {
            bmc.login().await?;
            vec![json!("credentials accepted")]
        }
        Action::PowerState => vec![json!(format!("power {}", bmc.power_state().await?))],
        Action::PowerOn => power_line(&bmc.power_on(cancel).await?),
        Action::PowerOff => power_line(&bmc.power_off(cancel).await?),
        Action::PowerCycle => power_line(&bmc.power_cycle_by_bmc(cancel).await?),
        Action::RebootOnly => power_line(&bmc.graceful_reboot(cancel).await?),
        Action::PowerConsumed => vec![match bmc.power_consumed_watts().await? {
            Some(w) => json!(format!("power consumed {w} W")),
            None => json!("power consumed: no reading"),
        }],
        Action::Pxe => vec![change_line(&bmc.pxe_once().await?)],
        Action::BootTo(device) => vec![change_line(&bmc.boot_to_device(device, cancel).await?)],
        Action::BootToType(t) => {
            let devices = interfaces_needed()?.interfaces_at(host, t, None, &context.location)?;
            let first = devices.first().cloned().unwrap_or_default();
            vec![change_line(&bmc.boot_to_device(&first, cancel).await?)]
        }
        Action::BootToMac(mac) => vec![change_line(&bmc.boot_to_mac(mac, cancel).await?)],
        Action::ChangeBoot { host_type, pxe } => {
            let devices =
                interfaces_needed()?.interfaces_at(host, host_type, None, &context.location)?;
            change_boot(bmc, host_type, &devices, *pxe, cancel).await?
        }
        Action::CheckBoot => {
            let order = bmc.boot_order().await?;
            if order.devices.is_empty() {
                return Ok(vec![json!("boot order is empty")]);
            }
            let mut lines: Vec<Value> = order
                .devices
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    json!(format!(
                        "{}: {}{}",
                        i + 1,
                        d.name,
                        if d.enabled { "" } else { " (disabled)" }
                    ))
                })
                .collect();
            if let Some(file) = interfaces {
                lines.insert(
                    0,
                    json!(
                        match file.boot_order_type_at(host, &order, &context.location) {
                            Some(t) => format!("boot order is {t}"),
                            None => "boot order matches no host type".to_owned(),
                        }
                    ),
                );
            }
            lines
        }
        Action::LsJobs => {
            let jobs = bmc.jobs().await?;
            if jobs.is_empty() {
                vec![json!("no jobs")]
            } else {
                jobs.iter()
                    .map(|j| {
                        json!(format!(
                            "{} {} {}",
                            j.id,
                            j.state,
                            j.message.clone().unwrap_or_default()
                        ))
                    })
                    .collect()
            }
        }
        Action::CheckJob(id) => {
            let j = bmc.job(id).await?;
            vec![json!(format!(
                "{} {} {}% {}",
                j.id,
                j.state,
                j.percent.unwrap_or(0),
                j.message.unwrap_or_default()
            ))]
        }
        Action::ClearJobs(mode) => {
            vec![json!(format!("{:?}", bmc.clear_jobs(*mode, cancel).await?))]
        }
        Action::GetBios(None) => bmc
            .bios_attributes()
            .await?
            .into_iter()
            .map(|(k, v)| json!(format!("{k}: {}", plain(&v))))
            .collect(),
        Action::GetBios(Some(name)) => {
            let entry = bmc.bios_registry_entry(name).await?;
            let current = bmc.bios_attribute(name).await?.unwrap_or(Value::Null);
            vec![attribute_line(&entry, &current)]
        }
        Action::NicFqdds => bmc
            .nic_fqdds()
            .await?
            .into_iter()
            .map(|a| json!(format!("{}: {}", a.id, a.fqdds.join(", "))))
            .collect(),
        Action::GetNic {
            fqdd,
            attribute: None,
        } => bmc
            .nic_attributes(fqdd)
            .await?
            .into_iter()
            .map(|(k, v)| json!(format!("{fqdd} {k}: {}", plain(&v))))
            .collect(),
        Action::GetNic {
            fqdd,
            attribute: Some(name),
        } => {
            let info = bmc.nic_attribute(fqdd, name).await?;
            let current = info.current.unwrap_or(Value::Null);
            vec![attribute_line(&info.entry, &current)]
        }
        Action::SetNic {
            fqdd,
            attribute,
            value,
        } => {
            let change = bmc.set_nic_attribute(fqdd, attribute, value).await?;
            reboot_for(bmc, change, cancel).await?
        }
        Action::SetBios(changes) => {
            let change = bmc.set_bios_attributes(changes).await?;
            reboot_for(bmc, change, cancel).await?
        }
        Action::FactoryReset => {
            bmc.reset_bios().await?;
            vec![json!(
                "BIOS reset to factory defaults: applied at the next boot"
            )]
        }
        Action::ToggleBootDevice(device) => {
            let (enabled, change) = bmc.toggle_boot_device(device, cancel).await?;
            let state = if enabled { "enabled" } else { "disabled" };
            let mut lines = vec![json!(format!("{device} {state}")), change_line(&change)];
            lines.extend(power_line(&bmc.power_cycle(cancel).await?));
            if let SettingsChange::Pending { job: Some(job) } = &change {
                let done = bmc.wait_job(job, JobTarget::Completed, cancel).await?;
                lines.push(json!(format!("job {} {}", done.id, done.state)));
            }
            lines
        }
        Action::FirmwareDelta(other) => {
            let Some((_, peer)) = &context.peer else {
                return Err(redfish_client::Error::Config {
                    reason: "--delta needs the other BMC".into(),
                });
            };
            let (mine, theirs) =
                tokio::try_join!(bmc.firmware_inventory(), peer.firmware_inventory())?;
            let delta = redfish_client::firmware_delta(&mine, &theirs);
            if delta.is_empty() {
                vec![json!(format!("no firmware version differs from {other}"))]
            } else {
                delta
                    .iter()
                    .map(|d| {
                        json!(format!(
                            "{}: {} here, {} on {other}",
                            d.name, d.first, d.second
                        ))
                    })
                    .collect()
            }
        }
        Action::LsGpu => {
            let gpus = bmc.gpus().await?;
            if gpus.is_empty() {
                return Ok(vec![json!("no GPUs")]);
            }
            let mut count: BTreeMap<String, usize> = BTreeMap::new();
            for g in &gpus {
                *count
                    .entry(g.model.clone().unwrap_or_default())
                    .or_default() += 1;
            }
            let mut lines: Vec<Value> = count
                .iter()
                .map(|(model, n)| json!(format!("{n} x {model}")))
                .collect();
            lines.extend(gpus.iter().map(|g| {
                json!(format!(
                    "{}: {} {} {}",
                    g.id,
                    g.model.clone().unwrap_or_default(),
                    g.manufacturer.clone().unwrap_or_default(),
                    g.processor_type.clone().unwrap_or_default()
                ))
            }));
            lines
        }
        Action::GetSriov => vec![json!(format!("SR-IOV {}", bmc.sriov_mode().await?))],
        Action::SetSriov(on) => {
            let change = bmc.set_sriov(*on).await?;
            reboot_for(bmc, change, cancel).await?
        }
        Action::BiosPassword { old, new } => {
            let change = bmc.change_bios_password(old, new).await?;
            let what = if new.is_empty() { "removed" } else { "set" };
            let mut lines = vec![json!(format!("BIOS password {what}"))];
            lines.extend(reboot_for(bmc, change, cancel).await?);
            lines
        }
        Action::Screenshot => {
            let image = bmc.screenshot().await?;
            let name = screenshot_file_name(bmc.address().host(), std::time::SystemTime::now());
            write_file(PathBuf::from(&name), image).await?;
            vec![json!(format!("Image saved: {name}"))]
        }
        Action::ScpTargets(op) => {
            let targets = bmc.scp_targets(*op).await?;
            if targets.is_empty() {
                vec![json!(format!("SCP {op}: the BMC lists no targets"))]
            } else {
                targets.into_iter().map(Value::from).collect()
            }
        }
        Action::ExportScp {
            dir,
            targets,
            read_only,
        } => {
            let export = bmc.export_scp(targets, *read_only, cancel).await?;
            let path = save_scp_export(bmc, context, dir, targets, &export.profile).await?;
            vec![json!(format!(
                "SCP exported by job {}: {}",
                export.job,
                path.display()
            ))]
        }
        Action::ImportScp {
            file,
            profile,
            targets,
        } => {
            let Some(profile) = profile else {
                return Err(redfish_client::Error::Config {
                    reason: format!("cannot read SCP file {}", file.display()),
                });
            };
            let done = bmc.import_scp(profile, targets, cancel).await?;
            vec![json!(format!(
                "SCP imported by job {} {}: {}",
                done.job, done.state, done.message
            ))]
        }
        Action::CheckRemoteImage => {
            let status = bmc.remote_image_status().await?;
            vec![json!(format!("remote ISO {}", status.iso))]
        }
        Action::BootRemoteImage(path) => {
            let image = NfsImage::parse(path)?;
            let boot = bmc.boot_remote_image(&image).await?;
            vec![json!(match (boot.task, boot.task_state) {
                (Some(task), Some(state)) => {
                    format!("booting remote ISO {image} (task {task} {state})")
                }
                _ => format!("booting remote ISO {image}"),
            })]
        }
        Action::DetachRemoteImage => {
            bmc.detach_remote_image().await?;
            vec![json!("remote ISO detached")]
        }
        Action::CheckVirtualMedia => bmc
            .virtual_media()
            .await?
            .iter()
            .map(|s| {
                json!(format!(
                    "{}: inserted {} image {}",
                    s.id,
                    s.inserted,
                    s.image.clone().unwrap_or_default()
                ))
            })
            .collect(),
        Action::MountVirtualMedia(url) => {
            let slot = bmc.mount_virtual_media(url, cancel).await?;
            vec![json!(format!("{} mounted {url}", slot.id))]
        }
        Action::UnmountVirtualMedia => {
            vec![json!(format!(
                "ejected {}",
                bmc.unmount_virtual_media(cancel).await?
            ))]
        }
        Action::BootToVirtualMedia => vec![change_line(&bmc.boot_to_virtual_media().await?)],
        Action::FirmwareInventory => bmc
            .firmware_inventory()
            .await?
            .into_iter()
            .map(|f| {
                json!(format!(
                    "{}: {} {}",
                    f.id.unwrap_or_default(),
                    f.name.unwrap_or_default(),
                    f.version.unwrap_or_default()
                ))
            })
            .collect(),
        Action::LsSerial => {
            let s = bmc.serial().await?;
            vec![json!(match (s.service_tag, s.serial_number) {
                (Some(tag), _) => format!("service tag {tag}"),
                (None, Some(serial)) => format!("serial {serial}"),
                (None, None) => "no serial reported".to_owned(),
            })]
        }
        Action::LsProcessors => {
            let p = bmc.processors().await?;
            let mut lines = vec![json!(format!(
                "{} processors, {} threads, {}",
                p.summary.count.unwrap_or(0),
                p.summary.logical_processor_count.unwrap_or(0),
                p.summary.model.unwrap_or_default()
            ))];
            lines.extend(p.processors.iter().map(|c| {
                json!(format!(
                    "{}: {} {} cores",
                    c.id.clone().unwrap_or_default(),
                    c.model.clone().unwrap_or_default(),
                    c.total_cores.unwrap_or(0)
                ))
            }));
            lines
        }
        Action::LsMemory => {
            let m = bmc.memory().await?;
            let mut lines = vec![json!(format!("{} GiB", m.summary.total_gib.unwrap_or(0.0)))];
            lines.extend(m.dimms.iter().map(|d| {
                json!(format!(
                    "{}: {} MiB {}",
                    d.name.clone().or_else(|| d.id.clone()).unwrap_or_default(),
                    d.capacity_mib.unwrap_or(0),
                    d.memory_device_type.clone().unwrap_or_default()
                ))
            }));
            lines
        }
        Action::LsInterfaces => bmc
            .ethernet_interfaces()
            .await?
            .into_iter()
            .map(|i| {
                json!(format!(
                    "{}: {} {} {} Mbps",
                    i.id.unwrap_or_default(),
                    i.mac_address.unwrap_or_default(),
                    i.link_status.unwrap_or_default(),
                    i.speed_mbps.unwrap_or(0)
                ))
            })
            .collect(),
        Action::BmcReset(wait) => {
            vec![json!(format!(
                "BMC reset ({})",
                bmc.reset_bmc(*wait, cancel).await?
            ))]
        }
        Action::SetAccount(spec) => {
            let out = bmc.set_account(spec).await?;
            vec![json!(format!(
                "account {} {} at {}{}",
                spec.username,
                if out.created { "created" } else { "updated" },
                out.path,
                if out.verified_login {
                    ", login verified"
                } else {
                    ""
                }
            ))]
        }
    })
}

/// A staged BIOS change: its line, then (when pending) a graceful reboot and the wait for its
/// config job, as Badfish applies BIOS changes.
/// An attribute, its current value, type and allowed values (`--get-bios-attribute` and
/// `--get-nic-attribute` with `--attribute`).
fn attribute_line(entry: &redfish_client::RegistryAttribute, current: &Value) -> Value {
    let allowed: Vec<&str> = entry.value.iter().map(|v| v.value_name.as_str()).collect();
    let mut line = format!(
        "{}: {} (type {}",
        entry.attribute_name,
        plain(current),
        entry.kind.as_deref().unwrap_or_default()
    );
    if !allowed.is_empty() {
        let _ = write!(line, ", allowed: {}", allowed.join(", "));
    }
    if let (Some(lo), Some(hi)) = (entry.lower_bound, entry.upper_bound) {
        let _ = write!(line, ", {lo}..={hi}");
    }
    line.push(')');
    json!(line)
}

async fn reboot_for(
    bmc: &Bmc,
    change: SettingsChange,
    cancel: &CancellationToken,
) -> Result<Vec<Value>, redfish_client::Error> {
    let mut lines = vec![change_line(&change)];
    if let SettingsChange::Pending { job } = &change {
        lines.extend(power_line(&bmc.graceful_reboot(cancel).await?));
        if let Some(job) = job {
            let done = bmc.wait_job(job, JobTarget::Completed, cancel).await?;
            lines.push(json!(format!("job {} {}", done.id, done.state)));
        }
    }
    Ok(lines)
}

/// `-t TYPE [--pxe]`: if the boot order does not already start with TYPE's `devices`, clear
/// the job queue, set it (Dell: config job), optionally PXE once, power cycle, and wait for
/// the job to complete.
async fn change_boot(
    bmc: &Bmc,
    host_type: &str,
    devices: &[String],
    pxe: bool,
    cancel: &CancellationToken,
) -> Result<Vec<Value>, redfish_client::Error> {
    if bmc.boot_order().await?.starts_with(devices) {
        let mut lines = vec![json!(format!("boot order already {host_type}"))];
        if pxe {
            lines.push(change_line(&bmc.pxe_once().await?));
        }
        return Ok(lines);
    }
    let change = bmc
        .set_boot_order(&redfish_client::BootOrderRequest::new(devices), cancel)
        .await?;
    let mut lines = vec![change_line(&change)];
    if pxe {
        lines.push(change_line(&bmc.pxe_once().await?));
    }
    lines.extend(power_line(&bmc.power_cycle(cancel).await?));
    if let SettingsChange::Pending { job: Some(job) } = &change {
        let done = bmc.wait_job(job, JobTarget::Completed, cancel).await?;
        lines.push(json!(format!("job {} {}", done.id, done.state)));
    }
    Ok(lines)
}

/// Writes `bytes` to `path` off the runtime.
async fn write_file(path: PathBuf, bytes: Vec<u8>) -> Result<(), redfish_client::Error> {
    let shown = path.display().to_string();
    tokio::task::spawn_blocking(move || std::fs::write(path, bytes))
        .await
        .map_err(std::io::Error::other)
        .and_then(|written| written)
        .map_err(|e| redfish_client::Error::Config {
            reason: format!("cannot write {shown}: {e}"),
        })
}

/// Saves an exported profile (JSON, indented by 4 as Badfish writes it) in `dir` under
/// Badfish's name (the host's in front over a host list); the path written.
async fn save_scp_export(
    bmc: &Bmc,
    context: &Context,
    dir: &std::path::Path,
    targets: &str,
    profile: &Value,
) -> Result<PathBuf, redfish_client::Error> {
    let mut name = scp_export_file_name(targets, std::time::SystemTime::now());
    if context.multi_host {
        let host = bmc.address().host();
        name = format!("{}_{name}", host.split('.').next().unwrap_or(host));
    }
    let path = dir.join(name);
    let mut text = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut writer = serde_json::Serializer::with_formatter(&mut text, formatter);
    serde::Serialize::serialize(profile, &mut writer).map_err(|e| {
        redfish_client::Error::Config {
            reason: format!("cannot write {}: {e}", path.display()),
        }
    })?;
    write_file(path.clone(), text).await?;
    Ok(path)
}

/// The UTC date (`YYYY-mm-dd`) and time (`HH:MM:SS`) of `at`.
fn utc_date_time(at: std::time::SystemTime) -> (String, String) {
    let stamp = provision_core::Timestamp::from_system_time(at).to_string();
    (
        stamp.chars().take(10).collect(),
        stamp.chars().skip(11).take(8).collect(),
    )
}

/// Badfish's SCP export file name: `{YYYY-mm-dd_HHMMSS}_targets_{targets, commas as
/// dashes}_export.json` (UTC).
fn scp_export_file_name(targets: &str, at: std::time::SystemTime) -> String {
    let (date, time) = utc_date_time(at);
    let time: String = time.chars().filter(|c| *c != ':').collect();
    format!(
        "{date}_{time}_targets_{}_export.json",
        targets.replace(',', "-")
    )
}

/// Badfish's screenshot file name: `{BMC host name up to the first dot}_screenshot_{YYYYmmdd-HHMMSS}.png`
/// (the time in UTC; no scheme or port, which Badfish never sees in a name), in the working
/// directory.
fn screenshot_file_name(host: &str, at: std::time::SystemTime) -> String {
    let (date, time) = utc_date_time(at);
    let date: String = date.chars().filter(|c| *c != '-').collect();
    let time: String = time.chars().filter(|c| *c != ':').collect();
    let short = host.split('.').next().unwrap_or(host);
    format!("{short}_screenshot_{date}-{time}.png")
}

fn power_line(out: &redfish_client::PowerOutcome) -> Vec<Value> {
    let actions: Vec<&str> = out.actions.iter().map(|a| a.as_str()).collect();
    vec![json!(if actions.is_empty() {
        format!("power already {}", out.after)
    } else {
        format!(
            "power {} -> {} ({})",
            out.before,
            out.after,
            actions.join(", ")
        )
    })]
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        oob: OobArgs,
    }

    fn parse(args: &[&str]) -> OobArgs {
        let mut full = vec!["oob"];
        full.extend(args);
        Wrapper::try_parse_from(full).unwrap().oob
    }

    #[test]
    fn badfish_flags_parse_to_one_action() {
        let a = parse(&["-H", "bmc1", "-u", "root", "-p", "pw", "--power-cycle"]);
        assert!(matches!(a.action().unwrap(), Action::PowerCycle));
        let a = parse(&["-H", "bmc1", "-i", "f.yml", "-t", "foreman", "--pxe"]);
        assert!(matches!(
            a.action().unwrap(),
            Action::ChangeBoot { pxe: true, .. }
        ));
        let a = parse(&["-H", "bmc1", "--pxe"]);
        assert!(matches!(a.action().unwrap(), Action::Pxe));
        let a = parse(&["-H", "bmc1", "--clear-jobs", "--force"]);
        assert!(matches!(
            a.action().unwrap(),
            Action::ClearJobs(ClearJobs::Force)
        ));
        let a = parse(&[
            "-H",
            "bmc1",
            "--set-bios-attribute",
            "--attribute",
            "BootMode",
            "--value",
            "Uefi",
        ]);
        assert!(matches!(a.action().unwrap(), Action::SetBios(..)));
        assert!(
            parse(&["-H", "bmc1", "--power-on", "--power-off"])
                .action()
                .is_err()
        );
        // No action checks the credentials, as Badfish does.
        assert!(matches!(
            parse(&["-H", "bmc1"]).action().unwrap(),
            Action::CheckCredentials
        ));
        // --pxe combines with another action (after it), not with -t (which takes it along).
        let p = parse(&["-H", "bmc1", "--power-cycle", "--pxe"])
            .plan()
            .unwrap();
        assert!(matches!(p.action, Action::PowerCycle) && p.then_pxe);
        let p = parse(&["-H", "bmc1", "--pxe"]).plan().unwrap();
        assert!(matches!(p.action, Action::Pxe) && !p.then_pxe);
        let p = parse(&["-H", "bmc1", "-i", "f.yml", "-t", "foreman", "--pxe"])
            .plan()
            .unwrap();
        assert!(!p.then_pxe);
        assert!(
            parse(&["-H", "bmc1", "--set-bios-attribute"])
                .action()
                .is_err()
        );
    }

    #[test]
    fn badfish_1_8_2_actions_and_their_checks() {
        let a = parse(&[
            "-H",
            "b",
            "--set-bios-attribute",
            "--attribute-value",
            "ProcC1E=Enabled",
            "--attribute-value",
            " SriovGlobalEnable = Disabled ",
        ]);
        let Action::SetBios(changes) = a.action().unwrap() else {
            panic!()
        };
        assert_eq!(changes.get("SriovGlobalEnable").unwrap(), "Disabled");
        assert_eq!(changes.len(), 2);
        for bad in [
            vec![
                "--set-bios-attribute",
                "--attribute-value",
                "A=1",
                "--attribute-value",
                "a=2",
            ],
            vec!["--set-bios-attribute", "--attribute-value", "A"],
            vec!["--attribute-value", "A=1"],
            vec![
                "--set-bios-attribute",
                "--attribute-value",
                "A=1",
                "--attribute",
                "B",
            ],
            vec!["--set-bios-password", "--old-password", "x"],
            vec!["--remove-bios-password"],
            vec!["--delta", "other"],
            vec!["--screenshot", "--ls-gpu"],
            vec!["--import-scp", "/no/such/profile.json"],
            vec!["--export-scp", ".", "--ls-gpu"],
            vec!["--boot-remote-image", "rhel.iso"],
            vec!["--boot-remote-image", "nfs:/isos/"],
            vec!["--check-remote-image", "--detach-remote-image"],
        ] {
            let mut args = vec!["-H", "b"];
            args.extend(bad.iter().copied());
            assert!(parse(&args).action().is_err(), "{bad:?}");
        }
        let a = parse(&["-H", "b", "--remove-bios-password", "--old-password", "x"]);
        assert!(matches!(a.action().unwrap(), Action::BiosPassword { new, .. } if new.is_empty()));
        let a = parse(&["-H", "b", "--firmware-inventory", "--delta", "c"]);
        assert!(matches!(a.action().unwrap(), Action::FirmwareDelta(h) if h == "c"));
        let a = parse(&["-H", "b", "-f", "-r", "3", "-l", "out.txt", "--clear-jobs"]);
        assert!(a.force && a.retries == 3 && a.log.is_some());
        let a = parse(&["-H", "mgmt-f1-h2-r640", "--rack", "f9", "--blade", "b1"]);
        assert_eq!(a.location().rack.as_deref(), Some("f9"));
        assert!(matches!(
            parse(&["-H", "b", "--enable-sriov"]).action().unwrap(),
            Action::SetSriov(true)
        ));
        let a = parse(&["-H", "b", "--boot-remote-image", "nfs:/isos/rhel.iso"]);
        assert!(
            matches!(a.action().unwrap(), Action::BootRemoteImage(p) if p == "nfs:/isos/rhel.iso")
        );
        // -o badfish says a wrong path as Badfish does, once the BMC is found to have the service.
        let a = parse(&[
            "-H",
            "b",
            "-o",
            "badfish",
            "--boot-remote-image",
            "rhel.iso",
        ]);
        assert!(matches!(a.action().unwrap(), Action::BootRemoteImage(_)));
    }

    #[test]
    fn scp_exports_are_named_as_badfish_names_them() {
        let at = std::time::UNIX_EPOCH + Duration::from_secs(1_765_000_000);
        assert_eq!(
            scp_export_file_name("BIOS,NIC", at),
            "2025-12-06_054640_targets_BIOS-NIC_export.json"
        );
        let a = parse(&["-H", "b", "--export-scp", "out", "--scp-targets", "BIOS"]);
        assert!(
            matches!(a.action().unwrap(), Action::ExportScp { targets, read_only: ScpReadOnly::Exclude, .. } if targets == "BIOS")
        );
        // -o badfish says an unreadable file per host, as Badfish does.
        let a = parse(&["-H", "b", "-o", "badfish", "--import-scp", "/no/such.json"]);
        assert!(matches!(
            a.action().unwrap(),
            Action::ImportScp { profile: None, .. }
        ));
    }

    #[test]
    fn screenshot_files_are_named_as_badfish_names_them() {
        let at = std::time::UNIX_EPOCH + Duration::from_secs(1_765_000_000);
        assert_eq!(
            screenshot_file_name("mgmt-h1.example.com", at),
            "mgmt-h1_screenshot_20251206-054640.png"
        );
    }

    #[test]
    fn host_lists_skip_blanks_and_comments() {
        assert_eq!(
            parse_host_list("mgmt-h1.example.com\n\n# rack 2\nmgmt-h2:8443  # spare\n"),
            ["mgmt-h1.example.com", "mgmt-h2:8443"]
        );
    }

    #[test]
    fn insecure_hosts_become_a_per_bmc_opt_out() {
        let a = parse(&["--host-list", "x", "--insecure-host", "10.0.0.2"]);
        let addrs = vec![BmcAddress::parse("10.0.0.2:443").unwrap()];
        match a.client_config(&addrs).transport.tls {
            TlsVerification::InsecureHosts { hosts, .. } => assert!(hosts.contains("10.0.0.2")),
            other => panic!("{other:?}"),
        }
        let a = parse(&["-H", "h", "--insecure"]);
        assert_eq!(
            a.client_config(&[]).transport.tls,
            TlsVerification::Insecure
        );
    }
}
