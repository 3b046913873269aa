//! HPE iLO 5 and Lenovo XCC contract tests, and the capture-shaped fixtures of iDRAC9, iLO 5 and
//! XCC (`tests/fixtures`, see its `SOURCES.md`) decoded by the client's own operations: the
//! boot order in iLO's `Bios/Boot/` (staged in `Bios/Boot/Settings/`) and XCC's
//! `Oem/Lenovo/BootSettings` (`BootOrderNext`), else staged in the system's `@Redfish.Settings`
//! object, iLO's structured boot strings, iLO's absolute session `Location`, virtual media under
//! the manager, iLO's power cycle (`ColdBoot`, its OEM `SystemReset`).

use std::path::Path;

use mockito::{Matcher, Mock};
use redfish_client::vendor::BootOptionName;
use redfish_client::{CancellationToken, PowerState, ResetType, SettingsChange, Vendor};
use serde_json::{Value, json};

use crate::common::{Fake, Flavor, collection};
use crate::mock_bmc::MockBmc;

/// A fixture document.
fn fixture(vendor: &str, file: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(vendor)
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn id_of(doc: &Value) -> String {
    doc["@odata.id"].as_str().unwrap().to_owned()
}

/// A mock BMC serving a vendor's fixtures: root, session, the collections naming the fixture's
/// system, manager and chassis, the system (as `edit` leaves it), the manager, and the virtual
/// media slot in the manager's collection.
async fn fixture_bmc_with(
    flavor: Flavor,
    vendor: &str,
    edit: impl FnOnce(&mut Value),
) -> (Fake, Value) {
    let mut fake = MockBmc::new(flavor).no_discovery().build().await;
    let mut system = fixture(vendor, "system.json");
    edit(&mut system);
    let manager = fixture(vendor, "manager.json");
    let chassis = system["Links"]["Chassis"][0]["@odata.id"]
        .as_str()
        .unwrap()
        .to_owned();
    fake.get("/redfish/v1/Systems", &collection(&[&id_of(&system)]))
        .await;
    fake.get("/redfish/v1/Managers", &collection(&[&id_of(&manager)]))
        .await;
    fake.get("/redfish/v1/Chassis", &collection(&[&chassis]))
        .await;
    fake.get(&id_of(&system), &system).await;
    fake.get(&id_of(&manager), &manager).await;
    let media = fixture(vendor, "virtual_media.json");
    let slots = manager["VirtualMedia"]["@odata.id"]
        .as_str()
        .unwrap()
        .to_owned();
    fake.get(&slots, &collection(&[&id_of(&media)])).await;
    fake.get(&id_of(&media), &media).await;
    (fake, system)
}

async fn fixture_bmc(flavor: Flavor, vendor: &str) -> (Fake, Value) {
    fixture_bmc_with(flavor, vendor, |_| {}).await
}

/// iLO's BIOS, linking its `HpeServerBootSettings` (`Oem.Hpe.Links.Boot`) or, as `with_boot`
/// says, not (then the DMTF order serves).
async fn ilo_bios(fake: &mut Fake, with_boot: bool) {
    let mut bios = fixture("ilo5", "bios.json");
    if !with_boot {
        bios["Oem"]["Hpe"]["Links"]
            .as_object_mut()
            .unwrap()
            .remove("Boot");
    }
    fake.get(&id_of(&bios), &bios).await;
}

/// An XCC system without `Oem.Lenovo.BootSettings` (the DMTF order serves).
fn without_lenovo_boot_settings(system: &mut Value) {
    system["Oem"]["Lenovo"]
        .as_object_mut()
        .unwrap()
        .remove("BootSettings");
}

#[tokio::test]
async fn idrac9_fixtures_decode() {
    let (mut fake, system) = fixture_bmc(Flavor::Idrac9, "idrac9").await;
    let bios = format!("{}/Bios", id_of(&system));
    fake.get(
        &bios,
        &json!({"@odata.id": bios, "Id": "Bios", "Attributes": {"BootMode": "Bios"}}),
    )
    .await;
    let sources = fixture("idrac9", "boot_settings.json");
    fake.get(&id_of(&sources), &sources).await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let d = bmc.discovery().await.unwrap();
    assert_eq!(d.vendor, Vendor::Dell);
    assert_eq!(d.manager_model.as_deref(), Some("14G Monolithic"));
    assert_eq!(bmc.power_state().await.unwrap(), PowerState::On);
    let order = bmc.boot_order().await.unwrap();
    assert_eq!(order.mode.as_deref(), Some("Bios"));
    assert_eq!(
        order.names(),
        [
            "NIC.Integrated.1-1-1",
            "HardDisk.List.1-1",
            "NIC.Integrated.1-2-1",
            "Optical.iDRACVirtual.1-1"
        ]
    );
    assert!(!order.devices[3].enabled);
    let slots = bmc.virtual_media().await.unwrap();
    assert_eq!(slots.len(), 1);
    assert_eq!(slots[0].id, "CD");
    assert!(slots[0].is_cd && !slots[0].inserted);
    assert_eq!(slots[0].image, None);
    assert!(bmc.logout().await.unwrap());
}

/// The boot options of the iLO fixture's order: `Boot000A` a disk, `Boot000B` the fixture's
/// LOM NIC (named by its structured boot string), `Boot000C` a slot NIC.
async fn ilo_boot_options(fake: &mut Fake) {
    let lom = fixture("ilo5", "boot_option.json");
    let options = "/redfish/v1/Systems/1/BootOptions/";
    let disk = json!({
        "@odata.id": "/redfish/v1/Systems/1/BootOptions/1/", "Id": "1",
        "BootOptionReference": "Boot000A",
        "DisplayName": "Embedded RAID 1 : HPE Smart Array P408i-a SR Gen10 - 447 GiB, RAID1 Logical Drive 1(Target:0, Lun:0)",
        "Oem": {"Hpe": {"StructuredBootString": "HD.EmbRAID.1.3"}}
    });
    let slot = json!({
        "@odata.id": "/redfish/v1/Systems/1/BootOptions/3/", "Id": "3",
        "BootOptionReference": "Boot000C",
        "DisplayName": "Slot 3 Port 1 : Mellanox Network Adapter - 98039B0A1C2D - NIC (PXE IPv4)",
        "Oem": {"Hpe": {"StructuredBootString": "NIC.Slot.3.1.IPv4"}}
    });
    let ids = [id_of(&disk), id_of(&lom), id_of(&slot)];
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    fake.get(options, &collection(&refs)).await;
    for doc in [disk, lom, slot] {
        fake.get(&id_of(&doc), &doc).await;
    }
}

#[tokio::test]
async fn ilo5_fixtures_decode_and_the_session_location_is_absolute() {
    let (mut fake, _) = fixture_bmc(Flavor::Ilo5, "ilo5").await;
    ilo_boot_options(&mut fake).await;
    ilo_bios(&mut fake, false).await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let d = bmc.discovery().await.unwrap();
    assert_eq!(d.vendor, Vendor::Hpe);
    assert_eq!(d.system, "/redfish/v1/Systems/1/");
    assert_eq!(
        d.quirks.boot_option_name,
        BootOptionName::HpeStructuredBootString
    );
    assert_eq!(bmc.power_state().await.unwrap(), PowerState::On);
    let order = bmc.boot_order().await.unwrap();
    assert_eq!(
        order.names(),
        ["HD.EmbRAID.1.3", "NIC.LOM.1.1.IPv4", "NIC.Slot.3.1.IPv4"]
    );
    assert_eq!(order.find("NIC.LOM.1.1.IPv4").unwrap().id, "Boot000B");
    let slots = bmc.virtual_media().await.unwrap();
    assert_eq!(slots[0].id, "2");
    assert!(slots[0].is_cd && !slots[0].inserted);
    assert!(bmc.logout().await.unwrap());
    assert!(fake.logged_out().await, "DELETE of the session's path");
}

/// An iLO settings object `pending` served with `etag` (read twice: before and after the
/// write), and its PATCH of exactly `body` under that ETag, answered as iLO does (200 and
/// `SystemResetRequired`), expected once.
async fn ilo_settings_staged(
    fake: &mut Fake,
    pending: &Value,
    etag: &str,
    body: Value,
) -> (Mock, Mock) {
    let settings = id_of(pending);
    let read = fake
        .read(settings.as_str())
        .with_header("ETag", etag)
        .with_body(pending.to_string())
        .expect(2)
        .create_async()
        .await;
    let staged = fake
        .mock("PATCH", settings.as_str())
        .match_header("if-match", etag)
        .match_body(Matcher::Json(body))
        .with_status(200)
        .with_body(r#"{"error":{"code":"iLO.0.10.ExtendedInfo","@Message.ExtendedInfo":[{"MessageId":"iLO.2.15.SystemResetRequired"}]}}"#)
        .expect(1)
        .create_async()
        .await;
    (read, staged)
}

#[tokio::test]
async fn ilo5_without_bios_boot_settings_stages_the_dmtf_order_in_its_settings_object() {
    let (mut fake, _) = fixture_bmc(Flavor::Ilo5, "ilo5").await;
    ilo_boot_options(&mut fake).await;
    ilo_bios(&mut fake, false).await;
    let pending = fixture("ilo5", "boot_settings.json");
    let (read, staged) = ilo_settings_staged(
        &mut fake,
        &pending,
        "W/\"8D1E4CE1\"",
        json!({"Boot": {"BootOrder": ["Boot000C", "Boot000A", "Boot000B"]}}),
    )
    .await;
    let on_system = fake
        .mock("PATCH", "/redfish/v1/Systems/1/")
        .expect(0)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let cancel = CancellationToken::new();
    let change = bmc
        .set_boot_order(
            &redfish_client::BootOrderRequest::new(["NIC.Slot.3.1.IPv4".to_owned()]),
            &cancel,
        )
        .await
        .unwrap();
    assert_eq!(change, SettingsChange::Pending { job: None });
    // The order the system has now needs nothing staged.
    let unchanged = bmc
        .set_boot_order(
            &redfish_client::BootOrderRequest::new(["HD.EmbRAID.1.3".to_owned()]),
            &cancel,
        )
        .await
        .unwrap();
    assert_eq!(unchanged, SettingsChange::Unchanged);
    staged.assert_async().await;
    on_system.assert_async().await;
    read.assert_async().await;
}

#[tokio::test]
async fn ilo5_power_cycle_is_one_cold_boot_posted_to_its_oem_action() {
    let (mut fake, system) = fixture_bmc(Flavor::Ilo5, "ilo5").await;
    let oem = system["Actions"]["Oem"]["Hpe"]["#HpeComputerSystemExt.SystemReset"]["target"]
        .as_str()
        .unwrap()
        .to_owned();
    let cold_boot = fake
        .mock("POST", oem.as_str())
        .match_body(Matcher::Json(json!({"ResetType": "ColdBoot"})))
        .with_status(200)
        .with_body(r#"{"error":{"code":"iLO.0.10.ExtendedInfo","@Message.ExtendedInfo":[{"MessageId":"Base.1.4.Success"}]}}"#)
        .expect(1)
        .create_async()
        .await;
    // no ForceOff, no On: the standard reset is never posted
    let standard = fake
        .mock(
            "POST",
            "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset/",
        )
        .expect(0)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let out = bmc
        .power_cycle_by_bmc(&CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(out.before, PowerState::On);
    assert_eq!(out.actions, [ResetType::ColdBoot]);
    assert_eq!(out.actions[0].to_string(), "ColdBoot");
    cold_boot.assert_async().await;
    standard.assert_async().await;
}

#[tokio::test]
async fn xcc_fixtures_decode_and_an_order_already_pending_is_not_sent_again() {
    let (mut fake, system) =
        fixture_bmc_with(Flavor::Xcc, "xcc", without_lenovo_boot_settings).await;
    let options = system["Boot"]["BootOptions"]["@odata.id"]
        .as_str()
        .unwrap()
        .to_owned();
    let members: Vec<String> = ["Boot0001", "Boot0002", "Boot0003"]
        .iter()
        .map(|id| format!("{options}/{id}"))
        .collect();
    let refs: Vec<&str> = members.iter().map(String::as_str).collect();
    fake.get(&options, &collection(&refs)).await;
    for (id, name) in [
        (
            "Boot0001",
            "Slot 3 Port 1: UEFI PXE IPv4 Intel(R) Ethernet 25G 2P XXV710",
        ),
        ("Boot0002", "Hard Disk 0: M.2 SATA SSD"),
        (
            "Boot0003",
            "Onboard LAN Port 1: UEFI PXE IPv4 Intel(R) I350",
        ),
    ] {
        fake.get(
            &format!("{options}/{id}"),
            &json!({"@odata.id": format!("{options}/{id}"), "Id": id,
                    "BootOptionReference": id, "DisplayName": name, "Alias": "Pxe"}),
        )
        .await;
    }
    // The pending order already puts the slot NIC first.
    let mut pending = fixture("xcc", "boot_settings.json");
    pending["Boot"]["BootOrder"] = json!(["Boot0001", "Boot0003", "Boot0002"]);
    fake.get(&id_of(&pending), &pending).await;
    let sent = fake
        .mock("PATCH", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let d = bmc.discovery().await.unwrap();
    assert_eq!(d.vendor, Vendor::Lenovo);
    assert_eq!(d.quirks.bmc_reset_types, ["GracefulRestart"]);
    let order = bmc.boot_order().await.unwrap();
    assert_eq!(order.devices[0].id, "Boot0003");
    assert!(order.devices[0].names("IPv4"));
    let change = bmc
        .set_boot_order(
            &redfish_client::BootOrderRequest::new(["Boot0001".to_owned()]),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(change, SettingsChange::Pending { job: None });
    let slots = bmc.virtual_media().await.unwrap();
    assert_eq!(slots[0].id, "EXT1");
    assert!(slots[0].is_cd);
    sent.assert_async().await;
}

#[tokio::test]
async fn xcc_undoes_a_staged_order_when_the_current_one_is_wanted() {
    let (mut fake, _) = fixture_bmc_with(Flavor::Xcc, "xcc", without_lenovo_boot_settings).await;
    let options = "/redfish/v1/Systems/1/BootOptions";
    let members: Vec<String> = ["Boot0003", "Boot0001", "Boot0002"]
        .iter()
        .map(|id| format!("{options}/{id}"))
        .collect();
    let refs: Vec<&str> = members.iter().map(String::as_str).collect();
    fake.get(options, &collection(&refs)).await;
    for id in ["Boot0003", "Boot0001", "Boot0002"] {
        fake.get(
            &format!("{options}/{id}"),
            &json!({"Id": id, "BootOptionReference": id, "DisplayName": format!("Device {id}")}),
        )
        .await;
    }
    let mut pending = fixture("xcc", "boot_settings.json");
    pending["Boot"]["BootOrder"] = json!(["Boot0002", "Boot0003", "Boot0001"]);
    fake.get(&id_of(&pending), &pending).await;
    let restored = fake
        .mock("PATCH", "/redfish/v1/Systems/1/Pending")
        .match_body(Matcher::Json(
            json!({"Boot": {"BootOrder": ["Boot0003", "Boot0001", "Boot0002"]}}),
        ))
        .with_status(204)
        .expect(1)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let change = bmc
        .set_boot_order(
            &redfish_client::BootOrderRequest::new(["Boot0003".to_owned()]),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(change, SettingsChange::Pending { job: None });
    restored.assert_async().await;
}

#[tokio::test]
async fn ilo5_reads_its_bios_boot_order_and_stages_the_persistent_order_in_its_settings() {
    let (mut fake, _) = fixture_bmc(Flavor::Ilo5, "ilo5").await;
    ilo_bios(&mut fake, true).await;
    let current = fixture("ilo5", "server_boot_settings.json");
    fake.get(&id_of(&current), &current).await;
    let pending = fixture("ilo5", "server_boot_settings_pending.json");
    let (read, staged) = ilo_settings_staged(
        &mut fake,
        &pending,
        "W/\"A71C0E45\"",
        json!({"PersistentBootConfigOrder": [
            "NIC.Slot.3.1.IPv4", "HD.EmbRAID.1.3", "NIC.LOM.1.1.IPv4"
        ]}),
    )
    .await;
    // Neither the system nor its DMTF settings object is written, nor its boot options read.
    let dmtf = fake
        .mock("PATCH", Matcher::Regex("^/redfish/v1/Systems/1/".into()))
        .expect(0)
        .create_async()
        .await;
    let options = fake
        .mock("GET", Matcher::Regex("BootOptions".into()))
        .expect(0)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let order = bmc.boot_order().await.unwrap();
    assert_eq!(
        order.names(),
        ["HD.EmbRAID.1.3", "NIC.LOM.1.1.IPv4", "NIC.Slot.3.1.IPv4"]
    );
    let cancel = CancellationToken::new();
    let change = bmc
        .set_boot_order(
            &redfish_client::BootOrderRequest::new(["NIC.Slot.3.1.IPv4"]),
            &cancel,
        )
        .await
        .unwrap();
    assert_eq!(change, SettingsChange::Pending { job: None });
    let unchanged = bmc
        .set_boot_order(
            &redfish_client::BootOrderRequest::new(["HD.EmbRAID.1.3"]),
            &cancel,
        )
        .await
        .unwrap();
    assert_eq!(unchanged, SettingsChange::Unchanged);
    let err = bmc
        .set_boot_order(
            &redfish_client::BootOrderRequest::new(["NIC.Bogus.9"]),
            &cancel,
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("NIC.Bogus.9") && err.contains("NIC.LOM.1.1.IPv4"),
        "{err}"
    );
    staged.assert_async().await;
    read.assert_async().await;
    dmtf.assert_async().await;
    options.assert_async().await;
}

/// XCC's boot settings collection and its `BootOrder.BootOrder` (as `edit` leaves it), served
/// with its ETag header.
async fn xcc_boot_order(fake: &mut Fake, edit: impl FnOnce(&mut Value)) -> Value {
    let mut doc = fixture("xcc", "boot_order.json");
    edit(&mut doc);
    let member = id_of(&doc);
    let collection_path = member.rsplit_once('/').unwrap().0.to_owned();
    fake.get(&collection_path, &collection(&[&member])).await;
    let mock = fake
        .read(member.as_str())
        .with_header("ETag", doc["@odata.etag"].as_str().unwrap())
        .with_body(doc.to_string())
        .create_async()
        .await;
    fake.keep.push(mock);
    doc
}

#[tokio::test]
async fn xcc_reads_boot_order_current_and_writes_next_with_if_match() {
    let (mut fake, _) = fixture_bmc(Flavor::Xcc, "xcc").await;
    let doc = xcc_boot_order(&mut fake, |_| {}).await;
    let member = id_of(&doc);
    let staged = fake
        .mock("PATCH", member.as_str())
        .match_header("if-match", doc["@odata.etag"].as_str().unwrap())
        .match_body(Matcher::Json(
            json!({"BootOrderNext": ["PXE Network", "CD/DVD Rom", "Hard Disk"]}),
        ))
        .with_status(200)
        .with_body(doc.to_string())
        .expect(1)
        .create_async()
        .await;
    let dmtf = fake
        .mock("PATCH", "/redfish/v1/Systems/1/Pending")
        .expect(0)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let order = bmc.boot_order().await.unwrap();
    assert_eq!(order.names(), ["CD/DVD Rom", "Hard Disk", "PXE Network"]);
    let change = bmc
        .set_boot_order(
            &redfish_client::BootOrderRequest::new(["PXE Network"]),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(change, SettingsChange::Pending { job: None });
    staged.assert_async().await;
    dmtf.assert_async().await;
}

#[tokio::test]
async fn xcc_sends_nothing_when_boot_order_next_already_has_the_order() {
    let (mut fake, _) = fixture_bmc(Flavor::Xcc, "xcc").await;
    xcc_boot_order(&mut fake, |doc| {
        doc["BootOrderNext"] = json!(["Network", "CD/DVD Rom", "Hard Disk", "PXE Network"]);
    })
    .await;
    let sent = fake
        .mock("PATCH", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    // `Network` is supported but not in the order yet: it comes first, already staged so.
    let change = bmc
        .set_boot_order(
            &redfish_client::BootOrderRequest::new(["network"]),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(change, SettingsChange::Pending { job: None });
    sent.assert_async().await;
}
