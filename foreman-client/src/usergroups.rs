//! User groups: find, show, create, set members, and add one user.
//!
//! Foreman's API has no call that adds one member: `user_ids` replaces the whole list. So
//! [`Usergroups::add_user`] reads the group, writes the list with the user added only if it is
//! missing, and checks the answer; every write to one group from this client is serialised by
//! a per-group lock, so concurrent adds through one client never lose each other. (Writers
//! outside this client can still race; give each group one writing process.)

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::catalog::find_unique;
use crate::client::{Call, ForemanClient};
use crate::de;
use crate::error::{DecodeError, Error, RequestLabel, decode_json};
use crate::pagination::{ListCall, ListRequest, PerPage};
use crate::request::{ApiRequest, Endpoint, Identifier, Search, api_path};
use crate::roles::Reference;
use crate::users::UserRef;

/// A user group.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Usergroup {
    /// Foreman id.
    pub id: u64,
    /// The unique name.
    pub name: String,
    /// Whether its members are administrators.
    #[serde(default, deserialize_with = "de::lenient_bool")]
    pub admin: Option<bool>,
    /// Direct members (show only).
    #[serde(default)]
    pub users: Option<Vec<UserRef>>,
    /// Roles of the group (show only).
    #[serde(default)]
    pub roles: Option<Vec<Reference>>,
    /// Member groups (show only).
    #[serde(default)]
    pub usergroups: Option<Vec<Reference>>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last update time.
    #[serde(default)]
    pub updated_at: Option<String>,
}

impl Usergroup {
    /// Ids of the direct member users, when shown.
    #[must_use]
    pub fn user_ids(&self) -> Option<BTreeSet<u64>> {
        Some(self.users.as_ref()?.iter().map(|u| u.id).collect())
    }
}

/// A user group to create.
///
/// ```
/// use foreman_client::usergroups::NewUsergroup;
///
/// let group = NewUsergroup::new("cloud02-admins").users([12]).roles([7]);
/// assert_eq!(
///     group.to_json(),
///     serde_json::json!({"usergroup": {"name": "cloud02-admins", "user_ids": [12], "role_ids": [7]}})
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUsergroup {
    /// The unique name.
    pub name: String,
    /// Member users.
    pub user_ids: Vec<u64>,
    /// Roles.
    pub role_ids: Vec<u64>,
    /// Member groups.
    pub usergroup_ids: Vec<u64>,
}

impl NewUsergroup {
    /// An empty group.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            user_ids: Vec::new(),
            role_ids: Vec::new(),
            usergroup_ids: Vec::new(),
        }
    }

    /// Sets the member users.
    #[must_use]
    pub fn users(mut self, ids: impl IntoIterator<Item = u64>) -> Self {
        self.user_ids = ids.into_iter().collect();
        self
    }

    /// Sets the roles.
    #[must_use]
    pub fn roles(mut self, ids: impl IntoIterator<Item = u64>) -> Self {
        self.role_ids = ids.into_iter().collect();
        self
    }

    /// The request body.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut group = Map::new();
        group.insert("name".into(), json!(self.name));
        for (key, ids) in [
            ("user_ids", &self.user_ids),
            ("role_ids", &self.role_ids),
            ("usergroup_ids", &self.usergroup_ids),
        ] {
            if !ids.is_empty() {
                group.insert(key.into(), json!(ids));
            }
        }
        json!({ "usergroup": group })
    }
}

/// `GET /api/usergroups/:id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowUsergroup {
    group: Identifier,
}

impl ShowUsergroup {
    /// The group by id (or name).
    pub fn new(group: impl Into<Identifier>) -> Self {
        Self {
            group: group.into(),
        }
    }
}

impl Endpoint for ShowUsergroup {
    type Output = Usergroup;

    fn request(&self) -> ApiRequest {
        ApiRequest::get(api_path(&["usergroups", &self.group.segment()]))
    }

    fn parse(&self, body: &[u8]) -> Result<Usergroup, DecodeError> {
        decode_json(body)
    }
}

/// `POST /api/usergroups`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateUsergroup {
    group: NewUsergroup,
}

impl CreateUsergroup {
    /// Creates `group`.
    #[must_use]
    pub fn new(group: NewUsergroup) -> Self {
        Self { group }
    }
}

impl Endpoint for CreateUsergroup {
    type Output = Usergroup;

    fn request(&self) -> ApiRequest {
        ApiRequest::new(http::Method::POST, api_path(&["usergroups"])).json(self.group.to_json())
    }

    fn parse(&self, body: &[u8]) -> Result<Usergroup, DecodeError> {
        decode_json(body)
    }
}

/// `PUT /api/usergroups/:id` with `{"usergroup": {"user_ids": [...]}}`: the whole member list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetUsergroupUsers {
    group: Identifier,
    user_ids: BTreeSet<u64>,
}

impl SetUsergroupUsers {
    /// Makes `user_ids` the group's direct members, replacing the others.
    pub fn new(group: impl Into<Identifier>, user_ids: impl IntoIterator<Item = u64>) -> Self {
        Self {
            group: group.into(),
            user_ids: user_ids.into_iter().collect(),
        }
    }
}

impl Endpoint for SetUsergroupUsers {
    type Output = Usergroup;

    fn request(&self) -> ApiRequest {
        ApiRequest::new(
            http::Method::PUT,
            api_path(&["usergroups", &self.group.segment()]),
        )
        .json(json!({"usergroup": {"user_ids": self.user_ids}}))
    }

    fn parse(&self, body: &[u8]) -> Result<Usergroup, DecodeError> {
        decode_json(body)
    }
}

/// `DELETE /api/usergroups/:id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteUsergroup {
    group: Identifier,
}

impl DeleteUsergroup {
    /// Deletes the group.
    pub fn new(group: impl Into<Identifier>) -> Self {
        Self {
            group: group.into(),
        }
    }
}

impl Endpoint for DeleteUsergroup {
    type Output = ();

    fn request(&self) -> ApiRequest {
        ApiRequest::new(
            http::Method::DELETE,
            api_path(&["usergroups", &self.group.segment()]),
        )
    }

    fn parse(&self, _body: &[u8]) -> Result<(), DecodeError> {
        Ok(())
    }
}

/// The request that finds a group by name.
///
/// # Errors
/// [`Error::InvalidInput`] when the name cannot be searched for.
pub fn find_request(name: &str) -> Result<ListRequest<Usergroup>, Error> {
    Ok(ListRequest::new(api_path(&["usergroups"]))
        .search(Search::eq("name", name)?)
        .per_page(PerPage::All))
}

/// The user group endpoints of a client: `client.usergroups()`.
#[derive(Debug, Clone, Copy)]
pub struct Usergroups<'c> {
    client: &'c ForemanClient,
}

impl ForemanClient {
    /// User groups.
    #[must_use]
    pub fn usergroups(&self) -> Usergroups<'_> {
        Usergroups { client: self }
    }
}

impl<'c> Usergroups<'c> {
    /// Lists groups.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// let groups = client.usergroups().list().all().await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListCall<'c, Usergroup> {
        ListCall::new(self.client, ListRequest::new(api_path(&["usergroups"])))
    }

    /// The group with exactly this name, if any.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// let group = client.usergroups().find_by_name("cloud02-admins").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Any [`Error`] of the request.
    pub async fn find_by_name(&self, name: &str) -> Result<Option<Usergroup>, Error> {
        let request = find_request(name)?;
        find_unique(
            self.client,
            &request,
            "user group",
            name,
            |g: &Usergroup| g.name == name,
            |g: &Usergroup| (g.id, g.name.clone()),
        )
        .await
    }

    /// Shows a group with its members and roles.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// let group = client.usergroups().show(4).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn show(&self, group: impl Into<Identifier>) -> Call<'c, ShowUsergroup> {
        Call::new(self.client, ShowUsergroup::new(group))
    }

    /// Creates a group.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// use foreman_client::usergroups::NewUsergroup;
    /// client.usergroups().create(NewUsergroup::new("cloud02-admins").users([12])).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn create(&self, group: NewUsergroup) -> Call<'c, CreateUsergroup> {
        Call::new(self.client, CreateUsergroup::new(group))
    }

    /// Replaces the group's direct members with `user_ids` (one write, no read).
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// client.usergroups().set_users(4, [12, 13]).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn set_users(
        &self,
        group: impl Into<Identifier>,
        user_ids: impl IntoIterator<Item = u64>,
    ) -> Call<'c, SetUsergroupUsers> {
        Call::new(self.client, SetUsergroupUsers::new(group, user_ids))
    }

    /// Deletes a group.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// client.usergroups().delete(4).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn delete(&self, group: impl Into<Identifier>) -> Call<'c, DeleteUsergroup> {
        Call::new(self.client, DeleteUsergroup::new(group))
    }

    /// Makes `user_id` a direct member of the group, keeping the other members; writes
    /// nothing when it already is one. See the module documentation for why this reads first
    /// and how concurrent adds are kept from losing each other.
    ///
    /// ```no_run
    /// # async fn example(client: &foreman_client::ForemanClient) -> Result<(), foreman_client::Error> {
    /// let group = client.usergroups().add_user(4, 12).await?;
    /// assert!(group.user_ids().is_some_and(|ids| ids.contains(&12)));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Any [`Error`] of the requests; [`Error::Inconsistent`] when the answer to the write does
    /// not list the user.
    pub async fn add_user(
        &self,
        group: impl Into<Identifier>,
        user_id: u64,
    ) -> Result<Usergroup, Error> {
        let group = group.into();
        let _write = self
            .client
            .write_locks()
            .lock(&format!("usergroup:{group}"))
            .await;
        let current = self.client.execute(&ShowUsergroup::new(&group)).await?;
        let mut members = current.user_ids().unwrap_or_default();
        if !members.insert(user_id) {
            return Ok(current);
        }
        let write = SetUsergroupUsers::new(current.id, members);
        let updated = self.client.execute(&write).await?;
        if updated
            .user_ids()
            .is_some_and(|ids| !ids.contains(&user_id))
        {
            let request = write.request();
            let url = self.client.url().join(&request.path_and_query());
            return Err(RequestLabel {
                method: &request.method,
                url: &url,
                secrets: &[],
            }
            .inconsistent(format!("user {user_id} is not a member after the write")));
        }
        Ok(updated)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn requests() {
        let r = find_request("cloud02-admins").unwrap().request();
        assert_eq!(r.query_value("search"), Some(r#"name = "cloud02-admins""#));
        let set = SetUsergroupUsers::new(4, [13, 12, 13]).request();
        assert_eq!(
            (set.method.as_str(), set.path.as_str()),
            ("PUT", "/api/usergroups/4")
        );
        assert_eq!(
            set.body.unwrap(),
            json!({"usergroup": {"user_ids": [12, 13]}})
        );
        let c = CreateUsergroup::new(NewUsergroup::new("g")).request();
        assert_eq!(c.body.unwrap(), json!({"usergroup": {"name": "g"}}));
        assert_eq!(ShowUsergroup::new("g").request().path, "/api/usergroups/g");
        assert_eq!(
            DeleteUsergroup::new(4).request().method,
            http::Method::DELETE
        );
    }

    #[test]
    fn members() {
        let g = ShowUsergroup::new(4)
            .parse(br#"{"id":4,"name":"g","users":[{"id":12,"login":"a","description":null}],"roles":[],"usergroups":[],"external_usergroups":[]}"#)
            .unwrap();
        assert_eq!(g.user_ids(), Some(BTreeSet::from([12])));
    }
}
