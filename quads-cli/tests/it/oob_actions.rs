//! The Badfish 1.8.2 actions added to `quads oob`, through the built binary against a lab with
//! one BMC of each flavour: `--ls-gpu`, `--get-sriov`, `--firmware-inventory --delta`, and
//! `-l FILE` (results written there, not on standard output), and `--screenshot` (Dell OEM: the
//! image written, Badfish's file name; refused by name on the other vendors), and the network
//! ISO of `--boot-remote-image`, `--check-remote-image`, `--detach-remote-image` (Dell OEM), the
//! Server Configuration Profile of `--get-scp-targets`, `--export-scp`, `--import-scp` (Dell
//! OEM: a profile exported, edited and imported back), and `--check-boot` / `-t TYPE` on HPE
//! iLO and Lenovo XCC (their own boot order resources).

use testkit::{Flavor, Lab, LabConfig};

const ALL: [Flavor; 4] = [
    Flavor::Dell,
    Flavor::Idrac10,
    Flavor::Supermicro,
    Flavor::Generic,
];

/// A lab at time scale 0 with one host of each flavour given, in that order.
pub(crate) async fn lab_of(flavors: &[Flavor]) -> Lab {
    Lab::start(LabConfig {
        hosts: flavors.len(),
        flavors: flavors.to_vec(),
        time_scale: 0.0,
        ..LabConfig::default()
    })
    .await
    .unwrap()
}

/// `args` on the first host are a usage error (exit 2, `says` in standard error) found before
/// any BMC is contacted.
async fn refused_before_any_request(lab: &Lab, dir: &std::path::Path, args: &[&str], says: &str) {
    let requests = || {
        lab.metrics()
            .host(&lab.inventory().hosts[0].name)
            .bmc_requests
    };
    let before = requests();
    let run = oob(lab, dir, 0, args).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains(says), "{}", run.stderr);
    assert_eq!(requests(), before);
}

pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

pub(crate) async fn oob(lab: &Lab, dir: &std::path::Path, i: usize, args: &[&str]) -> Run {
    let host = &lab.inventory().hosts[i];
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, lab.ca_pem()).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_quads"))
        .arg("oob")
        .args(["-H", &host.bmc_url, "-u", &host.bmc_username])
        .args(args)
        .arg("--ca-bundle")
        .arg(&ca)
        .env_clear()
        .env("HOME", dir)
        .env("BADFISH_PASSWORD", &host.bmc_password)
        .current_dir(dir)
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpus_sriov_firmware_delta_and_log_file_on_every_flavour() {
    let lab = lab_of(&ALL).await;
    let dir = tempfile::tempdir().unwrap();
    for (i, flavor) in ALL.into_iter().enumerate() {
        let gpu = oob(&lab, dir.path(), i, &["--ls-gpu"]).await;
        assert_eq!(gpu.code, Some(0), "{flavor:?}: {}", gpu.stderr);
        if flavor == Flavor::Supermicro {
            assert!(gpu.stdout.contains(": no GPUs"), "{}", gpu.stdout);
        } else {
            assert!(gpu.stdout.contains("1 x NVIDIA A100"), "{}", gpu.stdout);
        }
        let sriov = oob(&lab, dir.path(), i, &["--get-sriov"]).await;
        assert_eq!(sriov.code, Some(0), "{flavor:?}: {}", sriov.stderr);
        assert!(
            sriov.stdout.contains(": SR-IOV Disabled"),
            "{}",
            sriov.stdout
        );

        // Against itself nothing differs; the results go to the log file only.
        let log = dir.path().join(format!("delta-{i}.txt"));
        let me = lab.inventory().hosts[i].bmc_url.clone();
        let delta = oob(
            &lab,
            dir.path(),
            i,
            &[
                "--firmware-inventory",
                "--delta",
                &me,
                "-l",
                log.to_str().unwrap(),
            ],
        )
        .await;
        assert_eq!(delta.code, Some(0), "{flavor:?}: {}", delta.stderr);
        assert!(delta.stdout.is_empty(), "{}", delta.stdout);
        let written = std::fs::read_to_string(&log).unwrap();
        assert!(
            written.contains("no firmware version differs"),
            "{flavor:?}: {written}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screenshot_is_saved_on_dell_flavours_and_refused_elsewhere() {
    let every = Flavor::EVERY;
    let lab = lab_of(&every).await;
    for (i, flavor) in every.into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let shot = oob(&lab, dir.path(), i, &["--screenshot"]).await;
        let saved: Vec<std::path::PathBuf> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "png"))
            .collect();
        if matches!(flavor, Flavor::Dell | Flavor::Idrac10) {
            assert_eq!(shot.code, Some(0), "{flavor:?}: {}", shot.stderr);
            assert_eq!(saved.len(), 1, "{flavor:?}");
            let name = saved[0].file_name().unwrap().to_string_lossy().into_owned();
            // The BMC's host name (`127.0.1.1`) up to the first dot, as Badfish names it.
            assert!(name.starts_with("127_screenshot_"), "{name}");
            assert!(
                shot.stdout.contains(&format!("Image saved: {name}")),
                "{}",
                shot.stdout
            );
            let image = std::fs::read(&saved[0]).unwrap();
            assert!(image.starts_with(b"\x89PNG\r\n\x1a\n"), "{flavor:?}");
        } else {
            assert_eq!(shot.code, Some(1), "{flavor:?}: {}", shot.stdout);
            assert!(saved.is_empty(), "{flavor:?}");
            let host = &lab.inventory().hosts[i];
            assert!(
                shot.stdout.contains("not supported") && shot.stdout.contains(&host.bmc_address),
                "{flavor:?}: {}",
                shot.stdout
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_iso_is_booted_checked_and_detached_on_dell_flavours_and_refused_elsewhere() {
    let every = Flavor::EVERY;
    let lab = lab_of(&every).await;
    let dir = tempfile::tempdir().unwrap();
    let iso = "nfs-1.example.com:/exports/isos/rhel-9.iso";
    for (i, flavor) in every.into_iter().enumerate() {
        let host = &lab.inventory().hosts[i];
        let attached = || lab.with_state(|s| s.bmcs[i].network_iso.is_some());
        let run = |args: &'static [&'static str]| oob(&lab, dir.path(), i, args);
        if !flavor.is_dell() {
            for args in [
                &["--check-remote-image"][..],
                &["--boot-remote-image", iso],
                &["--detach-remote-image"],
            ] {
                let r = oob(&lab, dir.path(), i, args).await;
                assert_eq!(r.code, Some(1), "{flavor:?} {args:?}: {}", r.stderr);
                assert!(
                    r.stdout.contains("FAILED")
                        && r.stdout.contains("not supported")
                        && r.stdout.contains(&host.bmc_address),
                    "{flavor:?}: {}",
                    r.stdout
                );
            }
            assert!(!attached(), "{flavor:?}");
            continue;
        }
        let check = run(&["--check-remote-image"]).await;
        assert_eq!(check.code, Some(0), "{flavor:?}: {}", check.stderr);
        assert!(
            check.stdout.contains(": remote ISO NotAttached"),
            "{}",
            check.stdout
        );
        let boot = oob(&lab, dir.path(), i, &["--boot-remote-image", iso]).await;
        assert_eq!(boot.code, Some(0), "{flavor:?}: {}", boot.stdout);
        assert!(
            boot.stdout.contains(&format!(
                "booting remote ISO {iso} (task /redfish/v1/TaskService/Tasks/OSDeployment Running)"
            )),
            "{}",
            boot.stdout
        );
        assert!(attached(), "{flavor:?}");
        let json = run(&["--check-remote-image", "-o", "json"]).await;
        let report: serde_json::Value = serde_json::from_str(json.stdout.trim()).unwrap();
        assert_eq!(report["ok"], true, "{report}");
        assert_eq!(report["result"], serde_json::json!(["remote ISO Attached"]));
        let detach = run(&["--detach-remote-image"]).await;
        assert_eq!(detach.code, Some(0), "{flavor:?}: {}", detach.stdout);
        assert!(
            detach.stdout.contains(": remote ISO detached"),
            "{}",
            detach.stdout
        );
        assert!(!attached(), "{flavor:?}");
        // Nothing attached: the iDRAC's refusal, named, exit 1.
        let again = run(&["--detach-remote-image"]).await;
        assert_eq!(again.code, Some(1), "{}", again.stdout);
        assert!(
            again.stdout.contains("No ISO image is attached")
                && again.stdout.contains(&host.bmc_address),
            "{}",
            again.stdout
        );
    }
    // A path Badfish could not split is refused before any BMC is contacted: usage, exit 2.
    refused_before_any_request(
        &lab,
        dir.path(),
        &["--boot-remote-image", "rhel-9.iso"],
        "NFS path \"rhel-9.iso\"",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_configuration_profile_is_exported_and_imported_on_dell_flavours_only() {
    let every = Flavor::EVERY;
    let lab = lab_of(&every).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("scp");
    std::fs::create_dir(&out).unwrap();
    let out_arg = out.to_string_lossy().into_owned();
    for (i, flavor) in every.into_iter().enumerate() {
        let host = &lab.inventory().hosts[i];
        let sriov = || lab.with_state(|s| s.machines[i].bios.get("SriovGlobalEnable").cloned());
        if !flavor.is_dell() {
            for args in [
                vec!["--get-scp-targets", "Export"],
                vec!["--export-scp", &out_arg],
                vec!["--import-scp", "/dev/null"],
            ] {
                let r = oob(&lab, dir.path(), i, &args).await;
                assert_eq!(r.code, Some(1), "{flavor:?} {args:?}: {}", r.stderr);
                assert!(
                    r.stdout.contains("not supported") && r.stdout.contains(&host.bmc_address),
                    "{flavor:?}: {}",
                    r.stdout
                );
            }
            assert!(
                lab.with_state(|s| s.bmcs[i].scp_jobs.is_empty()),
                "{flavor:?}"
            );
            continue;
        }
        let targets = oob(&lab, dir.path(), i, &["--get-scp-targets", "Import"]).await;
        assert_eq!(targets.code, Some(0), "{flavor:?}: {}", targets.stderr);
        assert!(targets.stdout.contains(": BIOS"), "{}", targets.stdout);
        let export = oob(
            &lab,
            dir.path(),
            i,
            &["--export-scp", &out_arg, "--scp-targets", "BIOS,NIC"],
        )
        .await;
        assert_eq!(export.code, Some(0), "{flavor:?}: {}", export.stdout);
        assert!(
            export.stdout.contains("SCP exported by job JID_"),
            "{}",
            export.stdout
        );
        let file = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.to_string_lossy()
                    .ends_with("_targets_BIOS-NIC_export.json")
            })
            .expect("the export's file");
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::remove_file(&file).unwrap();
        assert!(text.starts_with("{\n    \"SystemConfiguration\""), "{text}");
        // The profile back with SR-IOV flipped: applied by the iDRAC's own restart.
        let mut profile: serde_json::Value = serde_json::from_str(&text).unwrap();
        let components = profile["SystemConfiguration"]["Components"]
            .as_array_mut()
            .unwrap();
        let bios = components
            .iter_mut()
            .find(|c| c["FQDD"] == "BIOS.Setup.1-1")
            .unwrap();
        for a in bios["Attributes"].as_array_mut().unwrap() {
            if a["Name"] == "SriovGlobalEnable" {
                a["Value"] = serde_json::json!("Enabled");
            }
        }
        let edited = dir.path().join(format!("profile-{i}.json"));
        std::fs::write(&edited, profile.to_string()).unwrap();
        let edited = edited.to_string_lossy().into_owned();
        let import = oob(&lab, dir.path(), i, &["--import-scp", &edited]).await;
        assert_eq!(import.code, Some(0), "{flavor:?}: {}", import.stdout);
        assert!(
            import
                .stdout
                .contains("Completed: Successfully imported and applied"),
            "{}",
            import.stdout
        );
        assert_eq!(sriov(), Some(serde_json::json!("Enabled")), "{flavor:?}");
        // A file that is not a profile: the iDRAC's refusal, named, exit 1.
        let bad = oob(&lab, dir.path(), i, &["--import-scp", "/dev/null"]).await;
        assert_eq!(bad.code, Some(1), "{}", bad.stdout);
        assert!(
            bad.stdout.contains("ImportBuffer") && bad.stdout.contains(&host.bmc_address),
            "{}",
            bad.stdout
        );
    }
    // A file that cannot be read is refused before any BMC is contacted: usage, exit 2.
    refused_before_any_request(
        &lab,
        dir.path(),
        &["--import-scp", "no-such.json"],
        "no-such.json",
    )
    .await;
}

/// `--check-boot -i FILE` and `-t TYPE -i FILE` on iLO and XCC: the order read from and staged
/// in the vendor's own resource (iLO `Bios/Boot/Settings`, XCC `BootOrderNext`), applied by the
/// power cycle's POST, and the check after it sees the new type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_and_change_boot_on_ilo_and_xcc_use_their_own_boot_order() {
    use testkit::lab::{HostType, interfaces_order};
    let flavors = [Flavor::Hpe, Flavor::Lenovo];
    let lab = lab_of(&flavors).await;
    let dir = tempfile::tempdir().unwrap();
    for (i, flavor) in flavors.into_iter().enumerate() {
        let model = lab.inventory().hosts[i].model.clone();
        let director = interfaces_order(&model, HostType::Director);
        let foreman = interfaces_order(&model, HostType::Foreman);
        // `-H` is an address: Badfish's keys for it are the bare host types.
        let file = dir.path().join(format!("interfaces-{i}.yml"));
        std::fs::write(
            &file,
            format!(
                "director: {}\nforeman: {}\n",
                director.join(","),
                foreman.join(",")
            ),
        )
        .unwrap();
        let file = file.to_str().unwrap();
        lab.with_state(|s| s.machines[i].boot_order.clone_from(&director));

        let check = oob(&lab, dir.path(), i, &["--check-boot", "-i", file]).await;
        assert_eq!(check.code, Some(0), "{flavor:?}: {}", check.stderr);
        assert!(
            check.stdout.contains("boot order is director"),
            "{flavor:?}: {}",
            check.stdout
        );
        let change = oob(&lab, dir.path(), i, &["-t", "foreman", "-i", file]).await;
        assert_eq!(change.code, Some(0), "{flavor:?}: {}", change.stderr);
        let own = match flavor {
            Flavor::Hpe => "Bios/Boot/Settings",
            _ => "Oem/Lenovo/BootSettings/BootOrder.BootOrder",
        };
        let staged = lab
            .metrics()
            .endpoint(&format!("bmc PATCH /redfish/v1/Systems/:id/{own}"));
        assert_eq!(staged, 1, "{flavor:?}: {}", change.stdout);
        let check = oob(&lab, dir.path(), i, &["--check-boot", "-i", file]).await;
        assert_eq!(check.code, Some(0), "{flavor:?}: {}", check.stderr);
        assert!(
            check.stdout.contains("boot order is foreman"),
            "{flavor:?}: {}",
            check.stdout
        );
        let order = lab.with_state(|s| s.machines[i].boot_order.clone());
        assert!(order.starts_with(&foreman), "{flavor:?}: {order:?}");
    }
}
