//! Wall-clock instants (`Timestamp`: UTC, millisecond precision, RFC 3339 text) and the `Clock`
//! that stamps journal entries and runs, including one that follows tokio's (pausable) clock.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::model::ModelError;

/// An instant in UTC with millisecond precision.
///
/// Text form (store, CLI, JSON): RFC 3339 in UTC, `2025-01-31T22:00:00Z`, with `.mmm` only when
/// the milliseconds are not zero. Parsing also accepts any RFC 3339 offset and the short forms
/// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM` and `YYYY-MM-DD HH:MM:SS` (also with `T`), read as UTC.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// The instant `ms` milliseconds after the Unix epoch.
    ///
    /// # Errors
    /// [`ModelError::InvalidTimestamp`] when it is out of the supported range.
    pub fn from_unix_millis(ms: i64) -> Result<Self, ModelError> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .map(Self)
            .map_err(|_| ModelError::InvalidTimestamp {
                value: ms.to_string(),
            })
    }

    /// Milliseconds since the Unix epoch.
    #[must_use]
    pub fn unix_millis(&self) -> i64 {
        // In range by construction: every Timestamp came from milliseconds or was truncated.
        i64::try_from(self.0.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
    }

    /// Truncates a system time to a timestamp.
    #[must_use]
    pub fn from_system_time(t: SystemTime) -> Self {
        let dt = OffsetDateTime::from(t);
        let ms = dt.unix_timestamp_nanos().div_euclid(1_000_000);
        let ms = i64::try_from(ms).unwrap_or(0);
        Self::from_unix_millis(ms).unwrap_or(Self(OffsetDateTime::UNIX_EPOCH))
    }

    /// This instant plus `d` (saturating at the far end of the supported range).
    #[must_use]
    pub fn saturating_add(self, d: Duration) -> Self {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Self::from_unix_millis(self.unix_millis().saturating_add(ms)).unwrap_or(self)
    }

    fn truncate(dt: OffsetDateTime) -> Result<Self, ModelError> {
        let utc = dt.to_offset(UtcOffset::UTC);
        let ms = utc.unix_timestamp_nanos().div_euclid(1_000_000);
        let ms = i64::try_from(ms).map_err(|_| ModelError::InvalidTimestamp {
            value: dt.to_string(),
        })?;
        Self::from_unix_millis(ms)
    }
}

impl FromStr for Timestamp {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let invalid = || ModelError::InvalidTimestamp {
            value: s.to_owned(),
        };
        if let Ok(dt) = OffsetDateTime::parse(s, &Rfc3339) {
            return Self::truncate(dt);
        }
        let normalized = s.replacen('T', " ", 1);
        let forms: [&[time::format_description::BorrowedFormatItem<'_>]; 2] = [
            format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
            format_description!("[year]-[month]-[day] [hour]:[minute]"),
        ];
        for form in forms {
            if let Ok(dt) = PrimitiveDateTime::parse(&normalized, form) {
                return Self::truncate(dt.assume_utc());
            }
        }
        if let Ok(date) = time::Date::parse(s, format_description!("[year]-[month]-[day]")) {
            return Self::truncate(date.midnight().assume_utc());
        }
        Err(invalid())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute(),
            d.second()
        )?;
        let ms = d.millisecond();
        if ms != 0 {
            write!(f, ".{ms:03}")?;
        }
        f.write_str("Z")
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Where stored timestamps come from.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current wall-clock instant.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_system_time(SystemTime::now())
    }
}

/// A wall clock that advances with tokio's clock from a fixed base: under
/// `tokio::time::pause` it stands still and moves only when the test advances time.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    base: Timestamp,
    origin: tokio::time::Instant,
}

impl TokioClock {
    /// A clock reading `base` now (must be called inside a tokio runtime with the time driver).
    #[must_use]
    pub fn starting_at(base: Timestamp) -> Self {
        Self {
            base,
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Timestamp {
        self.base.saturating_add(self.origin.elapsed())
    }
}

/// `d × factor` (a simulated lab's time scale), saturating; zero for a non-positive factor.
#[must_use]
pub fn scale_duration(d: std::time::Duration, factor: f64) -> std::time::Duration {
    std::time::Duration::try_from_secs_f64(d.as_secs_f64() * factor).unwrap_or(if factor > 0.0 {
        std::time::Duration::MAX
    } else {
        std::time::Duration::ZERO
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn parses_rfc3339_and_short_forms_as_utc() {
        assert_eq!(
            t("2025-01-31T22:00:00Z").to_string(),
            "2025-01-31T22:00:00Z"
        );
        assert_eq!(t("2025-01-31T23:00:00+01:00"), t("2025-01-31T22:00:00Z"));
        assert_eq!(t("2025-01-31 22:00"), t("2025-01-31T22:00:00Z"));
        assert_eq!(t("2025-01-31T22:00"), t("2025-01-31T22:00:00Z"));
        assert_eq!(t("2025-01-31 22:00:05"), t("2025-01-31T22:00:05Z"));
        assert_eq!(t("2025-01-31"), t("2025-01-31T00:00:00Z"));
        assert_eq!(
            t("2025-01-31T22:00:00.250Z").to_string(),
            "2025-01-31T22:00:00.250Z"
        );
        for bad in ["", "tomorrow", "2025-13-01", "2025-01-31 25:00"] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn millis_round_trip_and_order() {
        let a = t("2025-01-31T22:00:00.001Z");
        assert_eq!(Timestamp::from_unix_millis(a.unix_millis()).unwrap(), a);
        assert!(a > t("2025-01-31T22:00:00Z"));
        assert_eq!(
            t("2025-01-31T22:00:00Z").saturating_add(Duration::from_secs(90)),
            t("2025-01-31T22:01:30Z")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn tokio_clock_follows_paused_time() {
        let clock = TokioClock::starting_at(t("2025-01-01T00:00:00Z"));
        assert_eq!(clock.now(), t("2025-01-01T00:00:00Z"));
        tokio::time::advance(Duration::from_millis(1500)).await;
        assert_eq!(clock.now(), t("2025-01-01T00:00:01.500Z"));
    }
}
