//! The fake BMCs over real loopback HTTPS: discovery, sessions, accounts, power in model time,
//! ETags, Dell boot order and jobs, one-time boots, iDRAC10 paths, virtual media, BMC resets and
//! every BMC fault. Timing tests run under a paused tokio clock (virtual time, time scale 1).

use std::time::Duration;

use serde_json::{Value, json};
use testkit::machine::{BootedFrom, Phase};
use testkit::probe::Answer;
use testkit::{FaultProfile, Flavor, HostType, Lab, LabConfig, LabModel, OemActionsPlace, Probe};
use tokio::time::{Instant, sleep_until};

const ROOT: &str = "/redfish/v1";

/// A lab of one host per flavour given, with deterministic (sigma 0) service times.
pub(crate) async fn lab(flavors: &[Flavor], time_scale: f64, faults: FaultProfile) -> Lab {
    let mut model = LabModel::default();
    model.bmc.sigma = 0.0;
    Lab::start(LabConfig {
        hosts: flavors.len(),
        flavors: flavors.to_vec(),
        time_scale,
        faults,
        model,
        ..LabConfig::default()
    })
    .await
    .unwrap()
}

/// One BMC of a lab, with a probe logged in as the lab's administrator (Basic).
pub(crate) struct Bmc {
    pub(crate) url: String,
    pub(crate) admin: Probe,
    pub(crate) anon: Probe,
    name: String,
}

impl Bmc {
    pub(crate) fn of(lab: &Lab, index: usize) -> Self {
        let probe = Probe::new(lab.ca_pem());
        Self {
            url: lab.bmc_url(index),
            admin: probe.with_basic("root", "calvin"),
            anon: probe,
            name: lab.inventory().hosts[index].name.clone(),
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.url)
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Answer {
        self.admin.get(&self.url(path)).await.unwrap()
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Answer {
        self.admin.post(&self.url(path), &body).await.unwrap()
    }

    pub(crate) async fn patch(&self, path: &str, body: Value) -> Answer {
        self.admin.patch(&self.url(path), &body).await.unwrap()
    }

    async fn login(&self, user: &str, password: &str) -> Answer {
        self.anon
            .post(
                &self.url("/redfish/v1/SessionService/Sessions"),
                &json!({"UserName": user, "Password": password}),
            )
            .await
            .unwrap()
    }

    async fn power(&self, system: &str) -> String {
        self.get(system).await.json()["PowerState"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub(crate) async fn reset(&self, system: &str, kind: &str) -> Answer {
        self.post(
            &format!("{system}/Actions/ComputerSystem.Reset"),
            json!({"ResetType": kind}),
        )
        .await
    }
}

/// The first `MessageId` of an error answer.
pub(crate) fn message_id(answer: &Answer) -> String {
    answer.json()["error"]["@Message.ExtendedInfo"][0]["MessageId"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

pub(crate) fn system_path(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Dell | Flavor::Idrac10 => "/redfish/v1/Systems/System.Embedded.1",
        Flavor::Supermicro | Flavor::Hpe | Flavor::Lenovo => "/redfish/v1/Systems/1",
        Flavor::Generic => "/redfish/v1/Systems/system",
    }
}

pub(crate) const ALL: [Flavor; 6] = [
    Flavor::Dell,
    Flavor::Idrac10,
    Flavor::Supermicro,
    Flavor::Generic,
    Flavor::Hpe,
    Flavor::Lenovo,
];

/// Puts a host in a known state: running from disk, with the given persistent order.
fn prepare(lab: &Lab, index: usize, order: HostType, build: bool) {
    lab.with_state(|state| {
        let m = &mut state.machines[index];
        m.phase = Phase::Running {
            from: BootedFrom::Disk,
        };
        m.boot_order = testkit::lab::interfaces_order(&m.model, order);
        m.build = build;
    });
}

#[tokio::test]
async fn service_root_and_discovery_per_flavour() {
    let lab = lab(&ALL, 0.0, FaultProfile::none()).await;
    for (index, flavor) in ALL.into_iter().enumerate() {
        let bmc = Bmc::of(&lab, index);
        let versions = bmc.anon.get(&bmc.url("/redfish")).await.unwrap();
        assert_eq!(versions.json()["v1"], "/redfish/v1/", "{flavor:?}");
        for root in ["/redfish/v1", "/redfish/v1/"] {
            let answer = bmc.anon.get(&bmc.url(root)).await.unwrap();
            assert_eq!(answer.status, 200, "{flavor:?}");
            assert_eq!(answer.header("odata-version"), Some("4.0"));
            let body = answer.json();
            assert_eq!(body["@odata.type"], "#ServiceRoot.v1_15_0.ServiceRoot");
            assert_eq!(
                body["Links"]["Sessions"]["@odata.id"],
                "/redfish/v1/SessionService/Sessions"
            );
            assert_eq!(body["RedfishVersion"], "1.17.0");
        }
        let root = bmc.get(ROOT).await.json();
        match flavor {
            Flavor::Dell | Flavor::Idrac10 => {
                assert!(root["Oem"]["Dell"]["ServiceTag"].is_string());
            }
            Flavor::Supermicro => assert!(root["Oem"]["Supermicro"].is_object()),
            Flavor::Generic => assert!(root.get("Oem").is_none()),
            Flavor::Hpe => assert!(root["Oem"]["Hpe"].is_object()),
            Flavor::Lenovo => assert!(root["Oem"]["Lenovo"].is_object()),
        }
        let odata = bmc.anon.get(&bmc.url("/redfish/v1/odata")).await.unwrap();
        assert_eq!(odata.json()["value"][0]["url"], "/redfish/v1/");
        let metadata = bmc
            .anon
            .get(&bmc.url("/redfish/v1/$metadata"))
            .await
            .unwrap();
        assert_eq!(metadata.status, 200);
        assert!(metadata.header("content-type").unwrap().contains("xml"));
        assert!(
            metadata
                .text()
                .contains("Uri=\"http://redfish.dmtf.org/schemas/v1/ComputerSystem_v1.xml\"")
        );

        let systems = bmc.get("/redfish/v1/Systems").await.json();
        assert_eq!(systems["Members"][0]["@odata.id"], system_path(flavor));
        let system = bmc.get(system_path(flavor)).await;
        assert!(system.header("etag").is_some());
        let system = system.json();
        assert!(
            system["@odata.type"]
                .as_str()
                .unwrap()
                .starts_with("#ComputerSystem.v1_")
        );
        assert_eq!(system["@odata.id"], system_path(flavor));
        assert!(system["Id"].is_string() && system["Name"].is_string());
        let managers = bmc.get("/redfish/v1/Managers").await.json();
        let manager = managers["Members"][0]["@odata.id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(bmc.get(&manager).await.json()["ManagerType"], "BMC");
        let chassis = bmc.get("/redfish/v1/Chassis").await.json();
        let chassis = chassis["Members"][0]["@odata.id"]
            .as_str()
            .unwrap()
            .to_owned();
        let power = bmc.get(&format!("{chassis}/Power")).await.json();
        assert!(
            power["PowerControl"][0]["PowerConsumedWatts"]
                .as_u64()
                .unwrap()
                > 0
        );
        let nics = bmc
            .get(&format!("{}/EthernetInterfaces", system_path(flavor)))
            .await
            .json();
        assert_eq!(nics["Members@odata.count"], 3);
        let host = &lab.inventory().hosts[index];
        let nic = bmc
            .get(&format!(
                "{}/EthernetInterfaces/{}",
                system_path(flavor),
                host.provisioning_nic
            ))
            .await
            .json();
        assert!(
            nic["MACAddress"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case(&host.provisioning_mac)
        );
        let firmware = bmc
            .get("/redfish/v1/UpdateService/FirmwareInventory/")
            .await
            .json();
        assert!(firmware["Members@odata.count"].as_u64().unwrap() >= 2);

        // Anything else needs credentials, and errors carry ExtendedInfo.
        let refused = bmc.anon.get(&bmc.url("/redfish/v1/Systems")).await.unwrap();
        assert_eq!(refused.status, 401);
        assert!(refused.header("www-authenticate").is_some());
        assert!(message_id(&refused).ends_with("NoValidSession"));
        let wrong = bmc
            .anon
            .with_basic("root", "wrong")
            .get(&bmc.url("/redfish/v1/Systems"))
            .await
            .unwrap();
        assert_eq!(wrong.status, 401);
        let missing = bmc.get("/redfish/v1/Nowhere").await;
        assert_eq!(missing.status, 404);
        assert!(message_id(&missing).ends_with("ResourceMissingAtURI"));
        let not_allowed = bmc
            .admin
            .delete(&bmc.url(system_path(flavor)))
            .await
            .unwrap();
        assert_eq!(not_allowed.status, 405);
        assert!(not_allowed.header("allow").unwrap().contains("PATCH"));
    }
    let metrics = lab.metrics();
    assert!(metrics.endpoint("bmc GET /redfish/v1/Systems/:id") >= 4);
}

#[tokio::test]
async fn sessions_are_created_used_deleted_and_counted() {
    let lab = lab(&ALL, 0.0, FaultProfile::none()).await;
    for (index, flavor) in ALL.into_iter().enumerate() {
        let bmc = Bmc::of(&lab, index);
        assert_eq!(bmc.login("root", "nope").await.status, 401);
        let login = bmc.login("root", "calvin").await;
        assert_eq!(login.status, 201, "{flavor:?}");
        let token = login.header("x-auth-token").unwrap().to_owned();
        assert_eq!(token.len(), 32);
        let location = login.header("location").unwrap().to_owned();
        assert!(location.starts_with("/redfish/v1/SessionService/Sessions/"));
        assert_eq!(login.json()["UserName"], "root");
        let session = bmc.anon.with_token(&token);
        let systems = session.get(&bmc.url("/redfish/v1/Systems")).await.unwrap();
        assert_eq!(systems.status, 200);
        assert_eq!(session.get(&bmc.url(&location)).await.unwrap().status, 200);
        let bogus = bmc.anon.with_token("0123456789abcdef0123456789abcdef");
        assert_eq!(
            bogus
                .get(&bmc.url("/redfish/v1/Systems"))
                .await
                .unwrap()
                .status,
            401
        );
        let logout = session.delete(&bmc.url(&location)).await.unwrap();
        assert!(logout.status.is_success(), "{flavor:?} {}", logout.status);
        assert_eq!(
            session
                .get(&bmc.url("/redfish/v1/Systems"))
                .await
                .unwrap()
                .status,
            401
        );
        let counters = lab.metrics().host(&bmc.name);
        assert_eq!(
            (
                counters.sessions_opened,
                counters.sessions_closed,
                counters.sessions_open,
                counters.peak_sessions
            ),
            (1, 1, 0, 1),
            "{flavor:?}"
        );
    }
}

#[tokio::test]
async fn the_session_limit_answers_503_until_a_slot_frees() {
    let lab = lab(&[Flavor::Dell, Flavor::Generic], 0.0, FaultProfile::none()).await;
    for index in 0..2 {
        let bmc = Bmc::of(&lab, index);
        let mut locations = Vec::new();
        for _ in 0..8 {
            let login = bmc.login("root", "calvin").await;
            assert_eq!(login.status, 201);
            locations.push(login.header("location").unwrap().to_owned());
        }
        let refused = bmc.login("root", "calvin").await;
        assert_eq!(refused.status, 503);
        let info = &refused.json()["error"]["@Message.ExtendedInfo"][0];
        if index == 0 {
            assert_eq!(info["MessageId"], "IDRAC.2.9.RAC0218");
            assert_eq!(
                info["Message"],
                "The maximum number of user sessions is reached."
            );
        } else {
            assert!(
                info["MessageId"]
                    .as_str()
                    .unwrap()
                    .ends_with("SessionLimitExceeded")
            );
        }
        // Basic authentication needs no session slot.
        assert_eq!(bmc.get("/redfish/v1/Systems").await.status, 200);
        let sessions = bmc.get("/redfish/v1/SessionService/Sessions").await.json();
        assert_eq!(sessions["Members@odata.count"], 8);
        assert!(
            bmc.admin
                .delete(&bmc.url(&locations[0]))
                .await
                .unwrap()
                .status
                .is_success()
        );
        assert_eq!(bmc.login("root", "calvin").await.status, 201);
        let counters = lab.metrics().host(&bmc.name);
        assert_eq!(counters.peak_sessions, 8);
        assert_eq!(counters.sessions_open, 8);
    }
}

#[tokio::test]
async fn dell_accounts_change_and_the_changes_govern_logins() {
    let lab = lab(&[Flavor::Dell], 0.0, FaultProfile::none()).await;
    let bmc = Bmc::of(&lab, 0);
    let accounts = bmc.get("/redfish/v1/AccountService/Accounts").await.json();
    assert_eq!(accounts["Members@odata.count"], 16);
    let root = bmc
        .get("/redfish/v1/AccountService/Accounts/2")
        .await
        .json();
    assert_eq!(root["UserName"], "root");
    assert_eq!(root["Password"], Value::Null);
    assert_eq!(root["RoleId"], "Administrator");

    let slot = "/redfish/v1/AccountService/Accounts/3";
    let created = bmc
        .patch(
            slot,
            json!({"UserName": "tenant", "Password": "cloud02@1234", "RoleId": "Operator", "Enabled": true}),
        )
        .await;
    assert_eq!(created.status, 200);
    assert_eq!(bmc.login("tenant", "cloud02@1234").await.status, 201);
    let tenant = bmc.anon.with_basic("tenant", "cloud02@1234");
    // An operator powers and boots but does not manage accounts.
    let forbidden = tenant
        .patch(&bmc.url(slot), &json!({"RoleId": "Administrator"}))
        .await
        .unwrap();
    assert_eq!(forbidden.status, 403);
    assert!(message_id(&forbidden).ends_with("InsufficientPrivilege"));
    // ... except its own password.
    let own = tenant
        .patch(&bmc.url(slot), &json!({"Password": "cloud03@5678"}))
        .await
        .unwrap();
    assert_eq!(own.status, 200);
    assert_eq!(bmc.login("tenant", "cloud02@1234").await.status, 401);
    assert_eq!(bmc.login("tenant", "cloud03@5678").await.status, 201);

    let read_only = bmc.patch(slot, json!({"RoleId": "ReadOnly"})).await;
    assert_eq!(read_only.status, 200);
    let reader = bmc.anon.with_basic("tenant", "cloud03@5678");
    let system = system_path(Flavor::Dell);
    let reset = reader
        .post(
            &bmc.url(&format!("{system}/Actions/ComputerSystem.Reset")),
            &json!({"ResetType": "ForceRestart"}),
        )
        .await
        .unwrap();
    assert_eq!(reset.status, 403);
    assert_eq!(reader.get(&bmc.url(system)).await.unwrap().status, 200);

    assert_eq!(bmc.patch(slot, json!({"Enabled": false})).await.status, 200);
    assert_eq!(bmc.login("tenant", "cloud03@5678").await.status, 401);
    assert_eq!(
        reader.get(&bmc.url(system)).await.unwrap().status,
        401,
        "a disabled account is refused on Basic too"
    );
    let bad_role = bmc.patch(slot, json!({"RoleId": "Emperor"})).await;
    assert_eq!(bad_role.status, 400);
    assert!(message_id(&bad_role).ends_with("PropertyValueNotInList"));
    let unknown = bmc.patch(slot, json!({"Shoe": 1})).await;
    assert!(message_id(&unknown).ends_with("PropertyUnknown"));
    // iDRAC creates accounts by filling slots: POST and DELETE are not allowed.
    assert_eq!(
        bmc.post("/redfish/v1/AccountService/Accounts", json!({}))
            .await
            .status,
        405
    );
}

#[tokio::test]
async fn generic_accounts_are_created_and_deleted() {
    let lab = lab(&[Flavor::Generic], 0.0, FaultProfile::none()).await;
    let bmc = Bmc::of(&lab, 0);
    let created = bmc
        .post(
            "/redfish/v1/AccountService/Accounts",
            json!({"UserName": "tenant", "Password": "secret99", "RoleId": "Operator"}),
        )
        .await;
    assert_eq!(created.status, 201);
    let location = created.header("location").unwrap().to_owned();
    assert_eq!(bmc.login("tenant", "secret99").await.status, 201);
    let duplicate = bmc
        .post(
            "/redfish/v1/AccountService/Accounts",
            json!({"UserName": "tenant", "Password": "secret99", "RoleId": "Operator"}),
        )
        .await;
    assert_eq!(duplicate.status, 409);
    let account = bmc.get(&location).await;
    let etag = account.header("etag").unwrap().to_owned();
    let stale = bmc
        .admin
        .send(
            http::Method::PATCH,
            &bmc.url(&location),
            &[("If-Match", "W/\"0000000000000000\"")],
            Some(&json!({"Password": "another1"})),
        )
        .await
        .unwrap();
    assert_eq!(stale.status, 412);
    let fresh = bmc
        .admin
        .send(
            http::Method::PATCH,
            &bmc.url(&location),
            &[("If-Match", etag.as_str())],
            Some(&json!({"Password": "another1"})),
        )
        .await
        .unwrap();
    assert_eq!(fresh.status, 204);
    assert_eq!(bmc.login("tenant", "another1").await.status, 201);
    assert_eq!(
        bmc.admin.delete(&bmc.url(&location)).await.unwrap().status,
        204
    );
    assert_eq!(bmc.login("tenant", "another1").await.status, 401);
    let roles = bmc.get("/redfish/v1/AccountService/Roles").await.json();
    assert_eq!(roles["Members@odata.count"], 3);
}

#[tokio::test]
async fn reset_lists_allowable_values_and_refuses_others() {
    let lab = lab(&ALL, 0.0, FaultProfile::none()).await;
    for (index, flavor) in ALL.into_iter().enumerate() {
        prepare(&lab, index, HostType::Foreman, false);
        let bmc = Bmc::of(&lab, index);
        let system = system_path(flavor);
        let body = bmc.get(system).await.json();
        let action = &body["Actions"]["#ComputerSystem.Reset"];
        assert_eq!(
            action["target"],
            format!("{system}/Actions/ComputerSystem.Reset")
        );
        let allowed: Vec<&str> = action["ResetType@Redfish.AllowableValues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(allowed.contains(&"ForceOff") && allowed.contains(&"On"));
        let bad = bmc.reset(system, "Reboot").await;
        assert_eq!(bad.status, 400, "{flavor:?}");
        assert!(message_id(&bad).ends_with("ActionParameterValueNotInList"));
        let missing = bmc
            .post(&format!("{system}/Actions/ComputerSystem.Reset"), json!({}))
            .await;
        assert!(message_id(&missing).ends_with("ActionParameterMissing"));
        // "On" while on: iDRAC answers 409, Supermicro and iLO 200, the generic BMC and XCC 204.
        let on = bmc.reset(system, "On").await;
        let expected = match flavor {
            Flavor::Dell | Flavor::Idrac10 => 409,
            Flavor::Supermicro | Flavor::Hpe => 200,
            Flavor::Generic | Flavor::Lenovo => 204,
        };
        assert_eq!(on.status, expected, "{flavor:?}");
        if flavor.is_dell() {
            assert_eq!(message_id(&on), "IDRAC.2.9.PSU502");
        }
        let off = bmc.reset(system, "ForceOff").await;
        assert!(off.status.is_success());
        assert_eq!(bmc.power(system).await, "Off");
    }
    assert_eq!(
        lab.metrics()
            .host(&lab.inventory().hosts[0].name)
            .resets
            .get("ForceOff"),
        Some(&1)
    );
}

#[tokio::test]
async fn ilo_cold_boot_is_its_power_cycle_and_aux_cycle_is_refused() {
    for (place, key) in [
        (OemActionsPlace::Dsp0266, "Oem"),
        (OemActionsPlace::VendorKey, "Oem/Hpe"),
    ] {
        let lab = Lab::start(LabConfig {
            hosts: 2,
            flavors: vec![Flavor::Hpe, Flavor::Dell],
            time_scale: 0.0,
            oem_actions_place: place,
            ..LabConfig::default()
        })
        .await
        .unwrap();
        prepare(&lab, 0, HostType::Foreman, false);
        let bmc = Bmc::of(&lab, 0);
        let system = system_path(Flavor::Hpe);
        let body = bmc.get(system).await.json();
        let mut action = &body["Actions"];
        for part in key.split('/') {
            action = &action[part];
        }
        let action = &action["#HpeComputerSystemExt.SystemReset"];
        let target = format!("{system}/Actions/{key}/HpeComputerSystemExt.SystemReset");
        assert_eq!(action["target"], target.as_str(), "{place:?}");
        assert_eq!(
            action["ResetType@Redfish.AllowableValues"],
            json!(["ColdBoot", "AuxCycle"])
        );
        let reset_types =
            &body["Actions"]["#ComputerSystem.Reset"]["ResetType@Redfish.AllowableValues"];
        assert!(
            !reset_types
                .as_array()
                .unwrap()
                .contains(&json!("PowerCycle"))
        );
        // not a ComputerSystem.Reset type
        assert_eq!(bmc.reset(system, "ColdBoot").await.status, 400);
        let aux = bmc.post(&target, json!({"ResetType": "AuxCycle"})).await;
        assert_eq!(aux.status, 400);
        assert!(message_id(&aux).ends_with("GeneralError"), "{}", aux.text());
        let bad = bmc.post(&target, json!({"ResetType": "PowerCycle"})).await;
        assert!(message_id(&bad).ends_with("ActionParameterValueNotInList"));
        // iLO 5 answers with or without the trailing slash
        let cold = bmc
            .post(&format!("{target}/"), json!({"ResetType": "ColdBoot"}))
            .await;
        assert_eq!(cold.status, 200, "{}", cold.text());
        // at time scale 0 the cycle is over once the machine is advanced to now
        assert_eq!(bmc.power(system).await, "On");
        let counters = lab.metrics().host(&lab.inventory().hosts[0].name);
        assert_eq!((counters.boots, counters.power_cycles), (1, 1));
        assert_eq!(counters.resets.get("ColdBoot"), Some(&1));
        // iLO's action only
        let dell = Bmc::of(&lab, 1);
        let dell_system = system_path(Flavor::Dell);
        assert!(dell.get(dell_system).await.json()["Actions"]["Oem"].is_null());
        let elsewhere = dell
            .post(
                &format!("{dell_system}/Actions/{key}/HpeComputerSystemExt.SystemReset"),
                json!({"ResetType": "ColdBoot"}),
            )
            .await;
        assert_eq!(elsewhere.status, 404);
    }
}

#[tokio::test(start_paused = true)]
async fn power_transitions_take_the_model_time() {
    let lab = lab(&[Flavor::Dell, Flavor::Generic], 1.0, FaultProfile::none()).await;
    for (index, flavor) in [Flavor::Dell, Flavor::Generic].into_iter().enumerate() {
        prepare(&lab, index, HostType::Foreman, false);
        let bmc = Bmc::of(&lab, index);
        let system = system_path(flavor);
        let start = Instant::now();
        assert!(bmc.reset(system, "ForceOff").await.status.is_success());
        // The action took the model's 1 s; power_off is 5 s from the request.
        assert!(start.elapsed() >= Duration::from_secs(1));
        assert_eq!(bmc.power(system).await, "On");
        sleep_until(start + Duration::from_millis(4700)).await;
        assert_eq!(bmc.power(system).await, "On", "{flavor:?} off too early");
        sleep_until(start + Duration::from_millis(5200)).await;
        assert_eq!(bmc.power(system).await, "Off", "{flavor:?}");
        assert!(bmc.reset(system, "On").await.status.is_success());
        assert_eq!(bmc.power(system).await, "On");
        // A graceful shutdown takes the model's 30 s.
        let graceful = Instant::now();
        assert!(
            bmc.reset(system, "GracefulShutdown")
                .await
                .status
                .is_success()
        );
        sleep_until(graceful + Duration::from_secs(29)).await;
        assert_eq!(bmc.power(system).await, "On");
        sleep_until(graceful + Duration::from_secs(31)).await;
        assert_eq!(bmc.power(system).await, "Off");
    }
}

#[tokio::test]
async fn etags_guard_patches() {
    let lab = lab(&ALL, 0.0, FaultProfile::none()).await;
    for (index, flavor) in ALL.into_iter().enumerate() {
        let bmc = Bmc::of(&lab, index);
        let patch_path = if flavor == Flavor::Idrac10 {
            format!("{}/Settings", system_path(flavor))
        } else {
            system_path(flavor).to_owned()
        };
        let etag = bmc
            .get(&patch_path)
            .await
            .header("etag")
            .unwrap()
            .to_owned();
        assert!(etag.starts_with("W/\""));
        let body = json!({"Boot": {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once"}});
        let send = |tag: String| {
            let probe = bmc.admin.clone();
            let url = bmc.url(&patch_path);
            let body = body.clone();
            async move {
                probe
                    .send(
                        http::Method::PATCH,
                        &url,
                        &[("If-Match", tag.as_str())],
                        Some(&body),
                    )
                    .await
                    .unwrap()
            }
        };
        let refused = send("W/\"feedfacefeedface\"".to_owned()).await;
        assert_eq!(refused.status, 412, "{flavor:?}");
        assert!(message_id(&refused).ends_with("PreconditionFailed"));
        let accepted = send(etag.clone()).await;
        assert!(
            accepted.status.is_success(),
            "{flavor:?} {}",
            accepted.status
        );
        // The resource changed, so the old ETag no longer matches.
        assert_eq!(send(etag).await.status, 412);
        let boot = bmc.get(system_path(flavor)).await.json()["Boot"].clone();
        assert_eq!(boot["BootSourceOverrideTarget"], "Pxe");
        assert_eq!(boot["BootSourceOverrideEnabled"], "Once");
    }
}

#[tokio::test(start_paused = true)]
async fn dell_boot_order_changes_through_boot_sources_and_a_job_at_the_next_post() {
    let lab = lab(&[Flavor::Dell], 1.0, FaultProfile::none()).await;
    prepare(&lab, 0, HostType::Director, false);
    let bmc = Bmc::of(&lab, 0);
    let sources = "/redfish/v1/Systems/System.Embedded.1/BootSources";
    let current = bmc.get(sources).await.json();
    let seq = current["Attributes"]["BootSeq"].as_array().unwrap().clone();
    // Four devices in the order, then the virtual CD, listed but disabled.
    assert_eq!(seq.len(), 5);
    assert_eq!(seq[4]["Name"], "Optical.iDRACVirtual.1-1");
    assert_eq!(seq[4]["Enabled"], false);
    assert!(
        current["Attributes"]["UefiBootSeq"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let foreman = testkit::lab::interfaces_order("r640", HostType::Foreman);
    assert_ne!(seq[0]["Name"], foreman[0].as_str());
    // Badfish's way: the same entries with new indexes.
    let reordered: Vec<Value> = seq
        .iter()
        .map(|entry| {
            let name = entry["Name"].as_str().unwrap();
            let mut entry = entry.clone();
            if let Some(index) = foreman.iter().position(|f| f == name) {
                entry["Index"] = json!(index);
            }
            entry
        })
        .collect();
    let staged = bmc
        .patch(
            &format!("{sources}/Settings"),
            json!({"Attributes": {"BootSeq": reordered}}),
        )
        .await;
    assert_eq!(staged.status, 200);
    let pending = bmc.get(&format!("{sources}/Settings")).await.json();
    assert_eq!(
        pending["Attributes"]["BootSeq"][0]["Name"],
        foreman[0].as_str()
    );
    // Nothing changes before a job and a POST.
    assert_eq!(
        bmc.get(sources).await.json()["Attributes"]["BootSeq"],
        json!(seq)
    );

    let jobs = "/redfish/v1/Managers/iDRAC.Embedded.1/Jobs";
    let target =
        json!({"TargetSettingsURI": "/redfish/v1/Systems/System.Embedded.1/Bios/Settings"});
    let created = bmc.post(jobs, target.clone()).await;
    assert_eq!(created.status, 200);
    let location = created.header("location").unwrap().to_owned();
    assert!(location.starts_with(&format!("{jobs}/JID_")), "{location}");
    let job = bmc.get(&location).await.json();
    assert_eq!(job["JobState"], "Scheduled");
    assert_eq!(job["Message"], "Task successfully scheduled.");
    let job_id = location.rsplit('/').next().unwrap().to_owned();
    let task = format!("/redfish/v1/TaskService/Tasks/{job_id}");
    assert_eq!(bmc.get(&task).await.json()["TaskState"], "Pending");
    let listed = bmc.get(jobs).await.text();
    assert!(listed.contains(location.rsplit('/').next().unwrap()));
    // A second job for the same target is refused, as is another change.
    let again = bmc.post(jobs, target).await;
    assert_eq!(again.status, 400);
    assert_eq!(message_id(&again), "IDRAC.2.9.SYS011");
    let more = bmc
        .patch(
            &format!("{sources}/Settings"),
            json!({"Attributes": {"BootSeq": seq}}),
        )
        .await;
    assert_eq!(message_id(&more), "IDRAC.2.9.SYS011");

    let restart = Instant::now();
    assert_eq!(
        bmc.reset("/redfish/v1/Systems/System.Embedded.1", "ForceRestart")
            .await
            .status,
        204
    );
    assert_eq!(bmc.get(&location).await.json()["JobState"], "Running");
    // POST (10 s) plus the config job (60 s).
    sleep_until(restart + Duration::from_secs(71)).await;
    let done = bmc.get(&location).await.json();
    assert_eq!(done["JobState"], "Completed");
    assert_eq!(done["Message"], "Job completed successfully.");
    assert_eq!(done["PercentComplete"], 100);
    assert_eq!(bmc.get(&task).await.json()["TaskState"], "Completed");
    let after = bmc.get(sources).await.json();
    assert_eq!(
        after["Attributes"]["BootSeq"][0]["Name"],
        foreman[0].as_str()
    );
    assert_eq!(lab.metrics().host(&bmc.name).jobs_applied, 1);
    let order = lab.with_state(|s| s.machines[0].boot_order.clone());
    assert_eq!(order, foreman);
}

#[tokio::test(start_paused = true)]
async fn dell_one_time_boot_seq_dev_installs_when_foreman_waits() {
    let lab = lab(&[Flavor::Dell], 1.0, FaultProfile::none()).await;
    prepare(&lab, 0, HostType::Director, true);
    let bmc = Bmc::of(&lab, 0);
    let nic = lab.inventory().hosts[0].provisioning_nic.clone();
    let settings = "/redfish/v1/Systems/System.Embedded.1/Bios/Settings";
    let unknown = bmc
        .patch(settings, json!({"Attributes": {"NoSuchThing": "Enabled"}}))
        .await;
    assert_eq!(unknown.status, 400);
    assert!(message_id(&unknown).ends_with("PropertyUnknown"));
    let bad_value = bmc
        .patch(
            settings,
            json!({"Attributes": {"OneTimeBootSeqDev": "Floppy.1"}}),
        )
        .await;
    assert!(message_id(&bad_value).ends_with("PropertyValueNotInList"));
    let read_only = bmc
        .patch(settings, json!({"Attributes": {"SystemServiceTag": "X"}}))
        .await;
    assert!(message_id(&read_only).ends_with("PropertyNotWritable"));

    let registry = bmc
        .get("/redfish/v1/Systems/System.Embedded.1/Bios/BiosRegistry")
        .await
        .json();
    let entry = registry["RegistryEntries"]["Attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["AttributeName"] == "OneTimeBootSeqDev")
        .unwrap()
        .clone();
    assert_eq!(entry["Type"], "Enumeration");
    assert!(
        entry["Value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["ValueName"] == nic.as_str())
    );

    let armed = bmc
        .patch(
            settings,
            json!({
                "@Redfish.SettingsApplyTime": {"ApplyTime": "OnReset"},
                "Attributes": {"OneTimeBootMode": "OneTimeBootSeq", "OneTimeBootSeqDev": nic},
            }),
        )
        .await;
    assert_eq!(armed.status, 202);
    let location = armed.header("location").unwrap().to_owned();
    assert!(location.contains("/Jobs/JID_"));
    assert_eq!(
        bmc.get(settings).await.json()["Attributes"]["OneTimeBootSeqDev"],
        nic.as_str()
    );
    let twice = bmc
        .post(
            "/redfish/v1/Managers/iDRAC.Embedded.1/Jobs",
            json!({"TargetSettingsURI": settings}),
        )
        .await;
    assert_eq!(message_id(&twice), "IDRAC.2.9.SYS011");

    let restart = Instant::now();
    bmc.reset("/redfish/v1/Systems/System.Embedded.1", "ForceRestart")
        .await;
    sleep_until(restart + Duration::from_secs(71)).await;
    assert!(
        lab.with_state(|s| s.machines[0].installing()),
        "network boot with build=true"
    );
    let bios = bmc
        .get("/redfish/v1/Systems/System.Embedded.1/Bios")
        .await
        .json();
    assert_eq!(
        bios["Attributes"]["OneTimeBootMode"], "Disabled",
        "consumed by the boot"
    );
    sleep_until(restart + Duration::from_secs(71 + 500)).await;
    assert!(!lab.with_state(|s| s.machines[0].build));
    assert_eq!(lab.metrics().host(&bmc.name).installs, 1);
}

#[tokio::test(start_paused = true)]
async fn generic_override_once_boots_pxe_installs_and_reverts() {
    let lab = lab(&[Flavor::Generic], 1.0, FaultProfile::none()).await;
    prepare(&lab, 0, HostType::Foreman, true);
    let bmc = Bmc::of(&lab, 0);
    let system = system_path(Flavor::Generic);
    let boot = bmc.get(system).await.json()["Boot"].clone();
    assert_eq!(boot["BootSourceOverrideEnabled"], "Disabled");
    assert!(
        boot["BootSourceOverrideTarget@Redfish.AllowableValues"]
            .as_array()
            .unwrap()
            .contains(&json!("Pxe"))
    );
    let not_listed = bmc
        .patch(
            system,
            json!({"Boot": {"BootSourceOverrideTarget": "Floppy"}}),
        )
        .await;
    assert!(message_id(&not_listed).ends_with("PropertyValueNotInList"));
    let set = bmc
        .patch(
            system,
            json!({"Boot": {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once"}}),
        )
        .await;
    assert_eq!(set.status, 204);
    let start = Instant::now();
    bmc.reset(system, "ForceRestart").await;
    assert_eq!(
        bmc.get(system).await.json()["Boot"]["BootSourceOverrideEnabled"],
        "Once",
        "still armed during POST"
    );
    sleep_until(start + Duration::from_secs(11)).await;
    let boot = bmc.get(system).await.json()["Boot"].clone();
    assert_eq!(boot["BootSourceOverrideEnabled"], "Disabled");
    assert_eq!(boot["BootSourceOverrideTarget"], "None");
    assert!(lab.with_state(|s| s.machines[0].installing() && s.machines[0].build));
    sleep_until(start + Duration::from_secs(11 + 500)).await;
    assert!(
        !lab.with_state(|s| s.machines[0].build),
        "Foreman sees it built"
    );
    assert_eq!(lab.metrics().host(&bmc.name).installs, 1);
}

#[tokio::test]
async fn generic_boot_order_and_boot_next() {
    let lab = lab(&[Flavor::Generic], 0.0, FaultProfile::none()).await;
    prepare(&lab, 0, HostType::Director, false);
    let bmc = Bmc::of(&lab, 0);
    let system = system_path(Flavor::Generic);
    let options = bmc.get(&format!("{system}/BootOptions")).await.json();
    assert_eq!(options["Members@odata.count"], 4);
    let first = bmc
        .get("/redfish/v1/Systems/system/BootOptions/Boot0001")
        .await
        .json();
    assert_eq!(first["BootOptionReference"], "Boot0001");
    let order = bmc.get(system).await.json()["Boot"]["BootOrder"].clone();
    assert_eq!(order.as_array().unwrap().len(), 4);
    // Reverse it.
    let mut reversed: Vec<Value> = order.as_array().unwrap().clone();
    reversed.reverse();
    assert_eq!(
        bmc.patch(system, json!({"Boot": {"BootOrder": reversed}}))
            .await
            .status,
        204
    );
    assert_eq!(
        bmc.get(system).await.json()["Boot"]["BootOrder"],
        json!(reversed)
    );
    let unknown = bmc
        .patch(system, json!({"Boot": {"BootOrder": ["Boot00FF"]}}))
        .await;
    assert_eq!(unknown.status, 400);
    let next = bmc
        .patch(
            system,
            json!({"Boot": {"BootNext": "Boot0002", "BootSourceOverrideTarget": "UefiBootNext", "BootSourceOverrideEnabled": "Once"}}),
        )
        .await;
    assert_eq!(next.status, 204);
    let boot = bmc.get(system).await.json()["Boot"].clone();
    assert_eq!(boot["BootNext"], "Boot0002");
    assert_eq!(boot["BootSourceOverrideTarget"], "UefiBootNext");
    bmc.reset(system, "ForceRestart").await;
    let boot = bmc.get(system).await.json()["Boot"].clone();
    assert_eq!(boot["BootSourceOverrideEnabled"], "Disabled");
    assert_eq!(boot["BootNext"], "");
}

#[tokio::test]
async fn idrac10_serves_dell_resources_under_oem_dell() {
    let lab = lab(&[Flavor::Idrac10], 0.0, FaultProfile::none()).await;
    prepare(&lab, 0, HostType::Director, false);
    let bmc = Bmc::of(&lab, 0);
    let system = system_path(Flavor::Idrac10);
    let manager = bmc
        .get("/redfish/v1/Managers/iDRAC.Embedded.1")
        .await
        .json();
    assert_eq!(manager["Model"], "17G Monolithic");
    assert!(
        manager["FirmwareVersion"]
            .as_str()
            .unwrap()
            .starts_with("1.")
    );
    assert_eq!(bmc.get(&format!("{system}/BootSources")).await.status, 404);
    let sources = format!("{system}/Oem/Dell/DellBootSources");
    assert_eq!(bmc.get(&sources).await.status, 200);
    assert_eq!(
        bmc.get("/redfish/v1/Managers/iDRAC.Embedded.1/Jobs")
            .await
            .status,
        404
    );
    assert_eq!(
        bmc.get("/redfish/v1/Dell/Managers/iDRAC.Embedded.1/DellJobService")
            .await
            .status,
        404
    );
    assert_eq!(
        bmc.get("/redfish/v1/Managers/iDRAC.Embedded.1/Oem/Dell/DellJobService")
            .await
            .status,
        200
    );
    // The boot override moved to the system's Settings.
    let boot =
        json!({"Boot": {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once"}});
    let refused = bmc.patch(system, boot.clone()).await;
    assert_eq!(refused.status, 400);
    assert!(message_id(&refused).ends_with("PropertyNotWritable"));
    let body = bmc.get(system).await.json();
    assert_eq!(
        body["@Redfish.Settings"]["SettingsObject"]["@odata.id"],
        format!("{system}/Settings")
    );
    assert_eq!(
        bmc.patch(&format!("{system}/Settings"), boot).await.status,
        200
    );
    assert_eq!(
        bmc.get(system).await.json()["Boot"]["BootSourceOverrideTarget"],
        "Pxe"
    );
    // Boot order and jobs at the moved paths.
    let seq = bmc.get(&sources).await.json()["Attributes"]["BootSeq"].clone();
    let mut reversed = seq.as_array().unwrap().clone();
    for (i, entry) in reversed.iter_mut().rev().enumerate() {
        entry["Index"] = json!(i);
    }
    assert_eq!(
        bmc.patch(
            &format!("{sources}/Settings"),
            json!({"Attributes": {"BootSeq": reversed}})
        )
        .await
        .status,
        200
    );
    let jobs = "/redfish/v1/Managers/iDRAC.Embedded.1/Oem/Dell/Jobs";
    let created = bmc
        .post(
            jobs,
            json!({"TargetSettingsURI": "/redfish/v1/Systems/System.Embedded.1/Bios/Settings"}),
        )
        .await;
    assert_eq!(created.status, 200);
    assert!(
        created
            .header("location")
            .unwrap()
            .starts_with(&format!("{jobs}/JID_"))
    );
    // Virtual media only under the system.
    assert_eq!(
        bmc.get("/redfish/v1/Managers/iDRAC.Embedded.1/VirtualMedia")
            .await
            .status,
        404
    );
    let media = bmc.get(&format!("{system}/VirtualMedia")).await.json();
    assert_eq!(media["Members@odata.count"], 2);
}

#[tokio::test]
async fn dell_job_queue_deletion() {
    let lab = lab(&[Flavor::Dell], 0.0, FaultProfile::none()).await;
    let bmc = Bmc::of(&lab, 0);
    let jobs = "/redfish/v1/Managers/iDRAC.Embedded.1/Jobs";
    let nothing = bmc
        .post(
            jobs,
            json!({"TargetSettingsURI": "/redfish/v1/Systems/System.Embedded.1/Bios/Settings"}),
        )
        .await;
    assert_eq!(nothing.status, 400, "no pending values");
    bmc.patch(
        "/redfish/v1/Systems/System.Embedded.1/Bios/Settings",
        json!({"@Redfish.SettingsApplyTime": {"ApplyTime": "OnReset"}, "Attributes": {"MemTest": "Enabled"}}),
    )
    .await;
    assert_eq!(bmc.get(jobs).await.json()["Members@odata.count"], 1);
    let service = "/redfish/v1/Dell/Managers/iDRAC.Embedded.1/DellJobService";
    let action =
        bmc.get(service).await.json()["Actions"]["#DellJobService.DeleteJobQueue"]["target"]
            .as_str()
            .unwrap()
            .to_owned();
    let cleared = bmc.post(&action, json!({"JobID": "JID_CLEARALL"})).await;
    assert_eq!(cleared.status, 200);
    assert_eq!(bmc.get(jobs).await.json()["Members@odata.count"], 0);
    // One job by id.
    bmc.patch(
        "/redfish/v1/Systems/System.Embedded.1/Bios/Settings",
        json!({"@Redfish.SettingsApplyTime": {"ApplyTime": "OnReset"}, "Attributes": {"MemTest": "Enabled"}}),
    )
    .await;
    let job = bmc.get(jobs).await.json()["Members"][0]["@odata.id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(bmc.admin.delete(&bmc.url(&job)).await.unwrap().status, 200);
    assert_eq!(bmc.get(&job).await.status, 404);
}

#[tokio::test]
async fn virtual_media_dmtf_and_supermicro() {
    let lab = lab(
        &[Flavor::Dell, Flavor::Supermicro],
        0.0,
        FaultProfile::none(),
    )
    .await;
    let dell = Bmc::of(&lab, 0);
    let cd = "/redfish/v1/Managers/iDRAC.Embedded.1/VirtualMedia/CD";
    let insert = format!("{cd}/Actions/VirtualMedia.InsertMedia");
    let image =
        json!({"Image": "http://10.0.0.1/boot.iso", "Inserted": true, "WriteProtected": true});
    assert_eq!(dell.post(&insert, image.clone()).await.status, 204);
    let media = dell.get(cd).await.json();
    assert_eq!(media["Inserted"], true);
    assert_eq!(media["ImageName"], "boot.iso");
    assert_eq!(
        dell.post(&insert, image).await.status,
        500,
        "already inserted"
    );
    // Badfish's --boot-to-virtual-media: a one-time boot to the iDRAC's virtual CD.
    prepare(&lab, 0, HostType::Foreman, false);
    let armed = dell
        .patch(
            "/redfish/v1/Systems/System.Embedded.1/Bios/Settings",
            json!({
                "@Redfish.SettingsApplyTime": {"ApplyTime": "OnReset"},
                "Attributes": {
                    "OneTimeBootMode": "OneTimeBootSeq",
                    "OneTimeBootSeqDev": "Optical.iDRACVirtual.1-1",
                },
            }),
        )
        .await;
    assert_eq!(armed.status, 202);
    dell.reset(system_path(Flavor::Dell), "ForceRestart").await;
    assert_eq!(
        lab.with_state(|s| s.machines[0].phase),
        Phase::Running {
            from: BootedFrom::VirtualMedia
        }
    );
    let eject = format!("{cd}/Actions/VirtualMedia.EjectMedia");
    assert_eq!(dell.post(&eject, json!({})).await.status, 204);
    assert_eq!(
        dell.post(&eject, json!({})).await.status,
        500,
        "nothing to eject"
    );

    prepare(&lab, 1, HostType::Foreman, false);
    let smc = Bmc::of(&lab, 1);
    let vm1 = "/redfish/v1/Managers/1/VM1";
    let collection = smc.get(vm1).await.json();
    assert_eq!(collection["Members@odata.count"], 0);
    let config = collection["Oem"]["Supermicro"]["VirtualMediaConfig"]["@odata.id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(config, "/redfish/v1/Managers/1/VM1/CfgCD");
    // The manager itself offers no DMTF collection.
    assert!(
        smc.get("/redfish/v1/Managers/1")
            .await
            .json()
            .get("VirtualMedia")
            .is_none()
    );
    let configured = smc
        .patch(
            &config,
            json!({"Host": "http://10.0.0.1", "Path": "/images/rhel.iso", "Username": "", "Password": ""}),
        )
        .await;
    assert_eq!(configured.status, 200);
    let mount = smc
        .post(&format!("{config}/Actions/IsoConfig.Mount"), json!({}))
        .await;
    assert_eq!(mount.status, 200);
    let collection = smc.get(vm1).await.json();
    assert_eq!(collection["Members@odata.count"], 1);
    let member = collection["Members"][0]["@odata.id"]
        .as_str()
        .unwrap()
        .to_owned();
    let media = smc.get(&member).await.json();
    assert_eq!(media["Inserted"], true);
    assert_eq!(media["Image"], "http://10.0.0.1/images/rhel.iso");
    // Boot from it once (Supermicro's UsbCd).
    let system = system_path(Flavor::Supermicro);
    assert_eq!(
        smc.patch(
            system,
            json!({"Boot": {"BootSourceOverrideTarget": "UsbCd", "BootSourceOverrideEnabled": "Once"}})
        )
        .await
        .status,
        200
    );
    // Supermicro keeps the target as set (not `Cd`).
    assert_eq!(
        smc.get(system).await.json()["Boot"]["BootSourceOverrideTarget"],
        "UsbCd"
    );
    smc.reset(system, "ForceRestart").await;
    let booted = lab.with_state(|s| s.machines[1].phase);
    assert_eq!(
        booted,
        Phase::Running {
            from: BootedFrom::VirtualMedia
        }
    );
    let unmount = smc
        .post(&format!("{config}/Actions/IsoConfig.UnMount"), json!({}))
        .await;
    assert_eq!(unmount.status, 200);
    assert_eq!(smc.get(vm1).await.json()["Members@odata.count"], 0);
}

#[tokio::test(start_paused = true)]
async fn manager_reset_makes_the_bmc_unreachable_for_a_while() {
    let lab = lab(&[Flavor::Dell], 1.0, FaultProfile::none()).await;
    let bmc = Bmc::of(&lab, 0);
    let login = bmc.login("root", "calvin").await;
    let token = login.header("x-auth-token").unwrap().to_owned();
    let manager = bmc
        .get("/redfish/v1/Managers/iDRAC.Embedded.1")
        .await
        .json();
    let reset = manager["Actions"]["#Manager.Reset"].clone();
    assert_eq!(
        reset["ResetType@Redfish.AllowableValues"],
        json!(["GracefulRestart"])
    );
    let start = Instant::now();
    let answer = bmc
        .post(
            &format!("{}/", reset["target"].as_str().unwrap()),
            json!({"ResetType": "GracefulRestart"}),
        )
        .await;
    assert_eq!(answer.status, 204);
    assert!(bmc.anon.get(&bmc.url(ROOT)).await.is_err(), "rebooting");
    sleep_until(start + Duration::from_secs(30)).await;
    assert!(
        bmc.anon.get(&bmc.url(ROOT)).await.is_err(),
        "still rebooting"
    );
    sleep_until(start + Duration::from_secs(62)).await;
    assert_eq!(bmc.anon.get(&bmc.url(ROOT)).await.unwrap().status, 200);
    let old = bmc.anon.with_token(&token);
    assert_eq!(
        old.get(&bmc.url("/redfish/v1/Systems"))
            .await
            .unwrap()
            .status,
        401,
        "sessions do not survive a BMC restart"
    );
    assert_eq!(lab.metrics().host(&bmc.name).sessions_open, 0);
}

#[tokio::test]
async fn request_faults_follow_their_rates() {
    let faults = FaultProfile {
        bmc_error_rate: 0.2,
        bmc_reset_rate: 0.1,
        ..FaultProfile::none()
    };
    let lab = lab(&[Flavor::Generic], 0.0, faults).await;
    let bmc = Bmc::of(&lab, 0);
    let (mut errors, mut resets) = (0u64, 0u64);
    for _ in 0..300 {
        match bmc.anon.get(&bmc.url(ROOT)).await {
            Ok(answer) if answer.status == 500 => {
                errors += 1;
                assert!(message_id(&answer).ends_with("InternalError"));
            }
            Ok(answer) => assert_eq!(answer.status, 200),
            Err(_) => resets += 1,
        }
    }
    assert!((35..90).contains(&errors), "errors {errors}");
    assert!((12..50).contains(&resets), "resets {resets}");
    let metrics = lab.metrics();
    assert_eq!(metrics.statuses.get("bmc 500").copied(), Some(errors));
    assert_eq!(metrics.statuses.get("bmc 0").copied(), Some(resets));
}

#[tokio::test]
async fn a_dead_bmc_refuses_connections() {
    let faults = FaultProfile {
        dead_bmcs: 1,
        ..FaultProfile::none()
    };
    let lab = lab(&ALL, 0.0, faults).await;
    let dead = *lab.shared().fault_hosts.dead.iter().next().unwrap();
    for index in 0..4 {
        let bmc = Bmc::of(&lab, index);
        let answer = bmc.anon.get(&bmc.url(ROOT)).await;
        assert_eq!(answer.is_err(), index == dead, "host {index}");
    }
}

#[tokio::test(start_paused = true)]
async fn stale_sessions_fill_every_slot_until_they_expire() {
    let faults = FaultProfile {
        stale_session_bmcs: 1,
        stale_session_timeout: 120.0,
        ..FaultProfile::none()
    };
    let lab = lab(&[Flavor::Dell], 1.0, faults).await;
    let bmc = Bmc::of(&lab, 0);
    let start = Instant::now();
    let refused = bmc.login("root", "calvin").await;
    assert_eq!(refused.status, 503);
    assert_eq!(message_id(&refused), "IDRAC.2.9.RAC0218");
    let sessions = bmc.get("/redfish/v1/SessionService/Sessions").await.json();
    assert_eq!(sessions["Members@odata.count"], 8);
    let first = sessions["Members"][0]["@odata.id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(bmc.get(&first).await.json()["UserName"], "quads-previous");
    sleep_until(start + Duration::from_secs(121)).await;
    assert_eq!(bmc.login("root", "calvin").await.status, 201);
    let counters = lab.metrics().host(&bmc.name);
    assert_eq!((counters.sessions_opened, counters.sessions_open), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn a_stuck_job_blocks_config_until_a_forced_queue_clear() {
    let faults = FaultProfile {
        stuck_job_queue_bmcs: 1,
        ..FaultProfile::none()
    };
    let lab = lab(&[Flavor::Dell], 1.0, faults).await;
    let bmc = Bmc::of(&lab, 0);
    let jobs = "/redfish/v1/Managers/iDRAC.Embedded.1/Jobs";
    let listed = bmc.get(jobs).await.json();
    assert_eq!(listed["Members@odata.count"], 1);
    let stuck = listed["Members"][0]["@odata.id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(bmc.get(&stuck).await.json()["JobState"], "Running");
    let sources = "/redfish/v1/Systems/System.Embedded.1/BootSources";
    let seq = bmc.get(sources).await.json()["Attributes"]["BootSeq"].clone();
    let settings = format!("{sources}/Settings");
    let order = json!({"Attributes": {"BootSeq": seq}});
    let blocked = bmc.patch(&settings, order.clone()).await;
    assert_eq!(blocked.status, 400);
    assert_eq!(message_id(&blocked), "IDRAC.2.9.SYS011");
    assert_eq!(
        bmc.admin.delete(&bmc.url(&stuck)).await.unwrap().status,
        400
    );

    let action = "/redfish/v1/Dell/Managers/iDRAC.Embedded.1/DellJobService/Actions/DellJobService.DeleteJobQueue";
    assert_eq!(
        bmc.post(action, json!({"JobID": "JID_CLEARALL"}))
            .await
            .status,
        200
    );
    assert_eq!(
        bmc.get(jobs).await.json()["Members@odata.count"],
        1,
        "a running job survives JID_CLEARALL"
    );
    let forced = Instant::now();
    assert_eq!(
        bmc.post(action, json!({"JobID": "JID_CLEARALL_FORCE"}))
            .await
            .status,
        200
    );
    assert_eq!(bmc.get(jobs).await.json()["Members@odata.count"], 0);
    // The Lifecycle Controller restarts: config writes are "not ready" meanwhile.
    let status = "/redfish/v1/Dell/Managers/iDRAC.Embedded.1/DellLCService/Actions/DellLCService.GetRemoteServicesAPIStatus";
    assert_eq!(
        bmc.post(status, json!({})).await.json()["LCStatus"],
        "NotReady"
    );
    let not_ready = bmc.patch(&settings, order.clone()).await;
    assert_eq!(not_ready.status, 503);
    assert_eq!(message_id(&not_ready), "IDRAC.2.9.SWC0700");
    sleep_until(forced + Duration::from_secs(61)).await;
    assert_eq!(
        bmc.post(status, json!({})).await.json()["LCStatus"],
        "Ready"
    );
    assert_eq!(bmc.patch(&settings, order).await.status, 200);
}

#[tokio::test]
async fn idrac_not_ready_refuses_dell_writes_without_applying_them() {
    let faults = FaultProfile {
        idrac_not_ready_rate: 1.0,
        ..FaultProfile::none()
    };
    let lab = lab(&[Flavor::Dell, Flavor::Generic], 0.0, faults).await;
    let boot =
        json!({"Boot": {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once"}});
    let dell = Bmc::of(&lab, 0);
    let refused = dell.patch(system_path(Flavor::Dell), boot.clone()).await;
    assert_eq!(refused.status, 503);
    assert_eq!(message_id(&refused), "IDRAC.2.9.SWC0700");
    let after = dell.get(system_path(Flavor::Dell)).await.json();
    assert_eq!(
        after["Boot"]["BootSourceOverrideTarget"], "None",
        "nothing applied"
    );
    assert_eq!(
        dell.login("root", "calvin").await.status,
        201,
        "logins still work"
    );
    let generic = Bmc::of(&lab, 1);
    assert_eq!(
        generic
            .patch(system_path(Flavor::Generic), boot)
            .await
            .status,
        204
    );
}

#[tokio::test(start_paused = true)]
async fn slow_bmcs_take_longer() {
    let faults = FaultProfile {
        slow_bmcs: 1,
        slow_factor: 4.0,
        ..FaultProfile::none()
    };
    let lab = lab(&[Flavor::Generic, Flavor::Generic], 1.0, faults).await;
    let slow = *lab.shared().fault_hosts.slow.iter().next().unwrap();
    for index in 0..2 {
        let bmc = Bmc::of(&lab, index);
        bmc.get(ROOT).await; // connect and handshake first
        let start = Instant::now();
        bmc.get(ROOT).await;
        let took = start.elapsed().as_secs_f64();
        let expected = if index == slow { 1.2 } else { 0.3 };
        assert!((took - expected).abs() < 0.05, "host {index}: {took}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_busy_bmc_queues_then_refuses() {
    let mut lab_config_model = LabModel::default();
    lab_config_model.bmc.sigma = 0.0;
    lab_config_model.bmc.get = 30.0;
    let lab = Lab::start(LabConfig {
        hosts: 1,
        flavors: vec![Flavor::Generic],
        time_scale: 1.0,
        model: lab_config_model,
        ..LabConfig::default()
    })
    .await
    .unwrap();
    let bmc = Bmc::of(&lab, 0);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let probe = bmc.anon.clone();
            let url = bmc.url(ROOT);
            tokio::spawn(async move { probe.get(&url).await.map(|a| a.status.as_u16()) })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap().unwrap());
    }
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let busy = statuses.iter().filter(|s| **s == 503).count();
    // Two in service and eight queued; the rest are refused at once.
    assert_eq!((ok, busy), (10, 6), "{statuses:?}");
    let counters = lab.metrics().host(&bmc.name);
    assert_eq!(counters.peak_bmc_in_flight, 2);
}

#[tokio::test]
async fn dell_uefi_mode_uses_uefi_boot_seq() {
    let lab = lab(&[Flavor::Dell], 0.0, FaultProfile::none()).await;
    prepare(&lab, 0, HostType::Director, false);
    lab.with_state(|s| {
        s.machines[0]
            .bios
            .insert("BootMode".into(), Value::from("Uefi"));
    });
    let bmc = Bmc::of(&lab, 0);
    let sources = "/redfish/v1/Systems/System.Embedded.1/BootSources";
    let current = bmc.get(sources).await.json();
    assert!(
        current["Attributes"]["BootSeq"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let seq = current["Attributes"]["UefiBootSeq"].clone();
    assert_eq!(seq.as_array().unwrap().len(), 5);
    assert!(
        seq[0]["Id"]
            .as_str()
            .unwrap()
            .starts_with("BIOS.Setup.1-1#UefiBootSeq#")
    );
    let settings = format!("{sources}/Settings");
    let wrong = bmc
        .patch(&settings, json!({"Attributes": {"BootSeq": seq.clone()}}))
        .await;
    assert_eq!(wrong.status, 400, "the sequence of the other boot mode");
    let right = bmc
        .patch(&settings, json!({"Attributes": {"UefiBootSeq": seq}}))
        .await;
    assert_eq!(right.status, 200);
    let system = bmc.get(system_path(Flavor::Dell)).await.json();
    assert_eq!(system["Boot"]["BootSourceOverrideMode"], "UEFI");
}

#[tokio::test]
async fn a_login_applied_with_its_answer_lost_leaves_a_session_the_lab_counts() {
    let faults = FaultProfile {
        bmc_applied_reset_rate: 0.3,
        ..FaultProfile::none()
    };
    let lab = lab(&[Flavor::Generic], 0.0, faults).await;
    let bmc = Bmc::of(&lab, 0);
    let sessions = bmc.url("/redfish/v1/SessionService/Sessions");
    let (mut answered, mut lost) = (0u64, 0u64);
    for _ in 0..12 {
        let body = json!({"UserName": "root", "Password": "calvin"});
        match bmc.anon.post(&sessions, &body).await {
            Ok(answer) => {
                assert_eq!(answer.status, 201);
                answered += 1;
                let location = answer.header("location").unwrap().to_owned();
                let token = answer.header("x-auth-token").unwrap().to_owned();
                let closed = bmc
                    .anon
                    .with_token(&token)
                    .delete(&bmc.url(&location))
                    .await;
                // the delete is a write too: its answer may be lost after it applied
                if let Ok(closed) = closed {
                    assert!(closed.status.is_success(), "{}", closed.status);
                }
            }
            Err(_) => lost += 1,
        }
    }
    assert!(lost > 0 && answered > 0, "lost {lost}, answered {answered}");
    let metrics = lab.metrics();
    let counters = metrics.host(&bmc.name);
    assert_eq!(counters.sessions_opened, 12, "every login was applied");
    assert_eq!(
        metrics.faults_of("bmc applied-reset"),
        metrics.statuses.get("bmc 0").copied().unwrap_or(0)
    );
    assert_eq!(
        counters.sessions_open, lost,
        "the lost logins' sessions stay open"
    );
}

#[tokio::test(start_paused = true)]
async fn a_hung_request_never_answers_and_is_counted() {
    let faults = FaultProfile {
        bmc_hang_rate: 1.0,
        ..FaultProfile::none()
    };
    let lab = lab(&[Flavor::Generic], 1.0, faults).await;
    let bmc = Bmc::of(&lab, 0);
    let start = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(60), bmc.anon.get(&bmc.url(ROOT))).await;
    assert!(answer.is_err(), "no answer within the client's deadline");
    assert!(start.elapsed() >= Duration::from_secs(60));
    assert_eq!(lab.metrics().faults_of("bmc hang"), 1);
    // the client gave up: the lab sees the connection end and counts how long it was held
    let ended = wait_for_hang_end(&lab, "bmc").await;
    assert!((60.0..61.0).contains(&ended.longest), "{ended:?}");
}

/// The hung connections of `service` once one has ended (the lab notices the client's close
/// on its own time: waited for on the paused clock, within a deadline).
pub(crate) async fn wait_for_hang_end(lab: &Lab, service: &str) -> testkit::HangCounters {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(h) = lab.metrics().hangs.get(service).filter(|h| h.ended > 0) {
            return *h;
        }
        assert!(Instant::now() < deadline, "the hung connection never ended");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_manager_reset_fault_strikes_once_mid_run_and_drops_the_sessions() {
    let faults = FaultProfile {
        manager_reset_bmcs: 1,
        manager_reset: Some(40.0),
        ..FaultProfile::none()
    };
    let lab = lab(&[Flavor::Dell], 1.0, faults).await;
    let bmc = Bmc::of(&lab, 0);
    let login = bmc.login("root", "calvin").await;
    let token = login.header("x-auth-token").unwrap().to_owned();
    let session = bmc.anon.with_token(&token);
    let mut served = 1;
    let struck = loop {
        match session.get(&bmc.url("/redfish/v1/Systems")).await {
            Ok(answer) => assert_eq!(answer.status, 200),
            Err(_) => break Instant::now(),
        }
        served += 1;
        assert!(served < 30, "the reset never struck");
    };
    assert!((3..20).contains(&served), "struck after {served} requests");
    assert_eq!(lab.metrics().faults_of("bmc manager-reset"), 1);
    assert_eq!(lab.metrics().host(&bmc.name).sessions_open, 0);
    assert!(bmc.anon.get(&bmc.url(ROOT)).await.is_err(), "restarting");
    sleep_until(struck + Duration::from_secs(41)).await;
    assert_eq!(bmc.anon.get(&bmc.url(ROOT)).await.unwrap().status, 200);
    let old = session.get(&bmc.url("/redfish/v1/Systems")).await.unwrap();
    assert_eq!(old.status, 401, "sessions do not survive the reset");
    for _ in 0..30 {
        assert_eq!(bmc.anon.get(&bmc.url(ROOT)).await.unwrap().status, 200);
    }
    assert_eq!(lab.metrics().faults_of("bmc manager-reset"), 1, "once");
}

#[tokio::test]
async fn a_certificate_change_gives_new_connections_a_new_certificate() {
    let faults = FaultProfile {
        cert_change_bmcs: 1,
        ..FaultProfile::none()
    };
    let lab = lab(&[Flavor::Generic], 0.0, faults).await;
    let bmc = Bmc::of(&lab, 0);
    let before = lab.shared().bmc_server_config(0).unwrap();
    for _ in 0..25 {
        // a client trusting the lab CA carries on: the new certificate is signed by it too
        assert_eq!(bmc.anon.get(&bmc.url(ROOT)).await.unwrap().status, 200);
    }
    let after = lab.shared().bmc_server_config(0).unwrap();
    assert!(
        !std::sync::Arc::ptr_eq(&before, &after),
        "a new certificate"
    );
    assert_eq!(lab.metrics().faults_of("bmc cert-change"), 1);
    assert!(!lab.shared().change_bmc_cert(0), "once only");
}
