//! Redfish answers with `@Message.ExtendedInfo`: DMTF Base registry messages and the iDRAC
//! messages clients match on (`RAC0218`, `SYS011`, `SWC0700`, `PSU501`...).
//!
//! Texts follow the registries' wording; the iDRAC ones follow what iDRACs are reported to send.

use http::StatusCode;
use serde_json::{Value, json};

use super::reply::Reply;

/// The Base registry version every message id carries.
pub(crate) const BASE: &str = "Base.1.16";
/// The iDRAC message registry prefix.
pub(crate) const IDRAC: &str = "IDRAC.2.9";

/// One `Message` object.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    id: String,
    text: String,
    args: Vec<String>,
    related: Vec<String>,
    severity: &'static str,
    resolution: &'static str,
}

impl Message {
    /// A Base registry message.
    pub(crate) fn base(key: &str, text: impl Into<String>, resolution: &'static str) -> Self {
        Self {
            id: format!("{BASE}.{key}"),
            text: text.into(),
            args: Vec::new(),
            related: Vec::new(),
            severity: "Warning",
            resolution,
        }
    }

    /// An iDRAC registry message.
    pub(crate) fn idrac(key: &str, text: impl Into<String>, resolution: &'static str) -> Self {
        Self {
            id: format!("{IDRAC}.{key}"),
            text: text.into(),
            args: Vec::new(),
            related: Vec::new(),
            severity: "Warning",
            resolution,
        }
    }

    /// With message arguments.
    pub(crate) fn args(mut self, args: &[&str]) -> Self {
        self.args = args.iter().map(|a| (*a).to_owned()).collect();
        self
    }

    /// With a related property (`#/Boot/BootSourceOverrideTarget`).
    pub(crate) fn related(mut self, pointer: impl Into<String>) -> Self {
        self.related.push(pointer.into());
        self
    }

    /// With a severity other than `Warning`.
    pub(crate) fn severity(mut self, severity: &'static str) -> Self {
        self.severity = severity;
        self
    }

    /// The JSON object.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "@odata.type": "#Message.v1_1_2.Message",
            "MessageId": self.id,
            "Message": self.text,
            "MessageArgs": self.args,
            "MessageArgs@odata.count": self.args.len(),
            "RelatedProperties": self.related,
            "RelatedProperties@odata.count": self.related.len(),
            "Severity": self.severity,
            "MessageSeverity": if self.severity == "Informational" { "OK" } else { self.severity },
            "Resolution": self.resolution,
        })
    }
}

/// An error answer: `status` with the `error` envelope around `messages`.
pub(crate) fn error(status: StatusCode, messages: &[Message]) -> Reply {
    let extended: Vec<Value> = messages.iter().map(Message::to_json).collect();
    Reply::json(
        status,
        json!({
            "error": {
                "code": format!("{BASE}.GeneralError"),
                "message": "A general error has occurred. See ExtendedInfo for more information.",
                "@Message.ExtendedInfo": extended,
            }
        }),
    )
}

/// A success body (`@Message.ExtendedInfo` with Base `Success`), as iDRAC and Supermicro send.
pub(crate) fn success_body() -> Value {
    json!({"@Message.ExtendedInfo": [success_message().to_json()]})
}

/// The Base `Success` message.
pub(crate) fn success_message() -> Message {
    Message::base("Success", "The request completed successfully.", "None").severity("OK")
}

/// 200 with a success body.
pub(crate) fn ok_success() -> Reply {
    Reply::json(StatusCode::OK, success_body())
}

/// 404 for a URI that names nothing.
pub(crate) fn not_found(uri: &str) -> Reply {
    error(
        StatusCode::NOT_FOUND,
        &[Message::base(
            "ResourceMissingAtURI",
            format!("The resource at the URI '{uri}' was not found."),
            "Place a valid resource at the URI or correct the URI and resubmit the request.",
        )
        .args(&[uri])
        .severity("Critical")],
    )
}

/// 405 with the methods the resource supports.
pub(crate) fn method_not_allowed(allow: &'static str) -> Reply {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        &[Message::base(
            "OperationNotAllowed",
            "The HTTP method is not allowed on this resource.",
            "None.",
        )
        .severity("Critical")],
    )
    .header(http::header::ALLOW, allow)
}

/// 401 without a usable session or credentials.
pub(crate) fn unauthorized() -> Reply {
    error(
        StatusCode::UNAUTHORIZED,
        &[Message::base(
            "NoValidSession",
            "There is no valid session established with the implementation.",
            "Establish a session before attempting any operations.",
        )
        .severity("Critical")],
    )
    .header(
        http::header::WWW_AUTHENTICATE,
        "Basic realm=\"RedfishService\"",
    )
}

/// 401 for a login with a wrong user name or password.
pub(crate) fn login_failed() -> Reply {
    error(
        StatusCode::UNAUTHORIZED,
        &[Message::base(
            "ResourceAtUriUnauthorized",
            "While accessing the resource at '/redfish/v1/SessionService/Sessions', the service \
             received an authorization error 'invalid user name or password'.",
            "Ensure that the appropriate access is provided for the service in order for it to \
             access the URI.",
        )
        .args(&[
            "/redfish/v1/SessionService/Sessions",
            "invalid user name or password",
        ])
        .severity("Critical")],
    )
}

/// 403 for an account whose role does not allow the operation.
pub(crate) fn forbidden() -> Reply {
    error(
        StatusCode::FORBIDDEN,
        &[Message::base(
            "InsufficientPrivilege",
            "There are insufficient privileges for the account or credentials associated with \
             the current session to perform the requested operation.",
            "Either abandon the operation or change the associated access rights and resubmit \
             the request if the operation failed.",
        )
        .severity("Critical")],
    )
}

/// 400 for a body that is not JSON.
pub(crate) fn malformed_json() -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        &[Message::base(
            "MalformedJSON",
            "The request body submitted was malformed JSON and could not be parsed by the \
             receiving service.",
            "Ensure that the request body is valid JSON and resubmit the request.",
        )
        .severity("Critical")],
    )
}

/// 400 for a property the resource does not have.
pub(crate) fn property_unknown(name: &str) -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        &[Message::base(
            "PropertyUnknown",
            format!("The property {name} is not in the list of valid properties for the resource."),
            "Remove the unknown property from the request body and resubmit the request if the \
             operation failed.",
        )
        .args(&[name])
        .related(format!("#/{}", name.replace('.', "/")))],
    )
}

/// 400 for a required property left out of a create or login request.
pub(crate) fn property_missing(name: &str) -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        &[Message::base(
            "PropertyMissing",
            format!(
                "The property {name} is a required property and must be included in the request."
            ),
            "Ensure that the property is in the request body and has a valid value and resubmit \
             the request if the operation failed.",
        )
        .args(&[name])
        .related(format!("#/{name}"))],
    )
}

/// 409 when an object with the same name exists already.
pub(crate) fn already_exists(name: &str, value: &str) -> Reply {
    error(
        StatusCode::CONFLICT,
        &[Message::base(
            "ResourceAlreadyExists",
            format!(
                "The requested resource of type ManagerAccount with the property {name} with \
                 the value '{value}' already exists."
            ),
            "Do not repeat the create operation as the resource has already been created.",
        )
        .args(&["ManagerAccount", name, value])
        .severity("Critical")],
    )
}

/// 400 for a value whose format the property does not accept (a too short password).
pub(crate) fn value_format_error(name: &str) -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        &[Message::base(
            "PropertyValueFormatError",
            format!(
                "The value provided for the property {name} is not a format that the property \
                 can accept."
            ),
            "Correct the value for the property in the request body and resubmit the request \
             if the operation failed.",
        )
        .args(&["***", name])
        .related(format!("#/{name}"))],
    )
}

/// 400 for a property that cannot be written.
pub(crate) fn property_not_writable(name: &str) -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        &[Message::base(
            "PropertyNotWritable",
            format!("The property {name} is a read-only property and cannot be assigned a value."),
            "Remove the property from the request body and resubmit the request if the \
             operation failed.",
        )
        .args(&[name])
        .related(format!("#/{}", name.replace('.', "/")))],
    )
}

/// 400 for a value outside the property's allowed values.
pub(crate) fn value_not_in_list(value: &str, name: &str) -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        &[Message::base(
            "PropertyValueNotInList",
            format!(
                "The value '{value}' for the property {name} is not in the list of acceptable \
                 values."
            ),
            "Choose a value from the enumeration list that the implementation can support and \
             resubmit the request if the operation failed.",
        )
        .args(&[value, name])
        .related(format!("#/{}", name.replace('.', "/")))],
    )
}

/// 400 for a value of the wrong JSON type.
pub(crate) fn value_type_error(value: &str, name: &str) -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        &[Message::base(
            "PropertyValueTypeError",
            format!(
                "The value '{value}' for the property {name} is not a type that the property \
                 can accept."
            ),
            "Correct the value for the property in the request body and resubmit the request \
             if the operation failed.",
        )
        .args(&[value, name])
        .related(format!("#/{}", name.replace('.', "/")))],
    )
}

/// 400 for a missing action parameter.
pub(crate) fn action_parameter_missing(action: &str, parameter: &str) -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        &[Message::base(
            "ActionParameterMissing",
            format!(
                "The action {action} requires the parameter {parameter} to be present in the \
                 request body."
            ),
            "Supply the action with the required parameter in the request body when the \
             request is resubmitted.",
        )
        .args(&[action, parameter])
        .severity("Critical")],
    )
}

/// 400 for an action parameter value that is not allowed.
pub(crate) fn action_value_not_in_list(value: &str, parameter: &str, action: &str) -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        &[Message::base(
            "ActionParameterValueNotInList",
            format!(
                "The value '{value}' for the parameter {parameter} in the action {action} is not \
                 in the list of acceptable values."
            ),
            "Choose a value from the enumeration list that the implementation can support and \
             resubmit the request if the operation failed.",
        )
        .args(&[value, parameter, action])],
    )
}

/// 400 for an action parameter whose value has the wrong format.
pub(crate) fn action_value_format_error(value: &str, parameter: &str, action: &str) -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        &[Message::base(
            "ActionParameterValueFormatError",
            format!(
                "The value '{value}' for the parameter {parameter} in the action {action} is of a \
                 different format than the parameter can accept."
            ),
            "Correct the value for the parameter in the request body and resubmit the request \
             if the operation failed.",
        )
        .args(&[value, parameter, action])],
    )
}

/// 412 when `If-Match` names another version of the resource.
pub(crate) fn precondition_failed() -> Reply {
    error(
        StatusCode::PRECONDITION_FAILED,
        &[Message::base(
            "PreconditionFailed",
            "The ETag supplied did not match the ETag required to change this resource.",
            "Try the operation again using the appropriate ETag.",
        )
        .severity("Critical")],
    )
}

/// 501 for a `$` query parameter (or an option of one) the service does not implement.
pub(crate) fn query_parameter_unsupported(parameter: &str) -> Reply {
    error(
        StatusCode::NOT_IMPLEMENTED,
        &[Message::base(
            "QueryParameterUnsupported",
            format!("The query parameter '{parameter}' is not supported."),
            "Correct or remove the query parameter and resubmit the request.",
        )
        .args(&[parameter])],
    )
}

/// 400 for a query parameter value that does not parse.
pub(crate) fn query_parameter_value_format_error(value: &str, parameter: &str) -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        &[Message::base(
            "QueryParameterValueFormatError",
            format!("The value '{value}' for the parameter {parameter} has an incorrect format."),
            "Correct the value for the query parameter in the request and resubmit the request \
             if the operation failed.",
        )
        .args(&[value, parameter])],
    )
}

/// 400 for a query parameter value beyond what the service supports (`$levels` > `MaxLevels`).
pub(crate) fn query_parameter_out_of_range(value: &str, parameter: &str, range: &str) -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        &[Message::base(
            "QueryParameterOutOfRange",
            format!(
                "The value '{value}' for the query parameter {parameter} is out of range {range}."
            ),
            "Reduce the value for the query parameter to a value that is within range, such as \
             a start or count value that is within bounds of the number of resources in a \
             collection or a page that is within the range of valid pages.",
        )
        .args(&[value, parameter, range])],
    )
}

/// 500 without anything applied (the error fault).
pub(crate) fn internal_error() -> Reply {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        &[Message::base(
            "InternalError",
            "The request failed due to an internal service error.  The service is still \
             operational.",
            "Resubmit the request.  If the problem persists, consider resetting the service.",
        )
        .severity("Critical")],
    )
}

/// 503 when the BMC's web server has no room for the request.
pub(crate) fn busy(retry_after: u32) -> Reply {
    let secs = retry_after.to_string();
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        &[Message::base(
            "ServiceTemporarilyUnavailable",
            format!("The service is temporarily unavailable.  Retry in {secs} seconds."),
            "Wait for the indicated retry duration and retry the operation.",
        )
        .args(&[&secs])
        .severity("Critical")],
    )
    .header(http::header::RETRY_AFTER, &secs)
}

/// 503 when every session slot is taken: iDRAC's `RAC0218`, or Base `SessionLimitExceeded`.
pub(crate) fn session_limit(dell: bool) -> Reply {
    let message = if dell {
        Message::idrac(
            "RAC0218",
            "The maximum number of user sessions is reached.",
            "Close one or more sessions and retry the operation.",
        )
    } else {
        Message::base(
            "SessionLimitExceeded",
            "The session establishment failed due to the number of simultaneous sessions \
             exceeding the limit of the implementation.",
            "Reduce the number of other sessions before trying to establish the session or \
             increase the limit of simultaneous sessions (if supported).",
        )
    };
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        &[message.severity("Critical")],
    )
}

/// 503 "iDRAC is not ready" (`SWC0700`): nothing was applied, retry later.
pub(crate) fn idrac_not_ready() -> Reply {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        &[Message::idrac(
            "SWC0700",
            "iDRAC is not ready. The configuration values cannot be accessed. Please retry \
             after a few minutes.",
            "Wait for a few minutes and retry the operation. If the issue persists, reset \
             iDRAC.",
        )
        .severity("Critical")],
    )
}

/// 400 `SYS011`: a BIOS configuration job is already pending (scheduled or running).
pub(crate) fn pending_already_committed(related: Option<&str>) -> Reply {
    let mut message = Message::idrac(
        "SYS011",
        "Pending configuration values are already committed, unable to perform another set \
         operation.",
        "Wait for the scheduled job to complete or delete the configuration jobs before \
         attempting more set attribute operations.",
    );
    if let Some(name) = related {
        message = message
            .args(&[name])
            .related(format!("#/Attributes/{name}"));
    }
    error(StatusCode::BAD_REQUEST, &[message])
}

/// 400 when a configuration job is asked for without pending values.
pub(crate) fn no_pending_data() -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        &[Message::idrac(
            "SUP018",
            "No pending data present to create a Configuration job.",
            "Set pending attribute values before creating a configuration job.",
        )],
    )
}

/// 409 for a power action that the server's state makes pointless (iDRAC `PSU501`/`PSU502`).
pub(crate) fn idrac_already(on: bool) -> Reply {
    let (key, text) = if on {
        ("PSU502", "Server is already powered ON.")
    } else {
        ("PSU501", "Server is already powered OFF.")
    };
    error(
        StatusCode::CONFLICT,
        &[Message::idrac(key, text, "No response action is required.").severity("Informational")],
    )
}

/// 400 for a job id the BMC does not know.
pub(crate) fn job_not_found(id: &str) -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        &[Message::idrac(
            "SUP011",
            format!("Job ID {id} is invalid or does not exist."),
            "Enter a valid job ID and retry the operation.",
        )
        .args(&[id])],
    )
}

/// 400 when a running job is asked to be deleted.
pub(crate) fn job_running(id: &str) -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        &[Message::idrac(
            "SUP0517",
            format!("Unable to delete the job {id} because it is running."),
            "Wait for the job to complete, or delete the job queue with JID_CLEARALL_FORCE.",
        )
        .args(&[id])],
    )
}

/// 409 (Supermicro and generic) or 500 (iDRAC) when media is already in the drive.
pub(crate) fn media_in_use(dell: bool) -> Reply {
    if dell {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &[Message::idrac(
                "VRM0012",
                "The requested operation cannot be completed because the Virtual Media \
                 device is already in use.",
                "Eject the virtual media and retry the operation.",
            )],
        )
    } else {
        error(
            StatusCode::CONFLICT,
            &[Message::base(
                "ResourceInUse",
                "The change to the requested resource failed because the resource is in use or \
                 in transition.",
                "Remove the condition and resubmit the request if the operation failed.",
            )],
        )
    }
}

/// 500 (iDRAC) or 409 when no media is in the drive to eject.
pub(crate) fn media_not_inserted(dell: bool) -> Reply {
    if dell {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &[Message::idrac(
                "VRM0009",
                "Virtual Media is detached or Virtual Media devices are already in use.",
                "Insert the virtual media and retry the operation.",
            )],
        )
    } else {
        error(
            StatusCode::CONFLICT,
            &[Message::base(
                "ResourceInStandby",
                "The request could not be performed because the resource is in standby.",
                "Ensure that the resource is in the correct power state and resubmit the \
                 request.",
            )],
        )
    }
}

/// 400 for a request the resource cannot honour, with a free-form Base `GeneralError`.
pub(crate) fn general_error(text: &str) -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        &[Message::base(
            "GeneralError",
            text.to_owned(),
            "See ExtendedInfo for more information.",
        )],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_extended_info_with_a_resolution() {
        let reply = session_limit(true);
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        let body = reply.json_body().expect("json");
        let info = &body["error"]["@Message.ExtendedInfo"][0];
        assert_eq!(info["MessageId"], "IDRAC.2.9.RAC0218");
        assert_eq!(
            info["Message"],
            "The maximum number of user sessions is reached."
        );
        assert!(info["Resolution"].is_string());
        let reply = property_unknown("Boot.Bogus");
        let unknown = reply.json_body().expect("json");
        assert_eq!(
            unknown["error"]["@Message.ExtendedInfo"][0]["RelatedProperties"][0],
            "#/Boot/Bogus"
        );
    }
}
