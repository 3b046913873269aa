//! `quads foreman heal [--dry-run]`: makes Foreman follow the schedule (host owners, cloud users
//! enabled or retired) with provision-core's `heal`, configured by `quads.toml` like
//! `move-hosts` (store, `[foreman]`, `[executor]` limits, retries and `spare_owner`). Prints one
//! line per change and `N changes`, or a versioned JSON document (`-o json`).
//!
//! Exit codes: 0 done (or nothing to do), 1 a change failed or a host could not be read, 2 bad
//! configuration or another run holds the lock.

use std::io::Write as _;
use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use clap::Args;
use provision_core::executor::adapters::ForemanAdapter;
use provision_core::heal::{self, HealChange, HealInput, HealSetup};
use provision_core::limits::Limits;
use provision_core::model::{RunKind, RunState};
use provision_core::shutdown::Shutdown;
use provision_core::{Clock as _, OpenMode, Store, StoreOptions, SystemClock, Timestamp};
use quads_http::{HttpsTransport, TlsVerification, TransportConfig};
use serde::Serialize;

use crate::config::{ConfigFile, ProcessEnv};
use crate::foreman::Output;
use crate::process::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};

/// `quads foreman heal`.
#[derive(Debug, Args)]
pub struct HealArgs {
    /// List what would change and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Judge the schedule at this time instead of now: RFC 3339 or YYYY-MM-DD[ HH:MM] (UTC).
    #[arg(long, value_name = "T")]
    pub date: Option<Timestamp>,
}

/// The JSON document (`"v": 1`).
#[derive(Debug, Serialize)]
struct HealDocV1 {
    v: u32,
    dry_run: bool,
    at: String,
    changes: Vec<ChangeV1>,
    unreadable: Vec<UnreadableV1>,
    /// Changes made (or, with `--dry-run`, to make).
    changed: usize,
    failed: usize,
}

#[derive(Debug, Serialize)]
struct ChangeV1 {
    kind: &'static str,
    subject: String,
    detail: String,
    /// `planned`, `done` or `failed`.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct UnreadableV1 {
    host: String,
    error: String,
}

fn change(c: &HealChange, status: &'static str, error: Option<String>) -> ChangeV1 {
    ChangeV1 {
        kind: c.kind(),
        subject: c.subject().to_owned(),
        detail: c.to_string(),
        status,
        error,
    }
}

impl HealDocV1 {
    fn text(&self) -> String {
        let mut out = String::new();
        for c in &self.changes {
            match &c.error {
                Some(e) => out.push_str(&format!("failed: {}: {e}\n", c.detail)),
                None => out.push_str(&format!("{}\n", c.detail)),
            }
        }
        for u in &self.unreadable {
            out.push_str(&format!(
                "failed: host {}: cannot read it: {}\n",
                u.host, u.error
            ));
        }
        out.push_str(&format!(
            "{} change{}",
            self.changed,
            if self.changed == 1 { "" } else { "s" }
        ));
        if self.failed > 0 {
            out.push_str(&format!(", {} failed", self.failed));
        }
        if self.dry_run {
            out.push_str(" (dry run: nothing written)");
        }
        out.push('\n');
        out
    }
}

/// Runs `quads foreman heal` and returns the exit code.
pub fn main(args: &HealArgs, output: Output, file: &ConfigFile) -> u8 {
    let (code, text) = match run(args, file) {
        Ok(doc) => {
            let code = if doc.failed > 0 { EXIT_FAILED } else { EXIT_OK };
            let text = match output {
                Output::Text => doc.text(),
                Output::Json => serde_json::to_string_pretty(&doc)
                    .map(|s| s + "\n")
                    .unwrap_or_default(),
            };
            (code, text)
        }
        Err((code, error)) => {
            let _ = writeln!(std::io::stderr().lock(), "error: {error:#}");
            (code, String::new())
        }
    };
    let mut out = std::io::stdout().lock();
    // a closed pipe (`| head`) is not an error worth reporting
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    code
}

fn usage(error: anyhow::Error) -> (u8, anyhow::Error) {
    (EXIT_USAGE, error)
}

fn run(args: &HealArgs, file: &ConfigFile) -> Result<HealDocV1, (u8, anyhow::Error)> {
    let config = file.resolve(&ProcessEnv).map_err(usage)?;
    let executor = crate::move_hosts::executor_config(file).map_err(usage)?;
    executor.validate().map_err(|e| usage(anyhow!(e)))?;
    let foreman = config.foreman.clone().ok_or_else(|| {
        usage(anyhow!(
            "foreman heal needs [foreman] in the config (url, username, password, infra_location)"
        ))
    })?;
    let time_scale = executor.time_scale;
    let executor = executor.in_real_time();
    let limits = Limits::new(&executor.limits)
        .map_err(|e| usage(anyhow!(e).context("[executor.limits]")))?;
    let tls = match &executor.ca_bundle {
        Some(path) => TlsVerification::CaBundle(path.clone()),
        None => TlsVerification::Platform,
    };
    let transport = Arc::new(
        HttpsTransport::new(&TransportConfig {
            tls,
            ..TransportConfig::default()
        })
        .map_err(|e| usage(anyhow!(e).context("TLS settings")))?,
    );
    let url = foreman_client::ForemanUrl::parse(&foreman.url)
        .map_err(|e| usage(anyhow!(e).context("foreman.url")))?;
    let runtime = crate::process::runtime().map_err(|e| (EXIT_FAILED, e))?;
    runtime.block_on(async move {
        let foreman_transport = limits.foreman_transport(transport);
        let client = foreman_client::ForemanClient::with_transport(
            foreman_transport.clone(),
            foreman_client::ClientConfig::new(
                url,
                foreman_client::Credentials::password(
                    foreman.username.clone(),
                    foreman.password.expose(),
                ),
            ),
        )
        .map_err(|e| usage(anyhow!(e)))?;
        let shutdown = Shutdown::new(executor.grace);
        let signals = {
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                if let Err(e) = shutdown.listen_for_signals().await {
                    tracing::warn!(error = %e, "cannot listen for signals");
                }
            })
        };
        let setup = HealSetup {
            foreman: Arc::new(
                ForemanAdapter::new(client.clone(), foreman_transport)
                    .with_policy(&executor.policy)
                    .with_time_scale(time_scale),
            ),
            client,
            infra_location: foreman.infra_location.clone(),
            spare_owner: executor.spare_owner.clone(),
            mail_domain: executor.mail_domain.clone(),
            host_permissions: executor.host_permissions.clone(),
            policy: executor.steps.foreman_host.clone(),
            cancel: shutdown.aborted().clone(),
        };
        let store = Store::open(StoreOptions {
            path: config.store.path.clone(),
            mode: OpenMode::MustExist,
            clock: Arc::new(SystemClock),
        })
        .await
        .map_err(|e| usage(anyhow!(e)))?;
        let result = heal_with(&store, &setup, args).await;
        store.close().await;
        signals.abort();
        result
    })
}

async fn heal_with(
    store: &Store,
    setup: &HealSetup,
    args: &HealArgs,
) -> Result<HealDocV1, (u8, anyhow::Error)> {
    let at = args.date.unwrap_or_else(|| SystemClock.now());
    // a real heal holds the run lock: it never races a move's owner changes
    let lock = if args.dry_run {
        None
    } else {
        Some(
            store
                .begin_run(RunKind::ForemanHeal, at)
                .await
                .map_err(|e| usage(anyhow!(e)))?,
        )
    };
    let result = async {
        let snapshot = store
            .snapshot()
            .await
            .context("cannot read the store")
            .map_err(|e| (EXIT_FAILED, e))?;
        let facts = heal::read_facts(setup, &snapshot.hosts)
            .await
            .map_err(|e| (EXIT_FAILED, anyhow!("foreman: {e}")))?;
        let plan = heal::plan(
            &HealInput {
                at,
                hosts: &snapshot.hosts,
                clouds: &snapshot.clouds,
                assignments: &snapshot.assignments,
                schedules: &snapshot.schedules,
            },
            &facts,
        );
        let unreadable: Vec<UnreadableV1> = plan
            .unreadable
            .iter()
            .map(|(host, error)| UnreadableV1 {
                host: host.to_string(),
                error: error.clone(),
            })
            .collect();
        let changes: Vec<ChangeV1> = if args.dry_run {
            plan.changes
                .iter()
                .map(|c| change(c, "planned", None))
                .collect()
        } else {
            let outcome = heal::apply(setup, &plan, &facts).await;
            // in the plan's order
            plan.changes
                .iter()
                .filter_map(|c| {
                    if outcome.applied.contains(c) {
                        Some(change(c, "done", None))
                    } else {
                        outcome
                            .failed
                            .iter()
                            .find(|(f, _)| f == c)
                            .map(|(_, e)| change(c, "failed", Some(e.clone())))
                    }
                })
                .collect()
        };
        let failed = changes.iter().filter(|c| c.error.is_some()).count() + unreadable.len();
        Ok(HealDocV1 {
            v: 1,
            dry_run: args.dry_run,
            at: at.to_string(),
            changed: changes.iter().filter(|c| c.error.is_none()).count(),
            failed,
            changes,
            unreadable,
        })
    }
    .await;
    if let Some(lock) = lock {
        let state = match &result {
            Ok(doc) if doc.failed == 0 => RunState::Succeeded,
            _ => RunState::Failed,
        };
        if let Err(e) = store.finish_run(lock, state).await {
            tracing::warn!(error = %e, "cannot record the end of the heal");
        }
    }
    result
}
