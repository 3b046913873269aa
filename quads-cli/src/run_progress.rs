//! The live view of a `quads move-hosts` run on a terminal: an overall bar (hosts ended of all,
//! moved and failed counts), one line per step with the hosts in it, each failure printed above
//! the bars as it happens, and a tracing writer that prints log lines above the bars instead of
//! through them. Drawn only when stderr is a terminal and the output is for people; otherwise
//! nothing here writes anything but the log lines, unchanged.

use std::io::{self, IsTerminal as _};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use provision_core::executor::{HostEnded, HostStatus, ProgressSnapshot, RunProgress};
use tokio::sync::broadcast::error::RecvError;
use tracing_subscriber::fmt::MakeWriter;

/// How often the bars show the run's counts.
const REFRESH: Duration = Duration::from_millis(200);

/// The bars being drawn, which log lines go above.
static BARS: Mutex<Option<MultiProgress>> = Mutex::new(None);

/// Where bars are drawn, when they are: stderr, if it is a terminal and the output is not JSON.
/// Log lines go above them from now on.
#[must_use]
pub fn terminal(json: bool) -> Option<MultiProgress> {
    let bars = (!json && io::stderr().is_terminal()).then(MultiProgress::new);
    *BARS.lock().unwrap_or_else(PoisonError::into_inner) = bars.clone();
    bars
}

/// Tracing's writer (the one subscriber's, `process::init_tracing`): straight to stderr, or
/// above the bars while they are drawn.
#[derive(Clone, Copy, Default)]
pub struct LogWriter;

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = Self;

    fn make_writer(&'a self) -> Self {
        *self
    }
}

impl io::Write for LogWriter {
    /// Tracing writes each formatted event at once, so a line is never split by a redraw.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let bars = BARS.lock().unwrap_or_else(PoisonError::into_inner).clone();
        match &bars {
            Some(bars) => bars.suspend(|| io::stderr().lock().write_all(buf))?,
            None => io::stderr().lock().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// Awaits `run`, showing `progress` on `bars` meanwhile (every [`REFRESH`] on tokio's clock,
/// failures as they happen); the bars are cleared when it returns. Without bars, just awaits.
pub async fn watch<F: Future>(
    bars: Option<MultiProgress>,
    progress: &RunProgress,
    run: F,
) -> F::Output {
    let Some(multi) = bars else {
        return run.await;
    };
    let mut events = progress.subscribe();
    let mut view = View::new(multi);
    let mut tick = tokio::time::interval(REFRESH);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut run = std::pin::pin!(run);
    let out = loop {
        tokio::select! {
            out = &mut run => break out,
            _ = tick.tick() => view.show(&progress.snapshot()),
            ended = events.recv() => view.ended(ended),
        }
    };
    loop {
        match events.try_recv() {
            Ok(e) => view.ended(Ok(e)),
            Err(tokio::sync::broadcast::error::TryRecvError::Lagged(n)) => {
                view.ended(Err(RecvError::Lagged(n)));
            }
            Err(_) => break,
        }
    }
    view.clear();
    out
}

/// The bars of one run.
struct View {
    multi: MultiProgress,
    /// Drawn from the first snapshot with hosts to move (never for an empty run).
    overall: ProgressBar,
    overall_drawn: bool,
    /// Steps in the order they first had hosts, with their lines.
    stages: Vec<(String, ProgressBar)>,
}

impl View {
    fn new(multi: MultiProgress) -> Self {
        Self {
            multi,
            overall: bar("{elapsed_precise:>12} [{bar:24}] {pos}/{len} hosts: {msg}"),
            overall_drawn: false,
            stages: Vec::new(),
        }
    }

    fn show(&mut self, now: &ProgressSnapshot) {
        if now.total == 0 {
            return;
        }
        let total = now.total as u64;
        self.overall.set_length(total);
        self.overall.set_position(now.finished() as u64);
        self.overall.set_message(overall_message(now));
        if !self.overall_drawn {
            self.overall = self.multi.add(self.overall.clone());
            self.overall_drawn = true;
        }
        let mut order: Vec<String> = self.stages.iter().map(|(s, _)| s.clone()).collect();
        for (step, hosts) in stage_rows(&mut order, now) {
            let known = self.stages.iter().find(|(s, _)| *s == step);
            let line = known.map_or_else(
                || bar("{prefix:>12} [{bar:24}] {pos} {msg}").with_prefix(step.clone()),
                |(_, line)| line.clone(),
            );
            line.set_length(total);
            line.set_position(hosts as u64);
            line.set_message(if hosts == 1 { "host" } else { "hosts" });
            if known.is_none() {
                // added once complete, so that it is never drawn empty-handed
                self.stages.push((step, self.multi.add(line)));
            }
        }
    }

    fn ended(&self, ended: Result<HostEnded, RecvError>) {
        let line = match ended {
            Ok(e) => failure_line(&e),
            Err(RecvError::Lagged(n)) => Some(format!(
                "({n} more hosts ended; the summary lists every failure)"
            )),
            Err(RecvError::Closed) => None,
        };
        if let Some(line) = line {
            let _ = self.multi.println(line);
        }
    }

    fn clear(self) {
        for (_, line) in &self.stages {
            line.finish_and_clear();
        }
        self.overall.finish_and_clear();
        let _ = self.multi.clear();
    }
}

/// A bar drawn nowhere until it is added to the bars.
fn bar(template: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(0), indicatif::ProgressDrawTarget::hidden());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// The overall bar's message: how the ended hosts ended and how many are under way.
#[must_use]
pub fn overall_message(now: &ProgressSnapshot) -> String {
    let mut text = format!("{} moved, {} failed", now.moved, now.failed);
    if now.interrupted > 0 {
        text.push_str(&format!(", {} interrupted", now.interrupted));
    }
    text.push_str(&format!(", {} in flight", now.in_flight));
    text
}

/// Every step seen so far with its hosts now (0 when it emptied), in the order steps first had
/// hosts; `order` remembers that order between calls.
#[must_use]
pub fn stage_rows(order: &mut Vec<String>, now: &ProgressSnapshot) -> Vec<(String, usize)> {
    for step in now.stages.keys() {
        if !order.contains(step) {
            order.push(step.clone());
        }
    }
    order
        .iter()
        .map(|s| (s.clone(), now.stages.get(s).copied().unwrap_or(0)))
        .collect()
}

/// The line printed above the bars when a host fails (nothing for a moved or stopped host).
#[must_use]
pub fn failure_line(e: &HostEnded) -> Option<String> {
    if e.status != HostStatus::Failed {
        return None;
    }
    let error = e.error.as_deref().unwrap_or("no reason given");
    Some(match &e.step {
        Some(step) => format!("{} failed at {step}: {error}", e.host),
        None => format!("{} failed: {error}", e.host),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(stages: &[(&str, usize)]) -> ProgressSnapshot {
        let mut s = ProgressSnapshot::default();
        s.total = 10;
        s.moved = 3;
        s.failed = 1;
        s.in_flight = 6;
        s.stages = stages.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect();
        s
    }

    #[test]
    fn the_overall_message_counts_moved_failed_and_in_flight() {
        let mut s = snapshot(&[]);
        assert_eq!(overall_message(&s), "3 moved, 1 failed, 6 in flight");
        s.interrupted = 2;
        assert_eq!(
            overall_message(&s),
            "3 moved, 1 failed, 2 interrupted, 6 in flight"
        );
    }

    #[test]
    fn stage_lines_keep_their_first_seen_order_and_show_emptied_steps_as_zero() {
        let mut order = Vec::new();
        let rows = stage_rows(
            &mut order,
            &snapshot(&[("network-boot", 2), ("bmc-account", 4)]),
        );
        // the map is alphabetical; the first call can only follow it
        assert_eq!(
            rows,
            [
                ("bmc-account".to_owned(), 4),
                ("network-boot".to_owned(), 2)
            ]
        );
        let rows = stage_rows(
            &mut order,
            &snapshot(&[("install-wait", 5), ("network-boot", 1)]),
        );
        assert_eq!(
            rows,
            [
                ("bmc-account".to_owned(), 0),
                ("network-boot".to_owned(), 1),
                ("install-wait".to_owned(), 5)
            ]
        );
    }

    #[test]
    fn a_failure_is_one_host_prefixed_line_and_other_ends_print_nothing() {
        let mut e = HostEnded {
            host: "h12".to_owned(),
            status: HostStatus::Failed,
            step: Some("boot-order".to_owned()),
            error: Some("no provisioning NIC".to_owned()),
            seconds: 4.0,
        };
        assert_eq!(
            failure_line(&e).as_deref(),
            Some("h12 failed at boot-order: no provisioning NIC")
        );
        e.step = None;
        assert_eq!(
            failure_line(&e).as_deref(),
            Some("h12 failed: no provisioning NIC")
        );
        e.status = HostStatus::Moved;
        assert_eq!(failure_line(&e), None);
        e.status = HostStatus::Interrupted;
        assert_eq!(failure_line(&e), None);
    }

    #[tokio::test]
    async fn without_bars_the_run_is_just_awaited() {
        let progress = RunProgress::new();
        let out = watch(None, &progress, async {
            tokio::task::yield_now().await;
            7
        })
        .await;
        assert_eq!(out, 7);
    }

    #[test]
    fn the_bars_show_the_snapshot_and_keep_a_line_per_step_seen() {
        let mut view = View::new(MultiProgress::with_draw_target(
            indicatif::ProgressDrawTarget::hidden(),
        ));
        view.show(&ProgressSnapshot::default());
        assert!(
            view.stages.is_empty() && !view.overall_drawn,
            "nothing to move, no bars"
        );
        view.show(&snapshot(&[("bmc-account", 4), ("network-boot", 2)]));
        view.show(&snapshot(&[("network-boot", 1)]));
        assert_eq!(
            (view.overall.position(), view.overall.length()),
            (4, Some(10))
        );
        assert_eq!(view.overall.message(), "3 moved, 1 failed, 6 in flight");
        let lines: Vec<_> = view
            .stages
            .iter()
            .map(|(_, l)| (l.prefix(), l.position(), l.message()))
            .collect();
        assert_eq!(
            lines,
            [
                ("bmc-account".to_owned(), 0, "hosts".to_owned()),
                ("network-boot".to_owned(), 1, "host".to_owned())
            ]
        );
        view.clear();
    }

    #[tokio::test]
    async fn hidden_bars_follow_the_run_to_its_end() {
        let progress = RunProgress::new();
        let multi = MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::hidden());
        let out = watch(Some(multi), &progress, async {
            tokio::task::yield_now().await;
            "done"
        })
        .await;
        assert_eq!(out, "done");
    }
}
