//! NICs by FQDD against mockito BMCs: the FQDDs from the chassis' network adapters, the Dell
//! NIC attributes of a port checked against its registry and staged for a config job, and the
//! refusals (an unknown FQDD, a value the registry does not allow, a BMC that is not a Dell,
//! iDRAC9 firmware older than 5.10).

use mockito::Matcher;
use redfish_client::{Error, SettingsChange};
use serde_json::{Value, json};

use crate::common::{Fake, Flavor, collection};
use crate::mock_bmc::MockBmc;

const CHASSIS: &str = "/redfish/v1/Chassis/System.Embedded.1";
const ADAPTERS: &str = "/redfish/v1/Chassis/System.Embedded.1/NetworkAdapters";
const ATTRIBUTES: &str = "/redfish/v1/Chassis/System.Embedded.1/NetworkAdapters/NIC.Integrated.1/NetworkDeviceFunctions/NIC.Integrated.1-1-1/Oem/Dell/DellNetworkAttributes/NIC.Integrated.1-1-1";
const REGISTRY: &str = "/redfish/v1/Registries/NetworkAttributesRegistry_NIC.Integrated.1-1-1/NetworkAttributesRegistry_NIC.Integrated.1-1-1.json";

fn attributes_doc() -> Value {
    json!({
        "@odata.id": ATTRIBUTES,
        "Id": "NIC.Integrated.1-1-1",
        "AttributeRegistry": "NetworkAttributesRegistry_NIC.Integrated.1-1-1",
        "Attributes": {"WakeOnLan": "Disabled", "VLanId": 1, "MacAddr": "AA:BB:CC:00:00:01"},
        "@Redfish.Settings": {"SettingsObject": {"@odata.id": format!("{ATTRIBUTES}/Settings")}},
    })
}

fn registry_doc() -> Value {
    json!({"RegistryEntries": {"Attributes": [
        {"AttributeName": "WakeOnLan", "Type": "Enumeration",
         "Value": [{"ValueName": "Enabled"}, {"ValueName": "Disabled"}]},
        {"AttributeName": "VLanId", "Type": "Integer", "LowerBound": 1, "UpperBound": 4094},
        {"AttributeName": "MacAddr", "Type": "String", "ReadOnly": true}
    ]}})
}

async fn not_found(fake: &mut Fake, path: &str) -> mockito::Mock {
    fake.mock("GET", path)
        .with_status(404)
        .with_body("{}")
        .create_async()
        .await
}

#[tokio::test]
async fn fqdds_come_from_the_chassis_network_adapters() {
    let mut fake = MockBmc::new(Flavor::Idrac9).build().await;
    fake.get(
        CHASSIS,
        &json!({"NetworkAdapters": {"@odata.id": ADAPTERS}}),
    )
    .await;
    fake.get(
        ADAPTERS,
        &collection(&[
            &format!("{ADAPTERS}/NIC.Integrated.1"),
            &format!("{ADAPTERS}/NIC.Slot.3"),
        ]),
    )
    .await;
    let functions = |a: &str, ports: &[&str]| {
        let paths: Vec<String> = ports
            .iter()
            .map(|p| format!("{ADAPTERS}/{a}/NetworkDeviceFunctions/{p}"))
            .collect();
        collection(&paths.iter().map(String::as_str).collect::<Vec<_>>())
    };
    fake.get(
        &format!("{ADAPTERS}/NIC.Integrated.1/NetworkDeviceFunctions"),
        &functions(
            "NIC.Integrated.1",
            &["NIC.Integrated.1-1-1", "NIC.Integrated.1-2-1"],
        ),
    )
    .await;
    fake.get(
        &format!("{ADAPTERS}/NIC.Slot.3/NetworkDeviceFunctions"),
        &functions("NIC.Slot.3", &["NIC.Slot.3-1-1"]),
    )
    .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let adapters = bmc.nic_fqdds().await.unwrap();
    assert_eq!(adapters.len(), 2);
    assert_eq!(adapters[0].id, "NIC.Integrated.1");
    assert_eq!(
        adapters[0].fqdds,
        ["NIC.Integrated.1-1-1", "NIC.Integrated.1-2-1"]
    );
    assert_eq!(adapters[1].fqdds, ["NIC.Slot.3-1-1"]);
}

#[tokio::test]
async fn a_nic_attribute_is_checked_then_staged_for_a_config_job() {
    let mut fake = MockBmc::new(Flavor::Idrac9).build().await;
    fake.get(CHASSIS, &json!({})).await;
    fake.get(ATTRIBUTES, &attributes_doc()).await;
    // No registry file entry: the registry is read where Badfish reads it.
    let _no_file = not_found(
        &mut fake,
        "/redfish/v1/Registries/NetworkAttributesRegistry_NIC.Integrated.1-1-1",
    )
    .await;
    fake.get(REGISTRY, &registry_doc()).await;
    let settings = format!("{ATTRIBUTES}/Settings");
    fake.get(&settings, &json!({"Attributes": {}})).await;
    let patch = fake
        .mock("PATCH", settings.as_str())
        .match_body(Matcher::Json(json!({
            "@Redfish.SettingsApplyTime": {"ApplyTime": "OnReset"},
            "Attributes": {"VLanId": 100},
        })))
        .with_status(202)
        .with_header(
            "Location",
            "/redfish/v1/Managers/iDRAC.Embedded.1/Jobs/JID_000000000001",
        )
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let all = bmc.nic_attributes("NIC.Integrated.1-1-1").await.unwrap();
    assert_eq!(all["WakeOnLan"], "Disabled");
    let info = bmc
        .nic_attribute("NIC.Integrated.1-1-1", "vlanid")
        .await
        .unwrap();
    assert_eq!(info.entry.attribute_name, "VLanId");
    assert_eq!(info.current, Some(json!(1)));
    // Refused before anything is sent.
    for (name, value, why) in [
        ("WakeOnLan", "Sometimes", "allowed: Enabled, Disabled"),
        ("VLanId", "5000", "bounds"),
        ("MacAddr", "x", "read-only"),
        ("Nope", "x", "not in the registry"),
    ] {
        let err = bmc
            .set_nic_attribute("NIC.Integrated.1-1-1", name, value)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Invalid { reason, .. } if reason.contains(why)),
            "{err}"
        );
    }
    let same = bmc
        .set_nic_attribute("NIC.Integrated.1-1-1", "WakeOnLan", "disabled")
        .await
        .unwrap();
    assert_eq!(same, SettingsChange::Unchanged);
    let change = bmc
        .set_nic_attribute("NIC.Integrated.1-1-1", "VLanId", "100")
        .await
        .unwrap();
    assert_eq!(
        change,
        SettingsChange::Pending {
            job: Some("JID_000000000001".into())
        }
    );
    patch.assert_async().await;
}

#[tokio::test]
async fn unknown_fqdd_old_firmware_and_other_vendors_are_refused() {
    let mut fake = MockBmc::new(Flavor::Idrac9).build().await;
    fake.get(CHASSIS, &json!({})).await;
    let _nope = not_found(&mut fake, "/redfish/v1/Chassis/System.Embedded.1/NetworkAdapters/NIC.Nope.9/NetworkDeviceFunctions/NIC.Nope.9-1-1/Oem/Dell/DellNetworkAttributes/NIC.Nope.9-1-1").await;
    let client = fake.client();
    let err = fake
        .bmc(&client)
        .nic_attributes("NIC.Nope.9-1-1")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { reason, .. } if reason.contains("NIC.Nope.9-1-1")),
        "{err}"
    );

    let mut old = MockBmc::new(Flavor::Idrac9)
        .manager(|m| {
            m["FirmwareVersion"] = json!("4.40.00.00");
        })
        .build()
        .await;
    old.get(CHASSIS, &json!({})).await;
    old.get(ATTRIBUTES, &attributes_doc()).await;
    let client = old.client();
    let err = old
        .bmc(&client)
        .set_nic_attribute("NIC.Integrated.1-1-1", "VLanId", "100")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Unsupported { what, .. } if what.contains("5.10")),
        "{err}"
    );

    for flavor in [
        Flavor::Generic,
        Flavor::Supermicro,
        Flavor::Ilo5,
        Flavor::Xcc,
    ] {
        let mut fake = MockBmc::new(flavor).build().await;
        let patched = fake
            .mock("PATCH", Matcher::Any)
            .expect(0)
            .create_async()
            .await;
        let client = fake.client();
        let err = fake
            .bmc(&client)
            .set_nic_attribute("NIC.Integrated.1-1-1", "VLanId", "100")
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Unsupported { .. }),
            "{flavor:?}: {err}"
        );
        patched.assert_async().await;
    }
}
