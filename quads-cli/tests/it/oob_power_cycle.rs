//! `quads oob --power-cycle` on one BMC of each of the six lab flavours: the BMC's own
//! `PowerCycle` where the flavour lists it (Dell, iDRAC10, generic: one reset), iLO's own
//! `ColdBoot` (its OEM `HpeComputerSystemExt.SystemReset`: one reset) on HPE, force off and on
//! elsewhere (Supermicro, Lenovo); either way the host boots exactly once. An iLO fleet in one
//! run, the action where iLO 5 lists it (`Actions.Oem.Hpe`; the six-flavour lab lists it where
//! DSP0266 puts OEM actions): one `ColdBoot` and one boot per host.

use testkit::Flavor;

use crate::oob_actions::{lab_of, oob};
use crate::oob_lab::{oob as oob_fleet, records};

/// The resets `--power-cycle` sends to a host of `flavor` that is on.
fn resets_of(flavor: Flavor) -> &'static [&'static str] {
    match flavor {
        Flavor::Dell | Flavor::Idrac10 | Flavor::Generic => &["PowerCycle"],
        Flavor::Hpe => &["ColdBoot"],
        Flavor::Supermicro | Flavor::Lenovo => &["ForceOff", "On"],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_cycle_uses_the_bmcs_own_cycle_where_listed_and_boots_once_everywhere() {
    let six = Flavor::EVERY;
    let lab = lab_of(&six).await;
    let dir = tempfile::tempdir().unwrap();
    for (i, flavor) in six.into_iter().enumerate() {
        let run = oob(&lab, dir.path(), i, &["--power-cycle"]).await;
        assert_eq!(run.code, Some(0), "{flavor:?}: {}", run.stderr);
        let resets = resets_of(flavor);
        let want = if let [one] = resets {
            format!("power On -> Cycling ({one})")
        } else {
            format!("power On -> On ({})", resets.join(", "))
        };
        assert!(run.stdout.contains(&want), "{flavor:?}: {}", run.stdout);
    }
    // at time scale 0 every cycle is over once the machines are advanced to now
    lab.with_state(|_| ());
    let metrics = lab.metrics();
    for (host, flavor) in lab.inventory().hosts.iter().zip(six) {
        let counters = metrics.host(&host.name);
        assert_eq!(counters.boots, 1, "{flavor:?} {}", host.name);
        assert_eq!(counters.power_cycles, 1, "{flavor:?} {}", host.name);
        let sent: Vec<&str> = counters.resets.keys().map(String::as_str).collect();
        let mut want = resets_of(flavor).to_vec();
        want.sort_unstable();
        assert_eq!(sent, want, "{flavor:?} {}", host.name);
        assert!(counters.resets.values().all(|n| *n == 1), "{counters:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_cycle_of_an_ilo_fleet_is_one_cold_boot_and_one_boot_per_host() {
    const HOSTS: usize = 8;
    let lab = testkit::Lab::start(testkit::LabConfig {
        hosts: HOSTS,
        flavors: vec![Flavor::Hpe],
        time_scale: 0.0,
        // the action where iLO 5 lists it, under Actions.Oem.Hpe
        oem_actions_place: testkit::OemActionsPlace::VendorKey,
        ..testkit::LabConfig::default()
    })
    .await
    .unwrap();
    let off_before: Vec<bool> = lab.with_state(|s| {
        s.machines
            .iter()
            .map(|m| m.phase == testkit::machine::Phase::Off)
            .collect()
    });
    let out = oob_fleet(&lab, &["--power-cycle"], None).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let r = records(&out);
    assert_eq!(r.len(), HOSTS, "{out:?}");
    let on = off_before.iter().filter(|off| !**off).count();
    assert!(on > 0, "the lab starts some hosts on");
    let cold_boots = r
        .iter()
        .filter(|(ok, l)| *ok && l == &["power On -> Cycling (ColdBoot)"])
        .count();
    assert_eq!(cold_boots, on, "{r:?}");
    lab.with_state(|_| ());
    let metrics = lab.metrics();
    for (host, off) in lab.inventory().hosts.iter().zip(off_before) {
        let counters = metrics.host(&host.name);
        assert_eq!(counters.boots, 1, "{}: {counters:?}", host.name);
        // a host that was off is powered on; one that was on gets iLO's ColdBoot alone
        let sent: Vec<(&str, u64)> = counters
            .resets
            .iter()
            .map(|(k, n)| (k.as_str(), *n))
            .collect();
        let want = if off { ("On", 1) } else { ("ColdBoot", 1) };
        assert_eq!(sent, [want], "{}", host.name);
        assert_eq!(counters.power_cycles, u64::from(!off), "{}", host.name);
    }
}
