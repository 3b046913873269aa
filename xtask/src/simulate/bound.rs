//! The lower bound of DESIGN §8 for one fleet, term by term: `LB = max(CP, N·F/capacity)`, and
//! `LB_N`, which counts that the slowest of N hosts' drawn paths is longer than the median one.
//!
//! F is the Foreman work one host brings, so N·F must be the work N hosts bring: the lab draws
//! every service time log-normally, and a sum of draws grows with their mean (median ·
//! e^(σ²/2), 8.3% above the median at Foreman's σ = 0.4), not their median. Reports before
//! 2026-12-07 used the median; `f_median` and `lb_n_median` keep that figure for comparison.

use serde::Serialize;
use testkit::LabModel;

/// One term of a bound: what it is and its lab seconds.
#[derive(Debug, Clone, Serialize)]
pub struct Term {
    /// What it is.
    pub what: String,
    /// Lab seconds.
    pub seconds: f64,
}

fn term(what: impl Into<String>, seconds: f64) -> Term {
    Term {
        what: what.into(),
        seconds,
    }
}

/// The lower bound of DESIGN §8 for one fleet, with its parts.
#[derive(Debug, Clone, Serialize)]
pub struct Bound {
    /// Hosts.
    pub hosts: usize,
    /// Hosts that need a boot-order change (their config job runs during POST).
    pub boot_order_changes: usize,
    /// The critical path's terms (the slowest kind of host present).
    pub cp_terms: Vec<Term>,
    /// One host's shortest critical path at median latencies.
    pub cp: f64,
    /// The Foreman service time one host needs, term by term.
    pub f_terms: Vec<Term>,
    /// F.
    pub f: f64,
    /// F at median service times (the figure reports used before 2026-12-07).
    pub f_median: f64,
    /// Foreman requests in service at once.
    pub capacity: usize,
    /// N·F/capacity.
    pub foreman_bound: f64,
    /// `max(CP, N·F/capacity)`.
    pub lb: f64,
    /// The part of the critical path after the host's Foreman work (boot and install).
    pub tail: f64,
    /// Expected slowest of N hosts' drawn critical paths (seeded trials).
    pub cp_n: f64,
    /// `max(CP_N, N·F/capacity + tail)`.
    pub lb_n: f64,
    /// `LB_N` with `f_median` in place of F.
    pub lb_n_median: f64,
}

/// The mean of a log-normal draw around `median` with `sigma`.
fn mean(median: f64, sigma: f64) -> f64 {
    median * (sigma * sigma / 2.0).exp()
}

/// The bound for `hosts` hosts of which `changes` need a boot-order change, into `clouds` clouds.
#[must_use]
pub fn bound(model: &LabModel, hosts: usize, changes: usize, clouds: usize, seed: u64) -> Bound {
    let (f, b) = (&model.foreman, &model.bmc);
    // Before the power cycle three branches run side by side: the Foreman build write, the
    // one-time PXE PATCH, and (if needed) the boot-order PATCH then its config-job POST.
    let pre_boot = if changes > 0 {
        b.patch + b.action
    } else {
        b.patch.max(f.host_build_write)
    };
    let mut cp_terms = vec![
        term(
            "switch commit (the host's ports in its switch's batch)",
            model.switch.commit,
        ),
        term(
            if changes > 0 {
                "boot order PATCH + config job POST (longest pre-boot branch)"
            } else {
                "one-time PXE PATCH (longest pre-boot branch)"
            },
            pre_boot,
        ),
        term("ForceOff action", b.action),
        term("power off", b.power_off),
        term("POST", b.power_on_post),
    ];
    if changes > 0 {
        cp_terms.push(term("config job applied during POST", b.config_job));
    }
    cp_terms.push(term("install", f.install));
    cp_terms.push(term(
        "Foreman shows build=false (one thin query)",
        f.index_base,
    ));
    let cp: f64 = cp_terms.iter().map(|t| t.seconds).sum();
    let n = hosts.max(1) as f64;
    // one host's Foreman work with every service time at `mean(median, sigma)` (σ 0: medians)
    let f_terms_at = |sigma: f64| {
        vec![
            term(
                "PUT /hosts/:id with build=true, the 3 host parameters nested in it (mean draw)",
                mean(f.host_build_write, sigma),
            ),
            term(
                format!(
                    "cloud user, role, filter, role assignment (4 mean writes × {clouds} clouds / N)"
                ),
                4.0 * mean(f.rbac_write, sigma) * clouds as f64 / n,
            ),
        ]
    };
    let sum = |ts: &[Term]| ts.iter().map(|t| t.seconds).sum::<f64>();
    let f_median = sum(&f_terms_at(0.0));
    let f_terms = f_terms_at(f.sigma);
    let f_host = sum(&f_terms);
    let capacity = f.capacity.max(1);
    let foreman_bound = n * f_host / capacity as f64;
    let foreman_bound_median = n * f_median / capacity as f64;
    // what must follow the last host's Foreman write (its switch commit came before)
    let tail = cp - pre_boot - model.switch.commit;
    let cp_n = slowest_of(model, hosts, changes, seed, pre_boot);
    Bound {
        hosts,
        boot_order_changes: changes,
        cp_terms,
        cp,
        f_terms,
        f: f_host,
        f_median,
        capacity,
        foreman_bound,
        lb: cp.max(foreman_bound),
        tail,
        cp_n,
        lb_n: cp_n.max(foreman_bound + tail),
        lb_n_median: cp_n.max(foreman_bound_median + tail),
    }
}

/// The mean over seeded trials of the slowest host's drawn critical path: power-off, POST,
/// config job (for the first `changes` hosts) and install drawn log-normally as the lab draws
/// them; request latencies at their medians.
fn slowest_of(model: &LabModel, hosts: usize, changes: usize, seed: u64, pre_boot: f64) -> f64 {
    const TRIALS: u64 = 40;
    let (f, b) = (&model.foreman, &model.bmc);
    let mut key = seed.wrapping_mul(0x2545_f491_4f6c_dd1d);
    let mut draw = |median: f64, sigma: f64| {
        key = key.wrapping_add(2);
        let u = |k: u64| testkit::clock::unit(testkit::clock::mix(k));
        testkit::clock::lognormal(median, sigma, (u(key - 1), u(key)))
    };
    let fixed = pre_boot + b.action + f.index_base;
    let sw = &model.switch;
    let mut total = 0.0;
    for _ in 0..TRIALS {
        let mut slowest: f64 = 0.0;
        let mut commit = 0.0;
        for h in 0..hosts {
            // about ten hosts share a switch (48 ports) and so one commit's draw
            if h % 10 == 0 {
                commit = draw(sw.commit, sw.sigma);
            }
            let mut path = fixed
                + commit
                + draw(b.power_off, b.sigma)
                + draw(b.power_on_post, b.sigma)
                + draw(f.install, 0.1);
            if h < changes {
                path += draw(b.config_job, b.sigma);
            }
            slowest = slowest.max(path);
        }
        total += slowest;
    }
    total / TRIALS as f64
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_bound_adds_up_the_model_terms() {
        let model = LabModel::default();
        let b = bound(&model, 700, 233, 3, 1);
        // 4 switch commit, 1.5 PATCH + 1.0 job POST, 1.0 ForceOff, 5 off, 10 POST, 60 job,
        // 300 install, 0.05 poll
        assert!((b.cp - 382.55).abs() < 1e-9, "{}", b.cp);
        let sum: f64 = b.f_terms.iter().map(|t| t.seconds).sum();
        assert!((b.f - sum).abs() < 1e-12);
        // one build write carrying the parameters, plus the clouds' RBAC writes shared by all,
        // each at the mean of its draw (σ = 0.4: e^0.08 above the median)
        assert!((b.f_median - (1.0 + 4.0 * 0.15 * 3.0 / 700.0)).abs() < 1e-9);
        assert!((b.f - b.f_median * 0.08f64.exp()).abs() < 1e-9, "{}", b.f);
        assert!((b.foreman_bound - 700.0 * b.f / 10.0).abs() < 1e-9);
        assert!((b.lb - b.cp).abs() < 1e-9, "at 700 hosts the path bounds");
        // the slowest of 700 drawn paths is well above the median path, below twice it
        assert!(b.cp_n > b.cp + 20.0 && b.cp_n < 2.0 * b.cp, "{}", b.cp_n);
        assert!(b.lb_n >= b.cp_n);

        let big = bound(&model, 5000, 1667, 3, 1);
        assert!(
            (big.lb - big.foreman_bound).abs() < 1e-9,
            "Foreman bounds 5,000"
        );
        assert!((big.lb_n - (big.foreman_bound + big.tail)).abs() < 1e-9);
        // the work of 5,000 hosts is 8.3% above what median service times would make it
        let median_work = big.lb_n_median - big.tail;
        assert!(((big.lb_n - big.tail) / median_work - 0.08f64.exp()).abs() < 1e-9);
        // without boot-order changes the pre-boot branch is the PXE PATCH and there is no job
        let plain = bound(&model, 10, 0, 1, 1);
        assert!((plain.cp - (4.0 + 1.5 + 1.0 + 5.0 + 10.0 + 300.0 + 0.05)).abs() < 1e-9);
        assert_eq!(bound(&model, 700, 233, 3, 1).cp_n, b.cp_n, "seeded");
    }
}
