//! `quads oob --redfish-emulator [--bind A] [--port P]`: Badfish's mock iDRAC, served here by
//! the lab's `quads-lab` (one Dell BMC over HTTPS, the login from `BADFISH_EMULATOR_USER` /
//! `BADFISH_EMULATOR_PASSWORD`) in the foreground until SIGINT or SIGTERM, which are forwarded
//! to it; then it exits 130, as every interrupted command (`process.rs`). Unlike Badfish's, it
//! binds loopback addresses only (127.0.0.0/8).

use std::ffi::OsStr;
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};

use anyhow::{Context as _, bail};

/// Badfish's defaults: where its emulator listens and the login it takes.
const DEFAULT_BIND: Ipv4Addr = Ipv4Addr::LOCALHOST;
const DEFAULT_PORT: u16 = 8443;
const DEFAULT_LOGIN: &str = "quads";
/// The lab's binary, and the variable it reads the BMC login from.
const LAB_BINARY: &str = "quads-lab";
const LAB_CREDENTIALS_ENV: &str = "QUADS_LAB_BMC_CREDENTIALS";

/// What the emulator serves: the address, the port and the login.
#[derive(Debug)]
pub struct Emulator {
    bind: Ipv4Addr,
    port: u16,
    user: String,
    password: String,
    password_given: bool,
}

impl Emulator {
    /// `--bind` (an IPv4 loopback address or `localhost`, default 127.0.0.1), `--port` (default
    /// 8443) and the login from `env` (Badfish's variables, default quads/quads).
    ///
    /// # Errors
    /// A `--bind` outside 127.0.0.0/8 or not an IPv4 address, a user name holding `:`.
    pub fn new(
        bind: Option<&str>,
        port: Option<u16>,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let bind = match bind {
            None => DEFAULT_BIND,
            Some("localhost") => Ipv4Addr::LOCALHOST,
            Some(text) => {
                let ip: Ipv4Addr = text.parse().map_err(|_| {
                    anyhow::anyhow!("--bind {text:?} is not an IPv4 address (127.0.0.0/8)")
                })?;
                if !ip.is_loopback() {
                    bail!(
                        "--bind {ip}: the emulator (quads-lab) listens on loopback addresses only \
                         (127.0.0.0/8), unlike Badfish's which binds any"
                    );
                }
                ip
            }
        };
        let user = env("BADFISH_EMULATOR_USER").unwrap_or_else(|| DEFAULT_LOGIN.to_owned());
        if user.is_empty() || user.contains(':') {
            bail!("BADFISH_EMULATOR_USER must be a non-empty user name without ':'");
        }
        let password_env = env("BADFISH_EMULATOR_PASSWORD");
        Ok(Self {
            bind,
            port: port.unwrap_or(DEFAULT_PORT),
            user,
            password_given: password_env.is_some(),
            password: password_env.unwrap_or_else(|| DEFAULT_LOGIN.to_owned()),
        })
    }

    /// `quads-lab`'s arguments: one Dell BMC at `bind:port`, no latency, no files, no host SSH.
    fn lab_args(&self) -> Vec<String> {
        [
            "--hosts",
            "1",
            "--flavors",
            "dell",
            "--time-scale",
            "0",
            "--no-files",
            "--no-host-ssh",
            // a `quads` killed by SIGKILL cannot forward it: the lab ends with it all the same
            "--exit-with-parent",
            "--bmc-first-ip",
        ]
        .into_iter()
        .map(str::to_owned)
        .chain([
            self.bind.to_string(),
            "--bmc-port".to_owned(),
            self.port.to_string(),
        ])
        .collect()
    }

    /// The line said before the lab starts: where it will listen and the login (the password
    /// only when it is Badfish's default, never one given).
    fn banner(&self) -> String {
        let password = if self.password_given {
            "from BADFISH_EMULATOR_PASSWORD"
        } else {
            "quads (the default)"
        };
        format!(
            "quads oob: Redfish emulator (quads-lab, one Dell iDRAC) on https://{}:{}, user {}, \
             password {password}; Ctrl-C stops it",
            self.bind, self.port, self.user
        )
    }

    /// Runs `lab` in the foreground until it ends; SIGINT and SIGTERM are forwarded to it.
    /// Returns 130 when it stopped as a forwarded signal asked, else its exit code (128 + the
    /// signal's number when a signal ended it).
    ///
    /// # Errors
    /// When the lab cannot be started or waited for, or the signals cannot be listened to.
    pub async fn serve(&self, lab: &Path) -> anyhow::Result<u8> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
        let _ = writeln!(std::io::stdout(), "{}", self.banner());
        let mut stop = Stop::Running;
        let mut child = tokio::process::Command::new(lab)
            .args(self.lab_args())
            .env(
                LAB_CREDENTIALS_ENV,
                format!("{}:{}", self.user, self.password),
            )
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot run {}", lab.display()))?;
        loop {
            let forward = tokio::select! {
                status = child.wait() => {
                    let status = status.with_context(|| format!("cannot wait for {}", lab.display()))?;
                    return Ok(exit_code(status, stop));
                }
                _ = term.recv() => rustix::process::Signal::TERM,
                _ = int.recv() => rustix::process::Signal::INT,
            };
            stop = Stop::Asked;
            let pid = child
                .id()
                .and_then(|id| i32::try_from(id).ok())
                .and_then(rustix::process::Pid::from_raw);
            if let Some(pid) = pid
                && let Err(error) = rustix::process::kill_process(pid, forward)
            {
                tracing::warn!(%error, "cannot forward the signal to quads-lab");
            }
        }
    }
}

/// Whether the lab was asked to stop (a SIGINT or SIGTERM forwarded to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Running,
    Asked,
}

/// A child's exit status as a process exit code: 130 (interrupted) when it stopped as asked
/// (exit 0, or ended by a signal); else its own, a signal's as the shells say it (128 + N).
fn exit_code(status: ExitStatus, stop: Stop) -> u8 {
    use std::os::unix::process::ExitStatusExt as _;
    if stop == Stop::Asked && (status.success() || status.signal().is_some()) {
        return crate::process::EXIT_INTERRUPTED;
    }
    let code = status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
        .unwrap_or(1);
    u8::try_from(code).unwrap_or(1)
}

/// `quads-lab`: beside the running executable, else the first on `path` (the `PATH` value).
///
/// # Errors
/// When neither has it, naming both places looked in.
pub fn find_lab(exe: Option<&Path>, path: Option<&OsStr>) -> anyhow::Result<PathBuf> {
    let beside = exe.and_then(Path::parent).map(|dir| dir.join(LAB_BINARY));
    if let Some(found) = beside.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    if let Some(found) = path
        .into_iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(LAB_BINARY))
        .find(|p| p.is_file())
    {
        return Ok(found);
    }
    let beside = beside.map_or_else(
        || "beside quads (its path unknown)".to_owned(),
        |p| p.display().to_string(),
    );
    bail!(
        "--redfish-emulator runs `{LAB_BINARY}`, found neither at {beside} nor on PATH; \
         install it beside quads (`cargo xtask dist` ships both) or build it with \
         `cargo build -p testkit --bin {LAB_BINARY}`"
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn badfish_defaults_then_the_flags() {
        let e = Emulator::new(None, None, env(&[])).unwrap();
        assert_eq!((e.bind, e.port), (Ipv4Addr::LOCALHOST, 8443));
        assert_eq!((e.user.as_str(), e.password.as_str()), ("quads", "quads"));
        assert!(
            e.banner()
                .contains("https://127.0.0.1:8443, user quads, password quads")
        );
        let e = Emulator::new(
            Some("127.0.9.1"),
            Some(9443),
            env(&[
                ("BADFISH_EMULATOR_USER", "root"),
                ("BADFISH_EMULATOR_PASSWORD", "s3cret"),
            ]),
        )
        .unwrap();
        let args = e.lab_args().join(" ");
        assert!(
            args.ends_with("--bmc-first-ip 127.0.9.1 --bmc-port 9443"),
            "{args}"
        );
        assert!(!e.banner().contains("s3cret"), "{}", e.banner());
        assert_eq!(
            Emulator::new(Some("localhost"), None, env(&[]))
                .unwrap()
                .bind,
            Ipv4Addr::LOCALHOST
        );
    }

    #[test]
    fn stopped_as_asked_is_interrupted_otherwise_the_labs_own_code() {
        use std::os::unix::process::ExitStatusExt as _;
        let exited = |code: i32| ExitStatus::from_raw(code << 8);
        let killed = |signal: i32| ExitStatus::from_raw(signal);
        assert_eq!(exit_code(exited(0), Stop::Asked), 130);
        assert_eq!(exit_code(killed(15), Stop::Asked), 130);
        assert_eq!(exit_code(exited(1), Stop::Asked), 1, "a failure stays one");
        assert_eq!(exit_code(exited(0), Stop::Running), 0);
        assert_eq!(exit_code(exited(3), Stop::Running), 3);
        assert_eq!(exit_code(killed(9), Stop::Running), 137);
    }

    #[test]
    fn a_bind_off_loopback_or_a_bad_user_is_refused() {
        let e = Emulator::new(Some("0.0.0.0"), None, env(&[])).unwrap_err();
        assert!(e.to_string().contains("loopback addresses only"), "{e}");
        let e = Emulator::new(Some("::1"), None, env(&[])).unwrap_err();
        assert!(e.to_string().contains("not an IPv4 address"), "{e}");
        let e = Emulator::new(None, None, env(&[("BADFISH_EMULATOR_USER", "a:b")])).unwrap_err();
        assert!(e.to_string().contains("BADFISH_EMULATOR_USER"), "{e}");
    }

    #[test]
    fn the_lab_is_looked_for_beside_quads_then_on_path() {
        let dir = tempfile::tempdir().unwrap();
        let (bin, elsewhere) = (dir.path().join("bin"), dir.path().join("elsewhere"));
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&elsewhere).unwrap();
        let quads = bin.join("quads");
        let path = std::env::join_paths([&elsewhere]).unwrap();
        let e = find_lab(Some(&quads), Some(&path)).unwrap_err().to_string();
        assert!(
            e.contains(&bin.join("quads-lab").display().to_string()),
            "{e}"
        );
        assert!(e.contains("nor on PATH"), "{e}");
        std::fs::write(elsewhere.join("quads-lab"), "").unwrap();
        assert_eq!(
            find_lab(Some(&quads), Some(&path)).unwrap(),
            elsewhere.join("quads-lab")
        );
        std::fs::write(bin.join("quads-lab"), "").unwrap();
        assert_eq!(
            find_lab(Some(&quads), Some(&path)).unwrap(),
            bin.join("quads-lab")
        );
    }
}
