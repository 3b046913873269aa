//! Redfish query parameters (DSP0266, "Query parameters") on GET: `$expand` with `.`
//! (subordinate references, not those under `Links`) and `*` (every reference) at `$levels=1`,
//! on the flavours whose real BMCs have it (iDRAC9, iDRAC10, the generic DMTF service; not
//! Supermicro, so clients' fallback stays exercised). What a flavour does not implement, a `$`
//! parameter other than `$expand`, or `~` (references under `Links` only), answers 501
//! `QueryParameterUnsupported`; a malformed value 400 `QueryParameterValueFormatError`;
//! `$levels` beyond `MaxLevels` 400 `QueryParameterOutOfRange`. Parameters without `$` are
//! ignored, as the specification asks.
//!
//! An expanded reference becomes the body a GET of it answers (its `@odata.id` kept, its
//! `@odata.etag` added); a reference the caller may not read, or that does not resolve, stays a
//! reference.

use http::Method;
use serde_json::{Value, json};

use super::dispatch::{self, Ctx};
use super::reply::{Reply, annotated_body};
use super::{auth, messages, router};
use crate::machine::Flavor;
use crate::server::Request;

/// The deepest `$levels` served.
pub(crate) const MAX_LEVELS: u64 = 1;

/// The share of a GET's service time one expanded resource adds to the answer: the BMC still
/// builds it, but parses, authenticates and frames no request of its own. An assumption of
/// the lab, not a measurement.
pub(crate) const EXPANDED_SHARE: f64 = 0.5;

/// Which references a `$expand` replaces by their resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expand {
    /// `.`: every reference but those under `Links`.
    Subordinate,
    /// `*`: every reference.
    All,
}

/// Whether a flavour serves `$expand`.
pub(crate) fn expands(flavor: Flavor) -> bool {
    match flavor {
        Flavor::Dell | Flavor::Idrac10 | Flavor::Generic | Flavor::Hpe | Flavor::Lenovo => true,
        Flavor::Supermicro => false,
    }
}

/// The service root's `ProtocolFeaturesSupported`, true to what [`parse`] accepts.
pub(crate) fn protocol_features(flavor: Flavor) -> Value {
    let expand = if expands(flavor) {
        json!({
            "ExpandAll": true,
            "Levels": true,
            "Links": false,
            "NoLinks": true,
            "MaxLevels": MAX_LEVELS,
        })
    } else {
        json!({"ExpandAll": false, "Levels": false, "Links": false, "NoLinks": false})
    };
    json!({
        "ExpandQuery": expand,
        "FilterQuery": false,
        "SelectQuery": false,
        "OnlyMemberQuery": false,
        "ExcerptQuery": false,
    })
}

/// The expansion a GET asks for, or the error answer for the query it carries.
pub(crate) fn parse(request: &Request, flavor: Flavor) -> Result<Option<Expand>, Reply> {
    let mut expand = None;
    for (name, value) in &request.query {
        if !name.starts_with('$') {
            continue;
        }
        if name != "$expand" || !expands(flavor) {
            return Err(messages::query_parameter_unsupported(name));
        }
        expand = Some(parse_expand(value)?);
    }
    Ok(expand)
}

/// `.`, `*` or `~`, optionally with `($levels=n)`.
fn parse_expand(value: &str) -> Result<Expand, Reply> {
    let malformed = || messages::query_parameter_value_format_error(value, "$expand");
    let (kind, options) = match value.split_once('(') {
        Some((kind, rest)) => (kind, Some(rest.strip_suffix(')').ok_or_else(malformed)?)),
        None => (value, None),
    };
    let expand = match kind {
        "." => Expand::Subordinate,
        "*" => Expand::All,
        "~" => return Err(messages::query_parameter_unsupported("$expand=~")),
        _ => return Err(malformed()),
    };
    if let Some(options) = options {
        let levels = options.strip_prefix("$levels=").ok_or_else(malformed)?;
        let levels: u64 = levels.parse().map_err(|_| malformed())?;
        if !(1..=MAX_LEVELS).contains(&levels) {
            return Err(messages::query_parameter_out_of_range(
                &levels.to_string(),
                "$levels",
                &format!("1 to {MAX_LEVELS}"),
            ));
        }
    }
    Ok(expand)
}

/// `reply` with its references expanded one level, and how many were.
pub(crate) fn expand(cx: &mut Ctx<'_>, reply: Reply, how: Expand) -> (Reply, usize) {
    if !reply.status.is_success() {
        return (reply, 0);
    }
    let Some(mut body) = reply.json_body().cloned() else {
        return (reply, 0);
    };
    let mut expanded = 0;
    if let Value::Object(map) = &mut body {
        for (key, child) in map.iter_mut() {
            walk(cx, key, child, false, how, &mut expanded);
        }
    }
    (reply.with_json_body(body), expanded)
}

/// Expands the references in `value`, found under `key` (annotations are left alone).
fn walk(
    cx: &mut Ctx<'_>,
    key: &str,
    value: &mut Value,
    in_links: bool,
    how: Expand,
    expanded: &mut usize,
) {
    if key.contains('@') {
        return;
    }
    let in_links = in_links || key == "Links";
    if in_links && how == Expand::Subordinate {
        return;
    }
    if let Some(path) = reference(value) {
        if let Some(body) = resolve(cx, &path) {
            *value = body;
            *expanded += 1;
        }
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                walk(cx, key, child, in_links, how, expanded);
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(cx, "", item, in_links, how, expanded);
            }
        }
        _ => {}
    }
}

/// The target of a reference object (`{"@odata.id": ...}` and nothing else).
fn reference(value: &Value) -> Option<String> {
    let map = value.as_object()?;
    if map.len() != 1 {
        return None;
    }
    map.get("@odata.id")?.as_str().map(str::to_owned)
}

/// The body a GET of `path` would answer this caller, annotated with its `ETag`.
fn resolve(cx: &mut Ctx<'_>, path: &str) -> Option<Value> {
    if path.contains('#') {
        return None;
    }
    let routed = router::route(cx.layout, path)?;
    let allowed = match cx.who.role() {
        Some(role) => auth::grants(role, auth::required(&routed.route, &Method::GET)),
        None => auth::is_public(&routed.route, &Method::GET),
    };
    if !allowed {
        return None;
    }
    let reply = dispatch::dispatch(cx, &routed.route, &Method::GET);
    if !reply.status.is_success() {
        return None;
    }
    annotated_body(&reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(value: &str) -> Option<u16> {
        parse_expand(value).err().map(|r| r.status.as_u16())
    }

    #[test]
    fn expand_values_per_the_specification() {
        assert_eq!(parse_expand(".").ok(), Some(Expand::Subordinate));
        assert_eq!(parse_expand(".($levels=1)").ok(), Some(Expand::Subordinate));
        assert_eq!(parse_expand("*($levels=1)").ok(), Some(Expand::All));
        assert_eq!(status("~"), Some(501));
        assert_eq!(status("~($levels=1)"), Some(501));
        assert_eq!(status(".($levels=2)"), Some(400));
        assert_eq!(status(".($levels=0)"), Some(400));
        assert_eq!(status(".($levels=x)"), Some(400));
        assert_eq!(status(".($levels=1"), Some(400));
        assert_eq!(status("Members"), Some(400));
    }

    #[test]
    fn references_are_objects_with_only_an_id() {
        assert_eq!(
            reference(&json!({"@odata.id": "/redfish/v1/Systems"})).as_deref(),
            Some("/redfish/v1/Systems")
        );
        assert_eq!(reference(&json!({"@odata.id": "/x", "Id": "1"})), None);
        assert_eq!(reference(&json!("/x")), None);
    }

    #[test]
    fn the_root_advertises_what_is_served() {
        for flavor in [
            Flavor::Dell,
            Flavor::Idrac10,
            Flavor::Supermicro,
            Flavor::Generic,
            Flavor::Hpe,
            Flavor::Lenovo,
        ] {
            let features = protocol_features(flavor);
            let expand = &features["ExpandQuery"];
            assert_eq!(expand["NoLinks"], expands(flavor), "{flavor:?}");
            assert_eq!(expand["ExpandAll"], expands(flavor), "{flavor:?}");
            assert_eq!(expand["Links"], false, "{flavor:?}");
            assert_eq!(
                expand.get("MaxLevels").is_some(),
                expands(flavor),
                "{flavor:?}"
            );
        }
    }
}
