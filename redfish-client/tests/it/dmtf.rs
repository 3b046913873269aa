//! Supermicro and generic DMTF contract tests: `Boot.BootOrder` with `If-Match`, `BootNext`,
//! `BootSourceOverride`, accounts with login verification, Supermicro's VM1 virtual media,
//! inventory listings.

use mockito::Matcher;
use redfish_client::{
    AccountSpec, AccountState, CancellationToken, Error, Role, Secret, SettingsChange,
};
use serde_json::json;

use crate::common::{Fake, Flavor, collection};
use crate::mock_bmc::{MockBmc, TENANT_TOKEN};

async fn with_boot_options(flavor: Flavor) -> Fake {
    let sys = flavor.system();
    let options = format!("{sys}/BootOptions");
    let system = json!({"Id": "1", "PowerState": "On", "Boot": {
        "BootOrder": ["Boot0001", "Boot0002", "Boot0003"],
        "BootOptions": {"@odata.id": options},
        "BootSourceOverrideTarget": "None",
        "BootSourceOverrideTarget@Redfish.AllowableValues": ["None", "Pxe", "Hdd", "Cd", "UsbCd", "UefiBootNext"]
    },
    "EthernetInterfaces": {"@odata.id": format!("{sys}/EthernetInterfaces")}});
    let mut fake = MockBmc::new(flavor)
        .system_with_etag(system, "\"etag-7\"")
        .build()
        .await;
    fake.get(
        &options,
        &collection(&[
            &format!("{options}/Boot0001"),
            &format!("{options}/Boot0002"),
            &format!("{options}/Boot0003"),
        ]),
    )
    .await;
    for (id, name) in [
        ("Boot0001", "HardDisk.List.1-1"),
        ("Boot0002", "NIC.Slot.1-2-1"),
        ("Boot0003", "NIC.Integrated.1-1-1"),
    ] {
        fake.get(
            &format!("{options}/{id}"),
            &json!({"Id": id, "BootOptionReference": id, "DisplayName": name}),
        )
        .await;
    }
    fake
}

/// The tenant account the account tests set: `cloud02`, an operator, in `state`.
fn cloud02(state: AccountState) -> AccountSpec {
    AccountSpec {
        username: "cloud02".into(),
        password: Secret::new("lab@ticket42"),
        role: Role::Operator,
        state,
    }
}

#[tokio::test]
async fn supermicro_boot_order_is_patched_with_if_match() {
    let mut fake = with_boot_options(Flavor::Supermicro).await;
    let sys = Flavor::Supermicro.system();
    let patch = fake
        .mock("PATCH", sys)
        .match_header("if-match", "\"etag-7\"")
        .match_body(Matcher::Json(
            json!({"Boot": {"BootOrder": ["Boot0003", "Boot0001", "Boot0002"]}}),
        ))
        .with_status(200)
        .expect(1)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let order = bmc.boot_order().await.unwrap();
    assert_eq!(
        order.names(),
        [
            "HardDisk.List.1-1",
            "NIC.Slot.1-2-1",
            "NIC.Integrated.1-1-1"
        ]
    );
    let change = bmc
        .set_boot_order(
            &redfish_client::BootOrderRequest::new(["NIC.Integrated.1-1-1".to_owned()]),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(change, SettingsChange::Applied);
    let unchanged = bmc
        .set_boot_order(
            &redfish_client::BootOrderRequest::new(["HardDisk.List.1-1".to_owned()]),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(unchanged, SettingsChange::Unchanged);
    patch.assert_async().await;
}

#[tokio::test]
async fn a_changed_etag_is_read_again_once() {
    let mut fake = with_boot_options(Flavor::Generic).await;
    let sys = Flavor::Generic.system();
    let stale = fake
        .mock("PATCH", sys)
        .with_status(412)
        .expect(1)
        .create_async()
        .await;
    let ok = fake
        .mock("PATCH", sys)
        .with_status(204)
        .expect(1)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    bmc.set_boot_order(
        &redfish_client::BootOrderRequest::new(["Boot0002".to_owned()]),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    stale.assert_async().await;
    ok.assert_async().await;
}

#[tokio::test]
async fn boot_to_device_uses_boot_next_and_boot_to_mac_finds_the_interface() {
    let mut fake = with_boot_options(Flavor::Generic).await;
    let sys = Flavor::Generic.system();
    fake.get(
        &format!("{sys}/EthernetInterfaces"),
        &collection(&[&format!("{sys}/EthernetInterfaces/NIC.Integrated.1-1-1")]),
    )
    .await;
    fake.get(
        &format!("{sys}/EthernetInterfaces/NIC.Integrated.1-1-1"),
        &json!({"Id": "NIC.Integrated.1-1-1", "MACAddress": "B0:7B:25:DE:AD:01", "LinkStatus": "LinkUp", "SpeedMbps": 25000}),
    )
    .await;
    let patch = fake
        .mock("PATCH", sys)
        .match_body(Matcher::Json(json!({"Boot": {
            "BootSourceOverrideTarget": "UefiBootNext", "BootSourceOverrideEnabled": "Once", "BootNext": "Boot0003"}})))
        .with_status(200)
        .expect(2)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let cancel = CancellationToken::new();
    assert_eq!(
        bmc.boot_to_device("NIC.Integrated.1-1-1", &cancel)
            .await
            .unwrap(),
        SettingsChange::Applied
    );
    assert_eq!(
        bmc.boot_to_mac("b0-7b-25-de-ad-01", &cancel).await.unwrap(),
        SettingsChange::Applied
    );
    let err = bmc
        .boot_to_mac("00:00:00:00:00:00", &cancel)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }));
    let nics = bmc.ethernet_interfaces().await.unwrap();
    assert_eq!(nics[0].speed_mbps, Some(25000));
    patch.assert_async().await;
}

#[tokio::test]
async fn an_unlisted_override_target_is_refused_before_sending() {
    let mut fake = with_boot_options(Flavor::Generic).await;
    let patch = fake
        .mock("PATCH", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let err = bmc
        .set_boot_override(
            &redfish_client::BootSource::UefiHttp,
            redfish_client::BootOverride::Once,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not allowed"), "{err}");
    patch.assert_async().await;
}

/// A BMC that advertises `$expand` and then refuses it (501 for the query parameter, or 400
/// for its value): the accounts are read one by one, with their ETags, and the step succeeds;
/// the handle does not ask again.
#[tokio::test]
async fn a_refused_expand_falls_back_to_reading_each_member() {
    for refusal in [501, 400] {
        let mut fake = MockBmc::new(Flavor::Generic)
            .root(|root| {
                root["ProtocolFeaturesSupported"] = json!({"ExpandQuery": {
                    "ExpandAll": true, "Levels": true, "Links": false, "NoLinks": true, "MaxLevels": 1
                }});
            })
            .no_discovery()
            .build()
            .await;
        let accounts = "/redfish/v1/AccountService/Accounts";
        fake.get(
            "/redfish/v1/AccountService",
            &json!({"Accounts": {"@odata.id": accounts}}),
        )
        .await;
        let expand = fake
            .read(Matcher::Regex(r"^/redfish/v1/AccountService/Accounts\?\$expand=".into()))
            .with_status(refusal)
            .with_body(
                json!({"error": {"code": "Base.1.16.GeneralError", "message": "no",
                    "@Message.ExtendedInfo": [{"MessageId": "Base.1.16.QueryParameterUnsupported"}]}})
                .to_string(),
            )
            .expect(1)
            .create_async()
            .await;
        let plain = fake
            .read(accounts)
            .with_body(
                collection(&[&format!("{accounts}/2"), &format!("{accounts}/3")]).to_string(),
            )
            .expect(2)
            .create_async()
            .await;
        fake.get(
            &format!("{accounts}/2"),
            &json!({"@odata.id": format!("{accounts}/2"), "Id": "2", "UserName": "root", "RoleId": "Administrator"}),
        )
        .await;
        let member = fake
            .mock("GET", format!("{accounts}/3").as_str())
            .with_header("ETag", "\"acct-3\"")
            .with_body(
                json!({"@odata.id": format!("{accounts}/3"), "Id": "3", "UserName": "cloud02",
                    "RoleId": "ReadOnly", "Enabled": false})
                .to_string(),
            )
            .expect(2)
            .create_async()
            .await;
        // The PATCH answers the account: no read-back GET.
        let patch = fake
            .mock("PATCH", format!("{accounts}/3").as_str())
            .match_header("if-match", "\"acct-3\"")
            .with_status(200)
            .with_body(
                json!({"@odata.id": format!("{accounts}/3"), "Id": "3", "UserName": "cloud02",
                    "RoleId": "Operator", "Enabled": true})
                .to_string(),
            )
            .expect(2)
            .create_async()
            .await;
        let tenant_check = fake
            .basic_check("cloud02", "lab@ticket42")
            .with_body(json!({"Id": "AccountService"}).to_string())
            .expect(2)
            .create_async()
            .await;
        let tenant_login = fake.login_as("cloud02").expect(0).create_async().await;
        let client = fake.client();
        let bmc = fake.bmc(&client);
        let spec = cloud02(AccountState::Enabled);
        for _ in 0..2 {
            let out = bmc.set_account(&spec).await.unwrap();
            assert_eq!(out.path, format!("{accounts}/3"), "{refusal}");
            assert!(!out.created && out.verified_login, "{refusal}");
        }
        expand.assert_async().await;
        plain.assert_async().await;
        member.assert_async().await;
        patch.assert_async().await;
        tenant_check.assert_async().await;
        tenant_login.assert_async().await;
    }
}

/// A BMC that advertises `$expand`, answers the expanded collection, and so costs no GET per
/// member: the PATCH carries the member's `@odata.etag`. One that ignores the query (bare
/// references) is read member by member; a member of the wrong shape is a decode error that
/// names it.
#[tokio::test]
async fn expanded_accounts_are_read_once_and_patched_with_their_etag() {
    let accounts = "/redfish/v1/AccountService/Accounts";
    let expand_root = |root: &mut serde_json::Value| {
        root["ProtocolFeaturesSupported"] = json!({"ExpandQuery": {"ExpandAll": true, "Levels": true, "NoLinks": true, "MaxLevels": 1}});
    };
    let account = |id: &str, name: &str, role: &str, enabled: serde_json::Value| {
        json!({"@odata.id": format!("{accounts}/{id}"), "@odata.etag": format!("W/\"tag-{id}\""),
            "Id": id, "UserName": name, "RoleId": role, "Enabled": enabled})
    };
    let spec = cloud02(AccountState::Disabled);
    let expanded_path =
        Matcher::Regex(r"^/redfish/v1/AccountService/Accounts\?\$expand=\.\(\$levels=1\)$".into());

    // Expanded: one read, the PATCH with the annotation's tag, the read-back after a 204.
    let mut fake = MockBmc::new(Flavor::Generic)
        .root(expand_root)
        .no_discovery()
        .build()
        .await;
    fake.get(
        "/redfish/v1/AccountService",
        &json!({"Accounts": {"@odata.id": accounts}}),
    )
    .await;
    let expanded = fake
        .read(expanded_path.clone())
        .with_body(
            json!({"Members": [
                account("2", "root", "Administrator", json!(true)),
                account("3", "cloud02", "ReadOnly", json!(true)),
            ]})
            .to_string(),
        )
        .expect(1)
        .create_async()
        .await;
    let patch = fake
        .mock("PATCH", format!("{accounts}/3").as_str())
        .match_header("if-match", "W/\"tag-3\"")
        .with_status(204)
        .expect(1)
        .create_async()
        .await;
    let back = fake
        .mock("GET", format!("{accounts}/3").as_str())
        .with_body(account("3", "cloud02", "Operator", json!(false)).to_string())
        .expect(1)
        .create_async()
        .await;
    let client = fake.client();
    let out = fake.bmc(&client).set_account(&spec).await.unwrap();
    assert_eq!(out.path, format!("{accounts}/3"));
    assert!(
        !out.verified_login,
        "a disabled account is not logged in as"
    );
    expanded.assert_async().await;
    patch.assert_async().await;
    back.assert_async().await;

    // The query ignored: references come back, the members are read one by one.
    let mut fake = MockBmc::new(Flavor::Generic)
        .root(expand_root)
        .no_discovery()
        .build()
        .await;
    fake.get(
        "/redfish/v1/AccountService",
        &json!({"Accounts": {"@odata.id": accounts}}),
    )
    .await;
    let ignored = fake
        .mock("GET", Matcher::Regex(format!("^{accounts}(\\?.*)?$")))
        .with_body(collection(&[&format!("{accounts}/3")]).to_string())
        .expect(2)
        .create_async()
        .await;
    let member = fake
        .mock("GET", format!("{accounts}/3").as_str())
        .with_header("ETag", "W/\"h3\"")
        .with_body(account("3", "cloud02", "Operator", json!(false)).to_string())
        .expect(2)
        .create_async()
        .await;
    let patch = fake
        .mock("PATCH", format!("{accounts}/3").as_str())
        .match_header("if-match", "W/\"h3\"")
        .with_status(204)
        .expect(1)
        .create_async()
        .await;
    let client = fake.client();
    fake.bmc(&client).set_account(&spec).await.unwrap();
    ignored.assert_async().await;
    member.assert_async().await;
    patch.assert_async().await;

    // A member of the wrong shape: an error naming it.
    let mut fake = MockBmc::new(Flavor::Generic)
        .root(expand_root)
        .no_discovery()
        .build()
        .await;
    fake.get(
        "/redfish/v1/AccountService",
        &json!({"Accounts": {"@odata.id": accounts}}),
    )
    .await;
    let _bad = fake
        .mock("GET", expanded_path)
        .with_body(
            json!({"Members": [
                account("2", "root", "Administrator", json!(true)),
                account("3", "cloud02", "ReadOnly", json!("yes")),
            ]})
            .to_string(),
        )
        .create_async()
        .await;
    let client = fake.client();
    let e = fake.bmc(&client).set_account(&spec).await.unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e}");
    assert!(e.to_string().contains("Members[1].Enabled"), "{e}");
    assert!(!e.to_string().contains("lab@ticket42"), "{e}");
}

#[tokio::test]
async fn tenant_account_is_set_and_verified_by_one_basic_read() {
    let mut fake = MockBmc::new(Flavor::Generic).build().await;
    let accounts = "/redfish/v1/AccountService/Accounts";
    fake.get(
        "/redfish/v1/AccountService",
        &json!({"Accounts": {"@odata.id": accounts}}),
    )
    .await;
    fake.get(
        accounts,
        &collection(&[
            &format!("{accounts}/1"),
            &format!("{accounts}/2"),
            &format!("{accounts}/3"),
        ]),
    )
    .await;
    fake.get(
        &format!("{accounts}/1"),
        &json!({"Id": "1", "UserName": ""}),
    )
    .await;
    fake.get(
        &format!("{accounts}/2"),
        &json!({"Id": "2", "UserName": "root", "RoleId": "Administrator"}),
    )
    .await;
    let _before = fake
        .mock("GET", format!("{accounts}/3").as_str())
        .with_header("ETag", "\"acct-3\"")
        .with_body(
            json!({"Id": "3", "UserName": "cloud02", "RoleId": "ReadOnly", "Enabled": false})
                .to_string(),
        )
        .expect(1)
        .create_async()
        .await;
    let _after = fake
        .mock("GET", format!("{accounts}/3").as_str())
        .with_body(
            json!({"Id": "3", "UserName": "cloud02", "RoleId": "Operator", "Enabled": true})
                .to_string(),
        )
        .create_async()
        .await;
    let patch = fake
        .mock("PATCH", format!("{accounts}/3").as_str())
        .match_header("if-match", "\"acct-3\"")
        .match_body(Matcher::Json(
            json!({"Password": "lab@ticket42", "RoleId": "Operator", "Enabled": true}),
        ))
        .with_status(200)
        .expect(1)
        .create_async()
        .await;
    // the tenant's credentials checked by one read: no session opened for them
    let tenant_check = fake
        .basic_check("cloud02", "lab@ticket42")
        .with_body(json!({"Id": "AccountService"}).to_string())
        .expect(1)
        .create_async()
        .await;
    let tenant_login = fake.login_as("cloud02").expect(0).create_async().await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let spec = cloud02(AccountState::Enabled);
    let out = bmc.set_account(&spec).await.unwrap();
    assert_eq!(out.path, format!("{accounts}/3"));
    assert!(!out.created);
    assert!(out.verified_login);
    patch.assert_async().await;
    tenant_check.assert_async().await;
    tenant_login.assert_async().await;
    assert!(bmc.has_session(), "the operator's own session is untouched");
}

/// A fake whose tenant account `cloud03` the PATCH sets, for the login checks below.
async fn cloud03_account() -> crate::common::Fake {
    let mut fake = MockBmc::new(Flavor::Generic).build().await;
    let accounts = "/redfish/v1/AccountService/Accounts";
    fake.get(
        "/redfish/v1/AccountService",
        &json!({"Accounts": {"@odata.id": accounts}}),
    )
    .await;
    fake.get(accounts, &collection(&[&format!("{accounts}/2")]))
        .await;
    fake.get(
        &format!("{accounts}/2"),
        &json!({"Id": "2", "UserName": "cloud03", "RoleId": "Operator", "Enabled": true}),
    )
    .await;
    let patch = fake
        .mock("PATCH", format!("{accounts}/2").as_str())
        .with_status(200)
        .create_async()
        .await;
    fake.keep.push(patch);
    fake
}

fn cloud03() -> AccountSpec {
    AccountSpec {
        username: "cloud03".into(),
        password: Secret::new("s3cret-value"),
        role: Role::Operator,
        state: AccountState::Enabled,
    }
}

/// A BMC that offers HTTP Basic and refuses the tenant's credentials: the step fails at once
/// with an authentication error, after one failed login on the BMC (no session login tried
/// too), and without the password. One that does not offer Basic (a 401 without it in
/// `WWW-Authenticate`) is asked with a session login, whose refusal fails the step alike.
#[tokio::test]
async fn a_refused_tenant_login_fails_the_account_step_without_the_password() {
    for offers_basic in [true, false] {
        let mut fake = cloud03_account().await;
        let mut refusal = fake.basic_check("cloud03", "s3cret-value").with_status(401);
        if offers_basic {
            refusal = refusal.with_header("WWW-Authenticate", "Basic realm=\"RedfishService\"");
        }
        let refusal = refusal.expect(1).create_async().await;
        let session_login = fake
            .login_as("cloud03")
            .with_status(401)
            .expect(usize::from(!offers_basic))
            .create_async()
            .await;
        let client = fake.client();
        let bmc = fake.bmc(&client);
        let err = bmc.set_account(&cloud03()).await.unwrap_err();
        assert!(matches!(err, Error::Auth { .. }), "{offers_basic}: {err:?}");
        assert!(!format!("{err} {err:?}").contains("s3cret-value"));
        refusal.assert_async().await;
        session_login.assert_async().await;
    }
}

/// Where HTTP Basic tells nothing (a 401 that does not offer it, or a 403), the tenant's
/// login is checked with a session, logged out again.
#[tokio::test]
async fn a_bmc_without_basic_has_the_tenant_login_checked_with_a_session() {
    for (status, header) in [(401, None), (401, Some("Bearer realm=\"x\"")), (403, None)] {
        let mut fake = cloud03_account().await;
        let mut answer = fake
            .basic_check("cloud03", "s3cret-value")
            .with_status(status);
        if let Some(header) = header {
            answer = answer.with_header("WWW-Authenticate", header);
        }
        let answer = answer.expect(1).create_async().await;
        let login = fake
            .tenant_session("cloud03", 9)
            .expect(1)
            .create_async()
            .await;
        let logout = fake
            .tenant_logout(9)
            .match_header("x-auth-token", TENANT_TOKEN)
            .expect(1)
            .create_async()
            .await;
        let client = fake.client();
        let bmc = fake.bmc(&client);
        let out = bmc.set_account(&cloud03()).await.unwrap();
        assert!(out.verified_login, "{status} {header:?}");
        answer.assert_async().await;
        login.assert_async().await;
        logout.assert_async().await;
    }
}

#[tokio::test]
async fn supermicro_virtual_media_uses_vm1_and_iso_config() {
    let mgr = Flavor::Supermicro.manager();
    let mut fake = MockBmc::new(Flavor::Supermicro)
        .system(json!({"Id": "1", "Boot": {"BootSourceOverrideTarget@Redfish.AllowableValues": ["Pxe", "UsbCd", "Hdd"]}}))
        .build()
        .await;
    let cfg = format!("{mgr}/VM1/CfgCD");
    fake.get(
        &format!("{mgr}/VM1"),
        &json!({
            "Oem": {"Supermicro": {"VirtualMediaConfig": {"@odata.id": cfg}}},
            "Members": [{"@odata.id": format!("{mgr}/VM1/CD1")}]
        }),
    )
    .await;
    let config = fake
        .mock("PATCH", cfg.as_str())
        .match_body(Matcher::Json(json!({"Host": "http://10.0.0.5:8080", "Path": "/isos/rhel9.iso", "Username": "", "Password": ""})))
        .with_status(200)
        .expect(1)
        .create_async()
        .await;
    let mount = fake
        .mock("POST", format!("{cfg}/Actions/IsoConfig.Mount").as_str())
        .with_status(200)
        .expect(1)
        .create_async()
        .await;
    fake.get(
        &format!("{mgr}/VM1/CD1"),
        &json!({"Id": "CD1", "Inserted": true, "ImageName": "rhel9.iso"}),
    )
    .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let slot = bmc
        .mount_virtual_media(
            "http://10.0.0.5:8080/isos/rhel9.iso",
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert!(slot.inserted && slot.is_cd);
    config.assert_async().await;
    mount.assert_async().await;
}

#[tokio::test]
async fn processors_and_memory_are_listed() {
    let sys = Flavor::Generic.system();
    let mut fake = MockBmc::new(Flavor::Generic)
        .system(json!({
        "ProcessorSummary": {"Count": 2, "LogicalProcessorCount": 64, "Model": "Xeon Gold 6338"},
        "MemorySummary": {"TotalSystemMemoryGiB": 512.0},
        "Processors": {"@odata.id": format!("{sys}/Processors")},
        "Memory": {"@odata.id": format!("{sys}/Memory")}
    }))
        .build()
        .await;
    fake.get(
        &format!("{sys}/Processors"),
        &collection(&[
            &format!("{sys}/Processors/CPU1"),
            &format!("{sys}/Processors/GPU1"),
        ]),
    )
    .await;
    fake.get(
        &format!("{sys}/Processors/CPU1"),
        &json!({"Id": "CPU1", "ProcessorType": "CPU", "TotalCores": 32}),
    )
    .await;
    fake.get(
        &format!("{sys}/Processors/GPU1"),
        &json!({"Id": "GPU1", "ProcessorType": "GPU"}),
    )
    .await;
    fake.get(
        &format!("{sys}/Memory"),
        &collection(&[&format!("{sys}/Memory/DIMM1")]),
    )
    .await;
    fake.get(
        &format!("{sys}/Memory/DIMM1"),
        &json!({"Id": "DIMM1", "CapacityMiB": 32768}),
    )
    .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let cpus = bmc.processors().await.unwrap();
    assert_eq!(cpus.summary.count, Some(2));
    assert_eq!(cpus.processors.len(), 1);
    assert_eq!(cpus.processors[0].total_cores, Some(32));
    let mem = bmc.memory().await.unwrap();
    assert_eq!(mem.summary.total_gib, Some(512.0));
    assert_eq!(mem.dimms[0].capacity_mib, Some(32768));
}

#[tokio::test]
async fn an_action_answering_202_is_followed_through_its_task_not_posted_again() {
    let mut fake = MockBmc::new(Flavor::Generic).build().await;
    let vm = format!("{}/VirtualMedia", Flavor::Generic.manager());
    fake.get(&vm, &collection(&[&format!("{vm}/CD1")])).await;
    let _before = fake
        .mock("GET", format!("{vm}/CD1").as_str())
        .with_body(json!({"Id": "CD1", "MediaTypes": ["CD"], "Inserted": false}).to_string())
        .expect(2)
        .create_async()
        .await;
    let _after = fake
        .mock("GET", format!("{vm}/CD1").as_str())
        .with_body(
            json!({"Id": "CD1", "MediaTypes": ["CD"], "Inserted": true, "Image": "http://h/x.iso"})
                .to_string(),
        )
        .create_async()
        .await;
    let insert = fake
        .mock(
            "POST",
            format!("{vm}/CD1/Actions/VirtualMedia.InsertMedia").as_str(),
        )
        .with_status(202)
        .with_header("Location", "/redfish/v1/TaskService/Tasks/7")
        .expect(1)
        .create_async()
        .await;
    let running = fake
        .mock("GET", "/redfish/v1/TaskService/Tasks/7")
        .with_body(json!({"Id": "7", "TaskState": "Running", "PercentComplete": 50}).to_string())
        .expect(2)
        .create_async()
        .await;
    let done = fake
        .mock("GET", "/redfish/v1/TaskService/Tasks/7")
        .with_body(json!({"Id": "7", "TaskState": "Completed", "TaskStatus": "OK"}).to_string())
        .expect(1)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let slot = bmc
        .mount_virtual_media("http://h/x.iso", &CancellationToken::new())
        .await
        .unwrap();
    assert!(slot.inserted);
    insert.assert_async().await;
    running.assert_async().await;
    done.assert_async().await;
}

#[tokio::test]
async fn a_task_that_fails_is_an_error_with_its_message() {
    let sys = Flavor::Generic.system();
    let mut fake = MockBmc::new(Flavor::Generic)
        .system(json!({"PowerState": "Off"}))
        .build()
        .await;
    let _reset = fake
        .mock(
            "POST",
            format!("{sys}/Actions/ComputerSystem.Reset").as_str(),
        )
        .with_status(202)
        .with_header("Location", "/redfish/v1/TaskService/Tasks/8")
        .create_async()
        .await;
    fake.get(
        "/redfish/v1/TaskService/Tasks/8",
        &json!({"TaskState": "Exception", "Messages": [{"Message": "power supply fault"}]}),
    )
    .await;
    let client = fake.client();
    let err = fake
        .bmc(&client)
        .power_on(&CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::JobFailed { .. }), "{err:?}");
    assert!(err.to_string().contains("power supply fault"), "{err}");
}

/// The accounts are looked for at the URI the schema gives the collection; a service that
/// keeps them elsewhere answers 404 there, and the account service's link is followed (one
/// read more, no error). The 404 does not count as a refusal of `$expand`.
#[tokio::test]
async fn accounts_kept_elsewhere_are_found_through_the_account_service() {
    let elsewhere = "/redfish/v1/AccountService/ManagerAccounts";
    let mut fake = MockBmc::new(Flavor::Generic).no_discovery().build().await;
    let conventional = fake
        .mock("GET", "/redfish/v1/AccountService/Accounts")
        .with_status(404)
        .expect(1)
        .create_async()
        .await;
    let service = fake
        .read("/redfish/v1/AccountService")
        .with_body(json!({"Accounts": {"@odata.id": elsewhere}}).to_string())
        .expect(1)
        .create_async()
        .await;
    fake.get(elsewhere, &collection(&[&format!("{elsewhere}/2")]))
        .await;
    let member = fake
        .read(format!("{elsewhere}/2").as_str())
        .with_header("ETag", "\"acct-2\"")
        .with_body(
            json!({"@odata.id": format!("{elsewhere}/2"), "Id": "2", "UserName": "cloud02",
                "RoleId": "Operator", "Enabled": false})
            .to_string(),
        )
        .expect(2)
        .create_async()
        .await;
    let patch = fake
        .mock("PATCH", format!("{elsewhere}/2").as_str())
        .match_header("if-match", "\"acct-2\"")
        .with_status(204)
        .expect(1)
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let spec = cloud02(AccountState::Disabled);
    let out = bmc.set_account(&spec).await.unwrap();
    assert_eq!(out.path, format!("{elsewhere}/2"));
    assert!(!out.created);
    conventional.assert_async().await;
    service.assert_async().await;
    member.assert_async().await;
    patch.assert_async().await;
}

/// A BMC that refuses `Enabled` in an account PATCH (400) gets the new password alone: the
/// revocation reports `Rotated`, not `Disabled`, and the password never shows in an error.
#[tokio::test]
async fn a_bmc_that_will_not_disable_accounts_gets_the_password_rotated() {
    let accounts = "/redfish/v1/AccountService/Accounts";
    let account = json!({"@odata.id": format!("{accounts}/3"), "Id": "3", "UserName": "quads",
        "RoleId": "Operator", "Enabled": true});
    let mut fake = MockBmc::new(Flavor::Generic).no_discovery().build().await;
    fake.get(
        accounts,
        &json!({"Members": [{"@odata.id": format!("{accounts}/3")}]}),
    )
    .await;
    let member = fake
        .mock("GET", format!("{accounts}/3").as_str())
        .with_body(account.to_string())
        .expect(2)
        .create_async()
        .await;
    let refused = fake
        .mock("PATCH", format!("{accounts}/3").as_str())
        .match_body(Matcher::Json(
            json!({"Password": "rotated-0001", "Enabled": false}),
        ))
        .with_status(400)
        .with_body(
            json!({"error": {"code": "Base.1.8.PropertyNotWritable", "message": "Enabled is read only"}})
                .to_string(),
        )
        .expect(1)
        .create_async()
        .await;
    let rotated = fake
        .mock("PATCH", format!("{accounts}/3").as_str())
        .match_body(Matcher::Json(json!({"Password": "rotated-0001"})))
        .with_status(204)
        .expect(1)
        .create_async()
        .await;
    let client = fake.client();
    let out = fake
        .bmc(&client)
        .revoke_account("quads", &Secret::new("rotated-0001"))
        .await
        .unwrap();
    assert_eq!(out, redfish_client::Revocation::Rotated);
    refused.assert_async().await;
    rotated.assert_async().await;
    member.assert_async().await;
}

/// Where a BMC may name its virtual media: every place is followed before "not supported".
#[tokio::test]
async fn virtual_media_is_found_in_the_managers_links_the_system_or_the_conventional_paths() {
    let g = Flavor::Generic;
    let slot = |path: &str| json!({"@odata.id": path, "Id": "CD1", "MediaTypes": ["CD", "DVD"], "Inserted": false});
    let no_media = |m: &mut serde_json::Value| {
        m.as_object_mut().unwrap().remove("VirtualMedia");
    };
    // Only under the Manager's Links, at a path nobody would guess.
    let mut fake = MockBmc::new(g)
        .manager(|m| {
            no_media(m);
            m["Links"] = json!({"VirtualMedia": {"@odata.id": "/redfish/v1/Managers/BMC/VM"}});
        })
        .build()
        .await;
    fake.get(
        "/redfish/v1/Managers/BMC/VM",
        &collection(&["/redfish/v1/Managers/BMC/VM/CD1"]),
    )
    .await;
    fake.get(
        "/redfish/v1/Managers/BMC/VM/CD1",
        &slot("/redfish/v1/Managers/BMC/VM/CD1"),
    )
    .await;
    let client = fake.client();
    let slots = fake.bmc(&client).virtual_media().await.unwrap();
    assert_eq!(slots[0].path, "/redfish/v1/Managers/BMC/VM/CD1");

    // Under the System.
    let mut fake = MockBmc::new(g).manager(no_media).build().await;
    let vm = format!("{}/VirtualMedia", g.system());
    fake.get(
        g.system(),
        &json!({"Id": "437XR1138R2", "VirtualMedia": {"@odata.id": vm}}),
    )
    .await;
    fake.get(&vm, &collection(&[&format!("{vm}/CD1")])).await;
    fake.get(&format!("{vm}/CD1"), &slot(&format!("{vm}/CD1")))
        .await;
    let client = fake.client();
    let slots = fake.bmc(&client).virtual_media().await.unwrap();
    assert_eq!(slots[0].path, format!("{vm}/CD1"));

    // Named nowhere, served at the conventional path under the System.
    let mut fake = MockBmc::new(g).manager(no_media).build().await;
    fake.get(g.system(), &json!({"Id": "437XR1138R2"})).await;
    let missing = fake
        .mock("GET", format!("{}/VirtualMedia", g.manager()).as_str())
        .with_status(404)
        .expect(1)
        .create_async()
        .await;
    fake.get(&vm, &collection(&[&format!("{vm}/CD1")])).await;
    fake.get(&format!("{vm}/CD1"), &slot(&format!("{vm}/CD1")))
        .await;
    let client = fake.client();
    let slots = fake.bmc(&client).virtual_media().await.unwrap();
    assert_eq!(slots[0].path, format!("{vm}/CD1"));
    missing.assert_async().await;

    // Nowhere at all: not supported, saying where it looked.
    let mut fake = MockBmc::new(g).manager(no_media).build().await;
    fake.get(g.system(), &json!({"Id": "437XR1138R2"})).await;
    let mut absent = Vec::new();
    for path in [format!("{}/VirtualMedia", g.manager()), vm.clone()] {
        absent.push(
            fake.mock("GET", path.as_str())
                .with_status(404)
                .expect(1)
                .create_async()
                .await,
        );
    }
    let client = fake.client();
    let err = fake.bmc(&client).virtual_media().await.unwrap_err();
    assert!(
        matches!(err, redfish_client::Error::Unsupported { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("Links"), "{err}");
    for m in absent {
        m.assert_async().await;
    }
}
