//! Host parameters: list, show by id or name, create, update, delete, and an idempotent
//! upsert by name that writes only when the value, type or visibility differ.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::client::{Call, ForemanClient};
use crate::de;
use crate::error::{DecodeError, Error, decode_json};
use crate::pagination::{ListCall, ListRequest};
use crate::request::{ApiRequest, Endpoint, Identifier, api_path};

/// A parameter as Foreman shows it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Parameter {
    /// Foreman id.
    pub id: u64,
    /// The name.
    pub name: String,
    /// The value, typed per `parameter_type` (a hidden one reads `*****` unless revealed).
    #[serde(default)]
    pub value: Value,
    /// `string`, `boolean`, `integer`, `real`, `array`, `hash`, `yaml` or `json`.
    #[serde(default)]
    pub parameter_type: Option<String>,
    /// Whether the value is hidden (`hidden_value?` in Foreman's JSON).
    #[serde(
        default,
        rename = "hidden_value?",
        alias = "hidden_value",
        deserialize_with = "de::lenient_bool"
    )]
    pub hidden_value: Option<bool>,
    /// Where it applies in the inheritance order.
    #[serde(default)]
    pub priority: Option<i64>,
    /// The kind of object it belongs to (Foreman 2.x and later).
    #[serde(default)]
    pub associated_type: Option<String>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last update time.
    #[serde(default)]
    pub updated_at: Option<String>,
}

impl Parameter {
    /// The value as the text Foreman was (or would be) given: strings as they are, anything
    /// else as JSON.
    #[must_use]
    pub fn value_text(&self) -> String {
        match &self.value {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }

    /// The declared type (`string` when Foreman did not say).
    #[must_use]
    pub fn kind(&self) -> ParameterType {
        self.parameter_type
            .as_deref()
            .and_then(ParameterType::parse)
            .unwrap_or_default()
    }
}

/// A parameter's value type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParameterType {
    /// Text (the default).
    #[default]
    String,
    /// `true` or `false`.
    Boolean,
    /// A whole number.
    Integer,
    /// A number.
    Real,
    /// A JSON array.
    Array,
    /// A JSON object.
    Hash,
    /// YAML text.
    Yaml,
    /// JSON text.
    Json,
}

impl ParameterType {
    /// Foreman's word for it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Boolean => "boolean",
            Self::Integer => "integer",
            Self::Real => "real",
            Self::Array => "array",
            Self::Hash => "hash",
            Self::Yaml => "yaml",
            Self::Json => "json",
        }
    }

    /// Reads Foreman's word.
    #[must_use]
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "string" => Self::String,
            "boolean" => Self::Boolean,
            "integer" => Self::Integer,
            "real" => Self::Real,
            "array" => Self::Array,
            "hash" => Self::Hash,
            "yaml" => Self::Yaml,
            "json" => Self::Json,
            _ => return None,
        })
    }
}

/// Whether a parameter's value is shown to users without the permission to edit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Visibility {
    /// Shown (the default).
    #[default]
    Visible,
    /// Masked as `*****`.
    Hidden,
}

/// A parameter to create, or the full new state of one to update.
///
/// ```
/// use foreman_client::parameters::{NewParameter, ParameterType, Visibility};
///
/// let p = NewParameter::new("kt_activation_keys", "cloud02")
///     .kind(ParameterType::String)
///     .visibility(Visibility::Hidden);
/// assert_eq!(
///     p.to_json(),
///     serde_json::json!({"parameter": {"name": "kt_activation_keys", "value": "cloud02",
///         "parameter_type": "string", "hidden_value": true}})
/// );
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct NewParameter {
    /// The name (no whitespace).
    pub name: String,
    /// The value as text; Foreman converts it per `kind`.
    pub value: String,
    /// The value type.
    pub kind: ParameterType,
    /// Hidden or not.
    pub visibility: Visibility,
}

impl fmt::Debug for NewParameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value: &dyn fmt::Debug = match self.visibility {
            Visibility::Visible => &self.value,
            Visibility::Hidden => &"***",
        };
        f.debug_struct("NewParameter")
            .field("name", &self.name)
            .field("value", value)
            .field("kind", &self.kind)
            .field("visibility", &self.visibility)
            .finish()
    }
}

impl NewParameter {
    /// A visible string parameter.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            kind: ParameterType::String,
            visibility: Visibility::Visible,
        }
    }

    /// Sets the value type.
    #[must_use]
    pub fn kind(mut self, kind: ParameterType) -> Self {
        self.kind = kind;
        self
    }

    /// Sets the visibility.
    #[must_use]
    pub fn visibility(mut self, visibility: Visibility) -> Self {
        self.visibility = visibility;
        self
    }

    /// The request body.
    #[must_use]
    pub fn to_json(&self) -> Value {
        json!({"parameter": {
            "name": self.name,
            "value": self.value,
            "parameter_type": self.kind.as_str(),
            "hidden_value": self.visibility == Visibility::Hidden,
        }})
    }

    /// Whether `existing` already has this name, value, type and visibility.
    #[must_use]
    pub fn matches(&self, existing: &Parameter) -> bool {
        existing.name == self.name
            && existing.value_text() == self.value
            && existing.kind() == self.kind
            && existing
                .hidden_value
                .is_none_or(|hidden| hidden == (self.visibility == Visibility::Hidden))
    }

    fn request(&self, method: http::Method, path: String) -> ApiRequest {
        let request = ApiRequest::new(method, path).json(self.to_json());
        match self.visibility {
            Visibility::Hidden => request.with_secret(self.value.clone().into()),
            Visibility::Visible => request,
        }
    }
}

fn parameters_path(host: &Identifier) -> String {
    api_path(&["hosts", &host.segment(), "parameters"])
}

fn parameter_path(host: &Identifier, parameter: &Identifier) -> String {
    api_path(&["hosts", &host.segment(), "parameters", &parameter.segment()])
}

/// The listing of one host's parameters (`GET /api/hosts/:host_id/parameters`).
#[must_use]
pub fn list_request(host: &Identifier) -> ListRequest<Parameter> {
    ListRequest::new(parameters_path(host))
}

/// `GET /api/hosts/:host_id/parameters/:id`, the parameter by id or name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowParameter {
    host: Identifier,
    parameter: Identifier,
    reveal_hidden: bool,
}

impl ShowParameter {
    /// Parameter `parameter` (id or name) of `host`.
    pub fn new(host: impl Into<Identifier>, parameter: impl Into<Identifier>) -> Self {
        Self {
            host: host.into(),
            parameter: parameter.into(),
            reveal_hidden: false,
        }
    }

    /// Shows a hidden value (needs the permission to edit it).
    #[must_use]
    pub fn reveal_hidden_value(mut self) -> Self {
        self.reveal_hidden = true;
        self
    }
}

impl Endpoint for ShowParameter {
    type Output = Parameter;

    fn request(&self) -> ApiRequest {
        let request = ApiRequest::get(parameter_path(&self.host, &self.parameter));
        if self.reveal_hidden {
            request.query("show_hidden", "true")
        } else {
            request
        }
    }

    fn parse(&self, body: &[u8]) -> Result<Parameter, DecodeError> {
        decode_json(body)
    }
}

/// `POST /api/hosts/:host_id/parameters`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateParameter {
    host: Identifier,
    parameter: NewParameter,
}

impl CreateParameter {
    /// Creates `parameter` on `host`.
    pub fn new(host: impl Into<Identifier>, parameter: NewParameter) -> Self {
        Self {
            host: host.into(),
            parameter,
        }
    }
}

impl Endpoint for CreateParameter {
    type Output = Parameter;

    fn request(&self) -> ApiRequest {
        self.parameter
            .request(http::Method::POST, parameters_path(&self.host))
    }

    fn parse(&self, body: &[u8]) -> Result<Parameter, DecodeError> {
        decode_json(body)
    }
}

/// `PUT /api/hosts/:host_id/parameters/:id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateParameter {
    host: Identifier,
    parameter: Identifier,
    state: NewParameter,
}

impl UpdateParameter {
    /// Gives parameter `parameter` (id or name) of `host` the name, value, type and
    /// visibility of `state`.
    pub fn new(
        host: impl Into<Identifier>,
        parameter: impl Into<Identifier>,
        state: NewParameter,
    ) -> Self {
        Self {
            host: host.into(),
            parameter: parameter.into(),
            state,
        }
    }
}

impl Endpoint for UpdateParameter {
    type Output = Parameter;

    fn request(&self) -> ApiRequest {
        self.state.request(
            http::Method::PUT,
            parameter_path(&self.host, &self.parameter),
        )
    }

    fn parse(&self, body: &[u8]) -> Result<Parameter, DecodeError> {
        decode_json(body)
    }
}

/// `DELETE /api/hosts/:host_id/parameters/:id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteParameter {
    host: Identifier,
    parameter: Identifier,
}

impl DeleteParameter {
    /// Deletes parameter `parameter` (id or name) of `host`.
    pub fn new(host: impl Into<Identifier>, parameter: impl Into<Identifier>) -> Self {
        Self {
            host: host.into(),
            parameter: parameter.into(),
        }
    }
}

impl Endpoint for DeleteParameter {
    type Output = ();

    fn request(&self) -> ApiRequest {
        ApiRequest::new(
            http::Method::DELETE,
            parameter_path(&self.host, &self.parameter),
        )
    }

    fn parse(&self, _body: &[u8]) -> Result<(), DecodeError> {
        Ok(())
    }
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpsertOutcome {
    /// The parameter did not exist and was created.
    Created,
    /// It existed with another value, type or visibility, and was updated.
    Updated,
    /// It already was as asked; nothing was written.
    Unchanged,
}

/// The parameter after an upsert, and what was done.
#[derive(Debug, Clone, PartialEq)]
pub struct Upserted {
    /// The parameter as Foreman has it now.
    pub parameter: Parameter,
    /// What was done.
    pub outcome: UpsertOutcome,
}

/// The parameter endpoints of one host: `client.hosts().parameters(host)`.
#[derive(Debug, Clone)]
pub struct HostParameters<'c> {
    client: &'c ForemanClient,
    host: Identifier,
}

impl<'c> HostParameters<'c> {
    pub(crate) fn new(client: &'c ForemanClient, host: Identifier) -> Self {
        Self { client, host }
    }

    /// Lists the host's own parameters.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// let params = client.hosts().parameters("node01.example.com").list().all().await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListCall<'c, Parameter> {
        ListCall::new(self.client, list_request(&self.host))
    }

    /// Shows one parameter, by id or name.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// let p = client.hosts().parameters(7).show("kt_activation_keys").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn show(&self, parameter: impl Into<Identifier>) -> Call<'c, ShowParameter> {
        Call::new(self.client, ShowParameter::new(&self.host, parameter))
    }

    /// Creates a parameter.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// use foreman_client::parameters::NewParameter;
    /// client.hosts().parameters(7).create(NewParameter::new("rhsm_org", "lab")).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn create(&self, parameter: NewParameter) -> Call<'c, CreateParameter> {
        Call::new(self.client, CreateParameter::new(&self.host, parameter))
    }

    /// Updates a parameter (by id or name) to `state`.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// use foreman_client::parameters::NewParameter;
    /// client.hosts().parameters(7).update("rhsm_org", NewParameter::new("rhsm_org", "lab2")).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn update(
        &self,
        parameter: impl Into<Identifier>,
        state: NewParameter,
    ) -> Call<'c, UpdateParameter> {
        Call::new(
            self.client,
            UpdateParameter::new(&self.host, parameter, state),
        )
    }

    /// Deletes a parameter, by id or name.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// client.hosts().parameters(7).delete("rhsm_org").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn delete(&self, parameter: impl Into<Identifier>) -> Call<'c, DeleteParameter> {
        Call::new(self.client, DeleteParameter::new(&self.host, parameter))
    }

    /// Makes the parameter named `parameter.name` hold `parameter`'s value, type and
    /// visibility: shows it by name (revealing a hidden value), creates it on 404, updates it
    /// when it differs, writes nothing when it matches. Safe to repeat; if another writer
    /// creates it between the show and the create, the create's 422 is followed by an update.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// use foreman_client::parameters::{NewParameter, UpsertOutcome};
    /// let done = client.hosts().parameters("node01.example.com")
    ///     .upsert(NewParameter::new("cloud", "cloud02")).await?;
    /// if done.outcome == UpsertOutcome::Unchanged { /* nothing was written */ }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Any [`Error`] of the requests; the 404 of a missing parameter is not one.
    pub async fn upsert(&self, parameter: NewParameter) -> Result<Upserted, Error> {
        let show = ShowParameter::new(&self.host, parameter.name.as_str()).reveal_hidden_value();
        match self.client.execute(&show).await {
            Ok(existing) => self.update_if_needed(existing, parameter).await,
            Err(e) if e.is_not_found() => self.create_or_update(parameter).await,
            Err(e) => Err(e),
        }
    }

    /// [`Self::upsert`] for a parameter the caller believes absent (it just read the host):
    /// creates it, one request; if Foreman answers that the name is taken (another writer, or
    /// a stale read), shows it and updates it when it differs.
    ///
    /// # Errors
    /// Any [`Error`] of the requests.
    pub async fn create_or_update(&self, parameter: NewParameter) -> Result<Upserted, Error> {
        let create = CreateParameter::new(&self.host, parameter.clone());
        match self.client.execute(&create).await {
            Ok(created) => Ok(Upserted {
                parameter: created,
                outcome: UpsertOutcome::Created,
            }),
            Err(e) if e.is_validation() => {
                let show =
                    ShowParameter::new(&self.host, parameter.name.as_str()).reveal_hidden_value();
                let existing = self.client.execute(&show).await.map_err(|_| e)?;
                self.update_if_needed(existing, parameter).await
            }
            Err(e) => Err(e),
        }
    }

    async fn update_if_needed(
        &self,
        existing: Parameter,
        parameter: NewParameter,
    ) -> Result<Upserted, Error> {
        if parameter.matches(&existing) {
            return Ok(Upserted {
                parameter: existing,
                outcome: UpsertOutcome::Unchanged,
            });
        }
        let update = UpdateParameter::new(&self.host, existing.id, parameter);
        let updated = self.client.execute(&update).await?;
        Ok(Upserted {
            parameter: updated,
            outcome: UpsertOutcome::Updated,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn paths_methods_and_bodies() {
        let host = Identifier::from("node01.example.com");
        assert_eq!(
            list_request(&host).request().path,
            "/api/hosts/node01.example.com/parameters"
        );
        let show = ShowParameter::new(7, "kt activation").request();
        assert_eq!(show.path, "/api/hosts/7/parameters/kt%20activation");
        let show = ShowParameter::new(7, 3).reveal_hidden_value().request();
        assert_eq!(
            show.path_and_query(),
            "/api/hosts/7/parameters/3?show_hidden=true"
        );

        let create = CreateParameter::new(7, NewParameter::new("a", "b")).request();
        assert_eq!(
            (create.method.as_str(), create.path.as_str()),
            ("POST", "/api/hosts/7/parameters")
        );
        assert_eq!(
            create.body.unwrap(),
            json!({"parameter": {"name": "a", "value": "b", "parameter_type": "string", "hidden_value": false}})
        );
        let update = UpdateParameter::new(
            7,
            12,
            NewParameter::new("a", "5").kind(ParameterType::Integer),
        )
        .request();
        assert_eq!(
            (update.method.as_str(), update.path.as_str()),
            ("PUT", "/api/hosts/7/parameters/12")
        );
        assert_eq!(
            update.body.unwrap()["parameter"]["parameter_type"],
            "integer"
        );
        let delete = DeleteParameter::new(7, "a").request();
        assert_eq!(
            (delete.method.as_str(), delete.path.as_str()),
            ("DELETE", "/api/hosts/7/parameters/a")
        );
        assert!(delete.body.is_none());
    }

    #[test]
    fn hidden_values_are_kept_out_of_debug_and_errors() {
        let p = NewParameter::new("root_pw", "s3cret").visibility(Visibility::Hidden);
        assert!(!format!("{p:?}").contains("s3cret"));
        let r = CreateParameter::new(1, p).request();
        assert_eq!(r.body_secrets.len(), 1);
    }

    #[test]
    fn matches_compares_value_type_and_visibility() {
        let existing: Parameter = serde_json::from_str(
            r#"{"id":1,"name":"n","value":5,"parameter_type":"integer","hidden_value?":false}"#,
        )
        .unwrap();
        assert!(
            NewParameter::new("n", "5")
                .kind(ParameterType::Integer)
                .matches(&existing)
        );
        assert!(!NewParameter::new("n", "5").matches(&existing));
        assert!(
            !NewParameter::new("n", "6")
                .kind(ParameterType::Integer)
                .matches(&existing)
        );
        assert!(
            !NewParameter::new("n", "5")
                .kind(ParameterType::Integer)
                .visibility(Visibility::Hidden)
                .matches(&existing)
        );
        // 1.x: no type and no hidden flag given.
        let old: Parameter = serde_json::from_str(r#"{"id":1,"name":"n","value":"x"}"#).unwrap();
        assert!(NewParameter::new("n", "x").matches(&old));
        assert_eq!(old.kind(), ParameterType::String);
    }
}
