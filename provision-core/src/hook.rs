//! Hook steps: an external command per host (switch/VLAN configuration, site scripts) run as an
//! async subprocess, its output lines labelled with host and hook in the logs and returned, under
//! its own timeout, the hooks concurrency limit and an optional lock key (e.g. one at a time per
//! switch). On timeout or cancellation the command and everything it started are killed.

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

/// One hook command. In `args`, `env` values and `lock_key`, `{host}` stands for the host's
/// name; the command also gets `QUADS_HOST` and `QUADS_HOOK` in its environment.
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
    /// Hooks with the same key (after `{host}` substitution) never run at once, e.g.
    /// `"switch:sw01"`.
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
    let span = tracing::info_span!("hook", host = %host, hook = %spec.name);
    run(spec, host, limits, cancel).instrument(span).await
}

async fn run(
    spec: &HookSpec,
    host: &str,
    limits: &Limits,
    cancel: &CancellationToken,
) -> Result<HookOutput, HookError> {
    let cancelled = || HookError::Cancelled {
        hook: spec.name.clone(),
        host: host.to_owned(),
        output: HookOutput::empty(spec, host),
    };
    // The lock first: a hook waiting for its switch must not hold one of the hooks places.
    let _lock = match &spec.lock_key {
        Some(key) => {
            let key = key.replace("{host}", host);
            tokio::select! {
                guard = limits.locks().lock(key) => Some(guard),
                () = cancel.cancelled() => return Err(cancelled()),
            }
        }
        None => None,
    };

    let _place = tokio::select! {
        place = limits.hooks().acquire() => place?,
        () = cancel.cancelled() => return Err(cancelled()),
    };
    let mut command = Command::new(&spec.command);
    command
        .args(spec.args.iter().map(|a| a.replace("{host}", host)))
        .envs(spec.env.iter().map(|(k, v)| (k, v.replace("{host}", host))))
        .env("QUADS_HOST", host)
        .env("QUADS_HOOK", &spec.name)
        .stdin(Stdio::null())
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
            let ((), (), status) = tokio::join!(
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
