//! Power operations against a small stateful mock: the reset action changes the power state
//! only after a few polls, as a real BMC does; every operation must wait on the real state.

use std::sync::{Arc, Mutex};

use redfish_client::{CancellationToken, Error, PowerOutcome, PowerState, ResetType};
use serde_json::{Value, json};

use crate::common::{Fake, Flavor, TOKEN};
use crate::mock_bmc::MockBmc;

/// The machine behind the mock: power state, the state it is heading to and the polls left.
#[derive(Debug)]
struct Machine {
    state: &'static str,
    heading: Option<(&'static str, u32)>,
    resets: Vec<String>,
    /// Accept resets but never change state (a wedged host).
    wedged: bool,
    /// Polls before a reset shows (0: applied before the action answers).
    lag: u32,
}

impl Machine {
    fn poll(&mut self) -> &'static str {
        if let Some((target, left)) = self.heading {
            if left == 0 {
                self.state = target;
                self.heading = None;
            } else {
                self.heading = Some((target, left - 1));
            }
        }
        self.state
    }
}

async fn powered(
    flavor: Flavor,
    initial: &'static str,
    allow: &[&str],
) -> (Fake, Arc<Mutex<Machine>>) {
    powered_with_oem(flavor, initial, allow, Value::Null).await
}

/// [`powered`], the system's `Actions.Oem` being `oem` (only the standard reset is served).
async fn powered_with_oem(
    flavor: Flavor,
    initial: &'static str,
    allow: &[&str],
    oem: Value,
) -> (Fake, Arc<Mutex<Machine>>) {
    let mut fake = MockBmc::new(flavor).build().await;
    let machine = Arc::new(Mutex::new(Machine {
        state: initial,
        heading: None,
        resets: vec![],
        wedged: false,
        lag: 2,
    }));
    let sys = flavor.system();
    let reset_path = format!("{sys}/Actions/ComputerSystem.Reset");
    let allow: Vec<String> = allow.iter().map(ToString::to_string).collect();
    let m = machine.clone();
    let target = reset_path.clone();
    let get = fake
        .read(sys)
        .with_body_from_request(move |_| {
            let state = m.lock().unwrap().poll();
            json!({
                "@odata.id": sys, "Id": "1", "PowerState": state,
                "Actions": {"#ComputerSystem.Reset": {
                    "target": target, "ResetType@Redfish.AllowableValues": allow
                }, "Oem": oem}
            })
            .to_string()
            .into_bytes()
        })
        .create_async()
        .await;
    fake.keep.push(get);
    let m = machine.clone();
    let post = fake
        .mock("POST", reset_path.as_str())
        .match_header("x-auth-token", TOKEN)
        .with_status(204)
        .with_body_from_request(move |req| {
            let body: Value = serde_json::from_slice(req.body().unwrap()).unwrap();
            let reset = body["ResetType"].as_str().unwrap().to_owned();
            let mut m = m.lock().unwrap();
            m.heading = match reset.as_str() {
                _ if m.wedged => None,
                "On" => Some(("On", m.lag)),
                "ForceOff" => Some(("Off", m.lag)),
                // This host's OS ignores graceful shutdowns.
                _ => m.heading,
            };
            m.resets.push(reset);
            Vec::new()
        })
        .create_async()
        .await;
    fake.keep.push(post);
    (fake, machine)
}

#[tokio::test]
async fn power_state_is_read_every_time() {
    let (fake, machine) = powered(Flavor::Generic, "On", &[]).await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    assert_eq!(bmc.power_state().await.unwrap(), PowerState::On);
    machine.lock().unwrap().state = "Off";
    assert_eq!(
        bmc.power_state().await.unwrap(),
        PowerState::Off,
        "never cached"
    );
}

#[tokio::test]
async fn power_off_waits_for_off_and_power_on_for_on() {
    for flavor in [Flavor::Idrac9, Flavor::Supermicro, Flavor::Generic] {
        let (fake, machine) = powered(flavor, "On", &["On", "ForceOff"]).await;
        let client = fake.client();
        let bmc = fake.bmc(&client);
        let cancel = CancellationToken::new();
        let out = bmc.power_off(&cancel).await.unwrap();
        assert_eq!(
            (out.before, out.after.clone()),
            (PowerState::On, PowerState::Off)
        );
        assert_eq!(out.actions, [ResetType::ForceOff]);
        assert_eq!(machine.lock().unwrap().state, "Off");
        let again = bmc.power_off(&cancel).await.unwrap();
        assert!(again.actions.is_empty(), "off already: nothing sent");
        let on = bmc.power_on(&cancel).await.unwrap();
        assert_eq!(on.after, PowerState::On);
        assert_eq!(machine.lock().unwrap().resets, ["ForceOff", "On"]);
    }
}

/// A power cycle of `fake`'s BMC: by the client (`power_cycle`) or, `by_bmc`, by the BMC's own
/// reset where it lists one (`power_cycle_by_bmc`).
async fn cycle(fake: &Fake, by_bmc: bool) -> PowerOutcome {
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let cancel = CancellationToken::new();
    let out = if by_bmc {
        bmc.power_cycle_by_bmc(&cancel).await
    } else {
        bmc.power_cycle(&cancel).await
    };
    out.unwrap()
}

#[tokio::test]
async fn power_cycle_goes_through_off() {
    let (fake, machine) = powered(Flavor::Idrac9, "On", &[]).await;
    let out = cycle(&fake, false).await;
    assert_eq!(out.actions, [ResetType::ForceOff, ResetType::On]);
    assert_eq!(out.after, PowerState::On);
    assert_eq!(machine.lock().unwrap().resets, ["ForceOff", "On"]);

    let (fake, machine) = powered(Flavor::Generic, "Off", &[]).await;
    let out = cycle(&fake, false).await;
    assert_eq!(
        out.actions,
        [ResetType::On],
        "a host that is off is just powered on"
    );
    assert_eq!(machine.lock().unwrap().resets, ["On"]);
}

#[tokio::test]
async fn power_cycle_by_bmc_is_one_action_where_the_bmc_lists_it() {
    let (fake, machine) = powered(Flavor::Idrac9, "On", &["On", "ForceOff", "PowerCycle"]).await;
    let out = cycle(&fake, true).await;
    assert_eq!(out.actions, [ResetType::PowerCycle]);
    assert_eq!(out.after, PowerState::Unknown("Cycling".into()));
    assert_eq!(machine.lock().unwrap().resets, ["PowerCycle"]);

    // not listed (nothing listed counts too: an unlisted PowerCycle may be refused)
    for allow in [&["On", "ForceOff"][..], &[][..]] {
        let (fake, machine) = powered(Flavor::Generic, "On", allow).await;
        let out = cycle(&fake, true).await;
        assert_eq!(
            out.actions,
            [ResetType::ForceOff, ResetType::On],
            "{allow:?}"
        );
        assert_eq!(machine.lock().unwrap().resets, ["ForceOff", "On"]);
    }

    // off: just powered on, as power_cycle does
    let (fake, machine) = powered(Flavor::Idrac9, "Off", &["On", "PowerCycle"]).await;
    let out = cycle(&fake, true).await;
    assert_eq!(out.actions, [ResetType::On]);
    assert_eq!(machine.lock().unwrap().resets, ["On"]);
}

/// iLO's `Actions.Oem.Hpe` listing `types` in its `HpeComputerSystemExt.SystemReset`.
fn hpe_system_reset(types: &[&str]) -> Value {
    json!({"Hpe": {"#HpeComputerSystemExt.SystemReset": {
        "ResetType@Redfish.AllowableValues": types,
        "target": "/redfish/v1/Systems/1/Actions/Oem/Hpe/HpeComputerSystemExt.SystemReset"
    }}})
}

#[tokio::test]
async fn power_cycle_by_bmc_takes_no_ac_cycle_and_prefers_a_listed_power_cycle() {
    use ResetType::{ForceOff, On, PowerCycle};
    let standard = &["On", "ForceOff", "GracefulShutdown", "ForceRestart"][..];
    let lenovo = json!({"#LenovoComputerSystem.SystemReset": {
        "ResetType@Redfish.AllowableValues": ["ACPowerCycle"],
        "target": "/redfish/v1/Systems/1/Actions/Oem/LenovoComputerSystem.SystemReset"
    }});
    let both = || hpe_system_reset(&["ColdBoot", "AuxCycle"]);
    let cases = [
        // AuxCycle alone (an AC cycle) is no power cycle: force off and on
        (
            "iLO AuxCycle alone",
            Flavor::Ilo5,
            "On",
            standard,
            hpe_system_reset(&["AuxCycle"]),
            &[ForceOff, On][..],
        ),
        // nor XCC's ACPowerCycle (a virtual reseat), nor the listed ForceRestart (no power removed)
        (
            "XCC ACPowerCycle",
            Flavor::Xcc,
            "On",
            standard,
            lenovo,
            &[ForceOff, On],
        ),
        // a standard PowerCycle listed beside ColdBoot goes first
        (
            "PowerCycle beside ColdBoot",
            Flavor::Ilo5,
            "On",
            &["On", "ForceOff", "PowerCycle"],
            both(),
            &[PowerCycle],
        ),
        // off: just powered on, ColdBoot listed or not
        ("off", Flavor::Ilo5, "Off", standard, both(), &[On]),
    ];
    for (what, flavor, state, types, oem, sent) in cases {
        let (fake, machine) = powered_with_oem(flavor, state, types, oem).await;
        let out = cycle(&fake, true).await;
        assert_eq!(out.actions, sent, "{what}");
        let names: Vec<&str> = sent.iter().map(|r| r.as_str()).collect();
        assert_eq!(machine.lock().unwrap().resets, names, "{what}");
    }
}

#[tokio::test]
async fn a_force_off_applied_before_its_answer_is_seen_without_the_first_pause() {
    let (fake, machine) = powered(Flavor::Supermicro, "On", &[]).await;
    machine.lock().unwrap().lag = 0;
    let mut config = crate::common::test_config();
    // the first look for Off an hour away: only the read at once can see it in time
    let hour = std::time::Duration::from_secs(3600);
    config.waits.power_off =
        redfish_client::Wait::every(std::time::Duration::from_secs(1), hour).first_poll_after(hour);
    let client = crate::common::client_with(config);
    let bmc = fake.bmc(&client);
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        bmc.power_cycle(&CancellationToken::new()),
    )
    .await
    .expect("Off was read at once, not after the first pause")
    .unwrap();
    assert_eq!(out.actions, [ResetType::ForceOff, ResetType::On]);
    assert_eq!(out.after, PowerState::On);
}

#[tokio::test]
async fn graceful_reboot_forces_off_when_the_os_does_not_shut_down() {
    let (fake, machine) = powered(Flavor::Idrac9, "On", &[]).await;
    let mut config = crate::common::test_config();
    config.waits.graceful_shutdown = redfish_client::Wait::every(
        std::time::Duration::from_millis(5),
        std::time::Duration::from_millis(60),
    );
    let client = crate::common::client_with(config);
    let bmc = fake.bmc(&client);
    let out = bmc
        .graceful_reboot(&CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        out.actions,
        [
            ResetType::GracefulShutdown,
            ResetType::ForceOff,
            ResetType::On
        ]
    );
    assert_eq!(machine.lock().unwrap().state, "On");
}

#[tokio::test]
async fn a_state_that_never_comes_is_a_timeout_naming_the_last_state() {
    let (fake, machine) = powered(Flavor::Generic, "On", &[]).await;
    let mut config = crate::common::test_config();
    config.waits.power = redfish_client::Wait::every(
        std::time::Duration::from_millis(5),
        std::time::Duration::from_millis(50),
    );
    let client = crate::common::client_with(config);
    let bmc = fake.bmc(&client);
    machine.lock().unwrap().wedged = true;
    let err = bmc.power_off(&CancellationToken::new()).await.unwrap_err();
    match err {
        Error::Timeout { last, what, .. } => {
            assert_eq!(last, "On");
            assert!(what.contains("Off"), "{what}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        machine.lock().unwrap().resets,
        ["ForceOff"],
        "the reset is not re-posted"
    );
}

#[tokio::test]
async fn cancellation_stops_a_power_wait() {
    let (fake, machine) = powered(Flavor::Generic, "On", &[]).await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let cancel = CancellationToken::new();
    machine.lock().unwrap().wedged = true;
    let c = cancel.clone();
    let m = machine.clone();
    let task = tokio::spawn(async move { bmc.power_off(&c).await });
    // Once the reset has been sent (the host stays on), cancel.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the reset never arrived"
        );
        {
            if !m.lock().unwrap().resets.is_empty() {
                break;
            }
        }
        tokio::task::yield_now().await;
    }
    cancel.cancel();
    let err = task.await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Cancelled { .. }), "{err:?}");
}
