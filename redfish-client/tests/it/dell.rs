//! Dell iDRAC contract tests: BootSources + config jobs, OneTimeBootSeqDev, the job queue,
//! BIOS with registry validation, the iDRAC10 override path, firmware, serial, power draw,
//! iDRAC reset, virtual media.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use mockito::Matcher;
use redfish_client::{
    CancellationToken, ClearJobs, Error, InterfacesFile, JobState, JobTarget, QueueClear,
    ResetWait, SettingsChange,
};
use serde_json::{Value, json};

use crate::common::{Fake, Flavor, TOKEN, collection};
use crate::mock_bmc::MockBmc;

const SYS: &str = "/redfish/v1/Systems/System.Embedded.1";
const MGR: &str = "/redfish/v1/Managers/iDRAC.Embedded.1";

fn seq_entry(name: &str, index: usize) -> Value {
    json!({"Enabled": true, "Id": format!("BIOS.Setup.1-1#UefiBootSeq#{name}#h"), "Index": index, "Name": name})
}

/// A Dell with a UEFI BIOS, BootSources in the given order and an empty job queue.
async fn dell_with_boot_order(order: &[&str]) -> Fake {
    let mut fake = MockBmc::new(Flavor::Idrac9)
        .system(json!({"Id": "System.Embedded.1", "PowerState": "On", "Bios": {"@odata.id": format!("{SYS}/Bios")}}))
        .build()
        .await;
    fake.get(
        &format!("{SYS}/Bios"),
        &json!({"Attributes": {"BootMode": "Uefi"}, "@Redfish.Settings": {"SettingsObject": {"@odata.id": format!("{SYS}/Bios/Settings")}}}),
    )
    .await;
    let seq: Vec<Value> = order
        .iter()
        .enumerate()
        .map(|(i, n)| seq_entry(n, i))
        .collect();
    fake.get(
        &format!("{SYS}/BootSources"),
        &json!({"Attributes": {"UefiBootSeq": seq}}),
    )
    .await;
    fake.get(&format!("{MGR}/Jobs"), &collection(&[])).await;
    fake
}

fn capture() -> Arc<Mutex<Vec<Value>>> {
    Arc::new(Mutex::new(Vec::new()))
}

#[tokio::test]
async fn boot_order_by_host_type_patches_boot_sources_and_creates_a_config_job() {
    let mut fake = dell_with_boot_order(&[
        "HardDisk.List.1-1",
        "NIC.Integrated.1-1-1",
        "NIC.Slot.1-2-1",
    ])
    .await;
    let bodies = capture();
    let b = bodies.clone();
    let patch = fake
        .mock("PATCH", format!("{SYS}/BootSources/Settings").as_str())
        .match_header("x-auth-token", TOKEN)
        .with_status(200)
        .with_body_from_request(move |req| {
            b.lock()
                .unwrap()
                .push(serde_json::from_slice(req.body().unwrap()).unwrap());
            b"{}".to_vec()
        })
        .expect(1)
        .create_async()
        .await;
    let job = fake
        .mock("POST", format!("{MGR}/Jobs").as_str())
        .match_body(Matcher::Json(
            json!({"TargetSettingsURI": format!("{SYS}/Bios/Settings")}),
        ))
        .with_status(200)
        .with_header("Location", &format!("{MGR}/Jobs/JID_100"))
        .expect(1)
        .create_async()
        .await;
    fake.get(&format!("{MGR}/Jobs/JID_100"), &json!({"Id": "JID_100", "JobState": "Scheduled", "Message": "Task successfully scheduled."})).await;

    let interfaces = InterfacesFile::parse(
        "foreman_r640: NIC.Integrated.1-1-1,HardDisk.List.1-1,NIC.Slot.1-2-1\n\
         director_r640: NIC.Slot.1-2-1,HardDisk.List.1-1,NIC.Integrated.1-1-1\n",
    )
    .unwrap();
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let cancel = CancellationToken::new();
    let host = "mgmt-e22-h18-r640.example.com";
    assert_eq!(bmc.boot_order_type(&interfaces, host).await.unwrap(), None);
    let change = bmc
        .set_boot_order(
            &redfish_client::BootOrderRequest::for_host_type(&interfaces, host, "foreman").unwrap(),
            &cancel,
        )
        .await
        .unwrap();
    assert_eq!(
        change,
        SettingsChange::Pending {
            job: Some("JID_100".into())
        }
    );
    let sent = bodies.lock().unwrap()[0].clone();
    let names: Vec<(&str, u64)> = sent["Attributes"]["UefiBootSeq"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["Name"].as_str().unwrap(), e["Index"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("NIC.Integrated.1-1-1", 0),
            ("HardDisk.List.1-1", 1),
            ("NIC.Slot.1-2-1", 2)
        ]
    );
    let scheduled = bmc
        .wait_job("JID_100", JobTarget::Scheduled, &cancel)
        .await
        .unwrap();
    assert_eq!(scheduled.state, JobState::Scheduled);
    patch.assert_async().await;
    job.assert_async().await;
}

/// A real iDRAC9 can list nothing: `BootSources` with empty `Attributes`. That is an empty
/// order, not a BMC without boot order support.
#[tokio::test]
async fn an_idrac_listing_no_boot_sources_has_an_empty_order() {
    let mut fake = MockBmc::new(Flavor::Idrac9)
        .system(json!({"Id": "System.Embedded.1", "PowerState": "On", "Bios": {"@odata.id": format!("{SYS}/Bios")}, "Boot": {"BootOrder": []}}))
        .build()
        .await;
    fake.get(
        &format!("{SYS}/Bios"),
        &json!({"Attributes": {"BootMode": "Uefi"}}),
    )
    .await;
    fake.get(
        &format!("{SYS}/BootSources"),
        &json!({"@odata.id": format!("{SYS}/BootSources"), "Attributes": {}}),
    )
    .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let order = bmc.boot_order().await.unwrap();
    assert!(order.devices.is_empty(), "{order:?}");
    let interfaces = InterfacesFile::parse("foreman_r640: NIC.Integrated.1-1-1\n").unwrap();
    assert_eq!(
        bmc.boot_order_type(&interfaces, "mgmt-e22-h18-r640")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn a_boot_order_already_in_place_sends_nothing() {
    let mut fake = dell_with_boot_order(&["NIC.Integrated.1-1-1", "HardDisk.List.1-1"]).await;
    let patch = fake
        .mock("PATCH", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let post = fake
        .mock("POST", format!("{MGR}/Jobs").as_str())
        .expect(0)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let interfaces =
        InterfacesFile::parse("foreman_r640: NIC.Integrated.1-1-1,HardDisk.List.1-1\n").unwrap();
    let host = "mgmt-e22-h18-r640";
    assert_eq!(
        bmc.boot_order_type(&interfaces, host)
            .await
            .unwrap()
            .as_deref(),
        Some("foreman")
    );
    let change = bmc
        .set_boot_order(
            &redfish_client::BootOrderRequest::for_host_type(&interfaces, host, "foreman").unwrap(),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(change, SettingsChange::Unchanged);
    patch.assert_async().await;
    post.assert_async().await;
}

#[tokio::test]
async fn in_uefi_mode_the_pxe_devices_follow_the_order_in_the_same_config_job() {
    let mut fake = MockBmc::new(Flavor::Idrac9)
        .system(json!({"Id": "System.Embedded.1", "PowerState": "On", "Bios": {"@odata.id": format!("{SYS}/Bios")}}))
        .build()
        .await;
    fake.get(
        &format!("{SYS}/Bios"),
        &json!({"Attributes": {"BootMode": "Uefi",
            "PxeDev1EnDis": "Enabled", "PxeDev1Interface": "NIC.Slot.1-2-1",
            "PxeDev2EnDis": "Disabled", "PxeDev2Interface": "NIC.Slot.1-2-1"},
            "@Redfish.Settings": {"SettingsObject": {"@odata.id": format!("{SYS}/Bios/Settings")}}}),
    )
    .await;
    let seq = vec![
        seq_entry("NIC.Integrated.1-1-1", 0),
        seq_entry("HardDisk.List.1-1", 1),
        seq_entry("NIC.Slot.1-2-1", 2),
    ];
    fake.get(
        &format!("{SYS}/BootSources"),
        &json!({"Attributes": {"UefiBootSeq": seq}}),
    )
    .await;
    fake.get(&format!("{MGR}/Jobs"), &collection(&[])).await;
    let order_patch = fake
        .mock("PATCH", format!("{SYS}/BootSources/Settings").as_str())
        .expect(0)
        .create_async()
        .await;
    let bios_patch = fake
        .mock("PATCH", format!("{SYS}/Bios/Settings").as_str())
        .match_body(Matcher::Json(json!({"Attributes": {
            "PxeDev1Interface": "NIC.Integrated.1-1-1",
            "PxeDev2EnDis": "Enabled",
        }})))
        .with_status(200)
        .with_body("{}")
        .expect(1)
        .create_async()
        .await;
    let job = fake
        .mock("POST", format!("{MGR}/Jobs").as_str())
        .with_status(200)
        .with_header("Location", &format!("{MGR}/Jobs/JID_7"))
        .expect(1)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let interfaces = InterfacesFile::parse(
        "foreman_r640: NIC.Integrated.1-1-1,HardDisk.List.1-1,NIC.Slot.1-2-1\n",
    )
    .unwrap();
    let change = bmc
        .set_boot_order(
            &redfish_client::BootOrderRequest::for_host_type(
                &interfaces,
                "mgmt-e22-h18-r640",
                "foreman",
            )
            .unwrap(),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        change,
        SettingsChange::Pending {
            job: Some("JID_7".to_owned())
        }
    );
    order_patch.assert_async().await;
    bios_patch.assert_async().await;
    job.assert_async().await;
}

#[tokio::test]
async fn boot_to_device_stages_one_time_boot_seq_dev() {
    let mut fake = dell_with_boot_order(&["HardDisk.List.1-1", "NIC.Integrated.1-1-1"]).await;
    let patch = fake
        .mock("PATCH", format!("{SYS}/Bios/Settings").as_str())
        .match_body(Matcher::PartialJson(json!({
            "@Redfish.SettingsApplyTime": {"ApplyTime": "OnReset"},
            "Attributes": {"OneTimeBootMode": "OneTimeUefiBootSeq", "OneTimeUefiBootSeqDev": "NIC.Integrated.1-1-1"}
        })))
        .with_status(202)
        .with_header("Location", &format!("{MGR}/Jobs/JID_7"))
        .expect(1)
        .create_async()
        .await;
    let no_job_post = fake
        .mock("POST", format!("{MGR}/Jobs").as_str())
        .expect(0)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let change = bmc
        .boot_to_device("nic.integrated.1-1-1", &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        change,
        SettingsChange::Pending {
            job: Some("JID_7".into())
        }
    );
    let err = bmc
        .boot_to_device("NIC.Bogus", &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err:?}");
    patch.assert_async().await;
    no_job_post.assert_async().await;
}

#[tokio::test]
async fn pxe_once_patches_the_system_with_if_match_then_verifies() {
    let mut fake = MockBmc::new(Flavor::Idrac9).build().await;
    let before = json!({"Boot": {"BootSourceOverrideTarget": "None", "BootSourceOverrideEnabled": "Disabled",
        "BootSourceOverrideTarget@Redfish.AllowableValues": ["None", "Pxe", "Hdd", "Cd"]}});
    let after =
        json!({"Boot": {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once"}});
    // One read before the PATCH: its ETag is the If-Match (no second GET for it).
    let first = fake
        .mock("GET", SYS)
        .with_header("ETag", "W/\"gen-1\"")
        .with_body(before.to_string())
        .expect(1)
        .create_async()
        .await;
    let _later = fake
        .mock("GET", SYS)
        .with_body(after.to_string())
        .create_async()
        .await;
    let patch = fake
        .mock("PATCH", SYS)
        .match_header("if-match", "W/\"gen-1\"")
        .match_body(Matcher::Json(json!({"Boot": {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once"}})))
        .with_status(200)
        .expect(1)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    assert_eq!(bmc.pxe_once().await.unwrap(), SettingsChange::Applied);
    assert_eq!(bmc.pxe_once().await.unwrap(), SettingsChange::Unchanged);
    first.assert_async().await;
    patch.assert_async().await;
}

#[tokio::test]
async fn idrac10_boot_overrides_go_to_the_settings_resource() {
    let mut fake = MockBmc::new(Flavor::Idrac10).build().await;
    let settings = format!("{SYS}/Settings");
    let _first = fake
        .mock("GET", settings.as_str())
        .with_body(json!({"Boot": {"BootSourceOverrideTarget": "None"}}).to_string())
        .expect(1)
        .create_async()
        .await;
    let _later = fake
        .mock("GET", settings.as_str())
        .with_body(json!({"Boot": {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once"}}).to_string())
        .create_async()
        .await;
    let patch = fake
        .mock("PATCH", settings.as_str())
        .with_status(200)
        .expect(1)
        .create_async()
        .await;
    let not_system = fake.mock("PATCH", SYS).expect(0).create_async().await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    assert_eq!(bmc.pxe_once().await.unwrap(), SettingsChange::Applied);
    patch.assert_async().await;
    not_system.assert_async().await;
}

#[tokio::test]
async fn jobs_are_listed_and_cleared_through_dell_job_service_then_verified() {
    let mut fake = MockBmc::new(Flavor::Idrac9).build().await;
    let cleared = Arc::new(Mutex::new(false));
    let c = cleared.clone();
    let list = fake
        .mock("GET", format!("{MGR}/Jobs").as_str())
        .with_body_from_request(move |_| {
            let members: &[&str] = if *c.lock().unwrap() {
                &[]
            } else {
                &[
                    "/redfish/v1/Managers/iDRAC.Embedded.1/Jobs/JID_1",
                    "/redfish/v1/Managers/iDRAC.Embedded.1/Jobs/JID_2",
                ]
            };
            collection(members).to_string().into_bytes()
        })
        .create_async()
        .await;
    fake.keep.push(list);
    fake.get(
        &format!("{MGR}/Jobs/JID_1"),
        &json!({"Id": "JID_1", "JobState": "Scheduled", "Name": "Configure: BIOS.Setup.1-1"}),
    )
    .await;
    fake.get(
        &format!("{MGR}/Jobs/JID_2"),
        &json!({"Id": "JID_2", "JobState": "Completed", "Message": "Job completed successfully."}),
    )
    .await;
    let service = "/redfish/v1/Dell/Managers/iDRAC.Embedded.1/DellJobService";
    fake.get(service, &json!({"Id": "Job Service"})).await;
    let c = cleared.clone();
    let delete = fake
        .mock(
            "POST",
            format!("{service}/Actions/DellJobService.DeleteJobQueue").as_str(),
        )
        .match_body(Matcher::Json(json!({"JobID": "JID_CLEARALL"})))
        .with_status(200)
        .with_body_from_request(move |_| {
            *c.lock().unwrap() = true;
            Vec::new()
        })
        .expect(1)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let jobs = bmc.jobs().await.unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0].id, "JID_1");
    assert_eq!(jobs[0].state, JobState::Scheduled);
    assert_eq!(jobs[1].state, JobState::Completed);
    let cancel = CancellationToken::new();
    assert_eq!(
        bmc.clear_jobs(ClearJobs::Pending, &cancel).await.unwrap(),
        QueueClear::Cleared
    );
    assert_eq!(
        bmc.clear_jobs(ClearJobs::Pending, &cancel).await.unwrap(),
        QueueClear::AlreadyEmpty
    );
    delete.assert_async().await;
}

#[tokio::test]
async fn a_failed_job_is_an_error_with_its_message() {
    let mut fake = MockBmc::new(Flavor::Idrac9).build().await;
    fake.get(&format!("{MGR}/Jobs"), &collection(&[])).await;
    fake.get(
        &format!("{MGR}/Jobs/JID_9"),
        &json!({"Id": "JID_9", "JobState": "Failed", "Message": "Unable to apply boot order."}),
    )
    .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let err = bmc
        .wait_job("JID_9", JobTarget::Completed, &CancellationToken::new())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::JobFailed { .. }));
    assert!(
        text.contains("JID_9") && text.contains("Unable to apply boot order."),
        "{text}"
    );
}

fn registry() -> Value {
    json!({"RegistryEntries": {"Attributes": [
        {"AttributeName": "BootMode", "Type": "Enumeration", "Value": [{"ValueName": "Bios"}, {"ValueName": "Uefi"}]},
        {"AttributeName": "SriovGlobalEnable", "Type": "Enumeration", "Value": [{"ValueName": "Enabled"}, {"ValueName": "Disabled"}]}
    ]}})
}

#[tokio::test]
async fn bios_changes_are_validated_then_staged_with_a_job() {
    let mut fake = MockBmc::new(Flavor::Idrac9)
        .system(json!({"Bios": {"@odata.id": format!("{SYS}/Bios")}}))
        .build()
        .await;
    fake.get(
        &format!("{SYS}/Bios"),
        &json!({"Attributes": {"BootMode": "Bios", "SriovGlobalEnable": "Disabled"}}),
    )
    .await;
    fake.get(&format!("{SYS}/Bios/BiosRegistry"), &registry())
        .await;
    let patch = fake
        .mock("PATCH", format!("{SYS}/Bios/Settings").as_str())
        .match_body(Matcher::Json(json!({"@Redfish.SettingsApplyTime": {"ApplyTime": "OnReset"}, "Attributes": {"SriovGlobalEnable": "Enabled"}})))
        .with_status(200)
        .expect(1)
        .create_async()
        .await;
    fake.get(&format!("{MGR}/Jobs"), &collection(&[])).await;
    let job = fake
        .mock("POST", format!("{MGR}/Jobs").as_str())
        .with_status(200)
        .with_header("Location", &format!("{MGR}/Jobs/JID_55"))
        .expect(1)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let set = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let change = bmc
        .set_bios_attributes(&set(&[
            ("sriovglobalenable", "enabled"),
            ("BootMode", "bios"),
        ]))
        .await
        .unwrap();
    assert_eq!(
        change,
        SettingsChange::Pending {
            job: Some("JID_55".into())
        }
    );
    let err = bmc
        .set_bios_attributes(&set(&[("BootMode", "Legacy")]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("allowed: Bios, Uefi"), "{err}");
    assert_eq!(
        bmc.set_bios_attributes(&set(&[("BootMode", "Bios")]))
            .await
            .unwrap(),
        SettingsChange::Unchanged
    );
    assert_eq!(
        bmc.bios_attribute("bootmode").await.unwrap(),
        Some(json!("Bios"))
    );
    assert_eq!(
        bmc.bios_registry_entry("BootMode")
            .await
            .unwrap()
            .value
            .len(),
        2
    );
    patch.assert_async().await;
    job.assert_async().await;
}

#[tokio::test]
async fn firmware_inventory_keeps_installed_entries() {
    let mut fake = MockBmc::new(Flavor::Idrac9).build().await;
    let fw = "/redfish/v1/UpdateService/FirmwareInventory";
    fake.get(
        "/redfish/v1/UpdateService",
        &json!({"FirmwareInventory": {"@odata.id": fw}}),
    )
    .await;
    fake.get(
        fw,
        &collection(&[
            &format!("{fw}/Installed-25227-7.00.00.00"),
            &format!("{fw}/Previous-25227-6.10.30.00"),
            &format!("{fw}/Installed-159-1.13.2"),
        ]),
    )
    .await;
    fake.get(&format!("{fw}/Installed-25227-7.00.00.00"), &json!({"Id": "Installed-25227-7.00.00.00", "Name": "Integrated Dell Remote Access Controller", "Version": "7.00.00.00"})).await;
    fake.get(
        &format!("{fw}/Installed-159-1.13.2"),
        &json!({"Id": "Installed-159-1.13.2", "Name": "BIOS", "Version": "1.13.2"}),
    )
    .await;
    let previous = fake
        .mock("GET", format!("{fw}/Previous-25227-6.10.30.00").as_str())
        .expect(0)
        .create_async()
        .await;
    let client = fake.client();
    let items = fake.bmc(&client).firmware_inventory().await.unwrap();
    let versions: Vec<_> = items.iter().map(|i| i.version.clone().unwrap()).collect();
    assert_eq!(versions, ["7.00.00.00", "1.13.2"]);
    previous.assert_async().await;
}

#[tokio::test]
async fn serial_is_the_service_tag_and_power_draw_comes_from_the_chassis() {
    let mut fake = MockBmc::new(Flavor::Idrac9)
        .system(json!({"SerialNumber": "CNIVC0012", "Manufacturer": "Dell Inc.", "Model": "PowerEdge R640"}))
        .build()
        .await;
    fake.get(
        "/redfish/v1/Chassis/System.Embedded.1/Power",
        &json!({"PowerControl": [{"PowerConsumedWatts": 231.0}]}),
    )
    .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let serial = bmc.serial().await.unwrap();
    assert_eq!(serial.service_tag.as_deref(), Some("7XYZ123"));
    assert_eq!(serial.serial_number.as_deref(), Some("CNIVC0012"));
    assert_eq!(bmc.power_consumed_watts().await.unwrap(), Some(231.0));
}

#[tokio::test]
async fn racreset_posts_manager_reset_and_forgets_the_session() {
    let mut fake = MockBmc::new(Flavor::Idrac9).build().await;
    let reset = fake
        .mock("POST", format!("{MGR}/Actions/Manager.Reset").as_str())
        .match_body(Matcher::Json(json!({"ResetType": "GracefulRestart"})))
        .with_status(204)
        .expect(1)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let sent = bmc
        .reset_bmc(ResetWait::UntilResponsive, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(sent, "GracefulRestart");
    assert!(!bmc.has_session(), "the reset killed the session");
    reset.assert_async().await;
}

#[tokio::test]
async fn virtual_media_is_inserted_on_the_cd_slot_and_verified() {
    let mut fake = MockBmc::new(Flavor::Idrac9).build().await;
    let vm = format!("{MGR}/VirtualMedia");
    fake.get(
        &vm,
        &collection(&[&format!("{vm}/RemovableDisk"), &format!("{vm}/CD")]),
    )
    .await;
    fake.get(
        &format!("{vm}/RemovableDisk"),
        &json!({"Id": "RemovableDisk", "MediaTypes": ["USBStick"], "Inserted": false}),
    )
    .await;
    let cd_before = json!({"Id": "CD", "MediaTypes": ["CD", "DVD"], "Inserted": false,
        "Actions": {"#VirtualMedia.InsertMedia": {"target": format!("{vm}/CD/Actions/VirtualMedia.InsertMedia")}}});
    let _before = fake
        .mock("GET", format!("{vm}/CD").as_str())
        .with_body(cd_before.to_string())
        .expect(2)
        .create_async()
        .await;
    let _after = fake
        .mock("GET", format!("{vm}/CD").as_str())
        .with_body(json!({"Id": "CD", "MediaTypes": ["CD"], "Inserted": true, "Image": "http://10.0.0.5/rhel.iso"}).to_string())
        .create_async()
        .await;
    let insert = fake
        .mock(
            "POST",
            format!("{vm}/CD/Actions/VirtualMedia.InsertMedia").as_str(),
        )
        .match_body(Matcher::PartialJson(
            json!({"Image": "http://10.0.0.5/rhel.iso"}),
        ))
        .with_status(204)
        .expect(1)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let slot = bmc
        .mount_virtual_media("http://10.0.0.5/rhel.iso", &CancellationToken::new())
        .await
        .unwrap();
    assert!(slot.inserted);
    assert_eq!(slot.id, "CD");
    insert.assert_async().await;
}

#[tokio::test]
async fn without_dell_job_service_the_queue_is_cleared_by_delete() {
    let mut fake = MockBmc::new(Flavor::Idrac9).build().await;
    let cleared = Arc::new(Mutex::new(false));
    let c = cleared.clone();
    let list = fake
        .mock("GET", format!("{MGR}/Jobs").as_str())
        .with_body_from_request(move |_| {
            let members: &[&str] = if *c.lock().unwrap() {
                &[]
            } else {
                &["/redfish/v1/Managers/iDRAC.Embedded.1/Jobs/JID_3"]
            };
            collection(members).to_string().into_bytes()
        })
        .create_async()
        .await;
    fake.keep.push(list);
    fake.get(
        &format!("{MGR}/Jobs/JID_3"),
        &json!({"Id": "JID_3", "JobState": "Running"}),
    )
    .await;
    for missing in [
        "/redfish/v1/Dell/Managers/iDRAC.Embedded.1/DellJobService".to_owned(),
        format!("{MGR}/Oem/Dell/DellJobService"),
    ] {
        let m = fake
            .mock("GET", missing.as_str())
            .with_status(404)
            .create_async()
            .await;
        fake.keep.push(m);
    }
    let c = cleared.clone();
    let delete = fake
        .mock("DELETE", format!("{MGR}/Jobs/JID_CLEARALL_FORCE").as_str())
        .with_status(200)
        .with_body_from_request(move |_| {
            *c.lock().unwrap() = true;
            Vec::new()
        })
        .expect(1)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    assert_eq!(
        bmc.clear_jobs(ClearJobs::Force, &CancellationToken::new())
            .await
            .unwrap(),
        QueueClear::Cleared
    );
    delete.assert_async().await;
}
