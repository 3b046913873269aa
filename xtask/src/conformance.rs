//! Conformance of the lab's BMCs, judged by software nobody here wrote.
//!
//! DMTF's Redfish Service Validator must report zero FAIL on one BMC of each flavour, with the
//! CSDL schemas taken offline from the `nv-redfish-schema` crate (`--skipschema`); OpenStack's
//! sushy client must list systems, read power, set a one-time PXE boot and reset a lab BMC, and
//! the lab must have seen exactly that.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use testkit::{Flavor, Lab, LabConfig};
use tokio::process::Command;

use crate::peers;

/// The sushy check, run with the peers venv's Python: prints one JSON line.
const SUSHY_CHECK: &str = r#"
import json, sys
import sushy
url, user, password, ca = sys.argv[1:5]
root = sushy.Sushy(url + "/redfish/v1", username=user, password=password, verify=ca)
members = list(root.get_system_collection().members_identities)
system = root.get_system(members[0])
before = system.power_state.value
system.set_system_boot_options(sushy.BootSource.PXE, enabled=sushy.BootSourceOverrideEnabled.ONCE)
system.refresh()
target, enabled = system.boot.target.value, system.boot.enabled.value
reset = sushy.ResetType.FORCE_RESTART if before == "On" else sushy.ResetType.ON
system.reset_system(reset)
print(json.dumps({"systems": members, "power": before, "boot_target": target,
                  "boot_enabled": enabled, "reset": reset.value}))
"#;

pub fn run(root: &Path) -> anyhow::Result<()> {
    let venv = peers::ensure(root)?;
    let schemas = schemas(root)?;
    let out = root.join("target").join("conformance");
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    crate::util::runtime()?.block_on(check(&venv, &schemas, &out))
}

/// Copies the DMTF CSDL and the Dell, Supermicro, HPE and Lenovo OEM schemas into one directory.
fn schemas(root: &Path) -> anyhow::Result<PathBuf> {
    let dir = root.join("target").join("redfish-schemas");
    std::fs::create_dir_all(&dir)?;
    let oem = Path::new(nv_redfish_schema::OEM_DIR);
    let sources = [
        PathBuf::from(nv_redfish_schema::REDFISH_CSDL_DIR),
        oem.join("dell"),
        oem.join("supermicro"),
        oem.join("hpe"),
        oem.join("lenovo"),
    ];
    for source in &sources {
        for entry in std::fs::read_dir(source)
            .with_context(|| format!("cannot read {}", source.display()))?
        {
            let path = entry?.path();
            if let Some(name) = path
                .file_name()
                .filter(|_| path.extension().is_some_and(|e| e == "xml"))
            {
                std::fs::copy(&path, dir.join(name))?;
            }
        }
    }
    Ok(dir)
}

async fn check(venv: &Path, schemas: &Path, out: &Path) -> anyhow::Result<()> {
    let flavors = vec![
        Flavor::Dell,
        Flavor::Idrac10,
        Flavor::Supermicro,
        Flavor::Generic,
        Flavor::Hpe,
        Flavor::Lenovo,
    ];
    let lab = Lab::start(LabConfig {
        hosts: flavors.len(),
        flavors,
        ..LabConfig::default()
    })
    .await?;
    let inventory = lab.inventory();
    let ca = out.join("lab-ca.pem");
    std::fs::write(&ca, &inventory.ca_pem)?;
    let mut problems = Vec::new();

    for host in &inventory.hosts {
        let flavor = host.flavor.name();
        let logdir = out.join(format!("validator-{flavor}"));
        let _ = std::fs::remove_dir_all(&logdir);
        let output = Command::new(peers::bin(venv, "rf_service_validator"))
            .arg("--rhost")
            .arg(&host.bmc_url)
            .args([
                "--user",
                &host.bmc_username,
                "--password",
                &host.bmc_password,
            ])
            .args(["--authtype", "Session", "--skipschema", "--timeout", "30"])
            .arg("--schema_directory")
            .arg(schemas)
            .arg("--logdir")
            .arg(&logdir)
            .current_dir(out)
            .output()
            .await
            .context("cannot run rf_service_validator")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        match summary(&stdout) {
            Some(counts) => {
                println!(
                    "validator {flavor:<10} PASS {:>4}  WARN {:>3}  FAIL {:>3}  NOT TESTED {:>4}",
                    counts[0], counts[1], counts[2], counts[3]
                );
                if counts[2] > 0 {
                    problems.push(format!("validator: {} FAIL on the {flavor} BMC", counts[2]));
                    print_failures(&logdir);
                }
            }
            None => {
                println!("{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
                problems.push(format!(
                    "validator: no summary for the {flavor} BMC (exit {})",
                    output.status
                ));
            }
        }
    }

    let script = out.join("sushy_check.py");
    std::fs::write(&script, SUSHY_CHECK)?;
    for host in &inventory.hosts {
        let flavor = host.flavor.name();
        let before = lab.metrics().host(&host.name);
        let output = Command::new(peers::bin(venv, "python"))
            .arg(&script)
            .args([&host.bmc_url, &host.bmc_username, &host.bmc_password])
            .arg(&ca)
            .output()
            .await
            .context("cannot run the sushy check")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let report: serde_json::Value = match serde_json::from_str(stdout.trim()) {
            Ok(report) if output.status.success() => report,
            _ => {
                problems.push(format!(
                    "sushy on the {flavor} BMC failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                ));
                continue;
            }
        };
        let after = lab.metrics().host(&host.name);
        let reset = report["reset"].as_str().unwrap_or_default();
        let resets = |c: &testkit::HostCounters| c.resets.get(reset).copied().unwrap_or(0);
        let ok = report["boot_target"] == "Pxe"
            && report["boot_enabled"] == "Once"
            && resets(&after) == resets(&before) + 1
            && report["systems"].as_array().is_some_and(|s| s.len() == 1);
        println!(
            "sushy     {flavor:<10} systems {} power {} boot {}/{} reset {reset}: {}",
            report["systems"],
            report["power"],
            report["boot_target"],
            report["boot_enabled"],
            if ok { "ok" } else { "WRONG" }
        );
        if !ok {
            problems.push(format!(
                "sushy on the {flavor} BMC: the lab did not see what sushy asked for: {report}"
            ));
        }
    }
    lab.shutdown();
    if !problems.is_empty() {
        bail!("conformance failed:\n  {}", problems.join("\n  "));
    }
    println!("conformance: 0 FAIL from the validator on every flavour; sushy drove every flavour");
    Ok(())
}

/// The validator's closing table: PASS, WARN, FAIL, NOT TESTED.
fn summary(stdout: &str) -> Option<[u64; 4]> {
    stdout.lines().rev().find_map(|line| {
        let cells: Vec<u64> = line
            .split('|')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map_while(|c| c.parse().ok())
            .collect();
        let all_numbers = line.trim().starts_with('|') && line.matches('|').count() == 5;
        (all_numbers && cells.len() == 4).then(|| [cells[0], cells[1], cells[2], cells[3]])
    })
}

/// Prints the FAIL lines of the validator's debug log.
fn print_failures(logdir: &Path) {
    let Ok(runs) = std::fs::read_dir(logdir) else {
        return;
    };
    for run in runs.flatten() {
        let Ok(files) = std::fs::read_dir(run.path()) else {
            continue;
        };
        for file in files.flatten() {
            let path = file.path();
            if path.extension().is_some_and(|e| e == "log") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                for line in text.lines().filter(|l| l.contains("FAIL -")).take(40) {
                    println!("    {}", line.split(" - FAIL - ").nth(1).unwrap_or(line));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_validator_summary() {
        let text = "x\n+----+\n|     PASS     |     WARN     |     FAIL     |  NOT TESTED  |\n\
                    +--+\n|     555      |      16      |      34      |     450      |\n+--+\n";
        assert_eq!(super::summary(text), Some([555, 16, 34, 450]));
        assert_eq!(super::summary("no table"), None);
    }
}
