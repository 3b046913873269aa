//! Dell's Server Configuration Profile on the iDRACs: the manager's OEM actions and their
//! allowable targets, an export's job and task handing out the lab's state as a profile, and an
//! import staging what differs as config jobs applied in the restart it asks for; absent on the
//! other flavours.

use std::time::Duration;

use serde_json::{Value, json};
use testkit::{FaultProfile, Flavor};
use tokio::time::sleep;

use crate::bmc::{ALL, Bmc, lab, message_id};

fn manager(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Dell | Flavor::Idrac10 => "/redfish/v1/Managers/iDRAC.Embedded.1",
        Flavor::Generic => "/redfish/v1/Managers/bmc",
        _ => "/redfish/v1/Managers/1",
    }
}

fn action(flavor: Flavor, name: &str) -> String {
    format!(
        "{}/Actions/Oem/EID_674_Manager.{name}SystemConfiguration",
        manager(flavor)
    )
}

fn export_body(target: &str, include: &str) -> Value {
    json!({
        "ExportFormat": "JSON", "ExportUse": "Default", "IncludeInExport": include,
        "ShareParameters": {"Target": target},
    })
}

/// The component `fqdd` of a profile: its attributes by name.
fn component(profile: &Value, fqdd: &str) -> Option<Vec<(String, String)>> {
    let components = profile["SystemConfiguration"]["Components"].as_array()?;
    let found = components.iter().find(|c| c["FQDD"] == fqdd)?;
    Some(
        found["Attributes"]
            .as_array()?
            .iter()
            .map(|a| {
                (
                    a["Name"].as_str().unwrap().to_owned(),
                    a["Value"].as_str().unwrap().to_owned(),
                )
            })
            .collect(),
    )
}

#[tokio::test]
async fn the_scp_actions_are_advertised_on_idracs_only() {
    let lab = lab(&ALL, 0.0, FaultProfile::none()).await;
    for (index, flavor) in ALL.iter().enumerate() {
        let bmc = Bmc::of(&lab, index);
        let doc = bmc.get(manager(*flavor)).await.json();
        let oem = &doc["Actions"]["Oem"];
        if flavor.is_dell() {
            for op in ["Export", "Import"] {
                let entry = &oem[format!("#OemManager.v1_4_0.{op}SystemConfiguration")];
                assert_eq!(entry["target"], action(*flavor, op), "{flavor:?}");
                let targets = entry["ShareParameters"]["Target@Redfish.AllowableValues"]
                    .as_array()
                    .unwrap();
                assert!(targets.contains(&json!("ALL")) && targets.contains(&json!("BIOS")));
            }
        } else {
            assert!(oem.is_null(), "{flavor:?}");
            let refused = bmc
                .post(&action(*flavor, "Export"), export_body("ALL", "Default"))
                .await;
            assert_eq!(refused.status, 404, "{flavor:?}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn an_export_is_a_job_whose_task_hands_out_the_profile() {
    let lab = lab(&[Flavor::Dell], 1.0, FaultProfile::none()).await;
    let bmc = Bmc::of(&lab, 0);
    let started = bmc
        .post(
            &action(Flavor::Dell, "Export"),
            export_body("BIOS,NIC", "Default"),
        )
        .await;
    assert_eq!(started.status, 202);
    let task = started.header("location").unwrap().to_owned();
    let id = task.rsplit('/').next().unwrap().to_owned();
    let running = bmc.get(&task).await;
    assert_eq!(running.status, 202);
    assert_eq!(running.json()["Oem"]["Dell"]["JobState"], "Running");
    let jobs = bmc.get("/redfish/v1/Managers/iDRAC.Embedded.1/Jobs").await;
    assert!(jobs.text().contains(&id));
    sleep(Duration::from_secs(30)).await;
    let job = bmc
        .get(&format!("/redfish/v1/Managers/iDRAC.Embedded.1/Jobs/{id}"))
        .await
        .json();
    assert_eq!(
        (job["JobState"].clone(), job["JobType"].clone()),
        (json!("Completed"), json!("ExportConfiguration"))
    );
    let done = bmc.get(&task).await;
    assert_eq!(done.status, 200);
    let profile = done.json();
    let bios = component(&profile, "BIOS.Setup.1-1").unwrap();
    assert!(bios.iter().any(|(n, _)| n == "BootMode"));
    // Read-only attributes only when asked for; the iDRAC's left out by the targets.
    assert!(!bios.iter().any(|(n, _)| n == "SystemServiceTag"));
    assert!(component(&profile, "NIC.Integrated.1-1-1").is_some());
    assert!(component(&profile, "iDRAC.Embedded.1").is_none());
    let everything = bmc
        .post(
            &action(Flavor::Dell, "Export"),
            export_body("ALL", "IncludeReadOnly"),
        )
        .await;
    let task = everything.header("location").unwrap().to_owned();
    sleep(Duration::from_secs(30)).await;
    let profile = bmc.get(&task).await.json();
    let idrac = component(&profile, "iDRAC.Embedded.1").unwrap();
    assert!(idrac.contains(&("Users.2#UserName".to_owned(), "root".to_owned())));
    assert!(!profile.to_string().contains("calvin"), "no password");
    let bios = component(&profile, "BIOS.Setup.1-1").unwrap();
    assert!(bios.iter().any(|(n, _)| n == "SystemServiceTag"));
    // Refusals: an unknown target, no target, XML.
    for (body, key) in [
        (
            export_body("BIOS,Disks", "Default"),
            "ActionParameterValueNotInList",
        ),
        (
            json!({"ExportFormat": "JSON", "ShareParameters": {}}),
            "ActionParameterMissing",
        ),
        (
            json!({"ExportFormat": "XML", "ShareParameters": {"Target": "ALL"}}),
            "GeneralError",
        ),
    ] {
        let refused = bmc.post(&action(Flavor::Dell, "Export"), body).await;
        assert_eq!(refused.status, 400);
        assert!(
            message_id(&refused).ends_with(key),
            "{}",
            message_id(&refused)
        );
    }
}

#[tokio::test(start_paused = true)]
async fn an_import_applies_what_differs_in_the_restart_it_asks_for() {
    let lab = lab(&[Flavor::Idrac10], 1.0, FaultProfile::none()).await;
    let bmc = Bmc::of(&lab, 0);
    let import = action(Flavor::Idrac10, "Import");
    let buffer = json!({"SystemConfiguration": {"Components": [
        {"FQDD": "BIOS.Setup.1-1", "Attributes": [
            {"Name": "SriovGlobalEnable", "Value": "Enabled"},
            {"Name": "SystemServiceTag", "Value": "XXXXXXX", "Set On Import": "False"},
        ]},
        {"FQDD": "NIC.Integrated.1-2-1", "Attributes": [
            {"Name": "WakeOnLan", "Value": "Enabled"},
            {"Name": "VLanId", "Value": "100"},
        ]},
    ]}});
    let body = |buffer: &str| {
        json!({"ImportBuffer": buffer, "ShutdownType": "Graceful", "HostPowerState": "On",
               "ShareParameters": {"Target": "ALL"}})
    };
    let malformed = bmc.post(&import, body("<SystemConfiguration")).await;
    assert_eq!(malformed.status, 400);
    assert!(message_id(&malformed).ends_with("ActionParameterValueFormatError"));
    let started = bmc.post(&import, body(&buffer.to_string())).await;
    assert_eq!(started.status, 202);
    let task = started.header("location").unwrap().to_owned();
    let running = bmc.get(&task).await;
    assert_eq!(running.status, 202);
    sleep(Duration::from_secs(900)).await;
    let done = bmc.get(&task).await;
    assert_eq!(done.status, 200);
    let dell = &done.json()["Oem"]["Dell"];
    assert_eq!(dell["JobState"], "Completed", "{dell}");
    assert_eq!(dell["PercentComplete"], 100);
    let (sriov, wol, vlan) = lab.with_state(|s| {
        let m = &s.machines[0];
        let nic = &m.nic_attributes["NIC.Integrated.1-2-1"];
        (
            m.bios["SriovGlobalEnable"].clone(),
            nic["WakeOnLan"].clone(),
            nic["VLanId"].clone(),
        )
    });
    assert_eq!(
        (sriov, wol, vlan),
        (json!("Enabled"), json!("Enabled"), json!(100))
    );
    // The same profile again changes nothing and is done at once.
    let again = bmc.post(&import, body(&buffer.to_string())).await;
    let task = again.header("location").unwrap().to_owned();
    let dell = bmc.get(&task).await.json()["Oem"]["Dell"].clone();
    assert_eq!(dell["MessageId"], "SYS069", "{dell}");
    // A value the registry refuses is reported, the rest applied.
    let wrong = json!({"SystemConfiguration": {"Components": [
        {"FQDD": "BIOS.Setup.1-1", "Attributes": [{"Name": "Bogus", "Value": "1"}]},
    ]}});
    let started = bmc.post(&import, body(&wrong.to_string())).await;
    let task = started.header("location").unwrap().to_owned();
    let dell = bmc.get(&task).await.json()["Oem"]["Dell"].clone();
    assert_eq!(dell["JobState"], "CompletedWithErrors", "{dell}");
    assert!(
        dell["Message"]
            .as_str()
            .unwrap()
            .contains("BIOS.Setup.1-1 Bogus")
    );
}
