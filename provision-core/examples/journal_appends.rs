//! Measures the journal's write path under a fleet's load: many hosts appending intents at once to
//! a file store, printing wall time, CPU time (the process's and the store writer thread's) and
//! how many transactions the rows were committed in.
//!
//! `cargo run --release -p provision-core --example journal_appends -- [ROWS] [TASKS]`
//! (defaults 5000 rows from 700 tasks). CPU times come from `/proc` (Linux; ticks of 10 ms).

#![allow(clippy::print_stdout)] // a measurement for a person to read: printing is its job

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use provision_core::journal::{Details, StepAttempt};
use provision_core::model::{HostName, RunKind, Step, Subject};
use provision_core::{OpenMode, Store, StoreOptions, SystemClock, Timestamp};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};

/// Counts the store writer's `group_commit` events and the rows they report.
#[derive(Default)]
struct Commits {
    commits: AtomicU64,
    rows: AtomicU64,
}

struct CommitCounter(Arc<Commits>);

struct RowsField(u64);

impl Visit for RowsField {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "rows" {
            self.0 = value;
        }
    }

    fn record_debug(&mut self, _field: &Field, _value: &dyn std::fmt::Debug) {}
}

impl<S: tracing::Subscriber> Layer<S> for CommitCounter {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().name() == "group_commit" {
            let mut rows = RowsField(0);
            event.record(&mut rows);
            self.0.commits.fetch_add(1, Ordering::Relaxed);
            self.0.rows.fetch_add(rows.0, Ordering::Relaxed);
        }
    }
}

/// User plus system CPU ticks of `/proc/self/stat` or of the task whose `comm` is `thread`.
fn cpu_ticks(thread: Option<&str>) -> Option<u64> {
    let stat = match thread {
        None => std::fs::read_to_string("/proc/self/stat").ok()?,
        Some(name) => std::fs::read_dir("/proc/self/task")
            .ok()?
            .flatten()
            .find(|task| {
                std::fs::read_to_string(task.path().join("comm"))
                    // the kernel keeps the first 15 bytes of a thread's name
                    .is_ok_and(|comm| name.get(..15).unwrap_or(name) == comm.trim_end())
            })
            .and_then(|task| std::fs::read_to_string(task.path().join("stat")).ok())?,
    };
    // fields after the parenthesised command: state is field 3, utime 14, stime 15
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn ms(ticks: Option<u64>) -> String {
    // USER_HZ is 100 on Linux
    ticks.map_or_else(|| "n/a".to_owned(), |t| format!("{} ms", t * 10))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rows: usize = args.next().map_or(Ok(5000), |a| a.parse())?;
    let tasks: usize = args.next().map_or(Ok(700), |a| a.parse())?;

    let commits = Arc::new(Commits::default());
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(CommitCounter(Arc::clone(&commits))),
    )?;

    let dir = tempfile::tempdir()?;
    let store = Store::open(StoreOptions {
        path: dir.path().join("quads.db"),
        mode: OpenMode::CreateIfMissing,
        clock: Arc::new(SystemClock),
    })
    .await?;
    let run = store
        .begin_run(
            RunKind::MoveHosts,
            Timestamp::from_system_time(std::time::SystemTime::now()),
        )
        .await?;
    let journal = store.journal();
    let before_process = cpu_ticks(None);
    let before_writer = cpu_ticks(Some("quads-store-writer"));
    // a benchmark of real disk writes: the wall clock is what it measures
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();

    let mut set = tokio::task::JoinSet::new();
    for task in 0..tasks {
        let journal = journal.clone();
        let host = HostName::new(format!("host{task:04}"))?;
        let run = run.id();
        // task `t` writes rows t, t + tasks, t + 2 * tasks, ...: `rows` in all
        let mine = (task..rows).step_by(tasks).count();
        set.spawn(async move {
            for attempt in 1..=mine {
                let at = StepAttempt {
                    run,
                    subject: Subject::Host(host.clone()),
                    step: Step::NetworkBoot,
                    attempt: u32::try_from(attempt)?,
                };
                journal
                    .intent(&at, Details::new().with("boot", "pxe"))
                    .await?;
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        });
    }
    while let Some(done) = set.join_next().await {
        done?.map_err(|e| e.to_string())?;
    }

    let wall = started.elapsed();
    let process = cpu_ticks(None).zip(before_process).map(|(a, b)| a - b);
    let writer = cpu_ticks(Some("quads-store-writer"))
        .zip(before_writer)
        .map(|(a, b)| a - b);
    let written = journal.entries(run.id()).await?.len();
    let commits_seen = commits.commits.load(Ordering::Relaxed);
    let grouped_rows = commits.rows.load(Ordering::Relaxed);
    println!("rows written      {written} from {tasks} tasks");
    println!("wall              {} ms", wall.as_millis());
    println!("process cpu       {}", ms(process));
    println!("writer thread cpu {}", ms(writer));
    if commits_seen == 0 {
        println!("commits           not reported (this build commits each row alone)");
    } else {
        #[allow(clippy::cast_precision_loss)]
        let per = grouped_rows as f64 / commits_seen as f64;
        println!("commits           {commits_seen} ({per:.1} rows per commit)");
    }
    store.close().await;
    Ok(())
}
