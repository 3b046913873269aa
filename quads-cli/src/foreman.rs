//! `quads foreman`: the first uses of foreman-client from the command line: `host show NAME`,
//! `host list [--search S] [--per-page N | --all]` and `status`, configured by quads.toml's
//! `[foreman]`, then `QUADS_FOREMAN_*` variables, then flags (the password or token only from
//! the environment or a file, never from the command line), printed as text or versioned JSON
//! (`-o json`). `heal` is declared here but lives in `heal.rs`: it needs the whole
//! configuration, as `move-hosts` does.
//!
//! Exit codes (`process`): 0 done, 1 Foreman answered with an error or could not be reached,
//! 2 bad usage or configuration.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use clap::{Args, Subcommand, ValueEnum};
use comfy_table::{Table, TableStyle};
use foreman_client::hosts::Host;
use foreman_client::{
    ClientConfig, Credentials, ForemanClient, ForemanUrl, Page, PerPage, Secret, TlsVerification,
};
use serde::Serialize;

use crate::config::{ConfigFile, Env, Login, ProcessEnv};
use crate::process::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};

/// Foreman: hosts and health, through the Foreman API v2.
#[derive(Debug, Args)]
pub struct ForemanArgs {
    /// Foreman's base URL (`https://foreman.example.com`) [default: foreman.url]
    #[arg(long = "foreman-url", env = "QUADS_FOREMAN_URL", global = true)]
    pub url: Option<String>,
    /// Foreman login [default: foreman.username]
    #[arg(long = "foreman-user", env = "QUADS_FOREMAN_USERNAME", global = true)]
    pub user: Option<String>,
    /// File whose first line is the password (or personal access token); otherwise
    /// QUADS_FOREMAN_PASSWORD, QUADS_FOREMAN_PASSWORD_FILE, foreman.password_file or
    /// QUADS_FOREMAN_TOKEN is used.
    #[arg(long = "foreman-password-file", value_name = "FILE", global = true)]
    pub password_file: Option<PathBuf>,
    /// Accept any certificate from Foreman (unverified TLS).
    #[arg(long, global = true, conflicts_with = "ca_bundle")]
    pub insecure: bool,
    /// Extra CA bundle (PEM) to verify Foreman's certificate with.
    #[arg(long = "ca-bundle", value_name = "FILE", global = true)]
    pub ca_bundle: Option<PathBuf>,
    /// Seconds allowed for each request.
    #[arg(long, default_value_t = 60, value_name = "SECONDS", global = true)]
    pub timeout: u64,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text, global = true)]
    pub output: Output,
    /// What to do.
    #[command(subcommand)]
    pub command: ForemanCommand,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Lines and tables for people.
    Text,
    /// One versioned JSON document (`"v": 1`).
    Json,
}

/// `quads foreman` subcommands.
#[derive(Debug, Subcommand)]
pub enum ForemanCommand {
    /// Hosts.
    #[command(subcommand)]
    Host(HostCommand),
    /// Foreman's version and health (`/api/status`, `/api/ping`); proves the credentials.
    Status,
    /// Makes Foreman follow the schedule: each host owned by its cloud's user (or the spare
    /// pool's owner), active clouds' users enabled, the others' disabled. Configured by
    /// quads.toml like move-hosts (the --foreman-* flags are not used).
    Heal(crate::heal::HealArgs),
}

/// `quads foreman host` subcommands.
#[derive(Debug, Subcommand)]
pub enum HostCommand {
    /// One host with its parameters, by FQDN or id.
    Show {
        /// FQDN or numeric id.
        name: String,
    },
    /// Hosts matching a scoped search (`build = true`, `name ~ node0`).
    List {
        /// Foreman scoped search.
        #[arg(long)]
        search: Option<String>,
        /// Hosts per page (one page is printed).
        #[arg(long = "per-page", conflicts_with = "all")]
        per_page: Option<u64>,
        /// Page to print, from 1.
        #[arg(long, conflicts_with = "all")]
        page: Option<u64>,
        /// Every matching host (one `per_page=all` request).
        #[arg(long)]
        all: bool,
    },
}

/// Why a run stopped: exit code and message.
struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl Failure {
    fn usage(error: anyhow::Error) -> Self {
        Self {
            code: EXIT_USAGE,
            error,
        }
    }
}

impl From<foreman_client::Error> for Failure {
    fn from(error: foreman_client::Error) -> Self {
        let code = match &error {
            foreman_client::Error::Config { .. } | foreman_client::Error::InvalidInput { .. } => {
                EXIT_USAGE
            }
            _ => EXIT_FAILED,
        };
        // The client's messages already carry their causes; as a chain they would repeat.
        Self {
            code,
            error: anyhow!("{error}"),
        }
    }
}

/// Runs `quads foreman` with the config file `main` read, and returns the exit code.
pub fn main(args: &ForemanArgs, file: &ConfigFile) -> u8 {
    if let ForemanCommand::Heal(heal) = &args.command {
        return crate::heal::main(heal, args.output, file);
    }
    let outcome = file
        .foreman_login(&ProcessEnv)
        .map_err(Failure::usage)
        .and_then(|login| settings(args, login, &ProcessEnv))
        .and_then(|config| {
            crate::process::block_on(run(args, config)).map_err(|e| Failure {
                code: EXIT_FAILED,
                error: e,
            })?
        });
    match outcome {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            // a closed pipe (`| head`) is not an error worth reporting
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
            EXIT_OK
        }
        Err(failure) => {
            let _ = writeln!(std::io::stderr().lock(), "error: {:#}", failure.error);
            failure.code
        }
    }
}

/// The client settings: flags (their variables) over `login` (`[foreman]`, its variables).
fn settings(args: &ForemanArgs, login: Login, env: &dyn Env) -> Result<ClientConfig, Failure> {
    let url = args.url.clone().or(login.url).ok_or_else(|| {
        Failure::usage(anyhow!(
            "no Foreman URL: give --foreman-url, QUADS_FOREMAN_URL or foreman.url"
        ))
    })?;
    let url = ForemanUrl::parse(&url).map_err(|e| Failure::usage(e.into()))?;
    let user = args.user.clone().or(login.username).ok_or_else(|| {
        Failure::usage(anyhow!(
            "no Foreman user: give --foreman-user, QUADS_FOREMAN_USERNAME or foreman.username"
        ))
    })?;
    let credentials = if let Some(path) = &args.password_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the password file {}", path.display()))
            .map_err(Failure::usage)?;
        let secret = text
            .lines()
            .next()
            .unwrap_or_default()
            .trim_end()
            .to_owned();
        if secret.is_empty() {
            return Err(Failure::usage(anyhow!(
                "the password file {} is empty",
                path.display()
            )));
        }
        Credentials::password(user, Secret::new(secret))
    } else if let Some(password) = login.password {
        Credentials::password(user, password)
    } else if let Some(token) = env.var("QUADS_FOREMAN_TOKEN") {
        Credentials::token(user, Secret::new(token))
    } else {
        return Err(Failure::usage(anyhow!(
            "no Foreman password: set QUADS_FOREMAN_PASSWORD (or QUADS_FOREMAN_TOKEN), give --foreman-password-file or foreman.password_file"
        )));
    };
    let mut config = ClientConfig::new(url, credentials);
    config.transport.tls = match (&args.ca_bundle, args.insecure) {
        (_, true) => TlsVerification::Insecure,
        (Some(bundle), false) => TlsVerification::CaBundle(bundle.clone()),
        (None, false) => TlsVerification::Platform,
    };
    config.transport.request_timeout = Duration::from_secs(args.timeout.max(1));
    config.transport.connect_timeout = Duration::from_secs(args.timeout.clamp(1, 10));
    Ok(config)
}

async fn run(args: &ForemanArgs, config: ClientConfig) -> Result<String, Failure> {
    let url = config.url.to_string();
    let client = ForemanClient::new(config)?;
    match &args.command {
        ForemanCommand::Status => {
            let status = client.status().send().await?;
            // `/api/ping` exists from Foreman 2.0; older ones answer 404.
            let database = match client.ping().send().await {
                Ok(ping) => ping.database_active(),
                Err(e) if e.is_not_found() => None,
                Err(e) => return Err(e.into()),
            };
            let doc = StatusV1 {
                v: V,
                url,
                result: status.result,
                version: status.version,
                api_version: status.api_version,
                database_active: database,
            };
            render(args.output, &doc, StatusV1::text)
        }
        ForemanCommand::Host(HostCommand::Show { name }) => {
            let host = match name.parse::<u64>() {
                Ok(id) => client.hosts().show(id).send().await?,
                Err(_) => client.hosts().show(name.as_str()).send().await?,
            };
            let doc = HostDocV1 {
                v: V,
                host: HostV1::from(&host),
            };
            render(args.output, &doc, |d| d.host.long_text())
        }
        ForemanCommand::Host(HostCommand::List {
            search,
            per_page,
            page,
            all,
        }) => {
            let mut list = client.hosts().list();
            if let Some(search) = search {
                list = list.search(search.clone());
            }
            let page: Page<Host> = if *all {
                let hosts = list.per_page(PerPage::All).all().await?;
                let n = hosts.len() as u64;
                Page {
                    total: None,
                    subtotal: Some(n),
                    page: Some(1),
                    per_page: Some(n),
                    search: search.clone(),
                    results: hosts,
                }
            } else {
                if let Some(n) = per_page {
                    if *n == 0 {
                        return Err(Failure::usage(anyhow!("--per-page must be at least 1")));
                    }
                    list = list.per_page(PerPage::Count(*n));
                }
                if let Some(p) = page {
                    if *p == 0 {
                        return Err(Failure::usage(anyhow!("--page starts at 1")));
                    }
                    list = list.page(*p);
                }
                list.send().await?
            };
            let doc = HostListV1 {
                v: V,
                matching: page.matching(),
                page: page.page,
                per_page: page.per_page,
                hosts: page.results.iter().map(HostV1::from).collect(),
            };
            render(args.output, &doc, HostListV1::text)
        }
        ForemanCommand::Heal(_) => Err(Failure::usage(anyhow!(
            "heal reads quads.toml, not the --foreman-* flags"
        ))),
    }
}

fn render<T: Serialize>(
    output: Output,
    doc: &T,
    text: impl FnOnce(&T) -> String,
) -> Result<String, Failure> {
    match output {
        Output::Text => Ok(text(doc)),
        Output::Json => {
            let mut json = serde_json::to_string_pretty(doc).map_err(|e| Failure {
                code: EXIT_FAILED,
                error: e.into(),
            })?;
            json.push('\n');
            Ok(json)
        }
    }
}

// ---- output documents (versioned, converted explicitly from the client's wire types) ----

/// The version of every JSON document below.
const V: u32 = 1;

#[derive(Debug, Serialize)]
struct StatusV1 {
    v: u32,
    url: String,
    result: Option<String>,
    version: Option<String>,
    api_version: Option<u64>,
    database_active: Option<bool>,
}

impl StatusV1 {
    fn text(&self) -> String {
        let database = match self.database_active {
            Some(true) => "database ok",
            Some(false) => "database DOWN",
            None => "database state unknown (no /api/ping)",
        };
        format!(
            "Foreman {} at {}: {} (API v{}), {database}\n",
            self.version.as_deref().unwrap_or("?"),
            self.url,
            self.result.as_deref().unwrap_or("?"),
            self.api_version
                .map_or_else(|| "?".to_owned(), |v| v.to_string()),
        )
    }
}

#[derive(Debug, Serialize)]
struct ParameterV1 {
    name: String,
    value: serde_json::Value,
    #[serde(rename = "type")]
    kind: String,
    hidden: Option<bool>,
}

#[derive(Debug, Serialize)]
struct HostV1 {
    id: u64,
    name: String,
    build: Option<bool>,
    ip: Option<String>,
    mac: Option<String>,
    operatingsystem: Option<String>,
    ptable: Option<String>,
    medium: Option<String>,
    architecture: Option<String>,
    hostgroup: Option<String>,
    owner: Option<String>,
    owner_type: Option<String>,
    build_status: Option<String>,
    global_status: Option<String>,
    installed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<Vec<ParameterV1>>,
}

impl From<&Host> for HostV1 {
    fn from(h: &Host) -> Self {
        Self {
            id: h.id,
            name: h.name.clone(),
            build: h.build,
            ip: h.ip.clone(),
            mac: h.mac.clone(),
            operatingsystem: h.operatingsystem_name.clone(),
            ptable: h.ptable_name.clone(),
            medium: h.medium_name.clone(),
            architecture: h.architecture_name.clone(),
            hostgroup: h
                .hostgroup_title
                .clone()
                .or_else(|| h.hostgroup_name.clone()),
            owner: h.owner_name.clone(),
            owner_type: h.owner_type.clone(),
            build_status: h.build_status_label.clone(),
            global_status: h.global_status_label.clone(),
            installed_at: h.installed_at.clone(),
            parameters: h.parameters.as_ref().map(|ps| {
                ps.iter()
                    .map(|p| ParameterV1 {
                        name: p.name.clone(),
                        value: p.value.clone(),
                        kind: p.kind().as_str().to_owned(),
                        hidden: p.hidden_value,
                    })
                    .collect()
            }),
        }
    }
}

fn dash(v: Option<&str>) -> String {
    v.filter(|s| !s.is_empty()).unwrap_or("-").to_owned()
}

fn yes_no(v: Option<bool>) -> String {
    match v {
        Some(true) => "yes".to_owned(),
        Some(false) => "no".to_owned(),
        None => "-".to_owned(),
    }
}

impl HostV1 {
    fn long_text(&self) -> String {
        let owner = match (&self.owner, &self.owner_type) {
            (Some(o), Some(t)) => format!("{o} ({t})"),
            (Some(o), None) => o.clone(),
            _ => "-".to_owned(),
        };
        let rows = [
            ("id", self.id.to_string()),
            ("name", self.name.clone()),
            ("build", yes_no(self.build)),
            ("build status", dash(self.build_status.as_deref())),
            ("status", dash(self.global_status.as_deref())),
            ("ip", dash(self.ip.as_deref())),
            ("mac", dash(self.mac.as_deref())),
            ("operating system", dash(self.operatingsystem.as_deref())),
            ("partition table", dash(self.ptable.as_deref())),
            ("medium", dash(self.medium.as_deref())),
            ("architecture", dash(self.architecture.as_deref())),
            ("host group", dash(self.hostgroup.as_deref())),
            ("owner", owner),
            ("installed at", dash(self.installed_at.as_deref())),
        ];
        let mut text = String::new();
        for (key, value) in rows {
            text.push_str(&format!("{key:<17} {value}\n"));
        }
        if let Some(params) = &self.parameters {
            text.push_str(&format!("parameters        {}\n", params.len()));
            if !params.is_empty() {
                let rows = params.iter().map(|p| {
                    let value = match &p.value {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    vec![p.name.clone(), value, p.kind.clone()]
                });
                text.push_str(&table(&["name", "value", "type"], rows));
            }
        }
        text
    }
}

#[derive(Debug, Serialize)]
struct HostDocV1 {
    v: u32,
    host: HostV1,
}

#[derive(Debug, Serialize)]
struct HostListV1 {
    v: u32,
    matching: u64,
    page: Option<u64>,
    per_page: Option<u64>,
    hosts: Vec<HostV1>,
}

impl HostListV1 {
    fn text(&self) -> String {
        let rows = self.hosts.iter().map(|h| {
            vec![
                h.id.to_string(),
                h.name.clone(),
                yes_no(h.build),
                dash(h.operatingsystem.as_deref()),
                dash(h.hostgroup.as_deref()),
                dash(h.owner.as_deref()),
            ]
        });
        let mut text = table(&["id", "name", "build", "os", "host group", "owner"], rows);
        let shown = self.hosts.len() as u64;
        if shown < self.matching {
            text.push_str(&format!(
                "{shown} of {} matching hosts (page {}; --page N or --all for more)\n",
                self.matching,
                self.page.unwrap_or(1)
            ));
        } else {
            text.push_str(&format!("{shown} hosts\n"));
        }
        text
    }
}

fn table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut t = Table::new();
    t.load_style(TableStyle::new());
    t.set_header(header.iter().map(|h| h.to_uppercase()));
    for row in rows {
        t.add_row(row);
    }
    let mut text = t
        .to_string()
        .lines()
        .map(|l| l.trim_end().strip_prefix(' ').unwrap_or(l.trim_end()))
        .collect::<Vec<_>>()
        .join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: ForemanArgs,
    }

    fn parse(argv: &[&str]) -> ForemanArgs {
        Cli::try_parse_from(std::iter::once("foreman").chain(argv.iter().copied()))
            .unwrap()
            .args
    }

    struct NoEnv;

    impl Env for NoEnv {
        fn var(&self, _: &str) -> Option<String> {
            None
        }
    }

    #[test]
    fn settings_come_from_flags_over_the_config_and_its_variables() {
        let args = parse(&[
            "--foreman-url",
            "https://f.lab/",
            "--ca-bundle",
            "/etc/ca.pem",
            "status",
        ]);
        let login = || Login {
            url: Some("https://from-file.lab".into()),
            username: Some("admin".into()),
            password: Some(Secret::new("pw")),
        };
        let config = settings(&args, login(), &NoEnv).ok().unwrap();
        assert_eq!(config.url.as_str(), "https://f.lab");
        assert_eq!(config.credentials.username, "admin");
        assert_eq!(config.credentials.secret.expose(), "pw");
        assert_eq!(
            config.transport.tls,
            TlsVerification::CaBundle("/etc/ca.pem".into())
        );
        let config = settings(&parse(&["status"]), login(), &NoEnv).ok().unwrap();
        assert_eq!(config.url.as_str(), "https://from-file.lab");
        let no_password = Login {
            password: None,
            ..login()
        };
        let missing = settings(&args, no_password, &NoEnv).err().unwrap();
        assert_eq!(missing.code, EXIT_USAGE);
        assert!(missing.error.to_string().contains("QUADS_FOREMAN_PASSWORD"));
    }

    #[test]
    fn insecure_and_ca_bundle_conflict_and_there_is_no_password_flag() {
        let conflict =
            Cli::try_parse_from(["foreman", "--insecure", "--ca-bundle", "x.pem", "status"]);
        assert!(conflict.is_err());
        let password_flag = Cli::try_parse_from(["foreman", "--foreman-password", "pw", "status"]);
        assert!(password_flag.is_err());
    }

    #[test]
    fn list_flags() {
        let args = parse(&["host", "list", "--search", "build = true", "--all"]);
        assert!(matches!(
            args.command,
            ForemanCommand::Host(HostCommand::List { all: true, .. })
        ));
        assert!(
            Cli::try_parse_from(["foreman", "host", "list", "--all", "--per-page", "5"]).is_err()
        );
    }
}
