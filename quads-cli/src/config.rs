//! Loading `quads.toml`: where it is (`--config`, `QUADS_CONFIG`, the XDG config dir), its file
//! format, `QUADS_*` environment overrides and secrets from the environment or `*_file` paths,
//! resolved into provision-core's typed `Config`. Read once per process (`ConfigFile`, by
//! `main`) and passed down. Blocking file IO: call before any runtime.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow, bail};
use provision_core::model::{HostName, VlanId};
use provision_core::{
    BmcConfig, Config, ForemanConfig, HostKeyCheck, JunosConfig, MoveConfig, NetworkConfig,
    QuadsServerConfig, Secret, StoreConfig, SwitchCommand, SwitchDriver,
};
use serde::Deserialize;

/// The environment, as a lookup (tests pass their own).
pub trait Env {
    /// The value of a variable, if set and not empty.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

/// Where the configuration file is, and whether the operator named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigLocation {
    /// The file.
    pub path: PathBuf,
    /// Named by `--config` or `QUADS_CONFIG` (then it must exist, except for `quads init`).
    pub explicit: bool,
}

fn home(env: &dyn Env) -> anyhow::Result<PathBuf> {
    env.var("HOME")
        .map(PathBuf::from)
        .ok_or_else(|| anyhow!("HOME is not set: cannot find the default config and data dirs"))
}

/// `--config` (clap also reads `QUADS_CONFIG` into it), else `$XDG_CONFIG_HOME/quads/quads.toml`,
/// else `~/.config/quads/quads.toml`.
pub fn locate(flag: Option<&Path>, env: &dyn Env) -> anyhow::Result<ConfigLocation> {
    if let Some(path) = flag {
        return Ok(ConfigLocation {
            path: path.to_owned(),
            explicit: true,
        });
    }
    if let Some(path) = env.var("QUADS_CONFIG") {
        return Ok(ConfigLocation {
            path: PathBuf::from(path),
            explicit: true,
        });
    }
    let dir = match env.var("XDG_CONFIG_HOME") {
        Some(d) => PathBuf::from(d),
        None => home(env)?.join(".config"),
    };
    Ok(ConfigLocation {
        path: dir.join("quads").join("quads.toml"),
        explicit: false,
    })
}

/// `$XDG_DATA_HOME/quads/quads.db`, else `~/.local/share/quads/quads.db`.
pub fn default_store_path(env: &dyn Env) -> anyhow::Result<PathBuf> {
    let dir = match env.var("XDG_DATA_HOME") {
        Some(d) => PathBuf::from(d),
        None => home(env)?.join(".local").join("share"),
    };
    Ok(dir.join("quads").join("quads.db"))
}

// ---- file format ----

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    store: FileStore,
    #[serde(default)]
    moves: FileMoves,
    foreman: Option<FileForeman>,
    bmc: Option<FileBmc>,
    #[serde(default)]
    network: FileNetwork,
    #[serde(default)]
    quads: FileQuads,
    /// `[executor]`: read as it is (`ConfigFile::table`, `move_hosts::executor_config`).
    #[allow(dead_code)]
    executor: Option<toml::Table>,
    /// `[validation]`: read as it is (`move_hosts::validation_config`).
    #[allow(dead_code)]
    validation: Option<toml::Table>,
    /// `[notify]`: read as it is (`notify::notify_config`).
    #[allow(dead_code)]
    notify: Option<toml::Table>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileStore {
    path: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMoves {
    #[serde(default)]
    untouchable_hosts: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileForeman {
    url: Option<String>,
    username: Option<String>,
    password_file: Option<PathBuf>,
    infra_location: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBmc {
    username: Option<String>,
    password_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileQuads {
    url: Option<String>,
    username: Option<String>,
    password_file: Option<PathBuf>,
    bmc_address: Option<String>,
    resolve_file: Option<PathBuf>,
    default_os: Option<String>,
    default_ptable: Option<String>,
    default_medium: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileNetwork {
    sw_vlan_first: Option<i64>,
    driver: Option<String>,
    /// `driver = "command"`
    command: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    /// `driver = "junos"`
    username: Option<String>,
    password_file: Option<PathBuf>,
    host_key_fingerprints: Option<PathBuf>,
    #[serde(default)]
    insecure_host_keys: bool,
    ssh_port: Option<u16>,
}

/// The file `quads init` writes.
pub fn template(store_path: &Path) -> String {
    format!(
        r#"# quads configuration. Every key can be overridden from the environment (QUADS_*).
# Secrets never go here nor on the command line: give them in the environment
# (QUADS_FOREMAN_PASSWORD, QUADS_BMC_PASSWORD) or as files (*_password_file).

[store]
# SQLite database; its run lock is the same path plus ".lock". Env: QUADS_STORE_PATH
path = "{}"

[moves]
# Hosts never moved, whatever the schedule says. Env: QUADS_UNTOUCHABLE_HOSTS (comma-separated)
untouchable_hosts = []

# [foreman]
# url = "https://foreman.example.com"         # QUADS_FOREMAN_URL
# username = "admin"                          # QUADS_FOREMAN_USERNAME
# password_file = "/etc/quads/foreman.pass"   # or QUADS_FOREMAN_PASSWORD(_FILE)
# infra_location = "lab1"                     # QUADS_INFRA_LOCATION; tenant passwords are location@ticket

# [bmc]
# username = "root"                           # QUADS_BMC_USERNAME
# password_file = "/etc/quads/bmc.pass"       # or QUADS_BMC_PASSWORD(_FILE)

# [network]
# sw_vlan_first = 1100                        # QUADS_SW_VLAN_FIRST; cloud01's first VLAN, as QUADS
# driver = "none"                             # QUADS_NETWORK_DRIVER: none (no switch step) | junos | command
# command = "/usr/local/bin/move-ports"       # driver = "command": the program and its args
# args = ["--switch", "{{switch}}"]
# username = "netops"                         # driver = "junos": QUADS_SWITCH_USERNAME
# password_file = "/etc/quads/switch.pass"    # or QUADS_SWITCH_PASSWORD(_FILE)
# host_key_fingerprints = "/etc/quads/switch-keys"  # `<switch_ip> SHA256:...` a line; or insecure_host_keys = true
# ssh_port = 22                               # QUADS_SWITCH_SSH_PORT

# [quads]                                     # worker mode: make a QUADS 2.x server's moves
# url = "https://quads.example.com"           # QUADS_API_URL (or move-hosts --quads-url)
# username = "admin@example.com"              # QUADS_API_USERNAME; an admin (writes)
# password_file = "/etc/quads/quads.pass"     # or QUADS_API_PASSWORD(_FILE)
# bmc_address = "mgmt-{{host}}"                 # QUADS_API_BMC_ADDRESS; may carry a port
# resolve_file = "/etc/quads/bmc.hosts"       # hosts(5) lines mapping those names to addresses
# default_os = "RHEL 9.4"                     # QUADS's foreman_default_os (and _ptable, _medium)
# default_ptable = "Kickstart default"
# default_medium = "RHEL 9 mirror"

# [validation]                                # after move-hosts (unless --no-validate) and `quads validate`
# ports = [22]                                # TCP ports every host must answer on
# port_timeout = "5m"                         # how long after the install they may take
# hosts_file = "/etc/quads/hosts"             # hosts(5) addresses of the hosts (else DNS)
# check_hook = {{ name = "check", command = "/usr/local/bin/check-host", args = ["{{host}}"] }}
# isolation_hook = {{ name = "isolation", command = "/usr/local/bin/check-cloud", args = ["{{host}}"] }}

# [notify]                                    # after move-hosts, and `quads notify` (cron)
# days_before = [7, 1]                        # notices before a cloud's schedules end
# [notify.smtp]
# host = "smtp.example.com"
# tls = "starttls"                            # or "tls" (port 465), "plain" (loopback only)
# from = "quads@example.com"
# to = ["lab-ops@example.com"]
# username = "quads"                          # optional AUTH
# password_file = "/etc/quads/smtp.pass"
# timeout_secs = 60                           # one mail; past it, it stays pending
# [notify.webhook]
# url = "https://hooks.example.com/quads"     # JSON POST {{"version": 1, "id": ..., "event": ...}}
# secret_file = "/etc/quads/webhook.secret"   # signs X-Quads-Signature: sha256=<hex HMAC>
"#,
        store_path
            .display()
            .to_string()
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
    )
}

fn expand(path: &Path, base: &Path, env: &dyn Env) -> anyhow::Result<PathBuf> {
    if let Ok(rest) = path.strip_prefix("~") {
        return Ok(home(env)?.join(rest));
    }
    Ok(if path.is_relative() {
        base.join(path)
    } else {
        path.to_owned()
    })
}

fn read_secret(path: &Path, what: &str) -> anyhow::Result<Secret> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {what} from {}", path.display()))?;
    let value = text.trim_end_matches(['\n', '\r']);
    if value.is_empty() {
        bail!("{what} file {} is empty", path.display());
    }
    Ok(Secret::new(value))
}

/// The secret from `QUADS_<NAME>`, `QUADS_<NAME>_FILE` or the file's `*_file`, in that order.
fn secret(
    env: &dyn Env,
    var: &str,
    file: Option<PathBuf>,
    base: &Path,
    what: &str,
) -> anyhow::Result<Option<Secret>> {
    if let Some(v) = env.var(var) {
        return Ok(Some(Secret::new(v)));
    }
    let file = match env.var(&format!("{var}_FILE")) {
        Some(p) => Some(PathBuf::from(p)),
        None => file.map(|p| expand(&p, base, env)).transpose()?,
    };
    file.map(|p| read_secret(&p, what)).transpose()
}

fn required(value: Option<String>, key: &str, env_var: &str) -> anyhow::Result<String> {
    value.ok_or_else(|| anyhow!("`{key}` is missing (set it in the config file or {env_var})"))
}

/// What a TOML error says and on which line, without the quoted line itself: toml's own
/// `Display` prints the offending line, which can hold a password.
fn toml_error(e: &toml::de::Error, text: &str) -> String {
    let message = e.message().trim_end();
    match e.span() {
        Some(span) => {
            let line = text
                .get(..span.start)
                .map_or(0, |before| before.matches('\n').count())
                + 1;
            format!("line {line}: {message}")
        }
        None => message.to_owned(),
    }
}

/// quads.toml as read once per process (`main` reads it before any command runs): where it is,
/// its settings checked against the file format, and its tables read as they are
/// (`[executor]`, `[validation]`, `[notify]`).
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// Where it is.
    pub location: ConfigLocation,
    file: FileConfig,
    doc: toml::Table,
}

impl ConfigFile {
    /// Reads the file at `location`: a missing default file means defaults; a missing named
    /// one is an error unless `missing_ok`.
    ///
    /// # Errors
    /// When the file cannot be read or is not a valid quads.toml (the line, never its text).
    pub fn read(location: ConfigLocation, missing_ok: bool) -> anyhow::Result<Self> {
        let (file, doc) = match std::fs::read_to_string(&location.path) {
            Ok(text) => {
                let invalid = |e: toml::de::Error| {
                    anyhow!(
                        "invalid config file {}: {}",
                        location.path.display(),
                        toml_error(&e, &text)
                    )
                };
                let file = toml::from_str::<FileConfig>(&text).map_err(invalid)?;
                (file, toml::from_str::<toml::Table>(&text).map_err(invalid)?)
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && (!location.explicit || missing_ok) =>
            {
                (FileConfig::default(), toml::Table::new())
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("cannot read config file {}", location.path.display())
                });
            }
        };
        Ok(Self {
            location,
            file,
            doc,
        })
    }

    /// The core sections resolved (the environment over the file, secrets read) into
    /// provision-core's `Config`.
    ///
    /// # Errors
    /// When a setting is missing, invalid, or its secret cannot be read.
    pub fn resolve(&self, env: &dyn Env) -> anyhow::Result<Config> {
        resolve(self.file.clone(), &self.location, env)
    }

    /// The table `name` (`executor`, `validation`, `notify`): its defaults when absent.
    ///
    /// # Errors
    /// When the table does not fit `T`.
    pub fn table<T: serde::de::DeserializeOwned + Default>(&self, name: &str) -> anyhow::Result<T> {
        match self.doc.get(name) {
            None => Ok(T::default()),
            Some(table) => table
                .clone()
                .try_into()
                .with_context(|| format!("invalid [{name}] in {}", self.location.path.display())),
        }
    }

    fn base(&self) -> PathBuf {
        self.location
            .path
            .parent()
            .map(Path::to_owned)
            .unwrap_or_default()
    }

    /// `[foreman]`'s login as far as it is given (`quads foreman` needs no infra location):
    /// url and username from the environment over the file, the password from
    /// `QUADS_FOREMAN_PASSWORD(_FILE)` or `foreman.password_file`.
    ///
    /// # Errors
    /// When a named password file cannot be read.
    pub fn foreman_login(&self, env: &dyn Env) -> anyhow::Result<Login> {
        let f = self.file.foreman.clone().unwrap_or_default();
        Ok(Login {
            url: nonempty(env.var("QUADS_FOREMAN_URL").or(f.url)),
            username: nonempty(env.var("QUADS_FOREMAN_USERNAME").or(f.username)),
            password: secret(
                env,
                "QUADS_FOREMAN_PASSWORD",
                f.password_file,
                &self.base(),
                "the Foreman password",
            )?,
        })
    }

    /// `[bmc]`'s login as far as it is given (`quads oob`'s defaults).
    ///
    /// # Errors
    /// When a named password file cannot be read.
    pub fn bmc_login(&self, env: &dyn Env) -> anyhow::Result<Login> {
        let b = self.file.bmc.clone().unwrap_or_default();
        Ok(Login {
            url: None,
            username: nonempty(env.var("QUADS_BMC_USERNAME").or(b.username)),
            password: secret(
                env,
                "QUADS_BMC_PASSWORD",
                b.password_file,
                &self.base(),
                "the BMC password",
            )?,
        })
    }
}

/// A login as far as the file and the environment give it.
#[derive(Debug, Default)]
pub struct Login {
    /// The server.
    pub url: Option<String>,
    /// The user.
    pub username: Option<String>,
    /// The password.
    pub password: Option<Secret>,
}

/// Reads and resolves the configuration (`ConfigFile::read`, then `resolve`).
#[cfg(test)]
pub fn load(loc: &ConfigLocation, env: &dyn Env, missing_ok: bool) -> anyhow::Result<Config> {
    ConfigFile::read(loc.clone(), missing_ok)?.resolve(env)
}

fn resolve(file: FileConfig, loc: &ConfigLocation, env: &dyn Env) -> anyhow::Result<Config> {
    let base = loc.path.parent().map(Path::to_owned).unwrap_or_default();

    let store_path = match env.var("QUADS_STORE_PATH").map(PathBuf::from) {
        Some(p) => p,
        None => match file.store.path {
            Some(p) => expand(&p, &base, env)?,
            None => default_store_path(env)?,
        },
    };

    let untouchable: Vec<String> = match env.var("QUADS_UNTOUCHABLE_HOSTS") {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        None => file.moves.untouchable_hosts,
    };
    let untouchable_hosts = untouchable
        .into_iter()
        .map(HostName::new)
        .collect::<Result<BTreeSet<_>, _>>()
        .context("moves.untouchable_hosts")?;

    let f = file.foreman.unwrap_or_default();
    let url = env.var("QUADS_FOREMAN_URL").or(f.url);
    let foreman = if url.is_some() || env.var("QUADS_FOREMAN_USERNAME").is_some() {
        let password = secret(
            env,
            "QUADS_FOREMAN_PASSWORD",
            f.password_file,
            &base,
            "the Foreman password",
        )?
        .ok_or_else(|| {
            anyhow!("the Foreman password is missing (QUADS_FOREMAN_PASSWORD, QUADS_FOREMAN_PASSWORD_FILE or foreman.password_file)")
        })?;
        Some(ForemanConfig {
            url: required(url, "foreman.url", "QUADS_FOREMAN_URL")?,
            username: required(
                env.var("QUADS_FOREMAN_USERNAME").or(f.username),
                "foreman.username",
                "QUADS_FOREMAN_USERNAME",
            )?,
            password,
            infra_location: required(
                env.var("QUADS_INFRA_LOCATION").or(f.infra_location),
                "foreman.infra_location",
                "QUADS_INFRA_LOCATION",
            )?,
        })
    } else {
        None
    };

    let b = file.bmc.unwrap_or_default();
    let bmc_user = env.var("QUADS_BMC_USERNAME").or(b.username);
    let bmc = match bmc_user {
        Some(username) => {
            let password = secret(
                env,
                "QUADS_BMC_PASSWORD",
                b.password_file,
                &base,
                "the BMC password",
            )?
            .ok_or_else(|| {
                anyhow!("the BMC password is missing (QUADS_BMC_PASSWORD, QUADS_BMC_PASSWORD_FILE or bmc.password_file)")
            })?;
            Some(BmcConfig { username, password })
        }
        None => None,
    };

    let network = network(file.network, &base, env).context("[network]")?;
    let quads = quads(file.quads, &base, env).context("[quads]")?;

    Ok(Config {
        store: StoreConfig { path: store_path },
        moves: MoveConfig { untouchable_hosts },
        foreman,
        bmc,
        network,
        quads,
    })
}

/// `[quads]`: the QUADS server of worker mode (`QUADS_API_*` override it); the password only
/// from `QUADS_API_PASSWORD(_FILE)` or `password_file`.
fn quads(q: FileQuads, base: &Path, env: &dyn Env) -> anyhow::Result<QuadsServerConfig> {
    let defaults = QuadsServerConfig::default();
    let bmc_address = nonempty(env.var("QUADS_API_BMC_ADDRESS").or(q.bmc_address))
        .unwrap_or(defaults.bmc_address);
    if !bmc_address.contains("{host}") {
        bail!("bmc_address {bmc_address:?} has no {{host}} placeholder");
    }
    Ok(QuadsServerConfig {
        url: nonempty(env.var("QUADS_API_URL").or(q.url)),
        username: nonempty(env.var("QUADS_API_USERNAME").or(q.username)),
        password: secret(
            env,
            "QUADS_API_PASSWORD",
            q.password_file,
            base,
            "the QUADS password",
        )?,
        bmc_address,
        resolve_file: q.resolve_file.map(|p| expand(&p, base, env)).transpose()?,
        default_os: nonempty(q.default_os),
        default_ptable: nonempty(q.default_ptable),
        default_medium: nonempty(q.default_medium),
    })
}

/// `[network]`: the VLAN numbering and the switch driver, with the driver's own keys only.
fn network(n: FileNetwork, base: &Path, env: &dyn Env) -> anyhow::Result<NetworkConfig> {
    let first = match env.var("QUADS_SW_VLAN_FIRST") {
        Some(v) => Some(
            v.trim()
                .parse::<i64>()
                .map_err(|_| anyhow!("QUADS_SW_VLAN_FIRST {v:?} is not a number"))?,
        ),
        None => n.sw_vlan_first,
    };
    let sw_vlan_first = match first {
        None => NetworkConfig::default().sw_vlan_first,
        Some(v) => VlanId::new(v)
            .map_err(|e| anyhow!("sw_vlan_first: {e}"))?
            .get(),
    };
    let driver = env
        .var("QUADS_NETWORK_DRIVER")
        .or(n.driver)
        .unwrap_or_else(|| "none".to_owned());
    let junos_keys = n.username.is_some()
        || n.ssh_port.is_some()
        || n.password_file.is_some()
        || n.host_key_fingerprints.is_some()
        || n.insecure_host_keys;
    let command_keys = n.command.is_some() || !n.args.is_empty();
    let driver = match driver.as_str() {
        "none" => {
            if junos_keys || command_keys {
                bail!(
                    "driver \"none\" takes no switch keys (command, args, username, password_file, host keys)"
                );
            }
            SwitchDriver::None
        }
        "command" => {
            if junos_keys {
                bail!(
                    "driver \"command\" takes no Junos keys (username, password_file, host keys)"
                );
            }
            let command =
                nonempty(n.command).ok_or_else(|| anyhow!("driver \"command\" needs `command`"))?;
            SwitchDriver::Command(SwitchCommand {
                command,
                args: n.args,
            })
        }
        "junos" => {
            if command_keys {
                bail!("driver \"junos\" takes no `command` or `args`");
            }
            let username =
                nonempty(env.var("QUADS_SWITCH_USERNAME").or(n.username)).ok_or_else(|| {
                    anyhow!("driver \"junos\" needs `username` (or QUADS_SWITCH_USERNAME)")
                })?;
            let password = secret(
                env,
                "QUADS_SWITCH_PASSWORD",
                n.password_file,
                base,
                "the switch password",
            )?
            .ok_or_else(|| {
                anyhow!("the switch password is missing (QUADS_SWITCH_PASSWORD, QUADS_SWITCH_PASSWORD_FILE or network.password_file)")
            })?;
            let host_keys = match (n.host_key_fingerprints, n.insecure_host_keys) {
                (Some(path), false) => HostKeyCheck::Fingerprints(expand(&path, base, env)?),
                (None, true) => HostKeyCheck::Insecure,
                (Some(_), true) => {
                    bail!("choose one of `host_key_fingerprints` and `insecure_host_keys`")
                }
                (None, false) => bail!(
                    "driver \"junos\" needs `host_key_fingerprints` (a file of known switch keys) or `insecure_host_keys = true`"
                ),
            };
            let ssh_port = match env.var("QUADS_SWITCH_SSH_PORT") {
                Some(v) => v
                    .trim()
                    .parse::<u16>()
                    .map_err(|_| anyhow!("QUADS_SWITCH_SSH_PORT {v:?} is not a port number"))?,
                None => n.ssh_port.unwrap_or(22),
            };
            SwitchDriver::Junos(JunosConfig {
                username,
                password,
                host_keys,
                ssh_port,
            })
        }
        other => bail!("unknown driver {other:?}: expected none, junos or command"),
    };
    Ok(NetworkConfig {
        sw_vlan_first,
        driver,
    })
}

/// The trimmed text, unless it is empty.
pub(crate) fn nonempty(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;

    use super::*;

    struct MapEnv(BTreeMap<&'static str, String>);

    impl Env for MapEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).cloned()
        }
    }

    fn env(pairs: &[(&'static str, &str)]) -> MapEnv {
        MapEnv(pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect())
    }

    #[test]
    fn default_locations_follow_xdg_then_home() {
        let e = env(&[("HOME", "/home/op")]);
        assert_eq!(
            locate(None, &e).unwrap().path,
            Path::new("/home/op/.config/quads/quads.toml")
        );
        assert_eq!(
            default_store_path(&e).unwrap(),
            Path::new("/home/op/.local/share/quads/quads.db")
        );
        let e = env(&[
            ("HOME", "/home/op"),
            ("XDG_CONFIG_HOME", "/cfg"),
            ("XDG_DATA_HOME", "/data"),
        ]);
        let loc = locate(None, &e).unwrap();
        assert_eq!(loc.path, Path::new("/cfg/quads/quads.toml"));
        assert!(!loc.explicit);
        assert_eq!(
            default_store_path(&e).unwrap(),
            Path::new("/data/quads/quads.db")
        );
        let e = env(&[("QUADS_CONFIG", "/etc/quads.toml")]);
        assert!(locate(None, &e).unwrap().explicit);
        let flag = locate(Some(Path::new("/x.toml")), &e).unwrap();
        assert_eq!(flag.path, Path::new("/x.toml"));
    }

    fn loc(dir: &Path) -> ConfigLocation {
        ConfigLocation {
            path: dir.join("quads.toml"),
            explicit: true,
        }
    }

    #[test]
    fn file_then_environment_then_secrets() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("foreman.pass"), "s3cret\n").unwrap();
        std::fs::write(
            dir.path().join("quads.toml"),
            r#"
[store]
path = "db/quads.db"
[moves]
untouchable_hosts = ["infra01", "infra02"]
[foreman]
url = "https://foreman.example.com"
username = "admin"
password_file = "foreman.pass"
infra_location = "lab1"
"#,
        )
        .unwrap();
        let e = env(&[("HOME", "/home/op")]);
        let c = load(&loc(dir.path()), &e, false).unwrap();
        assert_eq!(c.store.path, dir.path().join("db/quads.db"));
        assert_eq!(c.moves.untouchable_hosts.len(), 2);
        let f = c.foreman.unwrap();
        assert_eq!(f.password.expose(), "s3cret");
        assert_eq!(f.infra_location, "lab1");
        assert!(c.bmc.is_none());

        let e = env(&[
            ("HOME", "/home/op"),
            ("QUADS_STORE_PATH", "/var/lib/quads.db"),
            ("QUADS_UNTOUCHABLE_HOSTS", "a, b ,c"),
            ("QUADS_FOREMAN_PASSWORD", "from-env"),
            ("QUADS_FOREMAN_URL", "https://other"),
            ("QUADS_BMC_USERNAME", "root"),
            ("QUADS_BMC_PASSWORD", "calvin"),
        ]);
        let c = load(&loc(dir.path()), &e, false).unwrap();
        assert_eq!(c.store.path, Path::new("/var/lib/quads.db"));
        assert_eq!(c.moves.untouchable_hosts.len(), 3);
        let f = c.foreman.unwrap();
        assert_eq!(
            (f.url.as_str(), f.password.expose()),
            ("https://other", "from-env")
        );
        assert_eq!(c.bmc.unwrap().password.expose(), "calvin");
    }

    #[test]
    fn bad_configs_say_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let e = env(&[("HOME", "/home/op")]);
        let err = load(&loc(dir.path()), &e, false).unwrap_err();
        assert!(
            format!("{err:#}").contains("cannot read config file"),
            "{err:#}"
        );
        // a missing default file is fine
        let c = load(
            &ConfigLocation {
                explicit: false,
                ..loc(dir.path())
            },
            &e,
            false,
        )
        .unwrap();
        assert_eq!(
            c.store.path,
            Path::new("/home/op/.local/share/quads/quads.db")
        );

        let write = |text: &str| std::fs::write(dir.path().join("quads.toml"), text).unwrap();
        write("[store]\npaht = \"x\"\n");
        let err = format!("{:#}", load(&loc(dir.path()), &e, false).unwrap_err());
        assert!(err.contains("paht"), "{err}");
        write("[foreman]\nurl = \"https://f\"\nusername = \"u\"\ninfra_location = \"l\"\n");
        let err = format!("{:#}", load(&loc(dir.path()), &e, false).unwrap_err());
        assert!(err.contains("Foreman password is missing"), "{err}");
        write("[foreman]\nurl = \"https://f\"\npassword_file = \"nope\"\n");
        let err = format!("{:#}", load(&loc(dir.path()), &e, false).unwrap_err());
        assert!(err.contains("cannot read the Foreman password"), "{err}");
        let e2 = env(&[("HOME", "/h"), ("QUADS_FOREMAN_PASSWORD", "p")]);
        let err = format!("{:#}", load(&loc(dir.path()), &e2, false).unwrap_err());
        assert!(err.contains("`foreman.username` is missing"), "{err}");
        write("[moves]\nuntouchable_hosts = [\"bad host\"]\n");
        let err = format!("{:#}", load(&loc(dir.path()), &e, false).unwrap_err());
        assert!(err.contains("invalid host name"), "{err}");
    }

    #[test]
    fn the_network_section_is_parsed_and_validated() {
        let dir = tempfile::tempdir().unwrap();
        let e = env(&[("HOME", "/home/op")]);
        let write = |text: &str| std::fs::write(dir.path().join("quads.toml"), text).unwrap();
        let load_err = |e: &MapEnv| format!("{:#}", load(&loc(dir.path()), e, false).unwrap_err());

        write("");
        let n = load(&loc(dir.path()), &e, false).unwrap().network;
        assert_eq!((n.sw_vlan_first, n.driver), (1100, SwitchDriver::None));

        write(
            "[network]\nsw_vlan_first = 2000\ndriver = \"command\"\ncommand = \"/bin/mv-ports\"\nargs = [\"{switch}\"]\n",
        );
        let n = load(&loc(dir.path()), &e, false).unwrap().network;
        assert_eq!(n.sw_vlan_first, 2000);
        assert_eq!(
            n.driver,
            SwitchDriver::Command(SwitchCommand {
                command: "/bin/mv-ports".into(),
                args: vec!["{switch}".into()]
            })
        );

        std::fs::write(dir.path().join("switch.pass"), "sw1tch\n").unwrap();
        write(
            "[network]\ndriver = \"junos\"\nusername = \"netops\"\npassword_file = \"switch.pass\"\nhost_key_fingerprints = \"keys\"\n",
        );
        let n = load(&loc(dir.path()), &e, false).unwrap().network;
        let SwitchDriver::Junos(j) = &n.driver else {
            panic!("{n:?}")
        };
        assert_eq!(j.password.expose(), "sw1tch");
        assert_eq!(
            j.host_keys,
            HostKeyCheck::Fingerprints(dir.path().join("keys"))
        );
        assert_eq!(j.ssh_port, 22);
        assert!(!format!("{n:?}").contains("sw1tch"));
        // the environment wins
        let e2 = env(&[
            ("HOME", "/h"),
            ("QUADS_SWITCH_PASSWORD", "from-env"),
            ("QUADS_SW_VLAN_FIRST", "1200"),
        ]);
        let n = load(&loc(dir.path()), &e2, false).unwrap().network;
        let SwitchDriver::Junos(j) = &n.driver else {
            panic!("{n:?}")
        };
        assert_eq!((n.sw_vlan_first, j.password.expose()), (1200, "from-env"));

        for (text, want) in [
            (
                "[network]\nsw_vlan_first = 0\n",
                "sw_vlan_first: invalid VLAN id 0: expected 1..=4094",
            ),
            (
                "[network]\ndriver = \"cisco\"\n",
                "unknown driver \"cisco\"",
            ),
            ("[network]\ndriver = \"command\"\n", "needs `command`"),
            (
                "[network]\ncommand = \"x\"\n",
                "driver \"none\" takes no switch keys",
            ),
            (
                "[network]\ndriver = \"junos\"\nusername = \"u\"\n",
                "switch password is missing",
            ),
            (
                "[network]\ndriver = \"junos\"\nusername = \"u\"\npassword_file = \"switch.pass\"\n",
                "needs `host_key_fingerprints`",
            ),
            (
                "[network]\npassword = \"sw1tch\"\n",
                "line 2: unknown field `password`",
            ),
            ("[bmc]\nusername = \"sw1tch\"\n[bmc]\n", "line 3"),
        ] {
            write(text);
            let err = load_err(&e);
            assert!(err.contains(want), "{text}: {err}");
            assert!(!err.contains("sw1tch"), "{err}");
        }
    }

    #[test]
    fn the_quads_section_names_the_server_of_worker_mode() {
        let dir = tempfile::tempdir().unwrap();
        let e = env(&[("HOME", "/home/op")]);
        let write = |text: &str| std::fs::write(dir.path().join("quads.toml"), text).unwrap();

        // no section: standalone, QUADS's BMC names by default
        write("");
        let q = load(&loc(dir.path()), &e, false).unwrap().quads;
        assert_eq!(q, QuadsServerConfig::default());
        assert_eq!(q.bmc_address, "mgmt-{host}");

        std::fs::write(dir.path().join("quads.pass"), "qu4ds\n").unwrap();
        write(
            "[quads]\nurl = \"http://127.0.0.1:9082\"\nusername = \"admin@quads.lab\"\npassword_file = \"quads.pass\"\nbmc_address = \"mgmt-{host}:8443\"\nresolve_file = \"bmc.hosts\"\ndefault_os = \"RHEL 9.4\"\n",
        );
        let q = load(&loc(dir.path()), &e, false).unwrap().quads;
        assert_eq!(q.url.as_deref(), Some("http://127.0.0.1:9082"));
        assert_eq!(q.username.as_deref(), Some("admin@quads.lab"));
        assert_eq!(q.password.as_ref().map(Secret::expose), Some("qu4ds"));
        assert_eq!(q.resolve_file, Some(dir.path().join("bmc.hosts")));
        assert_eq!(
            (q.default_os.as_deref(), q.default_medium.as_deref()),
            (Some("RHEL 9.4"), None)
        );
        assert!(!format!("{q:?}").contains("qu4ds"));
        // the environment wins
        let e2 = env(&[
            ("HOME", "/home/op"),
            ("QUADS_API_URL", "https://quads.example.com"),
            ("QUADS_API_USERNAME", "ops@example.com"),
            ("QUADS_API_PASSWORD", "fr0m-env"),
        ]);
        let q = load(&loc(dir.path()), &e2, false).unwrap().quads;
        assert_eq!(q.url.as_deref(), Some("https://quads.example.com"));
        assert_eq!(q.username.as_deref(), Some("ops@example.com"));
        assert_eq!(q.password.as_ref().map(Secret::expose), Some("fr0m-env"));

        // a template without the host's name cannot tell BMCs apart
        write("[quads]\nbmc_address = \"bmc.example.com\"\n");
        let err = format!("{:#}", load(&loc(dir.path()), &e, false).unwrap_err());
        assert!(err.contains("[quads]") && err.contains("{host}"), "{err}");
    }

    #[test]
    fn the_template_is_a_valid_config() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("we\"ird/quads.db");
        std::fs::write(dir.path().join("quads.toml"), template(&db)).unwrap();
        let c = load(&loc(dir.path()), &env(&[("HOME", "/h")]), false).unwrap();
        assert_eq!(c.store.path, db);
        assert!(c.foreman.is_none() && c.bmc.is_none());
    }
}
