//! The lab's inventory: what any client needs to use it (addresses, credentials, models, ids).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::machine::Flavor;

/// Foreman, the admin endpoint and every host with its BMC. Lab secrets are in it on purpose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    /// Foreman over HTTPS.
    pub foreman_url: String,
    /// Foreman over plain HTTP.
    pub foreman_http_url: String,
    /// Foreman administrator login.
    pub foreman_username: String,
    /// Foreman administrator password.
    pub foreman_password: String,
    /// The lab's admin endpoint (counters, log).
    pub admin_url: String,
    /// The lab CA in PEM.
    pub ca_pem: String,
    /// Real seconds per lab second.
    pub time_scale: f64,
    /// The lab's seed.
    pub seed: u64,
    /// Every host.
    pub hosts: Vec<InventoryHost>,
    /// Every switch (absent from files written before the switches existed).
    #[serde(default)]
    pub switches: Vec<InventorySwitch>,
    /// QUADS's `sw_vlan_first` of the lab's VLAN formula.
    #[serde(default = "default_sw_vlan_first")]
    pub sw_vlan_first: u16,
    /// The QUADS server (REST API v3, plain HTTP; absent from older files).
    #[serde(default)]
    pub quads_url: String,
    /// The QUADS admin's login.
    #[serde(default)]
    pub quads_username: String,
    /// The QUADS admin's password (a lab fixture).
    #[serde(default)]
    pub quads_password: String,
}

fn default_sw_vlan_first() -> u16 {
    1100
}

/// One fake Junos switch and how to log in to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventorySwitch {
    /// `sw01`, ...
    pub name: String,
    /// SSH `ip:port`.
    pub address: String,
    /// Login.
    pub username: String,
    /// Password (a lab fixture).
    pub password: String,
    /// The host key's fingerprint, `SHA256:...`.
    pub host_key_sha256: String,
}

/// One NIC of a host and its switch port, in QUADS's interface fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryInterface {
    /// `em1`, ...
    pub name: String,
    /// MAC address.
    pub mac_address: String,
    /// The switch's name.
    pub switch: String,
    /// The switch's IP.
    pub switch_ip: String,
    /// The switch port.
    pub switch_port: String,
    /// Speed in Mb/s.
    pub speed: u32,
    /// NIC vendor.
    pub vendor: String,
    /// The BIOS's name of the NIC.
    pub bios_id: String,
    /// Whether it network-boots.
    pub pxe_boot: bool,
}

/// One host of the lab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryHost {
    /// Host name, as Foreman knows it.
    pub name: String,
    /// The BMC's `ip:port`.
    pub bmc_address: String,
    /// The BMC's base URL.
    pub bmc_url: String,
    /// BMC administrator login.
    pub bmc_username: String,
    /// BMC administrator password.
    pub bmc_password: String,
    /// Hardware model.
    pub model: String,
    /// BMC flavour.
    pub flavor: Flavor,
    /// The host's id in Foreman.
    pub foreman_id: u64,
    /// The NIC on the provisioning network.
    pub provisioning_nic: String,
    /// That NIC's MAC address.
    pub provisioning_mac: String,
    /// Its NICs and their switch ports (em1 is the provisioning NIC).
    #[serde(default)]
    pub interfaces: Vec<InventoryInterface>,
}

impl Inventory {
    /// One BMC address per line (`ip:port`), as Badfish's and `quads oob`'s `--host-list` read.
    #[must_use]
    pub fn host_list(&self) -> String {
        self.hosts
            .iter()
            .map(|h| format!("{}\n", h.bmc_address))
            .collect()
    }
}

/// Writes `inventory.json`, `host-list.txt`, `interfaces.yml` and `ca.pem` into `dir`.
///
/// # Errors
/// When the directory or a file cannot be written.
pub fn write_files(inventory: &Inventory, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut models: Vec<&str> = inventory.hosts.iter().map(|h| h.model.as_str()).collect();
    models.sort_unstable();
    models.dedup();
    let files = [
        (
            "inventory.json",
            serde_json::to_string_pretty(inventory).map_err(std::io::Error::other)?,
        ),
        ("host-list.txt", inventory.host_list()),
        ("interfaces.yml", crate::lab::interfaces_yaml(&models)),
        ("ca.pem", inventory.ca_pem.clone()),
    ];
    let mut written = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        // Write then rename, so a reader polling for the file never sees half of it.
        let partial = dir.join(format!(".{name}.partial"));
        std::fs::write(&partial, text)?;
        std::fs::rename(&partial, &path)?;
        written.push(path);
    }
    Ok(written)
}

/// The process's resident memory in KiB (Linux), for reporting the lab's footprint.
#[must_use]
pub fn resident_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}
