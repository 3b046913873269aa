//! Roles and their filters: find, show, create, delete, and filters whose search limits a
//! permission to the hosts one owner owns (so a tenant's user sees only its own hosts).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::catalog::find_unique;
use crate::client::{Call, ForemanClient};
use crate::de;
use crate::error::{DecodeError, Error, decode_json};
use crate::hosts::Owner;
use crate::pagination::{ListCall, ListRequest, PerPage};
use crate::request::{ApiRequest, Endpoint, Identifier, Search, api_path};

/// Another object as Foreman names it inside an answer: its id and, usually, its name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Reference {
    /// Foreman id.
    pub id: u64,
    /// Its name, when given.
    #[serde(default, deserialize_with = "de::lenient_string")]
    pub name: Option<String>,
}

/// A role.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Role {
    /// Foreman id.
    pub id: u64,
    /// The unique name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// The plugin that defines it, for locked built-in roles.
    #[serde(default)]
    pub origin: Option<String>,
    /// 0 for a normal role, 1 or 2 for Foreman's built-in ones.
    #[serde(default, deserialize_with = "de::lenient_u64")]
    pub builtin: Option<u64>,
    /// Its filters (show only).
    #[serde(default)]
    pub filters: Option<Vec<Reference>>,
}

/// A role to create.
///
/// ```
/// use foreman_client::roles::NewRole;
///
/// let role = NewRole::new("cloud02").description("hosts of cloud02");
/// assert_eq!(role.to_json(), serde_json::json!({"role": {"name": "cloud02", "description": "hosts of cloud02"}}));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRole {
    /// The unique name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Locations.
    pub location_ids: Vec<u64>,
    /// Organizations.
    pub organization_ids: Vec<u64>,
}

impl NewRole {
    /// A role with a name only.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: None,
            location_ids: Vec::new(),
            organization_ids: Vec::new(),
        }
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The request body.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut role = Map::new();
        role.insert("name".into(), json!(self.name));
        if let Some(description) = &self.description {
            role.insert("description".into(), json!(description));
        }
        if !self.location_ids.is_empty() {
            role.insert("location_ids".into(), json!(self.location_ids));
        }
        if !self.organization_ids.is_empty() {
            role.insert("organization_ids".into(), json!(self.organization_ids));
        }
        json!({ "role": role })
    }
}

/// `GET /api/roles/:id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowRole {
    role: Identifier,
}

impl ShowRole {
    /// The role by id (or name).
    pub fn new(role: impl Into<Identifier>) -> Self {
        Self { role: role.into() }
    }
}

impl Endpoint for ShowRole {
    type Output = Role;

    fn request(&self) -> ApiRequest {
        ApiRequest::get(api_path(&["roles", &self.role.segment()]))
    }

    fn parse(&self, body: &[u8]) -> Result<Role, DecodeError> {
        decode_json(body)
    }
}

/// `POST /api/roles`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRole {
    role: NewRole,
}

impl CreateRole {
    /// Creates `role`.
    #[must_use]
    pub fn new(role: NewRole) -> Self {
        Self { role }
    }
}

impl Endpoint for CreateRole {
    type Output = Role;

    fn request(&self) -> ApiRequest {
        ApiRequest::new(http::Method::POST, api_path(&["roles"])).json(self.role.to_json())
    }

    fn parse(&self, body: &[u8]) -> Result<Role, DecodeError> {
        decode_json(body)
    }
}

/// `DELETE /api/roles/:id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteRole {
    role: Identifier,
}

impl DeleteRole {
    /// Deletes the role.
    pub fn new(role: impl Into<Identifier>) -> Self {
        Self { role: role.into() }
    }
}

impl Endpoint for DeleteRole {
    type Output = ();

    fn request(&self) -> ApiRequest {
        ApiRequest::new(
            http::Method::DELETE,
            api_path(&["roles", &self.role.segment()]),
        )
    }

    fn parse(&self, _body: &[u8]) -> Result<(), DecodeError> {
        Ok(())
    }
}

/// A filter: which permissions a role grants, on which objects (its search).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Filter {
    /// Foreman id.
    pub id: u64,
    /// The search limiting the objects (`None` for all objects).
    #[serde(default)]
    pub search: Option<String>,
    /// The resource type (`Host`).
    #[serde(default)]
    pub resource_type: Option<String>,
    /// Whether it applies to every object (`unlimited?`).
    #[serde(
        default,
        rename = "unlimited?",
        alias = "unlimited",
        deserialize_with = "de::lenient_bool"
    )]
    pub unlimited: Option<bool>,
    /// Whether it overrides the role's taxonomies (`override?`).
    #[serde(
        default,
        rename = "override?",
        alias = "override",
        deserialize_with = "de::lenient_bool"
    )]
    pub override_taxonomies: Option<bool>,
    /// Its role.
    #[serde(default)]
    pub role: Option<Reference>,
    /// Its permissions.
    #[serde(default)]
    pub permissions: Option<Vec<Reference>>,
}

impl Filter {
    /// Ids of its permissions, when listed.
    #[must_use]
    pub fn permission_ids(&self) -> Option<Vec<u64>> {
        let mut ids: Vec<u64> = self.permissions.as_ref()?.iter().map(|p| p.id).collect();
        ids.sort_unstable();
        Some(ids)
    }
}

/// The search of a host filter that limits it to the hosts `owner` owns.
///
/// ```
/// use foreman_client::{hosts::Owner, roles::hosts_owned_by};
///
/// assert_eq!(hosts_owned_by(Owner::User(12)), "owner_type = User and owner_id = 12");
/// ```
#[must_use]
pub fn hosts_owned_by(owner: Owner) -> String {
    match owner {
        Owner::User(id) => format!("owner_type = User and owner_id = {id}"),
        Owner::Usergroup(id) => format!("owner_type = Usergroup and owner_id = {id}"),
    }
}

/// Whether a filter keeps the role's locations and organizations or sets its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FilterTaxonomies {
    /// Inherit the role's (the default; nothing is sent).
    #[default]
    Inherit,
    /// Override them (`override=true`).
    Override,
}

/// A filter to create, or the new state of one.
///
/// ```
/// use foreman_client::{hosts::Owner, roles::{NewFilter, hosts_owned_by}};
///
/// let filter = NewFilter::new(7, [101, 102]).search(hosts_owned_by(Owner::User(12)));
/// assert_eq!(
///     filter.to_json(),
///     serde_json::json!({"filter": {"role_id": 7, "permission_ids": [101, 102],
///         "search": "owner_type = User and owner_id = 12"}})
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFilter {
    /// The role it belongs to.
    pub role_id: u64,
    /// Permissions it grants (all on one resource type).
    pub permission_ids: Vec<u64>,
    /// The search limiting the objects; `None` for all objects.
    pub search: Option<String>,
    /// Taxonomy handling.
    pub taxonomies: FilterTaxonomies,
}

impl NewFilter {
    /// A filter granting `permission_ids` on every object.
    pub fn new(role_id: u64, permission_ids: impl IntoIterator<Item = u64>) -> Self {
        Self {
            role_id,
            permission_ids: permission_ids.into_iter().collect(),
            search: None,
            taxonomies: FilterTaxonomies::Inherit,
        }
    }

    /// Limits it to the objects matching `search`.
    #[must_use]
    pub fn search(mut self, search: impl Into<String>) -> Self {
        self.search = Some(search.into());
        self
    }

    /// The request body.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut filter = Map::new();
        filter.insert("role_id".into(), json!(self.role_id));
        filter.insert("permission_ids".into(), json!(self.permission_ids));
        if let Some(search) = &self.search {
            filter.insert("search".into(), json!(search));
        }
        if self.taxonomies == FilterTaxonomies::Override {
            filter.insert("override".into(), json!(true));
        }
        json!({ "filter": filter })
    }
}

/// `GET /api/filters/:id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowFilter {
    filter: u64,
}

impl ShowFilter {
    /// The filter by id.
    #[must_use]
    pub fn new(filter: u64) -> Self {
        Self { filter }
    }
}

impl Endpoint for ShowFilter {
    type Output = Filter;

    fn request(&self) -> ApiRequest {
        ApiRequest::get(api_path(&["filters", &self.filter.to_string()]))
    }

    fn parse(&self, body: &[u8]) -> Result<Filter, DecodeError> {
        decode_json(body)
    }
}

/// `POST /api/filters`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateFilter {
    filter: NewFilter,
}

impl CreateFilter {
    /// Creates `filter`.
    #[must_use]
    pub fn new(filter: NewFilter) -> Self {
        Self { filter }
    }
}

impl Endpoint for CreateFilter {
    type Output = Filter;

    fn request(&self) -> ApiRequest {
        ApiRequest::new(http::Method::POST, api_path(&["filters"])).json(self.filter.to_json())
    }

    fn parse(&self, body: &[u8]) -> Result<Filter, DecodeError> {
        decode_json(body)
    }
}

/// `PUT /api/filters/:id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateFilter {
    filter: u64,
    state: NewFilter,
}

impl UpdateFilter {
    /// Gives filter `filter` the permissions, search and taxonomy handling of `state`.
    #[must_use]
    pub fn new(filter: u64, state: NewFilter) -> Self {
        Self { filter, state }
    }
}

impl Endpoint for UpdateFilter {
    type Output = Filter;

    fn request(&self) -> ApiRequest {
        ApiRequest::new(
            http::Method::PUT,
            api_path(&["filters", &self.filter.to_string()]),
        )
        .json(self.state.to_json())
    }

    fn parse(&self, body: &[u8]) -> Result<Filter, DecodeError> {
        decode_json(body)
    }
}

/// `DELETE /api/filters/:id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteFilter {
    filter: u64,
}

impl DeleteFilter {
    /// Deletes the filter.
    #[must_use]
    pub fn new(filter: u64) -> Self {
        Self { filter }
    }
}

impl Endpoint for DeleteFilter {
    type Output = ();

    fn request(&self) -> ApiRequest {
        ApiRequest::new(
            http::Method::DELETE,
            api_path(&["filters", &self.filter.to_string()]),
        )
    }

    fn parse(&self, _body: &[u8]) -> Result<(), DecodeError> {
        Ok(())
    }
}

/// The request that lists every filter of one role.
#[must_use]
pub fn filters_of_role_request(role_id: u64) -> ListRequest<Filter> {
    ListRequest::new(api_path(&["filters"]))
        .search(format!("role_id = {role_id}"))
        .per_page(PerPage::All)
}

/// The request that finds a role by name.
///
/// # Errors
/// [`Error::InvalidInput`] when the name cannot be searched for.
pub fn find_role_request(name: &str) -> Result<ListRequest<Role>, Error> {
    Ok(ListRequest::new(api_path(&["roles"]))
        .search(Search::eq("name", name)?)
        .per_page(PerPage::All))
}

/// The role endpoints of a client: `client.roles()`.
#[derive(Debug, Clone, Copy)]
pub struct Roles<'c> {
    client: &'c ForemanClient,
}

/// The filter endpoints of a client: `client.filters()`.
#[derive(Debug, Clone, Copy)]
pub struct Filters<'c> {
    client: &'c ForemanClient,
}

impl ForemanClient {
    /// Roles.
    #[must_use]
    pub fn roles(&self) -> Roles<'_> {
        Roles { client: self }
    }

    /// Role filters.
    #[must_use]
    pub fn filters(&self) -> Filters<'_> {
        Filters { client: self }
    }
}

impl<'c> Roles<'c> {
    /// Lists roles.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// let roles = client.roles().list().search("builtin = false").all().await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListCall<'c, Role> {
        ListCall::new(self.client, ListRequest::new(api_path(&["roles"])))
    }

    /// The role with exactly this name, if any.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// let role = client.roles().find_by_name("cloud02").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Any [`Error`] of the request.
    pub async fn find_by_name(&self, name: &str) -> Result<Option<Role>, Error> {
        let request = find_role_request(name)?;
        find_unique(
            self.client,
            &request,
            "role",
            name,
            |r: &Role| r.name == name,
            |r: &Role| (r.id, r.name.clone()),
        )
        .await
    }

    /// Shows a role.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// let role = client.roles().show(7).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn show(&self, role: impl Into<Identifier>) -> Call<'c, ShowRole> {
        Call::new(self.client, ShowRole::new(role))
    }

    /// Creates a role.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// use foreman_client::roles::NewRole;
    /// let role = client.roles().create(NewRole::new("cloud02")).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn create(&self, role: NewRole) -> Call<'c, CreateRole> {
        Call::new(self.client, CreateRole::new(role))
    }

    /// Deletes a role.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// client.roles().delete(7).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn delete(&self, role: impl Into<Identifier>) -> Call<'c, DeleteRole> {
        Call::new(self.client, DeleteRole::new(role))
    }
}

impl<'c> Filters<'c> {
    /// Lists filters.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// let host_filters = client.filters().list().search("resource = Host").all().await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListCall<'c, Filter> {
        ListCall::new(self.client, ListRequest::new(api_path(&["filters"])))
    }

    /// Every filter of one role.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// let filters = client.filters().of_role(7).all().await?;
    /// # Ok(()) }
    /// ```
    pub fn of_role(&self, role_id: u64) -> ListCall<'c, Filter> {
        ListCall::new(self.client, filters_of_role_request(role_id))
    }

    /// Shows a filter.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// let filter = client.filters().show(31).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn show(&self, filter: u64) -> Call<'c, ShowFilter> {
        Call::new(self.client, ShowFilter::new(filter))
    }

    /// Creates a filter.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// use foreman_client::{hosts::Owner, roles::{NewFilter, hosts_owned_by}};
    /// let view = client.permissions().lookup("view_hosts").await?;
    /// let filter = NewFilter::new(7, [view.id]).search(hosts_owned_by(Owner::User(12)));
    /// client.filters().create(filter).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn create(&self, filter: NewFilter) -> Call<'c, CreateFilter> {
        Call::new(self.client, CreateFilter::new(filter))
    }

    /// Updates a filter to `state`.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// use foreman_client::roles::NewFilter;
    /// client.filters().update(31, NewFilter::new(7, [101]).search("owner_id = 12")).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn update(&self, filter: u64, state: NewFilter) -> Call<'c, UpdateFilter> {
        Call::new(self.client, UpdateFilter::new(filter, state))
    }

    /// Deletes a filter.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// client.filters().delete(31).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn delete(&self, filter: u64) -> Call<'c, DeleteFilter> {
        Call::new(self.client, DeleteFilter::new(filter))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn role_requests() {
        let r = find_role_request("cloud02").unwrap().request();
        assert_eq!(r.query_value("search"), Some(r#"name = "cloud02""#));
        let c = CreateRole::new(NewRole::new("cloud02")).request();
        assert_eq!((c.method.as_str(), c.path.as_str()), ("POST", "/api/roles"));
        assert_eq!(c.body.unwrap(), json!({"role": {"name": "cloud02"}}));
        assert_eq!(ShowRole::new(7).request().path, "/api/roles/7");
        assert_eq!(DeleteRole::new(7).request().method, http::Method::DELETE);
    }

    #[test]
    fn filter_requests() {
        let r = filters_of_role_request(7).request();
        assert_eq!(
            r.path_and_query(),
            "/api/filters?search=role_id%20%3D%207&per_page=all"
        );
        let mut state = NewFilter::new(7, [1]);
        state.taxonomies = FilterTaxonomies::Override;
        let u = UpdateFilter::new(31, state).request();
        assert_eq!(
            (u.method.as_str(), u.path.as_str()),
            ("PUT", "/api/filters/31")
        );
        assert_eq!(
            u.body.unwrap(),
            json!({"filter": {"role_id": 7, "permission_ids": [1], "override": true}})
        );
        assert_eq!(ShowFilter::new(31).request().path, "/api/filters/31");
        assert_eq!(DeleteFilter::new(31).request().path, "/api/filters/31");
        assert_eq!(
            hosts_owned_by(Owner::Usergroup(3)),
            "owner_type = Usergroup and owner_id = 3"
        );
    }

    #[test]
    fn filter_flags_parse_with_or_without_question_marks() {
        let f = ShowFilter::new(1)
            .parse(br#"{"id":1,"search":null,"unlimited?":true,"override?":false,"permissions":[{"id":9,"name":"view_hosts"},{"id":3,"name":"edit_hosts"}]}"#)
            .unwrap();
        assert_eq!(
            (f.unlimited, f.override_taxonomies),
            (Some(true), Some(false))
        );
        assert_eq!(f.permission_ids(), Some(vec![3, 9]));
        let f = ShowFilter::new(1)
            .parse(br#"{"id":1,"unlimited":false}"#)
            .unwrap();
        assert_eq!(f.unlimited, Some(false));
    }
}
