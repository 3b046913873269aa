//! Network adapters on every flavour and the iDRACs' Dell NIC attributes: the adapters and
//! device functions derived from the machine's NICs, the attribute registry, a PATCH checked
//! against it and staged by a config job applied at the next POST.

use std::time::Duration;

use serde_json::json;
use testkit::{FaultProfile, Flavor};
use tokio::time::sleep;

use crate::bmc::{ALL, Bmc, lab, message_id, system_path};

const FUNCTION: &str = "/redfish/v1/Chassis/System.Embedded.1/NetworkAdapters/NIC.Integrated.1/NetworkDeviceFunctions/NIC.Integrated.1-2-1";

#[tokio::test]
async fn every_flavour_lists_its_nics_as_adapters_and_device_functions() {
    let lab = lab(&ALL, 0.0, FaultProfile::none()).await;
    for (index, flavor) in ALL.iter().enumerate() {
        let bmc = Bmc::of(&lab, index);
        let system = bmc.get(system_path(*flavor)).await.json();
        let chassis = system["Links"]["Chassis"][0]["@odata.id"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| bmc_chassis(*flavor));
        let chassis = bmc.get(&chassis).await.json();
        let adapters = chassis["NetworkAdapters"]["@odata.id"].as_str().unwrap();
        let list = bmc.get(adapters).await.json();
        let members: Vec<String> = list["Members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["@odata.id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(members.len(), 2, "{flavor:?}: {members:?}");
        assert!(members[0].ends_with("/NIC.Integrated.1"), "{flavor:?}");
        let adapter = bmc.get(&members[0]).await.json();
        assert_eq!(
            adapter["@odata.type"],
            "#NetworkAdapter.v1_9_0.NetworkAdapter"
        );
        let functions = adapter["NetworkDeviceFunctions"]["@odata.id"]
            .as_str()
            .unwrap();
        let functions = bmc.get(functions).await.json();
        assert_eq!(functions["Members@odata.count"], 2, "{flavor:?}");
        let port = functions["Members"][1]["@odata.id"].as_str().unwrap();
        assert!(port.ends_with("/NIC.Integrated.1-2-1"));
        let port = bmc.get(port).await.json();
        let nic = bmc
            .get(
                port["Links"]["EthernetInterfaces"][0]["@odata.id"]
                    .as_str()
                    .unwrap(),
            )
            .await
            .json();
        assert_eq!(
            port["Ethernet"]["MACAddress"], nic["MACAddress"],
            "{flavor:?}"
        );
        let slot = bmc
            .get(&format!("{}/NetworkDeviceFunctions", members[1]))
            .await
            .json();
        assert_eq!(slot["Members@odata.count"], 1);
        // The Dell attributes exist on iDRACs only.
        let dell_path = format!(
            "{adapters}/NIC.Integrated.1/NetworkDeviceFunctions/NIC.Integrated.1-1-1/Oem/Dell/DellNetworkAttributes/NIC.Integrated.1-1-1"
        );
        let expected = if flavor.is_dell() { 200 } else { 404 };
        assert_eq!(bmc.get(&dell_path).await.status, expected, "{flavor:?}");
        assert_eq!(bmc.get(&format!("{adapters}/NIC.Nope.9")).await.status, 404);
    }
}

fn bmc_chassis(flavor: Flavor) -> String {
    match flavor {
        Flavor::Dell | Flavor::Idrac10 => "/redfish/v1/Chassis/System.Embedded.1".into(),
        Flavor::Generic => "/redfish/v1/Chassis/chassis".into(),
        _ => "/redfish/v1/Chassis/1".into(),
    }
}

#[tokio::test(start_paused = true)]
async fn dell_nic_attributes_are_checked_staged_and_applied_by_a_job() {
    let lab = lab(&[Flavor::Dell], 1.0, FaultProfile::none()).await;
    let bmc = Bmc::of(&lab, 0);
    let attributes = format!("{FUNCTION}/Oem/Dell/DellNetworkAttributes/NIC.Integrated.1-2-1");
    let settings = format!("{attributes}/Settings");
    let now = bmc.get(&attributes).await.json();
    assert_eq!(now["Attributes"]["WakeOnLan"], "Disabled");
    assert_eq!(now["Attributes"]["VLanId"], 1);
    assert_eq!(
        now["AttributeRegistry"],
        "NetworkAttributesRegistry_NIC.Integrated.1-2-1"
    );
    // The registry is listed and served where Badfish looks for it.
    let registries = bmc.get("/redfish/v1/Registries").await.text();
    assert!(registries.contains("NetworkAttributesRegistry_NIC.Slot.3-1-1"));
    let file = bmc
        .get("/redfish/v1/Registries/NetworkAttributesRegistry_NIC.Integrated.1-2-1")
        .await
        .json();
    let registry = bmc
        .get(file["Location"][0]["Uri"].as_str().unwrap())
        .await
        .json();
    let entries = registry["RegistryEntries"]["Attributes"]
        .as_array()
        .unwrap();
    let vlan = entries
        .iter()
        .find(|e| e["AttributeName"] == "VLanId")
        .unwrap();
    assert_eq!(
        (vlan["LowerBound"].clone(), vlan["UpperBound"].clone()),
        (json!(1), json!(4094))
    );
    // Refusals name the attribute.
    for (body, key) in [
        (json!({"Nope": "x"}), "PropertyUnknown"),
        (json!({"WakeOnLan": "Sometimes"}), "PropertyValueNotInList"),
        (json!({"VLanId": 5000}), "PropertyValueNotInList"),
        (
            json!({"MacAddr": "00:00:00:00:00:01"}),
            "PropertyNotWritable",
        ),
    ] {
        let refused = bmc.patch(&settings, json!({"Attributes": body})).await;
        assert_eq!(refused.status, 400);
        assert!(
            message_id(&refused).ends_with(key),
            "{}",
            message_id(&refused)
        );
    }
    let staged = bmc
        .patch(
            &settings,
            json!({"@Redfish.SettingsApplyTime": {"ApplyTime": "OnReset"},
                   "Attributes": {"WakeOnLan": "Enabled", "VLanId": 100}}),
        )
        .await;
    assert_eq!(staged.status, 202);
    let job = staged.header("location").unwrap().to_owned();
    let pending = bmc.get(&settings).await.json();
    assert_eq!(pending["Attributes"]["WakeOnLan"], "Enabled");
    assert_eq!(bmc.get(&job).await.json()["JobType"], "NICConfiguration");
    let again = bmc
        .patch(&settings, json!({"Attributes": {"VLanMode": "Enabled"}}))
        .await;
    assert_eq!(message_id(&again), "IDRAC.2.9.SYS011");
    // Another port is free to take its own change, through POST Jobs.
    let other = "/redfish/v1/Chassis/System.Embedded.1/NetworkAdapters/NIC.Slot.3/NetworkDeviceFunctions/NIC.Slot.3-1-1/Oem/Dell/DellNetworkAttributes/NIC.Slot.3-1-1/Settings";
    let other_set = bmc
        .patch(other, json!({"Attributes": {"LegacyBootProto": "NONE"}}))
        .await;
    assert_eq!(other_set.status, 200);
    let created = bmc
        .post(
            "/redfish/v1/Managers/iDRAC.Embedded.1/Jobs",
            json!({"TargetSettingsURI": other}),
        )
        .await;
    assert_eq!(created.status, 200);
    // Nothing changes before the next POST.
    assert_eq!(
        bmc.get(&attributes).await.json()["Attributes"]["WakeOnLan"],
        "Disabled"
    );
    let system = system_path(Flavor::Dell);
    assert_eq!(bmc.reset(system, "ForceRestart").await.status, 204);
    sleep(Duration::from_secs(600)).await;
    assert_eq!(bmc.get(&job).await.json()["JobState"], "Completed");
    let after = bmc.get(&attributes).await.json();
    assert_eq!(after["Attributes"]["WakeOnLan"], "Enabled");
    assert_eq!(after["Attributes"]["VLanId"], 100);
    assert_eq!(
        lab.with_state(
            |s| s.machines[0].nic_attributes["NIC.Slot.3-1-1"]["LegacyBootProto"].clone()
        ),
        "NONE"
    );
    assert!(
        bmc.get(&settings).await.json()["Attributes"]
            .as_object()
            .unwrap()
            .is_empty()
    );
}
