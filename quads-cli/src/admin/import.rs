//! `quads import --from-quads URL`: a QUADS 2.x server's clouds, hosts, assignments and
//! current and future schedules copied into the store (provision-core's `quads_import`), all
//! or nothing, only what the store lacks, with the report of what could not be mapped.

use anyhow::{Context as _, anyhow};
use clap::Args;
use provision_core::quads_import::{ImportConfig, ImportReport, import_from_server};
use provision_core::store::ImportSummary;
use provision_core::{Config, Store};
use quads_api_client::QuadsClient;
use serde::Serialize;

use super::output::{self, Format};
use super::{Failure, Report};
use crate::config::ConfigFile;

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The QUADS server to copy from [default: [quads] url or QUADS_API_URL]; reads only, no
    /// credentials needed
    #[arg(long, value_name = "URL")]
    from_quads: Option<String>,
}

/// The client and mapping of an import, made before the runtime starts (it reads the
/// resolve file and the executor's CA bundle setting).
pub struct Prepared {
    client: QuadsClient,
    config: ImportConfig,
}

/// # Errors
/// No server named, a bad URL, resolve file or TLS setting.
pub fn prepare(args: &ImportArgs, file: &ConfigFile, config: &Config) -> anyhow::Result<Prepared> {
    if crate::move_hosts::worker_url(args.from_quads.as_deref(), config).is_none() {
        return Err(anyhow!(
            "name the QUADS server to import from: --from-quads URL, [quads] url or QUADS_API_URL"
        ));
    }
    let worker = crate::move_hosts::worker(args.from_quads.as_deref(), config, None, None, None)?
        .context("no QUADS server is configured")?;
    let executor = crate::move_hosts::executor_config(file)?;
    let client = crate::move_hosts::server_client(&worker, executor.ca_bundle.as_deref())?;
    let w = worker.request.config;
    Ok(Prepared {
        client,
        config: ImportConfig {
            bmc_template: w.bmc_template,
            resolve: w.resolve,
            defaults: w.defaults,
        },
    })
}

pub async fn run(store: &Store, prepared: Prepared, format: Format) -> Result<Report, Failure> {
    let url = prepared.client.url().to_string();
    let report = import_from_server(store, &prepared.client, prepared.config)
        .await
        .map_err(|e| Failure::import(e, &format!("from {url}")))?;
    Ok(Report::ok(print(format, &report, &url)?))
}

#[derive(Serialize)]
struct CountsV1 {
    clouds: usize,
    hosts: usize,
    interfaces: usize,
    assignments: usize,
    schedules: usize,
}

impl From<ImportSummary> for CountsV1 {
    fn from(s: ImportSummary) -> Self {
        Self {
            clouds: s.clouds,
            hosts: s.hosts,
            interfaces: s.interfaces,
            assignments: s.assignments,
            schedules: s.schedules,
        }
    }
}

#[derive(Serialize)]
struct UnmappedV1<'a> {
    record: &'a str,
    reason: &'a str,
}

#[derive(Serialize)]
struct QuadsImportV1<'a> {
    v: u32,
    server: &'a str,
    added: CountsV1,
    present: CountsV1,
    unmapped: Vec<UnmappedV1<'a>>,
}

fn counts(s: ImportSummary) -> String {
    format!(
        "{} clouds, {} hosts, {} interfaces, {} assignments, {} schedules",
        s.clouds, s.hosts, s.interfaces, s.assignments, s.schedules
    )
}

fn print(format: Format, r: &ImportReport, server: &str) -> anyhow::Result<String> {
    match format {
        Format::Json => output::json(&QuadsImportV1 {
            v: 1,
            server,
            added: r.added.into(),
            present: r.present.into(),
            unmapped: r
                .unmapped
                .iter()
                .map(|u| UnmappedV1 {
                    record: &u.record,
                    reason: &u.reason,
                })
                .collect(),
        }),
        Format::Table => {
            let mut text = format!(
                "imported from {server}: {}\nalready in the store: {}\n",
                counts(r.added),
                counts(r.present)
            );
            if r.unmapped.is_empty() {
                text.push_str("nothing left out\n");
            } else {
                text.push_str(&format!("left out ({}):\n", r.unmapped.len()));
                text.push_str(&output::table(
                    &["record", "reason"],
                    r.unmapped
                        .iter()
                        .map(|u| vec![u.record.clone(), u.reason.clone()]),
                ));
            }
            Ok(text)
        }
    }
}
