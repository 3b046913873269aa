//! Durations as people write them in configuration files: `"250ms"`, `"2s"`, `"1.5s"`, `"5m"`,
//! `"1h"`, or a bare number of seconds. Use with `#[serde(with = "human_duration")]` (or
//! `human_duration::option` for an `Option<Duration>`).

use std::fmt;
use std::time::Duration;

use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};

/// Writes `duration` in the shortest exact unit: `"2s"`, `"250ms"`, `"1500us"`, `"7ns"`.
#[must_use]
pub fn format(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        "0s".to_owned()
    } else if nanos.is_multiple_of(1_000_000_000) {
        format!("{}s", nanos / 1_000_000_000)
    } else if nanos.is_multiple_of(1_000_000) {
        format!("{}ms", nanos / 1_000_000)
    } else if nanos.is_multiple_of(1_000) {
        format!("{}us", nanos / 1_000)
    } else {
        format!("{nanos}ns")
    }
}

/// Reads `"250ms"`, `"2s"`, `"1.5s"`, `"5m"`, `"1h"`, `"10us"`, `"7ns"` or a bare number of
/// seconds (`"3"`, `"0.5"`).
///
/// # Errors
/// When the text is not a non-negative finite number followed by one of those units.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (try \"500ms\", \"2s\", \"5m\")"))?;
    let seconds_per_unit = match unit.trim() {
        "" | "s" | "sec" | "secs" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "ns" => 1e-9,
        "m" | "min" | "mins" => 60.0,
        "h" => 3600.0,
        other => return Err(format!("`{other}` is not a unit of time in `{text}`")),
    };
    from_secs(value * seconds_per_unit).ok_or_else(|| format!("`{text}` is out of range"))
}

fn from_secs(seconds: f64) -> Option<Duration> {
    if seconds.is_finite() && seconds >= 0.0 {
        Duration::try_from_secs_f64(seconds).ok()
    } else {
        None
    }
}

/// Serializes as [`format`] does.
///
/// # Errors
/// Only those of the serializer.
pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format(*duration))
}

/// Deserializes a string in [`parse`]'s syntax or a number of seconds.
///
/// # Errors
/// When the value is neither.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    deserializer.deserialize_any(DurationVisitor)
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as \"500ms\", \"2s\", \"5m\" or a number of seconds")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        parse(v).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        Ok(Duration::from_secs(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        u64::try_from(v)
            .map(Duration::from_secs)
            .map_err(|_| E::custom("a duration cannot be negative"))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
        from_secs(v).ok_or_else(|| E::custom("a duration must be a non-negative finite number"))
    }
}

/// The same for an `Option<Duration>`; pair with `#[serde(default, skip_serializing_if =
/// "Option::is_none")]` so that an absent key means `None`.
pub mod option {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes `Some` as [`super::format`] does and `None` as a unit.
    ///
    /// # Errors
    /// Only those of the serializer.
    pub fn serialize<S: Serializer>(
        duration: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match duration {
            Some(d) => super::serialize(d, serializer),
            None => serializer.serialize_none(),
        }
    }

    /// Deserializes a present value as [`super::deserialize`] does.
    ///
    /// # Errors
    /// When the value is not a duration.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "super")] Duration);
        Option::<Wrapped>::deserialize(deserializer).map(|w| w.map(|Wrapped(d)| d))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn parses_the_usual_units() {
        assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse("3").unwrap(), Duration::from_secs(3));
        assert_eq!(parse(" 10us ").unwrap(), Duration::from_micros(10));
        assert!(parse("fast").is_err());
        assert!(parse("3 fortnights").is_err());
        assert!(parse("-1s").is_err());
    }

    #[test]
    fn formats_in_the_shortest_exact_unit_and_round_trips() {
        for (d, text) in [
            (Duration::ZERO, "0s"),
            (Duration::from_secs(2), "2s"),
            (Duration::from_millis(1500), "1500ms"),
            (Duration::from_micros(7), "7us"),
            (Duration::from_nanos(3), "3ns"),
        ] {
            assert_eq!(format(d), text);
            assert_eq!(parse(text).unwrap(), d);
        }
    }

    #[test]
    fn reads_numbers_and_strings_from_toml() {
        #[derive(serde::Deserialize, serde::Serialize, Debug, PartialEq)]
        struct T {
            #[serde(with = "super")]
            a: Duration,
            #[serde(with = "super")]
            b: Duration,
            #[serde(with = "super")]
            c: Duration,
            #[serde(default, with = "option", skip_serializing_if = "Option::is_none")]
            d: Option<Duration>,
            #[serde(default, with = "option", skip_serializing_if = "Option::is_none")]
            e: Option<Duration>,
        }
        let t: T = toml::from_str("a = 3\nb = 0.25\nc = \"2m\"\nd = \"1s\"").unwrap();
        assert_eq!(
            t,
            T {
                a: Duration::from_secs(3),
                b: Duration::from_millis(250),
                c: Duration::from_secs(120),
                d: Some(Duration::from_secs(1)),
                e: None,
            }
        );
        let back: T = toml::from_str(&toml::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
        assert!(toml::from_str::<T>("a = -1\nb = 1\nc = 1").is_err());
    }
}
