//! QUADS's three date formats and [`Timestamp`], the instant they stand for.
//!
//! QUADS stores naive datetimes in the server's local time. Answers give them as RFC 1123 text
//! labelled `GMT` (`Tue, 03 Dec 2024 22:00:00 GMT`) although they are local time; `PATCH` bodies
//! and `?date=` take `YYYY-MM-DDTHH:MM`, `POST schedules` takes `YYYY-MM-DD HH:MM`, and both
//! refuse seconds. The client cannot learn the server's offset from the API, so it is told
//! ([`crate::ClientConfig::server_utc_offset`], default UTC): every date read is shifted by it
//! into a true instant, and every date written is shifted back to the server's wall clock.

use std::fmt;

use serde::{Deserialize, Deserializer};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// RFC 1123 as Flask writes it (the zone is always the literal `GMT`).
const RFC1123: &[BorrowedFormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);
/// `PATCH` bodies and `?date=`.
const MINUTE_T: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]");
/// `POST schedules` bodies.
const MINUTE_SPACE: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]");

/// An instant, as QUADS's dates name one once the server's UTC offset is applied.
///
/// ```
/// use quads_api_client::Timestamp;
/// use time::UtcOffset;
///
/// let t = Timestamp::from_unix(1_733_263_200); // 2024-12-03 22:00 UTC
/// assert_eq!(t.to_minute(UtcOffset::UTC), "2024-12-03T22:00");
/// let east = UtcOffset::from_hms(1, 0, 0).unwrap();
/// assert_eq!(t.to_schedule_post(east), "2024-12-03 23:00");
/// let read = Timestamp::parse_rfc1123("Tue, 03 Dec 2024 23:00:00 GMT", east).unwrap();
/// assert_eq!(read, t);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// The instant `seconds` after the Unix epoch (clamped to the range QUADS can name).
    #[must_use]
    pub fn from_unix(seconds: i64) -> Self {
        Self(OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH))
    }

    /// Seconds since the Unix epoch.
    #[must_use]
    pub fn unix(self) -> i64 {
        self.0.unix_timestamp()
    }

    /// The instant as a `time` value in UTC.
    #[must_use]
    pub fn as_offset_date_time(self) -> OffsetDateTime {
        self.0
    }

    /// The same instant with seconds (and below) dropped: what QUADS keeps of a date written.
    #[must_use]
    pub fn floor_minute(self) -> Self {
        Self::from_unix(self.unix().div_euclid(60) * 60)
    }

    /// `YYYY-MM-DDTHH:MM` on the server's wall clock (`PATCH` bodies, `?date=`).
    #[must_use]
    pub fn to_minute(self, server: UtcOffset) -> String {
        self.0
            .to_offset(server)
            .format(MINUTE_T)
            .unwrap_or_default()
    }

    /// `YYYY-MM-DD HH:MM` on the server's wall clock (`POST schedules` bodies).
    #[must_use]
    pub fn to_schedule_post(self, server: UtcOffset) -> String {
        self.0
            .to_offset(server)
            .format(MINUTE_SPACE)
            .unwrap_or_default()
    }

    /// Reads an answer's date (`Tue, 03 Dec 2024 22:00:00 GMT`, server-local despite `GMT`).
    ///
    /// # Errors
    /// The reason when the text is not of that form.
    pub fn parse_rfc1123(text: &str, server: UtcOffset) -> Result<Self, String> {
        PrimitiveDateTime::parse(text.trim(), RFC1123)
            .map(|local| Self(local.assume_offset(server).to_offset(UtcOffset::UTC)))
            .map_err(|e| format!("{text:?} is not an RFC 1123 date: {e}"))
    }

    /// Reads `YYYY-MM-DDTHH:MM` on the server's wall clock.
    ///
    /// # Errors
    /// The reason when the text is not of that form.
    pub fn parse_minute(text: &str, server: UtcOffset) -> Result<Self, String> {
        PrimitiveDateTime::parse(text.trim(), MINUTE_T)
            .map(|local| Self(local.assume_offset(server).to_offset(UtcOffset::UTC)))
            .map_err(|e| format!("{text:?} is not a YYYY-MM-DDTHH:MM date: {e}"))
    }

    /// This instant read as if the server were at UTC, moved to where it is at `server`
    /// (answers are decoded at UTC first, then shifted once the offset is known).
    #[must_use]
    pub(crate) fn shifted_from_utc(self, server: UtcOffset) -> Self {
        Self(self.0 - time::Duration::seconds(i64::from(server.whole_seconds())))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self
            .0
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        f.write_str(&text)
    }
}

/// Decodes an optional RFC 1123 date as if the server were at UTC (shifted afterwards).
pub(crate) fn rfc1123_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(text) if text.trim().is_empty() => Ok(None),
        Some(text) => Timestamp::parse_rfc1123(&text, UtcOffset::UTC)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

/// Shifts every date of an answer from "read at UTC" to the server's real offset.
pub(crate) trait ServerLocal {
    /// Applies the server's offset to every date held.
    fn localize(&mut self, server: UtcOffset);
}

impl<T: ServerLocal> ServerLocal for Vec<T> {
    fn localize(&mut self, server: UtcOffset) {
        for item in self {
            item.localize(server);
        }
    }
}

impl<T: ServerLocal> ServerLocal for Option<T> {
    fn localize(&mut self, server: UtcOffset) {
        if let Some(item) = self {
            item.localize(server);
        }
    }
}

impl ServerLocal for Timestamp {
    fn localize(&mut self, server: UtcOffset) {
        *self = self.shifted_from_utc(server);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_three_formats_round_trip() {
        let t = Timestamp::parse_rfc1123("Tue, 03 Dec 2024 22:00:00 GMT", UtcOffset::UTC).unwrap();
        assert_eq!(t.unix(), 1_733_263_200);
        assert_eq!(t.to_minute(UtcOffset::UTC), "2024-12-03T22:00");
        assert_eq!(t.to_schedule_post(UtcOffset::UTC), "2024-12-03 22:00");
        assert_eq!(
            Timestamp::parse_minute("2024-12-03T22:00", UtcOffset::UTC).unwrap(),
            t
        );
        assert_eq!(t.to_string(), "2024-12-03T22:00:00Z");
    }

    #[test]
    fn the_server_offset_moves_the_wall_clock() {
        let west = UtcOffset::from_hms(-5, 0, 0).unwrap();
        // 22:00 on a server five hours behind UTC is 03:00 UTC the next day
        let t = Timestamp::parse_rfc1123("Tue, 03 Dec 2024 22:00:00 GMT", west).unwrap();
        assert_eq!(t.to_minute(UtcOffset::UTC), "2024-12-04T03:00");
        assert_eq!(t.to_minute(west), "2024-12-03T22:00");
        let read_at_utc =
            Timestamp::parse_rfc1123("Tue, 03 Dec 2024 22:00:00 GMT", UtcOffset::UTC).unwrap();
        assert_eq!(read_at_utc.shifted_from_utc(west), t);
    }

    #[test]
    fn seconds_are_never_written_and_bad_text_is_refused() {
        let t = Timestamp::from_unix(1_733_263_259);
        assert_eq!(t.to_minute(UtcOffset::UTC), "2024-12-03T22:00");
        assert_eq!(t.floor_minute().unix(), 1_733_263_200);
        assert!(Timestamp::parse_rfc1123("2024-12-03T22:00", UtcOffset::UTC).is_err());
        assert!(Timestamp::parse_minute("2024-12-03T22:00:00", UtcOffset::UTC).is_err());
        assert!(Timestamp::parse_minute("2024-12-03 22:00", UtcOffset::UTC).is_err());
    }
}
