//! Tolerant field decoders for values whose JSON type changed across Foreman versions (numbers
//! sent as strings and back, `null` where a value was expected).

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// An optional unsigned number given as a number, a numeric string, or `null`; anything else
/// (such as `"all"`) is taken as absent.
pub(crate) fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

/// An optional string given as a string, a number, a boolean, or `null`.
pub(crate) fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    })
}

/// An optional boolean given as a boolean, `"true"`/`"false"`, `1`/`0`, or `null`.
pub(crate) fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Bool(b)) => Some(b),
        Some(Value::String(s)) => match s.trim() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        Some(Value::Number(n)) => n.as_u64().map(|v| v != 0),
        _ => None,
    })
}

/// A list that may be `null` or missing.
pub(crate) fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Probe {
        #[serde(default, deserialize_with = "lenient_u64")]
        n: Option<u64>,
        #[serde(default, deserialize_with = "lenient_string")]
        s: Option<String>,
        #[serde(default, deserialize_with = "lenient_bool")]
        b: Option<bool>,
        #[serde(default, deserialize_with = "null_as_empty")]
        v: Vec<u64>,
    }

    #[test]
    fn accepts_each_historical_form() {
        let p: Probe = serde_json::from_str(r#"{"n":"20","s":8,"b":"true","v":null}"#).unwrap();
        assert_eq!(
            (p.n, p.s.as_deref(), p.b, p.v.len()),
            (Some(20), Some("8"), Some(true), 0)
        );
        let p: Probe = serde_json::from_str(r#"{"n":"all","s":null,"b":0}"#).unwrap();
        assert_eq!((p.n, p.s, p.b), (None, None, Some(false)));
        let p: Probe = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!((p.n, p.s, p.b), (None, None, None));
    }
}
