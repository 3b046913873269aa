//! Foreman's error answers, in its three body shapes.
//!
//! 1. `{"error": {...}}`: Foreman's API v2 error layout: 401 (`Unable to authenticate user X`),
//!    403 (`Access denied` with `details` and `missing_permissions`), 404 (`Resource host not
//!    found by id 'x'`), 415, 422 (`id`, `errors`, `full_messages`, or just a `message` when an
//!    associated record is not found), 400 for a bad search (`message`, `class`), 500.
//! 2. `{"message": "..."}`: a 404 for a missing parent in a nested route
//!    (`/api/hostgroups/9/hosts`: `Hostgroup not found by id '9'`).
//! 3. `{"status": 400, "error": "..."}`: a body that is not JSON.
//!
//! Besides these, the web server answers 503 with an HTML page when Foreman's backlog is full, and
//! Rails a 404 HTML page for a path no route matches. No 401 carries a `WWW-Authenticate` header.

use http::StatusCode;
use serde_json::{Value, json};

use crate::server::{Response, json, text};

use super::db::Id;

/// The page Apache serves when no backend can take the request.
pub const SERVICE_UNAVAILABLE_HTML: &str = "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n\
<html><head>\n<title>503 Service Unavailable</title>\n</head><body>\n<h1>Service Unavailable</h1>\n\
<p>The server is temporarily unable to service your\nrequest due to maintenance downtime or capacity\n\
problems. Please try again later.</p>\n</body></html>\n";

/// Rails' page for a path that matches no route.
pub const NOT_FOUND_HTML: &str = "<!DOCTYPE html>\n<html>\n<head>\n  <title>The page you were looking for doesn't exist (404)</title>\n</head>\n<body>\n  <div class=\"dialog\">\n    <h1>The page you were looking for doesn't exist.</h1>\n    <p>You may have mistyped the address or the page may have moved.</p>\n  </div>\n</body>\n</html>\n";

/// The message of the 500 Foreman sends for an unexpected failure.
pub const INTERNAL_ERROR: &str = "Internal Server Error: the server was unable to finish the request. This may be caused by unavailability of some required service, incorrect API call or a server-side bug. There may be more information in the server's logs.";

/// One validation error: the attribute and Foreman's message.
pub type FieldError = (String, String);

/// Why Foreman refuses a request.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// 401: no or wrong credentials.
    Unauthenticated {
        /// The login that was tried (empty without credentials).
        login: String,
    },
    /// 401: a disabled account.
    Disabled,
    /// 401: too many failed logins lately (brute-force protection).
    TooManyTries,
    /// 403: the user holds none of the permissions the action needs.
    Forbidden {
        /// The permissions that would allow it.
        missing: Vec<&'static str>,
        /// Details (defaults to `Missing one of the required permissions: ...`).
        details: Option<String>,
    },
    /// 404 in the error layout: the record does not exist or is hidden from the user.
    NotFound {
        /// Foreman's resource name (`host`, `parameter`, `user`).
        resource: &'static str,
        /// The id as given in the path (empty if none).
        id: String,
    },
    /// 404 `{"message": ...}`: the parent of a nested route does not exist.
    ParentNotFound {
        /// The parent (`Hostgroup`, `Role`).
        parent: &'static str,
        /// The id as given in the path.
        id: String,
    },
    /// 422: validation failed.
    Invalid {
        /// The record's id (`None` for a new record).
        id: Option<Id>,
        /// Attribute and message, in order.
        errors: Vec<FieldError>,
    },
    /// 422 `{"error": {"message": ...}}`: an associated record was not found.
    Association {
        /// Foreman's message.
        message: String,
    },
    /// 415: a POST or PUT whose body is not declared JSON.
    UnsupportedMediaType {
        /// The `Content-Type` sent.
        content_type: String,
    },
    /// 400 `{"status": 400, "error": ...}`: the body is not JSON.
    BadJson {
        /// The parser's complaint.
        detail: String,
    },
    /// 400: a search Foreman cannot run.
    Search {
        /// scoped_search's message.
        message: String,
    },
    /// 500 with a message.
    Internal {
        /// The message.
        message: String,
    },
    /// 404 HTML: no route.
    NoRoute,
}

impl ApiError {
    /// A 422 with one error.
    #[must_use]
    pub fn invalid(id: Option<Id>, field: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            id,
            errors: vec![(field.to_owned(), message.into())],
        }
    }

    /// A 404 for a record.
    #[must_use]
    pub fn not_found(resource: &'static str, id: &str) -> Self {
        Self::NotFound {
            resource,
            id: id.to_owned(),
        }
    }

    /// A 403 for one missing permission.
    #[must_use]
    pub fn forbidden(permission: &'static str) -> Self {
        Self::Forbidden {
            missing: vec![permission],
            details: None,
        }
    }

    /// The status code.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated { .. } | Self::Disabled | Self::TooManyTries => {
                StatusCode::UNAUTHORIZED
            }
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } | Self::ParentNotFound { .. } | Self::NoRoute => {
                StatusCode::NOT_FOUND
            }
            Self::Invalid { .. } | Self::Association { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::BadJson { .. } | Self::Search { .. } => StatusCode::BAD_REQUEST,
            Self::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The answer Foreman sends.
    #[must_use]
    pub fn response(&self) -> Response {
        let status = self.status();
        let layout = |inner: Value| json(status, &json!({ "error": inner }));
        match self {
            Self::Unauthenticated { login } => layout(json!({
                "message": format!("Unable to authenticate user {login}"),
            })),
            Self::Disabled => layout(json!({
                "message": "User account is disabled, please contact your administrator",
            })),
            Self::TooManyTries => layout(json!({
                "message": "Too many tries, please try again in a few minutes.",
            })),
            Self::Forbidden { missing, details } => {
                let details = details.clone().unwrap_or_else(|| {
                    format!(
                        "Missing one of the required permissions: {}",
                        missing.join(", ")
                    )
                });
                layout(json!({
                    "message": "Access denied",
                    "details": details,
                    "missing_permissions": missing,
                }))
            }
            Self::NotFound { resource, id } => layout(json!({
                "message": format!("Resource {resource} not found by id '{id}'"),
            })),
            Self::ParentNotFound { parent, id } => json(
                status,
                &json!({ "message": format!("{parent} not found by id '{id}'") }),
            ),
            Self::Invalid { id, errors } => {
                let mut by_field = serde_json::Map::new();
                for (field, message) in errors {
                    if let Value::Array(list) = by_field
                        .entry(field.clone())
                        .or_insert_with(|| Value::Array(Vec::new()))
                    {
                        list.push(Value::from(message.as_str()));
                    }
                }
                let full: Vec<String> = errors
                    .iter()
                    .map(|(field, message)| full_message(field, message))
                    .collect();
                layout(json!({
                    "id": id,
                    "errors": by_field,
                    "full_messages": full,
                }))
            }
            Self::Association { message } | Self::Internal { message } => {
                layout(json!({ "message": message }))
            }
            Self::UnsupportedMediaType { content_type } => layout(json!({
                "message": format!(
                    "Media type in 'Content-Type: {content_type}' is unsupported in API v2 for POST and PUT requests. Please use 'Content-Type: application/json'."
                ),
            })),
            Self::BadJson { detail } => json(
                status,
                &json!({
                    "status": 400,
                    "error": format!("There was a problem in the JSON you submitted: {detail}"),
                }),
            ),
            Self::Search { message } => layout(json!({
                "message": message,
                "class": "ScopedSearch::QueryNotSupported",
            })),
            Self::NoRoute => text(status, "text/html; charset=utf-8", NOT_FOUND_HTML),
        }
    }
}

/// Rails' full message: the humanized attribute then the message (`base` has no prefix; a nested
/// attribute such as `host_parameters.value` is named by its last part, as Foreman's gettext
/// attribute names are).
#[must_use]
pub fn full_message(field: &str, message: &str) -> String {
    if field == "base" {
        return message.to_owned();
    }
    let field = field.rsplit('.').next().unwrap_or(field);
    let name = field.strip_suffix("_id").unwrap_or(field).replace('_', " ");
    let mut chars = name.chars();
    let human = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect::<String>())
        .unwrap_or_default();
    format!("{human} {message}")
}

/// The 503 Apache sends past the backlog.
#[must_use]
pub fn service_unavailable() -> Response {
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        "text/html; charset=iso-8859-1",
        SERVICE_UNAVAILABLE_HTML,
    )
}

/// The page a proxy in front of Foreman sends with `status` (502, 503 or 504) when its backend
/// failed, hung or is restarting.
#[must_use]
pub fn gateway_page(status: StatusCode) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    let code = status.as_u16();
    let body = format!(
        "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>{code} {reason}</title>\n\
         </head><body>\n<h1>{reason}</h1>\n<p>The proxy server received an invalid response or no \
         response in time from an upstream server.</p>\n</body></html>\n"
    );
    text(status, "text/html; charset=iso-8859-1", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(error: &ApiError) -> Value {
        serde_json::from_slice(error.response().body()).expect("json")
    }

    #[test]
    fn shapes() {
        let unauth = ApiError::Unauthenticated {
            login: "bob".into(),
        };
        assert_eq!(unauth.status(), 401);
        assert_eq!(
            body(&unauth),
            json!({"error": {"message": "Unable to authenticate user bob"}})
        );
        assert!(
            unauth
                .response()
                .headers()
                .get("www-authenticate")
                .is_none()
        );
        assert_eq!(
            body(&ApiError::forbidden("edit_hosts")),
            json!({"error": {
                "message": "Access denied",
                "details": "Missing one of the required permissions: edit_hosts",
                "missing_permissions": ["edit_hosts"],
            }})
        );
        assert_eq!(
            body(&ApiError::not_found("host", "x")),
            json!({"error": {"message": "Resource host not found by id 'x'"}})
        );
        assert_eq!(
            body(&ApiError::ParentNotFound {
                parent: "Hostgroup",
                id: "9".into()
            }),
            json!({"message": "Hostgroup not found by id '9'"})
        );
        assert_eq!(
            body(&ApiError::invalid(
                Some(3),
                "operatingsystem_id",
                "is invalid"
            )),
            json!({"error": {
                "id": 3,
                "errors": {"operatingsystem_id": ["is invalid"]},
                "full_messages": ["Operatingsystem is invalid"],
            }})
        );
        assert_eq!(
            body(&ApiError::BadJson {
                detail: "oops".into()
            }),
            json!({"status": 400, "error": "There was a problem in the JSON you submitted: oops"})
        );
        assert_eq!(full_message("base", "Locked."), "Locked.");
        assert_eq!(
            full_message("host_parameters.value", "is invalid boolean"),
            "Value is invalid boolean"
        );
        assert_eq!(
            full_message("current_password", "Incorrect password"),
            "Current password Incorrect password"
        );
        let page = service_unavailable();
        assert_eq!(page.status(), 503);
        assert!(String::from_utf8_lossy(page.body()).contains("Service Unavailable"));
    }
}
