//! The lab's inventory: what any client needs to use it (addresses, credentials, models, ids),
//! and the same fleet as a QUADS-style inventory (`quads-inventory.yaml`, format version 1 of
//! `quads host import`) with the switches' known host keys (`switches.keys`).

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
    /// The fake SMTP server (`127.0.0.1:port`, STARTTLS with the lab CA), when served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_addr: Option<String>,
    /// Its login, when it wants one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_username: Option<String>,
    /// Its password (a lab fixture).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_password: Option<String>,
    /// The webhook sink's URL, when served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// The secret it checks signatures with (a lab fixture).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
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
    /// The host's own `ip:port` where its SSH port opens once its install finished (none
    /// when the lab runs no host listeners).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
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

    /// A hosts(5) file mapping each host's QUADS BMC name, `mgmt-<host>`, to its BMC's IP (the
    /// BMCs share one port, named in the header, for a `mgmt-{host}:PORT` template).
    #[must_use]
    pub fn hosts_resolve(&self) -> String {
        let port = self
            .hosts
            .first()
            .and_then(|h| h.bmc_address.rsplit_once(':'))
            .map_or("443", |(_, port)| port);
        let mut text = format!("# the lab's BMCs by QUADS's names; they listen on port {port}\n");
        for h in &self.hosts {
            let ip = h
                .bmc_address
                .rsplit_once(':')
                .map_or(h.bmc_address.as_str(), |(ip, _)| ip);
            text.push_str(&format!("{ip} mgmt-{}\n", h.name));
        }
        let hosts: Vec<(&str, &str)> = self
            .hosts
            .iter()
            .filter_map(|h| {
                let (ip, _) = h.address.as_deref()?.rsplit_once(':')?;
                Some((ip, h.name.as_str()))
            })
            .collect();
        if let Some(port) = self.ssh_port() {
            text.push_str(&format!(
                "# the lab's hosts by name; their SSH port, once installed, is {port}\n"
            ));
        }
        for (ip, name) in hosts {
            text.push_str(&format!("{ip} {name}\n"));
        }
        text
    }

    /// The hosts' shared SSH port, when the lab runs host listeners.
    #[must_use]
    pub fn ssh_port(&self) -> Option<u16> {
        self.hosts
            .first()
            .and_then(|h| h.address.as_deref()?.rsplit_once(':'))
            .and_then(|(_, port)| port.parse().ok())
    }

    /// The BMCs' shared port (the `PORT` of a `mgmt-{host}:PORT` template).
    #[must_use]
    pub fn bmc_port(&self) -> Option<u16> {
        self.hosts
            .first()
            .and_then(|h| h.bmc_address.rsplit_once(':'))
            .and_then(|(_, port)| port.parse().ok())
    }
}

/// The spare pool every lab host starts in (QUADS's `cloud01`).
pub const SPARE_POOL: &str = "cloud01";

/// `quads-inventory.yaml`, version 1 (the wire format `provision-core/src/inventory.rs`
/// documents): the spare pool and every host, in it, with its BMC and interfaces.
#[derive(Debug, Serialize)]
struct QuadsInventory<'a> {
    version: u32,
    clouds: Vec<QuadsCloud<'a>>,
    hosts: Vec<QuadsHost<'a>>,
}

#[derive(Debug, Serialize)]
struct QuadsCloud<'a> {
    name: &'a str,
    description: &'a str,
}

#[derive(Debug, Serialize)]
struct QuadsHost<'a> {
    name: &'a str,
    bmc: &'a str,
    model: &'a str,
    default_cloud: &'a str,
    interfaces: Vec<QuadsInterface<'a>>,
}

#[derive(Debug, Serialize)]
struct QuadsInterface<'a> {
    name: &'a str,
    switch_ip: &'a str,
    switch_port: &'a str,
    mac_address: &'a str,
    bios_id: &'a str,
    /// Gb/s.
    speed: u32,
    vendor: &'a str,
    pxe_boot: bool,
}

impl Inventory {
    /// The fleet as a QUADS-style inventory (format version 1): cloud01, the spare pool, and
    /// every host in it (`bmc` is the BMC's `ip:port`) with its interfaces and switch ports. No
    /// assignments or schedules: the caller adds its own.
    ///
    /// # Errors
    /// When the YAML cannot be written (it always can: plain strings, numbers, booleans).
    pub fn quads_inventory_yaml(&self) -> Result<String, serde_saphyr::SerializeError> {
        let file = QuadsInventory {
            version: 1,
            clouds: vec![QuadsCloud {
                name: SPARE_POOL,
                description: "spare pool",
            }],
            hosts: self
                .hosts
                .iter()
                .map(|h| QuadsHost {
                    name: &h.name,
                    bmc: &h.bmc_address,
                    model: &h.model,
                    default_cloud: SPARE_POOL,
                    interfaces: h
                        .interfaces
                        .iter()
                        .map(|i| QuadsInterface {
                            name: &i.name,
                            switch_ip: &i.switch_ip,
                            switch_port: &i.switch_port,
                            mac_address: &i.mac_address,
                            bios_id: &i.bios_id,
                            speed: i.speed / 1000,
                            vendor: &i.vendor,
                            pxe_boot: i.pxe_boot,
                        })
                        .collect(),
                })
                .collect(),
        };
        serde_saphyr::to_string(&file)
    }

    /// The switches' known host keys, one `<switch_ip> SHA256:<fingerprint>` a line (the file
    /// `[network] host_key_fingerprints` names).
    #[must_use]
    pub fn switch_keys(&self) -> String {
        self.switches
            .iter()
            .map(|s| {
                let ip = s
                    .address
                    .rsplit_once(':')
                    .map_or(s.address.as_str(), |(ip, _)| ip);
                format!("{ip} {}\n", s.host_key_sha256)
            })
            .collect()
    }
}

/// Writes `inventory.json`, `host-list.txt`, `interfaces.yml`, `ca.pem`,
/// `quads-inventory.yaml`, `switches.keys` and `hosts.resolve` into `dir`.
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
        (
            "quads-inventory.yaml",
            inventory
                .quads_inventory_yaml()
                .map_err(std::io::Error::other)?,
        ),
        ("switches.keys", inventory.switch_keys()),
        ("hosts.resolve", inventory.hosts_resolve()),
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

#[cfg(test)]
mod tests {
    use crate::in_process::InProcessLab;
    use crate::lab::LabConfig;

    #[test]
    fn the_quads_inventory_lists_every_host_in_the_spare_pool_with_its_ports() {
        let lab = InProcessLab::new(LabConfig {
            hosts: 3,
            ..LabConfig::default()
        })
        .expect("lab");
        let inventory = lab.inventory();
        let text = inventory.quads_inventory_yaml().expect("yaml");
        let file: serde_json::Value = serde_saphyr::from_str(&text).expect("reads back");
        assert_eq!(file["version"], 1);
        assert_eq!(file["clouds"][0]["name"], "cloud01");
        let hosts = file["hosts"].as_array().expect("hosts");
        assert_eq!(hosts.len(), 3);
        let (host, wire) = (&hosts[2], &inventory.hosts[2]);
        assert_eq!(host["name"], wire.name.as_str());
        assert_eq!(host["bmc"], wire.bmc_address.as_str());
        assert_eq!(host["default_cloud"], "cloud01");
        let em1 = &host["interfaces"][0];
        let nic = &wire.interfaces[0];
        assert_eq!(em1["mac_address"], nic.mac_address.as_str());
        assert_eq!(em1["switch_ip"], nic.switch_ip.as_str());
        assert_eq!(em1["switch_port"], nic.switch_port.as_str());
        assert_eq!(em1["speed"], nic.speed / 1000);
        assert_eq!(em1["pxe_boot"], true);
        assert_eq!(host["interfaces"][1]["pxe_boot"], false);

        let keys = inventory.switch_keys();
        let switch = &inventory.switches[0];
        let ip = switch.address.split(':').next().expect("ip");
        assert_eq!(keys, format!("{ip} {}\n", switch.host_key_sha256));
        assert!(switch.host_key_sha256.starts_with("SHA256:"));

        // QUADS's BMC names, `mgmt-<host>`, each to its BMC's IP (the port is shared)
        let resolve = inventory.hosts_resolve();
        let (ip, port) = wire.bmc_address.rsplit_once(':').expect("ip:port");
        assert!(
            resolve.contains(&format!("\n{ip} mgmt-{}\n", wire.name)),
            "{resolve}"
        );
        assert_eq!(resolve.lines().count(), 4);
        assert_eq!(inventory.bmc_port(), port.parse().ok());
    }
}
