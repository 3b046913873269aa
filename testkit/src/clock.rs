//! Lab time: lab seconds scaled onto tokio's clock, and seeded log-normal latency draws.
//!
//! Every wait in the lab is a `tokio::time::sleep`, so a lab runs in virtual time under a paused
//! tokio clock. Random draws are a pure function of (seed, stream, sequence number), so a run's
//! latencies and faults do not depend on which task happened to draw first.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// Converts lab seconds to wall (or virtual) time and draws service times.
#[derive(Debug)]
pub struct LabClock {
    scale: f64,
    seed: u64,
    start: Instant,
    sequence: AtomicU64,
}

impl LabClock {
    /// A clock whose lab second lasts `scale` real seconds (0 = no simulated latency at all).
    #[must_use]
    pub fn new(scale: f64, seed: u64) -> Self {
        Self {
            scale: scale.max(0.0),
            seed,
            start: Instant::now(),
            sequence: AtomicU64::new(0),
        }
    }

    /// The time scale.
    #[must_use]
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The seed of every random draw.
    #[must_use]
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The tokio duration of `lab_secs` lab seconds.
    #[must_use]
    pub fn duration(&self, lab_secs: f64) -> Duration {
        Duration::from_secs_f64((lab_secs * self.scale).max(0.0))
    }

    /// The instant `lab_secs` lab seconds from now.
    #[must_use]
    pub fn after(&self, lab_secs: f64) -> Instant {
        Instant::now() + self.duration(lab_secs)
    }

    /// Lab seconds since the lab started (real seconds when the scale is 0).
    #[must_use]
    pub fn lab_now(&self) -> f64 {
        let real = self.start.elapsed().as_secs_f64();
        if self.scale > 0.0 {
            real / self.scale
        } else {
            real
        }
    }

    /// Sleeps `lab_secs` lab seconds on tokio's clock.
    pub async fn sleep(&self, lab_secs: f64) {
        let duration = self.duration(lab_secs);
        if !duration.is_zero() {
            tokio::time::sleep(duration).await;
        }
    }

    /// A log-normal draw around `median` (lab seconds) with `sigma`, for the next request.
    #[must_use]
    pub fn service_time(&self, median: f64, sigma: f64) -> f64 {
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        self.service_time_keyed(median, sigma, 0x5e7f_1ce0, n)
    }

    /// A log-normal draw around `median` with `sigma` that depends only on the seed, a stream
    /// and a key (as [`LabClock::uniform`]).
    #[must_use]
    pub fn service_time_keyed(&self, median: f64, sigma: f64, stream: u64, key: u64) -> f64 {
        lognormal(median, sigma, self.uniform_pair(stream, key))
    }

    /// A uniform draw in [0, 1) that depends only on the seed, a stream and a key.
    #[must_use]
    pub fn uniform(&self, stream: u64, key: u64) -> f64 {
        unit(mix(self.seed
            ^ mix(stream)
            ^ mix(key.wrapping_add(0x9e37_79b9_7f4a_7c15))))
    }

    fn uniform_pair(&self, stream: u64, key: u64) -> (f64, f64) {
        (
            self.uniform(stream, key),
            self.uniform(stream ^ 0xabcd, key),
        )
    }
}

/// A log-normal variate around `median` with `sigma` from two uniforms in [0, 1) (Box–Muller).
#[must_use]
pub fn lognormal(median: f64, sigma: f64, (u1, u2): (f64, f64)) -> f64 {
    if median <= 0.0 {
        return 0.0;
    }
    let z = (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    median * (sigma * z).exp()
}

/// splitmix64's finaliser: a well-mixed 64-bit hash.
#[must_use]
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A uniform in [0, 1) from 64 random bits.
#[allow(clippy::cast_precision_loss)]
#[must_use]
pub fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// A stable 64-bit hash of a string (FNV-1a), for keying draws by name.
#[must_use]
pub fn hash_str(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_seeded() {
        let a = LabClock::new(1.0, 7);
        let b = LabClock::new(1.0, 7);
        let c = LabClock::new(1.0, 8);
        assert_eq!(a.uniform(1, 2).to_bits(), b.uniform(1, 2).to_bits());
        assert_ne!(a.uniform(1, 2).to_bits(), c.uniform(1, 2).to_bits());
    }

    #[test]
    fn lognormal_median_holds() {
        let clock = LabClock::new(1.0, 42);
        let mut draws: Vec<f64> = (0..4001).map(|_| clock.service_time(2.0, 0.4)).collect();
        draws.sort_by(f64::total_cmp);
        let median = draws[2000];
        assert!((median - 2.0).abs() < 0.1, "median {median}");
        assert!(draws.iter().all(|d| *d > 0.0));
    }

    #[test]
    fn zero_scale_means_no_wait() {
        let clock = LabClock::new(0.0, 1);
        assert!(clock.duration(300.0).is_zero());
        assert_eq!(
            LabClock::new(0.01, 1).duration(300.0),
            Duration::from_secs(3)
        );
    }
}
