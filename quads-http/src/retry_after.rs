//! The `Retry-After` header (RFC 9110 §10.2.3), read once for every client: delta-seconds or an
//! HTTP date, the date measured against the wall clock (a server's date is wall-clock time).

use std::time::{Duration, SystemTime};

/// The delay a response's `Retry-After` header asks for; `None` when there is no header or it
/// is neither delta-seconds nor an HTTP date. A date in the past asks for no delay.
#[must_use]
pub fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    parse_retry_after(
        headers.get(http::header::RETRY_AFTER)?.to_str().ok()?,
        SystemTime::now(),
    )
}

/// The delay a `Retry-After` value asks for at `now`: delta-seconds, or the time from `now` to
/// an HTTP date (zero for a date already past).
#[must_use]
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn at(date: &str) -> SystemTime {
        httpdate::parse_http_date(date).unwrap()
    }

    #[test]
    fn seconds_and_dates_are_read() {
        let now = at("Wed, 21 Oct 2015 07:28:00 GMT");
        let cases = [
            (" 120 ", Some(120)),
            ("Wed, 21 Oct 2015 07:29:30 GMT", Some(90)),
            // the obsolete date formats RFC 9110 still asks recipients to accept
            ("Wednesday, 21-Oct-15 07:28:10 GMT", Some(10)),
            ("Wed Oct 21 07:28:05 2015", Some(5)),
            // a date already past: no delay
            ("Wed, 21 Oct 2015 07:27:00 GMT", Some(0)),
            ("soon", None),
            ("-5", None),
            ("", None),
        ];
        for (value, seconds) in cases {
            assert_eq!(
                parse_retry_after(value, now),
                seconds.map(Duration::from_secs),
                "{value:?}"
            );
        }
    }

    #[test]
    fn the_header_is_read_from_a_response() {
        let mut h = http::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(http::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            http::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
    }
}
