//! `quads oob --power-cycle` on one BMC of each of the six lab flavours: the BMC's own
//! `PowerCycle` where the flavour lists it (Dell, iDRAC10, generic: one reset), force off and
//! on elsewhere (Supermicro, HPE, Lenovo); either way the host boots exactly once.

use testkit::Flavor;

use crate::oob_actions::{lab_of, oob};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_cycle_uses_the_bmcs_own_cycle_where_listed_and_boots_once_everywhere() {
    let six = Flavor::EVERY;
    let lab = lab_of(&six).await;
    let dir = tempfile::tempdir().unwrap();
    for (i, flavor) in six.into_iter().enumerate() {
        let run = oob(&lab, dir.path(), i, &["--power-cycle"]).await;
        assert_eq!(run.code, Some(0), "{flavor:?}: {}", run.stderr);
        let native = matches!(flavor, Flavor::Dell | Flavor::Idrac10 | Flavor::Generic);
        let want = if native {
            "power On -> Cycling (PowerCycle)"
        } else {
            "power On -> On (ForceOff, On)"
        };
        assert!(run.stdout.contains(want), "{flavor:?}: {}", run.stdout);
    }
    // at time scale 0 every cycle is over once the machines are advanced to now
    lab.with_state(|_| ());
    let metrics = lab.metrics();
    for (host, flavor) in lab.inventory().hosts.iter().zip(six) {
        let counters = metrics.host(&host.name);
        assert_eq!(counters.boots, 1, "{flavor:?} {}", host.name);
        assert_eq!(counters.power_cycles, 1, "{flavor:?} {}", host.name);
    }
}
