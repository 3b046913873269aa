//! `quads-lab`: runs the simulated lab standalone and writes an inventory for any client.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a terminal program: printing is its job

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use testkit::{Credentials, FaultProfile, Flavor, Lab, LabConfig, LabModel, Scheme, SinksConfig};

/// The simulated lab: a fake Foreman and a fleet of fake BMCs on loopback.
#[derive(Debug, Parser)]
#[command(name = "quads-lab", version, about)]
struct Args {
    /// Number of hosts (one BMC each).
    #[arg(long, default_value_t = 100)]
    hosts: usize,
    /// BMC flavours, assigned round-robin: dell, idrac10, supermicro, generic, hpe, lenovo (or
    /// all).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "dell,idrac10,supermicro,generic"
    )]
    flavors: Vec<String>,
    /// Real seconds per lab second (1 = real life, 0.01 = 100x faster, 0 = no latency).
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Fault profile: none, chaos, hard, optionally with key=value overrides (chaos,dead_bmcs=2).
    #[arg(long, default_value = "none")]
    faults: String,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// A lab model file instead of the embedded lab-model-v1.toml.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Serve BMCs over plain HTTP instead of HTTPS.
    #[arg(long)]
    plain_http_bmcs: bool,
    /// Foreman's HTTPS port (0 = any free port).
    #[arg(long, default_value_t = 0)]
    foreman_port: u16,
    /// The first BMC address; the fleet counts up from it.
    #[arg(long, default_value = "127.0.1.1")]
    bmc_first_ip: Ipv4Addr,
    /// The port every BMC listens on (0 = one free port for the whole fleet).
    #[arg(long, default_value_t = 0)]
    bmc_port: u16,
    /// The BMCs' administrator login, `user:password` (a lab fixture; default root:calvin).
    #[arg(
        long,
        env = "QUADS_LAB_BMC_CREDENTIALS",
        hide_env_values = true,
        value_name = "USER:PASSWORD"
    )]
    bmc_credentials: Option<String>,
    /// The hosts' SSH port (open on each host's 127.2.x.y address once its install finished):
    /// 0 = one free port for all, 22 = the real one (needs root); `--no-host-ssh`: none.
    #[arg(long, default_value_t = 0)]
    host_ssh_port: u16,
    /// Run no host SSH listeners (large fleets: one socket per host less).
    #[arg(long, conflicts_with = "host_ssh_port")]
    no_host_ssh: bool,
    /// Serve a fake SMTP server (STARTTLS with a lab certificate; `GET /mail` on the admin
    /// address lists what it took).
    #[arg(long)]
    smtp: bool,
    /// The login the fake SMTP server wants (`user:password`, lab fixtures).
    #[arg(long, requires = "smtp")]
    smtp_login: Option<String>,
    /// The fake SMTP server speaks TLS from the first byte (port 465 style) instead of
    /// offering STARTTLS.
    #[arg(long, requires = "smtp")]
    smtp_implicit_tls: bool,
    /// Serve a webhook sink (`GET /webhooks` on the admin address lists what it took).
    #[arg(long)]
    webhook: bool,
    /// The HMAC secret the webhook sink checks `X-Quads-Signature` with (a lab fixture).
    #[arg(long, requires = "webhook")]
    webhook_secret: Option<String>,
    /// The share of hosts the fake QUADS server starts with scheduled (0 to 1: the first ones,
    /// alternately into cloud02, a wipe, and cloud03, no wipe with QinQ and a public VLAN), so
    /// its `GET moves` lists them for worker mode.
    #[arg(long, default_value_t = LabConfig::default().quads_scheduled)]
    quads_scheduled: f64,
    /// Where to write inventory.json, host-list.txt, interfaces.yml, ca.pem,
    /// quads-inventory.yaml, switches.keys and hosts.resolve (`mgmt-<host>` to BMC IPs).
    #[arg(long, default_value = "quads-lab", conflicts_with = "no_files")]
    out_dir: PathBuf,
    /// Write none of those files (a lab used as a Redfish emulator, `quads oob
    /// --redfish-emulator`).
    #[arg(long)]
    no_files: bool,
    /// Start, report, and exit at once (for measuring start-up and idle memory).
    #[arg(long)]
    exit_after_start: bool,
    /// End (SIGTERM from the kernel) when the process that started this one ends, however it
    /// ends: a lab run by a program (`quads oob --redfish-emulator`) never outlives it, even
    /// when that program is killed with SIGKILL and cannot stop it.
    #[arg(long)]
    exit_with_parent: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    // before any thread starts: the request is the process's; `run` looks at the parent again
    let parent = rustix::process::getppid();
    if args.exit_with_parent
        && let Err(message) = exit_with_parent()
    {
        eprintln!("quads-lab: {message}");
        return ExitCode::FAILURE;
    }
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("QUADS_LAB_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let config = match config(&args) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("quads-lab: {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("quads-lab: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args, config, parent)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("quads-lab: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Asks the kernel for a SIGTERM when the parent process ends. A parent that ended before
/// (or while the signal listeners were being set up) is caught by `run`'s look at it.
fn exit_with_parent() -> Result<(), String> {
    use rustix::process::{Signal, set_parent_process_death_signal};
    set_parent_process_death_signal(Some(Signal::TERM))
        .map_err(|e| format!("cannot ask to end with the process that started it: {e}"))
}

fn config(args: &Args) -> Result<LabConfig, String> {
    let flavors = Flavor::parse_list(&args.flavors)?;
    let model = match &args.model {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            LabModel::parse(&text).map_err(|e| format!("bad lab model {}: {e}", path.display()))?
        }
        None => LabModel::default(),
    };
    if !(args.time_scale >= 0.0 && args.time_scale.is_finite()) {
        return Err(format!(
            "--time-scale {} is not a number >= 0",
            args.time_scale
        ));
    }
    if !(0.0..=1.0).contains(&args.quads_scheduled) {
        return Err(format!(
            "--quads-scheduled {} is not a share between 0 and 1",
            args.quads_scheduled
        ));
    }
    if args.hosts == 0 {
        return Err("--hosts must be at least 1".to_owned());
    }
    if !args.bmc_first_ip.is_loopback() {
        return Err(format!(
            "--bmc-first-ip {} is not a loopback address (127.0.0.0/8)",
            args.bmc_first_ip
        ));
    }
    if testkit::lab::bmc_ip(args.bmc_first_ip, 0) != args.bmc_first_ip {
        return Err(format!(
            "--bmc-first-ip {} ends in .0 or .255, which no BMC of the fleet takes",
            args.bmc_first_ip
        ));
    }
    let bmc_admin = match &args.bmc_credentials {
        Some(login) => split_login(login, "--bmc-credentials")?,
        None => LabConfig::default().bmc_admin,
    };
    Ok(LabConfig {
        hosts: args.hosts,
        flavors,
        time_scale: args.time_scale,
        faults: FaultProfile::parse(&args.faults).map_err(|e| e.to_string())?,
        seed: args.seed,
        model,
        bmc_scheme: if args.plain_http_bmcs {
            Scheme::Http
        } else {
            Scheme::Https
        },
        bmc_first_ip: args.bmc_first_ip,
        bmc_port: args.bmc_port,
        bmc_admin,
        foreman_port: args.foreman_port,
        host_ssh_port: (!args.no_host_ssh).then_some(args.host_ssh_port),
        quads_scheduled: args.quads_scheduled,
        sinks: SinksConfig {
            smtp: args.smtp,
            smtp_implicit_tls: args.smtp_implicit_tls,
            smtp_login: match &args.smtp_login {
                Some(login) => Some(split_login(login, "--smtp-login")?),
                None => None,
            },
            webhook: args.webhook,
            webhook_secret: args.webhook_secret.clone(),
            webhook_fail_first: 0,
        },
        ..LabConfig::default()
    })
}

/// `user:password` (the password may hold colons); `flag` names the option in the error.
fn split_login(login: &str, flag: &str) -> Result<Credentials, String> {
    match login.split_once(':') {
        Some((user, password)) if !user.is_empty() => Ok(Credentials::new(user, password)),
        _ => Err(format!("{flag} takes user:password")),
    }
}

async fn run(
    args: Args,
    config: LabConfig,
    parent: Option<rustix::process::Pid>,
) -> Result<(), String> {
    let started = std::time::Instant::now();
    let stop = shutdown_signal();
    // A parent that ended before the death signal was asked for sent none, and one that ended
    // while the listeners were being set up may have had its SIGTERM lost between tokio's
    // handler and its listener: the parent is looked at once they exist.
    if args.exit_with_parent && rustix::process::getppid() != parent {
        return Err("the process that started it has already ended".to_owned());
    }
    let bmc_user = config.bmc_admin.username.clone();
    let lab = Lab::start(config).await.map_err(|e| e.to_string())?;
    let inventory = lab.inventory();
    let written = if args.no_files {
        Vec::new()
    } else {
        testkit::inventory::write_files(&inventory, &args.out_dir).map_err(|e| e.to_string())?
    };
    let last = lab.bmc_addr(args.hosts - 1);
    println!(
        "quads-lab: {} hosts ready in {:.2} s",
        args.hosts,
        started.elapsed().as_secs_f64()
    );
    println!(
        "  foreman   {} (also {})",
        lab.foreman_url(),
        lab.foreman_http_url()
    );
    println!(
        "  bmcs      {}://{} .. {} port {}, login {}",
        if args.plain_http_bmcs {
            "http"
        } else {
            "https"
        },
        lab.bmc_addr(0).ip(),
        last.ip(),
        last.port(),
        bmc_user
    );
    println!("  admin     {}", lab.admin_url());
    println!(
        "  quads     {}/api/v3/ ({:.0}% of the hosts scheduled)",
        lab.quads_url(),
        args.quads_scheduled * 100.0
    );
    if let Some(addr) = lab.smtp_addr() {
        println!("  smtp      {addr} (STARTTLS, lab CA)");
    }
    if let Some(url) = lab.webhook_url() {
        println!("  webhook   {url}");
    }
    if let (Some(first), Some(last)) = (lab.host_addr(0), lab.host_addr(args.hosts - 1)) {
        println!(
            "  hosts     ssh://{} .. {} port {} (open once installed)",
            first.ip(),
            last.ip(),
            last.port()
        );
    }
    println!(
        "  time      {} real s per lab s, seed {}, faults {}",
        args.time_scale, args.seed, args.faults
    );
    for path in &written {
        println!("  wrote     {}", path.display());
    }
    match testkit::inventory::resident_memory_kib() {
        Some(kib) => println!(
            "  idle memory {:.1} MiB resident ({:.1} KiB per host)",
            kib as f64 / 1024.0,
            kib as f64 / args.hosts as f64
        ),
        None => println!("  idle memory unknown (no /proc/self/status)"),
    }
    if args.exit_after_start {
        return Ok(());
    }
    println!("quads-lab: serving until Ctrl-C");
    stop.await;
    lab.shutdown();
    println!("quads-lab: stopped");
    Ok(())
}

/// Listens for SIGINT and SIGTERM from the call on, so that a signal sent once the lab said it
/// serves is never lost (nor one that came while a listener was being set up); the future ends
/// at the first. Without them (not Unix, or they cannot be listened to), Ctrl-C.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let listeners = {
        use tokio::signal::unix::{SignalKind, signal};
        signal(SignalKind::terminate())
            .and_then(|term| Ok((term, signal(SignalKind::interrupt())?)))
            .ok()
    };
    async move {
        #[cfg(unix)]
        if let Some((mut term, mut int)) = listeners {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}
