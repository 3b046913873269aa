//! Hosts: listing (scoped search, pages, thin), show by id or name, one-request updates of
//! build mode, owner, OS, partition table, medium and host group, and power and boot actions.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Secret;
use crate::client::{Call, ForemanClient};
use crate::de;
use crate::error::{DecodeError, decode_json};
use crate::pagination::{ListCall, ListRequest};
use crate::parameters::{HostParameters, NewParameter, Parameter, Visibility};
use crate::request::{ApiRequest, Endpoint, Identifier, api_path};

/// A host as Foreman shows it (index and show views).
///
/// Only `id` and `name` are always there; the rest depends on the Foreman version, plugins,
/// and whether the object came from a list (no parameters) or a show.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Host {
    /// Foreman id.
    pub id: u64,
    /// The FQDN.
    pub name: String,
    /// Name as shown in the UI (Foreman 2.0 and later).
    #[serde(default)]
    pub display_name: Option<String>,
    /// Primary IPv4 address.
    #[serde(default)]
    pub ip: Option<String>,
    /// Primary IPv6 address.
    #[serde(default)]
    pub ip6: Option<String>,
    /// Primary MAC address.
    #[serde(default)]
    pub mac: Option<String>,
    /// Whether the host is in build mode (re-provisioned on its next network boot).
    #[serde(default, deserialize_with = "de::lenient_bool")]
    pub build: Option<bool>,
    /// Whether Foreman manages the host's provisioning.
    #[serde(default, deserialize_with = "de::lenient_bool")]
    pub managed: Option<bool>,
    /// Whether the host is included in reporting.
    #[serde(default, deserialize_with = "de::lenient_bool")]
    pub enabled: Option<bool>,
    /// Operating system id.
    #[serde(default, deserialize_with = "de::lenient_u64")]
    pub operatingsystem_id: Option<u64>,
    /// Operating system title.
    #[serde(default)]
    pub operatingsystem_name: Option<String>,
    /// Partition table id.
    #[serde(default, deserialize_with = "de::lenient_u64")]
    pub ptable_id: Option<u64>,
    /// Partition table name.
    #[serde(default)]
    pub ptable_name: Option<String>,
    /// Installation medium id.
    #[serde(default, deserialize_with = "de::lenient_u64")]
    pub medium_id: Option<u64>,
    /// Installation medium name.
    #[serde(default)]
    pub medium_name: Option<String>,
    /// Architecture id.
    #[serde(default, deserialize_with = "de::lenient_u64")]
    pub architecture_id: Option<u64>,
    /// Architecture name.
    #[serde(default)]
    pub architecture_name: Option<String>,
    /// Host group id.
    #[serde(default, deserialize_with = "de::lenient_u64")]
    pub hostgroup_id: Option<u64>,
    /// Host group name (its last title component).
    #[serde(default)]
    pub hostgroup_name: Option<String>,
    /// Host group title (`parent/child`).
    #[serde(default)]
    pub hostgroup_title: Option<String>,
    /// Domain name.
    #[serde(default)]
    pub domain_name: Option<String>,
    /// Owner id (a user or a user group, per `owner_type`).
    #[serde(default, deserialize_with = "de::lenient_u64")]
    pub owner_id: Option<u64>,
    /// Owner's name.
    #[serde(default)]
    pub owner_name: Option<String>,
    /// `User` or `Usergroup`.
    #[serde(default)]
    pub owner_type: Option<String>,
    /// Hardware model name.
    #[serde(default)]
    pub model_name: Option<String>,
    /// Location id.
    #[serde(default, deserialize_with = "de::lenient_u64")]
    pub location_id: Option<u64>,
    /// Location name.
    #[serde(default)]
    pub location_name: Option<String>,
    /// Organization id.
    #[serde(default, deserialize_with = "de::lenient_u64")]
    pub organization_id: Option<u64>,
    /// Organization name.
    #[serde(default)]
    pub organization_name: Option<String>,
    /// Free-text comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// Provisioning method (`build`, `image`, `bootdisk`).
    #[serde(default)]
    pub provision_method: Option<String>,
    /// PXE loader.
    #[serde(default)]
    pub pxe_loader: Option<String>,
    /// Global status: 0 OK, 1 warning, 2 error.
    #[serde(default, deserialize_with = "de::lenient_u64")]
    pub global_status: Option<u64>,
    /// Global status in words.
    #[serde(default)]
    pub global_status_label: Option<String>,
    /// Build status: 0 installed, 1 pending, 2 token expired, 3 build failed (when relevant).
    #[serde(default, deserialize_with = "de::lenient_u64")]
    pub build_status: Option<u64>,
    /// Build status in words.
    #[serde(default)]
    pub build_status_label: Option<String>,
    /// When the last build finished, as Foreman writes it.
    #[serde(default)]
    pub installed_at: Option<String>,
    /// When the last build started (Foreman 2.x and later).
    #[serde(default)]
    pub initiated_at: Option<String>,
    /// Last report time.
    #[serde(default)]
    pub last_report: Option<String>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last update time.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// The host's own parameters (show only).
    #[serde(default)]
    pub parameters: Option<Vec<Parameter>>,
    /// Every parameter that applies, inherited ones included (show only).
    #[serde(default)]
    pub all_parameters: Option<Vec<Parameter>>,
}

impl Host {
    /// Build mode as an enum, when Foreman said.
    #[must_use]
    pub fn build_mode(&self) -> Option<Build> {
        self.build.map(Build::from)
    }

    /// The owner, when it is a user or a user group.
    #[must_use]
    pub fn owner(&self) -> Option<Owner> {
        match (self.owner_type.as_deref(), self.owner_id) {
            (Some("User"), Some(id)) => Some(Owner::User(id)),
            (Some("Usergroup"), Some(id)) => Some(Owner::Usergroup(id)),
            _ => None,
        }
    }

    /// The host's own parameter `name`, if it was shown.
    #[must_use]
    pub fn parameter(&self, name: &str) -> Option<&Parameter> {
        self.parameters.as_ref()?.iter().find(|p| p.name == name)
    }
}

/// A host in a thin listing: id and name only.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct HostSummary {
    /// Foreman id.
    pub id: u64,
    /// The FQDN.
    pub name: String,
}

/// A host's build mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// `build=true`: the next network boot installs the host, after which Foreman clears it.
    Enabled,
    /// `build=false`: the host boots from its disk.
    Disabled,
}

impl From<bool> for Build {
    fn from(value: bool) -> Self {
        if value { Self::Enabled } else { Self::Disabled }
    }
}

/// Who owns a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// A user, by id.
    User(u64),
    /// A user group, by id.
    Usergroup(u64),
}

/// A change to any subset of a host's provisioning settings, sent as one
/// `PUT /api/hosts/:id`. Fields left unset are not sent.
///
/// An object given by [`Identifier::Name`] is sent as Foreman's `*_name` attribute and resolved
/// by Foreman (an operating system by its title or description, a host group by its title);
/// an unknown name makes Foreman answer 422. Resolve names with the cached lookups
/// (`client.operating_systems().lookup(..)`) to fail before writing.
///
/// ```
/// use foreman_client::hosts::{Build, HostUpdate, Owner};
///
/// let update = HostUpdate::new()
///     .build(Build::Enabled)
///     .owner(Owner::User(12))
///     .operatingsystem(3)
///     .ptable("Kickstart default")
///     .medium(9);
/// assert_eq!(
///     update.to_json(),
///     serde_json::json!({"host": {"build": true, "owner_id": 12, "owner_type": "User",
///         "operatingsystem_id": 3, "ptable_name": "Kickstart default", "medium_id": 9}})
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HostUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    build: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    operatingsystem_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    operatingsystem_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ptable_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ptable_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    medium_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    medium_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    architecture_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    architecture_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hostgroup_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hostgroup_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    host_parameters_attributes: Vec<NestedParameter>,
}

/// One entry of `host_parameters_attributes` (Rails nested attributes): with an `id` it changes
/// or removes that parameter of the host, without one it creates a parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
enum NestedParameter {
    Create(NewParameter),
    Update(u64, NewParameter),
    Remove(u64),
}

impl NestedParameter {
    fn hidden_value(&self) -> Option<&str> {
        match self {
            Self::Create(p) | Self::Update(_, p) if p.visibility == Visibility::Hidden => {
                Some(&p.value)
            }
            _ => None,
        }
    }
}

impl Serialize for NestedParameter {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let attributes = |p: &NewParameter| {
            json!({
                "name": p.name,
                "value": p.value,
                "parameter_type": p.kind.as_str(),
                "hidden_value": p.visibility == Visibility::Hidden,
            })
        };
        let value = match self {
            Self::Create(p) => attributes(p),
            Self::Update(id, p) => {
                let mut value = attributes(p);
                value["id"] = json!(id);
                value
            }
            Self::Remove(id) => json!({"id": id, "_destroy": true}),
        };
        value.serialize(serializer)
    }
}

fn split(object: Identifier) -> (Option<u64>, Option<String>) {
    match object {
        Identifier::Id(id) => (Some(id), None),
        Identifier::Name(name) => (None, Some(name)),
    }
}

impl HostUpdate {
    /// No change yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets build mode.
    #[must_use]
    pub fn build(mut self, build: Build) -> Self {
        self.build = Some(build == Build::Enabled);
        self
    }

    /// Sets the owner (`owner_id` and `owner_type` together).
    #[must_use]
    pub fn owner(mut self, owner: Owner) -> Self {
        let (id, kind) = match owner {
            Owner::User(id) => (id, "User"),
            Owner::Usergroup(id) => (id, "Usergroup"),
        };
        self.owner_id = Some(id);
        self.owner_type = Some(kind);
        self
    }

    /// Sets the operating system, by id or by title.
    #[must_use]
    pub fn operatingsystem(mut self, os: impl Into<Identifier>) -> Self {
        (self.operatingsystem_id, self.operatingsystem_name) = split(os.into());
        self
    }

    /// Sets the partition table, by id or by name.
    #[must_use]
    pub fn ptable(mut self, ptable: impl Into<Identifier>) -> Self {
        (self.ptable_id, self.ptable_name) = split(ptable.into());
        self
    }

    /// Sets the installation medium, by id or by name.
    #[must_use]
    pub fn medium(mut self, medium: impl Into<Identifier>) -> Self {
        (self.medium_id, self.medium_name) = split(medium.into());
        self
    }

    /// Sets the architecture, by id or by name.
    #[must_use]
    pub fn architecture(mut self, architecture: impl Into<Identifier>) -> Self {
        (self.architecture_id, self.architecture_name) = split(architecture.into());
        self
    }

    /// Sets the host group, by id or by title.
    #[must_use]
    pub fn hostgroup(mut self, hostgroup: impl Into<Identifier>) -> Self {
        (self.hostgroup_id, self.hostgroup_name) = split(hostgroup.into());
        self
    }

    /// Sets the comment.
    #[must_use]
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// Creates a host parameter in the same request (`host_parameters_attributes`); Foreman
    /// answers 422 if the host already has one of that name: give the existing one's id with
    /// [`HostUpdate::update_parameter`] instead.
    #[must_use]
    pub fn add_parameter(mut self, parameter: NewParameter) -> Self {
        self.host_parameters_attributes
            .push(NestedParameter::Create(parameter));
        self
    }

    /// Gives the host's parameter `id` the name, value, type and visibility of `parameter`, in
    /// the same request.
    #[must_use]
    pub fn update_parameter(mut self, id: u64, parameter: NewParameter) -> Self {
        self.host_parameters_attributes
            .push(NestedParameter::Update(id, parameter));
        self
    }

    /// Removes the host's parameter `id`, in the same request.
    #[must_use]
    pub fn remove_parameter(mut self, id: u64) -> Self {
        self.host_parameters_attributes
            .push(NestedParameter::Remove(id));
        self
    }

    /// Makes the host's parameter named like `parameter` hold it: an update of the one `host`
    /// shows under that name (its last read), else a creation. Nothing is added when `host`
    /// shows it already so.
    #[must_use]
    pub fn set_parameter(self, host: &Host, parameter: NewParameter) -> Self {
        match host.parameter(&parameter.name) {
            Some(existing) if parameter.matches(existing) => self,
            Some(existing) => self.update_parameter(existing.id, parameter),
            None => self.add_parameter(parameter),
        }
    }

    /// The values of hidden parameters this update sends, to keep them out of logs.
    fn secrets(&self) -> impl Iterator<Item = Secret> + '_ {
        self.host_parameters_attributes
            .iter()
            .filter_map(NestedParameter::hidden_value)
            .map(|v| Secret::new(v.to_owned()))
    }

    /// Whether nothing is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The request body: `{"host": {...}}` with the fields set.
    #[must_use]
    pub fn to_json(&self) -> Value {
        json!({ "host": self })
    }
}

/// `GET /api/hosts/:id`: one host with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowHost {
    host: Identifier,
    reveal_hidden: bool,
}

impl ShowHost {
    /// The host by id or FQDN.
    pub fn new(host: impl Into<Identifier>) -> Self {
        Self {
            host: host.into(),
            reveal_hidden: false,
        }
    }

    /// Shows the values of hidden parameters (needs the permission to edit them); they are
    /// masked otherwise.
    #[must_use]
    pub fn reveal_hidden_values(mut self) -> Self {
        self.reveal_hidden = true;
        self
    }
}

impl Endpoint for ShowHost {
    type Output = Host;

    fn request(&self) -> ApiRequest {
        let request = ApiRequest::get(api_path(&["hosts", &self.host.segment()]));
        if self.reveal_hidden {
            request.query("show_hidden_parameters", "true")
        } else {
            request
        }
    }

    fn parse(&self, body: &[u8]) -> Result<Host, DecodeError> {
        decode_json(body)
    }
}

/// `PUT /api/hosts/:id` with a [`HostUpdate`]; gives the updated host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateHost {
    host: Identifier,
    changes: HostUpdate,
}

impl UpdateHost {
    /// Applies `changes` to the host in one request.
    pub fn new(host: impl Into<Identifier>, changes: HostUpdate) -> Self {
        Self {
            host: host.into(),
            changes,
        }
    }
}

impl Endpoint for UpdateHost {
    type Output = Host;

    fn request(&self) -> ApiRequest {
        let request = ApiRequest::new(
            http::Method::PUT,
            api_path(&["hosts", &self.host.segment()]),
        )
        .json(self.changes.to_json());
        self.changes
            .secrets()
            .fold(request, ApiRequest::with_secret)
    }

    fn parse(&self, body: &[u8]) -> Result<Host, DecodeError> {
        decode_json(body)
    }
}

/// A power action Foreman asks the host's BMC (through its smart proxy) to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerAction {
    /// Power on.
    On,
    /// Power off, hard.
    Off,
    /// Reboot through the OS (ACPI).
    Soft,
    /// Power cycle, hard.
    Cycle,
    /// Ask the current state.
    State,
}

impl PowerAction {
    /// Foreman's word for it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::On => "on",
            Self::Off => "off",
            Self::Soft => "soft",
            Self::Cycle => "cycle",
            Self::State => "state",
        }
    }
}

/// What Foreman answered to a power action: `{"power": true}` for an action, `{"power": "on"}`
/// for [`PowerAction::State`].
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct PowerResult {
    /// The proxy's answer as Foreman relays it.
    #[serde(default)]
    pub power: Value,
}

impl PowerResult {
    /// Whether the action was accepted, for actions.
    #[must_use]
    pub fn accepted(&self) -> Option<bool> {
        self.power.as_bool()
    }

    /// The power state, for [`PowerAction::State`].
    #[must_use]
    pub fn state(&self) -> Option<&str> {
        self.power.as_str()
    }
}

/// `PUT /api/hosts/:id/power` with `{"power_action": ..}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PowerHost {
    host: Identifier,
    action: PowerAction,
}

impl PowerHost {
    /// Runs `action` on the host.
    pub fn new(host: impl Into<Identifier>, action: PowerAction) -> Self {
        Self {
            host: host.into(),
            action,
        }
    }
}

impl Endpoint for PowerHost {
    type Output = PowerResult;

    fn request(&self) -> ApiRequest {
        ApiRequest::new(
            http::Method::PUT,
            api_path(&["hosts", &self.host.segment(), "power"]),
        )
        .json(json!({ "power_action": self.action.as_str() }))
    }

    fn parse(&self, body: &[u8]) -> Result<PowerResult, DecodeError> {
        decode_json(body)
    }
}

/// The power state Foreman reports (`GET /api/hosts/:id/power`, Foreman 2.1 and later).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct PowerState {
    /// Host id.
    #[serde(default, deserialize_with = "de::lenient_u64")]
    pub id: Option<u64>,
    /// `on`, `off` or `na`.
    #[serde(default)]
    pub state: Option<String>,
    /// The state in words.
    #[serde(default)]
    pub title: Option<String>,
    /// Why the state is unknown, when it is.
    #[serde(default, rename = "statusText")]
    pub status_text: Option<String>,
}

/// `GET /api/hosts/:id/power`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowPowerState {
    host: Identifier,
}

impl ShowPowerState {
    /// The power state of the host.
    pub fn new(host: impl Into<Identifier>) -> Self {
        Self { host: host.into() }
    }
}

impl Endpoint for ShowPowerState {
    type Output = PowerState;

    fn request(&self) -> ApiRequest {
        ApiRequest::get(api_path(&["hosts", &self.host.segment(), "power"]))
    }

    fn parse(&self, body: &[u8]) -> Result<PowerState, DecodeError> {
        decode_json(body)
    }
}

/// A boot device for the next boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootDevice {
    /// The local disk.
    Disk,
    /// The optical drive.
    Cdrom,
    /// The network.
    Pxe,
    /// The firmware setup.
    Bios,
}

impl BootDevice {
    /// Foreman's word for it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disk => "disk",
            Self::Cdrom => "cdrom",
            Self::Pxe => "pxe",
            Self::Bios => "bios",
        }
    }
}

/// What Foreman answered to a boot request (`{"boot": ...}` as the proxy said).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct BootResult {
    /// The proxy's answer.
    #[serde(default)]
    pub boot: Value,
}

/// `PUT /api/hosts/:id/boot` with `{"device": ..}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootHost {
    host: Identifier,
    device: BootDevice,
}

impl BootHost {
    /// Boots the host from `device` next time.
    pub fn new(host: impl Into<Identifier>, device: BootDevice) -> Self {
        Self {
            host: host.into(),
            device,
        }
    }
}

impl Endpoint for BootHost {
    type Output = BootResult;

    fn request(&self) -> ApiRequest {
        ApiRequest::new(
            http::Method::PUT,
            api_path(&["hosts", &self.host.segment(), "boot"]),
        )
        .json(json!({ "device": self.device.as_str() }))
    }

    fn parse(&self, body: &[u8]) -> Result<BootResult, DecodeError> {
        decode_json(body)
    }
}

/// The listing of all hosts, full objects.
#[must_use]
pub fn list_request() -> ListRequest<Host> {
    ListRequest::new(api_path(&["hosts"]))
}

/// The thin listing of all hosts: ids and names only, `thin=true`. (A non-thin listing never
/// sends `thin` at all: Foreman takes any non-blank value, `false` included, as true.)
#[must_use]
pub fn thin_list_request() -> ListRequest<HostSummary> {
    ListRequest::new(api_path(&["hosts"])).with_fixed("thin", "true")
}

/// The host endpoints of a client: `client.hosts()`.
#[derive(Debug, Clone, Copy)]
pub struct Hosts<'c> {
    client: &'c ForemanClient,
}

impl ForemanClient {
    /// Hosts.
    #[must_use]
    pub fn hosts(&self) -> Hosts<'_> {
        Hosts { client: self }
    }
}

impl<'c> Hosts<'c> {
    /// Lists hosts with their details.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// let page = client.hosts().list().search("name = node01.example.com").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListCall<'c, Host> {
        ListCall::new(self.client, list_request())
    }

    /// Lists hosts with their details and each one's own parameters (`include[]=parameters`,
    /// Foreman 1.22 and later): many hosts' [`Hosts::show`] in one request.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// use foreman_client::{PerPage, Search};
    /// let names = ["node01.example.com", "node02.example.com"];
    /// let hosts = client
    ///     .hosts()
    ///     .list_with_parameters()
    ///     .search_for(Search::one_of("name", &names)?)
    ///     .per_page(PerPage::All)
    ///     .all()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn list_with_parameters(&self) -> ListCall<'c, Host> {
        ListCall::new(
            self.client,
            list_request().with_fixed("include[]", "parameters"),
        )
    }

    /// Lists hosts as ids and names only (much cheaper for Foreman).
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// use foreman_client::PerPage;
    /// // Every host still building, in one request.
    /// let building = client.hosts().list_thin().search("build = true").per_page(PerPage::All).all().await?;
    /// # Ok(()) }
    /// ```
    pub fn list_thin(&self) -> ListCall<'c, HostSummary> {
        ListCall::new(self.client, thin_list_request())
    }

    /// Shows one host, by id or FQDN. A host hidden by RBAC answers 404 like a missing one.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// let host = client.hosts().show("node01.example.com").send().await?;
    /// println!("{} os={:?} build={:?}", host.name, host.operatingsystem_name, host.build);
    /// # Ok(()) }
    /// ```
    pub fn show(&self, host: impl Into<Identifier>) -> Call<'c, ShowHost> {
        Call::new(self.client, ShowHost::new(host))
    }

    /// Updates any subset of the host's settings in one request.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// use foreman_client::hosts::{Build, HostUpdate, Owner};
    ///
    /// let os = client.operating_systems().lookup("RedHat 9.4").await?;
    /// let ptable = client.partition_tables().lookup("Kickstart default").await?;
    /// let medium = client.media().lookup("RHEL 9.4 mirror").await?;
    /// let changes = HostUpdate::new()
    ///     .operatingsystem(os.id)
    ///     .ptable(ptable.id)
    ///     .medium(medium.id)
    ///     .owner(Owner::User(12))
    ///     .build(Build::Enabled);
    /// let host = client.hosts().update("node01.example.com", changes).send().await?;
    /// assert_eq!(host.build, Some(true));
    /// # Ok(()) }
    /// ```
    pub fn update(&self, host: impl Into<Identifier>, changes: HostUpdate) -> Call<'c, UpdateHost> {
        Call::new(self.client, UpdateHost::new(host, changes))
    }

    /// Runs a power action through Foreman's smart proxy.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// use foreman_client::hosts::PowerAction;
    /// let done = client.hosts().power("node01.example.com", PowerAction::Cycle).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn power(&self, host: impl Into<Identifier>, action: PowerAction) -> Call<'c, PowerHost> {
        Call::new(self.client, PowerHost::new(host, action))
    }

    /// The power state as Foreman sees it.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// let state = client.hosts().power_state(7).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn power_state(&self, host: impl Into<Identifier>) -> Call<'c, ShowPowerState> {
        Call::new(self.client, ShowPowerState::new(host))
    }

    /// Sets the next boot device through Foreman's smart proxy.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// use foreman_client::hosts::BootDevice;
    /// client.hosts().boot("node01.example.com", BootDevice::Pxe).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn boot(&self, host: impl Into<Identifier>, device: BootDevice) -> Call<'c, BootHost> {
        Call::new(self.client, BootHost::new(host, device))
    }

    /// The parameters of one host.
    pub fn parameters(&self, host: impl Into<Identifier>) -> HostParameters<'c> {
        HostParameters::new(self.client, host.into())
    }
}

impl Call<'_, ShowHost> {
    /// Shows hidden parameter values too (needs the permission to edit them).
    pub fn reveal_hidden_values(self) -> Self {
        self.map(ShowHost::reveal_hidden_values)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::pagination::PerPage;

    #[test]
    fn show_by_name_or_id() {
        assert_eq!(ShowHost::new(7).request().path, "/api/hosts/7");
        let r = ShowHost::new("node01.example.com")
            .reveal_hidden_values()
            .request();
        assert_eq!(
            r.path_and_query(),
            "/api/hosts/node01.example.com?show_hidden_parameters=true"
        );
        assert_eq!(r.method, http::Method::GET);
        assert!(r.body.is_none());
    }

    #[test]
    fn parameters_ride_in_the_host_update_as_nested_attributes() {
        let host: Host = serde_json::from_value(json!({
            "id": 7, "name": "node01.example.com",
            "parameters": [
                {"id": 31, "name": "quads_cloud", "value": "cloud02", "parameter_type": "string"},
                {"id": 32, "name": "quads_ticket", "value": "1000", "parameter_type": "string"},
            ],
        }))
        .unwrap();
        let update = HostUpdate::new()
            .build(Build::Enabled)
            .set_parameter(&host, NewParameter::new("quads_cloud", "cloud02"))
            .set_parameter(&host, NewParameter::new("quads_ticket", "1001"))
            .set_parameter(&host, NewParameter::new("quads_owner", "alice"))
            .remove_parameter(40);
        assert_eq!(
            update.to_json(),
            json!({"host": {"build": true, "host_parameters_attributes": [
                {"id": 32, "name": "quads_ticket", "value": "1001",
                 "parameter_type": "string", "hidden_value": false},
                {"name": "quads_owner", "value": "alice",
                 "parameter_type": "string", "hidden_value": false},
                {"id": 40, "_destroy": true},
            ]}})
        );
        let request = UpdateHost::new(7, update).request();
        assert!(request.body_secrets.is_empty());
        // without parameters nothing about them is sent
        assert_eq!(
            HostUpdate::new().build(Build::Enabled).to_json(),
            json!({"host": {"build": true}})
        );
    }

    #[test]
    fn hidden_nested_parameter_values_are_secrets_and_not_in_debug() {
        let update = HostUpdate::new().add_parameter(
            NewParameter::new("root_pw", "s3cret-value").visibility(Visibility::Hidden),
        );
        let request = UpdateHost::new("node01.example.com", update.clone()).request();
        assert_eq!(request.body_secrets, vec![Secret::new("s3cret-value")]);
        assert!(!format!("{update:?}").contains("s3cret-value"));
    }

    #[test]
    fn thin_is_sent_only_when_true() {
        let full = list_request()
            .search("build = true")
            .per_page(PerPage::All)
            .request();
        assert_eq!(full.query_value("thin"), None);
        assert!(!full.path_and_query().contains("thin"));
        let thin = thin_list_request().request();
        assert_eq!(thin.query_value("thin"), Some("true"));
    }

    #[test]
    fn update_sends_one_put_with_only_the_set_fields() {
        let changes = HostUpdate::new()
            .operatingsystem("RedHat 9.4")
            .ptable(4)
            .medium("mirror")
            .hostgroup("base/compute")
            .architecture("x86_64")
            .owner(Owner::Usergroup(3))
            .build(Build::Disabled)
            .comment("moved");
        let r = UpdateHost::new("node01.example.com", changes).request();
        assert_eq!(r.method, http::Method::PUT);
        assert_eq!(r.path, "/api/hosts/node01.example.com");
        assert_eq!(
            r.body.unwrap(),
            json!({"host": {
                "build": false, "owner_id": 3, "owner_type": "Usergroup",
                "operatingsystem_name": "RedHat 9.4", "ptable_id": 4, "medium_name": "mirror",
                "architecture_name": "x86_64", "hostgroup_name": "base/compute", "comment": "moved"
            }})
        );
        // An id replaces an earlier name and the other way round.
        let again = HostUpdate::new().operatingsystem("x").operatingsystem(5);
        assert_eq!(again.to_json(), json!({"host": {"operatingsystem_id": 5}}));
        assert!(HostUpdate::new().is_empty());
    }

    #[test]
    fn power_and_boot_bodies() {
        let r = PowerHost::new(7, PowerAction::Cycle).request();
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("PUT", "/api/hosts/7/power")
        );
        assert_eq!(r.body.unwrap(), json!({"power_action": "cycle"}));
        let result = PowerHost::new(7, PowerAction::State)
            .parse(br#"{"power":"on"}"#)
            .unwrap();
        assert_eq!(result.state(), Some("on"));
        let result = PowerHost::new(7, PowerAction::On)
            .parse(br#"{"power":true}"#)
            .unwrap();
        assert_eq!(result.accepted(), Some(true));
        let r = BootHost::new("n1", BootDevice::Pxe).request();
        assert_eq!(r.path, "/api/hosts/n1/boot");
        assert_eq!(r.body.unwrap(), json!({"device": "pxe"}));
        let state = ShowPowerState::new(7)
            .parse(br#"{"id":7,"state":"na","title":"N/A","statusText":"BMC unreachable"}"#)
            .unwrap();
        assert_eq!(state.status_text.as_deref(), Some("BMC unreachable"));
    }

    #[test]
    fn host_accessors() {
        let host: Host = serde_json::from_str(
            r#"{"id":1,"name":"n1","build":false,"owner_id":4,"owner_type":"Usergroup","parameters":[{"id":2,"name":"p","value":"v"}]}"#,
        )
        .unwrap();
        assert_eq!(host.build_mode(), Some(Build::Disabled));
        assert_eq!(host.owner(), Some(Owner::Usergroup(4)));
        assert_eq!(host.parameter("p").unwrap().id, 2);
        assert!(host.parameter("q").is_none());
    }
}
