//! Hook steps: an external command per host (switch/VLAN configuration, site scripts) run as an
//! async subprocess, its output lines labelled with host and hook in the logs and returned, under
//! its own timeout, the hooks concurrency limit and an optional lock key (e.g. one at a time per
//! switch). On timeout or cancellation the command and everything it started are killed.
//!
//! A hook sees the whole move ([`HookMove`]): as versioned JSON on its stdin and in
//! `QUADS_MOVE_JSON`, as `QUADS_*` variables, and as `{field}` placeholders in its arguments,
//! environment values and lock key.

use std::collections::{BTreeMap, VecDeque};
use std::process::{ExitStatus, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::Command;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::limits::{LimitError, Limits, human_duration};

/// Longest line kept whole; longer ones are split.
const MAX_LINE: u64 = 64 * 1024;

/// One hook command. In `args`, `env` values and `lock_key`, `{host}`, `{from}`, `{to}`,
/// `{wipe}` (`yes`/`no`), `{ticket}`, `{owner}`, `{bmc}`, `{hook}`, `{switches}` (the host's
/// switches, comma-separated) and `{switch}` stand for the move's values (empty when the move
/// has none; other `{words}` are left as they are). In `args` and `env`, `{switch}` is
/// `{switches}`; in `lock_key` it takes one lock per switch, in sorted order (so hooks sharing
/// switches cannot deadlock), and none for a host cabled to no switch.
///
/// The command gets the move as JSON ([`HookMove`], `"v": 1`) on stdin and in
/// `QUADS_MOVE_JSON`, and `QUADS_HOST`, `QUADS_HOOK`, `QUADS_FROM`, `QUADS_TO`, `QUADS_WIPE`,
/// `QUADS_TICKET`, `QUADS_OWNER`, `QUADS_BMC`, `QUADS_SWITCHES` where the move has them.
///
/// The command runs in its own process group, which is killed when the command exits, times out
/// or is cancelled: background processes it starts do not outlive it (a daemon must `setsid`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookSpec {
    /// What the hook is called in logs and the journal.
    pub name: String,
    /// The program (looked up in `PATH` when it has no slash).
    pub command: String,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Extra environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Time allowed once the command started (waiting for the lock is not counted).
    #[serde(with = "human_duration", default = "default_timeout")]
    pub timeout: Duration,
    /// Hooks with the same key (after substitution) never run at once, e.g. `"switch:{switch}"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_key: Option<String>,
    /// Output lines kept in the result (all of them are logged).
    #[serde(default = "default_keep_lines")]
    pub keep_lines: usize,
}

fn default_timeout() -> Duration {
    Duration::from_secs(300)
}

fn default_keep_lines() -> usize {
    1000
}

impl HookSpec {
    /// A hook running `command` with `args`, the default timeout and no lock key.
    #[must_use]
    pub fn new(name: impl Into<String>, command: impl Into<String>, args: &[&str]) -> Self {
        Self {
            name: name.into(),
            command: command.into(),
            args: args.iter().map(|&a| a.to_owned()).collect(),
            env: BTreeMap::new(),
            timeout: default_timeout(),
            lock_key: None,
            keep_lines: default_keep_lines(),
        }
    }
}

/// The version of [`HookMove`]'s JSON.
pub const HOOK_MOVE_VERSION: u32 = 1;

/// The move a hook runs for, as the hook sees it (JSON on stdin, `"v": 1`; fields are only
/// ever added). No secret is in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookMove {
    /// [`HOOK_MOVE_VERSION`].
    pub v: u32,
    /// The hook's name (set when it runs).
    pub hook: String,
    /// The host.
    pub host: String,
    /// The cloud it leaves.
    pub from: Option<String>,
    /// The cloud it moves to.
    pub to: Option<String>,
    /// Whether it is rebuilt.
    pub wipe: Option<bool>,
    /// The target assignment's ticket.
    pub ticket: Option<String>,
    /// The target assignment's owner.
    pub owner: Option<String>,
    /// The host's BMC address.
    pub bmc: Option<String>,
    /// Its interfaces, in name order, with their switch ports and VLANs old and new.
    pub interfaces: Vec<HookInterface>,
    /// Interfaces whose new VLAN could not be computed, as sentences.
    pub network_problems: Vec<String>,
}

/// One interface of a [`HookMove`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookInterface {
    /// Its name (`em1`).
    pub name: String,
    /// Its MAC address, if known.
    pub mac_address: Option<String>,
    /// The switch it is cabled to.
    pub switch: String,
    /// The switch port.
    pub port: String,
    /// Where QUADS expects the port now, if known.
    pub old: Option<HookVlan>,
    /// Where the port goes.
    pub new: HookVlan,
    /// `move`, `unchanged` or `maintenance` (left alone).
    pub change: String,
}

/// A port's mode and VLAN in a [`HookMove`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookVlan {
    /// `access`, `qinq` or `trunk`.
    pub mode: String,
    /// The VLAN (a trunk's native VLAN).
    pub vlan: u16,
}

impl HookMove {
    /// A move known only by its host (the fields a bare `run_hook` has).
    #[must_use]
    pub fn host_only(host: &str) -> Self {
        Self {
            v: HOOK_MOVE_VERSION,
            host: host.to_owned(),
            ..Self::default()
        }
    }

    /// The host's switches, sorted, each once.
    #[must_use]
    pub fn switches(&self) -> Vec<&str> {
        let set: std::collections::BTreeSet<&str> =
            self.interfaces.iter().map(|i| i.switch.as_str()).collect();
        set.into_iter().collect()
    }

    /// The value of a placeholder, `None` for a word that is not one.
    fn field(&self, name: &str) -> Option<String> {
        let or_empty = |v: &Option<String>| v.clone().unwrap_or_default();
        Some(match name {
            "host" => self.host.clone(),
            "hook" => self.hook.clone(),
            "from" => or_empty(&self.from),
            "to" => or_empty(&self.to),
            "wipe" => match self.wipe {
                Some(true) => "yes".to_owned(),
                Some(false) => "no".to_owned(),
                None => String::new(),
            },
            "ticket" => or_empty(&self.ticket),
            "owner" => or_empty(&self.owner),
            "bmc" => or_empty(&self.bmc),
            "switch" | "switches" => self.switches().join(","),
            _ => return None,
        })
    }

    /// `template` with its placeholders filled (`switch` from `switch` when given).
    fn fill(&self, template: &str, switch: Option<&str>) -> String {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let value = after.find('}').and_then(|close| {
                let name = &after[..close];
                let value = match (name, switch) {
                    ("switch", Some(s)) => Some(s.to_owned()),
                    _ => self.field(name),
                };
                value.map(|v| (v, close))
            });
            match value {
                Some((v, close)) => {
                    out.push_str(&v);
                    rest = &after[close + 1..];
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// The locks a hook with `lock_key` takes for this move, sorted, each once.
    #[must_use]
    pub fn lock_keys(&self, lock_key: &str) -> Vec<String> {
        let mut keys: Vec<String> = if lock_key.contains("{switch}") {
            self.switches()
                .into_iter()
                .map(|s| self.fill(lock_key, Some(s)))
                .collect()
        } else {
            vec![self.fill(lock_key, None)]
        };
        keys.sort();
        keys.dedup();
        keys
    }

    /// The `QUADS_*` variables of this move.
    fn env(&self) -> Vec<(&'static str, String)> {
        let mut vars = vec![
            ("QUADS_HOST", self.host.clone()),
            ("QUADS_HOOK", self.hook.clone()),
        ];
        let optional = [
            ("QUADS_FROM", self.from.clone()),
            ("QUADS_TO", self.to.clone()),
            (
                "QUADS_WIPE",
                self.wipe.map(|w| if w { "yes" } else { "no" }.to_owned()),
            ),
            ("QUADS_TICKET", self.ticket.clone()),
            ("QUADS_OWNER", self.owner.clone()),
            ("QUADS_BMC", self.bmc.clone()),
        ];
        vars.extend(optional.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
        if !self.interfaces.is_empty() {
            vars.push(("QUADS_SWITCHES", self.switches().join(",")));
        }
        vars
    }
}

/// Which output a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl OutputStream {
    fn as_str(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
        }
    }
}

/// One line of a hook's output (invalid UTF-8 replaced, line ending removed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputLine {
    /// Where it came from.
    pub stream: OutputStream,
    /// The text.
    pub text: String,
}

/// What a hook run produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookOutput {
    /// The hook's name.
    pub hook: String,
    /// The host it ran for.
    pub host: String,
    /// The exit code, if the command exited (not when killed by a signal or never started).
    pub exit_code: Option<i32>,
    /// The last `keep_lines` lines of output, in the order they were read.
    pub lines: Vec<OutputLine>,
    /// Lines left out of `lines` (they were logged).
    pub dropped_lines: usize,
    /// Time from start to exit (zero if it never started).
    #[serde(with = "human_duration")]
    pub elapsed: Duration,
}

impl HookOutput {
    /// The text of the lines of one stream.
    #[must_use]
    pub fn text(&self, stream: OutputStream) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|l| l.stream == stream)
            .map(|l| l.text.as_str())
            .collect()
    }

    fn empty(spec: &HookSpec, host: &str) -> Box<Self> {
        Box::new(Self {
            hook: spec.name.clone(),
            host: host.to_owned(),
            exit_code: None,
            lines: Vec::new(),
            dropped_lines: 0,
            elapsed: Duration::ZERO,
        })
    }
}

/// Why a hook did not succeed. Output gathered so far is kept where there is some.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HookError {
    /// The command could not be started.
    #[error("hook {hook} for {host}: cannot start `{command}`: {source}")]
    Spawn {
        /// The hook's name.
        hook: String,
        /// The host.
        host: String,
        /// The program.
        command: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The command exited unsuccessfully.
    #[error("hook {hook} for {host} failed: {status}")]
    Failed {
        /// The hook's name.
        hook: String,
        /// The host.
        host: String,
        /// How it exited.
        status: ExitStatus,
        /// Its output.
        output: Box<HookOutput>,
    },
    /// The command outlived its timeout and was killed.
    #[error("hook {hook} for {host} timed out after {timeout:?} and was killed")]
    TimedOut {
        /// The hook's name.
        hook: String,
        /// The host.
        host: String,
        /// The timeout.
        timeout: Duration,
        /// Its output until then.
        output: Box<HookOutput>,
    },
    /// The run was cancelled (while waiting for the lock, or running: then it was killed).
    #[error("hook {hook} for {host} was cancelled")]
    Cancelled {
        /// The hook's name.
        hook: String,
        /// The host.
        host: String,
        /// Its output until then.
        output: Box<HookOutput>,
    },
    /// Waiting for the command failed.
    #[error("hook {hook} for {host}: {source}")]
    Wait {
        /// The hook's name.
        hook: String,
        /// The host.
        host: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The hooks limit refused (closed at shutdown).
    #[error(transparent)]
    Limit(#[from] LimitError),
}

/// Lines gathered from both streams.
struct Collected {
    keep: usize,
    lines: VecDeque<OutputLine>,
    dropped: usize,
}

impl Collected {
    fn push(&mut self, line: OutputLine) {
        if self.keep == 0 {
            self.dropped += 1;
            return;
        }
        if self.lines.len() == self.keep {
            self.lines.pop_front();
            self.dropped += 1;
        }
        self.lines.push_back(line);
    }
}

/// Runs `spec` for `host`: takes the lock key (if any) and a hooks place, starts the command,
/// logs each output line (span fields `host`, `hook`; event field `stream`) and waits for its
/// exit within `spec.timeout`. `cancel` stops the wait for the place or lock, or kills the
/// running command.
///
/// # Errors
/// [`HookError`]: could not start, non-zero exit, timeout, cancellation.
pub async fn run_hook(
    spec: &HookSpec,
    host: &str,
    limits: &Limits,
    cancel: &CancellationToken,
) -> Result<HookOutput, HookError> {
    run_move_hook(spec, &HookMove::host_only(host), limits, cancel).await
}

/// Runs `spec` for a move, as [`run_hook`] does for a host: the move's fields fill the
/// placeholders and reach the command as `QUADS_*` variables and JSON on stdin.
///
/// # Errors
/// [`HookError`]: could not start, non-zero exit, timeout, cancellation.
pub async fn run_move_hook(
    spec: &HookSpec,
    mv: &HookMove,
    limits: &Limits,
    cancel: &CancellationToken,
) -> Result<HookOutput, HookError> {
    let span = tracing::info_span!("hook", host = %mv.host, hook = %spec.name);
    let mv = HookMove {
        v: HOOK_MOVE_VERSION,
        hook: spec.name.clone(),
        ..mv.clone()
    };
    run(spec, &mv, limits, cancel).instrument(span).await
}

/// One start of a hook's command: what it is run for (`host` in its logs and errors), its
/// arguments and variables filled, its stdin, and the locks it takes first.
struct Invocation {
    host: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: String,
    lock_keys: Vec<String>,
}

async fn run(
    spec: &HookSpec,
    mv: &HookMove,
    limits: &Limits,
    cancel: &CancellationToken,
) -> Result<HookOutput, HookError> {
    // serializing plain strings and numbers cannot fail
    let json = serde_json::to_string(mv).unwrap_or_default();
    let mut env: Vec<(String, String)> = spec
        .env
        .iter()
        .map(|(k, v)| (k.clone(), mv.fill(v, None)))
        .collect();
    env.extend(mv.env().into_iter().map(|(k, v)| (k.to_owned(), v)));
    env.push(("QUADS_MOVE_JSON".to_owned(), json.clone()));
    let invocation = Invocation {
        host: mv.host.clone(),
        args: spec.args.iter().map(|a| mv.fill(a, None)).collect(),
        env,
        stdin: json,
        lock_keys: spec
            .lock_key
            .as_deref()
            .map(|k| mv.lock_keys(k))
            .unwrap_or_default(),
    };
    start(spec, invocation, limits, cancel).await
}

/// Runs a switch driver's site command for one batch on `switch`: `{switch}` in its arguments
/// and variables is the switch, `stdin` its input (also in `QUADS_SWITCH_JSON`), `QUADS_SWITCH`
/// the switch. Takes no lock (the caller holds the switch's) but a hooks place; output,
/// timeout and cancellation as [`run_hook`].
///
/// # Errors
/// [`HookError`]: could not start, non-zero exit, timeout, cancellation.
pub async fn run_switch_command(
    spec: &HookSpec,
    switch: &str,
    stdin: String,
    limits: &Limits,
    cancel: &CancellationToken,
) -> Result<HookOutput, HookError> {
    let fill = |t: &str| t.replace("{switch}", switch);
    let mut env: Vec<(String, String)> =
        spec.env.iter().map(|(k, v)| (k.clone(), fill(v))).collect();
    env.push(("QUADS_SWITCH".to_owned(), switch.to_owned()));
    env.push(("QUADS_SWITCH_JSON".to_owned(), stdin.clone()));
    let invocation = Invocation {
        host: format!("switch {switch}"),
        args: spec.args.iter().map(|a| fill(a)).collect(),
        env,
        stdin,
        lock_keys: Vec::new(),
    };
    let span = tracing::info_span!("switch_command", switch, command = %spec.command);
    start(spec, invocation, limits, cancel)
        .instrument(span)
        .await
}

async fn start(
    spec: &HookSpec,
    invocation: Invocation,
    limits: &Limits,
    cancel: &CancellationToken,
) -> Result<HookOutput, HookError> {
    let host = invocation.host.as_str();
    let cancelled = || HookError::Cancelled {
        hook: spec.name.clone(),
        host: host.to_owned(),
        output: HookOutput::empty(spec, host),
    };
    // The locks first: a hook waiting for its switch must not hold one of the hooks places.
    // Several (one per switch) are taken in sorted order, so two hooks never wait on each other.
    let mut held_locks = Vec::new();
    for key in &invocation.lock_keys {
        tokio::select! {
            guard = limits.locks().lock(key.clone()) => held_locks.push(guard),
            () = cancel.cancelled() => return Err(cancelled()),
        }
    }
    let json = invocation.stdin.as_str();

    let _place = tokio::select! {
        place = limits.hooks().acquire() => place?,
        () = cancel.cancelled() => return Err(cancelled()),
    };
    let mut command = Command::new(&spec.command);
    command
        .args(&invocation.args)
        .envs(invocation.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // Its own process group, so that a timeout kills whatever the command started too.
    #[cfg(unix)]
    command.process_group(0);

    let started = Instant::now();
    let mut child = command.spawn().map_err(|source| HookError::Spawn {
        hook: spec.name.clone(),
        host: host.to_owned(),
        command: spec.command.clone(),
        source,
    })?;
    let pid = child.id();
    tracing::debug!(pid, "hook started");
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let stdin = child.stdin.take();
    let sink = Mutex::new(Collected {
        keep: spec.keep_lines,
        lines: VecDeque::new(),
        dropped: 0,
    });

    enum End {
        Exited(std::io::Result<ExitStatus>),
        TimedOut,
        Cancelled,
    }
    let end = {
        let exited = async {
            let status = child.wait().await;
            // Whatever it left behind holds the output pipes open: end it with the command.
            kill_group(pid);
            status
        };
        let run = async {
            let ((), (), (), status) = tokio::join!(
                feed(stdin, json.as_bytes()),
                pump(stdout, OutputStream::Stdout, &sink),
                pump(stderr, OutputStream::Stderr, &sink),
                exited,
            );
            status
        };
        tokio::select! {
            status = run => End::Exited(status),
            () = tokio::time::sleep(spec.timeout) => End::TimedOut,
            () = cancel.cancelled() => End::Cancelled,
        }
    };
    if !matches!(end, End::Exited(_)) {
        kill_group(pid);
        if let Err(e) = child.kill().await {
            tracing::warn!(error = %e, "could not kill the hook");
        }
    }
    let collected = sink.into_inner().unwrap_or_else(PoisonError::into_inner);
    let mut output = Box::new(HookOutput {
        hook: spec.name.clone(),
        host: host.to_owned(),
        exit_code: None,
        lines: collected.lines.into(),
        dropped_lines: collected.dropped,
        elapsed: started.elapsed(),
    });
    match end {
        End::Exited(Ok(status)) => {
            output.exit_code = status.code();
            if status.success() {
                tracing::info!(elapsed = ?output.elapsed, "hook succeeded");
                Ok(*output)
            } else {
                tracing::warn!(%status, "hook failed");
                Err(HookError::Failed {
                    hook: spec.name.clone(),
                    host: host.to_owned(),
                    status,
                    output,
                })
            }
        }
        End::Exited(Err(source)) => Err(HookError::Wait {
            hook: spec.name.clone(),
            host: host.to_owned(),
            source,
        }),
        End::TimedOut => {
            tracing::warn!(timeout = ?spec.timeout, "hook timed out: killed");
            Err(HookError::TimedOut {
                hook: spec.name.clone(),
                host: host.to_owned(),
                timeout: spec.timeout,
                output,
            })
        }
        End::Cancelled => {
            tracing::warn!("hook cancelled: killed");
            Err(HookError::Cancelled {
                hook: spec.name.clone(),
                host: host.to_owned(),
                output,
            })
        }
    }
}

/// Writes the move's JSON (and a newline) to the command's stdin, then closes it. A command
/// that does not read it may exit first: the broken pipe is not an error.
async fn feed(stdin: Option<tokio::process::ChildStdin>, json: &[u8]) {
    use tokio::io::AsyncWriteExt as _;
    let Some(mut stdin) = stdin else { return };
    let written = async {
        stdin.write_all(json).await?;
        stdin.write_all(b"\n").await?;
        stdin.shutdown().await
    };
    if let Err(e) = written.await {
        tracing::debug!(error = %e, "hook did not read its stdin");
    }
}

/// Reads `reader` line by line into the log and `sink` until end of file.
async fn pump<R: AsyncRead + Unpin>(
    reader: Option<R>,
    stream: OutputStream,
    sink: &Mutex<Collected>,
) {
    let Some(reader) = reader else { return };
    let mut reader = BufReader::new(reader);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match (&mut reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut buf)
            .await
        {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(stream = stream.as_str(), error = %e, "cannot read hook output");
                return;
            }
        }
        while buf.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
            buf.pop();
        }
        let text = String::from_utf8_lossy(&buf).into_owned();
        tracing::info!(stream = stream.as_str(), "{text}");
        sink.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(OutputLine { stream, text });
    }
}

/// Kills the process group led by `pid` (best effort: it may be gone already).
#[cfg(unix)]
fn kill_group(pid: Option<u32>) {
    let Some(pid) = pid
        .and_then(|p| i32::try_from(p).ok())
        .and_then(rustix::process::Pid::from_raw)
    else {
        return;
    };
    // ESRCH (nothing left in the group) is the usual answer and not an error.
    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
}

#[cfg(not(unix))]
fn kill_group(_pid: Option<u32>) {}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use super::*;
    use crate::limits::LimitsConfig;

    fn sh(name: &str, script: &str) -> HookSpec {
        let mut spec = HookSpec::new(name, "sh", &["-c", script]);
        spec.timeout = Duration::from_secs(30);
        spec
    }

    fn limits() -> Limits {
        Limits::new(&LimitsConfig::default()).unwrap()
    }

    /// A scratch directory, removed on drop.
    struct TempDir(std::path::PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let path =
                std::env::temp_dir().join(format!("quads-hook-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Collects formatted log output.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    // These tests run real processes, so they use the real clock: under a paused clock the
    // runtime would jump to the timeout while the process is starting.

    #[tokio::test]
    async fn output_is_labelled_returned_and_substituted() {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _default = tracing::subscriber::set_default(subscriber);

        let mut spec = sh(
            "vlan",
            "echo \"configuring $1 as $QUADS_HOST on $VLAN_SWITCH\"; echo warn-line >&2; printf 'no newline'",
        );
        spec.args.extend(["arg0".into(), "{host}".into()]);
        spec.env
            .insert("VLAN_SWITCH".into(), "sw-for-{host}".into());
        let output = run_hook(&spec, "h17", &limits(), &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(output.exit_code, Some(0));
        assert_eq!(
            output.text(OutputStream::Stdout),
            ["configuring h17 as h17 on sw-for-h17", "no newline"]
        );
        assert_eq!(output.text(OutputStream::Stderr), ["warn-line"]);

        let log = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
        let line = log
            .lines()
            .find(|l| l.contains("configuring h17"))
            .unwrap_or_else(|| panic!("not logged: {log}"));
        assert!(
            line.contains("host=h17") && line.contains("hook=vlan"),
            "{line}"
        );
        assert!(line.contains("stream=\"stdout\""), "{line}");
        let line = log.lines().find(|l| l.contains("warn-line")).unwrap();
        assert!(
            line.contains("host=h17") && line.contains("stream=\"stderr\""),
            "{line}"
        );
    }

    #[tokio::test]
    async fn a_non_zero_exit_is_an_error_with_the_output() {
        let spec = sh("fails", "echo before; echo oops >&2; exit 3");
        let err = run_hook(&spec, "h1", &limits(), &CancellationToken::new())
            .await
            .unwrap_err();
        let HookError::Failed { output, status, .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!(status.code(), Some(3));
        assert_eq!(output.exit_code, Some(3));
        assert_eq!(output.text(OutputStream::Stderr), ["oops"]);

        let missing = HookSpec::new("missing", "/nonexistent/quads-hook", &[]);
        let err = run_hook(&missing, "h1", &limits(), &CancellationToken::new())
            .await
            .unwrap_err();
        assert!(matches!(err, HookError::Spawn { .. }), "{err:?}");
    }

    /// Whether `pid` is gone (or a zombie waiting to be reaped).
    fn is_dead(pid: u32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        }
    }

    #[tokio::test]
    async fn a_timeout_kills_the_command_and_what_it_started() {
        let mut spec = sh("slow", "sleep 30 & echo background=$!; exec sleep 30");
        spec.timeout = Duration::from_millis(300);
        let t0 = Instant::now();
        let err = run_hook(&spec, "h1", &limits(), &CancellationToken::new())
            .await
            .unwrap_err();
        let elapsed = t0.elapsed();
        let HookError::TimedOut {
            output, timeout, ..
        } = err
        else {
            panic!("{err:?}")
        };
        assert_eq!(timeout, Duration::from_millis(300));
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
        let background: u32 = output.text(OutputStream::Stdout)[0]
            .strip_prefix("background=")
            .unwrap()
            .parse()
            .unwrap();
        // The background process was in the hook's process group: it dies too.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !is_dead(background) {
            assert!(
                Instant::now() < deadline,
                "the hook's background process survived"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn cancellation_kills_a_running_hook() {
        let spec = sh("cancel-me", "echo started; exec sleep 30");
        let cancel = CancellationToken::new();
        let limits = limits();
        let run = run_hook(&spec, "h1", &limits, &cancel);
        let canceller = async {
            // Cancel once the hook holds its place (it is running), with a deadline.
            let deadline = Instant::now() + Duration::from_secs(10);
            while limits.hooks().in_flight() == 0 {
                assert!(Instant::now() < deadline);
                tokio::task::yield_now().await;
            }
            cancel.cancel();
        };
        let t0 = Instant::now();
        let (result, ()) = tokio::join!(run, canceller);
        assert!(
            matches!(result, Err(HookError::Cancelled { .. })),
            "{result:?}"
        );
        assert!(t0.elapsed() < Duration::from_secs(5));
        assert_eq!(limits.hooks().in_flight(), 0);
    }

    #[tokio::test]
    async fn hooks_with_one_lock_key_never_overlap_and_other_keys_run_together() {
        let dir = TempDir::new("lock-key");
        let d = dir.0.display().to_string();
        // Inside the critical section: a directory that only one holder may create.
        let exclusive = format!(
            "mkdir {d}/inside-$QUADS_HOOK-lock || exit 99; sleep 0.2; rmdir {d}/inside-$QUADS_HOOK-lock"
        );
        let limits = limits();
        let mut runs = Vec::new();
        for i in 0..4 {
            let mut spec = sh("sw01", &exclusive);
            spec.lock_key = Some("switch:sw01".into());
            let limits = limits.clone();
            runs.push(tokio::spawn(async move {
                run_hook(&spec, &format!("h{i}"), &limits, &CancellationToken::new()).await
            }));
        }
        let t0 = Instant::now();
        for run in runs {
            run.await.unwrap().unwrap();
        }
        assert!(t0.elapsed() >= Duration::from_millis(800));
        assert_eq!(limits.locks().report().waited, 3);
        assert!(limits.locks().is_empty());

        // Two different keys: each waits (bounded) until it sees the other inside.
        let meet = |me: &str, other: &str| {
            format!(
                "touch {d}/{me}; i=0; while [ ! -e {d}/{other} ]; do i=$((i+1)); [ $i -gt 200 ] && exit 98; sleep 0.05; done"
            )
        };
        let mut a = sh("a", &meet("a", "b"));
        a.lock_key = Some("switch:sw01".into());
        let mut b = sh("b", &meet("b", "a"));
        b.lock_key = Some("switch:sw02".into());
        let cancel = CancellationToken::new();
        let (ra, rb) = tokio::join!(
            run_hook(&a, "h1", &limits, &cancel),
            run_hook(&b, "h2", &limits, &cancel)
        );
        ra.unwrap();
        rb.unwrap();
    }

    #[tokio::test]
    async fn a_hook_waiting_for_its_lock_holds_no_hooks_place() {
        let dir = TempDir::new("lock-then-place");
        let d = dir.0.display().to_string();
        let limits = Limits::new(&LimitsConfig {
            hooks: 2,
            ..LimitsConfig::default()
        })
        .unwrap();
        // Both holders of "switch:sw01" wait (bounded) for the unlocked hook's marker: it can only
        // appear if the one waiting for the lock left the second place free.
        let wait_for_c = format!(
            "i=0; while [ ! -e {d}/c ]; do i=$((i+1)); [ $i -gt 200 ] && exit 98; sleep 0.05; done"
        );
        let mut a = sh("a", &wait_for_c);
        a.lock_key = Some("switch:sw01".into());
        let b = HookSpec {
            name: "b".into(),
            ..a.clone()
        };
        let c = sh("c", &format!("touch {d}/c"));
        let cancel = CancellationToken::new();
        let (ra, rb, rc) = tokio::join!(
            run_hook(&a, "h1", &limits, &cancel),
            run_hook(&b, "h2", &limits, &cancel),
            run_hook(&c, "h3", &limits, &cancel),
        );
        rc.unwrap();
        ra.unwrap();
        rb.unwrap();
        assert_eq!(limits.hooks().report().peak_in_flight, 2);
    }

    #[test]
    fn a_hook_spec_reads_from_toml() {
        let spec: HookSpec = toml::from_str(
            r#"
            name = "vlan"
            command = "/usr/local/bin/set-vlan"
            args = ["--host", "{host}"]
            timeout = "90s"
            lock_key = "switch:{host}"
            env = { SWITCH_USER = "admin" }
            "#,
        )
        .unwrap();
        assert_eq!(spec.timeout, Duration::from_secs(90));
        assert_eq!(spec.keep_lines, 1000);
        assert_eq!(spec.env["SWITCH_USER"], "admin");
        let again: HookSpec = toml::from_str(&toml::to_string(&spec).unwrap()).unwrap();
        assert_eq!(again, spec);
    }

    fn a_move(host: &str, switches: &[&str]) -> HookMove {
        HookMove {
            from: Some("cloud01".into()),
            to: Some("cloud03".into()),
            wipe: Some(true),
            ticket: Some("T-42".into()),
            owner: Some("alice".into()),
            bmc: Some("127.0.9.1".into()),
            interfaces: switches
                .iter()
                .enumerate()
                .map(|(i, sw)| HookInterface {
                    name: format!("em{}", i + 1),
                    mac_address: None,
                    switch: (*sw).to_owned(),
                    port: format!("xe-0/0/{i}"),
                    old: Some(HookVlan {
                        mode: "access".into(),
                        vlan: 1100 + u16::try_from(i).unwrap(),
                    }),
                    new: HookVlan {
                        mode: "access".into(),
                        vlan: 1120 + u16::try_from(i).unwrap(),
                    },
                    change: "move".into(),
                })
                .collect(),
            ..HookMove::host_only(host)
        }
    }

    #[test]
    fn placeholders_are_the_moves_fields_and_other_words_stay() {
        let mv = a_move("h1", &["sw2", "sw1", "sw2"]);
        assert_eq!(
            mv.fill(
                "{host} {from}->{to} wipe={wipe} {ticket} {owner} {bmc} {switch} {nope} {",
                None
            ),
            "h1 cloud01->cloud03 wipe=yes T-42 alice 127.0.9.1 sw1,sw2 {nope} {"
        );
        assert_eq!(
            mv.lock_keys("switch:{switch}"),
            ["switch:sw1", "switch:sw2"]
        );
        assert_eq!(mv.lock_keys("host:{host}"), ["host:h1"]);
        // no switch, no switch lock; a bare host has empty fields
        let bare = HookMove::host_only("h2");
        assert!(bare.lock_keys("switch:{switch}").is_empty());
        assert_eq!(bare.fill("{host}:{to}:{wipe}", None), "h2::");
    }

    #[tokio::test]
    async fn a_hook_gets_the_move_in_its_environment_arguments_and_stdin() {
        let mut spec = sh(
            "vlan",
            "echo \"env $QUADS_HOST $QUADS_HOOK $QUADS_FROM $QUADS_TO $QUADS_WIPE $QUADS_TICKET $QUADS_OWNER $QUADS_BMC $QUADS_SWITCHES $SITE\"; \
             echo \"args $1 $2\"; echo \"json $QUADS_MOVE_JSON\"; echo \"stdin $(cat)\"",
        );
        spec.args
            .extend(["_".into(), "{to}@{switch}".into(), "{ticket}".into()]);
        spec.env.insert("SITE".into(), "{owner}/{from}".into());
        // a hook cannot pass itself off as another host
        spec.env.insert("QUADS_HOST".into(), "spoofed".into());
        let mv = a_move("h1", &["sw2", "sw1"]);
        let out = run_move_hook(&spec, &mv, &limits(), &CancellationToken::new())
            .await
            .unwrap();
        let lines = out.text(OutputStream::Stdout);
        assert_eq!(
            lines[0],
            "env h1 vlan cloud01 cloud03 yes T-42 alice 127.0.9.1 sw1,sw2 alice/cloud01"
        );
        assert_eq!(lines[1], "args cloud03@sw1,sw2 T-42");
        for (prefix, line) in [("json ", lines[2]), ("stdin ", lines[3])] {
            let doc: serde_json::Value =
                serde_json::from_str(line.strip_prefix(prefix).unwrap()).unwrap();
            assert_eq!(doc["v"], 1, "{line}");
            assert_eq!(doc["hook"], "vlan");
            assert_eq!(doc["host"], "h1");
            assert_eq!(doc["to"], "cloud03");
            assert_eq!(doc["wipe"], true);
            assert_eq!(doc["owner"], "alice");
            assert_eq!(doc["bmc"], "127.0.9.1");
            assert_eq!(doc["interfaces"][1]["switch"], "sw1");
            assert_eq!(doc["interfaces"][1]["port"], "xe-0/0/1");
            assert_eq!(doc["interfaces"][1]["old"]["vlan"], 1101);
            assert_eq!(doc["interfaces"][1]["new"]["vlan"], 1121);
            let back: HookMove = serde_json::from_value(doc).unwrap();
            assert_eq!(back.interfaces, mv.interfaces);
        }
        // a hook that never reads its stdin is fine
        let quiet = sh("quiet", "exit 0");
        run_move_hook(&quiet, &mv, &limits(), &CancellationToken::new())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_switch_lock_key_takes_every_switch_of_the_host_in_order() {
        let dir = TempDir::new("switch-locks");
        let d = dir.0.display().to_string();
        // inside, a marker per switch only one holder may create
        let exclusive = format!(
            "for s in $(echo $QUADS_SWITCHES | tr , ' '); do mkdir {d}/$s || exit 99; done; sleep 0.2; \
             for s in $(echo $QUADS_SWITCHES | tr , ' '); do rmdir {d}/$s; done"
        );
        let mut spec = sh("ports", &exclusive);
        spec.lock_key = Some("switch:{switch}".into());
        let limits = limits();
        let cancel = CancellationToken::new();
        // h1 and h2 share both switches (listed in opposite orders), h3 shares one with h2
        let (m1, m2, m3) = (
            a_move("h1", &["sw1", "sw2"]),
            a_move("h2", &["sw2", "sw1", "sw3"]),
            a_move("h3", &["sw3"]),
        );
        let t0 = Instant::now();
        let (r1, r2, r3) = tokio::join!(
            run_move_hook(&spec, &m1, &limits, &cancel),
            run_move_hook(&spec, &m2, &limits, &cancel),
            run_move_hook(&spec, &m3, &limits, &cancel),
        );
        r1.unwrap();
        r2.unwrap();
        r3.unwrap();
        assert!(t0.elapsed() >= Duration::from_millis(400));
        let report = limits.locks().report();
        assert_eq!(report.acquired, 6);
        assert!(report.waited >= 1, "{report:?}");
        assert!(limits.locks().is_empty());
    }

    #[tokio::test]
    async fn only_the_last_lines_are_kept() {
        let mut spec = sh(
            "chatty",
            "i=0; while [ $i -lt 50 ]; do echo line$i; i=$((i+1)); done",
        );
        spec.keep_lines = 5;
        let output = run_hook(&spec, "h1", &limits(), &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(output.dropped_lines, 45);
        assert_eq!(
            output.text(OutputStream::Stdout),
            ["line45", "line46", "line47", "line48", "line49"]
        );
    }
}
